//! Where a profile signs in: authority, client, scopes.

use url::Url;

use crate::{AuthError, Secret};

/// The delegated Graph scopes Odoo365 Sync asks for. `offline_access` is what makes the
/// identity platform return a refresh token (graph.md §8.4, §8.7). `Files.ReadWrite.All`
/// is what a subscription on a business drive and a SharePoint library need (graph.md
/// §8.7, [SUBC]); `Sites.Read.All` lets the documents settings list the sites and libraries
/// the user follows or finds. Both are delegated scopes a user can consent to alone.
pub const GRAPH_SCOPES: &[&str] = &[
    "https://graph.microsoft.com/User.Read",
    "https://graph.microsoft.com/Calendars.ReadWrite",
    "https://graph.microsoft.com/Files.ReadWrite",
    "https://graph.microsoft.com/Files.ReadWrite.All",
    "https://graph.microsoft.com/Sites.Read.All",
    "https://graph.microsoft.com/OnlineMeetings.ReadWrite",
    "offline_access",
];

/// One app registration at one authority.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub authorize_url: Url,
    pub token_url: Url,
    pub device_code_url: Url,
    pub client_id: String,
    /// Only for confidential registrations; a public desktop client has none.
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    /// The host the redirect URI names: `localhost` (what the README tells people to
    /// register) or `127.0.0.1`. The listener binds loopback either way.
    pub redirect_host: String,
}

impl AuthConfig {
    /// The Microsoft identity platform layout: `{base}/{tenant}/oauth2/v2.0/{endpoint}`, where
    /// `base` is `https://login.microsoftonline.com`, a national cloud, or the emulator.
    pub fn microsoft(
        identity_base: &str,
        tenant: &str,
        client_id: &str,
    ) -> Result<Self, AuthError> {
        let base = identity_base.trim_end_matches('/');
        let url = |endpoint: &str| {
            Url::parse(&format!("{base}/{tenant}/oauth2/v2.0/{endpoint}")).map_err(|e| {
                AuthError::Config(format!("the sign-in URL {base:?} is not usable: {e}"))
            })
        };
        Ok(AuthConfig {
            authorize_url: url("authorize")?,
            token_url: url("token")?,
            device_code_url: url("devicecode")?,
            client_id: client_id.to_string(),
            client_secret: None,
            scopes: GRAPH_SCOPES.iter().map(|s| s.to_string()).collect(),
            redirect_host: "localhost".into(),
        })
    }

    /// Any other OAuth 2.0 server, by its endpoint URLs.
    pub fn custom(
        authorize_url: &str,
        token_url: &str,
        device_code_url: &str,
        client_id: &str,
        scopes: &[&str],
    ) -> Result<Self, AuthError> {
        let parse = |u: &str| Url::parse(u).map_err(|e| AuthError::Config(format!("{u:?}: {e}")));
        Ok(AuthConfig {
            authorize_url: parse(authorize_url)?,
            token_url: parse(token_url)?,
            device_code_url: parse(device_code_url)?,
            client_id: client_id.to_string(),
            client_secret: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            redirect_host: "localhost".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsoft_endpoints_follow_the_tenant_layout() {
        let c = AuthConfig::microsoft("https://login.microsoftonline.com/", "organizations", "cid")
            .unwrap();
        assert_eq!(
            c.token_url.as_str(),
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
        );
        assert!(c
            .device_code_url
            .as_str()
            .ends_with("/organizations/oauth2/v2.0/devicecode"));
        assert!(c.scopes.iter().any(|s| s == "offline_access"));
        assert!(AuthConfig::microsoft("not a url", "common", "cid").is_err());
    }
}
