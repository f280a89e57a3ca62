//! Baseline 1: the cheapest server that answers the webhook the way Frontdesk does (200 with
//! the same empty TwiML), on the same HTTP stack (axum on a multi-threaded Tokio runtime), in
//! its own process like the real one. Whatever the generator and the loopback cost shows up
//! here too, so Frontdesk's figures are read as ratios to it.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;

async fn webhook(body: Bytes) -> impl IntoResponse {
    // Read the body as the real handler does, then answer.
    std::hint::black_box(body.len());
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], EMPTY_TWIML)
}

pub fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app =
            Router::new().route(crate::load::INBOUND_PATH, post(webhook)).route("/readyz", get(|| async { "ready" }));
        let listener = tokio::net::TcpListener::bind(listen).await?;
        axum::serve(listener, app).await?;
        anyhow::Ok(())
    })
}
