//! The hand-written case file of text shapes (`tests/cases/text_shapes.toml`,
//! issue 20): each copy normalized by the library's `Normalizer`, then
//! checked for what it keeps and drops, and judged against its article's
//! full text by the same `dedupe` functions the store uses (index keys
//! first: the store judges only the stories whose keys a copy shares).
//! The generated evaluation of the same shapes is `examples/dedupe_eval.rs`.

use crate::common::{parsed_item as item, store_would_merge};
use newsriver::normalize::{Normalizer, fold, simplified};
use newsriver::script;
use newsriver::wording::Script;
use serde::Deserialize;

#[derive(Deserialize)]
struct Cases {
    article: Vec<Article>,
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Article {
    id: String,
    title: String,
    text: String,
}

#[derive(Deserialize)]
struct Case {
    shape: String,
    article: String,
    title: String,
    body: String,
    #[serde(default)]
    starts: Option<String>,
    #[serde(default)]
    keeps: Vec<String>,
    #[serde(default)]
    drops: Vec<String>,
    #[serde(default = "yes")]
    same: bool,
    #[serde(default)]
    traditional: bool,
    #[serde(default = "yes")]
    judge: bool,
}

fn yes() -> bool {
    true
}

/// Letters and digits in Simplified script: how the checks compare.
fn key(s: &str) -> String {
    simplified(&fold(&s.to_lowercase())).into_owned()
}

fn cases() -> Cases {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/text_shapes.toml");
    let raw = std::fs::read_to_string(path).expect("the case file is in the repository");
    toml::from_str(&raw).expect("the case file parses")
}

#[test]
fn every_hand_written_shape_keeps_the_article_and_lands_in_its_story() {
    let cases = cases();
    let n = Normalizer::default();
    let mut failures = Vec::new();
    for case in &cases.case {
        let article = cases
            .article
            .iter()
            .find(|a| a.id == case.article)
            .unwrap_or_else(|| panic!("{}: no article {:?}", case.shape, case.article));
        let full: String = article
            .text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| format!("<p>{l}</p>"))
            .collect();
        let full = n.normalize(&item(&article.title, &full));
        let body = if case.traditional {
            script::convert_html(&case.body, Script::Traditional)
        } else {
            case.body.clone()
        };
        let copy = n.normalize_explained(&item(&case.title, &body));
        let mut fail = |what: String| {
            failures.push(format!(
                "{}: {what}\n    text: {:?}\n    removed: {:?}",
                case.shape, copy.text, copy.removed
            ))
        };
        let text = key(&copy.text);
        if text.is_empty() {
            fail("empty text".into());
            continue;
        }
        let starts = case
            .starts
            .as_deref()
            .map(key)
            .unwrap_or_else(|| key(&article.text).chars().take(12).collect());
        if !text.starts_with(&starts) {
            fail(format!("does not start with {starts:?}"));
        }
        for k in &case.keeps {
            if !text.contains(&key(k)) {
                fail(format!("lost {k:?}"));
            }
        }
        for d in &case.drops {
            if text.contains(&key(d)) {
                fail(format!("kept {d:?}"));
            }
        }
        let (merged, why) = store_would_merge(&copy.text, &full.text, 0);
        if !case.judge {
            continue;
        }
        if case.same && !merged {
            fail(format!("not the article's story: {why}"));
        }
        if !case.same && merged {
            fail(format!("merged with the article: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.case.len(),
        failures.join("\n")
    );
}
