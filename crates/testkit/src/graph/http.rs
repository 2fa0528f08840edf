//! The HTTP face: one entry point for every Graph request that authenticates, throttles,
//! injects faults, dispatches, renders errors and logs; `$batch` reuses [`dispatch`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{
    batch, calendar, drive, identity, sites, subscriptions, time, GraphEmulator, GraphError, Limits,
};
use crate::{Fault, RequestRecord};

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicked handler must not take the emulator down with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One Graph request, decoded; what handlers and `$batch` sub-requests see.
pub struct GReq {
    pub method: Method,
    /// Path after `/v1.0`, still percent-encoded, without the query.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub user_id: String,
    /// The scopes the caller's token carries (space-separated, as granted).
    pub scopes: String,
    /// `http://host:port`, for links the emulator hands out.
    pub origin: String,
}

impl GReq {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The values of every `Prefer` header, split on commas.
    pub fn prefer(&self, name: &str) -> Option<String> {
        for v in self.headers.get_all("prefer") {
            let Ok(v) = v.to_str() else { continue };
            for part in split_prefer(v) {
                let (k, val) = match part.split_once('=') {
                    Some((k, val)) => (k.trim(), val.trim().trim_matches('"')),
                    None => (part.trim(), ""),
                };
                if k.eq_ignore_ascii_case(name) {
                    return Some(val.to_string());
                }
            }
        }
        None
    }

    pub fn json(&self) -> Result<Value, GraphError> {
        if self.body.is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&self.body).map_err(GraphError::invalid_body)
    }

    pub fn base(&self) -> String {
        format!("{}/v1.0", self.origin)
    }
}

/// Splits a `Prefer` value on commas outside quotes.
fn split_prefer(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

pub enum GBody {
    Empty,
    Json(Value),
    Bytes(Bytes, String),
}

pub struct GResp {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, String)>,
    pub body: GBody,
    /// For a `$batch`: its sub-requests answered 2xx, the request log's `cost`.
    pub batch_done: Option<u64>,
}

impl GResp {
    pub fn json(status: StatusCode, v: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: GBody::Json(v),
            batch_done: None,
        }
    }

    pub fn ok(v: Value) -> Self {
        Self::json(StatusCode::OK, v)
    }

    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: GBody::Empty,
            batch_done: None,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers
            .push((HeaderName::from_static(name), value.into()));
        self
    }
}

pub type GResult = Result<GResp, GraphError>;

/// Requests per mailbox in the current window, and requests in flight.
pub struct ThrottleState {
    pub limits: Limits,
    windows: HashMap<String, (DateTime<Utc>, u32)>,
    in_flight: HashMap<String, Arc<AtomicU32>>,
}

impl ThrottleState {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            windows: HashMap::new(),
            in_flight: HashMap::new(),
        }
    }
}

/// Holds a mailbox's in-flight slot until dropped.
pub struct FlightGuard(Arc<AtomicU32>);

impl Drop for FlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts one `$batch` sub-request against the mailbox window (the outer request holds
/// the concurrency slot).
pub fn admit_window(em: &GraphEmulator, user: &str) -> Result<(), GraphError> {
    let now = em.inner.clock.now();
    let mut t = lock(&em.inner.throttle);
    let limits = t.limits;
    let window = Duration::seconds(limits.window_s as i64);
    let slot = t.windows.entry(user.to_string()).or_insert((now, 0));
    if now >= slot.0 + window || now < slot.0 {
        *slot = (now, 0);
    }
    slot.1 = slot.1.saturating_add(1);
    if slot.1 > limits.requests_per_window {
        let wait = (slot.0 + window - now).num_seconds().max(1) as u64;
        return Err(GraphError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Please retry again later.",
        )
        .with_inner("429")
        .with_retry_after(wait));
    }
    Ok(())
}

/// Counts one request against `user`'s mailbox limits, or answers 429 [THL].
pub fn admit(em: &GraphEmulator, user: &str) -> Result<FlightGuard, GraphError> {
    admit_window(em, user)?;
    admit_flight(em, user)
}

/// Takes one of `user`'s concurrent-request slots, or answers 429 [THL]. A `$batch`
/// takes only this: its sub-requests are counted against the window one by one, and a
/// full window is answered inside the batch (200 outer, 429 inner: graph.md §6.4), never
/// as a 429 of the whole batch.
pub fn admit_flight(em: &GraphEmulator, user: &str) -> Result<FlightGuard, GraphError> {
    let mut t = lock(&em.inner.throttle);
    let limits = t.limits;
    let flight = t
        .in_flight
        .entry(user.to_string())
        .or_insert_with(|| Arc::new(AtomicU32::new(0)))
        .clone();
    if flight.fetch_add(1, Ordering::SeqCst) >= limits.concurrent {
        flight.fetch_sub(1, Ordering::SeqCst);
        // The live Outlook answer to a fifth concurrent request [obs].
        return Err(GraphError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
        )
        .with_retry_after(limits.concurrency_retry_after_s));
    }
    Ok(FlightGuard(flight))
}

pub fn router(em: GraphEmulator) -> Router {
    Router::new()
        .route("/v1.0/{*rest}", any(graph_entry))
        .route("/_upload/{id}", any(drive::upload_entry))
        .route("/_download/{ticket}", get(drive::download_entry))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(identity::authorize_page).post(identity::authorize_submit),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(identity::token))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(identity::devicecode),
        )
        .route(
            "/devicelogin",
            get(identity::devicelogin_page).post(identity::devicelogin_submit),
        )
        .with_state(em)
        .layer(axum::middleware::from_fn(run_to_completion))
}

/// Runs each request to its end even when the client stops waiting. Graph does not abort a
/// request whose caller hung up, so a create answered after the client's timeout still lands
/// (graph.md §2.1: `transactionId` "avoids duplicate events when a timed-out create is
/// retried"). The request body is read first, as it arrives whole before the server is slow;
/// the call then runs in its own task, and a closing connection only loses the answer.
async fn run_to_completion(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (parts, body) = req.into_parts();
    let req = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => axum::extract::Request::from_parts(parts, Body::from(bytes)),
        // The client went away mid-body: nothing arrived to act on.
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    match tokio::spawn(next.run(req)).await {
        Ok(response) => response,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The body that makes hyper drop the connection without answering: it fails before the
/// first byte, so the status line is never flushed.
pub fn dropped_connection() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault: connection reset",
        ))
    });
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = StatusCode::OK;
    r
}

pub struct Ctx {
    pub request_id: String,
    pub client_request_id: Option<String>,
    pub started: Instant,
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub user: Option<String>,
    pub fault: Option<String>,
}

impl Ctx {
    pub fn new(
        em: &GraphEmulator,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
    ) -> Self {
        Self {
            request_id: uuid::Uuid::new_v4().to_string(),
            client_request_id: headers
                .get("client-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            started: Instant::now(),
            at: em.inner.clock.now(),
            method: method.to_string(),
            path: path_and_query.to_string(),
            user: None,
            fault: None,
        }
    }

    pub fn log(&self, em: &GraphEmulator, status: u16) {
        self.log_cost(em, status, 1);
    }

    fn log_cost(&self, em: &GraphEmulator, status: u16, cost: u64) {
        em.inner.log.push(RequestRecord {
            seq: 0,
            at: self.at,
            method: self.method.clone(),
            path: self.path.clone(),
            status,
            latency_ms: self.started.elapsed().as_millis() as u64,
            user: self.user.clone(),
            fault: self.fault.clone(),
            cost,
        });
    }

    /// Renders an answer with the ids echoed, and logs it.
    pub fn finish(&self, em: &GraphEmulator, result: GResult) -> Response {
        let cost = match &result {
            Ok(r) => r.batch_done.unwrap_or(1),
            Err(_) => 1,
        };
        let resp = render(
            em,
            result,
            &self.request_id,
            self.client_request_id.as_deref(),
        );
        self.log_cost(em, resp.status().as_u16(), cost);
        resp
    }

    pub fn drop_connection(&self, em: &GraphEmulator) -> Response {
        self.log(em, 0);
        dropped_connection()
    }
}

pub fn error_json(
    em: &GraphEmulator,
    e: &GraphError,
    request_id: &str,
    crid: Option<&str>,
) -> Value {
    e.body(request_id, crid, &time::error_date(em.inner.clock.now()))
}

pub fn render(
    em: &GraphEmulator,
    result: GResult,
    request_id: &str,
    crid: Option<&str>,
) -> Response {
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            let mut r = GResp::json(e.status, error_json(em, &e, request_id, crid));
            if let Some(s) = e.retry_after_s {
                r.headers
                    .push((HeaderName::from_static("retry-after"), s.to_string()));
            }
            if let Some(l) = &e.location {
                r.headers
                    .push((HeaderName::from_static("location"), l.clone()));
            }
            r
        }
    };
    let (body, content_type) = match resp.body {
        GBody::Empty => (Body::empty(), None),
        GBody::Json(v) => (
            Body::from(serde_json::to_vec(&v).unwrap_or_default()),
            Some("application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8".to_string()),
        ),
        GBody::Bytes(b, ct) => (Body::from(b), Some(ct)),
    };
    let mut out = Response::new(body);
    *out.status_mut() = resp.status;
    let h = out.headers_mut();
    if let Some(ct) = content_type {
        if let Ok(v) = HeaderValue::from_str(&ct) {
            h.insert("content-type", v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("request-id", v);
    }
    if let Some(c) = crid.and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert("client-request-id", c);
    }
    for (k, v) in resp.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.append(k, v);
        }
    }
    out
}

/// `Authorization: Bearer …` → the user, or 401 `InvalidAuthenticationToken` [obs].
pub fn authenticate(
    em: &GraphEmulator,
    headers: &HeaderMap,
) -> Result<(String, String), GraphError> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(GraphError::unauthenticated("Access token is empty."));
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or("")
        .trim();
    if token.is_empty() {
        return Err(GraphError::unauthenticated("Access token is empty."));
    }
    let now = em.inner.clock.now();
    let world = em.world();
    match world.tokens.get(token) {
        None => Err(GraphError::unauthenticated(
            "IDX14100: JWT is not well formed, there are no dots (.).",
        )),
        Some(t) if t.expires_at <= now => Err(GraphError::unauthenticated(
            "Access token has expired or is not yet valid.",
        )),
        Some(t) => Ok((t.user_id.clone(), t.scopes.clone())),
    }
}

pub fn origin_of(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// The status and headers a fault answers with, when it answers at all.
pub fn fault_error(fault: &Fault, outlook: bool) -> Option<GraphError> {
    Some(match fault {
        Fault::Throttle { retry_after_s } => {
            let e = if outlook {
                GraphError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                )
            } else {
                GraphError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Please retry again later.",
                )
                .with_inner("429")
            };
            e.with_retry_after(*retry_after_s)
        }
        Fault::Unavailable { retry_after_s } => {
            let e = GraphError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable for maintenance or is overloaded.",
            );
            match retry_after_s {
                Some(s) => e.with_retry_after(*s),
                None => e,
            }
        }
        Fault::Internal => GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An unspecified error has occurred.",
        ),
        Fault::BadGateway => GraphError::new(
            StatusCode::BAD_GATEWAY,
            "BadGateway",
            "The server, while acting as a proxy, did not receive a valid response.",
        ),
        Fault::GatewayTimeout => GraphError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "GatewayTimeout",
            "The server, while acting as a proxy, did not receive a timely response.",
        ),
        Fault::ExpiredToken => {
            GraphError::unauthenticated("Access token has expired or is not yet valid.")
        }
        Fault::Slow { .. }
        | Fault::Timeout { .. }
        | Fault::ResetBeforeApply
        | Fault::ResetAfterApply
        | Fault::ConcurrentEdit => return None,
    })
}

/// What a fault does to the flow of one request.
pub enum FaultAction {
    Proceed,
    Answer(GraphError),
    DropBefore,
    DropAfter,
    HangThenDrop(u64),
}

pub async fn apply_fault(fault: Option<&Fault>, outlook: bool) -> FaultAction {
    match fault {
        None => FaultAction::Proceed,
        Some(Fault::Slow { delay_ms }) => {
            tokio::time::sleep(std::time::Duration::from_millis(*delay_ms)).await;
            FaultAction::Proceed
        }
        Some(Fault::Timeout { hang_ms }) => FaultAction::HangThenDrop(*hang_ms),
        Some(Fault::ResetBeforeApply) => FaultAction::DropBefore,
        Some(Fault::ResetAfterApply) => FaultAction::DropAfter,
        Some(f) => match fault_error(f, outlook) {
            Some(e) => FaultAction::Answer(e),
            None => FaultAction::Proceed,
        },
    }
}

async fn graph_entry(State(em): State<GraphEmulator>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let mut ctx = Ctx::new(&em, &parts.method, &pq, &parts.headers);
    let limit = em.inner.config.simple_upload_max_bytes as usize + 1;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return ctx.finish(
                &em,
                Err(GraphError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "maxFileSizeExceeded",
                    "The request body is larger than the operation accepts.",
                )),
            )
        }
    };
    let (user, scopes) = match authenticate(&em, &parts.headers) {
        Ok(u) => u,
        Err(e) => return ctx.finish(&em, Err(e)),
    };
    ctx.user = Some(user.clone());
    let path = parts
        .uri
        .path()
        .strip_prefix("/v1.0")
        .unwrap_or("")
        .to_string();
    let outlook = is_outlook(&path);
    let fault = em.inner.faults.draw(parts.method.as_str(), &pq);
    ctx.fault = fault.as_ref().map(|f| f.name().to_string());
    let admitted = if path.trim_end_matches('/') == "/$batch" {
        admit_flight(&em, &user)
    } else {
        admit(&em, &user)
    };
    let _guard = match admitted {
        Ok(g) => g,
        Err(e) => return ctx.finish(&em, Err(e)),
    };
    if fault == Some(Fault::ConcurrentEdit) {
        calendar::edit_concurrently(&em, &user, &path);
        drive::edit_concurrently(&em, &user, &path);
    }
    let action = apply_fault(fault.as_ref(), outlook).await;
    let drop_after = match action {
        FaultAction::Proceed => false,
        FaultAction::Answer(e) => return ctx.finish(&em, Err(e)),
        FaultAction::DropBefore => return ctx.drop_connection(&em),
        FaultAction::HangThenDrop(ms) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            return ctx.drop_connection(&em);
        }
        FaultAction::DropAfter => true,
    };
    let greq = GReq {
        method: parts.method,
        query: parse_query(parts.uri.query().unwrap_or("")),
        path,
        headers: parts.headers,
        body,
        user_id: user,
        scopes,
        origin: String::new(),
    };
    let greq = GReq {
        origin: origin_of(&greq.headers),
        ..greq
    };
    let result = dispatch(&em, &greq).await;
    if drop_after {
        return ctx.drop_connection(&em);
    }
    ctx.finish(&em, result)
}

fn is_outlook(path: &str) -> bool {
    path.contains("/events") || path.contains("/calendar")
}

pub fn parse_query(q: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Routes one authenticated Graph request.
pub async fn dispatch(em: &GraphEmulator, req: &GReq) -> GResult {
    check_scopes(req)?;
    let path = req.path.trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["$batch"] if req.method == Method::POST => batch::handle(em, req).await,
        ["subscriptions", ..] => subscriptions::handle(em, req, &segs[1..]).await,
        ["me"] | ["users", _] => me(em, req, &segs),
        ["me", rest @ ..] => scoped(em, req, rest, path),
        ["users", who, rest @ ..] => {
            let own = {
                let world = em.world();
                let id = world.resolve_user(&percent_decode(who))?;
                id == req.user_id
            };
            if !own {
                // Delegated access covers the signed-in user's mailbox only [SUBC].
                return Err(GraphError::new(
                    StatusCode::FORBIDDEN,
                    "ErrorAccessDenied",
                    "Access is denied. Check credentials and try again.",
                ));
            }
            let prefix_len = "/users/".len() + who.len();
            scoped(em, req, rest, path.get(prefix_len..).unwrap_or(""))
        }
        ["drives", ..] => drive::handle(em, req, path),
        ["sites", rest @ ..] => sites::handle(em, req, rest),
        [first, ..] => Err(GraphError::unsupported_segment(first)),
        [] => Err(GraphError::bad_request("BadRequest", "Invalid request.")),
    }
}

fn has(scopes: &str, wanted: &[&str]) -> bool {
    scopes.split_whitespace().any(|s| {
        let s = s.trim_start_matches("https://graph.microsoft.com/");
        wanted.iter().any(|w| w.eq_ignore_ascii_case(s))
    })
}

/// Delegated permissions per area [EVC][SUBC]: calendar calls need Calendars.Read (writes
/// Calendars.ReadWrite), drive calls Files.Read* (writes Files.ReadWrite*), the profile
/// User.Read. Subscriptions are checked when created. Outlook answers 403
/// `ErrorAccessDenied`, OneDrive 403 `accessDenied`.
fn check_scopes(req: &GReq) -> Result<(), GraphError> {
    let p = req.path.to_ascii_lowercase();
    let write = !matches!(req.method, Method::GET | Method::HEAD);
    let s = req.scopes.as_str();
    let outlook = || {
        GraphError::new(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        )
    };
    if p.contains("/events") || p.contains("/calendar") {
        let ok = if write {
            has(s, &["Calendars.ReadWrite"])
        } else {
            has(s, &["Calendars.Read", "Calendars.ReadWrite"])
        };
        return if ok { Ok(()) } else { Err(outlook()) };
    }
    if p.contains("/drive") {
        let ok = if write {
            has(s, &["Files.ReadWrite", "Files.ReadWrite.All"])
        } else {
            has(
                s,
                &[
                    "Files.Read",
                    "Files.Read.All",
                    "Files.ReadWrite",
                    "Files.ReadWrite.All",
                ],
            )
        };
        return if ok {
            Ok(())
        } else {
            Err(GraphError::new(
                StatusCode::FORBIDDEN,
                "accessDenied",
                "Access denied",
            ))
        };
    }
    if (p == "/me" || (p.starts_with("/users/") && p.matches('/').count() == 2))
        && !has(
            s,
            &[
                "User.Read",
                "User.ReadWrite",
                "User.ReadBasic.All",
                "User.Read.All",
            ],
        )
    {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ));
    }
    Ok(())
}

fn scoped(em: &GraphEmulator, req: &GReq, rest: &[&str], me_path: &str) -> GResult {
    match rest {
        ["events", ..]
        | ["calendar", ..]
        | ["calendars", ..]
        | ["calendarView", ..]
        | ["calendarview", ..] => calendar::handle(em, req, rest),
        ["drive", ..] => {
            let drive_path = me_path.strip_prefix("/me").unwrap_or(me_path).to_string();
            drive::handle(em, req, &drive_path)
        }
        ["followedSites"] => sites::followed(em, req),
        [first, ..] => Err(GraphError::unsupported_segment(first)),
        [] => Err(GraphError::bad_request("BadRequest", "Invalid request.")),
    }
}

fn me(em: &GraphEmulator, req: &GReq, segs: &[&str]) -> GResult {
    if req.method != Method::GET {
        return Err(GraphError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        ));
    }
    let world = em.world();
    let id = match segs {
        ["users", who] => world.resolve_user(&percent_decode(who))?,
        _ => req.user_id.clone(),
    };
    let u = world.user(&id)?;
    Ok(GResp::ok(serde_json::json!({
        "@odata.context": format!("{}/$metadata#users/$entity", req.base()),
        "id": u.id,
        "displayName": u.display_name,
        "mail": u.mail,
        "userPrincipalName": u.mail,
    })))
}

pub fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_values_are_found_among_comma_separated_preferences() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "prefer",
            HeaderValue::from_static(
                r#"odata.maxpagesize=2, outlook.timezone="Pacific Standard Time""#,
            ),
        );
        let req = GReq {
            method: Method::GET,
            path: String::new(),
            query: vec![],
            headers,
            body: Bytes::new(),
            user_id: String::new(),
            scopes: String::new(),
            origin: String::new(),
        };
        assert_eq!(req.prefer("odata.maxpagesize").as_deref(), Some("2"));
        assert_eq!(
            req.prefer("outlook.timezone").as_deref(),
            Some("Pacific Standard Time")
        );
        assert_eq!(req.prefer("IdType"), None);
    }

    #[test]
    fn percent_decoding_keeps_plus_signs_and_decodes_spaces() {
        assert_eq!(percent_decode("my%20file+1.txt"), "my file+1.txt");
        assert_eq!(percent_decode("a%23b"), "a#b");
    }
}
