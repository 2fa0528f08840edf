//! OneDrive's socketIo notification channel [SIO]: `GET …/root/subscriptions/socketIo` hands
//! out a `notificationUrl`, and a Socket.IO server (socketioxide, Engine.IO v4, websocket
//! transport) on the emulator's own loopback port pushes a `notification` event to every
//! client connected to it whenever the drive changes — any change the drive's delta would
//! report, because the push is driven by the drive's change sequence itself.
//!
//! The URL follows the documented shape `https://{host}/{namespace}/callback?{query}`: the
//! part before `/callback?` is the Socket.IO endpoint (its path is the Socket.IO namespace,
//! served under the default `/socket.io/` request path) and the part after is an opaque query
//! the client passes on its handshake [SIO]. A connection is refused (Socket.IO
//! `CONNECT_ERROR`) without the channel's token or after the channel's expiry; at the expiry a
//! connected client is disconnected from the namespace. Facts and sources: the testkit README.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration as StdDuration;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::{SocketIo, TransportType};

use super::http::{lock, GReq, GResp, GResult};
use super::state::World;
use super::time::offset_string;
use super::{GraphEmulator, GraphError, Inner};

/// One endpoint handed out: its namespace id, the token its URL carries, the drive it
/// watches and when it stops working.
#[derive(Debug, Clone)]
struct Channel {
    token: String,
    drive_id: String,
    tenant_id: String,
    expires: DateTime<Utc>,
}

/// The Socket.IO side of the emulator.
pub(crate) struct Hub {
    pub(crate) layer: SocketIoLayer,
    io: SocketIo,
    channels: Mutex<HashMap<String, Channel>>,
    /// Connected clients, so a test can drop them.
    connected: Mutex<Vec<SocketRef>>,
    /// `false`: the endpoint answers 400 `notSupported`, as Graph does where the channel is
    /// not offered [ABR3802].
    supported: std::sync::atomic::AtomicBool,
}

impl Hub {
    pub(crate) fn new() -> Self {
        // Websocket only: the transport the app's client uses; whether Graph's service also
        // offers long-polling is not documented.
        let (layer, io) = SocketIo::builder()
            .transports([TransportType::Websocket])
            .build_layer();
        Hub {
            layer,
            io,
            channels: Mutex::new(HashMap::new()),
            connected: Mutex::new(Vec::new()),
            supported: std::sync::atomic::AtomicBool::new(true),
        }
    }
}

/// Error text of a refused namespace connection (sent as `CONNECT_ERROR`).
#[derive(Debug)]
struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The channel a connecting socket asks for, if its token is right and it has not expired.
fn admitted(inner: &Inner, socket: &SocketRef) -> Result<(String, Channel), Refused> {
    let id = socket.ns().trim_start_matches('/').to_string();
    let token = socket
        .req_parts()
        .uri
        .query()
        .and_then(|q| query_param(q, "snthgk"))
        .ok_or(Refused("the notification token is missing"))?;
    let channel = lock(&inner.socketio.channels)
        .get(&id)
        .cloned()
        .ok_or(Refused("unknown notification channel"))?;
    if channel.token != token {
        return Err(Refused("the notification token is not valid"));
    }
    if channel.expires <= inner.clock.now() {
        return Err(Refused("the notification channel has expired"));
    }
    Ok((id, channel))
}

/// Registers the namespace handlers; the handlers hold the emulator weakly, so the
/// emulator's state is freed with its last handle.
pub(crate) fn install(em: &GraphEmulator) {
    let weak: Weak<Inner> = Arc::downgrade(&em.inner);
    let check = {
        let weak = weak.clone();
        move |s: SocketRef| -> Result<(), Refused> {
            let inner = weak.upgrade().ok_or(Refused("the service is stopping"))?;
            admitted(&inner, &s).map(|_| ())
        }
    };
    let on_connect = move |s: SocketRef| {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let Ok((id, channel)) = admitted(&inner, &s) else {
            return;
        };
        lock(&inner.socketio.connected).push(s.clone());
        tokio::spawn(push(weak.clone(), s, id, channel));
    };
    if let Err(e) = em
        .inner
        .socketio
        .io
        .dyn_ns("/{channel}", on_connect.with(check))
    {
        tracing::error!(error = %e, "the socketIo namespace could not be registered");
    }
}

/// Pushes one `notification` per change of the channel's drive until the client leaves or
/// the channel expires. Changes that arrive together are pushed once: the event only says
/// "something changed" and the client runs delta.
async fn push(weak: Weak<Inner>, socket: SocketRef, id: String, channel: Channel) {
    let changes = {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let world = lock(&inner.world);
        match world.drives.get(&channel.drive_id) {
            Some(d) => d.changes.subscribe(),
            None => return,
        }
    };
    let mut changes = changes;
    changes.mark_unchanged();
    loop {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let left = channel.expires - inner.clock.now();
        drop(inner);
        if left <= Duration::zero() {
            let _ = socket.disconnect();
            return;
        }
        // The emulator's clock may be virtual: the expiry is looked at every second.
        let tick = left
            .to_std()
            .unwrap_or(StdDuration::ZERO)
            .min(StdDuration::from_secs(1));
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                let body = notification(&id, &channel);
                if socket.emit("notification", &body).is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep(tick) => {
                if !socket.connected() {
                    return;
                }
            }
        }
    }
}

/// What an event carries is not documented [SIO]; the emulator sends the fields of a
/// driveItem webhook notification [ODWH] so a client that reads them finds the usual ones.
fn notification(id: &str, c: &Channel) -> Value {
    json!({
        "value": [{
            "subscriptionId": id,
            "subscriptionExpirationDateTime": offset_string(c.expires),
            "changeType": "updated",
            "resource": format!("drives/{}/root", c.drive_id),
            "tenantId": c.tenant_id,
            "clientState": null,
        }]
    })
}

/// `GET {drive}/root/subscriptions/socketIo` [SIO]: a new channel for the drive.
pub(crate) fn endpoint(
    em: &GraphEmulator,
    world: &mut World,
    drive_id: &str,
    req: &GReq,
    now: DateTime<Utc>,
) -> GResult {
    let hub = &em.inner.socketio;
    if !hub.supported.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(GraphError::bad_request(
            "notSupported",
            "Operation not supported",
        ));
    }
    if req.method != axum::http::Method::GET {
        return Err(GraphError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalidRequest",
            format!("Unsupported request: {} socketIo", req.method),
        ));
    }
    let tenant_id = world.user(&req.user_id)?.tenant_id.clone();
    let id = world.uuid().replace('-', "");
    let token = world.opaque(24);
    let expires = now + Duration::seconds(em.inner.config.socketio_lifetime_s as i64);
    {
        let mut channels = lock(&hub.channels);
        channels.retain(|_, c| c.expires > now);
        channels.insert(
            id.clone(),
            Channel {
                token: token.clone(),
                drive_id: drive_id.to_string(),
                tenant_id,
                expires,
            },
        );
    }
    Ok(GResp::ok(json!({
        "@odata.context": format!("{}/$metadata#subscriptions/$entity", req.base()),
        "id": id,
        "notificationUrl": format!("{}/{id}/callback?snthgk={token}", req.origin),
        "expirationDateTime": offset_string(expires),
    })))
}

impl GraphEmulator {
    /// Disconnects every socketIo client (the server leaves their namespaces), as a
    /// dropped connection would; clients are expected to reconnect.
    pub fn drop_socketio_connections(&self) -> usize {
        let sockets = std::mem::take(&mut *lock(&self.inner.socketio.connected));
        let n = sockets.iter().filter(|s| s.connected()).count();
        for s in sockets {
            let _ = s.disconnect();
        }
        n
    }

    /// How many socketIo clients are connected now.
    pub fn socketio_clients(&self) -> usize {
        let mut v = lock(&self.inner.socketio.connected);
        v.retain(|s| s.connected());
        v.len()
    }

    /// `false` makes the socketIo endpoint answer 400 `notSupported` ("Operation not
    /// supported"), as Graph does where the channel is not offered [ABR3802].
    pub fn set_socketio_supported(&self, supported: bool) {
        self.inner
            .socketio
            .supported
            .store(supported, std::sync::atomic::Ordering::SeqCst);
    }
}
