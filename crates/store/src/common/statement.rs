//! Write statements built once for both backends: the SQL text plus its parameters as
//! backend-neutral values. PostgreSQL binds them through sqlx, the SQLite writer thread through
//! rusqlite; both store them identically (UUIDs, epoch milliseconds, booleans, sealed bytes).

use std::borrow::Cow;

use uuid::Uuid;

use frontdesk_domain::model::{Message, Note, Patient, Session, Template, User, UserSecurity};

use super::{lowercase_email, ms, opt_ms};
use crate::vault::{Vault, aad};

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Bytes(Vec<u8>),
    OptBytes(Option<Vec<u8>>),
}

/// SQL with `$N` placeholders and the values for them, in order.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub sql: Cow<'static, str>,
    pub params: Vec<Param>,
}

impl Statement {
    fn new(sql: &'static str, params: Vec<Param>) -> Statement {
        Statement { sql: Cow::Borrowed(sql), params }
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Uuid(v) => v.to_sql(),
            Param::OptUuid(v) => v.to_sql(),
            Param::Int(v) => v.to_sql(),
            Param::OptInt(v) => v.to_sql(),
            Param::Text(v) => v.to_sql(),
            Param::OptText(v) => v.to_sql(),
            Param::Bool(v) => v.to_sql(),
            Param::Bytes(v) => v.to_sql(),
            Param::OptBytes(v) => v.to_sql(),
        }
    }
}

/// The keyed token for one normalised search term: an HMAC, so the database holds no words.
pub(crate) fn term_token(vault: &Vault, term: &str) -> String {
    let mut full = vault.blind_index("term", term);
    // 128 bits are plenty to keep distinct words apart and halve the index.
    full.truncate(32);
    full
}

pub(crate) const INSERT_MESSAGE_TERM: &str =
    "INSERT INTO message_terms (term, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
pub(crate) const INSERT_PATIENT_TERM: &str =
    "INSERT INTO patient_terms (term, patient_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// The keyed tokens under which a message body is indexed.
pub(crate) fn message_tokens(vault: &Vault, m: &Message) -> Vec<String> {
    frontdesk_domain::search::terms(&m.body).iter().map(|t| term_token(vault, t)).collect()
}

/// The keyed tokens under which a patient is found: name words and the phone number.
pub(crate) fn patient_tokens(vault: &Vault, p: &Patient) -> Vec<String> {
    let mut terms = frontdesk_domain::search::terms(&format!("{} {}", p.first_name, p.last_name));
    if let Some(phone) = &p.phone {
        terms.push(phone_term(phone.as_str()));
    }
    terms.iter().map(|t| term_token(vault, t)).collect()
}

/// One multi-row `INSERT` of (token, owner) pairs (PostgreSQL: one round trip), or `None`
/// when there are none. The SQLite writer inserts row by row with one cached statement
/// instead, since a statement per row count would churn its statement cache.
pub(crate) fn tokens_insert(table_and_cols: &'static str, owner: Uuid, tokens: Vec<String>) -> Option<Statement> {
    if tokens.is_empty() {
        return None;
    }
    let mut sql = format!("INSERT INTO {table_and_cols} VALUES ");
    let mut params = vec![Param::Uuid(owner)];
    for (i, token) in tokens.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, $1)", i + 2));
        params.push(Param::Text(token));
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    Some(Statement { sql: Cow::Owned(sql), params })
}

/// The term under which a patient's phone number is indexed (never a word of a name).
pub(crate) fn phone_term(e164: &str) -> String {
    format!("tel:{e164}")
}

pub(crate) fn update_user(u: &User) -> Statement {
    Statement::new(
        "UPDATE users SET email = $2, name = $3, role = $4, password_hash = $5, disabled = $6 WHERE id = $1",
        vec![
            Param::Uuid(u.id),
            Param::Text(lowercase_email(&u.email)),
            Param::Text(u.name.clone()),
            Param::Text(u.role.as_str().into()),
            Param::Text(u.password_hash.clone()),
            Param::Bool(u.disabled),
        ],
    )
}

pub(crate) fn update_user_security(vault: &Vault, user_id: Uuid, s: &UserSecurity) -> Statement {
    let secret = s.totp_secret.as_ref().map(|v| vault.seal(v.as_bytes(), &aad(user_id, "users.totp_secret")));
    Statement::new(
        "UPDATE users SET totp_secret = $2, totp_enabled = $3, failed_logins = $4, locked_until = $5, \
         totp_last_step = $6 WHERE id = $1",
        vec![
            Param::Uuid(user_id),
            Param::OptBytes(secret),
            Param::Bool(s.totp_enabled),
            Param::Int(i64::from(s.failed_logins)),
            Param::OptInt(opt_ms(s.locked_until)),
            Param::Int(s.totp_last_step),
        ],
    )
}

pub(crate) fn open_totp_secret(
    vault: &Vault,
    user_id: Uuid,
    sealed: Option<&[u8]>,
) -> crate::StoreResult<Option<String>> {
    sealed
        .map(|s| {
            let plain = vault.open(s, &aad(user_id, "users.totp_secret"))?;
            String::from_utf8(plain).map_err(|_| crate::StoreError::Corrupt("users.totp_secret is not UTF-8".into()))
        })
        .transpose()
}

pub(crate) const USER_SECURITY: &str =
    "SELECT totp_secret, totp_enabled, failed_logins, locked_until, totp_last_step FROM users WHERE id = $1";

pub(crate) fn clear_user_departments(user_id: Uuid) -> Statement {
    Statement::new("DELETE FROM user_departments WHERE user_id = $1", vec![Param::Uuid(user_id)])
}

pub(crate) fn add_user_department(user_id: Uuid, department_id: Uuid) -> Statement {
    Statement::new(
        "INSERT INTO user_departments (user_id, department_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        vec![Param::Uuid(user_id), Param::Uuid(department_id)],
    )
}

pub(crate) fn clear_recovery_codes(user_id: Uuid) -> Statement {
    Statement::new("DELETE FROM recovery_codes WHERE user_id = $1", vec![Param::Uuid(user_id)])
}

pub(crate) fn add_recovery_code(user_id: Uuid, code_hash: &str) -> Statement {
    Statement::new(
        "INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL) ON CONFLICT DO NOTHING",
        vec![Param::Uuid(user_id), Param::Text(code_hash.into())],
    )
}

pub(crate) fn use_recovery_code(user_id: Uuid, code_hash: &str, at: chrono::DateTime<chrono::Utc>) -> Statement {
    Statement::new(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        vec![Param::Uuid(user_id), Param::Text(code_hash.into()), Param::Int(ms(at))],
    )
}

pub(crate) fn insert_session(s: &Session) -> Statement {
    Statement::new(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, mfa_verified, ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        vec![
            Param::Text(s.id_hash.clone()),
            Param::Uuid(s.user_id),
            Param::Text(s.csrf_token.clone()),
            Param::Int(ms(s.created_at)),
            Param::Int(ms(s.last_seen_at)),
            Param::Int(ms(s.expires_at)),
            Param::Bool(s.mfa_verified),
            Param::OptText(s.ip.clone()),
        ],
    )
}

pub(crate) fn update_session(s: &Session) -> Statement {
    Statement::new(
        "UPDATE sessions SET csrf_token = $2, last_seen_at = $3, mfa_verified = $4 WHERE id_hash = $1",
        vec![
            Param::Text(s.id_hash.clone()),
            Param::Text(s.csrf_token.clone()),
            Param::Int(ms(s.last_seen_at)),
            Param::Bool(s.mfa_verified),
        ],
    )
}

pub(crate) fn delete_session(id_hash: &str) -> Statement {
    Statement::new("DELETE FROM sessions WHERE id_hash = $1", vec![Param::Text(id_hash.into())])
}

pub(crate) fn delete_user_sessions(user_id: Uuid) -> Statement {
    Statement::new("DELETE FROM sessions WHERE user_id = $1", vec![Param::Uuid(user_id)])
}

pub(crate) fn insert_note(vault: &Vault, n: &Note) -> Statement {
    Statement::new(
        "INSERT INTO notes (id, conversation_id, thread_id, author_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(n.id),
            Param::Uuid(n.conversation_id),
            Param::Uuid(n.thread_id),
            Param::OptUuid(n.author_id),
            Param::Bytes(vault.seal(n.body.as_bytes(), &aad(n.id, "notes.body"))),
            Param::Int(ms(n.created_at)),
        ],
    )
}

pub(crate) fn open_note_body(vault: &Vault, id: Uuid, sealed: &[u8]) -> crate::StoreResult<String> {
    let plain = vault.open(sealed, &aad(id, "notes.body"))?;
    String::from_utf8(plain).map_err(|_| crate::StoreError::Corrupt("notes.body is not UTF-8".into()))
}

pub(crate) fn upsert_template(t: &Template) -> Statement {
    Statement::new(
        "INSERT INTO templates (id, name, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, body = excluded.body, updated_at = excluded.updated_at",
        vec![
            Param::Uuid(t.id),
            Param::Text(t.name.clone()),
            Param::Text(t.body.clone()),
            Param::Int(ms(t.created_at)),
            Param::Int(ms(t.updated_at)),
        ],
    )
}

pub(crate) fn rename_department(id: Uuid, name: &str) -> Statement {
    Statement::new("UPDATE departments SET name = $2 WHERE id = $1", vec![Param::Uuid(id), Param::Text(name.into())])
}

pub(crate) fn delete_template(id: Uuid) -> Statement {
    Statement::new("DELETE FROM templates WHERE id = $1", vec![Param::Uuid(id)])
}

pub(crate) fn put_setting(key: &str, value: &str, at: chrono::DateTime<chrono::Utc>) -> Statement {
    Statement::new(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        vec![Param::Text(key.into()), Param::Text(value.into()), Param::Int(ms(at))],
    )
}

/// GCRA over one row per sender: the slot handed out is the later of "now" and the stored
/// next slot; the row moves one interval past it. One statement, so concurrent instances
/// serialise on the row and never get the same slot.
pub(crate) const RESERVE_SEND_SLOT: &str = "INSERT INTO send_slots (number_id, next_at_us) VALUES ($1, $2 + $3) \
     ON CONFLICT (number_id) DO UPDATE SET next_at_us = \
     (CASE WHEN send_slots.next_at_us > $2 THEN send_slots.next_at_us ELSE $2 END) + $3 \
     RETURNING next_at_us - $3 AS slot";

/// A fixed-window counter: the window restarts (at 1 hit) once `window_ms` has passed.
pub(crate) const HIT_COUNTER: &str = "INSERT INTO throttle_hits (key, window_start, hits) VALUES ($1, $2, 1) \
     ON CONFLICT (key) DO UPDATE SET \
     hits = CASE WHEN throttle_hits.window_start <= $2 - $3 THEN 1 ELSE throttle_hits.hits + 1 END, \
     window_start = CASE WHEN throttle_hits.window_start <= $2 - $3 THEN $2 ELSE throttle_hits.window_start END \
     RETURNING hits";

pub(crate) const COUNTER: &str = "SELECT hits FROM throttle_hits WHERE key = $1 AND window_start > $2 - $3";
