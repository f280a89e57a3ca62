//! Business hours as the reports see them. The office-hours module implements
//! [`BusinessClock`]; until then [`AlwaysOpen`] counts every second.

use chrono::{DateTime, Duration, Utc};

pub trait BusinessClock: Send + Sync {
    /// Open time between `from` and `to` (zero when `to` is not after `from`).
    fn business_duration(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration;
    fn is_open(&self, at: DateTime<Utc>) -> bool;
}

/// Open every second: business durations equal wall-clock ones, nothing is after hours.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysOpen;

impl BusinessClock for AlwaysOpen {
    fn business_duration(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        (to - from).max(Duration::zero())
    }

    fn is_open(&self, _at: DateTime<Utc>) -> bool {
        true
    }
}
