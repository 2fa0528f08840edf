//! The loopback HTTP listener Graph's notifications reach through the public URL.
//!
//! [`handle_request`] is the whole decision, synchronous and free of I/O (the fuzz target
//! calls it directly); the axum layer only reads the body up to [`MAX_BODY_BYTES`], replies,
//! and hands the accepted events to a callback that only signals.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{
    constant_time_eq, EventKind, NotifiedChange, Resource, WebhookEvent, MAX_CHANGES_PER_EVENT,
};

/// The largest body read. Graph batches notifications; without resource data each is
/// well under 1 KiB, so 1 MiB leaves room for a thousand and bounds what a stranger can
/// make the listener hold.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// At most this many events per request reach the callback (they are coalesced per
/// resource and kind, so a real batch needs a handful).
const MAX_EVENTS_PER_REQUEST: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the webhook listener must be bound to a loopback address, not {0}; the public URL forwards to it")]
    NotLoopback(SocketAddr),
}

/// The listener's answer to one request, and what it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// `Some` for the validation handshake: the token, as text/plain.
    pub text: Option<String>,
    pub events: Vec<WebhookEvent>,
    /// Why a request was refused or its notifications dropped (for the log).
    pub note: Option<&'static str>,
}

impl Reply {
    fn refuse(status: u16, note: &'static str) -> Self {
        Reply {
            status,
            text: None,
            events: Vec::new(),
            note: Some(note),
        }
    }
}

/// Routes by `(profile id, resource)` to the `clientState` expected there.
type Routes = HashMap<(String, Resource), String>;

/// Called with each accepted event; must return quickly (set a flag, send on a channel).
pub type OnEvent = Arc<dyn Fn(WebhookEvent) + Send + Sync>;

/// The listener's routes and callback; clones share them, so routes can be added while it
/// serves.
#[derive(Clone)]
pub struct Listener {
    routes: Arc<RwLock<Routes>>,
    on_event: OnEvent,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").finish_non_exhaustive()
    }
}

/// A listener bound to its socket, to be run by the shell (which owns task spawning).
#[derive(Debug)]
pub struct BoundListener {
    pub addr: SocketAddr,
    socket: tokio::net::TcpListener,
    listener: Listener,
}

impl BoundListener {
    /// Serves until `stop` resolves.
    pub async fn run(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.addr, "webhook listener started");
        axum::serve(self.socket, self.listener.router())
            .with_graceful_shutdown(stop)
            .await
    }
}

impl Listener {
    pub fn new(on_event: OnEvent) -> Self {
        Listener {
            routes: Arc::default(),
            on_event,
        }
    }

    fn routes(&self) -> std::sync::RwLockReadGuard<'_, Routes> {
        self.routes.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens the routes of a profile's resource, expecting `client_state` there. Must be
    /// done before the subscription is created: Graph validates the URL first.
    pub fn register(&self, profile_id: &str, resource: Resource, client_state: String) {
        self.routes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert((profile_id.to_string(), resource), client_state);
    }

    /// Closes every route of a profile (signed out, removed, or back to polling).
    pub fn unregister(&self, profile_id: &str) {
        self.routes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(p, _), _| p != profile_id);
    }

    /// The route path of a profile's resource, to append to the public URL.
    pub fn path(profile_id: &str, resource: Resource, lifecycle: bool) -> String {
        let base = format!("/graph/{profile_id}/{}", resource.as_str());
        if lifecycle {
            base + "/lifecycle"
        } else {
            base
        }
    }

    /// Decides a request (see [`handle_request`]) against the current routes.
    pub fn handle(&self, method: &str, path: &str, query: Option<&str>, body: &[u8]) -> Reply {
        handle_request(&self.routes(), method, path, query, body)
    }

    /// The axum service: every path goes through [`Listener::handle`].
    pub fn router(&self) -> axum::Router {
        let me = self.clone();
        axum::Router::new().fallback(move |req: Request| {
            let me = me.clone();
            async move { me.serve_one(req).await }
        })
    }

    async fn serve_one(&self, req: Request) -> Response {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        let is_handshake = query.as_deref().is_some_and(|q| {
            url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "validationToken")
        });
        // The handshake's body is ignored: do not wait for it.
        let body = if is_handshake || method != Method::POST {
            Vec::new()
        } else {
            match to_bytes(req.into_body(), MAX_BODY_BYTES).await {
                Ok(b) => b.to_vec(),
                Err(_) => {
                    tracing::warn!(%path, "webhook request refused: body too large or cut off");
                    return StatusCode::PAYLOAD_TOO_LARGE.into_response();
                }
            }
        };
        let reply = self.handle(method.as_str(), &path, query.as_deref(), &body);
        if let Some(note) = reply.note {
            tracing::warn!(%path, status = reply.status, note, "webhook request not acted on");
        }
        // The callback only signals (the sync runs in the profile's worker), so the reply
        // leaves well within Graph's 3 s.
        for e in reply.events.iter().cloned() {
            (self.on_event)(e);
        }
        let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_REQUEST);
        match reply.text {
            Some(t) => (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                t,
            )
                .into_response(),
            None => (status, Body::empty()).into_response(),
        }
    }

    /// Binds `addr` (loopback only; port 0 picks a free one).
    pub async fn bind(&self, addr: SocketAddr) -> Result<BoundListener, ListenerError> {
        if !addr.ip().is_loopback() {
            return Err(ListenerError::NotLoopback(addr));
        }
        let socket = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ListenerError::Bind { addr, source })?;
        let addr = socket
            .local_addr()
            .map_err(|source| ListenerError::Bind { addr, source })?;
        Ok(BoundListener {
            addr,
            socket,
            listener: self.clone(),
        })
    }
}

/// One notification as Graph sends it; only what the listener needs. Unknown fields are
/// ignored, as Graph adds fields over time.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    #[serde(default)]
    subscription_id: Option<String>,
    #[serde(default)]
    client_state: Option<String>,
    #[serde(default)]
    lifecycle_event: Option<String>,
    #[serde(default)]
    change_type: Option<String>,
    #[serde(default)]
    resource_data: Option<ResourceData>,
}

/// A change notification's `resourceData` [spec §5.3]; anything not a string is ignored.
#[derive(Debug, Default, Deserialize)]
struct ResourceData {
    #[serde(default, deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(default, rename = "@odata.etag", deserialize_with = "lenient_string")]
    etag: Option<String>,
}

/// A string, or `None` for any other JSON value: a hint that is not a string must not
/// make the whole envelope fail, which would drop the notification (a 400 is retried,
/// then dropped) rather than wake the profile.
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

#[derive(Debug, Deserialize)]
struct Envelope {
    value: Vec<Item>,
}

/// Decides one request, with no I/O:
/// - not a POST → 405; an unknown route → 404;
/// - `?validationToken=…` → 200 with the decoded token as text/plain [spec §5.2];
/// - a body over [`MAX_BODY_BYTES`] → 413; not a `{"value":[…]}` envelope → 400;
/// - otherwise 202: items whose `clientState` matches in constant time become events
///   (coalesced; lifecycle items by their `lifecycleEvent`), the others are dropped [spec §5.4].
pub fn handle_request(
    routes: &HashMap<(String, Resource), String>,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    if method != "POST" {
        return Reply::refuse(405, "not a POST");
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (profile, resource, lifecycle) = match segs.as_slice() {
        ["graph", p, r] => (*p, *r, false),
        ["graph", p, r, "lifecycle"] => (*p, *r, true),
        _ => return Reply::refuse(404, "unknown route"),
    };
    let Some(resource) = Resource::parse(resource) else {
        return Reply::refuse(404, "unknown route");
    };
    let Some(expected) = routes.get(&(profile.to_string(), resource)) else {
        return Reply::refuse(404, "no subscription is expected on this route");
    };
    if let Some(q) = query {
        if let Some((_, token)) =
            url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "validationToken")
        {
            return Reply {
                status: 200,
                text: Some(token.into_owned()),
                events: Vec::new(),
                note: None,
            };
        }
    }
    if body.len() > MAX_BODY_BYTES {
        return Reply::refuse(413, "body too large");
    }
    // serde_json skips the fields a typed envelope ignores without checking them, so a body
    // with invalid UTF-8 (RFC 8259 §8.1) or a lone surrogate escape (§8.2) in such a field
    // would pass as a notification. The whole body is read as a JSON value first, which
    // checks every byte and escape (both found by the `webhook_request` fuzzer); the body is
    // bounded by MAX_BODY_BYTES above, so the value costs little.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Reply::refuse(400, "the body is not valid JSON");
    };
    let Ok(envelope) = serde_json::from_value::<Envelope>(value) else {
        return Reply::refuse(400, "not a notification envelope");
    };
    let mut events: Vec<WebhookEvent> = Vec::new();
    let mut dropped = 0usize;
    for item in envelope.value {
        let matches = item
            .client_state
            .as_deref()
            .is_some_and(|c| constant_time_eq(c, expected));
        if !matches {
            dropped += 1;
            continue;
        }
        let kind = match item.lifecycle_event.as_deref() {
            None if !lifecycle => EventKind::Changed,
            Some("reauthorizationRequired") => EventKind::ReauthorizationRequired,
            Some("subscriptionRemoved") => EventKind::SubscriptionRemoved,
            Some("missed") => EventKind::Missed,
            // An unknown lifecycle event, or a change posted to the lifecycle URL: a poll
            // is always safe.
            _ => EventKind::Missed,
        };
        let change = (kind == EventKind::Changed).then(|| {
            let data = item.resource_data.unwrap_or_default();
            NotifiedChange {
                change_type: item.change_type,
                item_id: data.id,
                etag: data.etag,
            }
        });
        let seen = events
            .iter()
            .position(|e| e.kind == kind && e.subscription_id == item.subscription_id);
        match seen {
            Some(i) => {
                if let Some(change) = change {
                    keep_change(&mut events[i].changes, change);
                }
            }
            None if events.len() < MAX_EVENTS_PER_REQUEST => events.push(WebhookEvent {
                profile_id: profile.to_string(),
                resource,
                kind,
                subscription_id: item.subscription_id,
                changes: change.into_iter().collect(),
            }),
            None => {}
        }
    }
    Reply {
        status: 202,
        text: None,
        note: (dropped > 0).then_some("clientState missing or wrong: notifications dropped"),
        events,
    }
}

/// Adds a change to an event's list; past [`MAX_CHANGES_PER_EVENT`] the last one becomes a
/// change that names nothing, so the event still wakes.
fn keep_change(changes: &mut Vec<NotifiedChange>, change: NotifiedChange) {
    if changes.contains(&change) {
        return;
    }
    if changes.len() < MAX_CHANGES_PER_EVENT {
        changes.push(change);
    } else if let Some(last) = changes.last_mut() {
        *last = NotifiedChange::unknown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        let mut r = Routes::new();
        r.insert(("p1".into(), Resource::Events), "secret-1".into());
        r
    }

    #[test]
    fn the_handshake_echoes_the_decoded_token_as_text() {
        let r = handle_request(
            &routes(),
            "POST",
            "/graph/p1/events",
            Some("validationToken=Validation%3A+Testing+client%20app"),
            b"",
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.text.as_deref(), Some("Validation: Testing client app"));
        let unknown = handle_request(
            &routes(),
            "POST",
            "/graph/p2/events",
            Some("validationToken=x"),
            b"",
        );
        assert_eq!(unknown.status, 404, "an unexpected route fails validation");
    }

    #[test]
    fn only_notifications_with_the_right_client_state_become_one_event() {
        let body = br#"{"value":[
            {"subscriptionId":"s1","clientState":"secret-1","changeType":"updated","resource":"x"},
            {"subscriptionId":"s1","clientState":"secret-1","changeType":"created","resource":"y"},
            {"subscriptionId":"s1","clientState":"secret-2","changeType":"created"},
            {"subscriptionId":"s1"}]}"#;
        let r = handle_request(&routes(), "POST", "/graph/p1/events", None, body);
        assert_eq!(r.status, 202);
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.events[0].kind, EventKind::Changed);
        assert!(r.note.is_some());
        let forged = br#"{"value":[{"subscriptionId":"s1","clientState":"secret-2"}]}"#;
        let r = handle_request(&routes(), "POST", "/graph/p1/events", None, forged);
        assert_eq!((r.status, r.events.len()), (202, 0));
    }

    #[test]
    fn the_changes_a_notification_names_are_kept_once_each_with_their_etags() {
        let body = br##"{"value":[
            {"subscriptionId":"s1","clientState":"secret-1","changeType":"updated",
             "resourceData":{"@odata.type":"#Microsoft.Graph.Event","id":"e1","@odata.etag":"W/\"ck1\""}},
            {"subscriptionId":"s1","clientState":"secret-1","changeType":"updated",
             "resourceData":{"id":"e1","@odata.etag":"W/\"ck1\""}},
            {"subscriptionId":"s1","clientState":"secret-1","changeType":"deleted",
             "resourceData":{"id":"e2"}},
            {"subscriptionId":"s1","clientState":"secret-1","changeType":"created",
             "resourceData":{"id":7,"@odata.etag":["W/\"x\""]}},
            {"subscriptionId":"s1","clientState":"secret-1"}]}"##;
        let r = handle_request(&routes(), "POST", "/graph/p1/events", None, body);
        assert_eq!(r.status, 202);
        assert_eq!(r.events.len(), 1);
        let change = |t: Option<&str>, id: Option<&str>, etag: Option<&str>| NotifiedChange {
            change_type: t.map(str::to_owned),
            item_id: id.map(str::to_owned),
            etag: etag.map(str::to_owned),
        };
        assert_eq!(
            r.events[0].changes,
            [
                change(Some("updated"), Some("e1"), Some("W/\"ck1\"")),
                change(Some("deleted"), Some("e2"), None),
                // Hints that are not strings are dropped, not the notification.
                change(Some("created"), None, None),
                NotifiedChange::unknown(),
            ]
        );
        let lifecycle = br#"{"value":[{"subscriptionId":"s1","clientState":"secret-1","lifecycleEvent":"missed"}]}"#;
        let r = handle_request(
            &routes(),
            "POST",
            "/graph/p1/events/lifecycle",
            None,
            lifecycle,
        );
        assert!(r.events[0].changes.is_empty());
    }

    #[test]
    fn a_burst_past_the_cap_keeps_a_change_that_names_nothing() {
        let items: Vec<String> = (0..MAX_CHANGES_PER_EVENT + 5)
            .map(|i| {
                format!(
                    r#"{{"subscriptionId":"s1","clientState":"secret-1","changeType":"updated","resourceData":{{"id":"e{i}","@odata.etag":"W/\"ck\""}}}}"#
                )
            })
            .collect();
        let body = format!(r#"{{"value":[{}]}}"#, items.join(","));
        let r = handle_request(&routes(), "POST", "/graph/p1/events", None, body.as_bytes());
        let changes = &r.events[0].changes;
        assert_eq!(changes.len(), MAX_CHANGES_PER_EVENT);
        assert_eq!(changes.last(), Some(&NotifiedChange::unknown()));
    }

    #[test]
    fn lifecycle_events_are_told_apart() {
        let body = br#"{"value":[
            {"subscriptionId":"s1","clientState":"secret-1","lifecycleEvent":"reauthorizationRequired"},
            {"subscriptionId":"s1","clientState":"secret-1","lifecycleEvent":"missed"},
            {"subscriptionId":"s1","clientState":"secret-1","lifecycleEvent":"subscriptionRemoved"}]}"#;
        let r = handle_request(&routes(), "POST", "/graph/p1/events/lifecycle", None, body);
        let kinds: Vec<_> = r.events.iter().map(|e| e.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                EventKind::ReauthorizationRequired,
                EventKind::Missed,
                EventKind::SubscriptionRemoved
            ]
        );
    }

    #[test]
    fn bad_requests_are_refused_without_events() {
        for (method, path, body, status) in [
            ("GET", "/graph/p1/events", &b""[..], 405),
            ("POST", "/other", &b"{}"[..], 404),
            ("POST", "/graph/p1/files", &b"{}"[..], 404),
            ("POST", "/graph/p1/events", &b"{not json"[..], 400),
            ("POST", "/graph/p1/events", &br#"{"value":{}}"#[..], 400),
        ] {
            let r = handle_request(&routes(), method, path, None, body);
            assert_eq!(r.status, status, "{method} {path}");
            assert!(r.events.is_empty());
        }
        // A notification with the right clientState but invalid UTF-8 in a field the
        // envelope ignores (the fuzzer's find) is not JSON, so it wakes nothing.
        let mut sneaky = format!(
            r#"{{"value":[{{"subscriptionId":"s1","clientState":"{}","changeType":"upd"#,
            routes().values().next().cloned().unwrap_or_default()
        )
        .into_bytes();
        sneaky.extend_from_slice(&[0x9f, 0x8b, 0x9a, 0x9c]);
        sneaky.extend_from_slice(br#""}]}"#);
        let r = handle_request(&routes(), "POST", "/graph/p1/events", None, &sneaky);
        assert_eq!((r.status, r.events.len()), (400, 0));
        // The same with a lone surrogate escape in an ignored field (the fuzzer's second find).
        let lone = format!(
            r#"{{"value":[{{"subscriptionId":"s1","clientState":"{}","note":"\ud800x"}}]}}"#,
            routes().values().next().cloned().unwrap_or_default()
        );
        let r = handle_request(&routes(), "POST", "/graph/p1/events", None, lone.as_bytes());
        assert_eq!((r.status, r.events.len()), (400, 0));
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let r = handle_request(&routes(), "POST", "/graph/p1/events", None, &big);
        assert_eq!(r.status, 413);
    }
}
