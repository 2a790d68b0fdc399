//! The server family: INFO, CONFIG, TIME, LASTSAVE, SLOWLOG, MEMORY, SHUTDOWN.

use super::table::CommandDef;

pub const COMMANDS: &[CommandDef] = &[];
