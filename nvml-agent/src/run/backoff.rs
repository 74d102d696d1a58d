//! Retry delays for the controller: doubling from an initial delay up to a ceiling.

use std::time::{Duration, Instant};

/// When to try the controller again after failures.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    delay: Duration,
    next_try: Option<Instant>,
}

impl Backoff {
    /// A backoff that first waits `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            delay: initial,
            next_try: None,
        }
    }

    /// Whether a try is due at `now`.
    pub fn ready(&self, now: Instant) -> bool {
        self.next_try.is_none_or(|t| now >= t)
    }

    /// Records a failure at `now`; returns how long until the next try.
    pub fn failed(&mut self, now: Instant) -> Duration {
        let d = self.delay;
        self.next_try = Some(now + d);
        self.delay = (d * 2).min(self.max);
        d
    }

    /// Records a success: the next failure waits the initial delay again.
    pub fn succeeded(&mut self) {
        self.delay = self.initial;
        self.next_try = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_ceiling_and_reset_on_success() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut b = Backoff::new(s(1), s(5));
        assert!(b.ready(t0));
        let delays: Vec<u64> = (0..5).map(|_| b.failed(t0).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
        assert!(!b.ready(t0 + s(4)));
        assert!(b.ready(t0 + s(5)));
        b.succeeded();
        assert!(b.ready(t0));
        assert_eq!(b.failed(t0), s(1));
    }
}
