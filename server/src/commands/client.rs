//! The CLIENT family.

use super::table::CommandDef;

pub const COMMANDS: &[CommandDef] = &[];
