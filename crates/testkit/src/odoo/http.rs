//! The wire: JSON-2, JSON-RPC, the version routes and `/web/content`, plus the layer that
//! injects faults and writes the request log.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::error::OdooError;
use super::orm::{self, str_of};
use super::{attach, Binding, OdooEmulator};
use crate::{Fault, RequestRecord};

/// Lets a handler close its connection unanswered (see [`super::serve`]).
#[derive(Debug, Clone)]
pub struct DropHandle(pub Arc<tokio::sync::Notify>);

/// The login a request authenticated as, for the request log.
#[derive(Debug, Clone)]
struct LoggedUser(String);

pub fn router(emu: OdooEmulator) -> Router {
    Router::new()
        .route("/json/2/{model}/{method}", any(json2))
        .route("/json/2", any(json2_catch_all))
        .route("/jsonrpc", post(jsonrpc))
        .route("/xmlrpc/2/{service}", post(super::xmlrpc::endpoint))
        .route("/xmlrpc/{service}", post(super::xmlrpc::legacy_endpoint))
        .route("/web/webclient/version_info", post(version_info))
        .route("/web/version", get(web_version))
        .route("/json/version", get(web_version))
        .route("/web/content/{id}", get(content))
        .route("/web/content/{id}/{filename}", get(content_named))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(emu.clone(), faults_and_log))
        .with_state(emu)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transport {
    Json2,
    JsonRpc,
    XmlRpc,
    Http,
}

fn transport_of(path: &str) -> Transport {
    if path.starts_with("/json/2") {
        Transport::Json2
    } else if path.starts_with("/jsonrpc") || path.starts_with("/web/webclient") {
        Transport::JsonRpc
    } else if path.starts_with("/xmlrpc") {
        Transport::XmlRpc
    } else {
        Transport::Http
    }
}

fn proxy_error(status: u16, retry_after_s: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = code.canonical_reason().unwrap_or("Error");
    let mut resp = (
        code,
        [(header::CONTENT_TYPE, "text/html")],
        format!("<html>\r\n<head><title>{status} {text}</title></head>\r\n<body>\r\n<center><h1>{status} {text}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"),
    )
        .into_response();
    if let Some(s) = retry_after_s {
        if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    resp
}

/// The error a transport shows for an exception raised outside a JSON-RPC body's id.
fn transport_error(t: Transport, err: OdooError, version_code: i64) -> Response {
    match t {
        Transport::Json2 => json2_error(err),
        Transport::JsonRpc => jsonrpc_error(&Value::Null, err, version_code),
        Transport::XmlRpc => super::xmlrpc::fault(&err),
        Transport::Http => (
            StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            err.to_string(),
        )
            .into_response(),
    }
}

async fn faults_and_log(State(emu): State<OdooEmulator>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let at = emu.clock().now();
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let drop_handle = req.extensions().get::<DropHandle>().cloned();
    let t = transport_of(&path);
    let fault = emu.faults().draw(&method, &path);
    if let Some(f) = &fault {
        emu.count(&format!("faults.{}", f.name()));
    }
    let code = emu.version().jsonrpc_error_code();
    // A faulty request arrives whole before it fails, as behind nginx, which buffers a
    // request body before it passes the request on (`proxy_request_buffering on`, its
    // default). Answering 503 to a half-sent body would instead race the client's upload:
    // it sees the answer or a reset, by timing, and a seeded history would not replay.
    let req = if fault.is_some() {
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => Request::from_parts(parts, axum::body::Body::from(bytes)),
            Err(_) => Request::from_parts(parts, axum::body::Body::empty()),
        }
    } else {
        req
    };
    let (resp, dropped) = match fault.clone() {
        None => (next.run(req).await, false),
        Some(Fault::Slow { delay_ms }) => {
            // The server is what is slow: the call still has its body when the client stopped
            // waiting meanwhile.
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            (next.run(req).await, false)
        }
        Some(Fault::Throttle { retry_after_s }) => (proxy_error(429, Some(retry_after_s)), false),
        Some(Fault::Unavailable { retry_after_s }) => (proxy_error(503, retry_after_s), false),
        Some(Fault::BadGateway) => (proxy_error(502, None), false),
        Some(Fault::GatewayTimeout) => (proxy_error(504, None), false),
        Some(Fault::Internal) => (transport_error(t, OdooError::Serialization, code), false),
        Some(Fault::ExpiredToken) => {
            let err = match t {
                Transport::Json2 => OdooError::Unauthorized("Invalid apikey".into()),
                _ => OdooError::AccessDenied("Access Denied".into()),
            };
            (transport_error(t, err, code), false)
        }
        Some(Fault::ResetBeforeApply) => (StatusCode::OK.into_response(), true),
        Some(Fault::Timeout { hang_ms }) => {
            tokio::time::sleep(std::time::Duration::from_millis(hang_ms)).await;
            (StatusCode::OK.into_response(), true)
        }
        Some(Fault::ResetAfterApply) => (next.run(req).await, true),
        // Odoo writes carry no version to compare: another session's edit meanwhile only
        // means this write lands on top of it (last writer wins), so the call runs as usual.
        Some(Fault::ConcurrentEdit) => (next.run(req).await, false),
    };
    let user = resp.extensions().get::<LoggedUser>().map(|u| u.0.clone());
    emu.request_log().push(RequestRecord {
        seq: 0,
        at,
        method,
        path,
        status: if dropped { 0 } else { resp.status().as_u16() },
        latency_ms: started.elapsed().as_millis() as u64,
        user,
        fault: fault.map(|f| f.name().to_string()),
        cost: 1,
    });
    if dropped {
        if let Some(h) = drop_handle {
            h.0.notify_one();
        }
        // Without a handle (mounted on another server) the request simply never answers.
        std::future::pending::<()>().await;
    }
    resp
}

pub fn not_found_html() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n",
    )
        .into_response()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// `Json2Dispatcher.handle_error`: status by exception class, the serialized exception as
/// the body, `WWW-Authenticate` kept on 401.
pub fn json2_error(err: OdooError) -> Response {
    let status =
        StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_response(status, &err.serialize());
    if matches!(err, OdooError::Unauthorized(_)) {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("bearer"));
    }
    resp
}

pub(crate) fn with_user(mut resp: Response, login: Option<String>) -> Response {
    if let Some(l) = login {
        resp.extensions_mut().insert(LoggedUser(l));
    }
    resp
}

async fn json2(
    state: State<OdooEmulator>,
    path: Path<(String, String)>,
    req_method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let legacy = state.0.json2_prototype();
    let resp = json2_inner(state, path, req_method, headers, body).await;
    if legacy {
        prototype_error_shape(resp).await
    } else {
        resp
    }
}

/// The saas-18 prototype answered errors as a bare JSON string (the message), not the
/// object (spec §1.1).
async fn prototype_error_shape(resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if resp.status() == StatusCode::OK || !is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("message").cloned())
        .unwrap_or(Value::String(String::new()));
    Response::from_parts(parts, Body::from(message.to_string()))
}

/// Unrouted paths: under `/json/2` the JSON-2 catch-all answers (Odoo takes over
/// `/json/2/<path:subpath>`), elsewhere werkzeug's 404 page.
async fn fallback(State(emu): State<OdooEmulator>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/json/2/") {
        return json2_catch_all(State(emu)).await;
    }
    not_found_html()
}

async fn json2_catch_all(State(emu): State<OdooEmulator>) -> Response {
    if !emu.json2_available() {
        return not_found_html();
    }
    json2_error(OdooError::NotFound(
        "Did you mean POST /json/2/<model>/<method>?".into(),
    ))
}

async fn json2_inner(
    State(emu): State<OdooEmulator>,
    Path((model, method)): Path<(String, String)>,
    req_method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !emu.json2_available() {
        return not_found_html();
    }
    if req_method != Method::POST {
        return json2_error(OdooError::NotFound(
            "Did you mean POST /json/2/<model>/<method>?".into(),
        ));
    }
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mimetype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let has_body =
        content_length.is_some_and(|l| l > 0) || headers.contains_key(header::TRANSFER_ENCODING);
    if has_body && mimetype.as_deref() != Some("application/json") {
        let mut resp = (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!("<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media Type</h1>\n<p>Request inferred type is compatible with ['http'] but '/json/2/{model}/{method}' is type='json2'.\nPlease verify the Content-Type request header and try again.</p>\n"),
        )
            .into_response();
        resp.headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        return resp;
    }
    let limit = emu.body_limit();
    if content_length.is_some_and(|l| l > limit) {
        return json2_error(OdooError::TooLarge(
            "The data value transmitted exceeds the capacity limit.".into(),
        ));
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return json2_error(OdooError::TooLarge(
                "The data value transmitted exceeds the capacity limit.".into(),
            ))
        }
    };
    // Authentication comes before routing to the model (auth='bearer').
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = match auth {
        None => {
            return json2_error(OdooError::Unauthorized(
                "User not authenticated, use an API Key with a Bearer Authorization header.".into(),
            ))
        }
        Some(h) => {
            let (scheme, rest) = h.split_once(char::is_whitespace).unwrap_or((h, ""));
            if !scheme.eq_ignore_ascii_case("bearer") || rest.trim().is_empty() {
                return json2_error(OdooError::Unauthorized("Invalid apikey".into()));
            }
            rest.trim().to_string()
        }
    };
    if let Some(db) = headers.get("x-odoo-database").and_then(|v| v.to_str().ok()) {
        if db != emu.database() {
            return not_found_html();
        }
    }
    let (uid, login) = {
        let db = emu.db();
        match emu.check_key(&db, &token) {
            Some(uid) => (uid, db.user_row(uid).and_then(|u| str_of(u, "login"))),
            None => {
                drop(db);
                emu.count("errors.auth");
                return json2_error(OdooError::Unauthorized("Invalid apikey".into()));
            }
        }
    };
    let params: Map<String, Value> = if bytes.is_empty() {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(o)) => o,
            Ok(_) => Map::new(),
            Err(e) => {
                return with_user(
                    json2_error(OdooError::BadRequest(format!(
                        "could not parse the body as json: {e}"
                    ))),
                    login,
                )
            }
        }
    };
    let mut kwargs = params;
    let ids = match kwargs.remove("ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => match a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>() {
            Some(ids) => ids,
            None => {
                return with_user(
                    json2_error(OdooError::value_error(format!(
                        "ids must be a list of integers: {}",
                        Value::Array(a)
                    ))),
                    login,
                )
            }
        },
        Some(Value::Number(n)) => n.as_i64().into_iter().collect(),
        Some(other) => {
            return with_user(
                json2_error(OdooError::value_error(format!(
                    "ids must be a list of integers: {other}"
                ))),
                login,
            )
        }
    };
    let context = match kwargs.remove("context") {
        Some(Value::Object(c)) => c,
        _ => Map::new(),
    };
    let resp = match emu.run(
        uid,
        &model,
        &method,
        ids,
        Vec::new(),
        kwargs,
        context,
        Binding::Named,
    ) {
        Ok(ret) => json_response(StatusCode::OK, &ret.json2()),
        Err(e) => json2_error(e),
    };
    with_user(resp, login)
}

fn jsonrpc_ok(id: &Value, result: Value) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"jsonrpc": "2.0", "id": id, "result": result}),
    )
}

/// JSON-RPC errors travel in the body under HTTP 200.
fn jsonrpc_error(id: &Value, err: OdooError, code: i64) -> Response {
    let (code, message) = match err {
        OdooError::NotFound(_) => (404, "404: Not Found"),
        _ => (code, "Odoo Server Error"),
    };
    json_response(
        StatusCode::OK,
        &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": err.serialize()}}),
    )
}

fn parse_jsonrpc(bytes: &[u8]) -> Result<(Value, Map<String, Value>), Box<Response>> {
    let bad = |t: &str| Box::new((StatusCode::BAD_REQUEST, t.to_string()).into_response());
    let v: Value = serde_json::from_slice(bytes).map_err(|_| bad("Invalid JSON data"))?;
    let Value::Object(o) = v else {
        return Err(bad("Invalid JSON-RPC data"));
    };
    let id = o.get("id").cloned().unwrap_or(Value::Null);
    let params = match o.get("params") {
        Some(Value::Object(p)) => p.clone(),
        None | Some(Value::Null) => Map::new(),
        _ => return Err(bad("Invalid JSON-RPC data")),
    };
    Ok((id, params))
}

async fn read_limited(emu: &OdooEmulator, body: Body) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(body, emu.body_limit())
        .await
        .map_err(|_| {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The data value transmitted exceeds the capacity limit.",
            )
                .into_response()
        })
}

async fn version_info(State(emu): State<OdooEmulator>, body: Body) -> Response {
    let bytes = match read_limited(&emu, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match parse_jsonrpc(&bytes) {
        Ok((id, _)) => jsonrpc_ok(&id, emu.version().common_version()),
        Err(r) => *r,
    }
}

async fn web_version(State(emu): State<OdooEmulator>) -> Response {
    let v = emu.version();
    if !v.has_web_version() {
        return not_found_html();
    }
    json_response(
        StatusCode::OK,
        &json!({"version_info": v.version_info(), "version": v.raw}),
    )
}

async fn jsonrpc(State(emu): State<OdooEmulator>, body: Body) -> Response {
    if emu.rpc_disabled() {
        return not_found_html();
    }
    let bytes = match read_limited(&emu, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (id, params) = match parse_jsonrpc(&bytes) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let code = emu.version().jsonrpc_error_code();
    let service = params.get("service").and_then(Value::as_str).unwrap_or("");
    let method = params.get("method").and_then(Value::as_str).unwrap_or("");
    let args = match params.get("args") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    match dispatch_rpc(&emu, service, method, args) {
        Ok((v, login)) => with_user(jsonrpc_ok(&id, v), login),
        Err(e) => jsonrpc_error(&id, e, code),
    }
}

fn arg_str(args: &[Value], i: usize) -> String {
    args.get(i)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn check_db(emu: &OdooEmulator, db: &str) -> Result<(), OdooError> {
    if db == emu.database() {
        Ok(())
    } else {
        Err(OdooError::Python {
            class: "psycopg2.OperationalError",
            message: format!(
                "connection to server failed: FATAL:  database \"{db}\" does not exist"
            ),
        })
    }
}

/// `dispatch_rpc` for the `common`, `object` and `db` services.
pub(crate) fn dispatch_rpc(
    emu: &OdooEmulator,
    service: &str,
    method: &str,
    args: Vec<Value>,
) -> Result<(Value, Option<String>), OdooError> {
    match (service, method) {
        ("common", "version") => Ok((emu.version().common_version(), None)),
        ("common", "authenticate" | "login") => {
            check_db(emu, &arg_str(&args, 0))?;
            let (login, password) = (arg_str(&args, 1), arg_str(&args, 2));
            let db = emu.db();
            let uid = db.tables.get("res.users").and_then(|t| {
                t.rows
                    .iter()
                    .find(|(_, r)| r.get("login").and_then(Value::as_str) == Some(login.as_str()))
                    .map(|(i, _)| *i)
            });
            // Bad credentials answer False, they do not raise.
            Ok(
                match uid.filter(|&u| emu.check_credentials(&db, u, &password)) {
                    Some(u) => (json!(u), Some(login)),
                    None => (json!(false), None),
                },
            )
        }
        ("object", "execute_kw" | "execute") => {
            check_db(emu, &arg_str(&args, 0))?;
            let uid = args.get(1).and_then(Value::as_i64).unwrap_or(0);
            let password = arg_str(&args, 2);
            let login = {
                let db = emu.db();
                if !emu.check_credentials(&db, uid, &password) {
                    return Err(OdooError::AccessDenied("Access Denied".into()));
                }
                db.user_row(uid).and_then(|u| str_of(u, "login"))
            };
            let model = arg_str(&args, 3);
            let meth = arg_str(&args, 4);
            let (pos, mut kwargs) = if method == "execute_kw" {
                let pos = match args.get(5) {
                    Some(Value::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                let kw = match args.get(6) {
                    Some(Value::Object(o)) => o.clone(),
                    _ => Map::new(),
                };
                (pos, kw)
            } else {
                (args.iter().skip(5).cloned().collect(), Map::new())
            };
            let context = match kwargs.remove("context") {
                Some(Value::Object(c)) => c,
                _ => Map::new(),
            };
            let ret = emu.run(
                uid,
                &model,
                &meth,
                Vec::new(),
                pos,
                kwargs,
                context,
                Binding::Positional,
            )?;
            Ok((ret.jsonrpc(), login))
        }
        ("db", "list") => Ok((json!([emu.database()]), None)),
        ("db", "server_version") => Ok((json!(emu.version().raw), None)),
        _ => Err(OdooError::NotFound(format!("{service}.{method}"))),
    }
}

#[derive(Debug, serde::Deserialize)]
struct ContentQuery {
    access_token: Option<String>,
    download: Option<String>,
}

/// Parses one `bytes=a-b`, `bytes=a-` or `bytes=-n` range into inclusive offsets.
fn parse_range(header: &str, total: usize) -> Option<(usize, usize)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || total == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: usize = n.parse().ok()?;
            (total.checked_sub(n.min(total))?, total - 1)
        }
        (a, "") => (a.parse().ok()?, total - 1),
        (a, b) => (a.parse().ok()?, b.parse::<usize>().ok()?.min(total - 1)),
    };
    (start <= end && start < total).then_some((start, end))
}

async fn content_named(
    State(emu): State<OdooEmulator>,
    Path((id, _name)): Path<(String, String)>,
    Query(q): Query<ContentQuery>,
    headers: HeaderMap,
) -> Response {
    serve_content(&emu, &id, q, &headers)
}

async fn content(
    State(emu): State<OdooEmulator>,
    Path(id): Path<String>,
    Query(q): Query<ContentQuery>,
    headers: HeaderMap,
) -> Response {
    serve_content(&emu, &id, q, &headers)
}

/// `/web/content/<id>`: public route; the attachment's `access_token` (or `public`) grants
/// access; the ETag is the checksum and a matching `If-None-Match` answers 304.
fn serve_content(emu: &OdooEmulator, id: &str, q: ContentQuery, headers: &HeaderMap) -> Response {
    // `/web/content/<id>-<unique>` is also accepted by Odoo's converter.
    let Some(id) = id.split('-').next().and_then(|s| s.parse::<i64>().ok()) else {
        return not_found_html();
    };
    let row = {
        let db = emu.db();
        match db.row("ir.attachment", id) {
            Some(r) => r.clone(),
            None => return not_found_html(),
        }
    };
    let token_ok = match (q.access_token.as_deref(), str_of(&row, "access_token")) {
        (Some(given), Some(stored)) => !stored.is_empty() && given == stored,
        _ => false,
    };
    if !token_ok && !orm::truthy(row.get("public")) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<h1>403 Forbidden</h1>",
        )
            .into_response();
    }
    let checksum = str_of(&row, "checksum").unwrap_or_default();
    let etag = format!("\"{checksum}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag || v.trim_matches('"') == checksum)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut bytes = attach::content(&row);
    let total = bytes.len();
    // A single `bytes=a-b` range answers 206 (werkzeug's conditional responses).
    let mut partial: Option<(usize, usize)> = None;
    if let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        match parse_range(range, total) {
            Some((a, b)) => partial = Some((a, b)),
            None => {
                let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
                    resp.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return resp;
            }
        }
    }
    if let Some((a, b)) = partial {
        bytes = bytes[a..=b].to_vec();
    }
    let name = str_of(&row, "name").unwrap_or_else(|| "file".into());
    let mimetype = str_of(&row, "mimetype").unwrap_or_else(|| "application/octet-stream".into());
    let download = q
        .download
        .as_deref()
        .is_some_and(|d| d == "true" || d == "1");
    let disposition = format!(
        "{}; filename=\"{}\"",
        if download { "attachment" } else { "inline" },
        name.replace('"', "")
    );
    let status = if partial.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut resp = (status, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some((a, b)) = partial {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{total}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    for (k, v) in [
        (header::CONTENT_TYPE, mimetype),
        (header::ETAG, etag),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, "no-cache".to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    resp
}
