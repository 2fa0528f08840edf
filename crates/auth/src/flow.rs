//! The sign-in flows and the refresh grant, on top of the `oauth2` crate.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    EndpointNotSet, EndpointSet, ExtraDeviceAuthorizationFields, HttpClientError,
    PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::loopback::LoopbackRedirect;
use crate::{AuthConfig, AuthError, Browser, Secret, TokenSet};

type Client = BasicClient<EndpointSet, EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The HTTP client for the identity endpoints. Redirects are not followed: a token endpoint
/// that redirects is misconfigured, and following it could leak the code (RFC 6749 §10.6).
pub fn http_client() -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| AuthError::Config(format!("cannot build an HTTP client: {e}")))
}

fn client(cfg: &AuthConfig, redirect_uri: Option<&str>) -> Result<Client, AuthError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| AuthError::Config(format!("{what}: {e}"));
    let mut c = BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(cfg.authorize_url.clone()))
        .set_device_authorization_url(DeviceAuthorizationUrl::from_url(
            cfg.device_code_url.clone(),
        ))
        .set_token_uri(TokenUrl::from_url(cfg.token_url.clone()));
    if let Some(secret) = &cfg.client_secret {
        c = c.set_client_secret(ClientSecret::new(secret.expose().to_string()));
    }
    if let Some(uri) = redirect_uri {
        c = c.set_redirect_uri(
            RedirectUrl::new(uri.to_string()).map_err(|e| bad("redirect URI", &e))?,
        );
    }
    Ok(c)
}

fn scopes(cfg: &AuthConfig) -> impl Iterator<Item = Scope> + '_ {
    cfg.scopes.iter().map(|s| Scope::new(s.clone()))
}

/// Maps an error *code* from the authorization or token endpoint to what the caller does
/// next (graph.md §8.2, §8.4, §8.5, §8.6).
fn classify(error: &str, description: String) -> AuthError {
    match error {
        "invalid_grant" | "interaction_required" | "consent_required" | "login_required" => {
            AuthError::SignInNeeded {
                reason: description,
            }
        }
        "access_denied" | "authorization_declined" => AuthError::Declined(description),
        "expired_token" => AuthError::TimedOut(description),
        "temporarily_unavailable" | "server_error" => AuthError::Network(description),
        other => AuthError::Refused {
            error: other.to_string(),
            description,
        },
    }
}

fn map_token_error<TE>(e: RequestTokenError<HttpClientError<reqwest::Error>, TE>) -> AuthError
where
    TE: oauth2::ErrorResponse + ErrorCode,
{
    match e {
        RequestTokenError::ServerResponse(r) => {
            let (code, description) = r.code_and_description();
            classify(&code, description)
        }
        RequestTokenError::Request(e) => AuthError::Network(e.to_string()),
        RequestTokenError::Parse(e, _) => AuthError::Network(format!(
            "unreadable answer from the token endpoint at {}",
            e.path()
        )),
        RequestTokenError::Other(s) => AuthError::Network(s),
    }
}

/// The error code and description of either kind of oauth2 error response.
trait ErrorCode {
    fn code_and_description(&self) -> (String, String);
}

impl ErrorCode for BasicErrorResponse {
    fn code_and_description(&self) -> (String, String) {
        (
            self.error().as_ref().to_string(),
            self.error_description()
                .cloned()
                .unwrap_or_else(|| self.error().as_ref().to_string()),
        )
    }
}

impl ErrorCode for oauth2::DeviceCodeErrorResponse {
    fn code_and_description(&self) -> (String, String) {
        (
            self.error().as_ref().to_string(),
            self.error_description()
                .cloned()
                .unwrap_or_else(|| self.error().as_ref().to_string()),
        )
    }
}

fn token_set<TR: TokenResponse>(res: &TR, now: DateTime<Utc>) -> TokenSet {
    // The identity platform always sends expires_in; an hour is the RFC's usual default.
    let lifetime = res.expires_in().unwrap_or(Duration::from_secs(3600));
    TokenSet {
        access_token: Secret::new(res.access_token().secret().clone()),
        expires_at: now
            + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(1)),
        refresh_token: res.refresh_token().map(|r| Secret::new(r.secret().clone())),
        scopes: res
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
    }
}

/// Interactive sign-in: authorization code + PKCE (S256) in the browser, answered on a
/// one-shot loopback listener. Gives up after `timeout` without an answer.
pub async fn sign_in_with_browser(
    cfg: &AuthConfig,
    http: &reqwest::Client,
    browser: &dyn Browser,
    timeout: Duration,
    now: impl Fn() -> DateTime<Utc>,
) -> Result<TokenSet, AuthError> {
    let listener = LoopbackRedirect::bind(&cfg.redirect_host).await?;
    let redirect_uri = listener.redirect_uri().to_string();
    let client = client(cfg, Some(&redirect_uri))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes(cfg))
        .set_pkce_challenge(challenge)
        .url();
    tracing::info!(authority = %cfg.authorize_url.origin().ascii_serialization(), "opening the browser for sign-in");
    browser.open(url.as_str())?;
    let cb = listener.wait(timeout).await?;
    if cb.state.as_deref() != Some(state.secret().as_str()) {
        return Err(AuthError::StateMismatch);
    }
    if let Some(error) = cb.error {
        let description = cb.error_description.unwrap_or_else(|| error.clone());
        return Err(classify(&error, description));
    }
    let code = cb.code.ok_or_else(|| {
        AuthError::Network("the redirect carried neither a code nor an error".into())
    })?;
    let res = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .map_err(map_token_error)?;
    Ok(token_set(&res, now()))
}

/// Microsoft's device authorization answer adds a ready-made `message`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MicrosoftDeviceFields {
    #[serde(default)]
    pub message: Option<String>,
}

impl ExtraDeviceAuthorizationFields for MicrosoftDeviceFields {}

/// What to show the person during device-code sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodePrompt {
    pub verification_uri: String,
    pub user_code: String,
    pub expires_in: Duration,
    /// The identity platform's own sentence ("To sign in, use a web browser to open …").
    pub message: Option<String>,
}

/// Device-code sign-in, for machines without a usable browser. `show` is called once with
/// the code; polling honours `interval`, adds 5 s on `slow_down`, and stops on
/// `expired_token`, `authorization_declined` or `bad_verification_code` (graph.md §8.5).
pub async fn sign_in_with_device_code<S, SF>(
    cfg: &AuthConfig,
    http: &reqwest::Client,
    show: impl FnOnce(&DeviceCodePrompt),
    sleep: S,
    now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static,
) -> Result<TokenSet, AuthError>
where
    S: Fn(Duration) -> SF,
    SF: Future<Output = ()>,
{
    let client = client(cfg, None)?;
    let details: oauth2::DeviceAuthorizationResponse<MicrosoftDeviceFields> = client
        .exchange_device_code()
        .add_scopes(scopes(cfg))
        .request_async(http)
        .await
        .map_err(map_token_error)?;
    show(&DeviceCodePrompt {
        verification_uri: details.verification_uri().to_string(),
        user_code: details.user_code().secret().clone(),
        expires_in: details.expires_in(),
        message: details.extra_fields().message.clone(),
    });
    let start = now();
    let res = client
        .exchange_device_access_token(&details)
        .set_time_fn(now)
        .request_async(http, sleep, None)
        .await
        .map_err(map_token_error)?;
    Ok(token_set(&res, start))
}

/// The refresh grant. The identity platform rotates refresh tokens on every use; the
/// answer's new one must replace the old at once (graph.md §8.6).
pub async fn refresh(
    cfg: &AuthConfig,
    http: &reqwest::Client,
    refresh_token: &Secret,
    now: DateTime<Utc>,
) -> Result<TokenSet, AuthError> {
    let client = client(cfg, None)?;
    let token = RefreshToken::new(refresh_token.expose().to_string());
    let res = client
        .exchange_refresh_token(&token)
        .add_scopes(scopes(cfg))
        .request_async(http)
        .await
        .map_err(map_token_error)?;
    Ok(token_set(&res, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_grants_and_needed_interaction_mean_sign_in_again() {
        for code in ["invalid_grant", "interaction_required", "consent_required"] {
            assert!(
                matches!(classify(code, "x".into()), AuthError::SignInNeeded { .. }),
                "{code}"
            );
        }
        assert!(matches!(
            classify("authorization_declined", "x".into()),
            AuthError::Declined(_)
        ));
        assert!(matches!(
            classify("temporarily_unavailable", "x".into()),
            AuthError::Network(_)
        ));
        assert!(matches!(
            classify("invalid_client", "x".into()),
            AuthError::Refused { .. }
        ));
    }
}
