//! End-to-end tests of the `odoo365` binary.

use std::process::Command;

fn odoo365(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_odoo365"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("ODOO365_DATA_DIR")
        .output()
        .expect("the odoo365 binary runs")
}

#[test]
fn a_profile_added_by_the_cli_is_listed_as_json_and_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = odoo365(dir.path(), &["profile", "list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );

    let add = [
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
    let out = odoo365(dir.path(), &add);
    assert!(out.status.success(), "{out:?}");
    let out = odoo365(dir.path(), &["profile", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["name"], "work");
    assert_eq!(listed[0]["odoo_url"], "http://127.0.0.1:8069");

    let mut bad = add.to_vec();
    bad[2] = "other";
    bad[6] = "http://odoo.example.com";
    let out = odoo365(dir.path(), &bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain http"));

    let out = odoo365(dir.path(), &["profile", "show", "nobody"]);
    assert_eq!(out.status.code(), Some(3));
}
