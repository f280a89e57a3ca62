//! The embedded SQLite store (the default).
//!
//! Durability and throughput come from group commit (DESIGN.md §3 "Writes and durability"):
//! one writer thread owns the only write connection (a blocking rusqlite connection, so each
//! statement is a plain call rather than a hop to a driver thread) and receives write
//! closures over a bounded channel. It takes every closure already waiting (up to
//! [`writer::MAX_BATCH`]), runs them in one
//! `BEGIN IMMEDIATE` transaction, each inside its own savepoint so a failing closure undoes
//! only its own writes, and answers each closure only after the `COMMIT` (one fsync with
//! `synchronous=FULL`) has returned. Many concurrent webhooks therefore share one fsync while
//! each still waits for its own durable commit. Reads use a separate pool of connections,
//! which WAL lets run alongside the writer.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection as _, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use frontdesk_domain::model::OutboxJob;

use crate::common::{db_err, define_backend};
use crate::vault::Vault;
use crate::{StoreError, StoreResult, WriteOp};

mod department_settings;
mod writer;

use writer::{InternalOp, Output, Request, SqliteTx};

/// Closures waiting for the writer before senders have to wait (back-pressure).
const QUEUE_DEPTH: usize = 4096;
const READ_CONNECTIONS: u32 = 4;
/// How long a statement waits for a lock held by another process (for example a CLI command
/// run next to `serve`) before the write is answered with `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    requests: mpsc::Sender<Request>,
    readers: SqlitePool,
    vault: Arc<Vault>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

define_backend!(
    db: sqlx::Sqlite,
    row: sqlx::sqlite::SqliteRow,
    store: SqliteStore,
    name: "sqlite",
    // SQLite has no row locks: the single writer already serialises every write.
    for_update: "",
    skip_locked: "",
    // Writes run on the writer thread's rusqlite connection (`writer`).
    writes: none,
);
crate::common::triage::triage_sqlx!(db: sqlx::Sqlite, store: SqliteStore);

impl SqliteStore {
    /// Opens (creating if missing) the database named by `url`: `sqlite:///abs/path.db`,
    /// `sqlite://relative.db`, `sqlite::memory:` or a plain path, applies migrations and
    /// starts the writer thread. Must be called inside a Tokio runtime.
    pub async fn open(url: &str, vault: Arc<Vault>) -> StoreResult<SqliteStore> {
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Other(format!("invalid SQLite URL {url:?}: {e}")))?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let shown = options.get_filename().display().to_string();

        let mut write_options = options
            .clone()
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Full);
        if !in_memory {
            write_options = write_options.journal_mode(SqliteJournalMode::Wal);
        }
        let mut conn = SqliteConnection::connect_with(&write_options).await.map_err(|e| open_error(&shown, e))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Other(format!("could not apply migrations to {shown}: {e}")))?;
        // The writer thread's own connection, opened while the migration connection still
        // holds an in-memory database open.
        let filename = options
            .get_filename()
            .to_str()
            .ok_or_else(|| StoreError::Other(format!("the SQLite path {shown} is not valid UTF-8")))?
            .to_owned();
        let writer_conn = writer::open(&filename, in_memory, BUSY_TIMEOUT).map_err(|e| match e {
            StoreError::Other(m) => StoreError::Other(format!(
                "could not open the SQLite database {shown}: {m}; check that its directory exists and is writable"
            )),
            other => other,
        })?;
        if let Err(e) = conn.close().await {
            tracing::warn!(error = %e, "closing the SQLite migration connection failed");
        }

        // Readers never write; opening them read-only makes that a guarantee. (An in-memory
        // database is shared through SQLite's shared cache, which needs read-write opens.)
        let read_options = options.foreign_keys(true).busy_timeout(BUSY_TIMEOUT).read_only(!in_memory);
        let readers = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(read_options)
            .await
            .map_err(|e| open_error(&shown, e))?;

        let (requests, queue) = mpsc::channel(QUEUE_DEPTH);
        writer::spawn(SqliteTx::new(writer_conn, vault.clone()), queue)?;
        Ok(SqliteStore { requests, readers, vault })
    }

    fn reader(&self) -> &SqlitePool {
        &self.readers
    }

    fn vault(&self) -> &Vault {
        &self.vault
    }

    async fn submit(&self, op: InternalOp) -> StoreResult<Output> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((op, reply))
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the SQLite writer stopped before answering".into()))?
    }

    async fn do_write(&self, op: WriteOp) -> StoreResult<Output> {
        self.submit(Box::new(move |tx: &mut SqliteTx| op(tx))).await
    }

    async fn do_claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxJob>> {
        // Through the writer: claiming is a write, and running it there makes concurrent
        // claimers strictly serial, so no job can be handed out twice.
        let owner = owner.to_owned();
        let out = self
            .submit(Box::new(move |tx: &mut SqliteTx| {
                let jobs = tx.claim_jobs(&owner, now, lease_until, limit);
                Box::pin(async move { Ok(Box::new(jobs?) as Output) })
            }))
            .await?;
        out.downcast::<Vec<OutboxJob>>()
            .map(|b| *b)
            .map_err(|_| StoreError::Other("claim_jobs returned an unexpected type".into()))
    }

    async fn do_ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.readers).await.map_err(db_err)?;
        // An empty write proves the writer is alive and can take the write lock.
        self.submit(Box::new(|_tx: &mut SqliteTx| Box::pin(async { Ok(Box::new(()) as Output) }))).await?;
        Ok(())
    }

    /// One process owns a SQLite database: nobody else to tell.
    async fn do_broadcast(&self, _payload: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn do_listen(&self) -> StoreResult<Option<mpsc::Receiver<String>>> {
        Ok(None)
    }

    /// One process owns a SQLite database, so it is always the singleton.
    async fn do_try_singleton(&self, _name: &str) -> StoreResult<Option<crate::SingletonLease>> {
        Ok(Some(crate::SingletonLease::new(Box::new(|| Box::pin(async { true })))))
    }

    async fn do_backup(&self, path: &Path) -> StoreResult<()> {
        if path.exists() {
            return Err(StoreError::Other(format!(
                "{} already exists; a backup never overwrites a file, so choose a new file name",
                path.display()
            )));
        }
        let target = path.to_str().ok_or_else(|| {
            StoreError::Other(format!("the backup path {} is not valid UTF-8; choose another", path.display()))
        })?;
        // VACUUM INTO writes a consistent, compacted snapshot from a read transaction, so
        // writers keep going while it runs.
        sqlx::query("VACUUM INTO $1").bind(target.to_owned()).execute(&self.readers).await.map_err(
            |e| match db_err(e) {
                StoreError::Other(m) => StoreError::Other(format!("backup to {} failed: {m}", path.display())),
                other => other,
            },
        )?;
        Ok(())
    }
}

fn open_error(shown: &str, e: sqlx::Error) -> StoreError {
    match db_err(e) {
        StoreError::Other(m) => StoreError::Other(format!(
            "could not open the SQLite database {shown}: {m}; check that its directory exists and is writable"
        )),
        other => other,
    }
}
