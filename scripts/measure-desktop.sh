#!/usr/bin/env bash
# measure-desktop.sh [APP] — the desktop figures of docs/BENCHMARKS.md ("Desktop"), inside
# scripts/desktop-session.sh (with WITH_TRAY_HOST=1, so the tray icon has a host):
#   * cold start to tray icon: launch until the app's tray menu is on the session bus;
#   * idle RSS and CPU of the app and its WebKit processes, IDLE_SECONDS after start with
#     the main window open;
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

sleep "$IDLE_SECONDS"
hz=$(getconf CLK_TCK)
c0=$(ticks $pid); sleep 30; c1=$(ticks $pid)
rss=$(rss_kb $pid)
cpu=$(python3 -c "print(round(($c1-$c0)/$hz/30*100, 2))")

# The tray's "Sync now" item id, from the exported menu (the app rebuilds the menu when a
# profile's line changes, which renumbers it: read the id again before each click).
sync_id() {
busctl --user --json=short call -- "$dest" "$menu" com.canonical.dbusmenu GetLayout iias 0 -1 1 label \
    | python3 -c '
import json,sys
d=json.load(sys.stdin)["data"][1]
def walk(n):
    i,props,kids=n
    if props.get("label",{}).get("data")=="Sync now": print(i); sys.exit()
    for k in kids: walk(k["data"])
walk(d)'
}
click_sync_now() {
  local id
  for _ in $(seq 50); do
    id=$(sync_id) && [ -n "$id" ] \
      && busctl --user call -- "$dest" "$menu" com.canonical.dbusmenu Event isvu "$id" clicked s "" 0 >/dev/null 2>&1 \
      && return 0
    sleep 0.05
  done
  echo "measure: could not click 'Sync now' in the tray menu" >&2; return 1
}
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

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| cold start to tray icon (median of $RUNS) | $(median "${starts[@]}") ms | runs: ${starts[*]} ms |"
echo "| idle RSS, app + WebKit processes, main window open, ${IDLE_SECONDS} s after start | $((rss / 1024)) MiB | |"
echo "| idle CPU over the next 30 s | ${cpu} % of one core | |"
echo "| Sync now (tray) to the Odoo event in Outlook (median of $RUNS) | $(median "${lat[@]}") ms | runs: ${lat[*]} ms |"
echo "binary: $app" >&2
