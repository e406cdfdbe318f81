#!/usr/bin/env bash
# The PostgreSQL store against SQLite's, on one farm, in one run (issue 25;
# docs/scaling.md). Loopback only.
#
#  1. builds the farm (examples/farm.rs; real-length when ../shared has the
#     articles, else synthetic) and serves it with the farm's own server;
#  2. starts a throwaway PostgreSQL cluster (.ci/pg-cluster.sh, durable:
#     fsync on, synchronous_commit off, as SQLite's synchronous = NORMAL);
#  3. cold polls, each on an empty database:
#       sqlite    one `newsriver poll` on SQLite (the reference);
#       pg-1      one poller on PostgreSQL;
#       pg-2      two pollers started together on PostgreSQL (placement
#                 locked per story neighbourhood, the default);
#       pg-2-global  the same with [storage] placement = "global" (every
#                 placement under one lock);
#       failover  two pollers, one killed with SIGKILL when the first polls
#                 are stored (a third of pg-2's time); the other finishes,
#                 taking the dead one's hosts once its leases lapse
#                 ([storage] lease_secs = LEASE);
#  4. for each: wall s, newsriver's CPU s (user+sys, both processes), the
#     server's CPU s (PostgreSQL's processes), CPU µs per item, items/s,
#     database size, and whether the stories are exactly SQLite's: an md5
#     over every story's copies (source/item key), headline, link, date and
#     text hash — which stories, not who saw them first;
#  5. renders the first topic from SQLite and from pg-2 and compares the
#     bytes.
#
# Usage: bench/postgres.sh [FEEDS] [--lease S] [--keep]
#   FEEDS     feeds in the farm (default 1000)
#   --lease S lease_secs of the PostgreSQL runs (default 5)
#   --keep    keep the work folder and the cluster's folder
# NEWSRIVER_BIN=PATH runs that binary instead of this tree's release build.
set -euo pipefail
cd "$(dirname "$0")/.."

feeds=1000 lease=5 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --lease) lease=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    [0-9]*) feeds=$1; shift ;;
    *) echo "usage: bench/postgres.sh [FEEDS] [--lease S] [--keep]" >&2; exit 2 ;;
  esac
done

cargo build --release --quiet --bin newsriver --example farm
bin=${NEWSRIVER_BIN:-$PWD/target/release/newsriver}
work=$(mktemp -d /tmp/newsriver-pgbench.XXXXXX)
pgdir=$(mktemp -d /tmp/newsriver-pgbench-db.XXXXXX)
farm_pid=
cleanup() {
  [ -n "$farm_pid" ] && kill "$farm_pid" 2>/dev/null || true
  if [ "$keep" = 1 ]; then
    echo "kept: $work (cluster: $pgdir, stop it with .ci/pg-cluster.sh stop $pgdir)" >&2
  else
    .ci/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT

mode=--real-length
[ -f ../shared/news-zh/articles.jsonl ] || mode=
target/release/examples/farm $mode --feeds "$feeds" --dir "$work/farm" >"$work/farm.log" 2>&1 &
farm_pid=$!
for _ in $(seq 1 100); do
  grep -q '^feeds=' "$work/farm.log" 2>/dev/null && break
  sleep 0.2
done
grep '^farm:' "$work/farm.log" >&2 || true

url=$(PG_DURABLE=1 .ci/pg-cluster.sh start "$pgdir")
server=${url%/*}
psql_q() { psql "$1" -v ON_ERROR_STOP=1 -Atq -c "$2"; }

# A config on the farm's sources whose [storage] is $1.
config_for() {
  local storage=$1 dir=$2
  mkdir -p "$dir"
  python3 - "$work/farm/config.toml" "$dir/config.toml" "$storage" <<'EOF'
import re, sys
src, dst, storage = sys.argv[1:]
text = open(src).read()
text = re.sub(r'\[storage\]\n(path = .*\n)?', '[storage]\n' + storage + '\n', text, count=1)
open(dst, 'w').write(text)
EOF
}

# CPU ticks (user+sys) the cluster's processes have used so far: the
# postmaster's own and its reaped children's (a backend that served a
# poller is gone by the time this is read), plus those still running.
server_cpu() {
  local main total=0
  main=$(head -1 "$pgdir/data/postmaster.pid")
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$main/stat")
  for p in $(pgrep -P "$main"); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
ticks=$(getconf CLK_TCK)

sqlite_md5() {
  sqlite3 "$1" "select * from (select s.title, s.link, s.published, s.content_hash,
    (select group_concat(source_id||'/'||item_key, ',') from
      (select source_id, item_key from copies where story = s.sid order by 1, 2)) as cs
    from stories s) order by cs" | md5sum | cut -c1-12
}
pg_md5() {
  psql_q "$1" "select * from (select s.title, s.link, s.published, s.content_hash,
    (select string_agg(source_id||'/'||item_key, ',' order by source_id, item_key)
       from copies where story = s.sid) as cs from stories s) x order by cs collate \"C\"" |
    md5sum | cut -c1-12
}

# Runs `newsriver poll` on config $1 in the background (its pid in
# $last_pid); its time file $2.
start_poll() {
  RUST_LOG="warn,newsriver::pipeline::writer=debug" \
    /usr/bin/time -f '%e %U %S %M' -o "$2" "$bin" --config "$1" poll >/dev/null 2>"$2.log" &
  last_pid=$!
}
# user+sys of a time file (its last line: a killed command's first line
# says how it ended).
cpu_of() { tail -1 "$1" 2>/dev/null | awk '{printf "%.2f", $2 + $3}' || echo 0; }

rows=()
record() { rows+=("$(printf '%-11s %7s %9s %9s %8s %9s %9s %7s %9s %8s  %s' "$@")"); }
# Transactions the pollers' writers stored again after a deadlock between
# placement locks (their last log line, `placement_retries`), summed.
retried() {
  { cat "$@" 2>/dev/null | grep -o 'placement_retries=[0-9]*' || true; } | cut -d= -f2 |
    awk '{s += $1} END {printf "%d", s}'
}
# Seconds the pollers' writers spent asking for placement locks (their
# last log line, `placement_wait_ms`: the statements' time included),
# summed.
lock_wait() {
  { cat "$@" 2>/dev/null | grep -o 'placement_wait_ms=[0-9]*' || true; } | cut -d= -f2 |
    awk '{s += $1} END {printf "%.2f", s / 1000}'
}

# --- sqlite
config_for 'path = "news.db"' "$work/sqlite"
start=$(date +%s.%N)
start_poll "$work/sqlite/config.toml" "$work/sqlite/time"
wait "$last_pid"
wall=$(echo "$(date +%s.%N) - $start" | bc)
items=$(sqlite3 "$work/sqlite/news.db" "select count(*) from copies")
ref=$(sqlite_md5 "$work/sqlite/news.db")
size=$(($(stat -c %s "$work/sqlite/news.db") + $(stat -c %s "$work/sqlite/news.db-wal" 2>/dev/null || echo 0)))
cpu=$(cpu_of "$work/sqlite/time")
record sqlite "$(printf %.2f "$wall")" "$cpu" - "$(echo "$cpu * 1000000 / $items" | bc)" \
  "$(echo "$items / $wall" | bc)" - - "$((size / 1048576))MB" "$ref" "reference"

# One PostgreSQL run: $1 label, $2 pollers, $3 kill one after this many s
# (0: no), $4 more [storage] settings.
pg_run() {
  local label=$1 n=$2 kill_after=$3 more=${4:-} db="b_${1//-/_}" dir="$work/$1"
  psql_q "$server/postgres" "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  psql_q "$server/postgres" "CREATE DATABASE $db"
  config_for "url = \"$server/$db\"
lease_secs = $lease
$more" "$dir"
  local cpu0 pids=() start
  cpu0=$(server_cpu)
  start=$(date +%s.%N)
  for i in $(seq 1 "$n"); do
    start_poll "$dir/config.toml" "$dir/time$i"
    pids+=("$last_pid")
  done
  local killed=
  if [ "$kill_after" != 0 ]; then
    sleep "$kill_after"
    killed=${pids[0]}
    # The poller itself, not /usr/bin/time.
    pkill -9 -P "$killed" newsriver || true
  fi
  for p in "${pids[@]}"; do wait "$p" || true; done
  local wall cpu=0 scpu items md5 size note
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  for i in $(seq 1 "$n"); do cpu=$(echo "$cpu + $(cpu_of "$dir/time$i")" | bc); done
  scpu=$(echo "($(server_cpu) - $cpu0) / $ticks" | bc -l)
  items=$(psql_q "$server/$db" "select count(*) from copies")
  md5=$(pg_md5 "$server/$db")
  size=$(psql_q "$server/$db" "select pg_database_size(current_database())")
  note=$([ "$md5" = "$ref" ] && echo "same stories" || echo "DIFFERENT stories")
  [ -n "$killed" ] && note="$note; one poller killed at ${kill_after}s, the other: $(grep -h '^polled' "$dir"/time*.log | tr '\n' ' ' || true)"
  record "$label" "$(printf %.2f "$wall")" "$cpu" "$(printf %.2f "$scpu")" \
    "$(echo "($cpu + $scpu) * 1000000 / $items" | bc)" "$(echo "$items / $wall" | bc)" \
    "$(lock_wait "$dir"/time*.log)" "$(retried "$dir"/time*.log)" "$((size / 1048576))MB" "$md5" "$note"
  last_wall=$wall
}

# A fresh cluster's first heavy write makes its WAL segments (zero-filled
# and synced, fsync being on): an unreported run first, so that the first
# reported one does not pay for it.
pg_run warm-up 1 0
rows=("${rows[0]}")
pg_run pg-1 1 0
pg_run pg-2-global 2 0 'placement = "global"'
pg_run pg-2 2 0
pg_run failover 2 "$(echo "$last_wall / 3" | bc -l | xargs printf %.1f)"

# Rendering a topic (all it reads is the database): from SQLite and from
# PostgreSQL, three times each, the best kept.
topic=$(grep -m1 '^slug' "$work/farm/config.toml" | sed 's/.*"\(.*\)".*/\1/')
best_render() {
  local best=999
  for _ in 1 2 3; do
    local t0 t
    t0=$(date +%s.%N)
    "$bin" --config "$1" render "$topic" >/dev/null 2>&1
    t=$(echo "$(date +%s.%N) - $t0" | bc)
    best=$(echo "if ($t < $best) $t else $best" | bc)
  done
  printf %.3f "$best"
}
render_lite=$(best_render "$work/sqlite/config.toml")
render_pg=$(best_render "$work/pg-2/config.toml")

echo
echo "farm: $(grep '^feeds=' "$work/farm.log"), $(nproc) cores, lease_secs = $lease"
printf '%-11s %7s %9s %9s %8s %9s %9s %7s %9s %8s  %s\n' run "wall s" "poll CPU" "db CPU s" "µs/item" "items/s" "lock wait" retried database md5 ""
for r in "${rows[@]}"; do echo "$r"; done
echo "render '$topic' (the whole command, best of 3): SQLite ${render_lite} s, PostgreSQL ${render_pg} s"
echo "(µs/item: the pollers' CPU and, on PostgreSQL, the server's, per item stored;"
echo " lock wait: seconds the pollers' writers spent asking for placement locks, summed;"
echo " retried: transactions stored again after a deadlock between placement locks)"
