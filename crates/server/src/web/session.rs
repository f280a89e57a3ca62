//! Staff sessions on the web: the cookie, the `Staff` extractor every dashboard handler takes,
//! and CSRF protection for every state-changing request.
//!
//! `layer` runs before dashboard handlers: it resolves the cookie to a live session (idle
//! and absolute limits are enforced in `services::sessions`) and, for any method other than
//! GET/HEAD, requires the session's synchroniser token, either in the `X-CSRF-Token` header
//! (fetch) or in the `_csrf` field of a urlencoded form, plus a same-origin `Origin` when the
//! browser sends one. Handlers then take `Staff` (fully signed in) or `Pending` (password
//! accepted, second factor outstanding).

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use frontdesk_domain::model::Session;
use frontdesk_services::inbox::StaffContext;
use frontdesk_services::sessions::{CurrentSession, NextStep};

use super::AppState;

pub const COOKIE: &str = "fd_session";
/// Largest form body the CSRF check reads (forms here are small; uploads go elsewhere).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// A fully signed-in person.
#[derive(Clone)]
pub struct Staff {
    pub ctx: StaffContext,
    pub session: Session,
    pub ip: Option<String>,
}

impl Staff {
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }
}

/// Signed in with a password, second factor still outstanding (or to be enrolled).
#[derive(Clone)]
pub struct Pending {
    pub current: CurrentSession,
    pub ip: Option<String>,
}

/// The client's address as the proxy in front reports it, else none.
pub fn client_ip(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.len() <= 64)
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, Secure behind https.
pub fn set_cookie(state: &AppState, secret: &str) -> HeaderValue {
    let secure = if state.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("fd_session=; Path=/"))
}

pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("fd_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Resolves the session and enforces CSRF on state-changing requests.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let background = request.headers().contains_key("x-frontdesk-background")
        || request.headers().get(header::ACCEPT).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let current = match cookie_value(request.headers(), COOKIE) {
        Some(secret) if background => match state.services.peek_session(&secret).await {
            Ok(c) => c,
            Err(e) => return super::pages::error_page(&e),
        },
        Some(secret) => match state.services.current_session(&secret).await {
            Ok(c) => c,
            Err(e) => return super::pages::error_page(&e),
        },
        None => None,
    };
    let mut request = request;
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        if !same_origin(request.headers()) {
            return forbidden("This request came from another site and was refused.");
        }
        let Some(current) = &current else {
            // Sign-in itself has no session yet; it is protected by SameSite and Origin.
            if request.uri().path() == "/login" {
                return next.run(request).await;
            }
            return forbidden("Your session has ended. Sign in again, then repeat what you were doing.");
        };
        let expected = current.session.csrf_token.clone();
        let header_token = request.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string);
        let ok = match header_token {
            Some(t) => constant_time_eq(&t, &expected),
            None => {
                let (parts, body) = request.into_parts();
                let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
                    Ok(b) => b,
                    Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response(),
                };
                let token =
                    url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "_csrf").map(|(_, v)| v.into_owned());
                request = Request::from_parts(parts, Body::from(bytes));
                token.is_some_and(|t| constant_time_eq(&t, &expected))
            }
        };
        if !ok {
            return forbidden("This form has expired. Go back, reload the page and try again.");
        }
    }
    if let Some(c) = current {
        request.extensions_mut().insert(c);
    }
    let mut response = next.run(request).await;
    // Staff pages hold patient data (and the two-factor secret): never kept by the browser's
    // cache, so Back after sign-out on a shared front-desk computer shows nothing.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn forbidden(message: &'static str) -> Response {
    super::pages::message_page(StatusCode::FORBIDDEN, "Not allowed", message)
}

fn wants_page(parts: &Parts) -> bool {
    parts.method == Method::GET
        && !parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("application/json") || a.starts_with("text/event-stream"))
}

fn login_redirect(parts: &Parts) -> Response {
    if !wants_page(parts) {
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    }
    let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let target = format!("/login?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
    Redirect::to(&target).into_response()
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(current) = parts.extensions.get::<CurrentSession>().cloned() else {
            return Err(login_redirect(parts));
        };
        match current.next {
            NextStep::Done => {}
            NextStep::SecondFactor => return Err(Redirect::to("/login/code").into_response()),
            NextStep::EnrolSecondFactor => return Err(Redirect::to("/account/two-factor").into_response()),
        }
        let ctx = state.services.staff_context(current.user).await.map_err(|e| super::pages::error_page(&e))?;
        Ok(Staff { ctx, session: current.session, ip: client_ip(&parts.headers) })
    }
}

impl FromRequestParts<AppState> for Pending {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(current) = parts.extensions.get::<CurrentSession>().cloned() else {
            return Err(login_redirect(parts));
        };
        Ok(Pending { current, ip: client_ip(&parts.headers) })
    }
}
