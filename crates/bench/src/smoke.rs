//! `frontdesk-bench smoke`: every scenario once, in its quick mode, as a CI smoke check of the
//! harness and of the binary under test (CI passes the debug build). Each scenario runs as a
//! child process (this binary again) with its own time limit; its JSON lines are read back
//! and checked for losses, duplicates and rejected requests only. There are no latency or
//! throughput thresholds: a debug build on a busy CI machine is expected to be slow.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};

use crate::round;

#[derive(Args, Clone)]
pub struct SmokeArgs {
    /// The frontdesk binary under test (default: target/release/frontdesk; CI passes
    /// target/debug/frontdesk).
    #[arg(long)]
    frontdesk_bin: Option<PathBuf>,
    /// Hard limit on each scenario, seconds (it is killed there and the smoke run fails).
    #[arg(long, default_value_t = 90)]
    scenario_limit_secs: u64,
    /// Only these scenarios (comma-separated: inbound,outbound,live,crash,dataset).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// What went wrong in one figure line, if anything.
fn problems(row: &Value) -> Vec<String> {
    let n = |key: &str| row.get(key).and_then(Value::as_u64).unwrap_or(0);
    let scenario = row.get("scenario").and_then(Value::as_str).unwrap_or("");
    let mut out = Vec::new();
    let mut nonzero = |key: &str, what: &str| {
        if n(key) > 0 {
            out.push(format!("{scenario}: {} {what}", n(key)));
        }
    };
    // inbound steps: every webhook answered 200 and sent.
    nonzero("errors", "webhooks not acknowledged with 200");
    nonzero("not_sent", "webhooks not sent in time");
    // outbound.
    nonzero("losses", "messages lost");
    if scenario.starts_with("outbound") {
        nonzero("duplicates", "messages sent twice");
    }
    // live and the dashboard's live part.
    nonzero("missed", "events never received");
    nonzero("subscriber_errors", "subscribers failed");
    nonzero("webhooks_not_sent", "webhooks not sent in time");
    // crash.
    nonzero("inbound_acked_lost", "acknowledged webhooks lost");
    nonzero("inbound_stored_twice", "webhooks stored twice");
    nonzero("acked_sends_lost", "acknowledged sends lost");
    nonzero("messages_sent_twice", "messages sent twice");
    nonzero("acked_bodies_sent_twice", "bodies sent twice");
    out
}

pub fn run(args: SmokeArgs) -> anyhow::Result<()> {
    let binary = args.frontdesk_bin.clone().unwrap_or_else(crate::default_frontdesk_bin);
    anyhow::ensure!(
        binary.is_file(),
        "{} not found: build it first (cargo build -p frontdesk) or pass --frontdesk-bin",
        binary.display()
    );
    let bin = binary.to_string_lossy().to_string();
    let exe = std::env::current_exe().context("finding this binary")?;
    let scenarios: Vec<(&str, Vec<&str>)> = vec![
        ("inbound", vec!["inbound", "--quick", "--frontdesk-bin", &bin]),
        ("outbound", vec!["outbound", "--quick", "--frontdesk-bin", &bin]),
        ("live", vec!["live", "--quick", "--frontdesk-bin", &bin]),
        ("crash", vec!["crash", "--cycles", "2", "--load-secs", "1.5", "--frontdesk-bin", &bin]),
        // Smaller than `dataset --quick`: the smoke run checks the harness, not the figures.
        (
            "dataset",
            vec![
                "dataset",
                "--quick",
                "--conversations",
                "1000",
                "--messages",
                "10000",
                "--pages",
                "--frontdesk-bin",
                &bin,
            ],
        ),
    ];
    let started = Instant::now();
    eprintln!(
        "frontdesk-bench smoke: {} against {}, load average {:?}",
        scenarios.iter().map(|s| s.0).collect::<Vec<_>>().join(", "),
        binary.display(),
        crate::procs::load_average()
    );
    let mut summary = Vec::new();
    let mut failures = Vec::new();
    for (name, argv) in scenarios {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        let t = Instant::now();
        eprintln!("\n==> smoke: {name}");
        let mut child = Command::new(&exe)
            .args(&argv)
            .env_remove("FRONTDESK_BENCH_POSTGRES_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting the {name} scenario"))?;
        let pid = child.id();
        let stdout = child.stdout.take().context("no stdout")?;
        let reader = std::thread::spawn(move || {
            let mut rows = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{line}");
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    rows.push(v);
                }
            }
            rows
        });
        let limit = Duration::from_secs(args.scenario_limit_secs);
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break Some(s);
            }
            if t.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let rows = reader.join().unwrap_or_default();
        let secs = round(t.elapsed().as_secs_f64(), 1);
        let mut found: Vec<String> = rows.iter().flat_map(problems).collect();
        match status {
            None => found.push(format!("{name}: killed after {} s (process {pid})", args.scenario_limit_secs)),
            Some(s) if !s.success() => found.push(format!("{name}: exited with {s}")),
            Some(_) if rows.is_empty() => found.push(format!("{name}: printed no figures")),
            Some(_) => {}
        }
        eprintln!("smoke: {name} took {secs} s: {}", if found.is_empty() { "ok".into() } else { found.join("; ") });
        summary.push(json!({"scenario": name, "secs": secs, "rows": rows.len(), "ok": found.is_empty()}));
        failures.extend(found);
    }
    let total = round(started.elapsed().as_secs_f64(), 1);
    let row = json!({
        "scenario": "smoke",
        "target": "every scenario, quick",
        "frontdesk_bin": binary.display().to_string(),
        "total_secs": total,
        "scenarios": summary,
        "problems": failures,
        "passed": failures.is_empty(),
        "load1": crate::procs::load_average(),
    });
    println!("{row}");
    eprintln!();
    for s in row["scenarios"].as_array().into_iter().flatten() {
        eprintln!(
            "{:>10} {:>6} s  {}",
            s["scenario"].as_str().unwrap_or(""),
            s["secs"],
            if s["ok"] == json!(true) { "ok" } else { "FAILED" }
        );
    }
    eprintln!("{:>10} {:>6} s  {}", "smoke", total, if failures.is_empty() { "ok" } else { "FAILED" });
    anyhow::ensure!(failures.is_empty(), "smoke run failed: {}", failures.join("; "));
    Ok(())
}
