//! Secure forms: staff send a form from a conversation (the text carries only a link), the
//! patient opens it (optionally proving their date of birth), submits once (validated and
//! scored on the server, sealed by the store), and staff read the submission (audited) or
//! export it as FHIR.
//!
//! The link's token (256 random bits) is never stored: requests are found by its SHA-256.
//! Unknown and revoked links answer the same [`Unavailable::NotFound`], so a page never tells
//! whether a token existed.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{NaiveDate, TimeDelta};
use frontdesk_domain::forms::{
    self, FieldError, FormDefinition, FormFile, FormRequest, FormRequestStatus, FormSubmission, Upload,
};
use frontdesk_domain::model::{ConversationId, Message, SenderKind, new_id};
use frontdesk_domain::template;
use frontdesk_store::{ConversationSummary, StoreError};
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::events::{Event, EventKind};
use crate::inbox::StaffContext;
use crate::outbound::SendRequest;
use crate::{ServiceError, Services};

/// How long a link works unless said otherwise.
pub const DEFAULT_EXPIRY: TimeDelta = TimeDelta::hours(72);
/// Wrong dates of birth before the link locks (for good: the practice sends a new one).
pub const MAX_DOB_ATTEMPTS: i32 = 5;

/// The SHA-256 (hex) under which a token is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A plausible token: what a link can carry (anything else is refused without a lookup).
fn plausible(token: &str) -> bool {
    (20..=128).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The built-in form a key names (custom forms: [`Services::form_definition`]).
pub fn definition(key: &str) -> Option<FormDefinition> {
    forms::builtin(key)
}

/// The `settings` key under which the admins' custom forms are kept (a JSON array of
/// [`FormDefinition`]s).
pub const CUSTOM_FORMS_KEY: &str = "forms.custom";

/// Reads a custom form as an admin typed it (JSON in the `domain::forms` format) and checks
/// it. Errors are `invalid("definition", ...)` and name the bad field.
pub fn parse_custom_form(json: &str) -> Result<FormDefinition, ServiceError> {
    let bad = |m: String| ServiceError::invalid("definition", m);
    let form: FormDefinition =
        serde_json::from_str(json).map_err(|e| bad(format!("the definition is not valid: {e}")))?;
    let key = form.key.trim();
    if key.is_empty()
        || key.len() > 64
        || !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(bad(format!("key {key:?} must be 1 to 64 lowercase letters, digits, - or _")));
    }
    if forms::builtin(key).is_some() {
        return Err(bad(format!("key {key:?} is a built-in form's: choose another")));
    }
    if form.title.trim().is_empty() {
        return Err(bad("title must not be empty".into()));
    }
    if form.fields.is_empty() {
        return Err(bad("fields must list at least one field".into()));
    }
    for f in &form.fields {
        if f.label.trim().is_empty() {
            return Err(bad(format!("field {:?}: label must not be empty", f.id)));
        }
    }
    form.check().map_err(bad)?;
    Ok(form)
}

#[derive(Debug, Clone)]
pub struct SentForm {
    pub request: FormRequest,
    pub message: Message,
    /// `{public_url}/f/{token}`: shown once, never stored.
    pub link: String,
}

/// Why a patient's link shows no form. `NotFound` covers unknown and revoked links alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    NotFound,
    Expired,
    Submitted,
    Locked,
}

/// What the patient's page shows.
#[derive(Debug, Clone)]
pub enum PublicForm {
    Unavailable(Unavailable),
    /// Prove the date of birth first; `error` after a wrong one.
    NeedsIdentity {
        form_title: String,
        error: Option<String>,
    },
    Ready {
        form: FormDefinition,
    },
}

/// What a submit led to.
#[derive(Debug, Clone)]
pub enum SubmitOutcome {
    Accepted {
        score: Option<forms::Score>,
    },
    /// Nothing was stored; show the form again with these errors.
    Invalid {
        form: FormDefinition,
        errors: Vec<FieldError>,
    },
    Page(PublicForm),
}

/// A request as the conversation shows it.
#[derive(Debug, Clone)]
pub struct FormRequestView {
    pub request: FormRequest,
    pub title: String,
    /// With expiry applied.
    pub status: FormRequestStatus,
    pub submission: Option<FormSubmission>,
}

/// A submission for staff.
#[derive(Debug, Clone)]
pub struct SubmissionView {
    pub form: FormDefinition,
    pub request: FormRequest,
    pub submission: FormSubmission,
    pub summary: ConversationSummary,
}

fn parse_dob(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(s, "%m/%d/%Y")).ok()
}

impl Services {
    /// The admins' custom forms, in the order they were added. A stored list that no longer
    /// reads is logged and treated as empty (requests for its forms then show "not found").
    pub async fn custom_forms(&self) -> Result<Vec<FormDefinition>, ServiceError> {
        let Some(json) = self.store.setting(CUSTOM_FORMS_KEY).await? else {
            return Ok(Vec::new());
        };
        match serde_json::from_str::<Vec<FormDefinition>>(&json) {
            Ok(forms) => Ok(forms),
            Err(e) => {
                tracing::warn!(error = %e, "stored custom forms could not be read");
                Ok(Vec::new())
            }
        }
    }

    /// Every form staff can send: the built-in ones, then the custom ones.
    pub async fn all_forms(&self) -> Result<Vec<FormDefinition>, ServiceError> {
        let mut all = forms::builtins();
        all.extend(self.custom_forms().await?);
        Ok(all)
    }

    /// The form a key names: built-in or custom.
    pub async fn form_definition(&self, key: &str) -> Result<Option<FormDefinition>, ServiceError> {
        if let Some(form) = definition(key) {
            return Ok(Some(form));
        }
        Ok(self.custom_forms().await?.into_iter().find(|f| f.key == key))
    }

    /// Adds or replaces (by key) a custom form typed as JSON. Admins only; audited
    /// `form.define`. Errors name the bad field (`invalid("definition", ...)`).
    pub async fn save_custom_form(
        &self,
        ctx: &StaffContext,
        json: &str,
        ip: Option<String>,
    ) -> Result<FormDefinition, ServiceError> {
        ctx.require_admin()?;
        let form = parse_custom_form(json)?;
        let mut all = self.custom_forms().await?;
        match all.iter_mut().find(|f| f.key == form.key) {
            Some(existing) => *existing = form.clone(),
            None => all.push(form.clone()),
        }
        let stored = serde_json::to_string(&all).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = crate::now();
        let entry = audit::entry(&Actor::User(ctx.user.id), "form.define", Some(format!("form:{}", form.key)), ip, now);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.put_setting(CUSTOM_FORMS_KEY, &stored, now).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(form)
    }

    /// Sends a built-in or custom form into a conversation: a new request with a fresh token, then a
    /// text with only the link. Audited `form.send`.
    pub async fn send_form(
        &self,
        ctx: &StaffContext,
        conversation_id: ConversationId,
        form_key: &str,
        ip: Option<String>,
    ) -> Result<SentForm, ServiceError> {
        self.send_form_in_text(ctx, conversation_id, form_key, None, false, ip).await
    }

    /// Like [`Services::send_form`], with the text staff wrote (usually from a template):
    /// [`template::FORM_LINK`] in it becomes the link, and a text without the placeholder gets
    /// the link at its end. The text goes through the PHI guard like any reply
    /// (`phi_confirmed` is the staff's confirmation of a warning).
    pub async fn send_form_in_text(
        &self,
        ctx: &StaffContext,
        conversation_id: ConversationId,
        form_key: &str,
        staff_text: Option<&str>,
        phi_confirmed: bool,
        ip: Option<String>,
    ) -> Result<SentForm, ServiceError> {
        let summary = self.visible_conversation(ctx, conversation_id).await?;
        if !ctx.can_act_on(&summary.conversation) {
            return Err(ServiceError::Forbidden("you can read this conversation but not send in it".into()));
        }
        if summary.contact.opted_out {
            return Err(ServiceError::OptedOut);
        }
        let form = self
            .form_definition(form_key)
            .await?
            .ok_or_else(|| ServiceError::invalid("form", "choose one of the forms"))?;
        let settings = self.settings();
        let base = settings
            .links_base_url
            .as_deref()
            .or(settings.public_url.as_deref())
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string();
        // No PHI in the text: not even which form it is. A token that happens to look like
        // a record number to the PHI guard is drawn again.
        let staff_text = staff_text.map(str::trim).filter(|t| !t.is_empty());
        let text = |token: &str| {
            let link = format!("{base}/f/{token}");
            match staff_text {
                Some(t) if t.contains(template::FORM_LINK) => t.replace(template::FORM_LINK, &link),
                Some(t) => format!("{t} {link}"),
                None => {
                    format!("{}: please fill in this secure form: {link} (the link works for 72 hours)", settings.name)
                }
            }
        };
        let mut token = new_token();
        for _ in 0..16 {
            if frontdesk_domain::phi::detect_phi(&text(&token)).is_empty() {
                break;
            }
            token = new_token();
        }
        let now = crate::now();
        let request = FormRequest {
            id: new_id(),
            token_hash: token_hash(&token),
            conversation_id,
            form_key: form.key.clone(),
            status: FormRequestStatus::Sent,
            created_at: now,
            expires_at: now + DEFAULT_EXPIRY,
            opened_at: None,
            submitted_at: None,
            dob_attempts: 0,
            locked_until: None,
            sent_by: Some(ctx.user.id),
        };
        let link = format!("{base}/f/{token}");
        let body = text(&token);
        let entry = audit::entry(
            &Actor::User(ctx.user.id),
            "form.send",
            Some(format!("form_request:{}", request.id)),
            ip.clone(),
            now,
        );
        let r = request.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_form_request(&r).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        let sent = self
            .send_message(SendRequest {
                conversation_id,
                body,
                media_urls: Vec::new(),
                sender: SenderKind::Staff,
                sender_user_id: Some(ctx.user.id),
                actor: Actor::User(ctx.user.id),
                ip,
                phi_confirmed,
            })
            .await;
        match sent {
            Ok(message) => Ok(SentForm { request, message, link }),
            Err(e) => {
                // The link was never sent: it must not work.
                let mut revoked = request.clone();
                revoked.status = FormRequestStatus::Revoked;
                let _ = frontdesk_store::write(&*self.store, move |tx| {
                    Box::pin(async move { tx.update_form_request(&revoked).await })
                })
                .await;
                Err(e)
            }
        }
    }

    /// Revokes a request that is still open. Audited `form.revoke`.
    pub async fn revoke_form(
        &self,
        ctx: &StaffContext,
        request_id: Uuid,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        let request = self
            .store
            .form_request_by_id(request_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("form request".into()))?;
        let summary = self.visible_conversation(ctx, request.conversation_id).await?;
        if !ctx.can_act_on(&summary.conversation) {
            return Err(ServiceError::Forbidden("you can read this conversation but not change it".into()));
        }
        if !request.effective_status(crate::now()).is_open() {
            return Err(ServiceError::Conflict(format!("this form is already {}", request.status)));
        }
        let mut revoked = request.clone();
        revoked.status = FormRequestStatus::Revoked;
        let entry = audit::entry(
            &Actor::User(ctx.user.id),
            "form.revoke",
            Some(format!("form_request:{request_id}")),
            ip,
            crate::now(),
        );
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.update_form_request(&revoked).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        self.events.publish(Event {
            kind: EventKind::ConversationUpdated,
            conversation_id: Some(request.conversation_id),
            message_id: None,
        });
        Ok(())
    }

    /// Finds the request behind a link and says what its page shows, before any identity
    /// check. Expiry is applied (and recorded) here.
    async fn resolve(&self, token: &str) -> Result<Result<(FormRequest, FormDefinition), Unavailable>, ServiceError> {
        if !plausible(token) {
            return Ok(Err(Unavailable::NotFound));
        }
        let Some(request) = self.store.form_request_by_token_hash(&token_hash(token)).await? else {
            return Ok(Err(Unavailable::NotFound));
        };
        let now = crate::now();
        match request.effective_status(now) {
            FormRequestStatus::Revoked => return Ok(Err(Unavailable::NotFound)),
            FormRequestStatus::Submitted => return Ok(Err(Unavailable::Submitted)),
            FormRequestStatus::Expired => {
                if request.status.is_open() {
                    let mut expired = request.clone();
                    expired.status = FormRequestStatus::Expired;
                    frontdesk_store::write(&*self.store, move |tx| {
                        Box::pin(async move { tx.update_form_request(&expired).await })
                    })
                    .await?;
                }
                return Ok(Err(Unavailable::Expired));
            }
            FormRequestStatus::Sent | FormRequestStatus::Opened => {}
        }
        if request.locked_until.is_some_and(|l| l > now) {
            return Ok(Err(Unavailable::Locked));
        }
        match self.form_definition(&request.form_key).await? {
            Some(form) => Ok(Ok((request, form))),
            None => Ok(Err(Unavailable::NotFound)),
        }
    }

    /// The birth date a request's patient must confirm, when the conversation is linked to a
    /// patient who has one.
    async fn expected_dob(&self, request: &FormRequest) -> Result<Option<NaiveDate>, ServiceError> {
        Ok(self
            .store
            .conversation_summary(request.conversation_id)
            .await?
            .and_then(|s| s.patient)
            .and_then(|p| p.birth_date))
    }

    /// Checks a typed date of birth; a wrong one counts, and the fifth locks the link.
    /// `Ok(None)` when it matches.
    async fn check_dob(
        &self,
        request: &FormRequest,
        form: &FormDefinition,
        expected: NaiveDate,
        typed: Option<&str>,
        ip: Option<String>,
    ) -> Result<Option<PublicForm>, ServiceError> {
        let Some(typed) = typed.filter(|t| !t.trim().is_empty()) else {
            return Ok(Some(PublicForm::NeedsIdentity { form_title: form.title.clone(), error: None }));
        };
        if parse_dob(typed) == Some(expected) {
            return Ok(None);
        }
        let now = crate::now();
        let mut counted = request.clone();
        counted.dob_attempts += 1;
        let locked = counted.dob_attempts >= MAX_DOB_ATTEMPTS;
        if locked {
            counted.locked_until = Some(counted.expires_at.max(now));
        }
        let action = if locked { "form.locked" } else { "form.identity_failed" };
        let entry = audit::entry(&Actor::System, action, Some(format!("form_request:{}", request.id)), ip, now);
        let c = counted.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.update_form_request(&c).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        if locked {
            return Ok(Some(PublicForm::Unavailable(Unavailable::Locked)));
        }
        let left = MAX_DOB_ATTEMPTS - counted.dob_attempts;
        Ok(Some(PublicForm::NeedsIdentity {
            form_title: form.title.clone(),
            error: Some(format!(
                "That date of birth does not match our records. {left} attempt{} left.",
                if left == 1 { "" } else { "s" }
            )),
        }))
    }

    /// The patient opens their link (`dob`: a date of birth they typed, if any). The first
    /// time the form is shown the request becomes `opened` (audited `form.open`).
    pub async fn open_form(
        &self,
        token: &str,
        dob: Option<&str>,
        ip: Option<String>,
    ) -> Result<PublicForm, ServiceError> {
        let (request, form) = match self.resolve(token).await? {
            Ok(found) => found,
            Err(u) => return Ok(PublicForm::Unavailable(u)),
        };
        if let Some(expected) = self.expected_dob(&request).await?
            && let Some(page) = self.check_dob(&request, &form, expected, dob, ip.clone()).await?
        {
            return Ok(page);
        }
        if request.status == FormRequestStatus::Sent {
            let now = crate::now();
            let mut opened = request.clone();
            opened.status = FormRequestStatus::Opened;
            opened.opened_at = Some(now);
            let entry =
                audit::entry(&Actor::System, "form.open", Some(format!("form_request:{}", request.id)), ip, now);
            frontdesk_store::write(&*self.store, move |tx| {
                Box::pin(async move {
                    tx.update_form_request(&opened).await?;
                    tx.insert_audit(&entry).await
                })
            })
            .await?;
            self.events.publish(Event {
                kind: EventKind::ConversationUpdated,
                conversation_id: Some(request.conversation_id),
                message_id: None,
            });
        }
        Ok(PublicForm::Ready { form })
    }

    /// The patient submits: validated against the form, scored here, stored sealed in one
    /// transaction with the request moving to `submitted` (so a replay stores nothing).
    pub async fn submit_form(
        &self,
        token: &str,
        raw: BTreeMap<String, Vec<String>>,
        uploads: BTreeMap<String, Upload>,
        ip: Option<String>,
    ) -> Result<SubmitOutcome, ServiceError> {
        let (request, form) = match self.resolve(token).await? {
            Ok(found) => found,
            Err(u) => return Ok(SubmitOutcome::Page(PublicForm::Unavailable(u))),
        };
        if let Some(expected) = self.expected_dob(&request).await? {
            let typed = raw.get("_dob").and_then(|v| v.first()).map(String::as_str);
            if let Some(page) = self.check_dob(&request, &form, expected, typed, ip.clone()).await? {
                return Ok(SubmitOutcome::Page(page));
            }
        }
        let raw: BTreeMap<String, Vec<String>> = raw.into_iter().filter(|(k, _)| !k.starts_with('_')).collect();
        let validated = match form.validate(&raw, &uploads) {
            Ok(v) => v,
            Err(errors) => return Ok(SubmitOutcome::Invalid { form, errors }),
        };
        let score = form.score(&validated.answers);
        let now = crate::now();
        let submission = FormSubmission {
            id: new_id(),
            request_id: request.id,
            answers: validated.answers,
            score: score.clone(),
            created_at: now,
        };
        let files: Vec<FormFile> = validated
            .files
            .into_iter()
            .map(|f| FormFile { id: f.id, submission_id: submission.id, content_type: f.content_type, bytes: f.bytes })
            .collect();
        let entry =
            audit::entry(&Actor::System, "form.submit", Some(format!("form_submission:{}", submission.id)), ip, now);
        let request_id = request.id;
        let conversation_id = request.conversation_id;
        let stored = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                if !tx.claim_form_request(request_id, now).await? {
                    return Err(StoreError::Aborted("already submitted".into()));
                }
                tx.insert_form_submission(&submission).await?;
                for f in &files {
                    tx.insert_form_file(f).await?;
                }
                tx.insert_audit(&entry).await?;
                // The conversation shows something new arrived.
                if let Some(mut c) = tx.conversation_by_id(conversation_id).await? {
                    c.unread_count += 1;
                    tx.update_conversation(&c).await?;
                }
                Ok(())
            })
        })
        .await;
        match stored {
            Ok(()) => {}
            Err(StoreError::Aborted(_) | StoreError::Conflict(_)) => {
                // A concurrent or replayed submit, or the link expired meanwhile.
                return Ok(SubmitOutcome::Page(PublicForm::Unavailable(match self.resolve(token).await? {
                    Err(u) => u,
                    Ok(_) => Unavailable::Submitted,
                })));
            }
            Err(e) => return Err(e.into()),
        }
        self.events.publish(Event {
            kind: EventKind::FormSubmitted,
            conversation_id: Some(conversation_id),
            message_id: None,
        });
        Ok(SubmitOutcome::Accepted { score })
    }

    /// The requests sent in a conversation's thread, for the conversation page (part of the
    /// page's audited view, so not audited again).
    pub async fn conversation_forms(
        &self,
        ctx: &StaffContext,
        conversation_id: ConversationId,
    ) -> Result<Vec<FormRequestView>, ServiceError> {
        let summary = self.visible_conversation(ctx, conversation_id).await?;
        let now = crate::now();
        let mut out = Vec::new();
        for request in self.store.thread_form_requests(summary.thread.id).await? {
            let submission = if request.status == FormRequestStatus::Submitted {
                self.store.form_submission_by_request(request.id).await?
            } else {
                None
            };
            out.push(FormRequestView {
                title: self
                    .form_definition(&request.form_key)
                    .await?
                    .map(|f| f.title)
                    .unwrap_or_else(|| request.form_key.clone()),
                status: request.effective_status(now),
                request,
                submission,
            });
        }
        Ok(out)
    }

    async fn visible_submission(&self, ctx: &StaffContext, id: Uuid) -> Result<SubmissionView, ServiceError> {
        let not_found = || ServiceError::NotFound("form submission".into());
        let submission = self.store.form_submission_by_id(id).await?.ok_or_else(not_found)?;
        let request = self.store.form_request_by_id(submission.request_id).await?.ok_or_else(not_found)?;
        let summary = self.visible_conversation(ctx, request.conversation_id).await.map_err(|_| not_found())?;
        let form = self.form_definition(&request.form_key).await?.ok_or_else(not_found)?;
        Ok(SubmissionView { form, request, submission, summary })
    }

    /// A submission for a staff member who can see its conversation. Audited `form.view`.
    pub async fn view_submission(
        &self,
        ctx: &StaffContext,
        id: Uuid,
        ip: Option<String>,
    ) -> Result<SubmissionView, ServiceError> {
        let view = self.visible_submission(ctx, id).await?;
        self.audit_now(Actor::User(ctx.user.id), "form.view", Some(format!("form_submission:{id}")), ip).await?;
        Ok(view)
    }

    /// One photo or signature of a submission. Audited `form.file`.
    pub async fn submission_file(
        &self,
        ctx: &StaffContext,
        id: Uuid,
        file_id: Uuid,
        ip: Option<String>,
    ) -> Result<FormFile, ServiceError> {
        self.visible_submission(ctx, id).await?;
        let file = self
            .store
            .submission_files(id)
            .await?
            .into_iter()
            .find(|f| f.id == file_id)
            .ok_or_else(|| ServiceError::NotFound("file".into()))?;
        self.audit_now(Actor::User(ctx.user.id), "form.file", Some(format!("form_file:{file_id}")), ip).await?;
        Ok(file)
    }

    /// The submission with its files (content type and bytes by file id), for a printable
    /// export. Audited `form.export`.
    pub async fn export_submission(
        &self,
        ctx: &StaffContext,
        id: Uuid,
        ip: Option<String>,
    ) -> Result<(SubmissionView, BTreeMap<Uuid, (String, Vec<u8>)>), ServiceError> {
        let view = self.visible_submission(ctx, id).await?;
        let files =
            self.store.submission_files(id).await?.into_iter().map(|f| (f.id, (f.content_type, f.bytes))).collect();
        self.audit_now(Actor::User(ctx.user.id), "form.export", Some(format!("form_submission:{id}")), ip).await?;
        Ok((view, files))
    }

    /// The submission as a FHIR R4 QuestionnaireResponse (files inline). Audited `form.export`.
    pub async fn submission_fhir(
        &self,
        ctx: &StaffContext,
        id: Uuid,
        ip: Option<String>,
    ) -> Result<serde_json::Value, ServiceError> {
        let view = self.visible_submission(ctx, id).await?;
        let files: BTreeMap<Uuid, (String, Vec<u8>)> =
            self.store.submission_files(id).await?.into_iter().map(|f| (f.id, (f.content_type, f.bytes))).collect();
        self.audit_now(Actor::User(ctx.user.id), "form.export", Some(format!("form_submission:{id}")), ip).await?;
        Ok(forms::fhir::questionnaire_response(
            &view.form,
            id,
            &view.submission.answers,
            view.submission.created_at,
            &files,
        ))
    }
}
