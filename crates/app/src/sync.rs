//! Sync now, dry run, confirm a paused plan, the daemon loop, conflict resolution through
//! the engine, reset and restore: the engine driven with the real clients plugged in.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use odoo365_auth::SecretKind;
use odoo365_engine::ports::{
    DeltaRound, MicrosoftCalendar, OdooCalendar, PortError, PortResult, Window,
};
use odoo365_engine::{
    ConflictChoice, CycleReport, Engine, EngineError, JobState, LinkKind, Outcome, Store,
    SyncOptions,
};
use odoo365_sync_core::canonical::Response;
use odoo365_sync_core::Side;

use crate::connect::{odoo_api_key, session_fingerprint, Session, SIGNED_IN_AT};
use crate::status::{LAST_ERROR, LAST_OUTCOME, LAST_SYNC_AT, NEXT_SYNC_AT, SIGN_IN_NEEDED};
use crate::{App, AppError, ErrorCode, KeepSide, Profile, Resolution};

/// The engine's cursors, cleared by a reset (the app's own `app.*` facts stay).
const ENGINE_CURSORS: [&str; 5] = [
    "calendar.graph_delta",
    "calendar.odoo_write_date",
    "calendar.odoo_id_check",
    "calendar.recheck",
    "calendar.paused_plan",
];

/// An exclusive hold on a profile's sync state, across processes (the daemon, the CLI, the
/// desktop app): released when dropped, or by the OS when the process dies.
#[derive(Debug)]
pub struct ProfileLock {
    _file: std::fs::File,
}

/// Test hook: `ODOO365_CRASH_AFTER=N` stops a sync right after its N-th persisted step or
/// service write, as a crash would (the golden scenarios restart from there). Read only
/// when the crate is built with the `crash-hooks` feature (the root package's tests turn
/// it on): a shipped build never stops because of an environment variable.
pub const CRASH_AFTER_ENV: &str = "ODOO365_CRASH_AFTER";

/// The crash point the hook asks for, from the variable's value.
#[cfg(feature = "crash-hooks")]
fn crash_hook(value: Option<String>) -> Option<usize> {
    value.and_then(|n| n.parse().ok())
}

#[cfg(not(feature = "crash-hooks"))]
fn crash_hook(_value: Option<String>) -> Option<usize> {
    None
}

/// What `sync` returns: the engine's report and what it means for the person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncResult {
    pub profile: String,
    /// `synced`, `dry_run` or `paused`.
    pub outcome: String,
    /// One line: what was done or why it paused and what to do.
    pub summary: String,
    pub open_conflicts: usize,
    pub report: CycleReport,
    /// The documents cycle, when the profile syncs documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<odoo365_engine::files::FileReport>,
}

impl SyncResult {
    /// The error a script should see: a guard waiting for `--yes`, or conflicts waiting
    /// for a decision. `None` when nothing waits for the person.
    pub fn needs_person(&self) -> Option<AppError> {
        if let Outcome::Paused { .. } = self.report.outcome {
            return Some(AppError::new(ErrorCode::GuardTripped, self.summary.clone()));
        }
        if let Some(Outcome::Paused { .. }) = self.files.as_ref().map(|f| &f.outcome) {
            return Some(AppError::new(ErrorCode::GuardTripped, self.summary.clone()));
        }
        (self.open_conflicts > 0).then(|| {
            AppError::new(
                ErrorCode::ConflictsPending,
                format!(
                    "{} conflict(s) wait for your decision: `odoo365 conflicts list`; those \
                     events stay as they are on both sides until then",
                    self.open_conflicts
                ),
            )
        })
    }
}

pub(crate) fn engine_error(e: EngineError) -> AppError {
    match e {
        EngineError::Store(s) => s.into(),
        EngineError::SignInNeeded { side, error } => match side {
            Side::Microsoft => AppError::new(
                ErrorCode::SignInNeeded,
                format!(
                    "Microsoft needs you to sign in again ({error}); sync waits until you \
                     run `odoo365 login`, and nothing queued is lost"
                ),
            ),
            Side::Odoo => AppError::new(
                ErrorCode::OdooKeyRefused,
                format!(
                    "Odoo refused the API key ({error}); sync waits until you enter a new \
                     one with `odoo365 profile set-key`, and nothing queued is lost"
                ),
            ),
        },
        EngineError::Observe { side, error } => {
            let retry_after_s = match &error {
                PortError::Throttled {
                    retry_after: Some(d),
                } => Some(d.as_secs().max(1)),
                _ => None,
            };
            let code = if error.is_transient() {
                ErrorCode::Network
            } else {
                ErrorCode::Internal
            };
            AppError {
                code,
                message: format!(
                    "reading {} failed ({error}); nothing of this cycle was written, the next \
                     sync tries again",
                    match side {
                        Side::Odoo => "Odoo",
                        Side::Microsoft => "Microsoft 365",
                    }
                ),
                retry_after_s,
            }
        }
        EngineError::NoSuchConflict(id) => AppError::new(
            ErrorCode::NotFound,
            format!("there is no open conflict {id}; `odoo365 conflicts list` shows them"),
        ),
        EngineError::Invalid(m) => AppError::new(ErrorCode::InvalidInput, m),
        EngineError::Crashed => AppError::new(
            ErrorCode::Internal,
            "stopped at a simulated crash point; the next sync resumes from the store",
        ),
    }
}

/// Ports for engine work that does no I/O (recording a conflict resolution): every call
/// answers "not sent".
struct Offline;

fn offline<T>() -> PortResult<T> {
    Err(PortError::NotSent {
        message: "offline".into(),
    })
}

#[async_trait::async_trait]
impl MicrosoftCalendar for Offline {
    async fn delta(&self, _: Window, _: Option<&str>) -> PortResult<DeltaRound> {
        offline()
    }
    async fn get(&self, _: &str) -> PortResult<Value> {
        offline()
    }
    async fn create(&self, _: &Value, _: &str) -> PortResult<Value> {
        offline()
    }
    async fn update(&self, _: &str, _: &Value, _: Option<&str>) -> PortResult<Value> {
        offline()
    }
    async fn delete(&self, _: &str, _: Option<&str>) -> PortResult<()> {
        offline()
    }
    async fn cancel(&self, _: &str, _: &str) -> PortResult<()> {
        offline()
    }
    async fn respond(&self, _: &str, _: Response) -> PortResult<()> {
        offline()
    }
    async fn find_by_transaction_id(&self, _: &str) -> PortResult<Option<Value>> {
        offline()
    }
    async fn find_by_ical_uid(&self, _: &str) -> PortResult<Option<Value>> {
        offline()
    }
    async fn series_master(&self, _: &str) -> PortResult<Value> {
        offline()
    }
    async fn instances(&self, _: &str, _: Window) -> PortResult<Vec<Value>> {
        offline()
    }
}

#[async_trait::async_trait]
impl OdooCalendar for Offline {
    async fn changed_since(
        &self,
        _: Option<chrono::DateTime<chrono::Utc>>,
        _: chrono::Duration,
        _: Window,
    ) -> PortResult<Vec<Value>> {
        offline()
    }
    async fn existing_ids(&self, _: &[i64]) -> PortResult<Vec<i64>> {
        offline()
    }
    async fn read(&self, _: &[i64]) -> PortResult<Vec<Value>> {
        offline()
    }
    async fn create(&self, _: &Value) -> PortResult<i64> {
        offline()
    }
    async fn create_many(&self, _: &[Value]) -> PortResult<Vec<i64>> {
        offline()
    }
    async fn write(&self, _: i64, _: &Value) -> PortResult<()> {
        offline()
    }
    async fn archive(&self, _: i64) -> PortResult<()> {
        offline()
    }
    async fn respond(&self, _: i64, _: Response) -> PortResult<()> {
        offline()
    }
    async fn message_post(&self, _: i64, _: &str) -> PortResult<()> {
        offline()
    }
    async fn has_note(&self, _: i64, _: &str) -> PortResult<bool> {
        offline()
    }
    async fn find(&self, _: &str, _: chrono::DateTime<chrono::Utc>) -> PortResult<Vec<Value>> {
        offline()
    }
    async fn series(&self, _: &[i64]) -> PortResult<Vec<odoo365_engine::OdooSeries>> {
        offline()
    }
    async fn archive_series(&self, _: i64) -> PortResult<()> {
        offline()
    }
    async fn respond_series(&self, _: i64, _: Response) -> PortResult<()> {
        offline()
    }
}

fn summary(report: &CycleReport, open_conflicts: usize) -> String {
    let writes = report.jobs_done;
    match &report.outcome {
        Outcome::Paused { guards } => {
            let why: Vec<String> = guards
                .iter()
                .map(|g| match g {
                    odoo365_engine::Guard::FirstSync => {
                        "this is the profile's first sync".to_string()
                    }
                    odoo365_engine::Guard::MassChange {
                        changes, linked, ..
                    } => format!("it would delete or rewrite {changes} of {linked} linked events"),
                    odoo365_engine::Guard::AttendeeMails { mails } => {
                        format!("it would make Outlook mail attendees {mails} time(s)")
                    }
                })
                .collect();
            format!(
                "paused before writing anything because {}: {}; review it with `odoo365 sync \
                 --dry-run` and run `odoo365 sync --yes` to go ahead",
                why.join(" and "),
                report.plan.summary()
            )
        }
        Outcome::DryRun => format!("dry run, nothing written: {}", report.plan.summary()),
        Outcome::Synced => {
            let mut s = format!("synced: {writes} change(s) applied");
            if report.jobs_waiting > 0 {
                s.push_str(&format!(", {} waiting to be retried", report.jobs_waiting));
            }
            if !report.failed.is_empty() {
                s.push_str(&format!(
                    ", {} failed (shown in status)",
                    report.failed.len()
                ));
            }
            if open_conflicts > 0 {
                s.push_str(&format!(", {open_conflicts} conflict(s) open"));
            }
            if report.skipped_recurring > 0 {
                s.push_str(&format!(
                    ", {} recurring event(s) without a readable rule left as they are",
                    report.skipped_recurring
                ));
            }
            if report.resynced {
                s.push_str(
                    " (Outlook's change list had expired: reconciled in full, no duplicates)",
                );
            }
            s
        }
    }
}

impl App {
    /// The profile's connected clients: the kept session when the profile's settings, API
    /// key and Microsoft sign-in are those it was built with (and it is younger than
    /// `SESSION_MAX_AGE`), else a new one, kept for the next cycle.
    pub(crate) async fn session_for(&self, profile: &Profile) -> Result<Arc<Session>, AppError> {
        if self
            .keychain
            .get(&profile.id, SecretKind::MicrosoftRefreshToken)?
            .is_none()
        {
            self.forget_session(&profile.id);
            return Err(AppError::new(
                ErrorCode::SignInNeeded,
                format!(
                    "profile {:?} is not signed in to Microsoft; run `odoo365 login` first",
                    profile.name
                ),
            ));
        }
        let key = odoo_api_key(self.keychain.as_ref(), profile)?;
        let signed_in_at = self.store().tx(|t| t.cursor(&profile.id, SIGNED_IN_AT))?;
        let fingerprint = session_fingerprint(profile, &key, signed_in_at.as_deref())?;
        let kept = self.sessions().get(&profile.id).cloned();
        if let Some(s) = kept.filter(|s| s.serves(fingerprint, std::time::Instant::now())) {
            return Ok(s);
        }
        let session =
            Arc::new(Session::open(profile, &key, self.keychain.clone(), fingerprint).await?);
        // A profile with links stays bound to its mailbox; the key's expiry is learnt on
        // each connection (once per kept session).
        self.bind_mailbox(profile, &session.me)?;
        self.note_key_expiry(&profile.id, &session.odoo.key_expiry(self.now()))?;
        tracing::debug!(profile = %profile.name, "connected to Microsoft 365 and Odoo");
        self.sessions().insert(profile.id.clone(), session.clone());
        Ok(session)
    }

    fn sessions(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Arc<Session>>> {
        // Only whole sessions are inserted or removed: a panic leaves the map consistent.
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops a profile's kept session: the next cycle connects again. Called after a
    /// failed cycle (an expired sign-in, a refused key, a server that changed) and when
    /// the profile goes.
    pub(crate) fn forget_session(&self, profile_id: &str) {
        self.sessions().remove(profile_id);
    }

    /// The real clients behind the engine's ports for a profile: Graph with the keychain's
    /// refresh token, Odoo with the keychain's API key; and the signed-in mailbox address.
    pub(crate) async fn ports_for(
        &self,
        profile: &Profile,
    ) -> Result<(String, Arc<dyn MicrosoftCalendar>, Arc<dyn OdooCalendar>), AppError> {
        let s = self.session_for(profile).await?;
        Ok((s.me.clone(), s.calendar.clone(), s.events.clone()))
    }

    async fn engine_for(&self, profile: &Profile) -> Result<Engine, AppError> {
        let (me, microsoft, odoo) = self.ports_for(profile).await?;
        self.engine_with(profile, &me, microsoft, odoo)
    }

    /// The engine for a profile over any ports (tests plug the engine's fakes in).
    pub fn engine_with(
        &self,
        profile: &Profile,
        me: &str,
        microsoft: Arc<dyn MicrosoftCalendar>,
        odoo: Arc<dyn OdooCalendar>,
    ) -> Result<Engine, AppError> {
        // The engine gets its own connection to the same database (WAL: readers such as
        // `status` are not blocked while it writes).
        let store = Store::open(&self.data_dir.join("sync.db"))?;
        Engine::new(
            store,
            profile.settings.engine_config(&profile.id, me),
            microsoft,
            odoo,
            self.clock.clone(),
        )
        .map_err(engine_error)
    }

    /// One sync cycle of a profile: `dry_run` plans only, `confirm` lets a paused plan
    /// (first sync, mass change, many attendee mails) go ahead.
    pub async fn sync(
        &self,
        profile: &str,
        dry_run: bool,
        confirm: bool,
    ) -> Result<SyncResult, AppError> {
        let profile = self.profile(profile)?;
        let _lock = self.lock_profile(&profile)?;
        let result = self.sync_kept(&profile, dry_run, confirm).await;
        if result.is_err() {
            // Whatever failed (a sign-in, a key, a server that changed under us), the next
            // cycle connects afresh rather than reusing what may be the cause.
            self.forget_session(&profile.id);
        }
        result
    }

    /// [`App::sync`] under the profile's lock, on its kept session.
    async fn sync_kept(
        &self,
        profile: &Profile,
        dry_run: bool,
        confirm: bool,
    ) -> Result<SyncResult, AppError> {
        let profile = profile.clone();
        let engine = match self.engine_for(&profile).await {
            Ok(e) => e,
            Err(e) => {
                self.record_failure(&profile, &e)?;
                return Err(e);
            }
        };
        let mut result = self.sync_with(&profile, engine, dry_run, confirm).await?;
        if profile.settings.documents {
            // After the calendar, on its own connection to the same store (never both at
            // once for one profile: the profile lock is held).
            let files = async {
                let (drive, odoo) = self.file_ports_for(&profile).await?;
                let files = self.file_sync_with(&profile, drive, odoo)?;
                self.sync_files_with(files, dry_run, confirm).await
            }
            .await;
            let files = match files {
                Ok(f) => f,
                Err(e) => {
                    self.record_failure(&profile, &e)?;
                    return Err(e);
                }
            };
            self.add_files(&profile, &mut result, files, dry_run)?;
        }
        Ok(result)
    }

    /// Adds a file cycle's report to a sync result (and to the recorded outcome).
    pub fn add_files(
        &self,
        profile: &Profile,
        result: &mut SyncResult,
        files: odoo365_engine::files::FileReport,
        dry_run: bool,
    ) -> Result<(), AppError> {
        result.summary = format!("{}; {}", result.summary, crate::files::file_summary(&files));
        result.open_conflicts = self.store().tx(|t| t.open_conflicts(&profile.id))?.len();
        if matches!(files.outcome, Outcome::Paused { .. }) {
            result.outcome = "paused".into();
        }
        if !dry_run {
            self.set_marker(&profile.id, LAST_OUTCOME, Some(&result.summary))?;
        }
        result.files = Some(files);
        Ok(())
    }

    /// Takes the profile's lock, or says who has it.
    pub fn lock_profile(&self, profile: &Profile) -> Result<ProfileLock, AppError> {
        let dir = self.data_dir.join("locks");
        std::fs::create_dir_all(&dir).map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
        let path = dir.join(format!("{}.lock", profile.id));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                AppError::new(
                    ErrorCode::Storage,
                    format!("cannot open {}: {e}", path.display()),
                )
            })?;
        match file.try_lock() {
            Ok(()) => Ok(ProfileLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(AppError::new(
                ErrorCode::Busy,
                format!(
                    "profile {:?} is syncing right now (the daemon, the desktop app or another \
                     odoo365); nothing was done here, try again when it has finished",
                    profile.name
                ),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(AppError::new(
                ErrorCode::Storage,
                format!("cannot lock {}: {e}", path.display()),
            )),
        }
    }

    /// The plan preview: what a sync would do now, written nowhere (a dry run).
    pub async fn preview(&self, profile: &str) -> Result<SyncResult, AppError> {
        self.sync(profile, true, false).await
    }

    /// One cycle on a given engine, with the outcome recorded for `status`.
    pub async fn sync_with(
        &self,
        profile: &Profile,
        mut engine: Engine,
        dry_run: bool,
        confirm: bool,
    ) -> Result<SyncResult, AppError> {
        let span = tracing::info_span!("sync", profile = %profile.name, dry_run, confirm);
        let _enter = span.enter();
        if let Some(n) = crash_hook(std::env::var(CRASH_AFTER_ENV).ok()) {
            // The golden scenarios' crash points: the process stops as if killed.
            engine.crash_after(Some(n));
        }
        let report = engine
            .sync(SyncOptions { dry_run, confirm })
            .await
            .map_err(engine_error);
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                self.record_failure(profile, &e)?;
                return Err(e);
            }
        };
        let open_conflicts = self.store().tx(|t| t.open_conflicts(&profile.id))?.len();
        let result = SyncResult {
            profile: profile.name.clone(),
            outcome: match report.outcome {
                Outcome::Synced => "synced",
                Outcome::DryRun => "dry_run",
                Outcome::Paused { .. } => "paused",
            }
            .into(),
            summary: summary(&report, open_conflicts),
            open_conflicts,
            report,
            files: None,
        };
        if !dry_run {
            let now = self.now().to_rfc3339();
            self.set_marker(&profile.id, LAST_SYNC_AT, Some(&now))?;
            self.set_marker(&profile.id, LAST_OUTCOME, Some(&result.summary))?;
            self.set_marker(&profile.id, LAST_ERROR, None)?;
            self.set_marker(&profile.id, SIGN_IN_NEEDED, None)?;
        }
        tracing::info!(outcome = %result.outcome, jobs_done = result.report.jobs_done, "sync finished");
        Ok(result)
    }

    fn record_failure(&self, profile: &Profile, e: &AppError) -> Result<(), AppError> {
        let text = serde_json::json!({"code": e.code, "message": e.message}).to_string();
        self.set_marker(&profile.id, LAST_ERROR, Some(&text))?;
        if e.code == ErrorCode::SignInNeeded {
            self.set_marker(&profile.id, SIGN_IN_NEEDED, Some("yes"))?;
        }
        tracing::warn!(profile = %profile.name, code = ?e.code, error = %e.message, "sync failed");
        Ok(())
    }

    /// Polls a profile every `interval` until `stop` resolves. A throttled service's
    /// `Retry-After` replaces the interval when it is longer; sign-in problems wait for a
    /// new sign-in without hammering the service (checked every interval).
    pub async fn daemon(
        &self,
        profile: &str,
        interval: Duration,
        stop: impl std::future::Future<Output = ()>,
        mut on_cycle: impl FnMut(&Result<SyncResult, AppError>),
    ) -> Result<(), AppError> {
        let profile = self.profile(profile)?;
        tokio::pin!(stop);
        loop {
            let result = self.sync(&profile.id, false, false).await;
            on_cycle(&result);
            let wait = next_wait(&result, interval);
            let next = self.now()
                + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(5));
            self.set_marker(&profile.id, NEXT_SYNC_AT, Some(&next.to_rfc3339()))?;
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        self.set_marker(&profile.id, NEXT_SYNC_AT, None)?;
        Ok(())
    }

    /// Records the person's decision on a conflict and queues its writes, which run at
    /// the start of the next sync.
    pub fn resolve_conflict(
        &self,
        profile: &str,
        id: i64,
        resolution: &Resolution,
    ) -> Result<crate::ConflictView, AppError> {
        let view = self.conflict(profile, id)?;
        crate::conflicts::check_resolution(&view, resolution)?;
        if self.is_file_conflict(id)? {
            return self.resolve_file_conflict(profile, id, resolution);
        }
        let side = |k: &KeepSide| match k {
            KeepSide::Odoo => Side::Odoo,
            KeepSide::Microsoft => Side::Microsoft,
        };
        let choice = match resolution {
            Resolution::Keep(k) => ConflictChoice::Side { side: side(k) },
            Resolution::Fields(chosen) => ConflictChoice::Fields {
                fields: chosen
                    .iter()
                    .map(|(name, k)| {
                        serde_json::from_value(Value::String(name.clone()))
                            .map(|f| (f, side(k)))
                            .map_err(|_| {
                                AppError::new(
                                    ErrorCode::InvalidInput,
                                    format!("{name:?} is not a synced field"),
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?,
            },
            Resolution::KeepBoth => {
                return Err(AppError::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "conflict {id} is about an event: keep odoo or microsoft (keeping both \
                         is for files)"
                    ),
                ))
            }
        };
        let profile = self.profile(profile)?;
        // Opening an engine recovers the profile's interrupted jobs: never under a running sync.
        let _lock = self.lock_profile(&profile)?;
        let mut engine = self.engine_with(&profile, "", Arc::new(Offline), Arc::new(Offline))?;
        engine.resolve_conflict(id, choice).map_err(engine_error)?;
        self.conflict(&profile.id, id)
    }

    /// Forgets what sync knows about a profile's pairs (links, baselines, cursors, queued
    /// work, open conflicts) but not its settings, secrets, activity or journal. The next
    /// sync is a first sync: it pairs events again (by iCalUId, then title and start), and
    /// shows its plan before writing if pairing leaves anything to write.
    pub fn reset_sync_state(&self, profile: &str) -> Result<ResetReport, AppError> {
        let profile = self.profile(profile)?;
        let _lock = self.lock_profile(&profile)?;
        let id = profile.id.as_str();
        let now = self.now();
        let resolution = serde_json::json!({"reset": true});
        let report = self.store().tx(|t| {
            let links = t.links(id, LinkKind::Event)?;
            let mut jobs = 0;
            for state in [JobState::Pending, JobState::Running, JobState::Failed] {
                for j in t.jobs(id, state)? {
                    // Cancelled, not done (they did not run to their end) nor left failed
                    // (a failed job keeps its items frozen, and a Retry would run it on
                    // links that are gone); each one's line in the activity says so.
                    if t.cancel_job(j.id, "cancelled by a reset of the sync state", now)? {
                        t.append_audit(
                            &odoo365_engine::NewAudit {
                                profile_id: id,
                                link_id: None,
                                item: j
                                    .payload
                                    .get("item")
                                    .and_then(Value::as_str)
                                    .unwrap_or(&j.key),
                                op: "job_cancelled",
                                origin: odoo365_engine::Origin::Sync,
                                rule: "reset by the user: the queued work was not run",
                                before_hash: None,
                                after_hash: None,
                                detail: Some(&serde_json::json!({
                                    "job": j.key,
                                    "was": match state {
                                        JobState::Running => "running",
                                        JobState::Failed => "failed",
                                        _ => "pending",
                                    },
                                    "last_error": j.last_error,
                                })),
                            },
                            now,
                        )?;
                        jobs += 1;
                    }
                }
            }
            let conflicts = t.open_conflicts(id)?;
            for c in &conflicts {
                t.resolve_conflict(c.id, &resolution, now)?;
            }
            for l in &links {
                t.delete_link(l.id)?;
            }
            for c in ENGINE_CURSORS {
                t.clear_cursor(id, c)?;
            }
            t.append_audit(
                &odoo365_engine::NewAudit {
                    profile_id: id,
                    link_id: None,
                    item: "all events",
                    op: "reset_sync_state",
                    origin: odoo365_engine::Origin::Sync,
                    rule: "reset by the user",
                    before_hash: None,
                    after_hash: None,
                    detail: None,
                },
                now,
            )?;
            Ok(ResetReport {
                profile: profile.name.clone(),
                links_forgotten: links.len(),
                jobs_cancelled: jobs,
                conflicts_closed: conflicts.len(),
            })
        })?;
        Ok(report)
    }
}

/// How long the daemon waits after a cycle: the interval, or a service's longer
/// `Retry-After`.
pub fn next_wait(result: &Result<SyncResult, AppError>, interval: Duration) -> Duration {
    match result {
        Err(e) => e
            .retry_after_s
            .map(Duration::from_secs)
            .filter(|d| *d > interval)
            .unwrap_or(interval),
        Ok(_) => interval,
    }
}

/// What a reset forgot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetReport {
    pub profile: String,
    pub links_forgotten: usize,
    pub jobs_cancelled: usize,
    pub conflicts_closed: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(feature = "crash-hooks"))]
    fn without_the_crash_hooks_feature_the_crash_variable_is_ignored() {
        assert_eq!(crash_hook(Some("3".into())), None);
    }

    #[test]
    #[cfg(feature = "crash-hooks")]
    fn with_the_crash_hooks_feature_the_crash_variable_sets_the_crash_point() {
        assert_eq!(crash_hook(Some("3".into())), Some(3));
        assert_eq!(crash_hook(Some("x".into())), None);
    }

    #[test]
    fn the_daemon_waits_out_a_longer_retry_after_and_otherwise_keeps_its_interval() {
        let interval = Duration::from_secs(300);
        let throttled = |s| {
            Err(AppError {
                retry_after_s: Some(s),
                ..AppError::new(ErrorCode::Network, "throttled")
            })
        };
        assert_eq!(
            next_wait(&throttled(900), interval),
            Duration::from_secs(900)
        );
        assert_eq!(next_wait(&throttled(20), interval), interval);
        assert_eq!(
            next_wait(&Err(AppError::new(ErrorCode::SignInNeeded, "x")), interval),
            interval
        );
    }

    #[test]
    fn one_sync_per_profile_at_a_time_and_the_lock_goes_with_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _) = crate::tests::app(dir.path());
        let work = app.add_profile(crate::tests::draft("work")).unwrap();
        let home = app.add_profile(crate::tests::draft("home")).unwrap();
        let held = app.lock_profile(&work).unwrap();
        let e = app.lock_profile(&work).unwrap_err();
        assert_eq!(e.code, ErrorCode::Busy);
        assert!(e.message.contains("try again"), "{}", e.message);
        assert_eq!(
            app.reset_sync_state("work").unwrap_err().code,
            ErrorCode::Busy
        );
        app.lock_profile(&home).unwrap();
        drop(held);
        app.lock_profile(&work).unwrap();
        app.reset_sync_state("work").unwrap();
    }

    #[test]
    fn a_throttled_read_keeps_its_retry_after_for_the_daemon() {
        let e = engine_error(EngineError::Observe {
            side: Side::Microsoft,
            error: PortError::Throttled {
                retry_after: Some(Duration::from_secs(120)),
            },
        });
        assert_eq!((e.code, e.retry_after_s), (ErrorCode::Network, Some(120)));
        assert!(
            e.message.contains("the next sync tries again"),
            "{}",
            e.message
        );
        let e = engine_error(EngineError::SignInNeeded {
            side: Side::Odoo,
            error: PortError::SignInNeeded {
                message: "expired".into(),
            },
        });
        assert_eq!(e.code, ErrorCode::OdooKeyRefused);
    }
}
