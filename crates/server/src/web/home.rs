//! Page rendering shared by every HTML page, and the HTML 404. (`/` is the staff inbox, in
//! `web::dashboard`.)

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

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

pub async fn not_found() -> Response {
    render(&NotFoundPage, StatusCode::NOT_FOUND)
}
