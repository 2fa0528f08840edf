//! Documents in a history: Alice's profile also syncs the attachments of sale orders
//! (`sale.order` in Odoo ⇄ `Odoo Sync/sale.order/<id>/` in her OneDrive), through the file
//! cycle the app runs after the calendar's (`odoo365_app::files::file_config`, the
//! `GraphDrive` and `OdooFiles` adapters, on the cycle's own Graph and Odoo clients and
//! store). Its steps draw from a random stream of their own (seeded from the history's
//! seed), so the calendar half of every history draws exactly what it drew before.
//!
//! * **Alice** attaches, renames, replaces the content of, moves to another order and
//!   deletes attachments in Odoo (in-process calls as her), and in OneDrive (Graph calls
//!   with her token) uploads a file into a record's folder, renames, replaces the content
//!   of, moves between record folders and deletes files; now and then she edits the same
//!   file on both sides before the engine sees either (content and content, rename and
//!   content, delete and content).
//! * **Faults** on the file calls: an upload, a rename/move and a delete that land with
//!   their answer lost, a reset before anything applies, 429 and 503 on drive calls, a
//!   412 (`concurrent_edit` on a drive item: another client's metadata edit makes the
//!   held eTag stale, testkit `graph::drive::edit_concurrently`), expired drive delta
//!   links (410), Odoo attachment create/write/unlink with the answer lost, and 429/503
//!   on attachment calls.
//! * **Checks**: per record, the same files by name and content on both sides (Odoo's
//!   content hashed to OneDrive's QuickXorHash, Odoo's `checksum` matching its SHA-1), no
//!   content twice on a side (every content Alice makes is unique), every file linked
//!   exactly once, every content the engine overwrote or deleted in the restore journal
//!   (by item and hash), every file the engine wrote with an audit line, a further file
//!   cycle planning and writing nothing, and no mail from any file cycle.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use odoo365_engine::files::content_info_of;
use odoo365_engine::files::engine::{FileConflictChoice, FileReport};
use odoo365_engine::state::{ConflictRecord, Link};
use odoo365_engine::{EngineError, LinkKind};
use odoo365_testkit::{Fault, FaultRule};

use crate::world::{World, ALICE, PROFILE};
use crate::{say, Rng, CONFIRM};

/// The model whose attachments the profile syncs.
pub const MODEL: &str = "sale.order";
/// The sale orders' folder in Alice's OneDrive (the app's default root).
const FOLDER: &str = "drive/root:/Odoo%20Sync/sale.order";
const EXTENSIONS: [&str; 4] = ["pdf", "txt", "docx", "png"];

/// One file or attachment as the checks see it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct DocItem {
    pub name: String,
    pub record: i64,
    /// QuickXorHash of the content (Odoo's computed from its bytes).
    pub quick_xor: String,
    /// The version hash the journal names: Odoo's `checksum`, OneDrive's QuickXorHash.
    pub version: String,
}

/// `o:<attachment id>` / `g:<drive item id>` → what it holds.
pub type DocSnapshot = BTreeMap<String, DocItem>;

/// How the file engine touched items during its cycles.
#[derive(Default)]
pub struct FileTouched {
    /// (item, version) the engine overwrote or deleted.
    pub destroyed: BTreeSet<(String, String)>,
    /// Items the engine created, changed or deleted.
    pub written: BTreeSet<String>,
    /// The file links each item was ever seen on (a kept-both conflict moves one side of a
    /// pair to a new link, the lines before it stay on the old one).
    pub link_of: BTreeMap<String, BTreeSet<i64>>,
    /// Items the engine created, as first seen.
    pub created: BTreeMap<String, DocItem>,
}

pub struct Docs {
    rng: Rng,
    pub orders: Vec<i64>,
    made: u32,
    pub touched: FileTouched,
}

impl Docs {
    pub fn new(seed: u64) -> Docs {
        Docs {
            rng: Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1),
            orders: Vec::new(),
            made: 0,
            touched: FileTouched::default(),
        }
    }
}

fn b64(b: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b)
}

/// A file conflict (both contents changed) rather than an event's: the app tells them
/// apart the same way (`App::is_file_conflict`).
pub fn is_file_conflict(c: &ConflictRecord) -> bool {
    c.kind == "content" && c.fields.get("item_id").is_some()
}

/// OneDrive's names as Odoo's: Odoo lets two attachments of a record share a name, a
/// folder does not, so the engine uploads the second as `name (2).ext`: what a side cannot
/// represent. Such a name counts as `name.ext` where Odoo has that name more than once.
/// A kept-both copy needs no such allowance: it is `name (Odoo conflict <date>).ext` on
/// both sides (docs/RELIABILITY.md Found 10).
fn same_names(
    odoo: &[(String, String)],
    mut drive: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let twice = |n: &str| odoo.iter().filter(|(o, _)| o == n).count() > 1;
    for (name, _) in drive.iter_mut() {
        let (stem, ext) = match name.rfind('.') {
            Some(i) => (&name[..i], &name[i..]),
            None => (name.as_str(), ""),
        };
        let Some(open) = stem.rfind(" (") else {
            continue;
        };
        let n = stem[open + 2..].strip_suffix(')').unwrap_or_default();
        if n.parse::<u32>().is_ok() {
            let base = format!("{}{ext}", &stem[..open]);
            if twice(&base) {
                *name = base;
            }
        }
    }
    drive.sort();
    drive
}

impl World {
    fn draw(&mut self, n: usize) -> usize {
        self.docs.rng.below(n)
    }

    /// A draw from the documents' own random stream.
    pub fn docs_draw(&mut self, n: usize) -> usize {
        self.draw(n)
    }

    /// Three sale orders and two attachments on the first, before the first sync.
    pub fn docs_setup(&mut self) {
        let partner = self
            .odoo_call(
                "res.partner",
                "create",
                &[],
                json!({"vals_list": [{"name": "Contoso"}]}),
            )
            .expect("a customer")[0]
            .as_i64()
            .expect("a partner id");
        let orders = self
            .odoo_call(
                MODEL,
                "create",
                &[],
                json!({"vals_list": [{"partner_id": partner}, {"partner_id": partner},
                                     {"partner_id": partner}]}),
            )
            .expect("sale orders");
        self.docs.orders = orders
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        for _ in 0..2 {
            self.attach(0);
        }
    }

    fn next_name(&mut self) -> String {
        self.docs.made += 1;
        let ext = EXTENSIONS[self.draw(EXTENSIONS.len())];
        format!("f{}.{ext}", self.docs.made)
    }

    /// A content no other file has: a tag, then padding to a drawn length.
    fn next_content(&mut self) -> Vec<u8> {
        self.docs.made += 1;
        let mut c = format!("content {} of seed {}\n", self.docs.made, self.seed).into_bytes();
        let len = [40, 300, 2_000][self.draw(3)];
        c.resize(len.max(c.len()), b'.');
        c
    }

    fn attach(&mut self, order: usize) {
        let name = self.next_name();
        let content = self.next_content();
        let done = self.odoo_call(
            "ir.attachment",
            "create",
            &[],
            json!({"vals_list": [{"name": name, "res_model": MODEL,
                                  "res_id": self.docs.orders[order], "datas": b64(&content)}]}),
        );
        self.note(("odoo attach", &name, done.is_ok()));
    }

    /// Attachment and drive item ids of the current snapshot, in order.
    fn odoo_files(snap: &DocSnapshot) -> Vec<(i64, DocItem)> {
        snap.iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("o:")?.parse().ok()?, v.clone())))
            .collect()
    }

    fn drive_files(snap: &DocSnapshot) -> Vec<(String, DocItem)> {
        snap.iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("g:")?.to_string(), v.clone())))
            .collect()
    }

    /// The record folders in OneDrive: (record id, folder item id).
    async fn record_folders(&self) -> Vec<(i64, String)> {
        let Ok(page) = self
            .outlook(
                reqwest::Method::GET,
                &format!("{FOLDER}:/children?$top=200"),
                None,
            )
            .await
        else {
            // Not there before the first upload.
            return Vec::new();
        };
        let mut out: Vec<(i64, String)> = page["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["folder"].is_object())
            .filter_map(|i| {
                Some((
                    i["name"].as_str()?.parse().ok()?,
                    i["id"].as_str()?.to_string(),
                ))
            })
            .collect();
        out.sort();
        out
    }

    /// The attachments of the sale orders and the files of the record folders.
    pub async fn doc_snapshot(&self) -> DocSnapshot {
        let mut out = DocSnapshot::new();
        let rows = self
            .odoo_call(
                "ir.attachment",
                "search_read",
                &[],
                json!({"domain": [["res_model", "=", MODEL]],
                       "fields": ["name", "res_id", "checksum", "datas"], "order": "id"}),
            )
            .expect("Odoo reads attachments");
        for a in rows.as_array().into_iter().flatten() {
            let bytes = a["datas"]
                .as_str()
                .map(|d| {
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, d)
                        .expect("Odoo's datas is base64")
                })
                .unwrap_or_default();
            let info = content_info_of(&bytes);
            let checksum = a["checksum"].as_str().unwrap_or_default().to_string();
            assert_eq!(
                checksum, info.sha1,
                "Odoo's checksum of attachment {} is not the SHA-1 of its content",
                a["id"]
            );
            out.insert(
                format!("o:{}", a["id"]),
                DocItem {
                    name: a["name"].as_str().unwrap_or_default().to_string(),
                    record: a["res_id"].as_i64().unwrap_or_default(),
                    quick_xor: info.quick_xor,
                    version: checksum,
                },
            );
        }
        for (record, folder) in self.record_folders().await {
            for f in self
                .outlook_list(&format!("drive/items/{folder}/children?$top=200"))
                .await
            {
                if !f["file"].is_object() {
                    continue;
                }
                let hash = f["file"]["hashes"]["quickXorHash"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                out.insert(
                    format!("g:{}", f["id"].as_str().unwrap_or_default()),
                    DocItem {
                        name: f["name"].as_str().unwrap_or_default().to_string(),
                        record,
                        quick_xor: hash.clone(),
                        version: hash,
                    },
                );
            }
        }
        out
    }

    // ------------------------------------------------------------------ Alice's steps

    /// Alice's document steps of one round (none to three), and now and then a fault armed
    /// for the file calls of the next cycle.
    pub async fn doc_steps(&mut self) {
        for _ in 0..self.draw(4) {
            self.doc_step().await;
        }
        if self.draw(3) == 0 {
            let what = self.arm_file_fault();
            say(|| format!("armed for files: {what}"));
        }
    }

    async fn doc_step(&mut self) {
        let snap = self.doc_snapshot().await;
        let atts = World::odoo_files(&snap);
        let files = World::drive_files(&snap);
        let step = self.draw(12);
        say(|| format!("document step {step}"));
        match step {
            0 | 1 => {
                let order = self.draw(self.docs.orders.len());
                self.attach(order);
            }
            2..=5 if !atts.is_empty() => {
                let (id, _) = atts[self.draw(atts.len())].clone();
                self.odoo_doc_edit(id, step).await;
            }
            6 => {
                let folders = self.record_folders().await;
                if folders.is_empty() {
                    return;
                }
                let (_, folder) = folders[self.draw(folders.len())].clone();
                let name = self.next_name();
                let content = self.next_content();
                let done = self
                    .onedrive(
                        reqwest::Method::PUT,
                        &format!("drive/items/{folder}:/{name}:/content"),
                        content,
                    )
                    .await;
                self.note(("onedrive upload", &name, done.is_ok()));
            }
            7..=10 if !files.is_empty() => {
                let (id, _) = files[self.draw(files.len())].clone();
                self.onedrive_edit(&id, step).await;
            }
            11 => {
                // The same file edited on both sides before the engine sees either.
                let pairs: Vec<(i64, String)> = files
                    .iter()
                    .filter_map(|(g, f)| {
                        atts.iter()
                            .find(|(_, a)| a.record == f.record && a.name == f.name)
                            .map(|(o, _)| (*o, g.clone()))
                    })
                    .collect();
                if pairs.is_empty() {
                    return;
                }
                let (o, g) = pairs[self.draw(pairs.len())].clone();
                let (odoo_step, drive_step) = match self.draw(4) {
                    0 => (3, 8),
                    1 => (2, 8),
                    2 => (3, 10),
                    _ => (5, 8),
                };
                say(|| format!("simultaneous: odoo {odoo_step}, onedrive {drive_step}"));
                self.odoo_doc_edit(o, odoo_step).await;
                self.onedrive_edit(&g, drive_step).await;
            }
            _ => {}
        }
    }

    /// 2 rename, 3 new content, 4 move to another order, 5 delete.
    async fn odoo_doc_edit(&mut self, id: i64, step: usize) {
        let (method, kw) = match step {
            2 => ("write", json!({"vals": {"name": self.next_name()}})),
            3 => {
                let c = self.next_content();
                ("write", json!({"vals": {"datas": b64(&c)}}))
            }
            4 => {
                let i = self.draw(self.docs.orders.len());
                let order = self.docs.orders[i];
                ("write", json!({"vals": {"res_id": order}}))
            }
            _ => ("unlink", json!({})),
        };
        let done = self.odoo_call("ir.attachment", method, &[id], kw);
        self.note(("odoo document", id, step, done.is_ok()));
    }

    /// 7 rename, 8 new content, 9 move to another record's folder, 10 delete.
    async fn onedrive_edit(&mut self, id: &str, step: usize) {
        let path = format!("drive/items/{id}");
        let done = match step {
            7 => {
                let name = self.next_name();
                self.outlook(reqwest::Method::PATCH, &path, Some(json!({"name": name})))
                    .await
            }
            8 => {
                let c = self.next_content();
                self.onedrive(reqwest::Method::PUT, &format!("{path}/content"), c)
                    .await
            }
            9 => {
                let folders = self.record_folders().await;
                if folders.is_empty() {
                    return;
                }
                let (_, to) = folders[self.draw(folders.len())].clone();
                self.outlook(
                    reqwest::Method::PATCH,
                    &path,
                    Some(json!({"parentReference": {"id": to}})),
                )
                .await
            }
            _ => self.outlook(reqwest::Method::DELETE, &path, None).await,
        };
        say(|| format!("onedrive {step} on {id}: {:?}", done.as_ref().err()));
        self.note(("onedrive document", step, done.is_ok()));
    }

    /// Arms one fault for the file calls of the next cycle.
    fn arm_file_fault(&mut self) -> &'static str {
        let secs = 1 + self.draw(120) as u64;
        let drive = "/drive";
        let (what, graph, odoo): (&'static str, Option<FaultRule>, Option<FaultRule>) =
            match self.draw(12) {
                0 => (
                    "drive upload lost",
                    Some(
                        FaultRule::once(Fault::ResetAfterApply)
                            .on_method("PUT")
                            .on_path("/content"),
                    ),
                    None,
                ),
                1 => (
                    "drive rename/move lost",
                    Some(
                        FaultRule::once(Fault::ResetAfterApply)
                            .on_method("PATCH")
                            .on_path("/items/"),
                    ),
                    None,
                ),
                2 => (
                    "drive delete lost",
                    Some(
                        FaultRule::once(Fault::ResetAfterApply)
                            .on_method("DELETE")
                            .on_path("/items/"),
                    ),
                    None,
                ),
                3 => (
                    "drive 412",
                    Some(
                        FaultRule::once(Fault::ConcurrentEdit)
                            .on_method(["PATCH", "DELETE", "PUT"][self.draw(3)])
                            .on_path("/items/"),
                    ),
                    None,
                ),
                4 => (
                    "drive 429",
                    Some(
                        FaultRule::once(Fault::Throttle {
                            retry_after_s: secs,
                        })
                        .on_path(drive),
                    ),
                    None,
                ),
                5 => (
                    "drive 503",
                    Some(
                        FaultRule::once(Fault::Unavailable {
                            retry_after_s: Some(secs),
                        })
                        .on_path(drive),
                    ),
                    None,
                ),
                6 => (
                    "drive reset",
                    Some(FaultRule::once(Fault::ResetBeforeApply).on_path(drive)),
                    None,
                ),
                7 => {
                    self.graph
                        .emulator
                        .expire_drive_delta_tokens(ALICE)
                        .expect("Alice's drive");
                    ("drive 410", None, None)
                }
                8 => (
                    "odoo attachment create lost",
                    None,
                    Some(FaultRule::once(Fault::ResetAfterApply).on_path("ir.attachment/create")),
                ),
                9 => (
                    "odoo attachment write lost",
                    None,
                    Some(FaultRule::once(Fault::ResetAfterApply).on_path("ir.attachment/write")),
                ),
                10 => (
                    "odoo attachment unlink lost",
                    None,
                    Some(FaultRule::once(Fault::ResetAfterApply).on_path("ir.attachment/unlink")),
                ),
                _ => (
                    "odoo attachment 429/503",
                    None,
                    Some(
                        FaultRule::once(if self.draw(2) == 0 {
                            Fault::Throttle {
                                retry_after_s: secs,
                            }
                        } else {
                            Fault::Unavailable {
                                retry_after_s: Some(secs),
                            }
                        })
                        .on_path("ir.attachment"),
                    ),
                ),
            };
        if let Some(r) = graph {
            self.graph.emulator.faults().add(r);
        }
        if let Some(r) = odoo {
            self.odoo.emulator.faults().add(r);
        }
        self.note(what);
        what
    }

    // ------------------------------------------------------------------ the file cycle

    fn learn_file_links(&mut self, links: &[Link]) {
        for l in links {
            let t = &mut self.docs.touched.link_of;
            if let Some(o) = l.odoo_id {
                t.entry(format!("o:{o}")).or_default().insert(l.id);
            }
            if let Some(g) = &l.graph_id {
                t.entry(format!("g:{g}")).or_default().insert(l.id);
            }
        }
    }

    /// One file cycle after the calendar's, faults live, optionally crashing after `crash`
    /// persisted steps; what it did to either side is recorded for the checks.
    pub async fn file_cycle(
        &mut self,
        crash: Option<usize>,
        during: &str,
    ) -> Result<FileReport, EngineError> {
        let mut f = self.file_engine();
        f.crash_after(crash);
        let links = f.store().tx(|t| t.links(PROFILE, LinkKind::File)).unwrap();
        self.learn_file_links(&links);
        let before = self.doc_snapshot().await;
        let seen = self.graph.emulator.request_log().len();
        let seen_odoo = self.odoo.emulator.request_log().len();
        self.faults_live(true);
        let r = f.sync(CONFIRM).await;
        self.faults_live(false);
        if crate::tracing() {
            for q in self.graph.emulator.request_log().since(0).iter().skip(seen) {
                if q.path.contains("/drive") {
                    eprintln!("  {} {} → {} {:?}", q.method, q.path, q.status, q.fault);
                }
            }
            for q in self
                .odoo
                .emulator
                .request_log()
                .since(0)
                .iter()
                .skip(seen_odoo)
            {
                if q.path.contains("ir.attachment") {
                    eprintln!("  odoo {} → {} {:?}", q.path, q.status, q.fault);
                }
            }
        }
        let after = self.doc_snapshot().await;
        let links = f.store().tx(|t| t.links(PROFILE, LinkKind::File)).unwrap();
        self.park_files(f);
        self.learn_file_links(&links);
        let t = &mut self.docs.touched;
        for (id, b) in &before {
            match after.get(id) {
                Some(a) if a == b => {}
                Some(a) => {
                    say(|| format!("  file engine changed {id}: {b:?} → {a:?}"));
                    t.written.insert(id.clone());
                    if a.version != b.version {
                        t.destroyed.insert((id.clone(), b.version.clone()));
                    }
                }
                None => {
                    say(|| format!("  file engine removed {id}: {b:?}"));
                    t.written.insert(id.clone());
                    t.destroyed.insert((id.clone(), b.version.clone()));
                }
            }
        }
        for (id, a) in &after {
            if !before.contains_key(id) {
                say(|| format!("  file engine made {id}: {a:?}"));
                t.written.insert(id.clone());
                t.created.entry(id.clone()).or_insert_with(|| a.clone());
            }
        }
        self.account_mail(false, &format!("the file cycle of {during}"));
        let outcome = match &r {
            Ok(r) => format!(
                "{:?}: {} planned, {} done, {} waiting, failed {:?}, {} conflict(s), notices {:?}",
                r.outcome,
                r.planned.len(),
                r.jobs_done,
                r.jobs_waiting,
                r.failed,
                r.conflicts_opened,
                r.notices
            ),
            Err(e) => e.to_string(),
        };
        say(|| format!("file cycle ({during}): {outcome}"));
        self.note(outcome);
        let files: Vec<&DocItem> = after.values().collect();
        self.note(files);
        r
    }

    /// Alice settles the open file conflicts: at random in the rounds, for Odoo in the
    /// quiet phase; and (quiet phase) presses "retry" on the transfers that gave up.
    /// Returns how many conflicts were open.
    pub fn settle_files(&mut self, quiet: bool) -> usize {
        let mut f = self.file_engine();
        let open: Vec<ConflictRecord> = f
            .store()
            .tx(|t| t.open_conflicts(PROFILE))
            .unwrap()
            .into_iter()
            .filter(is_file_conflict)
            .collect();
        for c in &open {
            let choice = if quiet {
                FileConflictChoice::KeepOdoo
            } else {
                [
                    FileConflictChoice::KeepOdoo,
                    FileConflictChoice::KeepOneDrive,
                    FileConflictChoice::KeepBoth,
                ][self.draw(3)]
            };
            // Refused while the keep-both that opened it is still writing: she chooses
            // again later (it stays open, so the quiet phase does not end before).
            if let Err(e) = f.resolve_conflict(c.id, choice) {
                assert!(
                    matches!(e, EngineError::Invalid(_)),
                    "file conflict {}: {e}",
                    c.id
                );
                say(|| format!("file conflict {} not resolved yet: {e}", c.id));
                self.note(("file conflict refused", c.id));
                continue;
            }
            say(|| format!("file conflict {} resolved: {choice:?}", c.id));
            self.note(("file conflict", c.id, format!("{choice:?}")));
        }
        let mut retried = 0;
        if quiet {
            for e in f.failed().unwrap() {
                if let Some(job) = e.job_id {
                    say(|| format!("retry file job {job}: {e:?}"));
                    retried += usize::from(f.retry(job).unwrap());
                }
            }
        }
        self.park_files(f);
        self.note(retried);
        open.len() + retried
    }

    // ------------------------------------------------------------------ checks

    /// The documents' end checks, after the calendar's (faults off, settled).
    pub async fn check_docs(&mut self, seed: u64, writes_before: (u64, usize)) {
        // Quiescence: one more file cycle plans and writes nothing.
        let r = self.file_cycle(None, "the quiescence check").await.unwrap();
        assert!(
            r.planned.is_empty() && r.failed.is_empty() && r.jobs_waiting == 0,
            "seed {seed}: the file cycle is not quiet: planned {:?}, failed {:?}",
            r.planned
                .iter()
                .map(|p| (&p.item, &p.rule))
                .collect::<Vec<_>>(),
            r.failed
        );
        assert_eq!(
            crate::service_writes(self),
            writes_before,
            "seed {seed}: a further cycle wrote (files)"
        );

        // Convergence per record, by name and content.
        let snap = self.doc_snapshot().await;
        let mut sides: BTreeMap<(char, i64), Vec<(String, String)>> = BTreeMap::new();
        for (id, d) in &snap {
            let side = id.chars().next().unwrap_or('?');
            sides
                .entry((side, d.record))
                .or_default()
                .push((d.name.clone(), d.quick_xor.clone()));
        }
        for v in sides.values_mut() {
            v.sort();
        }
        for order in self.docs.orders.clone() {
            let o = sides.get(&('o', order)).cloned().unwrap_or_default();
            let g = sides.get(&('g', order)).cloned().unwrap_or_default();
            let g = same_names(&o, g);
            assert_eq!(
                o, g,
                "seed {seed}: sale order {order} has other files in Odoo than in OneDrive"
            );
        }
        for ((side, record), _) in sides.iter() {
            assert!(
                self.docs.orders.contains(record),
                "seed {seed}: files of {side}:{record}, which is no sale order"
            );
        }

        // No duplicates: every content Alice made is unique, so one of each per side.
        for side in ['o', 'g'] {
            let mut seen = BTreeSet::new();
            for (id, d) in snap.iter().filter(|(id, _)| id.starts_with(side)) {
                assert!(
                    seen.insert(&d.quick_xor),
                    "seed {seed}: {id} ({}) holds a content already on that side",
                    d.name
                );
            }
        }

        // Every file and attachment on exactly one link.
        let mut f = self.file_engine();
        let links = f.store().tx(|t| t.links(PROFILE, LinkKind::File)).unwrap();
        let mut linked: BTreeMap<String, usize> = BTreeMap::new();
        for l in &links {
            if let Some(o) = l.odoo_id {
                *linked.entry(format!("o:{o}")).or_default() += 1;
            }
            if let Some(g) = &l.graph_id {
                *linked.entry(format!("g:{g}")).or_default() += 1;
            }
        }
        for (id, d) in &snap {
            assert_eq!(
                linked.get(id).copied().unwrap_or(0),
                1,
                "seed {seed}: {id} ({} on {}) is not linked exactly once",
                d.name,
                d.record
            );
        }

        // No silent loss: each version the engine overwrote or deleted is journaled.
        let mut journal: BTreeSet<(String, String)> = BTreeSet::new();
        for id in 1.. {
            let Some(j) = f.store().tx(|t| t.journal_entry(id)).unwrap() else {
                break;
            };
            let c = &j.content;
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            match (j.side.as_str(), j.reason.as_str()) {
                ("odoo", _) if c.get("attachment_id").is_some() => {
                    journal.insert((format!("o:{}", c["attachment_id"]), s(&c["odoo"]["sha1"])));
                }
                ("microsoft", "overwritten") if c.get("item_id").is_some() => {
                    journal.insert((format!("g:{}", s(&c["item_id"])), s(&c["quick_xor"])));
                }
                ("microsoft", _) if c.get("item_id").is_some() => {
                    journal.insert((
                        format!("g:{}", s(&c["item_id"])),
                        s(&c["drive"]["quick_xor"]),
                    ));
                }
                _ => {}
            }
        }
        for d in &self.docs.touched.destroyed {
            assert!(
                journal.contains(d),
                "seed {seed}: the file engine overwrote or deleted {d:?} without a journal entry"
            );
        }

        // The audit log accounts for every file write.
        let audit = f
            .store()
            .tx(|t| t.audit(PROFILE, None, usize::MAX >> 1))
            .unwrap();
        self.park_files(f);
        let audited: BTreeSet<i64> = audit.iter().filter_map(|a| a.link_id).collect();
        // A link made and gone within one cycle is in no snapshot of the links: an upload
        // noted before a crash and deleted by Alice before the restart is linked as made,
        // and the same cycle takes her delete to Odoo (Found 39). Its audit lines name the
        // ids it joined.
        for a in &audit {
            let (Some(l), Some(d)) = (a.link_id, a.detail.as_ref()) else {
                continue;
            };
            let t = &mut self.docs.touched.link_of;
            if let Some(o) = d.get("attachment_id").and_then(|v| v.as_i64()) {
                t.entry(format!("o:{o}")).or_default().insert(l);
            }
            if let Some(g) = d.get("item_id").and_then(|v| v.as_str()) {
                t.entry(format!("g:{g}")).or_default().insert(l);
            }
        }
        if crate::tracing() {
            for a in audit.iter().rev() {
                eprintln!(
                    "audit: link {:?} {} {} {} {}",
                    a.link_id, a.item, a.op, a.origin, a.rule
                );
            }
        }
        for item in &self.docs.touched.written {
            // An item made on no link the sim saw (a cycle that crashed before it learned
            // the link) is accounted for by a line naming its record and name.
            let by_path = |d: &DocItem| {
                let path = format!("{MODEL}/{}/{}", d.record, d.name);
                audit.iter().any(|a| a.item == path)
            };
            if let Some(links) = self.docs.touched.link_of.get(item) {
                // A kept-both copy is audited on its own link (Found 8): no allowance.
                assert!(
                    links.iter().any(|l| audited.contains(l)),
                    "seed {seed}: the file engine wrote {item} (links {links:?}) without an \
                     audit line"
                );
                continue;
            }
            let Some(made) = self.docs.touched.created.get(item) else {
                panic!("seed {seed}: the file engine changed {item}, never linked")
            };
            assert!(
                by_path(made),
                "seed {seed}: the file engine created {item} ({}), never linked, without an \
                 audit line",
                made.name
            );
        }
    }
}
