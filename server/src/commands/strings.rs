//! The string family.

use super::table::{command, CommandDef};
use super::{errors, CmdResult, Ctx};
use crate::store::Value;

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
        "Sets the string value of a key.",
        set,
    ),
];

fn get(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    match ctx.state.dbs[ctx.db].get(ctx.args.get(1), now) {
        None => ctx.out.null(),
        Some(Value::String(s)) => ctx.out.bulk(&s.bytes),
        #[allow(unreachable_patterns)]
        Some(_) => return Err(errors::WRONGTYPE.into()),
    }
    Ok(())
}

fn set(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc() != 3 {
        return Err(errors::SYNTAX.into());
    }
    let (key, value) = (ctx.arg(1), ctx.arg(2));
    ctx.db().set(key, Value::from(value));
    ctx.modified(key);
    ctx.out.ok();
    Ok(())
}
