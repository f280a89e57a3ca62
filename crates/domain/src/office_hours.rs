//! Office hours of a department and the honest answer to "when will a person reply?"
//! (issue 5, items 3 and 4).
//!
//! Hours are kept on the practice's local wall clock (an IANA time zone through `chrono-tz`):
//! one or more spans per weekday, a span whose end is not after its start runs overnight into
//! the next day ("Fri 22:00–06:00" is open until Saturday 06:00), and holidays close their
//! whole local date. Daylight-saving changes move the UTC instants, never the local hours:
//! an opening inside a spring-forward gap opens at the first instant after the gap, and in
//! the repeated fall-back hour the earlier of the two instants counts.
//!
//! [`OfficeHours::answer_by`] counts the response-time target in open time only: a message
//! at 16:50 with a 30-minute target and closing at 17:00 is answered 20 minutes after the
//! next opening.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Weekday keys, Monday first, as used in settings and forms.
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Weekday names for messages and labels, Monday first.
pub const DAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
/// How far ahead an opening is looked for (holidays can close many days in a row).
const SEARCH_DAYS: u64 = 400;
/// Longest response-time target accepted, in minutes (one week).
pub const MAX_TARGET_MINUTES: u32 = 7 * 24 * 60;

/// One opening on a weekday, in minutes after local midnight. `end <= start` runs overnight
/// into the next day; `end` may be 1440 ("24:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: u16,
    pub end: u16,
}

impl Span {
    pub fn overnight(self) -> bool {
        self.end <= self.start
    }

    /// "08:00-17:00".
    pub fn label(self) -> String {
        format!("{}-{}", hhmm(self.start), hhmm(self.end))
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A validation problem, naming the field it belongs to (`hours.fri`, `time_zone`,
/// `holidays`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), message: message.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Parses "HH:MM" (24-hour; "24:00" only when `allow_24` for an end).
fn parse_time(text: &str, allow_24: bool) -> Result<u16, String> {
    let text = text.trim();
    let (h, m) = text.split_once(':').ok_or_else(|| format!("\"{text}\" is not a time: use HH:MM, e.g. 08:30"))?;
    let h: u16 = h.trim().parse().map_err(|_| format!("\"{text}\" is not a time: use HH:MM, e.g. 08:30"))?;
    let m: u16 = m.trim().parse().map_err(|_| format!("\"{text}\" is not a time: use HH:MM, e.g. 08:30"))?;
    if m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)) {
        return Err(format!("\"{text}\" is out of range: hours go from 00:00 to 23:59 (24:00 only as an end)"));
    }
    Ok(h * 60 + m)
}

/// Parses one span, "08:00-17:00" (a hyphen, en dash or "to" between the times).
pub fn parse_span(text: &str) -> Result<Span, String> {
    let text = text.trim();
    let normalised = text.replace(['–', '—'], "-").replace(" to ", "-");
    let (start, end) = normalised
        .split_once('-')
        .ok_or_else(|| format!("\"{text}\" is not a span of hours: use HH:MM-HH:MM, e.g. 08:00-17:00"))?;
    let start = parse_time(start, false)?;
    let end = parse_time(end, true)?;
    if start == end {
        return Err(format!("\"{text}\" opens and closes at the same time"));
    }
    if end == 24 * 60 && start == 0 {
        return Ok(Span { start, end });
    }
    Ok(Span { start, end })
}

/// Parses a day's spans separated by commas ("08:00-12:00, 13:00-17:00"); empty or "closed"
/// is no spans.
pub fn parse_day(text: &str) -> Result<Vec<Span>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    text.split([',', ';']).filter(|s| !s.trim().is_empty()).map(parse_span).collect()
}

/// Opening hours, holidays and time zone of one department.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeHours {
    pub tz: Tz,
    /// Spans per weekday, Monday first.
    pub week: [Vec<Span>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

impl OfficeHours {
    /// Monday to Friday 08:00–17:00 in `tz`, no holidays: the practice-wide default.
    pub fn weekdays_8_to_5(tz: Tz) -> OfficeHours {
        let day = vec![Span { start: 8 * 60, end: 17 * 60 }];
        OfficeHours {
            tz,
            week: [day.clone(), day.clone(), day.clone(), day.clone(), day, Vec::new(), Vec::new()],
            holidays: BTreeSet::new(),
        }
    }

    /// Checks the spans of the whole week: none may overlap another (overnight spans
    /// included, Sunday night running into Monday). The error names the day (`hours.tue`).
    pub fn validate_week(week: &[Vec<Span>; 7]) -> Result<(), FieldError> {
        const WEEK: i32 = 7 * 1440;
        // (start, end, day) on a week timeline in minutes from Monday 00:00.
        let mut intervals: Vec<(i32, i32, usize)> = Vec::new();
        for (day, spans) in week.iter().enumerate() {
            for span in spans {
                let start = day as i32 * 1440 + i32::from(span.start);
                let mut end = day as i32 * 1440 + i32::from(span.end);
                if span.overnight() {
                    end += 1440;
                }
                intervals.push((start, end, day));
            }
        }
        for (i, a) in intervals.iter().enumerate() {
            for b in &intervals[i + 1..] {
                // Compare with b shifted by a week either way, for Sunday-night spans.
                for shift in [-WEEK, 0, WEEK] {
                    let (bs, be) = (b.0 + shift, b.1 + shift);
                    if a.0 < be && bs < a.1 {
                        let day = a.2.max(b.2);
                        return Err(FieldError::new(
                            format!("hours.{}", DAY_KEYS[day]),
                            format!(
                                "hours overlap: {} {} and {} {}",
                                DAY_NAMES[a.2],
                                spans_label(week, a),
                                DAY_NAMES[b.2],
                                spans_label(week, b)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn is_holiday(&self, day: NaiveDate) -> bool {
        self.holidays.contains(&day)
    }

    fn spans(&self, day: NaiveDate) -> &[Span] {
        &self.week[day.weekday().num_days_from_monday() as usize]
    }

    /// Whether the department is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz).naive_local();
        let day = local.date();
        if self.is_holiday(day) {
            return false;
        }
        let minute = (local.time().signed_duration_since(NaiveTime::MIN).num_minutes()) as u16;
        if self.spans(day).iter().any(|s| minute >= s.start && (s.overnight() || minute < s.end)) {
            return true;
        }
        match day.pred_opt() {
            Some(yesterday) => self.spans(yesterday).iter().any(|s| s.overnight() && minute < s.end),
            None => false,
        }
    }

    /// The instant of local wall time `wall`: the earlier one in a repeated hour, the first
    /// instant after the gap when it does not exist.
    fn instant(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        for minute in 0..=180 {
            let probe = wall.checked_add_signed(TimeDelta::minutes(minute))?;
            if let Some(at) = self.tz.from_local_datetime(&probe).earliest() {
                return Some(at.with_timezone(&Utc));
            }
        }
        None
    }

    /// Instants where the state may change on local dates around `from`: every span's start
    /// and end, and every local midnight (holidays begin and end there).
    fn boundaries(&self, from: DateTime<Utc>, days: u64) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let first = from.with_timezone(&self.tz).date_naive().pred_opt().unwrap_or(NaiveDate::MIN);
        (0..days).filter_map(move |offset| first.checked_add_days(Days::new(offset))).flat_map(move |day| {
            let mut walls = vec![day.and_time(NaiveTime::MIN)];
            for span in self.spans(day) {
                walls.push(day.and_time(NaiveTime::MIN) + TimeDelta::minutes(i64::from(span.start)));
                let mut end = day.and_time(NaiveTime::MIN) + TimeDelta::minutes(i64::from(span.end));
                if span.overnight() {
                    end += TimeDelta::days(1);
                }
                walls.push(end);
            }
            let mut instants: Vec<DateTime<Utc>> = walls.into_iter().filter_map(|w| self.instant(w)).collect();
            instants.sort();
            instants.into_iter()
        })
    }

    /// `at` when open, else the next instant the department opens; `None` when it never
    /// opens within about a year (closed all week, or holidays all year).
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(at) {
            return Some(at);
        }
        if self.week.iter().all(Vec::is_empty) {
            return None;
        }
        self.boundaries(at, SEARCH_DAYS).find(|&b| b > at && self.is_open(b))
    }

    /// When the opening that contains `at` ends; `None` when it does not end within two
    /// weeks (open around the clock).
    pub fn closes_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.boundaries(at, 16).find(|&b| b > at && !self.is_open(b))
    }

    /// When a person will have answered a message received at `at`, with a response-time
    /// target counted in open time only. `None` when the department never opens.
    pub fn answer_by(&self, at: DateTime<Utc>, target_minutes: u32) -> Option<DateTime<Utc>> {
        let mut remaining = TimeDelta::minutes(i64::from(target_minutes));
        let mut t = self.next_open(at)?;
        // Bounded: each turn consumes one whole opening.
        for _ in 0..1000 {
            let Some(close) = self.closes_after(t) else { return Some(t + remaining) };
            if t + remaining <= close {
                return Some(t + remaining);
            }
            remaining -= close - t;
            t = self.next_open(close)?;
        }
        None
    }
}

fn spans_label(week: &[Vec<Span>; 7], interval: &(i32, i32, usize)) -> String {
    let start = (interval.0 - interval.2 as i32 * 1440) as u16;
    week[interval.2].iter().find(|s| s.start == start).map(|s| s.label()).unwrap_or_default()
}

/// "by 2:30 PM", "by 9:30 AM tomorrow", "by 9:30 AM Monday", "by 9:30 AM on Monday,
/// January 5" (a week or more away), in the practice's time zone.
pub fn format_eta(tz: Tz, now: DateTime<Utc>, eta: DateTime<Utc>) -> String {
    let today = now.with_timezone(&tz).date_naive();
    let local = eta.with_timezone(&tz);
    let time = local.format("%-I:%M %p");
    let days = (local.date_naive() - today).num_days();
    match days {
        i64::MIN..=0 => format!("by {time}"),
        1 => format!("by {time} tomorrow"),
        2..=6 => format!("by {time} {}", DAY_NAMES[local.weekday().num_days_from_monday() as usize]),
        _ => format!("by {time} on {}", local.format("%A, %B %-d")),
    }
}

/// The ETA sentence fragment for a message received at `now`, or a fallback when the
/// department never opens.
pub fn eta_phrase(hours: &OfficeHours, now: DateTime<Utc>, target_minutes: u32) -> String {
    match hours.answer_by(now, target_minutes) {
        Some(eta) => format_eta(hours.tz, now, eta),
        None => "as soon as the office reopens".to_owned(),
    }
}

/// Default after-hours reply; `{eta}` becomes e.g. "by 9:30 AM Monday".
pub const DEFAULT_AFTER_HOURS_TEXT: &str = "Thanks for your message. Our office is closed right now; a team member will \
     reply {eta}. If this is an emergency, call 911.";

/// A department's routing settings as stored and exchanged with the admin API (raw text,
/// checked by [`DepartmentSettings::validate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DepartmentSettings {
    /// IANA name; empty means the practice's time zone.
    pub time_zone: String,
    /// Weekday key (`mon`..`sun`) → spans like "08:00-17:00".
    pub hours: BTreeMap<String, Vec<String>>,
    /// Dates closed all day, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    pub response_target_minutes: u32,
    /// `{eta}` is replaced with the honest time a person answers.
    pub after_hours_text: String,
    pub on_call_user_ids: Vec<uuid::Uuid>,
    /// E.164, e.g. +15551234567.
    pub on_call_phone: Option<String>,
    pub lead_user_id: Option<uuid::Uuid>,
    /// No after-hours reply when staff replied in the conversation this many minutes ago or
    /// less (0: always reply).
    pub staff_reply_quiet_minutes: u32,
}

impl Default for DepartmentSettings {
    fn default() -> DepartmentSettings {
        let mut hours = BTreeMap::new();
        for key in &DAY_KEYS[..5] {
            hours.insert((*key).to_owned(), vec!["08:00-17:00".to_owned()]);
        }
        DepartmentSettings {
            time_zone: String::new(),
            hours,
            holidays: Vec::new(),
            response_target_minutes: 60,
            after_hours_text: DEFAULT_AFTER_HOURS_TEXT.to_owned(),
            on_call_user_ids: Vec::new(),
            on_call_phone: None,
            lead_user_id: None,
            staff_reply_quiet_minutes: 10,
        }
    }
}

/// Longest after-hours text, in characters.
pub const MAX_AFTER_HOURS_CHARS: usize = 480;

impl DepartmentSettings {
    /// Checks every field and returns every problem (empty: valid). `practice_tz` is used
    /// when `time_zone` is empty.
    pub fn validate(&self, practice_tz: Tz) -> Result<OfficeHours, Vec<FieldError>> {
        let mut errors = Vec::new();
        let tz = if self.time_zone.trim().is_empty() {
            practice_tz
        } else {
            match crate::quiet_hours::parse_time_zone(&self.time_zone) {
                Ok(tz) => tz,
                Err(e) => {
                    errors.push(FieldError::new("time_zone", e));
                    practice_tz
                }
            }
        };
        let mut week: [Vec<Span>; 7] = Default::default();
        for key in self.hours.keys() {
            if !DAY_KEYS.contains(&key.as_str()) {
                errors.push(FieldError::new(
                    format!("hours.{key}"),
                    "unknown weekday: use mon, tue, wed, thu, fri, sat or sun",
                ));
            }
        }
        let mut days_ok = true;
        for (i, key) in DAY_KEYS.iter().enumerate() {
            for text in self.hours.get(*key).into_iter().flatten() {
                match parse_day(text) {
                    Ok(spans) => week[i].extend(spans),
                    Err(e) => {
                        days_ok = false;
                        errors.push(FieldError::new(format!("hours.{key}"), e));
                    }
                }
            }
            week[i].sort();
        }
        if days_ok && let Err(e) = OfficeHours::validate_week(&week) {
            errors.push(e);
        }
        let mut holidays = BTreeSet::new();
        for text in &self.holidays {
            match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                Ok(day) => {
                    holidays.insert(day);
                }
                Err(_) => errors.push(FieldError::new(
                    "holidays",
                    format!("\"{}\" is not a date: use YYYY-MM-DD, e.g. 2026-12-25", text.trim()),
                )),
            }
        }
        if self.response_target_minutes == 0 || self.response_target_minutes > MAX_TARGET_MINUTES {
            errors.push(FieldError::new(
                "response_target_minutes",
                format!("give a response-time target from 1 to {MAX_TARGET_MINUTES} minutes"),
            ));
        }
        if self.staff_reply_quiet_minutes > 24 * 60 {
            errors.push(FieldError::new(
                "staff_reply_quiet_minutes",
                "give a number of minutes from 0 to 1440 (one day)",
            ));
        }
        let text = self.after_hours_text.trim();
        if text.is_empty() || text.chars().count() > MAX_AFTER_HOURS_CHARS {
            errors.push(FieldError::new(
                "after_hours_text",
                format!("give an after-hours reply of 1 to {MAX_AFTER_HOURS_CHARS} characters"),
            ));
        } else if let Err(e) = check_after_hours_placeholders(text) {
            errors.push(FieldError::new("after_hours_text", e));
        }
        if let Some(phone) = self.on_call_phone.as_deref().map(str::trim).filter(|p| !p.is_empty())
            && crate::phone::E164::parse(phone, crate::phone::Region::US).is_err()
        {
            errors.push(FieldError::new(
                "on_call_phone",
                "not a valid phone number: use the international format, e.g. +15551234567",
            ));
        }
        if errors.is_empty() { Ok(OfficeHours { tz, week, holidays }) } else { Err(errors) }
    }

    /// The settings with every text trimmed, days normalised ("08:00-17:00") and empty
    /// optional values removed. Call after [`DepartmentSettings::validate`] succeeded.
    pub fn normalised(&self, hours: &OfficeHours) -> DepartmentSettings {
        let mut out = self.clone();
        out.time_zone = self.time_zone.trim().to_owned();
        out.hours = DAY_KEYS
            .iter()
            .zip(hours.week.iter())
            .filter(|(_, spans)| !spans.is_empty())
            .map(|(k, spans)| ((*k).to_owned(), spans.iter().map(|s| s.label()).collect()))
            .collect();
        out.holidays = hours.holidays.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect();
        out.after_hours_text = self.after_hours_text.trim().to_owned();
        out.on_call_phone = self
            .on_call_phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .and_then(|p| crate::phone::E164::parse(p, crate::phone::Region::US).ok())
            .map(|p| p.as_str().to_owned());
        out
    }

    /// The reply text with `{eta}` filled in.
    pub fn after_hours_reply(&self, eta: &str) -> String {
        self.after_hours_text.replace("{eta}", eta)
    }
}

fn check_after_hours_placeholders(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("a \"{\" is not closed: the only variable is {eta}")?;
        if &after[..close] != "eta" {
            return Err(format!("unknown variable {{{}}}: the only variable is {{eta}}", &after[..close]));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The weekday of `index` (0 = Monday).
pub fn weekday(index: usize) -> Weekday {
    Weekday::try_from(index as u8).unwrap_or(Weekday::Mon)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn hours(days: &[(&str, &str)], holidays: &[&str]) -> OfficeHours {
        let settings = DepartmentSettings {
            time_zone: "America/New_York".into(),
            hours: days.iter().map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()])).collect(),
            holidays: holidays.iter().map(|h| (*h).to_owned()).collect(),
            ..DepartmentSettings::default()
        };
        settings.validate(New_York).unwrap()
    }

    fn weekdays() -> OfficeHours {
        OfficeHours::weekdays_8_to_5(New_York)
    }

    #[test]
    fn parses_spans_and_rejects_bad_times() {
        assert_eq!(parse_day("08:00-12:00, 13:00–17:30").unwrap().len(), 2);
        assert!(parse_day("closed").unwrap().is_empty());
        assert!(parse_span("25:00-26:00").unwrap_err().contains("out of range"));
        assert!(parse_span("08:60-09:00").unwrap_err().contains("out of range"));
        assert!(parse_span("24:00-06:00").is_err());
        assert!(parse_span("8-5").is_err());
        assert!(parse_span("09:00-09:00").unwrap_err().contains("same time"));
        assert_eq!(parse_span("22:00-24:00").unwrap(), Span { start: 1320, end: 1440 });
    }

    #[test]
    fn open_and_closed_on_weekdays_and_weekends() {
        let h = weekdays();
        // 2026-06-01 is a Monday, EDT (UTC-4).
        assert!(!h.is_open(utc("2026-06-01T11:59:00Z"))); // 07:59
        assert!(h.is_open(utc("2026-06-01T12:00:00Z"))); // 08:00
        assert!(h.is_open(utc("2026-06-01T20:59:00Z"))); // 16:59
        assert!(!h.is_open(utc("2026-06-01T21:00:00Z"))); // 17:00
        assert!(!h.is_open(utc("2026-06-06T15:00:00Z"))); // Saturday 11:00
        // Friday 18:00 → Monday 08:00.
        assert_eq!(h.next_open(utc("2026-06-05T22:00:00Z")), Some(utc("2026-06-08T12:00:00Z")));
    }

    #[test]
    fn eta_counts_target_in_open_time_only() {
        let h = weekdays();
        // Monday 10:00 + 30 min.
        let now = utc("2026-06-01T14:00:00Z");
        assert_eq!(h.answer_by(now, 30), Some(utc("2026-06-01T14:30:00Z")));
        assert_eq!(format_eta(New_York, now, utc("2026-06-01T14:30:00Z")), "by 10:30 AM");
        // Monday 16:50 + 30 min: 10 today, 20 tomorrow → Tuesday 08:20.
        let late = utc("2026-06-01T20:50:00Z");
        let eta = h.answer_by(late, 30).unwrap();
        assert_eq!(eta, utc("2026-06-02T12:20:00Z"));
        assert_eq!(format_eta(New_York, late, eta), "by 8:20 AM tomorrow");
        // Friday 20:00 + 90 min → Monday 09:30.
        let friday = utc("2026-06-06T00:00:00Z");
        let eta = h.answer_by(friday, 90).unwrap();
        assert_eq!(eta, utc("2026-06-08T13:30:00Z"));
        assert_eq!(format_eta(New_York, friday, eta), "by 9:30 AM Monday");
        assert_eq!(eta_phrase(&h, utc("2026-06-01T15:00:00Z"), 210), "by 2:30 PM");
    }

    #[test]
    fn holidays_close_the_whole_day() {
        // Friday 2026-12-25 is a holiday: Thursday evening → Monday 28.
        let h = hours(
            &[
                ("mon", "08:00-17:00"),
                ("tue", "08:00-17:00"),
                ("wed", "08:00-17:00"),
                ("thu", "08:00-17:00"),
                ("fri", "08:00-17:00"),
            ],
            &["2026-12-25"],
        );
        assert!(!h.is_open(utc("2026-12-25T15:00:00Z")));
        let thursday_evening = utc("2026-12-24T23:00:00Z"); // 18:00 EST
        assert_eq!(h.next_open(thursday_evening), Some(utc("2026-12-28T13:00:00Z")));
        assert_eq!(eta_phrase(&h, thursday_evening, 30), "by 8:30 AM Monday");
    }

    #[test]
    fn a_week_or_more_away_gives_the_date() {
        let mut holidays = Vec::new();
        for day in 22..=31 {
            holidays.push(format!("2026-12-{day}"));
        }
        let refs: Vec<&str> = holidays.iter().map(String::as_str).collect();
        let h = hours(&[("mon", "08:00-17:00"), ("fri", "08:00-17:00")], &refs);
        let now = utc("2026-12-21T23:00:00Z"); // Monday 18:00
        assert_eq!(eta_phrase(&h, now, 30), "by 8:30 AM on Friday, January 1");
    }

    #[test]
    fn overnight_spans_run_into_the_next_day() {
        let h = hours(&[("fri", "22:00-06:00")], &[]);
        // 2026-06-05 is a Friday (EDT).
        assert!(!h.is_open(utc("2026-06-06T01:59:00Z"))); // Fri 21:59
        assert!(h.is_open(utc("2026-06-06T02:00:00Z"))); // Fri 22:00
        assert!(h.is_open(utc("2026-06-06T09:59:00Z"))); // Sat 05:59
        assert!(!h.is_open(utc("2026-06-06T10:00:00Z"))); // Sat 06:00
        // Sat 05:50 + 30: 10 now, 20 next Friday at 22:20.
        let eta = h.answer_by(utc("2026-06-06T09:50:00Z"), 30).unwrap();
        assert_eq!(eta, utc("2026-06-13T02:20:00Z"));
        // A Sunday-night span runs into Monday.
        let h = hours(&[("sun", "20:00-02:00")], &[]);
        assert!(h.is_open(utc("2026-06-08T05:00:00Z"))); // Mon 01:00
    }

    #[test]
    fn closed_all_week_never_opens() {
        let h = hours(&[], &[]);
        assert!(!h.is_open(utc("2026-06-01T14:00:00Z")));
        assert_eq!(h.next_open(utc("2026-06-01T14:00:00Z")), None);
        assert_eq!(eta_phrase(&h, utc("2026-06-01T14:00:00Z"), 30), "as soon as the office reopens");
    }

    #[test]
    fn spring_forward_gap() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT. Sunday opening at 02:30 does not exist:
        // it opens at 03:00 EDT = 07:00Z.
        let h = hours(&[("sun", "02:30-05:00")], &[]);
        assert_eq!(h.next_open(utc("2026-03-08T05:00:00Z")), Some(utc("2026-03-08T07:00:00Z")));
        // Saturday 23:00 EST + 60 min target on an overnight span 22:00–04:00: 01:00 EST
        // then 60 min later is 03:00 EDT... only 60 real minutes pass.
        let h = hours(&[("sat", "22:00-04:00")], &[]);
        let now = utc("2026-03-08T04:00:00Z"); // Sat 23:00 EST
        assert_eq!(h.answer_by(now, 120), Some(utc("2026-03-08T06:00:00Z"))); // 01:00 EST
        assert_eq!(h.answer_by(now, 180), Some(utc("2026-03-08T07:00:00Z"))); // 03:00 EDT
        assert_eq!(h.closes_after(now), Some(utc("2026-03-08T08:00:00Z"))); // 04:00 EDT
        // 8:00 on the Monday after is 12:00Z (EDT).
        let w = weekdays();
        assert_eq!(w.next_open(utc("2026-03-07T12:00:00Z")), Some(utc("2026-03-09T12:00:00Z")));
    }

    #[test]
    fn fall_back_repeat() {
        // 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:00–01:59 happens twice.
        let h = hours(&[("sun", "01:30-03:00")], &[]);
        // Opens at the first 01:30 (EDT) = 05:30Z.
        assert_eq!(h.next_open(utc("2026-11-01T04:00:00Z")), Some(utc("2026-11-01T05:30:00Z")));
        // Open through both 01:30s until 03:00 EST = 08:00Z.
        assert!(h.is_open(utc("2026-11-01T06:45:00Z"))); // 01:45 EST (second time)
        assert_eq!(h.closes_after(utc("2026-11-01T05:30:00Z")), Some(utc("2026-11-01T08:00:00Z")));
        // Weekday mornings after the change are 13:00Z.
        let w = weekdays();
        assert_eq!(w.next_open(utc("2026-11-01T12:00:00Z")), Some(utc("2026-11-02T13:00:00Z")));
        assert_eq!(eta_phrase(&w, utc("2026-10-31T12:00:00Z"), 30), "by 8:30 AM Monday");
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = DepartmentSettings { time_zone: "Mars/Olympus".into(), ..DepartmentSettings::default() };
        s.hours.insert("tue".into(), vec!["08:00-12:00, 11:00-17:00".into()]);
        s.hours.insert("wed".into(), vec!["26:00-27:00".into()]);
        s.holidays = vec!["2026-02-30".into()];
        s.response_target_minutes = 0;
        s.on_call_phone = Some("555".into());
        s.after_hours_text = "back {when}".into();
        let errors = s.validate(New_York).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in
            ["time_zone", "hours.wed", "holidays", "response_target_minutes", "on_call_phone", "after_hours_text"]
        {
            assert!(fields.contains(&field), "{field} missing from {errors:?}");
        }
        // Overlap is checked once every day parses.
        s.hours.remove("wed");
        let errors = s.validate(New_York).unwrap_err();
        assert!(errors.iter().any(|e| e.field == "hours.tue" && e.message.contains("overlap")), "{errors:?}");
        // Overnight Friday into Saturday morning overlaps a Saturday span.
        let s = DepartmentSettings {
            hours: [
                ("fri".to_owned(), vec!["22:00-06:00".to_owned()]),
                ("sat".to_owned(), vec!["05:00-09:00".to_owned()]),
            ]
            .into_iter()
            .collect(),
            ..DepartmentSettings::default()
        };
        assert_eq!(s.validate(New_York).unwrap_err()[0].field, "hours.sat");
        assert!(DepartmentSettings::default().validate(New_York).is_ok());
    }

    #[test]
    fn default_text_has_eta_and_911() {
        let s = DepartmentSettings::default();
        let text = s.after_hours_reply("by 9:30 AM Monday");
        assert!(text.contains("by 9:30 AM Monday") && text.contains("call 911"));
    }
}
