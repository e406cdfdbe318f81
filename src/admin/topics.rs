//! `topics list`, `topics preview`, `topics add|edit|remove` (the query
//! parsed and explained on the spot), and finding a topic by its slug.

use std::fmt::Write as _;

use super::{AdminError, cell, escape_line, when, width};
use crate::config::{Config, Topic};
use crate::query::Query;
use crate::store::Reader;

/// Stories `topics preview` looks through, newest first.
const PREVIEW_SCAN: usize = 20_000;

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

/// `topics list`: a table, columns padded by display width; the last
/// update is when the topic's newest story was published.
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
    // When the newest story of each topic was published ("-": none yet).
    let mut newest = Vec::with_capacity(config.topics.len());
    for t in &config.topics {
        newest.push(when(
            &config.display,
            store.topic_feed(&t.slug, 1)?.first().map(|s| s.published),
        ));
    }
    let newest_width = newest
        .iter()
        .map(|w| width(w))
        .chain([11])
        .max()
        .unwrap_or(11);
    let _ = writeln!(
        out,
        "{}  {}  {}  {:>7}  QUERY",
        cell("SLUG", slug_width),
        cell("TITLE", title_width),
        cell("LAST UPDATE", newest_width),
        "STORIES"
    );
    for (t, newest) in config.topics.iter().zip(&newest) {
        let _ = writeln!(
            out,
            "{}  {}  {}  {:>7}  {}{}",
            cell(&t.slug, slug_width),
            cell(&t.title, title_width),
            cell(newest, newest_width),
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

/// `topics add`'s and `topics edit`'s values; `None` / empty: not given.
#[derive(Debug, Default)]
pub struct TopicChange {
    pub title: Option<String>,
    pub query: Option<String>,
    /// Tags to add.
    pub tags: Vec<String>,
    /// Tags to remove (`topics edit --untag`).
    pub untag: Vec<String>,
    pub language: Option<String>,
    pub script: Option<String>,
    /// Keys to remove (`topics edit --unset`).
    pub unset: Vec<String>,
}

/// `topics add SLUG --title T --query Q …`: the query parsed (and
/// explained) before anything is written, the slug checked, the table
/// appended after the last topic.
pub fn topics_add(config: &Config, slug: &str, change: TopicChange) -> Result<String, AdminError> {
    if !crate::config::valid_id(slug) {
        return Err(AdminError::Refused(format!(
            "{slug:?} is not a valid topic slug: use a-z, 0-9 and '-' \
             (at most 64, not starting with '-'); nothing was written"
        )));
    }
    let (Some(title), Some(query)) = (change.title, change.query) else {
        return Err(AdminError::Refused(
            "a new topic needs --title and --query".to_string(),
        ));
    };
    non_empty("--title", &title)?;
    let parsed = parse_query(&query)?;
    non_empty_tags(&change.tags)?;
    let new = crate::edit::NewTopic {
        slug: slug.to_string(),
        title: title.clone(),
        query: query.clone(),
        tags: change.tags,
        language: change.language,
        script: change.script,
    };
    let edited = super::edit_one(config, |e| e.add_topic(&new))?;
    let mut out = format!(
        "added topic {slug} ({}) to {}\n",
        escape_line(&title),
        config.path.display()
    );
    out += &explain_query(&query, &parsed);
    if !new.tags.is_empty() {
        let _ = writeln!(
            out,
            "  and only stories of sources tagged {}",
            escape_line(&new.tags.join(" or "))
        );
    }
    out += &topic_warnings(&edited, slug);
    let _ = writeln!(
        out,
        "try it on stored stories: newsriver topics preview {slug}"
    );
    Ok(out)
}

/// What `check` would warn about this topic in the edited config (a tag
/// no source carries, a lower-case operator), said at once.
fn topic_warnings(config: &Config, slug: &str) -> String {
    let Some(i) = config.topics.iter().position(|t| t.slug == slug) else {
        return String::new();
    };
    let key = format!("topic[{i}]");
    config
        .warnings
        .iter()
        .filter(|w| w.key == key || w.key.starts_with(&format!("{key}.")))
        // The lower-case operator is explained with the query already.
        .filter(|w| !w.key.ends_with(".query"))
        .map(|w| format!("warning: {}\n", escape_line(&w.message)))
        .collect()
}

/// `topics edit SLUG …`: the given keys set, tags added and removed, keys
/// unset; validated as a whole and written at once. Prints each change
/// with the value it replaced, and a changed query explained.
pub fn topics_edit(config: &Config, slug: &str, change: TopicChange) -> Result<String, AdminError> {
    topic(config, slug)?;
    let TopicChange {
        title,
        query,
        tags,
        untag,
        language,
        script,
        unset,
    } = change;
    let set: Vec<(&str, String)> = [
        ("title", title),
        ("query", query),
        ("language", language),
        ("script", script),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    if set.is_empty() && tags.is_empty() && untag.is_empty() && unset.is_empty() {
        return Err(AdminError::Refused(
            "nothing to change: give --title, --query, --tag, --untag, --language, --script or --unset KEY"
                .to_string(),
        ));
    }
    for key in &unset {
        crate::edit::topic_key(key)?;
    }
    let retagged = !tags.is_empty() || !untag.is_empty();
    super::change::once_each(
        set.iter()
            .map(|(k, _)| *k)
            .chain(unset.iter().map(String::as_str))
            .chain(retagged.then_some("tags")),
    )?;
    let mut parsed = None;
    for (key, v) in &set {
        match *key {
            "title" => non_empty("--title", v)?,
            "query" => parsed = Some((v.clone(), parse_query(v)?)),
            _ => {}
        }
    }
    non_empty_tags(&tags)?;
    let mut lines = Vec::new();
    let new = super::edit_one(config, |e| {
        for (key, v) in set {
            let setting = crate::edit::Setting::text(key, &v);
            let line = format!("{key} = {}", setting.shown());
            let was = e.set_topic_key(slug, setting)?;
            lines.push(format!("{line} (was {})", super::change::was_text(was)));
        }
        if retagged {
            e.retag_topic(slug, &tags, &untag)?;
        }
        for key in &unset {
            let was = e.unset_topic_key(slug, key)?;
            lines.push(format!(
                "{key} unset (was {})",
                super::change::was_text(was)
            ));
        }
        Ok(())
    })?;
    let mut out: String = lines
        .iter()
        .map(|l| format!("topic {slug}: {}\n", escape_line(l)))
        .collect();
    if retagged {
        let tags = new
            .topics
            .iter()
            .find(|t| t.slug == slug)
            .map(|t| t.tags.join(", "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "topic {slug}: tags: {}",
            if tags.is_empty() {
                "- (stories of every source)".to_string()
            } else {
                escape_line(&tags).into_owned()
            }
        );
    }
    if let Some((query, parsed)) = parsed {
        out += &explain_query(&query, &parsed);
    }
    out += &topic_warnings(&new, slug);
    Ok(out)
}

/// `topics remove SLUG`: its table (and the comments just above it).
pub fn topics_remove(config: &Config, slug: &str) -> Result<String, AdminError> {
    topic(config, slug)?;
    super::edit_one(config, |e| e.remove_topic(slug))?;
    Ok(format!(
        "removed topic {slug} from {} (its feed is no longer served; the stories stay)\n",
        config.path.display()
    ))
}

fn non_empty(flag: &str, v: &str) -> Result<(), AdminError> {
    if v.trim().is_empty() {
        return Err(AdminError::Refused(format!(
            "{flag} must not be empty; nothing was written"
        )));
    }
    Ok(())
}

fn non_empty_tags(tags: &[String]) -> Result<(), AdminError> {
    if tags.iter().any(|t| t.trim().is_empty()) {
        return Err(AdminError::Refused(
            "--tag must not be empty; nothing was written".to_string(),
        ));
    }
    Ok(())
}

/// A query from the command line, or the parser's error with the query
/// under it and a caret at the position (display columns: a CJK
/// character takes two).
fn parse_query(q: &str) -> Result<Query, AdminError> {
    Query::parse(q).map_err(|e| {
        let before: String = q.chars().take(e.position.saturating_sub(1)).collect();
        AdminError::Refused(format!(
            "--query: {e}; nothing was written\n  {}\n  {}^",
            escape_line(q),
            " ".repeat(width(&before))
        ))
    })
}

/// What a query matches, for people: its parsed form (operators in
/// capitals, terms as normalized: case-folded, Simplified script), then
/// its structure, one term a line; words that look like operators but are
/// matched as text are pointed out.
pub fn explain_query(written: &str, q: &Query) -> String {
    let mut out = format!(
        "query {} reads as: {}\n",
        escape_line(written),
        escape_line(&canonical(q, false))
    );
    out += "  a story matches when\n";
    structure(q, 2, &mut out);
    let mut words = Vec::new();
    operator_words(q, &mut words);
    for w in words {
        let _ = writeln!(
            out,
            "note: {w:?} is matched as a word; for the operator write {}",
            w.to_uppercase()
        );
    }
    out
}

/// The query in the parser's own terms, fully parenthesized where AND and
/// OR meet.
fn canonical(q: &Query, nested: bool) -> String {
    match q {
        Query::All => "*".to_string(),
        Query::Term { text, title_only } => {
            let plain = !text.is_empty()
                && !text.chars().any(|c| {
                    c.is_whitespace() || matches!(c, '(' | ')' | '（' | '）' | '"' | '“' | '”')
                })
                && !matches!(text.as_str(), "AND" | "OR" | "NOT");
            let t = if plain {
                text.clone()
            } else {
                format!("\"{text}\"")
            };
            if *title_only { format!("title:{t}") } else { t }
        }
        Query::And(parts) | Query::Or(parts) => {
            let op = if matches!(q, Query::And(_)) {
                " AND "
            } else {
                " OR "
            };
            let inner = parts
                .iter()
                .map(|p| canonical(p, true))
                .collect::<Vec<_>>()
                .join(op);
            if nested { format!("({inner})") } else { inner }
        }
        Query::Not(inner) => format!("NOT {}", canonical(inner, true)),
    }
}

fn structure(q: &Query, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match q {
        Query::All => {
            let _ = writeln!(out, "{pad}always (* is every story)");
        }
        Query::Term { text, title_only } => {
            let _ = writeln!(
                out,
                "{pad}its {} contains {:?}",
                if *title_only {
                    "title"
                } else {
                    "title or text"
                },
                text
            );
        }
        Query::And(parts) | Query::Or(parts) => {
            let _ = writeln!(
                out,
                "{pad}{} of:",
                if matches!(q, Query::And(_)) {
                    "all"
                } else {
                    "any"
                }
            );
            for p in parts {
                structure(p, depth + 1, out);
            }
        }
        Query::Not(inner) => {
            let _ = writeln!(out, "{pad}not:");
            structure(inner, depth + 1, out);
        }
    }
}

/// Terms spelt like an operator in lower or mixed case (`and`, `Or`): the
/// parser knows only capitals, so they are searched for as words.
fn operator_words(q: &Query, out: &mut Vec<String>) {
    match q {
        Query::Term {
            text,
            title_only: false,
        } if matches!(text.as_str(), "and" | "or" | "not") && !out.contains(text) => {
            out.push(text.clone());
        }
        Query::And(parts) | Query::Or(parts) => {
            parts.iter().for_each(|p| operator_words(p, out));
        }
        Query::Not(inner) => operator_words(inner, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parsed_form_reads_back_as_the_same_query() {
        for q in [
            "*",
            "教育",
            "京津冀 AND (教育 OR 学校) NOT 广告",
            "a b OR c",
            "NOT (a OR b)",
            "title:\"work meeting\" OR title:会议",
            "\"new york\" 教育",
            "京津冀 and 教育",
        ] {
            let parsed = Query::parse(q).expect(q);
            let shown = canonical(&parsed, false);
            assert_eq!(Query::parse(&shown).as_ref(), Ok(&parsed), "{q} → {shown}");
        }
        let q = Query::parse("a b OR c").expect("parse");
        assert_eq!(canonical(&q, false), "(a AND b) OR c");
    }

    #[test]
    fn operator_words_in_lower_case_are_pointed_out() {
        let q = "京津冀 and 教育 Or 学校 NOT not";
        let text = explain_query(q, &Query::parse(q).expect("parse"));
        for w in ["and", "or", "not"] {
            assert!(
                text.contains(&format!("note: {w:?} is matched as a word")),
                "{text}"
            );
        }
        let q = "title:and";
        let text = explain_query(q, &Query::parse(q).expect("parse"));
        assert!(!text.contains("note:"), "a title: term is meant: {text}");
    }
}
