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

/// The app's fact "this profile signed in to Microsoft at …", written by every sign-in
/// (in any process: the CLI's `login` while the daemon runs) so that kept sessions see it.
pub(crate) const SIGNED_IN_AT: &str = "app.signed_in_at";

/// How long a kept session serves before it is rebuilt: its Odoo connection re-detects
/// the server's version and fields (an upgrade), and the adapters' caches of users and
/// alarms start afresh.
pub(crate) const SESSION_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The connected clients of one profile, kept between its sync cycles (the daemon, the
/// desktop worker): opening them costs a `GET /me` and about nine Odoo requests (version,
/// authentication, `fields_get` of each model, the user), which a no-op cycle must not pay
/// (issue 6: at most one request per resource).
pub(crate) struct Session {
    /// What the session was built from (see [`session_fingerprint`]); a different one
    /// means the settings, the API key or the Microsoft sign-in changed.
    fingerprint: u64,
    built: std::time::Instant,
    /// Closed once the tokio runtime the session was opened on is gone: the HTTP clients'
    /// pooled connections belong to that runtime and die with it (a caller that runs a
    /// cycle on a throwaway runtime; the desktop keeps one per scheduler), so such a
    /// session is not reused.
    runtime_alive: tokio::sync::oneshot::Sender<()>,
    /// The signed-in mailbox address.
    pub me: String,
    pub graph: GraphClient,
    pub odoo: Arc<OdooClient>,
    /// The calendar adapters, with their caches (users, alarms) for the session's life.
    pub calendar: Arc<crate::ports::GraphCalendar>,
    pub events: Arc<crate::ports::OdooEvents>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("me", &self.me)
            .field("age", &self.built.elapsed())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens the profile's clients: the Graph client (and `GET /me` for the mailbox
    /// address), the Odoo connection.
    pub(crate) async fn open(
        profile: &Profile,
        api_key: &Secret,
        keychain: Arc<dyn Keychain>,
        fingerprint: u64,
    ) -> Result<Session, AppError> {
        let tokens = token_source(profile, keychain)?;
        let graph = graph_client(profile, Arc::new(GraphTokens(tokens)))?;
        let me = mailbox_address(&graph).await?;
        let odoo = Arc::new(OdooClient::connect(odoo_config(profile, api_key)?).await?);
        let (runtime_alive, watch) = tokio::sync::oneshot::channel::<()>();
        // Ends when the session is dropped (its sender goes) or with its runtime.
        tokio::spawn(async move {
            let _ = watch.await;
        });
        Ok(Session {
            fingerprint,
            built: std::time::Instant::now(),
            runtime_alive,
            me,
            calendar: Arc::new(crate::ports::GraphCalendar::new(graph.clone())),
            events: Arc::new(crate::ports::OdooEvents::new(odoo.clone())),
            graph,
            odoo,
        })
    }

    /// Whether this session still serves a profile whose inputs hash to `fingerprint`.
    pub(crate) fn serves(&self, fingerprint: u64, now: std::time::Instant) -> bool {
        self.fingerprint == fingerprint
            && now.saturating_duration_since(self.built) < SESSION_MAX_AGE
            && !self.runtime_alive.is_closed()
    }
}

/// A hash of everything a session is built from: the profile as saved (URLs, login,
/// settings), its Odoo API key and the time of its last Microsoft sign-in. Kept in memory
/// only, to notice a change; the key itself is never stored by it.
pub(crate) fn session_fingerprint(
    profile: &Profile,
    api_key: &Secret,
    signed_in_at: Option<&str>,
) -> Result<u64, AppError> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(profile)
        .map_err(AppError::internal)?
        .hash(&mut h);
    api_key.expose().hash(&mut h);
    signed_in_at.hash(&mut h);
    Ok(h.finish())
}

/// The e-mail address of the signed-in mailbox (`GET /me`).
pub(crate) async fn mailbox_address(graph: &GraphClient) -> Result<String, AppError> {
    let url = graph.requests().root_url(&["me"]);
    let resp = graph
        .send(&odoo365_graph::GraphRequest::new(http::Method::GET, url))
        .await?;
    let me: serde_json::Value = serde_json::from_slice(&resp.body).map_err(AppError::internal)?;
    me.get("mail")
        .and_then(serde_json::Value::as_str)
        .or_else(|| {
            me.get("userPrincipalName")
                .and_then(serde_json::Value::as_str)
        })
        .map(str::to_lowercase)
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::Internal,
                "Microsoft did not say which mailbox is signed in",
            )
        })
}
