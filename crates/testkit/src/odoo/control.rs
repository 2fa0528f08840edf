//! The control API: what a test or the simulator does to the world from outside Odoo
//! (create users and keys, switch the version, inject faults, move the clock, read logs).
//! People editing in Odoo are played by ordinary API calls with their own key instead.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ControlError, NewApiKey, NewUser, OdooEmulator, WebhookRule};
use crate::FaultRule;

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::NoUser(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

type Res = Result<Json<Value>, ControlError>;

pub fn router(emu: OdooEmulator) -> Router {
    Router::new()
        .route("/state", get(state))
        .route("/users", post(create_user))
        .route("/users/{id}/active", put(set_active))
        .route("/users/{id}/outlook_sync", put(set_outlook_sync))
        .route("/companies", post(create_company))
        .route("/api_keys", post(create_key).get(list_keys))
        .route("/api_keys/{id}", delete(revoke_key))
        .route("/version", put(set_version))
        .route(
            "/faults",
            put(set_faults).get(get_faults).delete(clear_faults),
        )
        .route("/clock", get(get_clock).put(set_clock))
        .route("/clock/advance", post(advance_clock))
        .route("/skew", put(set_skew))
        .route("/late_commit", post(late_commit))
        .route("/body_limit", put(set_body_limit))
        .route("/params", put(set_param))
        .route("/rpc_disabled", put(set_rpc_disabled))
        .route("/json2_prototype", put(set_json2_prototype))
        .route("/requests", get(requests))
        .route("/counters", get(counters))
        .route("/outbox", get(outbox).delete(clear_outbox))
        .route("/seed_demo", post(seed_demo))
        .route(
            "/webhooks",
            post(add_webhook).get(webhooks).delete(clear_webhooks),
        )
        .with_state(emu)
}

async fn state(State(emu): State<OdooEmulator>) -> Res {
    let v = emu.version();
    let (users, events, attachments) = {
        let db = emu.db();
        let n = |m: &str| db.tables.get(m).map(|t| t.rows.len()).unwrap_or(0);
        (n("res.users"), n("calendar.event"), n("ir.attachment"))
    };
    Ok(Json(json!({
        "version": v.raw,
        "database": emu.database(),
        "now": emu.clock().now().to_rfc3339(),
        "users": users,
        "events": events,
        "attachments": attachments,
        "requests": emu.request_log().len(),
        "mails": emu.outbox().len(),
    })))
}

async fn create_user(State(emu): State<OdooEmulator>, Json(u): Json<NewUser>) -> Res {
    let c = emu.create_user(u)?;
    Ok(Json(json!({"id": c.uid, "partner_id": c.partner_id})))
}

#[derive(Debug, Deserialize)]
struct Active {
    active: bool,
}

async fn set_active(
    State(emu): State<OdooEmulator>,
    Path(id): Path<i64>,
    Json(a): Json<Active>,
) -> Res {
    emu.set_user_active(id, a.active)?;
    Ok(Json(json!({"ok": true})))
}

async fn set_outlook_sync(
    State(emu): State<OdooEmulator>,
    Path(id): Path<i64>,
    Json(a): Json<Active>,
) -> Res {
    emu.set_outlook_sync(id, a.active)?;
    Ok(Json(json!({"ok": true})))
}

#[derive(Debug, Deserialize)]
struct Company {
    name: String,
}

async fn create_company(State(emu): State<OdooEmulator>, Json(c): Json<Company>) -> Res {
    Ok(Json(json!({"id": emu.create_company(&c.name)})))
}

#[derive(Debug, Deserialize)]
struct KeyRequest {
    user_id: Option<i64>,
    login: Option<String>,
    #[serde(flatten)]
    key: NewApiKey,
}

async fn create_key(State(emu): State<OdooEmulator>, Json(k): Json<KeyRequest>) -> Res {
    let uid = match (k.user_id, k.login.as_deref()) {
        (Some(id), _) => id,
        (None, Some(login)) => emu
            .uid_of(login)
            .ok_or_else(|| ControlError::Bad(format!("no user with login {login:?}")))?,
        (None, None) => return Err(ControlError::Bad("give user_id or login".into())),
    };
    let key = emu.create_api_key(uid, k.key)?;
    let id = emu.api_keys().last().map(|k| k.id).unwrap_or(0);
    Ok(Json(json!({"id": id, "key": key, "user_id": uid})))
}

async fn list_keys(State(emu): State<OdooEmulator>) -> Res {
    Ok(Json(json!(emu.api_keys())))
}

async fn revoke_key(State(emu): State<OdooEmulator>, Path(id): Path<i64>) -> Res {
    if emu.revoke_api_key(id) {
        Ok(Json(json!({"ok": true})))
    } else {
        Err(ControlError::Bad(format!("no key with id {id}")))
    }
}

#[derive(Debug, Deserialize)]
struct Version {
    version: String,
}

async fn set_version(State(emu): State<OdooEmulator>, Json(v): Json<Version>) -> Res {
    emu.set_version(&v.version)?;
    Ok(Json(json!({"version": emu.version().raw})))
}

#[derive(Debug, Deserialize)]
struct Faults {
    #[serde(default)]
    rules: Vec<FaultRule>,
    seed: Option<u64>,
    enabled: Option<bool>,
}

async fn set_faults(State(emu): State<OdooEmulator>, Json(f): Json<Faults>) -> Res {
    let plan = emu.faults();
    plan.set_rules(f.rules);
    if let Some(s) = f.seed {
        plan.reseed(s);
    }
    if let Some(e) = f.enabled {
        plan.set_enabled(e);
    }
    Ok(Json(json!({"rules": plan.rules()})))
}

async fn get_faults(State(emu): State<OdooEmulator>) -> Res {
    Ok(Json(json!({"rules": emu.faults().rules()})))
}

async fn clear_faults(State(emu): State<OdooEmulator>) -> Res {
    emu.faults().clear();
    Ok(Json(json!({"rules": []})))
}

async fn get_clock(State(emu): State<OdooEmulator>) -> Res {
    let c = emu.clock();
    Ok(Json(
        json!({"now": c.now().to_rfc3339(), "frozen": c.is_frozen()}),
    ))
}

#[derive(Debug, Deserialize)]
struct SetClock {
    at: Option<chrono::DateTime<chrono::Utc>>,
    frozen: Option<bool>,
}

async fn set_clock(State(emu): State<OdooEmulator>, Json(s): Json<SetClock>) -> Res {
    let c = emu.clock();
    if let Some(at) = s.at {
        c.set(at);
    }
    if s.frozen == Some(true) {
        c.freeze();
    }
    Ok(Json(
        json!({"now": c.now().to_rfc3339(), "frozen": c.is_frozen()}),
    ))
}

#[derive(Debug, Deserialize)]
struct Seconds {
    seconds: i64,
}

async fn advance_clock(State(emu): State<OdooEmulator>, Json(s): Json<Seconds>) -> Res {
    if s.seconds.abs() > super::MAX_SHIFT_S {
        return Err(ControlError::Bad(format!(
            "{} s is more than 100 years",
            s.seconds
        )));
    }
    let c = emu.clock();
    c.advance(chrono::Duration::seconds(s.seconds));
    Ok(Json(json!({"now": c.now().to_rfc3339()})))
}

async fn set_skew(State(emu): State<OdooEmulator>, Json(s): Json<Seconds>) -> Res {
    emu.set_clock_skew(s.seconds);
    Ok(Json(json!({"skew_seconds": s.seconds})))
}

async fn late_commit(State(emu): State<OdooEmulator>, Json(s): Json<Seconds>) -> Res {
    emu.late_commit_next(s.seconds);
    Ok(Json(json!({"late_commit_seconds": s.seconds})))
}

#[derive(Debug, Deserialize)]
struct Bytes {
    bytes: usize,
}

async fn set_body_limit(State(emu): State<OdooEmulator>, Json(b): Json<Bytes>) -> Res {
    emu.set_body_limit(b.bytes);
    Ok(Json(json!({"body_limit": b.bytes})))
}

#[derive(Debug, Deserialize)]
struct Param {
    key: String,
    value: String,
}

async fn set_param(State(emu): State<OdooEmulator>, Json(p): Json<Param>) -> Res {
    emu.set_param(&p.key, &p.value);
    Ok(Json(json!({"ok": true})))
}

#[derive(Debug, Deserialize)]
struct Disabled {
    disabled: bool,
}

async fn set_rpc_disabled(State(emu): State<OdooEmulator>, Json(d): Json<Disabled>) -> Res {
    emu.set_rpc_disabled(d.disabled);
    Ok(Json(json!({"rpc_disabled": d.disabled})))
}

#[derive(Debug, Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn requests(State(emu): State<OdooEmulator>, Query(s): Query<Since>) -> Res {
    Ok(Json(json!(emu.request_log().since(s.since.unwrap_or(0)))))
}

async fn counters(State(emu): State<OdooEmulator>) -> Res {
    Ok(Json(json!(emu.counters())))
}

async fn outbox(State(emu): State<OdooEmulator>) -> Res {
    Ok(Json(json!(emu.outbox())))
}

async fn clear_outbox(State(emu): State<OdooEmulator>) -> Res {
    emu.clear_outbox();
    Ok(Json(json!({"ok": true})))
}

async fn seed_demo(State(emu): State<OdooEmulator>) -> Res {
    let seed = emu.seed_demo()?;
    Ok(Json(json!(seed)))
}

async fn add_webhook(State(emu): State<OdooEmulator>, Json(rule): Json<WebhookRule>) -> Res {
    Ok(Json(json!({"id": emu.add_webhook(rule)?})))
}

async fn webhooks(State(emu): State<OdooEmulator>) -> Res {
    Ok(Json(
        json!({"rules": emu.db().webhooks.clone(), "deliveries": emu.webhook_deliveries()}),
    ))
}

async fn clear_webhooks(State(emu): State<OdooEmulator>) -> Res {
    emu.clear_webhooks();
    Ok(Json(json!({"ok": true})))
}

#[derive(Debug, Deserialize)]
struct On {
    on: bool,
}

async fn set_json2_prototype(State(emu): State<OdooEmulator>, Json(o): Json<On>) -> Res {
    emu.set_json2_prototype(o.on);
    Ok(Json(json!({"json2_prototype": o.on})))
}
