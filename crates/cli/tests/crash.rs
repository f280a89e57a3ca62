//! Crash test (DESIGN.md §2, "nothing is lost"): `kill -9` the real `frontdesk serve` while
//! patients' texts pour in and the API sends, restart it, repeat; then check that every
//! acknowledged inbound `MessageSid` is stored exactly once and that no outbound message
//! reached the provider twice.
//!
//! The provider is a fake Twilio in this process. It records every Create Message call (and
//! answers one in ten only after a pause, so kills land between "Twilio has the message" and
//! "Frontdesk recorded the answer") and serves List Messages, which the server uses after a
//! crash to reconcile an interrupted hand-off instead of sending it again.
//!
//! Everything is bounded: a fixed number of cycles, each load loop by count and time, and
//! every wait by a deadline. Only loopback addresses are used.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use frontdesk_providers::twilio::signature::{Algorithm, compute};
use rand::Rng;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const ACCOUNT_SID: &str = "ACcccccccccccccccccccccccccccccccc";
const AUTH_TOKEN: &str = "crash-test-auth-token-0123456789";
const PRACTICE: &str = "+12125550100";

/// Kill-and-restart cycles under load.
const CYCLES: usize = 3;
/// Concurrent senders of inbound webhooks.
const INBOUND_TASKS: usize = 16;
/// Concurrent API senders.
const API_TASKS: usize = 2;
/// Patients texting in and being texted (+1 212 736 xxxx).
const PATIENTS: u32 = 24;
/// Acknowledgements in a cycle after which the load counts as steady and the kill timer starts.
const WARM_ACKS: usize = INBOUND_TASKS;
/// Upper bound of requests per load task per cycle, whatever the timing.
const MAX_REQUESTS_PER_TASK: usize = 2_000;
/// Every n-th inbound request re-delivers an already acknowledged MessageSid.
const DUPLICATE_EVERY: usize = 7;
/// Every n-th new MessageSid is delivered twice at once, as a retrying provider might.
const CONCURRENT_TWIN_EVERY: usize = 11;
/// Every n-th Create Message call is accepted at once but answered only after a pause.
const SLOW_CREATE_EVERY: usize = 10;
const SLOW_CREATE: Duration = Duration::from_millis(300);
/// A claimed outbox job stays reserved this long (the server's minimum); after a crash the
/// next instance takes it over only then, so the final drain waits about this long.
const LEASE_SECS: u64 = 30;
/// How long the final, uninterrupted run may take to drain the outbox.
const DRAIN_DEADLINE: Duration = Duration::from_secs(LEASE_SECS + 30);

// ---- the fake Twilio ----------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Created {
    sid: String,
    to: String,
    from: String,
    body: String,
    /// Our message id, read from the StatusCallback URL (`...?m={id}`).
    message_id: Option<String>,
    at: DateTime<Utc>,
}

#[derive(Default)]
struct FakeTwilio {
    created: Mutex<Vec<Created>>,
    create_calls: AtomicUsize,
    lookups: AtomicUsize,
    /// Create calls accepted but not yet answered (in their pause).
    slow_in_progress: AtomicUsize,
}

/// Decrements a counter when dropped, also when the server hangs up and the handler is dropped.
struct InProgress<'a>(&'a AtomicUsize);

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn field(form: &[(String, String)], name: &str) -> String {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

async fn fake_create(
    State(fake): State<Arc<FakeTwilio>>,
    UrlPath(account): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    if account != ACCOUNT_SID {
        return (StatusCode::NOT_FOUND, Json(json!({"code": 20404, "message": "not found", "status": 404})))
            .into_response();
    }
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"code": 21600, "message": "bad form", "status": 400})))
            .into_response();
    };
    let n = fake.create_calls.fetch_add(1, Ordering::SeqCst) + 1;
    let created = Created {
        sid: format!("SM{}", uuid::Uuid::new_v4().simple()),
        to: field(&form, "To"),
        from: field(&form, "From"),
        body: field(&form, "Body"),
        message_id: field(&form, "StatusCallback").split_once("?m=").map(|(_, id)| id.to_string()),
        at: Utc::now(),
    };
    // Accepted from here on: Twilio has the message whether or not the answer arrives.
    fake.created.lock().unwrap().push(created.clone());
    if n.is_multiple_of(SLOW_CREATE_EVERY) {
        fake.slow_in_progress.fetch_add(1, Ordering::SeqCst);
        let _guard = InProgress(&fake.slow_in_progress);
        tokio::time::sleep(SLOW_CREATE).await;
    }
    let answer = json!({
        "sid": created.sid, "account_sid": ACCOUNT_SID, "to": created.to, "from": created.from,
        "body": created.body, "status": "queued", "num_segments": "1", "direction": "outbound-api",
        "date_created": created.at.to_rfc2822(),
    });
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn fake_list(State(fake): State<Arc<FakeTwilio>>, Query(q): Query<Vec<(String, String)>>) -> Json<Value> {
    fake.lookups.fetch_add(1, Ordering::SeqCst);
    let to = q.iter().find(|(k, _)| k == "To").map(|(_, v)| v.clone());
    let messages: Vec<Value> = fake
        .created
        .lock()
        .unwrap()
        .iter()
        .filter(|c| Some(&c.to) == to.as_ref())
        .map(|c| {
            json!({
                "sid": c.sid, "account_sid": ACCOUNT_SID, "to": c.to, "from": c.from, "body": c.body,
                "status": "sent", "direction": "outbound-api", "date_created": c.at.to_rfc2822(),
            })
        })
        .collect();
    Json(json!({ "messages": messages, "next_page_uri": null }))
}

async fn start_fake_twilio() -> (Arc<FakeTwilio>, String) {
    let fake = Arc::new(FakeTwilio::default());
    let app = Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", post(fake_create).get(fake_list))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (fake, format!("http://{addr}"))
}

// ---- the real server, as a child process ---------------------------------------------------

struct Env {
    root: PathBuf,
    data_dir: PathBuf,
    twilio_base: String,
}

impl Env {
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
        for (name, _) in std::env::vars() {
            if name.starts_with("FRONTDESK_") {
                cmd.env_remove(name);
            }
        }
        cmd.current_dir(&self.root)
            .env("FRONTDESK_DATA_DIR", &self.data_dir)
            .env("FRONTDESK_TWILIO__ACCOUNT_SID", ACCOUNT_SID)
            .env("FRONTDESK_TWILIO__AUTH_TOKEN", AUTH_TOKEN)
            .env("FRONTDESK_TWILIO__API_BASE", &self.twilio_base)
            .env("FRONTDESK_TWILIO__TIMEOUT_SECS", "2")
            .env("FRONTDESK_SIMULATOR__ENABLED", "false")
            .env("FRONTDESK_DISPATCHER__RETRY_BASE_MS", "50")
            .env("FRONTDESK_DISPATCHER__LEASE_SECS", LEASE_SECS.to_string())
            .env("FRONTDESK_LOG", "warn")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs a CLI command to completion and returns its stdout.
    async fn cli(&self, args: &[&str]) -> String {
        let out = tokio::time::timeout(Duration::from_secs(30), self.command().args(args).output())
            .await
            .unwrap_or_else(|_| panic!("`frontdesk {}` did not finish in 30 s", args.join(" ")))
            .unwrap();
        assert!(
            out.status.success(),
            "`frontdesk {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn database(&self) -> PathBuf {
        self.data_dir.join("frontdesk.db")
    }
}

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Starts `frontdesk serve` on a free loopback port and waits for `/readyz`.
async fn start_server(env: &Env, run: usize) -> Server {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    for _attempt in 0..5 {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let log_path = env.root.join(format!("server-{run}.log"));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).unwrap();
        let mut child = env
            .command()
            .arg("serve")
            .env("FRONTDESK_LISTEN", format!("127.0.0.1:{port}"))
            .env("FRONTDESK_PUBLIC_URL", &base)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let tail = log_tail(&log_path);
                assert!(tail.contains("could not listen"), "the server exited ({status}) at start-up:\n{tail}");
                break; // the port was taken in the meantime: try another
            }
            if let Ok(r) = http.get(format!("{base}/readyz")).send().await
                && r.status() == 200
            {
                return Server { child, base };
            }
            assert!(Instant::now() < deadline, "the server was not ready within 20 s:\n{}", log_tail(&log_path));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("could not find a free port for the server in 5 attempts");
}

impl Server {
    /// SIGKILL: no shutdown code runs.
    async fn kill9(mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM and wait for a clean exit (SIGKILL after 15 s).
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(status) => assert!(status.unwrap().success(), "the server did not exit cleanly on SIGTERM"),
            Err(_) => {
                self.child.kill().await.unwrap();
                panic!("the server did not stop within 15 s of SIGTERM");
            }
        }
    }
}

// ---- load ----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct ApiSend {
    id: String,
    body: String,
    to: String,
}

#[derive(Default)]
struct Record {
    /// Every MessageSid we delivered at least once.
    attempted: Mutex<HashSet<String>>,
    /// MessageSids answered 200 at least once, in order of first acknowledgement.
    acked: Mutex<Vec<String>>,
    acked_set: Mutex<HashSet<String>>,
    /// API sends answered 201.
    sends: Mutex<Vec<ApiSend>>,
    inbound_posts: AtomicUsize,
    duplicate_posts: AtomicUsize,
    duplicate_acks: AtomicUsize,
    twin_posts: AtomicUsize,
    transport_errors: AtomicUsize,
    unavailable: AtomicUsize,
    /// Answers that are neither success, 503 nor a transport error: each one is a finding.
    unexpected: Mutex<Vec<String>>,
    /// Slow Create calls in progress at the moment of a kill, summed over kills.
    kills_mid_handoff: AtomicUsize,
}

impl Record {
    fn ack(&self, sid: &str) {
        if self.acked_set.lock().unwrap().insert(sid.to_string()) {
            self.acked.lock().unwrap().push(sid.to_string());
        }
    }

    fn random_acked(&self) -> Option<String> {
        let acked = self.acked.lock().unwrap();
        (!acked.is_empty()).then(|| acked[rand::rng().random_range(0..acked.len())].clone())
    }
}

fn patient(i: u32) -> String {
    format!("+1212736{:04}", 1000 + i)
}

fn new_sid() -> String {
    format!("SM{}", uuid::Uuid::new_v4().simple())
}

/// Delivers one inbound webhook signed as Twilio signs it. `Some(status)`, or `None` when no
/// answer arrived (the server died under it).
async fn post_inbound(http: &reqwest::Client, base: &str, sid: &str, from: &str, rec: &Record) -> Option<u16> {
    let url = format!("{base}/webhooks/twilio/messages");
    let params: Vec<(String, String)> = [
        ("MessageSid", sid),
        ("SmsMessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("To", PRACTICE),
        ("Body", &format!("Hello, question about my bill, ref {}", &sid[2..10])),
        ("NumMedia", "0"),
        ("NumSegments", "1"),
        ("SmsStatus", "received"),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let signature = compute(AUTH_TOKEN, &url, &params, Algorithm::HmacSha1);
    rec.inbound_posts.fetch_add(1, Ordering::Relaxed);
    let result = http
        .post(url)
        .header("X-Twilio-Signature", signature)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&params).unwrap())
        .send()
        .await;
    match result {
        Ok(r) => {
            let status = r.status().as_u16();
            match status {
                200 => {}
                503 => {
                    rec.unavailable.fetch_add(1, Ordering::Relaxed);
                }
                other => {
                    let text = r.text().await.unwrap_or_default();
                    rec.unexpected.lock().unwrap().push(format!("inbound {sid}: HTTP {other} {text}"));
                }
            }
            Some(status)
        }
        Err(_) => {
            rec.transport_errors.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

async fn inbound_task(base: String, rec: Arc<Record>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    for i in 1..=MAX_REQUESTS_PER_TASK {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let from = patient(rand::rng().random_range(0..PATIENTS));
        if i.is_multiple_of(DUPLICATE_EVERY)
            && let Some(sid) = rec.random_acked()
        {
            rec.duplicate_posts.fetch_add(1, Ordering::Relaxed);
            if post_inbound(&http, &base, &sid, &from, &rec).await == Some(200) {
                rec.duplicate_acks.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        let sid = new_sid();
        rec.attempted.lock().unwrap().insert(sid.clone());
        let acked = if i.is_multiple_of(CONCURRENT_TWIN_EVERY) {
            rec.twin_posts.fetch_add(1, Ordering::Relaxed);
            let (a, b) = tokio::join!(
                post_inbound(&http, &base, &sid, &from, &rec),
                post_inbound(&http, &base, &sid, &from, &rec)
            );
            a == Some(200) || b == Some(200)
        } else {
            post_inbound(&http, &base, &sid, &from, &rec).await == Some(200)
        };
        if acked {
            rec.ack(&sid);
        }
    }
}

async fn api_task(
    base: String,
    token: Arc<String>,
    cycle: usize,
    task: usize,
    rec: Arc<Record>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    for i in 1..=MAX_REQUESTS_PER_TASK {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let to = patient(rand::rng().random_range(0..PATIENTS));
        let body = format!("Reminder c{cycle} t{task} n{i} {}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let result = http
            .post(format!("{base}/api/v1/messages"))
            .bearer_auth(token.as_str())
            .json(&json!({ "to": to, "body": body, "consent_basis": "verbal", "consent_note": "crash test" }))
            .send()
            .await;
        match result {
            Ok(r) if r.status() == 201 => match r.json::<Value>().await {
                Ok(v) => {
                    let id = v["id"].as_str().expect("a 201 names the message id").to_string();
                    rec.sends.lock().unwrap().push(ApiSend { id, body, to });
                }
                // The answer was cut off: not acknowledged.
                Err(_) => {
                    rec.transport_errors.fetch_add(1, Ordering::Relaxed);
                }
            },
            Ok(r) if r.status() == 503 => {
                rec.unavailable.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                rec.unexpected.lock().unwrap().push(format!("api send: HTTP {status} {text}"));
            }
            Err(_) => {
                rec.transport_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

// ---- checks --------------------------------------------------------------------------------

/// Polls each acknowledged send until it is settled (sent, delivered or failed).
async fn wait_until_sends_settle(base: &str, token: &str, sends: &[ApiSend], deadline: Instant) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut pending: Vec<&ApiSend> = sends.iter().collect();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for send in pending {
            let r = http.get(format!("{base}/api/v1/messages/{}", send.id)).bearer_auth(token).send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 200, "acknowledged send {} ({:?}) is gone: {body}", send.id, send.body);
            if !matches!(body["status"].as_str(), Some("sent" | "delivered" | "failed")) {
                still.push(send);
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged sends did not settle in time, e.g. {:?}",
            pending.len(),
            pending.first()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn open_read_only(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}

/// Waits until no outbox job is pending or in flight (auto-replies and unacknowledged sends
/// included), reading the database beside the running server.
async fn wait_until_outbox_empty(db: &Path, deadline: Instant) {
    loop {
        let open: i64 = open_read_only(db)
            .query_row("SELECT COUNT(*) FROM outbox_jobs WHERE state IN ('pending', 'in_flight')", [], |r| r.get(0))
            .unwrap();
        if open == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{open} outbox jobs still pending or in flight at the deadline");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// ---- the test ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_inbound_and_sends_nothing_twice() {
    let started = Instant::now();
    let (fake, twilio_base) = start_fake_twilio().await;
    let root = tempfile::tempdir().unwrap();
    let env = Env { root: root.path().to_path_buf(), data_dir: root.path().join("data"), twilio_base };

    env.cli(&["number", "add", PRACTICE, "--provider", "twilio", "--rate", "500"]).await;
    let token = Arc::new(env.cli(&["token", "create", "--name", "crash-test"]).await.trim().to_string());
    assert!(!token.is_empty(), "token create printed no token");

    let rec = Arc::new(Record::default());
    for cycle in 0..CYCLES {
        let server = start_server(&env, cycle).await;
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..INBOUND_TASKS {
            tasks.spawn(inbound_task(server.base.clone(), rec.clone(), stop.clone()));
        }
        for task in 0..API_TASKS {
            tasks.spawn(api_task(server.base.clone(), token.clone(), cycle, task, rec.clone(), stop.clone()));
        }
        // The kill lands 200-800 ms into steady load, counted from when acknowledgements
        // flow: a fresh process answers its first requests slowly (lazily built statics such
        // as the phone-number metadata take ~0.5 s in a debug build).
        let acked_before = rec.acked.lock().unwrap().len();
        let warm_deadline = Instant::now() + Duration::from_secs(10);
        while rec.acked.lock().unwrap().len() < acked_before + WARM_ACKS {
            assert!(
                Instant::now() < warm_deadline,
                "cycle {cycle}: fewer than {WARM_ACKS} webhooks acknowledged in 10 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let kill_after = Duration::from_millis(rand::rng().random_range(200..=800));
        tokio::time::sleep(kill_after).await;
        rec.kills_mid_handoff.fetch_add(fake.slow_in_progress.load(Ordering::SeqCst), Ordering::Relaxed);
        server.kill9().await;
        stop.store(true, Ordering::Relaxed);
        // Requests in flight fail at once now that the process is gone; 10 s is a safety bound.
        let joined = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(r) = tasks.join_next().await {
                r.unwrap();
            }
        })
        .await;
        assert!(joined.is_ok(), "load tasks did not finish after the kill");
        println!(
            "cycle {cycle}: killed {kill_after:?} into steady load; so far {} sids acknowledged, \
             {} sends acknowledged, {} creates at the fake",
            rec.acked.lock().unwrap().len(),
            rec.sends.lock().unwrap().len(),
            fake.create_calls.load(Ordering::SeqCst)
        );
    }

    // The last run is not interrupted: redeliver a few acknowledged sids once more, let the
    // outbox drain (interrupted hand-offs are taken over when their lease lapses), stop.
    let server = start_server(&env, CYCLES).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let acked: Vec<String> = rec.acked.lock().unwrap().clone();
    for sid in acked.iter().step_by((acked.len() / 20).max(1)) {
        rec.duplicate_posts.fetch_add(1, Ordering::Relaxed);
        let status = post_inbound(&http, &server.base, sid, &patient(0), &rec).await;
        assert_eq!(status, Some(200), "a redelivery of acknowledged {sid} was not acknowledged");
        rec.duplicate_acks.fetch_add(1, Ordering::Relaxed);
    }
    let sends: Vec<ApiSend> = rec.sends.lock().unwrap().clone();
    let deadline = Instant::now() + DRAIN_DEADLINE;
    wait_until_sends_settle(&server.base, &token, &sends, deadline).await;
    wait_until_outbox_empty(&env.database(), deadline).await;
    server.stop().await;

    // ---- what the database holds
    let db = open_read_only(&env.database());
    let mut per_sid: HashMap<String, i64> = HashMap::new();
    {
        let mut q = db
            .prepare(
                "SELECT provider_message_id, COUNT(*) FROM messages WHERE direction = 'inbound' \
                 GROUP BY provider_message_id",
            )
            .unwrap();
        let rows = q.query_map([], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))).unwrap();
        for row in rows {
            let (sid, n) = row.unwrap();
            let sid = sid.expect("every inbound message keeps its MessageSid");
            per_sid.insert(sid, n);
        }
    }
    let twice: Vec<(String, i64)> = {
        let mut q = db
            .prepare(
                "SELECT provider_message_id, COUNT(*) FROM messages WHERE provider_message_id IS NOT NULL \
                 GROUP BY provider, provider_message_id HAVING COUNT(*) > 1",
            )
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    assert!(twice.is_empty(), "provider message ids stored more than once: {twice:?}");

    let attempted = rec.attempted.lock().unwrap().clone();
    let lost: Vec<&String> = acked.iter().filter(|sid| per_sid.get(*sid).copied().unwrap_or(0) != 1).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged MessageSids are not stored exactly once, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    let strangers: Vec<&String> = per_sid.keys().filter(|sid| !attempted.contains(*sid)).collect();
    assert!(strangers.is_empty(), "inbound messages nobody sent: {strangers:?}");
    let receipts: i64 = db.query_row("SELECT COUNT(*) FROM provider_receipts", [], |r| r.get(0)).unwrap();
    assert_eq!(receipts as usize, per_sid.len(), "one provider receipt per stored inbound message");

    // ---- what reached the fake Twilio
    let created = fake.created.lock().unwrap().clone();
    let mut per_message: HashMap<String, Vec<&Created>> = HashMap::new();
    for c in &created {
        let id = c.message_id.clone().expect("every Create call carries a StatusCallback with the message id");
        per_message.entry(id).or_default().push(c);
    }
    let sent_twice: Vec<(&String, usize)> =
        per_message.iter().filter(|(_, v)| v.len() > 1).map(|(id, v)| (id, v.len())).collect();
    assert!(sent_twice.is_empty(), "messages handed to Twilio more than once: {sent_twice:?}");
    let mut per_body: HashMap<&str, usize> = HashMap::new();
    for c in &created {
        *per_body.entry(c.body.as_str()).or_default() += 1;
    }

    let needs_review: i64 =
        db.query_row("SELECT COUNT(*) FROM messages WHERE needs_review = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(needs_review, 0, "with Twilio's lookup available nothing should need review");
    let failed: Vec<(String, Option<String>)> = {
        let mut q = db
            .prepare("SELECT hex(id), error_message FROM messages WHERE direction = 'outbound' AND status = 'failed'")
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    assert!(failed.is_empty(), "outbound messages failed although the fake Twilio accepts everything: {failed:?}");

    for send in &sends {
        let hits = per_body.get(send.body.as_str()).copied().unwrap_or(0);
        assert_eq!(hits, 1, "acknowledged send {} ({:?}) reached Twilio {hits} times", send.id, send.body);
        let c = per_message
            .get(&send.id)
            .and_then(|v| v.first())
            .unwrap_or_else(|| panic!("acknowledged send {} reached Twilio without its own status callback", send.id));
        assert_eq!((c.to.as_str(), c.from.as_str()), (send.to.as_str(), PRACTICE));
        // The stored provider id is the SID Twilio gave this very message (sent or reconciled).
        let (status, stored_sid): (String, Option<String>) = db
            .query_row(
                "SELECT status, provider_message_id FROM messages WHERE lower(hex(id)) = ?1",
                [send.id.replace('-', "").to_lowercase()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or_else(|e| panic!("acknowledged send {} is not in the database: {e}", send.id));
        assert!(matches!(status.as_str(), "sent" | "delivered"), "send {} ended as {status}", send.id);
        assert_eq!(stored_sid.as_deref(), Some(c.sid.as_str()), "send {} recorded another SID", send.id);
    }
    let outbound_rows: i64 =
        db.query_row("SELECT COUNT(*) FROM messages WHERE direction = 'outbound'", [], |r| r.get(0)).unwrap();
    let outbound_sent: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM messages WHERE direction = 'outbound' AND status IN ('sent', 'delivered')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(outbound_sent, outbound_rows, "every outbound message ended sent");
    assert_eq!(outbound_sent as usize, per_message.len(), "each sent message reached Twilio, and only those");

    let unexpected = rec.unexpected.lock().unwrap().clone();
    assert!(unexpected.is_empty(), "unexpected answers: {:?}", &unexpected[..unexpected.len().min(10)]);

    println!(
        "crash summary: {CYCLES} kill -9 cycles in {:.1?}; inbound: {} posts, {} new sids, {} acknowledged, {} stored \
         (each acknowledged exactly once), {} concurrent twins, {} redeliveries of acknowledged sids ({} answered 200); \
         outbound: {} API sends acknowledged, {} outbound messages in total, {} Create calls at Twilio (none twice), \
         {} lookups, {} kills with a slow Create in progress; {} answers lost to kills, {} 503s",
        started.elapsed(),
        rec.inbound_posts.load(Ordering::Relaxed),
        attempted.len(),
        acked.len(),
        per_sid.len(),
        rec.twin_posts.load(Ordering::Relaxed),
        rec.duplicate_posts.load(Ordering::Relaxed),
        rec.duplicate_acks.load(Ordering::Relaxed),
        sends.len(),
        outbound_rows,
        created.len(),
        fake.lookups.load(Ordering::SeqCst),
        rec.kills_mid_handoff.load(Ordering::Relaxed),
        rec.transport_errors.load(Ordering::Relaxed),
        rec.unavailable.load(Ordering::Relaxed),
    );
}
