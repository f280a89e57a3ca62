//! The audit log and a patient's records, for admins and auditors (issue 7 items 4-6):
//! `GET /audit` (filters, newest first, paginated), `GET /audit.csv` (the filtered rows; the
//! export is itself audited), `GET /patients/{id}/records` (legal hold and export),
//! `POST /patients/{id}/hold` (admins), `GET /patients/{id}/export` (the ZIP); and the API
//! twins `GET /api/v1/audit`, `GET /api/v1/patients/{id}/export`. Read-only for auditors;
//! staff get 403 from the services.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use frontdesk_domain::model::Role;
use frontdesk_services::ServiceError;
use frontdesk_services::audit::{AuditQuery, AuditRow, Reader};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::api::{ApiPath, ApiQuery, TokenPrincipal};
use super::error::{ApiError, ErrorBody};
use super::home::render;
use super::pages::{Chrome, error_page};
use super::session::{Staff, client_ip};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(log_page))
        .route("/audit.csv", get(log_csv))
        .route("/patients/{id}/records", get(records_page))
        .route("/patients/{id}/hold", post(set_hold))
        .route("/patients/{id}/export", get(export))
}

/// One choice of the actor select.
struct ActorChoice {
    value: String,
    label: String,
    selected: bool,
}

struct Row {
    at: String,
    at_iso: String,
    actor: String,
    action: String,
    target: String,
    /// `/patients/{id}/records` when the entry is about a patient.
    records: Option<String>,
    ip: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPageView {
    chrome: Chrome,
    actors: Vec<ActorChoice>,
    action: String,
    target: String,
    from: String,
    until: String,
    rows: Vec<Row>,
    page: u32,
    newer: Option<String>,
    older: Option<String>,
    csv: String,
    error_field: String,
    error: String,
}

/// The query string for the same filters on another page (or for the CSV).
fn query_string(q: &AuditQuery, page: Option<u32>) -> String {
    #[derive(Serialize)]
    struct Qs<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        actor: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        action: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        page: Option<u32>,
    }
    fn some(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    serde_urlencoded::to_string(Qs {
        actor: some(&q.actor),
        action: some(&q.action),
        target: some(&q.target),
        from: some(&q.from),
        until: some(&q.until),
        page,
    })
    .unwrap_or_default()
}

fn row(state: &AppState, r: AuditRow) -> Row {
    let tz = state.services.settings().time_zone;
    Row {
        at: r.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z").to_string(),
        at_iso: r.at.to_rfc3339(),
        actor: match r.actor_name {
            Some(name) => format!("{name} ({})", r.actor),
            None => r.actor,
        },
        action: r.action,
        records: r
            .target
            .as_deref()
            .and_then(|t| t.strip_prefix("patient:"))
            .and_then(|id| Uuid::parse_str(id).ok())
            .map(|id| format!("/patients/{id}/records")),
        target: r.target.unwrap_or_default(),
        ip: r.ip.unwrap_or_default(),
        detail: r.detail.unwrap_or_default(),
    }
}

/// The query as typed; a malformed page number reads as the first page.
#[derive(Deserialize, Default)]
struct RawQuery {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<String>,
    until: Option<String>,
    page: Option<String>,
}

impl From<RawQuery> for AuditQuery {
    fn from(r: RawQuery) -> AuditQuery {
        AuditQuery {
            actor: r.actor,
            action: r.action,
            target: r.target,
            from: r.from,
            until: r.until,
            page: r.page.and_then(|p| p.trim().parse().ok()).filter(|p| *p > 0),
        }
    }
}

async fn log_page(State(state): State<AppState>, staff: Staff, Query(raw): Query<RawQuery>) -> Response {
    let q = AuditQuery::from(raw);
    let reader = Reader::Staff(&staff.ctx);
    if let Err(e) = reader.require_records_access() {
        return error_page(&e);
    }
    let (rows, page, has_next, error_field, error, status) = match state.services.audit_log(reader, &q).await {
        Ok(p) => (p.rows, p.page, p.has_next, String::new(), String::new(), StatusCode::OK),
        Err(ServiceError::Invalid { field, message }) => {
            (Vec::new(), 1, false, field, message, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return error_page(&e),
    };
    let users = match state.services.store.list_users().await {
        Ok(u) => u,
        Err(e) => return error_page(&e.into()),
    };
    let chosen = q.actor.clone().unwrap_or_default();
    let mut actors = vec![
        ActorChoice { value: String::new(), label: "Anyone".into(), selected: chosen.is_empty() },
        ActorChoice { value: "system".into(), label: "The system".into(), selected: chosen == "system" },
    ];
    for u in users {
        let value = format!("user:{}", u.id);
        actors.push(ActorChoice { selected: chosen == value, label: format!("{} ({})", u.name, u.email), value });
    }
    if !chosen.is_empty() && !actors.iter().any(|a| a.selected) {
        actors.push(ActorChoice { value: chosen.clone(), label: chosen, selected: true });
    }
    let page_view = AuditPageView {
        chrome: Chrome::new(&state, &staff, "audit"),
        actors,
        action: q.action.clone().unwrap_or_default(),
        target: q.target.clone().unwrap_or_default(),
        from: q.from.clone().unwrap_or_default(),
        until: q.until.clone().unwrap_or_default(),
        rows: rows.into_iter().map(|r| row(&state, r)).collect(),
        page,
        newer: (page > 1).then(|| query_string(&q, Some(page - 1))),
        older: has_next.then(|| query_string(&q, Some(page + 1))),
        csv: query_string(&q, None),
        error_field,
        error,
    };
    render(&page_view, status)
}

async fn log_csv(State(state): State<AppState>, staff: Staff, Query(raw): Query<RawQuery>) -> Response {
    let q = AuditQuery::from(raw);
    match state.services.audit_csv(Reader::Staff(&staff.ctx), &q, staff.ip.clone()).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"audit-log.csv\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            csv,
        )
            .into_response(),
        Err(e) => error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "patient_records.html")]
struct RecordsPage {
    chrome: Chrome,
    id: String,
    name: String,
    mrn: String,
    conversations: usize,
    hold_reason: Option<String>,
    hold_since: String,
    can_hold: bool,
    error: String,
    confirmation: Option<&'static str>,
}

#[derive(Deserialize, Default)]
struct Done {
    done: Option<String>,
}

async fn records_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    records(&state, &staff, &id, String::new(), done.done.as_deref(), StatusCode::OK).await
}

async fn records(
    state: &AppState,
    staff: &Staff,
    id: &str,
    error: String,
    done: Option<&str>,
    status: StatusCode,
) -> Response {
    let Ok(id) = Uuid::parse_str(id) else { return error_page(&ServiceError::NotFound("this patient".into())) };
    let view = match state.services.patient_records(Reader::Staff(&staff.ctx), id, staff.ip.clone()).await {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    let tz = state.services.settings().time_zone;
    let page = RecordsPage {
        chrome: Chrome::new(state, staff, "audit"),
        id: id.to_string(),
        name: format!("{} {}", view.patient.first_name, view.patient.last_name),
        mrn: view.patient.mrn.clone().unwrap_or_default(),
        conversations: view.conversations,
        hold_since: view
            .hold
            .as_ref()
            .map(|h| h.set_at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string())
            .unwrap_or_default(),
        hold_reason: view.hold.map(|h| h.reason),
        can_hold: staff.ctx.user.role == Role::Admin,
        error,
        confirmation: match done {
            Some("held") => Some("Legal hold placed."),
            Some("released") => Some("Legal hold released."),
            _ => None,
        },
    };
    render(&page, status)
}

#[derive(Deserialize, Default)]
struct HoldForm {
    /// `set` or `clear`.
    #[serde(default)]
    op: String,
    #[serde(default)]
    reason: String,
}

async fn set_hold(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<HoldForm>,
) -> Response {
    let Ok(patient_id) = Uuid::parse_str(&id) else {
        return error_page(&ServiceError::NotFound("this patient".into()));
    };
    let reason = match form.op.as_str() {
        "clear" => None,
        _ => Some(form.reason.as_str()),
    };
    match state.services.set_legal_hold(&staff.ctx, patient_id, reason, staff.ip.clone()).await {
        Ok(Some(_)) => Redirect::to(&format!("/patients/{patient_id}/records?done=held")).into_response(),
        Ok(None) => Redirect::to(&format!("/patients/{patient_id}/records?done=released")).into_response(),
        Err(ServiceError::Invalid { message, .. }) => {
            records(&state, &staff, &id, format!("Reason: {message}."), None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => error_page(&e),
    }
}

fn zip_response(file_name: &str, zip: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        zip,
    )
        .into_response()
}

async fn export(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else { return error_page(&ServiceError::NotFound("this patient".into())) };
    match state.services.export_patient(Reader::Staff(&staff.ctx), id, staff.ip.clone()).await {
        Ok(export) => zip_response(&export.file_name, export.zip),
        Err(e) => error_page(&e),
    }
}

// ---- API -----------------------------------------------------------------------------------

/// Filters of `GET /api/v1/audit`; every given one must match.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Exact actor label: `user:<id>`, `token:<id>`, `system`, `provider:<name>`.
    pub actor: Option<String>,
    /// Exact action, e.g. `conversation.view`.
    pub action: Option<String>,
    /// Exact target, e.g. `conversation:<id>`.
    pub target: Option<String>,
    /// First day (`YYYY-MM-DD`, practice time zone), inclusive.
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, practice time zone), inclusive.
    pub until: Option<String>,
    /// 1-based page of 50 entries, newest first.
    pub page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntryView>,
    pub page: u32,
    /// Whether `page + 1` has entries.
    pub has_next: bool,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditParams), security(("bearer" = [])),
    responses((status = 200, body = AuditList), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_audit(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<AuditList>, ApiError> {
    let q =
        AuditQuery { actor: p.actor, action: p.action, target: p.target, from: p.from, until: p.until, page: p.page };
    let page = state.services.audit_log(Reader::Token(principal.0), &q).await?;
    Ok(Json(AuditList {
        entries: page
            .rows
            .into_iter()
            .map(|r| AuditEntryView {
                id: r.id,
                at: r.at,
                actor: r.actor,
                actor_name: r.actor_name,
                action: r.action,
                target: r.target,
                ip: r.ip,
                detail: r.detail,
            })
            .collect(),
        page: page.page,
        has_next: page.has_next,
    }))
}

/// Everything about one patient as a ZIP (`patient.json`, `transcript.txt`, `files/`).
#[utoipa::path(get, path = "/api/v1/patients/{id}/export", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "application/zip", description = "patient.json, transcript.txt and files/"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn api_patient_export(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let export = state.services.export_patient(Reader::Token(principal.0), id, client_ip(&headers)).await?;
    Ok(zip_response(&export.file_name, export.zip))
}
