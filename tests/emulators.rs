#![allow(clippy::unwrap_used)]
//! The app with the real clients against both emulators (in process, with an in-memory
//! keychain): sign-in through the Microsoft emulator's identity endpoints, the Odoo
//! connection test, and syncs in both directions through the real adapters. Then the
//! data directory is searched for every secret the run used.

use std::sync::Arc;

use chrono::Timelike as _;
use odoo365_app::auth::{MemoryKeychain, Secret};
use odoo365_app::{App, SignIn};
use odoo365_testkit::fixture::app::EmulatorBrowser;
use odoo365_testkit::fixture::{Emulators, ALICE};
use odoo365_testkit::graph::GraphConfig;
use odoo365_testkit::odoo::OdooConfig;
use serde_json::{json, Value};

async fn emulators() -> Emulators {
    emulators_with("19.0").await
}

async fn emulators_with(odoo_version: &str) -> Emulators {
    Emulators::start(
        GraphConfig {
            seed: 7,
            ..Default::default()
        },
        OdooConfig {
            seed: 7,
            version: odoo_version.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// A Graph call as Alice in Outlook.
async fn outlook(e: &Emulators, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let token = e.graph.emulator.mint_token(ALICE).unwrap();
    let mut req = reqwest::Client::new()
        .request(method, format!("{}/me/{path}", e.graph.graph_url))
        .bearer_auth(token)
        .header("Prefer", "outlook.timezone=\"UTC\"");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{resp:?}");
    resp.json().await.unwrap_or(Value::Null)
}

/// An Odoo call as Alice (JSON-RPC `execute_kw` with her key, which every version
/// speaks), as her own edits in Odoo.
async fn odoo_exec(e: &Emulators, model: &str, method: &str, args: Value, kwargs: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}/jsonrpc", e.odoo.url))
        .json(
            &json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
            "service": "object", "method": "execute_kw",
            "args": ["odoo", e.alice_uid, e.alice_key, model, method, args, kwargs]}}),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{resp:?}");
    let v: Value = resp.json().await.unwrap();
    assert!(v.get("error").is_none(), "{v}");
    v["result"].clone()
}

fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needle));
        } else if String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains(needle) {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_sync_both_ways_through_the_real_clients_and_no_secret_reaches_the_disk() {
    sign_in_and_sync_both_ways("19.0", "json-2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_against_odoo_17_over_json_rpc() {
    sign_in_and_sync_both_ways("17.0", "json-rpc").await;
}

async fn sign_in_and_sync_both_ways(version: &str, transport: &str) {
    let e = emulators_with(version).await;
    let dir = tempfile::tempdir().unwrap();
    let keychain = Arc::new(MemoryKeychain::new());
    let app = App::open_with(
        dir.path(),
        keychain.clone(),
        Arc::new(odoo365_engine::SystemClock),
    )
    .unwrap();
    let key = Secret::new(e.alice_key.clone());
    let check = App::check_odoo_draft(e.draft("work"), &key).await.unwrap();
    assert_eq!(
        (check.version.as_str(), check.transport.as_str()),
        (version, transport)
    );
    assert_eq!(check.user_name.as_deref(), Some("Alice"));
    let profile = app.add_profile_with_api_key(e.draft("work"), &key).unwrap();
    app.login(
        "work",
        SignIn::Browser(&EmulatorBrowser {
            login: ALICE.into(),
        }),
    )
    .await
    .unwrap();

    // Data on both sides before the first sync.
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    odoo_exec(
        &e,
        "calendar.event",
        "create",
        json!([[{"name": "Standup", "start": fmt(start), "stop": fmt(start + chrono::Duration::minutes(30))}]]),
        json!({}),
    )
    .await;
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    outlook(
        &e,
        reqwest::Method::POST,
        "events",
        Some(json!({"subject": "Review",
            "start": {"dateTime": iso(start + chrono::Duration::hours(3)), "timeZone": "UTC"},
            "end": {"dateTime": iso(start + chrono::Duration::hours(4)), "timeZone": "UTC"}})),
    )
    .await;

    let first = app.sync("work", false, false).await.unwrap();
    assert_eq!(first.outcome, "paused", "{}", first.summary);
    let done = app.sync("work", false, true).await.unwrap();
    assert_eq!(done.outcome, "synced", "{}", done.summary);
    assert!(done.report.failed.is_empty(), "{:#?}", done.report.failed);
    assert!(
        done.report.item_errors.is_empty(),
        "{:#?}",
        done.report.item_errors
    );

    let events = outlook(&e, reqwest::Method::GET, "events", None).await;
    let titles: Vec<&str> = events["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["subject"].as_str())
        .collect();
    assert!(titles.contains(&"Standup"), "{titles:?}");
    let review = odoo_exec(
        &e,
        "calendar.event",
        "search_read",
        json!([[["name", "=", "Review"]]]),
        json!({"fields": ["name"]}),
    )
    .await;
    assert_eq!(review.as_array().unwrap().len(), 1, "{review}");

    // A second cycle without changes writes nothing.
    let quiet = app.sync("work", false, false).await.unwrap();
    assert_eq!(quiet.report.jobs_done, 0, "{}", quiet.summary);
    let status = app.status("work").unwrap();
    assert_eq!(status.linked_events, 2, "{status:?}");

    drop(app);
    let refresh = keychain
        .get(
            &profile.id,
            odoo365_app::auth::SecretKind::MicrosoftRefreshToken,
        )
        .unwrap()
        .unwrap();
    for secret in [e.alice_key.as_str(), refresh.expose()] {
        assert_eq!(files_containing(dir.path(), secret), Vec::<String>::new());
    }
}

use odoo365_app::auth::Keychain as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_adapter_finds_a_create_by_its_transaction_id_and_an_event_by_its_ical_uid() {
    use odoo365_engine::ports::MicrosoftCalendar;
    let e = emulators().await;
    let dir = tempfile::tempdir().unwrap();
    let keychain = Arc::new(MemoryKeychain::new());
    let app = App::open_with(
        dir.path(),
        keychain.clone(),
        Arc::new(odoo365_engine::SystemClock),
    )
    .unwrap();
    let profile = app
        .add_profile_with_api_key(e.draft("work"), &Secret::new(e.alice_key.clone()))
        .unwrap();
    app.login(
        "work",
        SignIn::Browser(&EmulatorBrowser {
            login: ALICE.into(),
        }),
    )
    .await
    .unwrap();
    let tokens = odoo365_app::connect::token_source(&profile, keychain.clone()).unwrap();
    let graph = odoo365_app::connect::graph_client(
        &profile,
        Arc::new(odoo365_app::connect::GraphTokens(tokens)),
    )
    .unwrap();
    let cal = odoo365_app::ports::GraphCalendar::new(graph);
    let start = chrono::Utc::now() + chrono::Duration::days(1);
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let body = json!({"subject": "Kept",
        "start": {"dateTime": iso(start), "timeZone": "UTC"},
        "end": {"dateTime": iso(start + chrono::Duration::hours(1)), "timeZone": "UTC"}});
    let created = cal.create(&body, "tx-kept-1").await.unwrap();
    let again = cal.create(&body, "tx-kept-1").await.unwrap();
    assert_eq!(
        created["id"], again["id"],
        "the same transactionId is one event"
    );
    let found = cal
        .find_by_transaction_id("tx-kept-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found["id"], created["id"]);
    // Several creates in one `$batch`, one of them a resend: one result each, in order,
    // and the resend is the event its transactionId made.
    let named = |subject: &str| {
        let mut b = body.clone();
        b["subject"] = json!(subject);
        b
    };
    let batched = cal
        .create_many(&[
            (named("Batched 1"), "tx-batched-1".to_string()),
            (body.clone(), "tx-kept-1".to_string()),
            (named("Batched 2"), "tx-batched-2".to_string()),
        ])
        .await
        .unwrap();
    let batched: Vec<Value> = batched.into_iter().map(Result::unwrap).collect();
    assert_eq!(batched[0]["subject"], "Batched 1");
    assert_eq!(batched[1]["id"], created["id"]);
    assert_eq!(batched[2]["subject"], "Batched 2");
    assert_ne!(batched[0]["id"], batched[2]["id"]);
    let found = cal
        .find_by_transaction_id("tx-batched-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found["id"], batched[2]["id"]);
    let batches = e
        .graph
        .emulator
        .request_log()
        .snapshot()
        .iter()
        .filter(|r| r.path.ends_with("/$batch"))
        .count();
    assert_eq!(batches, 1, "one request for the three creates");
    assert_eq!(cal.find_by_transaction_id("tx-other").await.unwrap(), None);
    let uid = created["iCalUId"].as_str().unwrap();
    let by_uid = cal.find_by_ical_uid(uid).await.unwrap().unwrap();
    assert_eq!(by_uid["id"], created["id"]);
    let id = created["id"].as_str().unwrap();
    // The engine's version is the change key; the adapter sends it as `W/"<changeKey>"`.
    let etag = created["changeKey"].as_str().unwrap();
    let updated = cal
        .update(id, &json!({"subject": "Kept v2"}), Some(etag))
        .await
        .unwrap();
    assert_eq!(updated["subject"], "Kept v2");
    let stale = cal
        .update(id, &json!({"subject": "Kept v3"}), Some(etag))
        .await
        .unwrap_err();
    assert_eq!(stale, odoo365_engine::PortError::PreconditionFailed);
    cal.delete(id, None).await.unwrap();
    assert_eq!(
        cal.get(id).await.unwrap_err(),
        odoo365_engine::PortError::NotFound
    );
}

/// The app's Odoo calendar port, connected as Alice through a profile of hers.
async fn alices_odoo_events(e: &Emulators) -> odoo365_app::ports::OdooEvents {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open_with(
        dir.path(),
        Arc::new(MemoryKeychain::new()),
        Arc::new(odoo365_engine::SystemClock),
    )
    .unwrap();
    let key = Secret::new(e.alice_key.clone());
    let profile = app.add_profile_with_api_key(e.draft("work"), &key).unwrap();
    let client = odoo365_odoo::OdooClient::connect(
        odoo365_app::connect::odoo_config(&profile, &key).unwrap(),
    )
    .await
    .unwrap();
    odoo365_app::ports::OdooEvents::new(Arc::new(client))
}

/// Copies of Outlook events made in Odoo name their organizer's Odoo user, found by
/// e-mail with a `res.users` search, except for users the adapter has read already: a first
/// sync that brought Outlook events into Odoo searched for the user's own e-mail with
/// every batch, a quarter of its Odoo requests (docs/BENCHMARKS.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_odoo_adapter_names_an_organizer_it_has_read_without_searching_for_her() {
    use odoo365_engine::ports::{OdooCalendar, Window};
    use odoo365_sync_core::Event;
    let e = emulators().await;
    let events = alices_odoo_events(&e).await;
    let bob = e
        .odoo
        .emulator
        .create_user(odoo365_testkit::odoo::NewUser {
            email: Some("bob@contoso.com".into()),
            ..odoo365_testkit::odoo::NewUser::internal("bob")
        })
        .unwrap();
    let clock = e.odoo.emulator.clock();
    let start = (clock.now() + chrono::Duration::days(2))
        .with_nanosecond(0)
        .unwrap();
    let organized_by = |title: &str, who: &str| {
        let mut ev = Event::timed(title, start, start + chrono::Duration::hours(1));
        ev.organizer = Some(who.into());
        odoo365_sync_core::odoo::to_odoo(&ev.normalized()).unwrap()
    };
    let searches = |e: &Emulators| {
        e.odoo
            .emulator
            .request_log()
            .snapshot()
            .iter()
            .filter(|r| r.path.contains("res.users/search"))
            .count()
    };
    let user_of =
        |rows: &[Value]| -> Vec<Value> { rows.iter().map(|r| r["user_id"].clone()).collect() };

    // Nothing read yet: her own e-mail is searched for.
    let first = events
        .create_many(&[organized_by("Mine", ALICE)])
        .await
        .unwrap();
    assert_eq!(searches(&e), 1);
    // A sync reads her events, and her user with them.
    let window = Window {
        start: clock.now() - chrono::Duration::days(1),
        end: clock.now() + chrono::Duration::days(30),
    };
    let read = events
        .changed_since(None, chrono::Duration::minutes(1), window)
        .await
        .unwrap();
    assert_eq!(read.len(), 1, "{read:?}");
    let more = events
        .create_many(&[
            organized_by("Mine too", ALICE),
            organized_by("Bob's", "bob@contoso.com"),
        ])
        .await
        .unwrap();
    assert_eq!(searches(&e), 2, "searched for Bob only");
    let again = events
        .create_many(&[organized_by("Mine again", &ALICE.to_uppercase())])
        .await
        .unwrap();
    assert_eq!(searches(&e), 2, "her e-mail in capitals is still hers");

    let ids: Vec<i64> = first.into_iter().chain(more).chain(again).collect();
    let rows = odoo_exec(
        &e,
        "calendar.event",
        "read",
        json!([ids]),
        json!({"fields": ["user_id"]}),
    )
    .await;
    let uid = |id: i64| json!(id);
    let owners: Vec<Value> = user_of(rows.as_array().unwrap())
        .iter()
        .map(|u| u[0].clone())
        .collect();
    assert_eq!(
        owners,
        vec![
            uid(e.alice_uid),
            uid(e.alice_uid),
            uid(bob.uid),
            uid(e.alice_uid)
        ]
    );
}

/// The Odoo adapter and a copy of someone else's meeting (`user_id: false`, an organizer
/// outside Odoo, the user attending), as it creates one: found again after a lost
/// create (it looked among the user's own events only, so the meeting was made twice),
/// and read again when the user answers in Odoo, which changes her attendee row and not
/// the event's `write_date` (so her answer never reached Outlook). Both found by
/// tests/sim with `SIM_RSVP=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_odoo_adapter_finds_a_copy_of_someone_elses_meeting_and_sees_her_answer_there() {
    use odoo365_engine::ports::{OdooCalendar, Window};
    let e = emulators().await;
    let events = alices_odoo_events(&e).await;
    let me = odoo_exec(
        &e,
        "res.users",
        "read",
        json!([[e.alice_uid]]),
        json!({"fields": ["partner_id"]}),
    )
    .await;
    let partner = me[0]["partner_id"][0].as_i64().unwrap();
    let clock = e.odoo.emulator.clock();
    let start = (clock.now() + chrono::Duration::days(2))
        .with_nanosecond(0)
        .unwrap();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let id = odoo_exec(
        &e,
        "calendar.event",
        "create",
        json!([[{"name": "Partner sync", "start": fmt(start),
            "stop": fmt(start + chrono::Duration::hours(1)),
            "user_id": false, "partner_ids": [[6, 0, [partner]]]}]]),
        json!({}),
    )
    .await[0]
        .as_i64()
        .unwrap();

    let found = events.find("Partner sync", start).await.unwrap();
    let ids: Vec<i64> = found.iter().filter_map(|r| r["id"].as_i64()).collect();
    assert_eq!(ids, vec![id]);

    let window = Window {
        start: clock.now() - chrono::Duration::days(1),
        end: clock.now() + chrono::Duration::days(30),
    };
    clock.advance(chrono::Duration::minutes(10));
    let cursor = clock.now();
    let overlap = chrono::Duration::minutes(1);
    let quiet = events
        .changed_since(Some(cursor), overlap, window)
        .await
        .unwrap();
    assert!(quiet.is_empty(), "{quiet:?}");
    clock.advance(chrono::Duration::minutes(10));
    let row = odoo_exec(
        &e,
        "calendar.attendee",
        "search",
        json!([[["event_id", "=", id], ["partner_id", "=", partner]]]),
        json!({}),
    )
    .await;
    odoo_exec(
        &e,
        "calendar.attendee",
        "do_accept",
        json!([row]),
        json!({}),
    )
    .await;
    let changed = events
        .changed_since(Some(cursor), overlap, window)
        .await
        .unwrap();
    let ids: Vec<i64> = changed.iter().filter_map(|r| r["id"].as_i64()).collect();
    assert_eq!(
        ids,
        vec![id],
        "the answer does not move the event's write_date"
    );
    let mine: Vec<&Value> = changed[0]["attendee_ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["email"] == ALICE)
        .collect();
    assert_eq!(mine.len(), 1, "{changed:?}");
    assert_eq!(mine[0]["state"], "accepted");
}
