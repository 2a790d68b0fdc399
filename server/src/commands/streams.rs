//! Stream commands: the log (XADD, XRANGE, XREAD, XDEL, XTRIM, XSETID...), consumer groups
//! (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM) and XINFO.

use super::command::{reply_help, subcommand_syntax_error};
use super::table::{command, container, CommandDef};
use super::{errors, BlockRequest, CmdError, CmdResult, Ctx};
use crate::notify;
use crate::protocol::request::parse_i64;
use crate::protocol::{Args, ReplyBuf};
use crate::store::stream::{EntryView, Group, Log, NodeLimits, StreamId, StreamValue, Trim};
use crate::store::{Db, Value};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "xadd",
        -5,
        "write denyoom fast",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Appends an entry to a stream, creating it if needed, and trims it on request.",
        xadd,
    ),
    command(
        "xlen",
        2,
        "readonly fast",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Counts the entries of a stream.",
        xlen,
    ),
    command(
        "xrange",
        -4,
        "readonly",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Reads the entries of a stream between two ids.",
        xrange,
    ),
    command(
        "xrevrange",
        -4,
        "readonly",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Reads the entries of a stream between two ids, newest first.",
        xrevrange,
    ),
    command(
        "xdel",
        -3,
        "write fast",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Deletes entries from a stream by id.",
        xdel,
    ),
    command(
        "xtrim",
        -4,
        "write",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Drops the oldest entries of a stream, by count or by id.",
        xtrim,
    ),
    command(
        "xsetid",
        -3,
        "write denyoom fast",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Sets the last id a stream has generated.",
        xsetid,
    ),
    command(
        "xread",
        -4,
        "readonly blocking",
        "@stream",
        (0, 0, 0),
        "stream",
        "5.0.0",
        "Reads entries after given ids from one or more streams, waiting for them if asked.",
        xread,
    )
    .movable_keys(xread_keys),
    command(
        "xreadgroup",
        -7,
        "write blocking",
        "@stream",
        (0, 0, 0),
        "stream",
        "5.0.0",
        "Reads entries as a consumer of a group, recording them as pending.",
        xreadgroup,
    )
    .movable_keys(xreadgroup_keys),
    command(
        "xack",
        -4,
        "write fast",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Acknowledges pending entries of a consumer group.",
        xack,
    ),
    command(
        "xpending",
        -3,
        "readonly",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Lists or summarizes the pending entries of a consumer group.",
        xpending,
    ),
    command(
        "xclaim",
        -6,
        "write fast",
        "@stream",
        (1, 1, 1),
        "stream",
        "5.0.0",
        "Transfers pending entries to another consumer.",
        xclaim,
    ),
    command(
        "xautoclaim",
        -6,
        "write fast",
        "@stream",
        (1, 1, 1),
        "stream",
        "6.2.0",
        "Transfers pending entries idle long enough to another consumer, scanning from a cursor.",
        xautoclaim,
    ),
    container(
        "xgroup",
        "stream",
        "5.0.0",
        "Manages consumer groups.",
        &[
            command(
                "create",
                -5,
                "write denyoom",
                "@stream",
                (2, 2, 1),
                "stream",
                "5.0.0",
                "Creates a consumer group.",
                xgroup_create,
            ),
            command(
                "setid",
                -5,
                "write",
                "@stream",
                (2, 2, 1),
                "stream",
                "5.0.0",
                "Sets the last delivered id of a consumer group.",
                xgroup_setid,
            ),
            command(
                "destroy",
                4,
                "write",
                "@stream",
                (2, 2, 1),
                "stream",
                "5.0.0",
                "Destroys a consumer group.",
                xgroup_destroy,
            ),
            command(
                "createconsumer",
                5,
                "write denyoom",
                "@stream",
                (2, 2, 1),
                "stream",
                "6.2.0",
                "Creates a consumer in a consumer group.",
                xgroup_createconsumer,
            ),
            command(
                "delconsumer",
                5,
                "write",
                "@stream",
                (2, 2, 1),
                "stream",
                "5.0.0",
                "Deletes a consumer from a consumer group.",
                xgroup_delconsumer,
            ),
            command(
                "help",
                2,
                "loading stale",
                "@stream",
                (0, 0, 0),
                "stream",
                "5.0.0",
                "Lists the XGROUP subcommands.",
                xgroup_help,
            ),
        ],
    ),
    container(
        "xinfo",
        "stream",
        "5.0.0",
        "Describes streams, their consumer groups and consumers.",
        &[
            command(
                "stream",
                -3,
                "readonly",
                "@stream",
                (2, 2, 1),
                "stream",
                "5.0.0",
                "Describes a stream.",
                xinfo_stream,
            ),
            command(
                "groups",
                3,
                "readonly",
                "@stream",
                (2, 2, 1),
                "stream",
                "5.0.0",
                "Lists the consumer groups of a stream.",
                xinfo_groups,
            ),
            command(
                "consumers",
                4,
                "readonly",
                "@stream",
                (2, 2, 1),
                "stream",
                "5.0.0",
                "Lists the consumers of a consumer group.",
                xinfo_consumers,
            ),
            command(
                "help",
                2,
                "loading stale",
                "@stream",
                (0, 0, 0),
                "stream",
                "5.0.0",
                "Lists the XINFO subcommands.",
                xinfo_help,
            ),
        ],
    ),
];

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
const ID_TOO_SMALL: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";
const UNBLOCKED_KEY_GONE: &str = "UNBLOCKED the stream key no longer exists";

/// The keys of XREAD: the first half of what follows STREAMS.
fn xread_keys(args: Args<'_>) -> Vec<usize> {
    keys_after_streams(args, 1)
}

/// The keys of XREADGROUP: as XREAD's, the search for STREAMS starting after GROUP's arguments.
fn xreadgroup_keys(args: Args<'_>) -> Vec<usize> {
    keys_after_streams(args, 4)
}

fn keys_after_streams(args: Args<'_>, from: usize) -> Vec<usize> {
    let Some(at) = (from..args.len()).find(|&i| args.get(i).eq_ignore_ascii_case(b"streams"))
    else {
        return Vec::new();
    };
    let count = (args.len() - at - 1) / 2;
    (at + 1..at + 1 + count).collect()
}

fn parts<'c>(ctx: &'c mut Ctx<'_>) -> (&'c mut Db, &'c mut ReplyBuf) {
    let db = &mut ctx.state.dbs[ctx.db];
    db.clock_ms = ctx.now_ms;
    (db, &mut *ctx.out)
}

fn node_limits(ctx: &Ctx) -> NodeLimits {
    NodeLimits {
        max_entries: ctx.state.config.hot.stream_node_max_entries,
        max_bytes: ctx.state.config.hot.stream_node_max_bytes,
    }
}

/// The stream at `key` for reading (a keyspace hit or miss), if there is one.
fn stream_read<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: i64,
) -> Result<Option<&'d StreamValue>, CmdError> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The stream at `key` for writing, if there is one.
fn stream_mut<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: i64,
) -> Result<Option<&'d mut StreamValue>, CmdError> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Ids

/// Redis's string2ull: a strict integer, or failing that what C's strtoull accepts (leading
/// white space, a sign; a minus negates modulo 2^64).
fn string2ull(text: &[u8]) -> Option<u64> {
    if let Some(n) = parse_i64(text) {
        return u64::try_from(n).ok();
    }
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let mut rest = text.get(start..)?;
    let mut negative = false;
    if let Some((&sign, tail)) = rest.split_first() {
        if sign == b'+' || sign == b'-' {
            negative = sign == b'-';
            rest = tail;
        }
    }
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    for digit in rest {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// How an XADD id asks for its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddId {
    /// `<ms>-<seq>` (or `<ms>`).
    Explicit(StreamId),
    /// `<ms>-*`: the next sequence number in that millisecond.
    AutoSeq(u64),
}

/// Redis's streamGenericParseIDOrReply. `strict` refuses `-` and `+`; `auto_seq` accepts
/// `<ms>-*`. A missing sequence number is `missing_seq`.
fn parse_id_generic(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    auto_seq: bool,
) -> Result<AddId, CmdError> {
    if arg.len() > 127 {
        return Err(INVALID_ID.into());
    }
    // The text is handled as a C string.
    let text = arg.split(|&b| b == 0).next().unwrap_or_default();
    if text == b"-" || text == b"+" {
        if strict {
            return Err(INVALID_ID.into());
        }
        return Ok(AddId::Explicit(if text == b"-" {
            StreamId::MIN
        } else {
            StreamId::MAX
        }));
    }
    let (ms_text, seq_text) = match text.iter().position(|&b| b == b'-') {
        Some(dash) => (&text[..dash], Some(&text[dash + 1..])),
        None => (text, None),
    };
    let ms = string2ull(ms_text).ok_or(INVALID_ID)?;
    match seq_text {
        None => Ok(AddId::Explicit(StreamId::new(ms, missing_seq))),
        Some(b"*") if auto_seq => Ok(AddId::AutoSeq(ms)),
        Some(seq) => Ok(AddId::Explicit(StreamId::new(
            ms,
            string2ull(seq).ok_or(INVALID_ID)?,
        ))),
    }
}

fn parse_strict_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    match parse_id_generic(arg, missing_seq, true, false)? {
        AddId::Explicit(id) => Ok(id),
        AddId::AutoSeq(_) => Err(INVALID_ID.into()),
    }
}

fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    match parse_id_generic(arg, missing_seq, false, false)? {
        AddId::Explicit(id) => Ok(id),
        AddId::AutoSeq(_) => Err(INVALID_ID.into()),
    }
}

/// A range bound: an id, or `(id` for an exclusive one (Redis's streamParseIntervalIDOrReply).
fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_strict_id(&arg[1..], missing_seq)?, true))
    } else {
        Ok((parse_id(arg, missing_seq)?, false))
    }
}

fn range_start(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, exclusive) = parse_interval(arg, 0)?;
    if exclusive {
        id.next()
            .ok_or_else(|| "ERR invalid start ID for the interval".into())
    } else {
        Ok(id)
    }
}

fn range_end(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, exclusive) = parse_interval(arg, u64::MAX)?;
    if exclusive {
        id.prev()
            .ok_or_else(|| "ERR invalid end ID for the interval".into())
    } else {
        Ok(id)
    }
}

// ---------------------------------------------------------------------------------------------
// Replies

fn reply_id(out: &mut ReplyBuf, id: StreamId) {
    out.bulk(&id.to_bytes());
}

fn reply_entry(out: &mut ReplyBuf, id: StreamId, fields: &[&[u8]]) {
    out.array(2);
    reply_id(out, id);
    out.array(fields.len());
    for field in fields {
        out.bulk(field);
    }
}

fn reply_entries(out: &mut ReplyBuf, entries: &[EntryView<'_>]) {
    out.array(entries.len());
    for (id, fields) in entries {
        reply_entry(out, *id, fields);
    }
}

// ---------------------------------------------------------------------------------------------
// XADD, XTRIM

/// What XADD and XTRIM read before the id and fields (Redis's streamParseAddOrTrimArgsOrReply).
struct AddTrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// Most entries a trim removes (0: no cap).
    limit: u64,
    no_mkstream: bool,
    id: Option<AddId>,
    /// XADD: where the id (`*` or explicit) is.
    id_at: usize,
}

fn parse_add_trim(ctx: &Ctx, xadd: bool) -> Result<AddTrimArgs, CmdError> {
    const BOTH: &str =
        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
    let argc = ctx.argc();
    let mut parsed = AddTrimArgs {
        trim: None,
        approx: false,
        limit: 0,
        no_mkstream: false,
        id: None,
        id_at: argc,
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < argc {
        let more = argc - 1 - i;
        let opt = ctx.arg(i);
        if xadd && opt == b"*" {
            break;
        } else if (ctx.arg_is(i, "maxlen") || ctx.arg_is(i, "minid")) && more > 0 {
            if parsed.trim.is_some() {
                return Err(BOTH.into());
            }
            let maxlen = ctx.arg_is(i, "maxlen");
            parsed.approx = false;
            let next = ctx.arg(i + 1);
            if more >= 2 && next == b"~" {
                parsed.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = ctx.arg(i + 1);
            parsed.trim = Some(if maxlen {
                let max = parse_i64(value).ok_or(errors::NOT_INTEGER)?;
                if max < 0 {
                    return Err("ERR The MAXLEN argument must be >= 0.".into());
                }
                Trim::MaxLen(max as u64)
            } else {
                Trim::MinId(parse_strict_id(value, 0)?)
            });
            i += 1;
        } else if ctx.arg_is(i, "limit") && more > 0 {
            let limit = parse_i64(ctx.arg(i + 1)).ok_or(errors::NOT_INTEGER)?;
            if limit < 0 {
                return Err("ERR The LIMIT argument must be >= 0.".into());
            }
            parsed.limit = limit as u64;
            limit_given = true;
            i += 1;
        } else if xadd && ctx.arg_is(i, "nomkstream") {
            parsed.no_mkstream = true;
        } else if xadd {
            parsed.id = Some(parse_id_generic(opt, 0, true, true)?);
            break;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    parsed.id_at = i;
    if parsed.limit != 0 && parsed.trim.is_none() {
        return Err(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy".into(),
        );
    }
    if !xadd && parsed.trim.is_none() {
        return Err("ERR syntax error, XTRIM must be called with a trimming strategy".into());
    }
    if limit_given {
        if !parsed.approx {
            return Err(
                "ERR syntax error, LIMIT cannot be used without the special ~ option".into(),
            );
        }
    } else if parsed.approx {
        // Without LIMIT an approximate trim does a bounded amount of work, as in Redis.
        let per_node = ctx.state.config.hot.stream_node_max_entries as u64;
        parsed.limit = per_node.saturating_mul(100);
        if parsed.limit == 0 || parsed.limit > i64::MAX as u64 {
            parsed.limit = 10_000;
        }
    } else {
        parsed.limit = 0;
    }
    Ok(parsed)
}

/// The id XADD gives an entry, or the error Redis gives.
fn next_add_id(log: &Log, requested: Option<AddId>, now_ms: i64) -> Result<StreamId, CmdError> {
    let last = log.last_id;
    let id = match requested {
        None => {
            let ms = u64::try_from(now_ms).unwrap_or(0);
            if ms > last.ms {
                StreamId::new(ms, 0)
            } else {
                last.next().ok_or(ID_TOO_SMALL)?
            }
        }
        Some(AddId::Explicit(id)) => id,
        Some(AddId::AutoSeq(ms)) => {
            if ms == last.ms {
                // Redis reports the exhausted sequence this way.
                last.next()
                    .filter(|n| n.ms == ms)
                    .ok_or("ERR Elements are too large to be stored")?
            } else {
                StreamId::new(ms, 0)
            }
        }
    };
    if id <= last {
        return Err(ID_TOO_SMALL.into());
    }
    Ok(id)
}

fn xadd(ctx: &mut Ctx) -> CmdResult {
    let parsed = parse_add_trim(ctx, true)?;
    let argc = ctx.argc();
    let fields_at = parsed.id_at + 1;
    if argc < fields_at + 2 || (argc - fields_at) % 2 == 1 {
        return Err("ERR wrong number of arguments for 'xadd' command".into());
    }
    if parsed.id == Some(AddId::Explicit(StreamId::MIN)) {
        return Err("ERR The ID specified in XADD must be greater than 0-0".into());
    }
    let fields: Vec<&[u8]> = (fields_at..argc).map(|i| ctx.arg(i)).collect();
    let limits = node_limits(ctx);
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, out) = parts(ctx);
    let exists = stream_mut(db, key, now)?.is_some();
    if !exists {
        if parsed.no_mkstream {
            out.null();
            return Ok(());
        }
        db.set(key, Value::Stream(Box::default()));
    }
    let Some(stream) = stream_mut(db, key, now)? else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let log = &mut stream.log;
    if log.last_id == StreamId::MAX {
        return Err(
            "ERR The stream has exhausted the last possible ID, unable to add more items".into(),
        );
    }
    if fields.iter().map(|f| f.len()).sum::<usize>() > 1 << 30 {
        return Err("ERR Elements are too large to be stored".into());
    }
    let id = next_add_id(log, parsed.id, now)?;
    log.append(id, &fields, limits);
    let trimmed = match parsed.trim {
        Some(trim) => log.trim(trim, parsed.approx, parsed.limit),
        None => 0,
    };
    let length_after = log.length;
    reply_id(out, id);
    // Logged with the id the clock gave and, when it trimmed, the length it left: an
    // approximate trim depends on how entries sit in nodes, which a replay need not repeat.
    let mut logged = vec![b"XADD".to_vec(), key.to_vec(), id.to_bytes()];
    logged.extend(fields.iter().map(|f| f.to_vec()));
    ctx.propagate(logged);
    if trimmed > 0 {
        ctx.propagate(exact_trim(key, length_after));
    }
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    Ok(())
}

fn xtrim(ctx: &mut Ctx) -> CmdResult {
    let parsed = parse_add_trim(ctx, false)?;
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, _) = parts(ctx);
    let Some(stream) = stream_mut(db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let removed = match parsed.trim {
        Some(trim) => stream.log.trim(trim, parsed.approx, parsed.limit),
        None => 0,
    };
    if removed > 0 {
        let length_after = stream.log.length;
        ctx.propagate(exact_trim(key, length_after));
        ctx.notify(notify::STREAM, "xtrim", key);
        ctx.modified(key);
        ctx.state.dirty += removed - 1;
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// `XTRIM key MAXLEN = n`: how any trim is logged, by the length it left.
fn exact_trim(key: &[u8], length: u64) -> Vec<Vec<u8>> {
    vec![
        b"XTRIM".to_vec(),
        key.to_vec(),
        b"MAXLEN".to_vec(),
        b"=".to_vec(),
        length.to_string().into_bytes(),
    ]
}

// ---------------------------------------------------------------------------------------------
// XLEN, XRANGE, XREVRANGE, XDEL, XSETID

fn xlen(ctx: &mut Ctx) -> CmdResult {
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, out) = parts(ctx);
    let length = stream_read(db, key, now)?.map_or(0, |s| s.log.length);
    out.int(length as i64);
    Ok(())
}

fn xrange(ctx: &mut Ctx) -> CmdResult {
    range_command(ctx, false)
}

fn xrevrange(ctx: &mut Ctx) -> CmdResult {
    range_command(ctx, true)
}

fn range_command(ctx: &mut Ctx, rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (ctx.arg(3), ctx.arg(2))
    } else {
        (ctx.arg(2), ctx.arg(3))
    };
    let start = range_start(start_arg)?;
    let end = range_end(end_arg)?;
    let mut count: Option<u64> = None;
    let mut j = 4;
    while j < ctx.argc() {
        if ctx.arg_is(j, "count") && j + 1 < ctx.argc() {
            let n = parse_i64(ctx.arg(j + 1)).ok_or(errors::NOT_INTEGER)?;
            count = Some(n.max(0) as u64);
            j += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, out) = parts(ctx);
    let Some(stream) = stream_read(db, key, now)? else {
        out.array(0);
        return Ok(());
    };
    match count {
        Some(0) => out.null_array(),
        _ => {
            let limit = count.map_or(0, |c| usize::try_from(c).unwrap_or(usize::MAX));
            let entries = stream.log.range(start, end, rev, limit);
            reply_entries(out, &entries);
        }
    }
    Ok(())
}

fn xdel(ctx: &mut Ctx) -> CmdResult {
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, _) = parts(ctx);
    if stream_mut(db, key, now)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let ids = (2..ctx.argc())
        .map(|i| parse_strict_id(ctx.arg(i), 0))
        .collect::<Result<Vec<_>, _>>()?;
    let (db, _) = parts(ctx);
    let deleted = match stream_mut(db, key, now)? {
        Some(stream) => stream.log.delete_ids(&ids),
        None => 0,
    };
    if deleted > 0 {
        ctx.modified(key);
        ctx.notify(notify::STREAM, "xdel", key);
        ctx.state.dirty += deleted - 1;
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn xsetid(ctx: &mut Ctx) -> CmdResult {
    let id = parse_strict_id(ctx.arg(2), 0)?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < ctx.argc() {
        let more = ctx.argc() - 1 - i;
        if ctx.arg_is(i, "entriesadded") && more > 0 {
            let n = parse_i64(ctx.arg(i + 1)).ok_or(errors::NOT_INTEGER)?;
            if n < 0 {
                return Err("ERR entries_added must be positive".into());
            }
            entries_added = Some(n as u64);
        } else if ctx.arg_is(i, "maxdeletedid") && more > 0 {
            max_deleted = parse_strict_id(ctx.arg(i + 1), 0)?;
            if id < max_deleted {
                return Err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id".into());
            }
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let (db, _) = parts(ctx);
    let Some(stream) = stream_mut(db, key, now)? else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let log = &mut stream.log;
    if log.length > 0 {
        if id < log.last_valid_id() {
            return Err(
                "ERR The ID specified in XSETID is smaller than the target stream top item".into(),
            );
        }
        if entries_added.is_some_and(|n| log.length > n) {
            return Err("ERR The entries_added specified in XSETID is smaller than the target stream length".into());
        }
    }
    log.last_id = id;
    if let Some(n) = entries_added {
        log.entries_added = n;
    }
    if !max_deleted.is_zero() {
        log.max_deleted_id = max_deleted;
    }
    ctx.out.ok();
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xsetid", key);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XREAD, XREADGROUP

/// Where a read starts in one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadFrom {
    /// Entries after this id.
    After(StreamId),
    /// XREADGROUP's `>`: entries never delivered to the group.
    New,
}

fn xread(ctx: &mut Ctx) -> CmdResult {
    read_command(ctx, false)
}

fn xreadgroup(ctx: &mut Ctx) -> CmdResult {
    read_command(ctx, true)
}

/// XREAD BLOCK's timeout: whole milliseconds, 0 for none; the deadline on the server clock.
fn parse_ms_timeout(arg: &[u8], now_ms: i64) -> Result<Option<i64>, CmdError> {
    let ms = parse_i64(arg).ok_or("ERR timeout is not an integer or out of range")?;
    super::deadline_after_ms(ms, now_ms)
}

fn read_command(ctx: &mut Ctx, grouped: bool) -> CmdResult {
    let argc = ctx.argc();
    let mut block: Option<Option<i64>> = None;
    let mut count = 0usize;
    let mut noack = false;
    let mut group: Option<(&[u8], &[u8])> = None;
    let mut streams_at = 0;
    let mut streams = 0;
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        if ctx.arg_is(i, "block") && more > 0 {
            i += 1;
            block = Some(parse_ms_timeout(ctx.arg(i), ctx.now_ms)?);
        } else if ctx.arg_is(i, "count") && more > 0 {
            i += 1;
            let n = parse_i64(ctx.arg(i)).ok_or(errors::NOT_INTEGER)?;
            count = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
        } else if ctx.arg_is(i, "streams") && more > 0 {
            streams_at = i + 1;
            let listed = argc - streams_at;
            if !listed.is_multiple_of(2) {
                // Redis words this the same for XREADGROUP.
                return Err("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.".into());
            }
            streams = listed / 2;
            break;
        } else if ctx.arg_is(i, "group") && more >= 2 {
            if !grouped {
                return Err(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
                        .into(),
                );
            }
            group = Some((ctx.arg(i + 1), ctx.arg(i + 2)));
            i += 2;
        } else if ctx.arg_is(i, "noack") {
            if !grouped {
                return Err(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
                        .into(),
                );
            }
            noack = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if streams_at == 0 {
        return Err(errors::SYNTAX.into());
    }
    if grouped && group.is_none() {
        return Err("ERR Missing GROUP option for XREADGROUP".into());
    }

    let now = ctx.now_ms;
    let mut starts = Vec::with_capacity(streams);
    // `$` and `+` name the stream's state now: a client that blocks waits from there.
    let mut resolved: Vec<Option<StreamId>> = vec![None; streams];
    for (slot, arg_at) in (streams_at + streams..argc).enumerate() {
        let key = ctx.arg(arg_at - streams);
        let id_arg = ctx.arg(arg_at);
        let (db, _) = parts(ctx);
        let stream = stream_read(db, key, now)?;
        if let Some((group_name, _)) = group {
            if !stream.is_some_and(|s| s.groups.contains_key(group_name)) {
                return Err(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(group_name)
                )
                .into());
            }
        }
        let start = match id_arg {
            b"$" => {
                if grouped {
                    return Err("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.".into());
                }
                let id = stream.map_or(StreamId::MIN, |s| s.log.last_id);
                resolved[slot] = Some(id);
                ReadFrom::After(id)
            }
            b">" => {
                if !grouped {
                    return Err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.".into());
                }
                ReadFrom::New
            }
            b"+" => {
                if grouped {
                    return Err("ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set.".into());
                }
                let id = match stream.filter(|s| s.log.length > 0) {
                    Some(s) => s
                        .log
                        .last_valid_id()
                        .prev()
                        .ok_or("ERR the stream last element ID is 0-0")?,
                    None => StreamId::MIN,
                };
                resolved[slot] = Some(id);
                ReadFrom::After(id)
            }
            _ => ReadFrom::After(parse_strict_id(id_arg, 0)?),
        };
        starts.push(start);
    }

    let mut body = ReplyBuf::new(ctx.out.resp);
    let mut served = 0usize;
    let mut created_in: Vec<&[u8]> = Vec::new();
    let logging = ctx.state.logs_writes();
    let mut logged: Vec<Vec<Vec<u8>>> = Vec::new();
    for (slot, &start) in starts.iter().enumerate() {
        let key = ctx.arg(streams_at + slot);
        let (db, _) = parts(ctx);
        let Some(Value::Stream(stream)) = db.keys.get_mut(key).map(|e| &mut e.value) else {
            continue;
        };
        let StreamValue { log, groups } = &mut **stream;
        let mut section = ReplyBuf::new(body.resp);
        let did_serve = match group {
            Some((group_name, consumer_name)) => {
                let Some(group) = groups.get_mut(group_name) else {
                    continue;
                };
                let serve = match start {
                    ReadFrom::After(_) => true,
                    ReadFrom::New => log.length > 0 && log.last_valid_id() > group.last_id,
                };
                // As in Redis, a consumer appears (and is seen) when it is served.
                if serve {
                    let (consumer, created) = group.consumer_or_create(consumer_name, now);
                    consumer.seen_time = now;
                    if created {
                        created_in.push(key);
                    }
                    let last_id_before = group.last_id;
                    let delivered = match start {
                        ReadFrom::After(after) => serve_history(
                            &mut section,
                            log,
                            group,
                            consumer_name,
                            after,
                            count,
                            now,
                        ),
                        ReadFrom::New => {
                            serve_new(&mut section, log, group, consumer_name, count, noack, now)
                        }
                    };
                    if logging {
                        if created {
                            logged.push(consumer_record(key, group_name, consumer_name));
                        }
                        logged.extend(
                            delivered
                                .iter()
                                .filter_map(|&id| claim_record(key, group_name, group, id)),
                        );
                        if group.last_id != last_id_before {
                            logged.push(position_record(key, group_name, group));
                        }
                    }
                }
                serve
            }
            None => {
                let ReadFrom::After(after) = start else {
                    continue;
                };
                if log.length > 0 && log.last_valid_id() > after {
                    let entries = match after.next() {
                        Some(from) => log.range(from, StreamId::MAX, false, count),
                        None => Vec::new(),
                    };
                    reply_entries(&mut section, &entries);
                    true
                } else {
                    false
                }
            }
        };
        if did_serve {
            served += 1;
            if !body.is_resp3() {
                body.array(2);
            }
            body.bulk(key);
            body.raw(&section.buf);
            if grouped {
                ctx.state.dirty += 1;
            }
        }
    }
    ctx.state.dirty += created_in.len() as u64;
    for key in created_in {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    for record in logged {
        ctx.propagate(record);
    }

    if served > 0 {
        if ctx.out.is_resp3() {
            ctx.out.map(served);
        } else {
            ctx.out.array(served);
        }
        ctx.out.raw(&body.buf);
        return Ok(());
    }
    match block {
        Some(deadline_ms) if ctx.may_block() => {
            let keys = (streams_at..streams_at + streams)
                .map(|i| ctx.arg(i).to_vec())
                .collect();
            let rewritten_args = resolved.iter().any(Option::is_some).then(|| {
                (0..argc)
                    .map(|i| {
                        let slot = i.checked_sub(streams_at + streams);
                        match slot.and_then(|s| resolved.get(s).copied().flatten()) {
                            Some(id) => id.to_bytes(),
                            None => ctx.arg(i).to_vec(),
                        }
                    })
                    .collect()
            });
            ctx.block_on(BlockRequest {
                keys,
                deadline_ms,
                waits_for: "stream",
                rewritten_args,
                on_missing_key: grouped.then_some(UNBLOCKED_KEY_GONE),
            });
        }
        _ => ctx.out.null_array(),
    }
    Ok(())
}

/// XREADGROUP with an id: the consumer's own pending entries after `after`, delivered again.
/// Returns the ids delivered.
fn serve_history(
    out: &mut ReplyBuf,
    log: &Log,
    group: &mut Group,
    consumer_name: &[u8],
    after: StreamId,
    count: usize,
    now: i64,
) -> Vec<StreamId> {
    let ids: Vec<StreamId> = match (after.next(), group.consumers.get(consumer_name)) {
        (Some(from), Some(consumer)) => consumer
            .pending
            .range(from..)
            .take(if count == 0 { usize::MAX } else { count })
            .copied()
            .collect(),
        _ => Vec::new(),
    };
    out.array(ids.len());
    let mut delivered = Vec::with_capacity(ids.len());
    for id in ids {
        match log.get(id) {
            Some(fields) => {
                reply_entry(out, id, &fields);
                if let Some(pending) = group.pending.get_mut(&id) {
                    pending.delivery_time = now;
                    pending.delivery_count += 1;
                    delivered.push(id);
                }
            }
            None => {
                // Deleted since it was delivered: the id, and no fields.
                out.array(2);
                reply_id(out, id);
                out.null_array();
            }
        }
    }
    delivered
}

/// XREADGROUP with `>`: entries after the group's last delivered id, now pending for the
/// consumer (unless NOACK). Returns the ids delivered.
fn serve_new(
    out: &mut ReplyBuf,
    log: &Log,
    group: &mut Group,
    consumer_name: &[u8],
    count: usize,
    noack: bool,
    now: i64,
) -> Vec<StreamId> {
    let entries = match group.last_id.next() {
        Some(from) => log.range(from, StreamId::MAX, false, count),
        None => Vec::new(),
    };
    for (id, _) in &entries {
        advance_group(log, group, *id);
        if !noack {
            group.deliver(*id, consumer_name, now);
        }
    }
    if !entries.is_empty() {
        if let Some(consumer) = group.consumers.get_mut(consumer_name) {
            consumer.active_time = now;
        }
    }
    reply_entries(out, &entries);
    entries.iter().map(|(id, _)| *id).collect()
}

/// How the AOF logs an entry a group command delivered or claimed, as Redis does: an XCLAIM
/// that replays to the same owner, delivery time and count whatever the clock says then.
fn claim_record(
    key: &[u8],
    group_name: &[u8],
    group: &Group,
    id: StreamId,
) -> Option<Vec<Vec<u8>>> {
    let pending = group.pending.get(&id)?;
    Some(vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group_name.to_vec(),
        pending.consumer.to_vec(),
        b"0".to_vec(),
        id.to_bytes(),
        b"TIME".to_vec(),
        pending.delivery_time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        pending.delivery_count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        group.last_id.to_bytes(),
    ])
}

/// How the AOF logs a group's position: XGROUP SETID with its read counter.
fn position_record(key: &[u8], group_name: &[u8], group: &Group) -> Vec<Vec<u8>> {
    let mut record = vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group_name.to_vec(),
        group.last_id.to_bytes(),
    ];
    if let Some(read) = group.entries_read {
        record.push(b"ENTRIESREAD".to_vec());
        record.push(read.to_string().into_bytes());
    }
    record
}

/// How the AOF logs a consumer a group command created.
fn consumer_record(key: &[u8], group_name: &[u8], consumer_name: &[u8]) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"CREATECONSUMER".to_vec(),
        key.to_vec(),
        group_name.to_vec(),
        consumer_name.to_vec(),
    ]
}

/// Moves a group's last delivered id to `id`, keeping its read counter when it can be known.
fn advance_group(log: &Log, group: &mut Group, id: StreamId) {
    if id <= group.last_id {
        return;
    }
    match group.entries_read {
        Some(read) if !log.range_has_tombstones(id, StreamId::MAX) => {
            group.entries_read = Some(read + 1);
        }
        _ => {
            if log.entries_added > 0 {
                group.entries_read = log.entries_up_to(id);
            }
        }
    }
    group.last_id = id;
}

// ---------------------------------------------------------------------------------------------
// XGROUP

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

fn xgroup_help(ctx: &mut Ctx) -> CmdResult {
    reply_help(ctx.out, "XGROUP", XGROUP_HELP);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum GroupOp {
    Create,
    SetId,
    Destroy,
    CreateConsumer,
    DelConsumer,
}

/// What every XGROUP subcommand checks first, in Redis's order: its options, the key, and
/// (for those that need it) the group. Returns whether MKSTREAM was given and the
/// ENTRIESREAD value.
fn xgroup_prelude(ctx: &mut Ctx, op: GroupOp) -> Result<(bool, Option<u64>), CmdError> {
    let mut mkstream = false;
    let mut entries_read: Option<u64> = None;
    let mut i = 5;
    while i < ctx.argc() {
        if op == GroupOp::Create && ctx.arg_is(i, "mkstream") {
            mkstream = true;
            i += 1;
        } else if matches!(op, GroupOp::Create | GroupOp::SetId)
            && ctx.arg_is(i, "entriesread")
            && i + 1 < ctx.argc()
        {
            let n = parse_i64(ctx.arg(i + 1)).ok_or(errors::NOT_INTEGER)?;
            if n < -1 {
                return Err("ERR value for ENTRIESREAD must be positive or -1".into());
            }
            entries_read = u64::try_from(n).ok();
            i += 2;
        } else {
            return Err(subcommand_syntax_error(ctx, "XGROUP"));
        }
    }
    let (key, group_name, now) = (ctx.arg(2), ctx.arg(3), ctx.now_ms);
    let (db, _) = parts(ctx);
    let stream = stream_mut(db, key, now)?;
    if stream.is_none() && !mkstream {
        return Err("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.".into());
    }
    let has_group = stream.is_some_and(|s| s.groups.contains_key(group_name));
    if !has_group
        && matches!(
            op,
            GroupOp::SetId | GroupOp::CreateConsumer | GroupOp::DelConsumer
        )
    {
        return Err(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(group_name),
            String::from_utf8_lossy(key)
        )
        .into());
    }
    Ok((mkstream, entries_read))
}

/// The stream an XGROUP subcommand works on, which its prelude found.
fn prelude_stream<'c>(ctx: &'c mut Ctx) -> Result<&'c mut StreamValue, CmdError> {
    let (key, now) = (ctx.arg(2), ctx.now_ms);
    let (db, _) = parts(ctx);
    stream_mut(db, key, now)?.ok_or_else(|| errors::NO_SUCH_KEY.into())
}

fn xgroup_create(ctx: &mut Ctx) -> CmdResult {
    let (mkstream, entries_read) = xgroup_prelude(ctx, GroupOp::Create)?;
    if ctx.argc() > 8 {
        return Err(subcommand_syntax_error(ctx, "XGROUP"));
    }
    let (key, now) = (ctx.arg(2), ctx.now_ms);
    let id = if ctx.arg(4) == b"$" {
        let (db, _) = parts(ctx);
        stream_mut(db, key, now)?.map_or(StreamId::MIN, |s| s.log.last_id)
    } else {
        parse_strict_id(ctx.arg(4), 0)?
    };
    let (db, _) = parts(ctx);
    let create_stream = mkstream && stream_mut(db, key, now)?.is_none();
    if create_stream {
        db.set(key, Value::Stream(Box::default()));
    }
    let group_name = ctx.arg(3);
    let stream = prelude_stream(ctx)?;
    if stream.groups.contains_key(group_name) {
        return Err("BUSYGROUP Consumer Group name already exists".into());
    }
    stream
        .groups
        .insert(group_name.to_vec(), Group::new(id, entries_read));
    if create_stream {
        ctx.modified(key);
    } else {
        ctx.state.dirty += 1;
    }
    ctx.notify(notify::STREAM, "xgroup-create", key);
    ctx.out.ok();
    Ok(())
}

fn xgroup_setid(ctx: &mut Ctx) -> CmdResult {
    let (_, entries_read) = xgroup_prelude(ctx, GroupOp::SetId)?;
    if ctx.argc() != 5 && ctx.argc() != 7 {
        return Err(subcommand_syntax_error(ctx, "XGROUP"));
    }
    let (group_name, id_arg) = (ctx.arg(3), ctx.arg(4));
    let stream = prelude_stream(ctx)?;
    let id = if id_arg == b"$" {
        stream.log.last_id
    } else {
        parse_id(id_arg, 0)?
    };
    if let Some(group) = stream.groups.get_mut(group_name) {
        group.last_id = id;
        group.entries_read = entries_read;
    }
    ctx.state.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-setid", ctx.arg(2));
    ctx.out.ok();
    Ok(())
}

fn xgroup_destroy(ctx: &mut Ctx) -> CmdResult {
    xgroup_prelude(ctx, GroupOp::Destroy)?;
    let (key, group_name) = (ctx.arg(2), ctx.arg(3));
    let stream = prelude_stream(ctx)?;
    if stream.groups.remove(group_name).is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    ctx.state.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-destroy", key);
    // Its blocked readers must learn the group is gone.
    ctx.state.blocking.key_written(ctx.db, key);
    ctx.out.int(1);
    Ok(())
}

fn xgroup_createconsumer(ctx: &mut Ctx) -> CmdResult {
    xgroup_prelude(ctx, GroupOp::CreateConsumer)?;
    let (group_name, consumer_name, now) = (ctx.arg(3), ctx.arg(4), ctx.now_ms);
    let stream = prelude_stream(ctx)?;
    let created = match stream.groups.get_mut(group_name) {
        Some(group) => group.consumer_or_create(consumer_name, now).1,
        None => false,
    };
    if created {
        ctx.state.dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-createconsumer", ctx.arg(2));
    }
    ctx.out.int(i64::from(created));
    Ok(())
}

fn xgroup_delconsumer(ctx: &mut Ctx) -> CmdResult {
    xgroup_prelude(ctx, GroupOp::DelConsumer)?;
    let (group_name, consumer_name) = (ctx.arg(3), ctx.arg(4));
    let stream = prelude_stream(ctx)?;
    let pending = stream
        .groups
        .get_mut(group_name)
        .and_then(|g| g.remove_consumer(consumer_name))
        .unwrap_or(0);
    ctx.state.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-delconsumer", ctx.arg(2));
    ctx.out.int(pending as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XACK, XPENDING, XCLAIM, XAUTOCLAIM

fn no_key_or_group(key: &[u8], group: &[u8]) -> CmdError {
    format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    )
    .into()
}

fn xack(ctx: &mut Ctx) -> CmdResult {
    let (key, group_name, now) = (ctx.arg(1), ctx.arg(2), ctx.now_ms);
    let (db, _) = parts(ctx);
    let has_group = stream_read(db, key, now)?.is_some_and(|s| s.groups.contains_key(group_name));
    if !has_group {
        ctx.out.int(0);
        return Ok(());
    }
    let ids = (3..ctx.argc())
        .map(|i| parse_strict_id(ctx.arg(i), 0))
        .collect::<Result<Vec<_>, _>>()?;
    let (db, _) = parts(ctx);
    let mut acked = 0;
    if let Some(group) = stream_mut(db, key, now)?.and_then(|s| s.groups.get_mut(group_name)) {
        for id in ids {
            if group.ack(id) {
                acked += 1;
            }
        }
    }
    ctx.state.dirty += acked;
    ctx.out.int(acked as i64);
    Ok(())
}

fn xpending(ctx: &mut Ctx) -> CmdResult {
    let argc = ctx.argc();
    let summary = argc == 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(errors::SYNTAX.into());
    }
    let mut range = (StreamId::MIN, StreamId::MAX);
    let mut count = 0usize;
    let mut min_idle = 0i64;
    let mut consumer_filter: Option<&[u8]> = None;
    if argc >= 6 {
        let mut at = 3;
        if ctx.arg_is(3, "idle") {
            min_idle = parse_i64(ctx.arg(4)).ok_or(errors::NOT_INTEGER)?;
            if argc < 8 {
                return Err(errors::SYNTAX.into());
            }
            at += 2;
        }
        let n = parse_i64(ctx.arg(at + 2)).ok_or(errors::NOT_INTEGER)?;
        count = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
        range = (range_start(ctx.arg(at))?, range_end(ctx.arg(at + 1))?);
        if at + 3 < argc {
            consumer_filter = Some(ctx.arg(at + 3));
        }
    }
    let (key, group_name, now) = (ctx.arg(1), ctx.arg(2), ctx.now_ms);
    let (db, out) = parts(ctx);
    let Some(group) = stream_read(db, key, now)?.and_then(|s| s.groups.get(group_name)) else {
        return Err(no_key_or_group(key, group_name));
    };
    if summary {
        out.array(4);
        out.int(group.pending.len() as i64);
        match (
            group.pending.keys().next(),
            group.pending.keys().next_back(),
        ) {
            (Some(&first), Some(&last)) => {
                reply_id(out, first);
                reply_id(out, last);
                let busy: Vec<_> = group
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pending.is_empty())
                    .collect();
                out.array(busy.len());
                for (name, consumer) in busy {
                    out.array(2);
                    out.bulk(name);
                    out.bulk_int(consumer.pending.len() as i64);
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    }
    let ids: Vec<StreamId> = match consumer_filter {
        Some(name) => match group.consumers.get(name) {
            Some(consumer) => consumer.pending.iter().copied().collect(),
            None => {
                out.array(0);
                return Ok(());
            }
        },
        None => group.pending.keys().copied().collect(),
    };
    let (start, end) = range;
    let mut rows = Vec::new();
    if start <= end {
        for id in ids.into_iter().filter(|id| *id >= start && *id <= end) {
            if rows.len() >= count {
                break;
            }
            let Some(pending) = group.pending.get(&id) else {
                continue;
            };
            if min_idle != 0 && now - pending.delivery_time < min_idle {
                continue;
            }
            rows.push((id, pending));
        }
    }
    out.array(rows.len());
    for (id, pending) in rows {
        out.array(4);
        reply_id(out, id);
        out.bulk(&pending.consumer);
        out.int((now - pending.delivery_time).max(0));
        out.int(pending.delivery_count as i64);
    }
    Ok(())
}

fn xclaim(ctx: &mut Ctx) -> CmdResult {
    let (key, group_name, consumer_name, now) = (ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.now_ms);
    let logging = ctx.state.logs_writes();
    let (db, _) = parts(ctx);
    let has_group = stream_read(db, key, now)?.is_some_and(|s| s.groups.contains_key(group_name));
    if !has_group {
        return Err(no_key_or_group(key, group_name));
    }
    let min_idle = parse_i64(ctx.arg(4))
        .ok_or("ERR Invalid min-idle-time argument for XCLAIM")?
        .max(0);
    let argc = ctx.argc();
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argc {
        match parse_strict_id(ctx.arg(j), 0) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let mut force = false;
    let mut justid = false;
    let mut delivery_time: Option<i64> = None;
    let mut retry_count: Option<i64> = None;
    let mut last_id = StreamId::MIN;
    while j < argc {
        let more = argc - 1 - j;
        if ctx.arg_is(j, "force") {
            force = true;
        } else if ctx.arg_is(j, "justid") {
            justid = true;
        } else if ctx.arg_is(j, "idle") && more > 0 {
            j += 1;
            let idle =
                parse_i64(ctx.arg(j)).ok_or("ERR Invalid IDLE option argument for XCLAIM")?;
            delivery_time = Some(now.wrapping_sub(idle));
        } else if ctx.arg_is(j, "time") && more > 0 {
            j += 1;
            delivery_time =
                Some(parse_i64(ctx.arg(j)).ok_or("ERR Invalid TIME option argument for XCLAIM")?);
        } else if ctx.arg_is(j, "retrycount") && more > 0 {
            j += 1;
            retry_count = Some(
                parse_i64(ctx.arg(j)).ok_or("ERR Invalid RETRYCOUNT option argument for XCLAIM")?,
            );
        } else if ctx.arg_is(j, "lastid") && more > 0 {
            j += 1;
            last_id = parse_strict_id(ctx.arg(j), 0)?;
        } else {
            return Err(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(ctx.arg(j))
            )
            .into());
        }
        j += 1;
    }
    // A bogus time (negative, or in the future) means now, as in Redis.
    let delivery_time = match delivery_time {
        Some(t) if t >= 0 && t <= now => t,
        _ => now,
    };

    let (db, out) = parts(ctx);
    let Some(stream) = stream_mut(db, key, now)? else {
        return Err(no_key_or_group(key, group_name));
    };
    let StreamValue { log, groups } = stream;
    let Some(group) = groups.get_mut(group_name) else {
        return Err(no_key_or_group(key, group_name));
    };
    if last_id > group.last_id {
        group.last_id = last_id;
    }
    let (consumer, created) = group.consumer_or_create(consumer_name, now);
    consumer.seen_time = now;
    let mut claimed: Vec<(StreamId, Option<Vec<&[u8]>>)> = Vec::new();
    let mut acked = Vec::new();
    let mut changes = u64::from(created);
    for id in ids {
        let Some(fields) = log.get(id) else {
            // The entry is gone: so is its pending record.
            if group.ack(id) {
                acked.push(id);
                changes += 1;
            }
            continue;
        };
        let existing = group.pending.get(&id).map(|p| p.delivery_time);
        match existing {
            None if force => {
                group.deliver(id, consumer_name, delivery_time);
                if let Some(p) = group.pending.get_mut(&id) {
                    p.delivery_count = 0;
                }
            }
            None => continue,
            Some(delivered) => {
                if min_idle != 0 && now - delivered < min_idle {
                    continue;
                }
                group.reassign(id, consumer_name);
            }
        }
        if let Some(p) = group.pending.get_mut(&id) {
            p.delivery_time = delivery_time;
            match retry_count {
                Some(n) if n >= 0 => p.delivery_count = n as u64,
                _ if !justid => p.delivery_count += 1,
                _ => {}
            }
        }
        claimed.push((id, (!justid).then_some(fields)));
        changes += 1;
    }
    if !claimed.is_empty() {
        if let Some(c) = group.consumers.get_mut(consumer_name) {
            c.active_time = now;
        }
    }
    reply_claimed(out, &claimed);
    let logged = logging.then(|| {
        claim_log(
            key,
            group_name,
            group,
            consumer_name,
            created,
            &claimed,
            &acked,
        )
    });
    announce_claims(ctx, key, created, changes, logged);
    Ok(())
}

/// The claimed entries, as XCLAIM and XAUTOCLAIM reply them (ids alone under JUSTID).
fn reply_claimed(out: &mut ReplyBuf, claimed: &[(StreamId, Option<Vec<&[u8]>>)]) {
    out.array(claimed.len());
    for (id, fields) in claimed {
        match fields {
            Some(fields) => reply_entry(out, *id, fields),
            None => reply_id(out, *id),
        }
    }
}

/// What a claim announces once its reply is written: the changes, a created consumer's event,
/// and what the AOF logs for it.
fn announce_claims(
    ctx: &mut Ctx,
    key: &[u8],
    created: bool,
    changes: u64,
    logged: Option<Vec<Vec<Vec<u8>>>>,
) {
    ctx.state.dirty += changes;
    if created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    for record in logged.into_iter().flatten() {
        ctx.propagate(record);
    }
}

/// What the AOF logs for XCLAIM and XAUTOCLAIM: the consumer if they created it, each claimed
/// entry in its replayable XCLAIM form, and an XACK for pending records of deleted entries.
fn claim_log(
    key: &[u8],
    group_name: &[u8],
    group: &Group,
    consumer_name: &[u8],
    created: bool,
    claimed: &[(StreamId, Option<Vec<&[u8]>>)],
    acked: &[StreamId],
) -> Vec<Vec<Vec<u8>>> {
    let mut logged = Vec::new();
    if created {
        logged.push(consumer_record(key, group_name, consumer_name));
    }
    logged.extend(
        claimed
            .iter()
            .filter_map(|(id, _)| claim_record(key, group_name, group, *id)),
    );
    for id in acked {
        logged.push(vec![
            b"XACK".to_vec(),
            key.to_vec(),
            group_name.to_vec(),
            id.to_bytes(),
        ]);
    }
    logged
}

fn xautoclaim(ctx: &mut Ctx) -> CmdResult {
    let (key, group_name, consumer_name, now) = (ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.now_ms);
    let logging = ctx.state.logs_writes();
    let min_idle = parse_i64(ctx.arg(4))
        .ok_or("ERR Invalid min-idle-time argument for XAUTOCLAIM")?
        .max(0);
    let start = range_start(ctx.arg(5))?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < ctx.argc() {
        let more = ctx.argc() - 1 - j;
        if ctx.arg_is(j, "count") && more > 0 {
            // Redis bounds COUNT so that its attempt budget (10 per entry) fits a long.
            let max = i64::MAX / 16;
            count = parse_i64(ctx.arg(j + 1))
                .filter(|n| (1..=max).contains(n))
                .ok_or("ERR COUNT must be > 0")?;
            j += 1;
        } else if ctx.arg_is(j, "justid") {
            justid = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    let (db, out) = parts(ctx);
    let Some(stream) = stream_mut(db, key, now)? else {
        return Err(no_key_or_group(key, group_name));
    };
    let StreamValue { log, groups } = stream;
    let Some(group) = groups.get_mut(group_name) else {
        return Err(no_key_or_group(key, group_name));
    };
    let (consumer, created) = group.consumer_or_create(consumer_name, now);
    consumer.seen_time = now;
    let mut changes = u64::from(created);
    let mut attempts = count.saturating_mul(10);
    let mut remaining = count;
    let mut claimed: Vec<(StreamId, Option<Vec<&[u8]>>)> = Vec::new();
    let mut deleted: Vec<StreamId> = Vec::new();
    let mut cursor = Some(start);
    while attempts > 0 && remaining > 0 {
        attempts -= 1;
        let Some(from) = cursor else {
            break;
        };
        let Some((&id, pending)) = group.pending.range(from..).next() else {
            cursor = None;
            break;
        };
        cursor = id.next();
        let Some(fields) = log.get(id) else {
            group.ack(id);
            deleted.push(id);
            remaining -= 1;
            changes += 1;
            continue;
        };
        if min_idle != 0 && now - pending.delivery_time < min_idle {
            continue;
        }
        group.reassign(id, consumer_name);
        if let Some(p) = group.pending.get_mut(&id) {
            p.delivery_time = now;
            if !justid {
                p.delivery_count += 1;
            }
        }
        claimed.push((id, (!justid).then_some(fields)));
        remaining -= 1;
        changes += 1;
    }
    let next = cursor
        .and_then(|from| group.pending.range(from..).next().map(|(&id, _)| id))
        .unwrap_or(StreamId::MIN);
    if !claimed.is_empty() {
        if let Some(c) = group.consumers.get_mut(consumer_name) {
            c.active_time = now;
        }
    }
    out.array(3);
    reply_id(out, next);
    reply_claimed(out, &claimed);
    out.array(deleted.len());
    for id in &deleted {
        reply_id(out, *id);
    }
    let logged = logging.then(|| {
        claim_log(
            key,
            group_name,
            group,
            consumer_name,
            created,
            &claimed,
            &deleted,
        )
    });
    announce_claims(ctx, key, created, changes, logged);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XINFO

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

fn xinfo_help(ctx: &mut Ctx) -> CmdResult {
    reply_help(ctx.out, "XINFO", XINFO_HELP);
    Ok(())
}

/// The stream XINFO describes: `ERR no such key` when there is none.
fn xinfo_target<'c>(ctx: &'c mut Ctx) -> Result<(&'c StreamValue, &'c mut ReplyBuf), CmdError> {
    let (key, now) = (ctx.arg(2), ctx.now_ms);
    let (db, out) = parts(ctx);
    match stream_read(db, key, now)? {
        Some(stream) => Ok((stream, out)),
        None => Err(errors::NO_SUCH_KEY.into()),
    }
}

/// A group's lag: entries added and not yet read by it, when that can be known.
fn group_lag(log: &Log, group: &Group) -> Option<u64> {
    if log.entries_added == 0 {
        return Some(0);
    }
    if let Some(read) = group.entries_read {
        if !log.range_has_tombstones(group.last_id, StreamId::MAX) {
            return Some(log.entries_added.saturating_sub(read));
        }
    }
    log.entries_up_to(group.last_id)
        .map(|read| log.entries_added.saturating_sub(read))
}

fn reply_optional_int(out: &mut ReplyBuf, value: Option<u64>) {
    match value {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
}

/// Nodes of the radix tree Redis would hold the same node keys in (XINFO's
/// `radix-tree-nodes`): compressed runs and branching points of the 16-byte big-endian ids.
fn radix_tree_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return 1;
    };
    if depth >= 16 {
        return 1;
    }
    let common = (depth..16).take_while(|&i| first[i] == last[i]).count();
    if common > 0 {
        return 1 + radix_tree_nodes(keys, depth + common);
    }
    let mut nodes = 1;
    let mut rest = keys;
    while let Some(head) = rest.first() {
        let split = rest
            .iter()
            .position(|k| k[depth] != head[depth])
            .unwrap_or(rest.len());
        nodes += radix_tree_nodes(&rest[..split], depth + 1);
        rest = &rest[split..];
    }
    nodes
}

fn xinfo_stream(ctx: &mut Ctx) -> CmdResult {
    let argc = ctx.argc();
    let mut full = false;
    let mut count: u64 = 10;
    if argc > 3 {
        if (argc != 4 && argc != 6) || !ctx.arg_is(3, "full") {
            return Err(subcommand_syntax_error(ctx, "XINFO"));
        }
        full = true;
        if argc == 6 {
            if !ctx.arg_is(4, "count") {
                return Err(subcommand_syntax_error(ctx, "XINFO"));
            }
            let n = parse_i64(ctx.arg(5)).ok_or(errors::NOT_INTEGER)?;
            count = if n < 0 { 10 } else { n as u64 };
        }
    }
    let (stream, out) = xinfo_target(ctx)?;
    let log = &stream.log;
    let node_keys: Vec<[u8; 16]> = log
        .node_ids()
        .map(|id| {
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&id.ms.to_be_bytes());
            key[8..].copy_from_slice(&id.seq.to_be_bytes());
            key
        })
        .collect();
    let tree_nodes = if node_keys.is_empty() {
        1
    } else {
        radix_tree_nodes(&node_keys, 0)
    };
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(log.length as i64);
    out.bulk(b"radix-tree-keys");
    out.int(log.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(tree_nodes as i64);
    out.bulk(b"last-generated-id");
    reply_id(out, log.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, log.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(log.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, log.first_id);
    let limit = usize::try_from(count).unwrap_or(usize::MAX);
    if !full {
        out.bulk(b"groups");
        out.int(stream.groups.len() as i64);
        for (label, rev) in [(&b"first-entry"[..], false), (b"last-entry", true)] {
            out.bulk(label);
            match log.range(StreamId::MIN, StreamId::MAX, rev, 1).first() {
                Some((id, fields)) => reply_entry(out, *id, fields),
                None => out.null(),
            }
        }
        return Ok(());
    }
    out.bulk(b"entries");
    reply_entries(out, &log.range(StreamId::MIN, StreamId::MAX, false, limit));
    out.bulk(b"groups");
    out.array(stream.groups.len());
    let take = if limit == 0 { usize::MAX } else { limit };
    for (name, group) in &stream.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, group.last_id);
        out.bulk(b"entries-read");
        reply_optional_int(out, group.entries_read);
        out.bulk(b"lag");
        reply_optional_int(out, group_lag(log, group));
        out.bulk(b"pel-count");
        out.int(group.pending.len() as i64);
        out.bulk(b"pending");
        let shown = group.pending.len().min(take);
        out.array(shown);
        for (id, pending) in group.pending.iter().take(shown) {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&pending.consumer);
            out.int(pending.delivery_time);
            out.int(pending.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(group.consumers.len());
        for (consumer_name, consumer) in &group.consumers {
            out.map(5);
            out.bulk(b"name");
            out.bulk(consumer_name);
            out.bulk(b"seen-time");
            out.int(consumer.seen_time);
            out.bulk(b"active-time");
            out.int(consumer.active_time);
            out.bulk(b"pel-count");
            out.int(consumer.pending.len() as i64);
            out.bulk(b"pending");
            let shown = consumer.pending.len().min(take);
            out.array(shown);
            for id in consumer.pending.iter().take(shown) {
                out.array(3);
                reply_id(out, *id);
                let (time, deliveries) = group
                    .pending
                    .get(id)
                    .map_or((0, 0), |p| (p.delivery_time, p.delivery_count));
                out.int(time);
                out.int(deliveries as i64);
            }
        }
    }
    Ok(())
}

fn xinfo_groups(ctx: &mut Ctx) -> CmdResult {
    let (stream, out) = xinfo_target(ctx)?;
    out.array(stream.groups.len());
    for (name, group) in &stream.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(group.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(group.pending.len() as i64);
        out.bulk(b"last-delivered-id");
        reply_id(out, group.last_id);
        out.bulk(b"entries-read");
        reply_optional_int(out, group.entries_read);
        out.bulk(b"lag");
        reply_optional_int(out, group_lag(&stream.log, group));
    }
    Ok(())
}

fn xinfo_consumers(ctx: &mut Ctx) -> CmdResult {
    let (key, group_name, now) = (ctx.arg(2), ctx.arg(3), ctx.now_ms);
    let (stream, out) = xinfo_target(ctx)?;
    let Some(group) = stream.groups.get(group_name) else {
        return Err(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(group_name),
            String::from_utf8_lossy(key)
        )
        .into());
    };
    out.array(group.consumers.len());
    for (name, consumer) in &group.consumers {
        out.map(4);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(consumer.pending.len() as i64);
        out.bulk(b"idle");
        out.int((now - consumer.seen_time).max(0));
        out.bulk(b"inactive");
        out.int(if consumer.active_time < 0 {
            -1
        } else {
            (now - consumer.active_time).max(0)
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis_reads_them() {
        assert_eq!(parse_strict_id(b"5", 0), Ok(StreamId::new(5, 0)));
        assert_eq!(parse_id(b"5", u64::MAX), Ok(StreamId::new(5, u64::MAX)));
        assert_eq!(parse_strict_id(b"5-3", 0), Ok(StreamId::new(5, 3)));
        assert_eq!(parse_id(b"-", 0), Ok(StreamId::MIN));
        assert_eq!(parse_id(b"+", 0), Ok(StreamId::MAX));
        assert!(parse_strict_id(b"+", 0).is_err());
        assert!(parse_strict_id(b"5-", 0).is_err());
        assert!(parse_strict_id(b"-5", 0).is_err());
        assert!(parse_strict_id(b"5-x", 0).is_err());
        assert_eq!(
            parse_strict_id(b" 7", 0),
            Ok(StreamId::new(7, 0)),
            "strtoull"
        );
        assert_eq!(
            parse_id_generic(b"9-*", 0, true, true),
            Ok(AddId::AutoSeq(9))
        );
        assert!(parse_strict_id(b"9-*", 0).is_err());
        assert_eq!(
            parse_strict_id(b"18446744073709551615-18446744073709551615", 0),
            Ok(StreamId::MAX)
        );
        assert!(parse_strict_id(b"18446744073709551616", 0).is_err());
    }

    #[test]
    fn auto_ids_never_go_backwards() {
        let mut log = Log::default();
        let limits = NodeLimits {
            max_entries: 100,
            max_bytes: 4096,
        };
        log.append(StreamId::new(1000, 5), &[b"f", b"v"], limits);
        assert_eq!(next_add_id(&log, None, 999), Ok(StreamId::new(1000, 6)));
        assert_eq!(next_add_id(&log, None, 1001), Ok(StreamId::new(1001, 0)));
        assert_eq!(
            next_add_id(&log, Some(AddId::AutoSeq(1000)), 0),
            Ok(StreamId::new(1000, 6))
        );
        assert!(next_add_id(&log, Some(AddId::AutoSeq(999)), 0).is_err());
        assert!(next_add_id(&log, Some(AddId::Explicit(StreamId::new(1000, 5))), 0).is_err());
    }

    #[test]
    fn radix_tree_nodes_count_runs_and_branches() {
        let key = |ms: u64| {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&ms.to_be_bytes());
            k
        };
        assert_eq!(radix_tree_nodes(&[key(1)], 0), 2);
        // One shared run, a branch, and two leaves.
        assert_eq!(radix_tree_nodes(&[key(1), key(2)], 0), 6);
    }
}
