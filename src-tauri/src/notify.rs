//! Desktop notifications after background cycles: a conflict needs a decision, a guard
//! paused a cycle, sign-in is needed, the Odoo API key expires within 7 days, an error
//! persists, a Teams meeting was created.
//! Coalesced: at most one per kind per profile per ten minutes. The decision is pure (time
//! is passed in); the shell sends what it returns, and a click on a conflict's notice
//! opens the conflict popup ([`show`]).

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
    OdooKeyExpiring,
    ErrorPersists,
    TeamsMeetingCreated,
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
}

impl Notice {
    /// A click on it opens the conflict popup.
    pub fn opens_conflict(&self) -> bool {
        self.kind == NoticeKind::ConflictNeedsDecision
    }
}

/// The titles of the events a synced cycle had Outlook create a Teams meeting for: a
/// Microsoft write that asks for a Teams meeting with no join URL yet (Graph makes the
/// meeting on that write), minus the items whose write failed.
pub fn teams_meetings_created(result: &SyncResult) -> Vec<String> {
    use odoo365_sync_core::canonical::MeetingProvider;
    use odoo365_sync_core::{Op, Side};
    if result.outcome != "synced" {
        return Vec::new();
    }
    let failed: std::collections::HashSet<&str> = result
        .report
        .failed
        .iter()
        .map(|f| f.item.as_str())
        .collect();
    result
        .report
        .plan
        .entries
        .iter()
        .filter(|e| !failed.contains(e.key.as_str()))
        .flat_map(|e| e.decision.ops.iter())
        .filter_map(|op| match op {
            Op::Create {
                side: Side::Microsoft,
                event,
            }
            | Op::Update {
                side: Side::Microsoft,
                event,
                ..
            } => event
                .online_meeting
                .as_ref()
                .filter(|m| m.provider == MeetingProvider::TeamsForBusiness && m.join_url.is_none())
                .map(|_| event.title.clone()),
            _ => None,
        })
        .collect()
}

/// Remembers what was shown, and whether each profile's last cycle failed.
#[derive(Debug, Default)]
pub struct NoticeGate {
    shown: HashMap<(NoticeKind, String), DateTime<Utc>>,
    failed_before: HashMap<String, bool>,
}

impl NoticeGate {
    /// What to show after a cycle of `profile` (by name) ended with `result` at `now`: at
    /// most one notice about the cycle's state, and one about Teams meetings it created.
    pub fn after_cycle(
        &mut self,
        profile: &str,
        result: &Result<SyncResult, AppError>,
        prefs: &NotificationPrefs,
        language: Language,
        now: DateTime<Utc>,
    ) -> Vec<Notice> {
        let de = language == Language::De;
        let pick = |en: &str, german: &str| if de { german } else { en }.to_string();
        // Another process syncing the profile (the CLI's daemon) is no failure.
        if matches!(result, Err(e) if e.code == ErrorCode::Busy) {
            return Vec::new();
        }
        let failed_before = self
            .failed_before
            .insert(profile.to_string(), result.is_err())
            .unwrap_or(false);
        let mut candidates = Vec::new();
        match result {
            Ok(r) if r.outcome == "paused" => candidates.push((
                NoticeKind::GuardPaused,
                prefs.guard_paused,
                pick("Sync paused: please review", "Synchronisierung pausiert: bitte prüfen"),
                format!("{profile}: {}", r.summary),
            )),
            Ok(r) if r.open_conflicts > 0 => candidates.push((
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
            )),
            Ok(_) => {}
            Err(e) if e.code == ErrorCode::SignInNeeded => candidates.push((
                NoticeKind::SignInNeeded,
                prefs.sign_in,
                pick("Sign-in needed", "Anmeldung nötig"),
                format!("{profile}: {}", e.message),
            )),
            // One failed cycle is often a passing network hiccup; the second in a row is
            // worth telling.
            Err(e) if failed_before => candidates.push((
                NoticeKind::ErrorPersists,
                prefs.errors,
                pick("Sync keeps failing", "Synchronisierung schlägt weiter fehl"),
                format!("{profile}: {}", e.message),
            )),
            Err(_) => {}
        }
        if let Ok(r) = result {
            let titles = teams_meetings_created(r);
            if !titles.is_empty() {
                candidates.push((
                    NoticeKind::TeamsMeetingCreated,
                    prefs.teams_meetings,
                    pick("Teams meeting created", "Teams-Besprechung erstellt"),
                    format!("{profile}: {}", titles.join(", ")),
                ));
            }
        }
        self.let_through(profile, candidates, now)
    }

    /// A notice when the profile's Odoo API key expires within
    /// [`odoo365_app::KEY_EXPIRY_WARNING`] (`status.odoo_key_expires_soon`). It goes with
    /// the sign-in preference: both say a credential needs renewing.
    pub fn key_expiry(
        &mut self,
        profile: &str,
        status: &odoo365_app::Status,
        prefs: &NotificationPrefs,
        language: Language,
        now: DateTime<Utc>,
    ) -> Option<Notice> {
        let at = status
            .odoo_key_expiry
            .as_ref()
            .and_then(odoo365_app::KeyExpiry::expires_at)
            .filter(|_| status.odoo_key_expires_soon)?;
        let day = at.format("%Y-%m-%d %H:%M UTC").to_string();
        let (title, body) = if language == Language::De {
            (
                "Odoo-API-Schlüssel läuft bald ab",
                "{profile}: der Odoo-API-Schlüssel läuft am {day} ab; erstellen Sie in Odoo einen neuen Schlüssel und speichern Sie ihn im Profil",
            )
        } else {
            (
                "Odoo API key expires soon",
                "{profile}: the Odoo API key expires on {day}; create a new key in Odoo and save it in the profile",
            )
        };
        let body = body.replace("{profile}", profile).replace("{day}", &day);
        let candidate = (
            NoticeKind::OdooKeyExpiring,
            prefs.sign_in,
            title.to_string(),
            body,
        );
        self.let_through(profile, vec![candidate], now).pop()
    }

    /// The candidates the person wants and that were not shown for this profile in the
    /// last [`QUIET_FOR`]; remembers them as shown at `now`.
    fn let_through(
        &mut self,
        profile: &str,
        candidates: Vec<(NoticeKind, bool, String, String)>,
        now: DateTime<Utc>,
    ) -> Vec<Notice> {
        let mut out = Vec::new();
        for (kind, wanted, title, body) in candidates {
            if !wanted {
                continue;
            }
            let key = (kind, profile.to_string());
            if self.shown.get(&key).is_some_and(|t| now - *t < QUIET_FOR) {
                continue;
            }
            self.shown.insert(key, now);
            out.push(Notice { kind, title, body });
        }
        out
    }
}

/// Shows a notice on the desktop's notification daemon. `on_click` runs (on a thread of
/// its own) when the person clicks a notice that [`Notice::opens_conflict`]; the daemon
/// reports the click as the `default` action.
#[cfg(target_os = "linux")]
pub fn show(
    notice: &Notice,
    open_label: &str,
    on_click: impl FnOnce() + Send + 'static,
) -> Result<(), String> {
    let mut n = notify_rust::Notification::new();
    n.appname("Odoo365 Sync")
        .summary(&notice.title)
        .body(&notice.body);
    if notice.opens_conflict() {
        n.action("default", open_label);
    }
    let handle = n.show().map_err(|e| e.to_string())?;
    if notice.opens_conflict() {
        std::thread::Builder::new()
            .name("notice-click".into())
            .spawn(move || {
                handle.wait_for_action(|action| {
                    if action == "default" {
                        on_click();
                    }
                })
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(())
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
            .remove(0);
        assert_eq!(n.kind, NoticeKind::SignInNeeded);
        assert_eq!(
            gate.after_cycle("work", &sign_in, &prefs, Language::En, at(5)),
            vec![]
        );
        assert_eq!(
            gate.after_cycle("work", &sign_in, &prefs, Language::En, at(9)),
            vec![]
        );
        // Another profile is not held back by the first one.
        assert!(!gate
            .after_cycle("home", &sign_in, &prefs, Language::En, at(9))
            .is_empty());
        assert!(!gate
            .after_cycle("work", &sign_in, &prefs, Language::En, at(10))
            .is_empty());
    }

    #[test]
    fn an_expiring_odoo_key_is_told_once_per_ten_minutes_in_the_persons_language() {
        use odoo365_app::KeyExpiry;
        let dir = tempfile::tempdir().unwrap();
        let app = odoo365_app::App::open_with(
            dir.path(),
            std::sync::Arc::new(odoo365_app::auth::MemoryKeychain::new()),
            std::sync::Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap();
        app.add_profile(crate::tests::draft("work")).unwrap();
        let mut status = app.status("work").unwrap();
        let mut gate = NoticeGate::default();
        let prefs = NotificationPrefs::default();
        // No connection yet, or a key far from expiry: nothing to say.
        assert_eq!(
            gate.key_expiry("work", &status, &prefs, Language::En, at(0)),
            None
        );
        let expires = at(0) + chrono::Duration::days(5);
        status.odoo_key_expiry = Some(KeyExpiry::At { at: expires });
        assert_eq!(
            gate.key_expiry("work", &status, &prefs, Language::En, at(0)),
            None
        );
        status.odoo_key_expires_soon = true;
        let n = gate
            .key_expiry("work", &status, &prefs, Language::En, at(0))
            .unwrap();
        assert_eq!(n.kind, NoticeKind::OdooKeyExpiring);
        assert_eq!(n.title, "Odoo API key expires soon");
        assert!(n.body.contains("2026-11-28 08:00 UTC"), "{}", n.body);
        assert!(!n.opens_conflict());
        assert_eq!(
            gate.key_expiry("work", &status, &prefs, Language::En, at(9)),
            None
        );
        // Other kinds are not held back by it.
        assert!(!gate
            .after_cycle(
                "work",
                &failed(ErrorCode::SignInNeeded),
                &prefs,
                Language::En,
                at(9)
            )
            .is_empty());
        let again = gate
            .key_expiry("work", &status, &prefs, Language::De, at(10))
            .unwrap();
        assert_eq!(again.title, "Odoo-API-Schlüssel läuft bald ab");
        let quiet = NotificationPrefs {
            sign_in: false,
            ..NotificationPrefs::default()
        };
        assert_eq!(
            NoticeGate::default().key_expiry("work", &status, &quiet, Language::En, at(0)),
            None
        );
    }

    #[test]
    fn an_error_is_told_when_it_persists_and_preferences_are_respected() {
        let mut gate = NoticeGate::default();
        let prefs = NotificationPrefs::default();
        let network = failed(ErrorCode::Network);
        assert_eq!(
            gate.after_cycle("work", &network, &prefs, Language::En, at(0)),
            vec![]
        );
        let busy = failed(ErrorCode::Busy);
        assert_eq!(
            gate.after_cycle("work", &busy, &prefs, Language::En, at(0)),
            vec![]
        );
        let n = gate
            .after_cycle("work", &network, &prefs, Language::En, at(1))
            .remove(0);
        assert_eq!(n.kind, NoticeKind::ErrorPersists);
        let quiet = NotificationPrefs {
            sign_in: false,
            ..NotificationPrefs::default()
        };
        let sign_in = failed(ErrorCode::SignInNeeded);
        assert_eq!(
            gate.after_cycle("home", &sign_in, &quiet, Language::En, at(0)),
            vec![]
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
            .remove(0);
        assert_eq!(n.kind, NoticeKind::GuardPaused);
        let conflicted = Ok(conflicted);
        let n = gate
            .after_cycle("work", &conflicted, &prefs, Language::En, at(1))
            .remove(0);
        assert_eq!(n.kind, NoticeKind::ConflictNeedsDecision);
        assert!(n.body.contains("1 conflict"), "{}", n.body);
        assert_eq!(
            gate.after_cycle("work", &conflicted, &prefs, Language::En, at(2)),
            vec![]
        );
        let german = gate
            .after_cycle("home", &conflicted, &prefs, Language::De, at(2))
            .remove(0);
        assert_eq!(german.title, "Ein Konflikt braucht Ihre Entscheidung");
    }

    #[test]
    fn a_teams_meeting_a_cycle_created_gets_one_notice() {
        use chrono::TimeZone;
        use odoo365_engine::testing::{FakeGraph, FakeOdoo};
        const ME: &str = "me@example.com";
        let dir = tempfile::tempdir().unwrap();
        let clock =
            odoo365_engine::ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
        let app = odoo365_app::App::open_with(
            dir.path(),
            std::sync::Arc::new(odoo365_app::auth::MemoryKeychain::new()),
            std::sync::Arc::new(clock.clone()),
        )
        .unwrap();
        let profile = app.add_profile(crate::tests::draft("work")).unwrap();
        let (graph, odoo) = (FakeGraph::new(ME), FakeOdoo::new(ME));
        let sync = |confirm| {
            clock.advance(chrono::Duration::seconds(10));
            let engine = app
                .engine_with(
                    &profile,
                    ME,
                    std::sync::Arc::new(graph.clone()),
                    std::sync::Arc::new(odoo.clone()),
                )
                .unwrap();
            crate::scheduler::block_on(app.sync_with(&profile, engine, false, confirm))
                .unwrap()
                .unwrap()
        };
        let start = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        let plain =
            odoo365_sync_core::Event::timed("Lunch", start, start + chrono::Duration::hours(1))
                .normalized();
        odoo.user_create(&plain);
        sync(true);
        let review = odoo365_sync_core::Event::timed(
            "Design review",
            start + chrono::Duration::days(1),
            start + chrono::Duration::days(1) + chrono::Duration::hours(1),
        )
        .normalized();
        let oid = odoo.user_create(&review);
        odoo.user_write(oid, &serde_json::json!({"videocall_location": "teams"}));
        let made = sync(false);
        assert_eq!(
            teams_meetings_created(&made),
            vec!["Design review".to_string()],
            "{}",
            made.summary
        );
        let quiet = sync(false);
        assert!(
            teams_meetings_created(&quiet).is_empty(),
            "{}",
            quiet.summary
        );

        let mut gate = NoticeGate::default();
        let prefs = NotificationPrefs::default();
        let shown = gate.after_cycle("work", &Ok(made.clone()), &prefs, Language::En, at(0));
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].kind, NoticeKind::TeamsMeetingCreated);
        assert_eq!(shown[0].title, "Teams meeting created");
        assert!(shown[0].body.contains("Design review"), "{}", shown[0].body);
        assert!(!shown[0].opens_conflict());
        // Coalesced like every kind, and off when the person turned it off.
        assert!(gate
            .after_cycle("work", &Ok(made.clone()), &prefs, Language::En, at(3))
            .is_empty());
        let off = NotificationPrefs {
            teams_meetings: false,
            ..NotificationPrefs::default()
        };
        assert!(NoticeGate::default()
            .after_cycle("work", &Ok(made), &off, Language::En, at(0))
            .is_empty());
    }

    /// The real daemon of the headless desktop (dunst): the notice carries a default
    /// action, and `dunstctl action` (what a click does) reaches `on_click`.
    #[cfg(target_os = "linux")]
    #[test]
    fn clicking_a_conflict_notice_on_the_desktop_runs_its_action() {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            assert!(
                std::env::var_os("CI").is_none()
                    && std::env::var_os("ODOO365_DESKTOP_SESSION").is_none(),
                "notifications need the desktop session: run inside scripts/desktop-session.sh"
            );
            eprintln!("skipped: no session bus");
            return;
        }
        let notice = Notice {
            kind: NoticeKind::ConflictNeedsDecision,
            title: "A conflict needs your decision".into(),
            body: "work: 1 conflict(s) wait".into(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        show(&notice, "Open", move || {
            let _ = tx.send(());
        })
        .unwrap();
        let mut clicked = false;
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let out = std::process::Command::new("dunstctl")
                .args(["action", "0"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            if rx
                .recv_timeout(std::time::Duration::from_millis(200))
                .is_ok()
            {
                clicked = true;
                break;
            }
        }
        assert!(clicked, "the click never reached the app");
    }
}
