//! The reader page: HTML to read topics in a browser, beside their feeds.
//! `index` lists the topics (`/`), `river` is one page of a topic's stories
//! (`/topics/<slug>/`, older pages by `?before=<cursor>`), `error` a page
//! for a topic that does not exist or a damaged link. Pure: stories, words
//! and a clock in, bytes out; `http` caches and serves them.
//!
//! The pages are rendered by minijinja templates (`page/templates/`, built
//! into the binary) with HTML auto-escaping on: every value a template
//! prints is escaped unless it was made a safe string here, and exactly one
//! is: a story's outlets line, `publish::Attribution::html`, which
//! `publish` builds from escaped outlet names and attribute-encoded
//! http(s) links (`safe_link`). Headlines, excerpts, outlet names, topic
//! titles and links are plain strings, escaped by the engine.
//!
//! Every word on a page comes from the topic's `wording::Words`; the only
//! Latin letters a Chinese page carries besides what outlets wrote are the
//! feed formats' names (Atom, RSS, JSON Feed, OPML). No script, no request
//! for anything but the page itself: the style is inline, the icon empty
//! (`data:`), links are relative, so the same bytes serve from `http` and
//! from files in `[server] output_dir`.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use chrono_tz::Tz;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::normalize::Normalizer;
use crate::publish::{self, Entry, FeedMeta, Format, Outlet};
use crate::store::{FeedStory, TopicCursor};
use crate::wording::{Lang, Words};

/// Characters of a story's text shown under its headline.
pub const EXCERPT_CHARS: usize = 120;

/// A template could not be rendered (a bug in a template: every value
/// they read is always given).
pub type Error = minijinja::Error;

/// Where a page's times are local, and when it is (a story of another
/// year shows its year).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

/// One topic on the index page.
pub struct TopicLine<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    /// The language its own page is in.
    pub lang: Lang,
    /// Its stories.
    pub stories: u64,
    /// When it last changed; None when it never had a story.
    pub updated: Option<DateTime<Utc>>,
}

/// Where the index is served: at the root (`/`, `index.html`) or at
/// `/topics/` (`topics/index.html`); its links are relative to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexAt {
    Root,
    Topics,
}

/// A story as a page shows it: its entry, what the feeds show of it
/// (`publish::entry`: the display rule, sanitized HTML, the topic's
/// script, the outlets), and the outlet of a story only one outlet carried
/// (feeds name outlets only when there are several).
pub struct Item<'a> {
    pub entry: Entry<'a>,
    pub outlet: Option<Outlet>,
}

/// One page of a topic.
pub struct River<'a> {
    pub meta: &'a FeedMeta<'a>,
    /// The page's stories, newest first (`items`).
    pub items: &'a [Item<'a>],
    /// All the topic's stories (the header's count).
    pub count: u64,
    /// Where the next (older) page starts, when there is one.
    pub older: Option<TopicCursor>,
    /// The newest page (no link back to it).
    pub first: bool,
}

/// What an error page says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No topic by that slug (404).
    NoSuchTopic,
    /// A `?before=` that is no cursor (400).
    BadPageLink,
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // A name a template reads that no page gives is an error (caught
        // by the unit tests), not an empty string on a reader's screen.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_formatter(|out, state, value| {
            if value.is_safe() || *state.auto_escape() != AutoEscape::Html {
                return minijinja::escape_formatter(out, state, value);
            }
            // minijinja's HTML escaping, less its `/` → `&#x2f;` (links
            // stay readable in the source): `& < > " '` are all that text
            // and quoted attributes need, and every attribute in the
            // templates is quoted.
            out.write_str(&escape(&value.to_string()))
                .map_err(minijinja::Error::from)
        });
        // `.html` names: auto-escaping on (minijinja's default for them).
        for (name, source) in [
            ("base.html", include_str!("page/templates/base.html")),
            ("index.html", include_str!("page/templates/index.html")),
            ("river.html", include_str!("page/templates/river.html")),
            ("error.html", include_str!("page/templates/error.html")),
        ] {
            // The templates are part of the program: one that does not
            // parse fails every unit test of this module.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "bad page template");
            }
        }
        env
    })
}

/// `s` escaped for HTML text and quoted attribute values.
fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out.into()
}

fn render(name: &str, ctx: Value) -> Result<Vec<u8>, Error> {
    Ok(env().get_template(name)?.render(ctx)?.into_bytes())
}

/// A time as the page shows it: local, in the reader's words, and as a
/// `<time datetime>` value.
#[derive(Serialize)]
struct Time {
    iso: String,
    text: String,
}

fn time(t: DateTime<Utc>, words: &Words, clock: Clock) -> Time {
    let local = t.with_timezone(&clock.tz);
    let this_year = clock.now.with_timezone(&clock.tz).year();
    let format = if local.year() == this_year {
        words.time_format
    } else {
        words.time_format_year
    };
    Time {
        iso: local.to_rfc3339_opts(SecondsFormat::Secs, true),
        text: local.format(format).to_string(),
    }
}

#[derive(Serialize)]
struct FeedLink {
    name: &'static str,
    mime: &'static str,
    href: String,
}

/// A topic's three feeds, linked from a page `root` deep.
fn feed_links(prefix: &str, slug: &str) -> Vec<FeedLink> {
    Format::ALL
        .into_iter()
        .map(|format| FeedLink {
            name: match format {
                Format::Atom => "Atom",
                Format::Rss => "RSS",
                Format::Json => "JSON Feed",
            },
            // The media type without its parameters (a `type` attribute).
            mime: format.content_type().split(';').next().unwrap_or_default(),
            href: format!("{prefix}{slug}.{}", format.extension()),
        })
        .collect()
}

#[derive(Serialize)]
struct Alternate {
    mime: &'static str,
    title: String,
    href: String,
}

fn alternates(title: &str, feeds: &[FeedLink]) -> Vec<Alternate> {
    feeds
        .iter()
        .map(|f| Alternate {
            mime: f.mime,
            title: format!("{title} ({})", f.name),
            href: f.href.clone(),
        })
        .collect()
}

#[derive(Serialize)]
struct IndexTopic<'a> {
    slug: &'a str,
    title: &'a str,
    lang: &'static str,
    count: u64,
    count_text: String,
    updated: Option<Time>,
    feeds: Vec<FeedLink>,
}

/// The list of topics in `lang`.
pub fn index(
    lang: Lang,
    topics: &[TopicLine<'_>],
    at: IndexAt,
    clock: Clock,
) -> Result<Vec<u8>, Error> {
    let words = lang.words();
    let root = match at {
        IndexAt::Root => "",
        IndexAt::Topics => "../",
    };
    let lines: Vec<IndexTopic<'_>> = topics
        .iter()
        .map(|t| IndexTopic {
            slug: t.slug,
            title: t.title,
            lang: t.lang.tag(),
            count: t.stories,
            count_text: words.stories(t.stories as usize),
            updated: t.updated.map(|u| time(u, words, clock)),
            feeds: feed_links(&format!("{root}topics/"), t.slug),
        })
        .collect();
    let alternates: Vec<Alternate> = lines
        .iter()
        .flat_map(|t| alternates(t.title, &t.feeds))
        .collect();
    render(
        "index.html",
        minijinja::context! {
            lang => lang.tag(),
            title => words.topics,
            words => Serde(words),
            root,
            alternates => Serde(alternates),
            topics => Serde(lines),
        },
    )
}

/// The items of `stories` in `meta`'s topic, newest first; stories with
/// nothing to show are left out (as from the feeds).
pub fn items<'a>(
    meta: &FeedMeta<'_>,
    stories: &'a [FeedStory],
    normalizer: &Normalizer,
) -> Vec<Item<'a>> {
    items_of(publish::entries(meta, stories, normalizer))
}

/// The page's stories from entries made already (the feeds' of a refresh).
pub fn items_of(entries: Vec<Entry<'_>>) -> Vec<Item<'_>> {
    entries
        .into_iter()
        .map(|entry| {
            let outlet = if entry.attribution.is_empty() {
                entry
                    .story
                    .copies
                    .first()
                    .map(|c| publish::plain_text(&c.source_name))
                    .filter(|name| !name.is_empty())
                    .map(|name| Outlet {
                        name,
                        // The entry's link is this outlet's copy's.
                        link: entry.link.clone(),
                    })
            } else {
                None
            };
            Item { entry, outlet }
        })
        .collect()
}

/// The start of a story's text as plain text, `EXCERPT_CHARS` at most
/// (`publish::excerpt`). Of a prefix of the HTML when that holds enough
/// text: `plain_text` of whole articles was most of a page's own time.
fn excerpt(html: &str) -> String {
    const PREFIX_BYTES: usize = 1536;
    let prefix = crate::html::cut_html(html, PREFIX_BYTES);
    if prefix.len() < html.len() {
        let cut = publish::excerpt(prefix, EXCERPT_CHARS);
        // Longer than the excerpt: ended with `…` from the prefix alone.
        if cut.chars().count() > EXCERPT_CHARS {
            return cut;
        }
    }
    publish::excerpt(html, EXCERPT_CHARS)
}

#[derive(Serialize)]
struct Story<'a> {
    title: &'a str,
    link: Option<&'a str>,
    time: Time,
    excerpt: String,
    /// The attribution line, HTML made safe (see the module's doc).
    outlets: Option<Value>,
    outlet: Option<OneOutlet<'a>>,
    note: Option<&'static str>,
}

#[derive(Serialize)]
struct OneOutlet<'a> {
    name: &'a str,
    link: Option<&'a str>,
}

/// One page of a topic's stories, in its language and script.
pub fn river(page: &River<'_>, clock: Clock) -> Result<Vec<u8>, Error> {
    let meta = page.meta;
    let words = meta.lang.words();
    let title = publish::plain_text(meta.title);
    let stories: Vec<Story<'_>> = page
        .items
        .iter()
        .map(|Item { entry, outlet }| Story {
            title: &entry.title,
            link: entry.link.as_deref(),
            time: time(entry.published, words, clock),
            excerpt: excerpt(&entry.text_html),
            // Safe: publish escapes every name and encodes every link it
            // writes into this line (`Attribution::html`).
            outlets: (!entry.attribution.is_empty())
                .then(|| Value::from_safe_string(entry.attribution.html(words))),
            outlet: outlet.as_ref().map(|o| OneOutlet {
                name: &o.name,
                link: o.link.as_deref(),
            }),
            note: entry.converted_from.map(|from| match from {
                crate::wording::Script::Traditional => words.converted_from_traditional,
                _ => words.converted_from_simplified,
            }),
        })
        .collect();
    let feeds = feed_links("../", meta.slug);
    render(
        "river.html",
        minijinja::context! {
            lang => meta.lang.tag(),
            title => &title,
            topic => &title,
            words => Serde(words),
            alternates => Serde(alternates(&title, &feeds)),
            feeds => Serde(feeds),
            count_text => words.stories(page.count as usize),
            updated => Serde((page.count > 0).then(|| time(meta.updated, words, clock))),
            stories => Serde(stories),
            older => page.older.as_ref().map(|c| c.to_string()),
            first => page.first,
        },
    )
}

/// An error page in `lang`, served `depth` folders below the root (a
/// topic's page: 2).
pub fn error(lang: Lang, problem: Problem, depth: usize) -> Result<Vec<u8>, Error> {
    let words = lang.words();
    let (heading, message) = match problem {
        Problem::NoSuchTopic => (words.not_found, words.no_such_topic),
        Problem::BadPageLink => (words.bad_page_link, words.bad_page_link),
    };
    let root = if depth == 0 {
        "./".to_string()
    } else {
        "../".repeat(depth)
    };
    render(
        "error.html",
        minijinja::context! {
            lang => lang.tag(),
            title => heading,
            words => Serde(words),
            alternates => Serde(Vec::<Alternate>::new()),
            root,
            heading,
            message => (message != heading).then_some(message),
            newest => problem == Problem::BadPageLink,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceId, StoryId};
    use crate::store::FeedCopy;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn copy(source: &str, name: &str, link: &str, title: &str, html: &str) -> FeedCopy {
        FeedCopy {
            source_id: SourceId::from(source),
            source_name: name.to_string(),
            language: Some("zh-CN".into()),
            link: Some(link.to_string()),
            title: Some(title.to_string()),
            summary_html: None,
            content_html: Some(html.to_string()),
            authors: Vec::new(),
            published: at(2026, 12, 5, 2, 32),
            text_len: html.chars().count(),
            item_key: link.to_string(),
            low_trust: false,
            own_link: true,
            display_title: Some(title.to_string()),
            first_seen: at(2026, 12, 5, 2, 33),
            in_topic: true,
            enclosures: Vec::new(),
            categories: Vec::new(),
        }
    }

    fn story(id: &str, published: DateTime<Utc>, copies: Vec<FeedCopy>) -> FeedStory {
        FeedStory {
            id: StoryId::from(id),
            title: copies[0].title.clone().unwrap_or_default(),
            link: copies[0].link.clone(),
            published,
            updated: published,
            first_seen: published,
            copies,
        }
    }

    const SHANGHAI: Clock = Clock {
        tz: chrono_tz::Asia::Shanghai,
        now: DateTime::from_timestamp_nanos(1_796_000_000_000_000_000),
    };

    fn stories() -> Vec<FeedStory> {
        vec![
            story(
                "aa01",
                at(2026, 12, 5, 2, 32),
                vec![
                    copy(
                        "chinanews",
                        "中国新闻网",
                        "https://www.chinanews.com.cn/a/1.shtml",
                        "京津冀教育协同发展工作会议在京召开",
                        "<p>今天，记者从北京市教委了解到，2023年京津冀教育协同发展工作会议在京召开。</p>",
                    ),
                    copy(
                        "people",
                        "人民网",
                        "https://society.people.com.cn/n1/1.html",
                        "京津冀教育协同发展工作会议在京召开",
                        "<p>今天，记者从北京市教委了解到，2023年京津冀教育协同发展工作会议在京召开。</p>",
                    ),
                ],
            ),
            story(
                "aa02",
                at(2025, 3, 1, 0, 5),
                vec![copy(
                    "cna",
                    "中央社",
                    "https://www.cna.com.tw/news/2.aspx",
                    "臺灣高鐵新車廂上路",
                    "<p>臺灣高鐵公司今天表示，新車廂將於下月正式上路。</p>",
                )],
            ),
        ]
    }

    fn meta(lang: Lang) -> FeedMeta<'static> {
        static BASE: OnceLock<url::Url> = OnceLock::new();
        FeedMeta {
            slug: "edu",
            title: "教育",
            base_url: BASE.get_or_init(|| url::Url::parse("http://127.0.0.1:8080/").unwrap()),
            updated: at(2026, 12, 5, 2, 40),
            lang,
            script: lang.script(),
            topic_ids_from: 0,
        }
    }

    fn river_html(
        lang: Lang,
        stories: &[FeedStory],
        older: Option<TopicCursor>,
        first: bool,
    ) -> String {
        let meta = meta(lang);
        let normalizer = Normalizer::new(&Default::default());
        let items = items(&meta, stories, &normalizer);
        let page = River {
            meta: &meta,
            items: &items,
            count: 120,
            older,
            first,
        };
        String::from_utf8(river(&page, SHANGHAI).unwrap()).unwrap()
    }

    /// html5ever's parse errors: none for a valid document.
    fn parse_errors(html: &str) -> Vec<String> {
        scraper::Html::parse_document(html)
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    /// The text a reader sees (no tags, no style), entities decoded.
    fn visible_text(html: &str) -> String {
        let doc = scraper::Html::parse_document(html);
        let body = scraper::Selector::parse("body").unwrap();
        let title = scraper::Selector::parse("title").unwrap();
        let mut text: String = doc.select(&body).flat_map(|b| b.text()).collect();
        text.extend(doc.select(&title).flat_map(|t| t.text()));
        text
    }

    #[test]
    fn a_chinese_river_shows_local_times_outlets_and_excerpts_in_chinese() {
        let html = river_html(Lang::ZhHans, &stories(), None, true);
        assert!(parse_errors(&html).is_empty(), "{:?}", parse_errors(&html));
        assert!(
            html.starts_with("<!DOCTYPE html>\n<html lang=\"zh-Hans\">"),
            "{html}"
        );
        // Beijing time, this year without the year, another year with it.
        assert!(
            html.contains(r#"<time datetime="2026-12-05T10:32:00+08:00">12月5日 10:32</time>"#),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<time datetime="2025-03-01T08:05:00+08:00">2025年3月1日 08:05</time>"#
            ),
            "{html}"
        );
        // Two outlets: the feeds' attribution line, as HTML (not escaped again).
        assert!(html.contains("首发：<a href="), "{html}");
        assert!(html.contains("另见：<a href="), "{html}");
        assert!(!html.contains("&lt;a"), "{html}");
        // One outlet: named by the page, linked to its copy.
        assert!(html.contains("来源：<a href="), "{html}");
        assert!(html.contains(">中央社</a>"), "{html}");
        // Simplified topic: the Traditional story converted, and said so.
        assert!(html.contains("台湾高铁新车厢上路"), "{html}");
        assert!(html.contains("本条由繁体转换为简体显示。"), "{html}");
        assert!(html.contains("今天，记者从北京市教委了解到"), "{html}");
        // Feeds in the head and on the page, relative.
        for (mime, ext) in [
            ("application/atom+xml", "atom"),
            ("application/rss+xml", "rss"),
            ("application/feed+json", "json"),
        ] {
            assert!(
                html.contains(&format!(
                    "<link rel=\"alternate\" type=\"{mime}\" title=\"教育 ("
                )),
                "{html}"
            );
            assert!(html.contains(&format!("href=\"../edu.{ext}\"")), "{html}");
        }
        assert!(html.contains("120 条新闻"), "{html}");
        // Nothing to fetch but the page: no script, no external resource.
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains(" src="), "{html}");
        let mut text = visible_text(&html);
        for name in ["JSON Feed", "Atom", "RSS"] {
            text = text.replace(name, "");
        }
        assert!(
            !text.chars().any(|c| c.is_ascii_alphabetic()),
            "English in a Chinese page: {text}"
        );
    }

    #[test]
    fn a_traditional_river_is_in_traditional_words() {
        let html = river_html(Lang::ZhHant, &stories(), None, true);
        assert!(parse_errors(&html).is_empty(), "{:?}", parse_errors(&html));
        assert!(html.contains("<html lang=\"zh-Hant\">"));
        assert!(html.contains("首發："), "{html}");
        assert!(html.contains("來源："), "{html}");
        assert!(html.contains("120 則新聞"), "{html}");
        assert!(html.contains("臺灣高鐵新車廂上路"), "{html}");
        assert!(
            html.contains("京津冀教育協同發展工作會議在京召開"),
            "{html}"
        );
    }

    #[test]
    fn what_outlets_wrote_is_escaped() {
        let mut evil = stories();
        let c = &mut evil[0].copies[0];
        c.title = Some("<script>alert(1)</script>标题\"'&".into());
        c.display_title = c.title.clone();
        c.source_name = "<img src=x onerror=alert(1)>报".into();
        c.content_html = Some(
            "<p>正文<script>alert(2)</script><img src=\"https://evil.example/x.png\"></p>".into(),
        );
        evil[1].copies[0].source_name = "\"><b>社</b>".into();
        let html = river_html(Lang::ZhHans, &evil, None, true);
        assert!(parse_errors(&html).is_empty(), "{:?}", parse_errors(&html));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("evil.example"), "an excerpt is text: {html}");
        // publish makes them plain text; the page escapes what is left.
        assert!(html.contains(">标题&quot;&#39;&amp;</a>"), "{html}");
        assert!(html.contains(">&quot;&gt;社</a>"), "{html}");
    }

    #[test]
    fn pages_link_older_and_newest() {
        let cursor: TopicCursor = "1796000000_1796000100_aa02".parse().unwrap();
        let html = river_html(Lang::ZhHans, &stories(), Some(cursor.clone()), true);
        assert!(
            html.contains(
                "<a href=\"?before=1796000000_1796000100_aa02\" rel=\"next\">更早的新闻</a>"
            ),
            "{html}"
        );
        assert!(!html.contains("最新新闻"), "{html}");
        let html = river_html(Lang::ZhHans, &stories(), None, false);
        assert!(html.contains("<a href=\"./\">最新新闻</a>"), "{html}");
        assert!(!html.contains("更早的新闻"), "{html}");
        let html = river_html(Lang::ZhHans, &[], None, true);
        assert!(html.contains("暂无新闻。"), "{html}");
        assert!(parse_errors(&html).is_empty(), "{:?}", parse_errors(&html));
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let s = &stories()[0];
        let c = TopicCursor::after(s);
        assert_eq!(c.to_string().parse::<TopicCursor>(), Ok(c.clone()));
        assert_eq!(
            c.to_string(),
            format!(
                "{}_{}_aa01",
                s.published.timestamp(),
                s.first_seen.timestamp()
            )
        );
        assert!("-5_-7_0f".parse::<TopicCursor>().is_ok());
        for bad in [
            "",
            "x",
            "1_2",
            "1_2_",
            "1_2_AB",
            "1_2_zz",
            "+1_2_ab",
            "1_2_ab_cd",
            "1__ab",
            "99999999999999999999_1_ab",
            "1_2_ab'--",
            "1 _2_ab",
        ] {
            assert!(bad.parse::<TopicCursor>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_index_lists_topics_with_counts_times_and_feeds() {
        let topics = [
            TopicLine {
                slug: "edu",
                title: "教育",
                lang: Lang::ZhHans,
                stories: 3,
                updated: Some(at(2026, 12, 5, 2, 40)),
            },
            TopicLine {
                slug: "tw",
                title: "Taiwan <news>",
                lang: Lang::En,
                stories: 0,
                updated: None,
            },
        ];
        let html =
            String::from_utf8(index(Lang::ZhHans, &topics, IndexAt::Root, SHANGHAI).unwrap())
                .unwrap();
        assert!(parse_errors(&html).is_empty(), "{:?}", parse_errors(&html));
        assert!(html.contains("<title>话题</title>"), "{html}");
        assert!(html.contains("<a href=\"topics/edu/\">教育</a>"), "{html}");
        assert!(html.contains("3 条新闻"), "{html}");
        assert!(
            html.contains(
                "更新于 <time datetime=\"2026-12-05T10:40:00+08:00\">12月5日 10:40</time>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<h2 lang=\"en\"><a href=\"topics/tw/\">Taiwan &lt;news&gt;</a></h2>"),
            "{html}"
        );
        assert!(html.contains("暂无新闻。"), "{html}");
        assert!(html.contains("href=\"topics/tw.json\""), "{html}");
        assert!(html.contains("href=\"topics.opml\""), "{html}");
        let html =
            String::from_utf8(index(Lang::ZhHans, &topics, IndexAt::Topics, SHANGHAI).unwrap())
                .unwrap();
        assert!(
            html.contains("<a href=\"../topics/edu/\">教育</a>"),
            "{html}"
        );
        assert!(html.contains("href=\"../topics/edu.atom\""), "{html}");
    }

    #[test]
    fn error_pages_in_the_site_language() {
        let html =
            String::from_utf8(error(Lang::ZhHans, Problem::NoSuchTopic, 2).unwrap()).unwrap();
        assert!(parse_errors(&html).is_empty(), "{:?}", parse_errors(&html));
        assert!(html.contains("<title>找不到此页</title>"), "{html}");
        assert!(html.contains("没有这个话题。"), "{html}");
        assert!(html.contains("<a href=\"../../\">全部话题</a>"), "{html}");
        let html = String::from_utf8(error(Lang::En, Problem::BadPageLink, 2).unwrap()).unwrap();
        assert!(html.contains("<html lang=\"en\">"), "{html}");
        assert!(html.contains("<a href=\"./\">Newest stories</a>"), "{html}");
    }
}
