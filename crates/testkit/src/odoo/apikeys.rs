//! API keys (`res.users.apikeys`, spec §1.5): lookup by the 8-character index and a digest,
//! scope and expiry checks, and the programmatic `generate`/`revoke` of 19.
//!
//! Reading keys. The model's fields are `name`, `user_id`, `scope`, `create_date` and, from
//! 18.0, `expiration_date`, all readonly; the index and the hashed key are table columns,
//! never fields (odoo/odoo `odoo/addons/base/models/res_users.py`, class
//! `ResUsersApikeys`). `ir.model.access.csv` gives `base.group_user` and `base.group_portal`
//! read access only (`access_res_users_apikeys_access_employee`/`_portal`: 1,0,0,0), and
//! `base_security.xml` narrows it with record rules: `api_key_user` ("Users can read and
//! delete their own keys", `[('user_id', '=', user.id)]`) and `api_key_admin`
//! ("Administrators can view user keys to revoke them", `[(1, '=', 1)]` for
//! `base.group_system`). So a client learns its own keys' expiry with
//! `search_read([('user_id', '=', uid)], ['name', 'scope', 'expiration_date'])`, and cannot
//! see other users' keys unless it is an administrator. The emulator keeps the keys in
//! [`Db::keys`] and mirrors their public fields into the model's table ([`mirror`]) after
//! every change, so the generic ORM (domains, rules, `read`) serves them.

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::error::OdooError;
use super::orm::{self, ApiKey, Db, Env, OResult, Tx};

pub fn digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The live key matching `key` (any scope), if its user is active and it has not expired.
pub fn lookup<'a>(db: &'a Db, key: &str, now: NaiveDateTime) -> Option<&'a ApiKey> {
    if key.len() < 8 {
        return None;
    }
    let d = digest(key);
    db.keys
        .iter()
        .filter(|k| key.starts_with(&k.index) && k.digest == d)
        .filter(|k| {
            !db.version.has_key_expiry()
                || k.expiration_date
                    .as_deref()
                    .and_then(orm::parse_dt)
                    .is_none_or(|e| e > now)
        })
        .find(|k| {
            db.user_row(k.uid)
                .is_some_and(|u| orm::truthy(u.get("active")))
        })
}

/// The user a key authenticates for RPC: NULL-scope and `rpc` keys only.
pub fn rpc_user(db: &Db, key: &str, now: NaiveDateTime) -> Option<i64> {
    lookup(db, key, now)
        .filter(|k| k.scope.as_deref().is_none_or(|s| s == "rpc"))
        .map(|k| k.uid)
}

/// Makes and stores a new 40-hex key.
pub fn make(
    db: &mut Db,
    uid: i64,
    name: String,
    scope: Option<String>,
    expiration_date: Option<String>,
    created: String,
) -> String {
    let key: String = (0..20)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let id = db.next_key_id;
    db.next_key_id += 1;
    db.keys.push(ApiKey {
        id,
        uid,
        name,
        index: key[..8].to_string(),
        digest: digest(&key),
        scope,
        expiration_date,
        create_date: created,
    });
    mirror(db);
    key
}

/// Rebuilds the `res.users.apikeys` rows from [`Db::keys`]: the public fields only, with
/// Odoo's `false` for an empty scope or expiry. Called after every change to the keys.
pub fn mirror(db: &mut Db) {
    let rows: std::collections::BTreeMap<i64, orm::Row> = db
        .keys
        .iter()
        .map(|k| {
            let or_false = |v: &Option<String>| v.clone().map_or(Value::Bool(false), Value::from);
            let row: orm::Row = [
                ("id", json!(k.id)),
                ("name", json!(k.name)),
                ("user_id", json!(k.uid)),
                ("scope", or_false(&k.scope)),
                ("expiration_date", or_false(&k.expiration_date)),
                ("create_date", json!(k.create_date)),
                ("write_date", json!(k.create_date)),
                ("create_uid", json!(k.uid)),
                ("write_uid", json!(k.uid)),
            ]
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect();
            (k.id, row)
        })
        .collect();
    let next_id = db.next_key_id;
    if let Some(t) = db.tables.get_mut("res.users.apikeys") {
        t.rows = rows;
        t.next_id = next_id;
    }
}

/// Removes a key by id; false when there was none.
pub fn remove(db: &mut Db, key_id: i64) -> bool {
    let before = db.keys.len();
    db.keys.retain(|k| k.id != key_id);
    mirror(db);
    before != db.keys.len()
}

/// The largest key lifetime a non-system user may choose: `base.group_user`'s
/// `api_key_duration` of 90 days.
const MAX_DAYS: i64 = 90;

/// `res.users.apikeys.generate(key, scope, name, expiration_date)`: a new key for the
/// caller, proved by one of their current keys.
pub fn generate(tx: &mut Tx<'_>, env: &Env, kw: &Map<String, Value>) -> OResult<Value> {
    let now = tx.now;
    let db = &*tx.db;
    let given = kw.get("key").and_then(Value::as_str).unwrap_or("");
    let scope = kw.get("scope").and_then(Value::as_str).map(str::to_string);
    let invalid = || {
        OdooError::User(
            "The provided API key is invalid or does not belong to the current user.".into(),
        )
    };
    let owner = lookup(db, given, now).ok_or_else(invalid)?;
    // A scoped key only makes keys of its own scope; a global key any.
    if owner.uid != env.uid
        || owner
            .scope
            .as_ref()
            .is_some_and(|s| Some(s) != scope.as_ref())
    {
        return Err(invalid());
    }
    let system = db.is_system(env.uid);
    if db.is_portal(env.uid) {
        return Err(OdooError::User(
            "Only internal users can create API keys".into(),
        ));
    }
    if !system && !db.param_true("base.enable_programmatic_api_keys") {
        return Err(OdooError::User(
            "Programmatic API keys are not enabled".into(),
        ));
    }
    let limit = db
        .params
        .get("base.programmatic_api_keys_limit")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(10);
    if db.keys.iter().filter(|k| k.uid == env.uid).count() >= limit {
        return Err(OdooError::User(format!(
            "Limit of {limit} API keys is reached for programmatic creation"
        )));
    }
    let expiration = match kw.get("expiration_date") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => None,
        Some(Value::String(s)) => Some(orm::parse_dt(s).ok_or_else(|| {
            OdooError::value_error(format!(
                "time data '{s}' does not match format '%Y-%m-%d %H:%M:%S'"
            ))
        })?),
        Some(other) => {
            return Err(OdooError::value_error(format!(
                "Wrong value for expiration_date: {other}"
            )))
        }
    };
    match expiration {
        None if !system => {
            return Err(OdooError::User(format!(
                "You cannot exceed {MAX_DAYS} days."
            )));
        }
        Some(e) if e < now => {
            return Err(OdooError::User(
                "You cannot set an expiration date in the past.".into(),
            ));
        }
        Some(e) if !system && e > now + chrono::Duration::days(MAX_DAYS) => {
            return Err(OdooError::User(format!(
                "You cannot exceed {MAX_DAYS} days."
            )));
        }
        _ => {}
    }
    let name = kw
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let created = orm::fmt_dt(now);
    let key = make(
        tx.db,
        env.uid,
        name,
        scope,
        expiration.map(orm::fmt_dt),
        created,
    );
    Ok(json!(key))
}

/// `res.users.apikeys.revoke(key)`: deletes one of the caller's keys; anything else is an
/// AccessError (403).
pub fn revoke(tx: &mut Tx<'_>, env: &Env, kw: &Map<String, Value>) -> OResult<Value> {
    let now = tx.now;
    let given = kw.get("key").and_then(Value::as_str).unwrap_or("");
    let found = lookup(tx.db, given, now).map(|k| (k.id, k.uid));
    match found {
        Some((id, uid)) if uid == env.uid || tx.db.is_system(env.uid) => {
            remove(tx.db, id);
            Ok(json!(true))
        }
        _ => Err(OdooError::Access("The provided API key is invalid.".into())),
    }
}
