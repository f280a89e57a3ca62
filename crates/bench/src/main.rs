//! `frontdesk-bench`: load benchmarks for Frontdesk with baselines measured in the same run.
//!
//! `frontdesk-bench inbound --rate 1000 --duration 10` or `frontdesk-bench inbound --find-max`
//! spawns an already-built release `frontdesk` on a free loopback port with a temporary data
//! directory, and sends it signed Twilio inbound webhooks at a constant arrival rate (open
//! loop). The same generator drives a trivial endpoint (baseline 1), and the disk under the
//! data directory is measured for durable appends (baseline 2). Every step prints one JSON
//! line on stdout; a readable table goes to stderr at the end. The exit status is non-zero
//! only when the harness itself fails, never for a missed target.
//!
//! `frontdesk-bench outbound` enqueues messages through the API across many rate-limited
//! senders and lets the real dispatcher hand them to a fake, slow, often-refusing Twilio in
//! this process (`fake_twilio`); `frontdesk-bench live` holds SSE subscribers on
//! `/api/v1/events` while the inbound generator runs. `frontdesk-bench crash` kills the server
//! with SIGKILL under mixed load, restarts it on the same data, and checks for losses and
//! duplicates; `frontdesk-bench dataset` generates a million messages through the store and
//! measures the dashboard's reads on them (with `--pages`, also the pages as the real server
//! renders them to a signed-in staff member, and the dashboard's live-event latency).
//! `inbound` and `outbound` take `--instances 2` with `--database-url` (two servers on one
//! PostgreSQL database). `frontdesk-bench smoke` runs every scenario in a quick mode as a CI
//! check without thresholds. See docs/BENCHMARKS.md.

mod api;
mod crash;
mod dataset;
mod disk;
mod fake_twilio;
mod live;
mod load;
mod outbound;
mod pages;
mod procs;
mod smoke;
mod trivial;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "frontdesk-bench", about = "Load benchmarks for Frontdesk, with same-run baselines")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Signed Twilio inbound webhooks, durably committed before the acknowledgement.
    Inbound(InboundArgs),
    /// Outbound messages across many rate-limited senders to a fake, failing Twilio.
    Outbound(outbound::OutboundArgs),
    /// SSE subscribers on /api/v1/events while inbound webhooks run at a fixed rate.
    Live(live::LiveArgs),
    /// kill -9 the server under mixed inbound and outbound load, restart it, repeat; then
    /// check that nothing acknowledged was lost and nothing was sent twice.
    Crash(crash::CrashArgs),
    /// Generate 100,000 conversations and 1,000,000 messages through the store, then
    /// measure the inbox, conversation page and search reads, and resident memory.
    Dataset(dataset::DatasetArgs),
    /// The measuring half of `dataset` (started by it; not for direct use).
    #[command(hide = true)]
    DatasetMeasure(dataset::MeasureArgs),
    /// Every scenario once in a quick mode (about a minute in all), against a given binary
    /// (CI passes the debug build); fails only when the harness fails or a scenario reports
    /// losses, duplicates or rejected requests. No latency or throughput thresholds.
    Smoke(smoke::SmokeArgs),
    /// Only the raw durable-write rate of the disk under DIR.
    Disk {
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        #[arg(long, default_value_t = 3.0)]
        secs: f64,
    },
    /// The trivial baseline server (started by `inbound`; not for direct use).
    #[command(hide = true)]
    TrivialServer {
        #[arg(long)]
        listen: SocketAddr,
    },
}

#[derive(Args, Clone)]
struct InboundArgs {
    /// Constant arrival rate, requests per second (ignored with --find-max).
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Seconds at that rate.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Step the rate up (1000, 2000, 3000, ...) until p99 exceeds the target or requests
    /// fail, and report the highest rate sustained.
    #[arg(long)]
    find_max: bool,
    /// Seconds per step of --find-max.
    #[arg(long, default_value_t = 5.0)]
    step_secs: f64,
    /// Upper bound on the whole run's measuring time, seconds (each target is cut off there).
    #[arg(long, default_value_t = 240.0)]
    max_total_secs: f64,
    /// The p99 latency a step must stay within to count as sustained, milliseconds.
    #[arg(long, default_value_t = 25.0)]
    p99_target_ms: f64,
    /// The release binary under test (default: target/release/frontdesk of this workspace).
    #[arg(long)]
    frontdesk_bin: Option<PathBuf>,
    /// Run against PostgreSQL: a fresh database fd_bench_<random> is created on this server
    /// and dropped afterwards.
    #[arg(long)]
    database_url: Option<String>,
    /// Keep-alive connections, each carrying one request at a time.
    #[arg(long, default_value_t = 128)]
    connections: usize,
    /// Distinct patients texting in.
    #[arg(long, default_value_t = 5000)]
    patients: usize,
    /// Skip the trivial-endpoint and disk baselines.
    #[arg(long)]
    skip_baselines: bool,
    /// Do not count fsyncs with `perf stat`.
    #[arg(long)]
    no_fsync_count: bool,
    /// Frontdesk instances serving the same PostgreSQL database (needs --database-url when
    /// more than 1): each on its own port, with the same master key and public URL;
    /// requests alternate between them and the figures are combined.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// A smoke run of a few seconds: 200 /s for 3 s on 16 connections, no baselines, no
    /// fsync counting (overrides those options).
    #[arg(long)]
    quick: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::TrivialServer { listen } => trivial::serve(listen),
        Command::Disk { dir, secs } => disk_baseline(&dir, secs).map(|rows| print_table(&rows)),
        Command::Inbound(args) => runtime().and_then(|rt| rt.block_on(inbound(args))),
        Command::Outbound(args) => runtime().and_then(|rt| rt.block_on(outbound::run(args))),
        Command::Live(args) => runtime().and_then(|rt| rt.block_on(live::run(args))),
        Command::Crash(args) => runtime().and_then(|rt| rt.block_on(crash::run(args))),
        Command::Dataset(args) => runtime().and_then(|rt| rt.block_on(dataset::run(args))),
        Command::Smoke(args) => smoke::run(args),
        Command::DatasetMeasure(args) => runtime().and_then(|rt| rt.block_on(dataset::measure_main(args))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("frontdesk-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Prints one figure line as JSON on stdout and keeps it for the table.
fn emit(rows: &mut Vec<Value>, row: Value) {
    println!("{row}");
    rows.push(row);
}

fn disk_baseline(dir: &Path, secs: f64) -> anyhow::Result<Vec<Value>> {
    let mut rows = Vec::new();
    for batch in [1usize, 100] {
        let r = disk::durable_appends(dir, batch, Duration::from_secs_f64(secs), 1_000_000)?;
        emit(
            &mut rows,
            json!({
                "scenario": "baseline_disk",
                "target": format!("fdatasync every {batch} x {} B", disk::RECORD_BYTES),
                "batch": batch,
                "record_bytes": disk::RECORD_BYTES,
                "syncs_per_sec": round(r.syncs_per_sec(), 0),
                "records_per_sec": round(r.records_per_sec(), 0),
                "secs": round(r.elapsed.as_secs_f64(), 2),
                "load1": procs::load_average(),
            }),
        );
    }
    Ok(rows)
}

fn default_frontdesk_bin() -> PathBuf {
    // crates/bench → the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/frontdesk")
}

fn random_alnum(len: usize) -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect()
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn ms(us: u64) -> f64 {
    round(us as f64 / 1000.0, 2)
}

/// Ramp of --find-max.
const RAMP: &[f64] = &[
    1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0, 8000.0, 10000.0, 12000.0, 16000.0, 20000.0, 24000.0, 32000.0,
    40000.0,
];

struct Target<'a> {
    name: &'a str,
    server: &'a procs::Server,
    /// More instances on the same database; requests alternate across all of them.
    also: &'a [procs::Server],
    /// Unique MessageSids and realistic duplicates matter; the trivial server reuses a pool.
    unique: bool,
    count_fsyncs: bool,
}

struct Step {
    rate: f64,
    achieved: f64,
    p99_ms: f64,
    passed: bool,
    row: Value,
}

async fn inbound(mut args: InboundArgs) -> anyhow::Result<()> {
    if args.quick {
        args.rate = 200.0;
        args.duration = 3.0;
        args.find_max = false;
        args.connections = 16;
        args.patients = 200;
        args.skip_baselines = true;
        args.no_fsync_count = true;
    }
    anyhow::ensure!((1..=8).contains(&args.instances), "--instances must be 1..=8");
    anyhow::ensure!(
        args.instances == 1 || args.database_url.is_some(),
        "--instances above 1 needs --database-url (instances share one PostgreSQL database)"
    );
    let binary = args.frontdesk_bin.clone().unwrap_or_else(default_frontdesk_bin);
    anyhow::ensure!(
        binary.is_file(),
        "{} not found: build it first with `cargo build --release -p frontdesk` or pass --frontdesk-bin",
        binary.display()
    );
    let scratch = tempfile::Builder::new().prefix("frontdesk-bench-").tempdir()?;
    let data_dir = scratch.path().join("data");
    std::fs::create_dir_all(&data_dir)?;
    let mut rows: Vec<Value> = Vec::new();
    let run_started = Instant::now();
    eprintln!(
        "frontdesk-bench inbound: {} on {} cores, load average {:?}, scratch {}",
        binary.display(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        procs::load_average(),
        scratch.path().display()
    );

    if !args.skip_baselines {
        rows.extend(disk_baseline(&data_dir, 3.0)?);
    }

    let account_sid = format!("AC{}", random_hex(32));
    let auth_token = random_hex(32);
    let practice_number = "+12125550100".to_string();
    let rates: Vec<f64> = if args.find_max { RAMP.to_vec() } else { vec![args.rate] };
    let secs = if args.find_max { args.step_secs } else { args.duration };
    let budget = Duration::from_secs_f64(args.max_total_secs);

    // Baseline 1: the trivial endpoint, same generator, same rates.
    let mut trivial_steps: BTreeMap<u64, Step> = BTreeMap::new();
    if !args.skip_baselines {
        let server = procs::start_trivial(scratch.path()).await?;
        let target =
            Target { name: "baseline_trivial", server: &server, also: &[], unique: false, count_fsyncs: false };
        let spec = workload_spec(&server.addr, &account_sid, &auth_token, &practice_number, args.patients);
        let steps = ramp(&args, &target, &spec, &rates, secs, budget, None, &mut rows).await?;
        for s in steps {
            trivial_steps.insert(s.rate as u64, s);
        }
    }

    // The real thing.
    let pg = match &args.database_url {
        Some(url) => Some(PgDatabase::create(url).await?),
        None => None,
    };
    let outcome = async {
        let addr = procs::free_loopback_addr()?;
        // Several instances: the same master key, and the same public URL (the one the
        // webhooks are signed to, as behind a load balancer).
        let mut extra_env = Vec::new();
        if args.instances > 1 {
            extra_env.push(("FRONTDESK_MASTER_KEY".to_string(), frontdesk_store::MasterKey::generate().to_base64()));
            extra_env.push(("FRONTDESK_PUBLIC_URL".to_string(), format!("http://{addr}")));
        }
        let config = procs::FrontdeskConfig {
            binary: &binary,
            data_dir: &data_dir,
            addr,
            account_sid: &account_sid,
            auth_token: &auth_token,
            database_url: pg.as_ref().map(|p| p.url.as_str()),
            practice_number: &practice_number,
            extra_env: extra_env.clone(),
            numbers: Vec::new(),
        };
        let server = config.start().await?;
        let others = procs::start_more_instances(&config, args.instances - 1, scratch.path()).await?;
        let name = match (pg.is_some(), args.instances) {
            (false, _) => "inbound_sqlite".to_string(),
            (true, 1) => "inbound_postgres".to_string(),
            (true, n) => format!("inbound_postgres_x{n}"),
        };
        let target = Target {
            name: &name,
            server: &server,
            also: &others,
            unique: true,
            count_fsyncs: !args.no_fsync_count && pg.is_none(),
        };
        let spec = workload_spec(&server.addr, &account_sid, &auth_token, &practice_number, args.patients);
        let steps = ramp(&args, &target, &spec, &rates, secs, budget, Some(&trivial_steps), &mut rows).await?;
        let alive = server_alive(&server) && others.iter().all(server_alive);
        drop(others);
        drop(server);
        anyhow::ensure!(alive, "frontdesk exited during the run");
        anyhow::Ok((name, steps))
    }
    .await;
    if let Some(pg) = pg {
        pg.drop_database().await;
    }
    let (name, steps) = outcome?;

    // The summary: best sustained rate, best throughput, ratios to the trivial endpoint.
    let sustained = steps.iter().filter(|s| s.passed).map(|s| s.rate).fold(0.0, f64::max);
    let max_achieved = steps.iter().map(|s| s.achieved).fold(0.0, f64::max);
    let trivial_sustained = trivial_steps.values().filter(|s| s.passed).map(|s| s.rate).fold(0.0, f64::max);
    let trivial_max = trivial_steps.values().map(|s| s.achieved).fold(0.0, f64::max);
    let at_1000 = steps.iter().find(|s| (s.rate - 1000.0).abs() < 0.5).map(|s| s.p99_ms);
    let ratio = |a: f64, b: f64| (b > 0.0).then(|| round(a / b, 3));
    emit(
        &mut rows,
        json!({
            "scenario": format!("{name}_summary"),
            "target": if args.find_max { "find-max".to_string() } else { format!("{} /s", args.rate) },
            "max_sustained_rate": sustained,
            "max_achieved_rps": round(max_achieved, 0),
            "p99_ms_at_1000": at_1000,
            "trivial_max_sustained_rate": (!trivial_steps.is_empty()).then_some(trivial_sustained),
            "trivial_max_achieved_rps": (!trivial_steps.is_empty()).then_some(round(trivial_max, 0)),
            "sustained_ratio_to_trivial": ratio(sustained, trivial_sustained),
            "throughput_ratio_to_trivial": ratio(max_achieved, trivial_max),
            "p99_target_ms": args.p99_target_ms,
            "instances": args.instances,
            "meets_5000_per_sec": sustained >= 5000.0,
            "meets_p99_at_1000": at_1000.map(|p| p <= 25.0),
            "total_secs": round(run_started.elapsed().as_secs_f64(), 1),
            "load1": procs::load_average(),
        }),
    );
    print_table(&rows);
    Ok(())
}

fn server_alive(server: &procs::Server) -> bool {
    Path::new(&format!("/proc/{}", server.pid())).exists()
}

fn random_hex(len: usize) -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)])).collect()
}

fn workload_spec(addr: &SocketAddr, sid: &str, token: &str, number: &str, patients: usize) -> load::WorkloadSpec {
    load::WorkloadSpec {
        auth_token: token.to_string(),
        account_sid: sid.to_string(),
        public_url: format!("http://{addr}"),
        practice_number: number.to_string(),
        patients,
        duplicate_share: 0.05,
        media_share: 0.1,
    }
}

/// Runs the rates in order; with --find-max stops after the first failing step (after one
/// bisection step between the last pass and the first failure) or when the budget is spent.
#[allow(clippy::too_many_arguments)]
async fn ramp(
    args: &InboundArgs,
    target: &Target<'_>,
    spec: &load::WorkloadSpec,
    rates: &[f64],
    secs: f64,
    budget: Duration,
    trivial: Option<&BTreeMap<u64, Step>>,
    rows: &mut Vec<Value>,
) -> anyhow::Result<Vec<Step>> {
    let started = Instant::now();
    let mut steps: Vec<Step> = Vec::new();
    let mut queue: Vec<f64> = rates.to_vec();
    queue.reverse();
    let mut bisected = false;
    while let Some(rate) = queue.pop() {
        if started.elapsed() + Duration::from_secs_f64(secs) > budget {
            eprintln!("{}: time budget spent, stopping before {rate} /s", target.name);
            break;
        }
        let base = trivial.and_then(|t| t.get(&(rate as u64)));
        let step = run_step(args, target, spec, rate, secs, base).await?;
        let passed = step.passed;
        emit(rows, step.row.clone());
        steps.push(step);
        if args.find_max && !passed {
            let best = steps.iter().filter(|s| s.passed).map(|s| s.rate).fold(0.0, f64::max);
            let mid = ((best + rate) / 2.0 / 500.0).round() * 500.0;
            if !bisected && best > 0.0 && mid > best && mid < rate {
                bisected = true;
                queue.clear();
                queue.push(mid);
                continue;
            }
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(steps)
}

async fn run_step(
    args: &InboundArgs,
    target: &Target<'_>,
    spec: &load::WorkloadSpec,
    rate: f64,
    secs: f64,
    trivial: Option<&Step>,
) -> anyhow::Result<Step> {
    let count = ((rate * secs).round() as usize).max(1);
    let pool = if target.unique { count } else { count.min(20_000) };
    let tag: u32 = rand::random();
    let workload = {
        let mut rng = rand::rng();
        load::build(spec, pool, tag, &mut rng)
    };
    let (duplicates, with_media, mean_body) = (workload.duplicates, workload.with_media, workload.mean_body_bytes);
    let requests = Arc::new(workload.requests);
    let run = load::RunSpec {
        addr: target.server.addr,
        also: target.also.iter().map(|s| s.addr).collect(),
        rate,
        count,
        connections: args.connections,
        hard_limit: Duration::from_secs_f64(secs * 3.0 + 5.0),
        timeout: Duration::from_secs(30),
        acks: None,
    };
    let pid = target.server.pid();
    let pids: Vec<u32> = std::iter::once(pid).chain(target.also.iter().map(|s| s.pid())).collect();
    let cpu_all = || pids.iter().map(|p| procs::cpu_seconds(*p)).sum::<Option<f64>>();
    let load1 = procs::load_average();
    let fsyncs = if target.count_fsyncs { procs::FsyncCounter::start(pid, Path::new("/tmp")) } else { None };
    let (cpu0, self0, syscw0) = (cpu_all(), procs::cpu_seconds(std::process::id()), procs::write_syscalls(pid));
    let wall = Instant::now();
    let result = load::run(&run, requests).await?;
    let wall = wall.elapsed().as_secs_f64();
    let (cpu1, self1, syscw1) = (cpu_all(), procs::cpu_seconds(std::process::id()), procs::write_syscalls(pid));
    let fsync_count = fsyncs.and_then(|f| f.finish());

    let ok = result.statuses.get(&200).copied().unwrap_or(0);
    let errors = result.completed as u64 - ok;
    let elapsed = result.elapsed.as_secs_f64();
    let achieved = ok as f64 / elapsed;
    let h = &result.latency;
    let p99 = ms(h.value_at_quantile(0.99));
    let passed = errors == 0 && result.not_sent == 0 && p99 <= args.p99_target_ms && achieved >= rate * 0.95;
    let statuses: BTreeMap<String, u64> =
        result.statuses.iter().map(|(k, v)| (if *k == 0 { "io_error".into() } else { k.to_string() }, *v)).collect();
    let cores = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| round((b - a) / wall, 2));
    let mut row = json!({
        "scenario": target.name,
        "target": format!("{rate} /s"),
        "rate_target": rate,
        "duration_secs": secs,
        "requests": count,
        "achieved_rps": round(achieved, 0),
        "p50_ms": ms(h.value_at_quantile(0.50)),
        "p90_ms": ms(h.value_at_quantile(0.90)),
        "p99_ms": p99,
        "p999_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
        "service_p50_ms": ms(result.service.value_at_quantile(0.50)),
        "service_p99_ms": ms(result.service.value_at_quantile(0.99)),
        "max_send_lag_ms": round(result.max_send_lag.as_secs_f64() * 1000.0, 2),
        "errors": errors,
        "not_sent": result.not_sent,
        "statuses": statuses,
        "duplicates": if target.unique { Some(duplicates) } else { None },
        "with_media": if target.unique { Some(with_media) } else { None },
        "mean_body_bytes": mean_body,
        "connections": args.connections,
        "instances": pids.len(),
        "cpu_cores": cores(cpu0, cpu1),
        "bench_cpu_cores": cores(self0, self1),
        "write_syscalls_per_sec": syscw0.zip(syscw1).map(|(a, b)| round((b - a) as f64 / wall, 0)),
        "fsyncs_per_sec": fsync_count.map(|n| round(n as f64 / wall, 0)),
        "passed": passed,
        "load1": load1,
    });
    if let Some(base) = trivial {
        row["trivial_achieved_rps"] = json!(round(base.achieved, 0));
        row["trivial_p99_ms"] = json!(base.p99_ms);
        row["achieved_ratio_to_trivial"] = json!((base.achieved > 0.0).then(|| round(achieved / base.achieved, 3)));
        row["p99_ratio_to_trivial"] = json!((base.p99_ms > 0.0).then(|| round(p99 / base.p99_ms, 2)));
    }
    eprintln!(
        "{:>18} {:>7} /s: achieved {:>7.0} /s, p99 {:>8.2} ms, errors {}, not sent {}{}",
        target.name,
        rate,
        achieved,
        p99,
        errors,
        result.not_sent,
        if passed { "" } else { "  (not sustained)" }
    );
    Ok(Step { rate, achieved, p99_ms: p99, passed, row })
}

/// A fresh PostgreSQL database for one run, dropped afterwards.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> anyhow::Result<PgDatabase> {
        use sqlx::Connection as _;
        let mut parsed = url::Url::parse(admin_url).context("--database-url is not a URL")?;
        anyhow::ensure!(matches!(parsed.scheme(), "postgres" | "postgresql"), "--database-url must be postgres://...");
        let host = parsed.host_str().unwrap_or("");
        anyhow::ensure!(
            matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]"),
            "--database-url must point at a loopback address, not {host}"
        );
        let name = format!("fd_bench_{}", random_alnum(10));
        let mut conn = sqlx::PgConnection::connect(admin_url).await.context("connecting to PostgreSQL")?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
        conn.close().await.ok();
        parsed.set_path(&format!("/{name}"));
        Ok(PgDatabase { admin_url: admin_url.to_string(), name, url: parsed.to_string() })
    }

    async fn drop_database(self) {
        use sqlx::Connection as _;
        match sqlx::PgConnection::connect(&self.admin_url).await {
            Ok(mut conn) => {
                if let Err(e) =
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)))
                        .execute(&mut conn)
                        .await
                {
                    eprintln!("frontdesk-bench: could not drop database {}: {e}", self.name);
                }
                conn.close().await.ok();
            }
            Err(e) => eprintln!("frontdesk-bench: could not drop database {}: {e}", self.name),
        }
    }
}

/// The readable table, on stderr (stdout carries only the JSON lines).
fn print_table(rows: &[Value]) {
    let cell = |v: &Value, key: &str| match v.get(key) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let columns = [
        ("scenario", 24),
        ("target", 26),
        ("achieved_rps", 9),
        ("p50_ms", 8),
        ("p99_ms", 8),
        ("max_ms", 9),
        ("errors", 6),
        ("cpu_cores", 5),
        ("fsyncs_per_sec", 7),
        ("achieved_ratio_to_trivial", 6),
        ("passed", 6),
    ];
    let headers = ["scenario", "target", "rps", "p50 ms", "p99 ms", "max ms", "err", "cpu", "fsync/s", "x triv", "ok"];
    eprintln!();
    let mut line = String::new();
    for ((_, w), h) in columns.iter().zip(headers) {
        line.push_str(&format!("{h:>w$} ", w = *w));
    }
    eprintln!("{line}");
    for row in rows {
        let mut line = String::new();
        let disk = row.get("scenario").and_then(Value::as_str) == Some("baseline_disk");
        for (key, w) in columns {
            let value = if disk && key == "achieved_rps" { cell(row, "records_per_sec") } else { cell(row, key) };
            line.push_str(&format!("{value:>w$} "));
        }
        if let Some(s) = row.get("max_sustained_rate") {
            line = format!(
                "{:>24} max sustained {} /s (trivial {}), max throughput {} /s (trivial {}), p99 at 1000/s {} ms",
                cell(row, "scenario"),
                s,
                cell(row, "trivial_max_sustained_rate"),
                cell(row, "max_achieved_rps"),
                cell(row, "trivial_max_achieved_rps"),
                cell(row, "p99_ms_at_1000")
            );
        }
        eprintln!("{line}");
    }
}
