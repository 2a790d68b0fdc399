//! Snapshots and value serialization: SAVE, BGSAVE, DUMP, RESTORE.

use super::table::{command, CommandDef};
use super::{errors, CmdResult, Ctx};
use crate::persistence::{self, rdb};
use crate::protocol::request::parse_i64;
use crate::store::db::Access;

pub const COMMANDS: &[CommandDef] = &[
    command(
        "save",
        1,
        "admin noscript no_async_loading no_multi",
        "@dangerous",
        (0, 0, 0),
        "server",
        "1.0.0",
        "Writes the dataset to disk now, blocking the server until done.",
        save,
    ),
    command(
        "bgsave",
        -1,
        "admin noscript no_async_loading",
        "@dangerous",
        (0, 0, 0),
        "server",
        "1.0.0",
        "Writes the dataset to disk from a child process while the server keeps serving.",
        bgsave,
    ),
    command(
        "bgrewriteaof",
        1,
        "admin noscript no_async_loading",
        "@dangerous",
        (0, 0, 0),
        "server",
        "1.0.0",
        "Compacts the append-only file from a child process while the server keeps serving.",
        bgrewriteaof,
    ),
    command(
        "dump",
        2,
        "readonly",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Returns the serialized form of a key's value, in RDB format.",
        dump,
    ),
    command(
        "restore",
        -4,
        "write denyoom",
        "@keyspace @dangerous",
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Creates a key from the serialized value DUMP returned.",
        restore,
    ),
];

const BGSAVE_IN_PROGRESS: &str = "ERR Background save already in progress";

fn save(ctx: &mut Ctx) -> CmdResult {
    if ctx.state.persistence.child.is_some() {
        return Err(BGSAVE_IN_PROGRESS.into());
    }
    match persistence::save(ctx.state, ctx.now_ms) {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        // Redis answers a failed SAVE with a bare `-ERR`; the reason goes to the log.
        Err(_) => Err("ERR".into()),
    }
}

fn bgsave(ctx: &mut Ctx) -> CmdResult {
    // SCHEDULE only matters while another kind of child (an AOF rewrite) runs, which never
    // happens here, so with or without it the save starts at once.
    if ctx.argc() > 2 || (ctx.argc() == 2 && !ctx.arg_is(1, "schedule")) {
        return Err(errors::SYNTAX.into());
    }
    if ctx.state.persistence.child.is_some() {
        return Err(BGSAVE_IN_PROGRESS.into());
    }
    if aof_rewriting(ctx) {
        if ctx.argc() == 2 {
            ctx.state.persistence.bgsave_scheduled = true;
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use \
                    BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."
                .into(),
        );
    }
    // Inside EXEC the fork waits for the transaction to end, as Redis defers it to its cron.
    if ctx.state.in_exec {
        ctx.state.persistence.bgsave_scheduled = true;
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    match persistence::start_bgsave(ctx.state, ctx.now_ms) {
        Ok(()) => {
            ctx.out.simple("Background saving started");
            Ok(())
        }
        Err(_) => Err("ERR".into()),
    }
}

fn aof_rewriting(ctx: &Ctx) -> bool {
    let persistence = &ctx.state.persistence;
    persistence.offline_rewrite.is_some()
        || persistence
            .aof
            .as_ref()
            .is_some_and(|aof| aof.rewrite.is_some())
}

const REWRITE_FAILED: &str = "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.";

fn bgrewriteaof(ctx: &mut Ctx) -> CmdResult {
    if aof_rewriting(ctx) {
        return Err("ERR Background append only file rewriting already in progress".into());
    }
    let Some(aof) = ctx.state.persistence.aof.as_mut() else {
        // With the AOF off, Redis 7 still writes a base-only AOF directory.
        return match persistence::aof::start_offline_rewrite(ctx.state, ctx.now_ms) {
            Ok(pid) => {
                ctx.state.persistence.offline_rewrite = Some(pid);
                ctx.out
                    .simple("Background append only file rewriting started");
                Ok(())
            }
            Err(_) => Err(REWRITE_FAILED.into()),
        };
    };
    // While a BGSAVE child runs (or inside EXEC) the cron starts the rewrite later.
    if ctx.state.persistence.child.is_some() || ctx.state.in_exec {
        aof.rewrite_scheduled = true;
        ctx.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    match persistence::aof::start_rewrite(ctx.state, ctx.now_ms) {
        Ok(()) => {
            ctx.out
                .simple("Background append only file rewriting started");
            Ok(())
        }
        Err(_) => Err(REWRITE_FAILED.into()),
    }
}

fn dump(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let key = ctx.arg(1);
    match ctx.db().get(key, now) {
        Some(value) => {
            let payload = rdb::dump(value);
            ctx.out.bulk(&payload);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn restore(ctx: &mut Ctx) -> CmdResult {
    let mut replace = false;
    let mut absolute_ttl = false;
    let mut idle_s: Option<i64> = None;
    let mut frequency: Option<i64> = None;
    let mut i = 4;
    while i < ctx.argc() {
        let has_value = i + 1 < ctx.argc();
        if ctx.arg_is(i, "replace") {
            replace = true;
        } else if ctx.arg_is(i, "absttl") {
            absolute_ttl = true;
        } else if ctx.arg_is(i, "idletime") && has_value && frequency.is_none() {
            let idle = parse_i64(ctx.arg(i + 1)).ok_or(errors::NOT_INTEGER)?;
            if idle < 0 {
                return Err("ERR Invalid IDLETIME value, must be >= 0".into());
            }
            idle_s = Some(idle);
            i += 1;
        } else if ctx.arg_is(i, "freq") && has_value && idle_s.is_none() {
            let freq = parse_i64(ctx.arg(i + 1)).ok_or(errors::NOT_INTEGER)?;
            if !(0..=255).contains(&freq) {
                return Err("ERR Invalid FREQ value, must be >= 0 and <= 255".into());
            }
            frequency = Some(freq);
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let now = ctx.now_ms;
    let key = ctx.arg(1).to_vec();
    if !replace && ctx.db().contains(&key, now) {
        return Err("BUSYKEY Target key name already exists.".into());
    }
    let ttl = parse_i64(ctx.arg(2)).ok_or(errors::NOT_INTEGER)?;
    if ttl < 0 {
        return Err("ERR Invalid TTL value, must be >= 0".into());
    }
    let payload = ctx.arg(3);
    let checksum = ctx.state.config.flag("rdbchecksum");
    if !rdb::verify_payload(payload, checksum) {
        return Err("ERR DUMP payload version or checksum are wrong".into());
    }
    let hot = ctx.state.config.hot.clone();
    let value = rdb::undump(payload, &rdb::LoadLimits(&hot)).ok_or("ERR Bad data format")?;
    let deleted = replace && ctx.db().remove(&key).is_some();
    let deadline = match ttl {
        0 => None,
        ttl if absolute_ttl => Some(ttl),
        ttl => Some(ttl.saturating_add(now)),
    };
    if deadline.is_some_and(|at| at <= now) {
        if deleted {
            ctx.modified(&key);
            ctx.notify(crate::notify::GENERIC, "del", &key);
        }
        ctx.out.ok();
        return Ok(());
    }
    let mut access = Access::new(now);
    let policy = ctx.state.config.text("maxmemory-policy");
    // Redis applies each to the record its eviction policy keeps, and ignores the other.
    if let Some(freq) = frequency.filter(|_| policy.ends_with("-lfu")) {
        access.lfu_counter = freq as u8;
    }
    if let Some(idle) = idle_s.filter(|_| policy.ends_with("-lru")) {
        access.set_at_ms(now.saturating_sub(idle.saturating_mul(1000)));
    }
    let db = ctx.db();
    db.set_with_access(&key, value, access);
    db.persist(&key);
    if let Some(at) = deadline {
        db.set_deadline(&key, at);
        if !absolute_ttl {
            // Logged with the deadline the TTL gave, as Redis rewrites it (ABSTTL).
            let mut logged: Vec<Vec<u8>> = ctx.args.iter().map(|a| a.to_vec()).collect();
            if let Some(ttl) = logged.get_mut(2) {
                *ttl = at.to_string().into_bytes();
            }
            logged.push(b"ABSTTL".to_vec());
            ctx.propagate(logged);
        }
    }
    ctx.modified(&key);
    ctx.notify(crate::notify::GENERIC, "restore", &key);
    ctx.out.ok();
    Ok(())
}
