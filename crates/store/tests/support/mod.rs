//! Test harness for the conformance suite: a fresh store per test, on SQLite (a temporary
//! file) or PostgreSQL (a fresh database created from `FRONTDESK_TEST_POSTGRES_URL` and
//! dropped afterwards, even when the test fails).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::Connection as _;

use frontdesk_store::{MasterKey, Store, StoreResult, Vault, WriteTx};

pub const PG_ENV: &str = "FRONTDESK_TEST_POSTGRES_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub kind: Kind,
    pub store: Arc<dyn Store>,
    pub url: String,
    pub key: MasterKey,
    /// The SQLite database file.
    pub db_path: Option<PathBuf>,
    pub dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

impl Harness {
    /// `None` when the backend is not configured (PostgreSQL without the env variable).
    pub async fn new(kind: Kind) -> Option<Harness> {
        let key = MasterKey::generate();
        let vault = Arc::new(Vault::new(&key));
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("frontdesk.db");
                let url = format!("sqlite://{}", path.display());
                let store = frontdesk_store::connect(&url, vault).await.expect("open SQLite store");
                Some(Harness { kind, store, url, key, db_path: Some(path), dir: Some(dir), _pg: None })
            }
            Kind::Postgres => {
                let admin = std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty())?;
                let pg = PgDatabase::create(&admin).await;
                let url = pg.url.clone();
                let store = frontdesk_store::connect(&url, vault).await.expect("open PostgreSQL store");
                Some(Harness { kind, store, url, key, db_path: None, dir: None, _pg: Some(pg) })
            }
        }
    }

    /// Opens the same database again with another master key.
    pub async fn reopen_with(&self, key: &MasterKey) -> Arc<dyn Store> {
        frontdesk_store::connect(&self.url, Arc::new(Vault::new(key))).await.expect("reopen store")
    }

    /// Runs a statement directly against the database, bypassing the store (to plant bad data).
    pub async fn raw_exec(&self, sql: &'static str) {
        match self.kind {
            Kind::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.expect("raw sqlite connect");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("raw sqlite exec");
                c.close().await.ok();
            }
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.expect("raw pg connect");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("raw pg exec");
                c.close().await.ok();
            }
        }
    }

    /// Every byte the database holds for one column (PostgreSQL) — the closest we get to
    /// reading its files.
    pub async fn raw_pg_bytes(&self, sql: &'static str) -> Vec<u8> {
        let mut c = sqlx::PgConnection::connect(&self.url).await.expect("raw pg connect");
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(sql).fetch_all(&mut c).await.expect("raw pg query");
        c.close().await.ok();
        rows.into_iter().flat_map(|r| r.0).collect()
    }

    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("SQLite harness has a dir").path()
    }
}

/// A throw-away PostgreSQL database, dropped when this guard is.
struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin: &str) -> PgDatabase {
        let name = format!("fd_test_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(admin).await.expect("connect to FRONTDESK_TEST_POSTGRES_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .expect("create test database");
        c.close().await.ok();
        PgDatabase { admin: admin.to_owned(), url: with_database(admin, &name), name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be shutting down: use a small
        // runtime on its own thread. WITH (FORCE) ends the store's pooled connections.
        let admin = self.admin.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut c)
                        .await;
                    let _ = c.close().await;
                }
            });
        })
        .join();
    }
}

/// `postgres://u@h:p/db?x` with the database replaced (or added).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..].find('/').map(|i| after_scheme + i).unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A fixed instant plus `offset` milliseconds: millisecond precision, as stored.
pub fn t(offset: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_750_000_000_000 + offset).expect("valid time")
}

/// Typed write helper over `Arc<dyn Store>`.
pub async fn w<R, F>(store: &Arc<dyn Store>, f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn WriteTx) -> BoxFuture<'t, StoreResult<R>> + Send + 'static,
{
    frontdesk_store::write(&**store, f).await
}

/// Generates one test per backend for each scenario `async fn name(h: Harness)`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let h = $crate::support::Harness::new($crate::support::Kind::Sqlite).await.expect("sqlite");
                    super::$name(h).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    match $crate::support::Harness::new($crate::support::Kind::Postgres).await {
                        Some(h) => super::$name(h).await,
                        None => eprintln!("skipped: set {} to run the PostgreSQL conformance tests", $crate::support::PG_ENV),
                    }
                }
            )+
        }
    };
}
