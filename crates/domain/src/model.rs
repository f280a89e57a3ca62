//! The entities of DESIGN.md §4, as plain data. Persistence (and encryption at rest) is the
//! store's business; rules that change these values live in the other domain modules and in
//! the services layer.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::phone::E164;
use crate::status::{Direction, MessageStatus};

/// Declares a string-backed enum with `as_str`, `FromStr`, `Display` and snake_case serde.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(concat!("unknown ", stringify!($name), " {:?}; expected one of: "), other)
                        + &[$($word),+].join(", ")),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

word_enum!(
    /// Who a staff account is: admins manage the practice, staff answer, auditors only read.
    Role { Admin = "admin", Staff = "staff", Auditor = "auditor" }
);

word_enum!(ProviderKind { Twilio = "twilio", Telnyx = "telnyx", Bandwidth = "bandwidth", Simulator = "simulator" });

word_enum!(ConversationStatus { Open = "open", Waiting = "waiting", Snoozed = "snoozed", Closed = "closed" });

word_enum!(
    /// Who wrote a message.
    SenderKind { Patient = "patient", Staff = "staff", Automation = "automation", Api = "api" }
);

word_enum!(PatientStatus { Patient = "patient", Prospective = "prospective" });

word_enum!(
    /// Where a consent change came from (DESIGN.md §4).
    ConsentSource {
        WebForm = "web_form",
        Keyword = "keyword",
        FreeText = "free_text",
        Provider = "provider",
        StaffAttestation = "staff_attestation",
        PatientInitiated = "patient_initiated",
    }
);

word_enum!(
    /// What a consent covers. `Sms` is the channel-wide consent that STOP revokes.
    ConsentPurpose { Sms = "sms", Marketing = "marketing" }
);

word_enum!(OutboxState { Pending = "pending", InFlight = "in_flight", Done = "done", Dead = "dead" });

pub type UserId = Uuid;
pub type ContactId = Uuid;
pub type PatientId = Uuid;
pub type NumberId = Uuid;
pub type DepartmentId = Uuid;
pub type ThreadId = Uuid;
pub type ConversationId = Uuid;
pub type MessageId = Uuid;

/// A fresh time-ordered id (UUIDv7), the same kind on every backend.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Argon2id PHC string; never serialised to clients.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    /// SHA-256 (hex) of the secret; the secret itself is shown once and never stored.
    #[serde(skip_serializing)]
    pub token_hash: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Department {
    pub id: DepartmentId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A number of the practice's, at one provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PracticeNumber {
    pub id: NumberId,
    pub e164: E164,
    pub provider: ProviderKind,
    /// Twilio Messaging Service the number belongs to, if sending should go through it.
    pub messaging_service_sid: Option<String>,
    pub default_department_id: Option<DepartmentId>,
    /// Messages per second this sender may hand to its provider.
    pub rate_limit_per_sec: f64,
    pub created_at: DateTime<Utc>,
}

/// One phone number that texts the practice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub phone: E164,
    /// Cached from the newest `Sms` consent event, so the send path reads one row.
    pub opted_out: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    pub id: PatientId,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<chrono::NaiveDate>,
    pub mrn: Option<String>,
    pub phone: Option<E164>,
    pub status: PatientStatus,
    pub created_at: DateTime<Utc>,
}

/// (practice number, contact): exactly what the patient sees on their phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub id: ThreadId,
    pub number_id: NumberId,
    pub contact_id: ContactId,
    pub created_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
}

/// An episode within a thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub thread_id: ThreadId,
    pub status: ConversationStatus,
    pub department_id: Option<DepartmentId>,
    pub assignee_id: Option<UserId>,
    pub patient_id: Option<PatientId>,
    pub urgent: bool,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub last_message_at: DateTime<Utc>,
    /// Set by the first inbound message after the last staff reply; cleared by a reply.
    pub waiting_since: Option<DateTime<Utc>>,
    pub unread_count: i64,
}

impl Conversation {
    pub fn open(thread_id: ThreadId, department_id: Option<DepartmentId>, now: DateTime<Utc>) -> Conversation {
        Conversation {
            id: new_id(),
            thread_id,
            status: ConversationStatus::Open,
            department_id,
            assignee_id: None,
            patient_id: None,
            urgent: false,
            snoozed_until: None,
            opened_at: now,
            closed_at: None,
            last_message_at: now,
            waiting_since: None,
            unread_count: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    pub url: String,
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub thread_id: ThreadId,
    pub direction: Direction,
    /// Plain text in memory only; the store encrypts it at rest.
    pub body: String,
    pub media: Vec<MediaRef>,
    pub sender: SenderKind,
    pub sender_user_id: Option<UserId>,
    pub provider: ProviderKind,
    pub provider_message_id: Option<String>,
    pub status: MessageStatus,
    pub error_code: Option<String>,
    /// A sentence a person understands, for failed and undelivered messages.
    pub error_message: Option<String>,
    pub encoding: String,
    pub segments: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when sending may have happened but could not be confirmed: staff must check.
    pub needs_review: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentEvent {
    pub id: Uuid,
    pub contact_id: ContactId,
    pub purpose: ConsentPurpose,
    pub granted: bool,
    pub source: ConsentSource,
    /// What proves it: the keyword received, the provider message id, a policy version.
    pub evidence: String,
    pub created_at: DateTime<Utc>,
}

/// A send waiting for the dispatcher. Committed with its message, so nothing is handed to a
/// provider that is not first durable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxJob {
    pub id: Uuid,
    pub message_id: MessageId,
    pub number_id: NumberId,
    pub state: OutboxState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// Set when a hand-off to the provider began; if the worker died after it, the send may
    /// have happened and must be reconciled rather than repeated.
    pub handoff_started_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl OutboxJob {
    pub fn new(message_id: MessageId, number_id: NumberId, now: DateTime<Utc>) -> OutboxJob {
        OutboxJob {
            id: new_id(),
            message_id,
            number_id,
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease_owner: None,
            lease_until: None,
            handoff_started_at: None,
            last_error: None,
            created_at: now,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// `user:<id>`, `token:<id>`, `system`, `provider:twilio` ...
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

/// What protects a staff account beyond its password: two-factor state and lockout.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserSecurity {
    /// Base32 TOTP secret (sealed at rest). Set when enrolment starts; used once enabled.
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    /// Consecutive failed sign-ins since the last success.
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    /// The last TOTP time step accepted: a code is accepted once (RFC 6238 §5.2).
    pub totp_last_step: i64,
}

/// A signed-in browser. The cookie holds a random secret; only its SHA-256 is stored, so a
/// copy of the database cannot be used to sign in.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: UserId,
    /// The synchroniser token every state-changing request must echo.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute limit, whatever the activity.
    pub expires_at: DateTime<Utc>,
    /// False between a correct password and a correct second factor.
    pub mfa_verified: bool,
    pub ip: Option<String>,
}

/// An internal note on a conversation: seen by staff, never sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: Uuid,
    pub conversation_id: ConversationId,
    pub thread_id: ThreadId,
    pub author_id: Option<UserId>,
    /// Plain text in memory only; the store encrypts it at rest.
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A reusable reply with `{variables}` (see `template`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: Uuid,
    pub name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
