#![allow(clippy::unwrap_used)]
//! Crash safety: the engine is stopped (dropped, as a killed process would be) right after
//! each of its persisted steps and service writes in turn, the store is reopened, and
//! syncing again must converge to the same end state as a run without a crash: no
//! duplicate on either side, no lost edit, and then a cycle that writes nothing.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use odoo365_engine::testing::{FakeGraph, FakeOdoo};
use odoo365_engine::{Engine, EngineConfig, EngineError, ManualClock, Store, SyncOptions};
use odoo365_sync_core::Event;
use serde_json::{json, Value};

const ME: &str = "me@example.com";

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

fn event(title: &str, day: u32, hour: u32) -> Event {
    Event::timed(title, at(day, hour), at(day, hour + 1)).normalized()
}

struct World {
    graph: FakeGraph,
    odoo: FakeOdoo,
    clock: ManualClock,
    dir: tempfile::TempDir,
}

const CONFIRM: SyncOptions = SyncOptions {
    dry_run: false,
    confirm: true,
};

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sync.db")).unwrap();
        store
            .put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
            .unwrap();
        World {
            graph: FakeGraph::new(ME),
            odoo: FakeOdoo::new(ME),
            clock: ManualClock::new(at(22, 12)),
            dir,
        }
    }

    fn engine(&self) -> Engine {
        let store = Store::open(&self.dir.path().join("sync.db")).unwrap();
        Engine::new(
            store,
            EngineConfig::new("p1", ME),
            Arc::new(self.graph.clone()),
            Arc::new(self.odoo.clone()),
            Arc::new(self.clock.clone()),
        )
        .unwrap()
    }

    /// Syncs (confirmed) until a cycle writes nothing; returns the cycles it took.
    async fn converge(&self) -> usize {
        for n in 1..=8 {
            // Past any retry delay a lost answer left.
            self.clock.advance(Duration::hours(2));
            let before = (self.odoo.writes(), self.graph.writes());
            let mut e = self.engine();
            let r = e.sync(CONFIRM).await.unwrap();
            if (self.odoo.writes(), self.graph.writes()) == before
                && !r.plan.has_writes()
                && r.jobs_waiting == 0
            {
                return n;
            }
        }
        panic!("did not converge in 8 cycles");
    }

    fn assert_no_link_ahead_of_its_job(&self, when: &str) {
        common::assert_no_link_ahead_of_its_job(&self.dir.path().join("sync.db"), when);
    }

    /// Both calendars as comparable text: title, place, time, Teams, per side, sorted.
    fn state(&self) -> (Vec<String>, Vec<String>) {
        let mut odoo: Vec<String> = self
            .odoo
            .active()
            .iter()
            .map(|r| {
                format!(
                    "{} @ {} {} teams={}",
                    r["name"].as_str().unwrap_or_default(),
                    r["location"].as_str().unwrap_or_default(),
                    r["start"].as_str().unwrap_or_default(),
                    r["videocall_location"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("https://")),
                )
            })
            .collect();
        let mut graph: Vec<String> = self
            .graph
            .events()
            .iter()
            .map(|v: &Value| {
                format!(
                    "{} @ {} {} teams={}",
                    v["subject"].as_str().unwrap_or_default(),
                    v["location"]["displayName"].as_str().unwrap_or_default(),
                    v["start"]["dateTime"].as_str().unwrap_or_default(),
                    v["onlineMeeting"]["joinUrl"].is_string(),
                )
            })
            .collect();
        odoo.sort();
        graph.sort();
        (odoo, graph)
    }
}

/// A first sync with data on both sides, then one of every kind of user change.
async fn scenario(
    crash_first_sync_at: Option<usize>,
    crash_changes_at: Option<usize>,
) -> (World, bool) {
    let w = World::new();
    let keep = w.odoo.user_create(&event("Both (Odoo copy)", 24, 9));
    w.graph.user_create(&event("Both (Odoo copy)", 24, 9), None);
    let edit_in_outlook = w.odoo.user_create(&event("Edit in Outlook", 24, 11));
    let delete_in_odoo = w.odoo.user_create(&event("Delete in Odoo", 24, 13));
    w.graph
        .user_create(&event("Delete in Outlook", 24, 15), None);
    w.graph.user_create(&event("Outlook only", 25, 9), None);

    let mut crashed = false;
    let mut e = w.engine();
    e.crash_after(crash_first_sync_at);
    match e.sync(CONFIRM).await {
        Err(EngineError::Crashed) => crashed = true,
        r => {
            r.unwrap();
        }
    }
    drop(e);
    w.assert_no_link_ahead_of_its_job(&format!("first sync, crash at {crash_first_sync_at:?}"));
    w.converge().await;

    // One change of each kind, on both sides.
    w.odoo.user_write(keep, &json!({"location": "Odoo edit"}));
    let gid = w.graph.titled("Edit in Outlook")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.graph.user_edit(&gid, |v| {
        v["location"] = json!({"displayName": "Outlook edit"})
    });
    w.odoo.user_archive(delete_in_odoo);
    let gdel = w.graph.titled("Delete in Outlook")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.graph.user_delete(&gdel);
    let teams = w.odoo.user_create(&event("Teams call", 26, 10));
    w.odoo
        .user_write(teams, &json!({"videocall_location": "teams"}));
    w.graph.user_create(&event("New in Outlook", 26, 14), None);
    let _ = edit_in_outlook;

    w.clock.advance(Duration::minutes(1));
    let mut e = w.engine();
    e.crash_after(crash_changes_at);
    match e.sync(CONFIRM).await {
        Err(EngineError::Crashed) => crashed = true,
        r => {
            r.unwrap();
        }
    }
    drop(e);
    w.assert_no_link_ahead_of_its_job(&format!("changes, crash at {crash_changes_at:?}"));
    w.converge().await;
    (w, crashed)
}

fn assert_no_duplicates(w: &World) {
    let (odoo, graph) = w.state();
    for side in [&odoo, &graph] {
        let mut titles: Vec<&str> = side
            .iter()
            .map(|s| s.split(" @ ").next().unwrap())
            .collect();
        let n = titles.len();
        titles.dedup();
        assert_eq!(titles.len(), n, "a duplicate: {side:?}");
    }
}

#[tokio::test]
async fn a_crash_after_any_step_of_a_cycle_converges_to_the_same_calendars_without_duplicates() {
    let (reference, crashed) = scenario(None, None).await;
    assert!(!crashed);
    let expected = reference.state();
    assert_eq!(expected.0.len(), 5, "{expected:?}");
    assert_eq!(
        expected
            .0
            .iter()
            .filter(|s| s.contains("teams=true"))
            .count(),
        1
    );
    assert_no_duplicates(&reference);

    let mut points = 0;
    for n in 1.. {
        let (w, crashed) = scenario(None, Some(n)).await;
        if !crashed {
            break;
        }
        points += 1;
        assert_eq!(w.state(), expected, "crash after step {n}");
        assert_no_duplicates(&w);
    }
    assert!(points > 20, "only {points} crash points were exercised");
}

#[tokio::test]
async fn a_crash_after_any_step_of_the_first_sync_converges_without_duplicates() {
    let (reference, _) = scenario(None, None).await;
    let expected = reference.state();
    let mut points = 0;
    for n in 1.. {
        let (w, crashed) = scenario(Some(n), None).await;
        if !crashed {
            break;
        }
        points += 1;
        assert_eq!(
            w.state(),
            expected,
            "crash after step {n} of the first sync"
        );
        assert_no_duplicates(&w);
    }
    assert!(points > 10, "only {points} crash points were exercised");
}

/// A conflict, then its resolution, with the engine stopped after step `crash_at`.
async fn resolution(crash_at: Option<usize>) -> (World, bool) {
    let w = World::new();
    let oid = w.odoo.user_create(&event("Disputed", 24, 9));
    let mut e = w.engine();
    e.sync(CONFIRM).await.unwrap();
    drop(e);
    w.converge().await;
    let gid = w.graph.titled("Disputed")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.odoo.user_write(
        oid,
        &json!({"location": "Odoo says", "name": "Disputed (O)"}),
    );
    w.graph.user_edit(&gid, |v| {
        v["location"] = json!({"displayName": "Outlook says"})
    });
    w.clock.advance(Duration::minutes(1));
    let mut e = w.engine();
    e.sync(CONFIRM).await.unwrap();
    let c = e.store().tx(|t| t.open_conflicts("p1")).unwrap().remove(0);
    e.resolve_conflict(
        c.id,
        odoo365_engine::ConflictChoice::Side {
            side: odoo365_sync_core::Side::Microsoft,
        },
    )
    .unwrap();
    e.crash_after(crash_at);
    let crashed = matches!(e.sync(CONFIRM).await, Err(EngineError::Crashed));
    drop(e);
    w.assert_no_link_ahead_of_its_job(&format!("crash at {crash_at:?}"));
    w.converge().await;
    (w, crashed)
}

#[tokio::test]
async fn a_crash_while_a_conflict_resolution_runs_still_ends_with_the_chosen_values() {
    let (reference, _) = resolution(None).await;
    let expected = reference.state();
    assert_eq!(
        expected.0,
        vec!["Disputed (O) @ Outlook says 2026-11-24 09:00:00 teams=false".to_owned()]
    );
    let mut points = 0;
    for n in 1.. {
        let (w, crashed) = resolution(Some(n)).await;
        if !crashed {
            break;
        }
        points += 1;
        assert_eq!(w.state(), expected, "crash after step {n}");
    }
    assert!(points >= 5, "only {points} crash points were exercised");
}

/// An event archived in Odoo (so deleted in Outlook by the sync), then restored from the
/// journal on the Outlook side, with the engine stopped after step `crash_at`.
async fn restore(crash_at: Option<usize>) -> (World, bool) {
    let w = World::new();
    let oid = w.odoo.user_create(&event("Restore me", 24, 9));
    let mut e = w.engine();
    e.sync(CONFIRM).await.unwrap();
    drop(e);
    w.converge().await;
    w.odoo.user_archive(oid);
    w.converge().await;
    assert!(w.graph.titled("Restore me").is_empty());
    let mut e = w.engine();
    let entry = e
        .store()
        .tx(|t| {
            Ok((1..50)
                .filter_map(|i| t.journal_entry(i).ok().flatten())
                .find(|j| j.side == "microsoft" && j.reason == "deleted"))
        })
        .unwrap()
        .unwrap();
    e.restore(entry.id).unwrap();
    e.crash_after(crash_at);
    let crashed = matches!(e.sync(CONFIRM).await, Err(EngineError::Crashed));
    drop(e);
    w.assert_no_link_ahead_of_its_job(&format!("crash at {crash_at:?}"));
    w.converge().await;
    (w, crashed)
}

#[tokio::test]
async fn a_crash_while_restoring_from_the_journal_restores_exactly_once() {
    let (reference, _) = restore(None).await;
    let expected = reference.state();
    assert_eq!(expected.0.len(), 1, "{expected:?}");
    assert_eq!(expected.1.len(), 1, "{expected:?}");
    let mut points = 0;
    for n in 1.. {
        let (w, crashed) = restore(Some(n)).await;
        if !crashed {
            break;
        }
        points += 1;
        assert_eq!(w.state(), expected, "crash after step {n}");
    }
    assert!(points >= 3, "only {points} crash points were exercised");
}

/// The Teams chatter note is a step of its job like the writes: a crash anywhere in the
/// cycle that makes a Teams meeting, including right between posting the note and
/// recording it, leaves exactly one note (the retry looks for it before posting).
#[tokio::test]
async fn a_crash_anywhere_around_the_teams_note_leaves_exactly_one_note() {
    let mut crashed_after_post = false;
    for n in 1..40 {
        let w = World::new();
        let mut e = w.engine();
        e.sync(CONFIRM).await.unwrap();
        drop(e);
        let id = w.odoo.user_create(&event("Teams call", 26, 10));
        w.odoo
            .user_write(id, &json!({"videocall_location": "teams"}));
        w.clock.advance(Duration::minutes(1));
        let mut e = w.engine();
        e.crash_after(Some(n));
        let crashed = matches!(e.sync(CONFIRM).await, Err(EngineError::Crashed));
        drop(e);
        // The crash point right after the post, before its step was recorded.
        crashed_after_post |= crashed && w.odoo.notes().len() == 1 && {
            let mut store = Store::open(&w.dir.path().join("sync.db")).unwrap();
            store
                .tx(|t| t.audit("p1", None, 100))
                .unwrap()
                .iter()
                .all(|a| a.op != "odoo.message_post")
        };
        w.converge().await;
        let notes = w.odoo.notes();
        assert_eq!(notes.len(), 1, "crash after step {n}: {notes:?}");
        assert_eq!(
            w.odoo.record(id).unwrap()["videocall_location"]
                .as_str()
                .map(|u| notes[0].1.contains(u)),
            Some(true)
        );
        assert_no_duplicates(&w);
        if !crashed {
            break;
        }
    }
    assert!(
        crashed_after_post,
        "the crash between post and record was reached"
    );
}

/// Rewrites the store of `w` as the schema before the job progress column (version 4)
/// had it: every job's progress folded into its payload, the payload in the form that
/// version wrote (each event in full wherever the job refers to it, no `events` pool),
/// the column dropped and the schema version set back.
fn downgrade_to_schema_4(w: &World) {
    let conn = rusqlite::Connection::open(w.dir.path().join("sync.db")).unwrap();
    let rows: Vec<(i64, String, Option<String>)> = conn
        .prepare("SELECT id, payload_json, progress_json FROM job")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, payload, progress) in rows {
        let mut payload: Value = serde_json::from_str(&payload).unwrap();
        if let Some(progress) = progress {
            let progress: Value = serde_json::from_str(&progress).unwrap();
            for (k, v) in progress.as_object().unwrap() {
                payload[k] = v.clone();
            }
        }
        if let Some(events) = payload.as_object_mut().unwrap().remove("events") {
            let full = |i: &Value| match i.as_u64() {
                Some(i) => events[i as usize].clone(),
                None => Value::Null,
            };
            for k in ["base", "odoo_before", "graph_before"] {
                payload[k] = full(&payload[k]);
            }
            for step in payload["steps"].as_array_mut().unwrap() {
                if let Some(e) = step.pointer_mut("/op/event") {
                    *e = full(e);
                }
            }
        }
        conn.execute(
            "UPDATE job SET payload_json = ?2 WHERE id = ?1",
            rusqlite::params![id, payload.to_string()],
        )
        .unwrap();
    }
    conn.execute_batch("ALTER TABLE job DROP COLUMN progress_json; PRAGMA user_version = 4;")
        .unwrap();
}

/// A first sync of three events, one of them a Teams meeting (its job gains steps while
/// it runs), stopped after step `crash_at`.
async fn first_sync_of_three(crash_at: Option<usize>) -> (World, bool) {
    let w = World::new();
    w.odoo.user_create(&event("From Odoo", 24, 9));
    let teams = w.odoo.user_create(&event("Teams call", 24, 11));
    w.odoo
        .user_write(teams, &json!({"videocall_location": "teams"}));
    w.graph.user_create(&event("From Outlook", 25, 9), None);
    let mut e = w.engine();
    e.crash_after(crash_at);
    let crashed = matches!(e.sync(CONFIRM).await, Err(EngineError::Crashed));
    (w, crashed)
}

#[tokio::test]
async fn jobs_a_crash_left_in_a_store_of_the_previous_schema_resume_after_its_migration() {
    let (reference, crashed) = first_sync_of_three(None).await;
    assert!(!crashed);
    reference.converge().await;
    let expected = reference.state();
    assert_eq!(expected.0.len(), 3, "{expected:?}");
    let mut points = 0;
    let mut resumed_mid_job = false;
    for n in 1.. {
        let (w, crashed) = first_sync_of_three(Some(n)).await;
        if !crashed {
            break;
        }
        points += 1;
        downgrade_to_schema_4(&w);
        {
            let conn = rusqlite::Connection::open(w.dir.path().join("sync.db")).unwrap();
            // A job stopped between two of its steps, its progress in its payload.
            resumed_mid_job |= conn
                .query_row(
                    "SELECT count(*) FROM job WHERE state != 'done'
                       AND json_extract(payload_json, '$.done') > 0",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                > 0;
        }
        let store = Store::open(&w.dir.path().join("sync.db")).unwrap();
        assert_eq!(store.schema_version().unwrap(), 5);
        drop(store);
        w.converge().await;
        assert_eq!(w.state(), expected, "crash after step {n}");
        assert_no_duplicates(&w);
    }
    assert!(points > 5, "only {points} crash points were exercised");
    assert!(
        resumed_mid_job,
        "no job was cut off between two of its steps"
    );
}

/// A restart after a crash resumes the jobs the first sync planned, and each checks its
/// Odoo source before it writes. The Odoo client paces itself to about a request a second,
/// and the real-binary crash test spent 16 minutes of one restart on those checks: they
/// are read ahead, in one read. A source edited or archived while the app was down is
/// still seen as such.
#[tokio::test]
async fn a_restart_checks_the_odoo_sources_of_the_waiting_jobs_in_one_read() {
    // The first crash point after which some creates were sent (the first batch's).
    let (w, ids, copied) = 'crashed: {
        for n in 1..100 {
            let w = World::new();
            let ids: Vec<i64> = (0..30)
                .map(|i| {
                    w.odoo
                        .user_create(&event(&format!("Odoo {i}"), 24 + i / 10, 8 + i % 10))
                })
                .collect();
            let mut e = w.engine();
            e.crash_after(Some(n));
            assert!(matches!(e.sync(CONFIRM).await, Err(EngineError::Crashed)));
            drop(e);
            let copied = w.graph.events().len();
            if copied > 0 {
                break 'crashed (w, ids, copied);
            }
        }
        panic!("no crash point after a create");
    };
    assert!(copied < 30, "{copied} copied before the crash");
    w.odoo
        .user_write(ids[27], &json!({"location": "Edited meanwhile"}));
    w.odoo.user_archive(ids[28]);
    w.clock.advance(Duration::minutes(1));

    let reads = w.odoo.calls_of("read");
    w.engine().sync(CONFIRM).await.unwrap();
    let resumed = w.odoo.calls_of("read") - reads;
    assert!(
        resumed <= 3,
        "{resumed} Odoo reads to resume {} creates",
        30 - copied
    );
    w.converge().await;
    let (odoo, graph) = w.state();
    assert_eq!(odoo.len(), 29, "{odoo:?}");
    // Graph writes `2026-11-24T08:00:00`, Odoo `2026-11-24 08:00:00` (no title has a T).
    let graph: Vec<String> = graph.iter().map(|g| g.replace('T', " ")).collect();
    assert_eq!(graph, odoo);
    assert!(
        graph.iter().any(|g| g.contains("Edited meanwhile")),
        "{graph:?}"
    );
    assert_no_duplicates(&w);
}

/// A crash right after Graph made the Outlook copies (one create, or a batch of them),
/// before the jobs recorded them; Alice deletes a copy in Outlook before the restart. The
/// restart must not make it again — a second invitation to its guests, her delete undone
/// (simulation seeds 1613, 179) — but take her delete to Odoo, as it would have without
/// the crash (the version there journaled).
#[tokio::test]
async fn a_copy_made_just_before_a_crash_and_deleted_before_the_restart_is_not_made_again() {
    use odoo365_sync_core::canonical::{Attendee, Response};
    for copies in [1, 3] {
        let mut crashed_after_create = false;
        for n in 1..60 {
            let w = World::new();
            let ids: Vec<i64> = (0..copies)
                .map(|i| {
                    let mut e = event(&format!("Meeting {i}"), 24, 9 + i as u32);
                    e.attendees = vec![Attendee {
                        email: "guest@example.com".into(),
                        response: Response::NeedsAction,
                    }];
                    w.odoo.user_create(&e.normalized())
                })
                .collect();
            let mut e = w.engine();
            e.crash_after(Some(n));
            let crashed = matches!(e.sync(CONFIRM).await, Err(EngineError::Crashed));
            drop(e);
            assert!(
                crashed,
                "{copies} copies: the first sync ended before step {n}"
            );
            let made = w.graph.events();
            if made.len() < copies {
                continue;
            }
            // Every copy made, and the store has none of them linked yet.
            let conn = rusqlite::Connection::open(w.dir.path().join("sync.db")).unwrap();
            let links: i64 = conn
                .query_row("SELECT count(*) FROM link", [], |r| r.get(0))
                .unwrap();
            if links > 0 {
                break;
            }
            crashed_after_create = true;
            let gone = made[0]["id"].as_str().unwrap().to_owned();
            let title = made[0]["subject"].as_str().unwrap().to_owned();
            w.graph.user_delete(&gone);
            w.converge().await;
            let invitations = w
                .graph
                .mails()
                .iter()
                .filter(|m| m.kind == "invitation")
                .count();
            assert_eq!(
                invitations, copies,
                "{copies} copies, crash at {n}: invited again"
            );
            assert!(w.graph.titled(&title).is_empty(), "{title} made again");
            let (odoo, graph) = w.state();
            assert_eq!(odoo.len(), copies - 1, "her delete reaches Odoo: {odoo:?}");
            assert_eq!(graph.len(), copies - 1);
            let deleted: i64 = conn
                .query_row(
                    "SELECT count(*) FROM journal WHERE side = 'odoo' AND reason = 'deleted'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(deleted, 1, "the Odoo version journaled");
            assert_eq!(w.odoo.active().len(), copies - 1, "{ids:?}");
            break;
        }
        assert!(
            crashed_after_create,
            "{copies} copies: no crash point between the create and its link"
        );
    }
}

/// The same on the Odoo side: a crash right after Odoo made the copies of Outlook events
/// (one create, or a batch), before the jobs recorded them; before the restart Alice
/// archives a copy in Odoo, or renames it. Odoo has no `transactionId`: the restart
/// looked for its record by title and start, found nothing, and made it again — her
/// delete undone, or her renamed copy beside a second one.
#[tokio::test]
async fn an_odoo_copy_made_just_before_a_crash_and_changed_before_the_restart_is_not_made_again() {
    for copies in [1, 3] {
        for archive in [false, true] {
            let mut crashed_after_create = false;
            for n in 1..60 {
                let w = World::new();
                for i in 0..copies {
                    w.graph
                        .user_create(&event(&format!("Meeting {i}"), 24, 9 + i as u32), None);
                }
                let mut e = w.engine();
                e.crash_after(Some(n));
                let crashed = matches!(e.sync(CONFIRM).await, Err(EngineError::Crashed));
                drop(e);
                assert!(
                    crashed,
                    "{copies} copies: the first sync ended before step {n}"
                );
                let made = w.odoo.active();
                if made.len() < copies {
                    continue;
                }
                let conn = rusqlite::Connection::open(w.dir.path().join("sync.db")).unwrap();
                let links: i64 = conn
                    .query_row("SELECT count(*) FROM link", [], |r| r.get(0))
                    .unwrap();
                if links > 0 {
                    break;
                }
                crashed_after_create = true;
                let id = made[0]["id"].as_i64().unwrap();
                let title = made[0]["name"].as_str().unwrap().to_owned();
                if archive {
                    w.odoo.user_archive(id);
                } else {
                    w.odoo.user_write(id, &json!({"name": "Renamed in Odoo"}));
                }
                w.converge().await;
                let (odoo, graph) = w.state();
                let case = format!("{copies} copies, archive {archive}, crash at {n}");
                assert!(
                    w.odoo.titled(&title).is_empty(),
                    "{case}: {title} made again"
                );
                assert_no_duplicates(&w);
                if archive {
                    assert_eq!(odoo.len(), copies - 1, "{case}: {odoo:?}");
                    assert_eq!(
                        graph.len(),
                        copies - 1,
                        "{case}: her delete reaches Outlook"
                    );
                    let deleted: i64 = conn
                        .query_row(
                            "SELECT count(*) FROM journal WHERE side = 'microsoft' AND reason = 'deleted'",
                            [],
                            |r| r.get(0),
                        )
                        .unwrap();
                    assert_eq!(deleted, 1, "{case}: the Outlook version journaled");
                } else {
                    assert_eq!(odoo.len(), copies, "{case}: {odoo:?}");
                    let graph: Vec<String> = graph.iter().map(|g| g.replace('T', " ")).collect();
                    assert_eq!(graph, odoo, "{case}");
                    assert!(
                        w.graph.titled("Renamed in Odoo").len() == 1,
                        "{case}: {graph:?}"
                    );
                }
                break;
            }
            assert!(
                crashed_after_create,
                "{copies} copies: no crash point between the create and its link"
            );
        }
    }
}
