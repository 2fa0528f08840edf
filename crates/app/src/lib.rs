//! The composition root of Odoo365 Sync and the one API that both the CLI and the desktop
//! shell call: profiles, sign-in, the Odoo connection test, sync now, status, plan preview,
//! conflicts, activity, restore and reset. It plugs the real clients (`graph`, `odoo`,
//! `auth`) into the engine's ports.
//!
//! Invariants:
//! - nothing here is specific to a front end; errors carry a small [`ErrorCode`] plus a
//!   message that says what happens next, so front ends never match on text;
//! - secrets (the Odoo API key, refresh tokens) live only in the [`Keychain`]: never in the
//!   store, the profile JSON, logs or error messages. Removing a profile removes its
//!   keychain entries first.

pub mod activity;
pub mod conflicts;
pub mod connect;
pub mod error;
pub mod file_ports;
pub mod files;
pub mod logging;
pub mod ports;
pub mod profile;
pub mod restore;
pub mod settings;
pub mod signin;
pub mod signout;
pub mod status;
pub mod sync;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use odoo365_auth::{Keychain, OsKeychain, Secret, SecretKind};
use odoo365_engine::{Clock, Store, SystemClock};

pub use activity::{Activity, ActivityLine};
pub use conflicts::{ConflictView, KeepSide, Resolution};
pub use connect::OdooCheck;
pub use error::{AppError, ErrorCode};
pub use odoo365_auth as auth;
pub use odoo365_auth::{Browser, DeviceCodePrompt, SystemBrowser};
pub use odoo365_engine::webhook::{Mode as WebhookMode, WebhookStatus};
pub use odoo365_odoo::KeyExpiry;
pub use profile::{Profile, ProfileDraft};
pub use restore::{JournalLine, Restored};
pub use settings::{Direction, DriveTarget, OdooDeletePolicy, SyncSettings};
pub use signin::{SignIn, SignedIn};
pub use signout::SignedOut;
pub use status::{Status, KEY_EXPIRY_WARNING};
pub use sync::{ResetReport, SyncResult};
pub use webhooks::{Wake, Webhooks, SETTINGS_CHECK};

/// Every kind of secret a profile may have, for removal.
const SECRET_KINDS: [SecretKind; 4] = [
    SecretKind::MicrosoftRefreshToken,
    SecretKind::OdooApiKey,
    SecretKind::ClientSecret,
    SecretKind::WebhookClientState,
];

/// Where an installation keeps its data unless told otherwise: `$ODOO365_DATA_DIR`, else
/// `$XDG_DATA_HOME/odoo365-sync`, else `~/.local/share/odoo365-sync`.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ODOO365_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("odoo365-sync")
}

/// An open installation: its data directory, store, keychain and clock.
pub struct App {
    data_dir: PathBuf,
    store: Mutex<Store>,
    keychain: Arc<dyn Keychain>,
    clock: Arc<dyn Clock>,
    /// Each profile's connected clients, kept between its cycles (`connect::Session`).
    sessions: Mutex<std::collections::HashMap<String, Arc<connect::Session>>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Opens (creating if needed) the installation in `data_dir`, with secrets in the OS
    /// keychain.
    pub fn open(data_dir: &Path) -> Result<App, AppError> {
        Self::open_with(data_dir, Arc::new(OsKeychain), Arc::new(SystemClock))
    }

    /// Opens an installation with another keychain and clock (tests, simulation).
    pub fn open_with(
        data_dir: &Path,
        keychain: Arc<dyn Keychain>,
        clock: Arc<dyn Clock>,
    ) -> Result<App, AppError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                format!(
                    "cannot create the data directory {}: {e}",
                    data_dir.display()
                ),
            )
        })?;
        let store = Store::open(&data_dir.join("sync.db"))?;
        Ok(App {
            data_dir: data_dir.to_path_buf(),
            store: Mutex::new(store),
            keychain,
            clock,
            sessions: Mutex::default(),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn keychain(&self) -> Arc<dyn Keychain> {
        self.keychain.clone()
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the store leaves SQLite consistent (transactions roll back).
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Validates and saves a new profile without an Odoo API key (the desktop wizard adds
    /// the key with [`App::set_odoo_api_key`] once the connection test passed).
    pub fn add_profile(&self, draft: ProfileDraft) -> Result<Profile, AppError> {
        let store = self.store();
        if store.profile(draft.name.trim())?.is_some() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("a profile named {:?} already exists", draft.name.trim()),
            ));
        }
        let profile = draft.validate()?;
        let json = serde_json::to_string(&profile).map_err(AppError::internal)?;
        store.put_profile(&profile.id, &profile.name, &json, &profile.created_at)?;
        Ok(profile)
    }

    /// Validates and saves a new profile with its Odoo API key, which goes to the keychain
    /// (the profile is not saved when the keychain refuses it).
    pub fn add_profile_with_api_key(
        &self,
        draft: ProfileDraft,
        api_key: &Secret,
    ) -> Result<Profile, AppError> {
        self.add_profile_with_settings(draft, api_key, SyncSettings::default())
    }

    /// [`App::add_profile_with_api_key`] with sync settings other than the defaults.
    pub fn add_profile_with_settings(
        &self,
        draft: ProfileDraft,
        api_key: &Secret,
        settings: SyncSettings,
    ) -> Result<Profile, AppError> {
        check_api_key(api_key)?;
        let mut profile = draft.validate()?;
        profile.settings = settings.validate()?;
        if self.store().profile(&profile.name)?.is_some() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("a profile named {:?} already exists", profile.name),
            ));
        }
        self.keychain
            .set(&profile.id, SecretKind::OdooApiKey, api_key)?;
        let json = serde_json::to_string(&profile).map_err(AppError::internal)?;
        if let Err(e) =
            self.store()
                .put_profile(&profile.id, &profile.name, &json, &profile.created_at)
        {
            // Leave no orphan secret behind.
            let _ = self.keychain.delete(&profile.id, SecretKind::OdooApiKey);
            return Err(e.into());
        }
        Ok(profile)
    }

    /// Replaces a profile's Odoo API key in the keychain.
    pub fn set_odoo_api_key(&self, profile: &str, api_key: &Secret) -> Result<Profile, AppError> {
        check_api_key(api_key)?;
        let profile = self.profile(profile)?;
        self.keychain
            .set(&profile.id, SecretKind::OdooApiKey, api_key)?;
        // The old key's expiry says nothing about the new one; the next connect tells.
        self.set_marker(&profile.id, status::ODOO_KEY_EXPIRY, None)?;
        Ok(profile)
    }

    /// Replaces a profile's sync settings (validated first; nothing is saved when they are
    /// refused). The next cycle runs with them.
    pub fn set_sync_settings(
        &self,
        profile: &str,
        settings: SyncSettings,
    ) -> Result<Profile, AppError> {
        let mut profile = self.profile(profile)?;
        profile.settings = settings.validate()?;
        let json = serde_json::to_string(&profile).map_err(AppError::internal)?;
        self.store()
            .put_profile(&profile.id, &profile.name, &json, &profile.created_at)?;
        Ok(profile)
    }

    /// Every profile, by name.
    pub fn profiles(&self) -> Result<Vec<Profile>, AppError> {
        self.store()
            .profiles()?
            .into_iter()
            .map(|(_, _, json)| Profile::from_json(&json))
            .collect()
    }

    /// One profile by id or name.
    pub fn profile(&self, id_or_name: &str) -> Result<Profile, AppError> {
        match self.store().profile(id_or_name)? {
            Some((_, _, json)) => Profile::from_json(&json),
            None => Err(AppError::new(
                ErrorCode::NotFound,
                format!("no profile named {id_or_name:?}; `odoo365 profile list` shows them"),
            )),
        }
    }

    /// The profile to act on: the named one, or the only one there is.
    pub fn resolve_profile(&self, id_or_name: Option<&str>) -> Result<Profile, AppError> {
        if let Some(p) = id_or_name {
            return self.profile(p);
        }
        let mut all = self.profiles()?;
        match all.len() {
            1 => Ok(all.remove(0)),
            0 => Err(AppError::new(
                ErrorCode::NotFound,
                "there is no profile yet; add one with `odoo365 profile add`",
            )),
            _ => Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "there are {} profiles; name one with --profile ({})",
                    all.len(),
                    all.iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Removes a profile: first its keychain entries (the profile is kept when the keychain
    /// refuses, so no secret is left behind unreachable), then its sync state.
    pub fn remove_profile(&self, id_or_name: &str) -> Result<Profile, AppError> {
        let profile = self.profile(id_or_name)?;
        for kind in SECRET_KINDS {
            self.keychain.delete(&profile.id, kind).map_err(|e| {
                AppError::new(
                    ErrorCode::Keychain,
                    format!(
                        "{e}; the profile {:?} was kept so that its secrets can still be \
                         removed: try again once the keychain is available",
                        profile.name
                    ),
                )
            })?;
        }
        self.store().delete_profile(&profile.id)?;
        self.forget_session(&profile.id);
        Ok(profile)
    }

    /// Tests the Odoo connection of a saved profile with its saved API key.
    pub async fn check_odoo(&self, profile: &str) -> Result<OdooCheck, AppError> {
        let profile = self.profile(profile)?;
        let key = connect::odoo_api_key(self.keychain.as_ref(), &profile)?;
        let check = connect::check_odoo(&profile, &key, self.now()).await?;
        self.note_key_expiry(&profile.id, &check.key_expiry)?;
        Ok(check)
    }

    /// Tests an Odoo connection before anything is saved (the wizard's "Test" button).
    pub async fn check_odoo_draft(
        draft: ProfileDraft,
        api_key: &Secret,
    ) -> Result<OdooCheck, AppError> {
        check_api_key(api_key)?;
        let profile = draft.validate()?;
        // No app (and so no app clock) before the profile is saved: the wall clock judges
        // which keys are already expired.
        connect::check_odoo(&profile, api_key, chrono::Utc::now()).await
    }
}

fn check_api_key(api_key: &Secret) -> Result<(), AppError> {
    let k = api_key.expose();
    if k.trim().is_empty() || k.trim() != k || k.chars().any(char::is_control) {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            "the Odoo API key is empty or has spaces around it; copy it again from Odoo \
             (Preferences → Account Security → New API Key)",
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use odoo365_auth::MemoryKeychain;

    pub(crate) fn draft(name: &str) -> ProfileDraft {
        ProfileDraft {
            name: name.into(),
            tenant: "organizations".into(),
            client_id: "00000000-0000-0000-0000-000000000001".into(),
            odoo_url: "https://example.odoo.com".into(),
            odoo_database: "example".into(),
            odoo_login: "alice@example.com".into(),
            graph_url: None,
            identity_url: None,
        }
    }

    pub(crate) fn app(dir: &Path) -> (App, Arc<MemoryKeychain>) {
        let keychain = Arc::new(MemoryKeychain::new());
        let clock = odoo365_engine::ManualClock::new(
            chrono::DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let app = App::open_with(dir, keychain.clone(), Arc::new(clock)).unwrap();
        (app, keychain)
    }

    #[test]
    fn profiles_persist_across_reopening_and_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (app, _) = app(dir.path());
            app.add_profile(draft("work")).unwrap();
            let again = app.add_profile(draft("work")).unwrap_err();
            assert_eq!(again.code, ErrorCode::InvalidInput);
        }
        let (app, _) = app(dir.path());
        let all = app.profiles().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(app.profile("work").unwrap().id, all[0].id);
        app.remove_profile("work").unwrap();
        assert_eq!(app.profile("work").unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn the_api_key_goes_to_the_keychain_only_and_leaves_with_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let (app, keychain) = app(dir.path());
        let key = Secret::new("5ecret-odoo-api-key-0123456789abcdef");
        let p = app.add_profile_with_api_key(draft("work"), &key).unwrap();
        assert_eq!(
            keychain.get(&p.id, SecretKind::OdooApiKey).unwrap(),
            Some(key.clone())
        );
        keychain
            .set(&p.id, SecretKind::MicrosoftRefreshToken, &Secret::new("rt"))
            .unwrap();
        drop(app);
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(key.expose()), "the key reached the disk");
        }
        let app = App::open_with(dir.path(), keychain.clone(), Arc::new(SystemClock)).unwrap();
        app.remove_profile("work").unwrap();
        for kind in SECRET_KINDS {
            assert_eq!(keychain.get(&p.id, kind).unwrap(), None, "{kind:?}");
        }
    }

    #[test]
    fn a_blank_api_key_is_refused_before_anything_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _) = app(dir.path());
        let e = app
            .add_profile_with_api_key(draft("work"), &Secret::new(" key "))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(app.profiles().unwrap().is_empty());
    }

    /// A keychain that refuses everything, as a locked one does.
    struct LockedKeychain;
    impl Keychain for LockedKeychain {
        fn get(
            &self,
            _: &str,
            _: SecretKind,
        ) -> Result<Option<Secret>, odoo365_auth::KeychainError> {
            Err(odoo365_auth::KeychainError::Locked)
        }
        fn set(
            &self,
            _: &str,
            _: SecretKind,
            _: &Secret,
        ) -> Result<(), odoo365_auth::KeychainError> {
            Err(odoo365_auth::KeychainError::Locked)
        }
        fn delete(&self, _: &str, _: SecretKind) -> Result<(), odoo365_auth::KeychainError> {
            Err(odoo365_auth::KeychainError::Locked)
        }
    }

    #[test]
    fn a_locked_keychain_saves_no_profile_and_removes_none() {
        let dir = tempfile::tempdir().unwrap();
        let app =
            App::open_with(dir.path(), Arc::new(LockedKeychain), Arc::new(SystemClock)).unwrap();
        let e = app
            .add_profile_with_api_key(draft("work"), &Secret::new("k"))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Keychain);
        assert!(app.profiles().unwrap().is_empty());
        app.add_profile(draft("work")).unwrap();
        let e = app.remove_profile("work").unwrap_err();
        assert_eq!(e.code, ErrorCode::Keychain);
        assert!(e.message.contains("was kept"), "{}", e.message);
        assert!(app.profile("work").is_ok());
    }

    #[test]
    fn the_only_profile_is_the_default_and_several_need_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _) = app(dir.path());
        assert_eq!(
            app.resolve_profile(None).unwrap_err().code,
            ErrorCode::NotFound
        );
        app.add_profile(draft("work")).unwrap();
        assert_eq!(app.resolve_profile(None).unwrap().name, "work");
        app.add_profile(draft("home")).unwrap();
        let e = app.resolve_profile(None).unwrap_err();
        assert!(e.message.contains("home, work"), "{}", e.message);
        assert_eq!(app.resolve_profile(Some("home")).unwrap().name, "home");
    }
}
