//! Tokens, and the per-profile source of fresh access tokens.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::{flow, AuthConfig, AuthError, Keychain, Secret, SecretKind};

/// What a sign-in or refresh returned.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    pub expires_at: DateTime<Utc>,
    pub refresh_token: Option<Secret>,
    pub scopes: Vec<String>,
}

/// Refresh this long before the access token expires, so a request never starts with a
/// token that dies on the way.
const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// Hands out access tokens for one profile: cached while fresh, refreshed before expiry and
/// after a 401, with the rotated refresh token written to the keychain before the new
/// access token is used.
pub struct TokenSource {
    config: AuthConfig,
    http: reqwest::Client,
    keychain: Arc<dyn Keychain>,
    profile_id: String,
    // Held across a refresh, so two callers never spend the same refresh token twice.
    cached: tokio::sync::Mutex<Option<(Secret, DateTime<Utc>)>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("profile_id", &self.profile_id)
            .finish_non_exhaustive()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::KeychainError> + Send + 'static,
) -> Result<T, AuthError> {
    // The OS keychain API blocks (D-Bus round trips); keep it off the async workers.
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthError::Network(format!("keychain task failed: {e}")))?
        .map_err(AuthError::from)
}

impl TokenSource {
    pub fn new(
        config: AuthConfig,
        http: reqwest::Client,
        keychain: Arc<dyn Keychain>,
        profile_id: impl Into<String>,
    ) -> Self {
        TokenSource {
            config,
            http,
            keychain,
            profile_id: profile_id.into(),
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// Keeps the result of an interactive sign-in: the refresh token goes to the keychain,
    /// the access token to the cache.
    pub async fn store(&self, tokens: &TokenSet) -> Result<(), AuthError> {
        let mut cached = self.cached.lock().await;
        self.save_refresh_token(tokens).await?;
        *cached = Some((tokens.access_token.clone(), tokens.expires_at));
        Ok(())
    }

    async fn save_refresh_token(&self, tokens: &TokenSet) -> Result<(), AuthError> {
        if let Some(rt) = tokens.refresh_token.clone() {
            let (k, id) = (self.keychain.clone(), self.profile_id.clone());
            blocking(move || k.set(&id, SecretKind::MicrosoftRefreshToken, &rt)).await?;
        }
        Ok(())
    }

    /// A token valid for at least the refresh margin after `now`.
    pub async fn access_token(&self, now: DateTime<Utc>) -> Result<Secret, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires_at)) = cached.as_ref() {
            if *expires_at - REFRESH_MARGIN > now {
                return Ok(token.clone());
            }
        }
        let (k, id) = (self.keychain.clone(), self.profile_id.clone());
        let Some(refresh_token) =
            blocking(move || k.get(&id, SecretKind::MicrosoftRefreshToken)).await?
        else {
            return Err(AuthError::SignInNeeded {
                reason: "this profile has no saved Microsoft sign-in".into(),
            });
        };
        let tokens = flow::refresh(&self.config, &self.http, &refresh_token, now).await?;
        self.save_refresh_token(&tokens).await?;
        *cached = Some((tokens.access_token.clone(), tokens.expires_at));
        Ok(tokens.access_token)
    }

    /// Forgets the cached access token, after Graph answered 401: the next call refreshes.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}
