//! Errors as front ends see them: a code to branch on and a message to show.

use serde::Serialize;

/// What kind of failure, for the UI and the CLI's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    SignInNeeded,
    ConflictsPending,
    GuardTripped,
    Network,
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
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
        }
    }
}

impl From<odoo365_engine::StoreError> for AppError {
    fn from(e: odoo365_engine::StoreError) -> Self {
        AppError::new(ErrorCode::Storage, e.to_string())
    }
}
