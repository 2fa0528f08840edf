#!/usr/bin/env bash
# measure-desktop.sh [APP] — the desktop figures of docs/BENCHMARKS.md ("Desktop"), inside
# scripts/desktop-session.sh (with WITH_TRAY_HOST=1, so the tray icon has a host):
#   * cold start to tray icon: launch until the app's tray menu is on the session bus;
#   * idle RSS and CPU of the app and its WebKit processes, IDLE_SECONDS after start with
#     the main window open;
#   * the same CLOSED_SECONDS (default 600) after the window was closed to the tray (as a
#     window manager closes it: WM_DELETE_WINDOW), with the number of WebKit processes
#     left, and how long the tray's "Open" takes to bring a new window back;
#   * Sync now to done: an event made in Odoo, "Sync now" clicked in the tray menu, until
#     the event is in Outlook — against the emulators (odoo365-sim --scenario demo).
# APP defaults to the release binary (make bundle builds it), else the debug one.
# Prints one Markdown table row per figure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] && [ -n "${DISPLAY:-}" ] \
  || { echo "measure: run inside scripts/desktop-session.sh" >&2; exit 1; }
app=${1:-}
[ -n "$app" ] || { [ -x target/release/odoo365-desktop ] && app=target/release/odoo365-desktop || app=target/debug/odoo365-desktop; }
sim_bin=target/debug/odoo365-sim
[ -x "$sim_bin" ] || cargo build -q -p odoo365-testkit --bin odoo365-sim
IDLE_SECONDS=${IDLE_SECONDS:-60}
CLOSED_SECONDS=${CLOSED_SECONDS:-600}
RUNS=${RUNS:-3}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export XDG_STATE_HOME=$work/state   # the app's logs

"$sim_bin" --scenario demo --demo-after-first-sync 3600 >"$work/sim.json" 2>"$work/sim.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/sim.json" ] && break; sleep 0.1; done
j() { python3 -c "import json,sys; d=json.load(open('$work/sim.json')); print($1)"; }
odoo=$(j 'd["odoo"]'); graph=$(j 'd["graph"]'); control=$(j 'd["control"]')
db=$(j 'd["demo"]["odoo_database"]'); uid=$(j 'd["demo"]["odoo_users"][0]["uid"]')
key=$(j 'd["demo"]["odoo_users"][0]["api_key"]'); mail=$(j 'd["demo"]["microsoft_user"]')

# The tray menu's bus name and path once the app exported it, else nothing.
menu_of() {
  local pid=$1 n p
  for n in $(busctl --user --list 2>/dev/null | awk -v p="$pid" '$2==p && $1 ~ /^:/ {print $1}'); do
    p=$(busctl --user tree --list "$n" 2>/dev/null | grep '/Menu$' | head -n1) || true
    [ -n "$p" ] && { echo "$n $p"; return 0; }
  done
  return 1
}
# Every process of the app: it and its descendants (WebKit's web and network processes).
tree_of() { local p=$1; echo "$p"; for c in $(pgrep -P "$p" || true); do tree_of "$c"; done; }
rss_kb() { local s=0 p; for p in $(tree_of "$1"); do s=$((s + $(awk '/^VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0))); done; echo $s; }
ticks() { local s=0 p; for p in $(tree_of "$1"); do s=$((s + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $s; }
now_ms() { date +%s%3N; }

# The demo profile, signed in and first-synced; killed (not quit) so that it stays.
"$app" --data-dir "$work/data" --demo "$work/sim.json" >"$work/prep.log" 2>&1 &
prep=$!; pids+=($prep)
for _ in $(seq 600); do menu_of $prep >/dev/null && break; sleep 0.1; done
menu_of $prep >/dev/null || { echo "measure: the demo app never showed its tray" >&2; cat "$work/prep.log" >&2; exit 1; }
kill -9 $prep; wait $prep 2>/dev/null || true
# The demo profile also polls once a minute; a Sync now waits for a running cycle, so a
# run that meets one measures a little longer, never shorter.

starts=()
for i in $(seq "$RUNS"); do
  t0=$(now_ms)
  "$app" --data-dir "$work/data" >"$work/app.log" 2>&1 &
  pid=$!; pids+=($pid)
  for _ in $(seq 600); do menu_of $pid >/dev/null && break; sleep 0.02; done
  starts+=($(( $(now_ms) - t0 )))
  [ "$i" -lt "$RUNS" ] && { kill -9 $pid; wait $pid 2>/dev/null || true; }
done
read -r dest menu < <(menu_of $pid)

# The WebKit helper processes among the app's descendants.
webkit_procs() { local n=0 p; for p in $(tree_of "$1"); do [ "$p" = "$1" ] && continue; grep -q WebKit /proc/$p/comm 2>/dev/null && n=$((n + 1)); done; echo $n; }
hz=$(getconf CLK_TCK)
# RSS (KiB) and CPU (% of one core over 30 s) of the app's process tree, as "rss cpu".
idle_figures() {
  local c0 c1
  c0=$(ticks "$1"); sleep 30; c1=$(ticks "$1")
  echo "$(rss_kb "$1") $(python3 -c "print(round(($c1-$c0)/$hz/30*100, 2))")"
}
main_window() { xdotool search --name '^Odoo365 Sync$' 2>/dev/null | head -n1 || true; }
# Closes an X window the way a window manager's close button does: a WM_DELETE_WINDOW
# client message (xdotool 3.2016's windowclose destroys the window instead).
wm_close() {
  python3 - "$1" <<'PY'
import ctypes, sys
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
x.XFlush.argtypes = [ctypes.c_void_p]
class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
                ("message_type", ctypes.c_ulong), ("format", ctypes.c_int),
                ("l", ctypes.c_long * 5), ("pad", ctypes.c_long * 12)]
d = x.XOpenDisplay(None)
assert d, "no display"
win = int(sys.argv[1])
ev = ClientMessage(type=33, send_event=1, window=win, format=32,
                   message_type=x.XInternAtom(d, b"WM_PROTOCOLS", 0))
ev.l[0] = x.XInternAtom(d, b"WM_DELETE_WINDOW", 0)
x.XSendEvent(d, win, 0, 0, ctypes.byref(ev))
x.XFlush(d)
PY
}

sleep "$IDLE_SECONDS"
read -r rss cpu < <(idle_figures $pid)
open_webkit=$(webkit_procs $pid)

# Closed to the tray: the window is destroyed (its WebKit web process with it).
win=$(main_window)
[ -n "$win" ] || { echo "measure: no main window to close" >&2; exit 1; }
wm_close "$win"
for _ in $(seq 100); do [ -z "$(main_window)" ] && break; sleep 0.1; done
[ -z "$(main_window)" ] || { echo "measure: the main window did not close" >&2; exit 1; }
kill -0 $pid || { echo "measure: closing the window ended the app" >&2; exit 1; }
sleep "$CLOSED_SECONDS"
read -r closed_rss closed_cpu < <(idle_figures $pid)
closed_webkit=$(webkit_procs $pid)

# The tray's "Sync now" item id, from the exported menu (the app rebuilds the menu when a
# profile's line changes, which renumbers it: read the id again before each click).
item_id() {
busctl --user --json=short call -- "$dest" "$menu" com.canonical.dbusmenu GetLayout iias 0 -1 1 label \
    | python3 -c '
import json,sys
d=json.load(sys.stdin)["data"][1]
def walk(n):
    i,props,kids=n
    if props.get("label",{}).get("data")==sys.argv[1]: print(i); sys.exit()
    for k in kids: walk(k["data"])
walk(d)' "$1"
}
click_item() {
  local id
  for _ in $(seq 50); do
    id=$(item_id "$1") && [ -n "$id" ] \
      && busctl --user call -- "$dest" "$menu" com.canonical.dbusmenu Event isvu "$id" clicked s "" 0 >/dev/null 2>&1 \
      && return 0
    sleep 0.05
  done
  echo "measure: could not click '$1' in the tray menu" >&2; return 1
}
click_sync_now() { click_item "Sync now"; }
token=$(curl -s -X POST "$control/graph/tokens" -H 'content-type: application/json' -d "{\"user\":\"$mail\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
lat=()
for i in $(seq "$RUNS"); do
  title="Measured $i $(now_ms)"
  day=$(date -u -d tomorrow +%Y-%m-%d)
  curl -s "$odoo/jsonrpc" -H 'content-type: application/json' -d "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"id\":1,\"params\":{\"service\":\"object\",\"method\":\"execute_kw\",\"args\":[\"$db\",$uid,\"$key\",\"calendar.event\",\"create\",[[{\"name\":\"$title\",\"start\":\"$day 0$i:00:00\",\"stop\":\"$day 0$i:30:00\"}]],{}]}}" >/dev/null
  t0=$(now_ms)
  click_sync_now
  found=
  for _ in $(seq 1500); do
    if curl -s -H "authorization: Bearer $token" "$graph/me/events?\$top=500" | grep -q "\"$title\""; then found=1; break; fi
    sleep 0.02
  done
  [ -n "$found" ] || { echo "measure: $title never reached Outlook" >&2; exit 1; }
  lat+=($(( $(now_ms) - t0 )))
done

# The tray's Open brings a new window back.
t0=$(now_ms)
click_item "Open Odoo365 Sync"
for _ in $(seq 300); do [ -n "$(main_window)" ] && break; sleep 0.02; done
[ -n "$(main_window)" ] || { echo "measure: Open in the tray brought no window back" >&2; exit 1; }
reopen=$(( $(now_ms) - t0 ))

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| cold start to tray icon (median of $RUNS) | $(median "${starts[@]}") ms | runs: ${starts[*]} ms |"
echo "| idle RSS, app + WebKit processes, main window open, ${IDLE_SECONDS} s after start | $((rss / 1024)) MiB | $open_webkit WebKit processes |"
echo "| idle CPU over the next 30 s | ${cpu} % of one core | |"
echo "| idle RSS, window closed to the tray, ${CLOSED_SECONDS} s after closing | $((closed_rss / 1024)) MiB | $closed_webkit WebKit processes |"
echo "| idle CPU over the next 30 s, window closed | ${closed_cpu} % of one core | |"
echo "| tray Open to a new main window | $reopen ms | |"
echo "| Sync now (tray) to the Odoo event in Outlook (median of $RUNS) | $(median "${lat[@]}") ms | runs: ${lat[*]} ms |"
echo "binary: $app" >&2
