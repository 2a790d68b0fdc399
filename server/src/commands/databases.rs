//! Whole-database commands: FLUSHDB, FLUSHALL, SWAPDB, DBSIZE; and the background freeing that
//! FLUSH* ASYNC and UNLINK use.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use super::errors;
use super::table::{command, CommandDef};
use super::{CmdResult, Ctx};
use crate::protocol::request::parse_i64;
use crate::store::Value;

pub const COMMANDS: &[CommandDef] = &[
    command(
        "dbsize",
        1,
        "readonly fast",
        "@keyspace",
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns the number of keys in the selected database.",
        dbsize,
    ),
    command(
        "flushdb",
        -1,
        "write",
        "@keyspace @dangerous",
        (0, 0, 0),
        "server",
        "1.0.0",
        "Removes every key of the selected database.",
        flushdb,
    ),
    command(
        "flushall",
        -1,
        "write",
        "@keyspace @dangerous",
        (0, 0, 0),
        "server",
        "1.0.0",
        "Removes every key of every database.",
        flushall,
    ),
    command(
        "swapdb",
        3,
        "write fast",
        "@keyspace @dangerous",
        (0, 0, 0),
        "server",
        "4.0.0",
        "Exchanges the contents of two databases.",
        swapdb,
    ),
];

/// Redis frees an aggregate value in the background when freeing it costs more than this many
/// allocations (LAZYFREE_THRESHOLD).
const LAZYFREE_THRESHOLD: usize = 64;

type Garbage = Box<dyn Send>;

/// Drops `garbage` on the one background freeing thread (Redis's lazyfree bio thread), so that
/// freeing millions of allocations does not stall the command loop.
pub fn free_later<T: Send + 'static>(garbage: T) {
    static FREER: OnceLock<Mutex<mpsc::Sender<Garbage>>> = OnceLock::new();
    let sender = FREER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Garbage>();
        let spawned = std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || rx.into_iter().for_each(drop));
        if let Err(e) = spawned {
            tracing::warn!("cannot start the lazyfree thread, freeing inline: {e}");
        }
        Mutex::new(tx)
    });
    let garbage: Garbage = Box::new(garbage);
    // Without a thread to receive it, the send fails and the value is dropped right here.
    if let Ok(tx) = sender.lock() {
        let _ = tx.send(garbage);
    }
}

/// Frees a removed value the way UNLINK does: in the background when it is large.
pub fn free_value(value: Value) {
    if value.free_effort() > LAZYFREE_THRESHOLD {
        free_later(value);
    }
}

/// FLUSHDB/FLUSHALL's optional argument: true for ASYNC.
fn parse_flush_mode(ctx: &Ctx) -> Result<bool, &'static str> {
    match ctx.argc() {
        1 => Ok(false),
        2 if ctx.arg_is(1, "async") => Ok(true),
        2 if ctx.arg_is(1, "sync") => Ok(false),
        _ => Err(errors::SYNTAX),
    }
}

/// Empties database `index`, returning how many keys it held.
fn empty_db(ctx: &mut Ctx, index: usize, lazy: bool) -> u64 {
    ctx.state.break_watches_in_db(index, None);
    let db = &mut ctx.state.dbs[index];
    let removed = db.len() as u64;
    let contents = db.take_all();
    if lazy {
        free_later(contents);
    }
    removed
}

fn flushdb(ctx: &mut Ctx) -> CmdResult {
    let lazy = parse_flush_mode(ctx)?;
    let removed = empty_db(ctx, ctx.db, lazy);
    ctx.state.dirty += removed;
    ctx.force_propagation();
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx) -> CmdResult {
    let lazy = parse_flush_mode(ctx)?;
    let mut removed = 0;
    for index in 0..ctx.state.dbs.len() {
        removed += empty_db(ctx, index, lazy);
    }
    // Redis counts the flush itself as one more change on top of the keys it removed.
    ctx.state.dirty += removed + 1;
    ctx.force_propagation();
    ctx.out.ok();
    Ok(())
}

fn parse_swap_index(ctx: &Ctx, i: usize, error: &'static str) -> Result<i64, &'static str> {
    parse_i64(ctx.arg(i))
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or(error)
}

fn swapdb(ctx: &mut Ctx) -> CmdResult {
    let first = parse_swap_index(ctx, 1, "ERR invalid first DB index")?;
    let second = parse_swap_index(ctx, 2, "ERR invalid second DB index")?;
    let count = ctx.state.dbs.len();
    let index = |n: i64| usize::try_from(n).ok().filter(|&i| i < count);
    let (Some(a), Some(b)) = (index(first), index(second)) else {
        return Err(errors::DB_INDEX_OUT_OF_RANGE.into());
    };
    ctx.state.break_watches_in_db(a, Some(b));
    ctx.state.break_watches_in_db(b, Some(a));
    ctx.state.dbs.swap(a, b);
    // Clients blocked on a key that now exists in the swapped-in database are served.
    for index in [a, b] {
        for key in ctx.state.blocking.waiting_keys_in(index) {
            if ctx.state.dbs[index].keys.contains_key(&key) {
                ctx.state.blocking.key_written(index, &key);
            }
        }
    }
    ctx.state.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn dbsize(ctx: &mut Ctx) -> CmdResult {
    let n = ctx.db().len() as i64;
    ctx.out.int(n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    struct Flag(Arc<AtomicBool>);

    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn free_later_drops_on_another_thread() {
        let dropped = Arc::new(AtomicBool::new(false));
        free_later(Flag(dropped.clone()));
        let started = Instant::now();
        while !dropped.load(Ordering::SeqCst) {
            assert!(started.elapsed() < Duration::from_secs(5), "never freed");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
