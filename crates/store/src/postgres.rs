//! The PostgreSQL store, for several instances sharing one database.
//!
//! Each write closure gets its own pooled transaction (READ COMMITTED); concurrent commits
//! are grouped by PostgreSQL itself. Rows that concurrent writers must not both change are
//! locked (`*_for_update`, the thread upsert), and the outbox is claimed with
//! `FOR UPDATE SKIP LOCKED` so dispatchers on several instances never take the same job.

mod department_settings;

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::mpsc;

use frontdesk_domain::model::OutboxJob;

use crate::common::{db_err, define_backend, panic_message};
use crate::vault::Vault;
use crate::{StoreError, StoreResult, WriteOp};

const MAX_CONNECTIONS: u32 = 16;
/// The NOTIFY channel live events travel on between instances.
const EVENTS_CHANNEL: &str = "frontdesk_events";

/// A stable 64-bit advisory-lock key for a singleton's name (FNV-1a: fixed across builds
/// and instances, unlike the std hasher).
fn singleton_key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"frontdesk:".iter().chain(name.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

type Output = Box<dyn Any + Send>;

/// One write closure's transaction.
pub(crate) struct PgTx {
    tx: Transaction<'static, Postgres>,
    vault: Arc<Vault>,
    /// Audit entries to chain just before COMMIT.
    audit: Vec<frontdesk_domain::model::AuditEvent>,
}

impl PgTx {
    fn parts(&mut self) -> (&mut PgConnection, &Vault) {
        (&mut self.tx, &self.vault)
    }

    fn defer_audit(&mut self, event: &frontdesk_domain::model::AuditEvent) {
        self.audit.push(event.clone());
    }

    /// Chains the transaction's audit entries: locks the one-row head (`DO UPDATE` takes the
    /// row lock, held to COMMIT), inserts the entries after it and moves it. Done last, so
    /// concurrent transactions wait on each other only for these few statements and COMMIT.
    async fn append_audit(&mut self) -> StoreResult<()> {
        if self.audit.is_empty() {
            return Ok(());
        }
        let events = std::mem::take(&mut self.audit);
        let (seq, hash): (i64, String) = sqlx::query_as(crate::common::audit::LOCK_HEAD)
            .bind(crate::audit::GENESIS_HASH)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_err)?;
        let statements = crate::common::audit::append(&self.vault, (seq, hash), &events);
        let last = statements.len() - 1;
        for (i, s) in statements.iter().enumerate() {
            let n = q::exec_statement(&mut *self.tx, s).await?;
            if i < last && n != 1 {
                return Err(StoreError::Conflict("an audit event with this id".into()));
            }
        }
        Ok(())
    }
}

pub struct PgStore {
    pool: PgPool,
    vault: Arc<Vault>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

define_backend!(
    db: sqlx::Postgres,
    row: sqlx::postgres::PgRow,
    store: PgStore,
    name: "postgres",
    for_update: " FOR UPDATE",
    skip_locked: " FOR UPDATE SKIP LOCKED",
    writes: sqlx(conn: sqlx::PgConnection, tx: PgTx),
);
crate::common::triage::triage_sqlx!(db: sqlx::Postgres, store: PgStore, tx: PgTx);

impl PgStore {
    /// Connects to `url` (`postgres://...`) and applies migrations (under sqlx's advisory
    /// lock, so instances starting together do not race).
    pub async fn open(url: &str, vault: Arc<Vault>) -> StoreResult<PgStore> {
        let options: PgConnectOptions =
            url.parse().map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| match db_err(e) {
                StoreError::Other(m) | StoreError::Unavailable(m) => {
                    StoreError::Unavailable(format!("could not connect to PostgreSQL: {m}"))
                }
                other => other,
            })?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("could not apply PostgreSQL migrations: {e}")))?;
        Ok(PgStore { pool, vault })
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn vault(&self) -> &Vault {
        &self.vault
    }

    async fn do_write(&self, op: WriteOp) -> StoreResult<Output> {
        let tx = self.pool.begin().await.map_err(db_err)?;
        let mut ptx = PgTx { tx, vault: self.vault.clone(), audit: Vec::new() };
        let result = match AssertUnwindSafe(op(&mut ptx)).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => Err(StoreError::Other(panic_message(panic.as_ref()))),
        };
        let result = match result {
            Ok(out) => ptx.append_audit().await.map(|()| out),
            Err(e) => Err(e),
        };
        match result {
            Ok(out) => {
                // A failed COMMIT leaves the outcome to PostgreSQL (usually: rolled back);
                // the caller is told to retry, and inbound dedupe makes a retry safe.
                ptx.tx.commit().await.map_err(|e| match db_err(e) {
                    StoreError::Other(m) => StoreError::Unavailable(format!("commit failed: {m}")),
                    other => other,
                })?;
                Ok(out)
            }
            Err(e) => {
                // Dropping the transaction would also roll back, but only lazily when the
                // connection is next used; do it now so locks are released at once.
                let _ = ptx.tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn do_claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxJob>> {
        // One statement is its own transaction; SKIP LOCKED makes concurrent claimers
        // partition the due jobs between them instead of waiting or double-claiming.
        q::claim_jobs(&self.pool, owner, now, lease_until, limit).await
    }

    async fn do_ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    async fn do_broadcast(&self, payload: &str) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(EVENTS_CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn do_listen(&self) -> StoreResult<Option<mpsc::Receiver<String>>> {
        let mut listener = PgListener::connect_with(&self.pool).await.map_err(db_err)?;
        listener.listen(EVENTS_CHANNEL).await.map_err(db_err)?;
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(async move {
            loop {
                // `recv` reconnects by itself after a lost connection (notifications sent
                // meanwhile are lost: live views refetch on the next event anyway).
                match listener.recv().await {
                    Ok(n) => {
                        if tx.send(n.payload().to_string()).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "PostgreSQL event listener failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        if tx.is_closed() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Some(rx))
    }

    async fn do_try_singleton(&self, name: &str) -> StoreResult<Option<crate::SingletonLease>> {
        // A dedicated connection, taken out of the pool: the advisory lock lives exactly as
        // long as it does, so a dead holder's role frees itself.
        let mut conn = self.pool.acquire().await.map_err(db_err)?.detach();
        let key = singleton_key(name);
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut conn)
            .await
            .map_err(db_err)?;
        if !got {
            let _ = conn.close().await;
            return Ok(None);
        }
        let conn = Arc::new(tokio::sync::Mutex::new(conn));
        Ok(Some(crate::SingletonLease::new(Box::new(move || {
            let conn = conn.clone();
            Box::pin(async move {
                let mut c = conn.lock().await;
                sqlx::query_scalar::<_, bool>(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() \
                     AND granted AND ((classid::bigint << 32) | objid::bigint) = $1)",
                )
                .bind(key)
                .fetch_one(&mut *c)
                .await
                .unwrap_or(false)
            })
        }))))
    }

    async fn do_backup(&self, _path: &Path) -> StoreResult<()> {
        Err(StoreError::Other(
            "backups of PostgreSQL are made with pg_dump (for example `pg_dump --format=custom --file=frontdesk.dump \"$FRONTDESK_DATABASE_URL\"`) \
             or your provider's snapshots; `frontdesk backup` only copies the embedded SQLite database"
                .into(),
        ))
    }
}
