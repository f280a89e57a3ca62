//! What the store keeps about forms: requests (one link each), submissions and their files.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Answers, Score};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormRequestStatus {
    Sent,
    Opened,
    Submitted,
    Expired,
    Revoked,
}

impl FormRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FormRequestStatus::Sent => "sent",
            FormRequestStatus::Opened => "opened",
            FormRequestStatus::Submitted => "submitted",
            FormRequestStatus::Expired => "expired",
            FormRequestStatus::Revoked => "revoked",
        }
    }

    /// Still waiting for the patient.
    pub fn is_open(self) -> bool {
        matches!(self, FormRequestStatus::Sent | FormRequestStatus::Opened)
    }
}

impl std::str::FromStr for FormRequestStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "sent" => FormRequestStatus::Sent,
            "opened" => FormRequestStatus::Opened,
            "submitted" => FormRequestStatus::Submitted,
            "expired" => FormRequestStatus::Expired,
            "revoked" => FormRequestStatus::Revoked,
            other => return Err(format!("unknown form request status {other:?}")),
        })
    }
}

impl std::fmt::Display for FormRequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One link sent to a patient. Only the SHA-256 of the token is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct FormRequest {
    pub id: Uuid,
    pub token_hash: String,
    pub conversation_id: Uuid,
    pub form_key: String,
    pub status: FormRequestStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub dob_attempts: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub sent_by: Option<Uuid>,
}

impl FormRequest {
    /// The status as of `now`: an open request past its expiry reads as expired.
    pub fn effective_status(&self, now: DateTime<Utc>) -> FormRequestStatus {
        if self.status.is_open() && now >= self.expires_at { FormRequestStatus::Expired } else { self.status }
    }
}

/// A patient's answers (sealed at rest) and the score computed on the server.
#[derive(Debug, Clone, PartialEq)]
pub struct FormSubmission {
    pub id: Uuid,
    pub request_id: Uuid,
    pub answers: Answers,
    pub score: Option<Score>,
    pub created_at: DateTime<Utc>,
}

/// A photo or signature of a submission (bytes sealed at rest).
#[derive(Debug, Clone, PartialEq)]
pub struct FormFile {
    pub id: Uuid,
    pub submission_id: Uuid,
    pub content_type: String,
    pub bytes: Vec<u8>,
}
