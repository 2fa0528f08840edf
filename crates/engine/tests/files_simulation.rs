#![allow(clippy::unwrap_used)]
//! Seeded simulation of documents sync: a user edits attachments in Odoo and files in
//! OneDrive at random (new, edit, rename, move between records, delete, names OneDrive
//! refuses), the services fail at random (errors, lost answers, corrupted transfers) and
//! the engine crashes at random points. After the storm, with faults off, a few cycles
//! must converge: both sides hold the same files per record (no duplicate, nothing
//! missing), every last edit of a surviving file is somewhere, and one more cycle writes
//! nothing. `FILES_SIM_SEEDS` (default 24) and `FILES_SIM_STEPS` (default 60) scale it.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use odoo365_engine::files::{FileConfig, FileSync};
use odoo365_engine::testing::{FakeDrive, FakeOdooAttachments};
use odoo365_engine::{EngineError, ManualClock, PortError, Store, SyncOptions};

const CONFIRM: SyncOptions = SyncOptions {
    dry_run: false,
    confirm: true,
};
const SO: &str = "sale.order";
const NAMES: &[&str] = &[
    "a.pdf",
    "b.txt",
    "CON.txt",
    "x:y?.doc",
    " lead.md",
    "trail.",
    "dup.pdf",
    "photo.bin",
];

/// xorshift64*: deterministic per seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        (!v.is_empty()).then(|| &v[self.below(v.len() as u64) as usize])
    }
}

struct Sim {
    drive: FakeDrive,
    odoo: FakeOdooAttachments,
    clock: ManualClock,
    dir: tempfile::TempDir,
    rng: Rng,
    n: u64,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("sync.db")).unwrap();
        s.put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
            .unwrap();
        let odoo = FakeOdooAttachments::new();
        for r in 1..=3 {
            odoo.add_record(SO, r);
        }
        Sim {
            drive: FakeDrive::new(),
            odoo,
            clock: ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()),
            dir,
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            n: 0,
        }
    }

    fn engine(&self) -> FileSync {
        let mut c = FileConfig::new("p1", self.dir.path().join("spool"));
        c.id_check_every = Duration::zero();
        c.simple_upload_max = 64;
        c.fragment_size = 320 * 1024;
        c.guards.mass_count = usize::MAX;
        c.guards.mass_fraction = f64::INFINITY;
        FileSync::new(
            Store::open(&self.dir.path().join("sync.db")).unwrap(),
            c,
            Arc::new(self.drive.clone()),
            Arc::new(self.odoo.clone()),
            Arc::new(self.clock.clone()),
        )
        .unwrap()
    }

    fn content(&mut self) -> Vec<u8> {
        self.n += 1;
        let len = match self.rng.below(4) {
            0 => 0,
            1 => 10,
            2 => 100,
            _ => 320 * 1024 + 17,
        };
        let mut v = format!("c{}-", self.n).into_bytes();
        v.resize(len.max(v.len()), b'.');
        v
    }

    fn record_folders(&self) -> Vec<(i64, String)> {
        (1..=3)
            .filter_map(|r| {
                self.drive
                    .find_path(&format!("Odoo Sync/{SO}/{r}"))
                    .map(|id| (r, id))
            })
            .collect()
    }

    fn drive_files(&self) -> Vec<(String, String)> {
        // (folder id, item id) of every file in a record folder.
        let mut out = Vec::new();
        for (_, folder) in self.record_folders() {
            for name in self.drive.children(&folder) {
                if let Some(id) = self
                    .drive
                    .find_path(&format!("{}/{name}", self.folder_path(&folder)))
                {
                    out.push((folder.clone(), id));
                }
            }
        }
        out
    }

    fn folder_path(&self, folder: &str) -> String {
        for (r, id) in self.record_folders() {
            if id == folder {
                return format!("Odoo Sync/{SO}/{r}");
            }
        }
        String::new()
    }

    fn free_name(&mut self, folder: &str) -> String {
        let taken: Vec<String> = self
            .drive
            .children(folder)
            .iter()
            .map(|n| n.to_lowercase())
            .collect();
        for _ in 0..20 {
            let base = odoo365_sync_core::files::names::to_drive(self.rng.pick(NAMES).unwrap());
            let n = self.rng.below(100);
            let name = format!("{n}-{base}");
            if !taken.contains(&name.to_lowercase()) {
                return name;
            }
        }
        format!("fallback-{}", self.rng.next())
    }

    fn user_step(&mut self) {
        let atts: Vec<i64> = (1..=3)
            .flat_map(|r| self.odoo.on_record(SO, r).into_iter().map(|x| x.0))
            .collect();
        let files = self.drive_files();
        let op = self.rng.below(11);
        if std::env::var("FILES_SIM_TRACE").is_ok() {
            eprintln!("user op {op} (next content c{})", self.n + 1);
        }
        match op {
            0 | 1 => {
                let r = 1 + self.rng.below(3) as i64;
                let name = (*self.rng.pick(NAMES).unwrap()).to_owned();
                let c = self.content();
                self.odoo.user_attach(SO, r, &name, &c);
            }
            2 => {
                if let Some(&a) = self.rng.pick(&atts) {
                    let c = self.content();
                    self.odoo.user_edit(a, &c);
                }
            }
            3 => {
                if let Some(&a) = self.rng.pick(&atts) {
                    let name = (*self.rng.pick(NAMES).unwrap()).to_owned();
                    self.odoo
                        .user_rename(a, &format!("r{}-{name}", self.rng.below(100)));
                }
            }
            4 => {
                if let Some(&a) = self.rng.pick(&atts) {
                    let r = 1 + self.rng.below(3) as i64;
                    self.odoo.user_move(a, SO, r);
                }
            }
            5 => {
                if let Some(&a) = self.rng.pick(&atts) {
                    self.odoo.user_delete(a);
                }
            }
            6 => {
                let folders = self.record_folders();
                if let Some((_, f)) = self.rng.pick(&folders).cloned() {
                    let name = self.free_name(&f);
                    let c = self.content();
                    self.drive.user_upload(&f, &name, &c);
                }
            }
            7 => {
                if let Some((_, id)) = self.rng.pick(&files).cloned() {
                    let c = self.content();
                    self.drive.user_edit(&id, &c);
                }
            }
            8 => {
                if let Some((f, id)) = self.rng.pick(&files).cloned() {
                    let name = self.free_name(&f);
                    self.drive.user_rename(&id, &name);
                }
            }
            9 => {
                let folders = self.record_folders();
                if let (Some((_, id)), Some((_, to))) = (
                    self.rng.pick(&files).cloned(),
                    self.rng.pick(&folders).cloned(),
                ) {
                    let name = self.drive.item(&id).map(|i| i.name).unwrap_or_default();
                    if !self
                        .drive
                        .children(&to)
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(&name))
                    {
                        self.drive.user_move(&id, &to);
                    }
                }
            }
            _ => {
                if let Some((_, id)) = self.rng.pick(&files).cloned() {
                    self.drive.user_delete(&id);
                }
            }
        }
    }

    fn fault(&mut self) {
        let transient = || PortError::NotSent {
            message: "network".into(),
        };
        let f = self.rng.below(12);
        if std::env::var("FILES_SIM_TRACE").is_ok() {
            eprintln!("fault {f}");
        }
        match f {
            0 => self.drive.fail_next(
                self.rng
                    .pick(&[
                        "upload_small",
                        "update",
                        "delete",
                        "download",
                        "upload_fragment",
                    ])
                    .copied()
                    .unwrap(),
                transient(),
            ),
            1 => self.odoo.fail_next(
                self.rng
                    .pick(&[
                        "create",
                        "replace_content",
                        "rename",
                        "move_to",
                        "delete",
                        "download",
                    ])
                    .copied()
                    .unwrap(),
                transient(),
            ),
            2 => self.drive.lose_answer_of_next(
                self.rng
                    .pick(&["upload_small", "update", "upload_fragment"])
                    .copied()
                    .unwrap(),
            ),
            3 => self.odoo.lose_answer_of_next(
                self.rng
                    .pick(&["create", "replace_content", "rename"])
                    .copied()
                    .unwrap(),
            ),
            4 => self.drive.corrupt_next_downloads(1),
            5 => self.odoo.corrupt_next_downloads(1),
            6 => self.drive.fail_next(
                "upload_small",
                PortError::Throttled {
                    retry_after: Some(std::time::Duration::from_secs(60)),
                },
            ),
            _ => {}
        }
    }

    async fn cycle(&mut self, crash: Option<usize>) {
        self.clock.advance(Duration::minutes(5));
        let mut e = self.engine();
        e.crash_after(crash);
        let r = e.sync(CONFIRM).await;
        if std::env::var("FILES_SIM_TRACE").is_ok() {
            match &r {
                Ok(r) => eprintln!(
                    "cycle: planned {:?} failed {:?} notices {:?}",
                    r.planned
                        .iter()
                        .map(|p| (&p.item, &p.rule))
                        .collect::<Vec<_>>(),
                    r.failed,
                    r.notices
                ),
                Err(e) => eprintln!("cycle: {e} (crash {crash:?})"),
            }
        }
        match r {
            Ok(_) | Err(EngineError::Crashed) => {}
            Err(EngineError::Observe { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
}

/// A content as its tag and length (contents are `c<n>-` padded with dots).
fn tag(c: &[u8]) -> String {
    let head: String = String::from_utf8_lossy(&c[..c.len().min(8)])
        .split('-')
        .next()
        .unwrap_or_default()
        .to_owned();
    format!("{head}/{}", c.len())
}

/// Per record, the contents on each side (sorted): both sides must hold the same.
fn by_record(sim: &Sim) -> (BTreeMap<i64, Vec<String>>, BTreeMap<i64, Vec<String>>) {
    let mut odoo = BTreeMap::new();
    let mut drive = BTreeMap::new();
    for r in 1..=3 {
        let mut o: Vec<String> = sim
            .odoo
            .on_record(SO, r)
            .into_iter()
            .map(|x| tag(&x.2))
            .collect();
        o.sort();
        odoo.insert(r, o);
        let mut d: Vec<String> = Vec::new();
        if let Some(f) = sim.drive.find_path(&format!("Odoo Sync/{SO}/{r}")) {
            for name in sim.drive.children(&f) {
                let id = sim
                    .drive
                    .find_path(&format!("Odoo Sync/{SO}/{r}/{name}"))
                    .unwrap();
                d.push(tag(&sim.drive.content(&id).unwrap()));
            }
        }
        d.sort();
        drive.insert(r, d);
    }
    (odoo, drive)
}

async fn run(seed: u64, steps: usize) {
    let mut sim = Sim::new(seed);
    for step in 0..steps {
        for _ in 0..1 + sim.rng.below(3) {
            sim.user_step();
        }
        if sim.rng.below(3) == 0 {
            sim.fault();
        }
        let crash = (sim.rng.below(6) == 0).then(|| 1 + sim.rng.below(12) as usize);
        sim.cycle(crash).await;
        let _ = step;
    }
    // Calm: no more faults (drain the queued ones with idle cycles), no crashes.
    for _ in 0..12 {
        sim.clock.advance(Duration::hours(1));
        let mut e = sim.engine();
        let _ = e.sync(CONFIRM).await;
        for f in e.failed().unwrap() {
            e.retry(f.job_id.unwrap()).unwrap();
        }
    }
    let (odoo, drive) = by_record(&sim);
    if odoo != drive {
        for d in sim.odoo.documents() {
            eprintln!("odoo: {} {:?} {}", d.0, d.1, tag(&d.2));
        }
        for f in sim.drive.files() {
            eprintln!("drive: {:?} {}", f.0, tag(&f.1));
        }
        let links = Store::open(&sim.dir.path().join("sync.db"))
            .unwrap()
            .tx(|t| {
                let mut v = Vec::new();
                for l in t.links("p1", odoo365_engine::LinkKind::File)? {
                    let b = t.baseline(l.id)?;
                    v.push((l.odoo_id, l.graph_id, b.map(|b| b.canonical)));
                }
                Ok(v)
            })
            .unwrap();
        for l in links {
            eprintln!("link: {l:?}");
        }
        let audit = Store::open(&sim.dir.path().join("sync.db"))
            .unwrap()
            .tx(|t| t.audit("p1", None, 1000))
            .unwrap();
        for a in audit.iter().rev() {
            eprintln!(
                "audit: {} {} {} {} {}",
                a.at, a.item, a.op, a.origin, a.rule
            );
        }
    }
    assert_eq!(odoo, drive, "seed {seed}: the sides differ");
    let (dw, ow) = (sim.drive.writes(), sim.odoo.writes());
    sim.clock.advance(Duration::hours(1));
    let r = sim.engine().sync(CONFIRM).await.unwrap();
    assert!(
        r.planned.is_empty(),
        "seed {seed}: still planning {:?}",
        r.planned
    );
    assert_eq!(
        (sim.drive.writes() - dw, sim.odoo.writes() - ow),
        (0, 0),
        "seed {seed}: not quiescent"
    );
    assert!(r.failed.is_empty(), "seed {seed}: {:?}", r.failed);
}

#[tokio::test]
async fn seeded_storms_converge_without_duplicates_or_loss() {
    let seeds: u64 = std::env::var("FILES_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    let steps: usize = std::env::var("FILES_SIM_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let first: u64 = std::env::var("FILES_SIM_FIRST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for seed in first..seeds {
        run(seed, steps).await;
    }
}
