//! Quiet hours (DESIGN.md §6): automated and bulk messages go out only 08:00–21:00 in the
//! recipient's time zone, and otherwise wait for the next allowed time. Staff replies in a live
//! conversation are not held, but the composer shows the patient's local time when it is night
//! for them.
//!
//! All arithmetic is done on the local wall clock through `chrono-tz`, so daylight-saving
//! changes move the UTC instant of 08:00 but never the local hour a patient is woken at.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// First local hour at which automated messages may go out (08:00).
pub const ALLOWED_FROM_HOUR: u32 = 8;
/// Local hour from which automated messages wait for the next morning (21:00).
pub const ALLOWED_UNTIL_HOUR: u32 = 21;

/// Parses an IANA time zone name ("America/New_York"), ignoring surrounding whitespace.
/// The error names the value and gives an example, for settings forms and CSV imports.
pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err("no time zone given: use an IANA name such as America/New_York".to_owned());
    }
    trimmed
        .parse::<Tz>()
        .map_err(|_| format!("unknown time zone \"{trimmed}\": use an IANA name such as America/New_York"))
}

/// True when it is before 08:00 or from 21:00 on in `tz` at the instant `at`.
pub fn is_quiet_time(tz: Tz, at: DateTime<Utc>) -> bool {
    let hour = at.with_timezone(&tz).hour();
    !(ALLOWED_FROM_HOUR..ALLOWED_UNTIL_HOUR).contains(&hour)
}

/// When an automated message due at `at` may go out: `at` itself outside quiet hours,
/// otherwise the next 08:00 on the recipient's wall clock (the same day before 08:00, the next
/// day from 21:00), whatever daylight-saving change lies in between.
pub fn next_allowed_time(tz: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
    if !is_quiet_time(tz, at) {
        return at;
    }
    let local = at.with_timezone(&tz);
    let mut day = local.date_naive();
    if local.hour() >= ALLOWED_UNTIL_HOUR {
        day = day.checked_add_days(Days::new(1)).unwrap_or(day);
    }
    morning_of(tz, day).unwrap_or(at)
}

/// The first instant at or after 08:00 local on `day` that is still before 21:00 there, or
/// failing that on the following days. 08:00 can only be missing in a zone that skips it (none
/// do today, but the tz database changes, and Samoa skipped all of 30 December 2011); if it
/// occurs twice, the earlier one.
fn morning_of(tz: Tz, mut day: NaiveDate) -> Option<DateTime<Utc>> {
    let minutes_allowed = i64::from(ALLOWED_UNTIL_HOUR - ALLOWED_FROM_HOUR) * 60;
    for _ in 0..3 {
        let morning = day.and_time(NaiveTime::from_hms_opt(ALLOWED_FROM_HOUR, 0, 0)?);
        for minute in 0..minutes_allowed {
            let wall = morning.checked_add_signed(TimeDelta::minutes(minute))?;
            if let Some(instant) = tz.from_local_datetime(&wall).earliest() {
                return Some(instant.with_timezone(&Utc));
            }
        }
        day = day.checked_add_days(Days::new(1))?;
    }
    None
}

/// The recipient's local time for the composer's warning, like "10:42 PM".
pub fn local_time_label(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz).format("%-I:%M %p").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn boundaries_are_half_open() {
        let ny = chrono_tz::America::New_York;
        // 2026-06-01 EDT = UTC-4.
        assert!(is_quiet_time(ny, utc("2026-06-01T11:59:59Z"))); // 07:59:59
        assert!(!is_quiet_time(ny, utc("2026-06-01T12:00:00Z"))); // 08:00
        assert!(!is_quiet_time(ny, utc("2026-06-02T00:59:59Z"))); // 20:59:59
        assert!(is_quiet_time(ny, utc("2026-06-02T01:00:00Z"))); // 21:00
    }
}
