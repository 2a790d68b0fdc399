//! Redis 7 functions: FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL and FCALL. The
//! libraries live in `crate::scripting::functions`.

use super::table::{command, container, CommandDef};
use super::{CmdResult, Ctx};
use crate::protocol::request::parse_i64;
use crate::scripting::{self, functions, Invocation};

const FCALL_FLAGS: &str = "noscript stale skip_monitor no_mandatory_keys";
const FCALL_RO_FLAGS: &str = "readonly noscript stale skip_monitor no_mandatory_keys";

pub const COMMANDS: &[CommandDef] = &[
    command(
        "fcall",
        -3,
        FCALL_FLAGS,
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Calls a function of a loaded library.",
        fcall,
    )
    .movable_keys(super::scripting::script_keys),
    command(
        "fcall_ro",
        -3,
        FCALL_RO_FLAGS,
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Calls a function that does not write.",
        fcall_ro,
    )
    .movable_keys(super::scripting::script_keys),
    container(
        "function",
        "scripting",
        "7.0.0",
        "A container for function commands.",
        FUNCTION_SUBCOMMANDS,
    ),
];

const FUNCTION_SUBCOMMANDS: &[CommandDef] = &[
    command(
        "delete",
        3,
        "write noscript",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Deletes a library and its functions.",
        function_delete,
    ),
    command(
        "dump",
        2,
        "noscript",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Serializes every library, for FUNCTION RESTORE.",
        function_dump,
    ),
    command(
        "flush",
        -2,
        "write noscript",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Deletes every library.",
        function_flush,
    ),
    command(
        "help",
        2,
        "loading stale",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Lists the FUNCTION subcommands.",
        function_help,
    ),
    command(
        "kill",
        2,
        "noscript allow_busy",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Stops the running function, if it has not written.",
        function_kill,
    ),
    command(
        "list",
        -2,
        "noscript",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Lists the libraries and their functions.",
        function_list,
    ),
    command(
        "load",
        -3,
        "write denyoom noscript",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Loads a library of functions.",
        function_load,
    ),
    command(
        "restore",
        -3,
        "write denyoom noscript",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Loads libraries from a FUNCTION DUMP payload.",
        function_restore,
    ),
    command(
        "stats",
        2,
        "noscript allow_busy",
        "@scripting",
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Tells which function runs, and how many libraries are loaded.",
        function_stats,
    ),
];

fn fcall(ctx: &mut Ctx) -> CmdResult {
    fcall_generic(ctx, false)
}

fn fcall_ro(ctx: &mut Ctx) -> CmdResult {
    fcall_generic(ctx, true)
}

fn fcall_generic(ctx: &mut Ctx, read_only: bool) -> CmdResult {
    ctx.feed_monitors();
    let name = String::from_utf8_lossy(ctx.arg(1)).into_owned();
    let Some(def) = ctx.state.scripting.functions.find(&name) else {
        return Err("ERR Function not found".into());
    };
    let (flags, function) = (def.flags, def.function.clone());
    let numkeys = parse_i64(ctx.arg(2)).ok_or("ERR Bad number of keys provided")?;
    if numkeys > ctx.argc() as i64 - 3 {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    if numkeys < 0 {
        return Err("ERR Number of keys can't be negative".into());
    }
    let numkeys = numkeys as usize;
    if read_only && !flags.no_writes {
        return Err("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    let engine = ctx.state.scripting.functions.engine.handle();
    let keys = (3..3 + numkeys).map(|i| ctx.arg(i)).collect();
    let args = (3 + numkeys..ctx.argc()).map(|i| ctx.arg(i)).collect();
    scripting::run(
        ctx,
        engine,
        Invocation {
            name,
            function,
            keys,
            args,
            read_only: read_only || flags.no_writes,
            allow_oom: flags.allow_oom,
            is_function: true,
        },
    )
}

fn function_load(ctx: &mut Ctx) -> CmdResult {
    let mut replace = false;
    for i in 2..ctx.argc() - 1 {
        if !ctx.arg_is(i, "replace") {
            return Err(format!("ERR Unknown option given: {}", ctx.arg_str(i)).into());
        }
        replace = true;
    }
    let code = ctx.arg(ctx.argc() - 1);
    let functions = &mut ctx.state.scripting.functions;
    let name = functions::library_name(code)?;
    if !replace && functions.libraries.contains_key(&name) {
        return Err(format!("ERR Library '{name}' already exists").into());
    }
    let library = functions.create(code)?;
    functions.install(vec![library], replace)?;
    ctx.state.dirty += 1;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx) -> CmdResult {
    let name = String::from_utf8_lossy(ctx.arg(2)).into_owned();
    if !ctx.state.scripting.functions.delete(&name) {
        return Err("ERR Library not found".into());
    }
    ctx.state.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx) -> CmdResult {
    if !super::scripting::flush_mode_is_valid(ctx) {
        return Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option".into());
    }
    ctx.state.scripting.functions.flush();
    ctx.state.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// Outside a busy script (where the connection answers it without the state lock), there is
/// never a function to kill.
fn function_kill(ctx: &mut Ctx) -> CmdResult {
    scripting::kill(&ctx.state.scripting.watch, true)?;
    ctx.out.ok();
    Ok(())
}

fn function_list(ctx: &mut Ctx) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < ctx.argc() {
        if ctx.arg_is(i, "withcode") && !with_code {
            with_code = true;
        } else if ctx.arg_is(i, "libraryname") && pattern.is_none() {
            if i + 1 >= ctx.argc() {
                return Err("ERR library name argument was not given".into());
            }
            pattern = Some(ctx.arg(i + 1));
            i += 1;
        } else {
            return Err(format!("ERR Unknown argument {}", ctx.arg_str(i)).into());
        }
        i += 1;
    }
    let libraries: Vec<&functions::Library> = ctx
        .state
        .scripting
        .functions
        .libraries
        .values()
        .filter(|l| pattern.is_none_or(|p| crate::store::glob::matches(p, l.name.as_bytes(), true)))
        .collect();
    let out = &mut *ctx.out;
    out.array(libraries.len());
    for library in libraries {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(library.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(library.functions.len());
        for function in library.functions.values() {
            out.map(3);
            out.bulk(b"name");
            out.bulk(function.name.as_bytes());
            out.bulk(b"description");
            match &function.description {
                Some(text) => out.bulk(text),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names = function.flags.names();
            out.set(names.len());
            for name in names {
                out.simple(name);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&library.code);
        }
    }
    Ok(())
}

fn function_dump(ctx: &mut Ctx) -> CmdResult {
    let payload = functions::dump(&ctx.state.scripting.functions.libraries);
    ctx.out.bulk(&payload);
    Ok(())
}

fn function_restore(ctx: &mut Ctx) -> CmdResult {
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy =
        match ctx.argc() {
            3 => Policy::Append,
            4 if ctx.arg_is(3, "flush") => Policy::Flush,
            4 if ctx.arg_is(3, "append") => Policy::Append,
            4 if ctx.arg_is(3, "replace") => Policy::Replace,
            _ => return Err(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
                    .into(),
            ),
        };
    let codes = functions::parse_dump(ctx.arg(2))?;
    let functions = &mut ctx.state.scripting.functions;
    let mut restored = Vec::new();
    for code in &codes {
        restored.push(functions.create(code)?);
    }
    if policy == Policy::Flush {
        // Not `flush()`: the restored functions live in the current interpreter.
        functions.libraries.clear();
    }
    functions.install(restored, policy == Policy::Replace)?;
    ctx.state.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_stats(ctx: &mut Ctx) -> CmdResult {
    scripting::function_stats(&ctx.state.scripting.watch, ctx.out)?;
    Ok(())
}

fn function_help(ctx: &mut Ctx) -> CmdResult {
    super::command::reply_help(
        ctx.out,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}
