//! Rules for automated and bulk messages (DESIGN.md §6, issue 5 item 8): scheduled automated
//! sends and broadcasts go out only outside quiet hours in the recipient's time zone, and at
//! most [`DAILY_CAP`] a day and [`WEEKLY_CAP`] a week per contact (the healthcare exemption's
//! caps). Neither rule drops a message: both give the next instant it may go out.
//!
//! Staff's live replies and the immediate after-hours / urgent replies to a patient's own text
//! are not automated outreach and never come here.
//!
//! The cap windows are rolling (the last 24 hours, the last 7 × 24 hours), so they do not depend
//! on where a calendar day starts and a daylight-saving change cannot open a second slot.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::quiet_hours::{is_quiet_time, next_allowed_time};

/// Automated/bulk messages per contact in any 24 hours.
pub const DAILY_CAP: usize = 1;
/// Automated/bulk messages per contact in any 7 days.
pub const WEEKLY_CAP: usize = 3;

/// The day window.
pub fn day() -> TimeDelta {
    TimeDelta::hours(24)
}

/// The week window.
pub fn week() -> TimeDelta {
    TimeDelta::days(7)
}

/// Why an automated message waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferReason {
    QuietHours,
    DailyCap,
    WeeklyCap,
}

impl DeferReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeferReason::QuietHours => "quiet hours (08:00–21:00 in the patient's time zone)",
            DeferReason::DailyCap => "daily limit of 1 automated message per patient",
            DeferReason::WeeklyCap => "weekly limit of 3 automated messages per patient",
        }
    }
}

/// What to do with an automated message that is due at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    SendNow,
    /// Wait until `until` (the first reason that held is named).
    Defer {
        until: DateTime<Utc>,
        reason: DeferReason,
    },
}

/// When the caps next allow one more message, given the instants of the contact's automated
/// messages already sent or queued: `at` itself when they allow it.
pub fn next_cap_slot(at: DateTime<Utc>, sent: &[DateTime<Utc>]) -> (DateTime<Utc>, Option<DeferReason>) {
    let mut t = at;
    let mut first = None;
    // Each step moves `t` past one message's window, so this ends within `sent.len()` steps.
    for _ in 0..=sent.len() * 2 {
        let in_day: Vec<_> = sent.iter().filter(|s| **s <= t && t - **s < day()).copied().collect();
        if in_day.len() >= DAILY_CAP {
            first.get_or_insert(DeferReason::DailyCap);
            t = in_day.iter().min().copied().unwrap_or(t) + day();
            continue;
        }
        let mut in_week: Vec<_> = sent.iter().filter(|s| **s <= t && t - **s < week()).copied().collect();
        if in_week.len() >= WEEKLY_CAP {
            first.get_or_insert(DeferReason::WeeklyCap);
            in_week.sort();
            // The oldest ones must leave the window until one slot is free.
            let leave = in_week[in_week.len() - WEEKLY_CAP];
            t = leave + week();
            continue;
        }
        break;
    }
    (t, first)
}

/// Decides whether an automated message may go out at `now` to a recipient in `tz` who was
/// already sent (or has queued) automated messages at `sent`; otherwise the next instant both
/// the caps and quiet hours allow.
pub fn decide(tz: Tz, now: DateTime<Utc>, sent: &[DateTime<Utc>]) -> Decision {
    let mut t = now;
    let mut reason = None;
    for _ in 0..16 {
        let (after_caps, cap_reason) = next_cap_slot(t, sent);
        if let Some(r) = cap_reason {
            reason.get_or_insert(r);
        }
        t = after_caps;
        if is_quiet_time(tz, t) {
            reason.get_or_insert(DeferReason::QuietHours);
            t = next_allowed_time(tz, t);
            continue;
        }
        break;
    }
    match reason {
        None => Decision::SendNow,
        Some(reason) => Decision::Defer { until: t, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const NY: Tz = chrono_tz::America::New_York;

    #[test]
    fn daytime_with_no_history_sends_now() {
        assert_eq!(decide(NY, utc("2026-03-10T15:00:00Z"), &[]), Decision::SendNow);
    }

    #[test]
    fn night_in_the_patients_zone_waits_for_eight_local() {
        // 03:00 UTC is 23:00 in New York (EDT): wait until 08:00 EDT = 12:00 UTC.
        let d = decide(NY, utc("2026-06-10T03:00:00Z"), &[]);
        assert_eq!(d, Decision::Defer { until: utc("2026-06-10T12:00:00Z"), reason: DeferReason::QuietHours });
        // The same instant is daytime in Tokyo (12:00 JST).
        assert_eq!(decide(chrono_tz::Asia::Tokyo, utc("2026-06-10T03:00:00Z"), &[]), Decision::SendNow);
    }

    #[test]
    fn quiet_hours_follow_daylight_saving() {
        // 2026-03-08 is the US spring-forward day: 08:00 EDT is 12:00 UTC, not 13:00.
        let d = decide(NY, utc("2026-03-08T05:00:00Z"), &[]);
        assert_eq!(d, Decision::Defer { until: utc("2026-03-08T12:00:00Z"), reason: DeferReason::QuietHours });
        // The day before, still EST: 08:00 is 13:00 UTC.
        let d = decide(NY, utc("2026-03-07T05:00:00Z"), &[]);
        assert_eq!(d, Decision::Defer { until: utc("2026-03-07T13:00:00Z"), reason: DeferReason::QuietHours });
    }

    #[test]
    fn daily_cap_defers_to_a_day_after_the_last_send() {
        let sent = [utc("2026-06-10T14:00:00Z")];
        let d = decide(NY, utc("2026-06-10T16:00:00Z"), &sent);
        assert_eq!(d, Decision::Defer { until: utc("2026-06-11T14:00:00Z"), reason: DeferReason::DailyCap });
        // Exactly a day later the window has passed.
        assert_eq!(decide(NY, utc("2026-06-11T14:00:00Z"), &sent), Decision::SendNow);
    }

    #[test]
    fn daily_cap_then_quiet_hours() {
        // Last sent at 22:00 EDT on the 10th: a day later is 22:00 on the 11th, quiet hours,
        // so the next slot is 08:00 EDT on the 12th.
        let sent = [utc("2026-06-11T02:00:00Z")];
        let d = decide(NY, utc("2026-06-11T13:00:00Z"), &sent);
        assert_eq!(d, Decision::Defer { until: utc("2026-06-12T12:00:00Z"), reason: DeferReason::DailyCap });
    }

    #[test]
    fn weekly_cap_waits_for_the_oldest_to_leave_the_week() {
        let sent = [utc("2026-06-01T14:00:00Z"), utc("2026-06-03T14:00:00Z"), utc("2026-06-05T14:00:00Z")];
        let d = decide(NY, utc("2026-06-07T14:00:00Z"), &sent);
        assert_eq!(d, Decision::Defer { until: utc("2026-06-08T14:00:00Z"), reason: DeferReason::WeeklyCap });
        assert_eq!(decide(NY, utc("2026-06-08T14:00:00Z"), &sent), Decision::SendNow);
    }

    #[test]
    fn old_messages_do_not_count() {
        let sent = [utc("2026-05-01T14:00:00Z"), utc("2026-05-02T14:00:00Z"), utc("2026-05-03T14:00:00Z")];
        assert_eq!(decide(NY, utc("2026-06-07T14:00:00Z"), &sent), Decision::SendNow);
    }

    #[test]
    fn future_queued_messages_do_not_block_earlier_slots() {
        // Only messages at or before the candidate instant count.
        let sent = [utc("2026-06-20T14:00:00Z")];
        assert_eq!(decide(NY, utc("2026-06-07T14:00:00Z"), &sent), Decision::SendNow);
    }
}
