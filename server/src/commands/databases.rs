//! Whole-database commands: FLUSHDB, FLUSHALL, SWAPDB, DBSIZE.

use super::table::{command, CommandDef};
use super::{CmdResult, Ctx};

pub const COMMANDS: &[CommandDef] = &[command(
    "dbsize",
    1,
    "readonly fast",
    "@keyspace",
    (0, 0, 0),
    "server",
    "1.0.0",
    "Returns the number of keys in the selected database.",
    dbsize,
)];

fn dbsize(ctx: &mut Ctx) -> CmdResult {
    let n = ctx.db().len() as i64;
    ctx.out.int(n);
    Ok(())
}
