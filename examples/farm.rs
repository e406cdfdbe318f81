//! A synthetic "feed farm" for benchmarking `newsriver poll` (see `bench/run.sh`):
//!
//! ```sh
//! cargo run --release --example farm -- --feeds 1000 --items 20 --dir /tmp/farm
//! ```
//!
//! It builds N outlet feeds of M items each and serves them over HTTP/1.1 on
//! loopback until killed. The stories are the real Chinese articles of
//! `../shared/news-zh/articles.jsonl` when present (else generated text;
//! near-duplicate articles dropped), then — there are more stories than
//! articles — texts put together from passages of several articles, checked
//! to share under a third of their 5-grams with any of them. They are
//! syndicated the way wire copy is: each story appears in 1 to 5 outlets (3
//! on average), each outlet dressing it in its own house style — datelines
//! (`中新网北京10月9日电（记者 杜燕）`), `原标题：…`, `责任编辑：…`, `(完)`,
//! "相关推荐" footers or bare lists of other titles, title decorations
//! (`_中国新闻网`), full-width digits, `<p>`, `<br>` or plain-text bodies.
//! Only boilerplate that newsriver's README says it removes is used, so the
//! copies of a story should merge and different stories should not: the farm
//! prints how many stories and copies it served, and a poll should report
//! that many new and merged.
//!
//! `--real-length` builds the shape of issue 12 instead: every story is a
//! whole article of `../shared/news-zh/articles.jsonl` (its full text, never
//! passages), carried by 3 to 8 outlets (5.5 on average) in the same house
//! styles, 30 items a feed by default: about 30k items and 80–90 MB for
//! 1,000 feeds. Articles over `--max-chars` (2,000) characters, near
//! duplicates and mostly-Latin texts are left out: 1,212 articles remain
//! (~2.3 KB of UTF-8 each), and such a farm needs ~5,500 stories, so once
//! every article is used a story is an article again, re-lettered
//! (`Lettering`: its CJK characters mapped to others of the same corpus
//! frequency; same length, bytes, paragraphs and punctuation, no shared
//! 5-grams). This mode needs the corpus: without it the farm exits with an
//! error (it never falls back to generated text).
//!
//! `--varied` (issue 24) gives the farm the shape of the real world instead
//! of one tuned size: every feed on one host (127.0.0.1, so that
//! `per_host` really limits), each feed carrying as many items as a real
//! feed of `../shared/corpus` drawn at random (`REAL_FEED_ITEMS`: 1 to 100,
//! median 12, mean 15.2), stories that are whole articles of any length
//! drawn from the corpus (as in real-length mode, but with no `--max-chars`
//! cap: 100 to 5,959 characters, median 850) and carried by 3 to 8 outlets,
//! and one outlet in eight serving cut summaries instead of the text
//! (`SUMMARY_SHARE`). Each `--seed` gives another farm. It needs the
//! corpus, as real-length mode does.
//!
//! Formats are mixed (about 70% RSS 2.0, 18% Atom, 12% JSON Feed) and 15% of
//! the RSS feeds (about 10% of all) are GBK bytes that declare
//! `encoding="gb2312"` (half of them say so in `Content-Type` too, half only
//! in the XML declaration).
//!
//! Feed J is served at `http://127.0.0.K:PORT/host-K/feed-J.xml` (`.atom` for
//! Atom, `.json` for JSON Feed, `/host-K/gb2312/feed-J.xml` for the GBK feeds
//! whose `Content-Type` names the charset: a static server such as nginx can
//! then tell them apart by path), K in 1..=16: distinct loopback addresses are distinct hosts for
//! newsriver's `per_host` limit, and all of them reach the loopback interface
//! on Linux. The server listens on each of those addresses, never on a public
//! interface. Every feed has an `ETag` and a `Last-Modified`; a matching
//! `If-None-Match` (or, without one, `If-Modified-Since`) gets `304`.
//!
//! Control requests (on any of the addresses):
//! - `GET /__bump?percent=K` gives K% of the feeds (default `--change-percent`)
//!   `max(1, M/4)` new items each, syndicated among those feeds, dropping as
//!   many old ones; it answers `key=value` lines: feeds changed, new items,
//!   new stories, and what the next poll should report.
//! - `GET /__stats` answers the totals served so far, in the same form, with
//!   the count of feed requests answered 200, 304 and 404 and the body bytes
//!   sent.
//!
//! With `--static-dir DIR` every feed is also written to `DIR` + its path
//! (rewritten, atomically, when `/__bump` changes it), and with `--url-port P`
//! config.toml and urls name port P: `bench/run.sh` serves the farm with
//! nginx that way, the farm's own server then answering only `/__bump` and
//! `/__stats` (whose counters then count nothing: nginx's log does).
//!
//! Once listening it writes `DIR/config.toml` (sources, `[storage] path =
//! "farm.db"`, loopback allowed, concurrency 32, per_host 4, three topics) and
//! `DIR/urls` (one feed URL a line, a newsboat urls file), then prints
//! `port=P`, `config=PATH` and a `feeds=… items=… copies=… stories=…` line on
//! stdout.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Datelike, FixedOffset, Utc};
use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser, Debug)]
#[command(about = "Serve a synthetic farm of syndicated Chinese news feeds on loopback")]
struct Args {
    /// Number of outlet feeds.
    #[arg(long, default_value_t = 1000)]
    feeds: usize,
    /// Items in each feed (default 40; 30 with `--real-length`).
    #[arg(long)]
    items: Option<usize>,
    /// Real-length mode: every story is a whole article of the corpus (no
    /// passages put together), carried by 3 to 8 outlets; once every
    /// article is used, stories are the articles again "re-lettered" (see
    /// `Lettering`). Needs the real articles: fails when they are absent.
    #[arg(long)]
    real_length: bool,
    /// Varied mode: every feed on one host, item counts drawn from real
    /// feeds', stories whole articles of any length (re-lettered once all
    /// are used, as in real-length mode), some outlets serving summaries.
    /// Needs the real articles.
    #[arg(long, conflicts_with_all = ["real_length", "items"])]
    varied: bool,
    /// Real-length and varied modes: only articles of at most this many
    /// characters (0: all). The real-length default, 2,000, keeps 5 of 6
    /// articles (~2.3 KB of UTF-8 each on average, ~3 KB an item as served)
    /// and puts 1,000 feeds of 30 items at 80–90 MB; varied mode takes all.
    #[arg(long)]
    max_chars: Option<usize>,
    /// Where config.toml, urls (and the poller's farm.db) go; created if missing.
    #[arg(long)]
    dir: PathBuf,
    /// TCP port on every address (0: pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Percentage of feeds `GET /__bump` changes when the request names none.
    #[arg(long, default_value_t = 10)]
    change_percent: u32,
    /// Loopback addresses 127.0.0.1..=127.0.0.HOSTS to spread the feeds over
    /// (default 16; 1 with `--varied`).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=254))]
    hosts: Option<u8>,
    /// Seed of every random choice (same seed, same farm).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Articles to build stories from, `{"title","content"}` a line (default:
    /// ../shared/news-zh/articles.jsonl; `none` or a missing file: generated text).
    #[arg(long, value_name = "JSONL")]
    articles: Option<PathBuf>,
    /// Server worker threads (keep it low: the poller is what is measured).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Also write every feed under this folder at its URL path (and rewrite
    /// the changed ones on `/__bump`), for a static server such as nginx to
    /// serve with its own ETag and Last-Modified.
    #[arg(long, value_name = "DIR")]
    static_dir: Option<PathBuf>,
    /// The port config.toml and urls name (default: the farm's own): the
    /// port of the static server that serves `--static-dir`.
    #[arg(long, value_name = "PORT")]
    url_port: Option<u16>,
}

impl Args {
    /// Whole articles as stories, re-lettered once all are used.
    fn whole_articles(&self) -> bool {
        self.real_length || self.varied
    }
    fn hosts(&self) -> u8 {
        self.hosts.unwrap_or(if self.varied { 1 } else { 16 })
    }
    fn max_chars(&self) -> usize {
        self.max_chars.unwrap_or(if self.varied { 0 } else { 2000 })
    }
}

// ---- randomness ---------------------------------------------------------------

/// SplitMix64: small, fast, and deterministic for a given seed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, self.below(i + 1));
        }
    }
}

/// A generator that depends only on (a, b): how one outlet dresses one story
/// must not change when the feed is rendered again, or the poller would see
/// an edited item.
fn rng_for(seed: u64, a: usize, b: usize) -> Rng {
    let mut r = Rng(seed ^ (a as u64).wrapping_mul(0x1000_0000_01B3));
    r.0 ^= Rng(b as u64).next_u64();
    r
}

// ---- articles -----------------------------------------------------------------

/// The text of one story as the wire sends it, before any outlet touches it.
struct Article {
    title: String,
    paragraphs: Vec<String>,
    /// Its first paragraph already opens with a dateline or a credit: an
    /// outlet would not add a second one.
    has_dateline: bool,
    /// Its last paragraph is plainly story text, so a bare list of other
    /// titles after it cannot be mistaken for part of the story (or the
    /// other way round).
    ends_with_sentence: bool,
    /// Its plain sentences (no credits, footers or end marks; up to 150
    /// characters; after `prepare`, only those no other article has), from
    /// which new stories are put together once every article has been used.
    sentences: Vec<String>,
}

impl Article {
    fn new(title: String, paragraphs: Vec<String>) -> Article {
        let head: String = paragraphs
            .first()
            .map(|p| p.chars().take(40).collect())
            .unwrap_or_default();
        let has_dateline = ["电", "讯", "消息", "记者", "报道", "原标题"]
            .iter()
            .any(|m| head.contains(m));
        // Over 80 characters it can be neither a credit line nor a listed title.
        let ends_with_sentence = paragraphs
            .last()
            .is_some_and(|p| p.chars().count() > 80 && !p.starts_with("原标题"));
        let sentences = paragraphs
            .iter()
            .flat_map(|p| p.split_inclusive(['。', '！', '？', '!', '?']))
            .map(str::trim)
            .filter(|s| {
                (8..=150).contains(&s.chars().count())
                    && !BOILERPLATE_MARKS.iter().any(|m| s.contains(m))
            })
            .map(str::to_string)
            .collect();
        Article {
            title,
            paragraphs,
            has_dateline,
            ends_with_sentence,
            sentences,
        }
    }
}

/// What a sentence must not hold to be reused in another story: anything a
/// normalizer may cut at or remove (end marks, footer headings, credits).
const BOILERPLATE_MARKS: &[&str] = &[
    "完)",
    "完）",
    "相关",
    "阅读",
    "推荐",
    "更多",
    "精彩",
    "编辑",
    "责编",
    "来源",
    "原标题",
    "作者",
    "<",
    "&",
];

/// Splits an article into paragraphs: at line breaks and at the runs of
/// spaces the corpus uses for them, then long paragraphs after a `。`.
fn paragraphs(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in content.split('\n') {
        for para in line.split("  ") {
            let para = para.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}');
            if para.is_empty() {
                continue;
            }
            let mut cur = String::new();
            for c in para.chars() {
                cur.push(c);
                if c == '。' && cur.chars().count() >= 150 {
                    out.push(std::mem::take(&mut cur));
                }
            }
            if !cur.trim().is_empty() {
                out.push(cur.trim().to_string());
            }
        }
    }
    out
}

/// The real articles, with duplicate texts (same letters and digits) dropped.
fn load_articles(path: &Path) -> Option<Vec<Article>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(title), Some(content)) = (v["title"].as_str(), v["content"].as_str()) else {
            continue;
        };
        let folded: String = content.chars().filter(|c| c.is_alphanumeric()).collect();
        if folded.chars().count() < 40 || !seen.insert(folded) {
            continue;
        }
        let paras = paragraphs(content);
        if !paras.is_empty() {
            out.push(Article::new(title.trim().to_string(), paras));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Hashes of a text's character 5-grams (letters and digits only, lower case).
fn shingles(paragraphs: &[String]) -> std::collections::HashSet<u64> {
    let chars: Vec<char> = paragraphs
        .iter()
        .flat_map(|p| p.chars())
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    chars
        .windows(5)
        .map(|w| {
            // FNV-1a over the five characters.
            w.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
                (h ^ c as u64).wrapping_mul(0x0000_0100_0000_01B3)
            })
        })
        .collect()
}

/// Drops articles that share half their 5-grams with an earlier one: the
/// corpus holds a few reports of the same event, which a poller is right to
/// merge, and the farm's count of distinct stories must not include them.
fn drop_near_duplicates(articles: Vec<Article>) -> Vec<Article> {
    // Each 5-gram belongs to the first kept article that had it.
    let mut owner: HashMap<u64, usize> = HashMap::new();
    let mut sizes = Vec::with_capacity(articles.len());
    let mut kept = Vec::with_capacity(articles.len());
    for article in articles {
        let grams = shingles(&article.paragraphs);
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for g in &grams {
            if let Some(&o) = owner.get(g) {
                *shared.entry(o).or_default() += 1;
            }
        }
        // Half of the smaller text: one that contains another counts too.
        if shared
            .iter()
            .any(|(&o, &n)| n * 2 >= grams.len().min(sizes[o]).max(1))
        {
            continue;
        }
        let id = kept.len();
        sizes.push(grams.len());
        for g in grams {
            owner.entry(g).or_insert(id);
        }
        kept.push(article);
    }
    kept
}

#[rustfmt::skip]
const SUBJECTS: &[&str] = &[
    "市教委", "区政府", "市场监管局", "交通部门", "气象台", "卫健委", "文旅局", "科技园区",
    "社区居委会", "农业农村局", "生态环境局", "住建委", "消防救援支队", "图书馆", "轨道公司",
];
const VERBS: &[&str] = &[
    "召开", "发布", "启动", "部署", "推进", "完成", "开展", "印发", "组织", "公布",
];
#[rustfmt::skip]
const OBJECTS: &[&str] = &[
    "专项整治行动", "年度工作会议", "惠民服务措施", "安全检查", "基础设施改造工程",
    "学生暑期托管服务", "夜间经济活动", "老旧小区改造方案", "防汛应急演练", "数字化转型试点",
    "公交线路优化调整", "乡村振兴项目", "文化惠民演出", "就业帮扶计划",
];
#[rustfmt::skip]
const PLACES: &[&str] = &[
    "街道服务中心", "地铁站口", "政务大厅", "产业园区", "社区广场", "中心医院", "高铁站", "滨江公园",
];

/// One made-up news sentence.
fn synthetic_sentence(rng: &mut Rng) -> String {
    let (city, subject, verb, object) = (
        rng.pick(CITIES),
        rng.pick(SUBJECTS),
        rng.pick(VERBS),
        rng.pick(OBJECTS),
    );
    let n = 100 + rng.below(900);
    match rng.below(6) {
        0 => format!(
            "{city}{subject}{verb}{object}，涉及{}个街道和{n}家单位。",
            n % 50 + 2
        ),
        1 => format!(
            "据{subject}介绍，今年以来{city}已累计{verb}{object}{n}项，同比增长{}.{}%。",
            n % 30,
            n % 10
        ),
        2 => format!(
            "{city}市民{}表示，{subject}{verb}{object}之后，周边的情况明显改善。",
            rng.pick(PEOPLE)
        ),
        3 => format!(
            "截至{}月{}日，{subject}共{verb}{object}{n}次，覆盖{}万人。",
            1 + n % 12,
            1 + n % 28,
            n % 90 + 10
        ),
        4 => format!(
            "{subject}负责人{}说，下一步将围绕{object}持续{verb}，力争在{}年底前完成。",
            rng.pick(PEOPLE),
            2025 + n % 3
        ),
        _ => format!(
            "记者在{city}{}看到，{subject}正在{verb}{object}，现场秩序井然。",
            rng.pick(PLACES)
        ),
    }
}

/// Chinese-ish articles for when the real corpus is absent.
fn synthetic_articles(n: usize, rng: &mut Rng) -> Vec<Article> {
    (0..n)
        .map(|_| {
            let title = format!(
                "{}{}{}{}",
                rng.pick(CITIES),
                rng.pick(SUBJECTS),
                rng.pick(VERBS),
                rng.pick(OBJECTS)
            );
            let paras = (0..3 + rng.below(4))
                .map(|_| {
                    (0..2 + rng.below(3))
                        .map(|_| synthetic_sentence(rng))
                        .collect()
                })
                .collect();
            Article::new(title, paras)
        })
        .collect()
}

/// Readies a corpus for syndication: near duplicates dropped, and only the
/// sentences that no other article shares kept for putting stories together.
fn prepare(articles: Vec<Article>) -> Vec<Article> {
    let mut articles = drop_near_duplicates(articles);
    let key = |s: &str| {
        let folded: String = s.chars().filter(|c| c.is_alphanumeric()).collect();
        shingles(&[folded]).into_iter().fold(0u64, |h, g| h ^ g)
    };
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for a in &articles {
        let own: std::collections::HashSet<u64> = a.sentences.iter().map(|s| key(s)).collect();
        for k in own {
            *seen.entry(k).or_default() += 1;
        }
    }
    for a in &mut articles {
        a.sentences.retain(|s| seen.get(&key(s)) == Some(&1));
    }
    articles
}

// ---- real-length mode ----------------------------------------------------------------

/// Characters `Lettering` never moves: every CJK character of newsriver's
/// normalizer (its boilerplate rules, datelines, end marks) and of the
/// farm's own house styles and marks. A run of them appears in a
/// re-lettered text only where the article had it, so re-lettering never
/// makes boilerplate the normalizer would cut.
const RESERVED_SOURCES: &[&str] = &[
    include_str!("../src/normalize.rs"),
    "电讯消息记者报道原标题完相关阅读推荐更多精彩编辑责编来源作者新闻网本报社华环球时光明央视澎湃人民北京日热门延伸",
];

/// The corpus is 1,500 articles, a 1,000-feed real-length farm needs
/// ~5,500 stories: once every article has been used, a story is an article
/// again with its CJK characters re-lettered, variant `v` mapping each
/// character to another of about the same frequency in the corpus (the
/// characters sorted by frequency, in bands of 64, each band rotated by
/// `v`). The text keeps its length, its bytes in UTF-8 and GBK, its
/// paragraphs, punctuation, digits and Latin letters, and its character
/// frequency profile, but shares no 5-gram with the article or with
/// another variant (bar runs of `RESERVED_SOURCES` characters): a
/// near-duplicate detector is right to keep them apart. Up to 63 variants.
struct Lettering {
    /// Each movable character's (band, position in the band).
    place: HashMap<char, (usize, usize)>,
    bands: Vec<Vec<char>>,
}

const BAND: usize = 64;

impl Lettering {
    fn new(articles: &[Article]) -> Lettering {
        let reserved: std::collections::HashSet<char> =
            RESERVED_SOURCES.iter().flat_map(|s| s.chars()).collect();
        let mut count: HashMap<char, usize> = HashMap::new();
        for a in articles {
            for c in a
                .title
                .chars()
                .chain(a.paragraphs.iter().flat_map(|p| p.chars()))
            {
                if ('\u{4E00}'..='\u{9FFF}').contains(&c) && !reserved.contains(&c) {
                    *count.entry(c).or_default() += 1;
                }
            }
        }
        let mut chars: Vec<(char, usize)> = count.into_iter().collect();
        chars.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let bands: Vec<Vec<char>> = chars
            .chunks(BAND)
            .map(|b| b.iter().map(|&(c, _)| c).collect())
            .collect();
        let mut place = HashMap::new();
        for (i, band) in bands.iter().enumerate() {
            for (j, &c) in band.iter().enumerate() {
                place.insert(c, (i, j));
            }
        }
        Lettering { place, bands }
    }

    fn apply(&self, v: usize, s: &str) -> String {
        s.chars()
            .map(|c| match self.place.get(&c) {
                Some(&(i, j)) => {
                    let band = &self.bands[i];
                    band[(j + v) % band.len()]
                }
                None => c,
            })
            .collect()
    }

    /// Variant `v` (1..BAND) of an article.
    fn variant(&self, v: usize, a: &Article) -> Article {
        Article::new(
            self.apply(v, &a.title),
            a.paragraphs.iter().map(|p| self.apply(v, p)).collect(),
        )
    }
}

/// The articles of real-length mode and their `Lettering`: the corpus with
/// near duplicates and articles over `max_chars` characters dropped, and
/// those that re-lettering cannot tell apart (mostly Latin letters and
/// digits, which it leaves as they are: a fifth or more of an article's
/// 5-grams unchanged in a variant); or why there are none.
fn real_length_articles(
    path: &Path,
    max_chars: usize,
    mode: &str,
) -> Result<(Vec<Article>, Lettering), String> {
    std::fs::File::open(path).map_err(|e| {
        format!(
            "{mode} needs the real articles, and {} cannot be read ({e}); \
             it comes with ../shared (news-zh/articles.jsonl) or --articles FILE, \
             and the farm never falls back to generated text in this mode",
            path.display()
        )
    })?;
    let articles = load_articles(path).ok_or_else(|| {
        format!(
            "{mode}: no {{\"title\",\"content\"}} articles in {}",
            path.display()
        )
    })?;
    let articles: Vec<Article> = drop_near_duplicates(articles)
        .into_iter()
        .filter(|a| {
            max_chars == 0
                || a.paragraphs
                    .iter()
                    .map(|p| p.chars().count())
                    .sum::<usize>()
                    <= max_chars
        })
        .collect();
    let lettering = Lettering::new(&articles);
    let articles: Vec<Article> = articles
        .into_iter()
        .filter(|a| {
            let grams = shingles(&a.paragraphs);
            let moved = shingles(&lettering.variant(1, a).paragraphs);
            grams.intersection(&moved).count() * 5 < grams.len()
        })
        .collect();
    if articles.is_empty() {
        return Err(format!(
            "{mode}: no article of {} of at most {max_chars} characters",
            path.display()
        ));
    }
    Ok((articles, lettering))
}

// ---- outlets and their house styles ----------------------------------------------

#[derive(Clone, Copy)]
enum TitleDeco {
    None,
    Suffix(&'static str),
    /// A `【频道】` prefix.
    Channel,
}

#[derive(Clone, Copy)]
enum Dateline {
    None,
    /// 中新网北京10月9日电（记者 杜燕）
    Chinanews,
    /// 新华社北京10月9日电（记者张三）
    Xinhua,
    /// 本报讯（记者 张三）
    Benbao,
    /// 环球时报北京10月9日讯 记者张三报道：
    Reported(&'static str),
}

#[derive(Clone, Copy)]
enum Editor {
    /// 责任编辑：王五
    Plain,
    /// 【责任编辑：王五】
    Bracketed,
    /// (责编：王五、赵六)
    Pair,
    /// 编辑：王五
    Short,
}

#[derive(Clone, Copy)]
enum Footer {
    None,
    /// A heading such as 相关推荐, then other stories' titles.
    Heading(&'static str),
    /// Other stories' titles (`- …` lines) with no heading.
    BareList,
}

#[derive(Clone, Copy)]
enum Markup {
    /// `<p>` per paragraph.
    Paragraphs,
    /// One block, paragraphs separated by `<br>`.
    LineBreaks,
    /// No tags: paragraphs separated by newlines.
    PlainText,
}

/// How one outlet dresses wire copy.
struct Style {
    name: &'static str,
    slug: &'static str,
    title: TitleDeco,
    dateline: Dateline,
    original_title: bool,
    source_line: Option<&'static str>,
    end_mark: bool,
    editor: Editor,
    footer: Footer,
    markup: Markup,
    fullwidth_digits: bool,
    /// RSS: full text in `content:encoded` (CDATA), a teaser in `description`.
    content_encoded: bool,
}

const STYLES: &[Style] = &[
    Style {
        name: "中国新闻网",
        slug: "chinanews",
        title: TitleDeco::Suffix("_中国新闻网"),
        dateline: Dateline::Chinanews,
        original_title: false,
        source_line: None,
        end_mark: true,
        editor: Editor::Bracketed,
        footer: Footer::Heading("相关推荐"),
        markup: Markup::Paragraphs,
        fullwidth_digits: false,
        content_encoded: false,
    },
    Style {
        name: "新华网",
        slug: "xinhuanet",
        title: TitleDeco::Suffix(" - 新华网"),
        dateline: Dateline::Xinhua,
        original_title: false,
        source_line: None,
        end_mark: true,
        editor: Editor::Plain,
        footer: Footer::None,
        markup: Markup::Paragraphs,
        fullwidth_digits: false,
        content_encoded: true,
    },
    Style {
        name: "人民网",
        slug: "people",
        title: TitleDeco::Suffix("--人民网"),
        dateline: Dateline::None,
        original_title: true,
        source_line: None,
        end_mark: false,
        editor: Editor::Pair,
        footer: Footer::Heading("相关新闻"),
        markup: Markup::LineBreaks,
        fullwidth_digits: false,
        content_encoded: false,
    },
    Style {
        name: "澎湃新闻",
        slug: "thepaper",
        title: TitleDeco::None,
        dateline: Dateline::None,
        original_title: false,
        source_line: None,
        end_mark: false,
        editor: Editor::Plain,
        footer: Footer::BareList,
        markup: Markup::Paragraphs,
        fullwidth_digits: false,
        content_encoded: true,
    },
    Style {
        name: "北京日报",
        slug: "bjd",
        title: TitleDeco::Suffix("_北京日报"),
        dateline: Dateline::Benbao,
        original_title: false,
        source_line: None,
        end_mark: false,
        editor: Editor::Short,
        footer: Footer::None,
        markup: Markup::PlainText,
        fullwidth_digits: true,
        content_encoded: false,
    },
    Style {
        name: "央视网",
        slug: "cctv",
        title: TitleDeco::Channel,
        dateline: Dateline::None,
        original_title: false,
        source_line: Some("来源：央视网"),
        end_mark: false,
        editor: Editor::Bracketed,
        footer: Footer::Heading("热门推荐"),
        markup: Markup::Paragraphs,
        fullwidth_digits: false,
        content_encoded: false,
    },
    Style {
        name: "环球网",
        slug: "huanqiu",
        title: TitleDeco::Suffix("|环球网"),
        dateline: Dateline::Reported("环球时报"),
        original_title: false,
        source_line: None,
        end_mark: false,
        editor: Editor::Plain,
        footer: Footer::Heading("延伸阅读"),
        markup: Markup::Paragraphs,
        fullwidth_digits: false,
        content_encoded: true,
    },
    Style {
        name: "光明网",
        slug: "gmw",
        title: TitleDeco::Suffix("_光明网"),
        dateline: Dateline::None,
        original_title: true,
        source_line: Some("来源：光明日报"),
        end_mark: true,
        editor: Editor::Bracketed,
        footer: Footer::Heading("推荐阅读"),
        markup: Markup::LineBreaks,
        fullwidth_digits: true,
        content_encoded: false,
    },
];

#[rustfmt::skip]
const CITIES: &[&str] = &[
    "北京", "上海", "广州", "深圳", "成都", "武汉", "杭州", "南京", "西安", "重庆", "天津",
    "长沙", "郑州", "沈阳", "昆明", "哈尔滨",
];
#[rustfmt::skip]
const PEOPLE: &[&str] = &[
    "杜燕", "张三", "李四", "王五", "赵六", "陈晨", "刘洋", "孙悦", "周密", "吴昊", "郑好",
    "黄河", "林森", "何静", "马超", "高远",
];
const CHANNELS: &[&str] = &["社会", "教育", "财经", "国内", "科技", "文化", "地方"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
    Json,
}

struct Outlet {
    style: &'static Style,
    format: Format,
    /// GBK bytes declared as gb2312 (RSS only).
    gbk: bool,
    /// The `Content-Type` names the charset (else only the XML declaration does).
    charset_in_header: bool,
    /// Loopback host number K (127.0.0.K).
    host: u8,
    path: String,
    /// Story ids, newest first.
    items: Vec<usize>,
    /// How many items the feed carries (the same for every feed but in
    /// varied mode).
    capacity: usize,
    /// Varied mode: the outlet serves each story cut after this many
    /// characters (and `…`), as a summary, instead of its whole text.
    summary: Option<usize>,
    version: u32,
    updated: DateTime<Utc>,
    /// The rendered feed and its validators.
    body: Bytes,
    etag: String,
    last_modified: String,
}

impl Outlet {
    fn content_type(&self) -> &'static str {
        match (self.format, self.gbk, self.charset_in_header) {
            (Format::Rss, true, true) => "application/rss+xml; charset=gb2312",
            (Format::Rss, true, false) => "application/rss+xml",
            (Format::Rss, false, _) => "application/rss+xml; charset=utf-8",
            (Format::Atom, _, _) => "application/atom+xml; charset=utf-8",
            (Format::Json, _, _) => "application/feed+json; charset=utf-8",
        }
    }
}

struct Story {
    /// Its text: a corpus article, or one put together from several.
    article: usize,
    published: DateTime<Utc>,
    city: &'static str,
    reporter: &'static str,
}

/// What a change to the farm served: copies (feed items) and distinct stories.
#[derive(Default, Clone, Copy)]
struct Served {
    copies: usize,
    stories: usize,
}

struct Farm {
    seed: u64,
    /// Items a feed carries (varied mode: what `/__stats` reports; each
    /// outlet's own is its `capacity`).
    items_per_feed: usize,
    /// `--varied`: see `REAL_FEED_ITEMS` and `SUMMARY_SHARE`.
    varied: bool,
    change_percent: u32,
    /// The corpus articles, then the texts put together from them.
    articles: Vec<Article>,
    /// How many of `articles` are the corpus's own.
    corpus_len: usize,
    /// The 5-grams of each corpus article (see `mixed_article`).
    corpus_grams: Vec<std::collections::HashSet<u64>>,
    /// Corpus articles in the order stories use them.
    article_order: Vec<usize>,
    /// Articles whose titles look like a list entry (short, no end punctuation).
    list_titles: Vec<usize>,
    stories: Vec<Story>,
    outlets: Vec<Outlet>,
    by_path: HashMap<String, usize>,
    rng: Rng,
    totals: Served,
    bumps: u32,
    hits: Hits,
    /// `--static-dir`: where the feeds are also written as files.
    static_dir: Option<PathBuf>,
    /// `--real-length` and `--varied`: stories are whole articles
    /// (re-lettered once all are used), each carried by 3 to 8 outlets.
    lettering: Option<Lettering>,
}

/// How many items real feeds carry, for varied mode: (items, feeds of
/// `../shared/corpus` carrying that many), counted over its 177 whole real
/// feeds (`real-world/` and `encoding/chardet/`, `<item>`, `<entry>` or
/// JSON `items`; news sites, blogs, podcasts, Chinese blogs in GB2312 and
/// Big5; feed-rs's files left out, as its tests cut them to one item). 1
/// to 100 items, median 12, mean 15.2; deciles 3, 6, 10, 10, 12, 15, 15,
/// 20, 25. Software defaults show (10, 15, 20, 25 are 104 of the 177), as
/// they do in the wild.
const REAL_FEED_ITEMS: &[(usize, usize)] = &[
    (1, 13),
    (2, 1),
    (3, 5),
    (4, 9),
    (5, 7),
    (6, 3),
    (7, 2),
    (8, 5),
    (9, 5),
    (10, 38),
    (12, 2),
    (13, 1),
    (14, 1),
    (15, 41),
    (16, 1),
    (20, 14),
    (22, 1),
    (24, 2),
    (25, 11),
    (26, 2),
    (30, 2),
    (34, 1),
    (43, 1),
    (44, 1),
    (47, 1),
    (48, 2),
    (50, 1),
    (69, 1),
    (84, 1),
    (100, 2),
];

/// Items of one feed drawn from `REAL_FEED_ITEMS`.
fn real_feed_items(rng: &mut Rng) -> usize {
    let total: usize = REAL_FEED_ITEMS.iter().map(|&(_, n)| n).sum();
    let mut at = rng.below(total);
    for &(items, feeds) in REAL_FEED_ITEMS {
        if at < feeds {
            return items;
        }
        at -= feeds;
    }
    REAL_FEED_ITEMS[REAL_FEED_ITEMS.len() - 1].0
}

/// Varied mode: the share of outlets that serve summaries. Of the 158 real
/// feeds of `../shared/corpus` whose items have text at all, 21 (13%) cut
/// most items short and end them with an ellipsis; their items' median
/// lengths run from 41 to 695 characters, quartiles 101, 145 and 259
/// (`SUMMARY_CHARS`). The others carry whole texts or short teasers of
/// their own.
const SUMMARY_SHARE: f64 = 0.13;
/// Varied mode: a summary outlet cuts its stories after 100 to 300
/// characters (one length per outlet): the middle of the real ones, and
/// long enough (over newsriver's `min_chars`, past most first sentences)
/// that a summary is judged the same story as the whole text it was cut
/// from, which is what the farm's count of stories expects.
const SUMMARY_CHARS: (usize, usize) = (100, 300);

/// Feed requests answered, by outcome (counted under the read lock).
#[derive(Default)]
struct Hits {
    full: AtomicU64,
    not_modified: AtomicU64,
    not_found: AtomicU64,
    /// Body bytes of the 200 responses.
    body_bytes: AtomicU64,
}

impl Hits {
    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Full-width digits (０-９), as some outlets print them.
fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// China Standard Time, as the outlets write their dates.
fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// One outlet's copy of one story, ready to be written in any format.
struct Item {
    title: String,
    link: String,
    guid: Option<String>,
    published: DateTime<FixedOffset>,
    body: String,
}

impl Farm {
    fn new(
        args: &Args,
        items: usize,
        articles: Vec<Article>,
        lettering: Option<Lettering>,
    ) -> Farm {
        let mut rng = Rng(args.seed);
        let mut article_order: Vec<usize> = (0..articles.len()).collect();
        rng.shuffle(&mut article_order);
        let list_titles = (0..articles.len())
            .filter(|&i| {
                let t = &articles[i].title;
                let n = t.chars().count();
                (6..=30).contains(&n) && t.chars().last().is_some_and(char::is_alphanumeric)
            })
            .collect::<Vec<_>>();
        let now = Utc::now();
        let mut outlets = Vec::with_capacity(args.feeds);
        let mut by_path = HashMap::new();
        for j in 0..args.feeds {
            let style = &STYLES[rng.below(STYLES.len())];
            let roll = rng.below(100);
            let format = match roll {
                0..70 => Format::Rss,
                70..88 => Format::Atom,
                _ => Format::Json,
            };
            let gbk = format == Format::Rss && rng.chance(0.15);
            let charset_in_header = rng.chance(0.5);
            let host = (j % args.hosts() as usize) as u8 + 1;
            let ext = match format {
                Format::Rss => "xml",
                Format::Atom => "atom",
                Format::Json => "json",
            };
            let path = if gbk && charset_in_header {
                format!("/host-{host}/gb2312/feed-{j}.{ext}")
            } else {
                format!("/host-{host}/feed-{j}.{ext}")
            };
            by_path.insert(path.clone(), j);
            // Drawn only in varied mode, so that the other farms of a seed
            // stay what they were.
            let (capacity, summary) = if args.varied {
                let capacity = real_feed_items(&mut rng);
                let summary = rng
                    .chance(SUMMARY_SHARE)
                    .then(|| SUMMARY_CHARS.0 + rng.below(SUMMARY_CHARS.1 - SUMMARY_CHARS.0 + 1));
                (capacity, summary)
            } else {
                (items, None)
            };
            outlets.push(Outlet {
                style,
                format,
                gbk,
                charset_in_header,
                host,
                path,
                items: Vec::new(),
                capacity,
                summary,
                version: 0,
                updated: now,
                body: Bytes::new(),
                etag: String::new(),
                last_modified: String::new(),
            });
        }
        let mut farm = Farm {
            seed: args.seed,
            items_per_feed: items,
            varied: args.varied,
            change_percent: args.change_percent,
            article_order,
            corpus_len: articles.len(),
            // Only `mixed_article` needs them.
            corpus_grams: if args.whole_articles() {
                Vec::new()
            } else {
                articles.iter().map(|a| shingles(&a.paragraphs)).collect()
            },
            lettering,
            list_titles,
            articles,
            stories: Vec::new(),
            outlets,
            by_path,
            rng,
            totals: Served::default(),
            bumps: 0,
            hits: Hits::default(),
            static_dir: args.static_dir.clone(),
        };
        let all: Vec<(usize, usize)> = farm
            .outlets
            .iter()
            .enumerate()
            .map(|(o, outlet)| (o, outlet.capacity))
            .collect();
        // A story every 45 s, the newest ten minutes ago.
        let served = farm.syndicate(&all, now - chrono::Duration::minutes(10), 45);
        farm.totals = served;
        for o in 0..farm.outlets.len() {
            farm.render(o, now);
        }
        farm
    }

    /// Adds new items to outlets, (outlet, how many) each: new stories,
    /// each carried by 1 to 5 (3 on average) distinct outlets of the set (3
    /// to 8, 5.5 on average, in real-length and varied modes). Story dates
    /// are `step_secs` apart, the newest at `newest`.
    fn syndicate(
        &mut self,
        outlets: &[(usize, usize)],
        newest: DateTime<Utc>,
        step_secs: i64,
    ) -> Served {
        // One slot per item to fill, shuffled; a story takes the next k slots
        // that belong to k different outlets.
        let mut slots: Vec<usize> = outlets
            .iter()
            .flat_map(|&(o, n)| std::iter::repeat_n(o, n))
            .collect();
        self.rng.shuffle(&mut slots);
        let first = self.stories.len();
        let mut new_items: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut pos = 0;
        while pos < slots.len() {
            let k = match self.lettering {
                Some(_) => 3 + self.rng.below(6),
                None => 1 + self.rng.below(5),
            };
            let story = self.new_story();
            let mut taken = 0;
            let mut j = pos;
            while taken < k && j < slots.len() {
                if !slots[pos..pos + taken].contains(&slots[j]) {
                    slots.swap(pos + taken, j);
                    taken += 1;
                }
                j += 1;
            }
            for &o in &slots[pos..pos + taken] {
                new_items.entry(o).or_default().push(story);
            }
            pos += taken;
        }
        let count = self.stories.len() - first;
        for (i, story) in self.stories[first..].iter_mut().enumerate() {
            story.published =
                newest - chrono::Duration::seconds(step_secs * (count - 1 - i) as i64);
        }
        // Story ids grow with their dates: newest first is highest id first.
        for (o, mut ids) in new_items {
            ids.sort_unstable_by(|a, b| b.cmp(a));
            let outlet = &mut self.outlets[o];
            ids.append(&mut outlet.items);
            ids.truncate(outlet.capacity);
            outlet.items = ids;
        }
        Served {
            copies: slots.len(),
            stories: count,
        }
    }

    fn new_story(&mut self) -> usize {
        let id = self.stories.len();
        let article = match self.article_order.get(id) {
            Some(&a) => a,
            None if self.lettering.is_some() => {
                let n = self.article_order.len();
                let (v, a) = (id / n, self.article_order[id % n]);
                if v >= BAND {
                    eprintln!("farm: more than {} stories in real-length mode", BAND * n);
                    std::process::exit(1);
                }
                let text = self
                    .lettering
                    .as_ref()
                    .map(|l| l.variant(v, &self.articles[a]));
                self.articles.extend(text);
                self.articles.len() - 1
            }
            None => {
                let text = self.mixed_article();
                self.articles.push(text);
                self.articles.len() - 1
            }
        };
        let city = *self.rng.pick(CITIES);
        let reporter = *self.rng.pick(PEOPLE);
        self.stories.push(Story {
            article,
            published: DateTime::UNIX_EPOCH,
            city,
            reporter,
        });
        id
    }

    /// A text of its own once every corpus article has been used: three to
    /// five passages of two or three sentences, each from another random
    /// article and none from an article's start. It is kept only if it shares
    /// under a third of its 5-grams with each article it draws on (or under a
    /// third of that article's), so that a near-duplicate detector is right
    /// not to merge it with them. The title is its first passage's.
    fn mixed_article(&mut self) -> Article {
        let mut candidate = self.compose();
        for _ in 0..50 {
            let (text, sources) = &candidate;
            let grams = shingles(&text.paragraphs);
            let distinct = sources.iter().all(|&a| {
                let theirs = &self.corpus_grams[a];
                grams.intersection(theirs).count() * 3 < grams.len().min(theirs.len())
            });
            if distinct {
                break;
            }
            candidate = self.compose();
        }
        candidate.0
    }

    /// One try of `mixed_article`: the text and the articles it draws on.
    fn compose(&mut self) -> (Article, Vec<usize>) {
        let passages = 3 + self.rng.below(3);
        let mut paras = Vec::with_capacity(passages);
        let mut sources = Vec::with_capacity(passages);
        let mut title = None;
        for _ in 0..passages * 20 {
            if paras.len() == passages {
                break;
            }
            let a = self.rng.below(self.corpus_len);
            let article = &self.articles[a];
            if article.sentences.len() < 4 || sources.contains(&a) {
                continue;
            }
            let start = 1 + self.rng.below(article.sentences.len() - 3);
            let len = 2 + self.rng.below(2);
            paras.push(article.sentences[start..start + len].concat());
            title.get_or_insert_with(|| article.title.clone());
            sources.push(a);
        }
        (Article::new(title.unwrap_or_default(), paras), sources)
    }

    /// Outlet `o`'s copy of story `s`, in its house style.
    fn copy(&self, o: usize, s: usize) -> Item {
        let outlet = &self.outlets[o];
        let style = outlet.style;
        let story = &self.stories[s];
        let article = &self.articles[story.article];
        let mut rng = rng_for(self.seed, o, s);
        let published = (story.published + chrono::Duration::seconds(rng.below(300) as i64))
            .with_timezone(&cst());
        let (month, day) = (published.month(), published.day());

        let title = match style.title {
            TitleDeco::None => article.title.clone(),
            TitleDeco::Suffix(suffix) => format!("{}{suffix}", article.title),
            TitleDeco::Channel => format!("【{}】{}", rng.pick(CHANNELS), article.title),
        };
        let host = format!("www.{}{o}.example.cn", style.slug);
        let link = format!(
            "http://{host}/{}/{month:02}-{day:02}/{s}.shtml",
            published.year()
        );
        let guid = match style.markup {
            Markup::PlainText => None,
            _ if style.content_encoded => Some(link.clone()),
            _ => Some(format!("{}-{o}-{s}", style.slug)),
        };

        // The story's paragraphs, the house dateline on the first.
        let mut paras: Vec<String> = article.paragraphs.clone();
        if !article.has_dateline {
            let (city, who) = (story.city, story.reporter);
            let dateline = match style.dateline {
                Dateline::None => String::new(),
                Dateline::Chinanews => format!("中新网{city}{month}月{day}日电（记者 {who}）"),
                Dateline::Xinhua => format!("新华社{city}{month}月{day}日电（记者{who}）"),
                Dateline::Benbao => format!("本报讯（记者 {who}）"),
                Dateline::Reported(paper) => {
                    format!("{paper}{city}{month}月{day}日讯 记者{who}报道：")
                }
            };
            paras[0] = format!("{dateline}{}", paras[0]);
        }
        if style.fullwidth_digits {
            for p in &mut paras {
                *p = fullwidth(p);
            }
        }
        // A summary is the start of the text as the outlet prints it
        // (dateline and digits included), cut mid-sentence where the length
        // falls, as feeds cut them: no end mark, editor or footer, which
        // come after the cut. Plain text, its paragraphs still a line each:
        // run together, a credit line or a repeated title at the top
        // (which the normalizer drops from the whole text as a line of its
        // own) would glue onto the lead and the summary would no longer
        // start like the text it was cut from.
        if let Some(cut) = outlet.summary {
            let text = paras.join("\n");
            let body = if text.chars().count() > cut {
                text.chars().take(cut).collect::<String>() + "…"
            } else {
                text
            };
            return Item {
                title,
                link,
                guid,
                published,
                body: xml_escape(&body),
            };
        }
        if style.end_mark
            && let Some(last) = paras.last_mut()
        {
            last.push_str("(完)");
        }
        if style.original_title {
            paras.insert(0, format!("原标题：{}", article.title));
        }
        if let Some(line) = style.source_line {
            paras.push(line.to_string());
        }
        let (e1, e2) = (rng.pick(PEOPLE), rng.pick(PEOPLE));
        match style.editor {
            Editor::Plain => paras.push(format!("责任编辑：{e1}")),
            Editor::Bracketed => paras.push(format!("【责任编辑：{e1}】")),
            Editor::Pair => paras.push(format!("(责编：{e1}、{e2})")),
            Editor::Short => paras.push(format!("编辑：{e1}")),
        }
        // Other stories' titles, under a heading or (only after a paragraph
        // that ends like a sentence) bare.
        let pool = &self.list_titles;
        let others = |rng: &mut Rng| -> Vec<String> {
            if pool.is_empty() {
                return Vec::new();
            }
            (0..3 + rng.below(3))
                .map(|_| self.articles[*rng.pick(pool)].title.clone())
                .collect()
        };
        match style.footer {
            Footer::None => {}
            Footer::Heading(h) => {
                paras.push(h.to_string());
                paras.extend(others(&mut rng));
            }
            Footer::BareList if article.ends_with_sentence => {
                paras.extend(others(&mut rng).into_iter().map(|t| format!("- {t}")));
            }
            Footer::BareList => {}
        }

        let body = match style.markup {
            Markup::Paragraphs => paras
                .iter()
                .map(|p| format!("<p>{}</p>", xml_escape(p)))
                .collect(),
            Markup::LineBreaks => format!(
                "<div>{}</div>",
                paras
                    .iter()
                    .map(|p| xml_escape(p))
                    .collect::<Vec<_>>()
                    .join("<br>")
            ),
            // Text without tags, still HTML as RSS means it: `&` and `<` escaped.
            Markup::PlainText => paras
                .iter()
                .map(|p| xml_escape(p))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        Item {
            title,
            link,
            guid,
            published,
            body,
        }
    }

    /// Renders outlet `o` and gives it new validators.
    fn render(&mut self, o: usize, now: DateTime<Utc>) {
        let copies: Vec<Item> = self.outlets[o]
            .items
            .iter()
            .map(|&s| self.copy(o, s))
            .collect();
        let outlet = &self.outlets[o];
        let name = format!("{} · {o}", outlet.style.name);
        let site = format!("http://www.{}{o}.example.cn/", outlet.style.slug);
        let body: Vec<u8> = match outlet.format {
            Format::Rss => rss(&name, &site, outlet, &copies, now),
            Format::Atom => atom(&name, &site, &copies, now).into_bytes(),
            Format::Json => json_feed(&name, &site, &copies),
        };
        let outlet = &mut self.outlets[o];
        outlet.version += 1;
        outlet.updated = now;
        outlet.etag = format!("\"f{o}-v{}\"", outlet.version);
        outlet.last_modified = httpdate::fmt_http_date(now.into());
        outlet.body = Bytes::from(body);
    }

    /// `GET /__bump`: `percent`% of the feeds get a quarter of their items new.
    fn bump(&mut self, percent: u32) -> String {
        let n = self.outlets.len();
        let changed = ((n * percent.min(100) as usize).div_ceil(100))
            .max(1)
            .min(n);
        let mut order: Vec<usize> = (0..n).collect();
        self.rng.shuffle(&mut order);
        order.truncate(changed);
        order.sort_unstable();
        // A quarter of each feed's items, at least one.
        let new: Vec<(usize, usize)> = order
            .iter()
            .map(|&o| (o, (self.outlets[o].capacity / 4).max(1)))
            .collect();
        // The items the changed feeds still carry (a poll sees them as known).
        let kept: usize = new
            .iter()
            .map(|&(o, n)| {
                let outlet = &self.outlets[o];
                outlet.items.len().min(outlet.capacity.saturating_sub(n))
            })
            .sum();
        let now = Utc::now();
        // A story every 5 s, the newest a minute ago (dates must not lie in the future).
        let served = self.syndicate(&new, now - chrono::Duration::minutes(1), 5);
        let mut errors = String::new();
        for &o in &order {
            self.render(o, now);
            if let Err(e) = self.write_static(o) {
                let _ = writeln!(errors, "error={}: {e}", self.outlets[o].path);
            }
        }
        self.bumps += 1;
        self.totals.copies += served.copies;
        self.totals.stories += served.stories;
        format!(
            "bump={}\npercent={percent}\nchanged_feeds={changed}\nnew_items={}\nnew_stories={}\n\
             expect_ok={changed}\nexpect_not_modified={}\nexpect_items_new={}\n\
             expect_items_known={}\nexpect_stories_new={}\nexpect_stories_merged={}\n",
            self.bumps,
            served.copies,
            served.stories,
            n - changed,
            served.copies,
            kept,
            served.stories,
            served.copies - served.stories,
        ) + &errors
    }

    /// Writes outlet `o`'s feed under `--static-dir`, if given. Written to a
    /// temporary name and renamed, so that a static server never sends half a
    /// feed; the new mtime gives it a new ETag and Last-Modified.
    fn write_static(&self, o: usize) -> std::io::Result<()> {
        let Some(dir) = &self.static_dir else {
            return Ok(());
        };
        let outlet = &self.outlets[o];
        let path = dir.join(outlet.path.trim_start_matches('/'));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &outlet.body)?;
        std::fs::rename(&tmp, &path)
    }

    /// Items a feed carries: the one figure, or in varied mode the mean
    /// (one decimal).
    fn items_per_feed(&self) -> String {
        if self.varied {
            let all: usize = self.outlets.iter().map(|o| o.capacity).sum();
            format!("{:.1}", all as f64 / self.outlets.len().max(1) as f64)
        } else {
            self.items_per_feed.to_string()
        }
    }

    fn stats(&self) -> String {
        let formats = |f: Format| self.outlets.iter().filter(|o| o.format == f).count();
        let capacity = |o: &Outlet| o.capacity;
        let mut hosts: Vec<u8> = self.outlets.iter().map(|o| o.host).collect();
        hosts.sort_unstable();
        hosts.dedup();
        format!(
            "mode={}\nfeeds={}\nitems_per_feed={}\nitems_min={}\nitems_max={}\n\
             summary_feeds={}\nhosts={}\ncopies={}\nstories={}\nmerged={}\nbumps={}\n\
             rss={}\natom={}\njson={}\ngbk={}\nfeed_bytes={}\n\
             responses_200={}\nresponses_304={}\nresponses_404={}\nbody_bytes={}\n",
            match (self.varied, self.lettering.is_some()) {
                (true, _) => "varied",
                (false, true) => "real-length",
                (false, false) => "synthetic",
            },
            self.outlets.len(),
            self.items_per_feed(),
            self.outlets.iter().map(capacity).min().unwrap_or(0),
            self.outlets.iter().map(capacity).max().unwrap_or(0),
            self.outlets.iter().filter(|o| o.summary.is_some()).count(),
            hosts.len(),
            self.totals.copies,
            self.totals.stories,
            self.totals.copies - self.totals.stories,
            self.bumps,
            formats(Format::Rss),
            formats(Format::Atom),
            formats(Format::Json),
            self.outlets.iter().filter(|o| o.gbk).count(),
            self.outlets.iter().map(|o| o.body.len()).sum::<usize>(),
            self.hits.full.load(Ordering::Relaxed),
            self.hits.not_modified.load(Ordering::Relaxed),
            self.hits.not_found.load(Ordering::Relaxed),
            self.hits.body_bytes.load(Ordering::Relaxed),
        )
    }

    fn url(&self, o: usize, port: u16) -> String {
        let outlet = &self.outlets[o];
        format!("http://127.0.0.{}:{port}{}", outlet.host, outlet.path)
    }

    /// `DIR/config.toml` for newsriver and `DIR/urls` for other readers.
    fn write_files(&self, dir: &Path, port: u16) -> std::io::Result<PathBuf> {
        let mut toml = String::from(
            "# Written by `cargo run --example farm`: the farm's feeds on loopback.\n\
             [storage]\npath = \"farm.db\"\n\n\
             [fetch]\nconcurrency = 32\nper_host = 4\ntimeout_secs = 30\n\
             allow_private_addresses = true\n",
        );
        // Topics make the poll classify every story, as a real deployment does.
        toml +=
            "\n[[topic]]\nslug = \"education\"\ntitle = \"教育\"\nquery = '教育 OR 学校 OR 学生'\n";
        toml += "\n[[topic]]\nslug = \"economy\"\ntitle = \"经济\"\nquery = '经济 AND (增长 OR 市场 OR 投资)'\n";
        toml += "\n[[topic]]\nslug = \"traffic\"\ntitle = \"交通安全\"\nquery = 'title:交通 OR 驾驶 OR 交警'\n";
        let mut urls = String::new();
        for (o, outlet) in self.outlets.iter().enumerate() {
            let url = self.url(o, port);
            let _ = write!(
                toml,
                "\n[[source]]\nid = \"farm-{o:05}\"\nname = \"{} · {o}\"\nurl = \"{url}\"\ntags = [\"farm\"]\n",
                outlet.style.name
            );
            urls.push_str(&url);
            urls.push('\n');
        }
        std::fs::create_dir_all(dir)?;
        let config = dir.join("config.toml");
        std::fs::write(&config, toml)?;
        std::fs::write(dir.join("urls"), urls)?;
        Ok(config)
    }
}

// ---- feed formats --------------------------------------------------------------

fn rss(name: &str, site: &str, outlet: &Outlet, copies: &[Item], now: DateTime<Utc>) -> Vec<u8> {
    let charset = if outlet.gbk { "gb2312" } else { "utf-8" };
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"{charset}\"?>\n\
         <rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n\
         <channel>\n<title>{}</title>\n<link>{}</link>\n<description>{}</description>\n\
         <language>zh-cn</language>\n<lastBuildDate>{}</lastBuildDate>\n",
        xml_escape(name),
        xml_escape(site),
        xml_escape(&format!("{name}滚动新闻")),
        now.with_timezone(&cst()).to_rfc2822()
    );
    for c in copies {
        x += "<item>\n";
        let _ = writeln!(x, "<title>{}</title>", xml_escape(&c.title));
        let _ = writeln!(x, "<link>{}</link>", xml_escape(&c.link));
        match &c.guid {
            Some(g) if *g == c.link => {
                let _ = writeln!(x, "<guid isPermaLink=\"true\">{}</guid>", xml_escape(g));
            }
            Some(g) => {
                let _ = writeln!(x, "<guid isPermaLink=\"false\">{}</guid>", xml_escape(g));
            }
            None => {}
        }
        let _ = writeln!(x, "<pubDate>{}</pubDate>", c.published.to_rfc2822());
        // GBK bytes carry characters GBK lacks as `&#N;`, which CDATA would
        // not decode: GBK feeds escape their bodies instead.
        if outlet.style.content_encoded && !outlet.gbk && outlet.summary.is_none() {
            let teaser: String = c.body.chars().take(60).collect();
            let _ = writeln!(x, "<description>{}</description>", xml_escape(&teaser));
            let _ = writeln!(x, "<content:encoded>{}</content:encoded>", cdata(&c.body));
        } else {
            let _ = writeln!(x, "<description>{}</description>", xml_escape(&c.body));
        }
        x += "</item>\n";
    }
    x += "</channel>\n</rss>\n";
    if outlet.gbk {
        // Characters outside GBK become numeric character references.
        encoding_rs::GBK.encode(&x).0.into_owned()
    } else {
        x.into_bytes()
    }
}

fn atom(name: &str, site: &str, copies: &[Item], now: DateTime<Utc>) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\">\n\
         <title>{}</title>\n<link href=\"{}\"/>\n<id>{}</id>\n<updated>{}</updated>\n",
        xml_escape(name),
        xml_escape(site),
        xml_escape(site),
        now.to_rfc3339()
    );
    for c in copies {
        let id = c.guid.clone().unwrap_or_else(|| c.link.clone());
        let _ = write!(
            x,
            "<entry>\n<title>{}</title>\n<link rel=\"alternate\" href=\"{}\"/>\n<id>{}</id>\n\
             <published>{}</published>\n<updated>{}</updated>\n\
             <content type=\"html\">{}</content>\n</entry>\n",
            xml_escape(&c.title),
            xml_escape(&c.link),
            xml_escape(&id),
            c.published.to_rfc3339(),
            c.published.to_rfc3339(),
            xml_escape(&c.body)
        );
    }
    x += "</feed>\n";
    x
}

fn json_feed(name: &str, site: &str, copies: &[Item]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = copies
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.guid.clone().unwrap_or_else(|| c.link.clone()),
                "url": c.link,
                "title": c.title,
                "content_html": c.body,
                "date_published": c.published.to_rfc3339(),
            })
        })
        .collect();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": name,
        "home_page_url": site,
        "language": "zh-CN",
        "items": items,
    });
    serde_json::to_vec_pretty(&feed).unwrap_or_default()
}

// ---- HTTP ------------------------------------------------------------------------

type Shared = Arc<RwLock<Farm>>;

/// A response: status line, extra headers, body.
struct Response {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Response {
    fn text(status: &'static str, body: String) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".into())],
            body: Bytes::from(body),
        }
    }
}

/// Answers one request. Feeds are rendered already: this only looks up.
fn route(
    farm: &Shared,
    target: &str,
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
) -> Response {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/__bump" => {
            let mut farm = farm.write().unwrap_or_else(|e| e.into_inner());
            let percent = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("percent="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(farm.change_percent);
            Response::text("200 OK", farm.bump(percent))
        }
        "/__stats" => {
            let farm = farm.read().unwrap_or_else(|e| e.into_inner());
            Response::text("200 OK", farm.stats())
        }
        _ => {
            let farm = farm.read().unwrap_or_else(|e| e.into_inner());
            let Some(outlet) = farm.by_path.get(path).map(|&o| &farm.outlets[o]) else {
                Hits::count(&farm.hits.not_found);
                return Response::text("404 Not Found", "not found\n".into());
            };
            let validators = vec![
                ("ETag", outlet.etag.clone()),
                ("Last-Modified", outlet.last_modified.clone()),
            ];
            // If-None-Match wins; If-Modified-Since counts only without it.
            let fresh = match (if_none_match, if_modified_since) {
                (Some(inm), _) => inm
                    .split(',')
                    .any(|t| t.trim() == outlet.etag || t.trim() == "*"),
                (None, Some(ims)) => httpdate::parse_http_date(ims).is_ok_and(|t| {
                    DateTime::<Utc>::from(t).timestamp() >= outlet.updated.timestamp()
                }),
                (None, None) => false,
            };
            if fresh {
                Hits::count(&farm.hits.not_modified);
                return Response {
                    status: "304 Not Modified",
                    headers: validators,
                    body: Bytes::new(),
                };
            }
            Hits::count(&farm.hits.full);
            farm.hits
                .body_bytes
                .fetch_add(outlet.body.len() as u64, Ordering::Relaxed);
            let mut headers = vec![("Content-Type", outlet.content_type().to_string())];
            headers.extend(validators);
            Response {
                status: "200 OK",
                headers,
                body: outlet.body.clone(),
            }
        }
    }
}

/// Longest request line or header line accepted.
const MAX_LINE: u64 = 8192;
/// An idle keep-alive connection is closed after this.
const IDLE: Duration = Duration::from_secs(30);

/// Serves one connection: HTTP/1.1 GET/HEAD, keep-alive unless asked not to.
async fn connection(stream: TcpStream, farm: Shared) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        let n = match tokio::time::timeout(IDLE, (&mut read).take(MAX_LINE).read_line(&mut line))
            .await
        {
            Ok(r) => r?,
            Err(_) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, target, version) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("/").to_string(),
            parts.next().unwrap_or("HTTP/1.0").to_string(),
        );
        let mut close = version != "HTTP/1.1";
        let (mut inm, mut ims) = (None, None);
        loop {
            line.clear();
            if (&mut read).take(MAX_LINE).read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim().to_string();
            match name.trim().to_ascii_lowercase().as_str() {
                "if-none-match" => inm = Some(value),
                "if-modified-since" => ims = Some(value),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let resp = if method == "GET" || method == "HEAD" {
            route(&farm, &target, inm.as_deref(), ims.as_deref())
        } else {
            Response::text("405 Method Not Allowed", "GET only\n".into())
        };
        let mut head = format!(
            "HTTP/1.1 {}\r\nContent-Length: {}\r\n",
            resp.status,
            resp.body.len()
        );
        for (name, value) in &resp.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head += if close {
            "Connection: close\r\n\r\n"
        } else {
            "Connection: keep-alive\r\n\r\n"
        };
        write.write_all(head.as_bytes()).await?;
        if method != "HEAD" && !resp.body.is_empty() {
            write.write_all(&resp.body).await?;
        }
        if close {
            return write.shutdown().await;
        }
    }
}

async fn accept_loop(listener: TcpListener, farm: Shared) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let farm = farm.clone();
                tokio::spawn(async move {
                    let _ = connection(stream, farm).await;
                });
            }
            // Out of file descriptors and the like: wait and go on.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// One listener per loopback address 127.0.0.1..=127.0.0.HOSTS, all on the
/// same port: `port`, or when it is 0 the first free port that every
/// address can take.
async fn bind_all(hosts: u8, port: u16) -> std::io::Result<(Vec<TcpListener>, u16)> {
    let addr = |k: u8, port: u16| SocketAddr::from((Ipv4Addr::new(127, 0, 0, k), port));
    let mut attempts = if port == 0 { 20 } else { 1 };
    loop {
        let first = TcpListener::bind(addr(1, port)).await?;
        let bound = first.local_addr()?.port();
        let mut listeners = vec![first];
        let mut failed = None;
        for k in 2..=hosts {
            match TcpListener::bind(addr(k, bound)).await {
                Ok(l) => listeners.push(l),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        match failed {
            None => return Ok((listeners, bound)),
            Some(e) => {
                attempts -= 1;
                if attempts == 0 {
                    return Err(e);
                }
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let items = args.items.unwrap_or(if args.real_length { 30 } else { 40 });
    if args.feeds == 0 || items == 0 {
        eprintln!("farm: --feeds and --items must be at least 1");
        return std::process::ExitCode::from(2);
    }
    let corpus = args.articles.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/news-zh/articles.jsonl")
    });
    let (articles, lettering) = if args.whole_articles() {
        let mode = if args.varied {
            "--varied"
        } else {
            "--real-length"
        };
        match real_length_articles(&corpus, args.max_chars(), mode) {
            Ok((a, l)) => (a, Some(l)),
            Err(e) => {
                eprintln!("farm: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    } else {
        let articles = prepare(load_articles(&corpus).unwrap_or_else(|| {
            eprintln!(
                "farm: no articles in {}; using generated text",
                corpus.display()
            );
            synthetic_articles(1500, &mut Rng(args.seed ^ 0xA5A5))
        }));
        (articles, None)
    };
    let n_articles = articles.len();
    let farm = Farm::new(&args, items, articles, lettering);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("farm: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let (listeners, port) = match bind_all(args.hosts(), args.port).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("farm: cannot listen on 127.0.0.1..=127.0.0.{}:{}: {e}", args.hosts(), args.port);
                return std::process::ExitCode::from(1);
            }
        };
        for o in 0..farm.outlets.len() {
            if let Err(e) = farm.write_static(o) {
                eprintln!("farm: cannot write {}: {e}", farm.outlets[o].path);
                return std::process::ExitCode::from(1);
            }
        }
        let config = match farm.write_files(&args.dir, args.url_port.unwrap_or(port)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("farm: cannot write into {}: {e}", args.dir.display());
                return std::process::ExitCode::from(1);
            }
        };
        let bytes: usize = farm.outlets.iter().map(|o| o.body.len()).sum();
        let items = farm.items_per_feed();
        eprintln!(
            "farm: {}{} feeds × {items} items{} from {n_articles} articles ({:.1} MiB) on 127.0.0.1..=127.0.0.{}:{port}",
            match (args.varied, args.real_length) {
                (true, _) => "varied, ",
                (false, true) => "real-length, ",
                (false, false) => "",
            },
            args.feeds,
            if args.varied { " on average" } else { "" },
            bytes as f64 / (1 << 20) as f64,
            args.hosts()
        );
        let stats = farm.totals;
        let shared: Shared = Arc::new(RwLock::new(farm));
        for l in listeners {
            tokio::spawn(accept_loop(l, shared.clone()));
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "port={port}");
        let _ = writeln!(out, "config={}", config.display());
        let _ = writeln!(
            out,
            "feeds={} items={} copies={} stories={} merged={}",
            args.feeds,
            items,
            stats.copies,
            stats.stories,
            stats.copies - stats.stories
        );
        let _ = out.flush();
        drop(out);
        std::future::pending::<std::process::ExitCode>().await
    })
}
