//! Version detection (odoo.md §1.6, client must-have 1): the transport is chosen from the
//! server's answer, never from its URL.
//!
//! Order: `GET /web/version`, `GET /json/version` (19+), then the routes every version has:
//! `POST /web/webclient/version_info` and `POST /jsonrpc` `common.version`.

use serde_json::{json, Value};

use crate::client::{join, redirect_error, send_error};
use crate::error::OdooError;
use crate::version::ServerVersion;

/// The version in a `/web/version` answer (`version`, `version_info`) or a
/// `common.version` answer (`server_version`, `server_version_info`).
pub fn version_from_json(v: &Value) -> Option<Result<ServerVersion, OdooError>> {
    let text = ["version", "server_version"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        .or_else(|| {
            // `["saas~18", 1, 0, "final", 0, "e"]` or `[17, 0, 0, "final", 0, ""]`.
            let info = ["version_info", "server_version_info"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_array))?;
            let major = match info.first()? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let minor = info.get(1).and_then(Value::as_i64).unwrap_or(0);
            Some(format!("{major}.{minor}"))
        })?;
    Some(ServerVersion::parse(&text).map_err(|e| OdooError::Version(e.to_string())))
}

/// Answers that end detection at once instead of trying the next route: a redirect (the
/// address to configure), throttling and gateway errors (the server is Odoo, but busy).
/// A 500 is not among them: some versions answer unknown routes that way.
fn answer_error(resp: &reqwest::Response, url: &url::Url) -> Option<OdooError> {
    if let Some(e) = redirect_error(resp, url) {
        return Some(e);
    }
    let status = resp.status().as_u16();
    if matches!(status, 429 | 502 | 503 | 504) {
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok());
        return Some(crate::wire::http_error(status, retry_after, b"", None));
    }
    None
}

/// Asks the server for its version, trying each route in turn.
pub async fn detect_version(
    http: &reqwest::Client,
    base: &url::Url,
) -> Result<ServerVersion, OdooError> {
    let mut tried = Vec::new();
    for path in ["web/version", "json/version"] {
        let url = join(base, path)?;
        let resp = http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| send_error(&e, &url, None))?;
        let status = resp.status().as_u16();
        if let Some(e) = answer_error(&resp, &url) {
            return Err(e);
        }
        if status == 200 {
            if let Ok(v) = resp.json::<Value>().await {
                if let Some(found) = version_from_json(&v) {
                    return found;
                }
            }
        }
        tried.push(format!("GET /{path}: HTTP {status}"));
    }
    let rpc =
        |params: Value| json!({"jsonrpc": "2.0", "method": "call", "params": params, "id": 1});
    for (path, body) in [
        ("web/webclient/version_info", rpc(json!({}))),
        (
            "jsonrpc",
            rpc(json!({"service": "common", "method": "version", "args": []})),
        ),
    ] {
        let url = join(base, path)?;
        let resp = http
            .post(url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| send_error(&e, &url, None))?;
        let status = resp.status().as_u16();
        if let Some(e) = answer_error(&resp, &url) {
            return Err(e);
        }
        if status == 200 {
            if let Ok(v) = resp.json::<Value>().await {
                if let Some(found) = v.get("result").and_then(version_from_json) {
                    return found;
                }
            }
        }
        tried.push(format!("POST /{path}: HTTP {status}"));
    }
    Err(OdooError::Version(format!(
        "this does not look like an Odoo server ({})",
        tried.join("; ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saas_version_info_arrays_are_understood_without_a_version_string() {
        let v =
            version_from_json(&json!({"server_version_info": ["saas~18", 1, 0, "final", 0, "e"]}))
                .unwrap()
                .unwrap();
        assert_eq!(v.to_string(), "saas~18.1");
        let v = version_from_json(&json!({"server_version_info": [17, 0, 0, "final", 0, ""]}))
            .unwrap()
            .unwrap();
        assert_eq!(v.major, 17);
        assert!(version_from_json(&json!({"nothing": 1})).is_none());
    }
}
