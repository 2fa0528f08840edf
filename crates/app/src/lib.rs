//! The composition root of Odoo365 Sync and the one API that both the CLI and the desktop
//! shell call: profiles, sign-in, sync now, status, plan preview, conflicts, activity.
//! It plugs the real clients (`graph`, `odoo`, `auth`) into the engine's ports.
//!
//! Invariants: nothing here is specific to a front end; errors carry a small [`ErrorCode`]
//! plus a message, so front ends never match on text.

pub mod error;
pub mod logging;
pub mod profile;

use std::path::{Path, PathBuf};

use odoo365_engine::Store;

pub use error::{AppError, ErrorCode};
pub use profile::{Profile, ProfileDraft};

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

/// An open installation: its data directory and store.
#[derive(Debug)]
pub struct App {
    data_dir: PathBuf,
    store: Store,
}

impl App {
    /// Opens (creating if needed) the installation in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<App, AppError> {
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
            store,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Validates and saves a new profile.
    pub fn add_profile(&self, draft: ProfileDraft) -> Result<Profile, AppError> {
        if self.store.profile(&draft.name)?.is_some() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("a profile named {:?} already exists", draft.name),
            ));
        }
        let profile = draft.validate()?;
        let json = serde_json::to_string(&profile)
            .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
        self.store
            .put_profile(&profile.id, &profile.name, &json, &profile.created_at)?;
        Ok(profile)
    }

    /// Every profile, by name.
    pub fn profiles(&self) -> Result<Vec<Profile>, AppError> {
        self.store
            .profiles()?
            .into_iter()
            .map(|(_, _, json)| Profile::from_json(&json))
            .collect()
    }

    /// One profile by id or name.
    pub fn profile(&self, id_or_name: &str) -> Result<Profile, AppError> {
        match self.store.profile(id_or_name)? {
            Some((_, _, json)) => Profile::from_json(&json),
            None => Err(AppError::new(
                ErrorCode::NotFound,
                format!("no profile named {id_or_name:?}; `odoo365 profile list` shows them"),
            )),
        }
    }

    /// Removes a profile and its sync state (its secrets are removed by the caller that
    /// holds the keychain).
    pub fn remove_profile(&self, id_or_name: &str) -> Result<Profile, AppError> {
        let profile = self.profile(id_or_name)?;
        self.store.delete_profile(&profile.id)?;
        Ok(profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(name: &str) -> ProfileDraft {
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

    #[test]
    fn profiles_persist_across_reopening_and_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        {
            let app = App::open(dir.path()).unwrap();
            app.add_profile(draft("work")).unwrap();
            let again = app.add_profile(draft("work")).unwrap_err();
            assert_eq!(again.code, ErrorCode::InvalidInput);
        }
        let app = App::open(dir.path()).unwrap();
        let all = app.profiles().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(app.profile("work").unwrap().id, all[0].id);
        app.remove_profile("work").unwrap();
        assert_eq!(app.profile("work").unwrap_err().code, ErrorCode::NotFound);
    }
}
