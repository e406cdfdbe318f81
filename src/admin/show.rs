//! `sources list` and `sources show`: what the config says of each source,
//! and its health from the database (none before the first poll).

use std::fmt::Write as _;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{AdminError, cell, escape_line, when, width};
use crate::config::{Config, Display, Source};
use crate::store::{
    FullTextCounts, PAGE_FAILURES_KEPT, PollRow, Reader, SourceStatus, StoredPageFailure,
    TextFallbacks,
};

/// A source as `sources list --format json` prints it (one object a line)
/// and `sources show --format json` starts: plain JSON, the charset
/// decision an object (`SourceStatus::charset` is stored as JSON text),
/// times RFC 3339 in UTC; a disabled source has no next poll.
#[derive(Serialize)]
struct ListedSource<'a> {
    id: &'a str,
    name: &'a str,
    url: &'a str,
    tags: &'a [String],
    enabled: bool,
    #[serde(flatten)]
    status: serde_json::Map<String, serde_json::Value>,
}

impl<'a> ListedSource<'a> {
    fn new(source: &'a Source, status: &SourceStatus) -> ListedSource<'a> {
        let mut status = match serde_json::to_value(status) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        if let Some(charset) = status.get_mut("charset")
            && let Some(text) = charset.as_str()
        {
            *charset = serde_json::from_str(text)
                .unwrap_or_else(|_| serde_json::Value::String(text.to_string()));
        }
        if !source.enabled {
            status.insert("next_poll_at".into(), serde_json::Value::Null);
        }
        ListedSource {
            id: &source.id.0,
            name: &source.name,
            url: source.url.as_str(),
            tags: &source.tags,
            enabled: source.enabled,
            status,
        }
    }
}

/// `sources list`: one line (or JSON object) per configured source. With
/// no database yet (`store` None), from the config alone: every source
/// "never" polled. The table is narrow (`narrow_table`) unless `wide`
/// (`wide_table`).
pub fn sources_list(
    config: &Config,
    store: Option<&Reader>,
    tag: Option<&str>,
    json: bool,
    wide: bool,
) -> Result<String, AdminError> {
    let status = match store {
        Some(store) => store.source_status()?,
        None => Default::default(),
    };
    let rows: Vec<(&Source, SourceStatus)> = config
        .sources
        .iter()
        .filter(|s| tag.is_none_or(|t| s.tags.iter().any(|x| x == t)))
        .map(|s| (s, status.get(&s.id).cloned().unwrap_or_default()))
        .collect();
    if json {
        let mut out = String::new();
        for (s, st) in &rows {
            out += &serde_json::to_string(&ListedSource::new(s, st)).unwrap_or_default();
            out.push('\n');
        }
        return Ok(out);
    }
    Ok(if wide {
        wide_table(&rows, &config.display)
    } else {
        narrow_table(&rows, &config.display)
    })
}

/// A source's tags as one cell.
fn tag_cell(s: &Source) -> String {
    if s.tags.is_empty() {
        "-".to_string()
    } else {
        s.tags.join(",")
    }
}

/// The widest of `cells`, at least `min` columns.
fn widest<'a>(cells: impl Iterator<Item = &'a str>, min: usize) -> usize {
    cells.map(width).max().unwrap_or(min).max(min)
}

/// A source's warning (`[0 of 3 items read]`) at the end of its line.
fn warning_note(st: &SourceStatus) -> String {
    st.warning
        .as_deref()
        .map(|w| format!("  [{}]", escape_line(w)))
        .unwrap_or_default()
}

/// `sources list`: id, tags (cut at 16 columns), enabled, last poll,
/// outcome, stories, next poll, times to the minute: about 100 columns. A
/// disabled source is not polled: no next poll, whatever is stored.
fn narrow_table(rows: &[(&Source, SourceStatus)], display: &Display) -> String {
    let minute = |t: Option<chrono::DateTime<Utc>>| {
        t.map(|t| display.minute(t)).unwrap_or_else(|| "-".into())
    };
    let outcome = |st: &SourceStatus| st.last_outcome.clone().unwrap_or_else(|| "never".into());
    let tags: Vec<String> = rows.iter().map(|(s, _)| tag_cell(s)).collect();
    let outcomes: Vec<String> = rows.iter().map(|(_, st)| outcome(st)).collect();
    let id_width = widest(rows.iter().map(|(s, _)| s.id.0.as_str()), 2);
    let tag_width = widest(tags.iter().map(String::as_str), 4).min(16);
    let outcome_width = widest(outcomes.iter().map(String::as_str), 7);
    let time_width = width(&display.minute(Utc::now()));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  {:<3}  {:<time_width$}  {}  {:>7}  NEXT POLL",
        cell("ID", id_width),
        cell("TAGS", tag_width),
        "ON",
        "LAST POLL",
        cell("OUTCOME", outcome_width),
        "STORIES",
    );
    for (((s, st), tags), outcome) in rows.iter().zip(&tags).zip(&outcomes) {
        let line = format!(
            "{}  {}  {:<3}  {}  {}  {:>7}  {}{}",
            cell(&s.id.0, id_width),
            cell(&shorten(tags, tag_width), tag_width),
            if s.enabled { "yes" } else { "no" },
            cell(&minute(st.last_poll_at), time_width),
            cell(outcome, outcome_width),
            st.stories,
            if s.enabled {
                minute(st.next_poll_at)
            } else {
                "-".to_string()
            },
            warning_note(st)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// `sources list --wide`: every column, times to the second, the URL and
/// the name last.
fn wide_table(rows: &[(&Source, SourceStatus)], display: &Display) -> String {
    let tags: Vec<String> = rows.iter().map(|(s, _)| tag_cell(s)).collect();
    let id_width = widest(rows.iter().map(|(s, _)| s.id.0.as_str()), 2);
    let tag_width = widest(tags.iter().map(String::as_str), 4).min(30);
    let time_width = width(&when(display, Some(Utc::now())));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {:<3}  {}  {:<time_width$}  {:<12}  {:>5}  {:>7}  {:>5}  {:<time_width$}  URL  NAME",
        cell("ID", id_width),
        "ON",
        cell("TAGS", tag_width),
        "LAST POLL",
        "OUTCOME",
        "ITEMS",
        "STORIES",
        "FAILS",
        "NEXT POLL"
    );
    for ((s, st), tags) in rows.iter().zip(&tags) {
        let next_poll = if s.enabled {
            when(display, st.next_poll_at)
        } else {
            "-".to_string()
        };
        let _ = writeln!(
            out,
            "{}  {:<3}  {}  {}  {}  {:>5}  {:>7}  {:>5}  {}  {}  {}{}",
            cell(&s.id.0, id_width),
            if s.enabled { "yes" } else { "no" },
            cell(tags, tag_width),
            cell(&when(display, st.last_poll_at), time_width),
            cell(st.last_outcome.as_deref().unwrap_or("never"), 12),
            st.copies,
            st.stories,
            st.consecutive_failures,
            cell(&next_poll, time_width),
            escape_line(s.url.as_str()),
            escape_line(&s.name),
            warning_note(st)
        );
    }
    out
}

/// `text` cut to `columns` display columns, `…` marking a cut.
fn shorten(text: &str, columns: usize) -> String {
    let text = escape_line(text);
    if width(&text) <= columns {
        return text.into_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        let mut next = out.clone();
        next.push(c);
        if width(&next) + 1 > columns {
            break;
        }
        out = next;
    }
    out.push('…');
    out
}

/// `sources show ID --format json`: what the table says, as one object.
/// The window's counts are null before the first poll (no database).
#[derive(Serialize)]
struct ShownSource<'a> {
    #[serde(flatten)]
    listed: ListedSource<'a>,
    /// How far back the counts below go (`EDITS_WINDOW`).
    window_days: i64,
    /// Polls in the window.
    polls_in_window: Option<i64>,
    /// Items the polls in the window found edited.
    items_edited: Option<i64>,
    /// Items the polls in the window stored (new or edited copies).
    items_stored: Option<i64>,
    /// Of those, the items whose text was kept as published because
    /// stripping boilerplate left nothing of it.
    text_fallbacks: Option<i64>,
    /// Article pages (`full_text`) in the window, and the last failures.
    full_text: ShownFullText,
    recent_polls: Vec<PollRow>,
}

/// `sources show ID --format json`: the source's article pages.
#[derive(Serialize)]
struct ShownFullText {
    /// The source fetches its items' pages (`full_text = true`).
    enabled: bool,
    /// Its `full_text_selector`, as written.
    selector: Option<String>,
    /// Pages in the window (null before the first poll): fetched and kept,
    /// not needed (the feed had the whole text), failed, skipped.
    pages_in_window: Option<FullTextCounts>,
    /// The last failed pages, newest first (at most `PAGE_FAILURES_KEPT`).
    failures: Vec<StoredPageFailure>,
}

/// `sources show ID`: everything known of one source, and its recent polls.
/// With no database yet (`store` None), what the config says and "never
/// polled". `json`: one object (`ShownSource`).
pub fn sources_show(
    config: &Config,
    store: Option<&Reader>,
    id: &str,
    json: bool,
) -> Result<String, AdminError> {
    let source = config.source(id).ok_or_else(|| {
        AdminError::Unknown(format!(
            "no source with id {id:?} in {}",
            config.path.display()
        ))
    })?;
    let (st, polls, window) = match store {
        Some(store) => {
            let since = Utc::now() - EDITS_WINDOW;
            (
                store.source_status()?.remove(id).unwrap_or_default(),
                store.recent_polls(&source.id, 10)?,
                Some((
                    store.items_updated_since(&source.id, since)?,
                    store.text_fallbacks_since(&source.id, since)?,
                )),
            )
        }
        None => (SourceStatus::default(), Vec::new(), None),
    };
    let full_text = shown_full_text(source, store)?;
    if json {
        let shown = ShownSource {
            listed: ListedSource::new(source, &st),
            window_days: EDITS_WINDOW.num_days(),
            polls_in_window: window.map(|((_, polls), _)| polls),
            items_edited: window.map(|((edited, _), _)| edited),
            items_stored: window.map(|(_, f)| f.stored),
            text_fallbacks: window.map(|(_, f)| f.kept_as_published),
            full_text,
            recent_polls: polls,
        };
        let mut out = serde_json::to_string(&shown).unwrap_or_default();
        out.push('\n');
        return Ok(out);
    }
    let mut out = String::new();
    let _ = writeln!(out, "source {}", escape_line(&source.id.0));
    identity_rows(&mut out, source, &st);
    health_rows(&mut out, &st, source, &config.display);
    if let Some(((edited, polls), fallbacks)) = window {
        row(
            &mut out,
            "items edited",
            &format!("{edited} in the last 7 days ({polls} polls)"),
        );
        row(
            &mut out,
            "text kept as published",
            &kept_as_published(fallbacks),
        );
    }
    full_text_rows(&mut out, &full_text, &config.display);
    recent_polls(&mut out, polls, &config.display);
    Ok(out)
}

/// `sources show`: a source's article pages over `EDITS_WINDOW` and its
/// last failed pages (none before the first poll).
fn shown_full_text(source: &Source, store: Option<&Reader>) -> Result<ShownFullText, AdminError> {
    let (pages, failures) = match store {
        Some(store) => (
            Some(store.full_text_since(&source.id, Utc::now() - EDITS_WINDOW)?),
            store.page_failures(&source.id, PAGE_FAILURES_KEPT)?,
        ),
        None => (None, Vec::new()),
    };
    Ok(ShownFullText {
        enabled: source.full_text,
        selector: source.full_text_selector.as_ref().map(|s| {
            use scraper::selector::ToCss as _;
            s.to_css_string()
        }),
        pages_in_window: pages,
        failures,
    })
}

/// `sources show`: the article pages line and the last failed pages, for
/// a `full_text` source or one that has any (full text turned off since).
fn full_text_rows(out: &mut String, f: &ShownFullText, display: &Display) {
    let any = f
        .pages_in_window
        .is_some_and(|p| p.fetched + p.not_needed + p.failed + p.skipped > 0);
    if !f.enabled && !any && f.failures.is_empty() {
        return;
    }
    if let Some(p) = f.pages_in_window {
        row(
            out,
            "full-text pages",
            &format!(
                "{} fetched, {} not needed (the feed had the whole text), {} failed, {} skipped in the last 7 days",
                p.fetched, p.not_needed, p.failed, p.skipped
            ),
        );
    }
    let _ = writeln!(out, "  full-text failures (last {PAGE_FAILURES_KEPT}):");
    if f.failures.is_empty() {
        let _ = writeln!(out, "    none");
    }
    for x in &f.failures {
        let _ = writeln!(
            out,
            "    {}  {}  {}",
            when(display, Some(x.at)),
            escape_line(&x.url),
            escape_line(&x.reason)
        );
    }
}

/// `sources show`: of the items stored lately, those whose text was kept
/// as published because the boilerplate rules left nothing of it.
fn kept_as_published(f: TextFallbacks) -> String {
    let TextFallbacks {
        kept_as_published: kept,
        stored,
    } = f;
    let items = if stored == 1 { "item" } else { "items" };
    let mut s = format!("{kept} of {stored} {items} stored in the last 7 days");
    if kept > 0 {
        s += " (the boilerplate rules left nothing of their text)";
    }
    s
}

/// How far back `sources show` counts the items a source edited.
const EDITS_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// One `key  value` line of `sources show`.
fn row(out: &mut String, k: &str, v: &str) {
    let _ = writeln!(out, "  {k:<26}{}", escape_line(v));
}

/// `sources show`: what the source is: from the config, and what its feed
/// said of itself (title, format, charset).
fn identity_rows(out: &mut String, source: &Source, st: &SourceStatus) {
    row(out, "name", &source.name);
    row(out, "url", source.url.as_str());
    if let Some(m) = &st.moved_to {
        row(out, "moved to (301/308)", m);
    }
    row(out, "tags", &source.tags.join(", "));
    row(out, "enabled", if source.enabled { "yes" } else { "no" });
    if source.full_text {
        row(
            out,
            "full text",
            if source.full_text_selector.is_some() {
                "yes (with a selector on its own site)"
            } else {
                "yes"
            },
        );
    }
    row(
        out,
        "feed",
        &format!(
            "{} ({})",
            st.feed_title.as_deref().unwrap_or("-"),
            st.feed_format.as_deref().unwrap_or("-")
        ),
    );
    let charset = st
        .charset
        .as_deref()
        .and_then(|c| serde_json::from_str::<StoredCharset>(c).ok())
        .map(|c| c.to_string());
    row(out, "charset", charset.as_deref().unwrap_or("-"));
}

/// The fields `sources show` prints of the charset decision the last poll
/// stored (`decode::CharsetDecision` as JSON, in `sources.charset`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StoredCharset {
    encoding: Option<String>,
    /// `decode::CharsetOrigin`, as serialized (`xml-declaration`).
    origin: Option<String>,
    note: Option<String>,
}

impl std::fmt::Display for StoredCharset {
    /// `GBK (from xml-declaration); note`, `?` for what is missing.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (from {})",
            self.encoding.as_deref().unwrap_or("?"),
            self.origin.as_deref().unwrap_or("?")
        )?;
        match &self.note {
            Some(n) => write!(f, "; {n}"),
            None => Ok(()),
        }
    }
}

/// `sources show`: how its polls have gone: the last one, failures,
/// what the schedule will do, validators, counts, the last document.
fn health_rows(out: &mut String, st: &SourceStatus, source: &Source, display: &Display) {
    row(
        out,
        "last poll",
        &format!(
            "{}: {}{}",
            when(display, st.last_poll_at),
            st.last_outcome.as_deref().unwrap_or("never"),
            st.last_status
                .map(|s| format!(" (HTTP {s})"))
                .unwrap_or_default()
        ),
    );
    if let Some(e) = &st.last_error {
        row(out, "last error", e);
    }
    row(
        out,
        "consecutive failures",
        &st.consecutive_failures.to_string(),
    );
    if let Some(t) = st.retry_after {
        row(out, "retry after", &when(display, Some(t)));
    }
    if let Some(t) = st.gone_at {
        row(out, "gone (410) since", &when(display, Some(t)));
    }
    row(
        out,
        "next poll",
        &if source.enabled {
            when(display, st.next_poll_at)
        } else {
            "- (disabled)".to_string()
        },
    );
    row(
        out,
        "validators",
        &format!(
            "ETag {}, Last-Modified {}",
            st.etag.as_deref().unwrap_or("-"),
            st.last_modified.as_deref().unwrap_or("-")
        ),
    );
    row(
        out,
        "items / copies / stories",
        &format!(
            "{} in the last feed / {} stored / {} stories",
            st.last_item_count
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            st.copies,
            st.stories
        ),
    );
    if let (Some(doc), Some(read)) = (st.document_items, st.items_read) {
        row(
            out,
            "last document",
            &format!(
                "{read} of {doc} items read{}",
                if st.warning.is_some() {
                    "  ← nothing stored from a feed that has items"
                } else {
                    ""
                }
            ),
        );
    }
    if let Some(note) = &st.parse_note {
        row(out, "lenient reading", note);
    }
}

/// `sources show`: one line per recent poll, newest first.
fn recent_polls(out: &mut String, polls: Vec<PollRow>, display: &Display) {
    let _ = writeln!(out, "  recent polls:");
    if polls.is_empty() {
        let _ = writeln!(out, "    none");
    }
    for p in polls {
        let _ = writeln!(
            out,
            "    {}  {:<12} {:>5} ms  {:>3} items, {} new{}{}{}, stories {} new / {} merged{}{}",
            when(display, Some(p.started_at)),
            p.outcome,
            p.duration_ms,
            p.items,
            p.items_new,
            match p.items_updated {
                0 => String::new(),
                n => format!(", {n} updated"),
            },
            match p.items_skipped {
                0 => String::new(),
                n => format!(", {n} skipped"),
            },
            match p.text_fallbacks {
                0 => String::new(),
                n => format!(", {n} kept as published"),
            },
            p.stories_new,
            p.stories_merged,
            match (
                p.pages_fetched,
                p.pages_failed,
                p.pages_skipped,
                p.pages_not_needed
            ) {
                (0, 0, 0, 0) => String::new(),
                (f, x, k, 0) => format!(", full text {f} fetched / {x} failed / {k} skipped"),
                (f, x, k, n) =>
                    format!(", full text {f} fetched / {n} not needed / {x} failed / {k} skipped"),
            },
            p.error
                .map(|e| format!("  {}", escape_line(&e)))
                .unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_charset_reads_as_encoding_origin_and_note() {
        let read = |json: &str| {
            serde_json::from_str::<StoredCharset>(json)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            read(
                r#"{"encoding":"GBK","origin":"xml-declaration","http_label":null,"declared_label":"gb2312","errors":0,"note":null}"#
            ),
            "GBK (from xml-declaration)"
        );
        assert_eq!(
            read(r#"{"encoding":"UTF-8","origin":"sniffed","note":"HTTP said latin1"}"#),
            "UTF-8 (from sniffed); HTTP said latin1"
        );
        assert_eq!(read("{}"), "? (from ?)");
    }

    #[test]
    fn a_decision_as_decode_writes_it_reads_back() {
        let decided = crate::decode::decode(b"<?xml version=\"1.0\"?><rss/>", None, None, None);
        let json = serde_json::to_string(&decided.charset).unwrap();
        let stored: StoredCharset = serde_json::from_str(&json).unwrap();
        assert_eq!(stored.encoding.as_deref(), Some(decided.charset.encoding));
        assert!(stored.origin.is_some(), "{json}");
    }
}
