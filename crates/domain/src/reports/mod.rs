//! Reports: per-day facts in, a mergeable [`DayRollup`] per practice-local day, and a
//! [`Report`] merged from the rollups of a period. Pure: the store reads the facts, the
//! services store and merge the rollups. Every metric is defined in `docs/REPORTS.md`.

mod clock;
mod histogram;
mod report;
mod rollup;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::SenderKind;
use crate::status::{Direction, MessageStatus};

pub use clock::{AlwaysOpen, BusinessClock};
pub use histogram::{DISPLAY_BOUNDS, DISPLAY_LABELS, Histogram, bucket_of, bucket_range, precision_at};
pub use report::{Cut, CutRow, DayPoint, Report, Stats, Summary, build_report};
pub use rollup::{DayRollup, Metrics, NONE_KEY, ROLLUP_VERSION, compute_day, day_bounds, referral_funnel};

/// How a conversation began. Until conversations carry a `source` column, the store infers
/// `PatientText` (first message inbound) or `StaffOutreach` (first message outbound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    PatientText,
    WebForm,
    StaffOutreach,
    Referral,
}

impl Source {
    pub const ALL: [Source; 4] = [Source::PatientText, Source::WebForm, Source::StaffOutreach, Source::Referral];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::PatientText => "patient_text",
            Source::WebForm => "web_form",
            Source::StaffOutreach => "staff_outreach",
            Source::Referral => "referral",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Source::PatientText => "Patient text",
            Source::WebForm => "Web form",
            Source::StaffOutreach => "Staff outreach",
            Source::Referral => "Referral",
        }
    }

    /// The stored `conversations.source`; an unknown value counts as a patient's text (the
    /// column's default).
    pub fn from_stored(value: &str) -> Source {
        Source::ALL.into_iter().find(|s| s.as_str() == value).unwrap_or(Source::PatientText)
    }

    /// Whether the practice owes the first answer (every source but staff outreach).
    pub fn patient_initiated(self) -> bool {
        self != Source::StaffOutreach
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            format!("unknown source {s:?}; expected one of: patient_text, web_form, staff_outreach, referral")
        })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of the day, without its body.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageFact {
    pub conversation_id: Uuid,
    pub direction: Direction,
    pub sender: SenderKind,
    pub sender_user_id: Option<Uuid>,
    pub status: MessageStatus,
    pub error_code: Option<String>,
    pub segments: i32,
    pub created_at: DateTime<Utc>,
}

impl MessageFact {
    /// A reply by the practice: staff in the dashboard or an API client (automatic replies
    /// are not replies).
    pub fn is_reply(&self) -> bool {
        self.direction == Direction::Outbound && matches!(self.sender, SenderKind::Staff | SenderKind::Api)
    }
}

/// A conversation that the day's facts touch (a message, opening, closing or form).
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationFact {
    pub id: Uuid,
    pub number_id: Uuid,
    pub contact_id: Uuid,
    pub department_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub urgent: bool,
    pub source: Source,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The conversation's first reply ([`MessageFact::is_reply`]) ever, whatever its day.
    pub first_reply_at: Option<DateTime<Utc>>,
    /// The first inbound message after the last reply before the day began, if any: the
    /// patient was already waiting when the day started.
    pub waiting_at_start: Option<DateTime<Utc>>,
}

/// An SMS consent revocation (STOP, free text, provider signal).
#[derive(Debug, Clone, PartialEq)]
pub struct OptOutFact {
    pub contact_id: Uuid,
    pub at: DateTime<Utc>,
}

/// A secure-form request sent or submitted during the day.
#[derive(Debug, Clone, PartialEq)]
pub struct FormFact {
    pub conversation_id: Uuid,
    pub sent_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
}

/// Everything one practice-local day needs, read in one pass: messages in `[start, end)`
/// and the rows they refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct DayFacts {
    pub day: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub messages: Vec<MessageFact>,
    pub conversations: Vec<ConversationFact>,
    pub opt_outs: Vec<OptOutFact>,
    pub forms: Vec<FormFact>,
}
