//! Assembles Frontdesk from its settings: data directory, master key, store, providers,
//! services, web router and workers. Tests build the same app on port 0.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use frontdesk_domain::Region;
use frontdesk_domain::model::User;
use frontdesk_providers::bandwidth::{BandwidthClient, BandwidthConfig, CallbackCredentials};
use frontdesk_providers::simulator::{Simulator, SimulatorConfig, SimulatorFeeds};
use frontdesk_providers::telnyx::{PublicKey, TelnyxClient, TelnyxConfig};
use frontdesk_providers::twilio::client::{TwilioClient, TwilioConfig};
use frontdesk_services::delivery::RetryPolicy;
use frontdesk_services::sessions::SessionPolicy;
use frontdesk_services::{PracticeSettings, Providers, Services};
use frontdesk_store::Vault;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Settings;
use crate::keys::{self, KeySource};
use crate::web::{self, AppState, simulator::SimulatorWeb};
use crate::workers::{dispatcher::Dispatcher, event_relay, gauges, snooze};

/// The store and services over a data directory, without the web layer: what every CLI
/// command needs.
pub struct Core {
    pub services: Services,
    pub key_source: KeySource,
    simulator: Option<(Simulator, SimulatorFeeds)>,
}

impl Core {
    pub async fn open(settings: &Settings) -> anyhow::Result<Core> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("could not create the data directory {}", settings.data_dir.display()))?;
        let (master, key_source) = keys::load_or_create(settings).map_err(anyhow::Error::msg)?;
        let vault = Arc::new(Vault::new(&master));
        let store =
            frontdesk_store::connect(&settings.database_url(), vault).await.context("could not open the database")?;

        let mut providers = Providers::default();
        if let (Some(sid), Some(token)) = (&settings.twilio.account_sid, &settings.twilio.auth_token) {
            let mut config = TwilioConfig::new(sid.clone(), token.clone());
            if let Some(base) = &settings.twilio.api_base {
                config.api_base = base.trim_end_matches('/').to_string();
            }
            if let Some(secs) = settings.twilio.timeout_secs {
                config.timeout = Duration::from_secs(secs);
            }
            let client = TwilioClient::new(config).map_err(|e| anyhow::anyhow!("twilio: {e}"))?;
            providers = providers.with(Arc::new(client));
        }
        if settings.telnyx_enabled()
            && let Some(key) = &settings.telnyx.api_key
        {
            let mut config = TelnyxConfig::new(key.clone());
            if let Some(base) = &settings.telnyx.api_base {
                config.api_base = base.trim_end_matches('/').to_string();
            }
            if let Some(secs) = settings.telnyx.timeout_secs {
                config.timeout = Duration::from_secs(secs);
            }
            let client = TelnyxClient::new(config).map_err(|e| anyhow::anyhow!("telnyx: {e}"))?;
            providers = providers.with(Arc::new(client));
        }
        if settings.bandwidth_enabled() {
            let b = &settings.bandwidth;
            let config = BandwidthConfig {
                account_id: b.account_id.clone().unwrap_or_default(),
                username: b.username.clone().unwrap_or_default(),
                password: b.password.clone().unwrap_or_default(),
                application_id: b.application_id.clone().unwrap_or_default(),
                api_base: b
                    .api_base
                    .as_deref()
                    .map_or(BandwidthConfig::DEFAULT_API_BASE, |u| u.trim_end_matches('/'))
                    .to_string(),
                timeout: b.timeout_secs.map_or(BandwidthConfig::DEFAULT_TIMEOUT, Duration::from_secs),
            };
            let client = BandwidthClient::new(config).map_err(|e| anyhow::anyhow!("bandwidth: {e}"))?;
            providers = providers.with(Arc::new(client));
        }
        let simulator = settings.simulator_enabled().then(|| {
            let mut config = SimulatorConfig::default();
            if let Some(ms) = settings.simulator.sent_after_ms {
                config.sent_after = Duration::from_millis(ms);
            }
            if let Some(ms) = settings.simulator.delivered_after_ms {
                config.delivered_after = Duration::from_millis(ms);
            }
            Simulator::with_config(config)
        });
        if let Some((sim, _)) = &simulator {
            providers = providers.with(Arc::new(sim.clone()));
        }
        let mut services = Services::new(store, providers, practice_settings(settings));
        let d = &settings.dispatcher;
        services.retry = RetryPolicy {
            base: Duration::from_millis(d.retry_base_ms.max(1)),
            cap: Duration::from_secs(d.retry_cap_secs.max(1)),
            max_attempts: d.max_attempts.max(1),
        };
        let s = &settings.sessions;
        services.session_policy = SessionPolicy {
            idle: chrono::TimeDelta::minutes(i64::from(s.idle_minutes.max(1))),
            absolute: chrono::TimeDelta::hours(i64::from(s.absolute_hours.max(1))),
            max_failures: s.max_failures.max(1) as i32,
            lockout: chrono::TimeDelta::minutes(i64::from(s.lockout_minutes)),
            require_totp_for_admins: s.require_totp_for_admins,
        };
        let r = &settings.retention;
        services.retention = frontdesk_services::retention::RetentionPolicy {
            messages_days: r.messages_days,
            media_days: r.media_days,
            forms_days: r.forms_days,
            batch_size: r.batch_size.clamp(1, 10_000),
            ..Default::default()
        };
        if let Some(url) = &settings.chart.fhir_base_url {
            let c = &settings.chart;
            services.chart = Some(Arc::new(frontdesk_services::chart::ChartSettings {
                fhir_base_url: url.trim_end_matches('/').to_string(),
                bearer_token: c.bearer_token.clone(),
                on_close: c.on_close,
                retry_base: Duration::from_millis(c.retry_base_ms.max(1)),
                retry_cap: Duration::from_secs(c.retry_cap_secs.max(1)),
                max_attempts: c.max_attempts.max(1),
            }));
        }
        services.load_stored_settings().await.context("could not read the stored practice settings")?;
        Ok(Core { services, key_source, simulator })
    }
}

fn practice_settings(settings: &Settings) -> PracticeSettings {
    let p = &settings.practice;
    let mut practice = PracticeSettings::with_name(&p.name);
    if let Some(t) = &p.help_text {
        practice.help_text = t.clone();
    }
    if let Some(t) = &p.opt_out_confirmation {
        practice.opt_out_confirmation = t.clone();
    }
    if let Some(t) = &p.opt_in_confirmation {
        practice.opt_in_confirmation = t.clone();
    }
    practice.default_region = Region::from_code(&settings.default_region).unwrap_or_default();
    practice.public_url = settings.public_url.as_ref().map(|u| u.trim_end_matches('/').to_string());
    // Form links must be absolute to work on a phone: without a public URL, the address the
    // server listens on (reachable on the practice's network at least).
    practice.links_base_url = practice.public_url.clone().or_else(|| links_base_from_listen(&settings.listen));
    practice
}

/// `http://{listen}` for a listen address; an unspecified host (`0.0.0.0`, `[::]`) becomes
/// the loopback, since a wildcard is not an address anyone can visit.
fn links_base_from_listen(listen: &str) -> Option<String> {
    let listen = listen.trim();
    if listen.is_empty() {
        return None;
    }
    let listen = listen.trim_start_matches("http://").trim_end_matches('/');
    let fixed = if let Some(port) = listen.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{port}")
    } else if let Some(port) = listen.strip_prefix("[::]:") {
        format!("[::1]:{port}")
    } else {
        listen.to_string()
    };
    Some(format!("http://{fixed}"))
}

/// How long a claimed job stays reserved. It must outlast a provider call by a wide margin:
/// a lease that expires while its send is still in flight lets another instance take the
/// job (it would reconcile, but the provider may not list the message yet). So it is at
/// least three times the longest provider timeout, and never under 5 s.
fn lease_secs(settings: &Settings) -> u64 {
    let longest_timeout = [settings.twilio.timeout_secs, settings.telnyx.timeout_secs, settings.bandwidth.timeout_secs]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(15);
    settings.dispatcher.lease_secs.max(longest_timeout * 3).max(5)
}

/// One Prometheus recorder per process (tests start several apps in one process).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; then ours just stays unused.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The whole server, ready to serve.
pub struct App {
    pub services: Services,
    pub router: Router,
    /// The first admin, created on an empty database, with its one-time password.
    pub bootstrap_admin: Option<(User, String)>,
    pub key_source: KeySource,
    settings: Settings,
    simulator_reports: Option<tokio::sync::mpsc::UnboundedReceiver<frontdesk_providers::StatusReport>>,
}

impl App {
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        let core = Core::open(&settings).await?;
        let services = core.services;
        // The numbering-plan metadata loads on first use (~0.5 s); pay that before the first
        // webhook rather than during it.
        let _ = frontdesk_domain::E164::parse("+12127365000", frontdesk_domain::Region::US);
        let bootstrap_admin = services.bootstrap_admin().await.context("could not create the first admin")?;

        let mut simulator_web = None;
        let mut simulator_reports = None;
        if let Some((sim, feeds)) = core.simulator {
            let number = services.ensure_simulator_number().await.context("could not set up the simulator's number")?;
            simulator_web = Some(SimulatorWeb { simulator: sim, practice_number: number.e164 });
            simulator_reports = Some(feeds.status_reports);
        }

        let state = AppState {
            services: services.clone(),
            twilio_auth_token: settings.twilio.auth_token.as_deref().map(Arc::from),
            telnyx_public_key: match (&settings.telnyx.public_key, settings.telnyx_enabled()) {
                (Some(key), true) => Some(PublicKey::from_base64(key).map_err(|e| anyhow::anyhow!("telnyx: {e}"))?),
                _ => None,
            },
            bandwidth_callback: settings.bandwidth_enabled().then(|| {
                Arc::new(CallbackCredentials {
                    username: settings.bandwidth.callback_username.clone().unwrap_or_default(),
                    password: settings.bandwidth.callback_password.clone().unwrap_or_default(),
                })
            }),
            public_url: settings.public_url.as_deref().map(|u| Arc::from(u.trim_end_matches('/'))),
            metrics: metrics_handle(),
            simulator: simulator_web,
        };
        Ok(App {
            services,
            router: web::router(state),
            bootstrap_admin,
            key_source: core.key_source,
            settings,
            simulator_reports,
        })
    }

    /// Serves HTTP on `listener` and runs the workers until `shutdown` resolves; then stops
    /// accepting, lets requests and deliveries in progress finish, and returns.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut workers = tokio::task::JoinSet::new();
        let dispatcher = Dispatcher::new(
            self.services.clone(),
            self.settings.dispatcher.provider_concurrency,
            Duration::from_secs(lease_secs(&self.settings)),
        );
        workers.spawn(dispatcher.run(stop_rx.clone()));
        workers.spawn(gauges::run(self.services.clone(), stop_rx.clone()));
        let retention_every = Duration::from_secs(u64::from(self.settings.retention.interval_minutes.max(1)) * 60);
        workers.spawn(snooze::run(self.services.clone(), retention_every, stop_rx.clone()));
        workers.spawn(event_relay::run(self.services.clone(), stop_rx.clone()));
        if self.services.chart.is_some() {
            let timeout = Duration::from_secs(self.settings.chart.timeout_secs.max(1));
            workers.spawn(crate::workers::chart_sync::run(self.services.clone(), timeout, stop_rx.clone()));
        }
        if let Some(mut reports) = self.simulator_reports.take() {
            let services = self.services.clone();
            let mut stop = stop_rx.clone();
            workers.spawn(async move {
                loop {
                    tokio::select! {
                        report = reports.recv() => match report {
                            Some(report) => {
                                if let Err(e) = services.apply_status(report).await {
                                    tracing::warn!(error = %e, "simulator status could not be applied");
                                }
                            }
                            None => return,
                        },
                        _ = stop.changed() => return,
                    }
                }
            });
        }

        let mut http_stop = stop_rx.clone();
        let server = axum::serve(listener, self.router.clone()).with_graceful_shutdown(async move {
            let _ = http_stop.changed().await;
        });
        let signal = tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let result = server.await.context("the HTTP server failed");
        signal.abort();
        while workers.join_next().await.is_some() {}
        result
    }
}
