//! `stories explain`: why a story holds the copies it holds, and which
//! near-duplicate candidates were judged different. Read-only: the
//! candidates come from an index of the story's own keys
//! (`Reader::near_candidates`), not the whole index.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::dedupe::{self, Score, Verdict};
use crate::model::StoryId;
use crate::store::{ExportedStory, Reader, StoreError};

/// What a story id (or its prefix) came to.
pub enum Explained {
    /// No story has that id.
    NotFound,
    /// The prefix matches several stories: how many, and the first.
    Ambiguous { matches: usize, first: StoryId },
    /// One story, explained.
    Story(Box<Explanation>),
}

/// A story, its copies (each with the method and score that placed it),
/// and the near misses.
pub struct Explanation {
    pub story: ExportedStory,
    pub near_misses: Vec<NearMiss>,
}

/// A candidate the index offered, and what the dedupe rule says of it now.
pub struct NearMiss {
    pub id: StoryId,
    pub title: String,
    pub score: Score,
    pub verdict: Verdict,
}

/// Explains the story whose id starts with `prefix`.
pub fn explain(reader: &Reader, config: &Config, prefix: &str) -> Result<Explained, StoreError> {
    let ids = reader.story_ids(prefix)?;
    let id = match ids.as_slice() {
        [id] => id.clone(),
        [] => return Ok(Explained::NotFound),
        many => {
            return Ok(Explained::Ambiguous {
                matches: many.len(),
                first: many[0].clone(),
            });
        }
    };
    let Some((story, text)) = reader.story(&id)? else {
        return Ok(Explained::NotFound);
    };
    let keys = dedupe::index_keys(&text, &config.dedupe);
    let published = DateTime::parse_from_rfc3339(&story.published)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    let near_misses = reader
        .near_candidates(&keys, &story.id)?
        .into_iter()
        .map(|c| {
            let apart = (c.published - published).num_seconds();
            let (verdict, score) = dedupe::judge(&c.text, &text, apart, &config.dedupe);
            NearMiss {
                id: c.id,
                title: c.title,
                score,
                verdict,
            }
        })
        .collect();
    Ok(Explained::Story(Box::new(Explanation {
        story,
        near_misses,
    })))
}
