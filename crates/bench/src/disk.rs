//! Baseline 2: how many durable appends the disk under the data directory takes per second,
//! measured the way a database uses it: 512-byte records appended to one file, with one
//! `fdatasync` after each record, and with one `fdatasync` per batch of records.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;

pub const RECORD_BYTES: usize = 512;

pub struct DiskResult {
    pub syncs: u64,
    pub records: u64,
    pub elapsed: Duration,
}

impl DiskResult {
    pub fn syncs_per_sec(&self) -> f64 {
        self.syncs as f64 / self.elapsed.as_secs_f64()
    }

    pub fn records_per_sec(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64()
    }
}

/// Appends records in batches of `batch` with one `fdatasync` per batch, for `duration`
/// (and at most `max_syncs` syncs), in a fresh file inside `dir`.
pub fn durable_appends(dir: &Path, batch: usize, duration: Duration, max_syncs: u64) -> anyhow::Result<DiskResult> {
    let path = dir.join(format!("disk-baseline-{batch}.log"));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    let record = [0x5au8; RECORD_BYTES];
    let mut chunk = Vec::with_capacity(RECORD_BYTES * batch);
    for _ in 0..batch {
        chunk.extend_from_slice(&record);
    }
    // One warm-up sync so file creation is not counted.
    file.write_all(&record)?;
    file.sync_data()?;
    let start = Instant::now();
    let mut syncs = 0u64;
    while start.elapsed() < duration && syncs < max_syncs {
        // A batch is written as one append, the way a WAL writes the frames of one commit.
        file.write_all(&chunk)?;
        file.sync_data()?;
        syncs += 1;
    }
    let elapsed = start.elapsed();
    drop(file);
    let _ = std::fs::remove_file(&path);
    Ok(DiskResult { syncs, records: syncs * batch as u64, elapsed })
}
