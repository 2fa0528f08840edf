//! The socketIo channel against the Graph emulator's Socket.IO server: a drive change wakes
//! the poll, a dropped connection is reconnected, an expiring endpoint is replaced before it
//! expires, and a refused endpoint or a server that keeps failing leaves the profile
//! visibly polling.
#![allow(clippy::unwrap_used)]
// The channel runs against a real server in real time: it is spawned, and waits are timed
// on the wall clock (the engine's injected clock stays out of socket timing).
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use odoo365_engine::ports::{PortError, PortResult};
use odoo365_engine::webhook::socketio::{
    run_channel, ChannelConfig, SocketIoEndpoint, SocketIoPort,
};
use odoo365_engine::webhook::{Mode, WebhookStatus};
use odoo365_engine::SystemClock;
use odoo365_testkit::graph::{DriveType, GraphConfig, GraphEmulator, RunningGraph};
use serde_json::{json, Value};

const ALICE: &str = "alice@contoso.com";

/// The endpoint call over HTTP, as the app's Graph client makes it; counts the calls.
struct EmulatorPort {
    graph_url: String,
    token: String,
    calls: AtomicUsize,
    /// Replaces the URL Graph answered (a server that is not there).
    url_override: Option<String>,
}

#[async_trait]
impl SocketIoPort for EmulatorPort {
    async fn endpoint(&self) -> PortResult<SocketIoEndpoint> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let r = reqwest::Client::new()
            .get(format!(
                "{}/me/drive/root/subscriptions/socketIo",
                self.graph_url
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| PortError::NotSent {
                message: e.to_string(),
            })?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(PortError::Rejected {
                message: format!("HTTP {status} {}", v["error"]["code"]),
            });
        }
        Ok(SocketIoEndpoint {
            notification_url: self
                .url_override
                .clone()
                .unwrap_or_else(|| v["notificationUrl"].as_str().unwrap().to_string()),
            expires: v["expirationDateTime"]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.to_utc()),
        })
    }
}

struct Run {
    g: RunningGraph,
    token: String,
    port: Arc<EmulatorPort>,
    wakes: Arc<AtomicUsize>,
    statuses: Arc<Mutex<Vec<WebhookStatus>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

fn fast() -> ChannelConfig {
    ChannelConfig {
        backoff_first: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        failures_before_polling: 3,
        retry_refused: Duration::from_secs(3600),
        connect_timeout: Duration::from_secs(5),
        ..ChannelConfig::default()
    }
}

async fn run(graph: GraphConfig, config: ChannelConfig, url_override: Option<String>) -> Run {
    run_with(graph, config, url_override, true).await
}

async fn run_with(
    graph: GraphConfig,
    config: ChannelConfig,
    url_override: Option<String>,
    supported: bool,
) -> Run {
    let g = GraphEmulator::start(graph).await.unwrap();
    g.emulator.create_user(ALICE, "Alice", DriveType::Business);
    g.emulator.set_socketio_supported(supported);
    let token = g.emulator.mint_token(ALICE).unwrap();
    let port = Arc::new(EmulatorPort {
        graph_url: g.graph_url.clone(),
        token: token.clone(),
        calls: AtomicUsize::new(0),
        url_override,
    });
    let wakes = Arc::new(AtomicUsize::new(0));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run_channel(
        port.clone(),
        Arc::new(SystemClock),
        config,
        {
            let w = wakes.clone();
            Arc::new(move || {
                w.fetch_add(1, Ordering::SeqCst);
            })
        },
        {
            let s = statuses.clone();
            Arc::new(move |st: &WebhookStatus| s.lock().unwrap().push(st.clone()))
        },
        async {
            let _ = rx.await;
        },
    ));
    Run {
        g,
        token,
        port,
        wakes,
        statuses,
        stop: Some(tx),
        task,
    }
}

impl Run {
    fn mode(&self) -> Option<WebhookStatus> {
        self.statuses.lock().unwrap().last().cloned()
    }

    async fn until(&self, what: &str, within: Duration, ok: impl Fn(&Run) -> bool) {
        let t0 = Instant::now();
        while !ok(self) {
            assert!(
                t0.elapsed() < within,
                "{what} within {within:?}; statuses {:?}",
                self.statuses.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn change_drive(&self, name: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/me/drive/root/children", self.g.graph_url))
            .bearer_auth(&self.token)
            .json(&json!({"name": name, "folder": {}}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{r:?}");
    }

    /// A change is pushed and wakes the poll.
    async fn change_wakes(&self, name: &str) {
        let before = self.wakes.load(Ordering::SeqCst);
        self.change_drive(name).await;
        self.until(
            "a notification wakes the poll",
            Duration::from_secs(10),
            |r| r.wakes.load(Ordering::SeqCst) > before,
        )
        .await;
    }

    async fn stop(mut self) -> Vec<WebhookStatus> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("the channel stops")
            .unwrap();
        self.statuses.lock().unwrap().clone()
    }
}

fn is_push(r: &Run) -> bool {
    r.mode().is_some_and(|s| s.mode == Mode::SocketIo) && r.g.emulator.socketio_clients() == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_change_wakes_the_poll_and_a_dropped_connection_is_reconnected() {
    let r = run(GraphConfig::default(), fast(), None).await;
    r.until("connected", Duration::from_secs(10), is_push).await;
    assert!(
        r.wakes.load(Ordering::SeqCst) >= 1,
        "a (re)connection wakes the poll: changes while down come with delta"
    );
    r.change_wakes("Reports").await;

    assert_eq!(r.g.emulator.drop_socketio_connections(), 1);
    r.until("reconnected", Duration::from_secs(10), |r| {
        r.g.emulator.socketio_clients() == 1
    })
    .await;
    r.change_wakes("After the drop").await;
    assert_eq!(
        r.mode().unwrap().mode,
        Mode::SocketIo,
        "one drop is not shown as polling"
    );
    let statuses = r.stop().await;
    assert_eq!(
        statuses.last().unwrap(),
        &WebhookStatus::polling("the socketIo channel is stopped"),
        "a stopped channel is never shown as push"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_is_replaced_before_it_expires() {
    let r = run(
        GraphConfig {
            socketio_lifetime_s: 3,
            ..Default::default()
        },
        ChannelConfig {
            refresh_margin: chrono::Duration::seconds(1),
            ..fast()
        },
        None,
    )
    .await;
    r.until("connected", Duration::from_secs(10), is_push).await;
    r.until(
        "a second endpoint fetched before the first expired",
        Duration::from_secs(10),
        |r| r.port.calls.load(Ordering::SeqCst) >= 2 && is_push(r),
    )
    .await;
    r.change_wakes("On the new endpoint").await;
    let statuses = r.stop().await;
    assert!(
        statuses[..statuses.len() - 1]
            .iter()
            .all(|s| s.mode == Mode::SocketIo),
        "the refresh is not a failure: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_endpoint_leaves_the_profile_polling_with_graph_s_reason() {
    let r = run_with(GraphConfig::default(), fast(), None, false).await;
    r.until("polling", Duration::from_secs(10), |r| r.mode().is_some())
        .await;
    let s = r.mode().unwrap();
    assert_eq!(s.mode, Mode::Polling);
    let reason = s.reason.unwrap();
    assert!(
        reason.contains("notSupported") && reason.contains("polls every"),
        "{reason}"
    );
    // Refused is Graph's answer, not a passing failure: asked once, not hammered.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(r.port.calls.load(Ordering::SeqCst), 1);
    assert_eq!(r.wakes.load(Ordering::SeqCst), 0);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_keeps_failing_is_shown_as_polling_and_retried() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let r = run(
        GraphConfig::default(),
        fast(),
        Some(format!("http://{closed}/ns/callback?snthgk=x")),
    )
    .await;
    r.until(
        "polling after repeated failures",
        Duration::from_secs(10),
        |r| {
            r.mode().is_some_and(|s| {
                s.mode == Mode::Polling
                    && s.reason.as_deref().unwrap_or("").contains("keeps failing")
            })
        },
    )
    .await;
    assert_eq!(r.wakes.load(Ordering::SeqCst), 0);
    let statuses = r.stop().await;
    assert!(
        statuses.iter().all(|s| s.mode == Mode::Polling),
        "{statuses:?}"
    );
}
