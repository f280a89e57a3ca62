//! The errors a use case can answer with. Each has a stable machine code (the API's
//! `error.code`) and a message that tells a person what was wrong and what to do.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("the recipient has opted out of texts from this practice; they can text START to resubscribe")]
    OptedOut,
    #[error("{0} was not found")]
    NotFound(String),
    #[error("the number {0} is not one of this practice's numbers; add it with `frontdesk number add`")]
    UnknownNumber(String),
    #[error("{0}")]
    Conflict(String),
    #[error("no {0} provider is configured on this server")]
    ProviderMissing(String),
    #[error("the database is busy or unavailable, try again shortly ({0})")]
    Unavailable(String),
    /// Not signed in, or the credentials were not accepted.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but this role or department may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The text looks like it carries health information; staff must confirm (warn mode).
    #[error("{0}")]
    PhiWarning(String),
    /// The text looks like it carries health information and the practice blocks such texts.
    #[error("{0}")]
    PhiBlocked(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid { field: field.to_string(), message: message.into() }
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid { .. } => "invalid",
            ServiceError::OptedOut => "opted_out",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::UnknownNumber(_) => "unknown_number",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::ProviderMissing(_) => "provider_missing",
            ServiceError::Unavailable(_) => "unavailable",
            ServiceError::Unauthorized(_) => "unauthorized",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::PhiWarning(_) => "phi_warning",
            ServiceError::PhiBlocked(_) => "phi_blocked",
            ServiceError::Internal(_) => "internal",
        }
    }
}
