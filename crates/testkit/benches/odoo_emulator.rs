//! Requests per second the Odoo emulator serves on loopback: `search_read` of 80 events,
//! `create` of one event, and `context_get` (the simplest authenticated call).
//!
//! Run: `cargo bench -p odoo365-testkit --bench odoo_emulator` (set `BENCH_SECONDS` to
//! change the 3 s per scenario, `BENCH_CLIENTS` the 8 concurrent clients).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use odoo365_testkit::odoo::{NewApiKey, NewUser, OdooConfig, OdooEmulator};
use serde_json::{json, Value};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(name: &str, url: String, key: String, body: Value, seconds: u64, clients: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (url, key, body) = (url.clone(), key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let resp = http
                    .post(&url)
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                resp.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name:<32} {total:>7} requests in {secs:.1} s = {:>7.0} req/s ({clients} clients)",
        total as f64 / secs
    );
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 3);
    let clients = env_or("BENCH_CLIENTS", 8);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let odoo = OdooEmulator::start(OdooConfig::default()).await.unwrap();
        let e = &odoo.emulator;
        let user = e.create_user(NewUser::internal("bench")).unwrap();
        let key = e.create_api_key(user.uid, NewApiKey::default()).unwrap();
        let vals: Vec<Value> = (0..80)
            .map(|i| {
                json!({"name": format!("Event {i}"), "start": format!("2026-04-{:02} {:02}:00:00", i % 28 + 1, i % 10 + 8), "duration": 1.0, "partner_ids": [user.partner_id]})
            })
            .collect();
        let mut kw = serde_json::Map::new();
        kw.insert("vals_list".into(), Value::Array(vals));
        kw.insert("context".into(), json!({"no_mail_to_attendees": true}));
        e.execute(user.uid, "calendar.event", "create", &[], kw).unwrap();
        // The same search_read without HTTP, to separate ORM time from transport time.
        let spec = json!({"domain": [["start", ">=", "2026-04-01"]], "fields": ["name", "start", "stop", "allday", "privacy", "partner_ids", "user_id", "write_date"], "order": "write_date asc, id asc", "context": {"active_test": false}});
        let started = Instant::now();
        let n = 2000;
        for _ in 0..n {
            let kw = spec.as_object().unwrap().clone();
            e.execute(user.uid, "calendar.event", "search_read", &[], kw).unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        println!("{:<32} {n:>7} calls    in {secs:.1} s = {:>7.0} calls/s (in-process, 1 thread)", "search_read 80 (no HTTP)", n as f64 / secs);
        let base = format!("{}/json/2", odoo.url);
        run(
            "context_get",
            format!("{base}/res.users/context_get"),
            key.clone(),
            json!({}),
            seconds,
            clients,
        )
        .await;
        run(
            "search_read 80 calendar.event",
            format!("{base}/calendar.event/search_read"),
            key.clone(),
            json!({"domain": [["start", ">=", "2026-04-01"]], "fields": ["name", "start", "stop", "allday", "privacy", "partner_ids", "user_id", "write_date"], "order": "write_date asc, id asc", "context": {"active_test": false}}),
            seconds,
            clients,
        )
        .await;
        run(
            "create 1 res.partner",
            format!("{base}/res.partner/create"),
            key.clone(),
            json!({"vals_list": [{"name": "Bench partner", "email": "b@example.com"}]}),
            seconds,
            clients,
        )
        .await;
        run(
            "create 1 calendar.event",
            format!("{base}/calendar.event/create"),
            key,
            json!({"vals_list": [{"name": "Bench event", "start": "2027-01-01 10:00:00", "stop": "2027-01-01 11:00:00"}], "context": {"no_mail_to_attendees": true}}),
            seconds,
            clients,
        )
        .await;
    });
}
