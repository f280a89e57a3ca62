//! The landing page at `/` and the HTML 404.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    practice: &'a str,
    simulator: bool,
    numbers: Vec<String>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage;

pub fn render<T: Template>(page: &T, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered; it has been logged").into_response()
        }
    }
}

pub async fn index(State(state): State<AppState>) -> Response {
    let numbers = state
        .services
        .store
        .list_numbers()
        .await
        .map(|ns| ns.into_iter().map(|n| format!("{} ({})", n.e164.as_str(), n.provider)).collect())
        .unwrap_or_default();
    render(
        &HomePage { practice: &state.services.settings().name, simulator: state.simulator.is_some(), numbers },
        StatusCode::OK,
    )
}

pub async fn not_found() -> Response {
    render(&NotFoundPage, StatusCode::NOT_FOUND)
}
