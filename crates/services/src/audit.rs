//! Audit entries: who did what to which record, and from where.

use chrono::{DateTime, Utc};
use frontdesk_domain::model::{AuditEvent, new_id};

/// Who acted: a staff user, an API token, a provider, or the system itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(uuid::Uuid),
    Token(uuid::Uuid),
    Provider(&'static str),
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Token(id) => format!("token:{id}"),
            Actor::Provider(p) => format!("provider:{p}"),
            Actor::System => "system".to_string(),
        }
    }
}

pub fn entry(actor: &Actor, action: &str, target: Option<String>, ip: Option<String>, at: DateTime<Utc>) -> AuditEvent {
    AuditEvent { id: new_id(), at, actor: actor.label(), action: action.to_string(), target, ip, detail: None }
}
