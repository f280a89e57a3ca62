//! `db copy`: a SQLite store filled through the public API is copied into a fresh PostgreSQL
//! database, which then reads back the same data with the same master key. The PostgreSQL
//! parts run when `FRONTDESK_TEST_POSTGRES_URL` is set; the refusals that need no target run
//! always.

mod support;

use std::sync::Arc;

use sqlx::Connection as _;

use frontdesk_domain::model::*;
use frontdesk_domain::search::query_terms;
use frontdesk_domain::{Direction, E164, MessageStatus};
use frontdesk_store::copy::{self, CopyOptions, CopyReport, TABLES};
use frontdesk_store::{ConversationQuery, Store, StoreError, StoreResult, Vault};

use support::{Harness, Kind, PG_ENV, t, w};

// ---- a fresh, schema-less PostgreSQL database ----------------------------------------------

struct FreshPg {
    admin: String,
    name: String,
    url: String,
}

impl FreshPg {
    async fn create() -> Option<FreshPg> {
        let admin = std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty())?;
        let name = format!("fd_copy_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(&admin).await.expect("connect to FRONTDESK_TEST_POSTGRES_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.unwrap();
        c.close().await.ok();
        let (base, query) = match admin.split_once('?') {
            Some((b, q)) => (b.to_owned(), format!("?{q}")),
            None => (admin.clone(), String::new()),
        };
        let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
        let host_end = base[after_scheme..].find('/').map(|i| after_scheme + i).unwrap_or(base.len());
        let url = format!("{}/{name}{query}", &base[..host_end]);
        Some(FreshPg { admin, name, url })
    }

    async fn public_tables(&self) -> i64 {
        let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()")
                .fetch_one(&mut c)
                .await
                .unwrap();
        c.close().await.ok();
        n
    }
}

impl Drop for FreshPg {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut c)
                        .await;
                    let _ = c.close().await;
                }
            });
        })
        .join();
    }
}

async fn run_copy(from: &str, to: &str, dry_run: bool) -> StoreResult<CopyReport> {
    let options = CopyOptions { dry_run, batch_size: 2 };
    let mut seen = Vec::new();
    let report = copy::sqlite_to_postgres(from, to, &options, &mut |p| {
        if p.done {
            seen.push(p.table.to_owned())
        }
    })
    .await?;
    let expected: Vec<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
    assert_eq!(seen, expected, "one final progress report per table, in order");
    Ok(report)
}

// ---- fixture: a row of every kind ----------------------------------------------------------

struct Fixture {
    admin: User,
    security: UserSecurity,
    session: Session,
    department: Department,
    number: PracticeNumber,
    contact: Contact,
    patient: Patient,
    thread: Thread,
    conversation: Conversation,
    messages: Vec<Message>,
    token_hash: String,
}

async fn fill(s: &Arc<dyn Store>) -> Fixture {
    let admin = User {
        id: new_id(),
        email: "admin@example.com".into(),
        name: "Ada Admin".into(),
        role: Role::Admin,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$abc$def".into(),
        disabled: false,
        created_at: t(0),
    };
    let staff = User {
        id: new_id(),
        email: "sam@example.com".into(),
        name: "Sam Staff".into(),
        role: Role::Staff,
        disabled: true,
        ..admin.clone()
    };
    let security = UserSecurity {
        totp_secret: Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into()),
        totp_enabled: true,
        failed_logins: 2,
        locked_until: Some(t(90_000)),
        totp_last_step: 58_000_042,
    };
    let session = Session {
        id_hash: "ab".repeat(32),
        user_id: admin.id,
        csrf_token: "csrf-token".into(),
        created_at: t(100),
        last_seen_at: t(200),
        expires_at: t(100 + 12 * 3_600_000),
        mfa_verified: true,
        ip: Some("203.0.113.7".into()),
    };
    let department = Department { id: new_id(), name: "Front desk".into(), created_at: t(1) };
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+12125550100").unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: Some("MG0123456789abcdef0123456789abcdef".into()),
        default_department_id: Some(department.id),
        rate_limit_per_sec: 2.5,
        created_at: t(2),
    };
    let patient = Patient {
        id: new_id(),
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1984, 2, 29),
        mrn: Some("MRN-1906".into()),
        phone: Some(E164::parse_strict("+14155550142").unwrap()),
        status: PatientStatus::Patient,
        created_at: t(3),
    };
    let token = ApiToken {
        id: new_id(),
        name: "EHR bridge".into(),
        token_hash: "f".repeat(64),
        created_by: Some(admin.id),
        created_at: t(4),
        revoked_at: None,
    };

    let (a, st, sec, sess, d, n, p, tok) = (
        admin.clone(),
        staff.clone(),
        security.clone(),
        session.clone(),
        department.clone(),
        number.clone(),
        patient.clone(),
        token.clone(),
    );
    let (contact, thread, conversation, messages) = w(s, move |tx| {
        Box::pin(async move {
            tx.insert_user(&a).await?;
            tx.insert_user(&st).await?;
            tx.update_user_security(a.id, &sec).await?;
            tx.insert_session(&sess).await?;
            tx.insert_api_token(&tok).await?;
            tx.insert_department(&d).await?;
            tx.set_user_departments(st.id, &[d.id]).await?;
            tx.replace_recovery_codes(a.id, &["code-1".into(), "code-2".into(), "code-3".into()]).await?;
            assert!(tx.use_recovery_code(a.id, "code-2", t(300)).await?);
            tx.insert_number(&n).await?;
            let contact = tx.upsert_contact(p.phone.as_ref().unwrap(), t(5)).await?;
            tx.insert_patient(&p).await?;
            tx.link_contact_patient(contact.id, p.id).await?;
            tx.set_legal_hold(&frontdesk_store::audit::LegalHold {
                patient_id: p.id,
                reason: "records request".into(),
                set_by: format!("user:{}", a.id),
                set_at: t(6),
            })
            .await?;
            tx.insert_consent_event(&ConsentEvent {
                id: new_id(),
                contact_id: contact.id,
                purpose: ConsentPurpose::Sms,
                granted: true,
                source: ConsentSource::WebForm,
                evidence: "intake form v3".into(),
                created_at: t(6),
            })
            .await?;
            let thread = tx.upsert_thread_for_update(n.id, contact.id, t(7)).await?;
            let mut conversation = Conversation::open(thread.id, Some(d.id), t(8));
            conversation.assignee_id = Some(a.id);
            conversation.patient_id = Some(p.id);
            conversation.urgent = true;
            conversation.waiting_since = Some(t(10));
            conversation.unread_count = 1;
            conversation.last_message_at = t(20);
            tx.insert_conversation(&conversation).await?;

            assert!(tx.claim_provider_receipt(ProviderKind::Twilio, "SMinbound1", t(10)).await?);
            let inbound = Message {
                id: new_id(),
                conversation_id: conversation.id,
                thread_id: thread.id,
                direction: Direction::Inbound,
                body: "Can I reschedule my appointment to Friday? Photo attached".into(),
                media: vec![MediaRef {
                    url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1".into(),
                    content_type: Some("image/jpeg".into()),
                }],
                sender: SenderKind::Patient,
                sender_user_id: None,
                provider: ProviderKind::Twilio,
                provider_message_id: Some("SMinbound1".into()),
                status: MessageStatus::Received,
                error_code: None,
                error_message: None,
                encoding: "GSM-7".into(),
                segments: 1,
                created_at: t(10),
                updated_at: t(10),
                needs_review: false,
            };
            let outbound = Message {
                id: new_id(),
                direction: Direction::Outbound,
                body: "Yes — Friday at 10:30 works. Reply STOP to opt out.".into(),
                media: vec![],
                sender: SenderKind::Staff,
                sender_user_id: Some(a.id),
                provider_message_id: None,
                status: MessageStatus::Queued,
                encoding: "UCS-2".into(),
                segments: 2,
                created_at: t(20),
                updated_at: t(20),
                needs_review: true,
                ..inbound.clone()
            };
            tx.insert_message(&inbound).await?;
            tx.insert_message(&outbound).await?;
            let mut job = OutboxJob::new(outbound.id, n.id, t(20));
            job.attempts = 3;
            job.last_error = Some("HTTP 503 from the provider".into());
            job.lease_owner = Some("instance-a".into());
            job.lease_until = Some(t(30_000));
            job.handoff_started_at = Some(t(21));
            tx.enqueue_job(&job).await?;
            tx.touch_thread(thread.id, t(20)).await?;
            tx.insert_note(&Note {
                id: new_id(),
                conversation_id: conversation.id,
                thread_id: thread.id,
                author_id: Some(a.id),
                body: "Called back, confirmed the new time.".into(),
                created_at: t(25),
            })
            .await?;
            tx.upsert_template(&Template {
                id: new_id(),
                name: "Reschedule".into(),
                body: "Hi {first_name}, your appointment moved to {time}.".into(),
                created_at: t(26),
                updated_at: t(27),
            })
            .await?;
            tx.put_setting("quiet_hours", r#"{"start":"20:00","end":"08:00"}"#, t(28)).await?;
            tx.insert_audit(&AuditEvent {
                id: new_id(),
                at: t(29),
                actor: format!("user:{}", a.id),
                action: "message.send".into(),
                target: Some(format!("message:{}", outbound.id)),
                ip: Some("198.51.100.4".into()),
                detail: None,
            })
            .await?;
            // The shared limits (0003), so every table has a row.
            tx.reserve_send_slot(n.id, 1_000, 5_000).await?;
            tx.hit_counter("sign-in:198.51.100.4", 5_000, 60_000).await?;
            // Secure forms: a request, its submission and one file.
            let request = frontdesk_domain::forms::FormRequest {
                id: new_id(),
                token_hash: "form-token-hash".into(),
                conversation_id: conversation.id,
                form_key: "phq-9".into(),
                status: frontdesk_domain::forms::FormRequestStatus::Submitted,
                created_at: t(30),
                expires_at: t(40),
                opened_at: Some(t(31)),
                submitted_at: Some(t(32)),
                dob_attempts: 1,
                locked_until: None,
                sent_by: Some(a.id),
            };
            tx.insert_form_request(&request).await?;
            let submission = frontdesk_domain::forms::FormSubmission {
                id: new_id(),
                request_id: request.id,
                answers: Default::default(),
                score: None,
                created_at: t(32),
            };
            tx.insert_form_submission(&submission).await?;
            tx.insert_form_file(&frontdesk_domain::forms::FormFile {
                id: new_id(),
                submission_id: submission.id,
                content_type: "image/png".into(),
                bytes: vec![1, 2, 3],
            })
            .await?;
            // Triage and assignment (0009).
            tx.put_routing_document(r#"{"rules":[],"menu":{"enabled":false,"options":[]}}"#, t(33)).await?;
            let routing = frontdesk_store::triage::ConversationRouting {
                priority: "high".into(),
                tags: vec!["billing".into()],
                menu_state: "done".into(),
            };
            tx.put_conversation_routing(conversation.id, &routing, t(33)).await?;
            tx.put_department_member(d.id, a.id, 7).await?;
            tx.put_user_available(a.id, false, t(34)).await?;
            let setting =
                frontdesk_store::triage::AssignmentSetting { strategy: "least_busy".into(), last_user_id: Some(a.id) };
            tx.put_department_assignment(d.id, &setting).await?;
            // The front door (0008): a policy version and a conversation's source.
            tx.insert_sms_policy(&frontdesk_store::PolicyVersion {
                version: 1,
                policy: frontdesk_domain::front_door::SmsPolicy::default_for("Copy Clinic"),
                created_at: t(33),
                created_by: Some(a.id),
            })
            .await?;
            tx.set_conversation_origin(
                conversation.id,
                frontdesk_domain::front_door::ConversationSource::WebForm,
                Some("billing"),
            )
            .await?;
            // Department hours and automation marks (0007).
            tx.put_department_settings(d.id, r#"{"response_target_minutes":30}"#, t(33)).await?;
            tx.claim_automation_mark("after_hours:copy:2026-06-01", t(33)).await?;
            tx.flag_consent_review(conversation.id, inbound.id, t(33)).await?;
            // Reports (0012): one stored day rollup.
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            tx.put_report_day(&frontdesk_store::StoredDay {
                day,
                time_zone: "UTC".into(),
                computed_at: t(50),
                rollup: frontdesk_domain::reports::DayRollup {
                    version: frontdesk_domain::reports::ROLLUP_VERSION,
                    day,
                    time_zone: "UTC".into(),
                    total: Default::default(),
                    by_department: Default::default(),
                    by_staff: Default::default(),
                    by_number: Default::default(),
                    inbound_by_hour: [0; 24],
                },
            })
            .await?;
            tx.insert_chart_job(&frontdesk_store::ChartJob {
                id: new_id(),
                conversation_id: conversation.id,
                status: frontdesk_store::ChartJobStatus::Failed,
                attempts: 2,
                next_attempt_at: t(41),
                lease_owner: None,
                lease_until: None,
                last_error: Some("HTTP 400: unknown patient".into()),
                requested_by: Some(a.id),
                created_at: t(40),
                updated_at: t(42),
            })
            .await?;
            // A referral (details sealed: copied byte for byte) and its history.
            let referral = frontdesk_domain::referrals::Referral {
                id: new_id(),
                patient_id: p.id,
                status: frontdesk_domain::referrals::ReferralStatus::Contacted,
                details: frontdesk_domain::referrals::ReferralDetails {
                    source: "Valley Cardiology".into(),
                    reason: "Consult".into(),
                    ..Default::default()
                },
                received_at: t(43),
                conversation_id: Some(conversation.id),
                first_contact_at: Some(t(44)),
                next_action_at: Some(t(45)),
                followups: 0,
                updated_at: t(44),
            };
            tx.insert_referral(&referral).await?;
            tx.insert_referral_event(&frontdesk_store::referrals::event(
                referral.id,
                frontdesk_domain::referrals::ReferralStatus::Contacted,
                t(44),
                Some(a.id),
            ))
            .await?;
            // Outreach (0013): a scheduled message sent as the outbound one, a broadcast and
            // one queued recipient.
            let scheduled = frontdesk_store::ScheduledMessage {
                id: new_id(),
                conversation_id: conversation.id,
                contact_id: contact.id,
                body: "Your visit is tomorrow".into(),
                kind: frontdesk_store::outreach::KIND_AUTOMATED.into(),
                sender: SenderKind::Automation,
                created_by: Some(a.id),
                send_at: t(43),
                requested_at: t(43),
                status: frontdesk_store::outreach::SCHEDULED_SENT.into(),
                reason: None,
                message_id: Some(outbound.id),
                created_at: t(42),
                updated_at: t(43),
            };
            tx.insert_scheduled(&scheduled).await?;
            let broadcast = frontdesk_store::outreach::Broadcast {
                id: new_id(),
                body: "Hi {patient.first_name}".into(),
                created_by: Some(a.id),
                created_at: t(42),
            };
            tx.insert_broadcast(&broadcast).await?;
            tx.insert_broadcast_recipient(&frontdesk_store::outreach::BroadcastRecipient {
                broadcast_id: broadcast.id,
                position: 0,
                patient_id: p.id,
                status: frontdesk_store::outreach::RECIPIENT_QUEUED.into(),
                reason: None,
                scheduled_id: Some(scheduled.id),
            })
            .await?;
            let thread = tx.thread_by_id(thread.id).await?.unwrap();
            Ok((contact, thread, conversation, vec![inbound, outbound]))
        })
    })
    .await
    .unwrap();
    Fixture {
        admin,
        security,
        session,
        department,
        number,
        contact,
        patient,
        thread,
        conversation,
        messages,
        token_hash: token.token_hash,
    }
}

/// Everything the fixture wrote, read back through the public API.
async fn assert_reads_back(s: &Arc<dyn Store>, src: &Arc<dyn Store>, f: &Fixture) {
    assert_eq!(s.list_users().await.unwrap(), src.list_users().await.unwrap());
    assert_eq!(s.list_users().await.unwrap().len(), 2);
    assert_eq!(s.user_by_email("admin@example.com").await.unwrap(), Some(f.admin.clone()));
    assert_eq!(s.user_security(f.admin.id).await.unwrap(), f.security, "sealed TOTP secret opens");
    assert_eq!(s.session_by_hash(&f.session.id_hash).await.unwrap(), Some(f.session.clone()));
    assert_eq!(s.unused_recovery_codes(f.admin.id).await.unwrap(), 2);
    for u in src.list_users().await.unwrap() {
        assert_eq!(s.user_departments(u.id).await.unwrap(), src.user_departments(u.id).await.unwrap());
        assert_eq!(s.user_security(u.id).await.unwrap(), src.user_security(u.id).await.unwrap());
    }
    assert_eq!(s.api_token_by_hash(&f.token_hash).await.unwrap(), src.api_token_by_hash(&f.token_hash).await.unwrap());
    assert!(s.api_token_by_hash(&f.token_hash).await.unwrap().is_some());

    assert_eq!(s.list_departments().await.unwrap(), vec![f.department.clone()]);
    assert_eq!(s.list_numbers().await.unwrap(), vec![f.number.clone()]);
    assert_eq!(s.contact_by_phone(&f.contact.phone).await.unwrap(), Some(f.contact.clone()));
    assert_eq!(s.consent_events(f.contact.id).await.unwrap(), src.consent_events(f.contact.id).await.unwrap());
    assert_eq!(s.consent_events(f.contact.id).await.unwrap().len(), 1);

    assert_eq!(s.patient_by_id(f.patient.id).await.unwrap(), Some(f.patient.clone()), "sealed details open");
    assert_eq!(s.patients_for_contact(f.contact.id).await.unwrap(), vec![f.patient.clone()]);
    assert_eq!(s.patients_by_mrn("MRN-1906").await.unwrap(), vec![f.patient.clone()], "blind index still matches");
    assert_eq!(s.search_patients(&query_terms("hopper"), 10).await.unwrap(), vec![f.patient.clone()]);

    let messages = s.thread_messages(f.thread.id).await.unwrap();
    assert_eq!(messages, f.messages, "bodies and media decrypt");
    assert_eq!(messages, src.thread_messages(f.thread.id).await.unwrap());
    let found = s.search_messages(&query_terms("reschedule"), 10).await.unwrap();
    assert_eq!(found, vec![f.messages[0].clone()], "search by a word still finds the message");
    assert_eq!(
        s.message_by_provider_id(ProviderKind::Twilio, "SMinbound1").await.unwrap(),
        Some(f.messages[0].clone())
    );
    assert_eq!(
        s.job_for_message(f.messages[1].id).await.unwrap(),
        src.job_for_message(f.messages[1].id).await.unwrap()
    );
    assert!(s.job_for_message(f.messages[1].id).await.unwrap().is_some());
    assert_eq!(s.outbox_depth().await.unwrap(), 1);

    let summary = s.conversation_summary(f.conversation.id).await.unwrap().unwrap();
    assert_eq!(summary, src.conversation_summary(f.conversation.id).await.unwrap().unwrap());
    assert_eq!(summary.conversation, f.conversation);
    assert_eq!(summary.thread, f.thread);
    let all = ConversationQuery { limit: 50, ..Default::default() };
    assert_eq!(s.list_conversations(&all).await.unwrap(), src.list_conversations(&all).await.unwrap());

    assert_eq!(s.thread_notes(f.thread.id).await.unwrap(), src.thread_notes(f.thread.id).await.unwrap());
    assert_eq!(s.thread_notes(f.thread.id).await.unwrap()[0].body, "Called back, confirmed the new time.");
    assert_eq!(s.list_templates().await.unwrap(), src.list_templates().await.unwrap());
    assert_eq!(s.setting("quiet_hours").await.unwrap().as_deref(), Some(r#"{"start":"20:00","end":"08:00"}"#));
    assert_eq!(s.list_audit(10).await.unwrap(), src.list_audit(10).await.unwrap());
    // The audit chain was copied verbatim and still verifies under the same master key.
    let chain = frontdesk_store::audit::verify_chain(&**s, &mut |_, _| {}).await.unwrap();
    assert_eq!((chain.checked, chain.problem), (1, None));

    // The provider receipt came along: the same delivery is still a duplicate.
    let dup =
        w(s, |tx| Box::pin(async move { tx.claim_provider_receipt(ProviderKind::Twilio, "SMinbound1", t(99)).await }))
            .await
            .unwrap();
    assert!(!dup, "provider receipts were copied");
}

// ---- tests ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copies_sqlite_to_postgres_and_reads_back() {
    let Some(pg) = FreshPg::create().await else {
        eprintln!("skipped: set {PG_ENV} to run the SQLite to PostgreSQL copy test");
        return;
    };
    let src = Harness::new(Kind::Sqlite).await.unwrap();
    let f = fill(&src.store).await;

    // A dry run reads and counts everything and writes nothing, not even the schema.
    let dry = run_copy(&src.url, &pg.url, true).await.unwrap();
    assert!(dry.dry_run);
    assert!(!dry.target_had_schema);
    assert!(dry.verified(), "{:?}", dry.mismatches());
    for table in &dry.tables {
        assert!(table.source > 0, "the fixture leaves {} empty: add a row of it", table.table);
        assert_eq!(table.copied, table.source);
        assert_eq!(table.target, None);
    }
    assert_eq!(pg.public_tables().await, 0, "a dry run created tables");

    // The copy.
    let report = run_copy(&src.url, &pg.url, false).await.unwrap();
    assert!(report.verified(), "{:?}", report.mismatches());
    assert_eq!(report.tables.len(), TABLES.len());
    for table in &report.tables {
        assert_eq!(table.target, Some(table.source), "{}", table.table);
    }
    assert_eq!(report.tables.iter().find(|t| t.table == "messages").unwrap().source, 2);

    // The target, opened with the same master key, reads back the same data.
    let target = frontdesk_store::connect(&pg.url, Arc::new(Vault::new(&src.key))).await.unwrap();
    assert_eq!(target.backend(), "postgres");
    assert_reads_back(&target, &src.store, &f).await;

    // With another key the sealed columns do not open (so the docs' "same key" matters).
    let other =
        frontdesk_store::connect(&pg.url, Arc::new(Vault::new(&frontdesk_store::MasterKey::generate()))).await.unwrap();
    assert!(matches!(other.thread_messages(f.thread.id).await, Err(StoreError::Corrupt(_))));

    // A second copy into the now non-empty target is refused, dry or not, and changes nothing.
    for dry_run in [false, true] {
        let err = run_copy(&src.url, &pg.url, dry_run).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("already holds data") && msg.contains("users"), "{msg}");
    }
    assert_eq!(target.list_users().await.unwrap().len(), 2);
    assert_eq!(target.thread_messages(f.thread.id).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dry_run_into_a_migrated_empty_database_writes_nothing() {
    let Some(pg) = Harness::new(Kind::Postgres).await else {
        eprintln!("skipped: set {PG_ENV} to run the SQLite to PostgreSQL copy test");
        return;
    };
    let src = Harness::new(Kind::Sqlite).await.unwrap();
    fill(&src.store).await;
    let dry = run_copy(&src.url, &pg.url, true).await.unwrap();
    assert!(dry.target_had_schema);
    assert!(dry.verified());
    assert_eq!(pg.store.count_users().await.unwrap(), 0);
    assert!(pg.store.list_numbers().await.unwrap().is_empty());
}

/// The refusals below stop before any PostgreSQL connection is made.
const NOWHERE: &str = "postgres://nobody@127.0.0.1:1/nothing";

#[tokio::test]
async fn refuses_the_wrong_direction() {
    let src = Harness::new(Kind::Sqlite).await.unwrap();
    let err = run_copy(NOWHERE, NOWHERE, true).await.unwrap_err().to_string();
    assert!(err.contains("--from") && err.contains("SQLite"), "{err}");
    let err = run_copy(&src.url, &src.url, true).await.unwrap_err().to_string();
    assert!(err.contains("--to") && err.contains("PostgreSQL"), "{err}");
    let err = run_copy("sqlite:///definitely/not/here.db", NOWHERE, true).await.unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
}

#[tokio::test]
async fn refuses_a_source_table_or_column_it_does_not_know() {
    let src = Harness::new(Kind::Sqlite).await.unwrap();
    src.raw_exec("CREATE TABLE reminders (id BLOB PRIMARY KEY, due_at BIGINT)").await;
    let err = run_copy(&src.url, NOWHERE, true).await.unwrap_err().to_string();
    assert!(err.contains("reminders") && err.contains("does not know"), "{err}");

    let src = Harness::new(Kind::Sqlite).await.unwrap();
    src.raw_exec("ALTER TABLE messages ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0").await;
    let err = run_copy(&src.url, NOWHERE, true).await.unwrap_err().to_string();
    assert!(err.contains("messages") && err.contains("pinned"), "{err}");
}
