//! Outreach: messages scheduled to go out later ("send later" in the composer and the API,
//! and automated sends), sent by the scheduler singleton through the normal send path.
//!
//! A scheduled message is checked when it is written (content, PHI guard, time window, opt-out)
//! and again when it is due: the scheduler claims the row (pending -> sent) in the same write
//! transaction that queues its message through `queue_in_conversation`, so consent and opt-out
//! apply at send time, it goes out exactly once even with several instances, and a refusal
//! leaves a visible failed row with the reason.
//!
//! Automated rows (kind `automated`) also follow `domain::bulk_rules`: quiet hours in the
//! recipient's time zone and the daily/weekly caps, enforced here below every caller; a row the
//! rules hold is deferred (its `send_at` moves, the reason is shown), never dropped.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use frontdesk_domain::bulk_rules::{self, Decision};
use frontdesk_domain::model::*;
use frontdesk_store::ScheduledMessage;
use frontdesk_store::outreach::{
    KIND_AUTOMATED, KIND_STAFF, SCHEDULED_CANCELLED, SCHEDULED_FAILED, SCHEDULED_PENDING, SCHEDULED_SENT,
};

use crate::audit::{self, Actor};
use crate::outbound::{SendRequest, queue_in_conversation, validate_content};
use crate::{ServiceError, Services};

/// How far ahead a message may be scheduled.
pub const MAX_SCHEDULE_DAYS: i64 = 90;
/// Due rows handled per scheduler tick.
const DUE_BATCH: u32 = 100;

#[derive(Debug, Clone)]
pub struct ScheduleRequest {
    pub conversation_id: ConversationId,
    pub body: String,
    pub send_at: DateTime<Utc>,
    pub sender: SenderKind,
    pub sender_user_id: Option<UserId>,
    pub actor: Actor,
    pub ip: Option<String>,
    pub phi_confirmed: bool,
    /// Automated outreach: quiet hours and the caps apply when it is due.
    pub automated: bool,
}

/// What one scheduler pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DueOutcome {
    pub sent: usize,
    pub failed: usize,
    pub deferred: usize,
}

/// Checks a requested send time: in the future, at most [`MAX_SCHEDULE_DAYS`] ahead.
pub fn validate_send_at(send_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ServiceError> {
    if send_at <= now {
        return Err(ServiceError::invalid("send_at", "choose a time in the future"));
    }
    if send_at > now + TimeDelta::days(MAX_SCHEDULE_DAYS) {
        return Err(ServiceError::invalid(
            "send_at",
            format!("messages can be scheduled at most {MAX_SCHEDULE_DAYS} days ahead"),
        ));
    }
    Ok(())
}

impl Services {
    /// Stores a message to be sent at `send_at` (audited as `scheduled.create`).
    pub async fn schedule_message(&self, req: ScheduleRequest) -> Result<ScheduledMessage, ServiceError> {
        validate_content(&req.body, &[])?;
        let now = crate::now();
        validate_send_at(req.send_at, now)?;
        let phi = self.phi_check(&req.body, req.sender, req.phi_confirmed)?;
        let summary = self
            .store
            .conversation_summary(req.conversation_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("conversation".into()))?;
        if summary.contact.opted_out {
            return Err(ServiceError::OptedOut);
        }
        let scheduled = ScheduledMessage {
            id: new_id(),
            conversation_id: req.conversation_id,
            contact_id: summary.contact.id,
            body: req.body,
            kind: if req.automated { KIND_AUTOMATED } else { KIND_STAFF }.to_string(),
            sender: req.sender,
            created_by: req.sender_user_id,
            send_at: req.send_at,
            requested_at: req.send_at,
            status: SCHEDULED_PENDING.to_string(),
            reason: None,
            message_id: None,
            created_at: now,
            updated_at: now,
        };
        let row = scheduled.clone();
        let mut entry =
            audit::entry(&req.actor, "scheduled.create", Some(format!("scheduled:{}", row.id)), req.ip, now);
        entry.detail = Some(match phi {
            Some(kinds) => format!("send_at={} kind={} phi_confirmed={kinds}", row.send_at.to_rfc3339(), row.kind),
            None => format!("send_at={} kind={}", row.send_at.to_rfc3339(), row.kind),
        });
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_scheduled(&row).await?;
                tx.insert_audit(&entry).await?;
                Ok(())
            })
        })
        .await?;
        Ok(scheduled)
    }

    /// The conversation's scheduled messages, soonest first.
    pub async fn scheduled_messages(
        &self,
        conversation_id: ConversationId,
    ) -> Result<Vec<ScheduledMessage>, ServiceError> {
        Ok(self.store.conversation_scheduled(conversation_id).await?)
    }

    /// Cancels a pending scheduled message of the conversation (audited as `scheduled.cancel`).
    pub async fn cancel_scheduled(
        &self,
        conversation_id: ConversationId,
        id: uuid::Uuid,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        match self.store.scheduled_message(id).await? {
            // Cancelling twice (a double click, two people) is not an error.
            Some(s) if s.conversation_id == conversation_id && s.status == SCHEDULED_CANCELLED => return Ok(()),
            Some(s) if s.conversation_id == conversation_id => {}
            _ => return Err(ServiceError::NotFound("scheduled message".into())),
        }
        let now = crate::now();
        let entry = audit::entry(&actor, "scheduled.cancel", Some(format!("scheduled:{id}")), ip, now);
        let cancelled = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                if !tx.cancel_scheduled(id, now).await? {
                    return Ok(false);
                }
                tx.insert_audit(&entry).await?;
                Ok(true)
            })
        })
        .await?;
        if cancelled {
            Ok(())
        } else {
            Err(ServiceError::invalid("scheduled", "this message was already sent or cancelled"))
        }
    }

    /// The time zone automated messages to this contact follow: a linked patient's own zone
    /// when one is set, else the practice's.
    pub async fn recipient_time_zone(&self, contact_id: ContactId) -> Result<Tz, ServiceError> {
        for patient in self.store.patients_for_contact(contact_id).await? {
            let extras = self.store.patient_extras(patient.id).await?;
            if let Some(tz) = extras.time_zone.as_deref().and_then(|z| frontdesk_domain::parse_time_zone(z).ok()) {
                return Ok(tz);
            }
        }
        Ok(self.settings().time_zone)
    }

    /// Whether an automated message to the contact may go out at `now` (quiet hours in the
    /// recipient's zone, daily and weekly caps counted over automated messages already sent).
    pub async fn automation_decision(
        &self,
        contact_id: ContactId,
        now: DateTime<Utc>,
    ) -> Result<Decision, ServiceError> {
        let tz = self.recipient_time_zone(contact_id).await?;
        let sent = self.store.automated_sent_times(contact_id, now - bulk_rules::week()).await?;
        Ok(bulk_rules::decide(tz, now, &sent))
    }

    /// One scheduler pass: sends (or defers, or fails) every scheduled message due at `now`.
    pub async fn send_due_scheduled(&self, now: DateTime<Utc>) -> Result<DueOutcome, ServiceError> {
        let mut outcome = DueOutcome::default();
        for row in self.store.due_scheduled(now, DUE_BATCH).await? {
            if row.kind == KIND_AUTOMATED
                && let Decision::Defer { until, reason } = self.automation_decision(row.contact_id, now).await?
            {
                let id = row.id;
                let reason = format!("deferred: {}", reason.as_str());
                frontdesk_store::write(&*self.store, move |tx| {
                    Box::pin(async move { tx.defer_scheduled(id, until, &reason, now).await })
                })
                .await?;
                outcome.deferred += 1;
                continue;
            }
            match self.send_scheduled_row(row, now).await? {
                Some(Ok(message)) => {
                    self.announce(&message);
                    outcome.sent += 1;
                }
                Some(Err(_)) => outcome.failed += 1,
                None => {}
            }
        }
        Ok(outcome)
    }

    /// Claims the row and queues its message in one transaction. `None`: someone else took it
    /// (or it was cancelled); `Some(Err)`: the send was refused and the row is marked failed.
    async fn send_scheduled_row(
        &self,
        row: ScheduledMessage,
        now: DateTime<Utc>,
    ) -> Result<Option<Result<Message, ServiceError>>, ServiceError> {
        let providers = self.providers.kinds();
        let result = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                if !tx.claim_scheduled(row.id, now).await? {
                    return Ok(None);
                }
                let actor = match row.created_by {
                    Some(user) => Actor::User(user),
                    None => Actor::System,
                };
                let sent = match tx.conversation_by_id(row.conversation_id).await? {
                    None => Err(ServiceError::NotFound("conversation".into())),
                    Some(mut conversation) => {
                        let send = SendRequest {
                            conversation_id: row.conversation_id,
                            body: row.body.clone(),
                            media_urls: Vec::new(),
                            sender: row.sender,
                            sender_user_id: row.created_by,
                            actor,
                            ip: None,
                            phi_confirmed: false,
                        };
                        queue_in_conversation(tx, &mut conversation, &providers, send, None, now).await?
                    }
                };
                match &sent {
                    Ok(message) => tx.finish_scheduled(row.id, SCHEDULED_SENT, Some(message.id), None, now).await?,
                    Err(e) => {
                        let reason = e.to_string();
                        tx.finish_scheduled(row.id, SCHEDULED_FAILED, None, Some(&reason), now).await?;
                        let mut entry = audit::entry(
                            &Actor::System,
                            "scheduled.failed",
                            Some(format!("scheduled:{}", row.id)),
                            None,
                            now,
                        );
                        entry.detail = Some(reason);
                        tx.insert_audit(&entry).await?;
                    }
                }
                Ok(Some(sent))
            })
        })
        .await?;
        Ok(result)
    }
}

/// A word for the page: "pending", "sent", "failed", "cancelled".
pub fn status_label(status: &str) -> &'static str {
    match status {
        SCHEDULED_PENDING => "Scheduled",
        SCHEDULED_SENT => "Sent",
        SCHEDULED_FAILED => "Failed",
        SCHEDULED_CANCELLED => "Cancelled",
        _ => "Unknown",
    }
}
