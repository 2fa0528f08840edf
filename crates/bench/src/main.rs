//! `odoo365-bench`: runs the scenarios, prints one table, and with `--write` puts it into
//! `docs/BENCHMARKS.md`. `odoo365-bench child PHASE` is the engine side of one scenario.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use odoo365_bench::report;
use odoo365_bench::scenarios::{self, Options};
use odoo365_testkit::graph::Limits;

#[derive(Debug, Parser)]
#[command(
    name = "odoo365-bench",
    about = "Benchmarks of the engine against both emulators"
)]
struct Args {
    #[command(subcommand)]
    child: Option<Child>,
    /// Events of the first sync (half start in Odoo, half in Outlook)
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Which scenarios: engine, first-sync, noop, changed, latency, throttled (noop, changed
    /// and latency need first-sync; engine is the engine alone on in-memory ports), files
    /// (documents: --files, --big-file-mib)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "engine,first-sync,noop,changed,latency,throttled,files"
    )]
    scenarios: Vec<String>,
    #[command(flatten)]
    files: odoo365_bench::files::FileArgs,
    /// Full throttling windows (10,000 Graph requests per 600 s each) the throttled run spans
    #[arg(long, default_value_t = 2)]
    throttled_windows: u32,
    /// Scale the throttled run's mailbox limit down to N requests per 60 s (smoke runs);
    /// without it the emulator's default limits apply
    #[arg(long)]
    throttled_limit: Option<u32>,
    /// The daemon's polling interval in the latency scenario. At least 10 s by default: the
    /// Odoo client paces itself (1 request/s, burst 10) and a cycle that syncs one change
    /// asks Odoo about 7 times, so at shorter intervals the bucket never refills and both
    /// modes measure the pacing, not the wait for the next poll
    #[arg(long, default_value_t = 10_000)]
    interval_ms: u64,
    /// Events edited on each side before the incremental cycle of the `changed` scenario
    #[arg(long, default_value_t = 100)]
    changed_items: usize,
    /// Edits whose change-to-sync latency is measured (alternating Odoo and Outlook)
    #[arg(long, default_value_t = 6)]
    latency_edits: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output of `cargo bench -p odoo365-testkit`, whose figures join the table
    #[arg(long)]
    emulator_figures: Option<PathBuf>,
    /// Write the table into this Markdown file's generated section
    #[arg(long)]
    write: Option<PathBuf>,
    /// Write every measured value as JSON here
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Child {
    /// The engine side of one scenario (started by the harness)
    #[command(hide = true)]
    Child { phase: String },
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{cpus} CPU(s), {model}")
}

fn main() -> anyhow::Result<()> {
    if let Some(files_child) = odoo365_bench::files::child_hook() {
        return files_child;
    }
    let args = Args::parse();
    if let Some(Child::Child { phase }) = &args.child {
        return odoo365_bench::child::run(phase);
    }
    let known = [
        "engine",
        "first-sync",
        "noop",
        "changed",
        "latency",
        "throttled",
        "files",
    ];
    for s in &args.scenarios {
        anyhow::ensure!(
            known.contains(&s.as_str()),
            "unknown scenario {s:?}; known: {known:?}"
        );
    }
    let opts = Options {
        events: args.events,
        throttled_windows: args.throttled_windows.max(1),
        throttled_limits: match args.throttled_limit {
            Some(n) => Limits {
                requests_per_window: n.max(1),
                window_s: 60,
                ..Limits::default()
            },
            None => Limits::default(),
        },
        latency_edits: args.latency_edits,
        changed_items: args.changed_items,
        interval_ms: args.interval_ms.max(1),
        seed: args.seed,
        scenarios: args.scenarios.clone(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let results = rt.block_on(scenarios::run(&opts))?;
    let mut rows = report::rows(&opts, &results);
    if opts.wants("files") {
        rows.extend(rt.block_on(odoo365_bench::files::rows(&args.files))?);
    }
    if let Some(path) = &args.emulator_figures {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        rows.extend(report::emulator_rows(&text));
    }
    println!("{}", report::table(&rows));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.write {
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let section = report::section(&rows, &machine());
        std::fs::write(path, report::splice(&doc, &section))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.pass == Some(false))
        .map(|r| r.figure.as_str())
        .collect();
    if !failed.is_empty() {
        eprintln!("bench: targets missed: {}", failed.join("; "));
    }
    Ok(())
}
