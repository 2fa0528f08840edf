//! The activity view over the audit log: what sync did, to which item, by whose change
//! (origin) and under which rule; `why ITEM` narrows it to one item's story.

use chrono::{DateTime, Utc};
use serde::Serialize;

use odoo365_engine::{AuditEntry, LinkKind};

use crate::{App, AppError, ErrorCode};

/// One audit line for a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityLine {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub link_id: Option<i64>,
    pub item: String,
    pub op: String,
    /// Whose change this follows: `odoo`, `microsoft` or `sync`.
    pub origin: String,
    /// The decision-table arm (or guard) that decided it.
    pub rule: String,
    pub before_hash: Option<String>,
    pub after_hash: Option<String>,
}

impl ActivityLine {
    /// `2026-11-23 09:00:00Z  update microsoft  "Standup"  (origin odoo, rule changed_in_odoo_only)`
    pub fn line(&self) -> String {
        format!(
            "{}  {}  {}  (origin {}, rule {})",
            self.at.format("%Y-%m-%d %H:%M:%SZ"),
            self.op,
            self.item,
            self.origin,
            self.rule
        )
    }
}

impl From<AuditEntry> for ActivityLine {
    fn from(e: AuditEntry) -> Self {
        ActivityLine {
            id: e.id,
            at: e.at,
            link_id: e.link_id,
            item: e.item,
            op: e.op,
            origin: e.origin,
            rule: e.rule,
            before_hash: e.before_hash,
            after_hash: e.after_hash,
        }
    }
}

/// The activity of a profile, newest first, and what it was narrowed to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    pub profile: String,
    /// The item asked about, when `why` was given.
    pub why: Option<String>,
    pub lines: Vec<ActivityLine>,
}

/// How many audit lines `activity` reads.
pub const ACTIVITY_LINES_MAX: usize = 200;

impl App {
    /// The newest audit lines of a profile; with `why`, only those of one item, named as
    /// `link:N`, `odoo:N` (an Odoo event id), `graph:ID` (an Outlook event id), or a bare
    /// link number, Graph id or text found in the item's title.
    pub fn activity(&self, profile: &str, why: Option<&str>) -> Result<Activity, AppError> {
        let profile = self.profile(profile)?;
        let id = profile.id.as_str();
        let lines = match why {
            None => self.store().tx(|t| t.audit(id, None, ACTIVITY_LINES_MAX))?,
            Some(item) => {
                let item = item.trim();
                let link = self.store().tx(|t| {
                    let by_odoo = |n: i64| t.link_by_odoo(id, LinkKind::Event, "calendar.event", n);
                    if let Some(n) = item.strip_prefix("link:") {
                        return match n.parse::<i64>() {
                            Ok(n) => Ok(t.link(n)?.filter(|l| l.profile_id == id)),
                            Err(_) => Ok(None),
                        };
                    }
                    if let Some(n) = item.strip_prefix("odoo:") {
                        return match n.parse::<i64>() {
                            Ok(n) => by_odoo(n),
                            Err(_) => Ok(None),
                        };
                    }
                    if let Some(g) = item.strip_prefix("graph:") {
                        return t.link_by_graph(id, LinkKind::Event, g);
                    }
                    if let Ok(n) = item.parse::<i64>() {
                        if let Some(l) = t.link(n)?.filter(|l| l.profile_id == id) {
                            return Ok(Some(l));
                        }
                    }
                    t.link_by_graph(id, LinkKind::Event, item)
                })?;
                match link {
                    Some(link) => self
                        .store()
                        .tx(|t| t.audit(id, Some(link.id), ACTIVITY_LINES_MAX))?,
                    None => {
                        let needle = item.to_lowercase();
                        let found: Vec<AuditEntry> = self
                            .store()
                            .tx(|t| t.audit(id, None, usize::MAX >> 1))?
                            .into_iter()
                            .filter(|e| e.item.to_lowercase().contains(&needle))
                            .take(ACTIVITY_LINES_MAX)
                            .collect();
                        if found.is_empty() {
                            return Err(AppError::new(
                                ErrorCode::NotFound,
                                format!(
                                    "nothing in the activity of {:?} matches {item:?}; name the \
                                     item as link:N, odoo:N, graph:ID or a word of its title",
                                    profile.name
                                ),
                            ));
                        }
                        found
                    }
                }
            }
        };
        Ok(Activity {
            profile: profile.name,
            why: why.map(str::to_string),
            lines: lines.into_iter().map(ActivityLine::from).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use odoo365_engine::{NewAudit, NewLink, Origin};

    use super::*;
    use crate::tests::{app, draft};

    #[test]
    fn why_tells_one_items_story_by_any_of_its_names() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _) = app(dir.path());
        let p = app.add_profile(draft("work")).unwrap();
        let now = app.now();
        let (a, b) = app
            .store()
            .tx(|t| {
                let link = |o: i64, g: &'static str| {
                    t.create_link(
                        &p.id,
                        LinkKind::Event,
                        &NewLink {
                            odoo_model: "calendar.event",
                            odoo_id: Some(o),
                            graph_id: Some(g),
                            ..Default::default()
                        },
                        now,
                    )
                };
                let (a, b) = (link(7, "AAMk-a")?, link(8, "AAMk-b")?);
                for (l, item, op, origin, rule) in [
                    (
                        a.id,
                        "\"Standup\"",
                        "create microsoft",
                        Origin::Odoo,
                        "created_in_odoo",
                    ),
                    (
                        b.id,
                        "\"Review\"",
                        "update odoo",
                        Origin::Microsoft,
                        "changed_in_microsoft_only",
                    ),
                    (
                        a.id,
                        "\"Daily\"",
                        "update odoo",
                        Origin::Microsoft,
                        "changed_in_microsoft_only",
                    ),
                ] {
                    t.append_audit(
                        &NewAudit {
                            profile_id: &p.id,
                            link_id: Some(l),
                            item,
                            op,
                            origin,
                            rule,
                            before_hash: None,
                            after_hash: None,
                            detail: None,
                        },
                        now,
                    )?;
                }
                Ok((a, b))
            })
            .unwrap();
        assert_eq!(app.activity("work", None).unwrap().lines.len(), 3);
        for name in [
            "odoo:7",
            "graph:AAMk-a",
            "AAMk-a",
            &format!("link:{}", a.id),
        ] {
            let why = app.activity("work", Some(name)).unwrap();
            assert_eq!(why.lines.len(), 2, "{name}");
            assert!(why.lines.iter().all(|l| l.link_id == Some(a.id)));
            assert_eq!(why.lines[0].rule, "changed_in_microsoft_only");
            assert_eq!(why.lines[1].origin, "odoo");
        }
        let by_title = app.activity("work", Some("review")).unwrap();
        assert_eq!(by_title.lines.len(), 1);
        assert_eq!(by_title.lines[0].link_id, Some(b.id));
        let e = app.activity("work", Some("nothing-like-it")).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
    }
}
