//! Staff sign-in: `/login` (password), `/login/code` (second factor), `/account/two-factor`
//! (TOTP enrolment, recovery codes) and `/logout`.
//!
//! Sessions, lockout and the second factor are `services::sessions`' business; this module
//! parses forms, throttles attempts per client address and renders the pages. Every failure
//! of the password step answers with the service's one message, so the form never tells
//! whether an email has an account.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use frontdesk_services::ServiceError;
use frontdesk_services::sessions::{CurrentSession, Enrolment, NextStep};
use serde::Deserialize;

use super::AppState;
use super::home::render;
use super::pages::{error_page, message_page};
use super::session::{self, Pending};

/// The key failed attempts from this client are counted under (its address, or one shared
/// key when there is no proxy to report it).
fn client_key(headers: &HeaderMap) -> String {
    session::client_ip(headers).unwrap_or_else(|| "local".to_string())
}

/// Whether this client must wait before trying again. The counts live in the database, so
/// every instance sees the same ones. A database error does not lock people out.
async fn is_blocked(state: &AppState, headers: &HeaderMap) -> bool {
    state.services.sign_in_throttled(&client_key(headers)).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not read the sign-in throttle");
        false
    })
}

/// Counts a failed attempt; true when it used up the client's allowance.
async fn failed(state: &AppState, headers: &HeaderMap) -> bool {
    state.services.count_sign_in_failure(&client_key(headers)).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not count a failed sign-in");
        false
    })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/code", get(code_page).post(code))
        .route("/account/two-factor", get(two_factor_page).post(two_factor_confirm))
        .route("/logout", post(logout))
}

/// `next` if it is a path on this site (one leading `/`, no scheme, no backslash tricks).
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && next.len() <= 2000
        && !next.starts_with("/login")
        && !next.starts_with("/logout");
    ok.then(|| next.to_string())
}

fn with_next(path: &str, next: &Option<String>) -> String {
    match next {
        Some(n) => format!("{path}?next={}", url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()),
        None => path.to_string(),
    }
}

/// Where a session in this state goes next.
fn step_target(step: NextStep, next: &Option<String>) -> String {
    match step {
        NextStep::Done => next.clone().unwrap_or_else(|| "/".to_string()),
        NextStep::SecondFactor => with_next("/login/code", next),
        NextStep::EnrolSecondFactor => with_next("/account/two-factor", next),
    }
}

/// A service message as a sentence.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn too_many() -> Response {
    let mut response = message_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "There were too many failed sign-in attempts from this network. Wait a minute, then try again.",
    );
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
    response
}

// ---- /login ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    practice: String,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
    /// The token of a half-finished sign-in in this browser, so posting again is accepted.
    csrf: String,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    current: Option<Extension<CurrentSession>>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if let Some(Extension(c)) = &current
        && c.next == NextStep::Done
    {
        return Redirect::to(&step_target(NextStep::Done, &next)).into_response();
    }
    let notice = q.expired.is_some().then(|| {
        let minutes = state.services.session_policy.idle.num_minutes();
        format!(
            "You were signed out after {minutes} minute{} without activity. Sign in again to continue.",
            if minutes == 1 { "" } else { "s" }
        )
    });
    let page = LoginPage {
        practice: state.services.settings().name.clone(),
        email: String::new(),
        next: next.unwrap_or_default(),
        error: None,
        notice,
        csrf: current.map(|Extension(c)| c.session.csrf_token).unwrap_or_default(),
    };
    render(&page, StatusCode::OK)
}

async fn login(
    State(state): State<AppState>,
    current: Option<Extension<CurrentSession>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if is_blocked(&state, &headers).await {
        return too_many();
    }
    let next = safe_next(form.next.as_deref());
    let ip = session::client_ip(&headers);
    match state.services.sign_in(&form.email, &form.password, ip.clone()).await {
        Ok(signed_in) => {
            // A half-finished sign-in in this browser is replaced, not left behind.
            if let Some(Extension(old)) = current
                && let Err(e) = state.services.sign_out(&old.session, ip).await
            {
                tracing::warn!(error = %e, "could not end the previous session");
            }
            let mut response = Redirect::to(&step_target(signed_in.next, &next)).into_response();
            response.headers_mut().insert(header::SET_COOKIE, session::set_cookie(&state, &signed_in.cookie_secret));
            response
        }
        Err(ServiceError::Unauthorized(message)) => {
            if failed(&state, &headers).await {
                return too_many();
            }
            let page = LoginPage {
                practice: state.services.settings().name.clone(),
                email: form.email.trim().chars().take(254).collect(),
                next: next.unwrap_or_default(),
                error: Some(sentence(&message)),
                notice: None,
                csrf: current.map(|Extension(c)| c.session.csrf_token).unwrap_or_default(),
            };
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e),
    }
}

// ---- /login/code ----

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    practice: String,
    csrf: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

async fn code_page(State(state): State<AppState>, pending: Pending, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    if pending.current.next != NextStep::SecondFactor {
        return Redirect::to(&step_target(pending.current.next, &next)).into_response();
    }
    let page = CodePage {
        practice: state.services.settings().name.clone(),
        csrf: pending.current.session.csrf_token.clone(),
        next: next.unwrap_or_default(),
        error: None,
    };
    render(&page, StatusCode::OK)
}

async fn code(
    State(state): State<AppState>,
    pending: Pending,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    if pending.current.next != NextStep::SecondFactor {
        return Redirect::to(&step_target(pending.current.next, &next)).into_response();
    }
    if is_blocked(&state, &headers).await {
        return too_many();
    }
    match state.services.verify_second_factor(&pending.current, &form.code, pending.ip.clone()).await {
        Ok(cookie_secret) => {
            // The verified session is a new one (new id and CSRF token): a session id seen
            // before the second factor is worth nothing after it.
            let mut response = Redirect::to(&step_target(NextStep::Done, &next)).into_response();
            response.headers_mut().insert(header::SET_COOKIE, session::set_cookie(&state, &cookie_secret));
            response
        }
        Err(ServiceError::Unauthorized(message)) | Err(ServiceError::Invalid { message, .. }) => {
            if failed(&state, &headers).await {
                return too_many();
            }
            let page = CodePage {
                practice: state.services.settings().name.clone(),
                csrf: pending.current.session.csrf_token.clone(),
                next: next.unwrap_or_default(),
                error: Some(sentence(&message)),
            };
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e),
    }
}

// ---- /account/two-factor ----

#[derive(Template)]
#[template(path = "two_factor.html")]
struct TwoFactorPage {
    practice: String,
    csrf: String,
    next: String,
    /// Required before anything else (admins), or chosen (staff).
    required: bool,
    /// The set-up to show; `None` once codes are shown.
    secret: String,
    qr_svg: String,
    otpauth_url: String,
    error: Option<String>,
    /// Shown once, after the code was accepted.
    recovery_codes: Vec<String>,
    continue_to: String,
}

fn two_factor_page_for(
    state: &AppState,
    current: &CurrentSession,
    next: Option<String>,
    enrolment: Option<Enrolment>,
    error: Option<String>,
    recovery_codes: Vec<String>,
    csrf: String,
) -> TwoFactorPage {
    let enrolment = enrolment.unwrap_or(Enrolment {
        secret_base32: String::new(),
        otpauth_url: String::new(),
        qr_svg: String::new(),
    });
    TwoFactorPage {
        practice: state.services.settings().name.clone(),
        csrf,
        continue_to: next.clone().unwrap_or_else(|| "/".to_string()),
        next: next.unwrap_or_default(),
        required: current.next == NextStep::EnrolSecondFactor,
        secret: enrolment.secret_base32,
        qr_svg: enrolment.qr_svg,
        otpauth_url: enrolment.otpauth_url,
        error,
        recovery_codes,
    }
}

async fn two_factor_page(State(state): State<AppState>, pending: Pending, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    let current = &pending.current;
    if current.next == NextStep::SecondFactor {
        return Redirect::to(&step_target(current.next, &next)).into_response();
    }
    let enrolment = match state.services.pending_totp_enrolment(&current.user).await {
        Ok(Some(e)) => e,
        Ok(None) => match state.services.begin_totp_enrolment(&current.user).await {
            Ok(e) => e,
            Err(ServiceError::Conflict(_)) => {
                return message_page(
                    StatusCode::OK,
                    "Two-factor sign-in is on",
                    "Two-factor sign-in is already on for your account. If you lost your phone, ask an admin to reset it.",
                );
            }
            Err(e) => return error_page(&e),
        },
        Err(e) => return error_page(&e),
    };
    let csrf = current.session.csrf_token.clone();
    render(&two_factor_page_for(&state, current, next, Some(enrolment), None, Vec::new(), csrf), StatusCode::OK)
}

async fn two_factor_confirm(
    State(state): State<AppState>,
    pending: Pending,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let current = &pending.current;
    if current.next == NextStep::SecondFactor {
        return Redirect::to(&step_target(current.next, &next)).into_response();
    }
    if is_blocked(&state, &headers).await {
        return too_many();
    }
    match state.services.confirm_totp_enrolment(current, &form.code, pending.ip.clone()).await {
        Ok(enrolled) => {
            // The verified session is a new one, with its own CSRF token for this page's forms.
            let csrf = match state.services.current_session(&enrolled.cookie_secret).await {
                Ok(Some(fresh)) => fresh.session.csrf_token,
                Ok(None) => String::new(),
                Err(e) => return error_page(&e),
            };
            let mut page = two_factor_page_for(&state, current, next, None, None, enrolled.recovery_codes, csrf);
            page.required = false;
            let mut response = render(&page, StatusCode::OK);
            response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            response.headers_mut().insert(header::SET_COOKIE, session::set_cookie(&state, &enrolled.cookie_secret));
            response
        }
        Err(ServiceError::Invalid { message, .. }) => {
            if failed(&state, &headers).await {
                return too_many();
            }
            let enrolment = match state.services.pending_totp_enrolment(&current.user).await {
                Ok(e) => e,
                Err(e) => return error_page(&e),
            };
            if enrolment.is_none() {
                return Redirect::to(&with_next("/account/two-factor", &next)).into_response();
            }
            let csrf = current.session.csrf_token.clone();
            let page =
                two_factor_page_for(&state, current, next, enrolment, Some(sentence(&message)), Vec::new(), csrf);
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e),
    }
}

// ---- /logout ----

async fn logout(
    State(state): State<AppState>,
    current: Option<Extension<CurrentSession>>,
    headers: HeaderMap,
) -> Response {
    if let Some(Extension(c)) = current
        && let Err(e) = state.services.sign_out(&c.session, session::client_ip(&headers)).await
    {
        return error_page(&e);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(header::SET_COOKIE, session::clear_cookie());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_followed() {
        assert_eq!(safe_next(Some("/conversations/1?x=2")).as_deref(), Some("/conversations/1?x=2"));
        assert_eq!(safe_next(Some("/")).as_deref(), Some("/"));
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example/", "evil", "", "/a\\b", "/login?next=/"]
        {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?} accepted");
        }
        assert_eq!(safe_next(None), None);
    }

    #[test]
    fn service_messages_read_as_sentences() {
        assert_eq!(sentence("the email or password is not right"), "The email or password is not right.");
        assert_eq!(sentence(""), "");
    }
}
