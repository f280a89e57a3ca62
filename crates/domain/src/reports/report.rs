//! A period's report, merged from its days' rollups.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::rollup::weekday_index;
use super::{DayRollup, Histogram, Metrics, Source};

/// A breakdown of the report's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cut {
    Department,
    Staff,
    Number,
}

impl Cut {
    pub const ALL: [Cut; 3] = [Cut::Department, Cut::Staff, Cut::Number];

    pub fn as_str(self) -> &'static str {
        match self {
            Cut::Department => "department",
            Cut::Staff => "staff",
            Cut::Number => "number",
        }
    }

    fn of(self, r: &DayRollup) -> &BTreeMap<String, Metrics> {
        match self {
            Cut::Department => &r.by_department,
            Cut::Staff => &r.by_staff,
            Cut::Number => &r.by_number,
        }
    }
}

impl FromStr for Cut {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cut::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown cut {s:?}; expected department, staff or number"))
    }
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A duration distribution as shown: count, median, p90 (seconds, within bucket precision)
/// and the six display buckets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub count: u64,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
    pub buckets: [u64; 6],
}

impl Stats {
    pub fn of(h: &Histogram) -> Stats {
        Stats { count: h.count(), median_secs: h.percentile(50), p90_secs: h.percentile(90), buckets: h.display() }
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Every figure of one slice over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Conversations started, by source (all four sources present).
    pub started: BTreeMap<Source, u64>,
    pub started_total: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub auto_replies: u64,
    pub first_response: Stats,
    pub first_response_business: Stats,
    pub reply: Stats,
    pub reply_business: Stats,
    pub resolution: Stats,
    pub resolution_business: Stats,
    pub urgent_started: u64,
    pub urgent_first_reply: Stats,
    pub opt_outs: u64,
    pub contacts_texted: u64,
    /// Opt-outs / contacts texted.
    pub opt_out_rate: Option<f64>,
    pub after_hours_in: u64,
    /// Patient texts received while closed / all patient texts.
    pub after_hours_share: Option<f64>,
    /// Failed or undelivered outbound messages by provider error code, most frequent first.
    pub failures: Vec<(String, u64)>,
    pub failures_total: u64,
    pub segments: u64,
    pub cost_cents: f64,
    pub forms_sent: u64,
    pub forms_submitted: u64,
    /// Forms submitted / forms sent in the period.
    pub form_completion_rate: Option<f64>,
    /// The referral funnel: referrals that reached each status in the period, every status
    /// present (`new` = received).
    pub referral_funnel: BTreeMap<String, u64>,
}

impl Summary {
    /// Referrals that reached `status` in the period.
    pub fn referrals_reached(&self, status: &str) -> u64 {
        self.referral_funnel.get(status).copied().unwrap_or(0)
    }
}

impl Summary {
    pub fn of(m: &Metrics, cost_per_segment_cents: f64) -> Summary {
        let mut started: BTreeMap<Source, u64> = Source::ALL.into_iter().map(|s| (s, 0)).collect();
        for (k, v) in &m.started {
            *started.entry(*k).or_default() += v;
        }
        let mut failures: Vec<(String, u64)> = m.failures.iter().map(|(k, v)| (k.clone(), *v)).collect();
        failures.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Summary {
            started_total: started.values().sum(),
            started,
            messages_in: m.messages_in,
            messages_out: m.messages_out,
            auto_replies: m.auto_replies,
            first_response: Stats::of(&m.first_response),
            first_response_business: Stats::of(&m.first_response_business),
            reply: Stats::of(&m.reply),
            reply_business: Stats::of(&m.reply_business),
            resolution: Stats::of(&m.resolution),
            resolution_business: Stats::of(&m.resolution_business),
            urgent_started: m.urgent_started,
            urgent_first_reply: Stats::of(&m.urgent_first_reply),
            opt_outs: m.opt_outs,
            contacts_texted: m.contacts_texted,
            opt_out_rate: ratio(m.opt_outs, m.contacts_texted),
            after_hours_in: m.after_hours_in,
            after_hours_share: ratio(m.after_hours_in, m.messages_in),
            failures_total: failures.iter().map(|f| f.1).sum(),
            failures,
            segments: m.segments,
            cost_cents: m.segments as f64 * cost_per_segment_cents,
            forms_sent: m.forms_sent,
            forms_submitted: m.forms_submitted,
            form_completion_rate: ratio(m.forms_submitted, m.forms_sent),
            referral_funnel: crate::referrals::ReferralStatus::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), m.referrals.get(s.as_str()).copied().unwrap_or(0)))
                .collect(),
        }
    }
}

/// One day of the volume chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayPoint {
    pub day: NaiveDate,
    pub messages_in: u64,
    pub messages_out: u64,
    pub started: u64,
}

/// One row of a cut; `label` is filled by the caller (department name, person, number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutRow {
    pub key: String,
    pub label: String,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    pub cut: Option<Cut>,
    pub current: Summary,
    pub previous: Summary,
    pub days: Vec<DayPoint>,
    pub cuts: Vec<CutRow>,
    /// Patient texts by weekday (Monday first) and local hour.
    pub heat: [[u64; 24]; 7],
}

/// Merges the rollups of `[from, to]` (`current`) and of the previous period of equal length
/// (`previous`). Days without a rollup count as empty.
pub fn build_report(
    from: NaiveDate,
    to: NaiveDate,
    current: &[DayRollup],
    previous: &[DayRollup],
    cut: Option<Cut>,
    cost_per_segment_cents: f64,
) -> Report {
    let len = (to - from).num_days() + 1;
    let previous_to = from - chrono::Duration::days(1);
    let previous_from = previous_to - chrono::Duration::days(len - 1);
    let merge = |rs: &[DayRollup]| {
        let mut m = Metrics::default();
        for r in rs {
            m.merge(&r.total);
        }
        m
    };
    let mut heat = [[0u64; 24]; 7];
    let mut by_day: BTreeMap<NaiveDate, &DayRollup> = BTreeMap::new();
    for r in current {
        by_day.insert(r.day, r);
        let w = weekday_index(r.day);
        for (h, v) in r.inbound_by_hour.iter().enumerate() {
            heat[w][h] += v;
        }
    }
    let days = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| match by_day.get(&d) {
            Some(r) => DayPoint {
                day: d,
                messages_in: r.total.messages_in,
                messages_out: r.total.messages_out,
                started: r.total.started.values().sum(),
            },
            None => DayPoint { day: d, messages_in: 0, messages_out: 0, started: 0 },
        })
        .collect();
    let cuts = cut
        .map(|c| {
            let mut merged: BTreeMap<String, Metrics> = BTreeMap::new();
            for r in current {
                for (k, m) in c.of(r) {
                    merged.entry(k.clone()).or_default().merge(m);
                }
            }
            merged
                .into_iter()
                .map(|(key, m)| CutRow { label: key.clone(), key, summary: Summary::of(&m, cost_per_segment_cents) })
                .collect()
        })
        .unwrap_or_default();
    Report {
        from,
        to,
        previous_from,
        previous_to,
        cut,
        current: Summary::of(&merge(current), cost_per_segment_cents),
        previous: Summary::of(&merge(previous), cost_per_segment_cents),
        days,
        cuts,
        heat,
    }
}
