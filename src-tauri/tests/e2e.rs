#![allow(clippy::unwrap_used)]
//! UI tests that drive the real app binary through WebDriver (tauri-driver in front of
//! WebKitWebDriver), inside `scripts/desktop-session.sh` with `WITH_TAURI_DRIVER=1`.
//! Outside the harness they skip; under `CI=true` or `make test` a missing harness fails.

use std::time::Duration;

use fantoccini::Locator;

mod common;
use common::{launch_on, webdriver_url};

#[tokio::test]
async fn the_main_window_invites_a_new_user_to_add_an_account() {
    let Some(url) = webdriver_url() else { return };
    let data_dir = tempfile::tempdir().unwrap();
    let client = launch_on(&url, data_dir.path()).await;
    let empty = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=no-profiles]"))
        .await
        .expect("the empty state appears");
    let text = empty.text().await.unwrap();
    assert!(text.contains("No accounts yet"), "{text}");
    assert_eq!(client.title().await.unwrap(), "Odoo365 Sync");
    client.close().await.unwrap();
}

/// Adds the profile "work" to `dir`, as the CLI would, before the app starts.
fn add_work_profile(dir: &std::path::Path) -> odoo365_app::Profile {
    odoo365_app::App::open(dir)
        .unwrap()
        .add_profile(odoo365_app::ProfileDraft {
            name: "work".into(),
            tenant: "organizations".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            odoo_url: "https://acme.odoo.com".into(),
            odoo_database: "acme".into(),
            odoo_login: "alice@acme.example".into(),
            graph_url: None,
            identity_url: None,
        })
        .unwrap()
}

/// Syncs "work" over the engine's fake calendars until a location conflict is open.
async fn make_a_conflict(dir: &std::path::Path) -> i64 {
    use chrono::TimeZone;
    use odoo365_engine::testing::{FakeGraph, FakeOdoo};
    use std::sync::Arc;
    const ME: &str = "me@example.com";
    let clock = odoo365_engine::ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .unwrap(),
    );
    let app = odoo365_app::App::open_with(
        dir,
        Arc::new(odoo365_app::auth::MemoryKeychain::new()),
        Arc::new(clock.clone()),
    )
    .unwrap();
    let profile = app.profile("work").unwrap();
    let (graph, odoo) = (FakeGraph::new(ME), FakeOdoo::new(ME));
    let start = chrono::Utc
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .unwrap();
    let oid = odoo.user_create(
        &odoo365_sync_core::Event::timed("Board", start, start + chrono::Duration::hours(1))
            .normalized(),
    );
    for (confirm, edit) in [(false, false), (true, false), (false, true)] {
        if edit {
            let gid = graph.titled("Board")[0]["id"].as_str().unwrap().to_string();
            odoo.user_write(oid, &serde_json::json!({"location": "Paris"}));
            graph.user_edit(&gid, |v| {
                v["location"] = serde_json::json!({"displayName": "Berlin"})
            });
        }
        clock.advance(chrono::Duration::seconds(10));
        let engine = app
            .engine_with(
                &profile,
                ME,
                Arc::new(graph.clone()),
                Arc::new(odoo.clone()),
            )
            .unwrap();
        app.sync_with(&profile, engine, false, confirm)
            .await
            .unwrap();
    }
    let open = app.conflicts("work").unwrap();
    assert_eq!(open.len(), 1);
    open[0].id
}

#[tokio::test]
async fn a_conflict_is_resolved_in_the_popup_and_the_app_records_the_decision() {
    let Some(url) = webdriver_url() else { return };
    let data_dir = tempfile::tempdir().unwrap();
    add_work_profile(data_dir.path());
    let id = make_a_conflict(data_dir.path()).await;
    let client = launch_on(&url, data_dir.path()).await;
    let wait = || client.wait().at_most(Duration::from_secs(20));
    // The card links to the conflict; the popup view shows the field side by side.
    wait()
        .for_element(Locator::Css("[data-testid=profile] .attention a"))
        .await
        .expect("the card shows the open conflict")
        .click()
        .await
        .unwrap();
    let row = wait()
        .for_element(Locator::Css("[data-testid=field-row]"))
        .await
        .expect("the conflict's fields appear");
    let text = row.text().await.unwrap();
    assert!(text.contains("Paris") && text.contains("Berlin"), "{text}");
    client
        .find(Locator::Css("input[name=whole]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::XPath("//button[normalize-space()='Apply']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait()
        .for_element(Locator::Css("[data-testid=resolved]"))
        .await
        .expect("the popup confirms the decision");
    client.close().await.unwrap();
    // The decision reached the store through the real command.
    let app = odoo365_app::App::open(data_dir.path()).unwrap();
    assert!(app.conflicts("work").unwrap().is_empty());
    let decided = app.conflict("work", id).unwrap();
    // Stored in the engine's words: keep one whole side, Odoo's.
    let resolution = decided.resolution.unwrap();
    assert_eq!(resolution["side"], "odoo", "{resolution}");
}

#[tokio::test]
async fn the_main_window_shows_a_profile_with_its_status() {
    let Some(url) = webdriver_url() else { return };
    let data_dir = tempfile::tempdir().unwrap();
    add_work_profile(data_dir.path());
    let client = launch_on(&url, data_dir.path()).await;
    let card = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=profile]"))
        .await
        .expect("the profile's card appears");
    // The status arrives after the card: wait for its facts.
    let mode = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=profile] [data-testid=mode]"))
        .await
        .expect("the profile's status appears");
    assert!(mode.text().await.unwrap().contains("polling"));
    let text = card.text().await.unwrap();
    assert!(text.contains("work"), "{text}");
    assert!(text.contains("alice@acme.example"), "{text}");
    // Never signed in: the card says what sync waits for.
    assert!(text.contains("Microsoft sign-in needed"), "{text}");
    client.close().await.unwrap();
}

/// Against both emulators: a signed-in profile, an event made in Odoo, Sync now clicked in
/// the main window; the result is shown and the event is in Outlook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_now_in_the_main_window_shows_the_result_and_the_event_reaches_outlook() {
    use odoo365_testkit::fixture::{Emulators, ALICE};
    use odoo365_testkit::graph::GraphConfig;
    use odoo365_testkit::odoo::OdooConfig;
    let Some(url) = webdriver_url() else { return };
    let e = Emulators::start(
        GraphConfig::default(),
        OdooConfig {
            version: "19.0".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let app = odoo365_app::App::open(data_dir.path()).unwrap();
    e.add_signed_in_profile(&app, "work").await.unwrap();
    // The first sync's plan is confirmed before the app starts, as a person would have.
    app.sync("work", false, true).await.unwrap();

    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/jsonrpc", e.odoo.url))
        .json(
            &serde_json::json!({"jsonrpc": "2.0", "method": "call", "id": 1,
            "params": {"service": "object", "method": "execute_kw",
            "args": ["odoo", e.alice_uid, e.alice_key, "calendar.event", "create",
                [[{"name": "Review", "start": fmt(start),
                   "stop": fmt(start + chrono::Duration::minutes(30))}]], {}]}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(created.get("error").is_none(), "{created}");

    let client = launch_on(&url, data_dir.path()).await;
    let wait = || client.wait().at_most(Duration::from_secs(30));
    wait()
        .for_element(Locator::Css("[data-testid=profile] [data-testid=mode]"))
        .await
        .expect("the profile's status appears");
    wait()
        .for_element(Locator::XPath(
            "//button[normalize-space()='Sync now' and not(@disabled)]",
        ))
        .await
        .expect("Sync now can be clicked")
        .click()
        .await
        .unwrap();
    let notice = wait()
        .for_element(Locator::Css("p[role=status]"))
        .await
        .expect("the result of Sync now is shown");
    let text = notice.text().await.unwrap();
    assert!(text.starts_with("work: synced"), "{text}");
    client.close().await.unwrap();

    // The event made in Odoo is in Outlook now.
    let token = e.graph.emulator.mint_token(ALICE).unwrap();
    let events: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/me/events", e.graph.graph_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let titles: Vec<_> = events["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["subject"].as_str())
        .collect();
    assert!(titles.contains(&"Review"), "{events}");
}
