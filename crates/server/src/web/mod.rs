//! The HTTP surface (DESIGN.md §5): provider webhooks, the REST API, the simulator page,
//! operations endpoints. Handlers are thin: parse, call a service, render.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri};
use axum::http::HeaderMap;
use axum::middleware;
use axum::routing::{get, post};
use frontdesk_services::Services;
use metrics_exporter_prometheus::PrometheusHandle;

use admin_departments::{api_get_settings, api_list_departments, api_put_settings};

pub mod admin;
pub mod admin_departments;
pub mod api;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod front_door;
pub mod home;
pub mod ops;
pub mod pages;
pub mod patient_forms;
pub mod pdf;
pub mod referrals;
pub mod reports;
pub mod routing;
pub mod routing_api;
pub mod security;
pub mod session;
pub mod simulator;
pub mod sse;
pub mod webhooks;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub twilio_auth_token: Option<Arc<str>>,
    /// The Telnyx account's Ed25519 key, when Telnyx is configured.
    pub telnyx_public_key: Option<frontdesk_providers::telnyx::PublicKey>,
    /// The HTTP Basic credentials Bandwidth sends with callbacks, when Bandwidth is configured.
    pub bandwidth_callback: Option<Arc<frontdesk_providers::bandwidth::CallbackCredentials>>,
    /// The public base URL providers call, without a trailing slash.
    pub public_url: Option<Arc<str>>,
    pub metrics: PrometheusHandle,
    pub simulator: Option<simulator::SimulatorWeb>,
}

impl AppState {
    /// The URL the provider signed: the configured public URL plus the path and query as
    /// received; without one, what the request itself says (Host, X-Forwarded-Proto).
    pub fn public_request_url(&self, uri: &OriginalUri, headers: &HeaderMap) -> String {
        let path_and_query = uri.0.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
        if let Some(base) = &self.public_url {
            return format!("{base}{path_and_query}");
        }
        let proto = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
        let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
        format!("{proto}://{host}{path_and_query}")
    }
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/conversations", get(api::list_conversations))
        .route("/conversations/{id}", get(api::get_conversation))
        .route("/conversations/{id}/messages", post(api::reply))
        .route("/conversations/{id}/export", get(api::export_conversation))
        .route("/messages", post(api::start_conversation))
        .route("/messages/{id}", get(api::get_message))
        .route("/patients", get(api::list_patients).post(api::create_patient))
        .route("/patients/{id}", get(api::get_patient))
        .route("/patients/{id}/export", get(audit::api_patient_export))
        .route("/audit", get(audit::api_audit))
        .route("/patients/import", post(api::import_patients).layer(DefaultBodyLimit::max(api::MAX_IMPORT_BYTES)))
        .route("/referrals", post(referrals::api_create))
        .route("/referrals/import", post(referrals::api_import).layer(DefaultBodyLimit::max(api::MAX_IMPORT_BYTES)))
        .route("/events", get(sse::events))
        .route("/routing-rules", get(routing_api::get_rules).put(routing_api::put_rules))
        .route("/front-door", get(front_door::api_settings).put(front_door::api_save_settings))
        .route("/sms-policy", get(front_door::api_policy).put(front_door::api_save_policy))
        .route("/departments", get(api_list_departments))
        .route("/departments/{id}/settings", get(api_get_settings).put(api_put_settings))
        .route("/reports", get(reports::api_report))
        .route_layer(middleware::from_fn_with_state(state.clone(), api::require_token))
        .route("/openapi.json", get(api::openapi))
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(256 * 1024));

    let webhooks = Router::new()
        .route("/twilio/messages", post(webhooks::twilio_message))
        .route("/twilio/status", post(webhooks::twilio_status))
        .route("/telnyx", post(webhooks::telnyx))
        .route("/bandwidth", post(webhooks::bandwidth))
        .layer(DefaultBodyLimit::max(webhooks::MAX_WEBHOOK_BYTES));

    // Everything a person signs in for: one session layer (session lookup + CSRF) in front.
    let staff = Router::new()
        .merge(auth::routes())
        .merge(dashboard::routes())
        .merge(admin::routes())
        .merge(routing::routes())
        .merge(admin_departments::routes())
        .merge(audit::routes())
        .merge(patient_forms::staff_routes())
        .merge(front_door::staff_routes())
        .merge(referrals::routes())
        .route("/reports", get(reports::page))
        .route("/reports.csv", get(reports::csv))
        .layer(middleware::from_fn_with_state(state.clone(), session::layer));

    let mut app = Router::new()
        .merge(staff)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/static/{file}", get(assets::serve))
        // Patients' secure forms: the link's token is the key, never a staff session.
        .merge(patient_forms::public_routes())
        // The chat-request form and the SMS policy: public, no session, no cookies.
        .merge(front_door::public_routes())
        .nest("/api/v1", api)
        .nest("/webhooks", webhooks);
    if state.simulator.is_some() {
        app = app.merge(simulator::routes());
    }
    app.fallback(home::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), security::headers))
        .with_state(state)
}
