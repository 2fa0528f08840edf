//! What the UI tests share: the WebDriver gate and the app's launch through tauri-driver.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

/// The WebDriver URL, or `None` when the test may skip (a developer's plain `cargo test`).
/// Under `CI=true` or inside the desktop session a missing WebDriver is a failure.
pub fn webdriver_url() -> Option<String> {
    match std::env::var("E2E_WEBDRIVER") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none() && std::env::var_os("ODOO365_DESKTOP_SESSION").is_none(),
                "UI tests need tauri-driver: run them through `WITH_TAURI_DRIVER=1 scripts/desktop-session.sh`"
            );
            eprintln!("skipped: E2E_WEBDRIVER is not set");
            None
        }
    }
}

/// Waits until no app of an earlier test holds the single-instance name: a launch while
/// the previous app is still leaving the bus would hand over to it and exit.
pub async fn wait_for_no_running_app() {
    for _ in 0..100 {
        let out = std::process::Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:com.odoo365sync.desktop.SingleInstance",
            ])
            .output()
            .unwrap();
        if !String::from_utf8_lossy(&out.stdout).contains("boolean true") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the app of an earlier test is still running after 10 s");
}

/// Starts the app binary with `args` in a new WebDriver session.
pub async fn launch(url: &str, args: &[&str]) -> Client {
    wait_for_no_running_app().await;
    // reqwest brings ring and fantoccini's hyper-rustls could bring aws-lc: pick one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), serde_json::json!("wry"));
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({"application": env!("CARGO_BIN_EXE_odoo365-desktop"), "args": args}),
    );
    ClientBuilder::rustls()
        .expect("rustls client")
        .capabilities(caps)
        .connect(url)
        .await
        .expect("a WebDriver session with the app")
}

/// Starts the app on the installation in `data_dir`.
pub async fn launch_on(url: &str, data_dir: &std::path::Path) -> Client {
    launch(url, &["--data-dir", data_dir.to_str().unwrap()]).await
}
