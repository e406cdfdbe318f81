//! Evaluation harness for story merging (exact content hash and near-duplicate
//! detection), with known ground truth:
//!
//! ```sh
//! cargo run --release --example dedupe_eval -- [--copies 2000] [--seed 1 | --seeds 1,2,3] [--out DIR] [--keep] [--orders] [--web] [--no-shapes]
//! ```
//!
//! 1. **Generates** a syndicated test set: "wire stories" (real Chinese
//!    articles from `../shared/news-zh/articles.jsonl` and `../shared/seed/*.txt`
//!    when present, else text put together from sentences written here), each
//!    carried by 1–8 of `--outlets` (30) outlets. Each outlet has a house style, and each
//!    copy is transformed the way real outlets do: full text, a summary cut
//!    from its start (80–300 characters, with or without "…"), a sentence
//!    added or dropped, other quote marks (“” 「」 ""), full-width digits and
//!    letters, half-width punctuation, datelines (`中新网北京10月9日电（记者
//!    杜燕）`, `新华社…电`, `本报讯（记者 X）`, alone on their line or not),
//!    `原标题：…`, `责任编辑：…`, `(完)`, a "相关推荐" list of other stories'
//!    titles (under a heading or bare), title decorations (`_某某网`,
//!    `【频道】`, `（组图）`), and `<p>` / `<br>` / plain-text bodies.
//!    **Hard negatives** — different stories a merger must keep apart — are
//!    planted in groups: stories sharing a title ("通知", "公告", "乔迁新居":
//!    short templated notices, or full articles), stories that open with the
//!    same stock sentence then differ, follow-ups of an event published 1–8
//!    days later (same title or entities, a recap of the first report, new
//!    text), and short items that share nothing but a "相关推荐" list.
//!    Output, in DIR: `feeds/outlet-NN.{xml,json}` (RSS 2.0, Atom, JSON Feed;
//!    some RSS as GBK bytes declared `encoding="gb2312"`), `truth.json` (copy
//!    key `source|guid` → wire story id, plus each copy's transformations and
//!    the hard-negative groups) and `config.toml` (one `[[source]]` per feed,
//!    `file://` URLs, `[storage] path = "eval.db"`; `config-dedupe-off.toml`
//!    is the same with `[dedupe] enabled = false` and `eval-dedupe-off.db`).
//! 2. **Runs the real binary** (`cargo build --release`, or `$NEWSRIVER_BIN`):
//!    `poll` (timed: wall seconds and items/s) then `export`, and maps the
//!    exported copies back to the truth by (source, guid). With `--dedupe
//!    both` (the default) it does so twice: as the binary comes (the
//!    near-duplicate detector at its defaults) and with `[dedupe] enabled =
//!    false` (exact content hash only), so merge quality and ingest speed
//!    can be compared with and without the detector.
//! 3. **Baselines** from the same feed files without the binary (decoded,
//!    parsed and normalized with the library): "exact content hash" (what
//!    newsriver did before near-duplicate detection) and "exact title"
//!    (the cleaned title, NFKC, lower case).
//! 4. **Reports** pairwise precision / recall / F1 over copies (a pair of
//!    copies is positive when they are in the same story), false merges by
//!    hard-negative category, recall by transformation (by the two copies'
//!    body kinds, and among full-text pairs by which boilerplate differs), and
//!    examples of each kind of error with 5-gram Jaccard / containment.
//!
//! With `--web` (issue 14) the feeds and each item's article page (three
//! house templates, `examples/support/pages.rs`, one GBK) are served over
//! HTTP by an in-process server on loopback, one address per outlet; some
//! outlets publish only summaries of 50–99, 100–200 or ~300 characters,
//! some print Traditional characters (OpenCC `s2tw`, ferrous-opencc), and
//! two more hard negatives are planted (follow-ups that reuse the lead of
//! the day before's story, reports that differ only in figures). The binary
//! polls with full text off and on (summary-only sources), and the report
//! adds precision and recall by pair type, the topic-repeat rate of the
//! rendered topic feeds, and the requests and connections each host saw at
//! once. See docs/dedupe.md.
//!
//! With `--orders` (issue 19) the binary also polls the same feeds with the
//! config's `[[source]]` blocks reversed and shuffled, each into a database
//! of its own, and the report adds the stories of each order and the
//! clusters (sets of copies) that differ from the forward order's.
//!
//! **Shapes (issue 20)**, `examples/support/shapes.rs`: what real Chinese
//! feeds do that the transformations above do not, each a class with
//! parameters drawn from the seed: `原标题：X` run into the text on one line
//! (X the title or an earlier headline, with or without a site suffix such
//! as `_手机网易网`; a space, an ideographic space or nothing before the
//! text, before or after the dateline); the headline run into the start of
//! the text (with `【快讯】`, `_雨雪`, `(图)`…); bylines run together
//! (`实习记者 张某 某某时报(www.x.cn)记者 李某 深圳报道…`, `本报讯(王某 记者
//! 李某)…`, `正义网讯(记者张某　通讯员李某)…`: random role words, 1–3 names,
//! separators, papers) and cut, the text beginning inside the byline
//! (`记者 李某)…`); Taiwan and Hong Kong datelines (`（中央社記者王小明台北3日電）`,
//! `【明報專訊】`, `（星島日報報道）`); punctuation mixed within a copy (`,`
//! for some `，`, `...`/`…`/`……`, ASCII or corner quotes, full- or
//! half-width digits and letters, `　　` indents); a sentence added before
//! the lead (`今天是11月5日，星期三！`); the first paragraph removed (full
//! copies only); promo lines (`关注我们…`, `往期推荐●…●…点个在看再走`, `↓↓↓`,
//! `点击上方蓝字关注我们`…) before, inside or after the text. Each outlet
//! draws a probability per shape, so a story's copies combine them; without
//! `--web` one outlet in ten also prints Traditional characters, and
//! summaries are 50–300 characters. `--no-shapes` gives the data set as
//! before them. `truth.json` records each copy's `shapes` and what was
//! drawn (`shape_details`). The report adds **recall by shape** (over the
//! true pairs in which at least one copy has the shape; also by body kind
//! and by each existing decoration), each as recall over all those pairs
//! and over the **recallable** ones: true pairs whose two copies' carried
//! article texts (the generator's knowledge, folded to letters and digits,
//! not the normalizer's output) share at least `dedupe::BRIDGE_SHARED`
//! (0.5) of the shorter's characters — the others (a copy without its
//! first paragraph and a summary of that paragraph) are kept apart by the
//! trust rule by design and counted as "apart by the trust rule"; the
//! **worst shape** (lowest recall over the recallable pairs, at least 30
//! of them; both figures shown), and **over-stripping** per shape, through the
//! library: the share of the article characters a copy carried (folded:
//! NFKC, lower case, Simplified, letters and digits; counted by 4-grams)
//! that its normalized text lacks (mean, worst, copies over 5%), the share
//! of the characters of its boilerplate pieces (of that shape) left in,
//! and the copies whose text is empty or fell back
//! (`NormalizedItem::text_fallback`); with `--web` also for the
//! summary-only outlets' article pages as full text on reads them
//! (`fulltext::extract`, `clean_html`, `normalize`). Examples per shape:
//! the worst missed pairs (generated text → normalized text) and the most
//! over-stripped copies. `--seeds 1,2,3` runs everything per seed (in
//! DIR/seed-N) and ends with a table per seed and method (recall over all
//! and over recallable pairs, precision, worst shape (both figures), over-stripped, empty and fallback copies) and
//! the worst over seeds.
//!
//! Everything generated is a function of `--seed` (SplitMix64, no `rand`).
//! The binary polls with `[fetch] concurrency = 1` by default so that copies
//! arrive in the same order every run (near-duplicate merging depends on what
//! is already stored); `--concurrency N` measures a parallel poll instead.
//! Without `--out` the files go to a temporary folder, removed at the end
//! unless `--keep`; a folder named with `--out` is kept.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::{DateTime, Datelike, FixedOffset, TimeDelta, TimeZone};
use clap::{Parser, ValueEnum};
use unicode_normalization::UnicodeNormalization;

use newsriver::normalize::Normalizer;

#[path = "support/pages.rs"]
mod pages;
#[path = "support/shapes.rs"]
mod shapes;

use shapes::{Punct, Shape};

#[derive(Parser, Debug, Clone)]
#[command(about = "Measure how well newsriver merges syndicated copies (known ground truth)")]
struct Args {
    /// Copies (feed items) to generate, at least.
    #[arg(long, default_value_t = 2000)]
    copies: usize,
    /// Outlets, one feed file each.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(8..=40))]
    outlets: u16,
    /// Seed of every random choice (same seed, same data set).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Several seeds, comma-separated (`1,2,3`): the whole evaluation for
    /// each (in DIR/seed-N), then a summary table per seed and the worst
    /// over seeds. Overrides `--seed`.
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Without the shapes of issue 20 (`原标题` and headlines run into the
    /// text, bylines, Taiwan/Hong Kong datelines, punctuation, copy edits,
    /// promo lines): the data set as before them.
    #[arg(long)]
    no_shapes: bool,
    /// Examples shown per shape (missed pairs and over-stripped copies).
    #[arg(long, default_value_t = 3)]
    shape_examples: usize,
    /// Folder for feeds, truth.json, config.toml and the database (kept).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep the temporary folder when `--out` is not given.
    #[arg(long)]
    keep: bool,
    /// Which binary runs: as it comes, with `[dedupe] enabled = false`, or both.
    #[arg(long, value_enum, default_value_t = DedupeRuns::Both)]
    dedupe: DedupeRuns,
    /// `[fetch] concurrency` of the poll (1 keeps the merge order reproducible).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Examples shown per kind of error.
    #[arg(long, default_value_t = 2)]
    examples: usize,
    /// Serve the feeds and every item's article page over HTTP on loopback
    /// (one address per outlet, 127.0.0.2 on): summary-only outlets of 50–99,
    /// 100–200 and ~300 characters, outlets in Traditional script, article
    /// pages in three house templates (one GBK), and two more kinds of hard
    /// negative (follow-ups that reuse the lead of yesterday's story, reports
    /// that differ only in their figures). Polls with full text off and on
    /// (`full_text = true` on the summary-only sources) and reports
    /// precision and recall by pair type and the topic-repeat rate.
    #[arg(long)]
    web: bool,
    /// `--web`: the server's delay before answering an article page (ms),
    /// standing in for the network; requests in flight per host are counted
    /// while it lasts.
    #[arg(long, default_value_t = 5)]
    page_delay_ms: u64,
    /// `--web`: loopback addresses the outlets are spread over (default one
    /// each; 1 puts every outlet on one host, so that `[fetch] per_host`
    /// holds them all back).
    #[arg(long)]
    hosts: Option<usize>,
    /// `--web`: `[dedupe] min_chars` of both polls (unset: the binary's default).
    #[arg(long)]
    min_chars: Option<usize>,
    /// Also poll the same feeds with the config's `[[source]]` blocks
    /// reversed and shuffled (issue 19: what merges must not depend on poll
    /// order) and report stories, precision, recall and the clusters that
    /// differ from the forward order's.
    #[arg(long)]
    orders: bool,
    /// Articles, `{"title","content"}` a line (default ../shared/news-zh/articles.jsonl;
    /// `none`: generated text only).
    #[arg(long, value_name = "JSONL")]
    articles: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DedupeRuns {
    /// The binary's own `[dedupe]` defaults.
    Default,
    /// `[dedupe] enabled = false`.
    Off,
    /// Both, one after the other.
    Both,
}

fn main() {
    let args = Args::parse();
    let seeds = if args.seeds.is_empty() {
        vec![args.seed]
    } else {
        args.seeds.clone()
    };
    let mut rows = Vec::new();
    for &seed in &seeds {
        let mut one = args.clone();
        one.seed = seed;
        if !args.seeds.is_empty() {
            one.out = args.out.as_ref().map(|d| d.join(format!("seed-{seed}")));
            println!("\n==== seed {seed} ====");
        }
        match run(&one) {
            Ok(r) => rows.extend(r),
            Err(e) => {
                eprintln!("error (seed {seed}): {e}");
                std::process::exit(1);
            }
        }
    }
    print!("{}", seeds_table(&rows));
}

fn run(args: &Args) -> Result<Vec<SeedRow>, String> {
    let (dir, temporary) = match &args.out {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("newsriver-dedupe-eval-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(dir.join("feeds")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = evaluate(args, &dir);
    if temporary && !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("\nfiles kept in {}", dir.display());
    }
    result
}

/// Generates the data set in `dir`, runs everything, prints the report.
fn evaluate(args: &Args, dir: &Path) -> Result<Vec<SeedRow>, String> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));

    // 1. The data set.
    let articles_path = args
        .articles
        .clone()
        .unwrap_or_else(|| manifest.join("../shared/news-zh/articles.jsonl"));
    let corpus = Corpus::load(&articles_path, &manifest.join("../shared/seed"), args.seed);
    let server = if args.web {
        let hosts = args
            .hosts
            .unwrap_or(args.outlets as usize)
            .clamp(1, args.outlets as usize);
        Some(web::Server::start(hosts, args.page_delay_ms)?)
    } else {
        None
    };
    let sites = server.as_ref().map(|s| s.sites(args.outlets as usize));
    let ds = Dataset::generate(args, corpus, sites.as_deref());
    ds.write(dir, args.concurrency, args.min_chars)?;
    if let Some(server) = &server {
        server.load(ds.served(dir)?);
    }
    println!("{}", ds.describe(dir));
    if let Some(server) = &server {
        return evaluate_web(args, dir, &manifest, &ds, server);
    }

    // 2. The binary: (name, table column, config).
    let runs: &[(&str, &str, &str)] = match args.dedupe {
        DedupeRuns::Default => &[("newsriver", "newsriver", "config.toml")],
        DedupeRuns::Off => &[(
            "newsriver dedupe off",
            "nr dedupe off",
            "config-dedupe-off.toml",
        )],
        DedupeRuns::Both => &[
            ("newsriver", "newsriver", "config.toml"),
            (
                "newsriver dedupe off",
                "nr dedupe off",
                "config-dedupe-off.toml",
            ),
        ],
    };
    let bin = newsriver_binary(&manifest)?;
    let mut methods: Vec<Method> = Vec::new();
    for &(name, column, config) in runs {
        match run_binary(&bin, &dir.join(config), &ds) {
            Ok((pred, info)) => methods.push(Method {
                name: name.to_string(),
                column,
                pred,
                info: Some(info),
            }),
            Err(e) => eprintln!("{name}: {e}"),
        }
    }

    if args.orders
        && let Some(forward) = methods.iter().find(|m| m.column == "newsriver")
    {
        let forward = forward.pred.clone();
        for (name, column, config) in order_configs(dir, args.seed, ("config.toml", "eval.db"))? {
            match run_binary(&bin, &dir.join(&config), &ds) {
                Ok((pred, info)) => {
                    let (only_forward, only_other) = partition_differences(&forward, &pred);
                    println!(
                        "order {name}: {} stories (forward {}); clusters only in forward {only_forward}, only in {name} {only_other}",
                        story_count(&pred),
                        story_count(&forward)
                    );
                    methods.push(Method {
                        name: format!("newsriver {name}"),
                        column,
                        pred,
                        info: Some(info),
                    });
                }
                Err(e) => eprintln!("{name}: {e}"),
            }
        }
    }

    // 3. Baselines from the same files, through the library.
    let norms = ds.read_back(dir)?;
    methods.push(Method {
        name: "exact content hash".into(),
        column: "exact hash",
        pred: group_by(&norms, |n| n.hash.clone()),
        info: None,
    });
    methods.push(Method {
        name: "exact title".into(),
        column: "exact title",
        pred: group_by(&norms, |n| {
            n.title.nfkc().collect::<String>().to_lowercase()
        }),
        info: None,
    });

    // 4. The report.
    let eval = Evaluation::new(&ds);
    let outcomes: Vec<Outcome> = methods
        .iter()
        .map(|m| eval.score(m, args.examples))
        .collect();
    print!("{}", eval.report(&methods, &outcomes, &norms));
    let (text, rows) = eval.shape_report(&methods, &outcomes, &norms, args.shape_examples);
    print!("{text}");
    Ok(rows)
}

// ---- randomness ---------------------------------------------------------------

/// SplitMix64: small, fast, and the same sequence for the same seed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// 0..n
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// lo..=hi
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, self.below(i + 1));
        }
    }
    /// A generator that depends only on the seed and (a, b): how one outlet
    /// dresses one story does not depend on what was generated before it.
    fn for_pair(seed: u64, a: usize, b: usize) -> Rng {
        let mut r = Rng(seed ^ (a as u64).wrapping_mul(0x1000_0000_01B3));
        r.0 ^= Rng(b as u64 ^ 0x5eed).next_u64();
        r
    }
}

// ---- text helpers -------------------------------------------------------------

/// Letters and digits only, lower case: the form texts are compared in.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Hashes of the character 5-grams of a folded text.
fn grams(folded: &str) -> HashSet<u64> {
    let chars: Vec<char> = folded.chars().collect();
    chars
        .windows(5)
        .map(|w| {
            w.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
                (h ^ c as u64).wrapping_mul(0x0000_0100_0000_01B3)
            })
        })
        .collect()
}

/// 5-gram Jaccard similarity and containment of the smaller set in the larger.
fn similarity(a: &str, b: &str) -> (f64, f64) {
    let (ga, gb) = (grams(&fold(a)), grams(&fold(b)));
    let inter = ga.intersection(&gb).count() as f64;
    let union = (ga.len() + gb.len()) as f64 - inter;
    let smaller = ga.len().min(gb.len()) as f64;
    (
        if union > 0.0 { inter / union } else { 0.0 },
        if smaller > 0.0 { inter / smaller } else { 0.0 },
    )
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Sentences, each with its end mark.
fn sentences(p: &str) -> Vec<String> {
    p.split_inclusive(['。', '！', '？', '!', '?'])
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_escape(s: &str) -> String {
    html_escape(s).replace('"', "&quot;")
}

fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// Full-width digits and Latin letters (０-９, Ａ-Ｚ, ａ-ｚ).
fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' | 'A'..='Z' | 'a'..='z' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Half-width (ASCII) punctuation where Chinese text has full-width marks.
fn ascii_punct(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '，' => ',',
            '：' => ':',
            '；' => ';',
            '（' => '(',
            '）' => ')',
            '！' => '!',
            '？' => '?',
            c => c,
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quotes {
    Curly,
    Corner,
    Ascii,
}

fn restyle_quotes(s: &str, q: Quotes) -> String {
    s.chars()
        .map(|c| match (q, c) {
            (Quotes::Corner, '“') => '「',
            (Quotes::Corner, '”') => '」',
            (Quotes::Corner, '‘') => '『',
            (Quotes::Corner, '’') => '』',
            (Quotes::Ascii, '“' | '”') => '"',
            (Quotes::Ascii, '‘' | '’') => '\'',
            (_, c) => c,
        })
        .collect()
}

fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// Stories are dated from here on (a fixed past date: the data set must not
/// depend on today, and newsriver does not believe dates in the future).
fn base_time() -> DateTime<FixedOffset> {
    cst()
        .with_ymd_and_hms(2025, 9, 1, 6, 0, 0)
        .single()
        .expect("valid date")
}

// ---- word lists (written for this harness) -----------------------------------

#[rustfmt::skip]
const CITIES: &[&str] = &[
    "北京", "上海", "广州", "深圳", "成都", "武汉", "杭州", "南京", "西安", "重庆", "天津",
    "长沙", "郑州", "沈阳", "昆明", "哈尔滨", "济南", "福州",
];
#[rustfmt::skip]
const PEOPLE: &[&str] = &[
    "杜燕", "张三", "李四", "王五", "赵六", "陈晨", "刘洋", "孙悦", "周密", "吴昊", "郑好",
    "黄河", "林森", "何静", "马超", "高远", "许诺", "邓亮",
];
const CHANNELS: &[&str] = &[
    "社会", "教育", "财经", "国内", "科技", "文化", "地方", "民生",
];

/// Outlet names; most end like the title suffixes newsriver strips (网, 报,
/// 新闻…), a few do not (界面, 封面, 上游).
#[rustfmt::skip]
const OUTLET_NAMES: &[&str] = &[
    "华夏网", "东方快报", "南方都市网", "北国日报", "西部在线", "江南时报", "海峡新闻", "中原网",
    "齐鲁晚报", "燕赵都市网", "荆楚网", "巴蜀日报", "湘江在线", "岭南新闻", "塞北晚报", "天山网",
    "黄河新闻网", "长江日报", "珠江时报", "滨海网", "界面", "封面", "津门晚报", "沪上新闻",
    "金陵网", "钱江晚报", "闽南网", "赣江日报", "桂林在线", "黔中新闻", "滇池晚报", "上游",
    "青海湖报", "秦川网", "晋阳新闻", "辽沈晚报", "吉林在线", "龙江网", "琼州日报", "蒙原新闻",
];

/// Sentences an outlet may add to wire copy.
const ADDED_SENTENCES: &[&str] = &[
    "记者了解到，相关工作目前仍在有序推进中。",
    "据悉，这也是当地今年以来开展的同类活动中规模最大的一次。",
    "对此，不少网友在社交平台上留言表示关注。",
    "相关部门提醒，市民可通过官方渠道了解最新信息。",
    "业内人士认为，此举将对当地发展产生积极影响。",
    "截至记者发稿时，现场秩序良好。",
    "本网将持续关注事件进展。",
    "据介绍，相关措施将在试点基础上逐步推广。",
];

/// Stock openings many unrelated reports start with (`{m}`, `{d}`, `{city}` filled in).
const STOCK_OPENINGS: &[&str] = &[
    "为深入贯彻落实党中央、国务院关于安全生产工作的决策部署，切实保障人民群众生命财产安全，",
    "近日，记者从{city}市政府新闻办召开的新闻发布会上获悉，",
    "今天，记者从{city}市教委了解到，",
    "国庆中秋假期即将到来，为确保广大市民度过一个欢乐、祥和、平安的节日，",
    "随着气温逐渐回升，各地迎来出游高峰，文旅市场持续升温。",
    "{m}月{d}日上午，{city}市人民政府新闻办公室召开新闻发布会。",
    "今年以来，在市委、市政府的坚强领导下，全市上下坚持稳中求进工作总基调，经济运行总体平稳、稳中有进。记者从{city}市统计局了解到，",
    "连日来，受强降雨天气影响，{city}多地出现内涝、山洪等灾害。",
];

/// Titles shared by unrelated full articles.
const SHARED_ARTICLE_TITLES: &[&str] = &[
    "通知",
    "公告",
    "喜报",
    "倡议书",
    "重要提醒",
    "乔迁新居",
    "招聘启事",
];

#[rustfmt::skip]
const ORGS: &[&str] = &[
    "市自来水公司", "区住房和城乡建设委员会", "市第一中学", "阳光社区居委会", "市交通运输局",
    "市人民医院", "市供电公司", "滨江街道办事处", "市图书馆", "市民政局", "市税务局第二分局",
    "开发区管委会",
];
#[rustfmt::skip]
const AREAS: &[&str] = &[
    "幸福里小区", "滨河花园", "建设路沿线", "东风路以北片区", "学府家园", "金桥新村",
    "人民路与解放路交叉口一带", "高新区创业大街", "老城区北片", "和平里街道",
];
#[rustfmt::skip]
const ADDRESSES: &[&str] = &[
    "新华路88号", "金融街东侧综合楼", "世纪大道1666号", "滨江路南段201号", "科技园区创新大厦",
    "人民广场西侧政务中心", "长安路369号", "体育中心北门",
];
#[rustfmt::skip]
const PROJECTS: &[&str] = &[
    "道路提升改造", "雨污分流管网建设", "老旧小区综合整治", "地铁站点配套", "桥梁加固维修",
    "校园食堂升级", "社区卫生服务中心改扩建",
];

/// Short notices by title; slots `{org} {area} {area2} {addr} {project} {m}
/// {d} {d2} {h1} {h2} {phone} {n}`.
const NOTICES: &[(&str, &[&str])] = &[
    (
        "通知",
        &[
            "因{area}供水管网改造施工，定于{m}月{d}日{h1}时至{h2}时暂停供水，受影响范围包括{area2}等区域，请广大用户提前做好储水准备，由此带来的不便敬请谅解。特此通知。",
            "接{org}通知，因线路检修，{m}月{d}日{h1}时至{h2}时{area}将临时停电，请相关单位和居民提前做好准备。特此通知。",
            "{org}定于{m}月{d}日{h1}时在{addr}召开年度工作会议，请各科室负责人及有关人员准时参加，不得无故缺席。",
        ],
    ),
    (
        "公告",
        &[
            "{org}{project}项目已具备招标条件，现面向社会公开招标，投标人须于{m}月{d}日前携带相关资料到{addr}报名，联系电话{phone}。",
            "因{project}施工需要，{m}月{d}日起{area}实行半幅封闭，预计工期{n}天，请过往车辆提前绕行，施工期间给您带来的不便敬请谅解。",
        ],
    ),
    (
        "乔迁新居",
        &[
            "{org}已于{m}月{d}日正式迁入新址办公，新址位于{addr}，原办公地址同时停止对外服务，办事群众请前往新址办理相关业务，咨询电话{phone}。",
            "经过近{n}个月的紧张施工，{org}新办公楼日前顺利竣工，全体干部职工于{m}月{d}日乔迁新居，新址位于{addr}，欢迎各界朋友莅临指导。",
        ],
    ),
    (
        "温馨提示",
        &[
            "据气象部门预报，{m}月{d}日至{d2}日我市将出现持续强降雨天气，{area}等低洼路段易积水，请广大市民注意防范，尽量减少外出。",
            "近期{area}周边道路施工，{m}月{d}日至{d2}日每天{h1}时至{h2}时交通管制，请市民合理安排出行时间，选择公共交通出行。",
        ],
    ),
    (
        "声明",
        &[
            "近日发现有不法分子冒用{org}名义，以办理{project}补贴为由向群众收取费用。本单位从未授权任何机构或个人开展此类业务，请广大群众提高警惕，谨防上当受骗。特此声明。",
        ],
    ),
];

/// Follow-up titles (`{t}` is the first report's title).
const FOLLOW_UP_TITLES: &[&str] = &["{t}", "{t}（后续）", "追踪｜{t}", "{t}：最新进展"];

// ---- the corpus ---------------------------------------------------------------

/// A text as the wire sends it, before any outlet touches it.
#[derive(Clone)]
struct Article {
    title: String,
    paras: Vec<String>,
    /// It opens with its own dateline or credit: outlets add none.
    has_dateline: bool,
}

impl Article {
    fn new(title: String, paras: Vec<String>) -> Article {
        let head = prefix(&paras.concat(), 40);
        let has_dateline = ["电", "讯", "消息", "记者", "报道"]
            .iter()
            .any(|m| head.contains(m));
        Article {
            title,
            paras,
            has_dateline,
        }
    }

    fn len(&self) -> usize {
        chars(&self.paras.concat())
    }

    fn sentence_count(&self) -> usize {
        self.paras.iter().map(|p| sentences(p).len()).sum()
    }
}

/// Splits an article at line breaks and the runs of spaces (ASCII or
/// ideographic) the corpus uses between paragraphs; long paragraphs are cut
/// after a `。`.
fn split_paragraphs(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    let content = content.replace("\u{3000}\u{3000}", "  ");
    for line in content.split('\n') {
        for para in line.split("  ") {
            let para = para.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}');
            let mut cur = String::new();
            for c in para.chars() {
                cur.push(c);
                if c == '。' && chars(&cur) >= 150 {
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

/// Lines that are outlet matter, not wire text (the corpus has some): they
/// are removed so that each outlet's own boilerplate is the only kind.
fn is_credit(p: &str) -> bool {
    const MARKS: &[&str] = &[
        "原标题",
        "责任编辑",
        "编辑：",
        "编辑:",
        "责编",
        "来源：",
        "来源:",
        "作者：",
        "(完)",
        "（完）",
    ];
    chars(p) <= 80 && MARKS.iter().any(|m| p.contains(m))
}

/// A paragraph without the `原标题：…` some corpus articles open with (the
/// outlets add their own): what follows the first space, or nothing.
fn without_original_title(p: &str) -> Option<String> {
    if !p.starts_with("原标题") {
        return Some(p.to_string());
    }
    let rest = p[p.find(char::is_whitespace)?..].trim();
    (!rest.is_empty()).then(|| rest.to_string())
}

struct Corpus {
    articles: Vec<Article>,
    used: Vec<bool>,
    /// Sentences for putting texts together once the articles run out.
    pool: Vec<String>,
    composed: usize,
    titles: HashSet<String>,
    origin: String,
}

impl Corpus {
    /// Real articles (shuffled with `seed`), near duplicates and repeated
    /// titles dropped; else none, and texts are put together from generated
    /// sentences.
    fn load(jsonl: &Path, seed_dir: &Path, seed: u64) -> Corpus {
        let mut articles = Vec::new();
        let mut origin = Vec::new();
        if let Ok(text) = std::fs::read_to_string(jsonl) {
            let before = articles.len();
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let (Some(title), Some(content)) = (v["title"].as_str(), v["content"].as_str())
                else {
                    continue;
                };
                let paras: Vec<String> = split_paragraphs(content)
                    .iter()
                    .filter_map(|p| without_original_title(p))
                    .filter(|p| !is_credit(p))
                    .collect();
                if !paras.is_empty() {
                    articles.push(Article::new(title.trim().to_string(), paras));
                }
            }
            origin.push(format!("{} ({})", jsonl.display(), articles.len() - before));
        }
        if let Ok(dir) = std::fs::read_dir(seed_dir) {
            let mut files: Vec<PathBuf> = dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .collect();
            files.sort();
            for f in &files {
                let Ok(text) = std::fs::read_to_string(f) else {
                    continue;
                };
                let mut lines = text.lines();
                let title = lines.next().unwrap_or_default().trim().to_string();
                // The report ends at the wire's (完); what follows is the page's.
                let mut paras = Vec::new();
                for l in lines {
                    let end = l.find("(完)").or_else(|| l.find("（完）"));
                    let p = end.map_or(l, |e| &l[..e]).trim();
                    if !p.is_empty() && !is_credit(p) {
                        paras.push(p.to_string());
                    }
                    if end.is_some() {
                        break;
                    }
                }
                if !title.is_empty() && !paras.is_empty() {
                    articles.push(Article::new(title, paras));
                }
            }
            if !files.is_empty() {
                origin.push(format!("{} ({} files)", seed_dir.display(), files.len()));
            }
        }
        let loaded = articles.len();
        let mut articles = distinct(articles);
        let mut rng = Rng(seed ^ 0xc0_4b05);
        rng.shuffle(&mut articles);
        let mut pool: Vec<String> = articles
            .iter()
            .flat_map(|a| sentences(&a.paras.concat()).into_iter().skip(1))
            .filter(|s| (12..=120).contains(&chars(s)) && !s.contains(['<', '&']))
            .collect();
        if pool.len() < 500 {
            pool.extend((0..5000).map(|_| synthetic_sentence(&mut rng)));
        }
        rng.shuffle(&mut pool);
        let origin = if origin.is_empty() {
            "no corpus found: generated text only".to_string()
        } else {
            format!(
                "{} distinct of {loaded} articles from {}",
                articles.len(),
                origin.join(" + ")
            )
        };
        Corpus {
            used: vec![false; articles.len()],
            titles: articles.iter().map(|a| a.title.clone()).collect(),
            articles,
            pool,
            composed: 0,
            origin,
        }
    }

    /// The next unused article that `fits`, else a text put together.
    fn take(&mut self, rng: &mut Rng, fits: impl Fn(&Article) -> bool) -> Article {
        if let Some(i) =
            (0..self.articles.len()).find(|&i| !self.used[i] && fits(&self.articles[i]))
        {
            self.used[i] = true;
            return self.articles[i].clone();
        }
        loop {
            let a = self.compose(rng);
            if fits(&a) {
                return a;
            }
        }
    }

    /// A text of 3–5 paragraphs of 2–3 sentences, each sentence from the
    /// pool (used once): it shares at most a sentence with any real article.
    fn compose(&mut self, rng: &mut Rng) -> Article {
        self.composed += 1;
        let mut paras = Vec::new();
        for _ in 0..rng.range(3, 5) {
            let mut p = String::new();
            for _ in 0..rng.range(2, 3) {
                let s = self.pool.pop().unwrap_or_else(|| synthetic_sentence(rng));
                p.push_str(&s);
            }
            paras.push(p);
        }
        let title = loop {
            let t = format!(
                "{}{}{}{}",
                rng.pick(CITIES),
                rng.pick(ORGS),
                rng.pick(&["推进", "启动", "完成", "部署", "开展"]),
                rng.pick(PROJECTS)
            );
            let t = if self.titles.contains(&t) {
                format!("{t}{}", rng.range(2, 99))
            } else {
                t
            };
            if self.titles.insert(t.clone()) {
                break t;
            }
        };
        Article {
            title,
            paras,
            has_dateline: false,
        }
    }
}

/// Drops articles that repeat an earlier title or share 30% of the smaller
/// one's 5-grams with an earlier article: the corpus holds a few reports of
/// the same event, which a merger would be right to merge.
fn distinct(articles: Vec<Article>) -> Vec<Article> {
    let mut owner: HashMap<u64, usize> = HashMap::new();
    let mut sizes = Vec::new();
    let mut titles = HashSet::new();
    let mut kept = Vec::new();
    for a in articles {
        let g = grams(&fold(&a.paras.concat()));
        if a.len() < 100 || g.len() < 60 || !titles.insert(fold(&a.title)) {
            continue;
        }
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for x in &g {
            if let Some(&o) = owner.get(x) {
                *shared.entry(o).or_default() += 1;
            }
        }
        if shared
            .iter()
            .any(|(&o, &n)| n * 10 >= g.len().min(sizes[o]) * 3)
        {
            continue;
        }
        let id = kept.len();
        sizes.push(g.len());
        for x in g {
            owner.entry(x).or_insert(id);
        }
        kept.push(a);
    }
    kept
}

/// A made-up news sentence, for when there is no corpus.
fn synthetic_sentence(rng: &mut Rng) -> String {
    let (city, org, project) = (rng.pick(CITIES), rng.pick(ORGS), rng.pick(PROJECTS));
    let n = rng.range(100, 999);
    match rng.below(5) {
        0 => format!(
            "{city}{org}近日完成{project}，涉及{}个街道和{n}户居民。",
            n % 40 + 2
        ),
        1 => format!(
            "据{org}介绍，今年以来{city}已累计投入{n}万元用于{project}，同比增长{}.{}%。",
            n % 30,
            n % 10
        ),
        2 => format!(
            "{city}市民{}表示，{project}完成之后，周边的出行条件明显改善。",
            rng.pick(PEOPLE)
        ),
        3 => format!(
            "截至{}月{}日，{org}共受理相关申请{n}件，办结率超过九成。",
            1 + n % 12,
            1 + n % 28
        ),
        _ => format!(
            "{org}负责人{}说，下一步将围绕{project}持续发力，力争在{}年底前全面完成。",
            rng.pick(PEOPLE),
            2025 + n % 3
        ),
    }
}

// ---- outlets and their house styles ---------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
    Json,
}

#[derive(Clone, Debug)]
enum TitleDeco {
    None,
    /// `_某某网`, ` - 某某网`, `|某某网`, `--某某网`.
    Suffix(String),
    /// `【频道】`.
    Channel,
}

#[derive(Clone, Copy, Debug)]
enum Dateline {
    None,
    /// 中新网北京10月9日电（记者 杜燕）
    Chinanews,
    /// 新华社北京10月9日电（记者张三）
    Xinhua,
    /// 新华社北京10月9日电
    XinhuaBare,
    /// 本报讯（记者 张三）
    Benbao,
    /// 本报北京10月9日讯
    BenbaoDated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OriginalTitle {
    None,
    /// `原标题：…` on a line of its own.
    OwnLine,
    /// `原标题：…　　` then the first paragraph, on one line (as some pages have it).
    SameLine,
}

#[derive(Clone, Copy, Debug)]
enum Editor {
    None,
    /// 责任编辑：王五
    Plain,
    /// 【责任编辑：王五】
    Bracketed,
    /// （责编：王五、赵六）
    Pair,
    /// 编辑：王五
    Short,
}

#[derive(Clone, Copy, Debug)]
enum Footer {
    None,
    /// A heading such as 相关推荐, then other stories' titles, one a line.
    Heading(&'static str),
    /// `- title` lines with no heading.
    Bare,
}

#[derive(Clone, Copy, Debug)]
enum Markup {
    /// `<p>` per paragraph.
    Paragraphs,
    /// One `<div>`, paragraphs separated by `<br>`.
    LineBreaks,
    /// No tags, a paragraph a line.
    Plain,
}

/// How one outlet dresses wire copy.
struct Outlet {
    id: String,
    name: &'static str,
    host: String,
    format: Format,
    /// GBK bytes declared as gb2312 (RSS only).
    gbk: bool,
    /// RSS: a teaser in `description`, the full text in `content:encoded`.
    content_encoded: bool,
    title: TitleDeco,
    dateline: Dateline,
    /// The dateline is a paragraph of its own.
    dateline_alone: bool,
    original_title: OriginalTitle,
    end_mark: bool,
    editor: Editor,
    footer: Footer,
    markup: Markup,
    quotes: Quotes,
    fullwidth: bool,
    ascii_punct: bool,
    /// Publishes only a summary of each story, ending with this ("" for nothing).
    summary_only: Option<&'static str>,
    /// The guid is the item's link (else an opaque id).
    permalink_guid: bool,
    /// Where its links point: `https://www.outletNN.example.cn`, or with
    /// `--web` the loopback address that serves it.
    site: String,
    /// `--web`: the house template of its article pages (`pages`).
    template: usize,
    /// `--web`: it prints Traditional characters (cna.com.tw, Hong Kong).
    traditional: bool,
    /// `--web`: the length of its summaries, in characters (lo, hi).
    summary_len: Option<(usize, usize)>,
    /// How often it gives a copy each shape of issue 20.
    mix: shapes::Mix,
}

fn make_outlets(n: usize, rng: &mut Rng) -> Vec<Outlet> {
    let mut names: Vec<&'static str> = OUTLET_NAMES.to_vec();
    rng.shuffle(&mut names);
    (0..n)
        .map(|i| {
            let name = names[i];
            let format = match rng.below(100) {
                0..60 => Format::Rss,
                60..82 => Format::Atom,
                _ => Format::Json,
            };
            let gbk = format == Format::Rss && rng.chance(0.3);
            let title = match rng.below(10) {
                0..3 => TitleDeco::None,
                3..8 => TitleDeco::Suffix(
                    rng.pick(&["_{}", " - {}", "|{}", "--{}"])
                        .replace("{}", name),
                ),
                _ => TitleDeco::Channel,
            };
            let dateline = rng.pick(&[
                Dateline::None,
                Dateline::None,
                Dateline::Chinanews,
                Dateline::Xinhua,
                Dateline::XinhuaBare,
                Dateline::Benbao,
                Dateline::BenbaoDated,
            ]);
            let footer = match rng.below(10) {
                0..4 => Footer::None,
                4..8 => Footer::Heading(rng.pick(&[
                    "相关推荐",
                    "相关新闻",
                    "延伸阅读",
                    "推荐阅读",
                    "热门推荐",
                    "相关阅读：",
                ])),
                _ => Footer::Bare,
            };
            Outlet {
                id: format!("outlet-{:02}", i + 1),
                name,
                host: format!("www.outlet{:02}.example.cn", i + 1),
                format,
                gbk,
                content_encoded: format == Format::Rss && !gbk && rng.chance(0.3),
                title,
                dateline,
                dateline_alone: rng.chance(0.25),
                original_title: rng.pick(&[
                    OriginalTitle::None,
                    OriginalTitle::None,
                    OriginalTitle::None,
                    OriginalTitle::None,
                    OriginalTitle::None,
                    OriginalTitle::None,
                    OriginalTitle::OwnLine,
                    OriginalTitle::OwnLine,
                    OriginalTitle::SameLine,
                ]),
                end_mark: rng.chance(0.35),
                editor: rng.pick(&[
                    Editor::None,
                    Editor::Plain,
                    Editor::Bracketed,
                    Editor::Pair,
                    Editor::Short,
                ]),
                footer,
                markup: rng.pick(&[Markup::Paragraphs, Markup::LineBreaks, Markup::Plain]),
                quotes: rng.pick(&[Quotes::Curly, Quotes::Curly, Quotes::Corner, Quotes::Ascii]),
                fullwidth: rng.chance(0.15),
                ascii_punct: rng.chance(0.15),
                summary_only: rng.chance(0.2).then(|| rng.pick(&["…", "……", "...", ""])),
                permalink_guid: rng.chance(0.4),
                site: format!("https://www.outlet{:02}.example.cn", i + 1),
                template: 0,
                traditional: false,
                summary_len: None,
                mix: shapes::Mix::default(),
            }
        })
        .collect()
}

/// `--web`: each outlet served at `sites[o]`; two in five publish only
/// summaries — in turn 50–99, 100–200 and 280–330 characters (the last run
/// past the first paragraph), every other one without an ellipsis — and
/// about one in ten (at least two, one of them summary-only) prints
/// Traditional characters. Drawn from a generator of their own, so that the
/// rest of the data set is what the same seed gives without `--web`.
fn web_styles(outlets: &mut [Outlet], seed: u64, sites: &[String]) {
    let mut rng = Rng(seed ^ 0x000e_b014);
    let n = outlets.len();
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let summary_only = n * 2 / 5;
    let traditional = (n / 10).max(2);
    for (k, &o) in order.iter().enumerate() {
        let out = &mut outlets[o];
        out.site = sites[o].clone();
        out.host = sites[o].trim_start_matches("http://").to_string();
        out.template = rng.below(pages::TEMPLATES);
        (out.summary_only, out.summary_len) = if k < summary_only {
            let ellipsis = if k % 2 == 0 {
                rng.pick(&["…", "……", "..."])
            } else {
                ""
            };
            let len = [(50, 99), (100, 200), (280, 330)][k % 3];
            (Some(ellipsis), Some(len))
        } else {
            (None, None)
        };
        out.traditional = k + 1 >= summary_only && k + 1 < summary_only + traditional;
    }
}

/// Each outlet's mix of the shapes of issue 20, and (without `--web`,
/// which has its own) about one outlet in ten printing Traditional
/// characters. Drawn from a generator of their own, so that the rest of the
/// data set is what the same seed gives with `--no-shapes`.
fn shape_styles(outlets: &mut [Outlet], seed: u64, web: bool) {
    let mut rng = Rng(seed ^ 0x0005_4a9e_0020);
    for out in outlets.iter_mut() {
        out.mix = shapes::Mix::draw(&mut rng);
        if !web && rng.chance(0.1) {
            out.traditional = true;
        }
    }
}

/// A copy's summary kind by its length (`--web`).
fn summary_label(n: usize, ellipsis: bool) -> &'static str {
    match (n, ellipsis) {
        (0..100, false) => "summary 50-99",
        (0..100, true) => "summary 50-99…",
        (100..=200, false) => "summary 100-200",
        (100..=200, true) => "summary 100-200…",
        (201..250, false) => "summary 201-249",
        (201..250, true) => "summary 201-249…",
        (_, false) => "summary 300",
        (_, true) => "summary 300…",
    }
}

/// Simplified → Traditional script as Taiwan prints it (OpenCC's `s2tw`
/// through ferrous-opencc, Apache-2.0, a dev-dependency: a converter
/// independent of the fast2s table newsriver folds with, so the evaluation
/// does not test fast2s against itself).
fn traditional(s: &str) -> String {
    static S2TW: std::sync::OnceLock<ferrous_opencc::OpenCC> = std::sync::OnceLock::new();
    S2TW.get_or_init(|| {
        ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::S2tw)
            .expect("OpenCC's built-in s2tw dictionaries load")
    })
    .convert(s)
}

/// Reports that differ only in their figures (`{a}`…`{e}` numbers, `{m}`
/// `{d}` the date).
const FIGURES_TEMPLATES: &[(&str, &str)] = &[
    (
        "人民币汇率中间价",
        "{m}月{d}日，中国外汇交易中心受权公布，当日银行间外汇市场人民币汇率中间价为：1美元对人民币7.{a}元，1欧元对人民币7.{b}元，100日元对人民币4.{c}元，1港元对人民币0.9{d2}元。较前一交易日，人民币对美元汇率中间价调{e}个基点。市场人士认为，近期人民币汇率在合理均衡水平上保持基本稳定，外汇市场供求总体平衡，跨境资金流动平稳有序。",
    ),
    (
        "空气质量日报",
        "{m}月{d}日，市生态环境局发布空气质量日报：全市空气质量指数为{a}，首要污染物为细颗粒物，细颗粒物平均浓度为每立方米{b}微克，可吸入颗粒物平均浓度为每立方米{c}微克，臭氧浓度为每立方米{e}微克。预计明天全市空气质量以良为主，易感人群应适当减少户外活动，外出时注意做好防护。",
    ),
    (
        "成品油价格调整",
        "{m}月{d}日，国家发展改革委发布消息，根据近期国际市场油价变化情况，按照现行成品油价格形成机制，自当日24时起，国内汽油和柴油价格每吨分别调整{a}元和{b}元。调整后，92号汽油每升{c}元，95号汽油每升{e}元。相关部门要求各地加强市场监测和价格监督检查，确保价格调整措施落实到位。",
    ),
];

// ---- the data set ---------------------------------------------------------------

/// The kinds of hard negative: different stories that must stay apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    SameTitleNotices,
    SameTitleArticles,
    SameOpening,
    FollowUp,
    SharedList,
    LeadReuse,
    FiguresOnly,
}

impl Category {
    const ALL: [Category; 7] = [
        Category::SameTitleNotices,
        Category::SameTitleArticles,
        Category::SameOpening,
        Category::FollowUp,
        Category::SharedList,
        Category::LeadReuse,
        Category::FiguresOnly,
    ];

    fn label(self) -> &'static str {
        match self {
            Category::SameTitleNotices => "same title: short notices",
            Category::SameTitleArticles => "same title: full articles",
            Category::SameOpening => "same opening sentence",
            Category::FollowUp => "follow-up days later",
            Category::SharedList => "only a shared 相关推荐 list",
            Category::LeadReuse => "follow-up reusing the lead",
            Category::FiguresOnly => "figures-only differ",
        }
    }
}

/// One wire story: what every copy of it is made from.
struct Story {
    id: String,
    title: String,
    paras: Vec<String>,
    has_dateline: bool,
    published: DateTime<FixedOffset>,
    city: &'static str,
    reporter: &'static str,
    /// The hard-negative group it was made for, if any.
    category: Option<Category>,
    /// A list of other titles every copy ends with (shared-list negatives).
    related: Option<Vec<String>>,
    /// Outlets carrying it.
    outlets: Vec<usize>,
}

/// Stories that must not be merged with each other.
struct Group {
    category: Category,
    stories: Vec<usize>,
}

/// One outlet's copy of one story.
struct StoryCopy {
    story: usize,
    outlet: usize,
    guid: String,
    link: String,
    title: String,
    /// The body as the outlet's markup has it.
    html: String,
    /// The body goes where feeds put summaries.
    in_summary_field: bool,
    published: DateTime<FixedOffset>,
    /// full, summary, summary…, sentence added, sentence dropped.
    body: &'static str,
    /// `family=value` for each decoration it has.
    tags: Vec<String>,
    /// `--web`: the article page at `link` (bytes, Content-Type).
    page: Option<(Vec<u8>, &'static str)>,
    /// Issue 20: its shapes, and what was drawn for them.
    shapes: Vec<Shape>,
    shape_details: Vec<String>,
    /// The article text it carries (in its script), one paragraph a line.
    carried: String,
    /// `--web`: the article text its page carries.
    page_carried: Option<String>,
    /// Boilerplate pieces put into its text: (shape or kind, text).
    boiler: Vec<(&'static str, String)>,
    /// Its text as generated, one line a paragraph, before markup.
    raw: String,
}

impl StoryCopy {
    fn key(&self, outlets: &[Outlet]) -> String {
        format!("{}|{}", outlets[self.outlet].id, self.guid)
    }
}

struct Dataset {
    seed: u64,
    /// `--web`: pages served, Traditional outlets, more hard negatives.
    web: bool,
    /// The shapes of issue 20 are generated (not `--no-shapes`).
    shapes: bool,
    outlets: Vec<Outlet>,
    stories: Vec<Story>,
    groups: Vec<Group>,
    copies: Vec<StoryCopy>,
    origin: String,
    composed: usize,
}

/// How many outlets carry a story: 1–8, 3.7 on average.
fn copy_count(rng: &mut Rng) -> usize {
    const WEIGHTS: [usize; 8] = [14, 20, 20, 15, 11, 8, 6, 6];
    let mut r = rng.below(100);
    for (i, w) in WEIGHTS.iter().enumerate() {
        if r < *w {
            return i + 1;
        }
        r -= w;
    }
    8
}

/// Fills `{slot}`s of a notice or stock sentence.
fn fill(template: &str, rng: &mut Rng, when: DateTime<FixedOffset>, city: &str) -> String {
    let d = when.day() as usize;
    let h1 = rng.range(7, 14);
    let mut area2 = rng.pick(AREAS);
    let area = rng.pick(AREAS);
    while area2 == area {
        area2 = rng.pick(AREAS);
    }
    template
        .replace("{org}", rng.pick(ORGS))
        .replace("{area2}", area2)
        .replace("{area}", area)
        .replace("{addr}", rng.pick(ADDRESSES))
        .replace("{project}", rng.pick(PROJECTS))
        .replace("{m}", &when.month().to_string())
        .replace("{d2}", &(d % 28 + rng.range(1, 3)).to_string())
        .replace("{d}", &d.to_string())
        .replace("{h1}", &h1.to_string())
        .replace("{h2}", &(h1 + rng.range(2, 8)).to_string())
        .replace(
            "{phone}",
            &format!(
                "0{}-{}",
                rng.range(10, 99),
                rng.range(10_000_000, 99_999_999)
            ),
        )
        .replace("{n}", &rng.range(3, 20).to_string())
        .replace("{city}", city)
}

impl Dataset {
    fn generate(args: &Args, mut corpus: Corpus, sites: Option<&[String]>) -> Dataset {
        let mut rng = Rng(args.seed);
        let mut outlets = make_outlets(args.outlets as usize, &mut rng);
        if let Some(sites) = sites {
            web_styles(&mut outlets, args.seed, sites);
        }
        if !args.no_shapes {
            shape_styles(&mut outlets, args.seed, sites.is_some());
        }
        let scale = args.copies as f64 / 2000.0;
        let groups_of = |n: f64| ((n * scale).round() as usize).max(1);
        let span_minutes = 20 * 24 * 60;
        let mut ds = Dataset {
            seed: args.seed,
            web: sites.is_some(),
            shapes: !args.no_shapes,
            outlets,
            stories: Vec::new(),
            groups: Vec::new(),
            copies: Vec::new(),
            origin: String::new(),
            composed: 0,
        };
        let long_enough = |a: &Article| a.len() >= 200 && a.sentence_count() >= 3;

        // Same title, short templated notices (some from the same template).
        // Members are about different days (and mostly places or
        // organisations), so they are plainly different notices; they may
        // still share much of their wording.
        for _ in 0..groups_of(5.0) {
            let (title, templates) = rng.pick(NOTICES);
            let t0 = base_time() + TimeDelta::minutes(rng.below(span_minutes) as i64);
            let k = rng.range(2, 3);
            let mut bodies: Vec<String> = Vec::new();
            let mut days = HashSet::new();
            let mut members = Vec::new();
            for _ in 0..200 {
                if members.len() == k {
                    break;
                }
                let when = t0 + TimeDelta::minutes(rng.below(12 * 60) as i64);
                let event = when + TimeDelta::days(rng.range(1, 10) as i64);
                let body = fill(rng.pick(templates), &mut rng, event, "");
                let distinct = bodies.iter().all(|b| similarity(b, &body).0 < 0.75);
                if !distinct || !days.insert(event.day()) {
                    continue;
                }
                bodies.push(body.clone());
                let n = copy_count(&mut rng).min(3);
                let a = Article {
                    title: title.to_string(),
                    paras: vec![body],
                    has_dateline: true,
                };
                members.push(ds.add(a, when, n, Some(Category::SameTitleNotices), &mut rng));
            }
            ds.groups.push(Group {
                category: Category::SameTitleNotices,
                stories: members,
            });
        }
        // Same title, unrelated full articles.
        for _ in 0..groups_of(4.0) {
            let title = rng.pick(SHARED_ARTICLE_TITLES);
            let t0 = base_time() + TimeDelta::minutes(rng.below(span_minutes) as i64);
            let members = (0..rng.range(2, 3))
                .map(|_| {
                    let mut a = corpus.take(&mut rng, long_enough);
                    a.title = title.to_string();
                    let when = t0 + TimeDelta::minutes(rng.below(12 * 60) as i64);
                    let n = copy_count(&mut rng);
                    ds.add(a, when, n, Some(Category::SameTitleArticles), &mut rng)
                })
                .collect();
            ds.groups.push(Group {
                category: Category::SameTitleArticles,
                stories: members,
            });
        }
        // The same stock opening, then different reports.
        for _ in 0..groups_of(6.0) {
            let t0 = base_time() + TimeDelta::minutes(rng.below(span_minutes) as i64);
            let city = rng.pick(CITIES);
            let stock = fill(rng.pick(STOCK_OPENINGS), &mut rng, t0, city);
            let members = (0..rng.range(2, 3))
                .map(|_| {
                    let mut a = corpus.take(&mut rng, |a| long_enough(a) && !a.has_dateline);
                    a.paras[0] = format!("{stock}{}", a.paras[0]);
                    let when = t0 + TimeDelta::minutes(rng.below(12 * 60) as i64);
                    let n = copy_count(&mut rng);
                    ds.add(a, when, n, Some(Category::SameOpening), &mut rng)
                })
                .collect();
            ds.groups.push(Group {
                category: Category::SameOpening,
                stories: members,
            });
        }
        // Short items that will end with the same list of other titles.
        for _ in 0..groups_of(5.0) {
            let t0 = base_time() + TimeDelta::minutes(rng.below(span_minutes) as i64);
            let members = (0..rng.range(2, 3))
                .map(|_| {
                    let mut a = corpus.take(&mut rng, |a| !a.has_dateline);
                    // A brief: its first sentences, 40–150 characters.
                    let mut brief = String::new();
                    for s in sentences(&a.paras.concat()) {
                        if chars(&brief) >= 40 || chars(&brief) + chars(&s) > 150 {
                            break;
                        }
                        brief.push_str(&s);
                    }
                    if chars(&brief) < 40 {
                        brief = prefix(&a.paras.concat(), 100) + "。";
                    }
                    a.paras = vec![brief];
                    let when = t0 + TimeDelta::minutes(rng.below(6 * 60) as i64);
                    let n = copy_count(&mut rng);
                    ds.add(a, when, n, Some(Category::SharedList), &mut rng)
                })
                .collect();
            ds.groups.push(Group {
                category: Category::SharedList,
                stories: members,
            });
        }
        // A report, and a follow-up 1–8 days later: same title or entities,
        // a recap of the first report's opening, otherwise new text.
        for _ in 0..groups_of(12.0) {
            let first = corpus.take(&mut rng, long_enough);
            let t0 = base_time() + TimeDelta::minutes(rng.below(span_minutes - 9 * 24 * 60) as i64);
            let later = t0
                + TimeDelta::days(rng.range(1, 8) as i64)
                + TimeDelta::minutes(rng.below(10 * 60) as i64);
            let mut recap = String::new();
            for s in sentences(&first.paras.concat()) {
                if !recap.is_empty() && chars(&recap) + chars(&s) > 150 {
                    break;
                }
                recap.push_str(&s);
            }
            if chars(&recap) > 150 {
                recap = prefix(&recap, 140) + "……";
            }
            let fresh = corpus.take(&mut rng, |a| long_enough(a) && !a.has_dateline);
            let mut paras = vec![format!(
                "{}月{}日，记者从有关方面获悉，此前引发关注的“{}”一事有了新进展。",
                later.month(),
                later.day(),
                first.title
            )];
            paras.extend(fresh.paras);
            paras.push(format!("此前报道：{recap}"));
            let follow = Article {
                title: rng.pick(FOLLOW_UP_TITLES).replace("{t}", &first.title),
                paras,
                has_dateline: false,
            };
            let n = copy_count(&mut rng);
            let a = ds.add(first, t0, n, Some(Category::FollowUp), &mut rng);
            let n = copy_count(&mut rng);
            let f = ds.add(follow, later, n, Some(Category::FollowUp), &mut rng);
            ds.groups.push(Group {
                category: Category::FollowUp,
                stories: vec![a, f],
            });
        }
        // `--web`: a report, and another story the next day that opens with
        // the report's first sentence (the follow-up that repeats
        // yesterday's lead), then text of its own.
        for _ in 0..if ds.web { groups_of(12.0) } else { 0 } {
            let first = corpus.take(&mut rng, |a| {
                long_enough(a) && sentences(&a.paras[0]).len() >= 2
            });
            let lead = sentences(&first.paras[0])
                .into_iter()
                .next()
                .unwrap_or_default();
            let t0 = base_time() + TimeDelta::minutes(rng.below(span_minutes - 2 * 24 * 60) as i64);
            let later = t0 + TimeDelta::minutes(rng.range(18 * 60, 30 * 60) as i64);
            let mut fresh = corpus.take(&mut rng, |a| long_enough(a) && !a.has_dateline);
            fresh.paras[0] = format!("{lead}{}", fresh.paras[0]);
            fresh.has_dateline = first.has_dateline;
            let n = copy_count(&mut rng);
            let a = ds.add(first, t0, n, Some(Category::LeadReuse), &mut rng);
            let n = copy_count(&mut rng);
            let f = ds.add(fresh, later, n, Some(Category::LeadReuse), &mut rng);
            ds.groups.push(Group {
                category: Category::LeadReuse,
                stories: vec![a, f],
            });
        }
        // `--web`: reports from one template on other days, other figures.
        for _ in 0..if ds.web { groups_of(5.0) } else { 0 } {
            let (title, template) = rng.pick(FIGURES_TEMPLATES);
            let t0 = base_time() + TimeDelta::minutes(rng.below(span_minutes - 4 * 24 * 60) as i64);
            let members = (0..rng.range(2, 3))
                .map(|k| {
                    let when =
                        t0 + TimeDelta::days(k as i64) + TimeDelta::minutes(rng.below(60) as i64);
                    let body = template
                        .replace("{m}", &when.month().to_string())
                        .replace("{d}", &when.day().to_string())
                        .replace("{a}", &rng.range(100, 9999).to_string())
                        .replace("{b}", &rng.range(100, 9999).to_string())
                        .replace("{c}", &rng.range(10, 99).to_string())
                        .replace("{d2}", &rng.range(10, 99).to_string())
                        .replace("{e}", &rng.range(10, 199).to_string());
                    let a = Article {
                        title: title.to_string(),
                        paras: vec![body],
                        has_dateline: true,
                    };
                    let n = copy_count(&mut rng);
                    ds.add(a, when, n, Some(Category::FiguresOnly), &mut rng)
                })
                .collect();
            ds.groups.push(Group {
                category: Category::FiguresOnly,
                stories: members,
            });
        }
        // Ordinary wire stories until there are enough copies.
        while ds.stories.iter().map(|s| s.outlets.len()).sum::<usize>() < args.copies {
            let a = corpus.take(&mut rng, |a| a.len() >= 150);
            let when = base_time() + TimeDelta::minutes(rng.below(span_minutes) as i64);
            let n = copy_count(&mut rng);
            ds.add(a, when, n, None, &mut rng);
        }
        // The shared lists: titles of ordinary stories.
        let ordinary: Vec<String> = ds
            .stories
            .iter()
            .filter(|s| s.category.is_none())
            .map(|s| s.title.clone())
            .collect();
        for g in ds
            .groups
            .iter()
            .filter(|g| g.category == Category::SharedList)
        {
            let list: Vec<String> = (0..rng.range(5, 8))
                .map(|_| ordinary[rng.below(ordinary.len())].clone())
                .collect();
            for &s in &g.stories {
                ds.stories[s].related = Some(list.clone());
            }
        }
        // Every copy.
        let mut copies = Vec::new();
        for (s, story) in ds.stories.iter().enumerate() {
            for &o in &story.outlets {
                copies.push(ds.dress(s, o));
            }
        }
        ds.copies = copies;
        ds.origin = corpus.origin;
        ds.composed = corpus.composed;
        ds
    }

    /// Adds a story carried by `n` random outlets; returns its index.
    fn add(
        &mut self,
        a: Article,
        published: DateTime<FixedOffset>,
        n: usize,
        category: Option<Category>,
        rng: &mut Rng,
    ) -> usize {
        let mut outlets: Vec<usize> = (0..self.outlets.len()).collect();
        rng.shuffle(&mut outlets);
        outlets.truncate(n.clamp(1, self.outlets.len()));
        outlets.sort_unstable();
        let i = self.stories.len();
        self.stories.push(Story {
            id: format!("w{:04}", i + 1),
            title: a.title,
            paras: a.paras,
            has_dateline: a.has_dateline,
            published,
            city: rng.pick(CITIES),
            reporter: rng.pick(PEOPLE),
            category,
            related: None,
            outlets,
        });
        i
    }

    /// Outlet `o`'s copy of story `s`, in its house style, with this copy's
    /// own changes.
    fn dress(&self, s: usize, o: usize) -> StoryCopy {
        let story = &self.stories[s];
        let outlet = &self.outlets[o];
        let mut rng = Rng::for_pair(self.seed, s, o);
        let mut tags: Vec<String> = Vec::new();
        let published = story.published + TimeDelta::minutes(rng.below(6 * 60) as i64);

        // Which text: full, a summary, or a sentence more or less.
        let mut paras = story.paras.clone();
        // Issue 20: this copy's shapes, from a generator of their own (the
        // rest of the copy is what `--no-shapes` gives).
        let mut srng = Rng::for_pair(self.seed ^ 0x05_4a9e, s, o);
        let mut picked: Vec<Shape> = outlet.mix.pick(&mut srng);
        let mut details: Vec<String> = Vec::new();
        let total = chars(&paras.concat());
        let summary_room = total * 7 / 10;
        let wants_summary = outlet.summary_only.is_some() || rng.chance(0.05);
        let mut body = "full";
        let mut summary: Option<String> = None;
        let (lo, hi) =
            outlet
                .summary_len
                .unwrap_or(if self.shapes { (50, 300) } else { (80, 300) });
        if wants_summary && summary_room >= lo && story.related.is_none() {
            let n = rng.range(lo, hi.min(summary_room).max(lo));
            let ellipsis = outlet
                .summary_only
                .unwrap_or_else(|| rng.pick(&["…", "...", ""]));
            body = if self.web {
                summary_label(n, !ellipsis.is_empty())
            } else if ellipsis.is_empty() {
                "summary"
            } else {
                "summary…"
            };
            summary = Some(format!(
                "{}{ellipsis}",
                prefix(&paras.concat(), n).trim_end()
            ));
        } else if story.related.is_none() && rng.chance(0.09) && drop_sentence(&mut paras, &mut rng)
        {
            body = "sentence dropped";
        } else if story.related.is_none() && rng.chance(0.10) && add_sentence(&mut paras, &mut rng)
        {
            body = "sentence added";
        }

        // Issue 20: a full copy without the first paragraph (a summary's
        // would share nothing with the others').
        if picked.contains(&Shape::FirstParaRemoved) {
            if summary.is_none()
                && paras.len() >= 2
                && chars(&paras[1..].concat()) >= 120
                && story.related.is_none()
            {
                paras.remove(0);
            } else {
                picked.retain(|&x| x != Shape::FirstParaRemoved);
            }
        }

        // Typography of the story text.
        let restyle = |t: &str| -> String {
            let mut t = restyle_quotes(t, outlet.quotes);
            if outlet.fullwidth {
                t = fullwidth(&t);
            }
            if outlet.ascii_punct {
                t = ascii_punct(&t);
            }
            t
        };
        let text = summary.clone().unwrap_or_else(|| paras.concat());
        if outlet.quotes != Quotes::Curly && text.contains(['“', '”', '‘', '’']) {
            tags.push(format!("quotes={:?}", outlet.quotes));
        }
        if outlet.fullwidth && text.chars().any(|c| c.is_ascii_alphanumeric()) {
            tags.push("full-width=yes".into());
        }
        if outlet.ascii_punct && text.contains(['，', '：', '；', '（', '）', '！', '？']) {
            tags.push("half-width punct=yes".into());
        }
        let mut summary = summary.map(|t| restyle(&t));
        let mut lines: Vec<String> = paras.iter().map(|p| restyle(p)).collect();
        // Issue 20: punctuation mixed within the copy.
        if picked.contains(&Shape::Punctuation) {
            let p = Punct::draw(&mut srng);
            details.push(format!("punctuation={}", p.describe()));
            summary = summary.map(|t| p.apply(&mut srng, &t));
            lines = lines.iter().map(|l| p.apply(&mut srng, l)).collect();
        }
        // The article text this copy carries (what over-stripping is
        // measured against), and the page's (`--web`).
        let carried = summary.clone().unwrap_or_else(|| lines.join("\n"));
        let page_carried = self.web.then(|| lines.join("\n"));

        // Boilerplate around it.
        let (m, d, city) = (story.published.month(), story.published.day(), story.city);
        let who = if matches!(outlet.dateline, Dateline::Benbao) {
            rng.pick(PEOPLE)
        } else {
            story.reporter
        };
        let dateline = match outlet.dateline {
            _ if story.has_dateline => String::new(),
            Dateline::None => String::new(),
            Dateline::Chinanews => format!("中新网{city}{m}月{d}日电（记者 {who}）"),
            Dateline::Xinhua => format!("新华社{city}{m}月{d}日电（记者{who}）"),
            Dateline::XinhuaBare => format!("新华社{city}{m}月{d}日电 "),
            Dateline::Benbao => format!("本报讯（记者 {who}）"),
            Dateline::BenbaoDated => format!("本报{city}{m}月{d}日讯 "),
        };
        // Issue 20: the pieces run into the start of the text — `pre`
        // before the outlet's dateline, `post` between it and the text —
        // and promo lines. `boiler` keeps each piece (by shape) to measure
        // what of it survives normalizing.
        let mut boiler: Vec<(&'static str, String)> = Vec::new();
        let mut pre = String::new();
        let mut pre_page = String::new();
        let mut post = String::new();
        let (mut tw, mut by) = (None, None);
        if picked.contains(&Shape::TwHkDateline) {
            let t = traditional(&shapes::tw_hk_dateline(&mut srng, d));
            let gap = srng.pick(&["", "", " "]);
            tw = Some(format!("{t}{gap}"));
        }
        if picked.contains(&Shape::Byline) {
            let cut = srng.chance(if summary.is_some() { 0.4 } else { 0.15 });
            match shapes::byline(&mut srng, city, m, d, cut) {
                Some(b) => {
                    if cut {
                        picked.push(Shape::BylineCut);
                    }
                    by = Some(b);
                }
                None => picked.retain(|&x| x != Shape::Byline),
            }
        }
        // A TW/HK dateline or a byline stands in for the outlet's own.
        let dateline = if tw.is_some() || by.is_some() {
            String::new()
        } else {
            dateline
        };
        if let Some(b) = by.as_ref().filter(|_| picked.contains(&Shape::BylineCut)) {
            // The text begins inside the byline: nothing before it.
            boiler.push((Shape::BylineCut.label(), b.clone()));
            pre.push_str(b);
            pre_page.push_str(b);
        }
        if picked.contains(&Shape::HeadlineRunIn) {
            let h = shapes::headline(&mut srng, &story.title, city);
            boiler.push((Shape::HeadlineRunIn.label(), h.clone()));
            pre.push_str(&h);
        }
        if picked.contains(&Shape::OrigTitleInline) {
            let (t, gap) = shapes::original_title(
                &mut srng,
                &story.title,
                story.paras.first().map_or("", String::as_str),
                outlet.name,
            );
            boiler.push((Shape::OrigTitleInline.label(), t.clone()));
            let piece = format!("{t}{gap}");
            if !dateline.is_empty() && srng.chance(0.5) {
                post.push_str(&piece);
            } else {
                pre.push_str(&piece);
                pre_page.push_str(&piece);
            }
        }
        if let Some(t) = &tw {
            boiler.push((Shape::TwHkDateline.label(), t.clone()));
            pre.push_str(t);
            pre_page.push_str(t);
        }
        if let Some(b) = by.as_ref().filter(|_| !picked.contains(&Shape::BylineCut)) {
            boiler.push((Shape::Byline.label(), b.clone()));
            pre.push_str(b);
            pre_page.push_str(b);
        }
        let lead_alone = picked.contains(&Shape::LeadAdded) && srng.chance(0.4);
        if picked.contains(&Shape::LeadAdded) {
            let l = shapes::lead_sentence(&mut srng, m, d, city);
            details.push(format!("lead added={l}"));
            if lead_alone && summary.is_none() {
                lines.insert(0, l);
            } else {
                post.push_str(&l);
            }
        }
        // Promo lines: (where, line); where 0 = top, 1 = inside, 2 = end.
        let promos: Vec<(usize, String)> = if picked.contains(&Shape::Promo) {
            let others: Vec<String> = (0..3)
                .map(|_| self.stories[srng.below(self.stories.len())].title.clone())
                .collect();
            (0..srng.range(1, 3))
                .map(|_| {
                    let at = srng.pick(&[0, 1, 1, 2, 2, 2, 2]);
                    (at, shapes::promo(&mut srng, outlet.name, &others))
                })
                .collect()
        } else {
            Vec::new()
        };
        for (_, p) in &promos {
            boiler.push((Shape::Promo.label(), p.clone()));
        }
        let place_promos = |lines: &mut Vec<String>, rng: &mut Rng| {
            for (at, p) in &promos {
                match at {
                    0 => lines.insert(0, p.clone()),
                    1 if lines.len() >= 2 => {
                        let i = rng.range(1, lines.len() - 1);
                        lines.insert(i, p.clone());
                    }
                    _ => lines.push(p.clone()),
                }
            }
        };
        if !dateline.is_empty() {
            tags.push(format!("dateline={:?}", outlet.dateline));
            boiler.push(("dateline", dateline.clone()));
        }
        // `--web`: the article as the outlet's page shows it (the title is
        // the page's heading: no headline run into the text).
        let page_lines = self.web.then(|| {
            let mut p = lines.clone();
            p[0] = format!("{pre_page}{dateline}{post}{}", p[0]);
            place_promos(&mut p, &mut Rng::for_pair(self.seed ^ 0x9a9f, s, o));
            p
        });
        if let Some(sum) = summary {
            // A summary is the opening of the report, flattened (promo
            // lines run into it at its start or end).
            let mut line = format!("{pre}{dateline}{post}{sum}");
            for (at, p) in &promos {
                let gap = srng.pick(&["", " ", "\u{3000}"]);
                if *at == 0 {
                    line = format!("{p}{gap}{line}");
                } else {
                    line = format!("{line}{gap}{p}");
                }
            }
            lines = vec![line];
        } else {
            if !dateline.is_empty() {
                if outlet.dateline_alone {
                    tags.push("dateline line=alone".into());
                    lines.insert(0, dateline.trim().to_string());
                    lines[1] = format!("{pre}{post}{}", lines[1]);
                } else {
                    lines[0] = format!("{pre}{dateline}{post}{}", lines[0]);
                }
            } else {
                lines[0] = format!("{pre}{post}{}", lines[0]);
            }
            let original_title = if picked.contains(&Shape::OrigTitleInline) {
                OriginalTitle::None
            } else {
                outlet.original_title
            };
            match original_title {
                OriginalTitle::None => {}
                OriginalTitle::OwnLine => {
                    tags.push("原标题=own line".into());
                    lines.insert(0, format!("原标题：{}", story.title));
                    boiler.push(("原标题", lines[0].clone()));
                }
                OriginalTitle::SameLine => {
                    tags.push("原标题=same line".into());
                    boiler.push(("原标题", format!("原标题：{}", story.title)));
                    lines[0] = format!("原标题：{}\u{3000}\u{3000}{}", story.title, lines[0]);
                }
            }
            if outlet.end_mark
                && let Some(last) = lines.last_mut()
            {
                tags.push("(完)=yes".into());
                last.push_str("(完)");
            }
            place_promos(&mut lines, &mut srng);
            let (e1, e2) = (rng.pick(PEOPLE), rng.pick(PEOPLE));
            let editor = match outlet.editor {
                Editor::None => None,
                Editor::Plain => Some(format!("责任编辑：{e1}")),
                Editor::Bracketed => Some(format!("【责任编辑：{e1}】")),
                Editor::Pair => Some(format!("（责编：{e1}、{e2}）")),
                Editor::Short => Some(format!("编辑：{e1}")),
            };
            if let Some(e) = editor {
                tags.push(format!("责任编辑={:?}", outlet.editor));
                lines.push(e);
            }
            // Other stories' titles: the story's own shared list, or a few
            // random ones in the outlet's footer style.
            let list: Option<Vec<String>> = story.related.clone().or_else(|| {
                (!matches!(outlet.footer, Footer::None)).then(|| {
                    let k = rng.range(3, 6);
                    let mut l = Vec::new();
                    while l.len() < k {
                        let other = &self.stories[rng.below(self.stories.len())];
                        if other.title != story.title {
                            l.push(other.title.clone());
                        }
                    }
                    l
                })
            });
            if let Some(list) = list {
                match outlet.footer {
                    // Bare titles only after a paragraph that ends like a
                    // sentence (else, as for outlets without a footer of
                    // their own, under a 相关推荐 heading).
                    Footer::Bare
                        if lines
                            .last()
                            .is_some_and(|l| l.ends_with(['。', '！', '？', ')', '」', '”'])) =>
                    {
                        tags.push("相关推荐 list=bare".into());
                        lines.extend(list.iter().map(|t| format!("- {t}")));
                    }
                    Footer::Heading(h) => {
                        tags.push("相关推荐 list=heading".into());
                        lines.push(h.to_string());
                        lines.extend(list);
                    }
                    _ => {
                        tags.push("相关推荐 list=heading".into());
                        lines.push("相关推荐".to_string());
                        lines.extend(list);
                    }
                }
            }
        }
        let (mut carried, mut page_carried) = (carried, page_carried);
        if outlet.traditional {
            tags.push("script=traditional".into());
            lines = lines.iter().map(|l| traditional(l)).collect();
            carried = traditional(&carried);
            page_carried = page_carried.map(|p| traditional(&p));
            for b in &mut boiler {
                b.1 = traditional(&b.1);
            }
        }
        let raw = lines.join("\n");
        let html = match outlet.markup {
            Markup::Paragraphs => lines
                .iter()
                .map(|l| format!("<p>{}</p>", html_escape(l)))
                .collect(),
            Markup::LineBreaks => format!(
                "<div>{}</div>",
                lines
                    .iter()
                    .map(|l| html_escape(l))
                    .collect::<Vec<_>>()
                    .join("<br>")
            ),
            Markup::Plain => lines
                .iter()
                .map(|l| html_escape(l))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        tags.push(format!("markup={:?}", outlet.markup));
        tags.push(format!("feed={:?}", outlet.format));
        if outlet.gbk {
            tags.push("GBK=yes".into());
        }

        // The title.
        let mut title = story.title.clone();
        if rng.chance(0.04) {
            let extra = rng.pick(&["（组图）", "（图）", "（视频）"]);
            tags.push(format!("retitled={extra}"));
            title.push_str(extra);
        }
        match &outlet.title {
            TitleDeco::None => {}
            TitleDeco::Suffix(sfx) => {
                tags.push("title decoration=suffix".into());
                title.push_str(sfx);
            }
            TitleDeco::Channel => {
                tags.push("title decoration=【频道】".into());
                title = format!("【{}】{title}", rng.pick(CHANNELS));
            }
        }

        if outlet.traditional {
            title = traditional(&title);
        }

        // Where it lives: links and guids that say nothing about the story.
        let token = Rng::for_pair(self.seed ^ 0x11_4c, s, o).next_u64();
        let link = format!(
            "{}/{}/{:02}{:02}/c{:012x}.shtml",
            outlet.site,
            published.year(),
            published.month(),
            published.day(),
            token >> 16
        );
        let guid = if outlet.permalink_guid {
            link.clone()
        } else {
            format!("{}-{:016x}", outlet.id, token)
        };
        StoryCopy {
            story: s,
            outlet: o,
            guid,
            link,
            title,
            html,
            in_summary_field: body.starts_with("summary") && outlet.summary_only.is_some(),
            published,
            body,
            tags,
            page: page_lines.map(|p| self.page(s, o, published, p)),
            shapes: picked,
            shape_details: details,
            carried,
            page_carried,
            boiler,
            raw,
        }
    }

    /// `--web`: outlet `o`'s article page for story `s`, in its template,
    /// with other stories' titles in its lists (drawn from a generator of
    /// their own: the copy is the same with or without its page).
    fn page(
        &self,
        s: usize,
        o: usize,
        published: DateTime<FixedOffset>,
        lines: Vec<String>,
    ) -> (Vec<u8>, &'static str) {
        let outlet = &self.outlets[o];
        let mut rng = Rng::for_pair(self.seed ^ 0x9a9e, s, o);
        let others: Vec<&str> = (0..6)
            .map(|_| self.stories[rng.below(self.stories.len())].title.as_str())
            .collect();
        let date = format!(
            "{}年{:02}月{:02}日 {:02}:{:02}",
            published.year(),
            published.month(),
            published.day(),
            rng.below(24),
            rng.below(60)
        );
        let editor = format!("责任编辑：{}", rng.pick(PEOPLE));
        let dressing = pages::Dressing {
            others: &others,
            story: rng.below(100_000),
            date: &date,
            editor: &editor,
        };
        let mut html = pages::html(outlet.template, &self.stories[s].title, &lines, &dressing);
        if outlet.traditional {
            html = traditional(&html);
        }
        pages::encode(outlet.template, html)
    }

    /// The copies of outlet `o`, newest first.
    fn copies_of(&self, o: usize) -> Vec<&StoryCopy> {
        let mut v: Vec<&StoryCopy> = self.copies.iter().filter(|c| c.outlet == o).collect();
        v.sort_by(|a, b| b.published.cmp(&a.published).then(a.guid.cmp(&b.guid)));
        v
    }

    /// `--web`: where outlet `o`'s feed is served.
    fn feed_url(&self, o: usize) -> String {
        format!("{}{}", self.outlets[o].site, self.feed_route(o))
    }

    fn feed_route(&self, o: usize) -> String {
        let ext = if self.outlets[o].format == Format::Json {
            "json"
        } else {
            "xml"
        };
        format!("/feeds/{}.{ext}", self.outlets[o].id)
    }

    /// `--web`: what the server answers, by outlet (its address) and path:
    /// the feed files as written, and each copy's article page.
    fn served(&self, dir: &Path) -> Result<web::Files, String> {
        let mut files = web::Files::new();
        for o in 0..self.outlets.len() {
            let path = self.feed_path(dir, o);
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let content_type = match self.outlets[o].format {
                Format::Rss if self.outlets[o].gbk => "application/rss+xml",
                Format::Rss => "application/rss+xml; charset=utf-8",
                Format::Atom => "application/atom+xml; charset=utf-8",
                Format::Json => "application/feed+json; charset=utf-8",
            };
            files.insert((o, self.feed_route(o)), (bytes.into(), content_type));
        }
        for c in &self.copies {
            if let Some((bytes, content_type)) = &c.page {
                let route = c.link[self.outlets[c.outlet].site.len()..].to_string();
                files.insert((c.outlet, route), (bytes.clone().into(), *content_type));
            }
        }
        Ok(files)
    }

    fn feed_path(&self, dir: &Path, o: usize) -> PathBuf {
        let ext = if self.outlets[o].format == Format::Json {
            "json"
        } else {
            "xml"
        };
        dir.join("feeds")
            .join(format!("{}.{ext}", self.outlets[o].id))
    }

    /// Feeds, truth.json, and the two configs.
    fn write(
        &self,
        dir: &Path,
        concurrency: usize,
        min_chars: Option<usize>,
    ) -> Result<(), String> {
        let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        let mut sources = String::new();
        for (o, outlet) in self.outlets.iter().enumerate() {
            let copies = self.copies_of(o);
            let bytes = match outlet.format {
                Format::Rss => rss(outlet, &copies),
                Format::Atom => atom(outlet, &copies).into_bytes(),
                Format::Json => json_feed(outlet, &copies),
            };
            let path = self.feed_path(dir, o);
            std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
            let url = if self.web {
                self.feed_url(o)
            } else {
                url::Url::from_file_path(&path)
                    .map_err(|_| format!("{}: not an absolute path", path.display()))?
                    .to_string()
            };
            let _ = write!(
                sources,
                "\n[[source]]\nid = {}\nname = {}\nurl = {}\n",
                toml_str(&outlet.id),
                toml_str(outlet.name),
                toml_str(&url)
            );
            if self.web {
                // Its own (loopback) host only; `FULL_TEXT` is replaced by
                // `true` for summary-only outlets in the full-text-on config.
                let full = if outlet.summary_only.is_some() {
                    "FULL_TEXT"
                } else {
                    "false"
                };
                let _ = write!(
                    sources,
                    "allow_private_addresses = true\nfull_text = {full}\n"
                );
            }
        }
        let config = |db: &str, extra: &str| {
            format!(
                "# Written by `cargo run --example dedupe_eval` (seed {}): {} outlet feeds.\n\
                 [storage]\npath = \"{db}\"\n\n[fetch]\nconcurrency = {concurrency}\nallow_file_urls = true\n{extra}{sources}",
                self.seed,
                self.outlets.len()
            )
        };
        let configs = if self.web {
            let topics: String = WEB_TOPICS
                .iter()
                .map(|(slug, query)| {
                    format!(
                        "\n[[topic]]\nslug = {}\ntitle = {}\nquery = {}\n",
                        toml_str(slug),
                        toml_str(slug),
                        toml_str(query)
                    )
                })
                .collect();
            // Every page in the one cold poll (the default cap, 50 a source
            // and poll, would leave the rest to later polls).
            let dedupe = min_chars
                .map(|n| format!("\n[dedupe]\nmin_chars = {n}\n"))
                .unwrap_or_default();
            let web = |db: &str, full: &str| {
                format!(
                    "{}{topics}",
                    config(db, &format!("max_pages_per_poll = 10000\n{dedupe}"))
                        .replace("FULL_TEXT", full)
                )
                .replace("allow_file_urls = true\n", "")
            };
            vec![
                (WEB_RUNS[0].2, web("eval-web-off.db", "false")),
                (WEB_RUNS[1].2, web("eval-web-on.db", "true")),
            ]
        } else {
            vec![
                ("config.toml", config("eval.db", "")),
                (
                    "config-dedupe-off.toml",
                    config("eval-dedupe-off.db", "\n[dedupe]\nenabled = false\n"),
                ),
            ]
        };
        for (name, text) in configs {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        }

        let truth = serde_json::json!({
            "seed": self.seed,
            "copies": self.copies.iter()
                .map(|c| (c.key(&self.outlets), serde_json::Value::from(self.stories[c.story].id.clone())))
                .collect::<serde_json::Map<_, _>>(),
            "copy_details": self.copies.iter().map(|c| serde_json::json!({
                "key": c.key(&self.outlets),
                "source": self.outlets[c.outlet].id,
                "guid": c.guid,
                "story": self.stories[c.story].id,
                "title": c.title,
                "published": c.published.to_rfc3339(),
                "body": c.body,
                "tags": c.tags,
                "shapes": c.shapes.iter().map(|x| x.label()).collect::<Vec<_>>(),
                "shape_details": c.shape_details,
            })).collect::<Vec<_>>(),
            "stories": self.stories.iter().map(|s| serde_json::json!({
                "id": s.id,
                "title": s.title,
                "published": s.published.to_rfc3339(),
                "hard_negative": s.category.map(Category::label),
                "copies": s.outlets.len(),
            })).collect::<Vec<_>>(),
            "hard_negatives": self.groups.iter().map(|g| serde_json::json!({
                "category": g.category.label(),
                "stories": g.stories.iter().map(|&s| self.stories[s].id.clone()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        let path = dir.join("truth.json");
        let text = serde_json::to_string_pretty(&truth).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| io(&path, e))
    }

    fn describe(&self, dir: &Path) -> String {
        let count = |f: Format| self.outlets.iter().filter(|o| o.format == f).count();
        let mut s = format!(
            "newsriver merge evaluation, seed {}\n\
             data: {} copies of {} wire stories in {} outlet feeds (RSS {}, of them GBK {}; Atom {}; JSON Feed {})\n\
             text: {}{}\n\
             files: {}\n",
            self.seed,
            self.copies.len(),
            self.stories.len(),
            self.outlets.len(),
            count(Format::Rss),
            self.outlets.iter().filter(|o| o.gbk).count(),
            count(Format::Atom),
            count(Format::Json),
            self.origin,
            if self.composed > 0 {
                format!(
                    "; {} texts put together from their sentences",
                    self.composed
                )
            } else {
                String::new()
            },
            dir.display()
        );
        let mut bodies: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &self.copies {
            *bodies.entry(c.body).or_default() += 1;
        }
        let _ = writeln!(
            s,
            "copies by body: {}",
            bodies
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let groups: Vec<String> = Category::ALL
            .iter()
            .map(|&c| {
                let gs: Vec<&Group> = self.groups.iter().filter(|g| g.category == c).collect();
                format!(
                    "{} {} groups/{} stories",
                    c.label(),
                    gs.len(),
                    gs.iter().map(|g| g.stories.len()).sum::<usize>()
                )
            })
            .collect();
        let _ = writeln!(s, "hard negatives: {}", groups.join("; "));
        let shape_counts: Vec<String> = Shape::ALL
            .iter()
            .map(|x| {
                let n = self.copies.iter().filter(|c| c.shapes.contains(x)).count();
                format!("{} {n}", x.label())
            })
            .collect();
        let _ = writeln!(
            s,
            "shapes (issue 20{}): copies with {}; with none {}",
            if self.shapes { "" } else { ", off" },
            shape_counts.join(", "),
            self.copies.iter().filter(|c| c.shapes.is_empty()).count()
        );
        if self.web {
            let mut styles: BTreeMap<String, usize> = BTreeMap::new();
            for o in &self.outlets {
                let text = match (o.summary_len, o.summary_only) {
                    (Some((lo, hi)), Some(e)) => {
                        format!("summaries {lo}-{hi}{}", if e.is_empty() { "" } else { "…" })
                    }
                    _ => "full text".to_string(),
                };
                let script = if o.traditional { ", Traditional" } else { "" };
                let page = pages::NAMES[o.template];
                *styles
                    .entry(format!("{text}{script}, pages {page}"))
                    .or_default() += 1;
            }
            let _ = writeln!(
                s,
                "outlets (--web): {}",
                styles
                    .iter()
                    .map(|(k, v)| format!("{v}× {k}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        s
    }

    /// Each copy as the library reads it back from the files: decoded,
    /// parsed, normalized. Indexed like `copies`.
    fn read_back(&self, dir: &Path) -> Result<Vec<Norm>, String> {
        let normalizer = Normalizer::default();
        let index = self.index();
        let mut out: Vec<Option<Norm>> = (0..self.copies.len()).map(|_| None).collect();
        for o in 0..self.outlets.len() {
            let path = self.feed_path(dir, o);
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let decoded = newsriver::decode::decode(&bytes, None, None, None);
            let feed = newsriver::parse::parse(&decoded.text, None)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            for item in feed.items {
                let id = &self.outlets[o].id;
                let Some(&i) = item
                    .guid
                    .as_ref()
                    .and_then(|g| index.get(&(id.clone(), g.clone())))
                else {
                    return Err(format!("{}: an item with an unknown guid", path.display()));
                };
                let n = normalizer.normalize(&item);
                let page = self.page_text(&normalizer, &item, i, &n);
                out[i] = Some(Norm {
                    title: n.title,
                    hash: n.content_hash.0,
                    text: n.text,
                    fallback: n.text_fallback,
                    page,
                });
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(i, n)| {
                n.ok_or_else(|| {
                    format!(
                        "copy {} was not read back",
                        self.copies[i].key(&self.outlets)
                    )
                })
            })
            .collect()
    }

    /// `--web`: what full text on makes of copy `i` of a summary-only
    /// outlet (`fulltext::article_for`, through the library).
    fn page_text(
        &self,
        normalizer: &Normalizer,
        item: &newsriver::model::ParsedItem,
        i: usize,
        feed: &newsriver::model::NormalizedItem,
    ) -> Option<(String, bool)> {
        let c = &self.copies[i];
        let outlet = &self.outlets[c.outlet];
        outlet.summary_only?;
        let (bytes, content_type) = c.page.as_ref()?;
        let page_url = url::Url::parse(&c.link).ok()?;
        let site = url::Url::parse(&outlet.site).ok()?;
        let html = newsriver::fulltext::decode_page(bytes, Some(content_type), page_url.host_str());
        let Ok(raw) = newsriver::fulltext::extract(&html, &page_url, &site, None) else {
            return Some((feed.text.clone(), feed.text_fallback));
        };
        let mut full = item.clone();
        full.content_html = Some(normalizer.clean_html(&raw));
        let n = normalizer.normalize(&full);
        if n.text.chars().count() <= feed.text.chars().count() {
            return Some((feed.text.clone(), feed.text_fallback));
        }
        Some((n.text, n.text_fallback))
    }

    /// (source id, guid) → copy index.
    fn index(&self) -> HashMap<(String, String), usize> {
        self.copies
            .iter()
            .enumerate()
            .map(|(i, c)| ((self.outlets[c.outlet].id.clone(), c.guid.clone()), i))
            .collect()
    }
}

/// Drops one sentence (not the first, at most a quarter of the text) from a
/// text of four or more.
fn drop_sentence(paras: &mut Vec<String>, rng: &mut Rng) -> bool {
    let total = chars(&paras.concat());
    let spots: Vec<(usize, usize)> = paras
        .iter()
        .enumerate()
        .flat_map(|(p, text)| {
            sentences(text)
                .into_iter()
                .enumerate()
                .filter(|(_, s)| chars(s) * 4 <= total)
                .map(move |(i, _)| (p, i))
        })
        .filter(|&(p, i)| (p, i) != (0, 0))
        .collect();
    let count: usize = paras.iter().map(|p| sentences(p).len()).sum();
    if count < 4 || spots.is_empty() {
        return false;
    }
    let (p, i) = rng.pick(&spots);
    let mut ss = sentences(&paras[p]);
    ss.remove(i);
    paras[p] = ss.concat();
    if paras[p].trim().is_empty() {
        paras.remove(p);
    }
    true
}

/// Adds an outlet's sentence at the end of a paragraph (at most a quarter
/// of the text).
fn add_sentence(paras: &mut [String], rng: &mut Rng) -> bool {
    let s = rng.pick(ADDED_SENTENCES);
    if chars(s) * 4 > chars(&paras.concat()) {
        return false;
    }
    let p = rng.below(paras.len());
    paras[p].push_str(s);
    true
}

/// What the library makes of a copy.
struct Norm {
    title: String,
    text: String,
    hash: String,
    /// Stripping left nothing: `text` is the text as published.
    fallback: bool,
    /// `--web`, summary-only outlets: the text with full text on (the
    /// article page extracted and normalized as the poll does it; the
    /// feed's text when the page says no more), and its fallback flag.
    page: Option<(String, bool)>,
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

// ---- feed formats ---------------------------------------------------------------

fn rss(outlet: &Outlet, copies: &[&StoryCopy]) -> Vec<u8> {
    let charset = if outlet.gbk { "gb2312" } else { "utf-8" };
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"{charset}\"?>\n\
         <rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n\
         <channel>\n<title>{}</title>\n<link>{}/</link>\n<description>{}滚动新闻</description>\n\
         <language>zh-cn</language>\n",
        xml_escape(outlet.name),
        outlet.site,
        xml_escape(outlet.name),
    );
    for c in copies {
        x += "<item>\n";
        let _ = writeln!(x, "<title>{}</title>", xml_escape(&c.title));
        let _ = writeln!(x, "<link>{}</link>", xml_escape(&c.link));
        let permalink = if c.guid == c.link { "true" } else { "false" };
        let _ = writeln!(
            x,
            "<guid isPermaLink=\"{permalink}\">{}</guid>",
            xml_escape(&c.guid)
        );
        let _ = writeln!(x, "<pubDate>{}</pubDate>", c.published.to_rfc2822());
        if outlet.gbk {
            // GBK lacks some characters: the encoder writes them as `&#N;`,
            // which CDATA would not decode, so GBK feeds escape their bodies.
            let _ = writeln!(x, "<description>{}</description>", xml_escape(&c.html));
        } else if outlet.content_encoded && !c.in_summary_field {
            let teaser: String = prefix(&c.title, 60);
            let _ = writeln!(x, "<description>{}</description>", xml_escape(&teaser));
            let _ = writeln!(x, "<content:encoded>{}</content:encoded>", cdata(&c.html));
        } else {
            let _ = writeln!(x, "<description>{}</description>", cdata(&c.html));
        }
        x += "</item>\n";
    }
    x += "</channel>\n</rss>\n";
    if outlet.gbk {
        encoding_rs::GBK.encode(&x).0.into_owned()
    } else {
        x.into_bytes()
    }
}

fn atom(outlet: &Outlet, copies: &[&StoryCopy]) -> String {
    let updated = copies
        .first()
        .map_or_else(base_time, |c| c.published)
        .to_rfc3339();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\">\n\
         <title>{}</title>\n<link href=\"{}/\"/>\n<id>{}/</id>\n<updated>{updated}</updated>\n",
        xml_escape(outlet.name),
        outlet.site,
        outlet.site,
    );
    for c in copies {
        let field = if c.in_summary_field {
            "summary"
        } else {
            "content"
        };
        let _ = write!(
            x,
            "<entry>\n<title>{}</title>\n<link rel=\"alternate\" href=\"{}\"/>\n<id>{}</id>\n\
             <published>{}</published>\n<updated>{}</updated>\n<{field} type=\"html\">{}</{field}>\n</entry>\n",
            xml_escape(&c.title),
            xml_escape(&c.link),
            xml_escape(&c.guid),
            c.published.to_rfc3339(),
            c.published.to_rfc3339(),
            xml_escape(&c.html)
        );
    }
    x += "</feed>\n";
    x
}

fn json_feed(outlet: &Outlet, copies: &[&StoryCopy]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = copies
        .iter()
        .map(|c| {
            let mut item = serde_json::json!({
                "id": c.guid,
                "url": c.link,
                "title": c.title,
                "date_published": c.published.to_rfc3339(),
            });
            if c.in_summary_field {
                item["summary"] = c.html.clone().into();
                item["content_text"] = c.html.clone().into();
            } else {
                item["content_html"] = c.html.clone().into();
            }
            item
        })
        .collect();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": outlet.name,
        "home_page_url": format!("{}/", outlet.site),
        "language": "zh-CN",
        "items": items,
    });
    serde_json::to_vec_pretty(&feed).unwrap_or_default()
}

// ---- the binary -------------------------------------------------------------------

/// `$NEWSRIVER_BIN`, else `cargo build --release` and the target folder's binary.
fn newsriver_binary(manifest: &Path) -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("NEWSRIVER_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-q",
            "--bin",
            "newsriver",
            "--manifest-path",
        ])
        .arg(manifest.join("Cargo.toml"))
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --release failed ({status})"));
    }
    // This example runs from <target>/<profile>/examples/.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let target = exe
        .ancestors()
        .nth(3)
        .ok_or("cannot locate the target folder")?;
    let bin = target.join("release").join("newsriver");
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} not found (set NEWSRIVER_BIN)", bin.display()))
    }
}

/// What a binary run told besides its groupings.
struct RunInfo {
    poll_secs: f64,
    /// CPU seconds (user + system) of the poll process, where the OS says.
    poll_cpu: Option<f64>,
    /// The poll's summary lines.
    summary: String,
    /// How copies joined their stories (`method` in the export).
    joined: BTreeMap<String, usize>,
    /// Copies the export did not have (counted as stories of their own).
    missing: usize,
    /// Exported copies not in the truth.
    unknown: usize,
    /// The exported stories' ids, in the order `pred` numbers them.
    story_ids: Vec<String>,
    /// Exported stories whose text has no letter or digit.
    empty_texts: usize,
}

/// Polls into a fresh database and exports: a story index per copy.
fn run_binary(bin: &Path, config: &Path, ds: &Dataset) -> Result<(Vec<usize>, RunInfo), String> {
    let dir = config.parent().unwrap_or(Path::new("."));
    let text = std::fs::read_to_string(config).map_err(|e| e.to_string())?;
    let db = text
        .lines()
        .find_map(|l| l.strip_prefix("path = \""))
        .map(|p| p.trim_end_matches('"').to_string())
        .ok_or("no [storage] path in the config")?;
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{db}{ext}")));
    }
    let cpu_before = children_cpu_secs();
    let started = Instant::now();
    let poll = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("poll")
        .env_remove("RUST_LOG")
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let poll_secs = started.elapsed().as_secs_f64();
    let poll_cpu = children_cpu_secs()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let stderr = String::from_utf8_lossy(&poll.stderr);
    if !poll.status.success() {
        return Err(format!("poll failed ({}):\n{stderr}", poll.status));
    }
    let summary = stderr
        .lines()
        .skip_while(|l| !l.starts_with("polled "))
        .collect::<Vec<_>>()
        .join("\n");
    let export = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("export")
        .env_remove("RUST_LOG")
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !export.status.success() {
        return Err(format!(
            "export failed ({}):\n{}",
            export.status,
            String::from_utf8_lossy(&export.stderr)
        ));
    }
    let by_guid = ds.index();
    let by_link: HashMap<(String, String), usize> = ds
        .copies
        .iter()
        .enumerate()
        .map(|(i, c)| ((ds.outlets[c.outlet].id.clone(), c.link.clone()), i))
        .collect();
    let mut pred: Vec<Option<usize>> = vec![None; ds.copies.len()];
    let mut info = RunInfo {
        poll_secs,
        poll_cpu,
        summary,
        joined: BTreeMap::new(),
        missing: 0,
        unknown: 0,
        story_ids: Vec::new(),
        empty_texts: 0,
    };
    for (story, line) in String::from_utf8_lossy(&export.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
    {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("export line {}: {e}", story + 1))?;
        info.story_ids
            .push(v["id"].as_str().unwrap_or_default().to_string());
        if !v["text"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .any(char::is_alphanumeric)
        {
            info.empty_texts += 1;
        }
        for c in v["copies"].as_array().into_iter().flatten() {
            let source = c["source"].as_str().unwrap_or_default().to_string();
            let found = c["guid"]
                .as_str()
                .and_then(|g| by_guid.get(&(source.clone(), g.to_string())))
                .or_else(|| {
                    c["link"]
                        .as_str()
                        .and_then(|l| by_link.get(&(source.clone(), l.to_string())))
                });
            let method = c["method"].as_str().unwrap_or("(none)").to_string();
            *info.joined.entry(method).or_default() += 1;
            match found {
                Some(&i) => pred[i] = Some(story),
                None => info.unknown += 1,
            }
        }
    }
    // A copy the export lacks is a story of its own.
    let mut next = pred.iter().flatten().max().map_or(0, |m| m + 1);
    let pred = pred
        .into_iter()
        .map(|p| {
            p.unwrap_or_else(|| {
                info.missing += 1;
                next += 1;
                next
            })
        })
        .collect();
    Ok((pred, info))
}

/// CPU seconds (user + system) of this process's waited-for children, from
/// `/proc/self/stat` (Linux; clock ticks taken as 100 a second, the
/// kernel's USER_HZ); `None` elsewhere.
fn children_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of the line, 14 and 15 here.
    let ticks: f64 = fields.get(13)?.parse::<f64>().ok()? + fields.get(14)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// A story index per copy: copies with the same key are one story.
fn group_by(norms: &[Norm], key: impl Fn(&Norm) -> String) -> Vec<usize> {
    let mut ids: HashMap<String, usize> = HashMap::new();
    norms
        .iter()
        .map(|n| {
            let next = ids.len();
            *ids.entry(key(n)).or_insert(next)
        })
        .collect()
}

// ---- scoring ----------------------------------------------------------------------

/// One way of grouping the copies.
struct Method {
    name: String,
    /// A short name for table columns.
    column: &'static str,
    /// A story index per copy.
    pred: Vec<usize>,
    info: Option<RunInfo>,
}

/// A pair of copies of the same wire story.
struct TruePair {
    a: usize,
    b: usize,
    /// The two copies' body kinds, e.g. "full ~ summary…".
    body: String,
    /// Decoration families in which the two copies differ.
    families: Vec<String>,
}

struct Evaluation<'a> {
    ds: &'a Dataset,
    pairs: Vec<TruePair>,
    /// Story pair (lower index first) → hard-negative category.
    negatives: HashMap<(usize, usize), Category>,
    /// StoryCopy pairs of different stories related as hard negatives, by category.
    at_risk: BTreeMap<Category, (usize, usize)>,
}

/// How one method did.
struct Outcome {
    predicted_pairs: usize,
    correct_pairs: usize,
    stories: usize,
    /// Category label ("unrelated" for none) → (copy pairs, story pairs).
    false_merges: BTreeMap<String, (usize, BTreeSet<(usize, usize)>)>,
    false_examples: BTreeMap<String, Vec<(usize, usize)>>,
    missed_by_body: BTreeMap<String, usize>,
    missed_by_family: BTreeMap<String, usize>,
    missed_examples: BTreeMap<String, Vec<(usize, usize)>>,
}

const UNRELATED: &str = "unrelated stories";
const FULL_PAIR: &str = "full ~ full";

fn family(tag: &str) -> &str {
    tag.split_once('=').map_or(tag, |(f, _)| f)
}

impl<'a> Evaluation<'a> {
    fn new(ds: &'a Dataset) -> Evaluation<'a> {
        let mut by_story: Vec<Vec<usize>> = vec![Vec::new(); ds.stories.len()];
        for (i, c) in ds.copies.iter().enumerate() {
            by_story[c.story].push(i);
        }
        let mut pairs = Vec::new();
        for copies in &by_story {
            for (x, &a) in copies.iter().enumerate() {
                for &b in &copies[x + 1..] {
                    let (ca, cb) = (&ds.copies[a], &ds.copies[b]);
                    let mut kinds = [ca.body, cb.body];
                    kinds.sort_unstable();
                    let ta: BTreeSet<&String> = ca.tags.iter().collect();
                    let tb: BTreeSet<&String> = cb.tags.iter().collect();
                    let families: BTreeSet<String> = ta
                        .symmetric_difference(&tb)
                        .map(|t| family(t).to_string())
                        .collect();
                    pairs.push(TruePair {
                        a,
                        b,
                        body: format!("{} ~ {}", kinds[0], kinds[1]),
                        families: families.into_iter().collect(),
                    });
                }
            }
        }
        let mut negatives = HashMap::new();
        for g in &ds.groups {
            for (x, &s) in g.stories.iter().enumerate() {
                for &t in &g.stories[x + 1..] {
                    negatives.entry((s.min(t), s.max(t))).or_insert(g.category);
                }
            }
        }
        // Groups of one category may draw the same title ("声明" twice):
        // any two stories with one title are same-title negatives.
        let mut by_title: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, st) in ds.stories.iter().enumerate() {
            by_title.entry(&st.title).or_default().push(i);
        }
        for same in by_title.values() {
            for (x, &s) in same.iter().enumerate() {
                for &t in &same[x + 1..] {
                    let notices = [s, t]
                        .iter()
                        .all(|&i| ds.stories[i].category == Some(Category::SameTitleNotices));
                    negatives.entry((s, t)).or_insert(if notices {
                        Category::SameTitleNotices
                    } else {
                        Category::SameTitleArticles
                    });
                }
            }
        }
        let mut at_risk: BTreeMap<Category, (usize, usize)> = BTreeMap::new();
        for (&(s, t), &c) in &negatives {
            let e = at_risk.entry(c).or_default();
            e.0 += by_story[s].len() * by_story[t].len();
            e.1 += 1;
        }
        Evaluation {
            ds,
            pairs,
            negatives,
            at_risk,
        }
    }

    fn score(&self, m: &Method, examples: usize) -> Outcome {
        let ds = self.ds;
        let mut clusters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, &p) in m.pred.iter().enumerate() {
            clusters.entry(p).or_default().push(i);
        }
        let mut out = Outcome {
            predicted_pairs: 0,
            correct_pairs: 0,
            stories: clusters.len(),
            false_merges: BTreeMap::new(),
            false_examples: BTreeMap::new(),
            missed_by_body: BTreeMap::new(),
            missed_by_family: BTreeMap::new(),
            missed_examples: BTreeMap::new(),
        };
        for members in clusters.values() {
            for (x, &a) in members.iter().enumerate() {
                for &b in &members[x + 1..] {
                    out.predicted_pairs += 1;
                    let (sa, sb) = (ds.copies[a].story, ds.copies[b].story);
                    if sa == sb {
                        out.correct_pairs += 1;
                        continue;
                    }
                    let key = (sa.min(sb), sa.max(sb));
                    let label = self
                        .negatives
                        .get(&key)
                        .map_or(UNRELATED, |c| c.label())
                        .to_string();
                    let e = out.false_merges.entry(label.clone()).or_default();
                    e.0 += 1;
                    e.1.insert(key);
                    let ex = out.false_examples.entry(label).or_default();
                    // One example per story pair.
                    if ex.len() < examples
                        && !ex.iter().any(|&(x, y)| {
                            let (s, t) = (ds.copies[x].story, ds.copies[y].story);
                            (s.min(t), s.max(t)) == key
                        })
                    {
                        ex.push((a, b));
                    }
                }
            }
        }
        for p in &self.pairs {
            if m.pred[p.a] == m.pred[p.b] {
                continue;
            }
            *out.missed_by_body.entry(p.body.clone()).or_default() += 1;
            if p.body == FULL_PAIR {
                if p.families.is_empty() {
                    *out.missed_by_family.entry("(none)".into()).or_default() += 1;
                }
                for f in &p.families {
                    *out.missed_by_family.entry(f.clone()).or_default() += 1;
                }
            }
            let ex = out.missed_examples.entry(p.body.clone()).or_default();
            if ex.len() < examples {
                ex.push((p.a, p.b));
            }
        }
        out
    }

    fn report(&self, methods: &[Method], outcomes: &[Outcome], norms: &[Norm]) -> String {
        let ds = self.ds;
        let truth_pairs = self.pairs.len();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\ntruth: {} same-story copy pairs; a pair is predicted when both copies end up in one story\n",
            truth_pairs
        );

        // The table.
        let w = methods
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            s,
            "{:w$} | precision | recall |    F1 |  pairs | correct | stories",
            "method"
        );
        let _ = writeln!(s, "{}", "-".repeat(w + 58));
        for (m, o) in methods.iter().zip(outcomes) {
            let p = ratio(o.correct_pairs, o.predicted_pairs);
            let r = ratio(o.correct_pairs, truth_pairs);
            let f1 = if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            };
            let _ = writeln!(
                s,
                "{:w$} |     {p:.3} |  {r:.3} | {f1:.3} | {:6} | {:7} | {:7}",
                m.name, o.predicted_pairs, o.correct_pairs, o.stories
            );
        }
        let _ = writeln!(
            s,
            "{:w$} |           |        |       | {:6} |         | {:7}",
            "(truth)",
            truth_pairs,
            ds.stories.len()
        );

        // Ingest speed.
        for m in methods {
            if let Some(info) = &m.info {
                let _ = writeln!(
                    s,
                    "\n{}: poll {:.2} s wall{}, {:.0} items/s; copies joined by {}{}{}\n  {}",
                    m.name,
                    info.poll_secs,
                    info.poll_cpu
                        .map(|c| format!(" ({c:.2} s CPU)"))
                        .unwrap_or_default(),
                    ds.copies.len() as f64 / info.poll_secs.max(1e-9),
                    info.joined
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if info.missing > 0 {
                        format!("; {} copies MISSING from the export", info.missing)
                    } else {
                        String::new()
                    },
                    if info.unknown > 0 {
                        format!("; {} exported copies not in the truth", info.unknown)
                    } else {
                        String::new()
                    },
                    info.summary.replace('\n', "\n  ")
                );
            }
        }

        // False merges by category.
        let cw = 28;
        let col = 14;
        let names: String = methods
            .iter()
            .map(|m| format!(" | {:>col$}", m.column))
            .collect();
        let _ = writeln!(
            s,
            "\nfalse merges by hard-negative category: copy pairs wrongly merged (story pairs)\n\
             {:cw$} | {:>15}{names}",
            "category", "at risk"
        );
        let _ = writeln!(s, "{}", "-".repeat(cw + 18 + methods.len() * (col + 3)));
        let mut rows: Vec<(String, String)> = Category::ALL
            .iter()
            .map(|c| {
                let (p, n) = self.at_risk.get(c).copied().unwrap_or_default();
                (c.label().to_string(), format!("{p} ({n})"))
            })
            .collect();
        rows.push((UNRELATED.to_string(), String::new()));
        for (label, risk) in rows {
            let cells: String = outcomes
                .iter()
                .map(|o| {
                    let cell = o
                        .false_merges
                        .get(&label)
                        .map_or("0".to_string(), |(p, n)| format!("{p} ({})", n.len()));
                    format!(" | {cell:>col$}")
                })
                .collect();
            let _ = writeln!(s, "{} | {risk:>15}{cells}", pad(&label, cw));
        }

        // Missed merges by transformation.
        let mut bodies: BTreeMap<&str, usize> = BTreeMap::new();
        let mut families: BTreeMap<String, usize> = BTreeMap::new();
        for p in &self.pairs {
            *bodies.entry(&p.body).or_default() += 1;
            if p.body == FULL_PAIR {
                if p.families.is_empty() {
                    *families.entry("(none)".into()).or_default() += 1;
                }
                for f in &p.families {
                    *families.entry(f.clone()).or_default() += 1;
                }
            }
        }
        let _ = writeln!(
            s,
            "\nrecall by the two copies' bodies: recall (missed pairs)\n{:cw$} | {:>7}{names}",
            "bodies", "pairs"
        );
        let _ = writeln!(s, "{}", "-".repeat(cw + 10 + methods.len() * (col + 3)));
        for (body, n) in &bodies {
            let cells: String = outcomes
                .iter()
                .map(|o| {
                    let missed = o.missed_by_body.get(*body).copied().unwrap_or(0);
                    format!(
                        " | {:>col$}",
                        format!("{:.3} ({missed})", 1.0 - ratio(missed, *n))
                    )
                })
                .collect();
            let _ = writeln!(s, "{} | {n:>7}{cells}", pad(body, cw));
        }
        let _ = writeln!(
            s,
            "\nrecall among full ~ full pairs, by what differs between the two copies\n{:cw$} | {:>7}{names}",
            "differs in", "pairs"
        );
        let _ = writeln!(s, "{}", "-".repeat(cw + 10 + methods.len() * (col + 3)));
        for (f, n) in &families {
            let cells: String = outcomes
                .iter()
                .map(|o| {
                    let missed = o.missed_by_family.get(f).copied().unwrap_or(0);
                    format!(
                        " | {:>col$}",
                        format!("{:.3} ({missed})", 1.0 - ratio(missed, *n))
                    )
                })
                .collect();
            let _ = writeln!(s, "{} | {n:>7}{cells}", pad(f, cw));
        }

        // Examples.
        let show = |i: usize| -> String {
            let c = &ds.copies[i];
            format!(
                "{}/{} [{}; {} chars] {:?}",
                ds.outlets[c.outlet].id,
                short(&c.guid, 14),
                c.body,
                chars(&norms[i].text),
                short(&c.title, 24)
            )
        };
        // Examples of every false merge category; of missed merges, every
        // kind for the first method (the binary as it comes), else only
        // full ~ full (boilerplate the normalizer does not see past).
        // A method that groups exactly like an earlier one is not repeated.
        for (k, (m, o)) in methods.iter().zip(outcomes).enumerate() {
            let missed: Vec<(&String, &Vec<(usize, usize)>)> = o
                .missed_examples
                .iter()
                .filter(|(label, _)| k == 0 || ds.web || *label == FULL_PAIR)
                .collect();
            if o.false_examples.is_empty() && missed.is_empty() {
                continue;
            }
            if let Some(same) = methods[..k]
                .iter()
                .find(|e| canonical(&e.pred) == canonical(&m.pred))
            {
                let _ = writeln!(s, "\n{}: the same groups as {}", m.name, same.name);
                continue;
            }
            let _ = writeln!(s, "\nexamples, {}:", m.name);
            for (label, list) in &o.false_examples {
                for &(a, b) in list {
                    let (j, c) = similarity(&norms[a].text, &norms[b].text);
                    let (sa, sb) = (ds.copies[a].story, ds.copies[b].story);
                    let _ = writeln!(
                        s,
                        "  false merge [{label}] {} ≠ {} (jaccard {j:.2}, containment {c:.2}; feed texts: {})\n    {}\n    {}",
                        ds.stories[sa].id,
                        ds.stories[sb].id,
                        verdict(ds, norms, a, b),
                        show(a),
                        show(b)
                    );
                }
            }
            for (label, list) in missed {
                for &(a, b) in list {
                    let (j, c) = similarity(&norms[a].text, &norms[b].text);
                    let _ = writeln!(
                        s,
                        "  missed [{label}] {} (jaccard {j:.2}, containment {c:.2}; feed texts: {}){}\n    {}\n    {}",
                        ds.stories[ds.copies[a].story].id,
                        verdict(ds, norms, a, b),
                        first_difference(&norms[a].text, &norms[b].text),
                        show(a),
                        show(b)
                    );
                }
            }
        }
        s
    }
}

/// newsriver's verdict on two copies' feed texts (`dedupe::judge` at the
/// default parameters), for the examples of errors.
fn verdict(ds: &Dataset, norms: &[Norm], a: usize, b: usize) -> String {
    let apart = (ds.copies[a].published - ds.copies[b].published).num_seconds();
    let params = newsriver::dedupe::Params::default();
    match newsriver::dedupe::judge(&norms[a].text, &norms[b].text, apart, &params).0 {
        newsriver::dedupe::Verdict::Same { method, score } => format!("same, {method} {score:.2}"),
        newsriver::dedupe::Verdict::Different { reason } => reason,
    }
}

/// Story indices renumbered in order of first appearance: two groupings are
/// the same when their canonical forms are.
/// `config.toml` with its `[[source]]` blocks reversed and shuffled
/// (`--orders`), each with a database of its own: (name, column, file).
fn order_configs(
    dir: &Path,
    seed: u64,
    (config, db): (&str, &str),
) -> Result<Vec<(&'static str, &'static str, String)>, String> {
    let text = std::fs::read_to_string(dir.join(config)).map_err(|e| e.to_string())?;
    let mut parts = text.split("\n[[source]]");
    let head = parts.next().unwrap_or_default().to_string();
    let blocks: Vec<&str> = parts.collect();
    let mut reversed = blocks.clone();
    reversed.reverse();
    let mut shuffled = blocks.clone();
    Rng(seed ^ 0x0bde_5eed).shuffle(&mut shuffled);
    let mut out = Vec::new();
    for (name, column, order) in [
        ("reversed", "nr reversed", reversed),
        ("shuffled", "nr shuffled", shuffled),
    ] {
        let stem = db.trim_end_matches(".db");
        let file = format!("{}-{name}.toml", config.trim_end_matches(".toml"));
        let config = head.replace(
            &format!("path = \"{db}\""),
            &format!("path = \"{stem}-{name}.db\""),
        ) + &order
            .iter()
            .map(|b| format!("\n[[source]]{b}"))
            .collect::<String>();
        std::fs::write(dir.join(&file), config).map_err(|e| e.to_string())?;
        out.push((name, column, file));
    }
    Ok(out)
}

/// Stories in a prediction.
fn story_count(pred: &[usize]) -> usize {
    pred.iter().collect::<HashSet<_>>().len()
}

/// Clusters (as sets of copies) of `a` that `b` does not have, and of `b`
/// that `a` does not have.
fn partition_differences(a: &[usize], b: &[usize]) -> (usize, usize) {
    let sets = |p: &[usize]| -> BTreeSet<Vec<usize>> {
        let mut by: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, &s) in p.iter().enumerate() {
            by.entry(s).or_default().push(i);
        }
        by.into_values().collect()
    };
    let (sa, sb) = (sets(a), sets(b));
    (sa.difference(&sb).count(), sb.difference(&sa).count())
}

fn canonical(pred: &[usize]) -> Vec<usize> {
    let mut ids: HashMap<usize, usize> = HashMap::new();
    pred.iter()
        .map(|&p| {
            let next = ids.len();
            *ids.entry(p).or_insert(next)
        })
        .collect()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// At most `n` characters, with "…" when cut.
fn short(s: &str, n: usize) -> String {
    if chars(s) <= n {
        s.to_string()
    } else {
        prefix(s, n - 1) + "…"
    }
}

/// Pads to `w` terminal columns (CJK characters take two).
fn pad(s: &str, w: usize) -> String {
    let wide = |c: char| {
        matches!(c, '\u{1100}'..='\u{115F}' | '\u{2E80}'..='\u{A4CF}' | '\u{AC00}'..='\u{D7A3}'
            | '\u{F900}'..='\u{FAFF}' | '\u{FE30}'..='\u{FE4F}' | '\u{FF00}'..='\u{FF60}')
    };
    let width: usize = s.chars().map(|c| if wide(c) { 2 } else { 1 }).sum();
    format!("{s}{}", " ".repeat(w.saturating_sub(width)))
}

/// Where two normalized texts first differ once folded, with a little context.
fn first_difference(a: &str, b: &str) -> String {
    let (fa, fb): (Vec<char>, Vec<char>) = (fold(a).chars().collect(), fold(b).chars().collect());
    let at = fa.iter().zip(&fb).take_while(|(x, y)| x == y).count();
    if at == fa.len() && at == fb.len() {
        return String::new();
    }
    let around = |v: &[char]| -> String {
        v[at.saturating_sub(6)..(at + 14).min(v.len())]
            .iter()
            .collect()
    };
    format!(
        "; folded texts differ at {at}: {:?} vs {:?}",
        around(&fa),
        around(&fb)
    )
}

// ---- issue 20: recall and over-stripping by shape --------------------------------

/// Pairs a recall by shape needs before it can be the worst.
const WORST_MIN_PAIRS: usize = 30;

/// One method's figures for the summary over seeds.
struct SeedRow {
    seed: u64,
    method: String,
    recall: f64,
    /// Recall over the recallable pairs (see `recallable`).
    recall_recallable: f64,
    precision: f64,
    /// Worst issue-20 shape, by recall over its recallable pairs.
    worst_shape: Option<Worst>,
    /// Worst row of the whole table (shapes, tags, bodies).
    worst_any: Option<Worst>,
    /// Copies whose text lost more than 5% of their article (library).
    over_stripped: usize,
    /// Copies stored with an empty text, and those that fell back.
    empty: usize,
    fallback: usize,
}

/// A row of the recall-by-shape table: recall over all its true pairs and
/// over its recallable ones (judged by the latter).
#[derive(Clone, Debug)]
struct Worst {
    label: String,
    recall: f64,
    pairs: usize,
    recallable: f64,
    recallable_pairs: usize,
}

/// Text in the form kept and lost characters are counted in: NFKC, lower
/// case, Simplified, letters and digits only.
fn sfold(s: &str) -> Vec<char> {
    use newsriver::normalize as nz;
    nz::fold(&nz::simplified(&nz::lowercase(&nz::nfkc(s))))
        .chars()
        .collect()
}

const STRIP_GRAM: usize = 4;

fn gram_hashes(cs: &[char]) -> Vec<u64> {
    cs.windows(STRIP_GRAM)
        .map(|w| {
            w.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
                (h ^ c as u64).wrapping_mul(0x0000_0100_0000_01B3)
            })
        })
        .collect()
}

/// Characters of `piece` covered by a 4-gram in `keep` and not in `not`.
fn covered(piece: &[char], keep: &HashSet<u64>, not: Option<&HashSet<u64>>) -> usize {
    let mut mark = vec![false; piece.len()];
    for (i, g) in gram_hashes(piece).iter().enumerate() {
        if keep.contains(g) && !not.is_some_and(|n| n.contains(g)) {
            mark[i..i + STRIP_GRAM].iter_mut().for_each(|m| *m = true);
        }
    }
    mark.iter().filter(|&&m| m).count()
}

/// What normalizing did to one copy.
struct Strip {
    /// Share of the article's characters (folded) the copy carried that the
    /// stored text lacks.
    lost: f64,
    /// Boilerplate pieces: (shape or kind, characters left, characters).
    left: Vec<(&'static str, usize, usize)>,
    empty: bool,
    fallback: bool,
}

fn measure_strip(
    carried: &str,
    stored: &str,
    fallback: bool,
    boiler: &[(&'static str, String)],
) -> Strip {
    let article = sfold(carried);
    let text = sfold(stored);
    let t: HashSet<u64> = gram_hashes(&text).into_iter().collect();
    let a: HashSet<u64> = gram_hashes(&article).into_iter().collect();
    let lost = if article.len() >= STRIP_GRAM {
        1.0 - covered(&article, &t, None) as f64 / article.len() as f64
    } else {
        0.0
    };
    let left = boiler
        .iter()
        .filter_map(|(k, p)| {
            let p = sfold(p);
            (p.len() >= STRIP_GRAM).then(|| (*k, covered(&p, &t, Some(&a)), p.len()))
        })
        .collect();
    Strip {
        lost,
        left,
        empty: text.is_empty(),
        fallback,
    }
}

/// The article text a copy carries, folded as `sfold` does, with its 4-grams:
/// what "recallable" is judged on (the generator's knowledge, not the
/// normalizer's output).
struct Carried {
    chars: Vec<char>,
    grams: HashSet<u64>,
}

impl Carried {
    fn new(carried: &str) -> Carried {
        let chars = sfold(carried);
        let grams = gram_hashes(&chars).into_iter().collect();
        Carried { chars, grams }
    }
}

/// The share of the shorter copy's carried article characters that the
/// other copy also carries (covered by a 4-gram of it).
fn shared_of_shorter(a: &Carried, b: &Carried) -> f64 {
    let (short, long) = if a.chars.len() <= b.chars.len() {
        (a, b)
    } else {
        (b, a)
    };
    if short.chars.is_empty() {
        return 0.0;
    }
    if short.chars.len() < STRIP_GRAM {
        let (s, l): (String, String) = (short.chars.iter().collect(), long.chars.iter().collect());
        return if l.contains(&s) { 1.0 } else { 0.0 };
    }
    covered(&short.chars, &long.grams, None) as f64 / short.chars.len() as f64
}

/// A true pair text can merge: the two copies' carried article texts share
/// at least `BRIDGE_SHARED` of the shorter's characters. Below it the
/// trust rule keeps them apart by design, whatever copy they share.
fn recallable(a: &Carried, b: &Carried) -> bool {
    shared_of_shorter(a, b) >= newsriver::dedupe::BRIDGE_SHARED
}

/// The rows a true pair counts in: each issue-20 shape either copy has
/// (`shape: …`), each body kind (`body: …`) and decoration (`tag: …`)
/// either copy has.
fn shape_rows(ds: &Dataset, a: usize, b: usize) -> BTreeSet<String> {
    let mut rows = BTreeSet::new();
    for c in [&ds.copies[a], &ds.copies[b]] {
        for x in &c.shapes {
            rows.insert(format!("shape: {}", x.label()));
        }
        rows.insert(format!("body: {}", c.body));
        for t in &c.tags {
            if !t.starts_with("markup=") && !t.starts_with("feed=") {
                rows.insert(format!("tag: {t}"));
            }
        }
    }
    if ds.copies[a].shapes.is_empty() && ds.copies[b].shapes.is_empty() {
        rows.insert("shape: (none on either copy)".into());
    }
    rows
}

fn text_short(s: &str, n: usize) -> String {
    let one = s.replace('\n', "⏎");
    short(&one, n)
}

impl Evaluation<'_> {
    /// Recall by shape (issue 20) for each method, the worst shape, and
    /// over-stripping per shape; rows for the summary over seeds.
    fn shape_report(
        &self,
        methods: &[Method],
        outcomes: &[Outcome],
        norms: &[Norm],
        examples: usize,
    ) -> (String, Vec<SeedRow>) {
        let ds = self.ds;
        let mut s = String::new();
        let rows_of: Vec<BTreeSet<String>> = self
            .pairs
            .iter()
            .map(|p| shape_rows(ds, p.a, p.b))
            .collect();
        let mut truth: BTreeMap<&str, usize> = BTreeMap::new();
        for rows in &rows_of {
            for r in rows {
                *truth.entry(r).or_default() += 1;
            }
        }
        // Recallable pairs (the generator's knowledge of the article text
        // each copy carries): per method, since with full text on the
        // summary-only outlets' copies carry their article page's text.
        let feed_carried: Vec<Carried> =
            ds.copies.iter().map(|c| Carried::new(&c.carried)).collect();
        let page_carried: Vec<Option<Carried>> = ds
            .copies
            .iter()
            .zip(norms)
            .map(|(c, n)| {
                n.page.as_ref()?;
                c.page_carried.as_deref().map(Carried::new)
            })
            .collect();
        let feed_rec: Vec<bool> = self
            .pairs
            .iter()
            .map(|p| recallable(&feed_carried[p.a], &feed_carried[p.b]))
            .collect();
        let rec_of: Vec<Vec<bool>> = methods
            .iter()
            .map(|m| {
                if m.column != "full text on" || page_carried.iter().all(Option::is_none) {
                    return feed_rec.clone();
                }
                let on = |i: usize| page_carried[i].as_ref().unwrap_or(&feed_carried[i]);
                self.pairs
                    .iter()
                    .map(|p| recallable(on(p.a), on(p.b)))
                    .collect()
            })
            .collect();
        // `DEDUPE_EVAL_MISSED=FILE`: the first method's missed recallable
        // pairs, in full (texts as generated and as normalized, the verdict).
        if let (Ok(path), Some(m)) = (std::env::var("DEDUPE_EVAL_MISSED"), methods.first()) {
            let mut dump = String::new();
            for (p, &r) in self.pairs.iter().zip(&feed_rec) {
                if r && m.pred[p.a] != m.pred[p.b] {
                    let (ca, cb) = (&ds.copies[p.a], &ds.copies[p.b]);
                    let _ = writeln!(
                        dump,
                        "=== {} [{}] {:?} ~ [{}] {:?}\n--- verdict: {}\n--- a raw\n{}\n--- a normalized\n{}\n--- b raw\n{}\n--- b normalized\n{}\n",
                        ds.stories[ca.story].id,
                        ca.body,
                        ca.shapes.iter().map(|x| x.label()).collect::<Vec<_>>(),
                        cb.body,
                        cb.shapes.iter().map(|x| x.label()).collect::<Vec<_>>(),
                        verdict(ds, norms, p.a, p.b),
                        ca.raw,
                        norms[p.a].text,
                        cb.raw,
                        norms[p.b].text
                    );
                }
            }
            let _ = std::fs::write(format!("{path}.seed-{}", ds.seed), dump);
        }
        // method → row → (found, recallable, recallable found)
        let found: Vec<BTreeMap<&str, (usize, usize, usize)>> = methods
            .iter()
            .zip(&rec_of)
            .map(|(m, rec)| {
                let mut f: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
                for ((p, rows), &r) in self.pairs.iter().zip(&rows_of).zip(rec) {
                    let hit = m.pred[p.a] == m.pred[p.b];
                    for row in rows {
                        let e = f.entry(row).or_default();
                        e.0 += usize::from(hit);
                        e.1 += usize::from(r);
                        e.2 += usize::from(hit && r);
                    }
                }
                f
            })
            .collect();
        let apart_of = |r: &str| -> usize {
            self.pairs
                .iter()
                .zip(&rows_of)
                .zip(&feed_rec)
                .filter(|((_, rows), rec)| !**rec && rows.contains(r))
                .count()
        };
        let col = 29;
        let cw = 34;
        let names: String = methods
            .iter()
            .map(|m| format!(" | {:>col$}", m.column))
            .collect();
        let _ = writeln!(
            s,
            "\nrecall by shape (issue 20): true pairs in which at least one copy has it; recall (missed) \
             over all pairs / over the recallable pairs\n\
             (recallable: the two copies' carried article texts, folded, share at least {} of the shorter's \
             characters; apart: pairs left out, apart by the trust rule (share < {} of the shorter))\n\
             {} | {:>6} | {:>6}{names}\n{}",
            newsriver::dedupe::BRIDGE_SHARED,
            newsriver::dedupe::BRIDGE_SHARED,
            pad("shape / body / tag", cw),
            "pairs",
            "apart",
            "-".repeat(cw + 18 + methods.len() * (col + 3))
        );
        let cell = |k: usize, n: usize, rk: usize, rn: usize| {
            format!(
                " | {:>col$}",
                format!(
                    "{:.3} ({}) / {:.3} ({})",
                    ratio(k, n),
                    n - k,
                    ratio(rk, rn),
                    rn - rk
                )
            )
        };
        // Overall: every true pair.
        {
            let n = self.pairs.len();
            let apart = feed_rec.iter().filter(|r| !**r).count();
            let cells: String = methods
                .iter()
                .zip(&rec_of)
                .map(|(m, rec)| {
                    let hits = self.pairs.iter().map(|p| m.pred[p.a] == m.pred[p.b]);
                    let (k, rn, rk) = hits.zip(rec).fold((0, 0, 0), |(k, rn, rk), (h, &r)| {
                        (
                            k + usize::from(h),
                            rn + usize::from(r),
                            rk + usize::from(h && r),
                        )
                    });
                    cell(k, n, rk, rn)
                })
                .collect();
            let _ = writeln!(
                s,
                "{} | {n:>6} | {apart:>6}{cells}",
                pad("all true pairs", cw)
            );
        }
        let order = |r: &&str| {
            (
                if r.starts_with("shape:") {
                    0
                } else if r.starts_with("body:") {
                    1
                } else {
                    2
                },
                r.to_string(),
            )
        };
        let mut keys: Vec<&str> = truth.keys().copied().collect();
        keys.sort_by_key(order);
        for r in &keys {
            let n = truth[r];
            let cells: String = found
                .iter()
                .map(|f| {
                    let (k, rn, rk) = f.get(r).copied().unwrap_or_default();
                    cell(k, n, rk, rn)
                })
                .collect();
            let _ = writeln!(s, "{} | {n:>6} | {:>6}{cells}", pad(r, cw), apart_of(r));
        }
        for (m, rec) in methods.iter().zip(&rec_of) {
            if *rec != feed_rec {
                let _ = writeln!(
                    s,
                    "{}: recallable judged on the article pages' text where it reads them: \
                     {} true pairs apart by the trust rule (share < {} of the shorter)",
                    m.name,
                    rec.iter().filter(|r| !**r).count(),
                    newsriver::dedupe::BRIDGE_SHARED
                );
            }
        }
        let _ = writeln!(
            s,
            "apart by the trust rule (share < {} of the shorter): {} of {} true pairs, left out of the recallable figure",
            newsriver::dedupe::BRIDGE_SHARED,
            feed_rec.iter().filter(|r| !**r).count(),
            self.pairs.len()
        );
        // The worst row, judged by recall over its recallable pairs (at
        // least `WORST_MIN_PAIRS` of them).
        let worst = |f: &BTreeMap<&str, (usize, usize, usize)>, shapes_only: bool| {
            keys.iter()
                .filter(|r| !shapes_only || (r.starts_with("shape:") && !r.contains("(none")))
                .filter_map(|r| {
                    let n = truth[*r];
                    let (k, rn, rk) = f.get(r).copied().unwrap_or_default();
                    (rn >= WORST_MIN_PAIRS).then(|| Worst {
                        label: r.to_string(),
                        recall: ratio(k, n),
                        pairs: n,
                        recallable: ratio(rk, rn),
                        recallable_pairs: rn,
                    })
                })
                .min_by(|x, y| x.recallable.total_cmp(&y.recallable))
        };

        // Over-stripping, through the library (feed text; with --web also
        // the full-text-on text of summary-only outlets).
        let strips: Vec<Strip> = ds
            .copies
            .iter()
            .zip(norms)
            .map(|(c, n)| measure_strip(&c.carried, &n.text, n.fallback, &c.boiler))
            .collect();
        // `DEDUPE_EVAL_LOST=FILE`: every copy that lost more than 5% of the
        // article text it carried, in full, for reading over-stripping.
        if let Ok(path) = std::env::var("DEDUPE_EVAL_LOST") {
            let mut dump = String::new();
            for ((c, n), st) in ds.copies.iter().zip(norms).zip(&strips) {
                if st.lost > 0.05 {
                    let _ = writeln!(
                        dump,
                        "=== lost {:.0}% shapes {:?}\n--- carried\n{}\n--- raw\n{}\n--- normalized\n{}\n",
                        100.0 * st.lost,
                        c.shapes.iter().map(|x| x.label()).collect::<Vec<_>>(),
                        c.carried,
                        c.raw,
                        n.text
                    );
                }
            }
            let _ = std::fs::write(format!("{path}.seed-{}", ds.seed), dump);
        }
        let page_strips: Vec<Option<Strip>> = ds
            .copies
            .iter()
            .zip(norms)
            .map(|(c, n)| {
                let (text, fallback) = n.page.as_ref()?;
                let boiler: Vec<(&'static str, String)> = c
                    .boiler
                    .iter()
                    .filter(|(k, _)| *k != Shape::HeadlineRunIn.label())
                    .cloned()
                    .collect();
                Some(measure_strip(
                    c.page_carried.as_deref()?,
                    text,
                    *fallback,
                    &boiler,
                ))
            })
            .collect();
        let over = |list: &[&Strip]| list.iter().filter(|x| x.lost > 0.05).count();
        let mut strip_table = |title: &str, strips: &[Option<&Strip>]| {
            let _ = writeln!(
                s,
                "\nover-stripping ({title}): article characters the copy carried that its normalized text lacks; \
                 boilerplate characters (of the shape's own pieces) left in\n{} | {:>6} | {:>9} | {:>6} | {:>7} | {:>11} | {:>9} | {:>5} | {:>8}\n{}",
                pad("copies with", cw),
                "copies",
                "mean lost",
                "worst",
                "lost>5%",
                "boiler left",
                "left>50%",
                "empty",
                "fallback",
                "-".repeat(cw + 90)
            );
            let mut rows: Vec<(String, Vec<&Strip>, Option<&'static str>)> = Vec::new();
            let all: Vec<&Strip> = strips.iter().flatten().copied().collect();
            rows.push(("all copies".into(), all, None));
            for x in Shape::ALL {
                let list: Vec<&Strip> = ds
                    .copies
                    .iter()
                    .zip(strips)
                    .filter(|(c, _)| c.shapes.contains(&x))
                    .filter_map(|(_, st)| *st)
                    .collect();
                rows.push((format!("shape: {}", x.label()), list, Some(x.label())));
            }
            let none: Vec<&Strip> = ds
                .copies
                .iter()
                .zip(strips)
                .filter(|(c, _)| c.shapes.is_empty())
                .filter_map(|(_, st)| *st)
                .collect();
            rows.push(("shape: (none)".into(), none, None));
            for kind in ["dateline", "原标题"] {
                let list: Vec<&Strip> = ds
                    .copies
                    .iter()
                    .zip(strips)
                    .filter(|(c, _)| c.boiler.iter().any(|(k, _)| *k == kind))
                    .filter_map(|(_, st)| *st)
                    .collect();
                rows.push((format!("existing: {kind}"), list, Some(kind)));
            }
            for (label, list, piece) in rows {
                if list.is_empty() {
                    continue;
                }
                let mean = list.iter().map(|x| x.lost).sum::<f64>() / list.len() as f64;
                let worst = list.iter().map(|x| x.lost).fold(0.0, f64::max);
                let (mut left, mut total, mut many) = (0, 0, 0);
                for x in &list {
                    let (l, t) = x
                        .left
                        .iter()
                        .filter(|(k, _, _)| piece.is_none_or(|p| p == *k))
                        .fold((0, 0), |(l, t), (_, a, b)| (l + a, t + b));
                    left += l;
                    total += t;
                    if t > 0 && l * 2 > t {
                        many += 1;
                    }
                }
                let _ = writeln!(
                    s,
                    "{} | {:>6} | {:>8.2}% | {:>5.1}% | {:>7} | {:>10.1}% | {:>9} | {:>5} | {:>8}",
                    pad(&label, cw),
                    list.len(),
                    100.0 * mean,
                    100.0 * worst,
                    over(&list),
                    100.0 * ratio(left, total),
                    many,
                    list.iter().filter(|x| x.empty).count(),
                    list.iter().filter(|x| x.fallback).count()
                );
            }
        };
        let feed: Vec<Option<&Strip>> = strips.iter().map(Some).collect();
        strip_table("feed text, library", &feed);
        if page_strips.iter().any(Option::is_some) {
            let page: Vec<Option<&Strip>> = page_strips.iter().map(Option::as_ref).collect();
            strip_table(
                "full text on: summary-only outlets' article pages, library",
                &page,
            );
        }
        for m in methods {
            if let Some(info) = &m.info {
                let _ = writeln!(
                    s,
                    "{}: {} exported stories with an empty text",
                    m.name, info.empty_texts
                );
            }
        }

        // The worst shape, prominently.
        let _ = writeln!(s);
        let mut summary = Vec::new();
        for (((m, o), f), rec) in methods.iter().zip(outcomes).zip(&found).zip(&rec_of) {
            let ws = worst(f, true);
            let wa = worst(f, false);
            if m.info.is_some() {
                let show = |w: &Option<Worst>| {
                    w.as_ref()
                        .map_or("(none with enough recallable pairs)".to_string(), |w| {
                            format!(
                                "{} — recall {:.3} over {} pairs, {:.3} over {} recallable pairs",
                                w.label, w.recall, w.pairs, w.recallable, w.recallable_pairs
                            )
                        })
                };
                let _ = writeln!(
                    s,
                    "*** WORST SHAPE, {}: {} (worst of every row: {}) ***",
                    m.name,
                    show(&ws),
                    show(&wa)
                );
            }
            let feed_strips: Vec<&Strip> = strips.iter().collect();
            let (over_n, empty, fallback) = match m.column {
                "full text on" => {
                    let on: Vec<&Strip> = strips
                        .iter()
                        .zip(&page_strips)
                        .map(|(f, p)| p.as_ref().unwrap_or(f))
                        .collect();
                    (
                        over(&on),
                        on.iter().filter(|x| x.empty).count(),
                        on.iter().filter(|x| x.fallback).count(),
                    )
                }
                _ => (
                    over(&feed_strips),
                    feed_strips.iter().filter(|x| x.empty).count(),
                    feed_strips.iter().filter(|x| x.fallback).count(),
                ),
            };
            if m.info.is_none() {
                continue;
            }
            summary.push(SeedRow {
                seed: ds.seed,
                method: m.name.clone(),
                recall: ratio(o.correct_pairs, self.pairs.len()),
                recall_recallable: ratio(
                    self.pairs
                        .iter()
                        .zip(rec)
                        .filter(|(p, r)| **r && m.pred[p.a] == m.pred[p.b])
                        .count(),
                    rec.iter().filter(|r| **r).count(),
                ),
                precision: ratio(o.correct_pairs, o.predicted_pairs),
                worst_shape: ws,
                worst_any: wa,
                over_stripped: over_n,
                empty,
                fallback,
            });
        }

        // Examples: the worst misses per shape (lowest containment of the
        // two normalized texts), for the first method; the most
        // over-stripped copies and the most boilerplate left, per shape.
        if let Some(m) = methods.first() {
            let _ = writeln!(
                s,
                "\nexamples by shape, {} (generated feed text → normalized text, library):",
                m.name
            );
            for x in Shape::ALL {
                let mut missed: Vec<(f64, usize, usize)> = self
                    .pairs
                    .iter()
                    .filter(|p| m.pred[p.a] != m.pred[p.b])
                    .filter_map(|p| {
                        let (a, b) = if ds.copies[p.a].shapes.contains(&x) {
                            (p.a, p.b)
                        } else if ds.copies[p.b].shapes.contains(&x) {
                            (p.b, p.a)
                        } else {
                            return None;
                        };
                        Some((similarity(&norms[a].text, &norms[b].text).1, a, b))
                    })
                    .collect();
                missed.sort_by(|x, y| x.0.total_cmp(&y.0));
                let shaped: Vec<usize> = (0..ds.copies.len())
                    .filter(|&i| ds.copies[i].shapes.contains(&x))
                    .collect();
                let _ = writeln!(
                    s,
                    "  [{}] {} copies; {} missed pairs",
                    x.label(),
                    shaped.len(),
                    missed.len()
                );
                for &(c, a, b) in missed.iter().take(examples) {
                    let ca = &ds.copies[a];
                    let _ = writeln!(
                        s,
                        "    missed (containment {c:.2}; {}) {}/{} [{}] {}\n      gen:  {}\n      norm: {}\n      other [{}]: {}",
                        verdict(ds, norms, a, b),
                        ds.outlets[ca.outlet].id,
                        ds.stories[ca.story].id,
                        ca.body,
                        ca.shape_details.join("; "),
                        text_short(&ca.raw, 150),
                        text_short(&norms[a].text, 150),
                        ds.copies[b].body,
                        text_short(&norms[b].text, 110)
                    );
                }
                let mut by_lost = shaped.clone();
                by_lost.sort_by(|&i, &j| strips[j].lost.total_cmp(&strips[i].lost));
                for &i in by_lost.iter().take(examples.min(2)) {
                    if strips[i].lost <= 0.05 {
                        break;
                    }
                    let _ = writeln!(
                        s,
                        "    over-stripped {:.0}% [{}]\n      gen:  {}\n      norm: {}",
                        100.0 * strips[i].lost,
                        ds.copies[i].body,
                        text_short(&ds.copies[i].raw, 150),
                        text_short(&norms[i].text, 150)
                    );
                }
                let left_of = |i: usize| {
                    strips[i]
                        .left
                        .iter()
                        .filter(|(k, _, _)| *k == x.label())
                        .map(|(_, l, _)| *l)
                        .sum::<usize>()
                };
                let mut by_left = shaped.clone();
                by_left.sort_by_key(|&i| std::cmp::Reverse(left_of(i)));
                for &i in by_left.iter().take(1) {
                    if left_of(i) == 0 {
                        break;
                    }
                    let _ = writeln!(
                        s,
                        "    boilerplate left ({} chars of the {} piece)\n      gen:  {}\n      norm: {}",
                        left_of(i),
                        x.label(),
                        text_short(&ds.copies[i].raw, 150),
                        text_short(&norms[i].text, 150)
                    );
                }
            }
        }
        (s, summary)
    }
}

/// The summary over seeds (`--seeds`): recall over all true pairs and over
/// the recallable ones; the worst shape judged by the latter.
fn seeds_table(rows: &[SeedRow]) -> String {
    let mut s = String::from(
        "\n==== summary over seeds ====\n\
         recall: all pairs / recallable pairs (apart by the trust rule left out); worst rows judged by the recallable figure\n\
         seed | method                        | recall all / recallable | precision | worst shape (issue 20): all / recallable (pairs / recallable) | worst row of all: all / recallable (pairs / recallable)       | lost>5% | empty | fallback\n",
    );
    let show = |w: &Option<Worst>, n: usize| {
        w.as_ref().map_or("-".to_string(), |w| {
            short(
                &format!(
                    "{} {:.3} / {:.3} ({} / {})",
                    w.label, w.recall, w.recallable, w.pairs, w.recallable_pairs
                ),
                n,
            )
        })
    };
    for r in rows {
        let _ = writeln!(
            s,
            "{:>4} | {} | {:>6.4} / {:>14.4} | {:>9.4} | {} | {} | {:>7} | {:>5} | {:>8}",
            r.seed,
            pad(&short(&r.method, 29), 29),
            r.recall,
            r.recall_recallable,
            r.precision,
            pad(&show(&r.worst_shape, 62), 62),
            pad(&show(&r.worst_any, 62), 62),
            r.over_stripped,
            r.empty,
            r.fallback
        );
    }
    let mut methods: Vec<&str> = rows.iter().map(|r| r.method.as_str()).collect();
    methods.sort_unstable();
    methods.dedup();
    for m in methods {
        let of: Vec<&SeedRow> = rows.iter().filter(|r| r.method == m).collect();
        let recall = of.iter().map(|r| r.recall).fold(f64::INFINITY, f64::min);
        let recall_rec = of
            .iter()
            .map(|r| r.recall_recallable)
            .fold(f64::INFINITY, f64::min);
        let precision = of.iter().map(|r| r.precision).fold(f64::INFINITY, f64::min);
        let worst = of
            .iter()
            .filter_map(|r| r.worst_shape.as_ref().map(|w| (r.seed, w)))
            .min_by(|a, b| a.1.recallable.total_cmp(&b.1.recallable));
        let _ = writeln!(
            s,
            "worst over seeds, {m}: recall {recall:.4} (recallable pairs {recall_rec:.4}), precision {precision:.4}; worst shape {}",
            worst.map_or("-".to_string(), |(seed, w)| format!(
                "{} {:.3} over {} pairs, {:.3} over {} recallable (seed {seed})",
                w.label, w.recall, w.pairs, w.recallable, w.recallable_pairs
            ))
        );
    }
    s
}

// ---- --web: full text from article pages served on loopback --------------------

/// The two polls of `--web`: (name, table column, config).
const WEB_RUNS: [(&str, &str, &str); 2] = [
    (
        "newsriver, full text off",
        "full text off",
        "config-web-off.toml",
    ),
    (
        "newsriver, full text on",
        "full text on",
        "config-web-on.toml",
    ),
];

/// The topics of `--web` (slug, query): one that nearly every story is in
/// (`的`), and three by subject.
const WEB_TOPICS: &[(&str, &str)] = &[
    ("all", "的"),
    ("education", "教育 OR 学校 OR 学生"),
    ("economy", "经济 OR 企业 OR 市场 OR 消费"),
    ("cities", "北京 OR 上海 OR 广州 OR 深圳"),
];

/// `--web`: polls with full text off and on, and reports.
fn evaluate_web(
    args: &Args,
    dir: &Path,
    manifest: &Path,
    ds: &Dataset,
    server: &web::Server,
) -> Result<Vec<SeedRow>, String> {
    let bin = newsriver_binary(manifest)?;
    let mut methods: Vec<Method> = Vec::new();
    let mut served = Vec::new();
    for (name, column, config) in WEB_RUNS {
        server.reset();
        let (pred, info) = run_binary(&bin, &dir.join(config), ds)?;
        let stats = server.stats();
        let repeats = topic_repeats(&bin, &dir.join(config), ds, &pred, &info)?;
        if args.orders {
            // The same feeds and pages with the sources in other orders.
            let db = if column == "full text off" {
                "eval-web-off.db"
            } else {
                "eval-web-on.db"
            };
            for (order, _, file) in order_configs(dir, args.seed, (config, db))? {
                let (other, _) = run_binary(&bin, &dir.join(&file), ds)?;
                let (only_forward, only_other) = partition_differences(&pred, &other);
                println!(
                    "{name}, order {order}: {} stories (forward {}); clusters only in forward {only_forward}, only in {order} {only_other}",
                    story_count(&other),
                    story_count(&pred)
                );
            }
        }
        served.push((name, stats, repeats));
        methods.push(Method {
            name: name.to_string(),
            column,
            pred,
            info: Some(info),
        });
    }
    let norms = ds.read_back(dir)?;
    methods.push(Method {
        name: "exact content hash".into(),
        column: "exact hash",
        pred: group_by(&norms, |n| n.hash.clone()),
        info: None,
    });
    let eval = Evaluation::new(ds);
    let outcomes: Vec<Outcome> = methods
        .iter()
        .map(|m| eval.score(m, args.examples))
        .collect();
    print!("{}", eval.report(&methods, &outcomes, &norms));
    print!("{}", eval.by_pair_type(&methods));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\ntopic feeds (render --format json): entries, and those that repeat a story already shown"
    );
    for (name, _, repeats) in &served {
        let (n, r): (usize, usize) = repeats
            .iter()
            .fold((0, 0), |(n, r), (_, e, x)| (n + e, r + x));
        let per: Vec<String> = repeats
            .iter()
            .map(|(slug, e, x)| format!("{slug} {x}/{e}"))
            .collect();
        let _ = writeln!(
            s,
            "  {name}: {r} of {n} entries repeat a story = {:.2}% ({})",
            100.0 * ratio(r, n),
            per.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "\nthe server (one loopback address per outlet; article pages answered after {} ms)",
        args.page_delay_ms
    );
    for (name, stats, _) in &served {
        let _ = writeln!(s, "  {name}: {}", stats.describe());
    }
    print!("{s}");
    let (text, rows) = eval.shape_report(&methods, &outcomes, &norms, args.shape_examples);
    print!("{text}");
    Ok(rows)
}

/// Entries of each topic feed as `render` writes it (JSON Feed, every
/// entry), and how many of them show a wire story already shown in that
/// feed: (slug, entries, repeats). A stored story stands for the wire
/// story most of its copies are of.
fn topic_repeats(
    bin: &Path,
    config: &Path,
    ds: &Dataset,
    pred: &[usize],
    info: &RunInfo,
) -> Result<Vec<(String, usize, usize)>, String> {
    let mut votes: HashMap<usize, BTreeMap<usize, usize>> = HashMap::new();
    for (i, &p) in pred.iter().enumerate() {
        *votes
            .entry(p)
            .or_default()
            .entry(ds.copies[i].story)
            .or_default() += 1;
    }
    let truth_of: HashMap<usize, usize> = votes
        .into_iter()
        .filter_map(|(p, v)| {
            v.into_iter()
                .max_by_key(|&(story, n)| (n, std::cmp::Reverse(story)))
                .map(|(story, _)| (p, story))
        })
        .collect();
    let mut out = Vec::new();
    for (slug, _) in WEB_TOPICS {
        let by_entry: HashMap<String, usize> = info
            .story_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (newsriver::publish::topic_entry_id(slug, id), i))
            .collect();
        let r = Command::new(bin)
            .arg("--config")
            .arg(config)
            .args(["render", slug, "--format", "json", "--limit", "1000000"])
            .env_remove("RUST_LOG")
            .output()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        if !r.status.success() {
            return Err(format!(
                "render {slug} failed: {}",
                String::from_utf8_lossy(&r.stderr)
            ));
        }
        let feed: serde_json::Value =
            serde_json::from_slice(&r.stdout).map_err(|e| format!("render {slug}: {e}"))?;
        let (mut entries, mut repeats) = (0, 0);
        let mut seen = HashSet::new();
        for item in feed["items"].as_array().into_iter().flatten() {
            entries += 1;
            let truth = item["id"]
                .as_str()
                .and_then(|id| by_entry.get(id))
                .and_then(|i| truth_of.get(i));
            match truth {
                Some(&t) if !seen.insert(t) => repeats += 1,
                Some(_) => {}
                None => return Err(format!("render {slug}: an entry not in the export")),
            }
        }
        out.push((slug.to_string(), entries, repeats));
    }
    Ok(out)
}

/// The pair types of issue 14's table a pair of copies belongs to (a pair
/// may be in several): by what the two outlets' feeds carry.
fn pair_types(ds: &Dataset, a: usize, b: usize) -> Vec<&'static str> {
    let (ca, cb) = (&ds.copies[a], &ds.copies[b]);
    let summary = |c: &StoryCopy| c.body.starts_with("summary");
    let either = |p: &str| ca.body.starts_with(p) || cb.body.starts_with(p);
    let script = |c: &StoryCopy| ds.outlets[c.outlet].traditional;
    let mut v = vec![PAIR_TYPES[0]];
    v.push(match (summary(ca), summary(cb)) {
        (false, false) => PAIR_TYPES[1],
        (true, true) => PAIR_TYPES[3],
        _ => PAIR_TYPES[2],
    });
    if either("summary 50-99") {
        v.push(PAIR_TYPES[4]);
    }
    if either("summary 100-200") {
        v.push(PAIR_TYPES[5]);
    }
    if either("summary 300") {
        v.push(PAIR_TYPES[6]);
    }
    if script(ca) != script(cb) {
        v.push(PAIR_TYPES[7]);
    }
    v
}

const PAIR_TYPES: [&str; 8] = [
    "all pairs",
    "full – full",
    "full – summary",
    "summary – summary",
    "a side 50–99 chars",
    "a side 100–200 chars",
    "a side ~300 chars",
    "traditional – simplified",
];

impl Evaluation<'_> {
    /// Precision and recall by pair type: recall over the true pairs of a
    /// type, precision over the predicted pairs of that type.
    fn by_pair_type(&self, methods: &[Method]) -> String {
        let ds = self.ds;
        let mut truth: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &self.pairs {
            for t in pair_types(ds, p.a, p.b) {
                *truth.entry(t).or_default() += 1;
            }
        }
        let col = 22;
        let cw = 26;
        let names: String = methods
            .iter()
            .map(|m| format!(" | {:>col$}", m.column))
            .collect();
        let mut s = format!(
            "\nprecision (false pairs) / recall (missed pairs) by pair type\n{} | {:>6}{names}\n{}\n",
            pad("pair type", cw),
            "pairs",
            "-".repeat(cw + 9 + methods.len() * (col + 3))
        );
        let cells: Vec<BTreeMap<&str, (usize, usize, usize)>> = methods
            .iter()
            .map(|m| {
                // type → (predicted, correct, true pairs found)
                let mut c: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
                let mut clusters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
                for (i, &p) in m.pred.iter().enumerate() {
                    clusters.entry(p).or_default().push(i);
                }
                for members in clusters.values() {
                    for (x, &a) in members.iter().enumerate() {
                        for &b in &members[x + 1..] {
                            let ok = ds.copies[a].story == ds.copies[b].story;
                            for t in pair_types(ds, a, b) {
                                let e = c.entry(t).or_default();
                                e.0 += 1;
                                if ok {
                                    e.1 += 1;
                                }
                            }
                        }
                    }
                }
                for p in &self.pairs {
                    if m.pred[p.a] == m.pred[p.b] {
                        for t in pair_types(ds, p.a, p.b) {
                            c.entry(t).or_default().2 += 1;
                        }
                    }
                }
                c
            })
            .collect();
        for t in PAIR_TYPES {
            let n = truth.get(t).copied().unwrap_or(0);
            let row: String = cells
                .iter()
                .map(|c| {
                    let (pred, ok, found) = c.get(t).copied().unwrap_or_default();
                    let cell = format!(
                        "{:.4} ({}) / {:.4} ({})",
                        if pred == 0 { 1.0 } else { ratio(ok, pred) },
                        pred - ok,
                        ratio(found, n),
                        n - found
                    );
                    format!(" | {cell:>col$}")
                })
                .collect();
            let _ = writeln!(s, "{} | {n:>6}{row}", pad(t, cw));
        }
        s
    }
}

/// The loopback server of `--web`: one listener per outlet on
/// 127.0.0.2, 127.0.0.3, … (distinct hosts for newsriver's per-host
/// limit), one port, hyper's HTTP/1.1; it counts, per host, connections
/// open at once and requests in flight at once.
mod web {
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, SocketAddr};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, RwLock};
    use std::time::Duration;

    use bytes::Bytes;

    /// (outlet, path) → (body, Content-Type).
    pub type Files = HashMap<(usize, String), (Bytes, &'static str)>;

    #[derive(Default)]
    struct Host {
        open: AtomicUsize,
        max_open: AtomicUsize,
        connections: AtomicUsize,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
        feeds: AtomicUsize,
        pages: AtomicUsize,
        missing: AtomicUsize,
        bytes: AtomicU64,
    }

    struct State {
        files: RwLock<Files>,
        hosts: Vec<Host>,
        page_delay: Duration,
    }

    pub struct Server {
        port: u16,
        state: Arc<State>,
        _runtime: tokio::runtime::Runtime,
    }

    fn address(o: usize) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, 0, (o + 2) as u8)
    }

    /// What the server saw during one poll.
    pub struct Stats {
        feeds: usize,
        pages: usize,
        missing: usize,
        bytes: u64,
        connections: usize,
        max_open: usize,
        max_in_flight: usize,
    }

    impl Stats {
        pub fn describe(&self) -> String {
            format!(
                "{} feed and {} page requests ({} unknown paths), {:.1} MiB sent; {} connections; \
                 per host at most {} connections open and {} requests in flight at once",
                self.feeds,
                self.pages,
                self.missing,
                self.bytes as f64 / (1u64 << 20) as f64,
                self.connections,
                self.max_open,
                self.max_in_flight
            )
        }
    }

    impl Server {
        /// Listens on 127.0.0.2..=127.0.0.(hosts+1), one port for all.
        pub fn start(hosts: usize, page_delay_ms: u64) -> Result<Server, String> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| format!("tokio: {e}"))?;
            let mut last = String::new();
            for _ in 0..20 {
                let first = match std::net::TcpListener::bind(SocketAddr::from((address(0), 0))) {
                    Ok(l) => l,
                    Err(e) => return Err(format!("binding {}: {e}", address(0))),
                };
                let port = first.local_addr().map_err(|e| e.to_string())?.port();
                let mut listeners = vec![first];
                for o in 1..hosts {
                    match std::net::TcpListener::bind(SocketAddr::from((address(o), port))) {
                        Ok(l) => listeners.push(l),
                        Err(e) => {
                            last = format!("binding {}:{port}: {e}", address(o));
                            break;
                        }
                    }
                }
                if listeners.len() < hosts {
                    continue;
                }
                let state = Arc::new(State {
                    files: RwLock::new(Files::new()),
                    hosts: (0..hosts).map(|_| Host::default()).collect(),
                    page_delay: Duration::from_millis(page_delay_ms),
                });
                for (h, l) in listeners.into_iter().enumerate() {
                    l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    let state = state.clone();
                    runtime.spawn(async move {
                        let Ok(l) = tokio::net::TcpListener::from_std(l) else {
                            return;
                        };
                        loop {
                            if let Ok((stream, _)) = l.accept().await {
                                tokio::spawn(connection(stream, h, state.clone()));
                            }
                        }
                    });
                }
                return Ok(Server {
                    port,
                    state,
                    _runtime: runtime,
                });
            }
            Err(last)
        }

        /// Each of `outlets` outlets' site: `http://127.0.0.K:PORT`, the
        /// outlets spread over the server's addresses in turn.
        pub fn sites(&self, outlets: usize) -> Vec<String> {
            (0..outlets)
                .map(|o| {
                    let h = o % self.state.hosts.len();
                    format!("http://{}:{}", address(h), self.port)
                })
                .collect()
        }

        /// What to serve, by (outlet, path).
        pub fn load(&self, files: Files) {
            let hosts = self.state.hosts.len();
            let files = files
                .into_iter()
                .map(|((o, path), v)| ((o % hosts, path), v))
                .collect();
            if let Ok(mut f) = self.state.files.write() {
                *f = files;
            }
        }

        /// Counters back to zero (between polls).
        pub fn reset(&self) {
            for h in &self.state.hosts {
                for a in [
                    &h.max_open,
                    &h.connections,
                    &h.max_in_flight,
                    &h.feeds,
                    &h.pages,
                    &h.missing,
                ] {
                    a.store(0, Ordering::SeqCst);
                }
                h.bytes.store(0, Ordering::SeqCst);
            }
        }

        pub fn stats(&self) -> Stats {
            let sum = |f: fn(&Host) -> &AtomicUsize| -> usize {
                self.state
                    .hosts
                    .iter()
                    .map(|h| f(h).load(Ordering::SeqCst))
                    .sum()
            };
            let max = |f: fn(&Host) -> &AtomicUsize| -> usize {
                self.state
                    .hosts
                    .iter()
                    .map(|h| f(h).load(Ordering::SeqCst))
                    .max()
                    .unwrap_or(0)
            };
            Stats {
                feeds: sum(|h| &h.feeds),
                pages: sum(|h| &h.pages),
                missing: sum(|h| &h.missing),
                bytes: self
                    .state
                    .hosts
                    .iter()
                    .map(|h| h.bytes.load(Ordering::SeqCst))
                    .sum(),
                connections: sum(|h| &h.connections),
                max_open: max(|h| &h.max_open),
                max_in_flight: max(|h| &h.max_in_flight),
            }
        }
    }

    async fn connection(stream: tokio::net::TcpStream, h: usize, state: Arc<State>) {
        let host = &state.hosts[h];
        host.connections.fetch_add(1, Ordering::SeqCst);
        let open = host.open.fetch_add(1, Ordering::SeqCst) + 1;
        host.max_open.fetch_max(open, Ordering::SeqCst);
        let service = {
            let state = state.clone();
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let state = state.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(respond(&state, h, req.uri().path()).await)
                }
            })
        };
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
            .await;
        host.open.fetch_sub(1, Ordering::SeqCst);
    }

    async fn respond(state: &State, h: usize, path: &str) -> hyper::Response<axum::body::Body> {
        let host = &state.hosts[h];
        let now = host.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        host.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let found = state
            .files
            .read()
            .ok()
            .and_then(|f| f.get(&(h, path.to_string())).cloned());
        let feed = path.starts_with("/feeds/");
        if !feed {
            tokio::time::sleep(state.page_delay).await;
        }
        let response = match found {
            Some((bytes, content_type)) => {
                if feed {
                    host.feeds.fetch_add(1, Ordering::SeqCst);
                } else {
                    host.pages.fetch_add(1, Ordering::SeqCst);
                }
                host.bytes.fetch_add(bytes.len() as u64, Ordering::SeqCst);
                hyper::Response::builder()
                    .header("content-type", content_type)
                    .body(axum::body::Body::from(bytes))
            }
            None => {
                host.missing.fetch_add(1, Ordering::SeqCst);
                hyper::Response::builder()
                    .status(404)
                    .body(axum::body::Body::empty())
            }
        };
        host.in_flight.fetch_sub(1, Ordering::SeqCst);
        response.unwrap_or_else(|_| hyper::Response::new(axum::body::Body::empty()))
    }
}
