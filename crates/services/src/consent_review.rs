//! Free-text messages that may revoke consent (issue 5, item 9): a clear one is honoured in
//! `record_inbound` like STOP; an unclear one ("can you stop", "wrong number") is flagged
//! here for staff, shown on the conversation page and in the inbox until a person decides:
//! opt the patient out (one confirmation, audited as a staff decision) or keep texting.
//! A later opt-out by keyword or clear request clears the flag by itself.

use chrono::{DateTime, Utc};
use frontdesk_domain::model::*;
use frontdesk_store::{StoreResult, WriteTx};

use crate::audit::{self, Actor};
use crate::events::{Event, EventKind};
use crate::inbound::{ConsentChange, InboundOutcome};
use crate::inbox::StaffContext;
use crate::{ServiceError, Services};

/// Records or clears the flag for the text `record_inbound` just handled.
pub(crate) async fn on_inbound(
    tx: &mut dyn WriteTx,
    conversation: &Conversation,
    outcome: &InboundOutcome,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if outcome.consent == Some(ConsentChange::Revoked) {
        tx.clear_consent_review(conversation.id).await?;
    } else if outcome.needs_consent_review
        && let Some(message) = outcome.message_id
    {
        tx.flag_consent_review(conversation.id, message, now).await?;
    }
    Ok(())
}

impl Services {
    /// Whether the conversation has a text that may revoke consent, undecided.
    pub async fn consent_review_open(&self, conversation: ConversationId) -> Result<bool, ServiceError> {
        Ok(self.store.open_consent_reviews().await?.contains(&conversation))
    }

    /// A person decided about a flagged text: `opt_out` records the revocation (with the one
    /// confirmation text) unless the patient already opted out; otherwise consent stays.
    /// Either way the flag is cleared and the decision audited.
    pub async fn resolve_consent_review(
        &self,
        ctx: &StaffContext,
        id: ConversationId,
        opt_out: bool,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        ctx.require_can_act()?;
        let summary = self.visible_conversation(ctx, id).await?;
        if !ctx.can_act_on(&summary.conversation) {
            return Err(ServiceError::Forbidden("you can read this conversation but not change it".into()));
        }
        let settings = self.settings();
        let now = crate::now();
        let actor = Actor::User(ctx.user.id);
        let contact_id = summary.contact.id;
        let number = summary.number.clone();
        let reply = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                if !tx.clear_consent_review(id).await? {
                    return Ok(Err(ServiceError::Conflict(
                        "no open question about consent in this conversation".into(),
                    )));
                }
                let mut entry =
                    audit::entry(&actor, "consent.review_resolved", Some(format!("conversation:{id}")), ip, now);
                entry.detail = Some(if opt_out { "opted out".into() } else { "kept: not a revocation".into() });
                tx.insert_audit(&entry).await?;
                let Some(contact) = tx.contact_by_id(contact_id).await? else { return Ok(Ok(None)) };
                if !opt_out || contact.opted_out {
                    return Ok(Ok(None));
                }
                let Some(conversation) = tx.conversation_by_id(id).await? else { return Ok(Ok(None)) };
                let evidence = format!("staff user:{} read the patient's text and opted them out", ctx_user(&actor));
                crate::inbound::set_consent(tx, &contact, false, ConsentSource::StaffAttestation, &evidence, now)
                    .await?;
                let body = settings.opt_out_confirmation.clone();
                let reply = crate::inbound::queue_reply(tx, &conversation, &number, &body, now).await?;
                Ok(Ok(Some(reply)))
            })
        })
        .await??;
        self.events.publish(Event { kind: EventKind::ConsentChanged, conversation_id: Some(id), message_id: None });
        if let Some(reply) = reply {
            self.events.publish(Event {
                kind: EventKind::MessageQueued,
                conversation_id: Some(id),
                message_id: Some(reply),
            });
            self.outbox_signal.notify_one();
        }
        Ok(())
    }
}

fn ctx_user(actor: &Actor) -> String {
    match actor {
        Actor::User(id) => id.to_string(),
        other => other.label(),
    }
}
