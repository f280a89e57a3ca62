//! What both backends share: value conversions, error mapping, the sealed payloads, and (in
//! [`define_backend!`]) every query and row mapping. SQLite and PostgreSQL accept the same
//! SQL for everything here (`$1` placeholders, `ON CONFLICT`, `RETURNING`), so the queries
//! are written once and expanded per backend; the only differences are passed in as
//! literals (`FOR UPDATE`, `SKIP LOCKED`). One text, two type-checked expansions: the
//! backends cannot drift apart.

use std::borrow::Cow;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use frontdesk_domain::E164;
use frontdesk_domain::model::{MediaRef, Patient};

use crate::vault::{Vault, aad};
use crate::{StoreError, StoreResult};

pub(crate) mod audit;
pub(crate) mod forms;
pub(crate) mod front_door;
pub(crate) mod outreach;
pub(crate) mod patients;
pub(crate) mod referrals;
pub(crate) mod reports;
mod staff_reads;
pub(crate) mod statement;
pub(crate) mod triage;
pub(crate) use staff_reads::staff_reads;

/// Milliseconds since the Unix epoch, UTC: the one timestamp representation on both
/// backends. Sub-millisecond precision is dropped.
pub(crate) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn opt_ms(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(ms)
}

pub(crate) fn from_ms(column: &str, value: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(value)
        .ok_or_else(|| StoreError::Corrupt(format!("column {column}: {value} is not a representable timestamp")))
}

pub(crate) fn parse_word<T: FromStr<Err = String>>(column: &str, value: &str) -> StoreResult<T> {
    value.parse::<T>().map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

pub(crate) fn parse_e164(column: &str, value: &str) -> StoreResult<E164> {
    E164::parse_strict(value).map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

/// `prefix` + `name`, borrowing when there is no prefix (the common case).
pub(crate) fn col<'a>(prefix: &str, name: &'a str) -> Cow<'a, str> {
    if prefix.is_empty() { Cow::Borrowed(name) } else { Cow::Owned(format!("{prefix}{name}")) }
}

/// An `UPDATE` or `DELETE` by id touched exactly one row, or the row does not exist.
pub(crate) fn one_row(changes: u64, what: &str, id: Uuid) -> StoreResult<()> {
    if changes == 1 { Ok(()) } else { Err(StoreError::Other(format!("{what} {id} does not exist"))) }
}

pub(crate) fn lowercase_email(email: &str) -> String {
    email.to_lowercase()
}

/// Maps a driver error to the store's error kinds. Unique violations that an `INSERT` can
/// hit are normally caught earlier with `ON CONFLICT DO NOTHING` (so that a PostgreSQL
/// transaction is not aborted by them); this is the fallback for the rest.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
                let what = db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned());
                return StoreError::Conflict(describe_conflict(&what).into());
            }
            if is_transient_code(&code) {
                return StoreError::Unavailable(format!("{} (code {code})", db.message()));
            }
            StoreError::Other(format!("{} (code {code})", db.message()))
        }
        sqlx::Error::PoolTimedOut => StoreError::Unavailable("timed out waiting for a database connection".into()),
        sqlx::Error::PoolClosed => StoreError::Unavailable("the database connection pool is closed".into()),
        sqlx::Error::WorkerCrashed => StoreError::Unavailable("the database connection worker stopped".into()),
        sqlx::Error::Io(e) => StoreError::Unavailable(format!("I/O error talking to the database: {e}")),
        sqlx::Error::Tls(e) => StoreError::Unavailable(format!("TLS error talking to the database: {e}")),
        sqlx::Error::ColumnDecode { index, source } => StoreError::Corrupt(format!("column {index}: {source}")),
        sqlx::Error::ColumnNotFound(c) => StoreError::Corrupt(format!("column {c} is missing")),
        sqlx::Error::Decode(e) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Other(other.to_string()),
    }
}

/// Errors after which retrying later can succeed (nothing was written).
fn is_transient_code(code: &str) -> bool {
    // SQLite: the primary result code is the low byte of the extended code.
    if let Ok(n) = code.parse::<i32>() {
        let primary = n & 0xff;
        return primary == 5 /* SQLITE_BUSY */ || primary == 6 /* SQLITE_LOCKED */;
    }
    // PostgreSQL SQLSTATEs: serialization failure, deadlock, connection exceptions,
    // insufficient resources, operator intervention (shutdown), read-only standby.
    matches!(code, "40001" | "40P01" | "25006")
        || code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
}

/// A sentence fragment naming what already exists, from a SQLite message
/// (`UNIQUE constraint failed: users.email`) or a PostgreSQL constraint name
/// (`users_email_key`). Completed by `StoreError::Conflict`'s "... already exists".
pub(crate) fn describe_conflict(what: &str) -> &'static str {
    const KNOWN: &[(&str, &str)] = &[
        ("users.email", "a user with this email"),
        ("users_email", "a user with this email"),
        ("token_hash", "an API token with this hash"),
        ("e164", "a practice number with this phone number"),
        ("contacts.phone", "a contact with this phone number"),
        ("contacts_phone", "a contact with this phone number"),
        ("threads.number_id", "a thread for this number and contact"),
        ("threads_number_contact", "a thread for this number and contact"),
        ("provider_message_id", "a message with this provider message id"),
        ("messages_provider_id", "a message with this provider message id"),
        ("provider_receipts", "a receipt for this provider message id"),
        ("contact_patients", "this contact-patient link"),
    ];
    KNOWN.iter().find(|(key, _)| what.contains(key)).map(|(_, d)| *d).unwrap_or("a row with the same key")
}

/// Patient fields that identify a person, sealed together as one JSON object.
#[derive(Serialize, Deserialize)]
struct PatientDetails {
    first_name: String,
    last_name: String,
    birth_date: Option<NaiveDate>,
    mrn: Option<String>,
    phone: Option<String>,
}

pub(crate) struct OpenedPatient {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<NaiveDate>,
    pub mrn: Option<String>,
    pub phone: Option<E164>,
}

pub(crate) const PATIENT_DETAILS: &str = "patients.details";
pub(crate) const MESSAGE_BODY: &str = "messages.body";
pub(crate) const MESSAGE_MEDIA: &str = "messages.media";

/// Blind-index purpose for MRN lookups.
pub(crate) const MRN_INDEX: &str = "patient.mrn";

/// The sealed details and the MRN blind index of a patient.
pub(crate) fn seal_patient(vault: &Vault, p: &Patient) -> (Vec<u8>, Option<String>) {
    let details = PatientDetails {
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        birth_date: p.birth_date,
        mrn: p.mrn.clone(),
        phone: p.phone.as_ref().map(|ph| ph.as_str().to_owned()),
    };
    // Serialising plain strings and dates to JSON cannot fail.
    let json = serde_json::to_vec(&details).expect("patient details serialise to JSON");
    let index = p.mrn.as_deref().map(|mrn| vault.blind_index(MRN_INDEX, mrn));
    (vault.seal(&json, &aad(p.id, PATIENT_DETAILS)), index)
}

pub(crate) fn open_patient(vault: &Vault, id: Uuid, sealed: &[u8]) -> StoreResult<OpenedPatient> {
    let json = vault.open(sealed, &aad(id, PATIENT_DETAILS)).map_err(|e| in_column(PATIENT_DETAILS, e))?;
    let d: PatientDetails = serde_json::from_slice(&json)
        .map_err(|e| StoreError::Corrupt(format!("column {PATIENT_DETAILS}: not the expected JSON: {e}")))?;
    let phone = d.phone.as_deref().map(|p| parse_e164(PATIENT_DETAILS, p)).transpose()?;
    Ok(OpenedPatient { first_name: d.first_name, last_name: d.last_name, birth_date: d.birth_date, mrn: d.mrn, phone })
}

pub(crate) fn seal_body(vault: &Vault, id: Uuid, body: &str) -> Vec<u8> {
    vault.seal(body.as_bytes(), &aad(id, MESSAGE_BODY))
}

pub(crate) fn open_body(vault: &Vault, id: Uuid, sealed: &[u8]) -> StoreResult<String> {
    let bytes = vault.open(sealed, &aad(id, MESSAGE_BODY)).map_err(|e| in_column(MESSAGE_BODY, e))?;
    String::from_utf8(bytes).map_err(|_| StoreError::Corrupt(format!("column {MESSAGE_BODY}: not UTF-8")))
}

/// `None` for no media, so the common text-only message stores no ciphertext for it.
pub(crate) fn seal_media(vault: &Vault, id: Uuid, media: &[MediaRef]) -> Option<Vec<u8>> {
    if media.is_empty() {
        return None;
    }
    let json = serde_json::to_vec(media).expect("media references serialise to JSON");
    Some(vault.seal(&json, &aad(id, MESSAGE_MEDIA)))
}

pub(crate) fn open_media(vault: &Vault, id: Uuid, sealed: Option<&[u8]>) -> StoreResult<Vec<MediaRef>> {
    let Some(sealed) = sealed else {
        return Ok(Vec::new());
    };
    let json = vault.open(sealed, &aad(id, MESSAGE_MEDIA)).map_err(|e| in_column(MESSAGE_MEDIA, e))?;
    serde_json::from_slice(&json)
        .map_err(|e| StoreError::Corrupt(format!("column {MESSAGE_MEDIA}: not the expected JSON: {e}")))
}

fn in_column(column: &str, e: StoreError) -> StoreError {
    match e {
        StoreError::Corrupt(m) => StoreError::Corrupt(format!("column {column}: {m}")),
        other => other,
    }
}

/// Turns a panic inside a write closure into an error, so one buggy closure cannot take the
/// SQLite writer task (and with it every later write) down.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("the write closure panicked: {text}; its writes were rolled back")
}

// Column lists, as macros so `concat!` can build `&'static str` queries from them.

macro_rules! user_cols {
    () => {
        "id, email, name, role, password_hash, disabled, created_at"
    };
}
macro_rules! token_cols {
    () => {
        "id, name, token_hash, created_by, created_at, revoked_at"
    };
}
macro_rules! department_cols {
    () => {
        "id, name, created_at"
    };
}
macro_rules! number_cols {
    () => {
        "id, e164, provider, messaging_service_sid, default_department_id, rate_limit_per_sec, created_at"
    };
}
macro_rules! contact_cols {
    () => {
        "id, phone, opted_out, created_at"
    };
}
macro_rules! patient_cols {
    () => {
        "id, details, status, created_at"
    };
}
macro_rules! thread_cols {
    () => {
        "id, number_id, contact_id, created_at, last_message_at"
    };
}
macro_rules! conversation_cols {
    () => {
        "id, thread_id, status, department_id, assignee_id, patient_id, urgent, snoozed_until, \
         opened_at, closed_at, last_message_at, waiting_since, unread_count"
    };
}
macro_rules! message_cols {
    () => {
        "id, conversation_id, thread_id, direction, body, media, sender, sender_user_id, provider, \
         provider_message_id, status, error_code, error_message, encoding, segments, created_at, \
         updated_at, needs_review"
    };
}
macro_rules! consent_cols {
    () => {
        "id, contact_id, purpose, granted, source, evidence, created_at"
    };
}
macro_rules! job_cols {
    () => {
        "id, message_id, number_id, state, attempts, next_attempt_at, lease_owner, lease_until, \
         handoff_started_at, last_error, created_at"
    };
}
macro_rules! audit_cols {
    () => {
        "id, at, actor, action, target, ip, detail"
    };
}
/// The inbox join: conversation (`c_`), thread (`t_`), contact (`k_`), number (`n_`).
macro_rules! summary_select {
    () => {
        "SELECT c.id AS c_id, c.thread_id AS c_thread_id, c.status AS c_status, \
         c.department_id AS c_department_id, c.assignee_id AS c_assignee_id, \
         c.patient_id AS c_patient_id, c.urgent AS c_urgent, c.snoozed_until AS c_snoozed_until, \
         c.opened_at AS c_opened_at, c.closed_at AS c_closed_at, \
         c.last_message_at AS c_last_message_at, c.waiting_since AS c_waiting_since, \
         c.unread_count AS c_unread_count, \
         t.id AS t_id, t.number_id AS t_number_id, t.contact_id AS t_contact_id, \
         t.created_at AS t_created_at, t.last_message_at AS t_last_message_at, \
         k.id AS k_id, k.phone AS k_phone, k.opted_out AS k_opted_out, k.created_at AS k_created_at, \
         n.id AS n_id, n.e164 AS n_e164, n.provider AS n_provider, \
         n.messaging_service_sid AS n_messaging_service_sid, \
         n.default_department_id AS n_default_department_id, \
         n.rate_limit_per_sec AS n_rate_limit_per_sec, n.created_at AS n_created_at, \
         p.id AS p_id, p.details AS p_details, p.status AS p_status, p.created_at AS p_created_at, \
         lm.id AS lm_id, lm.direction AS lm_direction, lm.body AS lm_body, lm.created_at AS lm_created_at \
         FROM conversations c \
         JOIN threads t ON t.id = c.thread_id \
         JOIN contacts k ON k.id = t.contact_id \
         JOIN practice_numbers n ON n.id = t.number_id \
         LEFT JOIN patients p ON p.id = c.patient_id \
         LEFT JOIN messages lm ON lm.id = (SELECT m.id FROM messages m WHERE m.conversation_id = c.id \
             ORDER BY m.created_at DESC, m.id DESC LIMIT 1)"
    };
}

pub(crate) use {
    audit_cols, consent_cols, contact_cols, department_cols, job_cols, message_cols, number_cols, patient_cols,
    summary_select, token_cols, user_cols,
};

/// The write statements, shared by the sqlx writes (PostgreSQL) and the SQLite writer thread
/// (rusqlite). Parameters are `$N`, which both accept; rusqlite binds them by name.
pub(crate) mod sql {
    pub(crate) const CLAIM_PROVIDER_RECEIPT: &str = "INSERT INTO provider_receipts (provider, provider_message_id, received_at) \
        VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

    pub(crate) const NUMBER_BY_ID: &str = concat!("SELECT ", number_cols!(), " FROM practice_numbers WHERE id = $1");

    pub(crate) const INSERT_NUMBER: &str = concat!(
        "INSERT INTO practice_numbers (",
        number_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
    );

    pub(crate) const INSERT_DEPARTMENT: &str =
        concat!("INSERT INTO departments (", department_cols!(), ") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING");

    pub(crate) const UPSERT_CONTACT: &str = concat!(
        "INSERT INTO contacts (",
        contact_cols!(),
        ") VALUES ($1, $2, $3, $4) ON CONFLICT (phone) DO NOTHING RETURNING ",
        contact_cols!()
    );

    pub(crate) const CONTACT_BY_ID: &str = concat!("SELECT ", contact_cols!(), " FROM contacts WHERE id = $1");

    pub(crate) const SET_CONTACT_OPTED_OUT: &str = "UPDATE contacts SET opted_out = $2 WHERE id = $1";

    pub(crate) const INSERT_CONSENT_EVENT: &str = concat!(
        "INSERT INTO consent_events (",
        consent_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
    );

    pub(crate) const UPSERT_THREAD_FOR_UPDATE: &str = concat!(
        "INSERT INTO threads (",
        thread_cols!(),
        ") VALUES ($1, $2, $3, $4, $4) \
        ON CONFLICT (number_id, contact_id) DO UPDATE SET number_id = excluded.number_id \
        RETURNING ",
        thread_cols!()
    );

    pub(crate) const THREAD_BY_ID: &str = concat!("SELECT ", thread_cols!(), " FROM threads WHERE id = $1");

    pub(crate) const TOUCH_THREAD: &str = "UPDATE threads SET last_message_at = $2 WHERE id = $1";

    pub(crate) const CURRENT_CONVERSATION: &str = concat!(
        "SELECT ",
        conversation_cols!(),
        " FROM conversations WHERE thread_id = $1 AND status <> 'closed' \
        ORDER BY opened_at DESC, id DESC LIMIT 1"
    );

    pub(crate) const CONVERSATION_BY_ID: &str =
        concat!("SELECT ", conversation_cols!(), " FROM conversations WHERE id = $1");

    pub(crate) const INSERT_CONVERSATION: &str = concat!(
        "INSERT INTO conversations (",
        conversation_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING"
    );

    pub(crate) const UPDATE_CONVERSATION: &str = "UPDATE conversations SET status = $2, department_id = $3, assignee_id = $4, \
        patient_id = $5, urgent = $6, snoozed_until = $7, closed_at = $8, \
        last_message_at = $9, waiting_since = $10, unread_count = $11 WHERE id = $1";

    pub(crate) const INSERT_MESSAGE: &str = concat!(
        "INSERT INTO messages (",
        message_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
        ON CONFLICT DO NOTHING"
    );

    pub(crate) const UPDATE_MESSAGE_STATUS: &str = "UPDATE messages SET status = $2, \
        provider_message_id = COALESCE($3, provider_message_id), \
        error_code = $4, error_message = $5, needs_review = $6, updated_at = $7 \
        WHERE id = $1";

    pub(crate) const ENQUEUE_JOB: &str = concat!(
        "INSERT INTO outbox_jobs (",
        job_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
    );

    pub(crate) const JOB_BY_ID: &str = concat!("SELECT ", job_cols!(), " FROM outbox_jobs WHERE id = $1");

    pub(crate) const UPDATE_JOB: &str = "UPDATE outbox_jobs SET state = $2, attempts = $3, next_attempt_at = $4, \
        lease_owner = $5, lease_until = $6, handoff_started_at = $7, last_error = $8 \
        WHERE id = $1";

    pub(crate) const INSERT_USER: &str =
        concat!("INSERT INTO users (", user_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING");

    pub(crate) const INSERT_API_TOKEN: &str =
        concat!("INSERT INTO api_tokens (", token_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING");

    pub(crate) const INSERT_PATIENT: &str = "INSERT INTO patients (id, details, status, mrn_index, created_at) \
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";

    pub(crate) const LINK_CONTACT_PATIENT: &str =
        "INSERT INTO contact_patients (contact_id, patient_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
}

/// Claims due outbox jobs; `$sl` is the backend's row-locking clause (empty on SQLite).
macro_rules! claim_jobs_sql {
    ($sl:literal) => {
        concat!(
            "UPDATE outbox_jobs SET state = 'in_flight', lease_owner = $1, lease_until = $2 \
                     WHERE id IN (SELECT id FROM outbox_jobs \
                       WHERE (state = 'pending' AND next_attempt_at <= $3) \
                          OR (state = 'in_flight' AND lease_until <= $3) \
                       ORDER BY next_attempt_at, id LIMIT $4",
            $sl,
            ") RETURNING ",
            $crate::common::job_cols!()
        )
    };
}

/// Expands, inside a backend module, a `q` module of queries and row mappings for that
/// backend, the `WriteTx` impl for its transaction type, and the read half of its `Store`
/// impl. The backend module provides:
///
/// - `$tx` with `fn parts(&mut self) -> (&mut $conn, &Vault)`;
/// - `$store` with `fn reader(&self) -> &Pool<$db>`, `fn vault(&self) -> &Vault` and the
///   backend-specific `do_write`, `do_claim_jobs`, `do_ping`, `do_backup`.
macro_rules! define_backend {
    (
        db: $db:ty,
        row: $row:ty,
        store: $store:ty,
        name: $name:literal,
        for_update: $fu:literal,
        skip_locked: $sl:literal,
        writes: $wkind:ident $(($($wargs:tt)*))? $(,)?
    ) => {
        pub(crate) mod q {
            #![allow(clippy::too_many_arguments)]

            use chrono::{DateTime, Utc};
            use sqlx::Row as _;
            use uuid::Uuid;

            use frontdesk_domain::model::*;
            use frontdesk_domain::{Direction, E164, MessageStatus};

            use crate::common::*;
            use crate::vault::Vault;
            use crate::{ConversationQuery, ConversationSummary, StoreError, StoreResult};

            type Db = $db;
            type DbRow = $row;

            // ---- decoding -----------------------------------------------------------------

            fn get<'r, T>(row: &'r DbRow, p: &str, name: &str) -> StoreResult<T>
            where
                T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
            {
                let c = col(p, name);
                row.try_get::<T, &str>(&c).map_err(|e| StoreError::Corrupt(format!("column {c}: {e}")))
            }

            fn ts(row: &DbRow, p: &str, name: &str) -> StoreResult<DateTime<Utc>> {
                from_ms(name, get::<i64>(row, p, name)?)
            }

            fn opt_ts(row: &DbRow, p: &str, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
                get::<Option<i64>>(row, p, name)?.map(|v| from_ms(name, v)).transpose()
            }

            fn word<T: std::str::FromStr<Err = String>>(row: &DbRow, p: &str, name: &str) -> StoreResult<T> {
                parse_word(name, &get::<String>(row, p, name)?)
            }

            fn map_user(r: &DbRow) -> StoreResult<User> {
                Ok(User {
                    id: get(r, "", "id")?,
                    email: get(r, "", "email")?,
                    name: get(r, "", "name")?,
                    role: word(r, "", "role")?,
                    password_hash: get(r, "", "password_hash")?,
                    disabled: get(r, "", "disabled")?,
                    created_at: ts(r, "", "created_at")?,
                })
            }

            fn map_token(r: &DbRow) -> StoreResult<ApiToken> {
                Ok(ApiToken {
                    id: get(r, "", "id")?,
                    name: get(r, "", "name")?,
                    token_hash: get(r, "", "token_hash")?,
                    created_by: get(r, "", "created_by")?,
                    created_at: ts(r, "", "created_at")?,
                    revoked_at: opt_ts(r, "", "revoked_at")?,
                })
            }

            fn map_department(r: &DbRow) -> StoreResult<Department> {
                Ok(Department {
                    id: get(r, "", "id")?,
                    name: get(r, "", "name")?,
                    created_at: ts(r, "", "created_at")?,
                })
            }

            fn map_number(r: &DbRow, p: &str) -> StoreResult<PracticeNumber> {
                Ok(PracticeNumber {
                    id: get(r, p, "id")?,
                    e164: parse_e164("practice_numbers.e164", &get::<String>(r, p, "e164")?)?,
                    provider: word(r, p, "provider")?,
                    messaging_service_sid: get(r, p, "messaging_service_sid")?,
                    default_department_id: get(r, p, "default_department_id")?,
                    rate_limit_per_sec: get(r, p, "rate_limit_per_sec")?,
                    created_at: ts(r, p, "created_at")?,
                })
            }

            fn map_contact(r: &DbRow, p: &str) -> StoreResult<Contact> {
                Ok(Contact {
                    id: get(r, p, "id")?,
                    phone: parse_e164("contacts.phone", &get::<String>(r, p, "phone")?)?,
                    opted_out: get(r, p, "opted_out")?,
                    created_at: ts(r, p, "created_at")?,
                })
            }

            fn map_patient(r: &DbRow, vault: &Vault) -> StoreResult<Patient> {
                map_patient_at(r, vault, "")
            }

            fn map_patient_at(r: &DbRow, vault: &Vault, p: &str) -> StoreResult<Patient> {
                let id: Uuid = get(r, p, "id")?;
                let details: Vec<u8> = get(r, p, "details")?;
                let d = open_patient(vault, id, &details)?;
                Ok(Patient {
                    id,
                    first_name: d.first_name,
                    last_name: d.last_name,
                    birth_date: d.birth_date,
                    mrn: d.mrn,
                    phone: d.phone,
                    status: word(r, p, "status")?,
                    created_at: ts(r, p, "created_at")?,
                })
            }

            /// The summary's optional patient (`p_`), absent when the LEFT JOIN found none.
            fn map_summary_patient(r: &DbRow, vault: &Vault) -> StoreResult<Option<Patient>> {
                match get::<Option<Uuid>>(r, "p_", "id")? {
                    Some(_) => map_patient_at(r, vault, "p_").map(Some),
                    None => Ok(None),
                }
            }

            /// The summary's newest message (`lm_`), absent for a conversation without one.
            fn map_preview(r: &DbRow, vault: &Vault) -> StoreResult<Option<crate::MessagePreview>> {
                let Some(id) = get::<Option<Uuid>>(r, "lm_", "id")? else { return Ok(None) };
                let body: Vec<u8> = get(r, "lm_", "body")?;
                Ok(Some(crate::MessagePreview {
                    direction: word::<Direction>(r, "lm_", "direction")?,
                    body: open_body(vault, id, &body)?,
                    created_at: ts(r, "lm_", "created_at")?,
                }))
            }

            fn map_user_security(r: &DbRow, vault: &Vault, user_id: Uuid) -> StoreResult<UserSecurity> {
                let sealed: Option<Vec<u8>> = get(r, "", "totp_secret")?;
                Ok(UserSecurity {
                    totp_secret: crate::common::statement::open_totp_secret(vault, user_id, sealed.as_deref())?,
                    totp_enabled: get(r, "", "totp_enabled")?,
                    failed_logins: get(r, "", "failed_logins")?,
                    locked_until: opt_ts(r, "", "locked_until")?,
                    totp_last_step: get(r, "", "totp_last_step")?,
                })
            }

            fn map_session(r: &DbRow) -> StoreResult<Session> {
                Ok(Session {
                    id_hash: get(r, "", "id_hash")?,
                    user_id: get(r, "", "user_id")?,
                    csrf_token: get(r, "", "csrf_token")?,
                    created_at: ts(r, "", "created_at")?,
                    last_seen_at: ts(r, "", "last_seen_at")?,
                    expires_at: ts(r, "", "expires_at")?,
                    mfa_verified: get(r, "", "mfa_verified")?,
                    ip: get(r, "", "ip")?,
                })
            }

            fn map_note(r: &DbRow, vault: &Vault) -> StoreResult<Note> {
                let id: Uuid = get(r, "", "id")?;
                let body: Vec<u8> = get(r, "", "body")?;
                Ok(Note {
                    id,
                    conversation_id: get(r, "", "conversation_id")?,
                    thread_id: get(r, "", "thread_id")?,
                    author_id: get(r, "", "author_id")?,
                    body: crate::common::statement::open_note_body(vault, id, &body)?,
                    created_at: ts(r, "", "created_at")?,
                })
            }

            fn map_template(r: &DbRow) -> StoreResult<Template> {
                Ok(Template {
                    id: get(r, "", "id")?,
                    name: get(r, "", "name")?,
                    body: get(r, "", "body")?,
                    created_at: ts(r, "", "created_at")?,
                    updated_at: ts(r, "", "updated_at")?,
                })
            }

            fn map_thread(r: &DbRow, p: &str) -> StoreResult<Thread> {
                Ok(Thread {
                    id: get(r, p, "id")?,
                    number_id: get(r, p, "number_id")?,
                    contact_id: get(r, p, "contact_id")?,
                    created_at: ts(r, p, "created_at")?,
                    last_message_at: ts(r, p, "last_message_at")?,
                })
            }

            fn map_conversation(r: &DbRow, p: &str) -> StoreResult<Conversation> {
                Ok(Conversation {
                    id: get(r, p, "id")?,
                    thread_id: get(r, p, "thread_id")?,
                    status: word(r, p, "status")?,
                    department_id: get(r, p, "department_id")?,
                    assignee_id: get(r, p, "assignee_id")?,
                    patient_id: get(r, p, "patient_id")?,
                    urgent: get(r, p, "urgent")?,
                    snoozed_until: opt_ts(r, p, "snoozed_until")?,
                    opened_at: ts(r, p, "opened_at")?,
                    closed_at: opt_ts(r, p, "closed_at")?,
                    last_message_at: ts(r, p, "last_message_at")?,
                    waiting_since: opt_ts(r, p, "waiting_since")?,
                    unread_count: get(r, p, "unread_count")?,
                })
            }

            fn map_message(r: &DbRow, vault: &Vault) -> StoreResult<Message> {
                let id: Uuid = get(r, "", "id")?;
                let body: Vec<u8> = get(r, "", "body")?;
                let media: Option<Vec<u8>> = get(r, "", "media")?;
                Ok(Message {
                    id,
                    conversation_id: get(r, "", "conversation_id")?,
                    thread_id: get(r, "", "thread_id")?,
                    direction: word::<Direction>(r, "", "direction")?,
                    body: open_body(vault, id, &body)?,
                    media: open_media(vault, id, media.as_deref())?,
                    sender: word(r, "", "sender")?,
                    sender_user_id: get(r, "", "sender_user_id")?,
                    provider: word(r, "", "provider")?,
                    provider_message_id: get(r, "", "provider_message_id")?,
                    status: word::<MessageStatus>(r, "", "status")?,
                    error_code: get(r, "", "error_code")?,
                    error_message: get(r, "", "error_message")?,
                    encoding: get(r, "", "encoding")?,
                    segments: get(r, "", "segments")?,
                    created_at: ts(r, "", "created_at")?,
                    updated_at: ts(r, "", "updated_at")?,
                    needs_review: get(r, "", "needs_review")?,
                })
            }

            fn map_consent(r: &DbRow) -> StoreResult<ConsentEvent> {
                Ok(ConsentEvent {
                    id: get(r, "", "id")?,
                    contact_id: get(r, "", "contact_id")?,
                    purpose: word(r, "", "purpose")?,
                    granted: get(r, "", "granted")?,
                    source: word(r, "", "source")?,
                    evidence: get(r, "", "evidence")?,
                    created_at: ts(r, "", "created_at")?,
                })
            }

            fn map_job(r: &DbRow) -> StoreResult<OutboxJob> {
                Ok(OutboxJob {
                    id: get(r, "", "id")?,
                    message_id: get(r, "", "message_id")?,
                    number_id: get(r, "", "number_id")?,
                    state: word(r, "", "state")?,
                    attempts: get(r, "", "attempts")?,
                    next_attempt_at: ts(r, "", "next_attempt_at")?,
                    lease_owner: get(r, "", "lease_owner")?,
                    lease_until: opt_ts(r, "", "lease_until")?,
                    handoff_started_at: opt_ts(r, "", "handoff_started_at")?,
                    last_error: get(r, "", "last_error")?,
                    created_at: ts(r, "", "created_at")?,
                })
            }

            fn map_audit(r: &DbRow) -> StoreResult<AuditEvent> {
                Ok(AuditEvent {
                    id: get(r, "", "id")?,
                    at: ts(r, "", "at")?,
                    actor: get(r, "", "actor")?,
                    action: get(r, "", "action")?,
                    target: get(r, "", "target")?,
                    ip: get(r, "", "ip")?,
                    detail: get(r, "", "detail")?,
                })
            }

            fn map_summary(r: &DbRow, vault: &Vault) -> StoreResult<ConversationSummary> {
                Ok(ConversationSummary {
                    conversation: map_conversation(r, "c_")?,
                    thread: map_thread(r, "t_")?,
                    contact: map_contact(r, "k_")?,
                    number: map_number(r, "n_")?,
                    patient: map_summary_patient(r, vault)?,
                    last_message: map_preview(r, vault)?,
                })
            }

            fn one<T>(row: Option<DbRow>, f: impl FnOnce(&DbRow) -> StoreResult<T>) -> StoreResult<Option<T>> {
                row.as_ref().map(f).transpose()
            }

            fn all<T>(rows: Vec<DbRow>, f: impl Fn(&DbRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
                rows.iter().map(f).collect()
            }



            // ---- numbers and departments ----------------------------------------------------

            pub(crate) async fn number_by_e164<'e, E>(ex: E, e164: &E164) -> StoreResult<Option<PracticeNumber>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query(concat!("SELECT ", number_cols!(), " FROM practice_numbers WHERE e164 = $1"))
                    .bind(e164.as_str())
                    .fetch_optional(ex)
                    .await
                    .map_err(db_err)?;
                one(row, |r| map_number(r, ""))
            }

            pub(crate) async fn list_numbers<'e, E>(ex: E) -> StoreResult<Vec<PracticeNumber>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let rows = sqlx::query(concat!("SELECT ", number_cols!(), " FROM practice_numbers ORDER BY e164"))
                    .fetch_all(ex)
                    .await
                    .map_err(db_err)?;
                all(rows, |r| map_number(r, ""))
            }

            pub(crate) async fn list_departments<'e, E>(ex: E) -> StoreResult<Vec<Department>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let rows = sqlx::query(concat!("SELECT ", department_cols!(), " FROM departments ORDER BY name, id"))
                    .fetch_all(ex)
                    .await
                    .map_err(db_err)?;
                all(rows, map_department)
            }

            pub(crate) async fn contact_by_phone<'e, E>(ex: E, phone: &E164) -> StoreResult<Option<Contact>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query(concat!("SELECT ", contact_cols!(), " FROM contacts WHERE phone = $1"))
                    .bind(phone.as_str())
                    .fetch_optional(ex)
                    .await
                    .map_err(db_err)?;
                one(row, |r| map_contact(r, ""))
            }

            /// Oldest first, so the last one is the current state.
            pub(crate) async fn consent_events<'e, E>(ex: E, contact_id: Uuid) -> StoreResult<Vec<ConsentEvent>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    consent_cols!(),
                    " FROM consent_events WHERE contact_id = $1 ORDER BY created_at, id"
                ))
                .bind(contact_id)
                .fetch_all(ex)
                .await
                .map_err(db_err)?;
                all(rows, map_consent)
            }

            pub(crate) async fn conversation_summary<'e, E>(ex: E, vault: &Vault, id: Uuid) -> StoreResult<Option<ConversationSummary>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query(concat!(summary_select!(), " WHERE c.id = $1"))
                    .bind(id)
                    .fetch_optional(ex)
                    .await
                    .map_err(db_err)?;
                one(row, |r| map_summary(r, vault))
            }

            pub(crate) async fn message_by_id<'e, E>(
                ex: E,
                vault: &Vault,
                id: Uuid,
                lock: bool,
            ) -> StoreResult<Option<Message>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let sql = if lock {
                    concat!("SELECT ", message_cols!(), " FROM messages WHERE id = $1", $fu)
                } else {
                    concat!("SELECT ", message_cols!(), " FROM messages WHERE id = $1")
                };
                let row = sqlx::query(sql).bind(id).fetch_optional(ex).await.map_err(db_err)?;
                one(row, |r| map_message(r, vault))
            }

            pub(crate) async fn message_by_provider_id<'e, E>(
                ex: E,
                vault: &Vault,
                provider: ProviderKind,
                provider_message_id: &str,
                lock: bool,
            ) -> StoreResult<Option<Message>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let sql = if lock {
                    concat!(
                        "SELECT ",
                        message_cols!(),
                        " FROM messages WHERE provider = $1 AND provider_message_id = $2",
                        $fu
                    )
                } else {
                    concat!(
                        "SELECT ",
                        message_cols!(),
                        " FROM messages WHERE provider = $1 AND provider_message_id = $2"
                    )
                };
                let row = sqlx::query(sql)
                    .bind(provider.as_str())
                    .bind(provider_message_id)
                    .fetch_optional(ex)
                    .await
                    .map_err(db_err)?;
                one(row, |r| map_message(r, vault))
            }

            pub(crate) async fn thread_messages<'e, E>(
                ex: E,
                vault: &Vault,
                thread_id: Uuid,
            ) -> StoreResult<Vec<Message>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    message_cols!(),
                    " FROM messages WHERE thread_id = $1 ORDER BY created_at, id"
                ))
                .bind(thread_id)
                .fetch_all(ex)
                .await
                .map_err(db_err)?;
                all(rows, |r| map_message(r, vault))
            }

            /// The newest job of the message.
            pub(crate) async fn job_for_message<'e, E>(ex: E, message_id: Uuid) -> StoreResult<Option<OutboxJob>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query(concat!(
                    "SELECT ",
                    job_cols!(),
                    " FROM outbox_jobs WHERE message_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1"
                ))
                .bind(message_id)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
                one(row, map_job)
            }

            pub(crate) async fn outbox_depth<'e, E>(ex: E) -> StoreResult<i64>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox_jobs WHERE state IN ('pending', 'in_flight')")
                    .fetch_one(ex)
                    .await
                    .map_err(db_err)?;
                get(&row, "", "n")
            }

            pub(crate) async fn user_by_email<'e, E>(ex: E, email: &str) -> StoreResult<Option<User>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE email = $1"))
                    .bind(lowercase_email(email))
                    .fetch_optional(ex)
                    .await
                    .map_err(db_err)?;
                one(row, map_user)
            }

            pub(crate) async fn user_by_id<'e, E>(ex: E, id: Uuid) -> StoreResult<Option<User>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(ex)
                    .await
                    .map_err(db_err)?;
                one(row, map_user)
            }

            pub(crate) async fn count_users<'e, E>(ex: E) -> StoreResult<i64>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(ex).await.map_err(db_err)?;
                get(&row, "", "n")
            }

            pub(crate) async fn api_token_by_hash<'e, E>(ex: E, hash: &str) -> StoreResult<Option<ApiToken>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query(concat!("SELECT ", token_cols!(), " FROM api_tokens WHERE token_hash = $1"))
                    .bind(hash)
                    .fetch_optional(ex)
                    .await
                    .map_err(db_err)?;
                one(row, map_token)
            }

            pub(crate) async fn patient_by_id<'e, E>(ex: E, vault: &Vault, id: Uuid) -> StoreResult<Option<Patient>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let row = sqlx::query(concat!("SELECT ", patient_cols!(), " FROM patients WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(ex)
                    .await
                    .map_err(db_err)?;
                one(row, |r| map_patient(r, vault))
            }

            pub(crate) async fn list_patients<'e, E>(
                ex: E,
                vault: &Vault,
                limit: u32,
                offset: u32,
            ) -> StoreResult<Vec<Patient>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    patient_cols!(),
                    " FROM patients ORDER BY created_at, id LIMIT $1 OFFSET $2"
                ))
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(ex)
                .await
                .map_err(db_err)?;
                all(rows, |r| map_patient(r, vault))
            }

            pub(crate) async fn list_audit<'e, E>(ex: E, limit: u32) -> StoreResult<Vec<AuditEvent>>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    audit_cols!(),
                    " FROM audit_events ORDER BY at DESC, id DESC LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(ex)
                .await
                .map_err(db_err)?;
                all(rows, map_audit)
            }


            crate::common::staff_reads!();
            crate::common::forms::form_reads!();
            crate::common::front_door::front_door_reads!();
            crate::common::audit::audit_reads!();
            crate::common::reports::report_reads!();
            crate::common::patients::patient_reads!();
            crate::common::referrals::referral_reads!();
            crate::common::outreach::outreach_reads!();

            crate::common::sqlx_write_queries!($wkind $(($($wargs)*))? ; skip_locked: $sl);
        }

        crate::common::sqlx_write_tx!($wkind $(($($wargs)*))?);
        crate::common::forms::form_backend!(store: $store, writes: $wkind $(($($wargs)*))?);
        crate::common::front_door::front_door_backend!(store: $store, writes: $wkind $(($($wargs)*))?);
        crate::common::audit::audit_backend!(store: $store, writes: $wkind $(($($wargs)*))?);
        crate::common::reports::report_backend!(store: $store, writes: $wkind $(($($wargs)*))?);
        crate::common::patients::patient_backend!(store: $store, writes: $wkind $(($($wargs)*))?);
        crate::common::referrals::referral_backend!(store: $store, writes: $wkind $(($($wargs)*))?);
        crate::common::outreach::outreach_backend!(store: $store, writes: $wkind $(($($wargs)*))?);

        #[async_trait::async_trait]
        impl crate::Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn write(&self, op: crate::WriteOp) -> crate::StoreResult<Box<dyn std::any::Any + Send>> {
                self.do_write(op).await
            }

            async fn claim_jobs(
                &self,
                owner: &str,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::OutboxJob>> {
                self.do_claim_jobs(owner, now, lease_until, limit).await
            }

            async fn ping(&self) -> crate::StoreResult<()> {
                self.do_ping().await
            }

            async fn user_by_email(&self, email: &str) -> crate::StoreResult<Option<frontdesk_domain::model::User>> {
                q::user_by_email(self.reader(), email).await
            }

            async fn user_by_id(&self, id: uuid::Uuid) -> crate::StoreResult<Option<frontdesk_domain::model::User>> {
                q::user_by_id(self.reader(), id).await
            }

            async fn count_users(&self) -> crate::StoreResult<i64> {
                q::count_users(self.reader()).await
            }

            async fn api_token_by_hash(
                &self,
                token_hash: &str,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::ApiToken>> {
                q::api_token_by_hash(self.reader(), token_hash).await
            }

            async fn list_numbers(&self) -> crate::StoreResult<Vec<frontdesk_domain::model::PracticeNumber>> {
                q::list_numbers(self.reader()).await
            }

            async fn number_by_e164(
                &self,
                e164: &frontdesk_domain::E164,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::PracticeNumber>> {
                q::number_by_e164(self.reader(), e164).await
            }

            async fn list_departments(&self) -> crate::StoreResult<Vec<frontdesk_domain::model::Department>> {
                q::list_departments(self.reader()).await
            }

            async fn contact_by_phone(
                &self,
                phone: &frontdesk_domain::E164,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Contact>> {
                q::contact_by_phone(self.reader(), phone).await
            }

            async fn consent_events(
                &self,
                contact_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::ConsentEvent>> {
                q::consent_events(self.reader(), contact_id).await
            }

            async fn list_conversations(
                &self,
                query: &crate::ConversationQuery,
            ) -> crate::StoreResult<Vec<crate::ConversationSummary>> {
                q::list_conversations(self.reader(), self.vault(), query).await
            }

            async fn conversation_summary(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<crate::ConversationSummary>> {
                q::conversation_summary(self.reader(), self.vault(), id).await
            }

            async fn thread_messages(
                &self,
                thread_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::Message>> {
                q::thread_messages(self.reader(), self.vault(), thread_id).await
            }

            async fn message_by_id(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Message>> {
                q::message_by_id(self.reader(), self.vault(), id, false).await
            }

            async fn message_by_provider_id(
                &self,
                provider: frontdesk_domain::model::ProviderKind,
                provider_message_id: &str,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Message>> {
                q::message_by_provider_id(self.reader(), self.vault(), provider, provider_message_id, false).await
            }

            async fn job_for_message(
                &self,
                message_id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::OutboxJob>> {
                q::job_for_message(self.reader(), message_id).await
            }

            async fn outbox_depth(&self) -> crate::StoreResult<i64> {
                q::outbox_depth(self.reader()).await
            }

            async fn list_patients(
                &self,
                limit: u32,
                offset: u32,
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::Patient>> {
                q::list_patients(self.reader(), self.vault(), limit, offset).await
            }

            async fn patient_by_id(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Patient>> {
                q::patient_by_id(self.reader(), self.vault(), id).await
            }

            async fn list_audit(&self, limit: u32) -> crate::StoreResult<Vec<frontdesk_domain::model::AuditEvent>> {
                q::list_audit(self.reader(), limit).await
            }

            async fn count_conversations(&self, query: &crate::ConversationQuery) -> crate::StoreResult<i64> {
                q::count_conversations(self.reader(), query).await
            }

            async fn contact_conversations(
                &self,
                contact_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<crate::ConversationSummary>> {
                q::contact_conversations(self.reader(), self.vault(), contact_id).await
            }

            async fn patient_conversations(
                &self,
                patient_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<crate::ConversationSummary>> {
                q::patient_conversations(self.reader(), self.vault(), patient_id).await
            }

            async fn thread_notes(&self, thread_id: uuid::Uuid) -> crate::StoreResult<Vec<frontdesk_domain::model::Note>> {
                q::thread_notes(self.reader(), self.vault(), thread_id).await
            }

            async fn contact_by_id(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Contact>> {
                q::contact_by_id_read(self.reader(), id).await
            }

            async fn patients_for_contact(
                &self,
                contact_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::Patient>> {
                q::patients_for_contact(self.reader(), self.vault(), contact_id).await
            }

            async fn patients_by_mrn(&self, mrn: &str) -> crate::StoreResult<Vec<frontdesk_domain::model::Patient>> {
                q::patients_by_mrn(self.reader(), self.vault(), mrn).await
            }

            async fn search_messages(
                &self,
                terms: &[String],
                limit: u32,
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::Message>> {
                q::search_messages(self.reader(), self.vault(), terms, limit).await
            }

            async fn search_patients(
                &self,
                terms: &[String],
                limit: u32,
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::Patient>> {
                q::search_patients(self.reader(), self.vault(), terms, limit).await
            }

            async fn list_users(&self) -> crate::StoreResult<Vec<frontdesk_domain::model::User>> {
                q::list_users(self.reader()).await
            }

            async fn user_security(
                &self,
                user_id: uuid::Uuid,
            ) -> crate::StoreResult<frontdesk_domain::model::UserSecurity> {
                q::user_security(self.reader(), self.vault(), user_id).await
            }

            async fn user_departments(&self, user_id: uuid::Uuid) -> crate::StoreResult<Vec<uuid::Uuid>> {
                q::user_departments(self.reader(), user_id).await
            }

            async fn unused_recovery_codes(&self, user_id: uuid::Uuid) -> crate::StoreResult<i64> {
                q::unused_recovery_codes(self.reader(), user_id).await
            }

            async fn session_by_hash(
                &self,
                id_hash: &str,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Session>> {
                q::session_by_hash(self.reader(), id_hash).await
            }

            async fn list_templates(&self) -> crate::StoreResult<Vec<frontdesk_domain::model::Template>> {
                q::list_templates(self.reader()).await
            }

            async fn setting(&self, key: &str) -> crate::StoreResult<Option<String>> {
                q::setting(self.reader(), key).await
            }

            async fn counter(&self, key: &str, now_ms: i64, window_ms: i64) -> crate::StoreResult<i64> {
                let hits: Option<i64> = sqlx::query_scalar(crate::common::statement::COUNTER)
                    .bind(key)
                    .bind(now_ms)
                    .bind(window_ms)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(crate::common::db_err)?;
                Ok(hits.unwrap_or(0))
            }

            async fn backup(&self, path: &std::path::Path) -> crate::StoreResult<()> {
                self.do_backup(path).await
            }

            async fn broadcast(&self, payload: &str) -> crate::StoreResult<()> {
                self.do_broadcast(payload).await
            }

            async fn listen(&self) -> crate::StoreResult<Option<tokio::sync::mpsc::Receiver<String>>> {
                self.do_listen().await
            }

            async fn try_singleton(&self, name: &str) -> crate::StoreResult<Option<crate::SingletonLease>> {
                self.do_try_singleton(name).await
            }
        }
    };
}

pub(crate) use define_backend;

/// The sqlx write queries of a backend whose writes go through sqlx (PostgreSQL), expanded
/// inside its `q` module by [`define_backend!`] with `writes: sqlx(conn: .., tx: ..)`.
/// `writes: none` (SQLite, whose writer thread uses rusqlite) expands nothing.
macro_rules! sqlx_write_queries {
    (none ; skip_locked: $sl:literal) => {};
    (sqlx (conn: $conn:ty, tx: $tx:ty) ; skip_locked: $sl:literal) => {
        use crate::MessageStatusChange;

        type Conn = $conn;

        /// `INSERT .. ON CONFLICT DO NOTHING` affected no row: say what already exists.
        /// Doing it this way rather than catching the violation keeps a PostgreSQL
        /// transaction usable afterwards, exactly like SQLite's.
        fn inserted(result: <Db as sqlx::Database>::QueryResult, what: &str) -> StoreResult<()> {
            if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Conflict(what.to_owned())) }
        }

        fn updated(result: <Db as sqlx::Database>::QueryResult, what: &str, id: Uuid) -> StoreResult<()> {
            if result.rows_affected() == 1 {
                Ok(())
            } else {
                Err(StoreError::Other(format!("{what} {id} does not exist")))
            }
        }

        /// Runs a statement built by `common::statement`; returns the rows it affected.
        pub(crate) async fn exec_statement<'e, E>(ex: E, s: &crate::common::statement::Statement) -> StoreResult<u64>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            use crate::common::statement::Param;
            // The SQL text is one of `common::statement`'s constants or built there from
            // placeholders only; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(s.sql.to_string()));
            for p in &s.params {
                query = match p {
                    Param::Uuid(v) => query.bind(*v),
                    Param::OptUuid(v) => query.bind(*v),
                    Param::Int(v) => query.bind(*v),
                    Param::OptInt(v) => query.bind(*v),
                    Param::Text(v) => query.bind(v.clone()),
                    Param::OptText(v) => query.bind(v.clone()),
                    Param::Bool(v) => query.bind(*v),
                    Param::Bytes(v) => query.bind(v.clone()),
                    Param::OptBytes(v) => query.bind(v.clone()),
                };
            }
            Ok(query.execute(ex).await.map_err(db_err)?.rows_affected())
        }

        pub(crate) async fn user_security_for_update<'e, E>(
            ex: E,
            vault: &Vault,
            user_id: Uuid,
        ) -> StoreResult<UserSecurity>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query(concat!(
                "SELECT totp_secret, totp_enabled, failed_logins, locked_until, totp_last_step FROM users WHERE id = $1",
                " FOR UPDATE"
            ))
            .bind(user_id)
            .fetch_optional(ex)
            .await
            .map_err(db_err)?;
            match row {
                Some(r) => map_user_security(&r, vault, user_id),
                None => Err(StoreError::Other(format!("user {user_id} does not exist"))),
            }
        }

        // ---- receipts -----------------------------------------------------------------

        pub(crate) async fn claim_provider_receipt<'e, E>(
            ex: E,
            provider: ProviderKind,
            provider_message_id: &str,
            at: DateTime<Utc>,
        ) -> StoreResult<bool>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::CLAIM_PROVIDER_RECEIPT)
                .bind(provider.as_str())
                .bind(provider_message_id)
                .bind(ms(at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            Ok(res.rows_affected() == 1)
        }

        pub(crate) async fn number_by_id<'e, E>(ex: E, id: Uuid) -> StoreResult<Option<PracticeNumber>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row =
                sqlx::query(crate::common::sql::NUMBER_BY_ID).bind(id).fetch_optional(ex).await.map_err(db_err)?;
            one(row, |r| map_number(r, ""))
        }

        pub(crate) async fn insert_number<'e, E>(ex: E, n: &PracticeNumber) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::INSERT_NUMBER)
                .bind(n.id)
                .bind(n.e164.as_str())
                .bind(n.provider.as_str())
                .bind(n.messaging_service_sid.as_deref())
                .bind(n.default_department_id)
                .bind(n.rate_limit_per_sec)
                .bind(ms(n.created_at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            inserted(res, "a practice number with this phone number or id")
        }

        pub(crate) async fn insert_department<'e, E>(ex: E, d: &Department) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::INSERT_DEPARTMENT)
                .bind(d.id)
                .bind(d.name.as_str())
                .bind(ms(d.created_at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            inserted(res, "a department with this id")
        }

        // ---- contacts and consent -------------------------------------------------------

        pub(crate) async fn upsert_contact(conn: &mut Conn, phone: &E164, at: DateTime<Utc>) -> StoreResult<Contact> {
            // DO NOTHING (not DO UPDATE) so an existing contact row is not rewritten or,
            // on PostgreSQL, locked by every inbound message; a concurrent insert of the
            // same phone is waited for, after which the SELECT sees it.
            let row = sqlx::query(crate::common::sql::UPSERT_CONTACT)
                .bind(new_id())
                .bind(phone.as_str())
                .bind(false)
                .bind(ms(at))
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
            if let Some(row) = row {
                return map_contact(&row, "");
            }
            contact_by_phone(&mut *conn, phone).await?.ok_or_else(|| {
                StoreError::Unavailable("the contact was created concurrently but is not visible yet; retry".into())
            })
        }

        pub(crate) async fn contact_by_id<'e, E>(ex: E, id: Uuid) -> StoreResult<Option<Contact>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row =
                sqlx::query(crate::common::sql::CONTACT_BY_ID).bind(id).fetch_optional(ex).await.map_err(db_err)?;
            one(row, |r| map_contact(r, ""))
        }

        pub(crate) async fn set_contact_opted_out<'e, E>(ex: E, id: Uuid, opted_out: bool) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::SET_CONTACT_OPTED_OUT)
                .bind(id)
                .bind(opted_out)
                .execute(ex)
                .await
                .map_err(db_err)?;
            updated(res, "contact", id)
        }

        pub(crate) async fn insert_consent_event<'e, E>(ex: E, e: &ConsentEvent) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::INSERT_CONSENT_EVENT)
                .bind(e.id)
                .bind(e.contact_id)
                .bind(e.purpose.as_str())
                .bind(e.granted)
                .bind(e.source.as_str())
                .bind(e.evidence.as_str())
                .bind(ms(e.created_at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            inserted(res, "a consent event with this id")
        }

        // ---- threads and conversations --------------------------------------------------

        pub(crate) async fn upsert_thread_for_update<'e, E>(
            ex: E,
            number_id: Uuid,
            contact_id: Uuid,
            at: DateTime<Utc>,
        ) -> StoreResult<Thread>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            // DO UPDATE (a no-op assignment) rather than DO NOTHING: on PostgreSQL it
            // takes the row lock on an existing thread, which is what serialises
            // concurrent writers of one thread until commit, and RETURNING always
            // yields the row. On SQLite the writer is serial anyway.
            let row = sqlx::query(crate::common::sql::UPSERT_THREAD_FOR_UPDATE)
                .bind(new_id())
                .bind(number_id)
                .bind(contact_id)
                .bind(ms(at))
                .fetch_one(ex)
                .await
                .map_err(db_err)?;
            map_thread(&row, "")
        }

        pub(crate) async fn thread_by_id<'e, E>(ex: E, id: Uuid) -> StoreResult<Option<Thread>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row =
                sqlx::query(crate::common::sql::THREAD_BY_ID).bind(id).fetch_optional(ex).await.map_err(db_err)?;
            one(row, |r| map_thread(r, ""))
        }

        pub(crate) async fn touch_thread<'e, E>(ex: E, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::TOUCH_THREAD)
                .bind(id)
                .bind(ms(at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            updated(res, "thread", id)
        }

        pub(crate) async fn current_conversation<'e, E>(ex: E, thread_id: Uuid) -> StoreResult<Option<Conversation>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query(crate::common::sql::CURRENT_CONVERSATION)
                .bind(thread_id)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
            one(row, |r| map_conversation(r, ""))
        }

        pub(crate) async fn conversation_by_id<'e, E>(ex: E, id: Uuid) -> StoreResult<Option<Conversation>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query(crate::common::sql::CONVERSATION_BY_ID)
                .bind(id)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
            one(row, |r| map_conversation(r, ""))
        }

        pub(crate) async fn insert_conversation<'e, E>(ex: E, c: &Conversation) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::INSERT_CONVERSATION)
                .bind(c.id)
                .bind(c.thread_id)
                .bind(c.status.as_str())
                .bind(c.department_id)
                .bind(c.assignee_id)
                .bind(c.patient_id)
                .bind(c.urgent)
                .bind(opt_ms(c.snoozed_until))
                .bind(ms(c.opened_at))
                .bind(opt_ms(c.closed_at))
                .bind(ms(c.last_message_at))
                .bind(opt_ms(c.waiting_since))
                .bind(c.unread_count)
                .execute(ex)
                .await
                .map_err(db_err)?;
            inserted(res, "a conversation with this id")
        }

        pub(crate) async fn update_conversation<'e, E>(ex: E, c: &Conversation) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            // thread_id and opened_at identify the episode and never change.
            let res = sqlx::query(crate::common::sql::UPDATE_CONVERSATION)
                .bind(c.id)
                .bind(c.status.as_str())
                .bind(c.department_id)
                .bind(c.assignee_id)
                .bind(c.patient_id)
                .bind(c.urgent)
                .bind(opt_ms(c.snoozed_until))
                .bind(opt_ms(c.closed_at))
                .bind(ms(c.last_message_at))
                .bind(opt_ms(c.waiting_since))
                .bind(c.unread_count)
                .execute(ex)
                .await
                .map_err(db_err)?;
            updated(res, "conversation", c.id)
        }

        // ---- messages -------------------------------------------------------------------

        pub(crate) async fn insert_message<'e, E>(ex: E, vault: &Vault, m: &Message) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let body = seal_body(vault, m.id, &m.body);
            let media = seal_media(vault, m.id, &m.media);
            let res = sqlx::query(crate::common::sql::INSERT_MESSAGE)
                .bind(m.id)
                .bind(m.conversation_id)
                .bind(m.thread_id)
                .bind(m.direction.as_str())
                .bind(body)
                .bind(media)
                .bind(m.sender.as_str())
                .bind(m.sender_user_id)
                .bind(m.provider.as_str())
                .bind(m.provider_message_id.as_deref())
                .bind(m.status.as_str())
                .bind(m.error_code.as_deref())
                .bind(m.error_message.as_deref())
                .bind(m.encoding.as_str())
                .bind(m.segments)
                .bind(ms(m.created_at))
                .bind(ms(m.updated_at))
                .bind(m.needs_review)
                .execute(ex)
                .await
                .map_err(db_err)?;
            inserted(res, "a message with this id or provider message id")
        }

        pub(crate) async fn update_message_status<'e, E>(ex: E, c: &MessageStatusChange) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            // Whether the change is allowed (forward only) is the caller's rule, decided
            // on the row it read with message_by_*_for_update; this writes what it decided.
            let res = sqlx::query(crate::common::sql::UPDATE_MESSAGE_STATUS)
                .bind(c.message_id)
                .bind(c.status.as_str())
                .bind(c.provider_message_id.as_deref())
                .bind(c.error_code.as_deref())
                .bind(c.error_message.as_deref())
                .bind(c.needs_review)
                .bind(ms(c.at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            updated(res, "message", c.message_id)
        }

        // ---- outbox ---------------------------------------------------------------------

        pub(crate) async fn enqueue_job<'e, E>(ex: E, j: &OutboxJob) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::ENQUEUE_JOB)
                .bind(j.id)
                .bind(j.message_id)
                .bind(j.number_id)
                .bind(j.state.as_str())
                .bind(j.attempts)
                .bind(ms(j.next_attempt_at))
                .bind(j.lease_owner.as_deref())
                .bind(opt_ms(j.lease_until))
                .bind(opt_ms(j.handoff_started_at))
                .bind(j.last_error.as_deref())
                .bind(ms(j.created_at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            inserted(res, "an outbox job with this id")
        }

        pub(crate) async fn job_by_id<'e, E>(ex: E, id: Uuid) -> StoreResult<Option<OutboxJob>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query(crate::common::sql::JOB_BY_ID).bind(id).fetch_optional(ex).await.map_err(db_err)?;
            one(row, map_job)
        }

        pub(crate) async fn update_job<'e, E>(ex: E, j: &OutboxJob) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::UPDATE_JOB)
                .bind(j.id)
                .bind(j.state.as_str())
                .bind(j.attempts)
                .bind(ms(j.next_attempt_at))
                .bind(j.lease_owner.as_deref())
                .bind(opt_ms(j.lease_until))
                .bind(opt_ms(j.handoff_started_at))
                .bind(j.last_error.as_deref())
                .execute(ex)
                .await
                .map_err(db_err)?;
            updated(res, "outbox job", j.id)
        }

        /// Marks up to `limit` due jobs `in_flight` under `owner` and returns them, oldest
        /// due first. On PostgreSQL `$sl` (`FOR UPDATE SKIP LOCKED`) lets concurrent
        /// claimers pass over each other's rows; on SQLite this runs in the single writer,
        /// so claimers are serial. `attempts` is left to the dispatcher's `update_job`.
        pub(crate) async fn claim_jobs<'e, E>(
            ex: E,
            owner: &str,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
            limit: u32,
        ) -> StoreResult<Vec<OutboxJob>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(crate::common::claim_jobs_sql!($sl))
                .bind(owner)
                .bind(ms(lease_until))
                .bind(ms(now))
                .bind(i64::from(limit))
                .fetch_all(ex)
                .await
                .map_err(db_err)?;
            let mut jobs = all(rows, map_job)?;
            // RETURNING has no defined order.
            jobs.sort_by(|a, b| (a.next_attempt_at, a.id).cmp(&(b.next_attempt_at, b.id)));
            Ok(jobs)
        }

        // ---- users and tokens -----------------------------------------------------------

        pub(crate) async fn insert_user<'e, E>(ex: E, u: &User) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::INSERT_USER)
                .bind(u.id)
                .bind(lowercase_email(&u.email))
                .bind(u.name.as_str())
                .bind(u.role.as_str())
                .bind(u.password_hash.as_str())
                .bind(u.disabled)
                .bind(ms(u.created_at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            inserted(res, "a user with this email")
        }

        pub(crate) async fn insert_api_token<'e, E>(ex: E, t: &ApiToken) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let res = sqlx::query(crate::common::sql::INSERT_API_TOKEN)
                .bind(t.id)
                .bind(t.name.as_str())
                .bind(t.token_hash.as_str())
                .bind(t.created_by)
                .bind(ms(t.created_at))
                .bind(opt_ms(t.revoked_at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            inserted(res, "an API token with this hash or id")
        }

        // ---- patients -------------------------------------------------------------------

        pub(crate) async fn insert_patient<'e, E>(ex: E, vault: &Vault, p: &Patient) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let (details, mrn_index) = seal_patient(vault, p);
            let res = sqlx::query(crate::common::sql::INSERT_PATIENT)
                .bind(p.id)
                .bind(details)
                .bind(p.status.as_str())
                .bind(mrn_index)
                .bind(ms(p.created_at))
                .execute(ex)
                .await
                .map_err(db_err)?;
            inserted(res, "a patient with this id")
        }

        pub(crate) async fn link_contact_patient<'e, E>(ex: E, contact_id: Uuid, patient_id: Uuid) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            // Linking twice is harmless, so it is not an error.
            sqlx::query(crate::common::sql::LINK_CONTACT_PATIENT)
                .bind(contact_id)
                .bind(patient_id)
                .execute(ex)
                .await
                .map_err(db_err)?;
            Ok(())
        }

    };
}

/// The `WriteTx` impl for a sqlx transaction type; see [`sqlx_write_queries!`].
macro_rules! sqlx_write_tx {
    (none) => {};
    (sqlx (conn: $conn:ty, tx: $tx:ty)) => {
        #[async_trait::async_trait]
        impl crate::WriteTx for $tx {
            async fn claim_provider_receipt(
                &mut self,
                provider: frontdesk_domain::model::ProviderKind,
                provider_message_id: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<bool> {
                let (c, _) = self.parts();
                q::claim_provider_receipt(c, provider, provider_message_id, at).await
            }

            async fn number_by_e164(
                &mut self,
                e164: &frontdesk_domain::E164,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::PracticeNumber>> {
                q::number_by_e164(self.parts().0, e164).await
            }

            async fn number_by_id(
                &mut self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::PracticeNumber>> {
                q::number_by_id(self.parts().0, id).await
            }

            async fn insert_number(
                &mut self,
                number: &frontdesk_domain::model::PracticeNumber,
            ) -> crate::StoreResult<()> {
                q::insert_number(self.parts().0, number).await
            }

            async fn insert_department(
                &mut self,
                department: &frontdesk_domain::model::Department,
            ) -> crate::StoreResult<()> {
                q::insert_department(self.parts().0, department).await
            }

            async fn rename_department(&mut self, id: uuid::Uuid, name: &str) -> crate::StoreResult<()> {
                let n =
                    q::exec_statement(self.parts().0, &crate::common::statement::rename_department(id, name)).await?;
                crate::common::one_row(n, "department", id)
            }

            async fn upsert_contact(
                &mut self,
                phone: &frontdesk_domain::E164,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<frontdesk_domain::model::Contact> {
                q::upsert_contact(self.parts().0, phone, at).await
            }

            async fn contact_by_id(
                &mut self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Contact>> {
                q::contact_by_id(self.parts().0, id).await
            }

            async fn set_contact_opted_out(&mut self, id: uuid::Uuid, opted_out: bool) -> crate::StoreResult<()> {
                q::set_contact_opted_out(self.parts().0, id, opted_out).await
            }

            async fn insert_consent_event(
                &mut self,
                event: &frontdesk_domain::model::ConsentEvent,
            ) -> crate::StoreResult<()> {
                q::insert_consent_event(self.parts().0, event).await
            }

            async fn upsert_thread_for_update(
                &mut self,
                number_id: uuid::Uuid,
                contact_id: uuid::Uuid,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<frontdesk_domain::model::Thread> {
                q::upsert_thread_for_update(self.parts().0, number_id, contact_id, at).await
            }

            async fn thread_by_id(
                &mut self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Thread>> {
                q::thread_by_id(self.parts().0, id).await
            }

            async fn touch_thread(
                &mut self,
                id: uuid::Uuid,
                last_message_at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<()> {
                q::touch_thread(self.parts().0, id, last_message_at).await
            }

            async fn current_conversation(
                &mut self,
                thread_id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Conversation>> {
                q::current_conversation(self.parts().0, thread_id).await
            }

            async fn conversation_by_id(
                &mut self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Conversation>> {
                q::conversation_by_id(self.parts().0, id).await
            }

            async fn insert_conversation(
                &mut self,
                conversation: &frontdesk_domain::model::Conversation,
            ) -> crate::StoreResult<()> {
                q::insert_conversation(self.parts().0, conversation).await
            }

            async fn update_conversation(
                &mut self,
                conversation: &frontdesk_domain::model::Conversation,
            ) -> crate::StoreResult<()> {
                q::update_conversation(self.parts().0, conversation).await
            }

            async fn insert_message(&mut self, message: &frontdesk_domain::model::Message) -> crate::StoreResult<()> {
                let (c, v) = self.parts();
                q::insert_message(&mut *c, v, message).await?;
                let tokens = crate::common::statement::message_tokens(v, message);
                if let Some(terms) =
                    crate::common::statement::tokens_insert("message_terms (term, message_id)", message.id, tokens)
                {
                    q::exec_statement(c, &terms).await?;
                }
                Ok(())
            }

            async fn message_by_id_for_update(
                &mut self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Message>> {
                let (c, v) = self.parts();
                q::message_by_id(c, v, id, true).await
            }

            async fn message_by_provider_id_for_update(
                &mut self,
                provider: frontdesk_domain::model::ProviderKind,
                provider_message_id: &str,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::Message>> {
                let (c, v) = self.parts();
                q::message_by_provider_id(c, v, provider, provider_message_id, true).await
            }

            async fn update_message_status(&mut self, change: &crate::MessageStatusChange) -> crate::StoreResult<()> {
                q::update_message_status(self.parts().0, change).await
            }

            async fn enqueue_job(&mut self, job: &frontdesk_domain::model::OutboxJob) -> crate::StoreResult<()> {
                q::enqueue_job(self.parts().0, job).await
            }

            async fn job_by_id(
                &mut self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::model::OutboxJob>> {
                q::job_by_id(self.parts().0, id).await
            }

            async fn update_job(&mut self, job: &frontdesk_domain::model::OutboxJob) -> crate::StoreResult<()> {
                q::update_job(self.parts().0, job).await
            }

            async fn insert_user(&mut self, user: &frontdesk_domain::model::User) -> crate::StoreResult<()> {
                q::insert_user(self.parts().0, user).await
            }

            async fn insert_api_token(&mut self, token: &frontdesk_domain::model::ApiToken) -> crate::StoreResult<()> {
                q::insert_api_token(self.parts().0, token).await
            }

            async fn insert_patient(&mut self, patient: &frontdesk_domain::model::Patient) -> crate::StoreResult<()> {
                let (c, v) = self.parts();
                q::insert_patient(&mut *c, v, patient).await?;
                let tokens = crate::common::statement::patient_tokens(v, patient);
                if let Some(terms) =
                    crate::common::statement::tokens_insert("patient_terms (term, patient_id)", patient.id, tokens)
                {
                    q::exec_statement(c, &terms).await?;
                }
                Ok(())
            }

            async fn link_contact_patient(
                &mut self,
                contact_id: uuid::Uuid,
                patient_id: uuid::Uuid,
            ) -> crate::StoreResult<()> {
                q::link_contact_patient(self.parts().0, contact_id, patient_id).await
            }

            async fn insert_audit(&mut self, event: &frontdesk_domain::model::AuditEvent) -> crate::StoreResult<()> {
                // Chained just before COMMIT (see `PgTx::append_audit`), so the chain's head
                // is locked for as short a time as possible.
                self.defer_audit(event);
                Ok(())
            }

            async fn update_user(&mut self, user: &frontdesk_domain::model::User) -> crate::StoreResult<()> {
                let n = q::exec_statement(self.parts().0, &crate::common::statement::update_user(user)).await?;
                crate::common::one_row(n, "user", user.id)
            }

            async fn user_security_for_update(
                &mut self,
                user_id: uuid::Uuid,
            ) -> crate::StoreResult<frontdesk_domain::model::UserSecurity> {
                let (c, v) = self.parts();
                q::user_security_for_update(c, v, user_id).await
            }

            async fn update_user_security(
                &mut self,
                user_id: uuid::Uuid,
                security: &frontdesk_domain::model::UserSecurity,
            ) -> crate::StoreResult<()> {
                let (c, v) = self.parts();
                let s = crate::common::statement::update_user_security(v, user_id, security);
                crate::common::one_row(q::exec_statement(c, &s).await?, "user", user_id)
            }

            async fn set_user_departments(
                &mut self,
                user_id: uuid::Uuid,
                departments: &[uuid::Uuid],
            ) -> crate::StoreResult<()> {
                let c = self.parts().0;
                q::exec_statement(&mut *c, &crate::common::statement::clear_user_departments(user_id)).await?;
                for d in departments {
                    q::exec_statement(&mut *c, &crate::common::statement::add_user_department(user_id, *d)).await?;
                }
                Ok(())
            }

            async fn replace_recovery_codes(
                &mut self,
                user_id: uuid::Uuid,
                code_hashes: &[String],
            ) -> crate::StoreResult<()> {
                let c = self.parts().0;
                q::exec_statement(&mut *c, &crate::common::statement::clear_recovery_codes(user_id)).await?;
                for h in code_hashes {
                    q::exec_statement(&mut *c, &crate::common::statement::add_recovery_code(user_id, h)).await?;
                }
                Ok(())
            }

            async fn use_recovery_code(
                &mut self,
                user_id: uuid::Uuid,
                code_hash: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<bool> {
                let s = crate::common::statement::use_recovery_code(user_id, code_hash, at);
                Ok(q::exec_statement(self.parts().0, &s).await? == 1)
            }

            async fn insert_session(&mut self, session: &frontdesk_domain::model::Session) -> crate::StoreResult<()> {
                let n = q::exec_statement(self.parts().0, &crate::common::statement::insert_session(session)).await?;
                if n == 1 { Ok(()) } else { Err(crate::StoreError::Conflict("a session with this id".into())) }
            }

            async fn update_session(&mut self, session: &frontdesk_domain::model::Session) -> crate::StoreResult<()> {
                q::exec_statement(self.parts().0, &crate::common::statement::update_session(session)).await?;
                Ok(())
            }

            async fn delete_session(&mut self, id_hash: &str) -> crate::StoreResult<()> {
                q::exec_statement(self.parts().0, &crate::common::statement::delete_session(id_hash)).await?;
                Ok(())
            }

            async fn delete_user_sessions(&mut self, user_id: uuid::Uuid) -> crate::StoreResult<()> {
                q::exec_statement(self.parts().0, &crate::common::statement::delete_user_sessions(user_id)).await?;
                Ok(())
            }

            async fn insert_note(&mut self, note: &frontdesk_domain::model::Note) -> crate::StoreResult<()> {
                let (c, v) = self.parts();
                let n = q::exec_statement(c, &crate::common::statement::insert_note(v, note)).await?;
                if n == 1 { Ok(()) } else { Err(crate::StoreError::Conflict("a note with this id".into())) }
            }

            async fn upsert_template(
                &mut self,
                template: &frontdesk_domain::model::Template,
            ) -> crate::StoreResult<()> {
                q::exec_statement(self.parts().0, &crate::common::statement::upsert_template(template)).await?;
                Ok(())
            }

            async fn delete_template(&mut self, id: uuid::Uuid) -> crate::StoreResult<()> {
                let n = q::exec_statement(self.parts().0, &crate::common::statement::delete_template(id)).await?;
                crate::common::one_row(n, "template", id)
            }

            async fn reserve_send_slot(
                &mut self,
                number_id: uuid::Uuid,
                interval_us: i64,
                now_us: i64,
            ) -> crate::StoreResult<i64> {
                sqlx::query_scalar(crate::common::statement::RESERVE_SEND_SLOT)
                    .bind(number_id)
                    .bind(now_us)
                    .bind(interval_us)
                    .fetch_one(self.parts().0)
                    .await
                    .map_err(crate::common::db_err)
            }

            async fn hit_counter(&mut self, key: &str, now_ms: i64, window_ms: i64) -> crate::StoreResult<i64> {
                sqlx::query_scalar(crate::common::statement::HIT_COUNTER)
                    .bind(key)
                    .bind(now_ms)
                    .bind(window_ms)
                    .fetch_one(self.parts().0)
                    .await
                    .map_err(crate::common::db_err)
            }

            async fn put_setting(
                &mut self,
                key: &str,
                value: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<()> {
                q::exec_statement(self.parts().0, &crate::common::statement::put_setting(key, value, at)).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use {claim_jobs_sql, sqlx_write_queries, sqlx_write_tx};
