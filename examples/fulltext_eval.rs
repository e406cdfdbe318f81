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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The chrome of a page: strings that must not survive extraction.
struct Chrome {
    nav: &'static str,
    related_heading: &'static str,
    hot_heading: &'static str,
    share: &'static str,
    comment: &'static str,
    footer: &'static str,
}

const CHROMES: [Chrome; 3] = [
    Chrome {
        nav: "首页 | 滚动 | 国内 | 国际 | 社会 | 财经 | 体育 | 视频",
        related_heading: "相关推荐",
        hot_heading: "热门推荐",
        share: "分享到：微信 微博 QQ空间",
        comment: "网友评论：这篇报道写得很好，支持一下！",
        footer: "京ICP备05004340号-1 | 版权所有 未经授权禁止转载",
    },
    Chrome {
        nav: "新闻中心 体育 娱乐 财经 科技 博客 视频 邮箱",
        related_heading: "相关新闻",
        hot_heading: "24小时热门排行",
        share: "转发 收藏 打印 关闭窗口",
        comment: "我要评论 已有2381位网友参与 热评：说得太对了",
        footer: "Copyright © 1996-2026 新浪公司 版权所有 京ICP证000007",
    },
    Chrome {
        nav: "要闻 时事 财经 思想 生活 澎湃号",
        related_heading: "猜你喜欢",
        hot_heading: "热门评论",
        share: "扫码下载客户端 分享至朋友圈",
        comment: "评论（128） 最热 最新 匿名用户：期待后续报道",
        footer: "沪ICP备14003370号 沪公网安备31010602000299号 增值电信业务经营许可证",
    },
];

/// A page in template `t` for `a`, with `others` as the related titles.
fn page(t: usize, a: &Article, others: &[&str], rng: &mut Rng) -> (Vec<u8>, &'static str) {
    let c = &CHROMES[t];
    let body: String = a
        .paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>\n", esc(p)))
        .collect();
    let story = rng.below(100_000);
    let list = |heading: &str| -> String {
        let items: String = others
            .iter()
            .enumerate()
            .map(|(k, o)| format!("<li><a href=\"/n/{}.shtml\">{}</a></li>", story + k, esc(o)))
            .collect();
        format!("<div class=\"list\"><h3>{heading}</h3><ul>{items}</ul></div>")
    };
    let editor = ["责任编辑：张明", "（编辑：李华）", "责编：王强"][rng.below(3)];
    let date = format!(
        "2026年10月{:02}日 {:02}:{:02}",
        1 + rng.below(28),
        rng.below(24),
        rng.below(60)
    );
    let title = esc(&a.title);
    let (nav, share, comment, footer) = (c.nav, c.share, c.comment, c.footer);
    let (related, hot) = (list(c.related_heading), list(c.hot_heading));
    match t {
        0 => {
            let html = format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}-中新网</title></head><body>\
                 <div class=\"nav\"><a href=\"/\">{nav}</a></div>\
                 <div class=\"crumb\">您当前的位置：首页 &gt; 社会 &gt; 正文</div>\
                 <div class=\"content\"><h1>{title}</h1><div class=\"info\">{date} 来源：中国新闻网</div>\
                 <div class=\"left_zw\">{body}<p>{editor}</p></div>\
                 <div class=\"share\">{share}</div></div>{related}{hot}\
                 <div class=\"comment\">{comment}</div><div class=\"footer\">{footer}</div></body></html>",
            );
            (html.into_bytes(), "text/html; charset=utf-8")
        }
        1 => {
            let html = format!(
                "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">\
                 <title>{title}_新浪新闻</title></head><body>\
                 <div id=\"top\">{nav}</div><table width=\"100%\"><tr><td class=\"main\">\
                 <h1 id=\"artibodyTitle\">{title}</h1><span class=\"date\">{date}</span>\
                 <div id=\"artibody\">{body}<p class=\"editor\">{editor}</p></div>\
                 <div class=\"tools\">{share}</div>{related}</td>\
                 <td class=\"side\">{hot}</td></tr></table>\
                 <div id=\"comment\">{comment}</div><div id=\"footer\">{footer}</div></body></html>",
            );
            let (bytes, _, _) = encoding_rs::GBK.encode(&html);
            (bytes.into_owned(), "text/html")
        }
        _ => {
            let html = format!(
                "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\
                 <header><nav>{nav}</nav></header><main><article><h1>{title}</h1>\
                 <div class=\"meta\">澎湃新闻记者 {date}</div>{body}<footer class=\"byline\">{editor}</footer></article>\
                 <aside>{related}{hot}</aside><section class=\"comments\">{comment}</section>\
                 <div class=\"share\">{share}</div></main><footer>{footer}</footer></body></html>",
            );
            (html.into_bytes(), "text/html; charset=utf-8")
        }
    }
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
    let names = [
        "portal (utf-8)",
        "portal (GBK, http-equiv)",
        "article/aside",
    ];
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
