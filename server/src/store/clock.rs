//! The server's clock. Production reads the system clock; a test embedding the server can move it
//! forward, and everything that reads time (expiry, TTL, OBJECT IDLETIME, TIME) follows.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Clock {
    /// Microseconds added to the system clock by `advance`.
    offset_us: AtomicI64,
}

impl Clock {
    /// Microseconds since the Unix epoch, as this server sees it.
    // time_t and c_long are i64 here but narrower on 32-bit targets.
    #[allow(clippy::unnecessary_cast)]
    pub fn now_us(&self) -> i64 {
        let ts = read_clock(libc::CLOCK_REALTIME);
        let system = ts.tv_sec as i64 * 1_000_000 + ts.tv_nsec as i64 / 1_000;
        system + self.offset_us.load(Ordering::Relaxed)
    }

    pub fn now_ms(&self) -> i64 {
        self.now_us() / 1000
    }

    /// Moves this server's time forward (a negative offset is not possible: time never goes back).
    pub fn advance(&self, by: Duration) {
        let us = i64::try_from(by.as_micros()).unwrap_or(i64::MAX / 4);
        self.offset_us.fetch_add(us, Ordering::Relaxed);
    }
}

/// Nanoseconds of the monotonic clock, for the timings taken around every command and at every
/// read: there `Instant` arithmetic (a `Duration` normalised on every subtraction, 128-bit
/// conversions) cost more than reading the clock.
pub fn monotonic_ns() -> u64 {
    let ts = read_clock(libc::CLOCK_MONOTONIC);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn read_clock(clock: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to, and both clocks exist on every Unix.
    let status = unsafe { libc::clock_gettime(clock, &mut ts) };
    debug_assert_eq!(status, 0);
    ts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_system_clock_and_a_monotonic_one() {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64;
        assert!((Clock::default().now_us() - system).abs() < 1_000_000);
        let first = monotonic_ns();
        std::thread::sleep(Duration::from_millis(2));
        let second = monotonic_ns();
        assert!(second - first >= 2_000_000, "{first} -> {second}");
    }

    #[test]
    fn advance_moves_time_forward() {
        let clock = Clock::default();
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(7 * 24 * 3600));
        assert!(clock.now_ms() - before >= 7 * 24 * 3600 * 1000);
    }
}
