//! Conversions between Redis replies and Lua values, both ways, as Redis's scripting does them:
//! a command's reply (RESP, read back from a scratch buffer) becomes the value `redis.call`
//! returns, and a script's return value becomes the reply of EVAL/FCALL.

use mlua::{Lua, Table, Value};

use crate::protocol::{ReplyBuf, Resp};

/// Nesting deeper than this is answered with an error instead of recursing further (Redis stops
/// at the Lua C stack limit; a self-referencing table would otherwise recurse forever).
const MAX_DEPTH: usize = 1000;

/// The text of a Lua error table built from a Redis error: "-CODE message" keeps its code,
/// a message without a dash gets `ERR`; surrounding CR/LF are trimmed.
pub fn error_text(raw: &[u8]) -> Vec<u8> {
    let (code, message): (&[u8], &[u8]) = match raw.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(space) => (&rest[..space], &rest[space + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", raw),
    };
    let message = trim_crlf(message);
    let mut text = code.to_vec();
    text.push(b' ');
    text.extend_from_slice(message);
    text
}

fn trim_crlf(mut s: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b'\r' | b'\n'] = s {
        s = rest;
    }
    s
}

/// `{err = text}`, the shape of every error a script sees.
pub fn error_table(lua: &Lua, raw: &[u8]) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("err", lua.create_string(error_text(raw))?)?;
    Ok(table)
}

/// Parses one reply written by a command into the Lua value `redis.call` returns.
pub fn reply_to_lua(lua: &Lua, reply: &[u8]) -> mlua::Result<Value> {
    let mut parser = ReplyParser { buf: reply, pos: 0 };
    parser
        .value(lua)?
        .ok_or_else(|| mlua::Error::RuntimeError("malformed reply".into()))
}

struct ReplyParser<'b> {
    buf: &'b [u8],
    pos: usize,
}

impl ReplyParser<'_> {
    fn line(&mut self) -> Option<&[u8]> {
        let rest = self.buf.get(self.pos..)?;
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        self.pos += end + 2;
        Some(&rest[..end])
    }

    fn number(&mut self) -> Option<i64> {
        crate::protocol::request::parse_i64(self.line()?)
    }

    fn bulk(&mut self, len: i64) -> Option<&[u8]> {
        let len = usize::try_from(len).ok()?;
        let data = self.buf.get(self.pos..self.pos.checked_add(len)?)?;
        self.pos += len + 2;
        Some(data)
    }

    /// The next value, `None` when the reply is malformed. Attributes are skipped, as Redis
    /// does not show them to scripts.
    fn value(&mut self, lua: &Lua) -> mlua::Result<Option<Value>> {
        super::deep(|| self.value_here(lua))
    }

    fn value_here(&mut self, lua: &Lua) -> mlua::Result<Option<Value>> {
        let Some(&kind) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let value = match kind {
            b'+' => {
                let Some(text) = self.line() else {
                    return Ok(None);
                };
                let table = lua.create_table()?;
                table.raw_set("ok", lua.create_string(text)?)?;
                Value::Table(table)
            }
            b'-' => {
                let Some(text) = self.line() else {
                    return Ok(None);
                };
                let mut raw = b"-".to_vec();
                raw.extend_from_slice(text);
                let table = error_table(lua, &raw)?;
                // The command counted its error already: the script's reply must not again.
                table.raw_set("ignore_error_stats_update", true)?;
                Value::Table(table)
            }
            b':' => match self.number() {
                Some(n) => Value::Number(n as f64),
                None => return Ok(None),
            },
            b'$' => match self.number() {
                Some(-1) => Value::Boolean(false),
                Some(len) => match self.bulk(len) {
                    Some(data) => Value::String(lua.create_string(data)?),
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
            b'*' | b'~' | b'%' | b'>' => {
                let Some(len) = self.number() else {
                    return Ok(None);
                };
                if len < 0 {
                    return Ok(Some(Value::Boolean(false)));
                }
                let table = lua.create_table()?;
                match kind {
                    b'%' => {
                        let map = lua.create_table()?;
                        for _ in 0..len {
                            let (Some(k), Some(v)) = (self.value(lua)?, self.value(lua)?) else {
                                return Ok(None);
                            };
                            if k != Value::Nil {
                                map.raw_set(k, v)?;
                            }
                        }
                        table.raw_set("map", map)?;
                    }
                    b'~' => {
                        let set = lua.create_table()?;
                        for _ in 0..len {
                            let Some(member) = self.value(lua)? else {
                                return Ok(None);
                            };
                            if member != Value::Nil {
                                set.raw_set(member, true)?;
                            }
                        }
                        table.raw_set("set", set)?;
                    }
                    _ => {
                        for i in 1..=len {
                            let Some(element) = self.value(lua)? else {
                                return Ok(None);
                            };
                            table.raw_set(i, element)?;
                        }
                    }
                }
                Value::Table(table)
            }
            b'_' => {
                self.line();
                Value::Nil
            }
            b'#' => match self.line() {
                Some(b"t") => Value::Boolean(true),
                Some(_) => Value::Boolean(false),
                None => return Ok(None),
            },
            b',' => {
                let Some(text) = self.line() else {
                    return Ok(None);
                };
                let d = parse_resp_double(text);
                let table = lua.create_table()?;
                table.raw_set("double", d)?;
                Value::Table(table)
            }
            b'(' => {
                let Some(text) = self.line() else {
                    return Ok(None);
                };
                let table = lua.create_table()?;
                table.raw_set("big_number", lua.create_string(text)?)?;
                Value::Table(table)
            }
            b'=' => {
                let Some(len) = self.number() else {
                    return Ok(None);
                };
                let Some(data) = self.bulk(len) else {
                    return Ok(None);
                };
                let (format, text) = if data.len() >= 4 {
                    (&data[..3], &data[4..])
                } else {
                    (&b"txt"[..], data)
                };
                let inner = lua.create_table()?;
                inner.raw_set("string", lua.create_string(text)?)?;
                inner.raw_set("format", lua.create_string(format)?)?;
                let table = lua.create_table()?;
                table.raw_set("verbatim_string", inner)?;
                Value::Table(table)
            }
            b'|' => {
                let Some(len) = self.number() else {
                    return Ok(None);
                };
                for _ in 0..len.max(0) * 2 {
                    if self.value(lua)?.is_none() {
                        return Ok(None);
                    }
                }
                return self.value(lua);
            }
            _ => return Ok(None),
        };
        Ok(Some(value))
    }
}

fn parse_resp_double(text: &[u8]) -> f64 {
    match text {
        b"inf" => f64::INFINITY,
        b"-inf" => f64::NEG_INFINITY,
        _ => std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN),
    }
}

/// C's `(long long)` cast of a double as x86-64 performs it: out of range (and NaN) gives
/// the smallest integer.
pub fn lua_number_to_i64(n: f64) -> i64 {
    if n.is_finite() && n > -9_223_372_036_854_775_809.0 && n < 9_223_372_036_854_775_808.0 {
        n.trunc() as i64
    } else {
        i64::MIN
    }
}

/// What an error table carries: its message, where it was raised, and whether it was counted.
#[derive(Debug, Default, Clone)]
pub struct ErrorInfo {
    pub message: Vec<u8>,
    pub source: Option<String>,
    pub line: Option<String>,
    pub already_counted: bool,
}

/// Reads an error table the way Redis's luaExtractErrorInformation does.
pub fn error_info(table: &Table) -> ErrorInfo {
    let text = |key: &str| -> Option<Vec<u8>> {
        match table.raw_get::<Value>(key).ok()? {
            Value::String(s) => Some(s.as_bytes().to_vec()),
            Value::Number(n) => Some(super::lua_number_text(n).into_bytes()),
            Value::Integer(n) => Some(n.to_string().into_bytes()),
            _ => None,
        }
    };
    ErrorInfo {
        message: text("err").unwrap_or_default(),
        source: text("source").map(|s| String::from_utf8_lossy(&s).into_owned()),
        line: text("line").map(|s| String::from_utf8_lossy(&s).into_owned()),
        already_counted: matches!(
            table.raw_get::<Value>("ignore_error_stats_update"),
            Ok(Value::Boolean(true))
        ),
    }
}

/// An error reply found while converting a script's return value.
pub struct ReplyError {
    pub text: Vec<u8>,
    pub counted: bool,
}

/// Writes a script's return value as the reply, as Redis converts it: strings are bulk strings,
/// numbers are truncated to integers, `true` is 1 and `false` null (RESP2 script) or booleans
/// (RESP3 script), tables are arrays up to the first nil unless they are error/status/double/
/// map/set/... tables. Error replies written are returned so the caller counts them.
pub fn lua_to_reply(
    value: &Value,
    out: &mut ReplyBuf,
    script_resp: Resp,
    errors: &mut Vec<ReplyError>,
) {
    write_value(value, out, script_resp, errors, 0);
}

fn write_value(
    value: &Value,
    out: &mut ReplyBuf,
    script_resp: Resp,
    errors: &mut Vec<ReplyError>,
    depth: usize,
) {
    super::deep(|| write_value_here(value, out, script_resp, errors, depth))
}

fn write_value_here(
    value: &Value,
    out: &mut ReplyBuf,
    script_resp: Resp,
    errors: &mut Vec<ReplyError>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        let text = b"ERR reached lua stack limit".to_vec();
        out.error_bytes(&text);
        errors.push(ReplyError {
            text,
            counted: false,
        });
        return;
    }
    match value {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if script_resp == Resp::V2 {
                if *b {
                    out.int(1);
                } else {
                    out.null();
                }
            } else {
                out.boolean(*b);
            }
        }
        Value::Number(n) => out.int(lua_number_to_i64(*n)),
        Value::Integer(n) => out.int(*n),
        Value::Table(table) => write_table(table, out, script_resp, errors, depth),
        _ => out.null(),
    }
}

fn write_table(
    table: &Table,
    out: &mut ReplyBuf,
    script_resp: Resp,
    errors: &mut Vec<ReplyError>,
    depth: usize,
) {
    if let Ok(Value::String(_)) = table.raw_get::<Value>("err") {
        let info = error_info(table);
        let text = c_string(&info.message).to_vec();
        out.error_bytes(&text);
        errors.push(ReplyError {
            text,
            counted: info.already_counted,
        });
        return;
    }
    if let Ok(Value::String(ok)) = table.raw_get::<Value>("ok") {
        let text: Vec<u8> = c_string(&ok.as_bytes())
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        out.buf.push(b'+');
        out.buf.extend_from_slice(&text);
        out.buf.extend_from_slice(b"\r\n");
        return;
    }
    match table.raw_get::<Value>("double") {
        Ok(Value::Number(d)) => return out.double(d),
        Ok(Value::Integer(d)) => return out.double(d as f64),
        _ => {}
    }
    if let Ok(Value::String(big)) = table.raw_get::<Value>("big_number") {
        let text: Vec<u8> = big
            .as_bytes()
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        if out.is_resp3() {
            out.buf.push(b'(');
            out.buf.extend_from_slice(&text);
            out.buf.extend_from_slice(b"\r\n");
        } else {
            out.bulk(&text);
        }
        return;
    }
    if let Ok(Value::Table(verbatim)) = table.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(format)), Ok(Value::String(text))) = (
            verbatim.raw_get::<Value>("format"),
            verbatim.raw_get::<Value>("string"),
        ) {
            let text = text.as_bytes();
            if out.is_resp3() {
                let format = format.as_bytes();
                let mut tag = [b' '; 3];
                for (slot, b) in tag.iter_mut().zip(c_string(&format).iter()) {
                    *slot = *b;
                }
                out.buf.push(b'=');
                out.buf
                    .extend_from_slice((text.len() + 4).to_string().as_bytes());
                out.buf.extend_from_slice(b"\r\n");
                out.buf.extend_from_slice(&tag);
                out.buf.push(b':');
                out.buf.extend_from_slice(&text);
                out.buf.extend_from_slice(b"\r\n");
            } else {
                out.bulk(&text);
            }
            return;
        }
    }
    if let Ok(Value::Table(map)) = table.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> =
            map.pairs::<Value, Value>().filter_map(Result::ok).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            write_value(k, out, script_resp, errors, depth + 1);
            write_value(v, out, script_resp, errors, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(set)) = table.raw_get::<Value>("set") {
        let members: Vec<Value> = set
            .pairs::<Value, Value>()
            .filter_map(|pair| pair.ok().map(|(k, _)| k))
            .collect();
        out.set(members.len());
        for member in &members {
            write_value(member, out, script_resp, errors, depth + 1);
        }
        return;
    }
    let mut elements = Vec::new();
    for i in 1.. {
        match table.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => elements.push(v),
        }
    }
    out.array(elements.len());
    for element in &elements {
        write_value(element, out, script_resp, errors, depth + 1);
    }
}

/// What C's `%s` reads of a Lua string: up to its first NUL.
pub fn c_string(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_keep_or_add_their_code() {
        assert_eq!(error_text(b"-WRONGTYPE Operation"), b"WRONGTYPE Operation");
        assert_eq!(error_text(b"-NOCODE"), b"ERR NOCODE");
        assert_eq!(error_text(b"plain message\r\n"), b"ERR plain message");
        assert_eq!(error_text(b"-My err"), b"My err");
    }

    #[test]
    fn replies_become_lua_values() {
        let lua = Lua::new();
        let v = reply_to_lua(&lua, b"*3\r\n:1\r\n$-1\r\n+OK\r\n").unwrap();
        let Value::Table(t) = v else { panic!("array") };
        assert_eq!(t.raw_get::<f64>(1).unwrap(), 1.0);
        assert!(!t.raw_get::<bool>(2).unwrap());
        let ok: Table = t.raw_get(3).unwrap();
        assert_eq!(ok.raw_get::<String>("ok").unwrap(), "OK");
        let err = reply_to_lua(&lua, b"-ERR bad\r\n").unwrap();
        let Value::Table(err) = err else {
            panic!("table")
        };
        assert_eq!(err.raw_get::<String>("err").unwrap(), "ERR bad");
    }

    #[test]
    fn values_become_replies() {
        let lua = Lua::new();
        let value: Value = lua
            .load("return {1, 2.9, 'x', false, {ok='fine'}, nil, 7}")
            .eval()
            .unwrap();
        let mut out = ReplyBuf::new(Resp::V2);
        let mut errors = Vec::new();
        lua_to_reply(&value, &mut out, Resp::V2, &mut errors);
        assert_eq!(out.buf, b"*5\r\n:1\r\n:2\r\n$1\r\nx\r\n$-1\r\n+fine\r\n");
        assert!(errors.is_empty());
    }

    #[test]
    fn numbers_truncate_like_a_c_cast() {
        assert_eq!(lua_number_to_i64(3.99), 3);
        assert_eq!(lua_number_to_i64(-3.99), -3);
        assert_eq!(lua_number_to_i64(f64::NAN), i64::MIN);
        assert_eq!(lua_number_to_i64(1e300), i64::MIN);
    }
}
