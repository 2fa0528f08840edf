//! The Microsoft 365 emulator: Graph v1.0 (calendar, OneDrive, subscriptions, `$batch`) and
//! the identity platform, built from `shared/specs/graph.md`; every emulated fact and its
//! source is listed in `crates/testkit/README.md` ("Microsoft 365 emulator").
//!
//! Invariants: binds loopback only; all state sits behind one mutex that is never held
//! across an await; ids, token lifetimes and `$batch` ordering come from one seeded RNG, so a
//! seed and a request sequence reproduce a run; every error is Graph's error JSON.

mod batch;
mod calendar;
mod control;
mod drive;
mod error;
mod event_query;
mod http;
mod identity;
mod recurrence;
mod sites;
mod socketio;
mod state;
mod subscriptions;
mod time;

use std::sync::{Arc, Mutex};

use axum::Router;
use chrono::Duration;
use tokio::sync::oneshot;

pub use error::GraphError;
pub use sites::SiteInfo;
pub use state::{DriveType, OutboxKind, OutboxMessage, TenantInfo, UserInfo};
pub use subscriptions::Delivery;

use crate::{Clock, FaultPlan, RequestLog};

/// Per-mailbox throttling limits [THL]: requests per window and requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub requests_per_window: u32,
    pub window_s: u64,
    pub concurrent: u32,
    /// `Retry-After` sent with a concurrency 429.
    pub concurrency_retry_after_s: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // 10,000 per 10 minutes and 4 concurrent per app and mailbox [THL].
        Self {
            requests_per_window: 10_000,
            window_s: 600,
            concurrent: 4,
            concurrency_retry_after_s: 1,
        }
    }
}

/// How the emulator behaves; `Default` is the documented service.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    pub seed: u64,
    pub clock: Clock,
    pub limits: Limits,
    /// Access-token lifetime; `None` draws 3,600–5,400 s per token (seeded) [AT].
    pub access_token_lifetime_s: Option<u64>,
    /// Refresh tokens last 90 days [RT].
    pub refresh_token_lifetime_s: u64,
    /// Largest body `PUT …/content` accepts: 250 MB [PUT].
    pub simple_upload_max_bytes: u64,
    /// How long an upload session lives without activity (not documented; configurable).
    pub upload_session_lifetime_s: u64,
    /// Answer 401 when a client sends `Authorization` to an upload URL [CUS].
    pub strict_upload_auth: bool,
    /// Lifetime of a device code [DEV]: 900 s.
    pub device_code_lifetime_s: u64,
    /// Polling interval announced with a device code [DEV][obs]: 5 s.
    pub device_code_interval_s: u64,
    /// Lifetime of an authorization code [AUTH]: about 10 minutes.
    pub auth_code_lifetime_s: u64,
    /// Notification delivery attempts before a notification is dropped.
    pub notification_attempts_max: u32,
    /// First retry delay (real time) of notification delivery; doubles each attempt.
    pub notification_retry_base_ms: u64,
    /// Answers slower than this count as failed deliveries [WH]: 3 s.
    pub notification_timeout_ms: u64,
    /// The validation handshake must answer within this [WH]: 10 s.
    pub validation_timeout_ms: u64,
    /// Chance that an item of a calendar delta round is reported twice (replays are
    /// documented [DQO]); 0 by default, seeded.
    pub delta_duplicate_probability: f64,
    /// How long a socketIo endpoint works [SIO]: not documented; Graph's answer carries an
    /// `expirationDateTime`. 3,600 s by default, configurable.
    pub socketio_lifetime_s: u64,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            clock: Clock::real(),
            limits: Limits::default(),
            access_token_lifetime_s: None,
            refresh_token_lifetime_s: 90 * 24 * 3600,
            simple_upload_max_bytes: 250 * 1000 * 1000,
            upload_session_lifetime_s: 24 * 3600,
            strict_upload_auth: true,
            device_code_lifetime_s: 900,
            device_code_interval_s: 5,
            auth_code_lifetime_s: 600,
            notification_attempts_max: 5,
            notification_retry_base_ms: 200,
            notification_timeout_ms: 3_000,
            validation_timeout_ms: 10_000,
            delta_duplicate_probability: 0.0,
            socketio_lifetime_s: 3600,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) config: GraphConfig,
    pub(crate) clock: Clock,
    pub(crate) faults: FaultPlan,
    pub(crate) log: RequestLog,
    pub(crate) world: Mutex<state::World>,
    pub(crate) throttle: Mutex<http::ThrottleState>,
    pub(crate) http_client: reqwest::Client,
    pub(crate) socketio: socketio::Hub,
}

/// The emulator; clones share one state.
#[derive(Clone)]
pub struct GraphEmulator {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for GraphEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphEmulator")
            .field("seed", &self.inner.config.seed)
            .finish_non_exhaustive()
    }
}

impl GraphEmulator {
    pub fn new(config: GraphConfig) -> Self {
        let world = state::World::new(config.seed, config.clock.now());
        let throttle = http::ThrottleState::new(config.limits);
        let em = Self {
            inner: Arc::new(Inner {
                clock: config.clock.clone(),
                faults: FaultPlan::new(config.seed),
                log: RequestLog::new(),
                world: Mutex::new(world),
                throttle: Mutex::new(throttle),
                http_client: reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .unwrap_or_default(),
                socketio: socketio::Hub::new(),
                config,
            }),
        };
        socketio::install(&em);
        em
    }

    /// Graph under `/v1.0/…`, upload and download URLs, the identity platform under
    /// `/{tenant}/oauth2/v2.0/…` with its sign-in page, and the socketIo channel's Socket.IO
    /// server under `/socket.io/`.
    pub fn router(&self) -> Router {
        http::router(self.clone()).layer(self.inner.socketio.layer.clone())
    }

    /// The control API (see the README); the sim mounts it under `/graph`.
    pub fn control_router(&self) -> Router {
        control::router(self.clone())
    }

    /// Serves [`router`](Self::router) and, under `/_control`, the control API on one
    /// ephemeral loopback port.
    pub async fn start(config: GraphConfig) -> anyhow::Result<RunningGraph> {
        let emulator = GraphEmulator::new(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = emulator
            .router()
            .nest("/_control", emulator.control_router());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        let origin = format!("http://{addr}");
        Ok(RunningGraph {
            graph_url: format!("{origin}/v1.0"),
            identity_url: origin.clone(),
            control_url: format!("{origin}/_control"),
            emulator,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn faults(&self) -> &FaultPlan {
        &self.inner.faults
    }

    pub fn request_log(&self) -> &RequestLog {
        &self.inner.log
    }

    pub fn config(&self) -> &GraphConfig {
        &self.inner.config
    }

    pub fn limits(&self) -> Limits {
        http::lock(&self.inner.throttle).limits
    }

    pub fn set_limits(&self, limits: Limits) {
        http::lock(&self.inner.throttle).limits = limits;
    }

    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, state::World> {
        http::lock(&self.inner.world)
    }

    /// Creates a tenant (an Entra directory) with a verified domain.
    pub fn create_tenant(&self, domain: &str) -> TenantInfo {
        self.world().create_tenant(domain)
    }

    /// Creates a user (mailbox and drive) in the tenant with `domain`, creating the tenant if
    /// needed. `mail` is the user principal name.
    pub fn create_user(&self, mail: &str, display_name: &str, drive_type: DriveType) -> UserInfo {
        let now = self.inner.clock.now();
        self.world()
            .create_user(mail, display_name, drive_type, now)
    }

    pub fn users(&self) -> Vec<UserInfo> {
        self.world().user_infos()
    }

    /// An access token for `user` (id or mail), as if the user had signed in with every
    /// scope. A test shortcut beside the real flows.
    pub fn mint_token(&self, user: &str) -> Result<String, GraphError> {
        self.mint_token_with_lifetime(user, None)
    }

    /// [`mint_token`](Self::mint_token) with an explicit lifetime.
    pub fn mint_token_with_lifetime(
        &self,
        user: &str,
        lifetime: Option<Duration>,
    ) -> Result<String, GraphError> {
        let now = self.inner.clock.now();
        let default = self.inner.config.access_token_lifetime_s;
        let mut world = self.world();
        let user_id = world.resolve_user(user)?;
        let lifetime = lifetime.unwrap_or_else(|| world.access_token_lifetime(default));
        Ok(world.issue_access_token(&user_id, state::ALL_SCOPES, now, lifetime))
    }

    /// A refresh token for `user` (id or mail) issued to `client_id` for `scope`, as a
    /// finished interactive sign-in leaves it: the app's real token refresh starts from it.
    pub fn mint_refresh_token(
        &self,
        user: &str,
        client_id: &str,
        scope: &str,
    ) -> Result<String, GraphError> {
        let mut world = self.world();
        let user_id = world.resolve_user(user)?;
        Ok(identity::grant_refresh_token(
            &mut world, self, &user_id, client_id, scope,
        ))
    }

    /// Answers a `GET` in process as `user` (id or mail) would get it over HTTP: the same
    /// handlers and the same JSON, without the socket and the serialisation. For a test
    /// that looks at a mailbox without being one of its clients (a simulation's snapshot of
    /// both sides), so, as an observer should, it spends none of the mailbox's throttle
    /// window, draws no fault and writes no request-log line: what the clients under test
    /// meet does not depend on how often the test looks. `path_and_query` follows `/v1.0`;
    /// `prefer` is the `Prefer` header; `origin` (`http://host:port`) is where the links
    /// of the answer (`@odata.nextLink`) point. An error status comes back as the error.
    pub async fn get_as(
        &self,
        user: &str,
        path_and_query: &str,
        prefer: Option<&str>,
        origin: &str,
    ) -> Result<serde_json::Value, GraphError> {
        let user_id = self.world().resolve_user(user)?;
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let mut headers = axum::http::HeaderMap::new();
        if let Some(p) = prefer {
            let value = axum::http::HeaderValue::from_str(p)
                .map_err(|e| GraphError::bad_request("BadRequest", e.to_string()))?;
            headers.insert("prefer", value);
        }
        let req = http::GReq {
            method: axum::http::Method::GET,
            path: path.to_string(),
            query: http::parse_query(query),
            headers,
            body: axum::body::Bytes::new(),
            user_id,
            scopes: state::ALL_SCOPES.to_string(),
            origin: origin.to_string(),
        };
        let resp = http::dispatch(self, &req).await?;
        if !resp.status.is_success() {
            return Err(GraphError::new(
                resp.status,
                "UnexpectedStatus",
                "the answer was not a success",
            ));
        }
        match resp.body {
            http::GBody::Json(v) => Ok(v),
            http::GBody::Empty => Ok(serde_json::Value::Null),
            http::GBody::Bytes(b, _) => {
                serde_json::from_slice(&b).map_err(GraphError::invalid_body)
            }
        }
    }

    /// Every message Outlook would have sent to attendees, oldest first.
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        self.world().outbox.clone()
    }

    /// Makes every calendar delta token of `user` answer 410 `SyncStateNotFound`.
    pub fn expire_calendar_delta_tokens(&self, user: &str) -> Result<(), GraphError> {
        let mut world = self.world();
        let id = world.resolve_user(user)?;
        world.expire_calendar_tokens(&id);
        Ok(())
    }

    /// Makes every drive delta token of `user` answer 410 `resyncRequired`.
    pub fn expire_drive_delta_tokens(&self, user: &str) -> Result<(), GraphError> {
        let mut world = self.world();
        let id = world.resolve_user(user)?;
        world.expire_drive_tokens(&id);
        Ok(())
    }

    /// Makes every delta token of the drive `drive_id` (a user's or a library) answer 410.
    pub fn expire_drive_delta_tokens_of(&self, drive_id: &str) -> Result<(), GraphError> {
        let mut world = self.world();
        let d = world
            .drives
            .get_mut(drive_id)
            .ok_or_else(GraphError::item_not_found)?;
        d.expire_tokens();
        Ok(())
    }

    /// A SharePoint team site with one document library, "Documents", that `members`
    /// (ids or mails; the first owns it) can reach and follow.
    pub fn create_site(
        &self,
        display_name: &str,
        members: &[&str],
    ) -> Result<SiteInfo, GraphError> {
        let now = self.inner.clock.now();
        let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        self.world().create_site(display_name, &members, now)
    }

    /// The next `n` downloads are served with a flipped byte (their hash no longer matches
    /// the item's `quickXorHash`).
    pub fn corrupt_next_downloads(&self, n: u32) {
        self.world().corrupt_downloads = n;
    }

    /// The next `n` uploads (simple or session) are stored with a flipped byte, so the item
    /// Graph answers carries another hash than the bytes sent.
    pub fn corrupt_next_uploads(&self, n: u32) {
        self.world().corrupt_uploads = n;
    }

    /// Approves (or declines) a pending device code for `user`, as the person would on the
    /// verification page.
    pub fn approve_device_code(&self, user_code: &str, user: &str) -> Result<(), GraphError> {
        let mut world = self.world();
        let id = world.resolve_user(user)?;
        world.decide_device_code(user_code, Some(id))
    }

    pub fn decline_device_code(&self, user_code: &str) -> Result<(), GraphError> {
        self.world().decide_device_code(user_code, None)
    }

    /// Sends a lifecycle notification (`reauthorizationRequired`, `subscriptionRemoved`,
    /// `missed`) for a subscription; `subscriptionRemoved` also removes it.
    pub fn trigger_lifecycle(&self, subscription_id: &str, event: &str) -> Result<(), GraphError> {
        subscriptions::trigger_lifecycle(self, subscription_id, event)
    }

    /// Every change-notification POST attempted so far (URL, count, attempt, status).
    pub fn deliveries(&self) -> Vec<Delivery> {
        subscriptions::deliveries(self)
    }

    /// Seeds the `demo` scenario: Alice and Bob in one tenant; Alice's dentist visit, a
    /// weekly series, an all-day offsite, and "Budget review", a Teams meeting with Bob as
    /// attendee (so Bob holds a copy) that Alice moved an hour after inviting him: the
    /// conflict-prone pair, whose changeKey no longer matches the one at creation. Files
    /// under `Odoo Sync/…` and `Notes/` in Alice's drive.
    pub fn seed_demo(&self) {
        state::seed_demo(self);
    }
}

/// A started emulator; dropping it stops the server.
#[derive(Debug)]
pub struct RunningGraph {
    /// Graph base URL, ending in `/v1.0`.
    pub graph_url: String,
    /// Authority base: `{identity_url}/{tenant}/oauth2/v2.0/…`.
    pub identity_url: String,
    pub control_url: String,
    pub emulator: GraphEmulator,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningGraph {
    /// [`GraphEmulator::get_as`] with this server's origin; `path` is what follows
    /// `/v1.0`, or a whole link the emulator handed out (an `@odata.nextLink`).
    pub async fn get_as(
        &self,
        user: &str,
        path: &str,
        prefer: Option<&str>,
    ) -> Result<serde_json::Value, GraphError> {
        let path = path.strip_prefix(self.graph_url.as_str()).unwrap_or(path);
        self.emulator
            .get_as(user, path, prefer, &self.identity_url)
            .await
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningGraph {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
