//! A second launch of the desktop app hands over to the first and exits, instead of
//! starting a second tray icon and a second sync of the same profiles.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn in_desktop_session() -> bool {
    let inside = std::env::var_os("ODOO365_DESKTOP_SESSION").is_some();
    if !inside {
        assert!(
            std::env::var_os("CI").is_none(),
            "run this inside scripts/desktop-session.sh"
        );
        eprintln!("skipped: needs scripts/desktop-session.sh (a display and a session bus)");
    }
    inside
}

#[test]
fn a_second_launch_exits_and_leaves_the_first_running() {
    if !in_desktop_session() {
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let app = env!("CARGO_BIN_EXE_odoo365-desktop");
    let log = |name: &str| {
        let dir = std::env::var_os("ARTIFACTS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Stdio::from(std::fs::File::create(dir.join(name)).expect("a log file"))
    };
    let launch = |name: &str| {
        Command::new(app)
            .arg("--data-dir")
            .arg(data.path())
            .env("XDG_STATE_HOME", data.path())
            .stdout(Stdio::null())
            .stderr(log(name))
            .spawn()
            .expect("the app starts")
    };
    let mut first = launch("single-instance-first.log");
    // Give the first instance time to own its D-Bus name.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        first.try_wait().expect("status").is_none(),
        "the first instance must be running (its stderr is in $ARTIFACTS/single-instance-first.log)"
    );

    let mut second = launch("single-instance-second.log");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = second.try_wait().expect("status") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let still_first = first.try_wait().expect("status").is_none();
    let _ = second.kill();
    let _ = first.kill();
    let _ = first.wait();
    let status =
        status.expect("the second launch should exit within 15 s, not run beside the first");
    assert!(status.success(), "{status:?}");
    assert!(still_first, "the first instance keeps running");
}
