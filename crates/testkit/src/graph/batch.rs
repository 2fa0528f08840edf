//! JSON batching: at most 20 requests, `dependsOn` with 424 cascades, each request
//! throttled on its own (429 with `Retry-After` in its headers), answers in shuffled
//! order [BATCH][THL].

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use base64::Engine;
use rand::seq::SliceRandom;
use serde_json::{json, Map, Value};

use super::http::{self as h, GBody, GReq, GResp, GResult};
use super::{GraphEmulator, GraphError};

/// At most 20 requests per batch [BATCH].
pub const BATCH_MAX: usize = 20;

#[derive(Debug)]
struct Sub {
    id: String,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Bytes,
    depends_on: Vec<String>,
}

fn bad(msg: impl Into<String>) -> GraphError {
    GraphError::bad_request("BadRequest", msg)
}

fn parse(v: &Value) -> Result<Vec<Sub>, GraphError> {
    let list = v
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Invalid batch payload format."))?;
    if list.len() > BATCH_MAX {
        return Err(bad(format!(
            "The number of batch requests exceeds the limit of {BATCH_MAX}."
        )));
    }
    let mut seen = HashSet::new();
    let mut subs = Vec::new();
    for r in list {
        let id = r
            .get("id")
            .and_then(|i| {
                i.as_str()
                    .map(str::to_string)
                    .or_else(|| i.as_u64().map(|n| n.to_string()))
            })
            .ok_or_else(|| bad("Every request needs an id."))?;
        // Ids are unique, case-insensitively [BATCH].
        if !seen.insert(id.to_ascii_lowercase()) {
            return Err(bad(format!("Duplicate request id '{id}'.")));
        }
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .ok_or_else(|| bad(format!("Request '{id}' needs a method.")))?;
        let url = r
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("Request '{id}' needs a url.")))?
            .to_string();
        let mut headers = HeaderMap::new();
        if let Some(hs) = r.get("headers").and_then(Value::as_object) {
            for (k, v) in hs {
                if let (Ok(n), Some(Ok(val))) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    v.as_str().map(HeaderValue::from_str),
                ) {
                    headers.insert(n, val);
                }
            }
        }
        let body = match r.get("body") {
            None | Some(Value::Null) => Bytes::new(),
            Some(b) => {
                // A body needs a Content-Type header [BATCH].
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        bad(format!(
                            "Request '{id}' has a body but no Content-Type header."
                        ))
                    })?;
                match b {
                    Value::String(s) if !ct.contains("json") => {
                        base64::engine::general_purpose::STANDARD
                            .decode(s)
                            .map(Bytes::from)
                            .map_err(|_| bad("A binary body must be base64."))?
                    }
                    other => Bytes::from(serde_json::to_vec(other).unwrap_or_default()),
                }
            }
        };
        let depends_on = r
            .get("dependsOn")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        subs.push(Sub {
            id,
            method,
            url,
            headers,
            body,
            depends_on,
        });
    }
    let ids: HashSet<String> = subs.iter().map(|s| s.id.to_ascii_lowercase()).collect();
    for s in &subs {
        if let Some(d) = s
            .depends_on
            .iter()
            .find(|d| !ids.contains(&d.to_ascii_lowercase()))
        {
            return Err(bad(format!(
                "Request '{}' depends on unknown request '{d}'.",
                s.id
            )));
        }
    }
    Ok(subs)
}

/// The order to run in: each request after the ones it depends on.
fn order(subs: &[Sub]) -> Result<Vec<usize>, GraphError> {
    let mut done: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    while out.len() < subs.len() {
        let next = (0..subs.len()).find(|i| {
            !out.contains(i)
                && subs[*i]
                    .depends_on
                    .iter()
                    .all(|d| done.contains(&d.to_ascii_lowercase()))
        });
        let Some(i) = next else {
            return Err(bad("The dependsOn graph has a cycle."));
        };
        done.insert(subs[i].id.to_ascii_lowercase());
        out.push(i);
    }
    Ok(out)
}

fn sub_response(em: &GraphEmulator, id: &str, result: GResult) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (status, headers, body) = match result {
        Ok(r) => (r.status, r.headers, r.body),
        Err(e) => {
            let mut hs = Vec::new();
            if let Some(s) = e.retry_after_s {
                hs.push((HeaderName::from_static("retry-after"), s.to_string()));
            }
            if let Some(l) = &e.location {
                hs.push((HeaderName::from_static("location"), l.clone()));
            }
            (
                e.status,
                hs,
                GBody::Json(h::error_json(em, &e, &request_id, None)),
            )
        }
    };
    let mut hv = Map::new();
    for (k, v) in headers {
        hv.insert(k.as_str().to_string(), json!(v));
    }
    let mut out = json!({"id": id, "status": status.as_u16()});
    match body {
        GBody::Empty => {}
        GBody::Json(v) => {
            hv.insert("content-type".into(), json!("application/json"));
            out["body"] = v;
        }
        GBody::Bytes(b, ct) => {
            hv.insert("content-type".into(), json!(ct));
            out["body"] = json!(base64::engine::general_purpose::STANDARD.encode(b));
        }
    }
    out["headers"] = Value::Object(hv);
    out
}

pub fn handle<'a>(
    em: &'a GraphEmulator,
    req: &'a GReq,
) -> Pin<Box<dyn Future<Output = GResult> + Send + 'a>> {
    Box::pin(run(em, req))
}

async fn run(em: &GraphEmulator, req: &GReq) -> GResult {
    let v = req.json()?;
    let subs = parse(&v)?;
    let plan = order(&subs)?;
    let mut status: HashMap<String, u16> = HashMap::new();
    let mut answers = Vec::new();
    for i in plan {
        let s = &subs[i];
        let failed_dep = s.depends_on.iter().find(|d| {
            status
                .get(&d.to_ascii_lowercase())
                .is_none_or(|st| !(200..300).contains(st))
        });
        let result = if let Some(d) = failed_dep {
            // A failed dependency fails its dependents with 424 [BATCH].
            Err(GraphError::new(
                StatusCode::FAILED_DEPENDENCY,
                "FailedDependency",
                format!("Request '{d}' that this request depends on failed."),
            ))
        } else {
            run_one(em, req, s).await
        };
        let code = match &result {
            Ok(r) => r.status.as_u16(),
            Err(e) => e.status.as_u16(),
        };
        status.insert(s.id.to_ascii_lowercase(), code);
        answers.push(sub_response(em, &s.id, result));
    }
    // Order is not guaranteed; clients correlate by id [BATCH].
    answers.shuffle(&mut em.world().rng);
    let done = status.values().filter(|s| (200..300).contains(*s)).count() as u64;
    let mut resp = GResp::ok(json!({ "responses": answers }));
    resp.batch_done = Some(done);
    Ok(resp)
}

async fn run_one(em: &GraphEmulator, outer: &GReq, s: &Sub) -> GResult {
    let url = s.url.trim();
    let url = url
        .strip_prefix("https://graph.microsoft.com/v1.0")
        .or_else(|| url.strip_prefix(&format!("{}/v1.0", outer.origin)))
        .unwrap_or(url);
    let url = if url.starts_with('/') {
        url.to_string()
    } else {
        format!("/{url}")
    };
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    if path.trim_end_matches('/') == "/$batch" {
        return Err(bad("A batch can't contain a batch."));
    }
    // Each request is throttled and can be faulted on its own [THR].
    h::admit_window(em, &outer.user_id)?;
    if let Some(f) = em
        .inner
        .faults
        .draw(s.method.as_str(), &format!("/v1.0{url}"))
    {
        if let Some(e) = h::fault_error(&f, path.contains("/events") || path.contains("/calendar"))
        {
            return Err(e);
        }
    }
    let mut headers = s.headers.clone();
    if let Some(hv) = outer.headers.get("host") {
        headers.insert("host", hv.clone());
    }
    let sub = GReq {
        method: s.method.clone(),
        path: path.to_string(),
        query: h::parse_query(query),
        headers,
        body: s.body.clone(),
        user_id: outer.user_id.clone(),
        scopes: outer.scopes.clone(),
        origin: outer.origin.clone(),
    };
    h::dispatch(em, &sub).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_twenty_requests_or_duplicate_ids_are_rejected() {
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me"}))
            .collect();
        assert!(parse(&json!({"requests": many})).is_err());
        let dup = json!({"requests": [{"id": "a", "method": "GET", "url": "/me"}, {"id": "A", "method": "GET", "url": "/me"}]});
        assert!(parse(&dup).unwrap_err().message.contains("Duplicate"));
        let no_ct =
            json!({"requests": [{"id": "a", "method": "POST", "url": "/me/events", "body": {}}]});
        assert!(parse(&no_ct).is_err());
    }

    #[test]
    fn dependencies_run_first_and_cycles_are_refused() {
        let v = json!({"requests": [{"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]}, {"id": "1", "method": "GET", "url": "/me"}]});
        let subs = parse(&v).unwrap();
        assert_eq!(order(&subs).unwrap(), vec![1, 0]);
        let v = json!({"requests": [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["2"]}, {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]}]});
        assert!(order(&parse(&v).unwrap()).is_err());
    }
}
