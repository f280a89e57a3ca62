//! Several instances on one PostgreSQL (issue: scale out): a live event crosses instances,
//! both dispatch from one outbox without sending anything twice, and when one dies mid-send
//! the other finishes its work without loss or duplicate. Skipped without
//! `FRONTDESK_TEST_POSTGRES_URL` (each test creates and drops its own database).

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::json;
use sqlx::Connection as _;

use crate::support::{FakeTwilio, Options, Shared, TestApp};

struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    async fn create() -> Option<Database> {
        let admin = std::env::var("FRONTDESK_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty());
        let Some(admin) = admin else {
            eprintln!("skipped: set FRONTDESK_TEST_POSTGRES_URL to run the several-instance tests");
            return None;
        };
        let name = format!("fd_cluster_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(&admin).await.expect("connect to FRONTDESK_TEST_POSTGRES_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.unwrap();
        c.close().await.ok();
        let base = admin.split('?').next().unwrap_or(&admin);
        let url = match base.rfind('/') {
            Some(i) if i > "postgres://".len() => format!("{}/{name}", &base[..i]),
            _ => format!("{base}/{name}"),
        };
        Some(Database { admin, name, url })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

async fn two_instances(db: &Database, lease_secs: u64) -> (TestApp, TestApp) {
    let shared = Shared {
        database_url: db.url.clone(),
        master_key: frontdesk_store::MasterKey::generate().to_base64(),
        twilio: FakeTwilio::start().await,
    };
    let a = TestApp::start_with(Options { shared: Some(shared.clone()), lease_secs, ..Options::default() }).await;
    let b = TestApp::start_with(Options { shared: Some(shared), lease_secs, ..Options::default() }).await;
    (a, b)
}

/// Our message id in each Create Message the fake received (from the StatusCallback URL).
fn sends_per_message(twilio: &FakeTwilio) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in twilio.requests() {
        let callback = r.field("StatusCallback").unwrap_or_default().to_string();
        let id = callback.split("m=").nth(1).unwrap_or_default().to_string();
        *out.entry(id).or_default() += 1;
    }
    out
}

async fn queue(app: &TestApp, n: usize, tag: &str) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let to = format!("+1212736{:04}", i % 10_000);
        let (status, body) =
            app.api_post("/api/v1/messages", json!({"to": to, "body": format!("Reminder {tag} {i}"), "consent_basis": "verbal", "consent_note": "test"})).await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_text_received_by_one_instance_appears_live_on_the_other() {
    let Some(db) = Database::create().await else { return };
    let (a, b) = two_instances(&db, 300).await;
    let response = b.http.get(b.url("/api/v1/events")).bearer_auth(&b.token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    // Let B's relay start listening before A publishes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ack = a.inbound("SM70000000000000000000000000000001", "+12127365070", "hello from the waiting room").await;
    assert_eq!(ack.status(), 200);
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("message_received") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("instance B announces A's message within 10 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!seen.contains("waiting room"), "events carry ids only");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_instances_dispatch_one_outbox_and_nothing_is_sent_twice() {
    let Some(db) = Database::create().await else { return };
    let (a, b) = two_instances(&db, 300).await;
    let (mut ids, more) = tokio::join!(queue(&a, 500, "a"), queue(&b, 500, "b"));
    ids.extend(more);
    let twilio = a.twilio.clone();
    a.eventually("all 1,000 messages to reach the provider", || async {
        (twilio.accepted_count() >= 1000).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sends = sends_per_message(&twilio);
    assert_eq!(sends.len(), 1000, "every message reached the provider");
    assert!(sends.values().all(|n| *n == 1), "a message was sent twice: {:?}", sends.iter().find(|(_, n)| **n > 1));
    for id in &ids {
        assert_eq!(sends.get(id), Some(&1), "message {id}");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_one_instance_dies_mid_send_the_other_finishes_without_loss_or_duplicate() {
    let Some(db) = Database::create().await else { return };
    // Short leases so the survivor reclaims the dead instance's jobs quickly.
    let (a, b) = two_instances(&db, 6).await;
    let twilio = a.twilio.clone();
    // Slow the provider down so the kill lands while sends are in flight.
    for _ in 0..40 {
        twilio.push(crate::support::Reply::SlowAccept(Duration::from_millis(300)));
    }
    let ids = queue(&a, 300, "k").await;
    a.eventually("the first sends", || async { (twilio.accepted_count() >= 20).then_some(()) }).await;
    let _ = a.kill();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut done = 0;
        for id in &ids {
            let m = b.message(id).await;
            if ["sent", "delivered"].contains(&m["status"].as_str().unwrap_or_default()) || m["needs_review"] == true {
                done += 1;
            }
        }
        if done == ids.len() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {done} of {} finished after the kill", ids.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let sends = sends_per_message(&twilio);
    let twice: Vec<_> = sends.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    for id in &ids {
        let m = b.message(id).await;
        assert!(
            sends.get(id) == Some(&1) || m["needs_review"] == true,
            "message {id} was neither sent once nor flagged for review: {m}"
        );
    }
    b.stop().await;
}
