//! Reports (issue 8): a period's figures for admins and auditors.
//!
//! Finished practice-local days are computed once from their facts and kept in
//! `report_days`; a stored day is reused unless it was computed before the day ended plus
//! [`GRACE`] (late delivery statuses and replies settle in that hour) or in another time
//! zone. Today is always computed live. Metrics are defined in `docs/REPORTS.md`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::StreamExt as _;

use frontdesk_domain::model::Role;
use frontdesk_domain::reports::{
    BusinessClock, Cut, DayRollup, NONE_KEY, ROLLUP_VERSION, Report, build_report, compute_day, day_bounds,
};
use frontdesk_store::StoredDay;

use crate::inbox::StaffContext;
use crate::{ServiceError, Services};

/// How long after a day ends its rollup may still change.
pub const GRACE: Duration = Duration::hours(1);
/// The longest period one report covers.
pub const MAX_DAYS: i64 = 366;
/// Days read from the store at once when computing missing days.
const PARALLEL_DAYS: usize = 4;

/// An inclusive range of practice-local days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Reads the `cut` query field: empty for none.
pub fn parse_cut(cut: Option<&str>) -> Result<Option<Cut>, ServiceError> {
    blank(cut).map(|c| c.parse::<Cut>().map_err(|e| ServiceError::invalid("cut", e))).transpose()
}

impl Period {
    /// The last `days` days ending `today`.
    pub fn last(days: i64, today: NaiveDate) -> Period {
        Period { from: today - Duration::days(days.max(1) - 1), to: today }
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Reads the query fields `days` (7, 30 or 90) or `from` + `to` (YYYY-MM-DD). Errors name
    /// the field. Without any, the last 30 days.
    pub fn parse(
        days: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Period, ServiceError> {
        let (days, from, to) = (blank(days), blank(from), blank(to));
        if from.is_none() && to.is_none() {
            let n = match days {
                None => 30,
                Some(d) => d
                    .parse::<i64>()
                    .ok()
                    .filter(|n| matches!(n, 7 | 30 | 90))
                    .ok_or_else(|| ServiceError::invalid("days", "choose 7, 30 or 90 days, or give from and to"))?,
            };
            return Ok(Period::last(n, today));
        }
        let date = |field: &str, v: Option<&str>| -> Result<NaiveDate, ServiceError> {
            let v = v.ok_or_else(|| ServiceError::invalid(field, "give both from and to as YYYY-MM-DD"))?;
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| ServiceError::invalid(field, format!("{v:?} is not a date; write it as YYYY-MM-DD")))
        };
        let (from, to) = (date("from", from)?, date("to", to)?);
        if to < from {
            return Err(ServiceError::invalid("to", "must be on or after from"));
        }
        if to > today {
            return Err(ServiceError::invalid("to", format!("must not be after today ({today})")));
        }
        if (to - from).num_days() + 1 > MAX_DAYS {
            return Err(ServiceError::invalid("from", format!("a report covers at most {MAX_DAYS} days")));
        }
        Ok(Period { from, to })
    }
}

fn blank(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// Admins and auditors read reports; staff do not.
pub fn require_reports(ctx: &StaffContext) -> Result<(), ServiceError> {
    match ctx.user.role {
        Role::Admin | Role::Auditor => Ok(()),
        Role::Staff => Err(ServiceError::Forbidden("reports are for admins and auditors".into())),
    }
}

impl Services {
    /// Business hours for the business-hours variants: the practice-wide hours (the office
    /// hours that apply to conversations without a department; Mon–Fri 08:00–17:00 in the
    /// practice zone until an admin sets them).
    pub async fn report_clock(&self) -> Result<Box<dyn BusinessClock>, ServiceError> {
        Ok(Box::new(self.effective_hours(None).await?.hours))
    }

    /// The practice-local date now.
    pub fn report_today(&self) -> NaiveDate {
        crate::now().with_timezone(&self.settings().time_zone).date_naive()
    }

    /// The report of `period` with its previous period of equal length, broken down by `cut`
    /// (rows labelled with department names, people's names and numbers).
    pub async fn report(&self, ctx: &StaffContext, period: Period, cut: Option<Cut>) -> Result<Report, ServiceError> {
        require_reports(ctx)?;
        self.practice_report(period, cut).await
    }

    /// [`Services::report`] for the admin API (a bearer token acts for the practice).
    pub async fn practice_report(&self, period: Period, cut: Option<Cut>) -> Result<Report, ServiceError> {
        let previous_from = period.from - Duration::days(period.days());
        let mut rollups = self.day_rollups(previous_from, period.to).await?;
        let current = rollups.split_off(rollups.partition_point(|r| r.day < period.from));
        let settings = self.settings();
        let mut report = build_report(period.from, period.to, &current, &rollups, cut, settings.segment_cost_cents);
        if let Some(cut) = cut {
            let labels = self.cut_labels(cut).await?;
            for row in &mut report.cuts {
                if let Some(l) = labels.get(&row.key) {
                    row.label = l.clone();
                } else if row.key == NONE_KEY {
                    row.label = match cut {
                        Cut::Department => "No department".into(),
                        Cut::Staff => "No staff member (automatic)".into(),
                        Cut::Number => "Unknown number".into(),
                    };
                }
            }
            report.cuts.sort_by(|a, b| a.label.cmp(&b.label));
        }
        Ok(report)
    }

    async fn cut_labels(&self, cut: Cut) -> Result<HashMap<String, String>, ServiceError> {
        Ok(match cut {
            Cut::Department => {
                self.store.list_departments().await?.into_iter().map(|d| (d.id.to_string(), d.name)).collect()
            }
            Cut::Staff => self.store.list_users().await?.into_iter().map(|u| (u.id.to_string(), u.name)).collect(),
            Cut::Number => self
                .store
                .list_numbers()
                .await?
                .into_iter()
                .map(|n| (n.id.to_string(), n.e164.as_str().to_owned()))
                .collect(),
        })
    }

    /// Rollups of `[from, to]`, oldest first: stored ones when fresh, missing or stale past
    /// days computed (in one pass per day, a few days at once) and stored together, today
    /// live, future days absent.
    pub async fn day_rollups(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRollup>, ServiceError> {
        let tz = self.settings().time_zone;
        let now = crate::now();
        let today = now.with_timezone(&tz).date_naive();
        let last_past = to.min(today - Duration::days(1));
        let mut out: BTreeMap<NaiveDate, DayRollup> = BTreeMap::new();
        if from <= last_past {
            for s in self.store.report_days(from, last_past).await? {
                if is_fresh(&s, tz) {
                    out.insert(s.day, s.rollup);
                }
            }
        }
        let missing: Vec<NaiveDate> =
            from.iter_days().take_while(|d| *d <= last_past).filter(|d| !out.contains_key(d)).collect();
        let computed: Vec<DayRollup> = futures::stream::iter(missing.into_iter().map(|d| self.compute(d, tz)))
            .buffered(PARALLEL_DAYS)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        if !computed.is_empty() {
            let rows: Vec<StoredDay> = computed
                .iter()
                .map(|r| StoredDay { day: r.day, time_zone: tz.name().to_owned(), computed_at: now, rollup: r.clone() })
                .collect();
            frontdesk_store::write(&*self.store, move |tx| {
                Box::pin(async move {
                    for row in &rows {
                        tx.put_report_day(row).await?;
                    }
                    Ok(())
                })
            })
            .await?;
        }
        for r in computed {
            out.insert(r.day, r);
        }
        if from <= today && today <= to {
            out.insert(today, self.compute(today, tz).await?);
        }
        Ok(out.into_values().collect())
    }

    async fn compute(&self, day: NaiveDate, tz: chrono_tz::Tz) -> Result<DayRollup, ServiceError> {
        let (start, end) = day_bounds(day, tz);
        let facts = self.store.report_day_facts(day, start, end).await?;
        let clock = self.report_clock().await?;
        let mut rollup = compute_day(&facts, tz, clock.as_ref());
        let referrals = self.store.referral_events_between(start, end).await?;
        rollup.total.referrals = frontdesk_domain::reports::referral_funnel(&referrals, start, end);
        Ok(rollup)
    }

    /// The scheduler's hook: stores yesterday's rollup once it can no longer change (after
    /// the grace hour). Returns whether it computed anything.
    pub async fn precompute_reports(&self) -> Result<bool, ServiceError> {
        let tz = self.settings().time_zone;
        let now = crate::now();
        let yesterday = now.with_timezone(&tz).date_naive() - Duration::days(1);
        if now < day_bounds(yesterday, tz).1 + GRACE {
            return Ok(false);
        }
        let stored = self.store.report_days(yesterday, yesterday).await?;
        if stored.iter().any(|s| is_fresh(s, tz)) {
            return Ok(false);
        }
        self.day_rollups(yesterday, yesterday).await?;
        Ok(true)
    }
}

/// Computed by the current rules, in the same zone, after the day ended plus the grace hour.
fn is_fresh(s: &StoredDay, tz: chrono_tz::Tz) -> bool {
    let settled: DateTime<Utc> = day_bounds(s.day, tz).1 + GRACE;
    s.rollup.version == ROLLUP_VERSION && s.time_zone == tz.name() && s.computed_at >= settled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_stored_day_is_fresh_only_after_the_grace_hour_in_the_same_zone_and_rules() {
        let tz = chrono_tz::America::New_York;
        let day = d("2026-11-23");
        let end = day_bounds(day, tz).1;
        let facts = frontdesk_domain::reports::DayFacts {
            day,
            start: end - Duration::days(1),
            end,
            messages: vec![],
            conversations: vec![],
            opt_outs: vec![],
            forms: vec![],
        };
        let rollup = compute_day(&facts, tz, &frontdesk_domain::reports::AlwaysOpen);
        let stored = |computed_at, zone: &str, version| StoredDay {
            day,
            time_zone: zone.into(),
            computed_at,
            rollup: DayRollup { version, ..rollup.clone() },
        };
        let zone = tz.name();
        assert!(is_fresh(&stored(end + GRACE, zone, ROLLUP_VERSION), tz));
        assert!(
            !is_fresh(&stored(end + GRACE - Duration::seconds(1), zone, ROLLUP_VERSION), tz),
            "inside the grace hour"
        );
        assert!(!is_fresh(&stored(end - Duration::hours(3), zone, ROLLUP_VERSION), tz), "before the day ended");
        assert!(!is_fresh(&stored(end + GRACE, "UTC", ROLLUP_VERSION), tz), "another zone");
        assert!(!is_fresh(&stored(end + GRACE, zone, ROLLUP_VERSION + 1), tz), "other rules");
    }

    #[test]
    fn periods_parse_and_name_the_bad_field() {
        let today = d("2026-11-25");
        assert_eq!(Period::parse(None, None, None, today).unwrap(), Period { from: d("2026-10-27"), to: today });
        assert_eq!(Period::parse(Some("7"), None, None, today).unwrap().from, d("2026-11-19"));
        assert_eq!(Period::parse(None, Some("2026-11-01"), Some("2026-11-10"), today).unwrap().days(), 10);
        let field = |r: Result<Period, ServiceError>| match r {
            Err(ServiceError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(Period::parse(Some("8"), None, None, today)), "days");
        assert_eq!(field(Period::parse(None, Some("2026-13-01"), Some("2026-11-10"), today)), "from");
        assert_eq!(field(Period::parse(None, Some("2026-11-10"), None, today)), "to");
        assert_eq!(field(Period::parse(None, Some("2026-11-10"), Some("2026-11-01"), today)), "to");
        assert_eq!(field(Period::parse(None, Some("2026-11-10"), Some("2026-11-26"), today)), "to");
        assert_eq!(field(Period::parse(None, Some("2024-01-01"), Some("2026-11-01"), today)), "from");
    }
}
