#!/usr/bin/env python3
"""Compare what `newsriver poll` stores with what feedparser reads, per feed
of ../shared/corpus (issue 13's evaluation; docs/feeds.md has the results).

    pip install feedparser        # not needed by newsriver or its tests
    cargo build --bin newsriver
    python3 bench/feed_compare.py target/debug/newsriver [OLD_BINARY ...] [--corpus DIR] [--misses FILE]

Each binary polls every input file of the corpus once, as a `file://`
source (loopback-free, no network), into a fresh database; the script then
reads the copies it stored and, per feed, compares them with feedparser's
entries:

- a feed counts when feedparser reads at least one entry that has a title,
  a link or text (newsriver skips entries with none of the three, by rule;
  an id feedparser copies into `link`, like `tag:…` or `urn:…`, is not a
  link);
- stored: newsriver stored at least one copy of such a feed;
- titles: the paired entry's title is the same text (markup stripped,
  entities decoded, whitespace collapsed);
- links: the same URL; where feedparser leaves a link relative (it does not
  resolve against a file:// document URL) and ours is the same link made
  absolute, that is counted as agreeing and reported apart;
- dates: where both read a date for the entry, the same instant to the
  second. A difference of exactly our default zone (+8 h) on a date written
  without a zone is our documented rule (zone-less dates are read in the
  source's timezone, Beijing time by default; feedparser reads UTC) and is
  reported apart, not counted as a disagreement; so are the dates
  feedparser misreads (`feedparser_misreads`: a 12-hour clock, whose am/pm
  it drops, and impossible or partial dates it rolls over or completes).

Entries are paired by position when both sides have as many, else by id or
link. Output: one table per binary, by kind of feed (the corpus folder;
Atom split into 0.3 and 1.0), as Markdown.
"""

import argparse
import calendar
import datetime
import html
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

import feedparser

KINDS = ["rss2", "rss1", "atom", "json", "encoding", "entities", "malformed", "real-world", "other"]


def inputs(corpus):
    files = []
    for kind in KINDS:
        for root, _, names in os.walk(corpus / kind):
            for n in names:
                if ".expected." in n:
                    continue
                files.append(Path(root) / n)
    files.sort()
    return files


def kind_of(corpus, path):
    kind = path.relative_to(corpus).parts[0]
    if kind == "atom":
        head = path.read_bytes()[:4096]
        return "atom 0.3" if b"purl.org/atom/ns#" in head else "atom 1.0"
    return kind


def plain(s):
    if s is None:
        return ""
    s = re.sub(r"<[^>]*>", "", s)
    s = html.unescape(s)
    return " ".join(s.split())


def fp_entries(path):
    try:
        d = feedparser.parse(str(path))
    except Exception:
        return []
    out = []
    for e in d.entries:
        title = e.get("title")
        link = e.get("link")
        # feedparser copies an id into `link` (`tag:…`, `urn:…`); that is
        # not a page to link to, and newsriver takes only http(s) ids.
        if link and (
            urllib.parse.urlsplit(link).scheme not in ("", "http", "https")
            or (link == e.get("id") and not link.startswith(("http://", "https://")))
        ):
            link = None
        text = e.get("summary") or (e.get("content") or [{}])[0].get("value")
        if not (plain(title) or link or plain(text)):
            continue
        t = e.get("published_parsed") or e.get("updated_parsed")
        out.append(
            {
                "id": e.get("id"),
                "title": plain(title),
                "link": link,
                "date": calendar.timegm(t) if t else None,
                "raw_date": e.get("published") or e.get("updated"),
            }
        )
    return out


def poll(binary, files):
    """Polls every file once; returns {index: [copies]} and the poll start."""
    tmp = tempfile.mkdtemp(prefix="feed_compare.")
    config = Path(tmp) / "config.toml"
    lines = [
        '[storage]\npath = "news.db"\n',
        "[fetch]\nallow_file_urls = true\nconcurrency = 16\nmax_body_bytes = 20971520\n",
        "[dedupe]\nenabled = false\n",
    ]
    for i, f in enumerate(files):
        url = Path(f).resolve().as_uri()
        lines.append(f'[[source]]\nid = "f{i:05}"\nurl = {json.dumps(url)}\n')
    config.write_text("\n".join(lines))
    started = int(time.time()) - 1
    r = subprocess.run([binary, "--config", str(config), "poll"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{binary} poll failed: {r.stderr[-2000:]}")
    db = sqlite3.connect(Path(tmp) / "news.db")
    copies = defaultdict(list)
    for sid, guid, link, title, published in db.execute(
        "SELECT source_id, guid, link, title, published FROM copies ORDER BY id"
    ):
        copies[int(sid[1:])].append(
            {
                "id": guid,
                "link": link,
                "title": plain(title),
                # "When seen" is no date.
                "date": published if published < started else None,
            }
        )
    return copies


def pair(ours, theirs):
    if len(ours) == len(theirs):
        return list(zip(ours, theirs))
    pairs = []
    for t in theirs:
        m = next(
            (o for o in ours if (t["id"] and o["id"] == t["id"]) or (t["link"] and o["link"] == t["link"])),
            None,
        )
        if m is not None:
            pairs.append((m, t))
    return pairs


def same_link(ours, theirs):
    if ours == theirs:
        return "same"
    if theirs and ours and urllib.parse.urlsplit(theirs).scheme == "":
        # feedparser left it relative; ours is it made absolute?
        if ours.endswith(theirs.lstrip("./")) or urllib.parse.unquote(ours).endswith(theirs.lstrip("./")):
            return "relative"
    if theirs and ours and urllib.parse.urlsplit(ours)._replace(fragment="") == urllib.parse.urlsplit(theirs)._replace(fragment=""):
        return "same"
    if theirs and ours and urllib.parse.unquote(ours) == urllib.parse.unquote(theirs):
        return "same"
    return "differs"


def compare(corpus, files, fp, copies):
    rows = defaultdict(lambda: defaultdict(int))
    misses = defaultdict(list)
    for i, f in enumerate(files):
        theirs = fp[i]
        if not theirs:
            continue
        k = kind_of(corpus, f)
        r = rows[k]
        rel = str(f.relative_to(corpus))
        r["feeds"] += 1
        ours = copies.get(i, [])
        if ours:
            r["stored"] += 1
        else:
            misses["not stored"].append(rel)
        for o, t in pair(ours, theirs):
            r["entries"] += 1
            if o["title"] == t["title"]:
                r["titles"] += 1
            else:
                misses["title"].append(f"{rel}: {o['title']!r} vs feedparser {t['title']!r}")
            verdict = same_link(o["link"], t["link"])
            if verdict != "differs":
                r["links"] += 1
                if verdict == "relative":
                    r["links_fp_relative"] += 1
            else:
                misses["link"].append(f"{rel}: {o['link']!r} vs feedparser {t['link']!r}")
            if t["date"] is not None:
                r["fp_dates"] += 1
                if o["date"] is None:
                    misses["date unread"].append(f"{rel}: {t['raw_date']!r}")
                else:
                    r["both_dates"] += 1
                    if o["date"] == t["date"]:
                        r["dates"] += 1
                    elif o["date"] - t["date"] == -8 * 3600:
                        r["dates_zone_rule"] += 1
                    elif feedparser_misreads(t["raw_date"]):
                        r["dates_fp_wrong"] += 1
                        misses["date: feedparser wrong"].append(
                            f"{rel}: {t['raw_date']!r}: ours {o['date']} feedparser {t['date']} ({o['date'] - t['date']:+d} s)"
                        )
                    else:
                        misses["date differs"].append(
                            f"{rel}: {t['raw_date']!r}: ours {o['date']} feedparser {t['date']} ({o['date'] - t['date']:+d} s)"
                        )
    return rows, misses


def feedparser_misreads(raw):
    """Dates feedparser reads wrongly: a 12-hour clock (it drops am/pm and,
    with it, the zone), or an impossible or partial date (day 32, month 13,
    second 61, a year alone), which it rolls over or completes where
    newsriver refuses it (and uses the entry's other date)."""
    if not raw:
        return False
    if re.search(r"\d\s*[ap]\.?m\.?\b", raw, re.I):
        return True
    if re.fullmatch(r"\d{4}(-\d{2})?", raw.strip()):
        return True
    m = re.match(r"(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})", raw.strip())
    if m:
        try:
            y, mo, d, h, mi, sec = map(int, m.groups())
            datetime.datetime(y, mo, d, h, mi, sec)
        except ValueError:
            return True
        if "-" not in raw[:8]:
            return True
    return False


def pct(a, b):
    return f"{100.0 * a / b:.1f}%" if b else "-"


def table(rows):
    order = ["rss2", "rss1", "atom 1.0", "atom 0.3", "json", "encoding", "entities", "malformed", "real-world", "other"]
    out = [
        "| kind | feeds feedparser reads | entries stored (feeds) | titles agree | links agree (of which feedparser relative) | dates agree (both read) | zone rule | feedparser wrong | feedparser dates we do not read |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    total = defaultdict(int)
    for k in order + sorted(set(rows) - set(order)):
        if k not in rows:
            continue
        r = rows[k]
        for key, v in r.items():
            total[key] += v
        out.append(line(k, r))
    out.append(line("**all**", total))
    return "\n".join(out)


def line(k, r):
    return (
        f"| {k} | {r['feeds']} | {r['stored']} ({pct(r['stored'], r['feeds'])}) "
        f"| {r['titles']}/{r['entries']} ({pct(r['titles'], r['entries'])}) "
        f"| {r['links']}/{r['entries']} ({pct(r['links'], r['entries'])}; {r['links_fp_relative']}) "
        f"| {r['dates']}/{r['both_dates'] - r['dates_zone_rule'] - r['dates_fp_wrong']} "
        f"({pct(r['dates'], r['both_dates'] - r['dates_zone_rule'] - r['dates_fp_wrong'])}) "
        f"| {r['dates_zone_rule']} | {r['dates_fp_wrong']} | {r['fp_dates'] - r['both_dates']}/{r['fp_dates']} |"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"))
    ap.add_argument("--misses", help="write each binary's disagreements to FILE.<n>.txt")
    args = ap.parse_args()
    corpus = Path(args.corpus).resolve()
    if not corpus.is_dir():
        sys.exit(f"no corpus at {corpus}")
    files = inputs(corpus)
    fp = [fp_entries(f) for f in files]
    print(f"{len(files)} files; feedparser reads entries in {sum(1 for e in fp if e)}\n")
    for n, binary in enumerate(args.binaries):
        copies = poll(binary, files)
        rows, misses = compare(corpus, files, fp, copies)
        print(f"### {binary}\n")
        print(table(rows))
        print()
        if args.misses:
            with open(f"{args.misses}.{n}.txt", "w") as out:
                for kind, items in misses.items():
                    out.write(f"## {kind}: {len(items)}\n")
                    for m in items:
                        out.write(f"  {m}\n")


if __name__ == "__main__":
    main()
