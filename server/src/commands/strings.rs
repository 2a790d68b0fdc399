//! The string family: GET/SET and their variants, counters, ranges and LCS.

use std::sync::atomic::Ordering;

use super::table::{command, CommandDef};
use super::{errors, CmdError, CmdResult, Ctx};
use crate::notify;
use crate::protocol::request::parse_i64;
use crate::store::value::StringValue;
use crate::store::{Db, Value};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "get",
        2,
        "readonly fast",
        "@string",
        (1, 1, 1),
        "string",
        "1.0.0",
        "Returns the string value of a key.",
        get,
    ),
    command(
        "set",
        -3,
        "write denyoom",
        "@string",
        (1, 1, 1),
        "string",
        "1.0.0",
        "Sets the string value of a key, with options for its expiry and for conditional writes.",
        set,
    ),
    command(
        "setnx",
        3,
        "write denyoom fast",
        "@string",
        (1, 1, 1),
        "string",
        "1.0.0",
        "Sets the string value of a key only when the key does not exist.",
        setnx,
    ),
    command(
        "setex",
        4,
        "write denyoom",
        "@string",
        (1, 1, 1),
        "string",
        "2.0.0",
        "Sets the string value and the expiry in seconds of a key.",
        setex,
    ),
    command(
        "psetex",
        4,
        "write denyoom",
        "@string",
        (1, 1, 1),
        "string",
        "2.6.0",
        "Sets the string value and the expiry in milliseconds of a key.",
        psetex,
    ),
    command(
        "getset",
        3,
        "write denyoom fast",
        "@string",
        (1, 1, 1),
        "string",
        "1.0.0",
        "Sets a key to a new string and returns the string it held.",
        getset,
    ),
    command(
        "getdel",
        2,
        "write fast",
        "@string",
        (1, 1, 1),
        "string",
        "6.2.0",
        "Returns the string value of a key and deletes the key.",
        getdel,
    ),
    command(
        "getex",
        -2,
        "write fast",
        "@string",
        (1, 1, 1),
        "string",
        "6.2.0",
        "Returns the string value of a key and changes or removes its expiry.",
        getex,
    ),
    command(
        "mget",
        -2,
        "readonly fast",
        "@string",
        (1, -1, 1),
        "string",
        "1.0.0",
        "Returns the string values of several keys.",
        mget,
    ),
    command(
        "mset",
        -3,
        "write denyoom",
        "@string",
        (1, -1, 2),
        "string",
        "1.0.1",
        "Sets the string values of several keys.",
        mset,
    ),
    command(
        "msetnx",
        -3,
        "write denyoom",
        "@string",
        (1, -1, 2),
        "string",
        "1.0.1",
        "Sets the string values of several keys only when none of them exists.",
        msetnx,
    ),
    command(
        "append",
        3,
        "write denyoom fast",
        "@string",
        (1, 1, 1),
        "string",
        "2.0.0",
        "Appends a string to the value of a key, creating the key if needed.",
        append,
    ),
    command(
        "strlen",
        2,
        "readonly fast",
        "@string",
        (1, 1, 1),
        "string",
        "2.2.0",
        "Returns the length of a string value.",
        strlen,
    ),
    command(
        "incr",
        2,
        "write denyoom fast",
        "@string",
        (1, 1, 1),
        "string",
        "1.0.0",
        "Adds one to the integer value of a key.",
        incr,
    ),
    command(
        "decr",
        2,
        "write denyoom fast",
        "@string",
        (1, 1, 1),
        "string",
        "1.0.0",
        "Subtracts one from the integer value of a key.",
        decr,
    ),
    command(
        "incrby",
        3,
        "write denyoom fast",
        "@string",
        (1, 1, 1),
        "string",
        "1.0.0",
        "Adds an integer to the integer value of a key.",
        incrby,
    ),
    command(
        "decrby",
        3,
        "write denyoom fast",
        "@string",
        (1, 1, 1),
        "string",
        "1.0.0",
        "Subtracts an integer from the integer value of a key.",
        decrby,
    ),
    command(
        "incrbyfloat",
        3,
        "write denyoom fast",
        "@string",
        (1, 1, 1),
        "string",
        "2.6.0",
        "Adds a floating point number to the numeric value of a key.",
        incrbyfloat,
    ),
    command(
        "getrange",
        4,
        "readonly",
        "@string",
        (1, 1, 1),
        "string",
        "2.4.0",
        "Returns a substring of a string value.",
        getrange,
    ),
    command(
        "substr",
        4,
        "readonly",
        "@string",
        (1, 1, 1),
        "string",
        "1.0.0",
        "Returns a substring of a string value (the old name of GETRANGE).",
        getrange,
    ),
    command(
        "setrange",
        4,
        "write denyoom",
        "@string",
        (1, 1, 1),
        "string",
        "2.2.0",
        "Overwrites part of a string value from an offset, padding with zero bytes.",
        setrange,
    ),
    command(
        "lcs",
        -3,
        "readonly",
        "@string",
        (1, 2, 1),
        "string",
        "7.0.0",
        "Finds the longest common subsequence of two string values.",
        lcs,
    ),
];

/// The string stored at `key`, None when the key does not exist, WRONGTYPE for other types.
pub(super) fn read_string<'a>(
    db: &'a mut Db,
    key: &[u8],
    now_ms: i64,
) -> Result<Option<&'a StringValue>, CmdError> {
    match db.get(key, now_ms) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        #[allow(unreachable_patterns)]
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The string at `key` for a write: a write lookup, as Redis's lookupKeyWrite, so a missing key
/// counts no keyspace miss and raises no `keymiss` event.
pub(super) fn write_string<'a>(
    db: &'a mut Db,
    key: &[u8],
    now_ms: i64,
) -> Result<Option<&'a mut StringValue>, CmdError> {
    match db.get_mut(key, now_ms) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        #[allow(unreachable_patterns)]
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The largest string a client may build (`proto-max-bulk-len`).
pub(super) fn max_string_len(ctx: &Ctx) -> i64 {
    ctx.shared.proto_max_bulk_len.load(Ordering::Relaxed)
}

/// Redis's check before growing a string to `current + extra` bytes.
fn check_string_length(ctx: &Ctx, current: i64, extra: i64) -> CmdResult {
    match current.checked_add(extra) {
        Some(total) if total <= max_string_len(ctx) => Ok(()),
        _ => Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)".into()),
    }
}

fn parse_int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or_else(|| errors::NOT_INTEGER.into())
}

/// Replies the string at `key` (nil when missing), as GET does; WRONGTYPE before any reply.
fn reply_get(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let now = ctx.now_ms;
    match read_string(&mut ctx.state.dbs[ctx.db], key, now)? {
        None => ctx.out.null(),
        Some(s) => ctx.out.bulk(s.as_bytes()),
    }
    Ok(())
}

fn get(ctx: &mut Ctx) -> CmdResult {
    reply_get(ctx, ctx.arg(1))
}

// The options SET and GETEX share, as bits, so that the rules for which options may be combined
// read as Redis states them.
const NX: u32 = 1 << 0;
const XX: u32 = 1 << 1;
const EX: u32 = 1 << 2;
const PX: u32 = 1 << 3;
const KEEPTTL: u32 = 1 << 4;
const GET: u32 = 1 << 5;
const EXAT: u32 = 1 << 6;
const PXAT: u32 = 1 << 7;
const PERSIST: u32 = 1 << 8;
const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Set,
    GetEx,
}

/// The parsed options: the flag bits and, with an expiry option, the index of its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Options {
    flags: u32,
    expire_at: Option<usize>,
}

/// Parses SET's (from argument 3) or GETEX's (from argument 2) options. An option is refused,
/// with a syntax error, when it conflicts with one already given or lacks its argument.
fn parse_options(args: &[&[u8]], which: Command) -> Result<Options, CmdError> {
    let set = which == Command::Set;
    let mut flags = 0;
    let mut expire_at = None;
    let mut j = if set { 3 } else { 2 };
    while j < args.len() {
        let opt = args[j];
        let has_next = j + 1 < args.len();
        let is = |word: &str| opt.eq_ignore_ascii_case(word.as_bytes());
        let (flag, conflicts, takes_value) = if is("NX") && set {
            (NX, XX, false)
        } else if is("XX") && set {
            (XX, NX, false)
        } else if is("GET") && set {
            (GET, 0, false)
        } else if is("KEEPTTL") && set {
            (KEEPTTL, PERSIST | ANY_EXPIRE, false)
        } else if is("PERSIST") && !set {
            (PERSIST, KEEPTTL | ANY_EXPIRE, false)
        } else if is("EX") {
            (EX, KEEPTTL | PERSIST | (ANY_EXPIRE & !EX), true)
        } else if is("PX") {
            (PX, KEEPTTL | PERSIST | (ANY_EXPIRE & !PX), true)
        } else if is("EXAT") {
            (EXAT, KEEPTTL | PERSIST | (ANY_EXPIRE & !EXAT), true)
        } else if is("PXAT") {
            (PXAT, KEEPTTL | PERSIST | (ANY_EXPIRE & !PXAT), true)
        } else {
            return Err(errors::SYNTAX.into());
        };
        if flags & conflicts != 0 || (takes_value && !has_next) {
            return Err(errors::SYNTAX.into());
        }
        flags |= flag;
        if takes_value {
            j += 1;
            expire_at = Some(j);
        }
        j += 1;
    }
    Ok(Options { flags, expire_at })
}

/// Turns an expiry argument into an absolute deadline in ms, refusing what Redis refuses:
/// zero, negative, and anything that overflows once converted to ms or made absolute.
fn expire_deadline(arg: &[u8], flags: u32, now_ms: i64, name: &str) -> Result<i64, CmdError> {
    let value = parse_int_arg(arg)?;
    let invalid = || CmdError::from(format!("ERR invalid expire time in '{name}' command"));
    let seconds = flags & (EX | EXAT) != 0;
    if value <= 0 || (seconds && value > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = if seconds { value * 1000 } else { value };
    if flags & (EX | PX) != 0 {
        ms = ms.checked_add(now_ms).ok_or_else(invalid)?;
    }
    Ok(ms)
}

/// What SET and its older variants share: `flags` from SET's options, the expiry argument if
/// any, and the replies for a done and an aborted (NX/XX) write.
struct SetRequest<'a> {
    key: &'a [u8],
    value: &'a [u8],
    flags: u32,
    expire: Option<&'a [u8]>,
    on_done: fn(&mut Ctx),
    on_abort: fn(&mut Ctx),
}

fn reply_ok(ctx: &mut Ctx) {
    ctx.out.ok();
}

fn reply_null(ctx: &mut Ctx) {
    ctx.out.null();
}

fn reply_one(ctx: &mut Ctx) {
    ctx.out.int(1);
}

fn reply_zero(ctx: &mut Ctx) {
    ctx.out.int(0);
}

fn set_generic(ctx: &mut Ctx, req: SetRequest) -> CmdResult {
    let now = ctx.now_ms;
    let deadline = match req.expire {
        Some(arg) => {
            let name = ctx.arg_str(0).to_ascii_lowercase();
            Some(expire_deadline(arg, req.flags, now, &name)?)
        }
        None => None,
    };
    if req.flags & GET != 0 {
        reply_get(ctx, req.key)?;
    }
    let found = ctx.db().contains(req.key, now);
    if (req.flags & NX != 0 && found) || (req.flags & XX != 0 && !found) {
        if req.flags & GET == 0 {
            (req.on_abort)(ctx);
        }
        return Ok(());
    }
    let db = ctx.db();
    if req.flags & KEEPTTL != 0 {
        db.set_keep_ttl(req.key, Value::from(req.value));
    } else {
        db.set(req.key, Value::from(req.value));
    }
    // A deadline already past is stored as is: the key expires on its next lookup, as in Redis.
    if let Some(at) = deadline {
        db.set_deadline(req.key, at);
        // Relative expiries are logged as the deadline they gave (Redis 7's SET ... PXAT).
        ctx.propagate(vec![
            b"SET".to_vec(),
            req.key.to_vec(),
            req.value.to_vec(),
            b"PXAT".to_vec(),
            at.to_string().into_bytes(),
        ]);
    }
    ctx.modified(req.key);
    ctx.notify(notify::STRING, "set", req.key);
    if deadline.is_some() {
        ctx.notify(notify::GENERIC, "expire", req.key);
    }
    if req.flags & GET == 0 {
        (req.on_done)(ctx);
    }
    Ok(())
}

fn set(ctx: &mut Ctx) -> CmdResult {
    let args: Vec<&[u8]> = ctx.args.iter().collect();
    let opts = parse_options(&args, Command::Set)?;
    set_generic(
        ctx,
        SetRequest {
            key: ctx.arg(1),
            value: ctx.arg(2),
            flags: opts.flags,
            expire: opts.expire_at.map(|i| ctx.arg(i)),
            on_done: reply_ok,
            on_abort: reply_null,
        },
    )
}

fn setnx(ctx: &mut Ctx) -> CmdResult {
    set_generic(
        ctx,
        SetRequest {
            key: ctx.arg(1),
            value: ctx.arg(2),
            flags: NX,
            expire: None,
            on_done: reply_one,
            on_abort: reply_zero,
        },
    )
}

fn setex(ctx: &mut Ctx) -> CmdResult {
    set_generic(
        ctx,
        SetRequest {
            key: ctx.arg(1),
            value: ctx.arg(3),
            flags: EX,
            expire: Some(ctx.arg(2)),
            on_done: reply_ok,
            on_abort: reply_null,
        },
    )
}

fn psetex(ctx: &mut Ctx) -> CmdResult {
    set_generic(
        ctx,
        SetRequest {
            key: ctx.arg(1),
            value: ctx.arg(3),
            flags: PX,
            expire: Some(ctx.arg(2)),
            on_done: reply_ok,
            on_abort: reply_null,
        },
    )
}

fn getset(ctx: &mut Ctx) -> CmdResult {
    let (key, value) = (ctx.arg(1), ctx.arg(2));
    reply_get(ctx, key)?;
    ctx.db().set(key, Value::from(value));
    ctx.modified(key);
    ctx.notify(notify::STRING, "set", key);
    Ok(())
}

fn getdel(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    reply_get(ctx, key)?;
    if ctx.db().remove(key).is_some() {
        ctx.modified(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    Ok(())
}

fn getex(ctx: &mut Ctx) -> CmdResult {
    let args: Vec<&[u8]> = ctx.args.iter().collect();
    let opts = parse_options(&args, Command::GetEx)?;
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let Some(value) = read_string(&mut ctx.state.dbs[ctx.db], key, now)? else {
        ctx.out.null();
        return Ok(());
    };
    let deadline = match opts.expire_at {
        Some(i) => Some(expire_deadline(ctx.args.get(i), opts.flags, now, "getex")?),
        None => None,
    };
    ctx.out.bulk(value.as_bytes());
    let db = ctx.db();
    match deadline {
        Some(at) if opts.flags & (EXAT | PXAT) != 0 && at <= now => {
            db.remove(key);
            ctx.propagate(crate::persistence::propagate::del(key));
            ctx.modified(key);
            ctx.notify(notify::GENERIC, "del", key);
        }
        Some(at) => {
            db.set_deadline(key, at);
            ctx.propagate(crate::persistence::propagate::pexpireat(key, at));
            ctx.modified(key);
            ctx.notify(notify::GENERIC, "expire", key);
        }
        None if opts.flags & PERSIST != 0 && db.persist(key) => {
            ctx.propagate(vec![b"PERSIST".to_vec(), key.to_vec()]);
            ctx.modified(key);
            ctx.notify(notify::GENERIC, "persist", key);
        }
        None => {}
    }
    Ok(())
}

fn mget(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    ctx.out.array(ctx.argc() - 1);
    for key in ctx.args.iter().skip(1) {
        match ctx.state.dbs[ctx.db].get(key, now) {
            Some(Value::String(s)) => ctx.out.bulk(s.as_bytes()),
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx, only_if_none: bool) -> CmdResult {
    if ctx.argc().is_multiple_of(2) {
        let name = ctx.arg_str(0).to_ascii_lowercase();
        return Err(format!("ERR wrong number of arguments for '{name}' command").into());
    }
    let now = ctx.now_ms;
    if only_if_none {
        let pairs = ctx.args.iter().skip(1).step_by(2);
        for key in pairs {
            if ctx.state.dbs[ctx.db].contains(key, now) {
                ctx.out.int(0);
                return Ok(());
            }
        }
    }
    for i in (1..ctx.argc()).step_by(2) {
        let (key, value) = (ctx.arg(i), ctx.arg(i + 1));
        ctx.db().set(key, Value::from(value));
        ctx.modified(key);
        ctx.notify(notify::STRING, "set", key);
    }
    if only_if_none {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx) -> CmdResult {
    mset_generic(ctx, false)
}

fn msetnx(ctx: &mut Ctx) -> CmdResult {
    mset_generic(ctx, true)
}

fn append(ctx: &mut Ctx) -> CmdResult {
    let (key, tail, now) = (ctx.arg(1), ctx.arg(2), ctx.now_ms);
    let current = write_string(&mut ctx.state.dbs[ctx.db], key, now)?.map(|s| s.len());
    let total = match current {
        Some(len) => {
            check_string_length(ctx, len as i64, tail.len() as i64)?;
            if let Some(s) = write_string(ctx.db(), key, now)? {
                s.append(tail);
            }
            len + tail.len()
        }
        None => {
            ctx.db().set(key, Value::from(tail));
            tail.len()
        }
    };
    ctx.modified(key);
    ctx.notify(notify::STRING, "append", key);
    ctx.out.int(total as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let len = read_string(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?.map_or(0, |s| s.len());
    ctx.out.int(len as i64);
    Ok(())
}

/// Adds `by` to the integer at argument 1, keeping the key's deadline.
fn incr_decr(ctx: &mut Ctx, by: i64) -> CmdResult {
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let current = match write_string(&mut ctx.state.dbs[ctx.db], key, now)? {
        Some(s) => parse_int_arg(s.as_bytes())?,
        None => 0,
    };
    let value = current.checked_add(by).ok_or(errors::OVERFLOW)?;
    let mut text = itoa::Buffer::new();
    ctx.db()
        .set_keep_ttl(key, Value::from(text.format(value).as_bytes()));
    ctx.modified(key);
    ctx.notify(notify::STRING, "incrby", key);
    ctx.out.int(value);
    Ok(())
}

fn incr(ctx: &mut Ctx) -> CmdResult {
    incr_decr(ctx, 1)
}

fn decr(ctx: &mut Ctx) -> CmdResult {
    incr_decr(ctx, -1)
}

fn incrby(ctx: &mut Ctx) -> CmdResult {
    let by = parse_int_arg(ctx.arg(2))?;
    incr_decr(ctx, by)
}

fn decrby(ctx: &mut Ctx) -> CmdResult {
    let by = parse_int_arg(ctx.arg(2))?;
    if by == i64::MIN {
        return Err("ERR decrement would overflow".into());
    }
    incr_decr(ctx, -by)
}

extern "C" {
    fn understudy_ld_incr(
        value: *const std::ffi::c_char,
        value_len: usize,
        incr: *const std::ffi::c_char,
        incr_len: usize,
        out: *mut std::ffi::c_char,
        out_cap: usize,
    ) -> std::ffi::c_long;
}

/// Room for any `long double` printed with "%.17Lf" (the largest has 4933 integer digits).
const LONG_DOUBLE_TEXT_MAX: usize = 5 * 1024;

/// Adds the float `incr` to the float `value` (None: a missing key, 0) in C `long double`, and
/// returns the sum as Redis prints it, or Redis's error text. Shared with HINCRBYFLOAT.
pub fn incr_long_double(value: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = vec![0u8; LONG_DOUBLE_TEXT_MAX];
    let (value_ptr, value_len) = match value {
        Some(v) => (v.as_ptr().cast(), v.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: every pointer is valid for the length passed with it; the C side copies its
    // inputs into its own buffer and writes at most `out.len()` bytes to `out`.
    let written = unsafe {
        understudy_ld_incr(
            value_ptr,
            value_len,
            incr.as_ptr().cast(),
            incr.len(),
            out.as_mut_ptr().cast(),
            out.len(),
        )
    };
    match written {
        -1 => Err(errors::NOT_FLOAT),
        -2 => Err("ERR increment would produce NaN or Infinity"),
        n if n > 0 => {
            out.truncate(n as usize);
            Ok(out)
        }
        // The buffer holds any finite long double, so this means the C side refused to print.
        _ => Err(errors::NOT_FLOAT),
    }
}

fn incrbyfloat(ctx: &mut Ctx) -> CmdResult {
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let current = write_string(&mut ctx.state.dbs[ctx.db], key, now)?.map(|s| s.as_bytes());
    let sum = incr_long_double(current, ctx.args.get(2))?;
    ctx.out.bulk(&sum);
    // The sum is logged as a value: a replay must not round it again.
    ctx.propagate(vec![
        b"SET".to_vec(),
        key.to_vec(),
        sum.clone(),
        b"KEEPTTL".to_vec(),
    ]);
    ctx.db()
        .set_keep_ttl(key, Value::String(StringValue::unencoded(sum)));
    ctx.modified(key);
    ctx.notify(notify::STRING, "incrbyfloat", key);
    Ok(())
}

/// GETRANGE's window over a string of `len` bytes: the byte range to return, if not empty.
fn range_window(start: i64, end: i64, len: usize) -> Option<std::ops::Range<usize>> {
    let len = len as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return None;
    }
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { (len + end).max(0) } else { end }.min(len - 1);
    (start <= end).then(|| start as usize..end as usize + 1)
}

fn getrange(ctx: &mut Ctx) -> CmdResult {
    let start = parse_int_arg(ctx.arg(2))?;
    let end = parse_int_arg(ctx.arg(3))?;
    let now = ctx.now_ms;
    let s = read_string(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?;
    let bytes = s.map_or(&[][..], |s| s.as_bytes());
    match range_window(start, end, bytes.len()).and_then(|r| bytes.get(r)) {
        Some(part) => ctx.out.bulk(part),
        None => ctx.out.bulk(b""),
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx) -> CmdResult {
    let offset = parse_int_arg(ctx.arg(2))?;
    if offset < 0 {
        return Err("ERR offset is out of range".into());
    }
    let (key, value, now) = (ctx.arg(1), ctx.arg(3), ctx.now_ms);
    let exists = write_string(&mut ctx.state.dbs[ctx.db], key, now)?.map(|s| s.len());
    if value.is_empty() {
        ctx.out.int(exists.unwrap_or(0) as i64);
        return Ok(());
    }
    check_string_length(ctx, offset, value.len() as i64)?;
    let offset = offset as usize;
    if exists.is_none() {
        ctx.db().set(key, Value::String(StringValue::default()));
    }
    let Some(s) = write_string(ctx.db(), key, now)? else {
        return Ok(());
    };
    let end = offset + value.len();
    s.edit(end)[offset..end].copy_from_slice(value);
    let len = s.len();
    ctx.modified(key);
    ctx.notify(notify::STRING, "setrange", key);
    ctx.out.int(len as i64);
    Ok(())
}

/// One run of consecutive matching bytes: its range in each string (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Match {
    a: (usize, usize),
    b: (usize, usize),
}

/// The longest common subsequence of `a` and `b`, and its runs, last run first, as LCS's
/// backtrack finds them.
fn longest_common_subsequence(a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<Match>) {
    let width = b.len() + 1;
    // table[i * width + j]: the LCS length of a[..i] and b[..j].
    let mut table = vec![0u32; (a.len() + 1) * width];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let mut lcs = Vec::with_capacity(table[a.len() * width + b.len()] as usize);
    let mut runs = Vec::new();
    let mut current: Option<Match> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            lcs.push(a[i - 1]);
            match current.as_mut() {
                None => {
                    current = Some(Match {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    })
                }
                Some(m) if m.a.0 == i && m.b.0 == j => {
                    m.a.0 -= 1;
                    m.b.0 -= 1;
                }
                Some(_) => emit = true,
            }
            if current.is_some_and(|m| m.a.0 == 0 || m.b.0 == 0) {
                emit = true;
            }
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = current.is_some();
        }
        if emit {
            if let Some(m) = current.take() {
                runs.push(m);
            }
        }
    }
    lcs.reverse();
    (lcs, runs)
}

fn lcs(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let not_strings = || CmdError::from("ERR The specified keys must contain string values");
    let mut texts = [Vec::new(), Vec::new()];
    for (slot, i) in texts.iter_mut().zip([1, 2]) {
        match ctx.state.dbs[ctx.db].get(ctx.args.get(i), now) {
            None => {}
            Some(Value::String(s)) => slot.extend_from_slice(s.as_bytes()),
            #[allow(unreachable_patterns)]
            Some(_) => return Err(not_strings()),
        }
    }
    let (mut want_len, mut want_idx, mut with_match_len, mut min_match_len) =
        (false, false, false, 0i64);
    let mut j = 3;
    while j < ctx.argc() {
        if ctx.arg_is(j, "IDX") {
            want_idx = true;
        } else if ctx.arg_is(j, "LEN") {
            want_len = true;
        } else if ctx.arg_is(j, "WITHMATCHLEN") {
            with_match_len = true;
        } else if ctx.arg_is(j, "MINMATCHLEN") && j + 1 < ctx.argc() {
            min_match_len = parse_int_arg(ctx.arg(j + 1))?.max(0);
            j += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    if want_len && want_idx {
        return Err("ERR If you want both the length and indexes, please just use IDX.".into());
    }
    let [a, b] = texts;
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > max_string_len(ctx) as u64 {
        return Err(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len".into(),
        );
    }
    let (common, runs) = longest_common_subsequence(&a, &b);
    if want_idx {
        let kept: Vec<&Match> = runs
            .iter()
            .filter(|m| (m.a.1 - m.a.0 + 1) as i64 >= min_match_len)
            .collect();
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(kept.len());
        for m in kept {
            ctx.out.array(if with_match_len { 3 } else { 2 });
            for (lo, hi) in [m.a, m.b] {
                ctx.out.array(2);
                ctx.out.int(lo as i64);
                ctx.out.int(hi as i64);
            }
            if with_match_len {
                ctx.out.int((m.a.1 - m.a.0 + 1) as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(common.len() as i64);
    } else if want_len {
        ctx.out.int(common.len() as i64);
    } else {
        ctx.out.bulk(&common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(line: &str, which: Command) -> Result<Options, CmdError> {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        parse_options(&args, which)
    }

    /// Runs each command on a fresh server state, then returns the encoding of every key asked
    /// for, as OBJECT ENCODING would report it.
    fn encodings_after(commands: &[&str], keys: &[&str]) -> Vec<&'static str> {
        use crate::config::Config;
        use crate::protocol::request::OwnedArgs;
        use crate::protocol::ReplyBuf;
        use crate::state::Shared;

        let shared = Shared::new(Config::default());
        let mut state = shared.state.lock();
        let client = crate::client::Client::new(1, String::new(), String::new(), 0, 0);
        state.clients.insert(1, Box::new(client));
        for line in commands {
            let mut args = OwnedArgs::default();
            for word in line.split(' ') {
                // '' stands for an empty argument.
                args.push(if word == "''" { b"" } else { word.as_bytes() });
            }
            let mut out = ReplyBuf::default();
            super::super::run(&shared, &mut state, 1, args.args(), &mut out);
            assert!(!out.buf.starts_with(b"-"), "{line}: {:?}", out.buf);
        }
        keys.iter()
            .map(|k| {
                state.dbs[0]
                    .get(k.as_bytes(), 0)
                    .map_or("none", Value::encoding)
            })
            .collect()
    }

    #[test]
    fn encodings_match_redis() {
        let long = "x".repeat(45);
        let set_long = format!("SET long {long}");
        let commands = [
            "SET i 123",
            "SET e abc",
            set_long.as_str(),
            "INCRBYFLOAT f 1",
            "INCRBYFLOAT f2 0.5",
            "APPEND a1 123",
            "APPEND a2 12",
            "APPEND a2 3",
            "SET a3 12",
            "APPEND a3 ''",
            "SET r1 12",
            "SETRANGE r1 5 ''",
            "SETRANGE r2 0 12",
            "INCR c",
            "SET c2 abc",
            "GETSET c2 77",
            "MSET m1 5 m2 five",
            "SETBIT b 1 1",
            "SET b2 abc",
            "SETBIT b2 0 0",
            "SET b3 7",
            "BITFIELD b3 GET u8 0",
            "BITFIELD b4 OVERFLOW FAIL INCRBY u2 0 10",
            "SET src 1",
            "BITOP NOT dest src",
        ];
        let keys = [
            "i", "e", "long", "f", "f2", "a1", "a2", "a3", "r1", "r2", "c", "c2", "m1", "m2", "b",
            "b2", "b3", "b4", "dest",
        ];
        let expected = [
            "int", "embstr", "raw", "embstr", "embstr", "int", "raw", "raw", "int", "raw", "int",
            "int", "int", "embstr", "raw", "raw", "int", "raw", "raw",
        ];
        assert_eq!(encodings_after(&commands, &keys), expected);
    }

    #[test]
    fn set_options_follow_redis_conflict_rules() {
        assert_eq!(opts("set k v nx nx", Command::Set).unwrap().flags, NX);
        assert!(opts("set k v nx xx", Command::Set).is_err());
        assert!(opts("set k v keepttl ex 5", Command::Set).is_err());
        assert!(opts("set k v ex 5 px 5", Command::Set).is_err());
        assert!(opts("set k v ex", Command::Set).is_err());
        assert!(opts("set k v persist", Command::Set).is_err());
        let o = opts("set k v GET ex 10 ex 20 xx", Command::Set).unwrap();
        assert_eq!(o.flags, GET | EX | XX);
        assert_eq!(o.expire_at, Some(7));
        assert!(opts("getex k nx", Command::GetEx).is_err());
        assert!(opts("getex k persist px 5", Command::GetEx).is_err());
        assert_eq!(
            opts("getex k pxat 5", Command::GetEx).unwrap().expire_at,
            Some(3)
        );
    }

    #[test]
    fn expire_deadlines_refuse_zero_negative_and_overflow() {
        let err = |arg: &str, flags| expire_deadline(arg.as_bytes(), flags, 1000, "set").is_err();
        assert_eq!(expire_deadline(b"2", EX, 1000, "set"), Ok(3000));
        assert_eq!(expire_deadline(b"2", PXAT, 1000, "set"), Ok(2));
        assert_eq!(expire_deadline(b"3", EXAT, 1000, "set"), Ok(3000));
        assert!(err("0", EX) && err("-1", PX) && err("x", EX));
        assert!(err("9223372036854776", EX));
        assert!(err("9223372036854775807", PX));
        assert!(!err("9223372036854775807", PXAT));
        assert_eq!(
            expire_deadline(b"0", EX, 0, "getex").unwrap_err().0,
            "ERR invalid expire time in 'getex' command"
        );
    }

    #[test]
    fn long_double_sums_print_like_redis() {
        let add = |v: Option<&str>, by: &str| {
            incr_long_double(v.map(str::as_bytes), by.as_bytes())
                .map(|s| String::from_utf8(s).unwrap())
        };
        assert_eq!(add(None, "0.1").unwrap(), "0.1");
        assert_eq!(add(Some("10.5"), "0.1").unwrap(), "10.6");
        assert_eq!(add(Some("3"), "-3").unwrap(), "0");
        assert_eq!(add(Some("-0.0"), "0").unwrap(), "0");
        assert_eq!(add(Some("5.0e3"), "2.0e2").unwrap(), "5200");
        assert_eq!(add(Some("1"), "1\0junk"), Err(errors::NOT_FLOAT));
        assert_eq!(add(Some(" 1"), "1"), Err(errors::NOT_FLOAT));
        assert_eq!(add(Some("1"), "1x"), Err(errors::NOT_FLOAT));
        assert_eq!(add(Some(""), "1"), Err(errors::NOT_FLOAT));
        assert_eq!(add(Some("1"), "nan"), Err(errors::NOT_FLOAT));
        assert_eq!(add(Some("1"), "1e99999"), Err(errors::NOT_FLOAT));
        assert_eq!(
            add(Some("1"), "inf"),
            Err("ERR increment would produce NaN or Infinity")
        );
        assert_eq!(add(Some("0x10"), "1").unwrap(), "17");
        assert_eq!(add(Some("0"), "1.5e-4950").unwrap(), "0");
        assert_eq!(add(Some("0"), "1e-5000"), Err(errors::NOT_FLOAT));
        assert_eq!(add(Some("1e10"), "0.00000000001").unwrap(), "10000000000");
        let huge = add(Some("1e4000"), "0").unwrap();
        assert_eq!(huge.len(), 4000);
        assert!(huge.starts_with("999999999999999999996546387309"));
    }

    #[test]
    fn getrange_windows() {
        assert_eq!(range_window(0, -1, 6), Some(0..6));
        assert_eq!(range_window(-1, -2, 6), None);
        assert_eq!(range_window(0, -100, 6), Some(0..1));
        assert_eq!(range_window(4, 100, 6), Some(4..6));
        assert_eq!(range_window(5, 2, 6), None);
        assert_eq!(range_window(0, 0, 0), None);
        assert_eq!(range_window(i64::MIN, i64::MAX, 3), Some(0..3));
    }

    #[test]
    fn lcs_runs_come_last_first() {
        let (common, runs) = longest_common_subsequence(b"ohmytext", b"mynewtext");
        assert_eq!(common, b"mytext");
        assert_eq!(
            runs,
            vec![
                Match {
                    a: (4, 7),
                    b: (5, 8)
                },
                Match {
                    a: (2, 3),
                    b: (0, 1)
                }
            ]
        );
        assert_eq!(longest_common_subsequence(b"", b"abc").0, b"");
    }
}
