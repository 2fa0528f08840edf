//! The engine side of a scenario, run in its own process (`odoo365-bench child PHASE`) so
//! that its CPU time and peak RSS are the engine's alone: the emulators live in the parent.
//!
//! The child opens the installation in `BENCH_DATA_DIR` with an in-memory keychain, adds
//! (or re-keys) the profile `bench`, signs in through the Microsoft emulator's sign-in page,
//! runs its phase through the app's public API and prints one JSON line with what it
//! measured.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

use odoo365_app::auth::{MemoryKeychain, Secret};
use odoo365_app::{App, ProfileDraft, SignIn};
use odoo365_testkit::fixture::app::{profile_draft, EmulatorBrowser};

use crate::measure;

pub use odoo365_testkit::fixture::ALICE;
pub const PROFILE: &str = "bench";

/// What the parent passes to a child, through the environment.
#[derive(Debug, Clone)]
pub struct ChildEnv {
    pub data_dir: std::path::PathBuf,
    pub odoo_url: String,
    pub graph_url: String,
    pub identity_url: String,
    pub odoo_key: String,
    /// The Graph emulator's control API, for the throttled phase's virtual clock.
    pub control_url: String,
    pub interval_ms: u64,
}

impl ChildEnv {
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BENCH_DATA_DIR", self.data_dir.display().to_string()),
            ("BENCH_ODOO_URL", self.odoo_url.clone()),
            ("BENCH_GRAPH_URL", self.graph_url.clone()),
            ("BENCH_IDENTITY_URL", self.identity_url.clone()),
            ("BENCH_ODOO_KEY", self.odoo_key.clone()),
            ("BENCH_CONTROL_URL", self.control_url.clone()),
            ("BENCH_INTERVAL_MS", self.interval_ms.to_string()),
        ]
    }

    pub fn from_env() -> anyhow::Result<ChildEnv> {
        let var = |n: &str| std::env::var(n).with_context(|| format!("${n} is not set"));
        Ok(ChildEnv {
            data_dir: var("BENCH_DATA_DIR")?.into(),
            odoo_url: var("BENCH_ODOO_URL")?,
            graph_url: var("BENCH_GRAPH_URL")?,
            identity_url: var("BENCH_IDENTITY_URL")?,
            odoo_key: var("BENCH_ODOO_KEY")?,
            control_url: var("BENCH_CONTROL_URL")?,
            interval_ms: var("BENCH_INTERVAL_MS")?.parse()?,
        })
    }

    fn draft(&self) -> ProfileDraft {
        profile_draft(
            PROFILE,
            &self.odoo_url,
            "odoo",
            &self.graph_url,
            &self.identity_url,
        )
    }
}

/// The installation, the profile (added or re-keyed: the keychain is in memory) and a
/// Microsoft sign-in.
async fn open_app(env: &ChildEnv, clock: Arc<dyn odoo365_engine::Clock>) -> anyhow::Result<App> {
    let app = App::open_with(&env.data_dir, Arc::new(MemoryKeychain::new()), clock)?;
    let key = Secret::new(env.odoo_key.clone());
    if app.profile(PROFILE).is_ok() {
        app.set_odoo_api_key(PROFILE, &key)?;
    } else {
        app.add_profile_with_api_key(env.draft(), &key)?;
    }
    app.login(PROFILE, SignIn::Browser(&EmulatorBrowser::alice()))
        .await?;
    Ok(app)
}

/// The app's real clients for a profile, as `App::sync` builds them, except that the
/// Odoo client's polite pacing (1 request/s, burst 10: odoo.md §7) is lifted, so the figure
/// is the engine's and the adapters', not a policy's. Each call is one engine cycle.
async fn unpaced_engine(app: &App) -> anyhow::Result<odoo365_engine::Engine> {
    let profile = app.profile(PROFILE)?;
    let keychain = app.keychain();
    let tokens = odoo365_app::connect::token_source(&profile, keychain.clone())?;
    let graph = odoo365_app::connect::graph_client(
        &profile,
        Arc::new(odoo365_app::connect::GraphTokens(tokens)),
    )?;
    let key = odoo365_app::connect::odoo_api_key(keychain.as_ref(), &profile)?;
    let mut config = odoo365_app::connect::odoo_config(&profile, &key)?;
    config.requests_per_second = 1e9;
    config.requests_burst = u32::MAX;
    // The Odoo emulator scans every row per search (O(events)); on a loaded machine a
    // 10,000-row read can pass the default 60 s, which would measure the emulator.
    config.timeout = Duration::from_secs(900);
    let odoo = odoo365_odoo::OdooClient::connect(config).await?;
    Ok(app.engine_with(
        &profile,
        ALICE,
        Arc::new(odoo365_app::ports::GraphCalendar::new(graph)),
        Arc::new(odoo365_app::ports::OdooEvents::new(Arc::new(odoo))),
    )?)
}

async fn unpaced_sync(app: &App, confirm: bool) -> anyhow::Result<odoo365_app::SyncResult> {
    let profile = app.profile(PROFILE)?;
    let engine = unpaced_engine(app).await?;
    Ok(app.sync_with(&profile, engine, false, confirm).await?)
}

fn report_json(r: &odoo365_app::SyncResult) -> Value {
    json!({
        "outcome": r.outcome,
        "jobs_done": r.report.jobs_done,
        "jobs_waiting": r.report.jobs_waiting,
        "failed": r.report.failed.len(),
        "item_errors": r.report.item_errors.len(),
        "open_conflicts": r.open_conflicts,
    })
}

fn memory() -> anyhow::Result<Value> {
    let (rss, hwm) = measure::rss_kib()?;
    Ok(json!({"rss_kib": rss, "hwm_kib": hwm}))
}

/// The first sync as a person does it: the cycle that pauses on the first-sync guard and
/// shows its plan, then the confirmed one (repeated while jobs wait for a retry).
async fn first_sync(env: &ChildEnv) -> anyhow::Result<Value> {
    let app = open_app(env, Arc::new(odoo365_engine::SystemClock)).await?;
    let (cpu0, t0) = (measure::process_cpu_ms()?, Instant::now());
    let preview = unpaced_sync(&app, false).await?;
    let mut cycles = vec![report_json(&preview)];
    let mut last = unpaced_sync(&app, true).await?;
    cycles.push(report_json(&last));
    while last.report.jobs_waiting > 0 && cycles.len() < 6 {
        last = unpaced_sync(&app, true).await?;
        cycles.push(report_json(&last));
    }
    let wall_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let cpu_ms = measure::process_cpu_ms()? - cpu0;
    Ok(
        json!({"phase": "first-sync", "wall_ms": wall_ms, "cpu_ms": cpu_ms,
              "cycles": cycles, "memory": memory()?}),
    )
}

/// A daemon that wakes with nothing to do: the store and engine of a synced profile, one
/// cycle: the engine's cycle (`noop`, clients connected beforehand), or the whole of
/// `App::sync` as the daemon runs it (`noop-app`, Odoo paced): the daemon's first cycle
/// connects the clients and keeps them, the measured one is its second.
/// Its peak RSS is the "idle" figure.
/// `changed` is the engine's cycle confirmed ahead (as `odoo365 sync --yes`): the parent's
/// edits rewrite more events than the mass-change guard lets through unasked.
async fn noop(env: &ChildEnv, whole_app: bool, confirm: bool) -> anyhow::Result<Value> {
    let app = open_app(env, Arc::new(odoo365_engine::SystemClock)).await?;
    let profile = app.profile(PROFILE)?;
    let engine = if whole_app {
        app.sync(PROFILE, false, false).await?;
        None
    } else {
        Some(unpaced_engine(&app).await?)
    };
    // The parent counts requests from here.
    println!("{}", json!({"ready": true}));
    {
        use std::io::Write;
        std::io::stdout().flush()?;
    }
    let (cpu0, t0) = (measure::threads_cpu_ns()?, Instant::now());
    let r = match engine {
        Some(engine) => app.sync_with(&profile, engine, false, confirm).await?,
        None => app.sync(PROFILE, false, false).await?,
    };
    let wall_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let cpu_ms = (measure::threads_cpu_ns()? - cpu0) as f64 / 1e6;
    Ok(
        json!({"phase": "noop", "wall_ms": wall_ms, "cpu_ms": cpu_ms,
              "cycle": report_json(&r), "memory": memory()?}),
    )
}

/// The app's daemon loop at `interval_ms`, until stdin closes; each cycle is printed as a
/// line so the parent knows when the daemon is up. With `BENCH_WEBHOOK_PORT` set, the
/// daemon also listens there for Graph's change notifications (the profile's public URL
/// is that loopback address), as `odoo365 daemon` does with a webhook URL; its mode is
/// printed as a line before the first cycle.
async fn latency(env: &ChildEnv) -> anyhow::Result<Value> {
    use tokio::io::AsyncReadExt;
    let app = open_app(env, Arc::new(odoo365_engine::SystemClock)).await?;
    let stop = async {
        let mut sink = Vec::new();
        let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    };
    let mut cycles = 0u64;
    let mut errors = 0u64;
    let on_cycle = |r: &Result<odoo365_app::SyncResult, odoo365_app::AppError>| {
        cycles += 1;
        match r {
            Ok(r) => println!(
                "{}",
                json!({"cycle": cycles, "jobs_done": r.report.jobs_done})
            ),
            Err(e) => {
                errors += 1;
                println!("{}", json!({"cycle": cycles, "error": e.message}));
            }
        }
    };
    let interval = Duration::from_millis(env.interval_ms);
    match std::env::var("BENCH_WEBHOOK_PORT") {
        Ok(port) => {
            let port: u16 = port.parse().context("BENCH_WEBHOOK_PORT is a port")?;
            let listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let mut settings = app.profile(PROFILE)?.settings;
            settings.webhook_url = Some(format!("http://{listen}"));
            app.set_sync_settings(PROFILE, settings)?;
            app.daemon_with_webhooks(
                PROFILE,
                Some(interval),
                Some(listen),
                stop,
                |_, status| {
                    println!(
                        "{}",
                        json!({"mode": status.mode.as_str(), "reason": status.reason})
                    )
                },
                on_cycle,
            )
            .await?;
        }
        Err(_) => app.daemon(PROFILE, interval, stop, on_cycle).await?,
    }
    Ok(json!({"phase": "latency", "cycles": cycles, "errors": errors, "memory": memory()?}))
}

/// Time for the throttled phase: real time plus an offset, where a sleep moves the offset
/// (and the emulators' clock, through their control API) instead of waiting. The engine is
/// sequential, so at most one request is in flight and a jump skips only idle time: what
/// a run would do in real time, without waiting ten minutes per throttling window.
#[derive(Debug, Clone)]
pub struct JumpClock {
    offset: Arc<Mutex<chrono::Duration>>,
    control_url: String,
    http: reqwest::Client,
    slept: Arc<Mutex<Duration>>,
}

impl JumpClock {
    pub fn new(control_url: &str) -> Self {
        JumpClock {
            offset: Arc::new(Mutex::new(chrono::Duration::zero())),
            control_url: control_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            slept: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The total time skipped so far.
    pub fn slept(&self) -> Duration {
        *self.slept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl odoo365_engine::Clock for JumpClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        JumpClock::now(self)
    }
}

impl odoo365_graph::Clock for JumpClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        JumpClock::now(self)
    }

    fn sleep(&self, duration: Duration) -> odoo365_graph::runtime::BoxFuture<'static, ()> {
        let this = self.clone();
        Box::pin(async move {
            {
                let mut o = this.offset.lock().unwrap_or_else(|p| p.into_inner());
                *o += chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
                *this.slept.lock().unwrap_or_else(|p| p.into_inner()) += duration;
            }
            let now = this
                .now()
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            // The emulators' clock runs from the same system clock: setting it to our now
            // keeps both on one timeline.
            let sent = this
                .http
                .put(format!("{}/clock", this.control_url))
                .json(&json!({"now": now}))
                .send()
                .await;
            if let Err(e) = sent.and_then(|r| r.error_for_status()) {
                eprintln!("bench: moving the emulators' clock failed: {e}");
            }
        })
    }
}

/// The first sync under the emulator's default mailbox limits, with the app's real Graph
/// client and its default governor, on the jump clock.
async fn throttled(env: &ChildEnv) -> anyhow::Result<Value> {
    let clock = JumpClock::new(&env.control_url);
    let app = open_app(env, Arc::new(clock.clone())).await?;
    let profile = app.profile(PROFILE)?;
    let keychain = app.keychain();
    let tokens = odoo365_app::connect::token_source(&profile, keychain.clone())?;
    let mut graph_config = odoo365_graph::GraphConfig::with_base_url(profile.graph_url.parse()?);
    // The governor as configured for Outlook (10,000 per 600 s), unless the run scales
    // the emulator's limits down (the smoke test): then alike.
    if let Ok(rate) = std::env::var("BENCH_RATE") {
        let (n, s) = rate.split_once('/').context("BENCH_RATE is N/SECONDS")?;
        graph_config.rate_requests = n.parse()?;
        graph_config.rate_window = Duration::from_secs(s.parse()?);
    }
    let (cpu0, t0) = (measure::process_cpu_ms()?, Instant::now());
    // One client (and so one mailbox budget) across the cycles, as a long-running daemon
    // would hold it.
    let graph = odoo365_graph::GraphClient::new(
        graph_config,
        odoo365_graph::Seams {
            tokens: Arc::new(odoo365_app::connect::GraphTokens(tokens)),
            clock: Arc::new(clock.clone()),
            jitter_seed: 7,
            budget: None,
        },
    )?;
    let mut cycles = Vec::new();
    for confirm in [false, true, true, true] {
        let key = odoo365_app::connect::odoo_api_key(keychain.as_ref(), &profile)?;
        let mut config = odoo365_app::connect::odoo_config(&profile, &key)?;
        // Graph is the throttled side here; Odoo is paced as the app paces it, with room
        // for the emulator's full-table scans (see `unpaced_engine`).
        config.timeout = Duration::from_secs(900);
        let odoo = odoo365_odoo::OdooClient::connect(config).await?;
        let engine = app.engine_with(
            &profile,
            ALICE,
            Arc::new(odoo365_app::ports::GraphCalendar::new(graph.clone())),
            Arc::new(odoo365_app::ports::OdooEvents::new(Arc::new(odoo))),
        )?;
        let r = app.sync_with(&profile, engine, false, confirm).await?;
        let waiting = r.report.jobs_waiting;
        cycles.push(report_json(&r));
        if confirm && waiting == 0 {
            break;
        }
    }
    Ok(
        json!({"phase": "throttled", "wall_ms": t0.elapsed().as_secs_f64() * 1000.0,
              "cpu_ms": measure::process_cpu_ms()? - cpu0,
              "skipped_s": clock.slept().as_secs_f64(), "cycles": cycles, "memory": memory()?}),
    )
}

/// Runs one phase and prints its JSON line.
pub fn run(phase: &str) -> anyhow::Result<()> {
    if phase == "engine" {
        let events = crate::engine::events_from_env().context("BENCH_ENGINE_EVENTS is not set")?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        println!("{}", rt.block_on(crate::engine::child(events))?);
        return Ok(());
    }
    let env = ChildEnv::from_env()?;
    // One thread: the engine is sequential, and its CPU time is then easy to read.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = rt.block_on(async {
        match phase {
            "first-sync" => first_sync(&env).await,
            "noop" => noop(&env, false, false).await,
            "noop-app" => noop(&env, true, false).await,
            "changed" => noop(&env, false, true).await,
            "latency" => latency(&env).await,
            "throttled" => throttled(&env).await,
            other => anyhow::bail!("unknown phase {other:?}"),
        }
    })?;
    println!("{out}");
    Ok(())
}
