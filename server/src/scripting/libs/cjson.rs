//! `cjson`: JSON encoding and decoding with the behaviour of the lua-cjson Redis embeds:
//! numbers as `%.14g`, `/` escaped, an empty table as `{}`, sparse arrays refused, `cjson.null`
//! for JSON null, lenient numbers (hex, leading zeros, inf/nan) when decoding.

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

use super::{args_vec, bad_argument, fail, string_expected, succeed, to_bytes, LibResult};
use crate::scripting::lua_number_text;

const MAX_DEPTH: usize = 1000;
/// An array whose highest index is above both this and twice its element count is refused.
const SPARSE_SAFE: f64 = 10.0;
const SPARSE_RATIO: f64 = 2.0;

/// `cjson.null`: a null light userdata, as in lua-cjson.
pub fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn is_null(value: &Value) -> bool {
    matches!(value, Value::LightUserData(ud) if ud.0.is_null())
}

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let lib = lua.create_table()?;
    lib.raw_set("encode", lua.create_function(encode)?)?;
    lib.raw_set("decode", lua.create_function(decode)?)?;
    lib.raw_set("null", null())?;
    Ok(lib)
}

fn encode(lua: &Lua, args: MultiValue) -> LibResult {
    let args = args_vec(args);
    if args.len() != 1 {
        return fail(lua, bad_argument(1, "encode", "expected 1 argument"));
    }
    let mut out = Vec::new();
    match encode_value(&args[0], &mut out, 0) {
        Ok(()) => succeed(lua, lua.create_string(out)?),
        Err(message) => fail(lua, message),
    }
}

fn encode_value(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    crate::scripting::deep(|| encode_value_here(value, out, depth))
}

fn encode_value_here(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => encode_number(*n, out)?,
        Value::Integer(n) => encode_number(*n as f64, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(t) => encode_table(t, out, depth + 1)?,
        v if is_null(v) => out.extend_from_slice(b"null"),
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                super::type_name(Some(other))
            ))
        }
    }
    Ok(())
}

fn encode_number(n: f64, out: &mut Vec<u8>) -> Result<(), String> {
    if !n.is_finite() {
        return Err("Cannot serialise number: must not be NaN or Inf".into());
    }
    out.extend_from_slice(lua_number_text(n).as_bytes());
    Ok(())
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// The length of `table` as a JSON array, or None when it is an object.
fn array_length(table: &Table) -> Result<Option<usize>, String> {
    let mut max = 0f64;
    let mut items = 0f64;
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair.map_err(|e| e.to_string())?;
        let index = match key {
            Value::Number(n) => n,
            Value::Integer(n) => n as f64,
            _ => return Ok(None),
        };
        if index < 1.0 || index.floor() != index {
            return Ok(None);
        }
        max = max.max(index);
        items += 1.0;
    }
    if max > SPARSE_SAFE && max > items * SPARSE_RATIO {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok((max > 0.0).then_some(max as usize))
}

fn encode_table(table: &Table, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("Cannot serialise, excessive nesting ({depth})"));
    }
    match array_length(table)? {
        Some(len) => {
            out.push(b'[');
            for i in 1..=len {
                if i > 1 {
                    out.push(b',');
                }
                let value: Value = table.raw_get(i).map_err(|e| e.to_string())?;
                encode_value(&value, out, depth)?;
            }
            out.push(b']');
        }
        None => {
            out.push(b'{');
            let mut first = true;
            for pair in table.pairs::<Value, Value>() {
                let (key, value) = pair.map_err(|e| e.to_string())?;
                if !first {
                    out.push(b',');
                }
                first = false;
                match &key {
                    Value::String(s) => encode_string(&s.as_bytes(), out),
                    Value::Number(n) => encode_string(lua_number_text(*n).as_bytes(), out),
                    Value::Integer(n) => encode_string(n.to_string().as_bytes(), out),
                    other => {
                        return Err(format!(
                            "Cannot serialise {}: table key must be a number or string",
                            super::type_name(Some(other))
                        ))
                    }
                }
                out.push(b':');
                encode_value(&value, out, depth)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn decode(lua: &Lua, args: MultiValue) -> LibResult {
    let args = args_vec(args);
    if args.len() != 1 {
        return fail(lua, bad_argument(1, "decode", "expected 1 argument"));
    }
    let Some(text) = to_bytes(args.first()) else {
        return fail(lua, string_expected(1, "decode", args.first()));
    };
    let mut parser = Parser {
        lua,
        json: &text,
        pos: 0,
        depth: 0,
    };
    match parser.document() {
        Ok(value) => succeed(lua, value),
        Err(Failure::Message(message)) => fail(lua, message),
        Err(Failure::Lua(e)) => Err(e),
    }
}

enum Failure {
    Message(String),
    Lua(mlua::Error),
}

impl From<mlua::Error> for Failure {
    fn from(e: mlua::Error) -> Self {
        Failure::Lua(e)
    }
}

/// A lexical token, as lua-cjson names them in its errors.
enum Token {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    /// A lexical error, with its message.
    Error(&'static str),
}

impl Token {
    fn name(&self) -> &'static str {
        match self {
            Token::ObjBegin => "T_OBJ_BEGIN",
            Token::ObjEnd => "T_OBJ_END",
            Token::ArrBegin => "T_ARR_BEGIN",
            Token::ArrEnd => "T_ARR_END",
            Token::Str(_) => "T_STRING",
            Token::Number(_) => "T_NUMBER",
            Token::Boolean(_) => "T_BOOLEAN",
            Token::Null => "T_NULL",
            Token::Colon => "T_COLON",
            Token::Comma => "T_COMMA",
            Token::End => "T_END",
            Token::Error(message) => message,
        }
    }
}

struct Parser<'l, 'j> {
    lua: &'l Lua,
    json: &'j [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_, '_> {
    fn document(&mut self) -> Result<Value, Failure> {
        let (token, at) = self.token();
        let value = self.value(token, at)?;
        let (token, at) = self.token();
        if !matches!(token, Token::End) {
            return Err(Self::unexpected("the end", &token, at));
        }
        Ok(value)
    }

    fn unexpected(expected: &str, found: &Token, at: usize) -> Failure {
        Failure::Message(format!(
            "Expected {expected} but found {} at character {}",
            found.name(),
            at + 1
        ))
    }

    fn value(&mut self, token: Token, at: usize) -> Result<Value, Failure> {
        crate::scripting::deep(|| self.value_here(token, at))
    }

    fn value_here(&mut self, token: Token, at: usize) -> Result<Value, Failure> {
        Ok(match token {
            Token::Str(s) => Value::String(self.lua.create_string(s)?),
            Token::Number(n) => Value::Number(n),
            Token::Boolean(b) => Value::Boolean(b),
            Token::Null => null(),
            Token::ObjBegin => self.object(at)?,
            Token::ArrBegin => self.array(at)?,
            other => return Err(Self::unexpected("value", &other, at)),
        })
    }

    fn descend(&mut self, at: usize) -> Result<(), Failure> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Failure::Message(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth,
                at + 1
            )));
        }
        Ok(())
    }

    fn object(&mut self, at: usize) -> Result<Value, Failure> {
        self.descend(at)?;
        let table = self.lua.create_table()?;
        let (mut token, mut at) = self.token();
        if matches!(token, Token::ObjEnd) {
            self.depth -= 1;
            return Ok(Value::Table(table));
        }
        loop {
            let Token::Str(key) = token else {
                return Err(Self::unexpected("object key string", &token, at));
            };
            let (colon, colon_at) = self.token();
            if !matches!(colon, Token::Colon) {
                return Err(Self::unexpected("colon", &colon, colon_at));
            }
            let (value_token, value_at) = self.token();
            let value = self.value(value_token, value_at)?;
            table.raw_set(self.lua.create_string(key)?, value)?;
            let (next, next_at) = self.token();
            match next {
                Token::ObjEnd => break,
                Token::Comma => {}
                other => return Err(Self::unexpected("comma or object end", &other, next_at)),
            }
            (token, at) = self.token();
        }
        self.depth -= 1;
        Ok(Value::Table(table))
    }

    fn array(&mut self, at: usize) -> Result<Value, Failure> {
        self.descend(at)?;
        let table = self.lua.create_table()?;
        let (mut token, mut at) = self.token();
        if matches!(token, Token::ArrEnd) {
            self.depth -= 1;
            return Ok(Value::Table(table));
        }
        let mut index = 1;
        loop {
            let value = self.value(token, at)?;
            table.raw_set(index, value)?;
            index += 1;
            let (next, next_at) = self.token();
            match next {
                Token::ArrEnd => break,
                Token::Comma => {}
                other => return Err(Self::unexpected("comma or array end", &other, next_at)),
            }
            (token, at) = self.token();
        }
        self.depth -= 1;
        Ok(Value::Table(table))
    }

    /// The next token and the offset it starts at (for a lexical error: where it was found).
    fn token(&mut self) -> (Token, usize) {
        while matches!(self.json.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&c) = self.json.get(self.pos) else {
            return (Token::End, start);
        };
        let single = match c {
            b'{' => Some(Token::ObjBegin),
            b'}' => Some(Token::ObjEnd),
            b'[' => Some(Token::ArrBegin),
            b']' => Some(Token::ArrEnd),
            b':' => Some(Token::Colon),
            b',' => Some(Token::Comma),
            0 => Some(Token::End),
            _ => None,
        };
        if let Some(token) = single {
            if !matches!(token, Token::End) {
                self.pos += 1;
            }
            return (token, start);
        }
        if c == b'"' {
            return self.string(start);
        }
        let rest = &self.json[self.pos..];
        if c == b'-' || c.is_ascii_digit() {
            return self.number(start);
        }
        for (word, token) in [
            (&b"true"[..], Token::Boolean(true)),
            (b"false", Token::Boolean(false)),
            (b"null", Token::Null),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return (token, start);
            }
        }
        let lower: Vec<u8> = rest.iter().take(3).map(u8::to_ascii_lowercase).collect();
        if lower == b"inf" || lower == b"nan" {
            return self.number(start);
        }
        (Token::Error("invalid token"), start)
    }

    /// A number as strtod reads it: decimal, hexadecimal, inf or nan.
    fn number(&mut self, start: usize) -> (Token, usize) {
        let rest = &self.json[self.pos..];
        match scan_strtod(rest) {
            Some((value, len)) => {
                self.pos += len;
                (Token::Number(value), start)
            }
            None => (Token::Error("invalid number"), start),
        }
    }

    fn string(&mut self, start: usize) -> (Token, usize) {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.json.get(self.pos) else {
                return (Token::Error("unexpected end of string"), self.pos);
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return (Token::Str(out), start);
                }
                0 => return (Token::Error("unexpected end of string"), self.pos),
                b'\\' => {
                    let escape_at = self.pos;
                    let Some(&e) = self.json.get(self.pos + 1) else {
                        return (Token::Error("unexpected end of string"), self.pos + 1);
                    };
                    let plain = match e {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(b'\x08'),
                        b'f' => Some(b'\x0c'),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        _ => None,
                    };
                    if let Some(byte) = plain {
                        out.push(byte);
                        self.pos += 2;
                        continue;
                    }
                    if e != b'u' {
                        return (Token::Error("invalid escape code"), escape_at);
                    }
                    match self.unicode_escape() {
                        Some(ch) => {
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        None => return (Token::Error("invalid unicode escape code"), escape_at),
                    }
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `\uXXXX` (a surrogate pair takes two) at `self.pos`.
    fn unicode_escape(&mut self) -> Option<char> {
        let hex4 = |at: usize| -> Option<u32> {
            let digits = self.json.get(at..at + 4)?;
            let text = std::str::from_utf8(digits).ok()?;
            if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            u32::from_str_radix(text, 16).ok()
        };
        let first = hex4(self.pos + 2)?;
        if (0xDC00..=0xDFFF).contains(&first) {
            return None;
        }
        if (0xD800..=0xDBFF).contains(&first) {
            if self.json.get(self.pos + 6..self.pos + 8) != Some(b"\\u") {
                return None;
            }
            let second = hex4(self.pos + 8)?;
            if !(0xDC00..=0xDFFF).contains(&second) {
                return None;
            }
            self.pos += 12;
            return char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
        }
        self.pos += 6;
        char::from_u32(first)
    }
}

/// The longest prefix of `s` C's strtod accepts, and its value.
fn scan_strtod(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let negative = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let rest = &s[i..];
    let lower: Vec<u8> = rest.iter().take(8).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"infinity") {
        return Some((sign * f64::INFINITY, i + 8));
    }
    if lower.starts_with(b"inf") {
        return Some((sign * f64::INFINITY, i + 3));
    }
    if lower.starts_with(b"nan") {
        return Some((f64::NAN, i + 3));
    }
    if lower.starts_with(b"0x") && rest.get(2).is_some_and(u8::is_ascii_hexdigit) {
        let mut j = 2;
        let mut value = 0f64;
        while let Some(d) = rest.get(j).and_then(|b| (*b as char).to_digit(16)) {
            value = value * 16.0 + d as f64;
            j += 1;
        }
        return Some((sign * value, i + j));
    }
    let mut j = 0;
    let digits_before = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    j += digits_before;
    let mut digits_after = 0;
    if rest.get(j) == Some(&b'.') {
        digits_after = rest[j + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits_before + digits_after > 0 {
            j += 1 + digits_after;
        }
    }
    if digits_before + digits_after == 0 {
        return None;
    }
    if matches!(rest.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(rest.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_digits = rest[k.min(rest.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            j = k + exp_digits;
        }
    }
    let text = std::str::from_utf8(&s[..i + j]).ok()?;
    let value: f64 = text.parse().ok()?;
    Some((value, i + j))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(code: &str) -> String {
        let lua = Lua::new();
        let lib = create(&lua).unwrap();
        lua.globals().set("cj", lib).unwrap();
        let value: Value = lua.load(code).eval().unwrap();
        let mut out = Vec::new();
        match encode_value(&value, &mut out, 0) {
            Ok(()) => String::from_utf8(out).unwrap(),
            Err(e) => e,
        }
    }

    #[test]
    fn encodes_as_lua_cjson() {
        assert_eq!(roundtrip("return {1,2,3}"), "[1,2,3]");
        assert_eq!(roundtrip("return {}"), "{}");
        assert_eq!(roundtrip("return {a=1}"), "{\"a\":1}");
        assert_eq!(
            roundtrip("return {1.5, 0.1, 1e20, 123456789012345678}"),
            "[1.5,0.1,1e+20,1.2345678901235e+17]"
        );
        assert_eq!(roundtrip("return 'a/b\"\\1'"), "\"a\\/b\\\"\\u0001\"");
        assert_eq!(roundtrip("return {[1]=1,[3]=3}"), "[1,null,3]");
        assert_eq!(
            roundtrip("return {[1]=1,[20]=3}"),
            "Cannot serialise table: excessively sparse array"
        );
    }

    #[test]
    fn deep_documents_decode_up_to_the_limit_and_no_further() {
        let lua = Lua::new();
        let decode_depth = |depth: usize| {
            let json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let mut args = MultiValue::new();
            args.push_back(Value::String(lua.create_string(&json).unwrap()));
            let result: Vec<Value> = decode(&lua, args).unwrap().into_iter().collect();
            match &result[..] {
                [Value::Boolean(true), ..] => Ok(()),
                [_, Value::String(message)] => Err(message.to_str().unwrap().to_string()),
                _ => Err("?".into()),
            }
        };
        assert_eq!(decode_depth(1000), Ok(()));
        assert_eq!(
            decode_depth(1001),
            Err("Found too many nested data structures (1001) at character 1001".into())
        );
    }

    #[test]
    fn numbers_scan_as_strtod() {
        assert_eq!(scan_strtod(b"1.5e3,"), Some((1500.0, 5)));
        assert_eq!(scan_strtod(b"0x10"), Some((16.0, 4)));
        assert_eq!(scan_strtod(b"01"), Some((1.0, 2)));
        assert_eq!(scan_strtod(b"-"), None);
        assert_eq!(scan_strtod(b"1e"), Some((1.0, 1)));
    }
}
