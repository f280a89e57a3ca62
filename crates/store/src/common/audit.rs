//! The audit chain, legal holds and retention purges in the store: the canonical encoding
//! and link hash, the write statements (bound by either driver), and the reads, expanded per
//! backend by `define_backend!` like `forms`.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::model::AuditEvent;

use super::ms;
use super::statement::{Param, Statement};
use crate::audit::{LegalHold, PurgeKind};
use crate::vault::Vault;

/// Creates the head on first use and returns it; on PostgreSQL `DO UPDATE` also locks the
/// row until commit, which serialises concurrent appenders for the few statements that
/// follow (see `postgres.rs`: entries are appended just before COMMIT).
pub(crate) const LOCK_HEAD: &str = "INSERT INTO audit_head (id, seq, hash, unchained) VALUES (1, 0, $1, 0) \
     ON CONFLICT (id) DO UPDATE SET seq = audit_head.seq RETURNING seq, hash";

fn field(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(&(value.len() as u64).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

fn opt_field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            field(out, v);
        }
    }
}

/// Every field of an entry, length-prefixed so no two different entries encode alike.
pub(crate) fn canonical(seq: i64, e: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"frontdesk audit v1\0");
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(e.id.as_bytes());
    out.extend_from_slice(&ms(e.at).to_be_bytes());
    field(&mut out, &e.actor);
    field(&mut out, &e.action);
    opt_field(&mut out, e.target.as_deref());
    opt_field(&mut out, e.ip.as_deref());
    opt_field(&mut out, e.detail.as_deref());
    out
}

/// HMAC(audit key, previous hash || canonical entry), lowercase hex.
pub(crate) fn link_hash(vault: &Vault, prev_hash: &str, seq: i64, e: &AuditEvent) -> String {
    let mut message = Vec::with_capacity(200);
    field(&mut message, prev_hash);
    message.extend_from_slice(&canonical(seq, e));
    vault.audit_mac(&message)
}

fn st(sql: &'static str, params: Vec<Param>) -> Statement {
    Statement { sql: Cow::Borrowed(sql), params }
}

pub(crate) fn insert_chained(e: &AuditEvent, seq: i64, prev_hash: &str, hash: &str) -> Statement {
    st(
        "INSERT INTO audit_events (id, at, actor, action, target, ip, detail, seq, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(e.id),
            Param::Int(ms(e.at)),
            Param::Text(e.actor.clone()),
            Param::Text(e.action.clone()),
            Param::OptText(e.target.clone()),
            Param::OptText(e.ip.clone()),
            Param::OptText(e.detail.clone()),
            Param::Int(seq),
            Param::Text(prev_hash.to_owned()),
            Param::Text(hash.to_owned()),
        ],
    )
}

pub(crate) fn advance_head(seq: i64, hash: &str) -> Statement {
    st("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", vec![Param::Int(seq), Param::Text(hash.to_owned())])
}

/// Appends entries after the head `(seq, hash)`: the insert statements and the head update.
pub(crate) fn append(vault: &Vault, head: (i64, String), events: &[AuditEvent]) -> Vec<Statement> {
    let (mut seq, mut prev) = head;
    let mut out = Vec::with_capacity(events.len() + 1);
    for e in events {
        seq += 1;
        let hash = link_hash(vault, &prev, seq, e);
        out.push(insert_chained(e, seq, &prev, &hash));
        prev = hash;
    }
    out.push(advance_head(seq, &prev));
    out
}

pub(crate) fn set_legal_hold(h: &LegalHold) -> Statement {
    st(
        "INSERT INTO legal_holds (patient_id, reason, set_by, set_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (patient_id) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, \
         set_at = excluded.set_at",
        vec![
            Param::Uuid(h.patient_id),
            Param::Text(h.reason.clone()),
            Param::Text(h.set_by.clone()),
            Param::Int(ms(h.set_at)),
        ],
    )
}

pub(crate) fn clear_legal_hold(patient_id: Uuid) -> Statement {
    st("DELETE FROM legal_holds WHERE patient_id = $1", vec![Param::Uuid(patient_id)])
}

/// A conversation `c` whose patient (set on it, or linked to its contact) is on hold.
macro_rules! held {
    () => {
        "(EXISTS (SELECT 1 FROM legal_holds h WHERE h.patient_id = c.patient_id) \
          OR EXISTS (SELECT 1 FROM threads t JOIN contact_patients cp ON cp.contact_id = t.contact_id \
                     JOIN legal_holds h ON h.patient_id = cp.patient_id WHERE t.id = c.thread_id))"
    };
}

/// The ids a purge of `kind` takes next: `$1` cutoff (epoch ms), `$2` limit, oldest first.
pub(crate) fn purge_candidates(kind: PurgeKind) -> &'static str {
    match kind {
        PurgeKind::Messages => concat!(
            "SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE m.created_at < $1 AND NOT ",
            held!(),
            " ORDER BY m.created_at, m.id LIMIT $2"
        ),
        PurgeKind::Media => concat!(
            "SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE m.created_at < $1 AND m.media IS NOT NULL AND NOT ",
            held!(),
            " ORDER BY m.created_at, m.id LIMIT $2"
        ),
        PurgeKind::FormSubmissions => concat!(
            "SELECT s.id FROM form_submissions s JOIN form_requests r ON r.id = s.request_id \
             JOIN conversations c ON c.id = r.conversation_id WHERE s.created_at < $1 AND NOT ",
            held!(),
            " ORDER BY s.created_at, s.id LIMIT $2"
        ),
    }
}

fn in_list(sql_prefix: &str, ids: &[Uuid]) -> Statement {
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    Statement {
        sql: Cow::Owned(format!("{sql_prefix} IN ({})", placeholders.join(", "))),
        params: ids.iter().map(|id| Param::Uuid(*id)).collect(),
    }
}

/// The statements removing the chosen rows (dependants first). The last one's row count is
/// the number purged.
pub(crate) fn purge_statements(kind: PurgeKind, ids: &[Uuid]) -> Vec<Statement> {
    match kind {
        PurgeKind::Messages => vec![
            in_list("DELETE FROM message_terms WHERE message_id", ids),
            in_list("DELETE FROM outbox_jobs WHERE message_id", ids),
            // A pending consent question about a purged text goes with it.
            in_list("DELETE FROM consent_reviews WHERE message_id", ids),
            in_list("DELETE FROM messages WHERE id", ids),
        ],
        PurgeKind::Media => vec![in_list("UPDATE messages SET media = NULL WHERE id", ids)],
        PurgeKind::FormSubmissions => vec![
            in_list("DELETE FROM form_files WHERE submission_id", ids),
            in_list("DELETE FROM form_submissions WHERE id", ids),
        ],
    }
}

pub(crate) fn cutoff_ms(cutoff: DateTime<Utc>) -> i64 {
    ms(cutoff)
}

macro_rules! audit_cols_chain {
    () => {
        "id, at, actor, action, target, ip, detail, seq, prev_hash, hash"
    };
}

/// The reads, expanded inside each backend's `q` module (they use its row helpers).
macro_rules! audit_reads {
    () => {
        pub(crate) async fn audit_search<'e, E>(
            ex: E,
            f: &crate::audit::AuditFilter,
        ) -> StoreResult<Vec<AuditEvent>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT id, at, actor, action, target, ip, detail FROM audit_events \
                 WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR target = $3) \
                 AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
                 ORDER BY at DESC, id DESC LIMIT $6 OFFSET $7",
            )
            .bind(f.actor.clone())
            .bind(f.action.clone())
            .bind(f.target.clone())
            .bind(opt_ms(f.from))
            .bind(opt_ms(f.until))
            .bind(i64::from(f.limit))
            .bind(i64::from(f.offset))
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, map_audit)
        }

        pub(crate) async fn audit_chain_page<'e, E>(
            ex: E,
            after_seq: i64,
            limit: u32,
        ) -> StoreResult<Vec<crate::audit::ChainedAudit>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(concat!(
                "SELECT ",
                crate::common::audit::audit_cols_chain!(),
                " FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
            ))
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| {
                Ok(crate::audit::ChainedAudit {
                    event: map_audit(r)?,
                    seq: get(r, "", "seq")?,
                    prev_hash: get(r, "", "prev_hash")?,
                    hash: get(r, "", "hash")?,
                })
            })
        }

        pub(crate) async fn audit_head<'e, E>(ex: E) -> StoreResult<Option<crate::audit::AuditHead>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query("SELECT seq, hash, unchained FROM audit_head WHERE id = 1")
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
            row.map(|r| {
                Ok(crate::audit::AuditHead {
                    seq: get(&r, "", "seq")?,
                    hash: get(&r, "", "hash")?,
                    unchained: get(&r, "", "unchained")?,
                })
            })
            .transpose()
        }

        pub(crate) async fn audit_unchained<'e, E>(ex: E) -> StoreResult<Vec<(i64, Option<Uuid>)>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM audit_events WHERE seq IS NULL) AS n, \
                 (SELECT id FROM audit_events WHERE seq IS NULL ORDER BY at DESC, id DESC LIMIT 1) AS newest",
            )
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| Ok((get::<i64>(r, "", "n")?, get::<Option<Uuid>>(r, "", "newest")?)))
        }

        pub(crate) async fn legal_hold<'e, E>(ex: E, patient_id: Uuid) -> StoreResult<Option<crate::audit::LegalHold>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query("SELECT patient_id, reason, set_by, set_at FROM legal_holds WHERE patient_id = $1")
                .bind(patient_id)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
            row.map(|r| {
                Ok(crate::audit::LegalHold {
                    patient_id: get(&r, "", "patient_id")?,
                    reason: get(&r, "", "reason")?,
                    set_by: get(&r, "", "set_by")?,
                    set_at: ts(&r, "", "set_at")?,
                })
            })
            .transpose()
        }
    };
}

/// The `AuditReads` impl for a backend's store and (PostgreSQL) the `AuditWrites` impl for
/// its transaction, expanded by `define_backend!`.
macro_rules! audit_backend {
    (store: $store:ty, writes: none) => {
        crate::common::audit::audit_reads_impl!($store);
    };
    (store: $store:ty, writes: sqlx (conn: $conn:ty, tx: $tx:ty)) => {
        crate::common::audit::audit_reads_impl!($store);

        #[async_trait::async_trait]
        impl crate::audit::AuditWrites for $tx {
            async fn set_legal_hold(&mut self, hold: &crate::audit::LegalHold) -> crate::StoreResult<()> {
                q::exec_statement(self.parts().0, &crate::common::audit::set_legal_hold(hold)).await?;
                Ok(())
            }

            async fn clear_legal_hold(&mut self, patient_id: uuid::Uuid) -> crate::StoreResult<bool> {
                Ok(q::exec_statement(self.parts().0, &crate::common::audit::clear_legal_hold(patient_id)).await? > 0)
            }

            async fn purge_before(
                &mut self,
                kind: crate::audit::PurgeKind,
                cutoff: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> crate::StoreResult<u64> {
                let ids: Vec<uuid::Uuid> = sqlx::query_scalar(crate::common::audit::purge_candidates(kind))
                    .bind(crate::common::audit::cutoff_ms(cutoff))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.parts().0)
                    .await
                    .map_err(crate::common::db_err)?;
                if ids.is_empty() {
                    return Ok(0);
                }
                let mut last = 0;
                for s in crate::common::audit::purge_statements(kind, &ids) {
                    last = q::exec_statement(&mut *self.parts().0, &s).await?;
                }
                Ok(last)
            }
        }
    };
}

macro_rules! audit_reads_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::audit::AuditReads for $store {
            async fn audit_search(
                &self,
                filter: &crate::audit::AuditFilter,
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::AuditEvent>> {
                q::audit_search(self.reader(), filter).await
            }

            async fn audit_chain_page(
                &self,
                after_seq: i64,
                limit: u32,
            ) -> crate::StoreResult<Vec<crate::audit::ChainedAudit>> {
                q::audit_chain_page(self.reader(), after_seq, limit).await
            }

            async fn audit_head(&self) -> crate::StoreResult<Option<crate::audit::AuditHead>> {
                q::audit_head(self.reader()).await
            }

            async fn audit_unchained(&self) -> crate::StoreResult<(i64, Option<uuid::Uuid>)> {
                Ok(q::audit_unchained(self.reader()).await?.into_iter().next().unwrap_or((0, None)))
            }

            fn audit_link_hash(
                &self,
                prev_hash: &str,
                seq: i64,
                event: &frontdesk_domain::model::AuditEvent,
            ) -> String {
                crate::common::audit::link_hash(self.vault(), prev_hash, seq, event)
            }

            async fn legal_hold(&self, patient_id: uuid::Uuid) -> crate::StoreResult<Option<crate::audit::LegalHold>> {
                q::legal_hold(self.reader(), patient_id).await
            }
        }
    };
}

pub(crate) use {audit_backend, audit_cols_chain, audit_reads, audit_reads_impl};
