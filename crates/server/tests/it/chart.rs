//! Saving conversations to the chart: a local fake FHIR endpoint records what is posted and
//! fails on demand. Closing a conversation posts its Bundle with the bearer token; a 503 is
//! retried; a 400 becomes failed with the server's message, shown on the conversation page.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use frontdesk_domain::model::Role;
use frontdesk_server::config::ChartConfig;
use frontdesk_services::audit::Actor;
use frontdesk_services::conversations::ConversationChange;
use frontdesk_store::ChartJobStatus;
use serde_json::{Value, json};

use crate::support::{Options, TestApp};

const TOKEN: &str = "chart-bearer-secret";
const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Default)]
struct FakeFhir {
    /// (Authorization header, Bundle) of every POST.
    posted: Arc<Mutex<Vec<(String, Value)>>>,
    /// Statuses to answer with, in order; 200 once empty.
    replies: Arc<Mutex<VecDeque<(u16, Value)>>>,
}

async fn receive(State(fake): State<FakeFhir>, headers: HeaderMap, body: String) -> (StatusCode, String) {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    fake.posted.lock().unwrap().push((auth, serde_json::from_str(&body).unwrap_or(Value::Null)));
    let (status, body) = fake
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((200, json!({"resourceType": "Bundle", "type": "transaction-response"})));
    (StatusCode::from_u16(status).unwrap(), body.to_string())
}

async fn start_fake() -> (FakeFhir, String) {
    let fake = FakeFhir::default();
    let app = axum::Router::new().route("/fhir", post(receive)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, base)
}

async fn conversation_of(app: &TestApp, from: &str, sid: &str, body: &str) -> uuid::Uuid {
    assert_eq!(app.inbound(sid, from, body).await.status(), 200);
    let phone = frontdesk_domain::E164::parse_strict(from).unwrap();
    let contact = app.services.store.contact_by_phone(&phone).await.unwrap().unwrap();
    app.services.store.contact_conversations(contact.id).await.unwrap()[0].conversation.id
}

async fn wait_job(app: &TestApp, id: uuid::Uuid, status: ChartJobStatus) -> frontdesk_store::ChartJob {
    for _ in 0..200 {
        let jobs = app.services.chart_jobs(id).await.unwrap();
        if let Some(j) = jobs.into_iter().find(|j| j.status == status) {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {status:?} chart job for {id}: {:?}", app.services.chart_jobs(id).await.unwrap());
}

#[tokio::test]
async fn closing_posts_the_bundle_retries_temporary_failures_and_shows_refusals() {
    let (fake, url) = start_fake().await;
    let chart = ChartConfig {
        fhir_base_url: Some(url),
        bearer_token: Some(TOKEN.into()),
        on_close: true,
        retry_base_ms: 50,
        retry_cap_secs: 1,
        max_attempts: 5,
        timeout_secs: 2,
        ..ChartConfig::default()
    };
    let app = TestApp::start_with(Options { chart: Some(chart), ..Options::default() }).await;
    let services = &app.services;
    services.create_user("front@clinic.test", "Dana Desk", Role::Staff, PASSWORD, Actor::System).await.unwrap();
    let user = services.store.user_by_email("front@clinic.test").await.unwrap().unwrap();
    let ctx = services.staff_context(user).await.unwrap();

    // 1. Closing posts the Bundle with the bearer token.
    let first =
        conversation_of(&app, "+12127365001", "SM10000000000000000000000000000001", "Can I move my appointment?").await;
    assert!(services.chart_jobs(first).await.unwrap().is_empty(), "nothing before the close");
    services.change_conversation(&ctx, first, ConversationChange::Close, None).await.unwrap();
    let job = wait_job(&app, first, ChartJobStatus::Sent).await;
    assert_eq!(job.attempts, 1);
    let posted = fake.posted.lock().unwrap().clone();
    assert_eq!(posted.len(), 1);
    let (auth, bundle) = &posted[0];
    assert_eq!(auth, &format!("Bearer {TOKEN}"));
    assert_eq!(bundle["type"], "transaction");
    let comm = &bundle["entry"][0]["resource"];
    assert_eq!(comm["resourceType"], "Communication");
    assert_eq!(comm["payload"][0]["contentString"], "Can I move my appointment?");
    assert_eq!(comm["identifier"][0]["value"], "SM10000000000000000000000000000001");
    assert_eq!(comm["medium"][0]["coding"][0]["code"], "SMSWRIT");

    // 2. 503, then 200: retried.
    fake.replies.lock().unwrap().push_back((
        503,
        json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": "maintenance"}]}),
    ));
    let second = conversation_of(&app, "+12127365002", "SM10000000000000000000000000000002", "Refill please").await;
    services.change_conversation(&ctx, second, ConversationChange::Close, None).await.unwrap();
    let job = wait_job(&app, second, ChartJobStatus::Sent).await;
    assert_eq!(job.attempts, 2, "one temporary failure, then sent");
    assert_eq!(fake.posted.lock().unwrap().len(), 3);

    // 3. 400: failed for good, with the server's reason on the page; no retry.
    fake.replies.lock().unwrap().push_back((
        400,
        json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": "Patient MRN not found"}]}),
    ));
    let third = conversation_of(&app, "+12127365003", "SM10000000000000000000000000000003", "Hello").await;
    let signed = services.sign_in("front@clinic.test", PASSWORD, None).await.unwrap();
    let cookie = format!("fd_session={}", signed.cookie_secret);
    let csrf = signed.session.csrf_token.clone();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // On demand, with the button (the conversation stays open).
    let r = client
        .post(app.url(&format!("/c/{third}/chart")))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let job = wait_job(&app, third, ChartJobStatus::Failed).await;
    assert_eq!(job.last_error.as_deref(), Some("HTTP 400: Patient MRN not found"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.posted.lock().unwrap().len(), 4, "a 4xx is not retried");
    let page = client.get(app.url(&format!("/c/{third}"))).header("cookie", &cookie).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Not saved to the chart") && page.contains("HTTP 400: Patient MRN not found"), "{page}");
    let page = client.get(app.url(&format!("/c/{first}"))).header("cookie", &cookie).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Saved to the chart"));

    // Downloads and the API export, audited.
    let text =
        client.get(app.url(&format!("/c/{first}/export?format=text"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(text.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(text.text().await.unwrap().contains("  Can I move my appointment?"));
    let pdf =
        client.get(app.url(&format!("/c/{first}/export?format=pdf"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let (status, bundle) = app.api_get(&format!("/api/v1/conversations/{first}/export?format=fhir")).await;
    assert_eq!(status, 200);
    assert_eq!(bundle["entry"][0]["resource"]["payload"][0]["contentString"], "Can I move my appointment?");
    let (status, body) = app.api_get(&format!("/api/v1/conversations/{first}/export?format=xml")).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("format")));
    let exports =
        services.store.list_audit(200).await.unwrap().iter().filter(|a| a.action == "conversation.export").count();
    assert_eq!(exports, 3);
}
