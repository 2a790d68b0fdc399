//! EVAL and friends, and SCRIPT: Lua scripts sent whole (EVAL) or by their SHA1 (EVALSHA) after
//! SCRIPT LOAD. The engine is in `crate::scripting`.

use super::table::{command, container, CommandDef};
use super::{CmdResult, Ctx};
use crate::protocol::request::parse_i64;
use crate::protocol::Args;
use crate::scripting::{self, Invocation};

pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

const EVAL_FLAGS: &str = "noscript stale skip_monitor no_mandatory_keys";
const EVAL_RO_FLAGS: &str = "readonly noscript stale skip_monitor no_mandatory_keys";

pub const COMMANDS: &[CommandDef] = &[
    command(
        "eval",
        -3,
        EVAL_FLAGS,
        "@scripting",
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Runs a Lua script on the server.",
        eval,
    )
    .movable_keys(script_keys),
    command(
        "evalsha",
        -3,
        EVAL_FLAGS,
        "@scripting",
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Runs a cached Lua script, named by its SHA1.",
        evalsha,
    )
    .movable_keys(script_keys),
    command(
        "eval_ro",
        -3,
        EVAL_RO_FLAGS,
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Runs a Lua script that may not write.",
        eval_ro,
    )
    .movable_keys(script_keys),
    command(
        "evalsha_ro",
        -3,
        EVAL_RO_FLAGS,
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Runs a cached Lua script that may not write.",
        evalsha_ro,
    )
    .movable_keys(script_keys),
    container(
        "script",
        "scripting",
        "2.6.0",
        "A container for Lua script cache commands.",
        SCRIPT_SUBCOMMANDS,
    ),
];

const SCRIPT_SUBCOMMANDS: &[CommandDef] = &[
    command(
        "exists",
        -3,
        "noscript",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Tells, for each SHA1, whether the script is cached.",
        script_exists,
    ),
    command(
        "flush",
        -2,
        "noscript",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Empties the script cache.",
        script_flush,
    ),
    command(
        "help",
        2,
        "loading stale",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "5.0.0",
        "Lists the SCRIPT subcommands.",
        script_help,
    ),
    command(
        "kill",
        2,
        "noscript allow_busy",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Stops the running script, if it has not written.",
        script_kill,
    ),
    command(
        "load",
        3,
        "noscript stale",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Caches a script without running it.",
        script_load,
    ),
];

/// The keys of EVAL, EVALSHA, FCALL...: `numkeys` at 2, the keys from 3.
pub fn script_keys(args: Args<'_>) -> Vec<usize> {
    super::lists::counted_keys(args, 2, 3)
}

fn eval(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, false, false)
}

fn evalsha(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, true, false)
}

fn eval_ro(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, false, true)
}

fn evalsha_ro(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, true, true)
}

/// Reads `numkeys` and checks it against the arguments that follow.
pub fn parse_numkeys(ctx: &Ctx) -> Result<usize, super::CmdError> {
    let numkeys = parse_i64(ctx.arg(2)).ok_or(super::errors::NOT_INTEGER)?;
    if numkeys > ctx.argc() as i64 - 3 {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    if numkeys < 0 {
        return Err("ERR Number of keys can't be negative".into());
    }
    Ok(numkeys as usize)
}

fn eval_generic(ctx: &mut Ctx, by_sha: bool, read_only: bool) -> CmdResult {
    ctx.feed_monitors();
    let numkeys = parse_numkeys(ctx)?;
    let sha = if by_sha {
        let sha = ctx.arg(1);
        if sha.len() != 40 {
            return Err(NOSCRIPT.into());
        }
        String::from_utf8_lossy(sha).to_ascii_lowercase()
    } else {
        ctx.state.scripting.load_script(ctx.arg(1))?
    };
    let Some(script) = ctx.state.scripting.scripts.get(&sha) else {
        return Err(NOSCRIPT.into());
    };
    let flags = script.flags;
    if read_only && !flags.eval_compat && !flags.no_writes {
        return Err("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    let function = script.function.clone();
    let engine = ctx.state.scripting.eval.handle();
    let keys = (3..3 + numkeys).map(|i| ctx.arg(i)).collect();
    let args = (3 + numkeys..ctx.argc()).map(|i| ctx.arg(i)).collect();
    scripting::run(
        ctx,
        engine,
        Invocation {
            name: sha,
            function,
            keys,
            args,
            read_only: read_only || (!flags.eval_compat && flags.no_writes),
            allow_oom: !flags.eval_compat && flags.allow_oom,
            is_function: false,
        },
    )
}

fn script_load(ctx: &mut Ctx) -> CmdResult {
    let sha = ctx.state.scripting.load_script(ctx.arg(2))?;
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx) -> CmdResult {
    let found: Vec<bool> = (2..ctx.argc())
        .map(|i| {
            let sha = String::from_utf8_lossy(ctx.arg(i)).to_ascii_lowercase();
            ctx.state.scripting.scripts.contains_key(&sha)
        })
        .collect();
    ctx.out.array(found.len());
    for exists in found {
        ctx.out.int(i64::from(exists));
    }
    Ok(())
}

/// SCRIPT FLUSH's and FUNCTION FLUSH's arguments: nothing, SYNC or ASYNC (both flush at once).
pub fn flush_mode_is_valid(ctx: &Ctx) -> bool {
    ctx.argc() == 2 || (ctx.argc() == 3 && (ctx.arg_is(2, "sync") || ctx.arg_is(2, "async")))
}

fn script_flush(ctx: &mut Ctx) -> CmdResult {
    if !flush_mode_is_valid(ctx) {
        return Err("ERR SCRIPT FLUSH only support SYNC|ASYNC option".into());
    }
    ctx.state.scripting.flush_scripts();
    ctx.out.ok();
    Ok(())
}

/// Outside a busy script (where the connection answers it without the state lock), there is
/// never a script to kill.
fn script_kill(ctx: &mut Ctx) -> CmdResult {
    scripting::kill(&ctx.state.scripting.watch, false)?;
    ctx.out.ok();
    Ok(())
}

fn script_help(ctx: &mut Ctx) -> CmdResult {
    super::command::reply_help(
        ctx.out,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}
