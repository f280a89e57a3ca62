//! Progress of a long import on stderr: a bar on a terminal, and one line per tenth otherwise
//! (a pipe, a test), so the progress is visible either way.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct ImportProgress {
    bar: indicatif::ProgressBar,
    plain: bool,
    last_tenth: AtomicUsize,
    /// What is counted: "rows", "referrals".
    unit: &'static str,
}

impl ImportProgress {
    pub fn new(dry_run: bool, unit: &'static str) -> ImportProgress {
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{prefix}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left)"
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(if dry_run { "Checking" } else { "Importing" });
        ImportProgress { bar, plain: !std::io::stderr().is_terminal(), last_tenth: AtomicUsize::new(usize::MAX), unit }
    }

    pub fn report(&self, done: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        if self.plain && total > 0 {
            let tenth = done * 10 / total;
            if self.last_tenth.swap(tenth, Ordering::Relaxed) != tenth {
                eprintln!("progress: {done}/{total} {} ({}%)", self.unit, done * 100 / total);
            }
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
