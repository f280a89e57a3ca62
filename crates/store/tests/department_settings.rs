//! Conformance scenarios for department settings and automation marks (0007): settings
//! replace in place, a mark is granted once, the last staff reply and waiting conversations
//! are found. SQLite always; PostgreSQL when `FRONTDESK_TEST_POSTGRES_URL` is set.

mod support;

use frontdesk_domain::model::*;
use frontdesk_domain::{Direction, E164, MessageStatus};

use support::{Harness, t, w};

conformance!(settings_replace_and_marks_once, staff_reply_and_waiting_conversations);

async fn settings_replace_and_marks_once(h: Harness) {
    let store = &h.store;
    let department = Department { id: new_id(), name: "Billing".into(), created_at: t(0) };
    let id = department.id;
    let seen = w(store, move |tx| {
        Box::pin(async move {
            tx.insert_department(&department).await?;
            tx.put_department_settings(id, r#"{"a":1}"#, t(1)).await?;
            tx.put_department_settings(id, r#"{"a":2}"#, t(2)).await?;
            let inside = tx.department_settings_in_tx(id).await?;
            let first = tx.claim_automation_mark("after_hours:x:2026-06-01", t(3)).await?;
            let second = tx.claim_automation_mark("after_hours:x:2026-06-01", t(4)).await?;
            let other = tx.claim_automation_mark("after_hours:x:2026-06-02", t(4)).await?;
            Ok((inside, first, second, other))
        })
    })
    .await
    .unwrap();
    assert_eq!(seen, (Some(r#"{"a":2}"#.to_owned()), true, false, true));
    assert_eq!(store.department_settings(id).await.unwrap().as_deref(), Some(r#"{"a":2}"#));
    assert_eq!(store.department_settings(new_id()).await.unwrap(), None);
    assert_eq!(store.all_department_settings().await.unwrap(), vec![(id, r#"{"a":2}"#.to_owned())]);
}

async fn staff_reply_and_waiting_conversations(h: Harness) {
    let store = &h.store;
    let department = Department { id: new_id(), name: "Front".into(), created_at: t(0) };
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+12125550100").unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        default_department_id: Some(department.id),
        rate_limit_per_sec: 1.0,
        created_at: t(1),
    };
    let (dep, num) = (department.id, number.id);
    let (conversation, before, after) = w(store, move |tx| {
        Box::pin(async move {
            tx.insert_department(&department).await?;
            tx.insert_number(&number).await?;
            let contact = tx.upsert_contact(&E164::parse_strict("+14155550100").unwrap(), t(2)).await?;
            let thread = tx.upsert_thread_for_update(num, contact.id, t(3)).await?;
            let mut conversation = Conversation::open(thread.id, None, t(4));
            conversation.waiting_since = Some(t(10));
            tx.insert_conversation(&conversation).await?;
            let before = tx.last_staff_reply_at(conversation.id).await?;
            for (sender, at) in [(SenderKind::Automation, 20), (SenderKind::Staff, 15), (SenderKind::Patient, 30)] {
                tx.insert_message(&Message {
                    id: new_id(),
                    conversation_id: conversation.id,
                    thread_id: thread.id,
                    direction: if sender == SenderKind::Patient { Direction::Inbound } else { Direction::Outbound },
                    body: "hello".into(),
                    media: Vec::new(),
                    sender,
                    sender_user_id: None,
                    provider: ProviderKind::Twilio,
                    provider_message_id: None,
                    status: MessageStatus::Queued,
                    error_code: None,
                    error_message: None,
                    encoding: "GSM-7".into(),
                    segments: 1,
                    created_at: t(at),
                    updated_at: t(at),
                    needs_review: false,
                })
                .await?;
            }
            let after = tx.last_staff_reply_at(conversation.id).await?;
            Ok((conversation, before, after))
        })
    })
    .await
    .unwrap();
    assert_eq!(before, None);
    assert_eq!(after, Some(t(15)));
    let waiting = store.waiting_conversations(t(11), 10).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, conversation.id);
    assert_eq!(waiting[0].department_id, None);
    assert_eq!(waiting[0].number_department_id, Some(dep));
    assert_eq!(waiting[0].waiting_since, t(10));
    assert!(store.waiting_conversations(t(10), 10).await.unwrap().is_empty());

    // Consent reviews: flagged once per conversation, cleared once.
    let (id, thread) = (conversation.id, conversation.thread_id);
    let message = store.thread_messages(thread).await.unwrap().remove(0).id;
    let cleared = w(store, move |tx| {
        Box::pin(async move {
            tx.flag_consent_review(id, message, t(40)).await?;
            tx.flag_consent_review(id, message, t(41)).await?;
            Ok(())
        })
    })
    .await;
    cleared.unwrap();
    assert_eq!(store.open_consent_reviews().await.unwrap(), vec![id]);
    let cleared = w(store, move |tx| {
        Box::pin(async move { Ok((tx.clear_consent_review(id).await?, tx.clear_consent_review(id).await?)) })
    })
    .await
    .unwrap();
    assert_eq!(cleared, (true, false));
    assert!(store.open_consent_reviews().await.unwrap().is_empty());
}
