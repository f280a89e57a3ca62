//! Phrase detection measured on labelled sets of realistic patient messages
//! (`tests/data/*.tsv`): precision and recall are printed (`cargo test -- --nocapture`), and
//! the rules that matter are enforced: urgency recall 100%, clear-revocation precision 100%.

use frontdesk_domain::keywords::{Keyword, Revocation, classify_keyword, detect_free_text_revocation};
use frontdesk_domain::urgency::UrgencyRules;

fn load(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('\t').unwrap_or_else(|| panic!("no tab in line {l:?}")))
        .collect()
}

struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fp) as f64 }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fn_) as f64 }
    }
    fn print(&self, name: &str, total: usize) {
        println!(
            "{name}: {total} messages, precision {:.1}% ({} / {}), recall {:.1}% ({} / {})",
            self.precision() * 100.0,
            self.tp,
            self.tp + self.fp,
            self.recall() * 100.0,
            self.tp,
            self.tp + self.fn_
        );
    }
}

#[test]
fn urgency_recall_is_total_on_the_labelled_set() {
    let set = load(include_str!("data/urgency_messages.tsv"));
    assert!(set.len() >= 200, "the set must hold at least 200 messages");
    let rules = UrgencyRules::default();
    let mut counts = Counts { tp: 0, fp: 0, fn_: 0 };
    let mut missed = Vec::new();
    let mut false_alarms = Vec::new();
    for (label, message) in &set {
        let urgent = *label == "U";
        assert!(urgent || *label == "N", "unknown label {label}");
        let flagged = rules.first(message).is_some();
        match (urgent, flagged) {
            (true, true) => counts.tp += 1,
            (false, true) => {
                counts.fp += 1;
                false_alarms.push(*message);
            }
            (true, false) => {
                counts.fn_ += 1;
                missed.push(*message);
            }
            (false, false) => {}
        }
    }
    counts.print("urgency", set.len());
    for m in &false_alarms {
        println!("  false alarm: {m}");
    }
    assert!(missed.is_empty(), "urgent messages missed: {missed:#?}");
}

#[test]
fn clear_revocation_precision_is_total_on_the_labelled_set() {
    let set = load(include_str!("data/revocation_messages.tsv"));
    assert!(set.len() >= 200, "the set must hold at least 200 messages");
    let mut clear = Counts { tp: 0, fp: 0, fn_: 0 };
    let mut any = Counts { tp: 0, fp: 0, fn_: 0 };
    let mut wrong_clear = Vec::new();
    let mut report = Vec::new();
    for (label, message) in &set {
        assert!(matches!(*label, "C" | "U" | "N"), "unknown label {label}");
        // What the system does: a message that is only an opt-out keyword ("Opt out",
        // "cancel") is a carrier keyword and honoured as such; other texts go to the detector.
        let verdict = if classify_keyword(message) == Some(Keyword::OptOut) {
            Some(Revocation::Clear)
        } else {
            detect_free_text_revocation(message)
        };
        let is_clear = verdict == Some(Revocation::Clear);
        match (*label == "C", is_clear) {
            (true, true) => clear.tp += 1,
            (false, true) => {
                clear.fp += 1;
                wrong_clear.push(*message);
            }
            (true, false) => {
                clear.fn_ += 1;
                report.push(format!("  clear not recognised ({verdict:?}): {message}"));
            }
            (false, false) => {}
        }
        let labelled_any = *label != "N";
        match (labelled_any, verdict.is_some()) {
            (true, true) => any.tp += 1,
            (false, true) => {
                any.fp += 1;
                report.push(format!("  flagged but not a revocation ({verdict:?}): {message}"));
            }
            (true, false) => {
                any.fn_ += 1;
                report.push(format!("  revocation missed: {message}"));
            }
            (false, false) => {}
        }
    }
    clear.print("revocation (Clear)", set.len());
    any.print("revocation (Clear or Unclear)", set.len());
    for line in &report {
        println!("{line}");
    }
    assert!(wrong_clear.is_empty(), "messages wrongly taken as a clear revocation: {wrong_clear:#?}");
}
