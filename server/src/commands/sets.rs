//! The set family. PLACEHOLDER: the family replaces this file whole.

use super::table::CommandDef;

pub const COMMANDS: &[CommandDef] = &[];
