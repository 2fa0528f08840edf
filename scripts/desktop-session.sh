#!/usr/bin/env bash
# desktop-session.sh CMD...  — runs CMD inside a throwaway headless desktop and exits with
# its status:
#   Xvfb + a private D-Bus session + an unlocked gnome-keyring (Secret Service) + dunst
#   (notifications) + optionally an SNI tray host (WITH_TRAY_HOST=1) and tauri-driver
#   (WITH_TAURI_DRIVER=1, exports E2E_WEBDRIVER).
# Tests that touch the keychain, notifications or windows run through this, identically on
# CI and on a laptop. Inside, ODOO365_DESKTOP_SESSION=1 tells tests the harness is there.
# Logs and screenshots go to $ARTIFACTS (default: a new temp dir).
set -euo pipefail
ARTIFACTS=$(realpath -m "${ARTIFACTS:-$(mktemp -d)}"); mkdir -p "$ARTIFACTS"

need() { command -v "$1" >/dev/null || { echo "desktop-session: $1 is missing; run scripts/bootstrap.sh" >&2; exit 127; }; }

if [ -z "${_IN_DESKTOP_SESSION:-}" ]; then
  for t in Xvfb dbus-run-session gnome-keyring-daemon dunst dbus-send; do need "$t"; done
  DISP=
  for n in $(seq 90 160); do [ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] || { DISP=$n; break; }; done
  [ -n "$DISP" ] || { echo "desktop-session: no free X display number in :90-:160" >&2; exit 1; }
  Xvfb :$DISP -screen 0 1280x800x24 -nolisten tcp >"$ARTIFACTS/xvfb.log" 2>&1 &
  XVFB=$!
  trap 'kill $XVFB 2>/dev/null; wait $XVFB 2>/dev/null || true' EXIT
  for _ in $(seq 200); do [ -e /tmp/.X11-unix/X$DISP ] && break; sleep 0.05; done
  [ -e /tmp/.X11-unix/X$DISP ] || { echo "desktop-session: Xvfb did not start" >&2; cat "$ARTIFACTS/xvfb.log" >&2; exit 1; }
  export DISPLAY=:$DISP _IN_DESKTOP_SESSION=1 ARTIFACTS NO_AT_BRIDGE=1
  set +e
  dbus-run-session -- "$0" "$@" 2> >(grep --line-buffered -v -E 'fd limit|org.a11y|atspi|SpiRegistry' >&2)
  rc=$?
  exit $rc
fi

name_up() {
  for _ in $(seq 150); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true' && return 0
    sleep 0.1
  done
  echo "desktop-session: timeout waiting for $1 on the session bus" >&2
  return 1
}
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Keyring: a private data dir; --unlock creates and unlocks the "login" collection with this
# password, so no prompt can block a test. Wait for the name, or D-Bus activation may start a
# second, locked daemon.
export XDG_DATA_HOME="$ARTIFACTS/xdg-data" XDG_CACHE_HOME="$ARTIFACTS/xdg-cache" \
  XDG_CONFIG_HOME="$ARTIFACTS/xdg-config" XDG_STATE_HOME="$ARTIFACTS/xdg-state"
mkdir -p "$XDG_DATA_HOME/keyrings" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
eval "$(printf '%s' "${KEYRING_PASSWORD:-ci}" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
name_up org.freedesktop.secrets

dunst >"$ARTIFACTS/dunst.log" 2>&1 & PIDS+=($!)
name_up org.freedesktop.Notifications

if [ "${WITH_TRAY_HOST:-0}" = 1 ]; then
  need gtk-sni-tray-standalone
  gtk-sni-tray-standalone --watcher --bottom --size 40 >"$ARTIFACTS/sni-host.log" 2>&1 & PIDS+=($!)
  name_up org.kde.StatusNotifierWatcher
fi

if [ "${WITH_TAURI_DRIVER:-0}" = 1 ]; then
  need tauri-driver; need WebKitWebDriver
  port=${TAURI_DRIVER_PORT:-4444}
  tauri-driver --port "$port" --native-driver "$(command -v WebKitWebDriver)" >"$ARTIFACTS/tauri-driver.log" 2>&1 & PIDS+=($!)
  up=0; for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && { up=1; break; }; sleep 0.1; done
  [ $up = 1 ] || { echo "desktop-session: tauri-driver did not open :$port" >&2; cat "$ARTIFACTS/tauri-driver.log" >&2; exit 1; }
  export E2E_WEBDRIVER=http://127.0.0.1:$port
fi

export ODOO365_DESKTOP_SESSION=1
"$@"
