//! The generic keyspace family: existence, deletion, renaming, scanning and deadlines.

use super::table::{command, CommandDef};
use super::{CmdResult, Ctx};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "del",
        -2,
        "write",
        "@keyspace",
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Deletes keys.",
        del,
    ),
    command(
        "exists",
        -2,
        "readonly fast",
        "@keyspace",
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Counts how many of the given keys exist.",
        exists,
    ),
];

fn del(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let mut deleted = 0;
    for key in ctx.args.iter().skip(1) {
        let db = ctx.db();
        db.expire_if_needed(key, now);
        if db.remove(key).is_some() {
            ctx.modified(key);
            deleted += 1;
        }
    }
    ctx.out.int(deleted);
    Ok(())
}

fn exists(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let mut count = 0;
    for key in ctx.args.iter().skip(1) {
        if ctx.db().contains(key, now) {
            count += 1;
        }
    }
    ctx.out.int(count);
    Ok(())
}
