//! `GET /c/{id}`: one conversation with its thread's whole history, the side panel, the
//! controls and the composer; the actions that change it; retry; templates.
//!
//! Every action is a plain form POST that redirects back (so it all works without script);
//! `dashboard.js` posts the same forms with `Accept: application/json` for keyboard actions.
//! A reply the PHI guard warns about re-renders the page with the warning and a "Send anyway"
//! button that posts the same words with `confirm_phi=1`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, TimeZone, Utc};
use frontdesk_domain::model::{Role, SenderKind};
use frontdesk_domain::template;
use frontdesk_domain::{Direction, MessageStatus};
use frontdesk_services::ServiceError;
use frontdesk_services::audit::Actor;
use frontdesk_services::conversations::{ConversationChange, ConversationPage};
use frontdesk_services::outbound::SendRequest;
use serde::Deserialize;
use uuid::Uuid;

use super::{Names, json_error, local_time, see_other, wants_json};
use crate::web::AppState;
use crate::web::home::render;
use crate::web::pages::{Chrome, error_page};
use crate::web::session::Staff;

/// One entry of the thread as shown: a text, an internal note, or where an episode begins.
pub struct Item {
    /// `separator`, `inbound`, `outbound` or `note`.
    pub kind: &'static str,
    pub id: String,
    pub body: String,
    pub when: String,
    pub author: String,
    pub status: String,
    pub error: String,
    pub can_retry: bool,
    pub media: Vec<String>,
}

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct PatientPanel {
    /// Links the panel to the patient's page (`/patients/{id}`).
    pub id: String,
    pub name: String,
    pub birth_date: String,
    pub mrn: String,
}

pub struct OtherLink {
    pub id: String,
    pub label: String,
}

/// What the composer shows after a refused send (or nothing).
#[derive(Default)]
pub struct ComposerState {
    pub draft: String,
    pub error: String,
    pub phi_warning: String,
    pub note_draft: String,
    pub note_error: String,
    /// The secure form chosen for `{form.link}`, kept when the page comes back with an error.
    pub form: String,
    /// "Send later": the local date-time typed (kept when the page comes back with an error).
    pub send_at: String,
}

/// A scheduled ("send later") message as the conversation page lists it.
pub struct ScheduledRow {
    pub id: String,
    pub status: String,
    pub status_label: &'static str,
    pub when: String,
    pub reason: String,
    pub body: String,
    pub pending: bool,
}

/// How much of a long thread the page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// The newest [`RECENT_ENTRIES`] texts and notes, with a link to the rest.
    Recent,
    All,
}

/// Texts and notes shown before "Show earlier": a long thread (hundreds of texts over years)
/// would otherwise make every visit and every live refresh render all of it.
pub const RECENT_ENTRIES: usize = 150;

pub struct ConversationView {
    /// Scheduled ("send later") messages, soonest first.
    pub scheduled: Vec<ScheduledRow>,
    pub send_at_min: String,
    pub practice_time_zone: String,
    /// Earlier texts and notes not shown (History::Recent); 0 when everything is shown.
    pub hidden_earlier: usize,
    pub id: String,
    pub who: String,
    pub phone: String,
    pub number: String,
    pub status: String,
    pub urgent: bool,
    pub can_act: bool,
    pub is_mine: bool,
    pub snoozed_until: String,
    pub items: Vec<Item>,
    pub episode_ids: String,
    pub assignees: Vec<Opt>,
    pub departments: Vec<Opt>,
    pub patients: Vec<Opt>,
    pub patient: Option<PatientPanel>,
    pub opted_out: bool,
    /// A text that may revoke consent waits for a person's decision.
    pub consent_review: bool,
    pub consent: String,
    pub others: Vec<OtherLink>,
    pub templates: Vec<Opt>,
    pub night: String,
    pub composer: ComposerState,
    pub assignee_name: String,
    pub department_name: String,
    pub snooze_min: String,
    pub csrf: String,
    /// Secure forms sent in this thread, and the forms staff can send (`web::patient_forms`).
    pub forms: Vec<crate::web::patient_forms::FormRow>,
    pub form_choices: Vec<Opt>,
    /// Priority and tags set by triage (`services::triage`).
    pub routing: frontdesk_services::triage::RoutingBadges,
    /// Saving to the chart: exports of this conversation and whether sync is configured
    /// (`web::dashboard::chart`).
    pub chart: super::chart::ChartPanel,
}

#[derive(Template)]
#[template(path = "conversation.html")]
struct ConversationHtml {
    chrome: Chrome,
    c: ConversationView,
}

#[derive(Template)]
#[template(path = "conversation_thread.html")]
struct ThreadHtml {
    c: ConversationView,
}

fn status_word(s: MessageStatus) -> &'static str {
    match s {
        MessageStatus::Queued => "queued",
        MessageStatus::Sending => "sending",
        MessageStatus::Sent => "sent",
        MessageStatus::Delivered => "delivered",
        MessageStatus::Undelivered => "undelivered",
        MessageStatus::Failed => "failed",
        MessageStatus::Received => "received",
    }
}

async fn build(
    state: &AppState,
    staff: &Staff,
    page: ConversationPage,
    composer: ComposerState,
    history: History,
) -> Result<ConversationView, ServiceError> {
    let names = Names::load(state).await?;
    let templates = state.services.list_templates().await?;
    let s = &page.summary;
    let c = &s.conversation;
    let can_act = staff.ctx.can_act_on(c);

    // The thread: texts and notes by time, a separator wherever a new episode begins.
    enum Entry<'a> {
        Message(&'a frontdesk_domain::model::Message),
        Note(&'a frontdesk_domain::model::Note),
    }
    let mut entries: Vec<(chrono::DateTime<Utc>, Entry)> = page
        .messages
        .iter()
        .map(|m| (m.created_at, Entry::Message(m)))
        .chain(page.notes.iter().map(|n| (n.created_at, Entry::Note(n))))
        .collect();
    entries.sort_by_key(|(at, _)| *at);
    let hidden_earlier = if history == History::Recent { entries.len().saturating_sub(RECENT_ENTRIES) } else { 0 };
    let entries = entries.into_iter().skip(hidden_earlier);
    let mut items = Vec::with_capacity(entries.len() + 2);
    let mut episode: Option<Uuid> = None;
    let mut episodes: Vec<Uuid> = vec![c.id];
    for (at, entry) in entries {
        let conversation_id = match &entry {
            Entry::Message(m) => m.conversation_id,
            Entry::Note(n) => n.conversation_id,
        };
        if episode != Some(conversation_id) {
            if !episodes.contains(&conversation_id) {
                episodes.push(conversation_id);
            }
            items.push(Item {
                kind: "separator",
                id: conversation_id.to_string(),
                body: if conversation_id == c.id { "This conversation".into() } else { "Earlier conversation".into() },
                when: local_time(state, at),
                author: String::new(),
                status: String::new(),
                error: String::new(),
                can_retry: false,
                media: Vec::new(),
            });
            episode = Some(conversation_id);
        }
        items.push(match entry {
            Entry::Message(m) => {
                let author = match m.sender {
                    SenderKind::Patient => String::new(),
                    SenderKind::Staff => {
                        let n = names.user(m.sender_user_id);
                        if n.is_empty() { "Staff".into() } else { n }
                    }
                    SenderKind::Automation => "Automatic reply".into(),
                    SenderKind::Api => "API".into(),
                };
                let failed = matches!(m.status, MessageStatus::Failed | MessageStatus::Undelivered);
                Item {
                    kind: if m.direction == Direction::Inbound { "inbound" } else { "outbound" },
                    id: m.id.to_string(),
                    body: m.body.clone(),
                    when: local_time(state, m.created_at),
                    author,
                    status: status_word(m.status).to_string(),
                    error: if failed {
                        m.error_message.clone().unwrap_or_else(|| "The carrier did not deliver this text.".into())
                    } else {
                        String::new()
                    },
                    can_retry: failed && m.direction == Direction::Outbound && can_act && !s.contact.opted_out,
                    media: m
                        .media
                        .iter()
                        .filter(|x| x.url.starts_with("https://") || x.url.starts_with("http://"))
                        .map(|x| x.url.clone())
                        .collect(),
                }
            }
            Entry::Note(n) => Item {
                kind: "note",
                id: n.id.to_string(),
                body: n.body.clone(),
                when: local_time(state, n.created_at),
                author: names.user(n.author_id),
                status: String::new(),
                error: String::new(),
                can_retry: false,
                media: Vec::new(),
            },
        });
    }

    let mut assignees = vec![Opt { value: String::new(), label: "Nobody".into(), selected: c.assignee_id.is_none() }];
    let mut users: Vec<_> = names.users.values().filter(|u| !u.disabled && u.role != Role::Auditor).collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    assignees.extend(users.into_iter().map(|u| Opt {
        value: u.id.to_string(),
        label: u.name.clone(),
        selected: c.assignee_id == Some(u.id),
    }));
    let mut departments =
        vec![Opt { value: String::new(), label: "No department".into(), selected: c.department_id.is_none() }];
    departments.extend(
        names
            .departments
            .iter()
            .filter(|d| {
                staff.ctx.departments.as_ref().is_none_or(|a| a.contains(&d.id)) || c.department_id == Some(d.id)
            })
            .map(|d| Opt { value: d.id.to_string(), label: d.name.clone(), selected: c.department_id == Some(d.id) }),
    );
    let mut patients = vec![Opt { value: String::new(), label: "Not linked".into(), selected: c.patient_id.is_none() }];
    let mut sharing = page.patients.clone();
    if let Some(p) = &s.patient
        && !sharing.iter().any(|x| x.id == p.id)
    {
        sharing.push(p.clone());
    }
    patients.extend(sharing.iter().map(|p| Opt {
        value: p.id.to_string(),
        label: format!(
            "{} {}{}",
            p.first_name,
            p.last_name,
            p.birth_date.map(|d| format!(" (born {})", d.format("%Y-%m-%d"))).unwrap_or_default()
        ),
        selected: c.patient_id == Some(p.id),
    }));
    let patient = s.patient.as_ref().map(|p| PatientPanel {
        id: p.id.to_string(),
        name: format!("{} {}", p.first_name, p.last_name),
        birth_date: p.birth_date.map(|d| d.format("%b %-d, %Y").to_string()).unwrap_or_default(),
        mrn: p.mrn.clone().unwrap_or_default(),
    });
    let consent = match page.consent.last() {
        Some(e) => format!(
            "{} {} ({}, {})",
            e.purpose,
            if e.granted { "granted" } else { "revoked" },
            e.source.as_str().replace('_', " "),
            local_time(state, e.created_at)
        ),
        None => String::new(),
    };
    let others = page
        .others
        .iter()
        .map(|o| OtherLink {
            id: o.conversation.id.to_string(),
            label: format!(
                "{} · {} · {}",
                local_time(state, o.conversation.last_message_at),
                o.conversation.status,
                o.number.e164.display()
            ),
        })
        .collect();
    let settings = state.services.settings();
    let now = frontdesk_services::now();
    let night = if frontdesk_domain::is_quiet_time(settings.time_zone, now) {
        format!(
            "It is night for the patient: {} in {} (the practice's time zone). Your reply is sent now; keep it brief or wait until morning if it can wait.",
            frontdesk_domain::local_time_label(settings.time_zone, now),
            settings.time_zone.name()
        )
    } else {
        String::new()
    };
    let forms = crate::web::patient_forms::conversation_forms(state, staff, c.id).await?;
    let chart = super::chart::panel(state, c.id).await?;
    let form_choices = crate::web::patient_forms::form_choices(state)
        .await?
        .into_iter()
        .map(|(value, label)| Opt { value, label, selected: false })
        .collect();
    let snooze_min =
        (now + chrono::TimeDelta::minutes(1)).with_timezone(&settings.time_zone).format("%Y-%m-%dT%H:%M").to_string();
    let scheduled = state
        .services
        .scheduled_messages(c.id)
        .await?
        .into_iter()
        .map(|m| ScheduledRow {
            id: m.id.to_string(),
            pending: m.status == frontdesk_store::outreach::SCHEDULED_PENDING,
            status_label: frontdesk_services::outreach::status_label(&m.status),
            status: m.status,
            when: m.send_at.with_timezone(&settings.time_zone).format("%a %b %-d, %Y %-I:%M %p").to_string(),
            reason: m.reason.unwrap_or_default(),
            body: m.body,
        })
        .collect();
    let send_at_min = snooze_min.clone();
    Ok(ConversationView {
        scheduled,
        send_at_min,
        practice_time_zone: settings.time_zone.name().to_string(),
        hidden_earlier,
        id: c.id.to_string(),
        who: match &s.patient {
            Some(p) => format!("{} {}", p.first_name, p.last_name),
            None => s.contact.phone.display(),
        },
        phone: s.contact.phone.display(),
        number: s.number.e164.display(),
        status: c.status.as_str().to_string(),
        urgent: c.urgent,
        can_act,
        is_mine: c.assignee_id == Some(staff.ctx.user.id),
        snoozed_until: c.snoozed_until.map(|u| local_time(state, u)).unwrap_or_default(),
        items,
        episode_ids: episodes.iter().map(Uuid::to_string).collect::<Vec<_>>().join(" "),
        assignee_name: names.user(c.assignee_id),
        department_name: names.department(c.department_id),
        assignees,
        departments,
        patients,
        patient,
        opted_out: s.contact.opted_out,
        consent_review: state.services.consent_review_open(c.id).await?,
        consent,
        others,
        templates: templates
            .into_iter()
            .map(|t| Opt { value: t.id.to_string(), label: t.name, selected: false })
            .collect(),
        night,
        composer,
        snooze_min,
        csrf: staff.csrf().to_string(),
        forms,
        chart,
        form_choices,
        routing: state.services.routing_badges(c.id).await?,
    })
}

async fn render_page(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    composer: ComposerState,
    status: StatusCode,
    history: History,
) -> Response {
    let page = match state.services.conversation_page(&staff.ctx, id, staff.ip.clone()).await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    match build(state, staff, page, composer, history).await {
        Ok(c) => render(&ConversationHtml { chrome: Chrome::new(state, staff, "inbox"), c }, status),
        Err(e) => error_page(&e),
    }
}

fn parse_id(raw: &str) -> Result<Uuid, Box<Response>> {
    raw.parse::<Uuid>().map_err(|_| Box::new(error_page(&ServiceError::NotFound("conversation".into()))))
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    template: Option<String>,
    /// `1`: the whole history, however long.
    #[serde(default)]
    all: Option<String>,
}

impl PageQuery {
    fn history(&self) -> History {
        if self.all.as_deref() == Some("1") { History::All } else { History::Recent }
    }
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let mut composer = ComposerState::default();
    // Without script, the template picker is a GET form: the page comes back with it filled in.
    if let Some(t) = q.template.as_deref().filter(|t| !t.is_empty()) {
        match t.parse::<Uuid>() {
            Ok(tid) => match state.services.render_template(&staff.ctx, id, tid).await {
                Ok(text) => composer.draft = text,
                Err(e) => composer.error = e.to_string(),
            },
            Err(_) => composer.error = "template: no such template".into(),
        }
    }
    render_page(&state, &staff, id, composer, StatusCode::OK, q.history()).await
}

/// The thread alone, for the page to refetch when a live event concerns it.
pub async fn thread(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let page = match state.services.refresh_conversation_page(&staff.ctx, id).await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    match build(&state, &staff, page, ComposerState::default(), q.history()).await {
        Ok(c) => render(&ThreadHtml { c }, StatusCode::OK),
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    confirm_phi: Option<String>,
    /// A secure form whose link replaces `{form.link}` in the body (or ends it).
    #[serde(default)]
    form: Option<String>,
    /// "Send later": a local date-time in the practice's time zone (`datetime-local`).
    #[serde(default)]
    send_at: String,
    /// `1`: the "Schedule" button was pressed (send at `send_at` instead of now).
    #[serde(default)]
    schedule: Option<String>,
    /// `1`: the page came back with a PHI warning for a scheduled message; confirming keeps
    /// it scheduled instead of sending it now.
    #[serde(default)]
    keep_schedule: Option<String>,
}

/// Reads a `datetime-local` value in the practice's time zone, naming the field when wrong.
fn parse_local_send_at(raw: &str, tz: chrono_tz::Tz) -> Result<chrono::DateTime<chrono::Utc>, ServiceError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ServiceError::invalid("send_at", "choose the date and time to send at"));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ServiceError::invalid("send_at", "give a date and time like 2026-05-01T09:30"))?;
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&chrono::Utc)).ok_or_else(|| {
        ServiceError::invalid(
            "send_at",
            "that time does not exist on the practice's clock (daylight saving); pick another",
        )
    })
}

fn checked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| matches!(v, "1" | "on" | "true" | "yes"))
}

pub async fn reply(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    if let Err(e) = staff.ctx.require_can_act() {
        return error_page(&e);
    }
    // The send path does not know the person's reach: check it before anything is queued.
    match state.services.store.conversation_summary(id).await {
        Ok(Some(s)) if staff.ctx.can_act_on(&s.conversation) => {}
        Ok(_) => return error_page(&ServiceError::NotFound("conversation".into())),
        Err(e) => return error_page(&e.into()),
    }
    let phi_confirmed = checked(&form.confirm_phi);
    let chosen_form = form.form.as_deref().map(str::trim).filter(|f| !f.is_empty());
    let later = checked(&form.schedule) || checked(&form.keep_schedule);
    let result = match chosen_form {
        _ if later => {
            let tz = state.services.settings().time_zone;
            match parse_local_send_at(&form.send_at, tz) {
                Err(e) => Err(e),
                Ok(_) if chosen_form.is_some() || form.body.contains(template::FORM_LINK) => {
                    Err(ServiceError::invalid(
                        "form",
                        "secure form links cannot be scheduled; send the form now or take {form.link} out",
                    ))
                }
                Ok(send_at) => state
                    .services
                    .schedule_message(frontdesk_services::outreach::ScheduleRequest {
                        conversation_id: id,
                        body: form.body.clone(),
                        send_at,
                        sender: SenderKind::Staff,
                        sender_user_id: Some(staff.ctx.user.id),
                        actor: Actor::User(staff.ctx.user.id),
                        ip: staff.ip.clone(),
                        phi_confirmed,
                        automated: false,
                    })
                    .await
                    .map(|_| ()),
            }
        }
        Some(key) => state
            .services
            .send_form_in_text(&staff.ctx, id, key, Some(&form.body), phi_confirmed, staff.ip.clone())
            .await
            .map(|_| ()),
        None if form.body.contains(template::FORM_LINK) => Err(ServiceError::invalid(
            "form",
            "choose the secure form that {form.link} should open, or take {form.link} out of the text",
        )),
        None => state
            .services
            .send_message(SendRequest {
                conversation_id: id,
                body: form.body.clone(),
                media_urls: Vec::new(),
                sender: SenderKind::Staff,
                sender_user_id: Some(staff.ctx.user.id),
                actor: Actor::User(staff.ctx.user.id),
                ip: staff.ip.clone(),
                phi_confirmed,
            })
            .await
            .map(|_| ()),
    };
    match result {
        Ok(_) => see_other(&format!("/c/{id}")),
        Err(e) => {
            let mut composer = ComposerState {
                draft: form.body,
                form: chosen_form.map(str::to_string).unwrap_or_default(),
                send_at: if later { form.send_at.clone() } else { String::new() },
                ..Default::default()
            };
            let status = match &e {
                ServiceError::PhiWarning(w) => {
                    composer.phi_warning = w.clone();
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                ServiceError::NotFound(_) | ServiceError::Forbidden(_) | ServiceError::Internal(_) => {
                    return error_page(&e);
                }
                other => {
                    composer.error = other.to_string();
                    if matches!(other, ServiceError::OptedOut) {
                        StatusCode::CONFLICT
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    }
                }
            };
            render_page(&state, &staff, id, composer, status, History::Recent).await
        }
    }
}

/// Cancels a pending scheduled message of the conversation (audited by the service).
pub async fn cancel_scheduled(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, scheduled)): Path<(String, String)>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let Ok(scheduled) = scheduled.parse::<Uuid>() else {
        return error_page(&ServiceError::NotFound("scheduled message".into()));
    };
    if let Err(e) = staff.ctx.require_can_act() {
        return error_page(&e);
    }
    match state.services.store.conversation_summary(id).await {
        Ok(Some(s)) if staff.ctx.can_act_on(&s.conversation) => {}
        Ok(_) => return error_page(&ServiceError::NotFound("conversation".into())),
        Err(e) => return error_page(&e.into()),
    }
    match state.services.cancel_scheduled(id, scheduled, Actor::User(staff.ctx.user.id), staff.ip.clone()).await {
        Ok(()) => see_other(&format!("/c/{id}")),
        Err(e @ (ServiceError::NotFound(_) | ServiceError::Forbidden(_) | ServiceError::Internal(_))) => error_page(&e),
        Err(e) => {
            let composer = ComposerState { error: e.to_string(), ..Default::default() };
            render_page(&state, &staff, id, composer, StatusCode::CONFLICT, History::Recent).await
        }
    }
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
}

pub async fn note(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match state.services.add_note(&staff.ctx, id, &form.body, staff.ip.clone()).await {
        Ok(_) => see_other(&format!("/c/{id}#thread")),
        Err(e @ ServiceError::Invalid { .. }) => {
            let composer = ComposerState { note_draft: form.body, note_error: e.to_string(), ..Default::default() };
            render_page(&state, &staff, id, composer, StatusCode::UNPROCESSABLE_ENTITY, History::Recent).await
        }
        Err(e) => error_page(&e),
    }
}

async fn apply(
    state: &AppState,
    staff: &Staff,
    headers: &HeaderMap,
    id: &str,
    change: Result<ConversationChange, ServiceError>,
) -> Response {
    let json = wants_json(headers);
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let result = match change {
        Ok(change) => state.services.change_conversation(&staff.ctx, id, change, staff.ip.clone()).await,
        Err(e) => Err(e),
    };
    match (result, json) {
        (Ok(c), true) => axum::Json(serde_json::json!({"ok": true, "status": c.status.as_str()})).into_response(),
        (Ok(_), false) => see_other(&format!("/c/{id}")),
        (Err(e), true) => json_error(&e),
        (Err(e), false) => error_page(&e),
    }
}

fn optional_id(raw: &str, field: &str) -> Result<Option<Uuid>, ServiceError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| ServiceError::invalid(field, "choose one of the listed options"))
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee: String,
    /// "Assign to me" (the button, or the `a` key).
    #[serde(default)]
    me: Option<String>,
}

pub async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Response {
    let change = if checked(&form.me) {
        Ok(ConversationChange::Assign(Some(staff.ctx.user.id)))
    } else {
        optional_id(&form.assignee, "assignee").map(ConversationChange::Assign)
    };
    apply(&state, &staff, &headers, &id, change).await
}

#[derive(Deserialize)]
pub struct DepartmentForm {
    #[serde(default)]
    department: String,
}

pub async fn department(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DepartmentForm>,
) -> Response {
    let change = optional_id(&form.department, "department").map(ConversationChange::Department);
    apply(&state, &staff, &headers, &id, change).await
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    /// `datetime-local` (`2025-03-04T14:30`), in the practice's time zone.
    #[serde(default)]
    until: String,
}

fn snooze_until(state: &AppState, raw: &str) -> Result<chrono::DateTime<Utc>, ServiceError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ServiceError::invalid("until", "choose when the conversation should come back"));
    }
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ServiceError::invalid("until", format!("{raw:?} is not a date and time like 2025-03-04T14:30")))?;
    let tz = state.services.settings().time_zone;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ServiceError::invalid("until", "that time does not exist in the practice's time zone"))
}

pub async fn status(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Response {
    let change = match form.status.as_str() {
        "open" => Ok(ConversationChange::Open),
        "waiting" => Ok(ConversationChange::Waiting),
        "close" | "closed" => Ok(ConversationChange::Close),
        "snooze" | "snoozed" => snooze_until(&state, &form.until).map(ConversationChange::Snooze),
        _ => Err(ServiceError::invalid("status", "choose open, waiting, snooze or close")),
    };
    apply(&state, &staff, &headers, &id, change).await
}

#[derive(Deserialize)]
pub struct PatientForm {
    #[serde(default)]
    patient: String,
}

pub async fn patient(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<PatientForm>,
) -> Response {
    let change = optional_id(&form.patient, "patient").map(ConversationChange::LinkPatient);
    apply(&state, &staff, &headers, &id, change).await
}

#[derive(Deserialize)]
pub struct UrgentForm {
    #[serde(default)]
    urgent: Option<String>,
}

pub async fn urgent(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<UrgentForm>,
) -> Response {
    apply(&state, &staff, &headers, &id, Ok(ConversationChange::Urgent(checked(&form.urgent)))).await
}

pub async fn retry(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<Uuid>() else { return error_page(&ServiceError::NotFound("message".into())) };
    match state.services.retry_message(&staff.ctx, id, staff.ip.clone()).await {
        Ok(m) => see_other(&format!("/c/{}#thread", m.conversation_id)),
        Err(e) => error_page(&e),
    }
}

/// The template filled in for this conversation, or why it cannot be.
pub async fn template(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, template_id)): Path<(String, String)>,
) -> Response {
    let (Ok(id), Ok(template_id)) = (id.parse::<Uuid>(), template_id.parse::<Uuid>()) else {
        return json_error(&ServiceError::NotFound("template".into()));
    };
    match state.services.render_template(&staff.ctx, id, template_id).await {
        Ok(text) => {
            let needs_form = text.contains(template::FORM_LINK);
            axum::Json(serde_json::json!({ "text": text, "needs_form": needs_form })).into_response()
        }
        Err(e) => json_error(&e),
    }
}
