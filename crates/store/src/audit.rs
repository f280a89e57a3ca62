//! The store's part of the audit log, retention and legal holds: reads on every
//! [`crate::Store`] ([`AuditReads`]) and writes inside every [`crate::WriteTx`]
//! ([`AuditWrites`]), implemented for both backends in `common/audit.rs` and
//! `sqlite/writer/audit.rs`; plus [`verify_chain`], the walk behind `frontdesk audit verify`.
//!
//! The chain: every entry written through [`crate::WriteTx::insert_audit`] gets the next `seq`
//! (1, 2, 3 ... no gaps), the previous entry's hash and its own hash = HMAC-SHA256 under a key
//! derived from the master key over the previous hash and a canonical encoding of every field
//! (`common::audit::canonical`). The one-row `audit_head` holds the newest seq and hash, so a
//! truncated tail is detected. Entries from before the chain existed keep `seq` NULL; their
//! number is recorded in the head (`unchained`).

use std::collections::VecDeque;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::model::AuditEvent;

use crate::{Store, StoreResult};

/// The hash the first chained entry links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An audit entry with its place in the chain (`None` for entries older than the chain).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedAudit {
    pub event: AuditEvent,
    pub seq: Option<i64>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// The chain's newest position.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    /// Entries that existed before the chain (a genesis boundary), counted when it started.
    pub unchained: i64,
}

/// Which entries `/audit` shows: every given filter must match (exact values; `from`
/// inclusive, `until` exclusive). Newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: u32,
    pub offset: u32,
}

/// A legal hold: the patient's conversations, messages and forms are never purged while set.
#[derive(Debug, Clone, PartialEq)]
pub struct LegalHold {
    pub patient_id: Uuid,
    pub reason: String,
    /// The actor label (`user:<id>`).
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// What a retention purge removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeKind {
    /// Messages (with their search terms and outbox jobs) created before the cutoff.
    Messages,
    /// The media references of messages created before the cutoff (the text stays).
    Media,
    /// Form submissions (with their files) received before the cutoff.
    FormSubmissions,
}

impl PurgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PurgeKind::Messages => "messages",
            PurgeKind::Media => "media",
            PurgeKind::FormSubmissions => "form_submissions",
        }
    }
}

#[async_trait]
pub trait AuditReads: Send + Sync {
    /// Entries matching the filter, newest first.
    async fn audit_search(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>>;
    /// Chained entries with `seq > after_seq`, in chain order.
    async fn audit_chain_page(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<ChainedAudit>>;
    /// `None` before the first chained entry.
    async fn audit_head(&self) -> StoreResult<Option<AuditHead>>;
    /// How many entries have no place in the chain, and the newest of them.
    async fn audit_unchained(&self) -> StoreResult<(i64, Option<Uuid>)>;
    /// The hash an entry at `seq` following `prev_hash` must carry.
    fn audit_link_hash(&self, prev_hash: &str, seq: i64, event: &AuditEvent) -> String;
    async fn legal_hold(&self, patient_id: Uuid) -> StoreResult<Option<LegalHold>>;
}

#[async_trait]
pub trait AuditWrites: Send {
    /// Sets (or replaces) the patient's hold.
    async fn set_legal_hold(&mut self, hold: &LegalHold) -> StoreResult<()>;
    /// `false` when the patient had no hold.
    async fn clear_legal_hold(&mut self, patient_id: Uuid) -> StoreResult<bool>;
    /// Removes at most `limit` of the oldest rows of `kind` older than `cutoff` that are not
    /// under a legal hold. Returns how many were removed.
    async fn purge_before(&mut self, kind: PurgeKind, cutoff: DateTime<Utc>, limit: u32) -> StoreResult<u64>;
}

/// The first thing wrong with the chain.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainProblem {
    /// The entry's fields no longer match its hash.
    Altered { seq: i64, id: Uuid },
    /// An entry that the chain does not link through (or beyond its head, or outside it).
    Inserted { seq: Option<i64>, id: Uuid, why: String },
    /// Entries missing: a gap in `seq`, a broken link, or a truncated tail.
    Deleted { why: String },
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainProblem::Altered { seq, id } => {
                write!(f, "altered: entry seq {seq} (id {id}) does not match its hash; its fields were changed")
            }
            ChainProblem::Inserted { seq: Some(seq), id, why } => {
                write!(f, "inserted: entry seq {seq} (id {id}) {why}")
            }
            ChainProblem::Inserted { seq: None, id, why } => write!(f, "inserted: entry id {id} {why}"),
            ChainProblem::Deleted { why } => write!(f, "deleted: {why}"),
        }
    }
}

/// The result of [`verify_chain`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChainReport {
    /// Chained entries checked.
    pub checked: u64,
    /// Entries older than the chain (not verifiable, but counted).
    pub unchained: i64,
    pub problem: Option<ChainProblem>,
}

const PAGE: u32 = 1000;

/// Walks the whole chain in order, calling `progress(checked, total)` after every page, and
/// stops at the first problem.
pub async fn verify_chain(store: &dyn Store, progress: &mut (dyn FnMut(u64, u64) + Send)) -> StoreResult<ChainReport> {
    let head = store.audit_head().await?.unwrap_or(AuditHead { seq: 0, hash: GENESIS_HASH.into(), unchained: 0 });
    let total = head.seq.max(0) as u64;
    let (unchained, newest_unchained) = store.audit_unchained().await?;
    let report = |checked, problem| ChainReport { checked, unchained, problem: Some(problem) };

    let mut buffer: VecDeque<ChainedAudit> = VecDeque::new();
    let mut after = 0i64;
    let mut exhausted = false;
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut expected = 1i64;
    let mut checked = 0u64;
    loop {
        // Keep one entry of lookahead: telling an inserted entry from an altered one needs
        // to know whether the chain continues around it.
        while buffer.len() < 2 && !exhausted {
            let page = store.audit_chain_page(after, PAGE).await?;
            if page.len() < PAGE as usize {
                exhausted = true;
            }
            if let Some(last) = page.last() {
                after = last.seq.unwrap_or(after);
            }
            buffer.extend(page);
            progress(checked, total);
        }
        let Some(entry) = buffer.pop_front() else { break };
        let id = entry.event.id;
        let seq = entry.seq.unwrap_or_default();
        let stored_prev = entry.prev_hash.clone().unwrap_or_default();
        let stored_hash = entry.hash.clone().unwrap_or_default();
        if seq > head.seq {
            let why = format!("lies beyond the chain's head (seq {}): it was added outside the application", head.seq);
            return Ok(report(checked, ChainProblem::Inserted { seq: Some(seq), id, why }));
        }
        if seq != expected {
            let why = if seq == expected + 1 {
                format!(
                    "entry seq {expected} is missing (the chain jumps from seq {} to seq {seq}, id {id})",
                    expected - 1
                )
            } else {
                format!(
                    "entries seq {expected} to {} are missing (the chain jumps from seq {} to seq {seq}, id {id})",
                    seq - 1,
                    expected - 1
                )
            };
            return Ok(report(checked, ChainProblem::Deleted { why }));
        }
        let computed = store.audit_link_hash(&prev_hash, seq, &entry.event);
        let linked = stored_prev == prev_hash;
        if !linked || computed != stored_hash {
            let next_skips_it = buffer.front().is_some_and(|n| n.prev_hash.as_deref() == Some(prev_hash.as_str()));
            if next_skips_it {
                let why = format!(
                    "is not part of the chain: the next entry links to seq {} directly, so this one was inserted",
                    seq - 1
                );
                return Ok(report(checked, ChainProblem::Inserted { seq: Some(seq), id, why }));
            }
            if !linked {
                let why = format!(
                    "entry seq {seq} (id {id}) does not link to the entry before it (seq {}): an entry between them \
                     was removed (or this one was inserted) and the rest renumbered",
                    seq - 1
                );
                return Ok(report(checked, ChainProblem::Deleted { why }));
            }
            return Ok(report(checked, ChainProblem::Altered { seq, id }));
        }
        prev_hash = stored_hash;
        expected += 1;
        checked += 1;
    }
    progress(checked, total);
    let last = expected - 1;
    if last < head.seq {
        let why = format!(
            "the chain ends at seq {last} but its head records seq {}: the newest {} entries were removed",
            head.seq,
            head.seq - last
        );
        return Ok(report(checked, ChainProblem::Deleted { why }));
    }
    if head.seq > 0 && prev_hash != head.hash {
        return Ok(report(
            checked,
            ChainProblem::Deleted {
                why: format!("the newest entry (seq {last}) is not the one the head records: the tail was replaced"),
            },
        ));
    }
    if unchained != head.unchained {
        let problem = if unchained > head.unchained {
            ChainProblem::Inserted {
                seq: None,
                id: newest_unchained.unwrap_or_default(),
                why: format!(
                    "has no place in the chain: {unchained} entries lie outside it but {} did when the chain began",
                    head.unchained
                ),
            }
        } else {
            ChainProblem::Deleted {
                why: format!(
                    "{} of the {} entries older than the chain were removed",
                    head.unchained - unchained,
                    head.unchained
                ),
            }
        };
        return Ok(report(checked, problem));
    }
    Ok(ChainReport { checked, unchained, problem: None })
}
