//! THE command table: every command's name, arity, flags, key positions, ACL categories,
//! documentation and handler. Each family file declares its `COMMANDS`; this file gathers them,
//! and every check (existence, arity, auth, COMMAND INFO/DOCS/COUNT/LIST/GETKEYS) reads from here.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::{
    bitmaps, client, command, connection, databases, functions, hashes, keys, lists, monitor,
    persistence, pubsub, scripting, server, sets, sort, sorted_sets, streams, strings,
    transactions, Handler,
};
use crate::protocol::Args;

/// Every family's commands.
const FAMILIES: &[&[CommandDef]] = &[
    connection::COMMANDS,
    client::COMMANDS,
    databases::COMMANDS,
    keys::COMMANDS,
    strings::COMMANDS,
    bitmaps::COMMANDS,
    lists::COMMANDS,
    hashes::COMMANDS,
    sets::COMMANDS,
    sorted_sets::COMMANDS,
    streams::COMMANDS,
    sort::COMMANDS,
    transactions::COMMANDS,
    pubsub::COMMANDS,
    monitor::COMMANDS,
    scripting::COMMANDS,
    functions::COMMANDS,
    server::COMMANDS,
    persistence::COMMANDS,
    command::COMMANDS,
];

/// Finds the key positions of a command whose keys cannot be described by first/last/step.
pub type KeyFinder = fn(Args<'_>) -> Vec<usize>;

/// A command as a family declares it.
pub struct CommandDef {
    /// Lowercase name (for a subcommand, its own name: `get` under `config`).
    pub name: &'static str,
    /// Redis's arity: N exactly, or -N for at least N (the name counts).
    pub arity: i32,
    /// Space-separated Redis flag names: `write readonly denyoom admin pubsub noscript blocking
    /// loading stale skip_monitor skip_slowlog fast no_auth may_replicate no_mandatory_keys
    /// no_multi allow_busy`.
    pub flags: &'static str,
    /// Space-separated explicit ACL categories (`@string @keyspace`); implicit ones (`@read`,
    /// `@write`, `@fast`, `@slow`, `@admin`...) are derived from the flags, as Redis derives them.
    pub acl: &'static str,
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    /// None for containers (CONFIG, CLIENT...), which only dispatch to subcommands.
    pub handler: Option<Handler>,
    pub subcommands: &'static [CommandDef],
    /// Finds the keys of commands whose keys are not a first/last/step range (Redis's
    /// `movablekeys`: EVAL, SORT, ZUNIONSTORE... as those families arrive).
    pub key_finder: Option<KeyFinder>,
}

/// A command with fixed key positions (0, 0, 0 for none).
#[allow(clippy::too_many_arguments)]
pub const fn command(
    name: &'static str,
    arity: i32,
    flags: &'static str,
    acl: &'static str,
    keys: (i32, i32, i32),
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandDef {
    CommandDef {
        name,
        arity,
        flags,
        acl,
        first_key: keys.0,
        last_key: keys.1,
        key_step: keys.2,
        group,
        since,
        summary,
        handler: Some(handler),
        subcommands: &[],
        key_finder: None,
    }
}

/// A container command (CONFIG, CLIENT, OBJECT...): arity -2, dispatching on its first argument.
pub const fn container(
    name: &'static str,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    subcommands: &'static [CommandDef],
) -> CommandDef {
    CommandDef {
        name,
        arity: -2,
        flags: "",
        acl: "",
        first_key: 0,
        last_key: 0,
        key_step: 0,
        group,
        since,
        summary,
        handler: None,
        subcommands,
        key_finder: None,
    }
}

impl CommandDef {
    /// Gives a command with a handler of its own subcommands too (COMMAND: alone, it runs its
    /// handler; with a known subcommand, the subcommand's).
    pub const fn with_subcommands(mut self, subcommands: &'static [CommandDef]) -> Self {
        self.subcommands = subcommands;
        self
    }

    /// Gives a command whose keys are not a first/last/step range a finder for them (Redis's
    /// `movablekeys`: LMPOP, SINTERCARD, ZUNIONSTORE...).
    pub const fn movable_keys(mut self, finder: KeyFinder) -> Self {
        self.key_finder = Some(finder);
        self
    }
}

pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const ASKING: u32 = 1 << 11;
    pub const FAST: u32 = 1 << 12;
    pub const NO_AUTH: u32 = 1 << 13;
    pub const MAY_REPLICATE: u32 = 1 << 14;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 15;
    pub const NO_ASYNC_LOADING: u32 = 1 << 16;
    pub const NO_MULTI: u32 = 1 << 17;
    pub const ALLOW_BUSY: u32 = 1 << 18;

    /// Flag names in the order COMMAND INFO lists them.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories in the order Redis lists them.
pub const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// A command as the server uses it: the declaration plus what is derived from it once.
pub struct Command {
    /// Dense, from 0 over every command and subcommand: the index of its statistics.
    pub id: usize,
    pub def: &'static CommandDef,
    /// `get`, or `config|get` for a subcommand.
    pub fullname: &'static str,
    pub flags: u32,
    /// Every ACL category, explicit and implicit, in Redis's order, without `@`.
    pub acl_categories: Vec<&'static str>,
    pub subcommands: HashMap<&'static [u8], Command, ahash::RandomState>,
    /// Subcommands in declaration order, for listings.
    pub subcommand_order: Vec<&'static str>,
}

impl Command {
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    pub fn is_container(&self) -> bool {
        !self.def.subcommands.is_empty()
    }

    /// The positions of the keys in `args`, from the key range or the key finder.
    pub fn key_positions(&self, args: Args<'_>) -> Vec<usize> {
        if let Some(finder) = self.def.key_finder {
            return finder(args);
        }
        let def = self.def;
        if def.first_key <= 0 {
            return Vec::new();
        }
        let argc = args.len() as i32;
        let last = if def.last_key < 0 {
            argc + def.last_key
        } else {
            def.last_key.min(argc - 1)
        };
        let step = def.key_step.max(1);
        (def.first_key..=last)
            .step_by(step as usize)
            .map(|i| i as usize)
            .collect()
    }
}

pub struct CommandTable {
    commands: HashMap<&'static [u8], Command, ahash::RandomState>,
    /// Top-level command names in declaration order.
    order: Vec<&'static str>,
    /// Every command's and subcommand's full name, by id.
    fullnames: Vec<&'static str>,
}

/// The result of looking a request up.
pub enum Lookup<'t> {
    Found(&'t Command),
    UnknownCommand,
    /// A container was named with a subcommand it does not have.
    UnknownSubcommand(&'t Command),
}

/// Builds a command and its subcommands, numbering them in `fullnames`.
fn build(
    def: &'static CommandDef,
    parent: Option<&'static str>,
    fullnames: &mut Vec<&'static str>,
) -> Command {
    let mut bits = 0;
    for word in def.flags.split_whitespace() {
        let (bit, _) = flags::NAMES
            .iter()
            .find(|(_, name)| *name == word)
            .unwrap_or_else(|| panic!("unknown flag {word} on {}", def.name));
        bits |= bit;
    }
    let mut categories: Vec<&'static str> = def
        .acl
        .split_whitespace()
        .map(|c| c.trim_start_matches('@'))
        .collect();
    let mut implied = |yes: bool, category: &'static str| {
        if yes && !categories.contains(&category) {
            categories.push(category);
        }
    };
    implied(bits & flags::WRITE != 0, "write");
    implied(
        bits & flags::READONLY != 0 && !def.acl.contains("@scripting"),
        "read",
    );
    implied(bits & flags::ADMIN != 0, "admin");
    implied(bits & flags::ADMIN != 0, "dangerous");
    implied(bits & flags::PUBSUB != 0, "pubsub");
    implied(bits & flags::FAST != 0, "fast");
    implied(bits & flags::BLOCKING != 0, "blocking");
    implied(bits & flags::FAST == 0, "slow");
    for c in &categories {
        assert!(ACL_CATEGORIES.contains(c), "unknown ACL category {c}");
    }
    categories.sort_by_key(|c| ACL_CATEGORIES.iter().position(|x| x == c));
    let fullname: &'static str = match parent {
        Some(p) => Box::leak(format!("{p}|{}", def.name).into_boxed_str()),
        None => def.name,
    };
    let id = fullnames.len();
    fullnames.push(fullname);
    let subcommands = def
        .subcommands
        .iter()
        .map(|sub| (sub.name.as_bytes(), build(sub, Some(def.name), fullnames)))
        .collect();
    Command {
        id,
        def,
        fullname,
        flags: bits,
        acl_categories: categories,
        subcommands,
        subcommand_order: def.subcommands.iter().map(|s| s.name).collect(),
    }
}

impl CommandTable {
    /// The table, built once per process from the families' declarations.
    pub fn get() -> &'static CommandTable {
        static TABLE: OnceLock<CommandTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut commands = HashMap::default();
            let mut order = Vec::new();
            let mut fullnames = Vec::new();
            for family in FAMILIES {
                for def in family.iter() {
                    let command = build(def, None, &mut fullnames);
                    let previous = commands.insert(def.name.as_bytes(), command);
                    assert!(previous.is_none(), "command {} declared twice", def.name);
                    order.push(def.name);
                }
            }
            CommandTable {
                commands,
                order,
                fullnames,
            }
        })
    }

    /// Looks a name up, ignoring case.
    pub fn command(&self, name: &[u8]) -> Option<&Command> {
        let mut lower = [0u8; 32];
        let lower = lowercase(name, &mut lower)?;
        self.commands.get(lower)
    }

    /// Looks a request up: the command, or for a container, the subcommand in `args[1]`.
    pub fn lookup(&self, args: Args<'_>) -> Lookup<'_> {
        let Some(cmd) = self.command(&args[0]) else {
            return Lookup::UnknownCommand;
        };
        if !cmd.is_container() || args.len() < 2 {
            return Lookup::Found(cmd);
        }
        let mut lower = [0u8; 32];
        match lowercase(&args[1], &mut lower).and_then(|sub| cmd.subcommands.get(sub)) {
            Some(sub) => Lookup::Found(sub),
            None => Lookup::UnknownSubcommand(cmd),
        }
    }

    /// Top-level commands in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = &Command> {
        self.order
            .iter()
            .map(|name| &self.commands[name.as_bytes()])
    }

    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// The full name (`get`, `config|get`) of the command numbered `id`.
    pub fn fullname(&self, id: usize) -> &'static str {
        self.fullnames[id]
    }
}

fn lowercase<'b>(name: &[u8], buf: &'b mut [u8; 32]) -> Option<&'b [u8]> {
    if name.len() > buf.len() {
        return None;
    }
    for (dst, src) in buf.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    Some(&buf[..name.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_builds_and_derives_categories() {
        let table = CommandTable::get();
        let get = table.command(b"GeT").expect("get is declared");
        assert_eq!(get.fullname, "get");
        assert!(get.has(flags::READONLY) && get.has(flags::FAST));
        assert_eq!(get.acl_categories, vec!["read", "string", "fast"]);
    }

    #[test]
    fn every_declaration_is_consistent() {
        for cmd in CommandTable::get().iter() {
            assert!(cmd.def.arity != 0, "{} has arity 0", cmd.fullname);
            assert!(
                cmd.def.handler.is_some() || cmd.is_container(),
                "{}",
                cmd.fullname
            );
            for sub in cmd.subcommands.values() {
                assert!(sub.def.handler.is_some(), "{} has no handler", sub.fullname);
            }
        }
    }
}
