//! Logging for the front ends: the CLI logs to stderr, the desktop app to daily rolling
//! files in the XDG state directory with bounded retention. Filter with `ODOO365_LOG`
//! (e.g. `ODOO365_LOG=odoo365=debug`); titles and attendees appear only at debug, secrets
//! never.

use std::path::{Path, PathBuf};

use tracing_subscriber::EnvFilter;

/// How many daily log files the desktop app keeps.
pub const LOG_FILES_KEPT: usize = 14;

/// Where the desktop app writes its logs: `$XDG_STATE_HOME/odoo365-sync/logs`, else
/// `~/.local/state/odoo365-sync/logs`.
pub fn default_log_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("odoo365-sync")
        .join("logs")
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("ODOO365_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Logs to stderr (the CLI), warnings and above unless `ODOO365_LOG` says otherwise.
pub fn init_stderr() {
    let filter = EnvFilter::try_from_env("ODOO365_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Logs to daily files `odoo365.YYYY-MM-DD.log` in `dir`, keeping [`LOG_FILES_KEPT`].
/// The returned guard flushes on drop: keep it alive for the life of the process.
pub fn init_rolling_files(
    dir: &Path,
) -> Result<tracing_appender::non_blocking::WorkerGuard, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the log directory {}: {e}", dir.display()))?;
    let appender = tracing_appender::rolling::RollingFileAppender::builder()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("odoo365")
        .filename_suffix("log")
        .max_log_files(LOG_FILES_KEPT)
        .build(dir)
        .map_err(|e| format!("cannot open a log file in {}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false)
        .with_writer(writer)
        .try_init()
        .map_err(|e| format!("logging was already set up: {e}"))?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_land_in_a_dated_file_in_the_log_dir() {
        let dir = tempfile::tempdir().unwrap();
        let guard = init_rolling_files(dir.path()).unwrap();
        tracing::info!(profile = "work", "sync finished");
        drop(guard); // flushes
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let name = files[0].file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with("odoo365.") && name.ends_with(".log"),
            "{name}"
        );
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            text.contains("sync finished") && text.contains("profile=\"work\""),
            "{text}"
        );
    }
}
