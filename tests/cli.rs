#![allow(clippy::unwrap_used)]
//! End-to-end tests of the `odoo365` binary. Tests that store secrets need the real
//! keychain: they run inside `scripts/desktop-session.sh` (Secret Service), skip outside
//! it, and fail under `CI` without it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use odoo365_app::auth::{Keychain, OsKeychain, SecretKind};
use odoo365_testkit::fixture::keychain_available;
use serde_json::{json, Map, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn odoo365_with_stdin(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_odoo365"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("ODOO365_DATA_DIR")
        .env_remove("ODOO365_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the odoo365 binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn odoo365(data_dir: &std::path::Path, args: &[&str]) -> Output {
    odoo365_with_stdin(data_dir, args, "")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

const ADD: [&str; 11] = [
    "profile",
    "add",
    "work",
    "--client-id",
    "11111111-2222-3333-4444-555555555555",
    "--odoo-url",
    "http://127.0.0.1:8069",
    "--odoo-db",
    "demo",
    "--odoo-login",
    "admin",
];

#[test]
fn bad_input_exits_2_before_any_key_is_asked_and_unknown_things_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = odoo365(dir.path(), &["profile", "list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout_json(&out), json!([]));

    let mut bad = ADD.to_vec();
    bad[6] = "http://odoo.example.com";
    let out = odoo365(dir.path(), &bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("plain http"));

    // A bad setting is refused before the key is asked for (stdin holds one that would work).
    for (setting, says) in [
        ("colour=red", "there is no setting \"colour\""),
        ("poll-interval-minutes=0", "polling interval"),
        ("policy", "KEY=VALUE"),
    ] {
        let mut bad = ADD.to_vec();
        bad.extend(["--api-key-stdin", "--no-check", "--set", setting]);
        let out = odoo365_with_stdin(dir.path(), &bad, "a-key-that-would-do\n");
        assert_eq!(out.status.code(), Some(2), "{setting}: {out:?}");
        assert!(stderr(&out).contains(says), "{setting}: {}", stderr(&out));
    }
    let out = odoo365(dir.path(), &["profile", "set", "nobody", "policy=ask"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");

    let mut no_key = ADD.to_vec();
    no_key.extend(["--api-key-stdin", "--no-check"]);
    let out = odoo365_with_stdin(dir.path(), &no_key, "\n");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stderr(&out).contains("API key is empty"),
        "{}",
        stderr(&out)
    );

    let out = odoo365(dir.path(), &["profile", "show", "nobody"]);
    assert_eq!(out.status.code(), Some(3));
    let out = odoo365(dir.path(), &["status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("odoo365 profile add"),
        "{}",
        stderr(&out)
    );
    let out = odoo365(dir.path(), &["conflicts", "resolve", "1"]);
    assert_eq!(out.status.code(), Some(3), "no profile yet: {out:?}");
}

fn fields_map(fields: &[&str]) -> Value {
    let mut m = Map::new();
    for f in fields {
        m.insert((*f).to_string(), json!({"type": "char"}));
    }
    Value::Object(m)
}

/// An Odoo 19 server that accepts one API key.
async fn odoo19(key: &str) -> MockServer {
    use odoo365_odoo::{
        Attachment, CalendarAttendee, CalendarEvent, CalendarRecurrence, Record, User,
    };
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/web/version"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"version": "19.0", "version_info": [19, 0, 0, "final", 0, ""]}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/context_get"))
        .and(header("authorization", format!("bearer {key}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"uid": 2, "tz": "UTC"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/context_get"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey",
            "arguments": ["Invalid apikey", 401], "context": {}, "debug": ""
        })))
        .with_priority(10)
        .mount(&server)
        .await;
    for (model, fields) in [
        (CalendarEvent::MODEL, CalendarEvent::FIELDS),
        (CalendarAttendee::MODEL, CalendarAttendee::FIELDS),
        (CalendarRecurrence::MODEL, CalendarRecurrence::FIELDS),
        (Attachment::MODEL, Attachment::FIELDS),
        (User::MODEL, User::FIELDS),
    ] {
        Mock::given(method("POST"))
            .and(path(format!("/json/2/{model}/fields_get")))
            .respond_with(ResponseTemplate::new(200).set_body_json(fields_map(fields)))
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": 2, "login": "admin", "name": "Mitchell Admin", "tz": "UTC",
            "partner_id": [3, "Mitchell Admin"], "company_id": [1, "Acme"], "company_ids": [1]
        }])))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_keeps_its_api_key_in_the_system_keychain_and_takes_it_away_on_removal() {
    if !keychain_available() {
        return;
    }
    let key = format!("cli-test-key-{}-0123456789abcdef", std::process::id());
    let odoo = odoo19(&key).await;
    let dir = tempfile::tempdir().unwrap();
    let url = odoo.uri();
    let mut add = ADD.to_vec();
    add[6] = &url;
    add.extend(["--api-key-stdin", "--json"]);

    // A refused key is named as such (exit 8) and nothing is saved.
    let d = dir.path().to_path_buf();
    let args: Vec<String> = add.iter().map(|s| s.to_string()).collect();
    let run = move |args: Vec<String>, stdin: String| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            odoo365_with_stdin(&d, &a, &stdin)
        })
    };
    let out = run(args.clone(), "not-the-key\n".into()).await.unwrap();
    assert_eq!(out.status.code(), Some(8), "{out:?}");
    assert!(stderr(&out).contains("create a new API key"));
    assert!(!stderr(&out).contains("not-the-key"));

    let out = run(args.clone(), format!("{key}\n")).await.unwrap();
    assert!(out.status.success(), "{out:?}");
    let added = stdout_json(&out);
    assert_eq!(added["odoo"]["version"], "19.0");
    assert_eq!(added["odoo"]["user_name"], "Mitchell Admin");
    let id = added["profile"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        OsKeychain
            .get(&id, SecretKind::OdooApiKey)
            .unwrap()
            .unwrap()
            .expose(),
        key
    );

    let out = run(
        vec!["profile".into(), "check".into(), "work".into()],
        String::new(),
    )
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Connected to Odoo 19.0 (json-2) as Mitchell Admin."
    );

    let out = run(vec!["status".into(), "--json".into()], String::new())
        .await
        .unwrap();
    let status = stdout_json(&out);
    assert_eq!(status["odoo_api_key_saved"], true);
    assert_eq!(status["sign_in_needed"], true);

    // Settings change by name; a refused value changes nothing.
    let out = run(
        [
            "profile",
            "set",
            "work",
            "window-past-days=30",
            "policy=odoo-wins",
            "--json",
        ]
        .map(String::from)
        .to_vec(),
        String::new(),
    )
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let saved = stdout_json(&out);
    assert_eq!(saved["settings"]["window_past_days"], 30);
    assert_eq!(saved["settings"]["policy"], "odoo-wins");
    let out = run(
        [
            "profile",
            "set",
            "work",
            "window-future-days=10",
            "root-folder=a:b",
        ]
        .map(String::from)
        .to_vec(),
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr(&out).contains("OneDrive folder"), "{}", stderr(&out));
    let out = run(
        ["profile", "show", "work"].map(String::from).to_vec(),
        String::new(),
    )
    .await
    .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("calendar (30 days back, 365 ahead)") && shown.contains("odoo-wins"),
        "{shown}"
    );

    // No file in the data directory holds the key.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&key));
    }

    let out = run(
        vec!["profile".into(), "remove".into(), "work".into()],
        String::new(),
    )
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(OsKeychain.get(&id, SecretKind::OdooApiKey).unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_sign_in_shows_the_code_and_keeps_the_refresh_token_in_the_keychain() {
    use odoo365_testkit::graph::{DriveType, GraphConfig, GraphEmulator};
    use std::io::BufRead;
    if !keychain_available() {
        return;
    }
    let graph = GraphEmulator::start(GraphConfig {
        device_code_interval_s: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    graph
        .emulator
        .create_user("alice@contoso.com", "Alice", DriveType::Business);
    let dir = tempfile::tempdir().unwrap();
    let mut add: Vec<String> = ADD.iter().map(|s| s.to_string()).collect();
    add.extend(
        [
            "--no-check",
            "--api-key-stdin",
            "--graph-url",
            &graph.graph_url,
            "--identity-url",
            &graph.identity_url,
        ]
        .map(String::from),
    );
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = add.iter().map(String::as_str).collect();
        odoo365_with_stdin(&d, &a, "some-odoo-key\n")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let id = odoo365(dir.path(), &["profile", "show", "work", "--json"]);
    let id = stdout_json(&id)["id"].as_str().unwrap().to_string();

    let mut child = Command::new(env!("CARGO_BIN_EXE_odoo365"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["login", "--device-code"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // The reader stays open until the end: the CLI prints once more when signed in.
    let (first, mut reader) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        let mut reader = std::io::BufReader::new(stdout);
        reader.read_line(&mut line).unwrap();
        (line, reader)
    })
    .await
    .unwrap();
    let code = first
        .split("enter the code ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no code shown: {first:?}"))
        .to_string();
    graph
        .emulator
        .approve_device_code(&code, "alice@contoso.com")
        .unwrap();
    let (out, rest) = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
        (child.wait_with_output().unwrap(), rest)
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(rest.contains("Signed in"), "{rest}");
    let refresh = OsKeychain
        .get(&id, SecretKind::MicrosoftRefreshToken)
        .unwrap()
        .expect("the refresh token is in the keychain");
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(refresh.expose()));
    }
    let status = stdout_json(&odoo365(dir.path(), &["status", "--json"]));
    assert_eq!(status["sign_in_needed"], false);
    // Sign-out takes the refresh token out of the keychain and keeps the profile, bound to
    // the mailbox that signed in.
    let out = odoo365(dir.path(), &["signout", "work", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let done = stdout_json(&out);
    assert_eq!(done["mailbox"], "alice@contoso.com");
    assert_eq!(done["links_kept"], 0);
    assert_eq!(
        OsKeychain
            .get(&id, SecretKind::MicrosoftRefreshToken)
            .unwrap(),
        None
    );
    let status = stdout_json(&odoo365(dir.path(), &["status", "--json"]));
    assert_eq!(
        (
            status["sign_in_needed"].clone(),
            status["signed_in"].clone()
        ),
        (json!(true), json!(false))
    );
    let text = odoo365(dir.path(), &["signout"]);
    assert!(text.status.success(), "{text:?}");
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("Sign in as alice@contoso.com"),
        "{text:?}"
    );
    assert!(odoo365(dir.path(), &["profile", "remove", "work"])
        .status
        .success());
    assert_eq!(
        OsKeychain
            .get(&id, SecretKind::MicrosoftRefreshToken)
            .unwrap(),
        None
    );
}
