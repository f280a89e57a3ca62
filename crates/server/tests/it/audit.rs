//! The audit log, retention and right of access over HTTP: auditors filter and page the log
//! and export it as CSV (the export is itself recorded), staff are refused (403), the API
//! answers the same filters; a patient's records export as a ZIP with a transcript and JSON
//! of every text in both directions and their consent history; a legal hold set by an admin
//! keeps a patient's texts from the retention purge, which records what it removed.

use std::io::Read as _;

use chrono::{TimeDelta, Utc};
use frontdesk_domain::model::Role;
use frontdesk_services::audit::Actor;
use frontdesk_services::retention::RetentionPolicy;
use frontdesk_services::sessions::totp_code_at;
use frontdesk_store::audit::AuditFilter;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::support::TestApp;

const PASSWORD: &str = "correct horse battery staple";
const PATIENT: &str = "+12127365088";
const OTHER: &str = "+12127365089";

struct Browser {
    cookie: String,
    csrf: String,
    user_id: uuid::Uuid,
}

async fn person(app: &TestApp, email: &str, role: Role) -> Browser {
    let user = app.services.create_user(email, "Pat Person", role, PASSWORD, Actor::System).await.unwrap();
    let signed = app.services.sign_in(email, PASSWORD, Some("198.51.100.20".into())).await.unwrap();
    if role != Role::Admin {
        return Browser {
            cookie: format!("fd_session={}", signed.cookie_secret),
            csrf: signed.session.csrf_token,
            user_id: user.id,
        };
    }
    let current = app.services.current_session(&signed.cookie_secret).await.unwrap().unwrap();
    let enrolment = app.services.begin_totp_enrolment(&current.user).await.unwrap();
    let code = totp_code_at(&enrolment.secret_base32, Utc::now()).unwrap();
    let enrolled = app.services.confirm_totp_enrolment(&current, &code, None).await.unwrap();
    let session = app
        .services
        .store
        .session_by_hash(&frontdesk_services::accounts::token_hash(&enrolled.cookie_secret))
        .await
        .unwrap()
        .unwrap();
    Browser { cookie: format!("fd_session={}", enrolled.cookie_secret), csrf: session.csrf_token, user_id: user.id }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

async fn get(app: &TestApp, who: &Browser, path: &str) -> reqwest::Response {
    client()
        .get(app.url(path))
        .header("cookie", &who.cookie)
        .header("x-forwarded-for", "203.0.113.5")
        .send()
        .await
        .unwrap()
}

async fn post_form(app: &TestApp, who: &Browser, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut fields: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    fields.push(("_csrf".into(), who.csrf.clone()));
    client()
        .post(app.url(path))
        .header("cookie", &who.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&fields).unwrap())
        .send()
        .await
        .unwrap()
}

async fn entries(app: &TestApp, action: &str) -> Vec<frontdesk_domain::model::AuditEvent> {
    let filter = AuditFilter { action: Some(action.into()), limit: 100, ..AuditFilter::default() };
    app.services.store.audit_search(&filter).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auditors_filter_page_and_export_the_log_and_staff_are_refused() {
    let app = TestApp::start().await;
    let auditor = person(&app, "auditor@clinic.test", Role::Auditor).await;
    let staff = person(&app, "staff@clinic.test", Role::Staff).await;
    assert_eq!(
        app.inbound("SM000000000000000000000000000a0001", PATIENT, "Can I move my appointment?").await.status(),
        200
    );
    let conversation = app.conversations().await[0]["id"].as_str().unwrap().to_string();

    // Staff open the conversation: recorded with who, when and the address.
    assert_eq!(get(&app, &staff, &format!("/c/{conversation}")).await.status(), 200);
    let views = entries(&app, "conversation.view").await;
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].actor, format!("user:{}", staff.user_id));
    assert_eq!(views[0].ip.as_deref(), Some("203.0.113.5"));
    assert_eq!(views[0].target.as_deref(), Some(format!("conversation:{conversation}").as_str()));

    // The auditor filters by person and action.
    let query = format!("/audit?actor=user:{}&action=conversation.view", staff.user_id);
    let r = get(&app, &auditor, &query).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("conversation:{conversation}")), "{html}");
    assert!(html.contains("203.0.113.5"));
    assert_eq!(html.matches(">conversation.view</th>").count(), 1);
    assert!(!html.contains(">session.sign_in</th>") && !html.contains(">user.create</th>"), "others filtered out");
    // Everything, newest first: the sign-ins and account creations are there too.
    let html = get(&app, &auditor, "/audit").await.text().await.unwrap();
    let (view_at, create_at) = (html.find(">conversation.view</th>").unwrap(), html.find(">user.create</th>").unwrap());
    assert!(view_at < create_at, "newest first");
    // A date range that excludes everything, and a malformed date named.
    let tomorrow = (Utc::now() + TimeDelta::days(2)).format("%Y-%m-%d").to_string();
    let html = get(&app, &auditor, &format!("/audit?from={tomorrow}")).await.text().await.unwrap();
    assert!(html.contains("No entries match"));
    let r = get(&app, &auditor, "/audit?from=31/12/2025").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("from: ") && html.contains("31/12/2025") && html.contains("is not a date"), "{html}");

    // CSV of the filtered rows; the export records itself.
    let r = get(&app, &auditor, "/audit.csv?action=conversation.view").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "at,actor,actor_name,action,target,ip,detail");
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains(",conversation.view,") && lines[1].contains("203.0.113.5"));
    let exports = entries(&app, "audit.export").await;
    assert_eq!(exports.len(), 1);
    assert_eq!(exports[0].actor, format!("user:{}", auditor.user_id));
    assert!(exports[0].detail.as_deref().unwrap().contains("conversation.view"));

    // Staff may not read the log, here or as CSV; nothing is recorded for a refusal.
    assert_eq!(get(&app, &staff, "/audit").await.status(), 403);
    assert_eq!(get(&app, &staff, "/audit.csv").await.status(), 403);
    assert_eq!(entries(&app, "audit.export").await.len(), 1);

    // Pages of 50, newest first, with a link to the older ones.
    for i in 0..60 {
        let e =
            frontdesk_services::audit::entry(&Actor::System, "test.filler", Some(format!("n:{i}")), None, Utc::now());
        frontdesk_store::write(&*app.services.store, move |tx| Box::pin(async move { tx.insert_audit(&e).await }))
            .await
            .unwrap();
    }
    let html = get(&app, &auditor, "/audit?action=test.filler").await.text().await.unwrap();
    assert_eq!(html.matches(">test.filler</th>").count(), 50);
    let older = html.split("id=\"older\"").next().unwrap().rsplit("href=").next().unwrap().to_string();
    assert!(older.contains("page=2") && older.contains("test.filler"), "a link to page 2: {older}");
    let html = get(&app, &auditor, "/audit?action=test.filler&page=2").await.text().await.unwrap();
    assert_eq!(html.matches(">test.filler</th>").count(), 10);
    assert!(html.contains(">n:0<") && !html.contains(">n:59<"));

    // The API: the same filters as JSON.
    let (status, body) = app.api_get("/api/v1/audit?action=audit.export").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(body["entries"][0]["actor_name"], "Pat Person");
    let (status, body) = app.api_get("/api/v1/audit?until=yesterday").await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("until")));
    let (_, doc) = app.api_get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/audit"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/patients/{id}/export"]["get"].is_object());

    // Sign-in failures are recorded with the address.
    let failed = app.services.sign_in("staff@clinic.test", "wrong password", Some("192.0.2.99".into())).await;
    assert!(failed.is_err());
    let failures = entries(&app, "session.sign_in_failed").await;
    assert!(failures.iter().any(|e| e.ip.as_deref() == Some("192.0.2.99")), "{failures:?}");

    // After all this, the chain verifies.
    let report = frontdesk_store::audit::verify_chain(&*app.services.store, &mut |_, _| {}).await.unwrap();
    assert_eq!(report.problem, None);
    assert!(report.checked > 60);
    app.stop().await;
}

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap();
        out.insert(f.name().unwrap().to_string(), content);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn patient_export_and_legal_hold_against_retention() {
    let app = TestApp::start().await;
    let admin = person(&app, "admin@clinic.test", Role::Admin).await;
    let auditor = person(&app, "auditor@clinic.test", Role::Auditor).await;
    let staff = person(&app, "staff@clinic.test", Role::Staff).await;
    let (status, patient) = app
        .api_post(
            "/api/v1/patients",
            json!({"first_name": "Rosa", "last_name": "Diaz", "phone": PATIENT, "mrn": "A-1001"}),
        )
        .await;
    assert_eq!(status, 201, "{patient}");
    let patient_id = patient["id"].as_str().unwrap().to_string();
    // Reading a patient or a message through the API leaves a trace naming the token.
    assert_eq!(app.api_get(&format!("/api/v1/patients/{patient_id}")).await.0, 200);
    let views = entries(&app, "patient.view").await;
    assert!(views[0].actor.starts_with("token:") && views[0].target == Some(format!("patient:{patient_id}")));
    assert_eq!(app.api_get("/api/v1/patients").await.0, 200);
    assert_eq!(entries(&app, "patient.list").await.len(), 1);
    assert_eq!(app.inbound("SM000000000000000000000000000b0001", PATIENT, "Is my refill ready?").await.status(), 200);
    assert_eq!(app.inbound("SM000000000000000000000000000b0002", OTHER, "Someone else entirely").await.status(), 200);
    let conversations = app.conversations().await;
    let ours =
        conversations.iter().find(|c| c["contact"]["phone"] == PATIENT).unwrap()["id"].as_str().unwrap().to_string();
    let (status, reply) = app
        .api_post(&format!("/api/v1/conversations/{ours}/messages"), json!({"body": "Yes, pick it up after 2pm."}))
        .await;
    assert_eq!(status, 201, "{reply}");
    let reply_id = reply["id"].as_str().unwrap();
    assert_eq!(app.api_get(&format!("/api/v1/messages/{reply_id}")).await.0, 200);
    assert_eq!(entries(&app, "message.view").await[0].target, Some(format!("message:{reply_id}")));
    assert_eq!(app.inbound("SM000000000000000000000000000b0003", PATIENT, "STOP").await.status(), 200);

    // The export, for an admin (and an auditor), refused to staff.
    let r = get(&app, &admin, &format!("/patients/{patient_id}/export")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let files = unzip(&r.bytes().await.unwrap());
    let transcript = String::from_utf8(files["transcript.txt"].clone()).unwrap();
    assert!(transcript.contains("Rosa Diaz") && transcript.contains("A-1001"), "{transcript}");
    assert!(transcript.contains("Patient (received): Is my refill ready?"), "{transcript}");
    assert!(transcript.contains("Practice (") && transcript.contains("Yes, pick it up after 2pm."), "{transcript}");
    assert!(transcript.contains("opted out of texts"), "{transcript}");
    assert!(!transcript.contains("Someone else entirely"), "another patient's texts are not included");
    let json: Value = serde_json::from_slice(&files["patient.json"]).unwrap();
    assert_eq!(json["patient"]["id"], patient_id.as_str());
    let messages = json["conversations"][0]["messages"].as_array().unwrap();
    let directions: Vec<&str> = messages.iter().map(|m| m["direction"].as_str().unwrap()).collect();
    assert!(directions.contains(&"inbound") && directions.contains(&"outbound"), "{directions:?}");
    assert!(messages.iter().all(|m| m["created_at"].is_string() && m["status"].is_string()));
    let consent = json["consent_history"].as_array().unwrap();
    assert!(consent.iter().any(|c| c["granted"] == false && c["phone"] == PATIENT), "{consent:?}");
    assert_eq!(get(&app, &auditor, &format!("/patients/{patient_id}/export")).await.status(), 200);
    assert_eq!(get(&app, &staff, &format!("/patients/{patient_id}/export")).await.status(), 403);
    let exports = entries(&app, "patient.export").await;
    assert_eq!(exports.len(), 2);
    assert!(exports.iter().all(|e| e.target.as_deref() == Some(format!("patient:{patient_id}").as_str())));
    // Through the API too.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/patients/{patient_id}/export")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(unzip(&r.bytes().await.unwrap()).contains_key("patient.json"));
    let (status, _) = app.api_get(&format!("/api/v1/patients/{}/export", uuid::Uuid::now_v7())).await;
    assert_eq!(status, 404);

    // A legal hold: admins only, audited, shown on the patient's records page.
    let hold = format!("/patients/{patient_id}/hold");
    assert_eq!(post_form(&app, &auditor, &hold, &[("op", "set"), ("reason", "x")]).await.status(), 403);
    let r = post_form(&app, &admin, &hold, &[("op", "set"), ("reason", "")]).await;
    assert_eq!(r.status(), 422, "a hold needs a reason");
    let r = post_form(&app, &admin, &hold, &[("op", "set"), ("reason", "Malpractice claim 2026-14")]).await;
    assert_eq!(r.status(), 303);
    // The log links entries about a patient to their records page.
    let log = get(&app, &auditor, "/audit?action=patient.hold.set").await.text().await.unwrap();
    assert!(log.contains(&format!("href=\"/patients/{patient_id}/records\"")), "{log}");
    let html = get(&app, &auditor, &format!("/patients/{patient_id}/records")).await.text().await.unwrap();
    assert!(html.contains("On hold since") && html.contains("Malpractice claim 2026-14"), "{html}");
    assert_eq!(entries(&app, "patient.hold.set").await[0].actor, format!("user:{}", admin.user_id));
    let views = entries(&app, "patient.view").await;
    assert!(views.iter().any(|e| e.actor == format!("user:{}", auditor.user_id)), "{views:?}");

    // Retention purges everything older than a day, a day from now: the held patient's texts
    // stay, the other patient's go, and the purge is recorded.
    let policy = RetentionPolicy { messages_days: Some(1), ..RetentionPolicy::default() };
    let later = Utc::now() + TimeDelta::days(2);
    let report = app.services.purge_expired(&policy, later).await.unwrap();
    assert_eq!(report.messages, 1);
    let purges = entries(&app, "retention.purge").await;
    assert_eq!(purges.len(), 1);
    let detail: Value = serde_json::from_str(purges[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!((detail["kind"].as_str(), detail["removed"].as_u64()), (Some("messages"), Some(1)));
    assert_eq!(purges[0].actor, "system");
    let (_, kept) = app.api_get(&format!("/api/v1/conversations/{ours}")).await;
    assert!(kept["messages"].as_array().unwrap().len() >= 3, "{kept}");

    // Released, the hold no longer protects them.
    let r = post_form(&app, &admin, &hold, &[("op", "clear")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(entries(&app, "patient.hold.clear").await.len(), 1);
    let report = app.services.purge_expired(&policy, later).await.unwrap();
    assert!(report.messages >= 3, "{report:?}");
    app.stop().await;
}
