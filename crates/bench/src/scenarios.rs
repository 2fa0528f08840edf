//! The measured scenarios, each engine run in its own child process.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};

use odoo365_testkit::graph::Limits;

use crate::world::{by_resource, World, UNLIMITED};

#[derive(Debug, Clone)]
pub struct Options {
    /// Events of the first sync (half start in Odoo, half in Outlook).
    pub events: usize,
    /// Full throttling windows the throttled scenario spans.
    pub throttled_windows: u32,
    /// The mailbox limits of the throttled scenario: the emulator's defaults, or smaller
    /// ones for the smoke run (the client's governor is configured alike).
    pub throttled_limits: Limits,
    pub latency_edits: usize,
    /// Events edited on each side before the `changed` scenario's cycle.
    pub changed_items: usize,
    pub interval_ms: u64,
    pub seed: u64,
    pub scenarios: Vec<String>,
}

impl Options {
    pub fn wants(&self, s: &str) -> bool {
        self.scenarios.iter().any(|x| x == s)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FirstSync {
    pub events: usize,
    pub wall_s: f64,
    pub events_per_s: f64,
    pub graph_requests: usize,
    pub odoo_requests: usize,
    pub cpu_ms: f64,
    pub cpu_ms_per_event: f64,
    /// CPU of the harness process (both emulators) during the phase: what the engine's
    /// wall time waited on.
    pub emulators_cpu_ms: f64,
    pub peak_rss_mib: f64,
    pub graph_by_resource: BTreeMap<String, usize>,
    pub odoo_by_resource: BTreeMap<String, usize>,
    pub cycles: Value,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NoopCycle {
    pub graph_requests: usize,
    pub odoo_requests: usize,
    pub graph_writes: usize,
    pub odoo_writes: u64,
    pub jobs_done: u64,
    pub max_per_resource: usize,
    pub by_resource: BTreeMap<String, usize>,
    pub cpu_ms: f64,
    pub wall_ms: f64,
    pub peak_rss_mib: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Noop {
    /// The engine's first cycle after the first sync, clients connected beforehand: the
    /// Graph delta hands back the echo of everything the first sync wrote (its delta
    /// link was taken before those writes), which it reads and recognises as its own.
    pub echo: NoopCycle,
    /// The engine's next cycle, nothing changed since: the no-op.
    pub engine: NoopCycle,
    /// `App::sync` as the daemon runs it, on the clients its previous cycle connected
    /// (kept between cycles), Odoo paced.
    pub app: NoopCycle,
}

/// One engine cycle after people edited events on both sides since the last one.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changed {
    pub odoo_edits: usize,
    pub outlook_edits: usize,
    pub graph_requests: usize,
    pub odoo_requests: usize,
    pub graph_writes: usize,
    pub jobs_done: u64,
    /// (Graph + Odoo requests) ÷ events edited.
    pub requests_per_item: f64,
    pub by_resource: BTreeMap<String, usize>,
    pub cpu_ms: f64,
    pub wall_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub interval_ms: u64,
    /// The daemon also listened for Graph's change notifications (its profile had a public
    /// URL); Odoo changes are polled in both modes (nothing runs on the Odoo server).
    pub webhook: bool,
    pub edits: usize,
    pub odoo_to_outlook_ms: Vec<f64>,
    pub outlook_to_odoo_ms: Vec<f64>,
    pub mean_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn outlook_to_odoo_mean_ms(&self) -> f64 {
        mean(&self.outlook_to_odoo_ms)
    }

    pub fn odoo_to_outlook_mean_ms(&self) -> f64 {
        mean(&self.odoo_to_outlook_ms)
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Throttled {
    pub events: usize,
    pub limit_requests: u32,
    pub window_s: u64,
    pub windows: u32,
    pub accepted_in_windows: usize,
    pub fraction_of_limit: f64,
    pub graph_requests: usize,
    pub throttled_429: usize,
    pub virtual_s: f64,
    pub wall_s: f64,
    pub skipped_s: f64,
    pub cycles: Value,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    /// The engine alone on in-memory ports.
    pub engine: Option<crate::engine::EngineOnly>,
    pub first_sync: Option<FirstSync>,
    pub noop: Option<Noop>,
    pub changed: Option<Changed>,
    pub latency: Option<Latency>,
    /// The same edits with the daemon in webhook mode, in the same run.
    pub latency_webhook: Option<Latency>,
    pub throttled: Option<Throttled>,
    pub idle_to_load_rss: Option<f64>,
}

fn mib(kib: &Value) -> f64 {
    kib.as_f64().unwrap_or(0.0) / 1024.0
}

fn odoo_writes(world: &World) -> u64 {
    world.odoo.emulator.writes()
}

pub async fn run(opts: &Options) -> anyhow::Result<Results> {
    let mut results = Results::default();
    if opts.wants("engine") {
        let events = opts.events;
        results.engine =
            Some(tokio::task::spawn_blocking(move || crate::engine::scenario(events)).await??);
    }
    if opts.wants("first-sync") {
        let world = World::start(UNLIMITED, opts.interval_ms).await?;
        eprintln!("bench: seeding {} events", opts.events);
        world.seed(0..opts.events, false).await?;
        results.first_sync = Some(first_sync(&world, opts).await?);
        if opts.wants("noop") {
            results.noop = Some(noop(&world).await?);
            if let (Some(f), Some(n)) = (&results.first_sync, &results.noop) {
                results.idle_to_load_rss = Some(f.peak_rss_mib / n.app.peak_rss_mib.max(0.001));
            }
        }
        if opts.wants("changed") {
            results.changed = Some(changed(&world, opts).await?);
        }
        if opts.wants("latency") {
            let edited = latency_targets(&world).await?;
            results.latency = Some(latency(&world, opts, &edited, false).await?);
            results.latency_webhook = Some(latency(&world, opts, &edited, true).await?);
        }
    }
    if opts.wants("throttled") {
        results.throttled = Some(throttled(opts).await?);
    }
    Ok(results)
}

async fn first_sync(world: &World, opts: &Options) -> anyhow::Result<FirstSync> {
    eprintln!("bench: first sync of {} events", opts.events);
    let (g0, o0) = world.mark();
    let emu0 = crate::measure::process_cpu_ms()?;
    let out = world.run_child("first-sync").await?;
    let emulators_cpu_ms = (crate::measure::process_cpu_ms()? - emu0) as f64;
    let (graph, odoo) = (world.graph_since(g0), world.odoo_since(o0));
    let cycles = out["cycles"].clone();
    let last = cycles
        .as_array()
        .and_then(|c| c.last())
        .cloned()
        .unwrap_or_default();
    ensure!(
        last["outcome"] == "synced" && last["failed"] == 0 && last["jobs_waiting"] == 0,
        "the first sync did not finish cleanly: {cycles}"
    );
    world.check_no_duplicate_no_loss(opts.events).await?;
    let wall_s = out["wall_ms"].as_f64().unwrap_or(0.0) / 1000.0;
    let cpu_ms = out["cpu_ms"].as_f64().unwrap_or(0.0);
    let n = opts.events.max(1) as f64;
    Ok(FirstSync {
        events: opts.events,
        wall_s,
        events_per_s: n / wall_s.max(1e-9),
        graph_requests: graph.len(),
        odoo_requests: odoo.len(),
        cpu_ms,
        cpu_ms_per_event: cpu_ms / n,
        emulators_cpu_ms,
        peak_rss_mib: mib(&out["memory"]["hwm_kib"]),
        graph_by_resource: by_resource(&graph),
        odoo_by_resource: by_resource(&odoo),
        cycles,
    })
}

/// One no-op cycle in a fresh child: the engine's (`noop`) or the app's whole one
/// (`noop-app`). Writes anywhere fail the run.
async fn noop_cycle(world: &World, phase: &str) -> anyhow::Result<NoopCycle> {
    let w0 = odoo_writes(world);
    let (out, (g0, o0)) = world.run_child_from_ready(phase).await?;
    let (graph, odoo) = (world.graph_since(g0), world.odoo_since(o0));
    let graph_writes = graph.iter().filter(|r| r.is_write()).count();
    let odoo_writes = odoo_writes(world) - w0;
    let jobs_done = out["cycle"]["jobs_done"].as_u64().unwrap_or(u64::MAX);
    // Loop safety: a cycle after a sync, with nothing changed, writes nothing anywhere.
    ensure!(
        graph_writes == 0 && odoo_writes == 0 && jobs_done == 0,
        "the {phase} cycle wrote: {graph_writes} Graph writes, {odoo_writes} Odoo writes, {jobs_done} jobs"
    );
    let mut by = by_resource(&graph);
    by.extend(by_resource(&odoo));
    Ok(NoopCycle {
        graph_requests: graph.len(),
        odoo_requests: odoo.len(),
        graph_writes,
        odoo_writes,
        jobs_done,
        max_per_resource: by.values().copied().max().unwrap_or(0),
        by_resource: by,
        cpu_ms: out["cpu_ms"].as_f64().unwrap_or(0.0),
        wall_ms: out["wall_ms"].as_f64().unwrap_or(0.0),
        peak_rss_mib: mib(&out["memory"]["hwm_kib"]),
    })
}

async fn noop(world: &World) -> anyhow::Result<Noop> {
    eprintln!("bench: no-op cycles");
    Ok(Noop {
        echo: noop_cycle(world, "noop").await?,
        engine: noop_cycle(world, "noop").await?,
        app: noop_cycle(world, "noop-app").await?,
    })
}

/// People edit `changed_items` events in Odoo and as many others in Outlook (titles), then
/// one engine cycle (clients connected, unpaced, confirmed ahead: 2K rewrites trip the
/// mass-change guard past 20) syncs them: the requests it costs per changed event. Events 0 and 1 are left alone (the latency runs edit them by name).
async fn changed(world: &World, opts: &Options) -> anyhow::Result<Changed> {
    let k = opts.changed_items.min(opts.events.saturating_sub(2) / 2);
    eprintln!("bench: an incremental cycle after {k} edits in Odoo and {k} in Outlook");
    let title = |i: usize| crate::world::event_times(i).0;
    let renamed = |i: usize| format!("{} (changed)", title(i));
    let in_odoo: Vec<usize> = (0..k).map(|j| 2 + 2 * j).collect();
    let in_outlook: Vec<usize> = (0..k).map(|j| 3 + 2 * j).collect();
    let rows = world
        .odoo_call(
            "calendar.event",
            "search_read",
            json!({"domain": [["name", "in", in_odoo.iter().map(|&i| title(i)).collect::<Vec<_>>()]],
                   "fields": ["name"]}),
        )
        .await?;
    let ids: BTreeMap<String, i64> = rows
        .as_array()
        .context("search_read answered no list")?
        .iter()
        .filter_map(|r| Some((r["name"].as_str()?.to_string(), r["id"].as_i64()?)))
        .collect();
    for &i in &in_odoo {
        let id = *ids
            .get(&title(i))
            .with_context(|| format!("{} in Odoo", title(i)))?;
        world
            .odoo_call(
                "calendar.event",
                "write",
                json!({"ids": [id], "vals": {"name": renamed(i)}}),
            )
            .await?;
    }
    for &i in &in_outlook {
        let page = world
            .outlook(
                reqwest::Method::GET,
                &format!("events?$filter=subject eq {}&$top=1", quote(&title(i))),
                None,
            )
            .await?;
        let id = page["value"][0]["id"]
            .as_str()
            .with_context(|| format!("{} in Outlook", title(i)))?
            .to_string();
        world
            .outlook(
                reqwest::Method::PATCH,
                &format!("events/{id}"),
                Some(json!({"subject": renamed(i)})),
            )
            .await?;
    }
    let (out, (g0, o0)) = world.run_child_from_ready("changed").await?;
    let (graph, odoo) = (world.graph_since(g0), world.odoo_since(o0));
    let cycle = &out["cycle"];
    ensure!(
        cycle["outcome"] == "synced" && cycle["failed"] == 0 && cycle["jobs_waiting"] == 0,
        "the incremental cycle did not finish cleanly: {cycle}"
    );
    // Each edit reached the other side, and nothing else changed there.
    let outlook = world.outlook_titles().await?;
    let odoo_titles = world.odoo_titles().await?;
    for (side, titles, edits) in [
        ("Outlook", &outlook, &in_odoo),
        ("Odoo", &odoo_titles, &in_outlook),
    ] {
        let missing: Vec<String> = edits
            .iter()
            .map(|&i| renamed(i))
            .filter(|t| !titles.contains(t))
            .collect();
        ensure!(
            missing.is_empty(),
            "{} edits did not reach {side}, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        ensure!(
            titles.len() == opts.events,
            "{side} holds {} events, not {}",
            titles.len(),
            opts.events
        );
    }
    let mut by = by_resource(&graph);
    by.extend(by_resource(&odoo));
    Ok(Changed {
        odoo_edits: k,
        outlook_edits: k,
        graph_requests: graph.len(),
        odoo_requests: odoo.len(),
        graph_writes: graph.iter().filter(|r| r.is_write()).count(),
        jobs_done: cycle["jobs_done"].as_u64().unwrap_or(0),
        requests_per_item: (graph.len() + odoo.len()) as f64 / (2 * k).max(1) as f64,
        by_resource: by,
        cpu_ms: out["cpu_ms"].as_f64().unwrap_or(0.0),
        wall_ms: out["wall_ms"].as_f64().unwrap_or(0.0),
    })
}

/// Polls `check` every 5 ms until it holds, up to `limit`.
async fn until<F, Fut>(limit: Duration, mut check: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if check().await? {
            return Ok(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    anyhow::bail!("not visible after {limit:?}")
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The linked pair each latency run edits: event 0, which started in Odoo (its Odoo id),
/// and event 1, which started in Outlook (its Outlook id). Looked up once: the runs rename
/// them.
async fn latency_targets(world: &World) -> anyhow::Result<(i64, String)> {
    let odoo_id = world
        .odoo_call(
            "calendar.event",
            "search",
            json!({"domain": [["name", "=", crate::world::event_times(0).0]]}),
        )
        .await?[0]
        .as_i64()
        .context("event 0 in Odoo")?;
    let page = world
        .outlook(
            reqwest::Method::GET,
            &format!(
                "events?$filter=subject eq {}&$top=1",
                quote(&crate::world::event_times(1).0)
            ),
            None,
        )
        .await?;
    let outlook_id = page["value"][0]["id"]
        .as_str()
        .context("event 1 in Outlook")?
        .to_string();
    Ok((odoo_id, outlook_id))
}

async fn latency(
    world: &World,
    opts: &Options,
    (odoo_id, outlook_id): &(i64, String),
    webhook: bool,
) -> anyhow::Result<Latency> {
    eprintln!(
        "bench: change-to-sync latency, polling every {} ms{}",
        opts.interval_ms,
        if webhook { ", with webhooks" } else { "" }
    );
    let extra = if webhook {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        vec![("BENCH_WEBHOOK_PORT", port.to_string())]
    } else {
        Vec::new()
    };
    let mut child = world.spawn_child_with("latency", true, &extra)?;
    let stdout = child.stdout.take().context("child stdout")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // BENCH_TRACE=1 shows when each of the daemon's cycles ended, against the edits.
    let trace = std::env::var_os("BENCH_TRACE").is_some();
    let t0 = Instant::now();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if trace {
                eprintln!("bench: +{} ms daemon: {line}", t0.elapsed().as_millis());
            }
            let _ = tx.send(line);
        }
    });
    // The daemon is up once it reports its first cycle; in webhook mode it reports its
    // mode before, which must be webhooks, or the figure would be polling's again.
    let mut mode = None;
    let first = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .context("the daemon did not report a cycle")?
            .context("the daemon ended")?;
        let v: Value =
            serde_json::from_str(&line).with_context(|| format!("the daemon printed {line:?}"))?;
        if v.get("mode").is_some() {
            mode = Some(v);
            continue;
        }
        break line;
    };
    ensure!(
        !first.contains("error"),
        "the daemon's first cycle: {first}"
    );
    if webhook {
        let mode = mode.context("the daemon did not report its mode")?;
        ensure!(
            mode["mode"] == "webhook",
            "the daemon is not in webhook mode: {mode}"
        );
    }

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
    let mut result = Latency {
        interval_ms: opts.interval_ms,
        webhook,
        edits: opts.latency_edits,
        ..Default::default()
    };
    let limit = Duration::from_millis(opts.interval_ms * 10 + 30_000);
    for k in 0..opts.latency_edits {
        // A random phase relative to the daemon's cycle.
        tokio::time::sleep(Duration::from_millis(
            rng.random_range(0..opts.interval_ms.max(1)),
        ))
        .await;
        let title = format!(
            "Bench latency {} {k}",
            if webhook { "webhook" } else { "poll" }
        );
        if trace {
            eprintln!("bench: +{} ms edit {k}", t0.elapsed().as_millis());
        }
        if k % 2 == 0 {
            world
                .odoo_call(
                    "calendar.event",
                    "write",
                    json!({"ids": [odoo_id], "vals": {"name": title}}),
                )
                .await?;
            let path = format!("events?$filter=subject eq {}&$top=1", quote(&title));
            let took = until(limit, || async {
                let page = world.outlook(reqwest::Method::GET, &path, None).await?;
                Ok(page["value"].as_array().is_some_and(|v| !v.is_empty()))
            })
            .await
            .with_context(|| format!("Odoo edit {k} reaching Outlook"))?;
            result.odoo_to_outlook_ms.push(took.as_secs_f64() * 1000.0);
        } else {
            world
                .outlook(
                    reqwest::Method::PATCH,
                    &format!("events/{outlook_id}"),
                    Some(json!({"subject": title})),
                )
                .await?;
            let took = until(limit, || async {
                let n = world
                    .odoo_call(
                        "calendar.event",
                        "search_count",
                        json!({"domain": [["name", "=", title]]}),
                    )
                    .await?;
                Ok(n.as_i64().unwrap_or(0) > 0)
            })
            .await
            .with_context(|| format!("Outlook edit {k} reaching Odoo"))?;
            result.outlook_to_odoo_ms.push(took.as_secs_f64() * 1000.0);
        }
    }
    if trace {
        for d in world.graph.emulator.deliveries() {
            eprintln!("bench: delivery {d:?}");
        }
    }
    // Closing stdin stops the daemon.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.flush();
    }
    let status = tokio::task::spawn_blocking(move || child.wait()).await??;
    let _ = reader.join();
    ensure!(status.success(), "the daemon child failed: {status:?}");
    let all: Vec<f64> = result
        .odoo_to_outlook_ms
        .iter()
        .chain(&result.outlook_to_odoo_ms)
        .copied()
        .collect();
    result.mean_ms = all.iter().sum::<f64>() / all.len().max(1) as f64;
    result.max_ms = all.iter().copied().fold(0.0, f64::max);
    Ok(result)
}

async fn throttled(opts: &Options) -> anyhow::Result<Throttled> {
    let limits = opts.throttled_limits;
    let world = World::start(limits, opts.interval_ms).await?;
    // Enough creates for Outlook to fill `windows` windows and spill into the next one,
    // so the measured windows are full ones.
    let per_window = limits.requests_per_window as usize;
    let events = per_window * opts.throttled_windows as usize + per_window / 20 + 10;
    eprintln!(
        "bench: throttled first sync of {events} events under {} requests / {} s",
        limits.requests_per_window, limits.window_s
    );
    world.seed(0..events, true).await?;
    let (g0, _) = world.mark();
    let rate = format!("{}/{}", limits.requests_per_window, limits.window_s);
    let out = world
        .run_child_with("throttled", &[("BENCH_RATE", rate)])
        .await?;
    let graph = world.graph_since(g0);
    ensure!(!graph.is_empty(), "the throttled run sent nothing to Graph");
    world.check_no_duplicate_no_loss(events).await?;
    // The emulator's window starts at the mailbox's first request.
    let t0 = graph[0].at;
    let end = t0
        + chrono::Duration::seconds((limits.window_s * u64::from(opts.throttled_windows)) as i64);
    // Graph counts a `$batch`'s sub-requests one by one (graph.md §6.4): `cost`.
    let accepted = graph
        .iter()
        .filter(|r| r.at < end && (200..300).contains(&r.status))
        .map(|r| r.cost as usize)
        .sum::<usize>();
    let last = graph.last().map(|r| r.at).unwrap_or(t0);
    let capacity = u64::from(limits.requests_per_window) * u64::from(opts.throttled_windows);
    Ok(Throttled {
        events,
        limit_requests: limits.requests_per_window,
        window_s: limits.window_s,
        windows: opts.throttled_windows,
        accepted_in_windows: accepted,
        fraction_of_limit: accepted as f64 / capacity.max(1) as f64,
        graph_requests: graph.len(),
        throttled_429: graph.iter().filter(|r| r.status == 429).count(),
        virtual_s: (last - t0).num_milliseconds() as f64 / 1000.0,
        wall_s: out["wall_ms"].as_f64().unwrap_or(0.0) / 1000.0,
        skipped_s: out["skipped_s"].as_f64().unwrap_or(0.0),
        cycles: out["cycles"].clone(),
    })
}
