//! The Odoo365 Sync desktop app: a thin Tauri 2 shell over `odoo365-app`. It owns the tray,
//! the windows and the commands the front end calls; each command is a few lines that call
//! the app API. No sync logic lives here.

mod commands;
pub mod demo;
pub mod notify;
pub mod scheduler;
pub mod settings;
pub mod tray;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use odoo365_app::{App, AppError, Profile, SignedIn};
use tauri::{AppHandle, Manager, RunEvent, Runtime, WebviewUrl, WebviewWindowBuilder};

use scheduler::{Pause, Scheduler};
use settings::DesktopFiles;

/// What the shell keeps between commands.
pub struct Shell {
    pub app: Arc<App>,
    pub files: DesktopFiles,
    pub scheduler: Arc<Scheduler>,
    /// Device-code sign-ins waiting for the person, by profile id.
    device_codes:
        Mutex<HashMap<String, tokio::sync::oneshot::Receiver<Result<SignedIn, AppError>>>>,
    /// The last menu shown in the tray, to rebuild it only when it changes.
    tray_menu: Mutex<Option<Vec<tray::MenuEntry>>>,
    notices: Mutex<notify::NoticeGate>,
}

/// The label of the main window.
pub const MAIN_WINDOW: &str = "main";
/// How often the tray looks at the profiles without being told of a change.
const TRAY_REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// How long Quit waits for a running sync cycle to end.
const QUIT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The label of the conflict popup.
pub const CONFLICT_WINDOW: &str = "conflict";

/// Registers state and commands on a builder; shared by the real app and the tests.
pub fn with_shell<R: Runtime>(builder: tauri::Builder<R>, app: App) -> tauri::Builder<R> {
    let app = Arc::new(app);
    let files = DesktopFiles::new(app.data_dir());
    match files.migrate_profile_settings(&app) {
        Ok(refused) => refused
            .iter()
            .for_each(|r| tracing::warn!("an old sync setting was refused and not moved: {r}")),
        Err(e) => tracing::warn!("the old per-profile settings could not be moved: {e}"),
    }
    let scheduler = Arc::new(Scheduler::new(app.clone()));
    builder
        .manage(Shell {
            app,
            files,
            scheduler,
            device_codes: Mutex::new(HashMap::new()),
            tray_menu: Mutex::new(None),
            notices: Mutex::new(notify::NoticeGate::default()),
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_profiles,
            commands::add_profile,
            commands::check_odoo,
            commands::start_sign_in,
            commands::sign_out,
            commands::start_device_code,
            commands::finish_device_code,
            commands::remove_profile,
            commands::status,
            commands::sync_now,
            commands::pause,
            commands::resume,
            commands::preview_plan,
            commands::apply_plan,
            commands::cancel_plan,
            commands::activity,
            commands::journal,
            commands::retry_job,
            commands::restore,
            commands::conflicts,
            commands::conflict,
            commands::resolve_conflict,
            commands::get_settings,
            commands::set_settings,
            commands::sync_settings,
            commands::set_sync_settings,
        ])
}

/// Gathers what the tray shows from the app's status and the workers.
fn tray_snapshot(shell: &Shell) -> Result<tray::TraySnapshot, AppError> {
    let mut snapshot = tray::TraySnapshot {
        language: shell.files.settings().unwrap_or_default().language,
        ..tray::TraySnapshot::default()
    };
    let words = tray::words(snapshot.language);
    let mut last = None;
    for p in shell.app.profiles()? {
        let status = shell.app.status(&p.id)?;
        let worker = shell.scheduler.view(&p.id);
        last = last.max(status.last_sync_at);
        snapshot.profiles.push(tray::profile_line(
            &p.id,
            &status,
            worker.syncing,
            worker.pause,
            words,
        ));
    }
    snapshot.last_sync = last.map(|t| {
        t.with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    });
    Ok(snapshot)
}

/// Brings the tray up to date, off the calling thread (status reads the keychain).
pub fn refresh_tray<R: Runtime>(handle: &AppHandle<R>) {
    let handle = handle.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let Some(shell) = handle.try_state::<Shell>() else {
            return;
        };
        shell.scheduler.start_new();
        let snapshot = match tray_snapshot(&shell) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the status for the tray");
                return;
            }
        };
        let model = tray::menu_model(&snapshot);
        let rebuild = {
            let mut last = shell.tray_menu.lock().unwrap_or_else(|p| p.into_inner());
            let rebuild = last.as_ref() != Some(&model);
            *last = Some(model);
            rebuild
        };
        if let Err(e) = tray::show(&handle, &snapshot, rebuild) {
            tracing::warn!(error = %e, "cannot update the tray");
        }
    });
}

/// What the tray menu's items do.
pub(crate) fn on_tray_menu<R: Runtime>(handle: &AppHandle<R>, id: &str) {
    let shell = handle.state::<Shell>();
    let hour = chrono::Utc::now() + chrono::Duration::hours(1);
    let result = match id {
        "sync_now" => {
            shell.scheduler.wake(None);
            Ok(())
        }
        "pause_1h" => {
            shell.scheduler.pause(None, Some(Pause::Until(hour)));
            Ok(())
        }
        "pause" => {
            shell.scheduler.pause(None, Some(Pause::UntilResumed));
            Ok(())
        }
        "resume" => {
            shell.scheduler.pause(None, None);
            Ok(())
        }
        "conflicts" => {
            let first = tray_snapshot(&shell)
                .ok()
                .and_then(|s| s.first_conflict_profile().map(str::to_string));
            match first {
                Some(p) => open_conflict_window(handle, &p, None).map_err(|e| e.to_string()),
                None => Ok(()),
            }
        }
        "open" => show_main_window(handle).map_err(|e| e.to_string()),
        "quit" => {
            handle.exit(0);
            Ok(())
        }
        other if other.starts_with("profile:") => {
            show_main_window(handle).map_err(|e| e.to_string())
        }
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::error!(error = %e, item = id, "the tray menu item failed");
    }
    refresh_tray(handle);
}

/// The address of the conflict popup for a profile's conflict (its first open one
/// without `id`).
pub fn conflict_route(profile: &str, id: Option<i64>) -> String {
    match id {
        Some(id) => format!("index.html#/conflict/{profile}/{id}"),
        None => format!("index.html#/conflict/{profile}"),
    }
}

/// Opens the conflict popup (a native window), or shows the open one at this conflict.
pub fn open_conflict_window<R: Runtime>(
    handle: &AppHandle<R>,
    profile: &str,
    id: Option<i64>,
) -> tauri::Result<()> {
    let route = conflict_route(profile, id);
    if let Some(w) = handle.get_webview_window(CONFLICT_WINDOW) {
        let hash = route.trim_start_matches("index.html");
        w.eval(format!("window.location.hash = {hash:?}"))?;
        w.show()?;
        w.set_focus()?;
        return Ok(());
    }
    let window = WebviewWindowBuilder::new(handle, CONFLICT_WINDOW, WebviewUrl::App(route.into()))
        .title("Odoo365 Sync: conflict")
        .inner_size(720.0, 560.0)
        .min_inner_size(480.0, 360.0)
        .build()?;
    window.set_focus()?;
    Ok(())
}

/// After a background cycle: a notification when the gate lets one through.
fn after_cycle<R: Runtime>(
    handle: &AppHandle<R>,
    profile_id: &str,
    result: &Result<odoo365_app::SyncResult, AppError>,
) {
    let shell = handle.state::<Shell>();
    let name = shell
        .app
        .profile(profile_id)
        .map(|p| p.name)
        .unwrap_or_else(|_| profile_id.to_string());
    let settings = shell.files.settings().unwrap_or_default();
    let now = chrono::Utc::now();
    let status = shell.app.status(profile_id);
    let mut gate = shell.notices.lock().unwrap_or_else(|p| p.into_inner());
    let mut notices = gate.after_cycle(
        &name,
        result,
        &settings.notifications,
        settings.language,
        now,
    );
    match &status {
        Ok(status) => notices.extend(gate.key_expiry(
            &name,
            status,
            &settings.notifications,
            settings.language,
            now,
        )),
        Err(e) => tracing::warn!(error = %e, "cannot read the status for the key-expiry notice"),
    }
    drop(gate);
    // A new conflict brings its popup up (once per cycle that opened any).
    if let Ok(r) = result {
        if r.report.conflicts_opened > 0 {
            let handle = handle.clone();
            let profile = profile_id.to_string();
            let shown = handle.clone().run_on_main_thread(move || {
                if let Err(e) = open_conflict_window(&handle, &profile, None) {
                    tracing::warn!(error = %e, "cannot open the conflict popup");
                }
            });
            if let Err(e) = shown {
                tracing::warn!(error = %e, "cannot open the conflict popup");
            }
        }
    }
    for n in notices {
        show_notice(handle, profile_id, &n, settings.language);
    }
}

/// Sends a notice to the desktop; a click on a conflict's notice opens the popup.
fn show_notice<R: Runtime>(
    handle: &AppHandle<R>,
    profile_id: &str,
    n: &notify::Notice,
    language: settings::Language,
) {
    #[cfg(target_os = "linux")]
    let shown = {
        let open = tray::words(language).open;
        let (clicked, profile) = (handle.clone(), profile_id.to_string());
        notify::show(n, open, move || {
            let h = clicked.clone();
            let opened = clicked.run_on_main_thread(move || {
                if let Err(e) = open_conflict_window(&h, &profile, None) {
                    tracing::warn!(error = %e, "cannot open the conflict popup");
                }
            });
            if let Err(e) = opened {
                tracing::warn!(error = %e, "cannot open the conflict popup");
            }
        })
    };
    #[cfg(not(target_os = "linux"))]
    let shown = {
        use tauri_plugin_notification::NotificationExt;
        let _ = (profile_id, language);
        handle
            .notification()
            .builder()
            .title(&n.title)
            .body(&n.body)
            .show()
            .map_err(|e| e.to_string())
    };
    if let Err(e) = shown {
        tracing::warn!(error = %e, kind = ?n.kind, "cannot show a notification");
    }
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

/// The desktop app's command line: `--data-dir DIR` (tests and several installs side by
/// side) and `--demo SIM_LINE_FILE` (`make demo`). Everything else is configured in the app.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    data_dir: Option<std::path::PathBuf>,
    demo: Option<std::path::PathBuf>,
}

fn options_from_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options::default();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let slot = match name.as_str() {
            "--data-dir" => &mut opts.data_dir,
            "--demo" => &mut opts.demo,
            other => {
                return Err(format!(
                    "unknown option {other:?}; the options are --data-dir DIR and --demo FILE"
                ))
            }
        };
        match inline.or_else(|| args.next()) {
            Some(v) => *slot = Some(v.into()),
            None => return Err(format!("{name} needs a value")),
        }
    }
    Ok(opts)
}

/// `--demo FILE`: the sim's line is read and the demo profile made ready before the window
/// opens, so a failure (no keychain, no sim) is a sentence on stderr, not an empty window.
fn prepare_demo(app: &App, line_file: &std::path::Path) -> Result<Profile, String> {
    let line = std::fs::read_to_string(line_file).map_err(|e| {
        format!(
            "cannot read the sim's line from {}: {e}",
            line_file.display()
        )
    })?;
    let sim = demo::SimLine::parse(&line).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(demo::prepare(app, &sim))
        .map_err(|e| format!("the demo could not start: {e}"))
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
    let opts = match options_from_args(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("odoo365-desktop: {e}");
            std::process::exit(2);
        }
    };
    let data_dir = opts
        .data_dir
        .clone()
        .unwrap_or_else(odoo365_app::default_data_dir);
    let app = match App::open(&data_dir) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("odoo365-desktop: {e}");
            std::process::exit(1);
        }
    };
    let demo_profile = match opts.demo.as_deref().map(|f| prepare_demo(&app, f)) {
        None => None,
        Some(Ok(p)) => Some(p.id),
        Some(Err(e)) => {
            eprintln!("odoo365-desktop: {e}");
            std::process::exit(1);
        }
    };
    // A second launch hands over to the first (which shows its window) and exits.
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Err(e) = show_main_window(app) {
                tracing::error!(error = %e, "cannot show the main window for a second launch");
            }
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ));
    let paced = demo_profile.clone();
    let built = with_shell(builder, app)
        .setup(move |app| {
            let handle = app.handle().clone();
            let shell = handle.state::<Shell>();
            tray::install(&handle, &tray_snapshot(&shell).unwrap_or_default())?;
            let (on_cycle, on_change) = (handle.clone(), handle.clone());
            shell.scheduler.set_hooks(
                Arc::new(move |profile, result| after_cycle(&on_cycle, profile, result)),
                Arc::new(move || refresh_tray(&on_change)),
            );
            let looking = handle.clone();
            shell.scheduler.set_window_open(Arc::new(move || {
                looking.get_webview_window(MAIN_WINDOW).is_some()
                    || looking.get_webview_window(CONFLICT_WINDOW).is_some()
            }));
            if let Err(e) = shell.scheduler.start_all() {
                tracing::error!(error = %e, "cannot start background sync");
            }
            // Graph change notifications make a profile's next cycle due at once.
            let (hooked, notified) = (shell.app.clone(), shell.scheduler.clone());
            std::thread::Builder::new()
                .name("webhooks".into())
                .spawn(move || {
                    let waker = notified.clone();
                    let wake: odoo365_app::Wake = Arc::new(move |p: &str| waker.notified(p));
                    let served = notified.block_on(hooked.serve_webhooks(
                        None,
                        wake,
                        std::future::pending(),
                    ));
                    if let Err(e) = served.and_then(|r| r) {
                        tracing::error!(error = %e, "the webhook listener stopped");
                    }
                })?;
            if let Some(id) = paced {
                let pacing = handle.clone();
                std::thread::Builder::new()
                    .name("demo-pace".into())
                    .spawn(move || {
                        let until = std::time::Instant::now() + demo::PACED_FOR;
                        while std::time::Instant::now() < until {
                            std::thread::sleep(demo::PACE);
                            pacing.state::<Shell>().scheduler.wake(Some(&id));
                        }
                    })?;
            }
            // A look every minute: profiles the CLI added or removed, pauses that ended,
            // and the tooltip's times.
            let ticking = handle.clone();
            std::thread::Builder::new()
                .name("tray-refresh".into())
                .spawn(move || loop {
                    std::thread::sleep(TRAY_REFRESH);
                    refresh_tray(&ticking);
                })?;
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
    tauri_app.run(move |handle, event| match event {
        // Closing the last window keeps the app in the tray; only Quit (an explicit exit
        // code) ends it.
        RunEvent::ExitRequested { api, code, .. } if code.is_none() => api.prevent_exit(),
        // The demo leaves nothing behind in the person's keychain.
        RunEvent::Exit => {
            let shell = handle.state::<Shell>();
            // A running cycle may finish first, up to QUIT_WAIT; one cut after that resumes
            // from its durable queue at the next start.
            shell.scheduler.shutdown(QUIT_WAIT);
            if let Some(id) = &demo_profile {
                if let Err(e) = shell.app.remove_profile(id) {
                    eprintln!("odoo365-desktop: cannot remove the demo profile: {e}");
                }
            }
        }
        _ => {}
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
    use tauri::webview::InvokeRequest;
    use tauri::WebviewWindow;

    pub(crate) fn draft(name: &str) -> odoo365_app::ProfileDraft {
        odoo365_app::ProfileDraft {
            name: name.into(),
            tenant: "organizations".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            odoo_url: "https://acme.odoo.com".into(),
            odoo_database: "acme".into(),
            odoo_login: "alice@acme.example".into(),
            graph_url: None,
            identity_url: None,
        }
    }

    fn draft_json(name: &str) -> serde_json::Value {
        let d = draft(name);
        serde_json::json!({
            "name": d.name, "tenant": d.tenant, "client_id": d.client_id,
            "odoo_url": d.odoo_url, "odoo_database": d.odoo_database,
            "odoo_login": d.odoo_login, "graph_url": null, "identity_url": null,
        })
    }

    /// The command's result, or the `AppError` it failed with as JSON.
    fn call(
        w: &WebviewWindow<MockRuntime>,
        cmd: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        get_ipc_response(
            w,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<serde_json::Value>().unwrap())
    }

    fn invoke(
        w: &WebviewWindow<MockRuntime>,
        cmd: &str,
        args: serde_json::Value,
    ) -> serde_json::Value {
        call(w, cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e:?}"))
    }

    fn error_code(w: &WebviewWindow<MockRuntime>, cmd: &str, args: serde_json::Value) -> String {
        let e = call(w, cmd, args).expect_err(cmd);
        e["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{cmd}: {e}"))
            .to_string()
    }

    /// The shell over an installation with an in-memory keychain, and its main window.
    fn shell_with_profile(
        dir: &std::path::Path,
    ) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
        let app = App::open_with(
            dir,
            Arc::new(odoo365_app::auth::MemoryKeychain::new()),
            Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap();
        app.add_profile(draft("work")).unwrap();
        let tauri_app = with_shell(mock_builder(), app)
            .build(tauri::generate_context!())
            .unwrap();
        let window = WebviewWindowBuilder::new(&tauri_app, MAIN_WINDOW, Default::default())
            .build()
            .unwrap();
        (tauri_app, window)
    }

    /// `make bundle` is too slow for `make test`; this checks what it relies on.
    #[test]
    fn the_bundle_config_names_existing_icons_the_deb_dependencies_and_the_ui_build() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let bundle = &conf["bundle"];
        assert_eq!(bundle["active"], false, "plain builds do not bundle");
        let icons = bundle["icon"].as_array().unwrap();
        assert!(icons.len() >= 3);
        for icon in icons {
            let path = here.join(icon.as_str().unwrap());
            assert!(path.is_file(), "missing icon {}", path.display());
        }
        let depends = bundle["linux"]["deb"]["depends"].as_array().unwrap();
        assert!(
            depends.contains(&"libayatana-appindicator3-1".into()),
            "{depends:?}"
        );
        assert_eq!(conf["version"], env!("CARGO_PKG_VERSION"));
        // The Tauri CLI runs it from the repository root (src-tauri's parent).
        let before = conf["build"]["beforeBuildCommand"].as_str().unwrap();
        let ui = before
            .strip_prefix("npm --prefix ")
            .and_then(|r| r.strip_suffix(" run build"))
            .unwrap();
        assert!(
            here.join("..").join(ui).join("package.json").is_file(),
            "{before}"
        );
    }

    #[test]
    fn the_data_dir_and_demo_options_are_read_and_anything_else_is_refused() {
        let args = |a: &[&str]| options_from_args(a.iter().map(|s| s.to_string()));
        assert_eq!(args(&[]).unwrap(), Options::default());
        assert_eq!(
            args(&["--data-dir", "/x"]).unwrap().data_dir,
            Some("/x".into())
        );
        assert_eq!(
            args(&["--data-dir=/y"]).unwrap().data_dir,
            Some("/y".into())
        );
        let both = args(&["--demo", "/l.json", "--data-dir", "/d"]).unwrap();
        assert_eq!(both.demo, Some("/l.json".into()));
        assert_eq!(both.data_dir, Some("/d".into()));
        assert!(args(&["--data-dir"]).is_err());
        assert!(args(&["--demo"]).unwrap_err().contains("--demo"));
        assert!(args(&["--verbose"]).unwrap_err().contains("--verbose"));
    }

    #[test]
    fn the_front_end_lists_profiles_and_reads_their_status_through_the_app_api() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, w) = shell_with_profile(dir.path());
        let listed = invoke(&w, "list_profiles", serde_json::json!({}));
        assert_eq!(listed[0]["name"], "work");
        assert_eq!(listed[0]["odoo_login"], "alice@acme.example");
        let id = listed[0]["id"].as_str().unwrap().to_string();

        let status = invoke(&w, "status", serde_json::json!({"profile": "work"}));
        assert_eq!(status["id"], id.as_str());
        assert_eq!(status["profile"], "work");
        assert_eq!(status["sign_in_needed"], true);
        assert_eq!(status["mode"], "polling");
        assert!(status["mode_reason"]
            .as_str()
            .unwrap()
            .contains("no public webhook URL"));
        assert_eq!(
            (&status["syncing"], &status["paused"]),
            (&false.into(), &false.into())
        );
        assert_eq!(
            error_code(&w, "status", serde_json::json!({"profile": "nope"})),
            "not_found"
        );
    }

    #[test]
    fn a_pause_shows_in_the_status_until_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, w) = shell_with_profile(dir.path());
        invoke(
            &w,
            "pause",
            serde_json::json!({"profile": "work", "minutes": 60}),
        );
        let status = invoke(&w, "status", serde_json::json!({"profile": "work"}));
        assert_eq!(status["paused"], true);
        assert!(status["paused_until"].is_string(), "{status}");
        invoke(
            &w,
            "pause",
            serde_json::json!({"profile": null, "minutes": null}),
        );
        let status = invoke(&w, "status", serde_json::json!({"profile": "work"}));
        assert_eq!(
            (&status["paused"], &status["paused_until"]),
            (&true.into(), &serde_json::Value::Null)
        );
        invoke(&w, "resume", serde_json::json!({"profile": null}));
        let status = invoke(&w, "status", serde_json::json!({"profile": "work"}));
        assert_eq!(status["paused"], false);
        assert_eq!(
            error_code(
                &w,
                "pause",
                serde_json::json!({"profile": "work", "minutes": 0})
            ),
            "invalid_input"
        );
    }

    #[test]
    fn cancelling_a_paused_plan_writes_nothing_and_pauses_the_profile_until_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, w) = shell_with_profile(dir.path());
        invoke(&w, "cancel_plan", serde_json::json!({"profile": "work"}));
        let status = invoke(&w, "status", serde_json::json!({"profile": "work"}));
        assert_eq!(
            (&status["paused"], &status["paused_until"]),
            (&true.into(), &serde_json::Value::Null)
        );
        assert_eq!(
            error_code(&w, "cancel_plan", serde_json::json!({"profile": "nope"})),
            "not_found"
        );
    }

    #[test]
    fn activity_conflicts_and_resolve_answer_with_the_app_s_shapes_and_codes() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, w) = shell_with_profile(dir.path());
        let activity = invoke(
            &w,
            "activity",
            serde_json::json!({"profile": "work", "why": null}),
        );
        assert_eq!(activity["profile"], "work");
        assert!(activity["lines"].as_array().unwrap().is_empty());
        let journal = invoke(&w, "journal", serde_json::json!({"profile": "work"}));
        assert!(journal.as_array().unwrap().is_empty());
        let conflicts = invoke(&w, "conflicts", serde_json::json!({"profile": "work"}));
        assert_eq!(conflicts, serde_json::json!([]));
        assert_eq!(
            error_code(
                &w,
                "conflict",
                serde_json::json!({"profile": "work", "id": 7})
            ),
            "not_found"
        );
        let keep = serde_json::json!({"profile": "work", "id": 7, "resolution": {"keep": "odoo"}});
        assert_eq!(error_code(&w, "resolve_conflict", keep), "not_found");
        let both = serde_json::json!({"profile": "work", "id": 7, "resolution": "keep_both"});
        assert_eq!(error_code(&w, "resolve_conflict", both), "invalid_input");
        let junk = serde_json::json!({"profile": "work", "id": 7, "resolution": {"keep": "both"}});
        assert_eq!(error_code(&w, "resolve_conflict", junk), "invalid_input");
        assert_eq!(
            error_code(
                &w,
                "retry_job",
                serde_json::json!({"profile": "work", "job": 3})
            ),
            "not_found"
        );
    }

    #[test]
    fn add_profile_refuses_invalid_input_and_saves_a_valid_one_with_its_options() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, w) = shell_with_profile(dir.path());
        let options = serde_json::to_value(odoo365_app::SyncSettings::default()).unwrap();
        let mut bad = draft_json("");
        bad["odoo_url"] = "not a url".into();
        let args = serde_json::json!({"draft": bad, "key": "k-123", "options": options});
        assert_eq!(error_code(&w, "add_profile", args), "invalid_input");
        let blank_key =
            serde_json::json!({"draft": draft_json("home"), "key": " ", "options": options});
        assert_eq!(error_code(&w, "add_profile", blank_key), "invalid_input");
        let mut slow = options.clone();
        slow["poll_interval_minutes"] = 0.into();
        let no_interval =
            serde_json::json!({"draft": draft_json("home"), "key": "k-123", "options": slow});
        assert_eq!(error_code(&w, "add_profile", no_interval), "invalid_input");
        assert_eq!(
            invoke(&w, "list_profiles", serde_json::json!({}))
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let mut five = options.clone();
        five["poll_interval_minutes"] = 5.into();
        five["webhook_url"] = "https://hooks.example/odoo365".into();
        let ok = serde_json::json!({"draft": draft_json("home"), "key": "k-123", "options": five});
        let home = invoke(&w, "add_profile", ok);
        assert_eq!(home["name"], "home");
        let id = home["id"].as_str().unwrap();
        let settings = invoke(&w, "sync_settings", serde_json::json!({"profile": "home"}));
        assert_eq!(settings["poll_interval_minutes"], 5);
        let mut changed = settings.clone();
        changed["window_past_days"] = 7.into();
        let saved = invoke(
            &w,
            "set_sync_settings",
            serde_json::json!({"profile": "home", "settings": changed}),
        );
        assert_eq!(saved["settings"]["window_past_days"], 7);
        changed["root_folder"] = "a:b".into();
        assert_eq!(
            error_code(
                &w,
                "set_sync_settings",
                serde_json::json!({"profile": "home", "settings": changed}),
            ),
            "invalid_input"
        );
        let status = invoke(&w, "status", serde_json::json!({"profile": "home"}));
        assert_eq!(status["odoo_api_key_saved"], true);
        assert!(status["mode_reason"].is_string());

        let removed = invoke(&w, "remove_profile", serde_json::json!({"profile": "home"}));
        assert_eq!(removed["id"], id);
        assert_eq!(
            error_code(&w, "sync_settings", serde_json::json!({"profile": "home"})),
            "not_found"
        );
    }

    #[test]
    fn settings_are_kept_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, w) = shell_with_profile(dir.path());
        let mut s = invoke(&w, "get_settings", serde_json::json!({}));
        assert_eq!(s["language"], "en");
        s["language"] = "de".into();
        s["notifications"]["errors"] = false.into();
        let saved = invoke(&w, "set_settings", serde_json::json!({"settings": s}));
        assert_eq!(saved, s);
        assert_eq!(invoke(&w, "get_settings", serde_json::json!({})), s);
    }

    /// Syncs the profile "work" in `dir` over the engine's fake calendars until one conflict
    /// is open; returns the paused first cycle and the cycle that opened the conflict.
    pub(crate) fn make_a_conflict(
        dir: &std::path::Path,
    ) -> (odoo365_app::SyncResult, odoo365_app::SyncResult) {
        use chrono::TimeZone;
        use odoo365_engine::testing::{FakeGraph, FakeOdoo};
        const ME: &str = "me@example.com";
        let clock = odoo365_engine::ManualClock::new(
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
                .unwrap(),
        );
        let app = App::open_with(
            dir,
            Arc::new(odoo365_app::auth::MemoryKeychain::new()),
            Arc::new(clock.clone()),
        )
        .unwrap();
        let profile = app.profile("work").unwrap();
        let (graph, odoo) = (FakeGraph::new(ME), FakeOdoo::new(ME));
        let sync = |confirm| {
            clock.advance(chrono::Duration::seconds(10));
            let engine = app
                .engine_with(
                    &profile,
                    ME,
                    Arc::new(graph.clone()),
                    Arc::new(odoo.clone()),
                )
                .unwrap();
            scheduler::block_on(app.sync_with(&profile, engine, false, confirm))
                .unwrap()
                .unwrap()
        };
        let start = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
            .unwrap();
        let event =
            odoo365_sync_core::Event::timed("Board", start, start + chrono::Duration::hours(1))
                .normalized();
        let oid = odoo.user_create(&event);
        let first = sync(false);
        assert_eq!(first.outcome, "paused");
        sync(true);
        let gid = graph.titled("Board")[0]["id"].as_str().unwrap().to_string();
        odoo.user_write(oid, &serde_json::json!({"location": "Paris"}));
        graph.user_edit(&gid, |v| {
            v["location"] = serde_json::json!({"displayName": "Berlin"})
        });
        let conflicted = sync(false);
        assert_eq!(conflicted.open_conflicts, 1, "{}", conflicted.summary);
        (first, conflicted)
    }

    #[test]
    fn the_popup_reads_a_conflict_and_resolving_it_closes_it() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, w) = shell_with_profile(dir.path());
        make_a_conflict(dir.path());
        let open = invoke(&w, "conflicts", serde_json::json!({"profile": "work"}));
        assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
        let id = open[0]["id"].as_i64().unwrap();
        assert_eq!(open[0]["fields"], serde_json::json!(["location"]));
        let one = invoke(
            &w,
            "conflict",
            serde_json::json!({"profile": "work", "id": id}),
        );
        assert_eq!(one["open"], true);
        assert_eq!(one["title"], "Board");
        let status = invoke(&w, "status", serde_json::json!({"profile": "work"}));
        assert_eq!(status["open_conflicts"], 1);

        // A per-field choice must name every conflicting field.
        let partial =
            serde_json::json!({"profile": "work", "id": id, "resolution": {"fields": {}}});
        assert_eq!(error_code(&w, "resolve_conflict", partial), "invalid_input");
        let keep = serde_json::json!({"profile": "work", "id": id,
            "resolution": {"fields": {"location": "microsoft"}}});
        let resolved = invoke(&w, "resolve_conflict", keep);
        assert_eq!(resolved["open"], false);
        let open = invoke(&w, "conflicts", serde_json::json!({"profile": "work"}));
        assert_eq!(open, serde_json::json!([]));
    }

    #[test]
    fn the_tray_menu_reflects_the_app_s_status_as_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _w) = shell_with_profile(dir.path());
        let shell = app.state::<Shell>();
        let snapshot = tray_snapshot(&shell).unwrap();
        // Never signed in: the tray says so.
        assert_eq!(snapshot.state(), tray::TrayState::Error);
        assert_eq!(snapshot.profiles[0].text, "sign-in needed");
        assert!(!tray::menu_model(&snapshot)
            .iter()
            .any(|e| matches!(e, tray::MenuEntry::Item { id, .. } if id == "conflicts")));

        // A sync opens a conflict: the menu offers it with its count.
        make_a_conflict(dir.path());
        let snapshot = tray_snapshot(&shell).unwrap();
        assert_eq!(snapshot.conflicts(), 1);
        assert!(snapshot.last_sync.is_some());
        let id = snapshot.profiles[0].id.clone();
        assert_eq!(snapshot.first_conflict_profile(), Some(id.as_str()));
        assert!(
            tray::menu_model(&snapshot).contains(&tray::MenuEntry::Item {
                id: "conflicts".into(),
                label: "Conflicts (1)…".into(),
                enabled: true,
            })
        );

        // Paused: the line says so and the menu offers Resume instead of Pause.
        shell.scheduler.pause(None, None);
        shell
            .scheduler
            .pause(Some(&id), Some(scheduler::Pause::UntilResumed));
        let snapshot = tray_snapshot(&shell).unwrap();
        assert!(snapshot.profiles[0].paused);
        let ids: Vec<_> = tray::menu_model(&snapshot)
            .into_iter()
            .filter_map(|e| match e {
                tray::MenuEntry::Item { id, .. } => Some(id),
                tray::MenuEntry::Separator => None,
            })
            .collect();
        assert!(ids.contains(&"resume".to_string()) && !ids.contains(&"pause".to_string()));
    }

    /// A Graph emulator with Alice, started on `rt`, and the shell over a profile "work" in
    /// `dir` whose Microsoft side it is (its Odoo side is never reached; `key`, when given, is
    /// its Odoo API key), with the main window.
    fn shell_on_graph(
        rt: &tokio::runtime::Runtime,
        dir: &std::path::Path,
        config: odoo365_testkit::graph::GraphConfig,
        key: Option<&str>,
    ) -> (
        odoo365_testkit::graph::RunningGraph,
        tauri::App<MockRuntime>,
        WebviewWindow<MockRuntime>,
    ) {
        use odoo365_testkit::fixture::{ALICE, ALICE_NAME};
        use odoo365_testkit::graph::{DriveType, GraphEmulator};
        let graph = rt.block_on(GraphEmulator::start(config)).unwrap();
        graph
            .emulator
            .create_user(ALICE, ALICE_NAME, DriveType::Business);
        let app = App::open_with(
            dir,
            Arc::new(odoo365_app::auth::MemoryKeychain::new()),
            Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap();
        let draft = odoo365_app::ProfileDraft {
            graph_url: Some(graph.graph_url.clone()),
            identity_url: Some(graph.identity_url.clone()),
            ..draft("work")
        };
        match key {
            Some(k) => app.add_profile_with_api_key(draft, &odoo365_app::auth::Secret::new(k)),
            None => app.add_profile(draft),
        }
        .unwrap();
        let tauri_app = with_shell(mock_builder(), app)
            .build(tauri::generate_context!())
            .unwrap();
        let w = WebviewWindowBuilder::new(&tauri_app, MAIN_WINDOW, Default::default())
            .build()
            .unwrap();
        (graph, tauri_app, w)
    }

    #[test]
    fn device_code_sign_in_shows_the_code_at_once_and_finishes_when_it_was_entered() {
        use odoo365_testkit::graph::GraphConfig;
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = GraphConfig {
            device_code_interval_s: 1,
            ..Default::default()
        };
        let (graph, _tauri_app, w) = shell_on_graph(&rt, dir.path(), config, None);
        let work = serde_json::json!({"profile": "work"});
        assert_eq!(
            error_code(&w, "finish_device_code", work.clone()),
            "invalid_input"
        );

        let prompt = invoke(&w, "start_device_code", work.clone());
        let code = prompt["user_code"].as_str().unwrap();
        assert!(prompt["verification_uri"].is_string(), "{prompt}");
        assert!(prompt["expires_in"].as_u64().unwrap() > 0, "{prompt}");
        graph
            .emulator
            .approve_device_code(code, "alice@contoso.com")
            .unwrap();
        let done = invoke(&w, "finish_device_code", work.clone());
        assert_eq!(done["profile"], "work");
        let status = invoke(&w, "status", work);
        assert_eq!(status["signed_in"], true);
        assert_eq!(status["sign_in_needed"], false);
    }

    /// The wizard's path and Sync now against both emulators, all through the commands.
    #[test]
    fn add_check_sign_in_sync_now_and_apply_through_the_commands_against_the_emulators() {
        use odoo365_testkit::fixture::{Emulators, ALICE};
        use odoo365_testkit::graph::GraphConfig;
        use odoo365_testkit::odoo::OdooConfig;
        let rt = tokio::runtime::Runtime::new().unwrap();
        let Emulators {
            graph,
            odoo,
            alice_uid: uid,
            alice_key: key,
        } = rt
            .block_on(Emulators::start(
                GraphConfig {
                    device_code_interval_s: 1,
                    ..Default::default()
                },
                OdooConfig {
                    version: "19.0".into(),
                    ..Default::default()
                },
            ))
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let app = App::open_with(
            dir.path(),
            Arc::new(odoo365_app::auth::MemoryKeychain::new()),
            Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap();
        let tauri_app = with_shell(mock_builder(), app)
            .build(tauri::generate_context!())
            .unwrap();
        let w = WebviewWindowBuilder::new(&tauri_app, MAIN_WINDOW, Default::default())
            .build()
            .unwrap();
        let mut d = draft_json("work");
        d["odoo_url"] = odoo.url.clone().into();
        d["odoo_database"] = "odoo".into();
        d["odoo_login"] = ALICE.into();
        d["graph_url"] = graph.graph_url.clone().into();
        d["identity_url"] = graph.identity_url.clone().into();

        let check = invoke(
            &w,
            "check_odoo",
            serde_json::json!({"draft": d, "key": key}),
        );
        assert_eq!(check["version"], "19.0", "{check}");
        assert_eq!(check["user_name"], "Alice", "{check}");
        let refused = serde_json::json!({"draft": d, "key": "not-the-key"});
        assert_eq!(error_code(&w, "check_odoo", refused), "odoo_key_refused");

        let options = serde_json::to_value(odoo365_app::SyncSettings::default()).unwrap();
        invoke(
            &w,
            "add_profile",
            serde_json::json!({"draft": d, "key": key, "options": options}),
        );
        let work = serde_json::json!({"profile": "work"});
        let prompt = invoke(&w, "start_device_code", work.clone());
        graph
            .emulator
            .approve_device_code(prompt["user_code"].as_str().unwrap(), ALICE)
            .unwrap();
        invoke(&w, "finish_device_code", work.clone());

        // An event in Odoo before the first sync.
        let start = chrono::Utc::now() + chrono::Duration::days(2);
        let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
        let created: serde_json::Value = rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{}/jsonrpc", odoo.url))
                .json(
                    &serde_json::json!({"jsonrpc": "2.0", "method": "call", "id": 1,
                    "params": {"service": "object", "method": "execute_kw",
                    "args": ["odoo", uid, key, "calendar.event", "create",
                        [[{"name": "Standup", "start": fmt(start),
                           "stop": fmt(start + chrono::Duration::minutes(30))}]], {}]}}),
                )
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        assert!(created.get("error").is_none(), "{created}");

        // The first sync waits for a look at its plan; applying it syncs.
        let first = invoke(&w, "sync_now", work.clone());
        assert_eq!(first["outcome"], "paused", "{first}");
        let status = invoke(&w, "status", work.clone());
        assert_eq!(status["plan_waiting_for_confirmation"], true, "{status}");
        assert_eq!(status["syncing"], false);
        let preview = invoke(&w, "preview_plan", work.clone());
        assert_eq!(preview["outcome"], "dry_run", "{preview}");
        let applied = invoke(&w, "apply_plan", work.clone());
        assert_eq!(applied["outcome"], "synced", "{applied}");
        assert_eq!(
            applied["report"]["plan"]["counts"]["microsoft"]["creates"], 1,
            "{applied}"
        );
        let again = invoke(&w, "sync_now", work.clone());
        assert_eq!(again["outcome"], "synced", "{again}");
        let status = invoke(&w, "status", work);
        assert!(status["last_sync_at"].is_string(), "{status}");
        assert_eq!(status["last_error"], serde_json::Value::Null, "{status}");
    }

    /// The system browser is `$BROWSER` (each nextest test is its own process, so setting
    /// it is safe): a script that plays the person on the emulator's sign-in page.
    #[test]
    fn browser_sign_in_opens_the_system_browser_and_resolves_when_the_redirect_arrives() {
        use odoo365_testkit::graph::GraphConfig;
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let browser = odoo365_testkit::fixture::write_browser_script(dir.path()).unwrap();
        // nextest runs this test alone in its process, before any thread reads them.
        std::env::set_var("BROWSER", &browser);
        std::env::set_var(
            odoo365_testkit::fixture::BROWSER_LOGIN_ENV,
            odoo365_testkit::fixture::ALICE,
        );
        let (_graph, _tauri_app, w) = shell_on_graph(&rt, dir.path(), GraphConfig::default(), None);
        let work = serde_json::json!({"profile": "work"});
        let done = invoke(&w, "start_sign_in", work.clone());
        assert_eq!(done["profile"], "work");
        assert_eq!(invoke(&w, "status", work)["signed_in"], true);
    }

    /// Microsoft asks to be left alone for an hour: the worker's next cycle waits that hour,
    /// not its 15-minute interval.
    #[test]
    fn the_worker_waits_out_a_long_retry_after() {
        use odoo365_testkit::graph::GraphConfig;
        use odoo365_testkit::{Fault, FaultRule};
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = GraphConfig {
            device_code_interval_s: 1,
            ..Default::default()
        };
        let (graph, tauri_app, w) = shell_on_graph(&rt, dir.path(), config, Some("k-123"));
        let work = serde_json::json!({"profile": "work"});
        let prompt = invoke(&w, "start_device_code", work.clone());
        graph
            .emulator
            .approve_device_code(prompt["user_code"].as_str().unwrap(), "alice@contoso.com")
            .unwrap();
        invoke(&w, "finish_device_code", work.clone());
        graph.emulator.faults().add(
            FaultRule::always(Fault::Throttle {
                retry_after_s: 3600,
            })
            .on_path("/me"),
        );

        let shell = tauri_app.state::<Shell>();
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        shell.scheduler.set_hooks(
            Arc::new(move |_, r| {
                let _ = tx.lock().unwrap().send(r.clone().err());
            }),
            Arc::new(|| {}),
        );
        let id = shell.app.profile("work").unwrap().id;
        let before = chrono::Utc::now();
        shell.scheduler.start(&id);
        let e = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap()
            .expect("the throttled cycle fails");
        assert_eq!(e.retry_after_s, Some(3600), "{e:?}");
        let next = shell.scheduler.view(&id).next_at.unwrap();
        assert!(next >= before + chrono::Duration::minutes(59), "{next}");
        let status = invoke(&w, "status", work);
        assert_eq!(
            status["next_sync_at"],
            serde_json::to_value(next).unwrap(),
            "{status}"
        );
        shell.scheduler.stop(&id);
    }

    #[test]
    fn the_tray_menu_items_pause_resume_and_open_the_windows() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _w) = shell_with_profile(dir.path());
        let handle = app.handle().clone();
        let shell = app.state::<Shell>();
        let id = shell.app.profile("work").unwrap().id;
        on_tray_menu(&handle, "pause_1h");
        assert!(matches!(
            shell.scheduler.view(&id).pause,
            Some(scheduler::Pause::Until(t)) if t > chrono::Utc::now() + chrono::Duration::minutes(59)
        ));
        on_tray_menu(&handle, "pause");
        assert_eq!(
            shell.scheduler.view(&id).pause,
            Some(scheduler::Pause::UntilResumed)
        );
        on_tray_menu(&handle, "resume");
        assert_eq!(shell.scheduler.view(&id).pause, None);

        // Conflicts (n) opens the popup at the profile's first open conflict.
        make_a_conflict(dir.path());
        on_tray_menu(&handle, "conflicts");
        let popup = handle
            .get_webview_window(CONFLICT_WINDOW)
            .expect("the popup opened");
        assert!(
            popup.url().unwrap().fragment() == Some(&format!("/conflict/{id}")),
            "{}",
            popup.url().unwrap()
        );
    }

    #[test]
    fn sign_out_removes_the_token_stops_the_worker_and_keeps_it_stopped_until_sign_in() {
        use odoo365_app::auth::{Keychain, Secret, SecretKind};
        let dir = tempfile::tempdir().unwrap();
        let keychain = Arc::new(odoo365_app::auth::MemoryKeychain::new());
        let app = App::open_with(
            dir.path(),
            keychain.clone(),
            Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap();
        let id = app.add_profile(draft("work")).unwrap().id;
        let home = app.add_profile(draft("home")).unwrap().id;
        keychain
            .set(&id, SecretKind::MicrosoftRefreshToken, &Secret::new("rt"))
            .unwrap();
        let tauri_app = with_shell(mock_builder(), app)
            .build(tauri::generate_context!())
            .unwrap();
        let w = WebviewWindowBuilder::new(&tauri_app, MAIN_WINDOW, Default::default())
            .build()
            .unwrap();
        let done = invoke(&w, "sign_out", serde_json::json!({"profile": "work"}));
        assert_eq!(done["profile"], "work");
        assert_eq!(done["links_kept"], 0);
        assert_eq!(
            keychain
                .get(&id, SecretKind::MicrosoftRefreshToken)
                .unwrap(),
            None
        );
        let status = invoke(&w, "status", serde_json::json!({"profile": "work"}));
        assert_eq!(
            (&status["signed_in"], &status["sign_in_needed"]),
            (&false.into(), &true.into())
        );
        // A signed-out profile gets no worker, even when every worker is started.
        let shell = tauri_app.state::<Shell>();
        shell.scheduler.start_all().unwrap();
        assert!(
            !shell.scheduler.view(&id).started,
            "no worker for the signed-out profile"
        );
        assert!(
            shell.scheduler.view(&home).started,
            "the other profile's runs"
        );
        shell.scheduler.stop(&home);
        assert_eq!(
            error_code(&w, "sign_out", serde_json::json!({"profile": "nope"})),
            "not_found"
        );
    }

    /// What the emulators received while `f` ran.
    fn sent_by(
        e: &odoo365_testkit::fixture::Emulators,
        f: impl FnOnce(),
    ) -> odoo365_testkit::fixture::Traffic {
        let mark = e.mark();
        f();
        e.since(mark)
    }

    /// Issue 6 at the desktop: the worker keeps the profile's connected clients between its
    /// cycles, so a cycle with nothing to do costs what the CLI daemon's costs — one Graph
    /// request (the calendar's delta) and two Odoo requests, no write — and so does a "Sync
    /// now" from the window between them. Sign-out then waits for the worker to end, and
    /// nothing more is sent for the profile.
    #[test]
    fn the_worker_keeps_its_clients_so_a_no_op_cycle_sends_one_graph_and_two_odoo_requests() {
        use odoo365_testkit::fixture::Emulators;
        use odoo365_testkit::graph::GraphConfig;
        use odoo365_testkit::odoo::OdooConfig;
        use std::time::Duration;
        let rt = tokio::runtime::Runtime::new().unwrap();
        let e = rt
            .block_on(Emulators::start(
                GraphConfig {
                    seed: 11,
                    ..Default::default()
                },
                OdooConfig {
                    seed: 11,
                    version: "19.0".into(),
                    ..Default::default()
                },
            ))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let keychain = Arc::new(odoo365_app::auth::MemoryKeychain::new());
        let open = || {
            App::open_with(
                dir.path(),
                keychain.clone(),
                Arc::new(odoo365_engine::SystemClock),
            )
            .unwrap()
        };
        // Set up and first synced (plan confirmed) before the desktop starts, as with the
        // CLI: the desktop's app holds no connection yet.
        {
            let cli = open();
            rt.block_on(async {
                e.add_signed_in_profile(&cli, "work").await.unwrap();
                let start = chrono::Utc::now() + chrono::Duration::days(1);
                let fmt =
                    |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
                let r = reqwest::Client::new()
                    .post(format!("{}/json/2/calendar.event/create", e.odoo.url))
                    .bearer_auth(&e.alice_key)
                    .json(&serde_json::json!({"vals_list": [{"name": "Standup",
                        "start": fmt(start),
                        "stop": fmt(start + chrono::Duration::minutes(15))}]}))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.text().await.unwrap());
                let first = cli.sync("work", false, true).await.unwrap();
                assert_eq!(first.report.jobs_done, 1, "{first:?}");
            });
        }
        let tauri_app = with_shell(mock_builder(), open())
            .build(tauri::generate_context!())
            .unwrap();
        let w = WebviewWindowBuilder::new(&tauri_app, MAIN_WINDOW, Default::default())
            .build()
            .unwrap();
        let shell = tauri_app.state::<Shell>();
        let id = shell.app.profile("work").unwrap().id;
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        shell.scheduler.set_hooks(
            Arc::new(move |_, r| {
                let _ = tx.lock().unwrap().send(
                    r.as_ref()
                        .map(|r| r.report.jobs_done)
                        .map_err(|e| e.clone()),
                );
            }),
            Arc::new(|| {}),
        );
        let cycle = || {
            rx.recv_timeout(Duration::from_secs(30))
                .expect("the worker ran a cycle")
                .expect("the cycle synced")
        };
        // The first cycle connects (and sees the echo of the CLI's write).
        let connecting = sent_by(&e, || {
            shell.scheduler.start(&id);
            cycle();
        });
        assert!(
            connecting
                .graph
                .iter()
                .any(|r| r.method == "GET" && r.path == "/v1.0/me"),
            "{connecting:?}"
        );
        let assert_noop = |what: &str, sent: &odoo365_testkit::fixture::Traffic| {
            let paths = |rs: &[odoo365_testkit::RequestRecord]| {
                rs.iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect::<Vec<_>>()
            };
            let (graph, odoo) = (paths(&sent.graph), paths(&sent.odoo));
            assert_eq!(
                (
                    graph.len(),
                    odoo.len(),
                    sent.graph_writes().len(),
                    sent.odoo_writes
                ),
                (1, 2, 0, 0),
                "{what}: Graph {graph:?}, Odoo {odoo:?}"
            );
            assert!(
                graph[0].contains("/calendarView/delta"),
                "{what}: {graph:?}"
            );
        };
        for round in 0..2 {
            let sent = sent_by(&e, || {
                shell.scheduler.wake(Some(&id));
                assert_eq!(cycle(), 0);
            });
            assert_noop(&format!("worker cycle {round}"), &sent);
        }
        // "Sync now" in the window runs on a command's thread, on the same clients.
        let sent = sent_by(&e, || {
            let now = invoke(&w, "sync_now", serde_json::json!({"profile": "work"}));
            assert_eq!(now["outcome"], "synced", "{now}");
        });
        assert_noop("Sync now", &sent);
        let sent = sent_by(&e, || {
            shell.scheduler.wake(Some(&id));
            assert_eq!(cycle(), 0);
        });
        assert_noop("the worker after Sync now", &sent);

        // Sign-out: the worker ends, and no cycle runs however it is woken.
        assert_eq!(shell.scheduler.live_workers(), 1);
        invoke(&w, "sign_out", serde_json::json!({"profile": "work"}));
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while shell.scheduler.live_workers() > 0 {
            assert!(std::time::Instant::now() < until, "the worker did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
        let after = sent_by(&e, || {
            shell.scheduler.wake(None);
            shell.scheduler.notified(&id);
            assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
        });
        assert!(after.graph.is_empty() && after.odoo.is_empty(), "{after:?}");
    }

    #[test]
    fn the_conflict_popup_opens_at_the_conflict_s_route() {
        assert_eq!(
            conflict_route("work", Some(3)),
            "index.html#/conflict/work/3"
        );
        assert_eq!(conflict_route("work", None), "index.html#/conflict/work");
    }
}
