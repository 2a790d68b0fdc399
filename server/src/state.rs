//! The server's state: everything a command may read or change, behind one lock held only while
//! a command (or a batch of pipelined commands) runs, never across an await.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

use crate::client::{Client, ClientId};
use crate::config::Config;
use crate::store::{Clock, Db};

/// Counters INFO reports.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
}

/// Bytes allocated by the process, and the allocator's name for INFO's `mem_allocator`.
#[derive(Debug, Clone, Copy)]
pub struct MemoryProbe {
    pub allocated: fn() -> u64,
    pub allocator: &'static str,
}

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
pub struct SlowlogEntry {
    pub id: u64,
    pub at_s: i64,
    pub duration_us: i64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: Vec<u8>,
}

/// Per-command call statistics, for INFO commandstats and latencystats.
#[derive(Debug, Default, Clone)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    pub latency: crate::latency::LatencyHistogram,
}

pub struct State {
    pub dbs: Vec<Db>,
    pub clients: HashMap<ClientId, Box<Client>, ahash::RandomState>,
    pub config: Config,
    pub stats: Stats,
    /// By command id (the command table's numbering), made at a command's first call or
    /// rejection.
    pub command_stats: Vec<Option<Box<CommandStats>>>,
    /// Error replies by their code (`ERR`, `WRONGTYPE`...), for INFO errorstats.
    pub error_stats: std::collections::BTreeMap<String, u64>,
    /// Changes since the last save: INFO's `rdb_changes_since_last_save`.
    pub dirty: u64,
    pub next_client_id: ClientId,
    pub slowlog: std::collections::VecDeque<SlowlogEntry>,
    pub next_slowlog_id: u64,
    pub lastsave_s: i64,
    pub started_ms: i64,
    /// CLIENT PAUSE: until when (ms), and whether only writes are paused.
    pub pause_until_ms: i64,
    pub pause_writes_only: bool,
    /// The clients WATCHing each key.
    pub watchers: HashMap<(usize, Vec<u8>), Vec<ClientId>, ahash::RandomState>,
    /// True while EXEC runs its queue: commands may not block then.
    pub in_exec: bool,
    /// True while a script runs: commands may not block then either.
    pub in_script: bool,
    /// Set by a handler that wrote an error reply itself (a script's): the dispatcher counts
    /// the call as failed, as it does for an `Err`.
    pub reply_failed: bool,
    /// The Lua engines, the script cache and the function libraries (whose sources a future
    /// RDB/AOF writer reads from `scripting.functions`).
    pub scripting: crate::scripting::Scripting,
    /// Clients blocked on keys, and the keys written since they were last served.
    pub blocking: crate::blocking::Blocking,
    /// Set by a blocking command that found nothing to serve, taken by the dispatcher.
    pub block_request: Option<crate::commands::BlockRequest>,
    /// The database the active expiry cycle resumes at.
    pub expire_next_db: usize,
    /// Reads the bytes the process has allocated, when the embedder's allocator can tell
    /// (the binary's jemalloc); INFO's used_memory then reports it instead of an estimate.
    pub memory_probe: Option<MemoryProbe>,
    /// INFO's `run_id` and `master_replid`: random per server start, as in Redis.
    pub run_id: String,
    pub replid: String,
    /// Channels and patterns with their subscribers.
    pub pubsub: crate::pubsub::PubSub,
    /// Clients in MONITOR mode, in the order they asked.
    pub monitors: Vec<ClientId>,
    /// Snapshot status: the BGSAVE child, the last outcome, loading.
    pub persistence: crate::persistence::Persistence,
    /// What the running command has to log to the AOF.
    pub propagation: crate::persistence::propagate::Propagation,
    /// `maxmemory`'s eviction pool, memory reading and counters.
    pub eviction: crate::memory::Eviction,
}

/// 40 random hex digits, the shape of Redis's run and replication ids.
fn random_hex_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

impl State {
    /// The statistics of the command numbered `id`, made at its first use (each carries a
    /// latency histogram of a few kilobytes).
    pub fn command_stats_mut(&mut self, id: usize) -> &mut CommandStats {
        if self.command_stats.len() <= id {
            self.command_stats.resize_with(id + 1, || None);
        }
        self.command_stats[id].get_or_insert_with(Box::default)
    }

    /// (full name, statistics) of every command used since the last reset, by name.
    pub fn used_command_stats(&self) -> Vec<(&'static str, &CommandStats)> {
        let table = crate::commands::table::CommandTable::get();
        let mut used: Vec<_> = self
            .command_stats
            .iter()
            .enumerate()
            .filter_map(|(id, stats)| Some((table.fullname(id), stats.as_deref()?)))
            .collect();
        used.sort_unstable_by_key(|&(name, _)| name);
        used
    }

    pub fn new(config: Config, now_ms: i64) -> Self {
        let databases = config.int("databases") as usize;
        let mut state = State {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            clients: HashMap::default(),
            config,
            stats: Stats::default(),
            command_stats: Vec::new(),
            error_stats: Default::default(),
            dirty: 0,
            next_client_id: 1,
            slowlog: Default::default(),
            next_slowlog_id: 0,
            lastsave_s: now_ms / 1000,
            started_ms: now_ms,
            pause_until_ms: 0,
            pause_writes_only: false,
            expire_next_db: 0,
            block_request: None,
            blocking: Default::default(),
            watchers: HashMap::default(),
            in_exec: false,
            in_script: false,
            reply_failed: false,
            scripting: crate::scripting::Scripting::new(),
            memory_probe: None,
            run_id: random_hex_id(),
            replid: random_hex_id(),
            pubsub: Default::default(),
            monitors: Vec::new(),
            persistence: Default::default(),
            propagation: Default::default(),
            eviction: Default::default(),
        };
        state.config_changed();
        state
    }

    /// Spreads parameters the databases read themselves; called after every change of config.
    pub fn config_changed(&mut self) {
        let classes = self.config.hot.notify_classes;
        for db in &mut self.dbs {
            db.notify_classes = classes;
        }
    }

    /// The one place a write announces itself. WATCH invalidation, blocked-client wake-ups,
    /// keyspace notifications and the AOF hang off this as they arrive.
    pub fn key_modified(&mut self, db: usize, key: &[u8]) {
        self.dirty += 1;
        self.blocking.key_written(db, key);
        if !self.watchers.is_empty() {
            self.break_watches(db, key);
        }
    }

    /// Announces the keys expiry removed since the last call, as writes (logged as DEL, ahead
    /// of the command that found them expired), and publishes the keyspace events the
    /// databases raised.
    pub fn announce_expired(&mut self, now_ms: i64) {
        // Runs after every command: the usual nothing-to-announce costs one pass.
        if self
            .dbs
            .iter()
            .all(|db| db.expired_log.is_empty() && db.events.is_empty())
        {
            return;
        }
        for db in 0..self.dbs.len() {
            if self.dbs[db].expired_log.is_empty() {
                continue;
            }
            let logging = self.logs_writes();
            for key in std::mem::take(&mut self.dbs[db].expired_log) {
                self.break_watches(db, &key);
                if logging {
                    self.propagation
                        .pending
                        .push(crate::persistence::propagate::Op {
                            db,
                            args: crate::persistence::propagate::del(&key),
                        });
                }
            }
        }
        self.publish_db_events(now_ms);
    }

    /// Whether writes are being logged (an AOF is open): otherwise nothing is recorded for
    /// propagation, so that a server without an AOF pays nothing for it.
    pub fn logs_writes(&self) -> bool {
        self.persistence.aof.is_some()
    }

    /// Publishes the events the databases raised themselves (`expired`, `new`, `keymiss`).
    fn publish_db_events(&mut self, now_ms: i64) {
        for db in 0..self.dbs.len() {
            if self.dbs[db].events.is_empty() {
                continue;
            }
            for event in std::mem::take(&mut self.dbs[db].events) {
                self.publish_keyspace_event(event.event, &event.key, db, now_ms);
            }
        }
    }

    /// Redis's notifyKeyspaceEvent: publishes `event` on `key` of `db` if its class is on.
    /// Events the databases raised before it go first, so subscribers see them in order.
    pub fn notify_keyspace_event(
        &mut self,
        class: u32,
        event: &'static str,
        key: &[u8],
        db: usize,
        now_ms: i64,
    ) {
        if !crate::notify::enabled(self.config.hot.notify_classes, class) {
            return;
        }
        self.publish_db_events(now_ms);
        self.publish_keyspace_event(event, key, db, now_ms);
    }

    fn publish_keyspace_event(&mut self, event: &str, key: &[u8], db: usize, now_ms: i64) {
        let classes = self.config.hot.notify_classes;
        if classes & crate::notify::KEYSPACE != 0 {
            let channel = crate::notify::keyspace_channel(db, key);
            crate::pubsub::publish(self, &channel, event.as_bytes(), false, now_ms);
        }
        if classes & crate::notify::KEYEVENT != 0 {
            let channel = crate::notify::keyevent_channel(db, event);
            crate::pubsub::publish(self, &channel, key, false, now_ms);
        }
    }

    /// Fails the transactions of the clients that WATCH `key`.
    pub fn break_watches(&mut self, db: usize, key: &[u8]) {
        if let Some(ids) = self.watchers.get(&(db, key.to_vec())) {
            for id in ids {
                if let Some(client) = self.clients.get_mut(id) {
                    client.watch_broken = true;
                }
            }
        }
    }

    /// A whole database changed (FLUSHDB, FLUSHALL, SWAPDB): every watched key of it that
    /// exists now, or in `other` (the database it is swapped with), counts as written.
    pub fn break_watches_in_db(&mut self, db: usize, other: Option<usize>) {
        let touched: Vec<(usize, Vec<u8>)> = self
            .watchers
            .keys()
            .filter(|(watched_db, key)| {
                *watched_db == db
                    && (self.dbs[db].keys.contains_key(key)
                        || other.is_some_and(|o| self.dbs[o].keys.contains_key(key)))
            })
            .cloned()
            .collect();
        for (db, key) in touched {
            self.break_watches(db, &key);
        }
    }

    /// Counts an error reply under its code: the first word of its text.
    pub fn count_error(&mut self, text: &[u8]) {
        self.stats.total_error_replies += 1;
        let code = text.split(|&b| b == b' ').next().unwrap_or_default();
        let code = String::from_utf8_lossy(&code[..code.len().min(128)]).into_owned();
        *self.error_stats.entry(code).or_default() += 1;
    }

    /// Moves the per-db counts (lazily expired keys, read hits and misses) into the stats.
    pub fn collect_counters(&mut self) {
        for db in &mut self.dbs {
            self.stats.expired_keys += std::mem::take(&mut db.expired_since_count);
            self.stats.keyspace_hits += std::mem::take(&mut db.hits_since_count);
            self.stats.keyspace_misses += std::mem::take(&mut db.misses_since_count);
        }
    }
}

/// What every connection and background task of one server shares.
pub struct Shared {
    pub state: Mutex<State>,
    pub clock: Clock,
    /// Becomes true to stop the server (SHUTDOWN, the handle, a signal).
    pub shutdown: watch::Sender<bool>,
    /// The same stop, for the connections: a flag each round reads with one load, and a
    /// wake-up for the idle ones, whose wait costs less than a watch receiver's.
    pub stopping: AtomicBool,
    pub stop_wakeup: Notify,
    /// Whether the worker keeps polling between requests (`busy-poll-us`).
    pub busy_poll: crate::net::busy_poll::BusyPoll,
    /// Request limits, mirrored out of the config so that connections read them without the lock.
    pub proto_max_bulk_len: AtomicI64,
    pub query_buffer_limit: AtomicI64,
    /// The address the TCP listener is bound to, once it is.
    pub local_addr: Mutex<Option<std::net::SocketAddr>>,
    /// The running script, for connections that find the state locked by it.
    pub script_watch: Arc<crate::scripting::ScriptWatch>,
}

impl Shared {
    pub fn new(config: Config) -> Arc<Self> {
        let clock = Clock::default();
        let proto_max_bulk_len = AtomicI64::new(config.int("proto-max-bulk-len"));
        let query_buffer_limit = AtomicI64::new(config.int("client-query-buffer-limit"));
        let busy_poll = crate::net::busy_poll::BusyPoll::new(config.int("busy-poll-us"));
        let state = State::new(config, clock.now_ms());
        let script_watch = state.scripting.watch.clone();
        Arc::new(Shared {
            state: Mutex::new(state),
            clock,
            shutdown: watch::channel(false).0,
            stopping: AtomicBool::new(false),
            stop_wakeup: Notify::new(),
            busy_poll,
            proto_max_bulk_len,
            query_buffer_limit,
            local_addr: Mutex::new(None),
            script_watch,
        })
    }

    /// The state lock, or None while a script that ran past busy-reply-threshold holds it:
    /// callers then answer -BUSY (or skip their work) instead of waiting, so that SCRIPT KILL
    /// can reach the script.
    pub fn lock_unless_busy(&self) -> Option<parking_lot::MutexGuard<'_, State>> {
        loop {
            if let Some(guard) = self.state.try_lock_for(std::time::Duration::from_millis(5)) {
                return Some(guard);
            }
            if self.script_watch.busy.load(Ordering::Acquire) {
                return None;
            }
        }
    }

    /// The state lock, waiting (without holding up the runtime's thread) while a busy script
    /// holds it.
    pub async fn lock_when_not_busy(&self) -> parking_lot::MutexGuard<'_, State> {
        loop {
            if let Some(guard) = self.lock_unless_busy() {
                return guard;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Stops the server: listeners stop accepting and every connection closes.
    pub fn request_shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        self.shutdown.send_replace(true);
        self.stop_wakeup.notify_waiters();
    }

    /// Re-reads what is mirrored out of the config for reading without the lock (the request
    /// limits the connections check, the busy-poll window), after CONFIG SET.
    pub fn refresh_cached_config(&self, config: &Config) {
        self.proto_max_bulk_len
            .store(config.int("proto-max-bulk-len"), Ordering::Relaxed);
        self.query_buffer_limit
            .store(config.int("client-query-buffer-limit"), Ordering::Relaxed);
        self.busy_poll.set_window_us(config.int("busy-poll-us"));
    }
}
