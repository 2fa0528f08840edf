#![allow(clippy::unwrap_used)]
//! The whole-system simulation (issue 9): one seed drives a history in which Alice edits
//! her calendar in Odoo and in Outlook, the real engine syncs through the real app ports
//! and the real Graph and Odoo clients against both emulators on loopback, faults strike
//! (429/503 with `Retry-After`, a write landing whose answer is lost, a connection reset,
//! 412 from an edit made between the engine's read and its write, an expired token, a
//! 410 delta link, an Odoo write committing late), and the engine is dropped at a random
//! persisted step and reopened. Time is virtual for everything (`clock.rs`). After eight
//! rounds, with faults off, the engine syncs until quiet and the history is checked:
//!
//! * **convergence**: Alice sees the same calendar in Odoo and in Outlook (title, time,
//!   location, Teams, attendees; series compared occurrence by occurrence);
//! * **no duplicates**: no (title, time) twice on a side, one Graph event per iCalUId,
//!   every single event and series master linked exactly once;
//! * **no silent loss**: every version of a single event the engine overwrote or deleted
//!   is in the restore journal;
//! * **quiescence**: a further cycle after a restart plans and makes no write;
//! * **no unasked mail**: Odoo's outbox gains nothing from the engine's writes, and every
//!   mail Outlook sends while the engine works is one that Alice's own Odoo edit of an
//!   event with guests implies (an invitation for a create, an update for an edit, a
//!   cancellation for a removal; `world::MailBook`);
//! * **audit**: every item the engine wrote has an audit line on its link (or, never
//!   linked, a `*_maybe_applied` line naming it);
//! * **replay**: the same seed gives the same trace hash.
//!
//! * `SIM_SEEDS=n` runs seeds `SIM_SEED_FROM..` (default 1) `+ n` (default 60), spread
//!   over `SIM_THREADS` threads (default: the cores); `make test-sim` runs 2,000 in the
//!   optimised `sim` build profile, `make soak HARNESS=emulators SEEDS=n` any number in
//!   release mode.
//! * `SIM_SEED=n` replays one seed with a trace on stderr.
//! * `SIM_REPEAT=k` runs each seed k times and fails one whose runs leave different traces
//!   (a history must replay exactly).
//! * Documents (`docs.rs`): every history also syncs sale-order attachments with OneDrive.
//! * Bob's invitations and Alice's answers (`rsvp.rs`) are part of the main run since
//!   session 9; `SIM_RSVP=0` leaves them out, as the regression and open seeds found
//!   before run (docs/RELIABILITY.md Found 7, 27).
//! * Alice deletes one occurrence of an Odoo series outright (unlink) or archives it;
//!   `SIM_UNLINK_OCCURRENCES=0` keeps her to archiving (the histories before seeds 20,
//!   30, 31 and 36 were fixed).

mod clock;
mod docs;
mod rsvp;
mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::Duration;
use serde_json::Value;

use odoo365_engine::{ConflictChoice, Engine, EngineError, LinkKind, SyncOptions};
use odoo365_sync_core::Side;

use world::{World, ALICE, PROFILE};

pub(crate) const CONFIRM: SyncOptions = SyncOptions {
    dry_run: false,
    confirm: true,
};

/// Seeds a plain `cargo test` runs; `make test` (`make test-sim`) runs 2,000 in the `sim`
/// profile (docs/RELIABILITY.md, "Simulation speed").
const DEFAULT_SEEDS: u64 = 60;

pub struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn tracing() -> bool {
    std::env::var("SIM_SEED").is_ok()
}

fn say(what: impl FnOnce() -> String) {
    if tracing() {
        eprintln!("{}", what());
    }
}

/// Writes the emulators saw, from their own counters and logs.
fn service_writes(w: &World) -> (u64, usize) {
    let odoo = w.odoo.emulator.writes();
    let graph = w
        .graph
        .emulator
        .request_log()
        .since(0)
        .iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/v1.0/"))
        .count();
    (odoo, graph)
}

/// Alice's calendar as she sees it on each side: one line per occurrence.
async fn calendars(w: &World) -> (Vec<String>, Vec<String>) {
    // Without Alice, and without the organizer of Bob's meetings: the canonical form
    // leaves the organizer out, and her own Outlook copy of a meeting Bob organizes in
    // Odoo carries no attendees (inviting Bob from her account would mail him).
    let guests = |title: &str, mut v: Vec<String>| {
        v.retain(|a| a != ALICE && !(rsvp::is_bobs(title) && a == world::BOB));
        v.sort();
        v.join(",")
    };
    let mut o: Vec<String> = w
        .odoo_rows()
        .iter()
        .map(|r| {
            let when = if r["allday"] == true {
                format!(
                    "{}..{}",
                    r["start_date"].as_str().unwrap_or_default(),
                    r["stop_date"].as_str().unwrap_or_default()
                )
            } else {
                let t = |k: &str| {
                    r[k].as_str()
                        .unwrap_or_default()
                        .get(..16)
                        .unwrap_or_default()
                        .to_string()
                };
                format!("{}..{}", t("start"), t("stop"))
            };
            let att = r["partner_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
                .filter_map(|p| w.partner_mail.get(&p).cloned())
                .collect();
            format!(
                "{} | {} | {} | teams={} | {}",
                r["name"].as_str().unwrap_or_default(),
                when,
                r["location"].as_str().unwrap_or_default(),
                r["videocall_location"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("https://teams.microsoft.com/")),
                guests(r["name"].as_str().unwrap_or_default(), att)
            )
        })
        .collect();
    let mut g: Vec<String> = w
        .graph_view()
        .await
        .iter()
        .map(|v| {
            let t = |k: &str| {
                v[k]["dateTime"]
                    .as_str()
                    .unwrap_or_default()
                    .get(..16)
                    .unwrap_or_default()
                    .replace('T', " ")
            };
            let when = if v["isAllDay"] == true {
                // Outlook's all-day end is the next midnight; Odoo's stop_date the last day.
                let day = |s: String| {
                    chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or_default(), "%Y-%m-%d")
                        .ok()
                };
                let (s, e) = (day(t("start")), day(t("end")));
                format!(
                    "{}..{}",
                    s.map(|d| d.to_string()).unwrap_or_default(),
                    e.map(|d| (d - Duration::days(1)).to_string())
                        .unwrap_or_default()
                )
            } else {
                format!("{}..{}", t("start"), t("end"))
            };
            let att = v["attendees"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["emailAddress"]["address"].as_str())
                .map(str::to_lowercase)
                .collect();
            format!(
                "{} | {} | {} | teams={} | {}",
                v["subject"].as_str().unwrap_or_default(),
                when,
                v["location"]["displayName"].as_str().unwrap_or_default(),
                v["isOnlineMeeting"] == true && v["onlineMeeting"]["joinUrl"].is_string(),
                guests(v["subject"].as_str().unwrap_or_default(), att)
            )
        })
        .collect();
    o.sort();
    g.sort();
    (o, g)
}

fn learn_links(w: &mut World, e: &mut Engine) {
    learn_links_of(w, e, false);
}

/// The links in the store; with `audit`, also those a cycle made and removed (a copy made
/// just before a crash and deleted by Alice before the restart is linked as made, and the
/// same cycle carries her delete: Found 35, 40), named by the lines of the job that linked
/// it. A link in the store wins over what the audit says.
fn learn_links_of(w: &mut World, e: &mut Engine, audit: bool) {
    if audit {
        for a in e
            .store()
            .tx(|t| t.audit(PROFILE, None, usize::MAX >> 1))
            .unwrap()
        {
            let Some(l) = a.link_id else { continue };
            let mut ids = Vec::new();
            if let Some(o) = a.item.strip_prefix("odoo:") {
                ids.push(format!("o:{o}"));
            }
            if let Some(g) = a.item.strip_prefix("ms:") {
                ids.push(format!("g:{g}"));
            }
            if let Some(d) = &a.detail {
                if let Some(o) = d.get("odoo_id").and_then(Value::as_i64) {
                    ids.push(format!("o:{o}"));
                }
                if let Some(g) = d.get("graph_id").and_then(Value::as_str) {
                    ids.push(format!("g:{g}"));
                }
            }
            for id in ids {
                w.touched.link_of.entry(id).or_insert(l);
            }
        }
    }
    for l in e.store().tx(|t| t.links(PROFILE, LinkKind::Event)).unwrap() {
        if let Some(o) = l.odoo_id {
            w.touched.link_of.insert(format!("o:{o}"), l.id);
        }
        if let Some(g) = &l.graph_id {
            w.touched.link_of.insert(format!("g:{g}"), l.id);
        }
    }
}

/// One engine cycle with faults live, the engine's own changes to both sides recorded.
async fn cycle(
    w: &mut World,
    e: &mut Engine,
    during: &str,
) -> Result<odoo365_engine::CycleReport, EngineError> {
    learn_links(w, e);
    let before = w.snapshot().await;
    let seen = w.graph.emulator.request_log().len();
    w.faults_live(true);
    let r = e.sync(CONFIRM).await;
    w.faults_live(false);
    if tracing() {
        // The calendar's writes (the file cycle prints the drive's, docs.rs).
        for q in w.graph.emulator.request_log().since(0).iter().skip(seen) {
            if !q.path.contains("/drive") && q.method != "GET" {
                eprintln!("  {} {} → {} {:?}", q.method, q.path, q.status, q.fault);
            }
        }
    }
    let after = w.snapshot().await;
    learn_links_of(w, e, true);
    for (id, item) in before.iter().chain(after.iter()) {
        if item.recurring {
            w.touched.series_rows.insert(id.clone());
        }
    }
    for (id, b) in &before {
        match after.get(id) {
            Some(a) if a.title == b.title && a.location == b.location && a.raw == b.raw => {}
            Some(a) => {
                w.touched.written.insert(id.clone());
                if (&a.title, &a.location) != (&b.title, &b.location) && !b.recurring {
                    w.touched
                        .destroyed
                        .insert((id.clone(), b.title.clone(), b.location.clone()));
                }
            }
            None => {
                w.touched.written.insert(id.clone());
                if !b.recurring {
                    w.touched
                        .destroyed
                        .insert((id.clone(), b.title.clone(), b.location.clone()));
                }
            }
        }
    }
    for (id, a) in &after {
        if !before.contains_key(id) {
            w.touched.written.insert(id.clone());
            w.touched
                .created
                .entry(id.clone())
                .or_insert_with(|| a.clone());
        }
    }
    w.account_mail(false, during);
    let outcome = match &r {
        Ok(r) => r.plan.summary(),
        Err(e) => e.to_string(),
    };
    say(|| format!("cycle ({during}): {outcome}"));
    w.note(outcome);
    let cal = calendars(w).await;
    w.note(cal);
    r
}

/// Alice's own step between cycles.
async fn person_step(w: &mut World, rng: &mut Rng) {
    let step = rng.below(14);
    say(|| format!("person step {step}"));
    match step {
        0 | 1 => w.odoo_create(rng, true),
        2 | 3 => w.outlook_create(rng, true).await,
        4 | 5 => w.odoo_edit(rng, None),
        // An edit whose transaction commits up to 110 s after its write_date: the previous
        // cycle may already have polled past it; the cursor overlap (2 min) must catch it.
        6 => {
            let late = 1 + rng.below(110) as i64;
            w.odoo_edit(rng, Some(late));
        }
        7 | 8 => w.outlook_edit(rng).await,
        9 => w.odoo_remove(rng),
        10 => w.outlook_remove(rng).await,
        _ => {
            let what = w.arm_fault(rng);
            say(|| format!("armed: {what}"));
        }
    }
    w.account_mail(true, "a person's edit");
}

/// Resolves one open conflict as Alice would (either side); a resolution for Odoo sends
/// Odoo's version to Outlook, which may mail the guests: that mail is hers.
fn resolve_one(w: &mut World, e: &mut Engine, rng: &mut Rng, only_odoo: bool) -> usize {
    // File conflicts are the file engine's (`docs::World::settle_files`).
    let open: Vec<_> = e
        .store()
        .tx(|t| t.open_conflicts(PROFILE))
        .unwrap()
        .into_iter()
        .filter(|c| !docs::is_file_conflict(c))
        .collect();
    let n = open.len();
    for c in open {
        let side = if only_odoo || rng.below(2) == 0 {
            Side::Odoo
        } else {
            Side::Microsoft
        };
        if side == Side::Odoo {
            let mut keys: Vec<String> =
                c.link_id.map(|l| format!("link:{l}")).into_iter().collect();
            if let Some(title) = c
                .odoo
                .as_ref()
                .and_then(|v| v.get("title").or_else(|| v.get("name")))
                .and_then(Value::as_str)
            {
                keys.push(format!("title:{title}"));
            }
            w.mail.grant(&keys, &["update", "invitation"]);
        }
        e.resolve_conflict(c.id, ConflictChoice::Side { side })
            .unwrap();
        w.note(("resolved", c.id, side == Side::Odoo));
        if !only_odoo {
            break;
        }
    }
    n
}

/// Syncs until quiet with faults off, resolving open conflicts for Odoo.
async fn settle(w: &mut World, rng: &mut Rng) -> usize {
    for n in 1..=12 {
        w.clock.advance(Duration::hours(2));
        let before = service_writes(w);
        let mut e = w.engine().await;
        let r = cycle(w, &mut e, "the quiet phase").await.unwrap();
        say(|| {
            format!(
                "settle {n}: waiting={} failed={:?}",
                r.jobs_waiting, r.failed
            )
        });
        let open = resolve_one(w, &mut e, rng, true);
        w.note(open);
        w.park(e);
        let f = w.file_cycle(None, "the quiet phase").await.unwrap();
        let files_open = w.settle_files(true);
        if open == 0
            && r.jobs_waiting == 0
            && r.failed.is_empty()
            && !r.plan.has_writes()
            && files_open == 0
            && f.planned.is_empty()
            && f.jobs_waiting == 0
            && f.failed.is_empty()
            && service_writes(w) == before
        {
            return n;
        }
    }
    panic!("did not settle in 12 cycles");
}

async fn check(w: &mut World, seed: u64) {
    let (o, g) = calendars(w).await;
    if o != g {
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            let mut b = b.to_vec();
            a.iter()
                .filter(|x| match b.iter().position(|y| y == *x) {
                    Some(i) => {
                        b.remove(i);
                        false
                    }
                    None => true,
                })
                .cloned()
                .collect()
        };
        panic!(
            "seed {seed}: the calendars differ: only in Odoo {:?}, only in Outlook {:?}",
            only(&o, &g),
            only(&g, &o)
        );
    }
    let lines: BTreeSet<&String> = o.iter().collect();
    assert_eq!(lines.len(), o.len(), "seed {seed}: a duplicate: {o:?}");
    let events = w.graph_events().await;
    let uids: BTreeSet<String> = events.iter().map(|v| v["iCalUId"].to_string()).collect();
    assert_eq!(
        uids.len(),
        events.len(),
        "seed {seed}: two Graph events share an iCalUId"
    );

    // Quiescence: one more cycle after a restart writes nothing.
    w.clock.advance(Duration::hours(2));
    let writes = service_writes(w);
    let mut e = w.engine().await;
    let r = cycle(w, &mut e, "the quiescence check").await.unwrap();
    assert!(
        !r.plan.has_writes(),
        "seed {seed}: not quiet: {}",
        r.plan.summary()
    );
    assert_eq!(
        service_writes(w),
        writes,
        "seed {seed}: a further cycle wrote"
    );
    let writes = service_writes(w);

    // One link per single event and series master on each side.
    let links = e.store().tx(|t| t.links(PROFILE, LinkKind::Event)).unwrap();
    let mut linked: BTreeMap<String, usize> = BTreeMap::new();
    for l in &links {
        if let Some(id) = l.odoo_id {
            *linked.entry(format!("o:{id}")).or_default() += 1;
        }
        if let Some(id) = &l.graph_id {
            *linked.entry(format!("g:{id}")).or_default() += 1;
        }
    }
    for (id, item) in w.snapshot().await {
        if item.recurring && id.starts_with("o:") {
            continue;
        }
        assert_eq!(
            linked.get(&id).copied().unwrap_or(0),
            1,
            "seed {seed}: {id} ({}) is not linked exactly once",
            item.title
        );
    }

    // No silent loss.
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
    for d in &w.touched.destroyed {
        assert!(
            journal.contains(d),
            "seed {seed}: the engine overwrote or deleted {d:?} without a journal entry"
        );
    }

    // No unasked mail.
    assert!(
        w.mail.unasked.is_empty(),
        "seed {seed}: unasked mail: {:?}",
        w.mail.unasked
    );

    // The audit log accounts for every write.
    let audit = e
        .store()
        .tx(|t| t.audit(PROFILE, None, usize::MAX >> 1))
        .unwrap();
    let audited: BTreeSet<i64> = audit.iter().filter_map(|a| a.link_id).collect();
    for item in &w.touched.written {
        if item.starts_with("o:") && w.touched.series_rows.contains(item) {
            // Odoo makes and remakes a series' rows itself from the rule the engine wrote
            // on the base event: the base is linked and audited, its siblings are not items.
            continue;
        }
        // A link made and gone within one cycle is in no snapshot of the links: an Outlook
        // copy made just before a crash and deleted by Alice before the restart is linked
        // as made, and the same cycle takes her delete to Odoo (Found 35). The audit lines
        // of the job that linked it name the item and the link.
        let job_item = item
            .strip_prefix("o:")
            .map(|o| format!("odoo:{o}"))
            .or_else(|| item.strip_prefix("g:").map(|g| format!("ms:{g}")));
        let linked = w.touched.link_of.get(item).copied().or_else(|| {
            audit
                .iter()
                .find_map(|a| (Some(&a.item) == job_item.as_ref()).then_some(a.link_id)?)
        });
        if let Some(link) = linked {
            assert!(
                audited.contains(&link),
                "seed {seed}: the engine wrote {item} (link {link}) without an audit line"
            );
            continue;
        }
        let Some(made) = w.touched.created.get(item) else {
            panic!("seed {seed}: the engine changed {item}, never linked")
        };

        let accounted = audit.iter().any(|a| {
            let field = |k: &str| {
                a.detail
                    .as_ref()
                    .and_then(|d| d.get(k))
                    .and_then(Value::as_str)
            };
            if item.starts_with("g:") {
                a.op == "microsoft.create_maybe_applied"
                    && field("transaction_id").is_some()
                    && field("transaction_id") == made.raw["transactionId"].as_str()
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
    w.park(e);
    if w.rsvp_on {
        w.check_rsvps(seed).await;
    }
    w.check_docs(seed, writes).await;
    assert!(
        w.mail.unasked.is_empty(),
        "seed {seed}: unasked mail: {:?}",
        w.mail.unasked
    );
}

/// Runs one history and checks it; returns its trace hash. `unlink_occurrences` lets
/// Alice delete (not only archive) one occurrence of an Odoo series.
async fn history(seed: u64, unlink_occurrences: bool, rsvp: bool) -> u64 {
    say(|| format!("seed {seed}"));
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut w = World::new(seed, unlink_occurrences, rsvp).await;
    w.docs_setup();
    if w.rsvp_on {
        w.rsvp_setup().await;
    }
    for _ in 0..3 {
        w.odoo_create(&mut rng, false);
        w.outlook_create(&mut rng, false).await;
    }
    w.account_mail(true, "the first edits");
    for round in 0..8 {
        for _ in 0..1 + rng.below(3) {
            person_step(&mut w, &mut rng).await;
        }
        w.doc_steps().await;
        if w.rsvp_on {
            w.rsvp_steps().await;
        }
        w.clock.advance(Duration::minutes(1 + rng.below(90) as i64));
        let mut e = w.engine().await;
        if rng.below(3) == 0 {
            let at = 1 + rng.below(25);
            say(|| format!("crash after {at}"));
            e.crash_after(Some(at));
        }
        let r = cycle(&mut w, &mut e, &format!("round {round}")).await;
        if r.is_ok() && rng.below(3) == 0 {
            resolve_one(&mut w, &mut e, &mut rng, false);
        }
        w.park(e);
        if r.is_ok() {
            // The app runs the file cycle after a calendar cycle that did not fail or stop.
            let crash = (w.docs_draw(4) == 0).then(|| 1 + w.docs_draw(12));
            say(|| format!("file crash after {crash:?}"));
            match w.file_cycle(crash, &format!("round {round}")).await {
                Ok(_) if w.docs_draw(3) == 0 => {
                    w.settle_files(false);
                }
                Ok(_) | Err(EngineError::Crashed) => {}
                Err(other) => {
                    w.note(other.to_string());
                    say(|| format!("file cycle failed: {other}"));
                }
            }
        }
        match r {
            Ok(_) | Err(EngineError::Crashed) => {}
            Err(other) => {
                // A read that a fault broke fails the cycle before anything is committed;
                // the next cycle starts over.
                w.note(other.to_string());
                say(|| format!("cycle failed: {other}"));
            }
        }
    }
    w.clear_faults();
    settle(&mut w, &mut rng).await;
    check(&mut w, seed).await;
    say(|| {
        format!(
            "requests: Graph {}, Odoo {}; clients slept {:?}",
            w.graph.emulator.request_log().len(),
            w.odoo.emulator.request_log().len(),
            w.clock.slept()
        )
    });
    let mut h = w.trace.clone();
    h.write_u64(w.clock.slept().as_millis() as u64);
    h.finish()
}

/// Runs one seed on its own single-threaded runtime; the panic message on failure.
/// Occurrence deletes are on unless `SIM_UNLINK_OCCURRENCES=0`, Bob's invitations unless
/// `SIM_RSVP=0`.
fn run_one(seed: u64) -> Result<u64, String> {
    run_mode(seed, unlink_occurrences(), rsvp())
}

fn unlink_occurrences() -> bool {
    !matches!(std::env::var("SIM_UNLINK_OCCURRENCES").as_deref(), Ok("0"))
}

/// A seed as the histories without Bob's invitations run it: the mode the regression
/// and open seeds before session 9 were found in (`rsvp_seeds` holds those found with).
fn run_with(seed: u64, unlink_occurrences: bool) -> Result<u64, String> {
    run_mode(seed, unlink_occurrences, false)
}

/// Bob's invitations and Alice's answers in the main run: on since session 9, when the
/// last seeds failing with them were fixed (RELIABILITY Found 35-38); `SIM_RSVP=0` runs
/// the histories without them.
fn rsvp() -> bool {
    !matches!(std::env::var("SIM_RSVP").as_deref(), Ok("0"))
}

fn run_mode(seed: u64, unlink_occurrences: bool, rsvp: bool) -> Result<u64, String> {
    std::panic::catch_unwind(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(Box::pin(history(seed, unlink_occurrences, rsvp)))
    })
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// [`run_one`], `SIM_REPEAT` times (once by default): a run whose trace differs from the
/// first one's fails, as the seed did not replay.
fn run_repeated(seed: u64) -> Result<u64, String> {
    let first = run_one(seed)?;
    for run in 2..=env_u64("SIM_REPEAT").unwrap_or(1) {
        let again = run_one(seed).map_err(|m| format!("run {run}: {m}"))?;
        if again != first {
            return Err(format!(
                "did not replay: run {run} left trace {again:x}, run 1 {first:x}"
            ));
        }
    }
    Ok(first)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// Runs seeds `from..from + n` over `threads` threads; the failing seeds with their message.
fn run_seeds(from: u64, n: u64, threads: usize) -> Vec<(u64, String)> {
    let unlink = unlink_occurrences();
    let next = AtomicU64::new(from);
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= from + n {
                    break;
                }
                // Skipped only in the mode it fails in (occurrence deletes on or off).
                if OPEN.iter().any(|(s, u, _)| *s == seed && *u == unlink) {
                    eprintln!("skipped open seed {seed} (see open_seeds)");
                    continue;
                }
                if let Err(msg) = run_repeated(seed) {
                    eprintln!("FAILED seed {seed}: {msg}\n  replay: SIM_SEED={seed} cargo test -p odoo365 --test sim");
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
fn histories_against_both_emulators_converge_without_loss_duplicates_or_unasked_mail() {
    if let Some(seed) = env_u64("SIM_SEED") {
        run_repeated(seed).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
        return;
    }
    let n = env_u64("SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let from = env_u64("SIM_SEED_FROM").unwrap_or(1);
    let threads = env_u64("SIM_THREADS").map_or_else(
        || std::thread::available_parallelism().map_or(2, |n| n.get()),
        |t| t as usize,
    );
    #[allow(clippy::disallowed_methods)] // a wall-clock figure for the report, not sim time
    let started = std::time::Instant::now();
    let failed = run_seeds(from, n, threads);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "emulator simulation: {n} seeds ({from}..={}) on {threads} threads in {secs:.1} s ({:.2} seeds/s); {} failed",
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
    for seed in [3, 10] {
        let a = run_with(seed, false).unwrap();
        let b = run_with(seed, false).unwrap();
        assert_eq!(a, b, "seed {seed} did not replay: trace hashes differ");
    }
}

/// Histories with Bob's invitations and Alice's answers (`rsvp.rs`): seeds 1-30, each
/// of which failed before RELIABILITY Found 27 or passes with it, 351 and 1230 (Found
/// 27's resolved answer conflict), 135 and 1355 (Found 28, a lost series create), 83, 477
/// and 1489 (Found 37, documents: a OneDrive move resumed after a crash took Alice's
/// rename made meanwhile into the baseline), 270 and 1588 (Found 38, documents: a new
/// file's link planned while its upload still waited, a keep-both of the job's own copy).
#[test]
fn rsvp_seeds() {
    let failed: Vec<(u64, String)> = (1..=30)
        .chain([351, 1230, 135, 1355, 83, 477, 1489, 270, 1588])
        .filter_map(|s| run_mode(s, true, true).err().map(|m| (s, m)))
        .collect();
    assert!(failed.is_empty(), "failing RSVP seeds: {failed:?}");
}

/// Seeds that failed once, kept after their fix.
#[test]
fn regression_seeds() {
    // 1: an all-day event created in Odoo by a create whose answer was lost was not found
    //    again (the app's `find` matched the 08:00 placeholder in `start`, not
    //    `start_date`), so it was copied back to Outlook: a duplicate on both sides
    //    (fixed in crates/app/src/ports.rs).
    run_with(1, false).unwrap_or_else(|m| panic!("seed 1: {m}"));
    // 30, 31 (with occurrence deletes): an occurrence deleted outright (unlink) in Odoo
    //    stayed in Outlook, as nothing left in the series changes (fixed in
    //    crates/engine/src/series.rs: the engine remembers the rows of linked series).
    // 20 (the same): the series' base event deleted; Odoo named another base, the link
    //    still named the deleted one, so Outlook's series was deleted and created again
    //    (fixed in crates/engine/src/series.rs: the link follows the new base).
    // 36 (the same): occurrences deleted before the series was first linked were created
    //    in Outlook (fixed there too: a date of the rule without any row is cancelled).
    for seed in [20, 30, 31, 36] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 6 (documents): an upload of a new file whose answer was lost was resent by the Graph
    //    client and met its own first copy: 409, the file failed (or, with `rename`, a
    //    "(2)" duplicate) (fixed in crates/graph/src/requests.rs: not idempotent).
    // 27 (documents): a content replace held to an eTag, its answer lost, was resent with
    //    the same If-Match after its own write changed the eTag: 412, then "changed on both
    //    sides" and the same content twice on each side (fixed in crates/graph and
    //    crates/engine/src/files/engine.rs: no resend, and no If-Match once maybe applied).
    for seed in [6, 27] {
        run_with(seed, false).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 47: a series PATCH whose answer was lost (a reset after it landed) was resent by the
    //    Graph client, and Outlook mailed the guests a second update (changed:recurrence)
    //    (fixed in crates/app/src/ports.rs: such a PATCH is not resent blindly, and in
    //    crates/engine/src/sync.rs: a maybe-applied series update that landed is not sent
    //    again).
    run_with(47, false).unwrap_or_else(|m| panic!("seed 47: {m}"));
    // 51 (documents, with occurrence deletes): a content replace cut off by a crash was
    //    sent again after the restart without If-Match, over Alice's OneDrive edit made
    //    meanwhile: her version gone with no journal entry (fixed in
    //    crates/engine/src/files/engine.rs: `replace_landed` reads the file first).
    run_with(51, true).unwrap_or_else(|m| panic!("seed 51: {m}"));
    // 41 (documents, with occurrence deletes): a kept-both copy was dated in OneDrive
    //    only (Odoo held `f3.docx` twice); after Alice deleted OneDrive's `f3.docx` (and
    //    the engine its Odoo twin) the names differed for good (fixed in
    //    crates/engine/src/files/engine.rs: the copy has the dated name on both sides).
    run_with(41, true).unwrap_or_else(|m| panic!("seed 41: {m}"));
    // 87, 119 (documents): a keep-both waiting for a retry of its last step left OneDrive's
    //    version on no link; the next cycle created it in Odoo as a new file, the job did
    //    too, and the second link broke the one-link-per-file rule (fixed in
    //    crates/engine/src/files/engine.rs: the job's file is busy while it waits).
    for seed in [87, 119] {
        run_with(seed, false).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 219, 732, 1124, 1404, 1557 (documents, with occurrence deletes): a OneDrive edit
    //    planned into Odoo, its job cut off by a crash, came back "maybe applied" and skipped
    //    the read that guards an Odoo write: Alice's Odoo edit made meanwhile was overwritten
    //    with no journal entry. 821, 1995: the same for a OneDrive delete, sent without
    //    If-Match over her OneDrive edit (fixed in crates/engine/src/files/engine.rs:
    //    `odoo_unchanged` and `DriveDelete` check a maybe-applied job too).
    for seed in [219, 732, 821, 1124, 1404, 1557, 1995] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 1005 (with occurrence deletes): an Outlook series created by a cycle cut off by a
    //    crash was looked for among the events created "in the last 24 hours" of the wall
    //    clock, not of the emulator's (virtual) one: not found, and made again beside the
    //    first (fixed in crates/app/src/ports.rs: the Graph client's clock).
    // 461: "keep Odoo" after an Outlook series delete recreated the series without the
    //    occurrence Alice had deleted outright in Odoo (fixed in crates/engine/src/sync.rs:
    //    `plan_resolution` reads the whole series).
    // 1012, 1432: an Odoo series the engine created, re-based by Alice before the engine
    //    read it back, read as a new series: copied to Outlook again (fixed in
    //    crates/engine/src/series.rs: `remember_created_series`).
    for seed in [1005, 461, 1012, 1432] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 159, 1731 (with occurrence deletes): a Graph create whose answer was lost waited a
    //    cycle; Alice deleted the event it had made, and the resend (same transactionId)
    //    made it again: Outlook invited the guests twice (fixed in crates/engine/src/sync.rs:
    //    a lost create is looked for at once, and a maybe-applied one before any resend).
    for seed in [159, 1731] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    run_with(159, false).unwrap_or_else(|m| panic!("seed 159 (no occurrence deletes): {m}"));
    // 1384: not the engine's: the cancellation of an occurrence Alice archived in Odoo
    //    names the series' title, which she had changed since; the credit for it named the
    //    row's old title only (fixed in tests/sim/world.rs `odoo_remove`: the series' link
    //    is a key too).
    run_with(1384, true).unwrap_or_else(|m| panic!("seed 1384: {m}"));
    // 220, 1254, 1281: a change key beginning with `W/` (base64 may) was refused by every
    //    If-Match: the emulator trimmed each leading `W/`, and the app sent the bare key
    //    rather than `W/"<changeKey>"`; the update was planned and refused in every cycle
    //    (fixed in crates/testkit/src/graph/calendar.rs `if_match_key` and
    //    crates/app/src/ports.rs `event_etag`).
    for seed in [220, 1254, 1281] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 264 (documents): the second of two `f7.pdf` on one Odoo record is `f7 (2).pdf` in
    //    OneDrive; moved in Odoo to a record without a namesake it kept the `(2)` (fixed in
    //    crates/engine/src/files/engine.rs: a move takes Odoo's name back where it is free).
    run_with(264, true).unwrap_or_else(|m| panic!("seed 264: {m}"));
    // 616, 742 (documents): an upload whose answer was lost met another content under
    //    its name on the retry (itself edited since in OneDrive) and failed on 409 for
    //    good; that file, taken for the upload's own, was never read again: on one side
    //    only (fixed in crates/engine/src/files/engine.rs: the retry takes a free name,
    //    and files skipped for an upload in flight are read again next cycle).
    for seed in [616, 742] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 529, 1887 and more (with occurrence deletes; 65 and 191 also without): a new file's
    //    create (an upload, or an attachment) cut off by a lost answer or a crash landed,
    //    and Alice renamed it before the job resumed; the job looked for it by the name it
    //    sent, found nothing and created it again (fixed in crates/engine/src/files/engine.rs:
    //    `drive_made_since`, `odoo_made_since` search what changed since the observation).
    for seed in [
        65, 175, 191, 529, 565, 601, 693, 747, 844, 846, 898, 919, 956, 1000, 1203, 1441, 1663,
        1692, 1709, 1734, 1850, 1864, 1944,
    ] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    for seed in [65, 191] {
        run_with(seed, false).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 1906, 1887 and more (with occurrence deletes): the same, but Alice edited the new
    //    OneDrive file; the job met another content under its name, sent it there again
    //    and got 409 for good, and her version never reached Odoo (fixed there too: the
    //    upload goes under a free name, both versions kept; 1852: the attachment takes
    //    that name too, or the names differ once she deletes hers).
    for seed in [
        471, 800, 1104, 1194, 1337, 1467, 1615, 1852, 1856, 1867, 1887, 1906, 2042, 2112, 2127,
    ] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 1502, 128, 363, 577, 989, 1547, 1970 (documents, with occurrence deletes): a new
    //    file's upload landed and its link was written, then a crash; Alice renamed, moved
    //    or edited the file in OneDrive before the restart, which found the upload on its
    //    link and took the file as it was then into the baseline: her change counted as
    //    synced, Odoo kept the old name or content for good (fixed in
    //    crates/engine/src/files/engine.rs: the upload is taken as it was sent, `as_sent`).
    for seed in [128, 363, 577, 989, 1502, 1547, 1970] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 358 (documents, with occurrence deletes): a job left waiting failed again in the
    //    next cycle's first drain; that cycle's observation read Alice's rename of its
    //    OneDrive file, the plan left the busy item alone, the job finished in the last
    //    drain with the name it had planned with, and the rename was never read again
    //    (fixed in crates/engine/src/files/engine.rs: `skip_busy`, read again next cycle).
    run_with(358, true).unwrap_or_else(|m| panic!("seed 358: {m}"));
    // 1266 (documents, with occurrence deletes): a keep-both's last step (OneDrive's
    //    version made a new attachment) lost its answer; Alice renamed that file before the
    //    retry, which read it and put her new name into the baseline beside the attachment
    //    made under the old one (fixed in crates/engine/src/files/engine.rs: the baseline
    //    holds the name the attachment was made from).
    run_with(1266, true).unwrap_or_else(|m| panic!("seed 1266: {m}"));
    // 1465, 1473 (documents, with occurrence deletes): a new OneDrive file's attachment
    //    create landed with its answer lost; Alice edited that attachment before the retry,
    //    which made the file again; the observation took her attachment for the create in
    //    flight (same record and name), the cursor moved past it, and it stayed in Odoo
    //    only (fixed in crates/engine/src/files/engine.rs: read again next cycle).
    for seed in [1465, 1473] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 1597 (documents, with occurrence deletes): Odoo held `f10.pdf` twice, OneDrive showed
    //    the second as `f10 (2).pdf`; Alice renamed the first, and the copy kept its number
    //    for good beside Odoo's `f10.pdf`. 1292: the same, the copy moved in OneDrive to a
    //    folder without a namesake (fixed in crates/engine/src/files/engine.rs:
    //    `plan_numbered_names_back`).
    for seed in [1292, 1597] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 1529 (documents, with occurrence deletes): Alice chose "keep Odoo" while the
    //    keep-both that opened the conflict still waited on a lost answer; the choice's
    //    jobs acted on links not re-pointed yet, and Odoo's version ended twice on both
    //    sides (fixed in crates/engine/src/files/engine.rs: `resolve_conflict` refuses
    //    until the keep-both is done; the harness lets her choose again later).
    run_with(1529, true).unwrap_or_else(|m| panic!("seed 1529: {m}"));
    // 2014 (documents, with occurrence deletes): a keep-both was killed after its last
    //    step wrote the new attachment's link; Alice deleted that attachment and edited
    //    OneDrive's version before the restart, and the resumed step made the attachment
    //    again and met that link, `UNIQUE … link.graph_id`, in every retry: failed for good,
    //    its conflict never resolvable (fixed in crates/engine/src/files/engine.rs: the
    //    step adopts the link it wrote).
    run_with(2014, true).unwrap_or_else(|m| panic!("seed 2014: {m}"));
    // 1613, 179, 1193, 1514 (with occurrence deletes): Outlook copies made (one create,
    //    or a batch) just before a crash, one deleted by Alice before the restart; the
    //    resumed create found nothing under its transactionId and made it again: a second
    //    invitation, her delete undone (fixed in crates/engine/src/sync.rs: a create notes
    //    its event the moment Graph answers; a deleted one is linked as made and her delete
    //    goes to Odoo). 1193 and 1514 also needed the harness to learn such a link from the
    //    audit: it is made and gone within one cycle.
    for seed in [179, 1193, 1514, 1613] {
        run_with(seed, true).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
    }
    // 37 (documents, with occurrence deletes): an upload landed just before a crash; Alice
    //    moved the new file to another record's folder and the delta link expired before
    //    the restart, which looked for the upload by name, could not read what changed,
    //    and uploaded it again: the moved file came back to Odoo as a second attachment
    //    (fixed in crates/engine/src/files/engine.rs: the upload is noted the moment
    //    OneDrive answers, `noted_upload`).
    run_with(37, true).unwrap_or_else(|m| panic!("seed 37: {m}"));
}

// Failing seeds of seeds 1-2,100 (`sim` profile), grouped by what the check saw;
// docs/RELIABILITY.md "Found" 13. Refreshed on 2026-11-23 (session 6) after merging the
// keep-both, crash and series fixes, and again in session 7 after Found 15-25 (every
// silent-loss, calendar-divergence and "one content twice" seed passes now; 1502, 1547,
// 1613 and 1970 fail now, as the fixes changed their histories). Session 8: every files
// seed traced and fixed (Found 29-34), none left open. Session 9: 1613 fixed (Found 35);
// the Graph create batch changed the fault draws of every later request, and seed 37
// failed (fixed in session 10, Found 39).

/// Seeds that still fail: (seed, with occurrence deletes, diagnosis). The main run skips
/// them (and says so); `open_seeds` runs them.
const OPEN: &[(u64, bool, &str)] = &[];

/// Seeds that still fail, each with its diagnosis (docs/RELIABILITY.md):
/// `cargo test -p odoo365 --test sim open_seeds -- --ignored`.
#[test]
#[ignore = "open bugs, see docs/RELIABILITY.md"]
fn open_seeds() {
    let failed: Vec<(u64, &str)> = OPEN
        .iter()
        .filter(|(s, unlink, _)| run_with(*s, *unlink).is_err())
        .map(|(s, _, why)| (*s, *why))
        .collect();
    assert!(failed.is_empty(), "still failing: {failed:?}");
}
