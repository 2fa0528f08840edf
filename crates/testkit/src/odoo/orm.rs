//! The in-memory ORM: tables, one transaction per call with an undo journal, the
//! environment (user, context, companies), access rules, and the generic methods
//! (`search`, `read`, `create`, `write`, `unlink`, `fields_get`, `name_search`).
//!
//! Invariants: a failed call leaves no trace (the journal is replayed backwards, ids are
//! not reused, as with PostgreSQL sequences); `write_date` is the transaction's start time,
//! stored with microseconds and read back to the second (spec §5.5).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::domain::{self, Node};
use super::error::OdooError;
use super::models::{Field, Kind, Model, Registry};
use super::version::VersionProfile;

pub type Row = HashMap<String, Value>;
pub type OResult<T> = Result<T, OdooError>;

pub const DT_FMT: &str = "%Y-%m-%d %H:%M:%S";
pub const DT_FMT_MICRO: &str = "%Y-%m-%d %H:%M:%S%.6f";
pub const LOG_FIELDS: [&str; 4] = ["create_date", "write_date", "create_uid", "write_uid"];

/// The superuser (`__system__`) and the admin user of a fresh database.
pub const SUPERUSER_ID: i64 = 1;
pub const ADMIN_UID: i64 = 2;
/// Group ids seeded in `res.groups`.
pub const GROUP_USER: i64 = 1;
pub const GROUP_PORTAL: i64 = 2;
pub const GROUP_SYSTEM: i64 = 3;

#[derive(Debug, Default, Clone)]
pub struct Table {
    pub rows: BTreeMap<i64, Row>,
    pub next_id: i64,
}

/// What the server knows about a user beyond the `res.users` row.
#[derive(Debug, Clone)]
pub struct UserSecret {
    pub password: String,
}

/// One API key (`res.users.apikeys`). The key itself is kept only as a SHA-256 digest.
#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub uid: i64,
    pub name: String,
    /// The first 8 characters, stored in clear for lookup.
    pub index: String,
    #[serde(skip)]
    pub digest: String,
    /// `None` (global) or `"rpc"`.
    pub scope: Option<String>,
    pub expiration_date: Option<String>,
    pub create_date: String,
}

/// One mail Odoo would have sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mail {
    pub seq: u64,
    /// Emulated time of the commit that sent it.
    pub at: String,
    /// `invitation`, `date_changed`, `cancellation` or `chatter`.
    pub kind: String,
    pub model: String,
    pub res_id: i64,
    pub subject: String,
    /// Recipient e-mail addresses.
    pub recipients: Vec<String>,
    /// The user whose call caused it.
    pub author_uid: i64,
}

#[derive(Debug)]
pub struct Db {
    pub registry: Arc<Registry>,
    pub version: VersionProfile,
    pub tables: HashMap<&'static str, Table>,
    pub secrets: HashMap<i64, UserSecret>,
    pub keys: Vec<ApiKey>,
    pub outbox: Vec<Mail>,
    /// System parameters (`ir.config_parameter`), e.g. `calendar.block_mail`.
    pub params: HashMap<String, String>,
    pub next_key_id: i64,
    /// Users whose Odoo-side Outlook sync is active (17+ refuses recurrence edits for them).
    pub outlook_sync: HashSet<i64>,
    /// base_automation webhook rules.
    pub webhooks: Vec<super::webhook::WebhookRule>,
}

impl Db {
    pub fn new(version: VersionProfile) -> Self {
        let registry = Arc::new(super::models::registry(&version));
        let tables = registry
            .models
            .keys()
            .map(|&k| {
                (
                    k,
                    Table {
                        rows: BTreeMap::new(),
                        next_id: 1,
                    },
                )
            })
            .collect();
        Self {
            registry,
            version,
            tables,
            secrets: HashMap::new(),
            keys: Vec::new(),
            outbox: Vec::new(),
            params: HashMap::new(),
            next_key_id: 1,
            outlook_sync: HashSet::new(),
            webhooks: Vec::new(),
        }
    }

    /// Switches the version profile, keeping the data (fields a version lacks are hidden).
    pub fn set_version(&mut self, version: VersionProfile) {
        let registry = Arc::new(super::models::registry(&version));
        // groups_id <-> group_ids: the same relation under the version's name.
        let (old, new) = (self.version.groups_field(), version.groups_field());
        if old != new {
            if let Some(t) = self.tables.get_mut("res.users") {
                for row in t.rows.values_mut() {
                    if let Some(v) = row.remove(old) {
                        row.insert(new.to_string(), v);
                    }
                }
            }
        }
        self.registry = registry;
        self.version = version;
    }

    pub fn row(&self, model: &str, id: i64) -> Option<&Row> {
        self.tables.get(model).and_then(|t| t.rows.get(&id))
    }

    pub fn user_row(&self, uid: i64) -> Option<&Row> {
        self.row("res.users", uid)
    }

    pub fn user_partner(&self, uid: i64) -> Option<i64> {
        self.user_row(uid)
            .and_then(|r| r.get("partner_id"))
            .and_then(Value::as_i64)
    }

    pub fn user_groups(&self, uid: i64) -> Vec<i64> {
        ids_of(
            self.user_row(uid)
                .and_then(|r| r.get(self.version.groups_field())),
        )
    }

    pub fn is_system(&self, uid: i64) -> bool {
        uid == SUPERUSER_ID || self.user_groups(uid).contains(&GROUP_SYSTEM)
    }

    pub fn is_portal(&self, uid: i64) -> bool {
        self.user_row(uid)
            .and_then(|r| r.get("share"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn param_true(&self, key: &str) -> bool {
        self.params
            .get(key)
            .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false"))
    }
}

pub fn ids_of(v: Option<&Value>) -> Vec<i64> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
        _ => Vec::new(),
    }
}

pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Bool(true)) => true,
    }
}

pub fn str_of(row: &Row, field: &str) -> Option<String> {
    row.get(field).and_then(Value::as_str).map(str::to_string)
}

pub fn parse_dt(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, DT_FMT_MICRO)
        .or_else(|_| NaiveDateTime::parse_from_str(s, DT_FMT))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

pub fn fmt_dt(dt: NaiveDateTime) -> String {
    dt.format(DT_FMT).to_string()
}

/// How a transaction touched a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Written,
    Deleted,
    /// Created and deleted in the same transaction.
    Vanished,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub model: &'static str,
    pub id: i64,
    pub kind: ChangeKind,
    /// The row before the transaction touched it (writes and deletes).
    pub before: Option<Row>,
}

#[derive(Debug)]
enum Undo {
    Inserted(&'static str, i64),
    Replaced(&'static str, i64, Row),
    Removed(&'static str, i64, Row),
}

/// One call's transaction. Dropped without `commit`, it rolls back.
#[derive(Debug)]
pub struct Tx<'a> {
    pub db: &'a mut Db,
    undo: Vec<Undo>,
    pub mails: Vec<Mail>,
    /// `cr.now()`: the transaction's start time.
    pub now: NaiveDateTime,
    committed: bool,
}

impl<'a> Tx<'a> {
    pub fn begin(db: &'a mut Db, now: NaiveDateTime) -> Self {
        Self {
            db,
            undo: Vec::new(),
            mails: Vec::new(),
            now,
            committed: false,
        }
    }

    /// The stored form of `now`: with microseconds, as PostgreSQL keeps it.
    pub fn now_stored(&self) -> String {
        self.now.format(DT_FMT_MICRO).to_string()
    }

    pub fn commit(mut self, at: &str) {
        for mut mail in std::mem::take(&mut self.mails) {
            mail.seq = self.db.outbox.len() as u64 + 1;
            mail.at = at.to_string();
            self.db.outbox.push(mail);
        }
        self.committed = true;
    }

    /// What this transaction did to records so far: one entry per record, in order of
    /// first touch, with the row as it was before (for writes and deletes).
    pub fn changes(&self) -> Vec<Change> {
        let mut out: Vec<Change> = Vec::new();
        for u in &self.undo {
            let (model, id, kind, before) = match u {
                Undo::Inserted(m, id) => (*m, *id, ChangeKind::Created, None),
                Undo::Replaced(m, id, row) => (*m, *id, ChangeKind::Written, Some(row)),
                Undo::Removed(m, id, row) => (*m, *id, ChangeKind::Deleted, Some(row)),
            };
            match out.iter_mut().find(|c| c.model == model && c.id == id) {
                Some(c) => {
                    // Created then deleted in one transaction: nothing to report.
                    if kind == ChangeKind::Deleted {
                        c.kind = if c.kind == ChangeKind::Created {
                            ChangeKind::Vanished
                        } else {
                            ChangeKind::Deleted
                        };
                    }
                }
                None => out.push(Change {
                    model,
                    id,
                    kind,
                    before: before.cloned(),
                }),
            }
        }
        out.retain(|c| c.kind != ChangeKind::Vanished);
        out
    }

    pub fn registry(&self) -> Arc<Registry> {
        self.db.registry.clone()
    }

    pub fn row(&self, model: &str, id: i64) -> Option<&Row> {
        self.db.row(model, id)
    }

    fn table(&mut self, model: &'static str) -> &mut Table {
        self.db.tables.entry(model).or_default()
    }

    pub fn insert(&mut self, model: &'static str, mut row: Row) -> i64 {
        let t = self.table(model);
        let id = t.next_id.max(1);
        t.next_id = id + 1;
        row.insert("id".into(), json!(id));
        t.rows.insert(id, row);
        self.undo.push(Undo::Inserted(model, id));
        id
    }

    /// Sets `changes` on one row (no log fields, no hooks).
    pub fn update(&mut self, model: &'static str, id: i64, changes: Row) {
        let t = self.table(model);
        if let Some(row) = t.rows.get_mut(&id) {
            let old = row.clone();
            row.extend(changes);
            self.undo.push(Undo::Replaced(model, id, old));
        }
    }

    pub fn remove(&mut self, model: &'static str, id: i64) {
        if let Some(old) = self.table(model).rows.remove(&id) {
            self.undo.push(Undo::Removed(model, id, old));
        }
    }

    pub fn mail(
        &mut self,
        kind: &str,
        model: &str,
        res_id: i64,
        subject: String,
        recipients: Vec<String>,
        uid: i64,
    ) {
        if recipients.is_empty() {
            return;
        }
        self.mails.push(Mail {
            seq: 0,
            at: String::new(),
            kind: kind.into(),
            model: model.into(),
            res_id,
            subject,
            recipients,
            author_uid: uid,
        });
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Inserted(m, id) => {
                    self.db.tables.entry(m).or_default().rows.remove(&id);
                }
                Undo::Replaced(m, id, row) | Undo::Removed(m, id, row) => {
                    self.db.tables.entry(m).or_default().rows.insert(id, row);
                }
            }
        }
    }
}

/// The environment of one call: who, with which context and companies.
#[derive(Debug, Clone)]
pub struct Env {
    pub uid: i64,
    pub context: Map<String, Value>,
    /// `env.company` (first of `allowed_company_ids`, else the user's default).
    pub company_id: i64,
    /// `env.companies`.
    pub company_ids: Vec<i64>,
    /// `sudo()`: bypasses access rights and rules.
    pub su: bool,
}

impl Env {
    /// Builds the environment, refusing `allowed_company_ids` outside the user's companies.
    pub fn new(db: &Db, uid: i64, context: Map<String, Value>) -> OResult<Self> {
        let user = db
            .user_row(uid)
            .ok_or_else(|| OdooError::AccessDenied("Access Denied".into()))?;
        let user_companies = ids_of(user.get("company_ids"));
        let default_company = user.get("company_id").and_then(Value::as_i64).unwrap_or(1);
        let (company_id, company_ids) = match context.get("allowed_company_ids") {
            Some(Value::Array(a)) if !a.is_empty() => {
                let mut ids = Vec::new();
                for v in a {
                    match v.as_i64() {
                        Some(id) if user_companies.contains(&id) || uid == SUPERUSER_ID => {
                            ids.push(id)
                        }
                        _ => {
                            return Err(OdooError::Access(
                                "Access to unauthorized or invalid companies.".into(),
                            ))
                        }
                    }
                }
                (ids[0], ids)
            }
            _ => (default_company, user_companies),
        };
        Ok(Self {
            uid,
            context,
            company_id,
            company_ids,
            su: uid == SUPERUSER_ID,
        })
    }

    pub fn sudo(&self) -> Self {
        Self {
            su: true,
            ..self.clone()
        }
    }

    pub fn ctx(&self, key: &str) -> Option<&Value> {
        self.context.get(key)
    }

    pub fn ctx_true(&self, key: &str) -> bool {
        truthy(self.context.get(key))
    }

    pub fn active_test(&self) -> bool {
        !matches!(self.context.get("active_test"), Some(Value::Bool(false)))
    }
}

/// `read`/`write`/`create`/`unlink`, for access checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Read,
    Write,
    Create,
    Unlink,
}

impl Mode {
    fn verb(self) -> &'static str {
        match self {
            Mode::Read => "access",
            Mode::Write => "modify",
            Mode::Create => "create",
            Mode::Unlink => "delete",
        }
    }
}

pub fn model<'r>(reg: &'r Registry, name: &str) -> OResult<&'r Model> {
    reg.get(name)
        .ok_or_else(|| OdooError::NotFound(format!("the model '{name}' does not exist")))
}

fn acl_error(m: &Model, mode: Mode, group: &str) -> OdooError {
    OdooError::Access(format!(
        "You are not allowed to {} '{}' ({}) records.\n\nThis operation is allowed for the following groups:\n\t- {}\n\nContact your administrator to request access if necessary.",
        mode.verb(),
        m.description,
        m.name,
        group
    ))
}

/// Model-level access rights (`ir.model.access`).
pub fn check_access(db: &Db, env: &Env, m: &Model, mode: Mode) -> OResult<()> {
    if env.su {
        return Ok(());
    }
    // `ir.model.access.csv` grants employees and portal users read only on API keys, and
    // no group more (keys are made by the wizard or `generate`, removed by `revoke`), so
    // administrators cannot create or write them through the ORM either.
    if m.name == "res.users.apikeys" {
        return if mode == Mode::Read {
            Ok(())
        } else {
            Err(acl_error(m, mode, "Administration/Settings"))
        };
    }
    if db.is_system(env.uid) {
        return Ok(());
    }
    if db.is_portal(env.uid) {
        let ok =
            mode == Mode::Read && matches!(m.name, "res.partner" | "res.users" | "res.company");
        return if ok {
            Ok(())
        } else {
            Err(acl_error(m, mode, "User types/Internal User"))
        };
    }
    let admin_only = match m.name {
        "res.company" | "res.groups" | "ir.model" | "mail.message.subtype" => mode != Mode::Read,
        "res.users" => matches!(mode, Mode::Create | Mode::Unlink),
        _ => false,
    };
    if admin_only {
        Err(acl_error(m, mode, "Administration/Settings"))
    } else {
        Ok(())
    }
}

/// Record rules: whether `env` may see or change this row.
pub fn rule_allows(db: &Db, env: &Env, m: &Model, row: &Row, mode: Mode) -> bool {
    if env.su {
        return true;
    }
    let id = row.get("id").and_then(Value::as_i64).unwrap_or(0);
    match m.name {
        "res.company" => {
            // Users see the companies they belong to.
            ids_of(db.user_row(env.uid).and_then(|u| u.get("company_ids"))).contains(&id)
        }
        "res.users" if mode == Mode::Write => id == env.uid || db.is_system(env.uid),
        // `base_security.xml`: `api_key_user` (portal and internal users see their own
        // keys) and `api_key_admin` (settings administrators see every key).
        "res.users.apikeys" => {
            row.get("user_id").and_then(Value::as_i64) == Some(env.uid) || db.is_system(env.uid)
        }
        "ir.attachment" => super::attach::attachment_allows(db, env, row, mode),
        "mail.message" => {
            let model = row.get("model").and_then(Value::as_str).unwrap_or("");
            let res_id = row.get("res_id").and_then(Value::as_i64).unwrap_or(0);
            match (db.registry.get(model), db.row(model, res_id)) {
                (Some(lm), Some(lrow)) => {
                    check_access(db, env, lm, Mode::Read).is_ok()
                        && rule_allows(db, env, lm, lrow, Mode::Read)
                }
                _ => {
                    row.get("create_uid").and_then(Value::as_i64) == Some(env.uid)
                        || db.is_system(env.uid)
                }
            }
        }
        "calendar.attendee" if mode != Mode::Read => {
            // Creating or changing an attendee needs write access on its event.
            let ev = row.get("event_id").and_then(Value::as_i64).unwrap_or(0);
            match (
                db.registry.get("calendar.event"),
                db.row("calendar.event", ev),
            ) {
                (Some(em), Some(erow)) => rule_allows(db, env, em, erow, Mode::Write),
                _ => true,
            }
        }
        "calendar.event" if mode != Mode::Read => !super::calendar::is_others_private(db, env, row),
        _ => {
            if m.has_company() {
                match row.get("company_id").and_then(Value::as_i64) {
                    None => true,
                    Some(c) => env.company_ids.contains(&c),
                }
            } else {
                true
            }
        }
    }
}

fn rule_error(db: &Db, env: &Env, m: &Model, ids: &[i64], mode: Mode) -> OdooError {
    let user = db
        .user_row(env.uid)
        .and_then(|u| str_of(u, "name"))
        .unwrap_or_default();
    if m.name == "calendar.event" && mode != Mode::Read {
        return OdooError::Access(
            "You cannot update a private event that you are not attending or organizing.".into(),
        );
    }
    let records: Vec<String> = ids.iter().map(|i| format!("(id={i})")).collect();
    OdooError::Access(format!(
        "Uh-oh! Looks like you have stumbled upon some top-secret records.\n\nSorry, {user} (id={}) doesn't have '{}' access to:\n- {}, {} ({})\n\nIf you really, really need access, perhaps you can win over your friendly administrator with a batch of freshly baked cookies.",
        env.uid,
        match mode {
            Mode::Read => "read",
            Mode::Write => "write",
            Mode::Create => "create",
            Mode::Unlink => "unlink",
        },
        m.description,
        records.join(", "),
        m.name
    ))
}

pub fn missing_error(m: &Model, ids: &[i64], uid: i64) -> OdooError {
    let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    OdooError::Missing(format!(
        "Record does not exist or has been deleted.\n(Record: {}({},), User: {})",
        m.name,
        list.join(", "),
        uid
    ))
}

/// Checks that every id exists (MissingError) and passes the rules for `mode` (AccessError).
pub fn check_records(db: &Db, env: &Env, m: &Model, ids: &[i64], mode: Mode) -> OResult<()> {
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&i| db.row(m.name, i).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(missing_error(m, &missing, env.uid));
    }
    let denied: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&i| {
            db.row(m.name, i)
                .is_some_and(|r| !rule_allows(db, env, m, r, mode))
        })
        .collect();
    if denied.is_empty() {
        Ok(())
    } else {
        Err(rule_error(db, env, m, &denied, mode))
    }
}

// ---------------------------------------------------------------------------------------
// Domains against rows

static NULL: Value = Value::Null;

fn field_value<'r>(
    db: &Db,
    env: &Env,
    m: &Model,
    row: &'r Row,
    f: &Field,
) -> std::borrow::Cow<'r, Value> {
    if f.store {
        return std::borrow::Cow::Borrowed(row.get(f.name).unwrap_or(&NULL));
    }
    std::borrow::Cow::Owned(compute_field(db, env, m, row, f))
}

fn rec_display(db: &Db, comodel: &str, id: i64) -> Option<String> {
    let m = db.registry.get(comodel)?;
    let row = db.row(comodel, id)?;
    Some(display_name(db, m, row))
}

pub fn display_name(_db: &Db, m: &Model, row: &Row) -> String {
    match row.get(m.rec_name) {
        Some(Value::String(s)) => s.clone(),
        _ => format!(
            "{},{}",
            m.name,
            row.get("id").and_then(Value::as_i64).unwrap_or(0)
        ),
    }
}

/// Ids of `comodel` rows that are `ids` or below them through `parent_id` (`child_of`).
fn descendants(db: &Db, comodel: &str, ids: &[i64], up: bool) -> HashSet<i64> {
    let mut set: HashSet<i64> = ids.iter().copied().collect();
    let Some(t) = db.tables.get(comodel) else {
        return set;
    };
    loop {
        let before = set.len();
        for (id, row) in &t.rows {
            let parent = row.get("parent_id").and_then(Value::as_i64);
            if let Some(p) = parent {
                if !up && set.contains(&p) {
                    set.insert(*id);
                }
                if up && set.contains(id) {
                    set.insert(p);
                }
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

fn as_id_list(v: &Value) -> Vec<i64> {
    match v {
        Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
        Value::Number(n) => n.as_i64().into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Normalizes a domain value for comparison with a stored value of `kind`.
fn norm_cmp(kind: &Kind, v: &Value) -> Value {
    match (kind, v) {
        (Kind::Datetime, Value::String(s)) if s.len() == 10 => json!(format!("{s} 00:00:00")),
        _ => v.clone(),
    }
}

fn cmp_values(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn is_null(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(false)) || matches!(v, Value::Array(a) if a.is_empty())
}

/// Evaluates `node` on one row of `m`.
pub fn eval(db: &Db, env: &Env, m: &Model, row: &Row, node: &Node) -> OResult<bool> {
    Ok(match node {
        Node::True => true,
        Node::False => false,
        Node::And(v) => {
            for n in v {
                if !eval(db, env, m, row, n)? {
                    return Ok(false);
                }
            }
            true
        }
        Node::Or(v) => {
            for n in v {
                if eval(db, env, m, row, n)? {
                    return Ok(true);
                }
            }
            false
        }
        Node::Not(n) => !eval(db, env, m, row, n)?,
        Node::Leaf { path, op, value } => eval_leaf(db, env, m, row, path, op, value)?,
    })
}

fn invalid_field(m: &Model, name: &str) -> OdooError {
    OdooError::value_error(format!("Invalid field {}.{} in leaf", m.name, name))
}

fn eval_leaf(
    db: &Db,
    env: &Env,
    m: &Model,
    row: &Row,
    path: &[String],
    op: &str,
    value: &Value,
) -> OResult<bool> {
    let f = m
        .field(&path[0])
        .ok_or_else(|| invalid_field(m, &path[0]))?;
    let v = field_value(db, env, m, row, f);
    let v: &Value = &v;
    // Date-part suffix (18+): compare a number taken from the date, in the context's tz.
    if path.len() == 2
        && matches!(f.kind, Kind::Date | Kind::Datetime)
        && db.version.has_date_parts()
    {
        let tz: chrono_tz::Tz = env
            .ctx("tz")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        let part = match v.as_str().and_then(parse_dt) {
            None => Value::Null,
            Some(dt) => {
                let local = if f.kind == Kind::Datetime {
                    chrono::TimeZone::from_utc_datetime(&tz, &dt).naive_local()
                } else {
                    dt
                };
                json!(date_part(local, &path[1]).ok_or_else(|| invalid_field(m, &path.join(".")))?)
            }
        };
        if !DATE_PARTS.contains(&path[1].as_str()) {
            return Err(invalid_field(m, &path.join(".")));
        }
        return leaf_test(&Kind::Integer, &part, op, value);
    }
    // Dotted path: follow the relation and test the rest on the related rows (any of them).
    if path.len() > 1 {
        let comodel = f
            .kind
            .comodel()
            .ok_or_else(|| invalid_field(m, &path.join(".")))?;
        let cm = model(&db.registry, comodel)?;
        let ids = match &v {
            Value::Number(n) => n.as_i64().into_iter().collect(),
            other => as_id_list(other),
        };
        let negative = matches!(op, "!=" | "not in" | "not like" | "not ilike");
        if ids.is_empty() {
            return Ok(negative && !matches!(value, Value::Bool(false) | Value::Null));
        }
        for id in ids {
            if let Some(crow) = db.row(comodel, id) {
                if eval_leaf(db, env, cm, crow, &path[1..], op, value)? {
                    return Ok(true);
                }
            }
        }
        return Ok(false);
    }
    let kind = f.kind;
    match op {
        "any" | "not any" => {
            let comodel = kind.comodel().ok_or_else(|| invalid_field(m, f.name))?;
            let cm = model(&db.registry, comodel)?;
            let sub = domain::parse(value, true)?;
            let ids = match &v {
                Value::Number(n) => n.as_i64().into_iter().collect(),
                other => as_id_list(other),
            };
            let mut found = false;
            for id in ids {
                if let Some(crow) = db.row(comodel, id) {
                    if eval(db, env, cm, crow, &sub)? {
                        found = true;
                        break;
                    }
                }
            }
            return Ok(found == (op == "any"));
        }
        "child_of" | "parent_of" => {
            let target = if f.name == "id" {
                m.name
            } else {
                kind.comodel().unwrap_or(m.name)
            };
            let roots = match value {
                Value::String(s) => db
                    .tables
                    .get(target)
                    .map(|t| {
                        t.rows
                            .iter()
                            .filter(|(_, r)| r.get("name").and_then(Value::as_str) == Some(s))
                            .map(|(id, _)| *id)
                            .collect()
                    })
                    .unwrap_or_default(),
                other => as_id_list(other),
            };
            let set = descendants(db, target, &roots, op == "parent_of");
            let ids = match &v {
                Value::Number(n) => n.as_i64().into_iter().collect(),
                other => as_id_list(other),
            };
            return Ok(ids.iter().any(|i| set.contains(i)));
        }
        _ => {}
    }
    // A many2one compared with text matches on the related record's name.
    if let (Kind::Many2one(comodel), Value::String(s)) = (kind, value) {
        let name = v.as_i64().and_then(|id| rec_display(db, comodel, id));
        let name_v = name.map(Value::String).unwrap_or(Value::Null);
        return leaf_test(&Kind::Char, &name_v, op, &Value::String(s.clone()));
    }
    if kind.is_x2many() {
        let have = as_id_list(v);
        return Ok(match op {
            "=" | "in" if is_null(value) => have.is_empty(),
            "!=" | "not in" if is_null(value) => !have.is_empty(),
            "=" | "in" => {
                let want = as_id_list(value);
                have.iter().any(|i| want.contains(i))
            }
            "!=" | "not in" => {
                let want = as_id_list(value);
                !have.iter().any(|i| want.contains(i))
            }
            _ => {
                // Text operators on x2many match the related names.
                let comodel = kind.comodel().unwrap_or("");
                let mut any = false;
                for id in have {
                    let n = rec_display(db, comodel, id)
                        .map(Value::String)
                        .unwrap_or(Value::Null);
                    if leaf_test(&Kind::Char, &n, op, value)? {
                        any = true;
                    }
                }
                any
            }
        });
    }
    leaf_test(&kind, v, op, value)
}

/// The date-part granularities of 18+ domains (`READ_GROUP_NUMBER_GRANULARITY`).
const DATE_PARTS: [&str; 10] = [
    "year_number",
    "quarter_number",
    "month_number",
    "iso_week_number",
    "day_of_year",
    "day_of_month",
    "day_of_week",
    "hour_number",
    "minute_number",
    "second_number",
];

/// One date part as PostgreSQL's `date_part` gives it (`day_of_week` is `dow`: 0 = Sunday).
fn date_part(dt: NaiveDateTime, part: &str) -> Option<i64> {
    use chrono::{Datelike, Timelike};
    Some(match part {
        "year_number" => dt.year() as i64,
        "quarter_number" => (dt.month0() / 3 + 1) as i64,
        "month_number" => dt.month() as i64,
        "iso_week_number" => dt.iso_week().week() as i64,
        "day_of_year" => dt.ordinal() as i64,
        "day_of_month" => dt.day() as i64,
        "day_of_week" => dt.weekday().num_days_from_sunday() as i64,
        "hour_number" => dt.hour() as i64,
        "minute_number" => dt.minute() as i64,
        "second_number" => dt.second() as i64,
        _ => return None,
    })
}

/// One comparison with SQL null rules as Odoo generates them (negative operators also match
/// unset values).
fn leaf_test(kind: &Kind, v: &Value, op: &str, value: &Value) -> OResult<bool> {
    let value = &norm_cmp(kind, value);
    let null = is_null(v) && *kind != Kind::Boolean;
    let as_text = |x: &Value| match x {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    };
    let eq = |a: &Value, b: &Value| -> bool {
        if *kind == Kind::Boolean {
            return truthy(Some(a)) == truthy(Some(b));
        }
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            _ => a == b,
        }
    };
    Ok(match op {
        "=?" => is_null(value) || (!null && eq(v, value)),
        "=" => {
            if is_null(value) && *kind != Kind::Boolean {
                null
            } else {
                !null && eq(v, value)
            }
        }
        "!=" => {
            if is_null(value) && *kind != Kind::Boolean {
                !null
            } else {
                null || !eq(v, value)
            }
        }
        "in" | "not in" => {
            let list = match value {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            let has_false = list.iter().any(is_null);
            let hit = if null {
                has_false
            } else {
                list.iter()
                    .any(|x| !is_null(x) && eq(v, &norm_cmp(kind, x)))
            };
            if op == "in" {
                hit
            } else {
                !hit
            }
        }
        "<" | "<=" | ">" | ">=" => {
            if null || is_null(value) {
                false
            } else {
                match cmp_values(v, value) {
                    Some(o) => match op {
                        "<" => o.is_lt(),
                        "<=" => o.is_le(),
                        ">" => o.is_gt(),
                        _ => o.is_ge(),
                    },
                    None => false,
                }
            }
        }
        "like" | "ilike" | "=like" | "=ilike" => {
            if null {
                false
            } else {
                let pat = if op.starts_with('=') {
                    as_text(value)
                } else {
                    domain::wrap_like(&as_text(value))
                };
                domain::like(&as_text(v), &pat, op.contains("ilike"))
            }
        }
        "not like" | "not ilike" => {
            null || !domain::like(
                &as_text(v),
                &domain::wrap_like(&as_text(value)),
                op.contains("ilike"),
            )
        }
        other => {
            return Err(OdooError::value_error(format!(
                "Invalid operator {other:?}"
            )))
        }
    })
}

// ---------------------------------------------------------------------------------------
// search

#[derive(Debug, Clone)]
struct OrderTerm {
    field: String,
    desc: bool,
}

fn parse_order(m: &Model, order: &str) -> OResult<Vec<OrderTerm>> {
    let bad = || {
        OdooError::value_error(format!(
            "Invalid \"order\" specified ({order}). A valid \"order\" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)"
        ))
    };
    let mut terms = Vec::new();
    for part in order.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (name, desc) = match words.as_slice() {
            [] => continue,
            [n] => (*n, false),
            [n, d] | [n, d, _, _] => match d.to_ascii_lowercase().as_str() {
                "asc" => (*n, false),
                "desc" => (*n, true),
                _ => return Err(bad()),
            },
            _ => return Err(bad()),
        };
        match m.field(name) {
            Some(f) if f.store && !f.kind.is_x2many() => terms.push(OrderTerm {
                field: name.to_string(),
                desc,
            }),
            _ => return Err(bad()),
        }
    }
    Ok(terms)
}

/// The sort key of one row: one value per order term (many2one by the related name).
fn sort_key(db: &Db, m: &Model, row: &Row, terms: &[OrderTerm]) -> Vec<Value> {
    terms
        .iter()
        .map(|t| {
            let v = row.get(&t.field).unwrap_or(&Value::Null);
            match m.field(&t.field).map(|f| f.kind) {
                Some(Kind::Many2one(c)) => v
                    .as_i64()
                    .and_then(|i| rec_display(db, c, i))
                    .map(Value::String)
                    .unwrap_or(Value::Null),
                Some(Kind::Boolean) => json!(truthy(Some(v))),
                _ => v.clone(),
            }
        })
        .collect()
}

fn cmp_keys(
    a: &(Vec<Value>, i64),
    b: &(Vec<Value>, i64),
    terms: &[OrderTerm],
) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for (i, t) in terms.iter().enumerate() {
        let (va, vb) = (&a.0[i], &b.0[i]);
        // PostgreSQL: NULLS LAST ascending, NULLS FIRST descending.
        let o = match (va.is_null(), vb.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => cmp_values(va, vb).unwrap_or(Ordering::Equal),
        };
        let o = if t.desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.1.cmp(&b.1)
}

/// Checks every leaf's path against the models up front, as Odoo does when it builds the
/// query, so a bad field fails even when no row would be tested.
fn validate_domain(db: &Db, m: &Model, node: &Node) -> OResult<()> {
    match node {
        Node::True | Node::False => Ok(()),
        Node::And(v) | Node::Or(v) => v.iter().try_for_each(|n| validate_domain(db, m, n)),
        Node::Not(n) => validate_domain(db, m, n),
        Node::Leaf { path, op, value } => {
            let mut model = m;
            for (i, name) in path.iter().enumerate() {
                let f = model
                    .field(name)
                    .ok_or_else(|| invalid_field(m, &path.join(".")))?;
                let last = i + 1 == path.len();
                if last {
                    if op.ends_with("any") {
                        let cm = f
                            .kind
                            .comodel()
                            .ok_or_else(|| invalid_field(m, &path.join(".")))?;
                        validate_domain(
                            db,
                            self::model(&db.registry, cm)?,
                            &domain::parse(value, true)?,
                        )?;
                    }
                    break;
                }
                let date_part = i + 2 == path.len()
                    && matches!(f.kind, Kind::Date | Kind::Datetime)
                    && db.version.has_date_parts()
                    && DATE_PARTS.contains(&path[i + 1].as_str());
                if date_part {
                    break;
                }
                let cm = f
                    .kind
                    .comodel()
                    .ok_or_else(|| invalid_field(m, &path.join(".")))?;
                model = self::model(&db.registry, cm)?;
            }
            Ok(())
        }
    }
}

/// Rows of `m` visible to `env` that match `domain`, ordered, offset and limited.
pub fn search(
    db: &Db,
    env: &Env,
    m: &Model,
    domain: &Value,
    offset: usize,
    limit: Option<usize>,
    order: Option<&str>,
) -> OResult<Vec<i64>> {
    check_access(db, env, m, Mode::Read)?;
    let node = domain::parse(domain, db.version.has_any_operator())?;
    validate_domain(db, m, &node)?;
    let active_filter = m.has_active() && env.active_test() && !node.mentions("active");
    // Binary-field attachments are hidden unless the domain names id or res_field (spec §4.2).
    let hide_res_field =
        m.name == "ir.attachment" && !node.mentions("id") && !node.mentions("res_field");
    let terms = parse_order(m, order.filter(|o| !o.trim().is_empty()).unwrap_or(m.order))?;
    let Some(table) = db.tables.get(m.name) else {
        return Ok(Vec::new());
    };
    let mut rows: Vec<(Vec<Value>, i64)> = Vec::new();
    // A domain that pins the ids (`[("id", "in", ids)]`, alone or and-ed with more) only
    // needs those rows looked at; every test below still runs on them. Scanning the whole
    // table made each read-back of a record cost O(records) (docs/BENCHMARKS.md).
    let pinned = pinned_ids(&node);
    let scan: Box<dyn Iterator<Item = (&i64, &Row)>> = match &pinned {
        Some(ids) => Box::new(ids.iter().filter_map(|id| table.rows.get_key_value(id))),
        None => Box::new(table.rows.iter()),
    };
    for (id, row) in scan {
        if active_filter && !truthy(row.get("active")) {
            continue;
        }
        if hide_res_field && truthy(row.get("res_field")) {
            continue;
        }
        if !rule_allows(db, env, m, row, Mode::Read) {
            continue;
        }
        if eval(db, env, m, row, &node)? {
            rows.push((sort_key(db, m, row, &terms), *id));
        }
    }
    rows.sort_by(|a, b| cmp_keys(a, b, &terms));
    Ok(rows
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .map(|(_, id)| id)
        .collect())
}

/// The ids a domain limits its rows to, when it says so at its top: an `id =` or
/// `id in` leaf of integers, alone or inside the top-level conjunction (in id order, no
/// duplicates). `None` when any row may match.
fn pinned_ids(node: &Node) -> Option<std::collections::BTreeSet<i64>> {
    let leaf_ids = |n: &Node| match n {
        Node::Leaf { path, op, value } if path.len() == 1 && path[0] == "id" => {
            match (op.as_str(), value) {
                ("=", Value::Number(n)) => n.as_i64().map(|i| [i].into_iter().collect()),
                ("in", Value::Array(a)) => a.iter().map(Value::as_i64).collect(),
                _ => None,
            }
        }
        _ => None,
    };
    match node {
        Node::And(children) => children.iter().find_map(leaf_ids),
        n => leaf_ids(n),
    }
}

// ---------------------------------------------------------------------------------------
// read

pub fn human_size(size: i64) -> Value {
    if size == 0 {
        return Value::Bool(false);
    }
    let units = ["bytes", "Kb", "Mb", "Gb", "Tb"];
    let (mut s, mut i) = (size as f64, 0);
    while s >= 1024.0 && i < units.len() - 1 {
        s /= 1024.0;
        i += 1;
    }
    json!(format!("{s:.2} {}", units[i]))
}

/// The (parent id, child id) pairs of a one2many field of `m`: the `comodel` rows whose
/// `inverse` names a parent, archived ones left out under `active_test`, in id order.
fn one2many_rows<'a>(
    db: &'a Db,
    env: &Env,
    m: &'a Model,
    comodel: &'static str,
    inverse: &'static str,
) -> impl Iterator<Item = (i64, i64)> + 'a {
    let cm = db.registry.get(comodel);
    let active_filter = cm.is_some_and(|c| c.has_active()) && env.active_test();
    db.tables
        .get(comodel)
        .into_iter()
        .flat_map(|t| t.rows.iter())
        .filter(move |(_, r)| !active_filter || truthy(r.get("active")))
        .filter(move |(_, r)| {
            // message_ids: only messages of this model.
            comodel != "mail.message" || r.get("model").and_then(Value::as_str) == Some(m.name)
        })
        .filter_map(move |(i, r)| r.get(inverse).and_then(Value::as_i64).map(|p| (p, *i)))
}

/// A non-stored field's value.
fn compute_field(db: &Db, env: &Env, m: &Model, row: &Row, f: &Field) -> Value {
    let id = row.get("id").and_then(Value::as_i64).unwrap_or(0);
    match f.kind {
        Kind::One2many(comodel, inverse) => {
            let ids: Vec<i64> = one2many_rows(db, env, m, comodel, inverse)
                .filter(|(parent, _)| *parent == id)
                .map(|(_, child)| child)
                .collect();
            json!(ids)
        }
        _ if f.name == "display_name" => json!(display_name(db, m, row)),
        _ => super::calendar::compute(db, env, m, row, f.name)
            .or_else(|| super::attach::compute(db, m, row, f.name))
            .unwrap_or(Value::Bool(false)),
    }
}

/// How many2one values come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// `[id, display_name]` (`load='_classic_read'`, the default).
    Classic,
    /// A bare id (`load=None`).
    Ids,
}

/// Formats one row for the wire: `false` for empty values, datetimes to the second.
pub fn read_rows(
    db: &Db,
    env: &Env,
    m: &Model,
    ids: &[i64],
    fields: &[String],
    load: Load,
) -> OResult<Vec<Value>> {
    let mut out = Vec::with_capacity(ids.len());
    // Each one2many field's children grouped by parent in one pass over the comodel,
    // when many rows are read: computing it row by row scans the comodel once per row,
    // which made reading every event of a large calendar quadratic (docs/BENCHMARKS.md).
    let mut children: HashMap<&str, HashMap<i64, Vec<i64>>> = HashMap::new();
    if ids.len() > 1 {
        for name in fields {
            if let Some(f) = m.field(name) {
                if let (Kind::One2many(comodel, inverse), false) = (f.kind, f.store) {
                    let mut by_parent: HashMap<i64, Vec<i64>> = HashMap::new();
                    for (parent, child) in one2many_rows(db, env, m, comodel, inverse) {
                        by_parent.entry(parent).or_default().push(child);
                    }
                    children.insert(f.name, by_parent);
                }
            }
        }
    }
    for &id in ids {
        let Some(row) = db.row(m.name, id) else {
            continue;
        };
        let masked = m.name == "calendar.event" && super::calendar::is_others_private(db, env, row);
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        for name in fields {
            if name == "id" {
                continue;
            }
            let f = m.field(name).ok_or_else(|| {
                OdooError::value_error(format!("Invalid field '{name}' on model '{}'", m.name))
            })?;
            if masked && !super::calendar::is_public_field(name) {
                let v = if name == "name" || name == "display_name" {
                    json!("Busy")
                } else {
                    Value::Bool(false)
                };
                obj.insert(name.clone(), v);
                continue;
            }
            let raw = match children.get(f.name) {
                Some(by_parent) => json!(by_parent.get(&id).cloned().unwrap_or_default()),
                None => field_value(db, env, m, row, f).into_owned(),
            };
            obj.insert(name.clone(), format_value(db, env, f, raw, load));
        }
        out.push(Value::Object(obj));
    }
    Ok(out)
}

fn format_value(db: &Db, env: &Env, f: &Field, v: Value, load: Load) -> Value {
    match (f.kind, v) {
        (Kind::Boolean, v) => json!(truthy(Some(&v))),
        (Kind::Integer | Kind::Reference, Value::Null) => json!(0),
        (Kind::Float, Value::Null) => json!(0.0),
        (Kind::One2many(..) | Kind::Many2many(_), Value::Null) => json!([]),
        (_, Value::Null) => Value::Bool(false),
        (Kind::Datetime, Value::String(s)) => json!(s.get(..19).unwrap_or(&s)),
        (Kind::Many2one(c), Value::Number(n)) => {
            let id = n.as_i64().unwrap_or(0);
            match (load, rec_display(db, c, id)) {
                (_, None) => Value::Bool(false),
                (Load::Ids, Some(_)) => json!(id),
                (Load::Classic, Some(name)) => json!([id, name]),
            }
        }
        (Kind::Binary, Value::String(s)) if env.ctx_true("bin_size") => {
            human_size(base64_len(&s) as i64)
        }
        (_, v) => v,
    }
}

fn base64_len(s: &str) -> usize {
    let pad = s.chars().rev().take_while(|&c| c == '=').count();
    ((s.len() / 4) * 3).saturating_sub(pad.min(2))
}

/// `read(fields, load)`: MissingError for deleted ids, AccessError when a rule hides one.
pub fn read(
    db: &Db,
    env: &Env,
    m: &Model,
    ids: &[i64],
    fields: Option<Vec<String>>,
    load: Load,
) -> OResult<Vec<Value>> {
    check_access(db, env, m, Mode::Read)?;
    check_records(db, env, m, ids, Mode::Read)?;
    let fields = fields.filter(|f| !f.is_empty()).unwrap_or_else(|| {
        m.fields
            .iter()
            .filter(|f| {
                // Like Odoo's default read: every field except binary content of attachments.
                !(m.name == "ir.attachment" && matches!(f.name, "raw"))
                    && f.name != "recurrence_update"
            })
            .map(|f| f.name.to_string())
            .collect()
    });
    read_rows(db, env, m, ids, &fields, load)
}

// ---------------------------------------------------------------------------------------
// values in

/// Converts an incoming value for a stored field. x2many commands are handled separately.
pub fn convert(m: &Model, f: &Field, v: &Value) -> OResult<Value> {
    let wrong = || OdooError::value_error(format!("Wrong value for {}.{}: {}", m.name, f.name, v));
    if is_null(v) && !matches!(f.kind, Kind::Boolean | Kind::Many2many(_)) {
        return Ok(Value::Null);
    }
    Ok(match f.kind {
        Kind::Char | Kind::Text | Kind::Html => match v {
            Value::String(s) if f.kind == Kind::Html => json!(sanitize_html(s)),
            Value::String(_) => v.clone(),
            Value::Number(n) => json!(n.to_string()),
            _ => return Err(wrong()),
        },
        Kind::Integer | Kind::Reference => match v {
            Value::Number(n) => json!(n.as_f64().unwrap_or(0.0) as i64),
            Value::Bool(b) => json!(*b as i64),
            Value::String(s) => json!(s.trim().parse::<i64>().map_err(|_| wrong())?),
            _ => return Err(wrong()),
        },
        Kind::Float => match v {
            Value::Number(n) => json!(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => json!(s.trim().parse::<f64>().map_err(|_| wrong())?),
            _ => return Err(wrong()),
        },
        Kind::Boolean => json!(truthy(Some(v))),
        Kind::Date => {
            let s = v.as_str().ok_or_else(wrong)?;
            let d =
                NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").map_err(|_| {
                    OdooError::value_error(format!(
                        "time data '{s}' does not match format '%Y-%m-%d'"
                    ))
                })?;
            if !(1..=9999).contains(&chrono::Datelike::year(&d)) {
                return Err(OdooError::value_error(format!(
                    "year {} is out of range",
                    chrono::Datelike::year(&d)
                )));
            }
            json!(d.format("%Y-%m-%d").to_string())
        }
        Kind::Datetime => {
            let s = v.as_str().ok_or_else(wrong)?;
            let dt = NaiveDateTime::parse_from_str(s, DT_FMT)
                .or_else(|_| NaiveDateTime::parse_from_str(s, DT_FMT_MICRO))
                .ok()
                .or_else(|| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                })
                .ok_or_else(|| {
                    OdooError::value_error(format!(
                        "time data '{s}' does not match format '%Y-%m-%d %H:%M:%S'"
                    ))
                })?;
            if !(1..=9999).contains(&chrono::Datelike::year(&dt)) {
                return Err(OdooError::value_error(format!(
                    "year {} is out of range",
                    chrono::Datelike::year(&dt)
                )));
            }
            json!(fmt_dt(dt))
        }
        Kind::Selection(opts) => {
            let s = v.as_str().ok_or_else(wrong)?;
            if !opts.iter().any(|(k, _)| *k == s) {
                return Err(wrong());
            }
            v.clone()
        }
        Kind::Many2one(_) => match v {
            Value::Number(n) => json!(n.as_i64().ok_or_else(wrong)?),
            // A [id, name] pair as read returns it is accepted, as Odoo's convert_to_cache does.
            Value::Array(a) if !a.is_empty() => json!(a[0].as_i64().ok_or_else(wrong)?),
            _ => return Err(wrong()),
        },
        Kind::Binary => match v {
            Value::String(_) => v.clone(),
            _ => return Err(wrong()),
        },
        Kind::One2many(..) | Kind::Many2many(_) => v.clone(),
    })
}

/// A light `html_sanitize`: drops `<script>`/`<style>` blocks and `on*=` attributes, and
/// wraps bare text in a paragraph, so what is read back is not byte-identical (spec §2.1).
pub fn sanitize_html(s: &str) -> String {
    let mut out = s.to_string();
    for tag in ["script", "style"] {
        loop {
            let lower = out.to_ascii_lowercase();
            let Some(start) = lower.find(&format!("<{tag}")) else {
                break;
            };
            let end = lower[start..]
                .find(&format!("</{tag}>"))
                .map(|e| start + e + tag.len() + 3)
                .unwrap_or(out.len());
            out.replace_range(start..end, "");
        }
    }
    // Remove event-handler attributes such as onclick="...".
    let mut cleaned = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(pos) = find_on_attr(rest) {
        cleaned.push_str(&rest[..pos]);
        let after = &rest[pos..];
        let eq = after.find('=').unwrap_or(0);
        let val = &after[eq + 1..];
        let quote = val.chars().next().unwrap_or(' ');
        let end = if quote == '"' || quote == '\'' {
            val[1..]
                .find(quote)
                .map(|e| eq + 1 + e + 2)
                .unwrap_or(after.len())
        } else {
            val.find([' ', '>'])
                .map(|e| eq + 1 + e)
                .unwrap_or(after.len())
        };
        rest = &after[end..];
    }
    cleaned.push_str(rest);
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    if trimmed.starts_with('<') {
        cleaned
    } else {
        format!("<p>{trimmed}</p>")
    }
}

fn find_on_attr(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut i = 0;
    while let Some(p) = lower[i..].find(" on") {
        let at = i + p + 1;
        let name_end = lower[at..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map(|e| at + e)
            .unwrap_or(lower.len());
        if name_end > at + 2
            && bytes.get(name_end) == Some(&b'=')
            && lower[..at].rfind('<') > lower[..at].rfind('>')
        {
            return Some(at - 1);
        }
        i = at;
    }
    None
}

/// Applies x2many commands (or a plain id list) to the current ids of a many2many.
pub fn m2m_commands(current: &[i64], v: &Value) -> OResult<Vec<i64>> {
    let mut ids = current.to_vec();
    let Value::Array(items) = v else {
        if is_null(v) {
            return Ok(Vec::new());
        }
        return Err(OdooError::value_error(format!("Wrong x2many value: {v}")));
    };
    if items.iter().all(Value::is_number) {
        return Ok(items.iter().filter_map(Value::as_i64).collect());
    }
    for cmd in items {
        let c = cmd
            .as_array()
            .ok_or_else(|| OdooError::value_error(format!("Wrong x2many command: {cmd}")))?;
        let code = c.first().and_then(Value::as_i64).unwrap_or(-1);
        let id = c.get(1).and_then(Value::as_i64).unwrap_or(0);
        match code {
            3 | 2 => ids.retain(|&i| i != id),
            4 => {
                if !ids.contains(&id) {
                    ids.push(id)
                }
            }
            5 => ids.clear(),
            6 => ids = as_id_list(c.get(2).unwrap_or(&Value::Null)),
            _ => {
                return Err(OdooError::value_error(format!(
                    "Unsupported x2many command {cmd} on a many2many here"
                )))
            }
        }
    }
    Ok(ids)
}

/// A one2many's commands, applied after the parent row exists.
#[derive(Debug, Clone)]
pub struct PendingO2m {
    pub comodel: &'static str,
    pub inverse: &'static str,
    pub commands: Value,
}

pub fn apply_o2m(tx: &mut Tx<'_>, env: &Env, parent: i64, p: &PendingO2m) -> OResult<()> {
    let reg = tx.registry();
    let cm = model(&reg, p.comodel)?;
    let Value::Array(items) = &p.commands else {
        return Ok(());
    };
    for cmd in items {
        let c = cmd
            .as_array()
            .ok_or_else(|| OdooError::value_error(format!("Wrong x2many command: {cmd}")))?;
        let code = c.first().and_then(Value::as_i64).unwrap_or(-1);
        let id = c.get(1).and_then(Value::as_i64).unwrap_or(0);
        let vals = c
            .get(2)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        match code {
            0 => {
                let mut vals = vals;
                vals.insert(p.inverse.into(), json!(parent));
                create(tx, env, cm, vec![vals])?;
            }
            1 => write(tx, env, cm, &[id], vals)?,
            2 => unlink(tx, env, cm, &[id])?,
            3 => {
                let mut v = Map::new();
                v.insert(p.inverse.into(), Value::Null);
                write(tx, env, cm, &[id], v)?;
            }
            4 => {
                let mut v = Map::new();
                v.insert(p.inverse.into(), json!(parent));
                write(tx, env, cm, &[id], v)?;
            }
            5 | 6 => {
                let keep = if code == 6 {
                    as_id_list(c.get(2).unwrap_or(&Value::Null))
                } else {
                    Vec::new()
                };
                let current: Vec<i64> = tx
                    .db
                    .tables
                    .get(p.comodel)
                    .map(|t| {
                        t.rows
                            .iter()
                            .filter(|(_, r)| {
                                r.get(p.inverse).and_then(Value::as_i64) == Some(parent)
                            })
                            .map(|(i, _)| *i)
                            .collect()
                    })
                    .unwrap_or_default();
                for i in current.into_iter().filter(|i| !keep.contains(i)) {
                    unlink(tx, env, cm, &[i])?;
                }
                for i in keep {
                    let mut v = Map::new();
                    v.insert(p.inverse.into(), json!(parent));
                    write(tx, env, cm, &[i], v)?;
                }
            }
            _ => {
                return Err(OdooError::value_error(format!(
                    "Wrong x2many command: {cmd}"
                )))
            }
        }
    }
    Ok(())
}

/// Splits incoming `vals` into stored values for the row and pending one2many commands.
/// Log-access fields are dropped (clients cannot set them); unknown fields are refused.
pub fn split_vals(
    tx: &Tx<'_>,
    m: &Model,
    id: Option<i64>,
    vals: &Map<String, Value>,
) -> OResult<(Row, Vec<PendingO2m>)> {
    let mut row = Row::new();
    let mut pending = Vec::new();
    for (k, v) in vals {
        let f = m.field(k).ok_or_else(|| {
            OdooError::value_error(format!("Invalid field '{k}' on model '{}'", m.name))
        })?;
        if LOG_FIELDS.contains(&k.as_str()) || k == "id" || k == "display_name" {
            continue;
        }
        match f.kind {
            // One2many values are commands on the child rows (their inverse points here);
            // they run once the parent row exists.
            Kind::One2many(comodel, inverse) => pending.push(PendingO2m {
                comodel,
                inverse,
                commands: v.clone(),
            }),
            Kind::Many2many(_) => {
                let current = id
                    .and_then(|i| tx.row(m.name, i))
                    .map(|r| ids_of(r.get(k)))
                    .unwrap_or_default();
                row.insert(k.clone(), json!(m2m_commands(&current, v)?));
            }
            _ if !f.store => {
                // Non-stored fields without an inverse are ignored, as Odoo ignores them;
                // models that give them meaning read them from `vals` in their hooks.
            }
            _ => {
                row.insert(k.clone(), convert(m, f, v)?);
            }
        }
    }
    Ok((row, pending))
}

fn check_required(m: &Model, row: &Row) -> OResult<()> {
    for f in m.fields.iter().filter(|f| f.required && f.store) {
        let v = row.get(f.name).unwrap_or(&Value::Null);
        if v.is_null() || (matches!(v, Value::String(s) if s.is_empty()) && f.kind != Kind::Html) {
            return Err(OdooError::Validation(format!(
                "The operation cannot be completed: - Create/update: a mandatory field is not set.\n- Delete: another model requires the record being deleted. If possible, archive it instead.\n\nModel: {} ({}), Field: {} ({})",
                m.description, m.name, f.string, f.name
            )));
        }
    }
    Ok(())
}

fn defaults(tx: &Tx<'_>, env: &Env, m: &Model, row: &mut Row) {
    if m.has_active() {
        row.entry("active".into()).or_insert(json!(true));
    }
    if m.has_company() && m.name != "res.partner" {
        row.entry("company_id".into())
            .or_insert(json!(env.company_id));
    }
    match m.name {
        "sale.order" => {
            let n = tx
                .db
                .tables
                .get("sale.order")
                .map(|t| t.next_id)
                .unwrap_or(1);
            row.entry("name".into())
                .or_insert(json!(format!("S{n:05}")));
            row.entry("state".into()).or_insert(json!("draft"));
            row.entry("date_order".into())
                .or_insert(json!(fmt_dt(tx.now)));
            row.entry("user_id".into()).or_insert(json!(env.uid));
        }
        "account.move" => {
            row.entry("name".into()).or_insert(json!("/"));
            row.entry("state".into()).or_insert(json!("draft"));
            row.entry("move_type".into()).or_insert(json!("entry"));
        }
        "crm.lead" => {
            row.entry("user_id".into()).or_insert(json!(env.uid));
            row.entry("type".into()).or_insert(json!("opportunity"));
        }
        "calendar.attendee" => {
            row.entry("state".into()).or_insert(json!("needsAction"));
            row.entry("access_token".into())
                .or_insert(json!(uuid::Uuid::new_v4().simple().to_string()));
        }
        _ => {}
    }
}

/// `create(vals_list)`: one row per dict; returns the new ids in order.
pub fn create(
    tx: &mut Tx<'_>,
    env: &Env,
    m: &Model,
    vals_list: Vec<Map<String, Value>>,
) -> OResult<Vec<i64>> {
    check_access(tx.db, env, m, Mode::Create)?;
    if m.name == "calendar.event" {
        return super::calendar::create(tx, env, vals_list);
    }
    let mut ids = Vec::with_capacity(vals_list.len());
    for vals in vals_list {
        let id = create_one(tx, env, m, &vals)?;
        ids.push(id);
    }
    Ok(ids)
}

/// Creates one row: defaults, conversion, model hooks, log fields, rules.
pub fn create_one(
    tx: &mut Tx<'_>,
    env: &Env,
    m: &Model,
    vals: &Map<String, Value>,
) -> OResult<i64> {
    let (mut row, pending) = split_vals(tx, m, None, vals)?;
    defaults(tx, env, m, &mut row);
    super::attach::prepare_create(tx, env, m, &mut row, vals)?;
    let now = tx.now_stored();
    row.insert("create_date".into(), json!(now.clone()));
    row.insert("write_date".into(), json!(now));
    row.insert("create_uid".into(), json!(env.uid));
    row.insert("write_uid".into(), json!(env.uid));
    check_required(m, &row)?;
    let mut probe = row.clone();
    probe.insert("id".into(), json!(0));
    if !rule_allows(tx.db, env, m, &probe, Mode::Create) {
        return Err(rule_error(tx.db, env, m, &[], Mode::Create));
    }
    let id = tx.insert(m.name, row);
    for p in &pending {
        apply_o2m(tx, env, id, p)?;
    }
    Ok(id)
}

/// `write(vals)` on `ids`: every row gets the same `write_date` (the transaction's start).
pub fn write(
    tx: &mut Tx<'_>,
    env: &Env,
    m: &Model,
    ids: &[i64],
    vals: Map<String, Value>,
) -> OResult<()> {
    check_access(tx.db, env, m, Mode::Write)?;
    if ids.is_empty() {
        return Ok(());
    }
    check_records(tx.db, env, m, ids, Mode::Write)?;
    if m.name == "calendar.event" {
        return super::calendar::write(tx, env, ids, vals);
    }
    write_plain(tx, env, m, ids, &vals)
}

/// The generic part of `write`, without model-specific routing.
pub fn write_plain(
    tx: &mut Tx<'_>,
    env: &Env,
    m: &Model,
    ids: &[i64],
    vals: &Map<String, Value>,
) -> OResult<()> {
    for &id in ids {
        let (mut changes, pending) = split_vals(tx, m, Some(id), vals)?;
        super::attach::prepare_write(tx, env, m, id, &mut changes, vals)?;
        changes.insert("write_date".into(), json!(tx.now_stored()));
        changes.insert("write_uid".into(), json!(env.uid));
        let mut merged = tx.row(m.name, id).cloned().unwrap_or_default();
        merged.extend(changes.clone());
        check_required(m, &merged)?;
        tx.update(m.name, id, changes);
        for p in &pending {
            apply_o2m(tx, env, id, p)?;
        }
    }
    Ok(())
}

/// `unlink()`: a hard delete, cascading to attendees, messages and linked attachments.
pub fn unlink(tx: &mut Tx<'_>, env: &Env, m: &Model, ids: &[i64]) -> OResult<()> {
    check_access(tx.db, env, m, Mode::Unlink)?;
    check_records(tx.db, env, m, ids, Mode::Unlink)?;
    if m.name == "calendar.event" {
        super::calendar::before_unlink(tx, env, ids)?;
    }
    for &id in ids {
        tx.remove(m.name, id);
        // BaseModel.unlink removes the records' attachments; mail.thread their messages.
        let linked: Vec<(&'static str, i64)> = ["ir.attachment", "mail.message"]
            .iter()
            .flat_map(|&lm| {
                let field = if lm == "ir.attachment" {
                    "res_model"
                } else {
                    "model"
                };
                tx.db
                    .tables
                    .get(lm)
                    .map(|t| {
                        t.rows
                            .iter()
                            .filter(|(_, r)| {
                                r.get(field).and_then(Value::as_str) == Some(m.name)
                                    && r.get("res_id").and_then(Value::as_i64) == Some(id)
                            })
                            .map(|(i, _)| (lm, *i))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect();
        for (lm, lid) in linked {
            tx.remove(lm, lid);
        }
        // Cascading one2many children (attendees of an event).
        if m.name == "calendar.event" {
            let att: Vec<i64> = tx
                .db
                .tables
                .get("calendar.attendee")
                .map(|t| {
                    t.rows
                        .iter()
                        .filter(|(_, r)| r.get("event_id").and_then(Value::as_i64) == Some(id))
                        .map(|(i, _)| *i)
                        .collect()
                })
                .unwrap_or_default();
            for a in att {
                tx.remove("calendar.attendee", a);
            }
        }
    }
    Ok(())
}

/// `fields_get(allfields, attributes)`.
pub fn fields_get(
    m: &Model,
    allfields: Option<Vec<String>>,
    attributes: Option<Vec<String>>,
) -> Value {
    let mut out = Map::new();
    for f in &m.fields {
        if let Some(all) = &allfields {
            if !all.is_empty() && !all.iter().any(|a| a == f.name) {
                continue;
            }
        }
        let mut d = Map::new();
        d.insert("type".into(), json!(f.kind.type_name()));
        d.insert("string".into(), json!(f.string));
        d.insert("required".into(), json!(f.required));
        d.insert("readonly".into(), json!(f.readonly));
        d.insert("store".into(), json!(f.store));
        d.insert("searchable".into(), json!(f.store || f.kind.is_x2many()));
        d.insert("sortable".into(), json!(f.store && !f.kind.is_x2many()));
        if let Some(c) = f.kind.comodel() {
            d.insert("relation".into(), json!(c));
        }
        if let Kind::One2many(_, inv) = f.kind {
            d.insert("relation_field".into(), json!(inv));
        }
        if let Kind::Selection(opts) = f.kind {
            d.insert(
                "selection".into(),
                json!(opts.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()),
            );
        }
        if let Some(attrs) = &attributes {
            if !attrs.is_empty() {
                d.retain(|k, _| attrs.iter().any(|a| a == k));
            }
        }
        out.insert(f.name.into(), Value::Object(d));
    }
    Value::Object(out)
}

/// `name_search(name, domain, operator, limit)`: `[[id, display_name], ...]`.
pub fn name_search(
    db: &Db,
    env: &Env,
    m: &Model,
    name: &str,
    domain: &Value,
    operator: &str,
    limit: Option<usize>,
) -> OResult<Value> {
    let mut items = match domain {
        Value::Array(a) => a.clone(),
        _ => Vec::new(),
    };
    if !name.is_empty() || !matches!(operator, "ilike" | "like" | "=ilike" | "=like") {
        items.insert(0, json!("&"));
        items.push(json!([m.rec_name, operator, name]));
        if items.len() == 2 {
            items.remove(0);
        }
    }
    let ids = search(db, env, m, &Value::Array(items), 0, limit, None)?;
    Ok(json!(ids
        .iter()
        .filter_map(|&id| db
            .row(m.name, id)
            .map(|r| json!([id, display_name(db, m, r)])))
        .collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizing_strips_scripts_and_handlers_and_wraps_text() {
        assert_eq!(sanitize_html("hello"), "<p>hello</p>");
        assert_eq!(
            sanitize_html("<p onclick=\"x()\">a</p><script>alert(1)</script>"),
            "<p>a</p>"
        );
        assert_eq!(sanitize_html("<b>keep</b>"), "<b>keep</b>");
    }

    #[test]
    fn m2m_commands_replace_link_unlink_and_clear() {
        assert_eq!(
            m2m_commands(&[1, 2], &json!([[4, 3]])).unwrap(),
            vec![1, 2, 3]
        );
        assert_eq!(m2m_commands(&[1, 2], &json!([[3, 1]])).unwrap(), vec![2]);
        assert_eq!(
            m2m_commands(&[1, 2], &json!([[6, 0, [7, 8]]])).unwrap(),
            vec![7, 8]
        );
        assert_eq!(
            m2m_commands(&[1, 2], &json!([[5]])).unwrap(),
            Vec::<i64>::new()
        );
        assert_eq!(m2m_commands(&[1], &json!([5, 6])).unwrap(), vec![5, 6]);
        assert!(m2m_commands(&[1], &json!([["x"]])).is_err());
    }

    #[test]
    fn human_sizes_match_odoos_format() {
        assert_eq!(human_size(12_636), json!("12.34 Kb"));
        assert_eq!(human_size(10), json!("10.00 bytes"));
        assert_eq!(human_size(0), json!(false));
    }

    #[test]
    fn null_rules_follow_odoos_sql() {
        // '!=' and 'not ilike' also match unset values; comparisons never do.
        assert!(leaf_test(&Kind::Char, &Value::Null, "!=", &json!("x")).unwrap());
        assert!(leaf_test(&Kind::Char, &Value::Null, "not ilike", &json!("x")).unwrap());
        assert!(!leaf_test(&Kind::Char, &Value::Null, "ilike", &json!("x")).unwrap());
        assert!(!leaf_test(&Kind::Integer, &Value::Null, ">", &json!(1)).unwrap());
        assert!(leaf_test(&Kind::Char, &Value::Null, "=", &json!(false)).unwrap());
        assert!(leaf_test(&Kind::Char, &json!("a"), "=?", &json!(false)).unwrap());
        assert!(!leaf_test(&Kind::Char, &json!("a"), "=?", &json!("b")).unwrap());
        assert!(leaf_test(&Kind::Char, &Value::Null, "in", &json!([false, "a"])).unwrap());
    }

    #[test]
    fn a_second_precise_cursor_matches_rows_later_in_the_same_second() {
        let stored = json!("2025-01-01 10:00:00.400000");
        assert!(leaf_test(&Kind::Datetime, &stored, ">", &json!("2025-01-01 10:00:00")).unwrap());
        assert!(!leaf_test(&Kind::Datetime, &stored, "=", &json!("2025-01-01 10:00:00")).unwrap());
        assert!(leaf_test(&Kind::Datetime, &stored, ">=", &json!("2025-01-01")).unwrap());
    }
}
