//! Conflicts: list, show side by side, resolve by keeping a side or per field. A resolution
//! is recorded in the store; the next sync applies it (the engine reads the resolution of
//! conflicts it opened).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use odoo365_engine::ConflictRecord;

use crate::{App, AppError, ErrorCode};

/// Which side's version wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepSide {
    Odoo,
    Microsoft,
}

impl std::str::FromStr for KeepSide {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, AppError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "odoo" => Ok(KeepSide::Odoo),
            "microsoft" | "outlook" | "m365" => Ok(KeepSide::Microsoft),
            other => Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("{other:?} is not a side: say odoo or microsoft"),
            )),
        }
    }
}

/// The person's decision on a conflict, as stored (`{"keep":"odoo"}` or
/// `{"fields":{"title":"microsoft"}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// One side's whole version wins (the only choice for edit-vs-delete).
    Keep(KeepSide),
    /// Per conflicting field, which side wins; every conflicting field must be named.
    Fields(BTreeMap<String, KeepSide>),
    /// Documents only: keep both versions as they are (two files, two attachments).
    KeepBoth,
}

/// A conflict for a person: the fields in conflict with the base and both sides' values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictView {
    pub id: i64,
    pub kind: String,
    pub link_id: Option<i64>,
    pub open: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The names of the fields in conflict (empty for edit-vs-delete).
    pub fields: Vec<String>,
    pub base: Option<Value>,
    pub odoo: Option<Value>,
    pub microsoft: Option<Value>,
    pub resolution: Option<Value>,
    /// The event's title, from whichever side has one.
    pub title: Option<String>,
}

/// The names in a conflict's `fields`: a list of names, or of objects with a `field`.
fn field_names(fields: &Value) -> Vec<String> {
    match fields {
        Value::Array(items) => items
            .iter()
            .filter_map(|f| match f {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("field").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect(),
        // The engine stores sync-core's `Conflict`: `{"kind": "fields", "fields": [...]}`.
        Value::Object(o) => o.get("fields").map(field_names).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn title_of(v: &Option<Value>) -> Option<String> {
    let v = v.as_ref()?;
    ["title", "subject", "name"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
}

impl From<ConflictRecord> for ConflictView {
    fn from(c: ConflictRecord) -> Self {
        let title = title_of(&c.odoo)
            .or_else(|| title_of(&c.microsoft))
            .or_else(|| title_of(&c.base));
        ConflictView {
            id: c.id,
            kind: c.kind,
            link_id: c.link_id,
            open: c.open,
            created_at: c.created_at,
            fields: field_names(&c.fields),
            base: c.base,
            odoo: c.odoo,
            microsoft: c.microsoft,
            resolution: c.resolution,
            title,
        }
    }
}

impl App {
    /// The open conflicts of a profile, oldest first.
    pub fn conflicts(&self, profile: &str) -> Result<Vec<ConflictView>, AppError> {
        let profile = self.profile(profile)?;
        Ok(self
            .store()
            .tx(|t| t.open_conflicts(&profile.id))?
            .into_iter()
            .map(ConflictView::from)
            .collect())
    }

    /// One conflict of a profile, open or resolved.
    pub fn conflict(&self, profile: &str, id: i64) -> Result<ConflictView, AppError> {
        let profile = self.profile(profile)?;
        match self.store().tx(|t| t.conflict(id))? {
            Some(c) if c.profile_id == profile.id => Ok(c.into()),
            _ => Err(AppError::new(
                ErrorCode::NotFound,
                format!(
                    "profile {:?} has no conflict {id}; `odoo365 conflicts list` shows the open ones",
                    profile.name
                ),
            )),
        }
    }
}

/// Checks a decision against the conflict: a side for whole-event conflicts, every
/// conflicting field named (and no other) for field conflicts.
pub(crate) fn check_resolution(c: &ConflictView, resolution: &Resolution) -> Result<(), AppError> {
    let id = c.id;
    if !c.open {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("conflict {id} is already resolved; nothing was changed"),
        ));
    }
    if let Resolution::Fields(chosen) = resolution {
        if c.fields.is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "conflict {id} is about the whole event ({}); keep one side with --keep odoo or --keep microsoft",
                    c.kind
                ),
            ));
        }
        if let Some(extra) = chosen.keys().find(|f| !c.fields.contains(f)) {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "{extra:?} is not in conflict here; the fields in conflict are {}",
                    c.fields.join(", ")
                ),
            ));
        }
        let missing: Vec<&str> = c
            .fields
            .iter()
            .filter(|f| !chosen.contains_key(*f))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "say which side wins for every field in conflict; missing: {}",
                    missing.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tests::{app, draft};

    fn field_conflict() -> Value {
        json!({"kind": "fields", "resolution": "open", "fields": [
            {"field": "title", "base": "Standup", "odoo": "Daily", "microsoft": "Scrum"},
            {"field": "location", "base": "A", "odoo": "B", "microsoft": "C"}]})
    }

    #[test]
    fn a_field_conflict_lists_its_fields_and_needs_every_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _) = app(dir.path());
        let p = app.add_profile(draft("work")).unwrap();
        let now = app.now();
        app.store()
            .tx(|t| {
                t.open_conflict(
                    &p.id,
                    None,
                    "fields",
                    Some(&json!({"title": "Standup", "location": "A"})),
                    Some(&json!({"title": "Daily", "location": "B"})),
                    Some(&json!({"title": "Scrum", "location": "C"})),
                    &field_conflict(),
                    now,
                )
            })
            .unwrap();
        let list = app.conflicts("work").unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].fields, ["title", "location"]);
        assert_eq!(list[0].title.as_deref(), Some("Daily"));
        let c = &list[0];

        let only_title = Resolution::Fields([("title".into(), KeepSide::Odoo)].into());
        let e = check_resolution(c, &only_title).unwrap_err();
        assert!(e.message.contains("missing: location"), "{}", e.message);
        let wrong = Resolution::Fields(
            [
                ("title".into(), KeepSide::Odoo),
                ("colour".into(), KeepSide::Odoo),
            ]
            .into(),
        );
        assert!(check_resolution(c, &wrong)
            .unwrap_err()
            .message
            .contains("colour"));
        let both = Resolution::Fields(
            [
                ("title".into(), KeepSide::Odoo),
                ("location".into(), KeepSide::Microsoft),
            ]
            .into(),
        );
        check_resolution(c, &both).unwrap();
        check_resolution(c, &Resolution::Keep(KeepSide::Odoo)).unwrap();
        assert_eq!(
            serde_json::to_value(&both).unwrap(),
            json!({"fields": {"location": "microsoft", "title": "odoo"}})
        );
    }

    #[test]
    fn an_edit_vs_delete_conflict_takes_a_side_not_fields_and_belongs_to_its_profile() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _) = app(dir.path());
        let p = app.add_profile(draft("work")).unwrap();
        let other = app.add_profile(draft("home")).unwrap();
        let now = app.now();
        let id = app
            .store()
            .tx(|t| {
                t.open_conflict(
                    &p.id,
                    None,
                    "edit_vs_delete",
                    None,
                    None,
                    Some(&json!({"title": "x"})),
                    &json!({"kind": "edit_delete", "deleted_on": "odoo", "resolution": "open"}),
                    now,
                )
            })
            .unwrap();
        let c = app.conflict("work", id).unwrap();
        assert!(c.fields.is_empty());
        let per_field = Resolution::Fields([("title".into(), KeepSide::Odoo)].into());
        assert!(check_resolution(&c, &per_field)
            .unwrap_err()
            .message
            .contains("--keep"));
        assert_eq!(
            app.conflict(&other.name, id).unwrap_err().code,
            ErrorCode::NotFound,
        );
        assert_eq!("outlook".parse::<KeepSide>().unwrap(), KeepSide::Microsoft);
        assert!("both".parse::<KeepSide>().is_err());
    }
}
