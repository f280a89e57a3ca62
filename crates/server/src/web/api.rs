//! REST API v1: bearer API tokens, JSON in and out, described by `/api/v1/openapi.json`.

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use frontdesk_domain::model::{ConversationStatus, Message, Patient, PatientStatus, SenderKind};
use frontdesk_services::audit::Actor;
use frontdesk_services::outbound::{SendRequest, StartRequest};
use frontdesk_services::patients::NewPatient;
use frontdesk_store::{ConversationQuery, ConversationSummary};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::session::client_ip;

/// The API token that authenticated a request.
#[derive(Debug, Clone, Copy)]
pub struct TokenPrincipal(pub Uuid);

impl TokenPrincipal {
    pub(crate) fn actor(self) -> Actor {
        Actor::Token(self.0)
    }
}

/// Requires `Authorization: Bearer <token>` on every API route except the OpenAPI document.
pub async fn require_token(State(state): State<AppState>, mut request: Request<Body>, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(secret) = presented else { return ApiError::unauthorized().into_response() };
    match state.services.authenticate_token(secret).await {
        Ok(Some(token)) => {
            request.extensions_mut().insert(TokenPrincipal(token.id));
            next.run(request).await
        }
        Ok(None) => ApiError::unauthorized().into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `Json` whose rejections are our JSON errors (422 naming the problem) instead of plain text.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            )),
            Err(JsonRejection::BytesRejection(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is too large"))
            }
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_json",
                format!("the body is not valid JSON: {}", e.body_text()),
            )),
            Err(e) => Err(ApiError {
                field: None,
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.body_text())
            }),
        }
    }
}

/// `Path` with JSON rejections.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state).await.map(|Path(v)| ApiPath(v)).map_err(|e: PathRejection| {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such resource: {}", e.body_text()))
        })
    }
}

/// `Query` with JSON rejections.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| ApiError::invalid("query", e.body_text()))
    }
}

// ---- views -------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: Uuid,
    /// E.164.
    pub phone: String,
    pub opted_out: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationView {
    pub id: Uuid,
    pub thread_id: Uuid,
    /// `open`, `waiting`, `snoozed` or `closed`.
    pub status: String,
    pub department_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub urgent: bool,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub last_message_at: DateTime<Utc>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub unread_count: i64,
    pub contact: ContactView,
    /// The practice number (E.164) this thread uses.
    pub practice_number: String,
}

#[derive(Serialize, ToSchema)]
pub struct MediaView {
    pub url: String,
    pub content_type: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// `inbound` or `outbound`.
    pub direction: String,
    pub body: String,
    pub media: Vec<MediaView>,
    /// `patient`, `staff`, `automation` or `api`.
    pub sender: String,
    /// `queued`, `sending`, `sent`, `delivered`, `undelivered`, `failed` or `received`.
    pub status: String,
    pub error_code: Option<String>,
    /// What went wrong, in plain words.
    pub error_message: Option<String>,
    /// Sending may or may not have happened; a person should check before retrying.
    pub needs_review: bool,
    pub provider: String,
    pub provider_message_id: Option<String>,
    /// `GSM-7` or `UCS-2`.
    pub encoding: String,
    pub segments: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationView>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: ConversationView,
    /// The thread's whole history across its conversations, oldest first.
    pub messages: Vec<MessageView>,
}

#[derive(Serialize, ToSchema)]
pub struct PatientView {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub mrn: Option<String>,
    pub phone: Option<String>,
    /// `patient` or `prospective`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct PatientList {
    pub patients: Vec<PatientView>,
}

impl From<ConversationSummary> for ConversationView {
    fn from(s: ConversationSummary) -> Self {
        let c = s.conversation;
        ConversationView {
            id: c.id,
            thread_id: c.thread_id,
            status: c.status.to_string(),
            department_id: c.department_id,
            assignee_id: c.assignee_id,
            patient_id: c.patient_id,
            urgent: c.urgent,
            opened_at: c.opened_at,
            closed_at: c.closed_at,
            last_message_at: c.last_message_at,
            waiting_since: c.waiting_since,
            unread_count: c.unread_count,
            contact: ContactView {
                id: s.contact.id,
                phone: s.contact.phone.as_str().to_string(),
                opted_out: s.contact.opted_out,
            },
            practice_number: s.number.e164.as_str().to_string(),
        }
    }
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        MessageView {
            id: m.id,
            conversation_id: m.conversation_id,
            direction: m.direction.as_str().to_string(),
            body: m.body,
            media: m.media.into_iter().map(|r| MediaView { url: r.url, content_type: r.content_type }).collect(),
            sender: m.sender.to_string(),
            status: m.status.to_string(),
            error_code: m.error_code,
            error_message: m.error_message,
            needs_review: m.needs_review,
            provider: m.provider.to_string(),
            provider_message_id: m.provider_message_id,
            encoding: m.encoding,
            segments: m.segments,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl From<Patient> for PatientView {
    fn from(p: Patient) -> Self {
        PatientView {
            id: p.id,
            first_name: p.first_name,
            last_name: p.last_name,
            birth_date: p.birth_date.map(|d| d.format("%Y-%m-%d").to_string()),
            mrn: p.mrn,
            phone: p.phone.map(|ph| ph.as_str().to_string()),
            status: p.status.to_string(),
            created_at: p.created_at,
        }
    }
}

// ---- requests ----------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationListParams {
    /// `open`, `waiting`, `snoozed` or `closed`.
    pub status: Option<String>,
    /// Only conversations with activity strictly before this time (from `next_before`).
    pub before: Option<DateTime<Utc>>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    pub body: String,
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// Send even though the PHI guard warned (`phi_warning`); audited. Ignored in block mode.
    #[serde(default)]
    pub confirm_phi: bool,
    /// Send later: an RFC 3339 time in the future, at most 90 days ahead. The answer is then
    /// 202 with the scheduled message; the scheduler sends it when due (consent and opt-out are
    /// checked again then). Media cannot be scheduled.
    #[serde(default)]
    pub send_at: Option<String>,
}

/// A message waiting to be sent later (or its outcome).
#[derive(Serialize, ToSchema)]
pub struct ScheduledView {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub send_at: DateTime<Utc>,
    /// pending | sent | failed | cancelled
    pub status: String,
    /// Why it failed or was deferred.
    pub reason: Option<String>,
    pub message_id: Option<Uuid>,
}

impl From<frontdesk_store::ScheduledMessage> for ScheduledView {
    fn from(s: frontdesk_store::ScheduledMessage) -> Self {
        ScheduledView {
            id: s.id,
            conversation_id: s.conversation_id,
            send_at: s.send_at,
            status: s.status,
            reason: s.reason,
            message_id: s.message_id,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessageRequest {
    /// The patient's number; E.164 or national in the practice's default region.
    pub to: String,
    pub body: String,
    /// One of the practice's numbers; the first one when absent.
    pub from: Option<String>,
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// Send even though the PHI guard warned (`phi_warning`); audited. Ignored in block mode.
    #[serde(default)]
    pub confirm_phi: bool,
    /// Why the practice may text this number first: `existing` (a consent grant is on
    /// record), `patient_initiated` (the number has texted the practice) or `verbal` (you
    /// attest the patient agreed out loud; `consent_note` required). When absent, `existing`
    /// is assumed; with no consent on record the answer is 422 with `field: "consent_basis"`.
    /// A new basis is recorded as a consent event in the same transaction as the send.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "verbal")]
    pub consent_basis: Option<String>,
    /// For `verbal`: when and how the patient agreed (stored encrypted as a note on the
    /// conversation; at most 500 characters).
    #[serde(default)]
    pub consent_note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPatientRequest {
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub mrn: Option<String>,
    pub phone: Option<String>,
    /// `patient` (default) or `prospective`.
    pub status: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

fn limit(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(50),
        Some(n @ 1..=200) => Ok(n),
        Some(_) => Err(ApiError::invalid("limit", "must be between 1 and 200")),
    }
}

// ---- handlers ----------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/conversations", params(ConversationListParams), security(("bearer" = [])),
    responses((status = 200, body = ConversationList), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_conversations(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ConversationListParams>,
) -> Result<Json<ConversationList>, ApiError> {
    let limit = limit(params.limit)?;
    let status = params
        .status
        .as_deref()
        .map(|s| s.parse::<ConversationStatus>().map_err(|e| ApiError::invalid("status", e)))
        .transpose()?;
    let rows = state
        .services
        .store
        .list_conversations(&ConversationQuery {
            statuses: status.into_iter().collect(),
            before: params.before,
            limit,
            ..Default::default()
        })
        .await
        .map_err(frontdesk_services::ServiceError::from)?;
    let next_before =
        if rows.len() == limit as usize { rows.last().map(|s| s.conversation.last_message_at) } else { None };
    Ok(Json(ConversationList { conversations: rows.into_iter().map(ConversationView::from).collect(), next_before }))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ConversationDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_conversation(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ConversationDetail>, ApiError> {
    let (summary, messages) = state.services.view_conversation(id, principal.actor(), client_ip(&headers)).await?;
    Ok(Json(ConversationDetail {
        conversation: summary.into(),
        messages: messages.into_iter().map(MessageView::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", params(("id" = Uuid, Path)), request_body = ReplyRequest, security(("bearer" = [])),
    description = "Sends a text in the conversation now (201), or later when `send_at` is given (202 with the scheduled message).",
    responses((status = 201, body = MessageView), (status = 202, body = ScheduledView, description = "scheduled for `send_at`"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "opted_out"), (status = 422, body = ErrorBody, description = "invalid input, including `send_at` not in the future or more than 90 days ahead")))]
pub async fn reply(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ReplyRequest>,
) -> Result<Response, ApiError> {
    if let Some(raw) = req.send_at.as_deref() {
        let send_at = DateTime::parse_from_rfc3339(raw.trim())
            .map_err(|_| {
                frontdesk_services::ServiceError::invalid(
                    "send_at",
                    "give an RFC 3339 time with its offset, like 2026-05-01T09:30:00-04:00",
                )
            })?
            .with_timezone(&Utc);
        if !req.media_urls.is_empty() {
            return Err(frontdesk_services::ServiceError::invalid("media_urls", "media cannot be scheduled").into());
        }
        let scheduled = state
            .services
            .schedule_message(frontdesk_services::outreach::ScheduleRequest {
                conversation_id: id,
                body: req.body,
                send_at,
                sender: SenderKind::Api,
                sender_user_id: None,
                actor: principal.actor(),
                ip: client_ip(&headers),
                phi_confirmed: req.confirm_phi,
                automated: false,
            })
            .await?;
        return Ok((StatusCode::ACCEPTED, Json(ScheduledView::from(scheduled))).into_response());
    }
    let message = state
        .services
        .send_message(SendRequest {
            conversation_id: id,
            body: req.body,
            media_urls: req.media_urls,
            sender: SenderKind::Api,
            sender_user_id: None,
            actor: principal.actor(),
            ip: client_ip(&headers),
            phi_confirmed: req.confirm_phi,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(MessageView::from(message))).into_response())
}

#[utoipa::path(post, path = "/api/v1/messages", request_body = NewMessageRequest, security(("bearer" = [])),
    description = "Texts a number, joining its open conversation or opening one (source `staff_outreach`). Requires a consent basis: without `consent_basis`, consent must already be on record for the number, else 422 with `field: \"consent_basis\"`.",
    responses((status = 201, body = MessageView), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody, description = "opted_out"), (status = 422, body = ErrorBody, description = "invalid input, including a missing or unproven `consent_basis`, or `consent_note` missing for `verbal`")))]
pub async fn start_conversation(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<NewMessageRequest>,
) -> Result<(StatusCode, Json<MessageView>), ApiError> {
    let consent_basis = req
        .consent_basis
        .as_deref()
        .map(str::parse::<frontdesk_domain::front_door::ConsentBasis>)
        .transpose()
        .map_err(|e| frontdesk_services::ServiceError::invalid("consent_basis", e))?;
    let message = state
        .services
        .start_conversation(StartRequest {
            to: req.to,
            from: req.from,
            body: req.body,
            media_urls: req.media_urls,
            sender: SenderKind::Api,
            sender_user_id: None,
            actor: principal.actor(),
            ip: client_ip(&headers),
            phi_confirmed: req.confirm_phi,
            within_departments: None,
            consent_basis,
            consent_note: req.consent_note.unwrap_or_default(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(message.into())))
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = MessageView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_message(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<MessageView>, ApiError> {
    let message = state.services.view_message(id, principal.actor(), client_ip(&headers)).await?;
    Ok(Json(message.into()))
}

#[utoipa::path(get, path = "/api/v1/patients", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = PatientList), (status = 401, body = ErrorBody)))]
pub async fn list_patients(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<PatientList>, ApiError> {
    let rows = state
        .services
        .list_patients_as(limit(page.limit)?, page.offset.unwrap_or(0), principal.actor(), client_ip(&headers))
        .await?;
    Ok(Json(PatientList { patients: rows.into_iter().map(PatientView::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/patients/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PatientView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_patient(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<PatientView>, ApiError> {
    let patient = state.services.read_patient_as(id, principal.actor(), client_ip(&headers)).await?;
    Ok(Json(patient.into()))
}

#[utoipa::path(post, path = "/api/v1/patients", request_body = NewPatientRequest, security(("bearer" = [])),
    responses((status = 201, body = PatientView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_patient(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<NewPatientRequest>,
) -> Result<(StatusCode, Json<PatientView>), ApiError> {
    let status = req
        .status
        .as_deref()
        .map(|s| s.parse::<PatientStatus>().map_err(|e| ApiError::invalid("status", e)))
        .transpose()?;
    let patient = state
        .services
        .create_patient(
            NewPatient {
                first_name: req.first_name,
                last_name: req.last_name,
                birth_date: req.birth_date,
                mrn: req.mrn,
                phone: req.phone,
                status,
            },
            principal.actor(),
            client_ip(&headers),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(patient.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// Report what would be created and updated; write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Column overrides, comma-separated `column=field` pairs (fields: first_name, last_name,
    /// birth_date, mrn, phone, status, language, time_zone, ignore).
    pub map: Option<String>,
}

/// One rejected row: its CSV line number (the header is line 1) or FHIR entry number.
#[derive(Serialize, ToSchema)]
pub struct ImportRejection {
    pub line: usize,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportOutcome {
    pub line: usize,
    /// `created`, `updated` or `unchanged`.
    pub action: String,
    /// Absent for a row a dry run would create.
    pub patient_id: Option<Uuid>,
    /// `mrn`, `name_and_birth_date` or `phone`.
    pub matched_by: Option<String>,
    /// Fields where the file disagreed with the stored patient (the stored value was kept).
    pub conflicts: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportReportBody {
    /// `csv` or `fhir` (detected by content).
    pub format: String,
    pub dry_run: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<ImportRejection>,
    pub ignored_columns: Vec<String>,
    pub outcomes: Vec<ImportOutcome>,
}

/// Largest import body accepted (about 500,000 CSV rows).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

fn word<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The file and options of an import request (patients or referrals): a body over the limit
/// is 413, a `map` that does not parse is 422 naming `map`.
pub(crate) fn import_request(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
    params: &ImportParams,
) -> Result<(axum::body::Bytes, frontdesk_services::patient_import::ImportOptions), ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the file is larger than 64 MB; split it")
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.body_text())
        }
    })?;
    let mut mapping = Vec::new();
    for spec in params.map.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        mapping.push(
            frontdesk_domain::patient_import::parse_mapping(spec)
                .map_err(|e| ApiError::invalid("map", e.to_string()))?,
        );
    }
    let options = frontdesk_services::patient_import::ImportOptions { mapping, dry_run: params.dry_run };
    Ok((body, options))
}

#[utoipa::path(post, path = "/api/v1/patients/import", params(ImportParams), security(("bearer" = [])),
    request_body(content = String, description = "A CSV file (header row; common names such as first_name/given, last_name/family, dob, mrn, phone/mobile are recognised) or a FHIR R4 Bundle of Patient (JSON), detected by content.", content_type = "text/csv"),
    responses((status = 200, body = ImportReportBody, description = "The report: every rejected row with its line and reason; what was (or, in a dry run, would be) created and updated."),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "The whole file is unusable (encoding, header, invalid FHIR, bad map).")))]
pub async fn import_patients(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ImportReportBody>, ApiError> {
    let (body, options) = import_request(body, &params)?;
    let report =
        state.services.import_patients(&body, &options, principal.actor(), client_ip(&headers), &|_, _| {}).await?;
    Ok(Json(ImportReportBody {
        format: word(&report.format),
        dry_run: report.dry_run,
        rows: report.rows,
        created: report.created,
        updated: report.updated,
        unchanged: report.unchanged,
        rejected: report.rejected.into_iter().map(|r| ImportRejection { line: r.line, reason: r.reason }).collect(),
        ignored_columns: report.ignored_columns,
        outcomes: report
            .outcomes
            .into_iter()
            .map(|o| ImportOutcome {
                line: o.line,
                action: word(&o.action),
                patient_id: o.patient_id,
                matched_by: o.matched_by.as_ref().map(word),
                conflicts: o.conflicts,
            })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `fhir` (a FHIR R4 transaction Bundle of Communication and QuestionnaireResponse) or
    /// `text` (a readable transcript).
    pub format: String,
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/export", params(("id" = Uuid, Path), ExportParams), security(("bearer" = [])),
    responses((status = 200, description = "`application/fhir+json` or `text/plain`"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_conversation(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    use frontdesk_services::chart::ExportFormat;
    let format = match params.format.as_str() {
        "fhir" => ExportFormat::Fhir,
        "text" => ExportFormat::Text,
        other => return Err(ApiError::invalid("format", format!("unknown format {other:?}; use fhir or text"))),
    };
    let export = state.services.export_as(principal.actor(), id, format, client_ip(&headers)).await?;
    Ok(match format {
        ExportFormat::Text => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], export.transcript).into_response()
        }
        _ => (
            [(header::CONTENT_TYPE, "application/fhir+json")],
            serde_json::to_string(&export.bundle).unwrap_or_default(),
        )
            .into_response(),
    })
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API route; see /api/v1/openapi.json")
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Frontdesk API", description = "Two-way SMS for medical practices. Authenticate with `Authorization: Bearer <token>` (create one with `frontdesk token create`). Errors are `{\"error\": {\"code\", \"message\"}}`. Live events: `GET /api/v1/events` (Server-Sent Events)."),
    paths(list_conversations, get_conversation, reply, start_conversation, get_message, list_patients, get_patient, create_patient, import_patients, export_conversation, super::sse::events,
        super::routing_api::get_rules, super::routing_api::put_rules,
        super::front_door::api_settings, super::front_door::api_save_settings, super::front_door::api_policy, super::front_door::api_save_policy,
        super::admin_departments::api_list_departments, super::admin_departments::api_get_settings,
        super::admin_departments::api_put_settings,
        super::audit::api_audit, super::audit::api_patient_export,
        super::reports::api_report, super::referrals::api_create, super::referrals::api_import),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
