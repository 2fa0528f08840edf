//! The real clients behind the documents ports: [`GraphDrive`] (Graph → `Drive`, the
//! user's OneDrive or a SharePoint library) and [`OdooFiles`] (Odoo → `OdooAttachments`).
//! Errors map through the same table as the calendar (`ports::graph_port_error`,
//! `ports::odoo_port_error`).
//!
//! Memory stays bounded whatever the file size: content moves between the services and
//! the engine's spool files in chunks (downloads streamed into the file while hashing;
//! upload-session fragments read from the file one at a time; Odoo uploads stream the
//! file's base64 into the request body). Only `upload_small` (below the engine's simple
//! upload threshold, a few MiB) and Odoo downloads up to `OdooFiles::stream_above` read a
//! whole file.
//!
//! The adapters report what they moved ([`ContentInfo`], hashed while streaming) and
//! never judge it: the engine compares hashes, retries and reports.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};

use odoo365_engine::files::{
    ContentHasher, ContentInfo, Drive, DriveDelta, DriveFile, OdooAttachment, OdooAttachments,
    UploadProgress, UploadSession, UploadTarget,
};
use odoo365_engine::ports::{PortError, PortResult};
use odoo365_graph::models::{ConflictBehavior, DriveItem, UploadSessionInfo};
use odoo365_graph::{DeltaLink, GraphClient, GraphError, QuickXorHashText};
use odoo365_odoo::{
    Attachment, AttachmentFile, MessagePost, OdooClient, OdooError, Record as _, SearchOptions,
    WriteOrigin,
};

use crate::ports::{graph_port_error, odoo_port_error};

/// How many parent look-ups one delta round may spend placing items whose parents the
/// round did not show (Graph normally reports a changed item's ancestors with it).
const PARENT_LOOKUPS_MAX: usize = 200;

fn io_error(what: &str, path: &Path, e: std::io::Error) -> PortError {
    PortError::Rejected {
        message: format!("{what} {}: {e}", path.display()),
    }
}

/// A `quickXorHash` in Graph's base64 form (personal drives have sent hex).
fn normalise_quick_xor(text: &str) -> String {
    use base64::Engine as _;
    match text.parse::<QuickXorHashText>() {
        Ok(h) => base64::engine::general_purpose::STANDARD.encode(h.0),
        Err(_) => text.to_string(),
    }
}

/// A driveItem as the engine sees it.
pub fn drive_file(item: &DriveItem) -> DriveFile {
    DriveFile {
        id: item.id.clone(),
        name: item.name.clone().unwrap_or_default(),
        parent_id: item.parent_reference.as_ref().and_then(|p| p.id.clone()),
        folder: item.is_folder(),
        deleted: item.is_deleted(),
        size: item.size.unwrap_or(0).max(0) as u64,
        quick_xor: item
            .file
            .as_ref()
            .and_then(|f| f.hashes.as_ref())
            .and_then(|h| h.quick_xor_hash.as_deref())
            .map(normalise_quick_xor),
        etag: item.e_tag.clone(),
        ctag: item.c_tag.clone(),
        modified: item.last_modified_date_time,
        web_url: item.web_url.clone(),
    }
}

/// An `AsyncWrite` that hashes (SHA-1 and QuickXorHash) what it passes on.
struct HashingWriter<W> {
    inner: W,
    hasher: ContentHasher,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for HashingWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.hasher.update(&buf[..n]);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn spool_writer(dest: &Path) -> PortResult<HashingWriter<tokio::fs::File>> {
    let file = tokio::fs::File::create(dest)
        .await
        .map_err(|e| io_error("cannot create the spool file", dest, e))?;
    Ok(HashingWriter {
        inner: file,
        hasher: ContentHasher::new(),
    })
}

async fn finish_spool(
    mut w: HashingWriter<tokio::fs::File>,
    dest: &Path,
) -> PortResult<ContentInfo> {
    w.flush()
        .await
        .map_err(|e| io_error("cannot write the spool file", dest, e))?;
    w.inner
        .sync_all()
        .await
        .map_err(|e| io_error("cannot sync the spool file", dest, e))?;
    Ok(w.hasher.finish())
}

// ---------------------------------------------------------------------------------------
// OneDrive / SharePoint
// ---------------------------------------------------------------------------------------

/// The user's OneDrive, or a SharePoint library (`GraphClient::with_drive`), through the
/// Graph client.
#[derive(Debug, Clone)]
pub struct GraphDrive {
    client: GraphClient,
}

impl GraphDrive {
    /// `drive_id`: `None` for the user's OneDrive (`/me/drive`), `Some(id)` for a library
    /// (`/drives/{id}`).
    pub fn new(client: &GraphClient, drive_id: Option<&str>) -> Self {
        GraphDrive {
            client: client.with_drive(drive_id),
        }
    }

    /// Keeps the items at or below `root_id` (and every deleted item: delta omits their
    /// parent on business drives, and the engine ignores ids it does not know).
    /// Business drives offer delta on the root only, so the round covers the whole drive
    /// and is narrowed here by following `parentReference.id` (delta never sends
    /// `parentReference.path`) [DID]; parents the round did not show are looked up.
    async fn scope_to_root(
        &self,
        root_id: &str,
        items: Vec<DriveItem>,
    ) -> PortResult<Vec<DriveFile>> {
        let files: Vec<DriveFile> = items.iter().map(drive_file).collect();
        // The latest parent of every id in the round (the last occurrence wins).
        let mut parent_of: HashMap<&str, Option<&str>> = HashMap::new();
        for f in &files {
            parent_of.insert(f.id.as_str(), f.parent_id.as_deref());
        }
        let mut verdict: HashMap<String, bool> = HashMap::new();
        verdict.insert(root_id.to_string(), true);
        let mut lookups = 0usize;
        let mut kept = Vec::with_capacity(files.len());
        for f in &files {
            if f.deleted {
                kept.push(f.clone());
                continue;
            }
            // Walk up through the round first, then through Graph, until a known answer.
            let mut chain: Vec<String> = Vec::new();
            let mut cur: Option<String> = Some(f.id.clone());
            let under = loop {
                let Some(id) = cur.take() else { break false };
                if let Some(v) = verdict.get(&id) {
                    break *v;
                }
                if chain.contains(&id) {
                    break false; // a cycle: never under the root
                }
                chain.push(id.clone());
                cur = match parent_of.get(id.as_str()) {
                    Some(p) => p.map(str::to_string),
                    None => {
                        if lookups >= PARENT_LOOKUPS_MAX {
                            return Err(PortError::Rejected {
                                message: format!(
                                    "placing a delta round needed more than {PARENT_LOOKUPS_MAX} parent look-ups"
                                ),
                            });
                        }
                        lookups += 1;
                        match self.client.get_item(&id).await {
                            Ok(item) => item.parent_reference.and_then(|p| p.id),
                            Err(GraphError::NotFound { .. }) => None,
                            Err(e) => return Err(graph_port_error(e)),
                        }
                    }
                };
            };
            for id in chain {
                verdict.insert(id, under);
            }
            if under {
                kept.push(f.clone());
            }
        }
        Ok(kept)
    }

    fn target(target: &UploadTarget) -> odoo365_graph::UploadTarget {
        match target {
            UploadTarget::New { parent_id, name } => {
                odoo365_graph::UploadTarget::new_file(parent_id, name, ConflictBehavior::Fail)
            }
            UploadTarget::Replace { item_id, if_match } => {
                odoo365_graph::UploadTarget::replace(item_id, if_match.clone())
            }
        }
    }

    fn graph_session(session: &UploadSession) -> odoo365_graph::UploadSession {
        odoo365_graph::UploadSession {
            upload_url: session.upload_url.clone(),
            size: session.size,
            expiration: session.expiration,
        }
    }
}

/// The start of the first range a session still expects (`"26-"`, `"12-55"`).
fn first_expected(info: &UploadSessionInfo) -> PortResult<Option<u64>> {
    let Some(first) = info.next_expected_ranges.as_ref().and_then(|r| r.first()) else {
        return Ok(None);
    };
    first
        .split('-')
        .next()
        .unwrap_or("")
        .trim()
        .parse::<u64>()
        .map(Some)
        .map_err(|_| PortError::Rejected {
            message: format!("Graph sent a byte range that is not one: {first:?}"),
        })
}

fn decode_json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> PortResult<T> {
    serde_json::from_slice(body).map_err(|e| PortError::Rejected {
        message: format!("unexpected answer to {what}: {e}"),
    })
}

#[async_trait]
impl Drive for GraphDrive {
    async fn ensure_root(&self, path: &str) -> PortResult<DriveFile> {
        self.client
            .ensure_folder_path(path)
            .await
            .map(|i| drive_file(&i))
            .map_err(graph_port_error)
    }

    async fn ensure_folder(&self, parent_id: &str, name: &str) -> PortResult<DriveFile> {
        self.client
            .ensure_folder(parent_id, name)
            .await
            .map(|i| drive_file(&i))
            .map_err(graph_port_error)
    }

    async fn delta(&self, root_id: &str, delta_link: Option<&str>) -> PortResult<DriveDelta> {
        let mut round = match delta_link {
            Some(link) => self
                .client
                .drive_delta_resume(&DeltaLink::from_persisted(link)),
            None => self.client.drive_delta(),
        };
        let mut items = Vec::new();
        while let Some(page) = round.next_page().await.map_err(graph_port_error)? {
            items.extend(page);
        }
        let link = round.finish().map_err(graph_port_error)?;
        Ok(DriveDelta {
            items: self.scope_to_root(root_id, items).await?,
            delta_link: link.as_str().to_string(),
            full: delta_link.is_none(),
        })
    }

    async fn get(&self, item_id: &str) -> PortResult<DriveFile> {
        self.client
            .get_item(item_id)
            .await
            .map(|i| drive_file(&i))
            .map_err(graph_port_error)
    }

    async fn find_child(&self, parent_id: &str, name: &str) -> PortResult<Option<DriveFile>> {
        self.client
            .get_child(parent_id, name)
            .await
            .map(|o| o.map(|i| drive_file(&i)))
            .map_err(graph_port_error)
    }

    async fn upload_small(&self, target: &UploadTarget, source: &Path) -> PortResult<DriveFile> {
        if let UploadTarget::New { name, .. } = target {
            odoo365_graph::names::check_name(name).map_err(graph_port_error)?;
        }
        let content = tokio::fs::read(source)
            .await
            .map_err(|e| io_error("cannot read the spool file", source, e))?;
        // Sent as is, not through `GraphClient::upload`: the engine judges the hash.
        let req = self
            .client
            .requests()
            .upload_content(&Self::target(target), content.into());
        let resp = self.client.send(&req).await.map_err(graph_port_error)?;
        let item: DriveItem = decode_json("an upload", &resp.body)?;
        Ok(drive_file(&item))
    }

    async fn create_upload_session(
        &self,
        target: &UploadTarget,
        size: u64,
    ) -> PortResult<UploadSession> {
        if let UploadTarget::New { name, .. } = target {
            odoo365_graph::names::check_name(name).map_err(graph_port_error)?;
        }
        let s = self
            .client
            .create_upload_session(&Self::target(target), size)
            .await
            .map_err(graph_port_error)?;
        Ok(UploadSession {
            upload_url: s.upload_url,
            size: s.size,
            expiration: s.expiration,
        })
    }

    async fn upload_session_offset(&self, session: &UploadSession) -> PortResult<Option<u64>> {
        match self.client.upload_session_status(&session.upload_url).await {
            Ok(info) => first_expected(&info),
            Err(GraphError::UploadSessionExpired) => Err(PortError::NotFound),
            Err(e) => Err(graph_port_error(e)),
        }
    }

    async fn upload_fragment(
        &self,
        session: &UploadSession,
        source: &Path,
        offset: u64,
        len: u64,
    ) -> PortResult<UploadProgress> {
        if len == 0 || offset + len > session.size {
            return Err(PortError::Rejected {
                message: format!(
                    "fragment {offset}+{len} does not fit a {}-byte upload",
                    session.size
                ),
            });
        }
        let mut file = tokio::fs::File::open(source)
            .await
            .map_err(|e| io_error("cannot open the spool file", source, e))?;
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| io_error("cannot seek in the spool file", source, e))?;
        let mut buf = vec![0u8; len as usize];
        file.read_exact(&mut buf)
            .await
            .map_err(|e| io_error("cannot read the spool file", source, e))?;
        let req = self
            .client
            .requests()
            .upload_fragment(&session.upload_url, offset, buf.into(), session.size)
            .map_err(graph_port_error)?;
        match self.client.send(&req).await {
            Ok(resp) if resp.status.as_u16() == 202 => {
                let info: UploadSessionInfo = decode_json("an upload fragment", &resp.body)?;
                Ok(UploadProgress::Next {
                    offset: first_expected(&info)?.unwrap_or(offset + len),
                })
            }
            Ok(resp) => {
                let item: DriveItem = decode_json("the last upload fragment", &resp.body)?;
                Ok(UploadProgress::Done {
                    item: drive_file(&item),
                })
            }
            Err(GraphError::NotFound { .. }) => Err(PortError::NotFound),
            // Already received (a resend after a lost answer): say where the session is.
            Err(GraphError::Rejected { status: 416, .. }) => {
                match self.upload_session_offset(session).await? {
                    Some(next) => Ok(UploadProgress::Next { offset: next }),
                    None => Err(PortError::Rejected {
                        message: "the upload session expects nothing more but did not finish"
                            .into(),
                    }),
                }
            }
            Err(e) => Err(graph_port_error(e)),
        }
    }

    async fn cancel_upload_session(&self, session: &UploadSession) -> PortResult<()> {
        match self
            .client
            .cancel_upload_session(&Self::graph_session(session).upload_url)
            .await
        {
            Ok(()) => Ok(()),
            Err(GraphError::NotFound { .. } | GraphError::UploadSessionExpired) => {
                Err(PortError::NotFound)
            }
            Err(e) => Err(graph_port_error(e)),
        }
    }

    async fn download(&self, item_id: &str, dest: &Path) -> PortResult<ContentInfo> {
        let mut w = spool_writer(dest).await?;
        self.client
            .download_unchecked(item_id, &mut w)
            .await
            .map_err(graph_port_error)?;
        finish_spool(w, dest).await
    }

    async fn update(
        &self,
        item_id: &str,
        new_parent_id: Option<&str>,
        new_name: Option<&str>,
        if_match: Option<&str>,
    ) -> PortResult<DriveFile> {
        let mut patch = Map::new();
        if let Some(name) = new_name {
            odoo365_graph::names::check_name(name).map_err(graph_port_error)?;
            patch.insert("name".into(), json!(name));
        }
        if let Some(parent) = new_parent_id {
            patch.insert("parentReference".into(), json!({ "id": parent }));
        }
        // A clash must fail, never replace or rename someone's file [MOVE].
        patch.insert("@microsoft.graph.conflictBehavior".into(), json!("fail"));
        self.client
            .update_item(item_id, &Value::Object(patch), if_match)
            .await
            .map(|i| drive_file(&i))
            .map_err(graph_port_error)
    }

    async fn delete(&self, item_id: &str, if_match: Option<&str>) -> PortResult<()> {
        self.client
            .delete_item(item_id, if_match)
            .await
            .map_err(graph_port_error)
    }
}

// ---------------------------------------------------------------------------------------
// Odoo attachments
// ---------------------------------------------------------------------------------------

/// Record attachments through the Odoo client.
#[derive(Debug, Clone)]
pub struct OdooFiles {
    client: Arc<OdooClient>,
    /// Attachments larger than this download by streaming `/web/content` (which puts a
    /// persistent `access_token` on the attachment, odoo.md §4.3); smaller ones through
    /// `datas`, which holds the file (and its base64) in memory once.
    pub stream_above: u64,
}

/// Default [`OdooFiles::stream_above`]: 8 MiB.
pub const ODOO_STREAM_ABOVE: u64 = 8 * 1024 * 1024;

impl OdooFiles {
    pub fn new(client: Arc<OdooClient>) -> Self {
        OdooFiles {
            client,
            stream_above: ODOO_STREAM_ABOVE,
        }
    }

    async fn reread(&self, id: i64) -> PortResult<OdooAttachment> {
        let rows: Vec<Attachment> = self
            .client
            .read_existing(&[id])
            .await
            .map_err(odoo_port_error)?;
        rows.iter().find_map(document).ok_or(PortError::NotFound)
    }

    async fn write(&self, id: i64, vals: Value) -> PortResult<OdooAttachment> {
        let Value::Object(vals) = vals else {
            return Err(PortError::Rejected {
                message: "attachment values must be an object".into(),
            });
        };
        self.client
            .write(Attachment::MODEL, &[id], vals, WriteOrigin::Microsoft)
            .await
            .map_err(odoo_port_error)?;
        self.reread(id).await
    }
}

/// A binary document attachment (not a URL, not a field's storage, linked to a record).
fn document(a: &Attachment) -> Option<OdooAttachment> {
    if a.kind.as_deref().unwrap_or("binary") != "binary" || a.res_field.is_some() {
        return None;
    }
    let res_model = a.res_model.clone()?;
    let res_id = a.res_id.filter(|id| *id != 0)?;
    Some(OdooAttachment {
        id: a.id,
        res_model,
        res_id,
        name: a.name.clone().unwrap_or_default(),
        size: a.file_size,
        checksum: a.checksum.as_ref().map(|c| c.to_ascii_lowercase()),
        mimetype: a.mimetype.clone(),
        create_date: a.create_date,
        write_date: a.write_date,
    })
}

fn odoo_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[async_trait]
impl OdooAttachments for OdooFiles {
    async fn changed_since(
        &self,
        models: &[String],
        since: Option<DateTime<Utc>>,
        overlap: chrono::Duration,
    ) -> PortResult<Vec<OdooAttachment>> {
        if models.is_empty() {
            return Ok(Vec::new());
        }
        let mut domain = vec![
            json!(["res_model", "in", models]),
            json!(["res_id", "!=", 0]),
            json!(["res_field", "=", false]),
            json!(["type", "=", "binary"]),
        ];
        if let Some(since) = since {
            let from = odoo_datetime(since - overlap);
            domain.push(json!("|"));
            domain.push(json!(["write_date", ">=", from]));
            domain.push(json!(["create_date", ">=", from]));
        }
        let rows: Vec<Attachment> = self
            .client
            .search_records_all(Value::Array(domain), "write_date asc, id asc", None)
            .await
            .map_err(odoo_port_error)?;
        Ok(rows.iter().filter_map(document).collect())
    }

    async fn existing_ids(&self, ids: &[i64]) -> PortResult<Vec<i64>> {
        self.client
            .existing_ids(Attachment::MODEL, ids)
            .await
            .map_err(odoo_port_error)
    }

    async fn read(&self, ids: &[i64]) -> PortResult<Vec<OdooAttachment>> {
        let rows: Vec<Attachment> = self
            .client
            .read_existing(ids)
            .await
            .map_err(odoo_port_error)?;
        Ok(rows.iter().filter_map(document).collect())
    }

    async fn download(&self, id: i64, dest: &Path) -> PortResult<ContentInfo> {
        let meta = self.reread(id).await?;
        if meta.size > self.stream_above {
            let mut w = spool_writer(dest).await?;
            self.client
                .attachment_stream_unchecked(id, &mut w)
                .await
                .map_err(odoo_port_error)?;
            return finish_spool(w, dest).await;
        }
        let (bytes, _checksum) = self
            .client
            .attachment_content_unchecked(id)
            .await
            .map_err(odoo_port_error)?;
        let mut w = spool_writer(dest).await?;
        w.write_all(&bytes)
            .await
            .map_err(|e| io_error("cannot write the spool file", dest, e))?;
        finish_spool(w, dest).await
    }

    async fn create(
        &self,
        res_model: &str,
        res_id: i64,
        name: &str,
        source: &Path,
    ) -> PortResult<OdooAttachment> {
        let att = self
            .client
            .attachment_upload_file(
                &AttachmentFile {
                    name: name.to_string(),
                    res_model: res_model.to_string(),
                    res_id,
                    mimetype: None,
                    path: source.to_path_buf(),
                },
                WriteOrigin::Microsoft,
            )
            .await
            .map_err(odoo_port_error)?;
        document(&att).ok_or_else(|| PortError::Rejected {
            message: format!("attachment {} was not stored as a document", att.id),
        })
    }

    async fn replace_content(&self, id: i64, source: &Path) -> PortResult<OdooAttachment> {
        let att = self
            .client
            .attachment_replace_file(id, source, WriteOrigin::Microsoft)
            .await
            .map_err(odoo_port_error)?;
        document(&att).ok_or(PortError::NotFound)
    }

    async fn rename(&self, id: i64, name: &str) -> PortResult<OdooAttachment> {
        self.write(id, json!({ "name": name })).await
    }

    async fn move_to(&self, id: i64, res_model: &str, res_id: i64) -> PortResult<OdooAttachment> {
        self.write(id, json!({ "res_model": res_model, "res_id": res_id }))
            .await
    }

    async fn delete(&self, id: i64) -> PortResult<()> {
        // `unlink` of an id that is gone succeeds on an empty recordset in some versions:
        // look first so "already gone" is always `NotFound`.
        if self
            .client
            .existing_ids(Attachment::MODEL, &[id])
            .await
            .map_err(odoo_port_error)?
            .is_empty()
        {
            return Err(PortError::NotFound);
        }
        self.client
            .unlink(Attachment::MODEL, &[id], WriteOrigin::Microsoft)
            .await
            .map_err(odoo_port_error)
    }

    async fn readable_records(&self, model: &str, ids: &[i64]) -> PortResult<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // `search` applies the model's access rights and record rules: what it returns is
        // what the user can read (archived records included). No read right on the model
        // at all is an AccessError: then nothing is readable.
        let opts = SearchOptions {
            order: Some("id asc".into()),
            limit: None,
            offset: 0,
            active_test: Some(false),
        };
        match self
            .client
            .search(model, json!([["id", "in", ids]]), &opts)
            .await
        {
            Ok(found) => {
                let wanted: HashSet<i64> = ids.iter().copied().collect();
                Ok(found.into_iter().filter(|i| wanted.contains(i)).collect())
            }
            Err(OdooError::Access(_)) => Ok(Vec::new()),
            Err(e) => Err(odoo_port_error(e)),
        }
    }

    async fn message_post(&self, res_model: &str, res_id: i64, body_html: &str) -> PortResult<()> {
        self.client
            .message_post(
                res_model,
                res_id,
                &MessagePost {
                    body_html: body_html.to_string(),
                    internal_note: true,
                },
                WriteOrigin::App,
            )
            .await
            .map(drop)
            .map_err(odoo_port_error)
    }

    async fn find(
        &self,
        res_model: &str,
        res_id: i64,
        name: &str,
    ) -> PortResult<Vec<OdooAttachment>> {
        let rows: Vec<Attachment> = self
            .client
            .search_records_all(
                json!([
                    ["res_model", "=", res_model],
                    ["res_id", "=", res_id],
                    ["name", "=", name],
                    ["type", "=", "binary"],
                ]),
                "id asc",
                None,
            )
            .await
            .map_err(odoo_port_error)?;
        Ok(rows.iter().filter_map(document).collect())
    }
}
