//! Sign-in for Odoo365 Sync: OAuth 2.0 against the Microsoft identity platform — the
//! authorization code flow with PKCE (S256) in the system browser and a one-shot loopback
//! redirect listener, the device code flow as the fallback — token refresh with rotated
//! refresh tokens persisted at once, and the [`Keychain`] port that holds every secret.
//!
//! Invariants: a secret is a [`Secret`], which never prints; secrets are stored only in the
//! keychain, never in SQLite, config files, logs or error messages; `invalid_grant` and
//! `interaction_required` surface as [`AuthError::SignInNeeded`], never as a silent stop.

pub mod browser;
pub mod config;
pub mod error;
pub mod flow;
pub mod keychain;
pub mod loopback;
pub mod secret;
pub mod tokens;

pub use browser::{Browser, SystemBrowser};
pub use config::{AuthConfig, GRAPH_SCOPES};
pub use error::AuthError;
pub use flow::{refresh, sign_in_with_browser, sign_in_with_device_code, DeviceCodePrompt};
pub use keychain::{Keychain, KeychainError, MemoryKeychain, OsKeychain, SecretKind};
pub use secret::Secret;
pub use tokens::{TokenSet, TokenSource};
