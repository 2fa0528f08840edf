//! Opening the sign-in page in the person's browser.

use crate::AuthError;

/// Something that shows a URL to the person: the system browser, Tauri's opener plugin,
/// or a test that completes the sign-in itself.
pub trait Browser: Send + Sync {
    fn open(&self, url: &str) -> Result<(), AuthError>;
}

/// `$BROWSER` when set (as many terminals and SSH setups do), else the desktop's default
/// handler (xdg-open and friends on Linux).
#[derive(Debug, Default)]
pub struct SystemBrowser;

impl Browser for SystemBrowser {
    fn open(&self, url: &str) -> Result<(), AuthError> {
        if let Some(cmd) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
            return std::process::Command::new(&cmd)
                .arg(url)
                .spawn()
                .map(drop)
                .map_err(|e| {
                    AuthError::NoBrowser(format!(
                        "$BROWSER ({}) failed: {e}",
                        cmd.to_string_lossy()
                    ))
                });
        }
        open::that_detached(url).map_err(|e| AuthError::NoBrowser(e.to_string()))
    }
}
