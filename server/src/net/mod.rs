//! Listeners and connections.

pub mod connection;
pub mod listener;
