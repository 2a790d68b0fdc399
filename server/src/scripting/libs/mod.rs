//! The libraries Redis gives scripts besides Lua's own: cjson, cmsgpack, bit and struct,
//! written here against Redis's observable behaviour. Each function answers in the "raising"
//! convention of [`super::succeed`]/[`super::fail`]: the sandbox wraps it so that a failure is
//! raised at the caller's position, as luaL_error does in C.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod structs;

use mlua::{Lua, MultiValue, Value};

/// luaL_checknumber: numbers, and strings Lua converts to numbers.
pub fn to_number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => Some(*n),
        Value::Integer(n) => Some(*n as f64),
        Value::String(s) => lua_string_to_number(&s.as_bytes()),
        _ => None,
    }
}

/// Lua 5.1's string-to-number coercion: decimal (strtod) or hexadecimal (`0x..`), surrounded
/// by optional whitespace.
pub fn lua_string_to_number(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes)
        .ok()?
        .trim_matches(|c: char| c.is_ascii_whitespace());
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let value = hex.bytes().fold(0f64, |acc, b| {
            acc * 16.0 + (b as char).to_digit(16).unwrap_or(0) as f64
        });
        return Some(if negative { -value } else { value });
    }
    let lower = digits.to_ascii_lowercase();
    if lower.starts_with("inf") || lower.starts_with("nan") {
        return match lower.as_str() {
            "inf" | "infinity" => Some(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }),
            "nan" => Some(f64::NAN),
            _ => None,
        };
    }
    if text.is_empty() {
        return None;
    }
    text.parse::<f64>().ok()
}

/// The type name luaL_typerror shows: `no value` for a missing argument.
pub fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Number(_)) | Some(Value::Integer(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(Value::LightUserData(_)) | Some(Value::UserData(_)) => "userdata",
        Some(_) => "userdata",
    }
}

/// The message of luaL_argerror.
pub fn bad_argument(position: usize, function: &str, message: &str) -> String {
    format!("bad argument #{position} to '{function}' ({message})")
}

/// luaL_checknumber's failure message.
pub fn number_expected(position: usize, function: &str, value: Option<&Value>) -> String {
    bad_argument(
        position,
        function,
        &format!("number expected, got {}", type_name(value)),
    )
}

/// luaL_checklstring: strings, and numbers converted as Lua prints them.
pub fn to_bytes(value: Option<&Value>) -> Option<Vec<u8>> {
    match value? {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Number(n) => Some(super::lua_number_text(*n).into_bytes()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

pub fn string_expected(position: usize, function: &str, value: Option<&Value>) -> String {
    bad_argument(
        position,
        function,
        &format!("string expected, got {}", type_name(value)),
    )
}

pub type LibResult = mlua::Result<MultiValue>;

pub fn args_vec(args: MultiValue) -> Vec<Value> {
    args.into_iter().collect()
}

pub fn fail(lua: &Lua, message: impl AsRef<[u8]>) -> LibResult {
    super::fail(lua, message)
}

pub fn succeed(lua: &Lua, results: impl mlua::IntoLuaMulti) -> LibResult {
    super::succeed(lua, results)
}
