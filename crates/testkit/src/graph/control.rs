//! The control API: JSON over HTTP for the sim and for tests in other processes. Every
//! call mirrors an in-process method of [`GraphEmulator`]; see the README for the table.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::state::DriveType;
use super::{GraphEmulator, GraphError, Limits};
use crate::FaultRule;

type Reply = Result<Response, GraphError>;

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let id = uuid::Uuid::new_v4().to_string();
        let body = self.body(&id, None, &super::time::error_date(Utc::now()));
        (self.status, [("request-id", id)], Json(body)).into_response()
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, GraphError> {
    let slice: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(slice).map_err(GraphError::invalid_body)
}

fn ok(v: Value) -> Reply {
    Ok(Json(v).into_response())
}

pub fn router(em: GraphEmulator) -> Router {
    Router::new()
        .route("/tenants", post(create_tenant))
        .route("/users", get(list_users).post(create_user))
        .route("/tokens", post(mint_token))
        .route(
            "/faults",
            get(get_faults)
                .put(set_faults)
                .post(add_fault)
                .delete(clear_faults),
        )
        .route("/faults/enabled", post(enable_faults))
        .route("/limits", get(get_limits).put(set_limits))
        .route("/clock", get(get_clock).put(set_clock))
        .route("/clock/advance", post(advance_clock))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/counters", get(counters))
        .route("/outbox", get(outbox).delete(clear_outbox))
        .route("/devicecodes/approve", post(approve_device_code))
        .route("/devicecodes/decline", post(decline_device_code))
        .route("/subscriptions/{id}/lifecycle", post(lifecycle))
        .route("/delta/expire", post(expire_delta))
        .route("/sites", post(create_site))
        .route("/faults/corrupt", post(corrupt))
        .route("/notifications", get(notifications))
        .route("/scenario", post(scenario))
        .with_state(em)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewTenant {
    domain: String,
}

async fn create_tenant(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let t: NewTenant = parse(&body)?;
    Ok((StatusCode::CREATED, Json(em.create_tenant(&t.domain))).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUser {
    mail: String,
    display_name: Option<String>,
    #[serde(default)]
    drive_type: DriveType,
}

async fn create_user(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let u: NewUser = parse(&body)?;
    if !u.mail.contains('@') {
        return Err(GraphError::bad_request(
            "invalidRequest",
            "mail must be an address",
        ));
    }
    let name = u.display_name.unwrap_or_else(|| u.mail.clone());
    Ok((
        StatusCode::CREATED,
        Json(em.create_user(&u.mail, &name, u.drive_type)),
    )
        .into_response())
}

async fn list_users(State(em): State<GraphEmulator>) -> Reply {
    ok(json!({ "value": em.users() }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MintToken {
    user: String,
    lifetime_seconds: Option<i64>,
}

async fn mint_token(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let m: MintToken = parse(&body)?;
    let token = em.mint_token_with_lifetime(&m.user, m.lifetime_seconds.map(Duration::seconds))?;
    let expires_at = em.world().tokens.get(&token).map(|t| t.expires_at);
    let expires_in = expires_at
        .map(|t| (t - em.clock().now()).num_seconds())
        .unwrap_or(0);
    ok(json!({ "accessToken": token, "tokenType": "Bearer", "expiresIn": expires_in }))
}

async fn get_faults(State(em): State<GraphEmulator>) -> Reply {
    ok(json!({ "rules": em.faults().rules() }))
}

#[derive(Deserialize)]
struct Rules {
    rules: Vec<FaultRule>,
    seed: Option<u64>,
}

async fn set_faults(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let r: Rules = parse(&body)?;
    if let Some(seed) = r.seed {
        em.faults().reseed(seed);
    }
    em.faults().set_rules(r.rules);
    ok(json!({ "rules": em.faults().rules() }))
}

async fn add_fault(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let rule: FaultRule = parse(&body)?;
    em.faults().add(rule);
    ok(json!({ "rules": em.faults().rules() }))
}

async fn clear_faults(State(em): State<GraphEmulator>) -> Reply {
    em.faults().clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct Enabled {
    enabled: bool,
}

async fn enable_faults(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let e: Enabled = parse(&body)?;
    em.faults().set_enabled(e.enabled);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_limits(State(em): State<GraphEmulator>) -> Reply {
    ok(serde_json::to_value(em.limits()).unwrap_or_default())
}

async fn set_limits(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let l: Limits = parse(&body)?;
    em.set_limits(l);
    ok(serde_json::to_value(em.limits()).unwrap_or_default())
}

async fn get_clock(State(em): State<GraphEmulator>) -> Reply {
    ok(json!({ "now": em.clock().now(), "frozen": em.clock().is_frozen() }))
}

#[derive(Deserialize)]
struct SetClock {
    now: Option<DateTime<Utc>>,
    frozen: Option<bool>,
}

async fn set_clock(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let s: SetClock = parse(&body)?;
    if s.frozen == Some(true) {
        em.clock().freeze();
    }
    if let Some(t) = s.now {
        em.clock().set(t);
    }
    get_clock(State(em)).await
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

async fn advance_clock(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let a: Advance = parse(&body)?;
    em.clock().advance(Duration::seconds(a.seconds));
    get_clock(State(em)).await
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn requests(State(em): State<GraphEmulator>, Query(q): Query<Since>) -> Reply {
    ok(json!({ "value": em.request_log().since(q.since.unwrap_or(0)) }))
}

async fn clear_requests(State(em): State<GraphEmulator>) -> Reply {
    em.request_log().clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn counters(State(em): State<GraphEmulator>) -> Reply {
    let log = em.request_log().snapshot();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_fault: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_user: BTreeMap<String, u64> = BTreeMap::new();
    for r in &log {
        *by_status.entry(r.status.to_string()).or_default() += 1;
        if let Some(f) = &r.fault {
            *by_fault.entry(f.clone()).or_default() += 1;
        }
        if let Some(u) = &r.user {
            *by_user.entry(u.clone()).or_default() += 1;
        }
    }
    let outbox = em.outbox();
    ok(json!({
        "requests": log.len(),
        "writes": log.iter().filter(|r| r.is_write()).count(),
        "byStatus": by_status,
        "byFault": by_fault,
        "byUser": by_user,
        "outbox": outbox.len(),
    }))
}

async fn outbox(State(em): State<GraphEmulator>) -> Reply {
    ok(json!({ "value": em.outbox() }))
}

async fn clear_outbox(State(em): State<GraphEmulator>) -> Reply {
    em.world().outbox.clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceDecision {
    user_code: String,
    user: Option<String>,
}

async fn approve_device_code(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let d: DeviceDecision = parse(&body)?;
    let user = d
        .user
        .ok_or_else(|| GraphError::bad_request("invalidRequest", "user is required"))?;
    em.approve_device_code(&d.user_code, &user)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn decline_device_code(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let d: DeviceDecision = parse(&body)?;
    em.decline_device_code(&d.user_code)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct Lifecycle {
    event: String,
}

async fn lifecycle(State(em): State<GraphEmulator>, Path(id): Path<String>, body: Bytes) -> Reply {
    let l: Lifecycle = parse(&body)?;
    em.trigger_lifecycle(&id, &l.event)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewSite {
    display_name: String,
    members: Vec<String>,
}

async fn create_site(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let s: NewSite = parse(&body)?;
    let members: Vec<&str> = s.members.iter().map(String::as_str).collect();
    Ok((
        StatusCode::CREATED,
        Json(em.create_site(&s.display_name, &members)?),
    )
        .into_response())
}

#[derive(Deserialize)]
struct Corrupt {
    #[serde(default)]
    downloads: u32,
    #[serde(default)]
    uploads: u32,
}

async fn corrupt(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let c: Corrupt = parse(&body)?;
    em.corrupt_next_downloads(c.downloads);
    em.corrupt_next_uploads(c.uploads);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct Expire {
    user: String,
    kind: String,
}

async fn expire_delta(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let e: Expire = parse(&body)?;
    match e.kind.as_str() {
        "calendar" => em.expire_calendar_delta_tokens(&e.user)?,
        "drive" => em.expire_drive_delta_tokens(&e.user)?,
        _ => {
            return Err(GraphError::bad_request(
                "invalidRequest",
                "kind is calendar or drive",
            ))
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct Scenario {
    name: String,
}

async fn scenario(State(em): State<GraphEmulator>, body: Bytes) -> Reply {
    let s: Scenario = parse(&body)?;
    match s.name.as_str() {
        "empty" => {}
        "demo" => em.seed_demo(),
        _ => {
            return Err(GraphError::bad_request(
                "invalidRequest",
                "scenario is empty or demo",
            ))
        }
    }
    ok(json!({ "users": em.users() }))
}

async fn notifications(State(em): State<GraphEmulator>) -> Reply {
    ok(json!({ "value": em.deliveries() }))
}
