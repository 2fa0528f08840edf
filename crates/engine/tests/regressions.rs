#![allow(clippy::unwrap_used)]
//! Bugs the seeded simulation (tests/simulation.rs) found, each as a small scenario. The
//! failing seeds themselves are replayed by `simulation::regression_seeds`.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use odoo365_engine::testing::{FakeGraph, FakeOdoo};
use odoo365_engine::{Engine, EngineConfig, ManualClock, PortError, Store, SyncOptions};
use odoo365_sync_core::Event;
use serde_json::json;

const ME: &str = "me@example.com";
const CONFIRM: SyncOptions = SyncOptions {
    dry_run: false,
    confirm: true,
};

fn engine(store: Store, g: &FakeGraph, o: &FakeOdoo, clock: &ManualClock) -> Engine {
    Engine::new(
        store,
        EngineConfig::new("p1", ME),
        Arc::new(g.clone()),
        Arc::new(o.clone()),
        Arc::new(clock.clone()),
    )
    .unwrap()
}

/// Seed 52: an Odoo write that was not sent (connection refused) waited for its retry; the
/// user edited the same record meanwhile; the retry wrote over that edit with no conflict
/// and no journal entry. Odoo has no If-Match, so a retry now checks the version first.
#[tokio::test]
async fn a_retried_odoo_write_does_not_overwrite_an_edit_made_while_it_waited() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
    let (g, o) = (FakeGraph::new(ME), FakeOdoo::new(ME));
    let store = Store::open_in_memory().unwrap();
    store
        .put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
        .unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let id = o.user_create(&Event::timed("Review", start, start + Duration::hours(1)).normalized());
    let mut e = engine(store, &g, &o, &clock);
    e.sync(CONFIRM).await.unwrap();
    let gid = g.events()[0]["id"].as_str().unwrap().to_owned();

    // Outlook edits the location; the write to Odoo is refused and waits for a retry.
    g.user_edit(&gid, |v| v["location"] = json!({ "displayName": "Room M" }));
    o.fail_next(
        "write",
        PortError::NotSent {
            message: "connection refused".into(),
        },
    );
    clock.advance(Duration::minutes(5));
    e.sync(CONFIRM).await.unwrap();
    assert_eq!(o.record(id).unwrap()["location"], "");

    // The user edits the same field in Odoo before the retry.
    o.user_write(id, &json!({ "location": "Room O" }));
    for _ in 0..3 {
        clock.advance(Duration::minutes(5));
        e.sync(CONFIRM).await.unwrap();
    }
    // The edit is not overwritten unseen: it is still there, in an open conflict.
    assert_eq!(o.record(id).unwrap()["location"], "Room O");
    let open = e.store().tx(|t| t.open_conflicts("p1")).unwrap();
    assert_eq!(open.len(), 1, "a same-field conflict is open");
}

/// Seed 2536: a create into Outlook throttled (429 + `Retry-After`) on attempt after
/// attempt used up the job's 6 attempts; one lost answer after that failed it for good and
/// the event was never copied. Throttling now waits without spending an attempt.
#[tokio::test]
async fn a_create_throttled_on_every_attempt_is_not_given_up() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
    let (g, o) = (FakeGraph::new(ME), FakeOdoo::new(ME));
    let store = Store::open_in_memory().unwrap();
    store
        .put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
        .unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    o.user_create(&Event::timed("Review", start, start + Duration::hours(1)).normalized());
    for _ in 0..10 {
        g.fail_next(
            "create",
            PortError::Throttled {
                retry_after: Some(std::time::Duration::from_secs(60)),
            },
        );
    }
    // And the answer of the one that goes through is lost.
    g.lose_answer_of_next("create");
    let mut e = engine(store, &g, &o, &clock);
    for _ in 0..12 {
        let r = e.sync(CONFIRM).await.unwrap();
        assert!(
            r.failed.is_empty(),
            "throttling failed the job: {:?}",
            r.failed
        );
        clock.advance(Duration::minutes(2));
    }
    assert_eq!(
        g.titled("Review").len(),
        1,
        "copied once, after the throttling"
    );
    let r = e.sync(CONFIRM).await.unwrap();
    assert!(!r.plan.has_writes() && r.jobs_waiting == 0 && r.failed.is_empty());
}

fn at(hour: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, hour, 0, 0).unwrap()
}

fn store() -> Store {
    let store = Store::open_in_memory().unwrap();
    store
        .put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
        .unwrap();
    store
}

/// Seeds 2770, 8046, 15340, 17367, 20220: a cycle planned "create in Odoo" for a new
/// Outlook event and stopped (a crash) before running it; the user deleted the Outlook
/// event; the next cycle ran the stale create anyway, and the copy stayed in Odoo for
/// good (its source's removal had been reported before the link existed). A create that
/// waited now checks its source first.
#[tokio::test]
async fn a_stale_create_whose_source_was_deleted_meanwhile_is_dropped() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
    let (g, o) = (FakeGraph::new(ME), FakeOdoo::new(ME));
    let mut e = engine(store(), &g, &o, &clock);
    e.sync(CONFIRM).await.unwrap();

    let gid = g.user_create(&Event::timed("Standup", at(9), at(10)).normalized(), None);
    clock.advance(Duration::minutes(5));
    e.crash_after(Some(1)); // right after the plan is queued
    assert!(matches!(
        e.sync(CONFIRM).await,
        Err(odoo365_engine::EngineError::Crashed)
    ));
    g.user_delete(&gid);

    let mut e = engine(e.into_store(), &g, &o, &clock);
    for _ in 0..2 {
        clock.advance(Duration::minutes(5));
        e.sync(CONFIRM).await.unwrap();
    }
    assert!(
        o.titled("Standup").is_empty(),
        "the deleted event came back"
    );
    assert_eq!(o.writes(), 0);
    let r = e.sync(CONFIRM).await.unwrap();
    assert!(!r.plan.has_writes() && r.jobs_waiting == 0 && r.failed.is_empty());
}

/// The *maybe applied* variant, the create not landed: the Odoo create's connection
/// dropped (maybe sent), the user deleted the Outlook source, and the retry, finding no
/// copy, created one anyway (then deleted it next cycle). Now nothing is written.
#[tokio::test]
async fn a_maybe_applied_create_whose_source_was_deleted_is_not_sent_again() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
    let (g, o) = (FakeGraph::new(ME), FakeOdoo::new(ME));
    let mut e = engine(store(), &g, &o, &clock);
    e.sync(CONFIRM).await.unwrap();

    let gid = g.user_create(&Event::timed("Standup", at(9), at(10)).normalized(), None);
    o.fail_next(
        "create",
        PortError::MaybeApplied {
            message: "the connection dropped".into(),
        },
    );
    clock.advance(Duration::minutes(5));
    e.sync(CONFIRM).await.unwrap();
    g.user_delete(&gid);
    for _ in 0..3 {
        clock.advance(Duration::minutes(5));
        let r = e.sync(CONFIRM).await.unwrap();
        assert!(r.failed.is_empty());
    }
    assert!(o.titled("Standup").is_empty());
    assert_eq!(o.writes(), 0, "nothing created (nor created and deleted)");
}

/// The companion case (it passed before the fix too, and guards the new path): the create
/// landed in Outlook but its answer was lost, and the user archived the Odoo source before
/// the retry. The retry finds the copy by its `transactionId` and links it; the source is
/// read again and the copy is deleted like any linked event whose other side went, with
/// its version in the journal.
#[tokio::test]
async fn a_maybe_applied_create_whose_source_went_is_found_and_removed_with_a_journal_entry() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
    let (g, o) = (FakeGraph::new(ME), FakeOdoo::new(ME));
    let mut e = engine(store(), &g, &o, &clock);
    e.sync(CONFIRM).await.unwrap();

    let id = o.user_create(&Event::timed("Review", at(9), at(10)).normalized());
    g.lose_answer_of_next("create");
    clock.advance(Duration::minutes(5));
    e.sync(CONFIRM).await.unwrap();
    assert_eq!(g.titled("Review").len(), 1, "the create landed");
    o.user_archive(id);

    let mut r = None;
    for _ in 0..3 {
        clock.advance(Duration::minutes(5));
        r = Some(e.sync(CONFIRM).await.unwrap());
    }
    assert!(
        g.titled("Review").is_empty(),
        "the copy outlived its source"
    );
    assert_eq!(g.writes_of("create"), 1, "not created a second time");
    let r = r.unwrap();
    assert!(r.failed.is_empty() && r.jobs_waiting == 0);
    let journal = e.store().tx(|t| t.journal_entry(1)).unwrap().unwrap();
    assert_eq!(journal.side, "microsoft");
    assert_eq!(journal.content["event"]["title"], "Review");
    let r = e.sync(CONFIRM).await.unwrap();
    assert!(!r.plan.has_writes());
}
