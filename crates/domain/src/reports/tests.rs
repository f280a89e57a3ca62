//! Constructed timelines with known answers.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use uuid::Uuid;

use super::*;
use crate::model::SenderKind;
use crate::status::{Direction, MessageStatus};

/// Open Monday to Friday, 09:00–17:00 UTC.
struct OfficeClock;

impl BusinessClock for OfficeClock {
    fn business_duration(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        let mut day = from.date_naive();
        while day <= to.date_naive() {
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                let open = Utc.from_utc_datetime(&day.and_hms_opt(9, 0, 0).unwrap());
                let close = Utc.from_utc_datetime(&day.and_hms_opt(17, 0, 0).unwrap());
                let a = from.max(open);
                let b = to.min(close);
                if b > a {
                    total += b - a;
                }
            }
            day = day.succ_opt().unwrap();
        }
        total
    }

    fn is_open(&self, at: DateTime<Utc>) -> bool {
        !matches!(at.weekday(), Weekday::Sat | Weekday::Sun) && (9..17).contains(&at.hour())
    }
}

const UTC: Tz = chrono_tz::UTC;

/// 2026-11-23 is a Monday.
fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, h, m, 0).unwrap()
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
}

fn conv(opened: DateTime<Utc>) -> ConversationFact {
    ConversationFact {
        id: Uuid::now_v7(),
        number_id: Uuid::from_u128(1),
        contact_id: Uuid::now_v7(),
        department_id: None,
        assignee_id: None,
        urgent: false,
        source: Source::PatientText,
        opened_at: opened,
        closed_at: None,
        first_reply_at: None,
        waiting_at_start: None,
    }
}

fn msg(c: &ConversationFact, dir: Direction, sender: SenderKind, at: DateTime<Utc>) -> MessageFact {
    MessageFact {
        conversation_id: c.id,
        direction: dir,
        sender,
        sender_user_id: (sender == SenderKind::Staff).then(|| Uuid::from_u128(7)),
        status: if dir == Direction::Inbound { MessageStatus::Received } else { MessageStatus::Delivered },
        error_code: None,
        segments: 1,
        created_at: at,
    }
}

fn inbound(c: &ConversationFact, at: DateTime<Utc>) -> MessageFact {
    msg(c, Direction::Inbound, SenderKind::Patient, at)
}

fn reply(c: &ConversationFact, at: DateTime<Utc>) -> MessageFact {
    msg(c, Direction::Outbound, SenderKind::Staff, at)
}

fn facts(day: u32, messages: Vec<MessageFact>, conversations: Vec<ConversationFact>) -> DayFacts {
    let (start, end) = day_bounds(date(day), UTC);
    DayFacts { day: date(day), start, end, messages, conversations, opt_outs: vec![], forms: vec![] }
}

#[test]
fn first_response_same_day() {
    let mut c = conv(at(23, 10, 0));
    c.first_reply_at = Some(at(23, 10, 4));
    let f = facts(23, vec![inbound(&c, at(23, 10, 0)), reply(&c, at(23, 10, 4))], vec![c]);
    let r = compute_day(&f, UTC, &OfficeClock);
    assert_eq!(r.total.started.get(&Source::PatientText), Some(&1));
    assert_eq!(r.total.messages_in, 1);
    assert_eq!(r.total.messages_out, 1);
    assert_eq!(r.total.first_response.count(), 1);
    assert_eq!(r.total.first_response.percentile(50), Some(245));
    assert_eq!(r.total.reply.percentile(50), Some(245));
    assert_eq!(r.total.after_hours_in, 0);
    assert_eq!(r.inbound_by_hour[10], 1);
    assert_eq!(r.by_staff.get(&Uuid::from_u128(7).to_string()).unwrap().first_response.count(), 1);
}

#[test]
fn overnight_wait_counts_on_the_reply_day_and_business_hours_skip_the_night() {
    // Monday 16:30 text, answered Tuesday 09:30: 17 h on the clock, 1 h of office time.
    let mut c = conv(at(23, 16, 30));
    c.first_reply_at = Some(at(24, 9, 30));
    let monday = compute_day(&facts(23, vec![inbound(&c, at(23, 16, 30))], vec![c.clone()]), UTC, &OfficeClock);
    assert_eq!(monday.total.first_response.count(), 0);
    assert_eq!(monday.total.started.values().sum::<u64>(), 1);
    let mut tc = c.clone();
    tc.waiting_at_start = Some(at(23, 16, 30));
    let tuesday = compute_day(&facts(24, vec![reply(&tc, at(24, 9, 30))], vec![tc]), UTC, &OfficeClock);
    assert_eq!(tuesday.total.started.values().sum::<u64>(), 0);
    let wall = tuesday.total.first_response.percentile(50).unwrap();
    assert!((wall - 17 * 3600).abs() <= precision_at(17 * 3600), "{wall}");
    let business = tuesday.total.first_response_business.percentile(50).unwrap();
    assert!((business - 3600).abs() <= precision_at(3600), "{business}");
    assert_eq!(tuesday.total.reply.count(), 1);
    assert_eq!(tuesday.total.reply_business.percentile(50), Some(3630));
}

#[test]
fn weekend_text_is_after_hours_and_waits_only_office_time() {
    // Friday 18:00 (closed), answered Monday 09:15: 15 office minutes.
    let mut c = conv(at(27, 18, 0));
    c.first_reply_at = Some(at(30, 9, 15));
    let friday = compute_day(&facts(27, vec![inbound(&c, at(27, 18, 0))], vec![c.clone()]), UTC, &OfficeClock);
    assert_eq!(friday.total.after_hours_in, 1);
    let mut mc = c.clone();
    mc.waiting_at_start = Some(at(27, 18, 0));
    let monday = compute_day(&facts(30, vec![reply(&mc, at(30, 9, 15))], vec![mc]), UTC, &OfficeClock);
    assert_eq!(monday.total.first_response_business.percentile(50), Some(930));
    let wall = monday.total.first_response.percentile(50).unwrap();
    let exact = (at(30, 9, 15) - at(27, 18, 0)).num_seconds();
    assert!((wall - exact).abs() <= precision_at(exact));
    let report = build_report(date(27), date(30), &[friday, monday], &[], None, 1.0);
    assert_eq!(report.current.after_hours_share, Some(1.0));
    assert_eq!(report.current.first_response.buckets, [0, 0, 0, 0, 0, 1]);
    assert_eq!(report.current.first_response_business.buckets, [0, 0, 1, 0, 0, 0]);
    assert_eq!(report.heat[4][18], 1, "Friday 18:00");
}

#[test]
fn reopened_conversation_counts_twice_and_a_new_run_is_a_new_reply_time() {
    // A: text 10:00, reply 10:05, closed 11:00. B (same thread, reopened by a new text) at
    // 14:00, reply 14:20; then the patient writes again at 15:00 and is answered at 15:02.
    let mut a = conv(at(23, 10, 0));
    a.first_reply_at = Some(at(23, 10, 5));
    a.closed_at = Some(at(23, 11, 0));
    let mut b = conv(at(23, 14, 0));
    b.contact_id = a.contact_id;
    b.first_reply_at = Some(at(23, 14, 20));
    let messages = vec![
        inbound(&a, at(23, 10, 0)),
        reply(&a, at(23, 10, 5)),
        inbound(&b, at(23, 14, 0)),
        inbound(&b, at(23, 14, 10)),
        reply(&b, at(23, 14, 20)),
        inbound(&b, at(23, 15, 0)),
        reply(&b, at(23, 15, 2)),
    ];
    let r = compute_day(&facts(23, messages, vec![a, b]), UTC, &OfficeClock);
    assert_eq!(r.total.started.get(&Source::PatientText), Some(&2));
    assert_eq!(r.total.first_response.count(), 2);
    assert_eq!(r.total.reply.count(), 3, "the 14:10 text joins the 14:00 wait");
    let mut reply_expected = Histogram::default();
    for s in [300, 1200, 120] {
        reply_expected.add_secs(s);
    }
    assert_eq!(r.total.reply, reply_expected);
    assert_eq!(r.total.resolution.count(), 1);
    assert_eq!(r.total.resolution.percentile(50), Some(3630));
    assert_eq!(r.total.contacts_texted, 1, "one person texted on both conversations");
}

#[test]
fn staff_outreach_has_no_first_response_and_auto_replies_are_not_replies() {
    let mut c = conv(at(23, 9, 0));
    c.source = Source::StaffOutreach;
    c.first_reply_at = Some(at(23, 9, 0));
    let mut d = conv(at(23, 12, 0));
    d.urgent = true;
    d.first_reply_at = Some(at(23, 12, 30));
    let r = compute_day(
        &facts(
            23,
            vec![
                reply(&c, at(23, 9, 0)),
                inbound(&c, at(23, 9, 10)),
                reply(&c, at(23, 9, 40)),
                inbound(&d, at(23, 12, 0)),
                msg(&d, Direction::Outbound, SenderKind::Automation, at(23, 12, 0)),
                reply(&d, at(23, 12, 30)),
            ],
            vec![c, d],
        ),
        UTC,
        &OfficeClock,
    );
    assert_eq!(r.total.started.get(&Source::StaffOutreach), Some(&1));
    assert_eq!(r.total.first_response.count(), 1);
    assert_eq!(r.total.first_response.percentile(50), Some(1830));
    assert_eq!(r.total.auto_replies, 1);
    assert_eq!(r.total.reply.count(), 2);
    assert_eq!(r.total.urgent_started, 1);
    assert_eq!(r.total.urgent_first_reply.percentile(50), Some(1830));
}

#[test]
fn failures_segments_opt_outs_forms_and_cuts() {
    let dept = Uuid::from_u128(42);
    let mut c = conv(at(23, 10, 0));
    c.department_id = Some(dept);
    let mut failed = reply(&c, at(23, 10, 1));
    failed.status = MessageStatus::Failed;
    failed.error_code = Some("30006".into());
    failed.segments = 3;
    let mut f = facts(23, vec![inbound(&c, at(23, 10, 0)), failed], vec![c.clone()]);
    f.opt_outs.push(OptOutFact { contact_id: c.contact_id, at: at(23, 11, 0) });
    f.forms.push(FormFact {
        conversation_id: c.id,
        sent_by: None,
        created_at: at(23, 10, 2),
        submitted_at: Some(at(23, 10, 30)),
    });
    f.forms.push(FormFact { conversation_id: c.id, sent_by: None, created_at: at(23, 10, 3), submitted_at: None });
    let r = compute_day(&f, UTC, &OfficeClock);
    assert_eq!(r.total.failures.get("30006"), Some(&1));
    assert_eq!(r.total.segments, 3);
    assert_eq!(r.total.opt_outs, 1);
    assert_eq!(r.total.contacts_texted, 1);
    let d = r.by_department.get(&dept.to_string()).unwrap();
    assert_eq!((d.forms_sent, d.forms_submitted, d.segments), (2, 1, 3));
    let report = build_report(date(23), date(23), &[r], &[], Some(Cut::Department), 0.83);
    assert_eq!(report.current.opt_out_rate, Some(1.0));
    assert_eq!(report.current.form_completion_rate, Some(0.5));
    assert!((report.current.cost_cents - 2.49).abs() < 1e-9);
    assert_eq!(report.current.failures, vec![("30006".to_owned(), 1)]);
    assert_eq!(report.cuts.len(), 1);
    assert_eq!(report.cuts[0].key, dept.to_string());
}

#[test]
fn merging_days_equals_computing_over_the_union() {
    // Two days of traffic with answers on the same and the next day; the rollups merged
    // give the figures computed once over both days.
    let mut convs = Vec::new();
    let mut messages = Vec::new();
    for i in 0..40u32 {
        let opened = at(23, 8 + i % 12, i % 60);
        let mut c = conv(opened);
        if i % 3 == 0 {
            c.department_id = Some(Uuid::from_u128(u128::from(i % 2)));
        }
        let answer = opened + Duration::seconds(i64::from(i) * 997);
        c.first_reply_at = Some(answer);
        if i % 4 == 0 {
            c.closed_at = Some(answer + Duration::hours(1));
        }
        messages.push(inbound(&c, opened));
        messages.push(reply(&c, answer));
        convs.push(c);
    }
    let union = DayFacts {
        day: date(23),
        start: day_bounds(date(23), UTC).0,
        end: day_bounds(date(24), UTC).1,
        messages: messages.clone(),
        conversations: convs.clone(),
        opt_outs: vec![],
        forms: vec![],
    };
    let whole = compute_day(&union, UTC, &OfficeClock);
    let mut merged = Metrics::default();
    for day in [23, 24] {
        let (start, end) = day_bounds(date(day), UTC);
        let day_convs = convs
            .iter()
            .map(|c| {
                let mut c = c.clone();
                // What the store reads: the wait carried over midnight.
                if c.opened_at < start && c.first_reply_at.is_some_and(|r| r >= start) {
                    c.waiting_at_start = Some(c.opened_at);
                }
                c
            })
            .collect();
        let f = DayFacts {
            day: date(day),
            start,
            end,
            messages: messages.iter().filter(|m| m.created_at >= start && m.created_at < end).cloned().collect(),
            conversations: day_convs,
            opt_outs: vec![],
            forms: vec![],
        };
        merged.merge(&compute_day(&f, UTC, &OfficeClock).total);
    }
    assert_eq!(merged.first_response, whole.total.first_response);
    assert_eq!(merged.first_response_business, whole.total.first_response_business);
    assert_eq!(merged.reply, whole.total.reply);
    assert_eq!(merged.resolution, whole.total.resolution);
    assert_eq!(merged.started, whole.total.started);
    assert_eq!(merged.messages_in, whole.total.messages_in);
    assert_eq!(merged.messages_out, whole.total.messages_out);
    assert!(whole.total.first_response.count() == 40);
}

#[test]
fn median_and_p90_of_many_conversations_within_bucket_precision() {
    let mut convs = Vec::new();
    let mut messages = Vec::new();
    let mut exact = Vec::new();
    for i in 0..101i64 {
        let opened = at(23, 0, 0) + Duration::seconds(i * 60);
        let mut c = conv(opened);
        let wait = i * i * 7 + 13;
        let answer = opened + Duration::seconds(wait);
        c.first_reply_at = Some(answer);
        messages.push(inbound(&c, opened));
        messages.push(reply(&c, answer));
        convs.push(c);
        exact.push(wait);
    }
    exact.sort();
    let r = compute_day(&facts(23, messages, convs), UTC, &AlwaysOpen);
    let report = build_report(date(23), date(23), &[r], &[], None, 0.0);
    let median = report.current.first_response.median_secs.unwrap();
    let p90 = report.current.first_response.p90_secs.unwrap();
    assert!((median - exact[50]).abs() <= precision_at(exact[50]), "{median} vs {}", exact[50]);
    assert!((p90 - exact[90]).abs() <= precision_at(exact[90]), "{p90} vs {}", exact[90]);
    assert_eq!(report.current.first_response_business, report.current.first_response);
}

#[test]
fn previous_period_has_equal_length_and_missing_days_are_zero() {
    let r = DayRollup {
        version: ROLLUP_VERSION,
        day: date(20),
        time_zone: "UTC".into(),
        total: Metrics { messages_in: 5, ..Metrics::default() },
        by_department: Default::default(),
        by_staff: Default::default(),
        by_number: Default::default(),
        inbound_by_hour: [0; 24],
    };
    let report = build_report(date(23), date(29), &[], &[r], None, 0.0);
    assert_eq!((report.previous_from, report.previous_to), (date(16), date(22)));
    assert_eq!(report.previous.messages_in, 5);
    assert_eq!(report.days.len(), 7);
    assert!(report.days.iter().all(|d| d.messages_in == 0));
}

#[test]
fn day_bounds_follow_daylight_saving() {
    let tz: Tz = "America/New_York".parse().unwrap();
    let (s, e) = day_bounds(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), tz);
    assert_eq!(e - s, Duration::hours(25));
    let (s, _) = day_bounds(date(23), tz);
    assert_eq!(s, at(23, 5, 0));
}

#[test]
fn rollup_round_trips_through_json() {
    let mut c = conv(at(23, 10, 0));
    c.first_reply_at = Some(at(23, 10, 4));
    let r =
        compute_day(&facts(23, vec![inbound(&c, at(23, 10, 0)), reply(&c, at(23, 10, 4))], vec![c]), UTC, &AlwaysOpen);
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<DayRollup>(&json).unwrap(), r);
}
