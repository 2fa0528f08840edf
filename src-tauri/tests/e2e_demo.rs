#![allow(clippy::unwrap_used)]
//! UI tests over the demo world (`odoo365-sim --scenario demo`, served in-process with the
//! same code): the Add-account wizard end to end against both emulators, the conflict the
//! demo makes resolved in its popup and verified on both sides, and the switch to German.
//! With `SCREENSHOTS=DIR` they save a PNG of every view they pass (`make screenshot`).
//! Like `e2e.rs`: inside `WITH_TAURI_DRIVER=1 scripts/desktop-session.sh`; outside they
//! skip, under `CI=true` they fail.

use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, Locator};
use odoo365_testkit::demo as people;
use odoo365_testkit::graph::{GraphConfig, GraphEmulator};
use odoo365_testkit::odoo::{OdooConfig, OdooEmulator};
use serde_json::{json, Value};

mod common;
use common::{launch, wait_for_no_running_app, webdriver_url};

/// The demo world on loopback, and its line as the sim prints it.
async fn demo_sim(after_first_sync: Duration) -> (Value, GraphEmulator) {
    let graph = GraphEmulator::new(GraphConfig {
        device_code_interval_s: 1,
        ..GraphConfig::default()
    });
    let odoo = OdooEmulator::new(OdooConfig::default());
    graph.seed_demo();
    let seed = odoo.seed_demo().unwrap();
    let served = odoo365_testkit::sim::serve(
        graph.clone(),
        odoo,
        Some(odoo365_testkit::sim::DemoRun {
            seed,
            odoo_database: OdooConfig::default().database,
            after_first_sync,
        }),
        Arc::new(|s: &str| eprintln!("{s}")),
    )
    .await
    .unwrap();
    (served.line, graph)
}

/// Saves the webview as `DIR/name.png` when `SCREENSHOTS=DIR` is set.
async fn shot(client: &Client, name: &str) {
    let Some(dir) = std::env::var_os("SCREENSHOTS") else {
        return;
    };
    tokio::time::sleep(Duration::from_millis(600)).await; // let the view paint
    let png = client.screenshot().await.unwrap();
    let path = std::path::Path::new(&dir).join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

async fn go(client: &Client, hash: &str) {
    client
        .execute(&format!("window.location.hash = {hash:?}"), vec![])
        .await
        .unwrap();
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn fill(client: &Client, id: &str, value: &str) {
    let input = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

async fn click_button(client: &Client, label: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "//button[normalize-space()='{label}' and not(@disabled)]"
        )))
        .await
        .unwrap_or_else(|e| panic!("button {label:?}: {e}"))
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_tests_odoo_and_signs_in_to_microsoft_on_the_emulators_page() {
    let Some(url) = webdriver_url() else { return };
    // The timeline waits for a first sync this test never confirms: it stays quiet.
    let (line, _graph) = demo_sim(Duration::from_secs(3600)).await;
    let alice = &line["demo"]["odoo_users"][0];
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_str().unwrap();
    let client = launch(&url, &["--data-dir", dir]).await;
    text_of(&client, "[data-testid=no-profiles]").await;
    go(&client, "#/add").await;
    fill(&client, "w-name", "work").await;
    fill(&client, "w-client", "0d0365de-0000-4000-8000-000000000002").await;
    // The emulators stand in for Microsoft, as another cloud would.
    client
        .find(Locator::Css("details.advanced summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&client, "w-graph", line["graph"].as_str().unwrap()).await;
    fill(&client, "w-identity", line["identity"].as_str().unwrap()).await;
    shot(&client, "wizard-1-account").await;
    click_button(&client, "Next").await;
    fill(&client, "w-url", line["odoo"].as_str().unwrap()).await;
    fill(
        &client,
        "w-db",
        line["demo"]["odoo_database"].as_str().unwrap(),
    )
    .await;
    fill(&client, "w-login", alice["login"].as_str().unwrap()).await;
    fill(&client, "w-key", alice["api_key"].as_str().unwrap()).await;
    click_button(&client, "Test connection").await;
    let ok = text_of(&client, "[data-testid=check-ok]").await;
    assert_eq!(
        ok,
        format!("Connected to Odoo 19.0 as {}.", people::ALICE_NAME),
        "the test names the version and the user"
    );
    shot(&client, "wizard-2-odoo").await;
    click_button(&client, "Next").await;
    shot(&client, "wizard-3-what").await;
    click_button(&client, "Next").await;
    shot(&client, "wizard-4-when").await;
    click_button(&client, "Next").await;
    click_button(&client, "Sign in with a code instead").await;
    let code = text_of(&client, "[data-testid=device-code] .code").await;
    let page = client
        .find(Locator::Css("[data-testid=device-code] a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    shot(&client, "wizard-5-microsoft").await;
    // The person, on the emulator's device login page.
    let http = reqwest::Client::new();
    let form = http.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("name=\"otc\""), "{form}");
    let answer = http
        .post(&page)
        .form(&[("otc", code.as_str()), ("login", people::ALICE)])
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{answer:?}");
    let done = text_of(&client, "p[role=status]").await;
    assert!(done.contains("work"), "{done}");
    shot(&client, "wizard-6-done").await;
    client.close().await.unwrap();
    wait_for_no_running_app().await;
    let app = odoo365_app::App::open(data_dir.path()).unwrap();
    let status = app.status("work").unwrap();
    assert!(status.signed_in && status.odoo_api_key_saved, "{status:?}");
    app.remove_profile("work").unwrap();
}

/// `needle` in `hay` as whole words ("Sync" is not in "Synchronisiert").
fn contains_words(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(at, _)| {
        let before = hay[..at].chars().next_back();
        let after = hay[at + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Every English sentence of the catalogue that German says differently (placeholders cut
/// out), to prove none is left on a view after the switch.
fn english_only_strings() -> Vec<String> {
    let read = |lang: &str| -> std::collections::HashMap<String, String> {
        let path = format!(
            "{}/../ui/src/lib/i18n/{lang}.ts",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter_map(|l| {
                let l = l.trim().strip_prefix('"')?;
                let (k, v) = l.split_once("\": \"")?;
                Some((
                    k.to_string(),
                    v.trim_end_matches(',').trim_end_matches('"').to_string(),
                ))
            })
            .collect()
    };
    let (en, de) = (read("en"), read("de"));
    let mut out = Vec::new();
    for (k, v) in &en {
        if de.get(k) == Some(v) {
            continue;
        }
        // The longest literal piece between `{placeholders}`.
        let piece = v
            .split(['{', '}'])
            .step_by(2)
            .map(str::trim)
            .max_by_key(|p| p.len())
            .unwrap_or("");
        if piece.len() >= 4 {
            out.push(piece.to_string());
        }
    }
    assert!(out.len() > 100, "{}", out.len());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_s_conflict_is_resolved_in_its_popup_and_the_app_speaks_german() {
    let Some(url) = webdriver_url() else { return };
    let (line, graph) = demo_sim(Duration::from_secs(2)).await;
    let work = tempfile::tempdir().unwrap();
    let line_file = work.path().join("sim.json");
    std::fs::write(&line_file, line.to_string()).unwrap();
    let data_dir = work.path().join("data");
    let client = launch(
        &url,
        &[
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--demo",
            line_file.to_str().unwrap(),
        ],
    )
    .await;
    let mode = text_of(&client, "[data-testid=profile] [data-testid=mode]").await;
    assert!(mode.contains("polling"), "{mode}");
    let main = client.window().await.unwrap();
    shot(&client, "main").await;
    go(&client, "#/activity/Demo").await;
    text_of(&client, "[data-testid=activity-line]").await;
    let activity = text_of(&client, "main").await;
    // Both ways: Odoo's events created in Outlook and Outlook's in Odoo, each with its why.
    assert!(
        activity.contains("new in Odoo: create in Outlook")
            && activity.contains("new in Outlook: create in Odoo"),
        "{activity}"
    );
    shot(&client, "activity").await;
    go(&client, "#/preview/Demo").await;
    text_of(&client, "main table").await;
    shot(&client, "preview").await;
    go(&client, "#/settings").await;
    text_of(&client, "#language").await;
    shot(&client, "settings").await;
    go(&client, "#/").await;

    // The demo's edits on both sides meet in a cycle: the popup opens by itself.
    let mut popup = None;
    for _ in 0..90 {
        let windows = client.windows().await.unwrap();
        if let Some(w) = windows.into_iter().find(|w| *w != main) {
            popup = Some(w);
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let popup = popup.expect("the conflict popup opened within 90 s");
    client.switch_to_window(popup).await.unwrap();
    let row = text_of(&client, "[data-testid=field-row]").await;
    assert!(
        row.contains(people::LOCATION_IN_ODOO) && row.contains(people::LOCATION_IN_OUTLOOK),
        "{row}"
    );
    shot(&client, "conflict-popup").await;
    // Per field: Outlook's location wins.
    client
        .find(Locator::Css("input[name='f-location']:not(:checked)"))
        .await
        .unwrap();
    let radios = client
        .find_all(Locator::Css("input[name='f-location']"))
        .await
        .unwrap();
    radios[1].click().await.unwrap();
    assert!(radios[1].is_selected().await.unwrap());
    // Apply waits for a cycle of the demo's pace that may be running: one click is enough.
    click_button(&client, "Apply").await;
    text_of(&client, "[data-testid=resolved]").await;
    client.close_window().await.unwrap();
    client.switch_to_window(main).await.unwrap();

    // The next cycles carry the decision to both sides.
    let token = graph.mint_token(people::ALICE).unwrap();
    let alice = &line["demo"]["odoo_users"][0];
    let http = reqwest::Client::new();
    let mut seen = (String::new(), String::new());
    for _ in 0..60 {
        let events: Value = http
            .get(format!(
                "{}/me/events?$top=200",
                line["graph"].as_str().unwrap()
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let outlook = events["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["subject"] == people::CONFLICT_EVENT)
            .map(|e| {
                e["location"]["displayName"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_default();
        let read: Value = http
            .post(format!(
                "{}/json/2/calendar.event/search_read",
                line["odoo"].as_str().unwrap()
            ))
            .header(
                "Authorization",
                format!("bearer {}", alice["api_key"].as_str().unwrap()),
            )
            .json(
                &json!({"domain": [["name", "=", people::CONFLICT_EVENT]], "fields": ["location"]}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let odoo = read[0]["location"].as_str().unwrap_or("").to_string();
        seen = (odoo, outlook);
        if seen.0 == people::LOCATION_IN_OUTLOOK && seen.1 == people::LOCATION_IN_OUTLOOK {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(
        seen,
        (
            people::LOCATION_IN_OUTLOOK.to_string(),
            people::LOCATION_IN_OUTLOOK.to_string()
        ),
        "the decision reached both sides"
    );
    let app = odoo365_app::App::open(&data_dir).unwrap();
    assert!(app.conflicts("Demo").unwrap().is_empty());

    // German: chosen in Settings, every string of the main view changes.
    go(&client, "#/settings").await;
    let select = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("language"))
        .await
        .unwrap();
    select.select_by_value("de").await.unwrap();
    click_button(&client, "Speichern").await;
    go(&client, "#/").await;
    text_of(&client, "[data-testid=profile] [data-testid=mode]").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let german = client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(german.contains("Jetzt synchronisieren"), "{german}");
    // The product's name is the same in every language.
    let german_words = german.replace("Odoo365 Sync", "");
    let left: Vec<String> = english_only_strings()
        .into_iter()
        .filter(|s| contains_words(&german_words, s))
        .collect();
    assert!(
        left.is_empty(),
        "English left on the German main view: {left:?}\n{german}"
    );
    shot(&client, "main-de").await;
    client.close().await.unwrap();
    // The next test (here or in e2e.rs) starts only once this app has left the bus.
    wait_for_no_running_app().await;
}
