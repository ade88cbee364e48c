//! Transfer rates: a byte counter sampled at each tick, smoothed into bytes per second.

use std::time::Instant;

/// Smoothed rate of a monotonically growing byte counter.
#[derive(Debug, Default, Clone)]
pub struct RateMeter {
    last: Option<(Instant, u64)>,
    rate: f64,
}

impl RateMeter {
    /// Takes a sample of the counter; returns the smoothed rate in bytes per second.
    pub fn sample(&mut self, now: Instant, total: u64) -> u64 {
        if let Some((at, before)) = self.last {
            let seconds = now.saturating_duration_since(at).as_secs_f64();
            if seconds > 0.0 {
                let instant = total.saturating_sub(before) as f64 / seconds;
                // Half the weight on the newest interval: quick to follow, not jumpy.
                self.rate = if self.rate == 0.0 {
                    instant
                } else {
                    0.5 * self.rate + 0.5 * instant
                };
            }
        }
        self.last = Some((now, total));
        self.rate as u64
    }

    /// The last smoothed rate in bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate as u64
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn follows_a_steady_rate() {
        let mut meter = RateMeter::default();
        let start = Instant::now();
        assert_eq!(meter.sample(start, 0), 0);
        for second in 1..=5u64 {
            meter.sample(start + Duration::from_secs(second), second * 1000);
        }
        assert_eq!(meter.rate(), 1000);
    }
}
