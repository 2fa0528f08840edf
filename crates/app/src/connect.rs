//! Plugging the real clients in: the `TokenSource` adapted to the Graph client's
//! `AccessTokens`, the Graph and Odoo clients configured from a profile, and the Odoo
//! connection test the desktop wizard and `odoo365 profile check` run.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use odoo365_auth::{AuthConfig, Keychain, Secret, SecretKind, TokenSource};
use odoo365_graph::{AccessTokens, GraphClient, GraphConfig, Seams, TokenError};
use odoo365_odoo::{ApiKey, KeyExpiry, OdooClient, OdooConfig, Transport};

use crate::{AppError, ErrorCode, Profile};

/// The auth crate's per-profile token source, as the Graph client wants it.
pub struct GraphTokens(pub Arc<TokenSource>);

impl std::fmt::Debug for GraphTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GraphTokens(..)")
    }
}

#[async_trait::async_trait]
impl AccessTokens for GraphTokens {
    async fn token(&self) -> Result<String, TokenError> {
        // The wall clock at the edge: token lifetimes are real time.
        self.0
            .access_token(chrono::Utc::now())
            .await
            .map(|s| s.expose().to_string())
            .map_err(|e| TokenError(e.to_string()))
    }

    async fn invalidate(&self) {
        self.0.invalidate().await
    }
}

/// The sign-in settings of a profile.
pub fn auth_config(profile: &Profile) -> Result<AuthConfig, AppError> {
    Ok(AuthConfig::microsoft(
        &profile.identity_url,
        &profile.tenant,
        &profile.client_id,
    )?)
}

/// The token source of a profile: refresh token from the keychain, rotated ones back to it.
pub fn token_source(
    profile: &Profile,
    keychain: Arc<dyn Keychain>,
) -> Result<Arc<TokenSource>, AppError> {
    Ok(Arc::new(TokenSource::new(
        auth_config(profile)?,
        odoo365_auth::flow::http_client()?,
        keychain,
        profile.id.clone(),
    )))
}

/// A Graph client for a profile's mailbox, with tokens from `tokens`.
pub fn graph_client(
    profile: &Profile,
    tokens: Arc<dyn AccessTokens>,
) -> Result<GraphClient, AppError> {
    let base = profile.graph_url.parse().map_err(|e| {
        AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "the Microsoft Graph URL {:?} is not usable: {e}",
                profile.graph_url
            ),
        )
    })?;
    let config = GraphConfig::with_base_url(base);
    Ok(GraphClient::new(
        config,
        Seams {
            tokens,
            clock: Arc::new(odoo365_graph::SystemClock),
            jitter_seed: jitter_seed(&profile.id),
            budget: None,
        },
    )?)
}

fn jitter_seed(profile_id: &str) -> u64 {
    // Different profiles back off at different moments; the same profile reproducibly.
    profile_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The Odoo connection settings of a profile with the given API key.
pub fn odoo_config(profile: &Profile, api_key: &Secret) -> Result<OdooConfig, AppError> {
    let url = profile.odoo_url.parse().map_err(|e| {
        AppError::new(
            ErrorCode::InvalidInput,
            format!("the Odoo URL {:?} is not usable: {e}", profile.odoo_url),
        )
    })?;
    let mut config = OdooConfig::new(url, &profile.odoo_login, ApiKey::new(api_key.expose()));
    config.database = Some(profile.odoo_database.clone());
    config.jitter_seed = jitter_seed(&profile.id);
    Ok(config)
}

/// The profile's Odoo API key from the keychain.
pub fn odoo_api_key(keychain: &dyn Keychain, profile: &Profile) -> Result<Secret, AppError> {
    keychain
        .get(&profile.id, SecretKind::OdooApiKey)?
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::OdooKeyRefused,
                format!(
                    "profile {:?} has no Odoo API key in the keychain; sync of it waits until \
                     you enter one with `odoo365 profile set-key {}`",
                    profile.name, profile.name
                ),
            )
        })
}

/// What an Odoo connection test found: shown by the wizard ("Connected to Odoo 17.0 as
/// Alice") and by `odoo365 profile check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OdooCheck {
    /// The server version, e.g. `17.0` or `saas~18.3`.
    pub version: String,
    /// `json-2` (Odoo 19+) or `json-rpc` (16-18).
    pub transport: String,
    pub user_id: i64,
    pub user_name: Option<String>,
    pub user_login: Option<String>,
    pub user_tz: Option<String>,
    /// When the API key expires (18+; `never` on 16/17), as far as Odoo tells.
    pub key_expiry: KeyExpiry,
}

impl OdooCheck {
    /// One line for a person.
    pub fn summary(&self) -> String {
        let who = self
            .user_name
            .clone()
            .or_else(|| self.user_login.clone())
            .unwrap_or_else(|| format!("user {}", self.user_id));
        let expiry = match &self.key_expiry {
            KeyExpiry::At { at } => format!("; the API key expires on {}", at.format("%Y-%m-%d")),
            KeyExpiry::EarliestOf { at, keys } => format!(
                "; the first of this user's {keys} API keys expires on {}",
                at.format("%Y-%m-%d")
            ),
            KeyExpiry::Never | KeyExpiry::Unknown { .. } => String::new(),
        };
        format!(
            "Connected to Odoo {} ({}) as {}{expiry}",
            self.version, self.transport, who
        )
    }
}

/// Connects to Odoo as the profile's user with `api_key` and reports the version, the user
/// and the key's expiry as of `now`.
pub async fn check_odoo(
    profile: &Profile,
    api_key: &Secret,
    now: DateTime<Utc>,
) -> Result<OdooCheck, AppError> {
    let client = OdooClient::connect(odoo_config(profile, api_key)?).await?;
    Ok(odoo_check_of(&client, now))
}

pub(crate) fn odoo_check_of(client: &OdooClient, now: DateTime<Utc>) -> OdooCheck {
    let user = client.user();
    OdooCheck {
        version: client.version().to_string(),
        transport: match client.transport() {
            Transport::Json2 => "json-2".into(),
            Transport::JsonRpc => "json-rpc".into(),
        },
        user_id: user.id,
        user_name: user.name.clone(),
        user_login: user.login.clone(),
        user_tz: user.tz.clone(),
        key_expiry: client.key_expiry(now),
    }
}
