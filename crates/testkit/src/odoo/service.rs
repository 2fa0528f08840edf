//! Method dispatch shared by the transports: public-method lookup, Python-style argument
//! binding, and the calls themselves (`odoo/service/model.py`, `addons/rpc/controllers`).

use serde_json::{json, Map, Value};

use super::error::OdooError;
use super::models::{Kind, Model};
use super::orm::{self, Env, Load, OResult, Tx};

/// What a method returned, before each transport shapes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ret {
    Value(Value),
    /// A recordset: JSON-2 and JSON-RPC send its ids.
    Records(Vec<i64>),
    /// `create`: JSON-2 always sends a list; JSON-RPC an int when one dict was given.
    Created {
        ids: Vec<i64>,
        single: bool,
    },
    /// `@api.returns` of one record (`message_post`): JSON-2 `[id]`, JSON-RPC `id`.
    One(i64),
}

impl Ret {
    pub fn json2(self) -> Value {
        match self {
            Ret::Value(v) => v,
            Ret::Records(ids) | Ret::Created { ids, .. } => json!(ids),
            Ret::One(id) => json!([id]),
        }
    }

    pub fn jsonrpc(self) -> Value {
        match self {
            Ret::Value(v) => v,
            Ret::Records(ids) => json!(ids),
            Ret::Created { ids, single: true } => json!(ids.first()),
            Ret::Created { ids, .. } => json!(ids),
            Ret::One(id) => json!(id),
        }
    }
}

/// A public method's Python signature.
#[derive(Debug, Clone)]
pub struct Sig {
    /// `@api.model`: no ids.
    pub api_model: bool,
    pub params: Vec<&'static str>,
    /// How many leading params are required.
    pub required: usize,
    /// Accepts `**kwargs`.
    pub var_kw: bool,
    /// Changes data (runs in a read-write transaction).
    pub writes: bool,
}

fn sig(api_model: bool, params: &[&'static str], required: usize, writes: bool) -> Sig {
    Sig {
        api_model,
        params: params.to_vec(),
        required,
        var_kw: false,
        writes,
    }
}

/// Resolves `model.method` as `get_public_method` does.
pub fn lookup(m: &Model, method: &str, version: &super::version::VersionProfile) -> OResult<Sig> {
    if method.starts_with('_') {
        return Err(OdooError::Access(format!(
            "Private methods (such as '{}.{}') cannot be called remotely.",
            m.name, method
        )));
    }
    let s = match method {
        // 16 still has `count` (removed in 17, use search_count).
        "search" if !version.has_body_is_html() => sig(
            true,
            &["domain", "offset", "limit", "order", "count"],
            1,
            false,
        ),
        "search" => sig(true, &["domain", "offset", "limit", "order"], 1, false),
        "search_read" => sig(
            true,
            &["domain", "fields", "offset", "limit", "order", "load"],
            0,
            false,
        ),
        "search_count" => sig(true, &["domain", "limit"], 1, false),
        "read" => sig(false, &["fields", "load"], 0, false),
        "create" => sig(true, &["vals_list"], 1, true),
        "write" => sig(false, &["vals"], 1, true),
        "unlink" => sig(false, &[], 0, true),
        "exists" => sig(false, &[], 0, false),
        "fields_get" => sig(true, &["allfields", "attributes"], 0, false),
        "name_search" => {
            let p = version.name_search_domain_param();
            sig(true, &["name", p, "operator", "limit"], 0, false)
        }
        "name_get" if version.has_name_get() => sig(false, &[], 0, false),
        "web_search_read" if version.has_any_operator() => sig(
            true,
            &[
                "domain",
                "specification",
                "offset",
                "limit",
                "order",
                "count_limit",
            ],
            2,
            false,
        ),
        "action_archive" | "action_unarchive" if m.has_active() => sig(false, &[], 0, true),
        "context_get" if m.name == "res.users" => sig(true, &[], 0, false),
        // Programmatic key management (19.0 docs, external_api.rst).
        "generate" if m.name == "res.users.apikeys" && version.has_json2() => {
            sig(true, &["key", "scope", "name", "expiration_date"], 4, true)
        }
        "revoke" if m.name == "res.users.apikeys" && version.has_json2() => {
            sig(true, &["key"], 1, true)
        }
        "message_post" if m.mail_thread => Sig {
            api_model: false,
            params: vec![
                "body",
                "subject",
                "message_type",
                "subtype_xmlid",
                "subtype_id",
                "partner_ids",
                "attachment_ids",
            ],
            required: 0,
            var_kw: true,
            writes: true,
        },
        "generate_access_token" if m.name == "ir.attachment" => sig(false, &[], 0, true),
        "change_attendee_status" if m.name == "calendar.event" => {
            sig(false, &["status", "recurrence_update_setting"], 2, true)
        }
        "do_accept" | "do_decline" | "do_tentative" if m.name == "calendar.attendee" => {
            sig(false, &[], 0, true)
        }
        "action_mass_archive" | "action_mass_deletion" if m.name == "calendar.event" => {
            sig(false, &["recurrence_update_setting"], 1, true)
        }
        _ => {
            return Err(OdooError::NotFound(format!(
                "The method '{}.{}' does not exist",
                m.name, method
            )))
        }
    };
    Ok(s)
}

/// `inspect.Signature.bind`: positional then named arguments onto the parameters.
pub fn bind(
    s: &Sig,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    if args.len() > s.params.len() {
        return Err("too many positional arguments".into());
    }
    for (p, a) in s.params.iter().zip(args) {
        out.insert((*p).into(), a);
    }
    for (k, v) in kwargs {
        if out.contains_key(&k) {
            return Err(format!("multiple values for argument '{k}'"));
        }
        if !s.var_kw && !s.params.contains(&k.as_str()) {
            return Err(format!("got an unexpected keyword argument '{k}'"));
        }
        out.insert(k, v);
    }
    for p in s.params.iter().take(s.required) {
        if !out.contains_key(*p) {
            return Err(format!("missing a required argument: '{p}'"));
        }
    }
    Ok(out)
}

fn opt_usize(v: Option<&Value>) -> Option<usize> {
    v.and_then(Value::as_u64).map(|n| n as usize)
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v {
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

fn load_of(kw: &Map<String, Value>) -> Load {
    match kw.get("load") {
        None => Load::Classic,
        Some(Value::String(s)) if s == "_classic_read" => Load::Classic,
        _ => Load::Ids,
    }
}

fn vals_list(v: &Value) -> OResult<(Vec<Map<String, Value>>, bool)> {
    match v {
        Value::Object(o) => Ok((vec![o.clone()], true)),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_object().cloned().ok_or_else(|| {
                    OdooError::value_error(format!("Invalid values for create: {x}"))
                })
            })
            .collect::<OResult<Vec<_>>>()
            .map(|l| (l, false)),
        other => Err(OdooError::value_error(format!(
            "Invalid values for create: {other}"
        ))),
    }
}

/// Runs one bound call.
pub fn call(
    tx: &mut Tx<'_>,
    env: &Env,
    m: &Model,
    method: &str,
    ids: &[i64],
    kw: &Map<String, Value>,
) -> OResult<Ret> {
    let db = &*tx.db;
    Ok(match method {
        "search" => {
            let found = orm::search(
                db,
                env,
                m,
                kw.get("domain").unwrap_or(&Value::Null),
                opt_usize(kw.get("offset")).unwrap_or(0),
                opt_usize(kw.get("limit")),
                kw.get("order").and_then(Value::as_str),
            )?;
            if orm::truthy(kw.get("count")) {
                Ret::Value(json!(found.len()))
            } else {
                Ret::Value(json!(found))
            }
        }
        "search_read" => {
            let found = orm::search(
                db,
                env,
                m,
                kw.get("domain").unwrap_or(&Value::Null),
                opt_usize(kw.get("offset")).unwrap_or(0),
                opt_usize(kw.get("limit")),
                kw.get("order").and_then(Value::as_str),
            )?;
            Ret::Value(json!(orm::read(
                db,
                env,
                m,
                &found,
                strings(kw.get("fields")),
                load_of(kw)
            )?))
        }
        "search_count" => {
            let found = orm::search(
                db,
                env,
                m,
                kw.get("domain").unwrap_or(&Value::Null),
                0,
                opt_usize(kw.get("limit")),
                None,
            )?;
            Ret::Value(json!(found.len()))
        }
        "read" => Ret::Value(json!(orm::read(
            db,
            env,
            m,
            ids,
            strings(kw.get("fields")),
            load_of(kw)
        )?)),
        "exists" => Ret::Records(
            ids.iter()
                .copied()
                .filter(|i| db.row(m.name, *i).is_some())
                .collect(),
        ),
        "fields_get" => Ret::Value(orm::fields_get(
            m,
            strings(kw.get("allfields")),
            strings(kw.get("attributes")),
        )),
        "name_search" => {
            let p = db.version.name_search_domain_param();
            Ret::Value(orm::name_search(
                db,
                env,
                m,
                kw.get("name").and_then(Value::as_str).unwrap_or(""),
                kw.get(p).unwrap_or(&Value::Null),
                kw.get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or("ilike"),
                opt_usize(kw.get("limit")).or(Some(100)),
            )?)
        }
        "name_get" => {
            let rows = orm::read(
                db,
                env,
                m,
                ids,
                Some(vec!["display_name".into()]),
                Load::Classic,
            )?;
            Ret::Value(json!(rows
                .iter()
                .map(|r| json!([r["id"], r["display_name"]]))
                .collect::<Vec<_>>()))
        }
        "web_search_read" => web_search_read(db, env, m, kw)?,
        "generate" => Ret::Value(super::apikeys::generate(tx, env, kw)?),
        "revoke" => Ret::Value(super::apikeys::revoke(tx, env, kw)?),
        "context_get" => {
            let user = db.user_row(env.uid).cloned().unwrap_or_default();
            Ret::Value(json!({
                "lang": user.get("lang").cloned().unwrap_or(json!("en_US")),
                "tz": user.get("tz").cloned().filter(|v| !v.is_null()).unwrap_or(json!(false)),
                "uid": env.uid,
            }))
        }
        "create" => {
            let (list, single) = vals_list(kw.get("vals_list").unwrap_or(&Value::Null))?;
            let ids = orm::create(tx, env, m, list)?;
            Ret::Created { ids, single }
        }
        "write" => {
            let vals = kw
                .get("vals")
                .and_then(Value::as_object)
                .cloned()
                .ok_or_else(|| OdooError::value_error("write() expects a dict of values"))?;
            orm::write(tx, env, m, ids, vals)?;
            Ret::Value(json!(true))
        }
        "unlink" => {
            orm::unlink(tx, env, m, ids)?;
            Ret::Value(json!(true))
        }
        "action_archive" | "action_unarchive" => {
            let mut vals = Map::new();
            vals.insert("active".into(), json!(method == "action_unarchive"));
            orm::write(tx, env, m, ids, vals)?;
            Ret::Value(json!(true))
        }
        "message_post" => Ret::One(super::attach::message_post(tx, env, m, ids, kw)?),
        "generate_access_token" => {
            orm::check_records(tx.db, env, m, ids, orm::Mode::Write)?;
            Ret::Value(super::attach::generate_access_token(tx, ids))
        }
        "change_attendee_status" => {
            orm::check_records(tx.db, env, m, ids, orm::Mode::Read)?;
            let status = kw.get("status").and_then(Value::as_str).unwrap_or("");
            let setting = kw
                .get("recurrence_update_setting")
                .and_then(Value::as_str)
                .unwrap_or("self_only");
            super::calendar::change_attendee_status(tx, env, ids, status, setting)?;
            Ret::Value(json!(true))
        }
        "action_mass_archive" | "action_mass_deletion" => {
            if ids.len() != 1 {
                return Err(OdooError::value_error(format!(
                    "Expected singleton: calendar.event({ids:?})"
                )));
            }
            orm::check_records(tx.db, env, m, ids, orm::Mode::Write)?;
            let setting = kw
                .get("recurrence_update_setting")
                .and_then(Value::as_str)
                .unwrap_or("");
            super::calendar::mass_action(
                tx,
                env,
                ids[0],
                setting,
                method == "action_mass_deletion",
            )?;
            Ret::Value(json!(true))
        }
        "do_accept" | "do_decline" | "do_tentative" => {
            orm::check_records(tx.db, env, m, ids, orm::Mode::Write)?;
            let state = match method {
                "do_accept" => "accepted",
                "do_decline" => "declined",
                _ => "tentative",
            };
            for &a in ids {
                super::calendar::set_attendee_state(tx, env, a, state)?;
            }
            Ret::Value(json!(true))
        }
        other => {
            return Err(OdooError::NotFound(format!(
                "The method '{}.{}' does not exist",
                m.name, other
            )))
        }
    })
}

/// `web_search_read(domain, specification)`: `{length, records}` with nested reads.
fn web_search_read(db: &orm::Db, env: &Env, m: &Model, kw: &Map<String, Value>) -> OResult<Ret> {
    let found = orm::search(
        db,
        env,
        m,
        kw.get("domain").unwrap_or(&Value::Null),
        0,
        None,
        kw.get("order").and_then(Value::as_str),
    )?;
    let length = found.len();
    let page: Vec<i64> = found
        .into_iter()
        .skip(opt_usize(kw.get("offset")).unwrap_or(0))
        .take(opt_usize(kw.get("limit")).unwrap_or(usize::MAX))
        .collect();
    let spec = kw
        .get("specification")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let records = read_spec(db, env, m, &page, &spec)?;
    Ok(Ret::Value(json!({"length": length, "records": records})))
}

fn read_spec(
    db: &orm::Db,
    env: &Env,
    m: &Model,
    ids: &[i64],
    spec: &Map<String, Value>,
) -> OResult<Vec<Value>> {
    let fields: Vec<String> = spec.keys().cloned().collect();
    let mut rows = orm::read(db, env, m, ids, Some(fields), Load::Ids)?;
    for row in rows.iter_mut() {
        for (name, sub) in spec {
            let Some(sub_fields) = sub.get("fields").and_then(Value::as_object) else {
                continue;
            };
            let Some(f) = m.field(name) else { continue };
            let Some(comodel) = f.kind.comodel() else {
                continue;
            };
            let cm = orm::model(&db.registry, comodel)?;
            let v = row[name.as_str()].clone();
            let nested = match f.kind {
                Kind::Many2one(_) => match v.as_i64() {
                    Some(id) => {
                        let mut spec2 = sub_fields.clone();
                        spec2.entry("display_name").or_insert(json!({}));
                        read_spec(db, env, cm, &[id], &spec2)?
                            .pop()
                            .unwrap_or(json!(false))
                    }
                    None => json!(false),
                },
                _ => {
                    let ids: Vec<i64> = v
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_i64).collect())
                        .unwrap_or_default();
                    json!(read_spec(db, env, cm, &ids, sub_fields)?)
                }
            };
            row[name.as_str()] = nested;
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_reports_pythons_type_errors() {
        let s = sig(false, &["vals"], 1, true);
        assert_eq!(
            bind(&s, vec![], Map::new()).unwrap_err(),
            "missing a required argument: 'vals'"
        );
        let mut kw = Map::new();
        kw.insert("badparameter".into(), json!(1));
        assert_eq!(
            bind(&s, vec![json!({})], kw).unwrap_err(),
            "got an unexpected keyword argument 'badparameter'"
        );
        let mut kw = Map::new();
        kw.insert("vals".into(), json!({}));
        assert_eq!(
            bind(&s, vec![json!({})], kw).unwrap_err(),
            "multiple values for argument 'vals'"
        );
        assert!(bind(&s, vec![json!({}), json!(1)], Map::new()).is_err());
        assert_eq!(
            bind(&s, vec![json!({"a": 1})], Map::new()).unwrap()["vals"],
            json!({"a": 1})
        );
    }

    #[test]
    fn results_take_each_transports_shape() {
        assert_eq!(
            Ret::Created {
                ids: vec![7],
                single: true
            }
            .clone()
            .jsonrpc(),
            json!(7)
        );
        assert_eq!(
            Ret::Created {
                ids: vec![7],
                single: true
            }
            .json2(),
            json!([7])
        );
        assert_eq!(Ret::One(3).json2(), json!([3]));
        assert_eq!(Ret::One(3).jsonrpc(), json!(3));
    }
}
