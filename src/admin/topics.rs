//! `topics list`, `topics preview`, and finding a topic by its slug.

use std::fmt::Write as _;

use super::{AdminError, cell, escape_line, when, width};
use crate::config::{Config, Topic};
use crate::query::{Query, normalize_term};
use crate::store::Reader;

/// The configured topic `slug`, or an error naming the ones there are.
pub fn topic<'a>(config: &'a Config, slug: &str) -> Result<&'a Topic, AdminError> {
    config
        .topics
        .iter()
        .find(|t| t.slug == slug)
        .ok_or_else(|| {
            let known: Vec<_> = config.topics.iter().map(|t| t.slug.as_str()).collect();
            AdminError::Unknown(format!(
                "no topic {slug:?} in {} (topics: {})",
                config.path.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
}

/// `topics preview`'s query: the one given (`--query`), else the topic's.
pub fn preview_query(
    config: &Config,
    slug: Option<&str>,
    query: Option<&str>,
) -> Result<Query, AdminError> {
    match (slug, query) {
        (_, Some(q)) => {
            Query::parse(q).map_err(|e| AdminError::Refused(format!("query {q:?}: {e}")))
        }
        (Some(slug), None) => topic(config, slug).map(|t| t.parsed.clone()),
        (None, None) => Err(AdminError::Refused(
            "give a topic slug or --query".to_string(),
        )),
    }
}

/// `topics list`: a table, columns padded by display width.
pub fn topics_list(config: &Config, store: &Reader) -> Result<String, AdminError> {
    let counts = store.topic_counts()?;
    let slug_width = config
        .topics
        .iter()
        .map(|t| width(&t.slug))
        .chain([4])
        .max()
        .unwrap_or(4);
    let title_width = config
        .topics
        .iter()
        .map(|t| width(&t.title))
        .chain([5])
        .max()
        .unwrap_or(5)
        .min(40);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  {:>7}  QUERY",
        cell("SLUG", slug_width),
        cell("TITLE", title_width),
        "STORIES"
    );
    for t in &config.topics {
        let _ = writeln!(
            out,
            "{}  {}  {:>7}  {}{}",
            cell(&t.slug, slug_width),
            cell(&t.title, title_width),
            counts.get(&t.slug).copied().unwrap_or(0),
            escape_line(&t.query),
            if t.tags.is_empty() {
                String::new()
            } else {
                format!("  tags: {}", escape_line(&t.tags.join(", ")))
            }
        );
    }
    Ok(out)
}

/// `topics preview`: the newest stored stories a query matches, with the
/// terms each contains (tags are not applied to a draft query).
pub fn topics_preview(store: &Reader, query: &Query, limit: usize) -> Result<String, AdminError> {
    let mut out = String::new();
    let mut shown = 0;
    let mut scanned = 0;
    for story in store.newest_stories(20_000)? {
        scanned += 1;
        let t = normalize_term(&story.title);
        let text = crate::query::match_text(&story.text);
        if !query.matches(&t, &text) {
            continue;
        }
        let mut terms = Vec::new();
        query.matched_terms(&t, &text, &mut terms);
        let _ = writeln!(
            out,
            "{}  {}  {}  [{}]",
            &story.id[..12.min(story.id.len())],
            when(Some(story.published)),
            escape_line(&story.title),
            terms.join(", ")
        );
        shown += 1;
        if shown >= limit {
            break;
        }
    }
    let _ = writeln!(
        out,
        "{shown} shown (of the {scanned} newest stories scanned)"
    );
    Ok(out)
}
