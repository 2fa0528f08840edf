//! Change notifications: `/subscriptions` with the validation handshake, per-resource
//! expiry limits, batched delivery with retries, and lifecycle notifications [SUB][WH][LC].

use std::collections::{HashMap, HashSet};
use std::time::Duration as StdDuration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::http::{lock, GReq, GResp, GResult};
use super::time::offset_string;
use super::{GraphEmulator, GraphError};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Events,
    Drive,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    id: String,
    user_id: String,
    tenant_id: String,
    kind: Kind,
    resource: String,
    change_types: Vec<String>,
    notification_url: String,
    lifecycle_url: Option<String>,
    expires: DateTime<Utc>,
    client_state: Option<String>,
    tls: String,
    application_id: String,
}

/// One POST to a subscriber, for tests and the control API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub url: String,
    pub notifications: usize,
    pub attempt: u32,
    /// The subscriber's status, or `None` when it did not answer within 3 s.
    pub status: Option<u16>,
}

/// Notifications waiting per URL, and which URLs have a delivery task running.
#[derive(Default)]
pub struct Outgoing {
    pending: HashMap<String, Vec<Value>>,
    running: HashSet<String>,
    pub log: Vec<Delivery>,
}

/// Maximum expiry per resource [SUB].
fn max_minutes(kind: Kind) -> i64 {
    match kind {
        Kind::Events => 10_080,
        Kind::Drive => 42_300,
    }
}

fn invalid(msg: impl Into<String>) -> GraphError {
    GraphError::bad_request("InvalidRequest", msg)
}

fn render(s: &Subscription, req: &GReq) -> Value {
    json!({
        "@odata.context": format!("{}/$metadata#subscriptions/$entity", req.base()),
        "id": s.id,
        "resource": s.resource,
        "applicationId": s.application_id,
        "changeType": s.change_types.join(","),
        "clientState": s.client_state,
        "notificationUrl": s.notification_url,
        "notificationQueryOptions": null,
        "lifecycleNotificationUrl": s.lifecycle_url,
        "expirationDateTime": offset_string(s.expires),
        "creatorId": s.user_id,
        "includeResourceData": false,
        "latestSupportedTlsVersion": s.tls,
        "encryptionCertificate": null,
        "encryptionCertificateId": null,
        "notificationUrlAppId": null,
    })
}

/// Which resources can be subscribed to with delegated access, normalised.
fn classify(resource: &str, user_id: &str, mail: &str, drive_id: &str) -> Result<Kind, GraphError> {
    let r = resource.trim_start_matches('/').to_ascii_lowercase();
    let own = |who: &str| who == user_id.to_ascii_lowercase() || who == mail.to_ascii_lowercase();
    let parts: Vec<&str> = r.split('/').collect();
    match parts.as_slice() {
        ["me", "events"] | ["me", "calendar", "events"] => Ok(Kind::Events),
        ["users", who, "events"] if own(who) => Ok(Kind::Events),
        ["me", "drive", "root"] => Ok(Kind::Drive),
        ["drives", d, "root"] if *d == drive_id.to_ascii_lowercase() => Ok(Kind::Drive),
        // Business drives take the root only; files never [SUBC].
        ["me", "drive", ..] | ["drives", ..] => Err(invalid(
            "Subscriptions on OneDrive for Business are supported on the root folder only.",
        )),
        _ => Err(invalid(format!(
            "Resource '{resource}' is not supported for subscriptions."
        ))),
    }
}

/// `https`, or `http` on loopback (tests and the demo have no certificates).
fn url_allowed(u: &str) -> bool {
    match url::Url::parse(u) {
        Ok(p) => {
            p.scheme() == "https"
                || (p.scheme() == "http"
                    && matches!(p.host_str(), Some("localhost") | Some("127.0.0.1")))
        }
        Err(_) => false,
    }
}

/// POSTs `?validationToken=…` and requires a text/plain 200 echo within the timeout [WH].
async fn validate(em: &GraphEmulator, url: &str) -> Result<(), GraphError> {
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        uuid::Uuid::new_v4()
    );
    let mut target = url::Url::parse(url).map_err(|_| invalid("notificationUrl is not a URL."))?;
    target
        .query_pairs_mut()
        .append_pair("validationToken", &token);
    let failed = || {
        invalid("Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
    };
    let answer = em
        .inner
        .http_client
        .post(target)
        .header("content-type", "text/plain; charset=utf-8")
        .timeout(StdDuration::from_millis(
            em.inner.config.validation_timeout_ms,
        ))
        .send()
        .await
        .map_err(|_| failed())?;
    if answer.status() != reqwest::StatusCode::OK {
        return Err(failed());
    }
    let text_plain = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/plain"));
    let body = answer.text().await.map_err(|_| failed())?;
    if !text_plain || body != token {
        return Err(failed());
    }
    Ok(())
}

fn parse_expiry(
    v: Option<&Value>,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, GraphError> {
    let raw = v
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("expirationDateTime is required."))?;
    let t = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| invalid("expirationDateTime is not a DateTimeOffset."))?
        .with_timezone(&Utc);
    if t <= now {
        return Err(invalid("Subscription expiration must be in the future."));
    }
    let max = max_minutes(kind);
    if t > now + Duration::minutes(max) {
        return Err(invalid(format!(
            "Subscription expiration can only be {max} minutes in the future."
        )));
    }
    // Less than 45 minutes away is raised to 45 [SUB].
    Ok(t.max(now + Duration::minutes(45)))
}

pub async fn handle(em: &GraphEmulator, req: &GReq, segs: &[&str]) -> GResult {
    let m = &req.method;
    match segs {
        [] if m == Method::POST => create(em, req).await,
        [] if m == Method::GET => {
            let world = em.world();
            let now = em.inner.clock.now();
            let list: Vec<Value> = world
                .subscriptions
                .values()
                .filter(|s| s.user_id == req.user_id && s.expires > now)
                .map(|s| render(s, req))
                .collect();
            Ok(GResp::ok(
                json!({"@odata.context": format!("{}/$metadata#subscriptions", req.base()), "value": list}),
            ))
        }
        [id] if m == Method::GET => {
            let world = em.world();
            Ok(GResp::ok(render(
                find(&world.subscriptions, id, req, em.inner.clock.now())?,
                req,
            )))
        }
        [id] if m == Method::PATCH => update(em, req, id).await,
        [id] if m == Method::DELETE => {
            let mut world = em.world();
            find(&world.subscriptions, id, req, em.inner.clock.now())?;
            world.subscriptions.remove(*id);
            Ok(GResp::empty(StatusCode::NO_CONTENT))
        }
        [id, "reauthorize"] if m == Method::POST => {
            let world = em.world();
            find(&world.subscriptions, id, req, em.inner.clock.now())?;
            Ok(GResp::empty(StatusCode::NO_CONTENT))
        }
        _ => Err(GraphError::bad_request(
            "BadRequest",
            "Unsupported subscription request.",
        )),
    }
}

fn find<'a>(
    subs: &'a std::collections::BTreeMap<String, Subscription>,
    id: &str,
    req: &GReq,
    now: DateTime<Utc>,
) -> Result<&'a Subscription, GraphError> {
    subs.get(id)
        .filter(|s| s.user_id == req.user_id && s.expires > now)
        .ok_or_else(|| {
            GraphError::new(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                format!("The object was not found. Subscription Id: {id}"),
            )
        })
}

async fn create(em: &GraphEmulator, req: &GReq) -> GResult {
    let body = req.json()?;
    let now = em.inner.clock.now();
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let notification_url =
        s("notificationUrl").ok_or_else(|| invalid("notificationUrl is required."))?;
    let resource = s("resource").ok_or_else(|| invalid("resource is required."))?;
    let change = s("changeType").ok_or_else(|| invalid("changeType is required."))?;
    let lifecycle_url = s("lifecycleNotificationUrl");
    let client_state = s("clientState");
    if client_state
        .as_ref()
        .is_some_and(|c| c.chars().count() > 128)
    {
        return Err(invalid("clientState must be at most 128 characters."));
    }
    for u in std::iter::once(&notification_url).chain(lifecycle_url.iter()) {
        if !url_allowed(u) {
            return Err(invalid("The notification URL must use https."));
        }
    }
    let change_types: Vec<String> = change.split(',').map(|c| c.trim().to_string()).collect();
    if change_types
        .iter()
        .any(|c| !matches!(c.as_str(), "created" | "updated" | "deleted"))
    {
        return Err(invalid(format!("Invalid changeType '{change}'.")));
    }
    let (user, tenant) = {
        let world = em.world();
        let u = world.user(&req.user_id)?.clone();
        (u.clone(), u.tenant_id)
    };
    let kind = classify(&resource, &user.id, &user.mail, &user.drive_id)?;
    if kind == Kind::Drive && change_types.iter().any(|c| c != "updated") {
        // driveItem supports only `updated` [SUBC].
        return Err(invalid(
            "The changeType for driveItem subscriptions must be 'updated'.",
        ));
    }
    // Events need Calendars.Read; a personal drive Files.ReadWrite, a business drive
    // Files.ReadWrite.All [SUBC].
    let needed: &[&str] = match (kind, user.drive_type) {
        (Kind::Events, _) => &["Calendars.Read", "Calendars.ReadWrite"],
        (Kind::Drive, super::state::DriveType::Personal) => {
            &["Files.ReadWrite", "Files.ReadWrite.All"]
        }
        (Kind::Drive, super::state::DriveType::Business) => &["Files.ReadWrite.All"],
    };
    let granted = req.scopes.split_whitespace().any(|s| {
        let s = s.trim_start_matches("https://graph.microsoft.com/");
        needed.iter().any(|n| n.eq_ignore_ascii_case(s))
    });
    if !granted {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "ExtensionError",
            "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access is denied. Check credentials and try again.]",
        ));
    }
    let expires = parse_expiry(body.get("expirationDateTime"), kind, now)?;
    {
        let world = em.world();
        let dup = world.subscriptions.values().find(|x| {
            x.user_id == req.user_id
                && x.expires > now
                && x.resource.eq_ignore_ascii_case(&resource)
                && x.change_types == change_types
        });
        if let Some(d) = dup {
            // Duplicates are refused [WH].
            return Err(GraphError::new(
                StatusCode::CONFLICT,
                "ExtensionError",
                format!(
                    "Subscription Id {} already exists for the requested combination",
                    d.id
                ),
            ));
        }
    }
    validate(em, &notification_url).await?;
    if let Some(l) = &lifecycle_url {
        validate(em, l).await?;
    }
    let mut world = em.world();
    let id = world.uuid();
    let sub = Subscription {
        id: id.clone(),
        user_id: req.user_id.clone(),
        tenant_id: tenant,
        kind,
        resource,
        change_types,
        notification_url,
        lifecycle_url,
        expires,
        client_state,
        tls: s("latestSupportedTlsVersion").unwrap_or_else(|| "v1_2".into()),
        application_id: "00000000-0000-0000-0000-0000000a0001".into(),
    };
    let v = render(&sub, req);
    world.subscriptions.insert(id, sub);
    Ok(GResp::json(StatusCode::CREATED, v))
}

async fn update(em: &GraphEmulator, req: &GReq, id: &str) -> GResult {
    let body = req.json()?;
    let now = em.inner.clock.now();
    if body.get("lifecycleNotificationUrl").is_some() {
        // It can't be added or changed later [LC].
        return Err(invalid(
            "lifecycleNotificationUrl cannot be updated; delete and recreate the subscription.",
        ));
    }
    let (kind, new_url) = {
        let world = em.world();
        let s = find(&world.subscriptions, id, req, now)?;
        (
            s.kind,
            body.get("notificationUrl")
                .and_then(Value::as_str)
                .map(str::to_string),
        )
    };
    let expires = match body.get("expirationDateTime") {
        Some(v) => Some(parse_expiry(Some(v), kind, now)?),
        None => None,
    };
    if let Some(u) = &new_url {
        if !url_allowed(u) {
            return Err(invalid("The notification URL must use https."));
        }
        validate(em, u).await?;
    }
    let mut world = em.world();
    let s = world
        .subscriptions
        .get_mut(id)
        .ok_or_else(GraphError::item_not_found)?;
    if let Some(e) = expires {
        s.expires = e;
    }
    if let Some(u) = new_url {
        s.notification_url = u;
    }
    Ok(GResp::ok(render(s, req)))
}

/// Queues a change notification for every matching event subscription of `user`.
pub fn notify_event(em: &GraphEmulator, user: &str, event_id: &str, change: &str) {
    let now = em.inner.clock.now();
    let items: Vec<(String, Value)> = {
        let world = em.world();
        // The version the change left (resourceData's `@odata.etag` [RD], in the form the
        // emulator's events carry, `W/"changeKey"`); a deleted event has none, and neither
        // does an occurrence id here (the docs are silent on both).
        let etag = (change != "deleted")
            .then(|| world.mailboxes.get(user)?.events.get(event_id))
            .flatten()
            .map(|ev| format!("W/\"{}\"", ev.change_key));
        world
            .subscriptions
            .values()
            .filter(|s| s.user_id == user && s.kind == Kind::Events && s.expires > now && s.change_types.iter().any(|c| c == change))
            .map(|s| {
                let res = format!("Users/{}/Events/{}", s.user_id, event_id);
                let mut data = json!({"@odata.type": "#Microsoft.Graph.Event", "@odata.id": res, "id": event_id});
                if let Some(etag) = &etag {
                    data["@odata.etag"] = json!(etag);
                }
                (
                    s.notification_url.clone(),
                    json!({
                        "id": uuid::Uuid::new_v4().to_string(),
                        "subscriptionId": s.id,
                        "subscriptionExpirationDateTime": offset_string(s.expires),
                        "clientState": s.client_state,
                        "changeType": change,
                        "resource": res,
                        "tenantId": s.tenant_id,
                        "resourceData": data,
                    }),
                )
            })
            .collect()
    };
    enqueue(em, items);
}

/// Queues an `updated` notification for every drive subscription of `user`; OneDrive's
/// carries no item, the app runs delta [ODWH].
pub fn notify_drive(em: &GraphEmulator, user: &str) {
    let now = em.inner.clock.now();
    let items: Vec<(String, Value)> = {
        let world = em.world();
        world
            .subscriptions
            .values()
            .filter(|s| s.user_id == user && s.kind == Kind::Drive && s.expires > now)
            .map(|s| {
                (
                    s.notification_url.clone(),
                    json!({
                        "subscriptionId": s.id,
                        "subscriptionExpirationDateTime": offset_string(s.expires),
                        "clientState": s.client_state,
                        "changeType": "updated",
                        "resource": s.resource,
                        "tenantId": s.tenant_id,
                    }),
                )
            })
            .collect()
    };
    enqueue(em, items);
}

/// Sends a lifecycle notification to the subscription's lifecycle URL [LC].
pub fn trigger_lifecycle(em: &GraphEmulator, id: &str, event: &str) -> Result<(), GraphError> {
    if !matches!(
        event,
        "reauthorizationRequired" | "subscriptionRemoved" | "missed"
    ) {
        return Err(invalid(format!("Unknown lifecycle event '{event}'.")));
    }
    let item = {
        let mut world = em.world();
        let s = world
            .subscriptions
            .get(id)
            .cloned()
            .ok_or_else(GraphError::item_not_found)?;
        if matches!(event, "subscriptionRemoved" | "missed") && s.kind != Kind::Events {
            return Err(invalid(format!(
                "{event} is sent for Outlook resources only."
            )));
        }
        let url = s
            .lifecycle_url
            .clone()
            .ok_or_else(|| invalid("The subscription has no lifecycleNotificationUrl."))?;
        if event == "subscriptionRemoved" {
            world.subscriptions.remove(id);
        }
        (
            url,
            json!({
                "subscriptionId": s.id,
                "subscriptionExpirationDateTime": offset_string(s.expires),
                "tenantId": s.tenant_id,
                "clientState": s.client_state,
                "lifecycleEvent": event,
            }),
        )
    };
    enqueue(em, vec![item]);
    Ok(())
}

/// Every delivery attempt so far.
pub fn deliveries(em: &GraphEmulator) -> Vec<Delivery> {
    em.world().outgoing.log.clone()
}

fn enqueue(em: &GraphEmulator, items: Vec<(String, Value)>) {
    if items.is_empty() {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let mut start = Vec::new();
    {
        let mut world = em.world();
        for (url, v) in items {
            world
                .outgoing
                .pending
                .entry(url.clone())
                .or_default()
                .push(v);
            if world.outgoing.running.insert(url.clone()) {
                start.push(url);
            }
        }
    }
    for url in start {
        rt.spawn(deliver(em.clone(), url));
    }
}

/// Delivers everything queued for `url`, batching what arrives together, retrying
/// non-2xx and answers slower than 3 s with doubling delays [WH].
async fn deliver(em: GraphEmulator, url: String) {
    loop {
        // A short pause lets changes made together go out in one POST.
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        let batch = {
            let mut world = em.world();
            match world.outgoing.pending.remove(&url) {
                Some(b) if !b.is_empty() => b,
                _ => {
                    world.outgoing.running.remove(&url);
                    return;
                }
            }
        };
        let body = json!({ "value": batch });
        let cfg = em.inner.config.clone();
        for attempt in 1..=cfg.notification_attempts_max {
            let answer = em
                .inner
                .http_client
                .post(&url)
                .json(&body)
                .timeout(StdDuration::from_millis(cfg.notification_timeout_ms))
                .send()
                .await;
            let status = answer.as_ref().ok().map(|r| r.status().as_u16());
            lock(&em.inner.world).outgoing.log.push(Delivery {
                url: url.clone(),
                notifications: batch.len(),
                attempt,
                status,
            });
            if status.is_some_and(|s| (200..300).contains(&s)) {
                break;
            }
            let delay = cfg
                .notification_retry_base_ms
                .saturating_mul(1 << (attempt - 1).min(16));
            tokio::time::sleep(StdDuration::from_millis(delay)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_raised_to_45_minutes_and_capped_per_resource() {
        let now = Utc::now();
        let soon = json!((now + Duration::minutes(5)).to_rfc3339());
        assert_eq!(
            parse_expiry(Some(&soon), Kind::Events, now).unwrap(),
            now + Duration::minutes(45)
        );
        let far = json!((now + Duration::minutes(10_081)).to_rfc3339());
        assert!(parse_expiry(Some(&far), Kind::Events, now).is_err());
        assert!(parse_expiry(Some(&far), Kind::Drive, now).is_ok());
    }

    #[test]
    fn only_own_events_and_the_drive_root_can_be_subscribed_to() {
        assert_eq!(
            classify("me/events", "u1", "a@b.c", "d1").unwrap(),
            Kind::Events
        );
        assert_eq!(
            classify("/users/a@b.c/events", "u1", "a@b.c", "d1").unwrap(),
            Kind::Events
        );
        assert_eq!(
            classify("me/drive/root", "u1", "a@b.c", "d1").unwrap(),
            Kind::Drive
        );
        assert!(classify("me/drive/items/x", "u1", "a@b.c", "d1").is_err());
        assert!(classify("users/other/events", "u1", "a@b.c", "d1").is_err());
    }
}
