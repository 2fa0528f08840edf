#![allow(clippy::unwrap_used)]
//! Crash test with the real binaries (issue 9): `odoo365-sim` runs both emulators as its
//! own process; the built `odoo365` CLI runs the first sync of a profile (`sync --yes`, the
//! daemon's cycle) and is killed with SIGKILL at random (seeded) moments, then started
//! again, until the sync finishes. At the end both sides hold every item exactly once —
//! checked through the emulators' own APIs — and a further sync writes nothing.
//!
//! `make test` runs a reduced form (10 kills, 200 events, 40 files); `make crash-test` the
//! full one (50 kills, 1,000 events, 200 files). Knobs: `CRASH_KILLS`, `CRASH_EVENTS`,
//! `CRASH_FILES`, `CRASH_SEED`.
//!
//! What is seeded and checked is a list of [`Collection`]s: calendar events, and files
//! (attachments of sale orders in Odoo ⇄ `Odoo Sync/sale.order/<id>/` in OneDrive, most
//! starting in Odoo, some in OneDrive, one in a hundred above the simple-upload
//! threshold so an upload session is cut too). Files are checked by name and content hash
//! per record on both sides.
//!
//! Kill moments are picked by counting the writes the emulators have seen (Graph's request
//! log read incrementally, Odoo's write counter), not by wall-clock time: each run is
//! killed after a random number of further API writes, drawn so that the kills spread
//! over the whole first sync; one run in ten is killed instead at a random moment of its
//! first 300 ms (sign-in, reading and planning). The test asserts that most kills landed
//! while the run was writing.
//!
//! The CLI keeps secrets in the system keychain, so this runs inside
//! `scripts/desktop-session.sh` (skipped outside it, failing under `CI`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use odoo365_testkit::fixture::{
    keychain_available, profile_add_args, write_browser_script, ALICE, BROWSER_LOGIN_ENV,
};
use serde_json::{json, Value};

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

    /// A `PUT` of raw bytes (a file's content).
    fn put_bytes(&self, url: &str, bearer: &str, body: Vec<u8>) -> (reqwest::StatusCode, Value) {
        self.rt.block_on(async {
            let resp = self
                .client
                .put(url)
                .bearer_auth(bearer)
                .body(body)
                .send()
                .await
                .unwrap();
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
}

/// API writes the emulators have seen: Graph's `/v1.0/…` writes (not the sign-in POSTs
/// each CLI process makes) plus Odoo's writes. Graph's request log is read incrementally
/// (`?since=`), so polling it every few milliseconds stays cheap however long it grows.
#[derive(Default)]
struct WriteWatch {
    seq: u64,
    graph: u64,
}

impl WriteWatch {
    fn api_writes(&mut self, sim: &Sim) -> u64 {
        let log = sim.control(
            reqwest::Method::GET,
            &format!("/graph/requests?since={}", self.seq),
            None,
        );
        for r in log["value"].as_array().unwrap() {
            self.seq = self.seq.max(r["seq"].as_u64().unwrap_or(0));
            // A `$batch` of creates is one request and as many writes as it did (`cost`).
            if r["path"].as_str().unwrap_or_default().starts_with("/v1.0/")
                && !matches!(r["method"].as_str(), Some("GET" | "HEAD" | "OPTIONS"))
            {
                self.graph += r["cost"].as_u64().unwrap_or(1);
            }
        }
        let o = sim.control(reqwest::Method::GET, "/odoo/counters", None);
        self.graph + o["writes"].as_u64().unwrap_or(0)
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
    /// `n` files on sale orders (ten files a record, at most 20 records): one in ten starts
    /// in OneDrive, the others as Odoo attachments.
    Files(usize),
}

/// The sale orders the files belong to.
fn file_records(n: usize) -> usize {
    n.div_ceil(10).clamp(1, 20)
}

fn file_from_onedrive(i: usize) -> bool {
    i % 10 == 3
}

fn file_name(i: usize) -> String {
    format!("Crash file {i}.bin")
}

/// The `i`-th file's content: 1–16 KiB, and one in a hundred of 5 MiB (above the 4 MiB
/// simple-upload threshold: an upload session, cut by the kills like the rest).
fn file_bytes(i: usize) -> Vec<u8> {
    let len = if i % 100 == 7 {
        5 << 20
    } else {
        1024 + (i * 2_731) % 15_360
    };
    (0..len as u64)
        .map(|k| (k.wrapping_mul(2_654_435_761).wrapping_add(i as u64 * 7_919) >> 11) as u8)
        .collect()
}

fn from_outlook(i: usize) -> bool {
    i % 20 == 1
}

impl Collection {
    fn seed(&self, sim: &Sim, p: &People) {
        match self {
            Collection::Files(n) => seed_files(sim, p, *n),
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
            Collection::Files(n) => check_files(sim, p, *n),
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
                let graph: Vec<String> = graph_list(sim, p, "events?$top=1000&$select=subject")
                    .iter()
                    .map(|e| e["subject"].as_str().unwrap().to_string())
                    .collect();
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

/// The sale orders, in creation order.
fn sale_orders(sim: &Sim, p: &People) -> Vec<i64> {
    let mut ids: Vec<i64> = odoo_call(sim, p, "sale.order", "search", json!({"domain": []}))
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// Every page of a Graph collection below `/me/`.
fn graph_list(sim: &Sim, p: &People, first: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(url) = next.take() {
        let page = outlook(sim, p, reqwest::Method::GET, &url, None);
        all.extend(page["value"].as_array().unwrap().iter().cloned());
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    all
}

fn seed_files(sim: &Sim, p: &People, n: usize) {
    let records = file_records(n);
    let partners: Vec<Value> = (0..records)
        .map(|r| json!({"name": format!("Crash customer {r}")}))
        .collect();
    let partners = odoo_call(
        sim,
        p,
        "res.partner",
        "create",
        json!({"vals_list": partners}),
    );
    let orders: Vec<Value> = partners
        .as_array()
        .unwrap()
        .iter()
        .map(|id| json!({"partner_id": id}))
        .collect();
    odoo_call(sim, p, "sale.order", "create", json!({"vals_list": orders}));
    let orders = sale_orders(sim, p);
    assert_eq!(orders.len(), records);
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let odoo: Vec<Value> = (0..n)
        .filter(|i| !file_from_onedrive(*i))
        .map(|i| {
            json!({"name": file_name(i), "res_model": "sale.order",
                   "res_id": orders[i % records], "datas": b64(&file_bytes(i))})
        })
        .collect();
    for chunk in odoo.chunks(20) {
        odoo_call(
            sim,
            p,
            "ir.attachment",
            "create",
            json!({"vals_list": chunk}),
        );
    }
    // The person's files in OneDrive: the record folders made as a person would.
    let folder = |parent: &str, name: &str| {
        let url = if parent.is_empty() {
            "drive/root/children".to_string()
        } else {
            format!("drive/root:/{parent}:/children")
        };
        outlook(
            sim,
            p,
            reqwest::Method::POST,
            &url,
            Some(json!({"name": name, "folder": {}, "@microsoft.graph.conflictBehavior": "fail"})),
        );
    };
    let onedrive: Vec<usize> = (0..n).filter(|i| file_from_onedrive(*i)).collect();
    if onedrive.is_empty() {
        return;
    }
    folder("", "Odoo Sync");
    folder("Odoo%20Sync", "sale.order");
    let mut made = std::collections::BTreeSet::new();
    for i in onedrive {
        let rec = orders[i % records];
        if made.insert(rec) {
            folder("Odoo%20Sync/sale.order", &rec.to_string());
        }
        let url = format!(
            "{}/me/drive/root:/Odoo%20Sync/sale.order/{rec}/{}:/content",
            sim.graph,
            file_name(i).replace(' ', "%20")
        );
        let (status, v) = sim.http.put_bytes(&url, &p.token, file_bytes(i));
        assert!(status.is_success(), "{status}: {v}");
    }
}

/// Each file once on its record on both sides, with its content's hash (Odoo's SHA-1
/// `checksum`, OneDrive's QuickXorHash): no duplicate, no loss, nothing half-written.
fn check_files(sim: &Sim, p: &People, n: usize) {
    use std::collections::BTreeMap;
    let records = file_records(n);
    let orders = sale_orders(sim, p);
    let mut sha1 = BTreeMap::new();
    let mut qxh = BTreeMap::new();
    for i in 0..n {
        let info = odoo365_engine::files::content_info_of(&file_bytes(i));
        let rec = orders[i % records];
        sha1.insert((rec, file_name(i)), info.sha1);
        qxh.insert((rec.to_string(), file_name(i)), info.quick_xor);
    }
    let atts = odoo_call(
        sim,
        p,
        "ir.attachment",
        "search_read",
        json!({"domain": [["res_model", "=", "sale.order"]],
               "fields": ["name", "res_id", "checksum"]}),
    );
    let mut odoo: BTreeMap<(i64, String), String> = BTreeMap::new();
    for a in atts.as_array().unwrap() {
        let key = (
            a["res_id"].as_i64().unwrap(),
            a["name"].as_str().unwrap().to_string(),
        );
        let sum = a["checksum"].as_str().unwrap_or_default().to_string();
        assert!(
            odoo.insert(key.clone(), sum).is_none(),
            "Odoo has {key:?} twice"
        );
    }
    assert_eq!(
        odoo, sha1,
        "Odoo's attachments differ from the files seeded"
    );

    let models = graph_list(sim, p, "drive/root:/Odoo%20Sync:/children");
    let names: Vec<&str> = models.iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, ["sale.order"], "the sync root holds {names:?}");
    let folders = graph_list(sim, p, "drive/root:/Odoo%20Sync/sale.order:/children");
    let mut seen_folders = std::collections::BTreeSet::new();
    let mut onedrive: BTreeMap<(String, String), String> = BTreeMap::new();
    for f in &folders {
        let name = f["name"].as_str().unwrap().to_string();
        assert!(
            f.get("folder").is_some(),
            "a file {name:?} beside the record folders"
        );
        assert!(seen_folders.insert(name.clone()), "folder {name:?} twice");
        let id = f["id"].as_str().unwrap();
        for item in graph_list(sim, p, &format!("drive/items/{id}/children")) {
            let file = item["name"].as_str().unwrap().to_string();
            let hash = item["file"]["hashes"]["quickXorHash"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(
                onedrive
                    .insert((name.clone(), file.clone()), hash)
                    .is_none(),
                "OneDrive has {name}/{file} twice"
            );
        }
    }
    assert_eq!(
        onedrive, qxh,
        "OneDrive's files differ from the files seeded"
    );
}

fn cli(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_odoo365"));
    cmd.arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env_remove("ODOO365_PROFILE")
        .env_remove(odoo365_app::sync::CRASH_AFTER_ENV)
        .env("ODOO365_LOG", "warn")
        .env("BROWSER", dir.join("browser.sh"))
        .env(BROWSER_LOGIN_ENV, ALICE);
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
    // Plays the person on the emulator's sign-in page (as in the golden tests).
    write_browser_script(dir).unwrap();
    let add = profile_add_args("crash", &sim.odoo, "odoo", &sim.graph, &sim.identity);
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    let out = run(cli(dir, &add), &format!("{}\n", p.odoo_key));
    assert!(out.status.success(), "{out:?}");
    let out = run(cli(dir, &["login"]), "");
    assert!(out.status.success(), "{out:?}");
}

/// The writes the first sync plans, from a dry run (`sync --dry-run --json`, which writes
/// nothing): the calendar plan's creates, updates, deletes and responses on both sides,
/// plus one per planned file operation. A lower bound of the writes the sync makes (record
/// folders and chatter notes come on top), so kills aimed within it land while the sync
/// is still writing.
fn planned_writes(dir: &Path) -> u64 {
    let out = run(cli(dir, &["sync", "--dry-run", "--json"]), "");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "the dry run printed no report: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let counts = &v["report"]["plan"]["counts"];
    let calendar: u64 = ["odoo", "microsoft"]
        .iter()
        .flat_map(|side| ["creates", "updates", "deletes", "responses"].map(|k| &counts[side][k]))
        .filter_map(Value::as_u64)
        .sum();
    let files: u64 = v["files"]["planned"].as_array().map_or(0, |p| {
        p.iter()
            .map(|f| f["ops"].as_array().map_or(1, Vec::len) as u64)
            .sum()
    });
    eprintln!("crash test: the first sync plans {calendar} calendar and {files} file writes");
    assert!(calendar + files > 0, "the dry run planned nothing: {v}");
    calendar + files
}

/// The CLI's data directory (its store, logs and last report): removed when the test
/// passes, kept and named when it fails, so the store a failing run left behind can be
/// opened (`sqlite3 <dir>/data/…`) and the failing sync replayed against it.
struct DataDir(tempfile::TempDir);

impl DataDir {
    fn new() -> DataDir {
        DataDir(
            tempfile::Builder::new()
                .prefix("odoo365-crash-")
                .tempdir()
                .unwrap(),
        )
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        // Runs while a failed assertion unwinds; the TempDir field is dropped after this.
        if std::thread::panicking() {
            self.0.disable_cleanup(true);
            eprintln!(
                "crash test failed: its data dir is kept at {}",
                self.0.path().display()
            );
        }
    }
}

/// How the killed runs ended.
#[derive(Debug, Default)]
struct Tally {
    killed: u64,
    /// Kills of a run that had made at least one API write (and had not finished).
    during_writes: u64,
    finished_before_kill: u64,
    runs: u64,
}

/// A sync's JSON report says nothing is left to do (no job waiting, none failed).
fn is_quiet(v: &Value) -> bool {
    v["report"]["jobs_waiting"] == 0
        && v["report"]["failed"] == json!([])
        && v["files"]["jobs_waiting"].as_u64().unwrap_or(0) == 0
        && v["files"]["failed"].as_array().is_none_or(Vec::is_empty)
}

/// One line per run, as it ends: the full test takes long, and a line per kill shows that it
/// moves and where its time goes.
fn progress(tally: &Tally, kills: u64, log: &[String], started: Instant) {
    if let Some(last) = log.last() {
        eprintln!(
            "crash test: run {} ({}/{kills} killed, {:.0?}): {last}",
            tally.runs,
            tally.killed,
            started.elapsed()
        );
    }
}

#[test]
fn kill_9_at_random_moments_during_a_first_sync_leaves_no_duplicate_and_no_loss() {
    if !keychain_available() {
        return;
    }
    let kills = env_or("CRASH_KILLS", 10);
    let events = env_or("CRASH_EVENTS", 200) as usize;
    let files = env_or("CRASH_FILES", 40) as usize;
    let seed = env_or("CRASH_SEED", 9);
    let started = Instant::now();
    let sim = Sim::start(seed);
    let p = people(&sim);
    let collections = [Collection::Events(events), Collection::Files(files)];
    for c in &collections {
        c.seed(&sim, &p);
    }
    let dir = DataDir::new();
    setup(dir.path(), &sim, &p);
    if files > 0 {
        let out = run(
            cli(dir.path(), &["profile", "set", "crash", "documents=true"]),
            "",
        );
        assert!(out.status.success(), "{out:?}");
    }

    let mut watch = WriteWatch::default();
    let expected_writes = planned_writes(dir.path());
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let mut kill_log = Vec::new();
    // Once a run finishes the first sync, later kills can only hit quiet cycles (still
    // worth doing: a crash during a no-op cycle must stay a no-op), timed within the
    // length of that run.
    let mut synced_in: Option<Duration> = None;
    let report = dir.path().join("report.json");
    // Writes are counted from here: seeding wrote too.
    let start = watch.api_writes(&sim);
    while tally.killed < kills {
        tally.runs += 1;
        assert!(
            tally.runs <= kills * 3 + 10,
            "the sync keeps finishing before its kill: {tally:?}"
        );
        let base = watch.api_writes(&sim);
        let kills_left = kills - tally.killed;
        // Kill after 1..=2·(writes left / kills left) further writes: on average the kills
        // walk evenly through the writes the first sync still has to make.
        let left = expected_writes.saturating_sub(base - start).max(kills_left);
        let target = 1 + rng.below(2 * left / kills_left);
        let by_time = synced_in.is_some() || rng.below(10) == 0;
        let delay = match synced_in {
            Some(d) => Duration::from_millis(rng.below(d.as_millis() as u64 + 1)),
            None => Duration::from_millis(rng.below(300)),
        };
        // The kill comes a little after its moment: between two writes or during one.
        let extra = Duration::from_micros(rng.below(3_000));
        let mut child = cli(dir.path(), &["sync", "--yes", "--json"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&report).unwrap())
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
                watch.api_writes(&sim) >= base + target
            };
            if due {
                std::thread::sleep(extra);
                break None;
            }
            // Two control requests a poll: often enough to hit between two writes, rarely
            // enough to leave the machine to the CLI and the emulators.
            std::thread::sleep(Duration::from_millis(5));
        };
        match finished {
            None => {
                // SIGKILL: no destructor, no flush, as a power cut or the OOM killer.
                child.kill().unwrap();
                let status = child.wait().unwrap();
                let wrote = watch.api_writes(&sim) - base;
                if status.code().is_some() {
                    // It had exited by itself just before the kill.
                    tally.finished_before_kill += 1;
                } else {
                    tally.killed += 1;
                    if wrote > 0 && synced_in.is_none() {
                        tally.during_writes += 1;
                    }
                }
                kill_log.push(format!(
                    "{} after {} ms, {wrote} writes (of {} so far)",
                    if by_time { "time" } else { "writes" },
                    t0.elapsed().as_millis(),
                    base + wrote - start
                ));
                progress(&tally, kills, &kill_log, started);
            }
            Some(status) => {
                tally.finished_before_kill += 1;
                kill_log.push(format!("finished ({status}) before its kill"));
                progress(&tally, kills, &kill_log, started);
                let v: Value = std::fs::read(&report)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                // The kills after the first sync aim within a quiet cycle, which is far
                // shorter than the run that finished the first sync: the shortest finished
                // run is the best measure of it (with the first run's length, nearly every
                // later run finished before its kill).
                if status.success() && is_quiet(&v) {
                    let took = t0.elapsed();
                    synced_in = Some(synced_in.map_or(took, |d| d.min(took)));
                }
            }
        }
    }
    eprintln!(
        "crash test: {tally:?}, {} API writes by the kills, in {:?}",
        watch.api_writes(&sim) - start,
        started.elapsed()
    );
    for l in &kill_log {
        eprintln!("  {l}");
    }
    // Kills aimed by writes land while the run writes; only the one run in ten killed by
    // time early on (or after the first sync finished) may miss.
    assert!(
        tally.during_writes * 4 >= tally.killed * 3,
        "too few kills landed during writes: {tally:?}"
    );

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
        assert!(
            v["files"]["failed"].as_array().is_none_or(Vec::is_empty),
            "{v}"
        );
        let done = v["report"]["jobs_done"].as_u64().unwrap_or(0)
            + v["files"]["jobs_done"].as_u64().unwrap_or(0);
        if done == 0 && is_quiet(&v) {
            quiet = true;
            break;
        }
    }
    assert!(quiet, "sync never became quiet after the crashes");
    eprintln!(
        "crash test: the first sync made {} API writes in all ({expected_writes} planned)",
        watch.api_writes(&sim) - start
    );
    for c in &collections {
        c.check(&sim, &p);
    }
    // And a cycle after that writes nothing on either side.
    let before = watch.api_writes(&sim);
    let out = run(cli(dir.path(), &["sync", "--json"]), "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(watch.api_writes(&sim), before, "a quiet cycle wrote");
    eprintln!("crash test: done in {:?}", started.elapsed());
}
