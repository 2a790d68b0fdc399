//! Work the server does on its own, `hz` times a second: removing keys whose time has passed
//! (Redis's active expiry) and moving hash tables along their incremental rehash.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::state::{Shared, State};

/// Share of each tick the slow expiry cycle may use (Redis: 25%).
const SLOW_CYCLE_SHARE: f64 = 0.25;
/// The longest the slow cycle holds the server at a time: its share of the tick is spent in
/// slices this long, with every waiting client served between two slices. Redis spends it in
/// one go (up to 25 ms at the default `hz`), which is the longest pause a large expiry wave
/// causes there.
const SLOW_CYCLE_SLICE: Duration = Duration::from_millis(1);
/// Budget of a fast cycle, run between ticks while keys are expiring faster than the slow
/// cycles keep up with (Redis's ACTIVE_EXPIRE_CYCLE_FAST_DURATION), and how often it may run.
const FAST_CYCLE_BUDGET: Duration = Duration::from_millis(1);
const FAST_CYCLE_PERIOD: Duration = Duration::from_millis(2);
/// Keys looked at per database per round, and buckets visited at most per key.
const KEYS_PER_LOOP: usize = 20;
const BUCKETS_PER_KEY: usize = 20;
/// Keep going on a database while more than this percentage of what was looked at had expired.
const ACCEPTABLE_STALE_PERCENT: usize = 10;
const REHASH_BUDGET: Duration = Duration::from_millis(1);

pub async fn run(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut next_tick = Instant::now();
    // What is left of this tick's slow expiry cycle, and whether keys expire faster than the
    // cycles remove them.
    let mut slow_cycle_left = Duration::ZERO;
    let mut behind = false;
    loop {
        // A busy script holds the state: skip the work until it is done.
        let hz = match shared.lock_unless_busy() {
            Some(state) => state.config.int("hz").clamp(1, 500) as u32,
            None => {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(Duration::from_millis(10)) => continue,
                }
            }
        };
        let tick = Duration::from_secs(1) / hz;
        if Instant::now() >= next_tick {
            next_tick = Instant::now() + tick;
            match shared.lock_unless_busy() {
                Some(mut state) => tick_work(&mut state, shared.clock.now_ms()),
                None => continue,
            }
            slow_cycle_left = tick.mul_f64(SLOW_CYCLE_SHARE);
            // Clients waiting meanwhile go before the expiry cycle's first slice.
            let_clients_in().await;
        }
        if !slow_cycle_left.is_zero() {
            let started = Instant::now();
            let slice = slow_cycle_left.min(SLOW_CYCLE_SLICE);
            match shared.lock_unless_busy() {
                Some(mut state) => {
                    behind =
                        active_expire_cycle(&mut state, shared.clock.now_ms(), slice).timed_out;
                    crate::persistence::aof::commit(&mut state);
                }
                None => continue,
            }
            slow_cycle_left = if behind {
                slow_cycle_left.saturating_sub(started.elapsed())
            } else {
                Duration::ZERO
            };
            if !slow_cycle_left.is_zero() {
                // Whatever became ready meanwhile runs before the next slice.
                let_clients_in().await;
                continue;
            }
        } else if behind {
            let Some(mut state) = shared.lock_unless_busy() else {
                continue;
            };
            behind =
                active_expire_cycle(&mut state, shared.clock.now_ms(), FAST_CYCLE_BUDGET).timed_out;
            crate::persistence::aof::commit(&mut state);
        }
        let wake = if behind {
            (Instant::now() + FAST_CYCLE_PERIOD).min(next_tick)
        } else {
            next_tick
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
    }
}

/// Lets the connections with requests waiting run before the cron goes on. The first yield
/// lets the runtime poll the sockets, but it then wakes the yielding task into its LIFO slot,
/// ahead of the connections that poll just woke; the second puts the cron behind them.
async fn let_clients_in() {
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
}

/// Reaps a finished BGSAVE child, then starts a BGSAVE if one was scheduled or a `save` rule
/// is due (Redis's serverCron); the AOF's share: writing, fsync, rewrites.
fn persistence_cron(state: &mut State, now_ms: i64) {
    // Keys the expiry cycle removed are logged as they go.
    crate::persistence::aof::commit(state);
    if state.persistence.loading {
        return;
    }
    crate::persistence::reap_child(state, now_ms);
    crate::persistence::aof::cron(state, now_ms);
    crate::persistence::aof::reap_offline_rewrite(state);
    let rewriting = state
        .persistence
        .aof
        .as_ref()
        .is_some_and(|aof| aof.rewrite.is_some());
    if state.persistence.child.is_some() || rewriting {
        return;
    }
    let scheduled = std::mem::take(&mut state.persistence.bgsave_scheduled);
    if scheduled || crate::persistence::save_rules_due(state, now_ms) {
        if let Err(e) = crate::persistence::start_bgsave(state, now_ms) {
            tracing::warn!("Can't save in background: fork: {e}");
        }
    }
}

/// What each tick does besides the expiry cycle.
fn tick_work(state: &mut State, now_ms: i64) {
    maintain_tables(state);
    if state.eviction.evicting {
        // A round that ran out of time goes on here until memory fits (Redis's
        // evictionTimeProc).
        crate::memory::perform_evictions(state, now_ms);
    }
    persistence_cron(state, now_ms);
}

/// Tables shrink after mass deletions, then one table moves along its (incremental) rehash for
/// at most `REHASH_BUDGET`, the first found rehashing (Redis's databasesCron), so that a tick
/// never holds the server longer than that for rehashing whatever the number of databases.
fn maintain_tables(state: &mut State) {
    for db in &mut state.dbs {
        db.keys.shrink_if_needed();
        db.expires.shrink_if_needed();
    }
    for db in &mut state.dbs {
        if db.keys.is_rehashing() {
            db.keys.rehash_for(REHASH_BUDGET);
            return;
        }
        if db.expires.is_rehashing() {
            db.expires.rehash_for(REHASH_BUDGET);
            return;
        }
    }
}

/// What one expiry cycle did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub removed: usize,
    /// The cycle stopped on its time budget with work left.
    pub timed_out: bool,
}

/// Redis's active expiry: walks each database's table of deadlines bucket by bucket from where
/// the last cycle stopped, removing keys whose time has passed, and stays on a database while
/// more than 10% of what it looked at had expired. Memory comes back without anyone reading
/// the keys, and a million keys expiring at once are removed over several cycles, each within
/// `budget`, instead of stalling the server. A cycle that runs out of time resumes at the next
/// database, so a busy database cannot starve the others.
pub fn active_expire_cycle(state: &mut State, now_ms: i64, budget: Duration) -> CycleReport {
    let started = Instant::now();
    let mut report = CycleReport::default();
    let mut expired_keys: Vec<Box<[u8]>> = Vec::with_capacity(KEYS_PER_LOOP);
    let count = state.dbs.len();
    for _ in 0..count {
        let index = state.expire_next_db % count;
        state.expire_next_db = (index + 1) % count;
        let db = &mut state.dbs[index];
        loop {
            let keys_with_deadline = db.expires.len();
            if keys_with_deadline == 0 {
                break;
            }
            // Under 1% full, walking the table is mostly empty buckets: wait for it to shrink.
            let buckets = db.expires.bucket_count();
            if buckets > 4 && keys_with_deadline * 100 / buckets < 1 {
                break;
            }
            let wanted = keys_with_deadline.min(KEYS_PER_LOOP);
            let mut sampled = 0;
            let mut visited = 0;
            expired_keys.clear();
            while sampled < wanted && visited < wanted * BUCKETS_PER_KEY {
                db.expire_cursor = db.expires.scan(db.expire_cursor, |key, &at| {
                    sampled += 1;
                    if at < now_ms {
                        expired_keys.push(key.clone());
                    }
                });
                visited += 1;
            }
            for key in &expired_keys {
                if db.expire_if_needed(key, now_ms) {
                    report.removed += 1;
                }
            }
            // Checked after every round (a clock read is tens of ns, a round microseconds), so
            // that a slice ends within a round of its budget.
            if started.elapsed() > budget {
                report.timed_out = true;
                break;
            }
            if sampled > 0 && expired_keys.len() * 100 / sampled <= ACCEPTABLE_STALE_PERCENT {
                break;
            }
        }
        if report.timed_out {
            break;
        }
    }
    state.collect_counters();
    state.announce_expired(now_ms);
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::Value;

    #[test]
    fn clients_waiting_run_before_the_next_slice() {
        use std::io::Write;
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (mut client, server) = std::os::unix::net::UnixStream::pair().unwrap();
            server.set_nonblocking(true).unwrap();
            let server = tokio::net::UnixStream::from_std(server).unwrap();
            let slices = Arc::new(AtomicUsize::new(0));
            let connection = tokio::spawn({
                let slices = slices.clone();
                async move {
                    server.readable().await.unwrap();
                    slices.load(SeqCst)
                }
            });
            let cron = tokio::spawn({
                let slices = slices.clone();
                async move {
                    // The connection waits for its input before the first slice.
                    let_clients_in().await;
                    for slice in 1..=5 {
                        slices.store(slice, SeqCst);
                        if slice == 2 {
                            client.write_all(b"PING\r\n").unwrap();
                        }
                        let_clients_in().await;
                    }
                }
            });
            cron.await.unwrap();
            assert_eq!(
                connection.await.unwrap(),
                2,
                "input that came during slice 2 waited"
            );
        });
    }

    fn state_with_keys(count: usize, deadline: i64) -> State {
        let mut state = State::new(Config::default(), 0);
        for i in 0..count {
            let key = format!("key:{i}");
            let db = &mut state.dbs[i % 3];
            db.set(key.as_bytes(), Value::from(&b"v"[..]));
            db.set_deadline(key.as_bytes(), deadline);
        }
        state
    }

    #[test]
    fn removes_every_expired_key_over_cycles_without_reading_them() {
        let mut state = state_with_keys(30_000, 1_000);
        let mut cycles = 0;
        while state.dbs.iter().map(|db| db.len()).sum::<usize>() > 0 {
            active_expire_cycle(&mut state, 2_000, Duration::from_millis(25));
            maintain_tables(&mut state);
            cycles += 1;
            assert!(cycles < 10_000, "expiry does not converge");
        }
        assert_eq!(state.stats.expired_keys, 30_000);
    }

    #[test]
    fn keys_whose_time_has_not_come_stay() {
        let mut state = state_with_keys(1_000, 5_000);
        let report = active_expire_cycle(&mut state, 5_000, Duration::from_millis(25));
        assert_eq!(
            report.removed, 0,
            "a key is still there during its deadline's millisecond"
        );
        assert_eq!(state.dbs.iter().map(|db| db.len()).sum::<usize>(), 1_000);
    }

    #[test]
    fn a_cycle_keeps_to_its_budget() {
        let mut state = state_with_keys(300_000, 1_000);
        let started = Instant::now();
        let report = active_expire_cycle(&mut state, 2_000, Duration::from_millis(2));
        assert!(report.timed_out);
        assert!(report.removed > 0);
        // A little past the budget at most; far from the whole job.
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "{:?}",
            started.elapsed()
        );
    }
}
