//! A real Frontdesk on 127.0.0.1:0 with a temporary data directory, and a fake Twilio that
//! records every request and answers from a script.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use frontdesk_domain::model::ProviderKind;
use frontdesk_providers::twilio::signature::{Algorithm, compute};
use frontdesk_server::{App, Settings};
use frontdesk_services::audit::Actor;
use frontdesk_services::numbers::NewNumber;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const ACCOUNT_SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const AUTH_TOKEN: &str = "test-auth-token-0123456789";
pub const PRACTICE: &str = "+12125550100";
/// Practice numbers at Telnyx and Bandwidth, added when those providers are configured.
pub const TELNYX_NUMBER: &str = "+12125550101";
pub const BANDWIDTH_NUMBER: &str = "+12125550102";
/// The Ed25519 secret (seed) "Telnyx" signs webhooks with; its public key is configured.
pub const TELNYX_SECRET: [u8; 32] = [42; 32];
pub const TELNYX_API_KEY: &str = "KEYtest0123456789";
pub const BANDWIDTH_ACCOUNT: &str = "9900001";
pub const BANDWIDTH_CALLBACK_USER: &str = "bw-callbacks";
pub const BANDWIDTH_CALLBACK_PASSWORD: &str = "bw-callback-secret";

/// How the fake Twilio answers the next Create Message call.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16, Value),
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// Accepts the message, but answers only after `Duration` (beyond the client's timeout).
    SlowAccept(Duration),
}

#[derive(Debug, Clone)]
pub struct SentRequest {
    pub form: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub path: String,
}

impl SentRequest {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct FakeState {
    pub script: Mutex<VecDeque<Reply>>,
    pub requests: Mutex<Vec<SentRequest>>,
    /// Messages "Twilio" accepted: (sid, to, body, status).
    pub accepted: Mutex<Vec<(String, String, String)>>,
    pub lookups: Mutex<usize>,
}

#[derive(Clone)]
pub struct FakeTwilio {
    pub state: Arc<FakeState>,
    pub base: String,
}

impl FakeTwilio {
    pub async fn start() -> FakeTwilio {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(create).get(list))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeTwilio { state, base: format!("http://{addr}") }
    }

    pub fn push(&self, reply: Reply) {
        self.state.script.lock().unwrap().push_back(reply);
    }

    pub fn requests(&self) -> Vec<SentRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn accepted_count(&self) -> usize {
        self.state.accepted.lock().unwrap().len()
    }

    pub fn lookups(&self) -> usize {
        *self.state.lookups.lock().unwrap()
    }
}

fn new_sid() -> String {
    format!("SM{}", uuid::Uuid::new_v4().simple())
}

fn accept(state: &FakeState, form: &[(String, String)]) -> Value {
    let get = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
    let sid = new_sid();
    state.accepted.lock().unwrap().push((sid.clone(), get("To"), get("Body")));
    json!({
        "sid": sid, "account_sid": ACCOUNT_SID, "to": get("To"), "from": get("From"), "body": get("Body"),
        "status": "queued", "num_segments": "1", "direction": "outbound-api",
        "date_created": chrono::Utc::now().to_rfc2822(),
    })
}

async fn create(
    State(state): State<Arc<FakeState>>,
    Path(_sid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap();
    state.requests.lock().unwrap().push(SentRequest {
        form: form.clone(),
        authorization: headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string),
        path: format!("/2010-04-01/Accounts/{_sid}/Messages.json"),
    });
    let next = state.script.lock().unwrap().pop_front();
    match next {
        None => (StatusCode::CREATED, Json(accept(&state, &form))).into_response(),
        Some(Reply::Status(code, body)) => (StatusCode::from_u16(code).unwrap(), Json(body)).into_response(),
        Some(Reply::TooManyRequests { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
            Json(json!({"code": 20429, "message": "Too Many Requests", "status": 429})),
        )
            .into_response(),
        Some(Reply::SlowAccept(delay)) => {
            let body = accept(&state, &form);
            tokio::time::sleep(delay).await;
            (StatusCode::CREATED, Json(body)).into_response()
        }
    }
}

async fn list(State(state): State<Arc<FakeState>>, Query(q): Query<Vec<(String, String)>>) -> Json<Value> {
    *state.lookups.lock().unwrap() += 1;
    let to = q.iter().find(|(k, _)| k == "To").map(|(_, v)| v.clone());
    let messages: Vec<Value> = state
        .accepted
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, t, _)| Some(t) == to.as_ref())
        .map(|(sid, t, b)| json!({"sid": sid, "to": t, "body": b, "status": "sent", "date_created": chrono::Utc::now().to_rfc2822()}))
        .collect();
    Json(json!({ "messages": messages }))
}

impl Shared {
    fn marker(&self) -> String {
        format!("{}#{}", self.database_url, self.master_key)
    }

    fn is_populated(&self) -> bool {
        POPULATED.lock().unwrap().contains(&self.marker())
    }

    fn mark_populated(&self) {
        POPULATED.lock().unwrap().push(self.marker());
    }
}

/// Shared databases whose first instance has already set them up.
static POPULATED: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub twilio: FakeTwilio,
    pub data_dir: TempDir,
    /// The app's use cases, for tests that must look below the HTTP surface.
    pub services: frontdesk_services::Services,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

pub struct Options {
    pub simulator: bool,
    pub twilio_timeout_secs: u64,
    /// Base URL of a fake Telnyx API; when set, Telnyx is configured and [`TELNYX_NUMBER`] added.
    pub telnyx_api_base: Option<String>,
    /// Base URL of a fake Bandwidth API; when set, Bandwidth is configured and
    /// [`BANDWIDTH_NUMBER`] added.
    pub bandwidth_api_base: Option<String>,
    /// Another instance's database (and its master key and fake Twilio) to share, for
    /// several-instance tests; SQLite in a fresh data dir when absent.
    pub shared: Option<Shared>,
    pub lease_secs: u64,
    /// `[chart]`: saving conversations to a (fake) FHIR endpoint.
    pub chart: Option<frontdesk_server::config::ChartConfig>,
}

/// What several instances of one practice share.
#[derive(Clone)]
pub struct Shared {
    pub database_url: String,
    pub master_key: String,
    pub twilio: FakeTwilio,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            simulator: false,
            twilio_timeout_secs: 2,
            telnyx_api_base: None,
            bandwidth_api_base: None,
            shared: None,
            lease_secs: 300,
            chart: None,
        }
    }
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> TestApp {
        let twilio = match &options.shared {
            Some(shared) => shared.twilio.clone(),
            None => FakeTwilio::start().await,
        };
        let data_dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut settings =
            Settings { data_dir: data_dir.path().to_path_buf(), public_url: Some(base.clone()), ..Settings::default() };
        if let Some(shared) = &options.shared {
            settings.database_url = Some(shared.database_url.clone());
            settings.master_key = Some(shared.master_key.clone());
        }
        settings.dispatcher.lease_secs = options.lease_secs;
        settings.twilio.account_sid = Some(ACCOUNT_SID.into());
        settings.twilio.auth_token = Some(AUTH_TOKEN.into());
        settings.twilio.api_base = Some(twilio.base.clone());
        settings.twilio.timeout_secs = Some(options.twilio_timeout_secs);
        if let Some(api_base) = &options.telnyx_api_base {
            settings.telnyx.api_key = Some(TELNYX_API_KEY.into());
            settings.telnyx.public_key =
                Some(frontdesk_providers::telnyx::PublicKey::from_secret(&TELNYX_SECRET).to_base64());
            settings.telnyx.api_base = Some(api_base.clone());
            settings.telnyx.timeout_secs = Some(options.twilio_timeout_secs);
        }
        if let Some(api_base) = &options.bandwidth_api_base {
            let b = &mut settings.bandwidth;
            b.account_id = Some(BANDWIDTH_ACCOUNT.into());
            b.username = Some("bw-api-user".into());
            b.password = Some("bw-api-password".into());
            b.application_id = Some("bw-app".into());
            b.callback_username = Some(BANDWIDTH_CALLBACK_USER.into());
            b.callback_password = Some(BANDWIDTH_CALLBACK_PASSWORD.into());
            b.api_base = Some(api_base.clone());
            b.timeout_secs = Some(options.twilio_timeout_secs);
        }
        settings.simulator.enabled = Some(options.simulator);
        settings.simulator.sent_after_ms = Some(10);
        settings.simulator.delivered_after_ms = Some(20);
        settings.dispatcher.retry_base_ms = 20;
        settings.dispatcher.retry_cap_secs = 1;
        settings.dispatcher.max_attempts = 4;
        if let Some(chart) = &options.chart {
            settings.chart = chart.clone();
        }
        let app = App::build(settings).await.expect("app builds");
        let first_instance = options.shared.as_ref().is_none_or(|s| !s.is_populated());
        assert_eq!(app.bootstrap_admin.is_some(), first_instance, "only a fresh database gets a first admin");
        let services = app.services.clone();
        let input = NewNumber {
            e164: PRACTICE.into(),
            provider: ProviderKind::Twilio,
            messaging_service_sid: None,
            rate_limit_per_sec: Some(200.0),
        };
        if first_instance {
            services.add_number(input, Actor::System).await.unwrap();
        }
        for (configured, e164, provider) in [
            (options.telnyx_api_base.is_some(), TELNYX_NUMBER, ProviderKind::Telnyx),
            (options.bandwidth_api_base.is_some(), BANDWIDTH_NUMBER, ProviderKind::Bandwidth),
        ] {
            if configured {
                let input = NewNumber {
                    e164: e164.into(),
                    provider,
                    messaging_service_sid: None,
                    rate_limit_per_sec: Some(200.0),
                };
                services.add_number(input, Actor::System).await.unwrap();
            }
        }
        let (_, token) = services.create_api_token("tests", None, Actor::System).await.unwrap();
        let services_for_tests = services.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.serve(listener, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        if let Some(shared) = &options.shared {
            shared.mark_populated();
        }
        TestApp {
            base,
            http: reqwest::Client::new(),
            token,
            twilio,
            data_dir,
            services: services_for_tests,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Ends the server abruptly, as a crash would: nothing is finished or handed over.
    pub fn kill(mut self) -> TempDir {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
        self.data_dir
    }

    /// Stops the server and hands back its data directory (deleted when dropped).
    pub async fn stop(mut self) -> TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
        self.data_dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Posts a form webhook signed as Twilio would sign it.
    pub async fn twilio_post(&self, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
        let params: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let url = self.url(path);
        let signature = compute(AUTH_TOKEN, &url, &params, Algorithm::HmacSha1);
        self.http
            .post(url)
            .header("X-Twilio-Signature", signature)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&params).unwrap())
            .send()
            .await
            .unwrap()
    }

    /// A patient's text to the practice number, signed.
    pub async fn inbound(&self, sid: &str, from: &str, body: &str) -> reqwest::Response {
        self.twilio_post(
            "/webhooks/twilio/messages",
            &[
                ("MessageSid", sid),
                ("AccountSid", ACCOUNT_SID),
                ("From", from),
                ("To", PRACTICE),
                ("Body", body),
                ("NumMedia", "0"),
                ("SmsStatus", "received"),
                ("ApiVersion", "2010-04-01"),
            ],
        )
        .await
    }

    pub async fn api_get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).bearer_auth(&self.token).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn api_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.http.post(self.url(path)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn conversations(&self) -> Vec<Value> {
        let (status, body) = self.api_get("/api/v1/conversations").await;
        assert_eq!(status, 200, "{body}");
        body["conversations"].as_array().cloned().unwrap_or_default()
    }

    /// Polls `check` until it returns Some, for up to 10 seconds.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        for _ in 0..200 {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    pub async fn message(&self, id: &str) -> Value {
        let (status, body) = self.api_get(&format!("/api/v1/messages/{id}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits until the message reaches `status`.
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        self.eventually(&format!("message {id} to be {status}"), || async {
            let m = self.message(id).await;
            (m["status"] == status).then_some(m)
        })
        .await
    }
}
