//! `frontdesk audit verify` on a real data directory: intact after ordinary commands, and after
//! an attacker with the database file drops the append-only triggers and alters, deletes or
//! inserts an entry, it exits non-zero naming the entry and what happened.

use std::path::Path;
use std::process::{Command, Output};

fn frontdesk(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .env("FRONTDESK_DATA_DIR", data_dir)
        .env("FRONTDESK_LOG", "warn")
        .env_remove("FRONTDESK_DATABASE_URL")
        .output()
        .expect("run frontdesk")
}

/// A data directory whose audit log holds three chained entries.
fn practice() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["Front desk", "Billing", "Nursing"] {
        let out = frontdesk(dir.path(), &["department", "add", name]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    dir
}

fn db(dir: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(dir.join("frontdesk.db")).unwrap();
    c.execute_batch(
        "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; \
         DROP TRIGGER audit_head_no_delete; DROP TRIGGER audit_head_forward_only;",
    )
    .unwrap();
    c
}

fn id_at(c: &rusqlite::Connection, seq: i64) -> uuid::Uuid {
    let bytes: Vec<u8> = c.query_row("SELECT id FROM audit_events WHERE seq = ?1", [seq], |r| r.get(0)).unwrap();
    uuid::Uuid::from_slice(&bytes).unwrap()
}

fn verify_fails(dir: &Path) -> String {
    let out = frontdesk(dir, &["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "verify passed a tampered log: {stderr}");
    stderr
}

#[test]
fn intact_log_verifies() {
    let dir = practice();
    let out = frontdesk(dir.path(), &["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("audit log intact: 3 entries verified"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("checked 3 chained entries"));
}

#[test]
fn altered_entry_is_named() {
    let dir = practice();
    let c = db(dir.path());
    c.execute("UPDATE audit_events SET ip = '203.0.113.66' WHERE seq = 2", []).unwrap();
    let id = id_at(&c, 2);
    let stderr = verify_fails(dir.path());
    assert!(stderr.contains("altered: entry seq 2") && stderr.contains(&id.to_string()), "{stderr}");
}

#[test]
fn deleted_entry_is_named() {
    let dir = practice();
    let c = db(dir.path());
    let next = id_at(&c, 3);
    c.execute("DELETE FROM audit_events WHERE seq = 2", []).unwrap();
    let stderr = verify_fails(dir.path());
    assert!(stderr.contains("deleted: entry seq 2 is missing") && stderr.contains(&next.to_string()), "{stderr}");

    // Truncating the tail is noticed through the head.
    let dir = practice();
    db(dir.path()).execute("DELETE FROM audit_events WHERE seq = 3", []).unwrap();
    let stderr = verify_fails(dir.path());
    assert!(stderr.contains("deleted: the chain ends at seq 2 but its head records seq 3"), "{stderr}");
}

#[test]
fn inserted_entry_is_named() {
    let dir = practice();
    let c = db(dir.path());
    let forged = uuid::Uuid::now_v7();
    c.execute(
        "INSERT INTO audit_events (id, at, actor, action, seq, prev_hash, hash) \
         SELECT ?1, at, actor, 'user.create', 4, hash, hash FROM audit_events WHERE seq = 3",
        [forged.as_bytes().to_vec()],
    )
    .unwrap();
    let stderr = verify_fails(dir.path());
    assert!(stderr.contains("inserted: entry seq 4") && stderr.contains(&forged.to_string()), "{stderr}");
}
