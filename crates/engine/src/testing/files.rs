//! Fakes of the documents-sync ports: [`FakeDrive`] (a OneDrive with folders, delta links
//! that can expire, upload sessions, a recycle bin, QuickXorHash on every file) and
//! [`FakeOdooAttachments`] (binary attachments with SHA-1 `checksum`, `write_date` ticking
//! one second per write, records that can be unreadable, chatter notes, optional image
//! "resizing"). Both inject faults like the calendar fakes (an error; a write applied
//! whose answer is lost) plus corrupted transfers, and count the writes the engine makes
//! apart from the edits a test makes as the user.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::files::content_info_of;
use crate::files::ports::{
    ContentInfo, Drive, DriveDelta, DriveFile, OdooAttachment, OdooAttachments, UploadProgress,
    UploadSession, UploadTarget,
};
use crate::ports::{PortError, PortResult};

#[derive(Debug, Clone)]
struct Fault {
    method: &'static str,
    error: PortError,
    applied: bool,
}

fn take(faults: &mut VecDeque<Fault>, method: &str) -> Option<Fault> {
    let i = faults.iter().position(|f| f.method == method)?;
    faults.remove(i)
}

fn io_err(e: std::io::Error) -> PortError {
    PortError::NotSent {
        message: format!("spool file: {e}"),
    }
}

fn write_spool(dest: &Path, bytes: &[u8]) -> PortResult<ContentInfo> {
    std::fs::write(dest, bytes).map_err(io_err)?;
    Ok(content_info_of(bytes))
}

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
        .single()
        .unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// ================================================================== OneDrive

#[derive(Debug, Clone)]
struct Item {
    name: String,
    parent: Option<String>,
    folder: bool,
    content: Vec<u8>,
    version: u64,
    in_bin: bool,
    modified: u64,
}

#[derive(Debug, Clone)]
struct Session {
    target: UploadTarget,
    size: u64,
    data: Vec<u8>,
}

#[derive(Debug, Default)]
struct DriveState {
    items: BTreeMap<String, Item>,
    next: u64,
    seq: u64,
    changed: BTreeMap<String, u64>,
    epoch: u64,
    sessions: BTreeMap<String, Session>,
    faults: VecDeque<Fault>,
    corrupt_downloads: usize,
    corrupt_uploads: usize,
    writes: BTreeMap<&'static str, usize>,
    calls: usize,
    bytes_received: u64,
    hide_hashes: BTreeSet<String>,
}

/// A fake OneDrive (see the module docs). Clones share the drive.
#[derive(Debug, Clone)]
pub struct FakeDrive {
    state: Arc<Mutex<DriveState>>,
}

impl Default for FakeDrive {
    fn default() -> Self {
        Self::new()
    }
}

impl DriveState {
    fn touch(&mut self, id: &str) {
        self.seq += 1;
        self.changed.insert(id.to_owned(), self.seq);
        if let Some(i) = self.items.get_mut(id) {
            i.version += 1;
            i.modified = self.seq;
        }
    }

    fn add(&mut self, parent: &str, name: &str, folder: bool, content: Vec<u8>) -> String {
        self.next += 1;
        let id = format!("01ITEM{:04}", self.next);
        self.items.insert(
            id.clone(),
            Item {
                name: name.to_owned(),
                parent: Some(parent.to_owned()),
                folder,
                content,
                version: 0,
                in_bin: false,
                modified: 0,
            },
        );
        self.touch(&id);
        id
    }

    fn bin(&mut self, id: &str) {
        let children: Vec<String> = self
            .items
            .iter()
            .filter(|(_, i)| !i.in_bin && i.parent.as_deref() == Some(id))
            .map(|(c, _)| c.clone())
            .collect();
        for c in children {
            self.bin(&c);
        }
        if let Some(i) = self.items.get_mut(id) {
            i.in_bin = true;
        }
        self.touch(id);
    }

    fn live(&self, id: &str) -> Option<&Item> {
        self.items.get(id).filter(|i| !i.in_bin)
    }

    fn child(&self, parent: &str, name: &str) -> Option<String> {
        self.items
            .iter()
            .find(|(_, i)| {
                !i.in_bin
                    && i.parent.as_deref() == Some(parent)
                    && i.name.to_lowercase() == name.to_lowercase()
            })
            .map(|(id, _)| id.clone())
    }

    fn path(&self, id: &str) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(id.to_owned());
        while let Some(c) = cur {
            if c == "root" {
                break;
            }
            let Some(i) = self.items.get(&c) else { break };
            segs.push(i.name.clone());
            cur = i.parent.clone();
        }
        segs.reverse();
        segs.join("/")
    }

    fn under(&self, id: &str, root: &str) -> bool {
        let mut cur = Some(id.to_owned());
        let mut hops = 0;
        while let Some(c) = cur {
            if c == root {
                return true;
            }
            hops += 1;
            if hops > 64 {
                return false;
            }
            cur = self.items.get(&c).and_then(|i| i.parent.clone());
        }
        false
    }

    fn view(&self, id: &str) -> Option<DriveFile> {
        let i = self.items.get(id)?;
        let hash = (!i.folder && !self.hide_hashes.contains(id))
            .then(|| content_info_of(&i.content).quick_xor);
        Some(DriveFile {
            id: id.to_owned(),
            name: i.name.clone(),
            parent_id: i.parent.clone(),
            folder: i.folder,
            deleted: i.in_bin,
            size: i.content.len() as u64,
            quick_xor: hash,
            etag: Some(format!("\"{id},{}\"", i.version)),
            ctag: None,
            modified: Some(epoch() + Duration::seconds(i.modified as i64)),
            web_url: Some(format!(
                "https://contoso-my.sharepoint.com/personal/me/Documents/{}",
                self.path(id).replace(' ', "%20")
            )),
        })
    }

    fn wrote(&mut self, method: &'static str) {
        *self.writes.entry(method).or_default() += 1;
    }

    fn check_etag(&self, id: &str, if_match: Option<&str>) -> PortResult<()> {
        let i = self.live(id).ok_or(PortError::NotFound)?;
        match if_match {
            Some(e) if e != format!("\"{id},{}\"", i.version) => Err(PortError::PreconditionFailed),
            _ => Ok(()),
        }
    }

    /// Writes content to a new or existing item (a simple upload or a finished session).
    fn commit(&mut self, target: &UploadTarget, mut data: Vec<u8>) -> PortResult<String> {
        if self.corrupt_uploads > 0 {
            self.corrupt_uploads -= 1;
            // The service stored something else than was sent (a hash mismatch).
            data.push(0xFF);
        }
        match target {
            UploadTarget::New { parent_id, name } => {
                if self.live(parent_id).is_none() && parent_id != "root" {
                    return Err(PortError::NotFound);
                }
                if self.child(parent_id, name).is_some() {
                    return Err(PortError::Rejected {
                        message: format!("nameAlreadyExists: {name}"),
                    });
                }
                Ok(self.add(parent_id, name, false, data))
            }
            UploadTarget::Replace { item_id, if_match } => {
                self.check_etag(item_id, if_match.as_deref())?;
                if let Some(i) = self.items.get_mut(item_id) {
                    i.content = data;
                }
                self.touch(item_id);
                Ok(item_id.clone())
            }
        }
    }
}

impl FakeDrive {
    pub fn new() -> FakeDrive {
        FakeDrive {
            state: Arc::new(Mutex::new(DriveState::default())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, DriveState> {
        lock(&self.state)
    }

    /// Takes the fault for `method`, counting the call. An unapplied fault is returned as
    /// the error to give *instead of* the call; an applied one after it.
    fn begin(&self, method: &'static str) -> (MutexGuard<'_, DriveState>, Option<Fault>) {
        let mut s = self.lock();
        s.calls += 1;
        let f = take(&mut s.faults, method);
        (s, f)
    }

    // ---------------------------------------------------------------- the user's side

    /// The item at `path` below the drive root (`Odoo Sync/sale.order/42/a.pdf`).
    pub fn find_path(&self, path: &str) -> Option<String> {
        let s = self.lock();
        let mut cur = "root".to_owned();
        for seg in path.split('/').filter(|x| !x.is_empty()) {
            cur = s.child(&cur, seg)?;
        }
        Some(cur)
    }

    /// The user makes a folder (or finds it).
    pub fn user_mkdir(&self, parent_id: &str, name: &str) -> String {
        let mut s = self.lock();
        match s.child(parent_id, name) {
            Some(id) => id,
            None => s.add(parent_id, name, true, Vec::new()),
        }
    }

    /// The user makes the folders of `path` below the root and returns the last.
    pub fn user_mkdirs(&self, path: &str) -> String {
        let mut cur = "root".to_owned();
        for seg in path.split('/').filter(|x| !x.is_empty()) {
            cur = self.user_mkdir(&cur, seg);
        }
        cur
    }

    /// The user drops a file into a folder.
    pub fn user_upload(&self, parent_id: &str, name: &str, bytes: &[u8]) -> String {
        let mut s = self.lock();
        s.add(parent_id, name, false, bytes.to_vec())
    }

    pub fn user_edit(&self, id: &str, bytes: &[u8]) {
        let mut s = self.lock();
        if let Some(i) = s.items.get_mut(id) {
            i.content = bytes.to_vec();
        }
        s.touch(id);
    }

    pub fn user_rename(&self, id: &str, name: &str) {
        let mut s = self.lock();
        if let Some(i) = s.items.get_mut(id) {
            i.name = name.to_owned();
        }
        s.touch(id);
    }

    pub fn user_move(&self, id: &str, parent_id: &str) {
        let mut s = self.lock();
        if let Some(i) = s.items.get_mut(id) {
            i.parent = Some(parent_id.to_owned());
        }
        s.touch(id);
    }

    /// Into the recycle bin; a folder takes its contents with it (each reported deleted).
    pub fn user_delete(&self, id: &str) {
        let mut s = self.lock();
        s.bin(id);
    }

    /// OneDrive reports no hash for the item until it is written again (co-authoring).
    pub fn hide_hash(&self, id: &str) {
        self.lock().hide_hashes.insert(id.to_owned());
    }

    /// Every delta link given so far answers 410 (`resyncRequired`).
    pub fn expire_delta_links(&self) {
        self.lock().epoch += 1;
    }

    pub fn fail_next(&self, method: &'static str, error: PortError) {
        self.lock().faults.push_back(Fault {
            method,
            error,
            applied: false,
        });
    }

    pub fn lose_answer_of_next(&self, method: &'static str) {
        self.lock().faults.push_back(Fault {
            method,
            error: PortError::MaybeApplied {
                message: "the connection dropped after sending".into(),
            },
            applied: true,
        });
    }

    /// The next `n` downloads deliver bytes that do not match the file's hash.
    pub fn corrupt_next_downloads(&self, n: usize) {
        self.lock().corrupt_downloads += n;
    }

    /// The next `n` uploads store other bytes than were sent.
    pub fn corrupt_next_uploads(&self, n: usize) {
        self.lock().corrupt_uploads += n;
    }

    // ---------------------------------------------------------------- inspection

    pub fn content(&self, id: &str) -> Option<Vec<u8>> {
        self.lock().live(id).map(|i| i.content.clone())
    }

    pub fn item(&self, id: &str) -> Option<DriveFile> {
        let s = self.lock();
        s.live(id)?;
        s.view(id)
    }

    /// Whether the item is in the recycle bin.
    pub fn in_recycle_bin(&self, id: &str) -> bool {
        self.lock().items.get(id).is_some_and(|i| i.in_bin)
    }

    /// Names of the live children of a folder, sorted.
    pub fn children(&self, parent_id: &str) -> Vec<String> {
        let s = self.lock();
        let mut v: Vec<String> = s
            .items
            .values()
            .filter(|i| !i.in_bin && i.parent.as_deref() == Some(parent_id))
            .map(|i| i.name.clone())
            .collect();
        v.sort();
        v
    }

    /// Live files (not folders) anywhere, as `(path, content)`.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let s = self.lock();
        let mut v: Vec<(String, Vec<u8>)> = s
            .items
            .iter()
            .filter(|(id, i)| !i.in_bin && !i.folder && s.under(id, "root"))
            .map(|(id, i)| (s.path(id), i.content.clone()))
            .collect();
        v.sort();
        v
    }

    pub fn writes(&self) -> usize {
        self.lock().writes.values().sum()
    }

    pub fn writes_of(&self, method: &str) -> usize {
        self.lock().writes.get(method).copied().unwrap_or(0)
    }

    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// Bytes received through upload fragments (a resumed upload does not send twice).
    pub fn bytes_received(&self) -> u64 {
        self.lock().bytes_received
    }

    pub fn open_sessions(&self) -> usize {
        self.lock().sessions.len()
    }
}

fn read_range(source: &Path, offset: u64, len: u64) -> PortResult<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(source).map_err(io_err)?;
    f.seek(SeekFrom::Start(offset)).map_err(io_err)?;
    let mut buf = vec![0u8; len as usize];
    f.read_exact(&mut buf).map_err(io_err)?;
    Ok(buf)
}

#[async_trait]
impl Drive for FakeDrive {
    async fn ensure_root(&self, path: &str) -> PortResult<DriveFile> {
        let mut cur = "root".to_owned();
        for seg in path.split('/').filter(|x| !x.is_empty()) {
            cur = self.ensure_folder(&cur, seg).await?.id;
        }
        let s = self.lock();
        s.view(&cur).ok_or(PortError::NotFound)
    }

    async fn ensure_folder(&self, parent_id: &str, name: &str) -> PortResult<DriveFile> {
        let (mut s, fault) = self.begin("ensure_folder");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        let id = match s.child(parent_id, name) {
            Some(id) if s.items[&id].folder => id,
            Some(_) => {
                return Err(PortError::Rejected {
                    message: format!("nameAlreadyExists: a file is named {name}"),
                })
            }
            None => {
                s.wrote("ensure_folder");
                s.add(parent_id, name, true, Vec::new())
            }
        };
        match fault {
            Some(f) => Err(f.error),
            None => s.view(&id).ok_or(PortError::NotFound),
        }
    }

    async fn delta(&self, root_id: &str, delta_link: Option<&str>) -> PortResult<DriveDelta> {
        let (s, fault) = self.begin("delta");
        if let Some(f) = fault {
            return Err(f.error);
        }
        if root_id != "root" && s.live(root_id).is_none() {
            return Err(PortError::NotFound);
        }
        let since = match delta_link {
            None => None,
            Some(l) => {
                let mut parts = l.split(':').skip(1);
                let epoch: u64 = parts
                    .next()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(u64::MAX);
                let seq: u64 = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                if epoch != s.epoch {
                    return Err(PortError::ResyncRequired);
                }
                Some(seq)
            }
        };
        let mut changed: Vec<(u64, String)> = s
            .changed
            .iter()
            .filter(|(_, &q)| since.is_none_or(|since| q > since))
            .map(|(id, &q)| (q, id.clone()))
            .collect();
        changed.sort();
        let mut items = Vec::new();
        for (_, id) in changed {
            let Some(i) = s.items.get(&id) else { continue };
            let inside = id == root_id || s.under(&id, root_id);
            if i.in_bin || !inside {
                if since.is_some() {
                    // Deleted (or moved out of the root): only the id is reliable.
                    items.push(DriveFile {
                        id: id.clone(),
                        name: String::new(),
                        parent_id: None,
                        folder: i.folder,
                        deleted: true,
                        size: 0,
                        quick_xor: None,
                        etag: None,
                        ctag: None,
                        modified: None,
                        web_url: None,
                    });
                }
                continue;
            }
            if let Some(v) = s.view(&id) {
                items.push(v);
            }
        }
        if since.is_none() && !items.iter().any(|i| i.id == root_id) {
            if let Some(v) = s.view(root_id) {
                items.insert(0, v);
            }
        }
        Ok(DriveDelta {
            items,
            delta_link: format!("delta:{}:{}", s.epoch, s.seq),
            full: since.is_none(),
        })
    }

    async fn get(&self, item_id: &str) -> PortResult<DriveFile> {
        let (s, fault) = self.begin("get");
        if let Some(f) = fault {
            return Err(f.error);
        }
        s.live(item_id).ok_or(PortError::NotFound)?;
        s.view(item_id).ok_or(PortError::NotFound)
    }

    async fn find_child(&self, parent_id: &str, name: &str) -> PortResult<Option<DriveFile>> {
        let (s, fault) = self.begin("find_child");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(s.child(parent_id, name).and_then(|id| s.view(&id)))
    }

    async fn upload_small(&self, target: &UploadTarget, source: &Path) -> PortResult<DriveFile> {
        let data = std::fs::read(source).map_err(io_err)?;
        let (mut s, fault) = self.begin("upload_small");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        let id = s.commit(target, data)?;
        s.wrote("upload_small");
        match fault {
            Some(f) => Err(f.error),
            None => s.view(&id).ok_or(PortError::NotFound),
        }
    }

    async fn create_upload_session(
        &self,
        target: &UploadTarget,
        size: u64,
    ) -> PortResult<UploadSession> {
        let (mut s, fault) = self.begin("create_upload_session");
        if let Some(f) = fault {
            return Err(f.error);
        }
        if let UploadTarget::Replace { item_id, if_match } = target {
            s.check_etag(item_id, if_match.as_deref())?;
        }
        s.next += 1;
        let url = format!("https://upload.fake/session/{}", s.next);
        s.sessions.insert(
            url.clone(),
            Session {
                target: target.clone(),
                size,
                data: Vec::new(),
            },
        );
        s.wrote("create_upload_session");
        Ok(UploadSession {
            upload_url: url,
            size,
            expiration: None,
        })
    }

    async fn upload_session_offset(&self, session: &UploadSession) -> PortResult<Option<u64>> {
        let (s, fault) = self.begin("upload_session_offset");
        if let Some(f) = fault {
            return Err(f.error);
        }
        let sess = s
            .sessions
            .get(&session.upload_url)
            .ok_or(PortError::NotFound)?;
        let got = sess.data.len() as u64;
        Ok((got < sess.size).then_some(got))
    }

    async fn upload_fragment(
        &self,
        session: &UploadSession,
        source: &Path,
        offset: u64,
        len: u64,
    ) -> PortResult<UploadProgress> {
        let bytes = read_range(source, offset, len)?;
        let (mut s, fault) = self.begin("upload_fragment");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        let url = session.upload_url.clone();
        let sess = s.sessions.get_mut(&url).ok_or(PortError::NotFound)?;
        let have = sess.data.len() as u64;
        if offset < have {
            // 416: already received; the adapter answers with where the session stands.
            return Ok(UploadProgress::Next { offset: have });
        }
        if offset > have {
            return Err(PortError::Rejected {
                message: "fragmentOutOfOrder".into(),
            });
        }
        sess.data.extend_from_slice(&bytes);
        let done = sess.data.len() as u64 >= sess.size;
        let next = sess.data.len() as u64;
        s.bytes_received += len;
        s.wrote("upload_fragment");
        let progress = if done {
            let Some(sess) = s.sessions.remove(&url) else {
                return Err(PortError::NotFound);
            };
            let id = s.commit(&sess.target, sess.data)?;
            UploadProgress::Done {
                item: s.view(&id).ok_or(PortError::NotFound)?,
            }
        } else {
            UploadProgress::Next { offset: next }
        };
        match fault {
            Some(f) => Err(f.error),
            None => Ok(progress),
        }
    }

    async fn cancel_upload_session(&self, session: &UploadSession) -> PortResult<()> {
        let (mut s, fault) = self.begin("cancel_upload_session");
        if let Some(f) = fault {
            return Err(f.error);
        }
        s.sessions
            .remove(&session.upload_url)
            .map(drop)
            .ok_or(PortError::NotFound)
    }

    async fn download(&self, item_id: &str, dest: &Path) -> PortResult<ContentInfo> {
        let (mut s, fault) = self.begin("download");
        if let Some(f) = fault {
            return Err(f.error);
        }
        let mut bytes = s.live(item_id).ok_or(PortError::NotFound)?.content.clone();
        if s.corrupt_downloads > 0 {
            s.corrupt_downloads -= 1;
            bytes.push(0x00);
        }
        write_spool(dest, &bytes)
    }

    async fn update(
        &self,
        item_id: &str,
        new_parent_id: Option<&str>,
        new_name: Option<&str>,
        if_match: Option<&str>,
    ) -> PortResult<DriveFile> {
        let (mut s, fault) = self.begin("update");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        s.check_etag(item_id, if_match)?;
        let cur = s.items[item_id].clone();
        let parent = new_parent_id
            .map(str::to_owned)
            .or(cur.parent.clone())
            .unwrap_or_default();
        let name = new_name.unwrap_or(&cur.name).to_owned();
        if let Some(other) = s.child(&parent, &name) {
            if other != item_id {
                return Err(PortError::Rejected {
                    message: format!("nameAlreadyExists: {name}"),
                });
            }
        }
        if let Some(i) = s.items.get_mut(item_id) {
            i.parent = Some(parent);
            i.name = name;
        }
        s.touch(item_id);
        s.wrote("update");
        match fault {
            Some(f) => Err(f.error),
            None => s.view(item_id).ok_or(PortError::NotFound),
        }
    }

    async fn delete(&self, item_id: &str, if_match: Option<&str>) -> PortResult<()> {
        let (mut s, fault) = self.begin("delete");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        s.check_etag(item_id, if_match)?;
        s.bin(item_id);
        s.wrote("delete");
        fault.map_or(Ok(()), |f| Err(f.error))
    }
}

// ================================================================== Odoo attachments

#[derive(Debug, Clone)]
struct Att {
    res_model: String,
    res_id: i64,
    name: String,
    content: Vec<u8>,
    created: i64,
    written: i64,
    res_field: Option<String>,
    url: bool,
}

#[derive(Debug, Default)]
struct AttState {
    atts: BTreeMap<i64, Att>,
    records: BTreeSet<(String, i64)>,
    unreadable: BTreeSet<(String, i64)>,
    next_id: i64,
    tick: i64,
    faults: VecDeque<Fault>,
    corrupt_downloads: usize,
    resize_images: bool,
    writes: BTreeMap<&'static str, usize>,
    calls: usize,
    notes: Vec<(String, i64, String)>,
}

/// A fake Odoo `ir.attachment` (see the module docs). Clones share the database.
#[derive(Debug, Clone)]
pub struct FakeOdooAttachments {
    state: Arc<Mutex<AttState>>,
}

impl Default for FakeOdooAttachments {
    fn default() -> Self {
        Self::new()
    }
}

fn is_image(name: &str) -> bool {
    let n = name.to_lowercase();
    [".png", ".jpg", ".jpeg"].iter().any(|e| n.ends_with(e))
}

impl AttState {
    fn tick(&mut self) -> i64 {
        self.tick += 1;
        self.tick
    }

    fn view(&self, id: i64) -> Option<OdooAttachment> {
        let a = self.atts.get(&id)?;
        let info = content_info_of(&a.content);
        Some(OdooAttachment {
            id,
            res_model: a.res_model.clone(),
            res_id: a.res_id,
            name: a.name.clone(),
            size: info.size,
            checksum: Some(info.sha1),
            mimetype: None,
            create_date: Some(epoch() + Duration::seconds(a.created)),
            write_date: Some(epoch() + Duration::seconds(a.written)),
        })
    }

    fn document(&self, id: i64) -> bool {
        self.atts
            .get(&id)
            .is_some_and(|a| !a.url && a.res_field.is_none() && a.res_id != 0)
    }

    fn store(&self, name: &str, mut content: Vec<u8>) -> Vec<u8> {
        if self.resize_images && is_image(name) && content.len() > 1 {
            // Odoo scales big images down on upload (odoo.md §4.4): other bytes, other
            // checksum than what was sent.
            content.truncate(content.len() / 2);
        }
        content
    }

    fn wrote(&mut self, method: &'static str) {
        *self.writes.entry(method).or_default() += 1;
    }

    fn writable(&self, model: &str, res_id: i64) -> PortResult<()> {
        let key = (model.to_owned(), res_id);
        if !self.records.contains(&key) {
            return Err(PortError::Rejected {
                message: format!("{model},{res_id} does not exist"),
            });
        }
        if self.unreadable.contains(&key) {
            return Err(PortError::Rejected {
                message: format!("access denied on {model},{res_id}"),
            });
        }
        Ok(())
    }
}

impl FakeOdooAttachments {
    pub fn new() -> FakeOdooAttachments {
        FakeOdooAttachments {
            state: Arc::new(Mutex::new(AttState::default())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, AttState> {
        lock(&self.state)
    }

    fn begin(&self, method: &'static str) -> (MutexGuard<'_, AttState>, Option<Fault>) {
        let mut s = self.lock();
        s.calls += 1;
        let f = take(&mut s.faults, method);
        (s, f)
    }

    // ---------------------------------------------------------------- the user's side

    /// A record exists (and the user can read and write it).
    pub fn add_record(&self, model: &str, res_id: i64) {
        self.lock().records.insert((model.to_owned(), res_id));
    }

    /// The user loses access to a record.
    pub fn make_unreadable(&self, model: &str, res_id: i64) {
        self.lock().unreadable.insert((model.to_owned(), res_id));
    }

    /// The user attaches a file to a record (the record is created if needed).
    pub fn user_attach(&self, model: &str, res_id: i64, name: &str, bytes: &[u8]) -> i64 {
        let mut s = self.lock();
        s.records.insert((model.to_owned(), res_id));
        let t = s.tick();
        s.next_id += 1;
        let id = s.next_id;
        let content = s.store(name, bytes.to_vec());
        s.atts.insert(
            id,
            Att {
                res_model: model.to_owned(),
                res_id,
                name: name.to_owned(),
                content,
                created: t,
                written: t,
                res_field: None,
                url: false,
            },
        );
        id
    }

    /// A field attachment (`res_field` set) or a URL attachment: never synced.
    pub fn user_attach_other(&self, model: &str, res_id: i64, name: &str, url: bool) -> i64 {
        let id = self.user_attach(model, res_id, name, b"x");
        let mut s = self.lock();
        if let Some(a) = s.atts.get_mut(&id) {
            if url {
                a.url = true;
            } else {
                a.res_field = Some("image_1920".into());
            }
        }
        id
    }

    pub fn user_edit(&self, id: i64, bytes: &[u8]) {
        let mut s = self.lock();
        let t = s.tick();
        let name = s.atts.get(&id).map(|a| a.name.clone()).unwrap_or_default();
        let content = s.store(&name, bytes.to_vec());
        if let Some(a) = s.atts.get_mut(&id) {
            a.content = content;
            a.written = t;
        }
    }

    pub fn user_rename(&self, id: i64, name: &str) {
        let mut s = self.lock();
        let t = s.tick();
        if let Some(a) = s.atts.get_mut(&id) {
            a.name = name.to_owned();
            a.written = t;
        }
    }

    pub fn user_move(&self, id: i64, model: &str, res_id: i64) {
        let mut s = self.lock();
        s.records.insert((model.to_owned(), res_id));
        let t = s.tick();
        if let Some(a) = s.atts.get_mut(&id) {
            a.res_model = model.to_owned();
            a.res_id = res_id;
            a.written = t;
        }
    }

    pub fn user_delete(&self, id: i64) {
        self.lock().atts.remove(&id);
    }

    /// Images are stored resized (half their bytes), as Odoo does for large images.
    pub fn resize_images(&self, on: bool) {
        self.lock().resize_images = on;
    }

    pub fn fail_next(&self, method: &'static str, error: PortError) {
        self.lock().faults.push_back(Fault {
            method,
            error,
            applied: false,
        });
    }

    pub fn lose_answer_of_next(&self, method: &'static str) {
        self.lock().faults.push_back(Fault {
            method,
            error: PortError::MaybeApplied {
                message: "the connection dropped after sending".into(),
            },
            applied: true,
        });
    }

    /// The next `n` downloads deliver bytes that do not match the checksum.
    pub fn corrupt_next_downloads(&self, n: usize) {
        self.lock().corrupt_downloads += n;
    }

    // ---------------------------------------------------------------- inspection

    pub fn attachment(&self, id: i64) -> Option<OdooAttachment> {
        self.lock().view(id)
    }

    pub fn content(&self, id: i64) -> Option<Vec<u8>> {
        self.lock().atts.get(&id).map(|a| a.content.clone())
    }

    /// The document attachments of a record, as `(id, name, content)` by id.
    pub fn on_record(&self, model: &str, res_id: i64) -> Vec<(i64, String, Vec<u8>)> {
        let s = self.lock();
        s.atts
            .iter()
            .filter(|(id, a)| a.res_model == model && a.res_id == res_id && s.document(**id))
            .map(|(id, a)| (*id, a.name.clone(), a.content.clone()))
            .collect()
    }

    /// Every document attachment, as `(record, name, content)`, sorted.
    pub fn documents(&self) -> Vec<(String, String, Vec<u8>)> {
        let s = self.lock();
        let mut v: Vec<_> = s
            .atts
            .iter()
            .filter(|(id, _)| s.document(**id))
            .map(|(_, a)| {
                (
                    format!("{}/{}", a.res_model, a.res_id),
                    a.name.clone(),
                    a.content.clone(),
                )
            })
            .collect();
        v.sort();
        v
    }

    pub fn notes(&self) -> Vec<(String, i64, String)> {
        self.lock().notes.clone()
    }

    pub fn writes(&self) -> usize {
        self.lock().writes.values().sum()
    }

    pub fn writes_of(&self, method: &str) -> usize {
        self.lock().writes.get(method).copied().unwrap_or(0)
    }

    pub fn calls(&self) -> usize {
        self.lock().calls
    }
}

#[async_trait]
impl OdooAttachments for FakeOdooAttachments {
    async fn changed_since(
        &self,
        models: &[String],
        since: Option<DateTime<Utc>>,
        overlap: chrono::Duration,
    ) -> PortResult<Vec<OdooAttachment>> {
        let (s, fault) = self.begin("changed_since");
        if let Some(f) = fault {
            return Err(f.error);
        }
        let from = since.map(|t| t - overlap);
        let mut v: Vec<OdooAttachment> = s
            .atts
            .iter()
            .filter(|(id, a)| s.document(**id) && models.contains(&a.res_model))
            .filter_map(|(id, _)| s.view(*id))
            .filter(|a| {
                from.is_none_or(|from| {
                    a.write_date.is_some_and(|w| w >= from)
                        || a.create_date.is_some_and(|c| c >= from)
                })
            })
            .collect();
        v.sort_by_key(|a| (a.write_date, a.id));
        Ok(v)
    }

    async fn existing_ids(&self, ids: &[i64]) -> PortResult<Vec<i64>> {
        let (s, fault) = self.begin("existing_ids");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(ids
            .iter()
            .copied()
            .filter(|i| s.atts.contains_key(i))
            .collect())
    }

    async fn read(&self, ids: &[i64]) -> PortResult<Vec<OdooAttachment>> {
        let (s, fault) = self.begin("read");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(ids
            .iter()
            .filter(|i| s.document(**i))
            .filter_map(|i| s.view(*i))
            .collect())
    }

    async fn download(&self, id: i64, dest: &Path) -> PortResult<ContentInfo> {
        let (mut s, fault) = self.begin("download");
        if let Some(f) = fault {
            return Err(f.error);
        }
        let mut bytes = s.atts.get(&id).ok_or(PortError::NotFound)?.content.clone();
        if s.corrupt_downloads > 0 {
            s.corrupt_downloads -= 1;
            bytes.push(0x00);
        }
        write_spool(dest, &bytes)
    }

    async fn create(
        &self,
        res_model: &str,
        res_id: i64,
        name: &str,
        source: &Path,
    ) -> PortResult<OdooAttachment> {
        let bytes = std::fs::read(source).map_err(io_err)?;
        let (mut s, fault) = self.begin("create");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        s.writable(res_model, res_id)?;
        let t = s.tick();
        s.next_id += 1;
        let id = s.next_id;
        let content = s.store(name, bytes);
        s.atts.insert(
            id,
            Att {
                res_model: res_model.to_owned(),
                res_id,
                name: name.to_owned(),
                content,
                created: t,
                written: t,
                res_field: None,
                url: false,
            },
        );
        s.wrote("create");
        match fault {
            Some(f) => Err(f.error),
            None => s.view(id).ok_or(PortError::NotFound),
        }
    }

    async fn replace_content(&self, id: i64, source: &Path) -> PortResult<OdooAttachment> {
        let bytes = std::fs::read(source).map_err(io_err)?;
        let (mut s, fault) = self.begin("replace_content");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        let name = s.atts.get(&id).ok_or(PortError::NotFound)?.name.clone();
        let content = s.store(&name, bytes);
        let t = s.tick();
        if let Some(a) = s.atts.get_mut(&id) {
            a.content = content;
            a.written = t;
        }
        s.wrote("replace_content");
        match fault {
            Some(f) => Err(f.error),
            None => s.view(id).ok_or(PortError::NotFound),
        }
    }

    async fn rename(&self, id: i64, name: &str) -> PortResult<OdooAttachment> {
        let (mut s, fault) = self.begin("rename");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        let t = s.tick();
        let a = s.atts.get_mut(&id).ok_or(PortError::NotFound)?;
        a.name = name.to_owned();
        a.written = t;
        s.wrote("rename");
        match fault {
            Some(f) => Err(f.error),
            None => s.view(id).ok_or(PortError::NotFound),
        }
    }

    async fn move_to(&self, id: i64, res_model: &str, res_id: i64) -> PortResult<OdooAttachment> {
        let (mut s, fault) = self.begin("move_to");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        s.writable(res_model, res_id)?;
        let t = s.tick();
        let a = s.atts.get_mut(&id).ok_or(PortError::NotFound)?;
        a.res_model = res_model.to_owned();
        a.res_id = res_id;
        a.written = t;
        s.wrote("move_to");
        match fault {
            Some(f) => Err(f.error),
            None => s.view(id).ok_or(PortError::NotFound),
        }
    }

    async fn delete(&self, id: i64) -> PortResult<()> {
        let (mut s, fault) = self.begin("delete");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        s.atts.remove(&id).ok_or(PortError::NotFound)?;
        s.wrote("delete");
        fault.map_or(Ok(()), |f| Err(f.error))
    }

    async fn readable_records(&self, model: &str, ids: &[i64]) -> PortResult<Vec<i64>> {
        let (s, fault) = self.begin("readable_records");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(ids
            .iter()
            .copied()
            .filter(|i| {
                let k = (model.to_owned(), *i);
                s.records.contains(&k) && !s.unreadable.contains(&k)
            })
            .collect())
    }

    async fn message_post(&self, res_model: &str, res_id: i64, body_html: &str) -> PortResult<()> {
        let (mut s, fault) = self.begin("message_post");
        if let Some(f) = fault.as_ref().filter(|f| !f.applied) {
            return Err(f.error.clone());
        }
        s.writable(res_model, res_id)?;
        s.notes
            .push((res_model.to_owned(), res_id, body_html.to_owned()));
        s.wrote("message_post");
        fault.map_or(Ok(()), |f| Err(f.error))
    }

    async fn find(
        &self,
        res_model: &str,
        res_id: i64,
        name: &str,
    ) -> PortResult<Vec<OdooAttachment>> {
        let (s, fault) = self.begin("find");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(s.atts
            .iter()
            .filter(|(id, a)| {
                s.document(**id) && a.res_model == res_model && a.res_id == res_id && a.name == name
            })
            .filter_map(|(id, _)| s.view(*id))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_resumed_session_sends_each_byte_once_and_hashes_match() {
        let d = FakeDrive::new();
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("s");
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let root = d.ensure_root("Odoo Sync").await.unwrap();
        let t = UploadTarget::New {
            parent_id: root.id.clone(),
            name: "a.bin".into(),
        };
        let s = d.create_upload_session(&t, 1000).await.unwrap();
        let p = d.upload_fragment(&s, &src, 0, 400).await.unwrap();
        assert_eq!(p, UploadProgress::Next { offset: 400 });
        // A resend of the first fragment is answered with the current offset.
        assert_eq!(
            d.upload_fragment(&s, &src, 0, 400).await.unwrap(),
            UploadProgress::Next { offset: 400 }
        );
        assert_eq!(d.upload_session_offset(&s).await.unwrap(), Some(400));
        let UploadProgress::Done { item } = d.upload_fragment(&s, &src, 400, 600).await.unwrap()
        else {
            panic!("not done")
        };
        assert_eq!(d.bytes_received(), 1000);
        assert_eq!(item.quick_xor, Some(content_info_of(&data).quick_xor));
        let delta = d.delta(&root.id, None).await.unwrap();
        assert_eq!(delta.items.len(), 2);
        d.expire_delta_links();
        assert_eq!(
            d.delta(&root.id, Some(&delta.delta_link)).await,
            Err(PortError::ResyncRequired)
        );
    }
}
