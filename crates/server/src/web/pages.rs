//! What every dashboard page shares: rendering, and the plain pages for errors.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use frontdesk_services::ServiceError;

use super::AppState;
use super::home::render;
use super::session::Staff;

/// What the frame of every signed-in page shows (`templates/staff_base.html`).
pub struct Chrome {
    pub practice: String,
    pub user_name: String,
    pub is_admin: bool,
    /// Admins and auditors read the audit log.
    pub can_audit: bool,
    /// Admins and auditors see the Reports entry.
    pub can_report: bool,
    /// Admins and staff without department limits send broadcasts.
    pub can_broadcast: bool,
    pub csrf: String,
    /// The navigation entry to mark current: `inbox`, `search`, `new`, `admin`.
    pub section: &'static str,
    /// The browser signs out after this long without input (the server enforces it too).
    pub idle_minutes: i64,
}

impl Chrome {
    pub fn new(state: &AppState, staff: &Staff, section: &'static str) -> Chrome {
        Chrome {
            practice: state.services.settings().name.clone(),
            user_name: staff.ctx.user.name.clone(),
            is_admin: staff.ctx.is_admin(),
            can_audit: matches!(
                staff.ctx.user.role,
                frontdesk_domain::model::Role::Admin | frontdesk_domain::model::Role::Auditor
            ),
            can_report: frontdesk_services::reports::require_reports(&staff.ctx).is_ok(),
            can_broadcast: frontdesk_services::broadcasts::require_broadcaster(&staff.ctx).is_ok(),
            csrf: staff.csrf().to_string(),
            section,
            idle_minutes: state.services.session_policy.idle.num_minutes(),
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A short page with a title and one sentence: refusals, expired forms, missing records.
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    render(&MessagePage { title, message }, status)
}

/// The page for a use case's refusal, with the status it deserves. Internal details are
/// logged, never shown.
pub fn error_page(e: &ServiceError) -> Response {
    let (status, title) = match e {
        ServiceError::Invalid { .. } | ServiceError::PhiWarning(_) | ServiceError::PhiBlocked(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "Please check")
        }
        ServiceError::OptedOut | ServiceError::Conflict(_) | ServiceError::ProviderMissing(_) => {
            (StatusCode::CONFLICT, "Not possible")
        }
        ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
        ServiceError::UnknownNumber(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Unknown number"),
        ServiceError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "Sign in"),
        ServiceError::Forbidden(_) => (StatusCode::FORBIDDEN, "Not allowed"),
        ServiceError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "Busy"),
        ServiceError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error on a dashboard page");
            return message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not finish this. It has been logged; try again, and tell your admin if it keeps happening.",
            );
        }
    };
    message_page(status, title, &e.to_string())
}
