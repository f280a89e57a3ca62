//! Static files compiled into the binary: one stylesheet and the small scripts the pages use.
//! Nothing third-party.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../static/app.css")),
    ("simulator.js", "text/javascript; charset=utf-8", include_str!("../../static/simulator.js")),
    ("dashboard.js", "text/javascript; charset=utf-8", include_str!("../../static/dashboard.js")),
    // Secure forms (`web::patient_forms`).
    ("form.js", "text/javascript; charset=utf-8", include_str!("../../static/form.js")),
    ("form.css", "text/css; charset=utf-8", include_str!("../../static/form.css")),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=300")], *body)
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
