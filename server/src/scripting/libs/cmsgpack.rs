//! `cmsgpack`: MessagePack encoding and decoding of Lua values, byte for byte as Redis's
//! lua-cmsgpack: integral numbers take the smallest integer encoding, other numbers a float32
//! when exact else a float64, tables with keys 1..n are arrays, other tables maps, and nesting
//! deeper than 16 tables encodes as nil.

use mlua::{Lua, MultiValue, Table, Value};

use super::{
    args_vec, bad_argument, fail, string_expected, succeed, to_bytes, to_number, LibResult,
};

const MAX_NESTING: usize = 16;
/// How many values one unpack may return: Lua's C stack holds about 8000.
const MAX_RESULTS: usize = 7_900;
/// Unpacking refuses data nested deeper than this (Redis runs out of Lua stack somewhat deeper,
/// with the same message).
const MAX_DECODE_DEPTH: usize = 1000;

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let lib = lua.create_table()?;
    lib.raw_set("pack", lua.create_function(pack)?)?;
    lib.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| unpack_entry(lua, args, "unpack", Mode::All))?,
    )?;
    lib.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            unpack_entry(lua, args, "unpack_one", Mode::One)
        })?,
    )?;
    lib.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            unpack_entry(lua, args, "unpack_limit", Mode::Limit)
        })?,
    )?;
    Ok(lib)
}

fn pack(lua: &Lua, args: MultiValue) -> LibResult {
    let args = args_vec(args);
    if args.is_empty() {
        return fail(
            lua,
            bad_argument(0, "pack", "MessagePack pack needs input."),
        );
    }
    let mut out = Vec::new();
    for value in &args {
        encode(value, &mut out, 0);
    }
    succeed(lua, lua.create_string(out)?)
}

fn encode(value: &Value, out: &mut Vec<u8>, level: usize) {
    crate::scripting::deep(|| encode_here(value, out, level))
}

fn encode_here(value: &Value, out: &mut Vec<u8>, level: usize) {
    match value {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => encode_number(*n, out),
        Value::Integer(n) => encode_int(*n, out),
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Table(t) if level < MAX_NESTING => encode_table(t, out, level),
        _ => out.push(0xc0),
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    // C's (int64_t) cast, as lua-cmsgpack compares it with the number.
    let as_int = super::super::convert::lua_number_to_i64(n);
    if n.is_finite() && as_int as f64 == n {
        encode_int(as_int, out);
    } else if (n as f32) as f64 == n || n.is_infinite() {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_bytes(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn header(out: &mut Vec<u8>, len: usize, fix: u8, wide16: u8, wide32: u8) {
    if len <= 15 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(wide16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(wide32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// The array length of a table whose keys are exactly 1..n, else None.
fn array_length(table: &Table) -> Option<usize> {
    let mut count = 0usize;
    let mut max = 0f64;
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair.ok()?;
        let n = match key {
            Value::Number(n) => n,
            Value::Integer(n) => n as f64,
            _ => return None,
        };
        if n <= 0.0 || n.trunc() != n || n > i32::MAX as f64 {
            return None;
        }
        max = max.max(n);
        count += 1;
    }
    (max as usize == count).then_some(count)
}

fn encode_table(table: &Table, out: &mut Vec<u8>, level: usize) {
    if let Some(len) = array_length(table) {
        header(out, len, 0x90, 0xdc, 0xdd);
        for i in 1..=len {
            let value = table.raw_get::<Value>(i).unwrap_or(Value::Nil);
            encode(&value, out, level + 1);
        }
        return;
    }
    let pairs: Vec<(Value, Value)> = table
        .pairs::<Value, Value>()
        .filter_map(Result::ok)
        .collect();
    header(out, pairs.len(), 0x80, 0xde, 0xdf);
    for (key, value) in &pairs {
        encode(key, out, level + 1);
        encode(value, out, level + 1);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    All,
    One,
    Limit,
}

enum DecodeError {
    Missing,
    Bad,
    TooDeep(&'static str),
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

fn unpack_entry(lua: &Lua, args: MultiValue, name: &str, mode: Mode) -> LibResult {
    let args = args_vec(args);
    let Some(data) = to_bytes(args.first()) else {
        return fail(lua, string_expected(1, name, args.first()));
    };
    let integer_arg = |i: usize| -> Result<i64, String> {
        match args.get(i) {
            None | Some(Value::Nil) => Ok(0),
            value => to_number(value)
                .map(|n| n as i64)
                .ok_or_else(|| super::number_expected(i + 1, name, value)),
        }
    };
    let (limit, offset) = match mode {
        Mode::All => (0, 0),
        Mode::One => match integer_arg(1) {
            Ok(offset) => (1, offset),
            Err(e) => return fail(lua, e),
        },
        Mode::Limit => match (integer_arg(1), integer_arg(2)) {
            (Ok(limit), Ok(offset)) => (limit, offset),
            (Err(e), _) | (_, Err(e)) => return fail(lua, e),
        },
    };
    if offset < 0 || limit < 0 {
        return fail(
            lua,
            format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset as i32,
                data.len() as i32
            ),
        );
    }
    let offset = offset as usize;
    if offset > data.len() {
        return fail(
            lua,
            format!(
                "Start offset {} greater than input length {}.",
                offset as i32,
                data.len() as i32
            ),
        );
    }
    let mut decoder = Decoder {
        lua,
        data: &data,
        pos: offset,
        depth: 0,
    };
    let mut values = Vec::new();
    while decoder.pos < data.len() && (limit == 0 || (values.len() as i64) < limit) {
        if values.len() >= MAX_RESULTS {
            return fail(
                lua,
                "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            );
        }
        match decoder.value() {
            Ok(value) => values.push(value),
            Err(DecodeError::Missing) => return fail(lua, "Missing bytes in input."),
            Err(DecodeError::Bad) => return fail(lua, "Bad data format in input."),
            Err(DecodeError::TooDeep(function)) => {
                return fail(lua, format!("stack overflow (in function {function})"))
            }
            Err(DecodeError::Lua(e)) => return Err(e),
        }
    }
    if limit > 0 {
        let next = if decoder.pos >= data.len() {
            -1.0
        } else {
            decoder.pos as f64
        };
        values.insert(0, Value::Number(next));
    }
    succeed(lua, MultiValue::from_iter(values))
}

struct Decoder<'l, 'd> {
    lua: &'l Lua,
    data: &'d [u8],
    pos: usize,
    depth: usize,
}

impl<'d> Decoder<'_, 'd> {
    fn take(&mut self, n: usize) -> Result<&'d [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Missing)?;
        let bytes = self.data.get(self.pos..end).ok_or(DecodeError::Missing)?;
        self.pos = end;
        Ok(bytes)
    }

    fn uint(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }

    fn value(&mut self) -> Result<Value, DecodeError> {
        crate::scripting::deep(|| self.value_here())
    }

    fn value_here(&mut self) -> Result<Value, DecodeError> {
        let tag = self.take(1)?[0];
        let lua = self.lua;
        Ok(match tag {
            0x00..=0x7f => Value::Number(tag as f64),
            0xe0..=0xff => Value::Number(tag as i8 as f64),
            0x80..=0x8f => self.map((tag & 0x0f) as usize)?,
            0x90..=0x9f => self.array((tag & 0x0f) as usize)?,
            0xa0..=0xbf => self.string((tag & 0x1f) as usize)?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xca => {
                let bits = self.uint(4)? as u32;
                Value::Number(f32::from_bits(bits) as f64)
            }
            0xcb => Value::Number(f64::from_bits(self.uint(8)?)),
            0xcc => Value::Number(self.uint(1)? as f64),
            0xcd => Value::Number(self.uint(2)? as f64),
            0xce => Value::Number(self.uint(4)? as f64),
            0xcf => Value::Number(self.uint(8)? as f64),
            0xd0 => Value::Number(self.uint(1)? as u8 as i8 as f64),
            0xd1 => Value::Number(self.uint(2)? as u16 as i16 as f64),
            0xd2 => Value::Number(self.uint(4)? as u32 as i32 as f64),
            0xd3 => Value::Number(self.uint(8)? as i64 as f64),
            0xd9 => {
                let len = self.uint(1)? as usize;
                self.string(len)?
            }
            0xda => {
                let len = self.uint(2)? as usize;
                self.string(len)?
            }
            0xdb => {
                let len = self.uint(4)? as usize;
                self.string(len)?
            }
            0xdc => {
                let len = self.uint(2)? as usize;
                self.array(len)?
            }
            0xdd => {
                let len = self.uint(4)? as usize;
                self.array(len)?
            }
            0xde => {
                let len = self.uint(2)? as usize;
                self.map(len)?
            }
            0xdf => {
                let len = self.uint(4)? as usize;
                self.map(len)?
            }
            _ => {
                let _ = lua;
                return Err(DecodeError::Bad);
            }
        })
    }

    fn string(&mut self, len: usize) -> Result<Value, DecodeError> {
        let bytes = self.take(len)?;
        Ok(Value::String(self.lua.create_string(bytes)?))
    }

    fn array(&mut self, len: usize) -> Result<Value, DecodeError> {
        self.descend("mp_decode_to_lua_array")?;
        let table = self.lua.create_table()?;
        for i in 1..=len {
            let value = self.value()?;
            table.raw_set(i, value)?;
        }
        self.depth -= 1;
        Ok(Value::Table(table))
    }

    fn map(&mut self, len: usize) -> Result<Value, DecodeError> {
        self.descend("mp_decode_to_lua_hash")?;
        let table = self.lua.create_table()?;
        for _ in 0..len {
            let key = self.value()?;
            let value = self.value()?;
            if key != Value::Nil {
                table.raw_set(key, value)?;
            }
        }
        self.depth -= 1;
        Ok(Value::Table(table))
    }

    fn descend(&mut self, function: &'static str) -> Result<(), DecodeError> {
        self.depth += 1;
        if self.depth > MAX_DECODE_DEPTH {
            return Err(DecodeError::TooDeep(function));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(values: &[f64]) -> Vec<u8> {
        let mut out = Vec::new();
        for &v in values {
            encode_number(v, &mut out);
        }
        out
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed_into() {
        let lua = Lua::new();
        let data = lua.create_string(vec![0x91u8; 100_000]).unwrap();
        let mut args = MultiValue::new();
        args.push_back(Value::String(data));
        let result = unpack_entry(&lua, args, "unpack", Mode::All).unwrap();
        let values: Vec<Value> = result.into_iter().collect();
        assert_eq!(values[0], Value::Boolean(false));
        let Value::String(message) = &values[1] else {
            panic!("an error message")
        };
        assert_eq!(
            message.to_str().unwrap(),
            "stack overflow (in function mp_decode_to_lua_array)"
        );
    }

    #[test]
    fn numbers_take_the_smallest_encoding() {
        assert_eq!(packed(&[1.0, -1.0, 128.0]), [0x01, 0xff, 0xcc, 0x80]);
        assert_eq!(packed(&[-33.0]), [0xd0, 0xdf]);
        assert_eq!(packed(&[1.5]), [0xca, 0x3f, 0xc0, 0, 0]);
        assert_eq!(
            packed(&[0.1]),
            [0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]
        );
        assert_eq!(
            packed(&[9_223_372_036_854_775_808.0]),
            [0xca, 0x5f, 0, 0, 0]
        );
    }
}
