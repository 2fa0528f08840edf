//! The client: connects (version detection, authentication, `context_get`, the user's
//! record, `fields_get`), then sends [`Call`]s over the server's transport with a rate limit
//! and retries, and offers the typed methods the sync needs.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use url::Url;

use crate::apikeys::{KeyExpiry, OwnApiKey};
use crate::clock::{Clock, Jitter, RateLimit, RetryPolicy, TokioClock};
use crate::error::OdooError;
use crate::records::{
    Attachment, CalendarAttendee, CalendarEvent, CalendarRecurrence, Me, Record, User,
};
use crate::values::decode;
use crate::version::{ServerVersion, Transport};
use crate::wire::{self, Call, CallKind, WriteOrigin};

/// An API key. It never prints: `Debug` shows `ApiKey(***)`.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Everything a connection needs. `base_url`, `clock` and `jitter_seed` are the seams tests
/// and the emulator use.
#[derive(Debug, Clone)]
pub struct OdooConfig {
    /// The Odoo address, e.g. `https://acme.odoo.com` (or an emulator on loopback).
    pub base_url: Url,
    /// Sent as `X-Odoo-Database` (JSON-2) and as `db` (JSON-RPC). Optional under JSON-2;
    /// under JSON-RPC the single database `db.list` reports is used when it is unset.
    pub database: Option<String>,
    /// The user's login; JSON-RPC authenticates with it and the API key.
    pub login: String,
    pub api_key: ApiKey,
    /// Whole-request timeout. A write whose answer does not come in time is *maybe applied*.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Client-side rate limit (odoo.md §7: about one request a second, small bursts).
    pub requests_per_second: f64,
    pub requests_burst: u32,
    pub retry: RetryPolicy,
    /// Rows per `search_read` page and ids per `read` batch.
    pub page_len: u32,
    /// The slowest upload speed the timeout of an attachment upload allows for: an upload
    /// of `n` bytes may take `timeout + n / upload_bytes_per_second_min`.
    pub upload_bytes_per_second_min: u64,
    /// Largest attachment uploaded through base64 JSON. Odoo's default body limit is
    /// 128 MiB and base64 adds a third, so the default keeps well under it at 64 MiB.
    pub upload_len_max: u64,
    /// Companies to work in, the intended one first; each must be in the user's
    /// `company_ids` (checked on connect). Empty: Odoo's default (all of them).
    pub allowed_company_ids: Vec<i64>,
    pub user_agent: String,
    pub clock: Arc<dyn Clock>,
    pub jitter_seed: u64,
}

impl OdooConfig {
    pub fn new(base_url: Url, login: impl Into<String>, api_key: ApiKey) -> OdooConfig {
        OdooConfig {
            base_url,
            database: None,
            login: login.into(),
            api_key,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            requests_per_second: 1.0,
            requests_burst: 10,
            retry: RetryPolicy::default(),
            page_len: 200,
            upload_len_max: 64 * 1024 * 1024,
            upload_bytes_per_second_min: 128 * 1024,
            allowed_company_ids: Vec::new(),
            user_agent: concat!("Odoo365Sync/", env!("CARGO_PKG_VERSION")).to_string(),
            clock: Arc::new(TokioClock::default()),
            jitter_seed: 0x0d00_0365,
        }
    }
}

/// Options of `search`/`search_read`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchOptions {
    /// An SQL-like order, e.g. `"write_date asc, id asc"`.
    pub order: Option<String>,
    pub limit: Option<u32>,
    pub offset: u32,
    /// `Some(false)` also finds archived records (what change polling needs).
    pub active_test: Option<bool>,
}

/// `context_get`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct UserContext {
    /// Absent from some older answers; JSON-RPC sessions know it from `authenticate`.
    #[serde(default)]
    pub uid: Option<i64>,
    #[serde(default, deserialize_with = "crate::values::opt_string")]
    pub tz: Option<String>,
    #[serde(default, deserialize_with = "crate::values::opt_string")]
    pub lang: Option<String>,
}

/// `calendar.event` `recurrence_update`: which occurrences a write changes (odoo.md §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecurrenceUpdate {
    /// This occurrence only; a time change makes it an exception.
    SelfOnly,
    /// This and the following ones: the series is split, new occurrence ids.
    FutureEvents,
    /// The whole series: rebuilt with new occurrence ids when times or rules change.
    AllEvents,
}

impl RecurrenceUpdate {
    pub fn as_str(self) -> &'static str {
        match self {
            RecurrenceUpdate::SelfOnly => "self_only",
            RecurrenceUpdate::FutureEvents => "future_events",
            RecurrenceUpdate::AllEvents => "all_events",
        }
    }
}

/// A chatter message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePost {
    /// HTML; sent with `body_is_html` on 17+, plain on 16 (where str bodies are HTML).
    pub body_html: String,
    /// An internal note (`mail.mt_note`) instead of a message to followers (`mail.mt_comment`).
    pub internal_note: bool,
}

#[derive(Debug)]
enum Auth {
    Bearer,
    Rpc { db: String, uid: i64 },
}

/// A connected Odoo session.
#[derive(Debug)]
pub struct OdooClient {
    http: reqwest::Client,
    cfg: OdooConfig,
    version: ServerVersion,
    transport: Transport,
    auth: Auth,
    user: User,
    /// The server's fields per model (`fields_get`), `None` when the model does not exist.
    fields: HashMap<String, Option<BTreeSet<String>>>,
    context: Map<String, Value>,
    /// The user's API keys as read on connect (18+), for [`OdooClient::key_expiry`].
    own_keys: OwnKeys,
    limiter: RateLimit,
    jitter: Jitter,
    rpc_id: AtomicU64,
}

/// What connect learnt about the user's API keys.
#[derive(Debug, Clone)]
enum OwnKeys {
    /// Before 18.0 keys have no expiry.
    NoExpiry,
    Read(Vec<OwnApiKey>),
    /// The read failed; the expiry is unknown, the session works all the same.
    Failed(String),
}

pub(crate) fn http_client(cfg: &OdooConfig) -> Result<reqwest::Client, OdooError> {
    // TLS verification stays on (reqwest's default); plain http is for loopback emulators.
    reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.connect_timeout)
        .user_agent(cfg.user_agent.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| OdooError::Invalid(format!("cannot build the HTTP client: {e}")))
}

pub(crate) fn join(base: &Url, path: &str) -> Result<Url, OdooError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    base.join(path)
        .map_err(|e| OdooError::Invalid(format!("bad Odoo URL for {path}: {e}")))
}

/// Maps a transport failure: before sending → *not sent*; after sending a write →
/// *maybe applied*; after sending a read → a retryable network error.
pub(crate) fn send_error(e: &reqwest::Error, url: &Url, call: Option<&Call>) -> OdooError {
    let detail = transport_detail(e);
    if e.is_connect() || e.is_builder() {
        return OdooError::NotSent {
            url: shown_url(url),
            detail,
        };
    }
    match call {
        Some(c) if c.is_write() => OdooError::MaybeApplied {
            model: c.model.clone(),
            method: c.method.clone(),
            detail,
        },
        Some(c) => OdooError::Network {
            model: c.model.clone(),
            method: c.method.clone(),
            detail,
        },
        None => OdooError::Network {
            model: String::new(),
            method: url.path().to_string(),
            detail,
        },
    }
}

/// A URL as errors show it: without its query, which may hold an attachment access token.
pub(crate) fn shown_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// What went wrong on the wire, without reqwest's own text (it repeats the full URL).
fn transport_detail(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let mut detail = what.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    detail
}

/// A redirect is never followed: it would turn a POST into a GET (odoo.md §1.1) and could
/// carry the key elsewhere. Odoo did not process the request, so the caller learns the
/// address to configure instead.
pub(crate) fn redirect_error(resp: &reqwest::Response, url: &Url) -> Option<OdooError> {
    if !resp.status().is_redirection() {
        return None;
    }
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(no Location)");
    Some(OdooError::Invalid(format!(
        "Odoo redirects {} to {location} (HTTP {}): set the Odoo address to the final URL",
        shown_url(url),
        resp.status().as_u16()
    )))
}

/// The models whose fields the client learns on connect.
const KNOWN_MODELS: &[&str] = &[
    CalendarEvent::MODEL,
    CalendarAttendee::MODEL,
    CalendarRecurrence::MODEL,
    Attachment::MODEL,
    User::MODEL,
];

impl OdooClient {
    /// Connects: detects the version (and so the transport), authenticates, reads the
    /// user's context and record, and learns the fields of the synced models.
    pub async fn connect(cfg: OdooConfig) -> Result<OdooClient, OdooError> {
        let http = http_client(&cfg)?;
        let version = crate::detect::detect_version(&http, &cfg.base_url).await?;
        let transport = version.transport();
        tracing::debug!(%version, ?transport, "Odoo version detected");
        let mut client = OdooClient {
            limiter: RateLimit::new(cfg.requests_per_second, cfg.requests_burst),
            jitter: Jitter::seeded(cfg.jitter_seed),
            http,
            version,
            transport,
            auth: Auth::Bearer,
            user: User {
                id: 0,
                login: None,
                name: None,
                email: None,
                tz: None,
                lang: None,
                partner_id: None,
                company_id: None,
                company_ids: Vec::new(),
                share: false,
            },
            fields: HashMap::new(),
            context: Map::new(),
            own_keys: OwnKeys::NoExpiry,
            rpc_id: AtomicU64::new(1),
            cfg,
        };
        if transport == Transport::JsonRpc {
            client.auth = client.rpc_authenticate().await?;
        }
        let ctx = client.context_get().await?;
        for model in KNOWN_MODELS {
            let fields = match client.fields_get(model, &["type"]).await {
                Ok(f) => Some(f.keys().cloned().collect::<BTreeSet<_>>()),
                // A model whose app is not installed: its typed reads report it. JSON-2 says
                // 404 NotFound; 16-18's execute_kw raises UserError "Object x doesn't exist".
                Err(OdooError::Rejected(f)) | Err(OdooError::User(f))
                    if f.http_status == Some(404)
                        || f.message.contains("doesn't exist")
                        || f.message.contains("does not exist") =>
                {
                    tracing::debug!(model, fault = %f, "model not available");
                    None
                }
                Err(e) => return Err(e),
            };
            client.fields.insert((*model).to_string(), fields);
        }
        let uid = match (&client.auth, ctx.uid) {
            (_, Some(uid)) => uid,
            (Auth::Rpc { uid, .. }, None) => *uid,
            (Auth::Bearer, None) => {
                return Err(OdooError::Decode {
                    what: "res.users.context_get".into(),
                    path: "uid".into(),
                    message: "missing".into(),
                })
            }
        };
        let users: Vec<User> = client.read_records(&[uid]).await?;
        let user = users.into_iter().next().ok_or_else(|| OdooError::Decode {
            what: "the connected user".into(),
            path: "[0]".into(),
            message: format!("res.users {uid} was not returned"),
        })?;
        for id in &client.cfg.allowed_company_ids {
            if !user.company_ids.contains(id) {
                return Err(OdooError::Invalid(format!(
                    "company {id} is not one of this user's companies ({:?})",
                    user.company_ids
                )));
            }
        }
        let mut context = Map::new();
        if let Some(tz) = user.tz.clone().or(ctx.tz.clone()) {
            context.insert("tz".into(), json!(tz));
        }
        if let Some(lang) = user.lang.clone().or(ctx.lang.clone()) {
            context.insert("lang".into(), json!(lang));
        }
        if !client.cfg.allowed_company_ids.is_empty() {
            context.insert(
                "allowed_company_ids".into(),
                json!(client.cfg.allowed_company_ids),
            );
        }
        client.context = context;
        client.user = user;
        if client.version.api_keys_expire() {
            client.own_keys = client.read_own_keys(uid).await;
        }
        Ok(client)
    }

    /// The connected user's keys (a user sees only their own; an administrator sees all,
    /// hence the domain). A failure is kept, not raised: the session works without it.
    async fn read_own_keys(&self, uid: i64) -> OwnKeys {
        let read = self
            .search_read::<OwnApiKey>(
                "res.users.apikeys",
                json!([["user_id", "=", uid]]),
                crate::apikeys::FIELDS,
                &SearchOptions::default(),
            )
            .await;
        match read {
            Ok(keys) => OwnKeys::Read(keys),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read this user's API keys; their expiry is unknown");
                OwnKeys::Failed(e.to_string())
            }
        }
    }

    /// When the API key in use expires, judged at `now` (keys already expired or of another
    /// scope cannot be the one in use). See [`KeyExpiry`].
    pub fn key_expiry(&self, now: DateTime<Utc>) -> KeyExpiry {
        match &self.own_keys {
            OwnKeys::NoExpiry => KeyExpiry::Never,
            OwnKeys::Read(keys) => KeyExpiry::of_keys(keys, now),
            OwnKeys::Failed(why) => KeyExpiry::Unknown { why: why.clone() },
        }
    }

    async fn rpc_authenticate(&self) -> Result<Auth, OdooError> {
        let db = match &self.cfg.database {
            Some(db) => db.clone(),
            None => {
                let list = self
                    .rpc_service("db", "list", vec![])
                    .await
                    .map_err(|e| match e {
                        e if e.is_retryable() => e,
                        e => OdooError::Invalid(format!(
                            "this Odoo needs the database name (listing databases failed: {e})"
                        )),
                    })?;
                let names: Vec<String> = decode("db.list", list)?;
                match names.as_slice() {
                    [one] => one.clone(),
                    _ => {
                        return Err(OdooError::Invalid(format!(
                            "this Odoo hosts {} databases: set the database name",
                            names.len()
                        )))
                    }
                }
            }
        };
        let uid = self
            .rpc_service(
                "common",
                "authenticate",
                vec![
                    json!(db),
                    json!(self.cfg.login),
                    json!(self.cfg.api_key.expose()),
                    json!({}),
                ],
            )
            .await?;
        match uid {
            Value::Number(n) if n.as_i64().is_some_and(|u| u > 0) => Ok(Auth::Rpc {
                db,
                uid: n.as_i64().unwrap_or_default(),
            }),
            // `authenticate` answers false for a bad login or key; it does not raise.
            _ => Err(OdooError::Unauthorized(crate::Fault {
                name: "odoo.exceptions.AccessDenied".into(),
                message: format!("login {:?} with this API key was refused", self.cfg.login),
                http_status: None,
            })),
        }
    }

    /// One JSON-RPC service call outside `object` (authentication, db listing), with the
    /// rate limit and read retries.
    async fn rpc_service(
        &self,
        service: &str,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, OdooError> {
        let call = Call::read(service, method);
        let body = wire::jsonrpc_envelope(service, method, args, self.next_id());
        self.with_retries(&call, || self.post_jsonrpc(&call, &body))
            .await
    }

    fn next_id(&self) -> u64 {
        self.rpc_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn version(&self) -> &ServerVersion {
        &self.version
    }
    pub fn transport(&self) -> Transport {
        self.transport
    }
    /// The connected user (tz, lang, partner, companies), read once on connect.
    pub fn user(&self) -> &User {
        &self.user
    }
    /// The connected user, for [`CalendarEvent::is_masked_for`].
    pub fn me(&self) -> Me {
        Me {
            uid: self.user.id,
            partner_id: self.user.partner_id.as_ref().map(|p| p.id).unwrap_or(0),
        }
    }
    /// The context every call starts from (tz, lang, allowed_company_ids).
    pub fn session_context(&self) -> &Map<String, Value> {
        &self.context
    }
    /// Whether the server has `model.field` (as `fields_get` reported on connect).
    pub fn has_field(&self, model: &str, field: &str) -> bool {
        matches!(self.fields.get(model), Some(Some(f)) if f.contains(field))
    }

    /// The fields of `T` this server has.
    pub fn fields_of<T: Record>(&self) -> Result<Vec<&'static str>, OdooError> {
        match self.fields.get(T::MODEL) {
            Some(Some(have)) => Ok(T::FIELDS
                .iter()
                .copied()
                .filter(|f| have.contains(*f))
                .collect()),
            Some(None) => Err(OdooError::Invalid(format!(
                "this Odoo has no {} model (is its app installed?)",
                T::MODEL
            ))),
            None => Ok(T::FIELDS.to_vec()),
        }
    }

    // ---- sending -------------------------------------------------------------------

    /// Sends one call, raw: the JSON result as Odoo returned it.
    pub async fn call(&self, call: &Call) -> Result<Value, OdooError> {
        use tracing::Instrument as _;
        // Model and method only: values (titles, attendees) and the key are never logged.
        let span = tracing::debug_span!("odoo_call", model = %call.model, method = %call.method);
        self.with_retries(call, || self.send_once(call))
            .instrument(span)
            .await
    }

    /// Runs `attempt` under the rate limit, retrying what is safe to retry: reads on
    /// throttling, 5xx, network errors and concurrency conflicts; writes only when Odoo
    /// surely did not apply them (not sent, throttled, a rolled-back conflict).
    async fn with_retries<'a, F, Fut>(&'a self, call: &Call, attempt: F) -> Result<Value, OdooError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Value, OdooError>> + 'a,
    {
        let policy = &self.cfg.retry;
        let clock = self.cfg.clock.as_ref();
        let mut n = 1;
        loop {
            self.limiter.acquire(clock).await;
            let err = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            // A write only ever sees `Unavailable` for a 503 (the request was not taken);
            // 500/502/504 on a write are `MaybeApplied` (see `wire::http_error`).
            let safe = matches!(
                (&err, call.kind),
                (
                    OdooError::NotSent { .. }
                        | OdooError::Throttled { .. }
                        | OdooError::Concurrency(_)
                        | OdooError::Unavailable { .. },
                    _
                ) | (
                    OdooError::Network { .. } | OdooError::Server(_),
                    CallKind::Read
                )
            );
            if !safe || n >= policy.attempts_max {
                return Err(err);
            }
            let wait = match &err {
                OdooError::Throttled {
                    retry_after: Some(d),
                } => {
                    if *d > policy.retry_after_max {
                        return Err(err);
                    }
                    *d
                }
                _ => policy.backoff(n, &self.jitter),
            };
            tracing::debug!(model = %call.model, method = %call.method, attempt = n, ?wait, error = %err, "retrying");
            clock.sleep(wait).await;
            n += 1;
        }
    }

    async fn send_once(&self, call: &Call) -> Result<Value, OdooError> {
        match &self.auth {
            Auth::Bearer => self.post_json2(call).await,
            Auth::Rpc { db, uid } => {
                let (args, kwargs) = call.rpc_args(&self.context);
                let body = wire::jsonrpc_envelope(
                    "object",
                    "execute_kw",
                    vec![
                        json!(db),
                        json!(uid),
                        json!(self.cfg.api_key.expose()),
                        json!(call.model),
                        json!(call.method),
                        Value::Array(args),
                        Value::Object(kwargs),
                    ],
                    self.next_id(),
                );
                self.post_jsonrpc(call, &body).await
            }
        }
    }

    async fn post_json2(&self, call: &Call) -> Result<Value, OdooError> {
        let url = join(&self.cfg.base_url, &call.json2_path())?;
        let mut req = self
            .http
            .post(url.clone())
            .header(
                reqwest::header::AUTHORIZATION,
                format!("bearer {}", self.cfg.api_key.expose()),
            )
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(request_body(
                call,
                call.json2_body(&self.context).to_string(),
            )?);
        if let Some(db) = &self.cfg.database {
            req = req.header("X-Odoo-Database", db);
        }
        if let Some(t) = call.timeout {
            req = req.timeout(t);
        }
        let (status, retry_after, body) = self.exchange(req, &url, call).await?;
        if status != 200 {
            return Err(wire::http_error(
                status,
                retry_after.as_deref(),
                &body,
                Some(call),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| OdooError::Decode {
            what: format!("{}.{}", call.model, call.method),
            path: ".".into(),
            message: e.to_string(),
        })
    }

    async fn post_jsonrpc(&self, call: &Call, body: &Value) -> Result<Value, OdooError> {
        let url = join(&self.cfg.base_url, "jsonrpc")?;
        let mut req = self
            .http
            .post(url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(request_body(call, body.to_string())?);
        if let Some(t) = call.timeout {
            req = req.timeout(t);
        }
        let (status, retry_after, bytes) = self.exchange(req, &url, call).await?;
        if status != 200 {
            return Err(wire::http_error(
                status,
                retry_after.as_deref(),
                &bytes,
                Some(call),
            ));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| OdooError::Decode {
            what: format!("{}.{}", call.model, call.method),
            path: ".".into(),
            message: e.to_string(),
        })?;
        wire::jsonrpc_result(value)
    }

    /// Sends and reads the whole answer; a failure while reading the body is a failure
    /// after sending.
    async fn exchange(
        &self,
        req: reqwest::RequestBuilder,
        url: &Url,
        call: &Call,
    ) -> Result<(u16, Option<String>, bytes::Bytes), OdooError> {
        let resp = req
            .send()
            .await
            .map_err(|e| send_error(&e, url, Some(call)))?;
        let status = resp.status().as_u16();
        if let Some(e) = redirect_error(&resp, url) {
            return Err(e);
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp
            .bytes()
            .await
            .map_err(|e| send_error(&e, url, Some(call)))?;
        Ok((status, retry_after, body))
    }

    // ---- the ORM methods -----------------------------------------------------------

    fn apply_search(call: Call, opts: &SearchOptions) -> Call {
        let mut call = call;
        if let Some(a) = opts.active_test {
            call = call.context("active_test", a);
        }
        call
    }

    /// `search`: ids matching `domain`.
    pub async fn search(
        &self,
        model: &str,
        domain: Value,
        opts: &SearchOptions,
    ) -> Result<Vec<i64>, OdooError> {
        // 16 names search's first parameter `args`, 17+ `domain`: send it positionally.
        let mut call = Call::read(model, "search")
            .arg("domain", domain)
            .rpc_positional(1)
            .arg("offset", opts.offset);
        call = call.arg("limit", opts.limit.map(Value::from).unwrap_or(Value::Null));
        if let Some(order) = &opts.order {
            call = call.arg("order", order.as_str());
        }
        let v = self.call(&Self::apply_search(call, opts)).await?;
        decode(&format!("{model}.search"), v)
    }

    /// `search_read` of `fields`, decoded as `T`.
    pub async fn search_read<T: DeserializeOwned>(
        &self,
        model: &str,
        domain: Value,
        fields: &[&str],
        opts: &SearchOptions,
    ) -> Result<Vec<T>, OdooError> {
        let mut call = Call::read(model, "search_read")
            .arg("domain", domain)
            .rpc_positional(1)
            .arg("fields", json!(fields))
            .arg("offset", opts.offset)
            .arg("limit", opts.limit.map(Value::from).unwrap_or(Value::Null));
        if let Some(order) = &opts.order {
            call = call.arg("order", order.as_str());
        }
        let v = self.call(&Self::apply_search(call, opts)).await?;
        decode(&format!("{model}.search_read"), v)
    }

    /// `read` of `fields` on `ids` (a deleted id is a `Missing` error).
    pub async fn read<T: DeserializeOwned>(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
    ) -> Result<Vec<T>, OdooError> {
        let call = Call::read(model, "read")
            .ids(ids)
            .arg("fields", json!(fields));
        let v = self.call(&call).await?;
        decode(&format!("{model}.read"), v)
    }

    /// `search_count`.
    pub async fn search_count(
        &self,
        model: &str,
        domain: Value,
        active_test: Option<bool>,
    ) -> Result<u64, OdooError> {
        let mut call = Call::read(model, "search_count")
            .arg("domain", domain)
            .rpc_positional(1);
        if let Some(a) = active_test {
            call = call.context("active_test", a);
        }
        let v = self.call(&call).await?;
        decode(&format!("{model}.search_count"), v)
    }

    /// `create` of one or many records in one call (one transaction): their ids, in order.
    /// A lost answer is `MaybeApplied`: look the records up before creating them again.
    pub async fn create(
        &self,
        model: &str,
        vals_list: Vec<Map<String, Value>>,
        origin: WriteOrigin,
    ) -> Result<Vec<i64>, OdooError> {
        let n = vals_list.len();
        let call = Call::write(model, "create", origin)
            .arg(
                "vals_list",
                Value::Array(vals_list.into_iter().map(Value::Object).collect()),
            )
            .rpc_positional(1);
        let v = self.call(&call).await?;
        // JSON-2 answers a list; JSON-RPC an int for one dict (we send lists, but accept both).
        let ids: Vec<i64> = match v {
            Value::Number(_) => vec![decode(&format!("{model}.create"), v)?],
            other => decode(&format!("{model}.create"), other)?,
        };
        if ids.len() != n {
            return Err(OdooError::Decode {
                what: format!("{model}.create"),
                path: ".".into(),
                message: format!("{} ids for {n} records", ids.len()),
            });
        }
        Ok(ids)
    }

    /// `create` of one record: its id.
    pub async fn create_one(
        &self,
        model: &str,
        vals: Map<String, Value>,
        origin: WriteOrigin,
    ) -> Result<i64, OdooError> {
        let ids = self.create(model, vec![vals], origin).await?;
        ids.first().copied().ok_or_else(|| OdooError::Decode {
            what: format!("{model}.create"),
            path: ".".into(),
            message: "no id".into(),
        })
    }

    /// `write` on `calendar.event` rows with `recurrence_update` always stated
    /// (client must-have 7): Odoo's default, `self_only`, silently turns a time change into
    /// an exception, and `future_events`/`all_events` archive occurrences and create new
    /// ids, so the caller must re-read the series afterwards.
    pub async fn write_events(
        &self,
        ids: &[i64],
        vals: Map<String, Value>,
        update: RecurrenceUpdate,
        origin: WriteOrigin,
    ) -> Result<(), OdooError> {
        let mut vals = vals;
        vals.insert("recurrence_update".into(), json!(update.as_str()));
        self.write(CalendarEvent::MODEL, ids, vals, origin).await
    }

    /// `write` of the same `vals` on many ids in one call. An empty `ids` is refused: Odoo
    /// would answer `true` and change nothing.
    pub async fn write(
        &self,
        model: &str,
        ids: &[i64],
        vals: Map<String, Value>,
        origin: WriteOrigin,
    ) -> Result<(), OdooError> {
        if ids.is_empty() {
            return Err(OdooError::Invalid(format!("{model}.write without ids")));
        }
        let call = Call::write(model, "write", origin)
            .ids(ids)
            .arg("vals", Value::Object(vals))
            .rpc_positional(1);
        self.call(&call).await?;
        Ok(())
    }

    /// `unlink` (a hard delete).
    pub async fn unlink(
        &self,
        model: &str,
        ids: &[i64],
        origin: WriteOrigin,
    ) -> Result<(), OdooError> {
        if ids.is_empty() {
            return Ok(());
        }
        let call = Call::write(model, "unlink", origin).ids(ids);
        self.call(&call).await?;
        Ok(())
    }

    /// `fields_get` with the given attributes: field name → attributes.
    pub async fn fields_get(
        &self,
        model: &str,
        attributes: &[&str],
    ) -> Result<Map<String, Value>, OdooError> {
        let call = Call::read(model, "fields_get").arg("attributes", json!(attributes));
        let v = self.call(&call).await?;
        decode(&format!("{model}.fields_get"), v)
    }

    /// `name_search`: `(id, display name)` pairs.
    pub async fn name_search(
        &self,
        model: &str,
        name: &str,
        domain: Value,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, OdooError> {
        // The domain parameter was renamed (`args` in older versions, `domain` later), so
        // JSON-RPC sends name and domain positionally; JSON-2 (19+) names it `domain`.
        let call = Call::read(model, "name_search")
            .arg("name", name)
            .arg("domain", domain)
            .rpc_positional(2)
            .arg("limit", limit);
        let v = self.call(&call).await?;
        decode(&format!("{model}.name_search"), v)
    }

    /// `context_get`: the key owner's uid, tz and lang.
    pub async fn context_get(&self) -> Result<UserContext, OdooError> {
        let v = self.call(&Call::read("res.users", "context_get")).await?;
        decode("res.users.context_get", v)
    }

    /// `message_post` on one record: the new message's id.
    pub async fn message_post(
        &self,
        model: &str,
        id: i64,
        msg: &MessagePost,
        origin: WriteOrigin,
    ) -> Result<i64, OdooError> {
        let subtype = if msg.internal_note {
            "mail.mt_note"
        } else {
            "mail.mt_comment"
        };
        let mut call = Call::write(model, "message_post", origin)
            .ids(&[id])
            .arg("body", msg.body_html.as_str());
        if self.version.has_body_is_html() {
            call = call.arg("body_is_html", true);
        }
        call = call
            .arg("message_type", "comment")
            .arg("subtype_xmlid", subtype);
        let v = self.call(&call).await?;
        match v {
            Value::Array(mut a) if a.len() == 1 => {
                decode(&format!("{model}.message_post"), a.remove(0))
            }
            other => decode(&format!("{model}.message_post"), other),
        }
    }

    // ---- typed records and paging ---------------------------------------------------

    /// One page of `T` records.
    pub async fn search_records<T: Record>(
        &self,
        domain: Value,
        opts: &SearchOptions,
    ) -> Result<Vec<T>, OdooError> {
        let fields = self.fields_of::<T>()?;
        self.search_read(T::MODEL, domain, &fields, opts).await
    }

    /// Every `T` record matching `domain`, in `order`. The matching ids are searched first
    /// (ids only, cheap), then read in batches of `page_len`: offset paging over a live
    /// table would skip a row whenever a concurrent write moves another across a page
    /// boundary. A record deleted between the two steps is simply absent.
    pub async fn search_records_all<T: Record>(
        &self,
        domain: Value,
        order: &str,
        active_test: Option<bool>,
    ) -> Result<Vec<T>, OdooError> {
        let opts = SearchOptions {
            order: Some(order.to_string()),
            limit: None,
            offset: 0,
            active_test,
        };
        let ids = self.search(T::MODEL, domain, &opts).await?;
        self.read_existing(&ids).await
    }

    /// `T` records by id, in batches of `page_len`.
    pub async fn read_records<T: Record>(&self, ids: &[i64]) -> Result<Vec<T>, OdooError> {
        let fields = self.fields_of::<T>()?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.cfg.page_len.max(1) as usize) {
            out.extend(self.read::<T>(T::MODEL, chunk, &fields).await?);
        }
        Ok(out)
    }

    /// `T` records by id that still exist, archived ones included, in the order of `ids`.
    /// Unlike `read`, a record deleted meanwhile is simply absent instead of failing the
    /// whole batch with `MissingError`.
    pub async fn read_existing<T: Record>(&self, ids: &[i64]) -> Result<Vec<T>, OdooError> {
        let fields = self.fields_of::<T>()?;
        let mut by_id = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(self.cfg.page_len.max(1) as usize) {
            let opts = SearchOptions {
                order: Some("id asc".into()),
                limit: None,
                offset: 0,
                active_test: Some(false),
            };
            let rows: Vec<T> = self
                .search_read(T::MODEL, json!([["id", "in", chunk]]), &fields, &opts)
                .await?;
            by_id.extend(rows.into_iter().map(|r| (r.id(), r)));
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Which of `ids` still exist in `model` (archived ones count): the periodic id-set
    /// check that finds hard deletes, which leave no trace in Odoo (odoo.md §5.5).
    pub async fn existing_ids(&self, model: &str, ids: &[i64]) -> Result<Vec<i64>, OdooError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.cfg.page_len.max(1) as usize * 5) {
            let opts = SearchOptions {
                order: Some("id asc".into()),
                limit: None,
                offset: 0,
                active_test: Some(false),
            };
            out.extend(
                self.search(model, json!([["id", "in", chunk]]), &opts)
                    .await?,
            );
        }
        Ok(out)
    }

    /// `T` records written at or after `since - overlap`, archived ones included, ordered
    /// by `write_date, id` (odoo.md §5.5: `write_date` is the transaction's start, truncated
    /// to the second, so a late commit shows an old date; the overlap, ≥ 5 minutes, catches
    /// it, and the caller dedupes by `(id, write_date)`). The ids are searched first and then
    /// read in batches, so rows written while paging neither shift pages nor get skipped.
    /// `domain` adds conditions (e.g. `[["res_model", "=", "calendar.event"]]`).
    pub async fn changed_since<T: Record>(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        overlap: Duration,
        domain: Value,
    ) -> Result<Vec<T>, OdooError> {
        let mut terms = match domain {
            Value::Array(a) => a,
            Value::Null => Vec::new(),
            other => {
                return Err(OdooError::Invalid(format!(
                    "a domain is a list, not {other}"
                )))
            }
        };
        if let Some(since) = since {
            let overlap = chrono::Duration::from_std(overlap)
                .map_err(|e| OdooError::Invalid(format!("overlap too long: {e}")))?;
            terms.insert(
                0,
                json!([
                    "write_date",
                    ">=",
                    crate::values::to_odoo_datetime(since - overlap)
                ]),
            );
        }
        self.search_records_all(Value::Array(terms), "write_date asc, id asc", Some(false))
            .await
    }

    pub(crate) fn config(&self) -> &OdooConfig {
        &self.cfg
    }
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// The body of a call: its JSON text, or for a call with a spool file the same text with
/// the file's base64 streamed in place of [`wire::SPOOL_MARKER`] (memory stays at one
/// chunk whatever the file's size).
fn request_body(call: &Call, text: String) -> Result<reqwest::Body, OdooError> {
    let Some(path) = &call.spool else {
        return Ok(reqwest::Body::from(text));
    };
    let marker = format!("\"{}\"", wire::SPOOL_MARKER);
    let at = text
        .find(&marker)
        .ok_or_else(|| OdooError::Invalid("a spooled call without its placeholder".into()))?;
    let head = bytes::Bytes::from(format!("{}\"", &text[..at]));
    let tail = bytes::Bytes::from(format!("\"{}", &text[at + marker.len()..]));
    Ok(reqwest::Body::wrap_stream(crate::attachments::base64_body(
        head,
        path.clone(),
        tail,
    )))
}
