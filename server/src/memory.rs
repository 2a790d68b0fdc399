//! How much memory the server uses, and `maxmemory`: Redis's performEvictions, run before every
//! command while a limit is set, which removes keys by the configured policy until the server
//! is back under the limit, or tells the caller that commands which grow memory must be refused.

use std::time::{Duration, Instant};

use crate::notify;
use crate::persistence::propagate;
use crate::state::State;

/// Entries sampled per database when estimating the dataset's size.
const DATASET_SAMPLE: usize = 32;
/// Candidates kept between evictions (Redis's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;
/// How long a reading of the allocator's statistics is trusted. Reading them costs about 7 µs
/// (jemalloc merges every arena's counters), too much before every command; in between, what
/// eviction frees is taken off the last reading, and writes show up at the next one.
const READING_TTL: Duration = Duration::from_millis(1);

/// Bytes the process has allocated, as INFO's `used_memory` reports them: the allocator's own
/// count where the embedder gave the server a way to read it (the binary's jemalloc), otherwise
/// an estimate of the dataset and the clients.
pub fn used_memory(state: &State) -> u64 {
    match state.memory_probe {
        Some(probe) => (probe.allocated)(),
        None => dataset_bytes(state) + clients_bytes(state),
    }
}

/// An estimate of the bytes the keyspace uses: the hash tables exactly, plus the keys and
/// values from a sample, scaled to the database size, so that it costs the same whatever the
/// number of keys.
pub fn dataset_bytes(state: &State) -> u64 {
    let mut total = 0u64;
    let mut sample = Vec::with_capacity(DATASET_SAMPLE);
    for db in &state.dbs {
        total += (db.keys.memory_usage() + db.expires.memory_usage()) as u64;
        if db.keys.is_empty() {
            continue;
        }
        sample.clear();
        db.keys.sample(DATASET_SAMPLE, &mut sample);
        if sample.is_empty() {
            continue;
        }
        let sampled: usize = sample
            .iter()
            .map(|(k, v)| k.len() + v.value.heap_bytes())
            .sum();
        total += (sampled as f64 / sample.len() as f64 * db.keys.len() as f64) as u64;
    }
    total
}

/// Bytes held for clients: their records, query buffers and queued output.
pub fn clients_bytes(state: &State) -> u64 {
    state
        .clients
        .values()
        .map(|c| {
            (std::mem::size_of::<crate::client::Client>()
                + c.query_buffer_len
                + c.pending_output.len()
                + c.name.len()) as u64
        })
        .sum()
}

/// `maxmemory-policy`: which keys may go, and in what order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    NoEviction,
    /// Least recently used first, among all keys or only those with a deadline.
    Lru {
        all_keys: bool,
    },
    /// Least frequently used first.
    Lfu {
        all_keys: bool,
    },
    Random {
        all_keys: bool,
    },
    /// Nearest deadline first.
    VolatileTtl,
}

impl Policy {
    fn from_config(name: &str) -> Policy {
        match name {
            "allkeys-lru" => Policy::Lru { all_keys: true },
            "volatile-lru" => Policy::Lru { all_keys: false },
            "allkeys-lfu" => Policy::Lfu { all_keys: true },
            "volatile-lfu" => Policy::Lfu { all_keys: false },
            "allkeys-random" => Policy::Random { all_keys: true },
            "volatile-random" => Policy::Random { all_keys: false },
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    fn all_keys(self) -> bool {
        matches!(
            self,
            Policy::Lru { all_keys: true }
                | Policy::Lfu { all_keys: true }
                | Policy::Random { all_keys: true }
        )
    }
}

/// What performEvictions concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Under the limit, or no limit.
    Fits,
    /// Still over the limit after this round's time; the cron goes on evicting. Commands run.
    Evicting,
    /// Over the limit with nothing left that the policy may evict: commands that grow memory
    /// are refused.
    OutOfMemory,
}

/// A key worth evicting, ranked by `score` (higher goes first).
#[derive(Debug, Clone)]
struct Candidate {
    score: u64,
    db: usize,
    key: Box<[u8]>,
}

/// Eviction's state between commands.
#[derive(Debug, Default)]
pub struct Eviction {
    /// The best candidates seen so far, in ascending score.
    pool: Vec<Candidate>,
    /// Where the random policies look next.
    next_db: usize,
    /// The last reading of used memory, when it was taken, and what eviction freed since.
    reading: Option<(Instant, u64)>,
    pub evicted_keys: u64,
    /// Whether memory was over the limit with nothing to evict when the running script or
    /// transaction started (Redis's pre_command_oom_state): its first write that grows memory
    /// is refused.
    pub out_of_memory_at_start: bool,
    /// Whether the last round ran out of time with memory still over the limit.
    pub evicting: bool,
    /// Since when memory has been over the limit, and for how long in total before that.
    exceeded_since: Option<Instant>,
    exceeded_total: Duration,
}

impl Eviction {
    /// INFO's `current_eviction_exceeded_time` and `total_eviction_exceeded_time`, in ms.
    pub fn exceeded_ms(&self) -> (u64, u64) {
        let current = self.exceeded_since.map_or(Duration::ZERO, |t| t.elapsed());
        (
            current.as_millis() as u64,
            (self.exceeded_total + current).as_millis() as u64,
        )
    }

    fn note_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Fits => {
                if let Some(since) = self.exceeded_since.take() {
                    self.exceeded_total += since.elapsed();
                }
            }
            Outcome::Evicting | Outcome::OutOfMemory => {
                self.exceeded_since.get_or_insert_with(Instant::now);
            }
        }
    }
}

/// Used memory as maxmemory counts it: without the AOF buffer, which eviction's own DELs
/// would otherwise grow into a feedback loop (Redis's freeMemoryGetNotCountedMemory).
fn counted_memory(state: &mut State) -> u64 {
    let fresh = match state.eviction.reading {
        Some((at, bytes)) if at.elapsed() < READING_TTL => bytes,
        _ => {
            let bytes = used_memory(state);
            state.eviction.reading = Some((Instant::now(), bytes));
            bytes
        }
    };
    fresh.saturating_sub(crate::persistence::aof::buffered(state) as u64)
}

/// Takes `freed` bytes off the current reading, until the next one replaces it.
fn account_freed(state: &mut State, freed: u64) {
    if let Some((_, bytes)) = state.eviction.reading.as_mut() {
        *bytes = bytes.saturating_sub(freed);
    }
}

/// Forgets the reading, so that the next check reads the allocator again (after CONFIG SET
/// maxmemory, for one).
pub fn invalidate_reading(state: &mut State) {
    state.eviction.reading = None;
}

/// Redis's evictionTimeLimitUs: how long one round may evict, from `maxmemory-eviction-tenacity`.
fn time_limit(tenacity: i64) -> Duration {
    match tenacity {
        ..=10 => Duration::from_micros(50 * tenacity.max(0) as u64),
        11..=99 => Duration::from_micros((500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64),
        _ => Duration::MAX,
    }
}

/// Redis's performEvictions: while used memory is over `maxmemory`, removes the keys the
/// policy ranks first, for at most the tenacity's time limit.
pub fn perform_evictions(state: &mut State, now_ms: i64) -> Outcome {
    let maxmemory = state.config.hot.maxmemory;
    if maxmemory == 0 || state.persistence.loading {
        state.eviction.evicting = false;
        return Outcome::Fits;
    }
    let outcome = evict_until_under(state, now_ms, maxmemory);
    state.eviction.evicting = outcome == Outcome::Evicting;
    state.eviction.note_outcome(outcome);
    outcome
}

fn evict_until_under(state: &mut State, now_ms: i64, maxmemory: u64) -> Outcome {
    if counted_memory(state) <= maxmemory {
        return Outcome::Fits;
    }
    let policy = Policy::from_config(state.config.text("maxmemory-policy"));
    if policy == Policy::NoEviction {
        return Outcome::OutOfMemory;
    }
    let limit = time_limit(state.config.int("maxmemory-eviction-tenacity"));
    let lazy = state.config.flag("lazyfree-lazy-eviction");
    let started = Instant::now();
    let mut evicted = 0u64;
    while counted_memory(state) > maxmemory {
        let Some((db, key)) = pick(state, policy, now_ms) else {
            return Outcome::OutOfMemory;
        };
        evict(state, db, &key, lazy, now_ms);
        evicted += 1;
        if evicted.is_multiple_of(16) && started.elapsed() > limit {
            return Outcome::Evicting;
        }
    }
    Outcome::Fits
}

/// Removes `key` as an eviction: WATCH sees a write, subscribers an `evicted` event, the AOF a
/// DEL (UNLINK when freed lazily).
fn evict(state: &mut State, db: usize, key: &[u8], lazy: bool, now_ms: i64) {
    let database = &mut state.dbs[db];
    let node = database.keys.node_bytes();
    let had_deadline = database.expires.contains_key(key);
    let Some(value) = database.remove(key) else {
        return;
    };
    let mut freed = (node + key.len() + value.heap_bytes()) as u64;
    if had_deadline {
        freed += (database.expires.node_bytes() + key.len()) as u64;
    }
    if lazy {
        crate::commands::databases::free_value(value);
    } else {
        drop(value);
    }
    account_freed(state, freed);
    state.eviction.evicted_keys += 1;
    state.break_watches(db, key);
    state.notify_keyspace_event(notify::EVICTED, "evicted", key, db, now_ms);
    if state.logs_writes() {
        let mut args = propagate::del(key);
        if lazy {
            args[0] = b"UNLINK".to_vec();
        }
        state.propagation.pending.push(propagate::Op { db, args });
    }
}

/// The next key to evict under `policy`, if any may go.
fn pick(state: &mut State, policy: Policy, now_ms: i64) -> Option<(usize, Box<[u8]>)> {
    if let Policy::Random { all_keys } = policy {
        let count = state.dbs.len();
        for _ in 0..count {
            state.eviction.next_db = (state.eviction.next_db + 1) % count;
            let db = &state.dbs[state.eviction.next_db];
            let key = if all_keys {
                db.keys.random_entry().map(|(k, _)| k.clone())
            } else {
                db.expires.random_entry().map(|(k, _)| k.clone())
            };
            if let Some(key) = key {
                return Some((state.eviction.next_db, key));
            }
        }
        return None;
    }
    loop {
        let mut keys_seen = 0;
        for db in 0..state.dbs.len() {
            keys_seen += populate_pool(state, policy, db, now_ms);
        }
        if keys_seen == 0 {
            return None;
        }
        // Best first; a candidate whose key is gone since it was sampled is dropped.
        while let Some(candidate) = state.eviction.pool.pop() {
            let db = &state.dbs[candidate.db];
            let present = if policy.all_keys() {
                db.keys.contains_key(&candidate.key)
            } else {
                db.expires.contains_key(&candidate.key)
            };
            if present {
                return Some((candidate.db, candidate.key));
            }
        }
    }
}

/// Redis's evictionPoolPopulate: samples `maxmemory-samples` keys of `db` and keeps the best
/// candidates among them and the pool's. Returns how many keys the sampled table holds.
fn populate_pool(state: &mut State, policy: Policy, db: usize, now_ms: i64) -> usize {
    let samples = state.config.int("maxmemory-samples").max(1) as usize;
    let database = &state.dbs[db];
    let mut sampled: Vec<(Box<[u8]>, u64)> = Vec::with_capacity(samples);
    let table_len = if policy.all_keys() {
        let mut entries = Vec::with_capacity(samples);
        database.keys.sample(samples, &mut entries);
        for (key, entry) in entries {
            sampled.push((key.clone(), score(policy, &entry.access, None, now_ms)));
        }
        database.keys.len()
    } else {
        let mut entries = Vec::with_capacity(samples);
        database.expires.sample(samples, &mut entries);
        for (key, &deadline) in entries {
            let Some(entry) = database.keys.get(key) else {
                continue;
            };
            sampled.push((
                key.clone(),
                score(policy, &entry.access, Some(deadline), now_ms),
            ));
        }
        database.expires.len()
    };
    let pool = &mut state.eviction.pool;
    for (key, score) in sampled {
        if pool.len() == POOL_SIZE && pool.first().is_some_and(|worst| worst.score >= score) {
            continue;
        }
        if pool.iter().any(|c| c.db == db && c.key == key) {
            continue;
        }
        let at = pool.partition_point(|c| c.score < score);
        pool.insert(at, Candidate { score, db, key });
        if pool.len() > POOL_SIZE {
            pool.remove(0);
        }
    }
    table_len
}

/// How good a candidate a key is (higher goes first): idle time for LRU, inverse frequency
/// for LFU, nearness of the deadline for volatile-ttl.
fn score(
    policy: Policy,
    access: &crate::store::db::Access,
    deadline: Option<i64>,
    now_ms: i64,
) -> u64 {
    match policy {
        Policy::Lru { .. } => (now_ms - access.at_ms()).max(0) as u64,
        Policy::Lfu { .. } => 255 - u64::from(access.lfu_decayed(now_ms)),
        Policy::VolatileTtl => u64::MAX - deadline.unwrap_or(i64::MAX).max(0) as u64,
        Policy::Random { .. } | Policy::NoEviction => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::Value;

    /// A state whose memory reads as `used` bytes whatever it holds, with `keys` keys in db 0.
    fn state_with(keys: usize, policy: &str) -> State {
        let mut config = Config::default();
        config.set("maxmemory-policy", policy).unwrap();
        let mut state = State::new(config, 0);
        for i in 0..keys {
            state.dbs[0].set(format!("k{i}").as_bytes(), Value::from(&b"v"[..]));
        }
        state
    }

    fn pretend_used(state: &mut State, bytes: u64) {
        state.eviction.reading = Some((Instant::now(), bytes));
    }

    #[test]
    fn without_a_limit_nothing_is_evicted() {
        let mut state = state_with(10, "allkeys-lru");
        pretend_used(&mut state, u64::MAX);
        assert_eq!(perform_evictions(&mut state, 0), Outcome::Fits);
        assert_eq!(state.dbs[0].len(), 10);
    }

    #[test]
    fn noeviction_reports_out_of_memory() {
        let mut state = state_with(10, "noeviction");
        state.config.set("maxmemory", "1000").unwrap();
        pretend_used(&mut state, 2000);
        assert_eq!(perform_evictions(&mut state, 0), Outcome::OutOfMemory);
        assert_eq!(state.dbs[0].len(), 10);
    }

    #[test]
    fn keys_go_until_memory_fits() {
        let mut state = state_with(1000, "allkeys-random");
        state.config.set("maxmemory", "100000").unwrap();
        // Each eviction takes a small key's estimate off the reading.
        pretend_used(&mut state, 100_000 + 5_000);
        assert_eq!(perform_evictions(&mut state, 0), Outcome::Fits);
        let left = state.dbs[0].len();
        assert!(left < 1000 && left > 900, "{left}");
        assert_eq!(state.eviction.evicted_keys, 1000 - left as u64);
    }

    #[test]
    fn volatile_policies_spare_keys_without_a_deadline() {
        let mut state = state_with(100, "volatile-lru");
        state.config.set("maxmemory", "1000").unwrap();
        state.dbs[0].set_deadline(b"k7", 1_000_000);
        pretend_used(&mut state, 1_000_000);
        assert_eq!(perform_evictions(&mut state, 0), Outcome::OutOfMemory);
        assert_eq!(state.dbs[0].len(), 99);
        assert!(!state.dbs[0].keys.contains_key(&b"k7"[..]));
    }

    #[test]
    fn lru_evicts_the_longest_idle_keys_first() {
        let mut state = state_with(0, "allkeys-lru");
        state.config.set("maxmemory-samples", "64").unwrap();
        for i in 0..20 {
            let access = crate::store::db::Access::new(i * 1000);
            state.dbs[0].set_with_access(
                format!("k{i}").as_bytes(),
                Value::from(&b"v"[..]),
                access,
            );
        }
        let mut picked = Vec::new();
        for _ in 0..5 {
            let (_, key) = pick(&mut state, Policy::Lru { all_keys: true }, 100_000).unwrap();
            state.dbs[0].remove(&key);
            picked.push(String::from_utf8(key.to_vec()).unwrap());
        }
        assert_eq!(picked, ["k0", "k1", "k2", "k3", "k4"]);
    }

    #[test]
    fn volatile_ttl_evicts_the_nearest_deadline_first() {
        let mut state = state_with(10, "volatile-ttl");
        state.dbs[0].set_deadline(b"k3", 5_000);
        state.dbs[0].set_deadline(b"k5", 1_000);
        state.dbs[0].set_deadline(b"k8", 9_000);
        let (_, key) = pick(&mut state, Policy::VolatileTtl, 0).unwrap();
        assert_eq!(&*key, b"k5");
    }

    #[test]
    fn tenacity_maps_to_redis_time_limits() {
        assert_eq!(time_limit(0), Duration::ZERO);
        assert_eq!(time_limit(10), Duration::from_micros(500));
        assert_eq!(time_limit(11), Duration::from_micros(575));
        assert_eq!(time_limit(100), Duration::MAX);
    }
}
