//! base_automation "Send Webhook Notification" (spec §6): rules that POST
//! `{_model, _id, _action, <fields>}` when records change. Up to 18 the POST goes out inside
//! the transaction, so a rolled-back change is still announced; from 19 only committed
//! changes are, after commit. One try, a 1 s timeout, no signature.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::models::Kind;
use super::orm::{Change, ChangeKind, Db, Row};

/// A rule, as an admin would set it up in base_automation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookRule {
    /// Assigned when the rule is added.
    #[serde(default)]
    pub id: i64,
    #[serde(default = "default_name")]
    pub name: String,
    pub model: String,
    /// `on_create`, `on_write`, `on_create_or_write`, `on_unlink`, `on_archive`,
    /// `on_unarchive`.
    pub trigger: String,
    pub url: String,
    /// `webhook_field_ids`: the fields sent besides `_model`, `_id`, `_action`.
    #[serde(default)]
    pub fields: Vec<String>,
}

fn default_name() -> String {
    "Send Webhook Notification".into()
}

/// One POST the server attempted.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookDelivery {
    pub seq: u64,
    pub rule_id: i64,
    pub url: String,
    pub payload: Value,
    /// Whether the transaction that caused it committed (false: a ≤18 rollback).
    pub committed: bool,
    /// The receiver's status, when it answered within the second.
    pub status: Option<u16>,
    pub error: Option<String>,
}

pub const TRIGGERS: [&str; 6] = [
    "on_create",
    "on_write",
    "on_create_or_write",
    "on_unlink",
    "on_archive",
    "on_unarchive",
];

fn fires(rule: &WebhookRule, change: &Change, after: Option<&Row>) -> bool {
    let active = |r: Option<&Row>| r.and_then(|r| r.get("active")).and_then(Value::as_bool);
    match (rule.trigger.as_str(), change.kind) {
        ("on_create" | "on_create_or_write", ChangeKind::Created) => true,
        ("on_write" | "on_create_or_write", ChangeKind::Written) => true,
        ("on_unlink", ChangeKind::Deleted) => true,
        ("on_archive", ChangeKind::Written) => {
            active(change.before.as_ref()) == Some(true) && active(after) == Some(false)
        }
        ("on_unarchive", ChangeKind::Written) => {
            active(change.before.as_ref()) == Some(false) && active(after) == Some(true)
        }
        _ => false,
    }
}

/// Python's `str(datetime)`: microseconds only when non-zero.
fn py_str_datetime(s: &str) -> String {
    match s.split_once('.') {
        Some((head, frac)) if frac.trim_end_matches('0').is_empty() => head.to_string(),
        _ => s.to_string(),
    }
}

/// `read(fields, load=None)` serialized with `default=str`.
fn payload(db: &Db, rule: &WebhookRule, id: i64, row: &Row) -> Value {
    let mut out = Map::new();
    out.insert("_model".into(), json!(rule.model));
    out.insert("_id".into(), json!(id));
    out.insert(
        "_action".into(),
        json!(format!("{}(#{})", rule.name, rule.id)),
    );
    let model = db.registry.get(&rule.model);
    for f in &rule.fields {
        let kind = model.and_then(|m| m.field(f)).map(|fd| fd.kind);
        let v = row.get(f).cloned().unwrap_or(Value::Null);
        let v = match (kind, v) {
            (Some(Kind::Datetime), Value::String(s)) => json!(py_str_datetime(&s)),
            (Some(Kind::Boolean), v) => json!(super::orm::truthy(Some(&v))),
            (Some(Kind::Many2many(_) | Kind::One2many(..)), Value::Null) => json!([]),
            (_, Value::Null) => json!(false),
            (_, v) => v,
        };
        out.insert(f.clone(), v);
    }
    Value::Object(out)
}

/// The POSTs a set of changes calls for, as (rule id, url, payload).
pub fn due(db: &Db, changes: &[Change]) -> Vec<(i64, String, Value)> {
    let mut out = Vec::new();
    for rule in &db.webhooks {
        for c in changes.iter().filter(|c| c.model == rule.model) {
            let after = db.row(c.model, c.id);
            if !fires(rule, c, after) {
                continue;
            }
            // on_unlink runs before the delete, so the record is still readable.
            let row = if c.kind == ChangeKind::Deleted {
                c.before.as_ref()
            } else {
                after
            };
            if let Some(row) = row {
                out.push((rule.id, rule.url.clone(), payload(db, rule, c.id, row)));
            }
        }
    }
    out
}

/// Sends one POST in the background and records how it went.
pub fn send(
    log: std::sync::Arc<std::sync::Mutex<Vec<WebhookDelivery>>>,
    rule_id: i64,
    url: String,
    payload: Value,
    committed: bool,
) {
    let record = move |status: Option<u16>, error: Option<String>, payload: Value, url: String| {
        let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
        let seq = l.len() as u64 + 1;
        l.push(WebhookDelivery {
            seq,
            rule_id,
            url,
            payload,
            committed,
            status,
            error,
        });
    };
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        record(
            None,
            Some("not sent: no async runtime".into()),
            payload,
            url,
        );
        return;
    };
    handle.spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build();
        let result = match client {
            Ok(c) => c.post(&url).json(&payload).send().await,
            Err(e) => {
                record(None, Some(e.to_string()), payload, url);
                return;
            }
        };
        match result {
            Ok(resp) => record(Some(resp.status().as_u16()), None, payload, url),
            // A timeout "may or may not have failed"; either way there is no retry.
            Err(e) => record(None, Some(e.to_string()), payload, url),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_print_like_python_str() {
        assert_eq!(
            py_str_datetime("2025-01-01 10:00:00.000000"),
            "2025-01-01 10:00:00"
        );
        assert_eq!(
            py_str_datetime("2025-01-01 10:00:00.123456"),
            "2025-01-01 10:00:00.123456"
        );
        assert_eq!(
            py_str_datetime("2025-01-01 10:00:00"),
            "2025-01-01 10:00:00"
        );
    }
}
