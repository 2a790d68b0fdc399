//! What a command's writes look like in the append-only file (Redis's call()/alsoPropagate):
//! by default the command as it came, when it changed something; commands whose effect depends
//! on the time or on chance say what to log instead, so that replaying the file gives the same
//! data. Everything one top-level command caused (the commands of an EXEC or a script, keys
//! deleted by expiry on the way) is logged together, wrapped in MULTI/EXEC when it is more than
//! one command, as Redis 7 does.

/// One command to log, with the database it ran in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub db: usize,
    pub args: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Propagation {
    /// What the current top-level command has to log so far.
    pub pending: Vec<Op>,
    /// What the running handler asked to log instead of its own arguments.
    pub replacement: Option<Vec<Vec<Vec<u8>>>>,
    /// The running handler wants its own arguments logged even if it changed nothing (FLUSHALL
    /// on an empty server: Redis's forceCommandPropagation).
    pub forced: bool,
    /// While the AOF is replayed nothing is logged again.
    pub replaying: bool,
}

impl Propagation {
    /// The dispatcher's rule after a handler ran in `db`: its replacement if it gave one,
    /// otherwise its own arguments if it wrote and nothing it ran logged for it.
    pub fn after_command(&mut self, db: usize, own: impl FnOnce() -> Vec<Vec<u8>>, wrote: bool) {
        let forced = std::mem::take(&mut self.forced);
        match self.replacement.take() {
            Some(replacement) => self
                .pending
                .extend(replacement.into_iter().map(|args| Op { db, args })),
            None if wrote || forced => self.pending.push(Op { db, args: own() }),
            None => {}
        }
    }

    /// Takes what the top-level command logged, as the commands to append: MULTI/EXEC around
    /// more than one.
    pub fn take_unit(&mut self) -> Vec<Op> {
        let mut ops = std::mem::take(&mut self.pending);
        if self.replaying {
            return Vec::new();
        }
        if ops.len() > 1 {
            let first_db = ops[0].db;
            ops.insert(
                0,
                Op {
                    db: first_db,
                    args: vec![b"MULTI".to_vec()],
                },
            );
            let last_db = ops[ops.len() - 1].db;
            ops.push(Op {
                db: last_db,
                args: vec![b"EXEC".to_vec()],
            });
        }
        ops
    }
}

/// Commands that never log themselves: what they ran logs for them.
pub fn logs_through_what_it_runs(fullname: &str) -> bool {
    matches!(
        fullname,
        "exec" | "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// `PEXPIREAT key ms`: how every relative or absolute expiry is logged.
pub fn pexpireat(key: &[u8], deadline_ms: i64) -> Vec<Vec<u8>> {
    vec![
        b"PEXPIREAT".to_vec(),
        key.to_vec(),
        deadline_ms.to_string().into_bytes(),
    ]
}

/// `DEL key`: a key that expiry removed.
pub fn del(key: &[u8]) -> Vec<Vec<u8>> {
    vec![b"DEL".to_vec(), key.to_vec()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_command_that_wrote_logs_itself_and_one_that_did_not_logs_nothing() {
        let mut p = Propagation::default();
        p.after_command(0, || args(&["GET", "k"]), false);
        assert!(p.take_unit().is_empty());
        p.after_command(2, || args(&["SET", "k", "v"]), true);
        assert_eq!(
            p.take_unit(),
            vec![Op {
                db: 2,
                args: args(&["SET", "k", "v"])
            }]
        );
    }

    #[test]
    fn a_replacement_wins_and_several_commands_are_wrapped() {
        let mut p = Propagation::default();
        p.pending.push(Op {
            db: 0,
            args: del(b"old"),
        });
        p.replacement = Some(vec![pexpireat(b"k", 5000)]);
        p.after_command(0, || args(&["EXPIRE", "k", "5"]), true);
        let unit: Vec<Vec<Vec<u8>>> = p.take_unit().into_iter().map(|op| op.args).collect();
        assert_eq!(
            unit,
            vec![
                args(&["MULTI"]),
                args(&["DEL", "old"]),
                args(&["PEXPIREAT", "k", "5000"]),
                args(&["EXEC"]),
            ]
        );
    }

    #[test]
    fn forced_propagation_logs_a_command_that_changed_nothing() {
        let mut p = Propagation {
            forced: true,
            ..Default::default()
        };
        p.after_command(0, || args(&["FLUSHALL"]), false);
        assert_eq!(p.take_unit().len(), 1);
    }

    #[test]
    fn nothing_is_logged_while_replaying() {
        let mut p = Propagation {
            replaying: true,
            ..Default::default()
        };
        p.after_command(0, || args(&["SET", "k", "v"]), true);
        assert!(p.take_unit().is_empty());
        assert!(p.pending.is_empty());
    }
}
