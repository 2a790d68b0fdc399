//! The keyspace: databases of keys, their values and deadlines, and the server's clock.

pub mod clock;
pub mod compact_bytes;
pub mod db;
pub mod dict;
pub mod glob;
pub mod hash;
pub mod list;
pub mod set;
pub mod stream;
pub mod value;
pub mod varint;
pub mod zset;

pub use clock::Clock;
pub use db::Db;
pub use value::Value;
