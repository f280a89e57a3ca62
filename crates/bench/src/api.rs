//! Small HTTP/1.1 client helpers for Frontdesk's JSON API (bearer token), over keep-alive
//! connections from `load::connect`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};

use crate::load::{self, Sender};

/// One request on `sender` (reconnecting first when the connection broke); the status and
/// the whole body.
pub async fn call(
    sender: &mut Option<Sender>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    json_body: Option<Bytes>,
    timeout: Duration,
) -> anyhow::Result<(u16, Bytes)> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, addr.to_string())
        .header(AUTHORIZATION, format!("Bearer {token}"));
    if json_body.is_some() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    let request = builder.body(Full::new(json_body.unwrap_or_default())).context("building a request")?;
    load::exchange(sender, addr, request, timeout).await
}
