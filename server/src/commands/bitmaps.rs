//! The bitmap family: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
//!
//! Bits are numbered from the most significant bit of the first byte, as in Redis; a string is
//! read as if padded with zero bytes on the right.

use super::strings::{max_string_len, read_string, write_string};
use super::table::{command, CommandDef};
use super::{errors, CmdError, CmdResult, Ctx};
use crate::notify;
use crate::protocol::request::parse_i64;
use crate::store::value::StringValue;
use crate::store::Value;

pub const COMMANDS: &[CommandDef] = &[
    command(
        "setbit",
        4,
        "write denyoom",
        "@bitmap",
        (1, 1, 1),
        "bitmap",
        "2.2.0",
        "Sets or clears the bit at an offset of a string value, creating the key if needed.",
        setbit,
    ),
    command(
        "getbit",
        3,
        "readonly fast",
        "@bitmap",
        (1, 1, 1),
        "bitmap",
        "2.2.0",
        "Returns the bit at an offset of a string value.",
        getbit,
    ),
    command(
        "bitcount",
        -2,
        "readonly",
        "@bitmap",
        (1, 1, 1),
        "bitmap",
        "2.6.0",
        "Counts the set bits of a string value, optionally within a byte or bit range.",
        bitcount,
    ),
    command(
        "bitpos",
        -3,
        "readonly",
        "@bitmap",
        (1, 1, 1),
        "bitmap",
        "2.8.7",
        "Finds the first set or clear bit of a string value, optionally within a range.",
        bitpos,
    ),
    command(
        "bitop",
        -4,
        "write denyoom",
        "@bitmap",
        (2, -1, 1),
        "bitmap",
        "2.6.0",
        "Stores the bitwise AND, OR, XOR or NOT of string values in a key.",
        bitop,
    ),
    command(
        "bitfield",
        -2,
        "write denyoom",
        "@bitmap",
        (1, 1, 1),
        "bitmap",
        "3.2.0",
        "Reads, writes and increments integers of any width at any bit offset of a string.",
        bitfield,
    ),
    command(
        "bitfield_ro",
        -2,
        "readonly fast",
        "@bitmap",
        (1, 1, 1),
        "bitmap",
        "6.0.0",
        "Reads integers of any width at any bit offset of a string.",
        bitfield_ro,
    ),
];

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";
const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// A bit offset argument; with `hash_bits`, `#N` means N times that width (BITFIELD). Offsets
/// reaching past `max_len` bytes are refused.
fn parse_bit_offset(arg: &[u8], hash_bits: Option<u32>, max_len: i64) -> Result<u64, CmdError> {
    let (digits, scale) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits).ok_or(BAD_OFFSET)?.wrapping_mul(scale);
    if offset < 0 || (offset >> 3) >= max_len {
        return Err(BAD_OFFSET.into());
    }
    Ok(offset as u64)
}

fn bit_at(bytes: &[u8], offset: u64) -> bool {
    let byte = (offset >> 3) as usize;
    bytes
        .get(byte)
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

fn set_bit_at(bytes: &mut [u8], offset: u64, on: bool) {
    if let Some(b) = bytes.get_mut((offset >> 3) as usize) {
        let mask = 0x80 >> (offset & 7);
        if on {
            *b |= mask;
        } else {
            *b &= !mask;
        }
    }
}

/// The string at argument 1 for a write reaching bit `max_bit`: created or zero-padded as needed
/// and, as Redis does before any in-place change, no longer integer or embedded encoded. Returns
/// the string and whether it grew (or was created).
fn string_for_bits<'c>(
    ctx: &'c mut Ctx,
    max_bit: u64,
) -> Result<(&'c mut StringValue, bool), CmdError> {
    let (key, now) = (ctx.args.get(1), ctx.now_ms);
    let needed = (max_bit >> 3) as usize + 1;
    if write_string(ctx.db(), key, now)?.is_none() {
        ctx.db().set(key, Value::String(StringValue::default()));
    }
    let s = write_string(ctx.db(), key, now)?.ok_or(errors::NO_SUCH_KEY)?;
    let grew = s.len() < needed;
    s.edit(needed);
    Ok((s, grew))
}

fn setbit(ctx: &mut Ctx) -> CmdResult {
    let offset = parse_bit_offset(ctx.arg(2), None, max_string_len(ctx))?;
    let on = match parse_i64(ctx.arg(3)) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(BAD_BIT.into()),
    };
    let (s, grew) = string_for_bits(ctx, offset)?;
    let was = bit_at(s.as_bytes(), offset);
    set_bit_at(s.edit(0), offset, on);
    if grew || was != on {
        let key = ctx.args.get(1);
        ctx.modified(key);
        ctx.notify(notify::STRING, "setbit", key);
    }
    ctx.out.int(i64::from(was));
    Ok(())
}

fn getbit(ctx: &mut Ctx) -> CmdResult {
    let offset = parse_bit_offset(ctx.arg(2), None, max_string_len(ctx))?;
    let now = ctx.now_ms;
    let bit = read_string(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?
        .is_some_and(|s| bit_at(s.as_bytes(), offset));
    ctx.out.int(i64::from(bit));
    Ok(())
}

/// Is the argument BIT (true) or BYTE (false)? Anything else is a syntax error.
fn parse_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"BIT") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"BYTE") {
        Ok(false)
    } else {
        Err(errors::SYNTAX.into())
    }
}

/// Resolves a start/end pair (negative counts from the end) over `total` units into an
/// inclusive range, or None when it is empty.
fn clamp_range(start: i64, end: i64, total: i64) -> Option<(i64, i64)> {
    let start = if start < 0 {
        (total + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { (total + end).max(0) } else { end }.min(total - 1);
    (start <= end).then_some((start, end))
}

/// Counts the set bits in the inclusive bit range `first..=last`.
fn count_bits(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (first_byte, last_byte) = ((first >> 3) as usize, (last >> 3) as usize);
    let Some(span) = bytes.get(first_byte..=last_byte) else {
        return 0;
    };
    let mut count: u64 = span.iter().map(|b| u64::from(b.count_ones())).sum();
    // Take off the bits of the edge bytes that lie outside the range.
    let head = span[0] & !(0xffu8 >> (first & 7));
    let tail = span[span.len() - 1] & (0x7fu8 >> (last & 7));
    count -= u64::from(head.count_ones()) + u64::from(tail.count_ones());
    count
}

fn bitcount(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    // Redis 7.0 looks the key up before reading any other argument.
    let Some(s) = read_string(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let bytes = s.as_bytes();
    let total_bytes = bytes.len() as i64;
    let range = match ctx.args.len() {
        2 => clamp_range(0, -1, total_bytes * 8),
        4 | 5 => {
            let start = parse_i64(ctx.args.get(2)).ok_or(errors::NOT_INTEGER)?;
            let end = parse_i64(ctx.args.get(3)).ok_or(errors::NOT_INTEGER)?;
            if start < 0 && end < 0 && start > end {
                ctx.out.int(0);
                return Ok(());
            }
            let in_bits = ctx.args.len() == 5 && parse_unit(ctx.args.get(4))?;
            if in_bits {
                clamp_range(start, end, total_bytes * 8)
            } else {
                clamp_range(start, end, total_bytes).map(|(s, e)| (s * 8, e * 8 + 7))
            }
        }
        _ => return Err(errors::SYNTAX.into()),
    };
    let count = range.map_or(0, |(first, last)| {
        count_bits(bytes, first as u64, last as u64)
    });
    ctx.out.int(count as i64);
    Ok(())
}

/// The first bit equal to `bit` in the inclusive bit range, if any.
fn find_bit(bytes: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let skip = if bit { 0x00 } else { 0xff };
    let mut pos = first;
    while pos <= last {
        // Whole bytes that cannot hold the bit are skipped at once.
        if pos & 7 == 0
            && pos + 7 <= last
            && bytes.get((pos >> 3) as usize).copied().unwrap_or(0) == skip
        {
            pos += 8;
            continue;
        }
        if bit_at(bytes, pos) == bit {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

fn bitpos(ctx: &mut Ctx) -> CmdResult {
    let bit = match parse_i64(ctx.arg(2)) {
        None => return Err(errors::NOT_INTEGER.into()),
        Some(0) => false,
        Some(1) => true,
        Some(_) => return Err("ERR The bit argument must be 1 or 0.".into()),
    };
    let now = ctx.now_ms;
    // A missing key is an endless run of zeros, whatever the other arguments say.
    let Some(s) = read_string(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)? else {
        ctx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let bytes = s.as_bytes();
    let total_bytes = bytes.len() as i64;
    let argc = ctx.args.len();
    let (range, end_given) = match argc {
        3 => (clamp_range(0, -1, total_bytes * 8), false),
        4..=6 => {
            let start = parse_i64(ctx.args.get(3)).ok_or(errors::NOT_INTEGER)?;
            let in_bits = argc == 6 && parse_unit(ctx.args.get(5))?;
            let end = match argc {
                4 => -1,
                _ => parse_i64(ctx.args.get(4)).ok_or(errors::NOT_INTEGER)?,
            };
            let range = if in_bits {
                clamp_range(start, end, total_bytes * 8)
            } else {
                clamp_range(start, end, total_bytes).map(|(s, e)| (s * 8, e * 8 + 7))
            };
            (range, argc >= 5)
        }
        _ => return Err(errors::SYNTAX.into()),
    };
    let Some((first, last)) = range else {
        ctx.out.int(-1);
        return Ok(());
    };
    let pos = match find_bit(bytes, bit, first as u64, last as u64) {
        Some(pos) => pos as i64,
        // Without an explicit end the string continues with zeros past its range.
        None if !bit && !end_given => last + 1,
        None => -1,
    };
    ctx.out.int(pos);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Combines the sources byte by byte, missing bytes reading as zero; the result is as long as
/// the longest source.
fn combine(op: BitOp, sources: &[Vec<u8>]) -> Vec<u8> {
    let len = sources.iter().map(Vec::len).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            let byte = |s: &Vec<u8>| s.get(i).copied().unwrap_or(0);
            let mut values = sources.iter().map(byte);
            let first = values.next().unwrap_or(0);
            match op {
                BitOp::And => values.fold(first, |acc, b| acc & b),
                BitOp::Or => values.fold(first, |acc, b| acc | b),
                BitOp::Xor => values.fold(first, |acc, b| acc ^ b),
                BitOp::Not => !first,
            }
        })
        .collect()
}

fn bitop(ctx: &mut Ctx) -> CmdResult {
    let op = if ctx.arg_is(1, "AND") {
        BitOp::And
    } else if ctx.arg_is(1, "OR") {
        BitOp::Or
    } else if ctx.arg_is(1, "XOR") {
        BitOp::Xor
    } else if ctx.arg_is(1, "NOT") {
        BitOp::Not
    } else {
        return Err(errors::SYNTAX.into());
    };
    if op == BitOp::Not && ctx.argc() != 4 {
        return Err("ERR BITOP NOT must be called with a single source key.".into());
    }
    let now = ctx.now_ms;
    let mut sources = Vec::with_capacity(ctx.argc() - 3);
    for key in ctx.args.iter().skip(3) {
        let s = read_string(&mut ctx.state.dbs[ctx.db], key, now)?;
        sources.push(s.map(|s| s.as_bytes().to_vec()).unwrap_or_default());
    }
    let result = combine(op, &sources);
    let len = result.len();
    let target = ctx.arg(2);
    if len > 0 {
        ctx.db()
            .set(target, Value::String(StringValue::raw(result)));
        ctx.modified(target);
        ctx.notify(notify::STRING, "set", target);
    } else if ctx.db().remove(target).is_some() {
        ctx.modified(target);
        ctx.notify(notify::GENERIC, "del", target);
    }
    ctx.out.int(len as i64);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// An integer type of BITFIELD: signed or not, 1 to 64 bits (63 for unsigned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldType {
    signed: bool,
    bits: u32,
}

fn parse_field_type(arg: &[u8]) -> Result<FieldType, CmdError> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BAD_TYPE.into()),
    };
    let max = if signed { 64 } else { 63 };
    match parse_i64(&arg[1..]) {
        Some(bits) if (1..=max).contains(&bits) => Ok(FieldType {
            signed,
            bits: bits as u32,
        }),
        _ => Err(BAD_TYPE.into()),
    }
}

/// Reads `bits` bits at `offset` as an unsigned number; bytes past the end read as zero.
fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |acc, i| {
        (acc << 1) | u64::from(bit_at(bytes, offset + i))
    })
}

fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let raw = get_unsigned(bytes, offset, bits);
    // Sign-extend from the field's top bit.
    let shift = 64 - bits;
    ((raw << shift) as i64) >> shift
}

fn set_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let on = value & (1 << (u64::from(bits) - 1 - i)) != 0;
        set_bit_at(bytes, offset + i, on);
    }
}

/// Adds `incr` to the unsigned `value` of a `bits`-wide field. Returns the value to store and
/// whether it overflowed (wrapped or saturated per `mode`).
fn unsigned_add(value: u64, incr: i64, bits: u32, mode: Overflow) -> (u64, bool) {
    let max = (1u64 << bits) - 1;
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = (value as i64).wrapping_neg();
    let wrapped = value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > max_incr) {
        (if mode == Overflow::Sat { max } else { wrapped }, true)
    } else if incr < 0 && incr < min_incr {
        (if mode == Overflow::Sat { 0 } else { wrapped }, true)
    } else {
        (value.wrapping_add(incr as u64), false)
    }
}

/// Adds `incr` to the signed `value` of a `bits`-wide field, as `unsigned_add` does.
fn signed_add(value: i64, incr: i64, bits: u32, mode: Overflow) -> (i64, bool) {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrapped = || {
        let sum = (value as u64).wrapping_add(incr as u64);
        if bits == 64 {
            return sum as i64;
        }
        let shift = 64 - bits;
        ((sum << shift) as i64) >> shift
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr)
    {
        (
            if mode == Overflow::Sat {
                max
            } else {
                wrapped()
            },
            true,
        )
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        (
            if mode == Overflow::Sat {
                min
            } else {
                wrapped()
            },
            true,
        )
    } else {
        (value.wrapping_add(incr), false)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldStep {
    op: FieldOp,
    ty: FieldType,
    offset: u64,
    overflow: Overflow,
}

/// Parses BITFIELD's subcommands from argument 2 on.
fn parse_field_steps(args: &[&[u8]], max_len: i64) -> Result<Vec<FieldStep>, CmdError> {
    let mut steps = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let name = args[j];
        let is = |word: &str| name.eq_ignore_ascii_case(word.as_bytes());
        let takes = if is("GET") && remaining >= 2 {
            2
        } else if (is("SET") || is("INCRBY")) && remaining >= 3 {
            3
        } else if is("OVERFLOW") && remaining >= 1 {
            let mode = args[j + 1];
            overflow = if mode.eq_ignore_ascii_case(b"WRAP") {
                Overflow::Wrap
            } else if mode.eq_ignore_ascii_case(b"SAT") {
                Overflow::Sat
            } else if mode.eq_ignore_ascii_case(b"FAIL") {
                Overflow::Fail
            } else {
                return Err("ERR Invalid OVERFLOW type specified".into());
            };
            j += 2;
            continue;
        } else {
            return Err(errors::SYNTAX.into());
        };
        let ty = parse_field_type(args[j + 1])?;
        let offset = parse_bit_offset(args[j + 2], Some(ty.bits), max_len)?;
        let op = if takes == 2 {
            FieldOp::Get
        } else {
            let n = parse_i64(args[j + 3]).ok_or(errors::NOT_INTEGER)?;
            if is("SET") {
                FieldOp::Set(n)
            } else {
                FieldOp::IncrBy(n)
            }
        };
        steps.push(FieldStep {
            op,
            ty,
            offset,
            overflow,
        });
        j += takes + 1;
    }
    Ok(steps)
}

/// Runs one write step on `bytes`: the reply value (None when FAIL refused it) and whether the
/// field changed.
fn apply_write(bytes: &mut [u8], step: &FieldStep) -> (Option<i64>, bool) {
    let FieldType { signed, bits } = step.ty;
    let (incr, is_set) = match step.op {
        FieldOp::Set(v) => (v, true),
        FieldOp::IncrBy(v) => (v, false),
        FieldOp::Get => return (None, false),
    };
    let (old, new, overflowed) = if signed {
        let old = get_signed(bytes, step.offset, bits);
        let (new, overflowed) = if is_set {
            signed_add(incr, 0, bits, step.overflow)
        } else {
            signed_add(old, incr, bits, step.overflow)
        };
        (old as u64, new as u64, overflowed)
    } else {
        let old = get_unsigned(bytes, step.offset, bits);
        let (new, overflowed) = if is_set {
            unsigned_add(incr as u64, 0, bits, step.overflow)
        } else {
            unsigned_add(old, incr, bits, step.overflow)
        };
        (old, new, overflowed)
    };
    if overflowed && step.overflow == Overflow::Fail {
        return (None, false);
    }
    set_field(bytes, step.offset, bits, new);
    let reply = if is_set { old } else { new };
    // Compare what is stored, so that a signed field's sign extension does not count.
    let changed = get_unsigned(bytes, step.offset, bits) != (old & mask(bits));
    (Some(reply as i64), changed)
}

fn mask(bits: u32) -> u64 {
    if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

fn bitfield_generic(ctx: &mut Ctx, read_only_command: bool) -> CmdResult {
    let args: Vec<&[u8]> = ctx.args.iter().collect();
    let steps = parse_field_steps(&args, max_string_len(ctx))?;
    let highest = steps
        .iter()
        .filter(|s| s.op != FieldOp::Get)
        .map(|s| s.offset + u64::from(s.ty.bits) - 1)
        .max();
    let now = ctx.now_ms;
    let Some(highest) = highest else {
        let s = read_string(&mut ctx.state.dbs[ctx.db], ctx.args.get(1), now)?;
        let bytes = s.map_or(&[][..], |s| s.as_bytes());
        ctx.out.array(steps.len());
        for step in &steps {
            let FieldType { signed, bits } = step.ty;
            if signed {
                ctx.out.int(get_signed(bytes, step.offset, bits));
            } else {
                ctx.out.int(get_unsigned(bytes, step.offset, bits) as i64);
            }
        }
        return Ok(());
    };
    if read_only_command {
        return Err("ERR BITFIELD_RO only supports the GET subcommand".into());
    }
    let (s, grew) = string_for_bits(ctx, highest)?;
    let mut replies = Vec::with_capacity(steps.len());
    let mut changes = 0;
    for step in &steps {
        match step.op {
            FieldOp::Get => {
                let FieldType { signed, bits } = step.ty;
                replies.push(Some(if signed {
                    get_signed(s.as_bytes(), step.offset, bits)
                } else {
                    get_unsigned(s.as_bytes(), step.offset, bits) as i64
                }));
            }
            FieldOp::Set(_) | FieldOp::IncrBy(_) => {
                let (reply, changed) = apply_write(s.edit(0), step);
                if reply.is_some() && (grew || changed) {
                    changes += 1;
                }
                replies.push(reply);
            }
        }
    }
    let key = ctx.args.get(1);
    for _ in 0..changes {
        ctx.modified(key);
    }
    // One event for the whole command, however many fields it changed.
    if changes > 0 {
        ctx.notify(notify::STRING, "setbit", key);
    }
    ctx.out.array(replies.len());
    for reply in replies {
        match reply {
            Some(n) => ctx.out.int(n),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn bitfield(ctx: &mut Ctx) -> CmdResult {
    bitfield_generic(ctx, false)
}

fn bitfield_ro(ctx: &mut Ctx) -> CmdResult {
    bitfield_generic(ctx, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: i64 = 512 * 1024 * 1024;

    #[test]
    fn bit_offsets() {
        assert_eq!(parse_bit_offset(b"7", None, MAX), Ok(7));
        assert_eq!(parse_bit_offset(b"4294967295", None, MAX), Ok(4294967295));
        assert!(parse_bit_offset(b"4294967296", None, MAX).is_err());
        assert!(parse_bit_offset(b"-1", None, MAX).is_err());
        assert!(parse_bit_offset(b"#2", None, MAX).is_err());
        assert_eq!(parse_bit_offset(b"#2", Some(8), MAX), Ok(16));
        assert!(parse_bit_offset(b"#-1", Some(8), MAX).is_err());
    }

    #[test]
    fn counting_and_finding_bits() {
        let s = b"foobar";
        assert_eq!(count_bits(s, 0, 47), 26);
        assert_eq!(count_bits(s, 8, 15), 6);
        assert_eq!(count_bits(s, 5, 30), 17);
        assert_eq!(count_bits(s, 1, 1), 1);
        assert_eq!(find_bit(&[0xff, 0xf0, 0x00], false, 0, 23), Some(12));
        assert_eq!(find_bit(&[0x00, 0x00, 0x01], true, 0, 23), Some(23));
        assert_eq!(find_bit(&[0xff], false, 0, 7), None);
        assert_eq!(clamp_range(-1, -2, 6), None);
        assert_eq!(clamp_range(0, -100, 6), Some((0, 0)));
    }

    #[test]
    fn field_types() {
        assert_eq!(
            parse_field_type(b"i64"),
            Ok(FieldType {
                signed: true,
                bits: 64
            })
        );
        assert!(parse_field_type(b"u64").is_err());
        assert!(parse_field_type(b"u63").is_ok());
        assert!(parse_field_type(b"i0").is_err());
        assert!(parse_field_type(b"I8").is_err());
        assert!(parse_field_type(b"").is_err());
    }

    #[test]
    fn field_reads_and_writes() {
        let mut b = vec![0u8; 2];
        set_field(&mut b, 7, 5, 23);
        assert_eq!(b, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned(&b, 7, 5), 23);
        assert_eq!(get_signed(&b, 7, 5), -9);
        assert_eq!(get_unsigned(&b, 100, 8), 0);
        assert_eq!(
            get_signed(&[0x80; 8], 0, 64),
            i64::MIN + 0x0080_8080_8080_8080
        );
    }

    #[test]
    fn overflow_rules() {
        use Overflow::*;
        assert_eq!(unsigned_add(250, 10, 8, Wrap), (4, true));
        assert_eq!(unsigned_add(250, 10, 8, Sat), (255, true));
        assert_eq!(unsigned_add(5, -10, 8, Sat), (0, true));
        assert_eq!(unsigned_add(5, -10, 8, Wrap), (251, true));
        assert_eq!(unsigned_add(5, -5, 8, Wrap), (0, false));
        assert_eq!(unsigned_add(300, 0, 8, Wrap), (44, true));
        assert_eq!(signed_add(120, 10, 8, Wrap), (-126, true));
        assert_eq!(signed_add(120, 10, 8, Sat), (127, true));
        assert_eq!(signed_add(-120, -10, 8, Sat), (-128, true));
        assert_eq!(signed_add(i64::MAX, 1, 64, Wrap), (i64::MIN, true));
        assert_eq!(signed_add(i64::MIN, -1, 64, Sat), (i64::MIN, true));
        assert_eq!(signed_add(-1, i64::MIN, 64, Wrap), (i64::MAX, true));
        assert_eq!(signed_add(200, 0, 8, Wrap), (-56, true));
        assert_eq!(signed_add(-5, 3, 4, Fail), (-2, false));
    }

    #[test]
    fn bitop_combines_with_zero_padding() {
        let srcs = vec![vec![0xff, 0x0f], vec![0xf0]];
        assert_eq!(combine(BitOp::And, &srcs), [0xf0, 0x00]);
        assert_eq!(combine(BitOp::Or, &srcs), [0xff, 0x0f]);
        assert_eq!(combine(BitOp::Xor, &srcs), [0x0f, 0x0f]);
        assert_eq!(combine(BitOp::Not, &srcs[..1]), [0x00, 0xf0]);
        assert!(combine(BitOp::And, &[vec![], vec![]]).is_empty());
    }
}
