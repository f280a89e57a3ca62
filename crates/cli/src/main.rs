//! `frontdesk`: one binary for the server and its administration (DESIGN.md §5).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use frontdesk_domain::model::{ProviderKind, Role};
use frontdesk_server::app::{App, Core};
use frontdesk_server::keys::KeySource;
use frontdesk_server::{Settings, logging};
use frontdesk_services::audit::Actor;
use frontdesk_services::numbers::NewNumber;

mod audit_verify;
mod import_referrals;
mod progress;

#[derive(Parser)]
#[command(name = "frontdesk", version, about = "Two-way SMS for medical practices")]
struct Cli {
    /// TOML configuration file (default: ./frontdesk.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server and the workers.
    Serve {
        /// Address to listen on (overrides FRONTDESK_LISTEN).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage the practice's phone numbers.
    Number {
        #[command(subcommand)]
        command: NumberCommand,
    },
    /// Manage departments (conversations are routed to them; staff can be limited to them).
    Department {
        #[command(subcommand)]
        command: DepartmentCommand,
    },
    /// Show how a text would be encoded and split into segments, as JSON.
    Segments {
        /// The text (quote it).
        text: String,
    },
    /// Write a consistent copy of the database to FILE (SQLite).
    Backup { file: PathBuf },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Import data from files.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain of the audit log; exits non-zero naming the first altered,
    /// inserted or deleted entry.
    Verify,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import patients from a CSV file or a FHIR R4 Bundle of Patient (JSON, detected by
    /// content). Matches by MRN, then name + date of birth, then phone (prospective
    /// patients); a match is updated (blanks never overwrite), not duplicated. Prints a report
    /// naming every rejected row with its line number and reason.
    Patients {
        file: PathBuf,
        /// Report what would be created and updated; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Read a column as a field, e.g. --map "Pt Surname=last_name" (fields: first_name,
        /// last_name, birth_date, mrn, phone, status, language, time_zone, ignore).
        #[arg(long = "map", value_name = "COLUMN=FIELD")]
        map: Vec<String>,
        /// Print the report as JSON on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Import referrals from a CSV file (patient columns plus `source` and `reason`) or a
    /// FHIR R4 Bundle of ServiceRequest + Patient. Patients are matched like `import
    /// patients` or created as prospective; each referral is texted within minutes.
    Referrals {
        file: PathBuf,
        /// Report what would be created; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Copy all data from a SQLite database into an empty PostgreSQL database, then compare
    /// the row counts of every table. Stop the server first; keep the same master key.
    Copy {
        /// The SQLite database to read (opened read-only), e.g. sqlite:///srv/frontdesk-data/frontdesk.db.
        #[arg(long, value_name = "SQLITE_URL")]
        from: String,
        /// The empty PostgreSQL database to fill, e.g. postgres://frontdesk@db.internal/frontdesk.
        #[arg(long, value_name = "POSTGRES_URL")]
        to: String,
        /// Read and count everything and check the target, but write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Rows per INSERT statement.
        #[arg(long, default_value_t = frontdesk_store::copy::DEFAULT_BATCH_SIZE, value_name = "ROWS")]
        batch_size: usize,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from stdin (or asked for on a terminal).
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "staff", value_parser = ["admin", "staff", "auditor"])]
        role: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it (only this once) on stdout.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum DepartmentCommand {
    /// Add a department and print its id on stdout, e.g. `frontdesk department add "Billing"`.
    Add {
        /// The name (1 to 60 characters, unique regardless of case).
        name: String,
    },
}

#[derive(Subcommand)]
enum NumberCommand {
    /// Register a number, e.g. `frontdesk number add +15551234567 --provider twilio`.
    Add {
        number: String,
        #[arg(long, value_parser = ["twilio", "telnyx", "bandwidth", "simulator"])]
        provider: String,
        /// Messages per second this number may send (default 1, a US long code).
        #[arg(long)]
        rate: Option<f64>,
        /// Twilio Messaging Service (MG...) to send through.
        #[arg(long)]
        messaging_service_sid: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    let load = || Settings::load(config.as_deref()).map_err(anyhow::Error::msg);
    match cli.command {
        Command::Segments { text } => segments(&text),
        Command::Serve { listen } => {
            let mut settings = load()?;
            if let Some(listen) = listen {
                settings.listen = listen;
            }
            serve(settings).await
        }
        Command::User { command: UserCommand::Add { email, name, role } } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let password = read_password()?;
            let core = Core::open(&load()?).await?;
            let user = core.services.create_user(&email, &name, role, &password, Actor::System).await?;
            eprintln!("Added {} ({}) as {}.", user.name, user.email, user.role);
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { name } } => {
            let core = Core::open(&load()?).await?;
            let (token, secret) = core.services.create_api_token(&name, None, Actor::System).await?;
            eprintln!("Created API token {:?} ({}). It is shown only now; store it safely.", token.name, token.id);
            println!("{secret}");
            Ok(())
        }
        Command::Number { command: NumberCommand::Add { number, provider, rate, messaging_service_sid } } => {
            let provider: ProviderKind = provider.parse().map_err(anyhow::Error::msg)?;
            let core = Core::open(&load()?).await?;
            let input = NewNumber { e164: number, provider, messaging_service_sid, rate_limit_per_sec: rate };
            let added = core.services.add_number(input, Actor::System).await?;
            eprintln!("Added {} ({}, {} msg/s).", added.e164.as_str(), added.provider, added.rate_limit_per_sec);
            Ok(())
        }
        Command::Department { command: DepartmentCommand::Add { name } } => {
            let core = Core::open(&load()?).await?;
            let added = core.services.add_department_as(&name, Actor::System, None).await?;
            eprintln!("Added the department {:?}.", added.name);
            println!("{}", added.id);
            Ok(())
        }
        Command::Backup { file } => {
            let core = Core::open(&load()?).await?;
            core.services.store.backup(&file).await.with_context(|| format!("backup to {} failed", file.display()))?;
            eprintln!(
                "Wrote a backup to {}. Keep the master key too: the backup is encrypted with it.",
                file.display()
            );
            Ok(())
        }
        Command::Db { command: DbCommand::Copy { from, to, dry_run, batch_size } } => {
            db_copy(&from, &to, dry_run, batch_size).await
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let core = Core::open(&load()?).await?;
            audit_verify::run(&*core.services.store).await
        }
        Command::Import { command: ImportCommand::Patients { file, dry_run, map, json } } => {
            let mut mapping = Vec::new();
            for m in &map {
                mapping.push(
                    frontdesk_domain::patient_import::parse_mapping(m).map_err(|e| anyhow::anyhow!("--map: {e}"))?,
                );
            }
            let bytes = std::fs::read(&file).with_context(|| format!("could not read {}", file.display()))?;
            let core = Core::open(&load()?).await?;
            import_patients(&core, &bytes, mapping, dry_run, json).await
        }
        Command::Import { command: ImportCommand::Referrals { file, dry_run, json } } => {
            let bytes = std::fs::read(&file).with_context(|| format!("could not read {}", file.display()))?;
            let core = Core::open(&load()?).await?;
            import_referrals::run(&core, &bytes, dry_run, json).await
        }
    }
}

async fn import_patients(
    core: &Core,
    bytes: &[u8],
    mapping: Vec<(String, frontdesk_domain::patient_import::Field)>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    use frontdesk_services::patient_import::{ImportOptions, RowAction};
    let progress = crate::progress::ImportProgress::new(dry_run, "rows");
    let options = ImportOptions { mapping, dry_run };
    let report = core
        .services
        .import_patients(bytes, &options, Actor::System, None, &|done, total| progress.report(done, total))
        .await;
    progress.finish();
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let would = if dry_run { "would be " } else { "" };
    let place = match report.format {
        frontdesk_domain::patient_import::Format::Csv => "line",
        frontdesk_domain::patient_import::Format::Fhir => "entry",
    };
    println!(
        "{} rows read ({:?}): {} {would}created, {} {would}updated, {} unchanged, {} rejected.",
        report.rows,
        report.format,
        report.created,
        report.updated,
        report.unchanged,
        report.rejected.len()
    );
    if !report.ignored_columns.is_empty() {
        println!("Ignored columns (no field; map them with --map COLUMN=FIELD): {}", report.ignored_columns.join(", "));
    }
    for r in &report.rejected {
        println!("rejected {place} {}: {}", r.line, r.reason);
    }
    const SHOWN: usize = 200;
    for (action, label) in [(RowAction::Updated, "update"), (RowAction::Created, "create")] {
        let rows: Vec<_> = report.outcomes.iter().filter(|o| o.action == action).collect();
        for o in rows.iter().take(SHOWN) {
            let by = o.matched_by.map(|b| format!(" (matched by {b:?})")).unwrap_or_default();
            println!("{label} {place} {}{by}", o.line);
        }
        if rows.len() > SHOWN {
            println!("… and {} more rows to {label} (use --json for all)", rows.len() - SHOWN);
        }
    }
    for o in report.outcomes.iter().filter(|o| !o.conflicts.is_empty()) {
        println!("conflict {place} {}: {}", o.line, o.conflicts.join("; "));
    }
    if dry_run {
        println!("Dry run: nothing was written.");
    }
    Ok(())
}

async fn db_copy(from: &str, to: &str, dry_run: bool, batch_size: usize) -> anyhow::Result<()> {
    use frontdesk_store::copy::{self, CopyOptions, Progress};
    use std::io::Write as _;

    if !copy::is_sqlite_url(from) {
        bail!(
            "--from must be a SQLite database (sqlite://PATH), not {}; `db copy` moves data from SQLite to PostgreSQL only",
            redact_url(from)
        );
    }
    if !copy::is_postgres_url(to) {
        bail!(
            "--to must be a PostgreSQL database (postgres://USER@HOST/DB), not {}; `db copy` moves data from SQLite to PostgreSQL only",
            redact_url(to)
        );
    }
    eprintln!("{} {} to {}", if dry_run { "Dry run: reading" } else { "Copying" }, redact_url(from), redact_url(to));
    let live = std::io::stderr().is_terminal();
    let mut on_progress = |p: &Progress<'_>| {
        let rate = if p.rows > 0 { format!("{:>9} rows/s", group(p.rows_per_sec() as u64)) } else { String::new() };
        let line = format!("  {:<18} {:>10} / {:<10} {rate}", p.table, group(p.rows), group(p.total));
        let mut err = std::io::stderr().lock();
        if p.done {
            let _ = writeln!(err, "{}{line}", if live { "\r\x1b[2K" } else { "" });
        } else if live {
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        }
    };
    let options = CopyOptions { dry_run, batch_size };
    let report = copy::sqlite_to_postgres(from, to, &options, &mut on_progress).await?;

    println!("{:<18} {:>12} {:>12}  check", "table", "sqlite", if dry_run { "read" } else { "postgres" });
    for t in &report.tables {
        let other = match t.target {
            Some(n) => n,
            None => t.copied,
        };
        println!(
            "{:<18} {:>12} {:>12}  {}",
            t.table,
            group(t.source),
            group(other),
            if t.matches() { "ok" } else { "MISMATCH" }
        );
    }
    let total: u64 = report.total_rows();
    let secs = report.elapsed.as_secs_f64();
    if !report.verified() {
        let names: Vec<&str> = report.mismatches().iter().map(|t| t.table).collect();
        bail!("verification failed: the row counts differ for {}", names.join(", "));
    }
    if dry_run {
        eprintln!(
            "Dry run finished in {secs:.1}s: {} rows readable; the target is reachable and empty{}. Nothing was written.",
            group(total),
            if report.target_had_schema { "" } else { " (its schema will be created by the copy)" }
        );
    } else {
        eprintln!(
            "Copied {} rows in {secs:.1}s; every table has the same number of rows on both sides.\n\
             Next: point FRONTDESK_DATABASE_URL at the PostgreSQL database and start frontdesk with the SAME master key.",
            group(total)
        );
    }
    Ok(())
}

/// 1234567 as "1,234,567".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The URL with any password replaced, for messages.
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!("{}{}:***{}", &url[..scheme_end], &authority[..colon], &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn segments(text: &str) -> anyhow::Result<()> {
    let info = frontdesk_domain::sms::analyze(text);
    let smart = frontdesk_domain::sms::smart_encode(text);
    let mut value = serde_json::to_value(&info)?;
    if let (Some(obj), Some(smart)) = (value.as_object_mut(), smart) {
        obj.insert(
            "smart_encoding".into(),
            serde_json::json!({ "text": smart.text, "encoding": smart.after.encoding, "segments": smart.after.segments }),
        );
    }
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password (at least 12 characters): ")?
    } else {
        let mut buf = String::new();
        std::io::stdin().read_to_string(&mut buf).context("could not read the password from stdin")?;
        buf.lines().next().unwrap_or("").to_string()
    };
    if password.is_empty() {
        bail!("no password given; pipe it on stdin or type it at the prompt");
    }
    Ok(password)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    logging::init(&settings.log_format);
    for name in frontdesk_server::config::unknown_env_vars() {
        tracing::warn!(variable = %name, "unknown FRONTDESK_ variable ignored; check its spelling (nested keys use __)");
    }
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("could not listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let data_dir = settings.data_dir.clone();
    let simulator = settings.simulator_enabled();
    let totp_first =
        if settings.sessions.require_totp_for_admins { "; you will set up two-factor sign-in first" } else { "" };
    let app = App::build(settings).await?;

    if app.key_source == KeySource::Generated {
        eprintln!(
            "\nGenerated a new master key in {}. Back it up now: without it, the messages in this database cannot be read.",
            data_dir.join(frontdesk_server::keys::KEY_FILE_NAME).display()
        );
    }
    if let Some((user, password)) = &app.bootstrap_admin {
        eprintln!(
            "\nCreated the first admin account.\n  email:    {}\n  password: {password}\nThis password is shown only once. Sign in at http://{address}/login{totp_first}.",
            user.email
        );
    }
    eprintln!("\nFrontdesk is listening on http://{address} (staff inbox: http://{address}/)");
    if simulator {
        eprintln!(
            "No SMS provider is configured, so the simulator is on: text the practice at http://{address}/simulator"
        );
    }
    app.serve(listener, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
