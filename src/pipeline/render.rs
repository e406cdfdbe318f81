//! One topic's feed from the database: the stories a reader reads, the
//! feed's `updated` from the topic's version, rendered by `publish`.
//! Used by `render` (cli) and the feed cache (http), so both show alike.

use chrono::{DateTime, TimeZone, Utc};

use crate::config::{Config, Topic};
use crate::normalize::Normalizer;
use crate::publish::{self, FeedMeta, Format};
use crate::store::{self, FeedStory, Reader, TopicCursor};
use crate::wording::{Lang, Script};

/// A topic's newest stories, read once, renderable in every format.
pub struct TopicFeed<'a> {
    config: &'a Config,
    topic: &'a Topic,
    /// When the topic last changed: the feed's `updated`.
    pub updated: DateTime<Utc>,
    pub stories: Vec<FeedStory>,
    /// The language its feeds and page are in (`Topic::language`, else
    /// its stories': `publish::topic_language`).
    pub lang: Lang,
    /// The script its headlines and texts are shown in.
    pub script: Script,
    topic_ids_from: i64,
}

impl<'a> TopicFeed<'a> {
    /// The `limit` newest stories of `topic`; `version` is the topic's
    /// `changed_at` (milliseconds) when the caller has it already.
    pub fn load(
        reader: &Reader,
        config: &'a Config,
        topic: &'a Topic,
        limit: usize,
        version: Option<i64>,
    ) -> store::Result<TopicFeed<'a>> {
        Self::load_page(reader, config, topic, limit, None, version)
    }

    /// Like `load`, the `limit` stories after `before` (the reader page's
    /// older pages, `store::Reader::topic_page`).
    pub fn load_page(
        reader: &Reader,
        config: &'a Config,
        topic: &'a Topic,
        limit: usize,
        before: Option<&TopicCursor>,
        version: Option<i64>,
    ) -> store::Result<TopicFeed<'a>> {
        let version = match version {
            Some(v) => Some(v),
            None => reader
                .topic_versions()?
                .into_iter()
                .find(|(s, _)| *s == topic.slug)
                .map(|(_, ms)| ms),
        };
        let mut stories = reader.topic_page(&topic.slug, limit, before)?;
        mark_topic_sources(config, topic, &mut stories);
        let lang = topic
            .language(&config.server)
            .unwrap_or_else(|| publish::topic_language(&stories));
        Ok(TopicFeed {
            config,
            topic,
            lang,
            script: topic.script.unwrap_or(lang.script()),
            topic_ids_from: reader.topic_entry_ids_from()?,
            updated: version
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
                .unwrap_or_else(Utc::now),
            stories,
        })
    }

    /// What the feed says about itself.
    pub fn meta(&self) -> FeedMeta<'_> {
        FeedMeta {
            slug: &self.topic.slug,
            title: &self.topic.title,
            base_url: &self.config.server.base_url,
            updated: self.updated,
            lang: self.lang,
            script: self.script,
            topic_ids_from: self.topic_ids_from,
        }
    }

    /// The feed in `format`.
    pub fn render(&self, format: Format, normalizer: &Normalizer) -> Vec<u8> {
        publish::render(&self.meta(), &self.stories, format, normalizer)
    }

    /// Its entries, to render several formats from (`render_entries`).
    pub fn entries(&self, normalizer: &Normalizer) -> Vec<publish::Entry<'_>> {
        publish::entries(&self.meta(), &self.stories, normalizer)
    }

    /// The feed in `format` from `entries` (`entries`).
    pub fn render_entries(&self, entries: &[publish::Entry<'_>], format: Format) -> Vec<u8> {
        publish::render_entries(&self.meta(), entries, format)
    }
}

/// In a topic limited by `tags`, only copies of the sources with one of
/// them may supply what an entry shows (`display`): an untagged source that
/// carried a story first does not put its headline, link or text in it.
fn mark_topic_sources(config: &Config, topic: &Topic, stories: &mut [FeedStory]) {
    if topic.tags.is_empty() {
        return;
    }
    let tagged: std::collections::HashSet<&str> = config
        .sources
        .iter()
        .filter(|s| s.tags.iter().any(|t| topic.tags.contains(t)))
        .map(|s| s.id.as_str())
        .collect();
    for copy in stories.iter_mut().flat_map(|s| s.copies.iter_mut()) {
        copy.in_topic = tagged.contains(copy.source_id.as_str());
    }
}

/// `topic`'s feed in `format`, its `limit` newest stories.
pub fn render_topic(
    reader: &Reader,
    config: &Config,
    topic: &Topic,
    format: Format,
    limit: usize,
) -> store::Result<Vec<u8>> {
    let normalizer = Normalizer::new(&config.normalize);
    Ok(TopicFeed::load(reader, config, topic, limit, None)?.render(format, &normalizer))
}
