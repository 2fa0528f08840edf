//! Documents figures (issue 7) for the one `make bench` table: the file engine
//! ([`FileSync`]) with the app's real adapters (`GraphDrive`, `OdooFiles`) against both
//! emulators on loopback, Odoo → OneDrive.
//!
//! 1. **First sync of `--files` attachments** of mixed sizes on 100 sale orders (70 %
//!    10 KiB, 20 % 200 KiB, 9 % 1 MiB, 1 % 6 MiB — the last above the 4 MiB simple-upload
//!    threshold, so through upload sessions and the large lane): files/s, MB/s, requests
//!    per file (both emulators' request logs), then a no-op cycle (requests, writes).
//! 2. **One file of `--big-file-mib` MiB**: throughput and the peak RSS growth of the
//!    syncing process over its idle RSS (target: under 64 MiB). The file is generated in a
//!    temp dir in chunks and seeded through the Odoo client's streamed upload, so neither
//!    this harness nor the engine ever holds it; the emulators do (they keep every byte in
//!    memory), which is why the engine runs in a child process whose `VmHWM` is its own.
//!
//! The child is this binary again, told by [`CHILD_ENV`] (see [`child_hook`]). The Odoo
//! client's polite pacing (1 request/s, odoo.md §7) is lifted in the child, as in the
//! calendar scenarios: the figures are the engine's and the adapters', not a policy's.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use serde_json::{json, Value};

use odoo365_app::file_ports::{GraphDrive, OdooFiles};
use odoo365_engine::files::FileConfig;
use odoo365_engine::{FileSync, Store, SyncOptions, SystemClock};
use odoo365_graph::{GraphClient, GraphConfig, Seams, StaticToken};
use odoo365_odoo::{ApiKey, AttachmentFile, OdooClient, OdooConfig, WriteOrigin};
use odoo365_testkit::fixture::{Emulators, ALICE};
use odoo365_testkit::graph::GraphConfig as GraphEmuConfig;
use odoo365_testkit::odoo::OdooConfig as OdooEmuConfig;

use crate::measure;
use crate::report::Row;
use crate::world::UNLIMITED;

/// Set in the child's environment to the JSON spec of its run.
pub const CHILD_ENV: &str = "ODOO365_BENCH_FILES_CHILD";
/// Peak RSS growth target of the large file (issue 7).
const BIG_GROWTH_TARGET_MIB: u64 = 64;

/// The documents scenarios' options (flattened into `odoo365-bench`'s arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct FileArgs {
    /// Attachments of mixed sizes in the documents first sync (0 skips it)
    #[arg(long = "files", default_value_t = 1_000)]
    pub files: usize,
    /// MiB of the one large file whose peak RSS growth is measured (0 skips it)
    #[arg(long = "big-file-mib", default_value_t = 1_024)]
    pub big_file_mib: u64,
}

impl FileArgs {
    fn command(&self) -> String {
        format!(
            "cargo run --release -p odoo365-bench -- --scenarios files --files {} --big-file-mib {}",
            self.files, self.big_file_mib
        )
    }
}

/// In the child process (when [`CHILD_ENV`] is set): runs the child and returns its
/// result; `None` in the harness.
pub fn child_hook() -> Option<anyhow::Result<()>> {
    let spec = std::env::var(CHILD_ENV).ok()?;
    Some((|| {
        let spec: Value = serde_json::from_str(&spec).context("the files child's spec")?;
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(child(&spec))
    })())
}

fn unpaced_odoo_config(url: &str, key: &str) -> anyhow::Result<OdooConfig> {
    let mut cfg = OdooConfig::new(url.parse()?, ALICE, ApiKey::new(key.to_string()));
    cfg.database = Some("odoo".into());
    cfg.timeout = Duration::from_secs(1_800);
    cfg.requests_per_second = 1e9;
    cfg.requests_burst = u32::MAX;
    Ok(cfg)
}

/// The engine side: connects, notes its idle RSS, runs cycles until no job waits, then
/// (after the parent marked the request logs) one no-op cycle; prints one JSON line.
async fn child(spec: &Value) -> anyhow::Result<()> {
    let s = |k: &str| -> anyhow::Result<&str> {
        spec[k]
            .as_str()
            .with_context(|| format!("{k} missing from the child's spec"))
    };
    let mut gcfg = GraphConfig::with_base_url(format!("{}/", s("graph")?).parse()?);
    gcfg.request_timeout = Duration::from_secs(1_800);
    let graph = GraphClient::new(
        gcfg,
        Seams {
            tokens: Arc::new(StaticToken::new(s("token")?)),
            clock: Arc::new(odoo365_graph::SystemClock),
            jitter_seed: 1,
            budget: None,
        },
    )?;
    let odoo = OdooClient::connect(unpaced_odoo_config(s("odoo")?, s("key")?)?).await?;
    let dir = PathBuf::from(s("dir")?);
    let store = Store::open(&dir.join("sync.db"))?;
    store.put_profile("bench", "bench", "{}", "2026-11-23T00:00:00Z")?;
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool)?;
    let mut files = FileSync::new(
        store,
        FileConfig::new("bench", spool),
        Arc::new(GraphDrive::new(&graph, None)),
        Arc::new(OdooFiles::new(Arc::new(odoo))),
        Arc::new(SystemClock),
    )?;
    let (idle_kib, _) = measure::rss_kib()?;
    let confirmed = SyncOptions {
        dry_run: false,
        confirm: true,
    };
    let started = Instant::now();
    let (mut jobs, mut cycles) = (0, 0);
    loop {
        let r = files.sync(confirmed).await?;
        cycles += 1;
        jobs += r.jobs_done;
        ensure!(r.failed.is_empty(), "files failed: {:?}", r.failed);
        if r.jobs_waiting == 0 {
            break;
        }
        ensure!(cycles < 50, "jobs still waiting after {cycles} cycles");
    }
    let secs = started.elapsed().as_secs_f64();
    let (_, peak_kib) = measure::rss_kib()?;
    println!("{}", json!({"phase": "synced"}));
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let noop = files.sync(confirmed).await?;
    println!(
        "{}",
        json!({"phase": "done", "secs": secs, "jobs": jobs, "cycles": cycles,
               "idle_kib": idle_kib, "peak_kib": peak_kib,
               "noop_jobs": noop.jobs_done, "noop_planned": noop.planned.len()})
    );
    Ok(())
}

/// Both emulators, Alice in each, and her Odoo client (unpaced) for seeding.
struct World {
    graph: odoo365_testkit::graph::RunningGraph,
    odoo: odoo365_testkit::odoo::RunningOdoo,
    key: String,
    client: OdooClient,
    dir: tempfile::TempDir,
}

/// What a child run measured, with the requests of the sync and of the no-op cycle.
struct ChildRun {
    report: Value,
    sync: (usize, usize),
    noop: (usize, usize),
    noop_writes: usize,
}

impl World {
    async fn start() -> anyhow::Result<World> {
        let Emulators {
            graph,
            odoo,
            alice_key: key,
            ..
        } = Emulators::start(
            GraphEmuConfig {
                seed: 1,
                access_token_lifetime_s: Some(86_400),
                limits: UNLIMITED,
                ..Default::default()
            },
            OdooEmuConfig {
                seed: 1,
                // A 1 GiB attachment is a 1.4 GB JSON body.
                body_limit: 4 << 30,
                ..OdooEmuConfig::default()
            },
        )
        .await?;
        // The harness seeds the large file too: the client's 64 MiB upload cap (a guard of
        // the app's own uploads) does not apply to the person's attachments.
        let mut seeding = unpaced_odoo_config(&odoo.url, &key)?;
        seeding.upload_len_max = u64::MAX;
        let client = OdooClient::connect(seeding).await?;
        Ok(World {
            graph,
            odoo,
            key,
            client,
            dir: tempfile::tempdir()?,
        })
    }

    async fn sale_order(&self) -> anyhow::Result<i64> {
        let mut vals = serde_json::Map::new();
        vals.insert("name".into(), json!("Bench customer"));
        let partner = self
            .client
            .create_one("res.partner", vals, WriteOrigin::App)
            .await?;
        let mut vals = serde_json::Map::new();
        vals.insert("partner_id".into(), json!(partner));
        Ok(self
            .client
            .create_one("sale.order", vals, WriteOrigin::App)
            .await?)
    }

    /// Writes `len` deterministic bytes to a file in chunks, then attaches it to the
    /// record through the client's streamed upload (the content is never in memory).
    async fn attach(&self, record: i64, name: &str, len: u64, seed: u64) -> anyhow::Result<()> {
        let path = self.dir.path().join("seed.bin");
        write_content(&path, len, seed)?;
        self.client
            .attachment_upload_file(
                &AttachmentFile {
                    name: name.into(),
                    res_model: "sale.order".into(),
                    res_id: record,
                    mimetype: None,
                    path: path.clone(),
                },
                WriteOrigin::App,
            )
            .await?;
        std::fs::remove_file(&path)?;
        Ok(())
    }

    fn odoo_writes(&self) -> u64 {
        self.odoo.emulator.writes()
    }

    fn requests(&self) -> (usize, usize) {
        (
            self.graph.emulator.request_log().len(),
            self.odoo.emulator.request_log().len(),
        )
    }

    async fn run_child(&self) -> anyhow::Result<ChildRun> {
        let dir = tempfile::tempdir()?;
        let spec = json!({
            "graph": self.graph.graph_url,
            "token": self.graph.emulator.mint_token(ALICE)?,
            "odoo": self.odoo.url,
            "key": self.key,
            "dir": dir.path(),
        });
        let before = self.requests();
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .env(CHILD_ENV, spec.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the files child")?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut stdin = child.stdin.take().context("child stdin")?;
        // The child's lines are read off the async workers (the emulators keep answering);
        // the marks are taken when it says its sync is done.
        let (glog, olog, counters) = (
            self.graph.emulator.request_log().clone(),
            self.odoo.emulator.request_log(),
            self.odoo.emulator.clone(),
        );
        let (synced, report, status) = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut synced = None;
            let mut report = Value::Null;
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line?;
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if v["phase"] == "synced" {
                    let writes = counters.writes();
                    synced = Some(((glog.len(), olog.len()), writes));
                    stdin.write_all(b"go\n")?;
                    stdin.flush()?;
                } else if v["phase"] == "done" {
                    report = v;
                }
            }
            anyhow::Ok((synced, report, child.wait()?))
        })
        .await??;
        ensure!(status.success(), "the files child failed: {status:?}");
        let (synced, odoo_writes) = synced.context("the files child never finished its sync")?;
        let after = self.requests();
        let graph_writes = self
            .graph
            .emulator
            .request_log()
            .since(synced.0 as u64)
            .iter()
            .filter(|r| r.is_write())
            .count();
        let noop_writes = graph_writes + (self.odoo_writes() - odoo_writes) as usize;
        Ok(ChildRun {
            report,
            sync: (synced.0 - before.0, synced.1 - before.1),
            noop: (after.0 - synced.0, after.1 - synced.1),
            noop_writes,
        })
    }
}

/// `len` bytes that do not compress or repeat within a fragment, written 1 MiB at a time.
fn write_content(path: &Path, len: u64, seed: u64) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut buf = Vec::with_capacity(1 << 20);
    let mut at = 0u64;
    while at < len {
        buf.clear();
        let n = (len - at).min(1 << 20);
        buf.extend((at..at + n).map(|i| {
            (i.wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(0x9e37_79b9))
                >> 13) as u8
        }));
        f.write_all(&buf)?;
        at += n;
    }
    f.flush()?;
    Ok(())
}

/// The size of the `i`-th file of the mixed set.
fn mixed_size(i: usize) -> u64 {
    match i % 100 {
        0 => 6 << 20,
        1..=9 => 1 << 20,
        10..=29 => 200 << 10,
        _ => 10 << 10,
    }
}

fn row(figure: String, measured: String, target: &str, pass: Option<bool>, command: &str) -> Row {
    Row {
        figure,
        measured,
        target: target.into(),
        pass,
        command: command.into(),
    }
}

/// Runs the documents scenarios the options ask for and returns their rows.
pub async fn rows(args: &FileArgs) -> anyhow::Result<Vec<Row>> {
    let cmd = args.command();
    let mut rows = Vec::new();
    if args.files > 0 {
        let n = args.files;
        let w = World::start().await?;
        let mut records = Vec::new();
        for _ in 0..100.min(n) {
            records.push(w.sale_order().await?);
        }
        let mut bytes = 0u64;
        for i in 0..n {
            let len = mixed_size(i);
            bytes += len;
            w.attach(
                records[i % records.len()],
                &format!("file-{i}.bin"),
                len,
                i as u64,
            )
            .await?;
        }
        eprintln!("bench: files: {n} attachments seeded ({bytes} bytes); first sync…");
        let run = w.run_child().await?;
        let r = &run.report;
        let secs = r["secs"].as_f64().context("secs")?;
        let jobs = r["jobs"].as_u64().unwrap_or(0);
        ensure!(
            jobs as usize >= n,
            "the files first sync finished {jobs} jobs for {n} files"
        );
        let per = (run.sync.0 + run.sync.1) as f64 / n as f64;
        rows.push(row(
            format!(
                "documents first sync of {n} files ({:.0} MB, mixed sizes): files/s, MB/s",
                bytes as f64 / 1e6
            ),
            format!(
                "{:.0} files/s, {:.1} MB/s ({secs:.1} s, {} cycle(s))",
                n as f64 / secs,
                bytes as f64 / 1e6 / secs,
                r["cycles"]
            ),
            "",
            None,
            &cmd,
        ));
        rows.push(row(
            "documents first sync: requests per file".into(),
            format!("{per:.2} (Graph {}, Odoo {})", run.sync.0, run.sync.1),
            "",
            None,
            &cmd,
        ));
        rows.push(row(
            "documents first sync: peak RSS (VmHWM) of the syncing process".into(),
            format!(
                "{:.1} MiB (idle {:.1} MiB)",
                r["peak_kib"].as_f64().unwrap_or(0.0) / 1024.0,
                r["idle_kib"].as_f64().unwrap_or(0.0) / 1024.0
            ),
            "",
            None,
            &cmd,
        ));
        let noop_ok = run.noop_writes == 0 && r["noop_jobs"] == 0 && r["noop_planned"] == 0;
        rows.push(row(
            format!("documents no-op cycle ({n} linked files): requests, writes"),
            format!(
                "{} requests (Graph {}, Odoo {}), {} writes, {} planned",
                run.noop.0 + run.noop.1,
                run.noop.0,
                run.noop.1,
                run.noop_writes,
                r["noop_planned"]
            ),
            "writes 0",
            Some(noop_ok),
            &cmd,
        ));
    }
    for r in &rows {
        eprintln!("bench: {}: {}", r.figure, r.measured);
    }
    if args.big_file_mib > 0 {
        let mib = args.big_file_mib;
        let w = World::start().await?;
        let rec = w.sale_order().await?;
        w.attach(rec, "big.bin", mib << 20, 7).await?;
        eprintln!("bench: files: one {mib} MiB attachment seeded; syncing…");
        let run = w.run_child().await?;
        let r = &run.report;
        let secs = r["secs"].as_f64().context("secs")?;
        let idle = r["idle_kib"].as_u64().unwrap_or(0);
        let peak = r["peak_kib"].as_u64().unwrap_or(0);
        let growth_mib = peak.saturating_sub(idle) as f64 / 1024.0;
        rows.push(row(
            format!("documents: one {mib} MiB file, Odoo → OneDrive: throughput"),
            format!(
                "{:.1} MB/s ({secs:.1} s, {} requests: Graph {}, Odoo {})",
                (mib << 20) as f64 / 1e6 / secs,
                run.sync.0 + run.sync.1,
                run.sync.0,
                run.sync.1
            ),
            "",
            None,
            &cmd,
        ));
        rows.push(row(
            format!("documents: one {mib} MiB file: peak RSS growth over idle"),
            format!(
                "{growth_mib:.1} MiB (peak {:.1} MiB, idle {:.1} MiB)",
                peak as f64 / 1024.0,
                idle as f64 / 1024.0
            ),
            &format!("< {BIG_GROWTH_TARGET_MIB} MiB"),
            Some(growth_mib < BIG_GROWTH_TARGET_MIB as f64),
            &cmd,
        ));
    }
    Ok(rows)
}
