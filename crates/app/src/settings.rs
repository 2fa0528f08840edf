//! What a profile syncs and how: the calendar's window and conflict policy, the guards'
//! thresholds, documents (models, drive, root folder, direction), the polling interval and
//! the optional public webhook URL. Kept with the profile in the store, so the CLI and the
//! desktop read and change the same settings.
//!
//! Every field has a default (`#[serde(default)]`): a profile saved by an older version,
//! or a partial object from the UI, reads as the defaults for what it lacks.

use odoo365_engine::{EngineConfig, Guards};
use odoo365_sync_core::reconcile::Policy;
use serde::{Deserialize, Serialize};

use crate::{AppError, ErrorCode};

/// Which way changes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Both,
    OdooToMicrosoft,
    MicrosoftToOdoo,
}

/// Where documents go in Microsoft 365.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DriveTarget {
    /// The user's own OneDrive (`/me/drive`).
    #[default]
    MyOneDrive,
    /// A SharePoint document library (`/drives/{id}`).
    Library {
        drive_id: String,
        /// What the user picked it as ("Site / Library"), shown in the UI.
        #[serde(default)]
        label: String,
    },
}

/// What happens in Odoo when a synced file is deleted in OneDrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OdooDeletePolicy {
    /// The attachment is deleted too (its content stays in the restore journal).
    #[default]
    Delete,
    /// The attachment stays in Odoo and is no longer synced.
    Keep,
}

/// The models whose attachments sync unless the user picks others.
pub const DEFAULT_DOCUMENT_MODELS: [&str; 4] =
    ["sale.order", "account.move", "project.task", "crm.lead"];
pub const DEFAULT_ROOT_FOLDER: &str = "Odoo Sync";

/// A profile's sync settings. The field names are the desktop's command contract
/// (`ui/src/lib/api.ts`); new fields need a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncSettings {
    /// Sync the calendar.
    pub calendar: bool,
    /// Sync record attachments with OneDrive.
    pub documents: bool,
    /// The Odoo models whose records' attachments sync.
    pub document_models: Vec<String>,
    /// Which way changes flow, for the calendar and the documents alike. One-way: the
    /// source is the truth; the target's own edits and deletes are not sent back and the
    /// source's next change of the item overwrites them (journaled); items created on the
    /// target stay unlinked and are reported.
    pub direction: Direction,
    /// The calendar's sync window, in days before and after today.
    pub window_past_days: u32,
    pub window_future_days: u32,
    /// Delta polling interval when no webhook delivers changes.
    pub poll_interval_minutes: u32,
    /// A public https URL that forwards to the app's local webhook listener.
    pub webhook_url: Option<String>,
    /// How conflicts are decided.
    pub policy: Policy,
    /// The mass-change guard: pause a cycle that deletes or rewrites more than this many
    /// items, or more than `guard_max_percent` % of them.
    pub guard_max_changes: u32,
    pub guard_max_percent: u32,
    /// The attendee-impact guard: ask first when a cycle would mail attendees more than
    /// this many times.
    pub guard_max_mails: u32,
    /// Documents: the drive and the folder in it that holds `<model>/<record id>/`.
    pub drive: DriveTarget,
    pub root_folder: String,
    /// Documents: a file deleted in OneDrive deletes its attachment, or keeps it.
    pub odoo_delete_policy: OdooDeletePolicy,
}

impl Default for SyncSettings {
    fn default() -> Self {
        let guards = Guards::default();
        SyncSettings {
            calendar: true,
            documents: false,
            document_models: DEFAULT_DOCUMENT_MODELS.map(String::from).to_vec(),
            direction: Direction::Both,
            window_past_days: 90,
            window_future_days: 365,
            poll_interval_minutes: 15,
            webhook_url: None,
            policy: Policy::Ask,
            guard_max_changes: guards.mass_count as u32,
            guard_max_percent: (guards.mass_fraction * 100.0).round() as u32,
            guard_max_mails: guards.mail_threshold as u32,
            drive: DriveTarget::MyOneDrive,
            root_folder: DEFAULT_ROOT_FOLDER.to_string(),
            odoo_delete_policy: OdooDeletePolicy::Delete,
        }
    }
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidInput, message)
}

/// An Odoo model's technical name: lower-case words joined by dots or underscores.
fn is_model_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

impl SyncSettings {
    /// Checks every field and normalizes the ones with harmless variants (spaces, case,
    /// repeated models), so what is saved is what the engine runs with.
    pub fn validate(mut self) -> Result<SyncSettings, AppError> {
        if !(1..=24 * 60).contains(&self.poll_interval_minutes) {
            return Err(invalid(
                "the polling interval must be between 1 minute and 24 hours",
            ));
        }
        if self.window_past_days > 3650 || self.window_future_days > 3650 {
            return Err(invalid(
                "the sync window reaches at most 10 years (3650 days) back or ahead",
            ));
        }
        if self.window_past_days + self.window_future_days == 0 {
            return Err(invalid(
                "the sync window is empty: give it at least one day back or ahead",
            ));
        }
        if !self.calendar && !self.documents {
            return Err(invalid(
                "choose at least one of calendar and documents to sync",
            ));
        }
        if let Some(url) = self.webhook_url.take() {
            let url = url.trim().to_string();
            if !url.is_empty() {
                let parsed = url::Url::parse(&url)
                    .map_err(|e| invalid(format!("the webhook URL {url:?} is not a URL: {e}")))?;
                // Plain http only to this machine: the emulator and the demo, which Graph's
                // emulator accepts on loopback too.
                let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost"));
                if !(parsed.scheme() == "https" || parsed.scheme() == "http" && loopback)
                    || parsed.host().is_none()
                {
                    return Err(invalid(format!(
                        "the public webhook URL must be an https URL (Microsoft Graph delivers \
                         notifications only over https), not {url:?}"
                    )));
                }
                self.webhook_url = Some(url);
            }
        }
        if self.guard_max_changes == 0 {
            return Err(invalid(
                "the mass-change guard needs a threshold of at least 1 item",
            ));
        }
        if !(1..=100).contains(&self.guard_max_percent) {
            return Err(invalid(
                "the mass-change guard's share is a percentage from 1 to 100",
            ));
        }
        let mut models = Vec::new();
        for m in &self.document_models {
            let m = m.trim().to_string();
            if !is_model_name(&m) {
                return Err(invalid(format!(
                    "{m:?} is not an Odoo model's technical name (like sale.order)"
                )));
            }
            if !models.contains(&m) {
                models.push(m);
            }
        }
        if self.documents && models.is_empty() {
            return Err(invalid(
                "choose at least one Odoo model whose attachments sync",
            ));
        }
        self.document_models = models;
        let root = self.root_folder.trim().trim_matches('/').to_string();
        if root.is_empty()
            || root.len() > 200
            || root
                .chars()
                .any(|c| c.is_control() || "\"*:<>?\\|".contains(c))
            || root
                .split('/')
                .any(|seg| seg.trim().is_empty() || seg.ends_with('.'))
        {
            return Err(invalid(format!(
                "the documents folder {:?} cannot be a OneDrive folder: use letters, digits, \
                 spaces and / between folders, without \" * : < > ? \\ | or a trailing dot",
                self.root_folder
            )));
        }
        self.root_folder = root;
        if let DriveTarget::Library { drive_id, .. } = &self.drive {
            if drive_id.trim().is_empty() {
                return Err(invalid("pick a document library for the documents"));
            }
        }
        Ok(self)
    }

    /// The engine's configuration for these settings.
    pub fn engine_config(&self, profile_id: &str, me: &str) -> EngineConfig {
        let mut config = EngineConfig::new(profile_id, me);
        config.policy = self.policy;
        config.direction = match self.direction {
            Direction::Both => odoo365_sync_core::Direction::Both,
            Direction::OdooToMicrosoft => odoo365_sync_core::Direction::OdooToMicrosoft,
            Direction::MicrosoftToOdoo => odoo365_sync_core::Direction::MicrosoftToOdoo,
        };
        config.window_back = chrono::Duration::days(i64::from(self.window_past_days));
        config.window_ahead = chrono::Duration::days(i64::from(self.window_future_days));
        config.guards.mass_count = self.guard_max_changes as usize;
        config.guards.mass_fraction = f64::from(self.guard_max_percent) / 100.0;
        config.guards.mail_threshold = self.guard_max_mails as usize;
        config
    }

    /// Sets one setting from its name and a text value (`odoo365 profile set`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), AppError> {
        let value = value.trim();
        let number = |what: &str| -> Result<u32, AppError> {
            value
                .parse::<u32>()
                .map_err(|_| invalid(format!("{what} takes a whole number, not {value:?}")))
        };
        let flag = |what: &str| -> Result<bool, AppError> {
            match value {
                "true" | "yes" | "on" | "1" => Ok(true),
                "false" | "no" | "off" | "0" => Ok(false),
                _ => Err(invalid(format!(
                    "{what} takes true or false, not {value:?}"
                ))),
            }
        };
        match key {
            "calendar" => self.calendar = flag(key)?,
            "documents" => self.documents = flag(key)?,
            "document-models" | "models" => {
                self.document_models = value
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect()
            }
            "direction" => {
                self.direction = match value.replace('_', "-").as_str() {
                    "both" => Direction::Both,
                    "odoo-to-microsoft" | "odoo-to-outlook" => Direction::OdooToMicrosoft,
                    "microsoft-to-odoo" | "outlook-to-odoo" => Direction::MicrosoftToOdoo,
                    _ => {
                        return Err(invalid(format!(
                            "direction is both, odoo-to-microsoft or microsoft-to-odoo, not \
                             {value:?}"
                        )))
                    }
                }
            }
            "window-past-days" => self.window_past_days = number(key)?,
            "window-future-days" => self.window_future_days = number(key)?,
            "poll-interval-minutes" => self.poll_interval_minutes = number(key)?,
            "webhook-url" => {
                self.webhook_url = (!value.is_empty() && value != "none").then(|| value.into())
            }
            "policy" => {
                self.policy = serde_json::from_value(value.into()).map_err(|_| {
                    invalid(format!(
                        "policy is ask, odoo-wins, microsoft-wins or newest-wins, not {value:?}"
                    ))
                })?
            }
            "guard-max-changes" => self.guard_max_changes = number(key)?,
            "guard-max-percent" => self.guard_max_percent = number(key)?,
            "guard-max-mails" => self.guard_max_mails = number(key)?,
            "drive" => {
                self.drive = if value == "me" || value == "onedrive" {
                    DriveTarget::MyOneDrive
                } else {
                    DriveTarget::Library {
                        drive_id: value.to_string(),
                        label: String::new(),
                    }
                }
            }
            "root-folder" => self.root_folder = value.to_string(),
            "odoo-delete-policy" => {
                self.odoo_delete_policy = match value {
                    "delete" => OdooDeletePolicy::Delete,
                    "keep" => OdooDeletePolicy::Keep,
                    _ => {
                        return Err(invalid(format!(
                            "odoo-delete-policy is delete or keep, not {value:?}"
                        )))
                    }
                }
            }
            _ => {
                return Err(invalid(format!(
                    "there is no setting {key:?}; the settings are: {}",
                    SETTING_KEYS.join(", ")
                )))
            }
        }
        Ok(())
    }
}

/// The names `odoo365 profile set` takes.
pub const SETTING_KEYS: [&str; 16] = [
    "calendar",
    "documents",
    "document-models",
    "direction",
    "window-past-days",
    "window-future-days",
    "poll-interval-minutes",
    "webhook-url",
    "policy",
    "guard-max-changes",
    "guard-max-percent",
    "guard-max-mails",
    "drive",
    "root-folder",
    "odoo-delete-policy",
    "models",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_issue_and_pass_validation() {
        let s = SyncSettings::default().validate().unwrap();
        assert_eq!((s.window_past_days, s.window_future_days), (90, 365));
        assert_eq!(s.policy, Policy::Ask);
        assert_eq!(s.root_folder, "Odoo Sync");
        assert_eq!(s.document_models.len(), 4);
        let c = s.engine_config("p", "Me@Example.com");
        let d = EngineConfig::new("p", "me@example.com");
        assert_eq!(c, d, "the default settings are the engine's defaults");
    }

    #[test]
    fn a_partial_or_old_object_reads_as_defaults_for_what_it_lacks() {
        let s: SyncSettings =
            serde_json::from_str(r#"{"poll_interval_minutes": 5, "direction": "both"}"#).unwrap();
        assert_eq!(s.poll_interval_minutes, 5);
        assert_eq!(s.window_past_days, 90);
        assert_eq!(s.drive, DriveTarget::MyOneDrive);
    }

    #[test]
    fn impossible_settings_are_refused_with_the_reason() {
        let refused = |s: SyncSettings, needle: &str| {
            let e = s.validate().unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidInput);
            assert!(e.message.contains(needle), "{}", e.message);
        };
        let d = SyncSettings::default;
        refused(
            SyncSettings {
                poll_interval_minutes: 0,
                ..d()
            },
            "polling interval",
        );
        refused(
            SyncSettings {
                webhook_url: Some("http://example.com/hook".into()),
                ..d()
            },
            "https",
        );
        refused(
            SyncSettings {
                calendar: false,
                documents: false,
                ..d()
            },
            "at least one",
        );
        refused(
            SyncSettings {
                documents: true,
                document_models: vec!["Sale Order".into()],
                ..d()
            },
            "technical name",
        );
        refused(
            SyncSettings {
                root_folder: "Odoo: Sync".into(),
                ..d()
            },
            "OneDrive folder",
        );
        refused(
            SyncSettings {
                guard_max_percent: 0,
                ..d()
            },
            "percentage",
        );
        refused(
            SyncSettings {
                window_past_days: 0,
                window_future_days: 0,
                ..d()
            },
            "empty",
        );
    }

    #[test]
    fn validation_normalizes_harmless_variants() {
        let s = SyncSettings {
            documents: true,
            document_models: vec![" sale.order".into(), "sale.order".into(), "crm.lead".into()],
            root_folder: "/Odoo Sync/Work/".into(),
            webhook_url: Some("  ".into()),
            ..SyncSettings::default()
        }
        .validate()
        .unwrap();
        assert_eq!(s.document_models, ["sale.order", "crm.lead"]);
        assert_eq!(s.root_folder, "Odoo Sync/Work");
        assert_eq!(s.webhook_url, None);
    }

    #[test]
    fn the_calendar_engine_runs_in_the_profile_direction() {
        use odoo365_sync_core::Direction as Flow;
        let mut s = SyncSettings::default();
        assert_eq!(s.engine_config("p", "me@example.com").direction, Flow::Both);
        s.set("direction", "outlook-to-odoo").unwrap();
        assert_eq!(s.direction, Direction::MicrosoftToOdoo);
        assert_eq!(
            s.engine_config("p", "me@example.com").direction,
            Flow::MicrosoftToOdoo
        );
        s.set("direction", "odoo_to_microsoft").unwrap();
        assert_eq!(
            s.engine_config("p", "me@example.com").direction,
            Flow::OdooToMicrosoft
        );
        let err = s.set("direction", "sideways").unwrap_err();
        assert!(err.to_string().contains("sideways"), "{err}");
        assert_eq!(
            s.direction,
            Direction::OdooToMicrosoft,
            "a refused value changes nothing"
        );
    }

    #[test]
    fn settings_are_set_by_name_from_text() {
        let mut s = SyncSettings::default();
        s.set("policy", "newest-wins").unwrap();
        s.set("window-past-days", "30").unwrap();
        s.set("direction", "odoo-to-microsoft").unwrap();
        s.set("models", "sale.order, project.task").unwrap();
        s.set("drive", "b!abc").unwrap();
        s.set("webhook-url", "https://hooks.example.com/odoo365")
            .unwrap();
        assert_eq!(s.policy, Policy::NewestWins);
        assert_eq!(s.window_past_days, 30);
        assert_eq!(s.direction, Direction::OdooToMicrosoft);
        assert_eq!(s.document_models, ["sale.order", "project.task"]);
        assert!(
            matches!(s.drive, DriveTarget::Library { ref drive_id, .. } if drive_id == "b!abc")
        );
        let c = s.engine_config("p", "me@example.com");
        assert_eq!(c.policy, Policy::NewestWins);
        assert_eq!(c.window_back, chrono::Duration::days(30));
        for (k, v) in [
            ("policy", "sometimes"),
            ("window-past-days", "-1"),
            ("calendar", "maybe"),
            ("colour", "red"),
        ] {
            let e = s.set(k, v).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidInput, "{k}");
        }
        s.set("webhook-url", "none").unwrap();
        assert_eq!(s.webhook_url, None);
    }
}
