//! One numbered database: the keys, and the deadlines of the keys that have one.
//!
//! Every lookup takes the command's `now` and removes a key whose deadline has passed before
//! answering (Redis's lazy expiry); the active cycle in `expiry.rs` removes the rest.

use super::dict::Dict;
use super::value::Value;

pub type Key = Box<[u8]>;

/// Redis's LFU counter starts here for a new value, so that a fresh key is not evicted at once.
const LFU_INIT: u8 = 5;
/// Redis's default `lfu-log-factor`: how slowly the counter climbs.
const LFU_LOG_FACTOR: f64 = 10.0;
/// Redis's default `lfu-decay-time`: minutes for the counter to lose one point when idle.
const LFU_DECAY_MINUTES: i64 = 1;

/// What Redis keeps in each object's `lru` field: when the value was last used (OBJECT IDLETIME,
/// LRU policies) and a logarithmic use counter that decays with time (OBJECT FREQ, LFU policies).
/// Redis keeps one or the other depending on the policy; keeping both lets either be reported
/// right after a policy switch. Packed into 8 bytes, as every key carries one: the time in
/// seconds (Redis's LRU clock has a one-second resolution too) and the counter's minutes in 16
/// bits that wrap, as Redis's do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Seconds of the server clock at the last use.
    at_s: u32,
    /// When `lfu_counter` last changed, in minutes of the server clock, modulo 2^16.
    lfu_minutes: u16,
    pub lfu_counter: u8,
}

/// Minutes of the server clock modulo 2^16, Redis's LFU time.
fn lfu_minutes(now_ms: i64) -> u16 {
    (now_ms.div_euclid(60_000) & 0xffff) as u16
}

impl Access {
    pub fn new(now_ms: i64) -> Self {
        let mut access = Access {
            at_s: 0,
            lfu_minutes: lfu_minutes(now_ms),
            lfu_counter: LFU_INIT,
        };
        access.set_at_ms(now_ms);
        access
    }

    /// When the value was last used, in ms of the server clock (to the second).
    pub fn at_ms(&self) -> i64 {
        i64::from(self.at_s) * 1000
    }

    pub fn set_at_ms(&mut self, at_ms: i64) {
        self.at_s = at_ms.div_euclid(1000).clamp(0, i64::from(u32::MAX)) as u32;
    }

    /// The LFU counter after the decay for the minutes the value was idle (Redis's
    /// LFUTimeElapsed, across the 16-bit wrap).
    pub fn lfu_decayed(&self, now_ms: i64) -> u8 {
        let now = lfu_minutes(now_ms);
        let idle_minutes = if now >= self.lfu_minutes {
            i64::from(now - self.lfu_minutes)
        } else {
            65535 - i64::from(self.lfu_minutes) + i64::from(now)
        };
        let periods = idle_minutes / LFU_DECAY_MINUTES;
        (self.lfu_counter as i64 - periods).max(0) as u8
    }

    /// Records a use at `now_ms`: Redis's updateLFU (decay, then a logarithmic increment, with
    /// probability from `chance`, a uniform draw in [0, 1)).
    pub fn touch(&mut self, now_ms: i64, chance: f64) {
        let mut counter = self.lfu_decayed(now_ms);
        if counter < u8::MAX {
            let base = counter.saturating_sub(LFU_INIT) as f64;
            if chance < 1.0 / (base * LFU_LOG_FACTOR + 1.0) {
                counter += 1;
            }
        }
        self.lfu_counter = counter;
        self.lfu_minutes = lfu_minutes(now_ms);
        self.set_at_ms(now_ms);
    }
}

/// A keyspace event the database itself raises (a key expired, was created, or a read missed
/// it), kept in order until `State::publish_db_events` publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    pub class: u32,
    pub event: &'static str,
    pub key: Key,
}

/// What the keyspace holds for a key: the value and its access record (Redis keeps both in the
/// object header, so neither costs a second table entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub access: Access,
}

#[derive(Default)]
pub struct Db {
    pub keys: Dict<Key, Entry>,
    /// Deadlines, in ms since the epoch of the server's clock, of the keys that have one.
    pub expires: Dict<Key, i64>,
    /// Keys removed because their time had passed, since the last count was taken.
    pub expired_since_count: u64,
    /// Keys removed by expiry and not yet announced (`State::announce_expired`): an expiry is a
    /// write for WATCH, as in Redis.
    pub expired_log: Vec<Key>,
    /// `notify-keyspace-events`, copied here so that lookups know which events to raise.
    pub notify_classes: u32,
    /// Events raised and not yet published, in the order they happened.
    pub events: Vec<KeyEvent>,
    /// Where the active expiry cycle resumes its walk over `expires` (a `Dict::scan` cursor).
    pub expire_cursor: u64,
    /// Read lookups that found their key, and that did not, since the last count was taken.
    pub hits_since_count: u64,
    pub misses_since_count: u64,
    /// The time of the command using this database (stamped by `Ctx::db`): what `set` records
    /// as a new value's creation time, like Redis's cached LRU clock.
    pub clock_ms: i64,
    /// State of the xorshift generator behind the LFU counter's coin flips: cheap, and good
    /// enough for a probability (a cryptographic generator per read would cost more than the read).
    lfu_rng: u64,
}

impl Db {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Removes `key` if its deadline has passed (Redis's `now > when`: a key is still there
    /// during the millisecond of its deadline); true if it did.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> bool {
        match self.expires.get(key) {
            Some(&at) if at < now_ms => {
                self.remove(key);
                self.expired_since_count += 1;
                self.expired_log.push(key.into());
                self.raise(crate::notify::EXPIRED, "expired", key);
                true
            }
            _ => false,
        }
    }

    /// The value of `key` for reading: counted as a keyspace hit or miss (INFO), and as a use.
    pub fn get(&mut self, key: &[u8], now_ms: i64) -> Option<&Value> {
        let found = self.get_mut(key, now_ms);
        if found.is_some() {
            self.hits_since_count += 1;
        } else {
            self.misses_since_count += 1;
            self.raise(crate::notify::KEY_MISS, "keymiss", key);
        }
        self.keys.get(key).map(|e| &e.value)
    }

    /// The value of `key`, recording the use as Redis's lookupKey does.
    pub fn get_mut(&mut self, key: &[u8], now_ms: i64) -> Option<&mut Value> {
        self.expire_if_needed(key, now_ms);
        let chance = self.next_chance();
        let entry = self.keys.get_mut(key)?;
        entry.access.touch(now_ms, chance);
        Some(&mut entry.value)
    }

    /// The value of `key` for reading without recording a use (EXISTS, TYPE, TTL: Redis's
    /// LOOKUP_NOTOUCH): still counted as a keyspace hit or miss, a miss raising `keymiss`.
    pub fn get_untouched(&mut self, key: &[u8], now_ms: i64) -> Option<&Value> {
        self.expire_if_needed(key, now_ms);
        if self.keys.contains_key(key) {
            self.hits_since_count += 1;
        } else {
            self.misses_since_count += 1;
            self.raise(crate::notify::KEY_MISS, "keymiss", key);
        }
        self.keys.get(key).map(|e| &e.value)
    }

    /// The value of `key` without recording a use (OBJECT, TYPE-like peeks), after lazy expiry.
    pub fn peek(&mut self, key: &[u8], now_ms: i64) -> Option<&Value> {
        self.expire_if_needed(key, now_ms);
        self.keys.get(key).map(|e| &e.value)
    }

    /// When and how often `key` was used, without counting this as a use.
    pub fn access(&self, key: &[u8]) -> Option<Access> {
        self.keys.get(key).map(|e| e.access)
    }

    /// A uniform draw in [0, 1).
    fn next_chance(&mut self) -> f64 {
        if self.lfu_rng == 0 {
            self.lfu_rng = 0x9E37_79B9_7F4A_7C15;
        }
        let mut x = self.lfu_rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.lfu_rng = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
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
        // A new value is a new object in Redis, with a fresh access record.
        self.set_with_access(key, value, Access::new(self.clock_ms));
    }

    /// Stores `value` under `key` with a given access record (a value moved from another key or
    /// database keeps its own), keeping the key's deadline if it has one.
    pub fn set_with_access(&mut self, key: &[u8], value: Value, access: Access) {
        match self.keys.get_mut(key) {
            Some(entry) => *entry = Entry { value, access },
            None => {
                self.keys.insert(key.into(), Entry { value, access });
                self.raise(crate::notify::NEW, "new", key);
            }
        }
    }

    /// Records a keyspace event of `class` if notifications of that class are on.
    fn raise(&mut self, class: u32, event: &'static str, key: &[u8]) {
        if crate::notify::enabled(self.notify_classes, class) {
            self.events.push(KeyEvent {
                class,
                event,
                key: key.into(),
            });
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let (_, entry) = self.keys.remove(key)?;
        self.expires.remove(key);
        Some(entry.value)
    }

    /// Removes `key` and hands back its value, deadline and access record, for moving it whole.
    pub fn take(&mut self, key: &[u8]) -> Option<(Value, Option<i64>, Access)> {
        let (_, entry) = self.keys.remove(key)?;
        let deadline = self.expires.remove(key).map(|(_, at)| at);
        Some((entry.value, deadline, entry.access))
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

    /// Empties the database and hands back what it held, for the caller to free (maybe on
    /// another thread: FLUSHALL ASYNC).
    pub fn take_all(&mut self) -> (Dict<Key, Entry>, Dict<Key, i64>) {
        (
            std::mem::take(&mut self.keys),
            std::mem::take(&mut self.expires),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_record_is_eight_bytes_and_keeps_seconds() {
        assert_eq!(std::mem::size_of::<Access>(), 8);
        let mut access = Access::new(1_795_000_123_456);
        assert_eq!(access.at_ms(), 1_795_000_123_000);
        access.set_at_ms(-5);
        assert_eq!(access.at_ms(), 0);
    }

    #[test]
    fn the_lfu_counter_decays_across_the_16_bit_minute_wrap() {
        // A use in the last minute before the wrap, looked at three minutes later: Redis's
        // LFUTimeElapsed (65535 - then + now) counts one minute less across the wrap.
        let before_wrap = 65_535 * 60_000;
        let mut access = Access::new(before_wrap);
        access.lfu_counter = 10;
        access.touch(before_wrap, 1.0);
        assert_eq!(access.lfu_counter, 10);
        assert_eq!(access.lfu_decayed(before_wrap + 60_000), 10);
        assert_eq!(access.lfu_decayed(before_wrap + 3 * 60_000), 8);
    }
}
