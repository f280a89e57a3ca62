//! Durable single-operation writes per second through `Store::write` on SQLite, with 1, 16
//! and 256 concurrent writers. Each write is one inbound-like closure (claim a receipt and
//! insert an audit row) and is answered only after its batch's `COMMIT` (an fsync with
//! `synchronous=FULL`), so the figures show group commit at work: with one writer every
//! write pays a full fsync; with many, writers share them.
//!
//! `cargo run --release -p frontdesk-store --example write_rate [seconds per run]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use frontdesk_domain::model::{AuditEvent, ProviderKind, new_id};
use frontdesk_store::{MasterKey, Store, Vault};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("rate.db").display());
    let store = frontdesk_store::connect(&url, Arc::new(Vault::new(&MasterKey::generate()))).await.expect("open store");
    println!(
        "durable writes through Store::write on SQLite (WAL, synchronous=FULL), {seconds}s per run, db in {}",
        dir.path().display()
    );
    let mut baseline = None;
    for writers in [1usize, 16, 256] {
        let rate = measure(&store, writers, Duration::from_secs(seconds)).await;
        let base = *baseline.get_or_insert(rate);
        println!("{writers:>4} concurrent writers: {rate:>9.0} ops/s  ({:.1}x the single writer)", rate / base);
    }
}

async fn measure(store: &Arc<dyn Store>, writers: usize, length: Duration) -> f64 {
    let start = Instant::now();
    let deadline = start + length;
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let provider_id = format!("SM{}", new_id().simple());
                frontdesk_store::write(&*store, move |tx| {
                    Box::pin(async move {
                        let now = Utc::now();
                        tx.claim_provider_receipt(ProviderKind::Simulator, &provider_id, now).await?;
                        tx.insert_audit(&AuditEvent {
                            id: new_id(),
                            at: now,
                            actor: "bench".into(),
                            action: "write_rate".into(),
                            target: Some(provider_id),
                            ip: None,
                            detail: None,
                        })
                        .await
                    })
                })
                .await
                .expect("write");
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("writer task");
    }
    total as f64 / start.elapsed().as_secs_f64()
}
