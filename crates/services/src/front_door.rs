//! The front door: the public chat-request form (`/start`), the SMS policy it links
//! (`/sms-policy`), and their settings.
//!
//! A request is one write transaction: the form token is spent, the per-client and
//! per-number limits are counted (in `throttle_hits`, shared by every instance), the contact
//! is found or created, consent is recorded with the exact policy version, the conversation is
//! opened (or reused) in the reason's department with source `web_form`, the patient's free
//! text becomes a sealed note for staff, and the first text is queued with its outbox job.
//! The patient's free text never reaches an SMS: the text is built by
//! [`frontdesk_domain::front_door::request_received_text`] from the checked first name, the
//! practice's name and the admin's reason label.
//!
//! Abuse protection (the form texts numbers strangers type):
//! - a signed, time-limited, single-use form token in a hidden field (HMAC-SHA256 under a
//!   random key kept in the `settings` table), so a post must follow a fresh `GET /start`;
//! - a honeypot field: when filled, the answer is the usual confirmation and nothing happens;
//! - limits per client address (per hour) and per destination number (per day);
//! - allowed countries (US and Canada by default);
//! - a second request for the same number within 10 minutes joins the first: same
//!   conversation, no second text;
//! - the answer is the same page for a known patient's number and an unknown one, reached by
//!   the same code path (the contact is upserted either way).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use frontdesk_domain::E164;
use frontdesk_domain::front_door::{
    ConversationSource, MAX_FREE_TEXT, MAX_REASON_LABEL, SmsPolicy, check_first_name, check_reason_key,
    request_received_text,
};
use frontdesk_domain::model::*;
use frontdesk_domain::office_hours::eta_phrase;
use frontdesk_domain::triage::TriageInput;
use frontdesk_store::{PolicyVersion, StoreError};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::audit::{self, Actor};
use crate::events::{Event, EventKind};
use crate::inbox::StaffContext;
use crate::outbound::{SendRequest, queue_in_conversation};
use crate::{ServiceError, Services};

/// The `settings` key of the front door's settings (JSON).
const SETTINGS_KEY: &str = "front_door";
/// The `settings` key of the form-token signing key (hex).
const TOKEN_KEY: &str = "front_door.token_key";
/// A form token is good for this long after the page was shown.
pub const TOKEN_TTL_MS: i64 = 2 * 60 * 60 * 1000;
/// Requests for the same number within this window join the first (no second text).
pub const MERGE_WINDOW_MS: i64 = 10 * 60 * 1000;
const HOUR_MS: i64 = 60 * 60 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// One choice of "what is it about": its key (kept with the conversation for reports), the
/// label patients see (and the first text names), and the department it routes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub department_id: Option<DepartmentId>,
}

/// What admins set for the front door.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrontDoorSettings {
    /// `/start` answers 404 when off.
    pub enabled: bool,
    pub reasons: Vec<Reason>,
    /// ISO country codes whose numbers the form accepts.
    pub allowed_countries: Vec<String>,
    /// Origins (`https://www.example.com`) allowed to show `/start?embed=1` in a frame.
    pub embed_origins: Vec<String>,
    /// Requests one client address may make per hour.
    pub per_ip_per_hour: u32,
    /// Requests for one number per day.
    pub per_number_per_day: u32,
}

impl Default for FrontDoorSettings {
    fn default() -> Self {
        FrontDoorSettings {
            enabled: true,
            reasons: vec![
                Reason { key: "appointments".into(), label: "Appointments".into(), department_id: None },
                Reason { key: "billing".into(), label: "Billing".into(), department_id: None },
                Reason { key: "records".into(), label: "Records and forms".into(), department_id: None },
                Reason { key: "other".into(), label: "Something else".into(), department_id: None },
            ],
            allowed_countries: vec!["US".into(), "CA".into()],
            embed_origins: Vec::new(),
            per_ip_per_hour: 10,
            per_number_per_day: 3,
        }
    }
}

impl FrontDoorSettings {
    /// Checks settings an admin wrote, naming the field that is wrong; returns them tidied.
    pub fn validated(mut self, departments: &[Department]) -> Result<FrontDoorSettings, ServiceError> {
        if self.reasons.is_empty() {
            return Err(ServiceError::invalid("reasons", "add at least one reason patients can choose"));
        }
        let mut keys = BTreeSet::new();
        for r in &mut self.reasons {
            r.key = r.key.trim().to_string();
            r.label = r.label.split_whitespace().collect::<Vec<_>>().join(" ");
            if !check_reason_key(&r.key) {
                return Err(ServiceError::invalid(
                    "reasons",
                    format!("{:?} is not a reason key: use lowercase letters, digits, - or _ (at most 32)", r.key),
                ));
            }
            if !keys.insert(r.key.clone()) {
                return Err(ServiceError::invalid("reasons", format!("the reason key {:?} is used twice", r.key)));
            }
            let n = r.label.chars().count();
            if n == 0 || n > MAX_REASON_LABEL {
                return Err(ServiceError::invalid(
                    "reasons",
                    format!("give the reason {:?} a label of 1 to {MAX_REASON_LABEL} characters", r.key),
                ));
            }
            if !r.label.chars().all(|c| c.is_alphanumeric() || " -'&,/()".contains(c)) {
                return Err(ServiceError::invalid(
                    "reasons",
                    format!("the label of {:?} may use letters, digits, spaces and - ' & , / ( ) only", r.key),
                ));
            }
            if let Some(d) = r.department_id
                && !departments.iter().any(|x| x.id == d)
            {
                return Err(ServiceError::invalid(
                    "reasons",
                    format!("the reason {:?} names an unknown department", r.key),
                ));
            }
        }
        let mut countries = Vec::new();
        for c in &self.allowed_countries {
            let code = c.trim().to_ascii_uppercase();
            if code.is_empty() {
                continue;
            }
            frontdesk_domain::Region::from_code(&code)
                .map_err(|_| ServiceError::invalid("allowed_countries", format!("{code:?} is not a country code")))?;
            if !countries.contains(&code) {
                countries.push(code);
            }
        }
        if countries.is_empty() {
            return Err(ServiceError::invalid("allowed_countries", "allow at least one country, like US"));
        }
        self.allowed_countries = countries;
        let mut origins = Vec::new();
        for o in &self.embed_origins {
            let o = o.trim().trim_end_matches('/');
            if o.is_empty() {
                continue;
            }
            if !valid_origin(o) {
                return Err(ServiceError::invalid(
                    "embed_origins",
                    format!("{o:?} is not an origin; write it like https://www.example.com (no path)"),
                ));
            }
            origins.push(o.to_string());
        }
        self.embed_origins = origins;
        if !(1..=1000).contains(&self.per_ip_per_hour) {
            return Err(ServiceError::invalid("per_ip_per_hour", "choose between 1 and 1000 requests per hour"));
        }
        if !(1..=50).contains(&self.per_number_per_day) {
            return Err(ServiceError::invalid("per_number_per_day", "choose between 1 and 50 requests per day"));
        }
        Ok(self)
    }

    pub fn reason(&self, key: &str) -> Option<&Reason> {
        self.reasons.iter().find(|r| r.key == key)
    }
}

/// `https://host[:port]` (or `http://` for local testing), nothing after the host: the
/// value goes into a CSP header, so it must be exactly one origin.
pub fn valid_origin(o: &str) -> bool {
    let Some(rest) = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://")) else { return false };
    !rest.is_empty()
        && rest.len() <= 253
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':')
        && !rest.starts_with('.')
        && !rest.starts_with(':')
}

/// A chat request as the form sent it (values as typed).
#[derive(Debug, Clone, Default)]
pub struct WebRequest {
    pub first_name: String,
    pub phone: String,
    pub reason: String,
    pub message: String,
    pub consent: bool,
    /// The honeypot: a field people never see or fill.
    pub website: String,
    pub form_token: String,
    /// The client's address (the per-client limit's key).
    pub client: String,
}

/// Why a request was not taken.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestError {
    /// The fields that are wrong, each with what to do; nothing was written.
    Invalid(Vec<(&'static str, String)>),
    /// Too many requests; try again after this many seconds.
    TooMany {
        retry_after_secs: i64,
    },
    /// The form page is too old (or was not from us): show a fresh one.
    Expired,
    Service(ServiceError),
}

impl From<ServiceError> for RequestError {
    fn from(e: ServiceError) -> Self {
        RequestError::Service(e)
    }
}

impl From<StoreError> for RequestError {
    fn from(e: StoreError) -> Self {
        RequestError::Service(e.into())
    }
}

/// What happened (the patient is shown the same confirmation for every outcome).
#[derive(Debug, Clone, PartialEq)]
pub enum RequestOutcome {
    /// A conversation was opened or joined and the first text queued.
    Texted { conversation_id: ConversationId },
    /// A request for this number within the last 10 minutes: joined, no second text.
    Merged { conversation_id: ConversationId },
    /// The number opted out of texts: staff see the request, no text is sent.
    NotTexted { conversation_id: ConversationId },
    /// The honeypot was filled, or the form token was already used: nothing happened.
    Ignored,
}

type HmacSha256 = Hmac<Sha256>;

impl Services {
    pub async fn front_door_settings(&self) -> Result<FrontDoorSettings, ServiceError> {
        Ok(match self.store.setting(SETTINGS_KEY).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "stored front-door settings could not be read; using the defaults");
                FrontDoorSettings::default()
            }),
            None => FrontDoorSettings::default(),
        })
    }

    /// An admin changes the front door's settings (dashboard).
    pub async fn update_front_door_settings(
        &self,
        ctx: &StaffContext,
        settings: FrontDoorSettings,
        ip: Option<String>,
    ) -> Result<FrontDoorSettings, ServiceError> {
        ctx.require_admin()?;
        self.save_front_door_settings(settings, Actor::User(ctx.user.id), ip).await
    }

    /// Checks and saves the front door's settings for an authorised caller (an admin, or an
    /// API token: tokens are the practice's own keys), audited as `actor`.
    pub async fn save_front_door_settings(
        &self,
        settings: FrontDoorSettings,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<FrontDoorSettings, ServiceError> {
        let departments = self.store.list_departments().await?;
        let settings = settings.validated(&departments)?;
        let json = serde_json::to_string(&settings).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = crate::now();
        let entry = audit::entry(&actor, "settings.front_door", None, ip, now);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.put_setting(SETTINGS_KEY, &json, now).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(settings)
    }

    /// The SMS policy in force: the newest saved version, or version 1 (the default wording
    /// for this practice), saved on first use so consent can point at it.
    pub async fn current_sms_policy(&self) -> Result<PolicyVersion, ServiceError> {
        if let Some(v) = self.store.latest_sms_policy().await? {
            return Ok(v);
        }
        let first = PolicyVersion {
            version: 1,
            policy: SmsPolicy::default_for(&self.settings().name),
            created_at: crate::now(),
            created_by: None,
        };
        let stored = first.clone();
        match frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move { tx.insert_sms_policy(&stored).await })
        })
        .await
        {
            Ok(()) => Ok(first),
            // Another request saved version 1 first: use it.
            Err(StoreError::Conflict(_)) => self
                .store
                .latest_sms_policy()
                .await?
                .ok_or_else(|| ServiceError::Internal("the SMS policy vanished".into())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn sms_policy_version(&self, version: i64) -> Result<Option<PolicyVersion>, ServiceError> {
        Ok(self.store.sms_policy_version(version).await?)
    }

    /// Saves a new version of the SMS policy when its text changed (the practice's current
    /// name included); an unchanged text keeps its version. Returns the version in force.
    pub async fn update_sms_policy(
        &self,
        ctx: &StaffContext,
        purpose: &str,
        frequency: &str,
        privacy: &str,
        ip: Option<String>,
    ) -> Result<PolicyVersion, ServiceError> {
        ctx.require_admin()?;
        self.save_sms_policy(purpose, frequency, privacy, Actor::User(ctx.user.id), ip).await
    }

    /// Saves the policy's text for an authorised caller (see `save_front_door_settings`).
    pub async fn save_sms_policy(
        &self,
        purpose: &str,
        frequency: &str,
        privacy: &str,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<PolicyVersion, ServiceError> {
        let policy = SmsPolicy {
            practice: self.settings().name.clone(),
            purpose: purpose.trim().to_string(),
            frequency: frequency.trim().to_string(),
            privacy: privacy.trim().to_string(),
        };
        policy.validate().map_err(|(field, message)| ServiceError::invalid(field, message))?;
        let current = self.current_sms_policy().await?;
        if current.policy == policy {
            return Ok(current);
        }
        let now = crate::now();
        let created_by = match actor {
            Actor::User(id) => Some(id),
            _ => None,
        };
        let next = PolicyVersion { version: current.version + 1, policy, created_at: now, created_by };
        let stored = next.clone();
        let mut entry =
            audit::entry(&actor, "settings.sms_policy", Some(format!("sms_policy:{}", next.version)), ip, now);
        entry.detail = Some(format!("version={}", next.version));
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_sms_policy(&stored).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::Conflict(
                "someone else changed the SMS policy at the same time; reload and try again".into(),
            ),
            other => other.into(),
        })?;
        Ok(next)
    }

    async fn form_token_key(&self) -> Result<Vec<u8>, ServiceError> {
        if let Some(hexed) = self.store.setting(TOKEN_KEY).await?
            && let Ok(key) = hex::decode(hexed.trim_matches('"'))
            && key.len() == 32
        {
            return Ok(key);
        }
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let json = serde_json::to_string(&hex::encode(&key)).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = crate::now();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move { tx.put_setting(TOKEN_KEY, &json, now).await })
        })
        .await?;
        Ok(key)
    }

    /// A fresh form token for the page: `issued_ms.nonce.mac`.
    pub async fn issue_form_token(&self) -> Result<String, ServiceError> {
        let key = self.form_token_key().await?;
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let issued = crate::now().timestamp_millis();
        let nonce = hex::encode(nonce);
        Ok(format!("{issued}.{nonce}.{}", token_mac(&key, issued, &nonce)))
    }

    /// The token's nonce when it is ours and not expired.
    async fn check_form_token(&self, token: &str, now: DateTime<Utc>) -> Result<Option<String>, ServiceError> {
        let mut parts = token.trim().split('.');
        let (Some(issued), Some(nonce), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let Ok(issued) = issued.parse::<i64>() else { return Ok(None) };
        if nonce.len() != 32 || !nonce.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let key = self.form_token_key().await?;
        let expected = token_mac(&key, issued, nonce);
        use subtle::ConstantTimeEq as _;
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return Ok(None);
        }
        let age = now.timestamp_millis() - issued;
        if !(-60_000..=TOKEN_TTL_MS).contains(&age) {
            return Ok(None);
        }
        Ok(Some(nonce.to_string()))
    }

    /// Takes a chat request from the public form. See the module documentation.
    pub async fn submit_web_request(&self, req: WebRequest) -> Result<RequestOutcome, RequestError> {
        let settings = self.front_door_settings().await?;
        if !settings.enabled {
            return Err(ServiceError::NotFound("the chat-request form".into()).into());
        }
        let now = crate::now();
        let Some(nonce) = self.check_form_token(&req.form_token, now).await? else {
            return Err(RequestError::Expired);
        };
        // Bots fill every field; people never see this one. Same page, nothing done.
        if !req.website.trim().is_empty() {
            tracing::info!("front door: honeypot filled; request ignored");
            return Ok(RequestOutcome::Ignored);
        }

        let mut errors: Vec<(&'static str, String)> = Vec::new();
        let first_name = match check_first_name(&req.first_name) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(("first_name", e.to_string()));
                None
            }
        };
        let phone = match E164::parse(&req.phone, self.settings().default_region) {
            Ok(p) => {
                let region = p.region_code().unwrap_or_default();
                if settings.allowed_countries.contains(&region) {
                    Some(p)
                } else {
                    errors.push((
                        "phone",
                        format!(
                            "we can only text mobile numbers in {}; enter one of those",
                            country_names(&settings.allowed_countries)
                        ),
                    ));
                    None
                }
            }
            Err(_) => {
                errors.push(("phone", "enter your mobile number, like (212) 555-0100".into()));
                None
            }
        };
        let reason = settings.reason(req.reason.trim()).cloned();
        if reason.is_none() {
            errors.push(("reason", "choose what your request is about".into()));
        }
        let message = req.message.trim().to_string();
        if message.chars().count() > MAX_FREE_TEXT {
            errors.push(("message", format!("keep your message under {MAX_FREE_TEXT} characters")));
        }
        if !req.consent {
            errors.push(("consent", "tick the box to agree to receive texts, so we can text you back".into()));
        }
        let (Some(first_name), Some(phone), Some(reason), true) = (first_name, phone, reason, errors.is_empty()) else {
            return Err(RequestError::Invalid(errors));
        };

        let policy = self.current_sms_policy().await?;
        let numbers = self.store.list_numbers().await?;
        let number = numbers
            .iter()
            .find(|n| reason.department_id.is_some() && n.default_department_id == reason.department_id)
            .or_else(|| numbers.first())
            .cloned()
            .ok_or_else(|| ServiceError::Internal("the practice has no numbers to text from".into()))?;
        let providers = self.providers.kinds();
        let practice = self.settings();
        let client = req.client.clone();
        let per_ip = i64::from(settings.per_ip_per_hour);
        let per_number = i64::from(settings.per_number_per_day);

        let outcome = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                // A token is spent once; a replay (double submit) answers the same page.
                if tx.hit_counter(&format!("front-door:token:{nonce}"), ms(now), TOKEN_TTL_MS + 60_000).await? > 1 {
                    return Ok(Ok((RequestOutcome::Ignored, None, None)));
                }
                if tx.hit_counter(&format!("front-door:ip:{client}"), ms(now), HOUR_MS).await? > per_ip {
                    return Ok(Err(RequestError::TooMany { retry_after_secs: HOUR_MS / 1000 }));
                }
                if tx.hit_counter(&format!("front-door:to:{}", phone.as_str()), ms(now), DAY_MS).await? > per_number {
                    return Ok(Err(RequestError::TooMany { retry_after_secs: DAY_MS / 1000 }));
                }
                let merged =
                    tx.hit_counter(&format!("front-door:merge:{}", phone.as_str()), ms(now), MERGE_WINDOW_MS).await? > 1;

                let contact = tx.upsert_contact(&phone, now).await?;
                let thread = tx.upsert_thread_for_update(number.id, contact.id, now).await?;
                let (mut conversation, opened) = match tx.current_conversation(thread.id).await? {
                    Some(c) => (c, false),
                    None => {
                        let department = reason.department_id.or(number.default_department_id);
                        let fresh = Conversation::open(thread.id, department, now);
                        tx.insert_conversation(&fresh).await?;
                        tx.set_conversation_origin(fresh.id, ConversationSource::WebForm, Some(&reason.key)).await?;
                        (fresh, true)
                    }
                };
                if opened {
                    // The routing rules see the reason and the patient's words, like a text's.
                    let status = crate::triage::patient_status(tx, &contact, &conversation).await?;
                    let input = TriageInput {
                        text: &message,
                        number: number.e164.as_str(),
                        reason: Some(&reason.key),
                        patient_status: status,
                    };
                    crate::triage::route_and_assign(tx, &mut conversation, &input, now).await?;
                }
                // The patient is waiting for a person from now on.
                if conversation.waiting_since.is_none() {
                    conversation.waiting_since = Some(now);
                }
                conversation.unread_count += 1;
                conversation.last_message_at = now;

                let mut note_body = format!("Website request from {first_name} about {}.", reason.label);
                if !message.is_empty() {
                    note_body.push_str("\n\n");
                    note_body.push_str(&message);
                }
                if contact.opted_out {
                    note_body.push_str(
                        "\n\nThis number has opted out of texts, so no text was sent: call the patient, or wait for them to text START.",
                    );
                } else if merged {
                    note_body.push_str("\n\n(A repeat request within 10 minutes: no second text was sent.)");
                }
                let note = Note {
                    id: new_id(),
                    conversation_id: conversation.id,
                    thread_id: thread.id,
                    author_id: None,
                    body: note_body,
                    created_at: now,
                };
                tx.insert_note(&note).await?;

                let mut queued = None;
                let outcome = if contact.opted_out {
                    tx.update_conversation(&conversation).await?;
                    RequestOutcome::NotTexted { conversation_id: conversation.id }
                } else {
                    tx.insert_consent_event(&ConsentEvent {
                        id: new_id(),
                        contact_id: contact.id,
                        purpose: ConsentPurpose::Sms,
                        granted: true,
                        source: ConsentSource::WebForm,
                        evidence: format!("sms_policy v{}; /start form; reason {}", policy.version, reason.key),
                        created_at: now,
                    })
                    .await?;
                    if merged {
                        tx.update_conversation(&conversation).await?;
                        RequestOutcome::Merged { conversation_id: conversation.id }
                    } else {
                        // A promised time only where an admin set the hours of the department
                        // the conversation was routed to; otherwise "soon".
                        let hours = crate::after_hours::hours_in_tx(tx, &practice, conversation.department_id).await?;
                        let eta = hours
                            .configured
                            .then(|| eta_phrase(&hours.hours, now, hours.settings.response_target_minutes));
                        let text = request_received_text(&first_name, &practice.name, &reason.label, eta.as_deref());
                        let send = SendRequest {
                            conversation_id: conversation.id,
                            body: text,
                            media_urls: Vec::new(),
                            sender: SenderKind::Automation,
                            sender_user_id: None,
                            actor: Actor::System,
                            ip: None,
                            phi_confirmed: false,
                        };
                        match queue_in_conversation(tx, &mut conversation, &providers, send, None, now).await? {
                            Ok(message) => {
                                queued = Some(message.id);
                                RequestOutcome::Texted { conversation_id: conversation.id }
                            }
                            Err(e) => return Ok(Err(RequestError::Service(e))),
                        }
                    }
                };
                let mut entry = audit::entry(
                    &Actor::System,
                    "front_door.request",
                    Some(format!("conversation:{}", conversation.id)),
                    Some(client),
                    now,
                );
                entry.detail = Some(format!(
                    "reason={}; policy=v{}; opened={opened}; outcome={}",
                    reason.key,
                    policy.version,
                    match &outcome {
                        RequestOutcome::Texted { .. } => "texted",
                        RequestOutcome::Merged { .. } => "merged",
                        RequestOutcome::NotTexted { .. } => "opted_out",
                        RequestOutcome::Ignored => "ignored",
                    }
                ));
                tx.insert_audit(&entry).await?;
                Ok(Ok((outcome, Some(conversation.id), queued)))
            })
        })
        .await??;

        let (outcome, conversation_id, queued) = outcome;
        if let Some(id) = conversation_id {
            self.events.publish(Event { kind: EventKind::NoteAdded, conversation_id: Some(id), message_id: None });
            if let Some(message_id) = queued {
                self.events.publish(Event {
                    kind: EventKind::MessageQueued,
                    conversation_id: Some(id),
                    message_id: Some(message_id),
                });
                self.outbox_signal.notify_one();
            }
        }
        Ok(outcome)
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn token_mac(key: &[u8], issued: i64, nonce: &str) -> String {
    // HMAC accepts keys of any length; a 32-byte key never fails.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("frontdesk start form|{issued}|{nonce}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// "the US and Canada" style list of the allowed countries.
pub fn country_names(codes: &[String]) -> String {
    let names: Vec<String> = codes
        .iter()
        .map(|c| match c.as_str() {
            "US" => "the US".to_string(),
            "CA" => "Canada".to_string(),
            "GB" => "the UK".to_string(),
            other => other.to_string(),
        })
        .collect();
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_single_origins() {
        assert!(valid_origin("https://www.example.com"));
        assert!(valid_origin("http://localhost:8080"));
        assert!(!valid_origin("https://example.com/path"));
        assert!(!valid_origin("example.com"));
        assert!(!valid_origin("https://a.com; script-src *"));
        assert!(!valid_origin("https://"));
    }

    #[test]
    fn country_lists_read_naturally() {
        assert_eq!(country_names(&["US".into(), "CA".into()]), "the US and Canada");
        assert_eq!(country_names(&["US".into()]), "the US");
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let ok = FrontDoorSettings::default().validated(&[]).unwrap();
        assert_eq!(ok.allowed_countries, vec!["US", "CA"]);
        let bad = FrontDoorSettings { embed_origins: vec!["https://a.com/x".into()], ..Default::default() };
        assert!(matches!(bad.validated(&[]), Err(ServiceError::Invalid { field, .. }) if field == "embed_origins"));
        let bad = FrontDoorSettings { allowed_countries: vec!["ZZZ".into()], ..Default::default() };
        assert!(matches!(bad.validated(&[]), Err(ServiceError::Invalid { field, .. }) if field == "allowed_countries"));
        let mut bad = FrontDoorSettings::default();
        bad.reasons[1].key = "appointments".into();
        assert!(matches!(bad.validated(&[]), Err(ServiceError::Invalid { field, .. }) if field == "reasons"));
    }
}
