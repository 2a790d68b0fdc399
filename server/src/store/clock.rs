//! The server's clock. Production reads the system clock; a test embedding the server can move it
//! forward, and everything that reads time (expiry, TTL, OBJECT IDLETIME, TIME) follows.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct Clock {
    /// Microseconds added to the system clock by `advance`.
    offset_us: AtomicI64,
}

impl Clock {
    /// Microseconds since the Unix epoch, as this server sees it.
    pub fn now_us(&self) -> i64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_time_forward() {
        let clock = Clock::default();
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(7 * 24 * 3600));
        assert!(clock.now_ms() - before >= 7 * 24 * 3600 * 1000);
    }
}
