//! `struct`: packing Lua values into binary strings and back (pack, unpack, size), with the
//! format language Redis's struct library reads: `<` `>` `=` endianness, `!n` alignment,
//! `b B h H l L i[n] I[n]` integers, `f d` floats, `c[n]` fixed strings, `s` zero-terminated
//! strings, `x` padding.

use mlua::{Lua, MultiValue, Table, Value};

use super::{
    args_vec, bad_argument, fail, number_expected, string_expected, succeed, to_bytes, to_number,
    LibResult,
};

/// The widest integer `i`/`I` may ask for, in bytes.
const MAX_INT_SIZE: usize = 32;
/// The largest alignment `!` asks for by default (that of a double on 64-bit platforms).
const MAX_ALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            little: cfg!(target_endian = "little"),
            align: 1,
        }
    }
}

/// One format item.
enum Item {
    Int { size: usize, signed: bool },
    Float,
    Double,
    Chars(usize),
    ZString,
    Pad,
    Space,
    Little(bool),
    Align(usize),
}

struct Format<'f> {
    fmt: &'f [u8],
    pos: usize,
}

enum FormatError {
    /// luaL_argerror on argument 1.
    Argument(String),
    /// luaL_error.
    Plain(String),
}

impl<'f> Format<'f> {
    fn number(&mut self, default: usize) -> Result<usize, FormatError> {
        if !self.fmt.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut n: usize = 0;
        while let Some(d) = self.fmt.get(self.pos).filter(|b| b.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add((d - b'0') as usize))
                .filter(|&n| n <= i32::MAX as usize)
                .ok_or_else(|| FormatError::Plain("integral size overflow".into()))?;
            self.pos += 1;
        }
        Ok(n)
    }

    fn next(&mut self) -> Option<Result<(Item, u8), FormatError>> {
        let &opt = self.fmt.get(self.pos)?;
        self.pos += 1;
        let item = match opt {
            b'b' | b'B' => Item::Int {
                size: 1,
                signed: opt == b'b',
            },
            b'h' | b'H' => Item::Int {
                size: 2,
                signed: opt == b'h',
            },
            b'l' | b'L' => Item::Int {
                size: 8,
                signed: opt == b'l',
            },
            b'i' | b'I' => match self.number(4) {
                Ok(size) if size > MAX_INT_SIZE => {
                    return Some(Err(FormatError::Plain(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    ))))
                }
                Ok(size) => Item::Int {
                    size,
                    signed: opt == b'i',
                },
                Err(e) => return Some(Err(e)),
            },
            b'f' => Item::Float,
            b'd' => Item::Double,
            b'x' => Item::Pad,
            b'c' => match self.number(1) {
                Ok(n) => Item::Chars(n),
                Err(e) => return Some(Err(e)),
            },
            b's' => Item::ZString,
            b' ' => Item::Space,
            b'<' => Item::Little(true),
            b'>' => Item::Little(false),
            b'=' => Item::Little(cfg!(target_endian = "little")),
            b'!' => match self.number(MAX_ALIGN) {
                Ok(a) if a.is_power_of_two() => Item::Align(a),
                Ok(a) => {
                    return Some(Err(FormatError::Plain(format!(
                        "alignment {a} is not a power of 2"
                    ))))
                }
                Err(e) => return Some(Err(e)),
            },
            other => {
                return Some(Err(FormatError::Argument(format!(
                    "invalid format option '{}'",
                    other as char
                ))))
            }
        };
        Some(Ok((item, opt)))
    }
}

impl Item {
    fn size(&self) -> usize {
        match self {
            Item::Int { size, .. } => *size,
            Item::Float => 4,
            Item::Double => 8,
            Item::Chars(n) => *n,
            Item::Pad => 1,
            _ => 0,
        }
    }
}

fn padding(len: usize, header: &Header, item: &Item) -> usize {
    let size = item.size();
    if size == 0 || matches!(item, Item::Chars(_)) {
        return 0;
    }
    let size = size.min(header.align);
    if !size.is_power_of_two() {
        return 0;
    }
    (size - (len & (size - 1))) & (size - 1)
}

fn format_failure(lua: &Lua, function: &str, error: FormatError) -> LibResult {
    match error {
        FormatError::Argument(message) => fail(lua, bad_argument(1, function, &message)),
        FormatError::Plain(message) => fail(lua, message),
    }
}

fn put_int(out: &mut Vec<u8>, n: f64, size: usize, little: bool) {
    let value: u64 = if n < i64::MAX as f64 {
        super::super::convert::lua_number_to_i64(n) as u64
    } else if n < u64::MAX as f64 {
        n as u64
    } else {
        0
    };
    let fill = if (value as i64) < 0 { 0xff } else { 0 };
    let byte = |i: usize| -> u8 {
        if i < 8 {
            (value >> (8 * i)) as u8
        } else {
            fill
        }
    };
    if little {
        out.extend((0..size).map(byte));
    } else {
        out.extend((0..size).rev().map(byte));
    }
}

fn get_int(data: &[u8], little: bool, signed: bool) -> f64 {
    let size = data.len();
    let byte = |i: usize| -> u8 {
        if little {
            data[i]
        } else {
            data[size - 1 - i]
        }
    };
    let mut value: u64 = 0;
    for i in 0..size.min(8) {
        value |= (byte(i) as u64) << (8 * i);
    }
    if !signed {
        return value as f64;
    }
    if size < 8 {
        let mask = !0u64 << (size * 8 - 1);
        if value & mask != 0 {
            value |= mask;
        }
    }
    value as i64 as f64
}

fn pack(lua: &Lua, args: MultiValue) -> LibResult {
    let args = args_vec(args);
    let Some(fmt) = to_bytes(args.first()) else {
        return fail(lua, string_expected(1, "pack", args.first()));
    };
    let mut format = Format { fmt: &fmt, pos: 0 };
    let mut header = Header::default();
    let mut out = Vec::new();
    let mut arg = 1;
    while let Some(next) = format.next() {
        let (item, _) = match next {
            Ok(parsed) => parsed,
            Err(e) => return format_failure(lua, "pack", e),
        };
        let pad = padding(out.len(), &header, &item);
        out.extend(std::iter::repeat_n(0, pad));
        match item {
            Item::Int { size, .. } => {
                let Some(n) = to_number(args.get(arg)) else {
                    return fail(lua, number_expected(arg + 1, "pack", args.get(arg)));
                };
                arg += 1;
                put_int(&mut out, n, size, header.little);
            }
            Item::Float | Item::Double => {
                let Some(n) = to_number(args.get(arg)) else {
                    return fail(lua, number_expected(arg + 1, "pack", args.get(arg)));
                };
                arg += 1;
                let bytes = if matches!(item, Item::Float) {
                    let f = n as f32;
                    if header.little {
                        f.to_le_bytes().to_vec()
                    } else {
                        f.to_be_bytes().to_vec()
                    }
                } else if header.little {
                    n.to_le_bytes().to_vec()
                } else {
                    n.to_be_bytes().to_vec()
                };
                out.extend_from_slice(&bytes);
            }
            Item::Chars(_) | Item::ZString => {
                let Some(s) = to_bytes(args.get(arg)) else {
                    return fail(lua, string_expected(arg + 1, "pack", args.get(arg)));
                };
                arg += 1;
                let size = match item {
                    Item::Chars(n) if n > 0 => n,
                    _ => s.len(),
                };
                if s.len() < size {
                    return fail(lua, bad_argument(arg + 1, "pack", "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if matches!(item, Item::ZString) {
                    out.push(0);
                }
            }
            Item::Pad => out.push(0),
            Item::Little(little) => header.little = little,
            Item::Align(align) => header.align = align,
            _ => {}
        }
    }
    succeed(lua, lua.create_string(out)?)
}

fn unpack(lua: &Lua, args: MultiValue) -> LibResult {
    let args = args_vec(args);
    let Some(fmt) = to_bytes(args.first()) else {
        return fail(lua, string_expected(1, "unpack", args.first()));
    };
    let Some(data) = to_bytes(args.get(1)) else {
        return fail(lua, string_expected(2, "unpack", args.get(1)));
    };
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        value => match to_number(value) {
            Some(n) => n.trunc(),
            None => return fail(lua, number_expected(3, "unpack", value)),
        },
    };
    if start == 0.0 {
        return fail(
            lua,
            bad_argument(3, "unpack", "offset must be 1 or greater"),
        );
    }
    let too_short = || bad_argument(2, "unpack", "data string too short");
    // A negative offset wraps around as C's size_t does: far past the data.
    let mut pos: usize = if start < 0.0 {
        usize::MAX / 2
    } else {
        start as usize - 1
    };
    let mut format = Format { fmt: &fmt, pos: 0 };
    let mut header = Header::default();
    let mut results: Vec<Value> = Vec::new();
    while let Some(next) = format.next() {
        let (item, _) = match next {
            Ok(parsed) => parsed,
            Err(e) => return format_failure(lua, "unpack", e),
        };
        pos = pos.saturating_add(padding(pos, &header, &item));
        let mut size = item.size();
        if pos.saturating_add(size) > data.len() {
            return fail(lua, too_short());
        }
        match item {
            Item::Int { signed, .. } => {
                results.push(Value::Number(get_int(
                    &data[pos..pos + size],
                    header.little,
                    signed,
                )));
            }
            Item::Float => {
                let mut bytes = [0u8; 4];
                bytes.copy_from_slice(&data[pos..pos + 4]);
                let f = if header.little {
                    f32::from_le_bytes(bytes)
                } else {
                    f32::from_be_bytes(bytes)
                };
                results.push(Value::Number(f as f64));
            }
            Item::Double => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&data[pos..pos + 8]);
                let d = if header.little {
                    f64::from_le_bytes(bytes)
                } else {
                    f64::from_be_bytes(bytes)
                };
                results.push(Value::Number(d));
            }
            Item::Chars(n) => {
                if n == 0 {
                    let previous = match results.last() {
                        Some(Value::Number(n)) => Some(*n),
                        Some(Value::String(s)) => super::lua_string_to_number(&s.as_bytes()),
                        _ => None,
                    };
                    let Some(previous) = previous else {
                        return fail(lua, "format 'c0' needs a previous size");
                    };
                    results.pop();
                    size = previous.max(0.0) as usize;
                    if pos.saturating_add(size) > data.len() {
                        return fail(lua, too_short());
                    }
                }
                results.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            Item::ZString => {
                let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                    return fail(lua, "unfinished string in data");
                };
                results.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                size = end + 1;
            }
            Item::Little(little) => header.little = little,
            Item::Align(align) => header.align = align,
            Item::Pad | Item::Space => {}
        }
        pos += size;
    }
    results.push(Value::Number((pos + 1) as f64));
    succeed(lua, MultiValue::from_iter(results))
}

fn size(lua: &Lua, args: MultiValue) -> LibResult {
    let args = args_vec(args);
    let Some(fmt) = to_bytes(args.first()) else {
        return fail(lua, string_expected(1, "size", args.first()));
    };
    let mut format = Format { fmt: &fmt, pos: 0 };
    let mut header = Header::default();
    let mut total: usize = 0;
    while let Some(next) = format.next() {
        let (item, opt) = match next {
            Ok(parsed) => parsed,
            Err(e) => return format_failure(lua, "size", e),
        };
        match item {
            Item::ZString | Item::Chars(0) => {
                let name = if opt == b's' { "s" } else { "c0" };
                return fail(
                    lua,
                    bad_argument(1, "size", &format!("option '{name}' has no fixed size")),
                );
            }
            Item::Little(little) => header.little = little,
            Item::Align(align) => header.align = align,
            _ => {}
        }
        total += padding(total, &header, &item) + item.size();
    }
    succeed(lua, total as f64)
}

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let lib = lua.create_table()?;
    lib.raw_set("pack", lua.create_function(pack)?)?;
    lib.raw_set("unpack", lua.create_function(unpack)?)?;
    lib.raw_set("size", lua.create_function(size)?)?;
    Ok(lib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_pack_in_either_byte_order() {
        let mut out = Vec::new();
        put_int(&mut out, 258.0, 4, false);
        assert_eq!(out, [0, 0, 1, 2]);
        out.clear();
        put_int(&mut out, -1.0, 2, true);
        assert_eq!(out, [0xff, 0xff]);
        assert_eq!(get_int(&[0xff, 0xff], true, true), -1.0);
        assert_eq!(get_int(&[0xff, 0xff], true, false), 65535.0);
        assert_eq!(get_int(&[0, 0, 1, 2], false, false), 258.0);
    }
}
