//! The staff inbox over HTTP, as a browser uses it: session cookie, CSRF token in forms,
//! redirects after actions. The app is built here (not through `TestApp`) because these tests
//! need its services to create staff accounts, departments and sessions.

use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_domain::model::{ProviderKind, Role};
use frontdesk_providers::twilio::signature::{Algorithm, compute};
use frontdesk_server::{App, Settings};
use frontdesk_services::Services;
use frontdesk_services::audit::Actor;
use frontdesk_services::numbers::NewNumber;
use reqwest::redirect::Policy;
use serde_json::json;
use tokio::sync::oneshot;

use crate::support::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, PRACTICE, Reply};

const PATIENT: &str = "+12127365050";
const PASSWORD: &str = "correct horse battery staple";
const XSS: &str = "<img src=x onerror=alert(1)>";

struct Dash {
    base: String,
    http: reqwest::Client,
    services: Services,
    twilio: FakeTwilio,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// A signed-in browser: its cookie and the session's CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

impl Dash {
    async fn start() -> Dash {
        let twilio = FakeTwilio::start().await;
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut settings =
            Settings { data_dir: dir.path().to_path_buf(), public_url: Some(base.clone()), ..Settings::default() };
        settings.twilio.account_sid = Some(ACCOUNT_SID.into());
        settings.twilio.auth_token = Some(AUTH_TOKEN.into());
        settings.twilio.api_base = Some(twilio.base.clone());
        settings.twilio.timeout_secs = Some(2);
        settings.simulator.enabled = Some(false);
        settings.dispatcher.retry_base_ms = 20;
        settings.dispatcher.retry_cap_secs = 1;
        settings.dispatcher.max_attempts = 2;
        let app = App::build(settings).await.expect("app builds");
        let services = app.services.clone();
        let number = NewNumber {
            e164: PRACTICE.into(),
            provider: ProviderKind::Twilio,
            messaging_service_sid: None,
            rate_limit_per_sec: Some(200.0),
        };
        services.add_number(number, Actor::System).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.serve(listener, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Dash { base, http, services, twilio, stop: Some(stop), handle: Some(handle), _dir: dir }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn user(&self, email: &str, role: Role) -> Browser {
        self.services.create_user(email, "Pat Staff", role, PASSWORD, Actor::System).await.unwrap();
        let signed = self.services.sign_in(email, PASSWORD, None).await.unwrap();
        Browser { cookie: format!("fd_session={}", signed.cookie_secret), csrf: signed.session.csrf_token }
    }

    async fn inbound(&self, sid: &str, body: &str) {
        let params: Vec<(String, String)> = [
            ("MessageSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", PATIENT),
            ("To", PRACTICE),
            ("Body", body),
            ("NumMedia", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = self.url("/webhooks/twilio/messages");
        let signature = compute(AUTH_TOKEN, &url, &params, Algorithm::HmacSha1);
        let r = self
            .http
            .post(url)
            .header("X-Twilio-Signature", signature)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&params).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn get(&self, b: &Browser, path: &str) -> (u16, String) {
        let r = self.http.get(self.url(path)).header("cookie", &b.cookie).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts a form with the session's CSRF token; returns the status and the Location.
    async fn post(&self, b: &Browser, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &b.csrf)];
        form.extend_from_slice(fields);
        let r = self.http.post(self.url(path)).header("cookie", &b.cookie).form(&form).send().await.unwrap();
        let status = r.status().as_u16();
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, location, r.text().await.unwrap())
    }

    async fn only_conversation(&self) -> uuid::Uuid {
        let contact = self
            .services
            .store
            .contact_by_phone(&frontdesk_domain::E164::parse_strict(PATIENT).unwrap())
            .await
            .unwrap()
            .unwrap();
        self.services.store.contact_conversations(contact.id).await.unwrap()[0].conversation.id
    }

    async fn messages(&self, conversation: uuid::Uuid) -> Vec<frontdesk_domain::model::Message> {
        let s = self.services.store.conversation_summary(conversation).await.unwrap().unwrap();
        self.services.store.thread_messages(s.thread.id).await.unwrap()
    }
}

#[tokio::test]
async fn inbox_and_conversation_show_an_inbound_text_escaped() {
    let app = Dash::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    app.inbound("SM00000000000000000000000000000001", XSS).await;
    let id = app.only_conversation().await;

    let (status, inbox) = app.get(&staff, "/").await;
    assert_eq!(status, 200);
    assert!(inbox.contains(&format!("/c/{id}")), "the inbox links the conversation");
    assert!(
        inbox.contains("&#60;img src=x onerror=alert(1)&#62;") || inbox.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the preview is escaped: {inbox}"
    );
    assert!(!inbox.contains(XSS), "no raw markup from the patient");
    assert!(inbox.contains("+1•"), "the number is masked in the list");
    assert!(inbox.contains("waiting"), "waiting time shown");
    let (status, rows) = app.get(&staff, "/inbox/rows?view=unassigned").await;
    assert_eq!(status, 200);
    assert!(rows.contains(&format!("/c/{id}")));
    assert_eq!(app.get(&staff, "/?view=%3Cscript%3E").await.0, 422);

    let (status, page) = app.get(&staff, &format!("/c/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("&#60;img src=x onerror=alert(1)&#62;"), "shown as text");
    assert!(!page.contains(XSS));
    assert!(page.contains("(212) 736-5050"), "the full number on the conversation page");
    app.stop().await;
}

#[tokio::test]
async fn reply_note_assign_status_snooze_and_urgent() {
    let app = Dash::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    app.inbound("SM00000000000000000000000000000002", "Can I move my appointment?").await;
    let id = app.only_conversation().await;

    let (status, location, _) = app.post(&staff, &format!("/c/{id}/reply"), &[("body", "Yes, call us.")]).await;
    assert_eq!(status, 303);
    assert_eq!(location, format!("/c/{id}"));
    let outbound: Vec<_> =
        app.messages(id).await.into_iter().filter(|m| m.direction == frontdesk_domain::Direction::Outbound).collect();
    assert_eq!(outbound.len(), 1);
    assert_eq!(outbound[0].body, "Yes, call us.");

    let sent_before = app.twilio.requests().len();
    let (status, _, _) = app.post(&staff, &format!("/c/{id}/notes"), &[("body", "Patient prefers mornings")]).await;
    assert_eq!(status, 303);
    let (_, page) = app.get(&staff, &format!("/c/{id}")).await;
    assert!(page.contains("Internal note – not sent"));
    assert!(page.contains("Patient prefers mornings"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.twilio.requests().iter().all(|r| r.field("Body") != Some("Patient prefers mornings")));
    assert!(app.twilio.requests().len() <= sent_before + 1, "the note is never sent");

    assert_eq!(app.post(&staff, &format!("/c/{id}/assign"), &[("me", "1")]).await.0, 303);
    let c = app.services.store.conversation_summary(id).await.unwrap().unwrap().conversation;
    assert!(c.assignee_id.is_some());
    assert_eq!(app.post(&staff, &format!("/c/{id}/assign"), &[("assignee", "")]).await.0, 303);
    let c = app.services.store.conversation_summary(id).await.unwrap().unwrap().conversation;
    assert!(c.assignee_id.is_none());

    assert_eq!(app.post(&staff, &format!("/c/{id}/status"), &[("status", "waiting")]).await.0, 303);
    let c = app.services.store.conversation_summary(id).await.unwrap().unwrap().conversation;
    assert_eq!(c.status.as_str(), "waiting");
    let until = (chrono::Utc::now() + chrono::TimeDelta::days(2))
        .with_timezone(&app.services.settings().time_zone)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    assert_eq!(app.post(&staff, &format!("/c/{id}/status"), &[("status", "snooze"), ("until", &until)]).await.0, 303);
    let c = app.services.store.conversation_summary(id).await.unwrap().unwrap().conversation;
    assert_eq!(c.status.as_str(), "snoozed");
    assert!(c.snoozed_until.is_some());
    // A time in the past is refused with a reason.
    let (status, _, body) =
        app.post(&staff, &format!("/c/{id}/status"), &[("status", "snooze"), ("until", "2001-01-01T09:00")]).await;
    assert_eq!(status, 422);
    assert!(body.contains("future"));
    assert_eq!(app.post(&staff, &format!("/c/{id}/status"), &[("status", "close")]).await.0, 303);
    let c = app.services.store.conversation_summary(id).await.unwrap().unwrap().conversation;
    assert_eq!(c.status.as_str(), "closed");
    assert_eq!(app.post(&staff, &format!("/c/{id}/urgent"), &[("urgent", "1")]).await.0, 303);
    assert!(app.services.store.conversation_summary(id).await.unwrap().unwrap().conversation.urgent);
    app.stop().await;
}

#[tokio::test]
async fn retry_of_a_failed_text_queues_exactly_one_new_message() {
    let app = Dash::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    app.inbound("SM00000000000000000000000000000003", "hello").await;
    let id = app.only_conversation().await;
    app.twilio.push(Reply::Status(400, json!({"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})));
    app.post(&staff, &format!("/c/{id}/reply"), &[("body", "We will call you.")]).await;
    let mut failed = None;
    for _ in 0..200 {
        failed = app.messages(id).await.into_iter().find(|m| m.status == frontdesk_domain::MessageStatus::Failed);
        if failed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = failed.expect("the text fails");
    let (_, page) = app.get(&staff, &format!("/c/{id}")).await;
    assert!(page.contains("Not delivered."));
    assert!(page.contains(&format!("/messages/{}/retry", failed.id)));

    let before = app.messages(id).await.len();
    let (status, location, _) = app.post(&staff, &format!("/messages/{}/retry", failed.id), &[]).await;
    assert_eq!(status, 303);
    assert!(location.starts_with(&format!("/c/{id}")));
    let after = app.messages(id).await;
    assert_eq!(after.len(), before + 1, "exactly one new message");
    let new = after.iter().find(|m| m.id != failed.id && m.body == "We will call you.").unwrap();
    assert!(matches!(
        new.status,
        frontdesk_domain::MessageStatus::Queued
            | frontdesk_domain::MessageStatus::Sending
            | frontdesk_domain::MessageStatus::Sent
    ));
    app.stop().await;
}

#[tokio::test]
async fn department_limits_roles_csrf_and_sign_in_are_enforced() {
    let app = Dash::start().await;
    app.inbound("SM00000000000000000000000000000004", "hello").await;
    let id = app.only_conversation().await;

    // Unauthenticated: pages redirect to sign-in, posts are refused.
    let r = app.http.get(app.url(&format!("/c/{id}"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/login?next="));
    let r = app.http.get(app.url("/")).send().await.unwrap();
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/login"));

    let staff = app.user("front@example.org", Role::Staff).await;
    // No CSRF token: refused, nothing sent.
    let r = app
        .http
        .post(app.url(&format!("/c/{id}/reply")))
        .header("cookie", &staff.cookie)
        .form(&[("body", "hi")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // An auditor reads but cannot act.
    let auditor = app.user("audit@example.org", Role::Auditor).await;
    let (status, page) = app.get(&auditor, &format!("/c/{id}")).await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"reply-form\""), "no composer for auditors");
    assert_eq!(app.post(&auditor, &format!("/c/{id}/reply"), &[("body", "hi")]).await.0, 403);
    assert_eq!(app.post(&auditor, &format!("/c/{id}/status"), &[("status", "close")]).await.0, 403);
    assert_eq!(app.post(&auditor, &format!("/c/{id}/notes"), &[("body", "x")]).await.0, 403);

    // A staff member limited to another department cannot open or act on it.
    let admin = app.services.store.list_users().await.unwrap().into_iter().find(|u| u.role == Role::Admin).unwrap();
    let admin_ctx = app.services.staff_context(admin).await.unwrap();
    let other = frontdesk_domain::model::Department {
        id: frontdesk_domain::model::new_id(),
        name: "Billing".into(),
        created_at: chrono::Utc::now(),
    };
    let stored = other.clone();
    frontdesk_store::write(&*app.services.store, move |tx| {
        Box::pin(async move { tx.insert_department(&stored).await })
    })
    .await
    .unwrap();
    let limited_user = app
        .services
        .create_user("limited@example.org", "Lim Ited", Role::Staff, PASSWORD, Actor::System)
        .await
        .unwrap();
    let depts = vec![other.id];
    frontdesk_store::write(&*app.services.store, move |tx| {
        Box::pin(async move { tx.set_user_departments(limited_user.id, &depts).await })
    })
    .await
    .unwrap();
    let signed = app.services.sign_in("limited@example.org", PASSWORD, None).await.unwrap();
    let limited = Browser { cookie: format!("fd_session={}", signed.cookie_secret), csrf: signed.session.csrf_token };
    // The conversation is in no department (or another one): invisible to them.
    let _ = admin_ctx;
    assert_eq!(app.get(&limited, &format!("/c/{id}")).await.0, 404);
    assert_eq!(app.post(&limited, &format!("/c/{id}/reply"), &[("body", "hi")]).await.0, 404);
    let (_, inbox) = app.get(&limited, "/?view=all").await;
    assert!(!inbox.contains(&format!("/c/{id}")));
    assert!(app.messages(id).await.iter().all(|m| m.direction == frontdesk_domain::Direction::Inbound
        || m.sender != frontdesk_domain::model::SenderKind::Staff));

    // Nor text into it by starting a "new" conversation with the same number.
    let before = app.messages(id).await.len();
    let (status, _, _) = app
        .post(
            &limited,
            "/new",
            &[("to", PATIENT), ("body", "Hello from billing"), ("consent_basis", "patient_initiated")],
        )
        .await;
    assert_eq!(status, 403, "joining another department's conversation is refused");
    assert_eq!(app.messages(id).await.len(), before, "nothing was queued");

    // Earlier episodes in a department they cannot see stay out of the history.
    use frontdesk_services::conversations::ConversationChange;
    app.services.change_conversation(&admin_ctx, id, ConversationChange::Close, None).await.unwrap();
    app.inbound("SM00000000000000000000000000000044", "second visit").await;
    let second = app
        .services
        .store
        .list_conversations(&frontdesk_store::ConversationQuery { limit: 10, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.conversation.id != id)
        .unwrap()
        .conversation
        .id;
    app.services
        .change_conversation(&admin_ctx, second, ConversationChange::Department(Some(other.id)), None)
        .await
        .unwrap();
    let (status, page) = app.get(&limited, &format!("/c/{second}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("second visit"));
    assert!(!page.contains("hello"), "the earlier episode (no department) is not shown to them");
    let (_, full) = app.get(&staff, &format!("/c/{second}")).await;
    assert!(full.contains("hello") && full.contains("second visit"), "unlimited staff see the whole thread");

    // Staff pages are never cached by the browser.
    let r = app.http.get(app.url("/")).header("cookie", &staff.cookie).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    app.stop().await;
}

#[tokio::test]
async fn phi_warning_then_confirm_and_opted_out_composer() {
    let app = Dash::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    app.inbound("SM00000000000000000000000000000005", "hello").await;
    let id = app.only_conversation().await;
    let phi = "Your SSN 123-45-6789 is on file.";

    let (status, _, page) = app.post(&staff, &format!("/c/{id}/reply"), &[("body", phi)]).await;
    assert_eq!(status, 422);
    assert!(page.contains("Send anyway"));
    assert!(page.contains("Social Security"), "the warning names what was found");
    assert!(page.contains(phi), "the draft is kept");
    assert!(app.messages(id).await.iter().all(|m| m.body != phi), "nothing queued before confirming");
    let (status, _, _) = app.post(&staff, &format!("/c/{id}/reply"), &[("body", phi), ("confirm_phi", "1")]).await;
    assert_eq!(status, 303);
    assert!(app.messages(id).await.iter().any(|m| m.body == phi));

    // The composer's estimate, from the domain code.
    let r = app
        .http
        .post(app.url("/compose/check"))
        .header("cookie", &staff.cookie)
        .header("x-csrf-token", &staff.csrf)
        .json(&json!({"body": "It’s ready"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let check: serde_json::Value = r.json().await.unwrap();
    assert_eq!(check["encoding"], "UCS-2");
    assert_eq!(check["segments"], 1);
    assert_eq!(check["smart"]["encoding"], "GSM-7");
    assert_eq!(check["smart"]["text"], "It's ready");

    // STOP: the composer is disabled with a reason, and the server refuses anyway.
    app.inbound("SM00000000000000000000000000000006", "STOP").await;
    let (_, page) = app.get(&staff, &format!("/c/{id}")).await;
    assert!(page.contains("opted out"));
    assert!(page.contains("name=\"body\" rows=\"4\" maxlength=\"1600\" disabled"));
    let before = app.messages(id).await.len();
    let (status, _, page) = app.post(&staff, &format!("/c/{id}/reply"), &[("body", "Are you there?")]).await;
    assert_eq!(status, 409);
    assert!(page.contains("opted out"));
    assert_eq!(app.messages(id).await.len(), before);
    app.stop().await;
}

#[tokio::test]
async fn search_new_conversation_and_templates() {
    let app = Dash::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    let patient = app
        .services
        .create_patient(
            frontdesk_services::patients::NewPatient {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                birth_date: Some("1980-12-10".into()),
                mrn: Some("MRN-77".into()),
                phone: Some(PATIENT.into()),
                status: None,
            },
            Actor::System,
            None,
        )
        .await
        .unwrap();
    let (status, page) = app.get(&staff, "/search?q=Lovelace").await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/new?patient={}", patient.id)));
    let (_, page) = app.get(&staff, "/search?q=MRN-77").await;
    assert!(page.contains("Ada Lovelace"));

    let (status, page) = app.get(&staff, &format!("/new?patient={}", patient.id)).await;
    assert_eq!(status, 200);
    assert!(page.contains("(212) 736-5050"));
    let pid = patient.id.to_string();
    let (status, location, _) = app
        .post(
            &staff,
            "/new",
            &[
                ("to", "(212) 736-5050"),
                ("body", "Hello from the practice"),
                ("patient", &pid),
                ("consent_basis", "verbal"),
                ("consent_note", "Asked at the desk to be texted."),
            ],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    let id = app.only_conversation().await;
    assert_eq!(location, format!("/c/{id}"));
    let (_, page) = app.get(&staff, &format!("/c/{id}")).await;
    assert!(page.contains("MRN-77"), "the side panel shows the linked patient");
    assert!(page.contains("Dec 10, 1980"));

    let ctx = app
        .services
        .staff_context(app.services.store.user_by_email("front@example.org").await.unwrap().unwrap())
        .await
        .unwrap();
    let t = app.services.save_template(&ctx, None, "Greeting", "Hi {patient.first_name}!", None).await.unwrap();
    let r = app
        .http
        .get(app.url(&format!("/c/{id}/template/{}", t.id)))
        .header("cookie", &staff.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["text"], "Hi Ada!");
    let (_, page) = app.get(&staff, &format!("/c/{id}?template={}", t.id)).await;
    assert!(page.contains(">Hi Ada!</textarea>"), "without script the page comes back filled in");
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_event_stream_needs_a_session() {
    let app = Dash::start().await;
    let r = app.http.get(app.url("/events")).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let staff = app.user("front@example.org", Role::Staff).await;
    let r = app
        .http
        .get(app.url("/events"))
        .header("accept", "text/event-stream")
        .header("cookie", &staff.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut stream = r.bytes_stream();
    app.inbound("SM00000000000000000000000000000007", "hi").await;
    let mut seen = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        use futures::StreamExt;
        while let Some(Ok(chunk)) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("message_received") {
                break;
            }
        }
    })
    .await;
    assert!(seen.contains("event: message_received"), "{seen}");
    assert!(seen.contains("\"attention\":true"));
    assert!(!seen.contains("hi\""), "events carry ids, not text");
    app.stop().await;
}

#[tokio::test]
async fn a_long_thread_shows_its_newest_entries_and_the_rest_on_request() {
    let app = Dash::start().await;
    let total = frontdesk_server::web::dashboard::conversation::RECENT_ENTRIES + 5;
    for i in 0..total {
        app.inbound(&format!("SM{i:032}"), &format!("visit note {i:03}")).await;
    }
    let id = app.only_conversation().await;
    let staff = app.user("long@example.org", Role::Staff).await;
    let (status, page) = app.get(&staff, &format!("/c/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Show 5 earlier messages and notes"), "the hidden ones are counted");
    assert!(!page.contains("visit note 004") && page.contains("visit note 005"));
    assert!(page.contains(&format!("visit note {:03}", total - 1)));
    let (_, all) = app.get(&staff, &format!("/c/{id}?all=1")).await;
    assert!(all.contains("visit note 000") && !all.contains("earlier messages and notes"));
    app.stop().await;
}
