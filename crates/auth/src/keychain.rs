//! The keychain port and its implementations: the OS store through `keyring` (Secret
//! Service on Linux, Keychain on macOS, Credential Manager on Windows) and an in-memory one
//! for tests.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::Secret;

/// The service name every entry is filed under in the OS store.
pub const SERVICE: &str = "odoo365-sync";

/// Which secret of a profile an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    MicrosoftRefreshToken,
    OdooApiKey,
    ClientSecret,
    WebhookClientState,
}

impl SecretKind {
    fn slug(self) -> &'static str {
        match self {
            SecretKind::MicrosoftRefreshToken => "ms-refresh-token",
            SecretKind::OdooApiKey => "odoo-api-key",
            SecretKind::ClientSecret => "client-secret",
            SecretKind::WebhookClientState => "webhook-client-state",
        }
    }

    /// The account name of the entry: `<profile id>/<kind>`.
    pub fn account(self, profile_id: &str) -> String {
        format!("{profile_id}/{}", self.slug())
    }
}

/// Why the keychain could not be used. The messages say what the user can do; they never
/// contain the secret.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    #[error(
        "the system keychain is locked or refused access; unlock it (for example by logging \
         in to the desktop session) and try again"
    )]
    Locked,
    #[error(
        "no system keychain is available (on Linux: no Secret Service such as gnome-keyring \
         or KeePassXC on the session bus); Odoo365 Sync keeps secrets only there"
    )]
    Unavailable,
    #[error("the system keychain failed: {0}")]
    Platform(String),
}

/// Where secrets live. Implementations block; call them off the async runtime's threads.
pub trait Keychain: Send + Sync {
    fn get(&self, profile_id: &str, kind: SecretKind) -> Result<Option<Secret>, KeychainError>;
    fn set(&self, profile_id: &str, kind: SecretKind, secret: &Secret)
        -> Result<(), KeychainError>;
    /// Removes the entry; removing a missing entry is not an error.
    fn delete(&self, profile_id: &str, kind: SecretKind) -> Result<(), KeychainError>;
}

/// The OS keychain through the `keyring` crate.
#[derive(Debug, Default)]
pub struct OsKeychain;

impl OsKeychain {
    fn entry(profile_id: &str, kind: SecretKind) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(SERVICE, &kind.account(profile_id)).map_err(map_err)
    }
}

fn map_err(e: keyring::Error) -> KeychainError {
    match e {
        keyring::Error::NoStorageAccess(_) => KeychainError::Locked,
        keyring::Error::PlatformFailure(_) => KeychainError::Unavailable,
        // Other variants describe arguments, not secrets, so their text is safe to show.
        other => KeychainError::Platform(other.to_string()),
    }
}

impl Keychain for OsKeychain {
    fn get(&self, profile_id: &str, kind: SecretKind) -> Result<Option<Secret>, KeychainError> {
        match Self::entry(profile_id, kind)?.get_password() {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn set(
        &self,
        profile_id: &str,
        kind: SecretKind,
        secret: &Secret,
    ) -> Result<(), KeychainError> {
        Self::entry(profile_id, kind)?
            .set_password(secret.expose())
            .map_err(map_err)
    }

    fn delete(&self, profile_id: &str, kind: SecretKind) -> Result<(), KeychainError> {
        match Self::entry(profile_id, kind)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }
}

/// An in-memory keychain for tests and simulations.
#[derive(Debug, Default)]
pub struct MemoryKeychain {
    entries: Mutex<HashMap<String, Secret>>,
}

impl MemoryKeychain {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Secret>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Keychain for MemoryKeychain {
    fn get(&self, profile_id: &str, kind: SecretKind) -> Result<Option<Secret>, KeychainError> {
        Ok(self.lock().get(&kind.account(profile_id)).cloned())
    }

    fn set(
        &self,
        profile_id: &str,
        kind: SecretKind,
        secret: &Secret,
    ) -> Result<(), KeychainError> {
        self.lock().insert(kind.account(profile_id), secret.clone());
        Ok(())
    }

    fn delete(&self, profile_id: &str, kind: SecretKind) -> Result<(), KeychainError> {
        self.lock().remove(&kind.account(profile_id));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(k: &dyn Keychain, profile: &str) {
        let s = Secret::new("fake-refresh-token-for-tests");
        k.delete(profile, SecretKind::MicrosoftRefreshToken)
            .unwrap();
        assert_eq!(
            k.get(profile, SecretKind::MicrosoftRefreshToken).unwrap(),
            None
        );
        k.set(profile, SecretKind::MicrosoftRefreshToken, &s)
            .unwrap();
        assert_eq!(
            k.get(profile, SecretKind::MicrosoftRefreshToken).unwrap(),
            Some(s)
        );
        assert_eq!(
            k.get(profile, SecretKind::OdooApiKey).unwrap(),
            None,
            "kinds are apart"
        );
        k.delete(profile, SecretKind::MicrosoftRefreshToken)
            .unwrap();
        k.delete(profile, SecretKind::MicrosoftRefreshToken)
            .unwrap();
        assert_eq!(
            k.get(profile, SecretKind::MicrosoftRefreshToken).unwrap(),
            None
        );
    }

    #[test]
    fn the_memory_keychain_stores_per_profile_and_kind() {
        round_trip(&MemoryKeychain::new(), "p1");
    }

    /// Needs a Secret Service on the session bus: `scripts/desktop-session.sh` starts an
    /// unlocked gnome-keyring. Inside `make test` or CI a missing one is a failure.
    #[test]
    fn the_os_keychain_round_trips_through_the_real_secret_service() {
        let in_harness = std::env::var_os("ODOO365_DESKTOP_SESSION").is_some();
        if !in_harness {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the tests inside scripts/desktop-session.sh"
            );
            eprintln!("skipped: no desktop session (run through scripts/desktop-session.sh)");
            return;
        }
        round_trip(&OsKeychain, &format!("test-{}", std::process::id()));
    }
}
