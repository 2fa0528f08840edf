//! The Microsoft identity platform for a public desktop client: authorization code with
//! PKCE, refresh-token rotation, the device-code flow, and a sign-in page [AUTH][DEV][RT].

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sha2::Digest;

use super::http::{self as h};
use super::state::World;
use super::{GraphEmulator, GraphError};

#[derive(Debug, Clone)]
struct AuthCode {
    client_id: String,
    redirect_uri: String,
    scope: String,
    challenge: Option<(String, String)>,
    user_id: String,
    expires: DateTime<Utc>,
    used: bool,
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    user_id: String,
    scope: String,
    expires: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
enum Decision {
    Pending,
    Approved(String),
    Declined,
    Redeemed,
}

#[derive(Debug, Clone)]
struct DeviceGrant {
    client_id: String,
    scope: String,
    user_code: String,
    expires: DateTime<Utc>,
    interval_s: i64,
    last_poll: Option<DateTime<Utc>>,
    decision: Decision,
}

#[derive(Debug, Default)]
pub struct IdentityState {
    codes: HashMap<String, AuthCode>,
    refresh: HashMap<String, RefreshGrant>,
    device: HashMap<String, DeviceGrant>,
}

impl IdentityState {
    pub fn decide_device_code(
        &mut self,
        user_code: &str,
        user_id: Option<String>,
    ) -> Result<(), GraphError> {
        let g = self
            .device
            .values_mut()
            .find(|g| {
                g.user_code.eq_ignore_ascii_case(user_code) && g.decision == Decision::Pending
            })
            .ok_or_else(|| {
                GraphError::new(
                    StatusCode::NOT_FOUND,
                    "invalidRequest",
                    "No pending device code has that user code.",
                )
            })?;
        g.decision = match user_id {
            Some(u) => Decision::Approved(u),
            None => Decision::Declined,
        };
        Ok(())
    }
}

/// An OAuth error answer in the identity platform's shape [AUTH].
#[derive(Debug)]
struct OAuthError {
    error: &'static str,
    code: u32,
    description: String,
}

fn oauth(error: &'static str, code: u32, description: impl Into<String>) -> OAuthError {
    OAuthError {
        error,
        code,
        description: description.into(),
    }
}

impl OAuthError {
    fn into_response(self, now: DateTime<Utc>) -> Response {
        let trace = uuid::Uuid::new_v4();
        let corr = uuid::Uuid::new_v4();
        let ts = now.format("%Y-%m-%d %H:%M:%SZ");
        let body = json!({
            "error": self.error,
            "error_description": format!("AADSTS{}: {}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}", self.code, self.description),
            "error_codes": [self.code],
            "timestamp": ts.to_string(),
            "trace_id": trace.to_string(),
            "correlation_id": corr.to_string(),
        });
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    }
}

/// Loopback redirects match whatever the port; `[::1]` is not supported; the embedded
/// browser URI is allowed [RURL][AUTH].
pub fn redirect_allowed(uri: &str) -> bool {
    if uri == "https://login.microsoftonline.com/common/oauth2/nativeclient" {
        return true;
    }
    match url::Url::parse(uri) {
        Ok(u) => {
            u.scheme() == "http" && matches!(u.host_str(), Some("localhost") | Some("127.0.0.1"))
        }
        Err(_) => false,
    }
}

fn form(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let target = match url::Url::parse(uri) {
        Ok(mut u) => {
            // A redirect URI without a path comes back with a trailing `/` [RURL].
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => uri.to_string(),
    };
    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
}

fn error_page(status: StatusCode, code: u32, msg: &str) -> Response {
    (status, Html(format!("<!doctype html><title>Sign in</title><h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error\">AADSTS{code}: {}</p>", html_escape(msg)))).into_response()
}

fn log_identity(em: &GraphEmulator, method: &str, path: &str, status: u16, user: Option<String>) {
    em.inner.log.push(crate::RequestRecord {
        seq: 0,
        at: em.inner.clock.now(),
        method: method.into(),
        path: path.into(),
        status,
        latency_ms: 0,
        user,
        fault: None,
        cost: 1,
    });
}

/// Checks an authorize request; `Err` is either an error page (bad client or redirect) or a
/// redirect carrying `error=` [AUTH].
#[allow(clippy::result_large_err)] // the error is the answer itself, built once
fn check_authorize(p: &HashMap<String, String>) -> Result<(), Response> {
    let client = p.get("client_id").filter(|c| !c.is_empty());
    if client.is_none() {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    }
    let redirect = p.get("redirect_uri").cloned().unwrap_or_default();
    if !redirect_allowed(&redirect) {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            50011,
            &format!("The redirect URI '{redirect}' specified in the request does not match the redirect URIs configured for the application."),
        ));
    }
    let state = p.get("state").cloned().unwrap_or_default();
    let fail = |error: &str, desc: &str| {
        Err(redirect_with(
            &redirect,
            &[
                ("error", error),
                ("error_description", desc),
                ("state", &state),
            ],
        ))
    };
    if p.get("response_type").map(String::as_str) != Some("code") {
        return fail(
            "unsupported_response_type",
            "AADSTS700054: response_type 'code' is required for this application.",
        );
    }
    if p.get("scope").is_none_or(|s| s.trim().is_empty()) {
        return fail(
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'scope'.",
        );
    }
    if let Some(m) = p.get("code_challenge_method") {
        if m != "S256" && m != "plain" {
            return fail(
                "invalid_request",
                "AADSTS501491: Invalid code_challenge_method.",
            );
        }
    }
    if p.get("prompt").map(String::as_str) == Some("none") {
        // No browser session exists in the emulator, so silent sign-in fails.
        return fail(
            "login_required",
            "AADSTS50058: A silent sign-in request was sent but no user is signed in.",
        );
    }
    Ok(())
}

pub async fn authorize_page(
    State(em): State<GraphEmulator>,
    Path(tenant): Path<String>,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    let path = format!("/{tenant}/oauth2/v2.0/authorize");
    if let Err(r) = check_authorize(&p) {
        log_identity(&em, "GET", &path, r.status().as_u16(), None);
        return r;
    }
    log_identity(&em, "GET", &path, 200, None);
    sign_in_page(&em, &tenant, &p, None)
}

fn sign_in_page(
    em: &GraphEmulator,
    tenant: &str,
    p: &HashMap<String, String>,
    problem: Option<&str>,
) -> Response {
    let hidden: String = p
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                html_escape(k),
                html_escape(v)
            )
        })
        .collect();
    let users: String = em
        .users()
        .iter()
        .map(|u| format!("<li><button type=\"submit\" name=\"login\" value=\"{0}\" class=\"account\">{1} ({0})</button></li>", html_escape(&u.mail), html_escape(&u.display_name)))
        .collect();
    let hint = p
        .get("login_hint")
        .map(|h| html_escape(h))
        .unwrap_or_default();
    let problem = problem
        .map(|m| format!("<p id=\"error\" role=\"alert\">{}</p>", html_escape(m)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in to your account</title></head><body>\
<h1>Sign in</h1>{problem}\
<form method=\"post\" action=\"/{tenant}/oauth2/v2.0/authorize\">{hidden}\
<label for=\"login\">Email, phone, or Skype</label><input id=\"login\" name=\"login\" type=\"email\" value=\"{hint}\">\
<button id=\"next\" type=\"submit\">Sign in</button>\
<button id=\"cancel\" type=\"submit\" name=\"cancel\" value=\"1\">Cancel</button>\
</form><p>Pick an account:</p><form method=\"post\" action=\"/{tenant}/oauth2/v2.0/authorize\">{hidden}<ul>{users}</ul></form></body></html>",
        tenant = html_escape(tenant)
    ))
    .into_response()
}

pub async fn authorize_submit(
    State(em): State<GraphEmulator>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let p = form(&body);
    let path = format!("/{tenant}/oauth2/v2.0/authorize");
    if let Err(r) = check_authorize(&p) {
        log_identity(&em, "POST", &path, r.status().as_u16(), None);
        return r;
    }
    let redirect = p.get("redirect_uri").cloned().unwrap_or_default();
    let state = p.get("state").cloned().unwrap_or_default();
    if p.contains_key("cancel") {
        log_identity(&em, "POST", &path, 302, None);
        return redirect_with(
            &redirect,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app.",
                ),
                ("state", &state),
            ],
        );
    }
    let login = p.get("login").cloned().unwrap_or_default();
    let now = em.inner.clock.now();
    let lifetime = Duration::seconds(em.inner.config.auth_code_lifetime_s as i64);
    let mut world = em.world();
    let Ok(user_id) = world.resolve_user(&login) else {
        drop(world);
        log_identity(&em, "POST", &path, 200, None);
        return sign_in_page(
            &em,
            &tenant,
            &p,
            Some("This username may be incorrect. Make sure you typed it correctly."),
        );
    };
    let code = format!("1.A{}", world.opaque(48));
    // Without a method, the challenge is plain [AUTH].
    let challenge = p.get("code_challenge").map(|c| {
        (
            c.clone(),
            p.get("code_challenge_method")
                .cloned()
                .unwrap_or_else(|| "plain".into()),
        )
    });
    world.identity.codes.insert(
        code.clone(),
        AuthCode {
            client_id: p.get("client_id").cloned().unwrap_or_default(),
            redirect_uri: redirect.clone(),
            scope: p.get("scope").cloned().unwrap_or_default(),
            challenge,
            user_id: user_id.clone(),
            expires: now + lifetime,
            used: false,
        },
    );
    drop(world);
    log_identity(&em, "POST", &path, 302, Some(user_id));
    let mut pairs = vec![("code", code.as_str())];
    if p.contains_key("state") {
        pairs.push(("state", state.as_str()));
    }
    redirect_with(&redirect, &pairs)
}

fn has_scope(scope: &str, wanted: &str) -> bool {
    scope
        .split_whitespace()
        .any(|s| s.eq_ignore_ascii_case(wanted))
}

/// Graph scopes come back by short name; `offline_access` is not echoed.
fn granted(scope: &str) -> String {
    scope
        .split_whitespace()
        .filter(|s| !s.eq_ignore_ascii_case("offline_access"))
        .map(|s| s.trim_start_matches("https://graph.microsoft.com/"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn b64url(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(v).unwrap_or_default())
}

fn issue(
    world: &mut World,
    em: &GraphEmulator,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: DateTime<Utc>,
) -> Value {
    let lifetime = world.access_token_lifetime(em.inner.config.access_token_lifetime_s);
    let access = world.issue_access_token(user_id, scope, now, lifetime);
    let mut v = json!({
        "token_type": "Bearer",
        "scope": granted(scope),
        "expires_in": lifetime.num_seconds(),
        "ext_expires_in": lifetime.num_seconds(),
        "access_token": access,
    });
    // A refresh token only with offline_access [AUTH].
    if has_scope(scope, "offline_access") {
        let rt = format!("0.A{}", world.opaque(64));
        world.identity.refresh.insert(
            rt.clone(),
            RefreshGrant {
                client_id: client_id.into(),
                user_id: user_id.into(),
                scope: scope.into(),
                expires: now + Duration::seconds(em.inner.config.refresh_token_lifetime_s as i64),
            },
        );
        v["refresh_token"] = json!(rt);
    }
    // An id_token only with openid [AUTH]; unsigned, the emulator is not a trust anchor.
    if has_scope(scope, "openid") {
        if let Some(u) = world.users.get(user_id) {
            let claims = json!({
                "aud": client_id, "iss": format!("https://login.microsoftonline.com/{}/v2.0", u.tenant_id),
                "iat": now.timestamp(), "nbf": now.timestamp(), "exp": (now + lifetime).timestamp(),
                "oid": u.id, "sub": u.id, "tid": u.tenant_id, "preferred_username": u.mail, "name": u.display_name, "ver": "2.0",
            });
            v["id_token"] = json!(format!(
                "{}.{}.",
                b64url(&json!({"typ": "JWT", "alg": "none"})),
                b64url(&claims)
            ));
        }
    }
    v
}

fn verify_pkce(
    challenge: &Option<(String, String)>,
    verifier: Option<&String>,
) -> Result<(), OAuthError> {
    let Some((c, method)) = challenge else {
        return Ok(());
    };
    let Some(v) = verifier else {
        return Err(oauth(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'code_verifier'.",
        ));
    };
    let computed = if method == "S256" {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(v.as_bytes()))
    } else {
        v.clone()
    };
    if &computed != c {
        return Err(oauth("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."));
    }
    Ok(())
}

pub async fn token(
    State(em): State<GraphEmulator>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let path = format!("/{tenant}/oauth2/v2.0/token");
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let p = form(&body);
    let now = em.inner.clock.now();
    let result = grant(&em, &p, now);
    match result {
        Ok((v, user)) => {
            log_identity(&em, "POST", &path, 200, Some(user));
            (
                StatusCode::OK,
                [(header::CACHE_CONTROL, "no-store")],
                axum::Json(v),
            )
                .into_response()
        }
        Err(e) => {
            log_identity(&em, "POST", &path, 400, None);
            e.into_response(now)
        }
    }
}

fn grant(
    em: &GraphEmulator,
    p: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(Value, String), OAuthError> {
    let client_id = p.get("client_id").cloned().ok_or_else(|| {
        oauth(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    })?;
    let mut world = em.world();
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = p.get("code").cloned().unwrap_or_default();
            let c = world.identity.codes.get(&code).cloned().ok_or_else(|| {
                oauth(
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid.",
                )
            })?;
            if c.used {
                // A code is redeemed once [AADSTS].
                return Err(oauth("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."));
            }
            if c.expires <= now {
                return Err(oauth("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."));
            }
            if c.client_id != client_id {
                return Err(oauth(
                    "invalid_grant",
                    70002,
                    "The client_id does not match the one the code was issued to.",
                ));
            }
            if p.get("redirect_uri") != Some(&c.redirect_uri) {
                return Err(oauth(
                    "invalid_grant",
                    50011,
                    "The redirect URI does not match the one used in the authorization request.",
                ));
            }
            verify_pkce(&c.challenge, p.get("code_verifier"))?;
            if let Some(c) = world.identity.codes.get_mut(&code) {
                c.used = true;
            }
            let v = issue(&mut world, em, &c.user_id, &client_id, &c.scope, now);
            Ok((v, c.user_id))
        }
        Some("refresh_token") => {
            let rt = p.get("refresh_token").cloned().unwrap_or_default();
            let g = world.identity.refresh.get(&rt).cloned().ok_or_else(|| {
                oauth(
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid.",
                )
            })?;
            if g.expires <= now {
                return Err(oauth(
                    "invalid_grant",
                    700082,
                    "The refresh token has expired due to inactivity.",
                ));
            }
            if g.client_id != client_id {
                return Err(oauth(
                    "invalid_grant",
                    70000,
                    "The provided grant was issued to another client.",
                ));
            }
            let scope = match p.get("scope") {
                Some(s) if !s.trim().is_empty() => {
                    // The same scopes or a subset [AUTH].
                    if let Some(extra) = s.split_whitespace().find(|x| {
                        !has_scope(&g.scope, x) && !x.eq_ignore_ascii_case("offline_access")
                    }) {
                        return Err(oauth("invalid_grant", 65001, format!("The user or administrator has not consented to use the application for scope '{extra}'.")));
                    }
                    format!("{s} offline_access")
                }
                _ => g.scope.clone(),
            };
            // Refresh tokens replace themselves on every use; the old one is not revoked [RT].
            let v = issue(&mut world, em, &g.user_id, &client_id, &scope, now);
            Ok((v, g.user_id))
        }
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let dc = p.get("device_code").cloned().unwrap_or_default();
            let g = world.identity.device.get_mut(&dc).ok_or_else(|| {
                oauth(
                    "bad_verification_code",
                    70018,
                    "The device code is not valid.",
                )
            })?;
            if g.expires <= now {
                return Err(oauth("expired_token", 70019, "Verification code expired."));
            }
            let too_fast = g
                .last_poll
                .is_some_and(|t| now - t < Duration::seconds(g.interval_s));
            g.last_poll = Some(now);
            match g.decision.clone() {
                Decision::Declined => Err(oauth(
                    "authorization_declined",
                    70000,
                    "The end user denied the authorization request.",
                )),
                Decision::Redeemed => Err(oauth(
                    "invalid_grant",
                    54005,
                    "The device code was already redeemed.",
                )),
                // Polling faster than the interval asks the client to slow down (RFC 8628).
                Decision::Pending if too_fast => Err(oauth(
                    "slow_down",
                    70016,
                    "Polling too fast; add 5 seconds to the interval.",
                )),
                Decision::Pending => Err(oauth(
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )),
                Decision::Approved(user) => {
                    if g.client_id != client_id {
                        return Err(oauth(
                            "invalid_grant",
                            70000,
                            "The device code was issued to another client.",
                        ));
                    }
                    g.decision = Decision::Redeemed;
                    let scope = g.scope.clone();
                    let v = issue(&mut world, em, &user, &client_id, &scope, now);
                    Ok((v, user))
                }
            }
        }
        Some(other) => Err(oauth(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
        None => Err(oauth(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        )),
    }
}

pub async fn devicecode(
    State(em): State<GraphEmulator>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let path = format!("/{tenant}/oauth2/v2.0/devicecode");
    let origin = h::origin_of(req.headers());
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let p = form(&body);
    let now = em.inner.clock.now();
    let (Some(client_id), Some(scope)) = (p.get("client_id"), p.get("scope")) else {
        log_identity(&em, "POST", &path, 400, None);
        return oauth(
            "invalid_request",
            900144,
            "The request body must contain the following parameters: 'client_id' and 'scope'.",
        )
        .into_response(now);
    };
    let expires_in = em.inner.config.device_code_lifetime_s as i64;
    let interval = em.inner.config.device_code_interval_s as i64;
    let mut world = em.world();
    let device_code = format!("DAQABAAEAAA{}", world.opaque(48));
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let user_code: String = (0..9)
        .map(|_| ALPHA[rand::Rng::random_range(&mut world.rng, 0..ALPHA.len())] as char)
        .collect();
    world.identity.device.insert(
        device_code.clone(),
        DeviceGrant {
            client_id: client_id.clone(),
            scope: scope.clone(),
            user_code: user_code.clone(),
            expires: now + Duration::seconds(expires_in),
            interval_s: interval,
            last_poll: None,
            decision: Decision::Pending,
        },
    );
    drop(world);
    log_identity(&em, "POST", &path, 200, None);
    let uri = format!("{origin}/devicelogin");
    axum::Json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": uri,
        "expires_in": expires_in,
        "interval": interval,
        "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."),
    }))
    .into_response()
}

pub async fn devicelogin_page(State(em): State<GraphEmulator>) -> Response {
    log_identity(&em, "GET", "/devicelogin", 200, None);
    Html("<!doctype html><title>Enter code</title><h1>Enter code</h1><form method=\"post\" action=\"/devicelogin\">\
<input id=\"otc\" name=\"otc\" placeholder=\"Code\"><input id=\"login\" name=\"login\" type=\"email\" placeholder=\"Email\">\
<button id=\"next\" type=\"submit\">Next</button><button id=\"decline\" type=\"submit\" name=\"decline\" value=\"1\">Cancel</button></form>")
        .into_response()
}

pub async fn devicelogin_submit(State(em): State<GraphEmulator>, body: Bytes) -> Response {
    let p = form(&body);
    let code = p.get("otc").cloned().unwrap_or_default();
    let result = if p.contains_key("decline") {
        em.decline_device_code(&code)
    } else {
        em.approve_device_code(&code, p.get("login").map(String::as_str).unwrap_or(""))
    };
    let status = if result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    log_identity(&em, "POST", "/devicelogin", status.as_u16(), None);
    let msg = match result {
        Ok(()) if p.contains_key("decline") => "You have declined to sign in.".to_string(),
        Ok(()) => {
            "You have signed in to the application on your device. You may now close this window."
                .to_string()
        }
        Err(e) => e.message,
    };
    (
        status,
        Html(format!(
            "<!doctype html><title>Device sign-in</title><p id=\"result\">{}</p>",
            html_escape(&msg)
        )),
    )
        .into_response()
}

/// A refresh token for `user_id` and `client_id` with `scope` (`offline_access` added), as
/// an interactive sign-in would have left in the app's keychain; tests start from it
/// without playing the sign-in page.
pub(crate) fn grant_refresh_token(
    world: &mut World,
    em: &GraphEmulator,
    user_id: &str,
    client_id: &str,
    scope: &str,
) -> String {
    let now = em.inner.clock.now();
    let scope = if has_scope(scope, "offline_access") {
        scope.to_string()
    } else {
        format!("{scope} offline_access")
    };
    let v = issue(world, em, user_id, client_id, &scope, now);
    v["refresh_token"].as_str().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_any_port_but_not_ipv6_or_https_hosts() {
        assert!(redirect_allowed("http://localhost"));
        assert!(redirect_allowed("http://127.0.0.1:53127/callback"));
        assert!(redirect_allowed("http://localhost:8400/"));
        assert!(!redirect_allowed("http://[::1]:8400/"));
        assert!(!redirect_allowed("http://example.com/cb"));
        assert!(redirect_allowed(
            "https://login.microsoftonline.com/common/oauth2/nativeclient"
        ));
    }

    #[test]
    fn pkce_s256_accepts_the_matching_verifier_only() {
        // RFC 7636 appendix B.
        let ch = Some((
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string(),
            "S256".to_string(),
        ));
        assert!(verify_pkce(
            &ch,
            Some(&"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string())
        )
        .is_ok());
        assert_eq!(
            verify_pkce(&ch, Some(&"wrong".to_string()))
                .unwrap_err()
                .error,
            "invalid_grant"
        );
        assert_eq!(verify_pkce(&ch, None).unwrap_err().error, "invalid_request");
    }

    #[test]
    fn the_granted_scope_uses_short_names_and_drops_offline_access() {
        assert_eq!(
            granted("https://graph.microsoft.com/Calendars.ReadWrite offline_access openid"),
            "Calendars.ReadWrite openid"
        );
    }
}
