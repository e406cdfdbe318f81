//! Admin commands: `sources list|show|test|add|remove|enable|disable|tag|
//! import|export`, `topics list|preview`. An edge like `cli`: it composes the
//! stages and formats for people (or JSON for tools). Edits go through
//! `edit` (toml_edit, lock, validate, atomic write); this module adds what
//! needs the network: trying a URL before adding it, feed discovery, and
//! checking imported feeds.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Config, Source};
use crate::edit::{ConfigEdit, EditError, NewSource};
use crate::fetch::{Fetched, Fetcher, Validators};
use crate::normalize::Normalizer;
use crate::parse;
use crate::pipeline::{FeedRead, ReadAs, read_feed};
use crate::query::{Query, normalize_term};
use crate::store::{Reader, SourceStatus};

/// A time as printed by the admin commands: UTC, and saying so.
fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

/// One table cell: control characters escaped (newlines too), padded to
/// `columns` display columns (a CJK character takes two).
fn cell(s: &str, columns: usize) -> String {
    crate::printable::pad(&escape_line(s), columns)
}

fn escape_line(s: &str) -> std::borrow::Cow<'_, str> {
    crate::printable::escape_line(s)
}

fn width(s: &str) -> usize {
    crate::printable::width(&escape_line(s))
}

/// Why a read command of `admin` failed: the exit code follows the kind
/// (`cli::Exit`: a name not in the config is a config error, 2; a
/// database that cannot be read a runtime error, 1).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No such source or topic in the config.
    #[error("{0}")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
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

/// `sources list`: one line (or JSON object) per configured source. With
/// no database yet (`store` None), from the config alone: every source
/// "never" polled.
pub fn sources_list(
    config: &Config,
    store: Option<&Reader>,
    tag: Option<&str>,
    json: bool,
) -> crate::store::Result<String> {
    let status = match store {
        Some(store) => store.source_status()?,
        None => Default::default(),
    };
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
    let id_width = sources
        .iter()
        .map(|s| width(&s.id.0))
        .max()
        .unwrap_or(2)
        .max(2);
    let tags = |s: &Source| {
        if s.tags.is_empty() {
            "-".to_string()
        } else {
            s.tags.join(",")
        }
    };
    let tag_width = sources
        .iter()
        .map(|s| width(&tags(s)))
        .max()
        .unwrap_or(4)
        .clamp(4, 30);
    let time_width = when(Some(Utc::now())).len();
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
    for s in sources {
        let st = status.get(&s.id.0).cloned().unwrap_or_default();
        let _ = writeln!(
            out,
            "{}  {:<3}  {}  {:<time_width$}  {}  {:>5}  {:>7}  {:>5}  {:<time_width$}  {}  {}{}",
            cell(&s.id.0, id_width),
            if s.enabled { "yes" } else { "no" },
            cell(&tags(s), tag_width),
            when(st.last_poll_at),
            cell(st.last_outcome.as_deref().unwrap_or("never"), 12),
            st.copies,
            st.stories,
            st.consecutive_failures,
            when(st.next_poll_at),
            escape_line(s.url.as_str()),
            escape_line(&s.name),
            st.warning
                .as_deref()
                .map(|w| format!("  [{}]", escape_line(w)))
                .unwrap_or_default()
        );
    }
    Ok(out)
}

/// `sources show ID`: everything known of one source, and its recent polls.
/// With no database yet (`store` None), what the config says and "never
/// polled".
pub fn sources_show(
    config: &Config,
    store: Option<&Reader>,
    id: &str,
) -> Result<String, AdminError> {
    let source = config.source(id).ok_or_else(|| {
        AdminError::Unknown(format!(
            "no source with id {id:?} in {}",
            config.path.display()
        ))
    })?;
    let st = match store {
        Some(store) => store.source_status()?.remove(id).unwrap_or_default(),
        None => SourceStatus::default(),
    };
    let mut out = String::new();
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "  {k:<26}{}", escape_line(v));
    };
    let _ = writeln!(out, "source {}", escape_line(&source.id.0));
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
    if source.full_text {
        row(
            &mut out,
            "full text",
            if source.full_text_selector.is_some() {
                "yes (with a selector on its own site)"
            } else {
                "yes"
            },
        );
    }
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
    if let (Some(doc), Some(read)) = (st.document_items, st.items_read) {
        row(
            &mut out,
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
        row(&mut out, "lenient reading", note);
    }
    let polls = match store {
        Some(store) => store.recent_polls(id, 10)?,
        None => Vec::new(),
    };
    let _ = writeln!(out, "  recent polls:");
    if polls.is_empty() {
        let _ = writeln!(out, "    none");
    }
    for p in polls {
        let _ = writeln!(
            out,
            "    {}  {:<12} {:>5} ms  {:>3} items, {} new{}, stories {} new / {} merged{}{}",
            when(Some(p.started_at)),
            p.outcome,
            p.duration_ms,
            p.items,
            p.items_new,
            match p.items_skipped {
                0 => String::new(),
                n => format!(", {n} skipped"),
            },
            p.stories_new,
            p.stories_merged,
            match (p.pages_fetched, p.pages_failed, p.pages_skipped) {
                (0, 0, 0) => String::new(),
                (f, x, k) => format!(", full text {f} fetched / {x} failed / {k} skipped"),
            },
            p.error
                .map(|e| format!("  {}", escape_line(&e)))
                .unwrap_or_default()
        );
    }
    Ok(out)
}

/// `sources test URL|ID`: fetch and parse without storing, and say what
/// happened at each stage. Reads as the poll does (`pipeline::read_feed`).
pub async fn sources_test(config: &Config, target: &str) -> Result<String, String> {
    let (url, forced, private_origin, zone) = match config.source(target) {
        Some(s) => (
            s.url.clone(),
            s.encoding,
            s.allow_private_addresses.then(|| s.url.clone()),
            s.timezone,
        ),
        None => (
            url::Url::parse(target)
                .map_err(|e| format!("{target:?} is neither a source id nor a URL: {e}"))?,
            None,
            None,
            None,
        ),
    };
    let fetcher = Fetcher::new(&config.fetch).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let _ = writeln!(out, "GET {url}");
    let how = ReadAs {
        validators: None,
        private_origin: private_origin.as_ref(),
        forced,
        zone,
    };
    let (body, decoded, feed) = match read_feed(&fetcher, &url, how).await {
        Ok(FeedRead::Read {
            body,
            decoded,
            feed,
        }) => (body, decoded, feed),
        Ok(FeedRead::NotModified { .. }) => {
            return Ok(out + "  304 Not Modified (unexpected without validators)\n");
        }
        Err(e) => {
            return Err(format!(
                "{out}  fetch failed: {}",
                escape_line(&e.to_string())
            ));
        }
    };
    test_http_lines(&mut out, &url, &body);
    test_charset_line(&mut out, &decoded.charset);
    let feed = match feed {
        Ok(f) => f,
        Err(e) => {
            return Err(format!(
                "{out}parse failed: {}",
                escape_line(&e.to_string())
            ));
        }
    };
    test_feed_lines(&mut out, &feed);
    let normalizer = Normalizer::new(&config.normalize);
    for (i, item) in feed.items.iter().take(10).enumerate() {
        let n = normalizer.normalize_explained(item);
        let _ = writeln!(
            out,
            "  {:>2}. {}  [{}]{}",
            i + 1,
            escape_line(&n.title),
            &n.content_hash.0[..12],
            item.published
                .map(|p| format!("  {}", p.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default()
        );
        if !n.removed.is_empty() {
            let _ = writeln!(out, "      removed: {}", escape_line(&n.removed.join("; ")));
        }
    }
    Ok(out)
}

/// `sources test`: status, size, redirects and caching headers.
fn test_http_lines(out: &mut String, url: &url::Url, body: &crate::fetch::Body) {
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
}

/// `sources test`: the charset decision and why.
fn test_charset_line(out: &mut String, c: &crate::decode::CharsetDecision) {
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
}

/// `sources test`: format, title, items read, skipped and repaired.
fn test_feed_lines(out: &mut String, feed: &crate::model::ParsedFeed) {
    let _ = writeln!(
        out,
        "format {}: {:?}, {} items{}{}{}",
        feed.format,
        feed.title.as_deref().unwrap_or("(no title)"),
        feed.items.len(),
        if feed.items_in_document > 0
            && (feed.items.len() + feed.skipped < feed.items_in_document || feed.items.is_empty())
        {
            format!(
                " ({} of {} in the document read)",
                feed.items.len(),
                feed.items_in_document
            )
        } else {
            String::new()
        },
        match feed.skipped {
            0 => String::new(),
            n => format!("\n  skipped: {n} items with no title, text or link"),
        },
        if feed.repairs.is_empty() {
            String::new()
        } else {
            format!("\n  repaired: {}", escape_line(&feed.repairs.join("; ")))
        }
    );
    if !feed.unreadable_dates.is_empty() {
        let _ = writeln!(
            out,
            "  unreadable dates (those items are dated when first seen): {}",
            feed.unreadable_dates
                .iter()
                .map(|d| format!("{d:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// `topics list`: a table, columns padded by display width.
pub fn topics_list(config: &Config, store: &Reader) -> crate::store::Result<String> {
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
pub fn topics_preview(store: &Reader, query: &Query, limit: usize) -> crate::store::Result<String> {
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

// ---- editing -----------------------------------------------------------------

/// What a URL turned out to be when fetched.
enum Probe {
    Feed {
        title: Option<String>,
        items: usize,
    },
    Page {
        url: url::Url,
        feeds: Vec<crate::discover::Discovered>,
    },
}

/// Fetches `url` and tells a feed (parsed) from an HTML page (its feeds).
async fn probe(fetcher: &Fetcher, url: &url::Url) -> Result<Probe, String> {
    let body = match fetcher.fetch(url, &Validators::default()).await {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified { .. }) => return Err("answered 304 Not Modified".into()),
        Err(e) => return Err(format!("fetch failed: {e}")),
    };
    let final_url = url::Url::parse(&body.final_url).unwrap_or_else(|_| url.clone());
    let decoded = crate::pipeline::decode_body(&body, None);
    if crate::discover::looks_like_html(body.content_type.as_deref(), &decoded.text) {
        let feeds = crate::discover::feeds_in(&decoded.text, &final_url);
        return Ok(Probe::Page {
            url: final_url,
            feeds,
        });
    }
    let feed = crate::pipeline::parse_body(&body, &decoded, parse::DEFAULT_ZONE)
        .map_err(|e| format!("does not parse as a feed: {e}"))?;
    Ok(Probe::Feed {
        // The title may become the source's name in config.toml: no
        // control characters, bidi overrides or line breaks.
        title: feed
            .title
            .map(|t| crate::printable::clean_name(&t))
            .filter(|t| !t.is_empty()),
        items: feed.items.len(),
    })
}

fn duplicate_of(config: &Config, url: &str) -> Result<(), EditError> {
    match crate::edit::source_with_url(config, url) {
        Some(s) => Err(EditError::Refused(format!(
            "{url} is already configured as source {:?} ({})",
            s.id.0, s.url
        ))),
        None => Ok(()),
    }
}

/// `host` or `host:port` of a URL (the name of a source with no title).
fn host_and_port(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("source");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// `sources add`'s arguments.
#[derive(Debug, Default)]
pub struct AddSource {
    pub url: String,
    pub id: Option<String>,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub schedule: Option<String>,
    /// Which of several discovered feeds (1-based).
    pub pick: Option<usize>,
    /// Fetch the URL first (discovery, name, a parse check).
    pub fetch: bool,
}

/// `sources add`: try the URL (unless told not to), find the feed on an HTML
/// page, then append the source to the config. Returns what to print.
pub async fn sources_add(config: &Config, req: AddSource) -> Result<String, EditError> {
    if let Some(id) = &req.id
        && !crate::config::valid_id(id)
    {
        // Checked here: the config validation would blame a line of the
        // edited file, which is not on disk.
        return Err(EditError::Refused(format!(
            "--id {id:?} is not a valid id: use a-z, 0-9 and '-' (at most 64, not starting with '-'); nothing was written"
        )));
    }
    let mut url = url::Url::parse(req.url.trim())
        .map_err(|e| EditError::Refused(format!("invalid URL {:?}: {e}", req.url)))?;
    duplicate_of(config, url.as_str())?;
    let mut note = String::new();
    let mut title = None;
    if req.fetch {
        let fetcher = Fetcher::new(&config.fetch).map_err(|e| EditError::Io(e.to_string()))?;
        let hint = "(--no-fetch adds it without trying)";
        let mut found = probe(&fetcher, &url)
            .await
            .map_err(|e| EditError::Refused(format!("{url}: {e} {hint}")))?;
        if let Probe::Page { url: page, feeds } = &found {
            let chosen = match (feeds.len(), req.pick) {
                (0, _) => {
                    return Err(EditError::Refused(format!(
                        "{page} is an HTML page that links to no feed \
                         (no <link rel=\"alternate\" type=\"application/rss+xml\"> or similar)"
                    )));
                }
                (1, None) => &feeds[0],
                (n, Some(k)) if (1..=n).contains(&k) => &feeds[k - 1],
                (n, pick) => {
                    let mut msg = match pick {
                        Some(k) => format!("--pick {k}: {page} links to {n} feeds:\n"),
                        None => format!("{page} links to {n} feeds; choose one with --pick N:\n"),
                    };
                    for (i, f) in feeds.iter().enumerate() {
                        let _ = writeln!(
                            msg,
                            "  {}. {}  ({}{})",
                            i + 1,
                            f.url,
                            f.kind,
                            f.title
                                .as_deref()
                                .map(|t| format!(", {t:?}"))
                                .unwrap_or_default()
                        );
                    }
                    return Err(EditError::Refused(msg.trim_end().to_string()));
                }
            };
            let _ = writeln!(note, "found {} on {page}", chosen.url);
            url = chosen.url.clone();
            duplicate_of(config, url.as_str())?;
            found = probe(&fetcher, &url)
                .await
                .map_err(|e| EditError::Refused(format!("{url}: {e} {hint}")))?;
        }
        match found {
            Probe::Feed {
                title: t, items, ..
            } => {
                let _ = writeln!(
                    note,
                    "{} parses: {}, {items} items",
                    url,
                    t.as_deref().unwrap_or("(no title)")
                );
                title = t;
            }
            Probe::Page { .. } => {
                return Err(EditError::Refused(format!(
                    "{url} is an HTML page, not a feed {hint}"
                )));
            }
        }
    }
    let mut edit = ConfigEdit::open(&config.path)?;
    // Again under the lock: another admin may have added it meanwhile.
    duplicate_of(edit.config(), url.as_str())?;
    let existing: Vec<String> = edit
        .config()
        .sources
        .iter()
        .map(|s| s.id.0.clone())
        .collect();
    // No name given and none found: the host (and port), and the id from
    // the whole URL rather than from that.
    let named = req.name.is_some() || title.is_some();
    let name = req
        .name
        .clone()
        .or(title)
        .unwrap_or_else(|| host_and_port(&url));
    let id = match &req.id {
        Some(id) => {
            if let Some(s) = edit.config().source(id) {
                return Err(EditError::Refused(format!(
                    "id {id:?} is already used by source {} ({})",
                    s.name, s.url
                )));
            }
            id.clone()
        }
        None => crate::edit::derive_id(if named { &name } else { "" }, url.as_str(), &|c| {
            existing.iter().any(|e| e == c)
        }),
    };
    edit.add_source(&NewSource {
        id: id.clone(),
        name: name.clone(),
        url: url.to_string(),
        tags: req.tags.clone(),
        schedule: req.schedule.clone(),
        enabled: true,
    })?;
    edit.save()?;
    Ok(format!(
        "{note}added source {id} ({name}) <{url}> to {}\n",
        config.path.display()
    ))
}

/// `sources import`: every feed outline not already configured, in one edit.
pub async fn sources_import(
    config: &Config,
    file: &std::path::Path,
    extra_tags: &[String],
    fetch: bool,
) -> Result<String, EditError> {
    let bytes = std::fs::read(file)
        .map_err(|e| EditError::Io(format!("{}: cannot read: {e}", file.display())))?;
    let outlines = crate::opml_io::read(&bytes)
        .map_err(|e| EditError::Refused(format!("{}: {e}; nothing imported", file.display())))?;
    let mut out = String::new();
    let mut fresh: Vec<crate::opml_io::Entry> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for mut e in outlines.entries {
        if let Some(s) = crate::edit::source_with_url(config, &e.url) {
            skipped.push(format!("{}: already source {}", e.url, s.id.0));
            continue;
        }
        let key = crate::edit::url_key(&e.url);
        if fresh.iter().any(|f| crate::edit::url_key(&f.url) == key) {
            skipped.push(format!("{}: listed twice in the file", e.url));
            continue;
        }
        for t in extra_tags {
            if !e.tags.contains(t) {
                e.tags.push(t.clone());
            }
        }
        fresh.push(e);
    }
    let mut failed: Vec<String> = Vec::new();
    if fetch && !fresh.is_empty() {
        let fetcher = Fetcher::new(&config.fetch).map_err(|e| EditError::Io(e.to_string()))?;
        let bar = crate::progress::progress_bar(fresh.len() as u64, "checking");
        let results: Vec<(usize, Result<Probe, String>)> = {
            use futures::StreamExt as _;
            let fetcher = &fetcher;
            let bar = &bar;
            futures::stream::iter(fresh.iter().enumerate().map(|(i, e)| async move {
                let r = match url::Url::parse(&e.url) {
                    Ok(u) => probe(fetcher, &u).await,
                    Err(err) => Err(err.to_string()),
                };
                bar.inc(1);
                (i, r)
            }))
            .buffer_unordered(config.fetch.concurrency.max(1))
            .collect()
            .await
        };
        bar.finish_and_clear();
        for (i, r) in results {
            match r {
                Ok(Probe::Feed { title, .. }) => {
                    if fresh[i].name.is_empty()
                        && let Some(t) = title
                    {
                        fresh[i].name = t;
                    }
                }
                Ok(Probe::Page { .. }) => {
                    failed.push(format!("{}: an HTML page, not a feed", fresh[i].url))
                }
                Err(e) => failed.push(format!("{}: {e}", fresh[i].url)),
            }
        }
        failed.sort();
    }
    let mut edit = ConfigEdit::open(&config.path)?;
    let mut taken: std::collections::HashSet<String> = edit
        .config()
        .sources
        .iter()
        .map(|s| s.id.0.clone())
        .collect();
    let mut added = 0usize;
    for e in &fresh {
        // Under the lock, against the file as it is now.
        if let Some(s) = crate::edit::source_with_url(edit.config(), &e.url) {
            skipped.push(format!("{}: already source {}", e.url, s.id.0));
            continue;
        }
        let cleaned = crate::printable::clean_name(&e.name);
        let name = if cleaned.is_empty() {
            url::Url::parse(&e.url)
                .ok()
                .map(|u| host_and_port(&u))
                .unwrap_or_else(|| e.url.clone())
        } else {
            cleaned.clone()
        };
        let id = crate::edit::derive_id(&cleaned, &e.url, &|c| taken.contains(c));
        taken.insert(id.clone());
        edit.add_source(&NewSource {
            id,
            name,
            url: e.url.clone(),
            tags: e.tags.clone(),
            schedule: None,
            enabled: true,
        })?;
        added += 1;
    }
    if added > 0 {
        edit.save()?;
    }
    let _ = writeln!(
        out,
        "imported {added} source{} from {} into {}; {} duplicate{} skipped, {} outline{} rejected{}",
        if added == 1 { "" } else { "s" },
        file.display(),
        config.path.display(),
        skipped.len(),
        if skipped.len() == 1 { "" } else { "s" },
        outlines.rejected.len(),
        if outlines.rejected.len() == 1 {
            ""
        } else {
            "s"
        },
        if fetch {
            format!(", {} failed the test fetch (added anyway)", failed.len())
        } else {
            String::new()
        }
    );
    for s in &skipped {
        let _ = writeln!(out, "  skipped {s}");
    }
    for (url, why) in &outlines.rejected {
        let _ = writeln!(out, "  rejected {url}: {why}");
    }
    for f in &failed {
        let _ = writeln!(out, "  failed {f}");
    }
    Ok(out)
}

/// `sources export`: OPML 2.0 of every configured source.
pub fn sources_export(config: &Config) -> Result<String, String> {
    crate::opml_io::write(&config.sources, Utc::now())
}

/// One locked, validated, atomic edit of the config.
pub fn edit_one(
    config: &Config,
    change: impl FnOnce(&mut ConfigEdit) -> Result<(), EditError>,
) -> Result<Config, EditError> {
    let mut edit = ConfigEdit::open(&config.path)?;
    change(&mut edit)?;
    edit.save()
}

/// `sources remove ID [--purge]`: the config first (so the daemon stops
/// polling it), then the stored copies. `--purge` of an id that has already
/// left the config only purges.
pub fn remove_source(config: &Config, id: &str, purge: bool) -> Result<String, EditError> {
    if purge && !config.storage.path.exists() {
        // Before the config is touched: nothing half done.
        return Err(EditError::Io(crate::pipeline::missing_database(config)));
    }
    let mut out = String::new();
    let new_config = if config.source(id).is_some() || !purge {
        let new = edit_one(config, |e| e.remove_source(id))?;
        out += &format!("removed source {id} from {}\n", config.path.display());
        new
    } else {
        config.clone()
    };
    if !purge {
        out += "its stories stay; `--purge` would delete them\n";
        return Ok(out);
    }
    let known = crate::pipeline::open_reader(&new_config)
        .map_err(|e| e.to_string())
        .and_then(|r| r.has_source(id).map_err(|e| e.to_string()))
        .map_err(EditError::Io)?;
    let (mut store, _) = crate::pipeline::open_existing_writer(&new_config)
        .map_err(|e| EditError::Io(e.to_string()))?;
    if !known && out.is_empty() {
        return Err(EditError::Refused(format!(
            "no source with id {id:?} in {} or the database",
            config.path.display()
        )));
    }
    let (copies, stories) = store
        .purge_source(id)
        .map_err(|e| EditError::Io(format!("purging {id}: {e}")))?;
    out += &format!(
        "purged {copies} cop{} of {id}, and {stories} stor{} no other source carried\n",
        if copies == 1 { "y" } else { "ies" },
        if stories == 1 { "y" } else { "ies" },
    );
    Ok(out)
}
