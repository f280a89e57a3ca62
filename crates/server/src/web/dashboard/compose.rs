//! `POST /compose/check`: what the composer shows as staff type, computed with the same domain
//! code the send path uses (encoding, segments, the PHI guard) and the practice's price per
//! segment. Nothing is stored or audited: the words have not been sent.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use frontdesk_domain::sms::{analyze, smart_encode};
use serde::{Deserialize, Serialize};

use crate::web::AppState;
use crate::web::session::Staff;

#[derive(Deserialize)]
pub struct CheckRequest {
    #[serde(default)]
    body: String,
}

#[derive(Serialize)]
struct Smart {
    text: String,
    /// "’ → '", one per replaced character.
    replacements: Vec<String>,
    segments: u32,
    encoding: &'static str,
}

#[derive(Serialize)]
struct CheckAnswer {
    encoding: &'static str,
    segments: u32,
    characters: u32,
    units: u32,
    per_segment: u32,
    /// Characters that force UCS-2.
    non_gsm: Vec<String>,
    cost_cents: f64,
    /// "about 1.7¢" for people.
    cost_label: String,
    summary: String,
    smart: Option<Smart>,
    /// One sentence naming the kinds of health information found, if any.
    phi: Option<String>,
    phi_mode: &'static str,
    too_long: bool,
}

pub async fn check(State(state): State<AppState>, _staff: Staff, Json(req): Json<CheckRequest>) -> Response {
    let settings = state.services.settings();
    // Bound the work per request; the send path refuses more than 1600 characters anyway.
    let body: String = req.body.chars().take(4000).collect();
    let info = analyze(&body);
    let cost = f64::from(info.segments) * settings.segment_cost_cents;
    let smart = smart_encode(&body)
        .filter(|s| s.after.segments < info.segments || s.after.encoding != info.encoding)
        .map(|s| Smart {
            replacements: s
                .replacements
                .iter()
                .map(|(from, to)| format!("{from} → {}", if to.is_empty() { "(nothing)" } else { to }))
                .collect(),
            segments: s.after.segments,
            encoding: s.after.encoding.as_str(),
            text: s.text,
        });
    let findings = frontdesk_domain::phi::detect_phi(&body);
    let phi = (!findings.is_empty()).then(|| frontdesk_domain::phi::describe(&findings));
    let chars = body.chars().count();
    let summary = format!(
        "{} character{} · {} segment{} ({}, {} per segment) · about {:.1}¢",
        chars,
        if chars == 1 { "" } else { "s" },
        info.segments,
        if info.segments == 1 { "" } else { "s" },
        info.encoding.as_str(),
        info.per_segment,
        cost
    );
    Json(CheckAnswer {
        encoding: info.encoding.as_str(),
        segments: info.segments,
        characters: info.characters,
        units: info.units,
        per_segment: info.per_segment,
        non_gsm: info.non_gsm_characters.iter().map(|c| c.to_string()).collect(),
        cost_cents: cost,
        cost_label: format!("about {cost:.1}¢"),
        summary,
        smart,
        phi,
        phi_mode: settings.phi_guard.as_str(),
        too_long: chars > frontdesk_services::outbound::MAX_BODY_CHARS,
    })
    .into_response()
}
