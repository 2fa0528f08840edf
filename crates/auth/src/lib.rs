//! Sign-in for Odoo365 Sync: OAuth 2.0 against the Microsoft identity platform
//! (authorization code with PKCE on a loopback redirect, device code as the fallback), token
//! refresh, and the [`Keychain`] port that holds every secret.
//!
//! Invariants: a secret is a [`Secret`], which never prints; secrets are stored only in the
//! keychain, never in SQLite, config files, logs or error messages.

pub mod keychain;
pub mod pkce;
pub mod secret;

pub use keychain::{Keychain, KeychainError, MemoryKeychain, OsKeychain, SecretKind};
pub use pkce::Pkce;
pub use secret::Secret;
