//! Outreach: "send later" messages (API and services), the scheduler's exactly-once send, cancel,
//! refusals recorded on the row, and the rules for automated messages (daily cap, quiet hours).
//! The app's clock is real time, so the rules are driven through `send_due_scheduled(now)` with
//! instants computed in the recipient's zone, never through the hour the test happens to run.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use frontdesk_domain::model::SenderKind;
use frontdesk_services::audit::Actor;
use frontdesk_services::outreach::ScheduleRequest;
use frontdesk_store::outreach::{SCHEDULED_CANCELLED, SCHEDULED_FAILED, SCHEDULED_PENDING, SCHEDULED_SENT};
use serde_json::json;
use uuid::Uuid;

use crate::support::*;

const PATIENT: &str = "+12127365101";

async fn conversation_with_patient(app: &TestApp) -> Uuid {
    let r = app.inbound("SM20000000000000000000000000000001", PATIENT, "hello").await;
    assert_eq!(r.status(), 200);
    app.conversations().await[0]["id"].as_str().unwrap().parse().unwrap()
}

fn request(conversation: Uuid, body: &str, send_at: DateTime<Utc>, automated: bool) -> ScheduleRequest {
    ScheduleRequest {
        conversation_id: conversation,
        body: body.into(),
        send_at,
        sender: if automated { SenderKind::Automation } else { SenderKind::Staff },
        sender_user_id: None,
        actor: Actor::System,
        ip: None,
        phi_confirmed: false,
        automated,
    }
}

/// Outbound texts in the conversation's thread with this body.
async fn outbound_with_body(app: &TestApp, conversation: Uuid, body: &str) -> usize {
    let summary = app.services.store.conversation_summary(conversation).await.unwrap().unwrap();
    let messages = app.services.store.thread_messages(summary.thread.id).await.unwrap();
    messages.iter().filter(|m| m.direction == frontdesk_domain::Direction::Outbound && m.body == body).count()
}

/// The next instant at `hour`:00 on the recipient's wall clock that is after `after`.
fn next_local(tz: Tz, after: DateTime<Utc>, hour: u32) -> DateTime<Utc> {
    let mut day = after.with_timezone(&tz).date_naive();
    loop {
        let wall = day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap());
        if let Some(t) = tz.from_local_datetime(&wall).earliest() {
            let t = t.with_timezone(&Utc);
            if t > after {
                return t;
            }
        }
        day = day.checked_add_days(Days::new(1)).unwrap();
    }
}

#[tokio::test]
async fn a_scheduled_message_is_sent_once_when_due_and_not_before() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    let body = "Reminder: bring your insurance card tomorrow.";
    let send_at = Utc::now() + TimeDelta::seconds(2);
    let (status, scheduled) = app
        .api_post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({ "body": body, "send_at": send_at.to_rfc3339() }),
        )
        .await;
    assert_eq!(status, 202, "{scheduled}");
    assert_eq!(scheduled["status"], "pending");
    let id: Uuid = scheduled["id"].as_str().unwrap().parse().unwrap();

    // Not before its time.
    let early = app.services.send_due_scheduled(Utc::now()).await.unwrap();
    assert_eq!(early.sent, 0);
    assert_eq!(outbound_with_body(&app, conversation, body).await, 0);

    // When due, two passes at once (and the app's own scheduler) send it exactly once.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let now = Utc::now();
    let (a, b) = tokio::join!(app.services.send_due_scheduled(now), app.services.send_due_scheduled(now));
    assert!(a.unwrap().sent + b.unwrap().sent <= 1);
    let row = app
        .eventually("the scheduled message to be sent", || async {
            let row = app.services.store.scheduled_message(id).await.unwrap().unwrap();
            (row.status == SCHEDULED_SENT).then_some(row)
        })
        .await;
    assert_eq!(outbound_with_body(&app, conversation, body).await, 1);
    let message_id = row.message_id.expect("the sent row names its message").to_string();
    app.wait_status(&message_id, "sent").await;
    let to_twilio = app.twilio.requests().iter().filter(|r| r.field("Body") == Some(body)).count();
    assert_eq!(to_twilio, 1);
    // Later passes find nothing more to send.
    let again = app.services.send_due_scheduled(Utc::now() + TimeDelta::seconds(5)).await.unwrap();
    assert_eq!(again.sent, 0);
    assert_eq!(outbound_with_body(&app, conversation, body).await, 1);
}

#[tokio::test]
async fn send_at_is_checked_and_named_when_wrong() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    for send_at in [
        (Utc::now() - TimeDelta::minutes(5)).to_rfc3339(),
        (Utc::now() + TimeDelta::days(91)).to_rfc3339(),
        "tomorrow at nine".to_string(),
    ] {
        let (status, body) = app.api_post(&path, json!({ "body": "Hello", "send_at": send_at })).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some("send_at")), "{send_at}: {body}");
    }
    assert!(app.services.scheduled_messages(conversation).await.unwrap().is_empty());

    // The OpenAPI document describes `send_at` and the 202 answer.
    let doc: serde_json::Value =
        app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let post = &doc["paths"]["/api/v1/conversations/{id}/messages"]["post"];
    assert!(post["responses"]["202"].is_object(), "{post}");
    assert!(doc["components"]["schemas"]["ReplyRequest"]["properties"]["send_at"].is_object());
    assert!(doc["components"]["schemas"]["ScheduledView"].is_object());
}

#[tokio::test]
async fn a_cancelled_message_is_never_sent_and_a_refused_one_shows_why() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    let at = Utc::now() + TimeDelta::hours(1);
    let kept = app.services.schedule_message(request(conversation, "Kept", at, false)).await.unwrap();
    let dropped = app.services.schedule_message(request(conversation, "Dropped", at, false)).await.unwrap();
    app.services.cancel_scheduled(conversation, dropped.id, Actor::System, None).await.unwrap();
    // Cancelling again is harmless; cancelling from another conversation is not found.
    app.services.cancel_scheduled(conversation, dropped.id, Actor::System, None).await.unwrap();
    assert!(app.services.cancel_scheduled(Uuid::new_v4(), kept.id, Actor::System, None).await.is_err());

    // The patient opts out before the time comes: the send is refused and the row says so.
    let r = app.inbound("SM20000000000000000000000000000002", PATIENT, "STOP").await;
    assert_eq!(r.status(), 200);
    let pass = app.services.send_due_scheduled(at + TimeDelta::seconds(1)).await.unwrap();
    assert_eq!((pass.sent, pass.failed), (0, 1));
    let kept = app.services.store.scheduled_message(kept.id).await.unwrap().unwrap();
    assert_eq!(kept.status, SCHEDULED_FAILED);
    assert!(kept.reason.as_deref().unwrap_or_default().contains("opted out"), "{:?}", kept.reason);
    let dropped = app.services.store.scheduled_message(dropped.id).await.unwrap().unwrap();
    assert_eq!(dropped.status, SCHEDULED_CANCELLED);
    assert_eq!(outbound_with_body(&app, conversation, "Kept").await, 0);
    assert_eq!(outbound_with_body(&app, conversation, "Dropped").await, 0);
}

#[tokio::test]
async fn the_daily_cap_defers_a_second_automated_message() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    let contact = app.services.store.conversation_summary(conversation).await.unwrap().unwrap().contact.id;
    let tz = app.services.recipient_time_zone(contact).await.unwrap();
    // Noon on the recipient's clock, well inside allowed hours.
    let noon = next_local(tz, Utc::now() + TimeDelta::minutes(5), 12);
    let first = app.services.schedule_message(request(conversation, "Flu shots are in.", noon, true)).await.unwrap();
    let second = app
        .services
        .schedule_message(request(conversation, "Our hours change next week.", noon + TimeDelta::minutes(30), true))
        .await
        .unwrap();
    let now = noon + TimeDelta::hours(1);
    let pass = app.services.send_due_scheduled(now).await.unwrap();
    assert_eq!((pass.sent, pass.deferred), (1, 1));
    let first = app.services.store.scheduled_message(first.id).await.unwrap().unwrap();
    assert_eq!(first.status, SCHEDULED_SENT);
    let second = app.services.store.scheduled_message(second.id).await.unwrap().unwrap();
    assert_eq!(second.status, SCHEDULED_PENDING);
    assert_eq!(second.send_at, now + TimeDelta::hours(24));
    assert!(second.reason.as_deref().unwrap_or_default().contains("daily"), "{:?}", second.reason);
    // A staff "send later" message is not automated: no cap holds it.
    let staff = app
        .services
        .schedule_message(request(conversation, "Dr. Lee can see you at 4.", noon + TimeDelta::minutes(40), false))
        .await
        .unwrap();
    let pass = app.services.send_due_scheduled(now + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!((pass.sent, pass.deferred), (1, 0));
    assert_eq!(app.services.store.scheduled_message(staff.id).await.unwrap().unwrap().status, SCHEDULED_SENT);
    // A day later the deferred one goes.
    let pass = app.services.send_due_scheduled(second.send_at).await.unwrap();
    assert_eq!(pass.sent, 1);
    assert_eq!(outbound_with_body(&app, conversation, "Our hours change next week.").await, 1);
}

#[tokio::test]
async fn quiet_hours_defer_an_automated_message_to_eight_in_the_morning() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    let contact = app.services.store.conversation_summary(conversation).await.unwrap().unwrap().contact.id;
    let tz = app.services.recipient_time_zone(contact).await.unwrap();
    let night = next_local(tz, Utc::now() + TimeDelta::minutes(5), 23);
    let row = app.services.schedule_message(request(conversation, "Lab is closed Friday.", night, true)).await.unwrap();
    let pass = app.services.send_due_scheduled(night).await.unwrap();
    assert_eq!((pass.sent, pass.deferred), (0, 1));
    let deferred = app.services.store.scheduled_message(row.id).await.unwrap().unwrap();
    assert_eq!(deferred.status, SCHEDULED_PENDING);
    assert_eq!(deferred.send_at, next_local(tz, night, 8));
    assert!(deferred.reason.as_deref().unwrap_or_default().contains("quiet hours"), "{:?}", deferred.reason);
    assert_eq!(outbound_with_body(&app, conversation, "Lab is closed Friday.").await, 0);
    let pass = app.services.send_due_scheduled(deferred.send_at).await.unwrap();
    assert_eq!(pass.sent, 1);
    assert_eq!(outbound_with_body(&app, conversation, "Lab is closed Friday.").await, 1);
}

async fn patient(app: &TestApp, first: &str, mrn: &str, phone: &str) {
    app.services
        .create_patient(
            frontdesk_services::patients::NewPatient {
                first_name: first.into(),
                last_name: "Test".into(),
                birth_date: None,
                mrn: Some(mrn.into()),
                phone: Some(phone.into()),
                status: None,
            },
            Actor::System,
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_broadcast_reaches_patients_with_consent_and_records_the_skips() {
    let app = TestApp::start().await;
    patient(&app, "Ana", "MRN-A", "+12127365201").await;
    patient(&app, "Ben", "MRN-B", "+12127365202").await;
    patient(&app, "Cleo", "MRN-C", "+12127365203").await;
    // Ana and Ben texted the practice (patient-initiated); Cleo never did.
    assert_eq!(app.inbound("SM20000000000000000000000000000011", "+12127365201", "hi").await.status(), 200);
    assert_eq!(app.inbound("SM20000000000000000000000000000012", "+12127365202", "hi").await.status(), 200);
    let staff = app
        .services
        .create_user(
            "front@clinic.test",
            "Fran Front",
            frontdesk_domain::model::Role::Staff,
            "a long passphrase 1",
            Actor::System,
        )
        .await
        .unwrap();
    let ctx = app.services.staff_context(staff).await.unwrap();

    // Bad input names the field and writes nothing.
    let e = app.services.plan_broadcast(&ctx, "Hi {staff.name}", "MRN-A").await.unwrap_err();
    assert!(matches!(&e, frontdesk_services::ServiceError::Invalid { field, .. } if field == "body"), "{e}");
    let e = app.services.plan_broadcast(&ctx, "Hi", "MRN-A\nMRN-NOPE").await.unwrap_err();
    assert!(matches!(&e, frontdesk_services::ServiceError::Invalid { field, .. } if field == "recipients"), "{e}");

    let body = "Hi {patient.first_name}, flu shots are in.";
    let recipients = "MRN-A\nMRN-B\n(212) 736-5203";
    let plan = app.services.plan_broadcast(&ctx, body, recipients).await.unwrap();
    assert_eq!(plan[0].outcome.as_deref(), Ok("Hi Ana, flu shots are in."));
    assert!(plan[2].outcome.is_err());

    let id = app.services.send_broadcast(&ctx, body, recipients, None).await.unwrap();
    let (_, rows) = app.services.broadcast_status(&ctx, id).await.unwrap();
    let states: Vec<_> = rows.iter().map(|(r, _)| r.clone()).collect();
    let c = frontdesk_services::broadcasts::counts(&states);
    assert_eq!((c.total, c.skipped), (3, 1));
    let (skip, name) = rows.iter().find(|(r, _)| r.recipient.status == "skipped").unwrap();
    assert_eq!(name, "Cleo Test");
    assert!(skip.recipient.reason.as_deref().unwrap_or_default().contains("no consent"), "{:?}", skip.recipient.reason);

    // The scheduler sends the queued ones (at a daytime instant for the recipients).
    let contact = app
        .services
        .store
        .contact_by_phone(
            &frontdesk_domain::E164::parse("+12127365201", app.services.settings().default_region).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let tz = app.services.recipient_time_zone(contact.id).await.unwrap();
    let noon = next_local(tz, Utc::now(), 12);
    app.services.send_due_scheduled(noon).await.unwrap();
    let (_, rows) = app.services.broadcast_status(&ctx, id).await.unwrap();
    let states: Vec<_> = rows.iter().map(|(r, _)| r.clone()).collect();
    let c = frontdesk_services::broadcasts::counts(&states);
    assert_eq!((c.sent, c.skipped, c.queued, c.failed), (2, 1, 0, 0));
    let conversations = app.conversations().await;
    assert_eq!(conversations.len(), 2, "no conversation was opened for the skipped patient");
}

/// A signed-in person's cookie and CSRF token, and a client that does not follow redirects.
struct Browser {
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

async fn browser(app: &TestApp, email: &str, role: frontdesk_domain::model::Role) -> Browser {
    let password = "correct horse battery staple";
    app.services.create_user(email, "Pat Staff", role, password, Actor::System).await.unwrap();
    let signed = app.services.sign_in(email, password, None).await.unwrap();
    Browser {
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        cookie: format!("fd_session={}", signed.cookie_secret),
        csrf: signed.session.csrf_token,
    }
}

impl Browser {
    async fn get(&self, app: &TestApp, path: &str) -> (u16, String) {
        let r = self.http.get(app.url(path)).header("cookie", &self.cookie).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(&self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &self.csrf)];
        form.extend_from_slice(fields);
        let r = self.http.post(app.url(path)).header("cookie", &self.cookie).form(&form).send().await.unwrap();
        let status = r.status().as_u16();
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, location, r.text().await.unwrap())
    }
}

#[tokio::test]
async fn staff_schedule_from_the_composer_see_it_listed_and_cancel_it() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    let staff = browser(&app, "front@clinic.test", frontdesk_domain::model::Role::Staff).await;
    let tz = app.services.settings().time_zone;
    let path = format!("/c/{conversation}/reply");

    // Errors name the field and schedule nothing.
    let (status, _, page) =
        staff.post(&app, &path, &[("body", "See you soon"), ("schedule", "1"), ("send_at", "")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("send_at: choose the date and time"), "{page}");
    let past = (Utc::now() - TimeDelta::hours(2)).with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string();
    let (status, _, page) =
        staff.post(&app, &path, &[("body", "See you soon"), ("schedule", "1"), ("send_at", &past)]).await;
    assert_eq!(status, 422);
    assert!(page.contains("choose a time in the future"));
    assert!(app.services.scheduled_messages(conversation).await.unwrap().is_empty());

    // Tomorrow at 10:00 on the practice's clock.
    let at = next_local(tz, Utc::now() + TimeDelta::hours(1), 10);
    let local = at.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string();
    let (status, location, _) =
        staff.post(&app, &path, &[("body", "See you <soon>"), ("schedule", "1"), ("send_at", &local)]).await;
    assert_eq!((status, location.as_str()), (303, format!("/c/{conversation}").as_str()));
    let rows = app.services.scheduled_messages(conversation).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].send_at, at);
    assert_eq!(outbound_with_body(&app, conversation, "See you <soon>").await, 0, "nothing is sent now");
    let (status, page) = staff.get(&app, &format!("/c/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Scheduled messages"));
    assert!(page.contains("See you &#60;soon&#62;"), "escaped");
    assert!(!page.contains("See you <soon>"));
    assert!(page.contains(&at.with_timezone(&tz).format("%-I:%M %p").to_string()));

    // A PHI warning on a scheduled message: confirming keeps it scheduled, never sends it now.
    let phi = "Your SSN 123-45-6789 is on file.";
    let (status, _, page) = staff.post(&app, &path, &[("body", phi), ("schedule", "1"), ("send_at", &local)]).await;
    assert_eq!(status, 422);
    assert!(page.contains("Schedule anyway"), "{page}");
    assert!(page.contains(r#"name="keep_schedule" value="1""#));
    let (status, _, _) = staff
        .post(&app, &path, &[("body", phi), ("keep_schedule", "1"), ("confirm_phi", "1"), ("send_at", &local)])
        .await;
    assert_eq!(status, 303);
    assert_eq!(outbound_with_body(&app, conversation, phi).await, 0, "confirmed, but still scheduled");
    let all = app.services.scheduled_messages(conversation).await.unwrap();
    assert!(all.iter().any(|r| r.body == phi && r.status == SCHEDULED_PENDING && r.send_at == at));
    let rows: Vec<_> = all.into_iter().filter(|r| r.body != phi).collect();

    let cancel = format!("/c/{conversation}/scheduled/{}/cancel", rows[0].id);
    // Without the CSRF token the cancel is refused.
    let r = staff.http.post(app.url(&cancel)).header("cookie", &staff.cookie).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let (status, _, _) = staff.post(&app, &cancel, &[]).await;
    assert_eq!(status, 303);
    assert_eq!(app.services.scheduled_messages(conversation).await.unwrap()[0].status, SCHEDULED_CANCELLED);
    let (_, page) = staff.get(&app, &format!("/c/{conversation}")).await;
    assert!(page.contains("Cancelled"));
}

#[tokio::test]
async fn staff_preview_and_send_a_broadcast_and_see_its_status() {
    let app = TestApp::start().await;
    patient(&app, "Ana", "MRN-A", "+12127365301").await;
    patient(&app, "Cleo", "MRN-C", "+12127365303").await;
    assert_eq!(app.inbound("SM20000000000000000000000000000021", "+12127365301", "hi").await.status(), 200);
    // Staff (admins too, behind their second factor) send broadcasts; auditors do not.
    let admin = browser(&app, "front@clinic.test", frontdesk_domain::model::Role::Staff).await;
    let auditor = browser(&app, "audit@clinic.test", frontdesk_domain::model::Role::Auditor).await;
    assert_eq!(auditor.get(&app, "/broadcasts").await.0, 403);

    let fields = [("body", "Hi {patient.first_name}, <b>flu</b> shots are in."), ("recipients", "MRN-A\nMRN-C")];
    let (status, _, page) = admin.post(&app, "/broadcasts/preview", &fields).await;
    assert_eq!(status, 200);
    assert!(page.contains("Hi Ana, &#60;b&#62;flu&#60;/b&#62; shots are in."), "{page}");
    assert!(page.contains("2 recipients, 1 skipped"));
    let (status, _, page) = admin.post(&app, "/broadcasts", &[("body", "Hi"), ("recipients", "MRN-A\nMRN-ZZZ")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("MRN-ZZZ"));
    let (status, location, _) = admin.post(&app, "/broadcasts", &fields).await;
    assert_eq!(status, 303);
    assert!(location.starts_with("/broadcasts/"));
    let (status, page) = admin.get(&app, &location).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<dd id="count-total">2</dd>"#), "{page}");
    assert!(page.contains(r#"<dd id="count-skipped">1</dd>"#));
    assert!(page.contains("no consent to texts on record"));
}

#[tokio::test]
async fn quiet_hours_follow_the_patients_own_time_zone() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    app.services
        .create_patient_from(
            frontdesk_services::patients::PatientInput {
                first_name: "Kenji".into(),
                last_name: "Sato".into(),
                phones: PATIENT.into(),
                status: "patient".into(),
                time_zone: "Asia/Tokyo".into(),
                ..Default::default()
            },
            Actor::System,
            None,
        )
        .await
        .unwrap();
    let contact = app.services.store.conversation_summary(conversation).await.unwrap().unwrap().contact.id;
    let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
    assert_eq!(app.services.recipient_time_zone(contact).await.unwrap(), tokyo);
    // 23:00 at the practice (New York) is midday in Tokyo: the patient's zone decides.
    let practice = app.services.settings().time_zone;
    assert_ne!(practice, tokyo);
    let late_at_practice = next_local(practice, Utc::now() + TimeDelta::minutes(5), 23);
    assert!(!frontdesk_domain::quiet_hours::is_quiet_time(tokyo, late_at_practice));
    let row = app
        .services
        .schedule_message(request(conversation, "Your results are ready to discuss.", late_at_practice, true))
        .await
        .unwrap();
    let pass = app.services.send_due_scheduled(late_at_practice).await.unwrap();
    assert_eq!((pass.sent, pass.deferred), (1, 0));
    assert_eq!(app.services.store.scheduled_message(row.id).await.unwrap().unwrap().status, SCHEDULED_SENT);
}
