//! `GET /`: the inbox, and `GET /inbox/rows`: the same list (with the view counts) as a
//! fragment the page refetches when a live event arrives.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use frontdesk_services::inbox::{INBOX_PAGE, InboxView};
use serde::Deserialize;

use super::{Names, local_time, one_line, waiting_label, who};
use crate::web::AppState;
use crate::web::home::render;
use crate::web::pages::{Chrome, error_page};
use crate::web::session::Staff;

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    page: Option<u32>,
}

pub struct ViewLink {
    pub slug: String,
    pub title: String,
    pub count: i64,
    pub current: bool,
}

pub struct Row {
    pub id: String,
    pub who: String,
    pub preview: String,
    pub preview_from_patient: bool,
    pub waiting: String,
    pub last_at: String,
    pub unread: i64,
    pub urgent: bool,
    /// Waiting longer than the department's response-time target.
    pub overdue: bool,
    /// A text that may revoke consent waits for a person's decision.
    pub consent_review: bool,
    pub assignee: String,
    pub mine: bool,
    pub department: String,
    pub status: String,
}

/// What the list shows; shared by the page and the fragment.
pub struct InboxData {
    pub slug: String,
    pub title: String,
    pub views: Vec<ViewLink>,
    pub rows: Vec<Row>,
    pub page: u32,
    pub has_next: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    data: InboxData,
    simulator: bool,
    numbers: Vec<String>,
}

#[derive(Template)]
#[template(path = "inbox_rows.html")]
struct InboxRows {
    data: InboxData,
}

async fn load(state: &AppState, staff: &Staff, q: &InboxQuery) -> Result<InboxData, frontdesk_services::ServiceError> {
    let view = InboxView::parse(q.view.as_deref().unwrap_or("all"))?;
    let page = q.page.unwrap_or(0).min(10_000);
    let names = Names::load(state).await?;
    let mut views = vec![
        InboxView::Mine,
        InboxView::Unassigned,
        InboxView::All,
        InboxView::Urgent,
        InboxView::Waiting,
        InboxView::Snoozed,
        InboxView::Closed,
    ];
    for d in &names.departments {
        if staff.ctx.departments.as_ref().is_none_or(|allowed| allowed.contains(&d.id)) {
            views.push(InboxView::Department(d.id));
        }
    }
    let services = &state.services;
    let (counts, summaries) =
        tokio::try_join!(services.inbox_counts(&staff.ctx, &views), services.inbox(&staff.ctx, view, page))?;
    let title_of = |v: &InboxView| match v {
        InboxView::Department(d) => names.department(Some(*d)),
        other => other.title().to_string(),
    };
    let view_links = views
        .iter()
        .zip(counts)
        .map(|(v, count)| ViewLink { slug: v.slug(), title: title_of(v), count, current: *v == view })
        .collect();
    let now = frontdesk_services::now();
    let has_next = summaries.len() as u32 == INBOX_PAGE;
    let overdue = services.overdue_flags(&summaries, now).await?;
    let reviews = services.store.open_consent_reviews().await.map_err(frontdesk_services::ServiceError::from)?;
    let rows = summaries
        .iter()
        .zip(overdue)
        .map(|(s, overdue)| {
            let c = &s.conversation;
            Row {
                id: c.id.to_string(),
                who: who(s),
                preview: s.last_message.as_ref().map(|m| one_line(&m.body, 140)).unwrap_or_default(),
                preview_from_patient: s
                    .last_message
                    .as_ref()
                    .is_some_and(|m| m.direction == frontdesk_domain::Direction::Inbound),
                waiting: c.waiting_since.map(|w| waiting_label(w, now)).unwrap_or_default(),
                last_at: local_time(state, c.last_message_at),
                unread: c.unread_count,
                urgent: c.urgent,
                overdue,
                consent_review: reviews.contains(&c.id),
                assignee: names.user(c.assignee_id),
                mine: c.assignee_id == Some(staff.ctx.user.id),
                department: names.department(c.department_id),
                status: c.status.as_str().to_string(),
            }
        })
        .collect();
    Ok(InboxData { slug: view.slug(), title: title_of(&view), views: view_links, rows, page, has_next })
}

pub async fn page(State(state): State<AppState>, staff: Staff, Query(q): Query<InboxQuery>) -> Response {
    let data = match load(&state, &staff, &q).await {
        Ok(d) => d,
        Err(e) => return error_page(&e),
    };
    let numbers = if state.simulator.is_some() {
        state
            .services
            .store
            .list_numbers()
            .await
            .map(|ns| ns.into_iter().map(|n| format!("{} ({})", n.e164.display(), n.provider)).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let chrome = Chrome::new(&state, &staff, "inbox");
    render(&InboxPage { chrome, data, simulator: state.simulator.is_some(), numbers }, StatusCode::OK)
}

pub async fn rows(State(state): State<AppState>, staff: Staff, Query(q): Query<InboxQuery>) -> Response {
    match load(&state, &staff, &q).await {
        Ok(data) => render(&InboxRows { data }, StatusCode::OK),
        Err(e) => error_page(&e),
    }
}
