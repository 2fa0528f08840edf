//! Graph's error shape: `{"error":{"code","message","innerError":{"request-id","date"}}}`.
//!
//! Handlers return [`GraphError`]; the entry point renders it with the request's id and
//! date, so every error carries the same `request-id` as the response header [ERR].

use axum::http::StatusCode;
use serde_json::{json, Value};

/// One Graph error answer. `code` is what clients branch on; `inner_code` nests one level
/// deeper the way OneDrive does (`{"code":"resourceModified","innerError":{"code":"entityTagDoesNotMatch"}}`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub inner_code: Option<String>,
    /// `Retry-After` seconds (429, 503).
    pub retry_after_s: Option<u64>,
    /// `Location` header (OneDrive delta 410).
    pub location: Option<String>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            inner_code: None,
            retry_after_s: None,
            location: None,
        }
    }

    pub fn with_inner(mut self, code: &str) -> Self {
        self.inner_code = Some(code.to_string());
        self
    }

    pub fn with_retry_after(mut self, s: u64) -> Self {
        self.retry_after_s = Some(s);
        self
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A body that is not the JSON the operation takes.
    pub fn invalid_body(detail: impl std::fmt::Display) -> Self {
        Self::bad_request(
            "BadRequest",
            format!("Unable to read JSON request payload: {detail}"),
        )
    }

    /// Outlook's "not found" [obs].
    pub fn outlook_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        )
    }

    /// OneDrive's "not found" [ERR].
    pub fn item_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The resource could not be found.",
        )
    }

    pub fn unauthenticated(message: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }

    pub fn unsupported_segment(segment: &str) -> Self {
        Self::bad_request(
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    }

    /// The body Graph sends, with this request's id and date.
    pub fn body(&self, request_id: &str, client_request_id: Option<&str>, date: &str) -> Value {
        let mut inner = json!({ "request-id": request_id, "date": date });
        if let Some(c) = client_request_id {
            inner["client-request-id"] = json!(c);
        }
        if let Some(code) = &self.inner_code {
            inner["code"] = json!(code);
        }
        json!({ "error": { "code": self.code, "message": self.message, "innerError": inner } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_body_has_graphs_shape_with_request_id_and_inner_code() {
        let e = GraphError::new(StatusCode::PRECONDITION_FAILED, "resourceModified", "stale")
            .with_inner("entityTagDoesNotMatch");
        let body = e.body("rid-1", Some("cid-9"), "2026-01-01T00:00:00");
        assert_eq!(body["error"]["code"], "resourceModified");
        assert_eq!(body["error"]["message"], "stale");
        assert_eq!(body["error"]["innerError"]["request-id"], "rid-1");
        assert_eq!(body["error"]["innerError"]["client-request-id"], "cid-9");
        assert_eq!(body["error"]["innerError"]["date"], "2026-01-01T00:00:00");
        assert_eq!(body["error"]["innerError"]["code"], "entityTagDoesNotMatch");
    }
}
