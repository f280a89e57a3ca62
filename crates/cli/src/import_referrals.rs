//! `frontdesk import referrals FILE [--dry-run] [--json]`: a CSV (patient columns plus
//! `source` and `reason`) or a FHIR R4 Bundle of ServiceRequest + Patient, with the same
//! progress bar and report style as `import patients`.

use frontdesk_services::audit::Actor;
use frontdesk_services::patient_import::{ImportOptions, RowAction};

use frontdesk_server::app::Core;

pub async fn run(core: &Core, bytes: &[u8], dry_run: bool, json: bool) -> anyhow::Result<()> {
    let progress = crate::progress::ImportProgress::new(dry_run, "referrals");
    let options = ImportOptions { mapping: Vec::new(), dry_run };
    let report = core
        .services
        .import_referrals(bytes, &options, Actor::System, None, &|done, total| progress.report(done, total))
        .await;
    progress.finish();
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
