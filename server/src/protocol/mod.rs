//! The wire: request decoding and reply encoding, knowing nothing of commands or data types.

pub mod format;
pub mod reply;
pub mod request;

pub use reply::{ReplyBuf, Resp};
pub use request::{Args, OwnedArgs};
