//! Conformance scenarios for the staff dashboard's part of the store: sessions, sign-in
//! security, accounts, departments, recovery codes, notes, templates, settings, inbox views,
//! contact and patient lookups and the keyed search index. Run on SQLite always and on
//! PostgreSQL when `FRONTDESK_TEST_POSTGRES_URL` is set, like `tests/conformance.rs`.

mod support;

use std::sync::Arc;

use frontdesk_domain::model::*;
use frontdesk_domain::search::query_terms;
use frontdesk_domain::{Direction, E164, MessageStatus};
use frontdesk_store::{AssigneeFilter, ConversationQuery, ConversationSummary, InboxOrder, Store, StoreError};

use support::{Harness, Kind, t, w};

conformance!(
    sessions_round_trip,
    user_security_round_trip_and_sealed,
    update_user_and_list_users,
    user_departments_and_recovery_codes,
    departments_rename_round_trip_and_missing,
    notes_oldest_first_and_sealed,
    templates_upsert_conflict_delete,
    settings_put_overwrite_missing,
    inbox_views_filter_order_page,
    contact_and_patient_lookups,
    search_messages_and_patients,
);

// ---- fixtures ---------------------------------------------------------------------------

fn phone(n: u32) -> E164 {
    E164::parse_strict(&format!("+1415555{n:04}")).expect("valid test number")
}

fn department(name: &str) -> Department {
    Department { id: new_id(), name: name.into(), created_at: t(0) }
}

fn number(n: u32, department_id: Option<DepartmentId>) -> PracticeNumber {
    PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict(&format!("+1212555{n:04}")).unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        default_department_id: department_id,
        rate_limit_per_sec: 1.0,
        created_at: t(1),
    }
}

fn user(email: &str, name: &str) -> User {
    User {
        id: new_id(),
        email: email.into(),
        name: name.into(),
        role: Role::Staff,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$abc$def".into(),
        disabled: false,
        created_at: t(10),
    }
}

fn patient(first: &str, last: &str, mrn: &str, phone: Option<E164>, at: i64) -> Patient {
    Patient {
        id: new_id(),
        first_name: first.into(),
        last_name: last.into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1984, 2, 29),
        mrn: Some(mrn.into()),
        phone,
        status: PatientStatus::Patient,
        created_at: t(at),
    }
}

fn message(thread_id: ThreadId, conversation_id: ConversationId, at: i64, direction: Direction, body: &str) -> Message {
    let inbound = direction == Direction::Inbound;
    Message {
        id: new_id(),
        conversation_id,
        thread_id,
        direction,
        body: body.into(),
        media: vec![],
        sender: if inbound { SenderKind::Patient } else { SenderKind::Staff },
        sender_user_id: None,
        provider: ProviderKind::Twilio,
        provider_message_id: Some(format!("SM{}", new_id().simple())),
        status: if inbound { MessageStatus::Received } else { MessageStatus::Delivered },
        error_code: None,
        error_message: None,
        encoding: "GSM-7".into(),
        segments: 1,
        created_at: t(at),
        updated_at: t(at),
        needs_review: false,
    }
}

/// A department, a number, a contact, a thread and an open conversation in one write.
struct Basic {
    department: Department,
    number: PracticeNumber,
    contact: Contact,
    thread: Thread,
    conversation: Conversation,
}

async fn basic(store: &Arc<dyn Store>, n: u32) -> Basic {
    let department = department(&format!("Front desk {n}"));
    let number = number(n, Some(department.id));
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
    Basic { department, number, contact, thread, conversation }
}

async fn insert_user(store: &Arc<dyn Store>, u: &User) {
    let u = u.clone();
    w(store, move |tx| Box::pin(async move { tx.insert_user(&u).await })).await.unwrap();
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every byte of the SQLite database files (main file, WAL, shared memory, journal).
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

fn ids(list: &[ConversationSummary]) -> Vec<ConversationId> {
    list.iter().map(|s| s.conversation.id).collect()
}

// ---- sessions -----------------------------------------------------------------------------

async fn sessions_round_trip(h: Harness) {
    let s = h.store.clone();
    let (u1, u2) = (user("one@example.com", "One"), user("two@example.com", "Two"));
    insert_user(&s, &u1).await;
    insert_user(&s, &u2).await;
    let session = |hash: &str, user_id: UserId| Session {
        id_hash: hash.into(),
        user_id,
        csrf_token: format!("csrf-{hash}"),
        created_at: t(100),
        last_seen_at: t(100),
        expires_at: t(100 + 12 * 3_600_000),
        mfa_verified: false,
        ip: Some("203.0.113.7".into()),
    };
    let a = session(&"aa".repeat(32), u1.id);
    let mut b = session(&"bb".repeat(32), u1.id);
    b.ip = None;
    let c = session(&"cc".repeat(32), u2.id);
    let (a1, b1, c1) = (a.clone(), b.clone(), c.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_session(&a1).await?;
            tx.insert_session(&b1).await?;
            tx.insert_session(&c1).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.session_by_hash(&a.id_hash).await.unwrap(), Some(a.clone()));
    assert_eq!(s.session_by_hash(&b.id_hash).await.unwrap(), Some(b.clone()));
    assert_eq!(s.session_by_hash(&c.id_hash).await.unwrap(), Some(c.clone()));
    assert_eq!(s.session_by_hash(&"dd".repeat(32)).await.unwrap(), None);

    // A second session with the same hash is a conflict and changes nothing.
    let mut dup = a.clone();
    dup.user_id = u2.id;
    dup.csrf_token = "other".into();
    let err = w(&s, move |tx| Box::pin(async move { tx.insert_session(&dup).await })).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.session_by_hash(&a.id_hash).await.unwrap(), Some(a.clone()));

    // Update overwrites the CSRF token, last-seen time and second-factor state only.
    let mut updated = a.clone();
    updated.csrf_token = "rotated".into();
    updated.last_seen_at = t(5_000);
    updated.mfa_verified = true;
    let mut attempt = updated.clone();
    attempt.created_at = t(1);
    attempt.expires_at = t(2);
    attempt.ip = Some("198.51.100.1".into());
    w(&s, move |tx| Box::pin(async move { tx.update_session(&attempt).await })).await.unwrap();
    assert_eq!(s.session_by_hash(&a.id_hash).await.unwrap(), Some(updated));

    // Delete one.
    let hash = b.id_hash.clone();
    w(&s, move |tx| Box::pin(async move { tx.delete_session(&hash).await })).await.unwrap();
    assert_eq!(s.session_by_hash(&b.id_hash).await.unwrap(), None);
    assert!(s.session_by_hash(&a.id_hash).await.unwrap().is_some());

    // Delete all of one user's: the other user's session stays.
    let mut again = b.clone();
    again.id_hash = "ee".repeat(32);
    let (again1, uid) = (again.clone(), u1.id);
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_session(&again1).await?;
            tx.delete_user_sessions(uid).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.session_by_hash(&a.id_hash).await.unwrap(), None);
    assert_eq!(s.session_by_hash(&again.id_hash).await.unwrap(), None);
    assert_eq!(s.session_by_hash(&c.id_hash).await.unwrap(), Some(c));
}

// ---- user security ------------------------------------------------------------------------

async fn user_security_round_trip_and_sealed(h: Harness) {
    let s = h.store.clone();
    let u = user("sec@example.com", "Sec");
    let other = user("other@example.com", "Other");
    insert_user(&s, &u).await;
    insert_user(&s, &other).await;

    let default = s.user_security(u.id).await.unwrap();
    assert_eq!(default, UserSecurity::default());
    assert_eq!(default.totp_secret, None);
    assert!(!default.totp_enabled);
    assert_eq!(default.failed_logins, 0);
    assert_eq!(default.locked_until, None);

    let secret = format!("TOTPSECRET{}", new_id().simple().to_string().to_uppercase());
    let security = UserSecurity {
        totp_secret: Some(secret.clone()),
        totp_enabled: true,
        failed_logins: 3,
        locked_until: Some(t(60_000)),
        totp_last_step: 58_000_123,
    };
    let (uid, sec) = (u.id, security.clone());
    let (before, after) = w(&s, move |tx| {
        Box::pin(async move {
            let before = tx.user_security_for_update(uid).await?;
            tx.update_user_security(uid, &sec).await?;
            let after = tx.user_security_for_update(uid).await?;
            Ok((before, after))
        })
    })
    .await
    .unwrap();
    assert_eq!(before, UserSecurity::default());
    assert_eq!(after, security);
    assert_eq!(s.user_security(u.id).await.unwrap(), security);
    // The other account is untouched.
    assert_eq!(s.user_security(other.id).await.unwrap(), UserSecurity::default());
    // The user row itself is unchanged by a security update.
    let stored = s.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(stored.name, u.name);

    // Clearing the secret and the lock works too.
    let cleared = UserSecurity::default();
    let c = cleared.clone();
    w(&s, move |tx| Box::pin(async move { tx.update_user_security(uid, &c).await })).await.unwrap();
    assert_eq!(s.user_security(u.id).await.unwrap(), cleared);
    let sec = security.clone();
    w(&s, move |tx| Box::pin(async move { tx.update_user_security(uid, &sec).await })).await.unwrap();

    // The secret is sealed at rest.
    match h.kind {
        Kind::Sqlite => {
            let bytes = sqlite_bytes(&h);
            assert!(contains(&bytes, "sec@example.com"), "the files read hold the user rows");
            assert!(!contains(&bytes, &secret), "TOTP secret found in plain text in the SQLite files");
        }
        Kind::Postgres => {
            let bytes = h.raw_pg_bytes("SELECT totp_secret FROM users WHERE totp_secret IS NOT NULL").await;
            assert!(!bytes.is_empty());
            assert!(!contains(&bytes, &secret), "TOTP secret stored in plain text");
        }
    }

    // Missing users are errors, for reads and writes.
    let ghost = new_id();
    assert!(s.user_security(ghost).await.is_err());
    let sec = security.clone();
    let results = w(&s, move |tx| {
        Box::pin(async move {
            Ok((tx.update_user_security(ghost, &sec).await.is_err(), tx.user_security_for_update(ghost).await.is_err()))
        })
    })
    .await
    .unwrap();
    assert_eq!(results, (true, true));
}

// ---- accounts ----------------------------------------------------------------------------

async fn update_user_and_list_users(h: Harness) {
    let s = h.store.clone();
    let zed = user("zed@example.com", "Zed Young");
    let amy = user("amy@example.com", "Amy Adams");
    let mia = user("mia@example.com", "Mia Moss");
    for u in [&zed, &amy, &mia] {
        insert_user(&s, u).await;
    }
    let names = |us: Vec<User>| us.into_iter().map(|u| u.name).collect::<Vec<_>>();
    assert_eq!(names(s.list_users().await.unwrap()), ["Amy Adams", "Mia Moss", "Zed Young"]);

    let mut changed = zed.clone();
    changed.email = "Bea.New@Example.COM".into();
    changed.name = "Bea Brown".into();
    changed.role = Role::Admin;
    changed.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$new$hash".into();
    changed.disabled = true;
    let c = changed.clone();
    w(&s, move |tx| Box::pin(async move { tx.update_user(&c).await })).await.unwrap();
    let expected = User { email: "bea.new@example.com".into(), ..changed.clone() };
    assert_eq!(s.user_by_id(zed.id).await.unwrap(), Some(expected.clone()));
    assert_eq!(s.user_by_email("BEA.NEW@example.com").await.unwrap(), Some(expected.clone()));
    assert_eq!(s.user_by_email("zed@example.com").await.unwrap(), None);

    let listed = s.list_users().await.unwrap();
    assert_eq!(names(listed.clone()), ["Amy Adams", "Bea Brown", "Mia Moss"]);
    assert_eq!(listed[1], expected);
    assert_eq!(s.count_users().await.unwrap(), 3);

    // Taking another user's email is a conflict; updating a missing user is an error.
    let mut clash = amy.clone();
    clash.email = "MIA@example.com".into();
    let err = w(&s, move |tx| Box::pin(async move { tx.update_user(&clash).await })).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.user_by_id(amy.id).await.unwrap(), Some(amy));
    let ghost = user("ghost@example.com", "Ghost");
    assert!(w(&s, move |tx| Box::pin(async move { tx.update_user(&ghost).await })).await.is_err());
}

// ---- departments and recovery codes -----------------------------------------------------

async fn user_departments_and_recovery_codes(h: Harness) {
    let s = h.store.clone();
    let u = user("limited@example.com", "Limited");
    let other = user("free@example.com", "Free");
    insert_user(&s, &u).await;
    insert_user(&s, &other).await;
    let (d1, d2, d3) = (department("Billing"), department("Nursing"), department("Front"));
    let ds = [d1.clone(), d2.clone(), d3.clone()];
    w(&s, move |tx| {
        Box::pin(async move {
            for d in &ds {
                tx.insert_department(d).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();

    let sorted = |mut v: Vec<DepartmentId>| {
        v.sort();
        v
    };
    assert!(s.user_departments(u.id).await.unwrap().is_empty());
    let set = |uid: UserId, list: Vec<DepartmentId>| {
        let s = s.clone();
        async move { w(&s, move |tx| Box::pin(async move { tx.set_user_departments(uid, &list).await })).await }
    };
    set(u.id, vec![d1.id, d2.id]).await.unwrap();
    set(other.id, vec![d3.id]).await.unwrap();
    assert_eq!(s.user_departments(u.id).await.unwrap(), sorted(vec![d1.id, d2.id]));
    // Replace, not add.
    set(u.id, vec![d3.id, d2.id]).await.unwrap();
    assert_eq!(s.user_departments(u.id).await.unwrap(), sorted(vec![d2.id, d3.id]));
    // Clear.
    set(u.id, vec![]).await.unwrap();
    assert!(s.user_departments(u.id).await.unwrap().is_empty());
    assert_eq!(s.user_departments(other.id).await.unwrap(), vec![d3.id]);

    // Recovery codes.
    assert_eq!(s.unused_recovery_codes(u.id).await.unwrap(), 0);
    let codes: Vec<String> = ["h-one", "h-two", "h-three"].iter().map(|c| c.to_string()).collect();
    let (uid, oid) = (u.id, other.id);
    let c = codes.clone();
    w(&s, move |tx| {
        Box::pin(async move {
            tx.replace_recovery_codes(uid, &c).await?;
            tx.replace_recovery_codes(oid, &["h-other".to_string()]).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.unused_recovery_codes(u.id).await.unwrap(), 3);
    let uses = w(&s, move |tx| {
        Box::pin(async move {
            Ok(vec![
                tx.use_recovery_code(uid, "h-one", t(10)).await?,
                tx.use_recovery_code(uid, "h-one", t(11)).await?,
                tx.use_recovery_code(uid, "h-unknown", t(12)).await?,
                // Another user's code is not this user's.
                tx.use_recovery_code(uid, "h-other", t(13)).await?,
            ])
        })
    })
    .await
    .unwrap();
    assert_eq!(uses, [true, false, false, false]);
    assert_eq!(s.unused_recovery_codes(u.id).await.unwrap(), 2);
    assert_eq!(s.unused_recovery_codes(other.id).await.unwrap(), 1);

    // Replacing discards the old codes, used or not.
    let fresh: Vec<String> = vec!["h-four".into(), "h-five".into()];
    let outcome = w(&s, move |tx| {
        Box::pin(async move {
            tx.replace_recovery_codes(uid, &fresh).await?;
            Ok((tx.use_recovery_code(uid, "h-two", t(20)).await?, tx.use_recovery_code(uid, "h-five", t(21)).await?))
        })
    })
    .await
    .unwrap();
    assert_eq!(outcome, (false, true));
    assert_eq!(s.unused_recovery_codes(u.id).await.unwrap(), 1);
}

// ---- notes -------------------------------------------------------------------------------

async fn notes_oldest_first_and_sealed(h: Harness) {
    let s = h.store.clone();
    let f = basic(&s, 1).await;
    let g = basic(&s, 2).await;
    let author = user("author@example.com", "Author");
    insert_user(&s, &author).await;
    let marker = format!("NOTEMARKER{}", new_id().simple());
    let note = |at: i64, body: &str, author_id: Option<UserId>, b: &Basic| Note {
        id: new_id(),
        conversation_id: b.conversation.id,
        thread_id: b.thread.id,
        author_id,
        body: body.into(),
        created_at: t(at),
    };
    let late = note(300, "called back, left voicemail", Some(author.id), &f);
    let early = note(100, &format!("allergic to penicillin {marker}"), Some(author.id), &f);
    let middle = note(200, "system note", None, &f);
    let elsewhere = note(150, "another thread", None, &g);
    let ns = vec![late.clone(), early.clone(), middle.clone(), elsewhere.clone()];
    w(&s, move |tx| {
        Box::pin(async move {
            for n in &ns {
                tx.insert_note(n).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(s.thread_notes(f.thread.id).await.unwrap(), vec![early.clone(), middle, late]);
    assert_eq!(s.thread_notes(g.thread.id).await.unwrap(), vec![elsewhere]);
    assert!(s.thread_notes(new_id()).await.unwrap().is_empty());

    // Inserting the same note twice is a conflict.
    let dup = early.clone();
    let err = w(&s, move |tx| Box::pin(async move { tx.insert_note(&dup).await })).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    match h.kind {
        Kind::Sqlite => {
            let bytes = sqlite_bytes(&h);
            assert!(contains(&bytes, "author@example.com"), "the files read hold the rows");
            assert!(!contains(&bytes, &marker), "note body found in plain text in the SQLite files");
            assert!(!contains(&bytes, "penicillin"));
        }
        Kind::Postgres => {
            let bytes = h.raw_pg_bytes("SELECT body FROM notes").await;
            assert!(!bytes.is_empty());
            assert!(!contains(&bytes, &marker), "note body stored in plain text");
            assert!(!contains(&bytes, "penicillin"));
        }
    }
}

// ---- templates ---------------------------------------------------------------------------

async fn templates_upsert_conflict_delete(h: Harness) {
    let s = h.store.clone();
    assert!(s.list_templates().await.unwrap().is_empty());
    let template = |name: &str, body: &str| Template {
        id: new_id(),
        name: name.into(),
        body: body.into(),
        created_at: t(1),
        updated_at: t(1),
    };
    let welcome = template("Welcome", "Hi {first_name}, thanks for texting us.");
    let after_hours = template("After hours", "We are closed; we will reply at 8am.");
    let (a, b) = (welcome.clone(), after_hours.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            tx.upsert_template(&a).await?;
            tx.upsert_template(&b).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.list_templates().await.unwrap(), vec![after_hours.clone(), welcome.clone()]);

    // Same id: an update (rename included), not a second row.
    let mut renamed = welcome.clone();
    renamed.name = "Zz greeting".into();
    renamed.body = "Hello {first_name}!".into();
    renamed.updated_at = t(50);
    let r = renamed.clone();
    w(&s, move |tx| Box::pin(async move { tx.upsert_template(&r).await })).await.unwrap();
    assert_eq!(s.list_templates().await.unwrap(), vec![after_hours.clone(), renamed.clone()]);

    // Another template with a name already taken is a conflict (by insert or by rename).
    let clash = template("After hours", "duplicate");
    let err = w(&s, move |tx| Box::pin(async move { tx.upsert_template(&clash).await })).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let mut rename_clash = renamed.clone();
    rename_clash.name = "After hours".into();
    let err = w(&s, move |tx| Box::pin(async move { tx.upsert_template(&rename_clash).await })).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.list_templates().await.unwrap(), vec![after_hours.clone(), renamed.clone()]);

    // Delete, then delete again (missing: an error).
    let id = after_hours.id;
    w(&s, move |tx| Box::pin(async move { tx.delete_template(id).await })).await.unwrap();
    assert_eq!(s.list_templates().await.unwrap(), vec![renamed]);
    assert!(w(&s, move |tx| Box::pin(async move { tx.delete_template(id).await })).await.is_err());
    let ghost = new_id();
    assert!(w(&s, move |tx| Box::pin(async move { tx.delete_template(ghost).await })).await.is_err());
}

// ---- departments -------------------------------------------------------------------------

async fn departments_rename_round_trip_and_missing(h: Harness) {
    let s = h.store.clone();
    let front = department("Front desk");
    let billing = department("Billing");
    let (a, b) = (front.clone(), billing.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_department(&a).await?;
            tx.insert_department(&b).await
        })
    })
    .await
    .unwrap();
    let sorted = |mut list: Vec<Department>| {
        list.sort_by_key(|d| d.id);
        list
    };

    // A rename changes the name only; the other department is untouched.
    let id = front.id;
    w(&s, move |tx| Box::pin(async move { tx.rename_department(id, "Reception · 2nd floor").await })).await.unwrap();
    let renamed = Department { name: "Reception · 2nd floor".into(), ..front.clone() };
    assert_eq!(sorted(s.list_departments().await.unwrap()), sorted(vec![renamed.clone(), billing.clone()]));

    // Renaming to the same name again is fine (one row matched).
    w(&s, move |tx| Box::pin(async move { tx.rename_department(id, "Reception · 2nd floor").await })).await.unwrap();

    // A missing department is an error naming it, and nothing changes.
    let ghost = new_id();
    let err = w(&s, move |tx| Box::pin(async move { tx.rename_department(ghost, "Ghost").await })).await.unwrap_err();
    assert!(err.to_string().contains(&ghost.to_string()), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(sorted(s.list_departments().await.unwrap()), sorted(vec![renamed, billing.clone()]));

    // A failed rename inside a transaction rolls back the rest of it.
    let bid = billing.id;
    let err = w(&s, move |tx| {
        Box::pin(async move {
            tx.rename_department(bid, "Accounts").await?;
            tx.rename_department(ghost, "Ghost").await
        })
    })
    .await;
    assert!(err.is_err());
    let names: Vec<String> = s.list_departments().await.unwrap().into_iter().map(|d| d.name).collect();
    assert!(names.contains(&"Billing".to_string()), "{names:?}");
}

// ---- settings ----------------------------------------------------------------------------

async fn settings_put_overwrite_missing(h: Harness) {
    let s = h.store.clone();
    assert_eq!(s.setting("practice.hours").await.unwrap(), None);
    w(&s, move |tx| {
        Box::pin(async move {
            tx.put_setting("practice.hours", r#"{"open":"08:00"}"#, t(1)).await?;
            tx.put_setting("practice.name", r#""Main St Clinic""#, t(1)).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.setting("practice.hours").await.unwrap().as_deref(), Some(r#"{"open":"08:00"}"#));
    w(&s, move |tx| Box::pin(async move { tx.put_setting("practice.hours", r#"{"open":"09:00"}"#, t(2)).await }))
        .await
        .unwrap();
    assert_eq!(s.setting("practice.hours").await.unwrap().as_deref(), Some(r#"{"open":"09:00"}"#));
    assert_eq!(s.setting("practice.name").await.unwrap().as_deref(), Some(r#""Main St Clinic""#));
    assert_eq!(s.setting("missing").await.unwrap(), None);
}

// ---- inbox views -------------------------------------------------------------------------

struct Inbox {
    d1: Department,
    d2: Department,
    u1: User,
    u2: User,
    patient: Patient,
    /// Newest activity first.
    newest: Vec<Conversation>,
    threads: Vec<Thread>,
    last_messages: Vec<Option<Message>>,
}

/// Eight conversations over two departments, one thread each.
async fn inbox(s: &Arc<dyn Store>) -> Inbox {
    use ConversationStatus::*;
    let (d1, d2) = (department("Front desk"), department("Nursing"));
    let (n1, n2) = (number(1, Some(d1.id)), number(2, Some(d2.id)));
    let (u1, u2) = (user("u1@example.com", "Uma One"), user("u2@example.com", "Ugo Two"));
    let patient = patient("Ada", "Lovelace", "MRN-1", Some(phone(99)), 5);
    // (department, status, assignee, urgent, waiting_since, last_message_at, linked patient)
    #[allow(clippy::type_complexity)]
    let specs: Vec<(u8, ConversationStatus, u8, bool, Option<i64>, i64, bool)> = vec![
        (1, Open, 0, true, Some(100), 1_000, true),
        (1, Open, 1, false, Some(50), 1_100, false),
        (1, Waiting, 2, false, None, 1_200, false),
        (1, Snoozed, 0, false, None, 1_300, false),
        (2, Open, 1, true, Some(200), 1_400, true),
        (2, Closed, 2, false, None, 1_500, false),
        (2, Open, 0, false, Some(10), 1_600, false),
        (2, Waiting, 0, true, None, 1_700, false),
    ];
    let (dd1, dd2, nn1, nn2, uu1, uu2, pp) =
        (d1.clone(), d2.clone(), n1.clone(), n2.clone(), u1.clone(), u2.clone(), patient.clone());
    let (conversations, threads, last_messages) = w(s, move |tx| {
        Box::pin(async move {
            tx.insert_department(&dd1).await?;
            tx.insert_department(&dd2).await?;
            tx.insert_number(&nn1).await?;
            tx.insert_number(&nn2).await?;
            tx.insert_user(&uu1).await?;
            tx.insert_user(&uu2).await?;
            tx.insert_patient(&pp).await?;
            let mut conversations = Vec::new();
            let mut threads = Vec::new();
            let mut last_messages = Vec::new();
            for (i, (dept, status, assignee, urgent, waiting, last, linked)) in specs.into_iter().enumerate() {
                let unread = i as i64;
                let nb = if dept == 1 { &nn1 } else { &nn2 };
                let contact = tx.upsert_contact(&phone(10 + i as u32), t(2)).await?;
                let thread = tx.upsert_thread_for_update(nb.id, contact.id, t(3)).await?;
                let mut c = Conversation::open(thread.id, Some(if dept == 1 { dd1.id } else { dd2.id }), t(4));
                c.status = status;
                c.assignee_id = match assignee {
                    1 => Some(uu1.id),
                    2 => Some(uu2.id),
                    _ => None,
                };
                c.urgent = urgent;
                c.waiting_since = waiting.map(t);
                c.last_message_at = t(last);
                c.patient_id = linked.then_some(pp.id);
                if status == Closed {
                    c.closed_at = Some(t(last));
                }
                c.unread_count = unread;
                tx.insert_conversation(&c).await?;
                // Conversation 3 has no messages; the others an older inbound message and,
                // for odd ones, a newer outbound reply. Inserted newest first, so the preview
                // cannot rely on insertion order.
                let mut newest = None;
                if i != 3 {
                    let first = message(thread.id, c.id, last - 20, Direction::Inbound, &format!("question {i}"));
                    if i % 2 == 1 {
                        let reply = message(thread.id, c.id, last - 10, Direction::Outbound, &format!("reply {i}"));
                        tx.insert_message(&reply).await?;
                        newest = Some(reply);
                    } else {
                        newest = Some(first.clone());
                    }
                    tx.insert_message(&first).await?;
                }
                conversations.push(c);
                threads.push(thread);
                last_messages.push(newest);
            }
            Ok((conversations, threads, last_messages))
        })
    })
    .await
    .unwrap();
    // Listed newest activity first.
    let mut newest = conversations;
    newest.reverse();
    let mut threads = threads;
    threads.reverse();
    let mut last_messages = last_messages;
    last_messages.reverse();
    Inbox { d1, d2, u1, u2, patient, newest, threads, last_messages }
}

fn query() -> ConversationQuery {
    ConversationQuery { limit: 100, ..ConversationQuery::default() }
}

/// The listed ids equal the newest-first fixture filtered by `keep`, and the count agrees.
async fn check_view(s: &Arc<dyn Store>, inbox: &Inbox, q: ConversationQuery, keep: impl Fn(&Conversation) -> bool) {
    let expected: Vec<ConversationId> = inbox.newest.iter().filter(|c| keep(c)).map(|c| c.id).collect();
    let listed = s.list_conversations(&q).await.unwrap();
    assert_eq!(ids(&listed), expected, "{q:?}");
    assert_eq!(s.count_conversations(&q).await.unwrap(), expected.len() as i64, "{q:?}");
}

async fn inbox_views_filter_order_page(h: Harness) {
    use ConversationStatus::*;
    let s = h.store.clone();
    let ib = inbox(&s).await;

    // Everything, newest first, with the summary filled in.
    let all = s.list_conversations(&query()).await.unwrap();
    assert_eq!(all.len(), 8);
    assert_eq!(s.count_conversations(&query()).await.unwrap(), 8);
    for (i, summary) in all.iter().enumerate() {
        assert_eq!(summary.conversation, ib.newest[i]);
        assert_eq!(summary.thread.id, ib.threads[i].id);
        assert_eq!(summary.contact.id, ib.threads[i].contact_id);
        assert_eq!(summary.number.id, ib.threads[i].number_id);
        match &ib.newest[i].patient_id {
            Some(_) => assert_eq!(summary.patient.as_ref(), Some(&ib.patient)),
            None => assert_eq!(summary.patient, None),
        }
        let expected = ib.last_messages[i].as_ref();
        let preview = summary.last_message.as_ref();
        assert_eq!(preview.map(|p| p.direction), expected.map(|m| m.direction), "preview of {i}");
        assert_eq!(preview.map(|p| p.body.as_str()), expected.map(|m| m.body.as_str()), "preview of {i}");
        assert_eq!(preview.map(|p| p.created_at), expected.map(|m| m.created_at), "preview of {i}");
        assert_eq!(s.conversation_summary(summary.conversation.id).await.unwrap().as_ref(), Some(summary));
    }
    // At least one preview is an outbound reply and one conversation has none.
    assert!(all.iter().any(|x| x.last_message.as_ref().is_some_and(|p| p.direction == Direction::Outbound)));
    assert!(all.iter().any(|x| x.last_message.is_none()));

    // Statuses.
    check_view(&s, &ib, ConversationQuery { statuses: vec![Open], ..query() }, |c| c.status == Open).await;
    check_view(&s, &ib, ConversationQuery { statuses: vec![Open, Waiting], ..query() }, |c| {
        matches!(c.status, Open | Waiting)
    })
    .await;
    check_view(&s, &ib, ConversationQuery { statuses: vec![Closed], ..query() }, |c| c.status == Closed).await;

    // Assignee.
    check_view(&s, &ib, ConversationQuery { assignee: AssigneeFilter::Unassigned, ..query() }, |c| {
        c.assignee_id.is_none()
    })
    .await;
    let u1 = ib.u1.id;
    check_view(&s, &ib, ConversationQuery { assignee: AssigneeFilter::User(u1), ..query() }, |c| {
        c.assignee_id == Some(u1)
    })
    .await;
    let u2 = ib.u2.id;
    check_view(
        &s,
        &ib,
        ConversationQuery { assignee: AssigneeFilter::User(u2), statuses: vec![Waiting], ..query() },
        |c| c.assignee_id == Some(u2) && c.status == Waiting,
    )
    .await;
    check_view(&s, &ib, ConversationQuery { assignee: AssigneeFilter::User(new_id()), ..query() }, |_| false).await;

    // Departments.
    let (d1, d2) = (ib.d1.id, ib.d2.id);
    check_view(&s, &ib, ConversationQuery { department: Some(d1), ..query() }, |c| c.department_id == Some(d1)).await;
    check_view(&s, &ib, ConversationQuery { department: Some(d2), ..query() }, |c| c.department_id == Some(d2)).await;
    check_view(&s, &ib, ConversationQuery { within_departments: Some(vec![d2]), ..query() }, |c| {
        c.department_id == Some(d2)
    })
    .await;
    check_view(&s, &ib, ConversationQuery { within_departments: Some(vec![d1, d2]), ..query() }, |_| true).await;
    check_view(&s, &ib, ConversationQuery { within_departments: Some(vec![]), ..query() }, |_| false).await;
    check_view(&s, &ib, ConversationQuery { within_departments: Some(vec![new_id()]), ..query() }, |_| false).await;
    check_view(
        &s,
        &ib,
        ConversationQuery { department: Some(d1), within_departments: Some(vec![d2]), ..query() },
        |_| false,
    )
    .await;

    // Urgent.
    check_view(&s, &ib, ConversationQuery { urgent_only: true, ..query() }, |c| c.urgent).await;
    check_view(&s, &ib, ConversationQuery { urgent_only: true, department: Some(d2), ..query() }, |c| {
        c.urgent && c.department_id == Some(d2)
    })
    .await;

    // Keyset `before`.
    let cut = ib.newest[3].last_message_at;
    check_view(&s, &ib, ConversationQuery { before: Some(cut), ..query() }, |c| c.last_message_at < cut).await;

    // Longest waiting: oldest waiting_since first, then the rest by newest activity.
    let waiting_q = ConversationQuery { order: InboxOrder::LongestWaiting, ..query() };
    let listed = s.list_conversations(&waiting_q).await.unwrap();
    let mut expected: Vec<&Conversation> = ib.newest.iter().filter(|c| c.waiting_since.is_some()).collect();
    expected.sort_by_key(|c| c.waiting_since);
    expected.extend(ib.newest.iter().filter(|c| c.waiting_since.is_none()));
    let expected: Vec<ConversationId> = expected.iter().map(|c| c.id).collect();
    assert_eq!(ids(&listed), expected);
    let waits: Vec<Option<i64>> = listed
        .iter()
        .map(|x| x.conversation.waiting_since.map(|w| w.timestamp_millis() - t(0).timestamp_millis()))
        .collect();
    assert_eq!(waits, [Some(10), Some(50), Some(100), Some(200), None, None, None, None]);
    let tail: Vec<_> = listed[4..].iter().map(|x| x.conversation.last_message_at).collect();
    assert!(tail.windows(2).all(|p| p[0] > p[1]), "no-wait tail is newest first: {tail:?}");
    // Filters apply to this order too.
    let open_waiting = ConversationQuery { statuses: vec![Open], department: Some(d1), ..waiting_q.clone() };
    let listed = s.list_conversations(&open_waiting).await.unwrap();
    let expected: Vec<ConversationId> = [&ib.newest[6], &ib.newest[7]].iter().map(|c| c.id).collect();
    assert_eq!(ids(&listed), expected, "conversation 1 (waiting 50) before 0 (waiting 100)");
    assert_eq!(s.count_conversations(&open_waiting).await.unwrap(), 2);

    // Offset/limit paging, in both orders: pages concatenate to the full list, and the count
    // ignores paging.
    for order in [InboxOrder::Newest, InboxOrder::LongestWaiting] {
        let full = ids(&s.list_conversations(&ConversationQuery { order, ..query() }).await.unwrap());
        let mut paged = Vec::new();
        for page in 0..3 {
            let q = ConversationQuery { order, offset: page * 3, limit: 3, ..query() };
            let got = ids(&s.list_conversations(&q).await.unwrap());
            assert_eq!(got.len(), if page < 2 { 3 } else { 2 });
            assert_eq!(s.count_conversations(&q).await.unwrap(), 8);
            paged.extend(got);
        }
        assert_eq!(paged, full, "{order:?}");
        let beyond = ConversationQuery { order, offset: 8, limit: 3, ..query() };
        assert!(s.list_conversations(&beyond).await.unwrap().is_empty());
    }
    let filtered_page = ConversationQuery { statuses: vec![Open], offset: 1, limit: 2, ..query() };
    let opens: Vec<ConversationId> = ib.newest.iter().filter(|c| c.status == Open).map(|c| c.id).collect();
    assert_eq!(ids(&s.list_conversations(&filtered_page).await.unwrap()), opens[1..3].to_vec());
    assert_eq!(s.count_conversations(&filtered_page).await.unwrap(), opens.len() as i64);
}

// ---- contact and patient lookups ---------------------------------------------------------

async fn contact_and_patient_lookups(h: Harness) {
    let s = h.store.clone();
    let f = basic(&s, 1).await;
    let second_number = number(2, None);
    let stranger = basic(&s, 3).await;
    let older = patient("Grace", "Hopper", "MRN-77", Some(phone(1)), 30);
    let newer = patient("Alan", "Hopper", "MRN-78", Some(phone(1)), 40);
    let same_mrn = patient("Other", "Person", "MRN-77", None, 50);
    let unlinked = patient("Solo", "Person", "MRN-99", None, 60);

    let (nb, contact, first) = (second_number.clone(), f.contact.clone(), f.conversation.clone());
    let (p_old, p_new, p_same, p_solo) = (older.clone(), newer.clone(), same_mrn.clone(), unlinked.clone());
    let (second_thread, closed, current, about_new) = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_number(&nb).await?;
            for p in [&p_old, &p_new, &p_same, &p_solo] {
                tx.insert_patient(p).await?;
            }
            // Linked in the opposite order of creation: the list is by creation.
            tx.link_contact_patient(contact.id, p_new.id).await?;
            tx.link_contact_patient(contact.id, p_old.id).await?;
            tx.link_contact_patient(contact.id, p_old.id).await?;

            // The first conversation (on the first number) is closed and about the older patient.
            let mut closed = first.clone();
            closed.status = ConversationStatus::Closed;
            closed.closed_at = Some(t(500));
            closed.last_message_at = t(500);
            closed.patient_id = Some(p_old.id);
            tx.update_conversation(&closed).await?;
            // A newer one on the same thread, and one on a second number's thread.
            let mut current = Conversation::open(first.thread_id, None, t(600));
            current.last_message_at = t(900);
            current.patient_id = Some(p_new.id);
            tx.insert_conversation(&current).await?;
            let thread = tx.upsert_thread_for_update(nb.id, contact.id, t(700)).await?;
            let mut about_new = Conversation::open(thread.id, None, t(700));
            about_new.last_message_at = t(800);
            about_new.patient_id = Some(p_new.id);
            tx.insert_conversation(&about_new).await?;
            Ok((thread, closed, current, about_new))
        })
    })
    .await
    .unwrap();

    // Every conversation of the contact, across numbers, newest first.
    let listed = s.contact_conversations(f.contact.id).await.unwrap();
    assert_eq!(ids(&listed), vec![current.id, about_new.id, closed.id]);
    assert_eq!(listed[1].thread, second_thread);
    assert_eq!(listed[1].number, second_number);
    assert_eq!(listed[0].number, f.number);
    assert_eq!(listed[2].conversation.department_id, Some(f.department.id));
    assert!(listed.iter().all(|x| x.contact == f.contact));
    assert_eq!(listed[2].conversation, closed);
    assert_eq!(listed[2].patient.as_ref(), Some(&older));
    assert_eq!(listed[0].patient.as_ref(), Some(&newer));
    assert_eq!(ids(&s.contact_conversations(stranger.contact.id).await.unwrap()), vec![stranger.conversation.id]);
    assert!(s.contact_conversations(new_id()).await.unwrap().is_empty());

    // By patient.
    assert_eq!(ids(&s.patient_conversations(newer.id).await.unwrap()), vec![current.id, about_new.id]);
    assert_eq!(ids(&s.patient_conversations(older.id).await.unwrap()), vec![closed.id]);
    assert!(s.patient_conversations(unlinked.id).await.unwrap().is_empty());

    // Patients of a contact: both linked ones, oldest first, linked once.
    assert_eq!(s.patients_for_contact(f.contact.id).await.unwrap(), vec![older.clone(), newer.clone()]);
    assert!(s.patients_for_contact(stranger.contact.id).await.unwrap().is_empty());

    // By MRN: exact match only.
    assert_eq!(s.patients_by_mrn("MRN-77").await.unwrap(), vec![older.clone(), same_mrn.clone()]);
    assert_eq!(s.patients_by_mrn("MRN-99").await.unwrap(), vec![unlinked]);
    assert!(s.patients_by_mrn("MRN-7").await.unwrap().is_empty());
    assert!(s.patients_by_mrn("MRN-00").await.unwrap().is_empty());

    // Contact by id, as a read and inside a write.
    assert_eq!(s.contact_by_id(f.contact.id).await.unwrap(), Some(f.contact.clone()));
    assert_eq!(s.contact_by_id(new_id()).await.unwrap(), None);
    let cid = f.contact.id;
    let in_tx = w(&s, move |tx| Box::pin(async move { tx.contact_by_id(cid).await })).await.unwrap();
    assert_eq!(in_tx, Some(f.contact.clone()));
}

// ---- search ------------------------------------------------------------------------------

async fn search_messages_and_patients(h: Harness) {
    let s = h.store.clone();
    let f = basic(&s, 1).await;
    let (th, cv) = (f.thread.id, f.conversation.id);
    let reschedule = message(th, cv, 100, Direction::Inbound, "Can I reschedule my appointment to Friday?");
    let refill = message(th, cv, 200, Direction::Inbound, "José needs a refill");
    let refill2 = message(th, cv, 300, Direction::Outbound, "The refill is ready for pickup");
    let refill3 = message(th, cv, 400, Direction::Inbound, "Thanks! Another refill next month, Friday maybe");
    let grace = patient("Grace", "Hopper", "MRN-1", Some(phone(42)), 10);
    let grace2 = patient("Grace", "Kelly", "MRN-2", Some(phone(43)), 20);
    let jose = patient("José", "Núñez", "MRN-3", None, 30);
    let all = vec![reschedule.clone(), refill.clone(), refill2.clone(), refill3.clone()];
    let ps = vec![grace.clone(), grace2.clone(), jose.clone()];
    w(&s, move |tx| {
        Box::pin(async move {
            for m in &all {
                tx.insert_message(m).await?;
            }
            for p in &ps {
                tx.insert_patient(p).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let found = |v: Vec<Message>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();

    // Every term must match.
    assert_eq!(found(s.search_messages(&query_terms("reschedule friday"), 10).await.unwrap()), vec![reschedule.id]);
    assert_eq!(s.search_messages(&query_terms("reschedule friday"), 10).await.unwrap(), vec![reschedule.clone()]);
    assert_eq!(found(s.search_messages(&query_terms("FRIDAY"), 10).await.unwrap()), vec![refill3.id, reschedule.id]);
    assert!(s.search_messages(&query_terms("reschedule refill"), 10).await.unwrap().is_empty());
    assert!(s.search_messages(&query_terms("reschedule tuesday"), 10).await.unwrap().is_empty());
    assert!(s.search_messages(&query_terms("resched"), 10).await.unwrap().is_empty(), "whole terms only");
    // Accents fold both ways.
    assert_eq!(found(s.search_messages(&query_terms("jose"), 10).await.unwrap()), vec![refill.id]);
    assert_eq!(found(s.search_messages(&query_terms("JOSÉ refill"), 10).await.unwrap()), vec![refill.id]);
    // A repeated term is still one term.
    assert_eq!(found(s.search_messages(&["jose".to_string(), "jose".to_string()], 10).await.unwrap()), vec![refill.id]);
    // No terms: nothing (not everything).
    assert!(s.search_messages(&[], 10).await.unwrap().is_empty());
    assert!(s.search_messages(&query_terms("a ! ?"), 10).await.unwrap().is_empty());
    // Newest first, limit honoured.
    assert_eq!(
        found(s.search_messages(&query_terms("refill"), 10).await.unwrap()),
        vec![refill3.id, refill2.id, refill.id]
    );
    assert_eq!(found(s.search_messages(&query_terms("refill"), 2).await.unwrap()), vec![refill3.id, refill2.id]);

    // Patients by name words (any order, folded) and by phone term.
    let pids = |v: Vec<Patient>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(s.search_patients(&query_terms("grace"), 10).await.unwrap(), vec![grace.clone(), grace2.clone()]);
    assert_eq!(pids(s.search_patients(&query_terms("Hopper Grace"), 10).await.unwrap()), vec![grace.id]);
    // The limit keeps the newest matches (the index is walked newest first).
    assert_eq!(pids(s.search_patients(&query_terms("grace"), 1).await.unwrap()), vec![grace2.id]);
    assert_eq!(pids(s.search_patients(&query_terms("nunez jose"), 10).await.unwrap()), vec![jose.id]);
    assert!(s.search_patients(&query_terms("grace nunez"), 10).await.unwrap().is_empty());
    assert!(s.search_patients(&[], 10).await.unwrap().is_empty());
    let tel = format!("tel:{}", phone(42).as_str());
    assert_eq!(pids(s.search_patients(std::slice::from_ref(&tel), 10).await.unwrap()), vec![grace.id]);
    assert_eq!(pids(s.search_patients(&[tel.clone(), "grace".into()], 10).await.unwrap()), vec![grace.id]);
    assert!(s.search_patients(&[tel.clone(), "kelly".into()], 10).await.unwrap().is_empty());
    assert!(s.search_patients(&[format!("tel:{}", phone(44).as_str())], 10).await.unwrap().is_empty());
    // A phone number's digits are not a name word.
    let digits = phone(42).as_str().trim_start_matches('+').to_string();
    assert!(s.search_patients(&[digits], 10).await.unwrap().is_empty());

    // The database holds neither the words nor the bodies.
    let word = "reschedule";
    match h.kind {
        Kind::Sqlite => {
            let bytes = sqlite_bytes(&h);
            assert!(contains(&bytes, "GSM-7"), "the files read hold the message rows");
            for w in [word, "Friday", "friday", "refill", "Hopper", "hopper", tel.as_str()] {
                assert!(!contains(&bytes, w), "{w} found in plain text in the SQLite files");
            }
        }
        Kind::Postgres => {
            let mut bytes = h.raw_pg_bytes("SELECT convert_to(term, 'UTF8') FROM message_terms").await;
            assert!(!bytes.is_empty());
            bytes.extend(h.raw_pg_bytes("SELECT convert_to(term, 'UTF8') FROM patient_terms").await);
            bytes.extend(h.raw_pg_bytes("SELECT body FROM messages").await);
            bytes.extend(h.raw_pg_bytes("SELECT details FROM patients").await);
            for w in [word, "Friday", "friday", "refill", "Hopper", "hopper", tel.as_str()] {
                assert!(!contains(&bytes, w), "{w} stored in plain text");
            }
        }
    }
}
