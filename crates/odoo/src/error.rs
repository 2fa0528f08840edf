//! Errors typed by what the caller does next (STYLE.md, smithy-rs): *not sent*, *maybe
//! applied*, *throttled*, *unauthorized*, a business rejection that keeps Odoo's exception
//! name and message, or a server that is briefly unavailable.

use std::time::Duration;

/// What Odoo said when it refused a call: the Python exception class and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The fully qualified exception class, e.g. `odoo.exceptions.AccessError`
    /// (empty when the server sent a bare string, as the saas-18 JSON-2 prototype did).
    pub name: String,
    /// Odoo's own message, shown to the user as it is.
    pub message: String,
    /// The HTTP status (JSON-2), or `None` when the error came in a JSON-RPC body under 200.
    pub http_status: Option<u16>,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = self.name.rsplit('.').next().unwrap_or(&self.name);
        if short.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{short}: {}", self.message)
        }
    }
}

/// Every way a call to Odoo can fail.
#[derive(Debug, thiserror::Error)]
pub enum OdooError {
    /// The request never left this machine (DNS, connection refused, TLS): safe to retry.
    #[error("could not reach Odoo at {url}: {detail}")]
    NotSent { url: String, detail: String },

    /// A write was sent but its answer was lost (timeout, reset, gateway error). Odoo may
    /// have committed it: look the record up before sending it again.
    #[error("Odoo may or may not have applied {model}.{method}: {detail}; check before retrying")]
    MaybeApplied {
        model: String,
        method: String,
        detail: String,
    },

    /// A read failed on the network after it was sent; reads are retried, this is what is
    /// left when the retries are spent.
    #[error("the connection to Odoo failed during {model}.{method}: {detail}")]
    Network {
        model: String,
        method: String,
        detail: String,
    },

    /// HTTP 429 (or 503 with `Retry-After`): wait `retry_after` (when Odoo said) and retry.
    #[error("Odoo is throttling requests{}", retry_after_text(.retry_after))]
    Throttled { retry_after: Option<Duration> },

    /// 5xx without an Odoo error body (a proxy, a restarting worker): retry later.
    #[error("Odoo is unavailable (HTTP {status}); will try again later")]
    Unavailable { status: u16 },

    /// The API key is wrong, expired (18+ keys last at most 90 days) or revoked, or the
    /// login does not match it.
    #[error("Odoo refused the API key ({}): create a new API key in Odoo (Preferences → Account Security) and enter it again", .0.message)]
    Unauthorized(Fault),

    /// `AccessError`: the user may not read or change this record (including another
    /// user's private event, and companies outside the user's `company_ids`).
    #[error("{0}")]
    Access(Fault),

    /// `MissingError`: the record was deleted in Odoo.
    #[error("{0}")]
    Missing(Fault),

    /// `ValidationError`: a constraint refused the values (e.g. an event ending before it
    /// starts).
    #[error("{0}")]
    Validation(Fault),

    /// `UserError` (and `RedirectWarning`): Odoo refused the operation with a message meant
    /// for the user.
    #[error("{0}")]
    User(Fault),

    /// A serialization or lock conflict (`ConcurrencyError`, `LockError`, psycopg
    /// `SerializationFailure`): Odoo rolled the transaction back, so a retry is safe.
    #[error("{0} (a concurrent update; safe to retry)")]
    Concurrency(Fault),

    /// An unexpected exception on the server (JSON-2 500 with an Odoo error body, or a
    /// database error): Odoo rolled the transaction back. Reads are retried; writes are
    /// not retried by the client (a bug repeats), though a retry would not apply twice.
    #[error("Odoo failed: {0}; will try again later")]
    Server(Fault),

    /// Any other refusal: unknown model or method (404), bad arguments (422). Not retried.
    #[error("Odoo rejected the call: {0}")]
    Rejected(Fault),

    /// The answer did not have the expected shape. `path` names the JSON path that failed.
    #[error("unexpected answer from Odoo to {what} at `{path}`: {message}")]
    Decode {
        what: String,
        path: String,
        message: String,
    },

    /// Downloaded content does not match the attachment's SHA-1 `checksum`.
    #[error("attachment {id} arrived damaged: SHA-1 {actual}, Odoo says {expected}")]
    ChecksumMismatch {
        id: i64,
        expected: String,
        actual: String,
    },

    /// The server's version could not be learned or is not supported.
    #[error("could not use this Odoo server: {0}")]
    Version(String),

    /// A request the client refuses to send (e.g. an upload above the size limit).
    #[error("{0}")]
    Invalid(String),
}

fn retry_after_text(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!("; will try again in {} s", d.as_secs_f64().ceil()),
        None => String::new(),
    }
}

impl OdooError {
    /// Whether repeating the same call can succeed without the caller changing anything,
    /// and without risk of applying a write twice.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            OdooError::NotSent { .. }
                | OdooError::Network { .. }
                | OdooError::Throttled { .. }
                | OdooError::Unavailable { .. }
                | OdooError::Concurrency(_)
                | OdooError::Server(_)
        )
    }

    /// The Odoo fault behind a business error, if any.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            OdooError::Unauthorized(f)
            | OdooError::Access(f)
            | OdooError::Missing(f)
            | OdooError::Validation(f)
            | OdooError::User(f)
            | OdooError::Concurrency(f)
            | OdooError::Server(f)
            | OdooError::Rejected(f) => Some(f),
            _ => None,
        }
    }

    /// Classifies an Odoo exception by its class name (JSON-2 `name`, JSON-RPC
    /// `error.data.name`); the HTTP status only breaks ties for names Odoo does not send.
    pub fn from_fault(fault: Fault) -> OdooError {
        let short = fault.name.rsplit('.').next().unwrap_or("").to_string();
        match short.as_str() {
            "AccessDenied" | "Unauthorized" | "SessionExpiredException" => {
                OdooError::Unauthorized(fault)
            }
            "AccessError" => OdooError::Access(fault),
            "MissingError" => OdooError::Missing(fault),
            "ValidationError" => OdooError::Validation(fault),
            "UserError" | "RedirectWarning" | "Warning" => OdooError::User(fault),
            "ConcurrencyError"
            | "LockError"
            | "SerializationFailure"
            | "TransactionRollbackError"
            | "LockNotAvailable"
            | "DeadlockDetected" => OdooError::Concurrency(fault),
            // The database went away or restarted under the request.
            "OperationalError" | "InterfaceError" if fault.name.starts_with("psycopg") => {
                OdooError::Server(fault)
            }
            _ => match fault.http_status {
                Some(401) => OdooError::Unauthorized(fault),
                Some(403) if short.is_empty() => OdooError::Access(fault),
                Some(s) if s >= 500 => OdooError::Server(fault),
                _ => OdooError::Rejected(fault),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(name: &str, status: Option<u16>) -> Fault {
        Fault {
            name: name.into(),
            message: "m".into(),
            http_status: status,
        }
    }

    #[test]
    fn exception_names_decide_the_variant_whatever_the_status() {
        use OdooError as E;
        assert!(matches!(
            E::from_fault(fault("odoo.exceptions.AccessDenied", Some(403))),
            E::Unauthorized(_)
        ));
        assert!(matches!(
            E::from_fault(fault("odoo.exceptions.AccessError", None)),
            E::Access(_)
        ));
        assert!(matches!(
            E::from_fault(fault("odoo.exceptions.MissingError", Some(404))),
            E::Missing(_)
        ));
        assert!(matches!(
            E::from_fault(fault("odoo.exceptions.ValidationError", Some(422))),
            E::Validation(_)
        ));
        assert!(matches!(
            E::from_fault(fault("odoo.exceptions.UserError", Some(422))),
            E::User(_)
        ));
        assert!(matches!(
            E::from_fault(fault("psycopg2.errors.SerializationFailure", Some(500))),
            E::Concurrency(_)
        ));
        assert!(matches!(
            E::from_fault(fault("werkzeug.exceptions.NotFound", Some(404))),
            E::Rejected(_)
        ));
        assert!(matches!(
            E::from_fault(fault("", Some(401))),
            E::Unauthorized(_)
        ));
    }

    #[test]
    fn an_unauthorized_error_tells_the_user_to_create_a_new_key() {
        let e = OdooError::from_fault(Fault {
            name: "werkzeug.exceptions.Unauthorized".into(),
            message: "Invalid apikey".into(),
            http_status: Some(401),
        });
        let text = e.to_string();
        assert!(text.contains("Invalid apikey"), "{text}");
        assert!(text.contains("create a new API key"), "{text}");
        assert!(!e.is_retryable());
    }
}
