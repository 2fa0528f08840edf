#!/usr/bin/env bash
# screenshot.sh APP OUT.png [--demo] — inside scripts/desktop-session.sh (with
# WITH_TRAY_HOST=1 for a visible tray): starts APP, waits for its main window and saves a
# screenshot of the whole screen to OUT.png. With WITH_TRAY_HOST=1 and TRAY_OUT=FILE.png it
# then right-clicks the app's tray icon and, once the menu is on screen, saves a second
# shot to FILE.png (an error if the menu never shows). Exits non-zero if the window never
# appears. With --demo the app runs on `odoo365-sim --scenario demo` (built in
# target/debug) with its signed-in "Demo" profile, as `make demo` starts it.
set -euo pipefail
app=$1 out=$2 demo=${3:-}
[ -n "${DISPLAY:-}" ] || { echo "screenshot: no DISPLAY; run inside scripts/desktop-session.sh" >&2; exit 1; }
export ODOO365_DATA_DIR=${ODOO365_DATA_DIR:-$(mktemp -d)}
args=()
sim=
if [ "$demo" = --demo ]; then
  target/debug/odoo365-sim --scenario demo >"$ODOO365_DATA_DIR.sim.json" 2>"${ARTIFACTS:-/tmp}/sim.log" &
  sim=$!
  for _ in $(seq 100); do [ -s "$ODOO365_DATA_DIR.sim.json" ] && break; sleep 0.1; done
  args=(--data-dir "$ODOO365_DATA_DIR" --demo "$ODOO365_DATA_DIR.sim.json")
fi
"$app" "${args[@]}" >"${ARTIFACTS:-/tmp}/app.log" 2>&1 &
pid=$!
trap 'kill $pid $sim 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
win=
for _ in $(seq 150); do
  win=$(xdotool search --name '^Odoo365 Sync$' 2>/dev/null | head -n1 || true)
  [ -n "$win" ] && break
  kill -0 $pid 2>/dev/null || { echo "screenshot: the app exited:" >&2; cat "${ARTIFACTS:-/tmp}/app.log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$win" ] || { echo "screenshot: no 'Odoo365 Sync' window after 30 s" >&2; exit 1; }
xdotool windowmove "$win" 40 40 2>/dev/null || true
sleep 2   # let the webview paint
[ -n "$sim" ] && sleep 8   # the demo signs in and syncs first; then the tray refreshes
import -window root "$out"
echo "screenshot: saved $out" >&2
if [ "${WITH_TRAY_HOST:-0}" = 1 ] && [ -n "${TRAY_OUT:-}" ]; then
  # The SNI host draws the tray along the bottom edge (--bottom --size 40): right-click the
  # app's icon, the first and only one there, at the left end of the bar.
  before=$(xdotool search --onlyvisible --name '' 2>/dev/null | sort)
  xdotool mousemove 20 $(( $(xdpyinfo | awk '/dimensions:/ {split($2, d, "x"); print d[2]}') - 20 )) click 3
  shown=
  for _ in $(seq 50); do
    sleep 0.1
    # The menu is a new visible popup window.
    if comm -13 <(echo "$before") <(xdotool search --onlyvisible --name '' 2>/dev/null | sort) | grep -q .; then
      shown=1; break
    fi
  done
  [ -n "$shown" ] || { echo "screenshot: the tray menu never showed" >&2; exit 1; }
  sleep 0.5   # let it paint
  import -window root "$TRAY_OUT"
  echo "screenshot: saved $TRAY_OUT" >&2
fi
