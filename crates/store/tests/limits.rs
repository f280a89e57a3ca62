//! Limits shared by every instance on one database: send slots per sender (GCRA) and
//! fixed-window counters. Run on SQLite always and on PostgreSQL when configured.

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use frontdesk_domain::E164;
use frontdesk_domain::model::*;
use frontdesk_store::Store;

use support::{Harness, t, w};

conformance!(
    send_slots_are_spaced_by_the_interval,
    concurrent_reservations_never_share_a_slot,
    counters_use_fixed_windows
);

async fn number(store: &Arc<dyn Store>) -> PracticeNumber {
    let n = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+12125550188").unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        default_department_id: None,
        rate_limit_per_sec: 1.0,
        created_at: t(0),
    };
    let stored = n.clone();
    w(store, move |tx| Box::pin(async move { tx.insert_number(&stored).await })).await.unwrap();
    n
}

async fn reserve(store: &Arc<dyn Store>, id: NumberId, interval_us: i64, now_us: i64) -> i64 {
    w(store, move |tx| Box::pin(async move { tx.reserve_send_slot(id, interval_us, now_us).await })).await.unwrap()
}

async fn send_slots_are_spaced_by_the_interval(h: Harness) {
    let n = number(&h.store).await;
    // An idle sender may send at once; the next ones queue one interval apart.
    assert_eq!(reserve(&h.store, n.id, 1_000, 5_000_000).await, 5_000_000);
    assert_eq!(reserve(&h.store, n.id, 1_000, 5_000_000).await, 5_001_000);
    assert_eq!(reserve(&h.store, n.id, 1_000, 5_000_100).await, 5_002_000);
    // After a quiet spell the schedule starts from now, with no burst of saved-up slots.
    assert_eq!(reserve(&h.store, n.id, 1_000, 9_000_000).await, 9_000_000);
    assert_eq!(reserve(&h.store, n.id, 1_000, 9_000_000).await, 9_001_000);
    // Another sender has its own schedule.
    let other = PracticeNumber { id: new_id(), e164: E164::parse_strict("+12125550189").unwrap(), ..n.clone() };
    let stored = other.clone();
    w(&h.store, move |tx| Box::pin(async move { tx.insert_number(&stored).await })).await.unwrap();
    assert_eq!(reserve(&h.store, other.id, 1_000, 9_000_000).await, 9_000_000);
}

async fn concurrent_reservations_never_share_a_slot(h: Harness) {
    let n = number(&h.store).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..25 {
                got.push(reserve(&store, n.id, 500, 1_000_000).await);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), 200, "two reservations got the same slot");
    all.sort();
    assert_eq!(all.first(), Some(&1_000_000));
    assert!(all.windows(2).all(|p| p[1] - p[0] == 500), "slots are exactly one interval apart");
}

async fn counters_use_fixed_windows(h: Harness) {
    let hit = |key: &'static str, now: i64| {
        let store = h.store.clone();
        async move { w(&store, move |tx| Box::pin(async move { tx.hit_counter(key, now, 60_000).await })).await.unwrap() }
    };
    assert_eq!(h.store.counter("ip:1", 1_000, 60_000).await.unwrap(), 0);
    assert_eq!(hit("ip:1", 1_000).await, 1);
    assert_eq!(hit("ip:1", 2_000).await, 2);
    assert_eq!(hit("ip:1", 60_999).await, 3);
    assert_eq!(h.store.counter("ip:1", 60_999, 60_000).await.unwrap(), 3);
    assert_eq!(hit("ip:2", 2_000).await, 1, "keys are independent");
    // The window that began at 1,000 is over at 61,000: counting starts again.
    assert_eq!(h.store.counter("ip:1", 61_000, 60_000).await.unwrap(), 0);
    assert_eq!(hit("ip:1", 61_000).await, 1);
    assert_eq!(h.store.counter("ip:1", 61_500, 60_000).await.unwrap(), 1);
}
