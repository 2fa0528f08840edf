//! Restoring a version sync replaced or deleted, from the journal. The version is written
//! back to the side it was taken from; the next sync then carries it to the other side as
//! an edit made there (so the audit log shows who restored what).

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use odoo365_engine::ports::{MicrosoftCalendar, OdooCalendar, PortError};
use odoo365_engine::{NewAudit, Origin};
use odoo365_sync_core::{Event, Field};

use crate::{App, AppError, ErrorCode, Profile};

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    pub entry: i64,
    /// `odoo` or `microsoft`: where the old version was written back.
    pub side: String,
    pub title: String,
    /// What the person should know about how it came back, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn port_error(e: PortError) -> AppError {
    let code = if e.is_transient() {
        ErrorCode::Network
    } else if matches!(e, PortError::SignInNeeded { .. }) {
        ErrorCode::SignInNeeded
    } else if matches!(e, PortError::NotFound) {
        ErrorCode::NotFound
    } else {
        ErrorCode::Internal
    };
    AppError::new(
        code,
        format!("the restore was not written ({e}); nothing changed, try again later"),
    )
}

fn map_error(e: odoo365_sync_core::MapError) -> AppError {
    AppError::new(
        ErrorCode::Internal,
        format!("the saved version cannot be written back: {e}"),
    )
}

/// A version in the journal, for a person choosing what to restore.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalLine {
    pub entry: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub side: String,
    /// `overwritten` or `deleted`.
    pub reason: String,
    pub title: Option<String>,
    pub restored: bool,
    pub link_id: Option<i64>,
}

impl App {
    /// The journal of a profile, newest first (at most `limit` lines).
    pub fn journal(&self, profile: &str, limit: usize) -> Result<Vec<JournalLine>, AppError> {
        let profile = self.profile(profile)?;
        // The store reads entries by id only; ids are row ids that are never deleted, so
        // they run from 1 without gaps.
        let mut lines = self.store().tx(|t| {
            let mut out = Vec::new();
            let mut id = 1;
            while let Some(e) = t.journal_entry(id)? {
                if e.profile_id == profile.id {
                    out.push(JournalLine {
                        entry: e.id,
                        at: e.at,
                        side: e.side,
                        reason: e.reason,
                        title: e
                            .content
                            .pointer("/event/title")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        restored: e.restored_at.is_some(),
                        link_id: e.link_id,
                    });
                }
                id += 1;
            }
            Ok(out)
        })?;
        lines.reverse();
        lines.truncate(limit);
        Ok(lines)
    }

    /// Writes a journal entry's version back with the real clients.
    pub async fn restore(&self, profile: &str, entry: i64) -> Result<Restored, AppError> {
        let profile = self.profile(profile)?;
        let (_, microsoft, odoo) = self.ports_for(&profile).await?;
        self.restore_with(&profile, entry, microsoft, odoo).await
    }

    /// Writes a journal entry's version back through the given ports.
    pub async fn restore_with(
        &self,
        profile: &Profile,
        entry: i64,
        microsoft: Arc<dyn MicrosoftCalendar>,
        odoo: Arc<dyn OdooCalendar>,
    ) -> Result<Restored, AppError> {
        let not_found = || {
            AppError::new(
                ErrorCode::NotFound,
                format!(
                    "profile {:?} has no journal entry {entry}; `odoo365 activity` lists what \
                     sync changed",
                    profile.name
                ),
            )
        };
        let e = self
            .store()
            .tx(|t| t.journal_entry(entry))?
            .filter(|e| e.profile_id == profile.id)
            .ok_or_else(not_found)?;
        if let Some(at) = e.restored_at {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("journal entry {entry} was already restored at {at}; nothing was changed"),
            ));
        }
        let event: Event =
            serde_json::from_value(e.content.get("event").cloned().unwrap_or(Value::Null))
                .map_err(|err| {
                    AppError::new(
                        ErrorCode::Storage,
                        format!("journal entry {entry} cannot be read: {err}"),
                    )
                })?;
        let mut note = None;
        match (e.side.as_str(), e.reason.as_str()) {
            ("odoo", reason) => {
                let id = e
                    .content
                    .get("odoo_id")
                    .and_then(Value::as_i64)
                    .ok_or_else(not_found)?;
                let mut values = odoo365_sync_core::odoo::to_odoo_fields(&event, &Field::ALL)
                    .map_err(map_error)?;
                if reason == "deleted" {
                    // The engine deletes in Odoo by archiving: bring the record back.
                    values["active"] = Value::Bool(true);
                }
                odoo.write(id, &values).await.map_err(port_error)?;
            }
            ("microsoft", "overwritten") => {
                let id = e
                    .content
                    .get("graph_id")
                    .and_then(Value::as_str)
                    .ok_or_else(not_found)?;
                let patch = odoo365_sync_core::graph::to_graph_patch(&event, &Field::ALL)
                    .map_err(map_error)?;
                microsoft
                    .update(id, &patch, None)
                    .await
                    .map_err(port_error)?;
            }
            ("microsoft", "deleted") => {
                note = recreate_in_outlook(microsoft.as_ref(), &profile.id, entry, &event).await?;
            }
            (side, reason) => {
                return Err(AppError::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "journal entry {entry} holds a version {reason} on {side}, which this \
                         version cannot write back; nothing was changed"
                    ),
                ))
            }
        }
        let now = self.now();
        let item = format!("{:?}", event.title);
        self.store().tx(|t| {
            t.mark_restored(entry, now)?;
            t.append_audit(
                &NewAudit {
                    profile_id: &profile.id,
                    link_id: e.link_id,
                    item: &item,
                    op: &format!("restore {}", e.side),
                    origin: Origin::Sync,
                    rule: &format!("restored journal entry {entry} on request"),
                    before_hash: None,
                    after_hash: None,
                    detail: None,
                },
                now,
            )
        })?;
        Ok(Restored {
            entry,
            side: e.side,
            title: event.title,
            note,
        })
    }
}

/// Brings back an Outlook event that sync deleted by creating it again (Graph cannot
/// undelete through the calendar API). The create is keyed by the journal entry, so a
/// retry after a lost answer finds the first one instead of making a second.
///
/// Attendees are left off: creating a meeting with attendees sends them invitations, and a
/// restore must not mail anyone unasked. The next sync carries the event to Odoo like any
/// event made in Outlook (a new pair; the old link stays closed).
async fn recreate_in_outlook(
    microsoft: &dyn MicrosoftCalendar,
    profile_id: &str,
    entry: i64,
    event: &Event,
) -> Result<Option<String>, AppError> {
    let mut event = event.clone();
    let invited = std::mem::take(&mut event.attendees);
    let body = odoo365_sync_core::graph::to_graph(&event).map_err(map_error)?;
    let transaction_id = restore_transaction_id(profile_id, entry);
    match microsoft.create(&body, &transaction_id).await {
        Ok(_) => {}
        Err(PortError::MaybeApplied { .. }) => {
            // The answer was lost: the event may exist. Look before saying it failed.
            match microsoft.find_by_transaction_id(&transaction_id).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    microsoft
                        .create(&body, &transaction_id)
                        .await
                        .map_err(port_error)?;
                }
                Err(e) => return Err(port_error(e)),
            }
        }
        Err(e) => return Err(port_error(e)),
    }
    Ok((!invited.is_empty()).then(|| {
        format!(
            "the event is back in Outlook without its {} attendee(s), who were not invited \
             again; invite them from Outlook if they should have it",
            invited.len()
        )
    }))
}

/// Graph's `transactionId` for re-creating journal entry `entry`: the same on every
/// attempt, different for every profile and entry.
fn restore_transaction_id(profile_id: &str, entry: i64) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("odoo365-restore:{profile_id}:{entry}"));
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("restore-{hex}")
}
