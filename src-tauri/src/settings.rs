//! What only the desktop knows: the app's settings (`desktop-settings.json` in the data
//! directory). What each profile syncs and how often lives with the profile in
//! `crates/app` ([`odoo365_app::SyncSettings`]); older versions kept it here in
//! `desktop-profiles.json`, which [`DesktopFiles::migrate_profile_settings`] moves over once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use odoo365_app::{App, AppError, ErrorCode, SyncSettings};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The app's settings (the Settings view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub start_at_login: bool,
    pub language: Language,
    pub notifications: NotificationPrefs,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            start_at_login: false,
            language: Language::En,
            notifications: NotificationPrefs::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    De,
}

/// Which kinds of notification the person wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationPrefs {
    pub conflicts: bool,
    pub guard_paused: bool,
    pub sign_in: bool,
    pub errors: bool,
    pub teams_meetings: bool,
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        NotificationPrefs {
            conflicts: true,
            guard_paused: true,
            sign_in: true,
            errors: true,
            teams_meetings: true,
        }
    }
}

/// The desktop's file in the data directory (and the one it used to keep).
#[derive(Debug, Clone)]
pub struct DesktopFiles {
    dir: PathBuf,
}

const SETTINGS_FILE: &str = "desktop-settings.json";
const PROFILES_FILE: &str = "desktop-profiles.json";

impl DesktopFiles {
    pub fn new(data_dir: &Path) -> Self {
        DesktopFiles {
            dir: data_dir.to_path_buf(),
        }
    }

    pub fn settings(&self) -> Result<Settings, AppError> {
        read_json(&self.dir.join(SETTINGS_FILE))
    }

    pub fn set_settings(&self, settings: &Settings) -> Result<(), AppError> {
        write_json(&self.dir.join(SETTINGS_FILE), settings)
    }

    /// Moves the per-profile settings an older version kept in `desktop-profiles.json`
    /// into the profiles, then renames the file to `desktop-profiles.json.migrated` (kept,
    /// not deleted, so nothing is lost if a value was refused). Entries of profiles that
    /// no longer exist are dropped; a refused entry keeps the profile's defaults and is
    /// reported.
    pub fn migrate_profile_settings(&self, app: &App) -> Result<Vec<String>, AppError> {
        let path = self.dir.join(PROFILES_FILE);
        if !path.exists() {
            return Ok(Vec::new());
        }
        let all: BTreeMap<String, serde_json::Value> = read_json(&path)?;
        let mut refused = Vec::new();
        for (id, value) in all {
            if app.profile(&id).is_err() {
                continue;
            }
            let applied = serde_json::from_value::<SyncSettings>(value)
                .map_err(|e| AppError::new(ErrorCode::InvalidInput, e.to_string()))
                .and_then(|s| app.set_sync_settings(&id, s));
            if let Err(e) = applied {
                refused.push(format!("profile {id}: {}", e.message));
            }
        }
        std::fs::rename(&path, path.with_extension("json.migrated")).map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                format!("cannot rename {}: {e}", path.display()),
            )
        })?;
        Ok(refused)
    }
}

fn read_json<T: DeserializeOwned + Default>(path: &Path) -> Result<T, AppError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                format!("{} is damaged ({e}); fix or delete it", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(AppError::new(
            ErrorCode::Storage,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), AppError> {
    let storage = |e: std::io::Error| {
        AppError::new(
            ErrorCode::Storage,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let json = serde_json::to_vec_pretty(value)
        .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(storage)?;
    std::fs::rename(&tmp, path).map_err(storage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_default_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let files = DesktopFiles::new(dir.path());
        assert_eq!(files.settings().unwrap(), Settings::default());
        let s = Settings {
            language: Language::De,
            ..Settings::default()
        };
        files.set_settings(&s).unwrap();
        assert_eq!(files.settings().unwrap(), s);
    }

    #[test]
    fn old_per_profile_settings_move_into_the_profiles_once() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open_with(
            dir.path(),
            std::sync::Arc::new(odoo365_app::auth::MemoryKeychain::new()),
            std::sync::Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap();
        let p = app.add_profile(crate::tests::draft("work")).unwrap();
        let q = app.add_profile(crate::tests::draft("home")).unwrap();
        let old = serde_json::json!({
            p.id.clone(): {"calendar": true, "documents": false, "document_models": [],
                "direction": "both", "window_past_days": 30, "window_future_days": 365,
                "poll_interval_minutes": 5, "webhook_url": null},
            q.id.clone(): {"poll_interval_minutes": 0},
            "gone": {"poll_interval_minutes": 7}
        });
        std::fs::write(dir.path().join(PROFILES_FILE), old.to_string()).unwrap();
        let files = DesktopFiles::new(dir.path());
        let refused = files.migrate_profile_settings(&app).unwrap();
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(refused[0].contains(&q.id) && refused[0].contains("polling interval"));
        let p = app.profile(&p.id).unwrap();
        assert_eq!(p.settings.poll_interval_minutes, 5);
        assert_eq!(p.settings.window_past_days, 30);
        assert_eq!(
            app.profile(&q.id).unwrap().settings,
            SyncSettings::default()
        );
        assert!(!dir.path().join(PROFILES_FILE).exists());
        assert!(dir.path().join("desktop-profiles.json.migrated").exists());
        assert!(files.migrate_profile_settings(&app).unwrap().is_empty());
    }
}
