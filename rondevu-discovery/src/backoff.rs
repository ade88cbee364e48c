//! Bounded exponential backoff with jitter, for retrying an unreachable server.

use std::time::Duration;

/// Delays that double from `base` up to `max`, each drawn from the upper half of the current
/// step ("equal jitter"), so many clients that lost the same server do not return in lockstep.
///
/// Sans-IO: it only computes delays; the caller sleeps.
///
/// ```
/// use std::time::Duration;
/// use rondevu_discovery::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 7);
/// let first = backoff.next_delay();
/// assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
/// backoff.reset(); // the server answered again
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    /// A backoff starting at `base`, never above `max`; `seed` makes the jitter reproducible.
    pub fn new(base: Duration, max: Duration, seed: u64) -> Self {
        Self {
            base,
            max: max.max(base),
            attempt: 0,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The step the next delay is drawn from: `min(max, base × 2^attempt)`.
    pub fn current_cap(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The delay before the next attempt, in `[cap/2, cap]`; then the step doubles.
    pub fn next_delay(&mut self) -> Duration {
        let cap = self.current_cap();
        let half = cap / 2;
        let spread = u64::try_from((cap - half).as_micros()).unwrap_or(u64::MAX);
        let jitter = Duration::from_micros(self.rng.u64(0..=spread));
        self.attempt = self.attempt.saturating_add(1);
        half + jitter
    }

    /// How many delays were handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Starts over from `base` (call it when an attempt succeeds).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}
