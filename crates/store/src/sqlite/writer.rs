//! The SQLite write path: one OS thread owns the only write connection (a blocking rusqlite
//! connection) and runs every write closure on it, so a statement is a plain function call
//! rather than a round trip to a driver worker thread. The on-disk encoding is exactly what
//! the sqlx read side (`q`) decodes: UUIDs as 16-byte BLOBs, timestamps as i64 milliseconds,
//! enums as TEXT, sealed columns as BLOBs with the same AAD, no media as NULL.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use rusqlite::types::FromSql;
use rusqlite::{Connection, OpenFlags, Row, ToSql, ffi};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use frontdesk_domain::model::*;
use frontdesk_domain::{Direction, E164, MessageStatus};

use crate::common::statement::{self, Statement};
use crate::common::*;
use crate::vault::Vault;
use crate::{MessageStatusChange, StoreError, StoreResult, WriteTx};

mod audit;
mod department_settings;
mod forms;
mod front_door;
mod outreach;
mod patients;
mod referrals;
mod reports;
mod triage;

/// Most closures committed together. Bounds the time one batch holds the write lock and the
/// work lost to a failed commit, while being far above what a busy practice queues.
pub(crate) const MAX_BATCH: usize = 512;
/// Prepared statements kept by the writer connection (every write statement fits).
const STATEMENT_CACHE: usize = 64;

pub(crate) type Output = Box<dyn Any + Send>;
/// A write as the writer thread runs it: with the concrete transaction type, so the store's
/// own operations (`claim_jobs`) can run there too.
pub(crate) type InternalOp = Box<dyn for<'t> FnOnce(&'t mut SqliteTx) -> BoxFuture<'t, StoreResult<Output>> + Send>;
pub(crate) type Request = (InternalOp, oneshot::Sender<StoreResult<Output>>);

const MESSAGE_BY_ID: &str = concat!("SELECT ", message_cols!(), " FROM messages WHERE id = $1");
const MESSAGE_BY_PROVIDER_ID: &str =
    concat!("SELECT ", message_cols!(), " FROM messages WHERE provider = $1 AND provider_message_id = $2");
const CONTACT_BY_PHONE: &str = concat!("SELECT ", contact_cols!(), " FROM contacts WHERE phone = $1");
const NUMBER_BY_E164: &str = concat!("SELECT ", number_cols!(), " FROM practice_numbers WHERE e164 = $1");
const CLAIM_JOBS: &str = claim_jobs_sql!("");

/// Opens the write connection with the same flags and pragmas sqlx would use: the same file
/// (or shared-cache in-memory database) the read pool opens.
pub(crate) fn open(filename: &str, in_memory: bool, busy_timeout: Duration) -> StoreResult<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE;
    flags |= if in_memory {
        OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE
    } else {
        OpenFlags::SQLITE_OPEN_PRIVATE_CACHE
    };
    let conn = Connection::open_with_flags(filename, flags).map_err(sql_err)?;
    conn.busy_timeout(busy_timeout).map_err(sql_err)?;
    if !in_memory {
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)).map_err(sql_err)?;
    }
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;").map_err(sql_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Maps a rusqlite error like `db_err` maps the sqlx one.
pub(crate) fn sql_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(err, message) => {
            let code = err.extended_code;
            let message = message.unwrap_or_else(|| err.to_string());
            if code == ffi::SQLITE_CONSTRAINT_UNIQUE || code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY {
                return StoreError::Conflict(describe_conflict(&message).into());
            }
            let primary = code & 0xff;
            if primary == ffi::SQLITE_BUSY || primary == ffi::SQLITE_LOCKED {
                return StoreError::Unavailable(format!("{message} (code {code})"));
            }
            StoreError::Other(format!("{message} (code {code})"))
        }
        e @ (rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnName(..)) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Other(other.to_string()),
    }
}

/// The writer's connection, handed to write closures as their `WriteTx`. Every method runs
/// synchronously, so the futures the closures await are always ready.
pub(crate) struct SqliteTx {
    conn: Connection,
    vault: Arc<Vault>,
}

/// Binds `params[N - 1]` to every `$N` of the statement (SQLite numbers named parameters by
/// first appearance, so `$N` is not necessarily the N-th slot).
fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[&dyn ToSql]) -> rusqlite::Result<()> {
    for slot in 1..=stmt.parameter_count() {
        let name = stmt.parameter_name(slot).unwrap_or("");
        let n = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| rusqlite::Error::InvalidParameterName(name.to_owned()))?;
        let value = params.get(n.wrapping_sub(1)).ok_or(rusqlite::Error::InvalidParameterCount(n, params.len()))?;
        stmt.raw_bind_parameter(slot, *value)?;
    }
    Ok(())
}

fn get<T: FromSql>(row: &Row<'_>, name: &str) -> StoreResult<T> {
    row.get::<_, T>(name).map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn ts(row: &Row<'_>, name: &str) -> StoreResult<DateTime<Utc>> {
    from_ms(name, get::<i64>(row, name)?)
}

fn opt_ts(row: &Row<'_>, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
    get::<Option<i64>>(row, name)?.map(|v| from_ms(name, v)).transpose()
}

fn word<T: std::str::FromStr<Err = String>>(row: &Row<'_>, name: &str) -> StoreResult<T> {
    parse_word(name, &get::<String>(row, name)?)
}

fn map_number(r: &Row<'_>) -> StoreResult<PracticeNumber> {
    Ok(PracticeNumber {
        id: get(r, "id")?,
        e164: parse_e164("practice_numbers.e164", &get::<String>(r, "e164")?)?,
        provider: word(r, "provider")?,
        messaging_service_sid: get(r, "messaging_service_sid")?,
        default_department_id: get(r, "default_department_id")?,
        rate_limit_per_sec: get(r, "rate_limit_per_sec")?,
        created_at: ts(r, "created_at")?,
    })
}

fn map_contact(r: &Row<'_>) -> StoreResult<Contact> {
    Ok(Contact {
        id: get(r, "id")?,
        phone: parse_e164("contacts.phone", &get::<String>(r, "phone")?)?,
        opted_out: get(r, "opted_out")?,
        created_at: ts(r, "created_at")?,
    })
}

fn map_thread(r: &Row<'_>) -> StoreResult<Thread> {
    Ok(Thread {
        id: get(r, "id")?,
        number_id: get(r, "number_id")?,
        contact_id: get(r, "contact_id")?,
        created_at: ts(r, "created_at")?,
        last_message_at: ts(r, "last_message_at")?,
    })
}

fn map_conversation(r: &Row<'_>) -> StoreResult<Conversation> {
    Ok(Conversation {
        id: get(r, "id")?,
        thread_id: get(r, "thread_id")?,
        status: word(r, "status")?,
        department_id: get(r, "department_id")?,
        assignee_id: get(r, "assignee_id")?,
        patient_id: get(r, "patient_id")?,
        urgent: get(r, "urgent")?,
        snoozed_until: opt_ts(r, "snoozed_until")?,
        opened_at: ts(r, "opened_at")?,
        closed_at: opt_ts(r, "closed_at")?,
        last_message_at: ts(r, "last_message_at")?,
        waiting_since: opt_ts(r, "waiting_since")?,
        unread_count: get(r, "unread_count")?,
    })
}

fn map_message(r: &Row<'_>, vault: &Vault) -> StoreResult<Message> {
    let id: Uuid = get(r, "id")?;
    let body: Vec<u8> = get(r, "body")?;
    let media: Option<Vec<u8>> = get(r, "media")?;
    Ok(Message {
        id,
        conversation_id: get(r, "conversation_id")?,
        thread_id: get(r, "thread_id")?,
        direction: word::<Direction>(r, "direction")?,
        body: open_body(vault, id, &body)?,
        media: open_media(vault, id, media.as_deref())?,
        sender: word(r, "sender")?,
        sender_user_id: get(r, "sender_user_id")?,
        provider: word(r, "provider")?,
        provider_message_id: get(r, "provider_message_id")?,
        status: word::<MessageStatus>(r, "status")?,
        error_code: get(r, "error_code")?,
        error_message: get(r, "error_message")?,
        encoding: get(r, "encoding")?,
        segments: get(r, "segments")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
        needs_review: get(r, "needs_review")?,
    })
}

fn map_job(r: &Row<'_>) -> StoreResult<OutboxJob> {
    Ok(OutboxJob {
        id: get(r, "id")?,
        message_id: get(r, "message_id")?,
        number_id: get(r, "number_id")?,
        state: word(r, "state")?,
        attempts: get(r, "attempts")?,
        next_attempt_at: ts(r, "next_attempt_at")?,
        lease_owner: get(r, "lease_owner")?,
        lease_until: opt_ts(r, "lease_until")?,
        handoff_started_at: opt_ts(r, "handoff_started_at")?,
        last_error: get(r, "last_error")?,
        created_at: ts(r, "created_at")?,
    })
}

/// `INSERT .. ON CONFLICT DO NOTHING` affected no row: say what already exists.
fn inserted(changes: usize, what: &str) -> StoreResult<()> {
    if changes == 1 { Ok(()) } else { Err(StoreError::Conflict(what.to_owned())) }
}

fn updated(changes: usize, what: &str, id: Uuid) -> StoreResult<()> {
    if changes == 1 { Ok(()) } else { Err(StoreError::Other(format!("{what} {id} does not exist"))) }
}

impl SqliteTx {
    pub(crate) fn new(conn: Connection, vault: Arc<Vault>) -> SqliteTx {
        SqliteTx { conn, vault }
    }

    /// Runs a parameterless control statement (`BEGIN`, `SAVEPOINT`, ...).
    fn control(&self, sql: &str) -> StoreResult<()> {
        self.conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(|_| ()).map_err(sql_err)
    }

    fn exec(&self, sql: &str, params: &[&dyn ToSql]) -> StoreResult<usize> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(sql_err)?;
        bind(&mut stmt, params).map_err(sql_err)?;
        stmt.raw_execute().map_err(sql_err)
    }

    fn query_all<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        mut f: impl FnMut(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(sql_err)?;
        bind(&mut stmt, params).map_err(sql_err)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sql_err)? {
            out.push(f(row)?);
        }
        Ok(out)
    }

    fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        f: impl FnOnce(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(sql_err)?;
        bind(&mut stmt, params).map_err(sql_err)?;
        let mut rows = stmt.raw_query();
        let result = match rows.next().map_err(sql_err)? {
            Some(row) => Some(f(row)?),
            None => None,
        };
        // Run the statement to completion (an `INSERT .. RETURNING` writes while stepping).
        while rows.next().map_err(sql_err)?.is_some() {}
        Ok(result)
    }

    /// Runs a statement built by `common::statement`; returns the rows it affected.
    fn run(&self, s: &Statement) -> StoreResult<usize> {
        let params: Vec<&dyn ToSql> = s.params.iter().map(|p| p as &dyn ToSql).collect();
        self.exec(&s.sql, &params)
    }

    fn insert_tokens(&self, sql: &str, owner: Uuid, tokens: &[String]) -> StoreResult<()> {
        for token in tokens {
            self.exec(sql, &[token, &owner])?;
        }
        Ok(())
    }

    fn contact_by_phone(&self, phone: &E164) -> StoreResult<Option<Contact>> {
        self.query_opt(CONTACT_BY_PHONE, &[&phone.as_str()], map_contact)
    }

    pub(crate) fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxJob>> {
        let mut jobs = self.query_all(CLAIM_JOBS, &[&owner, &ms(lease_until), &ms(now), &i64::from(limit)], map_job)?;
        // RETURNING has no defined order.
        jobs.sort_by_key(|j| (j.next_attempt_at, j.id));
        Ok(jobs)
    }
}

#[async_trait]
impl WriteTx for SqliteTx {
    async fn claim_provider_receipt(
        &mut self,
        provider: ProviderKind,
        provider_message_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = self.exec(sql::CLAIM_PROVIDER_RECEIPT, &[&provider.as_str(), &provider_message_id, &ms(at)])?;
        Ok(n == 1)
    }

    async fn number_by_e164(&mut self, e164: &E164) -> StoreResult<Option<PracticeNumber>> {
        self.query_opt(NUMBER_BY_E164, &[&e164.as_str()], map_number)
    }

    async fn number_by_id(&mut self, id: NumberId) -> StoreResult<Option<PracticeNumber>> {
        self.query_opt(sql::NUMBER_BY_ID, &[&id], map_number)
    }

    async fn insert_number(&mut self, n: &PracticeNumber) -> StoreResult<()> {
        let changes = self.exec(
            sql::INSERT_NUMBER,
            &[
                &n.id,
                &n.e164.as_str(),
                &n.provider.as_str(),
                &n.messaging_service_sid.as_deref(),
                &n.default_department_id,
                &n.rate_limit_per_sec,
                &ms(n.created_at),
            ],
        )?;
        inserted(changes, "a practice number with this phone number or id")
    }

    async fn insert_department(&mut self, d: &Department) -> StoreResult<()> {
        let changes = self.exec(sql::INSERT_DEPARTMENT, &[&d.id, &d.name.as_str(), &ms(d.created_at)])?;
        inserted(changes, "a department with this id")
    }

    async fn rename_department(&mut self, id: DepartmentId, name: &str) -> StoreResult<()> {
        updated(self.run(&statement::rename_department(id, name))?, "department", id)
    }

    async fn upsert_contact(&mut self, phone: &E164, at: DateTime<Utc>) -> StoreResult<Contact> {
        let created =
            self.query_opt(sql::UPSERT_CONTACT, &[&new_id(), &phone.as_str(), &false, &ms(at)], map_contact)?;
        if let Some(contact) = created {
            return Ok(contact);
        }
        self.contact_by_phone(phone)?.ok_or_else(|| {
            StoreError::Unavailable("the contact was created concurrently but is not visible yet; retry".into())
        })
    }

    async fn contact_by_id(&mut self, id: ContactId) -> StoreResult<Option<Contact>> {
        self.query_opt(sql::CONTACT_BY_ID, &[&id], map_contact)
    }

    async fn set_contact_opted_out(&mut self, id: ContactId, opted_out: bool) -> StoreResult<()> {
        let changes = self.exec(sql::SET_CONTACT_OPTED_OUT, &[&id, &opted_out])?;
        updated(changes, "contact", id)
    }

    async fn insert_consent_event(&mut self, e: &ConsentEvent) -> StoreResult<()> {
        let changes = self.exec(
            sql::INSERT_CONSENT_EVENT,
            &[
                &e.id,
                &e.contact_id,
                &e.purpose.as_str(),
                &e.granted,
                &e.source.as_str(),
                &e.evidence.as_str(),
                &ms(e.created_at),
            ],
        )?;
        inserted(changes, "a consent event with this id")
    }

    async fn upsert_thread_for_update(
        &mut self,
        number_id: NumberId,
        contact_id: ContactId,
        at: DateTime<Utc>,
    ) -> StoreResult<Thread> {
        self.query_opt(sql::UPSERT_THREAD_FOR_UPDATE, &[&new_id(), &number_id, &contact_id, &ms(at)], map_thread)?
            .ok_or_else(|| StoreError::Other("the thread upsert returned no row".into()))
    }

    async fn thread_by_id(&mut self, id: ThreadId) -> StoreResult<Option<Thread>> {
        self.query_opt(sql::THREAD_BY_ID, &[&id], map_thread)
    }

    async fn touch_thread(&mut self, id: ThreadId, last_message_at: DateTime<Utc>) -> StoreResult<()> {
        let changes = self.exec(sql::TOUCH_THREAD, &[&id, &ms(last_message_at)])?;
        updated(changes, "thread", id)
    }

    async fn current_conversation(&mut self, thread_id: ThreadId) -> StoreResult<Option<Conversation>> {
        self.query_opt(sql::CURRENT_CONVERSATION, &[&thread_id], map_conversation)
    }

    async fn conversation_by_id(&mut self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        self.query_opt(sql::CONVERSATION_BY_ID, &[&id], map_conversation)
    }

    async fn insert_conversation(&mut self, c: &Conversation) -> StoreResult<()> {
        let changes = self.exec(
            sql::INSERT_CONVERSATION,
            &[
                &c.id,
                &c.thread_id,
                &c.status.as_str(),
                &c.department_id,
                &c.assignee_id,
                &c.patient_id,
                &c.urgent,
                &opt_ms(c.snoozed_until),
                &ms(c.opened_at),
                &opt_ms(c.closed_at),
                &ms(c.last_message_at),
                &opt_ms(c.waiting_since),
                &c.unread_count,
            ],
        )?;
        inserted(changes, "a conversation with this id")
    }

    async fn update_conversation(&mut self, c: &Conversation) -> StoreResult<()> {
        let changes = self.exec(
            sql::UPDATE_CONVERSATION,
            &[
                &c.id,
                &c.status.as_str(),
                &c.department_id,
                &c.assignee_id,
                &c.patient_id,
                &c.urgent,
                &opt_ms(c.snoozed_until),
                &opt_ms(c.closed_at),
                &ms(c.last_message_at),
                &opt_ms(c.waiting_since),
                &c.unread_count,
            ],
        )?;
        updated(changes, "conversation", c.id)
    }

    async fn insert_message(&mut self, m: &Message) -> StoreResult<()> {
        let body = seal_body(&self.vault, m.id, &m.body);
        let media = seal_media(&self.vault, m.id, &m.media);
        let changes = self.exec(
            sql::INSERT_MESSAGE,
            &[
                &m.id,
                &m.conversation_id,
                &m.thread_id,
                &m.direction.as_str(),
                &body,
                &media,
                &m.sender.as_str(),
                &m.sender_user_id,
                &m.provider.as_str(),
                &m.provider_message_id.as_deref(),
                &m.status.as_str(),
                &m.error_code.as_deref(),
                &m.error_message.as_deref(),
                &m.encoding.as_str(),
                &m.segments,
                &ms(m.created_at),
                &ms(m.updated_at),
                &m.needs_review,
            ],
        )?;
        inserted(changes, "a message with this id or provider message id")?;
        self.insert_tokens(statement::INSERT_MESSAGE_TERM, m.id, &statement::message_tokens(&self.vault, m))
    }

    async fn message_by_id_for_update(&mut self, id: MessageId) -> StoreResult<Option<Message>> {
        let vault = self.vault.clone();
        self.query_opt(MESSAGE_BY_ID, &[&id], |r| map_message(r, &vault))
    }

    async fn message_by_provider_id_for_update(
        &mut self,
        provider: ProviderKind,
        provider_message_id: &str,
    ) -> StoreResult<Option<Message>> {
        let vault = self.vault.clone();
        self.query_opt(MESSAGE_BY_PROVIDER_ID, &[&provider.as_str(), &provider_message_id], |r| map_message(r, &vault))
    }

    async fn update_message_status(&mut self, c: &MessageStatusChange) -> StoreResult<()> {
        let changes = self.exec(
            sql::UPDATE_MESSAGE_STATUS,
            &[
                &c.message_id,
                &c.status.as_str(),
                &c.provider_message_id.as_deref(),
                &c.error_code.as_deref(),
                &c.error_message.as_deref(),
                &c.needs_review,
                &ms(c.at),
            ],
        )?;
        updated(changes, "message", c.message_id)
    }

    async fn enqueue_job(&mut self, j: &OutboxJob) -> StoreResult<()> {
        let changes = self.exec(
            sql::ENQUEUE_JOB,
            &[
                &j.id,
                &j.message_id,
                &j.number_id,
                &j.state.as_str(),
                &j.attempts,
                &ms(j.next_attempt_at),
                &j.lease_owner.as_deref(),
                &opt_ms(j.lease_until),
                &opt_ms(j.handoff_started_at),
                &j.last_error.as_deref(),
                &ms(j.created_at),
            ],
        )?;
        inserted(changes, "an outbox job with this id")
    }

    async fn job_by_id(&mut self, id: Uuid) -> StoreResult<Option<OutboxJob>> {
        self.query_opt(sql::JOB_BY_ID, &[&id], map_job)
    }

    async fn update_job(&mut self, j: &OutboxJob) -> StoreResult<()> {
        let changes = self.exec(
            sql::UPDATE_JOB,
            &[
                &j.id,
                &j.state.as_str(),
                &j.attempts,
                &ms(j.next_attempt_at),
                &j.lease_owner.as_deref(),
                &opt_ms(j.lease_until),
                &opt_ms(j.handoff_started_at),
                &j.last_error.as_deref(),
            ],
        )?;
        updated(changes, "outbox job", j.id)
    }

    async fn insert_user(&mut self, u: &User) -> StoreResult<()> {
        let changes = self.exec(
            sql::INSERT_USER,
            &[
                &u.id,
                &lowercase_email(&u.email),
                &u.name.as_str(),
                &u.role.as_str(),
                &u.password_hash.as_str(),
                &u.disabled,
                &ms(u.created_at),
            ],
        )?;
        inserted(changes, "a user with this email")
    }

    async fn insert_api_token(&mut self, t: &ApiToken) -> StoreResult<()> {
        let changes = self.exec(
            sql::INSERT_API_TOKEN,
            &[&t.id, &t.name.as_str(), &t.token_hash.as_str(), &t.created_by, &ms(t.created_at), &opt_ms(t.revoked_at)],
        )?;
        inserted(changes, "an API token with this hash or id")
    }

    async fn insert_patient(&mut self, p: &Patient) -> StoreResult<()> {
        let (details, mrn_index) = seal_patient(&self.vault, p);
        let changes =
            self.exec(sql::INSERT_PATIENT, &[&p.id, &details, &p.status.as_str(), &mrn_index, &ms(p.created_at)])?;
        inserted(changes, "a patient with this id")?;
        self.insert_tokens(statement::INSERT_PATIENT_TERM, p.id, &statement::patient_tokens(&self.vault, p))
    }

    async fn link_contact_patient(&mut self, contact_id: ContactId, patient_id: PatientId) -> StoreResult<()> {
        // Linking twice is harmless, so it is not an error.
        self.exec(sql::LINK_CONTACT_PATIENT, &[&contact_id, &patient_id])?;
        Ok(())
    }

    async fn insert_audit(&mut self, a: &AuditEvent) -> StoreResult<()> {
        // The writer thread is the only writer, so reading the head here is race-free; a
        // closure that fails rolls its savepoint back, head included.
        self.append_audit(a)
    }

    async fn update_user(&mut self, u: &User) -> StoreResult<()> {
        updated(self.run(&statement::update_user(u))?, "user", u.id)
    }

    async fn user_security_for_update(&mut self, user_id: UserId) -> StoreResult<UserSecurity> {
        let vault = self.vault.clone();
        self.query_opt(statement::USER_SECURITY, &[&user_id], |r| {
            let sealed: Option<Vec<u8>> = get(r, "totp_secret")?;
            Ok(UserSecurity {
                totp_secret: statement::open_totp_secret(&vault, user_id, sealed.as_deref())?,
                totp_enabled: get(r, "totp_enabled")?,
                failed_logins: get(r, "failed_logins")?,
                locked_until: opt_ts(r, "locked_until")?,
                totp_last_step: get(r, "totp_last_step")?,
            })
        })?
        .ok_or_else(|| StoreError::Other(format!("user {user_id} does not exist")))
    }

    async fn update_user_security(&mut self, user_id: UserId, security: &UserSecurity) -> StoreResult<()> {
        updated(self.run(&statement::update_user_security(&self.vault, user_id, security))?, "user", user_id)
    }

    async fn set_user_departments(&mut self, user_id: UserId, departments: &[DepartmentId]) -> StoreResult<()> {
        self.run(&statement::clear_user_departments(user_id))?;
        for d in departments {
            self.run(&statement::add_user_department(user_id, *d))?;
        }
        Ok(())
    }

    async fn replace_recovery_codes(&mut self, user_id: UserId, code_hashes: &[String]) -> StoreResult<()> {
        self.run(&statement::clear_recovery_codes(user_id))?;
        for h in code_hashes {
            self.run(&statement::add_recovery_code(user_id, h))?;
        }
        Ok(())
    }

    async fn use_recovery_code(&mut self, user_id: UserId, code_hash: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        Ok(self.run(&statement::use_recovery_code(user_id, code_hash, at))? == 1)
    }

    async fn insert_session(&mut self, session: &Session) -> StoreResult<()> {
        inserted(self.run(&statement::insert_session(session))?, "a session with this id")
    }

    async fn update_session(&mut self, session: &Session) -> StoreResult<()> {
        self.run(&statement::update_session(session)).map(|_| ())
    }

    async fn delete_session(&mut self, id_hash: &str) -> StoreResult<()> {
        self.run(&statement::delete_session(id_hash)).map(|_| ())
    }

    async fn delete_user_sessions(&mut self, user_id: UserId) -> StoreResult<()> {
        self.run(&statement::delete_user_sessions(user_id)).map(|_| ())
    }

    async fn insert_note(&mut self, note: &Note) -> StoreResult<()> {
        inserted(self.run(&statement::insert_note(&self.vault, note))?, "a note with this id")
    }

    async fn upsert_template(&mut self, template: &Template) -> StoreResult<()> {
        self.run(&statement::upsert_template(template)).map(|_| ())
    }

    async fn delete_template(&mut self, id: Uuid) -> StoreResult<()> {
        updated(self.run(&statement::delete_template(id))?, "template", id)
    }

    async fn reserve_send_slot(&mut self, number_id: NumberId, interval_us: i64, now_us: i64) -> StoreResult<i64> {
        self.query_opt(statement::RESERVE_SEND_SLOT, &[&number_id, &now_us, &interval_us], |r| get(r, "slot"))?
            .ok_or_else(|| StoreError::Other("the send slot was not returned".into()))
    }

    async fn hit_counter(&mut self, key: &str, now_ms: i64, window_ms: i64) -> StoreResult<i64> {
        self.query_opt(statement::HIT_COUNTER, &[&key, &now_ms, &window_ms], |r| get(r, "hits"))?
            .ok_or_else(|| StoreError::Other("the counter was not returned".into()))
    }

    async fn put_setting(&mut self, key: &str, value: &str, at: DateTime<Utc>) -> StoreResult<()> {
        self.run(&statement::put_setting(key, value, at)).map(|_| ())
    }
}

/// Starts the writer thread. It runs one batch at a time until every sender is gone, then
/// finishes what is queued and closes the connection cleanly (which checkpoints the WAL).
pub(crate) fn spawn(tx: SqliteTx, queue: mpsc::Receiver<Request>) -> StoreResult<()> {
    std::thread::Builder::new()
        .name("frontdesk-sqlite-writer".into())
        .spawn(move || run_writer(tx, queue))
        .map(|_| ())
        .map_err(|e| StoreError::Other(format!("could not start the SQLite writer thread: {e}")))
}

fn run_writer(mut tx: SqliteTx, mut queue: mpsc::Receiver<Request>) {
    let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        run_batch(&mut tx, &mut batch);
        batch.clear();
    }
    if let Err((_, e)) = tx.conn.close() {
        tracing::warn!(error = %e, "closing the SQLite writer connection failed");
    }
}

fn run_batch(tx: &mut SqliteTx, batch: &mut Vec<Request>) {
    if let Err(e) = tx.control("BEGIN IMMEDIATE") {
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
        if let Err(e) = tx.control("SAVEPOINT op") {
            fatal = Some(e);
            answers.push((reply, Err(StoreError::Unavailable("the write batch failed".into()))));
            break;
        }
        // Every WriteTx method completes synchronously, so blocking on the closure's future
        // never actually waits.
        let result = match std::panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(op(tx)))) {
            Ok(result) => result,
            Err(panic) => Err(StoreError::Other(panic_message(panic.as_ref()))),
        };
        let closed = if result.is_ok() {
            tx.control("RELEASE op")
        } else {
            tx.control("ROLLBACK TO op").and_then(|()| tx.control("RELEASE op"))
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
        None => tx.control("COMMIT"),
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
            if !tx.conn.is_autocommit() {
                let _ = tx.control("ROLLBACK");
            }
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
