#!/usr/bin/env bash
# Installs every system package and tool that building and testing Odoo365 Sync
# needs, on a fresh Debian 12 machine of this workplace's `rust` kind.
# Idempotent: when everything is already there it returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# Build packages for Tauri 2 / WebKitGTK 4.1, and the headless desktop harness
# (Xvfb, a private D-Bus session, gnome-keyring's Secret Service, a notification
# daemon, WebKitWebDriver for UI tests, ImageMagick for screenshots and icons).
APT_PACKAGES=(
  build-essential pkg-config file
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev libxdo-dev
  xvfb xauth dbus dbus-x11 gnome-keyring libsecret-tools dunst libnotify-bin
  webkit2gtk-driver imagemagick x11-utils xdotool procps librsvg2-bin curl
)
# A StatusNotifier tray host, so a screenshot can show the tray icon and menu.
APT_OPTIONAL=(haskell-gtk-sni-tray-utils)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}) and not root: run 'sudo $0'"
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed: is the Debian mirror reachable?"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
fi
for p in "${APT_OPTIONAL[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    log "installing optional $p (tray host for screenshots)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null \
      || log "warning: $p could not be installed; tray screenshots will lack a visible tray"
  fi
done

command -v cargo >/dev/null || die "cargo is not on PATH; this machine kind ships Rust via rustup"
command -v cargo-nextest >/dev/null || { log "installing cargo-nextest"; cargo install cargo-nextest --locked >/dev/null; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
command -v cargo-clippy >/dev/null || die "clippy is missing and could not be installed"
command -v rustfmt >/dev/null || die "rustfmt is missing and could not be installed"

# cargo-fuzz runs the fuzz targets in fuzz/ (`make fuzz`, and briefly in `make test`) on the
# stable toolchain with RUSTC_BOOTSTRAP=1 (see docs/RELIABILITY.md).
command -v cargo-fuzz >/dev/null || { log "installing cargo-fuzz (about 1 min)"; cargo install cargo-fuzz --locked >/dev/null 2>&1 || die "cargo install cargo-fuzz failed"; }

# tauri-driver bridges WebDriver to WebKitWebDriver for the UI tests.
if ! command -v tauri-driver >/dev/null; then
  log "installing tauri-driver 2 (about 40 s)"
  cargo install tauri-driver --locked --version '^2' >/dev/null 2>&1 || die "cargo install tauri-driver failed"
fi

command -v node >/dev/null || die "node is not installed (the machine image ships Node 20)"
command -v npm >/dev/null || die "npm is not installed (the machine image ships npm)"
# Node packages, exactly as each lock file names them: the front end, and the OAuth server
# the auth tests run against.
for dir in ui crates/auth/tests/oauth-mock; do
  [ -f "$dir/package-lock.json" ] || continue
  stamp=$dir/node_modules/.bootstrap-stamp
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    log "installing Node packages in $dir from its lock file"
    # Not `npm ci`: the registry mirror here serves no packages for other platforms, so a
    # lock cannot list rollup's and tauri-cli's optional per-platform builds, and `npm ci`
    # refuses such a lock. `npm install --no-save` installs the locked versions and leaves
    # the lock untouched.
    (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error) || die "npm install in $dir failed"
    touch "$stamp"
  fi
done
log "ok"
