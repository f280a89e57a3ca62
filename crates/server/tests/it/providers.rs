//! Telnyx and Bandwidth beside Twilio, and one conformance suite every provider passes:
//! inbound, dedupe, status, retries, permanent errors, opt-out signals, bad signatures.
//! Each scenario runs against a fresh app with all three providers configured and fakes of
//! their APIs, once per provider.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use frontdesk_providers::bandwidth::CallbackCredentials;
use frontdesk_providers::telnyx::signature::sign;
use serde_json::{Value, json};

use crate::support::*;

const PATIENT: &str = "+12127365040";

/// A JSON request the fake received.
#[derive(Debug, Clone)]
struct JsonRequest {
    path: String,
    authorization: Option<String>,
    body: Value,
}

#[derive(Default)]
struct FakeJsonState {
    script: Mutex<VecDeque<(u16, Value)>>,
    requests: Mutex<Vec<JsonRequest>>,
}

/// A fake of Telnyx's and Bandwidth's send endpoints on one port.
#[derive(Clone)]
struct FakeJsonApi {
    state: Arc<FakeJsonState>,
    base: String,
}

impl FakeJsonApi {
    async fn start() -> FakeJsonApi {
        let state = Arc::new(FakeJsonState::default());
        let app = Router::new()
            .route("/v2/messages", post(fake_send))
            .route("/api/v2/users/{account}/messages", post(fake_send))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeJsonApi { state, base: format!("http://{addr}") }
    }

    fn requests(&self, path_prefix: &str) -> Vec<JsonRequest> {
        self.state.requests.lock().unwrap().iter().filter(|r| r.path.starts_with(path_prefix)).cloned().collect()
    }
}

async fn fake_send(
    State(state): State<Arc<FakeJsonState>>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    state.requests.lock().unwrap().push(JsonRequest {
        path: path.clone(),
        authorization: headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string),
        body: body.clone(),
    });
    if let Some((status, answer)) = state.script.lock().unwrap().pop_front() {
        return (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response();
    }
    let id = uuid::Uuid::new_v4().to_string();
    if path.starts_with("/v2/") {
        let answer = json!({"data": {"record_type": "message", "id": id, "from": {"phone_number": body["from"]},
            "to": [{"phone_number": body["to"], "status": "queued"}], "text": body["text"], "parts": 1}});
        (StatusCode::OK, axum::Json(answer)).into_response()
    } else {
        let answer = json!({"id": id, "owner": body["from"], "applicationId": body["applicationId"], "to": body["to"],
            "from": body["from"], "text": body["text"], "tag": body["tag"], "segmentCount": 1, "direction": "out"});
        (StatusCode::ACCEPTED, axum::Json(answer)).into_response()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Provider {
    Twilio,
    Telnyx,
    Bandwidth,
}

const ALL: [Provider; 3] = [Provider::Twilio, Provider::Telnyx, Provider::Bandwidth];

/// One app with every provider configured, and the fake APIs behind it.
struct Harness {
    app: TestApp,
    fake: FakeJsonApi,
}

impl Harness {
    async fn start() -> Harness {
        let fake = FakeJsonApi::start().await;
        let app = TestApp::start_with(Options {
            telnyx_api_base: Some(fake.base.clone()),
            bandwidth_api_base: Some(fake.base.clone()),
            ..Options::default()
        })
        .await;
        Harness { app, fake }
    }

    async fn stop(self) {
        self.app.stop().await;
    }

    fn number(&self, p: Provider) -> &'static str {
        match p {
            Provider::Twilio => PRACTICE,
            Provider::Telnyx => TELNYX_NUMBER,
            Provider::Bandwidth => BANDWIDTH_NUMBER,
        }
    }

    /// A provider message id of the provider's shape.
    fn provider_id(&self, p: Provider, n: u32) -> String {
        match p {
            Provider::Twilio => format!("SM{n:032}"),
            Provider::Telnyx => format!("4031{n:04}-5b2a-4c74-9f32-c7f80c30934b"),
            Provider::Bandwidth => format!("1661365814859{n:012}"),
        }
    }

    async fn post_telnyx(&self, query: &str, body: &Value, secret: &[u8; 32], timestamp: i64) -> reqwest::Response {
        let raw = serde_json::to_vec(body).unwrap();
        let ts = timestamp.to_string();
        self.app
            .http
            .post(self.app.url(&format!("/webhooks/telnyx{query}")))
            .header("content-type", "application/json")
            .header("telnyx-timestamp", &ts)
            .header("telnyx-signature-ed25519", sign(secret, &ts, &raw))
            .body(raw)
            .send()
            .await
            .unwrap()
    }

    async fn post_bandwidth(&self, events: &Value, credentials: &CallbackCredentials) -> reqwest::Response {
        self.app
            .http
            .post(self.app.url("/webhooks/bandwidth"))
            .header("content-type", "application/json")
            .header("authorization", credentials.header_value())
            .json(events)
            .send()
            .await
            .unwrap()
    }

    fn bandwidth_credentials() -> CallbackCredentials {
        CallbackCredentials { username: BANDWIDTH_CALLBACK_USER.into(), password: BANDWIDTH_CALLBACK_PASSWORD.into() }
    }

    fn telnyx_received(&self, id: &str, from: &str, body: &str) -> Value {
        json!({"data": {"record_type": "event", "event_type": "message.received", "id": uuid::Uuid::new_v4(),
            "occurred_at": "2024-01-01T00:00:00Z",
            "payload": {"id": id, "direction": "inbound", "type": "SMS", "text": body,
                "from": {"phone_number": from, "carrier": "T-Mobile", "line_type": "Wireless"},
                "to": [{"phone_number": TELNYX_NUMBER, "status": "webhook_delivered"}], "media": [], "parts": 1}},
            "meta": {"attempt": 1, "delivered_to": "https://clinic.example/webhooks/telnyx"}})
    }

    fn bandwidth_received(&self, id: &str, from: &str, body: &str) -> Value {
        json!({"type": "message-received", "time": "2024-01-01T00:00:00Z", "description": "Incoming message received",
            "to": BANDWIDTH_NUMBER,
            "message": {"id": id, "time": "2024-01-01T00:00:00Z", "to": [BANDWIDTH_NUMBER], "from": from, "text": body,
                "applicationId": "bw-app", "owner": BANDWIDTH_NUMBER, "direction": "in", "segmentCount": 1}})
    }

    /// A patient's text through provider `p`, properly authenticated.
    async fn inbound(&self, p: Provider, id: &str, from: &str, body: &str) -> reqwest::Response {
        match p {
            Provider::Twilio => self.app.inbound(id, from, body).await,
            Provider::Telnyx => {
                let now = chrono::Utc::now().timestamp();
                self.post_telnyx("", &self.telnyx_received(id, from, body), &TELNYX_SECRET, now).await
            }
            Provider::Bandwidth => {
                self.post_bandwidth(&json!([self.bandwidth_received(id, from, body)]), &Self::bandwidth_credentials())
                    .await
            }
        }
    }

    /// The same text with a wrong signature or credentials.
    async fn forged_inbound(&self, p: Provider, id: &str, from: &str, body: &str) -> reqwest::Response {
        match p {
            Provider::Twilio => self
                .app
                .http
                .post(self.app.url("/webhooks/twilio/messages"))
                .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
                .form(&[("MessageSid", id), ("From", from), ("To", PRACTICE), ("Body", body)])
                .send()
                .await
                .unwrap(),
            Provider::Telnyx => {
                let now = chrono::Utc::now().timestamp();
                self.post_telnyx("", &self.telnyx_received(id, from, body), &[7; 32], now).await
            }
            Provider::Bandwidth => {
                let wrong = CallbackCredentials { username: BANDWIDTH_CALLBACK_USER.into(), password: "guess".into() };
                self.post_bandwidth(&json!([self.bandwidth_received(id, from, body)]), &wrong).await
            }
        }
    }

    /// A delivery status for our message `message_id`, which the provider knows as `provider_id`.
    async fn status(
        &self,
        p: Provider,
        message_id: &str,
        provider_id: &str,
        delivered: bool,
        error_code: Option<&str>,
    ) -> reqwest::Response {
        match p {
            Provider::Twilio => {
                let status = if delivered { "delivered" } else { "undelivered" };
                let mut params =
                    vec![("MessageSid", provider_id), ("MessageStatus", status), ("AccountSid", ACCOUNT_SID)];
                if let Some(code) = error_code {
                    params.push(("ErrorCode", code));
                }
                self.app.twilio_post(&format!("/webhooks/twilio/status?m={message_id}"), &params).await
            }
            Provider::Telnyx => {
                let word = if delivered { "delivered" } else { "delivery_failed" };
                let errors: Vec<Value> = error_code.iter().map(|c| json!({"code": c, "title": "t"})).collect();
                let body = json!({"data": {"record_type": "event", "event_type": "message.finalized", "id": uuid::Uuid::new_v4(),
                    "payload": {"id": provider_id, "direction": "outbound", "from": {"phone_number": TELNYX_NUMBER},
                        "to": [{"phone_number": PATIENT, "status": word}], "errors": errors}}});
                let now = chrono::Utc::now().timestamp();
                self.post_telnyx(&format!("?m={message_id}"), &body, &TELNYX_SECRET, now).await
            }
            Provider::Bandwidth => {
                let mut event = json!({"type": if delivered { "message-delivered" } else { "message-failed" },
                    "time": "2024-01-01T00:00:00Z", "to": PATIENT, "description": "ok",
                    "message": {"id": provider_id, "from": BANDWIDTH_NUMBER, "to": [PATIENT], "tag": message_id,
                        "direction": "out", "applicationId": "bw-app"}});
                if let Some(code) = error_code {
                    event["errorCode"] = json!(code.parse::<i64>().unwrap());
                }
                self.post_bandwidth(&json!([event]), &Self::bandwidth_credentials()).await
            }
        }
    }

    /// How many send requests provider `p`'s API received.
    fn sends(&self, p: Provider) -> usize {
        match p {
            Provider::Twilio => self.app.twilio.requests().len(),
            Provider::Telnyx => self.fake.requests("/v2/messages").len(),
            Provider::Bandwidth => self.fake.requests("/api/v2/users/").len(),
        }
    }

    /// The sender number of the first send request provider `p`'s API received.
    fn first_sender(&self, p: Provider) -> Option<String> {
        match p {
            Provider::Twilio => self.app.twilio.requests().first().and_then(|r| r.field("From").map(str::to_string)),
            Provider::Telnyx => {
                self.fake.requests("/v2/messages").first().and_then(|r| r.body["from"].as_str().map(str::to_string))
            }
            Provider::Bandwidth => {
                self.fake.requests("/api/v2/users/").first().and_then(|r| r.body["from"].as_str().map(str::to_string))
            }
        }
    }

    /// Scripts the next send answer of provider `p`.
    fn push(&self, p: Provider, status: u16, body: Value) {
        match p {
            Provider::Twilio => self.app.twilio.push(Reply::Status(status, body)),
            Provider::Telnyx | Provider::Bandwidth => self.fake.state.script.lock().unwrap().push_back((status, body)),
        }
    }

    fn transient(&self, p: Provider) -> (u16, Value) {
        match p {
            Provider::Twilio => (503, json!({"code": 20500, "message": "Service Unavailable", "status": 503})),
            Provider::Telnyx => (503, json!({"errors": [{"code": "10011", "title": "Service unavailable"}]})),
            Provider::Bandwidth => (503, json!({"type": "service-unavailable", "description": "try later"})),
        }
    }

    /// A permanent refusal and the code we expect to record for it.
    fn permanent(&self, p: Provider) -> (u16, Value, &'static str) {
        match p {
            Provider::Twilio => {
                (400, json!({"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}), "21211")
            }
            Provider::Telnyx => {
                (422, json!({"errors": [{"code": "40012", "title": "Invalid destination number"}]}), "40012")
            }
            Provider::Bandwidth => (
                400,
                json!({"type": "request-validation", "description": "'+1' is not a valid number"}),
                "request-validation",
            ),
        }
    }

    /// The provider's "recipient opted out" code, where it has one.
    fn opt_out_code(&self, p: Provider) -> Option<&'static str> {
        match p {
            Provider::Twilio => Some("21610"),
            Provider::Telnyx => Some("40300"),
            Provider::Bandwidth => None,
        }
    }

    fn opt_out_answer(&self, p: Provider) -> Option<(u16, Value)> {
        match p {
            Provider::Twilio => Some((
                400,
                json!({"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}),
            )),
            Provider::Telnyx => {
                Some((400, json!({"errors": [{"code": "40300", "title": "Blocked due to STOP message"}]})))
            }
            Provider::Bandwidth => None,
        }
    }

    /// A conversation started by a patient's text to provider `p`'s number.
    async fn conversation(&self, p: Provider) -> String {
        let r = self.inbound(p, &self.provider_id(p, 1), PATIENT, "hello").await;
        assert_eq!(r.status(), 200, "{p:?}: {}", r.text().await.unwrap_or_default());
        let conversations = self.app.conversations().await;
        assert_eq!(conversations.len(), 1, "{p:?}");
        conversations[0]["id"].as_str().unwrap().to_string()
    }

    async fn reply(&self, conversation: &str, body: &str) -> String {
        let (status, message) =
            self.app.api_post(&format!("/api/v1/conversations/{conversation}/messages"), json!({ "body": body })).await;
        assert_eq!(status, 201, "{message}");
        message["id"].as_str().unwrap().to_string()
    }

    async fn messages(&self, conversation: &str) -> Vec<Value> {
        let (status, detail) = self.app.api_get(&format!("/api/v1/conversations/{conversation}")).await;
        assert_eq!(status, 200, "{detail}");
        detail["messages"].as_array().cloned().unwrap_or_default()
    }

    async fn opted_out(&self) -> bool {
        self.app.conversations().await[0]["contact"]["opted_out"] == true
    }
}

// ---- The conformance suite: every scenario, every provider. ----

#[tokio::test]
async fn conformance_inbound_becomes_a_conversation_and_redeliveries_are_deduplicated() {
    for p in ALL {
        let h = Harness::start().await;
        let id = h.provider_id(p, 7);
        for _ in 0..3 {
            let r = h.inbound(p, &id, PATIENT, "Can I move my appointment?").await;
            assert_eq!(r.status(), 200, "{p:?}");
        }
        let conversations = h.app.conversations().await;
        assert_eq!(conversations.len(), 1, "{p:?}");
        assert_eq!(conversations[0]["contact"]["phone"], PATIENT);
        let messages = h.messages(conversations[0]["id"].as_str().unwrap()).await;
        assert_eq!(messages.len(), 1, "{p:?}: {messages:?}");
        assert_eq!(messages[0]["body"], "Can I move my appointment?");
        assert_eq!(messages[0]["direction"], "inbound");
        assert_eq!(messages[0]["provider_message_id"], id.as_str());
        h.stop().await;
    }
}

#[tokio::test]
async fn conformance_a_reply_goes_out_through_the_numbers_provider_and_delivery_is_recorded() {
    for p in ALL {
        let h = Harness::start().await;
        let conversation = h.conversation(p).await;
        let id = h.reply(&conversation, "Your appointment is at 3 PM.").await;
        let sent = h.app.wait_status(&id, "sent").await;
        let provider_id = sent["provider_message_id"].as_str().unwrap().to_string();
        for other in ALL {
            assert_eq!(h.sends(other), usize::from(other == p), "{p:?} reply reached {other:?}");
        }
        assert_eq!(h.first_sender(p).as_deref(), Some(h.number(p)), "{p:?}");
        let r = h.status(p, &id, &provider_id, true, None).await;
        assert_eq!(r.status(), 200, "{p:?}");
        h.app.wait_status(&id, "delivered").await;
        // A late failure after delivery changes nothing, and repeats are harmless.
        assert_eq!(h.status(p, &id, &provider_id, false, Some("4720")).await.status(), 200);
        assert_eq!(h.status(p, &id, &provider_id, true, None).await.status(), 200);
        let m = h.app.message(&id).await;
        assert_eq!(m["status"], "delivered", "{p:?}");
        h.stop().await;
    }
}

#[tokio::test]
async fn conformance_temporary_errors_are_retried_until_sent_once() {
    for p in ALL {
        let h = Harness::start().await;
        let conversation = h.conversation(p).await;
        for _ in 0..2 {
            let (status, body) = h.transient(p);
            h.push(p, status, body);
        }
        let id = h.reply(&conversation, "Retry me").await;
        h.app.wait_status(&id, "sent").await;
        assert_eq!(h.sends(p), 3, "{p:?}");
        h.stop().await;
    }
}

#[tokio::test]
async fn conformance_permanent_errors_fail_once_with_a_reason() {
    for p in ALL {
        let h = Harness::start().await;
        let conversation = h.conversation(p).await;
        let (status, body, code) = h.permanent(p);
        h.push(p, status, body);
        let id = h.reply(&conversation, "x").await;
        let m = h.app.wait_status(&id, "failed").await;
        assert_eq!(m["error_code"], code, "{p:?}");
        let reason = m["error_message"].as_str().unwrap();
        assert!(reason.len() > 20 && !reason.contains("+1212736"), "{p:?}: {reason}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(h.sends(p), 1, "{p:?}");
        assert!(!h.opted_out().await);
        h.stop().await;
    }
}

#[tokio::test]
async fn conformance_opt_out_signals_mark_the_contact_opted_out() {
    for p in ALL {
        // In a send answer.
        let h = Harness::start().await;
        let conversation = h.conversation(p).await;
        if let Some((status, body)) = h.opt_out_answer(p) {
            h.push(p, status, body);
            let id = h.reply(&conversation, "Are you there?").await;
            let m = h.app.wait_status(&id, "failed").await;
            assert_eq!(m["error_code"], h.opt_out_code(p).unwrap());
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(h.sends(p), 1, "{p:?}: an opt-out is never retried");
            assert!(h.opted_out().await, "{p:?}");
            let (status, _) = h
                .app
                .api_post(&format!("/api/v1/conversations/{conversation}/messages"), json!({"body": "again"}))
                .await;
            assert_eq!(status, 409, "{p:?}");
        }
        h.stop().await;

        // In a status report.
        let h = Harness::start().await;
        let conversation = h.conversation(p).await;
        let id = h.reply(&conversation, "Hello").await;
        let provider_id = h.app.wait_status(&id, "sent").await["provider_message_id"].as_str().unwrap().to_string();
        let code = h.opt_out_code(p).unwrap_or("4720");
        assert_eq!(h.status(p, &id, &provider_id, false, Some(code)).await.status(), 200);
        let m = h
            .app
            .eventually("the failure", || async {
                let m = h.app.message(&id).await;
                (m["status"] != "sent").then_some(m)
            })
            .await;
        assert_eq!(m["error_code"], code, "{p:?}");
        // Only a provider's own opt-out code opts the contact out.
        assert_eq!(h.opted_out().await, h.opt_out_code(p).is_some(), "{p:?}");
        h.stop().await;
    }
}

#[tokio::test]
async fn conformance_forged_webhooks_are_refused_and_store_nothing() {
    for p in ALL {
        let h = Harness::start().await;
        let r = h.forged_inbound(p, &h.provider_id(p, 9), PATIENT, "forged").await;
        assert_eq!(r.status(), 403, "{p:?}");
        assert!(h.app.conversations().await.is_empty(), "{p:?}");
        h.stop().await;
    }
}

// ---- Provider specifics. ----

#[tokio::test]
async fn telnyx_sends_with_bearer_json_and_a_webhook_url_carrying_our_id() {
    let h = Harness::start().await;
    let conversation = h.conversation(Provider::Telnyx).await;
    let id = h.reply(&conversation, "See you soon").await;
    h.app.wait_status(&id, "sent").await;
    let requests = h.fake.requests("/v2/messages");
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.authorization.as_deref(), Some(format!("Bearer {TELNYX_API_KEY}").as_str()));
    assert_eq!(r.body["from"], TELNYX_NUMBER);
    assert_eq!(r.body["to"], PATIENT);
    assert_eq!(r.body["text"], "See you soon");
    assert_eq!(r.body["webhook_url"], format!("{}/webhooks/telnyx?m={id}", h.app.base));
    h.stop().await;
}

#[tokio::test]
async fn telnyx_webhooks_refuse_stale_timestamps_unsigned_requests_and_name_bad_fields() {
    let h = Harness::start().await;
    let body = h.telnyx_received(&h.provider_id(Provider::Telnyx, 3), PATIENT, "hi");
    let stale = chrono::Utc::now().timestamp() - 301;
    assert_eq!(h.post_telnyx("", &body, &TELNYX_SECRET, stale).await.status(), 403);
    let unsigned = h.app.http.post(h.app.url("/webhooks/telnyx")).json(&body).send().await.unwrap();
    assert_eq!(unsigned.status(), 403);
    assert!(h.app.conversations().await.is_empty());

    let now = chrono::Utc::now().timestamp();
    let mut bad = body.clone();
    bad["data"]["payload"]["from"]["phone_number"] = json!("not a number");
    let r = h.post_telnyx("", &bad, &TELNYX_SECRET, now).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("data.payload.from.phone_number"));

    let mut elsewhere = body.clone();
    elsewhere["data"]["payload"]["to"][0]["phone_number"] = json!("+12125550199");
    assert_eq!(h.post_telnyx("", &elsewhere, &TELNYX_SECRET, now).await.status(), 404);

    let other = json!({"data": {"event_type": "number_order.complete", "payload": {}}});
    assert_eq!(h.post_telnyx("", &other, &TELNYX_SECRET, now).await.status(), 200);
    assert!(h.app.conversations().await.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn bandwidth_sends_with_basic_auth_and_our_tag() {
    let h = Harness::start().await;
    let conversation = h.conversation(Provider::Bandwidth).await;
    let id = h.reply(&conversation, "See you soon").await;
    h.app.wait_status(&id, "sent").await;
    let requests = h.fake.requests("/api/v2/users/");
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, format!("/api/v2/users/{BANDWIDTH_ACCOUNT}/messages"));
    assert!(r.authorization.as_deref().unwrap().starts_with("Basic "));
    assert_eq!(r.body["applicationId"], "bw-app");
    assert_eq!(r.body["to"], json!([PATIENT]));
    assert_eq!(r.body["from"], BANDWIDTH_NUMBER);
    assert_eq!(r.body["tag"], id.as_str());
    h.stop().await;
}

#[tokio::test]
async fn a_bandwidth_array_of_two_messages_stores_both_and_a_redelivery_stores_nothing() {
    let h = Harness::start().await;
    let events = json!([
        h.bandwidth_received(&h.provider_id(Provider::Bandwidth, 1), PATIENT, "first"),
        h.bandwidth_received(&h.provider_id(Provider::Bandwidth, 2), "+12127365041", "second"),
    ]);
    let credentials = Harness::bandwidth_credentials();
    assert_eq!(h.post_bandwidth(&events, &credentials).await.status(), 200);
    assert_eq!(h.post_bandwidth(&events, &credentials).await.status(), 200);
    let conversations = h.app.conversations().await;
    assert_eq!(conversations.len(), 2);
    for c in &conversations {
        assert_eq!(h.messages(c["id"].as_str().unwrap()).await.len(), 1);
    }

    // One unusable element refuses the whole array, naming it.
    let bad = json!([h.bandwidth_received(&h.provider_id(Provider::Bandwidth, 3), PATIENT, "ok"),
        {"type": "message-received", "message": {"from": PATIENT}}]);
    let r = h.post_bandwidth(&bad, &credentials).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("[1].message.id"));
    let unauthenticated = h.app.http.post(h.app.url("/webhooks/bandwidth")).json(&events).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 403);
    h.stop().await;
}
