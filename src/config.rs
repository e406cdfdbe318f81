//! Reads and validates `config.toml` into typed structs. Nothing else in the
//! crate reads TOML. Every error names the file, the line and the key.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::model::SourceId;

/// A loaded, validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub storage: Storage,
    pub fetch: Fetch,
    pub schedule: Schedule,
    pub server: Server,
    pub normalize: Normalize,
    /// `[dedupe]`: near-duplicate detection thresholds.
    pub dedupe: crate::model::DedupeParams,
    /// `[log].level`: a tracing filter such as "info" or "newsriver=debug".
    pub log_level: Option<String>,
    pub sources: Vec<Source>,
    pub topics: Vec<Topic>,
}

#[derive(Clone, Debug)]
pub struct Storage {
    /// Absolute path of the SQLite database.
    pub path: PathBuf,
    /// `[storage].retention_days`: stories published longer ago are deleted
    /// (with their copies) and not stored again; `None` keeps everything.
    pub retention_days: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Fetch {
    pub concurrency: usize,
    pub per_host: usize,
    pub timeout_secs: u64,
    pub max_body_bytes: u64,
    /// Bytes of large feed bodies held at once, parsing included (see
    /// `fetch::Fetcher`): `max_bytes_in_flight / max_body_bytes` bodies
    /// over 1 MiB, at least one.
    pub max_bytes_in_flight: u64,
    pub user_agent: String,
    pub allow_private_addresses: bool,
    /// `file://` sources are read from disk only when this is set: a config
    /// pasted from elsewhere must not turn the daemon into a file reader.
    pub allow_file_urls: bool,
    /// Minimum spacing between the starts of two requests to one host.
    pub host_interval_ms: u64,
    /// Longest wait after repeated failures.
    pub max_backoff_secs: u64,
    /// The default of every source's `full_text` (see `fulltext`).
    pub full_text: bool,
    /// Article pages fetched for one source in one poll (`fulltext`); the
    /// rest wait for the next polls.
    pub max_pages_per_poll: usize,
}

#[derive(Clone, Debug)]
pub struct Schedule {
    pub default: cron::Schedule,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub listen: SocketAddr,
    pub base_url: Url,
    /// Where rendered feeds are also written, for nginx or a CDN.
    pub output_dir: Option<PathBuf>,
    /// Entries in each topic feed (newest first).
    pub items_per_feed: usize,
    /// Where `output_dir` is written in the file (line, column), for `check`.
    pub output_dir_at: (usize, usize),
    /// Connections served at once; more are closed as they arrive (and the
    /// server never takes more than half the process's open-file limit).
    pub max_connections: usize,
    /// A client must send a request's headers within this many seconds.
    pub header_timeout_secs: u64,
    /// A connection that moves no byte for this many seconds is closed.
    pub idle_timeout_secs: u64,
}

/// Extra boilerplate patterns on top of the built-in ones (see `normalize`).
#[derive(Clone, Debug, Default)]
pub struct Normalize {
    /// A body line matching one of these is removed.
    pub strip_lines: Vec<Regex>,
    /// The part of a title matching one of these is removed.
    pub strip_title: Vec<Regex>,
    /// A line equal to one of these starts a footer: it and the rest go.
    pub footer_headings: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Source {
    pub id: SourceId,
    pub name: String,
    pub url: Url,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub schedule: Option<cron::Schedule>,
    /// Forced charset (the outlet lies about its own).
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// This source's own host may be a private address (an intranet feed);
    /// redirects from it to any other private address are still refused.
    pub allow_private_addresses: bool,
    /// Where its zone-less dates (`2026-10-09 10:00:00`) are read; Beijing
    /// time (`parse::DEFAULT_ZONE`) when unset.
    pub timezone: Option<chrono::FixedOffset>,
    /// Fetch each new item's page and keep the article (see `fulltext`).
    pub full_text: bool,
    /// `[fetch] max_pages_per_poll`: pages of this source fetched in one poll.
    pub max_pages_per_poll: usize,
    /// Where the article is on this outlet's pages, for a page that
    /// defeats the extractor; applied only on the source's own site.
    pub full_text_selector: Option<scraper::Selector>,
}

#[derive(Clone, Debug)]
pub struct Topic {
    pub slug: String,
    pub title: String,
    /// The query as written.
    pub query: String,
    pub parsed: crate::query::Query,
    pub tags: Vec<String>,
}

/// One thing wrong with a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}:{}:{}: {}",
            path.display(),
            p.line,
            p.column,
            p
        ));
    }
    out
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// `[fetch] max_pages_per_poll` when unset: a feed's worth of new items
/// (most list 20–60), so a cold start of a large feed is spread over a few
/// polls instead of one burst at its site.
pub const DEFAULT_MAX_PAGES_PER_POLL: u64 = 50;

pub const DEFAULT_USER_AGENT: &str = concat!(
    "newsriver/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/newsriver/newsriver)"
);

/// A retention longer than this is as good as forever (and keeps the
/// cutoff date arithmetic far from overflow).
const RETENTION_DAYS_MAX: u64 = 100 * 366;

/// `[server].max_connections` by default.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 256;

// ---- raw (as written) ------------------------------------------------------

#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    schedule: RawSchedule,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    normalize: RawNormalize,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    dedupe: RawDedupe,
    #[serde(default)]
    source: Vec<RawSource>,
    #[serde(default)]
    topic: Vec<RawTopic>,
}

#[derive(Deserialize, Default)]
struct RawStorage {
    path: Option<Spanned<String>>,
    retention_days: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
struct RawFetch {
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    timeout_secs: Option<Spanned<i64>>,
    max_body_bytes: Option<Spanned<i64>>,
    max_bytes_in_flight: Option<Spanned<i64>>,
    user_agent: Option<Spanned<String>>,
    allow_private_addresses: Option<bool>,
    allow_file_urls: Option<bool>,
    host_interval_ms: Option<Spanned<i64>>,
    max_backoff_secs: Option<Spanned<i64>>,
    full_text: Option<bool>,
    max_pages_per_poll: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
struct RawSchedule {
    default: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
struct RawServer {
    listen: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    output_dir: Option<Spanned<String>>,
    items_per_feed: Option<Spanned<i64>>,
    max_connections: Option<Spanned<i64>>,
    header_timeout_secs: Option<Spanned<i64>>,
    idle_timeout_secs: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
struct RawDedupe {
    enabled: Option<bool>,
    jaccard: Option<Spanned<f64>>,
    containment: Option<Spanned<f64>>,
    min_chars: Option<Spanned<i64>>,
    max_days_apart: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
struct RawLog {
    level: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
struct RawNormalize {
    #[serde(default)]
    strip_lines: Vec<Spanned<String>>,
    #[serde(default)]
    strip_title: Vec<Spanned<String>>,
    #[serde(default)]
    footer_headings: Vec<String>,
}

#[derive(Deserialize)]
struct RawSource {
    id: Spanned<String>,
    name: Option<String>,
    url: Spanned<String>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    enabled: Option<bool>,
    schedule: Option<Spanned<String>>,
    encoding: Option<Spanned<String>>,
    allow_private_addresses: Option<bool>,
    timezone: Option<Spanned<String>>,
    full_text: Option<bool>,
    full_text_selector: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct RawTopic {
    slug: Spanned<String>,
    title: Spanned<String>,
    query: Spanned<String>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
}

// ---- loading ----------------------------------------------------------------

impl Config {
    /// Reads and validates the file at `path`.
    /// What `check` tests beyond the file itself: that `[server].output_dir`
    /// can be written (a probe file is created and removed).
    /// Not part of `load`: an admin command run by another user need not be
    /// able to write where the daemon writes.
    pub fn environment_problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Some(dir) = &self.server.output_dir {
            // Nothing is created: a missing folder is judged by the nearest
            // existing one above it (the daemon would create the rest).
            let probe = || -> std::io::Result<()> {
                let existing = dir
                    .ancestors()
                    .find(|d| d.exists())
                    .unwrap_or(Path::new("."));
                if !existing.is_dir() {
                    return Err(std::io::Error::other(format!(
                        "{} is not a folder",
                        existing.display()
                    )));
                }
                let name = existing.join(format!(".newsriver-check-{}", std::process::id()));
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&name)?;
                std::fs::remove_file(&name)
            };
            if let Err(e) = probe() {
                let (line, column) = self.server.output_dir_at;
                problems.push(Problem {
                    line,
                    column,
                    key: "server.output_dir".into(),
                    message: format!("{} is not writable: {e}", dir.display()),
                });
            }
        }
        problems
    }

    /// Problems found after loading, in the same `file:line:col: key:
    /// message` form as load errors.
    pub fn render_problems(&self, problems: &[Problem]) -> String {
        render_problems(&self.path, problems)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_str_at(&text, path)
    }

    /// Validates `text` as if it were read from `path` (relative paths in it
    /// resolve against `path`'s folder).
    pub fn from_str_at(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let lines = LineIndex::new(text);
        let invalid = |problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let syntax = |e: toml::de::Error| {
            let (line, column) = e.span().map(|s| lines.at(s.start)).unwrap_or((1, 1));
            invalid(vec![Problem {
                line,
                column,
                key: String::new(),
                message: e.message().trim().replace('\n', "; "),
            }])
        };
        let root = toml::de::DeTable::parse(text).map_err(syntax)?;
        // Unknown keys are collected (not fatal at once) so that one run of
        // `check` reports them together with every other problem.
        let mut unknown: Vec<Vec<Segment>> = Vec::new();
        let raw: RawConfig =
            serde_ignored::deserialize(toml::de::Deserializer::from(root.clone()), |path| {
                unknown.push(segments(&path))
            })
            .map_err(syntax)?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut v = Validator {
            lines: &lines,
            problems: Vec::new(),
        };
        for path in &unknown {
            let (span, shown) = key_span(root.get_ref(), path);
            let name = match path.last() {
                Some(Segment::Key(k)) => k.clone(),
                _ => shown.clone(),
            };
            let parent = &path[..path.len().saturating_sub(1)];
            let known = known_keys(parent);
            let hint = closest(&name, known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_else(|| format!("; known keys here: {}", known.join(", ")));
            v.problem(span, shown, format!("unknown key `{name}`{hint}"));
        }
        let config = v.config(raw, path, &base_dir);
        if v.problems.is_empty() {
            Ok(config)
        } else {
            v.problems.sort_by_key(|p| (p.line, p.column));
            Err(invalid(v.problems))
        }
    }

    /// The sources that a poll covers: all enabled ones, or exactly the named ones.
    pub fn sources_to_poll(&self, only: &[String]) -> Result<Vec<Source>, String> {
        if only.is_empty() {
            return Ok(self.sources.iter().filter(|s| s.enabled).cloned().collect());
        }
        let mut out = Vec::new();
        for id in only {
            match self.sources.iter().find(|s| s.id.0 == *id) {
                Some(s) => out.push(s.clone()),
                None => {
                    return Err(format!(
                        "no source with id {id:?} in {}",
                        self.path.display()
                    ));
                }
            }
        }
        Ok(out)
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id.0 == id)
    }
}

/// One step of a path into the TOML document.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn segments(path: &serde_ignored::Path<'_>) -> Vec<Segment> {
    let mut out = match path {
        serde_ignored::Path::Root => return Vec::new(),
        serde_ignored::Path::Seq { parent, .. }
        | serde_ignored::Path::Map { parent, .. }
        | serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => segments(parent),
    };
    match path {
        serde_ignored::Path::Seq { index, .. } => out.push(Segment::Index(*index)),
        serde_ignored::Path::Map { key, .. } => out.push(Segment::Key(key.clone())),
        _ => {}
    }
    out
}

/// The span of the key at `path`, and the path as `source[1].colour`.
fn key_span(root: &toml::de::DeTable<'_>, path: &[Segment]) -> (std::ops::Range<usize>, String) {
    let mut shown = String::new();
    let mut span = 0..0;
    let mut table = Some(root);
    let mut value: Option<&toml::de::DeValue<'_>> = None;
    for seg in path {
        match seg {
            Segment::Key(k) => {
                if !shown.is_empty() {
                    shown.push('.');
                }
                shown.push_str(k);
                let entry = table.and_then(|t| {
                    t.iter()
                        .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                });
                if let Some((key, v)) = entry {
                    span = key.span();
                    value = Some(v.get_ref());
                } else {
                    value = None;
                }
            }
            Segment::Index(i) => {
                shown.push_str(&format!("[{i}]"));
                value = match value {
                    Some(toml::de::DeValue::Array(items)) => items.get(*i).map(|v| {
                        span = v.span();
                        v.get_ref()
                    }),
                    _ => None,
                };
            }
        }
        table = match value {
            Some(toml::de::DeValue::Table(t)) => Some(t),
            _ => None,
        };
    }
    (span, shown)
}

const TOP_KEYS: &[&str] = &[
    "storage",
    "fetch",
    "schedule",
    "server",
    "normalize",
    "log",
    "source",
    "topic",
];
const FETCH_KEYS: &[&str] = &[
    "concurrency",
    "per_host",
    "timeout_secs",
    "max_body_bytes",
    "max_bytes_in_flight",
    "user_agent",
    "allow_private_addresses",
    "allow_file_urls",
    "host_interval_ms",
    "max_backoff_secs",
    "full_text",
    "max_pages_per_poll",
];
const SOURCE_KEYS: &[&str] = &[
    "id",
    "name",
    "url",
    "tags",
    "enabled",
    "schedule",
    "encoding",
    "allow_private_addresses",
    "timezone",
    "full_text",
    "full_text_selector",
];
const TOPIC_KEYS: &[&str] = &["slug", "title", "query", "tags"];

/// The keys allowed in the table at `parent`.
fn known_keys(parent: &[Segment]) -> &'static [&'static str] {
    let first = match parent.first() {
        Some(Segment::Key(k)) => k.as_str(),
        _ => return TOP_KEYS,
    };
    match first {
        "storage" => &["path", "retention_days"],
        "fetch" => FETCH_KEYS,
        "schedule" => &["default"],
        "server" => &[
            "listen",
            "base_url",
            "output_dir",
            "items_per_feed",
            "max_connections",
            "header_timeout_secs",
            "idle_timeout_secs",
        ],
        "normalize" => &["strip_lines", "strip_title", "footer_headings"],
        "log" => &["level"],
        "dedupe" => &[
            "enabled",
            "jaccard",
            "containment",
            "min_chars",
            "max_days_apart",
        ],
        "source" => SOURCE_KEYS,
        "topic" => TOPIC_KEYS,
        _ => &[],
    }
}

/// The known key a typo most likely meant.
fn closest<'a>(typo: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(typo, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line and column of a byte offset.
    fn at(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        (line, offset - self.starts[line - 1] + 1)
    }
}

struct Validator<'a> {
    lines: &'a LineIndex,
    problems: Vec<Problem>,
}

/// A source id or topic slug: `[a-z0-9-]`, 1 to 64 characters, not starting with `-`.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

impl Validator<'_> {
    fn problem(
        &mut self,
        span: std::ops::Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) {
        let (line, column) = self.lines.at(span.start);
        self.problems.push(Problem {
            line,
            column,
            key: key.into(),
            message: message.into(),
        });
    }

    fn positive(&mut self, v: Option<Spanned<i64>>, key: &str, default: u64) -> u64 {
        match v {
            None => default,
            Some(s) if *s.get_ref() >= 1 => *s.get_ref() as u64,
            Some(s) => {
                self.problem(
                    s.span(),
                    key,
                    format!("must be at least 1, got {}", s.get_ref()),
                );
                default
            }
        }
    }

    fn cron(&mut self, s: &Spanned<String>, key: &str) -> Option<cron::Schedule> {
        match cron::Schedule::from_str(s.get_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                self.problem(
                    s.span(),
                    key,
                    format!(
                        "invalid cron expression {:?}: {} (six fields, seconds first, e.g. \"0 */15 * * * *\")",
                        s.get_ref(),
                        one_line(&e.to_string())
                    ),
                );
                None
            }
        }
    }

    fn regexes(&mut self, list: Vec<Spanned<String>>, key: &str) -> Vec<Regex> {
        let mut out = Vec::new();
        for (i, s) in list.into_iter().enumerate() {
            match Regex::new(s.get_ref()) {
                Ok(r) => out.push(r),
                Err(e) => self.problem(
                    s.span(),
                    format!("{key}[{i}]"),
                    format!("invalid regular expression: {e}"),
                ),
            }
        }
        out
    }

    fn tags(&mut self, tags: Vec<Spanned<String>>, key: &str) -> Vec<String> {
        let mut out = Vec::new();
        for t in tags {
            let tag = t.get_ref().trim().to_string();
            if tag.is_empty() {
                self.problem(t.span(), key, "tags must not be empty");
            } else if !out.contains(&tag) {
                out.push(tag);
            }
        }
        out
    }

    fn config(&mut self, raw: RawConfig, path: &Path, base_dir: &Path) -> Config {
        let storage_path = raw
            .storage
            .path
            .map(|s| s.into_inner())
            .unwrap_or_else(|| "newsriver.db".to_string());
        // Under systemd (StateDirectory=) a relative database path lives in
        // the state directory, not beside a read-only /etc config.
        let state_dir = std::env::var_os("STATE_DIRECTORY")
            .map(PathBuf::from)
            .filter(|d| d.is_absolute());
        let retention_days = raw.storage.retention_days.map(|d| {
            self.positive(Some(d), "storage.retention_days", 1)
                .min(RETENTION_DAYS_MAX)
        });
        let storage = Storage {
            path: state_dir.as_deref().unwrap_or(base_dir).join(storage_path),
            retention_days,
        };

        let f = raw.fetch;
        let fetch = Fetch {
            concurrency: self.positive(f.concurrency, "fetch.concurrency", 32) as usize,
            per_host: self.positive(f.per_host, "fetch.per_host", 4) as usize,
            timeout_secs: self.positive(f.timeout_secs, "fetch.timeout_secs", 20),
            max_body_bytes: self.positive(
                f.max_body_bytes,
                "fetch.max_body_bytes",
                10 * 1024 * 1024,
            ),
            max_bytes_in_flight: self.positive(
                f.max_bytes_in_flight,
                "fetch.max_bytes_in_flight",
                32 * 1024 * 1024,
            ),
            user_agent: match f.user_agent {
                Some(ua) if ua.get_ref().trim().is_empty() => {
                    self.problem(ua.span(), "fetch.user_agent", "must not be empty");
                    DEFAULT_USER_AGENT.to_string()
                }
                Some(ua) if reqwest::header::HeaderValue::from_str(ua.get_ref()).is_err() => {
                    self.problem(
                        ua.span(),
                        "fetch.user_agent",
                        "is not a valid HTTP header value",
                    );
                    DEFAULT_USER_AGENT.to_string()
                }
                Some(ua) => ua.into_inner(),
                None => DEFAULT_USER_AGENT.to_string(),
            },
            allow_private_addresses: f.allow_private_addresses.unwrap_or(false),
            allow_file_urls: f.allow_file_urls.unwrap_or(false),
            host_interval_ms: match f.host_interval_ms {
                Some(v) if *v.get_ref() < 0 => {
                    self.problem(v.span(), "fetch.host_interval_ms", "must not be negative");
                    0
                }
                Some(v) => *v.get_ref() as u64,
                None => 0,
            },
            max_backoff_secs: self.positive(
                f.max_backoff_secs,
                "fetch.max_backoff_secs",
                24 * 3600,
            ),
            full_text: f.full_text.unwrap_or(false),
            max_pages_per_poll: self.positive(
                f.max_pages_per_poll,
                "fetch.max_pages_per_poll",
                DEFAULT_MAX_PAGES_PER_POLL,
            ) as usize,
        };

        let default_cron = match &raw.schedule.default {
            Some(s) => self.cron(s, "schedule.default"),
            None => None,
        };
        let schedule = Schedule {
            default: default_cron.unwrap_or_else(|| {
                cron::Schedule::from_str("0 */15 * * * *")
                    .expect("built-in default schedule parses")
            }),
        };

        let listen = match raw.server.listen {
            Some(s) => match s.get_ref().parse::<SocketAddr>() {
                Ok(a) => a,
                Err(e) => {
                    self.problem(
                        s.span(),
                        "server.listen",
                        format!("expected host:port such as 127.0.0.1:8080: {e}"),
                    );
                    default_listen()
                }
            },
            None => default_listen(),
        };
        let base_url = match raw.server.base_url {
            Some(s) => match Url::parse(s.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => with_trailing_slash(u),
                Ok(_) => {
                    self.problem(
                        s.span(),
                        "server.base_url",
                        "must be an http:// or https:// URL",
                    );
                    default_base_url()
                }
                Err(e) => {
                    self.problem(
                        s.span(),
                        "server.base_url",
                        format!("invalid URL {:?}: {e}", s.get_ref()),
                    );
                    default_base_url()
                }
            },
            None => default_base_url(),
        };
        let output_dir_at = raw
            .server
            .output_dir
            .as_ref()
            .map_or((1, 1), |d| self.lines.at(d.span().start));
        let server = Server {
            listen,
            base_url,
            output_dir: raw
                .server
                .output_dir
                .map(|d| d.into_inner())
                .filter(|d| !d.trim().is_empty())
                .map(|d| base_dir.join(d)),
            output_dir_at,
            items_per_feed: self.positive(raw.server.items_per_feed, "server.items_per_feed", 50)
                as usize,
            max_connections: self.positive(
                raw.server.max_connections,
                "server.max_connections",
                DEFAULT_MAX_CONNECTIONS,
            ) as usize,
            header_timeout_secs: self.positive(
                raw.server.header_timeout_secs,
                "server.header_timeout_secs",
                10,
            ),
            idle_timeout_secs: self.positive(
                raw.server.idle_timeout_secs,
                "server.idle_timeout_secs",
                60,
            ),
        };

        let normalize = Normalize {
            strip_lines: self.regexes(raw.normalize.strip_lines, "normalize.strip_lines"),
            strip_title: self.regexes(raw.normalize.strip_title, "normalize.strip_title"),
            footer_headings: raw.normalize.footer_headings,
        };

        let defaults = crate::model::DedupeParams::default();
        let mut ratio = |v: Option<Spanned<f64>>, key: &str, default: f64| match v {
            Some(v) if !(0.0..=1.0).contains(v.get_ref()) => {
                self.problem(
                    v.span(),
                    key,
                    format!("must be between 0 and 1, got {}", v.get_ref()),
                );
                default
            }
            Some(v) => *v.get_ref(),
            None => default,
        };
        let jaccard = ratio(raw.dedupe.jaccard, "dedupe.jaccard", defaults.jaccard);
        let containment = ratio(
            raw.dedupe.containment,
            "dedupe.containment",
            defaults.containment,
        );
        let dedupe = crate::model::DedupeParams {
            enabled: raw.dedupe.enabled.unwrap_or(defaults.enabled),
            jaccard,
            containment,
            min_chars: self.positive(
                raw.dedupe.min_chars,
                "dedupe.min_chars",
                defaults.min_chars as u64,
            ) as usize,
            max_days_apart: self.positive(
                raw.dedupe.max_days_apart,
                "dedupe.max_days_apart",
                defaults.max_days_apart as u64,
            ) as i64,
        };

        let log_level = match raw.log.level {
            Some(l) if tracing_subscriber::EnvFilter::try_new(l.get_ref()).is_err() => {
                self.problem(
                    l.span(),
                    "log.level",
                    format!(
                        "invalid level {:?}: use error, warn, info, debug or trace",
                        l.get_ref()
                    ),
                );
                None
            }
            Some(l) => Some(l.into_inner()),
            None => None,
        };

        let mut seen_ids: HashMap<String, usize> = HashMap::new();
        let mut sources = Vec::new();
        for (i, s) in raw.source.into_iter().enumerate() {
            let key = |field: &str| format!("source[{i}].{field}");
            let id = s.id.get_ref().clone();
            if !valid_id(&id) {
                self.problem(
                    s.id.span(),
                    key("id"),
                    format!("{id:?} is not a valid id: use a-z, 0-9 and '-'"),
                );
            } else if let Some(first) = seen_ids.get(&id) {
                let first = *first;
                self.problem(
                    s.id.span(),
                    key("id"),
                    format!("duplicate id {id:?} (first used on line {first})"),
                );
            } else {
                seen_ids.insert(id.clone(), self.lines.at(s.id.span().start).0);
            }
            let url = match Url::parse(s.url.get_ref().trim()) {
                Ok(u) => match u.scheme() {
                    "http" | "https" if u.host_str().is_some_and(|h| !h.is_empty()) => Some(u),
                    "http" | "https" => {
                        self.problem(
                            s.url.span(),
                            key("url"),
                            format!("{:?} has no host", s.url.get_ref()),
                        );
                        None
                    }
                    "file" if fetch.allow_file_urls => Some(u),
                    "file" => {
                        self.problem(
                            s.url.span(),
                            key("url"),
                            format!(
                                "{:?}: file:// sources are refused unless [fetch].allow_file_urls = true",
                                s.url.get_ref()
                            ),
                        );
                        None
                    }
                    other => {
                        self.problem(
                            s.url.span(),
                            key("url"),
                            format!("unsupported scheme {other:?} in {:?}: use http://, https:// or file://", s.url.get_ref()),
                        );
                        None
                    }
                },
                Err(e) => {
                    self.problem(
                        s.url.span(),
                        key("url"),
                        format!("invalid URL {:?}: {e}", s.url.get_ref()),
                    );
                    None
                }
            };
            let schedule = s
                .schedule
                .as_ref()
                .and_then(|c| self.cron(c, &key("schedule")));
            let encoding = match &s.encoding {
                Some(e) => match encoding_rs::Encoding::for_label(e.get_ref().trim().as_bytes()) {
                    Some(enc) => Some(enc),
                    None => {
                        self.problem(
                            e.span(),
                            key("encoding"),
                            format!("unknown charset {:?} (use a WHATWG label such as gbk, gb18030, big5, utf-8)", e.get_ref()),
                        );
                        None
                    }
                },
                None => None,
            };
            let timezone = s
                .timezone
                .as_ref()
                .and_then(|z| match parse_offset(z.get_ref()) {
                    Some(offset) => Some(offset),
                    None => {
                        self.problem(
                        z.span(),
                        key("timezone"),
                        format!(
                            "{:?} is not a UTC offset (write \"+08:00\", \"-05:00\" or \"UTC\")",
                            z.get_ref()
                        ),
                    );
                        None
                    }
                });
            let full_text_selector = s.full_text_selector.as_ref().and_then(|sel| {
                match scraper::Selector::parse(sel.get_ref()) {
                    Ok(parsed) if !sel.get_ref().trim().is_empty() => Some(parsed),
                    Ok(_) => {
                        self.problem(sel.span(), key("full_text_selector"), "must not be empty");
                        None
                    }
                    Err(e) => {
                        self.problem(
                            sel.span(),
                            key("full_text_selector"),
                            format!("{:?} is not a CSS selector: {e}", sel.get_ref()),
                        );
                        None
                    }
                }
            });
            let tags = self.tags(s.tags, &key("tags"));
            if let Some(url) = url {
                sources.push(Source {
                    name: s
                        .name
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| id.clone()),
                    id: SourceId(id),
                    url,
                    tags,
                    enabled: s.enabled.unwrap_or(true),
                    schedule,
                    encoding,
                    allow_private_addresses: s.allow_private_addresses.unwrap_or(false),
                    timezone,
                    full_text: s.full_text.unwrap_or(fetch.full_text),
                    max_pages_per_poll: fetch.max_pages_per_poll,
                    full_text_selector,
                });
            }
        }

        let mut slugs = BTreeSet::new();
        let mut topics = Vec::new();
        for (i, t) in raw.topic.into_iter().enumerate() {
            let key = |field: &str| format!("topic[{i}].{field}");
            let slug = t.slug.get_ref().clone();
            if !valid_id(&slug) {
                self.problem(
                    t.slug.span(),
                    key("slug"),
                    format!("{slug:?} is not a valid slug: use a-z, 0-9 and '-'"),
                );
            } else if !slugs.insert(slug.clone()) {
                self.problem(
                    t.slug.span(),
                    key("slug"),
                    format!("duplicate slug {slug:?}"),
                );
            }
            if t.title.get_ref().trim().is_empty() {
                self.problem(t.title.span(), key("title"), "must not be empty");
            }
            let parsed = match crate::query::Query::parse(t.query.get_ref()) {
                Ok(q) => Some(q),
                Err(e) => {
                    self.problem(t.query.span(), key("query"), format!("topic {slug:?}: {e}"));
                    None
                }
            };
            let tags = self.tags(t.tags, &key("tags"));
            if let Some(parsed) = parsed {
                topics.push(Topic {
                    slug,
                    title: t.title.into_inner(),
                    query: t.query.into_inner(),
                    parsed,
                    tags,
                });
            }
        }

        Config {
            path: path.to_path_buf(),
            storage,
            fetch,
            schedule,
            server,
            normalize,
            dedupe,
            log_level,
            sources,
            topics,
        }
    }
}

/// A library's multi-line message (with a caret line) as one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '^' || c == ' '))
        .collect::<Vec<_>>()
        .join("; ")
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_base_url() -> Url {
    Url::parse("http://localhost:8080/").expect("built-in base URL parses")
}

fn with_trailing_slash(mut u: Url) -> Url {
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u
}

/// `+08:00`, `-0500`, `+8`, `UTC`/`Z` → a fixed offset (at most ±18 h).
fn parse_offset(text: &str) -> Option<chrono::FixedOffset> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("gmt")
    {
        return chrono::FixedOffset::east_opt(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=18).contains(&h) || !(0..60).contains(&m) || h.to_string().len() > 2 {
        return None;
    }
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_str_at(text, Path::new("/etc/newsriver/config.toml"))
    }

    fn problems(text: &str) -> Vec<Problem> {
        match load(text) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn retention_days_is_optional_and_positive() {
        let src = "[[source]]\nid = \"a\"\nurl = \"https://example.org/feed.xml\"\n";
        assert_eq!(load(src).unwrap().storage.retention_days, None);
        let c = load(&format!("[storage]\nretention_days = 30\n{src}")).unwrap();
        assert_eq!(c.storage.retention_days, Some(30));
        let p = problems(&format!("[storage]\nretention_days = 0\n{src}"));
        assert_eq!(
            (p[0].line, p[0].key.as_str()),
            (2, "storage.retention_days")
        );
        assert!(p[0].message.contains("at least 1"), "{}", p[0].message);
    }

    #[test]
    fn minimal_config_has_defaults_and_resolves_db_path() {
        let c = load("[[source]]\nid = \"a\"\nurl = \"https://example.org/feed.xml\"\n").unwrap();
        assert_eq!(c.storage.path, PathBuf::from("/etc/newsriver/newsriver.db"));
        assert_eq!(c.fetch.concurrency, 32);
        assert_eq!(c.sources[0].name, "a");
        assert!(c.sources[0].enabled);
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let p = problems("[fetch]\nconcurrency = 4\nconcurency = 5\n");
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].line, p[0].key.as_str()), (3, "fetch.concurency"));
        assert!(
            p[0].message.contains("did you mean `concurrency`"),
            "{}",
            p[0].message
        );
        let p = problems(
            "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\n[[source]]\nid = \"b\"\nurl = \"https://y.org/\"\ncolour = 1\n",
        );
        assert_eq!((p[0].line, p[0].key.as_str()), (7, "source[1].colour"));
    }

    #[test]
    fn unknown_keys_are_reported_with_the_other_problems() {
        let p = problems("[fetch]\nbogus = 1\n[[source]]\nid = \"a\"\nurl = \"nope\"\n");
        let keys: Vec<_> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, vec!["fetch.bogus", "source[0].url"]);
    }

    #[test]
    fn duplicate_ids_bad_urls_and_cron_are_all_reported() {
        let text = r#"
[[source]]
id = "a"
url = "https://example.org/a.xml"

[[source]]
id = "a"
url = "htp:/nope"
schedule = "every minute"
encoding = "klingon"
"#;
        let p = problems(text);
        let lines: Vec<_> = p.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            lines,
            vec![
                (7, "source[1].id"),
                (8, "source[1].url"),
                (9, "source[1].schedule"),
                (10, "source[1].encoding")
            ]
        );
        assert!(p[0].message.contains("first used on line 3"));
    }

    #[test]
    fn error_display_has_file_and_line() {
        let e = load("[[source]]\nid = \"Bad Id\"\nurl = \"https://x.org/\"\n").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("/etc/newsriver/config.toml:2:"), "{s}");
        assert!(s.contains("source[0].id"), "{s}");
    }

    #[test]
    fn malformed_query_names_topic_and_position() {
        let p = problems("[[topic]]\nslug = \"edu\"\ntitle = \"E\"\nquery = '京津冀 AND (教育'\n");
        assert_eq!((p[0].line, p[0].key.as_str()), (4, "topic[0].query"));
        assert!(
            p[0].message.contains("\"edu\"") && p[0].message.contains("character"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn gb2312_label_is_gbk() {
        let c =
            load("[fetch]\nallow_file_urls = true\n[[source]]\nid = \"a\"\nurl = \"file:///tmp/a.xml\"\nencoding = \"gb2312\"\n")
                .unwrap();
        assert_eq!(c.sources[0].encoding, Some(encoding_rs::GBK));
    }

    #[test]
    fn file_urls_need_allow_file_urls() {
        let p = problems("[[source]]\nid = \"a\"\nurl = \"file:///etc/passwd\"\n");
        assert_eq!((p[0].line, p[0].key.as_str()), (3, "source[0].url"));
        assert!(p[0].message.contains("allow_file_urls"), "{}", p[0].message);
        let c = load("[fetch]\nallow_file_urls = true\n[[source]]\nid = \"a\"\nurl = \"file:///tmp/a.xml\"\n")
            .unwrap();
        assert!(c.fetch.allow_file_urls);
    }

    #[test]
    fn only_http_https_and_file_schemes() {
        for url in [
            "ftp://example.org/f.xml",
            "javascript:alert(1)",
            "data:text/xml,<rss/>",
            "gopher://x.org/",
        ] {
            let p = problems(&format!("[[source]]\nid = \"a\"\nurl = {url:?}\n"));
            assert_eq!(
                (p[0].line, p[0].key.as_str()),
                (3, "source[0].url"),
                "{url}"
            );
            assert!(
                p[0].message.contains("unsupported scheme"),
                "{url}: {}",
                p[0].message
            );
        }
    }

    #[test]
    fn per_source_private_allowance() {
        let c = load("[[source]]\nid = \"a\"\nurl = \"http://10.0.0.5/feed\"\nallow_private_addresses = true\n[[source]]\nid = \"b\"\nurl = \"https://x.org/\"\n")
            .unwrap();
        assert!(c.sources[0].allow_private_addresses);
        assert!(!c.sources[1].allow_private_addresses);
        assert!(!c.fetch.allow_private_addresses);
    }

    #[test]
    fn timezones_are_utc_offsets() {
        let c = load("[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ntimezone = \"+09:00\"\n")
            .expect("valid");
        assert_eq!(
            c.sources[0].timezone,
            chrono::FixedOffset::east_opt(9 * 3600)
        );
        for (text, secs) in [
            ("UTC", 0),
            ("-0530", -19800),
            ("+8", 28800),
            ("+08:00", 28800),
        ] {
            assert_eq!(
                parse_offset(text),
                chrono::FixedOffset::east_opt(secs),
                "{text}"
            );
        }
        for bad in ["Asia/Shanghai", "+25:00", "8", "+08:75", ""] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        let err = load(
            "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ntimezone = \"Asia/Shanghai\"\n",
        )
        .expect_err("invalid");
        assert!(
            err.to_string().contains("4:12: source[0].timezone"),
            "{err}"
        );
    }
}
