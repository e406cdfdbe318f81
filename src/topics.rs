//! Topic membership: which stories belong to which `[[topic]]`. The store
//! calls `Topics::classify` when a story is stored or changed, and for every
//! story when a topic's fingerprint (query + tags) changes.

use crate::config;
use crate::query::{Query, match_text, normalize_term};
use crate::store::{StoryView, TopicRow};

/// One topic ready for matching.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub slug: String,
    pub query: Query,
    /// Only stories with a copy from a source carrying one of these tags.
    pub tags: Vec<String>,
    /// Changes whenever the query or the tags change.
    pub fingerprint: String,
}

impl Matcher {
    /// `title` and `text` in normalized form; `source_tags` the tags of every
    /// source that carried a copy of the story.
    pub fn matches(&self, title: &str, text: &str, source_tags: &[String]) -> bool {
        (self.tags.is_empty() || self.tags.iter().any(|t| source_tags.contains(t)))
            && self.query.matches(title, text)
    }
}

impl Matcher {
    /// A query being drafted (`topics preview --query`): no slug, no tags.
    pub fn draft(query: &str) -> Result<Matcher, crate::query::QueryError> {
        Ok(Matcher {
            slug: String::new(),
            query: Query::parse(query)?,
            tags: Vec::new(),
            fingerprint: String::new(),
        })
    }

    /// `matches` on a stored story as `Topics::classify` reads it (display
    /// title, normalized text): the terms it contains when it belongs.
    pub fn story_terms(
        &self,
        title: &str,
        text: &str,
        source_tags: &[String],
    ) -> Option<Vec<String>> {
        let title = normalize_term(title);
        let text = match_text(text);
        if !self.matches(&title, &text, source_tags) {
            return None;
        }
        let mut terms = Vec::new();
        self.query.matched_terms(&title, &text, &mut terms);
        Some(terms)
    }
}

/// All configured topics.
#[derive(Clone, Debug, Default)]
pub struct Topics {
    pub matchers: Vec<Matcher>,
}

impl Topics {
    pub fn new(config: &config::Config) -> Topics {
        // A tagged topic also changes when a source's tags change.
        let mut source_tags: Vec<String> = config
            .sources
            .iter()
            .map(|s| format!("{}={}", s.id, s.tags.join(",")))
            .collect();
        source_tags.sort();
        let matchers = config
            .topics
            .iter()
            .map(|t| {
                let mut h = blake3::Hasher::new();
                h.update(t.query.as_bytes());
                h.update(b"\0");
                h.update(t.tags.join("\x1f").as_bytes());
                if !t.tags.is_empty() {
                    h.update(b"\0");
                    h.update(source_tags.join("\x1f").as_bytes());
                }
                Matcher {
                    slug: t.slug.clone(),
                    query: t.parsed.clone(),
                    tags: t.tags.clone(),
                    fingerprint: h.finalize().to_hex()[..16].to_string(),
                }
            })
            .collect();
        Topics { matchers }
    }

    /// The slugs of the topics a story belongs to.
    pub fn classify(&self, story: &StoryView<'_>) -> Vec<String> {
        if self.matchers.is_empty() {
            return Vec::new();
        }
        let title = normalize_term(story.title);
        let text = match_text(story.text);
        self.matchers
            .iter()
            .filter(|m| m.matches(&title, &text, story.tags))
            .map(|m| m.slug.clone())
            .collect()
    }

    /// The rows `Writer::sync_topics` compares against what it evaluated last.
    pub fn rows(&self) -> Vec<TopicRow<'_>> {
        self.matchers
            .iter()
            .map(|m| TopicRow {
                slug: &m.slug,
                fingerprint: &m.fingerprint,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_limit_a_topic() {
        let t = Matcher {
            slug: "s".into(),
            query: Query::parse("教育").unwrap(),
            tags: vec!["national".into()],
            fingerprint: String::new(),
        };
        assert!(t.matches("", "教育", &["national".into()]));
        assert!(!t.matches("", "教育", &["world".into()]));
    }

    #[test]
    fn a_query_in_either_script_matches_both() {
        let topics = |q: &str| Topics {
            matchers: vec![Matcher {
                slug: "edu".into(),
                query: Query::parse(q).unwrap(),
                tags: vec![],
                fingerprint: String::new(),
            }],
        };
        let story = |title, text| StoryView {
            title,
            text,
            tags: &[],
        };
        for q in ["教育 AND 协同", "教育 AND 協同", "title:会议", "title:會議"] {
            for (title, text) in [
                ("京津冀教育协同发展工作会议召开", "三地教育协同发展"),
                ("京津冀教育協同發展工作會議召開", "三地教育協同發展"),
            ] {
                assert_eq!(
                    topics(q).classify(&story(title, text)),
                    vec!["edu".to_string()],
                    "{q} on {title}"
                );
            }
        }
        assert!(
            topics("教育 AND 协同")
                .classify(&story("体育新闻", "足球比赛"))
                .is_empty()
        );
    }
}
