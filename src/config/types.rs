//! The validated configuration: what the rest of the crate reads (`Config`
//! and its sections), and the problems a file can have (`Problem`,
//! `ConfigError`). Built by `validate`; re-exported by `config`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use regex::Regex;
use url::Url;

use crate::model::SourceId;
pub use crate::wording::{Lang, Script};

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
    /// `[display]`: how the CLI prints times.
    pub display: Display,
    pub sources: Vec<Source>,
    pub topics: Vec<Topic>,
    /// What is allowed but likely a mistake (a schedule that never fires),
    /// with its line: `check` prints them and exits 0, `run` and `poll` log
    /// them.
    pub warnings: Vec<Problem>,
}

#[derive(Clone, Debug)]
pub struct Storage {
    /// Absolute path of the SQLite database (unused when `postgres` is set).
    pub path: PathBuf,
    /// `[storage].url = "postgres://…"`: the PostgreSQL database several
    /// pollers share, instead of the SQLite file.
    pub postgres: Option<String>,
    /// `[storage].lease_secs` (PostgreSQL): how long a poller's lease on a
    /// feed host lasts unless renewed; after its holder dies another
    /// poller takes its hosts within this time. Default 30.
    pub lease_secs: u64,
    /// `[storage].placement = "global"` (PostgreSQL): every poller's
    /// placements under one lock, one at a time across the pollers, rather
    /// than per story neighbourhood (`"neighbourhood"`, the default; see
    /// `store::pg`).
    pub placement_global: bool,
    /// `[storage].compression`: how new copies' bodies are compressed,
    /// "lz4" (the default) or "zstd" (a smaller database, more CPU per
    /// copy). Either is read whatever this says.
    pub compression: crate::model::BodyCodec,
    /// `[storage].retention_days`: stories published longer ago are deleted
    /// (with their copies) and not stored again; `None` keeps everything.
    pub retention_days: Option<u64>,
}

impl Storage {
    /// Where the data is, for messages: the SQLite file's path, or the
    /// PostgreSQL URL without its password.
    pub fn shown(&self) -> String {
        match &self.postgres {
            Some(url) => crate::model::redact_password(url),
            None => self.path.display().to_string(),
        }
    }
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
    /// Connections one client address (an IPv6 /64) may hold; at the cap
    /// its oldest connection waiting for a request is closed for the new
    /// one. 0: no per-client cap (behind a reverse proxy every client has
    /// the proxy's address).
    pub max_connections_per_client: usize,
    /// Requests served on one connection; the last answer says
    /// `Connection: close`.
    pub max_requests_per_connection: u64,
    /// A connection is closed after this many seconds (after the answer
    /// in progress), however busy.
    pub connection_lifetime_secs: u64,
    /// The language of feeds and pages (`zh-Hans`, `zh-Hant`, `en`); None:
    /// taken from the sources' feeds.
    pub language: Option<Lang>,
    /// Where the reader page's times are local (`Asia/Shanghai`); UTC by
    /// default.
    pub timezone: chrono_tz::Tz,
}

/// `[display]`: what the CLI prints for people.
#[derive(Clone, Debug)]
pub struct Display {
    /// The zone every time is printed in (`Asia/Shanghai`); the system's
    /// by default (`TZ`, else `/etc/localtime`).
    pub timezone: chrono_tz::Tz,
}

impl Display {
    /// A time for people, the one form every command prints:
    /// `2026-12-04 18:10:00 +08:00`, in `timezone`. (JSON output keeps
    /// RFC 3339 in UTC, `2026-12-04T10:10:00Z`.)
    pub fn time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.timezone)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string()
    }

    /// `time` to the minute, for tables that must stay narrow
    /// (`sources list`): `2026-12-04 18:10 +08:00`.
    pub fn minute(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.timezone)
            .format("%Y-%m-%d %H:%M %:z")
            .to_string()
    }

    /// The first instant of `date` in `timezone` (midnight, or the first
    /// time there is when a zone skips midnight).
    pub fn start_of(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        let midnight = date.and_hms_opt(0, 0, 0)?;
        (0..=24 * 4)
            .filter_map(|quarter| {
                self.timezone
                    .from_local_datetime(&(midnight + chrono::TimeDelta::minutes(quarter * 15)))
                    .earliest()
            })
            .next()
            .map(|t| t.with_timezone(&Utc))
    }
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
    /// `trust = "low"`: its copies may join stories but never supply what
    /// is shown (`display`), unless a story has no other copy.
    pub low_trust: bool,
    /// Hosts besides its feed's site whose links are its own (an outlet
    /// read through a proxy such as RSSHub): only a copy whose link is its
    /// source's own wins a story's link over one that is not.
    pub link_hosts: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Topic {
    pub slug: String,
    pub title: String,
    /// The query as written.
    pub query: String,
    pub parsed: crate::query::Query,
    pub tags: Vec<String>,
    /// The language its feeds and page are in; None: `[server] language`.
    pub language: Option<Lang>,
    /// The script its headlines and texts are shown in; None: that of its
    /// language.
    pub script: Option<Script>,
    /// Where its `slug` is written in the file (line, column), for
    /// `check`'s warnings about it.
    pub at: (usize, usize),
}

impl Topic {
    /// The language this topic is shown in: its own, else the server's;
    /// None: taken from its stories (`publish::topic_language`).
    pub fn language(&self, server: &Server) -> Option<Lang> {
        self.language.or(server.language)
    }
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

pub(super) fn render_problems(path: &Path, problems: &[Problem]) -> String {
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
