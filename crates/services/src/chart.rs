//! Saving conversations to the chart: exports (FHIR transaction Bundle, readable transcript)
//! for staff and the API, audited `conversation.export`; and durable chart jobs
//! (`chart_jobs`) that POST the Bundle to the practice's FHIR endpoint, queued when a
//! conversation closes (`[chart] on_close`) or on demand, retried with capped backoff on
//! network errors, 429 and 5xx, failed for good on other 4xx with the server's message.
//! The HTTP call lives in `server/src/workers/chart_sync.rs`; the state changes here.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use frontdesk_domain::fhir_chart::{self, ChartConversation};
use frontdesk_domain::model::{ConversationId, new_id};
use frontdesk_store::{ChartJob, ChartJobStatus};
use serde_json::Value;

use crate::audit::{self, Actor};
use crate::inbox::StaffContext;
use crate::{ServiceError, Services};

/// The practice's FHIR endpoint (`[chart]` in the configuration).
#[derive(Debug, Clone)]
pub struct ChartSettings {
    /// The FHIR server's base URL: transaction Bundles are POSTed to it.
    pub fhir_base_url: String,
    pub bearer_token: Option<String>,
    /// Queue an export whenever a conversation is closed.
    pub on_close: bool,
    /// First wait after a temporary failure; doubles per attempt up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Attempts before a job is given up as failed.
    pub max_attempts: i64,
}

/// What an export is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Fhir,
    Text,
    Pdf,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<ExportFormat, ServiceError> {
        match s {
            "fhir" => Ok(ExportFormat::Fhir),
            "text" => Ok(ExportFormat::Text),
            "pdf" => Ok(ExportFormat::Pdf),
            other => Err(ServiceError::invalid("format", format!("unknown format {other:?}; use fhir, text or pdf"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Fhir => "fhir",
            ExportFormat::Text => "text",
            ExportFormat::Pdf => "pdf",
        }
    }
}

/// A conversation ready for the chart.
#[derive(Debug, Clone)]
pub struct ChartExport {
    pub bundle: Value,
    pub transcript: String,
}

/// How one POST of a Bundle went.
#[derive(Debug, Clone)]
pub enum ChartAttempt {
    Sent,
    /// Network error, 429 or 5xx: try again later.
    Temporary(String),
    /// Any other answer: the server refused it; retrying would not help.
    Permanent(String),
}

impl Services {
    /// The conversation as a Bundle and a transcript (no access check: callers check).
    pub async fn chart_export(&self, id: ConversationId) -> Result<ChartExport, ServiceError> {
        let summary =
            self.store.conversation_summary(id).await?.ok_or_else(|| ServiceError::NotFound("conversation".into()))?;
        let (messages, users, requests) = tokio::try_join!(
            self.store.thread_messages(summary.thread.id),
            self.store.list_users(),
            self.store.thread_form_requests(summary.thread.id),
        )?;
        let messages: Vec<_> = messages.into_iter().filter(|m| m.conversation_id == id).collect();
        let staff: BTreeMap<uuid::Uuid, String> = users.into_iter().map(|u| (u.id, u.name)).collect();
        let mut responses = Vec::new();
        for r in requests.iter().filter(|r| r.conversation_id == id) {
            let Some(sub) = self.store.form_submission_by_request(r.id).await? else { continue };
            let Some(form) = self.form_definition(&r.form_key).await? else { continue };
            let files = self
                .store
                .submission_files(sub.id)
                .await?
                .into_iter()
                .map(|f| (f.id, (f.content_type, f.bytes)))
                .collect();
            responses.push(frontdesk_domain::forms::fhir::questionnaire_response(
                &form,
                sub.id,
                &sub.answers,
                sub.created_at,
                &files,
            ));
        }
        let settings = self.settings();
        let c = ChartConversation {
            conversation_id: id,
            practice_name: &settings.name,
            practice_phone: &summary.number.e164,
            patient: summary.patient.as_ref(),
            patient_phone: &summary.contact.phone,
            messages: &messages,
            staff: &staff,
            questionnaire_responses: responses,
        };
        let now = crate::now();
        Ok(ChartExport {
            bundle: fhir_chart::bundle(&c, now),
            transcript: fhir_chart::transcript(&c, settings.time_zone, now),
        })
    }

    /// An export for a staff member who can see the conversation. Audited `conversation.export`.
    pub async fn export_conversation(
        &self,
        ctx: &StaffContext,
        id: ConversationId,
        format: ExportFormat,
        ip: Option<String>,
    ) -> Result<ChartExport, ServiceError> {
        self.visible_conversation(ctx, id).await?;
        self.export_as(Actor::User(ctx.user.id), id, format, ip).await
    }

    /// An export for an API token (every conversation). Audited `conversation.export`.
    pub async fn export_as(
        &self,
        actor: Actor,
        id: ConversationId,
        format: ExportFormat,
        ip: Option<String>,
    ) -> Result<ChartExport, ServiceError> {
        let export = self.chart_export(id).await?;
        let mut entry =
            audit::entry(&actor, "conversation.export", Some(format!("conversation:{id}")), ip, crate::now());
        entry.detail = Some(format!("format={}", format.as_str()));
        frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.insert_audit(&entry).await })).await?;
        Ok(export)
    }

    /// Queues an export to the chart now (a button on the conversation page). Audited
    /// `conversation.chart_sync`.
    pub async fn request_chart_sync(
        &self,
        ctx: &StaffContext,
        id: ConversationId,
        ip: Option<String>,
    ) -> Result<ChartJob, ServiceError> {
        ctx.require_can_act()?;
        self.visible_conversation(ctx, id).await?;
        if self.chart.is_none() {
            return Err(ServiceError::Conflict(
                "saving to the chart is not set up: configure [chart] fhir_base_url".into(),
            ));
        }
        let now = crate::now();
        let job = new_chart_job(id, Some(ctx.user.id), now);
        let stored = job.clone();
        let entry = audit::entry(
            &Actor::User(ctx.user.id),
            "conversation.chart_sync",
            Some(format!("conversation:{id}")),
            ip,
            now,
        );
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_chart_job(&stored).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(job)
    }

    /// The conversation's chart exports, newest first.
    pub async fn chart_jobs(&self, id: ConversationId) -> Result<Vec<ChartJob>, ServiceError> {
        Ok(self.store.chart_jobs_for_conversation(id).await?)
    }

    /// Leases due jobs to `owner` (unique per call) and returns them.
    pub async fn claim_chart_jobs(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<ChartJob>, ServiceError> {
        let now = crate::now();
        let until = now + TimeDelta::from_std(lease).unwrap_or(TimeDelta::seconds(60));
        let o = owner.to_owned();
        let n = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move { tx.claim_chart_jobs(&o, now, until, limit).await })
        })
        .await?;
        if n == 0 {
            return Ok(Vec::new());
        }
        Ok(self.store.chart_jobs_leased_to(owner).await?)
    }

    /// Records how an attempt went: sent, back to pending with backoff, or failed.
    pub async fn record_chart_attempt(&self, job: &ChartJob, attempt: ChartAttempt) -> Result<ChartJob, ServiceError> {
        let Some(cfg) = self.chart.clone() else {
            return Err(ServiceError::Internal("chart attempt without [chart] settings".into()));
        };
        let now = crate::now();
        let mut j = job.clone();
        j.attempts += 1;
        j.lease_owner = None;
        j.lease_until = None;
        j.updated_at = now;
        match attempt {
            ChartAttempt::Sent => {
                j.status = ChartJobStatus::Sent;
                j.last_error = None;
            }
            ChartAttempt::Permanent(reason) => {
                j.status = ChartJobStatus::Failed;
                j.last_error = Some(reason);
            }
            ChartAttempt::Temporary(reason) if j.attempts >= cfg.max_attempts => {
                j.status = ChartJobStatus::Failed;
                j.last_error = Some(format!("gave up after {} attempts: {reason}", j.attempts));
            }
            ChartAttempt::Temporary(reason) => {
                j.status = ChartJobStatus::Pending;
                j.last_error = Some(reason);
                j.next_attempt_at = now + backoff(&cfg, j.attempts);
            }
        }
        let stored = j.clone();
        let entry = (j.status == ChartJobStatus::Sent).then(|| {
            let mut e = audit::entry(
                &Actor::System,
                "conversation.chart_sent",
                Some(format!("conversation:{}", j.conversation_id)),
                None,
                now,
            );
            e.detail = Some(format!("chart_job={}", j.id));
            e
        });
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.update_chart_job(&stored).await?;
                if let Some(e) = &entry {
                    tx.insert_audit(e).await?;
                }
                Ok(())
            })
        })
        .await?;
        Ok(j)
    }
}

/// A new pending job, due now.
pub fn new_chart_job(
    conversation_id: ConversationId,
    requested_by: Option<uuid::Uuid>,
    now: DateTime<Utc>,
) -> ChartJob {
    ChartJob {
        id: new_id(),
        conversation_id,
        status: ChartJobStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        lease_owner: None,
        lease_until: None,
        last_error: None,
        requested_by,
        created_at: now,
        updated_at: now,
    }
}

/// `base * 2^(attempts-1)`, at most `cap`.
fn backoff(cfg: &ChartSettings, attempts: i64) -> TimeDelta {
    let factor = 1u32 << (attempts.clamp(1, 20) - 1) as u32;
    let wait = cfg.retry_base.saturating_mul(factor).min(cfg.retry_cap);
    TimeDelta::from_std(wait).unwrap_or(TimeDelta::seconds(60))
}

/// How an HTTP answer from the FHIR server is classified.
pub fn classify_chart_answer(status: u16, body: &str) -> ChartAttempt {
    if (200..300).contains(&status) {
        return ChartAttempt::Sent;
    }
    let message = server_message(body);
    let reason = if message.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {message}") };
    if status == 429 || status >= 500 || status == 408 {
        ChartAttempt::Temporary(reason)
    } else {
        ChartAttempt::Permanent(reason)
    }
}

/// The server's explanation: an OperationOutcome's diagnostics or details, else the start of
/// the body (one line, at most 300 characters).
fn server_message(body: &str) -> String {
    let from_outcome = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let issues = v.get("issue")?.as_array()?;
        let texts: Vec<String> = issues
            .iter()
            .filter_map(|i| {
                i.get("diagnostics")
                    .and_then(Value::as_str)
                    .or_else(|| i.pointer("/details/text").and_then(Value::as_str))
                    .map(str::to_owned)
            })
            .collect();
        (!texts.is_empty()).then(|| texts.join("; "))
    });
    let text = from_outcome.unwrap_or_else(|| body.split_whitespace().collect::<Vec<_>>().join(" "));
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_and_backoff_is_capped() {
        assert!(matches!(classify_chart_answer(201, ""), ChartAttempt::Sent));
        assert!(matches!(classify_chart_answer(503, "down"), ChartAttempt::Temporary(m) if m == "HTTP 503: down"));
        assert!(matches!(classify_chart_answer(429, ""), ChartAttempt::Temporary(_)));
        let outcome =
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","diagnostics":"Unknown patient MRN"}]}"#;
        assert!(
            matches!(classify_chart_answer(400, outcome), ChartAttempt::Permanent(m) if m == "HTTP 400: Unknown patient MRN")
        );
        let cfg = ChartSettings {
            fhir_base_url: String::new(),
            bearer_token: None,
            on_close: true,
            retry_base: Duration::from_secs(2),
            retry_cap: Duration::from_secs(60),
            max_attempts: 10,
        };
        assert_eq!(backoff(&cfg, 1), TimeDelta::seconds(2));
        assert_eq!(backoff(&cfg, 3), TimeDelta::seconds(8));
        assert_eq!(backoff(&cfg, 12), TimeDelta::seconds(60));
    }
}
