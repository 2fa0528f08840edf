//! The documents sync engine: [`FileSync`], one cycle of one profile's files.
//!
//! It is a separate entry point beside the calendar's [`crate::Engine`], on the **same
//! store** (links of kind `file`, baselines, cursors named `files.*`, the job queue with
//! jobs of kind [`JOB_KIND`], conflicts, audit log, journal). The app opens it on its own
//! connection to the profile's database and runs it after the calendar cycle (not at the
//! same time for one profile: both recover the profile's interrupted jobs when opened).
//! The calendar engine leaves file jobs alone.
//!
//! [`FileSync::sync`] runs a cycle:
//!
//! 1. **Observe** OneDrive with one delta round scoped to the sync root (persisted delta
//!    link; a 410 runs a full round reconciled against the links, so nothing is
//!    duplicated) and keeps the folders below the root in the store (by id); Odoo by
//!    `write_date`/`create_date` cursor minus an overlap, plus an id-set check (every
//!    `id_check_every`, and on every full round) that turns hard deletes into deletions.
//!    Items left unfinished by an earlier cycle are re-read explicitly.
//! 2. **Plan**: one item per link either side mentioned, one per unlinked attachment or
//!    file. Unlinked pairs on the same record with the same content (checked by hash, the
//!    attachment downloaded once) are **linked, never duplicated**: this is how a lost store
//!    or a first sync over existing files re-links by path and hash. Files in folders that
//!    name no readable record are left alone, kept in the store and reported by every
//!    cycle until their folder names a readable record (then they are placed like a new
//!    file). Items with an unfinished job wait for it.
//!    `sync_core::files::reconcile` decides.
//! 3. **Guards**: the first file sync and a mass change (deletes + overwrites, the
//!    calendar's [`Guards`] thresholds; or one side's linked files all gone) pause the
//!    cycle; a dry run stops here with the plan. Nothing is written in either case.
//! 4. **Enqueue** one durable job per item, open conflict records, move the cursors, in
//!    one transaction.
//! 5. **Execute** in two lanes: metadata and small files first, then large files (above
//!    the simple-upload threshold), which yield after `large_bytes_per_drain` bytes with
//!    their upload session saved so small files queued meanwhile go first. Every step
//!    persists its result before the next; an upload session's URL and next offset are
//!    persisted after each fragment, so a crash resumes the upload where it stopped.
//!    Content is checked by hash at every hop (the attachment's SHA-1 on download, the
//!    OneDrive file's QuickXorHash on download, the QuickXorHash OneDrive reports after an
//!    upload); a mismatch is retried `hash_attempts` times, then reported, and nothing
//!    that failed the check is ever written to Odoo. A failing file never blocks others.
//!
//! Loop safety: each side of a link is compared with its own half of the baseline, which
//! holds what that side showed *after* sync wrote it (Odoo's checksum is re-read after an
//! upload, since Odoo may resize images), so sync's own writes never look like changes.
//!
//! Nothing is lost: OneDrive deletes go to the recycle bin and overwritten OneDrive
//! content stays in the file's version history; an attachment is overwritten or deleted
//! only with content that OneDrive holds (its previous version, or the recycle bin), and
//! both are journaled with where the content can be found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use odoo365_sync_core::files::layout::{self, Place};
use odoo365_sync_core::files::names;
use odoo365_sync_core::files::{
    reconcile, DriveState, FileConflictKind, FileDecision, FileField, FileItem, FileOp,
    FileSettings, OdooState, RecordKey,
};
use odoo365_sync_core::Side;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ports::{
    ContentInfo, Drive, DriveFile, OdooAttachment, OdooAttachments, UploadProgress, UploadSession,
    UploadTarget,
};
use super::store::FolderRow;
use crate::ports::PortError;
use crate::state::{Job, JobState, Link, LinkKind, NewAudit, NewLink, Origin, Tx};
use crate::sync::{EngineError, Guard, Guards, ItemError, Outcome, SyncOptions};
use crate::{Clock, Store, StoreError};

/// The job kind of file jobs in the shared queue.
pub const JOB_KIND: &str = "file";
/// The `odoo_model` of file links (their `odoo_id` is the attachment id).
pub const ATTACHMENT_MODEL: &str = "ir.attachment";

const CUR_ROOT: &str = "files.root_id";
const CUR_DELTA: &str = "files.drive_delta";
const CUR_ODOO: &str = "files.odoo_cursor";
const CUR_ID_CHECK: &str = "files.odoo_id_check";
const CUR_RECHECK: &str = "files.recheck";
/// The rule of a numbered OneDrive name given Odoo's name back (`plan_numbered_names_back`).
const NAME_BACK: &str = "the name its number kept apart from a namesake is free again";
/// The files left alone because their folder names no readable record (JSON map by item
/// id of [`Unplaced`]).
const CUR_UNPLACED: &str = "files.unplaced";

/// A profile's documents settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileConfig {
    pub profile_id: String,
    /// The sync root, relative to the drive root (`Odoo Sync`).
    pub root_path: String,
    /// The models whose records' attachments are synced.
    pub models: Vec<String>,
    pub settings: FileSettings,
    pub odoo_overlap: Duration,
    pub id_check_every: Duration,
    pub guards: Guards,
    pub attempts_max: i64,
    pub retry_base: Duration,
    /// Files up to this size go in one `PUT`; larger ones through an upload session and
    /// the large lane.
    pub simple_upload_max: u64,
    /// Upload fragment size: a multiple of 320 KiB under 60 MiB (graph.md §3.6).
    pub fragment_size: u64,
    /// Bytes a large upload sends per drain before it yields to the small lane.
    pub large_bytes_per_drain: u64,
    /// Transfers whose content fails its hash check are retried this many times in all.
    pub hash_attempts: i64,
    /// Where content is spooled between the services (one file per running transfer).
    pub spool_dir: PathBuf,
}

impl FileConfig {
    /// The defaults: `Odoo Sync`, the four default models, two-way, 4 MiB simple uploads,
    /// 10 MiB fragments, 64 MiB per large-lane turn, 3 hash attempts.
    pub fn new(profile_id: &str, spool_dir: PathBuf) -> FileConfig {
        FileConfig {
            profile_id: profile_id.to_owned(),
            root_path: "Odoo Sync".to_owned(),
            models: ["sale.order", "account.move", "project.task", "crm.lead"]
                .map(str::to_owned)
                .to_vec(),
            settings: FileSettings::default(),
            odoo_overlap: Duration::minutes(2),
            id_check_every: Duration::hours(1),
            guards: Guards::default(),
            attempts_max: 6,
            retry_base: Duration::seconds(30),
            simple_upload_max: 4 * 1024 * 1024,
            fragment_size: 32 * 320 * 1024,
            large_bytes_per_drain: 64 * 1024 * 1024,
            hash_attempts: 3,
            spool_dir,
        }
    }
}

/// How the user settles a both-changed file conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileConflictChoice {
    /// Keep both versions (as they are now: two files, two attachments).
    KeepBoth,
    /// Keep Odoo's version under the original name; the OneDrive version is deleted.
    KeepOdoo,
    /// Keep OneDrive's version; Odoo's version is deleted.
    KeepOneDrive,
}

/// One planned file operation, as a dry run or a paused cycle shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedFile {
    pub item: String,
    pub rule: String,
    pub ops: Vec<FileOp>,
    pub conflict: Option<FileConflictKind>,
    pub size: u64,
}

/// What a file cycle did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    pub outcome: Outcome,
    pub planned: Vec<PlannedFile>,
    /// The delta link was refused and a full round reconciled against the links.
    pub resynced: bool,
    /// Unlinked pairs linked by record, name and hash (a lost store, a first sync).
    pub relinked: usize,
    pub jobs_done: usize,
    pub jobs_waiting: usize,
    pub failed: Vec<ItemError>,
    /// Files in folders that match no readable record: left alone.
    pub unplaced: Vec<String>,
    /// What the user is told: an edit that won over a delete, a rename that lost.
    pub notices: Vec<String>,
    pub conflicts_opened: usize,
}

/// The baseline of a file link as stored (`baseline.canonical_json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct StoredFile {
    item: FileItem,
    drive_parent: Option<String>,
    etag: Option<String>,
    /// Each side as last observed, when a one-way direction left some of it out of the
    /// baseline: what an unreported side still shows.
    #[serde(default)]
    seen_odoo: Option<OdooState>,
    #[serde(default)]
    seen_drive: Option<DriveState>,
}

impl StoredFile {
    fn last_odoo(&self) -> Option<OdooState> {
        self.seen_odoo.clone().or_else(|| self.item.odoo.clone())
    }

    fn last_drive(&self) -> Option<DriveState> {
        self.seen_drive.clone().or_else(|| self.item.drive.clone())
    }
}

/// A step of a file job (the decision's ops, with keep-both spelled out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    DriveCreate {
        record: RecordKey,
        name: String,
        #[serde(default)]
        conflict_copy: bool,
    },
    DriveReplace,
    DriveRename {
        name: String,
    },
    DriveMove {
        record: RecordKey,
    },
    DriveDelete,
    OdooCreate {
        record: RecordKey,
        name: String,
        /// Keep-both: the OneDrive file leaves this link for a new one.
        #[serde(default)]
        split: bool,
    },
    OdooReplace,
    OdooRename {
        name: String,
    },
    /// Keep-both: Odoo's version takes the name its OneDrive copy was given (the dated
    /// `(Odoo conflict …)` name, with the same `(2)` when that was taken), so both sides
    /// show the same two files under the same two names, as a OneDrive conflict copy does,
    /// and nothing depends on a clash that may later go away (RELIABILITY Found 10).
    OdooCopyName,
    OdooMove {
        record: RecordKey,
    },
    OdooDelete,
    Link,
    Unlink,
    Detach,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::DriveCreate { .. } => "upload",
            Step::DriveReplace => "upload_content",
            Step::DriveRename { .. } => "rename_file",
            Step::DriveMove { .. } => "move_file",
            Step::DriveDelete => "delete_file",
            Step::OdooCreate { .. } => "create_attachment",
            Step::OdooReplace => "update_attachment",
            Step::OdooRename { .. } | Step::OdooCopyName => "rename_attachment",
            Step::OdooMove { .. } => "move_attachment",
            Step::OdooDelete => "delete_attachment",
            Step::Link => "link",
            Step::Unlink => "unlink",
            Step::Detach => "detach",
        }
    }

    /// Whose change the step carries (the audit's origin).
    fn origin(&self) -> Origin {
        match self {
            Step::DriveCreate { .. }
            | Step::DriveReplace
            | Step::DriveRename { .. }
            | Step::DriveMove { .. }
            | Step::DriveDelete => Origin::Odoo,
            Step::OdooCreate { .. }
            | Step::OdooReplace
            | Step::OdooRename { .. }
            | Step::OdooMove { .. }
            | Step::OdooDelete => Origin::Microsoft,
            // The copy's name is the sync's own doing, not a change carried from a side.
            Step::OdooCopyName | Step::Link | Step::Unlink | Step::Detach => Origin::Sync,
        }
    }

    fn side(&self) -> Side {
        match self.origin() {
            Origin::Odoo => Side::Microsoft,
            _ => Side::Odoo,
        }
    }
}

fn steps_of(ops: &[FileOp], o: Option<&OdooState>, d: Option<&DriveState>) -> Vec<Step> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            FileOp::DriveCreate { record, name } => out.push(Step::DriveCreate {
                record: record.clone(),
                name: name.clone(),
                conflict_copy: false,
            }),
            FileOp::DriveReplace => out.push(Step::DriveReplace),
            FileOp::DriveRename { name } => out.push(Step::DriveRename { name: name.clone() }),
            FileOp::DriveMove { record } => out.push(Step::DriveMove {
                record: record.clone(),
            }),
            FileOp::DriveDelete => out.push(Step::DriveDelete),
            FileOp::OdooCreate { record, name } => out.push(Step::OdooCreate {
                record: record.clone(),
                name: name.clone(),
                split: false,
            }),
            FileOp::OdooReplace => out.push(Step::OdooReplace),
            FileOp::OdooRename { name } => out.push(Step::OdooRename { name: name.clone() }),
            FileOp::OdooMove { record } => out.push(Step::OdooMove {
                record: record.clone(),
            }),
            FileOp::OdooDelete => out.push(Step::OdooDelete),
            FileOp::KeepBoth { to_drive, to_odoo } => {
                if let (true, Some(o)) = (to_drive, o) {
                    out.push(Step::DriveCreate {
                        record: o.record.clone(),
                        name: o.name.clone(),
                        conflict_copy: true,
                    });
                    // One way to OneDrive never writes Odoo: there the copy's dated name
                    // stays OneDrive's alone.
                    if *to_odoo {
                        out.push(Step::OdooCopyName);
                    }
                }
                if let (true, Some(d)) = (to_odoo, d) {
                    if let Some(r) = &d.record {
                        out.push(Step::OdooCreate {
                            record: r.clone(),
                            name: names::from_drive(&d.name),
                            split: *to_drive,
                        });
                    }
                }
            }
            FileOp::Link => out.push(Step::Link),
            FileOp::Unlink => out.push(Step::Unlink),
            FileOp::Detach => out.push(Step::Detach),
        }
    }
    out
}

/// An upload or download in flight, persisted so a crash resumes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Transfer {
    spool: PathBuf,
    /// What the spool file holds, checked against the source's hash.
    content: ContentInfo,
    target: Option<UploadTarget>,
    session: Option<UploadSession>,
    offset: u64,
    /// A new file's upload put aside under a free name after a lost answer met another
    /// content under the name it had chosen (`create_drive_file`): the attachment takes
    /// that name too once the upload is in.
    #[serde(default)]
    aside: bool,
}

/// The payload of a file job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileJob {
    item: String,
    /// `l:<link id>`, `a:<attachment id>` or `d:<driveItem id>`: what the job is about.
    key_item: String,
    rule: String,
    conflict: Option<FileConflictKind>,
    ignored: Vec<(Side, FileField)>,
    steps: Vec<Step>,
    done: usize,
    link_id: Option<i64>,
    attachment_id: Option<i64>,
    item_id: Option<String>,
    /// Keep-both: the OneDrive file that becomes a new attachment.
    split_item: Option<String>,
    base: Option<StoredFile>,
    odoo: Option<OdooState>,
    drive: Option<DriveState>,
    drive_parent: Option<String>,
    etag: Option<String>,
    mtime: Option<DateTime<Utc>>,
    size: u64,
    large: bool,
    transfer: Option<Transfer>,
    #[serde(default)]
    hash_failures: i64,
    /// The file this job's upload made, noted the moment OneDrive answered and the content
    /// checked: a resumed upload takes that file, wherever Alice has put it since, instead
    /// of looking for it by name.
    #[serde(default)]
    made: Option<DriveFile>,
    /// The attachment this job's `OdooCreate` made, noted (as created) the moment Odoo
    /// answered: Odoo has no `transactionId`, and a resumed create cannot find by name or
    /// by what changed an attachment Alice deleted since.
    #[serde(default)]
    made_attachment: Option<OdooAttachment>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Recheck {
    odoo: BTreeSet<i64>,
    drive: BTreeSet<String>,
}

/// A file left alone because its folder names no readable record. It is kept in the
/// store, not only reported by the cycle whose delta round brought it: the delta never
/// mentions an unchanged file again, so without this it would be reported once and then
/// forgotten, and never placed when its folder later names a readable record. Each cycle
/// reports it again; it is judged again as soon as its folder names another record (a
/// folder renamed to a record id, its model added to the synced ones) and, for a folder
/// that names a record Odoo did not let the user read, at each id-set check (the record
/// may have been shared with the user since).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Unplaced {
    file: DriveFile,
    /// The record its folder named when it was last judged (`None`: no record at all).
    record: Option<RecordKey>,
    /// How it is reported: its path below the sync root.
    item: String,
}

/// What the cycle saw.
#[derive(Debug, Default)]
struct Seen {
    root_id: Option<String>,
    folders: BTreeMap<String, FolderRow>,
    files: BTreeMap<String, DriveFile>,
    drive_gone: BTreeSet<String>,
    full: bool,
    delta_link: Option<String>,
    resynced: bool,
    odoo: BTreeMap<i64, OdooAttachment>,
    odoo_gone: BTreeSet<i64>,
    odoo_cursor: Option<DateTime<Utc>>,
    id_checked: bool,
    /// Files left alone by an earlier cycle that nothing asks to judge again.
    unplaced: BTreeMap<String, Unplaced>,
}

/// One file the cycle plans for.
#[derive(Debug)]
struct Planned {
    key_item: String,
    item: String,
    link_id: Option<i64>,
    attachment_id: Option<i64>,
    item_id: Option<String>,
    base: Option<StoredFile>,
    odoo: Option<OdooState>,
    drive: Option<DriveState>,
    drive_parent: Option<String>,
    etag: Option<String>,
    mtime: Option<DateTime<Utc>>,
    decision: FileDecision,
}

enum StepFail {
    Port(PortError),
    Hash(String),
    Engine(EngineError),
    /// A large transfer used its turn; it continues in the next drain.
    Yield,
}

impl From<EngineError> for StepFail {
    fn from(e: EngineError) -> Self {
        StepFail::Engine(e)
    }
}

impl From<StoreError> for StepFail {
    fn from(e: StoreError) -> Self {
        StepFail::Engine(EngineError::Store(e))
    }
}

impl From<PortError> for StepFail {
    fn from(e: PortError) -> Self {
        StepFail::Port(e)
    }
}

/// Adds items to the set the next observation reads again, in the caller's transaction so
/// the job step that asked for it and the ask commit together.
fn add_recheck(
    t: &Tx<'_>,
    profile: &str,
    odoo: impl IntoIterator<Item = i64>,
    drive: impl IntoIterator<Item = String>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut recheck: Recheck = t
        .cursor(profile, CUR_RECHECK)?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    recheck.odoo.extend(odoo);
    recheck.drive.extend(drive);
    let text = serde_json::to_string(&recheck).map_err(corrupt)?;
    t.set_cursor(profile, CUR_RECHECK, &text, at)
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("file job payload: {e}"))
}

fn io_fail(e: std::io::Error) -> StepFail {
    StepFail::Port(PortError::NotSent {
        message: format!("spool file: {e}"),
    })
}

fn odoo_state(a: &OdooAttachment) -> OdooState {
    OdooState {
        record: RecordKey::new(&a.res_model, a.res_id),
        name: a.name.clone(),
        sha1: a.checksum.clone(),
        size: a.size,
    }
}

/// The documents sync engine of one profile (see the module docs).
pub struct FileSync {
    store: crate::store::OwnedStore,
    cfg: FileConfig,
    drive: Arc<dyn Drive>,
    odoo: Arc<dyn OdooAttachments>,
    clock: Arc<dyn Clock>,
    crash_after: Option<usize>,
    steps: usize,
    /// Bytes the large lane sent in the current drain.
    large_sent: u64,
    /// New OneDrive files this cycle's plan left to an upload in flight under their name
    /// (taken for its own work): read again next cycle, in case they are not.
    skipped_drive: BTreeSet<String>,
    /// Items this cycle's observation reported while a job held them: the plan leaves
    /// them to the job, and the cursors move past the change. A job that then finishes in
    /// this cycle's last drain sets the baseline to what it planned with, so the change
    /// the observation saw (a rename made while the job waited) would never be read again
    /// (sim seed 358): they are read again next cycle.
    skipped_odoo: BTreeSet<i64>,
}

impl std::fmt::Debug for FileSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSync")
            .field("profile", &self.cfg.profile_id)
            .finish_non_exhaustive()
    }
}

impl FileSync {
    /// Opens the engine on a store. File jobs a crash left running are marked *maybe
    /// applied* and resume (uploads from their saved offset) in the next cycle.
    pub fn new(
        mut store: Store,
        cfg: FileConfig,
        drive: Arc<dyn Drive>,
        odoo: Arc<dyn OdooAttachments>,
        clock: Arc<dyn Clock>,
    ) -> Result<FileSync, EngineError> {
        if cfg.fragment_size == 0
            || !cfg.fragment_size.is_multiple_of(320 * 1024)
            || cfg.fragment_size >= 60 * 1024 * 1024
            || cfg.simple_upload_max > 250 * 1024 * 1024
        {
            return Err(EngineError::Invalid(
                "the upload fragment size must be a multiple of 320 KiB under 60 MiB, and simple \
                 uploads at most 250 MiB (graph.md §3.5, §3.6)"
                    .into(),
            ));
        }
        let now = clock.now();
        let profile = cfg.profile_id.clone();
        store.tx(|t| t.recover_interrupted_jobs_of(&profile, now))?;
        Ok(FileSync {
            store: crate::store::OwnedStore::new(store),
            cfg,
            drive,
            odoo,
            clock,
            crash_after: None,
            steps: 0,
            large_sent: 0,
            skipped_drive: BTreeSet::new(),
            skipped_odoo: BTreeSet::new(),
        })
    }

    pub fn config(&self) -> &FileConfig {
        &self.cfg
    }

    pub fn store(&mut self) -> &mut Store {
        self.store.get()
    }

    pub fn into_store(self) -> Store {
        self.store.into_inner()
    }

    /// Test harness: the engine stops (as if the process died) right after its `n`-th
    /// persisted step or service write from now on.
    pub fn crash_after(&mut self, n: Option<usize>) {
        self.crash_after = n;
        self.steps = 0;
    }

    fn checkpoint(&mut self) -> Result<(), EngineError> {
        self.steps += 1;
        match self.crash_after {
            Some(n) if self.steps >= n => Err(EngineError::Crashed),
            _ => Ok(()),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn profile(&self) -> String {
        self.cfg.profile_id.clone()
    }

    fn observe_err(side: Side, error: PortError) -> EngineError {
        match error {
            PortError::SignInNeeded { .. } => EngineError::SignInNeeded { side, error },
            error => EngineError::Observe { side, error },
        }
    }

    // ------------------------------------------------------------------ the cycle

    /// Runs one cycle (see the module docs).
    pub async fn sync(&mut self, opts: SyncOptions) -> Result<FileReport, EngineError> {
        let mut report = FileReport {
            outcome: Outcome::Synced,
            planned: Vec::new(),
            resynced: false,
            relinked: 0,
            jobs_done: 0,
            jobs_waiting: 0,
            failed: Vec::new(),
            unplaced: Vec::new(),
            notices: Vec::new(),
            conflicts_opened: 0,
        };
        if !opts.dry_run {
            // Jobs left by a crash or waiting for a retry run first, so what is observed
            // next already includes them.
            report.jobs_done += self.drain().await?;
        }
        let seen = self.observe(opts.dry_run).await?;
        report.resynced = seen.resynced;
        let planned = self.plan(&seen, &mut report).await?;
        report.planned = planned
            .iter()
            .filter(|p| !p.decision.is_noop())
            .map(|p| PlannedFile {
                item: p.item.clone(),
                rule: p.decision.rule.clone(),
                ops: p.decision.ops.clone(),
                conflict: p.decision.conflict,
                size: p
                    .odoo
                    .as_ref()
                    .map_or(0, |o| o.size)
                    .max(p.drive.as_ref().map_or(0, |d| d.size)),
            })
            .collect();
        let guards = self.guards(&planned, &seen)?;
        if opts.dry_run {
            report.outcome = Outcome::DryRun;
            return Ok(report);
        }
        if !guards.is_empty() && !opts.confirm {
            report.outcome = Outcome::Paused { guards };
            return Ok(report);
        }
        self.enqueue(&seen, &planned, &mut report)?;
        self.checkpoint()?;
        report.jobs_done += self.drain().await?;
        let profile = self.profile();
        let now = self.now();
        let mut skipped = std::mem::take(&mut self.skipped_drive);
        let mut skipped_odoo = std::mem::take(&mut self.skipped_odoo);
        let (waiting, failed) = self.store.tx(|t| {
            // Items whose job is still waiting were skipped by this cycle's plan while the
            // cursors moved past them: the next cycle reads them again explicitly.
            let mut recheck = Recheck::default();
            let mut waiting = 0;
            for state in [JobState::Pending, JobState::Failed] {
                for j in t
                    .jobs(&profile, state)?
                    .into_iter()
                    .filter(|j| j.kind == JOB_KIND)
                {
                    if state == JobState::Pending {
                        waiting += 1;
                    }
                    if let Ok(p) = serde_json::from_value::<FileJob>(j.payload.clone()) {
                        recheck.odoo.extend(p.attachment_id);
                        recheck.drive.extend(p.item_id);
                        recheck.drive.extend(p.split_item);
                    }
                }
            }
            recheck.drive.extend(std::mem::take(&mut skipped));
            recheck.odoo.extend(std::mem::take(&mut skipped_odoo));
            if !recheck.odoo.is_empty() || !recheck.drive.is_empty() {
                add_recheck(t, &profile, recheck.odoo, recheck.drive, now)?;
            }
            let failed = t
                .jobs(&profile, JobState::Failed)?
                .into_iter()
                .filter(|j| j.kind == JOB_KIND)
                .map(|j| ItemError {
                    item: j
                        .payload
                        .get("item")
                        .and_then(Value::as_str)
                        .unwrap_or(&j.key)
                        .to_owned(),
                    message: j.last_error.clone().unwrap_or_default(),
                    job_id: Some(j.id),
                })
                .collect::<Vec<_>>();
            Ok((waiting, failed))
        })?;
        report.jobs_waiting = waiting;
        report.failed = failed;
        Ok(report)
    }

    async fn observe(&mut self, dry_run: bool) -> Result<Seen, EngineError> {
        let profile = self.profile();
        let now = self.now();
        let (root, delta, cursor, id_check, recheck, folders) = self.store.tx(|t| {
            Ok((
                t.cursor(&profile, CUR_ROOT)?,
                t.cursor(&profile, CUR_DELTA)?,
                t.cursor(&profile, CUR_ODOO)?,
                t.cursor(&profile, CUR_ID_CHECK)?,
                t.cursor(&profile, CUR_RECHECK)?,
                t.drive_folders(&profile)?,
            ))
        })?;
        let mut seen = Seen::default();
        // The root: cached by id; a dry run does not create it.
        let root_id = match root {
            Some(id) => Some(id),
            None if dry_run => None,
            None => {
                let r = self
                    .drive
                    .ensure_root(&self.cfg.root_path)
                    .await
                    .map_err(|e| Self::observe_err(Side::Microsoft, e))?;
                let row = FolderRow {
                    item_id: r.id.clone(),
                    parent_id: None,
                    name: r.name.clone(),
                    web_url: r.web_url.clone(),
                };
                let id = r.id.clone();
                self.store.tx(|t| {
                    t.set_cursor(&profile, CUR_ROOT, &id, now)?;
                    t.put_drive_folder(&profile, &row, now)
                })?;
                Some(r.id)
            }
        };
        seen.root_id = root_id.clone();
        if let Some(root_id) = &root_id {
            let round = match self.drive.delta(root_id, delta.as_deref()).await {
                Err(PortError::ResyncRequired) if delta.is_some() => {
                    seen.resynced = true;
                    self.drive.delta(root_id, None).await
                }
                r => r,
            };
            let round = match round {
                Err(PortError::NotFound) if !dry_run => {
                    // The sync root itself is gone (deleted by the user): forget it, so the
                    // next cycle makes a new one and enumerates it in full; every linked
                    // file then looks deleted and the mass-change guard asks first.
                    self.store.tx(|t| {
                        t.clear_cursor(&profile, CUR_ROOT)?;
                        t.clear_cursor(&profile, CUR_DELTA)
                    })?;
                    return Err(Self::observe_err(Side::Microsoft, PortError::NotFound));
                }
                r => r.map_err(|e| Self::observe_err(Side::Microsoft, e))?,
            };
            seen.full = round.full;
            if !round.full {
                seen.folders = folders
                    .into_iter()
                    .map(|f| (f.item_id.clone(), f))
                    .collect();
            }
            // The feed may repeat an item: the last one wins.
            let mut last: BTreeMap<String, DriveFile> = BTreeMap::new();
            for it in round.items {
                last.insert(it.id.clone(), it);
            }
            for (id, it) in last {
                if it.deleted {
                    seen.folders.remove(&id);
                    seen.files.remove(&id);
                    seen.drive_gone.insert(id);
                } else if it.folder {
                    seen.folders.insert(
                        id.clone(),
                        FolderRow {
                            item_id: id,
                            parent_id: if it.id == *root_id {
                                None
                            } else {
                                it.parent_id.clone()
                            },
                            name: it.name.clone(),
                            web_url: it.web_url.clone(),
                        },
                    );
                } else {
                    seen.files.insert(id, it);
                }
            }
            seen.delta_link = Some(round.delta_link);
        }
        // Odoo: the cursor with its overlap.
        let since = cursor
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc));
        let changed = self
            .odoo
            .changed_since(&self.cfg.models, since, self.cfg.odoo_overlap)
            .await
            .map_err(|e| Self::observe_err(Side::Odoo, e))?;
        let mut max = since;
        for a in changed {
            for t in [a.write_date, a.create_date].into_iter().flatten() {
                max = Some(max.map_or(t, |m: DateTime<Utc>| m.max(t)));
            }
            seen.odoo.insert(a.id, a);
        }
        seen.odoo_cursor = max;
        // Items an earlier cycle left unfinished, read again.
        let recheck: Recheck = recheck
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        if !recheck.odoo.is_empty() {
            let ids: Vec<i64> = recheck.odoo.iter().copied().collect();
            let got = self
                .odoo
                .read(&ids)
                .await
                .map_err(|e| Self::observe_err(Side::Odoo, e))?;
            let mut missing = recheck.odoo.clone();
            for a in got {
                missing.remove(&a.id);
                seen.odoo.insert(a.id, a);
            }
            // Deleted since: a noted create's attachment Alice deleted is planned now,
            // not at the next id-set check.
            seen.odoo_gone.extend(missing);
        }
        for id in &recheck.drive {
            if seen.files.contains_key(id) || seen.drive_gone.contains(id) {
                continue;
            }
            match self.drive.get(id).await {
                Ok(f) => {
                    seen.files.insert(id.clone(), f);
                }
                Err(PortError::NotFound) => {
                    seen.drive_gone.insert(id.clone());
                }
                Err(e) => return Err(Self::observe_err(Side::Microsoft, e)),
            }
        }
        // The id-set check: hard deletes are invisible to the cursor.
        let due = id_check
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .is_none_or(|t| now - t.with_timezone(&Utc) >= self.cfg.id_check_every);
        if due || seen.full {
            let linked: Vec<i64> = self.store.tx(|t| {
                Ok(t.links(&profile, LinkKind::File)?
                    .into_iter()
                    .filter_map(|l| l.odoo_id)
                    .collect())
            })?;
            let ask: Vec<i64> = linked
                .iter()
                .copied()
                .filter(|id| !seen.odoo.contains_key(id))
                .collect();
            if !ask.is_empty() {
                let exist: BTreeSet<i64> = self
                    .odoo
                    .existing_ids(&ask)
                    .await
                    .map_err(|e| Self::observe_err(Side::Odoo, e))?
                    .into_iter()
                    .collect();
                seen.odoo_gone = ask.into_iter().filter(|id| !exist.contains(id)).collect();
            }
            seen.id_checked = true;
        }
        // Files left alone earlier: reported again, or judged again when their folder now
        // names another record or the id-set check is due (see [`Unplaced`]).
        let stored = self
            .store
            .tx(|t| t.cursor(&profile, CUR_UNPLACED))?
            .and_then(|s| serde_json::from_str::<BTreeMap<String, Unplaced>>(&s).ok())
            .unwrap_or_default();
        for (id, u) in stored {
            // Reported by this round (edited, moved, deleted) or gone from a full one: the
            // round's view is the current one.
            if seen.files.contains_key(&id) || seen.drive_gone.contains(&id) || seen.full {
                continue;
            }
            let record = self.file_record(&seen, u.file.parent_id.as_deref(), &u.file.name);
            if record.is_some() && (record != u.record || seen.id_checked) {
                seen.files.insert(id, u.file);
            } else {
                seen.unplaced.insert(id, u);
            }
        }
        Ok(seen)
    }

    /// The names below the root of a folder, `None` when it is not below the root.
    fn folder_segments(seen: &Seen, folder_id: &str) -> Option<Vec<String>> {
        let root = seen.root_id.as_deref()?;
        let mut segs = Vec::new();
        let mut cur = folder_id.to_owned();
        for _ in 0..64 {
            if cur == root {
                segs.reverse();
                return Some(segs);
            }
            let f = seen.folders.get(&cur)?;
            segs.push(f.name.clone());
            cur = f.parent_id.clone()?;
        }
        None
    }

    /// Where a file sits: its record, when its folder is a record's folder.
    fn file_record(&self, seen: &Seen, parent: Option<&str>, name: &str) -> Option<RecordKey> {
        let mut segs = Self::folder_segments(seen, parent?)?;
        segs.push(name.to_owned());
        let refs: Vec<&str> = segs.iter().map(String::as_str).collect();
        match layout::place(&refs, false, &self.cfg.models) {
            Place::File(r, _) => Some(r),
            _ => None,
        }
    }

    fn item_path(record: Option<&RecordKey>, name: &str) -> String {
        match record {
            Some(r) => format!("{r}/{name}"),
            None => name.to_owned(),
        }
    }

    async fn plan(
        &mut self,
        seen: &Seen,
        report: &mut FileReport,
    ) -> Result<Vec<Planned>, EngineError> {
        let profile = self.profile();
        // Links and their baselines; jobs not finished yet (their items wait for them).
        let (links, open_jobs) = self.store.tx(|t| {
            let mut links = Vec::new();
            for l in t.links(&profile, LinkKind::File)? {
                let base = t
                    .baseline(l.id)?
                    .and_then(|b| serde_json::from_value::<StoredFile>(b.canonical).ok());
                links.push((l, base));
            }
            let mut jobs = Vec::new();
            for state in [JobState::Pending, JobState::Running, JobState::Failed] {
                jobs.extend(
                    t.jobs(&profile, state)?
                        .into_iter()
                        .filter(|j| j.kind == JOB_KIND),
                );
            }
            Ok((links, jobs))
        })?;
        let mut busy: BTreeSet<String> = BTreeSet::new();
        // Creates in flight: what they make must not look new.
        let mut creating_odoo: BTreeSet<(RecordKey, String)> = BTreeSet::new();
        let mut creating_drive: BTreeSet<(String, String)> = BTreeSet::new();
        for j in &open_jobs {
            let Ok(p) = serde_json::from_value::<FileJob>(j.payload.clone()) else {
                continue;
            };
            busy.insert(p.key_item.clone());
            // The link a job wrote for a new file (its key names the attachment or file it
            // started from) is the job's until it is done: it has no baseline yet.
            if let Some(l) = p.link_id {
                busy.insert(format!("l:{l}"));
            }
            if let Some(a) = p.attachment_id {
                busy.insert(format!("a:{a}"));
            }
            if let Some(d) = &p.item_id {
                busy.insert(format!("d:{d}"));
            }
            // A keep-both's OneDrive version is on no link until its last step: it is the
            // job's, not a new file (RELIABILITY Found 11).
            if let Some(d) = &p.split_item {
                busy.insert(format!("d:{d}"));
            }
            for s in p.steps.iter().skip(p.done) {
                match s {
                    Step::OdooCreate { record, name, .. } => {
                        creating_odoo.insert((record.clone(), name.clone()));
                    }
                    Step::DriveCreate { .. } => {
                        if let Some(Transfer {
                            target: Some(UploadTarget::New { parent_id, name }),
                            ..
                        }) = &p.transfer
                        {
                            creating_drive.insert((parent_id.clone(), name.to_lowercase()));
                        }
                    }
                    _ => {}
                }
            }
        }
        let linked_odoo: BTreeSet<i64> = links.iter().filter_map(|(l, _)| l.odoo_id).collect();
        let linked_drive: BTreeSet<String> = links
            .iter()
            .filter_map(|(l, _)| l.graph_id.clone())
            .collect();

        // Readable records for files in a record folder they were not linked in (new files,
        // moved files); a linked file still where it was needs no question.
        let linked_in: BTreeMap<&str, Option<&RecordKey>> = links
            .iter()
            .filter_map(|(l, b)| {
                let g = l.graph_id.as_deref()?;
                Some((
                    g,
                    b.as_ref()
                        .and_then(|b| b.item.drive.as_ref()?.record.as_ref()),
                ))
            })
            .collect();
        let mut ask: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        let mut readable: BTreeSet<RecordKey> = BTreeSet::new();
        for f in seen.files.values() {
            if let Some(r) = self.file_record(seen, f.parent_id.as_deref(), &f.name) {
                if linked_in.get(f.id.as_str()) == Some(&Some(&r)) {
                    readable.insert(r);
                } else {
                    ask.entry(r.model.clone()).or_default().insert(r.res_id);
                }
            }
        }
        for (model, ids) in ask {
            let ids: Vec<i64> = ids.into_iter().collect();
            let ok = self
                .odoo
                .readable_records(&model, &ids)
                .await
                .map_err(|e| Self::observe_err(Side::Odoo, e))?;
            readable.extend(ok.into_iter().map(|id| RecordKey::new(&model, id)));
        }
        let drive_state = |this: &Self, f: &DriveFile| -> DriveState {
            let record = this
                .file_record(seen, f.parent_id.as_deref(), &f.name)
                .filter(|r| readable.contains(r));
            DriveState {
                record,
                name: f.name.clone(),
                quick_xor: f.quick_xor.clone(),
                size: f.size,
            }
        };

        let mut out = Vec::new();
        let s = self.cfg.settings;
        for (l, base) in &links {
            let key_item = format!("l:{}", l.id);
            let mentioned = l
                .odoo_id
                .is_some_and(|a| seen.odoo.contains_key(&a) || seen.odoo_gone.contains(&a))
                || l.graph_id
                    .as_ref()
                    .is_some_and(|g| seen.files.contains_key(g) || seen.drive_gone.contains(g))
                || seen.full;
            let base = base.clone().unwrap_or_default();
            // A link whose attachment or file an open job holds is that job's to finish
            // (a new file's link written before a retry, a keep-both's new link): planned
            // now, against a baseline the job has not written yet, both sides look changed
            // and a keep-both of the job's own copy follows (RSVP sim seed 270).
            let held = l.odoo_id.is_some_and(|a| busy.contains(&format!("a:{a}")))
                || l.graph_id
                    .as_ref()
                    .is_some_and(|g| busy.contains(&format!("d:{g}")));
            if busy.contains(&key_item) || held {
                self.skip_busy(seen, l.odoo_id, l.graph_id.as_deref());
                continue;
            }
            let o = match l.odoo_id {
                Some(a) if seen.odoo_gone.contains(&a) => None,
                Some(a) => match seen.odoo.get(&a) {
                    // Moved to a record of a model not synced: out of scope, as if gone.
                    Some(att) if !self.cfg.models.contains(&att.res_model) => None,
                    Some(att) => Some(odoo_state(att)),
                    None => base.last_odoo(),
                },
                None => None,
            };
            let (d, parent, etag, mtime) = match &l.graph_id {
                None => (None, None, None, None),
                Some(g) if seen.drive_gone.contains(g) => (None, None, None, None),
                Some(g) => match seen.files.get(g) {
                    Some(f) => (
                        Some(drive_state(self, f)),
                        f.parent_id.clone(),
                        f.etag.clone(),
                        f.modified,
                    ),
                    None if seen.full => (None, None, None, None),
                    None => {
                        // Not reported: unchanged, but its folder may have moved.
                        match (&base.last_drive(), &base.drive_parent) {
                            (Some(bd), Some(p)) if seen.folders.contains_key(p) => {
                                let mut d = bd.clone();
                                if d.record.is_some() {
                                    d.record = self.file_record(seen, Some(p), &d.name);
                                }
                                (Some(d), Some(p.clone()), base.etag.clone(), base.item.mtime)
                            }
                            (Some(_), _) => (None, None, None, None),
                            (None, _) => (None, None, None, None),
                        }
                    }
                },
            };
            if !mentioned && o == base.last_odoo() && d == base.last_drive() {
                continue;
            }
            let decision = reconcile(Some(&base.item), o.as_ref(), d.as_ref(), &s);
            let name = o
                .as_ref()
                .map(|o| o.name.clone())
                .or_else(|| d.as_ref().map(|d| d.name.clone()))
                .unwrap_or_default();
            let record = o
                .as_ref()
                .map(|o| o.record.clone())
                .or_else(|| d.as_ref().and_then(|d| d.record.clone()));
            out.push(Planned {
                key_item,
                item: Self::item_path(record.as_ref(), &name),
                link_id: Some(l.id),
                attachment_id: l.odoo_id,
                item_id: l.graph_id.clone(),
                base: Some(base),
                odoo: o,
                drive: d,
                drive_parent: parent,
                etag,
                mtime,
                decision,
            });
        }

        if s.direction.to_drive() {
            self.plan_numbered_names_back(&links, &busy, &mut out);
        }

        // Unlinked attachments and files.
        for a in seen.odoo.keys() {
            if !linked_odoo.contains(a) && busy.contains(&format!("a:{a}")) {
                self.skipped_odoo.insert(*a);
            }
        }
        for f in seen.files.keys() {
            if !linked_drive.contains(f) && busy.contains(&format!("d:{f}")) {
                self.skipped_drive.insert(f.clone());
            }
        }
        let mut new_odoo: Vec<&OdooAttachment> = Vec::new();
        for a in seen
            .odoo
            .values()
            .filter(|a| !linked_odoo.contains(&a.id) && !busy.contains(&format!("a:{}", a.id)))
            .filter(|a| self.cfg.models.contains(&a.res_model))
        {
            if creating_odoo.contains(&(RecordKey::new(&a.res_model, a.res_id), a.name.clone())) {
                // Most likely the create's own attachment (its answer lost). If it is not
                // (Alice edited it since, so the resumed create made another), the cursor
                // has moved past it: it is read again next cycle, as a new file of its
                // own (sim seed 1465).
                self.skipped_odoo.insert(a.id);
            } else {
                new_odoo.push(a);
            }
        }
        let mut new_drive: Vec<&DriveFile> = Vec::new();
        for f in seen
            .files
            .values()
            .filter(|f| !linked_drive.contains(&f.id) && !busy.contains(&format!("d:{}", f.id)))
        {
            let uploading_here = f
                .parent_id
                .as_ref()
                .is_some_and(|p| creating_drive.contains(&(p.clone(), f.name.to_lowercase())));
            if uploading_here {
                // Most likely the upload's own file (its answer lost). If it is not (the
                // upload chose another name after all), the cursor has moved past it:
                // it is read again next cycle, or it stayed on no side (seed 616).
                self.skipped_drive.insert(f.id.clone());
            } else {
                new_drive.push(f);
            }
        }
        // Pair unlinked files with unlinked attachments of the same record and content.
        let mut paired_odoo: BTreeSet<i64> = BTreeSet::new();
        let mut paired_drive: BTreeSet<String> = BTreeSet::new();
        let mut hashed: BTreeMap<i64, Option<ContentInfo>> = BTreeMap::new();
        for f in &new_drive {
            let ds = drive_state(self, f);
            let (Some(record), Some(qx)) = (&ds.record, &ds.quick_xor) else {
                continue;
            };
            let mut candidates: Vec<&&OdooAttachment> = new_odoo
                .iter()
                .filter(|a| {
                    !paired_odoo.contains(&a.id)
                        && a.size == f.size
                        && RecordKey::new(&a.res_model, a.res_id) == *record
                })
                .collect();
            // Same name first.
            candidates.sort_by_key(|a| (names::to_drive(&a.name) != f.name, a.id));
            for a in candidates {
                let info = match hashed.get(&a.id) {
                    Some(i) => i.clone(),
                    None => {
                        let info = self.hash_attachment(a).await;
                        hashed.insert(a.id, info.clone());
                        info
                    }
                };
                if info.is_some_and(|i| &i.quick_xor == qx) {
                    paired_odoo.insert(a.id);
                    paired_drive.insert(f.id.clone());
                    report.relinked += 1;
                    out.push(Planned {
                        key_item: format!("a:{}", a.id),
                        item: Self::item_path(Some(record), &a.name),
                        link_id: None,
                        attachment_id: Some(a.id),
                        item_id: Some(f.id.clone()),
                        base: None,
                        odoo: Some(odoo_state(a)),
                        drive: Some(ds.clone()),
                        drive_parent: f.parent_id.clone(),
                        etag: f.etag.clone(),
                        mtime: f.modified,
                        decision: reconcile(None, Some(&odoo_state(a)), Some(&ds), &s),
                    });
                    break;
                }
            }
        }
        for a in new_odoo.iter().filter(|a| !paired_odoo.contains(&a.id)) {
            let o = odoo_state(a);
            out.push(Planned {
                key_item: format!("a:{}", a.id),
                item: Self::item_path(Some(&o.record), &a.name),
                link_id: None,
                attachment_id: Some(a.id),
                item_id: None,
                base: None,
                decision: reconcile(None, Some(&o), None, &s),
                odoo: Some(o),
                drive: None,
                drive_parent: None,
                etag: None,
                mtime: None,
            });
        }
        for f in new_drive.iter().filter(|f| !paired_drive.contains(&f.id)) {
            let d = drive_state(self, f);
            let path = Self::folder_segments(seen, f.parent_id.as_deref().unwrap_or(""))
                .map(|mut s| {
                    s.push(f.name.clone());
                    s.join("/")
                })
                .unwrap_or_else(|| f.name.clone());
            out.push(Planned {
                key_item: format!("d:{}", f.id),
                item: path,
                link_id: None,
                attachment_id: None,
                item_id: Some(f.id.clone()),
                base: None,
                decision: reconcile(None, None, Some(&d), &s),
                odoo: None,
                drive: Some(d),
                drive_parent: f.parent_id.clone(),
                etag: f.etag.clone(),
                mtime: f.modified,
            });
        }
        report
            .unplaced
            .extend(seen.unplaced.values().map(|u| u.item.clone()));
        for p in &out {
            if p.decision.unplaced {
                report.unplaced.push(p.item.clone());
            }
            match p.decision.conflict {
                Some(FileConflictKind::EditVsDelete) => report.notices.push(format!(
                    "{}: changed on one side and deleted on the other; the changed version was kept",
                    p.item
                )),
                Some(FileConflictKind::Metadata) => report.notices.push(format!(
                    "{}: renamed or moved differently on both sides; Odoo's name and record were kept",
                    p.item
                )),
                _ => {}
            }
        }
        // Reported in path order, whichever cycle first saw them.
        report.unplaced.sort();
        Ok(out)
    }

    /// A OneDrive name made unique beside a namesake (`f7 (2).pdf`, as Odoo lets a record
    /// hold two `f7.pdf` and a folder cannot) takes Odoo's name back once the clash is
    /// gone, or it kept the number for good while Odoo showed the plain name (sim seeds
    /// 1597: the namesake renamed; 1292: the copy moved in OneDrive to a folder without
    /// one; Found 22 did it for a copy moved in Odoo). Planned only in the cycle that
    /// frees the name: a file moved gets the rename in its own job; for a namesake
    /// renamed, moved or deleted (by Alice in OneDrive, or by a job of this cycle, which
    /// runs first), each unchanged numbered copy of that name in the folder gets a job of
    /// its own. The rename asks the folder for a free name when it runs: with the name
    /// still taken it writes nothing.
    fn plan_numbered_names_back(
        &self,
        links: &[(Link, Option<StoredFile>)],
        busy: &BTreeSet<String>,
        out: &mut Vec<Planned>,
    ) {
        let mut freed: BTreeSet<(RecordKey, String)> = BTreeSet::new();
        for p in out.iter_mut() {
            let Some(base) = p.base.as_ref() else {
                continue;
            };
            if let Some((r, n)) = base
                .last_drive()
                .and_then(|d| Some((d.record?, d.name.to_lowercase())))
            {
                let engine_changes = p.decision.ops.iter().any(|op| {
                    matches!(
                        op,
                        FileOp::DriveRename { .. } | FileOp::DriveMove { .. } | FileOp::DriveDelete
                    )
                });
                let alice_changed = p
                    .drive
                    .as_ref()
                    .is_none_or(|d| d.name.to_lowercase() != n || d.record.as_ref() != Some(&r));
                if engine_changes || alice_changed {
                    freed.insert((r, n));
                }
            }
            // Moved in OneDrive into another record's folder, where the name may be free.
            let moved = p
                .decision
                .ops
                .iter()
                .any(|op| matches!(op, FileOp::OdooMove { .. }));
            let renamed = p
                .decision
                .ops
                .iter()
                .any(|op| matches!(op, FileOp::OdooRename { .. } | FileOp::DriveRename { .. }));
            if let (true, false, Some(o), Some(d)) =
                (moved, renamed, p.odoo.as_ref(), p.drive.as_ref())
            {
                if is_numbered_variant(&d.name, &names::to_drive(&o.name)) {
                    let name = o.name.clone();
                    p.decision.ops.push(FileOp::DriveRename { name });
                }
            }
        }
        if freed.is_empty() {
            return;
        }
        let back = |o: &OdooState, d: &DriveState| -> Option<FileDecision> {
            let r = d.record.as_ref()?;
            let wanted = names::to_drive(&o.name);
            (o.record == *r
                && is_numbered_variant(&d.name, &wanted)
                && freed.contains(&(r.clone(), wanted.to_lowercase())))
            .then(|| FileDecision {
                ops: vec![FileOp::DriveRename {
                    name: o.name.clone(),
                }],
                rule: NAME_BACK.into(),
                conflict: None,
                ignored: Vec::new(),
                unplaced: false,
            })
        };
        // Read this cycle with nothing to do, or not read at all. Either way the rename
        // goes last: jobs run in the order planned, and the one that frees the name
        // (renaming the namesake in OneDrive) must run first.
        for p in out.iter_mut().filter(|p| p.decision.is_noop()) {
            if let (Some(o), Some(d)) = (p.odoo.as_ref(), p.drive.as_ref()) {
                if let Some(decision) = back(o, d) {
                    p.decision = decision;
                }
            }
        }
        let (rest, backs): (Vec<Planned>, Vec<Planned>) = std::mem::take(out)
            .into_iter()
            .partition(|p| p.decision.rule != NAME_BACK);
        *out = rest;
        out.extend(backs);
        let planned: BTreeSet<i64> = out.iter().filter_map(|p| p.link_id).collect();
        for (l, base) in links {
            let Some(base) = base else { continue };
            if planned.contains(&l.id) || busy.contains(&format!("l:{}", l.id)) {
                continue;
            }
            let (Some(o), Some(d)) = (base.last_odoo(), base.last_drive()) else {
                continue;
            };
            let Some(decision) = back(&o, &d) else {
                continue;
            };
            out.push(Planned {
                key_item: format!("l:{}", l.id),
                item: Self::item_path(Some(&o.record), &o.name),
                link_id: Some(l.id),
                attachment_id: l.odoo_id,
                item_id: l.graph_id.clone(),
                decision,
                odoo: Some(o),
                drive: Some(d),
                drive_parent: base.drive_parent.clone(),
                etag: base.etag.clone(),
                mtime: base.item.mtime,
                base: Some(base.clone()),
            });
        }
    }

    /// A linked item the plan leaves to its job: whatever the observation reported of it
    /// is read again next cycle (see `skipped_odoo`).
    fn skip_busy(&mut self, seen: &Seen, attachment: Option<i64>, item: Option<&str>) {
        if let Some(a) = attachment.filter(|a| seen.odoo.contains_key(a)) {
            self.skipped_odoo.insert(a);
        }
        if let Some(g) =
            item.filter(|g| seen.files.contains_key(*g) || seen.drive_gone.contains(*g))
        {
            self.skipped_drive.insert(g.to_owned());
        }
    }

    /// Hashes an attachment by downloading it to a spool file (pairing after a lost store).
    async fn hash_attachment(&self, a: &OdooAttachment) -> Option<ContentInfo> {
        let path = self
            .cfg
            .spool_dir
            .join(format!("{}-pair-{}.part", self.cfg.profile_id, a.id));
        std::fs::create_dir_all(&self.cfg.spool_dir).ok()?;
        let got = self.odoo.download(a.id, &path).await.ok();
        let info = super::content_info(&path).ok();
        let _ = std::fs::remove_file(&path);
        match (got, info) {
            (Some(_), Some(i)) if a.checksum.as_deref().is_none_or(|c| c == i.sha1) => Some(i),
            _ => None,
        }
    }

    fn guards(&mut self, planned: &[Planned], seen: &Seen) -> Result<Vec<Guard>, EngineError> {
        let profile = self.profile();
        let (cursor, linked) = self.store.tx(|t| {
            Ok((
                t.cursor(&profile, CUR_ODOO)?,
                t.links(&profile, LinkKind::File)?.len(),
            ))
        })?;
        let mut guards = Vec::new();
        let writes = planned.iter().any(|p| !p.decision.is_noop());
        if cursor.is_none() && linked == 0 && writes {
            guards.push(Guard::FirstSync);
        }
        let changes: usize = planned
            .iter()
            .map(|p| p.decision.ops.iter().filter(|o| o.is_destructive()).count())
            .sum();
        let g = &self.cfg.guards;
        let fraction =
            linked > g.mass_fraction_floor && (changes as f64) > g.mass_fraction * linked as f64;
        // One side's linked files all gone.
        let linked_plans: Vec<&Planned> = planned.iter().filter(|p| p.link_id.is_some()).collect();
        let emptied = if linked >= 2 && linked_plans.len() == linked {
            if linked_plans.iter().all(|p| p.odoo.is_none()) {
                Some(Side::Odoo)
            } else if linked_plans.iter().all(|p| p.drive.is_none()) && seen.root_id.is_some() {
                Some(Side::Microsoft)
            } else {
                None
            }
        } else {
            None
        };
        if changes > 0 && (changes > g.mass_count || fraction || emptied.is_some()) {
            guards.push(Guard::MassChange {
                changes,
                linked,
                emptied,
            });
        }
        Ok(guards)
    }

    fn enqueue(
        &mut self,
        seen: &Seen,
        planned: &[Planned],
        report: &mut FileReport,
    ) -> Result<(), EngineError> {
        let profile = self.profile();
        let now = self.now();
        let simple = self.cfg.simple_upload_max;
        let mut opened = 0;
        // The unlinked files left alone, kept for the next cycles (see [`Unplaced`]).
        let mut unplaced = seen.unplaced.clone();
        for p in planned
            .iter()
            .filter(|p| p.decision.unplaced && p.link_id.is_none())
        {
            if let Some(f) = p.item_id.as_ref().and_then(|id| seen.files.get(id)) {
                let record = self.file_record(seen, f.parent_id.as_deref(), &f.name);
                unplaced.insert(
                    f.id.clone(),
                    Unplaced {
                        file: f.clone(),
                        record,
                        item: p.item.clone(),
                    },
                );
            }
        }
        let unplaced = if unplaced.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&unplaced).map_err(corrupt)?)
        };
        self.store.tx(|t| {
            for p in planned {
                if p.decision.is_noop() {
                    // Nothing to write; the baseline follows sides that agree again (both
                    // renamed alike, a metadata touch) so they are not planned again.
                    if let (Some(link_id), Some(base)) = (p.link_id, &p.base) {
                        let next = next_base(
                            base,
                            p.odoo.as_ref(),
                            p.drive.as_ref(),
                            &p.decision.ignored,
                            p.drive_parent.clone(),
                            p.etag.clone(),
                            p.mtime,
                        );
                        if next != *base && !p.decision.unplaced {
                            set_base(t, link_id, &next, now)?;
                        }
                    }
                    continue;
                }
                let steps = steps_of(&p.decision.ops, p.odoo.as_ref(), p.drive.as_ref());
                let size = p
                    .odoo
                    .as_ref()
                    .map_or(0, |o| o.size)
                    .max(p.drive.as_ref().map_or(0, |d| d.size));
                let large = size > simple && p.decision.ops.iter().any(FileOp::moves_content);
                let job = FileJob {
                    item: p.item.clone(),
                    key_item: p.key_item.clone(),
                    rule: p.decision.rule.clone(),
                    conflict: p.decision.conflict,
                    ignored: p.decision.ignored.clone(),
                    split_item: steps
                        .iter()
                        .any(|s| matches!(s, Step::OdooCreate { split: true, .. }))
                        .then(|| p.item_id.clone())
                        .flatten(),
                    steps,
                    done: 0,
                    link_id: p.link_id,
                    attachment_id: p.attachment_id,
                    item_id: p.item_id.clone(),
                    base: p.base.clone(),
                    odoo: p.odoo.clone(),
                    drive: p.drive.clone(),
                    drive_parent: p.drive_parent.clone(),
                    etag: p.etag.clone(),
                    mtime: p.mtime,
                    size,
                    large,
                    transfer: None,
                    hash_failures: 0,
                    made: None,
                    made_attachment: None,
                };
                let payload = serde_json::to_value(&job).map_err(corrupt)?;
                // Unique per planning: an item with an unfinished job is never planned again,
                // so a re-plan after a crash finds the job instead of adding one.
                let key = format!("file:{}:{}", p.key_item, crate::state::ts(now));
                t.enqueue(&profile, &key, JOB_KIND, &payload, now)?;
                if p.decision.conflict == Some(FileConflictKind::Content) {
                    t.open_conflict(
                        &profile,
                        p.link_id,
                        "content",
                        p.base.as_ref().map(|b| json!(b.item)).as_ref(),
                        p.odoo.as_ref().map(|o| json!(o)).as_ref(),
                        p.drive.as_ref().map(|d| json!(d)).as_ref(),
                        &json!({
                            "fields": ["content"],
                            "attachment_id": p.attachment_id,
                            "item_id": p.item_id,
                        }),
                        now,
                    )?;
                    opened += 1;
                }
            }
            if let Some(root) = &seen.root_id {
                if seen.full {
                    t.clear_drive_folders(&profile)?;
                    // The root itself is kept whatever the round said about it.
                    t.put_drive_folder(
                        &profile,
                        &FolderRow {
                            item_id: root.clone(),
                            parent_id: None,
                            name: self.cfg.root_path.clone(),
                            web_url: None,
                        },
                        now,
                    )?;
                }
                for f in seen.folders.values() {
                    t.put_drive_folder(&profile, f, now)?;
                }
                for g in &seen.drive_gone {
                    t.delete_drive_folder(&profile, g)?;
                }
            }
            if let Some(link) = &seen.delta_link {
                t.set_cursor(&profile, CUR_DELTA, link, now)?;
            }
            if let Some(c) = seen.odoo_cursor {
                t.set_cursor(&profile, CUR_ODOO, &crate::state::ts(c), now)?;
            }
            if seen.id_checked {
                t.set_cursor(&profile, CUR_ID_CHECK, &crate::state::ts(now), now)?;
            }
            // What the plan left to jobs in flight is read again next cycle; written with
            // the cursors that move past it, so a crash cannot lose it.
            let recheck = Recheck {
                odoo: self.skipped_odoo.clone(),
                drive: self.skipped_drive.clone(),
            };
            if recheck.odoo.is_empty() && recheck.drive.is_empty() {
                t.clear_cursor(&profile, CUR_RECHECK)?;
            } else {
                let text = serde_json::to_string(&recheck).map_err(corrupt)?;
                t.set_cursor(&profile, CUR_RECHECK, &text, now)?;
            }
            match &unplaced {
                Some(text) => t.set_cursor(&profile, CUR_UNPLACED, text, now)?,
                None => t.clear_cursor(&profile, CUR_UNPLACED)?,
            }
            Ok(())
        })?;
        report.conflicts_opened += opened;
        Ok(())
    }

    // ------------------------------------------------------------------ execution

    /// Runs the ready file jobs once each: the small lane (metadata, small files) first,
    /// then the large lane. Returns how many finished.
    pub async fn drain(&mut self) -> Result<usize, EngineError> {
        let profile = self.profile();
        let now = self.now();
        self.large_sent = 0;
        let mut ready: Vec<(bool, i64)> = self.store.tx(|t| {
            Ok(t.jobs(&profile, JobState::Pending)?
                .into_iter()
                .filter(|j| j.kind == JOB_KIND && j.not_before <= now)
                .map(|j| {
                    (
                        j.payload
                            .get("large")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        j.id,
                    )
                })
                .collect())
        })?;
        ready.sort();
        let mut done = 0;
        for (large, id) in ready {
            if large && self.large_sent >= self.cfg.large_bytes_per_drain {
                // The large lane used its turn; this one waits for the next drain.
                continue;
            }
            let now = self.now();
            let Some(job) = self.store.tx(|t| t.claim(id, now))? else {
                continue;
            };
            self.checkpoint()?;
            if self.run_job(job).await? {
                done += 1;
            }
        }
        Ok(done)
    }

    async fn run_job(&mut self, job: Job) -> Result<bool, EngineError> {
        let mut p: FileJob = match serde_json::from_value(job.payload.clone()) {
            Ok(p) => p,
            Err(e) => {
                let now = self.now();
                self.store
                    .tx(|t| t.fail_job(job.id, &format!("unreadable job: {e}"), now))?;
                return Ok(false);
            }
        };
        while p.done < p.steps.len() {
            let step = p.steps[p.done].clone();
            match self.exec_step(&job, &mut p, &step).await {
                Ok(()) => {
                    p.done += 1;
                    p.transfer = None;
                    let now = self.now();
                    let payload = serde_json::to_value(&p).map_err(corrupt)?;
                    let profile = self.profile();
                    let audit_item = p.item.clone();
                    let rule = p.rule.clone();
                    let (before, after) = match step.side() {
                        Side::Microsoft => (
                            p.base
                                .as_ref()
                                .and_then(|b| b.item.drive.as_ref())
                                .and_then(|d| d.quick_xor.clone()),
                            p.drive.as_ref().and_then(|d| d.quick_xor.clone()),
                        ),
                        Side::Odoo => (
                            p.base
                                .as_ref()
                                .and_then(|b| b.item.odoo.as_ref())
                                .and_then(|o| o.sha1.clone()),
                            p.odoo.as_ref().and_then(|o| o.sha1.clone()),
                        ),
                    };
                    let link_id = p.link_id;
                    let split_item = p.split_item.clone();
                    // The ids the link joined when the step ran: a link made and gone
                    // within one cycle (an upload noted before a crash, then deleted by
                    // Alice) is in no later snapshot of the links, and `activity --why`
                    // can still name both sides.
                    let ids = json!({"attachment_id": p.attachment_id, "item_id": p.item_id});
                    self.store.tx(|t| {
                        t.set_job_payload(job.id, &payload, now)?;
                        let (mut link_id, mut audit_item) = (link_id, audit_item);
                        let (mut before, mut after) = (before, after);
                        let mut detail = Some(&ids);
                        if let Some(split) = split_audit(t, &profile, &step, split_item.as_deref())?
                        {
                            (link_id, audit_item) = (split.link_id, split.item);
                            (before, after) = (None, split.sha1);
                            detail = None;
                        }
                        t.append_audit(
                            &NewAudit {
                                profile_id: &profile,
                                link_id,
                                item: &audit_item,
                                op: step.name(),
                                origin: step.origin(),
                                rule: &rule,
                                before_hash: before.as_deref(),
                                after_hash: after.as_deref(),
                                detail,
                            },
                            now,
                        )?;
                        Ok(())
                    })?;
                    self.checkpoint()?;
                }
                Err(f) => return self.step_failed(&job, &mut p, f).await,
            }
        }
        // All steps done: record what both sides show now as the baseline.
        let now = self.now();
        let unlinked = p.steps.iter().any(|s| matches!(s, Step::Unlink));
        self.store.tx(|t| {
            if let Some(link_id) = p.link_id {
                if !unlinked && t.link(link_id)?.is_some() {
                    let base = p.base.clone().unwrap_or_default();
                    let next = next_base(
                        &base,
                        p.odoo.as_ref(),
                        p.drive.as_ref(),
                        &p.ignored,
                        p.drive_parent.clone(),
                        p.etag.clone(),
                        p.mtime,
                    );
                    set_base(t, link_id, &next, now)?;
                }
            }
            t.complete_job(job.id, now)?;
            Ok(())
        })?;
        self.remove_spool(job.id);
        self.checkpoint()?;
        Ok(true)
    }

    fn spool_path(&self, job_id: i64) -> PathBuf {
        self.cfg
            .spool_dir
            .join(format!("{}-job{job_id}.part", self.cfg.profile_id))
    }

    fn remove_spool(&self, job_id: i64) {
        let _ = std::fs::remove_file(self.spool_path(job_id));
    }

    async fn save(&mut self, job: &Job, p: &FileJob) -> Result<(), EngineError> {
        let now = self.now();
        let payload = serde_json::to_value(p).map_err(corrupt)?;
        self.store
            .tx(|t| t.set_job_payload(job.id, &payload, now))?;
        self.checkpoint()
    }

    async fn step_failed(
        &mut self,
        job: &Job,
        p: &mut FileJob,
        f: StepFail,
    ) -> Result<bool, EngineError> {
        let now = self.now();
        let id = job.id;
        let backoff = self.cfg.retry_base * 2i32.pow((job.attempts.clamp(1, 8) - 1) as u32);
        let backoff = backoff.min(Duration::hours(1));
        let payload = serde_json::to_value(&*p).map_err(corrupt)?;
        match f {
            // A store rule this one item breaks (a second link for an item already linked):
            // the item fails with its error and a retry, the others go on. Before, it ended
            // the cycle, and every cycle after it (full crash test, seed 9).
            StepFail::Engine(EngineError::Store(e)) if is_constraint(&e) => {
                let give_up = job.attempts >= self.cfg.attempts_max;
                self.store.tx(|t| {
                    t.set_job_payload(id, &payload, now)?;
                    if give_up {
                        t.fail_job(id, &e.to_string(), now)
                    } else {
                        t.retry_job_later(id, now + backoff, &e.to_string(), false, now)
                    }
                })?;
                self.remove_spool(id);
            }
            StepFail::Engine(e) => return Err(e),
            StepFail::Yield => {
                self.store.tx(|t| t.yield_job(id, &payload, now))?;
                return Ok(false);
            }
            StepFail::Hash(m) => {
                p.hash_failures += 1;
                p.transfer = None;
                self.remove_spool(id);
                let payload = serde_json::to_value(&*p).map_err(corrupt)?;
                let give_up = p.hash_failures >= self.cfg.hash_attempts;
                self.store.tx(|t| {
                    t.set_job_payload(id, &payload, now)?;
                    if give_up {
                        t.fail_job(
                            id,
                            &format!("content check failed {} times: {m}", p.hash_failures),
                            now,
                        )
                    } else {
                        t.retry_job_later(id, now, &m, false, now)
                    }
                })?;
            }
            StepFail::Port(e) => match e {
                PortError::SignInNeeded { .. } => {
                    self.store
                        .tx(|t| t.retry_job_later(id, now, &e.to_string(), false, now))?;
                    self.checkpoint()?;
                    let side = p.steps.get(p.done).map_or(Side::Microsoft, Step::side);
                    return Err(EngineError::SignInNeeded { side, error: e });
                }
                PortError::Throttled { retry_after } => {
                    let wait = retry_after
                        .and_then(|d| Duration::from_std(d).ok())
                        .unwrap_or(backoff);
                    self.store.tx(|t| {
                        t.set_job_payload(id, &payload, now)?;
                        t.retry_job_later(id, now + wait, &e.to_string(), false, now)
                    })?;
                }
                PortError::NotSent { .. } | PortError::MaybeApplied { .. }
                    if job.attempts < self.cfg.attempts_max =>
                {
                    let maybe = matches!(e, PortError::MaybeApplied { .. });
                    let at = if maybe { now } else { now + backoff };
                    self.store.tx(|t| {
                        t.set_job_payload(id, &payload, now)?;
                        t.retry_job_later(id, at, &e.to_string(), maybe, now)
                    })?;
                }
                PortError::PreconditionFailed | PortError::NotFound => {
                    // The item changed or vanished since it was read: drop the rest; both
                    // sides are read again next cycle and planned afresh.
                    let profile = self.profile();
                    let (item, link_id) = (p.item.clone(), p.link_id);
                    let (a, d) = (p.attachment_id, p.item_id.clone());
                    let split = p.split_item.clone();
                    // Steps already done changed the link: its baseline records them, and
                    // keeps the old value of every field a step not done was to carry, so
                    // that change is still seen (and planned) next cycle.
                    let partial = (p.done > 0
                        && !p.steps[..p.done].iter().any(|s| matches!(s, Step::Unlink)))
                    .then(|| {
                        let mut ignored = p.ignored.clone();
                        for s in &p.steps[p.done..] {
                            ignored.extend(carried(s));
                        }
                        next_base(
                            &p.base.clone().unwrap_or_default(),
                            p.odoo.as_ref(),
                            p.drive.as_ref(),
                            &ignored,
                            p.drive_parent.clone(),
                            p.etag.clone(),
                            p.mtime,
                        )
                    });
                    self.store.tx(|t| {
                        if let (Some(b), Some(l)) = (&partial, link_id) {
                            if t.link(l)?.is_some() {
                                set_base(t, l, b, now)?;
                            }
                        }
                        t.complete_job(id, now)?;
                        t.append_audit(
                            &NewAudit {
                                profile_id: &profile,
                                link_id,
                                item: &item,
                                op: "replan",
                                origin: Origin::Sync,
                                rule: &format!(
                                    "changed during the sync ({e}): read again next cycle"
                                ),
                                before_hash: None,
                                after_hash: None,
                                detail: None,
                            },
                            now,
                        )?;
                        add_recheck(t, &profile, a, d.into_iter().chain(split), now)
                    })?;
                    self.remove_spool(id);
                }
                other => {
                    // A last attempt whose answer was lost still marks the job *maybe
                    // applied*: a Retry then looks before sending again, and a conflict
                    // choice knows the keep-both may have written (`resolve_conflict`).
                    let maybe = matches!(other, PortError::MaybeApplied { .. });
                    self.store.tx(|t| {
                        t.set_job_payload(id, &payload, now)?;
                        if maybe {
                            t.retry_job_later(id, now, &other.to_string(), true, now)?;
                        }
                        t.fail_job(id, &other.to_string(), now)
                    })?;
                    self.remove_spool(id);
                }
            },
        }
        self.checkpoint()?;
        Ok(false)
    }

    /// Uploads the attachment of a `DriveCreate` step as a new file in its record's folder
    /// (or finds the one a lost answer created) and checks what OneDrive stored.
    async fn create_drive_file(
        &mut self,
        job: &Job,
        p: &mut FileJob,
        record: &RecordKey,
        name: &str,
        conflict_copy: bool,
    ) -> Result<DriveFile, StepFail> {
        let maybe = job.maybe_applied;
        let attachment = p.attachment_id.ok_or_else(|| {
            StepFail::Engine(EngineError::Invalid("upload without an attachment".into()))
        })?;
        if let Some(noted) = p.made.clone() {
            return self.noted_upload(p, noted).await;
        }
        let (folder, folder_path) = self.record_folder(record).await?;
        let resumable = p.transfer.as_ref().is_some_and(|t| spool_intact(t, maybe));
        if !resumable {
            let expect = p.odoo.as_ref().and_then(|o| o.sha1.clone());
            let (spool, content) = self
                .spool_from_odoo(job, attachment, expect.as_deref())
                .await?;
            let wanted = self.upload_name(name, conflict_copy);
            let chosen = self.free_name(&folder, &folder_path, &wanted, None).await?;
            p.transfer = Some(Transfer {
                spool,
                content,
                target: Some(UploadTarget::New {
                    parent_id: folder.clone(),
                    name: chosen,
                }),
                session: None,
                offset: 0,
                aside: false,
            });
            self.save(job, p).await?;
        }
        let mut tr = p
            .transfer
            .clone()
            .ok_or_else(|| StepFail::Engine(EngineError::Invalid("lost transfer".into())))?;
        let lost = maybe && tr.session.is_none();
        // Another content under the name chosen (free when chosen).
        let mut taken = false;
        let found = match tr.target.as_ref() {
            // A lost answer: the file may be there already.
            Some(UploadTarget::New { parent_id, name }) if lost => {
                match self.drive.find_child(parent_id, name).await? {
                    Some(f) if f.quick_xor.as_deref() == Some(tr.content.quick_xor.as_str()) => {
                        Some(f)
                    }
                    other => {
                        taken = other.is_some();
                        None
                    }
                }
            }
            _ => None,
        };
        let found = match found {
            None if lost => self.drive_made_since(&tr).await?,
            found => found,
        };
        if found.is_none() && taken {
            // The name holds another content now: our upload that Alice edited since, or
            // a file of hers made under that name meanwhile; nothing tells them apart
            // (sim seed 1906). Sending to that name met 409 for good and left her file
            // unsynced; taking it as ours would, in the second case, overwrite the
            // attachment with content OneDrive never held. So both are kept: this upload
            // goes under a free name (as any clash does), and her file is planned as a
            // new one by the observation that follows.
            let wanted = self.upload_name(name, conflict_copy);
            let chosen = self.free_name(&folder, &folder_path, &wanted, None).await?;
            tr.target = Some(UploadTarget::New {
                parent_id: folder.clone(),
                name: chosen,
            });
            tr.aside = true;
            p.transfer = Some(tr.clone());
            self.save(job, p).await?;
        }
        let f = match found {
            Some(f) => f,
            None => self.upload(job, p).await?,
        };
        if let Err(e) = self.check_uploaded(&f, &tr.content) {
            // What OneDrive stored is not what was sent: it goes to the recycle bin.
            let _ = self.drive.delete(&f.id, None).await;
            return Err(e);
        }
        // Noted before the crash point that follows: after a crash the lookup by name
        // misses a file Alice moved, renamed or deleted meanwhile, and a lost delta link
        // hides it from `drive_made_since` too; the upload was then sent again and her
        // moved file came back to Odoo as a second attachment (sim seed 37).
        p.made = Some(f.clone());
        self.save(job, p).await?;
        Ok(f)
    }

    /// Has the next observation read these items again, whatever its delta round or
    /// cursor shows (stored now, so a crash cannot lose it).
    fn recheck_now(&mut self, odoo: Option<i64>, drive: Option<String>) -> Result<(), EngineError> {
        let (profile, at) = (self.profile(), self.now());
        Ok(self
            .store
            .tx(|t| add_recheck(t, &profile, odoo, drive, at))?)
    }

    /// A resumed upload whose file was noted (`FileJob::made`): that file is the upload,
    /// taken as it was sent so the baseline holds what the engine wrote. Moved, renamed or
    /// edited since, Alice's change is planned into Odoo; deleted since, the link is still
    /// made and her delete goes to Odoo (journaled) rather than the upload being made again
    /// (as a create of an event does, RELIABILITY Found 35). Either way it is read again
    /// by the next observation, which a delta round alone may not show it to.
    async fn noted_upload(&mut self, p: &FileJob, noted: DriveFile) -> Result<DriveFile, StepFail> {
        let profile = self.profile();
        let now = match self.drive.get(&noted.id).await {
            Ok(f) if !f.deleted => f,
            Ok(_) | Err(PortError::NotFound) => noted.clone(),
            Err(e) => return Err(e.into()),
        };
        let held = self
            .store
            .tx(|t| t.link_by_graph(&profile, LinkKind::File, &noted.id))?;
        match held {
            // This job's (its link, or one written before a crash, which holds its source).
            Some(l) if Some(l.id) == p.link_id || l.odoo_id == p.attachment_id => {}
            // Taken in by an observation as a file of its own: never link one file twice.
            Some(_) => return Err(StepFail::Port(PortError::PreconditionFailed)),
            None => {}
        }
        self.recheck_now(None, Some(noted.id.clone()))?;
        Ok(match p.transfer.as_ref() {
            Some(tr) => as_sent(now, tr),
            None => now,
        })
    }

    /// The OneDrive name an upload of the Odoo name `name` asks for: a keep-both copy's
    /// dated name, else the name made safe for OneDrive.
    fn upload_name(&self, name: &str, conflict_copy: bool) -> String {
        let wanted = names::to_drive(name);
        if conflict_copy {
            names::conflict_name(&wanted, self.now().date_naive())
        } else {
            wanted
        }
    }

    /// After a lost answer to a new file's upload that is not under the name it was sent: a
    /// file with this content, linked to nothing, that OneDrive shows made since the last
    /// observation (one delta round from the stored link, which is not moved: the next
    /// observation reads the same changes). Alice renamed or moved the upload before the
    /// engine heard of it (sim seed 1887); sending it again would put the content twice in
    /// OneDrive, and the renamed one would then come back to Odoo as a second attachment.
    /// The file is answered as it was sent (target folder and name), so the baseline holds
    /// what the engine wrote and Alice's rename or move is seen and planned next cycle.
    async fn drive_made_since(&mut self, tr: &Transfer) -> Result<Option<DriveFile>, StepFail> {
        let Some(UploadTarget::New { .. }) = tr.target.as_ref() else {
            return Ok(None);
        };
        let profile = self.profile();
        let (root, delta) = self.store.tx(|t| {
            Ok((
                t.cursor(&profile, CUR_ROOT)?,
                t.cursor(&profile, CUR_DELTA)?,
            ))
        })?;
        let (Some(root), Some(delta)) = (root, delta) else {
            return Ok(None);
        };
        let round = match self.drive.delta(&root, Some(&delta)).await {
            Ok(r) => r,
            // The link is refused: nothing tells the upload apart any more; it is sent again.
            Err(PortError::ResyncRequired) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut last: BTreeMap<String, DriveFile> = BTreeMap::new();
        for it in round.items {
            last.insert(it.id.clone(), it);
        }
        for (id, f) in last {
            if f.deleted
                || f.folder
                || f.quick_xor.as_deref() != Some(tr.content.quick_xor.as_str())
            {
                continue;
            }
            let linked = self
                .store
                .tx(|t| t.link_by_graph(&profile, LinkKind::File, &id))?;
            if linked.is_none() {
                return Ok(Some(as_sent(f, tr)));
            }
        }
        Ok(None)
    }

    /// The OneDrive file already linked to `attachment`, when a resumed `DriveCreate` that
    /// started without a link wrote one before the crash. Such a job is only planned for an
    /// attachment with no link, so a file on its link can only be this job's upload.
    async fn linked_drive_file(
        &mut self,
        profile: &str,
        attachment: i64,
    ) -> Result<Option<DriveFile>, StepFail> {
        let link = self
            .store
            .tx(|t| t.link_by_odoo(profile, LinkKind::File, ATTACHMENT_MODEL, attachment))?;
        let Some(item) = link.and_then(|l| l.graph_id) else {
            return Ok(None);
        };
        match self.drive.get(&item).await {
            Ok(f) => Ok(Some(f)),
            // Gone since: the upload is made again and the link follows it (relink).
            Err(PortError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The folder of a record (model folder, then record folder), from the cache or made
    /// now; the record's chatter gets its one note with the folder's link.
    async fn record_folder(&mut self, record: &RecordKey) -> Result<(String, String), StepFail> {
        let profile = self.profile();
        let (root, folders) = self
            .store
            .tx(|t| Ok((t.cursor(&profile, CUR_ROOT)?, t.drive_folders(&profile)?)))?;
        let root = match root {
            Some(r) => r,
            None => {
                let r = self.drive.ensure_root(&self.cfg.root_path).await?;
                let now = self.now();
                let id = r.id.clone();
                self.store
                    .tx(|t| t.set_cursor(&profile, CUR_ROOT, &id, now))?;
                r.id
            }
        };
        let child = |parent: &str, name: &str| {
            folders
                .iter()
                .find(|f| {
                    f.parent_id.as_deref() == Some(parent) && f.name.eq_ignore_ascii_case(name)
                })
                .cloned()
        };
        let model = match child(&root, &record.model) {
            Some(f) => f,
            None => {
                let f = self.drive.ensure_folder(&root, &record.model).await?;
                let row = FolderRow {
                    item_id: f.id,
                    parent_id: Some(root.clone()),
                    name: f.name,
                    web_url: f.web_url,
                };
                let now = self.now();
                self.store.tx(|t| t.put_drive_folder(&profile, &row, now))?;
                self.checkpoint()?;
                row
            }
        };
        let rec_name = layout::record_folder_name(record.res_id);
        let folder = match child(&model.item_id, &rec_name) {
            Some(f) => f,
            None => {
                let f = self.drive.ensure_folder(&model.item_id, &rec_name).await?;
                let row = FolderRow {
                    item_id: f.id,
                    parent_id: Some(model.item_id.clone()),
                    name: f.name,
                    web_url: f.web_url,
                };
                let now = self.now();
                self.store.tx(|t| t.put_drive_folder(&profile, &row, now))?;
                self.checkpoint()?;
                row
            }
        };
        let noted = self
            .store
            .tx(|t| t.record_note(&profile, &record.model, record.res_id))?;
        if noted.is_none() {
            if let Some(url) = folder.web_url.clone() {
                let body = format!(
                    "<p>The documents of this record are synced with OneDrive: \
                     <a href=\"{}\">open the folder</a> (each file's version history is there).</p>",
                    html_escape(&url)
                );
                // The note is a courtesy: a record whose chatter refuses it (or a failing
                // call) does not hold up its files; it is tried again with the next file.
                match self
                    .odoo
                    .message_post(&record.model, record.res_id, &body)
                    .await
                {
                    Ok(()) => {
                        let now = self.now();
                        self.store.tx(|t| {
                            t.set_record_note(&profile, &record.model, record.res_id, &url, now)
                        })?;
                        self.checkpoint()?;
                    }
                    Err(e @ PortError::SignInNeeded { .. }) => return Err(e.into()),
                    Err(e) => {
                        tracing::warn!(record = %record, error = %e, "chatter note not posted");
                    }
                }
            }
        }
        let path = layout::record_folder_path(&self.cfg.root_path, record);
        Ok((folder.item_id, path))
    }

    /// A OneDrive name for `wanted` free in `folder` (the item itself may hold it).
    async fn free_name(
        &self,
        folder: &str,
        folder_path: &str,
        wanted: &str,
        itself: Option<&str>,
    ) -> Result<String, StepFail> {
        let budget = names::name_budget(folder_path);
        let (stem, ext) = names::split_ext(wanted);
        for n in 1u32..10_000 {
            let candidate = if n == 1 {
                names::fit(wanted, wanted, budget)
            } else {
                names::fit(&format!("{stem} ({n}){ext}"), wanted, budget)
            };
            match self.drive.find_child(folder, &candidate).await? {
                None => return Ok(candidate),
                Some(f) if Some(f.id.as_str()) == itself => return Ok(candidate),
                Some(_) => continue,
            }
        }
        Err(StepFail::Port(PortError::Rejected {
            message: format!("no free name for {wanted} in {folder_path}"),
        }))
    }

    /// Downloads the attachment into the job's spool file and checks it against its
    /// checksum.
    async fn spool_from_odoo(
        &mut self,
        job: &Job,
        attachment: i64,
        expect: Option<&str>,
    ) -> Result<(PathBuf, ContentInfo), StepFail> {
        let path = self.spool_path(job.id);
        std::fs::create_dir_all(&self.cfg.spool_dir).map_err(io_fail)?;
        self.odoo.download(attachment, &path).await?;
        let info = super::content_info(&path).map_err(io_fail)?;
        if let Some(c) = expect {
            if !c.eq_ignore_ascii_case(&info.sha1) {
                // Changed since it was planned (not a bad transfer): plan it again.
                let now = self.odoo.read(&[attachment]).await?;
                match now.first() {
                    None => return Err(StepFail::Port(PortError::NotFound)),
                    Some(a)
                        if a.checksum
                            .as_deref()
                            .is_some_and(|x| !x.eq_ignore_ascii_case(c)) =>
                    {
                        return Err(StepFail::Port(PortError::PreconditionFailed))
                    }
                    Some(_) => {}
                }
                return Err(StepFail::Hash(format!(
                    "the attachment's content does not match its checksum ({c} expected, {} read)",
                    info.sha1
                )));
            }
        }
        Ok((path, info))
    }

    /// Downloads the OneDrive file into the job's spool file and checks its QuickXorHash.
    async fn spool_from_drive(
        &mut self,
        job: &Job,
        item: &str,
        expect: Option<&str>,
    ) -> Result<(PathBuf, ContentInfo), StepFail> {
        let path = self.spool_path(job.id);
        std::fs::create_dir_all(&self.cfg.spool_dir).map_err(io_fail)?;
        self.drive.download(item, &path).await?;
        let info = super::content_info(&path).map_err(io_fail)?;
        if let Some(q) = expect {
            if q != info.quick_xor {
                // Changed since it was planned (not a bad transfer): plan it again.
                let now = self.drive.get(item).await?;
                if now.quick_xor.as_deref().is_some_and(|x| x != q) {
                    return Err(StepFail::Port(PortError::PreconditionFailed));
                }
                return Err(StepFail::Hash(format!(
                    "the OneDrive file's content does not match its QuickXorHash ({q} expected, {} read)",
                    info.quick_xor
                )));
            }
        }
        Ok((path, info))
    }

    /// Uploads the job's transfer: one `PUT` when small, else through a session whose URL
    /// and offset are saved after every fragment (a crash resumes from there).
    async fn upload(&mut self, job: &Job, p: &mut FileJob) -> Result<DriveFile, StepFail> {
        let Some(tr) = p.transfer.clone() else {
            return Err(StepFail::Engine(EngineError::Invalid(
                "upload without a transfer".into(),
            )));
        };
        let target = tr.target.clone().ok_or_else(|| {
            StepFail::Engine(EngineError::Invalid("upload without a target".into()))
        })?;
        let size = tr.content.size;
        if size <= self.cfg.simple_upload_max {
            return Ok(self.drive.upload_small(&target, &tr.spool).await?);
        }
        let mut offset = tr.offset;
        let session = match tr.session.clone() {
            Some(s) => match self.drive.upload_session_offset(&s).await {
                Ok(Some(o)) => {
                    offset = o;
                    Some(s)
                }
                Ok(None) => {
                    // Everything arrived but the answer was lost: the file is there.
                    return self.find_uploaded(&target, &tr.content).await;
                }
                Err(PortError::NotFound) => {
                    // Expired, or finished and gone with its answer: a file with this
                    // content where it was going is the upload.
                    match self.find_uploaded(&target, &tr.content).await {
                        Ok(f) => return Ok(f),
                        Err(StepFail::Port(PortError::NotFound)) => None,
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let session = match session {
            Some(s) => s,
            None => {
                let s = self.drive.create_upload_session(&target, size).await?;
                offset = 0;
                if let Some(t) = p.transfer.as_mut() {
                    t.session = Some(s.clone());
                    t.offset = 0;
                }
                self.save(job, p).await?;
                s
            }
        };
        loop {
            if p.large && self.large_sent >= self.cfg.large_bytes_per_drain {
                return Err(StepFail::Yield);
            }
            let len = self.cfg.fragment_size.min(size - offset);
            match self
                .drive
                .upload_fragment(&session, &tr.spool, offset, len)
                .await?
            {
                UploadProgress::Next { offset: next } => {
                    if next > offset {
                        self.large_sent += next - offset;
                    }
                    offset = next;
                    if let Some(t) = p.transfer.as_mut() {
                        t.offset = offset;
                    }
                    self.save(job, p).await?;
                }
                UploadProgress::Done { item } => return Ok(item),
            }
        }
    }

    async fn find_uploaded(
        &self,
        target: &UploadTarget,
        content: &ContentInfo,
    ) -> Result<DriveFile, StepFail> {
        let found = match target {
            UploadTarget::New { parent_id, name } => self.drive.find_child(parent_id, name).await?,
            UploadTarget::Replace { item_id, .. } => Some(self.drive.get(item_id).await?),
        };
        match found {
            Some(f) if f.quick_xor.as_deref() == Some(content.quick_xor.as_str()) => Ok(f),
            _ => Err(StepFail::Port(PortError::NotFound)),
        }
    }

    /// A content replace that may have been sent already (its answer lost, or a crash
    /// between saving the job and hearing back) is judged from the file as it is now, not
    /// sent blindly. Holding the old eTag would meet 412 from our own landed write and turn
    /// it into a needless conflict (sim seed 27); dropping `If-Match` would overwrite, with
    /// no journal entry, a user edit made since planning (sim seed 51). So: our content
    /// there → the write landed (`Some`); the content planned over still there → send
    /// again, held to the eTag just read; anything else → someone else changed it, plan
    /// again (`PreconditionFailed`).
    async fn replace_landed(
        &mut self,
        job: &Job,
        p: &mut FileJob,
        item: &str,
        tr: &Transfer,
    ) -> Result<Option<DriveFile>, StepFail> {
        let now = self.drive.get(item).await?;
        if now.quick_xor.as_deref() == Some(tr.content.quick_xor.as_str()) {
            return Ok(Some(now));
        }
        let planned = p.drive.as_ref().and_then(|d| d.quick_xor.as_deref());
        let untouched = match (planned, now.quick_xor.as_deref()) {
            (Some(was), Some(is)) => was == is,
            // No hash to compare (OneDrive has none yet): only an unchanged eTag tells.
            _ => p.etag.is_some() && now.etag == p.etag,
        };
        if !untouched {
            return Err(StepFail::Port(PortError::PreconditionFailed));
        }
        if let Some(Transfer {
            target: Some(UploadTarget::Replace { if_match, .. }),
            ..
        }) = p.transfer.as_mut()
        {
            *if_match = now.etag.clone();
        }
        self.save(job, p).await?;
        Ok(None)
    }

    fn check_uploaded(&self, f: &DriveFile, content: &ContentInfo) -> Result<(), StepFail> {
        match &f.quick_xor {
            Some(q) if *q != content.quick_xor => Err(StepFail::Hash(format!(
                "OneDrive reports QuickXorHash {q} for the upload of {} ({} sent)",
                f.name, content.quick_xor
            ))),
            _ => Ok(()),
        }
    }

    /// The first of `found` with content `sha1` that is linked to nothing, or to `item` (the
    /// job wrote its link before a crash): the attachment a create with a lost answer made.
    fn odoo_made(
        &mut self,
        found: Vec<OdooAttachment>,
        item: &str,
        sha1: &str,
    ) -> Result<Option<OdooAttachment>, StepFail> {
        let profile = self.profile();
        for a in found {
            if a.checksum.as_deref() != Some(sha1) {
                continue;
            }
            let linked = self
                .store
                .tx(|t| t.link_by_odoo(&profile, LinkKind::File, ATTACHMENT_MODEL, a.id))?;
            if linked.is_none_or(|l| l.graph_id.as_deref() == Some(item)) {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// [`Self::odoo_made`] over the attachments Odoo made from the stored cursor on: ones no
    /// observation saw, so none is another item's (that one may be unlinked only until its
    /// own job runs). Without a cursor nothing tells them apart: `None`.
    async fn odoo_made_since(
        &mut self,
        item: &str,
        sha1: &str,
    ) -> Result<Option<OdooAttachment>, StepFail> {
        let profile = self.profile();
        let cursor = self.store.tx(|t| t.cursor(&profile, CUR_ODOO))?;
        let Some(since) = cursor
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
        else {
            return Ok(None);
        };
        let made: Vec<OdooAttachment> = self
            .odoo
            .changed_since(&self.cfg.models, Some(since), self.cfg.odoo_overlap)
            .await?
            .into_iter()
            .filter(|a| a.create_date.is_some_and(|c| c >= since))
            .collect();
        self.odoo_made(made, item, sha1)
    }

    /// Reads the attachment before a content replace or a delete: Odoo has no `If-Match`,
    /// so this is how a write planned cycles ago (a job that waited out a retry or a crash)
    /// keeps off a version Alice saved in Odoo since. `landed` is the checksum the step
    /// itself writes: after a lost answer or a crash the attachment may already hold it,
    /// and then the step is done (`Ok(Some(..))`). A job marked *maybe applied* is checked
    /// like any other: what it may have written is exactly `landed`, and anything else is
    /// somebody's edit.
    async fn odoo_unchanged(
        &self,
        attachment: i64,
        planned: Option<&OdooState>,
        landed: Option<&str>,
    ) -> Result<Option<OdooAttachment>, StepFail> {
        let Some(planned) = planned else {
            return Ok(None);
        };
        match self.odoo.read(&[attachment]).await?.into_iter().next() {
            None => Err(StepFail::Port(PortError::NotFound)),
            Some(a) if landed.is_some() && a.checksum.as_deref() == landed => Ok(Some(a)),
            Some(a) if a.checksum != planned.sha1 => {
                Err(StepFail::Port(PortError::PreconditionFailed))
            }
            Some(_) => Ok(None),
        }
    }

    /// Takes what a OneDrive write answered into the job: all of it for a new file, else
    /// only the fields the step wrote, so a concurrent user change of another field stays
    /// "changed since the baseline" and is planned next cycle instead of being absorbed.
    fn take_drive(
        &self,
        p: &mut FileJob,
        f: &DriveFile,
        record: Option<RecordKey>,
        only: Option<FileField>,
    ) {
        let new = DriveState {
            record,
            name: f.name.clone(),
            quick_xor: f.quick_xor.clone(),
            size: f.size,
        };
        match (only, p.drive.as_mut()) {
            (Some(FileField::Content), Some(d)) => {
                d.quick_xor = new.quick_xor;
                d.size = new.size;
            }
            (Some(FileField::Name), Some(d)) => d.name = new.name,
            // The name a move sent (if any) is set by the caller: the answer's name may be
            // a rename Alice made since the plan (a move resumed without If-Match).
            (Some(FileField::Record), Some(d)) => {
                d.record = new.record;
                p.drive_parent = f.parent_id.clone();
            }
            _ => {
                p.drive = Some(new);
                p.drive_parent = f.parent_id.clone();
            }
        }
        p.item_id = Some(f.id.clone());
        p.etag = f.etag.clone();
        p.mtime = f.modified;
    }

    async fn exec_step(&mut self, job: &Job, p: &mut FileJob, step: &Step) -> Result<(), StepFail> {
        let profile = self.profile();
        let maybe = job.maybe_applied;
        match step {
            Step::DriveCreate {
                record,
                name,
                conflict_copy,
            } => {
                let attachment = p.attachment_id.ok_or_else(|| {
                    StepFail::Engine(EngineError::Invalid("upload without an attachment".into()))
                })?;
                // Interrupted after its link was written (full crash test, seed 9): the file
                // that link names is this job's upload; a second upload would duplicate it.
                // Not so for a conflict copy: its job starts with a link whose file is the
                // other side's version (that link is re-pointed, and found again by name).
                let own = if maybe && p.link_id.is_none() {
                    self.linked_drive_file(&profile, attachment).await?
                } else {
                    None
                };
                let f = match own {
                    // Taken as it was sent: the file may have been renamed, moved or
                    // edited since it landed, and that is Alice's change to carry to Odoo
                    // next cycle, not part of the baseline (sim seed 1502).
                    Some(f) => match p.transfer.as_ref() {
                        Some(tr) => as_sent(f, tr),
                        None => f,
                    },
                    None => {
                        self.create_drive_file(job, p, record, name, *conflict_copy)
                            .await?
                    }
                };
                let now = self.now();
                let link_id = p.link_id;
                let new_link = self.store.tx(|t| match link_id {
                    Some(l) => {
                        t.relink(l, None, Some(&f.id))?;
                        Ok(l)
                    }
                    None => match t.link_by_odoo(
                        &profile,
                        LinkKind::File,
                        ATTACHMENT_MODEL,
                        attachment,
                    )? {
                        // This job's own link, written before a crash; its file is gone
                        // (linked_drive_file) or is `f`: it follows the upload.
                        Some(l) if maybe => {
                            t.relink(l.id, None, Some(&f.id))?;
                            Ok(l.id)
                        }
                        _ => link_pair(t, &profile, attachment, &f.id, now),
                    },
                })?;
                p.link_id = Some(new_link);
                // The link is a persisted step of its own: a crash here leaves it written and
                // the step not done (full crash test, seed 9).
                self.checkpoint()?;
                self.take_drive(p, &f, Some(record.clone()), None);
                // Put aside under a free name: the attachment takes it too, so both sides
                // show the same two names once Alice's file comes over, and still the same
                // name if she deletes hers (sim seed 1852). A rename sets the name it is
                // given: sent again after a crash or a lost answer. Gone meanwhile: its
                // delete is planned next cycle.
                let sent = names::from_drive(&f.name);
                let aside = p.transfer.as_ref().is_some_and(|t| t.aside);
                // Renamed by Alice since the plan (the upload may have waited cycles), her
                // name stays: the baseline keeps the planned one, so the next cycle carries
                // hers to OneDrive instead of this rename overwriting it (RSVP sim seed 270).
                let planned = p.odoo.as_ref().map(|o| o.name.clone());
                if aside && planned.as_deref().is_some_and(|n| n != sent) {
                    let current = self.odoo.read(&[attachment]).await?.into_iter().next();
                    match current {
                        None => {}
                        Some(att) if att.name == sent => take_odoo(p, &att, FileField::Name),
                        Some(att) if Some(&att.name) != planned.as_ref() => {}
                        Some(_) => match self.odoo.rename(attachment, &sent).await {
                            Ok(att) => take_odoo(p, &att, FileField::Name),
                            Err(PortError::NotFound) => {}
                            Err(e) => return Err(e.into()),
                        },
                    }
                }
                self.remove_spool(job.id);
            }
            Step::DriveReplace => {
                let (attachment, item) = (p.attachment_id, p.item_id.clone());
                let (Some(attachment), Some(item)) = (attachment, item) else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                let resumable = p.transfer.as_ref().is_some_and(|t| spool_intact(t, maybe));
                if !resumable {
                    let expect = p.odoo.as_ref().and_then(|o| o.sha1.clone());
                    let (spool, content) = self
                        .spool_from_odoo(job, attachment, expect.as_deref())
                        .await?;
                    let now = self.now();
                    let link_id = p.link_id;
                    let journal = json!({
                        "item_id": item, "name": p.base.as_ref().and_then(|b| b.item.drive.as_ref()).map(|d| d.name.clone()),
                        "quick_xor": p.drive.as_ref().and_then(|d| d.quick_xor.clone()),
                        "restore_from": "the file's OneDrive version history",
                    });
                    self.store.tx(|t| {
                        t.journal(&profile, link_id, "microsoft", "overwritten", &journal, now)
                            .map(drop)
                    })?;
                    p.transfer = Some(Transfer {
                        spool,
                        content,
                        target: Some(UploadTarget::Replace {
                            item_id: item.clone(),
                            if_match: p.etag.clone(),
                        }),
                        session: None,
                        offset: 0,
                        aside: false,
                    });
                    self.save(job, p).await?;
                }
                let tr = p.transfer.clone().ok_or_else(|| {
                    StepFail::Engine(EngineError::Invalid("lost transfer".into()))
                })?;
                let landed = if maybe && tr.session.is_none() {
                    self.replace_landed(job, p, &item, &tr).await?
                } else {
                    None
                };
                let f = match landed {
                    Some(f) => f,
                    None => self.upload(job, p).await?,
                };
                self.check_uploaded(&f, &tr.content)?;
                let record = p.drive.as_ref().and_then(|d| d.record.clone());
                self.take_drive(p, &f, record, Some(FileField::Content));
                self.remove_spool(job.id);
            }
            Step::DriveRename { name } => {
                let Some(item) = p.item_id.clone() else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                let parent = p.drive_parent.clone().unwrap_or_default();
                let path = p
                    .drive
                    .as_ref()
                    .and_then(|d| d.record.clone())
                    .map(|r| layout::record_folder_path(&self.cfg.root_path, &r))
                    .unwrap_or_default();
                let chosen = self
                    .free_name(&parent, &path, &names::to_drive(name), Some(&item))
                    .await?;
                if p.drive.as_ref().is_some_and(|d| d.name == chosen) {
                    return Ok(());
                }
                let etag = if maybe { None } else { p.etag.clone() };
                let f = self
                    .drive
                    .update(&item, None, Some(&chosen), etag.as_deref())
                    .await?;
                let record = p.drive.as_ref().and_then(|d| d.record.clone());
                self.take_drive(p, &f, record, Some(FileField::Name));
            }
            Step::DriveMove { record } => {
                let Some(item) = p.item_id.clone() else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                let (folder, path) = self.record_folder(record).await?;
                let cur = p.drive.as_ref().map(|d| d.name.clone()).unwrap_or_default();
                // A name made unique beside a namesake in the old folder (`f7 (2).pdf`, as
                // Odoo lets a record hold two `f7.pdf`) takes Odoo's name back where there
                // is room for it; else it kept the `(2)` for good once the clash was left
                // behind (simulation seed 264).
                let wanted = match p.odoo.as_ref().map(|o| names::to_drive(&o.name)) {
                    Some(w) if is_numbered_variant(&cur, &w) => w,
                    _ => cur.clone(),
                };
                let chosen = self.free_name(&folder, &path, &wanted, Some(&item)).await?;
                let etag = if maybe { None } else { p.etag.clone() };
                let f = self
                    .drive
                    .update(
                        &item,
                        Some(&folder),
                        (chosen != cur).then_some(chosen.as_str()),
                        etag.as_deref(),
                    )
                    .await?;
                self.take_drive(p, &f, Some(record.clone()), Some(FileField::Record));
                // The name this step wrote or left as planned, not the answer's: a move
                // resumed after a crash goes without If-Match, and a rename Alice made
                // since the plan comes back in the answer; taken into the baseline it
                // would count as synced and never reach Odoo (sim seed 83 with RSVPs).
                if let Some(d) = p.drive.as_mut() {
                    d.name = chosen;
                }
            }
            Step::DriveDelete => {
                let Some(item) = p.item_id.clone() else {
                    return Ok(());
                };
                let now = self.now();
                let link_id = p.link_id;
                let journal = json!({
                    "item_id": item, "drive": p.drive, "restore_from": "the OneDrive recycle bin",
                });
                self.store.tx(|t| {
                    t.journal(&profile, link_id, "microsoft", "deleted", &journal, now)
                        .map(drop)
                })?;
                // A delete that may have landed keeps its If-Match all the same: if it
                // landed the item is gone (404, done), and if not, an eTag other than the
                // planned one is Alice's edit since, which must not go with it. Only an
                // earlier step of this job with a lost answer could have moved the eTag:
                // then the item is read, and only unchanged content and name go.
                let mut etag = p.etag.clone();
                if maybe {
                    let now = match self.drive.get(&item).await {
                        Ok(f) => f,
                        Err(PortError::NotFound) => {
                            p.drive = None;
                            return Ok(());
                        }
                        Err(e) => return Err(e.into()),
                    };
                    let untouched = p.drive.as_ref().is_some_and(|d| {
                        d.name == now.name
                            && match (&d.quick_xor, &now.quick_xor) {
                                (Some(was), Some(is)) => was == is,
                                _ => p.etag.is_some() && now.etag == p.etag,
                            }
                    });
                    if !untouched {
                        return Err(StepFail::Port(PortError::PreconditionFailed));
                    }
                    etag = now.etag;
                }
                match self.drive.delete(&item, etag.as_deref()).await {
                    Ok(()) | Err(PortError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
                p.drive = None;
            }
            Step::OdooCreate {
                record,
                name,
                split,
            } => {
                let item = if *split {
                    p.split_item.clone()
                } else {
                    p.item_id.clone()
                };
                let Some(item) = item else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                // A keep-both's OneDrive version already on a link of its own: the step's
                // last write (its link and baseline, one transaction with the attachment it
                // made) landed before a crash cut the job. Its link is adopted and the step
                // is done; what Alice did to either file since is a change from that
                // baseline, planned next cycle. Creating the attachment again would meet
                // that link (`UNIQUE … link.graph_id`) in every retry, and leave an
                // attachment on no link each time (sim seed 2014).
                if *split {
                    let held = self
                        .store
                        .tx(|t| t.link_by_graph(&profile, LinkKind::File, &item))?;
                    if held.is_some_and(|l| Some(l.id) != p.link_id) {
                        return Ok(());
                    }
                }
                // The drive state of the file this attachment comes from.
                let (src_state, src_parent, src_etag, src_mtime) = if *split {
                    let f = self.drive.get(&item).await?;
                    // The attachment is made under the name planned; a OneDrive name that
                    // no longer gives it (Alice renamed the file while the step waited
                    // out a lost answer) is her change since, to be planned next cycle,
                    // not part of the baseline (sim seed 1266).
                    let drive_name = if names::from_drive(&f.name) == *name {
                        f.name.clone()
                    } else {
                        names::to_drive(name)
                    };
                    (
                        DriveState {
                            record: Some(record.clone()),
                            name: drive_name,
                            quick_xor: f.quick_xor.clone(),
                            size: f.size,
                        },
                        f.parent_id.clone(),
                        f.etag.clone(),
                        f.modified,
                    )
                } else {
                    (
                        p.drive.clone().ok_or(StepFail::Port(PortError::NotFound))?,
                        p.drive_parent.clone(),
                        p.etag.clone(),
                        p.mtime,
                    )
                };
                // An earlier attempt made the attachment and noted it (below): that one,
                // as it was created, whatever Alice did to it since (moved, renamed,
                // edited, deleted), which the next observation reads and plans.
                if let Some(noted) = p.made_attachment.clone() {
                    let held = self.store.tx(|t| {
                        t.link_by_odoo(&profile, LinkKind::File, ATTACHMENT_MODEL, noted.id)
                    })?;
                    match held {
                        Some(l) if Some(l.id) == p.link_id => {}
                        // This job's own link, written before a crash: the file is its
                        // source, which nothing else links.
                        Some(l) if l.graph_id.as_deref() == Some(item.as_str()) => {
                            p.link_id = Some(l.id);
                        }
                        // Taken in by an observation meanwhile: never link it twice.
                        Some(_) => return Err(StepFail::Port(PortError::PreconditionFailed)),
                        None => {}
                    }
                    self.recheck_now(Some(noted.id), None)?;
                }
                let (spool, info) = match p.made_attachment {
                    Some(_) => (PathBuf::new(), None),
                    None => {
                        let (spool, info) = self
                            .spool_from_drive(job, &item, src_state.quick_xor.as_deref())
                            .await?;
                        (spool, Some(info))
                    }
                };
                let mut att = p.made_attachment.clone();
                if let (true, None, Some(info)) = (maybe, &att, &info) {
                    // A lost answer: an attachment with this name and content, linked to
                    // nothing, is the one it created.
                    let named = self.odoo.find(&record.model, record.res_id, name).await?;
                    att = self.odoo_made(named, &item, &info.sha1)?;
                    if att.is_none() {
                        // Not under its name or on its record any more: Alice renamed or
                        // moved it before the engine heard of it (sim seed 529). What Odoo
                        // shows changed since the last observation (the cursor is not
                        // moved) holds it; a second create would put the content twice
                        // in Odoo. It is answered as it was created, so the baseline holds
                        // what the engine wrote and her change is planned next cycle.
                        att = self.odoo_made_since(&item, &info.sha1).await?.map(|a| {
                            OdooAttachment {
                                name: name.clone(),
                                res_model: record.model.clone(),
                                res_id: record.res_id,
                                ..a
                            }
                        });
                    }
                }
                let att = match att {
                    Some(a) => a,
                    None => {
                        self.odoo
                            .create(&record.model, record.res_id, name, &spool)
                            .await?
                    }
                };
                // Noted before the crash point (`made_attachment`): a deleted one is not
                // made again.
                if p.made_attachment.is_none() {
                    p.made_attachment = Some(att.clone());
                }
                self.save(job, p).await?;
                self.remove_spool(job.id);
                let now = self.now();
                let link_id = p.link_id;
                let st = odoo_state(&att);
                if *split {
                    let base = StoredFile {
                        item: FileItem {
                            odoo: Some(st.clone()),
                            drive: Some(src_state.clone()),
                            mtime: src_mtime,
                        },
                        drive_parent: src_parent.clone(),
                        etag: src_etag.clone(),
                        ..StoredFile::default()
                    };
                    self.store.tx(|t| {
                        let l = link_pair(t, &profile, att.id, &item, now)?;
                        set_base(t, l, &base, now)
                    })?;
                    self.checkpoint()?;
                } else {
                    let new_link = self.store.tx(|t| match link_id {
                        Some(l) => {
                            t.relink(l, Some(att.id), None)?;
                            Ok(l)
                        }
                        None => link_pair(t, &profile, att.id, &item, now),
                    })?;
                    p.link_id = Some(new_link);
                    self.checkpoint()?;
                    p.attachment_id = Some(att.id);
                    p.odoo = Some(st);
                    p.drive = Some(src_state);
                }
            }
            Step::OdooReplace => {
                let (Some(attachment), Some(item)) = (p.attachment_id, p.item_id.clone()) else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                let expect = p.drive.as_ref().and_then(|d| d.quick_xor.clone());
                let (spool, info) = self.spool_from_drive(job, &item, expect.as_deref()).await?;
                let now = self.now();
                let link_id = p.link_id;
                let journal = json!({
                    "attachment_id": attachment, "odoo": p.odoo,
                    "restore_from": "the OneDrive file's version history holds this content",
                });
                self.store.tx(|t| {
                    t.journal(&profile, link_id, "odoo", "overwritten", &journal, now)
                        .map(drop)
                })?;
                let att = match self
                    .odoo_unchanged(attachment, p.odoo.as_ref(), Some(&info.sha1))
                    .await?
                {
                    Some(landed) => landed,
                    None => self.odoo.replace_content(attachment, &spool).await?,
                };
                self.remove_spool(job.id);
                take_odoo(p, &att, FileField::Content);
            }
            Step::OdooRename { name } => {
                let Some(attachment) = p.attachment_id else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                let att = self.odoo.rename(attachment, name).await?;
                take_odoo(p, &att, FileField::Name);
            }
            Step::OdooCopyName => {
                let Some(attachment) = p.attachment_id else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                // The step before uploaded the copy: `p.drive` is it, under the name
                // OneDrive's folder left free.
                let Some(copy) = p.drive.as_ref() else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                let name = names::from_drive(&copy.name);
                if p.odoo.as_ref().is_some_and(|o| o.name == name) {
                    return Ok(());
                }
                // A rename sets the name it is given, so after a lost answer or a crash it
                // is simply sent again.
                let att = self.odoo.rename(attachment, &name).await?;
                take_odoo(p, &att, FileField::Name);
            }
            Step::OdooMove { record } => {
                let Some(attachment) = p.attachment_id else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                let att = self
                    .odoo
                    .move_to(attachment, &record.model, record.res_id)
                    .await?;
                take_odoo(p, &att, FileField::Record);
            }
            Step::OdooDelete => {
                let Some(attachment) = p.attachment_id else {
                    return Ok(());
                };
                let now = self.now();
                let link_id = p.link_id;
                let journal = json!({
                    "attachment_id": attachment, "odoo": p.odoo, "drive_item": p.item_id,
                    "restore_from": "the OneDrive recycle bin holds this content",
                });
                self.store.tx(|t| {
                    t.journal(&profile, link_id, "odoo", "deleted", &journal, now)
                        .map(drop)
                })?;
                match self.odoo_unchanged(attachment, p.odoo.as_ref(), None).await {
                    Ok(_) => {}
                    Err(StepFail::Port(PortError::NotFound)) => {
                        p.odoo = None;
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                }
                match self.odoo.delete(attachment).await {
                    Ok(()) | Err(PortError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
                p.odoo = None;
            }
            Step::Link => {
                let (Some(a), Some(d)) = (p.attachment_id, p.item_id.clone()) else {
                    return Err(StepFail::Port(PortError::NotFound));
                };
                let now = self.now();
                let l = self.store.tx(|t| link_pair(t, &profile, a, &d, now))?;
                p.link_id = Some(l);
                self.checkpoint()?;
            }
            Step::Unlink => {
                if let Some(l) = p.link_id {
                    self.store.tx(|t| t.delete_link(l))?;
                }
            }
            Step::Detach => {
                if let Some(l) = p.link_id {
                    self.store.tx(|t| t.detach_graph(l))?;
                }
                p.drive = None;
                p.item_id = None;
            }
        }
        Ok(())
    }

    /// Settles a both-changed conflict. Both versions were kept and linked when it was
    /// opened (Odoo's as the `(Odoo conflict …)` copy, under that name on both sides,
    /// OneDrive's under the original name as a second attachment); `KeepBoth` just closes
    /// it, `KeepOdoo` deletes the OneDrive version on both sides and gives the copy its
    /// name back on both, `KeepOneDrive` deletes Odoo's version
    /// on both sides. Deletes go to the recycle bin and the journal, as always; the jobs
    /// run in the next `sync` or `drain`. Refused while the keep-both that opened it still
    /// writes; once that job failed for good, `KeepBoth` closes the conflict (the job keeps
    /// its Retry) and the other choices replace the other version in place if the job
    /// wrote nothing yet, or are refused naming its error.
    pub fn resolve_conflict(
        &mut self,
        id: i64,
        choice: FileConflictChoice,
    ) -> Result<(), EngineError> {
        let profile = self.profile();
        let now = self.now();
        let c = self
            .store
            .tx(|t| t.conflict(id))?
            .filter(|c| c.open && c.profile_id == profile && c.kind == "content")
            .filter(|c| c.fields.get("item_id").is_some())
            .ok_or(EngineError::NoSuchConflict(id))?;
        // The keep-both that opened the conflict may still be writing (a step waiting out a
        // lost answer or a retry): until it is done, the links the choice acts on are not
        // the ones it names, and the choice would delete or rename the wrong versions (sim
        // seed 1529: "keep Odoo" deleted Odoo's version, and the job then copied it back
        // twice). Nothing is lost by waiting; the choice is refused with a clear error.
        let item_id = c.fields.get("item_id").and_then(Value::as_str);
        let link_key = c.link_id.map(|l| format!("l:{l}"));
        let blocking: Vec<(Job, FileJob)> = self.store.tx(|t| {
            let mut out = Vec::new();
            for state in [JobState::Pending, JobState::Running, JobState::Failed] {
                for j in t
                    .jobs(&profile, state)?
                    .into_iter()
                    .filter(|j| j.kind == JOB_KIND)
                {
                    let Ok(p) = serde_json::from_value::<FileJob>(j.payload.clone()) else {
                        continue;
                    };
                    let holds = link_key.as_deref() == Some(p.key_item.as_str())
                        || item_id.is_some_and(|i| {
                            p.item_id.as_deref() == Some(i) || p.split_item.as_deref() == Some(i)
                        });
                    if holds {
                        out.push((j, p));
                    }
                }
            }
            Ok(out)
        })?;
        if blocking.iter().any(|(j, _)| j.state != JobState::Failed) {
            return Err(EngineError::Invalid(format!(
                "conflict {id}: both versions are still being saved; choose again after the \
                 next sync"
            )));
        }
        // Only jobs that gave up hold the conflict: it must not stay open for good (sim seed
        // 2014: a keep-both failed for good, and every choice was refused). "Keep both" is
        // what the failed job was doing: the conflict closes, and the job stays in the
        // failed list with its error and its Retry. Keeping one version replaces the other
        // in place, but only when the failed keep-both wrote nothing yet (its first step
        // not done, no write that may have landed, the link still pairing both versions):
        // halfway, the links no longer pair the versions the choice names (Found 34).
        let mut replace: Option<(i64, FileJob)> = None;
        if let Some((j, p)) = blocking.first() {
            if choice != FileConflictChoice::KeepBoth {
                let untouched = blocking.len() == 1
                    && link_key.as_deref() == Some(p.key_item.as_str())
                    && p.done == 0
                    && !j.maybe_applied
                    && item_id.is_some()
                    && p.item_id.as_deref() == item_id
                    && c.link_id
                        .and_then(|l| self.store.tx(|t| t.link(l)).ok().flatten())
                        .is_some_and(|l| l.graph_id.as_deref() == item_id);
                if !untouched {
                    let why = j.last_error.as_deref().unwrap_or("it gave up");
                    return Err(EngineError::Invalid(format!(
                        "conflict {id}: keeping both versions stopped halfway ({why}); retry \
                         that transfer, or choose to keep both"
                    )));
                }
                let step = match choice {
                    FileConflictChoice::KeepOdoo => Step::DriveReplace,
                    _ => Step::OdooReplace,
                };
                let mut one = p.clone();
                one.rule = format!("conflict {id} resolved: {choice:?}");
                one.conflict = None;
                one.steps = vec![step];
                one.done = 0;
                one.split_item = None;
                one.transfer = None;
                one.hash_failures = 0;
                replace = Some((j.id, one));
            }
        }
        if let Some((failed, one)) = replace {
            let payload = serde_json::to_value(&one).map_err(corrupt)?;
            self.store.tx(|t| {
                t.cancel_job(
                    failed,
                    &format!("conflict {id} resolved: {choice:?} instead"),
                    now,
                )?;
                t.enqueue(
                    &profile,
                    &format!("file:resolve:{id}:0"),
                    JOB_KIND,
                    &payload,
                    now,
                )?;
                t.resolve_conflict(id, &json!({ "keep": choice }), now)?;
                Ok(())
            })?;
            self.remove_spool(failed);
            return Ok(());
        }
        self.store.tx(|t| {
            let odoo_link = c.link_id.and_then(|l| t.link(l).ok().flatten());
            let drive_link = match c.fields.get("item_id").and_then(Value::as_str) {
                Some(item) => t.link_by_graph(&profile, LinkKind::File, item)?,
                None => None,
            };
            let mut jobs: Vec<(i64, Vec<Step>)> = Vec::new();
            match choice {
                FileConflictChoice::KeepBoth => {}
                FileConflictChoice::KeepOdoo => {
                    if let Some(l) = &drive_link {
                        jobs.push((
                            l.id,
                            vec![Step::DriveDelete, Step::OdooDelete, Step::Unlink],
                        ));
                    }
                    if let Some(l) = &odoo_link {
                        let base = t
                            .baseline(l.id)?
                            .and_then(|b| serde_json::from_value::<StoredFile>(b.canonical).ok());
                        let now_named = base.and_then(|b| b.item.odoo).map(|o| o.name);
                        // The name Odoo's version had when the conflict was opened: since
                        // the copy carries the dated name on both sides, both get it back.
                        let original = c
                            .odoo
                            .as_ref()
                            .and_then(|o| o.get("name"))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .or_else(|| now_named.clone());
                        if let Some(name) = original {
                            let mut steps = Vec::new();
                            if now_named.as_deref() != Some(name.as_str()) {
                                steps.push(Step::OdooRename { name: name.clone() });
                            }
                            steps.push(Step::DriveRename { name });
                            jobs.push((l.id, steps));
                        }
                    }
                }
                FileConflictChoice::KeepOneDrive => {
                    if let Some(l) = &odoo_link {
                        jobs.push((
                            l.id,
                            vec![Step::DriveDelete, Step::OdooDelete, Step::Unlink],
                        ));
                    }
                }
            }
            for (n, (link_id, steps)) in jobs.into_iter().enumerate() {
                let Some(l) = t.link(link_id)? else { continue };
                let base = t
                    .baseline(link_id)?
                    .and_then(|b| serde_json::from_value::<StoredFile>(b.canonical).ok())
                    .unwrap_or_default();
                let item = base
                    .item
                    .odoo
                    .as_ref()
                    .map(|o| format!("{}/{}", o.record, o.name))
                    .unwrap_or_default();
                let job = FileJob {
                    item,
                    key_item: format!("l:{link_id}"),
                    rule: format!("conflict {id} resolved: {choice:?}"),
                    conflict: None,
                    ignored: Vec::new(),
                    steps,
                    done: 0,
                    link_id: Some(link_id),
                    attachment_id: l.odoo_id,
                    item_id: l.graph_id.clone(),
                    split_item: None,
                    odoo: base.item.odoo.clone(),
                    drive: base.item.drive.clone(),
                    drive_parent: base.drive_parent.clone(),
                    etag: base.etag.clone(),
                    mtime: base.item.mtime,
                    base: Some(base),
                    size: 0,
                    large: false,
                    transfer: None,
                    hash_failures: 0,
                    made: None,
                    made_attachment: None,
                };
                let payload = serde_json::to_value(&job).map_err(corrupt)?;
                let key = format!("file:resolve:{id}:{n}");
                t.enqueue(&profile, &key, JOB_KIND, &payload, now)?;
            }
            t.resolve_conflict(id, &json!({ "keep": choice }), now)?;
            Ok(())
        })?;
        Ok(())
    }

    /// The file jobs that gave up, with their error (shown with a Retry).
    pub fn failed(&mut self) -> Result<Vec<ItemError>, EngineError> {
        let profile = self.profile();
        let jobs = self.store.tx(|t| t.jobs(&profile, JobState::Failed))?;
        Ok(jobs
            .into_iter()
            .filter(|j| j.kind == JOB_KIND)
            .map(|j| ItemError {
                item: j
                    .payload
                    .get("item")
                    .and_then(Value::as_str)
                    .unwrap_or(&j.key)
                    .to_owned(),
                message: j.last_error.unwrap_or_default(),
                job_id: Some(j.id),
            })
            .collect())
    }

    /// The user's Retry on a failed file job: it runs in the next drain, with its hash
    /// attempts counted afresh.
    pub fn retry(&mut self, job_id: i64) -> Result<bool, EngineError> {
        let now = self.now();
        Ok(self.store.tx(|t| {
            let Some(j) = t.job(job_id)? else {
                return Ok(false);
            };
            if j.kind != JOB_KIND {
                return Ok(false);
            }
            let mut payload = j.payload.clone();
            payload["hash_failures"] = json!(0);
            t.set_job_payload(job_id, &payload, now)?;
            t.retry_failed_job(job_id, now)
        })?)
    }
}

/// A new file's upload found again after a crash or a lost answer, answered as it was sent
/// (the folder, name and content of the upload) rather than as it is now: the baseline must
/// hold what the engine wrote, so that a rename, move or edit Alice made since is a change
/// the next cycle plans into Odoo instead of one silently taken as synced.
fn as_sent(f: DriveFile, tr: &Transfer) -> DriveFile {
    let (name, parent_id) = match &tr.target {
        Some(UploadTarget::New { parent_id, name }) => (name.clone(), Some(parent_id.clone())),
        _ => (f.name.clone(), f.parent_id.clone()),
    };
    DriveFile {
        name,
        parent_id,
        quick_xor: Some(tr.content.quick_xor.clone()),
        size: tr.content.size,
        ..f
    }
}

/// Whether `name` is `wanted` made unique by [`FileSync::free_name`]: `stem (n).ext`, n ≥ 2.
fn is_numbered_variant(name: &str, wanted: &str) -> bool {
    let (stem, ext) = names::split_ext(wanted);
    name.strip_prefix(stem)
        .and_then(|r| r.strip_prefix(" ("))
        .and_then(|r| r.strip_suffix(ext))
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n >= 2)
}

/// Whether a transfer's spool file still holds its content. After a crash it is hashed
/// again; after a yield (same process, the file untouched since) its length suffices, so
/// a large upload is not re-hashed at every turn of its lane.
fn spool_intact(t: &Transfer, after_crash: bool) -> bool {
    if after_crash {
        super::content_info(&t.spool).ok().as_ref() == Some(&t.content)
    } else {
        std::fs::metadata(&t.spool).is_ok_and(|m| m.len() == t.content.size)
    }
}

/// The field a step copies, and the side it reads it from.
fn carried(s: &Step) -> Vec<(Side, FileField)> {
    match s {
        Step::DriveReplace => vec![(Side::Odoo, FileField::Content)],
        Step::DriveRename { .. } => vec![(Side::Odoo, FileField::Name)],
        Step::DriveMove { .. } => vec![(Side::Odoo, FileField::Record)],
        Step::OdooReplace => vec![(Side::Microsoft, FileField::Content)],
        Step::OdooRename { .. } => vec![(Side::Microsoft, FileField::Name)],
        Step::OdooMove { .. } => vec![(Side::Microsoft, FileField::Record)],
        _ => Vec::new(),
    }
}

/// Takes the field an Odoo write changed into the job (see `take_drive`).
fn take_odoo(p: &mut FileJob, a: &OdooAttachment, field: FileField) {
    let new = odoo_state(a);
    match p.odoo.as_mut() {
        Some(o) => match field {
            FileField::Content => {
                o.sha1 = new.sha1;
                o.size = new.size;
            }
            FileField::Name => o.name = new.name,
            FileField::Record => o.record = new.record,
        },
        None => p.odoo = Some(new),
    }
}

/// The audit line of a keep-both's new attachment: its link, its path, its checksum.
struct SplitAudit {
    link_id: Option<i64>,
    item: String,
    sha1: Option<String>,
}

/// Where a keep-both's new attachment (`OdooCreate { split: true }`) is audited: on the
/// link it made, under its own name, with its own checksum; the link it split from keeps
/// the other version (RELIABILITY Found 8). `None` for every other step.
fn split_audit(
    t: &crate::state::Tx<'_>,
    profile: &str,
    step: &Step,
    split_item: Option<&str>,
) -> Result<Option<SplitAudit>, StoreError> {
    let (
        Step::OdooCreate {
            record,
            name,
            split: true,
        },
        Some(item),
    ) = (step, split_item)
    else {
        return Ok(None);
    };
    let made = t.link_by_graph(profile, LinkKind::File, item)?;
    let sha1 = match &made {
        Some(l) => t
            .baseline(l.id)?
            .and_then(|b| serde_json::from_value::<StoredFile>(b.canonical).ok())
            .and_then(|b| b.item.odoo)
            .and_then(|o| o.sha1),
        None => None,
    };
    Ok(Some(SplitAudit {
        link_id: made.map(|l| l.id),
        item: FileSync::item_path(Some(record), name),
        sha1,
    }))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The baseline after a job: each side as it stands now, except the target-side fields a
/// one-way direction ignored, which keep their old value (so they stay "changed").
fn next_base(
    old: &StoredFile,
    o: Option<&OdooState>,
    d: Option<&DriveState>,
    ignored: &[(Side, FileField)],
    drive_parent: Option<String>,
    etag: Option<String>,
    mtime: Option<DateTime<Utc>>,
) -> StoredFile {
    let (seen_o, seen_d) = (o.cloned(), d.cloned());
    let mut o = o.cloned();
    let mut d = d.cloned();
    for (side, f) in ignored {
        match side {
            Side::Odoo => {
                if let (Some(o), Some(b)) = (o.as_mut(), old.item.odoo.as_ref()) {
                    match f {
                        FileField::Content => {
                            o.sha1 = b.sha1.clone();
                            o.size = b.size;
                        }
                        FileField::Name => o.name = b.name.clone(),
                        FileField::Record => o.record = b.record.clone(),
                    }
                }
            }
            Side::Microsoft => {
                if let (Some(d), Some(b)) = (d.as_mut(), old.item.drive.as_ref()) {
                    match f {
                        FileField::Content => {
                            d.quick_xor = b.quick_xor.clone();
                            d.size = b.size;
                        }
                        FileField::Name => d.name = b.name.clone(),
                        FileField::Record => d.record = b.record.clone(),
                    }
                }
            }
        }
    }
    let seen_odoo = (seen_o != o).then_some(seen_o).flatten();
    let seen_drive = (seen_d != d).then_some(seen_d).flatten();
    StoredFile {
        item: FileItem {
            odoo: o,
            drive: d,
            mtime,
        },
        drive_parent,
        etag,
        seen_odoo,
        seen_drive,
    }
}

/// Links an attachment and a OneDrive file, or returns the link that already pairs them:
/// a job resumed after a crash between writing its link and marking its step done meets
/// its own link (full crash test, seed 9). Any other link on either side is refused by the
/// store, as before.
fn link_pair(
    t: &crate::state::Tx<'_>,
    profile: &str,
    attachment: i64,
    item: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    if let Some(l) = t.link_by_odoo(profile, LinkKind::File, ATTACHMENT_MODEL, attachment)? {
        if l.graph_id.as_deref() == Some(item) {
            return Ok(l.id);
        }
    }
    Ok(t.create_link(
        profile,
        LinkKind::File,
        &NewLink {
            odoo_model: ATTACHMENT_MODEL,
            odoo_id: Some(attachment),
            graph_id: Some(item),
            ..NewLink::default()
        },
        now,
    )?
    .id)
}

/// A write the store's constraints refused (unique link, foreign key): about one item, not
/// the database as a whole.
fn is_constraint(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Sql(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

fn set_base(
    t: &crate::state::Tx<'_>,
    link_id: i64,
    b: &StoredFile,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let canonical = serde_json::to_value(b).map_err(corrupt)?;
    let sha1 = b.item.odoo.as_ref().and_then(|o| o.sha1.clone());
    let qx = b.item.drive.as_ref().and_then(|d| d.quick_xor.clone());
    t.set_baseline(
        link_id,
        &canonical,
        sha1.as_deref().unwrap_or(""),
        sha1.as_deref(),
        qx.as_deref(),
        now,
    )
}
