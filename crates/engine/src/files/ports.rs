//! The ports of documents sync: [`Drive`] (the user's OneDrive, `/me/drive`, or a
//! SharePoint document library, `/drives/{drive-id}`) and [`OdooAttachments`]
//! (`ir.attachment` of the chosen models). `crates/app` adapts `odoo365-graph` and
//! `odoo365-odoo` to them; tests use `testing::{FakeDrive, FakeOdooAttachments}`.
//!
//! **Content never sits whole in memory.** Every port method that moves bytes takes or
//! gives a *spool file* path: a local temporary file the engine owns (it creates the
//! path, the adapter writes or reads it, the engine deletes it). An adapter streams
//! between the service and the spool file in bounded chunks.
//!
//! **Hashes.** Both sides name content by hash: Odoo's `checksum` (SHA-1, hex, lower case)
//! and OneDrive's `file.hashes.quickXorHash` (base64 of 20 bytes, as Graph writes it). A
//! transfer reports the [`ContentInfo`] of the bytes it actually moved (both hashes,
//! computed while streaming, see [`super::content_info`]) so the engine can check them
//! against what the service claims; the engine also re-hashes every spool file itself
//! before it writes it anywhere. A mismatch is never written: see the engine docs.
//!
//! Errors are the calendar's [`PortError`], classified by what the engine does next
//! (same mapping table). In particular: a lost answer is `MaybeApplied` (the engine looks
//! before re-sending), a 412 is `PreconditionFailed`, an expired delta link or upload
//! session is `ResyncRequired` / `NotFound` as documented per method.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::PortResult;

/// What a transfer moved: its length and both services' hashes of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContentInfo {
    pub size: u64,
    /// SHA-1, lower-case hex (Odoo's `checksum` form).
    pub sha1: String,
    /// QuickXorHash, standard base64 with padding (Graph's `quickXorHash` form).
    pub quick_xor: String,
}

/// A driveItem as the engine needs it (a file or a folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveFile {
    pub id: String,
    /// Absent only on a deleted item (business drives omit it in delta).
    pub name: String,
    /// `parentReference.id`; absent for the drive root and on some deleted items.
    pub parent_id: Option<String>,
    pub folder: bool,
    /// True when delta reported the item with the `deleted` facet (only `id` is reliable).
    pub deleted: bool,
    pub size: u64,
    /// `file.hashes.quickXorHash`; `None` for folders and while Graph has no hash yet
    /// (co-authoring): the engine then treats the content as unknown and waits.
    pub quick_xor: Option<String>,
    /// `eTag`: changes with any change to the item; what `If-Match` is given.
    pub etag: Option<String>,
    /// `cTag`: changes with the content only; may be absent (business delta).
    pub ctag: Option<String>,
    pub modified: Option<DateTime<Utc>>,
    /// `webUrl`: what the chatter note links to (for a record's folder).
    pub web_url: Option<String>,
}

/// One complete `delta` round over the sync root (all pages followed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriveDelta {
    /// Items added, changed or deleted, in the order Graph sent them, **the last one of
    /// each id wins** (the feed may repeat an item). Only the sync root and items below
    /// it are reported, the root folder included (a full round lists every live item
    /// below the root). An item deleted, or moved out of the root, is reported with
    /// `deleted: true` (only its `id` is reliable); deletes outside the root may be
    /// reported too (the engine ignores unknown ids).
    pub items: Vec<DriveFile>,
    /// The `@odata.deltaLink` ending the round, persisted by the engine only after the
    /// round was applied.
    pub delta_link: String,
    /// True for a full enumeration (no link given, or after a 410).
    pub full: bool,
}

/// Where new content goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum UploadTarget {
    /// A new file `name` in the folder `parent_id`. A name clash is refused
    /// (`conflictBehavior=fail`, answered as `PortError::Rejected` mentioning
    /// `nameAlreadyExists`), never renamed or replaced silently: names are chosen by the
    /// engine, which checks the folder first.
    New { parent_id: String, name: String },
    /// New content for an existing item by id (survives renames and moves), under
    /// `If-Match` when `if_match` is given (412 → `PreconditionFailed`).
    Replace {
        item_id: String,
        if_match: Option<String>,
    },
}

/// A resumable upload session, persisted in the job between fragments so a crash
/// resumes at `next_offset` instead of restarting from zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSession {
    /// The pre-authenticated `uploadUrl` (not a secret of the user's account, but short
    /// lived; never logged whole).
    pub upload_url: String,
    /// The byte count announced for the whole file.
    pub size: u64,
    pub expiration: Option<DateTime<Utc>>,
}

/// The answer to one fragment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "upload", rename_all = "snake_case")]
pub enum UploadProgress {
    /// More bytes are expected, from this offset.
    Next { offset: u64 },
    /// The last fragment was received; the item as Graph created or updated it.
    Done { item: DriveFile },
}

/// A OneDrive or SharePoint library, addressed by item ids (never by path once known).
#[async_trait]
pub trait Drive: Send + Sync {
    /// The folder at `path` (segments separated by `/`, relative to the drive root, e.g.
    /// `Odoo Sync`), created with its missing parents. Idempotent: an existing folder is
    /// returned, never renamed (`conflictBehavior=fail`, then a look-up on 409).
    async fn ensure_root(&self, path: &str) -> PortResult<DriveFile>;

    /// The child folder `name` of `parent_id`, created if missing (idempotent like
    /// [`Drive::ensure_root`]). `name` is already a safe OneDrive name.
    async fn ensure_folder(&self, parent_id: &str, name: &str) -> PortResult<DriveFile>;

    /// One delta round scoped to the sync root `root_id`: from `delta_link` when given,
    /// else a full enumeration. A link the service refuses (410, `resyncRequired`)
    /// answers `PortError::ResyncRequired`; the engine then calls again without a link.
    async fn delta(&self, root_id: &str, delta_link: Option<&str>) -> PortResult<DriveDelta>;

    /// `GET` one item. `NotFound` when it is gone (or in the recycle bin).
    async fn get(&self, item_id: &str) -> PortResult<DriveFile>;

    /// The child `name` of `parent_id` (file or folder), if any: how the engine finds an
    /// upload whose answer was lost, and a name clash before it creates a file.
    async fn find_child(&self, parent_id: &str, name: &str) -> PortResult<Option<DriveFile>>;

    /// Uploads the whole spool file `source` in one `PUT …/content`. The engine calls it
    /// only below its simple-upload threshold (at most a few MiB).
    async fn upload_small(&self, target: &UploadTarget, source: &Path) -> PortResult<DriveFile>;

    /// Opens an upload session (`createUploadSession`) for `size` bytes. For
    /// [`UploadTarget::New`] the clash rule is `fail`.
    async fn create_upload_session(
        &self,
        target: &UploadTarget,
        size: u64,
    ) -> PortResult<UploadSession>;

    /// Where a session stands (`GET {uploadUrl}`): the first byte it still expects (the
    /// start of `nextExpectedRanges[0]`); `None` when it expects nothing more. `NotFound`
    /// when the session expired or is unknown: the engine opens a new one.
    async fn upload_session_offset(&self, session: &UploadSession) -> PortResult<Option<u64>>;

    /// Sends bytes `offset .. offset + len` of the spool file `source` (the engine keeps
    /// `len` a multiple of 320 KiB except for the last fragment, and under 60 MiB).
    /// A fragment already received (416) is not an error: the adapter answers with the
    /// session's current offset. `NotFound` when the session is gone.
    async fn upload_fragment(
        &self,
        session: &UploadSession,
        source: &Path,
        offset: u64,
        len: u64,
    ) -> PortResult<UploadProgress>;

    /// Abandons a session (`DELETE {uploadUrl}`); `NotFound` means already gone.
    async fn cancel_upload_session(&self, session: &UploadSession) -> PortResult<()>;

    /// Downloads the item's current content into the spool file `dest` (created or
    /// truncated), returning what was written. The adapter does not judge the hash: the
    /// engine compares the result with the item's `quick_xor`.
    async fn download(&self, item_id: &str, dest: &Path) -> PortResult<ContentInfo>;

    /// Renames and/or moves an item (`PATCH` with `name` / `parentReference.id`) under
    /// `If-Match` when given. Returns the item after the change. A name clash in the target
    /// folder is `Rejected` (`nameAlreadyExists`).
    async fn update(
        &self,
        item_id: &str,
        new_parent_id: Option<&str>,
        new_name: Option<&str>,
        if_match: Option<&str>,
    ) -> PortResult<DriveFile>;

    /// Deletes an item into the recycle bin (restorable by the user), under `If-Match` when
    /// given. `NotFound` means already gone.
    async fn delete(&self, item_id: &str, if_match: Option<&str>) -> PortResult<()>;
}

/// An `ir.attachment` of type `binary` with `res_field = False`, linked to a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdooAttachment {
    pub id: i64,
    pub res_model: String,
    pub res_id: i64,
    /// The name as the user sees it in Odoo (the original, never the OneDrive-safe form).
    pub name: String,
    /// `file_size`.
    pub size: u64,
    /// `checksum`: SHA-1 hex of the stored content (after Odoo's image resizing).
    pub checksum: Option<String>,
    pub mimetype: Option<String>,
    pub create_date: Option<DateTime<Utc>>,
    pub write_date: Option<DateTime<Utc>>,
}

/// The attachments of Odoo records, through the external API (no server module).
#[async_trait]
pub trait OdooAttachments: Send + Sync {
    /// Binary attachments (`type = binary`, `res_field = False`, `res_id != 0`) of records
    /// of `models` with `write_date >= since - overlap` **or** `create_date >= since -
    /// overlap` (all of them when `since` is `None`), ordered by `write_date, id`. URL
    /// attachments and field attachments never appear.
    async fn changed_since(
        &self,
        models: &[String],
        since: Option<DateTime<Utc>>,
        overlap: chrono::Duration,
    ) -> PortResult<Vec<OdooAttachment>>;

    /// Which of `ids` still exist: the id-set check that finds hard deletes
    /// (`ir.attachment` has no `active`).
    async fn existing_ids(&self, ids: &[i64]) -> PortResult<Vec<i64>>;

    /// Reads attachments; ids that no longer exist (or are no longer binary document
    /// attachments) are absent.
    async fn read(&self, ids: &[i64]) -> PortResult<Vec<OdooAttachment>>;

    /// Streams an attachment's content into the spool file `dest` (created or
    /// truncated), returning what was written; the engine compares `sha1` with the
    /// attachment's `checksum`. `NotFound` when it is gone.
    async fn download(&self, id: i64, dest: &Path) -> PortResult<ContentInfo>;

    /// Creates an attachment named `name` on `res_model`/`res_id` with the spool file's
    /// content, in one call (Odoo never holds a part of it), and re-reads it: the result
    /// carries the `checksum`, `file_size` and `mimetype` Odoo stored (an image may be
    /// resized). A lost answer is `MaybeApplied`: see [`OdooAttachments::find`].
    async fn create(
        &self,
        res_model: &str,
        res_id: i64,
        name: &str,
        source: &Path,
    ) -> PortResult<OdooAttachment>;

    /// Replaces an attachment's content with the spool file's (one `write` of `datas`)
    /// and re-reads it. `NotFound` when it is gone.
    async fn replace_content(&self, id: i64, source: &Path) -> PortResult<OdooAttachment>;

    /// Renames an attachment (`write name`) and re-reads it.
    async fn rename(&self, id: i64, name: &str) -> PortResult<OdooAttachment>;

    /// Re-links an attachment to another record (`write res_model, res_id`; needs write
    /// access on the target) and re-reads it.
    async fn move_to(&self, id: i64, res_model: &str, res_id: i64) -> PortResult<OdooAttachment>;

    /// Deletes an attachment (`unlink`; Odoo keeps no trash, so the engine journals the
    /// content's identity first). `NotFound` means already gone.
    async fn delete(&self, id: i64) -> PortResult<()>;

    /// Which of `ids` are records of `model` the user can read (the folders that match a
    /// readable record; others are reported, never guessed).
    async fn readable_records(&self, model: &str, ids: &[i64]) -> PortResult<Vec<i64>>;

    /// Posts an internal note (`message_post`, `mail.mt_note`, `body_is_html`) in the
    /// record's chatter; no mail to followers.
    async fn message_post(&self, res_model: &str, res_id: i64, body_html: &str) -> PortResult<()>;

    /// After a *maybe applied* create: the attachments named `name` on the record, to find
    /// the one a lost answer created (the engine matches them by checksum and by not
    /// being linked yet).
    async fn find(
        &self,
        res_model: &str,
        res_id: i64,
        name: &str,
    ) -> PortResult<Vec<OdooAttachment>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    // The app holds the ports as trait objects; this fails to compile if they stop being
    // object safe or `Send + Sync`.
    #[allow(dead_code)]
    fn ports_are_object_safe(
        d: std::sync::Arc<dyn Drive>,
        o: std::sync::Arc<dyn OdooAttachments>,
    ) -> impl Send + Sync {
        (d, o)
    }

    #[test]
    fn plain_types_round_trip_through_json() {
        let f = DriveFile {
            id: "01A".into(),
            name: "a.pdf".into(),
            parent_id: Some("01P".into()),
            folder: false,
            deleted: false,
            size: 3,
            quick_xor: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()),
            etag: Some("\"e,1\"".into()),
            ctag: None,
            modified: None,
            web_url: None,
        };
        let p = UploadProgress::Done { item: f.clone() };
        let back: UploadProgress =
            serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let t = UploadTarget::Replace {
            item_id: f.id,
            if_match: None,
        };
        let back: UploadTarget = serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }
}
