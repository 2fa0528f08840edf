//! The commands the front end calls. Each is a few lines over the app API; errors go to the
//! front end as `{ code, message }`.

use odoo365_app::{AppError, ErrorCode, Profile};
use tauri::State;

use crate::Shell;

fn lock(shell: &Shell) -> Result<std::sync::MutexGuard<'_, odoo365_app::App>, AppError> {
    shell.app.lock().map_err(|_| {
        AppError::new(
            ErrorCode::Internal,
            "the app state is unusable after a crash; restart the app",
        )
    })
}

#[tauri::command]
pub fn list_profiles(shell: State<'_, Shell>) -> Result<Vec<Profile>, AppError> {
    lock(&shell)?.profiles()
}
