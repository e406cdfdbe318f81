//! Topics tried on stored stories, read-only: `topics preview` (what a
//! topic, or a query being drafted, would hold) and `check`'s warning for a
//! topic that matches none of the newest stories. Membership is decided by
//! `topics::Matcher`, the rule the store applies: the query, and a topic's
//! tags against the tags of the sources (as configured now) that carried a
//! copy of the story.

use std::collections::HashMap;

use crate::config::Config;
use crate::store::{Reader, StoreError, StoryText};
use crate::topics::{Matcher, Topics};

/// What `topics preview` tries.
#[derive(Clone, Copy, Debug)]
pub enum PreviewOf<'a> {
    /// A configured topic, by slug: its query and its tags.
    Topic(&'a str),
    /// A query being drafted: no tags (it belongs to no topic yet).
    Query(&'a str),
}

/// Why `preview` could not try it.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("no topic {0:?}")]
    NoTopic(String),
    #[error("query {query:?}: {message}")]
    Query { query: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A story a topic (or a draft query) matches, and the terms it contains.
pub struct Previewed {
    pub story: StoryText,
    pub terms: Vec<String>,
}

/// What `preview` found.
pub struct Preview {
    /// The newest matching stories, newest first (at most `limit`).
    pub stories: Vec<Previewed>,
    /// Stories looked at.
    pub scanned: usize,
    /// The tags applied (the topic's; none for a draft query).
    pub tags: Vec<String>,
}

/// The newest stories among the `scan` newest that a topic holds, or a
/// draft query matches.
pub fn preview(
    reader: &Reader,
    config: &Config,
    of: PreviewOf<'_>,
    scan: usize,
    limit: usize,
) -> Result<Preview, PreviewError> {
    let matcher = match of {
        PreviewOf::Query(q) => Matcher::draft(q).map_err(|e| PreviewError::Query {
            query: q.to_string(),
            message: e.to_string(),
        })?,
        PreviewOf::Topic(slug) => Topics::new(config)
            .matchers
            .into_iter()
            .find(|m| m.slug == slug)
            .ok_or_else(|| PreviewError::NoTopic(slug.to_string()))?,
    };
    let tags = source_tags(config);
    let mut stories = Vec::new();
    let mut scanned = 0;
    for (story, sources) in reader.newest_stories_with_sources(scan)? {
        scanned += 1;
        let Some(terms) = matcher.story_terms(&story.title, &story.text, &tags_of(&tags, &sources))
        else {
            continue;
        };
        stories.push(Previewed { story, terms });
        if stories.len() >= limit {
            break;
        }
    }
    Ok(Preview {
        stories,
        scanned,
        tags: matcher.tags,
    })
}

/// How many of the `n` newest stories each configured topic holds.
pub struct TopicHits {
    /// Stories tried (fewer than `n` in a young database).
    pub tried: usize,
    /// By slug; every configured topic is there.
    pub hits: HashMap<String, usize>,
}

/// Tries every configured topic on the `n` newest stored stories.
pub fn topic_hits(reader: &Reader, config: &Config, n: usize) -> Result<TopicHits, StoreError> {
    let topics = Topics::new(config);
    let tags = source_tags(config);
    let mut hits: HashMap<String, usize> = topics
        .matchers
        .iter()
        .map(|m| (m.slug.clone(), 0))
        .collect();
    let stories = reader.newest_stories_with_sources(n)?;
    for (story, sources) in &stories {
        let story_tags = tags_of(&tags, sources);
        for m in &topics.matchers {
            if m.story_terms(&story.title, &story.text, &story_tags)
                .is_some()
            {
                *hits.entry(m.slug.clone()).or_default() += 1;
            }
        }
    }
    Ok(TopicHits {
        tried: stories.len(),
        hits,
    })
}

/// Each configured source's tags, by id.
fn source_tags(config: &Config) -> HashMap<&str, &[String]> {
    config
        .sources
        .iter()
        .map(|s| (s.id.0.as_str(), s.tags.as_slice()))
        .collect()
}

/// The tags of the sources that carried a story (a source no longer
/// configured carries none).
fn tags_of(tags: &HashMap<&str, &[String]>, sources: &[crate::model::SourceId]) -> Vec<String> {
    let mut out: Vec<String> = sources
        .iter()
        .filter_map(|s| tags.get(s.0.as_str()))
        .flat_map(|t| t.iter().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}
