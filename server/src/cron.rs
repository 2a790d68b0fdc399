//! Work the server does on its own, `hz` times a second: removing keys whose time has passed
//! (Redis's active expiry) and moving hash tables along their incremental rehash.

use std::sync::Arc;
use std::time::Duration;

use crate::state::{Shared, State};

/// Share of each tick the expiry cycle may use (Redis: 25% of the CPU at most).
const EXPIRE_TIME_SHARE: f64 = 0.25;
/// Keys sampled per database per round.
const EXPIRE_SAMPLE: usize = 20;
/// Keep sampling a database while more than this share of the sample had expired.
const EXPIRE_REPEAT_THRESHOLD: f64 = 0.10;
const REHASH_BUDGET: Duration = Duration::from_millis(1);

pub async fn run(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let hz = shared.state.lock().config.int("hz").clamp(1, 500) as u64;
        let tick = Duration::from_millis(1000 / hz);
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        let mut state = shared.state.lock();
        let budget = tick.mul_f64(EXPIRE_TIME_SHARE);
        active_expire_cycle(&mut state, shared.clock.now_ms(), budget);
        for db in &mut state.dbs {
            // Tables shrink after mass deletions, then move along their (incremental) rehash.
            db.keys.shrink_if_needed();
            db.expires.shrink_if_needed();
            db.keys.rehash_for(REHASH_BUDGET);
            db.expires.rehash_for(REHASH_BUDGET);
        }
    }
}

/// Samples keys that have a deadline and removes those whose time has passed, database by
/// database, within `budget`: memory comes back without anyone reading the keys, and a million
/// keys expiring at once are removed over several ticks instead of stalling the server. Each
/// cycle starts at the database where the last one ran out of time, so a busy database 0
/// cannot starve the others.
pub fn active_expire_cycle(state: &mut State, now_ms: i64, budget: Duration) -> usize {
    let started = std::time::Instant::now();
    let mut removed = 0;
    let mut expired_keys: Vec<Box<[u8]>> = Vec::with_capacity(EXPIRE_SAMPLE);
    let count = state.dbs.len();
    for step in 0..count {
        let index = (state.expire_next_db + step) % count;
        state.expire_next_db = index;
        loop {
            let db = &mut state.dbs[index];
            if db.expires.is_empty() {
                break;
            }
            let mut sample = Vec::with_capacity(EXPIRE_SAMPLE);
            db.expires.sample(EXPIRE_SAMPLE, &mut sample);
            let sampled = sample.len();
            expired_keys.clear();
            expired_keys.extend(
                sample
                    .iter()
                    .filter(|(_, &at)| at <= now_ms)
                    .map(|(k, _)| (*k).clone()),
            );
            for key in &expired_keys {
                if db.expire_if_needed(key, now_ms) {
                    removed += 1;
                }
            }
            let repeat =
                sampled > 0 && expired_keys.len() as f64 / sampled as f64 > EXPIRE_REPEAT_THRESHOLD;
            if !repeat || started.elapsed() >= budget {
                break;
            }
        }
        if started.elapsed() >= budget {
            break;
        }
    }
    state.collect_counters();
    removed
}
