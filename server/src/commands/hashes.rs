//! The hash family: fields and values under one key, counters on fields, random fields and
//! HSCAN.

use super::keys::parse_cursor;
use super::strings::incr_long_double;
use super::table::{command, CommandDef};
use super::{errors, CmdError, CmdResult, Ctx};
use crate::notify;
use crate::protocol::request::parse_i64;
use crate::protocol::ReplyBuf;
use crate::store::glob;
use crate::store::hash::{HashValue, Limits};
use crate::store::{Db, Value};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "hset",
        -4,
        "write denyoom fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Sets fields of a hash, creating it if needed; replies with the number of new fields.",
        hset,
    ),
    command(
        "hsetnx",
        4,
        "write denyoom fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Sets a field of a hash only when the field is not there yet.",
        hsetnx,
    ),
    command(
        "hmset",
        -4,
        "write denyoom fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Sets fields of a hash (older spelling of HSET that replies OK).",
        hmset,
    ),
    command(
        "hget",
        3,
        "readonly fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the value of one field of a hash.",
        hget,
    ),
    command(
        "hmget",
        -3,
        "readonly fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the values of several fields of a hash.",
        hmget,
    ),
    command(
        "hgetall",
        2,
        "readonly",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns every field of a hash with its value.",
        hgetall,
    ),
    command(
        "hkeys",
        2,
        "readonly",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns every field name of a hash.",
        hkeys,
    ),
    command(
        "hvals",
        2,
        "readonly",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns every value of a hash.",
        hvals,
    ),
    command(
        "hdel",
        -3,
        "write fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Removes fields from a hash; the key goes when its last field does.",
        hdel,
    ),
    command(
        "hexists",
        3,
        "readonly fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Tells whether a hash has a field.",
        hexists,
    ),
    command(
        "hlen",
        2,
        "readonly fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the number of fields of a hash.",
        hlen,
    ),
    command(
        "hstrlen",
        3,
        "readonly fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "3.2.0",
        "Returns the length of the value of a hash field.",
        hstrlen,
    ),
    command(
        "hincrby",
        4,
        "write denyoom fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Adds an integer to the integer value of a hash field.",
        hincrby,
    ),
    command(
        "hincrbyfloat",
        4,
        "write denyoom fast",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.6.0",
        "Adds a floating-point number to the numeric value of a hash field.",
        hincrbyfloat,
    ),
    command(
        "hrandfield",
        -2,
        "readonly",
        "@hash",
        (1, 1, 1),
        "hash",
        "6.2.0",
        "Returns random fields of a hash, optionally with their values.",
        hrandfield,
    ),
    command(
        "hscan",
        -3,
        "readonly",
        "@hash",
        (1, 1, 1),
        "hash",
        "2.8.0",
        "Walks the fields and values of a hash a few at a time with a cursor.",
        hscan,
    ),
];

fn limits(ctx: &Ctx) -> Limits {
    let hot = &ctx.state.config.hot;
    Limits {
        max_entries: hot.hash_max_listpack_entries,
        max_value: hot.hash_max_listpack_value,
    }
}

/// The hash at `key` for reading (counts a keyspace hit or miss).
fn read_hash<'a>(db: &'a mut Db, key: &[u8], now: i64) -> Result<Option<&'a HashValue>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The hash at `key` for changing it, if there is one.
fn write_hash<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a mut HashValue>, CmdError> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The hash at `key`, created empty if missing (Redis's hashTypeLookupWriteOrCreate). Callers
/// always add a field to a hash they created, so no empty hash remains.
fn hash_for_write<'a>(db: &'a mut Db, key: &[u8], now: i64) -> Result<&'a mut HashValue, CmdError> {
    if write_hash(db, key, now)?.is_none() {
        db.set(key, Value::Hash(HashValue::new()));
    }
    write_hash(db, key, now)?.ok_or_else(|| errors::WRONGTYPE.into())
}

/// HSET and HMSET: writes every field/value pair; the number of new fields.
fn set_pairs(ctx: &mut Ctx, name: &str) -> Result<i64, CmdError> {
    if ctx.argc() % 2 == 1 {
        return Err(format!("ERR wrong number of arguments for '{name}' command").into());
    }
    let limits = limits(ctx);
    let key = ctx.arg(1);
    let args: Vec<&[u8]> = ctx.args.iter().skip(2).collect();
    let now = ctx.now_ms;
    let hash = hash_for_write(ctx.db(), key, now)?;
    hash.prepare_for(&args, limits.max_value);
    let mut created = 0;
    for pair in args.chunks_exact(2) {
        if hash.set(pair[0], pair[1], limits) {
            created += 1;
        }
    }
    ctx.modified(key);
    ctx.notify(notify::HASH, "hset", key);
    // Redis counts one change per pair written, new or not.
    ctx.state.dirty += (args.len() / 2).saturating_sub(1) as u64;
    Ok(created)
}

fn hset(ctx: &mut Ctx) -> CmdResult {
    let created = set_pairs(ctx, "hset")?;
    ctx.out.int(created);
    Ok(())
}

fn hmset(ctx: &mut Ctx) -> CmdResult {
    set_pairs(ctx, "hmset")?;
    ctx.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx) -> CmdResult {
    let limits = limits(ctx);
    let (key, field, value) = (ctx.arg(1), ctx.arg(2), ctx.arg(3));
    let now = ctx.now_ms;
    let hash = hash_for_write(ctx.db(), key, now)?;
    if hash.contains(field) {
        ctx.out.int(0);
        return Ok(());
    }
    hash.prepare_for(&[field, value], limits.max_value);
    hash.set(field, value, limits);
    ctx.modified(key);
    ctx.notify(notify::HASH, "hset", key);
    ctx.out.int(1);
    Ok(())
}

fn hget(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let hash = read_hash(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?;
    match hash.and_then(|h| h.get(ctx.args.get(2))) {
        Some(value) => ctx.out.bulk(value),
        None => ctx.out.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let hash = read_hash(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?;
    ctx.out.array(ctx.args.len() - 2);
    for field in ctx.args.iter().skip(2) {
        match hash.and_then(|h| h.get(field)) {
            Some(value) => ctx.out.bulk(value),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// Which parts of each pair HGETALL, HKEYS and HVALS reply with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Fields,
    Values,
    Both,
}

fn reply_all(ctx: &mut Ctx, parts: Parts) -> CmdResult {
    let now = ctx.now_ms;
    let hash = read_hash(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?;
    let len = hash.map_or(0, HashValue::len);
    if parts == Parts::Both {
        ctx.out.map(len);
    } else {
        ctx.out.array(len);
    }
    for (field, value) in hash.into_iter().flat_map(HashValue::iter) {
        if parts != Parts::Values {
            ctx.out.bulk(field);
        }
        if parts != Parts::Fields {
            ctx.out.bulk(value);
        }
    }
    Ok(())
}

fn hgetall(ctx: &mut Ctx) -> CmdResult {
    reply_all(ctx, Parts::Both)
}

fn hkeys(ctx: &mut Ctx) -> CmdResult {
    reply_all(ctx, Parts::Fields)
}

fn hvals(ctx: &mut Ctx) -> CmdResult {
    reply_all(ctx, Parts::Values)
}

fn hdel(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let db = &mut ctx.state.dbs[ctx.db];
    let Some(hash) = write_hash(db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted: u64 = 0;
    let mut emptied = false;
    for field in ctx.args.iter().skip(2) {
        if hash.remove(field) {
            deleted += 1;
            if hash.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        db.remove(key);
    }
    if deleted > 0 {
        ctx.modified(key);
        // One change per field removed.
        ctx.state.dirty += deleted - 1;
        ctx.notify(notify::HASH, "hdel", key);
        if emptied {
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let hash = read_hash(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?;
    let found = hash.is_some_and(|h| h.contains(ctx.args.get(2)));
    ctx.out.int(i64::from(found));
    Ok(())
}

fn hlen(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let hash = read_hash(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?;
    ctx.out.int(hash.map_or(0, HashValue::len) as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let hash = read_hash(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?;
    let len = hash
        .and_then(|h| h.get(ctx.args.get(2)))
        .map_or(0, <[u8]>::len);
    ctx.out.int(len as i64);
    Ok(())
}

fn hincrby(ctx: &mut Ctx) -> CmdResult {
    let incr = parse_i64(ctx.arg(3)).ok_or(errors::NOT_INTEGER)?;
    let limits = limits(ctx);
    let (key, field) = (ctx.arg(1), ctx.arg(2));
    let now = ctx.now_ms;
    let hash = hash_for_write(ctx.db(), key, now)?;
    let current = match hash.get(field) {
        Some(text) => parse_i64(text).ok_or("ERR hash value is not an integer")?,
        None => 0,
    };
    let sum = current.checked_add(incr).ok_or(errors::OVERFLOW)?;
    hash.set(field, itoa::Buffer::new().format(sum).as_bytes(), limits);
    ctx.modified(key);
    ctx.notify(notify::HASH, "hincrby", key);
    ctx.out.int(sum);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx) -> CmdResult {
    let incr = ctx.arg(3);
    // The increment alone is checked first: unreadable, or infinite.
    match incr_long_double(None, incr) {
        Ok(_) => {}
        Err(errors::NOT_FLOAT) => return Err(errors::NOT_FLOAT.into()),
        Err(_) => return Err("ERR value is NaN or Infinity".into()),
    }
    let limits = limits(ctx);
    let (key, field) = (ctx.arg(1), ctx.arg(2));
    let now = ctx.now_ms;
    let hash = hash_for_write(ctx.db(), key, now)?;
    let sum = match hash.get(field) {
        // The increment parsed above, so a float error here is about the stored value.
        Some(current) => incr_long_double(Some(current), incr).map_err(|e| match e {
            errors::NOT_FLOAT => "ERR hash value is not a float",
            other => other,
        })?,
        None => incr_long_double(None, incr)?,
    };
    hash.set(field, &sum, limits);
    ctx.modified(key);
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    ctx.out.bulk(&sum);
    Ok(())
}

fn hrandfield(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc() < 3 {
        let now = ctx.now_ms;
        let hash = read_hash(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?;
        match hash.and_then(HashValue::random_pair) {
            Some((field, _)) => ctx.out.bulk(field),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let requested = parse_i64(ctx.arg(2)).ok_or(errors::NOT_INTEGER)?;
    if requested == i64::MIN {
        return Err(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
                .into(),
        );
    }
    if ctx.argc() > 4 || (ctx.argc() == 4 && !ctx.arg_is(3, "withvalues")) {
        return Err(errors::SYNTAX.into());
    }
    let with_values = ctx.argc() == 4;
    // Redis refuses counts whose doubled reply length would not fit.
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&requested) {
        return Err("ERR value is out of range".into());
    }
    let now = ctx.now_ms;
    let Some(hash) = read_hash(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let count = requested.unsigned_abs() as usize;
    if count == 0 {
        ctx.out.array(0);
        return Ok(());
    }
    let out = &mut *ctx.out;
    let reply_len = |n: usize| {
        if with_values && !out.is_resp3() {
            n.saturating_mul(2)
        } else {
            n
        }
    };
    if requested < 0 || count == 1 {
        // One independent draw per element; only here may fields repeat.
        out.array(reply_len(count));
        hash.random_pairs_with_repeats(count, |k, v| reply_pair(out, with_values, k, v));
    } else if count >= hash.len() {
        out.array(reply_len(hash.len()));
        hash.iter()
            .for_each(|(k, v)| reply_pair(out, with_values, k, v));
    } else {
        let picked = hash.distinct_random_pairs(count);
        out.array(reply_len(picked.len()));
        picked
            .into_iter()
            .for_each(|(k, v)| reply_pair(out, with_values, k, v));
    }
    Ok(())
}

/// One HRANDFIELD element: the field, or with WITHVALUES the field and its value (a pair of
/// its own in RESP3, flat in RESP2).
fn reply_pair(out: &mut ReplyBuf, with_values: bool, field: &[u8], value: &[u8]) {
    if with_values && out.is_resp3() {
        out.array(2);
    }
    out.bulk(field);
    if with_values {
        out.bulk(value);
    }
}

/// What HSCAN's options ask for.
#[derive(Debug, PartialEq, Eq)]
struct ScanOptions<'a> {
    count: usize,
    pattern: Option<&'a [u8]>,
    /// NOVALUES (Redis 7.4): fields only.
    no_values: bool,
}

fn parse_scan_options<'a>(args: &[&'a [u8]]) -> Result<ScanOptions<'a>, &'static str> {
    let mut options = ScanOptions {
        count: 10,
        pattern: None,
        no_values: false,
    };
    let mut i = 0;
    while let Some(&word) = args.get(i) {
        let value = args.get(i + 1).copied();
        if let (true, Some(value)) = (word.eq_ignore_ascii_case(b"count"), value) {
            let count = parse_i64(value).ok_or(errors::NOT_INTEGER)?;
            if count < 1 {
                return Err(errors::SYNTAX);
            }
            options.count = usize::try_from(count).unwrap_or(usize::MAX);
            i += 2;
        } else if let (true, Some(value)) = (word.eq_ignore_ascii_case(b"match"), value) {
            // "*" matches everything: the same as no pattern.
            options.pattern = Some(value).filter(|p| *p != b"*");
            i += 2;
        } else if word.eq_ignore_ascii_case(b"novalues") {
            options.no_values = true;
            i += 1;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(options)
}

fn hscan(ctx: &mut Ctx) -> CmdResult {
    let cursor = parse_cursor(ctx.arg(2)).ok_or("ERR invalid cursor")?;
    let now = ctx.now_ms;
    // Like Redis, the key is looked up before the options are read: a missing key answers an
    // empty scan whatever follows.
    let Some(hash) = read_hash(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let rest: Vec<&[u8]> = ctx.args.iter().skip(3).collect();
    let options = parse_scan_options(&rest)?;
    let per_pair = if options.no_values { 1 } else { 2 };
    let mut found: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let next = hash.scan(cursor, options.count, per_pair, |k, v| {
        if options.pattern.is_none_or(|p| glob::matches(p, k, false)) {
            let value = if options.no_values {
                Vec::new()
            } else {
                v.to_vec()
            };
            found.push((k.to_vec(), value));
        }
    });
    let out = &mut *ctx.out;
    out.array(2);
    // Redis writes the cursor as a signed 64-bit number.
    out.bulk_int(next as i64);
    out.array(found.len() * per_pair);
    for (field, value) in found {
        out.bulk(&field);
        if !options.no_values {
            out.bulk(&value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_options() {
        let parse = |args: &[&'static str]| {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            parse_scan_options(&args)
        };
        assert_eq!(
            parse(&[]),
            Ok(ScanOptions {
                count: 10,
                pattern: None,
                no_values: false
            })
        );
        assert_eq!(
            parse(&["match", "a*", "COUNT", "3", "NoValues"]),
            Ok(ScanOptions {
                count: 3,
                pattern: Some(&b"a*"[..]),
                no_values: true
            })
        );
        assert_eq!(parse(&["MATCH", "*"]).map(|o| o.pattern), Ok(None));
        assert_eq!(parse(&["COUNT", "0"]), Err(errors::SYNTAX));
        assert_eq!(parse(&["COUNT", "x"]), Err(errors::NOT_INTEGER));
        assert_eq!(parse(&["COUNT"]), Err(errors::SYNTAX));
        assert_eq!(parse(&["TYPE", "string"]), Err(errors::SYNTAX));
        assert_eq!(parse(&["NOVALUES", "x"]), Err(errors::SYNTAX));
    }
}
