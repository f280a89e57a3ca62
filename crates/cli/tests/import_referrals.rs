//! `frontdesk import referrals` against a real data directory: the report naming each rejected
//! row, the progress, a dry run that writes nothing, then the import.

use std::path::Path;
use std::process::{Command, Output};

fn frontdesk(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FRONTDESK_DATA_DIR", data_dir)
        .env("FRONTDESK_LOG", "warn")
        .output()
        .expect("the frontdesk binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn count(data_dir: &Path, table: &str) -> i64 {
    let db = rusqlite::Connection::open(data_dir.join("frontdesk.db")).unwrap();
    db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

#[test]
fn import_referrals_names_bad_rows_and_keeps_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("referrals.csv");
    std::fs::write(
        &file,
        "first_name,last_name,phone,source,reason\n\
         Ana,Lopez,+14155550101,Valley Cardiology,Consult\n\
         Bo,Diaz,+14155550102,,Knee\n\
         Cy,Eve,12,Hillside Clinic,Back\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();

    let dry = frontdesk(&data, &["import", "referrals", path, "--dry-run"]);
    let out = text(&dry.stdout);
    assert!(dry.status.success(), "{out}\n{}", text(&dry.stderr));
    for expected in [
        "1 referrals would be created",
        "rejected line 3: missing source",
        "rejected line 4: bad phone in column phone",
        "referral line 2 (new patient)",
        "Dry run: nothing was written.",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(text(&dry.stderr).contains("progress: 1/1 referrals (100%)"), "{}", text(&dry.stderr));
    assert_eq!(count(&data, "referrals"), 0);

    let run = frontdesk(&data, &["import", "referrals", path]);
    let out = text(&run.stdout);
    assert!(run.status.success(), "{out}\n{}", text(&run.stderr));
    assert!(out.contains("1 referrals created (1 new prospective patients, 0 matched), 2 rejected."), "{out}");
    assert_eq!(count(&data, "referrals"), 1);
    assert_eq!(count(&data, "referral_events"), 1);
}
