//! Requests per second the Microsoft 365 emulator serves on loopback: a simple GET
//! (`/v1.0/me`) and a calendarView delta page of 50 events. The emulator must not be the
//! bottleneck of the engine benchmarks (target: at least 5,000 simple requests/s).
//!
//! Run: `cargo bench -p odoo365-testkit --bench graph_emulator` (optional env:
//! `BENCH_SECONDS`, default 3; `BENCH_CLIENTS`, default 8).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use odoo365_testkit::graph::{DriveType, GraphConfig, GraphEmulator, Limits};
use serde_json::{json, Value};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn measure(
    label: &str,
    url: String,
    token: String,
    prefer: Option<&'static str>,
    clients: u64,
    secs: u64,
) -> f64 {
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, token, done, failed) = (
            http.clone(),
            url.clone(),
            token.clone(),
            done.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let mut req = http.get(&url).bearer_auth(&token);
                if let Some(p) = prefer {
                    req = req.header("Prefer", p);
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    let rate = n as f64 / elapsed;
    println!(
        "{label}: {n} requests in {elapsed:.2} s with {clients} clients = {rate:.0} req/s ({} failed)",
        failed.load(Ordering::Relaxed)
    );
    rate
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let secs = env_u64("BENCH_SECONDS", 3);
        let clients = env_u64("BENCH_CLIENTS", 8);
        let config = GraphConfig {
            // The benchmark measures the emulator, not its throttling.
            limits: Limits { requests_per_window: u32::MAX, window_s: 600, concurrent: 10_000, concurrency_retry_after_s: 1 },
            ..GraphConfig::default()
        };
        let g = GraphEmulator::start(config).await?;
        g.emulator.create_user("bench@contoso.com", "Bench", DriveType::Business);
        let token = g.emulator.mint_token("bench@contoso.com").map_err(|e| anyhow::anyhow!("{e}"))?;
        let http = reqwest::Client::builder().no_proxy().build()?;
        for i in 0..200 {
            let day = 1 + (i % 28);
            let body = json!({"subject": format!("Event {i}"),
                "start": {"dateTime": format!("2026-03-{day:02}T10:00:00"), "timeZone": "UTC"},
                "end": {"dateTime": format!("2026-03-{day:02}T11:00:00"), "timeZone": "UTC"}});
            http.post(format!("{}/me/events", g.graph_url)).bearer_auth(&token).json(&body).send().await?;
        }
        // The initial round's first page is empty; its nextLink is a full page of 50.
        let first: Value = http
            .get(format!("{}/me/calendarView/delta?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z", g.graph_url))
            .bearer_auth(&token)
            .header("Prefer", "odata.maxpagesize=50")
            .send()
            .await?
            .json()
            .await?;
        let page_url = first["@odata.nextLink"].as_str().unwrap_or_default().to_string();
        let page: Value = http.get(&page_url).bearer_auth(&token).header("Prefer", "odata.maxpagesize=50").send().await?.json().await?;
        println!("delta page holds {} events", page["value"].as_array().map(Vec::len).unwrap_or(0));
        measure("simple GET /v1.0/me", format!("{}/me", g.graph_url), token.clone(), None, clients, secs).await;
        measure("calendarView/delta page (50 events)", page_url, token, Some("odata.maxpagesize=50"), clients, secs).await;
        anyhow::Ok(())
    })
}
