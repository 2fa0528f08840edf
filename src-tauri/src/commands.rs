//! The commands the front end calls (`ui/src/lib/api.ts` is the contract). Each is a few
//! lines over the app API; errors go to the front end as `{ code, message }`. Work that
//! may touch the network or the keychain runs on a blocking thread, never on the main one.

use odoo365_app::auth::Secret;
use odoo365_app::{
    Activity, AppError, ConflictView, ErrorCode, JournalLine, OdooCheck, Profile, ProfileDraft,
    Resolution, Restored, SignIn, SignedIn, Status, SyncResult, SyncSettings, SystemBrowser,
};
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::scheduler::Pause;
use crate::settings::Settings;
use crate::Shell;

/// How many journal lines the Activity view lists.
const JOURNAL_LINES: usize = 200;

/// Runs `f` on a blocking thread and hands its result back.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("the task failed: {e}")))?
}

/// Tells the tray that something it shows may have changed.
fn changed<R: Runtime>(handle: &AppHandle<R>) {
    crate::refresh_tray(handle);
}

#[tauri::command]
pub async fn list_profiles(shell: State<'_, Shell>) -> Result<Vec<Profile>, AppError> {
    let app = shell.app.clone();
    blocking(move || app.profiles()).await
}

#[tauri::command]
pub async fn add_profile<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    draft: ProfileDraft,
    key: String,
    options: SyncSettings,
) -> Result<Profile, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    let profile = blocking(move || {
        let profile = app.add_profile_with_settings(draft, &Secret::new(key), options)?;
        scheduler.start_if_running(&profile.id);
        Ok(profile)
    })
    .await?;
    changed(&handle);
    Ok(profile)
}

/// A profile's sync settings (the Settings of one account).
#[tauri::command]
pub async fn sync_settings(
    shell: State<'_, Shell>,
    profile: String,
) -> Result<SyncSettings, AppError> {
    let app = shell.app.clone();
    blocking(move || Ok(app.profile(&profile)?.settings)).await
}

/// Replaces a profile's sync settings; its worker picks them up at its next cycle.
#[tauri::command]
pub async fn set_sync_settings<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: String,
    settings: SyncSettings,
) -> Result<Profile, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    let saved = blocking(move || {
        let saved = app.set_sync_settings(&profile, settings)?;
        scheduler.wake(Some(&saved.id));
        Ok(saved)
    })
    .await?;
    changed(&handle);
    Ok(saved)
}

#[tauri::command]
pub async fn check_odoo(draft: ProfileDraft, key: String) -> Result<OdooCheck, AppError> {
    // No kept clients: a throwaway runtime will do.
    blocking(move || {
        crate::scheduler::block_on(odoo365_app::App::check_odoo_draft(draft, &Secret::new(key)))?
    })
    .await
}

#[tauri::command]
pub async fn start_sign_in<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: String,
) -> Result<SignedIn, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    let done = blocking(move || {
        scheduler.block_on(app.login(&profile, SignIn::Browser(&SystemBrowser)))?
    })
    .await?;
    changed(&handle);
    Ok(done)
}

/// Signs the profile out of Microsoft and stops its worker; links and history stay for the
/// next sign-in to the same mailbox.
#[tauri::command]
pub async fn sign_out<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: String,
) -> Result<odoo365_app::SignedOut, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    let done = blocking(move || {
        let id = app.profile(&profile)?.id;
        // Stopped first, after a cycle it runs, so no cycle overlaps the way out; it stays
        // stopped while the profile is signed out.
        scheduler.stop_then(&id, || scheduler.block_on(app.sign_out(&id)))?
    })
    .await?;
    changed(&handle);
    Ok(done)
}

/// `DeviceCodePrompt` with `expires_in` in seconds.
#[derive(Debug, Serialize)]
pub struct DeviceCode {
    verification_uri: String,
    user_code: String,
    expires_in: u64,
    message: Option<String>,
}

#[tauri::command]
pub async fn start_device_code(
    shell: State<'_, Shell>,
    profile: String,
) -> Result<DeviceCode, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    let (prompt_tx, prompt_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let id = app.profile(&profile)?.id;
    let who = profile.clone();
    std::thread::spawn(move || {
        let show = Box::new(move |p: &odoo365_app::DeviceCodePrompt| {
            let _ = prompt_tx.send(DeviceCode {
                verification_uri: p.verification_uri.clone(),
                user_code: p.user_code.clone(),
                expires_in: p.expires_in.as_secs(),
                message: p.message.clone(),
            });
        });
        let result = scheduler
            .block_on(app.login(&who, SignIn::DeviceCode(show)))
            .and_then(|r| r);
        let _ = done_tx.send(result);
    });
    shell
        .device_codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), done_rx);
    match blocking(move || Ok(prompt_rx.recv().ok())).await? {
        Some(prompt) => Ok(prompt),
        // The sign-in ended before it showed a code: its error says why.
        None => finish(&shell, &id).await.and_then(|_| {
            Err(AppError::new(
                ErrorCode::Internal,
                "the device-code sign-in ended without a code",
            ))
        }),
    }
}

async fn finish(shell: &Shell, profile_id: &str) -> Result<SignedIn, AppError> {
    let pending = shell
        .device_codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(profile_id);
    match pending {
        Some(rx) => rx.await.map_err(|_| {
            AppError::new(ErrorCode::SignInNeeded, "the device-code sign-in stopped")
        })?,
        None => Err(AppError::new(
            ErrorCode::InvalidInput,
            "no device-code sign-in is running for this profile; start one first",
        )),
    }
}

#[tauri::command]
pub async fn finish_device_code<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: String,
) -> Result<SignedIn, AppError> {
    let id = {
        let app = shell.app.clone();
        blocking(move || Ok(app.profile(&profile)?.id)).await?
    };
    let done = finish(&shell, &id).await?;
    changed(&handle);
    Ok(done)
}

#[tauri::command]
pub async fn remove_profile<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: String,
) -> Result<Profile, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    let removed = blocking(move || {
        let id = app.profile(&profile)?.id;
        // Its worker stops first, after a cycle it runs; then its subscriptions go, while
        // its sign-in can still delete them (one left behind expires by itself).
        scheduler.stop_then(&id, || {
            let deleted = scheduler.block_on(app.delete_webhook_subscriptions(&id));
            if let Err(e) = deleted.and_then(|r| r) {
                tracing::warn!(error = %e, "webhook subscriptions not deleted");
            }
            app.remove_profile(&id)
        })
    })
    .await?;
    changed(&handle);
    Ok(removed)
}

/// `Status` with what the desktop knows about the profile's worker.
#[derive(Debug, Serialize)]
pub struct ProfileStatus {
    #[serde(flatten)]
    status: Status,
    id: String,
    syncing: bool,
    paused: bool,
    paused_until: Option<chrono::DateTime<chrono::Utc>>,
}

#[tauri::command]
pub async fn status(shell: State<'_, Shell>, profile: String) -> Result<ProfileStatus, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    blocking(move || {
        let profile = app.profile(&profile)?;
        let id = profile.id.clone();
        let mut status = app.status(&id)?;
        let worker = scheduler.view(&id);
        // The worker knows its next cycle; the app only knows the CLI daemon's.
        if worker.next_at.is_some() || worker.pause.is_some() {
            status.next_sync_at = worker.next_at;
        }
        // `status` carries the mode (webhook or polling) and why.
        Ok(ProfileStatus {
            status,
            id,
            syncing: worker.syncing,
            paused: worker.pause.is_some(),
            paused_until: match worker.pause {
                Some(Pause::Until(t)) => Some(t),
                _ => None,
            },
        })
    })
    .await
}

#[tauri::command]
pub async fn sync_now<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: String,
) -> Result<SyncResult, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    let result = blocking(move || {
        let id = app.profile(&profile)?.id;
        scheduler.sync_now(&id)
    })
    .await;
    changed(&handle);
    result
}

#[tauri::command]
pub async fn pause<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: Option<String>,
    minutes: Option<u32>,
) -> Result<(), AppError> {
    let pause = match minutes {
        Some(0) => {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "a pause lasts at least one minute",
            ))
        }
        Some(m) => Pause::Until(chrono::Utc::now() + chrono::Duration::minutes(i64::from(m))),
        None => Pause::UntilResumed,
    };
    set_pause(&shell, profile, Some(pause)).await?;
    changed(&handle);
    Ok(())
}

#[tauri::command]
pub async fn resume<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: Option<String>,
) -> Result<(), AppError> {
    set_pause(&shell, profile, None).await?;
    changed(&handle);
    Ok(())
}

async fn set_pause(
    shell: &Shell,
    profile: Option<String>,
    pause: Option<Pause>,
) -> Result<(), AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    blocking(move || {
        match profile {
            Some(p) => scheduler.pause(Some(&app.profile(&p)?.id), pause),
            None => {
                for p in app.profiles()? {
                    scheduler.pause(Some(&p.id), pause);
                }
            }
        }
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn preview_plan(
    shell: State<'_, Shell>,
    profile: String,
) -> Result<SyncResult, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    blocking(move || {
        let pid = app.profile(&profile)?.id;
        scheduler.between_cycles(&pid, || scheduler.block_on(app.preview(&pid)))?
    })
    .await
}

#[tauri::command]
pub async fn apply_plan<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: String,
) -> Result<SyncResult, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    let result = blocking(move || {
        let pid = app.profile(&profile)?.id;
        scheduler.between_cycles(&pid, || scheduler.block_on(app.sync(&pid, false, true)))?
    })
    .await;
    changed(&handle);
    result
}

#[tauri::command]
pub async fn cancel_plan<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: String,
) -> Result<(), AppError> {
    // The plan stays unapplied: nothing is written. The profile's sync pauses until the
    // person resumes it, so a guard that tripped does not come straight back while they look
    // at what changed; resuming plans again from both sides as they are then.
    set_pause(&shell, Some(profile), Some(Pause::UntilResumed)).await?;
    changed(&handle);
    Ok(())
}

#[tauri::command]
pub async fn activity(
    shell: State<'_, Shell>,
    profile: String,
    why: Option<String>,
) -> Result<Activity, AppError> {
    let app = shell.app.clone();
    blocking(move || app.activity(&profile, why.as_deref())).await
}

#[tauri::command]
pub async fn journal(
    shell: State<'_, Shell>,
    profile: String,
) -> Result<Vec<JournalLine>, AppError> {
    let app = shell.app.clone();
    blocking(move || app.journal(&profile, JOURNAL_LINES)).await
}

/// A failed job goes back to the queue and the profile's next cycle runs now.
#[tauri::command]
pub async fn retry_job(shell: State<'_, Shell>, profile: String, job: i64) -> Result<(), AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    blocking(move || {
        let id = app.profile(&profile)?.id;
        app.retry_job(&id, job)?;
        scheduler.wake(Some(&id));
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn restore(
    shell: State<'_, Shell>,
    profile: String,
    entry: i64,
) -> Result<Restored, AppError> {
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    blocking(move || scheduler.block_on(app.restore(&profile, entry))?).await
}

#[tauri::command]
pub async fn conflicts(
    shell: State<'_, Shell>,
    profile: String,
) -> Result<Vec<ConflictView>, AppError> {
    let app = shell.app.clone();
    blocking(move || app.conflicts(&profile)).await
}

#[tauri::command]
pub async fn conflict(
    shell: State<'_, Shell>,
    profile: String,
    id: i64,
) -> Result<ConflictView, AppError> {
    let app = shell.app.clone();
    blocking(move || app.conflict(&profile, id)).await
}

/// Records the decision and wakes the profile, so its writes run at once.
#[tauri::command]
pub async fn resolve_conflict<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    profile: String,
    id: i64,
    resolution: serde_json::Value,
) -> Result<ConflictView, AppError> {
    if resolution == "keep_both" {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            "keeping both versions applies to files, and file sync is not available yet",
        ));
    }
    let resolution: Resolution = serde_json::from_value(resolution).map_err(|e| {
        AppError::new(
            ErrorCode::InvalidInput,
            format!("not a resolution: {e}; send {{\"keep\":\"odoo\"}} or {{\"fields\":{{…}}}}"),
        )
    })?;
    let (app, scheduler) = (shell.app.clone(), shell.scheduler.clone());
    let view = blocking(move || {
        let pid = app.profile(&profile)?.id;
        let view =
            scheduler.between_cycles(&pid, || app.resolve_conflict(&pid, id, &resolution))?;
        scheduler.wake(Some(&pid));
        Ok(view)
    })
    .await?;
    changed(&handle);
    Ok(view)
}

#[tauri::command]
pub async fn get_settings(shell: State<'_, Shell>) -> Result<Settings, AppError> {
    let files = shell.files.clone();
    blocking(move || files.settings()).await
}

/// Saves the settings; "start at login" is applied first (the autostart plugin, when the
/// app runs with it), so a refused registration saves nothing.
#[tauri::command]
pub async fn set_settings<R: Runtime>(
    handle: AppHandle<R>,
    shell: State<'_, Shell>,
    settings: Settings,
) -> Result<Settings, AppError> {
    let files = shell.files.clone();
    let tray = handle.clone();
    let saved = blocking(move || {
        if let Some(autostart) = handle.try_state::<tauri_plugin_autostart::AutoLaunchManager>() {
            let applied = if settings.start_at_login {
                autostart.enable()
            } else {
                autostart.disable()
            };
            applied.map_err(|e| {
                AppError::new(
                    ErrorCode::Internal,
                    format!("cannot change start at login: {e}; the settings were not saved"),
                )
            })?;
        }
        files.set_settings(&settings)?;
        files.settings()
    })
    .await?;
    // The tray speaks the chosen language.
    changed(&tray);
    Ok(saved)
}
