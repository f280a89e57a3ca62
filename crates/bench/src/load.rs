//! The open-loop generator: requests are built and signed before the clock starts, then sent
//! at a constant arrival rate. Request `i` is due at `start + i / rate`; its latency is counted
//! from that due time, not from when a connection became free to send it, so a stall in the
//! server shows up in the figures instead of silently slowing the generator down (coordinated
//! omission corrected).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use frontdesk_providers::twilio::signature::{self, Algorithm};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use rand::Rng;
use rand::seq::IndexedRandom as _;
use tokio::net::TcpStream;

/// The path Twilio posts inbound messages to.
pub const INBOUND_PATH: &str = "/webhooks/twilio/messages";

/// One request, ready to send: the form body and its signature.
pub struct Prepared {
    pub body: Bytes,
    pub signature: HeaderValue,
}

/// What the requests look like, and to whom they are signed.
pub struct WorkloadSpec {
    pub auth_token: String,
    pub account_sid: String,
    /// The public URL the server checks signatures against (no trailing slash).
    pub public_url: String,
    pub practice_number: String,
    /// Distinct patients texting in; most requests land in an existing conversation.
    pub patients: usize,
    /// Share of requests that repeat an earlier request exactly (a provider retry).
    pub duplicate_share: f64,
    /// Share of requests that carry one picture (MMS).
    pub media_share: f64,
}

pub struct Workload {
    pub requests: Vec<Prepared>,
    pub duplicates: usize,
    pub with_media: usize,
    pub mean_body_bytes: usize,
}

const SENTENCES: &[&str] = &[
    "Hi, this is about my appointment on Thursday.",
    "Can I come in a little later, around 3:30 instead of 2?",
    "My daughter has had a fever since last night and a sore throat.",
    "Do you have anything open next week for a cleaning?",
    "I got the reminder, thanks. See you then.",
    "Is the office open on Saturday mornings?",
    "The pharmacy says they never received the prescription, could you send it again?",
    "What do I need to bring for the new patient visit?",
    "My insurance changed this month, I can send a photo of the new card.",
    "Running about ten minutes late, sorry!",
    "Could the doctor call me back about my lab results when she has a moment?",
    "Thank you so much for fitting us in today.",
    "Which entrance should I use, the parking garage one or the street side?",
    "I filled out the form but the date of birth field would not accept my entry.",
    "Is there a copay for the follow-up visit?",
];

/// A pool of distinct, well-formed patient numbers (New York area codes, no 555 and no N11
/// exchanges), the same for every run with the same size.
fn patient_numbers(count: usize, rng: &mut impl Rng) -> Vec<String> {
    const AREAS: &[u32] = &[212, 646, 718, 917, 347, 929];
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let area = *AREAS.choose(rng).unwrap_or(&212);
        let exchange = rng.random_range(200..=999u32);
        if exchange % 100 == 11 || exchange == 555 {
            continue;
        }
        let line = rng.random_range(0..10_000u32);
        let number = format!("+1{area}{exchange}{line:04}");
        if seen.insert(number.clone()) {
            out.push(number);
        }
    }
    out
}

fn body_text(rng: &mut impl Rng) -> String {
    // One to four sentences: 30 to about 300 characters, like real replies.
    let sentences = rng.random_range(1..=4);
    let mut body = String::new();
    for _ in 0..sentences {
        if !body.is_empty() {
            body.push(' ');
        }
        body.push_str(SENTENCES.choose(rng).unwrap_or(&SENTENCES[0]));
    }
    body
}

/// Builds `count` signed requests. `sid_tag` makes MessageSids unique across calls against
/// the same server (every step of a ramp gets its own).
pub fn build(spec: &WorkloadSpec, count: usize, sid_tag: u32, rng: &mut impl Rng) -> Workload {
    let url = format!("{}{}", spec.public_url, INBOUND_PATH);
    let patients = patient_numbers(spec.patients.max(1), rng);
    let mut requests: Vec<Prepared> = Vec::with_capacity(count);
    let (mut duplicates, mut with_media, mut body_bytes) = (0, 0, 0);
    for i in 0..count {
        if i > 0 && rng.random_bool(spec.duplicate_share) {
            // A retry of an earlier webhook: the very same parameters and signature.
            let earlier = rng.random_range(0..i);
            let again =
                Prepared { body: requests[earlier].body.clone(), signature: requests[earlier].signature.clone() };
            body_bytes += again.body.len();
            requests.push(again);
            duplicates += 1;
            continue;
        }
        let sid = format!("SM{sid_tag:08x}{i:024x}");
        let from = patients.choose(rng).cloned().unwrap_or_default();
        let media = rng.random_bool(spec.media_share);
        let mut params: Vec<(String, String)> = vec![
            ("ToCountry".into(), "US".into()),
            ("ToState".into(), "NY".into()),
            ("SmsMessageSid".into(), sid.clone()),
            ("NumMedia".into(), if media { "1" } else { "0" }.into()),
            ("ToCity".into(), "NEW YORK".into()),
            ("FromZip".into(), "10001".into()),
            ("SmsSid".into(), sid.clone()),
            ("FromState".into(), "NY".into()),
            ("SmsStatus".into(), "received".into()),
            ("FromCity".into(), "NEW YORK".into()),
            ("Body".into(), body_text(rng)),
            ("FromCountry".into(), "US".into()),
            ("To".into(), spec.practice_number.clone()),
            ("ToZip".into(), "10007".into()),
            ("NumSegments".into(), "1".into()),
            ("MessageSid".into(), sid.clone()),
            ("AccountSid".into(), spec.account_sid.clone()),
            ("From".into(), from),
            ("ApiVersion".into(), "2010-04-01".into()),
        ];
        if media {
            with_media += 1;
            params.push(("MediaContentType0".into(), "image/jpeg".into()));
            params.push((
                "MediaUrl0".into(),
                format!(
                    "https://api.twilio.com/2010-04-01/Accounts/{}/Messages/{sid}/Media/ME{:032x}",
                    spec.account_sid,
                    rng.random::<u128>()
                ),
            ));
        }
        let sig = signature::compute(&spec.auth_token, &url, &params, Algorithm::HmacSha1);
        let body = serde_urlencoded::to_string(&params).unwrap_or_default();
        body_bytes += body.len();
        requests.push(Prepared {
            body: Bytes::from(body),
            signature: HeaderValue::from_str(&sig).unwrap_or_else(|_| HeaderValue::from_static("invalid")),
        });
    }
    let mean_body_bytes = body_bytes.checked_div(count).unwrap_or(0);
    Workload { requests, duplicates, with_media, mean_body_bytes }
}

/// How one step is run.
#[derive(Clone)]
pub struct RunSpec {
    pub addr: std::net::SocketAddr,
    /// More instances serving the same data (behind the same public URL): request `i` goes
    /// to `[addr, also...][i % n]`, so requests alternate between the instances; every worker
    /// keeps one keep-alive connection to each.
    pub also: Vec<std::net::SocketAddr>,
    pub rate: f64,
    /// Requests to send; at `rate` this lasts `count / rate` seconds.
    pub count: usize,
    pub connections: usize,
    /// Nothing new is sent after this long; what is left counts as not sent.
    pub hard_limit: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// When set, the time of every 200 answer is recorded by request index.
    pub acks: Option<Arc<AckLog>>,
}

/// When each request was acknowledged (a 200), in nanoseconds since `epoch`; 0 = never.
pub struct AckLog {
    pub epoch: Instant,
    pub times: Vec<std::sync::atomic::AtomicU64>,
}

impl AckLog {
    pub fn new(epoch: Instant, count: usize) -> AckLog {
        AckLog { epoch, times: (0..count).map(|_| std::sync::atomic::AtomicU64::new(0)).collect() }
    }

    /// The acknowledgement time of request `i`, if it was acknowledged.
    pub fn get(&self, i: usize) -> Option<Instant> {
        let ns = self.times.get(i)?.load(Ordering::Relaxed);
        (ns > 0).then(|| self.epoch + Duration::from_nanos(ns))
    }
}

/// Everything measured in one step.
pub struct RunResult {
    /// Latency from the due time (coordinated omission corrected), microseconds.
    pub latency: Histogram<u64>,
    /// Time from actually writing the request to the full answer, microseconds.
    pub service: Histogram<u64>,
    /// HTTP status → count; 0 stands for a connection error or timeout.
    pub statuses: BTreeMap<u16, u64>,
    pub sent: usize,
    pub completed: usize,
    pub not_sent: usize,
    pub elapsed: Duration,
    /// Largest lag between a request's due time and its actual send (generator saturation).
    pub max_send_lag: Duration,
}

struct WorkerOut {
    latency: Histogram<u64>,
    service: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    sent: usize,
    completed: usize,
    max_send_lag: Duration,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 minutes, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends the workload at `spec.rate` per second over `spec.connections` keep-alive
/// connections and measures every answer.
pub async fn run(spec: &RunSpec, workload: Arc<Vec<Prepared>>) -> anyhow::Result<RunResult> {
    anyhow::ensure!(!workload.is_empty(), "empty workload");
    anyhow::ensure!(spec.rate > 0.0, "rate must be positive");
    let addrs: Vec<std::net::SocketAddr> = std::iter::once(spec.addr).chain(spec.also.iter().copied()).collect();
    let hosts: Arc<Vec<HeaderValue>> =
        Arc::new(addrs.iter().map(|a| HeaderValue::from_str(&a.to_string())).collect::<Result<_, _>>()?);
    // Open every connection before the clock starts.
    let mut senders = Vec::with_capacity(spec.connections);
    for _ in 0..spec.connections {
        let mut per_addr = Vec::with_capacity(addrs.len());
        for addr in &addrs {
            per_addr.push(Some(connect(*addr).await?));
        }
        senders.push(per_addr);
    }
    let addrs = Arc::new(addrs);
    let next = Arc::new(AtomicUsize::new(0));
    let interval_ns = 1e9 / spec.rate;
    // A short lead so every worker is parked on its first due time when the clock starts.
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(spec.connections);
    for mut senders in senders {
        let (next, workload, hosts, addrs, spec) =
            (next.clone(), workload.clone(), hosts.clone(), addrs.clone(), spec.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = WorkerOut {
                latency: histogram(),
                service: histogram(),
                statuses: BTreeMap::new(),
                sent: 0,
                completed: 0,
                max_send_lag: Duration::ZERO,
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= spec.count {
                    break;
                }
                let due = start + Duration::from_nanos((i as f64 * interval_ns) as u64);
                tokio::time::sleep_until(due.into()).await;
                let now = Instant::now();
                if now.duration_since(start) > spec.hard_limit {
                    // Past the step's time budget: stop taking work; the rest is "not sent".
                    next.fetch_add(spec.count, Ordering::Relaxed);
                    break;
                }
                out.max_send_lag = out.max_send_lag.max(now.saturating_duration_since(due));
                let prepared = &workload[i % workload.len()];
                let which = i % addrs.len();
                let request = Request::post(INBOUND_PATH)
                    .header(HOST, hosts[which].clone())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header("x-twilio-signature", prepared.signature.clone())
                    .body(Full::new(prepared.body.clone()))
                    .expect("a request built from valid parts");
                out.sent += 1;
                let status = match send(&mut senders[which], addrs[which], request, spec.timeout).await {
                    Ok(status) => status,
                    Err(_) => {
                        senders[which] = None;
                        0
                    }
                };
                let done = Instant::now();
                if status == 200
                    && let Some(slot) = spec.acks.as_ref().and_then(|a| a.times.get(i).map(|t| (a.epoch, t)))
                {
                    let ns = done.saturating_duration_since(slot.0).as_nanos().max(1) as u64;
                    slot.1.store(ns, Ordering::Relaxed);
                }
                *out.statuses.entry(status).or_default() += 1;
                out.completed += 1;
                let _ = out.latency.record(done.saturating_duration_since(due).as_micros().max(1) as u64);
                let _ = out.service.record(done.saturating_duration_since(now).as_micros().max(1) as u64);
            }
            out
        }));
    }
    let mut result = RunResult {
        latency: histogram(),
        service: histogram(),
        statuses: BTreeMap::new(),
        sent: 0,
        completed: 0,
        not_sent: 0,
        elapsed: Duration::ZERO,
        max_send_lag: Duration::ZERO,
    };
    for task in tasks {
        let out = task.await.context("a load worker panicked")?;
        result.latency.add(&out.latency).ok();
        result.service.add(&out.service).ok();
        for (status, n) in out.statuses {
            *result.statuses.entry(status).or_default() += n;
        }
        result.sent += out.sent;
        result.completed += out.completed;
        result.max_send_lag = result.max_send_lag.max(out.max_send_lag);
    }
    result.elapsed = Instant::now().saturating_duration_since(start);
    result.not_sent = spec.count - result.sent;
    Ok(result)
}

/// One request on the worker's connection, reconnecting first when the last one broke.
async fn send(
    sender: &mut Option<Sender>,
    addr: std::net::SocketAddr,
    request: Request<Full<Bytes>>,
    timeout: Duration,
) -> anyhow::Result<u16> {
    exchange(sender, addr, request, timeout).await.map(|(status, _)| status)
}

/// Sends `request` on `sender` (connecting first when there is no live connection) and reads
/// the whole answer. A connection that failed or timed out is dropped, so the next call
/// starts a fresh one.
pub async fn exchange(
    sender: &mut Option<Sender>,
    addr: std::net::SocketAddr,
    request: Request<Full<Bytes>>,
    timeout: Duration,
) -> anyhow::Result<(u16, Bytes)> {
    let fut = async {
        if sender.as_ref().is_none_or(|s| s.is_closed()) {
            *sender = Some(connect(addr).await?);
        }
        let s = sender.as_mut().context("no connection")?;
        s.ready().await?;
        let response = s.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    };
    let result = tokio::time::timeout(timeout, fut).await.context("timed out").and_then(|r| r);
    if result.is_err() {
        *sender = None;
    }
    result
}
