//! Desktop notifications after background cycles: a conflict needs a decision, a guard
//! paused a cycle, sign-in is needed, an error persists. Coalesced: at most one per kind
//! per profile per ten minutes. The decision is pure (time is passed in); the shell sends
//! what it returns.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use odoo365_app::{AppError, ErrorCode, SyncResult};

use crate::settings::{Language, NotificationPrefs};

/// How long a kind of notification stays quiet for a profile after it was shown.
pub const QUIET_FOR: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    ConflictNeedsDecision,
    GuardPaused,
    SignInNeeded,
    ErrorPersists,
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
}

/// Remembers what was shown, and whether each profile's last cycle failed.
#[derive(Debug, Default)]
pub struct NoticeGate {
    shown: HashMap<(NoticeKind, String), DateTime<Utc>>,
    failed_before: HashMap<String, bool>,
}

impl NoticeGate {
    /// What to show after a cycle of `profile` (by name) ended with `result` at `now`.
    pub fn after_cycle(
        &mut self,
        profile: &str,
        result: &Result<SyncResult, AppError>,
        prefs: &NotificationPrefs,
        language: Language,
        now: DateTime<Utc>,
    ) -> Option<Notice> {
        let de = language == Language::De;
        let pick = |en: &str, german: &str| if de { german } else { en }.to_string();
        // Another process syncing the profile (the CLI's daemon) is no failure.
        if matches!(result, Err(e) if e.code == ErrorCode::Busy) {
            return None;
        }
        let failed_before = self
            .failed_before
            .insert(profile.to_string(), result.is_err())
            .unwrap_or(false);
        let (kind, wanted, title, body) = match result {
            Ok(r) if r.outcome == "paused" => (
                NoticeKind::GuardPaused,
                prefs.guard_paused,
                pick("Sync paused: please review", "Synchronisierung pausiert: bitte prüfen"),
                format!("{profile}: {}", r.summary),
            ),
            Ok(r) if r.open_conflicts > 0 => (
                NoticeKind::ConflictNeedsDecision,
                prefs.conflicts,
                pick(
                    "A conflict needs your decision",
                    "Ein Konflikt braucht Ihre Entscheidung",
                ),
                pick(
                    "{profile}: {n} conflict(s) wait; those items stay as they are until you decide",
                    "{profile}: {n} Konflikt(e) warten; diese Einträge bleiben bis zu Ihrer Entscheidung unverändert",
                )
                .replace("{profile}", profile)
                .replace("{n}", &r.open_conflicts.to_string()),
            ),
            Ok(_) => return None,
            Err(e) if e.code == ErrorCode::SignInNeeded => (
                NoticeKind::SignInNeeded,
                prefs.sign_in,
                pick("Sign-in needed", "Anmeldung nötig"),
                format!("{profile}: {}", e.message),
            ),
            // One failed cycle is often a passing network hiccup; the second in a row is
            // worth telling.
            Err(e) if failed_before => (
                NoticeKind::ErrorPersists,
                prefs.errors,
                pick("Sync keeps failing", "Synchronisierung schlägt weiter fehl"),
                format!("{profile}: {}", e.message),
            ),
            Err(_) => return None,
        };
        if !wanted {
            return None;
        }
        let key = (kind, profile.to_string());
        if self.shown.get(&key).is_some_and(|t| now - *t < QUIET_FOR) {
            return None;
        }
        self.shown.insert(key, now);
        Some(Notice { kind, title, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
            .unwrap()
            .to_utc()
            + chrono::Duration::minutes(minute)
    }

    fn failed(code: ErrorCode) -> Result<SyncResult, AppError> {
        Err(AppError::new(code, "it failed"))
    }

    #[test]
    fn one_notice_per_kind_and_profile_per_ten_minutes() {
        let mut gate = NoticeGate::default();
        let prefs = NotificationPrefs::default();
        let sign_in = failed(ErrorCode::SignInNeeded);
        let n = gate
            .after_cycle("work", &sign_in, &prefs, Language::En, at(0))
            .unwrap();
        assert_eq!(n.kind, NoticeKind::SignInNeeded);
        assert_eq!(
            gate.after_cycle("work", &sign_in, &prefs, Language::En, at(5)),
            None
        );
        assert_eq!(
            gate.after_cycle("work", &sign_in, &prefs, Language::En, at(9)),
            None
        );
        // Another profile is not held back by the first one.
        assert!(gate
            .after_cycle("home", &sign_in, &prefs, Language::En, at(9))
            .is_some());
        assert!(gate
            .after_cycle("work", &sign_in, &prefs, Language::En, at(10))
            .is_some());
    }

    #[test]
    fn an_error_is_told_when_it_persists_and_preferences_are_respected() {
        let mut gate = NoticeGate::default();
        let prefs = NotificationPrefs::default();
        let network = failed(ErrorCode::Network);
        assert_eq!(
            gate.after_cycle("work", &network, &prefs, Language::En, at(0)),
            None
        );
        let busy = failed(ErrorCode::Busy);
        assert_eq!(
            gate.after_cycle("work", &busy, &prefs, Language::En, at(0)),
            None
        );
        let n = gate
            .after_cycle("work", &network, &prefs, Language::En, at(1))
            .unwrap();
        assert_eq!(n.kind, NoticeKind::ErrorPersists);
        let quiet = NotificationPrefs {
            sign_in: false,
            ..NotificationPrefs::default()
        };
        let sign_in = failed(ErrorCode::SignInNeeded);
        assert_eq!(
            gate.after_cycle("home", &sign_in, &quiet, Language::En, at(0)),
            None
        );
    }

    #[test]
    fn a_paused_plan_and_an_open_conflict_each_get_their_notice() {
        let dir = tempfile::tempdir().unwrap();
        odoo365_app::App::open_with(
            dir.path(),
            std::sync::Arc::new(odoo365_app::auth::MemoryKeychain::new()),
            std::sync::Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap()
        .add_profile(crate::tests::draft("work"))
        .unwrap();
        let (paused, conflicted) = crate::tests::make_a_conflict(dir.path());
        let mut gate = NoticeGate::default();
        let prefs = NotificationPrefs::default();
        let n = gate
            .after_cycle("work", &Ok(paused), &prefs, Language::En, at(0))
            .unwrap();
        assert_eq!(n.kind, NoticeKind::GuardPaused);
        let conflicted = Ok(conflicted);
        let n = gate
            .after_cycle("work", &conflicted, &prefs, Language::En, at(1))
            .unwrap();
        assert_eq!(n.kind, NoticeKind::ConflictNeedsDecision);
        assert!(n.body.contains("1 conflict"), "{}", n.body);
        assert_eq!(
            gate.after_cycle("work", &conflicted, &prefs, Language::En, at(2)),
            None
        );
        let german = gate
            .after_cycle("home", &conflicted, &prefs, Language::De, at(2))
            .unwrap();
        assert_eq!(german.title, "Ein Konflikt braucht Ihre Entscheidung");
    }
}
