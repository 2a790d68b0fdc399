//! The list family, blocking pops included.

use super::table::{command, CommandDef};
use super::{errors, parse_block_timeout, BlockRequest, CmdError, CmdResult, Ctx, TimeoutReply};
use crate::notify;
use crate::protocol::request::parse_i64;
use crate::protocol::{Args, ReplyBuf};
use crate::store::list::{Elem, End, ListValue};
use crate::store::{Db, Value};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "lpush",
        -3,
        "write denyoom fast",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Puts elements at the head of a list, creating it if needed.",
        lpush,
    ),
    command(
        "rpush",
        -3,
        "write denyoom fast",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Puts elements at the tail of a list, creating it if needed.",
        rpush,
    ),
    command(
        "lpushx",
        -3,
        "write denyoom fast",
        "@list",
        (1, 1, 1),
        "list",
        "2.2.0",
        "Puts elements at the head of a list only if the list exists.",
        lpushx,
    ),
    command(
        "rpushx",
        -3,
        "write denyoom fast",
        "@list",
        (1, 1, 1),
        "list",
        "2.2.0",
        "Puts elements at the tail of a list only if the list exists.",
        rpushx,
    ),
    command(
        "lpop",
        -2,
        "write fast",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Takes one or more elements off the head of a list.",
        lpop,
    ),
    command(
        "rpop",
        -2,
        "write fast",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Takes one or more elements off the tail of a list.",
        rpop,
    ),
    command(
        "lrange",
        4,
        "readonly",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Returns the elements between two indexes of a list.",
        lrange,
    ),
    command(
        "llen",
        2,
        "readonly fast",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Returns the number of elements of a list.",
        llen,
    ),
    command(
        "lindex",
        3,
        "readonly",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Returns the element at an index of a list.",
        lindex,
    ),
    command(
        "lset",
        4,
        "write denyoom",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Replaces the element at an index of a list.",
        lset,
    ),
    command(
        "linsert",
        5,
        "write denyoom",
        "@list",
        (1, 1, 1),
        "list",
        "2.2.0",
        "Inserts an element before or after the first occurrence of another.",
        linsert,
    ),
    command(
        "lrem",
        4,
        "write",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Removes occurrences of an element from a list.",
        lrem,
    ),
    command(
        "ltrim",
        4,
        "write",
        "@list",
        (1, 1, 1),
        "list",
        "1.0.0",
        "Keeps only the elements between two indexes of a list.",
        ltrim,
    ),
    command(
        "lpos",
        -3,
        "readonly",
        "@list",
        (1, 1, 1),
        "list",
        "6.0.6",
        "Returns the indexes of the elements equal to a value.",
        lpos,
    ),
    command(
        "rpoplpush",
        3,
        "write denyoom",
        "@list",
        (1, 2, 1),
        "list",
        "1.2.0",
        "Moves the last element of a list to the head of another and returns it.",
        rpoplpush,
    ),
    command(
        "lmove",
        5,
        "write denyoom",
        "@list",
        (1, 2, 1),
        "list",
        "6.2.0",
        "Moves an element from either end of a list to either end of another and returns it.",
        lmove,
    ),
    command(
        "lmpop",
        -4,
        "write",
        "@list",
        (0, 0, 0),
        "list",
        "7.0.0",
        "Takes elements off one end of the first non-empty list among several keys.",
        lmpop,
    )
    .movable_keys(lmpop_keys),
    command(
        "blpop",
        -3,
        "write noscript blocking",
        "@list",
        (1, -2, 1),
        "list",
        "2.0.0",
        "Takes the head element of the first non-empty list, waiting for one if none is.",
        blpop,
    ),
    command(
        "brpop",
        -3,
        "write noscript blocking",
        "@list",
        (1, -2, 1),
        "list",
        "2.0.0",
        "Takes the tail element of the first non-empty list, waiting for one if none is.",
        brpop,
    ),
    command(
        "brpoplpush",
        4,
        "write denyoom noscript blocking",
        "@list",
        (1, 2, 1),
        "list",
        "2.2.0",
        "Moves the last element of a list to the head of another, waiting for one if needed.",
        brpoplpush,
    ),
    command(
        "blmove",
        6,
        "write denyoom noscript blocking",
        "@list",
        (1, 2, 1),
        "list",
        "6.2.0",
        "Moves an element between the ends of two lists, waiting for one if needed.",
        blmove,
    ),
    command(
        "blmpop",
        -5,
        "write blocking",
        "@list",
        (0, 0, 0),
        "list",
        "7.0.0",
        "Takes elements off the first non-empty list among several keys, waiting if none is.",
        blmpop,
    )
    .movable_keys(blmpop_keys),
];

/// The keys of LMPOP: `numkeys` at 1, the keys from 2.
fn lmpop_keys(args: Args<'_>) -> Vec<usize> {
    counted_keys(args, 1, 2)
}

/// The keys of BLMPOP: the timeout first, `numkeys` at 2, the keys from 3.
fn blmpop_keys(args: Args<'_>) -> Vec<usize> {
    counted_keys(args, 2, 3)
}

/// Redis's genericGetKeys: the count is read leniently (C's atoi), and a count that does not
/// fit the arguments yields no keys at all.
pub fn counted_keys(args: Args<'_>, count_at: usize, first: usize) -> Vec<usize> {
    let Some(count) = args.iter().nth(count_at).map(atoi) else {
        return Vec::new();
    };
    let room = args.len().saturating_sub(first) as i64;
    if count < 1 || count > room {
        return Vec::new();
    }
    (first..first + count as usize).collect()
}

/// C's atoi: leading spaces, an optional sign, then digits up to the first non-digit.
fn atoi(text: &[u8]) -> i64 {
    let text = match text.iter().position(|b| !b" \t\n\r\x0b\x0c".contains(b)) {
        Some(i) => &text[i..],
        None => return 0,
    };
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut n: i64 = 0;
    for &d in digits.iter().take_while(|d| d.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add((d - b'0') as i64);
    }
    if negative {
        -n
    } else {
        n
    }
}

/// The selected database and the reply, borrowed apart so a handler can read a list while
/// writing its elements out.
fn parts<'c>(ctx: &'c mut Ctx<'_>) -> (&'c mut Db, &'c mut ReplyBuf) {
    let db = &mut ctx.state.dbs[ctx.db];
    db.clock_ms = ctx.now_ms;
    (db, &mut *ctx.out)
}

fn limit(ctx: &Ctx) -> i64 {
    ctx.state.config.hot.list_max_listpack_size
}

/// The list at `key` for writing, if there is one.
fn list_mut<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: i64,
) -> Result<Option<&'d mut ListValue>, CmdError> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The list at `key` for reading (counted as a keyspace hit or miss), if there is one.
fn list_read<'d>(db: &'d mut Db, key: &[u8], now: i64) -> Result<Option<&'d ListValue>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// Announces a write to `key` that Redis counts as `changes` toward the dirty counter (one per
/// element pushed or popped; a move counts once for both keys).
fn written(ctx: &mut Ctx, key: &[u8], changes: u64) {
    ctx.modified(key);
    ctx.state.dirty = ctx.state.dirty + changes - 1;
}

fn parse_long(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or_else(|| errors::NOT_INTEGER.into())
}

/// A non-negative integer, or `message` (Redis's getPositiveLongFromObjectOrReply, which
/// reports a non-number with the same text as a negative one).
fn parse_non_negative(arg: &[u8], message: &'static str) -> Result<i64, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(message.into()),
    }
}

fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(End::Head)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(End::Tail)
    } else {
        Err(errors::SYNTAX.into())
    }
}

fn reply_elem(out: &mut ReplyBuf, elem: Elem<'_>) {
    match elem {
        Elem::Str(s) => out.bulk(s),
        Elem::Int(n) => out.bulk_int(n),
    }
}

/// Writes `count` elements from `end` of the list (the tail first when taken from the tail)
/// and removes them.
fn pop_range(out: &mut ReplyBuf, list: &mut ListValue, end: End, count: usize) {
    let len = list.len();
    let count = count.min(len);
    out.array(count);
    let (start, reverse) = match end {
        End::Head => (0, false),
        End::Tail => (len - count, true),
    };
    let first = if reverse { len - 1 } else { 0 };
    for elem in list.iter_at(first, reverse).take(count) {
        reply_elem(out, elem);
    }
    list.delete_range(start, count);
}

/// After elements left `key`: the key goes with its last element, else the list may shrink
/// back to the packed encoding. True if the key went.
fn after_removal(db: &mut Db, key: &[u8], limit: i64) -> bool {
    let now = db.clock_ms;
    match db.get_mut(key, now) {
        Some(Value::List(list)) if list.is_empty() => {
            db.remove(key);
            true
        }
        Some(Value::List(list)) => {
            list.shrink_check(limit);
            false
        }
        _ => false,
    }
}

/// Announces `event` on `key`, then its deletion if the list went with its last element.
fn notify_removal(ctx: &mut Ctx, event: &'static str, key: &[u8], deleted: bool) {
    ctx.notify(notify::LIST, event, key);
    if deleted {
        ctx.notify(notify::GENERIC, "del", key);
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// The plain pop command for `end`, as the AOF logs blocking and multi-key pops.
fn pop_command(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

fn lpush(ctx: &mut Ctx) -> CmdResult {
    push(ctx, End::Head, false)
}

fn rpush(ctx: &mut Ctx) -> CmdResult {
    push(ctx, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx) -> CmdResult {
    push(ctx, End::Head, true)
}

fn rpushx(ctx: &mut Ctx) -> CmdResult {
    push(ctx, End::Tail, true)
}

fn push(ctx: &mut Ctx, end: End, only_existing: bool) -> CmdResult {
    let (key, now, limit) = (ctx.arg(1), ctx.now_ms, limit(ctx));
    let args = ctx.args;
    let values = || args.iter().skip(2);
    let (count, add_bytes) = (values().len(), values().map(<[u8]>::len).sum());
    let db = parts(ctx).0;
    let len = match list_mut(db, key, now)? {
        Some(list) => {
            list.prepare_growth(add_bytes, count, limit);
            for v in values() {
                list.push(v, end);
            }
            list.len()
        }
        None if only_existing => {
            ctx.out.int(0);
            return Ok(());
        }
        None => {
            let mut list = ListValue::new();
            list.prepare_growth(add_bytes, count, limit);
            for v in values() {
                list.push(v, end);
            }
            let len = list.len();
            db.set(key, Value::List(Box::new(list)));
            len
        }
    };
    ctx.out.int(len as i64);
    written(ctx, key, count as u64);
    ctx.notify(notify::LIST, push_event(end), key);
    Ok(())
}

fn lpop(ctx: &mut Ctx) -> CmdResult {
    pop(ctx, End::Head, "lpop")
}

fn rpop(ctx: &mut Ctx) -> CmdResult {
    pop(ctx, End::Tail, "rpop")
}

fn pop(ctx: &mut Ctx, end: End, name: &str) -> CmdResult {
    if ctx.argc() > 3 {
        return Err(format!("ERR wrong number of arguments for '{name}' command").into());
    }
    let count = if ctx.argc() == 3 {
        Some(parse_non_negative(
            ctx.arg(2),
            "ERR value is out of range, must be positive",
        )?)
    } else {
        None
    };
    let (key, now, limit) = (ctx.arg(1), ctx.now_ms, limit(ctx));
    let (db, out) = parts(ctx);
    let Some(list) = list_mut(db, key, now)? else {
        match count {
            Some(_) => out.null_array(),
            None => out.null(),
        }
        return Ok(());
    };
    let popped = match count {
        Some(0) => {
            out.array(0);
            return Ok(());
        }
        Some(n) => {
            let n = (n as usize).min(list.len());
            pop_range(out, list, end, n);
            n
        }
        None => match list.pop(end) {
            Some(value) => {
                out.bulk(&value);
                1
            }
            None => {
                out.null();
                return Ok(());
            }
        },
    };
    let deleted = after_removal(db, key, limit);
    written(ctx, key, popped as u64);
    notify_removal(ctx, pop_event(end), key, deleted);
    Ok(())
}

/// Redis's reading of a start/stop pair against a length: the first index and the count.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        len.saturating_add(start)
    } else {
        start
    }
    .max(0);
    let stop = if stop < 0 {
        len.saturating_add(stop)
    } else {
        stop
    };
    if start > stop || start >= len {
        return None;
    }
    let stop = stop.min(len - 1);
    Some((start as usize, (stop - start + 1) as usize))
}

fn lrange(ctx: &mut Ctx) -> CmdResult {
    let start = parse_long(ctx.arg(2))?;
    let stop = parse_long(ctx.arg(3))?;
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, out) = parts(ctx);
    let Some(list) = list_read(db, key, now)? else {
        out.array(0);
        return Ok(());
    };
    match clamp_range(start, stop, list.len()) {
        None => out.array(0),
        Some((from, count)) => {
            out.array(count);
            for elem in list.iter_at(from, false).take(count) {
                reply_elem(out, elem);
            }
        }
    }
    Ok(())
}

fn llen(ctx: &mut Ctx) -> CmdResult {
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let len = list_read(parts(ctx).0, key, now)?.map_or(0, ListValue::len);
    ctx.out.int(len as i64);
    Ok(())
}

fn lindex(ctx: &mut Ctx) -> CmdResult {
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let index_arg = ctx.arg(2);
    let (db, out) = parts(ctx);
    let Some(list) = list_read(db, key, now)? else {
        out.null();
        return Ok(());
    };
    match list.get(parse_long(index_arg)?) {
        Some(elem) => reply_elem(out, elem),
        None => out.null(),
    }
    Ok(())
}

fn lset(ctx: &mut Ctx) -> CmdResult {
    let (key, now, limit) = (ctx.arg(1), ctx.now_ms, limit(ctx));
    let value = ctx.arg(3);
    let index_arg = ctx.arg(2);
    let db = parts(ctx).0;
    let Some(list) = list_mut(db, key, now)? else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let index = parse_long(index_arg)?;
    // Redis makes room before it knows the index is valid: a big value converts the list
    // even when the index is then refused.
    list.prepare_growth(value.len(), 1, limit);
    if !list.replace(index, value) {
        return Err("ERR index out of range".into());
    }
    list.shrink_check(limit);
    ctx.out.ok();
    written(ctx, key, 1);
    ctx.notify(notify::LIST, "lset", key);
    Ok(())
}

fn linsert(ctx: &mut Ctx) -> CmdResult {
    let after = if ctx.arg_is(2, "after") {
        true
    } else if ctx.arg_is(2, "before") {
        false
    } else {
        return Err(errors::SYNTAX.into());
    };
    let (key, now, limit) = (ctx.arg(1), ctx.now_ms, limit(ctx));
    let (pivot, value) = (ctx.arg(3), ctx.arg(4));
    let db = parts(ctx).0;
    let Some(list) = list_mut(db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    // As in Redis, room is made before the pivot is looked for.
    list.prepare_growth(value.len(), 1, limit);
    if !list.insert(pivot, value, after) {
        ctx.out.int(-1);
        return Ok(());
    }
    let len = list.len();
    ctx.out.int(len as i64);
    written(ctx, key, 1);
    ctx.notify(notify::LIST, "linsert", key);
    Ok(())
}

fn lrem(ctx: &mut Ctx) -> CmdResult {
    let count = parse_long(ctx.arg(2))?;
    let (key, now, limit) = (ctx.arg(1), ctx.now_ms, limit(ctx));
    let value = ctx.arg(3);
    let db = parts(ctx).0;
    let Some(list) = list_mut(db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let from = if count < 0 { End::Tail } else { End::Head };
    let removed = list.remove(value, count.unsigned_abs() as usize, from);
    if removed > 0 {
        let deleted = after_removal(db, key, limit);
        written(ctx, key, removed as u64);
        notify_removal(ctx, "lrem", key, deleted);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx) -> CmdResult {
    let start = parse_long(ctx.arg(2))?;
    let stop = parse_long(ctx.arg(3))?;
    let (key, now, limit) = (ctx.arg(1), ctx.now_ms, limit(ctx));
    let db = parts(ctx).0;
    let Some(list) = list_mut(db, key, now)? else {
        ctx.out.ok();
        return Ok(());
    };
    let len = list.len();
    let (left, right) = match clamp_range(start, stop, len) {
        None => (len, 0),
        Some((from, count)) => (from, len - from - count),
    };
    list.delete_range(0, left);
    let kept = list.len();
    list.delete_range(kept - right, right);
    let deleted = after_removal(db, key, limit);
    // Redis announces the write even when nothing was trimmed.
    ctx.modified(key);
    ctx.state.dirty = ctx.state.dirty - 1 + (left + right) as u64;
    notify_removal(ctx, "ltrim", key, deleted);
    ctx.out.ok();
    Ok(())
}

fn lpos(ctx: &mut Ctx) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < ctx.argc() {
        let has_value = j + 1 < ctx.argc();
        if ctx.arg_is(j, "rank") && has_value {
            rank = parse_long(ctx.arg(j + 1))?;
            if rank == 0 {
                return Err(
                    "ERR RANK can't be zero: use 1 to start from the first match, \
                            2 from the second ... or use negative to start from the end of \
                            the list"
                        .into(),
                );
            }
        } else if ctx.arg_is(j, "count") && has_value {
            count = Some(parse_non_negative(
                ctx.arg(j + 1),
                "ERR COUNT can't be negative",
            )?);
        } else if ctx.arg_is(j, "maxlen") && has_value {
            maxlen = parse_non_negative(ctx.arg(j + 1), "ERR MAXLEN can't be negative")?;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 2;
    }
    // Redis negates the rank as a C long: the most negative rank stays negative, and then
    // every match counts as reaching it.
    let reverse = rank < 0;
    if reverse {
        rank = rank.wrapping_neg();
    }
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let element = ctx.arg(2);
    let (db, out) = parts(ctx);
    let Some(list) = list_read(db, key, now)? else {
        match count {
            Some(_) => out.array(0),
            None => out.null(),
        }
        return Ok(());
    };
    let len = list.len();
    let start = if reverse { len.saturating_sub(1) } else { 0 };
    let mut found = Vec::new();
    let mut matches: i64 = 0;
    for (scanned, elem) in list.iter_at(start, reverse).enumerate() {
        if maxlen != 0 && scanned as i64 >= maxlen {
            break;
        }
        if !elem.eq_bytes(element) {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        let index = if reverse { len - scanned - 1 } else { scanned };
        found.push(index as i64);
        match count {
            None => break,
            Some(c) if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c => break,
            Some(_) => {}
        }
    }
    match count {
        Some(_) => {
            out.array(found.len());
            for index in found {
                out.int(index);
            }
        }
        None => match found.first() {
            Some(&index) => out.int(index),
            None => out.null(),
        },
    }
    Ok(())
}

fn rpoplpush(ctx: &mut Ctx) -> CmdResult {
    move_element(ctx, End::Tail, End::Head)
}

fn lmove(ctx: &mut Ctx) -> CmdResult {
    let from = parse_end(ctx.arg(3))?;
    let to = parse_end(ctx.arg(4))?;
    move_element(ctx, from, to)
}

/// LMOVE's work: pops from one end of the source, pushes at one end of the destination (the
/// same list rotates), and replies the element; a null bulk string if the source is missing.
fn move_element(ctx: &mut Ctx, from: End, to: End) -> CmdResult {
    let (src, dst, now, limit) = (ctx.arg(1), ctx.arg(2), ctx.now_ms, limit(ctx));
    let db = parts(ctx).0;
    if list_mut(db, src, now)?.is_none() {
        ctx.out.null();
        return Ok(());
    }
    let dst_exists = list_mut(db, dst, now)?.is_some();
    let Some(value) = list_mut(db, src, now)?.and_then(|l| l.pop(from)) else {
        ctx.out.null();
        return Ok(());
    };
    match list_mut(db, dst, now)? {
        Some(list) => {
            list.prepare_growth(value.len(), 1, limit);
            list.push(&value, to);
        }
        None => {
            debug_assert!(!dst_exists);
            let mut list = ListValue::new();
            list.prepare_growth(value.len(), 1, limit);
            list.push(&value, to);
            db.set(dst, Value::List(Box::new(list)));
        }
    }
    let deleted = after_removal(db, src, limit);
    ctx.out.bulk(&value);
    written(ctx, dst, 0);
    written(ctx, src, 1);
    // Redis announces the push before the pop that fed it.
    ctx.notify(notify::LIST, push_event(to), dst);
    notify_removal(ctx, pop_event(from), src, deleted);
    Ok(())
}

fn lmpop(ctx: &mut Ctx) -> CmdResult {
    let (end, count, keys) = parse_mpop(ctx, 1)?;
    if !pop_first(ctx, &keys, end, Some(count))? {
        ctx.out.null_array();
    }
    Ok(())
}

/// LMPOP's arguments from `numkeys` at `at`: the end, the count (1 unless given) and the keys.
fn parse_mpop<'a>(ctx: &Ctx<'a>, at: usize) -> Result<(End, usize, Vec<&'a [u8]>), CmdError> {
    let numkeys = match parse_i64(ctx.arg(at)) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err("ERR numkeys should be greater than 0".into()),
    };
    let where_at = at.saturating_add(numkeys).saturating_add(1);
    if where_at >= ctx.argc() {
        return Err(errors::SYNTAX.into());
    }
    let end = parse_end(ctx.arg(where_at))?;
    let mut count = None;
    let mut j = where_at + 1;
    while j < ctx.argc() {
        if count.is_none() && ctx.arg_is(j, "count") && j + 1 < ctx.argc() {
            match parse_i64(ctx.arg(j + 1)) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => return Err("ERR count should be greater than 0".into()),
            }
            j += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let keys = ctx.args.iter().skip(at + 1).take(numkeys).collect();
    Ok((end, count.unwrap_or(1), keys))
}

/// Pops from the first of `keys` holding a list: with `count`, LMPOP's reply (the key and an
/// array of elements); without, BLPOP's (the key and the element). False if all are empty.
fn pop_first(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    end: End,
    count: Option<usize>,
) -> Result<bool, CmdError> {
    let (now, limit) = (ctx.now_ms, limit(ctx));
    let (db, out) = parts(ctx);
    for &key in keys {
        let Some(list) = list_mut(db, key, now)? else {
            continue;
        };
        if list.is_empty() {
            continue;
        }
        out.array(2);
        out.bulk(key);
        let popped = match count {
            Some(n) => {
                let n = n.min(list.len());
                pop_range(out, list, end, n);
                n
            }
            None => {
                match list.pop(end) {
                    Some(value) => out.bulk(&value),
                    None => out.null(),
                }
                1
            }
        };
        let deleted = after_removal(db, key, limit);
        written(ctx, key, popped as u64);
        notify_removal(ctx, pop_event(end), key, deleted);
        // Logged as the plain pop it amounted to (`LPOP key [count]`), as Redis logs BLPOP,
        // LMPOP and BLMPOP, so that a replay never depends on blocking.
        if ctx.state.logs_writes() {
            let mut logged = vec![pop_command(end).to_vec(), key.to_vec()];
            if count.is_some() {
                logged.push(popped.to_string().into_bytes());
            }
            ctx.propagate(logged);
        }
        return Ok(true);
    }
    Ok(false)
}

/// The end of a blocking command that found nothing: wait for `keys` (the engine runs the
/// command again when one is written), or where it may not wait, answer `otherwise`.
fn block(ctx: &mut Ctx, keys: &[&[u8]], deadline_ms: Option<i64>, otherwise: TimeoutReply) {
    if ctx.may_block() {
        ctx.block_on(BlockRequest {
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            deadline_ms,
            waits_for: "list",
            rewritten_args: None,
            on_missing_key: None,
        });
    } else {
        match otherwise {
            TimeoutReply::NullArray => ctx.out.null_array(),
            TimeoutReply::NullBulk => ctx.out.null(),
        }
    }
}

fn blpop(ctx: &mut Ctx) -> CmdResult {
    blocking_pop(ctx, End::Head)
}

fn brpop(ctx: &mut Ctx) -> CmdResult {
    blocking_pop(ctx, End::Tail)
}

fn blocking_pop(ctx: &mut Ctx, end: End) -> CmdResult {
    let last = ctx.argc() - 1;
    let deadline = parse_block_timeout(ctx.arg(last), ctx.now_ms)?;
    let keys: Vec<&[u8]> = ctx.args.iter().skip(1).take(last - 1).collect();
    if !pop_first(ctx, &keys, end, None)? {
        block(ctx, &keys, deadline, TimeoutReply::NullArray);
    }
    Ok(())
}

fn blmpop(ctx: &mut Ctx) -> CmdResult {
    let (end, count, keys) = parse_mpop(ctx, 2)?;
    let deadline = parse_block_timeout(ctx.arg(1), ctx.now_ms)?;
    if !pop_first(ctx, &keys, end, Some(count))? {
        block(ctx, &keys, deadline, TimeoutReply::NullArray);
    }
    Ok(())
}

fn brpoplpush(ctx: &mut Ctx) -> CmdResult {
    let deadline = parse_block_timeout(ctx.arg(3), ctx.now_ms)?;
    blocking_move(ctx, End::Tail, End::Head, deadline)
}

fn blmove(ctx: &mut Ctx) -> CmdResult {
    let from = parse_end(ctx.arg(3))?;
    let to = parse_end(ctx.arg(4))?;
    let deadline = parse_block_timeout(ctx.arg(5), ctx.now_ms)?;
    blocking_move(ctx, from, to, deadline)
}

fn blocking_move(ctx: &mut Ctx, from: End, to: End, deadline: Option<i64>) -> CmdResult {
    let (src, now) = (ctx.arg(1), ctx.now_ms);
    if list_mut(parts(ctx).0, src, now)?.is_some() {
        move_element(ctx, from, to)?;
        // Logged as the non-blocking move it amounted to, as Redis logs BLMOVE/BRPOPLPUSH.
        if !ctx.state.logs_writes() {
            return Ok(());
        }
        let logged = if ctx.arg_is(0, "brpoplpush") {
            vec![b"RPOPLPUSH".to_vec(), src.to_vec(), ctx.arg(2).to_vec()]
        } else {
            vec![
                b"LMOVE".to_vec(),
                src.to_vec(),
                ctx.arg(2).to_vec(),
                ctx.arg(3).to_vec(),
                ctx.arg(4).to_vec(),
            ]
        };
        ctx.propagate(logged);
        return Ok(());
    }
    block(ctx, &[src], deadline, TimeoutReply::NullBulk);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_reads_like_c() {
        assert_eq!(atoi(b"2x"), 2);
        assert_eq!(atoi(b" 3"), 3);
        assert_eq!(atoi(b"-4"), -4);
        assert_eq!(atoi(b"+5"), 5);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"99999999999999999999999"), i64::MAX);
    }

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp_range(0, -1, 3), Some((0, 3)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 3)));
        assert_eq!(clamp_range(1, 0, 3), None);
        assert_eq!(clamp_range(3, 5, 3), None);
        assert_eq!(clamp_range(-2, -1, 3), Some((1, 2)));
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 3), Some((0, 3)));
        assert_eq!(clamp_range(0, 0, 0), None);
    }
}
