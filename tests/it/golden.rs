//! Golden snapshots: what the parser makes of a few small feeds
//! (`tests/fixtures/parse/`), and a topic rendered in the three formats, each
//! compared with its checked-in twin under `tests/golden/`.
//!
//! A change of output fails here with the first line that differs. When the
//! change is intended, write the twins anew and review them in the diff:
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test --test it golden::
//! ```

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use newsriver::model::{ParsedFeed, ParsedItem};
use newsriver::normalize::Normalizer;
use newsriver::publish::{self, FeedMeta, Format};
use newsriver::store::{Enclosure, FeedCopy, FeedStory};
use serde_json::{Value, json};

// ---- comparing with a twin ---------------------------------------------------

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

/// Compares `actual` with the twin `tests/golden/<name>`, or writes the twin
/// when `UPDATE_GOLDEN=1`.
fn check_golden(name: &str, actual: &str) {
    let path: PathBuf = root().join("tests/golden").join(name);
    if updating() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("golden: wrote {}", path.display());
        return;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "golden file tests/golden/{name} is missing: create it with \
             `UPDATE_GOLDEN=1 cargo test --test it golden::`, read it, and commit it"
        ),
        Err(e) => panic!("{}: {e}", path.display()),
    };
    if let Some(diff) = first_difference(&expected, actual) {
        panic!(
            "output differs from tests/golden/{name}\n{diff}\n\
             If the change is intended: `UPDATE_GOLDEN=1 cargo test --test it golden::`, \
             then review the twin's diff before committing it."
        );
    }
}

/// The first line where the texts differ, both versions of it, and (for long
/// lines, such as a whole XML document on one line) where in the line.
fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut exp = expected.split('\n');
    let mut act = actual.split('\n');
    for n in 1.. {
        let (e, a) = (exp.next(), act.next());
        if e == a {
            continue;
        }
        let (e, a) = (e.unwrap_or("<end of file>"), a.unwrap_or("<end of file>"));
        let at = e
            .char_indices()
            .zip(a.chars())
            .find(|((_, x), y)| x != y)
            .map(|((i, _), _)| i)
            .unwrap_or(e.len().min(a.len()));
        let col = e[..at].chars().count() + 1;
        let window = |s: &str| {
            let start = s[..at.min(s.len())]
                .char_indices()
                .rev()
                .nth(40)
                .map_or(0, |(i, _)| i);
            s[start..].chars().take(120).collect::<String>()
        };
        return Some(format!(
            "first difference at line {n}, column {col}:\n  expected: {}\n  actual:   {}",
            window(e),
            window(a)
        ));
    }
    unreachable!()
}

fn date(d: Option<DateTime<Utc>>) -> Value {
    d.map_or(Value::Null, |d| {
        json!(d.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    })
}

// ---- parse ---------------------------------------------------------------------

/// Every public field of the parsed feed (destructured in full, so a field
/// added to `ParsedFeed` or `ParsedItem` must be added here and to the twins).
fn feed_json(feed: ParsedFeed) -> Value {
    let ParsedFeed {
        format,
        title,
        language,
        items,
        repairs,
        items_in_document,
        skipped,
        broken,
        unreadable_dates,
    } = feed;
    let items: Vec<Value> = items
        .into_iter()
        .map(|item| {
            let key = item.key();
            let ParsedItem {
                guid,
                link,
                title,
                summary_html,
                content_html,
                published,
                updated,
                authors,
                enclosures,
                categories,
            } = item;
            json!({
                "key": key,
                "guid": guid,
                "link": link,
                "title": title,
                "summary_html": summary_html,
                "content_html": content_html,
                "published": date(published),
                "updated": date(updated),
                "authors": authors,
                "enclosures": enclosures,
                "categories": categories,
            })
        })
        .collect();
    json!({
        "format": format,
        "title": title,
        "language": language,
        "items_in_document": items_in_document,
        "skipped": skipped,
        "repairs": repairs,
        "broken": broken,
        "unreadable_dates": unreadable_dates,
        "items": items,
    })
}

/// Parses `tests/fixtures/parse/<file>` as fetched from `url`, and compares
/// the result with `tests/golden/parse/<name>.json`.
fn check_parse(file: &str, url: &str, name: &str) {
    let path = root().join("tests/fixtures/parse").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let feed = newsriver::parse::parse(&text, Some(url))
        .unwrap_or_else(|e| panic!("{file} does not parse: {e}"));
    let mut out = serde_json::to_string_pretty(&feed_json(feed)).unwrap();
    out.push('\n');
    check_golden(&format!("parse/{name}.json"), &out);
}

#[test]
fn parse_rss2_with_chinese_text_and_html_descriptions() {
    check_parse(
        "rss2_zh.xml",
        "https://news.example.cn/rss/tech.xml",
        "rss2_zh",
    );
}

#[test]
fn parse_atom_with_xml_base_and_relative_links() {
    // The feed's URL is another host: xml:base, not the URL, is the base.
    check_parse(
        "atom_base.xml",
        "https://mirror.example.net/feeds/blog.atom",
        "atom_base",
    );
}

#[test]
fn parse_json_feed() {
    check_parse(
        "json_feed.json",
        "https://hot.example.com/feed.json",
        "json_feed",
    );
}

#[test]
fn parse_rss1() {
    check_parse("rss1.rdf", "https://slash.example.org/index.rdf", "rss1");
}

// ---- topic feeds ---------------------------------------------------------------

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn copy(
    source: &str,
    name: &str,
    link: &str,
    title: &str,
    summary: Option<&str>,
    content: Option<&str>,
    authors: &[&str],
    published: DateTime<Utc>,
    text_len: usize,
) -> FeedCopy {
    FeedCopy {
        source_id: source.into(),
        source_name: name.into(),
        language: Some("zh-CN".into()),
        link: Some(link.into()),
        title: Some(title.into()),
        summary_html: summary.map(str::to_string),
        content_html: content.map(str::to_string),
        authors: authors.iter().map(|a| a.to_string()).collect(),
        enclosures: Vec::new(),
        categories: Vec::new(),
        published,
        text_len,
        item_key: link.into(),
        low_trust: false,
        own_link: true,
        display_title: None,
        first_seen: published,
        in_topic: true,
    }
}

/// A topic of two stories: one reported by three outlets (a summary, the
/// full text with a relative image, boilerplate and a script; a third copy),
/// one by a single outlet.
fn topic_stories() -> Vec<FeedStory> {
    let first = at(2026, 10, 9, 2, 0);
    let mut stories = vec![
        FeedStory {
            id: "7d1c0a9e4b3f2a1908c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5".into(),
            title: "京津冀协同发展：三地高校联合招生".into(),
            link: Some("https://a.example.cn/edu/2026/1009/1.html".into()),
            published: first,
            updated: at(2026, 10, 9, 6, 30),
            first_seen: first,
            copies: vec![
                copy(
                    "outlet-a",
                    "甲日报",
                    "https://a.example.cn/edu/2026/1009/1.html",
                    "京津冀协同发展：三地高校联合招生",
                    Some("<p>三地高校明年起联合招生。</p>"),
                    None,
                    &["记者 王五"],
                    first,
                    12,
                ),
                copy(
                    "outlet-b",
                    "乙新闻网",
                    "https://b.example.com/news/2026-10/09/2.shtml",
                    "三地高校联合招生",
                    None,
                    Some(
                        "<p>本报北京10月9日电 三地高校明年起联合招生，\
                         首批二十所学校参加。</p>\
                         <p><img src=\"../../img/campus.jpg\" alt=\"校园\"></p>\
                         <script>track()</script>\
                         <p>责任编辑：赵六</p>",
                    ),
                    &["赵六", "记者 王五"],
                    at(2026, 10, 9, 3, 15),
                    40,
                ),
                copy(
                    "outlet-c",
                    "丙 & 丁 周刊",
                    "https://c.example.org/a/3",
                    "高校联合招生",
                    Some("<p>联合招生。</p>"),
                    None,
                    &[],
                    at(2026, 10, 9, 5, 0),
                    5,
                ),
            ],
        },
        FeedStory {
            id: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
            title: "<b>秋季</b>学期开学 & 新课程".into(),
            link: Some("https://a.example.cn/edu/2026/1008/9.html".into()),
            published: at(2026, 10, 8, 1, 0),
            updated: at(2026, 10, 8, 1, 0),
            first_seen: at(2026, 10, 8, 1, 0),
            copies: vec![copy(
                "outlet-a",
                "甲日报",
                "https://a.example.cn/edu/2026/1008/9.html",
                "秋季学期开学 & 新课程",
                None,
                Some("<p>秋季学期开学，<a href=\"/edu/ai.html\">人工智能</a>进课堂。</p>"),
                &[],
                at(2026, 10, 8, 1, 0),
                20,
            )],
        },
    ];
    // Files and categories: the same picture from two outlets (one URL
    // after normalizing) is listed once; the text's copy (b) comes first.
    let file = |url: &str, mime: Option<&str>, length: Option<u64>| Enclosure {
        url: url.into(),
        mime_type: mime.map(str::to_string),
        length,
    };
    let copies = &mut stories[0].copies;
    copies[0].enclosures = vec![file(
        "https://a.example.cn/img/campus.jpg",
        Some("image/jpeg"),
        Some(48213),
    )];
    copies[0].categories = vec!["教育".into(), "京津冀".into()];
    copies[1].enclosures = vec![
        file(
            "https://b.example.com/audio/2.mp3",
            Some("audio/mpeg"),
            None,
        ),
        file("https://A.EXAMPLE.CN:443/img/campus.jpg", None, None),
    ];
    copies[1].categories = vec!["高校".into(), "教育".into()];
    stories
}

/// Renders the topic in `format`. The feed's `updated` is given (not "now"),
/// so the output depends on nothing but the input. The only part that is not
/// fixed is the generator's version, which is replaced by `VERSION` so the
/// twins need not change with every release. A newline is added at the end
/// (as for the parse twins), so the twins are ordinary text files.
fn render_topic(format: Format) -> String {
    let base = url::Url::parse("https://feeds.example.org/newsriver/").unwrap();
    let meta = FeedMeta {
        slug: "jjj-edu",
        title: "京津冀教育",
        base_url: &base,
        updated: at(2026, 10, 9, 7, 0),
        lang: newsriver::wording::Lang::ZhHans,
        script: newsriver::wording::Script::Simplified,
        topic_ids_from: 0,
    };
    let bytes = publish::render(&meta, &topic_stories(), format, &Normalizer::default());
    let text = String::from_utf8(bytes).expect("a feed is UTF-8");
    let version = env!("CARGO_PKG_VERSION");
    let (from, to) = match format {
        Format::Atom => (
            format!("<generator version=\"{version}\">newsriver</generator>"),
            "<generator version=\"VERSION\">newsriver</generator>".to_string(),
        ),
        Format::Rss => (
            format!("<generator>newsriver {version}</generator>"),
            "<generator>newsriver VERSION</generator>".to_string(),
        ),
        Format::Json => return text + "\n",
    };
    assert_eq!(text.matches(&from).count(), 1, "{format}: generator {from}");
    text.replace(&from, &to) + "\n"
}

#[test]
fn topic_feed_atom() {
    check_golden("feeds/topic.atom", &render_topic(Format::Atom));
}

#[test]
fn topic_feed_rss() {
    check_golden("feeds/topic.rss", &render_topic(Format::Rss));
}

#[test]
fn topic_feed_json() {
    check_golden("feeds/topic.json", &render_topic(Format::Json));
}

#[test]
fn first_difference_names_the_line_and_column() {
    assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
    let d = first_difference("a\nbcd\n", "a\nbxd\n").unwrap();
    assert!(
        d.starts_with("first difference at line 2, column 2:"),
        "{d}"
    );
    assert!(
        d.contains("expected: bcd") && d.contains("actual:   bxd"),
        "{d}"
    );
    let d = first_difference("a\n", "a\nmore\n").unwrap();
    assert!(d.contains("line 2"), "{d}");
}
