//! Webhooks for the app's long-running hosts (`odoo365 daemon`, the desktop app): the
//! engine's loopback [`Listener`] on a port chosen once per install, one
//! [`SubscriptionManager`] per profile with a public URL, the Graph client behind it, and
//! the profile's webhook secret in the keychain.
//!
//! A change notification calls the host's `wake` with the profile id (the host runs the
//! delta poll); lifecycle notifications are handled here, after the listener has replied.
//! Polling keeps running at the profile's interval in every mode: notifications can be
//! lost, delta cannot [spec §13].

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use odoo365_auth::{Secret, SecretKind};
use odoo365_engine::ports::PortResult;
use odoo365_engine::state::LinkKind;
use odoo365_engine::webhook::socketio::{
    run_channel, ChannelConfig, SocketIoEndpoint, SocketIoPort, StatusSink,
};
use odoo365_engine::webhook::{
    only_echoes, BoundListener, CreatedSubscription, EventKind, Listener, Mode, NewSubscription,
    Resource, SubscriptionManager, SubscriptionPort, WebhookEvent, WebhookStatus, STATUS_CURSOR,
};
use odoo365_engine::Store;
use odoo365_graph::models::Subscription;
use odoo365_graph::GraphClient;

use crate::connect::{graph_client, token_source, GraphTokens};
use crate::ports::graph_port_error;
use crate::{App, AppError, ErrorCode, Profile};

/// Where the install's listener port is kept, in the data directory.
const LISTEN_FILE: &str = "webhook-listener";

/// How often a profile that fell back to polling tries to subscribe again, and the longest
/// the maintenance loop sleeps.
const RETRY_EVERY: Duration = Duration::from_secs(15 * 60);

/// Called with a profile id when a notification asks for its delta poll. Must return
/// quickly (set a flag, notify a task).
pub type Wake = Arc<dyn Fn(&str) + Send + Sync>;

/// Graph's `/subscriptions` through the real client.
pub struct GraphSubscriptions(pub GraphClient);

#[async_trait]
impl SubscriptionPort for GraphSubscriptions {
    async fn create(&self, sub: &NewSubscription) -> PortResult<CreatedSubscription> {
        let created = self
            .0
            .create_subscription(&Subscription {
                change_type: sub.resource.change_type().into(),
                notification_url: sub.notification_url.clone(),
                lifecycle_notification_url: Some(sub.lifecycle_url.clone()),
                resource: sub.resource.graph_resource().into(),
                expiration_date_time: sub.expires,
                client_state: Some(sub.client_state.clone()),
                ..Default::default()
            })
            .await
            .map_err(graph_port_error)?;
        Ok(CreatedSubscription {
            id: created.id,
            expires: created.expiration_date_time,
        })
    }

    async fn renew(&self, id: &str, expires: DateTime<Utc>) -> PortResult<DateTime<Utc>> {
        let s = self
            .0
            .renew_subscription(id, expires)
            .await
            .map_err(graph_port_error)?;
        Ok(s.expiration_date_time)
    }

    async fn reauthorize(&self, id: &str) -> PortResult<()> {
        self.0
            .reauthorize_subscription(id)
            .await
            .map_err(graph_port_error)
    }

    async fn delete(&self, id: &str) -> PortResult<()> {
        self.0
            .delete_subscription(id)
            .await
            .map_err(graph_port_error)
    }
}

/// Graph's socketIo endpoint of the profile's documents drive, through the real client.
pub struct GraphSocketIo(pub GraphClient);

#[async_trait]
impl SocketIoPort for GraphSocketIo {
    async fn endpoint(&self) -> PortResult<SocketIoEndpoint> {
        let e = self
            .0
            .socket_io_endpoint()
            .await
            .map_err(graph_port_error)?;
        Ok(SocketIoEndpoint {
            notification_url: e.notification_url,
            expires: e.expiration_date_time,
        })
    }
}

/// Whether a profile's documents get push over OneDrive's socketIo channel: it syncs
/// documents and has no public webhook URL. With a URL the drive root has a webhook
/// subscription, which pushes already; both would only wake the same poll twice.
pub fn wants_socketio(profile: &Profile) -> bool {
    profile.settings.documents && profile.settings.webhook_url.is_none()
}

/// A running socketIo channel; [`SocketIoHandle::stop`] ends it and records polling.
#[derive(Debug)]
pub struct SocketIoHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl SocketIoHandle {
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for SocketIoHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// What a profile subscribes to: its calendar events and, when it syncs documents to
/// OneDrive, the drive root.
fn resources(profile: &Profile) -> Vec<Resource> {
    let mut r = Vec::new();
    if profile.settings.calendar {
        r.push(Resource::Events);
    }
    if profile.settings.documents {
        r.push(Resource::Drive);
    }
    r
}

/// The running webhook side of a host: the listener's routes and one manager per
/// activated profile.
pub struct Webhooks {
    addr: SocketAddr,
    listener: Listener,
    lifecycle: mpsc::Receiver<WebhookEvent>,
    wake: Wake,
    managers: BTreeMap<String, SubscriptionManager>,
    clock: Arc<dyn odoo365_engine::Clock>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The listener address saved for this install, if one was chosen.
    pub fn saved_listen_addr(&self) -> Option<SocketAddr> {
        std::fs::read_to_string(self.data_dir().join(LISTEN_FILE))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Binds the webhook listener: on `listen`, else on the port saved for this install,
    /// else on a free loopback port that is then saved (the public URL's forwarding points
    /// at it, so it must not change between runs). Run the returned [`BoundListener`] in a
    /// task; [`Webhooks::activate`] the profiles.
    pub async fn start_webhooks(
        &self,
        listen: Option<SocketAddr>,
        wake: Wake,
    ) -> Result<(Webhooks, BoundListener), AppError> {
        let (tx, rx) = mpsc::channel::<WebhookEvent>(256);
        let on_change = wake.clone();
        // The listener's own connection: it tells the echoes of the profile's own writes
        // from other people's changes.
        let store = std::sync::Mutex::new(Store::open(&self.data_dir().join("sync.db"))?);
        let listener = Listener::new(Arc::new(move |e: WebhookEvent| match e.kind {
            EventKind::Changed if only_own_writes(&store, &e) => {
                tracing::debug!(
                    profile = %e.profile_id,
                    changes = e.changes.len(),
                    "change notification for the profile's own writes: no poll"
                );
            }
            EventKind::Changed => on_change(&e.profile_id),
            // Lifecycle work calls Graph: queued for the maintenance task. A full queue
            // means hundreds are waiting; a dropped one is caught by the periodic ensure.
            _ => {
                if tx.try_send(e).is_err() {
                    tracing::warn!("lifecycle notification dropped: queue full");
                }
            }
        }));
        let saved = self.saved_listen_addr();
        let addr = listen
            .or(saved)
            .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let bound = listener.bind(addr).await.map_err(|e| {
            AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "{e}; is the desktop app or another `odoo365 daemon` already listening? \
                     Choose another address with `odoo365 daemon --listen 127.0.0.1:PORT`"
                ),
            )
        })?;
        if listen.is_none() && saved.is_none() {
            let path = self.data_dir().join(LISTEN_FILE);
            std::fs::write(&path, bound.addr.to_string()).map_err(|e| {
                AppError::new(
                    ErrorCode::Storage,
                    format!("cannot save the listener port in {}: {e}", path.display()),
                )
            })?;
        }
        Ok((
            Webhooks {
                addr: bound.addr,
                listener,
                lifecycle: rx,
                wake,
                managers: BTreeMap::new(),
                clock: self.clock.clone(),
            },
            bound,
        ))
    }

    /// The profile's webhook secret, created on first use (never leaves the keychain
    /// except as the HMAC-derived `clientState`s).
    fn webhook_secret(&self, profile: &Profile) -> Result<String, AppError> {
        if let Some(s) = self
            .keychain
            .get(&profile.id, SecretKind::WebhookClientState)?
        {
            return Ok(s.expose().to_string());
        }
        let fresh = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.keychain.set(
            &profile.id,
            SecretKind::WebhookClientState,
            &Secret::new(fresh.clone()),
        )?;
        Ok(fresh)
    }

    fn subscription_manager(
        &self,
        profile: &Profile,
        listener: Listener,
        port: Option<Arc<dyn SubscriptionPort>>,
    ) -> Result<SubscriptionManager, AppError> {
        let port = match port {
            Some(p) => p,
            None => {
                let tokens = token_source(profile, self.keychain.clone())?;
                Arc::new(GraphSubscriptions(graph_client(
                    profile,
                    Arc::new(GraphTokens(tokens)),
                )?))
            }
        };
        Ok(SubscriptionManager::new(
            &profile.id,
            profile.settings.webhook_url.clone(),
            resources(profile),
            self.webhook_secret(profile)?,
            Store::open(&self.data_dir().join("sync.db"))?,
            port,
            self.clock.clone(),
            listener,
        ))
    }

    /// Deletes a profile's subscriptions at Microsoft and forgets them (before removing
    /// the profile or signing out). Works without a running listener.
    pub async fn delete_webhook_subscriptions(&self, profile: &str) -> Result<(), AppError> {
        // An unknown profile has none; its removal reports that.
        let Ok(profile) = self.profile(profile) else {
            return Ok(());
        };
        let has_any = {
            let store = self.store();
            Resource::ALL
                .iter()
                .map(|r| store.webhook_subscription(&profile.id, *r))
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .any(Option::is_some)
        };
        if !has_any {
            return Ok(());
        }
        let mut m = self.subscription_manager(&profile, Listener::new(Arc::new(|_| {})), None)?;
        m.remove_all("webhooks are off for this profile")
            .await
            .map_err(manager_error)
    }

    fn record_webhook_status(
        &self,
        profile: &Profile,
        status: &WebhookStatus,
    ) -> Result<(), AppError> {
        let json = serde_json::to_string(status).map_err(AppError::internal)?;
        self.set_marker(
            &profile.id,
            odoo365_engine::webhook::STATUS_CURSOR,
            Some(&json),
        )
    }

    /// Starts the profile's socketIo channel (OneDrive push without a public URL) in a task:
    /// each notification and each (re)connection calls `wake` with the profile id; the mode
    /// (`push (socketIo)` or `polling` and why) is recorded for `status` as it changes.
    /// `port` replaces Graph (tests); `None` uses the profile's drive through its client.
    pub fn start_socketio(
        &self,
        profile: &Profile,
        port: Option<Arc<dyn SocketIoPort>>,
        config: ChannelConfig,
        wake: Wake,
    ) -> Result<SocketIoHandle, AppError> {
        let port = match port {
            Some(p) => p,
            None => {
                let tokens = token_source(profile, self.keychain.clone())?;
                let client = graph_client(profile, Arc::new(GraphTokens(tokens)))?;
                let drive = match &profile.settings.drive {
                    crate::settings::DriveTarget::MyOneDrive => None,
                    crate::settings::DriveTarget::Library { drive_id, .. } => {
                        Some(drive_id.as_str())
                    }
                };
                Arc::new(GraphSocketIo(client.with_drive(drive)))
            }
        };
        // The sink runs in the channel's task: it keeps a store connection of its own.
        let store = std::sync::Mutex::new(Store::open(&self.data_dir().join("sync.db"))?);
        let clock = self.clock.clone();
        let id = profile.id.clone();
        let sink: StatusSink = Arc::new(move |status: &WebhookStatus| {
            let json = serde_json::to_string(status).unwrap_or_default();
            let now = clock.now();
            let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = store.tx(|t| t.set_cursor(&id, STATUS_CURSOR, &json, now)) {
                tracing::warn!(error = %e, "the socketIo mode was not recorded");
            }
        });
        let wake_profile = {
            let id = profile.id.clone();
            Arc::new(move || wake(&id))
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run_channel(
            port,
            self.clock.clone(),
            config,
            wake_profile,
            sink,
            async {
                let _ = rx.await;
            },
        ));
        Ok(SocketIoHandle {
            stop: Some(tx),
            task,
        })
    }

    /// How a profile learns of Microsoft-side changes, and why: for `status`.
    pub(crate) fn webhook_mode(&self, profile: &Profile) -> Result<WebhookStatus, AppError> {
        if profile.settings.webhook_url.is_none() {
            let every = profile.settings.poll_interval_minutes;
            if wants_socketio(profile) {
                // A webhook status left from when the profile had a URL does not count.
                let recorded =
                    SubscriptionManager::recorded_status(&mut self.store(), &profile.id)?
                        .filter(|s| s.mode != Mode::Webhook);
                return Ok(recorded.unwrap_or_else(|| {
                    WebhookStatus::polling(format!(
                        "OneDrive's socketIo channel runs in `odoo365 daemon` and the desktop \
                         app; until then the profile polls every {every} min"
                    ))
                }));
            }
            return Ok(WebhookStatus::polling(format!(
                "no public webhook URL is set; the profile polls every {every} min"
            )));
        }
        let recorded = SubscriptionManager::recorded_status(&mut self.store(), &profile.id)?;
        Ok(recorded.unwrap_or_else(|| {
            WebhookStatus::polling(
                "the webhook listener has not run yet: it runs in `odoo365 daemon` and the \
                 desktop app",
            )
        }))
    }
}

fn manager_error(e: odoo365_engine::webhook::ManagerError) -> AppError {
    match e {
        odoo365_engine::webhook::ManagerError::Store(s) => s.into(),
    }
}

impl Webhooks {
    /// The loopback address the listener serves on (the public URL forwards here).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Subscribes a profile (or records why it polls) and returns its mode.
    pub async fn activate(&mut self, app: &App, profile: &str) -> Result<WebhookStatus, AppError> {
        self.activate_with(app, profile, None).await
    }

    /// [`Webhooks::activate`] with another subscription port (tests).
    pub async fn activate_with(
        &mut self,
        app: &App,
        profile: &str,
        port: Option<Arc<dyn SubscriptionPort>>,
    ) -> Result<WebhookStatus, AppError> {
        let profile = app.profile(profile)?;
        if profile.settings.webhook_url.is_some()
            && app
                .keychain
                .get(&profile.id, SecretKind::MicrosoftRefreshToken)?
                .is_none()
        {
            let status = WebhookStatus::polling("not signed in to Microsoft yet");
            let mut m = app.subscription_manager(&profile, self.listener.clone(), port)?;
            m.record_polling(status.reason.as_deref().unwrap_or_default())
                .map_err(AppError::from)?;
            return Ok(status);
        }
        let mut m = app.subscription_manager(&profile, self.listener.clone(), port)?;
        let status = m.ensure().await.map_err(manager_error)?;
        self.managers.insert(profile.id.clone(), m);
        Ok(status)
    }

    /// Deletes a profile's subscriptions and closes its routes.
    pub async fn deactivate(&mut self, profile_id: &str, reason: &str) -> Result<(), AppError> {
        if let Some(mut m) = self.managers.remove(profile_id) {
            m.remove_all(reason).await.map_err(manager_error)?;
        }
        Ok(())
    }

    /// Renews what is due and retries profiles that fell back to polling.
    pub async fn maintain(&mut self) -> Vec<(String, WebhookStatus)> {
        let mut out = Vec::new();
        for (id, m) in self.managers.iter_mut() {
            match m.ensure().await {
                Ok(s) => out.push((id.clone(), s)),
                Err(e) => tracing::warn!(profile = %id, error = %e, "webhook upkeep failed"),
            }
        }
        out
    }

    /// Acts on one lifecycle notification; wakes the profile when it needs a poll.
    pub async fn handle(&mut self, event: &WebhookEvent) {
        let Some(m) = self.managers.get_mut(&event.profile_id) else {
            return;
        };
        match m.on_event(event).await {
            Ok(true) => (self.wake)(&event.profile_id),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "lifecycle notification not handled"),
        }
    }

    /// The next lifecycle notification (for hosts that run their own loop).
    pub async fn next_lifecycle(&mut self) -> Option<WebhookEvent> {
        self.lifecycle.recv().await
    }

    fn sleep_for(&self) -> Duration {
        let now = self.clock.now();
        let mut next = RETRY_EVERY;
        for m in self.managers.values() {
            if let Ok(Some(at)) = m.next_renewal() {
                let d = (at - now).to_std().unwrap_or(Duration::ZERO);
                next = next.min(d.max(Duration::from_secs(1)));
            }
        }
        next
    }

    /// Handles lifecycle notifications and renews in time until `stop`; then records that
    /// the profiles poll (notifications no longer reach anything).
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let wait = self.sleep_for();
            tokio::select! {
                _ = &mut stop => break,
                e = self.lifecycle.recv() => match e {
                    Some(e) => self.handle(&e).await,
                    None => break,
                },
                _ = tokio::time::sleep(wait) => {
                    let due: Vec<_> = self.maintain().await;
                    for (id, s) in due {
                        if s.mode == Mode::Polling {
                            tracing::info!(profile = %id, reason = ?s.reason, "webhooks unavailable; polling");
                        }
                    }
                }
            }
        }
        for m in self.managers.values_mut() {
            // Subscriptions stay at Graph (they expire by themselves, and the next start
            // keeps them); until then the profile relies on polling.
            let _ = m.record_polling("the webhook listener is stopped");
        }
    }
}

impl App {
    /// Webhooks for every profile of the install, for a host with its own scheduler (the
    /// desktop app): binds the listener once a profile has a public URL, subscribes
    /// profiles as their URL is set, unsubscribes them when it is cleared or the profile is
    /// removed (looked at every minute), renews in time and handles lifecycle
    /// notifications, until `stop`. A listener that cannot start leaves every such profile
    /// polling with the reason in its status.
    pub async fn serve_webhooks(
        &self,
        listen: Option<SocketAddr>,
        wake: Wake,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), AppError> {
        const SCAN_EVERY: Duration = Duration::from_secs(60);
        tokio::pin!(stop);
        let mut hooks: Option<Webhooks> = None;
        let mut stop_listener = None;
        let mut start_failed = false;
        let mut next_upkeep = self.now();
        let mut channels: BTreeMap<String, (crate::settings::DriveTarget, SocketIoHandle)> =
            BTreeMap::new();
        loop {
            let profiles = self.profiles()?;
            self.keep_socketio_channels(&profiles, &mut channels, &wake)
                .await;
            let wanted: Vec<&Profile> = profiles
                .iter()
                .filter(|p| p.settings.webhook_url.is_some())
                .collect();
            if hooks.is_none() && !wanted.is_empty() && !start_failed {
                match self.start_webhooks(listen, wake.clone()).await {
                    Ok((h, bound)) => {
                        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                        tokio::spawn(bound.run(async {
                            let _ = rx.await;
                        }));
                        stop_listener = Some(tx);
                        hooks = Some(h);
                    }
                    Err(e) => {
                        start_failed = true;
                        for p in &wanted {
                            self.record_webhook_status(
                                p,
                                &WebhookStatus::polling(e.message.clone()),
                            )?;
                        }
                    }
                }
            }
            if let Some(h) = hooks.as_mut() {
                let stale: Vec<String> = h
                    .managers
                    .iter()
                    .filter(|(id, m)| {
                        !wanted.iter().any(|p| {
                            &p.id == *id && p.settings.webhook_url.as_deref() == m.public_url()
                        })
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in stale {
                    if let Err(e) = h
                        .deactivate(&id, "the public webhook URL was removed")
                        .await
                    {
                        tracing::warn!(profile = %id, error = %e.message, "webhooks not turned off");
                    }
                }
                for p in &wanted {
                    if !h.managers.contains_key(&p.id) {
                        if let Err(e) = h.activate(self, &p.id).await {
                            tracing::warn!(profile = %p.name, error = %e.message, "webhooks not turned on");
                        }
                    }
                }
                if self.now() >= next_upkeep {
                    h.maintain().await;
                    next_upkeep = self.now()
                        + chrono::Duration::from_std(h.sleep_for())
                            .unwrap_or(chrono::Duration::minutes(15));
                }
            }
            let wait = SCAN_EVERY;
            match hooks.as_mut() {
                Some(h) => tokio::select! {
                    _ = &mut stop => break,
                    e = h.lifecycle.recv() => if let Some(e) = e { h.handle(&e).await },
                    _ = tokio::time::sleep(wait) => {}
                },
                None => tokio::select! {
                    _ = &mut stop => break,
                    _ = tokio::time::sleep(wait) => {}
                },
            }
        }
        if let Some(mut h) = hooks {
            for m in h.managers.values_mut() {
                let _ = m.record_polling("the webhook listener is stopped");
            }
        }
        if let Some(tx) = stop_listener {
            let _ = tx.send(());
        }
        for (_, (_, channel)) in channels {
            channel.stop().await;
        }
        Ok(())
    }

    /// The socketIo channels of a host: one per signed-in profile that [`wants_socketio`],
    /// restarted when its drive changes, stopped when it no longer wants one.
    async fn keep_socketio_channels(
        &self,
        profiles: &[Profile],
        channels: &mut BTreeMap<String, (crate::settings::DriveTarget, SocketIoHandle)>,
        wake: &Wake,
    ) {
        let wanted: Vec<&Profile> = profiles
            .iter()
            .filter(|p| wants_socketio(p))
            .filter(|p| {
                matches!(
                    self.keychain.get(&p.id, SecretKind::MicrosoftRefreshToken),
                    Ok(Some(_))
                )
            })
            .collect();
        let stale: Vec<String> = channels
            .iter()
            .filter(|(id, (drive, _))| {
                !wanted
                    .iter()
                    .any(|p| &p.id == *id && &p.settings.drive == drive)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            if let Some((_, channel)) = channels.remove(&id) {
                channel.stop().await;
            }
        }
        for p in wanted {
            if channels.contains_key(&p.id) {
                continue;
            }
            let config = ChannelConfig {
                polling_every: Duration::from_secs(
                    u64::from(p.settings.poll_interval_minutes) * 60,
                ),
                ..ChannelConfig::default()
            };
            match self.start_socketio(p, None, config, wake.clone()) {
                Ok(h) => {
                    channels.insert(p.id.clone(), (p.settings.drive.clone(), h));
                }
                Err(e) => {
                    tracing::warn!(profile = %p.name, error = %e.message, "socketIo channel not started");
                    let _ = self.record_webhook_status(
                        p,
                        &WebhookStatus::polling(format!(
                            "the socketIo channel could not start: {}",
                            e.message
                        )),
                    );
                }
            }
        }
    }

    /// [`App::daemon`] with webhooks: the listener runs beside the loop, a notification
    /// starts the next cycle at once, and polling stays as the safety net — every
    /// `interval`, or with `None` at the profile's own polling interval.
    ///
    /// The profile's settings are read again every [`SETTINGS_CHECK`] while the daemon
    /// waits, so `odoo365 profile set` takes effect without a restart: a new or removed
    /// public webhook URL deletes the old subscriptions and creates the new ones (or falls
    /// back to polling), and a new polling interval moves the next cycle. `on_mode` is told
    /// where the listener is (none without a public URL or when the port is taken) and the
    /// profile's mode, at start and after each such change. A removed profile ends the
    /// daemon with its error.
    pub async fn daemon_with_webhooks(
        &self,
        profile: &str,
        interval: Option<Duration>,
        listen: Option<SocketAddr>,
        stop: impl std::future::Future<Output = ()>,
        mut on_mode: impl FnMut(Option<SocketAddr>, &WebhookStatus),
        mut on_cycle: impl FnMut(&Result<crate::SyncResult, AppError>),
    ) -> Result<(), AppError> {
        let mut profile = self.profile(profile)?;
        let woken = Arc::new(tokio::sync::Notify::new());
        let wake: Wake = {
            let (woken, id) = (woken.clone(), profile.id.clone());
            Arc::new(move |p: &str| {
                if p == id {
                    woken.notify_one();
                }
            })
        };
        // OneDrive push without a public URL; the channel records its own mode.
        let mut channels = BTreeMap::new();
        self.keep_socketio_channels(std::slice::from_ref(&profile), &mut channels, &wake)
            .await;
        let poll_every = |p: &Profile| {
            interval.unwrap_or(Duration::from_secs(
                u64::from(p.settings.poll_interval_minutes) * 60,
            ))
        };
        let mut hooks = self
            .daemon_hooks(&profile, listen, wake.clone(), &mut on_mode)
            .await?;
        tokio::pin!(stop);
        let outcome = 'cycles: loop {
            let result = self.sync(&profile.id, false, false).await;
            on_cycle(&result);
            let ended = tokio::time::Instant::now();
            let mut deadline = ended + crate::sync::next_wait(&result, poll_every(&profile));
            if let Err(e) = self.note_next_sync(&profile, deadline) {
                break 'cycles Err(e);
            }
            loop {
                tokio::select! {
                    _ = &mut stop => break 'cycles Ok(()),
                    _ = tokio::time::sleep_until(deadline) => break,
                    _ = woken.notified() => {
                        tracing::info!(profile = %profile.name, "woken by a change notification");
                        break;
                    }
                    _ = tokio::time::sleep(SETTINGS_CHECK) => {
                        let fresh = match self.profile(&profile.id) {
                            Ok(p) => p,
                            Err(e) => break 'cycles Err(e),
                        };
                        let (old, new) = (&profile.settings, &fresh.settings);
                        if old.webhook_url != new.webhook_url {
                            tracing::info!(profile = %fresh.name, "the public webhook URL changed");
                            if let Some(h) = hooks.take() {
                                h.stop().await;
                            }
                            if let Err(e) = self.delete_webhook_subscriptions(&fresh.id).await {
                                tracing::warn!(error = %e, "old webhook subscriptions not deleted");
                            }
                            hooks = match self
                                .daemon_hooks(&fresh, listen, wake.clone(), &mut on_mode)
                                .await
                            {
                                Ok(h) => h,
                                Err(e) => break 'cycles Err(e),
                            };
                        }
                        if old.poll_interval_minutes != new.poll_interval_minutes && interval.is_none() {
                            tracing::info!(
                                profile = %fresh.name,
                                minutes = new.poll_interval_minutes,
                                "the polling interval changed"
                            );
                            // Counted from the last cycle, as if it had always been so (a
                            // deadline already past runs the cycle now); a Retry-After
                            // longer than the new interval still holds.
                            deadline = ended + crate::sync::next_wait(&result, poll_every(&fresh));
                            if let Err(e) = self.note_next_sync(&fresh, deadline) {
                                break 'cycles Err(e);
                            }
                        }
                        if (old.documents, &old.drive, &old.webhook_url)
                            != (new.documents, &new.drive, &new.webhook_url)
                        {
                            self.keep_socketio_channels(
                                std::slice::from_ref(&fresh),
                                &mut channels,
                                &wake,
                            )
                            .await;
                        }
                        profile = fresh;
                    }
                }
            }
        };
        if let Some(h) = hooks {
            h.stop().await;
        }
        for (_, (_, channel)) in channels {
            channel.stop().await;
        }
        self.set_marker(&profile.id, crate::status::NEXT_SYNC_AT, None)?;
        outcome
    }

    /// Records when the daemon's next cycle starts, for `status`.
    fn note_next_sync(
        &self,
        profile: &Profile,
        deadline: tokio::time::Instant,
    ) -> Result<(), AppError> {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let next =
            self.now() + chrono::Duration::from_std(left).unwrap_or(chrono::Duration::minutes(5));
        self.set_marker(
            &profile.id,
            crate::status::NEXT_SYNC_AT,
            Some(&next.to_rfc3339()),
        )
    }

    /// The daemon's webhook side for the profile's current settings: the listener and
    /// subscriptions when it has a public URL (or a `listen` address was asked for), else
    /// nothing. A listener that cannot start leaves the profile polling, with the reason.
    async fn daemon_hooks(
        &self,
        profile: &Profile,
        listen: Option<SocketAddr>,
        wake: Wake,
        on_mode: &mut impl FnMut(Option<SocketAddr>, &WebhookStatus),
    ) -> Result<Option<DaemonHooks>, AppError> {
        // Without a public URL there is nothing to listen for: no port is taken, so
        // daemons of several profiles can run side by side.
        if profile.settings.webhook_url.is_none() && listen.is_none() {
            on_mode(None, &self.webhook_mode(profile)?);
            return Ok(None);
        }
        match self.start_webhooks(listen, wake).await {
            Ok((mut hooks, bound)) => {
                let (stop_listener, listener_stopped) = tokio::sync::oneshot::channel::<()>();
                let (stop_upkeep, upkeep_stopped) = tokio::sync::oneshot::channel::<()>();
                // Serving first: Graph's handshake arrives while the subscription is created.
                let serving = tokio::spawn(bound.run(async {
                    let _ = listener_stopped.await;
                }));
                let status = match hooks.activate(self, &profile.id).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = stop_listener.send(());
                        let _ = serving.await;
                        return Err(e);
                    }
                };
                on_mode(Some(hooks.addr()), &status);
                let upkeep = tokio::spawn(hooks.run(async {
                    let _ = upkeep_stopped.await;
                }));
                Ok(Some(DaemonHooks {
                    stop_listener,
                    stop_upkeep,
                    serving,
                    upkeep,
                }))
            }
            Err(e) => {
                let status = WebhookStatus::polling(e.message.clone());
                self.record_webhook_status(profile, &status)?;
                on_mode(None, &status);
                Ok(None)
            }
        }
    }
}

/// How often a waiting daemon reads its profile's settings again: a single row of the
/// local database, so cheap enough to make `odoo365 profile set` feel immediate.
pub const SETTINGS_CHECK: Duration = Duration::from_secs(2);

/// The daemon's running listener and upkeep tasks.
struct DaemonHooks {
    stop_listener: tokio::sync::oneshot::Sender<()>,
    stop_upkeep: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    upkeep: tokio::task::JoinHandle<()>,
}

impl DaemonHooks {
    /// Stops both and waits for them: the port is free again afterwards.
    async fn stop(self) {
        let _ = self.stop_listener.send(());
        let _ = self.stop_upkeep.send(());
        let _ = self.serving.await;
        let _ = self.upkeep.await;
    }
}

/// Whether a change notification only echoes writes the profile's store already holds
/// (each event at the changeKey of its link's baseline), so a poll would read nothing
/// new. Every Odoo → Outlook write of a cycle posts one such notification; waking on them
/// ran a second cycle after each, and its Odoo reads (paced to about one a second) held
/// up the next real change: in the bench, Outlook → Odoo took longer with webhooks than
/// polling every 2 s. A store that cannot be read wakes, as before.
fn only_own_writes(store: &std::sync::Mutex<Store>, e: &WebhookEvent) -> bool {
    let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
    store
        .tx(|t| {
            let known = |id: &str| {
                let link = t.link_by_graph(&e.profile_id, LinkKind::Event, id).ok()??;
                t.baseline(link.id).ok()??.graph_version
            };
            Ok(only_echoes(e, known))
        })
        .unwrap_or(false)
}
