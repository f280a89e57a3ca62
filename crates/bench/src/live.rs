//! The `live` scenario: N subscribers on `GET /api/v1/events` (SSE) while signed inbound
//! webhooks arrive at a constant rate (the open-loop generator of `inbound`). Measures, for
//! every (subscriber, message) pair, the time from the webhook's 200 acknowledgement to that
//! subscriber receiving the `message_received` event for the message.
//!
//! Pairing: events carry our message id, webhooks carry the provider's MessageSid. Every
//! webhook of the run has a unique MessageSid (no duplicate retries in this scenario) and the
//! generator records the acknowledgement time by request index, which is encoded in the
//! MessageSid. After the run, each message id seen in an event is resolved once through
//! `GET /api/v1/messages/{id}` to its `provider_message_id`, hence to its request index and
//! acknowledgement time. Arrival times are taken on the same monotonic clock, in this process.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper::header::{ACCEPT, AUTHORIZATION, HOST};
use serde_json::{Value, json};

use crate::{api, load, ms, procs, round};

#[derive(Args, Clone)]
pub struct LiveArgs {
    /// SSE subscribers on /api/v1/events.
    #[arg(long, default_value_t = 200)]
    subscribers: usize,
    /// Inbound webhooks per second (constant arrival rate).
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Seconds at that rate.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Keep-alive connections sending webhooks.
    #[arg(long, default_value_t = 128)]
    connections: usize,
    /// Distinct patients texting in.
    #[arg(long, default_value_t = 5000)]
    patients: usize,
    /// After the last webhook, how long subscribers keep listening for late events.
    #[arg(long, default_value_t = 3.0)]
    settle_secs: f64,
    /// The p99 target, milliseconds (reported against, never enforced).
    #[arg(long, default_value_t = 100.0)]
    p99_target_ms: f64,
    #[arg(long)]
    frontdesk_bin: Option<PathBuf>,
    /// Run against PostgreSQL (a fresh database is created and dropped).
    #[arg(long)]
    database_url: Option<String>,
    /// A smoke run of a few seconds: 5 subscribers, 100 webhooks/s for 3 s, 8 connections,
    /// 1 s settle (overrides those options).
    #[arg(long)]
    quick: bool,
}

/// What one subscriber saw.
#[derive(Default)]
pub(crate) struct SubscriberOut {
    /// (message id, arrival in ns since the epoch) of every `message_received` event.
    pub received: Vec<(u128, u64)>,
    pub other_events: u64,
    pub lagged_notices: u64,
    pub lagged_missed: u64,
    pub error: Option<String>,
}

pub async fn run(mut args: LiveArgs) -> anyhow::Result<()> {
    if args.quick {
        args.subscribers = 5;
        args.rate = 100.0;
        args.duration = 3.0;
        args.connections = 8;
        args.patients = 200;
        args.settle_secs = 1.0;
    }
    anyhow::ensure!((1..=5000).contains(&args.subscribers), "--subscribers must be 1..=5000");
    anyhow::ensure!(args.rate > 0.0 && args.duration > 0.0 && args.duration <= 600.0, "bad --rate or --duration");
    let binary = args.frontdesk_bin.clone().unwrap_or_else(crate::default_frontdesk_bin);
    anyhow::ensure!(binary.is_file(), "{} not found: build it first or pass --frontdesk-bin", binary.display());
    let scratch = tempfile::Builder::new().prefix("frontdesk-bench-").tempdir()?;
    let data_dir = scratch.path().join("data");
    std::fs::create_dir_all(&data_dir)?;
    let pg = match &args.database_url {
        Some(url) => Some(crate::PgDatabase::create(url).await?),
        None => None,
    };
    let outcome = run_with(&args, &binary, &data_dir, pg.as_ref().map(|p| p.url.as_str())).await;
    if let Some(pg) = pg {
        pg.drop_database().await;
    }
    let row = outcome?;
    print_table(&row);
    Ok(())
}

async fn run_with(
    args: &LiveArgs,
    binary: &std::path::Path,
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> anyhow::Result<Value> {
    let account_sid = format!("AC{}", crate::random_hex(32));
    let auth_token = crate::random_hex(32);
    let practice_number = "+12125550100";
    let addr = procs::free_loopback_addr()?;
    let config = procs::FrontdeskConfig {
        binary,
        data_dir,
        addr,
        account_sid: &account_sid,
        auth_token: &auth_token,
        database_url,
        practice_number,
        extra_env: Vec::new(),
        numbers: Vec::new(),
    };
    let server = config.start().await?;
    let token = config.cli(&["token", "create", "--name", "bench"])?.trim().to_string();
    anyhow::ensure!(!token.is_empty(), "`frontdesk token create` printed no token");
    let pid = server.pid();

    // Subscribers first; wait until every one has its 200 and stream open.
    let epoch = Instant::now();
    let count = ((args.rate * args.duration).round() as usize).max(1);
    let hard_deadline = epoch + Duration::from_secs_f64(args.duration * 3.0 + args.settle_secs + 60.0);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ready = Arc::new(AtomicUsize::new(0));
    let mut subs = Vec::with_capacity(args.subscribers);
    for _ in 0..args.subscribers {
        let (ready, stop) = (ready.clone(), stop_rx.clone());
        let auth = (AUTHORIZATION, format!("Bearer {token}"));
        subs.push(tokio::spawn(
            async move { subscribe(addr, API_EVENTS, auth, epoch, hard_deadline, ready, stop).await },
        ));
    }
    let ready_deadline = Instant::now() + Duration::from_secs(30);
    while ready.load(Ordering::Relaxed) < args.subscribers {
        anyhow::ensure!(
            Instant::now() < ready_deadline,
            "only {} of {} subscribers connected within 30 s",
            ready.load(Ordering::Relaxed),
            args.subscribers
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("live: {} subscribers connected; sending {count} webhooks at {} /s", args.subscribers, args.rate);

    // The inbound load, every acknowledgement time recorded.
    let spec = load::WorkloadSpec {
        auth_token: auth_token.clone(),
        account_sid: account_sid.clone(),
        public_url: format!("http://{addr}"),
        practice_number: practice_number.to_string(),
        patients: args.patients,
        duplicate_share: 0.0,
        media_share: 0.0,
    };
    let tag: u32 = rand::random();
    let workload = {
        let mut rng = rand::rng();
        load::build(&spec, count, tag, &mut rng)
    };
    let acks = Arc::new(load::AckLog::new(epoch, count));
    let run = load::RunSpec {
        addr,
        also: Vec::new(),
        rate: args.rate,
        count,
        connections: args.connections,
        hard_limit: Duration::from_secs_f64(args.duration * 3.0 + 5.0),
        timeout: Duration::from_secs(30),
        acks: Some(acks.clone()),
    };
    let load1 = procs::load_average();
    let (cpu0, self0) = (procs::cpu_seconds(pid), procs::cpu_seconds(std::process::id()));
    let wall = Instant::now();
    let result = load::run(&run, Arc::new(workload.requests)).await?;
    let wall = wall.elapsed().as_secs_f64();
    let (cpu1, self1) = (procs::cpu_seconds(pid), procs::cpu_seconds(std::process::id()));
    tokio::time::sleep(Duration::from_secs_f64(args.settle_secs)).await;
    let _ = stop_tx.send(true);
    let mut outs = Vec::with_capacity(subs.len());
    for s in subs {
        outs.push(s.await.context("a subscriber panicked")?);
    }

    // Resolve every message id seen to its request index (via provider_message_id).
    let ids: Vec<u128> =
        outs.iter().flat_map(|o| o.received.iter().map(|(id, _)| *id)).collect::<HashSet<_>>().into_iter().collect();
    let index_of = resolve(addr, &token, &ids, tag).await;
    let unresolved = ids.iter().filter(|id| !index_of.contains_key(id)).count();

    let acked: Vec<usize> = (0..count).filter(|i| acks.get(*i).is_some()).collect();
    let mut hist = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let (mut before_ack, mut pairs, mut missed, mut unmatched_events) = (0u64, 0u64, 0u64, 0u64);
    let mut per_sub_p99 = Vec::new();
    let mut errors = Vec::new();
    for out in &outs {
        let mut mine = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
        let mut seen = HashSet::with_capacity(out.received.len());
        for (id, at_ns) in &out.received {
            let Some(ack) = index_of.get(id).and_then(|i| acks.get(*i)) else {
                unmatched_events += 1;
                continue;
            };
            if !seen.insert(*id) {
                continue;
            }
            let arrived = epoch + Duration::from_nanos(*at_ns);
            if arrived < ack {
                before_ack += 1;
            }
            let us = arrived.saturating_duration_since(ack).as_micros().max(1) as u64;
            let _ = hist.record(us);
            let _ = mine.record(us);
            pairs += 1;
        }
        missed += acked.len().saturating_sub(seen.len()) as u64;
        if !mine.is_empty() {
            per_sub_p99.push(mine.value_at_quantile(0.99));
        }
        if let Some(e) = &out.error {
            errors.push(e.clone());
        }
    }
    per_sub_p99.sort_unstable();
    let ok = result.statuses.get(&200).copied().unwrap_or(0);
    let cores = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| round((b - a) / wall, 2));
    let p99 = ms(hist.value_at_quantile(0.99));
    let alive = crate::server_alive(&server);
    drop(server);
    anyhow::ensure!(alive, "frontdesk exited during the run");
    let row = json!({
        "scenario": if database_url.is_some() { "live_postgres" } else { "live_sqlite" },
        "target": format!("{} subscribers, {} /s for {} s", args.subscribers, args.rate, args.duration),
        "subscribers": args.subscribers,
        "rate_target": args.rate,
        "webhooks": count,
        "webhooks_acked": ok,
        "webhook_statuses": result.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<HashMap<_, _>>(),
        "webhooks_not_sent": result.not_sent,
        "achieved_rps": round(ok as f64 / result.elapsed.as_secs_f64(), 0),
        "webhook_p99_ms": ms(result.latency.value_at_quantile(0.99)),
        "pairs": pairs,
        "expected_pairs": acked.len() as u64 * args.subscribers as u64,
        "p50_ms": ms(hist.value_at_quantile(0.50)),
        "p90_ms": ms(hist.value_at_quantile(0.90)),
        "p99_ms": p99,
        "p999_ms": ms(hist.value_at_quantile(0.999)),
        "max_ms": ms(hist.max()),
        "worst_subscriber_p99_ms": per_sub_p99.last().map(|v| ms(*v)),
        "median_subscriber_p99_ms": per_sub_p99.get(per_sub_p99.len() / 2).map(|v| ms(*v)),
        "events_before_ack": before_ack,
        "missed": missed,
        "lagged_notices": outs.iter().map(|o| o.lagged_notices).sum::<u64>(),
        "lagged_missed": outs.iter().map(|o| o.lagged_missed).sum::<u64>(),
        "other_events": outs.iter().map(|o| o.other_events).sum::<u64>(),
        "unresolved_ids": unresolved,
        "unmatched_events": unmatched_events,
        "subscriber_errors": errors.len(),
        "subscriber_error_example": errors.first(),
        "cpu_cores": cores(cpu0, cpu1),
        "bench_cpu_cores": cores(self0, self1),
        "p99_target_ms": args.p99_target_ms,
        "meets_p99": p99 <= args.p99_target_ms,
        "load1_before": load1,
        "load1": procs::load_average(),
    });
    println!("{row}");
    Ok(row)
}

/// The API's event stream (bearer token).
pub const API_EVENTS: &str = "/api/v1/events";

/// One SSE subscriber on `path` (with one authenticating header: a bearer token for the API,
/// the session cookie for the dashboard's `/events`), until told to stop or the hard deadline.
pub(crate) async fn subscribe(
    addr: std::net::SocketAddr,
    path: &'static str,
    auth: (hyper::header::HeaderName, String),
    epoch: Instant,
    deadline: Instant,
    ready: Arc<AtomicUsize>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> SubscriberOut {
    let mut out = SubscriberOut::default();
    let opened = async {
        let mut sender = load::connect(addr).await?;
        let request = Request::get(path)
            .header(HOST, addr.to_string())
            .header(auth.0, auth.1)
            .header(ACCEPT, "text/event-stream")
            .body(Full::new(Bytes::new()))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        anyhow::ensure!(response.status() == 200, "GET {path} answered {}", response.status());
        anyhow::Ok((sender, response.into_body()))
    };
    let (_sender, mut body) = match tokio::time::timeout(Duration::from_secs(30), opened).await {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            out.error = Some(format!("{e:#}"));
            return out;
        }
        Err(_) => {
            out.error = Some("subscribing timed out".into());
            return out;
        }
    };
    ready.fetch_add(1, Ordering::Relaxed);
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let frame = tokio::select! {
            f = body.frame() => f,
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(deadline.into()) => { out.error = Some("hard deadline".into()); break }
        };
        let now_ns = Instant::now().saturating_duration_since(epoch).as_nanos() as u64;
        match frame {
            None => {
                out.error = Some("the event stream ended".into());
                break;
            }
            Some(Err(e)) => {
                out.error = Some(format!("event stream error: {e}"));
                break;
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                    parse_events(&mut buf, now_ns, &mut out);
                }
            }
        }
    }
    out
}

/// Takes every complete event (ended by a blank line) off the front of `buf`.
fn parse_events(buf: &mut Vec<u8>, now_ns: u64, out: &mut SubscriberOut) {
    let mut consumed = 0;
    while let Some(end) = buf[consumed..].windows(2).position(|w| w == b"\n\n") {
        let block = &buf[consumed..consumed + end];
        consumed += end + 2;
        let text = String::from_utf8_lossy(block);
        let mut event = "";
        let mut data = "";
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = v.trim();
            } else if let Some(v) = line.strip_prefix("data:") {
                data = v.trim();
            }
        }
        match event {
            "" => {}
            "message_received" => match message_id(data) {
                Some(id) => out.received.push((id, now_ns)),
                None => out.other_events += 1,
            },
            "lagged" => {
                out.lagged_notices += 1;
                out.lagged_missed += serde_json::from_str::<Value>(data)
                    .ok()
                    .and_then(|v| v.get("missed").and_then(Value::as_u64))
                    .unwrap_or(0);
            }
            _ => out.other_events += 1,
        }
    }
    buf.drain(..consumed);
}

fn message_id(data: &str) -> Option<u128> {
    const KEY: &str = "\"message_id\":\"";
    let start = data.find(KEY)? + KEY.len();
    let uuid = data.get(start..start + 36)?;
    u128::from_str_radix(&uuid.replace('-', ""), 16).ok()
}

fn uuid_text(id: u128) -> String {
    let h = format!("{id:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// message id → request index, through the API's provider_message_id (`SM{tag:08x}{i:024x}`).
pub(crate) async fn resolve(addr: std::net::SocketAddr, token: &str, ids: &[u128], tag: u32) -> HashMap<u128, usize> {
    let ids = Arc::new(ids.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let prefix = format!("SM{tag:08x}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (ids, next, token, prefix) = (ids.clone(), next.clone(), token.to_string(), prefix.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = None;
            let mut found = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= ids.len() || Instant::now() > deadline {
                    break;
                }
                let path = format!("/api/v1/messages/{}", uuid_text(ids[k]));
                let Ok((200, body)) =
                    api::call(&mut conn, addr, "GET", &path, &token, None, Duration::from_secs(10)).await
                else {
                    continue;
                };
                let sid = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("provider_message_id").and_then(Value::as_str).map(str::to_string));
                if let Some(i) = sid
                    .as_deref()
                    .and_then(|s| s.strip_prefix(prefix.as_str()))
                    .and_then(|rest| usize::from_str_radix(rest, 16).ok())
                {
                    found.push((ids[k], i));
                }
            }
            found
        }));
    }
    let mut map = HashMap::with_capacity(ids.len());
    for t in tasks {
        if let Ok(found) = t.await {
            map.extend(found);
        }
    }
    map
}

fn print_table(row: &Value) {
    let cell = |key: &str| match row.get(key) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    eprintln!();
    for (label, key) in [
        ("target", "target"),
        ("webhooks acked / sent", "webhooks_acked"),
        ("webhook rate achieved /s", "achieved_rps"),
        ("webhook ack p99 ms", "webhook_p99_ms"),
        ("subscriber-event pairs", "pairs"),
        ("expected pairs", "expected_pairs"),
        ("ack -> event p50 ms", "p50_ms"),
        ("ack -> event p90 ms", "p90_ms"),
        ("ack -> event p99 ms (target <= 100)", "p99_ms"),
        ("ack -> event max ms", "max_ms"),
        ("worst subscriber's p99 ms", "worst_subscriber_p99_ms"),
        ("events before their ack", "events_before_ack"),
        ("missed (pairs never received)", "missed"),
        ("lagged notices / events dropped", "lagged_notices"),
        ("  dropped", "lagged_missed"),
        ("server CPU cores", "cpu_cores"),
        ("bench CPU cores", "bench_cpu_cores"),
        ("load average (1 min)", "load1"),
    ] {
        eprintln!("{label:>40}  {}", cell(key));
    }
}
