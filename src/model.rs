//! Types shared by the stages. No stage-specific crate types leak past here
//! (feed-rs types stop in `parse`, rusqlite types stop in `store`).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A source's configured id (`[a-z0-9-]`, unique in the config).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SourceId(pub String);

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SourceId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Maps keyed by source id are looked up with a `&str` too.
/// Read as the text it is (formatting, slicing a short form).
impl std::ops::Deref for SourceId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SourceId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SourceId {
    fn from(s: &str) -> SourceId {
        SourceId(s.to_string())
    }
}

/// A story's public id: the content hash of its first copy, 64 lowercase
/// hex digits; never changes (feeds' entry ids, export, the CLI).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct StoryId(pub String);

impl StoryId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Read as the text it is (formatting, slicing a short form).
impl std::ops::Deref for StoryId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for StoryId {
    fn from(s: &str) -> StoryId {
        StoryId(s.to_string())
    }
}

impl std::borrow::Borrow<str> for StoryId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// BLAKE3 of a normalized body, as 64 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ContentHash(pub String);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(blake3::hash(bytes).to_hex().to_string())
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The syndication format a document was parsed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FeedFormat {
    Rss0,
    Rss1,
    Rss2,
    Atom,
    /// Atom 0.3 (`http://purl.org/atom/ns#`), read as Atom 1.0.
    Atom03,
    Json,
}

impl fmt::Display for FeedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FeedFormat::Rss0 => "RSS 0.9x",
            FeedFormat::Rss1 => "RSS 1.0",
            FeedFormat::Rss2 => "RSS 2.0",
            FeedFormat::Atom => "Atom",
            FeedFormat::Atom03 => "Atom 0.3",
            FeedFormat::Json => "JSON Feed",
        })
    }
}

/// One parsed feed document.
#[derive(Clone, Debug)]
pub struct ParsedFeed {
    pub format: FeedFormat,
    pub title: Option<String>,
    pub language: Option<String>,
    pub items: Vec<ParsedItem>,
    /// What the lenient second reading fixed (empty when none was needed).
    pub repairs: Vec<String>,
    /// Items (`<item>`, `<entry>`, JSON `items`) the document holds,
    /// whether or not they could be read.
    pub items_in_document: usize,
    /// Items skipped for having neither a title, nor text, nor a link.
    pub skipped: usize,
    /// Where the document broke and how many entries before it were kept,
    /// when the lenient reading had to cut it (also in `repairs`).
    pub broken: Option<String>,
    /// Dates the date reader could not read (distinct, at most 10): those
    /// items fall back to "when seen".
    pub unreadable_dates: Vec<String>,
}

/// One item as the outlet published it (HTML fields are not yet sanitized).
#[derive(Clone, Debug, Default)]
pub struct ParsedItem {
    /// The item's own guid/id; `None` when the feed gave none.
    pub guid: Option<String>,
    pub link: Option<String>,
    pub title: Option<String>,
    pub summary_html: Option<String>,
    pub content_html: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    /// Files the item carries, at most `MAX_ENCLOSURES` (absolute http(s)
    /// URLs, each once).
    pub enclosures: Vec<Enclosure>,
    /// Its categories (RSS `<category>`, Atom `<category>`'s label or term,
    /// JSON Feed `tags`): plain text, each once, at most `MAX_CATEGORIES`
    /// of at most `MAX_CATEGORY_CHARS` characters.
    pub categories: Vec<String>,
}

/// A file an item carries: an RSS `<enclosure>`, a Media RSS
/// `media:content` or `media:thumbnail`, an Atom `<link rel="enclosure">`,
/// a JSON Feed attachment. Stored as JSON (`copies.enclosures`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enclosure {
    /// Absolute, http(s), at most `MAX_ENCLOSURE_URL_BYTES`.
    pub url: String,
    /// `type/subtype`, lower case, when the feed gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Bytes, when the feed gave a length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// Enclosures kept of one item (and of one stored copy).
pub const MAX_ENCLOSURES: usize = 16;
/// Longer enclosure URLs are dropped.
pub const MAX_ENCLOSURE_URL_BYTES: usize = 2048;
/// Categories kept of one item.
pub const MAX_CATEGORIES: usize = 32;
/// A longer category is cut to this many characters.
pub const MAX_CATEGORY_CHARS: usize = 100;

impl ParsedItem {
    /// The key that identifies this item within its source across polls:
    /// the guid, else the link, else a hash of what the item says (feed-rs
    /// would invent a random id, which would make every poll look new).
    pub fn key(&self) -> String {
        if let Some(g) = self.guid.as_deref().filter(|g| !g.trim().is_empty()) {
            return format!("guid:{}", g.trim());
        }
        if let Some(l) = self.link.as_deref().filter(|l| !l.trim().is_empty()) {
            return format!("link:{}", l.trim());
        }
        format!("hash:{}", self.raw_hash())
    }

    /// Hash of the item's raw text fields: tells whether an outlet edited it.
    pub fn raw_hash(&self) -> String {
        let mut h = blake3::Hasher::new();
        for part in [&self.title, &self.summary_html, &self.content_html] {
            h.update(part.as_deref().unwrap_or("").as_bytes());
            h.update(&[0]);
        }
        h.finalize().to_hex()[..32].to_string()
    }
}

/// How copies' bodies are compressed when stored (`[storage]
/// compression`; `store::body`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyCodec {
    /// LZ4: 3.4× faster to compress than zstd at level 1, blocks ~26%
    /// larger (the default since issue 24's fourth round).
    #[default]
    Lz4,
    /// zstd at level 1: a smaller database for more CPU per new copy.
    Zstd,
}

/// HTTP caching validators remembered from the last successful fetch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What normalization made of an item.
#[derive(Clone, Debug)]
pub struct NormalizedItem {
    /// Title with outlet decorations removed (display form).
    pub title: String,
    /// Body text: NFKC, case-folded, boilerplate removed, one paragraph a line.
    pub text: String,
    /// The story key: hash of the folded body (or title, see `normalize`).
    pub content_hash: ContentHash,
    /// Human-readable notes of what boilerplate was removed.
    pub removed: Vec<String>,
    /// Stripping boilerplate left nothing of a text the feed had: `text`
    /// is the text as published instead (folded, nothing removed). Counted
    /// per poll so an over-eager rule shows up in `/metrics` and
    /// `sources show` rather than as empty stories.
    pub text_fallback: bool,
}

/// What the scheduler knows of a source (from the database; `schedule`
/// decides with it, `store` keeps it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollState {
    pub last_poll_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// The server asked us to wait until then (429/503 `Retry-After`).
    pub retry_after: Option<DateTime<Utc>>,
    /// The server answered 410 Gone: never poll again until the URL changes.
    pub gone: bool,
}

/// Thresholds (`[dedupe]` in the config). Defaults and their evidence are in
/// docs/dedupe.md.
#[derive(Clone, Debug, PartialEq)]
pub struct DedupeParams {
    pub enabled: bool,
    /// Merge when Jaccard similarity of the shingle sets reaches this.
    pub jaccard: f64,
    /// Merge a shorter text whose shingles are this much contained in a
    /// longer one that starts the same way (a summary).
    pub containment: f64,
    /// Neither text may be shorter than this many folded characters.
    pub min_chars: usize,
    /// Copies published further apart than this are different stories
    /// (follow-ups), whatever their text.
    pub max_days_apart: i64,
}

impl Default for DedupeParams {
    fn default() -> Self {
        DedupeParams {
            enabled: true,
            jaccard: 0.6,
            containment: 0.9,
            min_chars: 30,
            max_days_apart: 3,
        }
    }
}

/// How a copy joined its story (`copies.merge_method`, `export`'s
/// `method`, `stories explain`): the one list of names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The copy that started the story.
    First,
    /// The same normalized text as a stored copy.
    Exact,
    /// Near duplicate by shingle resemblance.
    Jaccard,
    /// Near duplicate: one text holds the other (a summary of the article).
    Containment,
    /// A story merged into another when a copy matched both.
    Bridge,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::First => "first",
            Method::Exact => "exact",
            Method::Jaccard => "jaccard",
            Method::Containment => "containment",
            Method::Bridge => "bridge",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A database URL with its password (if any) replaced by `***`, for logs
/// and messages.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        // A key=value string: hide `password=…`.
        Err(_) => url
            .split_whitespace()
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}
