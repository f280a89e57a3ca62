//! Security headers on every response, and a catch-all for panics so no stack trace reaches
//! anyone.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, header};
use axum::middleware::Next;
use axum::response::Response;

/// Strict defaults; pages use only same-origin scripts and styles. HSTS when the practice is
/// served over https (its public URL says so), so browsers never fall back to http.
pub async fn headers(State(state): State<super::AppState>, request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    // Framing is denied everywhere except where a handler allows named origins (`/start`
    // for the practice's own website, see `front_door.rs`).
    let framers = response.extensions().get::<FrameAncestors>().map(|f| f.0.clone()).unwrap_or_default();
    let h = response.headers_mut();
    if state.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    let ancestors = if framers.is_empty() { "'none'".to_string() } else { framers.join(" ") };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&format!("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'"))
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'")),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if framers.is_empty() {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    // `same-origin`, not `no-referrer`: under no-referrer browsers send `Origin: null` on
    // same-site form posts, which the CSRF origin check (session.rs) must refuse.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    response
}

/// Put in a response's extensions by a handler whose page may be framed by these origins
/// (each already checked to be a single `http(s)://host[:port]`, see
/// `services::front_door::valid_origin`); X-Frame-Options is then left out.
#[derive(Debug, Clone)]
pub struct FrameAncestors(pub Vec<String>);
