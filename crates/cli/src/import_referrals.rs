//! `frontdesk import referrals FILE [--dry-run] [--json]`: a CSV (patient columns plus
//! `source` and `reason`) or a FHIR R4 Bundle of ServiceRequest + Patient, with the same
//! progress bar and report style as `import patients`.

use std::io::IsTerminal as _;

use frontdesk_services::audit::Actor;
use frontdesk_services::patient_import::{ImportOptions, RowAction};

use frontdesk_server::app::Core;

pub async fn run(core: &Core, bytes: &[u8], dry_run: bool, json: bool) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} referrals ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(if dry_run { "Checking" } else { "Importing" });
    let plain = !std::io::stderr().is_terminal();
    let last_tenth = std::sync::atomic::AtomicUsize::new(usize::MAX);
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        if plain && total > 0 {
            let tenth = done * 10 / total;
            if last_tenth.swap(tenth, std::sync::atomic::Ordering::Relaxed) != tenth {
                eprintln!("progress: {done}/{total} referrals ({}%)", done * 100 / total);
            }
        }
    };
    let options = ImportOptions { mapping: Vec::new(), dry_run };
    let report = core.services.import_referrals(bytes, &options, Actor::System, None, &progress).await;
    bar.finish_and_clear();
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let would = if dry_run { "would be " } else { "" };
    let place = match report.format {
        frontdesk_domain::patient_import::Format::Csv => "line",
        frontdesk_domain::patient_import::Format::Fhir => "entry",
    };
    println!(
        "{} rows read ({:?}): {} referrals {would}created ({} new prospective patients, {} matched), {} rejected.",
        report.rows,
        report.format,
        report.created,
        report.patients_created,
        report.patients_matched,
        report.rejected.len()
    );
    if !report.ignored_columns.is_empty() {
        println!("Ignored columns: {}", report.ignored_columns.join(", "));
    }
    for r in &report.rejected {
        println!("rejected {place} {}: {}", r.line, r.reason);
    }
    for o in report.referrals.iter().take(200) {
        let who = match o.patient {
            RowAction::Created => "new patient".to_string(),
            _ => o.matched_by.map(|b| format!("matched by {b:?}")).unwrap_or_else(|| "matched".into()),
        };
        println!("referral {place} {} ({who})", o.line);
    }
    if report.referrals.len() > 200 {
        println!("… and {} more referrals (use --json for all)", report.referrals.len() - 200);
    }
    if dry_run {
        println!("Dry run: nothing was written.");
    }
    Ok(())
}
