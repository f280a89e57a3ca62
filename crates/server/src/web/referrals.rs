//! Referrals: the staff pipeline `GET /referrals` (counts per status, filters by source and
//! status, time to first contact and conversion per source), `GET /referrals/{id}` (details,
//! history, the conversation) and `POST /referrals/{id}/status` (scheduled / closed with a
//! reason; CSRF by the session layer, audited); the API `POST /api/v1/referrals` (one, JSON)
//! and `POST /api/v1/referrals/import` (CSV or FHIR Bundle of ServiceRequest + Patient).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use frontdesk_domain::referrals::{CloseReason, ReferralStatus};
use frontdesk_services::ServiceError;
use frontdesk_services::referrals::{NewReferral, ReferralFilter, ReferralView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::api::{ApiJson, ApiQuery, ImportParams, ImportRejection, TokenPrincipal};
use super::dashboard::{local_time, see_other};
use super::error::{ApiError, ErrorBody};
use super::home::render;
use super::pages::{Chrome, error_page};
use super::session::{Staff, client_ip};
use crate::web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/referrals", get(list))
        .route("/referrals/settings", get(settings_page).post(save_settings))
        .route("/referrals/{id}", get(view))
        .route("/referrals/{id}/status", post(move_status))
}

pub struct Row {
    pub href: String,
    pub patient: String,
    pub source: String,
    pub reason: String,
    pub status: String,
    pub received: String,
    pub first_contact: String,
}

pub struct MetricRow {
    pub source: String,
    pub total: usize,
    pub scheduled: usize,
    pub conversion: String,
    pub first_contact: String,
}

#[derive(Template)]
#[template(path = "referrals.html")]
struct ListPage {
    chrome: Chrome,
    counts: Vec<(String, &'static str, usize)>,
    sources: Vec<(String, bool)>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    rows: Vec<Row>,
    metrics: Vec<MetricRow>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    source: String,
}

fn minutes_label(m: Option<i64>) -> String {
    match m {
        None => "—".into(),
        Some(m) if m < 60 => format!("{m} min"),
        Some(m) => format!("{} h {} min", m / 60, m % 60),
    }
}

pub async fn list(State(state): State<AppState>, staff: Staff, Query(query): Query<ListQuery>) -> Response {
    let status = ReferralStatus::parse(&query.status);
    let filter = ReferralFilter { status, source: Some(query.source.clone()).filter(|s| !s.is_empty()) };
    match state.services.referral_list(&staff.ctx, &filter).await {
        Ok(list) => {
            let page = ListPage {
                chrome: Chrome::new(&state, &staff, "referrals"),
                counts: list
                    .counts
                    .iter()
                    .map(|(s, n)| (format!("/referrals?status={}", s.as_str()), s.label(), *n))
                    .collect(),
                sources: list.sources.iter().map(|s| (s.clone(), *s == query.source)).collect(),
                statuses: ReferralStatus::ALL.iter().map(|s| (s.as_str(), s.label(), Some(*s) == status)).collect(),
                rows: list
                    .referrals
                    .iter()
                    .map(|v| Row {
                        href: format!("/referrals/{}", v.referral.id),
                        patient: v.patient_name.clone(),
                        source: v.referral.details.source.clone(),
                        reason: v.referral.details.reason.clone(),
                        status: v.referral.status.label().to_owned(),
                        received: local_time(&state, v.referral.received_at),
                        first_contact: v.referral.first_contact_at.map(|t| local_time(&state, t)).unwrap_or_default(),
                    })
                    .collect(),
                metrics: list
                    .metrics
                    .iter()
                    .map(|m| MetricRow {
                        source: m.source.clone(),
                        total: m.total,
                        scheduled: m.scheduled,
                        conversion: format!("{:.0}%", m.conversion * 100.0),
                        first_contact: minutes_label(m.median_minutes_to_first_contact),
                    })
                    .collect(),
            };
            render(&page, StatusCode::OK)
        }
        Err(e) => error_page(&e),
    }
}

pub struct HistoryRow {
    pub status: &'static str,
    pub at: String,
}

#[derive(Template)]
#[template(path = "referral.html")]
struct ViewPage {
    chrome: Chrome,
    id: String,
    patient: String,
    patient_href: String,
    source: String,
    reason: String,
    status: &'static str,
    received: String,
    first_contact: String,
    close_reason: String,
    close_note: String,
    conversation_href: String,
    history: Vec<HistoryRow>,
    can_schedule: bool,
    can_close: bool,
    reasons: Vec<(&'static str, &'static str)>,
    error: String,
}

fn view_page(state: &AppState, staff: &Staff, v: &ReferralView, error: String) -> ViewPage {
    let r = &v.referral;
    let can_act = staff.ctx.require_can_act().is_ok();
    ViewPage {
        chrome: Chrome::new(state, staff, "referrals"),
        id: r.id.to_string(),
        patient: v.patient_name.clone(),
        patient_href: format!("/patients/{}", r.patient_id),
        source: r.details.source.clone(),
        reason: r.details.reason.clone(),
        status: r.status.label(),
        received: local_time(state, r.received_at),
        first_contact: r.first_contact_at.map(|t| local_time(state, t)).unwrap_or_default(),
        close_reason: r.details.close_reason.map(|c| c.label().to_owned()).unwrap_or_default(),
        close_note: r.details.close_note.clone().unwrap_or_default(),
        conversation_href: r.conversation_id.map(|c| format!("/c/{c}")).unwrap_or_default(),
        history: v
            .history
            .iter()
            .map(|e| HistoryRow { status: e.status.label(), at: local_time(state, e.at) })
            .collect(),
        can_schedule: can_act && r.status.can_move_to(ReferralStatus::Scheduled),
        can_close: can_act && r.status.can_move_to(ReferralStatus::Closed),
        reasons: CloseReason::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        error,
    }
}

fn parse_id(raw: &str) -> Result<Uuid, ServiceError> {
    raw.parse().map_err(|_| ServiceError::NotFound("referral".into()))
}

pub async fn view(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&e),
    };
    match state.services.referral_page(&staff.ctx, id, staff.ip.clone()).await {
        Ok(v) => render(&view_page(&state, &staff, &v, String::new()), StatusCode::OK),
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize, Default)]
pub struct MoveForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    close_reason: String,
    #[serde(default)]
    note: String,
}

pub async fn move_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&e),
    };
    let result = match ReferralStatus::parse(&form.status) {
        None => Err(ServiceError::invalid("status", "choose scheduled or closed")),
        Some(to) => {
            let reason = CloseReason::parse(&form.close_reason);
            state.services.move_referral(&staff.ctx, id, to, reason, Some(form.note), staff.ip.clone()).await
        }
    };
    match result {
        Ok(_) => see_other(&format!("/referrals/{id}")),
        Err(e @ ServiceError::Invalid { .. }) => match state.services.referral_page(&staff.ctx, id, None).await {
            Ok(v) => render(&view_page(&state, &staff, &v, e.to_string()), StatusCode::UNPROCESSABLE_ENTITY),
            Err(e) => error_page(&e),
        },
        Err(e) => error_page(&e),
    }
}

// ---- outreach settings (admins) ----------------------------------------------------------

#[derive(Template)]
#[template(path = "referral_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    outreach_template: String,
    followup_template: String,
    followup_hours: String,
    error: String,
    saved: bool,
}

#[derive(Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default)]
    outreach_template: String,
    #[serde(default)]
    followup_template: String,
    #[serde(default)]
    followup_hours: String,
    #[serde(default)]
    saved: Option<String>,
}

pub async fn settings_page(State(state): State<AppState>, staff: Staff, Query(q): Query<SettingsForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    match state.services.referral_settings().await {
        Ok((outreach, followup, hours)) => render(
            &SettingsPage {
                chrome: Chrome::new(&state, &staff, "referrals"),
                outreach_template: outreach,
                followup_template: followup,
                followup_hours: hours.to_string(),
                error: String::new(),
                saved: q.saved.is_some(),
            },
            StatusCode::OK,
        ),
        Err(e) => error_page(&e),
    }
}

pub async fn save_settings(State(state): State<AppState>, staff: Staff, Form(form): Form<SettingsForm>) -> Response {
    let hours = form.followup_hours.trim().parse::<i64>();
    let result = match hours {
        Err(_) => Err(ServiceError::invalid("followup_hours", "write a whole number of hours")),
        Ok(h) => {
            state
                .services
                .save_referral_settings(
                    &staff.ctx,
                    &form.outreach_template,
                    &form.followup_template,
                    h,
                    staff.ip.clone(),
                )
                .await
        }
    };
    match result {
        Ok(()) => see_other("/referrals/settings?saved=1"),
        Err(e @ ServiceError::Invalid { .. }) => render(
            &SettingsPage {
                chrome: Chrome::new(&state, &staff, "referrals"),
                outreach_template: form.outreach_template,
                followup_template: form.followup_template,
                followup_hours: form.followup_hours,
                error: e.to_string(),
                saved: false,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => error_page(&e),
    }
}

// ---- API ---------------------------------------------------------------------------------

/// One referral (`POST /api/v1/referrals`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReferralRequest {
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD` (or `MM/DD/YYYY`).
    pub birth_date: Option<String>,
    pub mrn: Option<String>,
    /// The number to text, with its country code.
    pub phone: String,
    /// The patient's IANA time zone (quiet hours); the practice's when absent.
    pub time_zone: Option<String>,
    /// The referring practice or provider.
    pub source: String,
    /// Reason or specialty.
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReferralBody {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// `new`, `contacted`, `replied`, `scheduled` or `closed`.
    pub status: String,
    pub source: String,
    pub reason: String,
    pub received_at: String,
    pub first_contact_at: Option<String>,
    pub conversation_id: Option<Uuid>,
}

impl From<&ReferralView> for ReferralBody {
    fn from(v: &ReferralView) -> ReferralBody {
        let r = &v.referral;
        ReferralBody {
            id: r.id,
            patient_id: r.patient_id,
            status: r.status.as_str().to_owned(),
            source: r.details.source.clone(),
            reason: r.details.reason.clone(),
            received_at: r.received_at.to_rfc3339(),
            first_contact_at: r.first_contact_at.map(|t| t.to_rfc3339()),
            conversation_id: r.conversation_id,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/referrals", request_body = NewReferralRequest, security(("bearer" = [])),
    responses((status = 201, body = ReferralBody, description = "The referral; the patient is matched like an import (MRN, name + birth date, phone) or created as prospective. The outreach text follows within minutes."),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_create(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<NewReferralRequest>,
) -> Result<(StatusCode, Json<ReferralBody>), ApiError> {
    let input = NewReferral {
        first_name: req.first_name,
        last_name: req.last_name,
        birth_date: req.birth_date,
        mrn: req.mrn,
        phone: req.phone,
        time_zone: req.time_zone,
        source: req.source,
        reason: req.reason,
    };
    let view = state.services.create_referral(&input, principal.actor(), client_ip(&headers)).await?;
    Ok((StatusCode::CREATED, Json((&view).into())))
}

#[derive(Serialize, ToSchema)]
pub struct ReferralImportOutcome {
    pub line: usize,
    /// Absent in a dry run.
    pub referral_id: Option<Uuid>,
    /// Absent in a dry run for a patient that would be created.
    pub patient_id: Option<Uuid>,
    /// `created` (a new prospective patient), `updated` or `unchanged`.
    pub patient: String,
    pub matched_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReferralImportBody {
    /// `csv` or `fhir`.
    pub format: String,
    pub dry_run: bool,
    pub rows: usize,
    pub created: usize,
    pub patients_created: usize,
    pub patients_matched: usize,
    pub rejected: Vec<ImportRejection>,
    pub ignored_columns: Vec<String>,
    pub referrals: Vec<ReferralImportOutcome>,
}

fn word<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[utoipa::path(post, path = "/api/v1/referrals/import", params(ImportParams), security(("bearer" = [])),
    request_body(content = String, description = "A CSV file (patient columns as for the patient import, plus `source` (required) and `reason`) or a FHIR R4 Bundle of ServiceRequest + Patient (JSON; `subject` references the Patient; `requester` or `performer` display is the source; `reasonCode`/`code` text the reason), detected by content.", content_type = "text/csv"),
    responses((status = 200, body = ReferralImportBody, description = "Every rejected row with its line and reason; the referrals created (or, in a dry run, that would be)."),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_import(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ReferralImportBody>, ApiError> {
    let (body, options) = super::api::import_request(body, &params)?;
    let report =
        state.services.import_referrals(&body, &options, principal.actor(), client_ip(&headers), &|_, _| {}).await?;
    Ok(Json(ReferralImportBody {
        format: word(&report.format),
        dry_run: report.dry_run,
        rows: report.rows,
        created: report.created,
        patients_created: report.patients_created,
        patients_matched: report.patients_matched,
        rejected: report.rejected.into_iter().map(|r| ImportRejection { line: r.line, reason: r.reason }).collect(),
        ignored_columns: report.ignored_columns,
        referrals: report
            .referrals
            .into_iter()
            .map(|o| ReferralImportOutcome {
                line: o.line,
                referral_id: o.referral_id,
                patient_id: o.patient_id,
                patient: word(&o.patient),
                matched_by: o.matched_by.as_ref().map(word),
            })
            .collect(),
    }))
}
