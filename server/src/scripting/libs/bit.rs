//! `bit`: 32-bit bitwise operations on Lua numbers (the LuaBitOp API).

use mlua::{Lua, MultiValue, Table, Value};

use super::{args_vec, fail, number_expected, succeed, to_number, LibResult};

/// A Lua number to 32 bits, as LuaBitOp converts: rounded to the nearest integer (ties to
/// even), modulo 2^32.
pub fn to_bits(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

fn arg(lua: &Lua, args: &[Value], i: usize, name: &str) -> Result<i32, LibResult> {
    match to_number(args.get(i)) {
        Some(n) => Ok(to_bits(n)),
        None => Err(fail(lua, number_expected(i + 1, name, args.get(i)))),
    }
}

type Unary = fn(i32) -> i32;
type Binary = fn(i32, i32) -> i32;

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let lib = lua.create_table()?;
    let unary: [(&'static str, Unary); 3] = [
        ("tobit", |x| x),
        ("bnot", |x| !x),
        ("bswap", |x| x.swap_bytes()),
    ];
    for (name, op) in unary {
        lib.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                let args = args_vec(args);
                match arg(lua, &args, 0, name) {
                    Ok(x) => succeed(lua, op(x) as f64),
                    Err(e) => e,
                }
            })?,
        )?;
    }
    let folds: [(&'static str, Binary); 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, op) in folds {
        lib.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                let args = args_vec(args);
                let mut acc = match arg(lua, &args, 0, name) {
                    Ok(x) => x,
                    Err(e) => return e,
                };
                for i in 1..args.len() {
                    match arg(lua, &args, i, name) {
                        Ok(x) => acc = op(acc, x),
                        Err(e) => return e,
                    }
                }
                succeed(lua, acc as f64)
            })?,
        )?;
    }
    let shifts: [(&'static str, Binary); 5] = [
        ("lshift", |x, n| ((x as u32) << (n & 31)) as i32),
        ("rshift", |x, n| ((x as u32) >> (n & 31)) as i32),
        ("arshift", |x, n| x >> (n & 31)),
        ("rol", |x, n| (x as u32).rotate_left((n & 31) as u32) as i32),
        ("ror", |x, n| {
            (x as u32).rotate_right((n & 31) as u32) as i32
        }),
    ];
    for (name, op) in shifts {
        lib.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                let args = args_vec(args);
                let x = match arg(lua, &args, 0, name) {
                    Ok(x) => x,
                    Err(e) => return e,
                };
                let n = match arg(lua, &args, 1, name) {
                    Ok(n) => n,
                    Err(e) => return e,
                };
                succeed(lua, op(x, n) as f64)
            })?,
        )?;
    }
    lib.raw_set(
        "tohex",
        lua.create_function(|lua, args: MultiValue| {
            let args = args_vec(args);
            let x = match arg(lua, &args, 0, "tohex") {
                Ok(x) => x as u32,
                Err(e) => return e,
            };
            let n = match args.get(1) {
                None | Some(Value::Nil) => 8,
                _ => match arg(lua, &args, 1, "tohex") {
                    Ok(n) => n,
                    Err(e) => return e,
                },
            };
            succeed(lua, tohex(x, n))
        })?,
    )?;
    Ok(lib)
}

/// `n` hex digits of `x` (negative `n`: uppercase), at most 8.
pub fn tohex(x: u32, n: i32) -> String {
    let upper = n < 0;
    let digits = n.unsigned_abs().min(8) as usize;
    let full = if upper {
        format!("{x:08X}")
    } else {
        format!("{x:08x}")
    };
    full[8 - digits..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_to_even_and_wrap() {
        assert_eq!(to_bits(1.5), 2);
        assert_eq!(to_bits(2.5), 2);
        assert_eq!(to_bits(-1.5), -2);
        assert_eq!(to_bits(4294967301.0), 5);
    }

    #[test]
    fn hex_digits() {
        assert_eq!(tohex(255, 8), "000000ff");
        assert_eq!(tohex(u32::MAX, -4), "FFFF");
        assert_eq!(tohex(255, 20), "000000ff");
        assert_eq!(tohex(1, 0), "");
    }
}
