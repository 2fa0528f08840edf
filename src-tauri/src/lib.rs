//! The Odoo365 Sync desktop app: a thin Tauri 2 shell over `odoo365-app`. It owns the tray,
//! the windows and the commands the front end calls; each command is a few lines that call
//! the app API. No sync logic lives here.

mod commands;
pub mod tray;

use std::sync::Mutex;

use odoo365_app::App;
use tauri::{Manager, RunEvent, Runtime, WebviewUrl, WebviewWindowBuilder};

/// What the shell keeps between commands.
pub struct Shell {
    pub app: Mutex<App>,
}

/// The label of the main window.
pub const MAIN_WINDOW: &str = "main";

/// Registers state and commands on a builder; shared by the real app and the tests.
pub fn with_shell<R: Runtime>(builder: tauri::Builder<R>, app: App) -> tauri::Builder<R> {
    builder
        .manage(Shell {
            app: Mutex::new(app),
        })
        .invoke_handler(tauri::generate_handler![commands::list_profiles])
}

/// Shows the main window, creating it if it was closed (a closed window is destroyed to
/// give the webview's memory back while the app waits in the tray).
pub fn show_main_window<R: Runtime>(handle: &tauri::AppHandle<R>) -> tauri::Result<()> {
    if let Some(w) = handle.get_webview_window(MAIN_WINDOW) {
        w.show()?;
        w.set_focus()?;
        return Ok(());
    }
    let config = handle
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN_WINDOW)
        .cloned();
    let window = match config {
        Some(cfg) => WebviewWindowBuilder::from_config(handle, &cfg)?.build()?,
        None => WebviewWindowBuilder::new(handle, MAIN_WINDOW, WebviewUrl::default())
            .title("Odoo365 Sync")
            .build()?,
    };
    window.set_focus()?;
    Ok(())
}

/// The one command-line option of the desktop app: `--data-dir DIR` (tests and several
/// installs side by side). Everything else is configured in the app.
fn data_dir_from_args(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<std::path::PathBuf>, String> {
    let mut dir = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data-dir" => match args.next() {
                Some(d) => dir = Some(d.into()),
                None => return Err("--data-dir needs a directory".into()),
            },
            other => match other.strip_prefix("--data-dir=") {
                Some(d) => dir = Some(d.into()),
                None => {
                    return Err(format!(
                        "unknown option {other:?}; the only option is --data-dir DIR"
                    ))
                }
            },
        }
    }
    Ok(dir)
}

/// Starts the desktop app and runs until Quit.
pub fn run() {
    // Keep the guard for the life of the process: it flushes the log on exit.
    let _log_guard =
        match odoo365_app::logging::init_rolling_files(&odoo365_app::logging::default_log_dir()) {
            Ok(guard) => Some(guard),
            Err(e) => {
                eprintln!("odoo365-desktop: {e}; logging to stderr instead");
                odoo365_app::logging::init_stderr();
                None
            }
        };
    let data_dir = match data_dir_from_args(std::env::args().skip(1)) {
        Ok(dir) => dir.unwrap_or_else(odoo365_app::default_data_dir),
        Err(e) => {
            eprintln!("odoo365-desktop: {e}");
            std::process::exit(2);
        }
    };
    let app = match App::open(&data_dir) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("odoo365-desktop: {e}");
            std::process::exit(1);
        }
    };
    // A second launch hands over to the first (which shows its window) and exits.
    let builder =
        tauri::Builder::default().plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Err(e) = show_main_window(app) {
                tracing::error!(error = %e, "cannot show the main window for a second launch");
            }
        }));
    let built = with_shell(builder, app)
        .setup(|app| {
            tray::install(app.handle())?;
            Ok(())
        })
        .build(tauri::generate_context!());
    let tauri_app = match built {
        Ok(a) => a,
        Err(e) => {
            eprintln!("odoo365-desktop: cannot start the desktop app: {e}");
            std::process::exit(1);
        }
    };
    tauri_app.run(|_handle, event| {
        // Closing the last window keeps the app in the tray; only Quit (an explicit exit
        // code) ends it.
        if let RunEvent::ExitRequested { api, code, .. } = event {
            if code.is_none() {
                api.prevent_exit();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
    use tauri::webview::InvokeRequest;

    fn invoke(w: &tauri::WebviewWindow<tauri::test::MockRuntime>, cmd: &str) -> serde_json::Value {
        get_ipc_response(
            w,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(serde_json::json!({})),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<serde_json::Value>().unwrap())
        .unwrap_or_else(|e| panic!("{cmd} failed: {e:?}"))
    }

    #[test]
    fn the_data_dir_option_is_read_and_anything_else_is_refused() {
        let args = |a: &[&str]| data_dir_from_args(a.iter().map(|s| s.to_string()));
        assert_eq!(args(&[]).unwrap(), None);
        assert_eq!(args(&["--data-dir", "/x"]).unwrap(), Some("/x".into()));
        assert_eq!(args(&["--data-dir=/y"]).unwrap(), Some("/y".into()));
        assert!(args(&["--data-dir"]).is_err());
        assert!(args(&["--verbose"]).unwrap_err().contains("--verbose"));
    }

    #[test]
    fn the_front_end_lists_profiles_through_the_app_api() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path()).unwrap();
        app.add_profile(odoo365_app::ProfileDraft {
            name: "work".into(),
            tenant: "organizations".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            odoo_url: "https://acme.odoo.com".into(),
            odoo_database: "acme".into(),
            odoo_login: "alice@acme.example".into(),
            graph_url: None,
            identity_url: None,
        })
        .unwrap();
        let tauri_app = with_shell(mock_builder(), app)
            .build(tauri::generate_context!())
            .unwrap();
        let window = WebviewWindowBuilder::new(&tauri_app, MAIN_WINDOW, Default::default())
            .build()
            .unwrap();
        let listed = invoke(&window, "list_profiles");
        assert_eq!(listed[0]["name"], "work");
        assert_eq!(listed[0]["odoo_login"], "alice@acme.example");
    }
}
