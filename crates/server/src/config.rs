//! Configuration (DESIGN.md §5, contract): a TOML file overlaid by `FRONTDESK_*` environment
//! variables, nested keys separated by `__`, secrets also readable from `*_FILE` paths.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    pub simulator: SimulatorConfig,
    pub dispatcher: DispatcherConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PracticeConfig {
    pub name: String,
    pub help_text: Option<String>,
    pub opt_out_confirmation: Option<String>,
    pub opt_in_confirmation: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
            simulator: SimulatorConfig::default(),
            dispatcher: DispatcherConfig::default(),
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
        Ok(())
    }

    fn validate(&self) -> Result<(), String> {
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
        Ok(())
    }

    pub fn twilio_enabled(&self) -> bool {
        self.twilio.account_sid.is_some() && self.twilio.auth_token.is_some()
    }

    pub fn simulator_enabled(&self) -> bool {
        self.simulator.enabled.unwrap_or(!self.twilio_enabled())
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
}
