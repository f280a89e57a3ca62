//! Hands one queued message to its provider and records the answer: `deliver`.
//!
//! Order of events for one job, each step durable before the next:
//! 1. the job was claimed under a lease (by the dispatcher);
//! 2. `handoff_started_at` is recorded: from here on, the send may have happened;
//! 3. the provider is called;
//! 4. the answer is recorded (sent, retry later, failed, opted out).
//!
//! A crash between 2 and 4 leaves `handoff_started_at` set on a job whose lease expires; the
//! next claimer then asks the provider whether the message arrived (`SmsProvider::lookup`)
//! instead of sending it again, and flags it for staff when the provider cannot be asked.

use std::time::Duration;

use chrono::{DateTime, Utc};
use frontdesk_domain::MessageStatus;
use frontdesk_domain::model::*;
use frontdesk_providers::{Lookup, OutboundSms, SendAccepted, SendError};
use frontdesk_store::{MessageStatusChange, StoreResult, WriteTx};
use rand::Rng;

use crate::events::{Event, EventKind};
use crate::status::mark_opted_out_by_provider;
use crate::{ServiceError, Services};

/// How the dispatcher retries temporary provider errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// First wait; each further attempt doubles it.
    pub base: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
    /// Attempts before a message that keeps meeting temporary errors is given up as failed.
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: Duration::from_secs(2), cap: Duration::from_secs(300), max_attempts: 10 }
    }
}

impl RetryPolicy {
    /// Capped exponential backoff with jitter between half and all of the step; a provider's
    /// Retry-After is honoured when longer.
    pub fn backoff(&self, attempts: i32, retry_after: Option<Duration>) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempts.clamp(0, 16) as u32).min(self.cap);
        let jittered = exp.mul_f64(rand::rng().random_range(0.5..=1.0));
        retry_after.map_or(jittered, |ra| ra.max(jittered))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Sent {
        provider_message_id: String,
    },
    /// Found at the provider after an interrupted hand-off; not sent again.
    Reconciled {
        provider_message_id: String,
    },
    RetryAt(DateTime<Utc>),
    Failed {
        code: String,
    },
    /// It may or may not have been sent and the provider cannot tell: staff must check.
    NeedsReview,
    /// Nothing to do (already sent, or the job was stale).
    Skipped,
}

impl Services {
    pub async fn deliver(&self, job: OutboxJob) -> Result<DeliveryOutcome, ServiceError> {
        let Some(message) = self.store.message_by_id(job.message_id).await? else {
            self.finish_job(job, OutboxState::Dead, Some("message no longer exists".into())).await?;
            return Ok(DeliveryOutcome::Skipped);
        };
        if message.status.rank() >= MessageStatus::Sent.rank() {
            self.finish_job(job, OutboxState::Done, None).await?;
            return Ok(DeliveryOutcome::Skipped);
        }
        let summary = self
            .store
            .conversation_summary(message.conversation_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("conversation".into()))?;

        if summary.contact.opted_out && self.queued_before_opt_out(&summary.contact, &message).await? {
            let code = "opted_out".to_string();
            let text = "Not sent: the patient opted out after this message was queued.".to_string();
            self.fail(job, &message, code.clone(), text, false).await?;
            return Ok(DeliveryOutcome::Failed { code });
        }
        let Some(provider) = self.providers.get(message.provider).cloned() else {
            let text = format!("No {} provider is configured on this server.", message.provider);
            self.fail(job, &message, "provider_missing".into(), text, false).await?;
            return Ok(DeliveryOutcome::Failed { code: "provider_missing".into() });
        };
        let sms = OutboundSms {
            message_id: message.id,
            from: summary.number.e164.clone(),
            to: summary.contact.phone.clone(),
            body: message.body.clone(),
            media_urls: message.media.iter().map(|m| m.url.clone()).collect(),
            messaging_service_sid: summary.number.messaging_service_sid.clone(),
            status_callback: self.status_callback_url(message.provider, message.id),
        };

        if let Some(started) = job.handoff_started_at {
            match provider.lookup(&sms, started).await {
                Ok(Lookup::Found(accepted)) => {
                    let id = accepted.provider_message_id.clone();
                    self.record_sent(job, &message, accepted).await?;
                    return Ok(DeliveryOutcome::Reconciled { provider_message_id: id });
                }
                Ok(Lookup::NotFound) => {}
                Ok(Lookup::Unsupported) => {
                    self.flag_for_review(job, &message).await?;
                    return Ok(DeliveryOutcome::NeedsReview);
                }
                Err(e) => return self.retry(job, &message, &e, None).await,
            }
        }

        let job = self.begin_handoff(job, &message).await?;
        match provider.send(&sms).await {
            Ok(accepted) => {
                let id = accepted.provider_message_id.clone();
                self.record_sent(job, &message, accepted).await?;
                Ok(DeliveryOutcome::Sent { provider_message_id: id })
            }
            Err(e @ SendError::Transient { .. }) => {
                let retry_after = match &e {
                    SendError::Transient { retry_after, .. } => *retry_after,
                    _ => None,
                };
                // The provider said it did not process the request: nothing to reconcile.
                let mut job = job;
                job.handoff_started_at = None;
                self.retry(job, &message, &e, retry_after).await
            }
            Err(e @ SendError::Unknown { .. }) => {
                // Keep handoff_started_at: the next attempt asks the provider first.
                self.retry(job, &message, &e, None).await
            }
            Err(SendError::Permanent { code, message: text }) => {
                self.fail(job, &message, code.clone(), text, false).await?;
                Ok(DeliveryOutcome::Failed { code })
            }
            Err(SendError::OptedOut { code, message: text }) => {
                let failed = message.clone();
                let code_for_write = code.clone();
                let now = crate::now();
                frontdesk_store::write(&*self.store, move |tx| {
                    Box::pin(async move {
                        let mut job = job;
                        job.state = OutboxState::Dead;
                        job.lease_owner = None;
                        job.lease_until = None;
                        job.last_error = Some(format!("{code_for_write}: {text}"));
                        tx.update_job(&job).await?;
                        set_failed(tx, &failed, &code_for_write, &text, false, now).await?;
                        let evidence = failed.provider_message_id.clone().unwrap_or_else(|| failed.id.to_string());
                        mark_opted_out_by_provider(tx, &failed, &code_for_write, &evidence, now).await
                    })
                })
                .await?;
                self.publish_status(&message);
                Ok(DeliveryOutcome::Failed { code })
            }
        }
    }

    /// Whether the message was queued before the contact's latest opt-out. The confirmation
    /// queued together with that opt-out is created at the same instant and still goes out.
    async fn queued_before_opt_out(&self, contact: &Contact, message: &Message) -> Result<bool, ServiceError> {
        let events = self.store.consent_events(contact.id).await?;
        let latest_revocation =
            events.iter().filter(|e| e.purpose == ConsentPurpose::Sms && !e.granted).map(|e| e.created_at).max();
        Ok(latest_revocation.is_none_or(|at| message.created_at < at))
    }

    fn status_callback_url(&self, provider: ProviderKind, id: MessageId) -> Option<String> {
        let settings = self.settings();
        let base = settings.public_url.as_deref()?;
        match provider {
            ProviderKind::Twilio => Some(frontdesk_providers::twilio::webhook::status_callback_url(base, id)),
            ProviderKind::Telnyx => Some(frontdesk_providers::telnyx::webhook::webhook_url(base, id)),
            // Bandwidth calls the URL configured on its application; `tag` carries our id.
            ProviderKind::Bandwidth | ProviderKind::Simulator => None,
        }
    }

    async fn begin_handoff(&self, job: OutboxJob, message: &Message) -> Result<OutboxJob, ServiceError> {
        let now = crate::now();
        let message = message.clone();
        let job = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let mut job = job;
                job.attempts += 1;
                job.handoff_started_at = Some(now);
                tx.update_job(&job).await?;
                if message.status.advances_to(MessageStatus::Sending) {
                    tx.update_message_status(&MessageStatusChange {
                        message_id: message.id,
                        status: MessageStatus::Sending,
                        provider_message_id: None,
                        error_code: None,
                        error_message: None,
                        needs_review: false,
                        at: now,
                    })
                    .await?;
                }
                Ok(job)
            })
        })
        .await?;
        Ok(job)
    }

    async fn record_sent(&self, job: OutboxJob, message: &Message, accepted: SendAccepted) -> Result<(), ServiceError> {
        let now = crate::now();
        let id = message.id;
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let mut job = job;
                job.state = OutboxState::Done;
                job.lease_owner = None;
                job.lease_until = None;
                job.last_error = None;
                tx.update_job(&job).await?;
                // A status callback may have overtaken us; only move forward.
                let Some(current) = tx.message_by_id_for_update(id).await? else { return Ok(()) };
                // A provider may answer `queued` to a create call; for us the hand-off means `sent`.
                let reported = if accepted.status.rank() > MessageStatus::Sent.rank() {
                    accepted.status
                } else {
                    MessageStatus::Sent
                };
                let status = if current.status.advances_to(reported) { reported } else { current.status };
                tx.update_message_status(&MessageStatusChange {
                    message_id: id,
                    status,
                    provider_message_id: Some(accepted.provider_message_id),
                    error_code: current.error_code,
                    error_message: current.error_message,
                    needs_review: false,
                    at: now,
                })
                .await
            })
        })
        .await?;
        self.publish_status(message);
        Ok(())
    }

    async fn retry(
        &self,
        job: OutboxJob,
        message: &Message,
        error: &SendError,
        retry_after: Option<Duration>,
    ) -> Result<DeliveryOutcome, ServiceError> {
        if job.attempts >= self.retry.max_attempts {
            let text = format!(
                "The provider kept answering with temporary errors; gave up after {} attempts. Last error: {error}",
                job.attempts
            );
            let needs_review = job.handoff_started_at.is_some();
            self.fail(job, message, "retries_exhausted".into(), text, needs_review).await?;
            return Ok(DeliveryOutcome::Failed { code: "retries_exhausted".into() });
        }
        let wait = self.retry.backoff(job.attempts, retry_after);
        let at = crate::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(5));
        let last_error = error.to_string();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let mut job = job;
                job.state = OutboxState::Pending;
                job.next_attempt_at = at;
                job.lease_owner = None;
                job.lease_until = None;
                job.last_error = Some(last_error);
                tx.update_job(&job).await
            })
        })
        .await?;
        Ok(DeliveryOutcome::RetryAt(at))
    }

    async fn fail(
        &self,
        job: OutboxJob,
        message: &Message,
        code: String,
        text: String,
        needs_review: bool,
    ) -> Result<(), ServiceError> {
        let now = crate::now();
        let failed = message.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let mut job = job;
                job.state = OutboxState::Dead;
                job.lease_owner = None;
                job.lease_until = None;
                job.last_error = Some(format!("{code}: {text}"));
                tx.update_job(&job).await?;
                set_failed(tx, &failed, &code, &text, needs_review, now).await
            })
        })
        .await?;
        self.publish_status(message);
        Ok(())
    }

    async fn flag_for_review(&self, job: OutboxJob, message: &Message) -> Result<(), ServiceError> {
        let text = "Frontdesk was interrupted while handing this message to the provider, and the provider \
                    cannot be asked whether it arrived. It may or may not have been sent: check with the \
                    patient before sending it again."
            .to_string();
        self.fail(job, message, "unconfirmed".into(), text, true).await
    }

    async fn finish_job(&self, job: OutboxJob, state: OutboxState, note: Option<String>) -> Result<(), ServiceError> {
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let mut job = job;
                job.state = state;
                job.lease_owner = None;
                job.lease_until = None;
                if note.is_some() {
                    job.last_error = note;
                }
                tx.update_job(&job).await
            })
        })
        .await?;
        Ok(())
    }

    fn publish_status(&self, message: &Message) {
        self.events.publish(Event {
            kind: EventKind::MessageStatus,
            conversation_id: Some(message.conversation_id),
            message_id: Some(message.id),
        });
    }
}

async fn set_failed(
    tx: &mut dyn WriteTx,
    message: &Message,
    code: &str,
    text: &str,
    needs_review: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.update_message_status(&MessageStatusChange {
        message_id: message.id,
        status: MessageStatus::Failed,
        provider_message_id: None,
        error_code: Some(code.to_string()),
        error_message: Some(text.to_string()),
        needs_review,
        at: now,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_respects_cap_and_retry_after() {
        let p = RetryPolicy { base: Duration::from_secs(2), cap: Duration::from_secs(60), max_attempts: 10 };
        for attempts in 0..12 {
            let step = Duration::from_secs(2).saturating_mul(1 << attempts).min(Duration::from_secs(60));
            let d = p.backoff(attempts, None);
            assert!(d >= step / 2 && d <= step, "attempt {attempts}: {d:?} outside [{:?}, {step:?}]", step / 2);
        }
        assert_eq!(p.backoff(0, Some(Duration::from_secs(30))), Duration::from_secs(30));
    }
}
