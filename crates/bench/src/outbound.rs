//! The `outbound` scenario: many messages across many senders, each with its own rate limit,
//! handed by the real dispatcher to a fake Twilio that is slow and often refuses. Measures
//! throughput at the provider, each sender's achieved rate against its limit, duplicates and
//! losses.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use serde_json::{Value, json};

use crate::fake_twilio::FakeTwilio;
use crate::{api, load as api_conn, procs, round};

#[derive(Args, Clone)]
pub struct OutboundArgs {
    /// Messages to enqueue through the API.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Practice numbers sending (messages are spread round-robin across them).
    #[arg(long, default_value_t = 50)]
    senders: usize,
    /// Each sender's rate limit, messages per second.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// The fake provider's answer latency, milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Share of Create Message requests refused (half 429, half 500/503).
    #[arg(long, default_value_t = 0.3)]
    failure_share: f64,
    /// FRONTDESK_DISPATCHER__PROVIDER_CONCURRENCY.
    #[arg(long, default_value_t = 64)]
    provider_concurrency: usize,
    /// FRONTDESK_DISPATCHER__RETRY_BASE_MS.
    #[arg(long, default_value_t = 50)]
    retry_base_ms: u64,
    /// Concurrent API connections enqueueing.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// After the last enqueue, how long to wait for every message to reach the provider.
    #[arg(long, default_value_t = 120.0)]
    drain_secs: f64,
    /// After everything arrived, how long to keep watching for late duplicates.
    #[arg(long, default_value_t = 3.0)]
    settle_secs: f64,
    #[arg(long)]
    frontdesk_bin: Option<PathBuf>,
    /// Run against PostgreSQL (a fresh database is created and dropped).
    #[arg(long)]
    database_url: Option<String>,
    /// Frontdesk instances on the same PostgreSQL database (needs --database-url when more
    /// than 1), same master key: each sender's messages are enqueued through one instance
    /// (senders split round-robin), and every instance's dispatcher claims from the shared
    /// outbox; duplicates and losses are counted across all of them at the fake provider.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// A smoke run of a few seconds: 300 messages across 4 senders at 50/s, 8 connections,
    /// 60 s drain bound, 1 s settle (overrides those options).
    #[arg(long)]
    quick: bool,
}

fn sender_number(i: usize) -> String {
    format!("+1212736{:04}", i % 10_000)
}

fn patient_number(i: usize) -> String {
    // +1 646 3xx xxxx: valid New York numbers, distinct for up to 100,000 messages.
    format!("+1646{:03}{:04}", 300 + (i / 10_000) % 10, i % 10_000)
}

pub async fn run(mut args: OutboundArgs) -> anyhow::Result<()> {
    if args.quick {
        args.messages = 300;
        args.senders = 4;
        args.rate = 50.0;
        args.connections = 8;
        args.drain_secs = 60.0;
        args.settle_secs = 1.0;
    }
    anyhow::ensure!((1..=8).contains(&args.instances), "--instances must be 1..=8");
    anyhow::ensure!(
        args.instances == 1 || args.database_url.is_some(),
        "--instances above 1 needs --database-url (instances share one PostgreSQL database)"
    );
    anyhow::ensure!(args.senders >= 1 && args.senders <= 10_000, "--senders must be 1..=10000");
    anyhow::ensure!(args.messages >= 1 && args.messages <= 100_000, "--messages must be 1..=100000");
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let binary = args.frontdesk_bin.clone().unwrap_or_else(crate::default_frontdesk_bin);
    anyhow::ensure!(binary.is_file(), "{} not found: build it first or pass --frontdesk-bin", binary.display());
    let scratch = tempfile::Builder::new().prefix("frontdesk-bench-").tempdir()?;
    let data_dir = scratch.path().join("data");
    std::fs::create_dir_all(&data_dir)?;
    let fake = FakeTwilio::start(Duration::from_millis(args.latency_ms), args.failure_share.clamp(0.0, 1.0)).await?;
    let pg = match &args.database_url {
        Some(url) => Some(crate::PgDatabase::create(url).await?),
        None => None,
    };
    let outcome = run_with(&args, &binary, &data_dir, &fake, pg.as_ref().map(|p| p.url.as_str())).await;
    if let Some(pg) = pg {
        pg.drop_database().await;
    }
    let rows = outcome?;
    print_table(&rows);
    Ok(())
}

async fn run_with(
    args: &OutboundArgs,
    binary: &std::path::Path,
    data_dir: &std::path::Path,
    fake: &FakeTwilio,
    database_url: Option<&str>,
) -> anyhow::Result<Vec<Value>> {
    let account_sid = format!("AC{}", crate::random_hex(32));
    let auth_token = crate::random_hex(32);
    let senders: Vec<String> = (0..args.senders).map(sender_number).collect();
    let addr = procs::free_loopback_addr()?;
    let config = procs::FrontdeskConfig {
        binary,
        data_dir,
        addr,
        account_sid: &account_sid,
        auth_token: &auth_token,
        database_url,
        // Registered by `start` at 500/s and never used: every message names its sender.
        practice_number: "+12125550100",
        extra_env: vec![
            ("FRONTDESK_TWILIO__API_BASE".into(), format!("http://{}", fake.addr)),
            ("FRONTDESK_DISPATCHER__RETRY_BASE_MS".into(), args.retry_base_ms.to_string()),
            ("FRONTDESK_DISPATCHER__PROVIDER_CONCURRENCY".into(), args.provider_concurrency.to_string()),
        ]
        .into_iter()
        .chain(
            (args.instances > 1)
                .then(|| ("FRONTDESK_MASTER_KEY".to_string(), frontdesk_store::MasterKey::generate().to_base64())),
        )
        .collect(),
        numbers: senders.iter().map(|s| (s.clone(), args.rate)).collect(),
    };
    let setup = Instant::now();
    eprintln!("outbound: registering {} senders at {} msg/s each", senders.len(), args.rate);
    let server = config.start().await?;
    let scratch = data_dir.parent().unwrap_or(data_dir);
    let others = procs::start_more_instances(&config, args.instances - 1, scratch).await?;
    let addrs: Arc<Vec<std::net::SocketAddr>> =
        Arc::new(std::iter::once(addr).chain(others.iter().map(|s| s.addr)).collect());
    let pids: Vec<u32> = std::iter::once(server.pid()).chain(others.iter().map(|s| s.pid())).collect();
    let cpu_all = || pids.iter().map(|p| procs::cpu_seconds(*p)).sum::<Option<f64>>();
    let token = config.cli(&["token", "create", "--name", "bench"])?.trim().to_string();
    anyhow::ensure!(!token.is_empty(), "`frontdesk token create` printed no token");
    eprintln!(
        "outbound: {} instance(s) ready in {:.1} s; enqueueing {} messages",
        args.instances,
        setup.elapsed().as_secs_f64(),
        args.messages
    );
    let tag = crate::random_alnum(6);
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..args.messages)
            .map(|i| format!("Reminder {tag}-{i:05}: your appointment is tomorrow at 10:30. Reply C to confirm."))
            .collect(),
    );
    let senders = Arc::new(senders);

    // Enqueue as fast as the API takes it, over many connections.
    let cpu0 = cpu_all();
    let load1 = procs::load_average();
    let t0 = Instant::now();
    let enqueue_deadline = t0 + Duration::from_secs(120);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.connections.max(1) {
        let (next, bodies, senders, token, addrs) =
            (next.clone(), bodies.clone(), senders.clone(), token.clone(), addrs.clone());
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per instance; sender k's messages go to instance k % n.
            let mut conns: Vec<Option<api_conn::Sender>> = (0..addrs.len()).map(|_| None).collect();
            let mut out: Vec<(usize, u16, Option<String>)> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() || Instant::now() > enqueue_deadline {
                    break;
                }
                let body = json!({"to": patient_number(i), "from": senders[i % senders.len()], "body": bodies[i], "consent_basis": "verbal", "consent_note": "benchmark"});
                let which = (i % senders.len()) % addrs.len();
                let result = api::call(
                    &mut conns[which],
                    addrs[which],
                    "POST",
                    "/api/v1/messages",
                    &token,
                    Some(Bytes::from(body.to_string())),
                    Duration::from_secs(30),
                )
                .await;
                match result {
                    Ok((status, body)) => {
                        let id = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string));
                        out.push((i, status, id));
                    }
                    Err(_) => out.push((i, 0, None)),
                }
            }
            out
        }));
    }
    let mut enqueued: Vec<Option<String>> = vec![None; args.messages];
    let mut enqueue_statuses: HashMap<u16, u64> = HashMap::new();
    for task in tasks {
        for (i, status, id) in task.await? {
            *enqueue_statuses.entry(status).or_default() += 1;
            if status == 201 {
                enqueued[i] = Some(id.unwrap_or_default());
            }
        }
    }
    let enqueue_secs = t0.elapsed().as_secs_f64();
    let ok_count = enqueued.iter().filter(|e| e.is_some()).count();
    eprintln!(
        "outbound: {ok_count} enqueued (201) in {enqueue_secs:.2} s ({:.0} /s); statuses {enqueue_statuses:?}",
        ok_count as f64 / enqueue_secs
    );

    // Wait until every 201'd message reached the provider, or the drain deadline.
    let wanted: HashMap<&str, usize> =
        enqueued.iter().enumerate().filter(|(_, e)| e.is_some()).map(|(i, _)| (bodies[i].as_str(), i)).collect();
    let drain_deadline = Instant::now() + Duration::from_secs_f64(args.drain_secs);
    loop {
        let arrived = fake.with_record(|r| {
            let mut seen = std::collections::HashSet::new();
            r.accepted.iter().filter(|a| wanted.contains_key(a.body.as_str()) && seen.insert(a.body.as_str())).count()
        });
        if arrived >= wanted.len() || Instant::now() > drain_deadline {
            break;
        }
        if !crate::server_alive(&server) {
            anyhow::bail!("frontdesk exited during the run:\n{}", server.log_tail());
        }
        if let Some(dead) = others.iter().find(|s| !crate::server_alive(s)) {
            anyhow::bail!("a second frontdesk instance exited during the run:\n{}", dead.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = Instant::now();
    let cpu1 = cpu_all();
    tokio::time::sleep(Duration::from_secs_f64(args.settle_secs)).await;

    // The figures.
    let mut rows = Vec::new();
    let (row, lost_ids) = fake.with_record(|rec| {
        figures(args, rec, &bodies, &wanted, &enqueued, t0, drained, enqueue_secs, ok_count, &enqueue_statuses)
    });
    let mut row = row;
    row["cpu_cores"] = json!(cpu0.zip(cpu1).map(|(a, b)| round((b - a) / drained.duration_since(t0).as_secs_f64(), 2)));
    row["load1_before"] = json!(load1);
    row["instances"] = json!(args.instances);
    if args.instances > 1 {
        row["scenario"] = json!(format!("{}_x{}", row["scenario"].as_str().unwrap_or("outbound"), args.instances));
    }
    row["load1"] = json!(procs::load_average());
    // Evidence for losses: what the server says about a few of them.
    let mut lost_detail = Vec::new();
    let mut conn = None;
    for id in lost_ids.iter().take(10) {
        if let Ok((status, body)) =
            api::call(&mut conn, addr, "GET", &format!("/api/v1/messages/{id}"), &token, None, Duration::from_secs(10))
                .await
        {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            lost_detail
                .push(json!({"id": id, "http": status, "status": v.get("status"), "error_code": v.get("error_code"),
                "needs_review": v.get("needs_review"), "error_message": v.get("error_message")}));
        }
    }
    if !lost_detail.is_empty() {
        row["lost_examples"] = json!(lost_detail);
    }
    let alive = crate::server_alive(&server) && others.iter().all(crate::server_alive);
    drop(others);
    drop(server);
    anyhow::ensure!(alive, "frontdesk exited during the run");
    crate::emit(&mut rows, row);
    Ok(rows)
}

/// The most arrivals in any one-second window (the limiter's upper bound, burst included).
fn max_per_second(times: &mut [Instant]) -> usize {
    times.sort();
    let (mut best, mut lo) = (0, 0);
    for hi in 0..times.len() {
        while times[hi].duration_since(times[lo]) >= Duration::from_secs(1) {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

/// The rate between the 10th and the 90th percentile of the arrivals: the sender's steady
/// state, without the start and the tail of retries after backoff.
fn trimmed_rate_of(times: &mut [Instant]) -> Option<f64> {
    times.sort();
    let n = times.len();
    let (a, b) = (n / 10, n - 1 - n / 10);
    let span = times.get(b)?.duration_since(*times.get(a)?).as_secs_f64();
    (b > a && span > 0.0).then(|| (b - a) as f64 / span)
}

fn rate_of(times: &mut [Instant]) -> Option<f64> {
    times.sort();
    let (first, last) = (times.first()?, times.last()?);
    let span = last.duration_since(*first).as_secs_f64();
    (times.len() >= 2 && span > 0.0).then(|| (times.len() - 1) as f64 / span)
}

#[allow(clippy::too_many_arguments)]
fn figures(
    args: &OutboundArgs,
    rec: &crate::fake_twilio::Record,
    bodies: &[String],
    wanted: &HashMap<&str, usize>,
    enqueued: &[Option<String>],
    t0: Instant,
    drained: Instant,
    enqueue_secs: f64,
    ok_count: usize,
    enqueue_statuses: &HashMap<u16, u64>,
) -> (Value, Vec<String>) {
    // Acceptances per body.
    let mut per_body: HashMap<&str, (u32, Instant)> = HashMap::new();
    let mut foreign = 0u64;
    let mut accepted_by_sender: HashMap<&str, Vec<Instant>> = HashMap::new();
    for a in &rec.accepted {
        if !wanted.contains_key(a.body.as_str()) {
            foreign += 1;
            continue;
        }
        let e = per_body.entry(a.body.as_str()).or_insert((0, a.answered));
        e.0 += 1;
        e.1 = e.1.min(a.answered);
        accepted_by_sender.entry(a.from.as_str()).or_default().push(a.arrived);
    }
    let duplicates: u64 = per_body.values().map(|(n, _)| u64::from(n.saturating_sub(1))).sum();
    let duplicate_examples: Vec<usize> =
        per_body.iter().filter(|(_, (n, _))| *n > 1).filter_map(|(b, _)| wanted.get(b).copied()).take(5).collect();
    let lost: Vec<usize> = wanted.iter().filter(|(b, _)| !per_body.contains_key(*b)).map(|(_, i)| *i).collect();
    let lost_ids: Vec<String> = lost.iter().filter_map(|i| enqueued[*i].clone()).collect();
    let last_first_accept = per_body.values().map(|(_, t)| *t).max();
    let throughput_secs = last_first_accept.map(|t| t.duration_since(t0).as_secs_f64());
    let delivered = per_body.len();
    let throughput = throughput_secs.map(|s| delivered as f64 / s);

    // Per sender: the accepted sends' arrival rate over the sender's own window (first to
    // last accepted), and the same for every attempt (what the limiter paces).
    let expected_accepted_rate = args.rate * (1.0 - args.failure_share);
    let mut accepted_err = Vec::new();
    let mut attempt_err = Vec::new();
    let mut per_sender = Vec::new();
    let mut trimmed_acc_err = Vec::new();
    let mut trimmed_att_err = Vec::new();
    let mut max_window = Vec::new();
    for i in 0..args.senders {
        let number = sender_number(i);
        let acc = accepted_by_sender.get(number.as_str()).cloned().map(|mut t| rate_of(&mut t)).unwrap_or(None);
        let att = rec.attempts_by_sender.get(&number).cloned().map(|mut t| rate_of(&mut t)).unwrap_or(None);
        let tacc = accepted_by_sender.get(number.as_str()).cloned().and_then(|mut t| trimmed_rate_of(&mut t));
        let tatt = rec.attempts_by_sender.get(&number).cloned().and_then(|mut t| trimmed_rate_of(&mut t));
        if let Some(mut t) = rec.attempts_by_sender.get(&number).cloned() {
            max_window.push(max_per_second(&mut t));
        }
        if let Some(r) = tacc {
            trimmed_acc_err.push((r / args.rate - 1.0) * 100.0);
        }
        if let Some(r) = tatt {
            trimmed_att_err.push((r / args.rate - 1.0) * 100.0);
        }
        if let Some(r) = acc {
            accepted_err.push((r / args.rate - 1.0) * 100.0);
        }
        if let Some(r) = att {
            attempt_err.push((r / args.rate - 1.0) * 100.0);
        }
        per_sender.push(json!([round(acc.unwrap_or(0.0), 1), round(att.unwrap_or(0.0), 1)]));
    }
    let summary = |errs: &[f64]| {
        let max_abs = errs.iter().map(|e| e.abs()).fold(0.0, f64::max);
        let mean = if errs.is_empty() { 0.0 } else { errs.iter().sum::<f64>() / errs.len() as f64 };
        let min = errs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = errs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let within = errs.iter().filter(|e| e.abs() <= 5.0).count();
        (round(mean, 1), round(min, 1), round(max, 1), round(max_abs, 1), within)
    };
    let (acc_mean, acc_min, acc_max, acc_abs, acc_within) = summary(&accepted_err);
    let (att_mean, att_min, att_max, att_abs, att_within) = summary(&attempt_err);
    let (tacc_mean, tacc_min, tacc_max, tacc_abs, tacc_within) = summary(&trimmed_acc_err);
    let (tatt_mean, tatt_min, tatt_max, tatt_abs, tatt_within) = summary(&trimmed_att_err);
    // Create requests per second at the provider, second by second from the first enqueue.
    let mut series = vec![0u64; 0];
    for times in rec.attempts_by_sender.values() {
        for t in times {
            let s = t.saturating_duration_since(t0).as_secs() as usize;
            if s < 600 {
                if series.len() <= s {
                    series.resize(s + 1, 0);
                }
                series[s] += 1;
            }
        }
    }
    // The bulk versus the retry tail: when 50%, 99% and 99.9% of the messages had arrived.
    let mut firsts: Vec<f64> = per_body.values().map(|(_, t)| t.duration_since(t0).as_secs_f64()).collect();
    firsts.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let k = ((firsts.len() as f64 * q).ceil() as usize).clamp(1, firsts.len().max(1));
        firsts.get(k - 1).map(|s| round(*s, 2))
    };
    let secs_to_99 = at(0.99);
    let busy_secs = throughput_secs.unwrap_or(0.0);
    let mean_concurrency = (busy_secs > 0.0).then(|| rec.creates as f64 * args.latency_ms as f64 / 1000.0 / busy_secs);
    let statuses: std::collections::BTreeMap<String, u64> = enqueue_statuses
        .iter()
        .map(|(k, v)| (if *k == 0 { "io_error".to_string() } else { k.to_string() }, *v))
        .collect();
    let limit_total = args.rate * args.senders as f64;
    let mut row = json!({
        "scenario": if args.database_url.is_some() { "outbound_postgres" } else { "outbound_sqlite" },
        "target": format!("{} msgs, {} senders x {} /s", args.messages, args.senders, args.rate),
        "messages": args.messages,
        "senders": args.senders,
        "rate_per_sender": args.rate,
        "limit_total_per_sec": limit_total,
        "fake_latency_ms": args.latency_ms,
        "failure_share": args.failure_share,
        "provider_concurrency": args.provider_concurrency,
        "retry_base_ms": args.retry_base_ms,
        "enqueued_ok": ok_count,
        "enqueue_statuses": statuses,
        "enqueue_secs": round(enqueue_secs, 2),
        "enqueue_per_sec": round(ok_count as f64 / enqueue_secs, 0),
        "delivered_unique": delivered,
        "throughput_secs": throughput_secs.map(|s| round(s, 2)),
        "throughput_per_sec": throughput.map(|t| round(t, 0)),
        "drain_secs": round(drained.duration_since(t0).as_secs_f64(), 2),
        "provider_creates": rec.creates,
        "provider_attempts_per_sec": throughput_secs.map(|s| round(rec.creates as f64 / s, 0)),
        "injected_429": rec.injected_429,
        "injected_429_retry_after_0": rec.injected_429_retry_after_0,
        "injected_5xx": rec.injected_5xx,
        "provider_lists": rec.lists,
        "provider_bad_requests": rec.bad_requests,
        "duplicates": duplicates,
        "duplicate_examples": duplicate_examples.iter().map(|i| bodies[*i].clone()).collect::<Vec<_>>(),
        "losses": lost.len(),
        "foreign_accepted": foreign,
        "accepted_rate_err_pct": {"mean": acc_mean, "min": acc_min, "max": acc_max, "max_abs": acc_abs,
            "within_5pct": acc_within, "expected_pct_if_limiter_counts_attempts": round(-args.failure_share * 100.0, 1)},
        "attempt_rate_err_pct": {"mean": att_mean, "min": att_min, "max": att_max, "max_abs": att_abs, "within_5pct": att_within},
        "expected_accepted_rate_per_sender": round(expected_accepted_rate, 1),
        "per_sender_accepted_and_attempt_rates": per_sender,
        "meets_2000_per_sec": throughput.map(|t| t >= 2000.0),
        "meets_rate_accuracy_accepted": acc_within == args.senders,
        "meets_rate_accuracy_attempts": att_within == args.senders,
        "meets_zero_duplicates": duplicates == 0,
        "meets_zero_losses": lost.is_empty(),
    });
    row["trimmed_accepted_rate_err_pct"] =
        json!({"mean": tacc_mean, "min": tacc_min, "max": tacc_max, "max_abs": tacc_abs, "within_5pct": tacc_within});
    row["trimmed_attempt_rate_err_pct"] =
        json!({"mean": tatt_mean, "min": tatt_min, "max": tatt_max, "max_abs": tatt_abs, "within_5pct": tatt_within});
    row["max_attempts_in_any_1s_per_sender"] = json!({"max": max_window.iter().max(), "min": max_window.iter().min(),
        "max_err_pct": max_window.iter().max().map(|m| round((*m as f64 / args.rate - 1.0) * 100.0, 1))});
    row["secs_to_50pct"] = json!(at(0.5));
    row["secs_to_99pct"] = json!(secs_to_99);
    row["secs_to_99_9pct"] = json!(at(0.999));
    row["throughput_to_99pct_per_sec"] =
        json!(secs_to_99.filter(|s| *s > 0.0).map(|s| round(firsts.len() as f64 * 0.99 / s, 0)));
    row["peak_creates_per_sec"] = json!(series.iter().max());
    row["creates_per_sec_series"] = json!(series);
    row["provider_max_concurrent"] = json!(rec.max_in_flight);
    row["provider_mean_concurrent"] = json!(mean_concurrency.map(|c| round(c, 1)));
    (row, lost_ids)
}

fn print_table(rows: &[Value]) {
    let cell = |v: &Value, key: &str| match v.pointer(key) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    eprintln!();
    for row in rows {
        for (label, key) in [
            ("target", "/target"),
            ("enqueued (201) / statuses", "/enqueue_statuses"),
            ("enqueue rate /s", "/enqueue_per_sec"),
            ("throughput to provider /s (target >= 2000)", "/throughput_per_sec"),
            ("first enqueue -> last first-accept, s", "/throughput_secs"),
            ("seconds to 50% / 99% / 99.9% accepted", "/secs_to_50pct"),
            ("  99%", "/secs_to_99pct"),
            ("  99.9%", "/secs_to_99_9pct"),
            ("throughput to the 99th percentile /s", "/throughput_to_99pct_per_sec"),
            ("peak Create requests in one second", "/peak_creates_per_sec"),
            ("provider Create requests (incl. refused)", "/provider_creates"),
            ("injected 429 (of which Retry-After: 0)", "/injected_429"),
            ("  ... Retry-After: 0", "/injected_429_retry_after_0"),
            ("injected 5xx", "/injected_5xx"),
            ("List Messages (reconciliation) requests", "/provider_lists"),
            ("per-sender accepted rate err %, mean", "/accepted_rate_err_pct/mean"),
            ("per-sender accepted rate err %, max |err|", "/accepted_rate_err_pct/max_abs"),
            ("senders within +-5% (accepted)", "/accepted_rate_err_pct/within_5pct"),
            ("per-sender attempt rate err %, mean", "/attempt_rate_err_pct/mean"),
            ("per-sender attempt rate err %, max |err|", "/attempt_rate_err_pct/max_abs"),
            ("senders within +-5% (attempts)", "/attempt_rate_err_pct/within_5pct"),
            ("trimmed (p10-p90) attempt rate err %, mean", "/trimmed_attempt_rate_err_pct/mean"),
            ("senders within +-5% (trimmed attempts)", "/trimmed_attempt_rate_err_pct/within_5pct"),
            ("max attempts of one sender in any 1 s", "/max_attempts_in_any_1s_per_sender/max"),
            ("  over the limit, %", "/max_attempts_in_any_1s_per_sender/max_err_pct"),
            ("provider concurrency max / mean", "/provider_max_concurrent"),
            ("  mean", "/provider_mean_concurrent"),
            ("Create requests per second, by second", "/creates_per_sec_series"),
            ("duplicates (target 0)", "/duplicates"),
            ("losses (target 0)", "/losses"),
            ("server CPU cores", "/cpu_cores"),
            ("load average (1 min)", "/load1"),
        ] {
            eprintln!("{label:>46}  {}", cell(row, key));
        }
    }
}
