//! Errors typed by what the caller should do next (the smithy-rs taxonomy), and Graph's
//! error body.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything a Graph call can end in, sorted by the caller's next move.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The request never left this machine (connection refused, DNS, TLS, or every attempt
    /// failed before sending). Safe to retry later, even for a create.
    #[error("request not sent: {reason}")]
    NotSent { reason: String },

    /// The request may have reached Graph and been applied, but no answer came back (timeout
    /// or reset after sending a non-idempotent request). Look before re-creating.
    #[error("request may have been applied (no answer after sending): {reason}")]
    MaybeApplied { reason: String },

    /// Graph kept throttling after the retries this client allows; try again after
    /// `retry_after`.
    #[error("throttled by Microsoft Graph ({code}); retry after {retry_after:?}")]
    Throttled {
        retry_after: Duration,
        code: String,
        request_id: Option<String>,
    },

    /// The token was refused even after one refresh, or no token could be had: sign in again.
    #[error("unauthorized ({code}); sign-in needed")]
    Unauthorized {
        code: String,
        request_id: Option<String>,
    },

    /// The `If-Match` eTag is stale (412): re-read, merge and plan again.
    #[error("precondition failed ({code}): the item changed since it was read")]
    PreconditionFailed {
        code: String,
        request_id: Option<String>,
    },

    /// The delta token expired (410, `SyncStateNotFound`, `resyncRequired`): drop the link
    /// and enumerate again. For OneDrive, `location` is the link that starts the new round.
    #[error("delta state expired ({code}); full resync required")]
    ResyncRequired {
        code: String,
        location: Option<String>,
    },

    /// The item does not exist (404).
    #[error("not found ({code})")]
    NotFound {
        code: String,
        request_id: Option<String>,
    },

    /// The upload session expired or vanished (404 on the upload URL): start a new session.
    #[error("upload session expired or unknown")]
    UploadSessionExpired,

    /// Content arrived or was stored with a different QuickXorHash than was computed here.
    #[error("QuickXorHash mismatch: expected {expected}, got {actual}")]
    HashMismatch { expected: String, actual: String },

    /// Any other refusal, with Graph's code and request id for the log.
    #[error("rejected by Microsoft Graph: HTTP {status} {code}: {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },

    /// A response body did not match the model; `path` is the JSON path that failed.
    #[error("could not decode {what} at `{path}`: {message}")]
    Decode {
        what: &'static str,
        path: String,
        message: String,
    },

    /// A URL or argument this client refuses to use (plain http to a non-loopback host, a
    /// link to another origin that would receive the token, a batch over 20 requests, ...).
    #[error("invalid request: {0}")]
    Invalid(String),

    /// Reading the local source or writing the local sink failed.
    #[error("local I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl GraphError {
    /// True when retrying the same request later is safe without looking first.
    pub fn is_retryable_later(&self) -> bool {
        matches!(
            self,
            GraphError::NotSent { .. } | GraphError::Throttled { .. }
        ) || matches!(self, GraphError::Rejected { status, .. } if *status >= 500)
    }
}

/// `{"error": {...}}`, the body of every Graph error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: ErrorDetail,
}

/// Graph's error detail; `innerError` may nest further, more specific codes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(
        rename = "innerError",
        alias = "innererror",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub inner_error: Option<Box<InnerError>>,
}

/// One level of `innerError`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InnerError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(
        rename = "request-id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_id: Option<String>,
    #[serde(
        rename = "client-request-id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(
        rename = "innerError",
        alias = "innererror",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub inner_error: Option<Box<InnerError>>,
}

impl ErrorBody {
    /// Parses an error body leniently: a body that is not Graph's shape gives empty fields.
    pub fn parse(bytes: &[u8]) -> ErrorBody {
        // A top-level `code` (seen on OneDrive's 410) is folded into `error.code`.
        if let Ok(body) = serde_json::from_slice::<ErrorBody>(bytes) {
            if !body.error.code.is_empty() {
                return body;
            }
        }
        #[derive(Deserialize)]
        struct Flat {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        match serde_json::from_slice::<Flat>(bytes) {
            Ok(f) => ErrorBody {
                error: ErrorDetail {
                    code: f.code,
                    message: f.message,
                    inner_error: None,
                },
            },
            Err(_) => ErrorBody::default(),
        }
    }

    /// The top code followed by every nested inner code, outermost first.
    pub fn codes(&self) -> Vec<&str> {
        let mut out = vec![self.error.code.as_str()];
        let mut inner = self.error.inner_error.as_deref();
        while let Some(i) = inner {
            if let Some(c) = i.code.as_deref() {
                out.push(c);
            }
            inner = i.inner_error.as_deref();
        }
        out
    }

    /// True if any code in the chain equals `code`, ignoring case (Graph spells
    /// `SyncStateNotFound` both ways).
    pub fn has_code(&self, code: &str) -> bool {
        self.codes().iter().any(|c| c.eq_ignore_ascii_case(code))
    }

    /// The request id from `innerError`, if present.
    pub fn request_id(&self) -> Option<String> {
        self.error
            .inner_error
            .as_ref()
            .and_then(|i| i.request_id.clone())
    }
}

/// Decodes JSON into `T`, naming the JSON path on failure.
pub fn decode<T: serde::de::DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, GraphError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| GraphError::Decode {
        what,
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_inner_codes_are_walked_outermost_first() {
        let body = ErrorBody::parse(
            br#"{"error":{"code":"resourceModified","message":"m","innerError":{"code":"x","innererror":{"code":"entityTagDoesNotMatch"}}}}"#,
        );
        assert_eq!(
            body.codes(),
            vec!["resourceModified", "x", "entityTagDoesNotMatch"]
        );
        assert!(body.has_code("ENTITYTAGDOESNOTMATCH"));
    }

    #[test]
    fn a_top_level_code_as_onedrive_sends_on_410_is_understood() {
        let body = ErrorBody::parse(br#"{"code":"resyncRequired","message":"apply"}"#);
        assert_eq!(body.error.code, "resyncRequired");
        assert!(ErrorBody::parse(b"<html>").codes() == vec![""]);
    }

    #[test]
    fn the_request_id_comes_from_inner_error() {
        let body = ErrorBody::parse(
            br#"{"error":{"code":"TooManyRequests","message":"m","innerError":{"request-id":"r-1","date":"2020-08-18T12:51:51"}}}"#,
        );
        assert_eq!(body.request_id().as_deref(), Some("r-1"));
    }

    #[test]
    fn a_decode_error_names_the_json_path_that_failed() {
        #[derive(Debug, Deserialize)]
        struct Page {
            #[allow(dead_code)]
            value: Vec<Item>,
        }
        #[derive(Debug, Deserialize)]
        struct Item {
            #[allow(dead_code)]
            size: i64,
        }
        let err = decode::<Page>("page", br#"{"value":[{"size":1},{"size":"big"}]}"#).unwrap_err();
        match err {
            GraphError::Decode { path, what, .. } => {
                assert_eq!(path, "value[1].size");
                assert_eq!(what, "page");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
