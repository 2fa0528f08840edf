//! OneDrive push without a public URL: the drive's socketIo notification channel
//! (`GET {drive}/root/subscriptions/socketIo`, testkit README [SIO]).
//!
//! Graph hands out a `notificationUrl` of the form `https://{host}/{namespace}/callback?{q}`:
//! the part before `/callback?` is a Socket.IO endpoint (its path is the Socket.IO namespace,
//! served under `/socket.io/`), the part after an opaque query for the handshake. The client
//! here speaks Engine.IO v4 over a websocket only (the smallest correct subset: open, ping →
//! pong, close; Socket.IO CONNECT, CONNECT_ERROR, DISCONNECT and EVENT) — no long-polling,
//! no binary packets, no acknowledgements, none of which a notification needs.
//!
//! A `notification` event only says "something in the drive changed": it wakes the
//! profile's documents delta poll, which does the work, so a lost or duplicated event costs
//! at most one poll. [`run_channel`] keeps the channel up: it reconnects with backoff,
//! fetches a new endpoint before the current one expires, wakes the poll after every
//! (re)connection (changes while disconnected come with that delta), and reports its mode
//! through a status sink — `push (socketIo)` while connected, `polling` with the reason when
//! Graph refuses the endpoint or the connection keeps failing. It never stops by itself.
//!
//! The notification URL's query is a credential: it is never logged, and neither is any URL
//! built from it; only the host is.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::{Mode, WebhookStatus};
use crate::ports::{PortError, PortResult};
use crate::Clock;

/// What Graph answered for the drive's socketIo endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct SocketIoEndpoint {
    pub notification_url: String,
    /// `expirationDateTime`, when Graph sent one (the documented example has none).
    pub expires: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SocketIoEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL's query is a credential.
        f.debug_struct("SocketIoEndpoint")
            .field("host", &host_of(&self.notification_url))
            .field("expires", &self.expires)
            .finish()
    }
}

/// Graph's socketIo endpoint call, as the app's Graph client makes it.
#[async_trait]
pub trait SocketIoPort: Send + Sync {
    /// `GET {drive}/root/subscriptions/socketIo`.
    async fn endpoint(&self) -> PortResult<SocketIoEndpoint>;
}

/// Why a connection could not be opened or ended. Never holds the notification URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketIoError {
    #[error("the notification URL cannot be used: {0}")]
    BadUrl(String),
    #[error("cannot open the notification socket: {0}")]
    Connect(String),
    /// Socket.IO `CONNECT_ERROR`: the server refused the namespace (an expired or unknown
    /// channel, a wrong token).
    #[error("the notification service refused the connection: {0}")]
    Refused(String),
    #[error("the notification socket was closed: {0}")]
    Closed(String),
    #[error("the notification socket sent something unexpected: {0}")]
    Malformed(String),
    /// No ping from the server within `pingInterval + pingTimeout` (Engine.IO v4: the
    /// server pings, the client answers).
    #[error("the notification socket went quiet for {0:?}")]
    Dead(Duration),
}

/// The host of a URL, the only part of a notification URL that may be logged.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Where to open the websocket and which namespace to join.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// `ws[s]://{host}/socket.io/?EIO=4&transport=websocket&{query}`.
    pub url: String,
    /// `/` or `/{path}`.
    pub namespace: String,
    pub host: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// Turns a notification URL into a websocket target: split on `/callback?` as Microsoft's
/// page says (a URL without it keeps its own path and query), the path is the namespace,
/// and the Engine.IO request path is the default `/socket.io/`. `https` becomes `wss`;
/// plain `http`/`ws` is accepted on loopback only (the emulator has no certificate).
pub fn websocket_target(notification_url: &str) -> Result<Target, SocketIoError> {
    let (endpoint, query) = match notification_url.split_once("/callback?") {
        Some((e, q)) => (e.to_string(), Some(q.to_string())),
        None => {
            let u = url::Url::parse(notification_url)
                .map_err(|e| SocketIoError::BadUrl(e.to_string()))?;
            let q = u.query().map(str::to_string);
            let mut bare = u.clone();
            bare.set_query(None);
            (bare.to_string(), q)
        }
    };
    let u = url::Url::parse(&endpoint).map_err(|e| SocketIoError::BadUrl(e.to_string()))?;
    let host = u
        .host_str()
        .ok_or_else(|| SocketIoError::BadUrl("no host".into()))?
        .to_string();
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1");
    let scheme = match u.scheme() {
        "https" | "wss" => "wss",
        "http" | "ws" if loopback => "ws",
        other => {
            return Err(SocketIoError::BadUrl(format!(
                "the scheme {other} is not allowed for {host}: TLS is required"
            )))
        }
    };
    let authority = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_string(),
    };
    let mut url = format!("{scheme}://{authority}/socket.io/?EIO=4&transport=websocket");
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('&');
        url.push_str(&q);
    }
    let path = u.path().trim_end_matches('/');
    let namespace = if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    };
    Ok(Target {
        url,
        namespace,
        host,
    })
}

/// One Engine.IO text packet, with the Socket.IO packet inside a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0{…}`: the session's heartbeat, in milliseconds.
    Open {
        ping_interval_ms: u64,
        ping_timeout_ms: u64,
    },
    /// `1`.
    Close,
    /// `2[payload]`: answered with `3[payload]`.
    Ping(String),
    /// `3…`, `5…`, `6…`: nothing to do.
    Ignored,
    /// `40[/ns,][{…}]`.
    Connect { namespace: String },
    /// `41[/ns,]`.
    Disconnect { namespace: String },
    /// `42[/ns,][id][["name", …]]`.
    Event { namespace: String, name: String },
    /// `44[/ns,]{"message": …}`.
    ConnectError { namespace: String, message: String },
}

/// Parses one text frame. Binary and ack packets (Socket.IO types 3, 5, 6) are `Ignored`.
pub fn parse_packet(text: &str) -> Result<Packet, SocketIoError> {
    let shown = || text.chars().take(80).collect::<String>();
    let mut chars = text.chars();
    match chars.next() {
        Some('0') => {
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Open {
                ping_interval: u64,
                ping_timeout: u64,
            }
            let o: Open = serde_json::from_str(chars.as_str())
                .map_err(|e| SocketIoError::Malformed(format!("an unreadable open packet: {e}")))?;
            Ok(Packet::Open {
                ping_interval_ms: o.ping_interval,
                ping_timeout_ms: o.ping_timeout,
            })
        }
        Some('1') => Ok(Packet::Close),
        Some('2') => Ok(Packet::Ping(chars.as_str().to_string())),
        Some('3') | Some('5') | Some('6') => Ok(Packet::Ignored),
        Some('4') => socket_packet(chars.as_str()).ok_or_else(|| {
            SocketIoError::Malformed(format!("not a Socket.IO packet: {}", shown()))
        }),
        _ => Err(SocketIoError::Malformed(format!(
            "not an Engine.IO packet: {}",
            shown()
        ))),
    }
}

/// `<type>[/<namespace>,][<ack id>][<json>]`.
fn socket_packet(text: &str) -> Option<Packet> {
    let mut chars = text.chars();
    let kind = chars.next()?;
    let rest = chars.as_str();
    let (namespace, rest) = if rest.starts_with('/') {
        match rest.split_once(',') {
            Some((ns, r)) => (ns.to_string(), r),
            None => (rest.to_string(), ""),
        }
    } else {
        ("/".to_string(), rest)
    };
    match kind {
        '0' => Some(Packet::Connect { namespace }),
        '1' => Some(Packet::Disconnect { namespace }),
        '2' => {
            let json = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            let v: Vec<serde_json::Value> = serde_json::from_str(json).ok()?;
            let name = v.first()?.as_str()?.to_string();
            Some(Packet::Event { namespace, name })
        }
        '4' => {
            let message = serde_json::from_str::<serde_json::Value>(rest)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(|m| m.as_str().map(str::to_string))
                        .or_else(|| v.as_str().map(str::to_string))
                })
                .unwrap_or_else(|| rest.chars().take(80).collect());
            Some(Packet::ConnectError { namespace, message })
        }
        '3' | '5' | '6' => Some(Packet::Ignored),
        _ => None,
    }
}

/// The largest frame taken from the server: an event is a few hundred bytes.
const MAX_MESSAGE: usize = 256 * 1024;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One open connection, joined to its namespace.
pub struct Connection {
    ws: Ws,
    namespace: String,
    /// How long the server may stay silent: `pingInterval + pingTimeout`.
    quiet: Duration,
    host: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.host)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

fn tls() -> Connector {
    // ring set explicitly: no process-wide crypto provider has to be installed.
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    match config {
        Ok(c) => Connector::Rustls(Arc::new(c)),
        // ring supports the default versions; were it not so, a wss URL fails to connect
        // (reported), a loopback ws URL still works.
        Err(_) => Connector::Plain,
    }
}

/// The transport's error, without the request URL (tungstenite's errors do not carry it;
/// an HTTP answer is reduced to its status).
fn transport_error(e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Http(resp) => format!("HTTP {}", resp.status()),
        E::Url(u) => format!("bad URL ({u})"),
        other => other.to_string(),
    }
}

impl Connection {
    /// Opens the websocket, reads Engine.IO's open packet and joins the namespace; fails on
    /// `CONNECT_ERROR` or when the whole takes longer than `timeout`.
    pub async fn open(target: &Target, timeout: Duration) -> Result<Connection, SocketIoError> {
        tokio::time::timeout(timeout, Self::open_inner(target))
            .await
            .map_err(|_| SocketIoError::Connect(format!("no answer within {timeout:?}")))?
    }

    async fn open_inner(target: &Target) -> Result<Connection, SocketIoError> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
            target.url.as_str(),
            Some(config),
            true,
            Some(tls()),
        )
        .await
        .map_err(|e| SocketIoError::Connect(transport_error(&e)))?;
        let mut c = Connection {
            ws,
            namespace: target.namespace.clone(),
            quiet: Duration::from_secs(60),
            host: target.host.clone(),
        };
        let (interval, timeout) = match c.next_packet().await? {
            Packet::Open {
                ping_interval_ms,
                ping_timeout_ms,
            } => (ping_interval_ms, ping_timeout_ms),
            other => {
                return Err(SocketIoError::Malformed(format!(
                    "expected the open packet, got {other:?}"
                )))
            }
        };
        c.quiet = Duration::from_millis(interval.saturating_add(timeout));
        let join = if c.namespace == "/" {
            "40".to_string()
        } else {
            format!("40{},", c.namespace)
        };
        c.send(join).await?;
        loop {
            match c.next_packet().await? {
                Packet::Connect { namespace } if namespace == c.namespace => return Ok(c),
                Packet::ConnectError { namespace, message } if namespace == c.namespace => {
                    return Err(SocketIoError::Refused(message))
                }
                Packet::Close => return Err(SocketIoError::Closed("Engine.IO close".into())),
                // Pings are answered inside next_packet; anything else before the ack is
                // of no interest.
                _ => {}
            }
        }
    }

    async fn send(&mut self, text: String) -> Result<(), SocketIoError> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| SocketIoError::Closed(transport_error(&e)))
    }

    /// The next Engine.IO packet; answers pings on the way (and returns them too).
    async fn next_packet(&mut self) -> Result<Packet, SocketIoError> {
        loop {
            let frame = match tokio::time::timeout(self.quiet, self.ws.next()).await {
                Err(_) => return Err(SocketIoError::Dead(self.quiet)),
                Ok(None) => return Err(SocketIoError::Closed("the connection ended".into())),
                Ok(Some(Err(e))) => return Err(SocketIoError::Closed(transport_error(&e))),
                Ok(Some(Ok(m))) => m,
            };
            let text = match frame {
                Message::Text(t) => t,
                // Websocket-level pings are answered by tungstenite.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                Message::Binary(_) => continue,
                Message::Close(_) => {
                    return Err(SocketIoError::Closed(
                        "the server closed the websocket".into(),
                    ))
                }
            };
            let packet = parse_packet(text.as_str())?;
            if let Packet::Ping(payload) = &packet {
                self.send(format!("3{payload}")).await?;
            }
            return Ok(packet);
        }
    }

    /// Waits for the next `notification` event of the namespace. An `Err` ends the
    /// connection. Cancel-safe between frames (a pong cut short costs the connection: the
    /// server then times it out, and the channel reconnects).
    pub async fn notification(&mut self) -> Result<(), SocketIoError> {
        loop {
            match self.next_packet().await? {
                Packet::Event { namespace, name }
                    if namespace == self.namespace && name == "notification" =>
                {
                    return Ok(())
                }
                Packet::Event { name, .. } => {
                    tracing::debug!(host = %self.host, event = %name, "socketIo event ignored")
                }
                Packet::Disconnect { namespace } if namespace == self.namespace => {
                    return Err(SocketIoError::Closed(
                        "the server left the namespace".into(),
                    ))
                }
                Packet::ConnectError { namespace, message } if namespace == self.namespace => {
                    return Err(SocketIoError::Refused(message))
                }
                Packet::Close => return Err(SocketIoError::Closed("Engine.IO close".into())),
                _ => {}
            }
        }
    }

    /// Closes politely; errors no longer matter.
    pub async fn close(mut self) {
        let _ = self.ws.send(Message::text("1")).await;
        let _ = self.ws.close(None).await;
    }
}

/// How the channel paces itself.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// First reconnection delay; doubles per failure up to `backoff_max`.
    pub backoff_first: Duration,
    pub backoff_max: Duration,
    /// Consecutive failures after which the profile shows `polling` (it keeps retrying).
    pub failures_before_polling: u32,
    /// How long before its expiry a new endpoint is fetched.
    pub refresh_margin: chrono::Duration,
    /// The lifetime assumed when Graph sends no `expirationDateTime`.
    pub assumed_lifetime: chrono::Duration,
    /// How long after Graph refused the endpoint it is asked again.
    pub retry_refused: Duration,
    /// Bound on opening one connection (TCP, TLS, upgrade, open packet, namespace).
    pub connect_timeout: Duration,
    /// How often the polling interval is: for the reason shown while polling.
    pub polling_every: Duration,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            backoff_first: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            failures_before_polling: 3,
            // 2 min, as the abraunegg/onedrive client renews its websocket URL.
            refresh_margin: chrono::Duration::minutes(2),
            // Not documented; an hour, the emulator's default too.
            assumed_lifetime: chrono::Duration::hours(1),
            retry_refused: Duration::from_secs(15 * 60),
            connect_timeout: Duration::from_secs(30),
            polling_every: Duration::from_secs(5 * 60),
        }
    }
}

/// Called with the profile's mode whenever it changes.
pub type StatusSink = Arc<dyn Fn(&WebhookStatus) + Send + Sync>;
/// Wakes the profile's documents delta poll; must return quickly.
pub type WakeFn = Arc<dyn Fn() + Send + Sync>;

/// The status while connected.
pub fn push_status() -> WebhookStatus {
    WebhookStatus {
        mode: Mode::SocketIo,
        reason: None,
    }
}

fn describe_refusal(e: &PortError) -> String {
    match e {
        PortError::SignInNeeded { message } => {
            format!("the socketIo channel for OneDrive needs a new sign-in ({message})")
        }
        PortError::Rejected { message } => {
            format!("Microsoft refused the socketIo channel for OneDrive ({message})")
        }
        other => format!("the socketIo channel for OneDrive is not available ({other})"),
    }
}

/// Whether a failed endpoint call is Graph's "no" (wait long) rather than a passing failure
/// (back off and retry).
fn refused(e: &PortError) -> bool {
    matches!(
        e,
        PortError::Rejected { .. } | PortError::SignInNeeded { .. } | PortError::NotFound
    )
}

struct Reporter {
    sink: StatusSink,
    last: Option<WebhookStatus>,
}

impl Reporter {
    fn report(&mut self, s: WebhookStatus) {
        if self.last.as_ref() != Some(&s) {
            (self.sink)(&s);
            self.last = Some(s);
        }
    }
}

/// Keeps the socketIo channel of one drive up until `stop`, waking the documents poll on
/// every notification and after every (re)connection. Reports `push (socketIo)` while
/// connected and `polling` with the reason when Graph refuses the endpoint or
/// `failures_before_polling` connections in a row failed; on `stop` reports polling.
pub async fn run_channel(
    port: Arc<dyn SocketIoPort>,
    clock: Arc<dyn Clock>,
    config: ChannelConfig,
    wake: WakeFn,
    on_status: StatusSink,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut reporter = Reporter {
        sink: on_status,
        last: None,
    };
    let polling_note = format!(
        "; the profile polls every {} min and tries again",
        config.polling_every.as_secs().div_ceil(60)
    );
    let mut endpoint: Option<(Target, DateTime<Utc>)> = None;
    let mut failures: u32 = 0;
    let mut backoff = config.backoff_first;
    loop {
        let now = clock.now();
        if endpoint
            .as_ref()
            .is_none_or(|(_, refresh_at)| now >= *refresh_at)
        {
            let got = tokio::select! {
                _ = &mut stop => break,
                r = port.endpoint() => r,
            };
            match got
                .map_err(|e| (refused(&e), describe_refusal(&e)))
                .and_then(|e| {
                    let target = websocket_target(&e.notification_url).map_err(|err| {
                        (true, format!("the socketIo channel cannot be used ({err})"))
                    })?;
                    let expires = e.expires.unwrap_or(now + config.assumed_lifetime);
                    Ok((target, expires - config.refresh_margin))
                }) {
                Ok(t) => endpoint = Some(t),
                Err((true, why)) => {
                    tracing::info!(reason = %why, "socketIo channel unavailable; polling");
                    reporter.report(WebhookStatus::polling(format!("{why}{polling_note}")));
                    endpoint = None;
                    tokio::select! {
                        _ = &mut stop => break,
                        _ = tokio::time::sleep(config.retry_refused) => {}
                    }
                    continue;
                }
                Err((false, why)) => {
                    failures += 1;
                    if failures >= config.failures_before_polling {
                        reporter.report(WebhookStatus::polling(format!("{why}{polling_note}")));
                    }
                    tokio::select! {
                        _ = &mut stop => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(config.backoff_max);
                    continue;
                }
            }
        }
        let Some((target, refresh_at)) = endpoint.clone() else {
            continue;
        };
        let opened = tokio::select! {
            _ = &mut stop => break,
            c = Connection::open(&target, config.connect_timeout) => c,
        };
        let ended = match opened {
            Ok(mut conn) => {
                failures = 0;
                backoff = config.backoff_first;
                reporter.report(push_status());
                tracing::info!(host = %target.host, "socketIo channel connected");
                // Whatever changed while the channel was down comes with this delta.
                wake();
                let until_refresh = (refresh_at - clock.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                let refresh = tokio::time::sleep(until_refresh);
                tokio::pin!(refresh);
                let end = loop {
                    tokio::select! {
                        _ = &mut stop => break None,
                        _ = &mut refresh => break Some(Ok(())),
                        n = conn.notification() => match n {
                            Ok(()) => wake(),
                            Err(e) => break Some(Err(e)),
                        },
                    }
                };
                match end {
                    None => {
                        conn.close().await;
                        break;
                    }
                    Some(Ok(())) => {
                        // Due for a new endpoint: fetch it, then connect to it.
                        conn.close().await;
                        endpoint = None;
                        continue;
                    }
                    Some(Err(e)) => e,
                }
            }
            Err(e) => e,
        };
        if matches!(ended, SocketIoError::Refused(_) | SocketIoError::BadUrl(_)) {
            // An expired or unknown channel: ask for a new endpoint.
            endpoint = None;
        }
        failures += 1;
        tracing::info!(error = %ended, failures, "socketIo channel down; reconnecting");
        if failures >= config.failures_before_polling {
            reporter.report(WebhookStatus::polling(format!(
                "the socketIo connection keeps failing ({ended}){polling_note}"
            )));
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(config.backoff_max);
    }
    reporter.report(WebhookStatus::polling(
        "the socketIo channel is stopped".to_string(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_notification_url_splits_into_endpoint_namespace_and_query() {
        let t = websocket_target(
            "https://f3hb0mpua.svc.ms/zbaehwg/callback?snthgk=1ff3-2345672zz831837523",
        )
        .unwrap();
        assert_eq!(
            t.url,
            "wss://f3hb0mpua.svc.ms/socket.io/?EIO=4&transport=websocket&snthgk=1ff3-2345672zz831837523"
        );
        assert_eq!(t.namespace, "/zbaehwg");
        assert!(
            !format!("{t:?}").contains("snthgk"),
            "the token is never shown"
        );
        // The shape reported by users: `notifications?` instead of `callback?`.
        let t = websocket_target("https://h.svc.ms/notifications?token=abc").unwrap();
        assert_eq!(
            t.url,
            "wss://h.svc.ms/socket.io/?EIO=4&transport=websocket&token=abc"
        );
        assert_eq!(t.namespace, "/notifications");
        let t = websocket_target("http://127.0.0.1:4000/abc/callback?snthgk=t").unwrap();
        assert_eq!(
            t.url,
            "ws://127.0.0.1:4000/socket.io/?EIO=4&transport=websocket&snthgk=t"
        );
        assert!(matches!(
            websocket_target("http://example.com/ns/callback?x=1"),
            Err(SocketIoError::BadUrl(m)) if m.contains("TLS")
        ));
        assert!(websocket_target("not a url").is_err());
    }

    #[test]
    fn engine_io_and_socket_io_packets_parse() {
        assert_eq!(
            parse_packet(r#"0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)
                .unwrap(),
            Packet::Open {
                ping_interval_ms: 25_000,
                ping_timeout_ms: 20_000
            }
        );
        assert_eq!(parse_packet("2").unwrap(), Packet::Ping(String::new()));
        assert_eq!(parse_packet("1").unwrap(), Packet::Close);
        assert_eq!(parse_packet("3").unwrap(), Packet::Ignored);
        assert_eq!(
            parse_packet(r#"40/abc,{"sid":"x"}"#).unwrap(),
            Packet::Connect {
                namespace: "/abc".into()
            }
        );
        assert_eq!(
            parse_packet(r#"40{"sid":"x"}"#).unwrap(),
            Packet::Connect {
                namespace: "/".into()
            }
        );
        assert_eq!(
            parse_packet(r#"42/abc,["notification",{"value":[]}]"#).unwrap(),
            Packet::Event {
                namespace: "/abc".into(),
                name: "notification".into()
            }
        );
        assert_eq!(
            parse_packet(r#"4212["notification"]"#).unwrap(),
            Packet::Event {
                namespace: "/".into(),
                name: "notification".into()
            },
            "an ack id before the payload is skipped"
        );
        assert_eq!(
            parse_packet(r#"44/abc,{"message":"expired"}"#).unwrap(),
            Packet::ConnectError {
                namespace: "/abc".into(),
                message: "expired".into()
            }
        );
        assert_eq!(
            parse_packet("41/abc,").unwrap(),
            Packet::Disconnect {
                namespace: "/abc".into()
            }
        );
        assert!(matches!(
            parse_packet("0{not json"),
            Err(SocketIoError::Malformed(_))
        ));
        assert!(matches!(
            parse_packet("x"),
            Err(SocketIoError::Malformed(_))
        ));
        assert!(matches!(
            parse_packet("42/abc,not json"),
            Err(SocketIoError::Malformed(_))
        ));
    }
}
