//! Busy polling: while requests arrive less than `busy-poll-us` apart, the worker thread keeps
//! polling the sockets between them instead of going to sleep in `epoll_wait`.
//!
//! A sleeping server costs every request a wake-up on both sides: the client's write has to
//! wake the server's thread (the scheduler, often an interrupt to the other core), and the
//! reply waits until that thread is running again. Redis pays it; with the thread still polling,
//! a client that sends its next request right after a reply (most clients, and every test suite)
//! gets its answers in about half the time, and a loaded server gets through more requests,
//! because its clients' writes no longer wake anybody.
//!
//! Polling holds a core, so it stops as soon as requests come further apart than the window,
//! and backs off while the cores are oversubscribed (other servers, the tests or clients that
//! drive them), where it would take time from the very clients it waits for: while the thread
//! itself waits for a CPU, or more threads are ready to run than there are cores.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::state::Shared;
use crate::store::clock::monotonic_ns;

/// How often, while polling, the thread looks whether the cores are oversubscribed.
const CONTENTION_CHECK_EVERY: Duration = Duration::from_millis(10);
/// Waiting for a CPU more than this share of the time means the cores are oversubscribed.
const CONTENDED_SHARE: f64 = 0.2;
/// How many looks in a row must find the cores oversubscribed before polling pauses: one look
/// also catches kernel threads passing through (rcu, kworkers), which take a few milliseconds
/// of a core now and then, and pausing for those cost a loaded server a fifth of its polling
/// time.
const CONTENDED_LOOKS: u32 = 2;
/// How long polling pauses when the cores are oversubscribed; it doubles up to the maximum
/// while they stay so.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_millis(1600);

pub struct BusyPoll {
    /// The window in nanoseconds; 0 turns polling off.
    window_ns: AtomicU64,
    /// When input last arrived (`monotonic_ns`), 0 before the first.
    last_input_ns: AtomicU64,
    /// The last two arrivals were less than the window apart: requests are coming fast.
    arriving_fast: AtomicBool,
    /// The poller waits for input, to be woken by the next arrival.
    sleeping: AtomicBool,
    wakeup: Notify,
}

impl BusyPoll {
    pub fn new(window_us: i64) -> Self {
        let poll = BusyPoll {
            window_ns: AtomicU64::new(0),
            last_input_ns: AtomicU64::new(0),
            arriving_fast: AtomicBool::new(false),
            sleeping: AtomicBool::new(true),
            wakeup: Notify::new(),
        };
        poll.set_window_us(window_us);
        poll
    }

    /// `busy-poll-us`, at start and on CONFIG SET.
    pub fn set_window_us(&self, window_us: i64) {
        let nanos = u64::try_from(window_us).unwrap_or(0).saturating_mul(1000);
        self.window_ns.store(nanos, Ordering::Relaxed);
    }

    /// A connection read input at `at_ns` (`monotonic_ns`).
    pub fn input_arrived(&self, at_ns: u64) {
        let window = self.window_ns.load(Ordering::Relaxed);
        if window == 0 {
            return;
        }
        let previous = self.last_input_ns.swap(at_ns, Ordering::Relaxed);
        let fast = previous != 0 && at_ns.saturating_sub(previous) < window;
        self.arriving_fast.store(fast, Ordering::Relaxed);
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            self.wakeup.notify_one();
        }
    }

    /// Is the next request likely to come within the window?
    fn worth_polling(&self, now_ns: u64) -> bool {
        let window = self.window_ns.load(Ordering::Relaxed);
        window != 0
            && self.arriving_fast.load(Ordering::Relaxed)
            && now_ns.saturating_sub(self.last_input_ns.load(Ordering::Relaxed)) < window
    }
}

/// How long this thread has waited for a CPU while runnable (Linux's schedstat), or None where
/// the system does not say, which leaves polling off.
fn cpu_wait() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// How many threads of the whole system are running or ready to run right now, this one
/// included (the fourth field of /proc/loadavg: `running/total`).
fn runnable_threads() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let running = text.split_whitespace().nth(3)?.split('/').next()?;
    running.parse().ok()
}

/// Are other threads ready to run beyond the cores left to them? A polling thread would then
/// take the time they wait for (clients starving while the server spins), though it never
/// waits itself. Not knowing counts as yes.
fn cores_all_taken(runnable: Option<usize>, cores: usize) -> bool {
    runnable.is_none_or(|runnable| runnable > cores)
}

/// Did the thread wait for a CPU too much of `elapsed`? Not knowing counts as yes.
fn oversubscribed(elapsed: Duration, waited: Option<Duration>) -> bool {
    waited.is_none_or(|waited| waited.as_secs_f64() > elapsed.as_secs_f64() * CONTENDED_SHARE)
}

/// Watches whether the cores are oversubscribed: how long the thread waits for a CPU, and how
/// many threads are ready to run.
struct Contention {
    checked_at: Instant,
    waited_before: Option<Duration>,
    backoff: Duration,
    paused_until: Option<Instant>,
    cores: usize,
    /// Consecutive looks that found the cores oversubscribed.
    contended_looks: u32,
}

impl Contention {
    fn new() -> Self {
        Contention {
            checked_at: Instant::now(),
            waited_before: cpu_wait(),
            backoff: BACKOFF_FIRST,
            paused_until: None,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            contended_looks: 0,
        }
    }

    /// While polling, a look every `CONTENTION_CHECK_EVERY`: false when it finds the cores
    /// oversubscribed, which starts a pause.
    fn allows_polling(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.checked_at) < CONTENTION_CHECK_EVERY {
            return true;
        }
        self.look(now, cpu_wait(), runnable_threads())
    }

    /// Takes a look's readings: how long the thread has waited for a CPU in all, and how many
    /// threads are ready to run now.
    fn look(
        &mut self,
        now: Instant,
        waited_now: Option<Duration>,
        runnable: Option<usize>,
    ) -> bool {
        let elapsed = now.saturating_duration_since(self.checked_at);
        let waited = match (self.waited_before, waited_now) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        self.checked_at = now;
        self.waited_before = waited_now;
        if !oversubscribed(elapsed, waited) && !cores_all_taken(runnable, self.cores) {
            self.contended_looks = 0;
            self.backoff = BACKOFF_FIRST;
            return true;
        }
        self.contended_looks += 1;
        let unknown = waited.is_none() || runnable.is_none();
        if !unknown && self.contended_looks < CONTENDED_LOOKS {
            return true;
        }
        self.paused_until = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        false
    }
}

/// The poller task: yields to the runtime while polling is worth it (each turn lets the worker
/// look at the sockets without sleeping), and otherwise waits for the next input.
pub async fn run(shared: Arc<Shared>) {
    let poll = &shared.busy_poll;
    let mut contention = Contention::new();
    // Made before the flag is first read, so that a stop is either seen or wakes the wait.
    let mut stop = pin!(shared.stop_wakeup.notified());
    stop.as_mut().enable();
    loop {
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        if let Some(until) = contention.paused_until.take() {
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => continue,
                _ = &mut stop => return,
            }
        }
        if poll.worth_polling(monotonic_ns()) {
            if contention.allows_polling(Instant::now()) {
                tokio::task::yield_now().await;
            }
            continue;
        }
        poll.sleeping.store(true, Ordering::Release);
        // Input that arrived in between found the flag down and woke nobody.
        if poll.worth_polling(monotonic_ns()) {
            poll.sleeping.store(false, Ordering::Release);
            continue;
        }
        tokio::select! {
            _ = poll.wakeup.notified() => {}
            _ = &mut stop => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: u64 = 1_000;

    #[test]
    fn polls_only_while_requests_come_within_the_window() {
        let poll = BusyPoll::new(100);
        let t0 = monotonic_ns();
        poll.input_arrived(t0);
        // One arrival says nothing about the next.
        assert!(!poll.worth_polling(t0 + 10 * US));
        poll.input_arrived(t0 + 60 * US);
        assert!(poll.worth_polling(t0 + 70 * US));
        assert!(poll.worth_polling(t0 + 159 * US));
        assert!(!poll.worth_polling(t0 + 161 * US));
        // After a long gap the next arrival starts no polling by itself.
        poll.input_arrived(t0 + 1000 * US);
        assert!(!poll.worth_polling(t0 + 1010 * US));
        poll.input_arrived(t0 + 1050 * US);
        assert!(poll.worth_polling(t0 + 1060 * US));
    }

    #[test]
    fn a_zero_window_never_polls() {
        let poll = BusyPoll::new(100);
        poll.set_window_us(0);
        let t0 = monotonic_ns();
        for i in 0..3 {
            poll.input_arrived(t0 + i * US);
        }
        assert!(!poll.worth_polling(t0 + 3 * US));
        poll.set_window_us(100);
        assert!(
            !poll.worth_polling(t0 + 3 * US),
            "no arrivals counted while off"
        );
    }

    #[test]
    fn arrivals_wake_a_sleeping_poller_once() {
        let poll = BusyPoll::new(100);
        let t0 = monotonic_ns();
        poll.input_arrived(t0);
        assert!(!poll.sleeping.load(Ordering::Relaxed));
        poll.sleeping.store(true, Ordering::Relaxed);
        poll.input_arrived(t0 + US);
        poll.input_arrived(t0 + 2 * US);
        assert!(!poll.sleeping.load(Ordering::Relaxed));
    }

    #[test]
    fn oversubscribed_when_waiting_for_a_cpu_over_a_fifth_of_the_time() {
        let elapsed = Duration::from_millis(10);
        assert!(!oversubscribed(elapsed, Some(Duration::ZERO)));
        assert!(!oversubscribed(elapsed, Some(Duration::from_millis(2))));
        assert!(oversubscribed(elapsed, Some(Duration::from_millis(3))));
        assert!(oversubscribed(elapsed, None));
    }

    #[test]
    fn cores_are_all_taken_when_more_threads_are_ready_than_cores() {
        assert!(!cores_all_taken(Some(1), 2));
        assert!(!cores_all_taken(Some(2), 2));
        assert!(cores_all_taken(Some(3), 2));
        assert!(cores_all_taken(None, 2));
    }

    #[test]
    fn contention_pauses_polling_and_backs_off_further() {
        let mut contention = Contention::new();
        contention.cores = 2;
        contention.waited_before = Some(Duration::ZERO);
        let mut now = contention.checked_at;
        let mut look = |contention: &mut Contention, waited_ms: u64, runnable: usize| {
            now += CONTENTION_CHECK_EVERY;
            let allowed =
                contention.look(now, Some(Duration::from_millis(waited_ms)), Some(runnable));
            (allowed, now)
        };
        assert!(look(&mut contention, 1, 2).0);
        // A crowd on one look is let pass; on the second in a row, polling pauses.
        assert!(look(&mut contention, 1, 3).0);
        let (allowed, at) = look(&mut contention, 1, 3);
        assert!(!allowed);
        assert_eq!(contention.paused_until, Some(at + BACKOFF_FIRST));
        // Still crowded at the next look: a longer pause.
        let (allowed, at) = look(&mut contention, 1, 3);
        assert!(!allowed);
        assert_eq!(contention.paused_until, Some(at + BACKOFF_FIRST * 2));
        // A calm look starts over.
        assert!(look(&mut contention, 1, 2).0);
        assert_eq!(contention.backoff, BACKOFF_FIRST);
        // The thread waiting for a CPU (4 of 10 ms) counts the same: once is let pass, twice
        // in a row pauses, and either sign counts towards the two.
        assert!(look(&mut contention, 5, 2).0);
        assert!(!look(&mut contention, 9, 2).0);
        assert!(look(&mut contention, 9, 2).0);
        assert!(look(&mut contention, 13, 2).0);
        assert!(!look(&mut contention, 13, 3).0);
        // A look that cannot tell pauses polling at once.
        now += CONTENTION_CHECK_EVERY;
        assert!(!contention.look(now, None, Some(1)));
        for _ in 0..10 {
            contention.look(now, None, None);
        }
        assert_eq!(contention.backoff, BACKOFF_MAX);
    }
}
