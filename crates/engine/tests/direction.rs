#![allow(clippy::unwrap_used)]
//! The calendar in a one-way direction (`EngineConfig::direction`): the source is the
//! truth. The target's own edits, deletes and new events are never sent back; the
//! source's next change of an item overwrites what the target did to it, with the
//! replaced version in the restore journal. Singles and series alike; every scenario ends
//! quiet, and the source side is never written.

use std::collections::BTreeSet;

use odoo365_engine::Window;
use odoo365_sync_core::canonical::Recurrence;
use odoo365_sync_core::rrule::Rule;
use odoo365_sync_core::{Direction, Event};
use serde_json::{json, Value};

mod common;
use common::{at, World};

fn one_way(direction: Direction) -> World {
    let mut w = World::new();
    w.cfg.direction = direction;
    w.reopen();
    w
}

impl World {
    fn writes(&self) -> (usize, usize) {
        (self.odoo.writes(), self.graph.writes())
    }

    async fn assert_quiet(&mut self) {
        let before = self.writes();
        let r = self.sync().await;
        assert_eq!(self.writes(), before, "{}", r.plan.summary());
        assert!(!r.plan.has_writes(), "{}", r.plan.summary());
    }

    fn outlook(&self, title: &str) -> Option<Value> {
        let mut all = self.graph.titled(title);
        assert!(all.len() <= 1, "{title} twice in Outlook");
        all.pop()
    }

    /// Every journal entry of the profile: (side, reason, event).
    fn journal(&mut self) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for id in 1.. {
            let Some(e) = self.engine().store().tx(|t| t.journal_entry(id)).unwrap() else {
                break;
            };
            out.push((e.side, e.reason, e.content["event"].clone()));
        }
        out
    }
}

#[tokio::test]
async fn odoo_to_outlook_copies_odoo_and_leaves_outlook_changes_alone_until_odoo_changes() {
    let mut w = one_way(Direction::OdooToMicrosoft);
    let review = w
        .odoo
        .user_create(&Event::timed("Review", at(24, 9), at(24, 10)).normalized());
    w.graph.user_create(
        &Event::timed("Dentist", at(25, 9), at(25, 10)).normalized(),
        None,
    );
    let r = w.confirm().await;
    assert!(w.outlook("Review").is_some(), "created in Outlook");
    assert!(w.odoo.titled("Dentist").is_empty(), "not copied to Odoo");
    assert_eq!(r.plan.counts.ignored, 1, "{}", r.plan.summary());
    assert!(
        r.plan.summary().contains("not copied: new in Outlook"),
        "{}",
        r.plan.summary()
    );
    w.assert_quiet().await;

    // An Outlook edit is not sent back, and it stays (no write either way).
    let gid = w.outlook("Review").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.graph
        .user_edit(&gid, |v| v["location"] = json!({"displayName": "Room 9"}));
    let r = w.sync().await;
    assert_eq!(r.plan.counts.ignored, 1, "{}", r.plan.summary());
    assert_eq!(w.odoo.writes(), 0, "not sent back: {}", r.plan.summary());
    w.assert_quiet().await;
    assert_eq!(
        w.outlook("Review").unwrap()["location"]["displayName"],
        "Room 9"
    );

    // Odoo's next change of the event overwrites Outlook's copy whole, and the version
    // it replaced (with Room 9) is in the journal.
    w.odoo.user_write(review, &json!({"name": "Review v2"}));
    w.sync().await;
    let copy = w.outlook("Review v2").unwrap();
    assert_ne!(copy["location"]["displayName"], "Room 9", "{copy:#}");
    let journal = w.journal();
    assert!(
        journal.iter().any(|(side, reason, e)| side == "microsoft"
            && reason == "overwritten"
            && e["location"] == "Room 9"),
        "{journal:#?}"
    );
    w.assert_quiet().await;

    // An Outlook delete is not sent back; Odoo's next change copies the event again.
    w.graph.user_delete(copy["id"].as_str().unwrap());
    w.sync().await;
    assert_eq!(w.odoo.record(review).unwrap()["active"], json!(true));
    w.assert_quiet().await;
    w.odoo.user_write(review, &json!({"name": "Review v3"}));
    w.sync().await;
    assert!(w.outlook("Review v3").is_some(), "copied again");
    w.assert_quiet().await;

    // Odoo's delete goes through.
    w.odoo.user_archive(review);
    w.sync().await;
    assert!(w.outlook("Review v3").is_none());
    w.assert_quiet().await;
    assert_eq!(w.odoo.writes(), 0, "nothing was ever written to Odoo");
}

#[tokio::test]
async fn outlook_to_odoo_series_keep_odoo_cancellations_until_outlook_changes_the_series() {
    let mut w = one_way(Direction::MicrosoftToOdoo);
    let mut e = Event::timed("Lunch", at(23, 11), at(23, 12));
    e.time_zone = Some("Europe/Berlin".into());
    e.recurrence = Some(Recurrence {
        rule: Rule::parse("FREQ=DAILY;COUNT=4").unwrap(),
        exdates: BTreeSet::new(),
    });
    let master = w.graph.user_create(&e.normalized(), None);
    // A series made in Odoo stays there only.
    let mut own = Event::timed("Gym", at(24, 17), at(24, 18));
    own.recurrence = Some(Recurrence {
        rule: Rule::parse("FREQ=DAILY;COUNT=3").unwrap(),
        exdates: BTreeSet::new(),
    });
    w.odoo.user_create(&own.normalized());
    w.confirm().await;
    assert!(w.graph.titled("Gym").is_empty());
    let rid = w.odoo.titled("Lunch")[0]["recurrence_id"].as_i64().unwrap();
    let active = |w: &World| -> Vec<String> {
        w.odoo
            .series_rows(rid)
            .into_iter()
            .filter(|r| r["active"] != json!(false))
            .map(|r| r["start"].as_str().unwrap()[..10].to_owned())
            .collect()
    };
    assert_eq!(active(&w).len(), 4);
    w.assert_quiet().await;

    // Odoo cancels the 24th: Outlook keeps it.
    let row = w
        .odoo
        .series_rows(rid)
        .into_iter()
        .find(|r| r["start"].as_str().unwrap().starts_with("2026-11-24"))
        .unwrap();
    w.odoo.user_archive(row["id"].as_i64().unwrap());
    w.sync().await;
    w.assert_quiet().await;
    let window = Window {
        start: at(1, 0),
        end: at(30, 0),
    };
    assert_eq!(w.graph.instances_of(&master, window).len(), 4);

    // Outlook renames the series: Odoo gets Outlook's series back whole, all four days.
    w.graph
        .user_edit(&master, |m| m["subject"] = json!("Team lunch"));
    w.sync().await;
    let rid = w.odoo.titled("Team lunch")[0]["recurrence_id"]
        .as_i64()
        .unwrap();
    let days: Vec<String> = w
        .odoo
        .series_rows(rid)
        .into_iter()
        .filter(|r| r["active"] != json!(false))
        .map(|r| r["start"].as_str().unwrap()[..10].to_owned())
        .collect();
    assert_eq!(
        days,
        ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"]
    );
    w.assert_quiet().await;
    assert_eq!(w.graph.writes(), 0, "nothing was ever written to Outlook");
}
