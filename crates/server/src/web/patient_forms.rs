//! Secure forms on the web.
//!
//! Public (no staff session; the link's token is the only key): `GET /f/{token}` shows the
//! form (or the date-of-birth check), `POST /f/{token}/identity` checks the date of birth,
//! `POST /f/{token}` submits (multipart, for photos). Expired, used and locked links get
//! plain pages; unknown and revoked links get the same page, so no one learns whether a token
//! ever existed. Pages are never cached and work without script except the signature pad
//! (`static/form.js` also keeps progress in `localStorage` and shows conditional questions).
//!
//! Staff (behind the session layer): `POST /c/{id}/forms` sends a form from the conversation,
//! `POST /forms/requests/{id}/revoke`, `GET /forms/{id}` the printable submission (audited),
//! `GET /forms/{id}/files/{file}` its images, `GET /forms/{id}/fhir` the QuestionnaireResponse,
//! `GET /forms/{id}/pdf` the submission as a PDF (audited like the view).

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use frontdesk_domain::forms::{Answer, FieldError, FieldKind, FormDefinition, Upload, image};
use frontdesk_services::forms::{FormRequestView, PublicForm, SubmitOutcome, Unavailable};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::dashboard::{local_time, see_other};
use super::home::render;
use super::pages::{Chrome, error_page};
use super::session::{Staff, client_ip};

/// The largest form post: two photos at their limit plus the rest.
pub const MAX_FORM_BYTES: usize = 2 * image::MAX_PHOTO_BYTES + 1024 * 1024;

pub fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/f/{token}", get(public_page).post(public_submit))
        .route("/f/{token}/identity", post(public_identity))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
}

pub fn staff_routes() -> Router<AppState> {
    Router::new()
        .route("/c/{id}/forms", post(send))
        .route("/forms/requests/{id}/revoke", post(revoke))
        .route("/forms/{id}", get(submission))
        .route("/forms/{id}/fhir", get(fhir))
        .route("/forms/{id}/pdf", get(pdf))
        .route("/forms/{id}/files/{file}", get(file))
}

// ---- public pages -------------------------------------------------------------------------

pub struct OptView {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

pub struct FieldView {
    pub id: String,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    pub help: String,
    pub options: Vec<OptView>,
    pub value: String,
    pub error: String,
    pub show_if_field: String,
    pub show_if_value: String,
    pub show_if_label: String,
}

#[derive(Template)]
#[template(path = "form_page.html")]
struct FormPage {
    practice: String,
    token: String,
    title: String,
    description: String,
    fields: Vec<FieldView>,
    errors: Vec<FieldError>,
    dob: String,
    storage_key: String,
}

#[derive(Template)]
#[template(path = "form_identity.html")]
struct IdentityPage {
    practice: String,
    token: String,
    title: String,
    error: String,
}

#[derive(Template)]
#[template(path = "form_notice.html")]
struct NoticePage {
    practice: String,
    title: String,
    message: String,
    storage_key: String,
}

/// Public pages are private to the patient: never cached, never sent as a referrer.
fn private(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    r
}

fn practice(state: &AppState) -> String {
    state.services.settings().name.clone()
}

/// The key under which `form.js` keeps a draft: derived from the token, never the token.
fn storage_key(token: &str) -> String {
    format!("fd-form-{}", &frontdesk_services::forms::token_hash(token)[..16])
}

fn notice(state: &AppState, token: &str, status: StatusCode, title: &str, message: &str) -> Response {
    private(render(
        &NoticePage {
            practice: practice(state),
            title: title.into(),
            message: message.into(),
            storage_key: if token.is_empty() { String::new() } else { storage_key(token) },
        },
        status,
    ))
}

fn unavailable(state: &AppState, token: &str, u: Unavailable) -> Response {
    let p = practice(state);
    match u {
        // Unknown and revoked links: one page, one status.
        Unavailable::NotFound => notice(
            state,
            // No draft key either: the page must be the same for every such link.
            "",
            StatusCode::NOT_FOUND,
            "This link does not work",
            &format!(
                "Check that you opened the whole link from the text. If it still does not work, reply to {p}'s text and we will send you a new one."
            ),
        ),
        Unavailable::Expired => notice(
            state,
            token,
            StatusCode::GONE,
            "This link has expired",
            &format!(
                "For your privacy, form links work for a limited time. Reply to {p}'s text and we will send you a new one."
            ),
        ),
        Unavailable::Submitted => notice(
            state,
            token,
            StatusCode::GONE,
            "This form was already sent",
            &format!(
                "We have your answers; a form can be sent only once. If you need to change something, reply to {p}'s text."
            ),
        ),
        Unavailable::Locked => notice(
            state,
            token,
            StatusCode::FORBIDDEN,
            "This link is locked",
            &format!(
                "The date of birth did not match too many times, so the link was locked to protect your information. Reply to {p}'s text and we will send you a new one."
            ),
        ),
    }
}

fn field_views(form: &FormDefinition, raw: &BTreeMap<String, Vec<String>>, errors: &[FieldError]) -> Vec<FieldView> {
    form.fields
        .iter()
        .map(|f| {
            let values = raw.get(&f.id).cloned().unwrap_or_default();
            let options: Vec<OptView> = match &f.kind {
                FieldKind::YesNo => [("yes", "Yes"), ("no", "No")]
                    .iter()
                    .map(|(v, l)| OptView {
                        value: (*v).into(),
                        label: (*l).into(),
                        checked: values.iter().any(|x| x == v),
                    })
                    .collect(),
                k => k
                    .options()
                    .iter()
                    .map(|o| OptView {
                        value: o.value.clone(),
                        label: o.label.clone(),
                        checked: values.contains(&o.value),
                    })
                    .collect(),
            };
            let (show_if_field, show_if_value, show_if_label) = match &f.show_if {
                Some(c) => {
                    let parent = form.field(&c.field);
                    let answer_label = parent
                        .and_then(|p| p.kind.options().iter().find(|o| o.value == c.equals).map(|o| o.label.clone()))
                        .unwrap_or_else(|| if c.equals == "yes" { "Yes".into() } else { c.equals.clone() });
                    (
                        c.field.clone(),
                        c.equals.clone(),
                        format!(
                            "Only if you answered “{answer_label}” to “{}”",
                            parent.map(|p| p.label.as_str()).unwrap_or("")
                        ),
                    )
                }
                None => Default::default(),
            };
            FieldView {
                id: f.id.clone(),
                label: f.label.clone(),
                kind: f.kind.word(),
                required: f.required,
                help: f.help.clone().unwrap_or_default(),
                options,
                value: if matches!(f.kind, FieldKind::Signature) {
                    String::new()
                } else {
                    values.first().cloned().unwrap_or_default()
                },
                error: errors
                    .iter()
                    .filter(|e| e.field == f.id)
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
                show_if_field,
                show_if_value,
                show_if_label,
            }
        })
        .collect()
}

fn form_page(
    state: &AppState,
    token: &str,
    form: &FormDefinition,
    raw: &BTreeMap<String, Vec<String>>,
    errors: Vec<FieldError>,
    dob: &str,
    status: StatusCode,
) -> Response {
    private(render(
        &FormPage {
            practice: practice(state),
            token: token.into(),
            title: form.title.clone(),
            description: form.description.clone(),
            fields: field_views(form, raw, &errors),
            errors,
            dob: dob.into(),
            storage_key: storage_key(token),
        },
        status,
    ))
}

fn public_form(state: &AppState, token: &str, page: PublicForm, dob: &str) -> Response {
    match page {
        PublicForm::Unavailable(u) => unavailable(state, token, u),
        PublicForm::NeedsIdentity { form_title, error } => {
            let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
            private(render(
                &IdentityPage {
                    practice: practice(state),
                    token: token.into(),
                    title: form_title,
                    error: error.unwrap_or_default(),
                },
                status,
            ))
        }
        PublicForm::Ready { form } => form_page(state, token, &form, &BTreeMap::new(), Vec::new(), dob, StatusCode::OK),
    }
}

fn unavailable_service(state: &AppState, token: &str, e: &frontdesk_services::ServiceError) -> Response {
    tracing::warn!(error = %e, "secure form request failed");
    notice(
        state,
        token,
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "We could not open the form just now. Please try again in a minute.",
    )
}

pub async fn public_page(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    match state.services.open_form(&token, None, client_ip(&headers)).await {
        Ok(page) => public_form(&state, &token, page, ""),
        Err(e) => unavailable_service(&state, &token, &e),
    }
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    dob: String,
}

pub async fn public_identity(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(f): Form<IdentityForm>,
) -> Response {
    match state.services.open_form(&token, Some(&f.dob), client_ip(&headers)).await {
        Ok(page) => public_form(&state, &token, page, &f.dob),
        Err(e) => unavailable_service(&state, &token, &e),
    }
}

#[derive(Template)]
#[template(path = "form_done.html")]
struct DonePage {
    practice: String,
    storage_key: String,
}

pub async fn public_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let bad_upload =
        |message: &str| notice(&state, &token, StatusCode::BAD_REQUEST, "The form could not be sent", message);
    let Ok(mut multipart) = multipart else {
        return bad_upload("The form did not arrive as expected. Go back and send it again.");
    };
    let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut uploads: BTreeMap<String, Upload> = BTreeMap::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let file_name = field.file_name().map(str::to_string);
                match field.bytes().await {
                    Ok(bytes) => match file_name {
                        Some(file_name) => {
                            if !bytes.is_empty() {
                                uploads.insert(name, Upload { file_name, bytes: bytes.to_vec() });
                            }
                        }
                        None => raw.entry(name).or_default().push(String::from_utf8_lossy(&bytes).into_owned()),
                    },
                    Err(e) => return upload_error(&state, &token, e.status()),
                }
            }
            Ok(None) => break,
            Err(e) => return upload_error(&state, &token, e.status()),
        }
    }
    let dob = raw.get("_dob").and_then(|v| v.first()).cloned().unwrap_or_default();
    let page_raw = raw.clone();
    match state.services.submit_form(&token, raw, uploads, client_ip(&headers)).await {
        Ok(SubmitOutcome::Accepted { .. }) => {
            private(render(&DonePage { practice: practice(&state), storage_key: storage_key(&token) }, StatusCode::OK))
        }
        Ok(SubmitOutcome::Invalid { form, errors }) => {
            form_page(&state, &token, &form, &page_raw, errors, &dob, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Ok(SubmitOutcome::Page(page)) => public_form(&state, &token, page, &dob),
        Err(e) => unavailable_service(&state, &token, &e),
    }
}

fn upload_error(state: &AppState, token: &str, status: StatusCode) -> Response {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        notice(
            state,
            token,
            StatusCode::PAYLOAD_TOO_LARGE,
            "The photos are too large",
            &format!(
                "Each photo can be at most {} MB. Nothing was sent: go back, take the photos again at a lower resolution, and send the form again.",
                image::MAX_PHOTO_BYTES / 1_048_576
            ),
        )
    } else {
        notice(
            state,
            token,
            StatusCode::BAD_REQUEST,
            "The form could not be sent",
            "The upload was interrupted. Nothing was sent: go back and send the form again.",
        )
    }
}

// ---- staff --------------------------------------------------------------------------------

/// A form request as the conversation page lists it.
pub struct FormRow {
    pub id: String,
    pub title: String,
    pub status: String,
    pub sent: String,
    pub submission_id: String,
    pub score: String,
    pub flagged: bool,
    pub can_revoke: bool,
}

/// The built-in and custom forms for the conversation's "Send a secure form" control.
pub async fn form_choices(state: &AppState) -> Result<Vec<(String, String)>, frontdesk_services::ServiceError> {
    Ok(state.services.all_forms().await?.into_iter().map(|f| (f.key, f.title)).collect())
}

/// An admin's preview of a form: the patient's page itself, with answers filled in from
/// `raw` (none at first). Its submit goes nowhere useful (`/f/preview` is no link).
pub fn preview_page(state: &AppState, form: &FormDefinition) -> Response {
    form_page(state, "preview", form, &BTreeMap::new(), Vec::new(), "", StatusCode::OK)
}

fn score_line(s: &frontdesk_domain::forms::Score) -> String {
    format!("score {} of {} ({})", s.total, s.max, s.band)
}

/// The conversation page's list of form requests (part of its audited view).
pub async fn conversation_forms(
    state: &AppState,
    staff: &Staff,
    conversation_id: Uuid,
) -> Result<Vec<FormRow>, frontdesk_services::ServiceError> {
    let rows = state.services.conversation_forms(&staff.ctx, conversation_id).await?;
    Ok(rows.into_iter().map(|v: FormRequestView| row(state, staff, v)).collect())
}

fn row(state: &AppState, staff: &Staff, v: FormRequestView) -> FormRow {
    let score = v.submission.as_ref().and_then(|s| s.score.as_ref());
    FormRow {
        id: v.request.id.to_string(),
        title: v.title,
        status: v.status.as_str().to_string(),
        sent: local_time(state, v.request.created_at),
        submission_id: v.submission.as_ref().map(|s| s.id.to_string()).unwrap_or_default(),
        score: score.map(score_line).unwrap_or_default(),
        flagged: score.is_some_and(|s| !s.flags.is_empty()),
        can_revoke: v.status.is_open() && staff.ctx.user.role != frontdesk_domain::model::Role::Auditor,
    }
}

#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    form: String,
}

pub async fn send(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    Form(f): Form<SendForm>,
) -> Response {
    match state.services.send_form(&staff.ctx, id, &f.form, staff.ip.clone()).await {
        Ok(_) => see_other(&format!("/c/{id}")),
        Err(e) => error_page(&e),
    }
}

pub async fn revoke(State(state): State<AppState>, staff: Staff, Path(id): Path<Uuid>) -> Response {
    match state.services.revoke_form(&staff.ctx, id, staff.ip.clone()).await {
        Ok(()) => match state.services.store.form_request_by_id(id).await {
            Ok(Some(r)) => see_other(&format!("/c/{}", r.conversation_id)),
            _ => see_other("/"),
        },
        Err(e) => error_page(&e),
    }
}

pub struct AnswerRow {
    pub label: String,
    pub heading: bool,
    pub text: String,
    pub image: String,
}

#[derive(Template)]
#[template(path = "form_submission.html")]
struct SubmissionPage {
    chrome: Chrome,
    id: String,
    conversation_id: String,
    who: String,
    title: String,
    submitted: String,
    score: String,
    flags: Vec<String>,
    rows: Vec<AnswerRow>,
}

fn answer_text(form: &FormDefinition, field: &str, a: &Answer) -> String {
    let label = |v: &str| {
        form.field(field)
            .and_then(|f| f.kind.options().iter().find(|o| o.value == v).map(|o| o.label.clone()))
            .unwrap_or_else(|| v.to_string())
    };
    match a {
        Answer::Text(s) => s.clone(),
        Answer::Number(n) => n.to_string(),
        Answer::Date(d) => d.format("%b %-d, %Y").to_string(),
        Answer::Choice(v) => label(v),
        Answer::Choices(vs) => vs.iter().map(|v| label(v)).collect::<Vec<_>>().join(", "),
        Answer::Bool(b) => if *b { "Yes" } else { "No" }.into(),
        Answer::File { content_type, .. } => content_type.clone(),
    }
}

pub async fn submission(State(state): State<AppState>, staff: Staff, Path(id): Path<Uuid>) -> Response {
    let view = match state.services.view_submission(&staff.ctx, id, staff.ip.clone()).await {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    let s = &view.summary;
    let rows = view
        .form
        .fields
        .iter()
        .map(|f| {
            if matches!(f.kind, FieldKind::Heading) {
                return AnswerRow { label: f.label.clone(), heading: true, text: String::new(), image: String::new() };
            }
            let a = view.submission.answers.get(&f.id);
            AnswerRow {
                label: f.label.clone(),
                heading: false,
                text: match a {
                    Some(a) => answer_text(&view.form, &f.id, a),
                    None => "(not answered)".into(),
                },
                image: match a {
                    Some(Answer::File { id: file, .. }) => format!("/forms/{id}/files/{file}"),
                    _ => String::new(),
                },
            }
        })
        .collect();
    let page = SubmissionPage {
        chrome: Chrome::new(&state, &staff, "inbox"),
        id: id.to_string(),
        conversation_id: s.conversation.id.to_string(),
        who: match &s.patient {
            Some(p) => format!("{} {}", p.first_name, p.last_name),
            None => s.contact.phone.display(),
        },
        title: view.form.title.clone(),
        submitted: local_time(&state, view.submission.created_at),
        score: view.submission.score.as_ref().map(score_line).unwrap_or_default(),
        flags: view.submission.score.as_ref().map(|s| s.flags.clone()).unwrap_or_default(),
        rows,
    };
    let mut r = render(&page, StatusCode::OK);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub async fn file(State(state): State<AppState>, staff: Staff, Path((id, file)): Path<(Uuid, Uuid)>) -> Response {
    match state.services.submission_file(&staff.ctx, id, file, staff.ip.clone()).await {
        Ok(f) => {
            // Only the types the checks let in; anything else is served as bytes.
            let ct = match f.content_type.as_str() {
                "image/png" => "image/png",
                "image/jpeg" => "image/jpeg",
                _ => "application/octet-stream",
            };
            (
                [
                    (header::CONTENT_TYPE, ct),
                    (header::CACHE_CONTROL, "no-store"),
                    (header::CONTENT_DISPOSITION, "inline"),
                ],
                f.bytes,
            )
                .into_response()
        }
        Err(e) => error_page(&e),
    }
}

pub async fn fhir(State(state): State<AppState>, staff: Staff, Path(id): Path<Uuid>) -> Response {
    match state.services.submission_fhir(&staff.ctx, id, staff.ip.clone()).await {
        Ok(json) => (
            [
                (header::CONTENT_TYPE, "application/fhir+json; charset=utf-8".to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"questionnaire-response-{id}.json\"")),
            ],
            json.to_string(),
        )
            .into_response(),
        Err(e) => error_page(&e),
    }
}

/// One line of the PDF: its text, size, and whether it is bold.
pub(crate) struct PdfLine {
    pub(crate) text: String,
    pub(crate) size: f32,
    pub(crate) bold: bool,
    /// Extra space above, in millimetres.
    pub(crate) gap: f32,
}

/// Cuts `text` into lines of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word = word.to_string();
            while word.chars().count() > width {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                out.push(head);
            }
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        out.push(line);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// What the built-in PDF fonts can draw (WinAnsi): anything else becomes `?`.
fn pdf_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            '\u{2013}' | '\u{2014}' => '-',
            c if c == '\n' || (' '..='~').contains(&c) || ('\u{a0}'..='\u{ff}').contains(&c) => c,
            _ => '?',
        })
        .collect()
}

/// Lays out `lines` on Letter pages (Helvetica) and returns the PDF's bytes.
pub(crate) fn render_pdf(title: &str, lines: &[PdfLine]) -> Result<Vec<u8>, String> {
    use printpdf::{BuiltinFont, Mm, PdfDocument};
    const PAGE_W: f32 = 215.9;
    const PAGE_H: f32 = 279.4;
    const MARGIN: f32 = 20.0;
    let (doc, page, layer) = PdfDocument::new(pdf_text(title), Mm(PAGE_W), Mm(PAGE_H), "page");
    let regular = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(|e| e.to_string())?;
    let bold = doc.add_builtin_font(BuiltinFont::HelveticaBold).map_err(|e| e.to_string())?;
    let mut layer = doc.get_page(page).get_layer(layer);
    let mut y = PAGE_H - MARGIN;
    for line in lines {
        // Helvetica averages about half an em per character.
        let em_mm = line.size * 0.3528;
        let width = (((PAGE_W - 2.0 * MARGIN) / (em_mm * 0.5)) as usize).max(20);
        y -= line.gap;
        for piece in wrap(&pdf_text(&line.text), width) {
            let height = em_mm * 1.35;
            if y - height < MARGIN {
                let (p, l) = doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "page");
                layer = doc.get_page(p).get_layer(l);
                y = PAGE_H - MARGIN;
            }
            y -= height;
            layer.use_text(piece, line.size, Mm(MARGIN), Mm(y), if line.bold { &bold } else { &regular });
        }
    }
    doc.save_to_bytes().map_err(|e| e.to_string())
}

/// The submission as a PDF: practice, form, patient, time, each question and answer, the
/// score and its band. Photos and signatures are listed (open them from the submission page).
/// Same access checks and audit (`form.view`) as the page.
pub async fn pdf(State(state): State<AppState>, staff: Staff, Path(id): Path<Uuid>) -> Response {
    let view = match state.services.view_submission(&staff.ctx, id, staff.ip.clone()).await {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    let s = &view.summary;
    let line = |text: String, size: f32, bold: bool, gap: f32| PdfLine { text, size, bold, gap };
    let mut lines = vec![
        line(state.services.settings().name.clone(), 10.0, false, 0.0),
        line(view.form.title.clone(), 18.0, true, 2.0),
        line(
            format!(
                "Patient: {}",
                match &s.patient {
                    Some(p) => format!("{} {}", p.first_name, p.last_name),
                    None => s.contact.phone.display(),
                }
            ),
            11.0,
            false,
            3.0,
        ),
        line(format!("Submitted: {}", local_time(&state, view.submission.created_at)), 11.0, false, 0.0),
    ];
    if let Some(score) = &view.submission.score {
        lines.push(line(format!("Score: {}", score_line(score)), 12.0, true, 3.0));
        for flag in &score.flags {
            lines.push(line(format!("Flagged: {flag}"), 11.0, true, 0.0));
        }
    }
    for f in &view.form.fields {
        if matches!(f.kind, FieldKind::Heading) {
            lines.push(line(f.label.clone(), 13.0, true, 5.0));
            continue;
        }
        let answer = match view.submission.answers.get(&f.id) {
            Some(Answer::File { content_type, .. }) => {
                let what = if matches!(f.kind, FieldKind::Signature) { "signature" } else { "photo" };
                format!("[{what} ({content_type}) attached: open it from the submission page]")
            }
            Some(a) => answer_text(&view.form, &f.id, a),
            None => "(not answered)".into(),
        };
        lines.push(line(f.label.clone(), 11.0, true, 3.0));
        lines.push(line(answer, 11.0, false, 0.5));
    }
    let title = format!("{} - {}", view.form.title, id);
    match tokio::task::spawn_blocking(move || render_pdf(&title, &lines)).await {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
                (header::CONTENT_DISPOSITION, format!("inline; filename=\"form-submission-{id}.pdf\"")),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(detail)) => error_page(&frontdesk_services::ServiceError::Internal(format!("pdf: {detail}"))),
        Err(e) => error_page(&frontdesk_services::ServiceError::Internal(format!("pdf: {e}"))),
    }
}
