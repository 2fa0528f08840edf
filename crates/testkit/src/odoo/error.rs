//! Odoo's exception classes as one typed error, with the name, HTTP status and fault code
//! each transport shows (spec §1.1 status table, §1.2 fault codes, §1.3 JSON-RPC shape).

use serde_json::{json, Value};

/// An exception raised while serving a call. The transport decides how it looks on the wire.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OdooError {
    /// `odoo.exceptions.UserError` (422).
    #[error("{0}")]
    User(String),
    /// `odoo.exceptions.ValidationError` (422).
    #[error("{0}")]
    Validation(String),
    /// `odoo.exceptions.AccessError` (403).
    #[error("{0}")]
    Access(String),
    /// `odoo.exceptions.AccessDenied` (403): bad login, password or key.
    #[error("{0}")]
    AccessDenied(String),
    /// `odoo.exceptions.MissingError` (404): the record was deleted.
    #[error("{0}")]
    Missing(String),
    /// `werkzeug.exceptions.NotFound` (404): unknown model or method.
    #[error("{0}")]
    NotFound(String),
    /// `werkzeug.exceptions.UnprocessableEntity` (422): arguments do not fit the signature.
    #[error("{0}")]
    Unprocessable(String),
    /// `werkzeug.exceptions.BadRequest` (400).
    #[error("{0}")]
    BadRequest(String),
    /// `werkzeug.exceptions.RequestEntityTooLarge` (413): the body is over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// `werkzeug.exceptions.Unauthorized` (401), sent with `WWW-Authenticate: bearer`.
    #[error("{0}")]
    Unauthorized(String),
    /// A Python exception that is not an Odoo one (500): `ValueError`, `TypeError`, ...
    #[error("{message}")]
    Python {
        class: &'static str,
        message: String,
    },
    /// `psycopg2.errors.SerializationFailure` (500): a concurrent update won, after Odoo's
    /// own retries were used up.
    #[error("could not serialize access due to concurrent update")]
    Serialization,
}

impl OdooError {
    pub fn value_error(message: impl Into<String>) -> Self {
        OdooError::Python {
            class: "builtins.ValueError",
            message: message.into(),
        }
    }

    pub fn type_error(message: impl Into<String>) -> Self {
        OdooError::Python {
            class: "builtins.TypeError",
            message: message.into(),
        }
    }

    /// The fully qualified class name, as `name` (JSON-2) and `data.name` (JSON-RPC) carry it.
    pub fn name(&self) -> &'static str {
        match self {
            OdooError::User(_) => "odoo.exceptions.UserError",
            OdooError::Validation(_) => "odoo.exceptions.ValidationError",
            OdooError::Access(_) => "odoo.exceptions.AccessError",
            OdooError::AccessDenied(_) => "odoo.exceptions.AccessDenied",
            OdooError::Missing(_) => "odoo.exceptions.MissingError",
            OdooError::NotFound(_) => "werkzeug.exceptions.NotFound",
            OdooError::Unprocessable(_) => "werkzeug.exceptions.UnprocessableEntity",
            OdooError::BadRequest(_) => "werkzeug.exceptions.BadRequest",
            OdooError::Unauthorized(_) => "werkzeug.exceptions.Unauthorized",
            OdooError::TooLarge(_) => "werkzeug.exceptions.RequestEntityTooLarge",
            OdooError::Python { class, .. } => class,
            OdooError::Serialization => "psycopg2.errors.SerializationFailure",
        }
    }

    /// The JSON-2 HTTP status (19.0 `http_status` on exceptions, werkzeug codes otherwise).
    pub fn http_status(&self) -> u16 {
        match self {
            OdooError::User(_) | OdooError::Validation(_) | OdooError::Unprocessable(_) => 422,
            OdooError::Access(_) | OdooError::AccessDenied(_) => 403,
            OdooError::Missing(_) | OdooError::NotFound(_) => 404,
            OdooError::BadRequest(_) => 400,
            OdooError::Unauthorized(_) => 401,
            OdooError::TooLarge(_) => 413,
            OdooError::Python { .. } | OdooError::Serialization => 500,
        }
    }

    /// Whether this is a werkzeug HTTP exception (arguments are `[description, code]`).
    fn is_http_exception(&self) -> bool {
        matches!(
            self,
            OdooError::NotFound(_)
                | OdooError::Unprocessable(_)
                | OdooError::BadRequest(_)
                | OdooError::Unauthorized(_)
                | OdooError::TooLarge(_)
        )
    }

    /// The XML-RPC `/xmlrpc/2` fault code (spec §1.2).
    pub fn fault_code(&self) -> i64 {
        match self {
            OdooError::User(_) | OdooError::Validation(_) | OdooError::Missing(_) => 2,
            OdooError::AccessDenied(_) => 3,
            OdooError::Access(_) => 4,
            _ => 1,
        }
    }

    /// `serialize_exception`: `{name, message, arguments, context, debug}`.
    pub fn serialize(&self) -> Value {
        let message = self.to_string();
        let arguments = if self.is_http_exception() {
            json!([message, self.http_status()])
        } else {
            json!([message])
        };
        json!({
            "name": self.name(),
            "message": message,
            "arguments": arguments,
            "context": {},
            "debug": format!(
                "Traceback (most recent call last):\n  File \"odoo/http.py\", in dispatch\n{}: {}\n",
                self.name(),
                message
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_exceptions_carry_their_code_in_the_arguments() {
        let e = OdooError::Unauthorized("Invalid apikey".into()).serialize();
        assert_eq!(e["name"], "werkzeug.exceptions.Unauthorized");
        assert_eq!(e["arguments"], json!(["Invalid apikey", 401]));
        let e = OdooError::Access("no".into()).serialize();
        assert_eq!(e["arguments"], json!(["no"]));
        assert_eq!(e["message"], "no");
    }

    #[test]
    fn each_class_maps_to_its_documented_status_and_fault_code() {
        assert_eq!(OdooError::Validation(String::new()).http_status(), 422);
        assert_eq!(OdooError::Missing(String::new()).http_status(), 404);
        assert_eq!(OdooError::Missing(String::new()).fault_code(), 2);
        assert_eq!(OdooError::AccessDenied(String::new()).fault_code(), 3);
        assert_eq!(OdooError::Access(String::new()).fault_code(), 4);
        assert_eq!(OdooError::Serialization.http_status(), 500);
        assert_eq!(OdooError::Serialization.fault_code(), 1);
    }
}
