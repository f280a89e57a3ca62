//! Conformance scenarios for secure forms: requests, the one-submission rule, sealed answers
//! and files (no plaintext in the database), thread listing. SQLite always; PostgreSQL when
//! `FRONTDESK_TEST_POSTGRES_URL` is set.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use frontdesk_domain::E164;
use frontdesk_domain::forms::{Answer, FormFile, FormRequest, FormRequestStatus, FormSubmission, Score};
use frontdesk_domain::model::*;
use frontdesk_store::{Store, StoreError};

use support::{Harness, Kind, t, w};

conformance!(form_request_round_trip_and_claim_once, submission_and_files_sealed);

struct Basic {
    thread: Thread,
    conversation: Conversation,
}

async fn basic(store: &Arc<dyn Store>, n: u32) -> Basic {
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict(&format!("+1212555{n:04}")).unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        default_department_id: None,
        rate_limit_per_sec: 1.0,
        created_at: t(1),
    };
    let (thread, conversation) = w(store, move |tx| {
        Box::pin(async move {
            tx.insert_number(&number).await?;
            let contact = tx.upsert_contact(&E164::parse_strict(&format!("+1415555{n:04}")).unwrap(), t(2)).await?;
            let thread = tx.upsert_thread_for_update(number.id, contact.id, t(3)).await?;
            let conversation = Conversation::open(thread.id, None, t(4));
            tx.insert_conversation(&conversation).await?;
            Ok((thread, conversation))
        })
    })
    .await
    .unwrap();
    Basic { thread, conversation }
}

fn request(b: &Basic, token_hash: &str, at: i64) -> FormRequest {
    FormRequest {
        id: new_id(),
        token_hash: token_hash.into(),
        conversation_id: b.conversation.id,
        form_key: "phq-9".into(),
        status: FormRequestStatus::Sent,
        created_at: t(at),
        expires_at: t(at + 72 * 3_600_000),
        opened_at: None,
        submitted_at: None,
        dob_attempts: 0,
        locked_until: None,
        sent_by: None,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn sqlite_bytes(h: &Harness) -> Vec<u8> {
    let db = h.db_path.clone().expect("SQLite harness has a file");
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", db.display())) {
            bytes.extend(b);
        }
    }
    bytes
}

async fn form_request_round_trip_and_claim_once(h: Harness) {
    let s = h.store.clone();
    let b = basic(&s, 1).await;
    let other = basic(&s, 2).await;
    let r1 = request(&b, "hash-one", 10);
    let r2 = request(&b, "hash-two", 20);
    let r3 = request(&other, "hash-three", 15);
    let (a, bb, c) = (r1.clone(), r2.clone(), r3.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_form_request(&a).await?;
            tx.insert_form_request(&bb).await?;
            tx.insert_form_request(&c).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.form_request_by_token_hash("hash-one").await.unwrap(), Some(r1.clone()));
    assert_eq!(s.form_request_by_id(r2.id).await.unwrap(), Some(r2.clone()));
    assert_eq!(s.form_request_by_token_hash("nope").await.unwrap(), None);
    assert_eq!(s.thread_form_requests(b.thread.id).await.unwrap(), vec![r1.clone(), r2.clone()]);

    // The same token twice is a conflict.
    let dup = FormRequest { id: new_id(), ..r1.clone() };
    let err = w(&s, move |tx| Box::pin(async move { tx.insert_form_request(&dup).await })).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    // Opened, with identity-check attempts and a lock.
    let mut opened = r1.clone();
    opened.status = FormRequestStatus::Opened;
    opened.opened_at = Some(t(100));
    opened.dob_attempts = 5;
    opened.locked_until = Some(t(900));
    let o = opened.clone();
    w(&s, move |tx| Box::pin(async move { tx.update_form_request(&o).await })).await.unwrap();
    assert_eq!(s.form_request_by_id(r1.id).await.unwrap(), Some(opened.clone()));

    // Claimed once; a replay, an expired or a revoked request is not.
    let id = r1.id;
    let first = w(&s, move |tx| Box::pin(async move { tx.claim_form_request(id, t(200)).await })).await.unwrap();
    let again = w(&s, move |tx| Box::pin(async move { tx.claim_form_request(id, t(201)).await })).await.unwrap();
    assert!(first && !again);
    let got = s.form_request_by_id(id).await.unwrap().unwrap();
    assert_eq!((got.status, got.submitted_at), (FormRequestStatus::Submitted, Some(t(200))));
    let late = r2.id;
    let expired = w(&s, move |tx| Box::pin(async move { tx.claim_form_request(late, t(20 + 72 * 3_600_000)).await }))
        .await
        .unwrap();
    assert!(!expired);
    let mut revoked = r3.clone();
    revoked.status = FormRequestStatus::Revoked;
    let rv = revoked.clone();
    let claimed = w(&s, move |tx| {
        Box::pin(async move {
            tx.update_form_request(&rv).await?;
            tx.claim_form_request(rv.id, t(30)).await
        })
    })
    .await
    .unwrap();
    assert!(!claimed);
}

async fn submission_and_files_sealed(h: Harness) {
    let s = h.store.clone();
    let b = basic(&s, 3).await;
    let r = request(&b, "hash-sub", 10);
    let marker = format!("ANSWERMARKER{}", new_id().simple());
    let photo_marker = format!("PHOTOMARKER{}", new_id().simple());
    let file_id = new_id();
    let mut answers = BTreeMap::new();
    answers.insert("allergies".to_string(), Answer::Text(format!("penicillin {marker}")));
    answers.insert("card_front".to_string(), Answer::File { id: file_id, content_type: "image/png".into() });
    let sub = FormSubmission {
        id: new_id(),
        request_id: r.id,
        answers,
        score: Some(Score { total: 12, max: 27, band: "moderate".into(), flags: vec![] }),
        created_at: t(50),
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(photo_marker.as_bytes());
    let file = FormFile { id: file_id, submission_id: sub.id, content_type: "image/png".into(), bytes: png };
    let (rr, ss, ff) = (r.clone(), sub.clone(), file.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_form_request(&rr).await?;
            tx.insert_form_submission(&ss).await?;
            tx.insert_form_file(&ff).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.form_submission_by_request(r.id).await.unwrap(), Some(sub.clone()));
    assert_eq!(s.form_submission_by_id(sub.id).await.unwrap(), Some(sub.clone()));
    assert_eq!(s.submission_files(sub.id).await.unwrap(), vec![file.clone()]);
    assert_eq!(s.form_submission_by_id(new_id()).await.unwrap(), None);

    // A second submission for the same request is refused, and nothing of it is kept.
    let second = FormSubmission { id: new_id(), ..sub.clone() };
    let s2 = second.clone();
    let err = w(&s, move |tx| Box::pin(async move { tx.insert_form_submission(&s2).await })).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.form_submission_by_id(second.id).await.unwrap(), None);

    match h.kind {
        Kind::Sqlite => {
            let bytes = sqlite_bytes(&h);
            assert!(contains(&bytes, b"hash-sub"), "the files read hold the rows");
            assert!(!contains(&bytes, marker.as_bytes()), "answers found in plain text in the SQLite files");
            assert!(!contains(&bytes, b"penicillin"));
            assert!(!contains(&bytes, photo_marker.as_bytes()), "photo bytes found in plain text");
        }
        Kind::Postgres => {
            let bytes = h.raw_pg_bytes("SELECT answers FROM form_submissions").await;
            assert!(!bytes.is_empty());
            assert!(!contains(&bytes, marker.as_bytes()));
            let files = h.raw_pg_bytes("SELECT bytes FROM form_files").await;
            assert!(!files.is_empty());
            assert!(!contains(&files, photo_marker.as_bytes()));
        }
    }
}
