//! Read-only admin commands: `sources list|show|test`, `topics list|preview`.
//! An edge like `cli`: it composes the stages and formats for people (or
//! JSON for tools). Commands that edit the config come with toml_edit later.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Config, Source};
use crate::fetch::{Fetched, Fetcher, Validators};
use crate::normalize::Normalizer;
use crate::query::{Query, normalize_term};
use crate::store::{SourceStatus, Store};
use crate::{decode, parse};

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

#[derive(Serialize)]
struct ListedSource<'a> {
    id: &'a str,
    name: &'a str,
    url: &'a str,
    tags: &'a [String],
    enabled: bool,
    #[serde(flatten)]
    status: SourceStatus,
}

/// `sources list`: one line (or JSON object) per configured source.
pub fn sources_list(
    config: &Config,
    store: &Store,
    tag: Option<&str>,
    json: bool,
) -> crate::store::Result<String> {
    let status = store.source_status()?;
    let sources: Vec<&Source> = config
        .sources
        .iter()
        .filter(|s| tag.is_none_or(|t| s.tags.iter().any(|x| x == t)))
        .collect();
    let mut out = String::new();
    if json {
        for s in sources {
            let listed = ListedSource {
                id: &s.id.0,
                name: &s.name,
                url: s.url.as_str(),
                tags: &s.tags,
                enabled: s.enabled,
                status: status.get(&s.id.0).cloned().unwrap_or_default(),
            };
            out += &serde_json::to_string(&listed).unwrap_or_default();
            out.push('\n');
        }
        return Ok(out);
    }
    let width = sources
        .iter()
        .map(|s| s.id.0.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let _ = writeln!(
        out,
        "{:width$}  {:<3}  {:<19}  {:<12}  {:>5}  {:>7}  {:>5}  {:<19}  URL",
        "ID", "ON", "LAST POLL", "OUTCOME", "ITEMS", "STORIES", "FAILS", "NEXT POLL"
    );
    for s in sources {
        let st = status.get(&s.id.0).cloned().unwrap_or_default();
        let _ = writeln!(
            out,
            "{:width$}  {:<3}  {:<19}  {:<12}  {:>5}  {:>7}  {:>5}  {:<19}  {}",
            s.id.0,
            if s.enabled { "yes" } else { "no" },
            when(st.last_poll_at),
            st.last_outcome.as_deref().unwrap_or("never"),
            st.copies,
            st.stories,
            st.consecutive_failures,
            when(st.next_poll_at),
            s.url
        );
    }
    Ok(out)
}

/// `sources show ID`: everything known of one source, and its recent polls.
pub fn sources_show(config: &Config, store: &Store, id: &str) -> Result<String, String> {
    let source = config
        .source(id)
        .ok_or_else(|| format!("no source with id {id:?} in {}", config.path.display()))?;
    let st = store
        .source_status()
        .map_err(|e| e.to_string())?
        .remove(id)
        .unwrap_or_default();
    let mut out = String::new();
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "  {k:<26}{v}");
    };
    let _ = writeln!(out, "source {}", source.id);
    row(&mut out, "name", &source.name);
    row(&mut out, "url", source.url.as_str());
    if let Some(m) = &st.moved_to {
        row(&mut out, "moved to (301/308)", m);
    }
    row(&mut out, "tags", &source.tags.join(", "));
    row(
        &mut out,
        "enabled",
        if source.enabled { "yes" } else { "no" },
    );
    row(
        &mut out,
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
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
        .map(|c| {
            format!(
                "{} (from {}){}",
                c["encoding"].as_str().unwrap_or("?"),
                c["origin"].as_str().unwrap_or("?"),
                c["note"]
                    .as_str()
                    .map(|n| format!("; {n}"))
                    .unwrap_or_default()
            )
        });
    row(&mut out, "charset", charset.as_deref().unwrap_or("-"));
    row(
        &mut out,
        "last poll",
        &format!(
            "{}: {}{}",
            when(st.last_poll_at),
            st.last_outcome.as_deref().unwrap_or("never"),
            st.last_status
                .map(|s| format!(" (HTTP {s})"))
                .unwrap_or_default()
        ),
    );
    if let Some(e) = &st.last_error {
        row(&mut out, "last error", e);
    }
    row(
        &mut out,
        "consecutive failures",
        &st.consecutive_failures.to_string(),
    );
    if let Some(t) = st.retry_after {
        row(&mut out, "retry after", &when(Some(t)));
    }
    if let Some(t) = st.gone_at {
        row(&mut out, "gone (410) since", &when(Some(t)));
    }
    row(&mut out, "next poll", &when(st.next_poll_at));
    row(
        &mut out,
        "validators",
        &format!(
            "ETag {}, Last-Modified {}",
            st.etag.as_deref().unwrap_or("-"),
            st.last_modified.as_deref().unwrap_or("-")
        ),
    );
    row(
        &mut out,
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
    let polls = store.recent_polls(id, 10).map_err(|e| e.to_string())?;
    let _ = writeln!(out, "  recent polls:");
    if polls.is_empty() {
        let _ = writeln!(out, "    none");
    }
    for p in polls {
        let _ = writeln!(
            out,
            "    {}  {:<12} {:>5} ms  {:>3} items, {} new, stories {} new / {} merged{}",
            when(Some(p.started_at)),
            p.outcome,
            p.duration_ms,
            p.items,
            p.items_new,
            p.stories_new,
            p.stories_merged,
            p.error.map(|e| format!("  {e}")).unwrap_or_default()
        );
    }
    Ok(out)
}

/// `sources test URL|ID`: fetch and parse without storing, and say what
/// happened at each stage.
pub async fn sources_test(config: &Config, target: &str) -> Result<String, String> {
    let (url, forced, private_host) = match config.source(target) {
        Some(s) => (
            s.url.clone(),
            s.encoding,
            s.allow_private_addresses
                .then(|| s.url.host_str().map(str::to_string))
                .flatten(),
        ),
        None => (
            url::Url::parse(target)
                .map_err(|e| format!("{target:?} is neither a source id nor a URL: {e}"))?,
            None,
            None,
        ),
    };
    let fetcher = Fetcher::new(&config.fetch).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let _ = writeln!(out, "GET {url}");
    let body = match fetcher
        .fetch_for(&url, &Validators::default(), private_host.as_deref())
        .await
    {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified { .. }) => {
            return Ok(out + "  304 Not Modified (unexpected without validators)\n");
        }
        Err(e) => return Err(format!("{out}  fetch failed: {e}")),
    };
    let _ = writeln!(
        out,
        "  HTTP {} in {} ms, {} bytes",
        body.status,
        body.elapsed.as_millis(),
        body.bytes.len()
    );
    if body.final_url != url.as_str() {
        let _ = writeln!(
            out,
            "  redirected to {}{}",
            body.final_url,
            if body.moved_to.is_some() {
                " (permanently: would be remembered)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "  Content-Type   {}",
        body.content_type.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "  ETag           {}",
        body.validators
            .etag
            .as_deref()
            .unwrap_or("- (no conditional GET by ETag)")
    );
    let _ = writeln!(
        out,
        "  Last-Modified  {}",
        body.validators
            .last_modified
            .as_deref()
            .unwrap_or("- (no conditional GET by date)")
    );
    let host = url.host_str().map(str::to_string);
    let decoded = decode::decode(
        &body.bytes,
        body.content_type.as_deref(),
        forced,
        host.as_deref(),
    );
    let c = &decoded.charset;
    let _ = writeln!(
        out,
        "charset {} (from {:?}; HTTP said {}, the document said {}; {} undecodable bytes){}",
        c.encoding,
        c.origin,
        c.http_label.as_deref().unwrap_or("nothing"),
        c.declared_label.as_deref().unwrap_or("nothing"),
        c.errors,
        c.note
            .as_deref()
            .map(|n| format!("\n  note: {n}"))
            .unwrap_or_default()
    );
    let feed = match parse::parse(&decoded.text, Some(&body.final_url)) {
        Ok(f) => f,
        Err(e) => return Err(format!("{out}parse failed: {e}")),
    };
    let _ = writeln!(
        out,
        "format {}: {:?}, {} items{}",
        feed.format,
        feed.title.as_deref().unwrap_or("(no title)"),
        feed.items.len(),
        if feed.repairs.is_empty() {
            String::new()
        } else {
            format!("\n  repaired: {}", feed.repairs.join("; "))
        }
    );
    let normalizer = Normalizer::new(&config.normalize);
    for (i, item) in feed.items.iter().take(10).enumerate() {
        let n = normalizer.normalize(item);
        let _ = writeln!(
            out,
            "  {:>2}. {}  [{}]{}",
            i + 1,
            n.title,
            &n.content_hash.0[..12],
            item.published
                .map(|p| format!("  {}", p.format("%Y-%m-%d %H:%M")))
                .unwrap_or_default()
        );
        if !n.removed.is_empty() {
            let _ = writeln!(out, "      removed: {}", n.removed.join("; "));
        }
    }
    Ok(out)
}

/// `topics list`.
pub fn topics_list(config: &Config, store: &Store) -> crate::store::Result<String> {
    let counts = store.topic_counts()?;
    let mut out = String::new();
    for t in &config.topics {
        let _ = writeln!(
            out,
            "{}  {}  {} stories  query: {}{}",
            t.slug,
            t.title,
            counts.get(&t.slug).copied().unwrap_or(0),
            t.query,
            if t.tags.is_empty() {
                String::new()
            } else {
                format!("  tags: {}", t.tags.join(", "))
            }
        );
    }
    Ok(out)
}

/// `topics preview`: the newest stored stories a query matches, with the
/// terms each contains (tags are not applied to a draft query).
pub fn topics_preview(store: &Store, query: &Query, limit: usize) -> crate::store::Result<String> {
    let mut out = String::new();
    let mut shown = 0;
    let mut scanned = 0;
    for story in store.newest_stories(20_000)? {
        scanned += 1;
        let t = normalize_term(&story.title);
        if !query.matches(&t, &story.text) {
            continue;
        }
        let mut terms = Vec::new();
        query.matched_terms(&t, &story.text, &mut terms);
        let _ = writeln!(
            out,
            "{}  {}  {}  [{}]",
            &story.id[..12.min(story.id.len())],
            when(Some(story.published)),
            story.title,
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
