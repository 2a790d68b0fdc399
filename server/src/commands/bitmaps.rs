//! The bitmap family: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD.

use super::table::CommandDef;

pub const COMMANDS: &[CommandDef] = &[];
