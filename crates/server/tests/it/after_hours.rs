//! Department hours at work over HTTP: the after-hours reply (once a day, with the honest
//! reply time, not when staff just replied), urgent replies (988 / 911 at any hour, urgent
//! flag, on-call SMS without the patient's words), and department settings validation
//! through the admin API and the admin page (CSRF, nothing half-saved).
//!
//! The app runs on the real clock, so each test chooses hours relative to "now" in UTC: a
//! department whose only opening is two hours from now is closed now, one open 00:00–24:00
//! every day is open now (the "noon" case), one with no hours is closed (the "night" case).

use std::time::Duration;

use chrono::{Timelike, Utc};
use frontdesk_domain::model::{DepartmentId, ProviderKind};
use frontdesk_services::audit::Actor;
use frontdesk_services::numbers::NewNumber;
use serde_json::{Value, json};

use crate::authz::Site;
use crate::support::{ACCOUNT_SID, SentRequest, TestApp};

/// A practice number whose default department is the one under test.
const DEPT_NUMBER: &str = "+12125550190";
const ON_CALL: &str = "+12125550999";

async fn department_app(name: &str) -> (TestApp, DepartmentId) {
    let app = TestApp::start().await;
    let department = app.services.add_department_as(name, Actor::System, None).await.unwrap();
    let number = NewNumber {
        e164: DEPT_NUMBER.into(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        rate_limit_per_sec: Some(200.0),
    };
    app.services.add_number_in(number, Some(department.id), Actor::System).await.unwrap();
    (app, department.id)
}

async fn put_settings(app: &TestApp, id: DepartmentId, body: Value) -> (u16, Value) {
    let r = app
        .http
        .put(app.url(&format!("/api/v1/departments/{id}/settings")))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A patient's text to the department's number, signed.
async fn text(app: &TestApp, sid: &str, from: &str, body: &str) {
    let r = app
        .twilio_post(
            "/webhooks/twilio/messages",
            &[
                ("MessageSid", sid),
                ("AccountSid", ACCOUNT_SID),
                ("From", from),
                ("To", DEPT_NUMBER),
                ("Body", body),
                ("NumMedia", "0"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
}

fn sent_to(app: &TestApp, to: &str) -> Vec<SentRequest> {
    app.twilio.requests().into_iter().filter(|r| r.field("To") == Some(to)).collect()
}

async fn wait_sent(app: &TestApp, to: &str, count: usize) -> Vec<SentRequest> {
    app.eventually(&format!("{count} texts to {to}"), || async {
        let sent = sent_to(app, to);
        (sent.len() >= count).then_some(sent)
    })
    .await
}

/// Hours whose only opening, every day, is 02:00–03:00 after the current UTC hour: closed
/// now. Returns the settings and the ETA expected with a 30-minute target.
fn closed_now_settings() -> (Value, String) {
    let now = Utc::now();
    let open_hour = (now.hour() + 2) % 24;
    let span = format!("{open_hour:02}:00-{:02}:00", (open_hour + 1) % 24);
    let days: serde_json::Map<String, Value> =
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].iter().map(|d| (d.to_string(), json!([span]))).collect();
    let (h12, ampm) = match open_hour {
        0 => (12, "AM"),
        1..=11 => (open_hour, "AM"),
        12 => (12, "PM"),
        _ => (open_hour - 12, "PM"),
    };
    let tomorrow = if open_hour < now.hour() { " tomorrow" } else { "" };
    let eta = format!("by {h12}:30 {ampm}{tomorrow}");
    let settings = json!({
        "time_zone": "UTC",
        "hours": days,
        "response_target_minutes": 30,
        "after_hours_text": "Thanks for your message. We are closed and will reply {eta}. If this is an emergency, call 911.",
    });
    (settings, eta)
}

#[tokio::test]
async fn after_hours_reply_once_a_day_with_the_honest_time() {
    let (app, department) = department_app("Front desk").await;
    let (settings, eta) = closed_now_settings();
    let (status, saved) = put_settings(&app, department, settings).await;
    assert_eq!(status, 200, "{saved}");

    let patient = "+12127365101";
    text(&app, "SM10000000000000000000000000000001", patient, "Can I get a refill of my inhaler?").await;
    let sent = wait_sent(&app, patient, 1).await;
    let body = sent[0].field("Body").unwrap();
    assert!(body.contains(&format!("will reply {eta}.")), "{body} should promise {eta}");
    assert!(body.contains("If this is an emergency, call 911"), "{body}");

    // A second text the same day: no second reply. A third patient's text is the barrier:
    // once its reply is out, the second text's would have been too.
    text(&app, "SM10000000000000000000000000000002", patient, "Also my address changed").await;
    let other = "+12127365102";
    text(&app, "SM10000000000000000000000000000003", other, "Question about my bill").await;
    wait_sent(&app, other, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sent_to(&app, patient).len(), 1, "one after-hours reply per conversation per day");

    // Keywords get their own reply, not the after-hours one.
    let third = "+12127365103";
    text(&app, "SM10000000000000000000000000000004", third, "HELP").await;
    let help = wait_sent(&app, third, 1).await;
    assert!(!help[0].field("Body").unwrap().contains("will reply"), "HELP gets the help text only");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sent_to(&app, third).len(), 1);
}

#[tokio::test]
async fn no_after_hours_reply_when_staff_just_replied() {
    let (app, department) = department_app("Billing").await;
    let (settings, _) = closed_now_settings();
    assert_eq!(put_settings(&app, department, settings).await.0, 200);

    // Staff (through the API) text the patient first, then the patient answers.
    let patient = "+12127365111";
    let (status, body) = app
        .api_post(
            "/api/v1/messages",
            json!({"to": patient, "from": DEPT_NUMBER, "body": "Your forms are ready.",
                "consent_basis": "verbal", "consent_note": "Agreed at the front desk"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    wait_sent(&app, patient, 1).await;
    text(&app, "SM10000000000000000000000000000011", patient, "Thanks, when can I pick them up?").await;

    // Barrier: another patient's text gets its after-hours reply.
    let other = "+12127365112";
    text(&app, "SM10000000000000000000000000000012", other, "Hello?").await;
    wait_sent(&app, other, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sent_to(&app, patient).len(), 1, "staff replied minutes ago: no after-hours reply");
}

async fn urgent_case(open: bool) {
    let (app, department) = department_app("Nurses").await;
    let hours = if open {
        json!({"mon": ["00:00-24:00"], "tue": ["00:00-24:00"], "wed": ["00:00-24:00"], "thu": ["00:00-24:00"],
               "fri": ["00:00-24:00"], "sat": ["00:00-24:00"], "sun": ["00:00-24:00"]})
    } else {
        json!({})
    };
    let (status, saved) = put_settings(
        &app,
        department,
        json!({
            "time_zone": "UTC",
            "hours": hours,
            "response_target_minutes": 30,
            "after_hours_text": "We are closed and will reply {eta}. If this is an emergency, call 911.",
            "on_call_phone": ON_CALL,
        }),
    )
    .await;
    assert_eq!(status, 200, "{saved}");

    let patient = "+12127365121";
    let words = "I keep thinking I want to kill myself";
    text(&app, "SM10000000000000000000000000000021", patient, words).await;
    let sent = wait_sent(&app, patient, 1).await;
    let reply = sent[0].field("Body").unwrap();
    assert!(reply.contains("988"), "the suicidal-thoughts reply gives 988: {reply}");

    // The on-call phone gets a link, never the patient's words.
    let on_call = wait_sent(&app, ON_CALL, 1).await;
    let alert = on_call[0].field("Body").unwrap();
    let conversation = app.conversations().await.into_iter().find(|c| c["urgent"] == true).expect("flagged urgent");
    let id = conversation["id"].as_str().unwrap();
    assert!(alert.contains(&format!("/c/{id}")), "{alert}");
    assert!(alert.starts_with("Frontdesk: urgent message waiting"), "{alert}");
    for word in ["kill", "myself", "thinking", patient] {
        assert!(!alert.contains(word), "the on-call text must not carry patient data: {alert}");
    }

    // A second urgent text within the hour: the patient gets no repeat of the same
    // instruction and the on-call phone no second text; a chest-pain text gets 911.
    text(&app, "SM10000000000000000000000000000022", patient, "I really want to die").await;
    text(&app, "SM10000000000000000000000000000023", patient, "and now chest pain too").await;
    let sent = wait_sent(&app, patient, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_now = sent_to(&app, patient);
    assert_eq!(sent_now.len(), 2, "{:?}", sent_now.iter().map(|r| r.field("Body")).collect::<Vec<_>>());
    assert!(sent[1].field("Body").unwrap().contains("911"));
    assert_eq!(sent_to(&app, ON_CALL).len(), 1, "at most one on-call text per conversation per hour");
    // No after-hours reply on top of the urgent one (closed case).
    assert!(sent_now.iter().all(|r| !r.field("Body").unwrap().contains("will reply")));
}

#[tokio::test]
async fn urgent_reply_with_988_during_office_hours() {
    urgent_case(true).await;
}

#[tokio::test]
async fn urgent_reply_with_988_at_night() {
    urgent_case(false).await;
}

#[tokio::test]
async fn settings_validation_through_the_api_names_fields_and_saves_nothing() {
    let (app, department) = department_app("Imaging").await;
    let (status, before) = app.api_get(&format!("/api/v1/departments/{department}/settings")).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["hours"]["mon"], json!(["08:00-17:00"]), "defaults until saved");

    let (status, body) = put_settings(
        &app,
        department,
        json!({
            "time_zone": "Mars/Olympus_Mons",
            "hours": {"tue": ["08:00-12:00, 11:00-17:00"], "wed": ["25:00-26:00"]},
            "holidays": ["2026-02-30"],
            "response_target_minutes": 0,
            "after_hours_text": "We reply {when}",
            "on_call_phone": "555",
        }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid");
    let message = body["error"]["message"].as_str().unwrap();
    for field in ["time_zone", "hours.wed", "holidays", "response_target_minutes", "after_hours_text", "on_call_phone"]
    {
        assert!(message.contains(&format!("{field}:")), "{field} is named in {message}");
    }
    assert!(body["error"]["field"].is_string());
    let (_, after) = app.api_get(&format!("/api/v1/departments/{department}/settings")).await;
    assert_eq!(after, before, "nothing was saved");

    // Overlapping spans are named by day once every day parses.
    let (status, body) = put_settings(
        &app,
        department,
        json!({"hours": {"fri": ["22:00-06:00"], "sat": ["05:00-09:00"]}, "response_target_minutes": 30,
               "after_hours_text": "Closed; reply {eta}."}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "hours.sat", "{body}");

    // A valid save, normalised, and listed.
    let (status, body) = put_settings(
        &app,
        department,
        json!({"hours": {"mon": ["8:00 - 12:00, 13:00-17:00"]}, "holidays": [" 2026-12-25 "], "response_target_minutes": 45,
               "after_hours_text": " Closed; we reply {eta}. Emergencies: 911. ", "on_call_phone": "+1 212 555 0999"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hours"]["mon"], json!(["08:00-12:00", "13:00-17:00"]));
    assert_eq!(body["holidays"], json!(["2026-12-25"]));
    assert_eq!(body["on_call_phone"], "+12125550999");
    let (status, list) = app.api_get("/api/v1/departments").await;
    assert_eq!(status, 200);
    let listed = list["departments"].as_array().unwrap().iter().find(|d| d["name"] == "Imaging").unwrap().clone();
    assert_eq!(listed["settings_saved"], true);
    assert_eq!(listed["settings"]["response_target_minutes"], 45);

    // Unknown department, unknown field, no token.
    let (status, _) =
        put_settings(&app, uuid::Uuid::now_v7(), json!({"response_target_minutes": 5, "after_hours_text": "x"})).await;
    assert_eq!(status, 404);
    let (status, _) =
        put_settings(&app, department, json!({"response_target_minutes": 5, "after_hours_text": "x", "colour": 1}))
            .await;
    assert_eq!(status, 422);
    let r = app.http.get(app.url("/api/v1/departments")).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // The OpenAPI document lists the routes.
    let doc: Value = app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/api/v1/departments"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/departments/{id}/settings"]["put"].is_object());
}

#[tokio::test]
async fn the_admin_page_validates_with_csrf_and_saves_all_or_nothing() {
    let site = Site::start().await;
    let (admin, _) = site.enrolled_admin("admin@clinic.test").await;
    let department = site.services.add_department_as("Front desk", Actor::System, None).await.unwrap();
    let path = format!("/admin/departments/{}/settings", department.id);

    // Reachable from the departments page.
    let page = site.http.get(site.url("/admin/departments")).header("cookie", &admin.cookie).send().await.unwrap();
    assert!(page.text().await.unwrap().contains(&format!("href=\"{path}\"")));
    let r = site.http.get(site.url(&path)).header("cookie", &admin.cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<label for=\"hours-mon\">Monday</label>"), "{html}");
    assert!(html.contains("value=\"08:00-17:00\""));

    let bad = [
        ("hours_mon", "08:00-12:00, 11:30-17:00"),
        ("hours_tue", "08:00-17:00"),
        ("time_zone", "Nowhere/Atlantis"),
        ("holidays", "2026-13-01"),
        ("response_target_minutes", "30"),
        ("staff_reply_quiet_minutes", "10"),
        ("after_hours_text", "Closed; we reply {eta}. Call 911 in an emergency."),
        ("on_call_phone", "+1 212 555 0999"),
    ];
    // Without the CSRF token: refused before the handler.
    let r = site.http.post(site.url(&path)).header("cookie", &admin.cookie).form(&bad).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // With it: 422, every field named, the input kept, nothing saved.
    let mut form: Vec<(&str, &str)> = vec![("_csrf", &admin.csrf)];
    form.extend_from_slice(&bad);
    let r = site.http.post(site.url(&path)).header("cookie", &admin.cookie).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Nothing was saved"), "{html}");
    assert!(html.contains("Monday hours: hours overlap"), "{html}");
    assert!(html.contains("Time zone: unknown time zone"), "{html}");
    assert!(html.contains("Holidays: "), "{html}");
    assert!(html.contains("value=\"Nowhere/Atlantis\""), "the input is kept");
    assert_eq!(site.services.store.department_settings(department.id).await.unwrap(), None, "nothing half-saved");

    // Corrected: saved, and the page says so.
    let good: Vec<(&str, &str)> = form
        .iter()
        .map(|(k, v)| match *k {
            "hours_mon" => (*k, "08:00-12:00, 13:00-17:00"),
            "time_zone" => (*k, "America/Chicago"),
            "holidays" => (*k, "2026-12-25"),
            _ => (*k, *v),
        })
        .collect();
    let r = site.http.post(site.url(&path)).header("cookie", &admin.cookie).form(&good).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("{path}?done=saved").as_str());
    let saved = site.services.department_with_settings(department.id).await.unwrap();
    assert!(saved.saved);
    assert_eq!(saved.settings.time_zone, "America/Chicago");
    assert_eq!(saved.settings.hours["mon"], vec!["08:00-12:00", "13:00-17:00"]);
    assert_eq!(saved.settings.on_call_phone.as_deref(), Some("+12125550999"));
    let audit = site.services.store.list_audit(20).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "department.settings"));
    site.stop().await;
}

#[tokio::test]
async fn free_text_revocations_clear_are_honoured_and_unclear_are_flagged_for_staff() {
    let site = Site::start().await;
    let (admin, _) = site.enrolled_admin("admin@clinic.test").await;
    site.services
        .add_number(
            NewNumber {
                e164: crate::support::PRACTICE.into(),
                provider: ProviderKind::Twilio,
                messaging_service_sid: None,
                rate_limit_per_sec: Some(200.0),
            },
            Actor::System,
        )
        .await
        .unwrap();
    let get = |path: String| {
        let r = site.http.get(site.url(&path)).header("cookie", &admin.cookie).send();
        async move { r.await.unwrap().text().await.unwrap() }
    };

    // Unclear: flagged in the inbox and on the conversation page, consent unchanged.
    site.inbound_from("SM30000000000000000000000000000001", "+12127365131", "can you stop").await;
    let contact = site
        .services
        .store
        .contact_by_phone(&frontdesk_domain::E164::parse_strict("+12127365131").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!contact.opted_out);
    let conversation = site.services.store.contact_conversations(contact.id).await.unwrap().remove(0).conversation.id;
    let inbox = get("/".into()).await;
    assert!(inbox.contains("Check consent<span class=\"visually-hidden\">: a text may ask to stop texting"), "{inbox}");
    let page = get(format!("/c/{conversation}")).await;
    assert!(page.contains("id=\"consent-review\""), "{page}");

    // Staff decide to opt the patient out: one confirmation, the flag gone.
    let form = [("_csrf", admin.csrf.as_str()), ("decision", "opt_out")];
    let r = site
        .http
        .post(site.url(&format!("/c/{conversation}/consent-review")))
        .header("cookie", &admin.cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let contact = site.services.store.contact_by_id(contact.id).await.unwrap().unwrap();
    assert!(contact.opted_out);
    let messages = site
        .services
        .store
        .thread_messages(site.services.store.contact_conversations(contact.id).await.unwrap()[0].thread.id);
    let outbound: Vec<_> =
        messages.await.unwrap().into_iter().filter(|m| m.direction == frontdesk_domain::Direction::Outbound).collect();
    assert_eq!(outbound.len(), 1, "one confirmation");
    assert!(!get(format!("/c/{conversation}")).await.contains("id=\"consent-review\""));
    // Deciding again changes nothing and sends nothing.
    let r = site
        .http
        .post(site.url(&format!("/c/{conversation}/consent-review")))
        .header("cookie", &admin.cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // Clear: opted out at once with one confirmation, nothing flagged.
    site.inbound_from("SM30000000000000000000000000000002", "+12127365132", "Please stop texting me").await;
    let clear = site
        .services
        .store
        .contact_by_phone(&frontdesk_domain::E164::parse_strict("+12127365132").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(clear.opted_out);
    let summary = site.services.store.contact_conversations(clear.id).await.unwrap().remove(0);
    let replies = site.services.store.thread_messages(summary.thread.id).await.unwrap();
    assert_eq!(replies.iter().filter(|m| m.direction == frontdesk_domain::Direction::Outbound).count(), 1);
    assert!(!site.services.store.open_consent_reviews().await.unwrap().contains(&summary.conversation.id));
    site.stop().await;
}

#[tokio::test]
async fn overdue_conversations_are_marked_and_escalated_once_to_the_lead() {
    let (app, department) = department_app("Referrals").await;
    let lead = app
        .services
        .create_user(
            "lead@clinic.test",
            "Lee Lead",
            frontdesk_domain::model::Role::Staff,
            "correct horse battery staple",
            Actor::System,
        )
        .await
        .unwrap();
    let hours: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!(["00:00-24:00"])))
        .collect();
    let (status, body) = put_settings(
        &app,
        department,
        json!({"time_zone": "UTC", "hours": hours, "response_target_minutes": 30,
               "after_hours_text": "Closed; we reply {eta}. Call 911 in an emergency.", "lead_user_id": lead.id}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    text(&app, "SM40000000000000000000000000000001", "+12127365141", "Has my referral been sent?").await;
    let conversation = app.conversations().await[0]["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap();
    let summary = app.services.store.conversation_summary(conversation).await.unwrap().unwrap();

    // Not overdue now; overdue 31 minutes later (open around the clock).
    let now = frontdesk_services::now();
    let flags = app.services.overdue_flags(std::slice::from_ref(&summary), now).await.unwrap();
    assert_eq!(flags, vec![false]);
    let later = now + chrono::TimeDelta::minutes(31);
    let flags = app.services.overdue_flags(std::slice::from_ref(&summary), later).await.unwrap();
    assert_eq!(flags, vec![true]);

    // The scheduler's check escalates once: a live event and an audit entry naming the lead.
    let mut events = app.services.events.subscribe();
    assert_eq!(app.services.escalate_overdue(now).await.unwrap(), 0, "not overdue yet");
    assert_eq!(app.services.escalate_overdue(later).await.unwrap(), 1);
    assert_eq!(app.services.escalate_overdue(later + chrono::TimeDelta::minutes(5)).await.unwrap(), 0, "once per wait");
    let event = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let e = events.recv().await.unwrap();
            if e.kind == frontdesk_services::EventKind::OverdueEscalation {
                return e;
            }
        }
    })
    .await
    .expect("an escalation event");
    assert_eq!(event.conversation_id, Some(conversation));
    assert!(app.services.is_department_lead(lead.id, Some(department)).await);
    let audit = app.services.store.list_audit(50).await.unwrap();
    let entry = audit.iter().find(|a| a.action == "conversation.overdue_escalated").expect("audited");
    assert!(entry.detail.as_deref().unwrap().contains(&lead.id.to_string()));
}

/// Reads a dashboard event stream until an `urgent_message` event arrives.
async fn urgent_event(site: &Site, cookie: &str) -> impl std::future::Future<Output = String> + use<> {
    let r = site
        .http
        .get(site.url("/events"))
        .header("accept", "text/event-stream")
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    async move {
        use futures::StreamExt;
        let mut seen = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(chunk)) = stream.next().await {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains("event: urgent_message") && seen.contains("\"alert\"") {
                    break;
                }
            }
        })
        .await;
        seen
    }
}

#[tokio::test]
async fn the_urgent_alert_goes_live_to_on_call_staff_only() {
    let site = Site::start().await;
    let department = site.services.add_department_as("Triage", Actor::System, None).await.unwrap();
    let number = NewNumber {
        e164: crate::support::PRACTICE.into(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        rate_limit_per_sec: Some(200.0),
    };
    site.services.add_number_in(number, Some(department.id), Actor::System).await.unwrap();
    let role = frontdesk_domain::model::Role::Staff;
    let password = "correct horse battery staple";
    let on_call =
        site.services.create_user("oncall@clinic.test", "On Call", role, password, Actor::System).await.unwrap();
    site.services.create_user("other@clinic.test", "Other", role, password, Actor::System).await.unwrap();
    let settings =
        frontdesk_domain::office_hours::DepartmentSettings { on_call_user_ids: vec![on_call.id], ..Default::default() };
    let saved =
        site.services.update_department_settings_as(department.id, settings, Actor::System, None).await.unwrap();
    assert!(saved.is_ok(), "{saved:?}");

    let a = site.session("oncall@clinic.test").await;
    let b = site.session("other@clinic.test").await;
    let on_call_stream = urgent_event(&site, &a.cookie).await;
    let other_stream = urgent_event(&site, &b.cookie).await;
    site.inbound_from("SM50000000000000000000000000000001", "+12127365151", "my dad's face is drooping").await;
    let (seen_a, seen_b) = tokio::join!(on_call_stream, other_stream);
    assert!(seen_a.contains("event: urgent_message") && seen_a.contains("\"alert\":true"), "{seen_a}");
    assert!(seen_b.contains("event: urgent_message") && seen_b.contains("\"alert\":false"), "{seen_b}");
    assert!(!seen_a.contains("drooping"), "events carry ids, not text");
    site.stop().await;
}
