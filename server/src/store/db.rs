//! One numbered database: the keys, and the deadlines of the keys that have one.
//!
//! Every lookup takes the command's `now` and removes a key whose deadline has passed before
//! answering (Redis's lazy expiry); the active cycle in `expiry.rs` removes the rest.

use super::dict::Dict;
use super::value::Value;

pub type Key = Box<[u8]>;

#[derive(Default)]
pub struct Db {
    pub keys: Dict<Key, Value>,
    /// Deadlines, in ms since the epoch of the server's clock, of the keys that have one.
    pub expires: Dict<Key, i64>,
    /// Keys removed because their time had passed, since the last count was taken.
    pub expired_since_count: u64,
}

impl Db {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Removes `key` if its deadline has passed; true if it did.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> bool {
        match self.expires.get(key) {
            Some(&at) if at <= now_ms => {
                self.remove(key);
                self.expired_since_count += 1;
                true
            }
            _ => false,
        }
    }

    pub fn get(&mut self, key: &[u8], now_ms: i64) -> Option<&Value> {
        self.expire_if_needed(key, now_ms);
        self.keys.get(key)
    }

    pub fn get_mut(&mut self, key: &[u8], now_ms: i64) -> Option<&mut Value> {
        self.expire_if_needed(key, now_ms);
        self.keys.get_mut(key)
    }

    pub fn contains(&mut self, key: &[u8], now_ms: i64) -> bool {
        self.expire_if_needed(key, now_ms);
        self.keys.contains_key(key)
    }

    /// Stores `value` under `key`, dropping any deadline the key had (as SET does).
    pub fn set(&mut self, key: &[u8], value: Value) {
        self.set_keep_ttl(key, value);
        self.expires.remove(key);
    }

    /// Stores `value` under `key`, keeping the key's deadline if it has one.
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value) {
        match self.keys.get_mut(key) {
            Some(slot) => *slot = value,
            None => {
                self.keys.insert(key.into(), value);
            }
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let (_, value) = self.keys.remove(key)?;
        self.expires.remove(key);
        Some(value)
    }

    /// The deadline of `key`, if it has one (whether or not it has passed).
    pub fn deadline(&self, key: &[u8]) -> Option<i64> {
        self.expires.get(key).copied()
    }

    /// Gives an existing key a deadline.
    pub fn set_deadline(&mut self, key: &[u8], at_ms: i64) {
        debug_assert!(self.keys.contains_key(key));
        match self.expires.get_mut(key) {
            Some(slot) => *slot = at_ms,
            None => {
                self.expires.insert(key.into(), at_ms);
            }
        }
    }

    /// Removes the deadline of `key`; true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key).is_some()
    }

    pub fn clear(&mut self) {
        self.keys = Dict::new();
        self.expires = Dict::new();
    }
}
