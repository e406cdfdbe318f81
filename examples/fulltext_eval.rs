//! Extraction quality of full-text fetching (issue 14), on pages with known
//! ground truth:
//!
//! ```sh
//! cargo run --release --example fulltext_eval -- [--articles N] [--seed S]
//! ```
//!
//! Real articles from `../shared/news-zh/articles.jsonl` are dressed in three
//! house templates modelled on Chinese news sites — a portal with navigation,
//! breadcrumbs, a date/source line, share bar, 责任编辑 line, 相关推荐 and
//! 热门 lists, readers' comments and an ICP footer; the same shape in GBK
//! declared by `http-equiv`; and an `article`/`aside` layout with 猜你喜欢
//! and a comment section — then decoded (`fulltext::decode_page`),
//! extracted (`fulltext::extract`), cleaned (`Normalizer::clean_html`) and
//! read as text, exactly as a poll does. Per template it reports the
//! character-bigram F1 of the extracted text against the article body
//! (NFKC'd, whitespace removed on both sides), the pages under 0.95, and the
//! pages where any boilerplate survived (a string of the template's chrome
//! found in the extracted text). Everything is a function of `--seed`.

use std::collections::HashMap;
use std::path::PathBuf;

use newsriver::fulltext;
use newsriver::normalize::{Normalizer, html_to_lines};
use url::Url;

struct Args {
    articles: usize,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args {
        articles: 300,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().and_then(|v| v.parse::<u64>().ok());
        match (k.as_str(), v) {
            ("--articles", Some(v)) => a.articles = v as usize,
            ("--seed", Some(v)) => a.seed = v,
            _ => {
                eprintln!("usage: fulltext_eval [--articles N] [--seed S]");
                std::process::exit(2);
            }
        }
    }
    a
}

/// SplitMix64: the same pages for the same seed, no `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Article {
    title: String,
    paragraphs: Vec<String>,
}

fn load() -> Vec<Article> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/news-zh/articles.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("needs {} (../shared)", path.display());
        std::process::exit(2);
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let title = v["title"].as_str()?.trim().to_string();
            let paragraphs: Vec<String> = v["content"]
                .as_str()?
                .lines()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            (!title.is_empty()
                && paragraphs.iter().map(|p| p.chars().count()).sum::<usize>() >= 200)
                .then_some(Article { title, paragraphs })
        })
        .collect()
}

#[path = "support/pages.rs"]
mod pages;

use pages::{CHROMES, esc};

/// A page in template `t` for `a`, with `others` as the related titles.
fn page(t: usize, a: &Article, others: &[&str], rng: &mut Rng) -> (Vec<u8>, &'static str) {
    let story = rng.below(100_000);
    let editor = ["责任编辑：张明", "（编辑：李华）", "责编：王强"][rng.below(3)];
    let date = format!(
        "2026年10月{:02}日 {:02}:{:02}",
        1 + rng.below(28),
        rng.below(24),
        rng.below(60)
    );
    let dressing = pages::Dressing {
        others,
        story,
        date: &date,
        editor,
    };
    pages::encode(t, pages::html(t, &a.title, &a.paragraphs, &dressing))
}

/// Character bigrams of `s` without whitespace, as a multiset.
fn bigrams(s: &str) -> HashMap<(char, char), usize> {
    let chars: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    let mut m = HashMap::new();
    for w in chars.windows(2) {
        *m.entry((w[0], w[1])).or_insert(0) += 1;
    }
    m
}

fn f1(got: &str, want: &str) -> f64 {
    let (g, w) = (bigrams(got), bigrams(want));
    let shared: usize = g
        .iter()
        .map(|(k, n)| (*n).min(w.get(k).copied().unwrap_or(0)))
        .sum();
    let (ng, nw): (usize, usize) = (g.values().sum(), w.values().sum());
    if shared == 0 || ng == 0 || nw == 0 {
        return 0.0;
    }
    let (p, r) = (shared as f64 / ng as f64, shared as f64 / nw as f64);
    2.0 * p * r / (p + r)
}

fn main() {
    let args = args();
    let articles = load();
    let mut rng = Rng(args.seed);
    let normalizer = Normalizer::default();
    let site = Url::parse("https://news.example.cn/").expect("a URL");
    let names = pages::NAMES;
    println!(
        "full-text extraction, {} articles × 3 templates, seed {}",
        args.articles.min(articles.len()),
        args.seed
    );
    println!(
        "template                  | pages | mean F1 | min F1 | F1 < 0.95 | boilerplate left | no article"
    );
    println!(
        "--------------------------|-------|---------|--------|-----------|------------------|-----------"
    );
    for (t, name) in names.iter().enumerate() {
        let (mut sum, mut min, mut low, mut dirty, mut missing, mut n) = (0.0, 1.0f64, 0, 0, 0, 0);
        let mut worst: Option<(f64, String)> = None;
        for i in 0..args.articles.min(articles.len()) {
            let a = &articles[i];
            let others: Vec<&str> = (0..6)
                .map(|_| articles[rng.below(articles.len())].title.as_str())
                .collect();
            let (bytes, content_type) = page(t, a, &others, &mut rng);
            let url = Url::parse(&format!("https://news.example.cn/{t}/{i}.shtml")).expect("a URL");
            let html = fulltext::decode_page(&bytes, Some(content_type), url.host_str());
            n += 1;
            let got = match fulltext::extract(&html, &url, &site, None) {
                Ok(article) => html_to_lines(&normalizer.clean_html(&article)).join("\n"),
                Err(_) => {
                    missing += 1;
                    String::new()
                }
            };
            // The body as a poll keeps it: the same cleaner on the article's
            // own paragraphs (an article that lists "相关新闻" inside its
            // text loses what follows either way), so the score measures
            // the extraction alone.
            let body: String = a
                .paragraphs
                .iter()
                .map(|p| format!("<p>{}</p>", esc(p)))
                .collect();
            let want = html_to_lines(&normalizer.clean_html(&body)).join("\n");
            let score = f1(&got, &want);
            sum += score;
            min = min.min(score);
            if score < 0.95 {
                low += 1;
            }
            let c = &CHROMES[t];
            let chrome = [
                c.nav,
                c.share,
                c.comment,
                c.footer,
                c.related_heading,
                c.hot_heading,
            ];
            let nfkc = |s: &str| html_to_lines(&esc(s)).join("");
            let left: Vec<String> = chrome
                .iter()
                .map(|s| nfkc(s))
                .chain(others.iter().map(|o| nfkc(o)))
                .filter(|s| {
                    s.chars().count() >= 4 && got.contains(s.as_str()) && !want.contains(s.as_str())
                })
                .collect();
            if !left.is_empty() {
                dirty += 1;
                if dirty == 1 {
                    eprintln!("  {name}: boilerplate left, e.g. {:?}", left[0]);
                }
            }
            if worst.as_ref().is_none_or(|(w, _)| score < *w) {
                worst = Some((score, got.chars().take(120).collect()));
            }
        }
        println!(
            "{:<25} | {:>5} | {:>7.4} | {:>6.4} | {:>9} | {:>16} | {:>10}",
            name,
            n,
            sum / n.max(1) as f64,
            min,
            low,
            dirty,
            missing
        );
        if let Some((score, text)) = worst {
            eprintln!("  {name}: worst page F1 {score:.4}, begins {text:?}");
        }
    }
}
