//! The master key: from configuration, or generated into the data directory on first run.

use std::io::Write;
use std::path::Path;

use frontdesk_store::MasterKey;

use crate::config::{Settings, read_secret};

pub const KEY_FILE_NAME: &str = "master.key";

/// Where the key came from, so start-up can tell the operator what to back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Configured,
    DataDir,
    Generated,
}

pub fn load_or_create(settings: &Settings) -> Result<(MasterKey, KeySource), String> {
    if let Some(b64) = &settings.master_key {
        return MasterKey::from_base64(b64.trim())
            .map(|k| (k, KeySource::Configured))
            .map_err(|e| format!("master_key: {e}"));
    }
    if let Some(path) = &settings.master_key_file {
        let b64 = read_secret(path)?;
        return MasterKey::from_base64(&b64)
            .map(|k| (k, KeySource::Configured))
            .map_err(|e| format!("master_key_file {}: {e}", path.display()));
    }
    let path = settings.data_dir.join(KEY_FILE_NAME);
    if path.exists() {
        let b64 = read_secret(&path)?;
        return MasterKey::from_base64(&b64)
            .map(|k| (k, KeySource::DataDir))
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let key = MasterKey::generate();
    write_private(&path, key.to_base64().as_bytes())?;
    Ok((key, KeySource::Generated))
}

/// Writes a file only its owner can read (mode 0600), refusing to replace an existing one.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| format!("could not create {}: {e}", path.display()))?;
    file.write_all(contents)
        .and_then(|_| file.write_all(b"\n"))
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("could not write {}: {e}", path.display()))
}
