//! The `crash` scenario: `kill -9` the release server under mixed load, restart it on the
//! same data directory, repeat; then check that every acknowledged inbound MessageSid is
//! stored exactly once and that every acknowledged outbound send reached the (fake) provider
//! exactly once, or was flagged for review.
//!
//! Inbound load is the open-loop generator of `inbound` (signed Twilio webhooks, 5% exact
//! retries, some with media); outbound load is API sends (`POST /api/v1/messages`) over a few
//! keep-alive connections. The fake Twilio (`fake_twilio`, crash mode) records each Create on
//! arrival, with the message id of its StatusCallback, and answers one in ten only after a
//! pause, so kills land between "the provider has it" and "Frontdesk recorded the answer".
//!
//! With `--database-url` (or `FRONTDESK_BENCH_POSTGRES_URL`) the server runs on a fresh
//! PostgreSQL database `fd_bench_<random>` (created here, dropped afterwards) with the same
//! master key across restarts, and the checks query that database with sqlx instead of the
//! SQLite file; the checks themselves are the same, plus one: every acknowledged MessageSid
//! also has its row in `provider_receipts`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use rand::Rng as _;
use serde_json::{Value, json};

use crate::fake_twilio::FakeTwilio;
use crate::{api, load, procs, round};

#[derive(Args, Clone)]
pub struct CrashArgs {
    /// Kill-and-restart cycles.
    #[arg(long, default_value_t = 10)]
    cycles: usize,
    /// 3 cycles: a smoke run of about 20 s.
    #[arg(long)]
    quick: bool,
    /// Inbound webhooks per second during a cycle (open loop).
    #[arg(long, default_value_t = 500.0)]
    inbound_rate: f64,
    /// Seconds of inbound load prepared per cycle (the kill lands inside it).
    #[arg(long, default_value_t = 3.0)]
    load_secs: f64,
    /// Concurrent API senders (each one request at a time).
    #[arg(long, default_value_t = 4)]
    api_connections: usize,
    /// FRONTDESK_DISPATCHER__LEASE_SECS: how long an interrupted hand-off stays reserved
    /// before the restarted server reconciles it (the server raises it to 3x the provider
    /// timeout, here 2 s, so at least 6).
    #[arg(long, default_value_t = 6)]
    lease_secs: u64,
    #[arg(long)]
    frontdesk_bin: Option<PathBuf>,
    /// Run against PostgreSQL: a fresh database fd_bench_<random> is created on this server,
    /// serves every restart, and is dropped afterwards.
    #[arg(long, env = "FRONTDESK_BENCH_POSTGRES_URL")]
    database_url: Option<String>,
}

const PRACTICE: &str = "+12125550100";
const API_PATIENTS: usize = 50;
const SLOW_EVERY: u64 = 10;
const SLOW: Duration = Duration::from_millis(300);

fn api_patient(i: usize) -> String {
    format!("+1212736{:04}", 1000 + i % API_PATIENTS)
}

#[derive(Clone)]
struct ApiSend {
    id: String,
    body: String,
}

#[derive(Default)]
struct ApiOutcome {
    sends: Vec<ApiSend>,
    statuses: BTreeMap<String, u64>,
    /// The first few answers that were neither 201 nor a dropped connection.
    unexpected: Vec<String>,
}

/// One API sender: unique bodies until `stop`, at most `max` requests or `limit`.
async fn api_sender(
    addr: std::net::SocketAddr,
    token: Arc<String>,
    cycle: usize,
    task: usize,
    stop: Arc<AtomicBool>,
    limit: Instant,
) -> ApiOutcome {
    let mut out = ApiOutcome::default();
    let mut conn = None;
    for i in 0..5_000usize {
        if stop.load(Ordering::Relaxed) || Instant::now() > limit {
            break;
        }
        // Letters only: a random run like "a1c5" reads as a lab result to the PHI guard (422).
        let tag: String = {
            let mut rng = rand::rng();
            (0..10).map(|_| char::from(b'a' + rng.random_range(0..26u8))).collect()
        };
        let body = format!("Crash c{cycle} t{task} n{i} {tag}");
        let to = api_patient(cycle * 1000 + task * 100 + i);
        let req = json!({"to": to, "body": body, "consent_basis": "verbal", "consent_note": "crash test"});
        let result = api::call(
            &mut conn,
            addr,
            "POST",
            "/api/v1/messages",
            &token,
            Some(Bytes::from(req.to_string())),
            Duration::from_secs(5),
        )
        .await;
        let key = match result {
            Ok((201, answer)) => {
                match serde_json::from_slice::<Value>(&answer).ok().and_then(|v| v["id"].as_str().map(str::to_string)) {
                    Some(id) => {
                        out.sends.push(ApiSend { id, body });
                        "201".to_string()
                    }
                    None => "201_without_id".to_string(),
                }
            }
            Ok((status, answer)) => {
                if out.unexpected.len() < 3 {
                    out.unexpected.push(format!("HTTP {status}: {}", String::from_utf8_lossy(&answer)));
                }
                status.to_string()
            }
            Err(_) => {
                // The server died under us: back off a little instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                "io_error".to_string()
            }
        };
        *out.statuses.entry(key).or_default() += 1;
    }
    out
}

fn sid_of(body: &[u8]) -> Option<String> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    form.into_iter().find(|(k, _)| k == "MessageSid").map(|(_, v)| v)
}

fn open_db(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// Outbound rows: hex id (lowercase, no dashes) → (status, needs_review, provider id).
type OutboundRows = HashMap<String, (String, bool, Option<String>)>;

/// Where the checks read what the server stored: the SQLite file, or the scratch PostgreSQL
/// database (the same queries).
enum Db {
    Sqlite(PathBuf),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn open_jobs(&self) -> anyhow::Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM outbox_jobs WHERE state IN ('pending', 'in_flight')";
        Ok(match self {
            Db::Sqlite(path) => open_db(path)?.query_row(SQL, [], |r| r.get(0))?,
            Db::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await?,
        })
    }

    /// Inbound messages per provider MessageSid.
    async fn inbound_per_sid(&self) -> anyhow::Result<HashMap<String, i64>> {
        const SQL: &str = "SELECT provider_message_id, COUNT(*) FROM messages WHERE direction = 'inbound' \
             AND provider_message_id IS NOT NULL GROUP BY provider_message_id";
        let mut per_sid = HashMap::new();
        match self {
            Db::Sqlite(path) => {
                let db = open_db(path)?;
                let mut q = db.prepare(SQL)?;
                let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
                for row in rows {
                    let (sid, n) = row?;
                    per_sid.insert(sid, n);
                }
            }
            Db::Postgres(pool) => {
                let rows: Vec<(String, i64)> = sqlx::query_as(SQL).fetch_all(pool).await?;
                per_sid.extend(rows);
            }
        }
        Ok(per_sid)
    }

    async fn receipts(&self) -> anyhow::Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM provider_receipts";
        Ok(match self {
            Db::Sqlite(path) => open_db(path)?.query_row(SQL, [], |r| r.get(0))?,
            Db::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await?,
        })
    }

    /// The provider message ids in `provider_receipts` (PostgreSQL mode only).
    async fn receipt_sids(&self) -> anyhow::Result<Option<HashSet<String>>> {
        Ok(match self {
            Db::Sqlite(_) => None,
            Db::Postgres(pool) => {
                let rows: Vec<String> =
                    sqlx::query_scalar("SELECT provider_message_id FROM provider_receipts").fetch_all(pool).await?;
                Some(rows.into_iter().collect())
            }
        })
    }

    async fn outbound(&self) -> anyhow::Result<OutboundRows> {
        let mut outbound = HashMap::new();
        match self {
            Db::Sqlite(path) => {
                let db = open_db(path)?;
                let mut q = db.prepare(
                    "SELECT lower(hex(id)), status, needs_review, provider_message_id FROM messages \
                     WHERE direction = 'outbound'",
                )?;
                let rows = q.query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                })?;
                for row in rows {
                    let (id, status, review, sid) = row?;
                    outbound.insert(id, (status, review, sid));
                }
            }
            Db::Postgres(pool) => {
                let rows: Vec<(uuid::Uuid, String, bool, Option<String>)> = sqlx::query_as(
                    "SELECT id, status, needs_review, provider_message_id FROM messages WHERE direction = 'outbound'",
                )
                .fetch_all(pool)
                .await?;
                for (id, status, review, sid) in rows {
                    outbound.insert(id.simple().to_string(), (status, review, sid));
                }
            }
        }
        Ok(outbound)
    }

    async fn needs_review_total(&self) -> anyhow::Result<i64> {
        Ok(match self {
            Db::Sqlite(path) => open_db(path)?.query_row(
                "SELECT COUNT(*) FROM messages WHERE direction = 'outbound' AND needs_review = 1",
                [],
                |r| r.get(0),
            )?,
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE direction = 'outbound' AND needs_review")
                    .fetch_one(pool)
                    .await?
            }
        })
    }
}

pub async fn run(mut args: CrashArgs) -> anyhow::Result<()> {
    if args.quick {
        args.cycles = 3;
    }
    let Some(url) = args.database_url.clone() else {
        return run_with(args, None).await;
    };
    let pg = crate::PgDatabase::create(&url).await?;
    let outcome = run_with(args, Some(&pg.url)).await;
    pg.drop_database().await;
    outcome
}

async fn run_with(args: CrashArgs, database_url: Option<&str>) -> anyhow::Result<()> {
    anyhow::ensure!((1..=100).contains(&args.cycles), "--cycles must be 1..=100");
    anyhow::ensure!(args.inbound_rate > 0.0 && args.inbound_rate <= 20_000.0, "--inbound-rate must be 1..=20000");
    anyhow::ensure!(args.load_secs > 0.5 && args.load_secs <= 60.0, "--load-secs must be 0.5..=60");
    anyhow::ensure!((1..=64).contains(&args.api_connections), "--api-connections must be 1..=64");
    let binary = args.frontdesk_bin.clone().unwrap_or_else(crate::default_frontdesk_bin);
    anyhow::ensure!(binary.is_file(), "{} not found: build it first or pass --frontdesk-bin", binary.display());
    let started = Instant::now();
    let scratch = tempfile::Builder::new().prefix("frontdesk-bench-crash-").tempdir()?;
    let data_dir = scratch.path().join("data");
    std::fs::create_dir_all(&data_dir)?;
    let fake = FakeTwilio::start_for_crash(SLOW_EVERY, SLOW).await?;
    let account_sid = format!("AC{}", crate::random_hex(32));
    let auth_token = crate::random_hex(32);
    let addr = procs::free_loopback_addr()?;
    let mut extra_env: Vec<(String, String)> = vec![
        ("FRONTDESK_TWILIO__API_BASE".into(), format!("http://{}", fake.addr)),
        ("FRONTDESK_TWILIO__TIMEOUT_SECS".into(), "2".into()),
        ("FRONTDESK_DISPATCHER__RETRY_BASE_MS".into(), "50".into()),
        ("FRONTDESK_DISPATCHER__LEASE_SECS".into(), args.lease_secs.to_string()),
    ];
    if database_url.is_some() {
        // The same key for every restart (the sealed bodies in the database need it).
        extra_env.push(("FRONTDESK_MASTER_KEY".into(), frontdesk_store::MasterKey::generate().to_base64()));
    }
    let config = procs::FrontdeskConfig {
        binary: &binary,
        data_dir: &data_dir,
        addr,
        account_sid: &account_sid,
        auth_token: &auth_token,
        database_url,
        practice_number: PRACTICE,
        extra_env,
        numbers: Vec::new(),
    };
    config.register_numbers()?;
    let token = Arc::new(config.cli(&["token", "create", "--name", "crash-bench"])?.trim().to_string());
    anyhow::ensure!(!token.is_empty(), "`frontdesk token create` printed no token");
    let spec = crate::workload_spec(&addr, &account_sid, &auth_token, PRACTICE, 200);
    let db = match database_url {
        None => Db::Sqlite(data_dir.join("frontdesk.db")),
        Some(url) => Db::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(|e| anyhow::anyhow!("connecting to the scratch database: {e}"))?,
        ),
    };
    eprintln!(
        "crash ({}): {} cycles, {} webhooks/s + {} API senders, server on {addr}, scratch {}",
        if database_url.is_some() { "PostgreSQL" } else { "SQLite" },
        args.cycles,
        args.inbound_rate,
        args.api_connections,
        scratch.path().display()
    );

    let mut attempted: HashSet<String> = HashSet::new();
    let mut acked: HashSet<String> = HashSet::new();
    // A few acknowledged requests, to deliver once more to the last instance.
    let mut redeliver: Vec<load::Prepared> = Vec::new();
    let mut inbound_statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut api_statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut api_unexpected: Vec<String> = Vec::new();
    let mut sends: Vec<ApiSend> = Vec::new();
    let mut kills_mid_handoff = 0u64;
    let mut cycle_rows = Vec::new();
    for cycle in 0..args.cycles {
        let log = scratch.path().join(format!("server-{cycle}.log"));
        let mut server = config.serve(&log).await?;
        let count = ((args.inbound_rate * args.load_secs).round() as usize).max(10);
        let workload = {
            let mut rng = rand::rng();
            load::build(&spec, count, rand::random(), &mut rng)
        };
        let sids: Vec<Option<String>> = workload.requests.iter().map(|p| sid_of(&p.body)).collect();
        attempted.extend(sids.iter().flatten().cloned());
        let requests = Arc::new(workload.requests);
        let acks = Arc::new(load::AckLog::new(Instant::now(), count));
        let run = load::RunSpec {
            addr,
            also: Vec::new(),
            rate: args.inbound_rate,
            count,
            connections: 32,
            hard_limit: Duration::from_secs_f64(args.load_secs * 2.0 + 2.0),
            timeout: Duration::from_secs(5),
            acks: Some(acks.clone()),
        };
        let inbound = {
            let requests = requests.clone();
            tokio::spawn(async move { load::run(&run, requests).await })
        };
        let stop = Arc::new(AtomicBool::new(false));
        let api_limit = Instant::now() + Duration::from_secs_f64(args.load_secs * 2.0 + 10.0);
        let api_tasks: Vec<_> = (0..args.api_connections)
            .map(|task| tokio::spawn(api_sender(addr, token.clone(), cycle, task, stop.clone(), api_limit)))
            .collect();
        // Kill 200 ms to 60% of the load window into steady load (after 20 acknowledgements).
        let warm_deadline = Instant::now() + Duration::from_secs(10);
        while (0..count).filter(|i| acks.get(*i).is_some()).count() < 20 && Instant::now() < warm_deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let max_ms = ((args.load_secs * 600.0) as u64).max(300);
        let kill_after = Duration::from_millis(rand::rng().random_range(200..=max_ms));
        tokio::time::sleep(kill_after).await;
        let slow_now = fake.with_record(|r| r.slow_in_progress);
        kills_mid_handoff += slow_now;
        let alive_before_kill = crate::server_alive(&server);
        let _ = server.child.kill(); // SIGKILL
        let _ = server.child.wait();
        stop.store(true, Ordering::Relaxed);
        let result = tokio::time::timeout(Duration::from_secs_f64(args.load_secs * 3.0 + 15.0), inbound)
            .await
            .map_err(|_| anyhow::anyhow!("the inbound load did not finish after the kill"))???;
        let mut cycle_sends = 0usize;
        for t in api_tasks {
            let out = tokio::time::timeout(Duration::from_secs(15), t)
                .await
                .map_err(|_| anyhow::anyhow!("an API sender did not finish after the kill"))??;
            cycle_sends += out.sends.len();
            sends.extend(out.sends);
            api_unexpected.extend(out.unexpected.into_iter().take(5usize.saturating_sub(api_unexpected.len())));
            for (k, v) in out.statuses {
                *api_statuses.entry(k).or_default() += v;
            }
        }
        let mut cycle_acked = 0usize;
        for (i, sid) in sids.iter().enumerate() {
            if acks.get(i).is_some()
                && let Some(sid) = sid
            {
                cycle_acked += 1;
                if acked.insert(sid.clone()) && redeliver.len() < 40 && i % 7 == 0 {
                    redeliver.push(load::Prepared {
                        body: requests[i].body.clone(),
                        signature: requests[i].signature.clone(),
                    });
                }
            }
        }
        for (status, n) in &result.statuses {
            let key = if *status == 0 { "io_error".to_string() } else { status.to_string() };
            *inbound_statuses.entry(key).or_default() += n;
        }
        eprintln!(
            "crash: cycle {cycle}: killed {} ms into load ({}), {cycle_acked} webhooks acknowledged, \
             {cycle_sends} sends acknowledged, {} Creates at the fake so far, {slow_now} slow Creates in flight",
            kill_after.as_millis(),
            if alive_before_kill { "server was up" } else { "server had ALREADY EXITED" },
            fake.with_record(|r| r.creates)
        );
        cycle_rows.push(json!({"cycle": cycle, "kill_after_ms": kill_after.as_millis() as u64,
            "webhooks_acked": cycle_acked, "sends_acked": cycle_sends, "slow_creates_in_flight": slow_now,
            "alive_before_kill": alive_before_kill}));
    }

    // The last instance runs uninterrupted: redeliveries, then the outbox drains.
    let log = scratch.path().join("server-final.log");
    let mut server = config.serve(&log).await?;
    let mut conn = None;
    let mut redelivered_ok = 0usize;
    for p in &redeliver {
        let request = hyper::Request::post(load::INBOUND_PATH)
            .header(hyper::header::HOST, addr.to_string())
            .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("x-twilio-signature", p.signature.clone())
            .body(http_body_util::Full::new(p.body.clone()))?;
        if let Ok((200, _)) = load::exchange(&mut conn, addr, request, Duration::from_secs(5)).await {
            redelivered_ok += 1;
        }
    }
    let drain_started = Instant::now();
    let drain_deadline = drain_started + Duration::from_secs(args.lease_secs * 3 + 60);
    let mut open_jobs: i64 = -1;
    while Instant::now() < drain_deadline {
        open_jobs = db.open_jobs().await?;
        if open_jobs == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let drain_secs = drain_started.elapsed().as_secs_f64();
    // Late duplicates would show up now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alive = crate::server_alive(&server);
    server.stop(Duration::from_secs(10));
    anyhow::ensure!(alive, "the final server instance exited by itself:\n{}", server.log_tail());

    // ---- what the database holds
    let per_sid = db.inbound_per_sid().await?;
    let inbound_lost: Vec<&String> = acked.iter().filter(|s| !per_sid.contains_key(*s)).collect();
    let inbound_dup: Vec<(&String, i64)> = per_sid.iter().filter(|(_, n)| **n > 1).map(|(s, n)| (s, *n)).collect();
    let strangers = per_sid.keys().filter(|s| !attempted.contains(*s)).count();
    let stored_unacked = per_sid.keys().filter(|s| !acked.contains(*s) && attempted.contains(*s)).count();
    let receipts = db.receipts().await?;
    let acked_without_receipt: Option<Vec<&String>> =
        db.receipt_sids().await?.map(|have| acked.iter().filter(|s| !have.contains(*s)).collect());

    // Outbound rows: hex id → (status, needs_review, provider id).
    let outbound = db.outbound().await?;

    // ---- what reached the fake Twilio
    let (creates, lists, per_message, per_body, sid_by_message, without_id) = fake.with_record(|r| {
        let mut per_message: HashMap<String, u32> = HashMap::new();
        let mut per_body: HashMap<String, u32> = HashMap::new();
        let mut sid_by_message: HashMap<String, Vec<String>> = HashMap::new();
        let mut without_id = 0u64;
        for a in &r.accepted {
            match &a.message_id {
                Some(id) => {
                    let key = id.replace('-', "").to_lowercase();
                    *per_message.entry(key.clone()).or_default() += 1;
                    sid_by_message.entry(key).or_default().push(a.sid.clone());
                }
                None => without_id += 1,
            }
            *per_body.entry(a.body.clone()).or_default() += 1;
        }
        (r.creates, r.lists, per_message, per_body, sid_by_message, without_id)
    });
    let sent_twice: Vec<(&String, &u32)> = per_message.iter().filter(|(_, n)| **n > 1).collect();
    let (mut exactly_once, mut flagged, mut failed, mut lost, mut body_twice) = (0, 0, 0, 0, 0);
    let mut lost_examples = Vec::new();
    let mut flagged_examples = Vec::new();
    for s in &sends {
        let key = s.id.replace('-', "").to_lowercase();
        if per_body.get(&s.body).copied().unwrap_or(0) > 1 {
            body_twice += 1;
        }
        let row = outbound.get(&key);
        match per_message.get(&key).copied().unwrap_or(0) {
            0 => match row {
                Some((_, true, _)) => {
                    flagged += 1;
                    flagged_examples.push(json!({"id": s.id, "status": row.map(|r| r.0.clone())}));
                }
                Some((status, false, _)) if status == "failed" || status == "undelivered" => failed += 1,
                _ => {
                    lost += 1;
                    if lost_examples.len() < 5 {
                        lost_examples.push(json!({"id": s.id, "db_status": row.map(|r| r.0.clone())}));
                    }
                }
            },
            1 => {
                exactly_once += 1;
                if let Some((status, true, _)) = row {
                    flagged += 1;
                    flagged_examples.push(json!({"id": s.id, "status": status, "reached_fake": true}));
                }
            }
            _ => {}
        }
    }
    let needs_review_total = db.needs_review_total().await?;
    if let Db::Postgres(pool) = db {
        pool.close().await;
    }
    let mismatched_sid = sends
        .iter()
        .filter(|s| {
            let key = s.id.replace('-', "").to_lowercase();
            match (outbound.get(&key), sid_by_message.get(&key)) {
                (Some((_, _, Some(stored))), Some(fake)) => !fake.contains(stored),
                _ => false,
            }
        })
        .count();
    let unsent_rows = outbound.values().filter(|(st, _, _)| matches!(st.as_str(), "queued" | "sending")).count();

    let mut rows = Vec::new();
    let zero_inbound = inbound_lost.is_empty()
        && inbound_dup.is_empty()
        && acked_without_receipt.as_ref().is_none_or(|missing| missing.is_empty());
    let zero_outbound = sent_twice.is_empty() && body_twice == 0 && lost == 0;
    rows.push(json!({
        "scenario": if database_url.is_some() { "crash_postgres" } else { "crash_sqlite" },
        "target": format!("{} kill -9 cycles", args.cycles),
        "cycles": args.cycles,
        "inbound_rate": args.inbound_rate,
        "api_connections": args.api_connections,
        "lease_secs": args.lease_secs,
        "inbound_statuses": inbound_statuses,
        "inbound_sids_attempted": attempted.len(),
        "inbound_sids_acked": acked.len(),
        "inbound_sids_stored": per_sid.len(),
        "inbound_stored_not_acked": stored_unacked,
        "inbound_acked_lost": inbound_lost.len(),
        "inbound_lost_examples": inbound_lost.iter().take(5).collect::<Vec<_>>(),
        "inbound_stored_twice": inbound_dup.len(),
        "inbound_strangers": strangers,
        "provider_receipts": receipts,
        "inbound_acked_without_receipt": acked_without_receipt.as_ref().map(Vec::len),
        "redelivered_acked": redeliver.len(),
        "redelivered_ok": redelivered_ok,
    }));
    let extra = json!({
            "api_statuses": api_statuses,
            "api_unexpected_examples": api_unexpected,
            "api_sends_acked": sends.len(),
            "outbound_rows": outbound.len(),
            "outbound_unsent_rows_after_drain": unsent_rows,
            "fake_creates": creates,
            "fake_creates_without_message_id": without_id,
            "fake_list_lookups": lists,
            "kills_with_slow_create_in_flight": kills_mid_handoff,
            "acked_sends_reached_fake_once": exactly_once,
            "acked_sends_flagged_needs_review": flagged,
            "flagged_examples": flagged_examples.into_iter().take(5).collect::<Vec<_>>(),
            "acked_sends_failed": failed,
            "acked_sends_lost": lost,
            "lost_examples": lost_examples,
            "messages_sent_twice": sent_twice.len(),
            "sent_twice_examples": sent_twice.iter().take(5).map(|(k, n)| json!([k, n])).collect::<Vec<_>>(),
            "acked_bodies_sent_twice": body_twice,
            "stored_sid_differs_from_fake": mismatched_sid,
            "outbound_needs_review_total": needs_review_total,
            "outbox_open_jobs_at_end": open_jobs,
            "drain_secs": round(drain_secs, 1),
            "total_secs": round(started.elapsed().as_secs_f64(), 1),
            "per_cycle": cycle_rows,
            "meets_zero_inbound_loss_and_duplicates": zero_inbound,
            "meets_zero_outbound_loss_and_duplicates": zero_outbound,
            "passed": zero_inbound && zero_outbound && open_jobs == 0,
            "load1": procs::load_average(),
    });
    if let (Some(row), Value::Object(extra)) = (rows.last_mut(), extra) {
        if let Value::Object(map) = row {
            map.extend(extra);
        }
        println!("{row}");
    }
    print_table(&rows);
    Ok(())
}

fn print_table(rows: &[Value]) {
    let cell = |v: &Value, key: &str| match v.get(key) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    eprintln!();
    for row in rows {
        for (label, key) in [
            ("target", "target"),
            ("inbound answers", "inbound_statuses"),
            ("inbound MessageSids attempted", "inbound_sids_attempted"),
            ("  acknowledged (200)", "inbound_sids_acked"),
            ("  stored", "inbound_sids_stored"),
            ("  stored but not acknowledged (fine)", "inbound_stored_not_acked"),
            ("  acknowledged but LOST (target 0)", "inbound_acked_lost"),
            ("  stored more than once (target 0)", "inbound_stored_twice"),
            ("  acknowledged without a receipt (target 0)", "inbound_acked_without_receipt"),
            ("  redeliveries of acked sids answered 200", "redelivered_ok"),
            ("API send answers", "api_statuses"),
            ("API sends acknowledged (201)", "api_sends_acked"),
            ("  reached the fake exactly once", "acked_sends_reached_fake_once"),
            ("  flagged needs_review", "acked_sends_flagged_needs_review"),
            ("  failed", "acked_sends_failed"),
            ("  LOST (target 0)", "acked_sends_lost"),
            ("messages sent to the fake twice (target 0)", "messages_sent_twice"),
            ("acked bodies sent twice (target 0)", "acked_bodies_sent_twice"),
            ("fake Create requests / List lookups", "fake_creates"),
            ("  List lookups (reconciliation)", "fake_list_lookups"),
            ("kills with a slow Create in flight", "kills_with_slow_create_in_flight"),
            ("outbox jobs open at the end", "outbox_open_jobs_at_end"),
            ("drain after last restart, s", "drain_secs"),
            ("total, s", "total_secs"),
            ("passed", "passed"),
        ] {
            eprintln!("{label:>46}  {}", cell(row, key));
        }
    }
}
