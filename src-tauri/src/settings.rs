//! What only the desktop knows and `crates/app` does not keep yet: the app's settings
//! (`desktop-settings.json`) and what each profile syncs and how often
//! (`desktop-profiles.json`), both JSON files in the data directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use odoo365_app::{AppError, ErrorCode};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Both,
    OdooToMicrosoft,
    MicrosoftToOdoo,
}

/// What a profile syncs and how often (the wizard's later steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    pub calendar: bool,
    pub documents: bool,
    pub document_models: Vec<String>,
    pub direction: Direction,
    pub window_past_days: u32,
    pub window_future_days: u32,
    pub poll_interval_minutes: u32,
    pub webhook_url: Option<String>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            calendar: true,
            documents: false,
            document_models: Vec::new(),
            direction: Direction::Both,
            window_past_days: 30,
            window_future_days: 365,
            poll_interval_minutes: 15,
            webhook_url: None,
        }
    }
}

impl SyncSettings {
    /// Refuses settings the scheduler cannot honour, before anything is saved.
    pub fn validate(&self) -> Result<(), AppError> {
        let bad = |m: &str| Err(AppError::new(ErrorCode::InvalidInput, m));
        if !(1..=24 * 60).contains(&self.poll_interval_minutes) {
            return bad("the polling interval must be between 1 minute and 24 hours");
        }
        if self.window_past_days > 3650 || self.window_future_days > 3650 {
            return bad("the sync window reaches at most 10 years back or ahead");
        }
        if !self.calendar && !self.documents {
            return bad("choose at least one of calendar and documents to sync");
        }
        if let Some(url) = &self.webhook_url {
            if !url.starts_with("https://") {
                return bad("the public webhook URL must start with https://");
            }
        }
        Ok(())
    }
}

/// The desktop's two files in the data directory.
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

    /// A profile's sync settings; the defaults for a profile the CLI created.
    pub fn sync_settings(&self, profile_id: &str) -> Result<SyncSettings, AppError> {
        let all: BTreeMap<String, SyncSettings> = read_json(&self.dir.join(PROFILES_FILE))?;
        Ok(all.get(profile_id).cloned().unwrap_or_default())
    }

    pub fn set_sync_settings(
        &self,
        profile_id: &str,
        settings: Option<&SyncSettings>,
    ) -> Result<(), AppError> {
        let path = self.dir.join(PROFILES_FILE);
        let mut all: BTreeMap<String, SyncSettings> = read_json(&path)?;
        match settings {
            Some(s) => all.insert(profile_id.to_string(), s.clone()),
            None => all.remove(profile_id),
        };
        write_json(&path, &all)
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
    fn settings_and_sync_settings_round_trip_and_default_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let files = DesktopFiles::new(dir.path());
        assert_eq!(files.settings().unwrap(), Settings::default());
        let s = Settings {
            language: Language::De,
            ..Settings::default()
        };
        files.set_settings(&s).unwrap();
        assert_eq!(files.settings().unwrap(), s);
        let sync = SyncSettings {
            poll_interval_minutes: 5,
            ..SyncSettings::default()
        };
        files.set_sync_settings("p1", Some(&sync)).unwrap();
        assert_eq!(files.sync_settings("p1").unwrap(), sync);
        assert_eq!(files.sync_settings("p2").unwrap(), SyncSettings::default());
        files.set_sync_settings("p1", None).unwrap();
        assert_eq!(files.sync_settings("p1").unwrap(), SyncSettings::default());
    }

    #[test]
    fn impossible_sync_settings_are_refused() {
        let zero = SyncSettings {
            poll_interval_minutes: 0,
            ..SyncSettings::default()
        };
        assert_eq!(zero.validate().unwrap_err().code, ErrorCode::InvalidInput);
        let http = SyncSettings {
            webhook_url: Some("http://x".into()),
            ..SyncSettings::default()
        };
        assert_eq!(http.validate().unwrap_err().code, ErrorCode::InvalidInput);
        assert!(SyncSettings::default().validate().is_ok());
    }
}
