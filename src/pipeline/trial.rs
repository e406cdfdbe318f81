//! Topics tried on stored stories, read-only: `topics preview` (what a
//! topic, or a query being drafted, would hold) and `check`'s warning for a
//! topic that matches none of the newest stories. Membership is decided by
//! `topics::Matcher`, the rule the store applies: the query, and a topic's
//! tags against the tags of the sources (as configured now) that carried a
//! copy of the story.

use std::collections::HashMap;

use crate::config::Config;
use crate::query::{Query, match_text, normalize_term};
use crate::store::{Reader, StoreError, StoryText};
use crate::topics::{Matcher, Topics};

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

/// The newest stories among the `scan` newest that `slug`'s topic holds
/// (its query and tags) or, with `query`, that the query matches (no tags:
/// a draft belongs to no topic yet). `None`: no topic `slug`.
pub fn preview(
    reader: &Reader,
    config: &Config,
    slug: Option<&str>,
    query: Option<&Query>,
    scan: usize,
    limit: usize,
) -> Result<Option<Preview>, StoreError> {
    let matcher = match (query, slug) {
        (Some(q), _) => Matcher {
            slug: String::new(),
            query: q.clone(),
            tags: Vec::new(),
            fingerprint: String::new(),
        },
        (None, Some(slug)) => match Topics::new(config)
            .matchers
            .into_iter()
            .find(|m| m.slug == slug)
        {
            Some(m) => m,
            None => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    let tags = source_tags(config);
    let mut stories = Vec::new();
    let mut scanned = 0;
    for (story, sources) in reader.newest_stories_with_sources(scan)? {
        scanned += 1;
        let title = normalize_term(&story.title);
        let text = match_text(&story.text);
        if !matcher.matches(&title, &text, &tags_of(&tags, &sources)) {
            continue;
        }
        let mut terms = Vec::new();
        matcher.query.matched_terms(&title, &text, &mut terms);
        stories.push(Previewed { story, terms });
        if stories.len() >= limit {
            break;
        }
    }
    Ok(Some(Preview {
        stories,
        scanned,
        tags: matcher.tags,
    }))
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
        let title = normalize_term(&story.title);
        let text = match_text(&story.text);
        let story_tags = tags_of(&tags, sources);
        for m in &topics.matchers {
            if m.matches(&title, &text, &story_tags) {
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
