#![allow(clippy::unwrap_used)]
//! The sync engine against the in-memory fake calendars: each test is a scenario a user
//! lives through, checked on both sides, in the audit log and through the fakes' write
//! counters.

use std::sync::Arc;

use chrono::Duration;
use odoo365_engine::{
    ConflictChoice, Engine, EngineConfig, EngineError, Guard, Outcome, PortError, Store,
    SyncOptions,
};
use odoo365_sync_core::canonical::Attendee;
use odoo365_sync_core::canonical::Response;
use odoo365_sync_core::{Event, Policy, Side};
use serde_json::{json, Value};

mod common;
use common::{at, World, ME};

fn event(title: &str, day: u32, hour: u32) -> Event {
    Event::timed(title, at(day, hour), at(day, hour + 1)).normalized()
}

impl World {
    /// The first sync, confirmed, then the cycle that must find nothing to do.
    async fn first_sync(&mut self) {
        self.confirm().await;
        self.assert_quiet().await;
    }

    fn writes(&self) -> (usize, usize) {
        (self.odoo.writes(), self.graph.writes())
    }

    /// Loop safety: a cycle with no user change writes nothing on either side.
    async fn assert_quiet(&mut self) {
        let before = self.writes();
        let r = self.sync().await;
        assert_eq!(
            self.writes(),
            before,
            "a cycle without user changes wrote: {}",
            r.plan.summary()
        );
        assert!(!r.plan.has_writes(), "{}", r.plan.summary());
    }

    /// Every write the fakes received is in the audit log, with its origin and rule.
    fn assert_every_write_audited(&mut self) {
        let audit = self
            .engine()
            .store()
            .tx(|t| t.audit("p1", None, 10_000))
            .unwrap();
        let count = |prefix: &str| {
            audit
                .iter()
                .filter(|a| a.op.starts_with(prefix) && !a.op.ends_with("not_attempted"))
                .inspect(|a| assert!(!a.rule.is_empty() && !a.origin.is_empty()))
                .count()
        };
        assert_eq!(
            count("microsoft."),
            self.graph.writes(),
            "Outlook writes audited"
        );
        assert_eq!(count("odoo."), self.odoo.writes(), "Odoo writes audited");
    }

    fn odoo_titled(&self, t: &str) -> Vec<Value> {
        self.odoo.titled(t)
    }

    fn graph_titled(&self, t: &str) -> Vec<Value> {
        self.graph.titled(t)
    }

    fn graph_id_of(&self, t: &str) -> String {
        let v = self.graph_titled(t);
        assert_eq!(v.len(), 1, "one Outlook event titled {t}");
        v[0]["id"].as_str().unwrap().to_owned()
    }

    fn odoo_id_of(&self, t: &str) -> i64 {
        let v = self.odoo_titled(t);
        assert_eq!(v.len(), 1, "one Odoo event titled {t}");
        v[0]["id"].as_i64().unwrap()
    }
}

#[tokio::test]
async fn first_sync_with_data_on_both_sides_is_shown_first_then_links_pairs_without_duplicates() {
    let mut w = World::new();
    // The same meeting on both sides (as another tool or the user made it), one only in
    // Odoo, one only in Outlook.
    w.odoo.user_create(&event("Weekly", 24, 9));
    w.graph.user_create(&event("Weekly", 24, 9), None);
    w.odoo.user_create(&event("Only Odoo", 24, 11));
    w.graph.user_create(&event("Only Outlook", 24, 13), None);

    let r = w.sync().await;
    assert_eq!(
        r.outcome,
        Outcome::Paused {
            guards: vec![Guard::FirstSync]
        }
    );
    assert_eq!(w.writes(), (0, 0), "nothing written before confirmation");
    assert_eq!(r.plan.counts.microsoft.creates, 1);
    assert_eq!(r.plan.counts.odoo.creates, 1);
    assert!(w.engine().paused().unwrap().is_some());

    let r = w.confirm().await;
    assert_eq!(r.outcome, Outcome::Synced);
    assert!(w.engine().paused().unwrap().is_none());
    for t in ["Weekly", "Only Odoo", "Only Outlook"] {
        assert_eq!(w.odoo_titled(t).len(), 1, "{t} once in Odoo");
        assert_eq!(w.graph_titled(t).len(), 1, "{t} once in Outlook");
    }
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_dry_run_plans_but_writes_nothing_anywhere() {
    let mut w = World::new();
    w.odoo.user_create(&event("Planning", 24, 9));
    let r = w
        .engine()
        .sync(SyncOptions {
            dry_run: true,
            confirm: true,
        })
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::DryRun);
    assert_eq!(r.plan.counts.microsoft.creates, 1);
    assert_eq!(w.writes(), (0, 0));
    let r = w.sync().await;
    assert_eq!(
        r.outcome,
        Outcome::Paused {
            guards: vec![Guard::FirstSync]
        },
        "a dry run does not count as the first sync"
    );
}

#[tokio::test]
async fn creates_edits_and_deletes_flow_both_ways_and_each_second_cycle_writes_nothing() {
    let mut w = World::new();
    w.first_sync().await;

    // Create in Odoo -> Outlook.
    let oid = w.odoo.user_create(&event("Review", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Review");
    w.assert_quiet().await;

    // Create in Outlook -> Odoo.
    w.graph.user_create(&event("Lunch", 25, 12), None);
    w.sync().await;
    let lunch = w.odoo_id_of("Lunch");
    w.assert_quiet().await;

    // Edit in Outlook -> Odoo.
    w.graph
        .user_edit(&gid, |v| v["location"] = json!({"displayName": "Room 4"}));
    w.sync().await;
    assert_eq!(w.odoo.record(oid).unwrap()["location"], "Room 4");
    w.assert_quiet().await;

    // Edit in Odoo -> Outlook.
    w.odoo.user_write(oid, &json!({"name": "Review v2"}));
    w.sync().await;
    assert_eq!(w.graph.event(&gid).unwrap()["subject"], "Review v2");
    w.assert_quiet().await;

    // Delete in Outlook -> archived in Odoo (restorable), journaled.
    w.graph.user_delete(&gid);
    w.sync().await;
    assert_eq!(w.odoo.record(oid).unwrap()["active"], false);
    w.assert_quiet().await;

    // Archive in Odoo -> deleted in Outlook.
    w.odoo.user_archive(lunch);
    w.sync().await;
    assert!(w.graph_titled("Lunch").is_empty());
    w.assert_quiet().await;

    let audit = w.engine().store().tx(|t| t.audit("p1", None, 100)).unwrap();
    let ops: Vec<(&str, &str)> = audit
        .iter()
        .map(|a| (a.op.as_str(), a.origin.as_str()))
        .collect();
    assert!(ops.contains(&("microsoft.create", "odoo")), "{ops:?}");
    assert!(ops.contains(&("odoo.create", "microsoft")), "{ops:?}");
    assert!(ops.contains(&("odoo.archive", "microsoft")), "{ops:?}");
    assert!(ops.contains(&("microsoft.delete", "odoo")), "{ops:?}");
    assert!(audit.iter().all(|a| !a.rule.is_empty()));
    w.assert_every_write_audited();
    let journal = w
        .engine()
        .store()
        .tx(|t| {
            Ok((1..20)
                .filter_map(|i| t.journal_entry(i).ok().flatten())
                .collect::<Vec<_>>())
        })
        .unwrap();
    assert!(
        journal.iter().any(|j| j.reason == "deleted"
            && j.side == "odoo"
            && j.content["event"]["title"] == "Review v2"),
        "the archived Odoo version is journaled: {journal:?}"
    );
}

#[tokio::test]
async fn a_hard_delete_in_odoo_is_found_by_the_id_set_check() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Gone soon", 25, 10));
    w.graph.user_create(&event("Stays", 26, 10), None);
    w.odoo.user_create(&event("Stays too", 26, 12));
    w.sync().await;
    w.assert_quiet().await;
    w.odoo.user_unlink(oid);
    w.clock.advance(Duration::hours(2));
    w.sync().await;
    assert!(w.graph_titled("Gone soon").is_empty());
    assert_eq!(w.graph_titled("Stays").len(), 1);
    w.assert_quiet().await;
}

#[tokio::test]
async fn disjoint_edits_on_both_sides_merge_silently() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Sync", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Sync");
    w.odoo.user_write(oid, &json!({"location": "Odoo room"}));
    w.graph
        .user_edit(&gid, |v| v["subject"] = json!("Sync (moved)"));
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 0);
    let o = w.odoo.record(oid).unwrap();
    let g = w.graph.event(&gid).unwrap();
    assert_eq!(o["name"], "Sync (moved)");
    assert_eq!(g["location"]["displayName"], "Odoo room");
    w.assert_quiet().await;
}

#[tokio::test]
async fn the_same_field_edited_on_both_sides_is_a_conflict_until_the_user_keeps_a_side() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Board", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Board");
    w.odoo.user_write(oid, &json!({"location": "Paris"}));
    w.graph
        .user_edit(&gid, |v| v["location"] = json!({"displayName": "Berlin"}));
    let before = w.writes();
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 1);
    assert_eq!(w.writes(), before, "neither side is overwritten");
    let conflicts = w.engine().store().tx(|t| t.open_conflicts("p1")).unwrap();
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!(c.odoo.as_ref().unwrap()["location"], "Paris");
    assert_eq!(c.microsoft.as_ref().unwrap()["location"], "Berlin");
    assert_eq!(c.base.as_ref().unwrap()["location"], "");
    // Further cycles leave it alone and do not open it twice.
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 0);

    w.engine()
        .resolve_conflict(
            c.id,
            ConflictChoice::Side {
                side: Side::Microsoft,
            },
        )
        .unwrap();
    w.sync().await;
    assert_eq!(w.odoo.record(oid).unwrap()["location"], "Berlin");
    assert_eq!(
        w.graph.event(&gid).unwrap()["location"]["displayName"],
        "Berlin"
    );
    assert!(w
        .engine()
        .store()
        .tx(|t| t.open_conflicts("p1"))
        .unwrap()
        .is_empty());
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_conflict_resolved_per_field_takes_each_field_from_the_chosen_side() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Offsite", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Offsite");
    w.odoo
        .user_write(oid, &json!({"location": "Lyon", "name": "Offsite O"}));
    w.graph.user_edit(&gid, |v| {
        v["location"] = json!({"displayName": "Porto"});
        v["subject"] = json!("Offsite M");
    });
    w.sync().await;
    let c = w
        .engine()
        .store()
        .tx(|t| t.open_conflicts("p1"))
        .unwrap()
        .remove(0);
    let fields = [
        (odoo365_sync_core::Field::Title, Side::Odoo),
        (odoo365_sync_core::Field::Location, Side::Microsoft),
    ]
    .into_iter()
    .collect();
    w.engine()
        .resolve_conflict(c.id, ConflictChoice::Fields { fields })
        .unwrap();
    w.sync().await;
    let o = w.odoo.record(oid).unwrap();
    let g = w.graph.event(&gid).unwrap();
    assert_eq!(
        (o["name"].as_str(), o["location"].as_str()),
        (Some("Offsite O"), Some("Porto"))
    );
    assert_eq!(g["subject"], "Offsite O");
    assert_eq!(g["location"]["displayName"], "Porto");
    w.assert_quiet().await;
}

#[tokio::test]
async fn an_edit_never_silently_loses_to_a_delete_and_keeping_the_edit_brings_it_back() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Kickoff", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Kickoff");
    w.odoo
        .user_write(oid, &json!({"location": "Edited in Odoo"}));
    w.graph.user_delete(&gid);
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 1);
    assert_eq!(
        w.odoo.record(oid).unwrap()["active"],
        true,
        "the edit is not deleted"
    );
    let c = w
        .engine()
        .store()
        .tx(|t| t.open_conflicts("p1"))
        .unwrap()
        .remove(0);
    assert_eq!(c.kind, "edit_vs_delete");
    w.engine()
        .resolve_conflict(c.id, ConflictChoice::Side { side: Side::Odoo })
        .unwrap();
    w.sync().await;
    let back = w.graph_titled("Kickoff");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0]["location"]["displayName"], "Edited in Odoo");
    w.assert_quiet().await;
}

#[tokio::test]
async fn an_expired_delta_link_resyncs_against_the_baselines_without_duplicates() {
    let mut w = World::new();
    w.odoo.user_create(&event("A", 24, 9));
    w.graph.user_create(&event("B", 24, 11), None);
    w.first_sync().await;
    let gid = w.graph_id_of("A");
    w.graph.expire_delta_links();
    w.graph
        .user_edit(&gid, |v| v["subject"] = json!("A edited during the gap"));
    let r = w.sync().await;
    assert!(r.resynced);
    assert_eq!(w.odoo_titled("A edited during the gap").len(), 1);
    assert_eq!(w.odoo.active().len(), 2);
    assert_eq!(w.graph.events().len(), 2);
    w.assert_quiet().await;
}

/// A create whose answer was lost is looked for by its `transactionId` at once, while
/// the event is there: sim seeds 159 and 1731 waited a cycle and resent it instead, and when
/// Alice had deleted the event meanwhile, the resend made it again and Outlook invited the
/// guests a second time.
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_looked_up_at_once_and_never_made_again() {
    let mut w = World::new();
    w.first_sync().await;
    let mut once = event("Once", 25, 10);
    once.attendees = invited_with("bob@example.com");
    w.odoo.user_create(&once.normalized());
    w.graph.lose_answer_of_next("create");
    let r = w.sync().await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.jobs_waiting, 0, "found and linked in the same cycle");
    assert_eq!(w.graph_titled("Once").len(), 1);
    w.assert_quiet().await;
    // Alice deletes it in Outlook: the delete reaches Odoo; nothing is created again.
    let gid = w.graph_id_of("Once");
    w.graph.user_delete(&gid);
    w.clock.advance(Duration::minutes(5));
    w.sync().await;
    assert!(
        w.odoo_titled("Once").is_empty(),
        "the Outlook delete reaches Odoo"
    );
    assert_eq!(w.graph.writes_of("create"), 1, "never made again");
    let invitations = w
        .graph
        .mails()
        .iter()
        .filter(|m| m.kind == "invitation")
        .count();
    assert_eq!(invitations, 1, "Bob is invited once");
    w.assert_quiet().await;
}

/// When even the look-up fails (the connection is still down), the job waits *maybe
/// applied*; its retry looks again before it sends anything.
#[tokio::test]
async fn a_lost_create_whose_look_up_failed_too_is_looked_up_again_before_a_resend() {
    let mut w = World::new();
    w.first_sync().await;
    w.odoo.user_create(&event("Once", 25, 10));
    w.graph.lose_answer_of_next("create");
    w.graph.fail_next(
        "find",
        PortError::NotSent {
            message: "connection refused".into(),
        },
    );
    let r = w.sync().await;
    assert_eq!(r.jobs_waiting, 1);
    assert_eq!(
        w.graph_titled("Once").len(),
        1,
        "the lost create did happen"
    );
    w.clock.advance(Duration::minutes(5));
    let r = w.sync().await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(w.graph_titled("Once").len(), 1, "and is not repeated");
    assert_eq!(w.graph.writes_of("create"), 1);
    w.assert_quiet().await;
}

#[tokio::test]
async fn an_odoo_create_whose_answer_was_lost_is_looked_up_before_creating_again() {
    let mut w = World::new();
    w.first_sync().await;
    w.graph.user_create(&event("Dentist", 25, 10), None);
    w.odoo.lose_answer_of_next("create");
    w.sync().await;
    w.clock.advance(Duration::minutes(5));
    w.sync().await;
    assert_eq!(w.odoo_titled("Dentist").len(), 1);
    assert_eq!(w.odoo.writes_of("create"), 1);
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_throttled_item_waits_while_the_others_go_through() {
    let mut w = World::new();
    w.first_sync().await;
    w.odoo.user_create(&event("One", 25, 9));
    w.odoo.user_create(&event("Two", 25, 11));
    w.graph.fail_next(
        "create",
        PortError::Throttled {
            retry_after: Some(std::time::Duration::from_secs(120)),
        },
    );
    let r = w.sync().await;
    assert_eq!(r.jobs_waiting, 1);
    assert_eq!(w.graph.events().len(), 1, "the other item went through");
    w.sync().await;
    assert_eq!(w.graph.events().len(), 1, "not before Retry-After");
    w.clock.advance(Duration::minutes(3));
    w.sync().await;
    assert_eq!(w.graph.events().len(), 2);
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_refused_item_shows_its_error_and_a_retry_without_blocking_the_others() {
    let mut w = World::new();
    w.first_sync().await;
    w.odoo.user_create(&event("Refused", 25, 9));
    w.odoo.user_create(&event("Fine", 25, 11));
    w.graph.fail_next(
        "create",
        PortError::Rejected {
            message: "ErrorInvalidRequest".into(),
        },
    );
    let r = w.sync().await;
    assert_eq!(r.failed.len(), 1);
    assert!(r.failed[0].message.contains("ErrorInvalidRequest"));
    assert_eq!(w.graph.events().len(), 1);
    let job = r.failed[0].job_id.unwrap();
    let now = w.clock.clone();
    w.engine()
        .store()
        .tx(|t| t.retry_failed_job(job, odoo365_engine::Clock::now(&now)))
        .unwrap();
    w.sync().await;
    assert_eq!(w.graph.events().len(), 2);
    w.assert_quiet().await;
}

#[tokio::test]
async fn the_mass_change_guard_pauses_a_wipe_but_not_one_delete_in_a_small_calendar() {
    let mut w = World::new();
    let ids: Vec<i64> = (0..5)
        .map(|i| w.odoo.user_create(&event(&format!("E{i}"), 24, 8 + i)))
        .collect();
    w.first_sync().await;

    // One delete out of five: 20 %, but a single change.
    w.odoo.user_archive(ids[0]);
    let r = w.sync().await;
    assert_eq!(r.outcome, Outcome::Synced);
    assert_eq!(w.graph.events().len(), 4);

    // The remaining four all vanish: the collection became empty.
    for id in &ids[1..] {
        w.odoo.user_archive(*id);
    }
    let r = w.sync().await;
    match &r.outcome {
        Outcome::Paused { guards } => assert!(
            guards.iter().any(|g| matches!(
                g,
                Guard::MassChange {
                    emptied: Some(Side::Odoo),
                    ..
                }
            )),
            "{guards:?}"
        ),
        other => panic!("expected a pause, got {other:?}"),
    }
    assert_eq!(w.graph.events().len(), 4, "nothing deleted while paused");
    w.confirm().await;
    assert_eq!(w.graph.events().len(), 0);
    w.assert_quiet().await;
}

#[tokio::test]
async fn more_than_twenty_deletes_pause_until_confirmed() {
    let mut w = World::new();
    let ids: Vec<String> = (0..30)
        .map(|i| {
            w.graph
                .user_create(&event(&format!("M{i}"), 24 + i / 10, 8 + i % 10), None)
        })
        .collect();
    w.first_sync().await;
    for id in &ids[..21] {
        w.graph.user_delete(id);
    }
    let r = w.sync().await;
    assert!(matches!(r.outcome, Outcome::Paused { .. }));
    assert_eq!(w.odoo.active().len(), 30);
    w.confirm().await;
    assert_eq!(w.odoo.active().len(), 9);
}

#[tokio::test]
async fn invitations_outlook_would_mail_are_listed_and_above_the_threshold_asked_first() {
    let mut w = World::new();
    w.cfg.guards.mail_threshold = 1;
    w.reopen();
    w.first_sync().await;
    for i in 0..2 {
        let mut e = event(&format!("Meeting {i}"), 25, 9 + i);
        e.attendees = vec![Attendee {
            email: format!("guest{i}@example.org"),
            response: Response::NeedsAction,
        }];
        w.odoo.user_create(&e.normalized());
    }
    let r = w.sync().await;
    assert_eq!(r.mails.len(), 2, "{:?}", r.mails);
    assert!(
        matches!(r.outcome, Outcome::Paused { ref guards } if guards.contains(&Guard::AttendeeMails { mails: 2 }))
    );
    assert!(w.graph.mails().is_empty());
    w.confirm().await;
    assert_eq!(w.graph.mails().len(), 2);
    assert_eq!(w.odoo.writes_of("create"), 0);
    w.assert_quiet().await;
}

#[tokio::test]
async fn an_invitation_the_user_answers_in_odoo_is_answered_in_outlook_and_nothing_else_is_written()
{
    let mut w = World::new();
    w.first_sync().await;
    let mut e = event("Their meeting", 25, 15);
    e.attendees = vec![
        Attendee {
            email: ME.into(),
            response: Response::NeedsAction,
        },
        Attendee {
            email: "colleague@example.org".into(),
            response: Response::Accepted,
        },
    ];
    let gid = w
        .graph
        .user_create(&e.normalized(), Some("boss@example.org"));
    w.sync().await;
    let oid = w.odoo_id_of("Their meeting");
    w.assert_quiet().await;

    // The user accepts in Odoo (their own attendee row).
    let mut rec = w.odoo.record(oid).unwrap();
    for a in rec["attendee_ids"].as_array_mut().unwrap() {
        if a["email"] == ME {
            a["state"] = json!("accepted");
        }
    }
    w.odoo
        .user_write(oid, &json!({"attendee_ids": rec["attendee_ids"].clone()}));
    w.sync().await;
    assert_eq!(w.graph.writes_of("respond"), 1);
    assert_eq!(
        w.graph.writes_of("update"),
        0,
        "no organizer-only write attempted"
    );
    assert_eq!(
        w.graph.event(&gid).unwrap()["responseStatus"]["response"],
        "accepted"
    );
    w.assert_quiet().await;
    w.assert_every_write_audited();
}

/// No open conflict is left in the store.
fn assert_no_open_conflict(w: &mut World) {
    let open = w.engine().store().tx(|t| t.open_conflicts("p1")).unwrap();
    assert!(open.is_empty(), "{open:?}");
}

/// The attendee rows of an Odoo record with `email`'s state set to `state`.
fn with_state(rec: &Value, email: &str, state: &str) -> Value {
    let mut rows = rec["attendee_ids"].clone();
    for a in rows.as_array_mut().unwrap() {
        if a["email"] == email {
            a["state"] = json!(state);
        }
    }
    json!({ "attendee_ids": rows })
}

fn invited_with(colleague: &str) -> Vec<Attendee> {
    vec![
        Attendee {
            email: ME.into(),
            response: Response::NeedsAction,
        },
        Attendee {
            email: colleague.into(),
            response: Response::NeedsAction,
        },
    ]
}

#[tokio::test]
async fn someone_elses_outlook_meeting_settles_when_the_lists_differ_beyond_the_users_answer() {
    // Found 7 of docs/RELIABILITY.md: Bob's Outlook meeting mirrored into Odoo (as his)
    // used to reopen "not written there: attendees" every cycle once the lists differed
    // in what only Bob's side can change.
    let mut w = World::new();
    w.first_sync().await;
    let mut e = event("Bob's meeting", 25, 15);
    e.attendees = invited_with("carol@example.org");
    let gid = w
        .graph
        .user_create(&e.normalized(), Some("bob@example.org"));
    w.sync().await;
    let oid = w.odoo_id_of("Bob's meeting");
    assert_eq!(
        w.odoo.record(oid).unwrap()["user_id"]["email"],
        "bob@example.org"
    );
    w.assert_quiet().await;
    // Carol answers on Odoo's copy; the user accepts in Outlook.
    let rec = w.odoo.record(oid).unwrap();
    w.odoo
        .user_write(oid, &with_state(&rec, "carol@example.org", "declined"));
    w.graph.user_edit(&gid, |v| {
        v["responseStatus"] = json!({ "response": "accepted" });
    });
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 0, "{}", r.plan.summary());
    assert_eq!(w.odoo.writes_of("respond"), 1);
    assert_eq!(w.graph.writes_of("update"), 0, "no organizer-only write");
    let rec = w.odoo.record(oid).unwrap();
    let mine = rec["attendee_ids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == ME)
        .unwrap();
    assert_eq!(mine["state"], "accepted");
    assert_no_open_conflict(&mut w);
    w.assert_quiet().await;
    w.assert_quiet().await;
    assert_no_open_conflict(&mut w);
}

#[tokio::test]
async fn someone_elses_odoo_meeting_copied_to_outlook_settles_after_the_users_answer() {
    // Bob's Odoo meeting reaches Outlook as the user's own copy; her answer in Odoo has
    // nothing to write there and must not become a conflict that comes back.
    let mut w = World::new();
    w.first_sync().await;
    let mut e = event("Bob's Odoo meeting", 26, 10);
    e.organizer = Some("bob@example.org".into());
    e.attendees = invited_with("bob@example.org");
    let oid = w.odoo.user_create(&e.normalized());
    w.sync().await;
    w.assert_quiet().await;
    let rec = w.odoo.record(oid).unwrap();
    w.odoo.user_write(oid, &with_state(&rec, ME, "accepted"));
    let (responds, updates) = (w.graph.writes_of("respond"), w.graph.writes_of("update"));
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 0, "{}", r.plan.summary());
    // Her Outlook copy is her own: nothing to answer there (Outlook refuses an answer to
    // a meeting she organizes), nothing to update (tests/sim `SIM_RSVP=1` seed 1: read
    // as the baseline, it was taken for an invitation).
    assert_eq!(
        w.graph.writes_of("respond"),
        responds,
        "{}",
        r.plan.summary()
    );
    assert_eq!(w.graph.writes_of("update"), updates, "{}", r.plan.summary());
    assert_eq!(w.odoo.record(oid).unwrap()["name"], "Bob's Odoo meeting");
    assert_no_open_conflict(&mut w);
    w.assert_quiet().await;
    w.assert_quiet().await;
    assert_no_open_conflict(&mut w);
}

#[tokio::test]
async fn an_answer_given_in_outlook_before_the_copy_is_made_reaches_odoo_with_it() {
    // Odoo creates the user's attendee row of someone else's meeting `needsAction`; the
    // answer she gave in Outlook first must follow, or it reads as her Odoo answer
    // changed back, a conflict with her next Outlook answer (tests/sim `SIM_RSVP=1`).
    let mut w = World::new();
    w.first_sync().await;
    let mut e = event("Bob's review", 25, 11);
    e.attendees = invited_with("carol@example.org");
    let gid = w
        .graph
        .user_create(&e.normalized(), Some("bob@example.org"));
    w.graph.user_edit(&gid, |v| {
        v["responseStatus"] = json!({ "response": "tentativelyAccepted" });
    });
    let r = w.sync().await;
    let oid = w.odoo_id_of("Bob's review");
    assert_eq!(w.odoo.writes_of("respond"), 1, "{}", r.plan.summary());
    let rec = w.odoo.record(oid).unwrap();
    let mine = rec["attendee_ids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == ME)
        .cloned()
        .unwrap();
    assert_eq!(mine["state"], "tentative");
    w.assert_quiet().await;
    // Her next answer, in Outlook, goes to Odoo without a conflict.
    w.graph.user_edit(&gid, |v| {
        v["responseStatus"] = json!({ "response": "declined" });
    });
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 0, "{}", r.plan.summary());
    assert_no_open_conflict(&mut w);
    w.assert_quiet().await;
    w.assert_every_write_audited();
}

#[tokio::test]
async fn two_answers_to_someone_elses_meeting_resolved_for_one_side_reach_the_other_as_an_answer() {
    // Her answer in Odoo and another in Outlook before a cycle: a conflict. Kept as in
    // Odoo, the answer goes to Outlook as a response (an attendee write there is not
    // hers to make, and was skipped: the sides stayed apart; tests/sim `SIM_RSVP=1`
    // seed 351).
    let mut w = World::new();
    w.first_sync().await;
    let mut e = event("Bob's planning", 25, 13);
    e.attendees = invited_with("carol@example.org");
    let gid = w
        .graph
        .user_create(&e.normalized(), Some("bob@example.org"));
    w.sync().await;
    let oid = w.odoo_id_of("Bob's planning");
    w.assert_quiet().await;
    let rec = w.odoo.record(oid).unwrap();
    w.odoo.user_write(oid, &with_state(&rec, ME, "tentative"));
    w.graph.user_edit(&gid, |v| {
        v["responseStatus"] = json!({ "response": "accepted" });
    });
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 1, "{}", r.plan.summary());
    let c = w
        .engine()
        .store()
        .tx(|t| t.open_conflicts("p1"))
        .unwrap()
        .remove(0);
    w.engine()
        .resolve_conflict(c.id, ConflictChoice::Side { side: Side::Odoo })
        .unwrap();
    let responds = w.graph.writes_of("respond");
    w.sync().await;
    assert_eq!(w.graph.writes_of("respond"), responds + 1);
    assert_eq!(
        w.graph.event(&gid).unwrap()["responseStatus"]["response"],
        "tentativelyAccepted"
    );
    assert_no_open_conflict(&mut w);
    w.assert_quiet().await;
    w.assert_every_write_audited();
}

#[tokio::test]
async fn an_odoo_event_asking_for_teams_gets_a_teams_meeting_whose_link_comes_back_to_odoo() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Call with client", 26, 10));
    w.odoo
        .user_write(oid, &json!({"videocall_location": "teams"}));
    w.sync().await;
    let g = w.graph_titled("Call with client").remove(0);
    assert_eq!(g["isOnlineMeeting"], true);
    let url = g["onlineMeeting"]["joinUrl"].as_str().unwrap().to_owned();
    assert_eq!(
        w.odoo.record(oid).unwrap()["videocall_location"],
        url.as_str()
    );
    let notes = w.odoo.notes();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].1.contains(&url));
    w.assert_quiet().await;
    w.assert_every_write_audited();
}

/// Graph appends the Teams join block to the body of the meeting it makes; it is Graph's,
/// not the user's, so it is not copied to Odoo's description (which would be one "edit"
/// echoed back after every Teams meeting), and a description written later keeps it.
#[tokio::test]
async fn the_teams_join_block_is_not_echoed_to_odoo_and_survives_a_description_edit() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Planning", 26, 10));
    w.odoo.user_write(
        oid,
        &json!({"videocall_location": "teams", "description": "<p>Agenda</p>"}),
    );
    w.sync().await;
    let gid = w.graph_id_of("Planning");
    let body = w.graph.event(&gid).unwrap()["body"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(body.contains("Microsoft Teams meeting"), "{body}");
    assert_eq!(w.odoo.record(oid).unwrap()["description"], "<p>Agenda</p>");
    // The cycle after the create writes nothing on either side.
    w.assert_quiet().await;

    w.odoo
        .user_write(oid, &json!({"description": "<p>New agenda</p>"}));
    w.sync().await;
    let body = w.graph.event(&gid).unwrap()["body"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(body.starts_with("<p>New agenda</p>"), "{body}");
    assert!(body.contains("teams.microsoft.com/l/meetup-join"), "{body}");
    assert_eq!(
        w.odoo.record(oid).unwrap()["description"],
        "<p>New agenda</p>"
    );
    w.assert_quiet().await;
    w.assert_every_write_audited();
}

/// An event a mapper cannot read is a per-item error: stored (listed by `failed()` with a
/// job to retry, once however many cycles see it, with an audit line), never blocking the
/// others, and closed once the item reads again.
#[tokio::test]
async fn an_unreadable_event_is_a_stored_item_error_with_retry_until_it_reads() {
    let mut w = World::new();
    w.first_sync().await;
    let bad = w.odoo.user_create(&event("Broken", 25, 9));
    w.odoo.user_write(bad, &json!({"start": "not a date"}));
    w.odoo.user_create(&event("Fine", 25, 11));
    let r = w.sync().await;
    assert_eq!(r.item_errors.len(), 1, "{:?}", r.item_errors);
    let job = r.item_errors[0].job_id.expect("stored with a job to retry");
    assert_eq!(r.item_errors[0].item, format!("odoo:{bad}"));
    assert!(r.failed.is_empty(), "not listed twice: {:?}", r.failed);
    assert_eq!(w.graph_titled("Fine").len(), 1, "the others sync");
    let failed = w.engine().failed().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].job_id, Some(job));
    let audit = w.engine().store().tx(|t| t.audit("p1", None, 100)).unwrap();
    assert_eq!(audit.iter().filter(|a| a.op == "item_error").count(), 1);

    // Retry: read again next cycle; still unreadable, it stays one error.
    assert!(w.engine().retry(job).unwrap());
    w.odoo.user_write(bad, &json!({"location": "still broken"}));
    let r = w.sync().await;
    assert_eq!(r.item_errors.len(), 1);
    assert_eq!(w.engine().failed().unwrap().len(), 1);

    // Fixed in Odoo: it syncs, and the error is closed.
    w.odoo.user_write(
        bad,
        &json!({"start": "2026-11-25 09:00:00", "stop": "2026-11-25 10:00:00"}),
    );
    let r = w.sync().await;
    assert!(r.item_errors.is_empty(), "{:?}", r.item_errors);
    assert_eq!(w.graph_titled("Broken").len(), 1);
    assert!(w.engine().failed().unwrap().is_empty());
    w.assert_quiet().await;
}

/// Outlook mails the attendees of a meeting the user organizes on every PATCH of what they
/// see (subject, location, body, time): each such copy is a listed mail, and the listed
/// mails are the ones sent. The user's own fields (categories) and the Odoo side mail
/// nobody.
#[tokio::test]
async fn edits_copied_to_an_outlook_meeting_list_the_update_mails_outlook_sends() {
    let mut w = World::new();
    w.first_sync().await;
    let mut e = event("Board", 25, 9);
    e.attendees = vec![Attendee {
        email: "guest@example.org".into(),
        response: Response::NeedsAction,
    }];
    let oid = w.odoo.user_create(&e.normalized());
    let r = w.sync().await;
    assert_eq!(r.mails.len(), 1, "the invitation: {:?}", r.mails);
    for (i, values) in [
        json!({"name": "Board (moved)"}),
        json!({"location": "Room 5"}),
        json!({"description": "<p>Agenda</p>"}),
    ]
    .into_iter()
    .enumerate()
    {
        w.odoo.user_write(oid, &values);
        let r = w.sync().await;
        assert_eq!(r.mails.len(), 1, "{values}: {:?}", r.mails);
        assert_eq!(r.mails[0].1.kind, odoo365_sync_core::MailKind::Update);
        assert_eq!(
            w.graph.mails().len(),
            2 + i,
            "{values}: the mail Outlook sent"
        );
    }
    w.odoo.user_write(oid, &json!({"categ_ids": ["Blue"]}));
    let r = w.sync().await;
    assert!(r.mails.is_empty(), "categories mail nobody: {:?}", r.mails);
    w.assert_quiet().await;
}

#[tokio::test]
async fn odoo_is_never_asked_to_mail_attendees() {
    // The fake records the context-free port; what matters is that the engine never
    // calls Odoo in a way that mails: all writes go through the port whose contract is
    // `no_mail_to_attendees`, and the attendee guard ignores Odoo mails.
    let mut w = World::new();
    w.first_sync().await;
    let mut e = event("Invite from Outlook", 25, 9);
    e.attendees = vec![Attendee {
        email: "x@example.org".into(),
        response: Response::NeedsAction,
    }];
    w.graph.user_create(&e.normalized(), None);
    let r = w.sync().await;
    assert!(r.mails.iter().all(|(_, m)| m.side == Side::Microsoft));
    assert_eq!(w.odoo.writes_of("create"), 1);
    assert!(w.graph.mails().is_empty());
}

#[tokio::test]
async fn a_newest_wins_policy_decides_without_opening_a_conflict() {
    let mut w = World::new();
    w.cfg.policy = Policy::OdooWins;
    w.reopen();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Policy", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Policy");
    w.odoo.user_write(oid, &json!({"location": "Odoo"}));
    w.graph
        .user_edit(&gid, |v| v["location"] = json!({"displayName": "Outlook"}));
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 0);
    assert_eq!(
        w.graph.event(&gid).unwrap()["location"]["displayName"],
        "Odoo"
    );
    w.assert_quiet().await;
}

#[tokio::test]
async fn sign_in_needed_stops_the_cycle_and_keeps_the_cursors() {
    let mut w = World::new();
    w.first_sync().await;
    w.odoo.user_create(&event("Later", 25, 10));
    w.graph.fail_next(
        "delta",
        PortError::SignInNeeded {
            message: "token expired".into(),
        },
    );
    let e = w.engine().sync(SyncOptions::default()).await.unwrap_err();
    assert!(matches!(
        e,
        EngineError::SignInNeeded {
            side: Side::Microsoft,
            ..
        }
    ));
    w.sync().await;
    assert_eq!(w.graph_titled("Later").len(), 1, "nothing was lost");
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_deleted_event_can_be_restored_from_the_journal_and_syncs_back_to_both_sides() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Precious", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Precious");
    w.graph.user_delete(&gid);
    w.sync().await;
    assert_eq!(w.odoo.record(oid).unwrap()["active"], false);
    let entry = w
        .engine()
        .store()
        .tx(|t| {
            Ok((1..50)
                .filter_map(|i| t.journal_entry(i).ok().flatten())
                .find(|j| j.reason == "deleted"))
        })
        .unwrap()
        .unwrap();
    w.engine().restore(entry.id).unwrap();
    w.sync().await;
    w.sync().await;
    assert_eq!(w.odoo.record(oid).unwrap()["active"], true);
    assert_eq!(w.graph_titled("Precious").len(), 1, "back in Outlook too");
    assert!(w
        .engine()
        .store()
        .tx(|t| t.journal_entry(entry.id))
        .unwrap()
        .unwrap()
        .restored_at
        .is_some());
    w.assert_quiet().await;
}

#[tokio::test]
async fn an_overwritten_version_can_be_restored_and_the_restore_syncs_to_the_other_side() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Agenda", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Agenda");
    w.odoo.user_write(oid, &json!({"location": "Wrong room"}));
    w.sync().await;
    assert_eq!(
        w.graph.event(&gid).unwrap()["location"]["displayName"],
        "Wrong room"
    );
    let entry = w
        .engine()
        .store()
        .tx(|t| {
            Ok((1..50)
                .filter_map(|i| t.journal_entry(i).ok().flatten())
                .find(|j| j.reason == "overwritten" && j.side == "microsoft"))
        })
        .unwrap()
        .unwrap();
    w.engine().restore(entry.id).unwrap();
    w.sync().await;
    w.sync().await;
    assert_eq!(w.graph.event(&gid).unwrap()["location"]["displayName"], "");
    assert_eq!(w.odoo.record(oid).unwrap()["location"], "");
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_series_syncs_as_one_series_and_an_orphan_occurrence_is_not_copied() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Standup", 25, 9));
    w.odoo.user_write(
        oid,
        &json!({"recurrency": true, "rrule": "FREQ=DAILY;COUNT=5"}),
    );
    // An occurrence whose series master cannot be read: never copied as a loose event.
    let gid = w.graph.user_create(&event("Retro", 25, 15), None);
    w.graph.user_edit(&gid, |v| {
        v["type"] = json!("occurrence");
        v["seriesMasterId"] = json!("AAMk-master");
    });
    w.sync().await;
    let standup = w.graph_titled("Standup");
    assert_eq!(standup.len(), 1, "one series master, no loose occurrences");
    assert_eq!(standup[0]["type"], "seriesMaster");
    assert_eq!(standup[0]["recurrence"]["range"]["numberOfOccurrences"], 5);
    assert!(w.odoo_titled("Retro").is_empty());
    w.assert_quiet().await;
}

#[tokio::test]
async fn an_outlook_event_that_only_left_the_delta_window_is_not_deleted_in_odoo() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Far away", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Far away");
    w.graph.report_as_removed(&gid);
    w.sync().await;
    assert_eq!(w.odoo.record(oid).unwrap()["active"], true);
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_meeting_cancelled_in_outlook_is_archived_in_odoo() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Cancelled", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Cancelled");
    w.graph.user_edit(&gid, |v| v["isCancelled"] = json!(true));
    w.sync().await;
    assert_eq!(w.odoo.record(oid).unwrap()["active"], false);
}

#[tokio::test]
async fn a_token_expiring_mid_cycle_keeps_the_queued_work_for_after_sign_in() {
    let mut w = World::new();
    w.first_sync().await;
    w.odoo.user_create(&event("Queued", 25, 10));
    w.graph.fail_next(
        "create",
        PortError::SignInNeeded {
            message: "refresh token expired".into(),
        },
    );
    w.clock.advance(Duration::seconds(10));
    let e = w.engine().sync(SyncOptions::default()).await.unwrap_err();
    assert!(
        matches!(
            e,
            EngineError::SignInNeeded {
                side: Side::Microsoft,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(w.graph_titled("Queued").is_empty());
    w.reopen();
    w.sync().await;
    assert_eq!(w.graph_titled("Queued").len(), 1);
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_revoked_odoo_key_mid_cycle_is_reported_as_odoo_needing_sign_in() {
    let mut w = World::new();
    w.first_sync().await;
    w.graph.user_create(&event("From Outlook", 25, 10), None);
    w.odoo.fail_next(
        "create",
        PortError::SignInNeeded {
            message: "API key revoked".into(),
        },
    );
    w.clock.advance(Duration::seconds(10));
    let e = w.engine().sync(SyncOptions::default()).await.unwrap_err();
    assert!(
        matches!(
            e,
            EngineError::SignInNeeded {
                side: Side::Odoo,
                ..
            }
        ),
        "{e:?}"
    );
    w.sync().await;
    assert_eq!(w.odoo_titled("From Outlook").len(), 1);
    w.assert_quiet().await;
}

#[tokio::test]
async fn an_item_that_changed_while_being_written_is_read_again_and_its_edit_is_not_lost() {
    let mut w = World::new();
    // No overlap, and a later Odoo write, so polling alone would not see the record again.
    w.cfg.odoo_overlap = Duration::zero();
    w.reopen();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Moving", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Moving");
    w.odoo.user_write(oid, &json!({"location": "New place"}));
    w.odoo.user_create(&event("Later", 26, 10));
    w.graph.fail_next("update", PortError::PreconditionFailed);
    w.sync().await;
    assert_eq!(w.graph.event(&gid).unwrap()["location"]["displayName"], "");
    w.sync().await;
    assert_eq!(
        w.graph.event(&gid).unwrap()["location"]["displayName"],
        "New place"
    );
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_first_sync_of_hundreds_of_events_existing_on_both_sides_links_them_all_and_writes_nothing(
) {
    let mut w = World::new();
    for i in 0..400u32 {
        let e = event(&format!("Event {i}"), 23 + i % 7, 8 + i % 9);
        w.odoo.user_create(&e);
        w.graph.user_create(&e, None);
    }
    let r = w.confirm().await;
    assert_eq!(r.plan.counts.links, 400, "{}", r.plan.summary());
    assert_eq!(w.writes(), (0, 0));
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_cycle_with_nothing_to_do_costs_one_request_per_side() {
    let mut w = World::new();
    for i in 0..20u32 {
        w.odoo.user_create(&event(&format!("O{i}"), 24, 8 + i % 9));
        w.graph
            .user_create(&event(&format!("G{i}"), 25, 8 + i % 9), None);
    }
    w.first_sync().await;
    let (o, g) = (w.odoo.calls(), w.graph.calls());
    w.sync().await;
    assert_eq!(w.odoo.calls() - o, 1, "Odoo: one changed_since");
    assert_eq!(w.graph.calls() - g, 1, "Graph: one delta round");
}

#[tokio::test]
async fn a_pair_found_by_the_first_sync_with_different_details_is_a_conflict_that_costs_nothing_while_open(
) {
    let mut w = World::new();
    let mut o = event("Same meeting", 24, 9);
    o.location = "Odoo room".into();
    let mut g = event("Same meeting", 24, 9);
    g.location = "Outlook room".into();
    let oid = w.odoo.user_create(&o.normalized());
    let gid = w.graph.user_create(&g.normalized(), None);
    let r = w.confirm().await;
    assert_eq!(r.conflicts_opened, 1);
    assert_eq!(w.writes(), (0, 0));
    let (oc, gc) = (w.odoo.calls(), w.graph.calls());
    w.sync().await;
    assert_eq!((w.odoo.calls() - oc, w.graph.calls() - gc), (1, 1));
    let c = w
        .engine()
        .store()
        .tx(|t| t.open_conflicts("p1"))
        .unwrap()
        .remove(0);
    w.engine()
        .resolve_conflict(c.id, ConflictChoice::Side { side: Side::Odoo })
        .unwrap();
    w.sync().await;
    assert_eq!(
        w.graph.event(&gid).unwrap()["location"]["displayName"],
        "Odoo room"
    );
    assert_eq!(w.odoo.record(oid).unwrap()["location"], "Odoo room");
    assert_eq!(w.graph.events().len(), 1);
    assert_eq!(w.odoo.active().len(), 1);
    w.assert_quiet().await;
}

#[tokio::test]
async fn asking_for_teams_on_an_event_already_in_outlook_turns_it_into_a_teams_meeting() {
    let mut w = World::new();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Existing", 26, 10));
    w.sync().await;
    let gid = w.graph_id_of("Existing");
    w.odoo
        .user_write(oid, &json!({"videocall_location": "Teams "}));
    w.sync().await;
    let g = w.graph.event(&gid).unwrap();
    assert_eq!(g["isOnlineMeeting"], true);
    let url = g["onlineMeeting"]["joinUrl"].as_str().unwrap();
    assert_eq!(w.odoo.record(oid).unwrap()["videocall_location"], url);
    assert_eq!(w.odoo.notes().len(), 1);
    w.assert_quiet().await;
}

#[tokio::test]
async fn under_newest_wins_the_later_edit_wins_and_the_loser_is_recorded() {
    let mut w = World::new();
    w.cfg.policy = Policy::NewestWins;
    w.reopen();
    w.first_sync().await;
    let oid = w.odoo.user_create(&event("Race", 25, 10));
    w.sync().await;
    let gid = w.graph_id_of("Race");
    // Odoo's write_date is 2026-11-22 00:00:xx; Outlook's edit is stamped later.
    w.odoo.user_write(oid, &json!({"location": "Older"}));
    w.graph
        .user_edit(&gid, |v| v["location"] = json!({"displayName": "Newer"}));
    w.graph.user_edit(&gid, |v| {
        v["lastModifiedDateTime"] = json!("2026-11-22T11:00:00Z")
    });
    let r = w.sync().await;
    assert_eq!(r.conflicts_opened, 0);
    assert_eq!(w.odoo.record(oid).unwrap()["location"], "Newer");
    let audit = w.engine().store().tx(|t| t.audit("p1", None, 50)).unwrap();
    assert!(audit
        .iter()
        .any(|a| a.op == "conflict_decided"
            && a.detail.as_ref().unwrap().to_string().contains("Older")));
    w.assert_quiet().await;
}

// The app runs cycles on a multi-threaded runtime: the engine and its futures must be
// `Send` (a compile-time check; the test only builds the futures).
#[allow(dead_code)]
fn engine_futures_are_send(mut e: Engine) {
    fn send<T: Send>(_: T) {}
    send(e.sync(SyncOptions::default()));
    send(e.drain());
    send(e);
}

#[tokio::test]
async fn an_all_day_event_whose_odoo_create_answer_was_lost_is_not_created_twice() {
    let mut w = World::new();
    w.first_sync().await;
    let day = at(27, 0).date_naive();
    let mut e = event("Holiday", 27, 0);
    e.when = odoo365_sync_core::When::AllDay {
        start: day,
        end: day + Duration::days(1),
    };
    w.graph.user_create(&e.normalized(), None);
    w.odoo.lose_answer_of_next("create");
    w.sync().await;
    w.sync().await;
    w.sync().await;
    assert_eq!(w.odoo_titled("Holiday").len(), 1);
    assert_eq!(w.graph_titled("Holiday").len(), 1);
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_lost_outlook_create_whose_look_up_also_fails_is_not_copied_back_even_without_transaction_ids_in_the_delta(
) {
    let mut w = World::new();
    w.graph.hide_transaction_ids_in_delta();
    w.first_sync().await;
    w.odoo.user_create(&event("Fragile", 25, 10));
    w.graph.lose_answer_of_next("create");
    w.sync().await;
    w.graph.fail_next(
        "find",
        PortError::NotSent {
            message: "connection refused".into(),
        },
    );
    w.sync().await;
    w.clock.advance(Duration::hours(1));
    w.sync().await;
    w.sync().await;
    assert_eq!(w.odoo_titled("Fragile").len(), 1);
    assert_eq!(w.graph_titled("Fragile").len(), 1);
    w.assert_quiet().await;
}

#[tokio::test]
async fn opening_the_engine_of_one_profile_leaves_the_running_jobs_of_another_alone() {
    let w = World::new();
    let path = w.dir.path().join("sync.db");
    let mut store = Store::open(&path).unwrap();
    store
        .put_profile("p2", "home", "{}", "2026-11-22T00:00:00Z")
        .unwrap();
    let now = at(22, 12);
    let id = store
        .tx(|t| {
            let (id, _) = t.enqueue("p1", "k", "entry", &json!({}), now)?;
            t.claim(id, now)?;
            Ok(id)
        })
        .unwrap();
    let e2 = Engine::new(
        store,
        EngineConfig::new("p2", ME),
        Arc::new(w.graph.clone()),
        Arc::new(w.odoo.clone()),
        Arc::new(w.clock.clone()),
    )
    .unwrap();
    let mut store = e2.into_store();
    let job = store.tx(|t| t.job(id)).unwrap().unwrap();
    assert_eq!(job.state, odoo365_engine::JobState::Running);
    assert!(!job.maybe_applied);
}
