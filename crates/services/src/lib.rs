//! The use cases of Frontdesk (DESIGN.md §3). Each one orchestrates pure domain rules over the
//! [`Store`] and the providers; web handlers and workers only parse input, call one of these
//! and render the result.
//!
//! - [`inbound`]: a patient's text arrives (dedupe, thread and conversation, keywords, replies).
//! - [`outbound`]: staff, the API or automation send (consent checked here, below every caller).
//! - [`delivery`]: the dispatcher hands one queued message to its provider and records the answer.
//! - [`status`]: provider status callbacks, forward only.
//! - [`accounts`]: users, API tokens, the first admin.
//! - [`patients`], [`numbers`], [`audit`], [`events`].

use std::collections::HashMap;
use std::sync::Arc;

use frontdesk_domain::Region;
use frontdesk_domain::model::ProviderKind;
use frontdesk_providers::SmsProvider;
use frontdesk_store::{Store, StoreError};
use tokio::sync::Notify;

pub mod accounts;
pub mod after_hours;
pub mod assignment;
pub mod audit;
pub mod broadcasts;
pub mod chart;
pub mod consent_review;
pub mod conversations;
pub mod delivery;
pub mod departments;
pub mod error;
pub mod events;
pub mod forms;
pub mod front_door;
pub mod inbound;
pub mod inbox;
pub mod numbers;
pub mod outbound;
pub mod outreach;
pub mod patient_export;
pub mod patient_import;
pub mod patients;
pub mod referrals;
pub mod reports;
pub mod retention;
pub mod search;
pub mod sessions;
pub mod status;
pub mod templates;
pub mod triage;
pub mod urgent;

pub use error::ServiceError;
pub use events::{Event, EventBus, EventKind};

/// What the practice says in the automatic replies the rules require.
#[derive(Debug, Clone)]
pub struct PracticeSettings {
    pub name: String,
    /// Answer to HELP / INFO.
    pub help_text: String,
    /// The one confirmation sent after an opt-out.
    pub opt_out_confirmation: String,
    /// Sent after START / UNSTOP / YES restores consent.
    pub opt_in_confirmation: String,
    /// Region for reading numbers typed without a country code.
    pub default_region: Region,
    /// Public base URL (no trailing slash) that providers call; used for status callbacks.
    pub public_url: Option<String>,
    /// Base URL (no trailing slash) for links texted to patients (secure forms): the public
    /// URL, or else the address the server listens on. Never used for provider callbacks.
    pub links_base_url: Option<String>,
    /// What happens when a staff text looks like it carries health information.
    pub phi_guard: PhiGuardMode,
    /// The practice's time zone: office hours, and night-time notices when a patient's own
    /// zone is unknown.
    pub time_zone: chrono_tz::Tz,
    /// Estimated price of one SMS segment, in US cents, for the composer's cost estimate.
    pub segment_cost_cents: f64,
}

/// The PHI guard (DESIGN.md §6): warn and let staff confirm (audited), or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhiGuardMode {
    Warn,
    Block,
}

impl PhiGuardMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PhiGuardMode::Warn => "warn",
            PhiGuardMode::Block => "block",
        }
    }
}

impl std::str::FromStr for PhiGuardMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "warn" => Ok(PhiGuardMode::Warn),
            "block" => Ok(PhiGuardMode::Block),
            other => Err(format!("unknown PHI guard mode {other:?}; expected warn or block")),
        }
    }
}

impl PracticeSettings {
    pub fn with_name(name: &str) -> PracticeSettings {
        PracticeSettings {
            name: name.to_string(),
            help_text: format!(
                "{name}: text us here for appointments, billing and records. For emergencies call 911. Reply STOP to opt out."
            ),
            opt_out_confirmation: format!(
                "{name}: you are unsubscribed and will receive no more texts from this number. Reply START to resubscribe."
            ),
            opt_in_confirmation: format!("{name}: you are subscribed again. Reply HELP for help, STOP to opt out."),
            default_region: Region::US,
            public_url: None,
            links_base_url: None,
            phi_guard: PhiGuardMode::Warn,
            time_zone: chrono_tz::America::New_York,
            segment_cost_cents: 0.83,
        }
    }
}

/// The providers this instance can send through, by kind.
#[derive(Clone, Default)]
pub struct Providers(HashMap<ProviderKind, Arc<dyn SmsProvider>>);

impl Providers {
    pub fn with(mut self, provider: Arc<dyn SmsProvider>) -> Providers {
        self.0.insert(provider.kind(), provider);
        self
    }

    pub fn get(&self, kind: ProviderKind) -> Option<&Arc<dyn SmsProvider>> {
        self.0.get(&kind)
    }

    pub fn kinds(&self) -> Vec<ProviderKind> {
        self.0.keys().copied().collect()
    }
}

/// Everything a use case needs; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub providers: Providers,
    pub events: EventBus,
    settings: Arc<std::sync::RwLock<Arc<PracticeSettings>>>,
    pub session_policy: sessions::SessionPolicy,
    /// Woken when an outbox job is committed, so the dispatcher need not poll fast.
    pub outbox_signal: Arc<Notify>,
    pub retry: delivery::RetryPolicy,
    /// What the scheduler purges (default: keep everything).
    pub retention: retention::RetentionPolicy,
    numbers: numbers::NumberCache,
    /// Saving conversations to the chart (`[chart]`); `None` when not configured.
    pub chart: Option<Arc<chart::ChartSettings>>,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, providers: Providers, settings: PracticeSettings) -> Services {
        Services {
            store,
            providers,
            events: EventBus::new(),
            settings: Arc::new(std::sync::RwLock::new(Arc::new(settings))),
            session_policy: sessions::SessionPolicy::default(),
            outbox_signal: Arc::new(Notify::new()),
            retry: delivery::RetryPolicy::default(),
            retention: retention::RetentionPolicy::default(),
            numbers: numbers::NumberCache::default(),
            chart: None,
        }
    }
}

impl Services {
    /// The practice settings in force now (admins can change them while the server runs).
    pub fn settings(&self) -> Arc<PracticeSettings> {
        self.settings.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn replace_settings(&self, settings: PracticeSettings) {
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ServiceError::Unavailable(m),
            StoreError::Conflict(what) => ServiceError::Conflict(format!("{what} already exists")),
            StoreError::Aborted(m) => ServiceError::Invalid { field: "request".into(), message: m },
            StoreError::Corrupt(m) => ServiceError::Internal(format!("stored data could not be read: {m}")),
            StoreError::Other(m) => ServiceError::Internal(m),
        }
    }
}

/// The current time at the precision every store keeps (milliseconds), so a value returned
/// at creation equals the value read back later.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::DurationRound;
    let t = chrono::Utc::now();
    t.duration_trunc(chrono::TimeDelta::milliseconds(1)).unwrap_or(t)
}
