//! MONITOR: streams every command the server runs to the clients that asked, one line each,
//! in Redis's format: `+<seconds>.<micros> [<db> <client address>] "arg" "arg"...`.

use super::table::{command, CommandDef};
use super::{CmdResult, Ctx};
use crate::client::ClientId;
use crate::protocol::Args;
use crate::state::State;

pub const COMMANDS: &[CommandDef] = &[command(
    "monitor",
    1,
    "admin noscript loading stale",
    "",
    (0, 0, 0),
    "server",
    "1.0.0",
    "Streams every command the server runs, as it runs.",
    monitor,
)];

fn monitor(ctx: &mut Ctx) -> CmdResult {
    if ctx.state.in_exec {
        return Err("ERR MONITOR isn't allowed for DENY BLOCKING client".into());
    }
    // A client already monitoring gets no reply at all, as in Redis.
    if ctx.client().monitor {
        return Ok(());
    }
    ctx.client().monitor = true;
    ctx.state.monitors.push(ctx.client_id);
    ctx.out.ok();
    Ok(())
}

/// Takes `id` out of MONITOR mode (RESET, a disconnect).
pub fn stop(state: &mut State, id: ClientId) {
    if let Some(client) = state.clients.get_mut(&id) {
        client.monitor = false;
    }
    state.monitors.retain(|&other| other != id);
}

/// Sends one MONITOR line for `args`, run in `db` at `now_us`, to every monitoring client.
/// `source` names who ran it: a client's address (`unix:<path>` for Unix sockets), or `lua`
/// for a command a script ran.
pub fn feed(state: &mut State, source: &str, db: usize, args: Args<'_>, now_us: i64) {
    if state.monitors.is_empty() {
        return;
    }
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        now_us.div_euclid(1_000_000),
        now_us.rem_euclid(1_000_000),
        db,
        source
    )
    .into_bytes();
    for (i, arg) in args.iter().enumerate() {
        line.push(b' ');
        if is_redacted(args, i) {
            quote_into(&mut line, b"(redacted)");
        } else {
            quote_into(&mut line, arg);
        }
    }
    line.extend_from_slice(b"\r\n");
    let limits = state.config.hot.output_limits;
    let now_ms = now_us / 1000;
    for id in &state.monitors {
        if let Some(client) = state.clients.get_mut(id) {
            crate::pubsub::deliver(client, &line, &limits, now_ms);
        }
    }
}

/// Arguments Redis hides from MONITOR and SLOWLOG: AUTH's credentials and those of HELLO's
/// AUTH option.
pub fn is_redacted(args: Args<'_>, i: usize) -> bool {
    let name = args.get(0);
    if name.eq_ignore_ascii_case(b"auth") {
        return i > 0;
    }
    if name.eq_ignore_ascii_case(b"hello") && i >= 2 {
        // HELLO <protover> [AUTH <user> <pass>] [SETNAME <name>]: the two words after AUTH.
        let mut j = 2;
        while j < args.len() {
            if args.get(j).eq_ignore_ascii_case(b"auth") {
                if i == j + 1 || i == j + 2 {
                    return true;
                }
                j += 3;
            } else if args.get(j).eq_ignore_ascii_case(b"setname") {
                j += 2;
            } else {
                break;
            }
        }
    }
    false
}

/// Redis's sdscatrepr: the bytes in double quotes, with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`,
/// `\b` escaped and other unprintable bytes as `\xHH`.
pub fn quote_into(line: &mut Vec<u8>, bytes: &[u8]) {
    line.push(b'"');
    for &b in bytes {
        match b {
            b'\\' | b'"' => line.extend_from_slice(&[b'\\', b]),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            b'\t' => line.extend_from_slice(b"\\t"),
            7 => line.extend_from_slice(b"\\a"),
            8 => line.extend_from_slice(b"\\b"),
            0x20..=0x7e => line.push(b),
            _ => line.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    line.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::OwnedArgs;

    fn owned(words: &[&str]) -> OwnedArgs {
        let mut args = OwnedArgs::default();
        for word in words {
            args.push(word.as_bytes());
        }
        args
    }

    #[test]
    fn arguments_are_quoted_as_sdscatrepr_does() {
        let mut line = Vec::new();
        quote_into(&mut line, b"x\ny\x01\"z\\\x07\x08\xff");
        assert_eq!(line, br#""x\ny\x01\"z\\\a\b\xff""#.to_vec());
    }

    #[test]
    fn credentials_are_redacted() {
        let auth = owned(&["AUTH", "user", "pw"]);
        assert!(!is_redacted(auth.args(), 0));
        assert!(is_redacted(auth.args(), 1) && is_redacted(auth.args(), 2));
        let hello = owned(&["HELLO", "3", "SETNAME", "n", "AUTH", "u", "p"]);
        let hidden: Vec<usize> = (0..7).filter(|&i| is_redacted(hello.args(), i)).collect();
        assert_eq!(hidden, vec![5, 6]);
        let get = owned(&["GET", "auth"]);
        assert!(!is_redacted(get.args(), 1));
    }
}
