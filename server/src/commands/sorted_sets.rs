//! The sorted set family, blocking pops included. PLACEHOLDER: the family replaces this file whole.

use super::table::CommandDef;

pub const COMMANDS: &[CommandDef] = &[];
