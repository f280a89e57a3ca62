//! Configuration (DESIGN.md §5, contract): a TOML file overlaid by `FRONTDESK_*` environment
//! variables, nested keys separated by `__`, secrets also readable from `*_FILE` paths.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the SQLite database, the generated master key and backups live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; SQLite in the data dir when absent.
    pub database_url: Option<String>,
    pub listen: String,
    /// The URL providers call (scheme, host, optional port; no trailing slash). Signatures are
    /// checked against it, so behind a proxy it must be the public one.
    pub public_url: Option<String>,
    pub master_key: Option<String>,
    pub master_key_file: Option<PathBuf>,
    /// ISO country code for numbers typed without a country code.
    pub default_region: String,
    /// `text` (default) or `json`.
    pub log_format: String,
    pub practice: PracticeConfig,
    pub twilio: TwilioConfig,
    pub telnyx: TelnyxConfig,
    pub bandwidth: BandwidthConfig,
    pub simulator: SimulatorConfig,
    pub dispatcher: DispatcherConfig,
    pub sessions: SessionsConfig,
    pub retention: RetentionConfig,
    pub chart: ChartConfig,
}

/// `[retention]`: days to keep each kind of record; absent keeps it forever (the default).
/// The scheduler purges in batches; a legal hold on a patient keeps theirs. The audit log is
/// always kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    pub messages_days: Option<u32>,
    pub media_days: Option<u32>,
    pub forms_days: Option<u32>,
    /// Rows removed per transaction.
    pub batch_size: u32,
    /// Minutes between purge runs.
    pub interval_minutes: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            messages_days: None,
            media_days: None,
            forms_days: None,
            batch_size: 500,
            interval_minutes: 60,
        }
    }
}

/// Saving conversations to the chart: a FHIR R4 endpoint that accepts transaction Bundles.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChartConfig {
    /// The FHIR server's base URL; saving to the chart is off when absent.
    pub fhir_base_url: Option<String>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    /// Save every conversation when it is closed (otherwise only on demand).
    pub on_close: bool,
    /// First wait after a temporary failure (network, 429, 5xx), in milliseconds; doubles.
    pub retry_base_ms: u64,
    /// Longest wait between attempts, in seconds.
    pub retry_cap_secs: u64,
    /// Attempts before an export is given up as failed.
    pub max_attempts: i64,
    /// Seconds to wait for the FHIR server's answer.
    pub timeout_secs: u64,
}

impl Default for ChartConfig {
    fn default() -> Self {
        ChartConfig {
            fhir_base_url: None,
            bearer_token: None,
            bearer_token_file: None,
            on_close: true,
            retry_base_ms: 2000,
            retry_cap_secs: 600,
            max_attempts: 20,
            timeout_secs: 30,
        }
    }
}

impl std::fmt::Debug for ChartConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChartConfig")
            .field("fhir_base_url", &self.fhir_base_url)
            .field("bearer_token", &redacted(&self.bearer_token))
            .field("bearer_token_file", &self.bearer_token_file)
            .field("on_close", &self.on_close)
            .field("retry_base_ms", &self.retry_base_ms)
            .field("retry_cap_secs", &self.retry_cap_secs)
            .field("max_attempts", &self.max_attempts)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// Staff sign-in (HIPAA automatic logoff and lockout).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// Minutes without activity before a person is signed out.
    pub idle_minutes: u32,
    /// Hours after which a session ends whatever the activity.
    pub absolute_hours: u32,
    /// Failed sign-ins in a row before the account is locked.
    pub max_failures: u32,
    pub lockout_minutes: u32,
    /// Admins must set up two-factor sign-in before anything else.
    pub require_totp_for_admins: bool,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            idle_minutes: 15,
            absolute_hours: 12,
            max_failures: 5,
            lockout_minutes: 15,
            require_totp_for_admins: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PracticeConfig {
    pub name: String,
    pub help_text: Option<String>,
    pub opt_out_confirmation: Option<String>,
    pub opt_in_confirmation: Option<String>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioConfig {
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    pub auth_token_file: Option<PathBuf>,
    /// Base URL of Twilio's REST API; tests point it at a local fake.
    pub api_base: Option<String>,
    /// Seconds to wait for an answer from Twilio's API.
    pub timeout_secs: Option<u64>,
}

/// Telnyx Messaging v2 (reference/sms.md §2).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelnyxConfig {
    /// API v2 key (Bearer) for sending.
    pub api_key: Option<String>,
    pub api_key_file: Option<PathBuf>,
    /// The account's base64 Ed25519 public key, to verify webhooks.
    pub public_key: Option<String>,
    /// Base URL of Telnyx's API; tests point it at a local fake.
    pub api_base: Option<String>,
    pub timeout_secs: Option<u64>,
}

/// Secrets never reach logs or error messages through `{:?}`.
fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|u| u.split('@').next_back().unwrap_or("")))
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("master_key", &redacted(&self.master_key))
            .field("master_key_file", &self.master_key_file)
            .field("default_region", &self.default_region)
            .field("log_format", &self.log_format)
            .field("practice", &self.practice)
            .field("twilio", &self.twilio)
            .field("telnyx", &self.telnyx)
            .field("bandwidth", &self.bandwidth)
            .field("simulator", &self.simulator)
            .field("dispatcher", &self.dispatcher)
            .field("sessions", &self.sessions)
            .field("retention", &self.retention)
            .field("chart", &self.chart)
            .finish()
    }
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &redacted(&self.auth_token))
            .field("auth_token_file", &self.auth_token_file)
            .field("api_base", &self.api_base)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl std::fmt::Debug for TelnyxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_key_file", &self.api_key_file)
            .field("public_key", &self.public_key)
            .field("api_base", &self.api_base)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// Bandwidth Messaging v2 (reference/sms.md §3).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BandwidthConfig {
    pub account_id: Option<String>,
    /// API user credentials for sending.
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    /// The messaging application whose callback URL is `{public_url}/webhooks/bandwidth`.
    pub application_id: Option<String>,
    /// The HTTP Basic credentials set on that application's callbacks.
    pub callback_username: Option<String>,
    pub callback_password: Option<String>,
    pub callback_password_file: Option<PathBuf>,
    pub api_base: Option<String>,
    pub timeout_secs: Option<u64>,
}

impl std::fmt::Debug for BandwidthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("BandwidthConfig")
            .field("account_id", &self.account_id)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("password_file", &self.password_file)
            .field("application_id", &self.application_id)
            .field("callback_username", &self.callback_username)
            .field("callback_password", &redacted(&self.callback_password))
            .field("callback_password_file", &self.callback_password_file)
            .field("api_base", &self.api_base)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorConfig {
    /// On by default when no real provider is configured; `false` turns it off, `true` keeps it
    /// on beside a real provider.
    pub enabled: Option<bool>,
    /// Milliseconds before the simulated carrier reports `sent` and then `delivered`.
    pub sent_after_ms: Option<u64>,
    pub delivered_after_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatcherConfig {
    /// Hand-offs in progress at once, per provider.
    pub provider_concurrency: usize,
    /// Seconds a claimed job stays reserved for this instance.
    pub lease_secs: u64,
    /// First wait after a temporary provider error, in milliseconds; doubles per attempt.
    pub retry_base_ms: u64,
    /// Longest wait between attempts, in seconds.
    pub retry_cap_secs: u64,
    /// Attempts before a message is given up as failed.
    pub max_attempts: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./frontdesk-data"),
            database_url: None,
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            master_key: None,
            master_key_file: None,
            default_region: "US".into(),
            log_format: "text".into(),
            practice: PracticeConfig::default(),
            twilio: TwilioConfig::default(),
            telnyx: TelnyxConfig::default(),
            bandwidth: BandwidthConfig::default(),
            simulator: SimulatorConfig::default(),
            dispatcher: DispatcherConfig::default(),
            sessions: SessionsConfig::default(),
            retention: RetentionConfig::default(),
            chart: ChartConfig::default(),
        }
    }
}

impl Default for PracticeConfig {
    fn default() -> Self {
        PracticeConfig {
            name: "Frontdesk Demo Clinic".into(),
            help_text: None,
            opt_out_confirmation: None,
            opt_in_confirmation: None,
        }
    }
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            provider_concurrency: 16,
            lease_secs: 300,
            retry_base_ms: 2000,
            retry_cap_secs: 300,
            max_attempts: 10,
        }
    }
}

/// Environment variables that are ours but not settings (read by tests and benchmarks).
const EXTRA_KNOWN_VARS: &[&str] = &["FRONTDESK_TEST_POSTGRES_URL", "FRONTDESK_BENCH_POSTGRES_URL", "FRONTDESK_LOG"];

impl Settings {
    /// Reads the file (when given, or `frontdesk.toml` when present) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, String> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(format!("configuration file {} does not exist", path.display()));
                }
                figment = figment.merge(Toml::file(path));
            }
            None if Path::new("frontdesk.toml").exists() => figment = figment.merge(Toml::file("frontdesk.toml")),
            None => {}
        }
        // Unknown variables are left out here and reported by `unknown_env_vars` instead, so a
        // typo in the environment is a warning, not a refusal to start.
        let known = known_env_vars();
        let env = Env::prefixed("FRONTDESK_")
            .filter(move |k| {
                let name = format!("FRONTDESK_{}", k.as_str().to_uppercase());
                known.contains(&name) && !EXTRA_KNOWN_VARS.contains(&name.as_str())
            })
            .split("__");
        figment = figment.merge(env);
        let mut settings: Settings = figment.extract().map_err(|e| format!("configuration error: {e}"))?;
        settings.read_secret_files()?;
        settings.validate()?;
        Ok(settings)
    }

    fn read_secret_files(&mut self) -> Result<(), String> {
        if self.twilio.auth_token.is_none()
            && let Some(path) = &self.twilio.auth_token_file
        {
            self.twilio.auth_token = Some(read_secret(path)?);
        }
        if self.telnyx.api_key.is_none()
            && let Some(path) = &self.telnyx.api_key_file
        {
            self.telnyx.api_key = Some(read_secret(path)?);
        }
        if self.bandwidth.password.is_none()
            && let Some(path) = &self.bandwidth.password_file
        {
            self.bandwidth.password = Some(read_secret(path)?);
        }
        if self.bandwidth.callback_password.is_none()
            && let Some(path) = &self.bandwidth.callback_password_file
        {
            self.bandwidth.callback_password = Some(read_secret(path)?);
        }
        if self.chart.bearer_token.is_none()
            && let Some(path) = &self.chart.bearer_token_file
        {
            self.chart.bearer_token = Some(read_secret(path)?);
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.chart.fhir_base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!("chart.fhir_base_url must start with http:// or https://, got {url:?}"));
        }
        frontdesk_domain::Region::from_code(&self.default_region).map_err(|e| format!("default_region: {e}"))?;
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!("public_url must start with http:// or https://, got {url:?}"));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(format!("log_format must be text or json, got {:?}", self.log_format));
        }
        let t = &self.twilio;
        if t.account_sid.is_some() != t.auth_token.is_some() {
            return Err("twilio: set both account_sid and auth_token (or auth_token_file)".into());
        }
        if let Some(sid) = &t.account_sid
            && !(sid.starts_with("AC") && sid.len() == 34)
        {
            return Err("twilio.account_sid must start with AC and have 34 characters".into());
        }
        self.validate_telnyx()?;
        self.validate_bandwidth()
    }

    fn validate_telnyx(&self) -> Result<(), String> {
        let t = &self.telnyx;
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !set(&t.api_key) && !set(&t.public_key) {
            if t.api_base.is_some() || t.timeout_secs.is_some() {
                return Err("telnyx: api_base or timeout_secs is set, but api_key and public_key are not".into());
            }
            return Ok(());
        }
        if !set(&t.api_key) {
            return Err("telnyx: public_key is set but api_key (or api_key_file) is missing; both are needed".into());
        }
        if !set(&t.public_key) {
            return Err("telnyx: api_key is set but public_key is missing; webhooks cannot be verified without the \
                 account's public key (Mission Control, Keys & Credentials)"
                .into());
        }
        if let Some(key) = &t.public_key {
            frontdesk_providers::telnyx::PublicKey::from_base64(key).map_err(|e| format!("telnyx.public_key: {e}"))?;
        }
        if t.timeout_secs == Some(0) {
            return Err("telnyx.timeout_secs must be more than zero".into());
        }
        Ok(())
    }

    fn validate_bandwidth(&self) -> Result<(), String> {
        let b = &self.bandwidth;
        let fields: [(&str, &Option<String>); 6] = [
            ("account_id", &b.account_id),
            ("username", &b.username),
            ("password (or password_file)", &b.password),
            ("application_id", &b.application_id),
            ("callback_username", &b.callback_username),
            ("callback_password (or callback_password_file)", &b.callback_password),
        ];
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let missing: Vec<&str> = fields.iter().filter(|(_, v)| !set(v)).map(|(n, _)| *n).collect();
        if missing.len() == fields.len() {
            if b.api_base.is_some() || b.timeout_secs.is_some() {
                return Err("bandwidth: api_base or timeout_secs is set, but the account is not configured".into());
            }
            return Ok(());
        }
        if !missing.is_empty() {
            return Err(format!("bandwidth is half-configured: also set {}", missing.join(", ")));
        }
        if let Some(id) = &b.account_id
            && !id.trim().bytes().all(|c| c.is_ascii_alphanumeric())
        {
            return Err("bandwidth.account_id must be letters and digits".into());
        }
        if b.timeout_secs == Some(0) {
            return Err("bandwidth.timeout_secs must be more than zero".into());
        }
        Ok(())
    }

    pub fn twilio_enabled(&self) -> bool {
        self.twilio.account_sid.is_some() && self.twilio.auth_token.is_some()
    }

    pub fn telnyx_enabled(&self) -> bool {
        self.telnyx.api_key.is_some() && self.telnyx.public_key.is_some()
    }

    pub fn bandwidth_enabled(&self) -> bool {
        let b = &self.bandwidth;
        b.account_id.is_some()
            && b.username.is_some()
            && b.password.is_some()
            && b.application_id.is_some()
            && b.callback_username.is_some()
            && b.callback_password.is_some()
    }

    /// On by default only when no real provider is configured.
    pub fn simulator_enabled(&self) -> bool {
        self.simulator.enabled.unwrap_or(!(self.twilio_enabled() || self.telnyx_enabled() || self.bandwidth_enabled()))
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("frontdesk.db").display()))
    }
}

pub fn read_secret(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("could not read secret file {}: {e}", path.display()))
}

/// `FRONTDESK_*` variables that configure nothing: most likely typos. Reported at start-up.
pub fn unknown_env_vars() -> Vec<String> {
    let known = known_env_vars();
    std::env::vars().map(|(k, _)| k).filter(|k| k.starts_with("FRONTDESK_") && !known.contains(k.as_str())).collect()
}

fn known_env_vars() -> BTreeSet<String> {
    let mut known: BTreeSet<String> = EXTRA_KNOWN_VARS.iter().map(|s| s.to_string()).collect();
    let defaults = serde_json::to_value(Settings::default()).unwrap_or_default();
    collect_keys(&defaults, "FRONTDESK", &mut known);
    known
}

fn collect_keys(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let serde_json::Value::Object(map) = value {
        for (key, child) in map {
            let name = format!("{prefix}{}{}", if prefix == "FRONTDESK" { "_" } else { "__" }, key.to_uppercase());
            out.insert(name.clone());
            collect_keys(child, &name, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_variables_follow_the_nesting_convention() {
        let known = known_env_vars();
        for name in [
            "FRONTDESK_DATA_DIR",
            "FRONTDESK_TWILIO__ACCOUNT_SID",
            "FRONTDESK_TWILIO__AUTH_TOKEN_FILE",
            "FRONTDESK_MASTER_KEY_FILE",
            "FRONTDESK_TWILIO__API_BASE",
            "FRONTDESK_TELNYX__API_KEY",
            "FRONTDESK_TELNYX__API_KEY_FILE",
            "FRONTDESK_TELNYX__PUBLIC_KEY",
            "FRONTDESK_BANDWIDTH__ACCOUNT_ID",
            "FRONTDESK_BANDWIDTH__PASSWORD_FILE",
            "FRONTDESK_BANDWIDTH__CALLBACK_PASSWORD_FILE",
        ] {
            assert!(known.contains(name), "{name} missing from {known:?}");
        }
        assert!(!known.contains("FRONTDESK_TWILIO_ACCOUNT_SID"));
    }

    #[test]
    fn defaults_are_valid_and_enable_the_simulator() {
        let s = Settings::default();
        s.validate().unwrap();
        assert!(s.simulator_enabled());
        assert!(s.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn half_configured_twilio_is_refused() {
        let mut s = Settings::default();
        s.twilio.account_sid = Some(format!("AC{}", "a".repeat(32)));
        assert!(s.validate().unwrap_err().contains("auth_token"));
    }

    #[test]
    fn half_configured_telnyx_and_bandwidth_are_refused_with_the_missing_fields() {
        let mut s = Settings::default();
        s.telnyx.api_key = Some("KEY".into());
        assert!(s.validate().unwrap_err().contains("public_key"));
        s.telnyx.public_key = Some("not base64".into());
        assert!(s.validate().unwrap_err().contains("telnyx.public_key"));
        s.telnyx.public_key = Some(frontdesk_providers::telnyx::PublicKey::from_secret(&[1; 32]).to_base64());
        s.validate().unwrap();
        assert!(s.telnyx_enabled() && !s.simulator_enabled());
        s.telnyx.api_key = None;
        assert!(s.validate().unwrap_err().contains("api_key"));

        let mut s = Settings::default();
        s.bandwidth.account_id = Some("9900000".into());
        s.bandwidth.username = Some("u".into());
        let e = s.validate().unwrap_err();
        assert!(e.contains("password") && e.contains("application_id") && e.contains("callback_username"), "{e}");
        s.bandwidth.password = Some("p".into());
        s.bandwidth.application_id = Some("a".into());
        s.bandwidth.callback_username = Some("cu".into());
        s.bandwidth.callback_password = Some("cp".into());
        s.validate().unwrap();
        assert!(s.bandwidth_enabled() && !s.simulator_enabled());
    }

    #[test]
    fn debug_output_redacts_provider_secrets() {
        let mut s = Settings::default();
        s.telnyx.api_key = Some("telnyx-secret-key".into());
        s.bandwidth.password = Some("bw-secret-pass".into());
        s.bandwidth.callback_password = Some("bw-callback-secret".into());
        s.twilio.auth_token = Some("twilio-secret-token".into());
        s.master_key = Some("master-secret-key".into());
        s.database_url = Some("postgres://app:db-secret-password@db.internal/frontdesk".into());
        let d = format!("{s:?}");
        for secret in [
            "telnyx-secret-key",
            "bw-secret-pass",
            "bw-callback-secret",
            "twilio-secret-token",
            "master-secret-key",
            "db-secret-password",
        ] {
            assert!(!d.contains(secret), "{secret} leaked");
        }
    }
}
