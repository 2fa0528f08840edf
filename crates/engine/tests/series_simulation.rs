#![allow(clippy::unwrap_used)]
//! Seeded random histories of **recurring series** (the single-event simulation is
//! `simulation.rs`): users create series on both sides, rename whole series, change their
//! rules, cancel and move single occurrences, delete series; services lose answers and
//! throttle; the engine is stopped at random persisted steps. After settling, each history
//! is checked for:
//!
//! * **convergence**: both sides hold the same series, each as (title, the starts of its
//!   occurrences): Odoo's active rows per recurrence, Outlook's instances per master;
//! * **no duplicates**: no series title twice on a side;
//! * **quiescence**: a further cycle writes nothing (Graph expands instances and Odoo
//!   regenerates rows, neither may look like a change).
//!
//! `SERIES_SEEDS=n` runs `n` seeds (default 150) from `SERIES_FROM` (default 1);
//! `SERIES_SEED=n` replays one and prints its trace (plan per cycle, audit, rows, masters,
//! links).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use odoo365_engine::testing::{FakeGraph, FakeOdoo};
use odoo365_engine::{
    ConflictChoice, Engine, EngineConfig, EngineError, ManualClock, Store, SyncOptions, Window,
};
use odoo365_sync_core::canonical::Recurrence;
use odoo365_sync_core::rrule::Rule;
use odoo365_sync_core::{Event, Side, When};
use serde_json::{json, Value};

const ME: &str = "me@example.com";
const CONFIRM: SyncOptions = SyncOptions {
    dry_run: false,
    confirm: true,
};

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

fn window() -> Window {
    Window {
        start: at(1, 0) - Duration::days(60),
        end: at(1, 0) + Duration::days(400),
    }
}

struct World {
    graph: FakeGraph,
    odoo: FakeOdoo,
    clock: ManualClock,
    store: Option<Store>,
    made: u32,
    log: Vec<String>,
}

impl World {
    fn new() -> World {
        let s = Store::open_in_memory().unwrap();
        s.put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
            .unwrap();
        World {
            graph: FakeGraph::new(ME),
            odoo: FakeOdoo::new(ME),
            clock: ManualClock::new(at(22, 12)),
            store: Some(s),
            made: 0,
            log: Vec::new(),
        }
    }

    fn engine(&mut self) -> Engine {
        let mut cfg = EngineConfig::new("p1", ME);
        cfg.guards.mail_threshold = usize::MAX;
        Engine::new(
            self.store.take().unwrap(),
            cfg,
            Arc::new(self.graph.clone()),
            Arc::new(self.odoo.clone()),
            Arc::new(self.clock.clone()),
        )
        .unwrap()
    }

    fn park(&mut self, e: Engine) {
        self.store = Some(e.into_store());
    }

    fn new_series(&mut self) -> Event {
        self.made += 1;
        let n = self.made;
        let rule = match n % 3 {
            0 => "FREQ=DAILY;COUNT=4",
            1 => "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=5",
            _ => "FREQ=DAILY;INTERVAL=2;COUNT=3",
        };
        let day = 23 + n % 5;
        let hour = 7 + n % 10;
        let mut e = Event::timed(&format!("S{n}"), at(day, hour), at(day, hour + 1));
        e.time_zone = Some("Europe/Berlin".into());
        e.recurrence = Some(Recurrence {
            rule: Rule::parse(rule).unwrap(),
            exdates: BTreeSet::new(),
        });
        e.normalized()
    }

    fn masters(&self) -> Vec<Value> {
        self.graph
            .events()
            .into_iter()
            .filter(|e| e["type"] == "seriesMaster")
            .collect()
    }

    /// Active recurrences and their active rows (by start).
    fn odoo_series(&self) -> BTreeMap<i64, Vec<Value>> {
        let mut out = BTreeMap::new();
        for rid in self.odoo.recurrence_ids() {
            let rows: Vec<Value> = self
                .odoo
                .series_rows(rid)
                .into_iter()
                .filter(|r| r["active"] != json!(false))
                .collect();
            if !rows.is_empty() {
                out.insert(rid, rows);
            }
        }
        out
    }

    fn base_of(&self, rid: i64) -> Option<i64> {
        // The base row is the one the recurrence names: Odoo re-bases a series whose base
        // is archived, deleted or (created off its rule) detached, so the first row by id
        // may no longer be part of the series, and a rename through it would miss it.
        self.odoo.base_event_of(rid)
    }

    /// Adds what a user step touched to the trace.
    fn note(&mut self, what: String) {
        if let Some(last) = self.log.last_mut() {
            last.push_str(": ");
            last.push_str(&what);
        }
    }

    fn user_step(&mut self, rng: &mut Rng) {
        let step = rng.below(13);
        self.log.push(format!("step {step}"));
        match step {
            0 => {
                let e = self.new_series();
                self.note(format!("odoo {}", e.title));
                self.odoo.user_create(&e);
            }
            1 => {
                let e = self.new_series();
                self.note(format!("graph {}", e.title));
                self.graph.user_create(&e, None);
            }
            2 | 4 => {
                let all = self.odoo_series();
                let Some(rid) = all.keys().nth(rng.below(all.len())).copied() else {
                    return;
                };
                let Some(base) = self.base_of(rid) else {
                    return;
                };
                self.made += 1;
                let vals = if step == 2 {
                    json!({"name": format!("S{}", self.made), "recurrence_update": "all_events"})
                } else {
                    json!({"count": 2 + rng.below(4), "recurrence_update": "all_events"})
                };
                self.note(format!("odoo rid {rid} base {base}: {vals}"));
                self.odoo.user_write(base, &vals);
            }
            3 | 5 => {
                let ms = self.masters();
                if ms.is_empty() {
                    return;
                }
                let id = ms[rng.below(ms.len())]["id"].as_str().unwrap().to_owned();
                self.made += 1;
                let title = format!("S{}", self.made);
                let count = 2 + rng.below(4);
                self.note(format!("graph {id}: title {title} or count {count}"));
                self.graph.user_edit(&id, |m| {
                    if step == 3 {
                        m["subject"] = json!(title);
                    } else {
                        m["recurrence"]["range"]["type"] = json!("numbered");
                        m["recurrence"]["range"]["numberOfOccurrences"] = json!(count);
                    }
                });
            }
            6 | 8 => {
                // Cancel or move ("this event only") one occurrence that is not the base.
                let all = self.odoo_series();
                let Some((rid, rows)) = all.iter().nth(rng.below(all.len())) else {
                    return;
                };
                let base = self.base_of(*rid);
                let others: Vec<&Value> = rows
                    .iter()
                    .filter(|r| r["id"].as_i64() != base && r["follow_recurrence"] == true)
                    .collect();
                if others.is_empty() {
                    return;
                }
                let r = others[rng.below(others.len())];
                let id = r["id"].as_i64().unwrap();
                self.note(format!("odoo rid {rid} row {id} at {}", r["start"]));
                if step == 6 {
                    self.odoo.user_archive(id);
                } else {
                    let shift = |k: &str| {
                        let t = NaiveDateTime::parse_from_str(
                            r[k].as_str().unwrap(),
                            "%Y-%m-%d %H:%M:%S",
                        )
                        .unwrap();
                        (t + Duration::minutes(30))
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string()
                    };
                    self.odoo
                        .user_write(id, &json!({"start": shift("start"), "stop": shift("stop")}));
                }
            }
            7 | 9 => {
                let ms = self.masters();
                if ms.is_empty() {
                    return;
                }
                let id = ms[rng.below(ms.len())]["id"].as_str().unwrap().to_owned();
                let inst: Vec<Value> = self
                    .graph
                    .instances_of(&id, window())
                    .into_iter()
                    .filter(|i| i["type"] == "occurrence")
                    .skip(1)
                    .collect();
                if inst.is_empty() {
                    return;
                }
                let i = &inst[rng.below(inst.len())];
                let orig = odoo365_sync_core::graph::original_start(i).unwrap();
                let date = orig.with_timezone(&chrono_tz::Europe::Berlin).date_naive();
                self.note(format!("graph {id} on {date}"));
                if step == 7 {
                    self.graph.user_cancel_occurrence(&id, date);
                } else {
                    let start = orig + Duration::minutes(30);
                    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
                    self.graph.user_edit_occurrence(&id, date, |v| {
                        v["start"] = json!({"dateTime": fmt(start), "timeZone": "UTC"});
                        v["end"] =
                            json!({"dateTime": fmt(start + Duration::hours(1)), "timeZone": "UTC"});
                    });
                }
            }
            10 => {
                let all = self.odoo_series();
                if let Some((rid, rows)) = all.iter().nth(rng.below(all.len())) {
                    self.note(format!("odoo rid {rid}"));
                    for r in rows {
                        self.odoo.user_archive(r["id"].as_i64().unwrap());
                    }
                }
            }
            11 => {
                let ms = self.masters();
                if !ms.is_empty() {
                    let id = ms[rng.below(ms.len())]["id"].as_str().unwrap().to_owned();
                    self.note(format!("graph {id}"));
                    self.graph.user_delete(&id);
                }
            }
            _ => {
                let (side, op) = match rng.below(4) {
                    0 => ("graph", "create"),
                    1 => ("odoo", "create"),
                    2 => ("odoo", "write"),
                    _ => ("graph", "update"),
                };
                self.note(format!("{side} loses the answer of the next {op}"));
                if side == "graph" {
                    self.graph.lose_answer_of_next(op);
                } else {
                    self.odoo.lose_answer_of_next(op);
                }
            }
        }
    }

    /// Each side's series as (title, occurrence starts), sorted.
    fn calendars(&self) -> (Vec<String>, Vec<String>) {
        let start_of = |t: &str| {
            NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .to_rfc3339()
        };
        let mut o: Vec<String> = Vec::new();
        for (rid, rows) in self.odoo_series() {
            let base = self.base_of(rid);
            let title = self
                .odoo
                .series_rows(rid)
                .iter()
                .find(|r| r["id"].as_i64() == base)
                .and_then(|r| r["name"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut starts: Vec<String> = rows
                .iter()
                .map(|r| start_of(r["start"].as_str().unwrap()))
                .collect();
            starts.sort();
            o.push(format!("{title}: {}", starts.join(" ")));
        }
        let mut g: Vec<String> = Vec::new();
        for m in self.masters() {
            let id = m["id"].as_str().unwrap();
            let mut starts: Vec<String> = self
                .graph
                .instances_of(id, window())
                .iter()
                .map(
                    |i| match odoo365_sync_core::graph::from_graph(i).unwrap().when {
                        When::Timed { start, .. } => start.to_rfc3339(),
                        When::AllDay { start, .. } => start.to_string(),
                    },
                )
                .collect();
            starts.sort();
            if starts.is_empty() {
                continue;
            }
            g.push(format!(
                "{}: {}",
                m["subject"].as_str().unwrap_or_default(),
                starts.join(" ")
            ));
        }
        o.sort();
        g.sort();
        (o, g)
    }

    /// Prints the audit, rows, masters and links when one seed is replayed.
    fn dump(&mut self) {
        if std::env::var("SERIES_SEED").is_err() {
            return;
        }
        let mut e = self.engine();
        for a in e
            .store()
            .tx(|t| t.audit("p1", None, 500))
            .unwrap()
            .iter()
            .rev()
        {
            eprintln!("audit {} {} {:?} {}", a.item, a.op, a.link_id, a.rule);
        }
        for rid in self.odoo.recurrence_ids() {
            for r in self.odoo.series_rows(rid) {
                eprintln!(
                    "row rid={rid} id={} {} {} active={} follow={}",
                    r["id"], r["name"], r["start"], r["active"], r["follow_recurrence"]
                );
            }
        }
        for m in self.masters() {
            eprintln!(
                "master {} {} {} {}",
                m["id"], m["subject"], m["recurrence"], m["cancelledOccurrences"]
            );
        }
        for l in e
            .store()
            .tx(|t| t.links("p1", odoo365_engine::LinkKind::Event))
            .unwrap()
        {
            eprintln!("link {l:?}");
        }
        self.park(e);
    }

    async fn settle(&mut self, seed: u64) {
        for _ in 0..12 {
            self.clock.advance(Duration::hours(2));
            let before = (self.odoo.writes(), self.graph.writes());
            let mut e = self.engine();
            let r = e.sync(CONFIRM).await.unwrap();
            // Conflicts (edit vs delete, same field both sides) are the user's: Odoo wins.
            let open = e.store().tx(|t| t.open_conflicts("p1")).unwrap();
            for c in &open {
                e.resolve_conflict(c.id, ConflictChoice::Side { side: Side::Odoo })
                    .unwrap();
            }
            self.park(e);
            if open.is_empty()
                && r.jobs_waiting == 0
                && r.failed.is_empty()
                && !r.plan.has_writes()
                && (self.odoo.writes(), self.graph.writes()) == before
            {
                return;
            }
            self.log.push(format!(
                "{}  jobs waiting: {}, failed: {:?}, writes: {:?} -> {:?}",
                r.plan.summary(),
                r.jobs_waiting,
                r.failed,
                before,
                (self.odoo.writes(), self.graph.writes())
            ));
        }
        self.dump();
        panic!("seed {seed}: did not settle: {:#?}", self.log);
    }
}

async fn history(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut w = World::new();
    for _ in 0..2 {
        let e = w.new_series();
        w.odoo.user_create(&e);
        let e = w.new_series();
        w.graph.user_create(&e, None);
    }
    for _ in 0..6 {
        for _ in 0..1 + rng.below(3) {
            w.user_step(&mut rng);
        }
        w.clock.advance(Duration::minutes(1 + rng.below(90) as i64));
        let mut e = w.engine();
        if rng.below(3) == 0 {
            e.crash_after(Some(1 + rng.below(30)));
        }
        let r = e.sync(CONFIRM).await;
        w.park(e);
        match r {
            Ok(r) => w.log.push(r.plan.summary()),
            Err(EngineError::Crashed) => w.log.push("crash".into()),
            Err(other) => panic!("seed {seed}: {other}\n{:#?}", w.log),
        }
    }
    w.settle(seed).await;
    let (o, g) = w.calendars();
    w.dump();
    assert_eq!(o, g, "seed {seed}: the series differ\n{:#?}", w.log);
    let titles: BTreeSet<&str> = o.iter().map(|s| s.split(':').next().unwrap()).collect();
    assert_eq!(
        titles.len(),
        o.len(),
        "seed {seed}: a duplicate series: {o:?}\n{:#?}",
        w.log
    );
    // Quiescence.
    w.clock.advance(Duration::hours(2));
    let writes = (w.odoo.writes(), w.graph.writes());
    let mut e = w.engine();
    let r = e.sync(CONFIRM).await.unwrap();
    assert!(
        !r.plan.has_writes(),
        "seed {seed}: not quiet: {}",
        r.plan.summary()
    );
    assert_eq!((w.odoo.writes(), w.graph.writes()), writes, "seed {seed}");
}

fn run_one(seed: u64) -> Result<(), String> {
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

#[test]
fn random_series_histories_converge_without_duplicates_and_go_quiet() {
    if let Some(seed) = std::env::var("SERIES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        run_one(seed).unwrap_or_else(|m| panic!("{m}"));
        return;
    }
    let n: u64 = std::env::var("SERIES_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let first: u64 = std::env::var("SERIES_FROM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut failed = Vec::new();
    for seed in first..first + n {
        if let Err(m) = run_one(seed) {
            eprintln!("FAILED seed {seed}: {m}");
            failed.push(seed);
        }
    }
    assert!(failed.is_empty(), "failing seeds: {failed:?}");
}

/// Seeds that failed once, each replayed by name (they stay in the main range too).
///
/// 41, 44, 90: Odoo rebuilt a series' rows on an `all_events` write that left the rule as
/// it was, dropping its exception, while Outlook kept its own; the engine let the
/// exception's link go on both sides and never looked at Outlook's again, so the moved
/// occurrence kept its moved time in Outlook only. Now the link goes and the occurrence is
/// paired afresh in the same cycle.
#[test]
fn seeds_41_44_90_a_same_rule_rebuild_in_odoo_keeps_the_outlook_move() {
    for seed in [41, 44, 90] {
        run_one(seed).unwrap_or_else(|m| panic!("{m}"));
    }
}

/// 144: cancellations on both sides met as a conflict; its resolution read the series by
/// a plain GET and a base-row read (no cancelled dates), so it wrote Odoo's cancellations
/// over an Outlook that had one more, without undoing it, and recorded them as agreed.
#[test]
fn seed_144_a_series_conflict_is_resolved_against_both_sides_cancellations() {
    run_one(144).unwrap_or_else(|m| panic!("{m}"));
}

/// A series whose start is off its own rule (weekly Mon/Thu from a Friday). Odoo's
/// `create` detaches and archives such a base and re-bases the recurrence on its first
/// occurrence; FakeOdoo archived it but kept it as the base, so an `all_events` rename
/// through it missed it (11, 15, 51, 318: Odoo kept an old title, an occurrence or a
/// series). Made faithful, the engine linked the archived id `create` returned and
/// duplicated its own series in Outlook (27, 72, 76, 121, 139, 142); it now creates and
/// rewrites an Odoo series on its rule's first occurrence (`tests/series.rs`,
/// `an_outlook_series_starting_off_its_rule_*`).
#[test]
fn seeds_of_a_series_off_its_rule_converge() {
    let seeds = [11, 15, 27, 51, 72, 76, 121, 139, 142, 318];
    let failed: Vec<(u64, String)> = seeds
        .into_iter()
        .filter_map(|s| run_one(s).err().map(|m| (s, m)))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// The 19 seeds the first release soak (seeds 1–500 and 2501–3000) found, each replayed
/// by name; the bugs are in docs/RELIABILITY.md "Series soak" and each has a focused test
/// in `tests/series.rs`:
///
/// * 152, 367, 398, 494, 2519, 2608, 2929: an occurrence moved right after a rule edit on
///   the same side (a rebuilt series was not searched for exceptions again);
/// * 192, 214, 289, 335, 386, 2524, 2873: a series rewritten to undo a cancellation
///   dropped one side's exceptions while their links stayed; 2610: the same by a conflict
///   resolution's rewrite;
/// * 318, 2622, 2623: an exception link without a baseline, read again with one side
///   quiet, became a single event or kept its move on one side;
/// * 2952: an exception of a series with an open conflict got a conflict of its own,
///   resolved into a single event, and a resolution whose link had gone failed forever.
#[test]
fn soak_seeds_of_issue_6_converge() {
    let seeds = [
        152, 192, 214, 289, 318, 335, 367, 386, 398, 494, 2519, 2524, 2608, 2610, 2622, 2623, 2873,
        2929, 2952,
    ];
    let failed: Vec<(u64, String)> = seeds
        .into_iter()
        .filter_map(|s| run_one(s).err().map(|m| (s, m)))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}
