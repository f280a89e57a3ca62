//! Department hours at work (issue 5, items 3, 4 and 7): which settings apply to a
//! conversation, the after-hours reply, the department settings use cases (admin page and
//! admin API), and the overdue check run by the scheduler.
//!
//! A conversation's department, else its number's default department, decides which hours
//! apply; a department with no saved settings (or no department at all) gets the
//! practice-wide default: open Monday to Friday 08:00–17:00 in the practice's time zone.

use chrono::{DateTime, TimeDelta, Utc};
use frontdesk_domain::keywords::classify_keyword;
use frontdesk_domain::model::*;
use frontdesk_domain::office_hours::{DepartmentSettings, FieldError, OfficeHours, eta_phrase};
use frontdesk_providers::InboundSms;
use frontdesk_store::{StoreResult, WriteTx};

use crate::audit::{self, Actor};
use crate::events::{Event, EventKind};
use crate::inbound::InboundOutcome;
use crate::inbox::StaffContext;
use crate::{PracticeSettings, ServiceError, Services};

/// The settings that apply, with their parsed hours.
#[derive(Debug, Clone)]
pub struct EffectiveHours {
    pub department_id: Option<DepartmentId>,
    pub settings: DepartmentSettings,
    pub hours: OfficeHours,
    /// An admin saved these settings (otherwise they are the practice-wide default).
    pub configured: bool,
}

/// Reads a stored settings document; a document that no longer validates (a time zone
/// removed from the tz database) falls back to the default rather than stopping replies.
fn effective(department_id: Option<DepartmentId>, json: Option<&str>, practice: &PracticeSettings) -> EffectiveHours {
    let stored = json.and_then(|j| serde_json::from_str::<DepartmentSettings>(j).ok());
    if let Some(settings) = stored
        && let Ok(hours) = settings.validate(practice.time_zone)
    {
        return EffectiveHours { department_id, settings, hours, configured: true };
    }
    if json.is_some() {
        tracing::warn!(department = ?department_id, "stored department settings are unreadable; using the defaults");
    }
    EffectiveHours {
        department_id,
        settings: DepartmentSettings::default(),
        hours: OfficeHours::weekdays_8_to_5(practice.time_zone),
        configured: false,
    }
}

/// The department whose hours apply to a conversation.
pub fn department_for(conversation: &Conversation, number_default: Option<DepartmentId>) -> Option<DepartmentId> {
    conversation.department_id.or(number_default)
}

/// The hours that apply to `department_id`, read inside a write transaction.
pub(crate) async fn hours_in_tx(
    tx: &mut dyn WriteTx,
    practice: &PracticeSettings,
    department_id: Option<DepartmentId>,
) -> StoreResult<EffectiveHours> {
    let json = match department_id {
        Some(id) => tx.department_settings_in_tx(id).await?,
        None => None,
    };
    Ok(effective(department_id, json.as_deref(), practice))
}

/// The after-hours reply for a patient's text, called from `record_inbound` in its
/// transaction: when the department is closed, one reply per conversation per practice-local
/// day, not when staff replied within the department's quiet window, not for keyword
/// messages or consent changes, not to opted-out contacts, and not when an urgent reply was
/// just queued (it already says what to do). A reply to the patient's own text, so quiet
/// hours do not hold it. Only for departments whose settings an admin saved.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn on_inbound(
    tx: &mut dyn WriteTx,
    practice: &PracticeSettings,
    number: &PracticeNumber,
    contact: &Contact,
    conversation: &Conversation,
    sms: &InboundSms,
    outcome: &mut InboundOutcome,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // Flags (or clears) a text that may revoke consent: run from here so record_inbound
    // keeps one call per area.
    crate::consent_review::on_inbound(tx, conversation, outcome, now).await?;
    if contact.opted_out
        || outcome.consent.is_some()
        || outcome.needs_consent_review
        || sms.provider_opt_out.is_some()
        || classify_keyword(&sms.body).is_some()
        || outcome.alerts.contains(&EventKind::UrgentMessage)
    {
        return Ok(());
    }
    let effective = hours_in_tx(tx, practice, department_for(conversation, number.default_department_id)).await?;
    // No automatic text before an admin has saved the department's hours and reply: the
    // default hours still give ETAs and overdue marks, but a practice is never surprised by
    // texts it did not word.
    if !effective.configured || effective.hours.is_open(now) {
        return Ok(());
    }
    let quiet = TimeDelta::minutes(i64::from(effective.settings.staff_reply_quiet_minutes));
    if let Some(last) = tx.last_staff_reply_at(conversation.id).await?
        && now - last <= quiet
    {
        return Ok(());
    }
    let local_day = now.with_timezone(&effective.hours.tz).date_naive();
    if !tx.claim_automation_mark(&format!("after_hours:{}:{local_day}", conversation.id), now).await? {
        return Ok(());
    }
    let eta = eta_phrase(&effective.hours, now, effective.settings.response_target_minutes);
    let body = effective.settings.after_hours_reply(&eta);
    let reply = crate::inbound::queue_reply(tx, conversation, number, &body, now).await?;
    outcome.replies.push(reply);
    let mut entry = audit::entry(&Actor::System, "after_hours.reply", Some(format!("message:{reply}")), None, now);
    entry.detail = Some(format!("conversation:{} eta {eta}", conversation.id));
    tx.insert_audit(&entry).await
}

/// One department with its settings, for the admin page and API.
#[derive(Debug, Clone)]
pub struct DepartmentWithSettings {
    pub department: Department,
    pub settings: DepartmentSettings,
    /// Whether the settings were saved (otherwise these are the defaults).
    pub saved: bool,
}

impl Services {
    /// The hours that apply to `department_id` now (for pages and the scheduler).
    pub async fn effective_hours(&self, department_id: Option<DepartmentId>) -> Result<EffectiveHours, ServiceError> {
        let json = match department_id {
            Some(id) => self.store.department_settings(id).await?,
            None => None,
        };
        Ok(effective(department_id, json.as_deref(), &self.settings()))
    }

    /// Every department with its settings (admins only).
    pub async fn departments_with_settings(
        &self,
        ctx: &StaffContext,
    ) -> Result<Vec<DepartmentWithSettings>, ServiceError> {
        ctx.require_admin()?;
        self.departments_with_settings_as().await
    }

    /// Every department with its settings, for an API token.
    pub async fn departments_with_settings_as(&self) -> Result<Vec<DepartmentWithSettings>, ServiceError> {
        let saved = self.store.all_department_settings().await?;
        let mut out = Vec::new();
        for department in self.store.list_departments().await? {
            let json = saved.iter().find(|(id, _)| *id == department.id).map(|(_, j)| j.as_str());
            let settings = json.and_then(|j| serde_json::from_str::<DepartmentSettings>(j).ok());
            out.push(DepartmentWithSettings {
                saved: settings.is_some(),
                settings: settings.unwrap_or_default(),
                department,
            });
        }
        Ok(out)
    }

    /// One department with its settings; `NotFound` for an unknown id.
    pub async fn department_with_settings(&self, id: DepartmentId) -> Result<DepartmentWithSettings, ServiceError> {
        self.departments_with_settings_as()
            .await?
            .into_iter()
            .find(|d| d.department.id == id)
            .ok_or_else(|| ServiceError::NotFound("department".into()))
    }

    /// Checks settings for a department: every field, plus the people named (on-call users
    /// and the lead must be active accounts). Every problem is returned, each naming its field.
    pub async fn check_department_settings(
        &self,
        settings: &DepartmentSettings,
    ) -> Result<Result<DepartmentSettings, Vec<FieldError>>, ServiceError> {
        let mut errors = Vec::new();
        let hours = match settings.validate(self.settings().time_zone) {
            Ok(hours) => Some(hours),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        let users = self.store.list_users().await?;
        let active = |id: &uuid::Uuid| users.iter().any(|u| u.id == *id && !u.disabled);
        if let Some(bad) = settings.on_call_user_ids.iter().find(|id| !active(id)) {
            errors.push(FieldError::new("on_call_user_ids", format!("{bad} is not an active user")));
        }
        if let Some(lead) = settings.lead_user_id.filter(|id| !active(id)) {
            errors.push(FieldError::new("lead_user_id", format!("{lead} is not an active user")));
        }
        Ok(match hours {
            Some(hours) if errors.is_empty() => Ok(settings.normalised(&hours)),
            _ => Err(errors),
        })
    }

    /// Saves a department's settings (admins only): all or nothing, audited.
    pub async fn update_department_settings(
        &self,
        ctx: &StaffContext,
        id: DepartmentId,
        settings: DepartmentSettings,
        ip: Option<String>,
    ) -> Result<Result<DepartmentSettings, Vec<FieldError>>, ServiceError> {
        ctx.require_admin()?;
        self.update_department_settings_as(id, settings, Actor::User(ctx.user.id), ip).await
    }

    /// Saves a department's settings on behalf of `actor` (an API token): all or nothing,
    /// audited. The inner `Err` lists every invalid field; nothing was saved then.
    pub async fn update_department_settings_as(
        &self,
        id: DepartmentId,
        settings: DepartmentSettings,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<Result<DepartmentSettings, Vec<FieldError>>, ServiceError> {
        if !self.store.list_departments().await?.iter().any(|d| d.id == id) {
            return Err(ServiceError::NotFound("department".into()));
        }
        let clean = match self.check_department_settings(&settings).await? {
            Ok(clean) => clean,
            Err(errors) => return Ok(Err(errors)),
        };
        let json = serde_json::to_string(&clean).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = crate::now();
        let entry = audit::entry(&actor, "department.settings", Some(format!("department:{id}")), ip, now);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.put_department_settings(id, &json, now).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(Ok(clean))
    }

    /// Whether a conversation that has waited since `waiting_since` is past its
    /// department's response-time target at `now` (the target counted in open time).
    pub fn is_overdue(effective: &EffectiveHours, waiting_since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        match effective.hours.answer_by(waiting_since, effective.settings.response_target_minutes) {
            Some(due) => now > due,
            None => false,
        }
    }

    /// The scheduler's overdue check: one escalation per overdue wait, to the department's
    /// lead (a live event and an audit entry naming the lead). Returns how many were
    /// escalated.
    pub async fn escalate_overdue(&self, now: DateTime<Utc>) -> Result<usize, ServiceError> {
        // Nothing is overdue before its target has passed: one minute is the shortest.
        let candidates = self.store.waiting_conversations(now - TimeDelta::minutes(1), 500).await?;
        let mut escalated = 0;
        let mut cache: Vec<(Option<DepartmentId>, EffectiveHours)> = Vec::new();
        for waiting in candidates {
            let department = waiting.department_id.or(waiting.number_department_id);
            let effective = match cache.iter().find(|(d, _)| *d == department) {
                Some((_, e)) => e.clone(),
                None => {
                    let e = self.effective_hours(department).await?;
                    cache.push((department, e.clone()));
                    e
                }
            };
            if !Self::is_overdue(&effective, waiting.waiting_since, now) {
                continue;
            }
            let key = format!("overdue:{}:{}", waiting.id, waiting.waiting_since.timestamp_millis());
            let lead = effective.settings.lead_user_id;
            let mut entry = audit::entry(
                &Actor::System,
                "conversation.overdue_escalated",
                Some(format!("conversation:{}", waiting.id)),
                None,
                now,
            );
            entry.detail = Some(match lead {
                Some(lead) => format!("lead user:{lead}; target {} min", effective.settings.response_target_minutes),
                None => format!("no lead set; target {} min", effective.settings.response_target_minutes),
            });
            let claimed = frontdesk_store::write(&*self.store, move |tx| {
                Box::pin(async move {
                    if !tx.claim_automation_mark(&key, now).await? {
                        return Ok(false);
                    }
                    tx.insert_audit(&entry).await?;
                    Ok(true)
                })
            })
            .await?;
            if claimed {
                escalated += 1;
                self.events.publish(Event {
                    kind: EventKind::OverdueEscalation,
                    conversation_id: Some(waiting.id),
                    message_id: None,
                });
            }
        }
        Ok(escalated)
    }

    /// For each inbox row: whether the patient has waited past the department's
    /// response-time target (open conversations only).
    pub async fn overdue_flags(
        &self,
        summaries: &[frontdesk_store::ConversationSummary],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, ServiceError> {
        let mut cache: Vec<(Option<DepartmentId>, EffectiveHours)> = Vec::new();
        let mut flags = Vec::with_capacity(summaries.len());
        for s in summaries {
            let c = &s.conversation;
            let Some(since) = c.waiting_since.filter(|_| c.status == ConversationStatus::Open) else {
                flags.push(false);
                continue;
            };
            let department = c.department_id.or(s.number.default_department_id);
            let effective = match cache.iter().find(|(d, _)| *d == department) {
                Some((_, e)) => e.clone(),
                None => {
                    let e = self.effective_hours(department).await?;
                    cache.push((department, e.clone()));
                    e
                }
            };
            flags.push(Self::is_overdue(&effective, since, now));
        }
        Ok(flags)
    }

    /// Whether `user` is the lead of the department whose hours apply to the conversation
    /// (for the dashboard's escalation alert).
    pub async fn is_department_lead(&self, user: UserId, department: Option<DepartmentId>) -> bool {
        match self.effective_hours(department).await {
            Ok(e) => e.settings.lead_user_id == Some(user),
            Err(_) => false,
        }
    }

    /// Whether `user` is on call for the department (for the dashboard's urgent alert). A
    /// department with no on-call list alerts everyone who can see the conversation.
    pub async fn is_on_call(&self, user: UserId, department: Option<DepartmentId>) -> bool {
        match self.effective_hours(department).await {
            Ok(e) => e.settings.on_call_user_ids.is_empty() || e.settings.on_call_user_ids.contains(&user),
            Err(_) => true,
        }
    }
}
