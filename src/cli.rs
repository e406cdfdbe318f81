//! The command line: `check`, `poll`, `export`. An edge: it composes the
//! library and turns its errors into messages and exit codes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::admin::AdminError;
use crate::config::{Config, ConfigError};
use crate::edit::EditError;
use crate::pipeline::{self, PipelineError, Poller};

/// `eprintln!` with control characters made visible (`printable::escape`):
/// error messages quote feeds, URLs and file names.
macro_rules! errln {
    ($($arg:tt)*) => {
        err_text(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to stderr with control characters made visible.
fn err_text(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(crate::printable::escape(text).as_bytes());
}

/// Exit codes (part of the CLI contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    /// The database, the network client or an output failed.
    Runtime = 1,
    /// The config (or a command-line argument) is wrong.
    Config = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// The exit code of each kind of admin failure: the one place that maps
/// them (README's "Exit codes"). What the admin asked for is wrong (a name
/// not in the config, an argument, a URL that is no feed, an edit the
/// config refuses): 2; the database, the network, a file: 1.
impl From<&AdminError> for Exit {
    fn from(e: &AdminError) -> Exit {
        match e {
            AdminError::Unknown(_)
            | AdminError::Refused(_)
            | AdminError::Probe { .. }
            | AdminError::Opml { .. }
            | AdminError::Edit(EditError::Refused(_)) => Exit::Config,
            AdminError::Edit(EditError::Io(_))
            | AdminError::Read { .. }
            | AdminError::Export(_)
            | AdminError::Store(_)
            | AdminError::Open(_)
            | AdminError::Purge { .. }
            | AdminError::Client(_)
            | AdminError::Fetch { .. }
            | AdminError::Parse { .. }
            | AdminError::Page { .. } => Exit::Runtime,
        }
    }
}

/// `serve` fails only at run time: the database, the socket.
impl From<&ServeError> for Exit {
    fn from(e: &ServeError) -> Exit {
        match e {
            ServeError::Open(_) | ServeError::Listen { .. } | ServeError::Io(_) => Exit::Runtime,
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "newsriver",
    version,
    about = "Merge many news outlets' feeds into a few clean topical feeds"
)]
pub struct Cli {
    /// The config file.
    #[arg(
        long,
        global = true,
        default_value = "config.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate the config; print what is wrong (file:line) and exit 2.
    /// Warnings (`file:line:col: warning: …`): likely mistakes, such as a
    /// topic that stays empty (tried on the newest stored stories when
    /// there is a database); exit 0 unless --strict.
    Check {
        /// Exit 2 when there are warnings too.
        #[arg(long)]
        strict: bool,
    },
    /// Poll every enabled source once (or the named ones), store, and exit.
    Poll {
        /// Poll only this source (repeatable).
        #[arg(long = "source", value_name = "ID")]
        sources: Vec<String>,
        /// When a daemon runs on this database, ask it to poll now (whatever
        /// the schedule or backoff) and return; else poll here.
        #[arg(long)]
        now: bool,
    },
    /// Print every stored story as JSON Lines, newest first.
    Export {
        /// Only stories in this topic.
        #[arg(long, value_name = "SLUG")]
        topic: Option<String>,
        /// Only stories published at or after this time: a date
        /// (2026-12-04: its midnight in [display] timezone), a duration back
        /// from now (90m, 24h, 7d, 2w) or an RFC 3339 time.
        #[arg(long, value_name = "WHEN", value_parser = parse_since)]
        since: Option<Since>,
    },
    /// Print one topic feed on stdout.
    Render {
        /// The topic's slug.
        slug: String,
        /// atom, rss or json.
        #[arg(long, default_value = "atom")]
        format: crate::publish::Format,
        /// Entries (newest first).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Serve the topic feeds over HTTP on [server].listen (no polling).
    Serve,
    /// The daemon: poll every source on its schedule, keep the topic feeds
    /// fresh and serve them; SIGHUP reloads the config, SIGTERM stops.
    Run,
    /// Ask the running daemon (found by its pid file) to reload the config.
    Reload,
    /// Inspect stored stories.
    Stories {
        #[command(subcommand)]
        command: StoriesCommand,
    },
    /// Inspect sources: health from the database, or a test fetch.
    Sources {
        #[command(subcommand)]
        command: SourcesCommand,
    },
    /// Topics: list them, try queries on stored stories, add, edit, remove.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Write a consistent copy of the database to PATH; safe while the
    /// daemon runs (SQLite's VACUUM INTO, checked with integrity_check).
    Backup {
        /// Where to write the copy (a new file).
        path: PathBuf,
        /// Replace PATH if it already exists.
        #[arg(long)]
        force: bool,
    },
    /// A first look without the internet: serve a bundled sample of
    /// invented outlets on loopback, poll them into a temporary folder and
    /// run the daemon on it until Ctrl-C (no config needed).
    Demo {
        /// Where the daemon serves the page and the feeds (port 0: any).
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: std::net::SocketAddr,
        /// Keep the database and config in DIR instead of removing them.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
    /// Replace the database with a backup made by `newsriver backup`. The
    /// daemon must be stopped first; the backup is checked before anything
    /// is replaced.
    Restore {
        /// The backup file.
        path: PathBuf,
    },
    /// Copy the SQLite database ([storage].path) into an empty PostgreSQL
    /// database: stories, copies, topics, polls, sources with their
    /// validators; then check every table's row count. Point
    /// [storage].url at it afterwards.
    MigrateStore {
        /// The PostgreSQL database, postgres://USER@HOST/DB (a socket
        /// folder as the host: postgresql://USER@%2Frun%2Fpostgresql/DB).
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SourcesCommand {
    /// Id, tags, enabled, and from the database: last poll, outcome,
    /// stories, next poll (--wide: also copies, consecutive failures, URL
    /// and name).
    List {
        /// Only sources with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// table or json (one object a line).
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        /// Every column: items, failures, URL and name too (the default
        /// table fits about 100 columns).
        #[arg(long)]
        wide: bool,
    },
    /// One source in full: last error, validators, recent polls.
    Show {
        id: String,
        /// table or json (one object).
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Fetch and parse a URL (or a configured source) without storing:
    /// format, charset and why, HTTP caching headers, items and their hashes.
    Test {
        target: String,
        /// Fetch one article page instead, as a `full_text` poll would (the
        /// given URL, else the link of the feed's first item) and show what
        /// the extractor keeps and drops, and which rule found the article.
        #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
        page: Option<String>,
    },
    /// Add a source to the config. The URL is fetched first: a feed must
    /// parse; an HTML page's advertised feeds are discovered.
    Add {
        url: String,
        /// The source's id (default: from its name, else its URL).
        #[arg(long)]
        id: Option<String>,
        /// Its display name (default: the feed's title).
        #[arg(long)]
        name: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag", value_name = "T")]
        tags: Vec<String>,
        /// Its own poll schedule (cron: five fields, or six with seconds first).
        #[arg(long, value_name = "CRON")]
        schedule: Option<String>,
        /// Fetch each new item's article page and keep the article.
        #[arg(long)]
        full_text: bool,
        /// Where the article is on its pages (a CSS selector; implies
        /// --full-text).
        #[arg(long, value_name = "SEL")]
        full_text_selector: Option<String>,
        /// Read the feed in this charset whatever it says (gbk, big5, …).
        #[arg(long, value_name = "LABEL")]
        encoding: Option<String>,
        /// Add it disabled (not polled until `sources enable`).
        #[arg(long)]
        disabled: bool,
        /// Which feed to take when the page links to several (1-based).
        #[arg(long, value_name = "N")]
        pick: Option<usize>,
        /// Add without fetching (no discovery, no check).
        #[arg(long)]
        no_fetch: bool,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Remove a source from the config. Its stories stay (until retention)
    /// unless --purge.
    Remove {
        id: String,
        /// Also delete its copies, and the stories no other source carried.
        #[arg(long)]
        purge: bool,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Poll a source again.
    Enable {
        id: String,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Stop polling a source (it stays in the config and its stories stay).
    Disable {
        id: String,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Change a source's tags: `+T` (or `T`) adds, `-T` removes.
    #[command(override_usage = "newsriver sources tag [--reload] <ID> <+T|-T>...")]
    Tag {
        id: String,
        #[arg(required = true, allow_hyphen_values = true, value_name = "+T|-T")]
        changes: Vec<String>,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Change a source's settings: KEY=VALUE for any key of its
    /// `[[source]]` table (true/false, tags and link_hosts comma-separated),
    /// --unset KEY for its default. Validated as `check` does; nothing is
    /// written unless the whole config stays valid.
    #[command(
        override_usage = "newsriver sources set [--reload] <ID> [KEY=VALUE]... [--unset KEY]..."
    )]
    Set {
        /// The source's id.
        id: String,
        /// A key and its new value: name, url, tags, enabled, schedule,
        /// encoding, full_text, full_text_selector, timezone, trust,
        /// link_hosts, allow_private_addresses.
        #[arg(value_name = "KEY=VALUE", required_unless_present = "unset")]
        settings: Vec<String>,
        /// Remove a key, back to its default (repeatable).
        #[arg(long, value_name = "KEY")]
        unset: Vec<String>,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Change a source's id, in the config and in the database (its
    /// polls, copies and state go with it).
    Rename {
        /// Its id now.
        old: String,
        /// Its new id (a-z, 0-9, '-').
        new: String,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Add the feeds of an OPML file (skipping ones already configured).
    Import {
        file: PathBuf,
        /// Add this tag to every imported source (repeatable).
        #[arg(long = "tag", value_name = "T")]
        tags: Vec<String>,
        /// Do not fetch the feeds to check them and fill in missing names.
        #[arg(long)]
        no_fetch: bool,
        /// Leave out the feeds that fail the test fetch (by default they are
        /// added disabled, with the reason in a comment above them).
        #[arg(long, conflicts_with = "no_fetch")]
        skip_failed: bool,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Print every source as OPML 2.0 (tags as folders and categories).
    Export,
}

#[derive(clap::Args, Debug)]
pub struct ReloadFlag {
    /// Then tell the running daemon to reload (SIGHUP by its pid file).
    #[arg(long)]
    reload: bool,
}

#[derive(Subcommand, Debug)]
pub enum TopicsCommand {
    /// Each topic with its query, number of stories and last update (when
    /// its newest story was published).
    List,
    /// Stored stories a topic (or a query being drafted) matches, with the
    /// matched terms.
    Preview {
        /// A configured topic.
        slug: Option<String>,
        /// A query to try instead of a topic's.
        #[arg(long, conflicts_with = "slug")]
        query: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Add a topic; its query is parsed and explained first.
    Add {
        /// Its id, in its feed's URL (a-z, 0-9, '-').
        slug: String,
        /// Its title, shown in its feed and page.
        #[arg(long)]
        title: String,
        /// Which stories belong to it (AND, OR, NOT, (), "phrases", title:).
        #[arg(long)]
        query: String,
        /// Only stories of sources with this tag (repeatable).
        #[arg(long = "tag", value_name = "T")]
        tags: Vec<String>,
        /// The language of its feed and page: zh-Hans, zh-Hant or en.
        #[arg(long, value_name = "L")]
        language: Option<String>,
        /// The script its stories are shown in: simplified, traditional or
        /// as-published.
        #[arg(long, value_name = "S")]
        script: Option<String>,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Change a topic: title, query, tags, language, script.
    Edit {
        /// The topic's slug (it stays: it is its feed's URL).
        slug: String,
        /// A new title.
        #[arg(long)]
        title: Option<String>,
        /// A new query (parsed and explained first).
        #[arg(long)]
        query: Option<String>,
        /// Add a tag (repeatable).
        #[arg(long = "tag", value_name = "T")]
        tags: Vec<String>,
        /// Remove a tag (repeatable).
        #[arg(long, value_name = "T")]
        untag: Vec<String>,
        /// zh-Hans, zh-Hant or en.
        #[arg(long, value_name = "L")]
        language: Option<String>,
        /// simplified, traditional or as-published.
        #[arg(long, value_name = "S")]
        script: Option<String>,
        /// Remove a key, back to its default: tags, language or script
        /// (repeatable).
        #[arg(long, value_name = "KEY")]
        unset: Vec<String>,
        #[command(flatten)]
        reload: ReloadFlag,
    },
    /// Remove a topic from the config (its stories stay).
    Remove {
        /// The topic's slug.
        slug: String,
        #[command(flatten)]
        reload: ReloadFlag,
    },
}

#[derive(Subcommand, Debug)]
pub enum StoriesCommand {
    /// A story's copies, how each joined it (method, score), and the near
    /// misses: stories that were candidates but judged different.
    Explain {
        /// The story id (or a unique prefix of it, 8 characters or more).
        id: String,
    },
}

/// `export --since`: a time, a date or a duration back from now.
#[derive(Clone, Debug, PartialEq)]
pub enum Since {
    /// An RFC 3339 time.
    At(DateTime<Utc>),
    /// A date: from its first instant in `[display] timezone`.
    Date(chrono::NaiveDate),
    /// This long before now.
    Ago(chrono::TimeDelta),
}

impl Since {
    /// The instant meant, in the display zone, at `now`.
    pub fn resolve(
        &self,
        display: &crate::config::Display,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Since::At(t) => Some(*t),
            Since::Date(d) => display.start_of(*d),
            Since::Ago(d) => now.checked_sub_signed(*d),
        }
    }
}

fn parse_since(s: &str) -> Result<Since, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(Since::At(d.with_timezone(&Utc)));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(Since::Date(d));
    }
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let minutes = match unit {
        "m" | "min" => Some(1),
        "h" => Some(60),
        "d" => Some(24 * 60),
        "w" => Some(7 * 24 * 60),
        _ => None,
    };
    if let (Ok(n), Some(minutes)) = (n.parse::<i64>(), minutes)
        && let Some(d) = n
            .checked_mul(minutes)
            .filter(|m| *m <= 100 * 366 * 24 * 60)
            .map(chrono::TimeDelta::minutes)
    {
        return Ok(Since::Ago(d));
    }
    Err(format!(
        "{s:?} is not a time: give a date (2026-12-04, from its midnight in [display] timezone), \
         a duration back from now (90m, 24h, 7d, 2w, up to 100 years) \
         or an RFC 3339 time (2026-12-04T08:00:00+08:00)"
    ))
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    run(cli).into()
}

/// Logs go to stderr: `RUST_LOG`, else `[log].level`, else `default`. Under
/// systemd (JOURNAL_STREAM set) one plain line per event, no colours and no
/// timestamp (the journal adds its own); on a terminal, coloured.
fn init_logging(config_level: Option<&str>, default: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|l| tracing_subscriber::EnvFilter::try_new(quiet_parsers(&l)).ok())
        .or_else(|| {
            config_level.and_then(|l| tracing_subscriber::EnvFilter::try_new(quiet_parsers(l)).ok())
        })
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// The HTML parser's crates log every tree fix-up at DEBUG (thousands of
/// lines a poll), burying ours under `RUST_LOG=debug`: they stay at INFO
/// unless the directives name them.
fn quiet_parsers(directives: &str) -> String {
    let mut out = directives.to_string();
    for noisy in ["html5ever", "markup5ever", "selectors"] {
        if !directives.contains(noisy) {
            out.push_str(&format!(",{noisy}=info"));
        }
    }
    out
}

fn load(path: &std::path::Path) -> Result<Config, Exit> {
    Config::load(path).map_err(|e| {
        match &e {
            ConfigError::Read { .. } => errln!("error: {e}"),
            ConfigError::Invalid { problems, .. } => {
                errln!("{e}");
                errln!(
                    "{} problem{} in {}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    path.display()
                );
            }
        }
        Exit::Config
    })
}

pub fn run(cli: Cli) -> Exit {
    if let Command::Demo { listen, keep } = &cli.command {
        // Its own config, written into its folder: none is read.
        init_logging(None, "warn");
        return demo(*listen, keep.as_deref());
    }
    let config = match load(&cli.config) {
        Ok(c) => c,
        Err(code) => {
            return code;
        }
    };
    let default_level = match cli.command {
        Command::Run | Command::Serve => "info",
        _ => "warn",
    };
    init_logging(config.log_level.as_deref(), default_level);
    if matches!(cli.command, Command::Run | Command::Poll { .. }) {
        log_warnings(&config);
    }
    match cli.command {
        Command::Check { strict } => check(&cli.config, &config, strict),
        Command::Poll { sources, now: true } => poll_now(&config, &sources),
        Command::Poll {
            sources,
            now: false,
        } => poll(&config, &sources),
        Command::Export { topic, since } => {
            let from = since
                .as_ref()
                .map(|s| s.resolve(&config.display, Utc::now()));
            match from {
                Some(None) => {
                    errln!("error: --since: the time it names is out of range");
                    Exit::Config
                }
                from => export(&config, topic.as_deref(), from.flatten()),
            }
        }
        Command::Render {
            slug,
            format,
            limit,
        } => render(&config, &slug, format, limit),
        Command::Serve => serve(&config),
        Command::Run => daemon(&cli.config, config),
        Command::Stories {
            command: StoriesCommand::Explain { id },
        } => explain(&config, &id),
        Command::Sources { command } => sources(&config, command),
        Command::Topics { command } => topics(&config, command),
        Command::Backup { path, force } => backup(&config, &path, force),
        Command::Restore { path } => restore(&config, &path),
        Command::MigrateStore { to } => migrate_store(&config, &to),
        // Answered above, before any config is read.
        Command::Demo { listen, keep } => demo(listen, keep.as_deref()),
        Command::Reload => match crate::daemon::send_reload(&config) {
            Ok(pid) => {
                out(&format!("sent SIGHUP to newsriver (pid {pid})\n"));
                Exit::Success
            }
            Err(e) => {
                errln!("error: {e}");
                Exit::Runtime
            }
        },
    }
}

/// Stories `check` tries each topic on, newest first.
const CHECK_STORIES: usize = 1000;

/// `check`: the file was read and is valid (`load`); what the environment
/// says of it, then the warnings: the file's, and each topic that holds
/// none of the newest stored stories.
fn check(path: &std::path::Path, config: &Config, strict: bool) -> Exit {
    let problems = config.environment_problems();
    if !problems.is_empty() {
        errln!("{}", config.render_problems(&problems));
        errln!(
            "{} problem{} in {}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            path.display()
        );
        return Exit::Config;
    }
    let mut warnings = config.warnings.clone();
    let (empty, tried) = empty_topics(config);
    warnings.extend(empty);
    warnings.sort_by_key(|w| (w.line, w.column));
    if !warnings.is_empty() {
        errln!("{}", config.render_warnings(&warnings));
    }
    out(&format!(
        "{}: ok ({}, {} enabled, {}{}){}\n",
        path.display(),
        plural(config.sources.len(), "source"),
        config.sources.iter().filter(|s| s.enabled).count(),
        plural(config.topics.len(), "topic"),
        match tried {
            Some(n) => format!(" tried on {}, the newest stored", stories_count(n as i64)),
            None => String::new(),
        },
        match warnings.len() {
            0 => String::new(),
            n => format!(", {}", plural(n, "warning")),
        }
    ));
    if strict && !warnings.is_empty() {
        errln!("error: {} and --strict", plural(warnings.len(), "warning"));
        return Exit::Config;
    }
    Exit::Success
}

/// `check`'s warnings for topics that hold none of the `CHECK_STORIES`
/// newest stored stories (their query and tags tried on each, read-only),
/// and how many stories were tried. None without a database, or one that
/// cannot be read (said on stderr).
fn empty_topics(config: &Config) -> (Vec<crate::config::Problem>, Option<usize>) {
    if config.topics.is_empty() {
        return (Vec::new(), None);
    }
    let reader = match pipeline::open_reader(config) {
        // No data yet: nothing to try them on.
        Err(pipeline::PipelineError::NoDatabase(_)) => return (Vec::new(), None),
        opened => opened,
    };
    let tried = reader
        .map_err(|e| e.to_string())
        .and_then(|r| pipeline::topic_hits(&r, config, CHECK_STORIES).map_err(|e| e.to_string()));
    let hits = match tried {
        Ok(h) if h.tried > 0 => h,
        Ok(_) => return (Vec::new(), Some(0)),
        Err(e) => {
            errln!("note: topics not tried on stored stories: {e}");
            return (Vec::new(), None);
        }
    };
    let warnings = config
        .topics
        .iter()
        .enumerate()
        .filter(|(_, t)| hits.hits.get(&t.slug).copied().unwrap_or(0) == 0)
        .map(|(i, t)| crate::config::Problem {
            line: t.at.0,
            column: t.at.1,
            key: format!("topic[{i}]"),
            message: format!(
                "topic {:?} holds none of the newest stored stories ({} tried: its query{} on each); `newsriver topics preview {}` shows what it matches",
                t.slug,
                hits.tried,
                if t.tags.is_empty() { "" } else { " and tags" },
                t.slug
            ),
        })
        .collect();
    (warnings, Some(hits.tried))
}

/// The config's warnings (`Config::warnings`) in the log, for `run` and
/// `poll` (`check` prints them).
fn log_warnings(config: &Config) {
    for line in config.render_problems(&config.warnings).lines() {
        tracing::warn!("{}", crate::printable::escape_line(line));
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    // Preparing polls (parse, normalize, keys, compression) and SQLite
    // reads run on the blocking pool; the writer has a thread of its own.
    // One pool thread per CPU. The poller already lets only one prepare per
    // CPU run at a time (`Poller::cpu`), but with two threads per CPU the
    // prepares ran on any of them, and each thread keeps its own regex
    // caches, zstd context and malloc arena. Cold poll of the 1,000-feed
    // farms, two CPUs, 4 → 2 threads: wall −6 to −10%, CPU −2 to −4%, peak
    // RSS −14 to −17 MB (4,000 synthetic feeds: −25 MB; BENCHMARKS.md).
    // Hundreds (tokio's default cap is 512) would only add memory.
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(cpus)
        .enable_all()
        .build()
        .map_err(|e| {
            errln!("error: cannot start the async runtime: {e}");
            Exit::Runtime
        })
}

/// Runs one future on a fresh runtime (the CLI's async commands).
fn block_on<F: Future>(f: F) -> Result<F::Output, Exit> {
    runtime().map(|rt| rt.block_on(f))
}

/// `poll --now`: the running daemon polls (it owns the schedule, the
/// backoff and the per-host limits); without one, this process does.
fn poll_now(config: &Config, only: &[String]) -> Exit {
    let Some(pid) = crate::daemon::running_daemon(config) else {
        errln!("no daemon runs on {}; polling here", config.storage.shown());
        return poll(config, only);
    };
    let sources = match config.sources_to_poll(only) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {e}");
            return Exit::Config;
        }
    };
    if let Some(off) = sources.iter().find(|s| !s.enabled) {
        errln!(
            "error: source {} is disabled, so the daemon does not poll it; \
             `newsriver sources enable {}` first, or `newsriver poll --source {}` \
             (without --now) to poll it once here",
            off.id,
            off.id,
            off.id
        );
        return Exit::Config;
    }
    match crate::daemon::send_poll_now(config, pid, only) {
        Ok(()) => {
            out(&format!(
                "asked newsriver (pid {pid}) to poll {} now; `newsriver sources list` shows the outcome\n",
                plural(sources.len(), "source")
            ));
            Exit::Success
        }
        Err(e) => {
            errln!("error: {e}");
            Exit::Runtime
        }
    }
}

fn poll(config: &Config, only: &[String]) -> Exit {
    let sources = match config.sources_to_poll(only) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {e}");
            return Exit::Config;
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(async {
        let poller = Poller::new(config)?;
        let bar = crate::progress::progress_bar(sources.len() as u64, "polling");
        let report = poller
            .poll_shared(sources, |r| {
                bar.set_message(r.id.to_string());
                bar.inc(1);
            })
            .await;
        bar.finish_and_clear();
        let report = report?;
        // Without the daemon (polls from cron), retention runs here. The
        // polls are stored by now: a failure here is a warning, not exit 1.
        let upkeep = pipeline::maintain(poller.writer(), config.storage.retention_days, &|| true)
            .await
            .unwrap_or_else(|e| {
                errln!("warning: retention or space reclamation failed: {e}");
                pipeline::Maintenance::default()
            });
        poller.writer().log_work().await;
        Ok::<_, pipeline::PipelineError>((report, upkeep))
    });
    let (report, upkeep) = match result {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {e}");
            return Exit::Runtime;
        }
    };
    err_text(&summary(&report));
    if let (Some(days), true) = (config.storage.retention_days, upkeep.pruned.stories > 0) {
        errln!(
            "retention: removed {} published more than {days} days ago",
            stories_count(upkeep.pruned.stories as i64)
        );
    }
    Exit::Success
}

/// The one-screen summary printed after a poll.
pub fn summary(r: &pipeline::PollReport) -> String {
    let failed: Vec<_> = r.failed().collect();
    let mut s = format!(
        "polled {} sources in {}: {} ok, {} not modified, {} failed\n",
        r.sources.len(),
        pipeline::human_duration(Duration::from_millis(r.elapsed_ms)),
        r.ok(),
        r.not_modified(),
        failed.len()
    );
    s += &format!(
        "items: {} new, {} known, {} updated{}; stories: {} new, {} merged{}; {} fetched\n",
        r.counts.items_new,
        r.counts.items_known,
        r.counts.items_updated,
        match r.counts.items_skipped {
            0 => String::new(),
            n => format!(", {n} skipped (no title, text or link)"),
        },
        r.counts.stories_new,
        r.counts.stories_merged,
        match r.counts.stories_bridged {
            0 => String::new(),
            n => format!(", {n} joined to another"),
        },
        human_bytes(r.bytes)
    );
    let c = &r.counts;
    if c.pages_fetched + c.pages_failed + c.pages_skipped + c.pages_not_needed > 0 {
        s += &format!(
            "full text: {} pages fetched, {} failed, {} skipped, {} not needed (the feed had the whole text)\n",
            c.pages_fetched, c.pages_failed, c.pages_skipped, c.pages_not_needed
        );
    }
    if !failed.is_empty() {
        s += "failed:\n";
        let width = failed.iter().map(|(f, _)| f.id.len()).max().unwrap_or(0);
        for (f, error) in failed.iter().take(20) {
            s += &format!(
                "  {:width$}  {}  <{}>\n",
                f.id,
                crate::printable::escape_line(error),
                crate::printable::escape_line(&f.url)
            );
        }
        if failed.len() > 20 {
            s += &format!(
                "  … and {} more (see `newsriver export` / the log)\n",
                failed.len() - 20
            );
        }
    }
    s
}

/// Bytes for people, one decimal (`1.5 MiB`). Not indicatif's
/// `HumanBytes`, which prints two (`1.50 MiB`): the poll summary and
/// `backup` would change visibly. (Likewise the summary keeps
/// `pipeline::human_duration`, `350 ms` / `1.3 s`: `HumanDuration` rounds to
/// whole seconds, so a sub-second poll would read `0 seconds`.)
fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn render(config: &Config, slug: &str, format: crate::publish::Format, limit: usize) -> Exit {
    let topic = match crate::admin::topic(config, slug) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let reader = match open_store(config) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match pipeline::render_topic(&reader, config, topic, format, limit) {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(&bytes).and_then(|()| out.flush()) {
                Ok(()) => Exit::Success,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Success,
                Err(e) => {
                    errln!("error: writing output: {e}");
                    Exit::Runtime
                }
            }
        }
        Err(e) => fail(&AdminError::Store(e)),
    }
}

/// A read-only connection to the database, or says why not. The database
/// must exist: only `run`, `poll` and `restore` create one; it is not
/// migrated or changed (`pipeline::open_reader`).
fn open_store(config: &Config) -> Result<crate::store::Reader, Exit> {
    pipeline::open_reader(config).map_err(|e| fail(&AdminError::Open(e)))
}

/// `open_store` when there is a database; `None` before the first poll,
/// with a note on stderr of where it looked (an admin command run against
/// the service's config without its `STATE_DIRECTORY` would otherwise show
/// every source as never polled without a word).
fn open_if_any(config: &Config) -> Result<Option<crate::store::Reader>, Exit> {
    match pipeline::open_reader(config) {
        Err(pipeline::PipelineError::NoDatabase(missing)) => {
            errln!("note: {missing}; showing the configured sources only");
            Ok(None)
        }
        opened => opened.map(Some).map_err(|e| fail(&AdminError::Open(e))),
    }
}

/// Writes text for people to stdout, control characters made visible; a
/// closed pipe (`newsriver sources list | head`) is not an error worth a
/// panic.
fn out(text: &str) {
    out_raw(&crate::printable::escape(text));
}

/// Writes a machine format (OPML, JSON Lines) as it is: its own escaping
/// keeps control characters out of it.
fn out_raw(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Says why an admin command failed (stderr) and gives its exit code.
fn fail(e: &AdminError) -> Exit {
    errln!("error: {e}");
    Exit::from(e)
}

/// Prints `result` (stdout, control characters made visible) or its error
/// (stderr, the exit code of its kind).
fn emit(result: Result<String, AdminError>) -> Exit {
    match result {
        Ok(text) => {
            out(&text);
            Exit::Success
        }
        Err(e) => fail(&e),
    }
}

/// Like `emit`, for machine formats (printed as they are).
fn emit_raw(result: Result<String, AdminError>) -> Exit {
    match result {
        Ok(text) => {
            out_raw(&text);
            Exit::Success
        }
        Err(e) => fail(&e),
    }
}

/// Like `emit`, for an async admin command (on a runtime of its own).
fn emit_async(result: impl Future<Output = Result<String, AdminError>>) -> Exit {
    match block_on(result) {
        Ok(result) => emit(result),
        Err(code) => code,
    }
}

/// `sources …`: one admin function each; the edits may then `--reload`.
fn sources(config: &Config, command: SourcesCommand) -> Exit {
    use crate::admin;
    match command {
        SourcesCommand::List { tag, format, wide } => {
            sources_list(config, tag.as_deref(), &format, wide)
        }
        SourcesCommand::Show { id, format } => match open_if_any(config) {
            Ok(store) if format == "json" => {
                emit_raw(admin::sources_show(config, store.as_ref(), &id, true))
            }
            Ok(store) => emit(admin::sources_show(config, store.as_ref(), &id, false)),
            Err(code) => code,
        },
        SourcesCommand::Test { target, page: None } => {
            emit_async(admin::sources_test(config, &target))
        }
        SourcesCommand::Test {
            target,
            page: Some(page),
        } => emit_async(admin::sources_test_page(
            config,
            &target,
            Some(page.as_str()).filter(|p| !p.is_empty()),
        )),
        SourcesCommand::Export => emit_raw(admin::sources_export(config)),
        SourcesCommand::Add {
            url,
            id,
            name,
            tags,
            schedule,
            full_text,
            full_text_selector,
            encoding,
            disabled,
            pick,
            no_fetch,
            reload,
        } => {
            let req = admin::AddSource {
                url,
                id,
                name,
                tags,
                schedule,
                full_text,
                full_text_selector,
                encoding,
                disabled,
                pick,
                fetch: !no_fetch,
            };
            match block_on(admin::sources_add(config, req)) {
                Ok(added) => edited(config, added, reload),
                Err(code) => code,
            }
        }
        SourcesCommand::Import {
            file,
            tags,
            no_fetch,
            skip_failed,
            reload,
        } => match block_on(admin::sources_import(
            config,
            &file,
            &tags,
            !no_fetch,
            skip_failed,
        )) {
            Ok(imported) => edited(config, imported, reload),
            Err(code) => code,
        },
        SourcesCommand::Remove { id, purge, reload } => {
            edited(config, admin::remove_source(config, &id, purge), reload)
        }
        SourcesCommand::Enable { id, reload } => {
            edited(config, admin::set_enabled(config, &id, true), reload)
        }
        SourcesCommand::Disable { id, reload } => {
            edited(config, admin::set_enabled(config, &id, false), reload)
        }
        SourcesCommand::Tag {
            id,
            changes,
            reload,
        } => edited(config, admin::retag(config, &id, &changes), reload),
        SourcesCommand::Set {
            id,
            settings,
            unset,
            reload,
        } => edited(
            config,
            admin::sources_set(config, &id, &settings, &unset),
            reload,
        ),
        SourcesCommand::Rename { old, new, reload } => {
            edited(config, admin::sources_rename(config, &old, &new), reload)
        }
    }
}

/// `sources list`: before the first poll there is no database; the
/// configured sources are listed all the same.
fn sources_list(config: &Config, tag: Option<&str>, format: &str, wide: bool) -> Exit {
    let store = match open_if_any(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let json = format == "json";
    let listed = crate::admin::sources_list(config, store.as_ref(), tag, json, wide);
    if json { emit_raw(listed) } else { emit(listed) }
}

/// An edit of the config: prints what was done, then tells the daemon if
/// asked (`--reload`).
fn edited(config: &Config, edit: Result<String, AdminError>, reload: ReloadFlag) -> Exit {
    match edit {
        Ok(text) => {
            out(&text);
            if reload.reload {
                return reload_daemon(config);
            }
            Exit::Success
        }
        Err(e) => fail(&e),
    }
}

/// `--reload` on an edit: SIGHUP to the daemon of this config. The edit is
/// saved either way; a failed reload is reported (exit 1).
fn reload_daemon(config: &Config) -> Exit {
    match crate::daemon::send_reload(config) {
        Ok(pid) => {
            out(&format!("sent SIGHUP to newsriver (pid {pid})\n"));
            Exit::Success
        }
        Err(e) => {
            errln!(
                "error: the edit is saved, but the daemon was not told: {e}\n\
                 (a running daemon also notices the changed file within seconds)"
            );
            Exit::Runtime
        }
    }
}

/// `topics …`: the reads open the database; the edits need none.
fn topics(config: &Config, command: TopicsCommand) -> Exit {
    use crate::admin::{self, TopicChange};
    match command {
        TopicsCommand::List => with_store(config, |store| emit(admin::topics_list(config, store))),
        TopicsCommand::Preview { slug, query, limit } => with_store(config, |store| {
            emit(admin::topics_preview(
                config,
                store,
                slug.as_deref(),
                query.as_deref(),
                limit,
            ))
        }),
        TopicsCommand::Add {
            slug,
            title,
            query,
            tags,
            language,
            script,
            reload,
        } => {
            let change = TopicChange {
                title: Some(title),
                query: Some(query),
                tags,
                language,
                script,
                ..TopicChange::default()
            };
            edited(config, admin::topics_add(config, &slug, change), reload)
        }
        TopicsCommand::Edit {
            slug,
            title,
            query,
            tags,
            untag,
            language,
            script,
            unset,
            reload,
        } => {
            let change = TopicChange {
                title,
                query,
                tags,
                untag,
                language,
                script,
                unset,
            };
            edited(config, admin::topics_edit(config, &slug, change), reload)
        }
        TopicsCommand::Remove { slug, reload } => {
            edited(config, admin::topics_remove(config, &slug), reload)
        }
    }
}

/// Runs `f` on a read-only connection, or says why there is none.
fn with_store(config: &Config, f: impl FnOnce(&crate::store::Reader) -> Exit) -> Exit {
    match open_store(config) {
        Ok(store) => f(&store),
        Err(code) => code,
    }
}

fn explain(config: &Config, prefix: &str) -> Exit {
    let store = match open_store(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match pipeline::explain(&store, config, prefix) {
        Ok(pipeline::Explained::Story(e)) => {
            out(&explanation(&e, &config.display));
            Exit::Success
        }
        Ok(pipeline::Explained::Ambiguous { matches, first }) => {
            errln!("error: {prefix:?} matches {matches} stories ({first}…); give more of the id");
            Exit::Config
        }
        Ok(pipeline::Explained::NotFound) => {
            errln!("error: no story with id {prefix:?}");
            Exit::Config
        }
        Err(e) => {
            errln!("error: {e}");
            Exit::Runtime
        }
    }
}

/// A stored RFC 3339 time as people read times (`Display::time`); as it is
/// when it does not read.
fn shown_time(display: &crate::config::Display, rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| display.time(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// `stories explain` for people.
fn explanation(e: &pipeline::Explanation, display: &crate::config::Display) -> String {
    let story = &e.story;
    let mut out = format!(
        "story {}\n  title     {}\n  published {}\n  link      {}\n  topics    {}\n  copies:\n",
        story.id,
        story.title,
        shown_time(display, &story.published),
        story.link.as_deref().unwrap_or("-"),
        if story.topics.is_empty() {
            "-".to_string()
        } else {
            story.topics.join(", ")
        }
    );
    for c in &story.copies {
        out += &format!(
            "    {:<20} {:<12} {:>6}  {}  {}  {}\n",
            c.source,
            c.method.as_deref().unwrap_or("-"),
            c.score.map(|s| format!("{s:.3}")).unwrap_or_default(),
            shown_time(display, &c.published),
            c.link.as_deref().unwrap_or("-"),
            c.title.as_deref().unwrap_or("")
        );
    }
    out += "  near misses (candidates judged different):\n";
    if e.near_misses.is_empty() {
        out += "    none\n";
    }
    for c in &e.near_misses {
        let why = match &c.verdict {
            crate::dedupe::Verdict::Same { method, score } => {
                format!(
                    "would merge now ({method} {score:.3}): stored before, or thresholds changed"
                )
            }
            crate::dedupe::Verdict::Different { reason } => reason.clone(),
        };
        out += &format!(
            "    {}  {}  jaccard {:.3} containment {:.3}: {}\n",
            &c.id[..16.min(c.id.len())],
            c.title,
            c.score.jaccard,
            c.score.containment,
            why
        );
    }
    out
}

/// `run`. When the writer cannot open because the disk is full, the feeds
/// are served read-only meanwhile (`read_only_daemon`), and the daemon
/// starts for real once there is room again.
fn daemon(path: &std::path::Path, config: Config) -> Exit {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    loop {
        // The writer is tried first: the daemon installs the process's one
        // metrics recorder when it starts, so it should start once. (Should
        // the disk fill up between this and its start, it falls back all
        // the same, with `/metrics` off after the restart.)
        let blocked = writer_blocked(&config)
            .or_else(|| rt.block_on(crate::daemon::run(path, config.clone())).err());
        let Some(e) = blocked else {
            return Exit::Success;
        };
        let full = match &e {
            crate::daemon::DaemonError::Pipeline(PipelineError::Store(store)) => {
                crate::store::disk_full(&config.storage.path, store)
            }
            _ => None,
        };
        errln!("error: {e}");
        let Some(cause) = full else {
            return Exit::Runtime;
        };
        match rt.block_on(read_only_daemon(&config, &cause)) {
            Ok(true) => tracing::info!("there is room again: starting the daemon"),
            Ok(false) => return Exit::Success,
            Err(e) => {
                errln!("error: {e}");
                return Exit::Runtime;
            }
        }
    }
}

/// Why the writer cannot open an existing database when that is a full
/// disk (`store::disk_full`); `None` otherwise (the daemon reports any
/// other failure itself).
fn writer_blocked(config: &Config) -> Option<crate::daemon::DaemonError> {
    let path = &config.storage.path;
    if !path.exists() {
        return None;
    }
    match crate::store::Writer::open(path) {
        Err(e) if crate::store::disk_full(path, &e).is_some() => {
            Some(PipelineError::Store(e).into())
        }
        _ => None,
    }
}

/// How often `run` on a full disk tries to open the writer again.
const READ_ONLY_RETRY: Duration = Duration::from_secs(5);

/// `run` while the disk is full: the database's lock held (one daemon),
/// the feeds served from a read-only reading of the database
/// (`store::Reader::open` on a full disk), `/healthz` an error naming the
/// cause, systemd told it is ready (a restart loop would serve nothing).
/// Until SIGTERM/SIGINT (`Ok(false)`) or the writer opens again
/// (`Ok(true)`: the caller starts the daemon).
async fn read_only_daemon(config: &Config, cause: &str) -> Result<bool, ServeError> {
    use crate::http;
    let lock = crate::daemon::lock_database(config)
        .map_err(|e| ServeError::Io(std::io::Error::other(e)))?;
    let readers = std::sync::Arc::new(pipeline::open_readers(config)?);
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: config.server.listen,
            source,
        })?;
    let health = http::HealthState::new(http::last_success(&readers).await.ok().flatten());
    let why = format!(
        "read-only: {cause}; polling stopped, the writer is tried again every {} s",
        READ_ONLY_RETRY.as_secs()
    );
    health.store_failed(why.clone());
    let cache = std::sync::Arc::new(http::FeedCache::new(config));
    http::refresh_blocking(&cache, &readers).await;
    let router = http::router(http::AppState::new(cache, health, None));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve_connections(
        listener,
        router,
        http::Limits::new(&config.server),
        async {
            let _ = stopped.await;
        },
    ));
    tracing::error!("{why}; serving the feeds as they are");
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&why),
    ]);
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let path = config.storage.path.clone();
    let room = loop {
        tokio::select! {
            () = shutdown_signal() => break false,
            _ = hup.recv() => tracing::warn!("reload ignored while the disk is full"),
            () = tokio::time::sleep(READ_ONLY_RETRY) => {
                let path = path.clone();
                let opened = tokio::task::spawn_blocking(move || crate::store::Writer::open(&path).map(drop)).await;
                if matches!(opened, Ok(Ok(()))) {
                    break true;
                }
            }
        }
    };
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    drop(lock);
    Ok(room)
}

fn serve(config: &Config) -> Exit {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result: Result<(), ServeError> = rt.block_on(async {
        let store = pipeline::open_readers(config)?;
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: config.server.listen,
                source,
            })?;
        let bound = listener.local_addr()?;
        errln!(
            "serving {} on http://{bound} (feeds at {}topics/)",
            plural(config.topics.len(), "topic"),
            config.server.base_url
        );
        crate::http::serve(
            config,
            listener,
            store,
            Duration::from_secs(5),
            shutdown_signal(),
        )
        .await?;
        Ok(())
    });
    match result {
        Ok(()) => Exit::Success,
        Err(e) => {
            errln!("error: {e}");
            Exit::from(&e)
        }
    }
}

/// Why `serve` could not start or stopped.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error(transparent)]
    Open(#[from] PipelineError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn export(config: &Config, topic: Option<&str>, since: Option<DateTime<Utc>>) -> Exit {
    if let Some(slug) = topic
        && let Err(e) = crate::admin::topic(config, slug)
    {
        return fail(&e);
    }
    let store = match open_store(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = store.export(topic, since, |story| {
        serde_json::to_writer(&mut out, &story).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    });
    let io = match result {
        Ok(io) => io.and_then(|()| out.flush()),
        Err(e) => {
            errln!("error: {e}");
            return Exit::Runtime;
        }
    };
    match io {
        Ok(()) => Exit::Success,
        // `newsriver export | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Success,
        Err(e) => {
            errln!("error: writing output: {e}");
            Exit::Runtime
        }
    }
}

fn migrate_store(config: &Config, to: &str) -> Exit {
    if let Some(url) = &config.storage.postgres {
        errln!(
            "error: the config's store is PostgreSQL already ({}); migrate-store copies the SQLite file of [storage].path",
            crate::store::redact_password(url)
        );
        return Exit::Config;
    }
    if !crate::config::is_postgres_url(to) {
        errln!("error: --to must be a PostgreSQL URL (postgres://…), not {to}");
        return Exit::Config;
    }
    if !config.storage.path.exists() {
        errln!("error: {}", pipeline::missing_database(config));
        return Exit::Runtime;
    }
    match crate::store::copy_sqlite(&config.storage.path, to) {
        Ok(copied) => {
            for (table, n) in &copied.tables {
                println!("{table:<14} {n:>10} rows");
            }
            println!(
                "copied {} into {}; every table's rows counted again. Set [storage] url to it (and remove path) to use it.",
                config.storage.path.display(),
                crate::store::redact_password(to)
            );
            Exit::Success
        }
        Err(e) => {
            errln!("error: migrate-store failed: {e}");
            Exit::Runtime
        }
    }
}

fn backup(config: &Config, dest: &std::path::Path, force: bool) -> Exit {
    if let Some(url) = &config.storage.postgres {
        errln!(
            "error: the store is PostgreSQL ({}): back it up with pg_dump (docs/data-safety.md), e.g. pg_dump --format=custom --file=newsriver.dump DBNAME",
            crate::store::redact_password(url)
        );
        return Exit::Config;
    }
    if !config.storage.path.exists() {
        errln!(
            "error: backup failed: {}",
            pipeline::missing_database(config)
        );
        return Exit::Runtime;
    }
    match crate::store::backup(&config.storage.path, dest, force) {
        Ok(info) => {
            println!(
                "backed up {} ({}, {} copies, {}) to {}",
                config.storage.path.display(),
                stories_count(info.stories),
                info.copies,
                human_bytes(info.bytes),
                dest.display()
            );
            Exit::Success
        }
        Err(e) => {
            errln!("error: backup failed: {e}");
            Exit::Runtime
        }
    }
}

fn demo(listen: std::net::SocketAddr, keep: Option<&std::path::Path>) -> Exit {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(crate::demo::run(listen, keep)) {
        Ok(()) => Exit::Success,
        Err(e) => {
            errln!("error: {e}");
            Exit::Runtime
        }
    }
}

fn restore(config: &Config, from: &std::path::Path) -> Exit {
    if let Some(url) = &config.storage.postgres {
        errln!(
            "error: the store is PostgreSQL ({}): restore it with pg_restore (docs/data-safety.md), e.g. pg_restore --clean --dbname=DBNAME newsriver.dump, with every poller stopped",
            crate::store::redact_password(url)
        );
        return Exit::Config;
    }
    // Swapping the file under a running daemon would leave it writing to
    // the old, unlinked file: refused while a daemon holds the database's
    // lock; held here until the new file is in place, so none starts meanwhile.
    let _lock = match crate::daemon::lock_database(config) {
        Ok(lock) => lock,
        Err(e) => {
            errln!("error: {e}; stop it before restoring");
            return Exit::Runtime;
        }
    };
    // And while any other writer (`poll`, `sources remove --purge`) has it
    // open: it would go on writing to the replaced file, and lose its work.
    // Held until the new file is in place, so no writer opens meanwhile.
    let _writers = match crate::store::lock_for_restore(&config.storage.path) {
        Ok(lock) => lock,
        Err(e) => {
            errln!("error: restore refused: {e}");
            return Exit::Runtime;
        }
    };
    match crate::store::restore(from, &config.storage.path) {
        Ok((info, kept)) => {
            println!(
                "restored {} from {} ({}, {} copies)",
                config.storage.path.display(),
                from.display(),
                stories_count(info.stories),
                info.copies
            );
            if let Some(kept) = kept {
                println!(
                    "the database it replaced is kept as {} (restore it to undo; delete it when no longer needed)",
                    kept.display()
                );
            }
            Exit::Success
        }
        Err(e) => {
            errln!("error: restore failed: {e}");
            Exit::Runtime
        }
    }
}

fn stories_count(n: i64) -> String {
    format!("{n} {}", if n == 1 { "story" } else { "stories" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::FetchError;
    use crate::opml_io::OpmlError;
    use crate::parse::ParseError;
    use crate::store::StoreError;

    fn sql() -> StoreError {
        StoreError::Sql(crate::store::sql::Error::NoRows)
    }

    #[test]
    fn since_is_a_date_a_duration_or_a_time() {
        use chrono::TimeZone;
        let shanghai = crate::config::Display {
            timezone: chrono_tz::Asia::Shanghai,
        };
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 8, 0, 0).unwrap();
        let at = |s: &str| parse_since(s).unwrap().resolve(&shanghai, now).unwrap();
        assert_eq!(
            at("2026-12-04"),
            Utc.with_ymd_and_hms(2026, 12, 3, 16, 0, 0).unwrap()
        );
        assert_eq!(at("24h"), now - chrono::TimeDelta::hours(24));
        assert_eq!(at("7d"), now - chrono::TimeDelta::days(7));
        assert_eq!(at("90m"), now - chrono::TimeDelta::minutes(90));
        assert_eq!(at("2w"), now - chrono::TimeDelta::days(14));
        assert_eq!(
            at("2026-12-04T08:00:00+08:00"),
            Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap()
        );
        for bad in [
            "",
            "h",
            "24",
            "24 h",
            "7days",
            "2026-02-30",
            "99999999999999999999d",
        ] {
            let e = parse_since(bad).unwrap_err();
            assert!(e.contains("2026-12-04") && e.contains("24h"), "{bad}: {e}");
        }
    }

    fn not_opml() -> OpmlError {
        crate::opml_io::read(b"<rss/>").unwrap_err()
    }

    fn exit(e: AdminError) -> Exit {
        Exit::from(&e)
    }

    #[test]
    fn names_arguments_and_refused_edits_exit_2() {
        let url = "http://example.com/";
        for e in [
            AdminError::Unknown("no source with id \"x\"".into()),
            AdminError::Refused("invalid URL".into()),
            AdminError::Probe {
                url: url.to_string(),
                source: crate::admin::ProbeError::NotModified,
            },
            AdminError::Probe {
                url: url.to_string(),
                source: crate::admin::ProbeError::NotAFeed(ParseError::HtmlPage),
            },
            AdminError::Opml {
                path: "x.opml".into(),
                source: not_opml(),
            },
            AdminError::Edit(EditError::Refused("duplicate".into())),
        ] {
            let shown = e.to_string();
            assert_eq!(exit(e), Exit::Config, "{shown}");
        }
    }

    #[test]
    fn the_database_the_network_and_files_exit_1() {
        for e in [
            AdminError::Store(sql()),
            AdminError::Open(PipelineError::Store(sql())),
            AdminError::Open(PipelineError::NoDatabase("no database at x".into())),
            AdminError::Purge {
                id: "a".into(),
                source: Box::new(sql()),
            },
            AdminError::Edit(EditError::Io("config.toml: cannot write".into())),
            AdminError::Read {
                path: "x.opml".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            },
            AdminError::Export(not_opml()),
            AdminError::Client(FetchError::Refused("no client".into())),
            AdminError::Fetch {
                shown: "GET http://example.com/\n".into(),
                source: FetchError::Refused("private address".into()),
            },
            AdminError::Parse {
                shown: "GET http://example.com/\n".into(),
                source: ParseError::NotAFeed("<html>".into()),
            },
        ] {
            let shown = e.to_string();
            assert_eq!(exit(e), Exit::Runtime, "{shown}");
        }
    }

    #[test]
    fn sources_set_help_names_every_key_it_takes() {
        use clap::CommandFactory;
        let mut cli = Cli::command();
        let set = cli
            .find_subcommand_mut("sources")
            .and_then(|s| s.find_subcommand_mut("set"))
            .expect("sources set");
        let help = set.render_long_help().to_string();
        for key in crate::config::source_keys() {
            if crate::edit::source_key_kind(key).is_some() {
                assert!(help.contains(key), "`sources set --help` lacks {key}");
            }
        }
    }

    #[test]
    fn serving_fails_at_run_time() {
        for e in [
            ServeError::Open(PipelineError::NoDatabase("no database at x".into())),
            ServeError::Open(PipelineError::Store(sql())),
            ServeError::Listen {
                addr: "127.0.0.1:1".parse().unwrap(),
                source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
            },
            ServeError::Io(std::io::Error::from(std::io::ErrorKind::Other)),
        ] {
            assert_eq!(Exit::from(&e), Exit::Runtime, "{e}");
        }
    }

    #[test]
    fn messages_keep_their_words() {
        let url = "http://example.com/";
        let probe = AdminError::Probe {
            url: url.to_string(),
            source: crate::admin::ProbeError::NotModified,
        };
        assert_eq!(
            probe.to_string(),
            "http://example.com/: answered 304 Not Modified (--no-fetch adds it without trying)"
        );
        let opml = AdminError::Opml {
            path: "x.opml".into(),
            source: not_opml(),
        };
        assert!(
            opml.to_string()
                .starts_with("x.opml: not a valid OPML file: ")
        );
        assert!(opml.to_string().ends_with("; nothing imported"));
        let fetch = AdminError::Fetch {
            shown: "GET u\n".into(),
            source: FetchError::Refused("a\u{1b}b".into()),
        };
        assert!(
            fetch.to_string().starts_with("GET u\n  fetch failed: "),
            "{fetch}"
        );
        assert!(!fetch.to_string().contains('\u{1b}'), "{fetch}");
        assert_eq!(
            AdminError::Purge {
                id: "a".into(),
                source: Box::new(sql())
            }
            .to_string(),
            format!("purging a: {}", sql())
        );
    }
}
