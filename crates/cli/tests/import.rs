//! `frontdesk import patients` against a real data directory: the report, the progress on
//! stderr, re-imports that update, and (run explicitly by `.ci/run`) 100,000 rows.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

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

fn count_patients(data_dir: &Path) -> i64 {
    let db = rusqlite::Connection::open(data_dir.join("frontdesk.db")).unwrap();
    db.query_row("SELECT COUNT(*) FROM patients", [], |r| r.get(0)).unwrap()
}

#[test]
fn import_reports_each_rejected_row_and_reimport_updates() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("patients.csv");
    let mut csv = b"Pt First,Pt Last,dob,mrn,phone\n\
        Ana,Lopez,1984-07-31,A-1,+14155550101\n\
        Bo,,1990-01-01,A-2,\n\
        Cy,Diaz,1990-02-30,A-3,\n\
        Di,Eve,2001-02-03,A-4,12\n\
        Ana,Lopez,1984-07-31,A-1,\n"
        .to_vec();
    csv.extend_from_slice(b"Jos\xE9,Diaz,1970-01-01,A-6,\n");
    std::fs::write(&file, &csv).unwrap();
    let path = file.to_str().unwrap();
    let map = ["--map", "Pt First=first_name", "--map", "Pt Last=last_name"];

    let dry = frontdesk(&data, &[&["import", "patients", path, "--dry-run"], &map[..]].concat());
    let out = text(&dry.stdout);
    assert!(dry.status.success(), "{out}\n{}", text(&dry.stderr));
    assert!(out.contains("1 would be created"), "{out}");
    for expected in [
        "rejected line 3: missing last_name",
        "rejected line 4: bad birth_date",
        "rejected line 5: bad phone in column phone",
        "rejected line 6: duplicate of line 2",
        "rejected line 7: wrong encoding",
        "create line 2",
        "Dry run: nothing was written.",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(text(&dry.stderr).contains("progress: 1/1 rows (100%)"), "{}", text(&dry.stderr));
    assert_eq!(count_patients(&data), 0);

    let real = frontdesk(&data, &[&["import", "patients", path], &map[..]].concat());
    assert!(real.status.success(), "{}", text(&real.stderr));
    assert!(text(&real.stdout).contains("1 created"), "{}", text(&real.stdout));
    assert_eq!(count_patients(&data), 1);

    std::fs::write(&file, "first_name,last_name,dob,mrn,language\nAna,Lopez,,A-1,es\n").unwrap();
    let again = frontdesk(&data, &["import", "patients", path]);
    let out = text(&again.stdout);
    assert!(out.contains("1 updated") && out.contains("update line 2 (matched by Mrn)"), "{out}");
    assert_eq!(count_patients(&data), 1, "re-import updates instead of duplicating");

    let bad_map = frontdesk(&data, &["import", "patients", path, "--map", "x=shoe_size"]);
    assert!(!bad_map.status.success());
    assert!(text(&bad_map.stderr).contains("unknown field"), "{}", text(&bad_map.stderr));
}

/// 100,000 rows (every 1,000th bad) into a real data directory, with progress, then the same
/// file again as a dry run. Over a minute in a debug build, so `.ci/run` runs it as its own
/// step: `cargo test -p frontdesk --test import -- --ignored`.
#[test]
#[ignore = "100,000 rows: its own .ci/run step"]
fn import_100k_rows_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("patients.csv");
    let mut csv = String::from("first_name,last_name,dob,mrn,phone\n");
    for i in 0..100_000u32 {
        if i % 1000 == 999 {
            csv.push_str(&format!("Bad{i},Row,not-a-date,B{i},\n"));
        } else {
            let phone = format!("+1415{:07}", 2_000_000 + i);
            let dob = format!("19{:02}-{:02}-{:02}", 30 + i % 70, 1 + i % 12, 1 + i % 28);
            csv.push_str(&format!("First{i},Last{i},{dob},M{i:07},{phone}\n"));
        }
    }
    std::fs::write(&file, csv).unwrap();
    let started = Instant::now();
    let out = frontdesk(&data, &["import", "patients", file.to_str().unwrap()]);
    let took = started.elapsed();
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("100000 rows read (Csv): 99900 created, 0 updated, 0 unchanged, 100 rejected."),
        "{stdout}"
    );
    assert!(stdout.contains("rejected line 1001: bad birth_date"), "{stdout}");
    let progress: Vec<&str> = stderr.lines().filter(|l| l.starts_with("progress: ")).collect();
    assert!(progress.len() >= 10, "progress is shown while importing: {stderr}");
    assert_eq!(progress.last().copied(), Some("progress: 99900/99900 rows (100%)"));
    assert_eq!(count_patients(&data), 99_900);
    eprintln!("imported 100,000 rows in {took:?}");
    // Generous: catches a batching regression (row-by-row writes), not machine speed.
    assert!(took < Duration::from_secs(600), "took {took:?}");

    // The same file again, as a dry run: every row matches its patient (by MRN), none is new.
    let started = Instant::now();
    let again = frontdesk(&data, &["import", "patients", file.to_str().unwrap(), "--dry-run"]);
    let stdout = text(&again.stdout);
    assert!(again.status.success(), "{stdout}\n{}", text(&again.stderr));
    assert!(
        stdout
            .contains("100000 rows read (Csv): 0 would be created, 0 would be updated, 99900 unchanged, 100 rejected."),
        "{}",
        &stdout[..stdout.len().min(2000)]
    );
    eprintln!("checked 100,000 rows against 99,900 patients in {:?}", started.elapsed());
    assert_eq!(count_patients(&data), 99_900);
}
