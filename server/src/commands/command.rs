//! COMMAND and its subcommands, answered from the command table.

use super::table::{command, flags, Command, CommandDef, CommandTable, Lookup};
use super::{errors, CmdResult, Ctx};
use crate::protocol::request::OwnedArgs;
use crate::protocol::ReplyBuf;
use crate::store::glob;

pub const COMMANDS: &[CommandDef] = &[command(
    "command",
    -1,
    "loading stale",
    "@connection",
    (0, 0, 0),
    "server",
    "2.8.13",
    "Describes every command the server has.",
    all,
)
.with_subcommands(SUBCOMMANDS)];

// Unlike other containers, COMMAND alone is a valid call (arity -1), so it is a command with a
// handler that also has subcommands.
const SUBCOMMANDS: &[CommandDef] = &[
    command(
        "count",
        2,
        "loading stale",
        "@connection",
        (0, 0, 0),
        "server",
        "2.8.13",
        "Counts the server's commands.",
        count,
    ),
    command(
        "docs",
        -2,
        "loading stale",
        "@connection",
        (0, 0, 0),
        "server",
        "7.0.0",
        "Documents the named commands, or all of them.",
        docs,
    ),
    command(
        "getkeys",
        -4,
        "loading stale",
        "@connection",
        (0, 0, 0),
        "server",
        "2.8.13",
        "Lists the keys a full command line would touch.",
        getkeys,
    ),
    command(
        "getkeysandflags",
        -4,
        "loading stale",
        "@connection",
        (0, 0, 0),
        "server",
        "7.0.0",
        "Lists the keys a full command line would touch, with how it uses them.",
        getkeysandflags,
    ),
    command(
        "help",
        2,
        "loading stale",
        "@connection",
        (0, 0, 0),
        "server",
        "5.0.0",
        "Lists the COMMAND subcommands.",
        help,
    ),
    command(
        "info",
        -2,
        "loading stale",
        "@connection",
        (0, 0, 0),
        "server",
        "2.8.13",
        "Describes the named commands, or all of them.",
        info,
    ),
    command(
        "list",
        -2,
        "loading stale",
        "@connection",
        (0, 0, 0),
        "server",
        "7.0.0",
        "Lists command names, optionally filtered.",
        list,
    ),
];

/// Writes Redis's HELP reply: a header line, the given lines, then HELP's own entry.
pub fn reply_help(out: &mut ReplyBuf, name: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        out.simple(line);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// Redis's text for a subcommand called with the wrong arguments for it.
pub fn subcommand_syntax_error(ctx: &Ctx, container: &str) -> super::CmdError {
    let sub = ctx.arg(1);
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)]),
        container
    )
    .into()
}

fn all(ctx: &mut Ctx) -> CmdResult {
    let table = CommandTable::get();
    ctx.out.array(table.len());
    for cmd in table.iter() {
        reply_info(ctx.out, cmd);
    }
    Ok(())
}

fn count(ctx: &mut Ctx) -> CmdResult {
    ctx.out.int(CommandTable::get().len() as i64);
    Ok(())
}

fn info(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc() == 2 {
        return all(ctx);
    }
    ctx.out.array(ctx.argc() - 2);
    for i in 2..ctx.argc() {
        match find_by_fullname(ctx.arg(i)) {
            Some(cmd) => reply_info(ctx.out, cmd),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn docs(ctx: &mut Ctx) -> CmdResult {
    let table = CommandTable::get();
    if ctx.argc() == 2 {
        ctx.out.map(table.len());
        for cmd in table.iter() {
            ctx.out.bulk(cmd.fullname.as_bytes());
            reply_docs(ctx.out, cmd);
        }
        return Ok(());
    }
    let found: Vec<&Command> = (2..ctx.argc())
        .filter_map(|i| find_by_fullname(ctx.arg(i)))
        .collect();
    ctx.out.map(found.len());
    for cmd in found {
        ctx.out.bulk(cmd.fullname.as_bytes());
        reply_docs(ctx.out, cmd);
    }
    Ok(())
}

fn list(ctx: &mut Ctx) -> CmdResult {
    let mut filter: Option<(usize, &[u8])> = None;
    let mut i = 2;
    while i < ctx.argc() {
        if ctx.arg_is(i, "filterby") && ctx.argc() - 1 - i == 2 {
            let kind = ["module", "aclcat", "pattern"]
                .iter()
                .position(|k| ctx.arg_is(i + 1, k))
                .ok_or(errors::SYNTAX)?;
            filter = Some((kind, ctx.arg(i + 2)));
            i += 3;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let mut names = Vec::new();
    for cmd in CommandTable::get().iter() {
        for c in std::iter::once(cmd).chain(subcommands(cmd)) {
            let keep = match filter {
                None => true,
                // No modules can be loaded, so no command belongs to one.
                Some((0, _)) => false,
                Some((1, category)) => c
                    .acl_categories
                    .iter()
                    .any(|cat| cat.as_bytes().eq_ignore_ascii_case(category)),
                Some((_, pattern)) => glob::matches(pattern, c.fullname.as_bytes(), true),
            };
            if keep {
                names.push(c.fullname);
            }
        }
    }
    ctx.out.array(names.len());
    for name in names {
        ctx.out.bulk(name.as_bytes());
    }
    Ok(())
}

fn getkeys(ctx: &mut Ctx) -> CmdResult {
    reply_keys(ctx, false)
}

fn getkeysandflags(ctx: &mut Ctx) -> CmdResult {
    reply_keys(ctx, true)
}

/// The key access flags the table can vouch for: RW for writing commands, RO for reading ones.
fn key_flags(cmd: &Command) -> &'static [&'static str] {
    if cmd.has(flags::WRITE) {
        &["RW"]
    } else if cmd.has(flags::READONLY) {
        &["RO"]
    } else {
        &[]
    }
}

fn reply_keys(ctx: &mut Ctx, with_flags: bool) -> CmdResult {
    let mut owned = OwnedArgs::default();
    for arg in ctx.args.iter().skip(2) {
        owned.push(arg);
    }
    let args = owned.args();
    let cmd = match CommandTable::get().lookup(args) {
        Lookup::Found(cmd) => cmd,
        _ => return Err("ERR Invalid command specified".into()),
    };
    if cmd.def.first_key <= 0 && cmd.def.key_finder.is_none() {
        return Err("ERR The command has no key arguments".into());
    }
    let arity = cmd.def.arity;
    let argc = args.len() as i32;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err("ERR Invalid number of arguments specified for command".into());
    }
    let positions = cmd.key_positions(args);
    if positions.is_empty() {
        if cmd.has(flags::NO_MANDATORY_KEYS) {
            ctx.out.array(0);
            return Ok(());
        }
        return Err("ERR Invalid arguments specified for command".into());
    }
    ctx.out.array(positions.len());
    for pos in positions {
        if with_flags {
            ctx.out.array(2);
            ctx.out.bulk(args.get(pos));
            let shown = key_flags(cmd);
            ctx.out.set(shown.len());
            for flag in shown {
                ctx.out.simple(flag);
            }
        } else {
            ctx.out.bulk(args.get(pos));
        }
    }
    Ok(())
}

fn help(ctx: &mut Ctx) -> CmdResult {
    reply_help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

/// A command by its full name: `get`, or `config|get` for a subcommand (any case).
fn find_by_fullname(name: &[u8]) -> Option<&'static Command> {
    let table = CommandTable::get();
    match name.iter().position(|&b| b == b'|') {
        None => table.command(name),
        Some(bar) => {
            let parent = table.command(&name[..bar])?;
            let sub = name[bar + 1..].to_ascii_lowercase();
            parent.subcommands.get(sub.as_slice())
        }
    }
}

/// A container's subcommands, in declaration order.
fn subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.subcommand_order
        .iter()
        .filter_map(|name| cmd.subcommands.get(name.as_bytes()))
}

/// The flag names COMMAND INFO shows, in Redis's order: `may_replicate` is hidden, as in Redis,
/// and `movablekeys` is shown for commands whose keys a finder locates.
fn shown_flags(cmd: &Command) -> Vec<&'static str> {
    let mut shown = Vec::new();
    for &(bit, name) in flags::NAMES {
        if bit == flags::ALLOW_BUSY && cmd.def.key_finder.is_some() {
            shown.push("movablekeys");
        }
        if bit != flags::MAY_REPLICATE && cmd.has(bit) {
            shown.push(name);
        }
    }
    shown
}

/// One COMMAND INFO entry: name, arity, flags, first/last/step, ACL categories, tips, key
/// specifications and subcommands, as Redis 7 shapes it.
fn reply_info(out: &mut ReplyBuf, cmd: &Command) {
    let def = cmd.def;
    out.array(10);
    out.bulk(cmd.fullname.as_bytes());
    out.int(def.arity as i64);
    let shown = shown_flags(cmd);
    out.set(shown.len());
    for flag in shown {
        out.simple(flag);
    }
    out.int(def.first_key as i64);
    out.int(def.last_key as i64);
    out.int(def.key_step as i64);
    out.set(cmd.acl_categories.len());
    for category in &cmd.acl_categories {
        out.simple(&format!("@{category}"));
    }
    // The table records no request/response policy tips.
    out.set(0);
    reply_key_specs(out, cmd);
    if cmd.is_container() {
        out.array(cmd.subcommands.len());
        for sub in subcommands(cmd) {
            reply_info(out, sub);
        }
    } else {
        out.set(0);
    }
}

/// The key specifications the table can vouch for: one spec covering the first/last/step
/// range, or an unknown search for commands whose keys a finder locates. The table does not
/// record Redis's access flags (access, update, insert, delete...); only RO/RW are derived.
fn reply_key_specs(out: &mut ReplyBuf, cmd: &Command) {
    let def = cmd.def;
    if def.first_key <= 0 && def.key_finder.is_none() {
        out.array(0);
        return;
    }
    out.array(1);
    out.map(3);
    out.bulk(b"flags");
    let shown = key_flags(cmd);
    out.set(shown.len());
    for flag in shown {
        out.simple(flag);
    }
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    if def.key_finder.is_some() {
        out.bulk(b"unknown");
        out.bulk(b"spec");
        out.map(0);
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        out.bulk(b"unknown");
        out.bulk(b"spec");
        out.map(0);
        return;
    }
    out.bulk(b"index");
    out.bulk(b"spec");
    out.map(1);
    out.bulk(b"index");
    out.int(def.first_key as i64);
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"range");
    out.bulk(b"spec");
    out.map(3);
    out.bulk(b"lastkey");
    // Redis keeps the last key relative to the first one, and negative ones as they are.
    let lastkey = if def.last_key < 0 {
        def.last_key
    } else {
        def.last_key - def.first_key
    };
    out.int(lastkey as i64);
    out.bulk(b"keystep");
    out.int(def.key_step as i64);
    out.bulk(b"limit");
    out.int(0);
}

/// One COMMAND DOCS entry. The table has a summary, a version and a group for every command;
/// Redis's complexity and argument lists are not recorded, so they are left out.
fn reply_docs(out: &mut ReplyBuf, cmd: &Command) {
    let def = cmd.def;
    let container = cmd.is_container();
    out.map(if container { 4 } else { 3 });
    out.bulk(b"summary");
    out.bulk(def.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(def.since.as_bytes());
    out.bulk(b"group");
    out.bulk(def.group.as_bytes());
    if container {
        out.bulk(b"subcommands");
        out.map(cmd.subcommands.len());
        for sub in subcommands(cmd) {
            out.bulk(sub.fullname.as_bytes());
            reply_docs(out, sub);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Resp;

    #[test]
    fn info_entry_for_a_simple_command() {
        let get = CommandTable::get().command(b"get").expect("get exists");
        let mut out = ReplyBuf::new(Resp::V2);
        reply_info(&mut out, get);
        let text = String::from_utf8(out.buf).expect("ascii");
        assert!(text.starts_with(
            "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
             *3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n"
        ));
        assert!(text.contains("$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n"));
        assert!(text.ends_with("$5\r\nlimit\r\n:0\r\n*0\r\n"));
    }

    #[test]
    fn fullnames_find_subcommands() {
        assert_eq!(
            find_by_fullname(b"COMMAND|Info").map(|c| c.fullname),
            Some("command|info")
        );
        assert!(find_by_fullname(b"command|nope").is_none());
        assert!(find_by_fullname(b"nope").is_none());
    }

    #[test]
    fn docs_nest_subcommands() {
        let cmd = CommandTable::get().command(b"command").expect("exists");
        let mut out = ReplyBuf::new(Resp::V3);
        reply_docs(&mut out, cmd);
        let text = String::from_utf8(out.buf).expect("ascii");
        assert!(text.starts_with("%4\r\n$7\r\nsummary\r\n"));
        assert!(text.contains("$11\r\nsubcommands\r\n%7\r\n$13\r\ncommand|count\r\n%3\r\n"));
    }
}
