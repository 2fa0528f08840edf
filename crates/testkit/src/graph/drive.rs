//! OneDrive: the drive, id and path addressing, children, folders, simple upload, upload
//! sessions, download through pre-authenticated URLs, move/rename, recycle bin, delta.
//!
//! Items live in one map per drive; a deleted item stays as a tombstone (the recycle bin),
//! which delta reports with the `deleted` facet. Every change bumps the drive's sequence.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sha2::Digest;

use super::http::{self as h, GBody, GReq, GResp, GResult};
use super::state::{DriveType, UserInfo, World};
use super::time::offset_string;
use super::{GraphEmulator, GraphError};

/// 320 KiB: upload fragments are multiples of this, except the last [CUS].
pub const FRAGMENT_UNIT: u64 = 327_680;
/// Each upload request must be smaller than 60 MiB [CUS].
pub const FRAGMENT_MAX: u64 = 60 * 1024 * 1024;
/// The whole decoded path must be under 400 characters [LIMITS].
const PATH_MAX: usize = 400;
/// Every drive's quota: 1 TiB.
const QUOTA_BYTES: u64 = 1 << 40;
/// Delta and children page size when the client sends no `$top`.
const DEFAULT_PAGE: usize = 200;

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub name: String,
    pub parent: Option<String>,
    pub folder: bool,
    pub content: Bytes,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub etag_v: u64,
    pub ctag_v: u64,
    pub deleted: bool,
    /// Last change that shows the item in delta (its own, or a descendant's).
    pub seq: u64,
    /// Last change to the item itself (what `deltaExcludeParent` keeps).
    pub own_seq: u64,
    pub description: Option<String>,
    pub fs_info: Option<Value>,
    guid: String,
}

pub struct Drive {
    pub id: String,
    pub drive_type: DriveType,
    owner_id: String,
    owner_name: String,
    pub root_id: String,
    pub items: HashMap<String, Item>,
    seq: u64,
    generation: u64,
    tokens: HashMap<String, DeltaTok>,
    created: DateTime<Utc>,
    /// Set for a SharePoint document library (its name); `None` for a user's OneDrive.
    pub library: Option<String>,
    /// The change sequence, published at every change: the socketIo channel pushes on it,
    /// so it announces exactly what delta would report.
    pub changes: Arc<tokio::sync::watch::Sender<u64>>,
}

fn guid_of(id: &str) -> String {
    let h = sha2::Sha256::digest(id.as_bytes());
    uuid::Builder::from_random_bytes(h[..16].try_into().unwrap_or([0; 16]))
        .into_uuid()
        .to_string()
        .to_ascii_uppercase()
}

impl Drive {
    pub fn new(
        id: String,
        drive_type: DriveType,
        owner: &UserInfo,
        root_id: String,
        now: DateTime<Utc>,
    ) -> Self {
        let mut items = HashMap::new();
        items.insert(
            root_id.clone(),
            Item {
                id: root_id.clone(),
                name: "root".into(),
                parent: None,
                folder: true,
                content: Bytes::new(),
                created: now,
                modified: now,
                etag_v: 1,
                ctag_v: 1,
                deleted: false,
                seq: 1,
                own_seq: 1,
                description: None,
                fs_info: None,
                guid: guid_of(&root_id),
            },
        );
        Self {
            id,
            drive_type,
            owner_id: owner.id.clone(),
            owner_name: owner.display_name.clone(),
            root_id,
            items,
            seq: 1,
            generation: 0,
            tokens: HashMap::new(),
            created: now,
            library: None,
            changes: Arc::new(tokio::sync::watch::Sender::new(1)),
        }
    }

    /// `driveType` as Graph writes it: a library is `documentLibrary` [CSDL].
    pub fn type_str(&self) -> &'static str {
        if self.library.is_some() {
            "documentLibrary"
        } else {
            self.drive_type.as_str()
        }
    }

    pub fn expire_tokens(&mut self) {
        self.generation += 1;
    }

    fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.changes.send_replace(self.seq);
        self.seq
    }

    fn children(&self, parent: &str) -> Vec<&Item> {
        let mut v: Vec<&Item> = self
            .items
            .values()
            .filter(|i| !i.deleted && i.parent.as_deref() == Some(parent))
            .collect();
        v.sort_by_key(|i| i.name.to_lowercase());
        v
    }

    fn child_named(&self, parent: &str, name: &str) -> Option<&Item> {
        // Names are case-insensitive within a folder.
        self.items.values().find(|i| {
            !i.deleted && i.parent.as_deref() == Some(parent) && i.name.eq_ignore_ascii_case(name)
        })
    }

    fn live(&self, id: &str) -> Result<&Item, GraphError> {
        self.items
            .get(id)
            .filter(|i| !i.deleted)
            .ok_or_else(GraphError::item_not_found)
    }

    /// `/drive/root:/A/B` (percent-encoded) for the item's parent folder path.
    fn path_of(&self, id: &str) -> Option<String> {
        let mut names = Vec::new();
        let mut cur = self.items.get(id)?;
        while let Some(p) = &cur.parent {
            names.push(cur.name.clone());
            cur = self.items.get(p)?;
        }
        names.reverse();
        Some(names.join("/"))
    }

    fn is_descendant(&self, id: &str, ancestor: &str) -> bool {
        let mut cur = Some(id.to_string());
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self.items.get(&c).and_then(|i| i.parent.clone());
        }
        false
    }

    /// A change under a folder changes the folder's cTag [DI] and brings the folder back
    /// in delta unless the client sends `deltaExcludeParent` [DID].
    fn touch_ancestors(&mut self, id: &str, seq: u64) {
        let mut cur = self.items.get(id).and_then(|i| i.parent.clone());
        while let Some(p) = cur {
            let Some(item) = self.items.get_mut(&p) else {
                break;
            };
            item.ctag_v += 1;
            item.seq = seq;
            cur = item.parent.clone();
        }
    }
}

/// What a drive delta token stands for: the round's end, and while a round is being paged,
/// its item list and how much of it was shown.
#[derive(Debug, Clone)]
struct DeltaTok {
    generation: u64,
    upto: u64,
    pending: Option<Arc<Vec<String>>>,
    shown: usize,
}

pub struct UploadSession {
    user_id: String,
    drive_id: String,
    parent_id: String,
    name: String,
    existing: Option<String>,
    conflict: Conflict,
    total: Option<u64>,
    received: Vec<u8>,
    expires: DateTime<Utc>,
    description: Option<String>,
    /// `deferCommit`: the file is created by an explicit `POST {uploadUrl}` [CUS].
    defer: bool,
}

pub struct DownloadTicket {
    drive_id: String,
    item_id: String,
    expires: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Conflict {
    Fail,
    Replace,
    Rename,
}

fn conflict(v: Option<&str>, default: Conflict) -> Result<Conflict, GraphError> {
    match v {
        None => Ok(default),
        Some("fail") => Ok(Conflict::Fail),
        Some("replace") => Ok(Conflict::Replace),
        Some("rename") => Ok(Conflict::Rename),
        Some(other) => Err(GraphError::bad_request(
            "invalidRequest",
            format!("Invalid value '{other}' for @microsoft.graph.conflictBehavior."),
        )),
    }
}

fn name_exists(name: &str) -> GraphError {
    GraphError::new(
        StatusCode::CONFLICT,
        "nameAlreadyExists",
        format!("The specified item name already exists. Name: {name}"),
    )
}

fn precondition_failed() -> GraphError {
    GraphError::new(
        StatusCode::PRECONDITION_FAILED,
        "resourceModified",
        "ETag does not match current item's value",
    )
    .with_inner("entityTagDoesNotMatch")
}

const RESERVED: &[&str] = &[
    ".lock",
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "COM0",
    "COM1",
    "COM2",
    "COM3",
    "COM4",
    "COM5",
    "COM6",
    "COM7",
    "COM8",
    "COM9",
    "LPT0",
    "LPT1",
    "LPT2",
    "LPT3",
    "LPT4",
    "LPT5",
    "LPT6",
    "LPT7",
    "LPT8",
    "LPT9",
    "desktop.ini",
];

/// OneDrive's name rules [ADDR][LIMITS], answered as the live service does.
pub fn validate_name(name: &str, business: bool) -> Result<(), GraphError> {
    let illegal = || {
        // [obs] skilion/onedrive#484, onedrive-api-docs#1446.
        GraphError::bad_request(
            "invalidRequest",
            "The provided name cannot contain any illegal characters.",
        )
        .with_inner("nameContainsInvalidCharacters")
    };
    if name.is_empty()
        || name
            .chars()
            .any(|c| "\"*:<>?/\\|".contains(c) || c.is_control())
    {
        return Err(illegal());
    }
    if name.ends_with('.') || name.ends_with(' ') || name.starts_with(' ') {
        // [obs] skilion/onedrive#420.
        return Err(GraphError::bad_request(
            "invalidRequest",
            format!("Path (/{name}) contains invalid trailing character."),
        ));
    }
    // Reserved names are whole names, compared case-insensitively [LIMITS].
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
        || name.starts_with("~$")
        || name.contains("_vti_")
        || (business && name.starts_with('~'))
    {
        return Err(GraphError::bad_request(
            "invalidRequest",
            format!("The name '{name}' is reserved."),
        )
        .with_inner("nameContainsInvalidCharacters"));
    }
    if name.chars().count() > 255 {
        return Err(
            GraphError::bad_request("invalidRequest", "The name is too long.")
                .with_inner("pathIsTooLong"),
        );
    }
    Ok(())
}

fn check_path_len(d: &Drive, parent: &str, name: &str) -> Result<(), GraphError> {
    let parent_path = d.path_of(parent).unwrap_or_default();
    let full = if parent_path.is_empty() {
        name.chars().count()
    } else {
        parent_path.chars().count() + 1 + name.chars().count()
    };
    if full >= PATH_MAX {
        return Err(GraphError::bad_request(
            "pathIsTooLong",
            "The path is too long; it must be under 400 characters.",
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------------ rendering

struct Ctx<'a> {
    origin: &'a str,
}

fn etag(i: &Item) -> String {
    format!("\"{{{}}},{}\"", i.guid, i.etag_v)
}

fn ctag(i: &Item) -> String {
    format!("\"c:{{{}}},{}\"", i.guid, i.ctag_v)
}

fn hashes(d: &Drive, content: &[u8]) -> Value {
    let mut q = quickxorhash::QuickXorHash::new();
    q.update(content);
    let qx = base64::engine::general_purpose::STANDARD.encode(q.finalize());
    match d.drive_type {
        // Business has had only quickXorHash for years [HASH][I-SHA1].
        DriveType::Business => json!({"quickXorHash": qx}),
        // Personal dropped sha1Hash in 2023; it still fills sha256Hash [I-SHA1].
        DriveType::Personal => {
            json!({"quickXorHash": qx, "sha256Hash": hex::encode_upper(sha2::Sha256::digest(content))})
        }
    }
}

fn mime(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv" => "text/csv",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

#[derive(PartialEq)]
enum Shape {
    Full,
    Delta,
}

fn render(d: &Drive, i: &Item, cx: &Ctx<'_>, shape: Shape, download: Option<String>) -> Value {
    let business = d.drive_type == DriveType::Business;
    let identity = json!({"user": {"id": d.owner_id, "displayName": d.owner_name}});
    if i.deleted && shape == Shape::Delta {
        let mut v = json!({"id": i.id, "deleted": {}, "eTag": etag(i), "lastModifiedDateTime": offset_string(i.modified),
            "parentReference": {"driveId": d.id, "driveType": d.type_str(), "id": i.parent}});
        // Deletes omit cTag and name on business, cTag and size on personal [DID].
        if business {
            v["size"] = json!(i.content.len());
        } else {
            v["name"] = json!(i.name);
        }
        if i.folder {
            v["folder"] = json!({"childCount": 0});
        } else {
            v["file"] = json!({});
        }
        return v;
    }
    let mut v = json!({
        "id": i.id,
        "name": i.name,
        "eTag": etag(i),
        "createdDateTime": offset_string(i.created),
        "lastModifiedDateTime": offset_string(i.modified),
        "size": if i.folder { d.items.values().filter(|c| !c.deleted && c.parent.is_some() && d.is_descendant(&c.id, &i.id) && !c.folder).map(|c| c.content.len()).sum::<usize>() } else { i.content.len() },
        "webUrl": format!("{}/_web/{}/{}", cx.origin, d.id, d.path_of(&i.id).unwrap_or_default()),
        "createdBy": identity,
        "lastModifiedBy": identity,
        "fileSystemInfo": i.fs_info.clone().unwrap_or_else(|| json!({"createdDateTime": offset_string(i.created), "lastModifiedDateTime": offset_string(i.modified)})),
    });
    // No cTag on business folders [DI]; none in business delta at all [DID].
    let show_ctag = !(business && (i.folder || shape == Shape::Delta));
    if show_ctag {
        v["cTag"] = json!(ctag(i));
    }
    if let Some(desc) = &i.description {
        v["description"] = json!(desc);
    }
    match &i.parent {
        None => {
            v["root"] = json!({});
            v["parentReference"] = json!({"driveId": d.id, "driveType": d.type_str()});
        }
        Some(p) => {
            let mut pr = json!({"driveId": d.id, "driveType": d.type_str(), "id": p});
            // Delta leaves parentReference.path out [DID].
            if shape == Shape::Full {
                let pp = d.path_of(p).unwrap_or_default();
                let enc: Vec<String> = pp
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(encode_segment)
                    .collect();
                pr["path"] = json!(if enc.is_empty() {
                    "/drive/root:".to_string()
                } else {
                    format!("/drive/root:/{}", enc.join("/"))
                });
                if let Some(parent) = d.items.get(p) {
                    pr["name"] = json!(parent.name);
                }
            }
            v["parentReference"] = pr;
        }
    }
    if i.folder {
        v["folder"] = json!({"childCount": d.children(&i.id).len()});
    } else {
        v["file"] = json!({"mimeType": mime(&i.name), "hashes": hashes(d, &i.content)});
        if let Some(url) = download {
            v["@microsoft.graph.downloadUrl"] = json!(url);
        }
    }
    v
}

fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn ticket(
    world: &mut World,
    drive_id: &str,
    item_id: &str,
    now: DateTime<Utc>,
    origin: &str,
) -> String {
    let t = world.opaque(32);
    world.downloads.insert(
        t.clone(),
        DownloadTicket {
            drive_id: drive_id.into(),
            item_id: item_id.into(),
            expires: now + Duration::hours(1),
        },
    );
    format!("{origin}/_download/{t}")
}

fn render_full(
    world: &mut World,
    drive_id: &str,
    item_id: &str,
    req: &GReq,
    now: DateTime<Utc>,
) -> Result<Value, GraphError> {
    let is_file = world
        .drives
        .get(drive_id)
        .and_then(|d| d.items.get(item_id))
        .is_some_and(|i| !i.folder);
    let url = is_file.then(|| ticket(world, drive_id, item_id, now, &req.origin));
    let d = world
        .drives
        .get(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let i = d.live(item_id)?;
    Ok(render(
        d,
        i,
        &Ctx {
            origin: &req.origin,
        },
        Shape::Full,
        url,
    ))
}

// ------------------------------------------------------------------------- addressing

/// Where a request points: an existing item, or a missing name under an existing parent.
enum Addr {
    Item(String),
    Missing { parent: String, name: String },
}

fn resolve(d: &Drive, s: &str) -> Result<(Addr, String), GraphError> {
    let (base, rest) = if let Some(r) = s.strip_prefix("/root") {
        (d.root_id.clone(), r)
    } else if let Some(r) = s.strip_prefix("/items/") {
        let end = r.find([':', '/']).unwrap_or(r.len());
        let id = h::percent_decode(&r[..end]);
        let id = if id == "root" { d.root_id.clone() } else { id };
        (id, &r[end..])
    } else {
        let seg = s.trim_start_matches('/').split('/').next().unwrap_or("");
        return Err(GraphError::unsupported_segment(seg));
    };
    d.live(&base)?;
    let Some(after) = rest.strip_prefix(':') else {
        return Ok((Addr::Item(base), rest.to_string()));
    };
    let (path, tail) = match after.find(':') {
        Some(i) => (&after[..i], &after[i + 1..]),
        None => (after, ""),
    };
    let segs: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(h::percent_decode)
        .collect();
    let mut cur = base;
    for (n, seg) in segs.iter().enumerate() {
        match d.child_named(&cur, seg) {
            Some(c) => cur = c.id.clone(),
            None if n + 1 == segs.len() => {
                return Ok((
                    Addr::Missing {
                        parent: cur,
                        name: seg.clone(),
                    },
                    tail.to_string(),
                ));
            }
            None => return Err(GraphError::item_not_found()),
        }
    }
    Ok((Addr::Item(cur), tail.to_string()))
}

fn existing(a: Addr) -> Result<String, GraphError> {
    match a {
        Addr::Item(i) => Ok(i),
        Addr::Missing { .. } => Err(GraphError::item_not_found()),
    }
}

pub fn handle(em: &GraphEmulator, req: &GReq, path: &str) -> GResult {
    let now = em.inner.clock.now();
    let mut world = em.world();
    let user = world.user(&req.user_id)?.clone();
    let (drive_id, rest) = if let Some(r) = path.strip_prefix("/drives/") {
        let end = r.find('/').unwrap_or(r.len());
        let id = h::percent_decode(&r[..end]);
        if !world.can_reach_drive(&user.id, &id) {
            return Err(GraphError::item_not_found());
        }
        (id, r[end..].to_string())
    } else if let Some(r) = path
        .strip_prefix("/drive")
        .filter(|r| r.is_empty() || r.starts_with('/'))
    {
        (user.drive_id.clone(), r.to_string())
    } else {
        return Err(GraphError::item_not_found());
    };
    if rest.is_empty() || rest == "/" {
        return drive_resource(&world, &drive_id, req);
    }
    if let Some(t) = rest.strip_prefix("/root/subscriptions/socketIo") {
        if !t.is_empty() && t != "/" {
            return Err(GraphError::bad_request(
                "invalidRequest",
                format!("Unsupported request: {} {rest}", req.method),
            ));
        }
        return super::socketio::endpoint(em, &mut world, &drive_id, req, now);
    }
    let d = world
        .drives
        .get(&drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let (addr, tail) = resolve(d, &rest)?;
    let m = &req.method;
    let tail = tail.trim_end_matches('/');
    let result = match tail {
        "" if m == Method::GET => existing(addr)
            .and_then(|id| render_full(&mut world, &drive_id, &id, req, now).map(GResp::ok)),
        "" if m == Method::PATCH => patch(&mut world, &drive_id, existing(addr)?, req, now),
        "" if m == Method::DELETE => delete(&mut world, &drive_id, existing(addr)?, req, now),
        "/children" if m == Method::GET => {
            children(&mut world, &drive_id, existing(addr)?, req, now)
        }
        "/children" if m == Method::POST => {
            create_child(&mut world, &drive_id, existing(addr)?, req, now)
        }
        "/content" if m == Method::GET => content(&mut world, &drive_id, existing(addr)?, req, now),
        "/content" if m == Method::PUT => put_content(
            &mut world,
            &drive_id,
            addr,
            req,
            now,
            em.inner.config.simple_upload_max_bytes,
        ),
        "/createUploadSession" if m == Method::POST => {
            let by_path = rest.contains(':');
            create_session(
                &mut world,
                &drive_id,
                addr,
                by_path,
                req,
                now,
                em.inner.config.upload_session_lifetime_s,
            )
        }
        t if (t == "/delta" || t.starts_with("/delta(")) && m == Method::GET => {
            let id = existing(addr)?;
            delta(&mut world, &drive_id, &id, t, req)
        }
        t => Err(GraphError::bad_request(
            "invalidRequest",
            format!("Unsupported request: {} {t}", req.method),
        )),
    };
    let changed = matches!(
        *m,
        Method::PUT | Method::PATCH | Method::DELETE | Method::POST
    ) && result.as_ref().is_ok_and(|r| r.status.is_success())
        && tail != "/createUploadSession";
    drop(world);
    if changed {
        super::subscriptions::notify_drive(em, &req.user_id);
    }
    result
}

/// The `concurrent_edit` fault on a drive item (`/drive/items/{id}…`, `/drives/{d}/items/{id}…`):
/// another client edits the item's `description` just before the request arrives, a
/// metadata-only edit, so the eTag changes and the cTag does not [DI], the item shows in
/// delta again, and a request carrying the old eTag in `if-match` gets 412 while one
/// without (or with the cTag) goes through. Paths by `root:/…` name no item: unchanged.
pub fn edit_concurrently(em: &GraphEmulator, user_id: &str, path: &str) {
    let now = em.inner.clock.now();
    let mut world = em.world();
    let drive_id = if let Some(r) = path.strip_prefix("/drives/") {
        h::percent_decode(r.split('/').next().unwrap_or(""))
    } else if path.starts_with("/me/drive/") || path.starts_with("/drive/") {
        match world.user(user_id) {
            Ok(u) => u.drive_id.clone(),
            Err(_) => return,
        }
    } else {
        return;
    };
    let Some(rest) = path.split_once("/items/").map(|(_, r)| r) else {
        return;
    };
    let id = h::percent_decode(&rest[..rest.find([':', '/']).unwrap_or(rest.len())]);
    let Some(d) = world.drives.get_mut(&drive_id) else {
        return;
    };
    if !d.live(&id).is_ok_and(|i| !i.folder) {
        return;
    }
    let seq = d.bump();
    if let Some(i) = d.items.get_mut(&id) {
        i.description = Some(format!("edited by another client at {now}"));
        i.etag_v += 1;
        i.modified = now;
        i.seq = seq;
        i.own_seq = seq;
    }
    d.touch_ancestors(&id, seq);
}

fn drive_resource(world: &World, drive_id: &str, req: &GReq) -> GResult {
    let d = world
        .drives
        .get(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let mut v = drive_json(d, req);
    v["@odata.context"] = json!(format!("{}/$metadata#drives/$entity", req.base()));
    Ok(GResp::ok(v))
}

/// The `drive` resource (also one entry of `/sites/{id}/drives`).
pub fn drive_json(d: &Drive, req: &GReq) -> Value {
    let used: usize = d
        .items
        .values()
        .filter(|i| !i.deleted)
        .map(|i| i.content.len())
        .sum();
    let deleted: usize = d
        .items
        .values()
        .filter(|i| i.deleted)
        .map(|i| i.content.len())
        .sum();
    let total: u64 = QUOTA_BYTES;
    json!({
        "id": d.id,
        "driveType": d.type_str(),
        "name": d.library.as_deref().unwrap_or("OneDrive"),
        "createdDateTime": offset_string(d.created),
        "lastModifiedDateTime": offset_string(d.created),
        "webUrl": format!("{}/_web/{}", req.origin, d.id),
        "owner": {"user": {"id": d.owner_id, "displayName": d.owner_name}},
        "quota": {"total": total, "used": used, "remaining": total - used as u64, "deleted": deleted, "state": "normal"},
    })
}

fn check_if_match(req: &GReq, i: &Item) -> Result<(), GraphError> {
    match req.header("if-match") {
        Some(t) if t.trim() != "*" && t.trim() != etag(i) && t.trim() != ctag(i) => {
            Err(precondition_failed())
        }
        _ => Ok(()),
    }
}

fn children(
    world: &mut World,
    drive_id: &str,
    id: String,
    req: &GReq,
    now: DateTime<Utc>,
) -> GResult {
    let ids: Vec<String> = {
        let d = world
            .drives
            .get(drive_id)
            .ok_or_else(GraphError::item_not_found)?;
        let parent = d.live(&id)?;
        if !parent.folder {
            return Ok(GResp::ok(json!({"value": []})));
        }
        d.children(&id).iter().map(|c| c.id.clone()).collect()
    };
    let size = req
        .query("$top")
        .and_then(|t| t.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(DEFAULT_PAGE);
    let skip: usize = req
        .query("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut value = Vec::new();
    for cid in ids.iter().skip(skip).take(size) {
        value.push(render_full(world, drive_id, cid, req, now)?);
    }
    let mut v = json!({"@odata.context": format!("{}/$metadata#Collection(driveItem)", req.base()), "value": value});
    if skip + size < ids.len() {
        v["@odata.nextLink"] = json!(format!(
            "{}{}?$top={size}&$skiptoken={}",
            req.base(),
            req.path,
            skip + size
        ));
    }
    Ok(GResp::ok(v))
}

fn new_item(
    world: &mut World,
    drive_id: &str,
    parent: &str,
    name: &str,
    folder: bool,
    content: Bytes,
    now: DateTime<Utc>,
) -> Result<String, GraphError> {
    let drive_type = world
        .drives
        .get(drive_id)
        .map(|d| d.drive_type)
        .ok_or_else(GraphError::item_not_found)?;
    let id = world.drive_item_id(drive_type, drive_id);
    let d = world
        .drives
        .get_mut(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let seq = d.bump();
    d.items.insert(
        id.clone(),
        Item {
            id: id.clone(),
            name: name.to_string(),
            parent: Some(parent.to_string()),
            folder,
            content,
            created: now,
            modified: now,
            etag_v: 1,
            ctag_v: 1,
            deleted: false,
            seq,
            own_seq: seq,
            description: None,
            fs_info: None,
            guid: guid_of(&id),
        },
    );
    d.touch_ancestors(&id, seq);
    Ok(id)
}

/// "name 1.txt", "name 2.txt", … until free [obs].
fn free_name(d: &Drive, parent: &str, name: &str) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (1..)
        .map(|n| format!("{stem} {n}{ext}"))
        .find(|c| d.child_named(parent, c).is_none())
        .unwrap_or_else(|| name.to_string())
}

fn create_child(
    world: &mut World,
    drive_id: &str,
    parent: String,
    req: &GReq,
    now: DateTime<Utc>,
) -> GResult {
    let body = req.json()?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("invalidRequest", "name is required"))?
        .to_string();
    if body.get("folder").is_none() && body.get("file").is_none() {
        return Err(GraphError::bad_request(
            "invalidRequest",
            "A folder or file facet is required.",
        ));
    }
    let d = world
        .drives
        .get(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    validate_name(&name, d.drive_type == DriveType::Business)?;
    if !d.live(&parent)?.folder {
        return Err(GraphError::bad_request(
            "invalidRequest",
            "The parent is not a folder.",
        ));
    }
    check_path_len(d, &parent, &name)?;
    let behaviour = body
        .get("@microsoft.graph.conflictBehavior")
        .and_then(Value::as_str);
    let mut final_name = name.clone();
    if let Some(existing) = d.child_named(&parent, &name) {
        match (conflict(behaviour, Conflict::Fail)?, behaviour) {
            // Personal OneDrive has answered 200 with the existing folder when no behaviour
            // was given [I-MKDIR].
            (_, None) if d.drive_type == DriveType::Personal && existing.folder => {
                let id = existing.id.clone();
                return render_full(world, drive_id, &id, req, now).map(GResp::ok);
            }
            (Conflict::Fail, _) => return Err(name_exists(&name)),
            (Conflict::Rename, _) => final_name = free_name(d, &parent, &name),
            (Conflict::Replace, _) => {
                let old = existing.id.clone();
                remove(world, drive_id, &old);
            }
        }
    }
    let folder = body.get("folder").is_some();
    let id = new_item(
        world,
        drive_id,
        &parent,
        &final_name,
        folder,
        Bytes::new(),
        now,
    )?;
    let v = render_full(world, drive_id, &id, req, now)?;
    Ok(GResp::json(StatusCode::CREATED, v))
}

/// Moves an item and its descendants to the recycle bin.
fn remove(world: &mut World, drive_id: &str, id: &str) {
    let Some(d) = world.drives.get_mut(drive_id) else {
        return;
    };
    let ids: Vec<String> = d
        .items
        .values()
        .filter(|i| !i.deleted && d.is_descendant(&i.id, id))
        .map(|i| i.id.clone())
        .collect();
    let seq = d.bump();
    d.touch_ancestors(id, seq);
    for i in ids {
        if let Some(item) = d.items.get_mut(&i) {
            item.deleted = true;
            item.seq = seq;
            item.own_seq = seq;
        }
    }
}

fn delete(
    world: &mut World,
    drive_id: &str,
    id: String,
    req: &GReq,
    _now: DateTime<Utc>,
) -> GResult {
    let d = world
        .drives
        .get(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let item = d.live(&id)?;
    if item.parent.is_none() {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "accessDenied",
            "The root folder cannot be deleted.",
        ));
    }
    check_if_match(req, item)?;
    remove(world, drive_id, &id);
    Ok(GResp::empty(StatusCode::NO_CONTENT))
}

fn patch(world: &mut World, drive_id: &str, id: String, req: &GReq, now: DateTime<Utc>) -> GResult {
    let body = req.json()?;
    let d = world
        .drives
        .get(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let item = d.live(&id)?.clone();
    check_if_match(req, &item)?;
    if item.parent.is_none()
        && (body.get("name").is_some() || body.get("parentReference").is_some())
    {
        return Err(GraphError::bad_request(
            "invalidRequest",
            "The root folder cannot be moved or renamed.",
        ));
    }
    let name = match body.get("name") {
        Some(Value::String(n)) => n.clone(),
        Some(_) => {
            return Err(GraphError::bad_request(
                "invalidRequest",
                "name must be a string",
            ))
        }
        None => item.name.clone(),
    };
    let parent = match body.get("parentReference") {
        Some(p) => {
            if p.get("driveId")
                .and_then(Value::as_str)
                .is_some_and(|x| x != drive_id)
            {
                return Err(GraphError::bad_request(
                    "invalidRequest",
                    "Items can't be moved between drives.",
                ));
            }
            match (
                p.get("id").and_then(Value::as_str),
                p.get("path").and_then(Value::as_str),
            ) {
                (Some(pid), _) => pid.to_string(),
                (None, Some(path)) => {
                    let rel = path
                        .trim_start_matches("/drive/root:")
                        .trim_start_matches('/');
                    let (a, _) = resolve(d, &format!("/root:/{rel}"))?;
                    existing(a)?
                }
                _ => item.parent.clone().unwrap_or_default(),
            }
        }
        None => item.parent.clone().unwrap_or_default(),
    };
    let target = d.live(&parent)?;
    if !target.folder || d.is_descendant(&parent, &id) {
        return Err(GraphError::bad_request(
            "invalidRequest",
            "Cannot move an item into itself or a file.",
        ));
    }
    let moved = name != item.name || Some(&parent) != item.parent.as_ref();
    if moved {
        validate_name(&name, d.drive_type == DriveType::Business)?;
        check_path_len(d, &parent, &name)?;
        if d.child_named(&parent, &name).is_some_and(|c| c.id != id) {
            let behaviour = body
                .get("@microsoft.graph.conflictBehavior")
                .and_then(Value::as_str);
            match conflict(behaviour, Conflict::Fail)? {
                Conflict::Fail => return Err(name_exists(&name)),
                Conflict::Replace => {
                    let old = d
                        .child_named(&parent, &name)
                        .map(|c| c.id.clone())
                        .unwrap_or_default();
                    remove(world, drive_id, &old);
                }
                Conflict::Rename => {}
            }
        }
    }
    let d = world
        .drives
        .get_mut(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let final_name = if moved && d.child_named(&parent, &name).is_some_and(|c| c.id != id) {
        free_name(d, &parent, &name)
    } else {
        name
    };
    let seq = d.bump();
    let old_parent = item.parent.clone();
    if let Some(i) = d.items.get_mut(&id) {
        i.name = final_name;
        i.parent = Some(parent);
        if let Some(desc) = body.get("description").and_then(Value::as_str) {
            i.description = Some(desc.to_string());
        }
        if let Some(fs) = body.get("fileSystemInfo").filter(|v| v.is_object()) {
            i.fs_info = Some(fs.clone());
        }
        // Metadata edits change the eTag, never the cTag [DI].
        i.etag_v += 1;
        i.modified = now;
        i.seq = seq;
        i.own_seq = seq;
    }
    d.touch_ancestors(&id, seq);
    if let Some(op) = old_parent {
        if let Some(p) = d.items.get_mut(&op) {
            p.ctag_v += 1;
        }
    }
    render_full(world, drive_id, &id, req, now).map(GResp::ok)
}

fn content(
    world: &mut World,
    drive_id: &str,
    id: String,
    req: &GReq,
    now: DateTime<Utc>,
) -> GResult {
    let d = world
        .drives
        .get(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let item = d.live(&id)?;
    if item.folder {
        return Err(GraphError::item_not_found());
    }
    if let Some(t) = req.header("if-none-match") {
        if t.trim() == etag(item) || t.trim() == ctag(item) {
            return Ok(GResp::empty(StatusCode::NOT_MODIFIED));
        }
    }
    // 302 to a pre-authenticated URL [DL].
    let url = ticket(world, drive_id, &id, now, &req.origin);
    Ok(GResp::empty(StatusCode::FOUND).with_header("location", url))
}

/// Writes `bytes` as a file at `addr`, honouring the conflict behaviour; `true` when new.
fn write_file(
    world: &mut World,
    drive_id: &str,
    addr: Addr,
    bytes: Bytes,
    behaviour: Conflict,
    now: DateTime<Utc>,
) -> Result<(String, bool), GraphError> {
    // An injected transfer fault: the service stores other bytes than it was sent, so the
    // file's reported hash differs from the sender's (what a client must catch).
    let bytes = if world.corrupt_uploads > 0 {
        world.corrupt_uploads -= 1;
        corrupted(&bytes)
    } else {
        bytes
    };
    let d = world
        .drives
        .get(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let business = d.drive_type == DriveType::Business;
    match addr {
        Addr::Missing { parent, name } => {
            validate_name(&name, business)?;
            if !d.live(&parent)?.folder {
                return Err(GraphError::bad_request(
                    "invalidRequest",
                    "The parent is not a folder.",
                ));
            }
            check_path_len(d, &parent, &name)?;
            Ok((
                new_item(world, drive_id, &parent, &name, false, bytes, now)?,
                true,
            ))
        }
        Addr::Item(id) => {
            let item = d.live(&id)?;
            if item.folder {
                return Err(name_exists(&item.name));
            }
            match behaviour {
                Conflict::Fail => Err(name_exists(&item.name)),
                Conflict::Rename => {
                    let parent = item.parent.clone().unwrap_or_default();
                    let name = free_name(d, &parent, &item.name);
                    Ok((
                        new_item(world, drive_id, &parent, &name, false, bytes, now)?,
                        true,
                    ))
                }
                Conflict::Replace => {
                    let d = world
                        .drives
                        .get_mut(drive_id)
                        .ok_or_else(GraphError::item_not_found)?;
                    let seq = d.bump();
                    if let Some(i) = d.items.get_mut(&id) {
                        i.content = bytes;
                        i.etag_v += 1;
                        i.ctag_v += 1;
                        i.modified = now;
                        i.seq = seq;
                        i.own_seq = seq;
                    }
                    d.touch_ancestors(&id, seq);
                    Ok((id, false))
                }
            }
        }
    }
}

fn put_content(
    world: &mut World,
    drive_id: &str,
    addr: Addr,
    req: &GReq,
    now: DateTime<Utc>,
    max: u64,
) -> GResult {
    if req.body.len() as u64 > max {
        // Simple upload takes files up to 250 MB [PUT].
        return Err(GraphError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "maxFileSizeExceeded",
            "Simple upload is limited to 250 MB; use an upload session.",
        ));
    }
    if let Addr::Item(id) = &addr {
        let d = world
            .drives
            .get(drive_id)
            .ok_or_else(GraphError::item_not_found)?;
        check_if_match(req, d.live(id)?)?;
    }
    // The conflict behaviour of a PUT goes in the query; the default is replace [DI].
    let behaviour = conflict(
        req.query("@microsoft.graph.conflictBehavior"),
        Conflict::Replace,
    )?;
    let (id, new) = write_file(world, drive_id, addr, req.body.clone(), behaviour, now)?;
    let v = render_full(world, drive_id, &id, req, now)?;
    Ok(GResp::json(
        if new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        v,
    ))
}

/// A session addressed by path is a new file whose name may conflict (default fail); one
/// addressed by item id replaces that file [CUS].
fn create_session(
    world: &mut World,
    drive_id: &str,
    addr: Addr,
    by_path: bool,
    req: &GReq,
    now: DateTime<Utc>,
    lifetime_s: u64,
) -> GResult {
    let body = req.json()?;
    let item = body.get("item").cloned().unwrap_or(Value::Null);
    // The default conflict behaviour of an upload session is fail [CUS].
    let behaviour = conflict(
        item.get("@microsoft.graph.conflictBehavior")
            .and_then(Value::as_str),
        Conflict::Fail,
    )?;
    let d = world
        .drives
        .get(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    let (parent, name, existing) = match addr {
        Addr::Missing { parent, name } => {
            validate_name(&name, d.drive_type == DriveType::Business)?;
            check_path_len(d, &parent, &name)?;
            (parent, name, None)
        }
        Addr::Item(id) => {
            let i = d.live(&id)?;
            if i.folder {
                return Err(GraphError::bad_request(
                    "invalidRequest",
                    "Upload sessions target a file, not a folder.",
                ));
            }
            check_if_match(req, i)?;
            if let Some(t) = req.header("if-none-match") {
                if t.trim() == etag(i) || t.trim() == ctag(i) {
                    return Err(precondition_failed());
                }
            }
            let existing = (!by_path).then_some(id);
            (
                i.parent.clone().unwrap_or_default(),
                i.name.clone(),
                existing,
            )
        }
    };
    if let Some(n) = item.get("name").and_then(Value::as_str) {
        if !n.eq_ignore_ascii_case(&name) {
            return Err(GraphError::bad_request(
                "invalidRequest",
                "The item path must contain the name given in the body.",
            ));
        }
    }
    let total = item.get("fileSize").and_then(Value::as_u64);
    let used: u64 = d
        .items
        .values()
        .filter(|i| !i.deleted)
        .map(|i| i.content.len() as u64)
        .sum();
    if total.is_some_and(|t| t > QUOTA_BYTES.saturating_sub(used)) {
        // A fileSize beyond the quota gets no session [CUS][ERR].
        return Err(GraphError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "quotaLimitReached",
            "Insufficient Space Available",
        ));
    }
    let defer = body
        .get("deferCommit")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let sid = world.opaque(36);
    let expires = now + Duration::seconds(lifetime_s as i64);
    world.uploads.insert(
        sid.clone(),
        UploadSession {
            user_id: req.user_id.clone(),
            drive_id: drive_id.to_string(),
            parent_id: parent,
            name,
            // An explicit item address replaces that item.
            conflict: if existing.is_some() {
                Conflict::Replace
            } else {
                behaviour
            },
            existing,
            total,
            received: Vec::new(),
            expires,
            description: item
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            defer,
        },
    );
    Ok(GResp::ok(json!({
        "@odata.context": format!("{}/$metadata#microsoft.graph.uploadSession", req.base()),
        "uploadUrl": format!("{}/_upload/{sid}", req.origin),
        "expirationDateTime": offset_string(expires),
        "nextExpectedRanges": ["0-"],
    })))
}

/// Orders delta items so that a folder in the set comes before what it contains.
fn parents_first<'a>(d: &'a Drive, items: Vec<&'a Item>) -> Vec<&'a Item> {
    let wanted: std::collections::HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let mut done: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut chain = vec![item];
        let mut cur = item.parent.as_deref();
        while let Some(p) = cur {
            match d.items.get(p) {
                Some(parent) if wanted.contains(p) && !done.contains(p) => {
                    chain.push(parent);
                    cur = parent.parent.as_deref();
                }
                _ => break,
            }
        }
        for i in chain.into_iter().rev() {
            if done.insert(i.id.as_str()) {
                out.push(i);
            }
        }
    }
    out
}

fn delta(world: &mut World, drive_id: &str, folder: &str, tail: &str, req: &GReq) -> GResult {
    let d = world
        .drives
        .get(drive_id)
        .ok_or_else(GraphError::item_not_found)?;
    if folder != d.root_id {
        return Err(GraphError::bad_request(
            "invalidRequest",
            "Delta is only supported on the root.",
        ));
    }
    let token = tail
        .strip_prefix("/delta(token='")
        .and_then(|t| t.strip_suffix("')"))
        .map(h::percent_decode)
        .or_else(|| req.query("token").map(str::to_string));
    // Links name the drive the round was asked on: a library's never say `me/drive`.
    let base = if d.library.is_some() {
        format!(
            "{}/drives/{}/root/delta",
            req.base(),
            encode_segment(drive_id)
        )
    } else {
        format!("{}/me/drive/root/delta", req.base())
    };
    let resync = || {
        // 410 with a Location that starts a fresh enumeration [DID][I-1356].
        GraphError::new(StatusCode::GONE, "resyncRequired", "Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd. Upload any local changes that the server doesn't know about.")
            .with_inner("resyncChangesApplyDifferences")
            .with_location(base.clone())
    };
    let context = format!("{}/$metadata#Collection(driveItem)", req.base());
    let size = req
        .query("$top")
        .and_then(|t| t.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(DEFAULT_PAGE);
    let exclude_parents = req
        .header("deltaexcludeparent")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    // A round is computed once, then paged from a server-side list behind the token.
    let round: DeltaTok = match token.as_deref() {
        Some("latest") => {
            let tok = DeltaTok {
                generation: d.generation,
                upto: d.seq,
                pending: None,
                shown: 0,
            };
            let t = world.opaque(24);
            if let Some(d) = world.drives.get_mut(drive_id) {
                d.tokens.insert(t.clone(), tok);
            }
            return Ok(GResp::ok(
                json!({"@odata.context": context, "value": [], "@odata.deltaLink": format!("{base}?token={t}")}),
            ));
        }
        Some(t) => match d.tokens.get(t) {
            Some(tok) if tok.generation == d.generation && tok.pending.is_some() => tok.clone(),
            Some(tok) if tok.generation == d.generation => {
                new_round(d, tok.upto, false, exclude_parents)
            }
            _ => return Err(resync()),
        },
        None => new_round(d, 0, true, exclude_parents),
    };
    let pending = round.pending.clone().unwrap_or_default();
    let end = (round.shown + size).min(pending.len());
    let cx = Ctx {
        origin: &req.origin,
    };
    let value: Vec<Value> = pending[round.shown..end]
        .iter()
        .filter_map(|id| d.items.get(id))
        .map(|i| render(d, i, &cx, Shape::Delta, None))
        .collect();
    let more = end < pending.len();
    let next = DeltaTok {
        generation: round.generation,
        upto: round.upto,
        // Only an unfinished round keeps its list; a deltaLink starts the next round.
        pending: more.then_some(pending),
        shown: end,
    };
    let t = world.opaque(24);
    if let Some(d) = world.drives.get_mut(drive_id) {
        d.tokens.insert(t.clone(), next);
    }
    let mut v = json!({"@odata.context": context, "value": value});
    let link = if more {
        "@odata.nextLink"
    } else {
        "@odata.deltaLink"
    };
    v[link] = json!(format!("{base}?token={t}"));
    Ok(GResp::ok(v))
}

/// The items changed after sequence `after`, parents before children; a first enumeration
/// leaves deleted items out.
fn new_round(d: &Drive, after: u64, initial: bool, exclude_parents: bool) -> DeltaTok {
    let upto = d.seq;
    let mut changed: Vec<&Item> = d
        .items
        .values()
        .filter(|i| i.seq > after && i.seq <= upto && !(initial && i.deleted))
        .filter(|i| !exclude_parents || i.own_seq > after)
        .collect();
    changed.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.id.cmp(&b.id)));
    let ids = parents_first(d, changed)
        .into_iter()
        .map(|i| i.id.clone())
        .collect();
    DeltaTok {
        generation: d.generation,
        upto,
        pending: Some(Arc::new(ids)),
        shown: 0,
    }
}

// ----------------------------------------------------------------- upload and download

fn finish(em: &GraphEmulator, ctx: &h::Ctx, r: GResult) -> Response {
    ctx.finish(em, r)
}

/// `PUT/GET/DELETE/POST {uploadUrl}`: no bearer needed (or allowed, in strict mode) [CUS].
pub async fn upload_entry(
    State(em): State<GraphEmulator>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let mut ctx = h::Ctx::new(&em, &parts.method, &pq, &parts.headers);
    let body = match axum::body::to_bytes(body, FRAGMENT_MAX as usize + 1).await {
        Ok(b) => b,
        Err(_) => {
            return finish(
                &em,
                &ctx,
                Err(GraphError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalidRequest",
                    "Each fragment must be smaller than 60 MiB.",
                )),
            );
        }
    };
    let fault = em.inner.faults.draw(parts.method.as_str(), &pq);
    ctx.fault = fault.as_ref().map(|f| f.name().to_string());
    let drop_after = match h::apply_fault(fault.as_ref(), false).await {
        h::FaultAction::Proceed => false,
        h::FaultAction::Answer(e) => return finish(&em, &ctx, Err(e)),
        h::FaultAction::DropBefore => return ctx.drop_connection(&em),
        h::FaultAction::HangThenDrop(ms) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            return ctx.drop_connection(&em);
        }
        h::FaultAction::DropAfter => true,
    };
    if em.inner.config.strict_upload_auth && parts.headers.contains_key("authorization") {
        return finish(
            &em,
            &ctx,
            Err(GraphError::unauthenticated(
                "Upload URLs are pre-authenticated; do not send an Authorization header.",
            )),
        );
    }
    let origin = h::origin_of(&parts.headers);
    let result = upload(
        &em,
        &id,
        &parts.method,
        &parts.headers,
        body,
        &origin,
        &mut ctx,
    );
    if drop_after {
        return ctx.drop_connection(&em);
    }
    let user = ctx.user.clone();
    let r = finish(&em, &ctx, result);
    if r.status() == StatusCode::CREATED
        || (r.status() == StatusCode::OK && parts.method == Method::PUT)
    {
        if let Some(u) = user {
            super::subscriptions::notify_drive(&em, &u);
        }
    }
    r
}

fn session_gone() -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        "The upload session was not found or has expired.",
    )
}

fn ranges(s: &UploadSession) -> Value {
    match s.total {
        Some(t) if s.received.len() as u64 >= t => json!([]),
        _ => json!([format!("{}-", s.received.len())]),
    }
}

fn upload(
    em: &GraphEmulator,
    id: &str,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
    origin: &str,
    ctx: &mut h::Ctx,
) -> GResult {
    let now = em.inner.clock.now();
    let lifetime = Duration::seconds(em.inner.config.upload_session_lifetime_s as i64);
    let mut world = em.world();
    let s = world
        .uploads
        .get_mut(id)
        .filter(|s| s.expires > now)
        .ok_or_else(session_gone)?;
    ctx.user = Some(s.user_id.clone());
    match *method {
        Method::GET => Ok(GResp::ok(
            json!({"expirationDateTime": offset_string(s.expires), "nextExpectedRanges": ranges(s)}),
        )),
        Method::DELETE => {
            world.uploads.remove(id);
            Ok(GResp::empty(StatusCode::NO_CONTENT))
        }
        Method::PUT => {
            let range = headers
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    GraphError::bad_request("invalidRequest", "Content-Range is required.")
                })?;
            let (start, end, total) = parse_content_range(range).ok_or_else(|| {
                GraphError::bad_request(
                    "invalidRequest",
                    format!("Invalid Content-Range '{range}'."),
                )
            })?;
            if body.len() as u64 != end - start + 1 {
                return Err(GraphError::bad_request(
                    "invalidRequest",
                    "The fragment length does not match Content-Range.",
                )
                .with_inner("fragmentLengthMismatch"));
            }
            if body.len() as u64 >= FRAGMENT_MAX {
                return Err(GraphError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalidRequest",
                    "Each fragment must be smaller than 60 MiB.",
                ));
            }
            // The total must be the same on every request [CUS].
            match s.total {
                Some(t) if t != total => {
                    return Err(GraphError::bad_request(
                        "invalidRequest",
                        "The declared file size changed during the upload.",
                    ))
                }
                _ => s.total = Some(total),
            }
            let have = s.received.len() as u64;
            if start < have {
                return Err(GraphError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "invalidRange",
                    "Uploaded fragment overlaps with existing data.",
                )
                .with_inner("fragmentOverlap"));
            }
            if start > have {
                return Err(GraphError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "invalidRange",
                    "Fragments must be uploaded in order.",
                )
                .with_inner("fragmentOutOfOrder"));
            }
            let last = end + 1 == total;
            if !last && !(body.len() as u64).is_multiple_of(FRAGMENT_UNIT) {
                return Err(GraphError::bad_request(
                    "invalidRequest",
                    "Fragments must be a multiple of 320 KiB (327,680 bytes), except the last.",
                ));
            }
            if end >= total {
                return Err(GraphError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "invalidRange",
                    "The fragment ends beyond the declared file size.",
                ));
            }
            s.received.extend_from_slice(&body);
            s.expires = now + lifetime;
            if !last || s.defer {
                return Ok(GResp::json(
                    StatusCode::ACCEPTED,
                    json!({"expirationDateTime": offset_string(s.expires), "nextExpectedRanges": ranges(s)}),
                ));
            }
            commit(&mut world, id, now, origin)
        }
        // Finishing a deferCommit session: POST with an empty body [CUS].
        Method::POST if s.defer => {
            if s.total != Some(s.received.len() as u64) {
                return Err(GraphError::bad_request(
                    "invalidRequest",
                    "The upload is not complete; nextExpectedRanges shows what is missing.",
                ));
            }
            commit(&mut world, id, now, origin)
        }
        _ => Err(GraphError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalidRequest",
            "Unsupported method on an upload URL.",
        )),
    }
}

fn commit(world: &mut World, id: &str, now: DateTime<Utc>, origin: &str) -> GResult {
    let s = world.uploads.get(id).ok_or_else(session_gone)?;
    let (drive_id, parent, name, existing, conflict, bytes, desc, user) = (
        s.drive_id.clone(),
        s.parent_id.clone(),
        s.name.clone(),
        s.existing.clone(),
        s.conflict,
        Bytes::from(s.received.clone()),
        s.description.clone(),
        s.user_id.clone(),
    );
    let addr = match existing {
        Some(e) => Addr::Item(e),
        None => {
            let d = world
                .drives
                .get(&drive_id)
                .ok_or_else(GraphError::item_not_found)?;
            match d.child_named(&parent, &name) {
                Some(c) => Addr::Item(c.id.clone()),
                None => Addr::Missing { parent, name },
            }
        }
    };
    // A name conflict on the last fragment is 409 and the session stays [CUS].
    let (item, new) = write_file(world, &drive_id, addr, bytes, conflict, now)?;
    world.uploads.remove(id);
    if let Some(desc) = desc {
        if let Some(i) = world
            .drives
            .get_mut(&drive_id)
            .and_then(|d| d.items.get_mut(&item))
        {
            i.description = Some(desc);
        }
    }
    let req = GReq {
        method: Method::GET,
        path: String::new(),
        query: vec![],
        headers: HeaderMap::new(),
        body: Bytes::new(),
        user_id: user,
        scopes: super::state::ALL_SCOPES.to_string(),
        origin: origin.to_string(),
    };
    let v = render_full(world, &drive_id, &item, &req, now)?;
    Ok(GResp::json(
        if new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        v,
    ))
}

/// The same content with its first byte flipped (an empty file gains one byte).
fn corrupted(bytes: &Bytes) -> Bytes {
    let mut v = bytes.to_vec();
    match v.first_mut() {
        Some(b) => *b ^= 0xFF,
        None => v.push(0),
    }
    Bytes::from(v)
}

fn parse_content_range(s: &str) -> Option<(u64, u64, u64)> {
    let rest = s.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let (a, b, t) = (
        a.trim().parse().ok()?,
        b.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (a <= b).then_some((a, b, t))
}

/// `GET {downloadUrl}`: the bytes, with `Range` support (206) [DL].
pub async fn download_entry(
    State(em): State<GraphEmulator>,
    Path(t): Path<String>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let ctx = h::Ctx::new(&em, &parts.method, &pq, &parts.headers);
    let now = em.inner.clock.now();
    let found = {
        let mut world = em.world();
        let found = world
            .downloads
            .get(&t)
            .filter(|tk| tk.expires > now)
            .and_then(|tk| {
                world
                    .drives
                    .get(&tk.drive_id)
                    .and_then(|d| d.items.get(&tk.item_id))
            })
            .filter(|i| !i.deleted)
            .map(|i| (i.content.clone(), i.name.clone()));
        // An injected transfer fault: the bytes served differ from the item's hash.
        match found {
            Some((bytes, name)) if world.corrupt_downloads > 0 => {
                world.corrupt_downloads -= 1;
                Some((corrupted(&bytes), name))
            }
            other => other,
        }
    };
    let Some((bytes, name)) = found else {
        return finish(&em, &ctx, Err(GraphError::item_not_found()));
    };
    let range = parts
        .headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            let r = r.strip_prefix("bytes=")?;
            let (a, b) = r.split_once('-')?;
            let a: usize = a.parse().ok()?;
            let b: usize = if b.is_empty() {
                bytes.len().checked_sub(1)?
            } else {
                b.parse::<usize>().ok()?.min(bytes.len().checked_sub(1)?)
            };
            (a <= b).then_some((a, b))
        });
    let r = match range {
        Some((a, b)) => GResp {
            status: StatusCode::PARTIAL_CONTENT,
            headers: vec![],
            batch_done: None,
            body: GBody::Bytes(bytes.slice(a..=b), mime(&name).into()),
        }
        .with_header("content-range", format!("bytes {a}-{b}/{}", bytes.len())),
        None => GResp {
            status: StatusCode::OK,
            headers: vec![],
            batch_done: None,
            body: GBody::Bytes(bytes, mime(&name).into()),
        },
    };
    finish(&em, &ctx, Ok(r))
}

/// Writes a file at `path` in `user`'s drive, creating folders, for scenarios.
pub fn put_for_seed(
    em: &GraphEmulator,
    user_id: &str,
    path: &str,
    bytes: &[u8],
) -> Result<(), GraphError> {
    let now = em.inner.clock.now();
    let mut world = em.world();
    let drive_id = world.user(user_id)?.drive_id.clone();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut cur = world
        .drives
        .get(&drive_id)
        .map(|d| d.root_id.clone())
        .ok_or_else(GraphError::item_not_found)?;
    for (n, seg) in segs.iter().enumerate() {
        let found = world
            .drives
            .get(&drive_id)
            .and_then(|d| d.child_named(&cur, seg))
            .map(|i| i.id.clone());
        cur = match found {
            Some(id) if n + 1 < segs.len() => id,
            Some(id) => {
                write_file(
                    &mut world,
                    &drive_id,
                    Addr::Item(id.clone()),
                    Bytes::copy_from_slice(bytes),
                    Conflict::Replace,
                    now,
                )?;
                id
            }
            None => new_item(
                &mut world,
                &drive_id,
                &cur,
                seg,
                n + 1 < segs.len(),
                if n + 1 < segs.len() {
                    Bytes::new()
                } else {
                    Bytes::copy_from_slice(bytes)
                },
                now,
            )?,
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_names_and_trailing_dots_are_rejected() {
        for bad in [
            "a:b",
            "q?",
            "x|y",
            "CON",
            "con",
            "desktop.ini",
            "~$lock.docx",
            "a_vti_b",
            "dot.",
            " lead",
            ".lock",
        ] {
            assert!(validate_name(bad, true).is_err(), "{bad}");
        }
        for good in ["quote.pdf", "a#b%c", "Consolidated.txt", "COM10"] {
            assert!(validate_name(good, false).is_ok(), "{good}");
        }
        assert!(validate_name("~tmp", true).is_err());
        assert!(validate_name("~tmp", false).is_ok());
    }

    #[test]
    fn content_range_parsing_takes_start_end_and_total() {
        assert_eq!(
            parse_content_range("bytes 0-327679/1000000"),
            Some((0, 327_679, 1_000_000))
        );
        assert_eq!(parse_content_range("bytes 5-1/9"), None);
        assert_eq!(parse_content_range("0-1/9"), None);
    }

    #[test]
    fn path_segments_are_percent_encoded_per_rfc_3986() {
        assert_eq!(encode_segment("my file#1%.txt"), "my%20file%231%25.txt");
    }
}
