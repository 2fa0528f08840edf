//! A profile's status at a glance: last and next sync, pending and failed jobs, open
//! conflicts, whether sign-in or an Odoo key is needed.
//!
//! The app keeps a few facts about its own runs beside the engine's cursors, under names
//! starting with `app.` (the store's per-profile key-value table; they go with the
//! profile).

use chrono::{DateTime, Utc};
use serde::Serialize;

use odoo365_auth::SecretKind;
use odoo365_engine::{JobState, LinkKind};
use odoo365_odoo::KeyExpiry;

use crate::{App, AppError};

pub(crate) const LAST_SYNC_AT: &str = "app.last_sync_at";
pub(crate) const LAST_OUTCOME: &str = "app.last_outcome";
pub(crate) const LAST_ERROR: &str = "app.last_error";
pub(crate) const NEXT_SYNC_AT: &str = "app.next_sync_at";
pub(crate) const SIGN_IN_NEEDED: &str = "app.sign_in_needed";
/// The Odoo API key's expiry as the last connect learnt it (JSON of `KeyExpiry`).
pub(crate) const ODOO_KEY_EXPIRY: &str = "app.odoo_key_expiry";
/// How long before the Odoo API key expires the person is told (issue 8).
pub const KEY_EXPIRY_WARNING: chrono::Duration = chrono::Duration::days(7);
/// Where the engine keeps a plan a guard paused.
const ENGINE_PAUSED_PLAN: &str = "calendar.paused_plan";

/// A job that gave up, with its error, waiting for a retry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedJob {
    pub id: i64,
    pub kind: String,
    pub error: Option<String>,
}

impl App {
    /// The person's Retry on a change that gave up: it runs again at the next sync, with
    /// its attempts (and a file's hash checks) counted afresh. Only a failed job of this
    /// profile can be retried.
    pub fn retry_job(&self, profile: &str, job_id: i64) -> Result<(), AppError> {
        let profile = self.profile(profile)?;
        let now = self.now();
        let queued = self.store().tx(|t| {
            let Some(job) = t.job(job_id)? else {
                return Ok(false);
            };
            if job.profile_id != profile.id || job.state != JobState::Failed {
                return Ok(false);
            }
            if job.kind == odoo365_engine::files::JOB_KIND {
                let mut payload = job.payload.clone();
                payload["hash_failures"] = serde_json::json!(0);
                t.set_job_payload(job_id, &payload, now)?;
            }
            t.retry_failed_job(job_id, now)
        })?;
        if queued {
            Ok(())
        } else {
            Err(AppError::new(
                crate::ErrorCode::NotFound,
                format!(
                    "change {job_id} of profile {:?} is not waiting for a retry; `odoo365 \
                     status` lists the changes that gave up",
                    profile.name
                ),
            ))
        }
    }
}

/// The last error of a run, as `AppError` showed it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LastError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub profile: String,
    /// A Microsoft refresh token is in the keychain.
    pub signed_in: bool,
    /// Sync waits for `odoo365 login`: never signed in, or Microsoft refused the token.
    pub sign_in_needed: bool,
    pub odoo_api_key_saved: bool,
    /// The Odoo API key's expiry as the last connection learnt it; `None` before one.
    pub odoo_key_expiry: Option<KeyExpiry>,
    /// The key expires within [`KEY_EXPIRY_WARNING`] (or already has).
    pub odoo_key_expires_soon: bool,
    pub last_sync_at: Option<DateTime<Utc>>,
    /// One line about the last run ("3 writes, 1 conflict", "paused: mass-change guard").
    pub last_outcome: Option<String>,
    pub last_error: Option<LastError>,
    pub next_sync_at: Option<DateTime<Utc>>,
    pub linked_events: usize,
    pub pending_jobs: usize,
    pub failed_jobs: Vec<FailedJob>,
    pub open_conflicts: usize,
    /// A guard paused the last cycle; `odoo365 sync --yes` lets it go ahead.
    pub plan_waiting_for_confirmation: bool,
    /// Documents: attachments linked to OneDrive files.
    pub linked_files: usize,
    /// Documents: file jobs queued or running (uploads resume from their session).
    pub pending_transfers: usize,
    /// Documents: file jobs that gave up (among `failed_jobs`).
    pub file_errors: usize,
    /// `webhook` or `polling`: how Microsoft-side changes are noticed.
    pub mode: String,
    /// Why the profile polls (or what still polls in webhook mode).
    pub mode_reason: Option<String>,
}

impl Status {
    /// What needs the person, most urgent first (empty when all is well).
    pub fn attention(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.sign_in_needed {
            out.push("Microsoft sign-in needed: run `odoo365 login`; sync waits until then".into());
        }
        if !self.odoo_api_key_saved {
            out.push(
                "no Odoo API key saved: run `odoo365 profile set-key`; sync waits until then"
                    .into(),
            );
        }
        if self.odoo_key_expires_soon {
            if let Some(at) = self
                .odoo_key_expiry
                .as_ref()
                .and_then(KeyExpiry::expires_at)
            {
                let which = match &self.odoo_key_expiry {
                    Some(KeyExpiry::EarliestOf { keys, .. }) => {
                        format!("one of this user's {keys} Odoo API keys (maybe the one in use)")
                    }
                    _ => "the Odoo API key".to_string(),
                };
                out.push(format!(
                    "{which} expires on {} UTC: create a new key in Odoo (Preferences → Account                      Security) and save it with `odoo365 profile set-key`",
                    at.format("%Y-%m-%d %H:%M")
                ));
            }
        }
        if self.plan_waiting_for_confirmation {
            out.push(
                "a sync plan waits for your confirmation: review it with `odoo365 sync --dry-run`, \
                 then run `odoo365 sync --yes`"
                    .into(),
            );
        }
        if self.open_conflicts > 0 {
            out.push(format!(
                "{} open conflict(s): `odoo365 conflicts list`; the items stay as they are until resolved",
                self.open_conflicts
            ));
        }
        if !self.failed_jobs.is_empty() {
            out.push(format!(
                "{} failed change(s): they are retried on the next sync",
                self.failed_jobs.len()
            ));
        }
        out
    }
}

fn parse_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.to_utc())
}

impl App {
    /// Sets (or with `None` clears) one of the app's facts about a profile.
    pub(crate) fn set_marker(
        &self,
        profile_id: &str,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), AppError> {
        let now = self.now();
        self.store().tx(|t| match value {
            Some(v) => t.set_cursor(profile_id, name, v, now),
            None => t.clear_cursor(profile_id, name),
        })?;
        Ok(())
    }

    /// Keeps what a connection learnt about the Odoo key's expiry, for the status.
    pub(crate) fn note_key_expiry(
        &self,
        profile_id: &str,
        expiry: &KeyExpiry,
    ) -> Result<(), AppError> {
        let json = serde_json::to_string(expiry).map_err(AppError::internal)?;
        self.set_marker(profile_id, ODOO_KEY_EXPIRY, Some(&json))
    }

    /// The status of a profile.
    pub fn status(&self, profile: &str) -> Result<Status, AppError> {
        let profile = self.profile(profile)?;
        let id = profile.id.as_str();
        let signed_in = self
            .keychain
            .get(id, SecretKind::MicrosoftRefreshToken)?
            .is_some();
        let odoo_api_key_saved = self.keychain.get(id, SecretKind::OdooApiKey)?.is_some();
        let file_job = odoo365_engine::files::JOB_KIND;
        let (markers, linked_events, pending, failed, conflicts, files) = self.store().tx(|t| {
            let m = |n: &str| t.cursor(id, n);
            let markers = (
                m(LAST_SYNC_AT)?,
                m(LAST_OUTCOME)?,
                m(LAST_ERROR)?,
                m(NEXT_SYNC_AT)?,
                m(SIGN_IN_NEEDED)?,
                m(ENGINE_PAUSED_PLAN)?,
                m(ODOO_KEY_EXPIRY)?,
            );
            Ok((
                markers,
                t.links(id, LinkKind::Event)?.len(),
                t.jobs(id, JobState::Pending)?.len() + t.jobs(id, JobState::Running)?.len(),
                t.jobs(id, JobState::Failed)?,
                t.open_conflicts(id)?.len(),
                (
                    t.links(id, LinkKind::File)?.len(),
                    t.jobs(id, JobState::Pending)?
                        .iter()
                        .chain(t.jobs(id, JobState::Running)?.iter())
                        .filter(|j| j.kind == file_job)
                        .count(),
                ),
            ))
        })?;
        let (linked_files, pending_transfers) = files;
        let file_errors = failed.iter().filter(|j| j.kind == file_job).count();
        let (last_sync_at, last_outcome, last_error, next_sync_at, sign_in_marker, paused, key) =
            markers;
        let odoo_key_expiry: Option<KeyExpiry> = key.and_then(|k| serde_json::from_str(&k).ok());
        let odoo_key_expires_soon = odoo_key_expiry
            .as_ref()
            .and_then(KeyExpiry::expires_at)
            .is_some_and(|at| at - self.now() <= KEY_EXPIRY_WARNING);
        let webhook = self.webhook_mode(&profile)?;
        Ok(Status {
            profile: profile.name,
            signed_in,
            sign_in_needed: !signed_in || sign_in_marker.is_some(),
            odoo_api_key_saved,
            odoo_key_expiry,
            odoo_key_expires_soon,
            last_sync_at: parse_time(last_sync_at),
            last_outcome,
            last_error: last_error.and_then(|e| serde_json::from_str(&e).ok()),
            next_sync_at: parse_time(next_sync_at),
            linked_events,
            pending_jobs: pending,
            failed_jobs: failed
                .into_iter()
                .map(|j| FailedJob {
                    id: j.id,
                    kind: j.kind,
                    error: j.last_error,
                })
                .collect(),
            open_conflicts: conflicts,
            plan_waiting_for_confirmation: paused.is_some(),
            linked_files,
            pending_transfers,
            file_errors,
            mode: webhook.mode.as_str().into(),
            mode_reason: webhook.reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use odoo365_auth::{Keychain, Secret};

    use crate::tests::{app, draft};

    #[test]
    fn a_new_profile_needs_sign_in_and_a_saved_key_clears_that_line() {
        let dir = tempfile::tempdir().unwrap();
        let (app, keychain) = app(dir.path());
        let p = app.add_profile(draft("work")).unwrap();
        let s = app.status("work").unwrap();
        assert!(s.sign_in_needed && !s.signed_in && !s.odoo_api_key_saved);
        assert_eq!(s.attention().len(), 2, "{:?}", s.attention());
        app.set_odoo_api_key("work", &Secret::new("key-1")).unwrap();
        keychain
            .set(
                &p.id,
                odoo365_auth::SecretKind::MicrosoftRefreshToken,
                &Secret::new("rt"),
            )
            .unwrap();
        let s = app.status("work").unwrap();
        assert!(s.signed_in && !s.sign_in_needed && s.odoo_api_key_saved);
        assert!(s.attention().is_empty());
        app.set_marker(&p.id, super::SIGN_IN_NEEDED, Some("invalid_grant"))
            .unwrap();
        assert!(app.status("work").unwrap().sign_in_needed);
    }

    #[test]
    fn a_key_expiring_within_seven_days_asks_for_a_new_one() {
        use odoo365_odoo::KeyExpiry;
        let dir = tempfile::tempdir().unwrap();
        let (app, _) = app(dir.path());
        let p = app.add_profile(draft("work")).unwrap();
        // The app clock reads 2026-11-23 08:00 UTC.
        let at = |d: &str| chrono::DateTime::parse_from_rfc3339(d).unwrap().to_utc();
        let cases = [
            (KeyExpiry::Never, false),
            (
                KeyExpiry::Unknown {
                    why: "refused".into(),
                },
                false,
            ),
            (
                KeyExpiry::At {
                    at: at("2026-12-01T08:00:01Z"),
                },
                false,
            ),
            (
                KeyExpiry::At {
                    at: at("2026-11-30T08:00:00Z"),
                },
                true,
            ),
            (
                KeyExpiry::At {
                    at: at("2026-11-20T08:00:00Z"),
                },
                true,
            ),
            (
                KeyExpiry::EarliestOf {
                    at: at("2026-11-25T08:00:00Z"),
                    keys: 2,
                },
                true,
            ),
        ];
        for (expiry, soon) in cases {
            app.note_key_expiry(&p.id, &expiry).unwrap();
            let s = app.status("work").unwrap();
            assert_eq!(s.odoo_key_expiry.as_ref(), Some(&expiry));
            assert_eq!(s.odoo_key_expires_soon, soon, "{expiry:?}");
            let told = s.attention().iter().any(|l| l.contains("expires on"));
            assert_eq!(told, soon, "{:?}", s.attention());
        }
        let s = app.status("work").unwrap();
        assert!(
            s.attention()
                .iter()
                .any(|l| l.contains("one of this user's 2 Odoo API keys")),
            "{:?}",
            s.attention()
        );
    }
}
