//! Documents benchmark: the file engine with the real adapters (`GraphDrive`, `OdooFiles`)
//! against both emulators on loopback.
//!
//! ```sh
//! cargo bench -p odoo365-app --bench files
//! # BENCH_FILES=1000 BENCH_BIG_MIB=1024 cargo bench -p odoo365-app --bench files
//! ```
//!
//! The emulators run in this process and keep every byte in memory, so the sync itself
//! runs in a child process (this binary again, `BENCH_FILES_CHILD` set) whose peak RSS
//! (`VmHWM`) is compared with its RSS once connected and idle. Figures:
//!
//! 1. `BENCH_FILES` attachments of mixed sizes (70 % 10 KiB, 20 % 200 KiB, 9 % 1 MiB,
//!    1 % 6 MiB, the last above the 4 MiB simple-upload threshold) on 100 records, first
//!    sync Odoo → OneDrive: files/s, MB/s, requests per file;
//! 2. a no-op cycle right after: requests and writes;
//! 3. one file of `BENCH_BIG_MIB` MiB: throughput and peak RSS growth over idle.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use odoo365_app::file_ports::{GraphDrive, OdooFiles};
use odoo365_engine::files::FileConfig;
use odoo365_engine::{FileSync, Store, SyncOptions, SystemClock};
use odoo365_graph::{GraphClient, GraphConfig, Seams, StaticToken};
use odoo365_odoo::{ApiKey, OdooClient, OdooConfig};
use odoo365_testkit::graph::{DriveType, GraphConfig as GraphEmuConfig, GraphEmulator};
use odoo365_testkit::odoo::{NewApiKey, NewUser, OdooConfig as OdooEmuConfig, OdooEmulator, Ret};
use serde_json::{json, Value};

const ALICE: &str = "alice@contoso.com";
const CHILD: &str = "BENCH_FILES_CHILD";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The child: connects, reports its idle RSS, runs cycles until nothing is left to do,
/// then a no-op cycle, and prints one JSON line.
async fn child(spec: Value) {
    let mut gcfg = GraphConfig::with_base_url(
        format!("{}/", spec["graph"].as_str().unwrap())
            .parse()
            .unwrap(),
    );
    gcfg.request_timeout = Duration::from_secs(600);
    gcfg.rate_requests = 1_000_000;
    let graph = GraphClient::new(
        gcfg,
        Seams {
            tokens: Arc::new(StaticToken::new(spec["token"].as_str().unwrap())),
            clock: Arc::new(odoo365_graph::SystemClock),
            jitter_seed: 1,
            budget: None,
        },
    )
    .unwrap();
    let mut ocfg = OdooConfig::new(
        spec["odoo"].as_str().unwrap().parse().unwrap(),
        "alice",
        ApiKey::new(spec["key"].as_str().unwrap().to_string()),
    );
    ocfg.database = Some("odoo".into());
    ocfg.timeout = Duration::from_secs(600);
    ocfg.requests_per_second = 100_000.0;
    ocfg.requests_burst = 100_000;
    let odoo = OdooClient::connect(ocfg).await.unwrap();
    let dir = std::path::PathBuf::from(spec["dir"].as_str().unwrap());
    let store = Store::open(&dir.join("sync.db")).unwrap();
    store
        .put_profile("bench", "bench", "{}", "2026-11-23T00:00:00Z")
        .unwrap();
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let cfg = FileConfig::new("bench", spool);
    let mut files = FileSync::new(
        store,
        cfg,
        Arc::new(GraphDrive::new(&graph, None)),
        Arc::new(OdooFiles::new(Arc::new(odoo))),
        Arc::new(SystemClock),
    )
    .unwrap();
    let idle_kib = status_kib("VmRSS:");
    let started = Instant::now();
    let mut done = 0;
    let mut cycles = 0;
    loop {
        let r = files
            .sync(SyncOptions {
                dry_run: false,
                confirm: true,
            })
            .await
            .unwrap();
        cycles += 1;
        done += r.jobs_done;
        assert!(r.failed.is_empty(), "{:?}", r.failed);
        if r.jobs_waiting == 0 || cycles > 50 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let peak_kib = status_kib("VmHWM:");
    // Tell the parent to mark the request logs, then run the no-op cycle.
    println!("{}", json!({"phase": "synced"}));
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let noop = files
        .sync(SyncOptions {
            dry_run: false,
            confirm: true,
        })
        .await
        .unwrap();
    println!(
        "{}",
        json!({"phase": "done", "secs": secs, "jobs": done, "cycles": cycles, "idle_kib": idle_kib,
               "peak_kib": peak_kib, "noop_jobs": noop.jobs_done, "noop_planned": noop.planned.len()})
    );
}

struct World {
    graph: odoo365_testkit::graph::RunningGraph,
    odoo: odoo365_testkit::odoo::RunningOdoo,
    key: String,
    uid: i64,
}

async fn world() -> World {
    let graph = GraphEmulator::start(GraphEmuConfig {
        seed: 1,
        access_token_lifetime_s: Some(86_400),
        ..Default::default()
    })
    .await
    .unwrap();
    graph
        .emulator
        .create_user(ALICE, "Alice", DriveType::Business);
    let mut limits = graph.emulator.limits();
    limits.requests_per_window = u32::MAX / 4;
    limits.concurrent = 1_000;
    graph.emulator.set_limits(limits);
    let odoo = OdooEmulator::start(OdooEmuConfig {
        seed: 1,
        body_limit: 4 << 30,
        ..OdooEmuConfig::default()
    })
    .await
    .unwrap();
    let user = odoo
        .emulator
        .create_user(NewUser {
            email: Some(ALICE.into()),
            ..NewUser::internal("alice")
        })
        .unwrap();
    let key = odoo
        .emulator
        .create_api_key(user.uid, NewApiKey::default())
        .unwrap();
    World {
        graph,
        odoo,
        key,
        uid: user.uid,
    }
}

impl World {
    fn exec(&self, model: &str, method: &str, kwargs: Value) -> Value {
        let Value::Object(k) = kwargs else { panic!() };
        match self
            .odoo
            .emulator
            .execute(self.uid, model, method, &[], k)
            .unwrap()
        {
            Ret::Value(v) => v,
            Ret::Records(ids) | Ret::Created { ids, .. } => json!(ids),
            Ret::One(id) => json!(id),
        }
    }

    fn record(&self) -> i64 {
        let p = self.exec(
            "res.partner",
            "create",
            json!({"vals_list": [{"name": "C"}]}),
        )[0]
        .as_i64()
        .unwrap();
        self.exec(
            "sale.order",
            "create",
            json!({"vals_list": [{"partner_id": p}]}),
        )[0]
        .as_i64()
        .unwrap()
    }

    fn attach(&self, res_id: i64, name: &str, len: usize, seed: u32) {
        let bytes: Vec<u8> = (0..len as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
            .collect();
        let datas = base64::engine::general_purpose::STANDARD.encode(&bytes);
        drop(bytes);
        self.exec(
            "ir.attachment",
            "create",
            json!({"vals_list": [{"name": name, "res_model": "sale.order", "res_id": res_id, "datas": datas}]}),
        );
    }

    fn requests(&self) -> (usize, usize) {
        (
            self.graph.emulator.request_log().snapshot().len(),
            self.odoo.emulator.request_log().snapshot().len(),
        )
    }

    /// Runs the child; returns its final report and the requests of the sync and of the
    /// no-op cycle.
    async fn run_child(&self) -> (Value, (usize, usize), (usize, usize)) {
        let dir = tempfile::tempdir().unwrap();
        let spec = json!({
            "graph": self.graph.graph_url,
            "token": self.graph.emulator.mint_token(ALICE).unwrap(),
            "odoo": self.odoo.url,
            "key": self.key,
            "dir": dir.path(),
        });
        let before = self.requests();
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .env(CHILD, spec.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stdin = child.stdin.take().unwrap();
        let mut synced = before;
        let mut last = Value::Null;
        while let Some(line) = out.next_line().await.unwrap() {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["phase"] == "synced" {
                synced = self.requests();
                stdin.write_all(b"go\n").await.unwrap();
            } else if v["phase"] == "done" {
                last = v;
            }
        }
        assert!(child.wait().await.unwrap().success());
        let after = self.requests();
        (
            last,
            (synced.0 - before.0, synced.1 - before.1),
            (after.0 - synced.0, after.1 - synced.1),
        )
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(spec) = std::env::var(CHILD) {
        rt.block_on(child(serde_json::from_str(&spec).unwrap()));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env_num("BENCH_FILES", 1000) as usize;
    let big_mib = env_num("BENCH_BIG_MIB", 1024) as usize;
    rt.block_on(async {
        // 1 and 2: many files of mixed sizes, then a no-op cycle.
        let w = world().await;
        let records: Vec<i64> = (0..100).map(|_| w.record()).collect();
        let mut bytes = 0u64;
        for i in 0..n {
            let len = match i % 100 {
                0 => 6 << 20,
                1..=9 => 1 << 20,
                10..=29 => 200 << 10,
                _ => 10 << 10,
            };
            bytes += len as u64;
            w.attach(records[i % records.len()], &format!("file-{i}.bin"), len, i as u32);
        }
        let (r, sync_req, noop_req) = w.run_child().await;
        let secs = r["secs"].as_f64().unwrap();
        println!("## files: {n} attachments, {:.1} MB, Odoo → OneDrive first sync", bytes as f64 / 1e6);
        println!(
            "time {secs:.2} s, {:.0} files/s, {:.1} MB/s, {:.2} requests/file (Graph {}, Odoo {}), jobs {}, cycles {}",
            n as f64 / secs,
            bytes as f64 / 1e6 / secs,
            (sync_req.0 + sync_req.1) as f64 / n as f64,
            sync_req.0,
            sync_req.1,
            r["jobs"],
            r["cycles"],
        );
        println!(
            "peak RSS {} MiB (idle {} MiB)",
            r["peak_kib"].as_u64().unwrap() / 1024,
            r["idle_kib"].as_u64().unwrap() / 1024
        );
        println!(
            "no-op cycle: {} requests (Graph {}, Odoo {}), writes {}, planned {}",
            noop_req.0 + noop_req.1,
            noop_req.0,
            noop_req.1,
            r["noop_jobs"],
            r["noop_planned"]
        );
        drop(w);

        // 3: one big file.
        if big_mib > 0 {
            let w = world().await;
            let rec = w.record();
            w.attach(rec, "big.bin", big_mib << 20, 7);
            let (r, sync_req, _) = w.run_child().await;
            let secs = r["secs"].as_f64().unwrap();
            let idle = r["idle_kib"].as_u64().unwrap();
            let peak = r["peak_kib"].as_u64().unwrap();
            println!("## one file of {big_mib} MiB, Odoo → OneDrive");
            println!(
                "time {secs:.2} s, {:.1} MB/s, requests {} (Graph {}, Odoo {}), peak RSS {} MiB, idle {} MiB, growth {} MiB",
                (big_mib << 20) as f64 / 1e6 / secs,
                sync_req.0 + sync_req.1,
                sync_req.0,
                sync_req.1,
                peak / 1024,
                idle / 1024,
                (peak.saturating_sub(idle)) / 1024
            );
        }
    });
}
