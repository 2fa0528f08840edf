//! Mapping errors: a service record that cannot be read into, or a canonical event that
//! cannot be written as, the other side's form. Each names the field, so the engine can
//! show a per-item error ("this series repeats on the last Friday of March, which Odoo
//! cannot store") instead of approximating and looping.

use crate::rrule::RuleError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("field `{field}` is missing or has the wrong type")]
    Missing { field: &'static str },
    #[error("field `{field}` has a value this app cannot read: {value}")]
    BadValue { field: &'static str, value: String },
    #[error("unknown time zone {0:?}")]
    UnknownZone(String),
    #[error("`{field}` holds record ids; resolve them to e-mails/names before mapping")]
    Unresolved { field: &'static str },
    #[error("{side} cannot represent {what}")]
    Unrepresentable { side: &'static str, what: String },
    #[error("recurrence: {0}")]
    Rule(#[from] RuleError),
    #[error("the record is another user's private event, masked by Odoo; it is never synced")]
    Masked,
}
