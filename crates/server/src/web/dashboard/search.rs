//! `GET /search?q=`: patients by name, phone or MRN; messages by words. Results link to the
//! conversations; a patient can be texted from here.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{local_time, one_line, who};
use crate::web::AppState;
use crate::web::home::render;
use crate::web::pages::{Chrome, error_page};
use crate::web::session::Staff;

pub struct Link {
    pub href: String,
    pub label: String,
}

pub struct PatientHit {
    pub id: String,
    pub name: String,
    pub birth_date: String,
    pub mrn: String,
    pub phone: String,
    pub conversations: Vec<Link>,
}

pub struct MessageHit {
    pub href: String,
    pub who: String,
    pub when: String,
    pub text: String,
    pub inbound: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    searched: bool,
    error: String,
    patients: Vec<PatientHit>,
    conversations: Vec<Link>,
    messages: Vec<MessageHit>,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn page(State(state): State<AppState>, staff: Staff, Query(query): Query<SearchQuery>) -> Response {
    let q = query.q.trim().to_string();
    let mut page = SearchPage {
        chrome: Chrome::new(&state, &staff, "search"),
        searched: !q.is_empty(),
        q: q.clone(),
        error: String::new(),
        patients: Vec::new(),
        conversations: Vec::new(),
        messages: Vec::new(),
    };
    if q.is_empty() {
        return render(&page, StatusCode::OK);
    }
    let results = match state.services.search(&staff.ctx, &q, staff.ip.clone()).await {
        Ok(r) => r,
        Err(e @ frontdesk_services::ServiceError::Invalid { .. }) => {
            page.error = e.to_string();
            return render(&page, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(e) => return error_page(&e),
    };
    let conversation_label = |s: &frontdesk_store::ConversationSummary| {
        format!("{} · {} · {}", who(s), s.conversation.status, local_time(&state, s.conversation.last_message_at))
    };
    for p in &results.patients {
        let convs = match state.services.store.patient_conversations(p.id).await {
            Ok(c) => c,
            Err(e) => return error_page(&e.into()),
        };
        page.patients.push(PatientHit {
            id: p.id.to_string(),
            name: format!("{} {}", p.first_name, p.last_name),
            birth_date: p.birth_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            mrn: p.mrn.clone().unwrap_or_default(),
            phone: p.phone.as_ref().map(|p| p.display()).unwrap_or_default(),
            conversations: convs
                .iter()
                .filter(|s| staff.ctx.can_see(&s.conversation))
                .take(5)
                .map(|s| Link { href: format!("/c/{}", s.conversation.id), label: conversation_label(s) })
                .collect(),
        });
    }
    page.conversations = results
        .conversations
        .iter()
        .map(|s| Link { href: format!("/c/{}", s.conversation.id), label: conversation_label(s) })
        .collect();
    page.messages = results
        .messages
        .iter()
        .map(|(m, s)| MessageHit {
            href: format!("/c/{}#m-{}", s.conversation.id, m.id),
            who: who(s),
            when: local_time(&state, m.created_at),
            text: one_line(&m.body, 200),
            inbound: m.direction == frontdesk_domain::Direction::Inbound,
        })
        .collect();
    render(&page, StatusCode::OK)
}
