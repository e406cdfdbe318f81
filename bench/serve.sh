#!/usr/bin/env bash
# Requests/s for a cached topic feed: `newsriver serve` against nginx serving
# the same bytes as a static file (written by [server].output_dir), in one run.
# Needs wrk and nginx (apt-get install -y wrk nginx-light) and ../shared/news-zh.
# Usage: bench/serve.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
articles=../shared/news-zh/articles.jsonl
for tool in wrk nginx python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y wrk nginx-light)"; exit 2; }
done
[ -f "$articles" ] || { echo "needs $articles"; exit 2; }
cargo build --release -q
bin=$PWD/target/release/newsriver
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work"' EXIT

# One outlet feed of 300 real articles; one topic that matches most of them.
python3 - "$articles" "$work/feed.xml" <<'PY'
import json, sys, html
from email.utils import formatdate
items = []
for i, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    if i >= 300: break
    a = json.loads(line)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in a["content"].split("\n") if p.strip())
    items.append(f"<item><guid>a{i}</guid><link>https://outlet.example/{i}.html</link>"
                 f"<title>{html.escape(a['title'])}</title><description>{html.escape(body)}</description>"
                 f"<pubDate>{formatdate(1700000000 + i * 600)}</pubDate></item>")
open(sys.argv[2], "w", encoding="utf-8").write(
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>'
    + "".join(items) + "</channel></rss>")
PY
port_nr=18781; port_ng=18782
cat > "$work/config.toml" <<TOML
[storage]
path = "bench.db"
[fetch]
allow_file_urls = true
[server]
listen = "127.0.0.1:$port_nr"
base_url = "http://127.0.0.1:$port_nr/"
output_dir = "public"
[[source]]
id = "outlet"
url = "file://$work/feed.xml"
[[topic]]
slug = "all"
title = "全部"
query = '的 OR 是 OR 在'
TOML
"$bin" --config "$work/config.toml" poll 2>/dev/null
"$bin" --config "$work/config.toml" serve 2>/dev/null &
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { application/atom+xml atom; }
  server {
    listen 127.0.0.1:$port_ng;
    root $work/public;
    etag on;
    gzip_static on;
  }
}
NGINX
for _ in $(seq 50); do [ -f "$work/public/topics/all.atom" ] && break; sleep 0.1; done
nginx -c "$work/nginx.conf"
sleep 0.5
size=$(stat -c %s "$work/public/topics/all.atom")
echo "feed: $(grep -o '<entry>' "$work/public/topics/all.atom" | wc -l) entries, $size bytes; wrk -t2 -c$conns -d${secs}s; nginx: 1 worker"
run() { wrk -t2 -c"$conns" -d"${secs}s" "${@:2}" "$1" | awk '/Requests\/sec/ {print $2}'; }
printf '%-22s %-10s %12s %12s %8s\n' "request" "encoding" "newsriver/s" "nginx/s" "ratio"
for enc in identity gzip; do
  nr=$(run "http://127.0.0.1:$port_nr/topics/all.atom" -H "Accept-Encoding: $enc")
  ng=$(run "http://127.0.0.1:$port_ng/topics/all.atom" -H "Accept-Encoding: $enc")
  ratio=$(python3 -c "print(f'{float(\"$nr\")/float(\"$ng\"):.2f}')")
  printf '%-22s %-10s %12s %12s %8s\n' "GET /topics/all.atom" "$enc" "$nr" "$ng" "$ratio"
done
