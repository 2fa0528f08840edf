#![allow(clippy::unwrap_used)]
//! Documents sync against the fakes: every golden case of issue 7 (upload, edits both
//! ways, rename, move between records, deletes both ways, both-changed conflict, forbidden
//! names, 0-byte file, duplicate names, crash mid-upload, hash mismatch, 410 resync, lost
//! store), each ending with a quiescent cycle that writes nothing.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use odoo365_engine::files::{FileConfig, FileConflictChoice, FileReport, FileSync};
use odoo365_engine::testing::{FakeDrive, FakeOdooAttachments};
use odoo365_engine::{
    EngineError, Guard, JobState, LinkKind, ManualClock, Outcome, Store, SyncOptions,
};
use odoo365_sync_core::files::{DeletePolicy, Direction, FileOp};

const CONFIRM: SyncOptions = SyncOptions {
    dry_run: false,
    confirm: true,
};
const DRY: SyncOptions = SyncOptions {
    dry_run: true,
    confirm: false,
};
const SO: &str = "sale.order";
const CHOICES: [FileConflictChoice; 3] = [
    FileConflictChoice::KeepBoth,
    FileConflictChoice::KeepOdoo,
    FileConflictChoice::KeepOneDrive,
];

/// Files as `(name, content)`.
type Named = Vec<(String, Vec<u8>)>;

struct World {
    drive: FakeDrive,
    odoo: FakeOdooAttachments,
    clock: ManualClock,
    dir: tempfile::TempDir,
    tweak: fn(&mut FileConfig),
}

fn no_tweak(_: &mut FileConfig) {}

impl World {
    fn new() -> World {
        Self::with(no_tweak)
    }

    fn with(tweak: fn(&mut FileConfig)) -> World {
        let dir = tempfile::tempdir().unwrap();
        let w = World {
            drive: FakeDrive::new(),
            odoo: FakeOdooAttachments::new(),
            clock: ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()),
            dir,
            tweak,
        };
        w.fresh_store();
        w
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("sync.db")
    }

    fn fresh_store(&self) {
        let _ = std::fs::remove_file(self.db());
        let _ = std::fs::remove_file(self.dir.path().join("sync.db-wal"));
        let _ = std::fs::remove_file(self.dir.path().join("sync.db-shm"));
        let s = Store::open(&self.db()).unwrap();
        s.put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
            .unwrap();
    }

    fn cfg(&self) -> FileConfig {
        let mut c = FileConfig::new("p1", self.dir.path().join("spool"));
        c.id_check_every = chrono::Duration::zero();
        (self.tweak)(&mut c);
        c
    }

    fn engine(&self) -> FileSync {
        FileSync::new(
            Store::open(&self.db()).unwrap(),
            self.cfg(),
            Arc::new(self.drive.clone()),
            Arc::new(self.odoo.clone()),
            Arc::new(self.clock.clone()),
        )
        .unwrap()
    }

    async fn sync(&self) -> FileReport {
        self.clock.advance(chrono::Duration::minutes(5));
        self.engine().sync(CONFIRM).await.unwrap()
    }

    /// A cycle that must write nothing anywhere.
    async fn quiet(&self) {
        let (d, o) = (self.drive.writes(), self.odoo.writes());
        let r = self.sync().await;
        assert!(r.planned.is_empty(), "planned: {:?}", r.planned);
        assert_eq!(
            (self.drive.writes() - d, self.odoo.writes() - o),
            (0, 0),
            "a quiescent cycle wrote"
        );
    }

    /// A cycle on an engine killed after its `n`th persisted step; false when the cycle
    /// ended before that step (no crash point left).
    async fn sync_crashing_after(&self, n: usize) -> bool {
        let mut e = self.engine();
        e.crash_after(Some(n));
        match e.sync(CONFIRM).await {
            Err(EngineError::Crashed) => true,
            Ok(_) => false,
            Err(other) => panic!("{other}"),
        }
    }

    /// The next cycle (five minutes on), killed after its `n`th persisted step; false when
    /// it ended before that step.
    async fn next_cycle_crashing_after(&self, n: usize) -> bool {
        self.clock.advance(chrono::Duration::minutes(5));
        self.sync_crashing_after(n).await
    }

    /// The file jobs still pending or failed.
    fn jobs_left(&self) -> Vec<odoo365_engine::Job> {
        Store::open(&self.db())
            .unwrap()
            .tx(|t| {
                let mut j = t.jobs("p1", JobState::Pending)?;
                j.extend(t.jobs("p1", JobState::Failed)?);
                Ok(j)
            })
            .unwrap()
    }

    fn path(&self, p: &str) -> Option<String> {
        self.drive.find_path(&format!("Odoo Sync/{p}"))
    }

    fn file(&self, p: &str) -> Option<Vec<u8>> {
        self.path(p).and_then(|id| self.drive.content(&id))
    }

    /// Each side's files of sale order 1 as `(name, content)`, sorted: what the person sees
    /// in Odoo and in OneDrive.
    fn names_and_contents(&self) -> (Named, Named) {
        let mut odoo: Named = self
            .odoo
            .on_record(SO, 1)
            .into_iter()
            .map(|(_, n, c)| (n, c))
            .collect();
        odoo.sort();
        let drive = self
            .drive
            .files()
            .into_iter()
            .filter_map(|(path, c)| {
                let name = path.strip_prefix("Odoo Sync/sale.order/1/")?;
                Some((name.to_owned(), c))
            })
            .collect();
        (odoo, drive)
    }

    /// `plan.xlsx` on sale order 1, synced, then edited on both sides ("odoo edit",
    /// "onedrive edit") before the next cycle: a both-changed conflict to keep both of.
    /// Returns the attachment and the driveItem.
    async fn plan_edited_on_both_sides(&self) -> (i64, String) {
        let a = self.odoo.user_attach(SO, 1, "plan.xlsx", b"base");
        self.sync().await;
        let id = self.path("sale.order/1/plan.xlsx").unwrap();
        self.odoo.user_edit(a, b"odoo edit");
        self.drive.user_edit(&id, b"onedrive edit");
        (a, id)
    }

    /// The first open conflict's id.
    fn open_conflict(&self) -> i64 {
        Store::open(&self.db())
            .unwrap()
            .tx(|t| t.open_conflicts("p1"))
            .unwrap()[0]
            .id
    }

    fn file_links(&self) -> usize {
        Store::open(&self.db())
            .unwrap()
            .tx(|t| t.links("p1", LinkKind::File))
            .unwrap()
            .len()
    }
}

#[tokio::test]
async fn an_attachment_is_uploaded_into_its_record_folder_with_one_chatter_note() {
    let w = World::new();
    let a = w.odoo.user_attach(SO, 42, "quote.pdf", b"%PDF quote");
    let _other = w.odoo.user_attach("res.partner", 1, "not synced.pdf", b"x");
    w.odoo.user_attach_other(SO, 42, "image_1920", false);
    w.odoo
        .user_attach_other(SO, 42, "https://example.com", true);
    // The first sync pauses with its plan until confirmed.
    let r = w.engine().sync(SyncOptions::default()).await.unwrap();
    assert_eq!(
        r.outcome,
        Outcome::Paused {
            guards: vec![Guard::FirstSync]
        }
    );
    assert_eq!(w.odoo.writes() + w.drive.writes_of("upload_small"), 0);
    let r = w.sync().await;
    assert_eq!(r.outcome, Outcome::Synced);
    assert_eq!(r.jobs_done, 1, "{r:?}");
    assert_eq!(w.file("sale.order/42/quote.pdf").unwrap(), b"%PDF quote");
    assert_eq!(
        w.drive.files().len(),
        1,
        "field, URL and other-model attachments stay"
    );
    let notes = w.odoo.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].0.as_str(), notes[0].1), (SO, 42));
    assert!(
        notes[0].2.contains("Odoo%20Sync/sale.order/42"),
        "{}",
        notes[0].2
    );
    // The audit log says who caused it.
    let audit = Store::open(&w.db())
        .unwrap()
        .tx(|t| t.audit("p1", None, 10))
        .unwrap();
    assert!(audit
        .iter()
        .any(|e| e.op == "upload" && e.origin == "odoo" && e.rule == "new_in_odoo"));
    w.quiet().await;
    // A second attachment on the same record: no second note, no new folder.
    w.odoo.user_attach(SO, 42, "spec.docx", b"spec");
    w.sync().await;
    assert_eq!(w.odoo.notes().len(), 1);
    assert_eq!(w.drive.writes_of("ensure_folder"), 3, "root, model, record");
    assert!(w.odoo.attachment(a).is_some());
    w.quiet().await;
}

#[tokio::test]
async fn content_edits_flow_both_ways_and_a_resized_image_is_not_an_edit() {
    let w = World::new();
    let a = w.odoo.user_attach(SO, 1, "notes.txt", b"v1");
    w.sync().await;
    let id = w.path("sale.order/1/notes.txt").unwrap();
    w.odoo.user_edit(a, b"v2 from odoo");
    w.sync().await;
    assert_eq!(w.drive.content(&id).unwrap(), b"v2 from odoo");
    w.quiet().await;
    w.drive.user_edit(&id, b"v3 from onedrive");
    w.sync().await;
    assert_eq!(w.odoo.content(a).unwrap(), b"v3 from onedrive");
    w.quiet().await;

    // Odoo stores a smaller image than it was given: its checksum is re-read and the
    // image is not uploaded back.
    w.odoo.resize_images(true);
    let folder = w.path("sale.order/1").unwrap();
    let img = w.drive.user_upload(&folder, "photo.png", &[7u8; 100]);
    w.sync().await;
    let (att, _, content) = w
        .odoo
        .on_record(SO, 1)
        .into_iter()
        .find(|(_, n, _)| n == "photo.png")
        .unwrap();
    assert_eq!(content.len(), 50);
    assert_eq!(w.drive.content(&img).unwrap().len(), 100);
    w.quiet().await;
    assert!(w.odoo.attachment(att).is_some());
}

#[tokio::test]
async fn renames_and_moves_between_records_follow_both_ways() {
    let w = World::new();
    let a = w.odoo.user_attach(SO, 1, "a.pdf", b"a");
    let b = w.odoo.user_attach(SO, 1, "b.pdf", b"b");
    w.odoo.add_record(SO, 2);
    w.odoo.add_record(SO, 3);
    w.sync().await;
    let bid = w.path("sale.order/1/b.pdf").unwrap();

    w.odoo.user_rename(a, "a renamed.pdf");
    w.drive.user_rename(&bid, "b renamed.pdf");
    let uploads = w.drive.writes_of("upload_small");
    w.sync().await;
    assert!(w.path("sale.order/1/a renamed.pdf").is_some());
    assert_eq!(w.odoo.attachment(b).unwrap().name, "b renamed.pdf");
    assert_eq!(
        w.drive.writes_of("upload_small"),
        uploads,
        "a rename moves no content"
    );
    w.quiet().await;

    w.odoo.user_move(a, SO, 2);
    let folder3 = w.drive.user_mkdirs("Odoo Sync/sale.order/3");
    w.drive.user_move(&bid, &folder3);
    w.sync().await;
    assert_eq!(w.file("sale.order/2/a renamed.pdf").unwrap(), b"a");
    assert_eq!(w.odoo.attachment(b).unwrap().res_id, 3);
    assert_eq!(w.drive.writes_of("upload_small"), uploads);
    w.quiet().await;

    // A folder that names no readable record: reported, nothing guessed.
    w.odoo.make_unreadable(SO, 9);
    let nine = w.drive.user_mkdirs("Odoo Sync/sale.order/9");
    w.drive.user_upload(&nine, "secret.pdf", b"s");
    let odd = w.drive.user_mkdirs("Odoo Sync/sale.order/not-a-number");
    w.drive.user_upload(&odd, "odd.pdf", b"o");
    let r = w.sync().await;
    assert_eq!(r.unplaced.len(), 2, "{r:?}");
    assert!(w
        .odoo
        .documents()
        .iter()
        .all(|(_, n, _)| n != "secret.pdf" && n != "odd.pdf"));
}

#[tokio::test]
async fn deletes_follow_both_ways_into_the_recycle_bin_or_per_policy() {
    let w = World::new();
    let a = w.odoo.user_attach(SO, 1, "a.pdf", b"a");
    let b = w.odoo.user_attach(SO, 1, "b.pdf", b"b");
    w.sync().await;
    let aid = w.path("sale.order/1/a.pdf").unwrap();
    let bid = w.path("sale.order/1/b.pdf").unwrap();
    w.odoo.user_delete(a);
    w.drive.user_delete(&bid);
    w.sync().await;
    assert!(w.drive.in_recycle_bin(&aid));
    assert!(w.odoo.attachment(b).is_none());
    assert_eq!(w.file_links(), 0);
    let journal = Store::open(&w.db())
        .unwrap()
        .tx(|t| t.journal_entry(1))
        .unwrap();
    assert!(journal.is_some(), "deletes are journaled");
    w.quiet().await;

    // Policy keep: the attachment stays and is not uploaded again.
    let w = World::with(|c| c.settings.on_drive_delete = DeletePolicy::Keep);
    let a = w.odoo.user_attach(SO, 1, "a.pdf", b"a");
    w.sync().await;
    let aid = w.path("sale.order/1/a.pdf").unwrap();
    w.drive.user_delete(&aid);
    w.sync().await;
    assert!(w.odoo.attachment(a).is_some());
    assert!(w.path("sale.order/1/a.pdf").is_none());
    w.quiet().await;
    // Edited later in Odoo, it goes back.
    w.odoo.user_edit(a, b"a2");
    w.sync().await;
    assert_eq!(w.file("sale.order/1/a.pdf").unwrap(), b"a2");
    w.quiet().await;
}

#[tokio::test]
async fn both_changed_keeps_both_versions_and_opens_a_conflict() {
    let w = World::new();
    let (_, id) = w.plan_edited_on_both_sides().await;
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 1);
    // OneDrive keeps its edit in place; Odoo's version is a dated copy next to it.
    assert_eq!(w.drive.content(&id).unwrap(), b"onedrive edit");
    assert_eq!(
        w.file("sale.order/1/plan (Odoo conflict 2026-11-23).xlsx")
            .unwrap(),
        b"odoo edit"
    );
    // Odoo has both versions too.
    let mut contents: Vec<Vec<u8>> = w.odoo.on_record(SO, 1).into_iter().map(|x| x.2).collect();
    contents.sort();
    assert_eq!(
        contents,
        vec![b"odoo edit".to_vec(), b"onedrive edit".to_vec()]
    );
    assert_eq!(w.file_links(), 2);
    let open = Store::open(&w.db())
        .unwrap()
        .tx(|t| t.open_conflicts("p1"))
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "content");
    w.quiet().await;

    // Edit against delete: the edit wins and the user is told.
    let id2 = w.path("sale.order/1/plan.xlsx").unwrap();
    w.drive.user_edit(&id2, b"edited again");
    let linked = w
        .odoo
        .on_record(SO, 1)
        .into_iter()
        .find(|x| x.2 == b"onedrive edit")
        .unwrap()
        .0;
    w.odoo.user_delete(linked);
    let r = w.sync().await;
    assert_eq!(r.notices.len(), 1, "{r:?}");
    assert!(w
        .odoo
        .on_record(SO, 1)
        .iter()
        .any(|x| x.2 == b"edited again"));
    w.quiet().await;
}

#[tokio::test]
async fn forbidden_names_zero_bytes_and_duplicates_all_survive() {
    let w = World::new();
    let names = [
        "a\"b*c:d<e>f?g/h\\i|j.txt",
        "CON.txt",
        " lead.pdf",
        "trail.",
        "~$lock.docx",
        "my_vti_file.txt",
        ".lock",
        "desktop.ini",
    ];
    for n in names {
        w.odoo.user_attach(SO, 5, n, n.as_bytes());
    }
    let empty = w.odoo.user_attach(SO, 5, "empty.bin", b"");
    w.odoo.user_attach(SO, 5, "dup.pdf", b"first");
    w.odoo.user_attach(SO, 5, "dup.pdf", b"second");
    let r = w.sync().await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let folder = w.path("sale.order/5").unwrap();
    let listed = w.drive.children(&folder);
    assert_eq!(listed.len(), names.len() + 3, "{listed:?}");
    for n in &listed {
        assert!(odoo365_sync_core::files::names::is_safe(n), "{n:?}");
    }
    assert!(listed.contains(&"dup.pdf".to_owned()) && listed.contains(&"dup (2).pdf".to_owned()));
    assert_eq!(w.file("sale.order/5/empty.bin").unwrap(), b"");
    // Odoo keeps the original names.
    let odoo_names: Vec<String> = w.odoo.on_record(SO, 5).into_iter().map(|x| x.1).collect();
    for n in names {
        assert!(odoo_names.contains(&n.to_owned()));
    }
    assert!(w.odoo.attachment(empty).is_some());
    w.quiet().await;

    // A file dropped in OneDrive under a mapped name comes back with the original name.
    w.drive.user_upload(&folder, "q：a.txt", b"q");
    w.sync().await;
    assert!(w.odoo.on_record(SO, 5).iter().any(|x| x.1 == "q:a.txt"));
    w.quiet().await;
}

fn big(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 253) as u8).collect()
}

fn small_uploads(c: &mut FileConfig) {
    c.simple_upload_max = 1024;
    c.fragment_size = 320 * 1024;
}

#[tokio::test]
async fn a_crash_mid_upload_resumes_from_the_saved_offset() {
    let size = 4 * 320 * 1024 + 1000;
    let data = big(size);
    let mut crashed_mid_upload = false;
    for n in 1..40 {
        let w = World::with(small_uploads);
        w.odoo.user_attach(SO, 1, "big.bin", &data);
        if !w.sync_crashing_after(n).await {
            break;
        }
        let sent = w.drive.bytes_received();
        if sent > 0 && sent < size as u64 {
            crashed_mid_upload = true;
        }
        // Restart: the upload continues, nothing is sent twice.
        let r = w.sync().await;
        assert!(r.failed.is_empty(), "{r:?}");
        assert_eq!(
            w.file("sale.order/1/big.bin").unwrap(),
            data,
            "crash after {n}"
        );
        assert_eq!(
            w.drive.bytes_received(),
            size as u64,
            "crash after {n}: bytes resent"
        );
        assert_eq!(w.drive.files().len(), 1);
        assert_eq!(w.file_links(), 1);
        w.quiet().await;
    }
    assert!(crashed_mid_upload, "no crash point fell inside the upload");
}

#[tokio::test]
async fn a_large_file_yields_to_small_ones_between_fragments() {
    let w = World::with(|c| {
        small_uploads(c);
        c.large_bytes_per_drain = 320 * 1024;
    });
    let data = big(3 * 320 * 1024);
    w.odoo.user_attach(SO, 1, "big.bin", &data);
    w.odoo.user_attach(SO, 1, "small.txt", b"small");
    let r = w.sync().await;
    // The small file is done in the first cycle; the large one has sent a fragment or two.
    assert!(w.file("sale.order/1/small.txt").is_some());
    assert!(w.file("sale.order/1/big.bin").is_none());
    assert!(r.jobs_waiting >= 1);
    let mut cycles = 0;
    while w.file("sale.order/1/big.bin").is_none() {
        w.odoo.user_attach(SO, 2, &format!("s{cycles}.txt"), b"s");
        w.sync().await;
        assert!(
            w.file(&format!("sale.order/2/s{cycles}.txt")).is_some(),
            "small files never wait"
        );
        cycles += 1;
        assert!(cycles < 10);
    }
    assert_eq!(w.file("sale.order/1/big.bin").unwrap(), data);
    assert_eq!(w.drive.bytes_received(), data.len() as u64);
    w.quiet().await;
}

#[tokio::test]
async fn a_hash_mismatch_is_retried_then_reported_and_never_written() {
    let w = World::new();
    w.odoo.add_record(SO, 1);
    let folder = w.drive.user_mkdirs("Odoo Sync/sale.order/1");
    w.drive.user_upload(&folder, "scan.pdf", b"scan");
    // One bad download: retried in the next cycle, then fine.
    w.drive.corrupt_next_downloads(1);
    let r = w.sync().await;
    assert!(
        w.odoo.on_record(SO, 1).is_empty(),
        "nothing half-checked reaches Odoo"
    );
    assert_eq!(r.jobs_waiting, 1);
    w.sync().await;
    assert_eq!(w.odoo.on_record(SO, 1)[0].2, b"scan");
    w.quiet().await;

    // Every attempt bad: reported with a Retry, and nothing written.
    w.drive.user_upload(&folder, "bad.pdf", b"bad");
    w.drive.corrupt_next_downloads(3);
    for _ in 0..3 {
        w.sync().await;
    }
    let failed = w.engine().failed().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].message.contains("content check failed"),
        "{failed:?}"
    );
    assert!(w.odoo.on_record(SO, 1).iter().all(|x| x.1 != "bad.pdf"));
    assert!(w.engine().retry(failed[0].job_id.unwrap()).unwrap());
    w.sync().await;
    assert!(w.odoo.on_record(SO, 1).iter().any(|x| x.2 == b"bad"));

    // OneDrive stores other bytes than were sent: the upload is discarded and redone.
    w.odoo.user_attach(SO, 1, "up.txt", b"up");
    w.drive.corrupt_next_uploads(1);
    w.sync().await;
    w.sync().await;
    assert_eq!(w.file("sale.order/1/up.txt").unwrap(), b"up");
    // An attachment whose download does not match its checksum is not uploaded.
    w.odoo.user_attach(SO, 1, "o.txt", b"o");
    w.odoo.corrupt_next_downloads(1);
    w.sync().await;
    assert!(w.file("sale.order/1/o.txt").is_none());
    w.sync().await;
    assert_eq!(w.file("sale.order/1/o.txt").unwrap(), b"o");
    w.quiet().await;
}

#[tokio::test]
async fn a_410_resync_reconciles_against_the_links_without_duplicates() {
    let w = World::new();
    let a = w.odoo.user_attach(SO, 1, "a.pdf", b"a");
    w.odoo.user_attach(SO, 1, "b.pdf", b"b");
    w.sync().await;
    let bid = w.path("sale.order/1/b.pdf").unwrap();
    w.drive.expire_delta_links();
    w.drive.user_edit(&bid, b"b2");
    w.odoo.user_edit(a, b"a2");
    let r = w.sync().await;
    assert!(r.resynced);
    assert_eq!(w.drive.files().len(), 2);
    assert_eq!(w.odoo.on_record(SO, 1).len(), 2);
    assert_eq!(w.file("sale.order/1/a.pdf").unwrap(), b"a2");
    assert!(w.odoo.on_record(SO, 1).iter().any(|x| x.2 == b"b2"));
    w.quiet().await;
}

#[tokio::test]
async fn a_lost_store_is_rebuilt_by_path_and_hash_without_duplicates() {
    let w = World::new();
    for (i, n) in ["a.pdf", "b:c.pdf", "dup.pdf", "dup.pdf", "empty"]
        .iter()
        .enumerate()
    {
        let content = if *n == "empty" {
            Vec::new()
        } else {
            format!("{n}{i}").into_bytes()
        };
        w.odoo.user_attach(SO, 1 + (i as i64 % 2), n, &content);
    }
    w.sync().await;
    let (files, docs) = (w.drive.files(), w.odoo.documents());
    let links = w.file_links();
    w.fresh_store();
    let (dw, ow) = (w.drive.writes(), w.odoo.writes());
    let r = w.sync().await;
    assert_eq!(r.relinked, links, "{r:?}");
    assert_eq!(
        (w.drive.writes() - dw, w.odoo.writes() - ow),
        (0, 0),
        "relinking writes nothing"
    );
    assert_eq!(w.drive.files(), files);
    assert_eq!(w.odoo.documents(), docs);
    assert_eq!(w.file_links(), links);
    w.quiet().await;
    // Edits after the rebuild follow as before.
    let id = w.path("sale.order/1/a.pdf").unwrap();
    w.drive.user_edit(&id, b"after");
    w.sync().await;
    assert!(w.odoo.documents().iter().any(|x| x.2 == b"after"));
}

#[tokio::test]
async fn dry_run_lists_file_operations_and_the_mass_change_guard_pauses() {
    let w = World::new();
    let ids: Vec<i64> = (0..30)
        .map(|i| w.odoo.user_attach(SO, 1, &format!("f{i}.txt"), b"x"))
        .collect();
    let r = w.engine().sync(DRY).await.unwrap();
    assert_eq!(r.outcome, Outcome::DryRun);
    assert_eq!(r.planned.len(), 30);
    assert!(matches!(r.planned[0].ops[0], FileOp::DriveCreate { .. }));
    assert_eq!(w.drive.writes() + w.odoo.writes(), 0);
    assert!(
        w.drive.find_path("Odoo Sync").is_none(),
        "a dry run creates nothing"
    );
    w.sync().await;
    assert_eq!(w.drive.files().len(), 30);
    for id in &ids {
        w.odoo.user_delete(*id);
    }
    let r = w.engine().sync(SyncOptions::default()).await.unwrap();
    assert!(
        matches!(r.outcome, Outcome::Paused { .. }),
        "{:?}",
        r.outcome
    );
    assert_eq!(w.drive.files().len(), 30, "nothing deleted while paused");
    w.sync().await;
    assert_eq!(w.drive.files().len(), 0);
}

#[tokio::test]
async fn one_way_leaves_the_target_side_edits_alone_and_loses_nothing() {
    let w = World::with(|c| c.settings.direction = Direction::OdooToDrive);
    let a = w.odoo.user_attach(SO, 1, "a.txt", b"v1");
    w.sync().await;
    let id = w.path("sale.order/1/a.txt").unwrap();
    w.drive.user_edit(&id, b"onedrive edit");
    w.sync().await;
    assert_eq!(
        w.odoo.content(a).unwrap(),
        b"v1",
        "OneDrive edits do not flow back"
    );
    w.quiet().await;
    // A later Odoo edit meets the OneDrive edit: both kept.
    w.odoo.user_edit(a, b"v2");
    w.sync().await;
    assert_eq!(w.drive.content(&id).unwrap(), b"onedrive edit");
    assert_eq!(
        w.file("sale.order/1/a (Odoo conflict 2026-11-23).txt")
            .unwrap(),
        b"v2"
    );
    // One way to OneDrive never writes Odoo: the copy's dated name is OneDrive's alone.
    assert_eq!(w.odoo.attachment(a).unwrap().name, "a.txt");
    w.quiet().await;
}

#[tokio::test]
async fn a_lost_answer_on_create_does_not_duplicate() {
    let w = World::new();
    w.odoo.user_attach(SO, 1, "a.txt", b"a");
    w.drive.lose_answer_of_next("upload_small");
    w.sync().await;
    w.sync().await;
    assert_eq!(w.drive.files().len(), 1);
    w.quiet().await;
    let folder = w.path("sale.order/1").unwrap();
    w.drive.user_upload(&folder, "b.txt", b"b");
    w.odoo.lose_answer_of_next("create");
    w.sync().await;
    w.sync().await;
    assert_eq!(w.odoo.on_record(SO, 1).len(), 2);
    assert_eq!(w.file_links(), 2);
    w.quiet().await;
}

/// `a.txt` synced on sale order 1, then `b.txt` attached and uploaded with its answer
/// lost (the job waits, *maybe applied*): the world, the attachment and the landed file.
async fn lost_upload_of_b() -> (World, i64, String) {
    let w = World::new();
    w.odoo.user_attach(SO, 1, "a.txt", b"a");
    w.sync().await;
    let a = w.odoo.user_attach(SO, 1, "b.txt", b"b");
    w.drive.lose_answer_of_next("upload_small");
    w.sync().await;
    let id = w.path("sale.order/1/b.txt").unwrap();
    (w, a, id)
}

/// Sim seed 1887: an upload whose answer was lost landed; Alice renamed the new file in
/// OneDrive before the job was resumed. The resumed job looked for its upload by the name
/// it sent, found nothing and uploaded again: the content twice in OneDrive, and the
/// renamed one came back to Odoo as a second attachment. Now the changes since the last
/// observation are read for an unlinked file with that content, which is adopted; her
/// rename then reaches Odoo.
#[tokio::test]
async fn a_lost_upload_renamed_in_onedrive_before_the_retry_is_adopted_not_sent_again() {
    let (w, a, id) = lost_upload_of_b().await;
    w.drive.user_rename(&id, "c.txt");
    w.sync().await;
    w.sync().await;
    let (odoo, drive) = w.names_and_contents();
    let want = named(&[("a.txt", b"a"), ("c.txt", b"b")]);
    assert_eq!((odoo, drive), (want.clone(), want));
    assert_eq!(
        w.odoo.on_record(SO, 1).iter().filter(|x| x.0 == a).count(),
        1
    );
    assert_eq!(w.file_links(), 2);
    w.quiet().await;
}

/// The same with a move: Alice put the landed upload in another record's folder before the
/// job resumed. It is adopted too, and the move reaches Odoo.
#[tokio::test]
async fn a_lost_upload_moved_in_onedrive_before_the_retry_is_adopted_and_the_move_follows() {
    let (w, a, id) = lost_upload_of_b().await;
    w.odoo.add_record(SO, 2);
    let folder2 = w.drive.user_mkdirs("Odoo Sync/sale.order/2");
    w.drive.user_move(&id, &folder2);
    w.sync().await;
    w.sync().await;
    assert_eq!(w.drive.files().len(), 2, "{:?}", w.drive.files());
    assert_eq!(w.file("sale.order/2/b.txt").unwrap(), b"b");
    let moved = w.odoo.attachment(a).unwrap();
    assert_eq!((moved.res_model.as_str(), moved.res_id), (SO, 2));
    assert_eq!(w.odoo.on_record(SO, 1).len(), 1);
    assert_eq!(w.file_links(), 2);
    w.quiet().await;
}

/// Sim seed 37: an upload landed, then a crash before its link was written; before the
/// restart Alice moved the new file to another record's folder (or deleted it), and the
/// delta link expired. The resumed job looked for its upload by name, found nothing (and
/// could not read what changed since), and uploaded it again: the content twice, the
/// moved one back in Odoo as a second attachment. The upload is now noted the moment
/// OneDrive answers: her move reaches Odoo, her delete too, and nothing is sent again.
#[tokio::test]
async fn an_upload_moved_or_deleted_in_onedrive_after_a_crash_is_not_sent_again() {
    for deleted in [false, true] {
        let mut landed = 0;
        for n in 1..40 {
            let w = World::new();
            w.odoo.user_attach(SO, 1, "a.txt", b"a");
            w.odoo.add_record(SO, 2);
            w.sync().await;
            let b = w.odoo.user_attach(SO, 1, "b.txt", b"b");
            let uploads = w.drive.writes_of("upload_small");
            if !w.next_cycle_crashing_after(n).await {
                break;
            }
            // Only the crash points between the upload's answer and its link.
            let Some(id) = w.path("sale.order/1/b.txt") else {
                continue;
            };
            if w.file_links() != 1 {
                continue;
            }
            landed += 1;
            if deleted {
                w.drive.user_delete(&id);
            } else {
                let folder2 = w.drive.user_mkdirs("Odoo Sync/sale.order/2");
                w.drive.user_move(&id, &folder2);
            }
            w.drive.expire_delta_links();
            w.sync().await;
            w.sync().await;
            assert_eq!(
                w.drive.writes_of("upload_small"),
                uploads + 1,
                "crash after {n}, deleted {deleted}: uploaded again"
            );
            let (odoo, drive) = w.names_and_contents();
            assert_eq!(odoo, drive, "crash after {n}, deleted {deleted}");
            if deleted {
                assert_eq!(odoo, named(&[("a.txt", b"a")]), "crash after {n}");
                assert!(w.odoo.attachment(b).is_none(), "crash after {n}");
                let journaled = Store::open(&w.db())
                    .unwrap()
                    .tx(|t| t.journal_entry(1))
                    .unwrap();
                assert!(
                    journaled.is_some(),
                    "crash after {n}: the delete is journaled"
                );
            } else {
                assert_eq!(w.file("sale.order/2/b.txt").unwrap(), b"b");
                let moved = w.odoo.attachment(b).unwrap();
                assert_eq!((moved.res_model.as_str(), moved.res_id), (SO, 2));
                assert_eq!(w.file_links(), 2, "crash after {n}");
            }
            w.quiet().await;
        }
        assert!(landed > 0, "no crash point between the upload and its link");
    }
}

/// The same from OneDrive to Odoo: a new OneDrive file's attachment was made, then a crash
/// before its link was written; before the restart Alice deleted the new attachment in
/// Odoo (or moved it to another record). Odoo has no `transactionId`, and what changed
/// since the observation does not show a deleted attachment: the restart made it again,
/// her delete undone. The attachment is now noted the moment Odoo answers.
#[tokio::test]
async fn an_attachment_deleted_or_moved_in_odoo_after_a_crash_is_not_made_again() {
    for deleted in [true, false] {
        let mut landed = 0;
        for n in 1..40 {
            let w = World::new();
            w.odoo.user_attach(SO, 1, "a.txt", b"a");
            w.odoo.add_record(SO, 2);
            w.sync().await;
            let folder = w.path("sale.order/1").unwrap();
            let id = w.drive.user_upload(&folder, "b.txt", b"b");
            let creates = w.odoo.writes_of("create");
            if !w.next_cycle_crashing_after(n).await {
                break;
            }
            // Only the crash points between the attachment's create and its link.
            let Some((att, _, _)) = w.odoo.on_record(SO, 1).into_iter().find(|x| x.1 == "b.txt")
            else {
                continue;
            };
            if w.file_links() != 1 {
                continue;
            }
            landed += 1;
            if deleted {
                w.odoo.user_delete(att);
            } else {
                w.odoo.user_move(att, SO, 2);
            }
            w.sync().await;
            w.sync().await;
            let case = format!("crash after {n}, deleted {deleted}");
            assert_eq!(
                w.odoo.writes_of("create"),
                creates + 1,
                "{case}: made again"
            );
            let (odoo, drive) = w.names_and_contents();
            assert_eq!(odoo, drive, "{case}");
            if deleted {
                assert_eq!(odoo, named(&[("a.txt", b"a")]), "{case}");
                assert!(w.drive.in_recycle_bin(&id), "{case}");
            } else {
                assert_eq!(w.file("sale.order/2/b.txt").unwrap(), b"b", "{case}");
                assert_eq!(w.file_links(), 2, "{case}");
            }
            w.quiet().await;
        }
        assert!(landed > 0, "no crash point between the create and its link");
    }
}

/// Sim seed 1906: an upload that landed before a crash (or a lost answer) was edited by
/// Alice in OneDrive before the job resumed. The job found another content under its name,
/// sent its upload there again and met 409 for good; her version was never brought to
/// Odoo. Nothing tells her edit from a file of hers made under that name meanwhile, so
/// both versions are kept: the upload goes under a free name, hers comes to Odoo.
#[tokio::test]
async fn a_lost_upload_edited_in_onedrive_before_the_retry_keeps_both_versions() {
    let (w, _, id) = lost_upload_of_b().await;
    w.drive.user_edit(&id, b"b edited");
    let r = w.sync().await;
    assert!(r.failed.is_empty(), "{r:?}");
    let r = w.sync().await;
    assert!(r.failed.is_empty(), "{r:?}");
    let (odoo, drive) = w.names_and_contents();
    let contents = |n: &Named| {
        let mut c: Vec<Vec<u8>> = n.iter().map(|x| x.1.clone()).collect();
        c.sort();
        c
    };
    let want = vec![b"a".to_vec(), b"b".to_vec(), b"b edited".to_vec()];
    assert_eq!((contents(&odoo), contents(&drive)), (want.clone(), want));
    // The same names on both sides (sim seed 1852): the upload put aside names its
    // attachment too, so when Alice deletes her version the names still agree.
    assert_eq!(odoo, drive);
    assert_eq!(w.file_links(), 3);
    w.quiet().await;
    w.drive.user_delete(&id);
    w.sync().await;
    let (odoo, drive) = w.names_and_contents();
    assert_eq!(odoo, drive);
    assert_eq!(odoo.len(), 2, "{odoo:?}");
    w.quiet().await;
}

/// Sim seed 529: the same on the Odoo side. A OneDrive file's attachment was created, the
/// job cut off (a lost answer, or a crash) before it heard back; Alice renamed the new
/// attachment in Odoo before the job resumed, which looked for it by name and created a
/// second one. Now what Odoo made since the last observation is searched by content.
#[tokio::test]
async fn a_lost_attachment_create_renamed_in_odoo_before_the_retry_is_adopted_not_made_again() {
    let w = World::new();
    w.odoo.user_attach(SO, 1, "a.txt", b"a");
    w.sync().await;
    let folder = w.path("sale.order/1").unwrap();
    w.drive.user_upload(&folder, "b.txt", b"b");
    w.odoo.lose_answer_of_next("create");
    w.sync().await;
    let made = w
        .odoo
        .on_record(SO, 1)
        .into_iter()
        .find(|x| x.1 == "b.txt")
        .unwrap();
    w.odoo.user_rename(made.0, "c.txt");
    w.sync().await;
    w.sync().await;
    let (odoo, drive) = w.names_and_contents();
    let want = named(&[("a.txt", b"a"), ("c.txt", b"b")]);
    assert_eq!((odoo, drive), (want.clone(), want));
    assert_eq!(w.file_links(), 2);
    w.quiet().await;
}

#[tokio::test]
async fn a_content_conflict_is_resolved_by_the_users_choice() {
    for choice in CHOICES {
        let w = World::new();
        w.plan_edited_on_both_sides().await;
        w.sync().await;
        let conflict = w.open_conflict();
        let mut e = w.engine();
        e.resolve_conflict(conflict, choice).unwrap();
        assert!(matches!(
            e.resolve_conflict(conflict, choice),
            Err(EngineError::NoSuchConflict(_))
        ));
        drop(e);
        w.sync().await;
        let odoo: Vec<Vec<u8>> = w.odoo.on_record(SO, 1).into_iter().map(|x| x.2).collect();
        let drive: Vec<Vec<u8>> = w.drive.files().into_iter().map(|x| x.1).collect();
        match choice {
            FileConflictChoice::KeepBoth => {
                assert_eq!((odoo.len(), drive.len()), (2, 2));
            }
            FileConflictChoice::KeepOdoo => {
                assert_eq!(odoo, vec![b"odoo edit".to_vec()]);
                // The copy gets its name back on both sides.
                assert_eq!(w.odoo.on_record(SO, 1)[0].1, "plan.xlsx");
                assert_eq!(w.file("sale.order/1/plan.xlsx").unwrap(), b"odoo edit");
                assert_eq!(drive.len(), 1);
            }
            FileConflictChoice::KeepOneDrive => {
                assert_eq!(odoo, vec![b"onedrive edit".to_vec()]);
                assert_eq!(w.file("sale.order/1/plan.xlsx").unwrap(), b"onedrive edit");
                assert_eq!(drive.len(), 1);
            }
        }
        assert!(Store::open(&w.db())
            .unwrap()
            .tx(|t| t.open_conflicts("p1"))
            .unwrap()
            .is_empty());
        w.quiet().await;
    }
}

#[tokio::test]
async fn one_refused_file_does_not_hold_up_the_others() {
    let w = World::new();
    w.odoo.add_record(SO, 1);
    let folder = w.drive.user_mkdirs("Odoo Sync/sale.order/1");
    w.drive.user_upload(&folder, "a.txt", b"a");
    w.drive.user_upload(&folder, "b.txt", b"b");
    w.odoo.user_attach(SO, 1, "c.txt", b"c");
    w.odoo.fail_next(
        "create",
        odoo365_engine::PortError::Rejected {
            message: "access denied".into(),
        },
    );
    let r = w.sync().await;
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert_eq!(
        w.odoo.on_record(SO, 1).len(),
        2,
        "the other file and c.txt went on"
    );
    assert!(w.file("sale.order/1/c.txt").is_some());
    let job = r.failed[0].job_id.unwrap();
    assert!(w.engine().retry(job).unwrap());
    w.sync().await;
    assert_eq!(w.odoo.on_record(SO, 1).len(), 3);
    w.quiet().await;
}

/// The mixed cycle of the crash test: one change of every kind, on both sides.
fn mixed_changes(w: &World) {
    let on = |r: i64, n: &str| {
        w.odoo
            .on_record(SO, r)
            .into_iter()
            .find(|x| x.1 == n)
            .unwrap()
            .0
    };
    w.odoo.user_edit(on(1, "edit-in-odoo.txt"), b"odoo v2");
    let id = w.path("sale.order/1/edit-in-onedrive.txt").unwrap();
    w.drive.user_edit(&id, b"onedrive v2");
    w.odoo.user_rename(on(1, "rename.txt"), "renamed.txt");
    w.odoo.user_move(on(1, "move.txt"), SO, 2);
    w.odoo.user_delete(on(1, "delete-in-odoo.txt"));
    let id = w.path("sale.order/1/delete-in-onedrive.txt").unwrap();
    w.drive.user_delete(&id);
    let both = on(2, "both.txt");
    w.odoo.user_edit(both, b"both odoo");
    let id = w.path("sale.order/2/both.txt").unwrap();
    w.drive.user_edit(&id, b"both onedrive");
    w.odoo.user_attach(SO, 2, "new in odoo.txt", b"new o");
    let f = w.path("sale.order/2").unwrap();
    w.drive.user_upload(&f, "new in onedrive.txt", b"new d");
    w.odoo
        .user_attach(SO, 2, "big.bin", &big(2 * 320 * 1024 + 5));
}

fn mixed_world() -> World {
    let w = World::with(small_uploads);
    for n in [
        "edit-in-odoo.txt",
        "edit-in-onedrive.txt",
        "rename.txt",
        "move.txt",
        "delete-in-odoo.txt",
        "delete-in-onedrive.txt",
    ] {
        w.odoo.user_attach(SO, 1, n, n.as_bytes());
    }
    w.odoo.user_attach(SO, 2, "both.txt", b"both");
    w
}

type EndState = (Vec<(String, String, Vec<u8>)>, Vec<(String, Vec<u8>)>);

async fn settle(w: &World) -> EndState {
    for _ in 0..4 {
        w.sync().await;
    }
    w.quiet().await;
    (w.odoo.documents(), w.drive.files())
}

#[tokio::test]
async fn a_crash_at_any_step_of_a_mixed_cycle_converges_to_the_same_end() {
    let reference = {
        let w = mixed_world();
        w.sync().await;
        mixed_changes(&w);
        settle(&w).await
    };
    assert_eq!(reference.0.len(), reference.1.len());
    let mut crashes = 0;
    for n in 1..200 {
        let w = mixed_world();
        w.sync().await;
        mixed_changes(&w);
        let mut e = w.engine();
        e.crash_after(Some(n));
        w.clock.advance(chrono::Duration::minutes(5));
        match e.sync(CONFIRM).await {
            Err(EngineError::Crashed) => crashes += 1,
            Ok(_) => break,
            Err(other) => panic!("{other}"),
        }
        drop(e);
        assert_eq!(settle(&w).await, reference, "crash after step {n}");
    }
    assert!(crashes > 20, "only {crashes} crash points");
}

#[tokio::test]
async fn a_thousand_files_cost_a_few_requests_each_and_a_no_op_cycle_three() {
    let w = World::with(|c| c.guards.mass_count = usize::MAX);
    for i in 0..1000i64 {
        let size = [0usize, 10, 1000, 5000][(i % 4) as usize];
        w.odoo
            .user_attach(SO, 1 + i % 50, &format!("f{i}.txt"), &vec![b'x'; size]);
    }
    let (dc, oc) = (w.drive.calls(), w.odoo.calls());
    let r = w.sync().await;
    assert_eq!(r.jobs_done, 1000);
    let per_file = (w.drive.calls() - dc + w.odoo.calls() - oc) as f64 / 1000.0;
    // Per file: the Odoo download, a name check, the upload; plus a folder and a chatter
    // note per record, and the cycle's reads.
    assert!(per_file < 3.3, "{per_file} requests per file");
    let (dc, oc) = (w.drive.calls(), w.odoo.calls());
    w.quiet().await;
    let noop = w.drive.calls() - dc + w.odoo.calls() - oc;
    // One delta round, one Odoo poll, one id-set check.
    assert_eq!(noop, 3, "a no-op cycle made {noop} requests");
    eprintln!("requests per file: {per_file:.2}; no-op cycle: {noop} requests, 0 writes");
}

#[tokio::test]
async fn a_deleted_sync_root_is_made_again_and_the_guard_asks_before_deleting() {
    let w = World::new();
    w.odoo.user_attach(SO, 1, "a.txt", b"a");
    w.odoo.user_attach(SO, 1, "b.txt", b"b");
    w.sync().await;
    let root = w.drive.find_path("Odoo Sync").unwrap();
    w.drive.user_delete(&root);
    assert!(matches!(
        w.engine().sync(CONFIRM).await,
        Err(EngineError::Observe { .. })
    ));
    let r = w.engine().sync(SyncOptions::default()).await.unwrap();
    assert!(
        matches!(&r.outcome, Outcome::Paused { guards } if guards.iter().any(|g| matches!(g, Guard::MassChange { emptied: Some(_), .. }))),
        "{:?}",
        r.outcome
    );
    assert_eq!(
        w.odoo.on_record(SO, 1).len(),
        2,
        "nothing deleted while paused"
    );
}

#[tokio::test]
async fn a_refused_chatter_note_does_not_hold_up_the_file() {
    let w = World::new();
    w.odoo.user_attach(SO, 1, "a.txt", b"a");
    w.odoo.fail_next(
        "message_post",
        odoo365_engine::PortError::Rejected {
            message: "no chatter".into(),
        },
    );
    let r = w.sync().await;
    assert!(r.failed.is_empty());
    assert_eq!(w.file("sale.order/1/a.txt").unwrap(), b"a");
    assert!(w.odoo.notes().is_empty());
    // The next file of the record posts it.
    w.odoo.user_attach(SO, 1, "b.txt", b"b");
    w.sync().await;
    assert_eq!(w.odoo.notes().len(), 1);
    w.quiet().await;
}

#[tokio::test]
async fn a_keep_both_cut_short_after_its_first_step_still_ends_with_both_versions_once() {
    let w = World::new();
    w.plan_edited_on_both_sides().await;
    // The OneDrive version "vanishes" right after Odoo's copy was uploaded.
    w.drive
        .fail_next("get", odoo365_engine::PortError::NotFound);
    w.sync().await;
    for _ in 0..2 {
        w.sync().await;
    }
    let mut odoo: Vec<Vec<u8>> = w.odoo.on_record(SO, 1).into_iter().map(|x| x.2).collect();
    odoo.sort();
    assert_eq!(odoo, vec![b"odoo edit".to_vec(), b"onedrive edit".to_vec()]);
    assert_eq!(w.drive.files().len(), 2, "{:?}", w.drive.files());
    assert_eq!(w.file_links(), 2);
    w.quiet().await;
}

#[tokio::test]
async fn the_calendar_engine_leaves_file_jobs_alone() {
    use odoo365_engine::testing::{FakeGraph, FakeOdoo};
    use odoo365_engine::{Engine, EngineConfig, JobState};
    let w = World::new();
    w.odoo.user_attach(SO, 1, "a.txt", b"a");
    w.drive.fail_next(
        "upload_small",
        odoo365_engine::PortError::NotSent {
            message: "offline".into(),
        },
    );
    let r = w.sync().await;
    assert_eq!(r.jobs_waiting, 1);
    let mut cal = Engine::new(
        Store::open(&w.db()).unwrap(),
        EngineConfig::new("p1", "me@example.com"),
        Arc::new(FakeGraph::new("me@example.com")),
        Arc::new(FakeOdoo::new("me@example.com")),
        Arc::new(w.clock.clone()),
    )
    .unwrap();
    w.clock.advance(chrono::Duration::hours(1));
    cal.sync(CONFIRM).await.unwrap();
    let pending = cal.store().tx(|t| t.jobs("p1", JobState::Pending)).unwrap();
    assert_eq!(
        pending.len(),
        1,
        "the file job is still waiting for FileSync"
    );
    assert!(cal
        .store()
        .tx(|t| t.jobs("p1", JobState::Failed))
        .unwrap()
        .is_empty());
    drop(cal);
    w.sync().await;
    assert_eq!(w.file("sale.order/1/a.txt").unwrap(), b"a");
}

/// Sim seed 51: a content replace cut off by a crash was sent again after the restart
/// without `If-Match` (a job that may have applied dropped it), over an edit the user had
/// made in OneDrive meanwhile: that version was gone, with no journal entry. Now the file
/// as it is tells: our content there (the write landed, nothing is sent again), the
/// planned-over content there (sent, held to its eTag), else a user edit, planned again.
#[tokio::test]
async fn a_replace_resumed_after_a_crash_neither_overwrites_a_later_onedrive_edit_nor_resends() {
    let (mut before_the_put, mut after_the_put) = (false, false);
    for n in 1..30 {
        let w = World::new();
        let a = w.odoo.user_attach(SO, 1, "notes.txt", b"v1");
        w.sync().await;
        let id = w.path("sale.order/1/notes.txt").unwrap();
        w.odoo.user_edit(a, b"v2 from odoo");
        let uploads = w.drive.writes_of("upload_small");
        w.clock.advance(chrono::Duration::minutes(5));
        if !w.sync_crashing_after(n).await {
            break;
        }
        if w.drive.content(&id).unwrap() == b"v2 from odoo" {
            // Landed before the crash: the restart takes it without sending it again.
            after_the_put = true;
            let r = w.sync().await;
            assert_eq!(r.conflicts_opened, 0, "crash after {n}: {r:?}");
            assert_eq!(
                w.drive.writes_of("upload_small"),
                uploads + 1,
                "crash after {n}: sent twice"
            );
        } else {
            before_the_put = true;
            w.drive.user_edit(&id, b"v3 from onedrive");
            w.sync().await;
            w.sync().await;
            let odoo: Vec<Vec<u8>> = w.odoo.on_record(SO, 1).into_iter().map(|x| x.2).collect();
            let drive: Vec<Vec<u8>> = w.drive.files().into_iter().map(|x| x.1).collect();
            for version in [&b"v2 from odoo"[..], b"v3 from onedrive"] {
                assert!(
                    odoo.iter().any(|c| c == version) && drive.iter().any(|c| c == version),
                    "crash after {n}: {} lost (Odoo {odoo:?}, OneDrive {drive:?})",
                    String::from_utf8_lossy(version)
                );
            }
        }
        w.quiet().await;
    }
    assert!(
        before_the_put && after_the_put,
        "crash points: before the PUT {before_the_put}, after it {after_the_put}"
    );
}

/// Sim seeds 219, 732, 1124, 1404, 1557: a OneDrive edit planned into Odoo, its job cut
/// off by a crash, came back *maybe applied*; the restart skipped the read that guards an
/// Odoo write (Odoo has no `If-Match`) and overwrote the content Alice had saved in Odoo
/// meanwhile, with no journal entry. Now the attachment is read all the same: our content
/// there means the write landed, the planned-over content means send it, else both
/// versions stay.
#[tokio::test]
async fn an_odoo_replace_resumed_after_a_crash_does_not_overwrite_a_later_odoo_edit() {
    let mut crashed_before_the_write = false;
    for n in 1..30 {
        let w = World::new();
        let a = w.odoo.user_attach(SO, 1, "notes.txt", b"v1");
        w.sync().await;
        let id = w.path("sale.order/1/notes.txt").unwrap();
        w.drive.user_edit(&id, b"v2 from onedrive");
        w.clock.advance(chrono::Duration::minutes(5));
        if !w.sync_crashing_after(n).await {
            break;
        }
        let mut kept = vec![&b"v2 from onedrive"[..]];
        if w.odoo.on_record(SO, 1).iter().any(|x| x.2 == b"v1") {
            crashed_before_the_write = true;
            w.odoo.user_edit(a, b"v3 from odoo");
            kept.push(b"v3 from odoo");
        }
        w.sync().await;
        w.sync().await;
        let odoo: Vec<Vec<u8>> = w.odoo.on_record(SO, 1).into_iter().map(|x| x.2).collect();
        let drive: Vec<Vec<u8>> = w.drive.files().into_iter().map(|x| x.1).collect();
        for version in kept {
            assert!(
                odoo.iter().any(|c| c == version) && drive.iter().any(|c| c == version),
                "crash after {n}: {} lost (Odoo {odoo:?}, OneDrive {drive:?})",
                String::from_utf8_lossy(version)
            );
        }
        w.quiet().await;
    }
    assert!(
        crashed_before_the_write,
        "no crash point fell before the Odoo write"
    );
}

/// Sim seeds 821, 1995: an Odoo delete planned into OneDrive, its job cut off by a crash,
/// came back *maybe applied* and was sent without `If-Match`, over a OneDrive edit made
/// meanwhile: that version went to the recycle bin with no journal entry of it and was not
/// kept. Now the delete keeps its `If-Match` (or, after a step of its own with a lost
/// answer, reads the item first): the edited version stays and comes back to Odoo.
#[tokio::test]
async fn a_drive_delete_resumed_after_a_crash_does_not_delete_a_later_onedrive_edit() {
    let mut crashed_before_the_delete = false;
    for n in 1..30 {
        let w = World::new();
        let a = w.odoo.user_attach(SO, 1, "notes.txt", b"v1");
        w.sync().await;
        let id = w.path("sale.order/1/notes.txt").unwrap();
        w.odoo.user_delete(a);
        w.clock.advance(chrono::Duration::minutes(5));
        if !w.sync_crashing_after(n).await {
            break;
        }
        if w.drive.content(&id).is_none() {
            continue;
        }
        crashed_before_the_delete = true;
        w.drive.user_edit(&id, b"v2 from onedrive");
        w.sync().await;
        w.sync().await;
        let odoo: Vec<Vec<u8>> = w.odoo.on_record(SO, 1).into_iter().map(|x| x.2).collect();
        assert_eq!(
            w.drive.content(&id).as_deref(),
            Some(&b"v2 from onedrive"[..]),
            "crash after {n}: the OneDrive edit was deleted"
        );
        assert_eq!(odoo, vec![b"v2 from onedrive".to_vec()], "crash after {n}");
        w.quiet().await;
    }
    assert!(
        crashed_before_the_delete,
        "no crash point fell before the OneDrive delete"
    );
}

/// Sim seed 264: Odoo lets a record hold two `f7.pdf`; OneDrive's folder holds `f7.pdf`
/// and `f7 (2).pdf`. Moved in Odoo to a record without a namesake, the second kept its
/// `(2)` in OneDrive for good. It takes Odoo's name back where there is room.
#[tokio::test]
async fn a_namesakes_numbered_copy_moved_where_the_name_is_free_takes_the_name_back() {
    let w = World::new();
    w.odoo.user_attach(SO, 1, "f7.pdf", b"first");
    let second = w.odoo.user_attach(SO, 1, "f7.pdf", b"second");
    w.sync().await;
    assert_eq!(
        w.file("sale.order/1/f7 (2).pdf").as_deref(),
        Some(&b"second"[..])
    );
    w.odoo.user_move(second, SO, 2);
    w.clock.advance(chrono::Duration::minutes(5));
    w.sync().await;
    assert_eq!(
        w.file("sale.order/2/f7.pdf").as_deref(),
        Some(&b"second"[..])
    );
    assert_eq!(
        w.file("sale.order/1/f7.pdf").as_deref(),
        Some(&b"first"[..])
    );
    assert!(w.path("sale.order/2/f7 (2).pdf").is_none());
    assert_eq!(w.odoo.attachment(second).unwrap().name, "f7.pdf");
    w.quiet().await;
}

/// Restarts after a crash at step `n` of a cycle; `None` when the cycle ran to its end
/// before the crash point.
async fn crash_at(w: &World, n: usize) -> Option<FileReport> {
    if !w.next_cycle_crashing_after(n).await {
        return None;
    }
    // The restart must not fail on the link the crashed cycle already wrote, nor leave
    // the job waiting for a retry: it finishes, adopting that link.
    let r = w
        .engine()
        .sync(CONFIRM)
        .await
        .unwrap_or_else(|e| panic!("restart after a crash at step {n}: {e}"));
    let left = w.jobs_left();
    assert!(left.is_empty(), "crash after {n}: jobs left {left:?}");
    Some(r)
}

// The full crash test (seed 9) died between the transaction that wrote a new file's link
// and the one that marked its step done: every later cycle re-ran the step, met the link
// and stopped with "UNIQUE constraint failed: link...", for good.
#[tokio::test]
async fn a_crash_after_a_new_files_link_is_written_adopts_that_link_on_restart() {
    // Odoo → OneDrive: the upload's link.
    let mut crashes = 0;
    for n in 1..40 {
        let w = World::new();
        w.odoo.user_attach(SO, 1, "a.txt", b"from odoo");
        let Some(r) = crash_at(&w, n).await else {
            break;
        };
        crashes += 1;
        assert!(r.failed.is_empty(), "crash after {n}: {r:?}");
        assert_eq!(
            w.file("sale.order/1/a.txt").unwrap(),
            b"from odoo",
            "crash after {n}"
        );
        assert_eq!(w.drive.files().len(), 1, "crash after {n}: a second file");
        assert_eq!(w.file_links(), 1, "crash after {n}");
        w.quiet().await;
    }
    assert!(crashes >= 5, "only {crashes} crash points");
    // OneDrive → Odoo: the new attachment's link.
    let mut crashes = 0;
    for n in 1..40 {
        let w = World::new();
        w.odoo.user_attach(SO, 1, "a.txt", b"from odoo");
        w.sync().await;
        let folder = w.path("sale.order/1").unwrap();
        w.drive.user_upload(&folder, "b.txt", b"from onedrive");
        let Some(r) = crash_at(&w, n).await else {
            break;
        };
        crashes += 1;
        assert!(r.failed.is_empty(), "crash after {n}: {r:?}");
        let docs = w.odoo.on_record(SO, 1);
        assert_eq!(docs.len(), 2, "crash after {n}: {docs:?}");
        assert!(docs
            .iter()
            .any(|d| d.1 == "b.txt" && d.2 == b"from onedrive"));
        assert_eq!(w.drive.files().len(), 2, "crash after {n}");
        assert_eq!(w.file_links(), 2, "crash after {n}");
        w.quiet().await;
    }
    assert!(crashes >= 3, "only {crashes} crash points");
}

const COPY: &str = "plan (Odoo conflict 2026-11-23).xlsx";

fn named(list: &[(&str, &[u8])]) -> Named {
    let mut v: Named = list
        .iter()
        .map(|(n, c)| ((*n).to_owned(), c.to_vec()))
        .collect();
    v.sort();
    v
}

/// Found 10 (sim seed 41): a kept-both copy was `name (Odoo conflict <date>).ext` in
/// OneDrive only, Odoo held the name twice; once OneDrive's original went, the names
/// differed for good. Now the copy (Odoo's version, whichever side was edited last) has
/// the dated name on both sides, the new attachment is audited on its own link (Found
/// 8), and a later delete of the original leaves the same one file on both sides.
#[tokio::test]
async fn a_kept_both_copy_has_the_same_dated_name_on_both_sides() {
    for odoo_edited_last in [false, true] {
        let w = World::new();
        let a = w.odoo.user_attach(SO, 1, "plan.xlsx", b"base");
        w.sync().await;
        let id = w.path("sale.order/1/plan.xlsx").unwrap();
        if odoo_edited_last {
            w.drive.user_edit(&id, b"onedrive edit");
            w.clock.advance(chrono::Duration::minutes(1));
            w.odoo.user_edit(a, b"odoo edit");
        } else {
            w.odoo.user_edit(a, b"odoo edit");
            w.clock.advance(chrono::Duration::minutes(1));
            w.drive.user_edit(&id, b"onedrive edit");
        }
        let r = w.sync().await;
        assert_eq!(r.conflicts_opened, 1);
        let both = named(&[(COPY, b"odoo edit"), ("plan.xlsx", b"onedrive edit")]);
        let (odoo, drive) = w.names_and_contents();
        assert_eq!(odoo, both, "Odoo (Odoo edited last: {odoo_edited_last})");
        assert_eq!(
            drive, both,
            "OneDrive (Odoo edited last: {odoo_edited_last})"
        );
        // Odoo's version kept its attachment (and link), renamed; OneDrive's came in as
        // a new attachment on a link of its own, with an audit line of its own there.
        assert_eq!(w.odoo.attachment(a).unwrap().name, COPY);
        let mut store = Store::open(&w.db()).unwrap();
        let links = store.tx(|t| t.links("p1", LinkKind::File)).unwrap();
        assert_eq!(links.len(), 2);
        let old = links.iter().find(|l| l.odoo_id == Some(a)).unwrap();
        let new = links.iter().find(|l| l.odoo_id != Some(a)).unwrap();
        assert_eq!(new.graph_id.as_deref(), Some(id.as_str()));
        let mut lines = |l: i64| store.tx(|t| t.audit("p1", Some(l), 100)).unwrap();
        let made = lines(new.id);
        assert!(
            made.iter().any(|x| x.op == "create_attachment"
                && x.item == "sale.order/1/plan.xlsx"
                && x.after_hash.is_some()),
            "the new attachment's own link: {made:?}"
        );
        let kept = lines(old.id);
        assert!(
            !kept.iter().any(|x| x.op == "create_attachment"),
            "the old link audits only its own version: {kept:?}"
        );
        assert!(kept
            .iter()
            .any(|x| x.op == "rename_attachment" && x.origin == "sync"));
        drop(store);
        w.quiet().await;

        // Seed 41's history: OneDrive's original is deleted, so its Odoo twin goes; the
        // copy stays under one name on both sides.
        w.drive.user_delete(&id);
        w.sync().await;
        let copy = named(&[(COPY, b"odoo edit")]);
        assert_eq!(w.names_and_contents(), (copy.clone(), copy));
        w.quiet().await;
    }
}

/// The dated name taken already (a second keep-both of the same file on the same day):
/// OneDrive's folder gives the copy `(2)`, and Odoo's version takes the very same name.
#[tokio::test]
async fn a_second_copy_on_the_same_day_is_numbered_alike_on_both_sides() {
    let w = World::new();
    let (_, id) = w.plan_edited_on_both_sides().await;
    w.sync().await;
    let twin = w
        .odoo
        .on_record(SO, 1)
        .into_iter()
        .find(|x| x.1 == "plan.xlsx")
        .unwrap()
        .0;
    w.odoo.user_edit(twin, b"odoo edit 2");
    w.drive.user_edit(&id, b"onedrive edit 2");
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 1);
    let all = named(&[
        (COPY, b"odoo edit"),
        ("plan (Odoo conflict 2026-11-23) (2).xlsx", b"odoo edit 2"),
        ("plan.xlsx", b"onedrive edit 2"),
    ]);
    assert_eq!(w.names_and_contents(), (all.clone(), all));
    assert_eq!(w.file_links(), 3);
    w.quiet().await;
}

/// A keep-both killed after each of its persisted steps (the copy's upload, its link, the
/// Odoo rename, the new attachment, its link) ends, after the restart, with both versions
/// once on each side under the same two names, each linked once.
#[tokio::test]
async fn a_keep_both_killed_at_any_step_ends_with_the_same_names_on_both_sides() {
    let both = named(&[(COPY, b"odoo edit"), ("plan.xlsx", b"onedrive edit")]);
    let mut after_the_rename = false;
    for n in 1..40 {
        let w = World::new();
        let (a, _) = w.plan_edited_on_both_sides().await;
        w.clock.advance(chrono::Duration::minutes(5));
        if !w.sync_crashing_after(n).await {
            assert!(n > 3, "the keep-both has persisted steps to crash after");
            break;
        }
        if w.odoo.attachment(a).is_some_and(|x| x.name == COPY) {
            after_the_rename = true;
        }
        w.sync().await;
        w.sync().await;
        assert_eq!(
            w.names_and_contents(),
            (both.clone(), both.clone()),
            "crash after {n}"
        );
        assert_eq!(w.file_links(), 2, "crash after {n}");
        w.quiet().await;
    }
    assert!(
        after_the_rename,
        "no crash point fell after the Odoo rename"
    );
}

/// A keep-both whose last step (OneDrive's version into Odoo) waits for a retry: that file
/// is on no link meanwhile (its old link now holds the copy), so a cycle that read it again
/// took it for a new file: it was created in Odoo twice, and the second link broke the
/// store's one-link-per-file rule, failing every cycle after (sim seed 87 with the copy's
/// rename, seed 119 before it). It waits for its job like the job's other items.
#[tokio::test]
async fn a_keep_both_waiting_on_its_last_step_is_not_planned_again_meanwhile() {
    let w = World::new();
    let (_, id) = w.plan_edited_on_both_sides().await;
    w.drive.fail_next(
        "get",
        odoo365_engine::PortError::Throttled {
            retry_after: Some(std::time::Duration::from_secs(600)),
        },
    );
    let r = w.sync().await;
    assert_eq!(r.jobs_waiting, 1, "{r:?}");
    // Edited again while the job waits: the next delta round reports the file.
    w.drive.user_edit(&id, b"onedrive edit 2");
    for _ in 0..3 {
        w.sync().await;
    }
    let both = named(&[(COPY, b"odoo edit"), ("plan.xlsx", b"onedrive edit 2")]);
    assert_eq!(w.names_and_contents(), (both.clone(), both));
    assert_eq!(w.file_links(), 2);
    w.quiet().await;
}

/// Sim seed 1502: a new file's upload landed, its link was written, and the engine was
/// killed before the step was marked done; Alice then renamed the file in OneDrive (and,
/// in the second round, also wrote new content into it). The restart found its upload on
/// the link and took the file as it is now into the baseline: her rename (and her
/// content) counted as what the engine wrote, so nothing was planned and Odoo kept the
/// old name (and content) for good. The upload is now taken as it was sent, and her
/// edits reach Odoo next cycle.
#[tokio::test]
async fn a_crashed_upload_renamed_or_edited_in_onedrive_before_the_restart_reaches_odoo() {
    for edit_content in [false, true] {
        let mut crashes = 0;
        for n in 1..40 {
            let w = World::new();
            let a = w.odoo.user_attach(SO, 1, "a.txt", b"from odoo");
            w.clock.advance(chrono::Duration::minutes(5));
            if !w.sync_crashing_after(n).await {
                break;
            }
            let Some(id) = w.path("sale.order/1/a.txt") else {
                continue; // the upload had not landed
            };
            // Only a crash after the link was written is this case; before it, the
            // restart looks for its upload by name and content (Found 24, 25).
            let linked = w.file_links() == 1;
            w.drive.user_rename(&id, "b.txt");
            if edit_content {
                w.drive.user_edit(&id, b"edited in onedrive");
            }
            w.sync().await;
            w.sync().await;
            let (odoo, drive) = w.names_and_contents();
            assert_eq!(
                drive, odoo,
                "crash after {n}, content edited {edit_content}"
            );
            if !linked {
                w.quiet().await;
                continue;
            }
            crashes += 1;
            let want: &[u8] = if edit_content {
                b"edited in onedrive"
            } else {
                b"from odoo"
            };
            assert_eq!(
                odoo,
                named(&[("b.txt", want)]),
                "crash after {n}, content edited {edit_content}"
            );
            assert_eq!(w.odoo.attachment(a).unwrap().name, "b.txt");
            w.quiet().await;
        }
        assert!(crashes >= 2, "only {crashes} crash points after the upload");
    }
}

fn retry_at_once(c: &mut FileConfig) {
    c.retry_base = chrono::Duration::zero();
}

/// Sim seed 358: a job left waiting (here a content edit from OneDrive whose Odoo write
/// failed) ran again first thing in the next cycle and failed again; that cycle's
/// observation then read Alice's rename of the same OneDrive file, but the plan leaves a
/// busy item alone, and the job, done in the cycle's last drain, set the baseline to the
/// name it had planned with. The delta cursor had moved past the rename: it was never
/// read again, Odoo kept the old name for good. An item the plan leaves to a job is now
/// read again next cycle.
#[tokio::test]
async fn a_rename_seen_while_the_files_job_was_busy_is_read_again_next_cycle() {
    let w = World::with(retry_at_once);
    let a = w.odoo.user_attach(SO, 1, "a.txt", b"v1");
    w.sync().await;
    let id = w.path("sale.order/1/a.txt").unwrap();
    w.drive.user_edit(&id, b"v2 from onedrive");
    let not_sent = || odoo365_engine::PortError::NotSent {
        message: "connection refused".into(),
    };
    w.odoo.fail_next("replace_content", not_sent());
    let r = w.sync().await;
    assert_eq!(r.jobs_waiting, 1, "{r:?}");
    w.drive.user_rename(&id, "b.txt");
    // The first drain fails again; the second, after the observation, finishes the job.
    w.odoo.fail_next("replace_content", not_sent());
    let r = w.sync().await;
    assert_eq!(r.jobs_waiting, 0, "{r:?}");
    w.sync().await;
    assert_eq!(w.odoo.attachment(a).unwrap().name, "b.txt");
    let (odoo, drive) = w.names_and_contents();
    assert_eq!(odoo, named(&[("b.txt", b"v2 from onedrive")]));
    assert_eq!(drive, odoo);
    w.quiet().await;
}

/// Sim seed 1266: a keep-both's last step (OneDrive's version made a new attachment) lost
/// its answer after the attachment landed, and Alice renamed that OneDrive file before the
/// retry. The retry read the file and put its new name into the baseline beside the
/// attachment made under the old one: both unchanged since, different names for good.
/// Now the baseline holds the name the attachment was made from, and her rename follows.
#[tokio::test]
async fn a_keep_boths_last_step_retried_after_a_onedrive_rename_carries_the_rename() {
    let w = World::new();
    let (_, id) = w.plan_edited_on_both_sides().await;
    w.odoo.lose_answer_of_next("create");
    let r = w.sync().await;
    assert_eq!((r.conflicts_opened, r.jobs_waiting), (1, 1), "{r:?}");
    w.drive.user_rename(&id, "renamed.xlsx");
    w.sync().await;
    w.sync().await;
    let both = named(&[(COPY, b"odoo edit"), ("renamed.xlsx", b"onedrive edit")]);
    assert_eq!(w.names_and_contents(), (both.clone(), both));
    w.quiet().await;
}

/// Sim seeds 1465, 1473: a new OneDrive file's attachment create landed with its answer
/// lost; Alice edited that attachment in Odoo before the retry, which no longer knew it
/// (another content) and created the file again, its answer lost once more. That
/// cycle's observation read her edited attachment but took it for the create in flight
/// (same record and name) and the cursor moved past it; the job then found its second
/// attachment. Hers stayed on no link, in Odoo only, for good. Now such an attachment is
/// read again next cycle and comes over as a file of its own: both versions on both sides.
#[tokio::test]
async fn an_attachment_left_to_a_create_in_flight_is_read_again_and_synced() {
    // The fake's write dates are ticks a second apart: any overlap re-reads every
    // attachment each cycle and would hide what the cursor moved past.
    let w = World::with(|c| c.odoo_overlap = chrono::Duration::zero());
    w.odoo.user_attach(SO, 1, "a.txt", b"a");
    w.sync().await;
    let folder = w.path("sale.order/1").unwrap();
    w.drive.user_upload(&folder, "b.txt", b"from onedrive");
    w.odoo.lose_answer_of_next("create");
    let r = w.sync().await;
    assert_eq!(r.jobs_waiting, 1, "{r:?}");
    let (first, _, _) = w
        .odoo
        .on_record(SO, 1)
        .into_iter()
        .find(|x| x.1 == "b.txt")
        .unwrap();
    w.odoo.user_edit(first, b"edited in odoo");
    w.odoo.lose_answer_of_next("create");
    let r = w.sync().await;
    assert_eq!(r.jobs_waiting, 0, "{r:?}");
    w.sync().await;
    w.sync().await;
    let (odoo, drive) = w.names_and_contents();
    let contents = |v: &Named| {
        let mut c: Vec<Vec<u8>> = v.iter().map(|x| x.1.clone()).collect();
        c.sort();
        c
    };
    let want: Vec<Vec<u8>> = vec![
        b"a".to_vec(),
        b"edited in odoo".to_vec(),
        b"from onedrive".to_vec(),
    ];
    assert_eq!(contents(&odoo), want, "Odoo {odoo:?}");
    assert_eq!(contents(&drive), want, "OneDrive {drive:?}");
    assert_eq!(w.file_links(), 3);
    w.quiet().await;
}

/// Sim seed 1597 (and the rest of Found 22's "left" case): Odoo holds `f7.pdf` twice, so
/// OneDrive shows the second as `f7 (2).pdf`. When the first goes away without a move of
/// the second (renamed or deleted, in OneDrive or in Odoo), the copy kept its number for
/// good while Odoo showed `f7.pdf`. Now it takes the name back in the cycle that frees it.
#[tokio::test]
async fn a_numbered_copy_takes_the_name_back_when_its_namesake_goes() {
    for how in ["drive rename", "drive delete", "odoo rename", "odoo delete"] {
        let w = World::new();
        let first = w.odoo.user_attach(SO, 1, "f7.pdf", b"first");
        let second = w.odoo.user_attach(SO, 1, "f7.pdf", b"second");
        w.sync().await;
        let id = w.path("sale.order/1/f7.pdf").unwrap();
        assert_eq!(w.file("sale.order/1/f7 (2).pdf").unwrap(), b"second");
        match how {
            "drive rename" => w.drive.user_rename(&id, "other.pdf"),
            "drive delete" => w.drive.user_delete(&id),
            "odoo rename" => w.odoo.user_rename(first, "other.pdf"),
            _ => w.odoo.user_delete(first),
        }
        w.sync().await;
        assert_eq!(
            w.file("sale.order/1/f7.pdf").as_deref(),
            Some(&b"second"[..]),
            "{how}"
        );
        assert!(w.path("sale.order/1/f7 (2).pdf").is_none(), "{how}");
        assert_eq!(w.odoo.attachment(second).unwrap().name, "f7.pdf", "{how}");
        let (odoo, drive) = w.names_and_contents();
        assert_eq!(odoo, drive, "{how}");
        w.quiet().await;
    }
    // The copy on the older link, read in the same cycle as its namesake (sim seed 1597):
    // the namesake's rename must run before the copy asks for the name.
    let w = World::new();
    let copy = w.odoo.user_attach(SO, 1, "x.pdf", b"copy");
    let namesake = w.odoo.user_attach(SO, 1, "f7.pdf", b"namesake");
    w.sync().await;
    w.odoo.user_rename(copy, "f7.pdf");
    w.sync().await;
    assert_eq!(w.file("sale.order/1/f7 (2).pdf").unwrap(), b"copy");
    w.odoo.user_rename(namesake, "other.pdf");
    w.sync().await;
    assert_eq!(w.file("sale.order/1/f7.pdf").unwrap(), b"copy");
    let (odoo, drive) = w.names_and_contents();
    assert_eq!(odoo, drive);
    w.quiet().await;
}

/// Sim seed 1292: the numbered copy moved in OneDrive to a record folder without a
/// namesake; the attachment followed, and the file kept `f7 (2).pdf` beside Odoo's
/// `f7.pdf`. Now it takes the name back where there is room (and keeps its number where
/// there is none).
#[tokio::test]
async fn a_numbered_copy_moved_in_onedrive_where_the_name_is_free_takes_the_name_back() {
    for room in [true, false] {
        let w = World::new();
        w.odoo.user_attach(SO, 1, "f7.pdf", b"first");
        let second = w.odoo.user_attach(SO, 1, "f7.pdf", b"second");
        w.odoo
            .user_attach(SO, 2, if room { "x.txt" } else { "f7.pdf" }, b"on 2");
        w.sync().await;
        let id = w.path("sale.order/1/f7 (2).pdf").unwrap();
        let to = w.path("sale.order/2").unwrap();
        if !room {
            // The folder holds an `f7.pdf`, and the name `f7 (2).pdf` is free there.
            assert!(w.path("sale.order/2/f7.pdf").is_some());
        }
        w.drive.user_move(&id, &to);
        w.sync().await;
        let att = w.odoo.attachment(second).unwrap();
        assert_eq!(
            (att.res_id, att.name.as_str()),
            (2, "f7.pdf"),
            "room {room}"
        );
        let want = if room { "f7.pdf" } else { "f7 (2).pdf" };
        assert_eq!(
            w.file(&format!("sale.order/2/{want}")).as_deref(),
            Some(&b"second"[..]),
            "room {room}"
        );
        w.quiet().await;
    }
}

/// Sim seed 1529: Alice chose "keep Odoo" while the keep-both that opened the conflict was
/// still waiting (its first upload's answer lost). The resolution's jobs were built from
/// links the keep-both had not re-pointed yet: they deleted Odoo's version along with
/// OneDrive's, and the keep-both then put Odoo's version back twice, under two names. A
/// choice is now refused until the keep-both is done; made then, it ends as usual.
#[tokio::test]
async fn a_conflict_is_not_resolved_while_its_keep_both_is_still_writing() {
    for choice in CHOICES {
        let w = World::new();
        w.plan_edited_on_both_sides().await;
        w.drive.lose_answer_of_next("upload_small");
        let r = w.sync().await;
        assert_eq!((r.conflicts_opened, r.jobs_waiting), (1, 1), "{r:?}");
        let conflict = w.open_conflict();
        let refused = w.engine().resolve_conflict(conflict, choice);
        assert!(
            matches!(refused, Err(EngineError::Invalid(_))),
            "{choice:?}: {refused:?}"
        );
        let r = w.sync().await;
        assert_eq!(r.jobs_waiting, 0, "{r:?}");
        w.engine().resolve_conflict(conflict, choice).unwrap();
        w.sync().await;
        let (odoo, drive) = w.names_and_contents();
        let want = match choice {
            FileConflictChoice::KeepOdoo => named(&[("plan.xlsx", b"odoo edit")]),
            FileConflictChoice::KeepOneDrive => named(&[("plan.xlsx", b"onedrive edit")]),
            FileConflictChoice::KeepBoth => {
                named(&[(COPY, b"odoo edit"), ("plan.xlsx", b"onedrive edit")])
            }
        };
        assert_eq!(odoo, want, "{choice:?}");
        assert_eq!(drive, want, "{choice:?}");
        w.quiet().await;
    }
}

/// Sim seed 2014: a keep-both was killed right after its last step wrote the new
/// attachment's link (OneDrive's version now on a link of its own), before the step was
/// marked done. Alice then deleted that new attachment in Odoo (or left it) and edited
/// OneDrive's version. The resumed step looked for its attachment by name and content,
/// found none, created one more and tried to link the OneDrive file a second time: every
/// retry failed on `UNIQUE constraint failed: link…graph_id`, each left an attachment on no
/// link, and the conflict could never be resolved. The step now adopts the link it wrote,
/// and her edits are planned from its baseline like any others.
#[tokio::test]
async fn a_keep_both_killed_after_its_new_link_adopts_it_and_carries_later_edits() {
    for delete_the_new_attachment in [true, false] {
        let mut hit = 0;
        for n in 1..40 {
            let w = World::new();
            let (a, id) = w.plan_edited_on_both_sides().await;
            if !w.next_cycle_crashing_after(n).await {
                break;
            }
            let split_link = Store::open(&w.db())
                .unwrap()
                .tx(|t| t.link_by_graph("p1", LinkKind::File, &id))
                .unwrap()
                .filter(|l| l.odoo_id != Some(a));
            let open = Store::open(&w.db())
                .unwrap()
                .tx(|t| t.jobs("p1", JobState::Running))
                .unwrap();
            let Some(split_link) = split_link.filter(|_| !open.is_empty()) else {
                continue;
            };
            hit += 1;
            if delete_the_new_attachment {
                w.odoo.user_delete(split_link.odoo_id.unwrap());
            }
            w.drive.user_edit(&id, b"onedrive edit 2");
            let r = w.sync().await;
            assert!(r.failed.is_empty(), "crash after {n}: {r:?}");
            w.sync().await;
            let both = named(&[(COPY, b"odoo edit"), ("plan.xlsx", b"onedrive edit 2")]);
            assert_eq!(
                w.names_and_contents(),
                (both.clone(), both),
                "crash after {n}, new attachment deleted: {delete_the_new_attachment}"
            );
            assert_eq!(w.file_links(), 2, "crash after {n}");
            let left = w.jobs_left();
            assert!(left.is_empty(), "crash after {n}: jobs left {left:?}");
            w.quiet().await;
            // And the conflict is hers to settle.
            w.engine()
                .resolve_conflict(w.open_conflict(), FileConflictChoice::KeepOdoo)
                .unwrap();
            w.sync().await;
            let odoo = named(&[("plan.xlsx", b"odoo edit")]);
            assert_eq!(
                w.names_and_contents(),
                (odoo.clone(), odoo),
                "crash after {n}"
            );
            w.quiet().await;
        }
        assert!(hit >= 1, "no crash point fell right after the new link");
    }
}

/// Sim seed 83 (with RSVPs): Alice moved an attachment to another record in Odoo; the
/// engine planned the OneDrive move and was killed before sending it; she then renamed the
/// file in OneDrive. The resumed move goes without If-Match (it may have landed) and took
/// the name in its answer, hers, into the baseline: her rename counted as synced and Odoo
/// kept the old name for good. The move now records the name it sent or planned.
#[tokio::test]
async fn a_move_resumed_after_a_crash_carries_a_later_onedrive_rename() {
    let mut crashes = 0;
    for n in 1..40 {
        let w = World::new();
        let a = w.odoo.user_attach(SO, 1, "a.txt", b"moved");
        w.sync().await;
        let id = w.path("sale.order/1/a.txt").unwrap();
        w.odoo.user_move(a, SO, 2);
        if !w.next_cycle_crashing_after(n).await {
            break;
        }
        crashes += 1;
        w.drive.user_rename(&id, "b.txt");
        w.sync().await;
        w.sync().await;
        let odoo = w.odoo.attachment(a).unwrap();
        assert_eq!(
            (odoo.name.as_str(), odoo.res_id),
            ("b.txt", 2),
            "crash after {n}"
        );
        assert_eq!(
            w.file("sale.order/2/b.txt").unwrap(),
            b"moved",
            "crash after {n}"
        );
        assert_eq!(w.drive.files().len(), 1, "crash after {n}");
        w.quiet().await;
    }
    assert!(crashes >= 2, "only {crashes} crash points");
}

/// RSVP sim seeds 270, 1588: a new attachment's upload wrote its link, then the job had to
/// wait (there: the attachment's rename to the upload's free name lost its answer; here: a
/// crash after the link, then a throttled read on the restart). The link was not the job's
/// key (that names the attachment it started from), so the same cycle planned it against
/// the baseline the job had not written yet: both sides "changed", a keep-both of the
/// job's own upload, the content twice on each side. A link whose attachment or file an
/// open job holds now waits for that job.
#[tokio::test]
async fn a_new_files_link_waits_for_its_job_and_is_not_planned_meanwhile() {
    let mut hit = 0;
    for n in 1..40 {
        let w = World::new();
        let a = w.odoo.user_attach(SO, 1, "a.txt", b"from odoo");
        if !w.next_cycle_crashing_after(n).await {
            break;
        }
        let linked = Store::open(&w.db())
            .unwrap()
            .tx(|t| t.link_by_odoo("p1", LinkKind::File, "ir.attachment", a))
            .unwrap()
            .is_some();
        // The upload's step itself not marked done yet.
        let running = Store::open(&w.db())
            .unwrap()
            .tx(|t| t.jobs("p1", JobState::Running))
            .unwrap()
            .iter()
            .any(|j| j.payload["done"] == 0);
        if !(linked && running) {
            continue;
        }
        hit += 1;
        w.drive.fail_next(
            "get",
            odoo365_engine::PortError::Throttled {
                retry_after: Some(std::time::Duration::from_secs(600)),
            },
        );
        let r = w.sync().await;
        assert_eq!(
            (r.jobs_waiting, r.conflicts_opened),
            (1, 0),
            "crash after {n}: {r:?}"
        );
        w.clock.advance(chrono::Duration::minutes(15));
        w.sync().await;
        let one = named(&[("a.txt", b"from odoo")]);
        assert_eq!(
            w.names_and_contents(),
            (one.clone(), one),
            "crash after {n}"
        );
        assert_eq!(w.file_links(), 1, "crash after {n}");
        w.quiet().await;
    }
    assert!(
        hit >= 1,
        "no crash point fell between the link and the step's end"
    );
}

/// RSVP sim seed 270: as above, the landed upload edited in OneDrive before the retry, and
/// meanwhile Alice renamed the attachment in Odoo. The retry puts the upload aside under a
/// free name and used to give the attachment that name as well, over hers: her rename was
/// gone without a trace. Her name now stays and reaches OneDrive next cycle.
#[tokio::test]
async fn a_lost_upload_put_aside_keeps_a_rename_made_in_odoo_meanwhile() {
    let (w, a, id) = lost_upload_of_b().await;
    w.drive.user_edit(&id, b"b edited");
    w.odoo.user_rename(a, "mine.txt");
    for _ in 0..3 {
        let r = w.sync().await;
        assert!(r.failed.is_empty(), "{r:?}");
    }
    assert_eq!(w.odoo.attachment(a).unwrap().name, "mine.txt");
    let want = named(&[("a.txt", b"a"), ("b.txt", b"b edited"), ("mine.txt", b"b")]);
    assert_eq!(w.names_and_contents(), (want.clone(), want));
    assert_eq!(w.file_links(), 3);
    w.quiet().await;
}

fn rejected() -> odoo365_engine::PortError {
    odoo365_engine::PortError::Rejected {
        message: "refused for good".into(),
    }
}

/// Sim seed 2014's second half: a keep-both that failed for good held its conflict open
/// for good, every choice refused ("both versions are still being saved"), so a person
/// was stuck as well. Once the job has given up: "keep both" closes the conflict (the job
/// stays in the failed list with its Retry), and keeping one version replaces the other
/// in place when the keep-both wrote nothing yet; halfway, only those two ways out are
/// offered, with the job's error in the message.
#[tokio::test]
async fn a_conflict_whose_keep_both_failed_for_good_can_still_be_settled() {
    // The copy's upload refused: nothing written yet.
    for choice in CHOICES {
        let w = World::new();
        w.plan_edited_on_both_sides().await;
        w.drive.fail_next("upload_small", rejected());
        let r = w.sync().await;
        assert_eq!((r.conflicts_opened, r.failed.len()), (1, 1), "{r:?}");
        let conflict = w.open_conflict();
        w.engine().resolve_conflict(conflict, choice).unwrap();
        let failed = w.engine().failed().unwrap();
        if choice == FileConflictChoice::KeepBoth {
            assert_eq!(failed.len(), 1, "{failed:?}");
            assert!(w.engine().retry(failed[0].job_id.unwrap()).unwrap());
        } else {
            assert!(failed.is_empty(), "{choice:?}: {failed:?}");
        }
        let r = w.sync().await;
        assert!(r.failed.is_empty(), "{choice:?}: {r:?}");
        let want = match choice {
            FileConflictChoice::KeepOdoo => named(&[("plan.xlsx", b"odoo edit")]),
            FileConflictChoice::KeepOneDrive => named(&[("plan.xlsx", b"onedrive edit")]),
            FileConflictChoice::KeepBoth => {
                named(&[(COPY, b"odoo edit"), ("plan.xlsx", b"onedrive edit")])
            }
        };
        assert_eq!(w.names_and_contents(), (want.clone(), want), "{choice:?}");
        let open = Store::open(&w.db())
            .unwrap()
            .tx(|t| t.open_conflicts("p1"))
            .unwrap();
        assert!(open.is_empty(), "{choice:?}: {open:?}");
        w.quiet().await;
    }
    // Halfway: the copy made and renamed, OneDrive's version refused as a new attachment.
    let w = World::new();
    w.plan_edited_on_both_sides().await;
    w.odoo.fail_next("create", rejected());
    let r = w.sync().await;
    assert_eq!((r.conflicts_opened, r.failed.len()), (1, 1), "{r:?}");
    let conflict = w.open_conflict();
    for choice in [
        FileConflictChoice::KeepOdoo,
        FileConflictChoice::KeepOneDrive,
    ] {
        match w.engine().resolve_conflict(conflict, choice) {
            Err(EngineError::Invalid(m)) => {
                assert!(
                    m.contains("refused for good") && m.contains("keep both"),
                    "{m}"
                )
            }
            other => panic!("{choice:?}: {other:?}"),
        }
    }
    w.engine()
        .resolve_conflict(conflict, FileConflictChoice::KeepBoth)
        .unwrap();
    let failed = w.engine().failed().unwrap();
    assert!(w.engine().retry(failed[0].job_id.unwrap()).unwrap());
    w.sync().await;
    let both = named(&[(COPY, b"odoo edit"), ("plan.xlsx", b"onedrive edit")]);
    assert_eq!(w.names_and_contents(), (both.clone(), both));
    assert_eq!(w.file_links(), 2);
    w.quiet().await;
}
