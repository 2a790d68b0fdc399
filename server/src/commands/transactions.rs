//! Transactions: MULTI queues commands, EXEC runs them all at once (no other client runs in
//! between: the state lock is held throughout), DISCARD drops them, WATCH makes EXEC fail if a
//! watched key was written since.

use super::table::{command, CommandDef};
use super::{CmdResult, Ctx};
use crate::client::WatchedKey;

pub const COMMANDS: &[CommandDef] = &[
    command(
        "multi",
        1,
        "noscript loading stale fast allow_busy",
        "@transaction",
        (0, 0, 0),
        "transactions",
        "1.2.0",
        "Starts a transaction: later commands are queued until EXEC.",
        multi,
    ),
    command(
        "exec",
        1,
        "noscript loading stale skip_slowlog",
        "@transaction",
        (0, 0, 0),
        "transactions",
        "1.2.0",
        "Runs the queued commands of the transaction, all at once.",
        exec,
    ),
    command(
        "discard",
        1,
        "noscript loading stale fast allow_busy",
        "@transaction",
        (0, 0, 0),
        "transactions",
        "2.0.0",
        "Drops the queued commands and ends the transaction.",
        discard,
    ),
    command(
        "watch",
        -2,
        "noscript loading stale fast allow_busy",
        "@transaction",
        (1, -1, 1),
        "transactions",
        "2.2.0",
        "Makes the next EXEC fail if any of these keys is written first.",
        watch,
    ),
    command(
        "unwatch",
        1,
        "noscript loading stale fast allow_busy",
        "@transaction",
        (0, 0, 0),
        "transactions",
        "2.2.0",
        "Forgets every watched key.",
        unwatch,
    ),
];

pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

fn multi(ctx: &mut Ctx) -> CmdResult {
    let client = ctx.client();
    if client.multi.is_some() {
        return Err("ERR MULTI calls can not be nested".into());
    }
    client.multi = Some(Vec::new());
    client.multi_refused = false;
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx) -> CmdResult {
    if ctx.client().multi.take().is_none() {
        return Err("ERR DISCARD without MULTI".into());
    }
    unwatch_all(ctx);
    ctx.out.ok();
    Ok(())
}

fn exec(ctx: &mut Ctx) -> CmdResult {
    let Some(queue) = ctx.client().multi.take() else {
        return Err("ERR EXEC without MULTI".into());
    };
    let refused = std::mem::take(&mut ctx.client().multi_refused);
    if refused {
        unwatch_all(ctx);
        return Err(EXECABORT.into());
    }
    if watch_failed(ctx) {
        unwatch_all(ctx);
        ctx.out.null_array();
        return Ok(());
    }
    unwatch_all(ctx);
    ctx.out.array(queue.len());
    ctx.state.in_exec = true;
    for args in &queue {
        // Each command replies into the EXEC array; a QUIT or kill waits for the whole EXEC.
        super::run(ctx.shared, ctx.state, ctx.client_id, args.args(), ctx.out);
    }
    ctx.state.in_exec = false;
    // A SELECT inside the transaction stays in effect after it.
    ctx.db = ctx.client().db;
    Ok(())
}

/// Did a watched key change since WATCH, or expire since (Redis's isWatchedKeyExpired)?
fn watch_failed(ctx: &mut Ctx) -> bool {
    let now = ctx.now_ms;
    let client = ctx.client();
    if client.watch_broken {
        return true;
    }
    let watched = client.watched.clone();
    watched.iter().any(|w| {
        !w.expired_when_watched
            && ctx.state.dbs[w.db]
                .deadline(&w.key)
                .is_some_and(|at| at < now)
    })
}

fn watch(ctx: &mut Ctx) -> CmdResult {
    if ctx.client().multi.is_some() {
        return Err("ERR WATCH inside MULTI is not allowed".into());
    }
    let (db, now, id) = (ctx.db, ctx.now_ms, ctx.client_id);
    for key in ctx.args.iter().skip(1) {
        if ctx
            .client()
            .watched
            .iter()
            .any(|w| w.db == db && w.key == key)
        {
            continue;
        }
        let expired = ctx.state.dbs[db].deadline(key).is_some_and(|at| at < now);
        ctx.client().watched.push(WatchedKey {
            db,
            key: key.to_vec(),
            expired_when_watched: expired,
        });
        ctx.state
            .watchers
            .entry((db, key.to_vec()))
            .or_default()
            .push(id);
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx) -> CmdResult {
    unwatch_all(ctx);
    ctx.out.ok();
    Ok(())
}

/// Forgets the client's watched keys and any failure they caused.
pub fn unwatch_all(ctx: &mut Ctx) {
    let id = ctx.client_id;
    forget_watches(ctx.state, id);
}

/// Removes a client's watches (also when it disconnects or RESETs).
pub fn forget_watches(state: &mut crate::state::State, id: crate::client::ClientId) {
    let Some(client) = state.clients.get_mut(&id) else {
        return;
    };
    client.watch_broken = false;
    for w in std::mem::take(&mut client.watched) {
        let slot = (w.db, w.key);
        if let Some(ids) = state.watchers.get_mut(&slot) {
            ids.retain(|&watcher| watcher != id);
            if ids.is_empty() {
                state.watchers.remove(&slot);
            }
        }
    }
}
