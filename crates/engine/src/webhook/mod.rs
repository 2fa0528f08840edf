//! Graph change notifications (webhooks): the loopback [`Listener`] that answers Graph's
//! validation handshake and its notifications, and the per-profile [`SubscriptionManager`]
//! that creates, renews, reauthorizes and deletes the subscriptions behind it.
//!
//! A notification never carries data into the store: it only *wakes* the profile's delta
//! poll, which reads the changes itself [spec §5.3, §13]. So a forged, replayed or lost
//! notification can at worst cost or delay one poll, never change what is synced.
//!
//! Routes, one pair per profile and resource (the public URL forwards its path as is):
//! `POST /graph/{profile_id}/{events|drive}` for change notifications and
//! `POST /graph/{profile_id}/{events|drive}/lifecycle` for lifecycle notifications.
//!
//! `clientState` is per subscription: HMAC-SHA256 of the profile's webhook secret (kept in
//! the keychain by the app, never in the store) over the profile and resource, compared in
//! constant time.
//!
//! OneDrive without a public URL: [`socketio`] keeps the drive's socketIo channel up and
//! wakes the same delta poll on each of its notifications.

mod listener;
mod manager;
pub mod socketio;
mod store;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub use listener::{
    handle_request, BoundListener, Listener, ListenerError, OnEvent, Reply, MAX_BODY_BYTES,
};
pub use manager::{
    CreatedSubscription, ManagerError, NewSubscription, StoredSubscription, SubscriptionManager,
    SubscriptionPort,
};

/// What a profile subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    /// The mailbox's calendar events (`me/events`).
    Events,
    /// The OneDrive root (`me/drive/root`).
    Drive,
}

impl Resource {
    pub const ALL: [Resource; 2] = [Resource::Events, Resource::Drive];

    /// The route segment and the store's key.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Events => "events",
            Resource::Drive => "drive",
        }
    }

    pub fn parse(s: &str) -> Option<Resource> {
        match s {
            "events" => Some(Resource::Events),
            "drive" => Some(Resource::Drive),
            _ => None,
        }
    }

    /// The Graph resource path, without the base URL [spec §5.1].
    pub fn graph_resource(self) -> &'static str {
        match self {
            Resource::Events => "me/events",
            Resource::Drive => "me/drive/root",
        }
    }

    /// driveItem subscriptions take `updated` only [spec §5.1].
    pub fn change_type(self) -> &'static str {
        match self {
            Resource::Events => "created,updated,deleted",
            Resource::Drive => "updated",
        }
    }

    /// The longest lifetime Graph accepts [spec §5.5]: events 10,080 min, driveItem 42,300.
    pub fn max_lifetime(self) -> chrono::Duration {
        chrono::Duration::minutes(match self {
            Resource::Events => 10_080,
            Resource::Drive => 42_300,
        })
    }

    /// The lifetime asked for: the maximum less an hour, so a clock ahead of Graph's by
    /// less than that is not refused with 400.
    pub fn requested_lifetime(self) -> chrono::Duration {
        self.max_lifetime() - chrono::Duration::hours(1)
    }

    /// How long before expiry a subscription is renewed: a quarter of its lifetime (42 h
    /// for events, 7 days for the drive), so a daemon that was down a while still renews
    /// in time.
    pub fn renew_margin(self) -> chrono::Duration {
        self.max_lifetime() / 4
    }
}

/// What a notification asks of the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    /// Something changed: run the delta poll.
    Changed,
    /// Renew or reauthorize the subscription [spec §5.5].
    ReauthorizationRequired,
    /// Graph removed the subscription: recreate it, then poll.
    SubscriptionRemoved,
    /// Notifications were dropped: poll (delta catches up on everything since its cursor).
    Missed,
}

/// One accepted notification, after its `clientState` matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookEvent {
    pub profile_id: String,
    pub resource: Resource,
    pub kind: EventKind,
    pub subscription_id: Option<String>,
    /// What each change notification coalesced into this event names (events only; a
    /// drive's carries nothing). Empty for lifecycle events. A change the listener could
    /// not keep (over [`MAX_CHANGES_PER_EVENT`]) is kept as one that names nothing, so it
    /// still wakes the profile.
    pub changes: Vec<NotifiedChange>,
}

/// At most this many changes are kept per event: enough to tell a burst of the profile's
/// own writes from someone else's edit, bounded whatever a request holds.
pub const MAX_CHANGES_PER_EVENT: usize = 256;

/// What one change notification says changed: its `changeType` and its `resourceData`'s
/// `id` and `@odata.etag` [spec §5.3]. Only hints: the delta poll reads the change itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifiedChange {
    pub change_type: Option<String>,
    pub item_id: Option<String>,
    pub etag: Option<String>,
}

impl NotifiedChange {
    /// A change that names nothing: it always wakes.
    pub fn unknown() -> Self {
        NotifiedChange {
            change_type: None,
            item_id: None,
            etag: None,
        }
    }

    /// Whether this is the echo of a write the profile already knows: an event created or
    /// updated whose etag is `W/"changeKey"` of the version the store holds for it
    /// (`known_change_key`, the baseline's). Every write of the engine's, and every change
    /// it has read, leaves that version in the baseline; a notification at that version
    /// has nothing to read. The etag is opaque (graph.md: "normally `W/"` + changeKey"):
    /// one in any other form, a delete, or a change that names no item is never an echo,
    /// so the worst a wrong guess costs is one poll.
    pub fn is_echo_of(&self, known_change_key: Option<&str>) -> bool {
        let (Some(change), Some(etag), Some(known)) = (
            self.change_type.as_deref(),
            self.etag.as_deref(),
            known_change_key,
        ) else {
            return false;
        };
        matches!(change, "created" | "updated")
            && !known.is_empty()
            && etag
                .strip_prefix("W/\"")
                .and_then(|e| e.strip_suffix('"'))
                .is_some_and(|ck| ck == known)
    }
}

/// Whether a change event only echoes writes the profile already knows, so waking it
/// would read nothing new: every change it names is an echo (`known` gives the store's
/// changeKey of an item id). An event that names no change always wakes.
pub fn only_echoes(event: &WebhookEvent, known: impl Fn(&str) -> Option<String>) -> bool {
    event.kind == EventKind::Changed
        && event.resource == Resource::Events
        && !event.changes.is_empty()
        && event.changes.iter().all(|c| {
            c.item_id
                .as_deref()
                .is_some_and(|id| c.is_echo_of(known(id).as_deref()))
        })
}

/// How a profile learns of Microsoft-side changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Webhook,
    /// OneDrive's socketIo channel pushes, without a public URL ([`socketio`]).
    SocketIo,
    Polling,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Webhook => "webhook",
            Mode::SocketIo => "push (socketIo)",
            Mode::Polling => "polling",
        }
    }
}

/// The mode a profile is in and why; kept in the store so that `status` in any process
/// shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookStatus {
    pub mode: Mode,
    /// Why the profile polls (or, in webhook mode, what still polls).
    pub reason: Option<String>,
}

impl WebhookStatus {
    pub fn polling(reason: impl Into<String>) -> Self {
        WebhookStatus {
            mode: Mode::Polling,
            reason: Some(reason.into()),
        }
    }
}

/// The store key of a profile's [`WebhookStatus`].
pub const STATUS_CURSOR: &str = "webhook.status";

/// The `clientState` of one subscription: HMAC-SHA256(secret, profile | resource), hex
/// (64 characters; Graph allows 128 [spec §5.1]).
pub fn client_state(secret: &str, profile_id: &str, resource: Resource) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(b"odoo365-webhook\0");
    mac.update(profile_id.as_bytes());
    mac.update(b"\0");
    mac.update(resource.as_str().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Equality that takes the same time wherever the inputs differ (the length is not secret:
/// every `clientState` is 64 characters).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_states_differ_per_profile_resource_and_secret_and_fit_graph_s_limit() {
        let a = client_state("s1", "p1", Resource::Events);
        assert_eq!(a.len(), 64);
        assert_eq!(a, client_state("s1", "p1", Resource::Events));
        assert_ne!(a, client_state("s1", "p1", Resource::Drive));
        assert_ne!(a, client_state("s1", "p2", Resource::Events));
        assert_ne!(a, client_state("s2", "p1", Resource::Events));
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &a[1..]));
        assert!(!constant_time_eq(&a, &a.replace(&a[..1], "z")));
    }
}

#[cfg(test)]
mod echo_tests {
    use super::*;

    fn change(t: &str, id: &str, etag: &str) -> NotifiedChange {
        NotifiedChange {
            change_type: Some(t.into()),
            item_id: Some(id.into()),
            etag: Some(etag.into()),
        }
    }

    fn event(changes: Vec<NotifiedChange>) -> WebhookEvent {
        WebhookEvent {
            profile_id: "p1".into(),
            resource: Resource::Events,
            kind: EventKind::Changed,
            subscription_id: Some("s1".into()),
            changes,
        }
    }

    #[test]
    fn only_a_create_or_update_at_the_known_change_key_is_an_echo() {
        let known = Some("ck1");
        assert!(change("updated", "e1", r#"W/"ck1""#).is_echo_of(known));
        assert!(change("created", "e1", r#"W/"ck1""#).is_echo_of(known));
        assert!(!change("updated", "e1", r#"W/"ck2""#).is_echo_of(known));
        assert!(!change("deleted", "e1", r#"W/"ck1""#).is_echo_of(known));
        // The etag is opaque: only the documented form is compared.
        assert!(!change("updated", "e1", "ck1").is_echo_of(known));
        assert!(!change("updated", "e1", r#""ck1""#).is_echo_of(known));
        assert!(!change("updated", "e1", r#"W/"ck1"#).is_echo_of(known));
        assert!(!change("updated", "e1", r#"W/"""#).is_echo_of(Some("")));
        assert!(!change("updated", "e1", r#"W/"ck1""#).is_echo_of(None));
        assert!(!NotifiedChange::unknown().is_echo_of(known));
    }

    #[test]
    fn an_event_wakes_unless_every_change_it_names_is_an_echo() {
        let known = |id: &str| (id == "e1" || id == "e2").then(|| format!("ck-{id}"));
        let echo1 = change("updated", "e1", r#"W/"ck-e1""#);
        let echo2 = change("created", "e2", r#"W/"ck-e2""#);
        assert!(only_echoes(
            &event(vec![echo1.clone(), echo2.clone()]),
            known
        ));
        // Someone else's edit among the echoes, an unlinked item, a change naming nothing.
        for other in [
            change("updated", "e1", r#"W/"ck-new""#),
            change("updated", "e3", r#"W/"ck-e3""#),
            NotifiedChange::unknown(),
        ] {
            assert!(!only_echoes(&event(vec![echo1.clone(), other]), known));
        }
        assert!(!only_echoes(&event(Vec::new()), known));
        let mut drive = event(vec![echo1.clone()]);
        drive.resource = Resource::Drive;
        assert!(!only_echoes(&drive, known));
        let mut missed = event(vec![echo1]);
        missed.kind = EventKind::Missed;
        assert!(!only_echoes(&missed, known));
    }
}
