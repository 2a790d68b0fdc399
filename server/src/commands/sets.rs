//! The set family: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER
//! SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN, replying as Redis 7.0 and
//! encoding as Redis 7.2.

use super::errors;
use super::keys::parse_cursor;
use super::table::{command, CommandDef};
use super::{CmdError, CmdResult, Ctx};
use crate::notify;
use crate::protocol::request::parse_i64;
use crate::protocol::{Args, ReplyBuf};
use crate::store::glob;
use crate::store::set::{Member, SetLimits, SetValue};
use crate::store::{Db, Value};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "sadd",
        -3,
        "write denyoom fast",
        "@set",
        (1, 1, 1),
        "set",
        "1.0.0",
        "Adds members to a set, creating it if needed.",
        sadd,
    ),
    command(
        "srem",
        -3,
        "write fast",
        "@set",
        (1, 1, 1),
        "set",
        "1.0.0",
        "Removes members from a set, deleting it when it empties.",
        srem,
    ),
    command(
        "smembers",
        2,
        "readonly",
        "@set",
        (1, 1, 1),
        "set",
        "1.0.0",
        "Lists every member of a set.",
        smembers,
    ),
    command(
        "sismember",
        3,
        "readonly fast",
        "@set",
        (1, 1, 1),
        "set",
        "1.0.0",
        "Tells whether a value is a member of a set.",
        sismember,
    ),
    command(
        "smismember",
        -3,
        "readonly fast",
        "@set",
        (1, 1, 1),
        "set",
        "6.2.0",
        "Tells, for each of several values, whether it is a member of a set.",
        smismember,
    ),
    command(
        "scard",
        2,
        "readonly fast",
        "@set",
        (1, 1, 1),
        "set",
        "1.0.0",
        "Counts the members of a set.",
        scard,
    ),
    command(
        "spop",
        -2,
        "write fast",
        "@set",
        (1, 1, 1),
        "set",
        "1.0.0",
        "Removes and returns random members of a set.",
        spop,
    ),
    command(
        "srandmember",
        -2,
        "readonly",
        "@set",
        (1, 1, 1),
        "set",
        "1.0.0",
        "Returns random members of a set without removing them.",
        srandmember,
    ),
    command(
        "smove",
        4,
        "write fast",
        "@set",
        (1, 2, 1),
        "set",
        "1.0.0",
        "Moves a member from one set to another.",
        smove,
    ),
    command(
        "sinter",
        -2,
        "readonly",
        "@set",
        (1, -1, 1),
        "set",
        "1.0.0",
        "Returns the members common to all the given sets.",
        sinter,
    ),
    command(
        "sintercard",
        -3,
        "readonly",
        "@set",
        (0, 0, 0),
        "set",
        "7.0.0",
        "Counts the members common to all the given sets, optionally stopping at a limit.",
        sintercard,
    )
    .movable_keys(sintercard_keys),
    command(
        "sinterstore",
        -3,
        "write denyoom",
        "@set",
        (1, -1, 1),
        "set",
        "1.0.0",
        "Stores the intersection of sets in a key.",
        sinterstore,
    ),
    command(
        "sunion",
        -2,
        "readonly",
        "@set",
        (1, -1, 1),
        "set",
        "1.0.0",
        "Returns the members of any of the given sets.",
        sunion,
    ),
    command(
        "sunionstore",
        -3,
        "write denyoom",
        "@set",
        (1, -1, 1),
        "set",
        "1.0.0",
        "Stores the union of sets in a key.",
        sunionstore,
    ),
    command(
        "sdiff",
        -2,
        "readonly",
        "@set",
        (1, -1, 1),
        "set",
        "1.0.0",
        "Returns the members of the first set that no other given set has.",
        sdiff,
    ),
    command(
        "sdiffstore",
        -3,
        "write denyoom",
        "@set",
        (1, -1, 1),
        "set",
        "1.0.0",
        "Stores the difference of sets in a key.",
        sdiffstore,
    ),
    command(
        "sscan",
        -3,
        "readonly",
        "@set",
        (1, 1, 1),
        "set",
        "2.8.0",
        "Walks the members of a set a few at a time with a cursor.",
        sscan,
    ),
];

/// Redis would keep streaming a reply of SRANDMEMBER with a huge negative count until memory
/// runs out (there is no output limit for normal clients by default); past this many bytes of
/// one reply the client is disconnected instead, as Redis does when an output limit is hit.
const REPLY_GUARD_BYTES: usize = 256 << 20;

fn limits(ctx: &Ctx) -> SetLimits {
    let hot = &ctx.state.config.hot;
    SetLimits {
        intset_entries: hot.set_max_intset_entries,
        listpack_entries: hot.set_max_listpack_entries,
        listpack_value: hot.set_max_listpack_value,
    }
}

/// The selected database and the reply writer, borrowed together.
fn parts<'c>(ctx: &'c mut Ctx<'_>) -> (&'c mut Db, &'c mut ReplyBuf) {
    let now = ctx.now_ms;
    let db = &mut ctx.state.dbs[ctx.db];
    db.clock_ms = now;
    (db, &mut *ctx.out)
}

fn write_member(out: &mut ReplyBuf, member: Member<'_>) {
    match member {
        Member::Int(n) => out.bulk_int(n),
        Member::Bytes(b) => out.bulk(b),
    }
}

/// The set at `key` for reading (counted as a hit or miss), or WRONGTYPE.
fn read_set<'d>(db: &'d mut Db, key: &[u8], now: i64) -> Result<Option<&'d SetValue>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

fn write_set<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: i64,
) -> Result<Option<&'d mut SetValue>, CmdError> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// Looks every key up for reading (the STORE forms too: Redis reads their sources with
/// lookupKeyRead, so a missing one is a keyspace miss), failing on the first that is not a set;
/// then lends them all out.
fn lookup_sets<'d>(
    db: &'d mut Db,
    keys: &[&[u8]],
    now: i64,
) -> Result<Vec<Option<&'d SetValue>>, CmdError> {
    for key in keys {
        if let Some(v) = db.get(key, now) {
            if !matches!(v, Value::Set(_)) {
                return Err(errors::WRONGTYPE.into());
            }
        }
    }
    let db: &'d Db = db;
    Ok(keys
        .iter()
        .map(|key| match db.keys.get(key).map(|e| &e.value) {
            Some(Value::Set(s)) => Some(s),
            _ => None,
        })
        .collect())
}

fn sadd(ctx: &mut Ctx) -> CmdResult {
    let limits = limits(ctx);
    let key = ctx.arg(1);
    let members: Vec<&[u8]> = ctx.args.iter().skip(2).collect();
    let now = ctx.now_ms;
    let db = ctx.db();
    let added = match write_set(db, key, now)? {
        Some(set) => {
            set.maybe_convert(members.len(), &limits);
            members.iter().filter(|m| set.add(m, &limits)).count()
        }
        None => {
            let first = members.first().copied().unwrap_or_default();
            let mut set = SetValue::for_members(first, members.len(), &limits);
            let added = members.iter().filter(|m| set.add(m, &limits)).count();
            db.set(key, Value::Set(set));
            added
        }
    };
    if added > 0 {
        ctx.modified(key);
        ctx.notify(notify::SET, "sadd", key);
    }
    ctx.out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let args = ctx.args;
    let db = ctx.db();
    let mut removed = 0;
    let mut emptied = false;
    if let Some(set) = write_set(db, key, now)? {
        for member in args.iter().skip(2) {
            if set.remove(member) {
                removed += 1;
                if set.is_empty() {
                    emptied = true;
                    break;
                }
            }
        }
        if emptied {
            db.remove(key);
        }
    }
    if removed > 0 {
        ctx.modified(key);
        ctx.notify(notify::SET, "srem", key);
        if emptied {
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    ctx.out.int(removed);
    Ok(())
}

fn smembers(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let (db, out) = parts(ctx);
    match read_set(db, key, now)? {
        None => out.set(0),
        Some(set) => {
            out.set(set.len());
            for m in set.iter() {
                write_member(out, m);
            }
        }
    }
    Ok(())
}

fn sismember(ctx: &mut Ctx) -> CmdResult {
    let (key, member) = (ctx.arg(1), ctx.arg(2));
    let now = ctx.now_ms;
    let found = read_set(ctx.db(), key, now)?.is_some_and(|s| s.contains(member));
    ctx.out.int(i64::from(found));
    Ok(())
}

fn smismember(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let args = ctx.args;
    let (db, out) = parts(ctx);
    let set = read_set(db, key, now)?;
    out.array(args.len() - 2);
    for member in args.iter().skip(2) {
        out.int(i64::from(set.is_some_and(|s| s.contains(member))));
    }
    Ok(())
}

fn scard(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let n = read_set(ctx.db(), key, now)?.map_or(0, SetValue::len);
    ctx.out.int(n as i64);
    Ok(())
}

/// SPOP and SRANDMEMBER's answer to a negative or unreadable count.
const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";

fn spop(ctx: &mut Ctx) -> CmdResult {
    match ctx.argc() {
        2 => spop_one(ctx),
        3 => spop_count(ctx),
        _ => Err(errors::SYNTAX.into()),
    }
}

fn spop_one(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let db = ctx.db();
    let Some(set) = write_set(db, key, now)? else {
        ctx.out.null();
        return Ok(());
    };
    let popped = set.pop_random().unwrap_or_default();
    let emptied = set.is_empty();
    if emptied {
        db.remove(key);
    }
    // Chance chose the member: the log names it.
    ctx.propagate(vec![b"SREM".to_vec(), key.to_vec(), popped.to_vec()]);
    ctx.modified(key);
    notify_spop(ctx, key, emptied);
    ctx.out.bulk(&popped);
    Ok(())
}

/// How much bigger than what stays the popped part must be before SPOP rebuilds the remainder
/// instead of popping one by one (Redis's SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn spop_count(ctx: &mut Ctx) -> CmdResult {
    let count = parse_i64(ctx.arg(2))
        .filter(|n| *n >= 0)
        .ok_or(MUST_BE_POSITIVE)? as u64;
    let limits = limits(ctx);
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let (db, out) = parts(ctx);
    let Some(set) = write_set(db, key, now)? else {
        out.set(0);
        return Ok(());
    };
    if count == 0 {
        out.set(0);
        return Ok(());
    }
    let size = set.len();
    let emptied = count >= size as u64;
    if emptied {
        // Redis answers with the union of the one set, whose order this reproduces.
        let all = combine(&[Some(&*set)], SetOp::Union, &limits);
        out.set(all.len());
        for m in all.iter() {
            write_member(out, m);
        }
        db.remove(key);
        ctx.propagate(crate::persistence::propagate::del(key));
    } else {
        let count = count as usize;
        let remaining = size - count;
        let popped = if remaining * SPOP_MOVE_STRATEGY_MUL > count {
            set.pop_some(count)
        } else {
            set.pop_all_but(remaining, &limits)
        };
        out.set(popped.len());
        for m in &popped {
            out.bulk(m);
        }
        // Chance chose the members: the log names them, in SREMs of at most 1024 as Redis's.
        for chunk in popped.chunks(1024) {
            let mut srem = vec![b"SREM".to_vec(), key.to_vec()];
            srem.extend(chunk.iter().map(|m| m.to_vec()));
            ctx.propagate(srem);
        }
    }
    ctx.modified(key);
    notify_spop(ctx, key, emptied);
    Ok(())
}

fn notify_spop(ctx: &mut Ctx, key: &[u8], emptied: bool) {
    ctx.notify(notify::SET, "spop", key);
    if emptied {
        ctx.notify(notify::GENERIC, "del", key);
    }
}

fn srandmember(ctx: &mut Ctx) -> CmdResult {
    match ctx.argc() {
        2 => {
            let key = ctx.arg(1);
            let now = ctx.now_ms;
            let (db, out) = parts(ctx);
            match read_set(db, key, now)?.and_then(SetValue::random_member) {
                Some(m) => write_member(out, m),
                None => out.null(),
            }
            Ok(())
        }
        3 => srandmember_count(ctx),
        _ => Err(errors::SYNTAX.into()),
    }
}

fn srandmember_count(ctx: &mut Ctx) -> CmdResult {
    let n = parse_i64(ctx.arg(2)).ok_or(errors::NOT_INTEGER)?;
    if n == i64::MIN {
        return Err(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
                .into(),
        );
    }
    let (count, distinct) = (n.unsigned_abs(), n >= 0);
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let (db, out) = parts(ctx);
    let Some(set) = read_set(db, key, now)? else {
        out.array(0);
        return Ok(());
    };
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    let size = set.len() as u64;
    let mut overflowed = false;
    if !distinct || count == 1 {
        out.array(count as usize);
        let start = out.len();
        for _ in 0..count {
            if let Some(m) = set.random_member() {
                write_member(out, m);
            }
            if out.len() - start > REPLY_GUARD_BYTES {
                overflowed = true;
                break;
            }
        }
    } else if count >= size {
        out.array(size as usize);
        for m in set.iter() {
            write_member(out, m);
        }
    } else {
        let picked = set.random_distinct(count as usize);
        out.array(picked.len());
        for m in picked {
            write_member(out, m);
        }
    }
    if overflowed {
        ctx.client().kill();
    }
    Ok(())
}

fn smove(ctx: &mut Ctx) -> CmdResult {
    let limits = limits(ctx);
    let (src, dst, member) = (ctx.arg(1), ctx.arg(2), ctx.arg(3));
    let now = ctx.now_ms;
    let db = ctx.db();
    let src_exists = write_set(db, src, now)?.is_some();
    let dst_state = write_set(db, dst, now);
    if !src_exists {
        ctx.out.int(0);
        return Ok(());
    }
    let dst_exists = dst_state?.is_some();
    if src == dst {
        let found = write_set(db, src, now)?.is_some_and(|s| s.contains(member));
        ctx.out.int(i64::from(found));
        return Ok(());
    }
    let Some(source) = write_set(db, src, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    if !source.remove(member) {
        ctx.out.int(0);
        return Ok(());
    }
    let emptied = source.is_empty();
    if emptied {
        db.remove(src);
    }
    // Redis announces the removal (and the source's deletion) before it creates the destination.
    ctx.notify(notify::SET, "srem", src);
    if emptied {
        ctx.notify(notify::GENERIC, "del", src);
    }
    let db = ctx.db();
    let added = if dst_exists {
        write_set(db, dst, now)?.is_some_and(|target| target.add(member, &limits))
    } else {
        let mut target = SetValue::for_members(member, 1, &limits);
        target.add(member, &limits);
        db.set(dst, Value::Set(target));
        true
    };
    ctx.modified(src);
    ctx.modified(dst);
    if added {
        ctx.notify(notify::SET, "sadd", dst);
    }
    ctx.out.int(1);
    Ok(())
}

/// What an intersection produces: the members, a count, or a stored set.
enum InterMode<'k> {
    Reply,
    Card { limit: usize },
    Store { dst: &'k [u8] },
}

fn sinter(ctx: &mut Ctx) -> CmdResult {
    let keys: Vec<&[u8]> = ctx.args.iter().skip(1).collect();
    intersect(ctx, &keys, InterMode::Reply)
}

fn sinterstore(ctx: &mut Ctx) -> CmdResult {
    let keys: Vec<&[u8]> = ctx.args.iter().skip(2).collect();
    let dst = ctx.arg(1);
    intersect(ctx, &keys, InterMode::Store { dst })
}

/// SINTERCARD's numkeys, if it is valid for `args`.
fn sintercard_numkeys(args: Args<'_>) -> Result<usize, CmdError> {
    let n = parse_i64(args.get(1))
        .filter(|n| *n >= 1)
        .ok_or("ERR numkeys should be greater than 0")?;
    if n > args.len() as i64 - 2 {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    Ok(n as usize)
}

fn sintercard_keys(args: Args<'_>) -> Vec<usize> {
    match sintercard_numkeys(args) {
        Ok(n) => (2..2 + n).collect(),
        Err(_) => Vec::new(),
    }
}

fn sintercard(ctx: &mut Ctx) -> CmdResult {
    let numkeys = sintercard_numkeys(ctx.args)?;
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < ctx.argc() {
        if ctx.arg_is(i, "LIMIT") && i + 1 < ctx.argc() {
            let n = parse_i64(ctx.arg(i + 1))
                .filter(|n| *n >= 0)
                .ok_or("ERR LIMIT can't be negative")?;
            limit = usize::try_from(n).unwrap_or(usize::MAX);
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let keys: Vec<&[u8]> = ctx.args.iter().skip(2).take(numkeys).collect();
    intersect(ctx, &keys, InterMode::Card { limit })
}

fn intersect(ctx: &mut Ctx, keys: &[&[u8]], mode: InterMode<'_>) -> CmdResult {
    let limits = limits(ctx);
    let now = ctx.now_ms;
    let (db, out) = parts(ctx);
    let found = lookup_sets(db, keys, now)?;
    let mut sets: Vec<&SetValue> = found.iter().flatten().copied().collect();
    sets.sort_by_key(|s| s.len());
    // A missing key is an empty set, and so is the intersection.
    let result: Option<SetValue> = match sets.split_first() {
        Some((&first, others)) if sets.len() == found.len() => {
            let in_all = |m: &Member<'_>| {
                others
                    .iter()
                    .all(|other| std::ptr::eq(*other, first) || m.with_bytes(|b| other.contains(b)))
            };
            match mode {
                InterMode::Card { limit } => {
                    let mut n = 0usize;
                    for m in first.iter() {
                        if in_all(&m) {
                            n += 1;
                            if limit != 0 && n >= limit {
                                break;
                            }
                        }
                    }
                    out.int(n as i64);
                    return Ok(());
                }
                InterMode::Reply => {
                    let common: Vec<Member<'_>> = first.iter().filter(|m| in_all(m)).collect();
                    out.set(common.len());
                    for m in common {
                        write_member(out, m);
                    }
                    return Ok(());
                }
                InterMode::Store { .. } => {
                    // The result starts as the smallest set's kind (a hash table's as a listpack) and
                    // becomes an intset at the end if it holds integers only.
                    let mut dst = if first.encoding() == "intset" {
                        SetValue::new_intset()
                    } else {
                        SetValue::new_listpack()
                    };
                    for m in first.iter().filter(|m| in_all(m)) {
                        m.with_bytes(|b| dst.add(b, &limits));
                    }
                    dst.maybe_convert_to_intset(&limits);
                    Some(dst)
                }
            }
        }
        _ => None,
    };
    match mode {
        InterMode::Store { dst } => store_result(ctx, dst, result, "sinterstore"),
        InterMode::Card { .. } => {
            ctx.out.int(0);
            Ok(())
        }
        InterMode::Reply => {
            ctx.out.set(0);
            Ok(())
        }
    }
}

/// Stores a *STORE result: a non-empty set replaces whatever `dst` held (TTL dropped) and is
/// announced as `event`; an empty one deletes `dst`.
fn store_result(
    ctx: &mut Ctx,
    dst: &[u8],
    result: Option<SetValue>,
    event: &'static str,
) -> CmdResult {
    match result.filter(|s| !s.is_empty()) {
        Some(set) => {
            let n = set.len();
            ctx.db().set(dst, Value::Set(set));
            ctx.modified(dst);
            ctx.notify(notify::SET, event, dst);
            ctx.out.int(n as i64);
        }
        None => {
            if ctx.db().remove(dst).is_some() {
                ctx.modified(dst);
                ctx.notify(notify::GENERIC, "del", dst);
            }
            ctx.out.int(0);
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// Redis's union and difference, built the way Redis builds them (into a set that starts as an
/// intset), so that the result's encoding and order are Redis's.
fn combine(sets: &[Option<&SetValue>], op: SetOp, limits: &SetLimits) -> SetValue {
    let mut dst = SetValue::new_intset();
    match op {
        SetOp::Union => {
            for set in sets.iter().flatten() {
                for m in set.iter() {
                    m.with_bytes(|b| dst.add(b, limits));
                }
            }
        }
        SetOp::Diff => {
            let Some(Some(first)) = sets.first().copied() else {
                return dst;
            };
            let rest = sets.get(1..).unwrap_or_default();
            if rest.iter().flatten().any(|s| std::ptr::eq(*s, first)) {
                return dst;
            }
            // Redis picks the cheaper of two algorithms; which one runs decides the result's
            // encoding (the second adds the whole first set before removing).
            let present: Vec<&SetValue> = sets.iter().flatten().copied().collect();
            let one = present.len() * first.len() / 2;
            let two: usize = present.iter().map(|s| s.len()).sum();
            if one <= two {
                let mut others: Vec<&SetValue> = rest.iter().flatten().copied().collect();
                others.sort_by_key(|s| std::cmp::Reverse(s.len()));
                for m in first.iter() {
                    if !others.iter().any(|o| m.with_bytes(|b| o.contains(b))) {
                        m.with_bytes(|b| dst.add(b, limits));
                    }
                }
            } else {
                for m in first.iter() {
                    m.with_bytes(|b| dst.add(b, limits));
                }
                for other in rest.iter().flatten() {
                    if dst.is_empty() {
                        break;
                    }
                    for m in other.iter() {
                        m.with_bytes(|b| dst.remove(b));
                    }
                }
            }
        }
    }
    dst
}

fn union_or_diff(ctx: &mut Ctx, op: SetOp, store: bool) -> CmdResult {
    let limits = limits(ctx);
    let now = ctx.now_ms;
    let skip = if store { 2 } else { 1 };
    let keys: Vec<&[u8]> = ctx.args.iter().skip(skip).collect();
    let (db, out) = parts(ctx);
    let sets = lookup_sets(db, &keys, now)?;
    let result = combine(&sets, op, &limits);
    if store {
        let dst = ctx.arg(1);
        let event = match op {
            SetOp::Union => "sunionstore",
            SetOp::Diff => "sdiffstore",
        };
        return store_result(ctx, dst, Some(result), event);
    }
    out.set(result.len());
    for m in result.iter() {
        write_member(out, m);
    }
    Ok(())
}

fn sunion(ctx: &mut Ctx) -> CmdResult {
    union_or_diff(ctx, SetOp::Union, false)
}

fn sunionstore(ctx: &mut Ctx) -> CmdResult {
    union_or_diff(ctx, SetOp::Union, true)
}

fn sdiff(ctx: &mut Ctx) -> CmdResult {
    union_or_diff(ctx, SetOp::Diff, false)
}

fn sdiffstore(ctx: &mut Ctx) -> CmdResult {
    union_or_diff(ctx, SetOp::Diff, true)
}

fn sscan(ctx: &mut Ctx) -> CmdResult {
    let cursor = parse_cursor(ctx.arg(2)).ok_or("ERR invalid cursor")?;
    let key = ctx.arg(1);
    let now = ctx.now_ms;
    let args = ctx.args;
    let (db, out) = parts(ctx);
    // Like Redis, a missing key answers before the options are read.
    let Some(set) = read_set(db, key, now)? else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        let word = args.get(i);
        if word.eq_ignore_ascii_case(b"count") && has_value {
            let n = parse_i64(args.get(i + 1)).ok_or(errors::NOT_INTEGER)?;
            if n < 1 {
                return Err(errors::SYNTAX.into());
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if word.eq_ignore_ascii_case(b"match") && has_value {
            pattern = Some(args.get(i + 1)).filter(|p| *p != b"*");
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let mut found: Vec<Vec<u8>> = Vec::new();
    let next = set.scan(cursor, count, |m| {
        m.with_bytes(|b| {
            if pattern.is_none_or(|p| glob::matches(p, b, false)) {
                found.push(b.to_vec());
            }
        })
    });
    out.array(2);
    // Redis writes the cursor as a signed 64-bit number.
    out.bulk_int(next as i64);
    out.array(found.len());
    for m in &found {
        out.bulk(m);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::protocol::request::OwnedArgs;
    use crate::protocol::ReplyBuf;
    use crate::state::Shared;

    /// Runs each command line (split on spaces) on one fresh server; returns every raw reply.
    fn replies(commands: &[&str]) -> Vec<String> {
        let shared = Shared::new(Config::default());
        let mut state = shared.state.lock();
        let client = crate::client::Client::new(1, String::new(), String::new(), 0, 0);
        state.clients.insert(1, Box::new(client));
        commands
            .iter()
            .map(|line| {
                let mut args = OwnedArgs::default();
                for word in line.split(' ') {
                    args.push(word.as_bytes());
                }
                let mut out = ReplyBuf::default();
                super::super::run(&shared, &mut state, 1, args.args(), &mut out);
                String::from_utf8_lossy(&out.buf).into_owned()
            })
            .collect()
    }

    fn bulk(text: &str) -> String {
        format!("${}\r\n{text}\r\n", text.len())
    }

    fn listing(members: &[&str]) -> String {
        let mut s = format!("*{}\r\n", members.len());
        for m in members {
            s.push_str(&bulk(m));
        }
        s
    }

    fn numbers(range: std::ops::Range<i32>, prefix: &str) -> String {
        range
            .map(|i| format!("{prefix}{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn small_sets_report_redis_7_2_encodings() {
        let r = replies(&[
            "SADD s c a b",
            "OBJECT ENCODING s",
            "SMEMBERS s",
            "SADD i 3 1 2",
            "OBJECT ENCODING i",
            "SADD i 03",
            "OBJECT ENCODING i",
            "SMEMBERS i",
            "CONFIG SET set-max-intset-entries 4",
            "SADD hint 1 2 3 4 5",
            "OBJECT ENCODING hint",
            "SADD dup 1 2",
            "SADD dup 1 1 1 1 1",
            "OBJECT ENCODING dup",
        ]);
        assert_eq!(r[1], bulk("listpack"));
        // A small listpack lists in insertion order.
        assert_eq!(r[2], listing(&["c", "a", "b"]));
        assert_eq!(r[4], bulk("intset"));
        assert_eq!(r[6], bulk("listpack"));
        assert_eq!(r[7], listing(&["1", "2", "3", "03"]));
        assert_eq!(r[10], bulk("listpack"));
        assert_eq!(r[13], bulk("hashtable"));
    }

    #[test]
    fn listpack_thresholds_are_the_configured_ones() {
        let r = replies(&[
            "CONFIG SET set-max-listpack-entries 2",
            "SADD s a b",
            "OBJECT ENCODING s",
            "SADD s c",
            "OBJECT ENCODING s",
            "CONFIG SET set-max-listpack-value 3",
            "SADD t abc",
            "OBJECT ENCODING t",
            "SADD t abcd",
            "OBJECT ENCODING t",
        ]);
        assert_eq!(r[2], bulk("listpack"));
        assert_eq!(r[4], bulk("hashtable"));
        assert_eq!(r[7], bulk("listpack"));
        assert_eq!(r[9], bulk("hashtable"));
    }

    #[test]
    fn store_results_take_redis_7_2_encodings() {
        let many_ints = numbers(0..600, "");
        let strings = numbers(0..200, "m");
        let r = replies(&[
            &format!("SADD big {many_ints}"),
            "SADD other 1 2 3 x",
            // Integers found in a hash table end up an intset.
            "SINTERSTORE d1 big other",
            "OBJECT ENCODING d1",
            "SADD s1 a b c 1",
            "SADD s2 c a 1",
            "SINTERSTORE d2 s1 s2",
            "OBJECT ENCODING d2",
            "SMEMBERS d2",
            "SUNIONSTORE d3 s1 s2",
            "OBJECT ENCODING d3",
            // The difference that adds the whole first set before removing passes through a
            // hash table and stays one.
            &format!("SADD wide {strings}"),
            &format!("SADD cut1 {}", numbers(0..30, "m")),
            &format!("SADD cut2 {}", numbers(30..60, "m")),
            &format!("SADD cut3 {}", numbers(60..90, "m")),
            "SDIFFSTORE d4 wide cut1 cut2 cut3",
            "OBJECT ENCODING d4",
            // The other algorithm only adds what stays.
            &format!("SADD cut4 {}", numbers(0..100, "m")),
            "SDIFFSTORE d5 wide cut4",
            "OBJECT ENCODING d5",
            // SPOP taking most of a hash table of integers rebuilds the rest as a listpack.
            &format!("SADD ints {many_ints}"),
            "SPOP ints 590",
            "SCARD ints",
            "OBJECT ENCODING ints",
            "SMOVE s1 fresh b",
            "OBJECT ENCODING fresh",
        ]);
        assert_eq!(r[2], ":3\r\n");
        assert_eq!(r[3], bulk("intset"));
        assert_eq!(r[7], bulk("listpack"));
        // In the order of the smallest set.
        assert_eq!(r[8], listing(&["c", "a", "1"]));
        assert_eq!(r[10], bulk("listpack"));
        assert_eq!(r[15], ":110\r\n");
        assert_eq!(r[16], bulk("hashtable"));
        assert_eq!(r[18], ":100\r\n");
        assert_eq!(r[19], bulk("listpack"));
        assert_eq!(r[22], ":10\r\n");
        assert_eq!(r[23], bulk("listpack"));
        assert_eq!(r[24], ":1\r\n");
        assert_eq!(r[25], bulk("listpack"));
    }

    #[test]
    fn spop_of_the_whole_set_answers_in_union_order() {
        // The listpack holds 2 1 a in that order; the union of it starts as an intset.
        let r = replies(&[
            "SADD s x 2 1",
            "SREM s x",
            "SADD s a",
            "SMEMBERS s",
            "SPOP s 5",
            "EXISTS s",
        ]);
        assert_eq!(r[3], listing(&["2", "1", "a"]));
        assert_eq!(r[4], listing(&["1", "2", "a"]));
        assert_eq!(r[5], ":0\r\n");
    }

    #[test]
    fn sintercard_keys_are_found_from_numkeys() {
        use crate::protocol::request::OwnedArgs;
        let keys = |line: &str| {
            let mut args = OwnedArgs::default();
            for w in line.split(' ') {
                args.push(w.as_bytes());
            }
            super::sintercard_keys(args.args())
        };
        assert_eq!(keys("SINTERCARD 2 a b LIMIT 1"), [2, 3]);
        assert!(keys("SINTERCARD 0 a").is_empty());
        assert!(keys("SINTERCARD 3 a b").is_empty());
        assert!(keys("SINTERCARD x a").is_empty());
    }
}
