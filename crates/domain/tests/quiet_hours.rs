//! Quiet hours across daylight-saving changes, in both hemispheres.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use frontdesk_domain::quiet_hours::{is_quiet_time, local_time_label, next_allowed_time, parse_time_zone};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

const NY: Tz = chrono_tz::America::New_York;
const AUCKLAND: Tz = chrono_tz::Pacific::Auckland;

#[test]
fn parses_iana_names_and_explains_bad_ones() {
    assert_eq!(parse_time_zone(" America/New_York "), Ok(NY));
    assert_eq!(parse_time_zone("Pacific/Auckland"), Ok(AUCKLAND));
    let err = parse_time_zone("Eastern Time").unwrap_err();
    assert!(err.contains("\"Eastern Time\"") && err.contains("America/New_York"), "{err}");
    assert!(parse_time_zone("").unwrap_err().contains("America/New_York"));
}

#[test]
fn allowed_times_are_returned_unchanged() {
    let noon = utc("2026-06-01T16:00:00Z"); // 12:00 EDT
    assert!(!is_quiet_time(NY, noon));
    assert_eq!(next_allowed_time(NY, noon), noon);
}

#[test]
fn early_morning_waits_for_eight_the_same_day() {
    // 06:15 EDT → 08:00 EDT.
    assert_eq!(next_allowed_time(NY, utc("2026-06-01T10:15:00Z")), utc("2026-06-01T12:00:00Z"));
}

#[test]
fn evening_waits_for_eight_the_next_day() {
    // 21:00 EDT exactly is quiet → 08:00 EDT next day.
    assert_eq!(next_allowed_time(NY, utc("2026-06-02T01:00:00Z")), utc("2026-06-02T12:00:00Z"));
}

#[test]
fn new_york_spring_forward() {
    // Sunday 8 March 2026, 02:00 EST becomes 03:00 EDT.
    // Saturday 21:00 EST → Sunday 08:00 EDT (12:00 UTC, not 13:00).
    assert_eq!(next_allowed_time(NY, utc("2026-03-08T02:00:00Z")), utc("2026-03-08T12:00:00Z"));
    // 01:30 EST, just before the change.
    assert_eq!(next_allowed_time(NY, utc("2026-03-08T06:30:00Z")), utc("2026-03-08T12:00:00Z"));
    // 03:30 EDT, just after it.
    assert_eq!(next_allowed_time(NY, utc("2026-03-08T07:30:00Z")), utc("2026-03-08T12:00:00Z"));
}

#[test]
fn new_york_fall_back() {
    // Sunday 1 November 2026, 02:00 EDT becomes 01:00 EST; 08:00 EST is 13:00 UTC.
    // Saturday 21:30 EDT.
    assert_eq!(next_allowed_time(NY, utc("2026-11-01T01:30:00Z")), utc("2026-11-01T13:00:00Z"));
    // 01:30 EDT and 01:30 EST, the repeated hour.
    assert_eq!(next_allowed_time(NY, utc("2026-11-01T05:30:00Z")), utc("2026-11-01T13:00:00Z"));
    assert_eq!(next_allowed_time(NY, utc("2026-11-01T06:30:00Z")), utc("2026-11-01T13:00:00Z"));
    assert!(is_quiet_time(NY, utc("2026-11-01T12:59:59Z")));
    assert!(!is_quiet_time(NY, utc("2026-11-01T13:00:00Z")));
}

#[test]
fn auckland_both_changes() {
    // Sunday 5 April 2026, 03:00 NZDT (UTC+13) becomes 02:00 NZST (UTC+12).
    // Saturday 22:00 NZDT → Sunday 08:00 NZST.
    assert_eq!(next_allowed_time(AUCKLAND, utc("2026-04-04T09:00:00Z")), utc("2026-04-04T20:00:00Z"));
    // Sunday 27 September 2026, 02:00 NZST becomes 03:00 NZDT.
    // Saturday 23:00 NZST → Sunday 08:00 NZDT.
    assert_eq!(next_allowed_time(AUCKLAND, utc("2026-09-26T11:00:00Z")), utc("2026-09-26T19:00:00Z"));
}

#[test]
fn a_skipped_day_moves_to_the_next_morning() {
    // Samoa skipped 30 December 2011 (UTC-10 to UTC+14). Thursday 29th 22:00 → Saturday 31st
    // 08:00 +14.
    let apia = parse_time_zone("Pacific/Apia").unwrap();
    assert_eq!(next_allowed_time(apia, utc("2011-12-30T08:00:00Z")), utc("2011-12-30T18:00:00Z"));
}

#[test]
fn next_allowed_time_is_never_quiet_nor_earlier() {
    let mut at = utc("2026-03-01T00:00:00Z");
    while at < utc("2026-04-15T00:00:00Z") {
        for tz in [NY, AUCKLAND, chrono_tz::Europe::London, chrono_tz::Asia::Kolkata] {
            let next = next_allowed_time(tz, at);
            assert!(next >= at && !is_quiet_time(tz, next), "{tz} {at} → {next}");
            assert!(next - at < chrono::TimeDelta::hours(12), "{tz} {at} → {next}");
        }
        at += chrono::TimeDelta::minutes(17);
    }
}

#[test]
fn local_time_labels() {
    assert_eq!(local_time_label(NY, utc("2026-06-02T02:42:00Z")), "10:42 PM");
    assert_eq!(local_time_label(NY, utc("2026-06-01T16:05:00Z")), "12:05 PM");
    assert_eq!(local_time_label(NY, utc("2026-06-01T04:05:00Z")), "12:05 AM");
    assert_eq!(local_time_label(AUCKLAND, utc("2026-06-01T20:00:00Z")), "8:00 AM");
}
