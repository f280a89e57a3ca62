//! The front door: the public chat-request form at `/start` (posted as a browser without
//! JavaScript posts it), its abuse limits, the SMS policy, and the consent basis staff and the
//! API must give to text a number first.

use std::time::Duration;

use frontdesk_domain::E164;
use frontdesk_domain::front_door::ConversationSource;
use frontdesk_domain::model::{ConsentSource, Role};
use frontdesk_services::audit::Actor;
use frontdesk_services::front_door::FrontDoorSettings;
use serde_json::json;

use crate::support::*;

const SECRET_TEXT: &str = "my bill from March is wrong PURPLE-ELEPHANT";

struct Answer {
    status: u16,
    body: String,
    headers: reqwest::header::HeaderMap,
}

/// The hidden form token of a freshly shown form.
async fn form_token(app: &TestApp, path: &str) -> String {
    let page = app.http.get(app.url(path)).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"form_token\" value=\"";
    let start = page.find(marker).expect("the form has a token") + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

/// Shows the form, then posts it as a browser would (urlencoded, no script), from `ip`.
async fn submit(app: &TestApp, ip: &str, fields: &[(&str, &str)]) -> Answer {
    let token = form_token(app, "/start").await;
    submit_with_token(app, ip, fields, &token).await
}

async fn submit_with_token(app: &TestApp, ip: &str, fields: &[(&str, &str)], token: &str) -> Answer {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("form_token", token));
    let r = app
        .http
        .post(app.url("/start"))
        .header("x-forwarded-for", ip)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&form).unwrap())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    Answer { status, body: r.text().await.unwrap(), headers }
}

fn request<'a>(name: &'a str, phone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("first_name", name),
        ("phone", phone),
        ("reason", "billing"),
        ("message", SECRET_TEXT),
        ("consent", "yes"),
        ("website", ""),
    ]
}

fn sent(app: &TestApp) -> Vec<(String, String)> {
    app.twilio
        .requests()
        .iter()
        .map(|r| (r.field("To").unwrap_or_default().to_string(), r.field("Body").unwrap_or_default().to_string()))
        .collect()
}

async fn wait_sends(app: &TestApp, n: usize) {
    app.eventually(&format!("{n} sends"), || async { (app.twilio.requests().len() >= n).then_some(()) }).await;
}

/// Waits long enough for the dispatcher to have sent anything that was queued.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn a_request_records_contact_consent_and_conversation_and_texts_once_without_the_free_text() {
    let app = TestApp::start().await;
    let page = app.http.get(app.url("/start")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "the form needs no script");
    assert!(html.contains("href=\"/sms-policy\"") && html.contains("Message and data rates may apply"));
    assert!(html.contains("<label for=\"i-first_name\">"));

    let answer = submit(&app, "198.51.100.1", &request("Ana", "(212) 736-5101")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("we got your request"), "{}", answer.body);
    wait_sends(&app, 1).await;
    settle().await;
    let texts = sent(&app);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0].0, "+12127365101");
    assert_eq!(
        texts[0].1,
        "Hi Ana, this is Frontdesk Demo Clinic. We got your request about billing; a team member will text you here soon. Reply STOP to opt out."
    );
    assert!(!texts[0].1.contains("PURPLE"), "the free text is never texted");

    let store = &app.services.store;
    let phone = E164::parse_strict("+12127365101").unwrap();
    let contact = store.contact_by_phone(&phone).await.unwrap().expect("the contact was created");
    let consents = store.consent_events(contact.id).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert!(consents[0].granted);
    assert_eq!(consents[0].source, ConsentSource::WebForm);
    let policy = app.services.current_sms_policy().await.unwrap();
    assert!(consents[0].evidence.contains(&format!("sms_policy v{}", policy.version)), "{}", consents[0].evidence);

    let conversations = app.conversations().await;
    assert_eq!(conversations.len(), 1);
    let id: uuid::Uuid = conversations[0]["id"].as_str().unwrap().parse().unwrap();
    let (source, reason) = store.conversation_origin(id).await.unwrap().unwrap();
    assert_eq!((source, reason.as_deref()), (ConversationSource::WebForm, Some("billing")));
    let summary = store.conversation_summary(id).await.unwrap().unwrap();
    let notes = store.thread_notes(summary.thread.id).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].body.contains(SECRET_TEXT), "staff see the free text as a note");
    app.stop().await;
}

#[tokio::test]
async fn the_honeypot_and_a_replayed_token_send_nothing_but_answer_the_same_page() {
    let app = TestApp::start().await;
    let mut fields = request("Ana", "(212) 736-5102");
    fields.retain(|(k, _)| *k != "website");
    fields.push(("website", "http://spam.example"));
    let bot = submit(&app, "198.51.100.2", &fields).await;
    assert_eq!(bot.status, 200);
    assert!(bot.body.contains("we got your request"));

    let token = form_token(&app, "/start").await;
    let first = submit_with_token(&app, "198.51.100.3", &request("Ben", "(212) 736-5103"), &token).await;
    let replay = submit_with_token(&app, "198.51.100.3", &request("Ben", "(212) 736-5104"), &token).await;
    assert_eq!((first.status, replay.status), (200, 200));
    assert_eq!(first.body, replay.body);
    wait_sends(&app, 1).await;
    settle().await;
    let texts = sent(&app);
    assert_eq!(texts.len(), 1, "only the first use of the token texts: {texts:?}");
    assert_eq!(texts[0].0, "+12127365103");
    let phone = E164::parse_strict("+12127365102").unwrap();
    assert!(app.services.store.contact_by_phone(&phone).await.unwrap().is_none(), "the honeypot writes nothing");
    app.stop().await;
}

#[tokio::test]
async fn a_forged_or_missing_token_is_refused_with_a_fresh_form() {
    let app = TestApp::start().await;
    let forged = submit_with_token(&app, "198.51.100.4", &request("Ana", "(212) 736-5105"), "1.abc.def").await;
    assert_eq!(forged.status, 400);
    assert!(forged.body.contains("send it again"), "{}", forged.body);
    assert!(forged.body.contains("name=\"form_token\""));
    settle().await;
    assert!(sent(&app).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_limits_per_client_and_per_number_answer_429_with_when_to_retry() {
    let app = TestApp::start().await;
    let defaults = FrontDoorSettings::default();
    // Per number: different clients, one number.
    for i in 0..defaults.per_number_per_day {
        let a = submit(&app, &format!("203.0.113.{i}"), &request("Ana", "(212) 736-5110")).await;
        assert_eq!(a.status, 200, "request {i}: {}", a.body);
    }
    let over = submit(&app, "203.0.113.99", &request("Ana", "(212) 736-5110")).await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.headers.contains_key("retry-after"));
    assert!(over.body.contains("try again"), "{}", over.body);

    // Per client: one client, different numbers.
    for i in 0..defaults.per_ip_per_hour {
        let phone = format!("(212) 736-52{i:02}");
        let a = submit(&app, "192.0.2.50", &request("Ben", &phone)).await;
        assert_eq!(a.status, 200, "request {i}: {}", a.body);
    }
    let over = submit(&app, "192.0.2.50", &request("Ben", "(212) 736-5299")).await;
    assert_eq!(over.status, 429);
    assert_eq!(over.headers["retry-after"], "3600");
    settle().await;
    let phone = E164::parse_strict("+12127365299").unwrap();
    assert!(app.services.store.contact_by_phone(&phone).await.unwrap().is_none(), "a refused request writes nothing");
    app.stop().await;
}

#[tokio::test]
async fn numbers_outside_the_allowed_countries_and_bad_fields_are_named() {
    let app = TestApp::start().await;
    let uk = submit(&app, "198.51.100.5", &request("Ana", "+44 20 7946 0958")).await;
    assert_eq!(uk.status, 400);
    assert!(uk.body.contains("href=\"#i-phone\""), "the error summary links to the field: {}", uk.body);
    assert!(uk.body.contains("the US and Canada"));
    assert!(uk.body.contains("aria-invalid=\"true\""));

    let canada = submit(&app, "198.51.100.6", &request("Ana", "+1 604 555 0142")).await;
    assert_eq!(canada.status, 200, "Canada is allowed by default: {}", canada.body);

    let fields = vec![
        ("first_name", "Win $500 at bit.ly"),
        ("phone", "not a number"),
        ("reason", "nonsense"),
        ("message", ""),
        ("website", ""),
    ];
    let bad = submit(&app, "198.51.100.7", &fields).await;
    assert_eq!(bad.status, 400);
    for field in ["first_name", "phone", "reason", "consent"] {
        assert!(bad.body.contains(&format!("href=\"#i-{field}\"")), "{field} named: {}", bad.body);
    }
    assert!(bad.body.contains("value=\"Win $500 at bit.ly\""), "answers are kept");
    let long = "x".repeat(501);
    let mut too_long = request("Ana", "(212) 736-5120");
    too_long.retain(|(k, _)| *k != "message");
    too_long.push(("message", &long));
    let answer = submit(&app, "198.51.100.8", &too_long).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("href=\"#i-message\""));
    settle().await;
    assert_eq!(sent(&app).len(), 1, "only the Canadian request texted");
    app.stop().await;
}

#[tokio::test]
async fn a_repeat_within_ten_minutes_joins_the_conversation_without_a_second_text() {
    let app = TestApp::start().await;
    let a = submit(&app, "198.51.100.9", &request("Ana", "(212) 736-5130")).await;
    wait_sends(&app, 1).await;
    let b = submit(&app, "198.51.100.10", &request("Ana", "(212) 736-5130")).await;
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(a.body, b.body);
    settle().await;
    assert_eq!(sent(&app).len(), 1, "no second text");
    let conversations = app.conversations().await;
    assert_eq!(conversations.len(), 1, "same conversation");
    let id: uuid::Uuid = conversations[0]["id"].as_str().unwrap().parse().unwrap();
    let summary = app.services.store.conversation_summary(id).await.unwrap().unwrap();
    assert_eq!(app.services.store.thread_notes(summary.thread.id).await.unwrap().len(), 2, "both requests visible");
    app.stop().await;
}

#[tokio::test]
async fn a_known_patients_number_and_an_unknown_number_get_identical_answers() {
    let app = TestApp::start().await;
    let (status, _) = app
        .api_post("/api/v1/patients", json!({"first_name": "Ana", "last_name": "Silva", "phone": "+12127365140"}))
        .await;
    assert_eq!(status, 201);
    // The known number has a history too: it texted before.
    app.inbound("SM40000000000000000000000000000001", "+12127365140", "hello").await;
    let known = submit(&app, "198.51.100.11", &request("Ana", "(212) 736-5140")).await;
    let unknown = submit(&app, "198.51.100.12", &request("Ana", "(212) 736-5141")).await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body, unknown.body);
    let strip = |h: &reqwest::header::HeaderMap| {
        let mut names: Vec<String> = h.keys().map(|k| k.to_string()).filter(|k| k != "date").collect();
        names.sort();
        names
    };
    assert_eq!(strip(&known.headers), strip(&unknown.headers));
    app.stop().await;
}

#[tokio::test]
async fn the_sms_policy_is_versioned_and_old_versions_stay_readable() {
    let app = TestApp::start().await;
    let page = app.http.get(app.url("/sms-policy")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for needle in ["Frontdesk Demo Clinic", "STOP", "HELP", "Message and data rates may apply", "Privacy", "Version 1"]
    {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    let admin = app
        .services
        .create_user("admin@example.org", "Ada Admin", Role::Admin, "correct horse battery staple", Actor::System)
        .await
        .unwrap();
    let ctx = app.services.staff_context(admin).await.unwrap();
    let p1 = app.services.current_sms_policy().await.unwrap();
    let same = app
        .services
        .update_sms_policy(&ctx, &p1.policy.purpose, &p1.policy.frequency, &p1.policy.privacy, None)
        .await
        .unwrap();
    assert_eq!(same.version, 1, "an unchanged text keeps its version");
    let v2 = app
        .services
        .update_sms_policy(&ctx, "Appointment reminders only.", &p1.policy.frequency, &p1.policy.privacy, None)
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let current = app.http.get(app.url("/sms-policy")).send().await.unwrap().text().await.unwrap();
    assert!(current.contains("Appointment reminders only.") && current.contains("Version 2"));
    let old = app.http.get(app.url("/sms-policy?version=1")).send().await.unwrap().text().await.unwrap();
    assert!(!old.contains("Appointment reminders only.") && old.contains("Version 1"));
    let err =
        app.services.update_sms_policy(&ctx, " ", &p1.policy.frequency, &p1.policy.privacy, None).await.unwrap_err();
    assert_eq!(err.code(), "invalid");
    assert!(err.to_string().starts_with("purpose"));

    // A request now records consent to version 2.
    submit(&app, "198.51.100.13", &request("Ana", "(212) 736-5150")).await;
    let contact =
        app.services.store.contact_by_phone(&E164::parse_strict("+12127365150").unwrap()).await.unwrap().unwrap();
    let consents = app.services.store.consent_events(contact.id).await.unwrap();
    assert!(consents[0].evidence.contains("sms_policy v2"), "{}", consents[0].evidence);
    app.stop().await;
}

#[tokio::test]
async fn only_the_embedded_form_may_be_framed_and_only_by_the_listed_origins() {
    let app = TestApp::start().await;
    let admin = app
        .services
        .create_user("admin@example.org", "Ada Admin", Role::Admin, "correct horse battery staple", Actor::System)
        .await
        .unwrap();
    let ctx = app.services.staff_context(admin).await.unwrap();
    let settings = FrontDoorSettings {
        embed_origins: vec!["https://www.acme-clinic.example".into()],
        ..FrontDoorSettings::default()
    };
    app.services.update_front_door_settings(&ctx, settings, None).await.unwrap();
    let bad = FrontDoorSettings { embed_origins: vec!["https://x.example; script-src *".into()], ..Default::default() };
    let err = app.services.update_front_door_settings(&ctx, bad, None).await.unwrap_err();
    assert!(err.to_string().starts_with("embed_origins"), "{err}");

    let embed = app.http.get(app.url("/start?embed=1")).send().await.unwrap();
    let csp = embed.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors https://www.acme-clinic.example;"), "{csp}");
    assert!(!embed.headers().contains_key("x-frame-options"));
    let html = embed.text().await.unwrap();
    assert!(html.contains("action=\"/start?embed=1\"") && !html.contains("pf-head"), "frameless");
    for path in ["/start", "/sms-policy", "/login"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(r.headers()["x-frame-options"], "DENY", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn staff_outreach_needs_a_consent_basis() {
    let app = TestApp::start().await;
    let to = "+12127365160";
    let (status, body) = app.api_post("/api/v1/messages", json!({"to": to, "body": "Hello from the clinic"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "consent_basis", "{body}");
    let (status, body) = app
        .api_post("/api/v1/messages", json!({"to": to, "body": "Hello", "consent_basis": "patient_initiated"}))
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("consent_basis")), "{body}");
    let (status, body) =
        app.api_post("/api/v1/messages", json!({"to": to, "body": "Hello", "consent_basis": "verbal"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("consent_note")), "{body}");
    let (status, body) =
        app.api_post("/api/v1/messages", json!({"to": to, "body": "Hello", "consent_basis": "maybe"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("consent_basis")), "{body}");
    settle().await;
    assert!(sent(&app).is_empty(), "nothing was sent without a basis");
    let phone = E164::parse_strict(to).unwrap();
    assert!(app.services.store.contact_by_phone(&phone).await.unwrap().is_none(), "nothing half-saved");

    let (status, body) = app
        .api_post(
            "/api/v1/messages",
            json!({"to": to, "body": "Hello", "consent_basis": "verbal", "consent_note": "agreed by phone today"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let contact = app.services.store.contact_by_phone(&phone).await.unwrap().unwrap();
    let consents = app.services.store.consent_events(contact.id).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].source, ConsentSource::StaffAttestation);
    assert!(!consents[0].evidence.contains("agreed by phone"), "the note is sealed, not in the evidence");
    let id: uuid::Uuid = body["conversation_id"].as_str().unwrap().parse().unwrap();
    let (source, _) = app.services.store.conversation_origin(id).await.unwrap().unwrap();
    assert_eq!(source, ConversationSource::StaffOutreach);

    // Consent is now on record: no basis needed (backward compatible).
    let (status, body) = app.api_post("/api/v1/messages", json!({"to": to, "body": "Second"})).await;
    assert_eq!(status, 201, "{body}");

    // A number that texted first: patient_initiated is accepted and recorded.
    app.inbound("SM40000000000000000000000000000002", "+12127365161", "hello?").await;
    let (status, body) = app
        .api_post(
            "/api/v1/messages",
            json!({"to": "+12127365161", "body": "Hi there", "consent_basis": "patient_initiated"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let contact =
        app.services.store.contact_by_phone(&E164::parse_strict("+12127365161").unwrap()).await.unwrap().unwrap();
    let consents = app.services.store.consent_events(contact.id).await.unwrap();
    assert!(consents.iter().any(|c| c.source == ConsentSource::PatientInitiated && c.granted));
    app.stop().await;
}

#[tokio::test]
async fn an_opted_out_number_is_not_texted_or_resubscribed_by_the_form() {
    let app = TestApp::start().await;
    app.inbound("SM40000000000000000000000000000003", "+12127365170", "STOP").await;
    wait_sends(&app, 1).await; // the one opt-out confirmation
    let answer = submit(&app, "198.51.100.14", &request("Ana", "(212) 736-5170")).await;
    let fresh = submit(&app, "198.51.100.15", &request("Ana", "(212) 736-5171")).await;
    assert_eq!((answer.status, answer.body.as_str()), (fresh.status, fresh.body.as_str()), "the same answer");
    wait_sends(&app, 2).await;
    settle().await;
    let texts = sent(&app);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(texts.iter().filter(|(to, _)| to == "+12127365170").count(), 1, "only the STOP confirmation");
    assert_eq!(texts.iter().filter(|(to, _)| to == "+12127365171").count(), 1);
    let contact =
        app.services.store.contact_by_phone(&E164::parse_strict("+12127365170").unwrap()).await.unwrap().unwrap();
    assert!(contact.opted_out, "a stranger's form cannot resubscribe a number");
    let consents = app.services.store.consent_events(contact.id).await.unwrap();
    assert!(consents.iter().all(|c| c.source != ConsentSource::WebForm));
    let summary = &app.services.store.contact_conversations(contact.id).await.unwrap()[0];
    let notes = app.services.store.thread_notes(summary.thread.id).await.unwrap();
    assert!(notes.iter().any(|n| n.body.contains("opted out of texts")), "staff are told");
    app.stop().await;
}

#[tokio::test]
async fn the_settings_and_the_policy_are_managed_through_the_api() {
    let app = TestApp::start().await;
    let (status, settings) = app.api_get("/api/v1/front-door").await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["allowed_countries"], json!(["US", "CA"]));

    let mut changed = settings.clone();
    changed["reasons"] = json!([{"key": "refills", "label": "Prescription refills"}]);
    changed["allowed_countries"] = json!(["us"]);
    let r = app.http.put(app.url("/api/v1/front-door")).bearer_auth(&app.token).json(&changed).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let saved: serde_json::Value = r.json().await.unwrap();
    assert_eq!(saved["allowed_countries"], json!(["US"]));
    assert_eq!(saved["reasons"][0]["key"], "refills");

    // A wrong field is named and nothing is saved.
    changed["embed_origins"] = json!(["not an origin"]);
    let r = app.http.put(app.url("/api/v1/front-door")).bearer_auth(&app.token).json(&changed).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["field"], "embed_origins", "{body}");
    assert_eq!(app.api_get("/api/v1/front-door").await.1["embed_origins"], json!([]));

    // The form now offers the new reason, and Canada is refused.
    let html = app.http.get(app.url("/start")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Prescription refills") && !html.contains("Billing"));
    let mut fields = request("Ana", "+1 604 555 0142");
    fields.retain(|(k, _)| *k != "reason");
    fields.push(("reason", "refills"));
    assert_eq!(submit(&app, "198.51.100.16", &fields).await.status, 400);

    let policy =
        json!({"purpose": "Refill reminders.", "frequency": "One text per refill.", "privacy": "Kept private."});
    let r = app.http.put(app.url("/api/v1/sms-policy")).bearer_auth(&app.token).json(&policy).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let saved: serde_json::Value = r.json().await.unwrap();
    assert_eq!(saved["version"], 2, "version 1 was saved on first use, the change is version 2");
    let (_, current) = app.api_get("/api/v1/sms-policy").await;
    assert_eq!(current["purpose"], "Refill reminders.");
    let r = app
        .http
        .put(app.url("/api/v1/sms-policy"))
        .bearer_auth(&app.token)
        .json(&json!({"purpose": "", "frequency": "x", "privacy": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    let doc: serde_json::Value =
        app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for path in ["/api/v1/front-door", "/api/v1/sms-policy"] {
        assert!(doc["paths"][path]["put"].is_object(), "{path} documented");
    }
    let start = &doc["paths"]["/api/v1/messages"]["post"];
    assert!(start.to_string().contains("consent_basis"), "the consent basis is documented");
    app.stop().await;
}

#[tokio::test]
async fn the_reason_is_routed_by_the_rules_and_the_first_text_promises_the_departments_time() {
    let app = TestApp::start().await;
    let billing = app.services.add_department_as("Billing office", Actor::System, None).await.unwrap();
    // Open around the clock, so whenever the test runs the promise is a time, not "soon".
    let every_day = json!(["00:00-24:00"]);
    let hours = json!({"mon": every_day, "tue": every_day, "wed": every_day, "thu": every_day,
        "fri": every_day, "sat": every_day, "sun": every_day});
    let path = format!("/api/v1/departments/{}/settings", billing.id);
    let (_, mut settings) = app.api_get(&path).await;
    settings["hours"] = hours;
    settings["response_target_minutes"] = json!(30);
    let r = app.http.put(app.url(&path)).bearer_auth(&app.token).json(&settings).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let rules = json!({"rules": [{"name": "Web billing", "reason": "billing", "department_id": billing.id}]});
    let r = app.http.put(app.url("/api/v1/routing-rules")).bearer_auth(&app.token).json(&rules).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let answer = submit(&app, "198.51.100.40", &request("Ana", "(212) 736-5140")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_sends(&app, 1).await;
    let texts = sent(&app);
    let text = &texts[0].1;
    assert!(text.contains("a team member will text you here by "), "a time is promised: {text}");
    assert!(!text.contains(" soon."), "{text}");

    let conversations = app.conversations().await;
    let id: uuid::Uuid = conversations[0]["id"].as_str().unwrap().parse().unwrap();
    let summary = app.services.store.conversation_summary(id).await.unwrap().unwrap();
    assert_eq!(summary.conversation.department_id, Some(billing.id), "routed by the form's reason");
    let notes = app.services.store.thread_notes(summary.thread.id).await.unwrap();
    assert!(
        notes.iter().any(|n| n.body.starts_with("Routing: ") && n.body.contains("Web billing")),
        "the decision is shown with its reason: {:?}",
        notes.iter().map(|n| n.body.clone()).collect::<Vec<_>>()
    );
    app.stop().await;
}
