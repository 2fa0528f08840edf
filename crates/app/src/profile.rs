//! Profiles: one Microsoft account paired with one Odoo connection. Only non-secret
//! settings live here; the API key and tokens are in the keychain.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::settings::SyncSettings;
use crate::{AppError, ErrorCode};

/// Where Microsoft's services are unless a profile points elsewhere (a national cloud or
/// the emulator).
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";
pub const DEFAULT_IDENTITY_URL: &str = "https://login.microsoftonline.com";

/// What a person enters to create a profile.
#[derive(Debug, Clone, Deserialize)]
pub struct ProfileDraft {
    pub name: String,
    /// Tenant id, domain, `organizations` or `common`.
    pub tenant: String,
    /// The Azure AD app registration's client id.
    pub client_id: String,
    pub odoo_url: String,
    pub odoo_database: String,
    pub odoo_login: String,
    pub graph_url: Option<String>,
    pub identity_url: Option<String>,
}

/// A saved profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub tenant: String,
    pub client_id: String,
    pub odoo_url: String,
    pub odoo_database: String,
    pub odoo_login: String,
    pub graph_url: String,
    pub identity_url: String,
    pub created_at: String,
    /// What to sync and how. Profiles saved before settings existed read as the defaults.
    #[serde(default)]
    pub settings: SyncSettings,
}

fn invalid(msg: String) -> AppError {
    AppError::new(ErrorCode::InvalidInput, msg)
}

/// A service URL: https, or plain http only to this machine (the emulators, a local Odoo).
fn service_url(what: &str, text: &str) -> Result<String, AppError> {
    let url = Url::parse(text.trim())
        .map_err(|e| invalid(format!("the {what} {text:?} is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(format!(
                "the {what} {text:?} uses plain http; use https (plain http is allowed only \
                 for this machine, such as a local test server)"
            )))
        }
        other => {
            return Err(invalid(format!(
                "the {what} must be an https URL, not {other}:"
            )))
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

impl ProfileDraft {
    /// Checks every field and fills in defaults.
    pub fn validate(self) -> Result<Profile, AppError> {
        let name = self.name.trim().to_string();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(invalid(
                "a profile name is 1 to 64 printable characters".into(),
            ));
        }
        let tenant = self.tenant.trim().to_string();
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        {
            return Err(invalid(format!(
                "the tenant {tenant:?} must be a tenant id, a domain, `organizations` or `common`"
            )));
        }
        let client_id = self.client_id.trim().to_string();
        if client_id.len() != 36 || !client_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(invalid(format!(
                "the client id {client_id:?} is not an application (client) id: it looks like \
                 00000000-0000-0000-0000-000000000000 in the Azure portal's app registration"
            )));
        }
        if self.odoo_database.trim().is_empty() || self.odoo_login.trim().is_empty() {
            return Err(invalid("the Odoo database and login are required".into()));
        }
        Ok(Profile {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            tenant,
            client_id,
            odoo_url: service_url("Odoo URL", &self.odoo_url)?,
            odoo_database: self.odoo_database.trim().to_string(),
            odoo_login: self.odoo_login.trim().to_string(),
            graph_url: service_url(
                "Microsoft Graph URL",
                self.graph_url.as_deref().unwrap_or(DEFAULT_GRAPH_URL),
            )?,
            identity_url: service_url(
                "Microsoft sign-in URL",
                self.identity_url.as_deref().unwrap_or(DEFAULT_IDENTITY_URL),
            )?,
            created_at: now_rfc3339(),
            settings: SyncSettings::default(),
        })
    }
}

impl Profile {
    pub(crate) fn from_json(json: &str) -> Result<Profile, AppError> {
        serde_json::from_str(json).map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                format!("a saved profile cannot be read: {e}"),
            )
        })
    }
}

fn now_rfc3339() -> String {
    // The wall clock at the edge: when a person created the profile.
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ProfileDraft {
        ProfileDraft {
            name: "work".into(),
            tenant: "contoso.onmicrosoft.com".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            odoo_url: "https://acme.odoo.com/".into(),
            odoo_database: "acme".into(),
            odoo_login: "alice@acme.example".into(),
            graph_url: None,
            identity_url: None,
        }
    }

    #[test]
    fn plain_http_is_refused_except_to_this_machine() {
        let p = draft().validate().unwrap();
        assert_eq!(p.odoo_url, "https://acme.odoo.com");
        assert_eq!(p.graph_url, DEFAULT_GRAPH_URL);
        let e = ProfileDraft {
            odoo_url: "http://acme.odoo.com".into(),
            ..draft()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(e.message.contains("plain http"), "{}", e.message);
        let local = ProfileDraft {
            graph_url: Some("http://127.0.0.1:4010/v1.0".into()),
            odoo_url: "http://localhost:8069".into(),
            ..draft()
        };
        assert!(local.validate().is_ok());
    }

    #[test]
    fn a_malformed_client_id_or_tenant_is_named_in_the_error() {
        let e = ProfileDraft {
            client_id: "my-app".into(),
            ..draft()
        }
        .validate()
        .unwrap_err();
        assert!(e.message.contains("\"my-app\""));
        let e = ProfileDraft {
            tenant: "a b".into(),
            ..draft()
        }
        .validate()
        .unwrap_err();
        assert!(e.message.contains("tenant"));
    }
}
