//! `topics list`, `topics preview`, and finding a topic by its slug.

use std::fmt::Write as _;

use super::{AdminError, cell, escape_line, width};
use crate::config::{Config, Topic};
use crate::query::Query;
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

/// `topics preview`: the newest stored stories a topic holds (its query,
/// and its tags as the store applies them: `pipeline::preview`), or a query
/// being drafted (`--query`, no tags) matches, with the terms each contains.
pub fn topics_preview(
    config: &Config,
    store: &Reader,
    slug: Option<&str>,
    query: Option<&str>,
    limit: usize,
) -> Result<String, AdminError> {
    use crate::pipeline::{PreviewError, PreviewOf};
    // The query parses, or the topic exists (else an error naming the
    // topics there are).
    preview_query(config, slug, query)?;
    let of = match (query, slug) {
        (Some(q), _) => PreviewOf::Query(q),
        (None, Some(slug)) => PreviewOf::Topic(slug),
        (None, None) => return Err(AdminError::Refused("give a topic slug or --query".into())),
    };
    let preview =
        crate::pipeline::preview(store, config, of, PREVIEW_SCAN, limit).map_err(|e| match e {
            PreviewError::Store(e) => AdminError::Store(e),
            other => AdminError::Refused(other.to_string()),
        })?;
    let mut out = String::new();
    for p in &preview.stories {
        let story = &p.story;
        let _ = writeln!(
            out,
            "{}  {}  {}  [{}]",
            &story.id[..12.min(story.id.len())],
            config.display.time(story.published),
            escape_line(&story.title),
            p.terms.join(", ")
        );
    }
    let tags = if preview.tags.is_empty() {
        String::new()
    } else {
        format!(
            "; only stories from sources tagged {}",
            escape_line(&preview.tags.join(" or "))
        )
    };
    let _ = writeln!(
        out,
        "{} shown (of the {} newest stories scanned{tags})",
        preview.stories.len(),
        preview.scanned
    );
    Ok(out)
}

/// Stories `topics preview` looks through, newest first.
const PREVIEW_SCAN: usize = 20_000;
