//! `Validator`: the raw file (`raw`) → the validated `Config` (`types`),
//! one method per section, every problem collected with its line and key
//! (nothing stops at the first).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use regex::Regex;
use toml::Spanned;
use url::Url;

use super::raw::{
    RawConfig, RawDedupe, RawDisplay, RawFetch, RawLog, RawNormalize, RawSchedule, RawServer,
    RawSource, RawStorage, RawTopic,
};
use super::types::{
    Config, Display, Fetch, Normalize, Problem, Schedule, Server, Source, Storage, Topic,
};
use crate::model::{DedupeParams, SourceId};
use crate::query::Query;
use crate::wording::{Lang, Script};

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

/// The longest timeout a key allows: a day.
const DAY_SECS: u64 = 24 * 3600;

/// `[fetch].max_body_bytes` at most: 4 GiB.
pub const MAX_BODY_BYTES_MAX: u64 = 4 << 30;

/// `[fetch].max_bytes_in_flight` at most: 64 GiB.
pub const MAX_BYTES_IN_FLIGHT_MAX: u64 = 64 << 30;

/// `[server].max_connections` by default.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 256;

/// `[server].max_connections_per_client` by default: an eighth of the
/// default `max_connections`, more than any browser or feed reader opens.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: u64 = 32;

/// Where each line of the file starts, to name a byte offset's line and
/// column.
pub(super) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line and column of a byte offset.
    pub(super) fn at(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        (line, offset - self.starts[line - 1] + 1)
    }
}

/// Builds the validated `Config`, collecting every problem on the way.
pub(super) struct Validator<'a> {
    pub(super) lines: &'a LineIndex,
    /// The file, to point into a value (a word of a query).
    pub(super) text: &'a str,
    pub(super) problems: Vec<Problem>,
    /// What is allowed but likely a mistake (`Config::warnings`).
    pub(super) warnings: Vec<Problem>,
}

/// Under systemd (StateDirectory=) relative paths (the database, the
/// output folder) live in the state directory, not beside a read-only /etc
/// config. With several, the first (systemd lists them `:`-separated).
fn state_directory() -> Option<PathBuf> {
    std::env::var_os("STATE_DIRECTORY")
        .and_then(|d| std::env::split_paths(&d).next())
        .filter(|d| d.is_absolute())
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
    pub(super) fn problem(
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

    /// An integer key within `range` (both ends allowed), else a problem
    /// naming the key, the value and the range, and `default` meanwhile.
    /// Every integer in the file goes through here: a value far past what
    /// makes sense (`timeout_secs = 9223372036854775807`) would otherwise
    /// overflow a deadline or a semaphore at run time and panic.
    fn bounded(
        &mut self,
        v: Option<Spanned<i64>>,
        key: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> u64 {
        let Some(s) = v else { return default };
        let (min, max) = (*range.start(), *range.end());
        let got = *s.get_ref();
        let message = match u64::try_from(got) {
            Ok(n) if range.contains(&n) => return n,
            Ok(n) if n > max => {
                format!("must be at most {max} (allowed: {min} to {max}), got {got}")
            }
            _ => format!("must be at least {min} (allowed: {min} to {max}), got {got}"),
        };
        self.problem(s.span(), key, message);
        default
    }

    /// Whether `schedule` will ever fire from now on (`0 0 0 31 2 *`, the
    /// 31st of February, parses but never does): a warning, not a problem,
    /// so `check` exits 0 and says which key.
    fn never_fires(&mut self, schedule: &cron::Schedule, span: std::ops::Range<usize>, key: &str) {
        if schedule.upcoming(chrono::Utc).next().is_none() {
            let (line, column) = self.lines.at(span.start);
            self.warnings.push(Problem {
                line,
                column,
                key: key.to_string(),
                message:
                    "this schedule never fires (no date matches it); its sources are never polled"
                        .into(),
            });
        }
    }

    fn cron(&mut self, s: &Spanned<String>, key: &str) -> Option<cron::Schedule> {
        match parse_cron(s.get_ref()) {
            Ok(c) => {
                self.never_fires(&c, s.span(), key);
                Some(c)
            }
            Err(e) => {
                self.problem(
                    s.span(),
                    key,
                    format!(
                        "invalid cron expression {:?}: {} (five fields, minute first, e.g. \"*/15 * * * *\", or six with seconds first, e.g. \"0 */15 * * * *\")",
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

    /// The whole file, section by section, in the order of the file's
    /// documentation (the order problems are found in; they are sorted by
    /// line afterwards).
    pub(super) fn config(&mut self, raw: RawConfig, path: &Path, base_dir: &Path) -> Config {
        let storage = self.storage(raw.storage, base_dir);
        let fetch = self.fetch(raw.fetch);
        let schedule = self.schedule(&raw.schedule);
        let server = self.server(raw.server, base_dir);
        let normalize = self.normalize(raw.normalize);
        let dedupe = self.dedupe(raw.dedupe);
        let log_level = self.log_level(raw.log);
        let display = self.display(raw.display);
        let sources = self.sources(raw.source, &fetch);
        let topics = self.topics(raw.topic, &sources);
        Config {
            warnings: std::mem::take(&mut self.warnings),
            path: path.to_path_buf(),
            storage,
            fetch,
            schedule,
            server,
            normalize,
            dedupe,
            log_level,
            display,
            sources,
            topics,
        }
    }

    /// `[display]`: the zone the CLI prints times in; the system's when
    /// unset (`system_zone`).
    fn display(&mut self, raw: RawDisplay) -> Display {
        let timezone = match raw.timezone {
            None => system_zone(),
            Some(z) => match z.get_ref().trim().parse::<chrono_tz::Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    self.problem(
                        z.span(),
                        "display.timezone",
                        format!(
                            "{:?} is not a time zone: use an IANA name such as Asia/Shanghai or UTC",
                            z.get_ref()
                        ),
                    );
                    chrono_tz::Tz::UTC
                }
            },
        };
        Display { timezone }
    }

    /// A required key that is not there: a problem, unless it was there
    /// with a value of the wrong type (`tolerant`, one problem already).
    fn missing(&mut self, at: std::ops::Range<usize>, key: String, table: &str, field: &str) {
        if !self.problems.iter().any(|p| p.key == key) {
            self.problem(at, key, format!("missing: every {table} needs `{field}`"));
        }
    }

    /// Where in the file `word`, at byte `offset` of the string `value`,
    /// is: exact when the string is written as it reads up to there (no
    /// escapes), else the value's start.
    fn inside(&self, value: &Spanned<String>, offset: usize, word: &str) -> usize {
        let start = value.span().start;
        [3, 1]
            .into_iter()
            .map(|quotes| start + quotes + offset)
            .find(|&at| {
                self.text.get(at..at + word.len()) == Some(word)
                    && self.text.get(at - offset..at) == value.get_ref().get(..offset)
            })
            .unwrap_or(start)
    }

    /// A warning (`Config::warnings`): allowed, but likely a mistake.
    fn warning(&mut self, span: std::ops::Range<usize>, key: String, message: String) {
        let (line, column) = self.lines.at(span.start);
        self.warnings.push(Problem {
            line,
            column,
            key,
            message,
        });
    }

    /// `[storage]`: a relative database path is beside the config file (or
    /// in systemd's state directory).
    /// `url`: `postgres://…` (or `postgresql://…`, `is_postgres_url`) for the shared
    /// PostgreSQL store; `sqlite:PATH` or a plain path is the SQLite file,
    /// as `path` says. Not both `path` and `url`.
    fn storage(&mut self, raw: RawStorage, base_dir: &Path) -> Storage {
        let mut postgres = None;
        let mut from_url = None;
        if let Some(url) = &raw.url {
            let value = url.get_ref().trim();
            if raw.path.is_some() {
                self.problem(
                    url.span(),
                    "storage.url",
                    "give either storage.path (a SQLite file) or storage.url, not both",
                );
            } else if is_postgres_url(value) {
                // The client reads the rest (hosts, socket folders,
                // options) when the store opens, and says what is wrong.
                postgres = Some(value.to_string());
            } else if let Some(path) = value.strip_prefix("sqlite:") {
                let path = path.strip_prefix("//").unwrap_or(path);
                if path.is_empty() {
                    self.problem(url.span(), "storage.url", "sqlite: needs a file path");
                } else {
                    from_url = Some(path.to_string());
                }
            } else if value.contains("://") {
                self.problem(
                    url.span(),
                    "storage.url",
                    "unknown database: use postgres://… (PostgreSQL), sqlite:PATH or a file path (SQLite)",
                );
            } else if value.is_empty() {
                self.problem(url.span(), "storage.url", "must not be empty");
            } else {
                from_url = Some(value.to_string());
            }
        }
        let storage_path = raw
            .path
            .map(|s| s.into_inner())
            .or(from_url)
            .unwrap_or_else(|| "newsriver.db".to_string());
        let state_dir = state_directory();
        let retention_days = raw.retention_days.map(|d| {
            self.bounded(
                Some(d),
                "storage.retention_days",
                RETENTION_DAYS_MAX,
                1..=RETENTION_DAYS_MAX,
            )
        });
        Storage {
            path: state_dir.as_deref().unwrap_or(base_dir).join(storage_path),
            postgres,
            lease_secs: self.bounded(raw.lease_secs, "storage.lease_secs", 30, 2..=3600),
            placement_global: self.placement(raw.placement.as_ref()),
            compression: self.compression(raw.compression.as_ref()),
            retention_days,
        }
    }

    /// `[fetch]`.
    fn fetch(&mut self, f: RawFetch) -> Fetch {
        Fetch {
            concurrency: self.bounded(f.concurrency, "fetch.concurrency", 32, 1..=4096) as usize,
            per_host: self.bounded(f.per_host, "fetch.per_host", 4, 1..=1024) as usize,
            timeout_secs: self.bounded(f.timeout_secs, "fetch.timeout_secs", 20, 1..=DAY_SECS),
            max_body_bytes: self.bounded(
                f.max_body_bytes,
                "fetch.max_body_bytes",
                10 * 1024 * 1024,
                1..=MAX_BODY_BYTES_MAX,
            ),
            max_bytes_in_flight: self.bounded(
                f.max_bytes_in_flight,
                "fetch.max_bytes_in_flight",
                32 * 1024 * 1024,
                1..=MAX_BYTES_IN_FLIGHT_MAX,
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
            host_interval_ms: self.bounded(
                f.host_interval_ms,
                "fetch.host_interval_ms",
                0,
                0..=DAY_SECS * 1000,
            ),
            max_backoff_secs: self.bounded(
                f.max_backoff_secs,
                "fetch.max_backoff_secs",
                DAY_SECS,
                1..=30 * DAY_SECS,
            ),
            full_text: f.full_text.unwrap_or(false),
            max_pages_per_poll: self.bounded(
                f.max_pages_per_poll,
                "fetch.max_pages_per_poll",
                DEFAULT_MAX_PAGES_PER_POLL,
                1..=10_000,
            ) as usize,
        }
    }

    /// `[schedule]`.
    fn schedule(&mut self, raw: &RawSchedule) -> Schedule {
        let default_cron = match &raw.default {
            Some(s) => self.cron(s, "schedule.default"),
            None => None,
        };
        Schedule {
            default: default_cron.unwrap_or_else(|| {
                cron::Schedule::from_str("0 */15 * * * *")
                    .expect("built-in default schedule parses")
            }),
        }
    }

    /// `[server]`: a relative `output_dir` is beside the config file, or in
    /// systemd's state directory like the database (the unit's config
    /// folder is read-only).
    fn server(&mut self, raw: RawServer, base_dir: &Path) -> Server {
        let listen = self.listen(raw.listen);
        let base_url = self.base_url(raw.base_url);
        let output_dir_at = raw
            .output_dir
            .as_ref()
            .map_or((1, 1), |d| self.lines.at(d.span().start));
        Server {
            listen,
            base_url,
            output_dir: raw
                .output_dir
                .map(|d| d.into_inner())
                .filter(|d| !d.trim().is_empty())
                .map(|d| state_directory().as_deref().unwrap_or(base_dir).join(d)),
            output_dir_at,
            items_per_feed: self.bounded(
                raw.items_per_feed,
                "server.items_per_feed",
                50,
                1..=10_000,
            ) as usize,
            max_connections: self.bounded(
                raw.max_connections,
                "server.max_connections",
                DEFAULT_MAX_CONNECTIONS,
                1..=65_536,
            ) as usize,
            header_timeout_secs: self.bounded(
                raw.header_timeout_secs,
                "server.header_timeout_secs",
                10,
                1..=DAY_SECS,
            ),
            idle_timeout_secs: self.bounded(
                raw.idle_timeout_secs,
                "server.idle_timeout_secs",
                60,
                1..=DAY_SECS,
            ),
            max_connections_per_client: self.bounded(
                raw.max_connections_per_client,
                "server.max_connections_per_client",
                DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
                0..=1_000_000,
            ) as usize,
            max_requests_per_connection: self.bounded(
                raw.max_requests_per_connection,
                "server.max_requests_per_connection",
                1000,
                1..=1_000_000,
            ),
            connection_lifetime_secs: self.bounded(
                raw.connection_lifetime_secs,
                "server.connection_lifetime_secs",
                300,
                1..=7 * 24 * 3600,
            ),
            language: raw
                .language
                .and_then(|l| self.language(l, "server.language".into())),
            timezone: self.zone(raw.timezone),
        }
    }

    /// A language with a catalog (`wording::Lang`).
    fn language(&mut self, raw: Spanned<String>, key: String) -> Option<Lang> {
        let lang = Lang::from_tag(raw.get_ref());
        if lang.is_none() {
            self.problem(
                raw.span(),
                key,
                format!(
                    "{:?} is not a language newsriver has words for: use zh-Hans, zh-Hant or en",
                    raw.get_ref()
                ),
            );
        }
        lang
    }

    /// `[server] timezone`: an IANA time zone name (`Asia/Shanghai`).
    fn zone(&mut self, raw: Option<Spanned<String>>) -> chrono_tz::Tz {
        let Some(raw) = raw else {
            return chrono_tz::Tz::UTC;
        };
        match raw.get_ref().trim().parse::<chrono_tz::Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                self.problem(
                    raw.span(),
                    "server.timezone",
                    format!(
                        "{:?} is not a time zone: use an IANA name such as Asia/Shanghai or UTC",
                        raw.get_ref()
                    ),
                );
                chrono_tz::Tz::UTC
            }
        }
    }

    /// `[server].listen`.
    fn listen(&mut self, listen: Option<Spanned<String>>) -> SocketAddr {
        match listen {
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
        }
    }

    /// `[server].base_url`, with a trailing slash.
    fn base_url(&mut self, base_url: Option<Spanned<String>>) -> Url {
        match base_url {
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
        }
    }

    /// `[normalize]`.
    fn normalize(&mut self, raw: RawNormalize) -> Normalize {
        Normalize {
            strip_lines: self.regexes(raw.strip_lines, "normalize.strip_lines"),
            strip_title: self.regexes(raw.strip_title, "normalize.strip_title"),
            footer_headings: raw.footer_headings,
        }
    }

    /// `[dedupe]`.
    fn dedupe(&mut self, raw: RawDedupe) -> DedupeParams {
        let defaults = DedupeParams::default();
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
        let jaccard = ratio(raw.jaccard, "dedupe.jaccard", defaults.jaccard);
        let containment = ratio(raw.containment, "dedupe.containment", defaults.containment);
        DedupeParams {
            enabled: raw.enabled.unwrap_or(defaults.enabled),
            jaccard,
            containment,
            min_chars: self.bounded(
                raw.min_chars,
                "dedupe.min_chars",
                defaults.min_chars as u64,
                1..=100_000,
            ) as usize,
            max_days_apart: self.bounded(
                raw.max_days_apart,
                "dedupe.max_days_apart",
                defaults.max_days_apart as u64,
                1..=3660,
            ) as i64,
        }
    }

    /// `[log].level`.
    fn log_level(&mut self, raw: RawLog) -> Option<String> {
        match raw.level {
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
        }
    }

    /// `[[source]]`: those with a usable URL (the problems of all of them
    /// are reported).
    fn sources(&mut self, raw: Vec<Spanned<RawSource>>, fetch: &Fetch) -> Vec<Source> {
        // Each id, with the line it is first used on.
        let mut seen_ids: HashMap<String, usize> = HashMap::new();
        let mut sources = Vec::new();
        for (i, s) in raw.into_iter().enumerate() {
            if let Some(source) = self.source(i, s, fetch, &mut seen_ids) {
                sources.push(source);
            }
        }
        sources
    }

    /// `source[i]`; `None` without an id or a usable URL.
    fn source(
        &mut self,
        i: usize,
        s: Spanned<RawSource>,
        fetch: &Fetch,
        seen_ids: &mut HashMap<String, usize>,
    ) -> Option<Source> {
        let key = |field: &str| format!("source[{i}].{field}");
        let at = s.span();
        let s = s.into_inner();
        let id = match &s.id {
            Some(id) => {
                self.source_id(id, key("id"), seen_ids);
                Some(id.get_ref().clone())
            }
            None => {
                self.missing(at.clone(), key("id"), "[[source]]", "id");
                None
            }
        };
        let url = match &s.url {
            Some(url) => self.source_url(url, key("url"), fetch.allow_file_urls),
            None => {
                self.missing(at, key("url"), "[[source]]", "url");
                None
            }
        };
        let schedule = s
            .schedule
            .as_ref()
            .and_then(|c| self.cron(c, &key("schedule")));
        let encoding = s
            .encoding
            .as_ref()
            .and_then(|e| self.encoding(e, key("encoding")));
        let timezone = s
            .timezone
            .as_ref()
            .and_then(|z| self.timezone(z, key("timezone")));
        let full_text_selector = s
            .full_text_selector
            .as_ref()
            .and_then(|sel| self.selector(sel, key("full_text_selector")));
        let tags = self.tags(s.tags, &key("tags"));
        let low_trust = self.trust(s.trust.as_ref(), &key("trust"));
        let link_hosts = self.link_hosts(s.link_hosts, &key("link_hosts"));
        let (id, url) = (id?, url?);
        Some(Source {
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
            low_trust,
            link_hosts,
        })
    }

    /// A key that takes one of a few words (`choices`, the first the
    /// default): its value, or a problem naming the line and the words.
    fn one_of<T: Copy>(
        &mut self,
        value: Option<&Spanned<String>>,
        key: &str,
        what: &str,
        choices: &[(&str, T)],
    ) -> T {
        let default = choices[0].1;
        let Some(value) = value else {
            return default;
        };
        let word = value.get_ref().trim();
        if let Some(&(_, v)) = choices.iter().find(|(w, _)| *w == word) {
            return v;
        }
        let words: Vec<String> = choices.iter().map(|(w, _)| format!("{w:?}")).collect();
        self.problem(
            value.span(),
            key,
            format!("unknown {what} {word:?}: use {}", words.join(" or ")),
        );
        default
    }

    /// `[storage] compression`: "lz4" (the default) or "zstd".
    fn compression(&mut self, compression: Option<&Spanned<String>>) -> crate::model::BodyCodec {
        use crate::model::BodyCodec;
        self.one_of(
            compression,
            "storage.compression",
            "compression",
            &[("lz4", BodyCodec::Lz4), ("zstd", BodyCodec::Zstd)],
        )
    }

    /// `[storage] placement`: "neighbourhood" (the default) or "global".
    fn placement(&mut self, placement: Option<&Spanned<String>>) -> bool {
        self.one_of(
            placement,
            "storage.placement",
            "placement",
            &[("neighbourhood", false), ("global", true)],
        )
    }

    /// A source's `trust`: "normal" (the default) or "low".
    fn trust(&mut self, trust: Option<&Spanned<String>>, key: &str) -> bool {
        self.one_of(trust, key, "trust", &[("normal", false), ("low", true)])
    }

    /// A source's `link_hosts`: host names (`www.example.com`, or
    /// `example.com` for it and its subdomains), lowercased.
    fn link_hosts(&mut self, hosts: Vec<Spanned<String>>, key: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for h in hosts {
            let host = h
                .get_ref()
                .trim()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            let valid = !host.is_empty()
                && url::Host::parse(&host).is_ok()
                && !host.contains(['/', ':', '@', '*']);
            if !valid {
                self.problem(
                    h.span(),
                    key,
                    format!(
                        "{:?} is not a host name: write it as in a URL, e.g. \"www.example.com\"",
                        h.get_ref()
                    ),
                );
            } else if !out.contains(&host) {
                out.push(host);
            }
        }
        out
    }

    /// A source's `id`: valid, and not used before (`seen_ids`, which it
    /// joins).
    fn source_id(
        &mut self,
        id: &Spanned<String>,
        key: String,
        seen_ids: &mut HashMap<String, usize>,
    ) {
        let name = id.get_ref();
        if !valid_id(name) {
            self.problem(
                id.span(),
                key,
                format!("{name:?} is not a valid id: use a-z, 0-9 and '-'"),
            );
        } else if let Some(first) = seen_ids.get(name) {
            let first = *first;
            self.problem(
                id.span(),
                key,
                format!("duplicate id {name:?} (first used on line {first})"),
            );
        } else {
            seen_ids.insert(name.clone(), self.lines.at(id.span().start).0);
        }
    }

    /// A source's `url`: http(s) with a host, or `file://` when allowed.
    fn source_url(
        &mut self,
        url: &Spanned<String>,
        key: String,
        allow_file_urls: bool,
    ) -> Option<Url> {
        match Url::parse(url.get_ref().trim()) {
            Ok(u) => match u.scheme() {
                "http" | "https" if u.host_str().is_some_and(|h| !h.is_empty()) => Some(u),
                "http" | "https" => {
                    self.problem(url.span(), key, format!("{:?} has no host", url.get_ref()));
                    None
                }
                "file" if allow_file_urls => Some(u),
                "file" => {
                    self.problem(
                        url.span(),
                        key,
                        format!(
                            "{:?}: file:// sources are refused unless [fetch].allow_file_urls = true",
                            url.get_ref()
                        ),
                    );
                    None
                }
                other => {
                    self.problem(
                        url.span(),
                        key,
                        format!("unsupported scheme {other:?} in {:?}: use http://, https:// or file://", url.get_ref()),
                    );
                    None
                }
            },
            Err(e) => {
                self.problem(
                    url.span(),
                    key,
                    format!("invalid URL {:?}: {e}", url.get_ref()),
                );
                None
            }
        }
    }

    /// A source's `encoding`: a WHATWG label.
    fn encoding(
        &mut self,
        e: &Spanned<String>,
        key: String,
    ) -> Option<&'static encoding_rs::Encoding> {
        match encoding_rs::Encoding::for_label(e.get_ref().trim().as_bytes()) {
            Some(enc) => Some(enc),
            None => {
                self.problem(
                    e.span(),
                    key,
                    format!("unknown charset {:?} (use a WHATWG label such as gbk, gb18030, big5, utf-8)", e.get_ref()),
                );
                None
            }
        }
    }

    /// A source's `timezone`: a UTC offset (`parse_offset`).
    fn timezone(&mut self, z: &Spanned<String>, key: String) -> Option<chrono::FixedOffset> {
        match parse_offset(z.get_ref()) {
            Some(offset) => Some(offset),
            None => {
                self.problem(
                    z.span(),
                    key,
                    format!(
                        "{:?} is not a UTC offset (write \"+08:00\", \"-05:00\" or \"UTC\")",
                        z.get_ref()
                    ),
                );
                None
            }
        }
    }

    /// A source's `full_text_selector`: a CSS selector.
    fn selector(&mut self, sel: &Spanned<String>, key: String) -> Option<scraper::Selector> {
        match scraper::Selector::parse(sel.get_ref()) {
            Ok(parsed) if !sel.get_ref().trim().is_empty() => Some(parsed),
            Ok(_) => {
                self.problem(sel.span(), key, "must not be empty");
                None
            }
            Err(e) => {
                self.problem(
                    sel.span(),
                    key,
                    format!("{:?} is not a CSS selector: {e}", sel.get_ref()),
                );
                None
            }
        }
    }

    /// `[[topic]]`: those whose query parses (the problems of all of them
    /// are reported); warnings for what would leave one silently empty
    /// (`topic_warnings`).
    fn topics(&mut self, raw: Vec<Spanned<RawTopic>>, sources: &[Source]) -> Vec<Topic> {
        let mut slugs = BTreeSet::new();
        let mut topics = Vec::new();
        for (i, t) in raw.into_iter().enumerate() {
            let key = |field: &str| format!("topic[{i}].{field}");
            let at = t.span();
            let t = t.into_inner();
            let missing = |v: &mut Self, field: &str| {
                v.missing(at.clone(), key(field), "[[topic]]", field);
            };
            let slug = match &t.slug {
                Some(s) => s.get_ref().clone(),
                None => {
                    missing(self, "slug");
                    String::new()
                }
            };
            if let Some(s) = &t.slug {
                if !valid_id(&slug) {
                    self.problem(
                        s.span(),
                        key("slug"),
                        format!("{slug:?} is not a valid slug: use a-z, 0-9 and '-'"),
                    );
                } else if !slugs.insert(slug.clone()) {
                    self.problem(s.span(), key("slug"), format!("duplicate slug {slug:?}"));
                }
            }
            match &t.title {
                Some(title) if title.get_ref().trim().is_empty() => {
                    self.problem(title.span(), key("title"), "must not be empty");
                }
                Some(_) => {}
                None => missing(self, "title"),
            }
            let parsed = match &t.query {
                Some(query) => match Query::parse(query.get_ref()) {
                    Ok(q) => {
                        self.lowercase_operators(query, &slug, key("query"));
                        Some(q)
                    }
                    Err(e) => {
                        self.problem(query.span(), key("query"), format!("topic {slug:?}: {e}"));
                        None
                    }
                },
                None => {
                    missing(self, "query");
                    None
                }
            };
            self.tags_no_source_carries(&t.tags, &slug, &key("tags"), sources);
            let tags = self.tags(t.tags, &key("tags"));
            let language = t.language.and_then(|l| self.language(l, key("language")));
            let script = t.script.and_then(|s| {
                let script = Script::from_name(s.get_ref());
                if script.is_none() {
                    self.problem(
                        s.span(),
                        key("script"),
                        format!(
                            "{:?} is not a script: use {}",
                            s.get_ref(),
                            Script::NAMES.join(", ")
                        ),
                    );
                }
                script
            });
            if let (Some(parsed), Some(title), Some(query), Some(slug_at)) =
                (parsed, t.title, t.query, t.slug)
            {
                topics.push(Topic {
                    at: self.lines.at(slug_at.span().start),
                    slug,
                    title: title.into_inner(),
                    query: query.into_inner(),
                    parsed,
                    tags,
                    language,
                    script,
                });
            }
        }
        topics
    }

    /// A warning for each `and`, `or` or `not` of a query not written in
    /// capitals: a search word there (`京津冀 and 教育` looks for "and").
    fn lowercase_operators(&mut self, query: &Spanned<String>, slug: &str, key: String) {
        for (word, offset) in lowercase_operators(query.get_ref()) {
            let at = self.inside(query, offset, &word);
            self.warning(
                at..at + word.len(),
                key.clone(),
                format!(
                    "topic {slug:?}: {word:?} is searched for as a word; did you mean {}? (operators are written in capitals: AND, OR, NOT)",
                    word.to_ascii_uppercase()
                ),
            );
        }
    }

    /// A warning for each tag of a topic that no source carries: only
    /// stories from a source with one of the topic's tags belong to it, so
    /// such a tag lets none in (`nationl` for `national`, an OPML folder
    /// `国内` where the topic says `national`).
    fn tags_no_source_carries(
        &mut self,
        tags: &[Spanned<String>],
        slug: &str,
        key: &str,
        sources: &[Source],
    ) {
        let mut carried: Vec<&str> = sources
            .iter()
            .flat_map(|s| s.tags.iter().map(String::as_str))
            .collect();
        carried.sort_unstable();
        carried.dedup();
        for t in tags {
            let tag = t.get_ref().trim();
            if tag.is_empty() || carried.contains(&tag) {
                continue;
            }
            let hint = match super::unknown::closest(tag, &carried) {
                Some(near) => format!("; did you mean {near:?}?"),
                None if carried.is_empty() => "; no source has any tag".to_string(),
                None => format!("; the sources' tags: {}", carried.join(", ")),
            };
            self.warning(
                t.span(),
                key.to_string(),
                format!(
                    "topic {slug:?}: no source carries the tag {tag:?}, so it lets no story in{hint}"
                ),
            );
        }
    }
}

/// The words `and`, `or`, `not` (in any case but capitals) standing alone
/// in a query, outside quoted phrases, in order, with their byte offsets.
pub(super) fn lowercase_operators(query: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut quoted = false;
    // The word being read, and where it starts.
    let mut word = (String::new(), 0);
    let flush = |word: &mut (String, usize), out: &mut Vec<(String, usize)>| {
        let (w, at) = std::mem::take(word);
        if ["and", "or", "not"].contains(&w.to_ascii_lowercase().as_str())
            && w != w.to_ascii_uppercase()
        {
            out.push((w, at));
        }
    };
    for (i, c) in query.char_indices() {
        match c {
            '"' => {
                if !quoted {
                    flush(&mut word, &mut out);
                }
                word.0.clear();
                quoted = !quoted;
            }
            _ if quoted => {}
            c if c.is_whitespace() || c == '(' || c == ')' => flush(&mut word, &mut out),
            c => {
                if word.0.is_empty() {
                    word.1 = i;
                }
                word.0.push(c);
            }
        }
    }
    if !quoted {
        flush(&mut word, &mut out);
    }
    out
}

/// A cron line: five fields (minute first; seconds 0), or six or seven
/// with seconds first, or a shortcut such as `@hourly`.
pub fn parse_cron(text: &str) -> Result<cron::Schedule, cron::error::Error> {
    let fields = text.split_whitespace().count();
    if fields == 5 && !text.trim_start().starts_with('@') {
        cron::Schedule::from_str(&format!("0 {}", text.trim()))
    } else {
        cron::Schedule::from_str(text)
    }
}

/// The system's time zone: `TZ` (an IANA name, or a path into a zoneinfo
/// folder), else `/etc/localtime`'s (`iana_time_zone`), else UTC.
pub fn system_zone() -> chrono_tz::Tz {
    let from_tz = std::env::var("TZ").ok().and_then(|tz| {
        if tz.is_empty() {
            return Some(chrono_tz::Tz::UTC);
        }
        let name = tz.trim_start_matches(':');
        let name = name.rsplit_once("zoneinfo/").map_or(name, |(_, n)| n);
        name.parse::<chrono_tz::Tz>().ok()
    });
    from_tz
        .or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|n| n.parse::<chrono_tz::Tz>().ok())
        })
        .unwrap_or(chrono_tz::Tz::UTC)
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
pub(super) fn parse_offset(text: &str) -> Option<chrono::FixedOffset> {
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

/// Whether `url` names a PostgreSQL database (`postgres://` or
/// `postgresql://`, any case): `[storage] url` and `migrate-store --to`.
pub fn is_postgres_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}
