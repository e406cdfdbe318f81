#!/usr/bin/env bash
# Peak memory of one cold poll of 12 feeds of ~10 MB each (real-length
# articles from ../shared/news-zh), served on loopback, at three settings of
# [fetch].max_bytes_in_flight: unbounded (2 GiB), the default (32 MiB: three
# large bodies at once) and one body at a time (10 MiB). Needs python3 and
# GNU time (/usr/bin/time). Usage: bench/large_feeds.sh [path/to/newsriver]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/target/release/newsriver}"
articles="$here/../shared/news-zh/articles.jsonl"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
[ -f "$articles" ] || { echo "needs $articles" >&2; exit 2; }
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$articles" "$work" <<'PY'
import html, json, sys
arts = [json.loads(l) for l in open(sys.argv[1])]
for f in range(12):
    out = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
           f'<title>feed {f}</title><link>https://f{f}.example/</link><description>d</description>']
    size, i = 0, 0
    while size < 9_800_000:
        a = arts[(i * 7 + f * 131) % len(arts)]
        body = '<p>' + html.escape(a['content']).replace('\n', '</p><p>') + '</p>'
        item = (f'<item><guid>f{f}-{i}</guid><link>https://f{f}.example/{i}.html</link>'
                f'<title>{html.escape(a["title"])} {i}</title><description><![CDATA[{body}]]></description>'
                '<pubDate>Mon, 09 Oct 2023 08:00:00 +0800</pubDate></item>')
        out.append(item); size += len(item.encode()); i += 1
    out.append('</channel></rss>')
    open(f'{sys.argv[2]}/f{f}.xml', 'w').write(''.join(out))
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
sleep 1
for setting in 2147483648 33554432 10485760; do
  dir="$work/run-$setting"; mkdir "$dir"
  {
    printf '[fetch]\nallow_private_addresses = true\ntimeout_secs = 60\nmax_bytes_in_flight = %s\n' "$setting"
    for i in $(seq 0 11); do printf '[[source]]\nid = "f%d"\nurl = "http://127.0.0.1:%s/f%d.xml"\n' "$i" "$port" "$i"; done
  } > "$dir/config.toml"
  /usr/bin/time -f "max_bytes_in_flight=$setting: %e s wall, %M KB peak RSS" \
    "$bin" --config "$dir/config.toml" poll 2>&1 | tail -1
done
