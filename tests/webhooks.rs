#![allow(clippy::unwrap_used)]
//! Webhooks end to end against the Graph emulator's real notification delivery: the
//! subscription's handshake reaches the app's loopback listener, an edit in Outlook posts a
//! notification that wakes the profile, and its delta poll syncs the edit into Odoo. Also:
//! a forged `clientState` wakes nothing, renewal before expiry on moved clocks, each
//! lifecycle event, the fallback to polling when the handshake fails, the mode in status,
//! and (ignored, for `docs/BENCHMARKS.md`) the change-to-sync latency of both modes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use odoo365_app::auth::{Keychain, MemoryKeychain, OsKeychain, SecretKind};
use odoo365_app::{App, ErrorCode, SignIn, Wake, WebhookMode};
use odoo365_engine::Clock as _;
use odoo365_testkit::fixture::app::EmulatorBrowser;
use odoo365_testkit::fixture::{keychain_available, Emulators, ALICE};
use odoo365_testkit::graph::{DriveType, GraphConfig, RunningGraph};
use odoo365_testkit::odoo::{OdooConfig, RunningOdoo};
use serde_json::{json, Value};
use tokio::sync::mpsc;

struct World {
    graph: RunningGraph,
    odoo: RunningOdoo,
    uid: i64,
    key: String,
    app: Arc<App>,
    clock: odoo365_engine::ManualClock,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    world_with(Arc::new(MemoryKeychain::new())).await
}

async fn world_with(keychain: Arc<dyn Keychain>) -> World {
    let e = Emulators::start(
        GraphConfig {
            seed: 7,
            ..Default::default()
        },
        OdooConfig {
            seed: 7,
            version: "19.0".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    #[allow(clippy::disallowed_methods)]
    let clock = odoo365_engine::ManualClock::new(chrono::Utc::now());
    let app = Arc::new(App::open_with(dir.path(), keychain, Arc::new(clock.clone())).unwrap());
    e.add_signed_in_profile(&app, "work").await.unwrap();
    World {
        graph: e.graph,
        odoo: e.odoo,
        uid: e.alice_uid,
        key: e.alice_key,
        app,
        clock,
        _dir: dir,
    }
}

impl World {
    fn set_webhook_url(&self, url: Option<String>) {
        let mut s = self.app.profile("work").unwrap().settings;
        s.webhook_url = url;
        self.app.set_sync_settings("work", s).unwrap();
    }

    async fn graph_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let token = self.graph.emulator.mint_token(ALICE).unwrap();
        let mut req = reqwest::Client::new()
            .request(method, format!("{}/{path}", self.graph.graph_url))
            .bearer_auth(token)
            .header("Prefer", "outlook.timezone=\"UTC\"");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{resp:?}");
        resp.json().await.unwrap_or(Value::Null)
    }

    /// Alice adds an event in Outlook.
    async fn outlook_event(&self, subject: &str) {
        #[allow(clippy::disallowed_methods)]
        let start = chrono::Utc::now() + chrono::Duration::days(2);
        let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        self.graph_call(
            reqwest::Method::POST,
            "me/events",
            Some(json!({"subject": subject,
                "start": {"dateTime": iso(start), "timeZone": "UTC"},
                "end": {"dateTime": iso(start + chrono::Duration::hours(1)), "timeZone": "UTC"}})),
        )
        .await;
    }

    async fn subscriptions(&self) -> Vec<Value> {
        self.graph_call(reqwest::Method::GET, "subscriptions", None)
            .await["value"]
            .as_array()
            .unwrap()
            .clone()
    }

    async fn in_odoo(&self, name: &str) -> bool {
        self.odoo_count(name).await > 0
    }

    /// Events of that title in Outlook.
    async fn outlook_count(&self, subject: &str) -> usize {
        self.graph_call(reqwest::Method::GET, "me/events?$top=100", None)
            .await["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["subject"] == subject)
            .count()
    }

    async fn odoo_count(&self, name: &str) -> i64 {
        let resp: Value = reqwest::Client::new()
            .post(format!("{}/jsonrpc", self.odoo.url))
            .json(
                &json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
                "service": "object", "method": "execute_kw",
                "args": ["odoo", self.uid, self.key, "calendar.event", "search_count",
                    [[["name", "=", name]]], {}]}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        resp["result"].as_i64().unwrap()
    }

    /// The first sync asks for confirmation; give it.
    async fn first_sync(&self) {
        let first = self.app.sync("work", false, false).await.unwrap();
        if first.outcome == "paused" {
            self.app.sync("work", false, true).await.unwrap();
        }
    }
}

fn wake_channel() -> (Wake, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Arc::new(move |p: &str| {
            let _ = tx.send(p.to_string());
        }),
        rx,
    )
}

async fn woken(rx: &mut mpsc::UnboundedReceiver<String>, within: Duration) -> Option<String> {
    tokio::time::timeout(within, rx.recv()).await.ok().flatten()
}

fn loopback0() -> Option<SocketAddr> {
    Some("127.0.0.1:0".parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outlook_edit_is_notified_wakes_the_profile_and_its_delta_poll_syncs_it() {
    let w = world().await;
    w.first_sync().await;
    let (wake, mut rx) = wake_channel();
    let (mut hooks, bound) = w.app.start_webhooks(loopback0(), wake).await.unwrap();
    let addr = hooks.addr();
    tokio::spawn(bound.run(std::future::pending()));
    let before = w.app.status("work").unwrap();
    assert_eq!(before.mode, "polling");
    assert!(
        before
            .mode_reason
            .unwrap()
            .contains("no public webhook URL"),
        "polling says why"
    );
    w.set_webhook_url(Some(format!("http://{addr}/")));
    let id = w.app.profile("work").unwrap().id;

    let status = hooks.activate(&w.app, "work").await.unwrap();
    assert_eq!(status.mode, WebhookMode::Webhook, "{status:?}");
    let subs = w.subscriptions().await;
    assert_eq!(subs.len(), 1, "events only: documents are off");
    assert_eq!(subs[0]["resource"], "me/events");
    assert_eq!(
        subs[0]["notificationUrl"],
        format!("http://{addr}/graph/{id}/events")
    );
    let client_state = subs[0]["clientState"].as_str().unwrap().to_string();
    assert_eq!(client_state.len(), 64);
    let s = w.app.status("work").unwrap();
    assert_eq!((s.mode.as_str(), s.mode_reason), ("webhook", None));

    w.outlook_event("Pushed review").await;
    assert_eq!(
        woken(&mut rx, Duration::from_secs(5)).await.as_deref(),
        Some(id.as_str())
    );
    // The emulator logs the delivery once it has read the reply.
    let t0 = Instant::now();
    while !w
        .graph
        .emulator
        .deliveries()
        .iter()
        .any(|d| d.status == Some(202))
    {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "{:?}",
            w.graph.emulator.deliveries()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!w.in_odoo("Pushed review").await);
    let r = w.app.sync("work", false, false).await.unwrap();
    assert_eq!(r.outcome, "synced", "{}", r.summary);
    assert!(w.in_odoo("Pushed review").await);

    // A stranger who knows the URL but not the clientState wakes nothing.
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/graph/{id}/events");
    let forged = json!({"value": [{"subscriptionId": subs[0]["id"], "clientState": "guess",
        "changeType": "updated", "resource": "x"}]});
    let answer = http.post(&url).json(&forged).send().await.unwrap();
    assert_eq!(answer.status(), 202);
    let malformed = http.post(&url).body("{\"value\": 1").send().await.unwrap();
    assert_eq!(malformed.status(), 400);
    let huge = http
        .post(&url)
        .body(vec![b'x'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(woken(&mut rx, Duration::from_millis(500)).await, None);
    // The genuine secret does wake it.
    let genuine =
        json!({"value": [{"subscriptionId": subs[0]["id"], "clientState": client_state}]});
    assert_eq!(
        http.post(&url)
            .json(&genuine)
            .send()
            .await
            .unwrap()
            .status(),
        202
    );
    assert_eq!(
        woken(&mut rx, Duration::from_secs(2)).await.as_deref(),
        Some(id.as_str())
    );

    // Lifecycle: reauthorize keeps the subscription; missed wakes; removed recreates.
    let sub_id = subs[0]["id"].as_str().unwrap().to_string();
    w.graph
        .emulator
        .trigger_lifecycle(&sub_id, "reauthorizationRequired")
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), hooks.next_lifecycle())
        .await
        .unwrap()
        .unwrap();
    hooks.handle(&e).await;
    assert_eq!(w.subscriptions().await[0]["id"], sub_id.as_str());
    assert_eq!(woken(&mut rx, Duration::from_millis(200)).await, None);
    let reauthorized = w.graph.emulator.request_log().snapshot().iter().any(|r| {
        r.path
            .ends_with(&format!("/subscriptions/{sub_id}/reauthorize"))
    });
    assert!(reauthorized, "the subscription was reauthorized");

    w.graph
        .emulator
        .trigger_lifecycle(&sub_id, "missed")
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), hooks.next_lifecycle())
        .await
        .unwrap()
        .unwrap();
    hooks.handle(&e).await;
    assert_eq!(
        woken(&mut rx, Duration::from_secs(1)).await.as_deref(),
        Some(id.as_str())
    );

    w.graph
        .emulator
        .trigger_lifecycle(&sub_id, "subscriptionRemoved")
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), hooks.next_lifecycle())
        .await
        .unwrap()
        .unwrap();
    hooks.handle(&e).await;
    assert_eq!(
        woken(&mut rx, Duration::from_secs(1)).await.as_deref(),
        Some(id.as_str())
    );
    let again = w.subscriptions().await;
    assert_eq!(again.len(), 1);
    assert_ne!(again[0]["id"], sub_id.as_str(), "recreated");
    w.outlook_event("After recreation").await;
    assert_eq!(
        woken(&mut rx, Duration::from_secs(5)).await.as_deref(),
        Some(id.as_str())
    );

    // Removing the profile's webhooks deletes them at Microsoft.
    hooks.deactivate(&id, "signed out").await.unwrap();
    assert!(w.subscriptions().await.is_empty());
    let s = w.app.status("work").unwrap();
    assert_eq!(
        (s.mode.as_str(), s.mode_reason.as_deref()),
        ("polling", Some("signed out"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_renewed_before_they_expire_as_both_clocks_move() {
    let w = world().await;
    let (wake, _rx) = wake_channel();
    let (mut hooks, bound) = w.app.start_webhooks(loopback0(), wake).await.unwrap();
    tokio::spawn(bound.run(std::future::pending()));
    w.set_webhook_url(Some(format!("http://{}", hooks.addr())));
    hooks.activate(&w.app, "work").await.unwrap();
    let first = w.subscriptions().await[0].clone();
    let expiry = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v["expirationDateTime"].as_str().unwrap())
            .unwrap()
            .to_utc()
    };
    // A day later nothing is due.
    let day = chrono::Duration::days(1);
    w.clock.advance(day);
    w.graph.emulator.clock().advance(day);
    hooks.maintain().await;
    assert_eq!(expiry(&w.subscriptions().await[0]), expiry(&first));
    // Five and a half days after creation (under 42 h left of 7 days) it is renewed.
    let more = chrono::Duration::hours(108);
    w.clock.advance(more);
    w.graph.emulator.clock().advance(more);
    let statuses = hooks.maintain().await;
    assert_eq!(statuses[0].1.mode, WebhookMode::Webhook, "{statuses:?}");
    let renewed = w.subscriptions().await;
    assert_eq!(renewed[0]["id"], first["id"], "renewed, not recreated");
    assert!(expiry(&renewed[0]) > expiry(&first) + chrono::Duration::days(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_handshake_leaves_the_profile_polling_and_status_says_why() {
    let w = world().await;
    let (wake, _rx) = wake_channel();
    let (mut hooks, bound) = w.app.start_webhooks(loopback0(), wake).await.unwrap();
    tokio::spawn(bound.run(std::future::pending()));
    // A public URL that does not reach this listener: nothing answers there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap();
    drop(closed);
    w.set_webhook_url(Some(format!("http://{nowhere}")));
    let s = hooks.activate(&w.app, "work").await.unwrap();
    assert_eq!(s.mode, WebhookMode::Polling);
    assert!(w.subscriptions().await.is_empty());
    let status = w.app.status("work").unwrap();
    assert_eq!(status.mode, "polling");
    let reason = status.mode_reason.unwrap();
    assert!(
        reason.contains("me/events") && reason.contains("validation"),
        "{reason}"
    );
    // Polling still syncs.
    w.outlook_event("Polled").await;
    w.first_sync().await;
    assert!(w.in_odoo("Polled").await);
}

/// The daemon: with webhooks, an Outlook edit reaches Odoo long before the hour-long
/// polling interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_syncs_a_notified_change_without_waiting_for_its_interval() {
    let w = world().await;
    w.first_sync().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    w.set_webhook_url(Some(format!("http://{port}")));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = w.app.clone();
    let (mode_tx, mode_rx) = tokio::sync::oneshot::channel();
    let daemon = tokio::spawn(async move {
        app.daemon_with_webhooks(
            "work",
            Some(Duration::from_secs(3600)),
            Some(port),
            async {
                let _ = stopped.await;
            },
            {
                let mut mode_tx = Some(mode_tx);
                move |_, s| {
                    if let Some(tx) = mode_tx.take() {
                        let _ = tx.send(s.mode);
                    }
                }
            },
            |_| {},
        )
        .await
    });
    assert_eq!(mode_rx.await.unwrap(), WebhookMode::Webhook);
    let latency = latency_of(&w, "Daemon pushed", Duration::from_secs(60)).await;
    assert!(latency < Duration::from_secs(10), "{latency:?}");
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
    let s = w.app.status("work").unwrap();
    assert_eq!(s.mode, "polling", "a stopped listener is not shown as push");
}

/// Seconds from an Outlook edit to the event being in Odoo.
async fn latency_of(w: &World, name: &str, limit: Duration) -> Duration {
    time_to_sync(w.outlook_event(name), || w.in_odoo(name), name, limit).await
}

/// A notification of a version the profile's store already holds (the echo of its own
/// write, or of a change it has read) wakes nothing: a cycle would read nothing new, and
/// its Odoo reads, paced to about one a second, would hold up the next real change. The
/// same event at another version, its delete, a change naming no item, or an event the
/// store does not know wakes the profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_of_a_version_the_profile_holds_wakes_nothing() {
    let w = world().await;
    w.outlook_event("Echo check").await;
    w.first_sync().await;
    assert!(w.in_odoo("Echo check").await);
    let (wake, mut rx) = wake_channel();
    let (mut hooks, bound) = w.app.start_webhooks(loopback0(), wake).await.unwrap();
    let addr = hooks.addr();
    tokio::spawn(bound.run(std::future::pending()));
    w.set_webhook_url(Some(format!("http://{addr}/")));
    let status = hooks.activate(&w.app, "work").await.unwrap();
    assert_eq!(status.mode, WebhookMode::Webhook, "{status:?}");
    let sub = w.subscriptions().await[0].clone();
    let id = w.app.profile("work").unwrap().id;
    let event = w
        .graph_call(reqwest::Method::GET, "me/events?$top=100", None)
        .await["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subject"] == "Echo check")
        .unwrap()
        .clone();
    let (event_id, change_key) = (
        event["id"].as_str().unwrap(),
        event["changeKey"].as_str().unwrap(),
    );
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/graph/{id}/events");
    let notify = |change: &str, item: Value, etag: Option<String>| {
        let mut data = json!({"@odata.type": "#Microsoft.Graph.Event", "id": item});
        if let Some(etag) = etag {
            data["@odata.etag"] = json!(etag);
        }
        json!({"value": [{"subscriptionId": sub["id"], "clientState": sub["clientState"],
            "changeType": change, "resource": format!("Users/x/Events/{item}"),
            "resourceData": data}]})
    };
    let held = format!("W/\"{change_key}\"");
    for body in [
        notify("updated", json!(event_id), Some(held.clone())),
        notify("created", json!(event_id), Some(held.clone())),
    ] {
        assert_eq!(
            http.post(&url).json(&body).send().await.unwrap().status(),
            202
        );
    }
    assert_eq!(
        woken(&mut rx, Duration::from_millis(500)).await,
        None,
        "the version the store holds"
    );
    for (what, body) in [
        (
            "another version",
            notify("updated", json!(event_id), Some("W/\"newer\"".into())),
        ),
        (
            "a delete",
            notify("deleted", json!(event_id), Some(held.clone())),
        ),
        ("no etag", notify("updated", json!(event_id), None)),
        (
            "an event it does not link",
            notify("updated", json!("AAMkUnknown"), Some(held.clone())),
        ),
    ] {
        assert_eq!(
            http.post(&url).json(&body).send().await.unwrap().status(),
            202
        );
        assert_eq!(
            woken(&mut rx, Duration::from_secs(2)).await.as_deref(),
            Some(id.as_str()),
            "{what} wakes the profile"
        );
    }
    // Alice's edit in Outlook, through the emulator's own notification.
    w.graph_call(
        reqwest::Method::PATCH,
        &format!("me/events/{event_id}"),
        Some(json!({"subject": "Echo check, moved"})),
    )
    .await;
    assert_eq!(
        woken(&mut rx, Duration::from_secs(5)).await.as_deref(),
        Some(id.as_str())
    );
}

/// Time from `change` (made once the daemon's cycle in progress is over) to `synced()`.
async fn time_to_sync<F: std::future::Future<Output = bool>>(
    change: impl std::future::Future<Output = ()>,
    synced: impl Fn() -> F,
    name: &str,
    limit: Duration,
) -> Duration {
    // Let the daemon's first cycle finish so it waits.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    change.await;
    loop {
        if synced().await {
            return t0.elapsed();
        }
        assert!(t0.elapsed() < limit, "{name} never synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `docs/BENCHMARKS.md`, section Webhooks: change-to-sync latency of the daemon in webhook
/// mode and in polling mode (interval `POLL_S`, default 10 s), five edits each, in one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: cargo test --release --test webhooks -- --ignored --nocapture"]
async fn bench_change_to_sync_latency_webhook_vs_polling() {
    let poll_s = poll_s();
    let mut results = Vec::new();
    for webhook in [true, false] {
        let w = world().await;
        w.first_sync().await;
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        w.set_webhook_url(webhook.then(|| format!("http://{port}")));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = w.app.clone();
        let daemon = tokio::spawn(async move {
            app.daemon_with_webhooks(
                "work",
                Some(Duration::from_secs(poll_s)),
                Some(port),
                async {
                    let _ = stopped.await;
                },
                |_, _| {},
                |_| {},
            )
            .await
        });
        let mut total = Duration::ZERO;
        let n = 5;
        for i in 0..n {
            let limit = Duration::from_secs(3 * poll_s + 60);
            total += latency_of(&w, &format!("Latency {webhook} {i}"), limit).await;
        }
        let _ = stop.send(());
        daemon.await.unwrap().unwrap();
        results.push(total / n);
    }
    let (push, poll) = (results[0], results[1]);
    println!(
        "change-to-sync latency: webhook {:.2} s, polling every {poll_s} s {:.2} s, ratio polling/webhook {:.1}",
        push.as_secs_f64(),
        poll.as_secs_f64(),
        poll.as_secs_f64() / push.as_secs_f64()
    );
}

/// The desktop's host: every profile with a public URL is subscribed and woken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_webhooks_subscribes_every_profile_with_a_url_and_wakes_it() {
    let w = world().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    w.set_webhook_url(Some(format!("http://{port}")));
    let id = w.app.profile("work").unwrap().id;
    let (wake, mut rx) = wake_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = w.app.clone();
    let host = tokio::spawn(async move {
        app.serve_webhooks(Some(port), wake, async {
            let _ = stopped.await;
        })
        .await
    });
    let t0 = Instant::now();
    while w.app.status("work").unwrap().mode != "webhook" {
        assert!(t0.elapsed() < Duration::from_secs(10), "never subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.outlook_event("Desktop pushed").await;
    assert_eq!(
        woken(&mut rx, Duration::from_secs(5)).await.as_deref(),
        Some(id.as_str())
    );
    let _ = stop.send(());
    host.await.unwrap().unwrap();
    assert_eq!(w.app.status("work").unwrap().mode, "polling");
}

impl World {
    /// Odoo's JSON-2 API with Alice's key.
    async fn odoo(&self, model: &str, method: &str, body: Value) -> Value {
        let resp = reqwest::Client::new()
            .post(format!("{}/json/2/{model}/{method}", self.odoo.url))
            .header("Authorization", format!("bearer {}", self.key))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{resp:?}");
        resp.json().await.unwrap()
    }

    /// Documents on, for `project.task`, with a task that has one attachment; the first
    /// sync puts it in OneDrive. Returns the task's id.
    async fn documents_with_a_task(&self) -> i64 {
        let mut s = self.app.profile("work").unwrap().settings;
        s.documents = true;
        s.document_models = vec!["project.task".into()];
        self.app.set_sync_settings("work", s).unwrap();
        let task = self
            .odoo(
                "project.task",
                "create",
                json!({"vals_list": [{"name": "Socket task"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        self.odoo(
            "ir.attachment",
            "create",
            json!({"vals_list": [{"name": "brief.txt", "res_model": "project.task",
                "res_id": task, "datas": "aGVsbG8="}]}),
        )
        .await;
        self.first_sync().await;
        task
    }

    /// Alice puts a file in the task's OneDrive folder.
    async fn onedrive_file(&self, task: i64, name: &str) {
        let token = self.graph.emulator.mint_token(ALICE).unwrap();
        let resp = reqwest::Client::new()
            .put(format!(
                "{}/me/drive/root:/Odoo%20Sync/project.task/{task}/{name}:/content",
                self.graph.graph_url
            ))
            .bearer_auth(token)
            .body(b"pushed over socketIo".to_vec())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{resp:?}");
    }

    async fn attachment_in_odoo(&self, name: &str) -> bool {
        self.odoo(
            "ir.attachment",
            "search_count",
            json!({"domain": [["name", "=", name], ["res_model", "=", "project.task"]]}),
        )
        .await
        .as_i64()
            == Some(1)
    }

    async fn wait_for_mode(&self, mode: &str, within: Duration) {
        let t0 = Instant::now();
        loop {
            let s = self.app.status("work").unwrap();
            if s.mode == mode {
                return;
            }
            assert!(t0.elapsed() < within, "mode {mode} never shown: {s:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The benchmarks' polling interval: `POLL_S` seconds, 10 by default.
fn poll_s() -> u64 {
    std::env::var("POLL_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// `odoo365 daemon` for the profile, without a listen address; send on the sender to stop.
fn spawn_daemon(
    w: &World,
    interval: Duration,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), odoo365_app::AppError>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = w.app.clone();
    let daemon = tokio::spawn(async move {
        app.daemon_with_webhooks(
            "work",
            Some(interval),
            None,
            async {
                let _ = stopped.await;
            },
            |_, _| {},
            |_| {},
        )
        .await
    });
    (stop, daemon)
}

/// Seconds from a file put in OneDrive to its attachment being in Odoo.
async fn file_latency(w: &World, task: i64, name: &str, limit: Duration) -> Duration {
    time_to_sync(
        w.onedrive_file(task, name),
        || w.attachment_in_odoo(name),
        name,
        limit,
    )
    .await
}

/// OneDrive without a public URL: the daemon's socketIo channel brings a file put in
/// OneDrive into Odoo long before the hour-long polling interval; `status` shows the mode,
/// a dropped connection is reconnected, and a stopped daemon is shown as polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_syncs_a_onedrive_change_pushed_over_socketio_without_a_public_url() {
    let w = world().await;
    let task = w.documents_with_a_task().await;
    assert_eq!(
        w.app.status("work").unwrap().mode,
        "polling",
        "no channel runs outside the daemon and the desktop app"
    );
    let (stop, daemon) = spawn_daemon(&w, Duration::from_secs(3600));
    w.wait_for_mode("push (socketIo)", Duration::from_secs(20))
        .await;
    let latency = file_latency(&w, task, "pushed.txt", Duration::from_secs(60)).await;
    assert!(latency < Duration::from_secs(10), "{latency:?}");

    assert_eq!(w.graph.emulator.drop_socketio_connections(), 1);
    let latency = file_latency(&w, task, "after-drop.txt", Duration::from_secs(60)).await;
    assert!(latency < Duration::from_secs(15), "{latency:?}");

    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
    let s = w.app.status("work").unwrap();
    assert_eq!(s.mode, "polling", "a stopped channel is not shown as push");
}

/// Where Graph refuses the channel, the desktop's host leaves the profile polling and says
/// why in its status: never a silent stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_socketio_endpoint_shows_polling_with_the_reason() {
    let w = world().await;
    w.graph.emulator.set_socketio_supported(false);
    w.documents_with_a_task().await;
    let (wake, _rx) = wake_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = w.app.clone();
    let host = tokio::spawn(async move {
        app.serve_webhooks(None, wake, async {
            let _ = stopped.await;
        })
        .await
    });
    let t0 = Instant::now();
    loop {
        let s = w.app.status("work").unwrap();
        if s.mode_reason
            .as_deref()
            .unwrap_or("")
            .contains("notSupported")
        {
            assert_eq!(s.mode, "polling");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    host.await.unwrap().unwrap();
}

/// `docs/BENCHMARKS.md`, section Webhooks: change-to-sync latency of a OneDrive file with
/// the socketIo channel and with polling only (interval `POLL_S`, default 10 s), three
/// files each, in one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: cargo test --release --test webhooks bench_onedrive -- --ignored --nocapture"]
async fn bench_onedrive_change_to_sync_latency_socketio_vs_polling() {
    let poll_s = poll_s();
    let mut results = Vec::new();
    for push in [true, false] {
        let w = world().await;
        w.graph.emulator.set_socketio_supported(push);
        let task = w.documents_with_a_task().await;
        let (stop, daemon) = spawn_daemon(&w, Duration::from_secs(poll_s));
        if push {
            w.wait_for_mode("push (socketIo)", Duration::from_secs(20))
                .await;
        }
        let mut total = Duration::ZERO;
        let n = 3;
        for i in 0..n {
            let limit = Duration::from_secs(3 * poll_s + 60);
            total += file_latency(&w, task, &format!("latency-{push}-{i}.txt"), limit).await;
        }
        let _ = stop.send(());
        daemon.await.unwrap().unwrap();
        results.push(total / n);
    }
    let (push, poll) = (results[0], results[1]);
    println!(
        "OneDrive change-to-sync latency: socketIo {:.2} s, polling every {poll_s} s {:.2} s, ratio polling/socketIo {:.1}",
        push.as_secs_f64(),
        poll.as_secs_f64(),
        poll.as_secs_f64() / push.as_secs_f64()
    );
}

/// Sign-out removes what acts for the person at Microsoft (subscriptions, refresh token,
/// webhook secret) and keeps the sync state: signing in to the same mailbox resumes without
/// duplicates, another mailbox is refused while the links pair with the first one. With
/// the real keychain of the desktop session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_keeps_the_links_and_the_same_mailbox_resumes_without_duplicates() {
    if !keychain_available() {
        return;
    }
    let w = world_with(Arc::new(OsKeychain)).await;
    let id = w.app.profile("work").unwrap().id;
    w.outlook_event("Before sign-out").await;
    w.first_sync().await;
    assert_eq!(w.odoo_count("Before sign-out").await, 1);
    let (wake, _rx) = wake_channel();
    let (mut hooks, bound) = w.app.start_webhooks(loopback0(), wake).await.unwrap();
    tokio::spawn(bound.run(std::future::pending()));
    w.set_webhook_url(Some(format!("http://{}", hooks.addr())));
    assert_eq!(
        hooks.activate(&w.app, "work").await.unwrap().mode,
        WebhookMode::Webhook
    );
    assert_eq!(w.subscriptions().await.len(), 1);
    assert!(OsKeychain
        .get(&id, SecretKind::WebhookClientState)
        .unwrap()
        .is_some());

    let out = w.app.sign_out("work").await.unwrap();
    assert_eq!(out.mailbox.as_deref(), Some(ALICE));
    assert!(out.links_kept >= 1, "{out:?}");
    assert!(w.subscriptions().await.is_empty(), "deleted at Microsoft");
    for kind in [
        SecretKind::MicrosoftRefreshToken,
        SecretKind::WebhookClientState,
    ] {
        assert_eq!(OsKeychain.get(&id, kind).unwrap(), None, "{kind:?}");
    }
    assert!(OsKeychain
        .get(&id, SecretKind::OdooApiKey)
        .unwrap()
        .is_some());
    assert!(w.app.is_signed_out("work").unwrap());
    let s = w.app.status("work").unwrap();
    assert!(s.sign_in_needed && !s.signed_in);
    assert_eq!(s.linked_events, out.links_kept);
    let e = w.app.sync("work", false, false).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SignInNeeded, "{e:?}");

    // Another mailbox: refused, and nothing of it is saved.
    w.graph
        .emulator
        .create_user("bob@contoso.com", "Bob", DriveType::Business);
    let e = w
        .app
        .login(
            "work",
            SignIn::Browser(&EmulatorBrowser {
                login: "bob@contoso.com".into(),
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "{e:?}");
    assert!(
        e.message.contains(ALICE) && e.message.contains("bob@contoso.com"),
        "{}",
        e.message
    );
    assert_eq!(
        OsKeychain
            .get(&id, SecretKind::MicrosoftRefreshToken)
            .unwrap(),
        None
    );
    assert!(w.app.is_signed_out("work").unwrap());

    // The same mailbox again: the links still pair, nothing is created twice.
    w.app
        .login("work", SignIn::Browser(&EmulatorBrowser::alice()))
        .await
        .unwrap();
    assert!(!w.app.is_signed_out("work").unwrap());
    w.outlook_event("After sign-in").await;
    let r = w.app.sync("work", false, false).await.unwrap();
    assert_eq!(r.outcome, "synced", "{}", r.summary);
    assert_eq!(w.odoo_count("Before sign-out").await, 1);
    assert_eq!(w.outlook_count("Before sign-out").await, 1);
    assert_eq!(w.odoo_count("After sign-in").await, 1);
    // Only the new event was written (one job); a further cycle writes nothing.
    assert_eq!(r.report.jobs_done, 1, "{}", r.summary);
    let again = w.app.sync("work", false, false).await.unwrap();
    assert_eq!(again.report.jobs_done, 0, "{}", again.summary);
    assert_eq!(w.outlook_count("After sign-in").await, 1);
    assert!(w.app.remove_profile("work").is_ok());
}

/// `odoo365 profile set` while the daemon runs: a public URL set later subscribes and
/// wakes it, a cleared one deletes the subscription, and a new polling interval moves the
/// next cycle, all without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_follows_webhook_url_and_interval_changes_without_a_restart() {
    let w = world().await;
    w.first_sync().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = w.app.clone();
    let (mode_tx, mut modes) = mpsc::unbounded_channel();
    let daemon = tokio::spawn(async move {
        app.daemon_with_webhooks(
            "work",
            None,
            Some(port),
            async {
                let _ = stopped.await;
            },
            move |_, s| {
                let _ = mode_tx.send(s.mode);
            },
            |_| {},
        )
        .await
    });
    async fn next_mode(modes: &mut mpsc::UnboundedReceiver<WebhookMode>) -> WebhookMode {
        let within = odoo365_app::SETTINGS_CHECK * 5;
        tokio::time::timeout(within, modes.recv())
            .await
            .unwrap()
            .unwrap()
    }
    assert_eq!(next_mode(&mut modes).await, WebhookMode::Polling);
    // The profile polls every 15 minutes: the next cycle is that far away.
    let now = w.clock.now();
    let next = |w: &World| w.app.status("work").unwrap().next_sync_at.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        next(&w) > now + chrono::Duration::minutes(14),
        "{}",
        next(&w)
    );

    w.set_webhook_url(Some(format!("http://{port}")));
    assert_eq!(next_mode(&mut modes).await, WebhookMode::Webhook);
    assert_eq!(w.subscriptions().await.len(), 1);
    let latency = latency_of(&w, "Pushed after set", Duration::from_secs(30)).await;
    assert!(latency < Duration::from_secs(10), "{latency:?}");

    w.set_webhook_url(None);
    assert_eq!(next_mode(&mut modes).await, WebhookMode::Polling);
    assert!(
        w.subscriptions().await.is_empty(),
        "the subscription is deleted"
    );

    let mut s = w.app.profile("work").unwrap().settings;
    s.poll_interval_minutes = 1;
    w.app.set_sync_settings("work", s).unwrap();
    let t0 = Instant::now();
    while next(&w) > now + chrono::Duration::minutes(1) {
        assert!(
            t0.elapsed() < odoo365_app::SETTINGS_CHECK * 5,
            "{}",
            next(&w)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
}
