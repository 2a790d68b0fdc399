//! The generic keyspace family: existence, deletion, renaming, scanning and deadlines.

use super::databases::free_value;
use super::errors;
use super::table::{command, container, CommandDef};
use super::{CmdResult, Ctx};
use crate::notify;
use crate::protocol::request::parse_i64;
use crate::store::db::{Access, Key};
use crate::store::glob;
use crate::store::{Db, Value};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "del",
        -2,
        "write",
        "@keyspace",
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Deletes keys.",
        del,
    ),
    command(
        "unlink",
        -2,
        "write fast",
        "@keyspace",
        (1, -1, 1),
        "generic",
        "4.0.0",
        "Deletes keys, freeing large values in the background.",
        unlink,
    ),
    command(
        "exists",
        -2,
        "readonly fast",
        "@keyspace",
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Counts how many of the given keys exist.",
        exists,
    ),
    command(
        "type",
        2,
        "readonly fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Names the type of value a key holds.",
        type_command,
    ),
    command(
        "rename",
        3,
        "write",
        "@keyspace",
        (1, 2, 1),
        "generic",
        "1.0.0",
        "Gives a key a new name, replacing any key of that name.",
        rename,
    ),
    command(
        "renamenx",
        3,
        "write fast",
        "@keyspace",
        (1, 2, 1),
        "generic",
        "1.0.0",
        "Gives a key a new name if no key has that name yet.",
        renamenx,
    ),
    command(
        "copy",
        -3,
        "write denyoom",
        "@keyspace",
        (1, 2, 1),
        "generic",
        "6.2.0",
        "Copies a key's value and deadline to another key, maybe in another database.",
        copy,
    ),
    command(
        "move",
        3,
        "write fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Moves a key to another database.",
        move_command,
    ),
    command(
        "keys",
        2,
        "readonly",
        "@keyspace @dangerous",
        (0, 0, 0),
        "generic",
        "1.0.0",
        "Lists every key matching a glob pattern.",
        keys,
    ),
    command(
        "scan",
        -2,
        "readonly",
        "@keyspace",
        (0, 0, 0),
        "generic",
        "2.8.0",
        "Walks the keyspace a few keys at a time with a cursor.",
        scan,
    ),
    command(
        "randomkey",
        1,
        "readonly",
        "@keyspace",
        (0, 0, 0),
        "generic",
        "1.0.0",
        "Returns a random key name.",
        randomkey,
    ),
    command(
        "touch",
        -2,
        "readonly fast",
        "@keyspace",
        (1, -1, 1),
        "generic",
        "3.2.1",
        "Marks keys as just used, counting those that exist.",
        touch,
    ),
    container(
        "object",
        "generic",
        "2.2.3",
        "Inspects how a key's value is stored.",
        &[
            command(
                "encoding",
                3,
                "readonly",
                "@keyspace",
                (2, 2, 1),
                "generic",
                "2.2.3",
                "Names the internal representation of a key's value.",
                object_encoding,
            ),
            command(
                "freq",
                3,
                "readonly",
                "@keyspace",
                (2, 2, 1),
                "generic",
                "4.0.0",
                "Returns the logarithmic access counter of a key (LFU policies only).",
                object_freq,
            ),
            command(
                "help",
                2,
                "loading stale",
                "@keyspace",
                (0, 0, 0),
                "generic",
                "6.2.0",
                "Lists the OBJECT subcommands.",
                object_help,
            ),
            command(
                "idletime",
                3,
                "readonly",
                "@keyspace",
                (2, 2, 1),
                "generic",
                "2.2.3",
                "Returns the seconds since a key was last used (not under LFU policies).",
                object_idletime,
            ),
            command(
                "refcount",
                3,
                "readonly",
                "@keyspace",
                (2, 2, 1),
                "generic",
                "2.2.3",
                "Returns how many references the key's value has.",
                object_refcount,
            ),
        ],
    ),
    command(
        "wait",
        3,
        "noscript",
        "@connection",
        (0, 0, 0),
        "generic",
        "3.0.0",
        "Waits for replicas to acknowledge the client's writes.",
        wait,
    ),
    command(
        "expire",
        -3,
        "write fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Gives a key a deadline, in seconds from now.",
        expire,
    ),
    command(
        "pexpire",
        -3,
        "write fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Gives a key a deadline, in milliseconds from now.",
        pexpire,
    ),
    command(
        "expireat",
        -3,
        "write fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "1.2.0",
        "Gives a key a deadline, as a Unix time in seconds.",
        expireat,
    ),
    command(
        "pexpireat",
        -3,
        "write fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Gives a key a deadline, as a Unix time in milliseconds.",
        pexpireat,
    ),
    command(
        "ttl",
        2,
        "readonly fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Returns the seconds a key has left.",
        ttl,
    ),
    command(
        "pttl",
        2,
        "readonly fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Returns the milliseconds a key has left.",
        pttl,
    ),
    command(
        "expiretime",
        2,
        "readonly fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Returns a key's deadline as a Unix time in seconds.",
        expiretime,
    ),
    command(
        "pexpiretime",
        2,
        "readonly fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Returns a key's deadline as a Unix time in milliseconds.",
        pexpiretime,
    ),
    command(
        "persist",
        2,
        "write fast",
        "@keyspace",
        (1, 1, 1),
        "generic",
        "2.2.0",
        "Removes a key's deadline.",
        persist,
    ),
];

const SAME_OBJECT: &str = "ERR source and destination objects are the same";

fn del(ctx: &mut Ctx) -> CmdResult {
    delete_keys(ctx, false)
}

fn unlink(ctx: &mut Ctx) -> CmdResult {
    delete_keys(ctx, true)
}

fn delete_keys(ctx: &mut Ctx, lazy: bool) -> CmdResult {
    let now = ctx.now_ms;
    let mut deleted = 0;
    for key in ctx.args.iter().skip(1) {
        let db = ctx.db();
        db.expire_if_needed(key, now);
        if let Some(value) = db.remove(key) {
            if lazy {
                free_value(value);
            }
            ctx.modified(key);
            ctx.notify(notify::GENERIC, "del", key);
            deleted += 1;
        }
    }
    ctx.out.int(deleted);
    Ok(())
}

fn exists(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let mut count = 0;
    for key in ctx.args.iter().skip(1) {
        if ctx.db().get_untouched(key, now).is_some() {
            count += 1;
        }
    }
    ctx.out.int(count);
    Ok(())
}

/// Looks a key up without counting it as a use (Redis's LOOKUP_NOTOUCH), expiring it first.
fn peek<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a Value> {
    let now = ctx.now_ms;
    ctx.db().peek(key, now)
}

fn type_command(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let name = ctx
        .db()
        .get_untouched(key, now)
        .map_or("none", Value::type_name);
    ctx.out.simple(name);
    Ok(())
}

fn rename(ctx: &mut Ctx) -> CmdResult {
    rename_generic(ctx, false)
}

fn renamenx(ctx: &mut Ctx) -> CmdResult {
    rename_generic(ctx, true)
}

fn rename_generic(ctx: &mut Ctx, nx: bool) -> CmdResult {
    let (from, to) = (ctx.arg(1), ctx.arg(2));
    let now = ctx.now_ms;
    let db = ctx.db();
    // Write lookups, as Redis's: a missing key is no keyspace miss.
    if db.get_mut(from, now).is_none() {
        return Err(errors::NO_SUCH_KEY.into());
    }
    if from == to {
        reply_renamed(ctx, nx, false);
        return Ok(());
    }
    if db.get_mut(to, now).is_some() {
        if nx {
            ctx.out.int(0);
            return Ok(());
        }
        db.remove(to);
    }
    if let Some((value, deadline, access)) = db.take(from) {
        db.set_with_access(to, value, access);
        if let Some(at) = deadline {
            db.set_deadline(to, at);
        }
    }
    ctx.modified(from);
    ctx.modified(to);
    ctx.notify(notify::GENERIC, "rename_from", from);
    ctx.notify(notify::GENERIC, "rename_to", to);
    reply_renamed(ctx, nx, true);
    Ok(())
}

fn reply_renamed(ctx: &mut Ctx, nx: bool, renamed: bool) {
    if !nx {
        ctx.out.ok();
    } else {
        ctx.out.int(renamed as i64);
    }
}

const NOT_INT32: &str = "ERR value is out of range, value must between -2147483648 and 2147483647";

/// Parses a database index as Redis's getIntFromObjectOrReply does.
fn parse_db_index(arg: &[u8]) -> Result<i64, &'static str> {
    let n = parse_i64(arg).ok_or(errors::NOT_INTEGER)?;
    i32::try_from(n).map(i64::from).map_err(|_| NOT_INT32)
}

/// A valid index of a database of this server.
fn existing_db(ctx: &Ctx, index: i64) -> Result<usize, &'static str> {
    usize::try_from(index)
        .ok()
        .filter(|&i| i < ctx.state.dbs.len())
        .ok_or(errors::DB_INDEX_OUT_OF_RANGE)
}

fn copy(ctx: &mut Ctx) -> CmdResult {
    let (from, to) = (ctx.arg(1), ctx.arg(2));
    let mut replace = false;
    let mut dst = ctx.db;
    let mut i = 3;
    while i < ctx.argc() {
        if ctx.arg_is(i, "replace") {
            replace = true;
        } else if ctx.arg_is(i, "db") && i + 1 < ctx.argc() {
            let index = parse_db_index(ctx.arg(i + 1))?;
            dst = existing_db(ctx, index)?;
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if dst == ctx.db && from == to {
        return Err(SAME_OBJECT.into());
    }
    let now = ctx.now_ms;
    let src = ctx.db();
    let Some(value) = src.get(from, now).cloned() else {
        ctx.out.int(0);
        return Ok(());
    };
    let deadline = src.deadline(from);
    let target = &mut ctx.state.dbs[dst];
    target.clock_ms = now;
    if target.contains(to, now) {
        if !replace {
            ctx.out.int(0);
            return Ok(());
        }
        target.remove(to);
    }
    // A copy is a new object: its own access record, starting now.
    target.set(to, value);
    if let Some(at) = deadline {
        target.set_deadline(to, at);
    }
    ctx.state.key_modified(dst, to);
    ctx.state
        .notify_keyspace_event(notify::GENERIC, "copy_to", to, dst, now);
    ctx.out.int(1);
    Ok(())
}

fn move_command(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let index = parse_db_index(ctx.arg(2))?;
    let dst = existing_db(ctx, index)?;
    if dst == ctx.db {
        return Err(SAME_OBJECT.into());
    }
    let now = ctx.now_ms;
    if ctx.db().get_mut(key, now).is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let target = &mut ctx.state.dbs[dst];
    target.clock_ms = now;
    if target.contains(key, now) {
        ctx.out.int(0);
        return Ok(());
    }
    if let Some((value, deadline, access)) = ctx.db().take(key) {
        let target = &mut ctx.state.dbs[dst];
        target.set_with_access(key, value, access);
        if let Some(at) = deadline {
            target.set_deadline(key, at);
        }
    }
    ctx.modified(key);
    ctx.state.key_modified(dst, key);
    ctx.notify(notify::GENERIC, "move_from", key);
    ctx.state
        .notify_keyspace_event(notify::GENERIC, "move_to", key, dst, now);
    ctx.out.int(1);
    Ok(())
}

fn keys(ctx: &mut Ctx) -> CmdResult {
    let pattern = ctx.arg(1);
    let all = pattern == b"*";
    let now = ctx.now_ms;
    let db = &ctx.state.dbs[ctx.db];
    // Keys whose time has passed are left in place (KEYS only reads) but not reported.
    let found: Vec<&[u8]> = db
        .keys
        .iter()
        .map(|(k, _)| &k[..])
        .filter(|k| all || glob::matches(pattern, k, false))
        .filter(|k| db.expires.get(k).is_none_or(|&at| at > now))
        .collect();
    ctx.out.array(found.len());
    for key in found {
        ctx.out.bulk(key);
    }
    Ok(())
}

/// Parses a SCAN cursor (SCAN, HSCAN, SSCAN, ZSCAN) as Redis does with strtoul: optional sign,
/// decimal digits, nothing after; a leading '-' negates modulo 2^64, and an empty string is 0.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return if arg.is_empty() { Some(0) } else { None };
    }
    let mut n: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if negative { n.wrapping_neg() } else { n })
}

/// What SCAN's options ask for.
#[derive(Debug, PartialEq, Eq)]
struct ScanOptions<'a> {
    count: i64,
    pattern: Option<&'a [u8]>,
    type_name: Option<&'a [u8]>,
}

fn parse_scan_options<'a>(args: &[&'a [u8]]) -> Result<ScanOptions<'a>, &'static str> {
    let mut options = ScanOptions {
        count: 10,
        pattern: None,
        type_name: None,
    };
    let mut i = 0;
    while i < args.len() {
        let word = args[i];
        let has_value = i + 1 < args.len();
        if word.eq_ignore_ascii_case(b"count") && has_value {
            options.count = parse_i64(args[i + 1]).ok_or(errors::NOT_INTEGER)?;
            if options.count < 1 {
                return Err(errors::SYNTAX);
            }
        } else if word.eq_ignore_ascii_case(b"match") && has_value {
            // "*" matches everything: the same as no pattern.
            options.pattern = Some(args[i + 1]).filter(|p| *p != b"*");
        } else if word.eq_ignore_ascii_case(b"type") && has_value {
            options.type_name = Some(args[i + 1]);
        } else {
            return Err(errors::SYNTAX);
        }
        i += 2;
    }
    Ok(options)
}

/// One SCAN call's walk of the keyspace from `cursor`: the keys of the buckets visited (before
/// any filtering) and the next cursor. Like Redis, it stops after `count` keys or `count * 10`
/// further buckets, whichever comes first, so that a sparse table does not make one call long.
fn scan_step(db: &Db, mut cursor: u64, count: i64) -> (u64, Vec<Key>) {
    let mut budget = count.saturating_mul(10);
    let mut batch: Vec<Key> = Vec::new();
    loop {
        cursor = db.keys.scan(cursor, |k, _| batch.push(k.clone()));
        if cursor == 0 || budget == 0 || batch.len() as i64 >= count {
            return (cursor, batch);
        }
        budget -= 1;
    }
}

fn scan(ctx: &mut Ctx) -> CmdResult {
    let mut cursor = parse_cursor(ctx.arg(1)).ok_or("ERR invalid cursor")?;
    let rest: Vec<&[u8]> = ctx.args.iter().skip(2).collect();
    let options = parse_scan_options(&rest)?;
    let now = ctx.now_ms;
    let db = ctx.db();
    let (next, mut batch) = scan_step(db, cursor, options.count);
    cursor = next;
    batch.retain(|key| {
        if let Some(pattern) = options.pattern {
            if !glob::matches(pattern, key, false) {
                return false;
            }
        }
        if let Some(wanted) = options.type_name {
            db.expire_if_needed(key, now);
            let name = db.keys.get(key).map_or("none", |e| e.value.type_name());
            return name.as_bytes().eq_ignore_ascii_case(wanted);
        }
        !db.expire_if_needed(key, now)
    });
    ctx.out.array(2);
    // Redis writes the cursor as a signed 64-bit number.
    ctx.out.bulk_int(cursor as i64);
    ctx.out.array(batch.len());
    for key in &batch {
        ctx.out.bulk(key);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let db = ctx.db();
    loop {
        let Some(key) = db.keys.random_entry().map(|(k, _)| k.clone()) else {
            ctx.out.null();
            return Ok(());
        };
        // Each pass removes the key it drew if its time has passed, so this ends.
        if !db.expire_if_needed(&key, now) {
            ctx.out.bulk(&key);
            return Ok(());
        }
    }
}

fn touch(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let mut touched = 0;
    for key in ctx.args.iter().skip(1) {
        if ctx.db().get(key, now).is_some() {
            touched += 1;
        }
    }
    ctx.out.int(touched);
    Ok(())
}

fn object_encoding(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(2);
    match peek(ctx, key).map(Value::encoding) {
        Some(encoding) => ctx.out.bulk(encoding.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Redis keeps one object for each integer 0..10000 and shares it between every key holding
/// that number, unless an LRU/LFU policy with a memory limit needs per-key access data.
const SHARED_INTEGERS: i64 = 10_000;

fn lfu_policy(ctx: &Ctx) -> bool {
    ctx.state.config.text("maxmemory-policy").ends_with("-lfu")
}

fn object_refcount(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(2);
    let sharing = ctx.state.config.int("maxmemory") == 0
        || !matches!(
            ctx.state.config.text("maxmemory-policy"),
            "allkeys-lru" | "volatile-lru" | "allkeys-lfu" | "volatile-lfu"
        );
    let refcount = match peek(ctx, key) {
        None => {
            ctx.out.null();
            return Ok(());
        }
        Some(Value::String(s)) if sharing && s.encoding() == "int" => match parse_i64(s.as_bytes())
        {
            Some(n) if (0..SHARED_INTEGERS).contains(&n) => i64::from(i32::MAX),
            _ => 1,
        },
        Some(_) => 1,
    };
    ctx.out.int(refcount);
    Ok(())
}

fn object_access(ctx: &mut Ctx) -> Option<Access> {
    let key = ctx.arg(2);
    peek(ctx, key)?;
    let db = ctx.db();
    Some(db.access(key).unwrap_or_else(|| Access::new(db.clock_ms)))
}

fn object_idletime(ctx: &mut Ctx) -> CmdResult {
    let Some(access) = object_access(ctx) else {
        ctx.out.null();
        return Ok(());
    };
    if lfu_policy(ctx) {
        return Err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.".into());
    }
    // Redis's LRU clock ticks in whole seconds.
    let idle = (ctx.now_ms / 1000 - access.at_ms() / 1000).max(0);
    ctx.out.int(idle);
    Ok(())
}

fn object_freq(ctx: &mut Ctx) -> CmdResult {
    let Some(access) = object_access(ctx) else {
        ctx.out.null();
        return Ok(());
    };
    if !lfu_policy(ctx) {
        return Err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.".into());
    }
    ctx.out.int(i64::from(access.lfu_decayed(ctx.now_ms)));
    Ok(())
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(ctx: &mut Ctx) -> CmdResult {
    ctx.out.array(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        ctx.out.simple(line);
    }
    Ok(())
}

fn wait(ctx: &mut Ctx) -> CmdResult {
    parse_i64(ctx.arg(1)).ok_or(errors::NOT_INTEGER)?;
    let timeout = parse_i64(ctx.arg(2)).ok_or("ERR timeout is not an integer or out of range")?;
    if timeout < 0 {
        return Err("ERR timeout is negative".into());
    }
    // No replicas ever connect to this server, so none has acknowledged anything.
    ctx.out.int(0);
    Ok(())
}

/// EXPIRE's conditions on the key's current deadline.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(args: &[&[u8]]) -> Result<ExpireFlags, String> {
    let mut flags = ExpireFlags::default();
    for arg in args {
        let flag = match arg.to_ascii_lowercase().as_slice() {
            b"nx" => &mut flags.nx,
            b"xx" => &mut flags.xx,
            b"gt" => &mut flags.gt,
            b"lt" => &mut flags.lt,
            _ => {
                return Err(format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(arg)
                ))
            }
        };
        *flag = true;
    }
    if flags.nx && (flags.xx || flags.gt || flags.lt) {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if flags.gt && flags.lt {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    Ok(flags)
}

/// The absolute deadline in ms for `amount` (in seconds when `seconds`) counted from `base_ms`,
/// or None when Redis would call it an invalid expire time.
fn expire_deadline(amount: i64, seconds: bool, base_ms: i64) -> Option<i64> {
    let ms = if seconds {
        amount.checked_mul(1000)?
    } else {
        amount
    };
    // Redis refuses only an overflow past the largest value; a result below the smallest
    // cannot come from a non-negative base.
    if ms > i64::MAX - base_ms {
        return None;
    }
    Some(ms + base_ms)
}

/// Whether a new deadline passes the NX/XX/GT/LT conditions, given the current one (None: no
/// deadline, which counts as infinite).
fn expire_allowed(flags: ExpireFlags, current: Option<i64>, when: i64) -> bool {
    if flags.nx && current.is_some() {
        return false;
    }
    if flags.xx && current.is_none() {
        return false;
    }
    if flags.gt && current.is_none_or(|c| when <= c) {
        return false;
    }
    if flags.lt && current.is_some_and(|c| when >= c) {
        return false;
    }
    true
}

fn expire_generic(ctx: &mut Ctx, name: &str, seconds: bool, relative: bool) -> CmdResult {
    let rest: Vec<&[u8]> = ctx.args.iter().skip(3).collect();
    let flags = parse_expire_flags(&rest)?;
    let amount = parse_i64(ctx.arg(2)).ok_or(errors::NOT_INTEGER)?;
    let now = ctx.now_ms;
    let base = if relative { now } else { 0 };
    let when = expire_deadline(amount, seconds, base)
        .ok_or_else(|| format!("ERR invalid expire time in '{name}' command"))?;
    let key = ctx.arg(1);
    let db = ctx.db();
    if db.get_mut(key, now).is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    if !expire_allowed(flags, db.deadline(key), when) {
        ctx.out.int(0);
        return Ok(());
    }
    // A deadline already past deletes the key now, announced as a deletion (Redis's
    // checkAlreadyExpired in expireGenericCommand).
    let event = if when <= now {
        db.remove(key);
        ctx.propagate(crate::persistence::propagate::del(key));
        "del"
    } else {
        db.set_deadline(key, when);
        ctx.propagate(crate::persistence::propagate::pexpireat(key, when));
        "expire"
    };
    ctx.modified(key);
    ctx.notify(notify::GENERIC, event, key);
    ctx.out.int(1);
    Ok(())
}

fn expire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, "expire", true, true)
}

fn pexpire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, "pexpire", false, true)
}

fn expireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, "expireat", true, false)
}

fn pexpireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, "pexpireat", false, false)
}

/// What TTL and its siblings report: -2 for no key, -1 for no deadline, else the time left
/// (or the deadline itself when `absolute`), in ms or rounded to the nearest second.
fn ttl_reply(exists: bool, deadline: Option<i64>, now: i64, ms: bool, absolute: bool) -> i64 {
    if !exists {
        return -2;
    }
    let Some(at) = deadline else {
        return -1;
    };
    let left = if absolute { at } else { (at - now).max(0) };
    if ms {
        left
    } else {
        // `left` is never negative; Redis's arithmetic behaves as unsigned near the top, where
        // a deadline of i64::MAX ms reports 9223372036854776 s.
        ((left as u64).wrapping_add(500) / 1000) as i64
    }
}

fn ttl_generic(ctx: &mut Ctx, ms: bool, absolute: bool) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let exists = ctx.db().get_untouched(key, now).is_some();
    let deadline = ctx.db().deadline(key);
    ctx.out.int(ttl_reply(exists, deadline, now, ms, absolute));
    Ok(())
}

fn ttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, false, false)
}

fn pttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, true, false)
}

fn expiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, false, true)
}

fn pexpiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, true, true)
}

fn persist(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let db = ctx.db();
    let removed = db.get_mut(key, now).is_some() && db.persist(key);
    if removed {
        ctx.modified(key);
        ctx.notify(notify::GENERIC, "persist", key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn cursor_parses_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-0"), Some(0));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        for bad in [&b"abc"[..], b" 0", b"0 ", b"1.5", b"-", b"+", b"0x10"] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn scan_options() {
        let parsed = parse_scan_options(&[b"count", b"5", b"MATCH", b"k*", b"type", b"string"]);
        assert_eq!(
            parsed,
            Ok(ScanOptions {
                count: 5,
                pattern: Some(&b"k*"[..]),
                type_name: Some(&b"string"[..]),
            })
        );
        // A lone "*" is the same as no pattern.
        assert_eq!(parse_scan_options(&[b"match", b"*"]).unwrap().pattern, None);
        assert_eq!(parse_scan_options(&[b"count", b"0"]), Err(errors::SYNTAX));
        assert_eq!(
            parse_scan_options(&[b"count", b"x"]),
            Err(errors::NOT_INTEGER)
        );
        assert_eq!(parse_scan_options(&[b"count"]), Err(errors::SYNTAX));
        assert_eq!(parse_scan_options(&[b"foo", b"bar"]), Err(errors::SYNTAX));
    }

    #[test]
    fn scan_reports_every_key_present_throughout_despite_inserts() {
        let mut db = Db::default();
        for i in 0..200 {
            db.set(format!("old:{i}").as_bytes(), Value::from(&b"v"[..]));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut added = 0;
        loop {
            let (next, batch) = scan_step(&db, cursor, 7);
            seen.extend(batch);
            // Grow the table between calls, forcing resizes and rehashing mid-scan.
            for _ in 0..40 {
                db.set(format!("new:{added}").as_bytes(), Value::from(&b"v"[..]));
                added += 1;
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..200 {
            let key: Key = format!("old:{i}").into_bytes().into();
            assert!(seen.contains(&key), "old:{i} missed");
        }
    }

    #[test]
    fn read_lookups_raise_keymiss_and_write_lookups_do_not() {
        let mut db = Db::default();
        db.notify_classes = notify::parse_classes("KEAm").unwrap();
        assert!(db.get_mut(b"missing", 0).is_none());
        assert!(db.events.is_empty());
        assert_eq!(db.misses_since_count, 0);
        assert!(db.get_untouched(b"missing", 0).is_none());
        assert!(db.get(b"missing", 0).is_none());
        let events: Vec<_> = db.events.iter().map(|e| (e.event, &*e.key)).collect();
        assert_eq!(
            events,
            [("keymiss", &b"missing"[..]), ("keymiss", &b"missing"[..])]
        );
        assert_eq!(db.misses_since_count, 2);
        db.set(b"here", Value::from(&b"v"[..]));
        let before = db.access(b"here");
        assert!(db.get_untouched(b"here", 5_000).is_some());
        assert_eq!(
            db.access(b"here"),
            before,
            "EXISTS-like reads leave the access record"
        );
        assert_eq!(db.hits_since_count, 1);
    }

    #[test]
    fn scan_count_bounds_one_call() {
        let mut db = Db::default();
        for i in 0..1000 {
            db.set(format!("k{i}").as_bytes(), Value::from(&b"v"[..]));
        }
        let (cursor, batch) = scan_step(&db, 0, 10);
        assert_ne!(cursor, 0);
        // Stops at the first bucket that takes it to COUNT keys (chains may overshoot a little).
        assert!(batch.len() >= 10 && batch.len() < 30, "{}", batch.len());
        let (cursor, batch) = scan_step(&db, 0, 100_000);
        assert_eq!((cursor, batch.len()), (0, 1000));
    }

    #[test]
    fn expire_flag_combinations() {
        let ok = |args: &[&[u8]]| parse_expire_flags(args).unwrap();
        assert_eq!(ok(&[]), ExpireFlags::default());
        assert!(ok(&[b"nx"]).nx);
        assert!(ok(&[b"XX", b"gt"]).xx);
        assert!(ok(&[b"xx", b"lt"]).lt);
        let err = |args: &[&[u8]]| parse_expire_flags(args).unwrap_err();
        let nx = "ERR NX and XX, GT or LT options at the same time are not compatible";
        assert_eq!(err(&[b"nx", b"xx"]), nx);
        assert_eq!(err(&[b"gt", b"nx"]), nx);
        assert_eq!(err(&[b"nx", b"lt"]), nx);
        assert_eq!(
            err(&[b"gt", b"lt"]),
            "ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(err(&[b"nx", b"bogus"]), "ERR Unsupported option bogus");
    }

    #[test]
    fn expire_conditions() {
        let f = |s: &[&[u8]]| parse_expire_flags(s).unwrap();
        assert!(expire_allowed(f(&[]), Some(5), 1));
        assert!(expire_allowed(f(&[b"nx"]), None, 1));
        assert!(!expire_allowed(f(&[b"nx"]), Some(5), 1));
        assert!(!expire_allowed(f(&[b"xx"]), None, 1));
        // No deadline counts as infinite: never greater, always less.
        assert!(!expire_allowed(f(&[b"gt"]), None, 100));
        assert!(expire_allowed(f(&[b"lt"]), None, 100));
        assert!(expire_allowed(f(&[b"gt"]), Some(5), 6));
        assert!(!expire_allowed(f(&[b"gt"]), Some(5), 5));
        assert!(expire_allowed(f(&[b"lt"]), Some(5), 4));
        assert!(!expire_allowed(f(&[b"lt"]), Some(5), 5));
    }

    #[test]
    fn expire_overflow() {
        assert_eq!(expire_deadline(10, true, 1_000), Some(11_000));
        assert_eq!(expire_deadline(-10, true, 1_000), Some(-9_000));
        assert_eq!(expire_deadline(i64::MAX / 1000 + 1, true, 0), None);
        assert_eq!(expire_deadline(i64::MIN / 1000 - 1, true, 0), None);
        assert_eq!(expire_deadline(i64::MAX, false, 0), Some(i64::MAX));
        assert_eq!(expire_deadline(i64::MAX, false, 1), None);
        assert_eq!(expire_deadline(i64::MAX / 1000, true, 1_000), None);
    }

    #[test]
    fn ttl_rounds_to_nearest_second() {
        let now = 1_000_000;
        assert_eq!(ttl_reply(false, None, now, false, false), -2);
        assert_eq!(ttl_reply(true, None, now, true, false), -1);
        assert_eq!(ttl_reply(true, Some(now + 1499), now, false, false), 1);
        assert_eq!(ttl_reply(true, Some(now + 1500), now, false, false), 2);
        assert_eq!(ttl_reply(true, Some(now + 499), now, false, false), 0);
        assert_eq!(ttl_reply(true, Some(now + 1499), now, true, false), 1499);
        // A deadline already passed but not yet collected reads as zero.
        assert_eq!(ttl_reply(true, Some(now - 5), now, true, false), 0);
        assert_eq!(
            ttl_reply(true, Some(4_102_444_800_500), now, false, true),
            4_102_444_801
        );
        assert_eq!(
            ttl_reply(true, Some(i64::MAX), 0, false, true),
            9_223_372_036_854_776
        );
    }

    #[test]
    fn access_record_tracks_idle_time_and_lfu_decay() {
        let mut db = Db::default();
        db.clock_ms = 10_000;
        db.set(b"k", Value::from(&b"v"[..]));
        let created = db.access(b"k").unwrap();
        assert_eq!((created.at_ms(), created.lfu_counter), (10_000, 5));
        db.get(b"k", 70_000);
        assert_eq!(db.access(b"k").unwrap().at_ms(), 70_000);
        // Three idle minutes take three points off the counter.
        let counter = db.access(b"k").unwrap().lfu_counter;
        assert_eq!(db.access(b"k").unwrap().lfu_decayed(250_000), counter - 3);
        // Peeking (contains) is not a use; a move keeps the record.
        db.contains(b"k", 90_000);
        assert_eq!(db.access(b"k").unwrap().at_ms(), 70_000);
        let (value, _, access) = db.take(b"k").unwrap();
        db.set_with_access(b"j", value, access);
        assert_eq!(db.access(b"j").unwrap().at_ms(), 70_000);
        assert!(db.access(b"k").is_none());
    }
}
