//! The tray icon: one icon for the state of all profiles together, and its menu.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Runtime};

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

    pub fn tooltip(self) -> &'static str {
        match self {
            TrayState::Idle => "Odoo365 Sync: up to date",
            TrayState::Syncing => "Odoo365 Sync: syncing…",
            TrayState::Paused => "Odoo365 Sync: paused",
            TrayState::Attention => "Odoo365 Sync: a decision is waiting for you",
            TrayState::Error => "Odoo365 Sync: needs attention (error or sign-in)",
        }
    }

    /// The state shown for several profiles: the most urgent one.
    pub fn combine(states: impl IntoIterator<Item = TrayState>) -> TrayState {
        states.into_iter().max().unwrap_or(TrayState::Idle)
    }
}

/// Creates the tray icon and its menu. (On Linux, tray hosts deliver only menu events, so
/// "Open" is in the menu rather than on a left click alone.)
pub fn install<R: Runtime>(handle: &AppHandle<R>) -> tauri::Result<()> {
    let open = MenuItem::with_id(handle, "open", "Open Odoo365 Sync", true, None::<&str>)?;
    let quit = MenuItem::with_id(handle, "quit", "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(handle)?;
    let menu = Menu::with_items(handle, &[&open, &separator, &quit])?;
    let state = TrayState::Idle;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(state.icon_png())?)
        .tooltip(state.tooltip())
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => {
                if let Err(e) = crate::show_main_window(app) {
                    tracing::error!(error = %e, "cannot open the main window");
                }
            }
            "quit" => app.exit(0),
            _ => {}
        })
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

/// Shows `state` on the tray icon.
pub fn set_state<R: Runtime>(handle: &AppHandle<R>, state: TrayState) -> tauri::Result<()> {
    if let Some(tray) = handle.tray_by_id(TRAY_ID) {
        tray.set_icon(Some(Image::from_bytes(state.icon_png())?))?;
        tray.set_tooltip(Some(state.tooltip()))?;
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
}
