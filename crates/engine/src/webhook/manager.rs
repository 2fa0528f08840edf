//! One profile's subscriptions: created when the profile has a public URL, renewed a
//! quarter of their lifetime before expiry, reauthorized or recreated on lifecycle
//! notifications, deleted on sign-out or removal. Every failure leaves the profile polling
//! with the reason in its [`WebhookStatus`], never silently without updates.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::STATUS_CURSOR;
use super::{client_state, EventKind, Listener, Mode, Resource, WebhookEvent, WebhookStatus};
use crate::ports::{PortError, PortResult};
use crate::{Clock, Store, StoreError};

/// A subscription to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub resource: Resource,
    pub notification_url: String,
    pub lifecycle_url: String,
    pub expires: DateTime<Utc>,
    pub client_state: String,
}

/// What Graph answered to a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSubscription {
    pub id: String,
    pub expires: DateTime<Utc>,
}

/// A subscription as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubscription {
    pub resource: Resource,
    pub id: String,
    pub notification_url: String,
    pub expires_at: DateTime<Utc>,
}

/// Graph's `/subscriptions` calls, as the app's Graph client makes them.
#[async_trait]
pub trait SubscriptionPort: Send + Sync {
    /// `POST /subscriptions`; Graph validates the URLs before answering (a failed
    /// handshake is `Rejected`).
    async fn create(&self, sub: &NewSubscription) -> PortResult<CreatedSubscription>;
    /// `PATCH /subscriptions/{id}` with a new expiry; returns the expiry Graph set.
    async fn renew(&self, id: &str, expires: DateTime<Utc>) -> PortResult<DateTime<Utc>>;
    /// `POST /subscriptions/{id}/reauthorize`.
    async fn reauthorize(&self, id: &str) -> PortResult<()>;
    /// `DELETE /subscriptions/{id}`.
    async fn delete(&self, id: &str) -> PortResult<()>;
}

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct SubscriptionManager {
    profile_id: String,
    public_url: Option<String>,
    resources: Vec<Resource>,
    secret: String,
    store: Store,
    port: Arc<dyn SubscriptionPort>,
    clock: Arc<dyn Clock>,
    listener: Listener,
}

impl std::fmt::Debug for SubscriptionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionManager")
            .field("profile_id", &self.profile_id)
            .field("public_url", &self.public_url)
            .field("resources", &self.resources)
            .finish_non_exhaustive()
    }
}

fn describe(resource: Resource, e: &PortError) -> String {
    let what = resource.graph_resource();
    match e {
        PortError::Rejected { message } => format!(
            "Microsoft refused the subscription to {what} ({message}); check that the public \
             URL forwards to this computer's listener"
        ),
        PortError::SignInNeeded { message } => {
            format!("the subscription to {what} needs a new sign-in ({message})")
        }
        other => format!("the subscription to {what} failed ({other}); tried again later"),
    }
}

/// The id in Graph's 409 "Subscription Id {id} already exists for the requested
/// combination" [spec §5.1].
fn duplicate_of(e: &PortError) -> Option<String> {
    let PortError::Rejected { message } = e else {
        return None;
    };
    if !message.contains("already exists") {
        return None;
    }
    let rest = message.split("Subscription Id ").nth(1)?;
    rest.split_whitespace().next().map(str::to_string)
}

impl SubscriptionManager {
    /// A manager for one profile. `public_url` is the profile's webhook URL (its path is
    /// kept: the routes are appended); `secret` is the profile's webhook secret from the
    /// keychain; `store` is a connection of the manager's own.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        profile_id: &str,
        public_url: Option<String>,
        resources: Vec<Resource>,
        secret: String,
        store: Store,
        port: Arc<dyn SubscriptionPort>,
        clock: Arc<dyn Clock>,
        listener: Listener,
    ) -> Self {
        SubscriptionManager {
            profile_id: profile_id.to_string(),
            public_url: public_url.filter(|u| !u.trim().is_empty()),
            resources,
            secret,
            store,
            port,
            clock,
            listener,
        }
    }

    pub fn profile_id(&self) -> &str {
        &self.profile_id
    }

    /// The public URL the subscriptions point at.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    fn url(&self, resource: Resource, lifecycle: bool) -> Option<String> {
        self.public_url.as_ref().map(|u| {
            format!(
                "{}{}",
                u.trim_end_matches('/'),
                Listener::path(&self.profile_id, resource, lifecycle)
            )
        })
    }

    /// The status last recorded for a profile (`None` when webhooks never ran for it).
    pub fn recorded_status(
        store: &mut Store,
        profile_id: &str,
    ) -> Result<Option<WebhookStatus>, StoreError> {
        let raw = store.tx(|t| t.cursor(profile_id, STATUS_CURSOR))?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    fn record(&mut self, status: &WebhookStatus) -> Result<(), StoreError> {
        let json = serde_json::to_string(status).unwrap_or_default();
        let now = self.clock.now();
        let id = self.profile_id.clone();
        self.store
            .tx(|t| t.set_cursor(&id, STATUS_CURSOR, &json, now))
    }

    /// Records that the profile polls, and why (the listener stopped, the app quit…).
    pub fn record_polling(&mut self, reason: &str) -> Result<(), StoreError> {
        self.record(&WebhookStatus::polling(reason))
    }

    /// Brings every subscription to where it should be (created, renewed, or recreated),
    /// records the resulting mode and returns it. Safe to call at any time.
    pub async fn ensure(&mut self) -> Result<WebhookStatus, ManagerError> {
        let status = self.reconcile().await?;
        self.record(&status)?;
        Ok(status)
    }

    async fn reconcile(&mut self) -> Result<WebhookStatus, ManagerError> {
        if self.public_url.is_none() {
            self.listener.unregister(&self.profile_id);
            return Ok(WebhookStatus::polling(
                "no public webhook URL is set for this profile",
            ));
        }
        if self.resources.is_empty() {
            return Ok(WebhookStatus::polling("nothing to subscribe to"));
        }
        for r in self.resources.clone() {
            let state = client_state(&self.secret, &self.profile_id, r);
            self.listener.register(&self.profile_id, r, state);
        }
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for r in self.resources.clone() {
            match self.ensure_one(r).await? {
                Ok(()) => ok.push(r),
                Err(why) => failed.push(why),
            }
        }
        Ok(match (ok.is_empty(), failed.is_empty()) {
            (_, true) => WebhookStatus {
                mode: Mode::Webhook,
                reason: None,
            },
            (true, false) => WebhookStatus::polling(failed.join("; ")),
            (false, false) => WebhookStatus {
                mode: Mode::Webhook,
                reason: Some(format!("partly polling: {}", failed.join("; "))),
            },
        })
    }

    /// One resource: the outer error is the store's, the inner one why it polls.
    async fn ensure_one(&mut self, r: Resource) -> Result<Result<(), String>, ManagerError> {
        let (Some(url), Some(lifecycle)) = (self.url(r, false), self.url(r, true)) else {
            return Ok(Err("no public webhook URL".into()));
        };
        let now = self.clock.now();
        if let Some(s) = self.store.webhook_subscription(&self.profile_id, r)? {
            if s.notification_url == url && s.expires_at > now {
                if s.expires_at - now > r.renew_margin() {
                    return Ok(Ok(()));
                }
                match self.port.renew(&s.id, now + r.requested_lifetime()).await {
                    Ok(expires) => {
                        let renewed = StoredSubscription {
                            expires_at: expires,
                            ..s
                        };
                        self.store
                            .put_webhook_subscription(&self.profile_id, &renewed, now)?;
                        tracing::info!(profile = %self.profile_id, resource = r.as_str(), %expires, "subscription renewed");
                        return Ok(Ok(()));
                    }
                    // Gone at Graph: create it again below.
                    Err(PortError::NotFound) => {}
                    Err(e) => return Ok(Err(describe(r, &e))),
                }
            } else if s.notification_url != url {
                // The public URL changed: the old subscription would post to nowhere.
                if let Err(e) = self.port.delete(&s.id).await {
                    tracing::warn!(error = %e, "could not delete the subscription of the old URL");
                }
            }
            self.store
                .delete_webhook_subscription(&self.profile_id, r)?;
        }
        let new = NewSubscription {
            resource: r,
            notification_url: url.clone(),
            lifecycle_url: lifecycle,
            expires: now + r.requested_lifetime(),
            client_state: client_state(&self.secret, &self.profile_id, r),
        };
        let mut created = self.port.create(&new).await;
        if let Some(orphan) = created.as_ref().err().and_then(duplicate_of) {
            // Ours from a run that stopped before saving it (Graph refuses a second one for
            // the same resource, 409 [spec §5.1]): replace it, since its URL or secret may
            // be stale.
            tracing::info!(profile = %self.profile_id, "replacing an unsaved subscription");
            match self.port.delete(&orphan).await {
                Ok(()) | Err(PortError::NotFound) => created = self.port.create(&new).await,
                Err(e) => tracing::warn!(error = %e, "could not delete the unsaved subscription"),
            }
        }
        match created {
            Ok(c) => {
                let stored = StoredSubscription {
                    resource: r,
                    id: c.id,
                    notification_url: url,
                    expires_at: c.expires,
                };
                self.store
                    .put_webhook_subscription(&self.profile_id, &stored, now)?;
                tracing::info!(profile = %self.profile_id, resource = r.as_str(), "subscription created");
                Ok(Ok(()))
            }
            Err(e) => {
                tracing::warn!(profile = %self.profile_id, resource = r.as_str(), error = %e, "subscription not created; polling");
                Ok(Err(describe(r, &e)))
            }
        }
    }

    /// When [`SubscriptionManager::ensure`] should run next to renew in time (`None`: no
    /// subscription).
    pub fn next_renewal(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut next: Option<DateTime<Utc>> = None;
        for r in &self.resources {
            if let Some(s) = self.store.webhook_subscription(&self.profile_id, *r)? {
                let at = s.expires_at - r.renew_margin();
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        Ok(next)
    }

    /// Acts on an accepted notification; returns whether the profile's delta poll should
    /// run now.
    pub async fn on_event(&mut self, event: &WebhookEvent) -> Result<bool, ManagerError> {
        let r = event.resource;
        match event.kind {
            EventKind::Changed | EventKind::Missed => Ok(true),
            EventKind::ReauthorizationRequired => {
                let Some(s) = self.store.webhook_subscription(&self.profile_id, r)? else {
                    return Ok(false);
                };
                match self.port.reauthorize(&s.id).await {
                    Ok(()) => {
                        tracing::info!(profile = %self.profile_id, resource = r.as_str(), "subscription reauthorized");
                        Ok(false)
                    }
                    Err(e) => {
                        // A renewal reauthorizes too [spec §5.5]; make the next ensure renew.
                        tracing::warn!(error = %e, "reauthorize failed; renewing instead");
                        let due = StoredSubscription {
                            expires_at: self.clock.now() + chrono::Duration::seconds(1),
                            ..s
                        };
                        let now = self.clock.now();
                        self.store
                            .put_webhook_subscription(&self.profile_id, &due, now)?;
                        let status = self.reconcile().await?;
                        self.record(&status)?;
                        Ok(true)
                    }
                }
            }
            EventKind::SubscriptionRemoved => {
                self.store
                    .delete_webhook_subscription(&self.profile_id, r)?;
                let status = self.reconcile().await?;
                self.record(&status)?;
                // Changes between the removal and the new subscription come with delta.
                Ok(true)
            }
        }
    }

    /// Deletes every subscription of the profile at Graph and in the store, and closes its
    /// routes (sign-out, removal, or the URL was cleared).
    pub async fn remove_all(&mut self, reason: &str) -> Result<(), ManagerError> {
        self.listener.unregister(&self.profile_id);
        for r in Resource::ALL {
            if let Some(s) = self.store.webhook_subscription(&self.profile_id, r)? {
                match self.port.delete(&s.id).await {
                    Ok(()) | Err(PortError::NotFound) => {}
                    // It expires by itself; its notifications meet a closed route.
                    Err(e) => tracing::warn!(error = %e, "could not delete a subscription"),
                }
                self.store
                    .delete_webhook_subscription(&self.profile_id, r)?;
            }
        }
        self.record_polling(reason)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::Duration;

    use super::*;
    use crate::ManualClock;

    /// Graph's subscriptions in memory, with a switch to fail the handshake.
    #[derive(Default)]
    struct FakeGraph {
        subs: Mutex<Vec<(String, NewSubscription)>>,
        calls: Mutex<Vec<String>>,
        refuse: Mutex<bool>,
        reauthorize_fails: Mutex<bool>,
        created: Mutex<u32>,
    }

    #[async_trait]
    impl SubscriptionPort for FakeGraph {
        async fn create(&self, sub: &NewSubscription) -> PortResult<CreatedSubscription> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("create {}", sub.resource.as_str()));
            if *self.refuse.lock().unwrap() {
                return Err(PortError::Rejected {
                    message: "Subscription validation request failed.".into(),
                });
            }
            let mut subs = self.subs.lock().unwrap();
            if let Some((id, _)) = subs.iter().find(|(_, s)| s.resource == sub.resource) {
                return Err(PortError::Rejected {
                    message: format!(
                        "rejected by Microsoft Graph: HTTP 409 ExtensionError: Subscription Id {id} already exists for the requested combination"
                    ),
                });
            }
            let mut n = self.created.lock().unwrap();
            *n += 1;
            let id = format!("sub{n}");
            subs.push((id.clone(), sub.clone()));
            Ok(CreatedSubscription {
                id,
                expires: sub.expires,
            })
        }
        async fn renew(&self, id: &str, expires: DateTime<Utc>) -> PortResult<DateTime<Utc>> {
            self.calls.lock().unwrap().push(format!("renew {id}"));
            let mut subs = self.subs.lock().unwrap();
            let s = subs
                .iter_mut()
                .find(|(i, _)| i == id)
                .ok_or(PortError::NotFound)?;
            s.1.expires = expires;
            Ok(expires)
        }
        async fn reauthorize(&self, id: &str) -> PortResult<()> {
            self.calls.lock().unwrap().push(format!("reauthorize {id}"));
            if *self.reauthorize_fails.lock().unwrap() {
                return Err(PortError::Rejected {
                    message: "no".into(),
                });
            }
            Ok(())
        }
        async fn delete(&self, id: &str) -> PortResult<()> {
            self.calls.lock().unwrap().push(format!("delete {id}"));
            let mut subs = self.subs.lock().unwrap();
            let before = subs.len();
            subs.retain(|(i, _)| i != id);
            if subs.len() == before {
                return Err(PortError::NotFound);
            }
            Ok(())
        }
    }

    fn setup(url: Option<&str>) -> (SubscriptionManager, Arc<FakeGraph>, ManualClock, Listener) {
        let store = Store::open_in_memory().unwrap();
        store
            .put_profile("p1", "work", "{}", "2026-11-23T08:00:00Z")
            .unwrap();
        let clock = ManualClock::new(
            DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let graph = Arc::new(FakeGraph::default());
        let listener = Listener::new(Arc::new(|_| {}));
        let m = SubscriptionManager::new(
            "p1",
            url.map(str::to_string),
            vec![Resource::Events, Resource::Drive],
            "secret".into(),
            store,
            graph.clone(),
            Arc::new(clock.clone()),
            listener.clone(),
        );
        (m, graph, clock, listener)
    }

    fn calls(g: &FakeGraph) -> Vec<String> {
        std::mem::take(&mut *g.calls.lock().unwrap())
    }

    #[tokio::test]
    async fn subscriptions_are_created_with_routes_and_secrets_then_kept() {
        let (mut m, g, _, listener) = setup(Some("https://hooks.example.com/o365/"));
        let s = m.ensure().await.unwrap();
        assert_eq!((s.mode, s.reason), (Mode::Webhook, None));
        assert_eq!(calls(&g), ["create events", "create drive"]);
        let subs = g.subs.lock().unwrap().clone();
        assert_eq!(
            subs[0].1.notification_url,
            "https://hooks.example.com/o365/graph/p1/events"
        );
        assert_eq!(
            subs[1].1.lifecycle_url,
            "https://hooks.example.com/o365/graph/p1/drive/lifecycle"
        );
        assert_eq!(
            subs[0].1.client_state,
            client_state("secret", "p1", Resource::Events)
        );
        // The route answers the handshake with the secret registered.
        let r = listener.handle("POST", "/graph/p1/drive", Some("validationToken=t"), b"");
        assert_eq!(r.text.as_deref(), Some("t"));
        m.ensure().await.unwrap();
        assert!(calls(&g).is_empty(), "fresh subscriptions are left alone");
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(
            SubscriptionManager::recorded_status(&mut store, "p1").unwrap(),
            None
        );
        assert_eq!(
            SubscriptionManager::recorded_status(&mut m.store, "p1")
                .unwrap()
                .unwrap()
                .mode,
            Mode::Webhook
        );
    }

    #[tokio::test]
    async fn subscriptions_are_renewed_a_quarter_of_their_lifetime_before_expiry() {
        let (mut m, g, clock, _) = setup(Some("https://h.example.com"));
        m.ensure().await.unwrap();
        calls(&g);
        let events_due = m.next_renewal().unwrap().unwrap();
        assert_eq!(
            events_due,
            clock.now() + Resource::Events.requested_lifetime() - Resource::Events.renew_margin()
        );
        clock.set(events_due - Duration::minutes(1));
        m.ensure().await.unwrap();
        assert!(calls(&g).is_empty(), "not due yet");
        clock.set(events_due + Duration::minutes(1));
        m.ensure().await.unwrap();
        assert_eq!(
            calls(&g),
            ["renew sub1"],
            "only the events subscription is due"
        );
        let renewed = m
            .store
            .webhook_subscription("p1", Resource::Events)
            .unwrap()
            .unwrap();
        assert_eq!(
            renewed.expires_at,
            clock.now() + Resource::Events.requested_lifetime()
        );
        // One Graph forgot (expired while the app was off) is created again.
        g.subs.lock().unwrap().retain(|(id, _)| id != "sub2");
        clock.advance(Resource::Drive.max_lifetime());
        m.ensure().await.unwrap();
        let c = calls(&g);
        assert!(c.contains(&"create drive".to_string()), "{c:?}");
    }

    #[tokio::test]
    async fn a_failed_handshake_or_a_missing_url_falls_back_to_polling_with_the_reason() {
        let (mut m, g, _, _) = setup(None);
        let s = m.ensure().await.unwrap();
        assert_eq!(s.mode, Mode::Polling);
        assert!(s.reason.unwrap().contains("no public webhook URL"));
        assert!(calls(&g).is_empty());

        let (mut m, g, _, listener) = setup(Some("https://h.example.com"));
        *g.refuse.lock().unwrap() = true;
        let s = m.ensure().await.unwrap();
        assert_eq!(s.mode, Mode::Polling);
        let reason = s.reason.unwrap();
        assert!(
            reason.contains("me/events") && reason.contains("validation"),
            "{reason}"
        );
        assert_eq!(
            SubscriptionManager::recorded_status(&mut m.store, "p1")
                .unwrap()
                .unwrap()
                .mode,
            Mode::Polling
        );
        // Once the URL works, the next ensure subscribes.
        *g.refuse.lock().unwrap() = false;
        assert_eq!(m.ensure().await.unwrap().mode, Mode::Webhook);
        m.remove_all("signed out").await.unwrap();
        assert!(g.subs.lock().unwrap().is_empty());
        let r = listener.handle("POST", "/graph/p1/events", Some("validationToken=t"), b"");
        assert_eq!(r.status, 404, "routes close with the subscriptions");
        let s = SubscriptionManager::recorded_status(&mut m.store, "p1")
            .unwrap()
            .unwrap();
        assert_eq!(s, WebhookStatus::polling("signed out"));
    }

    #[tokio::test]
    async fn a_subscription_created_but_never_saved_is_replaced_not_duplicated() {
        let (mut m, g, _, _) = setup(Some("https://h.example.com"));
        m.ensure().await.unwrap();
        // The store lost the answer (a crash between Graph's 201 and the save).
        m.store
            .delete_webhook_subscription("p1", Resource::Events)
            .unwrap();
        calls(&g);
        assert_eq!(m.ensure().await.unwrap().mode, Mode::Webhook);
        assert_eq!(calls(&g), ["create events", "delete sub1", "create events"]);
        assert_eq!(g.subs.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn lifecycle_events_reauthorize_recreate_and_wake() {
        let (mut m, g, _, _) = setup(Some("https://h.example.com"));
        m.ensure().await.unwrap();
        calls(&g);
        let ev = |kind| WebhookEvent {
            profile_id: "p1".into(),
            resource: Resource::Events,
            kind,
            subscription_id: Some("sub1".into()),
            changes: Vec::new(),
        };
        assert!(!m
            .on_event(&ev(EventKind::ReauthorizationRequired))
            .await
            .unwrap());
        assert_eq!(calls(&g), ["reauthorize sub1"]);
        *g.reauthorize_fails.lock().unwrap() = true;
        m.on_event(&ev(EventKind::ReauthorizationRequired))
            .await
            .unwrap();
        assert_eq!(calls(&g), ["reauthorize sub1", "renew sub1"]);
        assert!(m.on_event(&ev(EventKind::Missed)).await.unwrap());
        g.subs.lock().unwrap().retain(|(id, _)| id != "sub1");
        assert!(m
            .on_event(&ev(EventKind::SubscriptionRemoved))
            .await
            .unwrap());
        assert_eq!(calls(&g), ["create events"]);
        let now = m
            .store
            .webhook_subscription("p1", Resource::Events)
            .unwrap()
            .unwrap();
        assert_eq!(now.id, "sub3");
    }
}
