//! Search for staff: patients by name, phone or MRN; messages by words. Message words are
//! matched through the keyed token index, so the database never holds them in plaintext.

use frontdesk_domain::E164;
use frontdesk_domain::model::{Message, Patient};
use frontdesk_domain::search::query_terms;
use frontdesk_store::ConversationSummary;

use crate::audit::Actor;
use crate::inbox::StaffContext;
use crate::{ServiceError, Services};

/// Most results of each kind shown.
pub const SEARCH_LIMIT: u32 = 25;

#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub patients: Vec<Patient>,
    /// Conversations of a contact whose number matched.
    pub conversations: Vec<ConversationSummary>,
    /// Matching messages with their conversation, newest first.
    pub messages: Vec<(Message, ConversationSummary)>,
}

impl Services {
    pub async fn search(&self, ctx: &StaffContext, q: &str, ip: Option<String>) -> Result<SearchResults, ServiceError> {
        let q = q.trim();
        if q.is_empty() {
            return Ok(SearchResults::default());
        }
        if q.chars().count() > 200 {
            return Err(ServiceError::invalid("q", "search for at most 200 characters"));
        }
        let mut out = SearchResults::default();
        let digits: String = q.chars().filter(|c| c.is_ascii_digit()).collect();
        let looks_like_phone = digits.len() >= 7 && q.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if looks_like_phone && let Ok(phone) = E164::parse(q, self.settings().default_region) {
            if let Some(contact) = self.store.contact_by_phone(&phone).await? {
                out.conversations = self
                    .store
                    .contact_conversations(contact.id)
                    .await?
                    .into_iter()
                    .filter(|s| ctx.can_see(&s.conversation))
                    .collect();
            }
            out.patients = self.store.search_patients(&[format!("tel:{}", phone.as_str())], SEARCH_LIMIT).await?;
        } else {
            out.patients = self.store.search_patients(&query_terms(q), SEARCH_LIMIT).await?;
            for p in self.store.patients_by_mrn(q).await? {
                if !out.patients.iter().any(|x| x.id == p.id) {
                    out.patients.insert(0, p);
                }
            }
            // Over-fetch: some hits may be in departments this person cannot see.
            for m in self.store.search_messages(&query_terms(q), SEARCH_LIMIT * 4).await? {
                if out.messages.len() as u32 >= SEARCH_LIMIT {
                    break;
                }
                if let Some(s) = self.store.conversation_summary(m.conversation_id).await?
                    && ctx.can_see(&s.conversation)
                {
                    out.messages.push((m, s));
                }
            }
        }
        // A search reveals patient data: record who searched (not what for: it may be PHI).
        self.audit_now(Actor::User(ctx.user.id), "search", None, ip).await?;
        Ok(out)
    }
}
