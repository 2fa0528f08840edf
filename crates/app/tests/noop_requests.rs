#![allow(clippy::unwrap_used)]
//! What a sync cycle with nothing to do costs, counted in both emulators' request logs
//! (issue 6: "a no-op cycle costs at most one request per resource"), through `App::sync`
//! as the daemon and the desktop worker call it: one `App`, cycle after cycle. The
//! profile's connected clients are kept between cycles and rebuilt when the settings, the
//! API key or the Microsoft sign-in change, or after a failed cycle.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use odoo365_app::auth::{MemoryKeychain, Secret};
use odoo365_app::{App, ErrorCode};
use odoo365_testkit::fixture::{Emulators, Mark, Traffic, ALICE};
use odoo365_testkit::graph::GraphConfig;
use odoo365_testkit::odoo::{NewApiKey, OdooConfig};
use odoo365_testkit::{Clock, RequestRecord};

struct World {
    e: Emulators,
    app: App,
    _dir: tempfile::TempDir,
}

fn odoo_dt(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

async fn world() -> World {
    let clock = Clock::real();
    let e = Emulators::start(
        GraphConfig {
            seed: 11,
            clock: clock.clone(),
            ..Default::default()
        },
        OdooConfig {
            seed: 11,
            clock,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = App::open_with(
        dir.path(),
        Arc::new(MemoryKeychain::new()),
        Arc::new(odoo365_engine::SystemClock),
    )
    .unwrap();
    e.add_signed_in_profile(&app, "work").await.unwrap();
    World { e, app, _dir: dir }
}

impl World {
    /// Three events in Odoo (Alice's own) and three in Outlook, tomorrow.
    async fn seed(&self) {
        let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
        let http = reqwest::Client::new();
        for i in 0..3 {
            let start = tomorrow + chrono::Duration::hours(i);
            let r = http
                .post(format!("{}/json/2/calendar.event/create", self.e.odoo.url))
                .bearer_auth(&self.e.alice_key)
                .json(&json!({"vals_list": [{"name": format!("Odoo {i}"),
                    "start": odoo_dt(start),
                    "stop": odoo_dt(start + chrono::Duration::minutes(30))}]}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
        let token = self.e.graph.emulator.mint_token(ALICE).unwrap();
        for i in 0..3 {
            let start = tomorrow + chrono::Duration::hours(5 + i);
            let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
            let r = http
                .post(format!("{}/me/events", self.e.graph.graph_url))
                .bearer_auth(&token)
                .json(&json!({"subject": format!("Outlook {i}"),
                    "start": {"dateTime": iso(start), "timeZone": "UTC"},
                    "end": {"dateTime": iso(start + chrono::Duration::minutes(30)), "timeZone": "UTC"}}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    }

    /// What the emulators received since `mark`, and the same by resource: the Graph
    /// method and path (ids and query left out), the Odoo model of a JSON-2 call or the
    /// endpoint of anything else.
    fn since(&self, mark: Mark) -> (Traffic, BTreeMap<String, usize>) {
        let sent = self.e.since(mark);
        let mut by = BTreeMap::new();
        for r in sent.graph.iter().chain(&sent.odoo) {
            *by.entry(resource(r)).or_insert(0) += 1;
        }
        (sent, by)
    }

    /// One `App::sync` (confirmed), and what it sent.
    async fn cycle(&self) -> (odoo365_app::SyncResult, BTreeMap<String, usize>) {
        let mark = self.e.mark();
        let r = self.app.sync("work", false, true).await.unwrap();
        let (sent, by) = self.since(mark);
        if r.report.jobs_done == 0 {
            let graph_writes = sent.graph_writes();
            assert!(
                graph_writes.is_empty(),
                "a cycle with no job wrote: {graph_writes:?}"
            );
            assert_eq!(sent.odoo_writes, 0, "a cycle with no job wrote to Odoo");
        }
        (r, by)
    }
}

fn resource(r: &RequestRecord) -> String {
    let path = r.path.split('?').next().unwrap_or_default();
    if let Some(rest) = path.strip_prefix("/json/2/") {
        return format!("odoo:{}", rest.split('/').next().unwrap_or_default());
    }
    if path.starts_with("/v1.0/") {
        let segs: Vec<&str> = path
            .split('/')
            .map(|s| if s.len() > 40 { "{id}" } else { s })
            .collect();
        return format!("graph:{} {}", r.method, segs.join("/"));
    }
    format!("odoo:{path}")
}

/// A no-op cycle: nothing written, at most one request to each resource, and none of the
/// connection's (`GET /me`, `/web/version`, `fields_get`, `context_get`).
fn assert_noop(what: &str, r: &odoo365_app::SyncResult, by: &BTreeMap<String, usize>) {
    assert_eq!(r.report.jobs_done, 0, "{what}: {r:?}");
    let over: Vec<_> = by.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        over.is_empty(),
        "{what}: more than one request to {over:?} (all: {by:?})"
    );
    for connect in ["graph:GET /v1.0/me", "odoo:/web/version"] {
        assert!(!by.contains_key(connect), "{what} connected again: {by:?}");
    }
    assert!(
        by.contains_key("graph:GET /v1.0/me/calendarView/delta")
            && by.contains_key("odoo:calendar.event"),
        "{what} did not look at both calendars: {by:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_op_cycle_costs_at_most_one_request_per_resource_on_the_kept_clients() {
    let w = world().await;
    w.seed().await;
    let (first, by) = w.cycle().await;
    assert_eq!(first.report.jobs_done, 6, "{first:?}");
    assert!(by.contains_key("graph:GET /v1.0/me"), "{by:?}");

    // The echo of the first sync's writes, then the steady state.
    let (second, by) = w.cycle().await;
    assert_noop("the second cycle", &second, &by);
    let (third, by) = w.cycle().await;
    assert_noop("the third cycle", &third, &by);
    let total: usize = by.values().sum();
    assert!(total <= 4, "the third cycle sent {total} requests: {by:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_clients_are_rebuilt_when_the_settings_the_key_or_the_server_change() {
    let w = world().await;
    w.seed().await;
    w.cycle().await;
    let (r, by) = w.cycle().await;
    assert_noop("before any change", &r, &by);

    // New settings: the next cycle connects again (they may name another drive, window…).
    let profile = w.app.profile("work").unwrap();
    let mut settings = profile.settings.clone();
    settings.window_past_days += 1;
    w.app.set_sync_settings("work", settings).unwrap();
    let (_, by) = w.cycle().await;
    assert!(by.contains_key("graph:GET /v1.0/me"), "{by:?}");
    let (r, by) = w.cycle().await;
    assert_noop("after the new settings", &r, &by);

    // A new API key: the old one is revoked, the kept connection would be refused.
    let new_key =
        w.e.odoo
            .emulator
            .create_api_key(w.e.alice_uid, NewApiKey::default())
            .unwrap();
    let old: Vec<i64> =
        w.e.odoo
            .emulator
            .api_keys()
            .iter()
            .filter(|k| k.uid == w.e.alice_uid)
            .map(|k| k.id)
            .collect();
    w.app
        .set_odoo_api_key("work", &Secret::new(new_key.clone()))
        .unwrap();
    assert!(w.e.odoo.emulator.revoke_api_key(*old.iter().min().unwrap()));
    let (r, by) = w.cycle().await;
    assert_eq!(r.report.jobs_done, 0);
    assert!(by.contains_key("odoo:/web/version"), "{by:?}");

    // The server changes under the kept connection (an upgrade that removes JSON-2): that
    // cycle fails, and the next one connects afresh and works.
    w.e.odoo.emulator.set_version("18.0").unwrap();
    let mark = w.e.mark();
    let e = w.app.sync("work", false, true).await.unwrap_err();
    assert_ne!(e.code, ErrorCode::SignInNeeded, "{e:?}");
    let (sent, _) = w.since(mark);
    assert!(
        sent.odoo.iter().any(|r| r.path.starts_with("/json/2/")),
        "{sent:?}"
    );
    let (r, by) = w.cycle().await;
    assert_eq!(r.report.jobs_done, 0, "{r:?}");
    assert!(by.contains_key("odoo:/web/version"), "{by:?}");
    let rpc: Value = json!(by.keys().filter(|k| k.contains("jsonrpc")).count());
    assert_ne!(rpc, json!(0), "the new connection speaks JSON-RPC: {by:?}");
}
