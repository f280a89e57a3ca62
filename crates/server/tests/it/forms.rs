//! Secure forms end to end: staff send a form from a conversation (the text carries only the
//! link), the patient opens and submits it over the public pages, staff see the score and the
//! answers (audited), replays and bad links get neutral pages, bad uploads are refused with
//! nothing stored.

use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_domain::forms::FormRequestStatus;
use frontdesk_domain::model::{ProviderKind, Role};
use frontdesk_providers::twilio::signature::{Algorithm, compute};
use frontdesk_server::{App, Settings};
use frontdesk_services::Services;
use frontdesk_services::audit::Actor;
use frontdesk_services::numbers::NewNumber;
use reqwest::multipart;
use reqwest::redirect::Policy;
use tokio::sync::oneshot;

use crate::support::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, PRACTICE};

const PATIENT: &str = "+12127365051";
const PASSWORD: &str = "correct horse battery staple";

struct Forms {
    base: String,
    http: reqwest::Client,
    services: Services,
    twilio: FakeTwilio,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

struct Browser {
    cookie: String,
    csrf: String,
}

fn png(extra_text: &str, pad_to: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0, 0, 0, 0]);
        c
    };
    v.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]));
    v.extend(chunk(b"tEXt", format!("Comment\0{extra_text}").as_bytes()));
    let idat = vec![7u8; pad_to.saturating_sub(v.len() + 40)];
    v.extend(chunk(b"IDAT", &idat));
    v.extend(chunk(b"IEND", &[]));
    v
}

impl Forms {
    async fn start() -> Forms {
        Forms::start_with(true).await
    }

    /// `public_url`: whether `FRONTDESK_PUBLIC_URL` is set (else only the listen address is).
    async fn start_with(public_url: bool) -> Forms {
        let twilio = FakeTwilio::start().await;
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut settings = Settings {
            data_dir: dir.path().to_path_buf(),
            public_url: public_url.then(|| base.clone()),
            listen: addr.to_string(),
            ..Settings::default()
        };
        settings.twilio.account_sid = Some(ACCOUNT_SID.into());
        settings.twilio.auth_token = Some(AUTH_TOKEN.into());
        settings.twilio.api_base = Some(twilio.base.clone());
        settings.twilio.timeout_secs = Some(2);
        settings.simulator.enabled = Some(false);
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
        Forms { base, http, services, twilio, stop: Some(stop), handle: Some(handle), _dir: dir }
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

    /// A text from the patient, so there is a conversation; returns its id.
    async fn conversation(&self) -> uuid::Uuid {
        let params: Vec<(String, String)> = [
            ("MessageSid", "SM00000000000000000000000000000f01"),
            ("AccountSid", ACCOUNT_SID),
            ("From", PATIENT),
            ("To", PRACTICE),
            ("Body", "Hello, I need to fill in my forms"),
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
        let contact = self
            .services
            .store
            .contact_by_phone(&frontdesk_domain::E164::parse_strict(PATIENT).unwrap())
            .await
            .unwrap()
            .unwrap();
        self.services.store.contact_conversations(contact.id).await.unwrap()[0].conversation.id
    }

    async fn get(&self, b: Option<&Browser>, path: &str) -> (u16, String) {
        let mut r = self.http.get(self.url(path));
        if let Some(b) = b {
            r = r.header("cookie", &b.cookie);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(&self, b: &Browser, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &b.csrf)];
        form.extend_from_slice(fields);
        let r = self.http.post(self.url(path)).header("cookie", &b.cookie).form(&form).send().await.unwrap();
        let status = r.status().as_u16();
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, location)
    }

    /// Sends `form` from the conversation; returns the link's path (`/f/...`) from the text.
    async fn send_form(&self, staff: &Browser, id: uuid::Uuid, form: &str) -> String {
        let before = self.link_count(id).await;
        let (status, location) = self.post(staff, &format!("/c/{id}/forms"), &[("form", form)]).await;
        assert_eq!((status, location.as_str()), (303, format!("/c/{id}").as_str()));
        let s = self.services.store.conversation_summary(id).await.unwrap().unwrap();
        let texts: Vec<String> = self
            .services
            .store
            .thread_messages(s.thread.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.body)
            .filter(|b| b.contains("/f/"))
            .collect();
        assert_eq!(texts.len(), before + 1);
        let body = texts.last().unwrap().clone();
        let start = body.find(&self.base).expect("the text carries the absolute link");
        let link: String = body[start + self.base.len()..].chars().take_while(|c| !c.is_whitespace()).collect();
        assert!(link.starts_with("/f/") && link.len() >= 3 + 43, "a 256-bit token: {link}");
        link
    }

    async fn link_count(&self, id: uuid::Uuid) -> usize {
        let s = self.services.store.conversation_summary(id).await.unwrap().unwrap();
        self.services
            .store
            .thread_messages(s.thread.id)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.body.contains("/f/"))
            .count()
    }

    async fn submit(&self, link: &str, form: multipart::Form) -> (u16, String) {
        let r = self.http.post(self.url(link)).multipart(form).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn request_for(&self, id: uuid::Uuid) -> frontdesk_domain::forms::FormRequest {
        let s = self.services.store.conversation_summary(id).await.unwrap().unwrap();
        self.services.store.thread_form_requests(s.thread.id).await.unwrap().pop().expect("a request")
    }
}

fn phq9(values: [u8; 9]) -> multipart::Form {
    let mut form = multipart::Form::new();
    for (i, v) in values.iter().enumerate() {
        form = form.text(format!("phq9_{}", i + 1), v.to_string());
    }
    form.text("phq9_difficulty", "somewhat")
}

#[tokio::test]
async fn send_open_submit_phq9_and_staff_see_the_score() {
    let app = Forms::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    let id = app.conversation().await;

    // The conversation page offers the forms.
    let (status, page) = app.get(Some(&staff), &format!("/c/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Send a secure form") && page.contains("value=\"phq-9\""));

    let link = app.send_form(&staff, id, "phq-9").await;
    // The text carries only the link: no form name, nothing clinical.
    let r = app.twilio_body(&link).await;
    assert!(!r.to_lowercase().contains("phq") && !r.to_lowercase().contains("depress"), "{r}");
    assert_eq!(app.request_for(id).await.status, FormRequestStatus::Sent);

    // The patient opens it: no session needed, never cached.
    let resp = app.http.get(app.url(&link)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("cache-control").unwrap(), "no-store");
    let html = resp.text().await.unwrap();
    assert!(html.contains("PHQ-9") && html.contains("name=\"phq9_9\""));
    assert!(html.contains("/static/form.js") && !html.contains("<script>"), "no inline script");
    let request = app.request_for(id).await;
    assert_eq!(request.status, FormRequestStatus::Opened);
    assert!(request.opened_at.is_some());

    // A missing answer: the form again, naming it; nothing stored.
    let mut partial = multipart::Form::new();
    for i in 1..=8 {
        partial = partial.text(format!("phq9_{i}"), "1");
    }
    let (status, html) = app.submit(&link, partial).await;
    assert_eq!(status, 422);
    assert!(html.contains("Please check 1 answer") && html.contains("#f-phq9_9"), "{html}");
    assert_eq!(app.request_for(id).await.status, FormRequestStatus::Opened);

    // 8 × 2 + 1 = 17: moderately severe, item 9 flagged.
    let (status, html) = app.submit(&link, phq9([2, 2, 2, 2, 2, 2, 2, 2, 1])).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Thank you"));
    let request = app.request_for(id).await;
    assert_eq!(request.status, FormRequestStatus::Submitted);

    // A second submit (a replay) is refused; the first stands.
    let (status, html) = app.submit(&link, phq9([0; 9])).await;
    assert_eq!(status, 410);
    assert!(html.contains("already sent"));
    let (status, html) = app.get(None, &link).await;
    assert_eq!(status, 410);
    assert!(html.contains("already sent"));

    // Staff see it in the conversation, with the score computed on the server.
    let (_, page) = app.get(Some(&staff), &format!("/c/{id}")).await;
    assert!(page.contains("data-form-status=\"submitted\""), "{page}");
    assert!(page.contains("score 17 of 27 (moderately severe)"));
    assert!(page.contains("Flagged"));
    let submission = app.services.store.form_submission_by_request(request.id).await.unwrap().unwrap();
    let (status, view) = app.get(Some(&staff), &format!("/forms/{}", submission.id)).await;
    assert_eq!(status, 200);
    assert!(view.contains("score 17 of 27 (moderately severe)"));
    assert!(view.contains("More than half the days") && view.contains("Somewhat difficult"));
    assert!(view.contains("Item 9"));
    let audit = app.services.store.list_audit(50).await.unwrap();
    for action in ["form.send", "form.open", "form.submit", "form.view"] {
        assert!(audit.iter().any(|a| a.action == action), "{action} audited");
    }

    // FHIR export.
    let r = app
        .http
        .get(app.url(&format!("/forms/{}/fhir", submission.id)))
        .header("cookie", &staff.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let qr: serde_json::Value = r.json().await.unwrap();
    assert_eq!(qr["resourceType"], "QuestionnaireResponse");
    assert_eq!(qr["status"], "completed");
    assert_eq!(qr["item"].as_array().unwrap().len(), 10);

    // Staff pages need a session.
    let (status, _) = app.get(None, &format!("/forms/{}", submission.id)).await;
    assert_eq!(status, 303);
    app.stop().await;
}

impl Forms {
    /// The body of the text the provider was asked to send carrying `link`.
    async fn twilio_body(&self, link: &str) -> String {
        for _ in 0..100 {
            if let Some(r) = self.twilio.requests().iter().find(|r| r.field("Body").is_some_and(|b| b.contains(link))) {
                return r.field("Body").unwrap().to_string();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the link was never sent");
    }
}

#[tokio::test]
async fn expired_revoked_and_guessed_links_get_neutral_pages() {
    let app = Forms::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    let id = app.conversation().await;

    // Guessed tokens: well-formed or not, the same page.
    let (guessed_status, guessed) = app.get(None, "/f/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(guessed_status, 404);
    assert!(guessed.contains("This link does not work"));
    assert_eq!(app.get(None, "/f/x").await, (404, guessed.clone()));
    assert_eq!(
        app.submit("/f/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", phq9([0; 9])).await,
        (404, guessed.clone())
    );

    // Revoked: exactly the guessed page.
    let link = app.send_form(&staff, id, "gad-7").await;
    let request = app.request_for(id).await;
    let (status, location) = app.post(&staff, &format!("/forms/requests/{}/revoke", request.id), &[]).await;
    assert_eq!((status, location), (303, format!("/c/{id}")));
    assert_eq!(app.get(None, &link).await, (404, guessed.clone()));
    assert_eq!(app.submit(&link, phq9([0; 9])).await, (404, guessed.clone()));

    // Expired: its own page, and the request reads expired.
    let link = app.send_form(&staff, id, "consent").await;
    let mut request = app.request_for(id).await;
    request.expires_at = chrono::Utc::now() - chrono::TimeDelta::minutes(1);
    let r = request.clone();
    frontdesk_store::write(&*app.services.store, move |tx| Box::pin(async move { tx.update_form_request(&r).await }))
        .await
        .unwrap();
    let (status, html) = app.get(None, &link).await;
    assert_eq!(status, 410);
    assert!(html.contains("expired"));
    assert_eq!(app.request_for(id).await.status, FormRequestStatus::Expired);
    let (_, page) = app.get(Some(&staff), &format!("/c/{id}")).await;
    assert!(page.contains("data-form-status=\"expired\"") && page.contains("data-form-status=\"revoked\""));
    app.stop().await;
}

#[tokio::test]
async fn intake_photo_uploads_checked_stripped_and_sealed() {
    let app = Forms::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    let id = app.conversation().await;
    let link = app.send_form(&staff, id, "intake").await;
    let intake = |front: Option<(Vec<u8>, &str)>| {
        let mut f = multipart::Form::new()
            .text("first_name", "Ann")
            .text("last_name", "Lee")
            .text("birth_date", "1980-02-03")
            .text("address", "1 Main St")
            .text("has_insurance", "yes")
            .text("insurer", "Acme Health")
            .text("member_id", "XQ123");
        if let Some((bytes, name)) = front {
            f = f.part(
                "card_front",
                multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str("image/png").unwrap(),
            );
        }
        f
    };

    // Wrong type (a PDF named .png): refused, named, nothing stored.
    let (status, html) = app.submit(&link, intake(Some((b"%PDF-1.7 not an image".to_vec(), "card.png")))).await;
    assert_eq!(status, 422);
    assert!(html.contains("Insurance card, front: this file is not a photo"), "{html}");
    // Oversized (9 MB): refused with the limit.
    let (status, html) = app.submit(&link, intake(Some((png("x", 9 * 1024 * 1024), "big.png")))).await;
    assert_eq!(status, 422);
    assert!(html.contains("the limit is 8 MB"), "{html}");
    // Far over the whole-request limit: a clear page, nothing stored.
    let (status, html) = app.submit(&link, intake(Some((png("x", 40 * 1024 * 1024), "huge.png")))).await;
    assert_eq!(status, 413);
    assert!(html.contains("too large"));
    let request = app.request_for(id).await;
    assert!(request.status.is_open());
    assert!(app.services.store.form_submission_by_request(request.id).await.unwrap().is_none());

    // A real PNG with location text in a metadata chunk: accepted, metadata removed.
    let (status, html) = app.submit(&link, intake(Some((png("GPSLatitude 51.5", 2048), "card.png")))).await;
    assert_eq!(status, 200, "{html}");
    let submission = app.services.store.form_submission_by_request(request.id).await.unwrap().unwrap();
    let files = app.services.store.submission_files(submission.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0].bytes.starts_with(b"\x89PNG"));
    assert!(!files[0].bytes.windows(11).any(|w| w == b"GPSLatitude"), "metadata stripped");
    let (status, view) = app.get(Some(&staff), &format!("/forms/{}", submission.id)).await;
    assert_eq!(status, 200);
    let img = format!("/forms/{}/files/{}", submission.id, files[0].id);
    assert!(view.contains(&img) && view.contains("Acme Health"));
    let r = app.http.get(app.url(&img)).header("cookie", &staff.cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-type").unwrap(), "image/png");
    assert_eq!(app.get(None, &img).await.0, 303, "images need a session");
    // This test's PNG is only a container (its pixels do not decode): the PDF still renders
    // and names the photo where it would have been drawn.
    let r = app
        .http
        .get(app.url(&format!("/forms/{}/pdf", submission.id)))
        .header("cookie", &staff.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = pdf_strings(&r.bytes().await.unwrap());
    assert!(text.contains("Insurance card, front could not be drawn here"), "{text}");
    assert!(text.contains("Acme Health"));
    app.stop().await;
}

#[tokio::test]
async fn date_of_birth_check_locks_after_five_wrong_answers() {
    let app = Forms::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    let id = app.conversation().await;
    let patient = app
        .services
        .create_patient(
            frontdesk_services::patients::NewPatient {
                first_name: "Ann".into(),
                last_name: "Lee".into(),
                birth_date: Some("1980-02-03".into()),
                mrn: None,
                phone: Some(PATIENT.into()),
                status: None,
            },
            Actor::System,
            None,
        )
        .await
        .unwrap();
    let user = app.services.store.user_by_email("front@example.org").await.unwrap().unwrap();
    let ctx = app.services.staff_context(user).await.unwrap();
    app.services
        .change_conversation(
            &ctx,
            id,
            frontdesk_services::conversations::ConversationChange::LinkPatient(Some(patient.id)),
            None,
        )
        .await
        .unwrap();
    let link = app.send_form(&staff, id, "phq-9").await;

    let (status, html) = app.get(None, &link).await;
    assert_eq!(status, 200);
    assert!(html.contains("confirm your date of birth") && !html.contains("phq9_1"));
    assert_eq!(app.request_for(id).await.status, FormRequestStatus::Sent, "not opened before the check");

    // The right date shows the form and carries the date into the submit.
    let r = app.http.post(app.url(&format!("{link}/identity"))).form(&[("dob", "1980-02-03")]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("name=\"phq9_1\"") && html.contains("name=\"_dob\""));
    // A submit without the date is sent back to the check.
    let (status, html) = app.submit(&link, phq9([0; 9])).await;
    assert_eq!(status, 200);
    assert!(html.contains("confirm your date of birth"));

    for left in (1..=4).rev() {
        let r =
            app.http.post(app.url(&format!("{link}/identity"))).form(&[("dob", "1990-01-01")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("{left} attempt")), "{html}");
    }
    let r = app.http.post(app.url(&format!("{link}/identity"))).form(&[("dob", "1990-01-01")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("locked"));
    // Locked even with the right date now.
    let r = app.http.post(app.url(&format!("{link}/identity"))).form(&[("dob", "1980-02-03")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn without_a_public_url_links_use_the_listen_address() {
    let app = Forms::start_with(false).await;
    assert_eq!(app.services.settings().public_url, None, "provider callbacks keep no public URL");
    let staff = app.user("front@example.org", Role::Staff).await;
    let id = app.conversation().await;
    // `send_form` checks the text carries `http://{listen}/f/...`.
    let link = app.send_form(&staff, id, "gad-7").await;
    let body = app.twilio_body(&link).await;
    assert!(body.contains(&format!("{}{link}", app.base)), "{body}");
    let (status, _) = app.get(None, &link).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_template_with_form_link_sends_the_form_chosen_in_the_composer() {
    let app = Forms::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    let id = app.conversation().await;
    let user = app.services.store.user_by_email("front@example.org").await.unwrap().unwrap();
    let ctx = app.services.staff_context(user).await.unwrap();
    let t = app
        .services
        .save_template(&ctx, None, "Forms", "{practice.name}: before your visit please fill this in: {form.link}", None)
        .await
        .expect("templates may use {form.link}");
    // The template fills in everything but the link, which is made at send time.
    let (status, body) = app.get(Some(&staff), &format!("/c/{id}/template/{}", t.id)).await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let text = answer["text"].as_str().unwrap().to_string();
    assert!(text.ends_with("please fill this in: {form.link}") && !text.starts_with('{'), "{text}");
    assert_eq!(answer["needs_form"], true);

    // Sending it without choosing a form names the missing choice, and nothing is sent.
    let r = app
        .http
        .post(app.url(&format!("/c/{id}/reply")))
        .header("cookie", &staff.cookie)
        .form(&[("_csrf", staff.csrf.as_str()), ("body", text.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("choose the secure form that {form.link} should open"), "{page}");
    assert_eq!(app.link_count(id).await, 0);

    // With a form chosen, the placeholder becomes a fresh link to that form.
    let (status, location) = app.post(&staff, &format!("/c/{id}/reply"), &[("body", &text), ("form", "phq-9")]).await;
    assert_eq!((status, location.as_str()), (303, format!("/c/{id}").as_str()));
    assert_eq!(app.link_count(id).await, 1);
    let request = app.request_for(id).await;
    assert_eq!(request.form_key, "phq-9");
    let sent = app.twilio_body(&format!("{}/f/", app.base)).await;
    assert!(sent.contains("please fill this in: ") && !sent.contains("{form.link}"), "{sent}");
    let link: String = sent[sent.find("/f/").unwrap()..].chars().take_while(|c| !c.is_whitespace()).collect();
    let (status, page) = app.get(None, &link).await;
    assert_eq!(status, 200);
    assert!(page.contains("PHQ-9"), "the link opens the chosen form");
    app.stop().await;
}

/// The text a PDF draws, as far as a test needs: the page streams are left uncompressed, so
/// each `(...)` literal and `<...>` hex string operand is read as it stands.
fn pdf_strings(pdf: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < pdf.len() {
        if pdf[i] == b'<' && pdf.get(i + 1) != Some(&b'<') && (i == 0 || pdf[i - 1] != b'<') {
            let end = match pdf[i + 1..].iter().position(|&b| b == b'>') {
                Some(n) => i + 1 + n,
                None => break,
            };
            let hex: Vec<u8> = pdf[i + 1..end].iter().copied().filter(|b| b.is_ascii_hexdigit()).collect();
            if end - i - 1 == hex.len() && hex.len().is_multiple_of(2) {
                let bytes: Vec<u8> =
                    hex.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap()).collect();
                out.push_str(&String::from_utf8_lossy(&bytes));
                out.push('\n');
            }
            i = end + 1;
        } else if pdf[i] == b'(' {
            let mut depth = 1;
            let mut s = Vec::new();
            i += 1;
            while i < pdf.len() && depth > 0 {
                match pdf[i] {
                    b'\\' if i + 1 < pdf.len() => {
                        i += 1;
                        s.push(pdf[i]);
                    }
                    b'(' => {
                        depth += 1;
                        s.push(b'(');
                    }
                    b')' => {
                        depth -= 1;
                        if depth > 0 {
                            s.push(b')');
                        }
                    }
                    b => s.push(b),
                }
                i += 1;
            }
            out.push_str(&String::from_utf8_lossy(&s));
            out.push('\n');
        } else {
            i += 1;
        }
    }
    out
}

#[tokio::test]
async fn a_submission_exports_as_pdf_for_staff_who_can_see_it() {
    let app = Forms::start().await;
    let staff = app.user("front@example.org", Role::Staff).await;
    let id = app.conversation().await;
    let link = app.send_form(&staff, id, "phq-9").await;
    let (status, html) = app.submit(&link, phq9([2, 2, 2, 2, 2, 2, 2, 2, 1])).await;
    assert_eq!(status, 200, "{html}");
    let request = app.request_for(id).await;
    let submission = app.services.store.form_submission_by_request(request.id).await.unwrap().unwrap();
    let path = format!("/forms/{}/pdf", submission.id);

    let (_, page) = app.get(Some(&staff), &format!("/forms/{}", submission.id)).await;
    assert!(page.contains(&format!("href=\"{path}\"")), "the submission page links the PDF");
    let before = app.services.store.list_audit(200).await.unwrap().iter().filter(|a| a.action == "form.export").count();
    let r = app.http.get(app.url(&path)).header("cookie", &staff.cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-type").unwrap(), "application/pdf");
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
    let text = pdf_strings(&bytes);
    for expected in [
        "PHQ-9 depression questionnaire",
        app.services.settings().name.as_str(),
        "Little interest or pleasure in doing things",
        "More than half the days",
        "score 17 of 27 (moderately severe)",
        "Submitted:",
    ] {
        assert!(text.contains(expected), "{expected:?} in the PDF:\n{text}");
    }
    let after = app.services.store.list_audit(200).await.unwrap().iter().filter(|a| a.action == "form.export").count();
    assert_eq!(after, before + 1, "audited as an export");

    // Staff limited to a department that is not this conversation's: as if it did not exist.
    let limited = app.user("limited@example.org", Role::Staff).await;
    let department = app.services.add_department_as("Billing", Actor::System, None).await.unwrap();
    let user = app.services.store.user_by_email("limited@example.org").await.unwrap().unwrap();
    let only = department.id;
    frontdesk_store::write(&*app.services.store, move |tx| {
        Box::pin(async move { tx.set_user_departments(user.id, &[only]).await })
    })
    .await
    .unwrap();
    let r = app.http.get(app.url(&path)).header("cookie", &limited.cookie).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(!r.bytes().await.unwrap().starts_with(b"%PDF"));
    // And without a session, the sign-in page.
    let (status, _) = app.get(None, &path).await;
    assert_eq!(status, 303);
    app.stop().await;
}

impl Forms {
    /// An admin signed in with two-factor (admin pages need it).
    async fn admin(&self, email: &str) -> Browser {
        use frontdesk_services::accounts::token_hash;
        use frontdesk_services::sessions::totp_code_at;
        self.services.create_user(email, "Ada Admin", Role::Admin, PASSWORD, Actor::System).await.unwrap();
        let signed = self.services.sign_in(email, PASSWORD, None).await.unwrap();
        let current = self.services.current_session(&signed.cookie_secret).await.unwrap().unwrap();
        let enrolment = self.services.begin_totp_enrolment(&current.user).await.unwrap();
        let code = totp_code_at(&enrolment.secret_base32, chrono::Utc::now()).unwrap();
        let enrolled = self.services.confirm_totp_enrolment(&current, &code, None).await.unwrap();
        let secret = enrolled.cookie_secret;
        let session = self.services.store.session_by_hash(&token_hash(&secret)).await.unwrap().unwrap();
        Browser { cookie: format!("fd_session={secret}"), csrf: session.csrf_token }
    }

    /// Posts a custom form definition to the admin page; the status, `Location` and body.
    async fn define(&self, b: &Browser, definition: &str, action: &str) -> (u16, String, String) {
        let form = [("_csrf", b.csrf.as_str()), ("definition", definition), ("action", action)];
        let r = self.http.post(self.url("/admin/forms")).header("cookie", &b.cookie).form(&form).send().await.unwrap();
        let status = r.status().as_u16();
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, location, r.text().await.unwrap())
    }
}

/// The admin form's error summary.
fn form_error(html: &str) -> String {
    let start = html.find("id=\"form-error\">").expect("an error summary") + "id=\"form-error\">".len();
    html[start..].split("</p>").next().unwrap().to_string()
}

const CUSTOM_FORM: &str = r#"{
  "key": "follow-up",
  "title": "Follow-up questions",
  "fields": [
    {"id": "feeling", "label": "How are you feeling since your visit?", "type": "single_choice", "required": true,
     "options": [{"value": "better", "label": "Better"}, {"value": "worse", "label": "Worse"}]},
    {"id": "details", "label": "Tell us more", "type": "long_text", "required": true,
     "show_if": {"field": "feeling", "equals": "worse"}}
  ]
}"#;

#[tokio::test]
async fn admins_define_custom_forms_that_staff_send_and_patients_fill() {
    let app = Forms::start().await;
    let admin = app.admin("admin@example.org").await;
    let staff = app.user("front@example.org", Role::Staff).await;
    let id = app.conversation().await;

    // The list shows the built-in forms.
    let (status, page) = app.get(Some(&admin), "/admin/forms").await;
    assert_eq!(status, 200);
    assert!(page.contains("PHQ-9 depression questionnaire") && page.contains("data-form-key=\"intake\""));
    // Staff who are not admins cannot define forms.
    let (status, _, _) = app.define(&staff, CUSTOM_FORM, "save").await;
    assert_eq!(status, 403);

    // Bad definitions: the error names the field; nothing is stored.
    let missing_label = CUSTOM_FORM.replace(r#""label": "Tell us more", "#, "");
    let (status, _, html) = app.define(&admin, &missing_label, "save").await;
    assert_eq!(status, 422);
    let error = form_error(&html);
    assert!(
        error.starts_with("Form definition:") && error.contains("missing field") && error.contains("label"),
        "{error}"
    );
    assert!(html.contains("aria-invalid=\"true\""), "the textarea is marked");
    let unknown_condition = CUSTOM_FORM.replace(r#""field": "feeling""#, r#""field": "mood""#);
    let (status, _, html) = app.define(&admin, &unknown_condition, "save").await;
    assert_eq!(status, 422);
    let error = form_error(&html);
    assert!(error.contains("details") && error.contains("mood"), "{error}");
    let builtin_key = CUSTOM_FORM.replace("follow-up", "phq-9");
    let (status, _, html) = app.define(&admin, &builtin_key, "preview").await;
    assert_eq!(status, 422);
    let error = form_error(&html);
    assert!(error.contains("key") && error.contains("built-in"), "{error}");
    assert!(app.services.custom_forms().await.unwrap().is_empty());

    // Preview: the patient's page itself.
    let (status, _, html) = app.define(&admin, CUSTOM_FORM, "preview").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Follow-up questions") && html.contains("name=\"feeling\"") && html.contains("/static/form.js")
    );
    assert!(app.services.custom_forms().await.unwrap().is_empty(), "a preview stores nothing");

    let (status, location, _) = app.define(&admin, CUSTOM_FORM, "save").await;
    assert_eq!((status, location.as_str()), (303, "/admin/forms?saved=follow-up"));
    let (_, page) = app.get(Some(&admin), &location).await;
    assert!(page.contains("data-form-key=\"follow-up\"") && page.contains("custom"));
    assert!(app.services.store.list_audit(50).await.unwrap().iter().any(|a| a.action == "form.define"));

    // Staff see it in the conversation's list, send it, and the patient fills it.
    let (_, page) = app.get(Some(&staff), &format!("/c/{id}")).await;
    assert!(page.contains("value=\"follow-up\""), "{page}");
    let link = app.send_form(&staff, id, "follow-up").await;
    let (status, html) = app.get(None, &link).await;
    assert_eq!(status, 200);
    assert!(html.contains("How are you feeling since your visit?"));
    let (status, html) = app.submit(&link, multipart::Form::new().text("feeling", "worse")).await;
    assert_eq!(status, 422, "the conditional question became required");
    assert!(html.contains("#f-details"), "{html}");
    let answers = multipart::Form::new().text("feeling", "worse").text("details", "The cough is back");
    let (status, html) = app.submit(&link, answers).await;
    assert_eq!(status, 200, "{html}");
    let request = app.request_for(id).await;
    assert_eq!(request.status, FormRequestStatus::Submitted);
    let submission = app.services.store.form_submission_by_request(request.id).await.unwrap().unwrap();
    let (status, view) = app.get(Some(&staff), &format!("/forms/{}", submission.id)).await;
    assert_eq!(status, 200);
    assert!(view.contains("Follow-up questions") && view.contains("The cough is back"));
    app.stop().await;
}
