//! Staff, the API or automation send a text: `send_message` and `start_conversation`.
//!
//! Consent is enforced here, below every caller: no route, token or worker can queue a text
//! to a contact who opted out. A queued message and its outbox job are committed together, so
//! nothing reaches a provider that is not first durable.

use chrono::{DateTime, Utc};
use frontdesk_domain::front_door::{ConsentBasis, ConversationSource};
use frontdesk_domain::model::*;
use frontdesk_domain::sms::analyze;
use frontdesk_domain::{Direction, E164, MessageStatus};
use frontdesk_store::{StoreResult, WriteTx};

use crate::audit::{self, Actor};
use crate::events::{Event, EventKind};
use crate::{PhiGuardMode, ServiceError, Services};

/// Twilio's limit for one message body, in characters.
pub const MAX_BODY_CHARS: usize = 1600;
/// Twilio's limit for media per message.
pub const MAX_MEDIA: usize = 10;

#[derive(Debug, Clone)]
pub struct SendRequest {
    pub conversation_id: ConversationId,
    pub body: String,
    pub media_urls: Vec<String>,
    pub sender: SenderKind,
    pub sender_user_id: Option<UserId>,
    pub actor: Actor,
    pub ip: Option<String>,
    /// The sender saw the PHI warning for these words and confirmed (warn mode; audited).
    pub phi_confirmed: bool,
}

#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The patient's number as typed; read in the practice's default region.
    pub to: String,
    /// Which practice number to send from; the first one when absent.
    pub from: Option<String>,
    pub body: String,
    pub media_urls: Vec<String>,
    pub sender: SenderKind,
    pub sender_user_id: Option<UserId>,
    pub actor: Actor,
    pub ip: Option<String>,
    pub phi_confirmed: bool,
    /// For a staff member limited to departments: the conversation joined must be in one of
    /// these, and a new one is opened in one of these.
    pub within_departments: Option<Vec<DepartmentId>>,
    /// Why the practice may text this number first (`None`: consent must be on record).
    pub consent_basis: Option<ConsentBasis>,
    /// For [`ConsentBasis::Verbal`]: when and how the patient agreed (kept as a sealed note).
    pub consent_note: String,
}

/// Longest note for a verbal consent, in characters.
pub const MAX_CONSENT_NOTE: usize = 500;

/// Checks what a caller wants to send, naming the field that is wrong.
pub fn validate_content(body: &str, media_urls: &[String]) -> Result<(), ServiceError> {
    if body.trim().is_empty() && media_urls.is_empty() {
        return Err(ServiceError::invalid("body", "write a message (or attach media)"));
    }
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(ServiceError::invalid(
            "body",
            format!("the message is {chars} characters long; the limit is {MAX_BODY_CHARS}"),
        ));
    }
    if media_urls.len() > MAX_MEDIA {
        return Err(ServiceError::invalid("media_urls", format!("at most {MAX_MEDIA} attachments")));
    }
    if let Some(bad) = media_urls.iter().find(|u| !(u.starts_with("https://") || u.starts_with("http://"))) {
        return Err(ServiceError::invalid("media_urls", format!("{bad:?} is not an http(s) URL")));
    }
    Ok(())
}

/// Builds a queued outbound message with its encoding and segment count.
pub(crate) fn new_outbound(
    conversation: &Conversation,
    provider: ProviderKind,
    body: &str,
    media_urls: Vec<String>,
    sender: SenderKind,
    sender_user_id: Option<UserId>,
    now: DateTime<Utc>,
) -> Message {
    let info = analyze(body);
    Message {
        id: new_id(),
        conversation_id: conversation.id,
        thread_id: conversation.thread_id,
        direction: Direction::Outbound,
        body: body.to_string(),
        media: media_urls.into_iter().map(|url| MediaRef { url, content_type: None }).collect(),
        sender,
        sender_user_id,
        provider,
        provider_message_id: None,
        status: MessageStatus::Queued,
        error_code: None,
        error_message: None,
        encoding: info.encoding.as_str().to_string(),
        segments: info.segments as i32,
        created_at: now,
        updated_at: now,
        needs_review: false,
    }
}

impl Services {
    /// Queues a text in an existing conversation.
    pub async fn send_message(&self, req: SendRequest) -> Result<Message, ServiceError> {
        validate_content(&req.body, &req.media_urls)?;
        let phi = self.phi_check(&req.body, req.sender, req.phi_confirmed)?;
        let providers = self.providers.kinds();
        let now = crate::now();
        let message = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let Some(mut conversation) = tx.conversation_by_id(req.conversation_id).await? else {
                    return Ok(Err(ServiceError::NotFound("conversation".into())));
                };
                queue_in_conversation(tx, &mut conversation, &providers, req, phi, now).await
            })
        })
        .await??;
        self.announce(&message);
        Ok(message)
    }

    /// Texts a number, joining its thread's open conversation or opening a new one.
    pub async fn start_conversation(&self, req: StartRequest) -> Result<Message, ServiceError> {
        validate_content(&req.body, &req.media_urls)?;
        let phi = self.phi_check(&req.body, req.sender, req.phi_confirmed)?;
        let to = E164::parse(&req.to, self.settings().default_region)
            .map_err(|e| ServiceError::invalid("to", e.to_string()))?;
        let number = self.sending_number(req.from.as_deref()).await?;
        let consent = self.consent_basis(&to, req.consent_basis, &req.consent_note, &req.actor).await?;
        let providers = self.providers.kinds();
        let now = crate::now();
        let message = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let contact = tx.upsert_contact(&to, now).await?;
                if contact.opted_out {
                    return Ok(Err(ServiceError::OptedOut));
                }
                let thread = tx.upsert_thread_for_update(number.id, contact.id, now).await?;
                let within = req.within_departments.clone();
                let mut conversation = match tx.current_conversation(thread.id).await? {
                    Some(c) => {
                        if let Some(allowed) = &within
                            && !c.department_id.is_some_and(|d| allowed.contains(&d))
                        {
                            return Ok(Err(ServiceError::Forbidden(
                                "this number already has an open conversation in another department; ask a colleague there"
                                    .into(),
                            )));
                        }
                        c
                    }
                    None => {
                        let department = match &within {
                            Some(allowed) => number
                                .default_department_id
                                .filter(|d| allowed.contains(d))
                                .or_else(|| allowed.first().copied()),
                            None => number.default_department_id,
                        };
                        let fresh = Conversation::open(thread.id, department, now);
                        tx.insert_conversation(&fresh).await?;
                        tx.set_conversation_origin(fresh.id, ConversationSource::StaffOutreach, None).await?;
                        fresh
                    }
                };
                record_consent_basis(tx, &consent, contact.id, &conversation, &req.actor, now).await?;
                let send = req_into_send(req, conversation.id);
                queue_in_conversation(tx, &mut conversation, &providers, send, phi, now).await
            })
        })
        .await??;
        self.announce(&message);
        Ok(message)
    }

    /// Checks the consent basis staff (or the API) gave for texting `to` first, before
    /// anything is written. No basis means "consent is on record", and is refused when none
    /// is; `patient_initiated` needs a text from the patient on record; `verbal` needs a note.
    async fn consent_basis(
        &self,
        to: &E164,
        basis: Option<ConsentBasis>,
        note: &str,
        actor: &Actor,
    ) -> Result<ConsentProof, ServiceError> {
        let contact = self.store.contact_by_phone(to).await?;
        if contact.as_ref().is_some_and(|c| c.opted_out) {
            // Refused below whatever the basis; say so rather than ask for a basis.
            return Err(ServiceError::OptedOut);
        }
        let on_record = match &contact {
            Some(c) => self
                .store
                .consent_events(c.id)
                .await?
                .into_iter()
                .filter(|e| e.purpose == ConsentPurpose::Sms)
                .max_by_key(|e| (e.created_at, e.id))
                .filter(|e| e.granted)
                .map(|e| e.id),
            None => None,
        };
        match basis {
            None | Some(ConsentBasis::Existing) => match on_record {
                Some(id) => Ok(ConsentProof::Existing(id)),
                None => Err(ServiceError::invalid(
                    "consent_basis",
                    "no consent to texts is on record for this number: choose patient_initiated if they texted you first, or verbal (with a note) if they agreed out loud",
                )),
            },
            Some(ConsentBasis::PatientInitiated) => {
                let mut first_text = None;
                if let Some(c) = &contact {
                    for summary in self.store.contact_conversations(c.id).await? {
                        let messages = self.store.thread_messages(summary.thread.id).await?;
                        if let Some(m) = messages.iter().find(|m| m.direction == Direction::Inbound) {
                            first_text = Some(m.id);
                            break;
                        }
                    }
                }
                first_text.map(ConsentProof::PatientInitiated).ok_or_else(|| {
                    ServiceError::invalid(
                        "consent_basis",
                        "this number has never texted the practice, so the conversation is not patient-initiated; choose verbal (with a note) if they agreed out loud",
                    )
                })
            }
            Some(ConsentBasis::Verbal) => {
                let note = note.trim();
                if note.is_empty() {
                    return Err(ServiceError::invalid(
                        "consent_note",
                        "say when and how the patient agreed to texts (for example: by phone today, asked for a reminder)",
                    ));
                }
                if note.chars().count() > MAX_CONSENT_NOTE {
                    return Err(ServiceError::invalid(
                        "consent_note",
                        format!("keep the consent note under {MAX_CONSENT_NOTE} characters"),
                    ));
                }
                Ok(ConsentProof::Verbal { note: note.to_string(), attested_by: actor.label() })
            }
        }
    }

    pub(crate) async fn sending_number(&self, from: Option<&str>) -> Result<PracticeNumber, ServiceError> {
        match from {
            Some(raw) => {
                let e164 = E164::parse(raw, self.settings().default_region)
                    .map_err(|e| ServiceError::invalid("from", e.to_string()))?;
                self.number(&e164).await?.ok_or_else(|| ServiceError::UnknownNumber(e164.masked()))
            }
            None => self.store.list_numbers().await?.into_iter().next().ok_or_else(|| {
                ServiceError::invalid("from", "this practice has no numbers yet; add one with `frontdesk number add`")
            }),
        }
    }

    /// The PHI guard (DESIGN.md §6) for texts people write. Returns what was confirmed, to be
    /// audited with the send; refuses per the practice's mode. Automation sends the practice's
    /// own wording and is not checked.
    pub(crate) fn phi_check(
        &self,
        body: &str,
        sender: SenderKind,
        confirmed: bool,
    ) -> Result<Option<String>, ServiceError> {
        if !matches!(sender, SenderKind::Staff | SenderKind::Api) {
            return Ok(None);
        }
        let findings = frontdesk_domain::phi::detect_phi(body);
        if findings.is_empty() {
            return Ok(None);
        }
        let sentence = frontdesk_domain::phi::describe(&findings);
        match self.settings().phi_guard {
            PhiGuardMode::Block => Err(ServiceError::PhiBlocked(format!(
                "{sentence} This practice does not send health information by text: send a secure form instead, or reword the message."
            ))),
            PhiGuardMode::Warn if !confirmed => Err(ServiceError::PhiWarning(format!(
                "{sentence} Texts are not a secure channel. Send anyway only if the patient agreed to receive this by text."
            ))),
            PhiGuardMode::Warn => {
                let mut kinds: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
                kinds.dedup();
                Ok(Some(kinds.join(",")))
            }
        }
    }

    pub(crate) fn announce(&self, message: &Message) {
        self.events.publish(Event {
            kind: EventKind::MessageQueued,
            conversation_id: Some(message.conversation_id),
            message_id: Some(message.id),
        });
        self.outbox_signal.notify_one();
    }
}

fn req_into_send(req: StartRequest, conversation_id: ConversationId) -> SendRequest {
    SendRequest {
        conversation_id,
        body: req.body,
        media_urls: req.media_urls,
        sender: req.sender,
        sender_user_id: req.sender_user_id,
        actor: req.actor,
        ip: req.ip,
        phi_confirmed: req.phi_confirmed,
    }
}

/// The shared tail of both send paths: consent, provider, message, job, conversation, audit.
/// Returns the use-case error as a value so nothing is written when it refuses.
pub(crate) async fn queue_in_conversation(
    tx: &mut dyn WriteTx,
    conversation: &mut Conversation,
    providers: &[ProviderKind],
    req: SendRequest,
    phi_confirmed: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<Result<Message, ServiceError>> {
    let Some(thread) = tx.thread_by_id(conversation.thread_id).await? else {
        return Ok(Err(ServiceError::NotFound("thread".into())));
    };
    let Some(contact) = tx.contact_by_id(thread.contact_id).await? else {
        return Ok(Err(ServiceError::NotFound("contact".into())));
    };
    if contact.opted_out {
        return Ok(Err(ServiceError::OptedOut));
    }
    let Some(number) = tx.number_by_id(thread.number_id).await? else {
        return Ok(Err(ServiceError::NotFound("practice number".into())));
    };
    if !providers.contains(&number.provider) {
        return Ok(Err(ServiceError::ProviderMissing(number.provider.to_string())));
    }

    let message =
        new_outbound(conversation, number.provider, &req.body, req.media_urls, req.sender, req.sender_user_id, now);
    tx.insert_message(&message).await?;
    tx.enqueue_job(&OutboxJob::new(message.id, number.id, now)).await?;

    conversation.last_message_at = now;
    if matches!(req.sender, SenderKind::Staff | SenderKind::Api) {
        // A person answered: the patient is no longer waiting and the thread is read.
        conversation.waiting_since = None;
        conversation.unread_count = 0;
    }
    if conversation.status == ConversationStatus::Closed {
        conversation.status = ConversationStatus::Open;
        conversation.closed_at = None;
    }
    tx.update_conversation(conversation).await?;
    tx.touch_thread(thread.id, now).await?;
    if let Some(kinds) = phi_confirmed {
        let mut entry = audit::entry(
            &req.actor,
            "message.phi_confirmed",
            Some(format!("message:{}", message.id)),
            req.ip.clone(),
            now,
        );
        entry.detail = Some(format!("kinds={kinds}"));
        tx.insert_audit(&entry).await?;
    }
    tx.insert_audit(&audit::entry(&req.actor, "message.send", Some(format!("message:{}", message.id)), req.ip, now))
        .await?;
    Ok(Ok(message))
}

/// A checked consent basis, ready to be recorded with the send.
#[derive(Debug, Clone)]
pub(crate) enum ConsentProof {
    /// The id of the grant on record.
    Existing(uuid::Uuid),
    /// The id of the patient's first text on record.
    PatientInitiated(MessageId),
    Verbal {
        note: String,
        attested_by: String,
    },
}

/// Records the basis in the send's transaction: a consent event for a new basis (source and
/// evidence), the attestation's note sealed on the conversation, and an audit entry naming it.
async fn record_consent_basis(
    tx: &mut dyn WriteTx,
    proof: &ConsentProof,
    contact_id: ContactId,
    conversation: &Conversation,
    actor: &Actor,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (basis, detail) = match proof {
        ConsentProof::Existing(id) => (ConsentBasis::Existing, format!("consent_event={id}")),
        ConsentProof::PatientInitiated(message_id) => {
            let event = ConsentEvent {
                id: new_id(),
                contact_id,
                purpose: ConsentPurpose::Sms,
                granted: true,
                source: ConsentSource::PatientInitiated,
                evidence: format!("patient texted first: message {message_id}; recorded by {}", actor.label()),
                created_at: now,
            };
            tx.insert_consent_event(&event).await?;
            (ConsentBasis::PatientInitiated, format!("consent_event={}", event.id))
        }
        ConsentProof::Verbal { note, attested_by } => {
            let sealed = Note {
                id: new_id(),
                conversation_id: conversation.id,
                thread_id: conversation.thread_id,
                author_id: match actor {
                    Actor::User(id) => Some(*id),
                    _ => None,
                },
                body: format!("Verbal consent to texts, attested: {note}"),
                created_at: now,
            };
            tx.insert_note(&sealed).await?;
            let event = ConsentEvent {
                id: new_id(),
                contact_id,
                purpose: ConsentPurpose::Sms,
                granted: true,
                source: ConsentSource::StaffAttestation,
                evidence: format!("verbal consent attested by {attested_by}; note {}", sealed.id),
                created_at: now,
            };
            tx.insert_consent_event(&event).await?;
            (ConsentBasis::Verbal, format!("consent_event={}", event.id))
        }
    };
    let mut entry = audit::entry(actor, "consent.basis", Some(format!("conversation:{}", conversation.id)), None, now);
    entry.detail = Some(format!("basis={}; {detail}", basis.as_str()));
    tx.insert_audit(&entry).await
}
