#!/usr/bin/env bash
# The benchmark of issues 8 and 12, in one command: newsriver beside its
# peers, in one run, on loopback only. For each farm (by default both, one
# after the other, reported side by side at the end):
#
#  1. builds a farm of FEEDS outlets (examples/farm.rs: RSS 2.0 / Atom / JSON
#     Feed, ~10% GBK, stories syndicated across outlets): "synthetic" (ITEMS
#     items a feed, stories of passages, 1-5 outlets each) or "real-length"
#     (`--real-length`: 30 items a feed of whole articles, 3-8 outlets each,
#     ~30k items and 80-90 MB at 1,000 feeds; needs ../shared); or "varied"
#     (`--varied`, issue 24; not in the default list, see --farms): every
#     feed on one host, item counts drawn from real feeds' (1-100, mean
#     ~15), whole articles of any length, one outlet in eight serving
#     summaries, another farm for every --seed; needs ../shared;
#  2. serves it with nginx (static files, nginx's own ETag/Last-Modified) when
#     nginx is installed, else with the farm's own server — and says which;
#  3. times `newsriver poll` cold (empty database), warm (all 304) and after
#     10% of the feeds changed;
#  4. times `newsboat -x reload` (reload-threads = newsriver's concurrency) on
#     the same URLs, same steps, when newsboat is installed;
#  5. renders every topic (`newsriver render`, each format), then loads one
#     cached topic feed over HTTP with wrk from `newsriver serve` and from
#     nginx serving the same bytes as a static file;
#  6. real-length farm only, the daemon step: `newsriver run` on the polled
#     database (idle: nothing due) and on an empty one (its first round is a
#     cold poll of every feed); meanwhile wrk loads `/healthz` and one cached
#     topic feed at a light, steady rate (bench/latency.lua) and reports
#     p50/p99 latency: during the cold poll against idle;
#  7. prints one table per farm (wall, CPU user+sys, CPU ÷ wall, CPU µs per
#     item in all and the writer thread's part of it, peak RSS, items/s,
#     req/s, bytes fetched), the ratios newsriver/peer, and the farms side by
#     side (cold items/s ÷ newsboat, CPU per item, CPU s ÷ wall s, warm,
#     database size ÷ bytes fetched, peak RSS, latency during the cold poll).
#
# Usage: bench/run.sh [FEEDS] [--farms LIST] [--items M] [--seed N] [--repeat R]
#                     [--scale] [--own-server] [--no-newsboat] [--no-serve]
#                     [--no-daemon] [--secs S] [--daemon-secs S] [--keep]
#   FEEDS         feeds in the farm (default 1000)
#   --farms LIST  farms among synthetic, real and varied, comma-separated
#                 (default synthetic,real: the farms of the history in
#                 BENCHMARKS.md; varied adds a third of the run's time)
#   --items M     items per feed of the synthetic farm (default 40; the
#                 real-length farm has 30, the varied farm its own per feed)
#   --seed N      the farms' seed (default 1): another seed, another farm
#   --repeat R    run each poll step R times (default 1); ratios use the best
#   --scale       newsriver's poll steps only, at 250, 1000 and 4000 feeds
#                 (synthetic farm unless --farms says otherwise), then items
#                 per CPU second, CPU µs per item and peak RSS of the cold
#                 polls by size, and their spread, (max - min) ÷ max
#   --sizes LIST  the sizes of --scale (default 250,1000,4000)
#   --own-server  serve the farm with its own server even if nginx is installed
#   --no-newsboat skip newsboat; --no-serve skip step 5; --no-daemon skip step 6
#   --secs S      seconds of each wrk load of step 5 (default 10)
#   --daemon-secs S  seconds of each wrk load of step 6 (default: as long
#                 as the fastest cold `poll`, 2 to 8 s; the daemon's cold
#                 poll takes longer and must outlast it: the output says)
#   --perf        also profile one more cold poll of the real-length farm
#                 (perf record -F 999, flat) and print its samples grouped
#   --keep        keep the work folder (databases, logs) and print its path
#   --postgres    instead: the PostgreSQL store against SQLite's on the
#                 real-length farm (bench/postgres.sh: one and two pollers,
#                 a poller killed mid-poll, the same stories); give FEEDS
#                 before it
# NEWSRIVER_BIN=PATH runs that binary instead of this tree's release build
# (an A/B of two commits in the same minutes; the farm is still this tree's).
# Needs /usr/bin/time, curl and sqlite3; nginx, newsboat and wrk are optional
# (apt-get install -y nginx-light newsboat wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

feeds=1000 items=40 repeat=1 scale=0 newsboat=1 serve=1 own=0 secs=10 keep=0
farms= daemon=1 dsecs=auto profile=0 seed=1 scale_sizes=250,1000,4000
while [ $# -gt 0 ]; do
  case "$1" in
    --farms) farms=$2; shift ;;
    --items) items=$2; shift ;;
    --seed) seed=$2; shift ;;
    --sizes) scale_sizes=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --scale) scale=1 newsboat=0 serve=0 daemon=0 ;;
    --no-daemon) daemon=0 ;;
    --perf) profile=1 ;;
    --daemon-secs) dsecs=$2; shift ;;
    --own-server) own=1 ;;
    --no-newsboat) newsboat=0 ;;
    --no-serve) serve=0 ;;
    --secs) secs=$2; shift ;;
    --keep) keep=1 ;;
    --postgres) shift; exec "$(dirname "$0")/postgres.sh" "$feeds" "$@" ;;
    -h|--help) sed -n '2,65p' "$0"; exit 0 ;;
    [0-9]*) feeds=$1 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$farms" ]; then
  if [ "$scale" = 1 ]; then farms=synthetic; else farms=synthetic,real; fi
fi
kinds=()
for k in ${farms//,/ }; do
  case "$k" in
    synthetic|real|varied) kinds+=("$k") ;;
    *) echo "unknown farm: $k (synthetic, real or varied)" >&2; exit 2 ;;
  esac
done
corpus=../shared/news-zh/articles.jsonl
if [[ " ${kinds[*]} " == *" real "* || " ${kinds[*]} " == *" varied "* ]] && [ ! -r "$corpus" ]; then
  echo "the real-length and varied farms need $corpus (../shared is absent); run --farms synthetic" >&2
  exit 2
fi
for tool in curl sqlite3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y $tool)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
command -v newsboat >/dev/null || { [ "$newsboat" = 1 ] && echo "newsboat not installed: no poll comparison" >&2; newsboat=0; }
have_nginx=0; command -v nginx >/dev/null && have_nginx=1
[ "$own" = 1 ] && have_nginx=0
if [ "$serve" = 1 ] && ! { command -v wrk >/dev/null && command -v nginx >/dev/null; }; then
  echo "wrk or nginx not installed: no HTTP comparison" >&2; serve=0
fi
if [ "$daemon" = 1 ] && ! command -v wrk >/dev/null; then
  echo "wrk not installed: no latency during the poll" >&2; daemon=0
fi

cargo build --release -q --bin newsriver --example farm
bin=${NEWSRIVER_BIN:-$PWD/target/release/newsriver}
farm_bin=$PWD/target/release/examples/farm
# newsriver's concurrency, as the farm's config.toml sets it; newsboat gets the same.
concurrency=32

work=$(mktemp -d /tmp/newsriver-bench.XXXXXX)
# nginx's workers run as another user when started by root: they must read the farm.
chmod 755 "$work"
farm_pid= nginx_pid= serve_pid= daemon_pid=
stop() { # stops one process we started, by its pid
  if [ -n "$1" ]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}
cleanup() {
  stop "$daemon_pid"; stop "$serve_pid"; stop "$nginx_pid"; stop "$farm_pid"
  if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

kv() { sed -n "s/^$1=//p" | head -1; }
farm_get() { curl -fsS "http://127.0.0.1:$ctl_port$1"; }
# A free TCP port on 127.0.0.1 (the kernel picks it; nginx binds it right after).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }

# Feed responses served so far: "200s 304s body-bytes". From nginx's access
# log when nginx serves the farm, else from the farm's counters.
served() {
  if [ "$have_nginx" = 1 ]; then
    awk '$2 ~ /^\/host-/ { if ($1 == 200) { n2++; b += $3 } else if ($1 == 304) n3++ }
         END { printf "%d %d %d\n", n2, n3, b }' "$work/nginx-access.log"
  else
    local s; s=$(farm_get /__stats)
    echo "$(kv responses_200 <<<"$s") $(kv responses_304 <<<"$s") $(kv body_bytes <<<"$s")"
  fi
}

# measure CMD...: runs CMD under /usr/bin/time; sets wall, cpu (user+sys),
# rss_mb; CMD's stderr goes to $err.
measure() {
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$@" 2>"$err" >/dev/null || true
  read -r wall u s kb < <(tail -1 "$work/time.txt")
  cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
  rss_mb=$(awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }')
}
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (n == 0 || t == 0) print "-"; else printf "%.0f", n / t }'; }
# per_item SECONDS ITEMS: microseconds an item ("-" without items).
per_item() { awk -v t="$1" -v n="$2" 'BEGIN { if (n + 0 == 0 || t == "-" || t == "") print "-"; else printf "%.0f", t * 1e6 / n }'; }
# util CPU WALL: CPU seconds ÷ wall seconds (2.00 = both cores busy throughout).
util() { awk -v c="$1" -v w="$2" 'BEGIN { if (w + 0 > 0 && c != "-") printf "%.2f", c / w; else print "-" }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

table=$work/table.txt ratios=$work/ratios.txt
: >"$table"; : >"$ratios"
row() { # farm tool step wall cpu cpu÷wall µs/item writer-µs/item rss items/s req/s MB 200/304/failed notes
  printf '%-11s %-9s %-10s %7s %7s %8s %7s %9s %6s %8s %8s %8s %-16s %s\n' "$@" | tee -a "$table"
}
header() {
  # (µ and ÷ are two bytes each, and printf pads bytes: one more each.)
  printf '\n%-11s %-9s %-10s %7s %7s %9s %8s %10s %6s %8s %8s %8s %-16s %s\n' \
    farm tool step "wall s" "CPU s" "CPU÷wall" "µs/item" "writer µs" "RSS MB" items/s req/s "MB in" \
    "200/304/failed" notes | tee -a "$table"
}
declare -A best=() summ=()
keep_best() { # key value: the highest value seen for key
  best[$1]=$(awk -v a="${best[$1]:-0}" -v b="$2" 'BEGIN { print (b != "-" && b + 0 > a + 0) ? b : a }')
}
keep_min() { # key value: the lowest value seen for key
  best[$1]=$(awk -v a="${best[$1]:-}" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
}

# The polls' log filter: warnings, and the one DEBUG line the writer thread
# logs when `poll` ends, `writer finished cpu_ms=… polls=… items=… groups=…` (its
# own CPU time: the serial part of a poll). `newsriver poll` logs at WARN
# unless told otherwise, so without this the line never reaches $err (the
# poll's stderr); naming that one target keeps every other INFO and DEBUG line, and
# its cost, out of the measured run. It also overrides a RUST_LOG of the
# caller's.
poll_log=warn,newsriver::pipeline::writer=debug

# One newsriver poll; $1 step, $2 expected "new/merged" stories.
nr_poll() {
  local step=$1 expected=$2 before after
  err="$work/nr-$tag-${step// /_}.err"
  before=$(served)
  measure env RUST_LOG="$poll_log" "$bin" --config "$config" poll
  after=$(served)
  local l1 l2
  l1=$(grep -m1 '^polled ' "$err" || true); l2=$(grep -m1 '^items: ' "$err" || true)
  if [ -z "$l1" ] || [ -z "$l2" ]; then echo "newsriver printed no summary:" >&2; cat "$err" >&2; exit 1; fi
  local ok nm failed inew iknown iupd snew smerged
  ok=$(sed -E 's/.*: ([0-9]+) ok.*/\1/' <<<"$l1")
  nm=$(sed -E 's/.* ([0-9]+) not modified.*/\1/' <<<"$l1")
  failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$l1")
  inew=$(sed -E 's/^items: ([0-9]+) new.*/\1/' <<<"$l2")
  iknown=$(sed -E 's/.* ([0-9]+) known.*/\1/' <<<"$l2")
  iupd=$(sed -E 's/.* ([0-9]+) updated.*/\1/' <<<"$l2")
  snew=$(sed -E 's/.*stories: ([0-9]+) new.*/\1/' <<<"$l2")
  smerged=$(sed -E 's/.* ([0-9]+) merged.*/\1/' <<<"$l2")
  # A story that a later copy showed to be another's is "joined to
  # another": counted new when it was made, it is one story fewer and one
  # merge more in the end, which is what the farm's count is.
  local sjoined=0
  [[ "$l2" =~ ([0-9]+)\ joined\ to\ another ]] && sjoined=${BASH_REMATCH[1]}
  local seen=$((inew + iknown + iupd)) ips
  ips=$(rate "$seen" "$wall")
  # The writer thread's CPU time, in seconds ("-" if it logged none: a poll
  # that stored nothing).
  local wline wcpu=- us wus cw
  wline=$(grep -m1 'writer finished' "$err" || true)
  if [[ "$wline" =~ cpu_ms=([0-9]+) ]]; then
    wcpu=$(awk -v m="${BASH_REMATCH[1]}" 'BEGIN { printf "%.3f", m / 1000 }')
  fi
  us=$(per_item "$cpu" "$seen"); wus=$(per_item "$wcpu" "$seen"); cw=$(util "$cpu" "$wall")
  read -r a2 a3 ab <<<"$before"; read -r b2 b3 bb <<<"$after"
  local note="items $inew new $iknown known; stories $snew new $smerged merged (farm: $expected)"
  if [ "$sjoined" != 0 ]; then
    note="items $inew new $iknown known; stories $snew new $smerged merged, $sjoined joined to another:"
    note+=" $((snew - sjoined)) / $((smerged + sjoined)) (farm: $expected)"
  fi
  if [ "$step" = cold ]; then
    # The database after the cold poll, its WAL written back: its size ÷ the
    # feed bytes fetched (issue 12: ≤ 1.3).
    sqlite3 "$farm_dir/farm.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null 2>&1 || true
    local dbb; dbb=$(stat -c %s "$farm_dir/farm.db")
    best["nr cold db"]=$dbb; best["nr cold fetched"]=$((bb - ab))
    note="$note; db $(mb "$dbb") MB"
  fi
  if [ "$wcpu" != - ]; then
    note="$note; writer CPU ${wcpu} s"
  elif [ "$seen" != 0 ]; then
    # The writer thread is not joined: the process can end before it logs.
    note="$note; no writer line"
  fi
  row "$lbl" newsriver "$step" "$wall" "$cpu" "$cw" "$us" "$wus" "$rss_mb" "$ips" - "$(mb $((bb - ab)))" \
    "$ok/$nm/$failed" "$note"
  if [ "$failed" != 0 ]; then sed -n '/^failed:/,$p' "$err" | head -4 | sed 's/^/      /'; fi
  keep_best "nr $step ips" "$ips"; keep_min "nr $step wall" "$wall"; keep_best "nr $step rss" "$rss_mb"
  keep_min "nr $step cpu" "$cpu"; best["nr $step items"]=$seen
  # Per item, the run of least CPU; the writer's part from the run of least
  # CPU among those whose writer logged (with that run's total beside it,
  # "wus of", for its share).
  if [ "${best[nr $step cpu]}" = "$cpu" ]; then best["nr $step us"]=$us; fi
  if [ "$wus" != - ]; then
    keep_min "nr $step cpu logged" "$cpu"
    if [ "${best[nr $step cpu logged]}" = "$cpu" ]; then best["nr $step wus"]=$wus; best["nr $step wus of"]=$us; fi
  fi
  # CPU ÷ wall of the fastest run (issue 12: ≥ 1.6, both cores busy).
  if [ "${best[nr $step wall]}" = "$wall" ]; then best["nr $step util"]=$cw; fi
}

nb_items() { sqlite3 "$work/nb-cache.db" 'SELECT count(*) FROM rss_item' 2>/dev/null || echo 0; }
# One newsboat reload; $1 step.
nb_reload() {
  local step=$1 before after i0 i1
  err="$work/nb-$tag-${step// /_}.err"
  i0=$(nb_items); before=$(served)
  measure env HOME="$work/nb-home" newsboat -u "$farm_dir/urls" -c "$work/nb-cache.db" -C "$work/nb-config" -x reload
  after=$(served); i1=$(nb_items)
  read -r a2 a3 ab <<<"$before"; read -r b2 b3 bb <<<"$after"
  local ips=- note="items stored: $((i1 - i0))"
  # Items/s only cold: then what newsboat stored is what it read.
  [ "$step" = cold ] && ips=$(rate $((i1 - i0)) "$wall")
  [ "$step" = "warm 1" ] && note="$note (2.21 sends validators from its 3rd reload on)"
  local us=-
  [ "$step" = cold ] && us=$(per_item "$cpu" $((i1 - i0)))
  row "$lbl" newsboat "$step" "$wall" "$cpu" "$(util "$cpu" "$wall")" "$us" - "$rss_mb" "$ips" - "$(mb $((bb - ab)))" \
    "$((b2 - a2))/$((b3 - a3))/-" "$note"
  keep_best "nb $step ips" "$ips"; keep_min "nb $step wall" "$wall"
  keep_min "nb $step cpu" "$cpu"; best["nb $step items"]=$((i1 - i0))
  if [ "${best[nb $step wall]}" = "$wall" ]; then best["nb $step util"]=$(awk -v c="$cpu" -v w="$wall" 'BEGIN { printf "%.2f", (w > 0) ? c / w : 0 }'); fi
}

# Starts nginx: the farm (when $1 = farm) on 127.0.0.1-16:$ng_port from $2,
# and the rendered topic feeds on 127.0.0.1:$ng_pub_port from $work/public.
start_nginx() {
  local listen="" k
  for k in $(seq 16); do listen+="    listen 127.0.0.$k:$ng_port;"$'\n'; done
  cat >"$work/nginx.conf" <<NGINX
# As newsriver serve may use every core, so may nginx.
worker_processes auto;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  client_body_temp_path $work/nginx-tmp/body;
  proxy_temp_path $work/nginx-tmp/proxy;
  fastcgi_temp_path $work/nginx-tmp/fastcgi;
  uwsgi_temp_path $work/nginx-tmp/uwsgi;
  scgi_temp_path $work/nginx-tmp/scgi;
  types {
    application/rss+xml xml rss;
    application/atom+xml atom;
    application/feed+json json;
  }
  sendfile on;
  etag on;
  log_format bench '\$status \$uri \$body_bytes_sent';
  server {
$( [ "$1" = farm ] && printf '%s' "$listen" || echo "    listen 127.0.0.1:$ng_port;")
    root $2;
    access_log $work/nginx-access.log bench;
    # The farm's GBK feeds that name their charset in Content-Type.
    location ~ /gb2312/ { charset gb2312; }
  }
  server {
    listen 127.0.0.1:$ng_pub_port;
    root $work/public;
    access_log off;
    gzip_static on;
  }
}
NGINX
  mkdir -p "$work/nginx-tmp" "$work/public"
  nginx -c "$work/nginx.conf" -p "$work" 2>"$work/nginx-start.err" &
  nginx_pid=$!
  for _ in $(seq 50); do [ -s "$work/nginx.pid" ] && return 0; kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
  echo "nginx did not start:" >&2; cat "$work/nginx-start.err" "$work/nginx-error.log" >&2 2>/dev/null; exit 1
}

# CPU seconds (user+sys) of a process and its live children, from /proc.
proc_cpu() {
  local pids="$1 $(pgrep -P "$1" | tr '\n' ' ')" t=0 p
  for p in $pids; do
    t=$(awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{ print t + ($14 + $15) / hz }' "/proc/$p/stat" 2>/dev/null || echo "$t")
  done
  echo "$t"
}
# Peak RSS in MB of a process and its children (the largest).
proc_rss() {
  local pids="$1 $(pgrep -P "$1" | tr '\n' ' ')" m=0 p
  for p in $pids; do
    m=$(awk -v m="$m" '/^VmHWM/ { print ($2 / 1024 > m) ? $2 / 1024 : m; f = 1 } END { if (!f) print m }' "/proc/$p/status" 2>/dev/null || echo "$m")
  done
  printf '%.0f' "$m"
}

# wrk against URL for $secs; sets rps and the server's CPU (pid $2) meanwhile.
load() {
  local url=$1 pid=$2 enc=$3 c0 c1
  c0=$(proc_cpu "$pid")
  rps=$(wrk -t2 -c64 -d"${secs}s" -H "Accept-Encoding: $enc" "$url" | awk '/Requests\/sec/ { printf "%.0f", $2 }')
  c1=$(proc_cpu "$pid")
  cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
}

# run_size FEEDS KIND: every step on one farm (KIND synthetic, real or varied).
run_size() {
  n=$1 kind=$2
  best=()
  local short=synth nitems=$items
  local farm_args=(--feeds "$n" --seed "$seed")
  case "$kind" in
    synthetic) farm_args+=(--items "$items") ;;
    real) short=real nitems=30; farm_args+=(--items 30 --real-length) ;;
    # Its feeds' item counts are its own: the farm reports their mean.
    varied) short=varied; farm_args+=(--varied) ;;
  esac
  lbl="$short $n"
  tag="$kind-$n"
  farm_dir="$work/farm-$tag"
  ng_port=$(free_port); ng_pub_port=$(free_port)
  farm_args+=(--dir "$farm_dir")
  if [ "$have_nginx" = 1 ]; then
    farm_args+=(--static-dir "$farm_dir/www" --url-port "$ng_port")
  fi
  "$farm_bin" "${farm_args[@]}" >"$work/farm-$tag.out" 2>"$work/farm-$tag.err" &
  farm_pid=$!
  for _ in $(seq 1200); do
    grep -q '^config=' "$work/farm-$tag.out" 2>/dev/null && break
    kill -0 "$farm_pid" 2>/dev/null || { cat "$work/farm-$tag.err" >&2; exit 1; }
    sleep 0.1
  done
  ctl_port=$(kv port <"$work/farm-$tag.out")
  config=$(kv config <"$work/farm-$tag.out")
  [ -n "$ctl_port" ] || { echo "farm did not start" >&2; cat "$work/farm-$tag.err" >&2; exit 1; }
  if [ "$have_nginx" = 1 ]; then
    start_nginx farm "$farm_dir/www"
    server="nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') (static files; its ETag/Last-Modified)"
  else
    server="the farm's own server (examples/farm.rs; ETag/Last-Modified)"
  fi
  local stats copies stories shape
  stats=$(farm_get /__stats)
  copies=$(kv copies <<<"$stats"); stories=$(kv stories <<<"$stats")
  shape="$n feeds × $nitems items"
  if [ "$kind" = varied ]; then
    nitems=$(kv items_per_feed <<<"$stats")
    shape="$n feeds × $(kv items_min <<<"$stats")-$(kv items_max <<<"$stats") items (mean $nitems;"
    shape+=" $(kv summary_feeds <<<"$stats") feeds of summaries), seed $seed"
  fi
  echo
  echo "farm ($kind): $shape = $copies copies of $stories stories" \
    "(rss $(kv rss <<<"$stats"), atom $(kv atom <<<"$stats"), json $(kv json <<<"$stats"); gbk $(kv gbk <<<"$stats")," \
    "$(mb "$(kv feed_bytes <<<"$stats")") MB); served by $server on" \
    "$([ "$(kv hosts <<<"$stats")" = 1 ] && echo "one host, 127.0.0.1 (per_host 4 of concurrency 32)" || echo "127.0.0.1-$(kv hosts <<<"$stats")")"
  header

  # 3. newsriver: cold, warm, 10% changed.
  for _ in $(seq "$repeat"); do
    rm -f "$farm_dir"/farm.db*
    nr_poll cold "$stories/$((copies - stories))"
  done
  for _ in $(seq "$repeat"); do nr_poll warm "0/0"; done
  # 4. newsboat on the same URLs.
  if [ "$newsboat" = 1 ]; then
    printf 'reload-threads %s\n' "$concurrency" >"$work/nb-config"
    for _ in $(seq "$repeat"); do
      rm -rf "$work/nb-cache.db" "$work/nb-home"; mkdir -p "$work/nb-home"
      nb_reload cold
    done
    # newsboat 2.21 fetches everything again on its second reload.
    nb_reload "warm 1"; nb_reload "warm 2"
  fi
  for _ in $(seq "$repeat"); do
    local bump
    bump=$(farm_get "/__bump?percent=10")
    if grep -q '^error=' <<<"$bump"; then echo "farm: $bump" >&2; exit 1; fi
    nr_poll "bump 10%" "$(kv expect_stories_new <<<"$bump")/$(kv expect_stories_merged <<<"$bump")"
    [ "$newsboat" = 1 ] && nb_reload "bump 10%"
  done
  echo "database: $(sqlite3 "$farm_dir/farm.db" 'SELECT count(*) FROM copies') copies in" \
    "$(sqlite3 "$farm_dir/farm.db" 'SELECT count(*) FROM stories') stories; farm served" \
    "$(farm_get /__stats | kv copies) copies of $(farm_get /__stats | kv stories) stories" |
    tee -a "$table"
  if [ "$newsboat" = 1 ]; then
    echo "newsboat kept $(sqlite3 "$work/nb-cache.db" 'SELECT count(*) FROM rss_feed') of $n feeds," \
      "$(nb_items) items (2.21 reads no JSON Feed)" | tee -a "$table"
  fi

  # 5. Render every topic, then serve one cached topic feed.
  if [ "$serve" = 1 ]; then serve_step; fi
  # 6. The daemon: latency of /healthz and a topic feed during a cold poll.
  if [ "$daemon" = 1 ] && [ "$kind" = real ]; then daemon_step; fi
  if [ "$profile" = 1 ] && [ "$kind" = real ]; then profile_step; fi

  # Ratios for this farm.
  {
    echo "ratios, $kind farm, $n feeds:"
    awk -v c="${best[nr cold wall]}" -v w="${best[nr warm wall]}" -v r="${best[nr cold rss]}" \
        -v u="${best[nr cold util]}" -v d="${best[nr cold db]}" -v f="${best[nr cold fetched]}" 'BEGIN {
      printf "  newsriver warm ÷ cold wall time: %.3f (target < 0.10); cold peak RSS %s MB (target < 150)\n", w / c, r
      printf "  newsriver cold CPU s ÷ wall s: %s (target ≥ 1.6: both cores busy)\n", u
      printf "  database ÷ feed bytes fetched cold: %.2f (%.1f MB ÷ %.1f MB; target ≤ 1.3)\n", (f > 0) ? d / f : 0, d / 1048576, f / 1048576 }'
    awk -v a="${best[nr cold us]:--}" -v b="${best[nr cold wus]:--}" -v t="${best[nr cold wus of]:--}" \
        -v i="${best[nr cold items]}" -v c="${best[nr cold cpu]}" 'BEGIN {
      printf "  newsriver cold CPU per item: %s µs (%s items per CPU second); ", a, (c + 0 > 0) ? sprintf("%.0f", i / c) : "-"
      if (b == "-") print "the writer thread logged no line in any run (see the notes)"
      else printf "the writer thread %s µs of %s (%.0f%%)\n", b, t, (t + 0 > 0) ? 100 * b / t : 0 }'
    if [ "$newsboat" = 1 ]; then
      awk -v a="${best[nr cold ips]}" -v b="${best[nb cold ips]}" -v c="${best[nr cold wall]}" -v d="${best[nb cold wall]}" \
          -v e="${best[nr warm wall]}" -v f="${best[nb warm 2 wall]}" -v g="${best[nr bump 10% wall]}" -v h="${best[nb bump 10% wall]}" \
          -v i="${best[nr cold items]}" -v j="${best[nr cold cpu]}" -v k="${best[nb cold items]}" -v l="${best[nb cold cpu]}" '
        function r(x, y) { return (y + 0 > 0) ? sprintf("%.2f", x / y) : "-" }
        BEGIN {
          printf "  newsriver ÷ newsboat, cold items/s: %s (target ≥ 5)\n", r(a, b)
          printf "  newsriver ÷ newsboat, cold items per CPU second (less sensitive to a busy machine): %s\n", r(i / j, k / l)
          printf "  newsboat ÷ newsriver wall time (higher = newsriver faster): cold %s, warm %s, bump 10%% %s\n", r(d, c), r(f, e), r(h, g)
        }'
    fi
    if [ "$serve" = 1 ]; then
      awk -v a="${best[serve identity]}" -v b="${best[nginx identity]}" -v c="${best[serve gzip]}" -v d="${best[nginx gzip]}" '
        function r(x, y) { return (y + 0 > 0) ? sprintf("%.2f", x / y) : "-" }
        BEGIN { printf "  newsriver serve ÷ nginx, req/s of one topic feed: identity %s, gzip %s (target ≥ 0.5)\n", r(a, b), r(c, d) }'
    fi
    if [ -n "${best[lat cold healthz]:-}" ]; then
      echo "  daemon, p50 / p99 ms (light load, bench/latency.lua): /healthz idle ${best[lat idle healthz]}, during the cold poll ${best[lat cold healthz]};" \
        "topic feed idle ${best[lat idle topic]}, during the cold poll ${best[lat cold topic]} (target p99 ≤ 50 during)"
    fi
  } | tee -a "$ratios"
  # For the side-by-side summary.
  local key
  for key in "nr cold ips" "nb cold ips" "nr cold items" "nr cold cpu" "nb cold items" "nb cold cpu" \
      "nr cold wall" "nb cold wall" "nr cold util" "nb cold util" "nr warm wall" "nr cold rss" "nr cold db" \
      "nr cold fetched" "serve gzip" "nginx gzip" "serve identity" "nginx identity" "lat idle healthz" \
      "lat cold healthz" "lat idle topic" "lat cold topic" "daemon cold wall" "daemon cold util" "daemon rss" \
      "nr cold us" "nr cold wus" "nr cold wus of"; do
    summ["$kind|$key"]=${best[$key]:-}
    # --scale reports the cold polls by size.
    summ["$kind|$n|$key"]=${best[$key]:-}
  done
  summ["$kind|items per feed"]=$nitems
  summ["$kind|copies"]=$copies; summ["$kind|stories"]=$stories
  summ["$kind|feed MB"]=$(mb "$(kv feed_bytes <<<"$stats")")

  stop "$nginx_pid"; nginx_pid=
  stop "$farm_pid"; farm_pid=
}

serve_step() {
  local slugs fmt slug entries=0
  slugs=$(sed -n 's/^slug = "\(.*\)"$/\1/p' "$config")
  # Every topic in every format, each a process of its own (as cron would).
  err="$work/render.err"
  printf '%s\n' "$slugs" >"$work/slugs"
  measure bash -c 'for s in $(cat "$1"); do for f in atom rss json; do "$2" --config "$3" render "$s" --format $f >"$4/render-$s.$f" || exit 1; done; done' \
    _ "$work/slugs" "$bin" "$config" "$work"
  for slug in $slugs; do entries=$((entries + $(grep -o '<entry>' "$work/render-$slug.atom" | wc -l) * 3)); done
  row "$lbl" newsriver "render" "$wall" "$cpu" "$(util "$cpu" "$wall")" - - "$rss_mb" "$(rate "$entries" "$wall")" - - - \
    "$(wc -w <<<"$slugs") topics × 3 formats, $entries entries"

  # newsriver serve writes the rendered feeds into output_dir, nginx serves those files.
  local nr_port feed_slug size
  nr_port=$(free_port)
  cp "$config" "$work/serve.toml"
  sed -i "s|^path = \"farm.db\"|path = \"$farm_dir/farm.db\"|" "$work/serve.toml"
  printf '\n[server]\nlisten = "127.0.0.1:%s"\nbase_url = "http://127.0.0.1:%s/"\noutput_dir = "%s"\n' \
    "$nr_port" "$nr_port" "$work/public" >>"$work/serve.toml"
  "$bin" --config "$work/serve.toml" serve 2>"$work/serve.err" &
  serve_pid=$!
  feed_slug=$(head -1 <<<"$slugs")
  for _ in $(seq 100); do
    [ -f "$work/public/topics/$feed_slug.atom" ] && curl -fsS -o /dev/null "http://127.0.0.1:$nr_port/topics/$feed_slug.atom" 2>/dev/null && break
    sleep 0.1
  done
  size=$(stat -c %s "$work/public/topics/$feed_slug.atom")
  echo "topic feed /topics/$feed_slug.atom: $(grep -o '<entry>' "$work/public/topics/$feed_slug.atom" | wc -l) entries, $size bytes" \
    "($(stat -c %s "$work/public/topics/$feed_slug.atom.gz") gzipped); wrk -t2 -c64 -d${secs}s, one after the other" | tee -a "$table"
  # With the farm on its own server, nginx runs for this step only.
  [ -n "$nginx_pid" ] || start_nginx public "$work/public"
  local ngx_master; ngx_master=$nginx_pid
  for enc in identity gzip; do
    load "http://127.0.0.1:$nr_port/topics/$feed_slug.atom" "$serve_pid" "$enc"
    row "$lbl" newsriver "serve $enc" "$secs" "$cpu" "$(util "$cpu" "$secs")" - - "$(proc_rss "$serve_pid")" - "$rps" - - \
      "CPU and RSS: the server's"
    best["serve $enc"]=$rps
    load "http://127.0.0.1:$ng_pub_port/topics/$feed_slug.atom" "$ngx_master" "$enc"
    row "$lbl" nginx "serve $enc" "$secs" "$cpu" "$(util "$cpu" "$secs")" - - "$(proc_rss "$ngx_master")" - "$rps" - - \
      "same bytes, static file"
    best["nginx $enc"]=$rps
  done
  stop "$serve_pid"; serve_pid=
}

# A config for `newsriver run` on database $1, serving on 127.0.0.1:$d_port:
# the farm's config, a daily schedule twelve hours from now (every source
# never polled is due at once, and none is due again during the step), and
# a [server] section.
daemon_config() {
  local hour=$(( (10#$(date -u +%H) + 12) % 24 ))
  sed "s|^path = \"farm.db\"|path = \"$1\"|" "$config"
  printf '\n[schedule]\ndefault = "0 0 %d * * *"\n\n[server]\nlisten = "127.0.0.1:%s"\nbase_url = "http://127.0.0.1:%s/"\n' \
    "$hour" "$d_port" "$d_port"
}
# Sources polled so far by the daemon (any outcome), from /metrics.
daemon_polls() {
  curl -fsS "http://127.0.0.1:$d_port/metrics" 2>/dev/null |
    awk '/^newsriver_polls_total/ { n += $NF } END { printf "%d\n", n }'
}
# wrk on /healthz and the topic feed at once, $dsecs seconds, 4 connections
# each pausing 20 ms between requests; $1 names the phase. Sets
# best["lat $1 healthz"] and best["lat $1 topic"] to "p50 / p99".
latency_pair() {
  local phase=$1 u k
  for k in healthz topic; do
    u="http://127.0.0.1:$d_port/healthz"
    [ "$k" = topic ] && u="http://127.0.0.1:$d_port/topics/$feed_slug.atom"
    WRK_DELAY_MS=20 wrk -t1 -c4 -d"${dsecs}s" --timeout 10s -H 'Accept-Encoding: gzip' \
      -s bench/latency.lua "$u" >"$work/wrk-$phase-$k.out" 2>&1 &
    eval "wrk_$k=\$!"
  done
  wait "$wrk_healthz" "$wrk_topic" || true
  for k in healthz topic; do
    local line; line=$(grep -m1 '^latency ' "$work/wrk-$phase-$k.out" || echo "latency p50_ms=- p99_ms=-")
    best["lat $phase $k"]="$(kv_in p50_ms "$line") / $(kv_in p99_ms "$line")"
    best["lat $phase $k full"]=$line
  done
}
kv_in() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# Starts `newsriver run` with config $1; waits until it answers HTTP.
start_daemon() {
  "$bin" --config "$1" run 2>"$2" &
  daemon_pid=$!
  for _ in $(seq 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$d_port/healthz")" != 000 ] && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "newsriver run did not start:" >&2; cat "$2" >&2; exit 1
}

daemon_step() {
  d_port=$(free_port)
  local asked=$dsecs
  if [ "$dsecs" = auto ]; then
    dsecs=$(awk -v w="${best[nr cold wall]}" 'BEGIN { s = int(w); print (s < 2) ? 2 : (s > 8) ? 8 : s }')
  fi
  feed_slug=$(sed -n 's/^slug = "\(.*\)"$/\1/p' "$config" | head -1)
  local t0 t1 t_wrk polls c0 c1 cold_db="$farm_dir/daemon-cold.db"
  echo "daemon step: newsriver run on 127.0.0.1:$d_port; wrk -t1 -c4, 20 ms pause, ${dsecs}s on /healthz and /topics/$feed_slug.atom at once" | tee -a "$table"

  # Idle: the database the poll steps filled; nothing is due.
  daemon_config "$farm_dir/farm.db" >"$work/daemon-idle.toml"
  start_daemon "$work/daemon-idle.toml" "$work/daemon-idle.err"
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$d_port/topics/$feed_slug.atom" 2>/dev/null && break; sleep 0.05
  done
  latency_pair idle
  polls=$(daemon_polls)
  row "$lbl" newsriver "run idle" "$dsecs" - - - - "$(proc_rss "$daemon_pid")" - - - "-" \
    "healthz p50/p99 ms ${best[lat idle healthz]}, topic feed ${best[lat idle topic]}; polls meanwhile: $polls"
  stop "$daemon_pid"; daemon_pid=

  # During a cold poll: an empty database; every source is due at start.
  rm -f "$cold_db"*
  daemon_config "$cold_db" >"$work/daemon-cold.toml"
  t0=$(date +%s.%N)
  start_daemon "$work/daemon-cold.toml" "$work/daemon-cold.err"
  latency_pair cold &
  local lat_pid=$! done_at=
  # The window wrk measured ends at t_wrk; the poll ends when every source polled.
  t_wrk=$(awk -v a="$(date +%s.%N)" -v d="$dsecs" 'BEGIN { printf "%.2f", a + d }')
  for _ in $(seq 6000); do
    polls=$(daemon_polls)
    if [ "${polls:-0}" -ge "$n" ]; then done_at=$(date +%s.%N); break; fi
    sleep 0.1
  done
  # latency_pair ran in a subshell: read its results from the files.
  wait "$lat_pid" || true
  local k line
  for k in healthz topic; do
    line=$(grep -m1 '^latency ' "$work/wrk-cold-$k.out" || echo "latency p50_ms=- p99_ms=-")
    best["lat cold $k"]="$(kv_in p50_ms "$line") / $(kv_in p99_ms "$line")"
  done
  c1=$(proc_cpu "$daemon_pid")
  local wall=- inside=no util=-
  if [ -n "$done_at" ]; then
    wall=$(awk -v a="$t0" -v b="$done_at" 'BEGIN { printf "%.2f", b - a }')
    util=$(awk -v c="$c1" -v w="$wall" 'BEGIN { printf "%.2f", c / w }')
    inside=$(awk -v a="$t_wrk" -v b="$done_at" 'BEGIN { print (a <= b) ? "yes" : "NO (the poll ended first: raise the farm or lower --daemon-secs)" }')
  fi
  best["daemon cold wall"]=$wall; best["daemon cold util"]=$util; best["daemon rss"]=$(proc_rss "$daemon_pid")
  local dcopies; dcopies=$(sqlite3 "$cold_db" 'SELECT count(*) FROM copies' 2>/dev/null || echo 0)
  row "$lbl" newsriver "run cold" "$wall" "$c1" "$util" "$(per_item "$c1" "$dcopies")" - "${best[daemon rss]}" \
    "$(rate "$dcopies" "$wall")" - - "$polls/-/-" \
    "healthz p50/p99 ms ${best[lat cold healthz]}, topic feed ${best[lat cold topic]}; wrk window inside the poll: $inside"
  for k in healthz topic; do
    sed -n 's/^latency /      wrk '"$k"' idle: /p' "$work/wrk-idle-$k.out"
    sed -n 's/^latency /      wrk '"$k"' cold: /p' "$work/wrk-cold-$k.out"
  done | tee -a "$table"
  stop "$daemon_pid"; daemon_pid=
  dsecs=$asked
}

# One more cold poll (empty database) under `perf record`, its samples
# grouped: SQLite, kernel, malloc and copies, normalize/dedupe, XML parsing.
profile_step() {
  local db="$farm_dir/perf.db" cfg="$work/perf.toml"
  rm -f "$db"*
  sed "s|^path = \"farm.db\"|path = \"$db\"|" "$config" >"$cfg"
  if ! perf record -F 999 -o "$work/perf.data" -- "$bin" --config "$cfg" poll >/dev/null 2>"$work/perf.err"; then
    echo "perf record failed: no profile" | tee -a "$table"; tail -3 "$work/perf.err" >&2; return 0
  fi
  perf report -i "$work/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null >"$work/perf.txt" || true
  {
    echo "profile, cold poll of the real-length farm (perf record -F 999, flat; % of samples):"
    awk '
      /^ *[0-9.]+%/ {
        p = $1; sub("%", "", p); dso = $2; sym = $0; sub(/.*\] /, "", sym)
        g = "other"
        if (dso ~ /kernel/) g = "kernel"
        else if (sym ~ /^(sqlite3|pcache|btree|vdbe|wal|pager|yy_|balance|insertCell|moveTo|getAndInit|releasePage|accessPayload|unixRead|unixWrite|robin_hood)/ ) g = "SQLite"
        else if (sym ~ /(malloc|^free|cfree|realloc|_int_|unlink_chunk|tcache|memmove|memcpy|memset|memcmp|alloc::)/) g = "malloc, free, memcpy"
        else if (sym ~ /(normalize|dedupe|unicode_normalization|fast2s|regex|aho_corasick|blake3|html5ever|markup5ever|tendril|unicode_|core::unicode|topics::|query::)/) g = "normalize, dedupe, topics"
        else if (sym ~ /(quick_xml|feed_rs|xml|parse::|encoding_rs|chardetng|decode::)/) g = "XML parsing, decoding"
        else if (sym ~ /(tokio|hyper|reqwest|h2::|rustls|mio::)/) g = "fetch (tokio, hyper)"
        sum[g] += p
        if (n[g] < 4) { top[g] = top[g] sprintf("%s%s %.1f%%", (n[g] ? ", " : ""), substr(sym, 1, 48), p); n[g]++ }
      }
      END { for (g in sum) printf "  %5.1f%%  %-26s %s\n", sum[g], g, top[g] }' "$work/perf.txt" | sort -rn
  } | tee -a "$table"
}

# The farms side by side (one column per farm), from summ[].
summary() {
  local k
  {
    printf '%-44s' ""; for k in "${kinds[@]}"; do printf ' %22s' "$k"; done; echo
    srow() { # label, then an awk expression over the farm's values a..f
      local label=$1 expr=$2; shift 2
      printf '%-44s' "$label"
      for k in "${kinds[@]}"; do
        if [ -z "${summ[$k|$1]:-}" ]; then printf ' %22s' -; continue; fi
        local args=() i=0 v
        for v in "$@"; do args+=(-v "x$i=${summ[$k|$v]:-}"); i=$((i + 1)); done
        printf ' %22s' "$(awk "${args[@]}" "function r(x, y) { return (y + 0 > 0) ? sprintf(\"%.2f\", x / y) : \"-\" } BEGIN { print $expr }")"
      done
      echo
    }
    srow "items per feed / copies / stories" 'x0 " / " x1 " / " x2' "items per feed" copies stories
    srow "feed MB (as served)" 'x0' "feed MB"
    srow "cold items/s: newsriver / newsboat" 'x0 " / " x1' "nr cold ips" "nb cold ips"
    srow "  newsriver ÷ newsboat (target ≥ 5)" 'r(x0, x1)' "nr cold ips" "nb cold ips"
    srow "  per CPU second, newsriver ÷ newsboat" 'r(r(x0, x1), r(x2, x3))' "nr cold items" "nr cold cpu" "nb cold items" "nb cold cpu"
    srow "cold wall s: newsriver / newsboat" 'x0 " / " x1' "nr cold wall" "nb cold wall"
    srow "cold CPU s ÷ wall s: newsriver / newsboat" 'x0 " / " x1' "nr cold util" "nb cold util"
    srow "cold CPU µs per item: all / writer thread" 'x0 " / " ((x1 != "") ? x1 : "-") ((x2 + 0 > 0 && x1 != "") ? sprintf(" (%.0f%% of %s)", 100 * x1 / x2, x2) : "")' \
      "nr cold us" "nr cold wus" "nr cold wus of"
    srow "warm (all 304) wall s; ÷ cold" 'x0 "; " r(x0, x1)' "nr warm wall" "nr cold wall"
    srow "database MB ÷ MB fetched (target ≤ 1.3)" 'sprintf("%.0f / %.0f = %s", x0 / 1048576, x1 / 1048576, r(x0, x1))' "nr cold db" "nr cold fetched"
    srow "cold peak RSS MB (target ≤ 150)" 'x0' "nr cold rss"
    srow "serve ÷ nginx req/s, gzip / identity" 'r(x0, x1) " / " r(x2, x3)' "serve gzip" "nginx gzip" "serve identity" "nginx identity"
    srow "run, cold: wall s, CPU ÷ wall, peak RSS MB" 'x0 ", " x1 ", " x2' "daemon cold wall" "daemon cold util" "daemon rss"
    srow "/healthz p50 / p99 ms, idle" 'x0' "lat idle healthz"
    srow "/healthz p50 / p99 ms, cold poll (≤ 50)" 'x0' "lat cold healthz"
    srow "topic feed p50 / p99 ms, idle" 'x0' "lat idle topic"
    srow "topic feed p50 / p99 ms, cold poll (≤ 50)" 'x0' "lat cold topic"
  } | tee -a "$table"
}

# --scale: per farm, the cold poll at each size (items per CPU second, CPU
# per item in all and in the writer thread, CPU ÷ wall, peak RSS), then the
# spread of items per CPU second and of peak RSS over the sizes, (max - min)
# ÷ max: 0% is flat, what the issue asks of a poll that scales.
scale_report() {
  local k size
  {
    printf '%-10s %6s %8s %8s %16s %10s %14s %9s %12s\n' farm feeds items "CPU s" "items per CPU s" "µs/item" \
      "writer µs/item" "CPU÷wall" "peak RSS MB"
    for k in "${kinds[@]}"; do
      local ipcs=() rsss=()
      for size in "${sizes[@]}"; do
        local it=${summ[$k|$size|nr cold items]:-0} c=${summ[$k|$size|nr cold cpu]:-0} ipc
        ipc=$(rate "$it" "$c")
        ipcs+=("$ipc"); rsss+=("${summ[$k|$size|nr cold rss]:--}")
        printf '%-10s %6s %8s %8s %15s %9s %13s %10s %11s\n' "$k" "$size" "$it" "$c" "$ipc" \
          "${summ[$k|$size|nr cold us]:--}" "${summ[$k|$size|nr cold wus]:--}" "${summ[$k|$size|nr cold util]:--}" \
          "${summ[$k|$size|nr cold rss]:--}"
      done
      awk -v k="$k" -v a="${ipcs[*]}" -v b="${rsss[*]}" '
        function spread(s,   n, v, i, lo, hi) {
          n = split(s, v, " ")
          for (i = 1; i <= n; i++) {
            if (v[i] == "-") return "-"
            if (i == 1 || v[i] + 0 < lo) lo = v[i] + 0
            if (i == 1 || v[i] + 0 > hi) hi = v[i] + 0
          }
          return (hi > 0) ? sprintf("%.0f%%", 100 * (hi - lo) / hi) : "-"
        }
        BEGIN { printf "  %s: spread (max - min) ÷ max over the sizes: items per CPU second %s, peak RSS %s\n", k, spread(a), spread(b) }'
    done
  } | tee -a "$table"
}

echo "newsriver $("$bin" --version | awk '{print $2}') at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+changes');" \
  "$(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "peers: $(command -v newsboat >/dev/null && newsboat --version | head -1 | awk '{print "newsboat", $2}') $(nginx -v 2>&1 | sed 's/.*: //') $(command -v wrk >/dev/null && wrk --version 2>&1 | head -1 | awk '{print "wrk", $2}')"
sizes=("$feeds"); [ "$scale" = 1 ] && read -ra sizes <<<"${scale_sizes//,/ }"
for size in "${sizes[@]}"; do
  for kind in "${kinds[@]}"; do run_size "$size" "$kind"; done
done
echo
echo "=== table ==="
cat "$table"
echo
cat "$ratios"
if [ "$scale" = 0 ]; then
  echo
  echo "=== farms side by side ($feeds feeds; newsriver ÷ peer in the same run) ==="
  summary
else
  echo
  echo "=== scale: cold polls by farm size (the run of least CPU of $repeat) ==="
  scale_report
fi
