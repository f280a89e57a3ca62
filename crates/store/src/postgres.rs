//! The PostgreSQL store, for several instances sharing one database.
//!
//! Each write closure gets its own pooled transaction (READ COMMITTED); concurrent commits
//! are grouped by PostgreSQL itself. Rows that concurrent writers must not both change are
//! locked (`*_for_update`, the thread upsert), and the outbox is claimed with
//! `FOR UPDATE SKIP LOCKED` so dispatchers on several instances never take the same job.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use frontdesk_domain::model::OutboxJob;

use crate::common::{db_err, define_backend, panic_message};
use crate::vault::Vault;
use crate::{StoreError, StoreResult, WriteOp};

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

type Output = Box<dyn Any + Send>;

/// One write closure's transaction.
pub(crate) struct PgTx {
    tx: Transaction<'static, Postgres>,
    vault: Arc<Vault>,
}

impl PgTx {
    fn parts(&mut self) -> (&mut PgConnection, &Vault) {
        (&mut self.tx, &self.vault)
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
        let mut ptx = PgTx { tx, vault: self.vault.clone() };
        let result = match AssertUnwindSafe(op(&mut ptx)).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => Err(StoreError::Other(panic_message(panic.as_ref()))),
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

    async fn do_backup(&self, _path: &Path) -> StoreResult<()> {
        Err(StoreError::Other(
            "backups of PostgreSQL are made with pg_dump (for example `pg_dump --format=custom --file=frontdesk.dump \"$FRONTDESK_DATABASE_URL\"`) \
             or your provider's snapshots; `frontdesk backup` only copies the embedded SQLite database"
                .into(),
        ))
    }
}
