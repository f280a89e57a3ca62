//! Admin API for triage: `GET /api/v1/routing-rules` and `PUT /api/v1/routing-rules` (the whole
//! ordered list of rules and the text menu, validated as one; a refusal names the rule and
//! field, and nothing is saved).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use frontdesk_domain::triage::{MenuOption, MenuSettings, PatientStatus, Priority, RoutingConfig, RoutingRule};
use frontdesk_services::audit::Actor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::api::{ApiJson, TokenPrincipal};
use super::error::{ApiError, ErrorBody};
use super::session::client_ip;

/// One routing rule. Conditions are optional and all must match; give words or a pattern,
/// not both. The first matching rule wins.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RuleView {
    /// Unique (capitals do not count).
    pub name: String,
    /// Any of these words or phrases, whole words, any capitals.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// A regular expression, case-insensitive.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The practice number texted, E.164.
    #[serde(default)]
    pub number: Option<String>,
    /// The reason key chosen on the web form.
    #[serde(default)]
    pub reason: Option<String>,
    /// `prospective`, `existing` or `unknown`.
    #[serde(default)]
    pub patient_status: Option<String>,
    pub department_id: Uuid,
    /// `normal` (default) or `high`.
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MenuOptionView {
    /// "appointments" in "Reply 1 for appointments".
    pub label: String,
    pub department_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Default)]
pub struct MenuView {
    #[serde(default)]
    pub enabled: bool,
    /// In order: the first is "1".
    #[serde(default)]
    pub options: Vec<MenuOptionView>,
}

/// The routing rules, in order, and the text menu.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoutingRulesView {
    pub rules: Vec<RuleView>,
    #[serde(default)]
    pub menu: MenuView,
}

impl From<RoutingConfig> for RoutingRulesView {
    fn from(c: RoutingConfig) -> Self {
        RoutingRulesView {
            rules: c
                .rules
                .into_iter()
                .map(|r| RuleView {
                    name: r.name,
                    keywords: r.keywords,
                    pattern: r.pattern,
                    number: r.number,
                    reason: r.reason,
                    patient_status: r.patient_status.map(|s| s.as_str().to_string()),
                    department_id: r.department_id,
                    priority: Some(r.priority.as_str().to_string()),
                    tags: r.tags,
                })
                .collect(),
            menu: MenuView {
                enabled: c.menu.enabled,
                options: c
                    .menu
                    .options
                    .into_iter()
                    .map(|o| MenuOptionView { label: o.label, department_id: o.department_id })
                    .collect(),
            },
        }
    }
}

fn to_config(v: RoutingRulesView) -> Result<RoutingConfig, ApiError> {
    let mut rules = Vec::with_capacity(v.rules.len());
    for (i, r) in v.rules.into_iter().enumerate() {
        let patient_status = r
            .patient_status
            .as_deref()
            .map(|s| {
                PatientStatus::parse(s).ok_or_else(|| {
                    ApiError::invalid(
                        &format!("rules[{i}].patient_status"),
                        format!("rule '{}': patient_status is prospective, existing or unknown", r.name),
                    )
                })
            })
            .transpose()?;
        let priority = match r.priority.as_deref() {
            None => Priority::Normal,
            Some(p) => Priority::parse(p).ok_or_else(|| {
                ApiError::invalid(
                    &format!("rules[{i}].priority"),
                    format!("rule '{}': priority is normal or high", r.name),
                )
            })?,
        };
        rules.push(RoutingRule {
            name: r.name,
            keywords: r.keywords,
            pattern: r.pattern,
            number: r.number,
            reason: r.reason,
            patient_status,
            department_id: r.department_id,
            priority,
            tags: r.tags,
        });
    }
    let menu = MenuSettings {
        enabled: v.menu.enabled,
        options: v
            .menu
            .options
            .into_iter()
            .map(|o| MenuOption { label: o.label, department_id: o.department_id })
            .collect(),
    };
    Ok(RoutingConfig { rules, menu })
}

#[utoipa::path(get, path = "/api/v1/routing-rules", security(("bearer" = [])),
    responses((status = 200, body = RoutingRulesView), (status = 401, body = ErrorBody)))]
pub async fn get_rules(State(state): State<AppState>) -> Result<Json<RoutingRulesView>, ApiError> {
    Ok(Json(state.services.routing_config().await?.into()))
}

#[utoipa::path(put, path = "/api/v1/routing-rules", request_body = RoutingRulesView, security(("bearer" = [])),
    responses((status = 200, body = RoutingRulesView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_rules(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<RoutingRulesView>,
) -> Result<(StatusCode, Json<RoutingRulesView>), ApiError> {
    let config = to_config(body)?;
    let saved = state.services.save_routing_config_as(config, Actor::Token(principal.0), client_ip(&headers)).await?;
    Ok((StatusCode::OK, Json(saved.into())))
}
