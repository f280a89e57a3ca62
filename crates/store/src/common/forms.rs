//! Secure forms in the store: write statements (bound by either driver), sealing of answers
//! and files, and the reads, expanded per backend by `define_backend!` like `staff_reads`.
//! Answers are sealed as one JSON document (AAD: submission id + `form_submissions.answers`);
//! file bytes with AAD: file id + `form_files.bytes`. Only the token's SHA-256 is stored.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::forms::{Answers, FormFile, FormRequest, FormSubmission, Score};

use super::statement::{Param, Statement};
use super::{ms, opt_ms};
use crate::vault::{Vault, aad};
use crate::{StoreError, StoreResult};

pub(crate) const ANSWERS: &str = "form_submissions.answers";
pub(crate) const FILE_BYTES: &str = "form_files.bytes";

fn st(sql: &'static str, params: Vec<Param>) -> Statement {
    Statement { sql: Cow::Borrowed(sql), params }
}

pub(crate) fn insert_form_request(r: &FormRequest) -> Statement {
    st(
        "INSERT INTO form_requests (id, token_hash, conversation_id, form_key, status, created_at, expires_at, \
         opened_at, submitted_at, dob_attempts, locked_until, sent_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(r.id),
            Param::Text(r.token_hash.clone()),
            Param::Uuid(r.conversation_id),
            Param::Text(r.form_key.clone()),
            Param::Text(r.status.as_str().into()),
            Param::Int(ms(r.created_at)),
            Param::Int(ms(r.expires_at)),
            Param::OptInt(opt_ms(r.opened_at)),
            Param::OptInt(opt_ms(r.submitted_at)),
            Param::Int(i64::from(r.dob_attempts)),
            Param::OptInt(opt_ms(r.locked_until)),
            Param::OptUuid(r.sent_by),
        ],
    )
}

/// Overwrites the request's status, times and identity-check state.
pub(crate) fn update_form_request(r: &FormRequest) -> Statement {
    st(
        "UPDATE form_requests SET status = $2, opened_at = $3, submitted_at = $4, dob_attempts = $5, \
         locked_until = $6, expires_at = $7 WHERE id = $1",
        vec![
            Param::Uuid(r.id),
            Param::Text(r.status.as_str().into()),
            Param::OptInt(opt_ms(r.opened_at)),
            Param::OptInt(opt_ms(r.submitted_at)),
            Param::Int(i64::from(r.dob_attempts)),
            Param::OptInt(opt_ms(r.locked_until)),
            Param::Int(ms(r.expires_at)),
        ],
    )
}

/// Moves a request that is still open and not expired to `submitted`: affects one row only
/// the first time, so a replayed submit cannot store a second submission.
pub(crate) fn claim_form_request(id: Uuid, at: DateTime<Utc>) -> Statement {
    st(
        "UPDATE form_requests SET status = 'submitted', submitted_at = $2 \
         WHERE id = $1 AND status IN ('sent', 'opened') AND expires_at > $2",
        vec![Param::Uuid(id), Param::Int(ms(at))],
    )
}

pub(crate) fn insert_form_submission(vault: &Vault, s: &FormSubmission) -> StoreResult<Statement> {
    let json = serde_json::to_vec(&s.answers).map_err(|e| StoreError::Other(format!("answers: {e}")))?;
    let score = s
        .score
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Other(format!("score: {e}")))?;
    Ok(st(
        "INSERT INTO form_submissions (id, request_id, answers, score, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(s.id),
            Param::Uuid(s.request_id),
            Param::Bytes(vault.seal(&json, &aad(s.id, ANSWERS))),
            Param::OptText(score),
            Param::Int(ms(s.created_at)),
        ],
    ))
}

pub(crate) fn insert_form_file(vault: &Vault, f: &FormFile) -> Statement {
    st(
        "INSERT INTO form_files (id, submission_id, content_type, bytes) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(f.id),
            Param::Uuid(f.submission_id),
            Param::Text(f.content_type.clone()),
            Param::Bytes(vault.seal(&f.bytes, &aad(f.id, FILE_BYTES))),
        ],
    )
}

pub(crate) fn open_answers(vault: &Vault, id: Uuid, sealed: &[u8]) -> StoreResult<Answers> {
    let json = vault.open(sealed, &aad(id, ANSWERS))?;
    serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(format!("{ANSWERS}: {e}")))
}

pub(crate) fn parse_score(text: Option<String>) -> StoreResult<Option<Score>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("form_submissions.score: {e}"))))
        .transpose()
}

pub(crate) fn open_file(vault: &Vault, id: Uuid, sealed: &[u8]) -> StoreResult<Vec<u8>> {
    vault.open(sealed, &aad(id, FILE_BYTES))
}

pub(crate) fn one(n: u64, what: &str) -> StoreResult<()> {
    if n == 1 { Ok(()) } else { Err(StoreError::Conflict(what.into())) }
}

macro_rules! form_request_cols {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "token_hash, ",
            $p,
            "conversation_id, ",
            $p,
            "form_key, ",
            $p,
            "status, ",
            $p,
            "created_at, ",
            $p,
            "expires_at, ",
            $p,
            "opened_at, ",
            $p,
            "submitted_at, ",
            $p,
            "dob_attempts, ",
            $p,
            "locked_until, ",
            $p,
            "sent_by"
        )
    };
}

/// The reads, expanded inside each backend's `q` module (they use its row helpers).
macro_rules! form_reads {
    () => {
        fn map_form_request(r: &DbRow) -> StoreResult<frontdesk_domain::forms::FormRequest> {
            Ok(frontdesk_domain::forms::FormRequest {
                id: get(r, "", "id")?,
                token_hash: get(r, "", "token_hash")?,
                conversation_id: get(r, "", "conversation_id")?,
                form_key: get(r, "", "form_key")?,
                status: word(r, "", "status")?,
                created_at: ts(r, "", "created_at")?,
                expires_at: ts(r, "", "expires_at")?,
                opened_at: opt_ts(r, "", "opened_at")?,
                submitted_at: opt_ts(r, "", "submitted_at")?,
                dob_attempts: get::<i32>(r, "", "dob_attempts")?,
                locked_until: opt_ts(r, "", "locked_until")?,
                sent_by: get(r, "", "sent_by")?,
            })
        }

        fn map_form_submission(r: &DbRow, vault: &Vault) -> StoreResult<frontdesk_domain::forms::FormSubmission> {
            let id: Uuid = get(r, "", "id")?;
            let answers: Vec<u8> = get(r, "", "answers")?;
            Ok(frontdesk_domain::forms::FormSubmission {
                id,
                request_id: get(r, "", "request_id")?,
                answers: crate::common::forms::open_answers(vault, id, &answers)?,
                score: crate::common::forms::parse_score(get(r, "", "score")?)?,
                created_at: ts(r, "", "created_at")?,
            })
        }

        fn map_form_file(r: &DbRow, vault: &Vault) -> StoreResult<frontdesk_domain::forms::FormFile> {
            let id: Uuid = get(r, "", "id")?;
            let bytes: Vec<u8> = get(r, "", "bytes")?;
            Ok(frontdesk_domain::forms::FormFile {
                id,
                submission_id: get(r, "", "submission_id")?,
                content_type: get(r, "", "content_type")?,
                bytes: crate::common::forms::open_file(vault, id, &bytes)?,
            })
        }

        pub(crate) async fn form_request_where<'e, E>(
            ex: E,
            column: &'static str,
            value: crate::common::forms::FormKey<'_>,
        ) -> StoreResult<Vec<frontdesk_domain::forms::FormRequest>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let sql = match column {
                "token_hash" => concat!(
                    "SELECT ",
                    crate::common::forms::form_request_cols!(""),
                    " FROM form_requests WHERE token_hash = $1"
                ),
                "id" => concat!(
                    "SELECT ",
                    crate::common::forms::form_request_cols!(""),
                    " FROM form_requests WHERE id = $1"
                ),
                _ => concat!(
                    "SELECT ",
                    crate::common::forms::form_request_cols!("fr."),
                    " FROM form_requests fr JOIN conversations c ON c.id = fr.conversation_id",
                    " WHERE c.thread_id = $1 ORDER BY fr.created_at, fr.id"
                ),
            };
            let q = sqlx::query(sql);
            let q = match value {
                crate::common::forms::FormKey::Text(t) => q.bind(t.to_owned()),
                crate::common::forms::FormKey::Id(id) => q.bind(id),
            };
            let rows = q.fetch_all(ex).await.map_err(db_err)?;
            all(rows, map_form_request)
        }

        pub(crate) async fn form_submission_where<'e, E>(
            ex: E,
            vault: &Vault,
            by_request: bool,
            id: Uuid,
        ) -> StoreResult<Option<frontdesk_domain::forms::FormSubmission>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let sql = if by_request {
                "SELECT id, request_id, answers, score, created_at FROM form_submissions WHERE request_id = $1"
            } else {
                "SELECT id, request_id, answers, score, created_at FROM form_submissions WHERE id = $1"
            };
            let row = sqlx::query(sql).bind(id).fetch_optional(ex).await.map_err(db_err)?;
            row.map(|r| map_form_submission(&r, vault)).transpose()
        }

        pub(crate) async fn submission_files<'e, E>(
            ex: E,
            vault: &Vault,
            submission_id: Uuid,
        ) -> StoreResult<Vec<frontdesk_domain::forms::FormFile>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT id, submission_id, content_type, bytes FROM form_files WHERE submission_id = $1 ORDER BY id",
            )
            .bind(submission_id)
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| map_form_file(r, vault))
        }
    };
}

/// How a request is looked up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FormKey<'a> {
    Text(&'a str),
    Id(Uuid),
}

/// The `FormReads` impl for a backend's store and (PostgreSQL) the `FormWrites` impl for its
/// transaction, expanded by `define_backend!`.
macro_rules! form_backend {
    (store: $store:ty, writes: none) => {
        crate::common::forms::form_reads_impl!($store);
    };
    (store: $store:ty, writes: sqlx (conn: $conn:ty, tx: $tx:ty)) => {
        crate::common::forms::form_reads_impl!($store);

        #[async_trait::async_trait]
        impl crate::FormWrites for $tx {
            async fn insert_form_request(
                &mut self,
                r: &frontdesk_domain::forms::FormRequest,
            ) -> crate::StoreResult<()> {
                let n = q::exec_statement(self.parts().0, &crate::common::forms::insert_form_request(r)).await?;
                crate::common::forms::one(n, "a form request with this id or token")
            }

            async fn update_form_request(
                &mut self,
                r: &frontdesk_domain::forms::FormRequest,
            ) -> crate::StoreResult<()> {
                let n = q::exec_statement(self.parts().0, &crate::common::forms::update_form_request(r)).await?;
                crate::common::one_row(n, "form request", r.id)
            }

            async fn claim_form_request(
                &mut self,
                id: uuid::Uuid,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<bool> {
                Ok(q::exec_statement(self.parts().0, &crate::common::forms::claim_form_request(id, at)).await? == 1)
            }

            async fn insert_form_submission(
                &mut self,
                s: &frontdesk_domain::forms::FormSubmission,
            ) -> crate::StoreResult<()> {
                let (c, v) = self.parts();
                let n = q::exec_statement(c, &crate::common::forms::insert_form_submission(v, s)?).await?;
                crate::common::forms::one(n, "a submission for this form request")
            }

            async fn insert_form_file(&mut self, f: &frontdesk_domain::forms::FormFile) -> crate::StoreResult<()> {
                let (c, v) = self.parts();
                let n = q::exec_statement(c, &crate::common::forms::insert_form_file(v, f)).await?;
                crate::common::forms::one(n, "a form file with this id")
            }
        }
    };
}

macro_rules! form_reads_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::FormReads for $store {
            async fn form_request_by_token_hash(
                &self,
                token_hash: &str,
            ) -> crate::StoreResult<Option<frontdesk_domain::forms::FormRequest>> {
                let key = crate::common::forms::FormKey::Text(token_hash);
                Ok(q::form_request_where(self.reader(), "token_hash", key).await?.into_iter().next())
            }

            async fn form_request_by_id(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::forms::FormRequest>> {
                let key = crate::common::forms::FormKey::Id(id);
                Ok(q::form_request_where(self.reader(), "id", key).await?.into_iter().next())
            }

            async fn thread_form_requests(
                &self,
                thread_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<frontdesk_domain::forms::FormRequest>> {
                q::form_request_where(self.reader(), "thread", crate::common::forms::FormKey::Id(thread_id)).await
            }

            async fn form_submission_by_request(
                &self,
                request_id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::forms::FormSubmission>> {
                q::form_submission_where(self.reader(), self.vault(), true, request_id).await
            }

            async fn form_submission_by_id(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::forms::FormSubmission>> {
                q::form_submission_where(self.reader(), self.vault(), false, id).await
            }

            async fn submission_files(
                &self,
                submission_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<frontdesk_domain::forms::FormFile>> {
                q::submission_files(self.reader(), self.vault(), submission_id).await
            }
        }
    };
}

pub(crate) use {form_backend, form_reads, form_reads_impl, form_request_cols};
