//! Conformance scenarios for referrals: insert and read back (details sealed and opened),
//! due referrals, optimistic updates, the reply hook and the status history. SQLite always;
//! PostgreSQL when `FRONTDESK_TEST_POSTGRES_URL` is set.

mod support;

use frontdesk_domain::E164;
use frontdesk_domain::model::*;
use frontdesk_domain::referrals::{Referral, ReferralDetails, ReferralStatus};
use frontdesk_store::referrals::event;

use support::{Harness, t, w};

conformance!(referrals_round_trip_due_optimistic_and_replied);

const H: i64 = 3_600_000;

async fn referrals_round_trip_due_optimistic_and_replied(h: Harness) {
    let s = h.store.clone();
    let patient = Patient {
        id: new_id(),
        first_name: "Ana".into(),
        last_name: "Lima".into(),
        birth_date: None,
        mrn: None,
        phone: None,
        status: PatientStatus::Prospective,
        created_at: t(0),
    };
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+12125550100").unwrap(),
        provider: ProviderKind::Simulator,
        messaging_service_sid: None,
        default_department_id: None,
        rate_limit_per_sec: 1.0,
        created_at: t(0),
    };
    let referral = Referral {
        id: new_id(),
        patient_id: patient.id,
        status: ReferralStatus::New,
        details: ReferralDetails { source: "Valley Cardiology".into(), reason: "Consult".into(), ..Default::default() },
        received_at: t(0),
        conversation_id: None,
        first_contact_at: None,
        next_action_at: Some(t(0)),
        followups: 0,
        updated_at: t(0),
    };
    let (p, r, nb) = (patient.clone(), referral.clone(), number.clone());
    let conversation = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_patient(&p).await?;
            tx.insert_number(&nb).await?;
            tx.insert_referral(&r).await?;
            tx.insert_referral_event(&event(r.id, ReferralStatus::New, t(0), None)).await?;
            // A repeated status is ignored.
            tx.insert_referral_event(&event(r.id, ReferralStatus::New, t(5), None)).await?;
            let contact = tx.upsert_contact(&E164::parse_strict("+14155550101").unwrap(), t(0)).await?;
            let thread = tx.upsert_thread_for_update(nb.id, contact.id, t(0)).await?;
            let c = Conversation::open(thread.id, None, t(0));
            tx.insert_conversation(&c).await?;
            Ok(c)
        })
    })
    .await
    .unwrap();

    assert_eq!(s.referral_by_id(referral.id).await.unwrap(), Some(referral.clone()));
    assert_eq!(s.referrals().await.unwrap(), vec![referral.clone()]);
    assert_eq!(s.referrals_due(t(0), 10).await.unwrap().len(), 1);
    assert!(s.referrals_due(t(-1), 10).await.unwrap().is_empty());

    // Contacted: only the writer that read the current version wins.
    let mut contacted = referral.clone();
    contacted.status = ReferralStatus::Contacted;
    contacted.conversation_id = Some(conversation.id);
    contacted.first_contact_at = Some(t(H));
    contacted.next_action_at = Some(t(49 * H));
    contacted.updated_at = t(H);
    let (c1, c2) = (contacted.clone(), contacted.clone());
    let first = w(&s, move |tx| Box::pin(async move { tx.update_referral(&c1, t(0)).await })).await.unwrap();
    let second = w(&s, move |tx| Box::pin(async move { tx.update_referral(&c2, t(0)).await })).await.unwrap();
    assert!(first);
    assert!(!second, "a stale version writes nothing");
    assert!(s.referrals_due(t(2 * H), 10).await.unwrap().is_empty());

    // The patient's reply in that conversation.
    let cid = conversation.id;
    let moved = w(&s, move |tx| Box::pin(async move { tx.referral_replied(cid, t(2 * H)).await })).await.unwrap();
    assert_eq!(moved, 1);
    let again = w(&s, move |tx| Box::pin(async move { tx.referral_replied(cid, t(3 * H)).await })).await.unwrap();
    assert_eq!(again, 0, "only a contacted referral moves");
    let stored = s.referral_by_id(referral.id).await.unwrap().unwrap();
    assert_eq!(stored.status, ReferralStatus::Replied);
    assert_eq!(stored.next_action_at, None);
    assert_eq!(stored.details.source, "Valley Cardiology");
    let history: Vec<_> = s.referral_events(referral.id).await.unwrap().into_iter().map(|e| (e.status, e.at)).collect();
    assert_eq!(history, [(ReferralStatus::New, t(0)), (ReferralStatus::Replied, t(2 * H))]);
    let between = s.referral_events_between(t(H), t(3 * H)).await.unwrap();
    assert_eq!(between.len(), 1);
    assert_eq!(between[0].status, ReferralStatus::Replied);
}
