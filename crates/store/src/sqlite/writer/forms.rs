//! The SQLite writer's `FormWrites`: the shared statements of `common/forms.rs`, run on the
//! writer thread's connection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::forms::{FormFile, FormRequest, FormSubmission};

use super::SqliteTx;
use crate::common::forms as f;
use crate::{FormWrites, StoreResult};

#[async_trait]
impl FormWrites for SqliteTx {
    async fn insert_form_request(&mut self, r: &FormRequest) -> StoreResult<()> {
        f::one(self.run(&f::insert_form_request(r))? as u64, "a form request with this id or token")
    }

    async fn update_form_request(&mut self, r: &FormRequest) -> StoreResult<()> {
        crate::common::one_row(self.run(&f::update_form_request(r))? as u64, "form request", r.id)
    }

    async fn claim_form_request(&mut self, id: Uuid, at: DateTime<Utc>) -> StoreResult<bool> {
        Ok(self.run(&f::claim_form_request(id, at))? == 1)
    }

    async fn insert_form_submission(&mut self, s: &FormSubmission) -> StoreResult<()> {
        let statement = f::insert_form_submission(&self.vault, s)?;
        f::one(self.run(&statement)? as u64, "a submission for this form request")
    }

    async fn insert_form_file(&mut self, file: &FormFile) -> StoreResult<()> {
        f::one(self.run(&f::insert_form_file(&self.vault, file))? as u64, "a form file with this id")
    }
}
