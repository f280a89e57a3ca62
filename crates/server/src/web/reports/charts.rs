//! Server-rendered SVG charts as plain shapes for the template: no script, every value also
//! in the table the page shows under each chart.

use frontdesk_domain::reports::{DISPLAY_LABELS, Report};

use super::tables::duration;

pub const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

const IN_FILL: &str = "#1a62d1";
const OUT_FILL: &str = "#8a5a00";

pub struct Rect {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub fill: &'static str,
    pub opacity: String,
    /// Shown on hover (an SVG `<title>`).
    pub tip: String,
}

pub struct Label {
    pub x: String,
    pub y: String,
    pub text: String,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
    /// Rotated a quarter turn (the y-axis title).
    pub vertical: bool,
}

pub struct Line {
    pub x1: String,
    pub y1: String,
    pub x2: String,
    pub y2: String,
}

pub struct Chart {
    pub id: &'static str,
    pub title: String,
    /// The text alternative's summary; the full values are in the table that follows.
    pub desc: String,
    pub width: u32,
    pub height: u32,
    pub rects: Vec<Rect>,
    pub labels: Vec<Label>,
    pub lines: Vec<Line>,
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

fn label(x: f64, y: f64, text: impl Into<String>, anchor: &'static str) -> Label {
    Label { x: f(x), y: f(y), text: text.into(), anchor, vertical: false }
}

fn rect(x: f64, y: f64, w: f64, h: f64, fill: &'static str, tip: String) -> Rect {
    Rect { x: f(x), y: f(y), w: f(w.max(0.0)), h: f(h.max(0.0)), fill, opacity: "1".into(), tip }
}

/// A round axis maximum at or above `max` and its tick step (four ticks).
fn nice(max: u64) -> (u64, u64) {
    let max = max.max(4);
    let raw = max.div_ceil(4);
    let mag = 10u64.pow(raw.ilog10());
    let step = [1, 2, 5, 10].into_iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(raw);
    (step * 4, step)
}

const W: f64 = 720.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 52.0;

/// Axes, gridlines and tick labels for a bar chart; returns the y scale.
fn frame(chart: &mut Chart, max: u64, x_title: &str, y_title: &str) -> impl Fn(u64) -> f64 + use<> {
    let (top, step) = nice(max);
    let plot_h = H - TOP - BOTTOM;
    let y_of = move |v: u64| H - BOTTOM - plot_h * (v as f64 / top as f64);
    for i in 0..=4 {
        let v = step * i;
        let y = y_of(v);
        chart.lines.push(Line { x1: f(LEFT), y1: f(y), x2: f(W - RIGHT), y2: f(y) });
        chart.labels.push(label(LEFT - 6.0, y + 4.0, v.to_string(), "end"));
    }
    chart.labels.push(label(LEFT + (W - LEFT - RIGHT) / 2.0, H - 8.0, x_title, "middle"));
    chart.labels.push(Label {
        x: f(16.0),
        y: f(TOP + plot_h / 2.0),
        text: y_title.into(),
        anchor: "middle",
        vertical: true,
    });
    y_of
}

/// Texts received and sent per day, side by side.
pub fn volume(r: &Report) -> Chart {
    let total_in: u64 = r.days.iter().map(|d| d.messages_in).sum();
    let total_out: u64 = r.days.iter().map(|d| d.messages_out).sum();
    let mut c = Chart {
        id: "chart-volume",
        title: "Texts per day".into(),
        desc: format!(
            "Bar chart of texts received and sent on each of {} days: {total_in} received and {total_out} sent in all.",
            r.days.len()
        ),
        width: W as u32,
        height: H as u32,
        rects: vec![],
        labels: vec![],
        lines: vec![],
    };
    let max = r.days.iter().map(|d| d.messages_in.max(d.messages_out)).max().unwrap_or(0);
    let y_of = frame(&mut c, max, "Day", "Texts");
    let n = r.days.len().max(1) as f64;
    let slot = (W - LEFT - RIGHT) / n;
    let bar = (slot * 0.4).max(0.5);
    let every = (r.days.len() / 8).max(1);
    for (i, d) in r.days.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.1;
        let day = d.day.format("%b %-d").to_string();
        let y_in = y_of(d.messages_in);
        c.rects.push(rect(x, y_in, bar, H - BOTTOM - y_in, IN_FILL, format!("{day}: {} received", d.messages_in)));
        let y_out = y_of(d.messages_out);
        c.rects.push(rect(
            x + bar,
            y_out,
            bar,
            H - BOTTOM - y_out,
            OUT_FILL,
            format!("{day}: {} sent", d.messages_out),
        ));
        if i % every == 0 {
            c.labels.push(label(x + bar, H - BOTTOM + 16.0, day, "middle"));
        }
    }
    // Legend.
    c.rects.push(rect(LEFT, 8.0, 12.0, 12.0, IN_FILL, "Received".into()));
    c.labels.push(label(LEFT + 16.0, 18.0, "Received", "start"));
    c.rects.push(rect(LEFT + 100.0, 8.0, 12.0, 12.0, OUT_FILL, "Sent".into()));
    c.labels.push(label(LEFT + 116.0, 18.0, "Sent", "start"));
    c
}

/// Conversations per first-response bucket.
pub fn first_response(r: &Report) -> Chart {
    let s = &r.current.first_response;
    let median =
        s.median_secs.map_or_else(|| "no answered conversations".into(), |m| format!("median {}", duration(m)));
    let mut c = Chart {
        id: "chart-first-response",
        title: "Time to first response".into(),
        desc: format!("Histogram of {} conversations by time to the practice's first reply; {median}.", s.count),
        width: W as u32,
        height: H as u32,
        rects: vec![],
        labels: vec![],
        lines: vec![],
    };
    let y_of = frame(&mut c, s.buckets.iter().copied().max().unwrap_or(0), "Time to first response", "Conversations");
    let slot = (W - LEFT - RIGHT) / 6.0;
    for (i, (n, l)) in s.buckets.iter().zip(DISPLAY_LABELS).enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let y = y_of(*n);
        c.rects.push(rect(x, y, slot * 0.7, H - BOTTOM - y, IN_FILL, format!("{l}: {n} conversations")));
        c.labels.push(label(x + slot * 0.35, H - BOTTOM + 16.0, l, "middle"));
        c.labels.push(label(x + slot * 0.35, y - 4.0, n.to_string(), "middle"));
    }
    c
}

/// Texts received by weekday (rows) and hour (columns), darker for more.
pub fn heat(r: &Report) -> Chart {
    let max = r.heat.iter().flatten().copied().max().unwrap_or(0);
    let busiest = r
        .heat
        .iter()
        .enumerate()
        .flat_map(|(d, hours)| hours.iter().enumerate().map(move |(h, v)| (*v, d, h)))
        .max()
        .filter(|(v, _, _)| *v > 0)
        .map_or_else(|| "no texts received".into(), |(v, d, h)| format!("busiest: {} {h:02}:00 with {v}", WEEKDAYS[d]));
    let (left, top, cell_w, cell_h) = (96.0, 24.0, 25.0, 24.0);
    let mut c = Chart {
        id: "chart-heat",
        title: "When patients text".into(),
        desc: format!("Heat map of texts received by weekday and hour of day in practice time; {busiest}."),
        width: (left + cell_w * 24.0 + 8.0) as u32,
        height: (top + cell_h * 7.0 + 40.0) as u32,
        rects: vec![],
        labels: vec![],
        lines: vec![],
    };
    for (d, hours) in r.heat.iter().enumerate() {
        let y = top + cell_h * d as f64;
        c.labels.push(label(left - 6.0, y + cell_h * 0.65, WEEKDAYS[d], "end"));
        for (h, v) in hours.iter().enumerate() {
            let x = left + cell_w * h as f64;
            let mut cell =
                rect(x, y, cell_w - 2.0, cell_h - 2.0, IN_FILL, format!("{} {h:02}:00: {v} texts", WEEKDAYS[d]));
            let share = if max == 0 { 0.0 } else { *v as f64 / max as f64 };
            cell.opacity = format!("{:.2}", 0.06 + 0.94 * share);
            c.rects.push(cell);
        }
    }
    for h in (0..24).step_by(3) {
        c.labels.push(label(left + cell_w * h as f64 + cell_w / 2.0, top - 8.0, format!("{h:02}"), "middle"));
    }
    let bottom = top + cell_h * 7.0;
    c.labels.push(label(left + cell_w * 12.0, bottom + 28.0, "Hour of day (practice time)", "middle"));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice(0), (4, 1));
        assert_eq!(nice(7), (8, 2));
        assert_eq!(nice(37), (40, 10));
        assert_eq!(nice(1234), (2000, 500));
    }
}
