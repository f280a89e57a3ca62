//! Coordination between instances sharing one database: the singleton role (advisory lock)
//! and the broadcast channel live events travel on. PostgreSQL only (skipped without
//! `FRONTDESK_TEST_POSTGRES_URL`); on SQLite one process owns the database, which the last
//! test pins down.

mod support;

use std::time::Duration;

use support::{Harness, Kind};

async fn pg() -> Option<Harness> {
    let h = Harness::new(Kind::Postgres).await;
    if h.is_none() {
        eprintln!("skipped: set {} to run the PostgreSQL cluster tests", support::PG_ENV);
    }
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_instance_holds_a_singleton_and_another_takes_over_when_it_goes() {
    let Some(h) = pg().await else { return };
    let other = h.reopen_with(&h.key).await;

    let mut lease = h.store.try_singleton("scheduler").await.unwrap().expect("the first asker gets the role");
    assert!(lease.still_held().await);
    assert!(other.try_singleton("scheduler").await.unwrap().is_none(), "a second instance must wait");
    // Another role is independent.
    let unrelated = other.try_singleton("retention").await.unwrap();
    assert!(unrelated.is_some());

    // The holder dies (its connection closes): the role frees itself.
    drop(lease);
    let mut taken = None;
    for _ in 0..50 {
        if let Some(l) = other.try_singleton("scheduler").await.unwrap() {
            taken = Some(l);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut taken = taken.expect("the standby instance takes the role over");
    assert!(taken.still_held().await);
    assert!(h.store.try_singleton("scheduler").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broadcasts_reach_every_listening_instance() {
    let Some(h) = pg().await else { return };
    let other = h.reopen_with(&h.key).await;
    let mut mine = h.store.listen().await.unwrap().expect("PostgreSQL listens");
    let mut theirs = other.listen().await.unwrap().expect("PostgreSQL listens");

    h.store.broadcast(r#"{"hello":"from A"}"#).await.unwrap();
    other.broadcast("from B").await.unwrap();

    let mut got_a = Vec::new();
    let mut got_b = Vec::new();
    for _ in 0..2 {
        got_a.push(tokio::time::timeout(Duration::from_secs(5), mine.recv()).await.unwrap().unwrap());
        got_b.push(tokio::time::timeout(Duration::from_secs(5), theirs.recv()).await.unwrap().unwrap());
    }
    got_a.sort();
    got_b.sort();
    assert_eq!(got_a, vec!["from B".to_string(), r#"{"hello":"from A"}"#.to_string()]);
    assert_eq!(got_a, got_b);
}

#[tokio::test]
async fn sqlite_is_always_the_singleton_and_has_no_one_to_tell() {
    let h = Harness::new(Kind::Sqlite).await.unwrap();
    let mut a = h.store.try_singleton("scheduler").await.unwrap().unwrap();
    assert!(a.still_held().await);
    assert!(h.store.listen().await.unwrap().is_none());
    h.store.broadcast("nobody hears this").await.unwrap();
}
