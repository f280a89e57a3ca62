//! A patient's text arrives: `receive_inbound`.
//!
//! Everything the message causes (contact, thread, conversation, the message itself, consent
//! changes, automatic replies and their outbox jobs) is written in one transaction, together
//! with the provider-id receipt that makes a redelivery a no-op. The caller acknowledges the
//! provider only after this returns, i.e. after the commit is durable.

use chrono::{DateTime, Utc};
use frontdesk_domain::keywords::{Keyword, Revocation, classify_keyword, detect_free_text_revocation};
use frontdesk_domain::model::*;
use frontdesk_domain::sms::analyze;
use frontdesk_domain::{Direction, MessageStatus};
use frontdesk_providers::{InboundSms, ProviderOptOut};
use frontdesk_store::{StoreResult, WriteTx};

use crate::audit::{self, Actor};
use crate::events::{Event, EventKind};
use crate::{PracticeSettings, ServiceError, Services};

/// What receiving a message did.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundOutcome {
    /// The provider had already delivered this message; nothing changed.
    pub duplicate: bool,
    pub message_id: Option<MessageId>,
    pub conversation_id: Option<ConversationId>,
    /// Automatic replies queued (opt-out confirmation, help text...).
    pub replies: Vec<MessageId>,
    pub consent: Option<ConsentChange>,
    /// The text may revoke consent but is not clear enough to act on: a person should read it.
    pub needs_consent_review: bool,
    /// Further live events the message causes (an urgent alert).
    pub alerts: Vec<EventKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentChange {
    Revoked,
    Restored,
}

impl InboundOutcome {
    fn duplicate() -> InboundOutcome {
        InboundOutcome {
            duplicate: true,
            message_id: None,
            conversation_id: None,
            replies: Vec::new(),
            consent: None,
            needs_consent_review: false,
            alerts: Vec::new(),
        }
    }
}

impl Services {
    pub async fn receive_inbound(&self, sms: InboundSms) -> Result<InboundOutcome, ServiceError> {
        let number = self.number(&sms.to).await?.ok_or_else(|| ServiceError::UnknownNumber(sms.to.masked()))?;
        let settings = self.settings();
        let now = crate::now();
        let outcome = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move { record_inbound(tx, &settings, &number, &sms, now).await })
        })
        .await?;

        if !outcome.duplicate {
            self.events.publish(Event {
                kind: EventKind::MessageReceived,
                conversation_id: outcome.conversation_id,
                message_id: outcome.message_id,
            });
            if outcome.consent.is_some() {
                self.events.publish(Event {
                    kind: EventKind::ConsentChanged,
                    conversation_id: outcome.conversation_id,
                    message_id: outcome.message_id,
                });
            }
            if outcome.needs_consent_review {
                self.events.publish(Event {
                    kind: EventKind::ConsentReview,
                    conversation_id: outcome.conversation_id,
                    message_id: outcome.message_id,
                });
            }
            for kind in &outcome.alerts {
                self.events.publish(Event {
                    kind: *kind,
                    conversation_id: outcome.conversation_id,
                    message_id: outcome.message_id,
                });
            }
            for reply in &outcome.replies {
                self.events.publish(Event {
                    kind: EventKind::MessageQueued,
                    conversation_id: outcome.conversation_id,
                    message_id: Some(*reply),
                });
            }
            if !outcome.replies.is_empty() {
                self.outbox_signal.notify_one();
            }
        }
        Ok(outcome)
    }
}

async fn record_inbound(
    tx: &mut dyn WriteTx,
    settings: &PracticeSettings,
    number: &PracticeNumber,
    sms: &InboundSms,
    now: DateTime<Utc>,
) -> StoreResult<InboundOutcome> {
    if !tx.claim_provider_receipt(sms.provider, &sms.provider_message_id, now).await? {
        return Ok(InboundOutcome::duplicate());
    }
    let contact = tx.upsert_contact(&sms.from, now).await?;
    let thread = tx.upsert_thread_for_update(number.id, contact.id, now).await?;
    let mut conversation = match tx.current_conversation(thread.id).await? {
        Some(existing) => existing,
        None => {
            let fresh = Conversation::open(thread.id, number.default_department_id, now);
            tx.insert_conversation(&fresh).await?;
            fresh
        }
    };

    let info = analyze(&sms.body);
    let message = Message {
        id: new_id(),
        conversation_id: conversation.id,
        thread_id: thread.id,
        direction: Direction::Inbound,
        body: sms.body.clone(),
        media: sms.media.clone(),
        sender: SenderKind::Patient,
        sender_user_id: None,
        provider: sms.provider,
        provider_message_id: Some(sms.provider_message_id.clone()),
        status: MessageStatus::Received,
        error_code: None,
        error_message: None,
        encoding: info.encoding.as_str().to_string(),
        segments: info.segments as i32,
        created_at: now,
        updated_at: now,
        needs_review: false,
    };
    tx.insert_message(&message).await?;
    crate::referrals::on_inbound(tx, conversation.id, now).await?;

    conversation.last_message_at = now;
    conversation.unread_count += 1;
    conversation.waiting_since.get_or_insert(now);
    if matches!(conversation.status, ConversationStatus::Waiting | ConversationStatus::Snoozed) {
        conversation.status = ConversationStatus::Open;
        conversation.snoozed_until = None;
    }

    let mut outcome = InboundOutcome {
        duplicate: false,
        message_id: Some(message.id),
        conversation_id: Some(conversation.id),
        replies: Vec::new(),
        consent: None,
        needs_consent_review: false,
        alerts: Vec::new(),
    };

    let evidence = format!("{} message {}", sms.provider, sms.provider_message_id);
    // At most one confirmation: a repeated STOP (or START) changes nothing and says nothing.
    // When the provider already handled the keyword, it answered the patient: record only.
    match consent_signal(sms) {
        Some(Signal::ProviderHandled(ProviderOptOut::Stop)) if !contact.opted_out => {
            set_consent(tx, &contact, false, ConsentSource::Provider, &evidence, now).await?;
            outcome.consent = Some(ConsentChange::Revoked);
        }
        Some(Signal::ProviderHandled(ProviderOptOut::Start)) if contact.opted_out => {
            set_consent(tx, &contact, true, ConsentSource::Provider, &evidence, now).await?;
            outcome.consent = Some(ConsentChange::Restored);
        }
        Some(Signal::Keyword(Keyword::OptOut)) if !contact.opted_out => {
            set_consent(tx, &contact, false, ConsentSource::Keyword, &evidence, now).await?;
            outcome.consent = Some(ConsentChange::Revoked);
            let reply = &settings.opt_out_confirmation;
            outcome.replies.push(queue_reply(tx, &conversation, number, reply, now).await?);
        }
        Some(Signal::FreeText(Revocation::Clear)) if !contact.opted_out => {
            set_consent(tx, &contact, false, ConsentSource::FreeText, &evidence, now).await?;
            outcome.consent = Some(ConsentChange::Revoked);
            let reply = &settings.opt_out_confirmation;
            outcome.replies.push(queue_reply(tx, &conversation, number, reply, now).await?);
        }
        Some(Signal::Keyword(Keyword::OptIn)) if contact.opted_out => {
            set_consent(tx, &contact, true, ConsentSource::Keyword, &evidence, now).await?;
            outcome.consent = Some(ConsentChange::Restored);
            let reply = &settings.opt_in_confirmation;
            outcome.replies.push(queue_reply(tx, &conversation, number, reply, now).await?);
        }
        Some(Signal::Keyword(Keyword::Help)) => {
            let reply = &settings.help_text;
            outcome.replies.push(queue_reply(tx, &conversation, number, reply, now).await?);
        }
        Some(Signal::FreeText(Revocation::Unclear)) => {
            outcome.needs_consent_review = true;
            let mut entry = audit::entry(
                &Actor::System,
                "consent.review_needed",
                Some(format!("message:{}", message.id)),
                None,
                now,
            );
            entry.detail = Some("a text may revoke consent; a person should read it".into());
            tx.insert_audit(&entry).await?;
        }
        _ => {}
    }

    // Routing first, so the after-hours reply knows the department whose hours apply.
    crate::triage::triage_inbound(tx, number, &contact, &mut conversation, sms, &mut outcome, now).await?;
    crate::urgent::on_inbound(tx, settings, number, &contact, &mut conversation, sms, &mut outcome, now).await?;
    crate::after_hours::on_inbound(tx, settings, number, &contact, &conversation, sms, &mut outcome, now).await?;
    tx.update_conversation(&conversation).await?;
    tx.touch_thread(thread.id, now).await?;
    Ok(outcome)
}

enum Signal {
    ProviderHandled(ProviderOptOut),
    Keyword(Keyword),
    FreeText(Revocation),
}

fn consent_signal(sms: &InboundSms) -> Option<Signal> {
    if let Some(kind) = sms.provider_opt_out {
        return Some(Signal::ProviderHandled(kind));
    }
    if let Some(keyword) = classify_keyword(&sms.body) {
        return Some(Signal::Keyword(keyword));
    }
    detect_free_text_revocation(&sms.body).map(Signal::FreeText)
}

/// Records a consent change for the channel and caches it on the contact.
pub(crate) async fn set_consent(
    tx: &mut dyn WriteTx,
    contact: &Contact,
    granted: bool,
    source: ConsentSource,
    evidence: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.insert_consent_event(&ConsentEvent {
        id: new_id(),
        contact_id: contact.id,
        purpose: ConsentPurpose::Sms,
        granted,
        source,
        evidence: evidence.to_string(),
        created_at: now,
    })
    .await?;
    tx.set_contact_opted_out(contact.id, !granted).await
}

/// Queues an automatic reply in the conversation. Consent is not checked: the only automatic
/// replies here are the ones the rules require (opt-out/opt-in confirmation, help) and the
/// after-hours and urgent replies, whose callers check it.
pub(crate) async fn queue_reply(
    tx: &mut dyn WriteTx,
    conversation: &Conversation,
    number: &PracticeNumber,
    body: &str,
    now: DateTime<Utc>,
) -> StoreResult<MessageId> {
    let message = crate::outbound::new_outbound(
        conversation,
        number.provider,
        body,
        Vec::new(),
        SenderKind::Automation,
        None,
        now,
    );
    tx.insert_message(&message).await?;
    tx.enqueue_job(&OutboxJob::new(message.id, number.id, now)).await?;
    Ok(message.id)
}
