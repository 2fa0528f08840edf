//! The Odoo emulator: Odoo's external API (JSON-2, JSON-RPC, version routes, `/web/content`)
//! over an in-memory ORM with Odoo's calendar, attachment, chatter and access rules, built
//! from `shared/specs/odoo.md`.
//!
//! Start it with [`OdooEmulator::start`] (binds 127.0.0.1:0) or mount [`OdooEmulator::router`]
//! and [`OdooEmulator::control_router`] yourself. Everything is in memory; one seed and one
//! request sequence reproduce a run (ids, faults, mails).
//!
//! Invariants: each call is one transaction (all or nothing); `write_date` is the
//! transaction's start time; every mail Odoo would send is in the outbox unless the caller's
//! context suppressed it.

mod apikeys;
mod attach;
mod calendar;
mod control;
mod domain;
mod error;
mod http;
mod models;
mod orm;
mod service;
mod version;
mod webhook;
mod xmlrpc;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use error::OdooError;
pub use orm::{ApiKey, Mail};
pub use service::Ret;
pub use version::{BadVersion, VersionProfile};
pub use webhook::{WebhookDelivery, WebhookRule};

use crate::{Clock, FaultPlan, RequestLog};
use orm::{Db, Env, Row, Tx};

/// The largest clock shift (skew, late commit, clock moves) the emulator accepts: 100 years.
pub const MAX_SHIFT_S: i64 = 100 * 366 * 24 * 3600;

/// The default request body limit (`DEFAULT_MAX_CONTENT_LENGTH`, 128 MiB, spec §4.3).
pub const DEFAULT_BODY_LIMIT: usize = 128 * 1024 * 1024;

/// How the emulator starts.
#[derive(Debug, Clone)]
pub struct OdooConfig {
    /// Seeds the fault plan.
    pub seed: u64,
    pub clock: Clock,
    /// `19.0`, `17.0+e`, `saas~18.3`, ...
    pub version: String,
    /// The database name (`X-Odoo-Database`, `common.authenticate`).
    pub database: String,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
}

impl Default for OdooConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            clock: Clock::default(),
            version: "19.0".into(),
            database: "odoo".into(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

/// Switches that tests flip through the control API.
#[derive(Debug, Clone)]
struct Hooks {
    /// Seconds added to the shared clock for this server's `cr.now()` (clock skew).
    skew_s: i64,
    /// The next writing call's transaction started this many seconds before it commits.
    late_commit_s: Option<i64>,
    body_limit: usize,
    /// `/jsonrpc` answers 404, as after RPC removal.
    rpc_disabled: bool,
    /// The saas-18 JSON-2 prototype: `/json/2` on saas~18.x, errors as bare strings.
    json2_prototype: bool,
}

#[derive(Debug)]
struct Inner {
    db: Mutex<Db>,
    clock: Clock,
    faults: FaultPlan,
    log: RequestLog,
    counters: Mutex<BTreeMap<String, u64>>,
    hooks: Mutex<Hooks>,
    database: String,
    deliveries: Arc<Mutex<Vec<WebhookDelivery>>>,
}

/// The emulator; clones share one server state.
#[derive(Debug, Clone)]
pub struct OdooEmulator {
    inner: Arc<Inner>,
}

/// A started emulator.
#[derive(Debug)]
pub struct RunningOdoo {
    /// Base URL of the API, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Base URL of the control API.
    pub control_url: String,
    pub emulator: OdooEmulator,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    control_shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningOdoo {
    /// Stops accepting connections.
    pub fn shutdown(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(s) = self.control_shutdown.take() {
            let _ = s.send(());
        }
    }
}

impl Drop for RunningOdoo {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What kind of user to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    #[default]
    Internal,
    Portal,
    /// Internal with Settings rights (system).
    Admin,
}

/// A user to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    pub login: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub tz: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub kind: UserKind,
    /// Default company; the first of `company_ids`, else the main company.
    #[serde(default)]
    pub company_id: Option<i64>,
    #[serde(default)]
    pub company_ids: Option<Vec<i64>>,
}

impl NewUser {
    pub fn internal(login: &str) -> Self {
        Self {
            login: login.into(),
            name: None,
            email: None,
            password: None,
            tz: None,
            lang: None,
            kind: UserKind::Internal,
            company_id: None,
            company_ids: None,
        }
    }

    pub fn portal(login: &str) -> Self {
        Self {
            kind: UserKind::Portal,
            ..Self::internal(login)
        }
    }
}

/// The ids a new user got.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CreatedUser {
    pub uid: i64,
    pub partner_id: i64,
}

/// A key to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewApiKey {
    #[serde(default)]
    pub name: Option<String>,
    /// `None` (global, as the UI makes them) or `"rpc"`.
    #[serde(default)]
    pub scope: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS` (UTC); ignored before 18.0, where keys never expire.
    #[serde(default)]
    pub expiration_date: Option<String>,
}

/// Errors of the in-process helpers and the control API.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Version(#[from] BadVersion),
    #[error("no user with id {0}")]
    NoUser(i64),
    #[error("bad value: {0}")]
    Bad(String),
    #[error(transparent)]
    Odoo(#[from] OdooError),
}

impl OdooEmulator {
    pub fn new(config: OdooConfig) -> Self {
        let version = VersionProfile::parse(&config.version).unwrap_or_else(|e| {
            tracing::warn!("{e}; playing 19.0 instead");
            VersionProfile::parse("19.0").expect("19.0 parses")
        });
        let mut db = Db::new(version);
        seed_base(&mut db, config.clock.now().naive_utc());
        Self {
            inner: Arc::new(Inner {
                db: Mutex::new(db),
                clock: config.clock,
                faults: FaultPlan::new(config.seed),
                log: RequestLog::new(),
                counters: Mutex::new(BTreeMap::new()),
                hooks: Mutex::new(Hooks {
                    skew_s: 0,
                    late_commit_s: None,
                    body_limit: config.body_limit,
                    rpc_disabled: false,
                    json2_prototype: false,
                }),
                database: config.database,
                deliveries: Arc::new(Mutex::new(Vec::new())),
            }),
        }
    }

    /// Binds 127.0.0.1:0 for the API and another port for the control API. An unparsable
    /// version is an error here (`new` falls back to 19.0 with a warning).
    pub async fn start(config: OdooConfig) -> anyhow::Result<RunningOdoo> {
        VersionProfile::parse(&config.version)?;
        let emulator = Self::new(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let control = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let control_url = format!("http://{}", control.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (ctx, crx) = tokio::sync::oneshot::channel();
        tokio::spawn(serve(listener, emulator.router(), rx));
        tokio::spawn(serve(control, emulator.control_router(), crx));
        Ok(RunningOdoo {
            url,
            control_url,
            emulator,
            shutdown: Some(tx),
            control_shutdown: Some(ctx),
        })
    }

    /// The API routes: `/json/2/...`, `/jsonrpc`, `/web/version`, `/json/version`,
    /// `/web/webclient/version_info`, `/web/content/...`.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// The control API (JSON), documented in `crates/testkit/README.md`.
    pub fn control_router(&self) -> axum::Router {
        control::router(self.clone())
    }

    pub fn clock(&self) -> Clock {
        self.inner.clock.clone()
    }

    pub fn faults(&self) -> FaultPlan {
        self.inner.faults.clone()
    }

    pub fn request_log(&self) -> RequestLog {
        self.inner.log.clone()
    }

    pub fn database(&self) -> &str {
        &self.inner.database
    }

    /// Every mail sent so far, in order.
    pub fn outbox(&self) -> Vec<Mail> {
        self.db().outbox.clone()
    }

    pub fn clear_outbox(&self) {
        self.db().outbox.clear();
    }

    /// Counters by name (`calls`, `calls.<model>.<method>`, `errors.<name>`, `faults.<kind>`).
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.inner
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The `writes` counter alone: what tests and the bench read most, without copying
    /// every counter.
    pub fn writes(&self) -> u64 {
        self.inner
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get("writes")
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn count(&self, key: &str) {
        let mut c = self
            .inner
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *c.entry(key.to_string()).or_insert(0) += 1;
    }

    pub fn version(&self) -> VersionProfile {
        self.db().version.clone()
    }

    /// Switches the version profile; data is kept.
    pub fn set_version(&self, version: &str) -> Result<(), ControlError> {
        let v = VersionProfile::parse(version)?;
        self.db().set_version(v);
        Ok(())
    }

    /// This server's clock runs `seconds` ahead of (or, negative, behind) the shared clock.
    pub fn set_clock_skew(&self, seconds: i64) {
        self.hooks().skew_s = seconds.clamp(-MAX_SHIFT_S, MAX_SHIFT_S);
    }

    /// The next writing call behaves like a transaction that started `seconds` ago and
    /// commits only now: its rows carry a `write_date` that long in the past.
    pub fn late_commit_next(&self, seconds: i64) {
        self.hooks().late_commit_s = Some(seconds.clamp(-MAX_SHIFT_S, MAX_SHIFT_S));
    }

    pub fn set_body_limit(&self, bytes: usize) {
        self.hooks().body_limit = bytes;
    }

    /// The request body limit: the system parameter `web.max_file_upload_size` when set
    /// (18/19 `ir.http._pre_dispatch`), else the configured limit.
    pub fn body_limit(&self) -> usize {
        let param = {
            let db = self.db();
            if db.version.has_key_expiry() {
                db.params
                    .get("web.max_file_upload_size")
                    .and_then(|v| v.trim().parse::<usize>().ok())
            } else {
                None
            }
        };
        param.unwrap_or_else(|| self.hooks().body_limit)
    }

    /// Makes `/jsonrpc` answer 404, as a server where RPC was removed.
    pub fn set_rpc_disabled(&self, disabled: bool) {
        self.hooks().rpc_disabled = disabled;
    }

    /// Plays the saas-18 JSON-2 prototype (PR #197801): `/json/2` answers on saas~18.x
    /// profiles too, and its errors are bare JSON strings instead of the error object.
    pub fn set_json2_prototype(&self, on: bool) {
        self.hooks().json2_prototype = on;
    }

    pub(crate) fn json2_prototype(&self) -> bool {
        self.hooks().json2_prototype
    }

    /// Whether `/json/2` routes exist on this profile.
    pub(crate) fn json2_available(&self) -> bool {
        let v = self.version();
        v.has_json2() || (self.json2_prototype() && v.saas && v.major == 18)
    }

    pub(crate) fn rpc_disabled(&self) -> bool {
        self.hooks().rpc_disabled
    }

    /// Sets a system parameter, e.g. `calendar.block_mail`.
    pub fn set_param(&self, key: &str, value: &str) {
        self.db().params.insert(key.into(), value.into());
    }

    pub(crate) fn db(&self) -> std::sync::MutexGuard<'_, Db> {
        self.inner.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hooks(&self) -> std::sync::MutexGuard<'_, Hooks> {
        self.inner.hooks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `cr.now()` for a new transaction: the shared clock plus this server's skew, moved
    /// back by a pending late-commit hook when the call writes.
    pub(crate) fn tx_now(&self, writes: bool) -> NaiveDateTime {
        let mut h = self.hooks();
        let mut now = self.inner.clock.now() + chrono::Duration::seconds(h.skew_s);
        if writes {
            if let Some(s) = h.late_commit_s.take() {
                now -= chrono::Duration::seconds(s);
            }
        }
        now.naive_utc()
    }

    /// The server's wall clock (with skew), as a string for mails and logs.
    pub(crate) fn wall_now(&self) -> NaiveDateTime {
        let skew = self.hooks().skew_s;
        (self.inner.clock.now() + chrono::Duration::seconds(skew)).naive_utc()
    }

    /// Creates a company (and its partner); returns its id.
    pub fn create_company(&self, name: &str) -> i64 {
        let now = self.wall_now();
        let mut db = self.db();
        let mut tx = Tx::begin(&mut db, now);
        let partner = seed_row(
            &mut tx,
            "res.partner",
            &[
                ("name", json!(name)),
                ("is_company", json!(true)),
                ("active", json!(true)),
            ],
        );
        let id = seed_row(
            &mut tx,
            "res.company",
            &[
                ("name", json!(name)),
                ("partner_id", json!(partner)),
                ("active", json!(true)),
            ],
        );
        // Admins belong to every company.
        let admin_companies = orm::ids_of(
            tx.row("res.users", orm::ADMIN_UID)
                .and_then(|r| r.get("company_ids")),
        );
        let mut ch = Row::new();
        ch.insert(
            "company_ids".into(),
            json!(admin_companies.into_iter().chain([id]).collect::<Vec<_>>()),
        );
        tx.update("res.users", orm::ADMIN_UID, ch);
        tx.commit("");
        id
    }

    /// Creates a user with its partner; internal users get `base.group_user`, portal users
    /// `base.group_portal` and `share=True`, admins also `base.group_system`.
    pub fn create_user(&self, user: NewUser) -> Result<CreatedUser, ControlError> {
        let now = self.wall_now();
        let mut db = self.db();
        if user.login.is_empty() {
            return Err(ControlError::Bad("login is empty".into()));
        }
        let taken = db.tables.get("res.users").is_some_and(|t| {
            t.rows
                .values()
                .any(|r| r.get("login").and_then(Value::as_str) == Some(user.login.as_str()))
        });
        if taken {
            return Err(ControlError::Bad(format!(
                "login {:?} is taken",
                user.login
            )));
        }
        let company_ids = user
            .company_ids
            .clone()
            .unwrap_or_else(|| vec![user.company_id.unwrap_or(1)]);
        for c in &company_ids {
            if db.row("res.company", *c).is_none() {
                return Err(ControlError::Bad(format!("no company with id {c}")));
            }
        }
        let company_id = user.company_id.unwrap_or(company_ids[0]);
        let name = user.name.clone().unwrap_or_else(|| user.login.clone());
        let email = user.email.clone().unwrap_or_else(|| {
            if user.login.contains('@') {
                user.login.clone()
            } else {
                format!("{}@example.com", user.login)
            }
        });
        let groups = match user.kind {
            UserKind::Internal => vec![orm::GROUP_USER],
            UserKind::Portal => vec![orm::GROUP_PORTAL],
            UserKind::Admin => vec![orm::GROUP_USER, orm::GROUP_SYSTEM],
        };
        let groups_field = db.version.groups_field();
        let mut tx = Tx::begin(&mut db, now);
        let partner = seed_row(
            &mut tx,
            "res.partner",
            &[
                ("name", json!(name)),
                ("email", json!(email)),
                ("tz", json!(user.tz)),
                (
                    "lang",
                    json!(user.lang.clone().unwrap_or_else(|| "en_US".into())),
                ),
                ("active", json!(true)),
            ],
        );
        let uid = seed_row(
            &mut tx,
            "res.users",
            &[
                ("login", json!(user.login)),
                ("name", json!(name)),
                ("email", json!(email)),
                ("tz", json!(user.tz)),
                ("lang", json!(user.lang.unwrap_or_else(|| "en_US".into()))),
                ("partner_id", json!(partner)),
                ("company_id", json!(company_id)),
                ("company_ids", json!(company_ids)),
                ("share", json!(user.kind == UserKind::Portal)),
                ("active", json!(true)),
                (groups_field, json!(groups)),
            ],
        );
        tx.commit("");
        db.secrets.insert(
            uid,
            orm::UserSecret {
                password: user.password.unwrap_or_default(),
            },
        );
        Ok(CreatedUser {
            uid,
            partner_id: partner,
        })
    }

    /// Finds a user id by login.
    pub fn uid_of(&self, login: &str) -> Option<i64> {
        let db = self.db();
        db.tables.get("res.users").and_then(|t| {
            t.rows
                .iter()
                .find(|(_, r)| r.get("login").and_then(Value::as_str) == Some(login))
                .map(|(i, _)| *i)
        })
    }

    /// Sets whether a user is active (inactive users' keys stop working).
    pub fn set_user_active(&self, uid: i64, active: bool) -> Result<(), ControlError> {
        let now = self.wall_now();
        let mut db = self.db();
        if db.user_row(uid).is_none() {
            return Err(ControlError::NoUser(uid));
        }
        let mut tx = Tx::begin(&mut db, now);
        let mut ch = Row::new();
        ch.insert("active".into(), json!(active));
        tx.update("res.users", uid, ch);
        tx.commit("");
        Ok(())
    }

    /// Marks a user as running Odoo's own Outlook calendar sync: from 17 their recurrence
    /// creates and edits are refused with a UserError, as `microsoft_calendar` does.
    pub fn set_outlook_sync(&self, uid: i64, active: bool) -> Result<(), ControlError> {
        let mut db = self.db();
        if db.user_row(uid).is_none() {
            return Err(ControlError::NoUser(uid));
        }
        if active {
            db.outlook_sync.insert(uid);
        } else {
            db.outlook_sync.remove(&uid);
        }
        Ok(())
    }

    /// Adds a base_automation webhook rule; returns its id.
    pub fn add_webhook(&self, mut rule: WebhookRule) -> Result<i64, ControlError> {
        let mut db = self.db();
        if !webhook::TRIGGERS.contains(&rule.trigger.as_str()) {
            return Err(ControlError::Bad(format!(
                "unknown trigger {:?}",
                rule.trigger
            )));
        }
        let Some(m) = db.registry.get(&rule.model) else {
            return Err(ControlError::Bad(format!("unknown model {:?}", rule.model)));
        };
        if let Some(f) = rule.fields.iter().find(|f| !m.has(f)) {
            return Err(ControlError::Bad(format!(
                "unknown field {f:?} on {}",
                rule.model
            )));
        }
        if !db.version.has_body_is_html() {
            return Err(ControlError::Bad("webhook actions exist from 17.0".into()));
        }
        rule.id = db.webhooks.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        let id = rule.id;
        db.webhooks.push(rule);
        Ok(id)
    }

    pub fn clear_webhooks(&self) {
        self.db().webhooks.clear();
    }

    /// Every webhook POST attempted so far (they complete in the background).
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Creates an API key for `uid`; returns the 40-hex key (shown once, as in Odoo).
    pub fn create_api_key(&self, uid: i64, spec: NewApiKey) -> Result<String, ControlError> {
        let mut db = self.db();
        if db.user_row(uid).is_none() {
            return Err(ControlError::NoUser(uid));
        }
        if let Some(s) = &spec.scope {
            if s != "rpc" && !s.starts_with("odoo.") {
                return Err(ControlError::Bad(format!("unknown scope {s:?}")));
            }
        }
        if let Some(e) = &spec.expiration_date {
            if orm::parse_dt(e).is_none() {
                return Err(ControlError::Bad(format!(
                    "expiration_date {e:?} is not YYYY-MM-DD HH:MM:SS"
                )));
            }
        }
        let created = orm::fmt_dt(self.wall_now());
        let key = apikeys::make(
            &mut db,
            uid,
            spec.name.unwrap_or_else(|| "test key".into()),
            spec.scope,
            spec.expiration_date,
            created,
        );
        Ok(key)
    }

    /// Revokes (deletes) a key by its id; false when there was none.
    pub fn revoke_api_key(&self, key_id: i64) -> bool {
        apikeys::remove(&mut self.db(), key_id)
    }

    /// The keys (without their secret part).
    pub fn api_keys(&self) -> Vec<ApiKey> {
        self.db().keys.clone()
    }

    /// The user a bearer key belongs to, if the key is valid for RPC now.
    pub(crate) fn check_key(&self, db: &Db, key: &str) -> Option<i64> {
        apikeys::rpc_user(db, key, self.wall_now())
    }

    /// `_check_credentials`: the password or an API key of that user.
    pub(crate) fn check_credentials(&self, db: &Db, uid: i64, password: &str) -> bool {
        let active = db
            .user_row(uid)
            .is_some_and(|u| orm::truthy(u.get("active")));
        if !active || password.is_empty() {
            return false;
        }
        let pw_ok = db
            .secrets
            .get(&uid)
            .is_some_and(|s| !s.password.is_empty() && s.password == password);
        pw_ok || self.check_key(db, password) == Some(uid)
    }

    /// Runs one call as `uid`, in its own transaction, as the transports do; `args` are
    /// positional arguments after the ids (JSON-RPC style), `kwargs` named ones.
    pub fn execute(
        &self,
        uid: i64,
        model: &str,
        method: &str,
        ids: &[i64],
        kwargs: Map<String, Value>,
    ) -> Result<Ret, OdooError> {
        let mut kwargs = kwargs;
        let context = match kwargs.remove("context") {
            Some(Value::Object(c)) => c,
            _ => Map::new(),
        };
        self.run(
            uid,
            model,
            method,
            ids.to_vec(),
            Vec::new(),
            kwargs,
            context,
            Binding::Named,
        )
    }

    /// The shared call path: environment, lookup, binding, one transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run(
        &self,
        uid: i64,
        model: &str,
        method: &str,
        ids: Vec<i64>,
        mut args: Vec<Value>,
        kwargs: Map<String, Value>,
        context: Map<String, Value>,
        binding: Binding,
    ) -> Result<Ret, OdooError> {
        self.count("calls");
        self.count(&format!("calls.{model}.{method}"));
        let sig_writes;
        let result = {
            let version = self.db().version.clone();
            let reg = self.db().registry.clone();
            let m = orm::model(&reg, model)?;
            let sig = service::lookup(m, method, &version)?;
            sig_writes = sig.writes;
            if sig.api_model && !ids.is_empty() && binding == Binding::Named {
                return Err(OdooError::Unprocessable(format!(
                    "cannot call {model}.{method} with ids"
                )));
            }
            // execute_kw: a record method's ids are the first positional argument.
            let ids = if binding == Binding::Positional && !sig.api_model && !args.is_empty() {
                match args.remove(0) {
                    Value::Array(a) => a
                        .iter()
                        .map(|v| {
                            v.as_i64().ok_or_else(|| {
                                OdooError::type_error(format!("ids must be integers, got {v}"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    Value::Number(n) => n.as_i64().into_iter().collect(),
                    Value::Bool(false) | Value::Null => Vec::new(),
                    other => {
                        return Err(OdooError::type_error(format!(
                            "ids must be integers, got {other}"
                        )))
                    }
                }
            } else {
                ids
            };
            let bound = service::bind(&sig, args, kwargs).map_err(|msg| match binding {
                Binding::Named => OdooError::Unprocessable(msg),
                Binding::Positional => OdooError::type_error(format!("{method}() {msg}")),
            })?;
            let now = self.tx_now(sig.writes);
            let mut db = self.db();
            let mut ctx = context;
            if !ctx.contains_key("lang") {
                if let Some(l) = db.user_row(uid).and_then(|u| u.get("lang")).cloned() {
                    ctx.insert("lang".into(), l);
                }
            }
            let env = Env::new(&db, uid, ctx)?;
            let at = orm::fmt_dt(self.wall_now());
            let mut tx = Tx::begin(&mut db, now);
            let ids = if sig.api_model { Vec::new() } else { ids };
            let out = service::call(&mut tx, &env, m, method, &ids, &bound);
            // Webhooks: up to 18 they go out inside the transaction (rolled back or not);
            // from 19 only after a commit.
            let due = if tx.db.webhooks.is_empty() {
                Vec::new()
            } else {
                webhook::due(tx.db, &tx.changes())
            };
            let after_commit_only = tx.db.version.has_json2();
            let committed = out.is_ok();
            if committed {
                tx.commit(&at);
            } else {
                drop(tx); // rolls back
            }
            if committed || !after_commit_only {
                for (rule, url, payload) in due {
                    webhook::send(self.inner.deliveries.clone(), rule, url, payload, committed);
                }
            }
            out
        };
        match &result {
            Ok(_) if sig_writes => self.count("writes"),
            Ok(_) => {}
            Err(e) => self.count(&format!("errors.{}", e.name())),
        }
        result
    }

    /// The demo world: two companies, two internal users and a portal user with keys, a few
    /// events (one recurring, one private, one all-day) and business records with files.
    pub fn seed_demo(&self) -> Result<DemoSeed, ControlError> {
        let second = self.create_company("Second Company");
        let alice = self.create_user(NewUser {
            name: Some(crate::demo::ALICE_NAME.into()),
            email: Some(crate::demo::ALICE.into()),
            password: Some("alice".into()),
            tz: Some("Europe/Brussels".into()),
            company_ids: Some(vec![1, second]),
            company_id: Some(1),
            ..NewUser::internal(crate::demo::ALICE_LOGIN)
        })?;
        let bob = self.create_user(NewUser {
            name: Some(crate::demo::BOB_NAME.into()),
            email: Some(crate::demo::BOB.into()),
            password: Some("bob".into()),
            tz: Some("America/New_York".into()),
            ..NewUser::internal(crate::demo::BOB_LOGIN)
        })?;
        let carol = self.create_user(NewUser {
            name: Some("Carol Customer".into()),
            email: Some("carol@example.org".into()),
            password: Some("carol".into()),
            ..NewUser::portal("carol")
        })?;
        let alice_key = self.create_api_key(
            alice.uid,
            NewApiKey {
                name: Some("sync".into()),
                ..Default::default()
            },
        )?;
        let bob_key = self.create_api_key(
            bob.uid,
            NewApiKey {
                name: Some("sync".into()),
                ..Default::default()
            },
        )?;
        let quiet = || {
            let mut m = Map::new();
            m.insert(
                "context".into(),
                json!({"no_mail_to_attendees": true, "tz": "Europe/Brussels"}),
            );
            m
        };
        let day = self.clock().now().date_naive() + chrono::Duration::days(1);
        let at = |d: chrono::NaiveDate, h: u32| format!("{} {:02}:00:00", d.format("%Y-%m-%d"), h);
        let mut kw = quiet();
        kw.insert(
            "vals_list".into(),
            json!([
                {"name": "Kick-off with Bob", "start": at(day, 8), "stop": at(day, 9), "partner_ids": [alice.partner_id, bob.partner_id], "location": "Room 1", "description": "<p>Agenda</p>"},
                {"name": "Weekly sync", "start": at(day, 13), "stop": at(day, 14), "partner_ids": [alice.partner_id, bob.partner_id], "recurrency": true, "rrule_type": "weekly", "interval": 1, "end_type": "count", "count": 6, "event_tz": "Europe/Brussels"},
                {"name": "Dentist", "start": at(day, 15), "stop": at(day, 16), "privacy": "private"},
                {"name": "Offsite", "allday": true, "start_date": (day + chrono::Duration::days(3)).format("%Y-%m-%d").to_string(), "stop_date": (day + chrono::Duration::days(4)).format("%Y-%m-%d").to_string()},
            ]),
        );
        let events = match self.execute(alice.uid, "calendar.event", "create", &[], kw)? {
            Ret::Created { ids, .. } => ids,
            _ => Vec::new(),
        };
        let customer = self.execute(alice.uid, "res.partner", "create", &[], map(json!({"vals_list": [{"name": "Azure Interior", "email": "azure@example.com", "is_company": true}]})))?;
        let customer = match customer {
            Ret::Created { ids, .. } => ids[0],
            _ => 0,
        };
        let mut records = Vec::new();
        for (model, vals) in [
            ("sale.order", json!({"partner_id": customer})),
            (
                "project.task",
                json!({"name": "Install the new chairs", "partner_id": customer, "user_ids": [alice.uid]}),
            ),
            (
                "crm.lead",
                json!({"name": "Office refurbishment", "partner_id": customer}),
            ),
            (
                "account.move",
                json!({"partner_id": customer, "move_type": "out_invoice"}),
            ),
        ] {
            if let Ret::Created { ids, .. } = self.execute(
                alice.uid,
                model,
                "create",
                &[],
                map(json!({"vals_list": [vals]})),
            )? {
                records.push((model.to_string(), ids[0]));
                let name = format!("{}-{}.txt", model.replace('.', "-"), ids[0]);
                self.execute(
                    alice.uid,
                    "ir.attachment",
                    "create",
                    &[],
                    map(json!({"vals_list": [{"name": name, "res_model": model, "res_id": ids[0], "raw": format!("Document for {model} {}", ids[0])}]})),
                )?;
            }
        }
        Ok(DemoSeed {
            second_company: second,
            alice,
            bob,
            carol,
            alice_key,
            bob_key,
            events,
            records,
        })
    }
}

/// How arguments arrived: JSON-2 names every argument; JSON-RPC `execute_kw` has positional
/// `args` and ids inside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    Named,
    Positional,
}

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// What [`OdooEmulator::seed_demo`] created.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSeed {
    pub second_company: i64,
    pub alice: CreatedUser,
    pub bob: CreatedUser,
    pub carol: CreatedUser,
    pub alice_key: String,
    pub bob_key: String,
    pub events: Vec<i64>,
    pub records: Vec<(String, i64)>,
}

fn seed_row(tx: &mut Tx<'_>, model: &'static str, vals: &[(&str, Value)]) -> i64 {
    let now = tx.now_stored();
    let mut row: Row = vals
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    row.insert("create_date".into(), json!(now.clone()));
    row.insert("write_date".into(), json!(now));
    row.insert("create_uid".into(), json!(orm::SUPERUSER_ID));
    row.insert("write_uid".into(), json!(orm::SUPERUSER_ID));
    tx.insert(model, row)
}

/// A fresh database: groups, the main company, `__system__` and `admin`, models, subtypes.
fn seed_base(db: &mut Db, now: NaiveDateTime) {
    let groups_field = db.version.groups_field();
    let model_names: Vec<(&'static str, &'static str)> = {
        let mut v: Vec<_> = db
            .registry
            .models
            .values()
            .map(|m| (m.name, m.description))
            .collect();
        v.sort();
        v
    };
    let mut tx = Tx::begin(db, now);
    for g in ["Internal User", "Portal", "Settings"] {
        seed_row(&mut tx, "res.groups", &[("name", json!(g))]);
    }
    let main_partner = seed_row(
        &mut tx,
        "res.partner",
        &[
            ("name", json!("My Company")),
            ("is_company", json!(true)),
            ("active", json!(true)),
            ("email", json!("info@yourcompany.com")),
        ],
    );
    seed_row(
        &mut tx,
        "res.company",
        &[
            ("name", json!("My Company")),
            ("partner_id", json!(main_partner)),
            ("active", json!(true)),
        ],
    );
    let bot = seed_row(
        &mut tx,
        "res.partner",
        &[("name", json!("OdooBot")), ("active", json!(false))],
    );
    let admin_partner = seed_row(
        &mut tx,
        "res.partner",
        &[
            ("name", json!("Mitchell Admin")),
            ("email", json!("admin@example.com")),
            ("tz", json!("Europe/Brussels")),
            ("active", json!(true)),
        ],
    );
    seed_row(
        &mut tx,
        "res.users",
        &[
            ("login", json!("__system__")),
            ("name", json!("OdooBot")),
            ("partner_id", json!(bot)),
            ("company_id", json!(1)),
            ("company_ids", json!([1])),
            ("share", json!(false)),
            ("active", json!(false)),
            (groups_field, json!([orm::GROUP_USER, orm::GROUP_SYSTEM])),
        ],
    );
    seed_row(
        &mut tx,
        "res.users",
        &[
            ("login", json!("admin")),
            ("name", json!("Mitchell Admin")),
            ("email", json!("admin@example.com")),
            ("tz", json!("Europe/Brussels")),
            ("lang", json!("en_US")),
            ("partner_id", json!(admin_partner)),
            ("company_id", json!(1)),
            ("company_ids", json!([1])),
            ("share", json!(false)),
            ("active", json!(true)),
            (groups_field, json!([orm::GROUP_USER, orm::GROUP_SYSTEM])),
        ],
    );
    for (model, desc) in model_names {
        seed_row(
            &mut tx,
            "ir.model",
            &[("model", json!(model)), ("name", json!(desc))],
        );
    }
    // The reminders the calendar module ships (calendar_data.xml).
    for (name, alarm_type, duration, interval) in [
        ("Notification - 15 Minutes", "notification", 15, "minutes"),
        ("Notification - 30 Minutes", "notification", 30, "minutes"),
        ("Notification - 1 Hours", "notification", 1, "hours"),
        ("Notification - 2 Hours", "notification", 2, "hours"),
        ("Notification - 1 Days", "notification", 1, "days"),
        ("Email - 3 Hours", "email", 3, "hours"),
        ("Email - 6 Hours", "email", 6, "hours"),
        ("Email - 1 Days", "email", 1, "days"),
    ] {
        seed_row(
            &mut tx,
            "calendar.alarm",
            &[
                ("name", json!(name)),
                ("alarm_type", json!(alarm_type)),
                ("duration", json!(duration)),
                ("interval", json!(interval)),
            ],
        );
    }
    for (name, category) in [
        ("Email", "default"),
        ("Call", "phonecall"),
        ("Meeting", "meeting"),
        ("To-Do", "default"),
    ] {
        seed_row(
            &mut tx,
            "mail.activity.type",
            &[("name", json!(name)), ("category", json!(category))],
        );
    }
    seed_row(
        &mut tx,
        "mail.message.subtype",
        &[("name", json!("Discussions")), ("internal", json!(false))],
    );
    seed_row(
        &mut tx,
        "mail.message.subtype",
        &[("name", json!("Note")), ("internal", json!(true))],
    );
    seed_row(
        &mut tx,
        "mail.message.subtype",
        &[("name", json!("Invitation")), ("internal", json!(false))],
    );
    tx.commit("");
    db.secrets.insert(
        orm::ADMIN_UID,
        orm::UserSecret {
            password: "admin".into(),
        },
    );
}

/// Serves `app` on `listener` until `shutdown` fires. Unlike `axum::serve`, a handler can
/// close its connection without answering (a lost response after the write committed).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    use hyper_util::rt::TokioIo;
    use tower::ServiceExt as _;
    let mut shutdown = shutdown;
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else { continue };
        let app = app.clone();
        tokio::spawn(async move {
            let kill = Arc::new(tokio::sync::Notify::new());
            let handle = http::DropHandle(kill.clone());
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(handle.clone());
                    let app = app.clone();
                    // Odoo finishes a call whose client went away (the worker does not watch
                    // the socket), so a write answered too late still commits (odoo.md §3:
                    // an unknown outcome after a timeout "may have committed"; §13 slow
                    // responses beyond the client timeout). The call runs in its own task:
                    // the connection closing only loses the answer.
                    let call = tokio::spawn(app.oneshot(req.map(axum::body::Body::new)));
                    async move {
                        match call.await {
                            Ok(answer) => answer,
                            Err(_) => Ok(axum::response::IntoResponse::into_response(
                                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            )),
                        }
                    }
                },
            );
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = kill.notified() => {}
            }
        });
    }
}
