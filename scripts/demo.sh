#!/usr/bin/env bash
# demo.sh — `make demo`: the desktop app wired to the built-in Microsoft 365 and Odoo
# emulators (`odoo365-sim --scenario demo`), no account needed. The app starts with a
# profile "Demo" already signed in (device code, approved through the emulator's control
# API) and its first plan applied; a few seconds later the sim creates an event on each
# side and edits one event differently on both, so the conflict popup opens within a minute.
#
# The demo's secrets go to the desktop keychain like any profile's (Secret Service); on a
# desktop without one the app says so and exits. With no display at all, everything runs
# in a private headless desktop (Xvfb + gnome-keyring + tray host): see it with
# `make screenshot`. Quitting the app removes the demo profile and its keychain entries.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p odoo365-testkit --bin odoo365-sim
cargo build -q -p odoo365-desktop
base=${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}
dir=$(mktemp -d "$base/odoo365-demo.XXXXXX")
target/debug/odoo365-sim --scenario demo >"$dir/sim.json" 2> >(sed -u 's/^/sim: /' >&2) &
sim=$!
trap 'kill $sim 2>/dev/null || true; wait $sim 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [ -s "$dir/sim.json" ] && break; sleep 0.1; done
[ -s "$dir/sim.json" ] || { echo "demo: odoo365-sim printed no line" >&2; exit 1; }
echo "demo: emulators up: $(cat "$dir/sim.json" | head -c 200)…" >&2
echo "demo: data in $dir/data (removed when the app quits)" >&2
app=(target/debug/odoo365-desktop --data-dir "$dir/data" --demo "$dir/sim.json")
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  "${app[@]}"
else
  echo "demo: no display here; running in a headless desktop (Xvfb, keyring, tray host). Stop with Ctrl-C." >&2
  WITH_TRAY_HOST=1 ARTIFACTS=${ARTIFACTS:-target/desktop} scripts/desktop-session.sh "${app[@]}"
fi
