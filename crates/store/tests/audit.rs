//! The audit chain, legal holds and retention purges on both backends: entries chain in order
//! (also under concurrent writers), the database refuses changes to them, and tampering done
//! directly in the database (triggers dropped first, as an attacker would) is found and named
//! by `verify_chain`: an altered, a deleted, an inserted entry, a truncated tail. SQLite
//! always; PostgreSQL when `FRONTDESK_TEST_POSTGRES_URL` is set.

mod support;

use std::sync::Arc;

use sqlx::Connection as _;

use frontdesk_domain::E164;
use frontdesk_domain::forms::{FormRequest, FormRequestStatus, FormSubmission};
use frontdesk_domain::model::*;
use frontdesk_store::audit::{AuditFilter, ChainProblem, LegalHold, PurgeKind, verify_chain};
use frontdesk_store::{Store, StoreError};

use support::{Harness, Kind, t, w};

conformance!(
    chain_is_intact_and_ordered,
    concurrent_writers_keep_one_chain,
    database_refuses_changes,
    altered_entry_is_named,
    deleted_entry_is_named,
    truncated_tail_is_found,
    inserted_entry_is_named,
    inserted_entry_outside_the_chain_is_named,
    filters_newest_first,
    purge_keeps_held_and_recent,
);

fn event(n: i64, action: &str) -> AuditEvent {
    AuditEvent {
        id: new_id(),
        at: t(n),
        actor: format!("user:{}", uuid::Uuid::from_u128(n as u128 % 3)),
        action: action.into(),
        target: Some(format!("conversation:{n}")),
        ip: Some("192.0.2.7".into()),
        detail: (n % 2 == 0).then(|| format!("detail {n}")),
    }
}

async fn write_events(store: &Arc<dyn Store>, n: i64) -> Vec<AuditEvent> {
    let mut out = Vec::new();
    for i in 1..=n {
        let e = event(i, "conversation.view");
        let copy = e.clone();
        w(store, move |tx| Box::pin(async move { tx.insert_audit(&copy).await })).await.unwrap();
        out.push(e);
    }
    out
}

async fn verify(store: &Arc<dyn Store>) -> frontdesk_store::audit::ChainReport {
    verify_chain(&**store, &mut |_, _| {}).await.unwrap()
}

/// Runs SQL directly against the database, bypassing the store; `Err` with the database's
/// message when it refuses.
async fn raw(h: &Harness, sql: &str) -> Result<(), String> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match h.kind {
        Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&h.url).await.unwrap();
            let r = sqlx::raw_sql(sql).execute(&mut c).await.map(|_| ()).map_err(|e| e.to_string());
            c.close().await.ok();
            r
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&h.url).await.unwrap();
            let r = sqlx::raw_sql(sql).execute(&mut c).await.map(|_| ()).map_err(|e| e.to_string());
            c.close().await.ok();
            r
        }
    }
}

/// What an attacker with database access does first.
async fn drop_triggers(h: &Harness) {
    let sql = match h.kind {
        Kind::Sqlite => {
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; \
             DROP TRIGGER audit_head_no_delete; DROP TRIGGER audit_head_forward_only;"
        }
        Kind::Postgres => {
            "DROP TRIGGER audit_events_no_change ON audit_events; DROP TRIGGER audit_head_forward ON audit_head;"
        }
    };
    raw(h, sql).await.unwrap();
}

fn new_uuid_sql(h: &Harness) -> &'static str {
    match h.kind {
        Kind::Sqlite => "randomblob(16)",
        Kind::Postgres => "gen_random_uuid()",
    }
}

async fn chain_is_intact_and_ordered(h: Harness) {
    let s = &h.store;
    let empty = verify(s).await;
    assert_eq!((empty.checked, empty.problem), (0, None));

    let events = write_events(s, 5).await;
    // A closure that fails after auditing leaves no trace in the chain.
    let failing = event(99, "conversation.change");
    let r: Result<(), StoreError> = w(s, move |tx| {
        Box::pin(async move {
            tx.insert_audit(&failing).await?;
            Err(StoreError::Aborted("changed my mind".into()))
        })
    })
    .await;
    assert!(r.is_err());
    // Two entries in one transaction chain one after the other.
    let (a, b) = (event(6, "export"), event(7, "export"));
    let (a2, b2) = (a.clone(), b.clone());
    w(s, move |tx| {
        Box::pin(async move {
            tx.insert_audit(&a2).await?;
            tx.insert_audit(&b2).await
        })
    })
    .await
    .unwrap();

    let report = verify(s).await;
    assert_eq!(report.problem, None, "{:?}", report.problem);
    assert_eq!(report.checked, 7);
    let chain = s.audit_chain_page(0, 100).await.unwrap();
    let ids: Vec<_> = chain.iter().map(|c| c.event.id).collect();
    let mut expected: Vec<_> = events.iter().map(|e| e.id).collect();
    expected.extend([a.id, b.id]);
    assert_eq!(ids, expected);
    assert_eq!(chain.iter().map(|c| c.seq.unwrap()).collect::<Vec<_>>(), (1..=7).collect::<Vec<_>>());
    assert_eq!(chain[0].prev_hash.as_deref(), Some(frontdesk_store::audit::GENESIS_HASH));
    for pair in chain.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let head = s.audit_head().await.unwrap().unwrap();
    assert_eq!((head.seq, Some(head.hash)), (7, chain[6].hash.clone()));
    // The chain is keyed: another master key does not verify it.
    let other = h.reopen_with(&frontdesk_store::MasterKey::generate()).await;
    assert!(matches!(verify(&other).await.problem, Some(ChainProblem::Altered { seq: 1, .. })));
}

async fn concurrent_writers_keep_one_chain(h: Harness) {
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = h.store.clone();
        tasks.push(tokio::spawn(async move {
            let e = event(i, "message.send");
            w(&s, move |tx| Box::pin(async move { tx.insert_audit(&e).await })).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let report = verify(&h.store).await;
    assert_eq!((report.checked, report.problem), (40, None));
}

async fn database_refuses_changes(h: Harness) {
    write_events(&h.store, 2).await;
    let update = raw(&h, "UPDATE audit_events SET action = 'nothing'").await;
    assert!(update.unwrap_err().contains("append-only"));
    let delete = raw(&h, "DELETE FROM audit_events").await;
    assert!(delete.unwrap_err().contains("append-only"));
    let head = raw(&h, "UPDATE audit_head SET seq = 1").await;
    assert!(head.unwrap_err().contains("only moves forward"));
    assert!(raw(&h, "DELETE FROM audit_head").await.is_err());
    if h.kind == Kind::Postgres {
        assert!(raw(&h, "TRUNCATE audit_events").await.unwrap_err().contains("append-only"));
    }
    assert_eq!(verify(&h.store).await.problem, None);
}

async fn altered_entry_is_named(h: Harness) {
    let events = write_events(&h.store, 5).await;
    drop_triggers(&h).await;
    raw(&h, "UPDATE audit_events SET ip = '203.0.113.9' WHERE seq = 3").await.unwrap();
    let report = verify(&h.store).await;
    assert_eq!(report.problem, Some(ChainProblem::Altered { seq: 3, id: events[2].id }));
    assert_eq!(report.checked, 2);
    let text = report.problem.unwrap().to_string();
    assert!(text.contains("altered") && text.contains("seq 3") && text.contains(&events[2].id.to_string()), "{text}");
}

async fn deleted_entry_is_named(h: Harness) {
    let events = write_events(&h.store, 5).await;
    drop_triggers(&h).await;
    raw(&h, "DELETE FROM audit_events WHERE seq = 3").await.unwrap();
    let text = verify(&h.store).await.problem.expect("a problem").to_string();
    assert!(text.starts_with("deleted:") && text.contains("seq 3 is missing"), "{text}");
    assert!(text.contains(&events[3].id.to_string()), "{text}");

    // Deleting and renumbering the rest to close the gap breaks the link instead.
    raw(&h, "UPDATE audit_events SET seq = seq - 1 WHERE seq > 3").await.unwrap();
    raw(&h, "UPDATE audit_head SET seq = 4").await.unwrap();
    let text = verify(&h.store).await.problem.expect("a problem").to_string();
    assert!(text.starts_with("deleted:") && text.contains("seq 3") && text.contains("does not link"), "{text}");
}

async fn truncated_tail_is_found(h: Harness) {
    write_events(&h.store, 5).await;
    drop_triggers(&h).await;
    raw(&h, "DELETE FROM audit_events WHERE seq >= 4").await.unwrap();
    let text = verify(&h.store).await.problem.expect("a problem").to_string();
    assert!(text.contains("deleted:") && text.contains("ends at seq 3") && text.contains("seq 5"), "{text}");
}

async fn inserted_entry_is_named(h: Harness) {
    write_events(&h.store, 5).await;
    drop_triggers(&h).await;
    // Appended after the head.
    let sql = format!(
        "INSERT INTO audit_events (id, at, actor, action, target, ip, detail, seq, prev_hash, hash) \
         SELECT {}, at, actor, 'forged.after', target, ip, detail, 6, hash, hash FROM audit_events WHERE seq = 5",
        new_uuid_sql(&h)
    );
    raw(&h, &sql).await.unwrap();
    let forged = forged_id(&h, "forged.after").await;
    let report = verify(&h.store).await;
    assert!(
        matches!(&report.problem, Some(ChainProblem::Inserted { seq: Some(6), id, .. }) if *id == forged),
        "{:?}",
        report.problem
    );
    raw(&h, "DELETE FROM audit_events WHERE seq = 6").await.unwrap();
    assert_eq!(verify(&h.store).await.problem, None);

    // Slipped in at seq 3, the later entries renumbered and the head moved to match.
    raw(&h, "UPDATE audit_events SET seq = -seq WHERE seq >= 3").await.unwrap();
    raw(&h, "UPDATE audit_events SET seq = 1 - seq WHERE seq < 0").await.unwrap();
    let sql = format!(
        "INSERT INTO audit_events (id, at, actor, action, target, ip, detail, seq, prev_hash, hash) \
         SELECT {}, at, actor, 'forged.middle', target, ip, detail, 3, hash, hash FROM audit_events WHERE seq = 2",
        new_uuid_sql(&h)
    );
    raw(&h, &sql).await.unwrap();
    raw(&h, "UPDATE audit_head SET seq = 6").await.unwrap();
    let forged = forged_id(&h, "forged.middle").await;
    let report = verify(&h.store).await;
    let problem = report.problem.expect("a problem");
    assert!(matches!(&problem, ChainProblem::Inserted { seq: Some(3), id, .. } if *id == forged), "{problem:?}");
    assert!(problem.to_string().starts_with("inserted: entry seq 3"), "{problem}");
}

async fn inserted_entry_outside_the_chain_is_named(h: Harness) {
    write_events(&h.store, 2).await;
    // No trigger stops an insert; a row without a place in the chain is still noticed.
    let sql = format!(
        "INSERT INTO audit_events (id, at, actor, action) SELECT {}, at, actor, 'forged.loose' FROM audit_events WHERE seq = 1",
        new_uuid_sql(&h)
    );
    raw(&h, &sql).await.unwrap();
    let forged = forged_id(&h, "forged.loose").await;
    let problem = verify(&h.store).await.problem.expect("a problem");
    assert!(matches!(&problem, ChainProblem::Inserted { seq: None, id, .. } if *id == forged), "{problem:?}");
}

async fn forged_id(h: &Harness, action: &str) -> uuid::Uuid {
    let filter = AuditFilter { action: Some(action.into()), limit: 5, ..AuditFilter::default() };
    let found = h.store.audit_search(&filter).await.unwrap();
    assert_eq!(found.len(), 1);
    found[0].id
}

async fn filters_newest_first(h: Harness) {
    let events = write_events(&h.store, 9).await;
    let all = h.store.audit_search(&AuditFilter { limit: 100, ..AuditFilter::default() }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), events.iter().rev().map(|e| e.id).collect::<Vec<_>>());
    let actor = events[0].actor.clone();
    let filter = AuditFilter {
        actor: Some(actor.clone()),
        from: Some(t(2)),
        until: Some(t(9)),
        limit: 100,
        offset: 0,
        ..AuditFilter::default()
    };
    let found = h.store.audit_search(&filter).await.unwrap();
    // Actors cycle over three users: entries 1, 4, 7 share one; 1 is before `from`.
    assert_eq!(found.iter().map(|e| e.id).collect::<Vec<_>>(), vec![events[6].id, events[3].id]);
    let page = h.store.audit_search(&AuditFilter { limit: 2, offset: 2, ..AuditFilter::default() }).await.unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![events[6].id, events[5].id]);
    let target = AuditFilter { target: Some("conversation:5".into()), limit: 10, ..AuditFilter::default() };
    assert_eq!(h.store.audit_search(&target).await.unwrap(), vec![events[4].clone()]);
}

/// A patient's conversation with one message at `at`, with media, and one form submission.
async fn patient_with_history(store: &Arc<dyn Store>, n: u32, at: i64) -> (Patient, Message, FormSubmission) {
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict(&format!("+1212555{n:04}")).unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        default_department_id: None,
        rate_limit_per_sec: 1.0,
        created_at: t(0),
    };
    let patient = Patient {
        id: new_id(),
        mrn: Some(format!("MRN{n}")),
        first_name: "Ada".into(),
        last_name: format!("Patient{n}"),
        birth_date: None,
        phone: None,
        status: PatientStatus::Patient,
        created_at: t(0),
    };
    let p = patient.clone();
    w(store, move |tx| {
        Box::pin(async move {
            tx.insert_number(&number).await?;
            tx.insert_patient(&p).await?;
            let contact = tx.upsert_contact(&E164::parse_strict(&format!("+1415555{n:04}")).unwrap(), t(at)).await?;
            tx.link_contact_patient(contact.id, p.id).await?;
            let thread = tx.upsert_thread_for_update(number.id, contact.id, t(at)).await?;
            let conversation = Conversation::open(thread.id, None, t(at));
            tx.insert_conversation(&conversation).await?;
            let message = Message {
                id: new_id(),
                conversation_id: conversation.id,
                thread_id: thread.id,
                direction: frontdesk_domain::Direction::Inbound,
                body: "hello there".into(),
                media: vec![MediaRef {
                    url: "https://example.test/m.jpg".into(),
                    content_type: Some("image/jpeg".into()),
                }],
                sender: SenderKind::Patient,
                sender_user_id: None,
                provider: ProviderKind::Twilio,
                provider_message_id: Some(format!("SM{}", new_id().simple())),
                status: frontdesk_domain::MessageStatus::Received,
                error_code: None,
                error_message: None,
                encoding: "GSM-7".into(),
                segments: 1,
                created_at: t(at),
                updated_at: t(at),
                needs_review: false,
            };
            tx.insert_message(&message).await?;
            let request = FormRequest {
                id: new_id(),
                token_hash: format!("{n:064}"),
                conversation_id: conversation.id,
                form_key: "phq-9".into(),
                status: FormRequestStatus::Submitted,
                created_at: t(at),
                expires_at: t(at + 1000),
                opened_at: None,
                submitted_at: Some(t(at)),
                dob_attempts: 0,
                locked_until: None,
                sent_by: None,
            };
            tx.insert_form_request(&request).await?;
            let submission = FormSubmission {
                id: new_id(),
                request_id: request.id,
                answers: Default::default(),
                score: None,
                created_at: t(at),
            };
            tx.insert_form_submission(&submission).await?;
            Ok((message, submission))
        })
    })
    .await
    .map(|(m, s)| (patient, m, s))
    .unwrap()
}

async fn purge_keeps_held_and_recent(h: Harness) {
    let s = &h.store;
    let (_, old_msg, old_form) = patient_with_history(s, 1, 1_000).await;
    let (held, held_msg, held_form) = patient_with_history(s, 2, 1_000).await;
    let (_, new_msg, new_form) = patient_with_history(s, 3, 900_000).await;
    let hold = LegalHold { patient_id: held.id, reason: "litigation".into(), set_by: "user:x".into(), set_at: t(5) };
    let h2 = hold.clone();
    w(s, move |tx| Box::pin(async move { tx.set_legal_hold(&h2).await })).await.unwrap();
    assert_eq!(s.legal_hold(held.id).await.unwrap(), Some(hold));

    let cutoff = t(500_000);
    let purge = |kind| {
        let s = s.clone();
        async move { w(&s, move |tx| Box::pin(async move { tx.purge_before(kind, cutoff, 100).await })).await.unwrap() }
    };
    assert_eq!(purge(PurgeKind::Media).await, 1);
    assert!(s.message_by_id(old_msg.id).await.unwrap().unwrap().media.is_empty());
    assert_eq!(s.message_by_id(held_msg.id).await.unwrap().unwrap().media.len(), 1);
    assert_eq!(purge(PurgeKind::Messages).await, 1);
    assert_eq!(purge(PurgeKind::FormSubmissions).await, 1);
    assert_eq!(purge(PurgeKind::Messages).await, 0, "nothing left to purge");

    assert!(s.message_by_id(old_msg.id).await.unwrap().is_none());
    assert!(s.form_submission_by_id(old_form.id).await.unwrap().is_none());
    for kept in [held_msg.id, new_msg.id] {
        assert!(s.message_by_id(kept).await.unwrap().is_some());
    }
    for kept in [held_form.id, new_form.id] {
        assert!(s.form_submission_by_id(kept).await.unwrap().is_some());
    }

    // Bounded batches: a limit of one takes one at a time.
    let (_, _, _) = patient_with_history(s, 4, 2_000).await;
    let (_, _, _) = patient_with_history(s, 5, 3_000).await;
    let one = w(s, move |tx| Box::pin(async move { tx.purge_before(PurgeKind::Messages, cutoff, 1).await })).await;
    assert_eq!(one.unwrap(), 1);

    let cleared = w(s, move |tx| Box::pin(async move { tx.clear_legal_hold(held.id).await })).await.unwrap();
    assert!(cleared);
    assert_eq!(purge(PurgeKind::Messages).await, 2, "the other old one and the formerly held one");
}

/// A database that already had audit entries when migration 0010 arrived: they become a
/// genesis boundary (counted in the head, not hashed); new entries chain after them, and
/// removing one of the old entries is still noticed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn entries_from_before_the_chain_are_a_counted_boundary() {
    use std::str::FromStr as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let migrations = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"));
    let migrator = sqlx::migrate::Migrator::new(migrations).await.unwrap();
    migrator.run_to(9, &pool).await.unwrap();
    for i in 0..2u8 {
        sqlx::query("INSERT INTO audit_events (id, at, actor, action) VALUES ($1, $2, 'system', 'legacy')")
            .bind(uuid::Uuid::from_u128(u128::from(i) + 1))
            .bind(i64::from(i))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    let key = frontdesk_store::MasterKey::generate();
    let store = frontdesk_store::connect(&url, Arc::new(frontdesk_store::Vault::new(&key))).await.unwrap();
    let head = store.audit_head().await.unwrap().unwrap();
    assert_eq!((head.seq, head.unchained), (0, 2));
    write_events(&store, 3).await;
    let report = verify(&store).await;
    assert_eq!((report.checked, report.unchained, report.problem), (3, 2, None));

    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE action = 'legacy' AND at = 0")
        .execute(&mut c)
        .await
        .unwrap();
    let problem = verify(&store).await.problem.expect("a problem").to_string();
    assert!(problem.contains("deleted: 1 of the 2 entries older than the chain"), "{problem}");
}
