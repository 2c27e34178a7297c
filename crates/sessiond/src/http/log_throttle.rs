//! At most one log line per interval for an event that can repeat many
//! times a second (failed accepts when descriptors run out), with a count
//! of the occurrences held back, so the log stays readable and small.
use std::time::{Duration, Instant};

/// Decides which occurrences of one event get a log line.
#[derive(Debug)]
pub struct LogThrottle {
    every: Duration,
    last_line: Option<Instant>,
    held_back: u64,
}

impl LogThrottle {
    /// At most one line per `every`.
    pub const fn new(every: Duration) -> Self {
        Self { every, last_line: None, held_back: 0 }
    }

    /// Records an occurrence at `now`. `Some(n)` when it should be logged,
    /// `n` being the occurrences held back since the last line.
    pub fn occurred(&mut self, now: Instant) -> Option<u64> {
        match self.last_line {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last_line = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_counting_the_rest() {
        let mut throttle = LogThrottle::new(Duration::from_secs(5));
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(throttle.occurred(at(0)), Some(0));
        // Twenty a second, as the accept loop backs off 50 ms per error.
        let logged: Vec<_> = (1..100).filter_map(|i| throttle.occurred(at(i * 50))).collect();
        assert!(logged.is_empty());
        assert_eq!(throttle.occurred(at(5000)), Some(99));
        assert_eq!(throttle.occurred(at(5001)), None);
        assert_eq!(throttle.occurred(at(60_000)), Some(1));
    }
}
