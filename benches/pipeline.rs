//! Micro-benchmarks of the CPU-bound stages of a poll (`cargo bench --bench
//! pipeline`; see BENCHMARKS.md):
//!
//! - `decode+parse`: feed bytes → `ParsedFeed` (`decode::decode` then
//!   `parse::parse`), in MB/s of feed bytes;
//! - `quick-xml scan`: the same XML bytes read event by event by quick-xml
//!   alone, the floor any feed-rs based parser stands on (feed-rs reads XML
//!   with quick-xml), in MB/s;
//! - `normalize+hash`: `Normalizer::normalize` (sanitize, strip boilerplate,
//!   fold, content hash) per item, in items/s;
//! - `pipeline`: decode + parse + normalize + hash of whole feeds, in MB/s,
//!   to set against the quick-xml floor;
//! - `near-duplicate lookup`: the in-memory part of `store`'s near-duplicate
//!   step — a copy's index keys (`dedupe::index_keys`), its candidates from
//!   an index of stored stories, and `dedupe::judge` on each — in items/s;
//! - `topic matching`: `topics::Matcher::matches` for three topics, in items/s;
//! - `reader page`: `page::river` of 1,000 stories (1–3 outlets each) from
//!   their entries (excerpts, times, outlets, the template; the budget is
//!   50 ms), the entries alone (`publish::entry`: display rule, sanitized
//!   HTML, script, as for the feeds), and both.
//!
//! The fixtures are made here, from a fixed seed: syndicated Chinese-looking
//! stories in RSS 2.0 (UTF-8 and GBK), Atom and JSON Feed, dressed the way
//! outlets dress wire copy (dateline, editor line, "相关推荐" footer), so
//! that every stage does the work it does on real feeds.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use newsriver::dedupe::{self, Params};
use newsriver::model::{NormalizedItem, ParsedItem};
use newsriver::model::{SourceId, StoryId};
use newsriver::normalize::Normalizer;
use newsriver::page::{Clock, River};
use newsriver::publish::FeedMeta;
use newsriver::query::{Query, normalize_term};
use newsriver::store::{FeedCopy, FeedStory, TopicCursor};
use newsriver::topics::Matcher;
use newsriver::wording::Lang;
use newsriver::{decode, parse};

/// Items per fixture feed: what a busy outlet's feed holds.
const ITEMS: usize = 40;

/// SplitMix64, so that the fixtures are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const CITIES: &[&str] = &["北京", "上海", "广州", "深圳", "成都", "武汉", "杭州"];
const SUBJECTS: &[&str] = &[
    "市教委",
    "区政府",
    "交通部门",
    "卫健委",
    "文旅局",
    "科技园区",
];
const VERBS: &[&str] = &["召开", "发布", "启动", "部署", "推进", "完成", "开展"];
const OBJECTS: &[&str] = &[
    "专项整治行动",
    "学生暑期托管服务",
    "老旧小区改造方案",
    "交通安全宣传",
    "数字经济投资计划",
    "就业帮扶计划",
];

/// A story: a title and five paragraphs of made-up news sentences.
fn story(rng: &mut Rng) -> (String, Vec<String>) {
    let title = format!(
        "{}{}{}{}",
        rng.pick(CITIES),
        rng.pick(SUBJECTS),
        rng.pick(VERBS),
        rng.pick(OBJECTS)
    );
    let paras = (0..5)
        .map(|_| {
            let mut p = String::new();
            for _ in 0..3 {
                let n = rng.next() % 900 + 100;
                let _ = write!(
                    p,
                    "{}{}{}{}，涉及{}个街道和{n}家单位，同比增长{}.{}%。",
                    rng.pick(CITIES),
                    rng.pick(SUBJECTS),
                    rng.pick(VERBS),
                    rng.pick(OBJECTS),
                    n % 50 + 2,
                    n % 30,
                    n % 10
                );
            }
            p
        })
        .collect();
    (title, paras)
}

/// One outlet's copy of a story as HTML: its dateline, the story, an editor
/// line and a related-stories footer.
fn dressed(title: &str, paras: &[String], outlet: usize) -> (String, String) {
    let mut html = format!("<p>中新网北京10月9日电（记者 杜燕）{}</p>", paras[0]);
    for p in &paras[1..] {
        let _ = write!(html, "<p>{p}</p>");
    }
    html += "<p>【责任编辑：王五】</p><p>相关推荐</p><p>北京发布暑期安全提示</p>";
    (format!("{title}_outlet{outlet}"), html)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[derive(Clone, Copy)]
enum Kind {
    Rss,
    RssGbk,
    Atom,
    Json,
}

/// A feed of `ITEMS` copies of the stories `first..`, as its bytes and the
/// Content-Type an outlet would send.
fn feed(kind: Kind, stories: &[(String, Vec<String>)], outlet: usize) -> (Vec<u8>, &'static str) {
    let copies: Vec<(String, String, String)> = stories
        .iter()
        .enumerate()
        .map(|(i, (t, p))| {
            let (title, html) = dressed(t, p, outlet);
            (
                title,
                html,
                format!("http://www.o{outlet}.example.cn/{i}.shtml"),
            )
        })
        .collect();
    match kind {
        Kind::Rss | Kind::RssGbk => {
            let charset = if matches!(kind, Kind::RssGbk) {
                "gb2312"
            } else {
                "utf-8"
            };
            let mut x = format!(
                "<?xml version=\"1.0\" encoding=\"{charset}\"?>\n<rss version=\"2.0\"><channel>\
                 <title>outlet {outlet}</title><link>http://www.o{outlet}.example.cn/</link>\
                 <description>news</description>\n"
            );
            for (i, (title, html, link)) in copies.iter().enumerate() {
                let _ = writeln!(
                    x,
                    "<item><title>{}</title><link>{link}</link><guid isPermaLink=\"false\">o{outlet}-{i}</guid>\
                     <pubDate>Thu, 09 Oct 2025 1{}:00:00 +0800</pubDate><description>{}</description></item>",
                    esc(title),
                    i % 10,
                    esc(html)
                );
            }
            x += "</channel></rss>\n";
            if matches!(kind, Kind::RssGbk) {
                (
                    encoding_rs::GBK.encode(&x).0.into_owned(),
                    "application/rss+xml; charset=gb2312",
                )
            } else {
                (x.into_bytes(), "application/rss+xml; charset=utf-8")
            }
        }
        Kind::Atom => {
            let mut x = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
                 <title>outlet {outlet}</title><id>urn:o{outlet}</id><updated>2025-10-09T10:00:00+08:00</updated>\n"
            );
            for (title, html, link) in &copies {
                let _ = writeln!(
                    x,
                    "<entry><title>{}</title><link href=\"{link}\"/><id>{link}</id>\
                     <updated>2025-10-09T10:00:00+08:00</updated><content type=\"html\">{}</content></entry>",
                    esc(title),
                    esc(html)
                );
            }
            x += "</feed>\n";
            (x.into_bytes(), "application/atom+xml; charset=utf-8")
        }
        Kind::Json => {
            let items: Vec<serde_json::Value> = copies
                .iter()
                .map(|(title, html, link)| {
                    serde_json::json!({"id": link, "url": link, "title": title,
                        "content_html": html, "date_published": "2025-10-09T10:00:00+08:00"})
                })
                .collect();
            let doc = serde_json::json!({"version": "https://jsonfeed.org/version/1.1",
                "title": format!("outlet {outlet}"), "items": items});
            (
                serde_json::to_vec(&doc).unwrap_or_default(),
                "application/feed+json",
            )
        }
    }
}

struct Fixtures {
    /// (kind name, bytes, content type)
    feeds: Vec<(&'static str, Vec<u8>, &'static str)>,
    items: Vec<ParsedItem>,
    normalized: Vec<NormalizedItem>,
}

fn fixtures() -> Fixtures {
    let mut rng = Rng(8);
    let stories: Vec<(String, Vec<String>)> = (0..ITEMS).map(|_| story(&mut rng)).collect();
    let feeds: Vec<_> = [
        ("rss", Kind::Rss),
        ("rss-gbk", Kind::RssGbk),
        ("atom", Kind::Atom),
        ("json", Kind::Json),
    ]
    .into_iter()
    .enumerate()
    .map(|(outlet, (name, kind))| {
        let (bytes, ct) = feed(kind, &stories, outlet);
        (name, bytes, ct)
    })
    .collect();
    let items: Vec<ParsedItem> = feeds
        .iter()
        .flat_map(|(_, bytes, ct)| {
            let text = decode::decode(bytes, Some(ct), None, None).text;
            parse::parse(&text, None)
                .map(|f| f.items)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(items.len(), 4 * ITEMS, "every fixture feed parses");
    let normalizer = Normalizer::default();
    let normalized = items.iter().map(|i| normalizer.normalize(i)).collect();
    Fixtures {
        feeds,
        items,
        normalized,
    }
}

/// Reads every event of an XML document; the count keeps the loop honest.
fn quick_xml_scan(text: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) | Err(_) => return events,
            Ok(e) => {
                black_box(&e);
                events += 1;
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let fx = fixtures();
    let normalizer = Normalizer::default();

    let mut g = c.benchmark_group("decode+parse");
    for (name, bytes, ct) in &fx.feeds {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), bytes, |b, bytes| {
            b.iter(|| {
                let text = decode::decode(bytes, Some(ct), None, None).text;
                parse::parse(&text, None).map(|f| f.items.len())
            })
        });
    }
    g.finish();

    // The floor, on the same (UTF-8) XML documents.
    let mut g = c.benchmark_group("quick-xml scan");
    for (name, bytes, ct) in fx.feeds.iter().filter(|(n, ..)| *n != "json") {
        let text = decode::decode(bytes, Some(ct), None, None).text;
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| quick_xml_scan(text))
        });
    }
    g.finish();

    // A whole feed through every CPU stage before the store, beside its floor.
    let mut g = c.benchmark_group("pipeline");
    for (name, bytes, ct) in fx.feeds.iter().filter(|(n, ..)| *n != "json") {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("decode+parse+normalize+hash", name),
            bytes,
            |b, bytes| {
                b.iter(|| {
                    let text = decode::decode(bytes, Some(ct), None, None).text;
                    let feed = parse::parse(&text, None)
                        .map(|f| f.items)
                        .unwrap_or_default();
                    feed.iter()
                        .map(|i| normalizer.normalize(i).content_hash.0.len())
                        .sum::<usize>()
                })
            },
        );
    }
    g.finish();

    let mut g = c.benchmark_group("normalize+hash");
    g.throughput(Throughput::Elements(fx.items.len() as u64));
    g.bench_function("items", |b| {
        b.iter(|| {
            fx.items
                .iter()
                .map(|i| normalizer.normalize(i).content_hash.0.len())
                .sum::<usize>()
        })
    });
    g.finish();

    // Near duplicates: the first outlet's copies are the stored stories (an
    // index from key to story, as the `near_keys` table is); every copy is
    // then looked up: its keys, its candidates (at most 20, as the store
    // takes), the verdict on each.
    let params = Params::default();
    let stored: Vec<&NormalizedItem> = fx.normalized[..ITEMS].iter().collect();
    let mut index: HashMap<i64, Vec<usize>> = HashMap::new();
    for (s, n) in stored.iter().enumerate() {
        for k in dedupe::index_keys(&n.text, &params) {
            index.entry(k).or_default().push(s);
        }
    }
    let mut g = c.benchmark_group("near-duplicate lookup");
    g.throughput(Throughput::Elements(fx.normalized.len() as u64));
    g.bench_function("items", |b| {
        b.iter(|| {
            let mut merged = 0;
            for n in &fx.normalized {
                let mut candidates: Vec<usize> = dedupe::index_keys(&n.text, &params)
                    .iter()
                    .filter_map(|k| index.get(k))
                    .flatten()
                    .copied()
                    .collect();
                candidates.sort_unstable();
                candidates.dedup();
                candidates.truncate(20);
                merged += candidates
                    .iter()
                    .filter(|&&s| {
                        matches!(
                            dedupe::judge(&n.text, &stored[s].text, 0, &params).0,
                            dedupe::Verdict::Same { .. }
                        )
                    })
                    .count();
            }
            merged
        })
    });
    g.finish();

    // Traditional → Simplified folding (fast2s) on top of `fold`, the form
    // near-duplicate keys are computed on: its cost per copy.
    let mut g = c.benchmark_group("script folding");
    g.throughput(Throughput::Elements(fx.normalized.len() as u64));
    g.bench_function("fold", |b| {
        b.iter(|| {
            fx.normalized
                .iter()
                .map(|n| newsriver::normalize::fold(&n.text).len())
                .sum::<usize>()
        })
    });
    g.bench_function("fold+simplified", |b| {
        b.iter(|| {
            fx.normalized
                .iter()
                .map(|n| {
                    newsriver::normalize::simplified(&newsriver::normalize::fold(&n.text)).len()
                })
                .sum::<usize>()
        })
    });
    g.finish();

    let topics: Vec<Matcher> = [
        ("education", "教育 OR 学校 OR 学生"),
        ("economy", "经济 AND (增长 OR 市场 OR 投资)"),
        ("traffic", "title:交通 OR 驾驶 OR 交警"),
    ]
    .into_iter()
    .map(|(slug, q)| Matcher {
        slug: slug.into(),
        query: Query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}")),
        tags: Vec::new(),
        fingerprint: String::new(),
    })
    .collect();
    let tags = vec!["farm".to_string()];
    let mut g = c.benchmark_group("topic matching");
    g.throughput(Throughput::Elements(fx.normalized.len() as u64));
    g.bench_function("3 topics", |b| {
        b.iter(|| {
            fx.normalized
                .iter()
                .map(|n| {
                    // As `Topics::classify` does: both in Simplified script.
                    let title = normalize_term(&n.title);
                    let text = newsriver::query::match_text(&n.text);
                    topics
                        .iter()
                        .filter(|m| m.matches(&title, &text, &tags))
                        .count()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

/// 1,000 stories as a topic's page reads them: story `i` is fixture story
/// `i % ITEMS` carried by 1–3 of the fixture outlets, a minute apart.
fn river_stories(items: &[ParsedItem]) -> Vec<FeedStory> {
    use chrono::{Duration, TimeZone, Utc};
    let start = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
    (0..1000)
        .map(|i| {
            let at = start - Duration::minutes(i as i64);
            let copies: Vec<FeedCopy> = (0..1 + i % 3)
                .map(|outlet| {
                    let item = &items[outlet * ITEMS + i % ITEMS];
                    let html = item.content_html.clone().or(item.summary_html.clone());
                    FeedCopy {
                        source_id: SourceId::from(format!("outlet-{outlet}").as_str()),
                        source_name: ["中国新闻网", "人民网", "新浪新闻"][outlet].to_string(),
                        language: Some("zh-CN".into()),
                        link: Some(format!("https://outlet{outlet}.example/news/{i}.html")),
                        title: item.title.clone(),
                        text_len: html.as_deref().map_or(0, |h| h.chars().count()),
                        summary_html: None,
                        content_html: html,
                        authors: Vec::new(),
                        published: at,
                        item_key: format!("{outlet}-{i}"),
                        low_trust: false,
                        own_link: true,
                        display_title: item.title.clone(),
                        first_seen: at,
                        in_topic: true,
                        enclosures: Vec::new(),
                        categories: Vec::new(),
                    }
                })
                .collect();
            FeedStory {
                id: StoryId(format!("{i:064x}")),
                title: copies[0].title.clone().unwrap_or_default(),
                link: copies[0].link.clone(),
                published: at,
                updated: at,
                first_seen: at,
                copies,
            }
        })
        .collect()
}

fn bench_page(c: &mut Criterion) {
    let fx = fixtures();
    let normalizer = Normalizer::default();
    let stories = river_stories(&fx.items);
    let base = url::Url::parse("https://news.example/").unwrap();
    let meta = FeedMeta {
        slug: "news",
        title: "要闻",
        base_url: &base,
        updated: stories[0].updated,
        lang: Lang::ZhHans,
        script: Lang::ZhHans.script(),
        topic_ids_from: 0,
    };
    let clock = Clock {
        tz: chrono_tz::Asia::Shanghai,
        now: stories[0].published,
    };
    let older = stories.last().map(TopicCursor::after);
    let mut g = c.benchmark_group("reader page");
    g.throughput(Throughput::Elements(stories.len() as u64));
    // The page from its stories' entries: what `page` itself does.
    let items = newsriver::page::items(&meta, &stories, &normalizer);
    assert_eq!(items.len(), stories.len());
    g.bench_function("river of 1,000 entries", |b| {
        b.iter(|| {
            let page = River {
                meta: &meta,
                items: &items,
                count: 5000,
                older: older.clone(),
                first: true,
            };
            newsriver::page::river(&page, clock)
                .map(|html| html.len())
                .unwrap_or(0)
        })
    });
    // The entries (`publish::entry`, as the feeds make them), then both.
    g.bench_function("entries of 1,000 stories", |b| {
        b.iter(|| newsriver::page::items(&meta, &stories, &normalizer).len())
    });
    g.bench_function("river of 1,000 stories", |b| {
        b.iter(|| {
            let items = newsriver::page::items(&meta, &stories, &normalizer);
            let page = River {
                meta: &meta,
                items: &items,
                count: 5000,
                older: older.clone(),
                first: true,
            };
            newsriver::page::river(&page, clock)
                .map(|html| html.len())
                .unwrap_or(0)
        })
    });
    g.finish();
}

criterion_group!(benches, bench, bench_page);
criterion_main!(benches);
