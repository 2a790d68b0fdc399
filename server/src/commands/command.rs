//! COMMAND and its subcommands, answered from the command table.

use super::table::CommandDef;

pub const COMMANDS: &[CommandDef] = &[];
