//! The `pages` measurement of `dataset --pages`: the real `frontdesk serve` on the generated
//! data (same database, same master key), a staff member signed in through `POST /login`,
//! and the pages as the browser asks for them: `GET /` (views all, mine, unassigned) and
//! `GET /c/{id}` for the longest threads, p50/p95/max over sequential requests on one
//! keep-alive connection after a warm-up. Then "a new message on an open dashboard": SSE
//! subscribers on the dashboard's `/events` with the session cookie while signed inbound
//! webhooks arrive at a constant rate; latency from each webhook's 200 to the event.
//!
//! Latencies are measured by the client on loopback: the server's rendering plus one HTTP
//! exchange, which is what a browser on the same machine would wait.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};
use rand::Rng as _;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{live, load, ms, procs, round};

/// The signed-in staff member's password (set by the generator on the "Mine" user).
pub const PASSWORD: &str = "bench-pages-password-7241";

/// How the page measurement runs.
pub struct PagesSpec<'a> {
    pub binary: &'a Path,
    pub backend: &'a str,
    /// The generated store's URL and master key.
    pub url: &'a str,
    pub master_key: &'a str,
    pub email: &'a str,
    /// Conversations with long threads (id, thread's messages).
    pub conversations: &'a [(Uuid, u32)],
    pub practice_number: &'a str,
    pub scratch: &'a Path,
    pub iterations: usize,
    pub warmup: usize,
    /// Dashboard SSE subscribers, webhooks per second and seconds for the live part.
    pub subscribers: usize,
    pub rate: f64,
    pub secs: f64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// One request on a keep-alive connection; status, headers, body size.
async fn exchange(
    sender: &mut Option<load::Sender>,
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<(u16, hyper::HeaderMap, usize)> {
    let fut = async {
        if sender.as_ref().is_none_or(|s| s.is_closed()) {
            *sender = Some(load::connect(addr).await?);
        }
        let s = sender.as_mut().context("no connection")?;
        s.ready().await?;
        let response = s.send_request(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, headers, body.len()))
    };
    let result = tokio::time::timeout(Duration::from_secs(30), fut).await.context("timed out").and_then(|r| r);
    if result.is_err() {
        *sender = None;
    }
    result
}

/// `POST /login` with the form fields; the `fd_session` cookie's value.
async fn sign_in(addr: SocketAddr, email: &str, password: &str) -> anyhow::Result<String> {
    let form = serde_urlencoded::to_string([("email", email), ("password", password)])?;
    let request = Request::post("/login")
        .header(HOST, addr.to_string())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))?;
    let mut conn = None;
    let (status, headers, _) = exchange(&mut conn, addr, request).await?;
    let location = headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    anyhow::ensure!((300..400).contains(&status), "POST /login answered {status} (not a redirect)");
    anyhow::ensure!(!location.starts_with("/login"), "sign-in wants another step: {location}");
    let cookie = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next()?.trim().strip_prefix("fd_session=").map(str::to_string))
        .filter(|v| !v.is_empty())
        .context("POST /login set no fd_session cookie")?;
    Ok(cookie)
}

struct PageStats {
    hist: Histogram<u64>,
    iterations: usize,
    bytes: usize,
}

/// `warmup` unmeasured then `iterations` measured GETs (each at most 60 s in all); any answer
/// other than 200 fails the run.
async fn measure_gets(
    addr: SocketAddr,
    cookie: &str,
    iterations: usize,
    warmup: usize,
    mut path: impl FnMut(usize) -> String,
) -> anyhow::Result<PageStats> {
    let mut conn = None;
    let mut stats = PageStats { hist: histogram(), iterations: 0, bytes: 0 };
    for phase in [false, true] {
        let (n, limit) = (if phase { iterations } else { warmup }, Instant::now() + Duration::from_secs(60));
        for i in 0..n {
            let p = path(i);
            let request = Request::get(p.as_str())
                .header(HOST, addr.to_string())
                .header(COOKIE, format!("fd_session={cookie}"))
                .body(Full::new(Bytes::new()))?;
            let t = Instant::now();
            let (status, _, bytes) = exchange(&mut conn, addr, request).await?;
            let us = t.elapsed().as_micros().max(1) as u64;
            anyhow::ensure!(status == 200, "GET {p} answered {status}");
            if phase {
                let _ = stats.hist.record(us);
                stats.iterations += 1;
                stats.bytes = bytes;
            }
            if Instant::now() > limit {
                break;
            }
        }
    }
    Ok(stats)
}

fn page_row(backend: &str, name: &str, s: &PageStats) -> Value {
    let p95 = ms(s.hist.value_at_quantile(0.95));
    json!({
        "scenario": format!("pages_{backend}"),
        "target": name,
        "iterations": s.iterations,
        "rows": s.bytes,
        "body_bytes": s.bytes,
        "p50_ms": ms(s.hist.value_at_quantile(0.50)),
        "p95_ms": p95,
        "p99_ms": ms(s.hist.value_at_quantile(0.99)),
        "max_ms": ms(s.hist.max()),
        "target_p95_ms": 20.0,
        "passed": p95 <= 20.0,
        "load1": procs::load_average(),
    })
}

/// Runs the page and live-dashboard measurements; the rows are emitted into `rows`.
pub async fn run(spec: &PagesSpec<'_>, rows: &mut Vec<Value>) -> anyhow::Result<()> {
    anyhow::ensure!(!spec.conversations.is_empty(), "no conversations to open");
    let data_dir = spec.scratch.join(format!("pages-{}", spec.backend));
    std::fs::create_dir_all(&data_dir)?;
    let account_sid = format!("AC{}", crate::random_hex(32));
    let auth_token = crate::random_hex(32);
    let addr = procs::free_loopback_addr()?;
    let config = procs::FrontdeskConfig {
        binary: spec.binary,
        data_dir: &data_dir,
        addr,
        account_sid: &account_sid,
        auth_token: &auth_token,
        database_url: Some(spec.url),
        practice_number: spec.practice_number,
        extra_env: vec![("FRONTDESK_MASTER_KEY".into(), spec.master_key.to_string())],
        numbers: Vec::new(),
    };
    // An API token (to resolve event message ids afterwards), before the server opens the data.
    let token = config.cli(&["token", "create", "--name", "bench-pages"])?.trim().to_string();
    anyhow::ensure!(!token.is_empty(), "`frontdesk token create` printed no token");
    let started = Instant::now();
    let server = config.serve(&data_dir.join("frontdesk.log")).await?;
    let ready_ms = round(started.elapsed().as_secs_f64() * 1000.0, 0);
    let pid = server.pid();
    let cookie = sign_in(addr, spec.email, PASSWORD).await.context("signing in")?;
    eprintln!(
        "pages[{}]: server ready in {ready_ms} ms on {addr}, signed in as {}; measuring ({} requests after {} warm-up each)",
        spec.backend, spec.email, spec.iterations, spec.warmup
    );
    let (it, wu) = (spec.iterations, spec.warmup);
    let cpu0 = procs::cpu_seconds(pid);
    let t0 = Instant::now();
    for view in ["all", "mine", "unassigned"] {
        let s = measure_gets(addr, &cookie, it, wu, |_| format!("/?view={view}")).await?;
        crate::emit(rows, page_row(spec.backend, &format!("GET /?view={view}"), &s));
    }
    let convs = spec.conversations;
    let picks: Vec<usize> = {
        let mut rng = rand::rng();
        (0..it + wu).map(|_| rng.random_range(0..convs.len())).collect()
    };
    let s = measure_gets(addr, &cookie, it, wu, |i| format!("/c/{}", convs[picks[i % picks.len()]].0)).await?;
    let (shortest, longest) =
        (convs.iter().map(|c| c.1).min().unwrap_or(0), convs.iter().map(|c| c.1).max().unwrap_or(0));
    let mut r = page_row(spec.backend, &format!("GET /c/{{id}} ({shortest}-{longest} msgs)"), &s);
    r["thread_messages_range"] = json!([shortest, longest]);
    r["conversations_sampled"] = json!(convs.len());
    crate::emit(rows, r);
    let cpu1 = procs::cpu_seconds(pid);
    let (rss, hwm) = procs::memory_mb(pid);
    let pages_secs = t0.elapsed().as_secs_f64();

    // A new message on an open dashboard.
    let live = live_dashboard(spec, addr, &cookie, &token, &account_sid, &auth_token).await?;
    let alive = crate::server_alive(&server);
    let (rss_end, hwm_end) = procs::memory_mb(pid);
    drop(server);
    anyhow::ensure!(alive, "frontdesk exited during the page measurements");
    crate::emit(rows, live);

    let worst = rows
        .iter()
        .filter(|r| r["scenario"].as_str() == Some(&format!("pages_{}", spec.backend)))
        .filter_map(|r| r["p95_ms"].as_f64())
        .fold(0.0, f64::max);
    let live_p99 = rows.last().and_then(|r| r["p99_ms"].as_f64());
    crate::emit(
        rows,
        json!({
            "scenario": format!("pages_{}_summary", spec.backend),
            "target": "inbox + conversation pages p95 <= 20 ms; dashboard event p99 <= 100 ms",
            "pages_worst_p95_ms": worst,
            "meets_pages_20ms": worst <= 20.0,
            "dashboard_event_p99_ms": live_p99,
            "meets_dashboard_100ms": live_p99.map(|p| p <= 100.0),
            "server_ready_ms": ready_ms,
            "server_cpu_cores_during_pages": cpu0.zip(cpu1).map(|(a, b)| round((b - a) / pages_secs, 2)),
            "server_rss_mb_after_pages": rss,
            "server_hwm_mb_after_pages": hwm,
            "server_rss_mb_end": rss_end,
            "server_hwm_mb_end": hwm_end,
            "load1": procs::load_average(),
        }),
    );
    Ok(())
}

async fn live_dashboard(
    spec: &PagesSpec<'_>,
    addr: SocketAddr,
    cookie: &str,
    token: &str,
    account_sid: &str,
    auth_token: &str,
) -> anyhow::Result<Value> {
    let epoch = Instant::now();
    let count = ((spec.rate * spec.secs).round() as usize).max(1);
    let settle = Duration::from_secs(2);
    let hard_deadline = epoch + Duration::from_secs_f64(spec.secs * 3.0 + 90.0);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ready = Arc::new(AtomicUsize::new(0));
    let mut subs = Vec::with_capacity(spec.subscribers);
    for _ in 0..spec.subscribers {
        let (ready, stop) = (ready.clone(), stop_rx.clone());
        let auth = (COOKIE, format!("fd_session={cookie}"));
        subs.push(tokio::spawn(async move {
            live::subscribe(addr, "/events", auth, epoch, hard_deadline, ready, stop).await
        }));
    }
    let ready_deadline = Instant::now() + Duration::from_secs(30);
    while ready.load(Ordering::Relaxed) < spec.subscribers {
        anyhow::ensure!(
            Instant::now() < ready_deadline,
            "only {} of {} dashboard subscribers connected within 30 s",
            ready.load(Ordering::Relaxed),
            spec.subscribers
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let workload_spec = load::WorkloadSpec {
        auth_token: auth_token.to_string(),
        account_sid: account_sid.to_string(),
        public_url: format!("http://{addr}"),
        practice_number: spec.practice_number.to_string(),
        patients: 500,
        duplicate_share: 0.0,
        media_share: 0.0,
    };
    let tag: u32 = rand::random();
    let workload = {
        let mut rng = rand::rng();
        load::build(&workload_spec, count, tag, &mut rng)
    };
    let acks = Arc::new(load::AckLog::new(epoch, count));
    let run = load::RunSpec {
        addr,
        also: Vec::new(),
        rate: spec.rate,
        count,
        connections: 8,
        hard_limit: Duration::from_secs_f64(spec.secs * 3.0 + 5.0),
        timeout: Duration::from_secs(30),
        acks: Some(acks.clone()),
    };
    let result = load::run(&run, Arc::new(workload.requests)).await?;
    tokio::time::sleep(settle).await;
    let _ = stop_tx.send(true);
    let mut outs = Vec::with_capacity(subs.len());
    for s in subs {
        outs.push(s.await.context("a subscriber panicked")?);
    }
    let ids: Vec<u128> =
        outs.iter().flat_map(|o| o.received.iter().map(|(id, _)| *id)).collect::<HashSet<_>>().into_iter().collect();
    let index_of = live::resolve(addr, token, &ids, tag).await;
    let acked = (0..count).filter(|i| acks.get(*i).is_some()).count();
    let mut hist = histogram();
    let (mut pairs, mut missed, mut unmatched) = (0u64, 0u64, 0u64);
    let mut errors = Vec::new();
    for out in &outs {
        let mut seen = HashSet::new();
        for (id, at_ns) in &out.received {
            let Some(ack) = index_of.get(id).and_then(|i| acks.get(*i)) else {
                unmatched += 1;
                continue;
            };
            if !seen.insert(*id) {
                continue;
            }
            let arrived = epoch + Duration::from_nanos(*at_ns);
            let _ = hist.record(arrived.saturating_duration_since(ack).as_micros().max(1) as u64);
            pairs += 1;
        }
        missed += acked.saturating_sub(seen.len()) as u64;
        if let Some(e) = &out.error {
            errors.push(e.clone());
        }
    }
    let ok = result.statuses.get(&200).copied().unwrap_or(0);
    let p99 = ms(hist.value_at_quantile(0.99));
    Ok(json!({
        "scenario": format!("pages_{}_live", spec.backend),
        "target": format!("{} dashboard subscribers, {} /s for {} s", spec.subscribers, spec.rate, spec.secs),
        "subscribers": spec.subscribers,
        "webhooks": count,
        "webhooks_acked": ok,
        "webhooks_not_sent": result.not_sent,
        "webhook_p99_ms": ms(result.latency.value_at_quantile(0.99)),
        "pairs": pairs,
        "expected_pairs": acked as u64 * spec.subscribers as u64,
        "iterations": pairs,
        "p50_ms": ms(hist.value_at_quantile(0.50)),
        "p90_ms": ms(hist.value_at_quantile(0.90)),
        "p95_ms": ms(hist.value_at_quantile(0.95)),
        "p99_ms": p99,
        "max_ms": ms(hist.max()),
        "missed": missed,
        "unmatched_events": unmatched,
        "lagged_missed": outs.iter().map(|o| o.lagged_missed).sum::<u64>(),
        "subscriber_errors": errors.len(),
        "subscriber_error_example": errors.first(),
        "target_p99_ms": 100.0,
        "passed": p99 <= 100.0,
        "load1": procs::load_average(),
    }))
}
