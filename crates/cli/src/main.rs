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
    /// Show how a text would be encoded and split into segments, as JSON.
    Segments {
        /// The text (quote it).
        text: String,
    },
    /// Write a consistent copy of the database to FILE (SQLite).
    Backup { file: PathBuf },
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
        Command::Backup { file } => {
            let core = Core::open(&load()?).await?;
            core.services.store.backup(&file).await.with_context(|| format!("backup to {} failed", file.display()))?;
            eprintln!(
                "Wrote a backup to {}. Keep the master key too: the backup is encrypted with it.",
                file.display()
            );
            Ok(())
        }
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
    let app = App::build(settings).await?;

    if app.key_source == KeySource::Generated {
        eprintln!(
            "\nGenerated a new master key in {}. Back it up now: without it, the messages in this database cannot be read.",
            data_dir.join(frontdesk_server::keys::KEY_FILE_NAME).display()
        );
    }
    if let Some((user, password)) = &app.bootstrap_admin {
        eprintln!(
            "\nCreated the first admin account.\n  email:    {}\n  password: {password}\nThis password is shown only once.",
            user.email
        );
    }
    eprintln!("\nFrontdesk is listening on http://{address}");
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
