//! Business hours as the reports see them: [`OfficeHours`] (the practice's hours) counts open
//! time only; [`AlwaysOpen`] counts every second.

use chrono::{DateTime, Duration, Utc};

use crate::office_hours::OfficeHours;

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

impl BusinessClock for OfficeHours {
    fn business_duration(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        let mut at = if OfficeHours::is_open(self, from) { Some(from) } else { self.next_open(from) };
        // Bounded: each turn consumes one opening, and a report's spans are at most months.
        for _ in 0..10_000 {
            let Some(open) = at.filter(|t| *t < to) else { break };
            match self.closes_after(open) {
                Some(close) if close < to => {
                    total += close - open;
                    at = self.next_open(close);
                }
                _ => {
                    total += to - open;
                    break;
                }
            }
        }
        total
    }

    fn is_open(&self, at: DateTime<Utc>) -> bool {
        OfficeHours::is_open(self, at)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn office_hours_count_only_open_time() {
        // Mon–Fri 08:00–17:00 New York.
        let hours = OfficeHours::weekdays_8_to_5(chrono_tz::America::New_York);
        let ny =
            |d, h, m| chrono_tz::America::New_York.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap().with_timezone(&Utc);
        // Friday 16:30 → Monday 08:45: 30 min on Friday, 45 min on Monday.
        assert_eq!(hours.business_duration(ny(20, 16, 30), ny(23, 8, 45)), Duration::minutes(75));
        // Within one opening, and wholly at night.
        assert_eq!(hours.business_duration(ny(23, 9, 0), ny(23, 9, 20)), Duration::minutes(20));
        assert_eq!(hours.business_duration(ny(23, 18, 0), ny(23, 23, 0)), Duration::zero());
        assert_eq!(hours.business_duration(ny(23, 10, 0), ny(23, 9, 0)), Duration::zero());
        assert!(BusinessClock::is_open(&hours, ny(23, 12, 0)));
        assert!(!BusinessClock::is_open(&hours, ny(22, 12, 0)), "Sunday");
    }
}
