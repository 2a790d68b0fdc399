//! The sorted set family, blocking pops included, as Redis 7.0 answers it (OBJECT ENCODING as
//! 7.2 reports it).

use rand::seq::index::sample;

use super::keys::parse_cursor;
use super::table::{command, CommandDef};
use super::{errors, parse_block_timeout, BlockRequest, CmdError, CmdResult, Ctx};
use crate::notify;
use crate::protocol::request::parse_i64;
use crate::protocol::{Args, ReplyBuf};
use crate::store::glob;
use crate::store::set::SetValue;
use crate::store::zset::{
    lex_range, parse_lex_bound, parse_score, parse_score_bound, score_range, Limits, ZSetValue,
};
use crate::store::{Db, Value};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "zadd",
        -4,
        "write denyoom fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "1.2.0",
        "Adds members with scores to a sorted set, or updates their scores, with conditions.",
        zadd,
    ),
    command(
        "zincrby",
        4,
        "write denyoom fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "1.2.0",
        "Adds an increment to the score of a member, creating it when missing.",
        zincrby,
    ),
    command(
        "zrem",
        -3,
        "write fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "1.2.0",
        "Removes members from a sorted set; deletes the key when it empties.",
        zrem,
    ),
    command(
        "zscore",
        3,
        "readonly fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "1.2.0",
        "Returns the score of a member.",
        zscore,
    ),
    command(
        "zmscore",
        -3,
        "readonly fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "6.2.0",
        "Returns the scores of several members.",
        zmscore,
    ),
    command(
        "zcard",
        2,
        "readonly fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "1.2.0",
        "Returns the number of members of a sorted set.",
        zcard,
    ),
    command(
        "zcount",
        4,
        "readonly fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.0.0",
        "Counts the members whose score lies in a range.",
        zcount,
    ),
    command(
        "zlexcount",
        4,
        "readonly fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.8.9",
        "Counts the members in a lexicographical range.",
        zlexcount,
    ),
    command(
        "zrange",
        -4,
        "readonly",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "1.2.0",
        "Returns members by rank, score or lexicographical range, in either direction.",
        zrange,
    ),
    command(
        "zrangestore",
        -5,
        "write denyoom",
        "@sortedset",
        (1, 2, 1),
        "sorted_set",
        "6.2.0",
        "Stores a range of a sorted set (as ZRANGE selects it) under another key.",
        zrangestore,
    ),
    command(
        "zrevrange",
        -4,
        "readonly",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "1.2.0",
        "Returns members by rank, highest score first.",
        zrevrange,
    ),
    command(
        "zrangebyscore",
        -4,
        "readonly",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "1.0.5",
        "Returns the members whose score lies in a range.",
        zrangebyscore,
    ),
    command(
        "zrevrangebyscore",
        -4,
        "readonly",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.2.0",
        "Returns the members whose score lies in a range, highest first.",
        zrevrangebyscore,
    ),
    command(
        "zrangebylex",
        -4,
        "readonly",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.8.9",
        "Returns the members in a lexicographical range.",
        zrangebylex,
    ),
    command(
        "zrevrangebylex",
        -4,
        "readonly",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.8.9",
        "Returns the members in a lexicographical range, in reverse order.",
        zrevrangebylex,
    ),
    // Arity -3 as in 7.2, which added WITHSCORE (7.0 declares 3).
    command(
        "zrank",
        -3,
        "readonly fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.0.0",
        "Returns the rank of a member, lowest score first, optionally with its score.",
        zrank,
    ),
    command(
        "zrevrank",
        -3,
        "readonly fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.0.0",
        "Returns the rank of a member, highest score first, optionally with its score.",
        zrevrank,
    ),
    command(
        "zremrangebyscore",
        4,
        "write",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "1.2.0",
        "Removes the members whose score lies in a range.",
        zremrangebyscore,
    ),
    command(
        "zremrangebyrank",
        4,
        "write",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.0.0",
        "Removes the members within a range of ranks.",
        zremrangebyrank,
    ),
    command(
        "zremrangebylex",
        4,
        "write",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.8.9",
        "Removes the members in a lexicographical range.",
        zremrangebylex,
    ),
    command(
        "zpopmin",
        -2,
        "write fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "5.0.0",
        "Removes and returns the members with the lowest scores.",
        zpopmin,
    ),
    command(
        "zpopmax",
        -2,
        "write fast",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "5.0.0",
        "Removes and returns the members with the highest scores.",
        zpopmax,
    ),
    command(
        "zmpop",
        -4,
        "write",
        "@sortedset",
        (0, 0, 0),
        "sorted_set",
        "7.0.0",
        "Pops members with the lowest or highest scores from the first non-empty sorted set.",
        zmpop,
    )
    .movable_keys(numkeys_at_1),
    command(
        "bzpopmin",
        -3,
        "write noscript blocking fast",
        "@sortedset",
        (1, -2, 1),
        "sorted_set",
        "5.0.0",
        "Pops the member with the lowest score from the first non-empty sorted set, waiting for one.",
        bzpopmin,
    ),
    command(
        "bzpopmax",
        -3,
        "write noscript blocking fast",
        "@sortedset",
        (1, -2, 1),
        "sorted_set",
        "5.0.0",
        "Pops the member with the highest score from the first non-empty sorted set, waiting for one.",
        bzpopmax,
    ),
    command(
        "bzmpop",
        -5,
        "write blocking",
        "@sortedset",
        (0, 0, 0),
        "sorted_set",
        "7.0.0",
        "ZMPOP that waits for a sorted set to have members.",
        bzmpop,
    )
    .movable_keys(numkeys_at_2),
    command(
        "zrandmember",
        -2,
        "readonly",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "6.2.0",
        "Returns random members, distinct for a positive count, repeating for a negative one.",
        zrandmember,
    ),
    command(
        "zunion",
        -3,
        "readonly",
        "@sortedset",
        (0, 0, 0),
        "sorted_set",
        "6.2.0",
        "Returns the union of sorted sets, with weights and an aggregate.",
        zunion,
    )
    .movable_keys(numkeys_at_1),
    command(
        "zinter",
        -3,
        "readonly",
        "@sortedset",
        (0, 0, 0),
        "sorted_set",
        "6.2.0",
        "Returns the intersection of sorted sets, with weights and an aggregate.",
        zinter,
    )
    .movable_keys(numkeys_at_1),
    command(
        "zdiff",
        -3,
        "readonly",
        "@sortedset",
        (0, 0, 0),
        "sorted_set",
        "6.2.0",
        "Returns the members of the first sorted set that are in none of the others.",
        zdiff,
    )
    .movable_keys(numkeys_at_1),
    command(
        "zunionstore",
        -4,
        "write denyoom",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.0.0",
        "Stores the union of sorted sets under a key.",
        zunionstore,
    )
    .movable_keys(store_and_numkeys_at_2),
    command(
        "zinterstore",
        -4,
        "write denyoom",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.0.0",
        "Stores the intersection of sorted sets under a key.",
        zinterstore,
    )
    .movable_keys(store_and_numkeys_at_2),
    command(
        "zdiffstore",
        -4,
        "write denyoom",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "6.2.0",
        "Stores the difference of sorted sets under a key.",
        zdiffstore,
    )
    .movable_keys(store_and_numkeys_at_2),
    command(
        "zintercard",
        -3,
        "readonly",
        "@sortedset",
        (0, 0, 0),
        "sorted_set",
        "7.0.0",
        "Counts the members of the intersection of sorted sets, stopping at a limit.",
        zintercard,
    )
    .movable_keys(numkeys_at_1),
    command(
        "zscan",
        -3,
        "readonly",
        "@sortedset",
        (1, 1, 1),
        "sorted_set",
        "2.8.0",
        "Iterates over the members and scores of a sorted set.",
        zscan,
    ),
];

// ---------------------------------------------------------------------------------------------
// Key finders: the key count is read like Redis's atoi, and no keys are given when the command
// would fail for it.

fn atoi(s: &[u8]) -> i64 {
    let start = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let s = &s[start..];
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

fn numkeys_keys(args: Args<'_>, store: Option<usize>, count_at: usize) -> Vec<usize> {
    let first = count_at + 1;
    if args.len() <= count_at {
        return Vec::new();
    }
    let num = atoi(args.get(count_at));
    if num < 1 || num > args.len().saturating_sub(first) as i64 {
        return Vec::new();
    }
    // COMMAND GETKEYS lists the destination first, as Redis 7's key specs do.
    store
        .into_iter()
        .chain(first..first + num as usize)
        .collect()
}

fn numkeys_at_1(args: Args<'_>) -> Vec<usize> {
    numkeys_keys(args, None, 1)
}

fn numkeys_at_2(args: Args<'_>) -> Vec<usize> {
    numkeys_keys(args, None, 2)
}

fn store_and_numkeys_at_2(args: Args<'_>) -> Vec<usize> {
    numkeys_keys(args, Some(1), 2)
}

// ---------------------------------------------------------------------------------------------
// Shared helpers.

const NAN_RESULT: &str = "ERR resulting score is not a number (NaN)";
const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

fn limits(ctx: &Ctx) -> Limits {
    let hot = &ctx.state.config.hot;
    Limits {
        entries: hot.zset_max_listpack_entries,
        value: hot.zset_max_listpack_value,
    }
}

/// The selected database and the reply buffer, borrowed together.
fn parts<'c>(ctx: &'c mut Ctx<'_>) -> (&'c mut Db, &'c mut ReplyBuf) {
    let db = &mut ctx.state.dbs[ctx.db];
    db.clock_ms = ctx.now_ms;
    (db, &mut *ctx.out)
}

/// The sorted set at `key` for reading (a keyspace hit or miss).
fn read<'d>(db: &'d mut Db, key: &[u8], now: i64) -> Result<Option<&'d ZSetValue>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The sorted set at `key` for writing.
fn write<'d>(db: &'d mut Db, key: &[u8], now: i64) -> Result<Option<&'d mut ZSetValue>, CmdError> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

fn long_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or_else(|| errors::NOT_INTEGER.into())
}

fn score_arg(arg: &[u8]) -> Result<f64, CmdError> {
    parse_score(arg).ok_or_else(|| errors::NOT_FLOAT.into())
}

/// The array header of `n` members, with their scores: flat pairs in RESP2, one array per
/// pair in RESP3.
fn pairs_header(out: &mut ReplyBuf, n: usize, withscores: bool) {
    if withscores && !out.is_resp3() {
        out.array(2 * n);
    } else {
        out.array(n);
    }
}

fn pair(out: &mut ReplyBuf, member: &[u8], score: f64, withscores: bool) {
    if withscores && out.is_resp3() {
        out.array(2);
    }
    out.bulk(member);
    if withscores {
        out.double(score);
    }
}

fn reply_items(out: &mut ReplyBuf, items: &[(Vec<u8>, f64)], withscores: bool) {
    pairs_header(out, items.len(), withscores);
    for (m, s) in items {
        pair(out, m, *s, withscores);
    }
}

/// Writes `z` under `dst` when it has members, announced as `event`, else deletes `dst`;
/// replies the count.
fn store_result(ctx: &mut Ctx, dst: &[u8], z: ZSetValue, event: &'static str) {
    let n = z.len();
    if n > 0 {
        ctx.db().set(dst, Value::ZSet(z));
        ctx.modified(dst);
        ctx.notify(notify::ZSET, event, dst);
    } else if ctx.db().remove(dst).is_some() {
        ctx.modified(dst);
        ctx.notify(notify::GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
}

/// Announces `event` on `key`, then its deletion if the set went with its last member.
fn notify_removal(ctx: &mut Ctx, event: &'static str, key: &[u8], deleted: bool) {
    ctx.notify(notify::ZSET, event, key);
    if deleted {
        ctx.notify(notify::GENERIC, "del", key);
    }
}

fn pop_event(max: bool) -> &'static str {
    if max {
        "zpopmax"
    } else {
        "zpopmin"
    }
}

/// Removes up to `count` members from the low (or high) end of the set at `key`, deleting the
/// key when it empties (then true).
fn pop(db: &mut Db, key: &[u8], max: bool, count: usize) -> (Vec<(Vec<u8>, f64)>, bool) {
    let Some(Value::ZSet(z)) = db.keys.get_mut(key).map(|e| &mut e.value) else {
        return (Vec::new(), false);
    };
    let items = z.collect(0, max, count);
    for (m, _) in &items {
        z.remove(m);
    }
    let emptied = z.is_empty();
    if emptied {
        db.remove(key);
    }
    (items, emptied)
}

/// Removes the members of ranks `lo..hi`: how many, and whether the key went with them.
fn remove_ranks(db: &mut Db, key: &[u8], lo: usize, hi: usize) -> (usize, bool) {
    let Some(Value::ZSet(z)) = db.keys.get_mut(key).map(|e| &mut e.value) else {
        return (0, false);
    };
    let items = z.collect(lo, false, hi.saturating_sub(lo));
    for (m, _) in &items {
        z.remove(m);
    }
    let emptied = z.is_empty();
    if emptied {
        db.remove(key);
    }
    (items.len(), emptied)
}

/// Redis's rank-range sanitizing: negative ranks count from the end; None when empty.
fn rank_span(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, (end - start + 1) as usize))
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM, reads.

fn zadd(ctx: &mut Ctx) -> CmdResult {
    zadd_generic(ctx, false)
}

fn zincrby(ctx: &mut Ctx) -> CmdResult {
    zadd_generic(ctx, true)
}

fn zadd_generic(ctx: &mut Ctx, zincrby: bool) -> CmdResult {
    let key = ctx.arg(1);
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, zincrby);
    // ZINCRBY goes through the same option loop as ZADD in Redis.
    let mut idx = 2;
    while idx < ctx.argc() {
        match ctx.arg(idx).to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"ch" => ch = true,
            b"incr" => incr = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => break,
        }
        idx += 1;
    }
    let rest = ctx.argc() - idx;
    if rest == 0 || !rest.is_multiple_of(2) {
        return Err(errors::SYNTAX.into());
    }
    let elements = rest / 2;
    if nx && xx {
        return Err("ERR XX and NX options at the same time are not compatible".into());
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err("ERR GT, LT, and/or NX options at the same time are not compatible".into());
    }
    if incr && elements > 1 {
        return Err("ERR INCR option supports a single increment-element pair".into());
    }
    let mut pairs = Vec::with_capacity(elements);
    for j in 0..elements {
        let score = score_arg(ctx.arg(idx + 2 * j))?;
        pairs.push((score, ctx.arg(idx + 2 * j + 1)));
    }
    let max_len = pairs.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    let lim = limits(ctx);
    let now = ctx.now_ms;
    let (db, out) = parts(ctx);
    match write(db, key, now)? {
        Some(z) => z.reserve(elements, lim),
        None if xx => {
            if incr {
                out.null();
            } else {
                out.int(0);
            }
            return Ok(());
        }
        None => db.set(
            key,
            Value::ZSet(ZSetValue::with_hint(elements, max_len, lim)),
        ),
    }
    let Some(Value::ZSet(z)) = db.keys.get_mut(key).map(|e| &mut e.value) else {
        return Err(errors::WRONGTYPE.into());
    };
    let (mut added, mut updated, mut processed) = (0, 0, 0);
    let mut last_score = 0.0;
    for (score, member) in pairs {
        match z.score(member) {
            Some(current) => {
                if nx {
                    continue;
                }
                let new = if incr { score + current } else { score };
                if new.is_nan() {
                    return Err(NAN_RESULT.into());
                }
                if (lt && new >= current) || (gt && new <= current) {
                    continue;
                }
                processed += 1;
                last_score = new;
                if new != current {
                    z.update(member, new);
                    updated += 1;
                }
            }
            None if xx => {}
            None => {
                z.insert(member, score, lim);
                added += 1;
                processed += 1;
                last_score = score;
            }
        }
    }
    if added + updated > 0 {
        ctx.modified(key);
        ctx.notify(notify::ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
    if incr {
        if processed > 0 {
            ctx.out.double(last_score);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if ch { added + updated } else { added });
    }
    Ok(())
}

fn zrem(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let args = ctx.args;
    let (db, _) = parts(ctx);
    let Some(z) = write(db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for member in args.iter().skip(2) {
        if z.remove(member).is_some() {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    let emptied = z.is_empty();
    if emptied {
        db.remove(key);
    }
    if deleted > 0 {
        ctx.modified(key);
        notify_removal(ctx, "zrem", key, emptied);
    }
    ctx.out.int(deleted);
    Ok(())
}

fn zscore(ctx: &mut Ctx) -> CmdResult {
    let (key, member, now) = (ctx.arg(1), ctx.arg(2), ctx.now_ms);
    let (db, out) = parts(ctx);
    match read(db, key, now)?.and_then(|z| z.score(member)) {
        Some(score) => out.double(score),
        None => out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx) -> CmdResult {
    let (key, now, args) = (ctx.arg(1), ctx.now_ms, ctx.args);
    let (db, out) = parts(ctx);
    let z = read(db, key, now)?;
    out.array(args.len() - 2);
    for member in args.iter().skip(2) {
        match z.and_then(|z| z.score(member)) {
            Some(score) => out.double(score),
            None => out.null(),
        }
    }
    Ok(())
}

fn zcard(ctx: &mut Ctx) -> CmdResult {
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, out) = parts(ctx);
    let n = read(db, key, now)?.map_or(0, ZSetValue::len);
    out.int(n as i64);
    Ok(())
}

fn zcount(ctx: &mut Ctx) -> CmdResult {
    let min = parse_score_bound(ctx.arg(2)).ok_or(NOT_FLOAT_RANGE)?;
    let max = parse_score_bound(ctx.arg(3)).ok_or(NOT_FLOAT_RANGE)?;
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, out) = parts(ctx);
    let n = read(db, key, now)?.map_or(0, |z| {
        let (lo, hi) = score_range(z, min, max);
        hi - lo
    });
    out.int(n as i64);
    Ok(())
}

fn zlexcount(ctx: &mut Ctx) -> CmdResult {
    let min = parse_lex_bound(ctx.arg(2)).ok_or(NOT_LEX_RANGE)?;
    let max = parse_lex_bound(ctx.arg(3)).ok_or(NOT_LEX_RANGE)?;
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, out) = parts(ctx);
    let n = read(db, key, now)?.map_or(0, |z| {
        let (lo, hi) = lex_range(z, &min, &max);
        hi - lo
    });
    out.int(n as i64);
    Ok(())
}

fn zrank(ctx: &mut Ctx) -> CmdResult {
    zrank_generic(ctx, false)
}

fn zrevrank(ctx: &mut Ctx) -> CmdResult {
    zrank_generic(ctx, true)
}

fn zrank_generic(ctx: &mut Ctx, rev: bool) -> CmdResult {
    if ctx.argc() > 4 {
        let name = String::from_utf8_lossy(ctx.arg(0)).to_ascii_lowercase();
        return Err(format!("ERR wrong number of arguments for '{name}' command").into());
    }
    let withscore = ctx.argc() == 4;
    if withscore && !ctx.arg_is(3, "withscore") {
        return Err(errors::SYNTAX.into());
    }
    let (key, member, now) = (ctx.arg(1), ctx.arg(2), ctx.now_ms);
    let (db, out) = parts(ctx);
    let found = read(db, key, now)?.and_then(|z| {
        z.rank(member)
            .map(|(r, s)| (if rev { z.len() - 1 - r } else { r }, s))
    });
    match found {
        Some((rank, score)) => {
            if withscore {
                out.array(2);
                out.int(rank as i64);
                out.double(score);
            } else {
                out.int(rank as i64);
            }
        }
        None if withscore => out.null_array(),
        None => out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZRANGE and its older forms.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Auto,
    Rank,
    Score,
    Lex,
}

fn zrange(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, None, RangeKind::Auto, None)
}

fn zrangestore(ctx: &mut Ctx) -> CmdResult {
    let dst = ctx.arg(1);
    zrange_generic(ctx, 2, Some(dst), RangeKind::Auto, None)
}

fn zrevrange(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, None, RangeKind::Rank, Some(true))
}

fn zrangebyscore(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, None, RangeKind::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, None, RangeKind::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, None, RangeKind::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, None, RangeKind::Lex, Some(true))
}

/// The parsed range of a ZRANGE-like command.
enum Range {
    Rank(i64, i64),
    Score(
        crate::store::zset::ScoreBound,
        crate::store::zset::ScoreBound,
    ),
    Lex(crate::store::zset::LexBound, crate::store::zset::LexBound),
}

/// The first rank (in the walk's direction) and the count a range selects.
fn select(
    z: &ZSetValue,
    range: &Range,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Option<(usize, usize)> {
    let len = z.len();
    let (lo, hi) = match range {
        Range::Rank(start, end) => return rank_span(*start, *end, len),
        Range::Score(min, max) => {
            if offset > 0 && offset as usize >= len {
                return None;
            }
            score_range(z, *min, *max)
        }
        Range::Lex(min, max) => lex_range(z, min, max),
    };
    // A negative offset skips everything in Redis's loop.
    if offset < 0 {
        return None;
    }
    let offset = offset as usize;
    let available = (hi - lo).saturating_sub(offset);
    let count = if limit < 0 {
        available
    } else {
        available.min(limit as usize)
    };
    let first = if rev { len - hi } else { lo };
    Some((first + offset, count))
}

fn zrange_generic(
    ctx: &mut Ctx,
    src_at: usize,
    store: Option<&[u8]>,
    mut kind: RangeKind,
    mut rev: Option<bool>,
) -> CmdResult {
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = src_at + 3;
    while j < ctx.argc() {
        let left = ctx.argc() - j - 1;
        if store.is_none() && ctx.arg_is(j, "withscores") {
            withscores = true;
        } else if ctx.arg_is(j, "limit") && left >= 2 {
            offset = long_arg(ctx.arg(j + 1))?;
            limit = long_arg(ctx.arg(j + 2))?;
            j += 2;
        } else if rev.is_none() && ctx.arg_is(j, "rev") {
            rev = Some(true);
        } else if kind == RangeKind::Auto && ctx.arg_is(j, "bylex") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Auto && ctx.arg_is(j, "byscore") {
            kind = RangeKind::Score;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == RangeKind::Auto {
        kind = RangeKind::Rank;
    }
    if limit != -1 && kind == RangeKind::Rank {
        return Err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
                .into(),
        );
    }
    if withscores && kind == RangeKind::Lex {
        return Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX".into());
    }
    let (mut min_at, mut max_at) = (src_at + 1, src_at + 2);
    if rev && kind != RangeKind::Rank {
        std::mem::swap(&mut min_at, &mut max_at);
    }
    let range = match kind {
        RangeKind::Score => Range::Score(
            parse_score_bound(ctx.arg(min_at)).ok_or(NOT_FLOAT_RANGE)?,
            parse_score_bound(ctx.arg(max_at)).ok_or(NOT_FLOAT_RANGE)?,
        ),
        RangeKind::Lex => Range::Lex(
            parse_lex_bound(ctx.arg(min_at)).ok_or(NOT_LEX_RANGE)?,
            parse_lex_bound(ctx.arg(max_at)).ok_or(NOT_LEX_RANGE)?,
        ),
        _ => Range::Rank(long_arg(ctx.arg(min_at))?, long_arg(ctx.arg(max_at))?),
    };
    let (key, now) = (ctx.arg(src_at), ctx.now_ms);
    let lim = limits(ctx);
    let (db, out) = parts(ctx);
    let z = read(db, key, now)?;
    let selected = z.and_then(|z| select(z, &range, rev, offset, limit).map(|s| (z, s)));
    match store {
        None => match selected {
            None => out.array(0),
            Some((z, (first, count))) => {
                pairs_header(out, count, withscores);
                let mut left = count;
                if left > 0 {
                    z.walk(first, rev, |m, s| {
                        pair(out, m, s, withscores);
                        left -= 1;
                        left > 0
                    });
                }
            }
        },
        Some(dst) => {
            let items =
                selected.map_or_else(Vec::new, |(z, (first, count))| z.collect(first, rev, count));
            let result = ZSetValue::from_items(items.iter().map(|(m, s)| (m.as_slice(), *s)), lim);
            store_result(ctx, dst, result, "zrangestore");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBY*

fn zremrangebyrank(ctx: &mut Ctx) -> CmdResult {
    let range = Range::Rank(long_arg(ctx.arg(2))?, long_arg(ctx.arg(3))?);
    zremrange_generic(ctx, range)
}

fn zremrangebyscore(ctx: &mut Ctx) -> CmdResult {
    let range = Range::Score(
        parse_score_bound(ctx.arg(2)).ok_or(NOT_FLOAT_RANGE)?,
        parse_score_bound(ctx.arg(3)).ok_or(NOT_FLOAT_RANGE)?,
    );
    zremrange_generic(ctx, range)
}

fn zremrangebylex(ctx: &mut Ctx) -> CmdResult {
    let range = Range::Lex(
        parse_lex_bound(ctx.arg(2)).ok_or(NOT_LEX_RANGE)?,
        parse_lex_bound(ctx.arg(3)).ok_or(NOT_LEX_RANGE)?,
    );
    zremrange_generic(ctx, range)
}

fn zremrange_generic(ctx: &mut Ctx, range: Range) -> CmdResult {
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, _) = parts(ctx);
    let Some(z) = write(db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let event = match range {
        Range::Rank(..) => "zremrangebyrank",
        Range::Score(..) => "zremrangebyscore",
        Range::Lex(..) => "zremrangebylex",
    };
    let span = select(z, &range, false, 0, -1);
    let (deleted, emptied) = span.map_or((0, false), |(first, count)| {
        remove_ranks(db, key, first, first + count)
    });
    if deleted > 0 {
        ctx.modified(key);
        notify_removal(ctx, event, key, emptied);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pops.

fn zpopmin(ctx: &mut Ctx) -> CmdResult {
    zpop_generic(ctx, false)
}

fn zpopmax(ctx: &mut Ctx) -> CmdResult {
    zpop_generic(ctx, true)
}

fn zpop_generic(ctx: &mut Ctx, max: bool) -> CmdResult {
    if ctx.argc() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let count = if ctx.argc() == 3 {
        match parse_i64(ctx.arg(2)) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(NOT_POSITIVE.into()),
        }
    } else {
        None
    };
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, _) = parts(ctx);
    if write(db, key, now)?.is_none() || count == Some(0) {
        ctx.out.array(0);
        return Ok(());
    }
    let (items, emptied) = pop(db, key, max, count.unwrap_or(1));
    ctx.modified(key);
    notify_removal(ctx, pop_event(max), key, emptied);
    // RESP3 nests each pair only when a count was given.
    let nested = ctx.out.is_resp3() && count.is_some();
    if nested {
        ctx.out.array(items.len());
    } else {
        ctx.out.array(2 * items.len());
    }
    for (m, s) in &items {
        if nested {
            ctx.out.array(2);
        }
        ctx.out.bulk(m);
        ctx.out.double(*s);
    }
    Ok(())
}

/// ZMPOP/BZMPOP's arguments after the key count: the keys, MIN|MAX and COUNT.
struct MpopArgs<'a> {
    keys: Vec<&'a [u8]>,
    max: bool,
    count: usize,
}

fn parse_mpop<'a>(ctx: &Ctx<'a>, numkeys_at: usize) -> Result<MpopArgs<'a>, CmdError> {
    const NUMKEYS: &str = "ERR numkeys should be greater than 0";
    const COUNT: &str = "ERR count should be greater than 0";
    let numkeys = parse_i64(ctx.arg(numkeys_at)).ok_or(NUMKEYS)?;
    if numkeys < 1 {
        return Err(NUMKEYS.into());
    }
    let where_at = numkeys_at as u64 + numkeys as u64 + 1;
    if where_at >= ctx.argc() as u64 {
        return Err(errors::SYNTAX.into());
    }
    let where_at = where_at as usize;
    let max = if ctx.arg_is(where_at, "min") {
        false
    } else if ctx.arg_is(where_at, "max") {
        true
    } else {
        return Err(errors::SYNTAX.into());
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < ctx.argc() {
        if count.is_none() && ctx.arg_is(j, "count") && j + 1 < ctx.argc() {
            j += 1;
            let n = parse_i64(ctx.arg(j)).ok_or(COUNT)?;
            if n < 1 {
                return Err(COUNT.into());
            }
            count = Some(n as usize);
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    let keys = (numkeys_at + 1..where_at).map(|i| ctx.arg(i)).collect();
    Ok(MpopArgs {
        keys,
        max,
        count: count.unwrap_or(1),
    })
}

/// Pops from the first of `keys` holding a sorted set and replies `[key, [[member, score]...]]`;
/// false (nothing written) when none holds one.
fn mpop_serve(ctx: &mut Ctx, keys: &[&[u8]], max: bool, count: usize) -> Result<bool, CmdError> {
    let now = ctx.now_ms;
    let (db, _) = parts(ctx);
    let mut found = None;
    for key in keys {
        if let Some(z) = write(db, key, now)? {
            if !z.is_empty() {
                found = Some(*key);
                break;
            }
        }
    }
    let Some(key) = found else {
        return Ok(false);
    };
    let (items, emptied) = pop(db, key, max, count);
    ctx.modified(key);
    notify_removal(ctx, pop_event(max), key, emptied);
    // Logged as `ZPOPMIN key count` (or MAX), as Redis logs ZMPOP and BZMPOP.
    if ctx.state.logs_writes() {
        ctx.propagate(vec![
            zpop_command(max).to_vec(),
            key.to_vec(),
            items.len().to_string().into_bytes(),
        ]);
    }
    ctx.out.array(2);
    ctx.out.bulk(key);
    ctx.out.array(items.len());
    for (m, s) in &items {
        ctx.out.array(2);
        ctx.out.bulk(m);
        ctx.out.double(*s);
    }
    Ok(true)
}

fn zmpop(ctx: &mut Ctx) -> CmdResult {
    let args = parse_mpop(ctx, 1)?;
    if !mpop_serve(ctx, &args.keys, args.max, args.count)? {
        ctx.out.null_array();
    }
    Ok(())
}

fn bzmpop(ctx: &mut Ctx) -> CmdResult {
    let args = parse_mpop(ctx, 2)?;
    let deadline = parse_block_timeout(ctx.arg(1), ctx.now_ms)?;
    if mpop_serve(ctx, &args.keys, args.max, args.count)? {
        return Ok(());
    }
    block_or_null(ctx, &args.keys, deadline);
    Ok(())
}

fn block_or_null(ctx: &mut Ctx, keys: &[&[u8]], deadline_ms: Option<i64>) {
    if ctx.may_block() {
        ctx.block_on(BlockRequest {
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            deadline_ms,
            waits_for: "zset",
            rewritten_args: None,
            on_missing_key: None,
        });
    } else {
        ctx.out.null_array();
    }
}

/// The plain pop command for the end, as the AOF logs blocking and multi-key pops.
fn zpop_command(max: bool) -> &'static [u8] {
    if max {
        b"ZPOPMAX"
    } else {
        b"ZPOPMIN"
    }
}

fn bzpopmin(ctx: &mut Ctx) -> CmdResult {
    bzpop_generic(ctx, false)
}

fn bzpopmax(ctx: &mut Ctx) -> CmdResult {
    bzpop_generic(ctx, true)
}

fn bzpop_generic(ctx: &mut Ctx, max: bool) -> CmdResult {
    let last = ctx.argc() - 1;
    let deadline = parse_block_timeout(ctx.arg(last), ctx.now_ms)?;
    let keys: Vec<&[u8]> = (1..last).map(|i| ctx.arg(i)).collect();
    let now = ctx.now_ms;
    let (db, _) = parts(ctx);
    let mut found = None;
    for key in &keys {
        if let Some(z) = write(db, key, now)? {
            if !z.is_empty() {
                found = Some(*key);
                break;
            }
        }
    }
    let Some(key) = found else {
        block_or_null(ctx, &keys, deadline);
        return Ok(());
    };
    let (items, emptied) = pop(db, key, max, 1);
    ctx.modified(key);
    notify_removal(ctx, pop_event(max), key, emptied);
    // Logged as the plain pop it amounted to, as Redis logs BZPOPMIN/BZPOPMAX.
    if ctx.state.logs_writes() {
        ctx.propagate(vec![zpop_command(max).to_vec(), key.to_vec()]);
    }
    ctx.out.array(1 + 2 * items.len());
    ctx.out.bulk(key);
    for (m, s) in &items {
        ctx.out.bulk(m);
        ctx.out.double(*s);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER

/// A reply larger than this is not worth building: Redis would exhaust its memory on it.
const MAX_RANDOM_REPLY_BYTES: usize = 1 << 30;

fn zrandmember(ctx: &mut Ctx) -> CmdResult {
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    if ctx.argc() == 2 {
        let (db, out) = parts(ctx);
        match read(db, key, now)?.and_then(|z| z.random(&mut rand::thread_rng())) {
            Some((m, _)) => out.bulk(&m),
            None => out.null(),
        }
        return Ok(());
    }
    let l = long_arg(ctx.arg(2))?;
    if l == i64::MIN {
        return Err(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
                .into(),
        );
    }
    if ctx.argc() > 4 || (ctx.argc() == 4 && !ctx.arg_is(3, "withscores")) {
        return Err(errors::SYNTAX.into());
    }
    let withscores = ctx.argc() == 4;
    if withscores && l < -(i64::MAX / 2) {
        return Err("ERR value is out of range".into());
    }
    let (db, out) = parts(ctx);
    let Some(z) = read(db, key, now)? else {
        out.array(0);
        return Ok(());
    };
    let count = l.unsigned_abs() as usize;
    let size = z.len();
    let mut rng = rand::thread_rng();
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    if l < 0 || count == 1 {
        pairs_header(out, count, withscores);
        let start = out.len();
        let mut overflow = false;
        for _ in 0..count {
            if let Some((m, s)) = z.random(&mut rng) {
                pair(out, &m, s, withscores);
            }
            if out.len() - start > MAX_RANDOM_REPLY_BYTES {
                overflow = true;
                break;
            }
        }
        // The reply cannot be completed: the connection is closed after what was written.
        if overflow {
            ctx.client().close_asap = true;
        }
        return Ok(());
    }
    if count >= size {
        // Redis walks the whole set from its highest member down.
        pairs_header(out, size, withscores);
        z.walk(0, true, |m, s| {
            pair(out, m, s, withscores);
            true
        });
        return Ok(());
    }
    let picked = sample(&mut rng, size, count);
    pairs_header(out, count, withscores);
    for rank in picked.iter() {
        if let Some((m, s)) = z.collect(rank, false, 1).pop() {
            pair(out, &m, s, withscores);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            // inf + -inf: Redis keeps 0 rather than NaN.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if value < *target {
                *target = value;
            }
        }
        Aggregate::Max => {
            if value > *target {
                *target = value;
            }
        }
    }
}

fn zunion(ctx: &mut Ctx) -> CmdResult {
    setop_generic(ctx, None, 1, SetOp::Union, false)
}

fn zinter(ctx: &mut Ctx) -> CmdResult {
    setop_generic(ctx, None, 1, SetOp::Inter, false)
}

fn zdiff(ctx: &mut Ctx) -> CmdResult {
    setop_generic(ctx, None, 1, SetOp::Diff, false)
}

fn zunionstore(ctx: &mut Ctx) -> CmdResult {
    let dst = ctx.arg(1);
    setop_generic(ctx, Some(dst), 2, SetOp::Union, false)
}

fn zinterstore(ctx: &mut Ctx) -> CmdResult {
    let dst = ctx.arg(1);
    setop_generic(ctx, Some(dst), 2, SetOp::Inter, false)
}

fn zdiffstore(ctx: &mut Ctx) -> CmdResult {
    let dst = ctx.arg(1);
    setop_generic(ctx, Some(dst), 2, SetOp::Diff, false)
}

fn zintercard(ctx: &mut Ctx) -> CmdResult {
    setop_generic(ctx, None, 1, SetOp::Inter, true)
}

/// What a set operation reads from a key: a sorted set, or a plain set whose members all
/// score 1 (as Redis's set operations take them), or nothing for a missing key.
#[derive(Clone, Copy)]
enum Members<'a> {
    Missing,
    Sorted(&'a ZSetValue),
    Plain(&'a SetValue),
}

/// One input of a set operation and its weight.
struct Source<'a> {
    set: Members<'a>,
    weight: f64,
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self.set {
            Members::Missing => 0,
            Members::Sorted(z) => z.len(),
            Members::Plain(s) => s.len(),
        }
    }

    fn is_missing(&self) -> bool {
        matches!(self.set, Members::Missing)
    }

    fn find(&self, member: &[u8]) -> Option<f64> {
        match self.set {
            Members::Missing => None,
            Members::Sorted(z) => z.score(member),
            Members::Plain(s) => s.contains(member).then_some(1.0),
        }
    }

    fn same(&self, other: &Source) -> bool {
        match (self.set, other.set) {
            (Members::Sorted(a), Members::Sorted(b)) => std::ptr::eq(a, b),
            (Members::Plain(a), Members::Plain(b)) => std::ptr::eq(a, b),
            _ => false,
        }
    }

    /// Calls `f` with every member and its (unweighted) score until it returns false; sorted
    /// sets in score order, ascending unless `rev`.
    fn walk(&self, rev: bool, mut f: impl FnMut(&[u8], f64) -> bool) {
        match self.set {
            Members::Missing => {}
            Members::Sorted(z) => z.walk(0, rev, f),
            Members::Plain(s) => {
                for member in s.iter() {
                    if !member.with_bytes(|m| f(m, 1.0)) {
                        break;
                    }
                }
            }
        }
    }
}

fn setop_generic(
    ctx: &mut Ctx,
    dst: Option<&[u8]>,
    numkeys_at: usize,
    op: SetOp,
    card_only: bool,
) -> CmdResult {
    let numkeys = long_arg(ctx.arg(numkeys_at))?;
    if numkeys < 1 {
        let name = String::from_utf8_lossy(ctx.arg(0)).to_ascii_lowercase();
        return Err(format!("ERR at least 1 input key is needed for '{name}' command").into());
    }
    let first = numkeys_at + 1;
    if numkeys as u64 > (ctx.argc() - first) as u64 {
        return Err(errors::SYNTAX.into());
    }
    let numkeys = numkeys as usize;
    let keys: Vec<&[u8]> = (first..first + numkeys).map(|i| ctx.arg(i)).collect();
    let now = ctx.now_ms;
    {
        // Sorted sets and plain sets may be combined; any other type is an error.
        let (db, _) = parts(ctx);
        for key in &keys {
            if let Some(value) = db.get(key, now) {
                if !matches!(value, Value::ZSet(_) | Value::Set(_)) {
                    return Err(errors::WRONGTYPE.into());
                }
            }
        }
    }
    let mut weights = vec![1.0; numkeys];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first + numkeys;
    while j < ctx.argc() {
        let remaining = ctx.argc() - j;
        let weighted = op != SetOp::Diff && !card_only;
        if weighted && remaining > numkeys && ctx.arg_is(j, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = parse_score(ctx.arg(j)).ok_or("ERR weight value is not a float")?;
                j += 1;
            }
        } else if weighted && remaining >= 2 && ctx.arg_is(j, "aggregate") {
            how = match ctx.arg(j + 1).to_ascii_lowercase().as_slice() {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => return Err(errors::SYNTAX.into()),
            };
            j += 2;
        } else if dst.is_none() && !card_only && ctx.arg_is(j, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && ctx.arg_is(j, "limit") {
            limit = match parse_i64(ctx.arg(j + 1)) {
                Some(n) if n >= 0 => n as usize,
                _ => return Err("ERR LIMIT can't be negative".into()),
            };
            j += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }

    let lim = limits(ctx);
    let (db, out) = parts(ctx);
    let db: &Db = db;
    let mut sources: Vec<Source> = keys
        .iter()
        .zip(&weights)
        .map(|(key, &weight)| Source {
            set: match db.keys.get(key).map(|e| &e.value) {
                Some(Value::ZSet(z)) => Members::Sorted(z),
                Some(Value::Set(s)) => Members::Plain(s),
                _ => Members::Missing,
            },
            weight,
        })
        .collect();
    if op != SetOp::Diff {
        sources.sort_by_key(Source::len);
    }
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut cardinality = 0usize;
    match op {
        SetOp::Inter => {
            if !sources[0].is_missing() {
                let base = &sources[0];
                base.walk(true, |m, s| {
                    let mut score = base.weight * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for other in &sources[1..] {
                        let value = if other.same(base) {
                            Some(s)
                        } else {
                            other.find(m)
                        };
                        match value {
                            Some(v) => aggregate(&mut score, v * other.weight, how),
                            None => return true,
                        }
                    }
                    if card_only {
                        cardinality += 1;
                        if limit > 0 && cardinality >= limit {
                            return false;
                        }
                    } else {
                        result.push((m.to_vec(), score));
                    }
                    true
                });
            }
        }
        SetOp::Union => {
            let mut acc: std::collections::HashMap<Vec<u8>, f64> = Default::default();
            for src in &sources {
                src.walk(true, |m, s| {
                    let mut score = src.weight * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(total) => aggregate(total, score, how),
                        None => {
                            acc.insert(m.to_vec(), score);
                        }
                    }
                    true
                });
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            if !sources[0].is_missing() {
                let base = &sources[0];
                if !sources[1..].iter().any(|o| o.same(base)) {
                    base.walk(false, |m, s| {
                        if sources[1..].iter().all(|o| o.find(m).is_none()) {
                            result.push((m.to_vec(), s));
                        }
                        true
                    });
                }
            }
        }
    }
    if card_only {
        out.int(cardinality as i64);
        return Ok(());
    }
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    match dst {
        None => reply_items(out, &result, withscores),
        Some(dst) => {
            let z = ZSetValue::from_items(result.iter().map(|(m, s)| (m.as_slice(), *s)), lim);
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_result(ctx, dst, z, event);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZSCAN

fn zscan(ctx: &mut Ctx) -> CmdResult {
    let cursor = parse_cursor(ctx.arg(2)).ok_or("ERR invalid cursor")?;
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    {
        let (db, out) = parts(ctx);
        if read(db, key, now)?.is_none() {
            out.array(2);
            out.bulk(b"0");
            out.array(0);
            return Ok(());
        }
    }
    let mut count = 10i64;
    let mut pattern: Option<&[u8]> = None;
    let mut j = 3;
    while j < ctx.argc() {
        let left = ctx.argc() - j;
        if ctx.arg_is(j, "count") && left >= 2 {
            count = long_arg(ctx.arg(j + 1))?;
            if count < 1 {
                return Err(errors::SYNTAX.into());
            }
        } else if ctx.arg_is(j, "match") && left >= 2 {
            let p = ctx.arg(j + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 2;
    }
    let (db, out) = parts(ctx);
    let db: &Db = db;
    let Some(Value::ZSet(z)) = db.keys.get(key).map(|e| &e.value) else {
        return Err(errors::WRONGTYPE.into());
    };
    let mut batch: Vec<(Vec<u8>, f64)> = Vec::new();
    let next = z.scan(cursor, count as usize, |m, s| {
        if pattern.is_none_or(|p| glob::matches(p, m, false)) {
            batch.push((m.to_vec(), s));
        }
    });
    out.array(2);
    out.bulk_int(next as i64);
    out.array(2 * batch.len());
    for (m, s) in &batch {
        out.bulk(m);
        out.bulk(crate::protocol::format::format_double(*s).as_bytes());
    }
    Ok(())
}
