//! The `odoo365-sim` binary: one JSON line with four base URLs, each answering as its service.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Sim {
    child: Child,
    urls: serde_json::Value,
}

impl Sim {
    fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_odoo365-sim"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let urls = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not one JSON line: {line:?}: {e}"));
        Sim { child, urls }
    }

    fn url(&self, key: &str) -> String {
        self.urls[key].as_str().unwrap().to_string()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_sim_prints_four_urls_and_each_answers_as_its_service() {
    let sim = Sim::start(&["--seed", "3"]);
    let graph = sim.url("graph");
    assert!(graph.ends_with("/v1.0"), "{graph}");
    let http = reqwest::Client::new();

    // Graph without a token: 401 in Graph's error shape.
    let res = http.get(format!("{graph}/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["error"]["code"].is_string() && body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );

    // The identity platform's device code endpoint lives under the authority base.
    let res = http
        .post(format!(
            "{}/common/oauth2/v2.0/devicecode",
            sim.url("identity")
        ))
        .form(&[("client_id", "c"), ("scope", "offline_access")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);

    // Odoo 19 (the default profile) reports its version.
    let v: serde_json::Value = http
        .get(format!("{}/web/version", sim.url("odoo")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v.to_string().contains("19"), "{v}");

    // Both control APIs are mounted on the control listener.
    let control = sim.url("control");
    let users = http
        .get(format!("{control}/graph/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);
    let state = http
        .get(format!("{control}/odoo/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(state.status(), 200);
    assert!(
        sim.urls.get("demo").is_none(),
        "no demo data in the empty scenario"
    );
}

#[tokio::test]
async fn the_demo_scenario_seeds_both_services_and_hands_out_odoo_keys() {
    let sim = Sim::start(&["--scenario", "demo", "--odoo-version", "17.0"]);
    let demo = &sim.urls["demo"];
    let key = demo["odoo_users"][0]["api_key"].as_str().unwrap();
    assert_eq!(key.len(), 40, "Odoo API keys are 40 hex characters");
    let http = reqwest::Client::new();
    let users: serde_json::Value = http
        .get(format!("{}/graph/users", sim.url("control")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(users.to_string().contains("alice@contoso.com"), "{users}");
    // Odoo 17 has no JSON-2: the route is not there.
    let res = http
        .post(format!("{}/json/2/res.users/context_get", sim.url("odoo")))
        .bearer_auth(key)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[test]
fn a_bad_option_is_refused_with_its_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_odoo365-sim"))
        .args(["--unavailable", "1.5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--unavailable"));
    let out = Command::new(env!("CARGO_BIN_EXE_odoo365-sim"))
        .args(["--odoo-version", "banana"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("banana"));
}
