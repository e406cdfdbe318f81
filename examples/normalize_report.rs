//! Prints what normalization removes from each article of a JSON Lines file
//! (`{"title","content"}` a line), to review the boilerplate rules by eye:
//! `cargo run --release --example normalize_report -- ../shared/news-zh/articles.jsonl`.

use newsriver::model::ParsedItem;
use newsriver::normalize::Normalizer;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: normalize_report FILE.jsonl");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    let n = Normalizer::default();
    let (mut articles, mut touched, mut before, mut after) = (0, 0, 0usize, 0usize);
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let item = ParsedItem {
            title: v["title"].as_str().map(str::to_string),
            content_html: v["content"].as_str().map(str::to_string),
            ..Default::default()
        };
        let out = n.normalize_explained(&item);
        articles += 1;
        before += item.content_html.as_deref().unwrap_or("").chars().count();
        after += out.text.chars().count();
        if !out.removed.is_empty() {
            touched += 1;
            println!("{} | {}", out.title, out.removed.join(" ; "));
        }
    }
    println!(
        "{articles} articles, {touched} with boilerplate removed; {before} chars in, {after} chars out"
    );
}
