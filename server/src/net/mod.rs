//! Listeners and connections.

pub mod busy_poll;
pub mod connection;
pub mod in_process;
pub mod listener;
