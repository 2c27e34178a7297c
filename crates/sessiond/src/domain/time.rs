//! Points in time, in whole seconds since the Unix epoch (the unit of JWT
//! `iat`/`exp`, RFC 7519 §2 "NumericDate").
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// This time plus a duration, saturating.
    pub fn plus(self, d: Duration) -> Self {
        Self(self.0.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
    }

    /// This time minus a duration, saturating.
    pub fn minus(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(UnixTime(10).plus(Duration::from_secs(5)), UnixTime(15));
        assert_eq!(UnixTime(10).minus(Duration::from_secs(5)), UnixTime(5));
        assert_eq!(UnixTime(i64::MAX).plus(Duration::from_secs(1)), UnixTime(i64::MAX));
    }
}
