//! The report as tables: one definition feeds the page's tables (the text alternative of
//! every chart) and the CSV export, so both always show the same numbers.

use frontdesk_domain::export::csv_field;
use frontdesk_domain::reports::{DISPLAY_LABELS, Report, Source, Stats, Summary};

/// A typed cell: shown for people on the page, raw in CSV (seconds, fractions, cents).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(u64),
    Secs(Option<i64>),
    Ratio(Option<f64>),
    Cents(f64),
    /// Relative change from the previous period.
    Change(Option<f64>),
}

impl Cell {
    pub fn html(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => group(*n),
            Cell::Secs(None) | Cell::Ratio(None) | Cell::Change(None) => "—".into(),
            Cell::Secs(Some(s)) => duration(*s),
            Cell::Ratio(Some(r)) => format!("{:.1}%", r * 100.0),
            Cell::Cents(c) => format!("${:.2}", c / 100.0),
            Cell::Change(Some(c)) if c.abs() < 0.0005 => "no change".into(),
            Cell::Change(Some(c)) => format!("{}{:.0}%", if *c > 0.0 { "+" } else { "−" }, c.abs() * 100.0),
        }
    }

    pub fn csv(&self) -> String {
        match self {
            Cell::Text(t) => csv_field(t),
            Cell::Count(n) => n.to_string(),
            Cell::Secs(s) => s.map(|s| s.to_string()).unwrap_or_default(),
            Cell::Ratio(r) | Cell::Change(r) => r.map(|r| format!("{r:.4}")).unwrap_or_default(),
            Cell::Cents(c) => format!("{c:.2}"),
        }
    }

    fn value(&self) -> Option<f64> {
        match self {
            Cell::Count(n) => Some(*n as f64),
            Cell::Secs(s) => s.map(|s| s as f64),
            Cell::Ratio(r) => *r,
            Cell::Cents(c) => Some(*c),
            Cell::Text(_) | Cell::Change(_) => None,
        }
    }

    /// What the CSV header adds so raw values read right.
    fn unit(&self) -> &'static str {
        match self {
            Cell::Secs(_) => " (seconds)",
            Cell::Ratio(_) | Cell::Change(_) => " (fraction)",
            Cell::Cents(_) => " (US cents)",
            _ => "",
        }
    }

    /// Numeric cells are right-aligned on the page.
    pub fn numeric(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

/// Thousands separators.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// "45 s", "4 min 5 s", "2 h 10 min", "3 d 4 h".
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => {
            if s % 60 == 0 {
                format!("{} min", s / 60)
            } else {
                format!("{} min {} s", s / 60, s % 60)
            }
        }
        3600..86400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86400, (s % 86400) / 3600),
    }
}

pub struct Table {
    /// The `table=` value of its CSV link.
    pub id: &'static str,
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Rows mix units (the summary): the unit goes after the row's label in CSV.
    pub units_by_row: bool,
}

impl Table {
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let headers: Vec<String> = self
            .headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let unit = if self.units_by_row {
                    ""
                } else {
                    self.rows.first().and_then(|r| r.get(i)).map_or("", Cell::unit)
                };
                csv_field(&format!("{h}{unit}"))
            })
            .collect();
        out.push_str(&headers.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| match (i, c, self.units_by_row) {
                    (0, Cell::Text(t), true) => csv_field(&format!("{t}{}", row.get(1).map_or("", Cell::unit))),
                    _ => c.csv(),
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

fn change(now: &Cell, before: &Cell) -> Cell {
    match (now.value(), before.value()) {
        (Some(a), Some(b)) if b != 0.0 => Cell::Change(Some((a - b) / b)),
        _ => Cell::Change(None),
    }
}

/// One summary figure read from a period's summary.
type Pick = fn(&Summary) -> Cell;

fn summary_rows(now: &Summary, before: &Summary) -> Vec<Vec<Cell>> {
    let pick: Vec<(&str, Pick)> = vec![
        ("Conversations started", |s| Cell::Count(s.started_total)),
        ("Texts received", |s| Cell::Count(s.messages_in)),
        ("Texts sent", |s| Cell::Count(s.messages_out)),
        ("Automatic replies sent", |s| Cell::Count(s.auto_replies)),
        ("First response, median", |s| Cell::Secs(s.first_response.median_secs)),
        ("First response, 90th percentile", |s| Cell::Secs(s.first_response.p90_secs)),
        ("First response in business hours, median", |s| Cell::Secs(s.first_response_business.median_secs)),
        ("First response in business hours, 90th percentile", |s| Cell::Secs(s.first_response_business.p90_secs)),
        ("Reply time, median", |s| Cell::Secs(s.reply.median_secs)),
        ("Reply time, 90th percentile", |s| Cell::Secs(s.reply.p90_secs)),
        ("Reply time in business hours, median", |s| Cell::Secs(s.reply_business.median_secs)),
        ("Resolution time, median", |s| Cell::Secs(s.resolution.median_secs)),
        ("Resolution time, 90th percentile", |s| Cell::Secs(s.resolution.p90_secs)),
        ("Resolution time in business hours, median", |s| Cell::Secs(s.resolution_business.median_secs)),
        ("Urgent conversations", |s| Cell::Count(s.urgent_started)),
        ("Urgent: first reply, median", |s| Cell::Secs(s.urgent_first_reply.median_secs)),
        ("Texts received after hours", |s| Cell::Ratio(s.after_hours_share)),
        ("Opt-outs", |s| Cell::Count(s.opt_outs)),
        ("Contacts texted", |s| Cell::Count(s.contacts_texted)),
        ("Opt-out rate", |s| Cell::Ratio(s.opt_out_rate)),
        ("Delivery failures", |s| Cell::Count(s.failures_total)),
        ("Segments sent", |s| Cell::Count(s.segments)),
        ("Estimated cost", |s| Cell::Cents(s.cost_cents)),
        ("Forms sent", |s| Cell::Count(s.forms_sent)),
        ("Forms submitted", |s| Cell::Count(s.forms_submitted)),
        ("Form completion", |s| Cell::Ratio(s.form_completion_rate)),
        ("Referrals received", |s| Cell::Count(s.referrals_reached("new"))),
        ("Referrals contacted", |s| Cell::Count(s.referrals_reached("contacted"))),
        ("Referrals replied", |s| Cell::Count(s.referrals_reached("replied"))),
        ("Referrals scheduled", |s| Cell::Count(s.referrals_reached("scheduled"))),
        ("Referrals closed", |s| Cell::Count(s.referrals_reached("closed"))),
    ];
    pick.into_iter()
        .map(|(label, f)| {
            let (a, b) = (f(now), f(before));
            let c = change(&a, &b);
            vec![Cell::Text(label.into()), a, b, c]
        })
        .collect()
}

fn stats_cell(s: &Stats, i: usize) -> Cell {
    Cell::Count(s.buckets[i])
}

/// Every table of the report, in page order.
pub fn tables(r: &Report) -> Vec<Table> {
    let mut out = vec![Table {
        id: "summary",
        title: "Summary".into(),
        headers: vec![
            "Metric".into(),
            format!("{} to {}", r.from, r.to),
            format!("{} to {} (previous)", r.previous_from, r.previous_to),
            "Change".into(),
        ],
        rows: summary_rows(&r.current, &r.previous),
        units_by_row: true,
    }];
    out.push(Table {
        id: "sources",
        title: "Conversations started, by source".into(),
        headers: vec!["Source".into(), "This period".into(), "Previous period".into()],
        rows: Source::ALL
            .into_iter()
            .map(|s| {
                vec![
                    Cell::Text(s.label().into()),
                    Cell::Count(r.current.started.get(&s).copied().unwrap_or(0)),
                    Cell::Count(r.previous.started.get(&s).copied().unwrap_or(0)),
                ]
            })
            .collect(),
        units_by_row: false,
    });
    out.push(Table {
        id: "days",
        title: "Texts and conversations per day".into(),
        headers: vec!["Day".into(), "Texts received".into(), "Texts sent".into(), "Conversations started".into()],
        rows: r
            .days
            .iter()
            .map(|d| {
                vec![
                    Cell::Text(d.day.to_string()),
                    Cell::Count(d.messages_in),
                    Cell::Count(d.messages_out),
                    Cell::Count(d.started),
                ]
            })
            .collect(),
        units_by_row: false,
    });
    let c = &r.current;
    out.push(Table {
        id: "response_times",
        title: "Response times, conversations or replies per bucket".into(),
        headers: vec![
            "Time".into(),
            "First response".into(),
            "First response (business hours)".into(),
            "Reply".into(),
            "Resolution".into(),
            "Urgent first reply".into(),
        ],
        rows: DISPLAY_LABELS
            .iter()
            .enumerate()
            .map(|(i, label)| {
                vec![
                    Cell::Text((*label).into()),
                    stats_cell(&c.first_response, i),
                    stats_cell(&c.first_response_business, i),
                    stats_cell(&c.reply, i),
                    stats_cell(&c.resolution, i),
                    stats_cell(&c.urgent_first_reply, i),
                ]
            })
            .collect(),
        units_by_row: false,
    });
    let mut heat_headers = vec!["Weekday".into()];
    heat_headers.extend((0..24).map(|h| format!("{h:02}:00")));
    out.push(Table {
        id: "heat",
        title: "Texts received by weekday and hour (practice time)".into(),
        headers: heat_headers,
        rows: super::charts::WEEKDAYS
            .iter()
            .zip(r.heat.iter())
            .map(|(day, hours)| {
                let mut row = vec![Cell::Text((*day).into())];
                row.extend(hours.iter().map(|v| Cell::Count(*v)));
                row
            })
            .collect(),
        units_by_row: false,
    });
    out.push(Table {
        id: "failures",
        title: "Delivery failures by error code".into(),
        headers: vec!["Error code".into(), "Failed or undelivered texts".into()],
        rows: c.failures.iter().map(|(code, n)| vec![Cell::Text(code.clone()), Cell::Count(*n)]).collect(),
        units_by_row: false,
    });
    if let Some(cut) = r.cut {
        let name = match cut.as_str() {
            "department" => "Department",
            "staff" => "Staff member",
            _ => "Number",
        };
        out.push(Table {
            id: "cut",
            title: format!("By {}", name.to_lowercase()),
            headers: vec![
                name.into(),
                "Conversations started".into(),
                "Texts received".into(),
                "Texts sent".into(),
                "First response, median".into(),
                "First response, 90th percentile".into(),
                "Reply time, median".into(),
                "Resolution time, median".into(),
                "Segments".into(),
                "Estimated cost".into(),
                "Delivery failures".into(),
                "Forms sent".into(),
                "Forms submitted".into(),
            ],
            rows: r
                .cuts
                .iter()
                .map(|row| {
                    let s = &row.summary;
                    vec![
                        Cell::Text(row.label.clone()),
                        Cell::Count(s.started_total),
                        Cell::Count(s.messages_in),
                        Cell::Count(s.messages_out),
                        Cell::Secs(s.first_response.median_secs),
                        Cell::Secs(s.first_response.p90_secs),
                        Cell::Secs(s.reply.median_secs),
                        Cell::Secs(s.resolution.median_secs),
                        Cell::Count(s.segments),
                        Cell::Cents(s.cost_cents),
                        Cell::Count(s.failures_total),
                        Cell::Count(s.forms_sent),
                        Cell::Count(s.forms_submitted),
                    ]
                })
                .collect(),
            units_by_row: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_for_people_and_raw_in_csv() {
        assert_eq!(Cell::Count(1234567).html(), "1,234,567");
        assert_eq!(Cell::Secs(Some(245)).html(), "4 min 5 s");
        assert_eq!(Cell::Secs(Some(245)).csv(), "245");
        assert_eq!(Cell::Secs(None).csv(), "");
        assert_eq!(Cell::Ratio(Some(0.125)).html(), "12.5%");
        assert_eq!(Cell::Cents(249.0).html(), "$2.49");
        assert_eq!(Cell::Change(Some(-0.5)).html(), "−50%");
        assert_eq!(Cell::Text("=cmd(),x".into()).csv(), "\"'=cmd(),x\"");
        assert_eq!(duration(7260), "2 h 1 min");
        assert_eq!(duration(90000), "1 d 1 h");
    }
}
