//! `frontdesk db copy`: moves a practice's data from the embedded SQLite database to
//! PostgreSQL (the upgrade path for running several instances).
//!
//! Table-driven: [`TABLES`] lists every table in foreign-key order with its columns and how
//! each is stored on the two backends. A table or column in the source that the list does not
//! know stops the copy before anything is written, so a future migration cannot be skipped
//! silently.
//!
//! The source is opened read-only and read inside one transaction (a consistent snapshot,
//! even with a server still writing to it). The target is migrated, checked to be empty, and
//! filled inside one transaction in multi-row batches, so a copy that fails part way leaves the
//! target empty and can simply be run again. Sealed columns are copied byte for byte: their
//! AAD is the row id and column name, both unchanged, so the same master key opens them on
//! the target. At the end the rows of every table are counted on both sides.

use std::str::FromStr;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Connection as _, PgPool, Postgres, QueryBuilder, Row as _, SqliteConnection};

use crate::{StoreError, StoreResult};

/// How a column is stored: SQLite type on the left, PostgreSQL type on the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// 16-byte BLOB / UUID, not null.
    Uuid,
    /// 16-byte BLOB / UUID, nullable.
    OptUuid,
    /// INTEGER or BIGINT, not null.
    Int,
    /// INTEGER or BIGINT, nullable.
    OptInt,
    Text,
    OptText,
    /// INTEGER 0/1 / BOOLEAN, not null.
    Bool,
    /// REAL / DOUBLE PRECISION, not null.
    Real,
    /// BLOB / BYTEA (sealed values), not null.
    Bytes,
    /// BLOB / BYTEA (sealed values), nullable.
    OptBytes,
}

/// One table the copier moves.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// The primary key: rows are read in this order.
    pub key: &'static [&'static str],
    pub columns: &'static [(&'static str, ColumnKind)],
}

use ColumnKind as K;

/// Every table of the schema, parents before children.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("email", K::Text),
            ("name", K::Text),
            ("role", K::Text),
            ("password_hash", K::Text),
            ("disabled", K::Bool),
            ("created_at", K::Int),
            ("totp_secret", K::OptBytes),
            ("totp_enabled", K::Bool),
            ("failed_logins", K::Int),
            ("locked_until", K::OptInt),
            ("totp_last_step", K::Int),
        ],
    },
    Table {
        name: "api_tokens",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("name", K::Text),
            ("token_hash", K::Text),
            ("created_by", K::OptUuid),
            ("created_at", K::Int),
            ("revoked_at", K::OptInt),
        ],
    },
    Table { name: "departments", key: &["id"], columns: &[("id", K::Uuid), ("name", K::Text), ("created_at", K::Int)] },
    Table {
        name: "practice_numbers",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("e164", K::Text),
            ("provider", K::Text),
            ("messaging_service_sid", K::OptText),
            ("default_department_id", K::OptUuid),
            ("rate_limit_per_sec", K::Real),
            ("created_at", K::Int),
        ],
    },
    Table {
        name: "contacts",
        key: &["id"],
        columns: &[("id", K::Uuid), ("phone", K::Text), ("opted_out", K::Bool), ("created_at", K::Int)],
    },
    Table {
        name: "patients",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("details", K::Bytes),
            ("status", K::Text),
            ("mrn_index", K::OptText),
            ("created_at", K::Int),
            ("match_index", K::OptText),
            ("language", K::OptText),
            ("time_zone", K::OptText),
        ],
    },
    Table {
        name: "contact_patients",
        key: &["contact_id", "patient_id"],
        columns: &[("contact_id", K::Uuid), ("patient_id", K::Uuid)],
    },
    Table {
        name: "threads",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("number_id", K::Uuid),
            ("contact_id", K::Uuid),
            ("created_at", K::Int),
            ("last_message_at", K::Int),
        ],
    },
    Table {
        name: "conversations",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("thread_id", K::Uuid),
            ("status", K::Text),
            ("department_id", K::OptUuid),
            ("assignee_id", K::OptUuid),
            ("patient_id", K::OptUuid),
            ("urgent", K::Bool),
            ("snoozed_until", K::OptInt),
            ("opened_at", K::Int),
            ("closed_at", K::OptInt),
            ("last_message_at", K::Int),
            ("waiting_since", K::OptInt),
            ("unread_count", K::Int),
            // The front door (0008_front_door.sql).
            ("source", K::Text),
            ("reason_key", K::OptText),
        ],
    },
    Table {
        name: "messages",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("conversation_id", K::Uuid),
            ("thread_id", K::Uuid),
            ("direction", K::Text),
            ("body", K::Bytes),
            ("media", K::OptBytes),
            ("sender", K::Text),
            ("sender_user_id", K::OptUuid),
            ("provider", K::Text),
            ("provider_message_id", K::OptText),
            ("status", K::Text),
            ("error_code", K::OptText),
            ("error_message", K::OptText),
            ("encoding", K::Text),
            ("segments", K::Int),
            ("created_at", K::Int),
            ("updated_at", K::Int),
            ("needs_review", K::Bool),
        ],
    },
    Table {
        name: "provider_receipts",
        key: &["provider", "provider_message_id"],
        columns: &[("provider", K::Text), ("provider_message_id", K::Text), ("received_at", K::Int)],
    },
    Table {
        name: "consent_events",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("contact_id", K::Uuid),
            ("purpose", K::Text),
            ("granted", K::Bool),
            ("source", K::Text),
            ("evidence", K::Text),
            ("created_at", K::Int),
        ],
    },
    Table {
        name: "outbox_jobs",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("message_id", K::Uuid),
            ("number_id", K::Uuid),
            ("state", K::Text),
            ("attempts", K::Int),
            ("next_attempt_at", K::Int),
            ("lease_owner", K::OptText),
            ("lease_until", K::OptInt),
            ("handoff_started_at", K::OptInt),
            ("last_error", K::OptText),
            ("created_at", K::Int),
        ],
    },
    Table {
        name: "audit_events",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("at", K::Int),
            ("actor", K::Text),
            ("action", K::Text),
            ("target", K::OptText),
            ("ip", K::OptText),
            ("detail", K::OptText),
            // The chain is copied verbatim: the same master key verifies it on the target.
            ("seq", K::OptInt),
            ("prev_hash", K::OptText),
            ("hash", K::OptText),
        ],
    },
    Table {
        name: "audit_head",
        key: &["id"],
        columns: &[("id", K::Int), ("seq", K::Int), ("hash", K::Text), ("unchained", K::Int)],
    },
    Table {
        name: "user_departments",
        key: &["user_id", "department_id"],
        columns: &[("user_id", K::Uuid), ("department_id", K::Uuid)],
    },
    Table {
        name: "recovery_codes",
        key: &["user_id", "code_hash"],
        columns: &[("user_id", K::Uuid), ("code_hash", K::Text), ("used_at", K::OptInt)],
    },
    Table {
        name: "sessions",
        key: &["id_hash"],
        columns: &[
            ("id_hash", K::Text),
            ("user_id", K::Uuid),
            ("csrf_token", K::Text),
            ("created_at", K::Int),
            ("last_seen_at", K::Int),
            ("expires_at", K::Int),
            ("mfa_verified", K::Bool),
            ("ip", K::OptText),
        ],
    },
    Table {
        name: "notes",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("conversation_id", K::Uuid),
            ("thread_id", K::Uuid),
            ("author_id", K::OptUuid),
            ("body", K::Bytes),
            ("created_at", K::Int),
        ],
    },
    Table {
        name: "templates",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("name", K::Text),
            ("body", K::Text),
            ("created_at", K::Int),
            ("updated_at", K::Int),
        ],
    },
    Table { name: "settings", key: &["key"], columns: &[("key", K::Text), ("value", K::Text), ("updated_at", K::Int)] },
    Table {
        name: "message_terms",
        key: &["term", "message_id"],
        columns: &[("term", K::Text), ("message_id", K::Uuid)],
    },
    Table {
        name: "patient_terms",
        key: &["term", "patient_id"],
        columns: &[("term", K::Text), ("patient_id", K::Uuid)],
    },
    Table { name: "send_slots", key: &["number_id"], columns: &[("number_id", K::Uuid), ("next_at_us", K::Int)] },
    // Secure forms (0004_forms.sql).
    Table {
        name: "form_requests",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("token_hash", K::Text),
            ("conversation_id", K::Uuid),
            ("form_key", K::Text),
            ("status", K::Text),
            ("created_at", K::Int),
            ("expires_at", K::Int),
            ("opened_at", K::OptInt),
            ("submitted_at", K::OptInt),
            ("dob_attempts", K::Int),
            ("locked_until", K::OptInt),
            ("sent_by", K::OptUuid),
        ],
    },
    Table {
        name: "form_submissions",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("request_id", K::Uuid),
            ("answers", K::Bytes),
            ("score", K::OptText),
            ("created_at", K::Int),
        ],
    },
    Table {
        name: "form_files",
        key: &["id"],
        columns: &[("id", K::Uuid), ("submission_id", K::Uuid), ("content_type", K::Text), ("bytes", K::Bytes)],
    },
    Table {
        name: "legal_holds",
        key: &["patient_id"],
        columns: &[("patient_id", K::Uuid), ("reason", K::Text), ("set_by", K::Text), ("set_at", K::Int)],
    },
    Table {
        name: "throttle_hits",
        key: &["key"],
        columns: &[("key", K::Text), ("window_start", K::Int), ("hits", K::Int)],
    },
    // Triage and assignment (0009_triage.sql).
    Table {
        name: "routing_config",
        key: &["id"],
        columns: &[("id", K::Int), ("document", K::Text), ("updated_at", K::Int)],
    },
    Table {
        name: "conversation_routing",
        key: &["conversation_id"],
        columns: &[
            ("conversation_id", K::Uuid),
            ("priority", K::Text),
            ("tags", K::Text),
            ("menu_state", K::Text),
            ("updated_at", K::Int),
        ],
    },
    Table {
        name: "department_members",
        key: &["department_id", "user_id"],
        columns: &[("department_id", K::Uuid), ("user_id", K::Uuid), ("capacity", K::Int)],
    },
    Table {
        name: "user_availability",
        key: &["user_id"],
        columns: &[("user_id", K::Uuid), ("available", K::Bool), ("updated_at", K::Int)],
    },
    Table {
        name: "department_assignment",
        key: &["department_id"],
        columns: &[("department_id", K::Uuid), ("strategy", K::Text), ("last_user_id", K::OptUuid)],
    },
    // The front door (0008_front_door.sql).
    Table {
        name: "sms_policy_versions",
        key: &["version"],
        columns: &[("version", K::Int), ("content", K::Text), ("created_at", K::Int), ("created_by", K::OptUuid)],
    },
    // Department hours and automation marks (0007_department_hours.sql).
    Table {
        name: "department_settings",
        key: &["department_id"],
        columns: &[("department_id", K::Uuid), ("settings", K::Text), ("updated_at", K::Int)],
    },
    Table { name: "automation_marks", key: &["key"], columns: &[("key", K::Text), ("at", K::Int)] },
    Table {
        name: "consent_reviews",
        key: &["conversation_id"],
        columns: &[("conversation_id", K::Uuid), ("message_id", K::Uuid), ("created_at", K::Int)],
    },
    Table {
        name: "report_days",
        key: &["day"],
        columns: &[("day", K::Text), ("time_zone", K::Text), ("computed_at", K::Int), ("rollup", K::Text)],
    },
    Table {
        name: "chart_jobs",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("conversation_id", K::Uuid),
            ("status", K::Text),
            ("attempts", K::Int),
            ("next_attempt_at", K::Int),
            ("lease_owner", K::OptText),
            ("lease_until", K::OptInt),
            ("last_error", K::OptText),
            ("requested_by", K::OptUuid),
            ("created_at", K::Int),
            ("updated_at", K::Int),
        ],
    },
    Table {
        name: "referrals",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("patient_id", K::Uuid),
            ("status", K::Text),
            ("details", K::Bytes),
            ("received_at", K::Int),
            ("conversation_id", K::OptUuid),
            ("first_contact_at", K::OptInt),
            ("next_action_at", K::OptInt),
            ("followups", K::Int),
            ("updated_at", K::Int),
        ],
    },
    Table {
        name: "referral_events",
        key: &["referral_id", "status"],
        columns: &[("referral_id", K::Uuid), ("status", K::Text), ("at", K::Int), ("actor", K::OptUuid)],
    },
    // Outreach: scheduled messages and broadcasts (0013_outreach.sql).
    Table {
        name: "scheduled_messages",
        key: &["id"],
        columns: &[
            ("id", K::Uuid),
            ("conversation_id", K::Uuid),
            ("contact_id", K::Uuid),
            ("body", K::Bytes),
            ("kind", K::Text),
            ("sender", K::Text),
            ("created_by", K::OptUuid),
            ("send_at", K::Int),
            ("requested_at", K::Int),
            ("status", K::Text),
            ("reason", K::OptText),
            ("message_id", K::OptUuid),
            ("created_at", K::Int),
            ("updated_at", K::Int),
        ],
    },
    Table {
        name: "broadcasts",
        key: &["id"],
        columns: &[("id", K::Uuid), ("body", K::Text), ("created_by", K::OptUuid), ("created_at", K::Int)],
    },
    Table {
        name: "broadcast_recipients",
        key: &["broadcast_id", "position"],
        columns: &[
            ("broadcast_id", K::Uuid),
            ("position", K::Int),
            ("patient_id", K::Uuid),
            ("status", K::Text),
            ("reason", K::OptText),
            ("scheduled_id", K::OptUuid),
        ],
    },
];

/// Tables of the database's own bookkeeping, never copied.
fn is_internal(table: &str) -> bool {
    table.starts_with("sqlite_") || table == "_sqlx_migrations"
}

/// Rows per INSERT statement unless told otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 1000;

#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Read and count everything and check the target, but write nothing (not even the
    /// schema).
    pub dry_run: bool,
    /// Rows per INSERT (1 to 2,000).
    pub batch_size: usize,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions { dry_run: false, batch_size: DEFAULT_BATCH_SIZE }
    }
}

/// Where the copy of one table stands; `done` is set once, on its last report.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub table: &'a str,
    pub rows: u64,
    pub total: u64,
    pub elapsed: Duration,
    pub done: bool,
}

impl Progress<'_> {
    pub fn rows_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.rows as f64 / secs } else { 0.0 }
    }
}

/// One table's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    /// Rows in the source snapshot.
    pub source: u64,
    /// Rows read from the source (and, unless a dry run, written).
    pub copied: u64,
    /// Rows in the target after the copy was committed (`None` on a dry run).
    pub target: Option<u64>,
}

impl TableCount {
    pub fn matches(&self) -> bool {
        self.copied == self.source && self.target.is_none_or(|t| t == self.source)
    }
}

#[derive(Debug, Clone)]
pub struct CopyReport {
    pub dry_run: bool,
    /// The target had no Frontdesk schema yet (a dry run leaves it so; a copy created it).
    pub target_had_schema: bool,
    pub tables: Vec<TableCount>,
    pub elapsed: Duration,
}

impl CopyReport {
    /// Tables whose counts differ between the two sides.
    pub fn mismatches(&self) -> Vec<&TableCount> {
        self.tables.iter().filter(|t| !t.matches()).collect()
    }

    pub fn verified(&self) -> bool {
        self.mismatches().is_empty()
    }

    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.source).sum()
    }
}

/// Whether `url` names a SQLite database (the only source `db copy` reads).
pub fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Whether `url` names a PostgreSQL database (the only target `db copy` writes).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Copies every row of the SQLite database at `from` into the empty PostgreSQL database at
/// `to`, reporting progress per table through `progress`, and counts both sides at the end.
/// The caller decides what a mismatch means ([`CopyReport::verified`]).
pub async fn sqlite_to_postgres(
    from: &str,
    to: &str,
    options: &CopyOptions,
    progress: &mut (dyn FnMut(&Progress<'_>) + Send),
) -> StoreResult<CopyReport> {
    let started = Instant::now();
    if !is_sqlite_url(from) {
        return Err(StoreError::Other(
            "the source (--from) must be a SQLite database URL such as sqlite:///var/lib/frontdesk/frontdesk.db; \
             `db copy` moves data from SQLite to PostgreSQL only"
                .into(),
        ));
    }
    if !is_postgres_url(to) {
        return Err(StoreError::Other(
            "the target (--to) must be a PostgreSQL URL such as postgres://user@host/frontdesk; \
             `db copy` moves data from SQLite to PostgreSQL only"
                .into(),
        ));
    }
    if from.contains(":memory:") || from.contains("mode=memory") {
        return Err(StoreError::Other(
            "the source is an in-memory SQLite database, which holds nothing to copy".into(),
        ));
    }
    if !(1..=2000).contains(&options.batch_size) {
        return Err(StoreError::Other(format!("the batch size must be 1 to 2000 rows, not {}", options.batch_size)));
    }

    // ---- source: read-only, one snapshot ----
    let source_options = SqliteConnectOptions::from_str(from)
        .map_err(|e| StoreError::Other(format!("invalid SQLite URL: {e}")))?
        .read_only(true)
        .create_if_missing(false);
    let shown = source_options.get_filename().display().to_string();
    if !source_options.get_filename().exists() {
        return Err(StoreError::Other(format!("the SQLite database {shown} does not exist")));
    }
    let mut source = SqliteConnection::connect_with(&source_options)
        .await
        .map_err(|e| StoreError::Unavailable(format!("could not open the SQLite database {shown}: {e}")))?;
    // A deferred transaction takes its snapshot at the first read and keeps it until the end.
    sqlx::raw_sql("BEGIN").execute(&mut source).await.map_err(ctx("could not start reading the SQLite database"))?;
    check_source_schema(&mut source, &shown).await?;

    let mut source_counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", table.name)))
            .fetch_one(&mut source)
            .await
            .map_err(ctx(&format!("could not count the rows of {} in the SQLite database", table.name)))?;
        source_counts.push(n as u64);
    }

    // ---- target: reachable, empty, migrated ----
    let target_options: PgConnectOptions =
        to.parse().map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
    let target = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(target_options)
        .await
        .map_err(|e| StoreError::Unavailable(format!("could not connect to PostgreSQL: {e}")))?;
    let target_had_schema = check_target_empty(&target).await?;
    if !options.dry_run {
        sqlx::migrate!("migrations/postgres")
            .run(&target)
            .await
            .map_err(|e| StoreError::Other(format!("could not apply the PostgreSQL migrations to the target: {e}")))?;
    }
    if !options.dry_run || target_had_schema {
        // A dry run does not migrate, so columns of migrations not yet applied may be missing.
        check_target_schema(&target, options.dry_run).await?;
    }

    // ---- copy ----
    let mut tx = if options.dry_run {
        None
    } else {
        Some(target.begin().await.map_err(ctx("could not start a transaction on PostgreSQL"))?)
    };
    let mut copied_counts = Vec::with_capacity(TABLES.len());
    for (table, &total) in TABLES.iter().zip(&source_counts) {
        let table_started = Instant::now();
        progress(&Progress { table: table.name, rows: 0, total, elapsed: Duration::ZERO, done: false });
        let select = format!(
            "SELECT {} FROM {} ORDER BY {}",
            table.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "),
            table.name,
            table.key.join(", ")
        );
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut source);
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(options.batch_size);
        let mut copied = 0u64;
        let mut last_report = Instant::now();
        loop {
            let next = rows.next().await;
            let end = next.is_none();
            if let Some(row) = next {
                let row = row.map_err(ctx(&format!("could not read {} from the SQLite database", table.name)))?;
                batch.push(decode_row(table, &row)?);
            }
            if batch.len() == options.batch_size || (end && !batch.is_empty()) {
                if let Some(tx) = tx.as_mut() {
                    insert_batch(tx, table, &batch).await?;
                }
                copied += batch.len() as u64;
                batch.clear();
                if last_report.elapsed() >= Duration::from_millis(200) {
                    last_report = Instant::now();
                    let elapsed = table_started.elapsed();
                    progress(&Progress { table: table.name, rows: copied, total, elapsed, done: false });
                }
            }
            if end {
                break;
            }
        }
        drop(rows);
        let elapsed = table_started.elapsed();
        progress(&Progress { table: table.name, rows: copied, total, elapsed, done: true });
        copied_counts.push(copied);
    }
    if let Some(tx) = tx {
        tx.commit().await.map_err(ctx("could not commit the copy on PostgreSQL (nothing was written)"))?;
    }
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut source).await;
    let _ = source.close().await;

    // ---- verify ----
    let mut tables = Vec::with_capacity(TABLES.len());
    for ((table, source), copied) in TABLES.iter().zip(source_counts).zip(copied_counts) {
        let target_count = if options.dry_run {
            None
        } else {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", table.name)))
                .fetch_one(&target)
                .await
                .map_err(ctx(&format!("could not count the rows of {} in PostgreSQL", table.name)))?;
            Some(n as u64)
        };
        tables.push(TableCount { table: table.name, source, copied, target: target_count });
    }
    if !options.dry_run {
        // Fresh statistics, so the planner does not guess on a just-filled database.
        if let Err(e) = sqlx::raw_sql("ANALYZE").execute(&target).await {
            tracing::warn!(error = %e, "ANALYZE after the copy failed");
        }
    }
    target.close().await;
    Ok(CopyReport { dry_run: options.dry_run, target_had_schema, tables, elapsed: started.elapsed() })
}

fn ctx(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError::Other(format!("{what}: {e}"))
}

/// The source's tables and columns are exactly the ones [`TABLES`] knows.
async fn check_source_schema(source: &mut SqliteConnection, shown: &str) -> StoreResult<()> {
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(&mut *source)
        .await
        .map_err(ctx(&format!("could not read the tables of {shown}")))?;
    if !names.iter().any(|n| n == "_sqlx_migrations") {
        return Err(StoreError::Other(format!("{shown} is not a Frontdesk database (it has no migration history)")));
    }
    let unknown: Vec<&str> =
        names.iter().map(String::as_str).filter(|n| !is_internal(n) && !TABLES.iter().any(|t| t.name == *n)).collect();
    if !unknown.is_empty() {
        return Err(StoreError::Other(format!(
            "the SQLite database has tables the copier does not know: {}; this version of `db copy` would skip \
             their data, so it stops here (use the frontdesk version that created the database)",
            unknown.join(", ")
        )));
    }
    let missing: Vec<&str> = TABLES.iter().map(|t| t.name).filter(|t| !names.iter().any(|n| n == t)).collect();
    if !missing.is_empty() {
        return Err(StoreError::Other(format!(
            "the SQLite database lacks the tables {}: its schema is older than this frontdesk; start this \
             version of frontdesk against it once (which applies the migrations), then copy",
            missing.join(", ")
        )));
    }
    for table in TABLES {
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?1)")
            .bind(table.name)
            .fetch_all(&mut *source)
            .await
            .map_err(ctx(&format!("could not read the columns of {}", table.name)))?;
        compare_columns(table, &columns, "SQLite", false)?;
    }
    Ok(())
}

/// Answers whether the target already has the Frontdesk schema; errors if any of its tables
/// holds a row.
async fn check_target_empty(target: &PgPool) -> StoreResult<bool> {
    let mut had_schema = false;
    let mut occupied = Vec::new();
    for table in TABLES {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(table.name)
            .fetch_one(target)
            .await
            .map_err(ctx("could not inspect the PostgreSQL database"))?;
        if !exists {
            continue;
        }
        had_schema = true;
        let any: bool =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT EXISTS (SELECT 1 FROM {})", table.name)))
                .fetch_one(target)
                .await
                .map_err(ctx(&format!("could not read {} in PostgreSQL", table.name)))?;
        if any {
            occupied.push(table.name);
        }
    }
    if !occupied.is_empty() {
        return Err(StoreError::Other(format!(
            "the target PostgreSQL database already holds data (in {}); `db copy` only fills an empty database, \
             so create a new one (createdb) and copy into that",
            occupied.join(", ")
        )));
    }
    Ok(had_schema)
}

/// The target's columns are exactly the ones [`TABLES`] knows.
async fn check_target_schema(target: &PgPool, allow_missing: bool) -> StoreResult<()> {
    for table in TABLES {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(table.name)
        .fetch_all(target)
        .await
        .map_err(ctx(&format!("could not read the columns of {} in PostgreSQL", table.name)))?;
        compare_columns(table, &columns, "PostgreSQL", allow_missing)?;
    }
    Ok(())
}

fn compare_columns(table: &Table, found: &[String], side: &str, allow_missing: bool) -> StoreResult<()> {
    let unknown: Vec<&str> =
        found.iter().map(String::as_str).filter(|c| !table.columns.iter().any(|(k, _)| k == c)).collect();
    if !unknown.is_empty() {
        return Err(StoreError::Other(format!(
            "{side} table {} has columns the copier does not know: {}; stopping rather than dropping their data",
            table.name,
            unknown.join(", ")
        )));
    }
    let missing: Vec<&str> = table.columns.iter().map(|(c, _)| *c).filter(|c| !found.iter().any(|f| f == c)).collect();
    if !missing.is_empty() && !allow_missing {
        return Err(StoreError::Other(format!(
            "{side} table {} lacks the columns {}: its schema is not the one this frontdesk expects",
            table.name,
            missing.join(", ")
        )));
    }
    Ok(())
}

/// One column value, typed for PostgreSQL.
#[derive(Debug)]
enum Value {
    Uuid(Option<uuid::Uuid>),
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Real(f64),
    Bytes(Option<Vec<u8>>),
}

fn decode_row(table: &Table, row: &SqliteRow) -> StoreResult<Vec<Value>> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, &(column, kind))| {
            let bad =
                |what: String| StoreError::Corrupt(format!("{}.{column} in the SQLite database: {what}", table.name));
            let not_null = |present: bool| if present { Ok(()) } else { Err(bad("NULL in a NOT NULL column".into())) };
            Ok(match kind {
                K::Uuid | K::OptUuid => {
                    let bytes: Option<Vec<u8>> = row.try_get(i).map_err(|e| bad(e.to_string()))?;
                    let id = bytes
                        .map(|b| {
                            uuid::Uuid::from_slice(&b)
                                .map_err(|_| bad(format!("{} bytes where a 16-byte UUID was expected", b.len())))
                        })
                        .transpose()?;
                    if kind == K::Uuid {
                        not_null(id.is_some())?;
                    }
                    Value::Uuid(id)
                }
                K::Int | K::OptInt => {
                    let n: Option<i64> = row.try_get(i).map_err(|e| bad(e.to_string()))?;
                    if kind == K::Int {
                        not_null(n.is_some())?;
                    }
                    Value::Int(n)
                }
                K::Text | K::OptText => {
                    let s: Option<String> = row.try_get(i).map_err(|e| bad(e.to_string()))?;
                    if kind == K::Text {
                        not_null(s.is_some())?;
                    }
                    Value::Text(s)
                }
                K::Bool => {
                    let n: Option<i64> = row.try_get(i).map_err(|e| bad(e.to_string()))?;
                    match n {
                        Some(0) => Value::Bool(false),
                        Some(1) => Value::Bool(true),
                        Some(other) => return Err(bad(format!("{other} where 0 or 1 was expected"))),
                        None => return Err(bad("NULL in a NOT NULL column".into())),
                    }
                }
                K::Real => {
                    let x: Option<f64> = row.try_get(i).map_err(|e| bad(e.to_string()))?;
                    Value::Real(x.ok_or_else(|| bad("NULL in a NOT NULL column".into()))?)
                }
                K::Bytes | K::OptBytes => {
                    let b: Option<Vec<u8>> = row.try_get(i).map_err(|e| bad(e.to_string()))?;
                    if kind == K::Bytes {
                        not_null(b.is_some())?;
                    }
                    Value::Bytes(b)
                }
            })
        })
        .collect()
}

async fn insert_batch(tx: &mut sqlx::PgConnection, table: &Table, rows: &[Vec<Value>]) -> StoreResult<()> {
    let mut b = QueryBuilder::<Postgres>::new(format!(
        "INSERT INTO {} ({}) ",
        table.name,
        table.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
    ));
    b.push_values(rows, |mut r, row| {
        for value in row {
            match value {
                Value::Uuid(v) => r.push_bind(*v),
                Value::Int(v) => r.push_bind(*v),
                Value::Text(v) => r.push_bind(v.clone()),
                Value::Bool(v) => r.push_bind(*v),
                Value::Real(v) => r.push_bind(*v),
                Value::Bytes(v) => r.push_bind(v.clone()),
            };
        }
    });
    b.build().persistent(false).execute(&mut *tx).await.map_err(|e| {
        StoreError::Other(format!("could not write {} to PostgreSQL (nothing was committed): {e}", table.name))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_unique_and_keys_are_columns() {
        for (i, t) in TABLES.iter().enumerate() {
            assert!(!TABLES[..i].iter().any(|o| o.name == t.name), "{} listed twice", t.name);
            for k in t.key {
                assert!(t.columns.iter().any(|(c, _)| c == k), "{}: key {k} is not a column", t.name);
            }
        }
    }

    #[test]
    fn url_schemes() {
        assert!(is_sqlite_url("sqlite:///tmp/x.db"));
        assert!(!is_sqlite_url("postgres://x/y"));
        assert!(is_postgres_url("postgresql://x/y"));
        assert!(!is_postgres_url("sqlite://x.db"));
    }
}
