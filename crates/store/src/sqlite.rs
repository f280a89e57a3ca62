//! The embedded SQLite store (the default).
//!
//! Durability and throughput come from group commit (DESIGN.md §3 "Writes and durability"):
//! one writer task owns the only write connection and receives write closures over a bounded
//! channel. It takes every closure already waiting (up to [`MAX_BATCH`]), runs them in one
//! `BEGIN IMMEDIATE` transaction, each inside its own savepoint so a failing closure undoes
//! only its own writes, and answers each closure only after the `COMMIT` (one fsync with
//! `synchronous=FULL`) has returned. Many concurrent webhooks therefore share one fsync while
//! each still waits for its own durable commit. Reads use a separate pool of connections,
//! which WAL lets run alongside the writer.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection as _, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use frontdesk_domain::model::OutboxJob;

use crate::common::{db_err, define_backend, panic_message};
use crate::vault::Vault;
use crate::{StoreError, StoreResult, WriteOp};

/// Most closures committed together. Bounds the time one batch holds the write lock and the
/// work lost to a failed commit, while being far above what a busy practice queues.
const MAX_BATCH: usize = 512;
/// Closures waiting for the writer before senders have to wait (back-pressure).
const QUEUE_DEPTH: usize = 4096;
const READ_CONNECTIONS: u32 = 4;
/// How long a statement waits for a lock held by another process (for example a CLI command
/// run next to `serve`) before the write is answered with `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

type Output = Box<dyn Any + Send>;
/// A write as the writer task runs it: with the concrete transaction type, so the store's own
/// operations (`claim_jobs`) can run there too.
type InternalOp = Box<dyn for<'t> FnOnce(&'t mut SqliteTx) -> BoxFuture<'t, StoreResult<Output>> + Send>;
type Request = (InternalOp, oneshot::Sender<StoreResult<Output>>);

/// The writer's connection, handed to write closures as their `WriteTx`.
pub(crate) struct SqliteTx {
    conn: SqliteConnection,
    vault: Arc<Vault>,
}

impl SqliteTx {
    fn parts(&mut self) -> (&mut SqliteConnection, &Vault) {
        (&mut self.conn, &self.vault)
    }

    async fn exec(&mut self, sql: &'static str) -> StoreResult<()> {
        sqlx::raw_sql(sql).execute(&mut self.conn).await.map(|_| ()).map_err(db_err)
    }
}

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
    conn: sqlx::SqliteConnection,
    tx: SqliteTx,
    store: SqliteStore,
    name: "sqlite",
    // SQLite has no row locks: the single writer already serialises every write.
    for_update: "",
    skip_locked: "",
);

impl SqliteStore {
    /// Opens (creating if missing) the database named by `url`: `sqlite:///abs/path.db`,
    /// `sqlite://relative.db`, `sqlite::memory:` or a plain path, applies migrations and
    /// starts the writer task. Must be called inside a Tokio runtime.
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
        tokio::spawn(run_writer(SqliteTx { conn, vault: vault.clone() }, queue));
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
                Box::pin(async move {
                    let jobs = q::claim_jobs(&mut tx.conn, &owner, now, lease_until, limit).await?;
                    Ok(Box::new(jobs) as Output)
                })
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

/// The writer task: one batch at a time until every `SqliteStore` handle is gone, then it
/// finishes what is queued and closes the connection cleanly (which checkpoints the WAL).
async fn run_writer(mut tx: SqliteTx, mut queue: mpsc::Receiver<Request>) {
    let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        run_batch(&mut tx, &mut batch).await;
        batch.clear();
    }
    if let Err(e) = tx.conn.close().await {
        tracing::warn!(error = %e, "closing the SQLite writer connection failed");
    }
}

async fn run_batch(tx: &mut SqliteTx, batch: &mut Vec<Request>) {
    if let Err(e) = tx.exec("BEGIN IMMEDIATE").await {
        for (_, reply) in batch.drain(..) {
            let _ = reply.send(Err(clone_unavailable(&e)));
        }
        return;
    }
    let mut answers: Vec<(oneshot::Sender<StoreResult<Output>>, StoreResult<Output>)> = Vec::with_capacity(batch.len());
    let mut requests = batch.drain(..);
    let mut fatal: Option<StoreError> = None;
    for (op, reply) in requests.by_ref() {
        // A caller that gave up (its future was dropped) gets no write: nothing will read
        // the answer, and a webhook that timed out is retried by its provider anyway.
        if reply.is_closed() {
            continue;
        }
        if let Err(e) = tx.exec("SAVEPOINT op").await {
            fatal = Some(e);
            answers.push((reply, Err(StoreError::Unavailable("the write batch failed".into()))));
            break;
        }
        let result = match AssertUnwindSafe(op(tx)).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => Err(StoreError::Other(panic_message(panic.as_ref()))),
        };
        let closed = if result.is_ok() {
            tx.exec("RELEASE op").await
        } else {
            match tx.exec("ROLLBACK TO op").await {
                Ok(()) => tx.exec("RELEASE op").await,
                Err(e) => Err(e),
            }
        };
        answers.push((reply, result));
        if let Err(e) = closed {
            // The transaction is no longer what we think it is (SQLite rolls back the whole
            // transaction on some errors, such as a full disk): give up on the whole batch.
            fatal = Some(e);
            break;
        }
    }
    let outcome = match fatal {
        Some(e) => Err(e),
        None => tx.exec("COMMIT").await,
    };
    match outcome {
        Ok(()) => {
            for (reply, result) in answers {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            // Nothing of this batch is durable. ROLLBACK may itself fail if SQLite already
            // rolled back; either way the connection is out of the transaction afterwards.
            let _ = tx.exec("ROLLBACK").await;
            tracing::error!(error = %e, "an SQLite write batch failed and was rolled back");
            let unavailable = StoreError::Unavailable(format!("the write was not committed: {e}"));
            for (reply, result) in answers {
                // A closure that failed by itself keeps its own error (it wrote nothing
                // either way); everything else learns that the batch did not commit.
                let answer = match result {
                    Err(own) => Err(own),
                    Ok(_) => Err(clone_unavailable(&unavailable)),
                };
                let _ = reply.send(answer);
            }
            for (_, reply) in requests {
                let _ = reply.send(Err(clone_unavailable(&unavailable)));
            }
        }
    }
}

/// Every waiter of a failed batch gets its own copy of the error, as `Unavailable`: nothing
/// was written, and retrying later can succeed.
fn clone_unavailable(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Unavailable(other.to_string()),
    }
}
