//! Errors as front ends see them: a code to branch on and a message to show. Messages say
//! what happens next or what the person can do; they never carry a secret (the clients'
//! errors are built without them, and `Secret` never prints).

use serde::Serialize;

use odoo365_auth::{AuthError, KeychainError};
use odoo365_graph::GraphError;
use odoo365_odoo::OdooError;

/// What kind of failure, for the UI and the CLI's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    /// Microsoft needs an interactive sign-in (`odoo365 login`).
    SignInNeeded,
    /// Odoo refused the API key: a new one must be entered.
    OdooKeyRefused,
    ConflictsPending,
    /// The mass-change or attendee-impact guard paused a cycle until confirmed.
    GuardTripped,
    /// A service could not be reached, or asked us to slow down; trying later helps.
    Network,
    /// Another sync of the same profile is running (the daemon, or another window).
    Busy,
    Storage,
    Keychain,
    Internal,
}

/// An error for a front end: `code` to branch on, `message` for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// When a service asked to be left alone for a while (`Retry-After`), how long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        AppError::new(ErrorCode::Internal, e.to_string())
    }
}

impl From<odoo365_engine::StoreError> for AppError {
    fn from(e: odoo365_engine::StoreError) -> Self {
        AppError::new(ErrorCode::Storage, e.to_string())
    }
}

impl From<KeychainError> for AppError {
    fn from(e: KeychainError) -> Self {
        AppError::new(ErrorCode::Keychain, e.to_string())
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        let code = match &e {
            AuthError::SignInNeeded { .. } => ErrorCode::SignInNeeded,
            AuthError::Declined(_) | AuthError::TimedOut(_) | AuthError::StateMismatch => {
                ErrorCode::SignInNeeded
            }
            AuthError::NoBrowser(_) | AuthError::Config(_) | AuthError::Refused { .. } => {
                ErrorCode::InvalidInput
            }
            AuthError::Network(_) => ErrorCode::Network,
            AuthError::Keychain(_) => ErrorCode::Keychain,
        };
        let mut message = e.to_string();
        if code == ErrorCode::SignInNeeded {
            message.push_str(
                "; sync of this profile waits until you sign in again with `odoo365 login`",
            );
        }
        AppError::new(code, message)
    }
}

impl From<OdooError> for AppError {
    fn from(e: OdooError) -> Self {
        let code = match &e {
            OdooError::Unauthorized(_) => ErrorCode::OdooKeyRefused,
            OdooError::NotSent { .. }
            | OdooError::Network { .. }
            | OdooError::Throttled { .. }
            | OdooError::Unavailable { .. }
            | OdooError::MaybeApplied { .. }
            | OdooError::Concurrency(_)
            | OdooError::Server(_) => ErrorCode::Network,
            OdooError::Version(_) | OdooError::Invalid(_) => ErrorCode::InvalidInput,
            _ => ErrorCode::Internal,
        };
        let retry_after_s = match &e {
            OdooError::Throttled {
                retry_after: Some(d),
            } => Some(d.as_secs().max(1)),
            _ => None,
        };
        AppError {
            code,
            message: format!("Odoo: {e}"),
            retry_after_s,
        }
    }
}

impl From<GraphError> for AppError {
    fn from(e: GraphError) -> Self {
        let (code, retry_after_s) = match &e {
            GraphError::Unauthorized { .. } => (ErrorCode::SignInNeeded, None),
            GraphError::Throttled { retry_after, .. } => {
                (ErrorCode::Network, Some(retry_after.as_secs().max(1)))
            }
            GraphError::NotSent { .. } | GraphError::MaybeApplied { .. } => {
                (ErrorCode::Network, None)
            }
            GraphError::Invalid(_) => (ErrorCode::InvalidInput, None),
            _ => (ErrorCode::Internal, None),
        };
        let mut message = format!("Microsoft 365: {e}");
        if code == ErrorCode::SignInNeeded {
            message.push_str("; run `odoo365 login` to sign in again");
        }
        AppError {
            code,
            message,
            retry_after_s,
        }
    }
}
