//! Retention (issue 7 item 5): messages, media and form submissions older than the configured
//! number of days are purged by the scheduler in bounded batches; a legal hold on a patient
//! keeps their conversations, messages and forms. The audit log itself is kept forever (its
//! rows are append-only in the database).
//!
//! Each batch is one transaction that removes at most `batch_size` rows of one kind and
//! writes the `retention.purge` audit entry recording the kind, the cutoff and the count, so
//! nothing is ever removed unrecorded, even if the process stops between batches.

use chrono::{DateTime, TimeDelta, Utc};
use frontdesk_domain::model::PatientId;
use frontdesk_store::audit::{LegalHold, PurgeKind};

use crate::audit::{self, Actor};
use crate::inbox::StaffContext;
use crate::{ServiceError, Services};

/// Days to keep each kind of record; `None` keeps it forever (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub messages_days: Option<u32>,
    pub media_days: Option<u32>,
    pub forms_days: Option<u32>,
    /// Rows per transaction.
    pub batch_size: u32,
    /// Batches per kind in one run, so one run never holds the scheduler for long.
    pub max_batches: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { messages_days: None, media_days: None, forms_days: None, batch_size: 500, max_batches: 20 }
    }
}

impl RetentionPolicy {
    pub fn keeps_everything(&self) -> bool {
        self.messages_days.is_none() && self.media_days.is_none() && self.forms_days.is_none()
    }
}

/// What one run removed, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub messages: u64,
    pub media: u64,
    pub form_submissions: u64,
}

impl Services {
    /// Purges what the policy says has expired at `now`. Runs by the scheduler singleton.
    pub async fn purge_expired(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<PurgeReport, ServiceError> {
        let mut report = PurgeReport::default();
        // Media before messages: a message past both limits goes with its media anyway.
        let kinds = [
            (PurgeKind::Media, policy.media_days),
            (PurgeKind::Messages, policy.messages_days),
            (PurgeKind::FormSubmissions, policy.forms_days),
        ];
        for (kind, days) in kinds {
            let Some(days) = days else { continue };
            let cutoff = now - TimeDelta::days(i64::from(days));
            let batch = policy.batch_size.max(1);
            for _ in 0..policy.max_batches.max(1) {
                let removed = self.purge_batch(kind, cutoff, batch, now).await?;
                match kind {
                    PurgeKind::Messages => report.messages += removed,
                    PurgeKind::Media => report.media += removed,
                    PurgeKind::FormSubmissions => report.form_submissions += removed,
                }
                if removed < u64::from(batch) {
                    break;
                }
            }
        }
        Ok(report)
    }

    async fn purge_batch(
        &self,
        kind: PurgeKind,
        cutoff: DateTime<Utc>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<u64, ServiceError> {
        let removed = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let removed = tx.purge_before(kind, cutoff, limit).await?;
                if removed > 0 {
                    let mut entry =
                        audit::entry(&Actor::System, "retention.purge", Some(kind.as_str().into()), None, now);
                    entry.detail = Some(
                        serde_json::json!({ "kind": kind.as_str(), "removed": removed, "cutoff": cutoff }).to_string(),
                    );
                    tx.insert_audit(&entry).await?;
                }
                Ok(removed)
            })
        })
        .await?;
        if removed > 0 {
            tracing::info!(kind = kind.as_str(), removed, %cutoff, "retention purge");
        }
        Ok(removed)
    }

    /// Sets (reason given) or clears (`None`) a patient's legal hold. Admins only; audited.
    pub async fn set_legal_hold(
        &self,
        ctx: &StaffContext,
        patient_id: PatientId,
        reason: Option<&str>,
        ip: Option<String>,
    ) -> Result<Option<LegalHold>, ServiceError> {
        ctx.require_admin()?;
        if self.store.patient_by_id(patient_id).await?.is_none() {
            return Err(ServiceError::NotFound(format!("patient {patient_id}")));
        }
        let now = crate::now();
        let hold = match reason.map(str::trim) {
            None => None,
            Some("") => return Err(ServiceError::invalid("reason", "is required to place a legal hold")),
            Some(r) if r.chars().count() > 500 => {
                return Err(ServiceError::invalid("reason", "is longer than 500 characters"));
            }
            Some(r) => Some(LegalHold {
                patient_id,
                reason: r.to_owned(),
                set_by: format!("user:{}", ctx.user.id),
                set_at: now,
            }),
        };
        let actor = Actor::User(ctx.user.id);
        let stored = hold.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let action = match &stored {
                    Some(h) => {
                        tx.set_legal_hold(h).await?;
                        "patient.hold.set"
                    }
                    None => {
                        tx.clear_legal_hold(patient_id).await?;
                        "patient.hold.clear"
                    }
                };
                // The reason stays in `legal_holds`, out of the (unencrypted) audit detail.
                tx.insert_audit(&audit::entry(&actor, action, Some(format!("patient:{patient_id}")), ip, now)).await
            })
        })
        .await?;
        Ok(hold)
    }
}
