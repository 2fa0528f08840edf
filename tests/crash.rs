#![allow(clippy::unwrap_used)]
//! Crash test with the real binaries (issue 9): `odoo365-sim` runs both emulators as its
//! own process; the built `odoo365` CLI runs the first sync of a profile (`sync --yes`, the
//! daemon's cycle) and is killed with SIGKILL at random (seeded) moments, then started
//! again, until the sync finishes. At the end both sides hold every item exactly once —
//! checked through the emulators' own APIs — and a further sync writes nothing.
//!
//! `make test` runs a reduced form (10 kills, 200 events); `make crash-test` the full one
//! (50 kills, 1,000 events). Knobs: `CRASH_KILLS`, `CRASH_EVENTS`, `CRASH_SEED`.
//!
//! What is seeded and checked is a list of [`Collection`]s; only calendar events exist so
//! far. Files (200 attachments ↔ OneDrive) join as a second collection once the engine has
//! a file cycle: seed them in `Collection::seed`, list both sides in `Collection::check`.
//!
//! The CLI keeps secrets in the system keychain, so this runs inside
//! `scripts/desktop-session.sh` (skipped outside it, failing under `CI`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ALICE: &str = "alice@contoso.com";

fn keychain_available() -> bool {
    if std::env::var_os("ODOO365_DESKTOP_SESSION").is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the tests inside scripts/desktop-session.sh"
    );
    eprintln!("skipped: no desktop session (run through scripts/desktop-session.sh)");
    false
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The simulator binary beside the CLI (same profile); built when missing, since it
/// belongs to another package of the workspace.
fn sim_binary() -> PathBuf {
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_odoo365"));
    let dir = cli.parent().unwrap();
    let sim = dir.join("odoo365-sim");
    if !sim.exists() {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-p", "odoo365-testkit", "--bin", "odoo365-sim"]);
        if dir.file_name().is_some_and(|d| d == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().unwrap();
        assert!(status.success(), "building odoo365-sim failed");
    }
    sim
}

/// A small deterministic generator (SplitMix64): the kill moments replay from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Sim {
    child: Child,
    graph: String,
    identity: String,
    odoo: String,
    control: String,
    http: Http,
}

/// A blocking face over the async client (the test drives processes, not futures).
struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    fn new() -> Http {
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    /// Sends and returns the status and the JSON body (null when there is none).
    fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        self.rt.block_on(async {
            let mut req = self
                .client
                .request(method, url)
                .header("Prefer", "outlook.timezone=\"UTC\"");
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            (status, resp.json().await.unwrap_or(Value::Null))
        })
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sim {
    fn start(seed: u64) -> Sim {
        let mut child = Command::new(sim_binary())
            .args(["--seed", &seed.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        Sim {
            graph: s("graph"),
            identity: s("identity"),
            odoo: s("odoo"),
            control: s("control"),
            child,
            http: Http::new(),
        }
    }

    fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self
            .http
            .send(method, &format!("{}{path}", self.control), None, body);
        assert!(status.is_success(), "{path}: {status}: {v}");
        v
    }

    /// Writes to the Graph API (`/v1.0/…`) and to Odoo so far. Unlike `writes`, leaves out
    /// the sign-in endpoints (each CLI process exchanges its refresh token with a POST).
    fn api_writes(&self) -> u64 {
        let log = self.control(reqwest::Method::GET, "/graph/requests", None);
        let graph = log["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["path"].as_str().unwrap_or_default().starts_with("/v1.0/")
                    && !matches!(r["method"].as_str(), Some("GET" | "HEAD" | "OPTIONS"))
            })
            .count() as u64;
        let o = self.control(reqwest::Method::GET, "/odoo/counters", None);
        graph + o["writes"].as_u64().unwrap_or(0)
    }

    /// Writes of both emulators' counters (sign-in POSTs included): cheap enough to poll for
    /// the kill moments.
    fn writes(&self) -> u64 {
        let g = self.control(reqwest::Method::GET, "/graph/counters", None);
        let o = self.control(reqwest::Method::GET, "/odoo/counters", None);
        g["writes"].as_u64().unwrap_or(0) + o["writes"].as_u64().unwrap_or(0)
    }
}

/// Alice on both sides, through the control APIs: her mailbox, her Odoo user and API key,
/// and a Graph token for playing her in Outlook.
struct People {
    odoo_key: String,
    token: String,
}

fn people(sim: &Sim) -> People {
    sim.control(
        reqwest::Method::POST,
        "/graph/users",
        Some(json!({"mail": ALICE, "displayName": "Alice", "driveType": "business"})),
    );
    let user = sim.control(
        reqwest::Method::POST,
        "/odoo/users",
        Some(json!({"login": ALICE, "email": ALICE, "name": "Alice"})),
    );
    let key = sim.control(
        reqwest::Method::POST,
        "/odoo/api_keys",
        Some(json!({"user_id": user["id"]})),
    );
    let token = sim.control(
        reqwest::Method::POST,
        "/graph/tokens",
        Some(json!({"user": ALICE, "lifetimeSeconds": 86_400})),
    );
    People {
        odoo_key: key["key"].as_str().unwrap().to_string(),
        token: token["accessToken"].as_str().unwrap().to_string(),
    }
}

fn odoo_call(sim: &Sim, p: &People, model: &str, method: &str, body: Value) -> Value {
    let (status, v) = sim.http.send(
        reqwest::Method::POST,
        &format!("{}/json/2/{model}/{method}", sim.odoo),
        Some(&p.odoo_key),
        Some(body),
    );
    assert!(status.is_success(), "{model}.{method}: {status}: {v}");
    v
}

fn outlook(
    sim: &Sim,
    p: &People,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let url = if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{}/me/{url}", sim.graph)
    };
    let (status, v) = sim.http.send(method, &url, Some(&p.token), body);
    assert!(status.is_success(), "{status}: {v}");
    v
}

/// What the test seeds on both sides and checks at the end.
enum Collection {
    /// `n` events: one in twenty starts in Outlook, the others in Odoo. Each event that
    /// starts in Outlook costs Odoo writes and reads under the Odoo client's pacing (1
    /// request/s, odoo.md §7), which would make a half-and-half run take most of an hour.
    Events(usize),
}

fn from_outlook(i: usize) -> bool {
    i % 20 == 1
}

impl Collection {
    fn seed(&self, sim: &Sim, p: &People) {
        match self {
            Collection::Events(n) => {
                let today = chrono::Utc::now()
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc();
                let at = |i: usize| {
                    today
                        + chrono::Duration::days(1 + (i % 200) as i64)
                        + chrono::Duration::hours(7)
                        + chrono::Duration::minutes(20 * (i / 200) as i64)
                };
                let odoo: Vec<Value> = (0..*n)
                    .filter(|i| !from_outlook(*i))
                    .map(|i| {
                        let f = |t: chrono::DateTime<chrono::Utc>| {
                            t.format("%Y-%m-%d %H:%M:%S").to_string()
                        };
                        json!({"name": format!("Crash event {i}"), "start": f(at(i)),
                               "stop": f(at(i) + chrono::Duration::minutes(30))})
                    })
                    .collect();
                for chunk in odoo.chunks(250) {
                    odoo_call(
                        sim,
                        p,
                        "calendar.event",
                        "create",
                        json!({"vals_list": chunk}),
                    );
                }
                for i in (0..*n).filter(|i| from_outlook(*i)) {
                    let f = |t: chrono::DateTime<chrono::Utc>| {
                        t.format("%Y-%m-%dT%H:%M:%S").to_string()
                    };
                    outlook(
                        sim,
                        p,
                        reqwest::Method::POST,
                        "events",
                        Some(json!({"subject": format!("Crash event {i}"),
                            "start": {"dateTime": f(at(i)), "timeZone": "UTC"},
                            "end": {"dateTime": f(at(i) + chrono::Duration::minutes(30)), "timeZone": "UTC"}})),
                    );
                }
            }
        }
    }

    /// Every item on both sides, each exactly once: no duplicate, no loss.
    fn check(&self, sim: &Sim, p: &People) {
        match self {
            Collection::Events(n) => {
                let expected: std::collections::BTreeSet<String> =
                    (0..*n).map(|i| format!("Crash event {i}")).collect();
                let odoo: Vec<String> = odoo_call(
                    sim,
                    p,
                    "calendar.event",
                    "search_read",
                    json!({"domain": [], "fields": ["name"]}),
                )
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect();
                let mut graph = Vec::new();
                let mut next = Some("events?$top=1000&$select=subject".to_string());
                while let Some(url) = next.take() {
                    let page = outlook(sim, p, reqwest::Method::GET, &url, None);
                    for e in page["value"].as_array().unwrap() {
                        graph.push(e["subject"].as_str().unwrap().to_string());
                    }
                    next = page["@odata.nextLink"].as_str().map(str::to_string);
                }
                for (side, titles) in [("Odoo", odoo), ("Outlook", graph)] {
                    let set: std::collections::BTreeSet<String> = titles.iter().cloned().collect();
                    assert_eq!(set.len(), titles.len(), "{side} has duplicates");
                    let lost: Vec<_> = expected.difference(&set).take(5).collect();
                    assert!(lost.is_empty(), "{side} lost {lost:?}");
                    let extra: Vec<_> = set.difference(&expected).take(5).collect();
                    assert!(extra.is_empty(), "{side} has unexpected {extra:?}");
                }
            }
        }
    }
}

/// Plays the person on the emulator's sign-in page (as in the golden tests).
const BROWSER_SH: &str = r#"#!/bin/sh
url="$1"
action="${url%%\?*}"
query="${url#*\?}"
loc=$(curl -s -o /dev/null -w '%{redirect_url}' --data "$query&login=$CRASH_LOGIN" "$action")
curl -s -o /dev/null "$loc"
"#;

fn cli(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_odoo365"));
    cmd.arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env_remove("ODOO365_PROFILE")
        .env_remove(odoo365_app::sync::CRASH_AFTER_ENV)
        .env("ODOO365_LOG", "warn")
        .env("BROWSER", dir.join("browser.sh"))
        .env("CRASH_LOGIN", ALICE);
    cmd
}

fn run(mut cmd: Command, stdin: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn setup(dir: &Path, sim: &Sim, p: &People) {
    use std::os::unix::fs::PermissionsExt;
    let browser = dir.join("browser.sh");
    std::fs::write(&browser, BROWSER_SH).unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(
        cli(
            dir,
            &[
                "profile",
                "add",
                "crash",
                "--client-id",
                "11111111-2222-3333-4444-555555555555",
                "--odoo-url",
                &sim.odoo,
                "--odoo-db",
                "odoo",
                "--odoo-login",
                ALICE,
                "--graph-url",
                &sim.graph,
                "--identity-url",
                &sim.identity,
                "--api-key-stdin",
            ],
        ),
        &format!("{}\n", p.odoo_key),
    );
    assert!(out.status.success(), "{out:?}");
    let out = run(cli(dir, &["login"]), "");
    assert!(out.status.success(), "{out:?}");
}

/// How a killed run ended.
#[derive(Debug, Default)]
struct Tally {
    killed: u64,
    finished_before_kill: u64,
    runs: u64,
}

#[test]
fn kill_9_at_random_moments_during_a_first_sync_leaves_no_duplicate_and_no_loss() {
    if !keychain_available() {
        return;
    }
    let kills = env_or("CRASH_KILLS", 10);
    let events = env_or("CRASH_EVENTS", 200) as usize;
    let seed = env_or("CRASH_SEED", 9);
    let started = Instant::now();
    let sim = Sim::start(seed);
    let p = people(&sim);
    let collections = [Collection::Events(events)];
    for c in &collections {
        c.seed(&sim, &p);
    }
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), &sim, &p);

    // Writes the whole first sync needs: one create per item on the other side, plus
    // follow-up writes; kills aim anywhere in that range, or (one in four) at a random
    // moment of the first half second, where the CLI reads and plans.
    let expected_writes = events as u64 + events as u64 / 2;
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let mut kill_log = Vec::new();
    while tally.killed < kills {
        tally.runs += 1;
        assert!(
            tally.runs <= kills * 4 + 10,
            "the sync keeps finishing before its kill: {tally:?}"
        );
        let base = sim.writes();
        let by_time = rng.below(4) == 0;
        let target = rng.below(2 * expected_writes / kills.max(1) + 1);
        let extra = Duration::from_micros(rng.below(5_000));
        let delay = Duration::from_millis(rng.below(500));
        let mut child = cli(dir.path(), &["sync", "--yes", "--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            let due = if by_time {
                t0.elapsed() >= delay
            } else {
                sim.writes() >= base + target
            };
            if due {
                std::thread::sleep(extra);
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        match finished {
            None => {
                // SIGKILL: no destructor, no flush, as a power cut or the OOM killer.
                child.kill().unwrap();
                let status = child.wait().unwrap();
                if status.code().is_some() {
                    // It had exited by itself just before the kill.
                    tally.finished_before_kill += 1;
                } else {
                    tally.killed += 1;
                }
                kill_log.push(format!(
                    "{} after {} ms, {} writes",
                    if by_time { "time" } else { "writes" },
                    t0.elapsed().as_millis(),
                    sim.writes() - base
                ));
            }
            Some(status) => {
                tally.finished_before_kill += 1;
                kill_log.push(format!("finished ({status}) before its kill"));
                if status.success() {
                    // The first sync is done; kills can only hit quiet cycles now, which
                    // still counts (a crash during a no-op cycle must stay a no-op).
                }
            }
        }
    }
    eprintln!("crash test: {tally:?} in {:?}", started.elapsed());
    for l in &kill_log {
        eprintln!("  {l}");
    }

    // Restart until a cycle finds nothing left to do.
    let mut quiet = false;
    for _ in 0..10 {
        let out = run(cli(dir.path(), &["sync", "--yes", "--json"]), "");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert!(
            out.status.success(),
            "a sync after the crashes failed: {:?} {} {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(v["report"]["failed"], json!([]), "{v}");
        if v["report"]["jobs_done"] == 0 && v["report"]["jobs_waiting"] == 0 {
            quiet = true;
            break;
        }
    }
    assert!(quiet, "sync never became quiet after the crashes");
    for c in &collections {
        c.check(&sim, &p);
    }
    // And a cycle after that writes nothing on either side.
    let before = sim.api_writes();
    let out = run(cli(dir.path(), &["sync", "--json"]), "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(sim.api_writes(), before, "a quiet cycle wrote");
    eprintln!("crash test: done in {:?}", started.elapsed());
}
