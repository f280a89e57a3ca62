//! Reading and working a conversation: every view is audited (it is an access to patient
//! data); every change checks the person's reach first.

use chrono::{DateTime, Utc};
use frontdesk_domain::model::*;
use frontdesk_domain::{Direction, MessageStatus};
use frontdesk_store::ConversationSummary;

use crate::audit::{self, Actor};
use crate::events::{Event, EventKind};
use crate::inbox::StaffContext;
use crate::outbound::SendRequest;
use crate::{ServiceError, Services};

/// Everything the conversation page shows.
#[derive(Debug, Clone)]
pub struct ConversationPage {
    pub summary: ConversationSummary,
    /// The thread's whole history across episodes, oldest first.
    pub messages: Vec<Message>,
    pub notes: Vec<Note>,
    /// Patients who share this phone (a family), for linking.
    pub patients: Vec<Patient>,
    /// The contact's consent history, oldest first.
    pub consent: Vec<ConsentEvent>,
    /// The contact's other conversations (any number), newest first.
    pub others: Vec<ConversationSummary>,
}

/// A change a person makes to a conversation.
#[derive(Debug, Clone)]
pub enum ConversationChange {
    Assign(Option<UserId>),
    Department(Option<DepartmentId>),
    Open,
    /// Waiting on the patient.
    Waiting,
    Snooze(DateTime<Utc>),
    Close,
    LinkPatient(Option<PatientId>),
    Urgent(bool),
}

impl ConversationChange {
    fn action(&self) -> &'static str {
        match self {
            ConversationChange::Assign(_) => "conversation.assign",
            ConversationChange::Department(_) => "conversation.department",
            ConversationChange::Open => "conversation.reopen",
            ConversationChange::Waiting => "conversation.waiting",
            ConversationChange::Snooze(_) => "conversation.snooze",
            ConversationChange::Close => "conversation.close",
            ConversationChange::LinkPatient(_) => "conversation.link_patient",
            ConversationChange::Urgent(_) => "conversation.urgent",
        }
    }
}

impl Services {
    /// The conversation and its thread's whole history, oldest first; records the access.
    pub async fn view_conversation(
        &self,
        id: ConversationId,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<(ConversationSummary, Vec<Message>), ServiceError> {
        let summary =
            self.store.conversation_summary(id).await?.ok_or_else(|| ServiceError::NotFound("conversation".into()))?;
        let messages = self.store.thread_messages(summary.thread.id).await?;
        self.audit_now(actor, "conversation.view", Some(format!("conversation:{id}")), ip).await?;
        Ok((summary, messages))
    }

    /// The conversation page for a signed-in person: audited, and marks it read.
    pub async fn conversation_page(
        &self,
        ctx: &StaffContext,
        id: ConversationId,
        ip: Option<String>,
    ) -> Result<ConversationPage, ServiceError> {
        self.load_conversation_page(ctx, id, ip, true).await
    }

    /// The same page refetched by an open dashboard after a live event: part of the view
    /// already audited, so not audited again (the audit log would otherwise fill with one
    /// entry per delivery status). Access is checked again all the same.
    pub async fn refresh_conversation_page(
        &self,
        ctx: &StaffContext,
        id: ConversationId,
    ) -> Result<ConversationPage, ServiceError> {
        self.load_conversation_page(ctx, id, None, false).await
    }

    async fn load_conversation_page(
        &self,
        ctx: &StaffContext,
        id: ConversationId,
        ip: Option<String>,
        audited: bool,
    ) -> Result<ConversationPage, ServiceError> {
        let summary = self.visible_conversation(ctx, id).await?;
        let store = &self.store;
        let contact_id = summary.contact.id;
        let (messages, notes, patients, consent, others) = tokio::try_join!(
            store.thread_messages(summary.thread.id),
            store.thread_notes(summary.thread.id),
            store.patients_for_contact(contact_id),
            store.consent_events(contact_id),
            store.contact_conversations(contact_id),
        )?;
        let actor = Actor::User(ctx.user.id);
        let now = crate::now();
        let entry = audit::entry(&actor, "conversation.view", Some(format!("conversation:{id}")), ip, now);
        let mark_read = summary.conversation.unread_count > 0 && ctx.can_act_on(&summary.conversation);
        if mark_read || audited {
            frontdesk_store::write(&*self.store, move |tx| {
                Box::pin(async move {
                    if mark_read && let Some(mut c) = tx.conversation_by_id(id).await? {
                        c.unread_count = 0;
                        tx.update_conversation(&c).await?;
                    }
                    if audited {
                        tx.insert_audit(&entry).await?;
                    }
                    Ok(())
                })
            })
            .await?;
        }
        // Earlier episodes of this thread may have been moved to a department this person
        // cannot see: their texts and notes stay out of the history too.
        let visible: std::collections::HashSet<ConversationId> = others
            .iter()
            .filter(|o| ctx.can_see(&o.conversation))
            .map(|o| o.conversation.id)
            .chain(std::iter::once(id))
            .collect();
        let limited = ctx.departments.is_some();
        let messages = messages.into_iter().filter(|m| !limited || visible.contains(&m.conversation_id)).collect();
        let notes = notes.into_iter().filter(|n| !limited || visible.contains(&n.conversation_id)).collect();
        let others = others.into_iter().filter(|o| o.conversation.id != id && ctx.can_see(&o.conversation)).collect();
        Ok(ConversationPage { summary, messages, notes, patients, consent, others })
    }

    /// Applies one change, checked against the person's reach, audited and announced.
    pub async fn change_conversation(
        &self,
        ctx: &StaffContext,
        id: ConversationId,
        change: ConversationChange,
        ip: Option<String>,
    ) -> Result<Conversation, ServiceError> {
        ctx.require_can_act()?;
        self.visible_conversation(ctx, id).await?;
        match &change {
            ConversationChange::Assign(Some(user_id)) => {
                let user = self.store.user_by_id(*user_id).await?;
                if !user.is_some_and(|u| !u.disabled && u.role != Role::Auditor) {
                    return Err(ServiceError::invalid("assignee", "choose an active staff member or admin"));
                }
            }
            ConversationChange::Department(Some(d)) => {
                if !self.store.list_departments().await?.iter().any(|x| x.id == *d) {
                    return Err(ServiceError::invalid("department", "choose one of the practice's departments"));
                }
                if ctx.departments.as_ref().is_some_and(|allowed| !allowed.contains(d)) {
                    return Err(ServiceError::Forbidden(
                        "you can only move conversations to departments you belong to".into(),
                    ));
                }
            }
            ConversationChange::Snooze(until) if *until <= crate::now() => {
                return Err(ServiceError::invalid("until", "choose a time in the future"));
            }
            ConversationChange::LinkPatient(Some(p)) => {
                let exists = self.store.patient_by_id(*p).await?.is_some();
                if !exists {
                    return Err(ServiceError::invalid("patient", "no such patient"));
                }
            }
            _ => {}
        }
        let now = crate::now();
        let actor = Actor::User(ctx.user.id);
        let action = change.action();
        let detail = describe_change(&change);
        let chart_on_close = self.chart.as_ref().is_some_and(|c| c.on_close);
        let updated = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let Some(mut c) = tx.conversation_by_id(id).await? else {
                    return Ok(Err(ServiceError::NotFound("conversation".into())));
                };
                apply_change(&mut c, &change, now);
                tx.update_conversation(&c).await?;
                if let ConversationChange::LinkPatient(Some(patient_id)) = change {
                    // The phone now belongs to this patient too: the next episode finds them.
                    if let Some(thread) = tx.thread_by_id(c.thread_id).await? {
                        tx.link_contact_patient(thread.contact_id, patient_id).await?;
                    }
                }
                let mut entry = audit::entry(&actor, action, Some(format!("conversation:{id}")), ip, now);
                entry.detail = detail;
                tx.insert_audit(&entry).await?;
                if chart_on_close && matches!(change, ConversationChange::Close) {
                    // Saved to the chart by `workers::chart_sync`, committed with the close.
                    tx.insert_chart_job(&crate::chart::new_chart_job(id, None, now)).await?;
                }
                Ok(Ok(c))
            })
        })
        .await??;
        self.events.publish(Event {
            kind: EventKind::ConversationUpdated,
            conversation_id: Some(id),
            message_id: None,
        });
        Ok(updated)
    }

    /// Adds an internal note (never sent to the patient).
    pub async fn add_note(
        &self,
        ctx: &StaffContext,
        id: ConversationId,
        body: &str,
        ip: Option<String>,
    ) -> Result<Note, ServiceError> {
        ctx.require_can_act()?;
        let summary = self.visible_conversation(ctx, id).await?;
        let body = body.trim();
        if body.is_empty() {
            return Err(ServiceError::invalid("body", "write the note"));
        }
        if body.chars().count() > 4000 {
            return Err(ServiceError::invalid("body", "keep notes under 4,000 characters"));
        }
        let now = crate::now();
        let note = Note {
            id: new_id(),
            conversation_id: id,
            thread_id: summary.thread.id,
            author_id: Some(ctx.user.id),
            body: body.to_string(),
            created_at: now,
        };
        let stored = note.clone();
        let entry = audit::entry(&Actor::User(ctx.user.id), "note.add", Some(format!("conversation:{id}")), ip, now);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_note(&stored).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        self.events.publish(Event { kind: EventKind::NoteAdded, conversation_id: Some(id), message_id: None });
        Ok(note)
    }

    /// Sends a failed or undelivered text again, as a new message with the same words. The
    /// failed one stays in the history with its explanation.
    pub async fn retry_message(
        &self,
        ctx: &StaffContext,
        message_id: MessageId,
        ip: Option<String>,
    ) -> Result<Message, ServiceError> {
        ctx.require_can_act()?;
        let original =
            self.store.message_by_id(message_id).await?.ok_or_else(|| ServiceError::NotFound("message".into()))?;
        let summary = self.visible_conversation(ctx, original.conversation_id).await?;
        if original.direction != Direction::Outbound
            || !matches!(original.status, MessageStatus::Failed | MessageStatus::Undelivered)
        {
            return Err(ServiceError::Conflict("only a failed or undelivered text can be sent again".into()));
        }
        // The episode may have closed since; the retry goes to the thread's current one.
        let conversation_id = if summary.conversation.status == ConversationStatus::Closed {
            self.store
                .contact_conversations(summary.contact.id)
                .await?
                .into_iter()
                .find(|s| s.thread.id == summary.thread.id && s.conversation.status != ConversationStatus::Closed)
                .map(|s| s.conversation.id)
                .unwrap_or(summary.conversation.id)
        } else {
            summary.conversation.id
        };
        self.send_message(SendRequest {
            conversation_id,
            body: original.body.clone(),
            media_urls: original.media.iter().map(|m| m.url.clone()).collect(),
            sender: SenderKind::Staff,
            sender_user_id: Some(ctx.user.id),
            actor: Actor::User(ctx.user.id),
            ip,
            // The words were already confirmed when first sent.
            phi_confirmed: true,
        })
        .await
    }
}

fn apply_change(c: &mut Conversation, change: &ConversationChange, now: DateTime<Utc>) {
    match change {
        ConversationChange::Assign(user) => c.assignee_id = *user,
        ConversationChange::Department(d) => c.department_id = *d,
        ConversationChange::Open => {
            c.status = ConversationStatus::Open;
            c.snoozed_until = None;
            c.closed_at = None;
        }
        ConversationChange::Waiting => {
            c.status = ConversationStatus::Waiting;
            c.snoozed_until = None;
            c.closed_at = None;
        }
        ConversationChange::Snooze(until) => {
            c.status = ConversationStatus::Snoozed;
            c.snoozed_until = Some(*until);
            c.closed_at = None;
        }
        ConversationChange::Close => {
            c.status = ConversationStatus::Closed;
            c.snoozed_until = None;
            c.closed_at = Some(now);
            c.unread_count = 0;
        }
        ConversationChange::LinkPatient(p) => c.patient_id = *p,
        ConversationChange::Urgent(u) => c.urgent = *u,
    }
}

fn describe_change(change: &ConversationChange) -> Option<String> {
    Some(match change {
        ConversationChange::Assign(u) => format!("assignee={}", u.map(|u| u.to_string()).unwrap_or_default()),
        ConversationChange::Department(d) => format!("department={}", d.map(|d| d.to_string()).unwrap_or_default()),
        ConversationChange::Snooze(until) => format!("until={}", until.to_rfc3339()),
        ConversationChange::LinkPatient(p) => format!("patient={}", p.map(|p| p.to_string()).unwrap_or_default()),
        ConversationChange::Urgent(u) => format!("urgent={u}"),
        ConversationChange::Open | ConversationChange::Waiting | ConversationChange::Close => return None,
    })
}
