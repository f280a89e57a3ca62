//! Provider status callbacks: `apply_status`. Idempotent and monotonic: a repeated or late
//! report (a `sent` after `delivered`) changes nothing.

use chrono::Utc;
use frontdesk_domain::MessageStatus;
use frontdesk_domain::model::{ConsentSource, Message, MessageId};
use frontdesk_providers::StatusReport;
use frontdesk_providers::errors::{explain, is_opt_out_code};
use frontdesk_store::{MessageStatusChange, StoreResult, WriteTx};

use crate::events::{Event, EventKind};
use crate::inbound::set_consent;
use crate::{ServiceError, Services};

/// Twilio's error code meaning the recipient opted out; other providers' codes are in
/// [`frontdesk_providers::errors::is_opt_out_code`].
pub const TWILIO_OPTED_OUT: &str = frontdesk_providers::errors::TWILIO_OPTED_OUT;

#[derive(Debug, Clone, PartialEq)]
pub enum StatusOutcome {
    /// The message moved forward.
    Applied { message_id: MessageId, conversation_id: uuid::Uuid },
    /// Known message, but the report was old news.
    Unchanged,
    /// No message of ours has that id (another system's, or already purged).
    UnknownMessage,
}

impl Services {
    pub async fn apply_status(&self, report: StatusReport) -> Result<StatusOutcome, ServiceError> {
        let now = crate::now();
        let outcome = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let Some(message) = find_message(tx, &report).await? else {
                    return Ok(StatusOutcome::UnknownMessage);
                };
                if let Some(known) = &message.provider_message_id
                    && known != &report.provider_message_id
                {
                    // Our id in the callback URL names a different provider message: not ours.
                    return Ok(StatusOutcome::UnknownMessage);
                }
                let advances = message.status.advances_to(report.status);
                let learns_id = message.provider_message_id.is_none();
                if !advances && !learns_id {
                    return Ok(StatusOutcome::Unchanged);
                }
                let status = if advances { report.status } else { message.status };
                let error_code = if advances { report.error_code.clone() } else { message.error_code.clone() };
                let error_message = if advances {
                    report.error_code.as_deref().map(|c| explain(report.provider, c))
                } else {
                    message.error_message.clone()
                };
                tx.update_message_status(&MessageStatusChange {
                    message_id: message.id,
                    status,
                    provider_message_id: Some(report.provider_message_id.clone()),
                    error_code,
                    error_message,
                    needs_review: message.needs_review,
                    at: now,
                })
                .await?;
                if advances
                    && let Some(code) = report.error_code.as_deref()
                    && is_opt_out_code(report.provider, code)
                {
                    mark_opted_out_by_provider(tx, &message, code, &report.provider_message_id, now).await?;
                }
                Ok(if advances {
                    StatusOutcome::Applied { message_id: message.id, conversation_id: message.conversation_id }
                } else {
                    StatusOutcome::Unchanged
                })
            })
        })
        .await?;
        if let StatusOutcome::Applied { message_id, conversation_id } = &outcome {
            self.events.publish(Event {
                kind: EventKind::MessageStatus,
                conversation_id: Some(*conversation_id),
                message_id: Some(*message_id),
            });
        }
        Ok(outcome)
    }
}

async fn find_message(tx: &mut dyn WriteTx, report: &StatusReport) -> StoreResult<Option<Message>> {
    if let Some(id) = report.message_id
        && let Some(found) = tx.message_by_id_for_update(id).await?
    {
        return Ok(Some(found));
    }
    tx.message_by_provider_id_for_update(report.provider, &report.provider_message_id).await
}

/// The provider says the recipient opted out: record it without sending a confirmation (the
/// provider or carrier already told the patient).
pub(crate) async fn mark_opted_out_by_provider(
    tx: &mut dyn WriteTx,
    message: &Message,
    code: &str,
    evidence_id: &str,
    now: chrono::DateTime<Utc>,
) -> StoreResult<()> {
    let Some(thread) = tx.thread_by_id(message.thread_id).await? else { return Ok(()) };
    let Some(contact) = tx.contact_by_id(thread.contact_id).await? else { return Ok(()) };
    if contact.opted_out {
        return Ok(());
    }
    let evidence = format!("{} error {code} on message {evidence_id}", message.provider);
    set_consent(tx, &contact, false, ConsentSource::Provider, &evidence, now).await
}

/// Whether a status is worth telling anyone about.
pub fn is_failure(status: MessageStatus) -> bool {
    matches!(status, MessageStatus::Failed | MessageStatus::Undelivered)
}
