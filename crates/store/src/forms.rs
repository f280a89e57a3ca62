//! The store's part of secure forms: reads on every [`crate::Store`] and writes inside every
//! [`crate::WriteTx`] (both are supertraits of those), implemented for both backends in
//! `common/forms.rs` and `sqlite/writer/forms.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::forms::{FormFile, FormRequest, FormSubmission};

use crate::StoreResult;

#[async_trait]
pub trait FormReads: Send + Sync {
    /// The request whose link token hashes to `token_hash` (SHA-256 hex).
    async fn form_request_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<FormRequest>>;
    async fn form_request_by_id(&self, id: Uuid) -> StoreResult<Option<FormRequest>>;
    /// Every request sent in the thread's conversations, oldest first.
    async fn thread_form_requests(&self, thread_id: Uuid) -> StoreResult<Vec<FormRequest>>;
    async fn form_submission_by_request(&self, request_id: Uuid) -> StoreResult<Option<FormSubmission>>;
    async fn form_submission_by_id(&self, id: Uuid) -> StoreResult<Option<FormSubmission>>;
    /// The submission's photos and signatures, opened.
    async fn submission_files(&self, submission_id: Uuid) -> StoreResult<Vec<FormFile>>;
}

#[async_trait]
pub trait FormWrites: Send {
    async fn insert_form_request(&mut self, request: &FormRequest) -> StoreResult<()>;
    /// Overwrites status, opened/submitted times, identity-check attempts and lock, expiry.
    async fn update_form_request(&mut self, request: &FormRequest) -> StoreResult<()>;
    /// Moves a request that is `sent` or `opened` and not expired at `at` to `submitted`.
    /// `false` when it was not (already submitted, expired, revoked): nothing changed.
    async fn claim_form_request(&mut self, id: Uuid, at: DateTime<Utc>) -> StoreResult<bool>;
    /// One per request: a second is a `Conflict`.
    async fn insert_form_submission(&mut self, submission: &FormSubmission) -> StoreResult<()>;
    async fn insert_form_file(&mut self, file: &FormFile) -> StoreResult<()>;
}
