//! Persistence behind one trait, with an embedded SQLite implementation (the default) and a
//! PostgreSQL one (for several instances). Both pass the same conformance suite
//! (`tests/conformance.rs`).
//!
//! Reads are plain async methods on [`Store`]. Writes go through [`Store::write`]: the caller
//! hands over a closure that runs against a [`WriteTx`] inside one transaction. The services
//! layer keeps the business logic in that closure; the store decides how transactions are
//! committed (SQLite: one writer task that groups many closures into one durable commit;
//! PostgreSQL: one pooled transaction per closure). A closure's result is returned only after
//! its transaction is durable.
//!
//! Sensitive text (message bodies, media references, patient details) is sealed with the
//! [`vault::Vault`] before it reaches the database and opened on the way out, so callers only
//! ever see plain domain values and the files only ever hold ciphertext.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use uuid::Uuid;

use frontdesk_domain::model::*;
use frontdesk_domain::{E164, MessageStatus};

pub mod audit;
mod common;
pub mod copy;
pub mod department_settings;
pub mod forms;
pub mod front_door;
pub mod outreach;
pub mod patients;
pub mod postgres;
pub mod referrals;
pub mod reports;
pub mod sqlite;
pub mod triage;
pub mod vault;

pub use audit::{AuditReads, AuditWrites};
pub use department_settings::{DepartmentSettingsReads, DepartmentSettingsWrites, WaitingConversation};
pub use forms::{FormReads, FormWrites};
pub use front_door::{FrontDoorReads, FrontDoorWrites, PolicyVersion};
pub use outreach::{OutreachReads, OutreachWrites, ScheduledMessage};
pub use patients::{ChartJob, ChartJobStatus, PatientReads, PatientWrites};
pub use referrals::{ReferralReads, ReferralWrites};
pub use reports::{ReportReads, ReportWrites, StoredDay};
pub use triage::{TriageReads, TriageWrites};
pub use vault::{MasterKey, Vault};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is busy, locked or unreachable: the caller should answer 503 so the
    /// provider (or person) retries; nothing was written.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken (an email or number that already exists).
    #[error("{0} already exists")]
    Conflict(String),
    /// The service aborted its own write; the transaction was rolled back.
    #[error("{0}")]
    Aborted(String),
    /// Stored data could not be decoded or decrypted (wrong master key, corruption).
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A write, run by the store inside one transaction. See [`write`].
pub type WriteOp =
    Box<dyn for<'t> FnOnce(&'t mut dyn WriteTx) -> BoxFuture<'t, StoreResult<Box<dyn Any + Send>>> + Send>;

/// Runs `f` in one transaction and returns its result once the transaction is durable.
/// If `f` returns an error, everything it wrote is rolled back and nothing else is affected.
pub async fn write<R, F>(store: &dyn Store, f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn WriteTx) -> BoxFuture<'t, StoreResult<R>> + Send + 'static,
{
    let op: WriteOp = Box::new(move |tx| {
        let fut = f(tx);
        Box::pin(async move { fut.await.map(|r| Box::new(r) as Box<dyn Any + Send>) })
    });
    let out = store.write(op).await?;
    out.downcast::<R>().map(|b| *b).map_err(|_| StoreError::Other("write result had an unexpected type".into()))
}

/// A new status for a message, as recorded by the dispatcher or a status callback.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageStatusChange {
    pub message_id: MessageId,
    pub status: MessageStatus,
    /// Replaces the stored provider id when `Some`.
    pub provider_message_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub needs_review: bool,
    pub at: DateTime<Utc>,
}

/// The primitive operations a write closure may use. Every method runs inside the
/// closure's transaction. Methods named `*_for_update` lock the row (PostgreSQL) so
/// concurrent writers serialise on it; on SQLite all writes are serial anyway.
#[async_trait]
pub trait WriteTx:
    FormWrites
    + FrontDoorWrites
    + TriageWrites
    + DepartmentSettingsWrites
    + AuditWrites
    + ReportWrites
    + PatientWrites
    + ReferralWrites
    + OutreachWrites
    + Send
{
    /// Records that a provider message id has been seen. Returns `false` if it already had
    /// been (a duplicate delivery), `true` the first time.
    async fn claim_provider_receipt(
        &mut self,
        provider: ProviderKind,
        provider_message_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    async fn number_by_e164(&mut self, e164: &E164) -> StoreResult<Option<PracticeNumber>>;
    async fn number_by_id(&mut self, id: NumberId) -> StoreResult<Option<PracticeNumber>>;
    async fn insert_number(&mut self, number: &PracticeNumber) -> StoreResult<()>;
    async fn insert_department(&mut self, department: &Department) -> StoreResult<()>;
    /// Renames a department; an error naming it when there is no such department.
    async fn rename_department(&mut self, id: DepartmentId, name: &str) -> StoreResult<()>;

    /// Finds the contact for a phone number, creating it (not opted out) if new.
    async fn upsert_contact(&mut self, phone: &E164, at: DateTime<Utc>) -> StoreResult<Contact>;
    async fn contact_by_id(&mut self, id: ContactId) -> StoreResult<Option<Contact>>;
    async fn set_contact_opted_out(&mut self, id: ContactId, opted_out: bool) -> StoreResult<()>;
    async fn insert_consent_event(&mut self, event: &ConsentEvent) -> StoreResult<()>;

    /// Finds the thread for (number, contact), creating it if new, and locks it: concurrent
    /// writers for the same thread are serialised from here to commit.
    async fn upsert_thread_for_update(
        &mut self,
        number_id: NumberId,
        contact_id: ContactId,
        at: DateTime<Utc>,
    ) -> StoreResult<Thread>;
    async fn thread_by_id(&mut self, id: ThreadId) -> StoreResult<Option<Thread>>;
    async fn touch_thread(&mut self, id: ThreadId, last_message_at: DateTime<Utc>) -> StoreResult<()>;

    /// The thread's newest conversation that is not closed, if any.
    async fn current_conversation(&mut self, thread_id: ThreadId) -> StoreResult<Option<Conversation>>;
    async fn conversation_by_id(&mut self, id: ConversationId) -> StoreResult<Option<Conversation>>;
    async fn insert_conversation(&mut self, conversation: &Conversation) -> StoreResult<()>;
    /// Overwrites every mutable field of the conversation with the given values.
    async fn update_conversation(&mut self, conversation: &Conversation) -> StoreResult<()>;

    async fn insert_message(&mut self, message: &Message) -> StoreResult<()>;
    async fn message_by_id_for_update(&mut self, id: MessageId) -> StoreResult<Option<Message>>;
    async fn message_by_provider_id_for_update(
        &mut self,
        provider: ProviderKind,
        provider_message_id: &str,
    ) -> StoreResult<Option<Message>>;
    async fn update_message_status(&mut self, change: &MessageStatusChange) -> StoreResult<()>;

    async fn enqueue_job(&mut self, job: &OutboxJob) -> StoreResult<()>;
    async fn job_by_id(&mut self, id: Uuid) -> StoreResult<Option<OutboxJob>>;
    /// Overwrites the job's state, attempts, times, lease and last error.
    async fn update_job(&mut self, job: &OutboxJob) -> StoreResult<()>;

    async fn insert_user(&mut self, user: &User) -> StoreResult<()>;
    async fn insert_api_token(&mut self, token: &ApiToken) -> StoreResult<()>;
    async fn insert_patient(&mut self, patient: &Patient) -> StoreResult<()>;
    async fn link_contact_patient(&mut self, contact_id: ContactId, patient_id: PatientId) -> StoreResult<()>;
    async fn insert_audit(&mut self, event: &AuditEvent) -> StoreResult<()>;

    /// Overwrites the user's email, name, role, password hash and disabled flag.
    async fn update_user(&mut self, user: &User) -> StoreResult<()>;
    async fn user_security_for_update(&mut self, user_id: UserId) -> StoreResult<UserSecurity>;
    async fn update_user_security(&mut self, user_id: UserId, security: &UserSecurity) -> StoreResult<()>;
    /// Replaces the departments a staff user is limited to (none: not limited).
    async fn set_user_departments(&mut self, user_id: UserId, departments: &[DepartmentId]) -> StoreResult<()>;
    /// Replaces the user's recovery codes with these hashes, all unused.
    async fn replace_recovery_codes(&mut self, user_id: UserId, code_hashes: &[String]) -> StoreResult<()>;
    /// Marks an unused recovery code used. Returns `false` if there is no such unused code.
    async fn use_recovery_code(&mut self, user_id: UserId, code_hash: &str, at: DateTime<Utc>) -> StoreResult<bool>;

    async fn insert_session(&mut self, session: &Session) -> StoreResult<()>;
    /// Overwrites the session's CSRF token, last-seen time and second-factor state.
    async fn update_session(&mut self, session: &Session) -> StoreResult<()>;
    async fn delete_session(&mut self, id_hash: &str) -> StoreResult<()>;
    /// Signs the user out everywhere (disabled, password reset).
    async fn delete_user_sessions(&mut self, user_id: UserId) -> StoreResult<()>;

    async fn insert_note(&mut self, note: &Note) -> StoreResult<()>;
    /// Inserts the template, or overwrites the one with the same id.
    async fn upsert_template(&mut self, template: &Template) -> StoreResult<()>;
    async fn delete_template(&mut self, id: Uuid) -> StoreResult<()>;
    /// Stores a JSON value under `key`, replacing any earlier one.
    async fn put_setting(&mut self, key: &str, value: &str, at: DateTime<Utc>) -> StoreResult<()>;

    /// Reserves the sender's next send slot, `interval_us` after the previous one and not
    /// before `now_us` (a GCRA schedule shared by every instance). Returns when (epoch
    /// microseconds) this send may start.
    async fn reserve_send_slot(&mut self, number_id: NumberId, interval_us: i64, now_us: i64) -> StoreResult<i64>;

    /// Counts one hit on `key` in a fixed window of `window_ms` (a new window starts once
    /// the old one is over). Returns the hits in the current window, this one included.
    async fn hit_counter(&mut self, key: &str, now_ms: i64, window_ms: i64) -> StoreResult<i64>;
}

/// A conversation with what the inbox needs to show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSummary {
    pub conversation: Conversation,
    pub thread: Thread,
    pub contact: Contact,
    pub number: PracticeNumber,
    /// The patient the conversation is about, when linked.
    pub patient: Option<Patient>,
    /// The conversation's newest message, for the preview line.
    pub last_message: Option<MessagePreview>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessagePreview {
    pub direction: frontdesk_domain::Direction,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Whose conversations an inbox view shows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    Unassigned,
    User(UserId),
}

/// How an inbox view is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum InboxOrder {
    /// Newest activity first; `before` pages through it.
    #[default]
    Newest,
    /// The patient who has waited longest first, then the rest by newest activity.
    LongestWaiting,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationQuery {
    /// Any of these statuses (empty: any status).
    pub statuses: Vec<ConversationStatus>,
    pub assignee: AssigneeFilter,
    pub department: Option<DepartmentId>,
    /// When set, only conversations in one of these departments (a staff member limited to
    /// departments).
    pub within_departments: Option<Vec<DepartmentId>>,
    pub urgent_only: bool,
    pub order: InboxOrder,
    /// Only conversations whose `last_message_at` is strictly older (keyset pagination of
    /// [`InboxOrder::Newest`]).
    pub before: Option<DateTime<Utc>>,
    pub offset: u32,
    pub limit: u32,
}

#[async_trait]
pub trait Store:
    FormReads
    + FrontDoorReads
    + TriageReads
    + DepartmentSettingsReads
    + AuditReads
    + ReportReads
    + PatientReads
    + ReferralReads
    + OutreachReads
    + Send
    + Sync
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Runs a write closure in a transaction; use the typed [`write`] helper instead.
    async fn write(&self, op: WriteOp) -> StoreResult<Box<dyn Any + Send>>;

    /// Claims up to `limit` outbox jobs that are due (`pending` with `next_attempt_at <= now`,
    /// or `in_flight` whose lease expired), marking them `in_flight` under `owner` until
    /// `lease_until`. Concurrent claimers never receive the same job.
    async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxJob>>;

    /// Answers whether the database can be read and written.
    async fn ping(&self) -> StoreResult<()>;

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn count_users(&self) -> StoreResult<i64>;
    async fn api_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiToken>>;

    async fn list_numbers(&self) -> StoreResult<Vec<PracticeNumber>>;
    async fn number_by_e164(&self, e164: &E164) -> StoreResult<Option<PracticeNumber>>;
    async fn list_departments(&self) -> StoreResult<Vec<Department>>;

    async fn contact_by_phone(&self, phone: &E164) -> StoreResult<Option<Contact>>;
    async fn consent_events(&self, contact_id: ContactId) -> StoreResult<Vec<ConsentEvent>>;

    /// Newest activity first.
    async fn list_conversations(&self, query: &ConversationQuery) -> StoreResult<Vec<ConversationSummary>>;
    async fn conversation_summary(&self, id: ConversationId) -> StoreResult<Option<ConversationSummary>>;
    /// Every message of the thread, across all its conversations, oldest first.
    async fn thread_messages(&self, thread_id: ThreadId) -> StoreResult<Vec<Message>>;
    async fn message_by_id(&self, id: MessageId) -> StoreResult<Option<Message>>;
    async fn message_by_provider_id(
        &self,
        provider: ProviderKind,
        provider_message_id: &str,
    ) -> StoreResult<Option<Message>>;
    async fn job_for_message(&self, message_id: MessageId) -> StoreResult<Option<OutboxJob>>;
    /// Jobs not yet done or dead.
    async fn outbox_depth(&self) -> StoreResult<i64>;

    async fn list_patients(&self, limit: u32, offset: u32) -> StoreResult<Vec<Patient>>;
    async fn patient_by_id(&self, id: PatientId) -> StoreResult<Option<Patient>>;

    /// Newest first.
    async fn list_audit(&self, limit: u32) -> StoreResult<Vec<AuditEvent>>;

    async fn count_conversations(&self, query: &ConversationQuery) -> StoreResult<i64>;
    /// Every conversation of the contact's threads (with any practice number), newest first.
    async fn contact_conversations(&self, contact_id: ContactId) -> StoreResult<Vec<ConversationSummary>>;
    async fn patient_conversations(&self, patient_id: PatientId) -> StoreResult<Vec<ConversationSummary>>;
    /// The thread's notes, oldest first.
    async fn thread_notes(&self, thread_id: ThreadId) -> StoreResult<Vec<Note>>;
    async fn contact_by_id(&self, id: ContactId) -> StoreResult<Option<Contact>>;
    async fn patients_for_contact(&self, contact_id: ContactId) -> StoreResult<Vec<Patient>>;
    async fn patients_by_mrn(&self, mrn: &str) -> StoreResult<Vec<Patient>>;
    /// Messages containing every one of the (already normalised) search terms, newest
    /// first, looked up through the keyed token index.
    async fn search_messages(&self, terms: &[String], limit: u32) -> StoreResult<Vec<Message>>;
    /// Patients whose name (or phone) contains every one of the normalised terms.
    async fn search_patients(&self, terms: &[String], limit: u32) -> StoreResult<Vec<Patient>>;

    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn user_security(&self, user_id: UserId) -> StoreResult<UserSecurity>;
    async fn user_departments(&self, user_id: UserId) -> StoreResult<Vec<DepartmentId>>;
    async fn unused_recovery_codes(&self, user_id: UserId) -> StoreResult<i64>;
    async fn session_by_hash(&self, id_hash: &str) -> StoreResult<Option<Session>>;
    async fn list_templates(&self) -> StoreResult<Vec<Template>>;
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Hits on `key` in its current window (0 once the window is over). See
    /// [`WriteTx::hit_counter`].
    async fn counter(&self, key: &str, now_ms: i64, window_ms: i64) -> StoreResult<i64>;

    /// Sends `payload` to every instance sharing this database (PostgreSQL `NOTIFY`). SQLite
    /// has one process per database, so there is no one to tell: a no-op.
    async fn broadcast(&self, payload: &str) -> StoreResult<()>;

    /// Payloads broadcast by any instance (including this one), from now on; `None` where
    /// the backend has no other instances (SQLite). Survives connection losses.
    async fn listen(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<String>>>;

    /// Tries to become the one instance running the singleton job `name` (PostgreSQL: an
    /// advisory lock on a dedicated connection, released when the holder dies). SQLite:
    /// always granted. `None` while another instance holds it.
    async fn try_singleton(&self, name: &str) -> StoreResult<Option<SingletonLease>>;

    /// Writes a consistent copy of the whole database to `path` (SQLite: `VACUUM INTO`).
    /// PostgreSQL answers with an error that points to `pg_dump`.
    async fn backup(&self, path: &Path) -> StoreResult<()>;
}

/// Proof of holding a singleton role (see [`Store::try_singleton`]); the role is released
/// when this is dropped or its holder's connection dies.
pub struct SingletonLease {
    check: Box<dyn FnMut() -> BoxFuture<'static, bool> + Send>,
}

impl SingletonLease {
    pub(crate) fn new(check: Box<dyn FnMut() -> BoxFuture<'static, bool> + Send>) -> SingletonLease {
        SingletonLease { check }
    }

    /// Whether the role is still ours (PostgreSQL: the lock's connection is alive).
    pub async fn still_held(&mut self) -> bool {
        (self.check)().await
    }
}

impl std::fmt::Debug for SingletonLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingletonLease").finish_non_exhaustive()
    }
}

/// Opens the store named by `url` (`sqlite://PATH` or `postgres://...`), creating the
/// database file if needed and applying migrations.
pub async fn connect(url: &str, vault: Arc<Vault>) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url, vault).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url, vault).await?))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL scheme in {:?}; use sqlite://PATH or postgres://...",
            url.split(':').next().unwrap_or("")
        )))
    }
}
