//! Microsoft sign-in for a profile: browser (authorization code + PKCE on a loopback
//! redirect) or device code. The refresh token goes to the keychain, nowhere else.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use odoo365_auth::{Browser, DeviceCodePrompt};

use odoo365_graph::StaticToken;

use crate::connect::{auth_config, graph_client, token_source};
use crate::{App, AppError, ErrorCode};

/// How long the browser sign-in waits for the redirect before giving up.
pub const BROWSER_SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

/// How the person signs in.
pub enum SignIn<'a> {
    /// In a browser: the system browser (`odoo365_auth::SystemBrowser`), the desktop's
    /// opener, or a test that plays the person.
    Browser(&'a dyn Browser),
    /// On another device: `show` is called once with the URL and code to enter there.
    DeviceCode(Box<dyn FnOnce(&DeviceCodePrompt) + Send + 'a>),
}

impl std::fmt::Debug for SignIn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignIn::Browser(_) => "SignIn::Browser",
            SignIn::DeviceCode(_) => "SignIn::DeviceCode",
        })
    }
}

/// The result of a sign-in, without any token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedIn {
    pub profile: String,
    pub scopes: Vec<String>,
}

impl App {
    /// Signs a profile in to Microsoft and keeps the refresh token in the keychain.
    pub async fn login(&self, profile: &str, how: SignIn<'_>) -> Result<SignedIn, AppError> {
        let profile = self.profile(profile)?;
        let config = auth_config(&profile)?;
        let http = odoo365_auth::flow::http_client()?;
        // The wall clock at the edge: token lifetimes are real time.
        let now = chrono::Utc::now;
        let tokens = match how {
            SignIn::Browser(browser) => {
                odoo365_auth::sign_in_with_browser(
                    &config,
                    &http,
                    browser,
                    BROWSER_SIGN_IN_TIMEOUT,
                    now,
                )
                .await?
            }
            SignIn::DeviceCode(show) => {
                odoo365_auth::sign_in_with_device_code(
                    &config,
                    &http,
                    show,
                    tokio::time::sleep,
                    now,
                )
                .await?
            }
        };
        if tokens.refresh_token.is_none() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "Microsoft signed you in but gave no refresh token, so sync could not run \
                 unattended; the app registration must allow the offline_access permission. \
                 Nothing was saved.",
            ));
        }
        // Which mailbox signed in, asked with the new access token before anything is
        // saved: a profile with links stays bound to the mailbox they pair with.
        let graph = graph_client(
            &profile,
            Arc::new(StaticToken::new(tokens.access_token.expose().to_string())),
        )?;
        let mailbox = crate::connect::mailbox_address(&graph).await?;
        self.bind_mailbox(&profile, &mailbox)?;
        token_source(&profile, self.keychain.clone())?
            .store(&tokens)
            .await?;
        self.set_marker(&profile.id, crate::status::SIGN_IN_NEEDED, None)?;
        // A kept session (this process's or the daemon's) holds the previous sign-in's
        // tokens and mailbox: the marker makes every process connect again.
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.set_marker(&profile.id, crate::connect::SIGNED_IN_AT, Some(&at))?;
        self.forget_session(&profile.id);
        self.set_marker(&profile.id, crate::signout::SIGNED_OUT, None)?;
        tracing::info!(profile = %profile.name, "signed in to Microsoft");
        Ok(SignedIn {
            profile: profile.name,
            scopes: tokens.scopes,
        })
    }
}
