//! The store conformance suite: one set of scenarios written against `Arc<dyn Store>`, run on
//! SQLite always and on PostgreSQL when `FRONTDESK_TEST_POSTGRES_URL` is set (each test gets
//! its own fresh database). Every test is independent, so the suite runs under `cargo test`
//! and `cargo nextest` alike.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use frontdesk_domain::model::*;
use frontdesk_domain::{Direction, E164, MessageStatus};
use frontdesk_store::{ConversationQuery, MasterKey, MessageStatusChange, Store, StoreError};

use support::{Harness, Kind, t, w};

conformance!(
    users_and_tokens_round_trip,
    numbers_and_departments_round_trip,
    contacts_and_consent_round_trip,
    threads_and_conversations_round_trip,
    current_conversation_is_newest_not_closed,
    messages_round_trip_and_status_changes,
    thread_messages_span_conversations_oldest_first,
    list_conversations_order_filter_keyset_limit,
    patients_round_trip_and_link,
    audit_newest_first,
    outbox_jobs_round_trip,
    claim_jobs_due_only_and_leases,
    concurrent_claimers_never_share_a_job,
    receipts_dedupe,
    failing_closure_rolls_back_only_itself,
    unique_violations_are_conflicts_and_tx_stays_usable,
    updates_of_missing_rows_are_errors,
    encryption_at_rest,
    wrong_master_key_is_corrupt_not_panic,
    bad_stored_values_are_corrupt_with_column,
    backup_round_trip,
    concurrent_inbound_writes_all_land,
    concurrent_duplicate_deliveries_one_wins,
    ping_answers,
    front_door_policies_and_sources_round_trip,
);

fn phone(n: u32) -> E164 {
    E164::parse_strict(&format!("+1415555{n:04}")).expect("valid test number")
}

/// A department, a number, a contact, a thread and an open conversation.
struct Fixture {
    department: Department,
    number: PracticeNumber,
    contact: Contact,
    thread: Thread,
    conversation: Conversation,
}

async fn fixture(store: &Arc<dyn Store>, n: u32) -> Fixture {
    let department = Department { id: new_id(), name: format!("Front desk {n}"), created_at: t(0) };
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict(&format!("+1212555{n:04}")).unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: Some("MG123".into()),
        default_department_id: Some(department.id),
        rate_limit_per_sec: 1.5,
        created_at: t(1),
    };
    let (d, nb) = (department.clone(), number.clone());
    let (contact, thread, conversation) = w(store, move |tx| {
        Box::pin(async move {
            tx.insert_department(&d).await?;
            tx.insert_number(&nb).await?;
            let contact = tx.upsert_contact(&phone(n), t(2)).await?;
            let thread = tx.upsert_thread_for_update(nb.id, contact.id, t(3)).await?;
            let conversation = Conversation::open(thread.id, Some(d.id), t(4));
            tx.insert_conversation(&conversation).await?;
            Ok((contact, thread, conversation))
        })
    })
    .await
    .unwrap();
    Fixture { department, number, contact, thread, conversation }
}

fn message(f: &Fixture, conversation_id: ConversationId, at: i64, body: &str) -> Message {
    Message {
        id: new_id(),
        conversation_id,
        thread_id: f.thread.id,
        direction: Direction::Inbound,
        body: body.into(),
        media: vec![],
        sender: SenderKind::Patient,
        sender_user_id: None,
        provider: ProviderKind::Twilio,
        provider_message_id: Some(format!("SM{}", new_id().simple())),
        status: MessageStatus::Received,
        error_code: None,
        error_message: None,
        encoding: "GSM-7".into(),
        segments: 1,
        created_at: t(at),
        updated_at: t(at),
        needs_review: false,
    }
}

fn user(email: &str) -> User {
    User {
        id: new_id(),
        email: email.into(),
        name: "Dana Staff".into(),
        role: Role::Staff,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$abc$def".into(),
        disabled: false,
        created_at: t(10),
    }
}

fn patient(first: &str) -> Patient {
    Patient {
        id: new_id(),
        first_name: first.into(),
        last_name: "Okafor".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1984, 2, 29),
        mrn: Some("MRN-0042".into()),
        phone: Some(phone(7)),
        status: PatientStatus::Patient,
        created_at: t(20),
    }
}

// ---- round trips ------------------------------------------------------------------------

async fn users_and_tokens_round_trip(h: Harness) {
    let s = h.store.clone();
    assert_eq!(s.count_users().await.unwrap(), 0);
    let mut admin = user("Admin@Example.COM");
    admin.role = Role::Admin;
    admin.disabled = true;
    let token = ApiToken {
        id: new_id(),
        name: "EHR bridge".into(),
        token_hash: "ab".repeat(32),
        created_by: Some(admin.id),
        created_at: t(11),
        revoked_at: Some(t(12)),
    };
    let token2 =
        ApiToken { id: new_id(), token_hash: "cd".repeat(32), created_by: None, revoked_at: None, ..token.clone() };
    let (a, t1, t2) = (admin.clone(), token.clone(), token2.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_user(&a).await?;
            tx.insert_api_token(&t1).await?;
            tx.insert_api_token(&t2).await
        })
    })
    .await
    .unwrap();

    // Emails are stored lowercased, so lookups are case-insensitive.
    let expected = User { email: "admin@example.com".into(), ..admin.clone() };
    assert_eq!(s.user_by_email("ADMIN@example.com").await.unwrap(), Some(expected.clone()));
    assert_eq!(s.user_by_id(admin.id).await.unwrap(), Some(expected));
    assert_eq!(s.user_by_email("nobody@example.com").await.unwrap(), None);
    assert_eq!(s.count_users().await.unwrap(), 1);
    assert_eq!(s.api_token_by_hash(&token.token_hash).await.unwrap(), Some(token));
    assert_eq!(s.api_token_by_hash(&token2.token_hash).await.unwrap(), Some(token2));
    assert_eq!(s.api_token_by_hash("ef").await.unwrap(), None);

    // Same email in another case is a conflict.
    let dup = user("admin@EXAMPLE.com");
    let err = w(&s, move |tx| Box::pin(async move { tx.insert_user(&dup).await })).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("email")), "{err:?}");
}

async fn numbers_and_departments_round_trip(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let bare = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+442079460958").unwrap(),
        provider: ProviderKind::Simulator,
        messaging_service_sid: None,
        default_department_id: None,
        rate_limit_per_sec: 0.25,
        created_at: t(5),
    };
    let (b, n) = (bare.clone(), f.number.clone());
    let (by_e164, by_id, missing) = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_number(&b).await?;
            Ok((tx.number_by_e164(&n.e164).await?, tx.number_by_id(b.id).await?, tx.number_by_id(new_id()).await?))
        })
    })
    .await
    .unwrap();
    assert_eq!(by_e164, Some(f.number.clone()));
    assert_eq!(by_id, Some(bare.clone()));
    assert_eq!(missing, None);
    assert_eq!(s.number_by_e164(&bare.e164).await.unwrap(), Some(bare.clone()));
    assert_eq!(s.number_by_e164(&phone(9999)).await.unwrap(), None);
    let mut all = s.list_numbers().await.unwrap();
    all.sort_by_key(|n| n.id);
    let mut expected = vec![f.number.clone(), bare];
    expected.sort_by_key(|n| n.id);
    assert_eq!(all, expected);
    assert_eq!(s.list_departments().await.unwrap(), vec![f.department]);
}

async fn contacts_and_consent_round_trip(h: Harness) {
    let s = h.store.clone();
    let (first, again, opted) = w(&s, |tx| {
        Box::pin(async move {
            let first = tx.upsert_contact(&phone(1), t(1)).await?;
            let again = tx.upsert_contact(&phone(1), t(99)).await?;
            tx.set_contact_opted_out(first.id, true).await?;
            let opted = tx.contact_by_id(first.id).await?;
            Ok((first, again, opted))
        })
    })
    .await
    .unwrap();
    assert_eq!(first, Contact { id: first.id, phone: phone(1), opted_out: false, created_at: t(1) });
    assert_eq!(again, first, "upsert of a known phone returns the existing contact unchanged");
    assert_eq!(opted, Some(Contact { opted_out: true, ..first.clone() }));
    assert_eq!(s.contact_by_phone(&phone(1)).await.unwrap(), Some(Contact { opted_out: true, ..first.clone() }));
    assert_eq!(s.contact_by_phone(&phone(2)).await.unwrap(), None);

    let events: Vec<ConsentEvent> = [
        (ConsentPurpose::Sms, true, ConsentSource::WebForm, "policy v3", 5),
        (ConsentPurpose::Sms, false, ConsentSource::Keyword, "STOP", 7),
        (ConsentPurpose::Marketing, false, ConsentSource::StaffAttestation, "", 6),
    ]
    .into_iter()
    .map(|(purpose, granted, source, evidence, at)| ConsentEvent {
        id: new_id(),
        contact_id: first.id,
        purpose,
        granted,
        source,
        evidence: evidence.into(),
        created_at: t(at),
    })
    .collect();
    let ev = events.clone();
    w(&s, move |tx| {
        Box::pin(async move {
            for e in &ev {
                tx.insert_consent_event(e).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let stored = s.consent_events(first.id).await.unwrap();
    assert_eq!(stored, vec![events[0].clone(), events[2].clone(), events[1].clone()], "oldest first");
    assert!(s.consent_events(new_id()).await.unwrap().is_empty());
}

async fn threads_and_conversations_round_trip(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let staff = user("staff@example.com");
    let p = patient("Ada");
    let full = Conversation {
        id: new_id(),
        thread_id: f.thread.id,
        status: ConversationStatus::Snoozed,
        department_id: Some(f.department.id),
        assignee_id: Some(staff.id),
        patient_id: Some(p.id),
        urgent: true,
        snoozed_until: Some(t(500)),
        opened_at: t(100),
        closed_at: Some(t(400)),
        last_message_at: t(300),
        waiting_since: Some(t(250)),
        unread_count: 7,
    };
    let (fx_thread, number_id, contact_id, c, st, pa) =
        (f.thread.clone(), f.number.id, f.contact.id, full.clone(), staff.clone(), p.clone());
    let (again, touched, got, missing) = w(&s, move |tx| {
        Box::pin(async move {
            let again = tx.upsert_thread_for_update(number_id, contact_id, t(999)).await?;
            assert_eq!(again, fx_thread);
            tx.touch_thread(again.id, t(777)).await?;
            let touched = tx.thread_by_id(again.id).await?;
            tx.insert_user(&st).await?;
            tx.insert_patient(&pa).await?;
            tx.insert_conversation(&c).await?;
            Ok((again, touched, tx.conversation_by_id(c.id).await?, tx.conversation_by_id(new_id()).await?))
        })
    })
    .await
    .unwrap();
    assert_eq!(again.created_at, t(3));
    assert_eq!(touched, Some(Thread { last_message_at: t(777), ..f.thread.clone() }));
    assert_eq!(got, Some(full.clone()));
    assert_eq!(missing, None);

    // update_conversation overwrites every mutable field, including back to None.
    let updated = Conversation {
        status: ConversationStatus::Open,
        department_id: None,
        assignee_id: None,
        patient_id: None,
        urgent: false,
        snoozed_until: None,
        closed_at: None,
        last_message_at: t(901),
        waiting_since: None,
        unread_count: 0,
        ..full.clone()
    };
    let u = updated.clone();
    let got = w(&s, move |tx| {
        Box::pin(async move {
            tx.update_conversation(&u).await?;
            tx.conversation_by_id(u.id).await
        })
    })
    .await
    .unwrap();
    assert_eq!(got, Some(updated.clone()));
    let summary = s.conversation_summary(updated.id).await.unwrap().unwrap();
    assert_eq!(summary.conversation, updated);
    assert_eq!(summary.thread, Thread { last_message_at: t(777), ..f.thread.clone() });
    assert_eq!(summary.contact, f.contact);
    assert_eq!(summary.number, f.number);
    assert_eq!(s.conversation_summary(new_id()).await.unwrap(), None);
}

async fn current_conversation_is_newest_not_closed(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await; // conversation opened at t(4), open
    let thread_id = f.thread.id;
    let older_open = f.conversation.clone();
    let mut newer_closed = Conversation::open(thread_id, None, t(50));
    newer_closed.status = ConversationStatus::Closed;
    newer_closed.closed_at = Some(t(60));
    let nc = newer_closed.clone();
    let current = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_conversation(&nc).await?;
            tx.current_conversation(thread_id).await
        })
    })
    .await
    .unwrap();
    assert_eq!(current, Some(older_open.clone()), "a newer closed conversation is skipped");

    let mut newest_waiting = Conversation::open(thread_id, None, t(70));
    newest_waiting.status = ConversationStatus::Waiting;
    let nw = newest_waiting.clone();
    let current = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_conversation(&nw).await?;
            tx.current_conversation(thread_id).await
        })
    })
    .await
    .unwrap();
    assert_eq!(current, Some(newest_waiting));

    let other = fixture(&s, 2).await;
    let (oc, other_thread) = (other.conversation.clone(), other.thread.id);
    let current = w(&s, move |tx| {
        Box::pin(async move {
            let mut closed = oc;
            closed.status = ConversationStatus::Closed;
            tx.update_conversation(&closed).await?;
            let none = tx.current_conversation(other_thread).await?;
            let unknown = tx.current_conversation(new_id()).await?;
            Ok((none, unknown))
        })
    })
    .await
    .unwrap();
    assert_eq!(current, (None, None));
}

async fn messages_round_trip_and_status_changes(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let staff = user("staff@example.com");
    let full = Message {
        id: new_id(),
        conversation_id: f.conversation.id,
        thread_id: f.thread.id,
        direction: Direction::Outbound,
        body: "Your appointment is Tuesday at 9:30 🙂 — reply C to confirm".into(),
        media: vec![
            MediaRef { url: "https://example.com/a.jpg".into(), content_type: Some("image/jpeg".into()) },
            MediaRef { url: "https://example.com/b".into(), content_type: None },
        ],
        sender: SenderKind::Staff,
        sender_user_id: Some(staff.id),
        provider: ProviderKind::Telnyx,
        provider_message_id: None,
        status: MessageStatus::Queued,
        error_code: Some("30003".into()),
        error_message: Some("The phone was unreachable.".into()),
        encoding: "UCS-2".into(),
        segments: 2,
        created_at: t(100),
        updated_at: t(101),
        needs_review: true,
    };
    let plain = message(&f, f.conversation.id, 50, "");
    let (m, p, st) = (full.clone(), plain.clone(), staff.clone());
    let locked = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_user(&st).await?;
            tx.insert_message(&m).await?;
            tx.insert_message(&p).await?;
            let a = tx.message_by_id_for_update(m.id).await?;
            let b = tx.message_by_provider_id_for_update(p.provider, p.provider_message_id.as_deref().unwrap()).await?;
            let c = tx.message_by_id_for_update(new_id()).await?;
            Ok((a, b, c))
        })
    })
    .await
    .unwrap();
    assert_eq!(locked, (Some(full.clone()), Some(plain.clone()), None));
    assert_eq!(s.message_by_id(full.id).await.unwrap(), Some(full.clone()));
    let pid = plain.provider_message_id.clone().unwrap();
    assert_eq!(s.message_by_provider_id(ProviderKind::Twilio, &pid).await.unwrap(), Some(plain.clone()));
    assert_eq!(s.message_by_provider_id(ProviderKind::Telnyx, &pid).await.unwrap(), None);

    // A status change with a provider id sets it; without one keeps it.
    let change = MessageStatusChange {
        message_id: full.id,
        status: MessageStatus::Sent,
        provider_message_id: Some("tx-1".into()),
        error_code: None,
        error_message: None,
        needs_review: false,
        at: t(200),
    };
    let later = MessageStatusChange {
        status: MessageStatus::Delivered,
        provider_message_id: None,
        error_code: Some("0".into()),
        error_message: Some("ok".into()),
        at: t(300),
        ..change.clone()
    };
    let (c1, c2) = (change.clone(), later.clone());
    w(&s, move |tx| Box::pin(async move { tx.update_message_status(&c1).await })).await.unwrap();
    let after_sent = s.message_by_provider_id(ProviderKind::Telnyx, "tx-1").await.unwrap().unwrap();
    assert_eq!(
        after_sent,
        Message {
            status: MessageStatus::Sent,
            provider_message_id: Some("tx-1".into()),
            error_code: None,
            error_message: None,
            needs_review: false,
            updated_at: t(200),
            ..full.clone()
        }
    );
    w(&s, move |tx| Box::pin(async move { tx.update_message_status(&c2).await })).await.unwrap();
    let after_delivered = s.message_by_id(full.id).await.unwrap().unwrap();
    assert_eq!(after_delivered.status, MessageStatus::Delivered);
    assert_eq!(after_delivered.provider_message_id.as_deref(), Some("tx-1"));
    assert_eq!(after_delivered.error_code.as_deref(), Some("0"));
    assert_eq!(after_delivered.error_message.as_deref(), Some("ok"));
    assert_eq!(after_delivered.updated_at, t(300));
    assert_eq!(after_delivered.body, full.body);
}

async fn thread_messages_span_conversations_oldest_first(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let other = fixture(&s, 2).await;
    let mut first = f.conversation.clone();
    first.status = ConversationStatus::Closed;
    let second = Conversation::open(f.thread.id, None, t(500));
    let msgs = vec![
        message(&f, first.id, 30, "third"),
        message(&f, first.id, 10, "first"),
        message(&f, second.id, 600, "fifth"),
        message(&f, first.id, 20, "second"),
        message(&f, second.id, 550, "fourth"),
    ];
    let noise = message(&other, other.conversation.id, 15, "other thread");
    let (fc, sc, ms, nz) = (first.clone(), second.clone(), msgs.clone(), noise.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            tx.update_conversation(&fc).await?;
            tx.insert_conversation(&sc).await?;
            for m in &ms {
                tx.insert_message(m).await?;
            }
            tx.insert_message(&nz).await
        })
    })
    .await
    .unwrap();
    let got = s.thread_messages(f.thread.id).await.unwrap();
    let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["first", "second", "third", "fourth", "fifth"]);
    let mut expected = msgs;
    expected.sort_by_key(|m| m.created_at);
    assert_eq!(got, expected);
    assert_eq!(s.thread_messages(other.thread.id).await.unwrap(), vec![noise]);
    assert!(s.thread_messages(new_id()).await.unwrap().is_empty());
}

async fn list_conversations_order_filter_keyset_limit(h: Harness) {
    let s = h.store.clone();
    let mut expected: Vec<Conversation> = Vec::new();
    let statuses = [
        ConversationStatus::Open,
        ConversationStatus::Waiting,
        ConversationStatus::Open,
        ConversationStatus::Closed,
        ConversationStatus::Open,
        ConversationStatus::Snoozed,
    ];
    for (i, status) in statuses.into_iter().enumerate() {
        let f = fixture(&s, i as u32).await;
        let mut c = f.conversation.clone();
        c.status = status;
        // Not in insertion order, to prove the sort.
        c.last_message_at = t([500, 100, 300, 600, 200, 400][i]);
        let cc = c.clone();
        w(&s, move |tx| Box::pin(async move { tx.update_conversation(&cc).await })).await.unwrap();
        expected.push(c);
    }
    expected.sort_by_key(|c| std::cmp::Reverse(c.last_message_at));

    let all = s.list_conversations(&ConversationQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|x| x.conversation.clone()).collect::<Vec<_>>(), expected);
    for summary in &all {
        assert_eq!(summary.thread.id, summary.conversation.thread_id);
        assert_eq!(summary.contact.id, summary.thread.contact_id);
        assert_eq!(summary.number.id, summary.thread.number_id);
    }

    let open = s
        .list_conversations(&ConversationQuery {
            statuses: vec![ConversationStatus::Open],
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let open_times: Vec<_> = open.iter().map(|x| x.conversation.last_message_at).collect();
    assert_eq!(open_times, vec![t(500), t(300), t(200)]);

    let limited = s.list_conversations(&ConversationQuery { limit: 2, ..Default::default() }).await.unwrap();
    assert_eq!(limited.iter().map(|x| x.conversation.last_message_at).collect::<Vec<_>>(), vec![t(600), t(500)]);

    // Keyset: the next page starts strictly before the last one seen.
    let page2 = s
        .list_conversations(&ConversationQuery { before: Some(t(500)), limit: 2, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(page2.iter().map(|x| x.conversation.last_message_at).collect::<Vec<_>>(), vec![t(400), t(300)]);
    let page_open = s
        .list_conversations(&ConversationQuery {
            statuses: vec![ConversationStatus::Open],
            before: Some(t(300)),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page_open.len(), 1);
    assert_eq!(page_open[0].conversation.last_message_at, t(200));
    assert!(s.list_conversations(&ConversationQuery { limit: 0, ..Default::default() }).await.unwrap().is_empty());
}

async fn patients_round_trip_and_link(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let full = patient("Ada");
    let bare = Patient {
        id: new_id(),
        first_name: "Bo".into(),
        last_name: "".into(),
        birth_date: None,
        mrn: None,
        phone: None,
        status: PatientStatus::Prospective,
        created_at: t(21),
    };
    let (a, b, contact_id) = (full.clone(), bare.clone(), f.contact.id);
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_patient(&a).await?;
            tx.insert_patient(&b).await?;
            tx.link_contact_patient(contact_id, a.id).await?;
            // Linking twice is harmless.
            tx.link_contact_patient(contact_id, a.id).await?;
            tx.link_contact_patient(contact_id, b.id).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.patient_by_id(full.id).await.unwrap(), Some(full.clone()));
    assert_eq!(s.patient_by_id(bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(s.patient_by_id(new_id()).await.unwrap(), None);
    assert_eq!(s.list_patients(10, 0).await.unwrap(), vec![full.clone(), bare.clone()]);
    assert_eq!(s.list_patients(1, 1).await.unwrap(), vec![bare]);
    assert!(s.list_patients(10, 2).await.unwrap().is_empty());
}

async fn audit_newest_first(h: Harness) {
    let s = h.store.clone();
    let events: Vec<AuditEvent> = (0..4)
        .map(|i| AuditEvent {
            id: new_id(),
            at: t([30, 10, 40, 20][i]),
            actor: format!("user:{i}"),
            action: "conversation.view".into(),
            target: (i % 2 == 0).then(|| format!("conversation:{i}")),
            ip: (i == 0).then(|| "127.0.0.1".into()),
            detail: (i == 2).then(|| "{\"why\":\"test\"}".into()),
        })
        .collect();
    let ev = events.clone();
    w(&s, move |tx| {
        Box::pin(async move {
            for e in &ev {
                tx.insert_audit(e).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        s.list_audit(10).await.unwrap(),
        vec![events[2].clone(), events[0].clone(), events[3].clone(), events[1].clone()]
    );
    assert_eq!(s.list_audit(1).await.unwrap(), vec![events[2].clone()]);
}

// ---- outbox -----------------------------------------------------------------------------

/// `count` outbound messages with a pending job each, due at `due(i)`.
async fn jobs(store: &Arc<dyn Store>, f: &Fixture, count: usize, due: impl Fn(usize) -> i64) -> Vec<OutboxJob> {
    let mut out = Vec::new();
    let mut batch = Vec::new();
    for i in 0..count {
        let mut m = message(f, f.conversation.id, i as i64, "outbound");
        m.direction = Direction::Outbound;
        m.provider_message_id = None;
        m.status = MessageStatus::Queued;
        let mut j = OutboxJob::new(m.id, f.number.id, t(0));
        j.next_attempt_at = t(due(i));
        out.push(j.clone());
        batch.push((m, j));
    }
    w(store, move |tx| {
        Box::pin(async move {
            for (m, j) in &batch {
                tx.insert_message(m).await?;
                tx.enqueue_job(j).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    out
}

async fn outbox_jobs_round_trip(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let created = jobs(&s, &f, 2, |_| 0).await;
    assert_eq!(s.outbox_depth().await.unwrap(), 2);
    let job = created[0].clone();
    let changed = OutboxJob {
        state: OutboxState::InFlight,
        attempts: 3,
        next_attempt_at: t(1234),
        lease_owner: Some("worker-a".into()),
        lease_until: Some(t(2000)),
        handoff_started_at: Some(t(1500)),
        last_error: Some("HTTP 503 from provider".into()),
        ..job.clone()
    };
    let (j, c) = (job.clone(), changed.clone());
    let (before, after, missing) = w(&s, move |tx| {
        Box::pin(async move {
            let before = tx.job_by_id(j.id).await?;
            tx.update_job(&c).await?;
            Ok((before, tx.job_by_id(j.id).await?, tx.job_by_id(new_id()).await?))
        })
    })
    .await
    .unwrap();
    assert_eq!(before, Some(job.clone()));
    assert_eq!(after, Some(changed.clone()));
    assert_eq!(missing, None);
    assert_eq!(s.job_for_message(job.message_id).await.unwrap(), Some(changed.clone()));
    assert_eq!(s.job_for_message(new_id()).await.unwrap(), None);

    // Done and dead jobs no longer count.
    let done = OutboxJob { state: OutboxState::Done, lease_owner: None, lease_until: None, ..changed };
    let dead = OutboxJob { state: OutboxState::Dead, ..created[1].clone() };
    w(&s, move |tx| {
        Box::pin(async move {
            tx.update_job(&done).await?;
            tx.update_job(&dead).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.outbox_depth().await.unwrap(), 0);
}

async fn claim_jobs_due_only_and_leases(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    // Due at 0, 100, 200, ... 900.
    let all = jobs(&s, &f, 10, |i| i as i64 * 100).await;

    let now = t(350);
    let first = s.claim_jobs("a", now, t(1_000), 100).await.unwrap();
    let ids: Vec<_> = first.iter().map(|j| j.id).collect();
    assert_eq!(ids, all[..4].iter().map(|j| j.id).collect::<Vec<_>>(), "only due jobs, oldest first");
    for j in &first {
        assert_eq!(j.state, OutboxState::InFlight);
        assert_eq!(j.lease_owner.as_deref(), Some("a"));
        assert_eq!(j.lease_until, Some(t(1_000)));
    }
    // Leased jobs are not claimed again before the lease ends...
    assert!(s.claim_jobs("b", now, t(1_000), 100).await.unwrap().is_empty());
    let mid = s.claim_jobs("b", t(999), t(2_000), 2).await.unwrap();
    assert_eq!(mid.iter().map(|j| j.id).collect::<Vec<_>>(), vec![all[4].id, all[5].id], "limit respected");
    // ...and are claimable again once it has.
    let again = s.claim_jobs("c", t(1_000), t(5_000), 100).await.unwrap();
    let again_ids: HashSet<_> = again.iter().map(|j| j.id).collect();
    let expected: HashSet<_> = all[..4].iter().chain(&all[6..]).map(|j| j.id).collect();
    assert_eq!(again_ids, expected);
    assert!(again.iter().all(|j| j.lease_owner.as_deref() == Some("c")));
    // Done jobs are never claimed.
    let mut done = again[0].clone();
    done.state = OutboxState::Done;
    w(&s, move |tx| Box::pin(async move { tx.update_job(&done).await })).await.unwrap();
    let late = s.claim_jobs("d", t(100_000), t(200_000), 100).await.unwrap();
    assert_eq!(late.len(), 9);
    assert!(late.iter().all(|j| j.id != again[0].id));
}

async fn concurrent_claimers_never_share_a_job(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let all = jobs(&s, &f, 200, |i| i as i64).await;
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = s.claim_jobs(&format!("w{worker}"), t(1_000), t(60_000), 7).await.unwrap();
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
            mine
        }));
    }
    let mut counts: HashMap<uuid::Uuid, usize> = HashMap::new();
    for task in tasks {
        for id in task.await.unwrap() {
            *counts.entry(id).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), all.len(), "every job claimed");
    assert!(counts.values().all(|&n| n == 1), "no job claimed twice");
}

// ---- transactions -----------------------------------------------------------------------

async fn receipts_dedupe(h: Harness) {
    let s = h.store.clone();
    let claims = w(&s, |tx| {
        Box::pin(async move {
            let a = tx.claim_provider_receipt(ProviderKind::Twilio, "SM1", t(1)).await?;
            let b = tx.claim_provider_receipt(ProviderKind::Twilio, "SM1", t(2)).await?;
            let c = tx.claim_provider_receipt(ProviderKind::Telnyx, "SM1", t(3)).await?;
            Ok((a, b, c))
        })
    })
    .await
    .unwrap();
    assert_eq!(claims, (true, false, true));
    let later = w(&s, |tx| Box::pin(async move { tx.claim_provider_receipt(ProviderKind::Twilio, "SM1", t(9)).await }))
        .await
        .unwrap();
    assert!(!later, "a committed receipt stays claimed");
}

async fn failing_closure_rolls_back_only_itself(h: Harness) {
    let s = h.store.clone();
    let mut tasks = Vec::new();
    for i in 0..50u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let d = Department { id: new_id(), name: format!("dept {i:02}"), created_at: t(i64::from(i)) };
            let id = d.id;
            let result = w(&s, move |tx| {
                Box::pin(async move {
                    tx.insert_department(&d).await?;
                    tx.claim_provider_receipt(ProviderKind::Simulator, &format!("r{i}"), t(0)).await?;
                    match i {
                        17 => Err(StoreError::Aborted("changed my mind".into())),
                        33 => panic!("a bug in a write closure"),
                        _ => Ok(i),
                    }
                })
            })
            .await;
            (i, id, result)
        }));
    }
    let mut committed = HashSet::new();
    for task in tasks {
        let (i, id, result) = task.await.unwrap();
        match i {
            17 => assert!(matches!(result, Err(StoreError::Aborted(ref m)) if m == "changed my mind"), "{result:?}"),
            33 => assert!(matches!(result, Err(StoreError::Other(ref m)) if m.contains("panicked")), "{result:?}"),
            _ => {
                assert_eq!(result.unwrap(), i);
                committed.insert(id);
            }
        }
    }
    let stored: HashSet<_> = s.list_departments().await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(stored, committed, "exactly the successful closures' writes are durable");
    // The failed closures' receipts were rolled back too: they can be claimed now.
    let again = w(&s, |tx| {
        Box::pin(async move {
            let mut out = Vec::new();
            for i in [16, 17, 33] {
                out.push(tx.claim_provider_receipt(ProviderKind::Simulator, &format!("r{i}"), t(1)).await?);
            }
            Ok(out)
        })
    })
    .await
    .unwrap();
    assert_eq!(again, vec![false, true, true]);
    // And the store still works after a panic.
    s.ping().await.unwrap();
}

async fn unique_violations_are_conflicts_and_tx_stays_usable(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let m = message(&f, f.conversation.id, 10, "hello");
    let (m1, number) = (m.clone(), f.number.clone());
    let outcome = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_message(&m1).await?;
            let mut dup = m1.clone();
            dup.id = new_id();
            let dup_provider = tx.insert_message(&dup).await.unwrap_err();
            let mut same_number = number.clone();
            same_number.id = new_id();
            let dup_number = tx.insert_number(&same_number).await.unwrap_err();
            let dup_id = tx.insert_message(&m1).await.unwrap_err();
            // The transaction is still usable after the conflicts (on PostgreSQL too).
            let d = Department { id: new_id(), name: "after".into(), created_at: t(5) };
            tx.insert_department(&d).await?;
            Ok((dup_provider, dup_number, dup_id))
        })
    })
    .await
    .unwrap();
    for e in [&outcome.0, &outcome.1, &outcome.2] {
        assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    }
    assert!(outcome.0.to_string().contains("already exists"));
    assert_eq!(s.list_departments().await.unwrap().len(), 2);
    assert_eq!(s.message_by_id(m.id).await.unwrap(), Some(m));

    // A conflict that ends the closure rolls back the closure's other writes.
    let u = user("x@example.com");
    let (u1, u2) = (u.clone(), user("X@example.com"));
    let err = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_user(&u1).await?;
            tx.insert_user(&u2).await
        })
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.count_users().await.unwrap(), 0);
}

async fn updates_of_missing_rows_are_errors(h: Harness) {
    let s = h.store.clone();
    let ghost = Conversation::open(new_id(), None, t(0));
    let job = OutboxJob::new(new_id(), new_id(), t(0));
    let results = w(&s, move |tx| {
        Box::pin(async move {
            let change = MessageStatusChange {
                message_id: new_id(),
                status: MessageStatus::Sent,
                provider_message_id: None,
                error_code: None,
                error_message: None,
                needs_review: false,
                at: t(0),
            };
            Ok(vec![
                tx.update_conversation(&ghost).await.is_err(),
                tx.update_job(&job).await.is_err(),
                tx.update_message_status(&change).await.is_err(),
                tx.touch_thread(new_id(), t(0)).await.is_err(),
                tx.set_contact_opted_out(new_id(), true).await.is_err(),
            ])
        })
    })
    .await
    .unwrap();
    assert!(results.iter().all(|&e| e), "{results:?}");
}

// ---- encryption at rest -----------------------------------------------------------------

async fn encryption_at_rest(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let body_marker = format!("BODYMARKER{}", new_id().simple());
    let name_marker = format!("NAMEMARKER{}", new_id().simple());
    let mrn_marker = format!("MRNMARKER{}", new_id().simple());
    let plain_marker = format!("PLAINMARKER{}", new_id().simple());
    let mut m = message(&f, f.conversation.id, 10, &format!("my chest hurts {body_marker}"));
    m.media = vec![MediaRef { url: format!("https://media.example/{body_marker}"), content_type: None }];
    let mut p = patient(&name_marker);
    p.mrn = Some(mrn_marker.clone());
    // Consent evidence is not sealed: it proves the files we read do hold the rows.
    let consent = ConsentEvent {
        id: new_id(),
        contact_id: f.contact.id,
        purpose: ConsentPurpose::Sms,
        granted: true,
        source: ConsentSource::WebForm,
        evidence: plain_marker.clone(),
        created_at: t(1),
    };
    let (mm, pp, cc) = (m.clone(), p.clone(), consent);
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_message(&mm).await?;
            tx.insert_patient(&pp).await?;
            tx.insert_consent_event(&cc).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.message_by_id(m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(s.patient_by_id(p.id).await.unwrap(), Some(p.clone()));

    let contains = |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    match h.kind {
        Kind::Sqlite => {
            let db = h.db_path.clone().unwrap();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let path = format!("{}{suffix}", db.display());
                if let Ok(b) = std::fs::read(&path) {
                    bytes.extend(b);
                }
            }
            assert!(contains(&bytes, &plain_marker), "the files read hold the committed rows");
            for marker in [&body_marker, &name_marker, &mrn_marker] {
                assert!(!contains(&bytes, marker), "{marker} found in plain text in the SQLite files");
            }
        }
        Kind::Postgres => {
            let mut bytes = h.raw_pg_bytes("SELECT body FROM messages").await;
            bytes.extend(h.raw_pg_bytes("SELECT media FROM messages WHERE media IS NOT NULL").await);
            bytes.extend(h.raw_pg_bytes("SELECT details FROM patients").await);
            bytes.extend(h.raw_pg_bytes("SELECT convert_to(COALESCE(mrn_index, ''), 'UTF8') FROM patients").await);
            assert!(!bytes.is_empty());
            for marker in [&body_marker, &name_marker, &mrn_marker] {
                assert!(!contains(&bytes, marker), "{marker} stored in plain text");
            }
        }
    }
}

async fn wrong_master_key_is_corrupt_not_panic(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let m = message(&f, f.conversation.id, 10, "secret");
    let p = patient("Ada");
    let (mm, pp) = (m.clone(), p.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_message(&mm).await?;
            tx.insert_patient(&pp).await
        })
    })
    .await
    .unwrap();

    let other = h.reopen_with(&MasterKey::generate()).await;
    let err = other.message_by_id(m.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(ref msg) if msg.contains("messages.body")), "{err:?}");
    assert!(matches!(other.thread_messages(f.thread.id).await, Err(StoreError::Corrupt(_))));
    assert!(matches!(other.patient_by_id(p.id).await, Err(StoreError::Corrupt(_))));
    assert!(matches!(other.list_patients(10, 0).await, Err(StoreError::Corrupt(_))));
    let pid = m.provider_message_id.clone().unwrap();
    let in_tx = w(&other, move |tx| {
        Box::pin(async move { Ok(tx.message_by_provider_id_for_update(ProviderKind::Twilio, &pid).await.is_err()) })
    })
    .await
    .unwrap();
    assert!(in_tx);
    // Unsealed data is still readable, and the right key still opens everything.
    assert_eq!(other.contact_by_phone(&f.contact.phone).await.unwrap(), Some(f.contact.clone()));
    let same = h.reopen_with(&h.key).await;
    assert_eq!(same.message_by_id(m.id).await.unwrap(), Some(m));
}

async fn bad_stored_values_are_corrupt_with_column(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let m = message(&f, f.conversation.id, 10, "hello");
    let mm = m.clone();
    w(&s, move |tx| Box::pin(async move { tx.insert_message(&mm).await })).await.unwrap();
    h.raw_exec("UPDATE messages SET status = 'teleported'").await;
    h.raw_exec("UPDATE contacts SET phone = 'not a phone'").await;
    h.raw_exec("UPDATE conversations SET status = 'lost'").await;
    let err = s.message_by_id(m.id).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt(ref msg) if msg.contains("status") && msg.contains("teleported")),
        "{err:?}"
    );
    let err = s.contact_by_phone(&f.contact.phone).await;
    assert!(matches!(err, Ok(None)), "lookup by the old phone finds nothing: {err:?}");
    let err = s.conversation_summary(f.conversation.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(ref msg) if msg.contains("status")), "{err:?}");
    h.raw_exec("UPDATE conversations SET status = 'open'").await;
    let err = s.conversation_summary(f.conversation.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(ref msg) if msg.contains("contacts.phone")), "{err:?}");
}

async fn backup_round_trip(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let m = message(&f, f.conversation.id, 10, "keep me");
    let mm = m.clone();
    w(&s, move |tx| Box::pin(async move { tx.insert_message(&mm).await })).await.unwrap();
    match h.kind {
        Kind::Sqlite => {
            let target = h.dir().join("backup.db");
            s.backup(&target).await.unwrap();
            let err = s.backup(&target).await.unwrap_err();
            assert!(err.to_string().contains("already exists"), "{err}");
            let restored = frontdesk_store::connect(
                &format!("sqlite://{}", target.display()),
                Arc::new(frontdesk_store::Vault::new(&h.key)),
            )
            .await
            .unwrap();
            assert_eq!(restored.message_by_id(m.id).await.unwrap(), Some(m));
            assert_eq!(restored.list_numbers().await.unwrap(), vec![f.number]);
            assert_eq!(restored.thread_messages(f.thread.id).await.unwrap().len(), 1);
        }
        Kind::Postgres => {
            let dir = tempfile::tempdir().unwrap();
            let err = s.backup(&dir.path().join("x.db")).await.unwrap_err();
            assert!(matches!(err, StoreError::Other(ref msg) if msg.contains("pg_dump")), "{err:?}");
        }
    }
}

// ---- concurrency ------------------------------------------------------------------------

/// What `receive_inbound` does, minus the business rules.
async fn inbound(
    s: &Arc<dyn Store>,
    number_id: NumberId,
    from: E164,
    provider_id: String,
    at: i64,
) -> Option<MessageId> {
    w(s, move |tx| {
        Box::pin(async move {
            if !tx.claim_provider_receipt(ProviderKind::Twilio, &provider_id, t(at)).await? {
                return Ok(None);
            }
            let contact = tx.upsert_contact(&from, t(at)).await?;
            let thread = tx.upsert_thread_for_update(number_id, contact.id, t(at)).await?;
            let mut conversation = match tx.current_conversation(thread.id).await? {
                Some(c) => c,
                None => {
                    let c = Conversation::open(thread.id, None, t(at));
                    tx.insert_conversation(&c).await?;
                    c
                }
            };
            let m = Message {
                id: new_id(),
                conversation_id: conversation.id,
                thread_id: thread.id,
                direction: Direction::Inbound,
                body: format!("message {provider_id}"),
                media: vec![],
                sender: SenderKind::Patient,
                sender_user_id: None,
                provider: ProviderKind::Twilio,
                provider_message_id: Some(provider_id),
                status: MessageStatus::Received,
                error_code: None,
                error_message: None,
                encoding: "GSM-7".into(),
                segments: 1,
                created_at: t(at),
                updated_at: t(at),
                needs_review: false,
            };
            tx.insert_message(&m).await?;
            conversation.unread_count += 1;
            conversation.last_message_at = t(at);
            tx.update_conversation(&conversation).await?;
            tx.touch_thread(thread.id, t(at)).await?;
            Ok(Some(m.id))
        })
    })
    .await
    .unwrap()
}

async fn concurrent_inbound_writes_all_land(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let mut tasks = Vec::new();
    for i in 0..500u32 {
        let s = s.clone();
        let number_id = f.number.id;
        // 25 senders, 20 messages each, all at once: threads are shared and contended.
        tasks.push(tokio::spawn(async move {
            inbound(&s, number_id, phone(100 + i % 25), format!("SMc{i}"), i64::from(i)).await
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().expect("first delivery is new"));
    }
    assert_eq!(ids.len(), 500);
    let mut total = 0;
    for k in 0..25 {
        let contact = s.contact_by_phone(&phone(100 + k)).await.unwrap().expect("contact created once");
        let summaries = s.list_conversations(&ConversationQuery { limit: 1000, ..Default::default() }).await.unwrap();
        let mine: Vec<_> = summaries.iter().filter(|x| x.contact.id == contact.id).collect();
        assert_eq!(mine.len(), 1, "one conversation per thread despite concurrent first messages");
        assert_eq!(mine[0].conversation.unread_count, 20, "no lost updates on the conversation row");
        let msgs = s.thread_messages(mine[0].thread.id).await.unwrap();
        assert_eq!(msgs.len(), 20);
        total += msgs.len();
        for m in msgs {
            assert!(ids.contains(&m.id));
        }
    }
    assert_eq!(total, 500);
}

async fn concurrent_duplicate_deliveries_one_wins(h: Harness) {
    let s = h.store.clone();
    let f = fixture(&s, 1).await;
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let s = s.clone();
        let number_id = f.number.id;
        tasks.push(tokio::spawn(async move { inbound(&s, number_id, phone(5), "SMdup".into(), 1).await }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    let contact = s.contact_by_phone(&phone(5)).await.unwrap().unwrap();
    let summaries = s.list_conversations(&ConversationQuery { limit: 10, ..Default::default() }).await.unwrap();
    let thread = summaries.iter().find(|x| x.contact.id == contact.id).unwrap().thread.id;
    assert_eq!(s.thread_messages(thread).await.unwrap().len(), 1);
    assert!(s.message_by_provider_id(ProviderKind::Twilio, "SMdup").await.unwrap().is_some());
}

async fn ping_answers(h: Harness) {
    h.store.ping().await.unwrap();
    assert_eq!(
        h.store.backend(),
        match h.kind {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    );
}

// ---- SQLite specifics -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_in_memory_url_works() {
    let store =
        frontdesk_store::connect("sqlite::memory:", Arc::new(frontdesk_store::Vault::new(&MasterKey::generate())))
            .await
            .unwrap();
    let f = fixture(&store, 1).await;
    let m = message(&f, f.conversation.id, 1, "in memory");
    let mm = m.clone();
    w(&store, move |tx| Box::pin(async move { tx.insert_message(&mm).await })).await.unwrap();
    assert_eq!(store.message_by_id(m.id).await.unwrap(), Some(m));
    store.ping().await.unwrap();
}

#[tokio::test]
async fn sqlite_open_errors_are_clear() {
    let vault = Arc::new(frontdesk_store::Vault::new(&MasterKey::generate()));
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/frontdesk.db");
    let err = frontdesk_store::connect(&format!("sqlite://{}", missing.display()), vault.clone())
        .await
        .err()
        .expect("open must fail");
    assert!(err.to_string().contains("directory exists"), "{err}");
    let err = frontdesk_store::connect("mysql://localhost/x", vault).await.err().expect("open must fail");
    assert!(err.to_string().contains("unsupported database URL"), "{err}");
}

#[tokio::test]
async fn sqlite_reopen_keeps_data_and_schema() {
    let key = MasterKey::generate();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("f.db").display());
    let m = {
        let store = frontdesk_store::connect(&url, Arc::new(frontdesk_store::Vault::new(&key))).await.unwrap();
        let f = fixture(&store, 1).await;
        let m = message(&f, f.conversation.id, 1, "persisted");
        let mm = m.clone();
        w(&store, move |tx| Box::pin(async move { tx.insert_message(&mm).await })).await.unwrap();
        m
    };
    // Migrations are not re-applied to an up-to-date database, and the data is there.
    let store = frontdesk_store::connect(&url, Arc::new(frontdesk_store::Vault::new(&key))).await.unwrap();
    assert_eq!(store.message_by_id(m.id).await.unwrap(), Some(m));
}

// ---- the front door (0008) ---------------------------------------------------------------

async fn front_door_policies_and_sources_round_trip(h: Harness) {
    use frontdesk_domain::front_door::{ConversationSource, SmsPolicy};
    use frontdesk_store::PolicyVersion;
    let s = h.store.clone();
    assert_eq!(s.latest_sms_policy().await.unwrap(), None);
    let f = fixture(&s, 1).await;
    let v1 = PolicyVersion { version: 1, policy: SmsPolicy::default_for("Acme"), created_at: t(5), created_by: None };
    let v2 = PolicyVersion {
        version: 2,
        policy: SmsPolicy { purpose: "Reminders only.".into(), ..SmsPolicy::default_for("Acme") },
        created_at: t(6),
        created_by: None,
    };
    let (a, b, conversation_id) = (v1.clone(), v2.clone(), f.conversation.id);
    let duplicate = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_sms_policy(&a).await?;
            tx.insert_sms_policy(&b).await?;
            tx.set_conversation_origin(conversation_id, ConversationSource::WebForm, Some("billing")).await?;
            // A version is never overwritten, and the transaction stays usable.
            let dup = tx.insert_sms_policy(&PolicyVersion { created_at: t(7), ..a.clone() }).await;
            Ok(matches!(dup, Err(StoreError::Conflict(_))))
        })
    })
    .await
    .unwrap();
    assert!(duplicate, "a second version 1 is a conflict");
    assert_eq!(s.latest_sms_policy().await.unwrap(), Some(v2.clone()));
    assert_eq!(s.sms_policy_version(1).await.unwrap(), Some(v1));
    assert_eq!(s.sms_policy_version(3).await.unwrap(), None);
    assert_eq!(
        s.conversation_origin(f.conversation.id).await.unwrap(),
        Some((ConversationSource::WebForm, Some("billing".to_string())))
    );
    assert_eq!(s.conversation_origin(new_id()).await.unwrap(), None);
    // Conversations opened without a source are patient texts; both are counted.
    let other = Conversation::open(f.thread.id, None, t(8));
    let o = other.clone();
    w(&s, move |tx| Box::pin(async move { tx.insert_conversation(&o).await })).await.unwrap();
    assert_eq!(s.conversation_origin(other.id).await.unwrap(), Some((ConversationSource::PatientText, None)));
    let counts = s.count_conversations_by_source(t(0), t(100)).await.unwrap();
    assert_eq!(counts, vec![(ConversationSource::PatientText, 1), (ConversationSource::WebForm, 1)]);
    let missing = w(&s, move |tx| {
        Box::pin(async move { tx.set_conversation_origin(new_id(), ConversationSource::Referral, None).await })
    })
    .await;
    assert!(missing.is_err(), "a missing conversation is an error");
}
