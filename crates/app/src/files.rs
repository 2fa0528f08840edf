//! Documents in the app: the file cycle run after the calendar's when a profile's settings
//! say `documents: true`, the settings mapped to the engine's `FileConfig`, the reachable
//! SharePoint libraries (for `profile set <p> drive=<id>`), and one line per planned file
//! operation for dry runs and activity.

use std::sync::Arc;

use serde::Serialize;

use odoo365_auth::SecretKind;
use odoo365_engine::files::engine::{FileConfig, FileReport, FileSync, PlannedFile};
use std::path::Path;

use odoo365_engine::files::{
    ContentInfo, Drive, DriveDelta, DriveFile, OdooAttachment, OdooAttachments, UploadProgress,
    UploadSession, UploadTarget,
};
use odoo365_engine::ports::{PortError, PortResult};
use odoo365_engine::{Outcome, Store, SyncOptions};
use odoo365_odoo::OdooClient;
use odoo365_sync_core::files::{DeletePolicy, Direction as FileDirection, FileOp, FileSettings};

use crate::connect::{graph_client, odoo_api_key, odoo_config, token_source, GraphTokens};
use crate::file_ports::{GraphDrive, OdooFiles};
use crate::settings::{Direction, DriveTarget, OdooDeletePolicy, SyncSettings};
use crate::{App, AppError, ErrorCode, Profile};

/// The engine's file configuration from a profile's settings. Spool files live in
/// `spool_dir` (under the app's data directory, never in memory).
pub fn file_config(
    settings: &SyncSettings,
    profile_id: &str,
    spool_dir: std::path::PathBuf,
) -> FileConfig {
    let mut cfg = FileConfig::new(profile_id, spool_dir);
    cfg.root_path = settings.root_folder.clone();
    cfg.models = settings.document_models.clone();
    cfg.settings = FileSettings {
        direction: match settings.direction {
            Direction::Both => FileDirection::Both,
            Direction::OdooToMicrosoft => FileDirection::OdooToDrive,
            Direction::MicrosoftToOdoo => FileDirection::DriveToOdoo,
        },
        on_drive_delete: match settings.odoo_delete_policy {
            OdooDeletePolicy::Delete => DeletePolicy::Delete,
            OdooDeletePolicy::Keep => DeletePolicy::Keep,
        },
    };
    cfg.guards.mass_count = settings.guard_max_changes as usize;
    cfg.guards.mass_fraction = f64::from(settings.guard_max_percent) / 100.0;
    // A hard delete in Odoo leaves no trace but a missing id, and a person who deletes a
    // file expects OneDrive to follow at the next sync, not within the hour: the id-set
    // check runs every cycle (one `search` per few thousand linked attachments).
    cfg.id_check_every = chrono::Duration::zero();
    cfg
}

/// One SharePoint document library the signed-in user can reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Library {
    /// What `profile set <p> drive=<id>` takes.
    pub drive_id: String,
    pub site: String,
    pub name: String,
    pub web_url: Option<String>,
}

/// One planned file operation as a line a person reads (dry run, activity).
pub fn describe(p: &PlannedFile) -> String {
    let ops: Vec<String> = p.ops.iter().map(op_text).collect();
    let mut line = format!("{}: {}", p.item, ops.join(", "));
    if let Some(c) = &p.conflict {
        line.push_str(&format!(" (conflict: {c:?})"));
    }
    line
}

fn op_text(op: &FileOp) -> String {
    match op {
        FileOp::DriveCreate { record, name } => {
            format!("upload {name:?} to {}/{}", record.model, record.res_id)
        }
        FileOp::DriveReplace => "upload new content to OneDrive".into(),
        FileOp::DriveRename { name } => format!("rename in OneDrive to {name:?}"),
        FileOp::DriveMove { record } => {
            format!("move in OneDrive to {}/{}", record.model, record.res_id)
        }
        FileOp::DriveDelete => "delete in OneDrive (to the recycle bin)".into(),
        FileOp::OdooCreate { record, name } => {
            format!("attach {name:?} to {} {}", record.model, record.res_id)
        }
        FileOp::OdooReplace => "update the attachment's content in Odoo".into(),
        FileOp::OdooRename { name } => format!("rename in Odoo to {name:?}"),
        FileOp::OdooMove { record } => {
            format!("move the attachment to {} {}", record.model, record.res_id)
        }
        FileOp::OdooDelete => "delete the attachment in Odoo".into(),
        FileOp::KeepBoth { .. } => "keep both versions".into(),
        FileOp::Link => "link the matching pair".into(),
        FileOp::Unlink => "forget the link".into(),
        FileOp::Detach => "keep the attachment, no longer synced".into(),
    }
}

/// A guard stopped the file cycle before it wrote anything.
pub fn is_paused(r: &FileReport) -> bool {
    matches!(r.outcome, Outcome::Paused { .. })
}

/// One line about a file cycle, for the sync summary.
pub fn file_summary(r: &FileReport) -> String {
    match &r.outcome {
        Outcome::Paused { .. } => format!(
            "files paused before writing anything ({} operation(s) planned); review with \
             `odoo365 sync --dry-run`, go ahead with `odoo365 sync --yes`",
            r.planned.len()
        ),
        Outcome::DryRun => format!("files: {} operation(s) planned", r.planned.len()),
        Outcome::Synced => {
            let mut s = format!("files: {} change(s) applied", r.jobs_done);
            if r.jobs_waiting > 0 {
                s.push_str(&format!(", {} transfer(s) pending", r.jobs_waiting));
            }
            if !r.failed.is_empty() {
                s.push_str(&format!(", {} failed (shown in status)", r.failed.len()));
            }
            if r.conflicts_opened > 0 {
                s.push_str(&format!(", {} conflict(s) opened", r.conflicts_opened));
            }
            if !r.unplaced.is_empty() {
                s.push_str(&format!(
                    ", {} file(s) in folders that match no record (left alone)",
                    r.unplaced.len()
                ));
            }
            if r.resynced {
                s.push_str(
                    " (OneDrive's change list had expired: reconciled in full, no duplicates)",
                );
            }
            s
        }
    }
}

impl App {
    /// The documents ports for a profile: its drive (OneDrive or the chosen library) and
    /// Odoo, with the keychain's credentials.
    pub(crate) async fn file_ports_for(
        &self,
        profile: &Profile,
    ) -> Result<(Arc<dyn Drive>, Arc<dyn OdooAttachments>), AppError> {
        if self
            .keychain
            .get(&profile.id, SecretKind::MicrosoftRefreshToken)?
            .is_none()
        {
            return Err(AppError::new(
                ErrorCode::SignInNeeded,
                format!(
                    "profile {:?} is not signed in to Microsoft; run `odoo365 login` first",
                    profile.name
                ),
            ));
        }
        let key = odoo_api_key(self.keychain.as_ref(), profile)?;
        let tokens = token_source(profile, self.keychain.clone())?;
        let graph = graph_client(profile, Arc::new(GraphTokens(tokens)))?;
        let drive_id = match &profile.settings.drive {
            DriveTarget::MyOneDrive => None,
            DriveTarget::Library { drive_id, .. } => Some(drive_id.as_str()),
        };
        let odoo = OdooClient::connect(odoo_config(profile, &key)?).await?;
        self.note_key_expiry(&profile.id, &odoo.key_expiry(self.now()))?;
        Ok((
            Arc::new(GraphDrive::new(&graph, drive_id)),
            Arc::new(OdooFiles::new(Arc::new(odoo))),
        ))
    }

    /// The file engine of a profile over any ports (tests plug fakes or emulators in).
    pub fn file_sync_with(
        &self,
        profile: &Profile,
        drive: Arc<dyn Drive>,
        odoo: Arc<dyn OdooAttachments>,
    ) -> Result<FileSync, AppError> {
        let spool = self.data_dir.join("spool").join(&profile.id);
        std::fs::create_dir_all(&spool).map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                format!("cannot create {}: {e}", spool.display()),
            )
        })?;
        let store = Store::open(&self.data_dir.join("sync.db"))?;
        FileSync::new(
            store,
            file_config(&profile.settings, &profile.id, spool),
            drive,
            odoo,
            self.clock.clone(),
        )
        .map_err(crate::sync::engine_error)
    }

    /// One file cycle on a given engine.
    pub async fn sync_files_with(
        &self,
        mut files: FileSync,
        dry_run: bool,
        confirm: bool,
    ) -> Result<FileReport, AppError> {
        if let Some(n) = std::env::var(crate::sync::CRASH_AFTER_ENV)
            .ok()
            .and_then(|n| n.parse().ok())
        {
            files.crash_after(Some(n));
        }
        files
            .sync(SyncOptions { dry_run, confirm })
            .await
            .map_err(crate::sync::engine_error)
    }

    /// Whether conflict `id` is about a file (both contents changed): its record names
    /// the OneDrive item kept beside the attachment.
    pub(crate) fn is_file_conflict(&self, id: i64) -> Result<bool, AppError> {
        Ok(self
            .store()
            .tx(|t| t.conflict(id))?
            .is_some_and(|c| c.kind == "content" && c.fields.get("item_id").is_some()))
    }

    /// Settles a file conflict: keep Odoo's version (the OneDrive one goes to the recycle
    /// bin and the journal), keep OneDrive's, or keep both. The writes run in the next sync.
    pub(crate) fn resolve_file_conflict(
        &self,
        profile: &str,
        id: i64,
        resolution: &crate::Resolution,
    ) -> Result<crate::ConflictView, AppError> {
        use crate::{KeepSide, Resolution};
        use odoo365_engine::files::engine::FileConflictChoice;
        let choice = match resolution {
            Resolution::Keep(KeepSide::Odoo) => FileConflictChoice::KeepOdoo,
            Resolution::Keep(KeepSide::Microsoft) => FileConflictChoice::KeepOneDrive,
            Resolution::KeepBoth => FileConflictChoice::KeepBoth,
            Resolution::Fields(_) => {
                return Err(AppError::new(
                    ErrorCode::InvalidInput,
                    format!("conflict {id} is about a file: keep odoo, microsoft or both"),
                ))
            }
        };
        let profile = self.profile(profile)?;
        // Opening the engine recovers interrupted jobs: never under a running sync.
        let _lock = self.lock_profile(&profile)?;
        let mut files = self.file_sync_with(&profile, Arc::new(Offline), Arc::new(Offline))?;
        files
            .resolve_conflict(id, choice)
            .map_err(crate::sync::engine_error)?;
        self.conflict(&profile.id, id)
    }

    /// The SharePoint document libraries the signed-in user can reach: those of the sites
    /// they follow, plus those of the sites matching `search` when given.
    pub async fn libraries(
        &self,
        profile: &str,
        search: Option<&str>,
    ) -> Result<Vec<Library>, AppError> {
        let profile = self.profile(profile)?;
        let tokens = token_source(&profile, self.keychain.clone())?;
        let graph = graph_client(&profile, Arc::new(GraphTokens(tokens)))?;
        let mut sites = graph.followed_sites().await?;
        if let Some(q) = search {
            for s in graph.search_sites(q).await? {
                if !sites.iter().any(|k| k.id == s.id) {
                    sites.push(s);
                }
            }
        }
        let mut out = Vec::new();
        for site in sites {
            let site_name = site
                .display_name
                .clone()
                .or(site.name.clone())
                .unwrap_or_else(|| site.id.clone());
            for d in graph.site_drives(&site.id).await? {
                out.push(Library {
                    drive_id: d.id,
                    site: site_name.clone(),
                    name: d.name.unwrap_or_default(),
                    web_url: d.web_url,
                });
            }
        }
        Ok(out)
    }
}

/// Ports for file-engine work that does no I/O (recording a conflict decision): every
/// call answers "not sent".
struct Offline;

fn offline<T>() -> PortResult<T> {
    Err(PortError::NotSent {
        message: "offline".into(),
    })
}

#[async_trait::async_trait]
impl Drive for Offline {
    async fn ensure_root(&self, _: &str) -> PortResult<DriveFile> {
        offline()
    }
    async fn ensure_folder(&self, _: &str, _: &str) -> PortResult<DriveFile> {
        offline()
    }
    async fn delta(&self, _: &str, _: Option<&str>) -> PortResult<DriveDelta> {
        offline()
    }
    async fn get(&self, _: &str) -> PortResult<DriveFile> {
        offline()
    }
    async fn find_child(&self, _: &str, _: &str) -> PortResult<Option<DriveFile>> {
        offline()
    }
    async fn upload_small(&self, _: &UploadTarget, _: &Path) -> PortResult<DriveFile> {
        offline()
    }
    async fn create_upload_session(&self, _: &UploadTarget, _: u64) -> PortResult<UploadSession> {
        offline()
    }
    async fn upload_session_offset(&self, _: &UploadSession) -> PortResult<Option<u64>> {
        offline()
    }
    async fn upload_fragment(
        &self,
        _: &UploadSession,
        _: &Path,
        _: u64,
        _: u64,
    ) -> PortResult<UploadProgress> {
        offline()
    }
    async fn cancel_upload_session(&self, _: &UploadSession) -> PortResult<()> {
        offline()
    }
    async fn download(&self, _: &str, _: &Path) -> PortResult<ContentInfo> {
        offline()
    }
    async fn update(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
        _: Option<&str>,
    ) -> PortResult<DriveFile> {
        offline()
    }
    async fn delete(&self, _: &str, _: Option<&str>) -> PortResult<()> {
        offline()
    }
}

#[async_trait::async_trait]
impl OdooAttachments for Offline {
    async fn changed_since(
        &self,
        _: &[String],
        _: Option<chrono::DateTime<chrono::Utc>>,
        _: chrono::Duration,
    ) -> PortResult<Vec<OdooAttachment>> {
        offline()
    }
    async fn existing_ids(&self, _: &[i64]) -> PortResult<Vec<i64>> {
        offline()
    }
    async fn read(&self, _: &[i64]) -> PortResult<Vec<OdooAttachment>> {
        offline()
    }
    async fn download(&self, _: i64, _: &Path) -> PortResult<ContentInfo> {
        offline()
    }
    async fn create(&self, _: &str, _: i64, _: &str, _: &Path) -> PortResult<OdooAttachment> {
        offline()
    }
    async fn replace_content(&self, _: i64, _: &Path) -> PortResult<OdooAttachment> {
        offline()
    }
    async fn rename(&self, _: i64, _: &str) -> PortResult<OdooAttachment> {
        offline()
    }
    async fn move_to(&self, _: i64, _: &str, _: i64) -> PortResult<OdooAttachment> {
        offline()
    }
    async fn delete(&self, _: i64) -> PortResult<()> {
        offline()
    }
    async fn readable_records(&self, _: &str, _: &[i64]) -> PortResult<Vec<i64>> {
        offline()
    }
    async fn message_post(&self, _: &str, _: i64, _: &str) -> PortResult<()> {
        offline()
    }
    async fn find(&self, _: &str, _: i64, _: &str) -> PortResult<Vec<OdooAttachment>> {
        offline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use odoo365_sync_core::files::RecordKey;

    #[test]
    fn the_profile_settings_become_the_file_engines_configuration() {
        let mut s = SyncSettings {
            root_folder: "Shared/Odoo".into(),
            document_models: vec!["sale.order".into(), "x_custom.model".into()],
            direction: Direction::MicrosoftToOdoo,
            odoo_delete_policy: OdooDeletePolicy::Keep,
            guard_max_changes: 7,
            guard_max_percent: 25,
            ..SyncSettings::default()
        };
        let cfg = file_config(&s, "p1", "/tmp/spool".into());
        assert_eq!(cfg.root_path, "Shared/Odoo");
        assert_eq!(cfg.models, s.document_models);
        assert_eq!(cfg.settings.direction, FileDirection::DriveToOdoo);
        assert_eq!(cfg.settings.on_drive_delete, DeletePolicy::Keep);
        assert_eq!(cfg.guards.mass_count, 7);
        assert!((cfg.guards.mass_fraction - 0.25).abs() < 1e-9);
        s.direction = Direction::OdooToMicrosoft;
        s.odoo_delete_policy = OdooDeletePolicy::Delete;
        let cfg = file_config(&s, "p1", "/tmp/spool".into());
        assert_eq!(cfg.settings.direction, FileDirection::OdooToDrive);
        assert_eq!(cfg.settings.on_drive_delete, DeletePolicy::Delete);
    }

    #[test]
    fn a_planned_file_reads_as_one_line() {
        let p = PlannedFile {
            item: "sale.order/7/quote.pdf".into(),
            rule: "new in Odoo".into(),
            ops: vec![
                FileOp::DriveCreate {
                    record: RecordKey::new("sale.order", 7),
                    name: "quote.pdf".into(),
                },
                FileOp::Link,
            ],
            conflict: None,
            size: 5,
        };
        assert_eq!(
            describe(&p),
            "sale.order/7/quote.pdf: upload \"quote.pdf\" to sale.order/7, link the matching pair"
        );
    }
}
