//! One practice-local day computed from its facts.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{BusinessClock, ConversationFact, DayFacts, Histogram, Source};
use crate::model::SenderKind;
use crate::status::{Direction, MessageStatus};

/// The version of the rules [`compute_day`] applies (and of the business clock and source
/// inputs it is fed). Bump it when they change: stored rollups of another version are
/// recomputed on next use.
pub const ROLLUP_VERSION: u32 = 3;

/// The cut key for "no department / no staff member".
pub const NONE_KEY: &str = "none";

/// `[start, end)` in UTC of the practice-local day (23 or 25 hours on DST changes).
pub fn day_bounds(day: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |d: NaiveDate| -> DateTime<Utc> {
        let mut t = d.and_time(NaiveTime::MIN);
        // A zone whose midnight falls in a gap starts the day at the first local instant.
        for _ in 0..4 {
            if let Some(at) = tz.from_local_datetime(&t).earliest() {
                return at.with_timezone(&Utc);
            }
            t += chrono::Duration::minutes(30);
        }
        Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
    };
    let next = day.succ_opt().unwrap_or(day);
    (start_of(day), start_of(next))
}

/// The countable figures of one day for one slice (the practice or one cut key). Every field
/// adds up across days and slices ([`Metrics::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    pub started: BTreeMap<Source, u64>,
    pub messages_in: u64,
    pub messages_out: u64,
    pub auto_replies: u64,
    pub first_response: Histogram,
    pub first_response_business: Histogram,
    pub reply: Histogram,
    pub reply_business: Histogram,
    pub resolution: Histogram,
    pub resolution_business: Histogram,
    pub urgent_started: u64,
    pub urgent_first_reply: Histogram,
    pub opt_outs: u64,
    pub contacts_texted: u64,
    pub after_hours_in: u64,
    pub failures: BTreeMap<String, u64>,
    pub segments: u64,
    pub forms_sent: u64,
    pub forms_submitted: u64,
    /// Referrals that reached each pipeline status (`new`, `contacted`, `replied`,
    /// `scheduled`, `closed`) in the day, from their status history (practice-wide only).
    pub referrals: BTreeMap<String, u64>,
}

/// Counts the statuses referrals reached in `[start, end)` (the referral funnel).
pub fn referral_funnel<'a>(
    events: impl IntoIterator<Item = &'a crate::referrals::ReferralEvent>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for e in events.into_iter().filter(|e| e.at >= start && e.at < end) {
        *out.entry(e.status.as_str().to_owned()).or_default() += 1;
    }
    out
}

impl Metrics {
    pub fn merge(&mut self, o: &Metrics) {
        for (k, v) in &o.started {
            *self.started.entry(*k).or_default() += v;
        }
        self.messages_in += o.messages_in;
        self.messages_out += o.messages_out;
        self.auto_replies += o.auto_replies;
        self.first_response.merge(&o.first_response);
        self.first_response_business.merge(&o.first_response_business);
        self.reply.merge(&o.reply);
        self.reply_business.merge(&o.reply_business);
        self.resolution.merge(&o.resolution);
        self.resolution_business.merge(&o.resolution_business);
        self.urgent_started += o.urgent_started;
        self.urgent_first_reply.merge(&o.urgent_first_reply);
        self.opt_outs += o.opt_outs;
        self.contacts_texted += o.contacts_texted;
        self.after_hours_in += o.after_hours_in;
        for (k, v) in &o.failures {
            *self.failures.entry(k.clone()).or_default() += v;
        }
        self.segments += o.segments;
        self.forms_sent += o.forms_sent;
        self.forms_submitted += o.forms_submitted;
        for (k, v) in &o.referrals {
            *self.referrals.entry(k.clone()).or_default() += v;
        }
    }
}

/// One practice-local day: the whole practice, each cut, and inbound texts by local hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRollup {
    /// [`ROLLUP_VERSION`] when computed (0: before versions existed).
    #[serde(default)]
    pub version: u32,
    pub day: NaiveDate,
    pub time_zone: String,
    pub total: Metrics,
    #[serde(default)]
    pub by_department: BTreeMap<String, Metrics>,
    #[serde(default)]
    pub by_staff: BTreeMap<String, Metrics>,
    #[serde(default)]
    pub by_number: BTreeMap<String, Metrics>,
    /// Patient texts received in each local hour (0–23) of the day.
    pub inbound_by_hour: [u64; 24],
}

fn key(id: Option<Uuid>) -> String {
    id.map_or_else(|| NONE_KEY.to_owned(), |u| u.to_string())
}

/// Where one figure lands: the practice and the three cut keys.
struct Sink {
    total: Metrics,
    dept: BTreeMap<String, Metrics>,
    staff: BTreeMap<String, Metrics>,
    number: BTreeMap<String, Metrics>,
}

impl Sink {
    /// Applies `f` to the total and to the cut entries of `conv` (staff = `staff`).
    fn add(&mut self, conv: Option<&ConversationFact>, staff: Option<Uuid>, f: impl Fn(&mut Metrics)) {
        f(&mut self.total);
        if let Some(c) = conv {
            f(self.dept.entry(key(c.department_id)).or_default());
            f(self.number.entry(c.number_id.to_string()).or_default());
        }
        f(self.staff.entry(key(staff)).or_default());
    }
}

fn secs(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}

/// Computes one day. Figures are attributed to the day of the event that completes them: a
/// start to the opening, a response or reply time to the reply, a resolution to the close.
pub fn compute_day(facts: &DayFacts, tz: Tz, clock: &dyn BusinessClock) -> DayRollup {
    let in_day = |at: DateTime<Utc>| at >= facts.start && at < facts.end;
    let convs: HashMap<Uuid, &ConversationFact> = facts.conversations.iter().map(|c| (c.id, c)).collect();
    let mut sink =
        Sink { total: Metrics::default(), dept: BTreeMap::new(), staff: BTreeMap::new(), number: BTreeMap::new() };
    let mut by_hour = [0u64; 24];

    for c in &facts.conversations {
        if in_day(c.opened_at) {
            let urgent = c.urgent;
            sink.add(Some(c), c.assignee_id, |m| {
                *m.started.entry(c.source).or_default() += 1;
                if urgent {
                    m.urgent_started += 1;
                }
            });
        }
        if let Some(closed) = c.closed_at.filter(|at| in_day(*at)) {
            let s = secs(c.opened_at, closed);
            let b = clock.business_duration(c.opened_at, closed).num_seconds().max(0);
            sink.add(Some(c), c.assignee_id, |m| {
                m.resolution.add_secs(s);
                m.resolution_business.add_secs(b);
            });
        }
    }

    let mut messages: Vec<_> = facts.messages.iter().filter(|m| in_day(m.created_at)).collect();
    messages.sort_by_key(|m| m.created_at);
    let mut waiting: HashMap<Uuid, Option<DateTime<Utc>>> =
        facts.conversations.iter().map(|c| (c.id, c.waiting_at_start)).collect();
    let mut first_done: HashSet<Uuid> = HashSet::new();
    // (cut, key, contact): contacts texted are distinct per slice within the day.
    let mut texted: HashSet<(u8, String, Uuid)> = HashSet::new();

    for m in messages {
        let conv = convs.get(&m.conversation_id).copied();
        match m.direction {
            Direction::Inbound => {
                let after_hours = !clock.is_open(m.created_at);
                let hour = m.created_at.with_timezone(&tz).hour() as usize;
                by_hour[hour] += 1;
                sink.add(conv, conv.and_then(|c| c.assignee_id), |x| {
                    x.messages_in += 1;
                    if after_hours {
                        x.after_hours_in += 1;
                    }
                });
                let w = waiting.entry(m.conversation_id).or_default();
                if w.is_none() {
                    *w = Some(m.created_at);
                }
            }
            Direction::Outbound => {
                let failed = matches!(m.status, MessageStatus::Failed | MessageStatus::Undelivered);
                let code = m.error_code.clone().unwrap_or_else(|| "unknown".to_owned());
                let segments = u64::try_from(m.segments).unwrap_or(0);
                let auto = m.sender == SenderKind::Automation;
                sink.add(conv, m.sender_user_id, |x| {
                    x.messages_out += 1;
                    x.segments += segments;
                    if auto {
                        x.auto_replies += 1;
                    }
                    if failed {
                        *x.failures.entry(code.clone()).or_default() += 1;
                    }
                });
                if let Some(c) = conv {
                    for (cut, k) in [
                        (0u8, String::new()),
                        (1, key(c.department_id)),
                        (2, c.number_id.to_string()),
                        (3, key(m.sender_user_id)),
                    ] {
                        if texted.insert((cut, k.clone(), c.contact_id)) {
                            let target = match cut {
                                0 => &mut sink.total,
                                1 => sink.dept.entry(k).or_default(),
                                2 => sink.number.entry(k).or_default(),
                                _ => sink.staff.entry(k).or_default(),
                            };
                            target.contacts_texted += 1;
                        }
                    }
                }
                if !m.is_reply() {
                    continue;
                }
                if let Some(since) = waiting.get_mut(&m.conversation_id).and_then(Option::take) {
                    let s = secs(since, m.created_at);
                    let b = clock.business_duration(since, m.created_at).num_seconds().max(0);
                    sink.add(conv, m.sender_user_id, |x| {
                        x.reply.add_secs(s);
                        x.reply_business.add_secs(b);
                    });
                }
                let Some(c) = conv else { continue };
                if c.source.patient_initiated() && c.first_reply_at == Some(m.created_at) && first_done.insert(c.id) {
                    let s = secs(c.opened_at, m.created_at);
                    let b = clock.business_duration(c.opened_at, m.created_at).num_seconds().max(0);
                    let urgent = c.urgent;
                    sink.add(conv, m.sender_user_id, |x| {
                        x.first_response.add_secs(s);
                        x.first_response_business.add_secs(b);
                        if urgent {
                            x.urgent_first_reply.add_secs(s);
                        }
                    });
                }
            }
        }
    }

    sink.total.opt_outs = facts.opt_outs.iter().filter(|o| in_day(o.at)).count() as u64;

    for f in &facts.forms {
        let conv = convs.get(&f.conversation_id).copied();
        let sent = in_day(f.created_at);
        let submitted = f.submitted_at.is_some_and(in_day);
        sink.add(conv, f.sent_by, |x| {
            if sent {
                x.forms_sent += 1;
            }
            if submitted {
                x.forms_submitted += 1;
            }
        });
    }

    DayRollup {
        version: ROLLUP_VERSION,
        day: facts.day,
        time_zone: tz.name().to_owned(),
        total: sink.total,
        by_department: sink.dept,
        by_staff: sink.staff,
        by_number: sink.number,
        inbound_by_hour: by_hour,
    }
}

/// Monday = 0 … Sunday = 6, for the heat map.
pub(crate) fn weekday_index(day: NaiveDate) -> usize {
    day.weekday().num_days_from_monday() as usize
}
