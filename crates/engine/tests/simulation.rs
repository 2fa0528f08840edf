#![allow(clippy::unwrap_used)]
//! Seeded random histories: users create, edit, rename, archive and delete on both sides,
//! services lose answers, throttle and refuse connections, delta links expire, and the
//! engine is stopped at random persisted steps and reopened. After the dust settles (open
//! conflicts resolved), every history is checked for:
//!
//! * **convergence**: both calendars hold the same events (title, location, Teams);
//! * **no duplicates**: no title twice on a side, one Graph event per iCalUId, every item
//!   linked exactly once;
//! * **no silent loss**: every (title, location) version the engine overwrote or deleted on
//!   either side is in the restore journal (user edits are otherwise on both sides, by
//!   convergence, or were replaced by the same user on the same side);
//! * **audit**: every item the engine created, changed or deleted has an audit line on its
//!   link;
//! * **quiescence**: a further cycle writes nothing.
//!
//! Each seed replays exactly: a trace hash of everything observed is compared over two runs.
//!
//! * `SEEDS=n` runs seeds `1..=n` (default 2,000), spread over `SIM_THREADS` threads
//!   (default: the machine's cores); `SEED_FROM=m` starts at `m` instead of 1.
//! * `SEED=n` replays one seed with a trace on stderr.
//! * Every seed number divisible by 10 keeps its store in a file and reopens it for every
//!   engine (as after a real crash); the others hand the in-memory store from one engine
//!   to the next, which is what makes 2,000 seeds cheap. Both recover the same way
//!   (`Engine::new` marks jobs a crash cut off *maybe applied*).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use odoo365_engine::testing::{FakeGraph, FakeOdoo};
use odoo365_engine::{
    ConflictChoice, Engine, EngineConfig, EngineError, LinkKind, ManualClock, PortError, Store,
    SyncOptions,
};
use odoo365_sync_core::{Event, Side};
use serde_json::{json, Value};

const ME: &str = "me@example.com";
const CONFIRM: SyncOptions = SyncOptions {
    dry_run: false,
    confirm: true,
};

fn tracing() -> bool {
    std::env::var("SEED").is_ok()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

/// One side's item as the checks see it: the raw JSON and its (title, location).
#[derive(Clone, PartialEq)]
struct Item {
    raw: String,
    title: String,
    location: String,
}

/// Both sides' items by id (`o:<id>` / `g:<id>`).
type Snapshot = BTreeMap<String, Item>;

/// Ways the engine touched an item during its cycles, for the journal and audit checks.
#[derive(Default)]
struct Touched {
    /// (item, title, location) versions the engine overwrote or deleted.
    destroyed: BTreeSet<(String, String, String)>,
    /// Items the engine created, changed or deleted.
    written: BTreeSet<String>,
    /// The link each item was ever seen on.
    link_of: BTreeMap<String, i64>,
    /// Items the engine created, as first seen.
    created: BTreeMap<String, Item>,
}

enum Backing {
    Memory(Option<Store>),
    File(tempfile::TempDir),
}

struct World {
    graph: FakeGraph,
    odoo: FakeOdoo,
    clock: ManualClock,
    store: Backing,
    made: u32,
    trace: DefaultHasher,
    touched: Touched,
}

impl World {
    fn new(file_backed: bool) -> World {
        let store = if file_backed {
            let dir = tempfile::tempdir().unwrap();
            Store::open(&dir.path().join("sync.db"))
                .unwrap()
                .put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
                .unwrap();
            Backing::File(dir)
        } else {
            let s = Store::open_in_memory().unwrap();
            s.put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
                .unwrap();
            Backing::Memory(Some(s))
        };
        World {
            graph: FakeGraph::new(ME),
            odoo: FakeOdoo::new(ME),
            clock: ManualClock::new(at(22, 12)),
            store,
            made: 0,
            trace: DefaultHasher::new(),
            touched: Touched::default(),
        }
    }

    /// A fresh engine on the store, as after a restart.
    fn engine(&mut self) -> Engine {
        let mut cfg = EngineConfig::new("p1", ME);
        cfg.guards.mail_threshold = usize::MAX;
        let store = match &mut self.store {
            Backing::Memory(s) => s.take().expect("the store is parked between engines"),
            Backing::File(dir) => Store::open(&dir.path().join("sync.db")).unwrap(),
        };
        Engine::new(
            store,
            cfg,
            Arc::new(self.graph.clone()),
            Arc::new(self.odoo.clone()),
            Arc::new(self.clock.clone()),
        )
        .unwrap()
    }

    /// Drops the engine (the in-memory store is kept for the next one).
    fn park(&mut self, e: Engine) {
        if let Backing::Memory(s) = &mut self.store {
            *s = Some(e.into_store());
        }
    }

    fn note(&mut self, what: impl Hash) {
        what.hash(&mut self.trace);
    }

    fn snapshot(&self) -> Snapshot {
        let mut out = Snapshot::new();
        for r in self.odoo.active() {
            out.insert(
                format!("o:{}", r["id"]),
                Item {
                    raw: r.to_string(),
                    title: r["name"].as_str().unwrap_or_default().to_owned(),
                    location: r["location"].as_str().unwrap_or_default().to_owned(),
                },
            );
        }
        for v in self.graph.events() {
            out.insert(
                format!("g:{}", v["id"].as_str().unwrap_or_default()),
                Item {
                    raw: v.to_string(),
                    title: v["subject"].as_str().unwrap_or_default().to_owned(),
                    location: v["location"]["displayName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                },
            );
        }
        out
    }

    fn learn_links(&mut self, e: &mut Engine) {
        for l in e.store().tx(|t| t.links("p1", LinkKind::Event)).unwrap() {
            if let Some(o) = l.odoo_id {
                self.touched.link_of.insert(format!("o:{o}"), l.id);
            }
            if let Some(g) = &l.graph_id {
                self.touched.link_of.insert(format!("g:{g}"), l.id);
            }
        }
    }

    /// One engine cycle, with the engine's own changes to both sides recorded for the checks.
    async fn cycle(&mut self, e: &mut Engine) -> Result<odoo365_engine::CycleReport, EngineError> {
        self.learn_links(e);
        let before = self.snapshot();
        let r = e.sync(CONFIRM).await;
        let after = self.snapshot();
        self.learn_links(e);
        for (id, b) in &before {
            match after.get(id) {
                Some(a) if a == b => {}
                Some(a) => {
                    self.touched.written.insert(id.clone());
                    if (&a.title, &a.location) != (&b.title, &b.location) {
                        self.touched.destroyed.insert((
                            id.clone(),
                            b.title.clone(),
                            b.location.clone(),
                        ));
                    }
                }
                None => {
                    self.touched.written.insert(id.clone());
                    self.touched.destroyed.insert((
                        id.clone(),
                        b.title.clone(),
                        b.location.clone(),
                    ));
                }
            }
        }
        for (id, a) in &after {
            if !before.contains_key(id) {
                self.touched.written.insert(id.clone());
                self.touched
                    .created
                    .entry(id.clone())
                    .or_insert_with(|| a.clone());
            }
        }
        let outcome = match &r {
            Ok(r) => r.plan.summary(),
            Err(e) => e.to_string(),
        };
        self.note(outcome);
        self.note(self.calendars());
        self.note((self.odoo.writes(), self.graph.writes()));
        r
    }

    fn new_event(&mut self) -> Event {
        self.made += 1;
        let n = self.made;
        if n.is_multiple_of(4) {
            let mut e = Event::timed(&format!("E{n}"), at(23, 0), at(24, 0));
            let day = at(23 + n % 6, 0).date_naive();
            e.when = odoo365_sync_core::When::AllDay {
                start: day,
                end: day + Duration::days(1),
            };
            return e.normalized();
        }
        Event::timed(
            &format!("E{n}"),
            at(23 + n % 6, 8 + n % 9),
            at(23 + n % 6, 9 + n % 9),
        )
        .normalized()
    }

    fn odoo_ids(&self) -> Vec<i64> {
        self.odoo
            .active()
            .iter()
            .filter_map(|r| r["id"].as_i64())
            .collect()
    }

    fn graph_ids(&self) -> Vec<String> {
        self.graph
            .events()
            .iter()
            .filter_map(|v| v["id"].as_str().map(str::to_owned))
            .collect()
    }

    fn user_step(&mut self, rng: &mut Rng) {
        let step = rng.below(13);
        if tracing() {
            eprintln!("user step {step}");
        }
        match step {
            0 => {
                let e = self.new_event();
                self.odoo.user_create(&e);
            }
            1 => {
                let e = self.new_event();
                self.graph.user_create(&e, None);
            }
            2 | 3 => {
                let ids = self.odoo_ids();
                if !ids.is_empty() {
                    let id = ids[rng.below(ids.len())];
                    let place = format!("O{}", rng.below(1000));
                    self.odoo.user_write(id, &json!({ "location": place }));
                }
            }
            4 | 5 => {
                let ids = self.graph_ids();
                if !ids.is_empty() {
                    let id = ids[rng.below(ids.len())].clone();
                    let place = format!("M{}", rng.below(1000));
                    self.graph
                        .user_edit(&id, |v| v["location"] = json!({ "displayName": place }));
                }
            }
            6 => {
                let ids = self.odoo_ids();
                if !ids.is_empty() {
                    self.odoo.user_archive(ids[rng.below(ids.len())]);
                }
            }
            7 => {
                let ids = self.graph_ids();
                if !ids.is_empty() {
                    self.graph.user_delete(&ids[rng.below(ids.len())]);
                }
            }
            9 => {
                // A rename (titles stay unique).
                let ids = self.odoo_ids();
                if !ids.is_empty() {
                    self.made += 1;
                    let title = format!("E{}", self.made);
                    self.odoo
                        .user_write(ids[rng.below(ids.len())], &json!({ "name": title }));
                }
            }
            12 => {
                // Ask for a Teams meeting in Odoo.
                let ids = self.odoo_ids();
                if !ids.is_empty() {
                    self.odoo.user_write(
                        ids[rng.below(ids.len())],
                        &json!({ "videocall_location": "teams" }),
                    );
                }
            }
            10 => match rng.below(2) {
                0 => {
                    let ids = self.odoo_ids();
                    if !ids.is_empty() {
                        self.odoo.user_unlink(ids[rng.below(ids.len())]);
                    }
                }
                _ => self.graph.expire_delta_links(),
            },
            _ => match rng.below(7) {
                4 => self.odoo.lose_answer_of_next("write"),
                5 => self.graph.lose_answer_of_next("delete"),
                6 => self.odoo.fail_next(
                    "write",
                    PortError::NotSent {
                        message: "connection refused".into(),
                    },
                ),
                0 => self.graph.lose_answer_of_next("create"),
                1 => self.odoo.lose_answer_of_next("create"),
                2 => self.graph.lose_answer_of_next("update"),
                _ => self.graph.fail_next(
                    "create",
                    PortError::Throttled {
                        retry_after: Some(std::time::Duration::from_secs(60)),
                    },
                ),
            },
        }
    }

    fn calendars(&self) -> (Vec<String>, Vec<String>) {
        let mut o: Vec<String> = self
            .odoo
            .active()
            .iter()
            .map(|r| {
                format!(
                    "{} @ {} teams={}",
                    r["name"].as_str().unwrap_or_default(),
                    r["location"].as_str().unwrap_or_default(),
                    r["videocall_location"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("https://teams.microsoft.com/"))
                )
            })
            .collect();
        let mut g: Vec<String> = self
            .graph
            .events()
            .iter()
            .map(|v: &Value| {
                format!(
                    "{} @ {} teams={}",
                    v["subject"].as_str().unwrap_or_default(),
                    v["location"]["displayName"].as_str().unwrap_or_default(),
                    v["isOnlineMeeting"] == true && v["onlineMeeting"]["joinUrl"].is_string()
                )
            })
            .collect();
        o.sort();
        g.sort();
        (o, g)
    }

    fn dump(e: &mut Engine) {
        let jobs = e
            .store()
            .tx(|t| t.jobs("p1", odoo365_engine::JobState::Pending))
            .unwrap();
        for a in e
            .store()
            .tx(|t| t.audit("p1", None, 200))
            .unwrap()
            .iter()
            .rev()
        {
            eprintln!(
                "audit {} {} {} {:?} {}",
                a.at, a.item, a.op, a.link_id, a.rule
            );
        }
        for j in jobs {
            eprintln!("job {} {} {}", j.id, j.key, j.payload);
        }
    }

    /// Syncs until quiet, resolving open conflicts for Odoo; returns the cycles taken.
    async fn settle(&mut self) -> usize {
        for n in 1..=12 {
            self.clock.advance(Duration::hours(2));
            let before = (self.odoo.writes(), self.graph.writes());
            let mut e = self.engine();
            if tracing() {
                World::dump(&mut e);
            }
            let r = self.cycle(&mut e).await.unwrap();
            if tracing() {
                eprintln!(
                    "settle {n}: {} waiting={} failed={:?}",
                    r.plan.summary(),
                    r.jobs_waiting,
                    r.failed
                );
            }
            let open = e.store().tx(|t| t.open_conflicts("p1")).unwrap();
            for c in &open {
                e.resolve_conflict(c.id, ConflictChoice::Side { side: Side::Odoo })
                    .unwrap();
            }
            self.note(open.len());
            self.park(e);
            if open.is_empty()
                && r.jobs_waiting == 0
                && r.failed.is_empty()
                && !r.plan.has_writes()
                && (self.odoo.writes(), self.graph.writes()) == before
            {
                return n;
            }
        }
        panic!("did not settle in 12 cycles");
    }

    /// The invariants, once settled.
    async fn check(&mut self, seed: u64) {
        let (o, g) = self.calendars();
        assert_eq!(o, g, "seed {seed}: the calendars differ");
        let titles: BTreeSet<&str> = o.iter().map(|s| s.split(" @ ").next().unwrap()).collect();
        assert_eq!(titles.len(), o.len(), "seed {seed}: a duplicate: {o:?}");
        let uids: BTreeSet<String> = self
            .graph
            .events()
            .iter()
            .map(|v| v["iCalUId"].to_string())
            .collect();
        assert_eq!(
            uids.len(),
            g.len(),
            "seed {seed}: two Graph events share an iCalUId"
        );

        // Quiescence: one more cycle after a restart writes nothing.
        self.clock.advance(Duration::hours(2));
        let writes = (self.odoo.writes(), self.graph.writes());
        let mut e = self.engine();
        let r = self.cycle(&mut e).await.unwrap();
        assert!(
            !r.plan.has_writes(),
            "seed {seed}: not quiet: {}",
            r.plan.summary()
        );
        assert_eq!(
            (self.odoo.writes(), self.graph.writes()),
            writes,
            "seed {seed}: a further cycle wrote"
        );

        // One link per item on each side, every item linked.
        let links = e.store().tx(|t| t.links("p1", LinkKind::Event)).unwrap();
        let mut linked: BTreeMap<String, usize> = BTreeMap::new();
        for l in &links {
            if let Some(id) = l.odoo_id {
                *linked.entry(format!("o:{id}")).or_default() += 1;
            }
            if let Some(id) = &l.graph_id {
                *linked.entry(format!("g:{id}")).or_default() += 1;
            }
        }
        for id in self.snapshot().keys() {
            assert_eq!(
                linked.get(id).copied().unwrap_or(0),
                1,
                "seed {seed}: {id} is not linked exactly once"
            );
        }

        // No silent loss: what the engine overwrote or deleted is in the journal.
        let mut journal: BTreeSet<(String, String, String)> = BTreeSet::new();
        for id in 1.. {
            let Some(j) = e.store().tx(|t| t.journal_entry(id)).unwrap() else {
                break;
            };
            let item = match j.side.as_str() {
                "odoo" => format!("o:{}", j.content["odoo_id"]),
                _ => format!("g:{}", j.content["graph_id"].as_str().unwrap_or_default()),
            };
            let ev = &j.content["event"];
            journal.insert((
                item,
                ev["title"].as_str().unwrap_or_default().to_owned(),
                ev["location"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        for d in &self.touched.destroyed {
            assert!(
                journal.contains(d),
                "seed {seed}: the engine overwrote or deleted {d:?} without a journal entry"
            );
        }

        // The audit log accounts for every item the engine wrote: on its link, or, for an
        // item never linked (made by a create whose answer was lost or that a crash cut,
        // and deleted by the user before the engine found it), by a `*_maybe_applied`
        // line naming it (Graph `transactionId`, Odoo title).
        let audit = e
            .store()
            .tx(|t| t.audit("p1", None, usize::MAX >> 1))
            .unwrap();
        let audited: BTreeSet<i64> = audit.iter().filter_map(|a| a.link_id).collect();
        for item in &self.touched.written {
            // A link made and gone within one cycle is in no snapshot of the links: an
            // Outlook copy made just before a crash and deleted by the user before the
            // restart is linked as made, and the same cycle takes the delete to Odoo. The
            // audit lines of the job that linked it name the item and the link.
            let job_item = item
                .strip_prefix("o:")
                .map(|o| format!("odoo:{o}"))
                .or_else(|| item.strip_prefix("g:").map(|g| format!("ms:{g}")));
            let linked = self.touched.link_of.get(item).copied().or_else(|| {
                audit
                    .iter()
                    .find_map(|a| (Some(&a.item) == job_item.as_ref()).then_some(a.link_id)?)
            });
            if let Some(link) = linked {
                assert!(
                    audited.contains(&link),
                    "seed {seed}: the engine wrote {item} (link {link:?}) without an audit line"
                );
                continue;
            }
            let made = self.touched.created.get(item).unwrap_or_else(|| {
                panic!("seed {seed}: the engine changed {item}, never linked, without a link")
            });
            let raw: Value = serde_json::from_str(&made.raw).unwrap();
            let accounted = audit.iter().any(|a| {
                let d = a.detail.as_ref();
                let field = |k: &str| d.and_then(|d| d.get(k)).and_then(Value::as_str);
                if item.starts_with("g:") {
                    a.op == "microsoft.create_maybe_applied"
                        && field("transaction_id").is_some()
                        && field("transaction_id") == raw["transactionId"].as_str()
                } else {
                    a.op == "odoo.create_maybe_applied" && field("title") == Some(&made.title)
                }
            });
            assert!(
                accounted,
                "seed {seed}: the engine created {item} ({}), never linked, without an audit line",
                made.title
            );
        }
        self.park(e);
    }
}

/// Runs one history and checks it; returns its trace hash.
async fn history(seed: u64) -> u64 {
    if tracing() {
        eprintln!("seed {seed}");
    }
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut w = World::new(seed.is_multiple_of(10));
    if seed % 2 == 1 {
        // Half the histories run without transactionId in delta rounds.
        w.graph.hide_transaction_ids_in_delta();
    }
    for _ in 0..4 {
        let e = w.new_event();
        w.odoo.user_create(&e);
        let e = w.new_event();
        w.graph.user_create(&e, None);
    }
    for _ in 0..8 {
        for _ in 0..1 + rng.below(3) {
            w.user_step(&mut rng);
        }
        w.clock.advance(Duration::minutes(1 + rng.below(90) as i64));
        let mut e = w.engine();
        if rng.below(3) == 0 {
            e.crash_after(Some(1 + rng.below(25)));
        }
        let r = w.cycle(&mut e).await;
        if tracing() {
            eprintln!("{:?}", r.as_ref().map(|r| r.plan.summary()));
            if let Ok(r) = &r {
                for e in &r.plan.entries {
                    eprintln!("ENTRY {} {}", e.key, e.decision.rule);
                }
            }
            eprintln!("{:?}", w.calendars());
            for st in [
                odoo365_engine::JobState::Pending,
                odoo365_engine::JobState::Running,
                odoo365_engine::JobState::Failed,
            ] {
                for j in e.store().tx(|t| t.jobs("p1", st)).unwrap() {
                    eprintln!(
                        "JOB {:?} {} nb={} att={} err={:?}",
                        j.state, j.key, j.not_before, j.attempts, j.last_error
                    );
                }
            }
        }
        w.park(e);
        match r {
            Ok(_) | Err(EngineError::Crashed) => {}
            Err(other) => panic!("seed {seed}: {other}"),
        }
    }
    w.settle().await;
    w.check(seed).await;
    w.trace.finish()
}

/// Runs one seed on its own single-threaded runtime; the panic message on failure.
fn run_one(seed: u64) -> Result<u64, String> {
    std::panic::catch_unwind(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(history(seed))
    })
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".into())
    })
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// Runs seeds `from..from + n` over `threads` threads; the failing seeds with their message.
fn run_seeds(from: u64, n: u64, threads: usize) -> Vec<(u64, String)> {
    let next = AtomicU64::new(from);
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= from + n {
                    break;
                }
                if let Err(msg) = run_one(seed) {
                    eprintln!("FAILED seed {seed}: {msg}\n  replay: SEED={seed} cargo test -p odoo365-engine --features testing --test simulation");
                    failed.lock().unwrap().push((seed, msg));
                }
            });
        }
    });
    let mut failed = failed.into_inner().unwrap();
    failed.sort();
    failed
}

#[test]
fn random_histories_with_faults_and_crashes_converge_without_loss_or_duplicates() {
    if let Some(seed) = env_u64("SEED") {
        run_one(seed).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
        return;
    }
    let n = env_u64("SEEDS").unwrap_or(2000);
    let from = env_u64("SEED_FROM").unwrap_or(1);
    let threads = env_u64("SIM_THREADS").map_or_else(
        || std::thread::available_parallelism().map_or(2, |n| n.get()),
        |t| t as usize,
    );
    #[allow(clippy::disallowed_methods)] // a wall-clock figure for the report, not engine time
    let started = std::time::Instant::now();
    let failed = run_seeds(from, n, threads);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "simulation: {n} seeds ({from}..={}) on {threads} threads in {secs:.1} s ({:.1} seeds/s); {} failed",
        from + n - 1,
        n as f64 / secs,
        failed.len()
    );
    let seeds: Vec<u64> = failed.iter().map(|(s, _)| *s).collect();
    assert!(failed.is_empty(), "failing seeds: {seeds:?}");
}

#[test]
fn a_seed_replays_exactly() {
    // One in-memory and one file-backed history, each run twice.
    for seed in [7, 20] {
        let a = run_one(seed).unwrap();
        let b = run_one(seed).unwrap();
        assert_eq!(a, b, "seed {seed} did not replay: trace hashes differ");
    }
}

/// Seeds that failed once, kept after their fix (see tests/regressions.rs and the commits).
#[test]
fn regression_seeds() {
    // 52: a retried Odoo write overwrote a user's edit made while it waited (fixed).
    // 49: found the unlinked-create audit gap (documented; the check skips never-linked items).
    // 2536: a create throttled on every attempt ran out of attempts (throttling no longer
    //       spends one; tests/regressions.rs).
    // 2770, 8046, 15340, 17367, 20220: a create that waited (planned by a cycle that
    //       crashed, or cut by a crash) ran after the user deleted its source; the copy
    //       stayed, unlinked (a create now checks its source first; tests/regressions.rs).
    for seed in [49, 52, 2536, 2770, 8046, 15340, 17367, 20220] {
        run_one(seed).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
}

/// Seeds the soak found that still fail (they fail the same way on the engine before this
/// test's invariants were added): `cargo test … --test simulation open_seeds -- --ignored`.
#[test]
#[ignore = "open bugs, see docs/RELIABILITY.md"]
fn open_seeds() {
    // None open at the moment.
    let failed: Vec<u64> = <[u64; 0]>::default()
        .into_iter()
        .filter(|s| run_one(*s).is_err())
        .collect();
    assert!(failed.is_empty(), "still failing: {failed:?}");
}
