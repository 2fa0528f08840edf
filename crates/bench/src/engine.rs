//! The engine alone (scenario `engine`): a first sync of N events through the engine's
//! in-memory ports (`odoo365_engine::testing::FakeGraph`/`FakeOdoo`: no network, no
//! latency, no pacing), so its wall time is the engine's own work (planning, mapping,
//! hashing, the store's transactions) and the figure answers "is the engine ever the
//! bottleneck?" (issue 6: ≥ 1,000 events/s, ≤ 1 ms CPU per event). Run in a child process
//! (`odoo365-bench child engine`) so its CPU time and peak RSS are the engine's alone.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Context};
use chrono::Duration;
use serde::Serialize;
use serde_json::{json, Value};

use odoo365_engine::testing::{FakeGraph, FakeOdoo};
use odoo365_engine::{Engine, EngineConfig, Store, SyncOptions, SystemClock};
use odoo365_sync_core::Event;

use crate::measure;
use crate::world::event_times;

const ME: &str = "alice@contoso.com";
const EVENTS_ENV: &str = "BENCH_ENGINE_EVENTS";

/// What the engine-only first sync measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EngineOnly {
    pub events: usize,
    pub wall_s: f64,
    pub events_per_s: f64,
    pub cpu_ms: f64,
    pub cpu_ms_per_event: f64,
    pub cycles: usize,
    /// Calls through the ports, reads included.
    pub graph_calls: usize,
    pub odoo_calls: usize,
    pub odoo_batches: usize,
    pub peak_rss_mib: f64,
}

/// The harness side: runs the child and reads its line.
pub fn scenario(events: usize) -> anyhow::Result<EngineOnly> {
    eprintln!("bench: the engine alone, first sync of {events} events (in-memory ports)");
    let exe = std::env::current_exe().context("locating odoo365-bench")?;
    let out = Command::new(exe)
        .args(["child", "engine"])
        .env(EVENTS_ENV, events.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("starting the engine child")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "the engine child failed: {:?}\n{text}",
        out.status
    );
    let v: Value = serde_json::from_str(text.lines().last().unwrap_or_default())
        .with_context(|| format!("the engine child printed {text:?}"))?;
    let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
    let n = |k: &str| v[k].as_u64().unwrap_or(0) as usize;
    let wall_s = f("wall_ms") / 1000.0;
    Ok(EngineOnly {
        events,
        wall_s,
        events_per_s: events as f64 / wall_s.max(1e-9),
        cpu_ms: f("cpu_ms"),
        cpu_ms_per_event: f("cpu_ms") / events.max(1) as f64,
        cycles: n("cycles"),
        graph_calls: n("graph_calls"),
        odoo_calls: n("odoo_calls"),
        odoo_batches: n("odoo_batches"),
        peak_rss_mib: v["hwm_kib"].as_f64().unwrap_or(0.0) / 1024.0,
    })
}

/// Whether the child was asked for the engine phase (it needs no emulator).
pub fn events_from_env() -> Option<usize> {
    std::env::var(EVENTS_ENV).ok()?.parse().ok()
}

/// The child side: seeds the fakes (half the events in Odoo, half in Outlook, as the
/// emulator scenario does), then times the cycles of a confirmed first sync until one
/// has nothing left to do, and checks that every event is on both sides once.
pub async fn child(events: usize) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("sync.db"))?;
    store.put_profile("bench", "bench", "{}", "2026-11-23T00:00:00Z")?;
    let (graph, odoo) = (FakeGraph::new(ME), FakeOdoo::new(ME));
    for i in 0..events {
        let (title, start) = event_times(i);
        let e = Event::timed(&title, start, start + Duration::minutes(30)).normalized();
        if i % 2 == 0 {
            odoo.user_create(&e);
        } else {
            graph.user_create(&e, None);
        }
    }
    let mut engine = Engine::new(
        store,
        EngineConfig::new("bench", ME),
        Arc::new(graph.clone()),
        Arc::new(odoo.clone()),
        Arc::new(SystemClock),
    )?;
    let (g0, o0) = (graph.calls(), odoo.calls());
    let (cpu0, t0) = (measure::process_cpu_ms()?, Instant::now());
    let mut cycles = 0;
    loop {
        cycles += 1;
        let r = engine
            .sync(SyncOptions {
                dry_run: false,
                confirm: true,
            })
            .await?;
        if r.jobs_done == 0 {
            break;
        }
        ensure!(cycles < 10, "the first sync did not settle in 10 cycles");
    }
    let wall_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let cpu_ms = measure::process_cpu_ms()? - cpu0;
    ensure!(
        graph.events().len() == events && odoo.active().len() == events,
        "after the first sync Outlook holds {} and Odoo {} events, expected {events} each",
        graph.events().len(),
        odoo.active().len()
    );
    let (_, hwm) = measure::rss_kib()?;
    Ok(
        json!({"phase": "engine", "wall_ms": wall_ms, "cpu_ms": cpu_ms, "cycles": cycles,
              "graph_calls": graph.calls() - g0, "odoo_calls": odoo.calls() - o0,
              "odoo_batches": odoo.batches(), "hwm_kib": hwm}),
    )
}
