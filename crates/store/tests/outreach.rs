//! Conformance scenarios for outreach: scheduled messages (sealed body round trip, due listing,
//! claim exactly once even when two writers race, defer, cancel, automated send times) and
//! broadcasts with their recipients. SQLite always; PostgreSQL when
//! `FRONTDESK_TEST_POSTGRES_URL` is set.

mod support;

use std::sync::Arc;

use frontdesk_domain::E164;
use frontdesk_domain::model::*;
use frontdesk_store::outreach::{
    Broadcast, BroadcastRecipient, KIND_AUTOMATED, KIND_STAFF, RECIPIENT_SKIPPED, SCHEDULED_CANCELLED,
    SCHEDULED_PENDING, SCHEDULED_SENT,
};
use frontdesk_store::{ScheduledMessage, Store};

use support::{Harness, t, w};

conformance!(scheduled_messages_are_claimed_once_deferred_and_cancelled, broadcasts_keep_their_recipients);

async fn conversation(store: &Arc<dyn Store>) -> (Conversation, ContactId) {
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+12125550001").unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        default_department_id: None,
        rate_limit_per_sec: 1.0,
        created_at: t(1),
    };
    w(store, move |tx| {
        Box::pin(async move {
            tx.insert_number(&number).await?;
            let contact = tx.upsert_contact(&E164::parse_strict("+14155550001").unwrap(), t(2)).await?;
            let thread = tx.upsert_thread_for_update(number.id, contact.id, t(3)).await?;
            let conversation = Conversation::open(thread.id, None, t(4));
            tx.insert_conversation(&conversation).await?;
            Ok((conversation, contact.id))
        })
    })
    .await
    .unwrap()
}

fn scheduled(c: &Conversation, contact: ContactId, kind: &str, at: i64) -> ScheduledMessage {
    ScheduledMessage {
        id: new_id(),
        conversation_id: c.id,
        contact_id: contact,
        body: format!("Reminder {at}: bring your card ✓"),
        kind: kind.into(),
        sender: SenderKind::Automation,
        created_by: None,
        send_at: t(at),
        requested_at: t(at),
        status: SCHEDULED_PENDING.into(),
        reason: None,
        message_id: None,
        created_at: t(5),
        updated_at: t(5),
    }
}

async fn scheduled_messages_are_claimed_once_deferred_and_cancelled(h: Harness) {
    let s = h.store.clone();
    let (c, contact) = conversation(&s).await;
    let first = scheduled(&c, contact, KIND_AUTOMATED, 100);
    let second = scheduled(&c, contact, KIND_STAFF, 200);
    let third = scheduled(&c, contact, KIND_STAFF, 300);
    let rows = vec![first.clone(), second.clone(), third.clone()];
    w(&s, move |tx| {
        Box::pin(async move {
            for r in &rows {
                tx.insert_scheduled(r).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(s.scheduled_message(first.id).await.unwrap(), Some(first.clone()), "the sealed body opens");
    assert_eq!(s.conversation_scheduled(c.id).await.unwrap().len(), 3);
    let due: Vec<_> = s.due_scheduled(t(250), 10).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(due, vec![first.id, second.id]);

    // Two writers race for the first: exactly one claims it.
    let (a, b) = tokio::join!(
        w(&s, move |tx| Box::pin(async move { tx.claim_scheduled(first.id, t(260)).await })),
        w(&s, move |tx| Box::pin(async move { tx.claim_scheduled(first.id, t(260)).await })),
    );
    assert!(a.unwrap() ^ b.unwrap(), "exactly one claim succeeds");
    let (fid, sid, tid) = (first.id, second.id, third.id);
    w(&s, move |tx| {
        Box::pin(async move {
            tx.finish_scheduled(fid, SCHEDULED_SENT, None, None, t(261)).await?;
            // Deferring moves a pending row; a sent one stays as it is.
            assert!(tx.defer_scheduled(sid, t(5_000), "deferred: quiet hours", t(262)).await?);
            assert!(!tx.defer_scheduled(fid, t(5_000), "deferred", t(262)).await?);
            // Not due yet: not claimed.
            assert!(!tx.claim_scheduled(tid, t(262)).await?);
            assert!(tx.cancel_scheduled(tid, t(263)).await?);
            assert!(!tx.cancel_scheduled(tid, t(264)).await?);
            Ok(())
        })
    })
    .await
    .unwrap();
    let first = s.scheduled_message(fid).await.unwrap().unwrap();
    assert_eq!((first.status.as_str(), first.send_at), (SCHEDULED_SENT, t(260)));
    let second = s.scheduled_message(sid).await.unwrap().unwrap();
    assert_eq!((second.status.as_str(), second.send_at), (SCHEDULED_PENDING, t(5_000)));
    assert_eq!(second.reason.as_deref(), Some("deferred: quiet hours"));
    assert_eq!(s.scheduled_message(tid).await.unwrap().unwrap().status, SCHEDULED_CANCELLED);
    assert!(s.due_scheduled(t(4_999), 10).await.unwrap().is_empty());
    // Only sent automated rows count toward the caps.
    assert_eq!(s.automated_sent_times(contact, t(0)).await.unwrap(), vec![t(260)]);
    assert!(s.automated_sent_times(contact, t(261)).await.unwrap().is_empty());
}

async fn broadcasts_keep_their_recipients(h: Harness) {
    let s = h.store.clone();
    let (c, contact) = conversation(&s).await;
    let patient = Patient {
        id: new_id(),
        first_name: "Ana".into(),
        last_name: "Ruiz".into(),
        birth_date: None,
        mrn: Some("MRN-9".into()),
        phone: None,
        status: PatientStatus::Patient,
        created_at: t(1),
    };
    let queued = scheduled(&c, contact, KIND_AUTOMATED, 100);
    let broadcast =
        Broadcast { id: new_id(), body: "Hi {patient.first_name}".into(), created_by: None, created_at: t(6) };
    let (b, p, q) = (broadcast.clone(), patient.clone(), queued.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_patient(&p).await?;
            tx.insert_scheduled(&q).await?;
            tx.insert_broadcast(&b).await?;
            tx.insert_broadcast_recipient(&BroadcastRecipient {
                broadcast_id: b.id,
                position: 0,
                patient_id: p.id,
                status: "queued".into(),
                reason: None,
                scheduled_id: Some(q.id),
            })
            .await?;
            tx.insert_broadcast_recipient(&BroadcastRecipient {
                broadcast_id: b.id,
                position: 1,
                patient_id: p.id,
                status: RECIPIENT_SKIPPED.into(),
                reason: Some("no consent to texts on record".into()),
                scheduled_id: None,
            })
            .await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(s.broadcast_by_id(broadcast.id).await.unwrap(), Some(broadcast.clone()));
    assert_eq!(s.list_broadcasts(10).await.unwrap(), vec![broadcast.clone()]);
    let rows = s.broadcast_recipients(broadcast.id).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].scheduled_status.as_deref(), Some(SCHEDULED_PENDING));
    assert_eq!(rows[1].recipient.reason.as_deref(), Some("no consent to texts on record"));
    assert_eq!(rows[1].scheduled_status, None);
}
