//! The tray icon: one icon for the state of all profiles together, and its menu.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Runtime};

use crate::settings::Language;

/// The tray's words in one language (placeholders: `{n}`, `{t}`, `{code}`).
#[derive(Debug)]
pub struct Words {
    pub idle: &'static str,
    pub syncing: &'static str,
    pub paused: &'static str,
    pub attention: &'static str,
    pub error: &'static str,
    pub last_sync: &'static str,
    pub not_synced: &'static str,
    pub sign_in_needed: &'static str,
    pub key_needed: &'static str,
    pub error_code: &'static str,
    pub conflicts_to_decide: &'static str,
    pub plan_waits: &'static str,
    pub line_syncing: &'static str,
    pub paused_until: &'static str,
    pub line_paused: &'static str,
    pub synced_at: &'static str,
    pub line_not_synced: &'static str,
    pub sync_now: &'static str,
    pub pause_hour: &'static str,
    pub pause_forever: &'static str,
    pub resume: &'static str,
    pub no_account: &'static str,
    pub conflicts: &'static str,
    pub open: &'static str,
    pub quit: &'static str,
}

pub const EN: Words = Words {
    idle: "Odoo365 Sync: up to date",
    syncing: "Odoo365 Sync: syncing…",
    paused: "Odoo365 Sync: paused",
    attention: "Odoo365 Sync: a decision is waiting for you",
    error: "Odoo365 Sync: needs attention (error or sign-in)",
    last_sync: "Last sync: {t}",
    not_synced: "Not synced yet",
    sign_in_needed: "sign-in needed",
    key_needed: "Odoo API key needed",
    error_code: "error: {code}",
    conflicts_to_decide: "{n} conflict(s) to decide",
    plan_waits: "a plan waits for you",
    line_syncing: "syncing…",
    paused_until: "paused until {t}",
    line_paused: "paused",
    synced_at: "synced {t}",
    line_not_synced: "not synced yet",
    sync_now: "Sync now",
    pause_hour: "Pause for 1 hour",
    pause_forever: "Pause until resumed",
    resume: "Resume",
    no_account: "No account yet: add one…",
    conflicts: "Conflicts ({n})…",
    open: "Open Odoo365 Sync",
    quit: "Quit",
};

pub const DE: Words = Words {
    idle: "Odoo365 Sync: auf dem neuesten Stand",
    syncing: "Odoo365 Sync: synchronisiert…",
    paused: "Odoo365 Sync: pausiert",
    attention: "Odoo365 Sync: eine Entscheidung wartet auf Sie",
    error: "Odoo365 Sync: braucht Aufmerksamkeit (Fehler oder Anmeldung)",
    last_sync: "Letzte Synchronisierung: {t}",
    not_synced: "Noch nicht synchronisiert",
    sign_in_needed: "Anmeldung nötig",
    key_needed: "Odoo-API-Schlüssel nötig",
    error_code: "Fehler: {code}",
    conflicts_to_decide: "{n} Konflikt(e) zu entscheiden",
    plan_waits: "ein Plan wartet auf Sie",
    line_syncing: "synchronisiert…",
    paused_until: "pausiert bis {t}",
    line_paused: "pausiert",
    synced_at: "synchronisiert {t}",
    line_not_synced: "noch nicht synchronisiert",
    sync_now: "Jetzt synchronisieren",
    pause_hour: "1 Stunde pausieren",
    pause_forever: "Pausieren bis fortgesetzt",
    resume: "Fortsetzen",
    no_account: "Noch kein Konto: eines hinzufügen…",
    conflicts: "Konflikte ({n})…",
    open: "Odoo365 Sync öffnen",
    quit: "Beenden",
};

pub fn words(language: Language) -> &'static Words {
    match language {
        Language::En => &EN,
        Language::De => &DE,
    }
}

/// The tray's id, to find it again when the state changes.
pub const TRAY_ID: &str = "main";

/// What the tray icon says about all profiles together, most urgent last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TrayState {
    Idle,
    Syncing,
    Paused,
    /// A conflict or a guard waits for the user.
    Attention,
    /// An error persists or sign-in is needed.
    Error,
}

impl TrayState {
    /// The icon, at the 32 px size tray hosts scale from.
    pub fn icon_png(self) -> &'static [u8] {
        match self {
            TrayState::Idle => include_bytes!("../../icons/tray/idle-32.png"),
            TrayState::Syncing => include_bytes!("../../icons/tray/syncing-32.png"),
            TrayState::Paused => include_bytes!("../../icons/tray/paused-32.png"),
            TrayState::Attention => include_bytes!("../../icons/tray/attention-32.png"),
            TrayState::Error => include_bytes!("../../icons/tray/error-32.png"),
        }
    }

    pub fn tooltip(self, w: &Words) -> &'static str {
        match self {
            TrayState::Idle => w.idle,
            TrayState::Syncing => w.syncing,
            TrayState::Paused => w.paused,
            TrayState::Attention => w.attention,
            TrayState::Error => w.error,
        }
    }

    /// The state shown for several profiles: the most urgent one.
    pub fn combine(states: impl IntoIterator<Item = TrayState>) -> TrayState {
        states.into_iter().max().unwrap_or(TrayState::Idle)
    }
}

/// One profile's line in the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileLine {
    pub id: String,
    pub name: String,
    pub state: TrayState,
    /// Its status in a few words ("synced 14:02", "sign-in needed", "paused").
    pub text: String,
    pub open_conflicts: usize,
    pub paused: bool,
}

/// What the tray shows, gathered from the app's status and the workers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraySnapshot {
    pub profiles: Vec<ProfileLine>,
    /// The most recent successful sync of any profile, already formatted.
    pub last_sync: Option<String>,
    pub language: Language,
}

impl TraySnapshot {
    pub fn state(&self) -> TrayState {
        TrayState::combine(self.profiles.iter().map(|p| p.state))
    }

    pub fn tooltip(&self) -> String {
        let w = words(self.language);
        let head = self.state().tooltip(w);
        match &self.last_sync {
            Some(t) => format!("{head}\n{}", w.last_sync.replace("{t}", t)),
            None => format!("{head}\n{}", w.not_synced),
        }
    }

    pub fn conflicts(&self) -> usize {
        self.profiles.iter().map(|p| p.open_conflicts).sum()
    }

    /// The profile whose conflicts the "Conflicts (n)" item opens: the first with any.
    pub fn first_conflict_profile(&self) -> Option<&str> {
        self.profiles
            .iter()
            .find(|p| p.open_conflicts > 0)
            .map(|p| p.id.as_str())
    }
}

/// The state and words of one profile, from its status and its worker.
pub fn profile_line(
    id: &str,
    status: &odoo365_app::Status,
    syncing: bool,
    pause: Option<crate::scheduler::Pause>,
    w: &Words,
) -> ProfileLine {
    use crate::scheduler::Pause;
    let local = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono::Local).format("%H:%M").to_string()
    };
    let (state, text) = if status.sign_in_needed {
        (TrayState::Error, w.sign_in_needed.to_string())
    } else if !status.odoo_api_key_saved {
        (TrayState::Error, w.key_needed.to_string())
    } else if let Some(e) = &status.last_error {
        (TrayState::Error, w.error_code.replace("{code}", &e.code))
    } else if status.open_conflicts > 0 {
        (
            TrayState::Attention,
            w.conflicts_to_decide
                .replace("{n}", &status.open_conflicts.to_string()),
        )
    } else if status.plan_waiting_for_confirmation {
        (TrayState::Attention, w.plan_waits.to_string())
    } else if syncing {
        (TrayState::Syncing, w.line_syncing.to_string())
    } else if let Some(p) = pause {
        let text = match p {
            Pause::Until(t) => w.paused_until.replace("{t}", &local(t)),
            Pause::UntilResumed => w.line_paused.to_string(),
        };
        (TrayState::Paused, text)
    } else if let Some(t) = status.last_sync_at {
        (TrayState::Idle, w.synced_at.replace("{t}", &local(t)))
    } else {
        (TrayState::Idle, w.line_not_synced.to_string())
    };
    ProfileLine {
        id: id.to_string(),
        name: status.profile.clone(),
        state,
        text,
        open_conflicts: status.open_conflicts,
        paused: pause.is_some(),
    }
}

/// One entry of the tray menu, as plain data (built and tested without a display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuEntry {
    Item {
        id: String,
        label: String,
        enabled: bool,
    },
    Separator,
}

fn item(id: &str, label: impl Into<String>, enabled: bool) -> MenuEntry {
    MenuEntry::Item {
        id: id.to_string(),
        label: label.into(),
        enabled,
    }
}

/// The menu for a snapshot: Sync now, Pause / Resume, one line per profile, Conflicts (n)
/// when any, Open, Quit.
pub fn menu_model(s: &TraySnapshot) -> Vec<MenuEntry> {
    let any = !s.profiles.is_empty();
    let all_paused = any && s.profiles.iter().all(|p| p.paused);
    let any_paused = s.profiles.iter().any(|p| p.paused);
    let w = words(s.language);
    let mut m = vec![item("sync_now", w.sync_now, any), MenuEntry::Separator];
    if !all_paused {
        m.push(item("pause_1h", w.pause_hour, any));
        m.push(item("pause", w.pause_forever, any));
    }
    if any_paused {
        m.push(item("resume", w.resume, true));
    }
    m.push(MenuEntry::Separator);
    if s.profiles.is_empty() {
        m.push(item("open", w.no_account, true));
    }
    for p in &s.profiles {
        m.push(item(
            &format!("profile:{}", p.id),
            format!("{}: {}", p.name, p.text),
            true,
        ));
    }
    let n = s.conflicts();
    if n > 0 {
        m.push(item(
            "conflicts",
            w.conflicts.replace("{n}", &n.to_string()),
            true,
        ));
    }
    m.push(MenuEntry::Separator);
    m.push(item("open", w.open, true));
    m.push(item("quit", w.quit, true));
    m
}

fn build_menu<R: Runtime>(handle: &AppHandle<R>, model: &[MenuEntry]) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(handle)?;
    for entry in model {
        match entry {
            MenuEntry::Item { id, label, enabled } => {
                menu.append(&MenuItem::with_id(
                    handle,
                    id.as_str(),
                    label,
                    *enabled,
                    None::<&str>,
                )?)?;
            }
            MenuEntry::Separator => menu.append(&PredefinedMenuItem::separator(handle)?)?,
        }
    }
    Ok(menu)
}

/// Creates the tray icon with the menu for `snapshot`. (On Linux, tray hosts deliver only
/// menu events, so "Open" is in the menu rather than on a left click alone.)
pub fn install<R: Runtime>(handle: &AppHandle<R>, snapshot: &TraySnapshot) -> tauri::Result<()> {
    let menu = build_menu(handle, &menu_model(snapshot))?;
    let state = snapshot.state();
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(state.icon_png())?)
        .tooltip(snapshot.tooltip())
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| crate::on_tray_menu(app, event.id().as_ref()))
        .on_tray_icon_event(|tray, event| {
            if let tauri::tray::TrayIconEvent::Click {
                button: tauri::tray::MouseButton::Left,
                button_state: tauri::tray::MouseButtonState::Up,
                ..
            } = event
            {
                let _ = crate::show_main_window(tray.app_handle());
            }
        })
        .build(handle)?;
    Ok(())
}

/// Shows `snapshot` on the tray: icon, tooltip, and the menu when `rebuild_menu`.
pub fn show<R: Runtime>(
    handle: &AppHandle<R>,
    snapshot: &TraySnapshot,
    rebuild_menu: bool,
) -> tauri::Result<()> {
    if let Some(tray) = handle.tray_by_id(TRAY_ID) {
        tray.set_icon(Some(Image::from_bytes(snapshot.state().icon_png())?))?;
        tray.set_tooltip(Some(snapshot.tooltip()))?;
        if rebuild_menu {
            tray.set_menu(Some(build_menu(handle, &menu_model(snapshot))?))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_urgent_profile_state_wins_and_every_icon_decodes() {
        use TrayState::*;
        assert_eq!(TrayState::combine([Idle, Attention, Syncing]), Attention);
        assert_eq!(TrayState::combine([Paused, Error]), Error);
        assert_eq!(TrayState::combine([]), Idle);
        for s in [Idle, Syncing, Paused, Attention, Error] {
            let img = Image::from_bytes(s.icon_png()).unwrap();
            assert_eq!((img.width(), img.height()), (32, 32), "{s:?}");
        }
    }

    fn line(id: &str, state: TrayState, conflicts: usize, paused: bool) -> ProfileLine {
        ProfileLine {
            id: id.into(),
            name: id.into(),
            state,
            text: format!("{state:?}"),
            open_conflicts: conflicts,
            paused,
        }
    }

    fn ids(model: &[MenuEntry]) -> Vec<String> {
        model
            .iter()
            .filter_map(|e| match e {
                MenuEntry::Item { id, .. } => Some(id.clone()),
                MenuEntry::Separator => None,
            })
            .collect()
    }

    fn label_of(model: &[MenuEntry], wanted: &str) -> Option<String> {
        model.iter().find_map(|e| match e {
            MenuEntry::Item { id, label, .. } if id == wanted => Some(label.clone()),
            _ => None,
        })
    }

    #[test]
    fn the_tray_menu_follows_pauses_conflicts_and_profile_states() {
        use TrayState::*;
        let mut s = TraySnapshot {
            profiles: vec![line("work", Idle, 0, false), line("home", Idle, 0, false)],
            last_sync: Some("14:02".into()),
            language: Language::En,
        };
        let m = menu_model(&s);
        assert_eq!(
            ids(&m),
            [
                "sync_now",
                "pause_1h",
                "pause",
                "profile:work",
                "profile:home",
                "open",
                "quit"
            ]
        );
        assert_eq!(label_of(&m, "profile:work").unwrap(), "work: Idle");
        assert!(s.tooltip().contains("Last sync: 14:02"));

        // A conflict appears: the item shows the count and the icon asks for attention.
        s.profiles[1] = line("home", Attention, 2, false);
        let m = menu_model(&s);
        assert_eq!(label_of(&m, "conflicts").unwrap(), "Conflicts (2)…");
        assert_eq!(label_of(&m, "profile:home").unwrap(), "home: Attention");
        assert_eq!(s.state(), Attention);
        assert_eq!(s.first_conflict_profile(), Some("home"));

        // One profile paused: both Pause and Resume; all paused: only Resume.
        s.profiles[0] = line("work", Paused, 0, true);
        let m = ids(&menu_model(&s));
        assert!(m.contains(&"pause".to_string()) && m.contains(&"resume".to_string()));
        s.profiles[1] = line("home", Paused, 0, true);
        let m = ids(&menu_model(&s));
        assert!(!m.contains(&"pause".to_string()) && m.contains(&"resume".to_string()));
        assert!(!m.contains(&"conflicts".to_string()));
        assert_eq!(s.state(), Paused);

        // No profile: nothing to sync or pause, and a way to add one.
        let empty = menu_model(&TraySnapshot::default());
        assert_eq!(
            empty[0],
            MenuEntry::Item {
                id: "sync_now".into(),
                label: "Sync now".into(),
                enabled: false
            }
        );
        assert!(TraySnapshot::default().tooltip().contains("Not synced yet"));

        // In German, every item and the tooltip switch language.
        s.language = Language::De;
        let m = menu_model(&s);
        assert_eq!(label_of(&m, "sync_now").unwrap(), "Jetzt synchronisieren");
        assert_eq!(label_of(&m, "resume").unwrap(), "Fortsetzen");
        assert_eq!(label_of(&m, "quit").unwrap(), "Beenden");
        assert!(
            s.tooltip().contains("Letzte Synchronisierung: 14:02"),
            "{}",
            s.tooltip()
        );
    }
}
