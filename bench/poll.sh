#!/usr/bin/env bash
# Throughput of `newsriver poll` against a synthetic farm of syndicated Chinese
# news feeds served on loopback (examples/farm.rs): a cold poll (empty
# database), a warm poll (every feed answers 304), and a poll after 10% of the
# feeds got new items. Each is timed with /usr/bin/time -v. When newsboat is
# installed, `newsboat -x reload` is timed on the same URLs in the same run and
# the ratio of the two is printed.
#
# Usage: bench/poll.sh [FEEDS] [--items M] [--repeat R] [--scale] [--no-newsboat] [--keep]
#   FEEDS         feeds in the farm (default 1000)
#   --items M     items per feed (default 20)
#   --repeat R    run each step R times (default 1); the ratio uses the best run
#   --scale       run at 250, 1000 and 4000 feeds (FEEDS is ignored)
#   --no-newsboat skip newsboat even when it is installed
#   --keep        keep the work folder (databases, logs) and print its path
# Needs /usr/bin/time (installed with apt-get when run as root) and curl or
# bash's /dev/tcp; sqlite3 (optional) adds database totals to the table.
set -euo pipefail
cd "$(dirname "$0")/.."

feeds=1000 items=20 repeat=1 scale=0 newsboat=1 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --items) items=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --scale) scale=1 ;;
    --no-newsboat) newsboat=0 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    [0-9]*) feeds=$1 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# Installs a Debian package once, quietly, when running as root.
try_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
  echo "installing $1 with apt-get…" >&2
  timeout 300 apt-get install -y -q "$1" >/dev/null 2>&1 ||
    { timeout 300 apt-get update -q >/dev/null 2>&1 && timeout 300 apt-get install -y -q "$1" >/dev/null 2>&1; }
}
[ -x /usr/bin/time ] || try_install time || { echo "needs /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
if [ "$newsboat" = 1 ] && ! command -v newsboat >/dev/null; then
  try_install newsboat || echo "newsboat not available: skipping the comparison" >&2
fi
command -v newsboat >/dev/null || newsboat=0
have_sqlite=0; command -v sqlite3 >/dev/null && have_sqlite=1

cargo build --release -q --bin newsriver --example farm
bin=$PWD/target/release/newsriver
farm_bin=$PWD/target/release/examples/farm

work=$(mktemp -d /tmp/newsriver-bench.XXXXXX)
farm_pid=
cleanup() {
  if [ -n "$farm_pid" ]; then kill "$farm_pid" 2>/dev/null || true; wait "$farm_pid" 2>/dev/null || true; fi
  if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# GET http://127.0.0.1:$port$1 from the farm; prints the body.
farm_get() {
  if command -v curl >/dev/null; then
    curl -fsS "http://127.0.0.1:$port$1"
  else
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
    sed '1,/^\r$/d' <&3
    exec 3<&-
  fi
}
# The value of KEY in key=value lines on stdin.
kv() { sed -n "s/^$1=//p" | head -1; }

# measure STDERR_FILE CMD...: runs CMD under /usr/bin/time -v and sets
# wall, cpu (user+sys), rss_mb.
measure() {
  local err=$1; shift
  /usr/bin/time -v -o "$work/time.txt" "$@" 2>"$err" >/dev/null || true
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$work/time.txt")
  cpu=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.2f", u + s}' "$work/time.txt")
  rss_mb=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$work/time.txt")
}

rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (n == 0 || t == 0) print "-"; else printf "%.0f", n / t }'; }

header() {
  printf '\n%-6s %-19s %7s %7s %7s %10s %9s %-16s %-13s %-18s %-18s\n' \
    feeds step "wall s" "CPU s" "RSS MB" sources/s items/s "ok/304/failed" "items new/known" "stories new/merged" "expected new/merged"
}
row() { # feeds step wall cpu rss sources/s items/s ok/304/failed items stories expected
  printf '%-6s %-19s %7s %7s %7s %10s %9s %-16s %-13s %-18s %-18s\n' "$@"
}

# One newsriver poll; $1 label, $2 expected "new/merged".
nr_poll() {
  local label=$1 expected=$2 err="$work/nr-$n-${1// /_}.err"
  measure "$err" "$bin" --config "$config" poll
  local line1 line2 ok nm failed inew iknown iupd snew smerged
  line1=$(grep -m1 '^polled ' "$err" || true)
  line2=$(grep -m1 '^items: ' "$err" || true)
  if [ -z "$line1" ] || [ -z "$line2" ]; then
    echo "newsriver printed no summary; its stderr:" >&2; cat "$err" >&2; exit 1
  fi
  ok=$(sed -E 's/.*: ([0-9]+) ok.*/\1/' <<<"$line1")
  nm=$(sed -E 's/.* ([0-9]+) not modified.*/\1/' <<<"$line1")
  failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line1")
  inew=$(sed -E 's/^items: ([0-9]+) new.*/\1/' <<<"$line2")
  iknown=$(sed -E 's/.* ([0-9]+) known.*/\1/' <<<"$line2")
  iupd=$(sed -E 's/.* ([0-9]+) updated.*/\1/' <<<"$line2")
  snew=$(sed -E 's/.*stories: ([0-9]+) new.*/\1/' <<<"$line2")
  smerged=$(sed -E 's/.* ([0-9]+) merged.*/\1/' <<<"$line2")
  local seen=$((inew + iknown + iupd))
  local ips; ips=$(rate "$seen" "$wall")
  row "$n" "newsriver $label" "$wall" "$cpu" "$rss_mb" "$(rate "$n" "$wall")" "$ips" \
    "$ok/$nm/$failed" "$inew/$iknown" "$snew/$smerged" "$expected"
  if [ "$failed" != 0 ]; then sed -n '/^failed:/,$p' "$err" | head -6 | sed 's/^/       /'; fi
  best_nr[$label]=$(awk -v a="${best_nr[$label]:-0}" -v b="$ips" 'BEGIN { print (b != "-" && b + 0 > a + 0) ? b : a }')
  best_nr_s[$label]=$(awk -v a="${best_nr_s[$label]:-0}" -v b="$(rate "$n" "$wall")" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
}

# One newsboat reload; $1 label. Feeds fetched and not modified come from the
# farm's counters; items are those newsboat stored (needs sqlite3).
nb_reload() {
  local label=$1 err="$work/nb-$n-${1// /_}.err" before after r0 r1 s0 s1
  before=$(nb_items)
  r0=$(farm_get /__stats | kv responses_200); s0=$(farm_get /__stats | kv responses_304)
  measure "$err" env HOME="$work/nb-home" newsboat -u "$farm_dir/urls" -c "$work/nb-cache.db" -C "$work/nb-config" -x reload
  r1=$(farm_get /__stats | kv responses_200); s1=$(farm_get /__stats | kv responses_304)
  after=$(nb_items)
  local stored=$((after - before)) fetched=$((r1 - r0)) notmod=$((s1 - s0)) ips=-
  # Items/s only for a cold reload, where what newsboat stored is what it read.
  [ "$label" = cold ] && ips=$(rate "$stored" "$wall")
  row "$n" "newsboat $label" "$wall" "$cpu" "$rss_mb" "$(rate "$n" "$wall")" "$ips" \
    "$fetched/$notmod/-" "$stored/-" "-" "-"
  best_nb[$label]=$(awk -v a="${best_nb[$label]:-0}" -v b="$ips" 'BEGIN { print (b != "-" && b + 0 > a + 0) ? b : a }')
  best_nb_s[$label]=$(awk -v a="${best_nb_s[$label]:-0}" -v b="$(rate "$n" "$wall")" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
}
nb_items() {
  if [ -f "$work/nb-cache.db" ] && [ "$have_sqlite" = 1 ]; then
    sqlite3 "$work/nb-cache.db" 'SELECT count(*) FROM rss_item' 2>/dev/null || echo 0
  else echo 0; fi
}

run_size() {
  n=$1
  farm_dir="$work/farm-$n"
  "$farm_bin" --feeds "$n" --items "$items" --dir "$farm_dir" >"$work/farm-$n.out" 2>"$work/farm-$n.err" &
  farm_pid=$!
  for _ in $(seq 600); do
    grep -q '^config=' "$work/farm-$n.out" 2>/dev/null && break
    kill -0 "$farm_pid" 2>/dev/null || { cat "$work/farm-$n.err" >&2; exit 1; }
    sleep 0.1
  done
  port=$(kv port <"$work/farm-$n.out")
  config=$(kv config <"$work/farm-$n.out")
  [ -n "$port" ] || { echo "farm did not start" >&2; cat "$work/farm-$n.err" >&2; exit 1; }
  local stats copies stories
  stats=$(farm_get /__stats)
  copies=$(kv copies <<<"$stats"); stories=$(kv stories <<<"$stats")
  echo
  echo "farm: $n feeds × $items items = $copies copies of $stories stories" \
    "(rss $(kv rss <<<"$stats"), atom $(kv atom <<<"$stats"), json $(kv json <<<"$stats"); gbk $(kv gbk <<<"$stats"))" \
    "on 127.0.0.1-16:$port"
  header
  declare -gA best_nr=() best_nr_s=() best_nb=() best_nb_s=()

  for r in $(seq "$repeat"); do
    rm -f "$farm_dir"/farm.db*
    nr_poll cold "$stories/$((copies - stories))"
  done
  for r in $(seq "$repeat"); do nr_poll warm "0/0"; done
  if [ "$newsboat" = 1 ]; then
    printf 'reload-threads 32\n' >"$work/nb-config"
    for r in $(seq "$repeat"); do
      rm -rf "$work/nb-cache.db" "$work/nb-home"; mkdir -p "$work/nb-home"
      nb_reload cold
    done
    # newsboat 2.21 re-fetches everything on its second reload; time two.
    for r in $(seq $((repeat < 2 ? 2 : repeat))); do nb_reload warm; done
  fi
  for r in $(seq "$repeat"); do
    local bump
    bump=$(farm_get "/__bump?percent=10")
    nr_poll "bump 10%" "$(kv expect_stories_new <<<"$bump")/$(kv expect_stories_merged <<<"$bump")"
    [ "$newsboat" = 1 ] && nb_reload "bump 10%"
  done

  if [ "$have_sqlite" = 1 ]; then
    echo "database: $(sqlite3 "$farm_dir/farm.db" 'SELECT count(*) FROM copies') copies in" \
      "$(sqlite3 "$farm_dir/farm.db" 'SELECT count(*) FROM stories') stories;" \
      "farm served $(farm_get /__stats | kv copies) copies of $(farm_get /__stats | kv stories) stories"
    if [ "$newsboat" = 1 ]; then
      echo "newsboat kept $(sqlite3 "$work/nb-cache.db" 'SELECT count(*) FROM rss_feed') of $n feeds," \
        "$(sqlite3 "$work/nb-cache.db" 'SELECT count(*) FROM rss_item') items"
    fi
  fi
  if [ "$newsboat" = 1 ]; then
    awk -v a="${best_nr[cold]}" -v b="${best_nb[cold]}" -v c="${best_nr_s[warm]}" -v d="${best_nb_s[warm]}" \
        -v e="${best_nr_s[bump 10%]}" -v f="${best_nb_s[bump 10%]}" '
      function ratio(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "-" }
      BEGIN { printf "newsriver ÷ newsboat (best runs): items/s cold %s; sources/s warm %s, after the bump %s\n",
        ratio(a, b), ratio(c, d), ratio(e, f) }'
  fi
  kill "$farm_pid" 2>/dev/null || true
  wait "$farm_pid" 2>/dev/null || true
  farm_pid=
}

echo "newsriver $("$bin" --version | awk '{print $2}') at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+changes'); $(nproc) CPUs"
if [ "$scale" = 1 ]; then
  for size in 250 1000 4000; do run_size "$size"; done
else
  run_size "$feeds"
fi
