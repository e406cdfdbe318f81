//! `newsriver run`: polls every source on its schedule, keeps the topic feeds
//! fresh, serves them, and lives under systemd (readiness, status, watchdog,
//! reload on SIGHUP, bounded shutdown on SIGTERM).
//!
//! One loop owns the schedule: it reads every source's state from SQLite
//! (so a restart resumes where it was), starts the polls that are due (at
//! most `[fetch].concurrency` at once; `per_host` and `host_interval_ms` are
//! enforced in `fetch`), and sleeps until the next one is due, a poll
//! finishes, or a signal arrives.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use crate::config::{Config, Source};
use crate::http::{self, AppState, FeedCache, HealthState};
use crate::model::SourceId;
use crate::pipeline::{PipelineError, Poller, SourceOutcome, SourceReport};
use crate::schedule::{self, Backoff};
use crate::store::Readers;

/// Why the daemon could not start or go on (every kind exits 1).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The database's lock: held by another daemon (its pid), or not
    /// takeable (the message names the file).
    #[error("{0}")]
    Locked(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot install a signal handler: {0}")]
    Signal(std::io::Error),
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("internal: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Why a reload was refused (the old configuration keeps running).
#[derive(Debug, thiserror::Error)]
enum ReloadError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("[storage].path and [storage].url cannot change on reload; restart instead")]
    StoragePath,
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
}

/// How long in-flight polls may run on after SIGTERM before they are abandoned.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How often retention, space reclamation and the WAL checkpoint run (and
/// once at start).
pub const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

/// After a poll could not be stored (disk full, read-only file, another
/// process holding the write lock past the busy timeout), polling pauses
/// this long, doubling with each failure in a row up to `STORE_PAUSE_MAX`.
/// Serving goes on from the rendered-feed cache meanwhile.
pub const STORE_PAUSE: Duration = Duration::from_secs(5);
pub const STORE_PAUSE_MAX: Duration = Duration::from_secs(600);

fn store_pause(failures: u32) -> Duration {
    STORE_PAUSE
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(STORE_PAUSE_MAX)
}

/// The pid file beside the database, for `newsriver reload`.
pub fn pid_file(config: &Config) -> PathBuf {
    let mut p = config.storage.path.clone().into_os_string();
    p.push(".pid");
    PathBuf::from(p)
}

/// The lock file beside the database (`<database>.lock`): `run` holds an
/// exclusive lock on it for its whole life, `restore` while it replaces the
/// file. It holds the owner's pid; it is never removed (removing a lock file
/// others may have open races with them).
pub fn lock_file(config: &Config) -> PathBuf {
    let mut p = config.storage.path.clone().into_os_string();
    p.push(".lock");
    PathBuf::from(p)
}

/// An exclusive lock on the database's lock file; released when dropped
/// (or when the process dies, however it dies: it is an flock).
#[derive(Debug)]
pub struct DbLock {
    _file: std::fs::File,
}

/// Takes the database's lock without waiting. `Err` says who holds it (the
/// pid written in the lock file) or why it could not be taken.
pub fn lock_database(config: &Config) -> Result<DbLock, DaemonError> {
    use std::io::{Read as _, Seek as _, Write as _};
    let path = lock_file(config);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DaemonError::Locked(format!("{}: {e}", dir.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| {
            DaemonError::Locked(format!(
                "{}: cannot open the lock file: {e}",
                path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => {
            let pid = format!("{}\n", std::process::id());
            let written = file
                .set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(pid.as_bytes()));
            if let Err(e) = written {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the pid into the lock file");
            }
            Ok(DbLock { _file: file })
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let pid = text.trim();
            Err(DaemonError::Locked(format!(
                "another newsriver daemon{} is running on {} (it holds {})",
                if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                },
                config.storage.path.display(),
                path.display()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(DaemonError::Locked(format!(
            "{}: cannot lock: {e}",
            path.display()
        ))),
    }
}

/// `# HELP` text for every metric (promtool wants one per family).
fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "newsriver_polls_total",
        "Source polls by outcome (ok, not_modified, failed)."
    );
    describe_counter!(
        "newsriver_items_total",
        "Feed items seen by kind (new, known, updated)."
    );
    describe_counter!(
        "newsriver_text_fallbacks_total",
        "Items stored (new or edited) whose text was kept as published because stripping boilerplate left nothing of it."
    );
    describe_counter!(
        "newsriver_stories_total",
        "Stories by kind (new, merged into an existing one)."
    );
    describe_counter!(
        "newsriver_full_text_pages_total",
        "Article pages of full_text sources' new items by outcome (fetched: article kept; failed: fetch or extraction failed, feed text kept; skipped: no http(s) link)."
    );
    describe_counter!(
        "newsriver_fetched_bytes_total",
        metrics::Unit::Bytes,
        "Feed bytes fetched (after decompression)."
    );
    describe_histogram!(
        "newsriver_fetch_duration_seconds",
        metrics::Unit::Seconds,
        "Time to poll one source: fetch, parse and store."
    );
    describe_histogram!(
        "newsriver_feed_render_seconds",
        metrics::Unit::Seconds,
        "Time to render one topic feed in one format."
    );
    describe_histogram!(
        "newsriver_store_batch_polls",
        "Polls the writer stored in one transaction."
    );
    describe_counter!(
        "newsriver_feed_render_failures_total",
        "Topic feeds whose render failed (the previous feed is kept)."
    );
    describe_gauge!(
        "newsriver_sources_in_backoff",
        "Enabled sources waiting after failures or a Retry-After."
    );
    describe_counter!(
        "newsriver_source_failures_total",
        "Failed polls of one source since the daemon started."
    );
    describe_gauge!(
        "newsriver_source_consecutive_failures",
        "Failed polls of one source in a row (0 after a success)."
    );
    describe_gauge!(
        "newsriver_source_last_success_timestamp_seconds",
        "When one source last polled successfully (Unix time), since the daemon started."
    );
    describe_counter!(
        "newsriver_http_connections_refused_total",
        "HTTP connections closed on arrival because [server].max_connections were open."
    );
}

/// Removes the pid file if it still names this process.
fn remove_own_pid_file(path: &Path) {
    let mine = std::fs::read_to_string(path)
        .ok()
        .is_some_and(|t| t.trim() == std::process::id().to_string());
    if mine {
        let _ = std::fs::remove_file(path);
    }
}

/// What the daemon runs with; replaced as a whole on reload.
struct Running {
    config: Config,
    poller: Arc<Poller>,
    backoff: Backoff,
}

impl Running {
    fn new(config: Config, poller: Poller) -> Running {
        let backoff = Backoff {
            cap: Duration::from_secs(config.fetch.max_backoff_secs),
            ..Backoff::default()
        };
        Running {
            config,
            poller: Arc::new(poller),
            backoff,
        }
    }

    fn schedule_of<'a>(&'a self, source: &'a Source) -> &'a cron::Schedule {
        source
            .schedule
            .as_ref()
            .unwrap_or(&self.config.schedule.default)
    }
}

fn notify(state: &[sd_notify::NotifyState<'_>]) {
    // Outside systemd NOTIFY_SOCKET is unset and this does nothing.
    let _ = sd_notify::notify(state);
}

/// Runs until SIGTERM or SIGINT. `config_path` is re-read on SIGHUP.
pub async fn run(config_path: &Path, config: Config) -> Result<(), DaemonError> {
    run_with(config_path, config, None, std::future::pending()).await
}

/// `run`, serving on `listener` when given (bound by the caller: `demo`
/// prints its address before the daemon starts; `[server].listen` should
/// name it), and stopping when `stop` resolves as well as on SIGTERM or
/// SIGINT (the caller may hold signal handlers of its own).
pub async fn run_with(
    config_path: &Path,
    config: Config,
    listener: Option<tokio::net::TcpListener>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    // One daemon per database: a second would poll everything twice and
    // take the first one's pid file away. Held until this function returns.
    let _lock = lock_database(&config)?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("seconds".into()),
            &[0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
        )
        .and_then(|b| b.install_recorder())
        .map_err(|e| tracing::warn!(error = %e, "metrics disabled"))
        .ok();
    describe_metrics();
    // Before anything is served: a SIGTERM that comes once the feeds answer
    // (or while the database opens) stops the daemon in order, instead of
    // the default action killing it.
    let signals = Signals {
        hup: signal(tokio::signal::unix::SignalKind::hangup())?,
        term: signal(tokio::signal::unix::SignalKind::terminate())?,
        int: signal(tokio::signal::unix::SignalKind::interrupt())?,
        usr1: signal(tokio::signal::unix::SignalKind::user_defined1())?,
    };
    let mut daemon = Daemon::start(config_path, config, metrics, listener).await?;
    daemon.serve(signals, stop).await?;
    daemon.shutdown().await;
    Ok(())
}

/// The signals the daemon answers, installed before it starts.
struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    /// `newsriver poll --now`: read `poll_now_file`.
    usr1: tokio::signal::unix::Signal,
}

/// The scheduling loop's state: one method per event (`serve`).
struct Daemon {
    config_path: PathBuf,
    running: Running,
    /// Read-only connections for the schedule and the watchdog's ping.
    readers: Arc<Readers>,
    /// The renderer's own read-only connections (`http::spawn_refresher`).
    render_readers: Arc<Readers>,
    app: Arc<AppState>,
    health: Arc<HealthState>,
    rerender: Arc<tokio::sync::Notify>,
    refresher: tokio::task::JoinHandle<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    stop_http: Option<tokio::sync::oneshot::Sender<()>>,
    pid_path: PathBuf,
    stamp: Option<(PathBuf, u64, u64, std::time::SystemTime)>,
    in_flight: HashSet<String>,
    polls: JoinSet<(SourceId, Result<SourceReport, PipelineError>)>,
    /// Polls, failures, new stories since start.
    totals: (u64, u64, u64),
    /// What `sources.next_poll_at` last said, so each pass writes only changes.
    written: HashMap<SourceId, Option<DateTime<Utc>>>,
    /// Storing failed this many times in a row; no poll starts before `paused_until`.
    store_failures: u32,
    paused_until: Option<DateTime<Utc>>,
    maintenance: Option<tokio::task::JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
    /// Sources asked to be polled now (`newsriver poll --now`), whatever
    /// their schedule or backoff; each leaves the set when its poll starts.
    poll_now: HashSet<String>,
    /// Several pollers on PostgreSQL: the task renewing this one's host
    /// leases, and the pollers alive when last counted (and when).
    lease_keeper: Option<tokio::task::JoinHandle<()>>,
    live: (usize, std::time::Instant),
}

impl Daemon {
    /// Binds the listener, opens the database (the one writer), renders
    /// the feeds once, starts serving and writes the pid file.
    async fn start(
        config_path: &Path,
        config: Config,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
        listener: Option<tokio::net::TcpListener>,
    ) -> Result<Daemon, DaemonError> {
        // Bound first: a port already taken stops the daemon before it
        // creates or migrates a database.
        let listener = match listener {
            Some(bound) => bound,
            None => tokio::net::TcpListener::bind(config.server.listen)
                .await
                .map_err(|source| DaemonError::Listen {
                    addr: config.server.listen,
                    source,
                })?,
        };
        let poller = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || Poller::new(&config)).await??
        };
        let running = Running::new(config, poller);
        let bound = listener.local_addr()?;
        let readers = running.poller.readers();
        // Rendering reads through connections of its own: neither the
        // writer nor the schedule waits for it. /healthz reads `health`.
        let render_readers = Arc::new(crate::pipeline::open_readers(&running.config)?);
        let health = HealthState::new(http::last_success(&readers).await?);
        let cache = Arc::new(FeedCache::new(&running.config));
        http::refresh_blocking(&cache, &render_readers).await;
        let app = AppState::new(cache, health.clone(), metrics);
        let (rerender, refresher) = http::spawn_refresher(app.clone(), render_readers.clone());
        let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
        let router = http::router(app.clone());
        let limits = http::Limits::new(&running.config.server);
        let server = tokio::spawn(http::serve_connections(listener, router, limits, async {
            let _ = http_stopped.await;
        }));
        let pid_path = pid_file(&running.config);
        if let Err(e) = std::fs::write(&pid_path, format!("{}\n", std::process::id())) {
            tracing::warn!(path = %pid_path.display(), error = %e, "cannot write the pid file");
        }
        tracing::info!(
            listen = %bound,
            sources = running.config.sources.len(),
            topics = running.config.topics.len(),
            "newsriver running"
        );
        notify(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status("polling"),
        ]);
        Ok(Daemon {
            config_path: config_path.to_path_buf(),
            running,
            readers,
            render_readers,
            app,
            health,
            rerender,
            refresher,
            server,
            stop_http: Some(stop_http),
            pid_path,
            stamp: file_stamp(config_path),
            in_flight: HashSet::new(),
            polls: JoinSet::new(),
            totals: (0, 0, 0),
            written: HashMap::new(),
            store_failures: 0,
            paused_until: None,
            maintenance: None,
            stopping: Arc::new(AtomicBool::new(false)),
            poll_now: HashSet::new(),
            lease_keeper: None,
            live: (1, std::time::Instant::now()),
        })
    }

    /// The scheduling loop, until SIGTERM, SIGINT or `stop`.
    async fn serve(
        &mut self,
        signals: Signals,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), DaemonError> {
        let mut stop = std::pin::pin!(stop);
        let Signals {
            mut hup,
            mut term,
            mut int,
            mut usr1,
        } = signals;
        let watchdog = watchdog_interval();
        let mut watchdog_tick =
            tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
        let mut watch = tokio::time::interval(CONFIG_WATCH);
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut maintenance_tick = tokio::time::interval(MAINTENANCE_EVERY);
        if let Some(shared) = self.running.poller.shared() {
            self.lease_keeper = Some(shared.keep_alive());
        }
        loop {
            let plan = self.plan().await?;
            let plan = self.leased(plan).await;
            let sleep_for = self.start_due(plan);
            let mut reload_now = false;
            tokio::select! {
                () = tokio::time::sleep(sleep_for) => {}
                Some(done) = self.polls.join_next(), if !self.polls.is_empty() => {
                    self.polls_finished(done);
                }
                _ = hup.recv() => reload_now = true,
                _ = usr1.recv() => self.take_poll_requests(),
                _ = watch.tick() => reload_now = self.config_changed(),
                _ = watchdog_tick.tick(), if watchdog.is_some() => self.watchdog().await,
                _ = maintenance_tick.tick() => self.start_maintenance(),
                _ = term.recv() => break,
                _ = int.recv() => break,
                () = &mut stop => break,
            }
            if reload_now {
                self.reload().await;
            }
        }
        Ok(())
    }

    /// When is every enabled source due (by its index in the config's
    /// sources)? From the state in the database (read-only); changed
    /// next-poll times are written by the writer.
    async fn plan(&mut self) -> Result<Vec<(usize, Option<DateTime<Utc>>)>, DaemonError> {
        let now = Utc::now();
        let states = {
            let readers = self.readers.clone();
            tokio::task::spawn_blocking(move || readers.get()?.source_states())
                .await?
                .map_err(PipelineError::from)?
        };
        let running = &self.running;
        let mut plan = Vec::new();
        let mut in_backoff = 0;
        for (i, source) in running.config.sources.iter().enumerate() {
            if !source.enabled {
                continue;
            }
            let state = states
                .get(&source.id)
                .map(|s| s.poll.clone())
                .unwrap_or_default();
            if state.consecutive_failures > 0 || state.retry_after.is_some_and(|t| t > now) {
                in_backoff += 1;
            }
            metrics::gauge!("newsriver_source_consecutive_failures", "source" => source.id.0.clone())
                .set(f64::from(state.consecutive_failures));
            let sched = running.schedule_of(source);
            let backoff = Backoff {
                base: schedule::period(sched, now),
                ..running.backoff
            };
            let due = if self.poll_now.contains(&source.id.0) {
                Some(now)
            } else {
                schedule::next_poll(sched, &source.id.0, &state, &backoff, now)
            };
            plan.push((i, due));
        }
        metrics::gauge!("newsriver_sources_in_backoff").set(in_backoff as f64);
        let sources = &self.running.config.sources;
        let rows: Vec<(SourceId, Option<DateTime<Utc>>)> = plan
            .iter()
            .map(|(i, d)| (&sources[*i].id, d))
            .filter(|(id, d)| self.written.get(*id) != Some(*d))
            .map(|(id, d)| (id.clone(), *d))
            .collect();
        if !rows.is_empty() {
            self.written.extend(rows.iter().cloned());
            let written = self
                .running
                .poller
                .writer()
                .run(move |w| {
                    let rows: Vec<(&SourceId, Option<DateTime<Utc>>)> =
                        rows.iter().map(|(id, d)| (id, *d)).collect();
                    w.store.set_next_polls(&rows)
                })
                .await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot record the next poll times"),
                Err(e) => tracing::warn!(error = %e, "cannot record the next poll times"),
            }
        }
        Ok(plan)
    }

    /// Several pollers on PostgreSQL (`pipeline::lease`): of the sources
    /// due now, those whose host this poller holds, or claims now (up to
    /// its fair share of the hosts), stay due; the others are another
    /// poller's, and are looked at again in a third of a lease period (the
    /// plan is read again from the database then: polled by the other
    /// poller, a source is no longer due; left by a poller that died, its
    /// host can be claimed once the lease lapses). Hosts held beyond the
    /// fair share with no poll in flight are let go, so a poller that
    /// joins gets its share. On SQLite the plan as it is.
    async fn leased(
        &mut self,
        mut plan: Vec<(usize, Option<DateTime<Utc>>)>,
    ) -> Vec<(usize, Option<DateTime<Utc>>)> {
        let Some(shared) = self.running.poller.shared().cloned() else {
            return plan;
        };
        if self.live.1.elapsed() >= shared.period() / 3 {
            match shared.heartbeat().await {
                Ok(n) => self.live = (n, std::time::Instant::now()),
                Err(e) => tracing::warn!(error = %e, "cannot count the pollers"),
            }
        }
        let now = Utc::now();
        let sources = &self.running.config.sources;
        let all: Vec<&Source> = sources.iter().filter(|s| s.enabled).collect();
        let mut hosts = shared.hosts_of(&all).await;
        hosts.sort_unstable();
        hosts.dedup();
        let share = crate::pipeline::lease::fair_share(hosts.len(), self.live.0);
        let due: Vec<usize> = plan
            .iter()
            .enumerate()
            .filter(|(_, (i, d))| {
                d.is_some_and(|d| d <= now) && !self.in_flight.contains(&sources[*i].id.0)
            })
            .map(|(at, _)| at)
            .collect();
        if due.is_empty() {
            return plan;
        }
        let due_hosts: Vec<String> = {
            let mut h: Vec<String> = due
                .iter()
                .filter_map(|&at| shared.host_of_source(&sources[plan[at].0].id))
                .collect();
            h.sort_unstable();
            h.dedup();
            h
        };
        let held = match shared.claim(due_hosts, share).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim host leases");
                Default::default()
            }
        };
        let later = now
            + chrono::Duration::from_std(shared.period() / 3)
                .unwrap_or(chrono::Duration::seconds(10));
        for at in due {
            let id = &sources[plan[at].0].id;
            if !shared.host_of_source(id).is_some_and(|h| held.contains(&h)) {
                plan[at].1 = Some(later);
            }
        }
        // Over the fair share: let idle hosts go.
        let busy: HashSet<String> = self
            .in_flight
            .iter()
            .filter_map(|id| shared.host_of_source(&SourceId::from(id.as_str())))
            .collect();
        let mine = shared.held_hosts();
        if mine.len() > share {
            let over = mine.len() - share;
            let extra: Vec<String> = mine
                .into_iter()
                .filter(|h| !busy.contains(h) && !held.contains(h))
                .take(over)
                .collect();
            if !extra.is_empty()
                && let Err(e) = shared.release(extra).await
            {
                tracing::warn!(error = %e, "cannot let host leases go");
            }
        }
        plan
    }

    /// Starts what is due, within the concurrency bound (nothing while
    /// storing is paused); how long to sleep until the next is due.
    fn start_due(&mut self, plan: Vec<(usize, Option<DateTime<Utc>>)>) -> Duration {
        let now = Utc::now();
        let paused = self.paused_until.filter(|until| *until > now);
        if paused.is_none() {
            self.paused_until = None;
        }
        // While storing is paused the loop wakes when the pause ends.
        let mut next_wake: Option<DateTime<Utc>> = paused;
        for (i, due) in plan {
            let Some(due) = due else { continue };
            let source = &self.running.config.sources[i];
            if paused.is_some() || self.in_flight.contains(&source.id.0) {
                continue;
            }
            if due <= now && self.in_flight.len() < self.running.config.fetch.concurrency {
                self.in_flight.insert(source.id.0.clone());
                self.poll_now.remove(&source.id.0);
                let poller = self.running.poller.clone();
                // /healthz reports a poll that runs past this (stalled).
                self.health
                    .poll_started(&source.id.0, poller.longest_poll(source));
                let source = source.clone();
                self.polls.spawn(async move {
                    let id = source.id.clone();
                    (id, poller.poll_source(source).await)
                });
            } else {
                let at = due.max(now);
                next_wake = Some(next_wake.map_or(at, |w| w.min(at)));
            }
        }
        next_wake
            .map(|w| (w - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_millis(20))
    }

    /// Polls that finished (this one and any others done meanwhile):
    /// health, totals, the pause after a poll that could not be stored,
    /// and a re-render when something changed.
    fn polls_finished(
        &mut self,
        first: Result<(SourceId, Result<SourceReport, PipelineError>), tokio::task::JoinError>,
    ) {
        let mut changed = false;
        let mut finished = vec![first];
        while let Some(more) = self.polls.try_join_next() {
            finished.push(more);
        }
        for done in finished {
            match done {
                Ok((id, result)) => {
                    self.in_flight.remove(id.as_str());
                    self.health.poll_ended(id.as_str());
                    self.totals.0 += 1;
                    changed |= self.poll_finished(&id, result);
                }
                Err(e) => tracing::error!(error = %e, "poll task crashed"),
            }
        }
        if changed {
            // Rendered by the refresher, not here: the loop goes on.
            self.rerender.notify_one();
        }
        let status = format!(
            "{} polls, {} failed, {} new stories; {} in flight",
            self.totals.0,
            self.totals.1,
            self.totals.2,
            self.in_flight.len()
        );
        notify(&[sd_notify::NotifyState::Status(&status)]);
    }

    /// One finished poll; whether it changed what the feeds show.
    fn poll_finished(&mut self, id: &str, result: Result<SourceReport, PipelineError>) -> bool {
        match result {
            Ok(report) => {
                self.store_failures = 0;
                if let SourceOutcome::Failed { error } = &report.outcome {
                    self.health.stored_ok();
                    self.totals.1 += 1;
                    tracing::warn!(
                        source_id = %id,
                        error = %crate::printable::escape_line(error),
                        "poll failed"
                    );
                } else {
                    self.health.polled_ok(Utc::now());
                }
                self.totals.2 += report.counts.stories_new;
                report.counts.items_new + report.counts.items_updated > 0
            }
            Err(e) => {
                self.totals.1 += 1;
                self.store_failures += 1;
                self.health.store_failed(e.to_string());
                let pause = store_pause(self.store_failures);
                self.paused_until = chrono::TimeDelta::from_std(pause)
                    .ok()
                    .and_then(|d| Utc::now().checked_add_signed(d));
                tracing::error!(
                    source_id = %id,
                    error = %e,
                    pause_secs = pause.as_secs(),
                    "poll could not be stored; polling paused, feeds are served from the cache"
                );
                false
            }
        }
    }

    /// SIGUSR1: the requests `newsriver poll --now` appended to
    /// `poll_now_file` (one id a line, `*` for every enabled source) are
    /// taken (the file renamed first, so a request appended meanwhile goes
    /// to a new file and the next signal) and their sources made due now.
    fn take_poll_requests(&mut self) {
        let path = poll_now_file(&self.running.config);
        let mut taking = path.clone().into_os_string();
        taking.push(".taken");
        let taking = PathBuf::from(taking);
        let text = match std::fs::rename(&path, &taking)
            .and_then(|()| std::fs::read_to_string(&taking))
        {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::info!("SIGUSR1 without a poll request; nothing to do");
                return;
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the poll request");
                return;
            }
        };
        let _ = std::fs::remove_file(&taking);
        let sources = &self.running.config.sources;
        let mut asked = 0usize;
        for id in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if id == "*" {
                for s in sources.iter().filter(|s| s.enabled) {
                    asked += usize::from(self.poll_now.insert(s.id.0.clone()));
                }
            } else if sources.iter().any(|s| s.enabled && s.id.0 == id) {
                asked += usize::from(self.poll_now.insert(id.to_string()));
            } else {
                tracing::warn!(
                    source_id = %crate::printable::escape_line(id),
                    "poll requested for a source that is not configured and enabled; ignored"
                );
            }
        }
        tracing::info!(sources = asked, "poll requested (newsriver poll --now)");
    }

    /// An edit by hand or by `sources add` is picked up without a signal:
    /// the file's identity, size or mtime changed.
    fn config_changed(&self) -> bool {
        let changed = file_stamp(&self.config_path) != self.stamp;
        if changed {
            tracing::info!(path = %self.config_path.display(), "configuration file changed");
        }
        changed
    }

    /// The watchdog ping, withheld while the database does not answer.
    async fn watchdog(&self) {
        let readers = self.readers.clone();
        let alive = tokio::task::spawn_blocking(move || readers.get()?.ping())
            .await
            .is_ok_and(|r| r.is_ok());
        if alive {
            notify(&[sd_notify::NotifyState::Watchdog]);
        } else {
            tracing::error!("database does not answer; withholding the watchdog ping");
        }
    }

    fn start_maintenance(&mut self) {
        if self.maintenance.as_ref().is_none_or(|m| m.is_finished()) {
            self.maintenance = Some(tokio::spawn(maintain(
                self.running.poller.clone(),
                self.rerender.clone(),
                self.running.config.storage.retention_days,
                self.stopping.clone(),
            )));
        }
    }

    /// Re-reads the config; on success the new one runs (same writer), on
    /// failure the old one keeps running.
    async fn reload(&mut self) {
        self.stamp = file_stamp(&self.config_path);
        notify(&[sd_notify::NotifyState::Reloading]);
        match reload(&self.config_path, &self.running).await {
            Ok(new) => {
                let cache = Arc::new(FeedCache::new(&new.config));
                http::refresh_blocking(&cache, &self.render_readers).await;
                self.app.set_cache(cache);
                tracing::info!(
                    sources = new.config.sources.len(),
                    topics = new.config.topics.len(),
                    "configuration reloaded"
                );
                self.running = new;
            }
            Err(e) => {
                tracing::error!("reload failed, the old configuration keeps running: {e}")
            }
        }
        notify(&[sd_notify::NotifyState::Ready]);
    }

    /// No new polls; stop serving; let in-flight polls finish within the
    /// grace period. An abandoned poll's transaction is never committed,
    /// and SQLite rolls it back: nothing is half-written.
    async fn shutdown(mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        notify(&[sd_notify::NotifyState::Stopping]);
        tracing::info!(in_flight = self.in_flight.len(), "shutting down");
        if let Some(stop) = self.stop_http.take() {
            let _ = stop.send(());
        }
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.polls.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = self.polls.len(),
                "in-flight polls abandoned after the grace period"
            );
            self.polls.abort_all();
            while self.polls.join_next().await.is_some() {}
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        self.refresher.abort();
        if let Some(keeper) = self.lease_keeper.take() {
            keeper.abort();
        }
        if let Some(shared) = self.running.poller.shared()
            && let Err(e) = shared.leave().await
        {
            tracing::warn!(error = %e, "cannot let this poller's host leases go");
        }
        remove_own_pid_file(&self.pid_path);
        tracing::info!("stopped");
    }
}

/// How often the daemon looks at the config file's metadata.
const CONFIG_WATCH: Duration = Duration::from_secs(2);

/// What identifies one version of the config file: where the path leads
/// (editors and `sources add` replace the file by rename; a symlink may be
/// swapped), its size and mtime.
fn file_stamp(path: &Path) -> Option<(PathBuf, u64, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt as _;
    let target = std::fs::canonicalize(path).ok()?;
    let meta = std::fs::metadata(&target).ok()?;
    Some((target, meta.ino(), meta.len(), meta.modified().ok()?))
}

/// Retention and space reclamation (`pipeline::maintain`) off the loop,
/// through the writer thread; the feeds re-render when stories were
/// removed. `stopping` ends it between batches at shutdown.
async fn maintain(
    poller: Arc<Poller>,
    rerender: Arc<tokio::sync::Notify>,
    retention_days: Option<u64>,
    stopping: Arc<AtomicBool>,
) {
    let result = crate::pipeline::maintain(poller.writer(), retention_days, &|| {
        !stopping.load(Ordering::Relaxed)
    })
    .await;
    match result {
        Ok(done) => {
            if done.pruned.stories + done.pruned.polls + done.reclaimed.pages_freed > 0 {
                tracing::info!(
                    stories_removed = done.pruned.stories,
                    polls_removed = done.pruned.polls,
                    pages_freed = done.reclaimed.pages_freed,
                    "retention and space reclamation done"
                );
            }
            if done.reclaimed.wal_busy {
                tracing::info!(
                    "a reader kept the WAL checkpoint from finishing; retried next hour"
                );
            }
            if done.pruned.stories > 0 {
                rerender.notify_one();
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "retention or space reclamation failed; retried next hour")
        }
    }
}

async fn reload(path: &Path, current: &Running) -> Result<Running, ReloadError> {
    let config = Config::load(path)?;
    if config.server.listen != current.config.server.listen {
        tracing::warn!(
            old = %current.config.server.listen,
            new = %config.server.listen,
            "[server].listen changes take effect on restart"
        );
    }
    if config.storage.path != current.config.storage.path
        || config.storage.postgres != current.config.storage.postgres
    {
        return Err(ReloadError::StoragePath);
    }
    let poller = current.poller.reconfigure(&config).await?;
    Ok(Running::new(config, poller))
}

fn signal(
    kind: tokio::signal::unix::SignalKind,
) -> Result<tokio::signal::unix::Signal, DaemonError> {
    tokio::signal::unix::signal(kind).map_err(DaemonError::Signal)
}

/// Half of systemd's `WatchdogSec`, when it is set for this process.
fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
}

/// Where `newsriver poll --now` leaves its requests for the daemon:
/// `<database>.poll-now`, one source id a line (`*`: every enabled one).
pub fn poll_now_file(config: &Config) -> PathBuf {
    let mut p = config.storage.path.clone().into_os_string();
    p.push(".poll-now");
    PathBuf::from(p)
}

/// The pid of the daemon running on this config's database, if one runs:
/// the database's lock is held (a pid file alone may be stale). Only
/// looks: the lock file is opened read-only (an flock needs no write
/// access) and nothing is created or written.
pub fn running_daemon(config: &Config) -> Option<u32> {
    let file = std::fs::File::open(lock_file(config)).ok()?;
    match file.try_lock_shared() {
        // Shared taken (released when `file` drops): no daemon holds it.
        Ok(()) => return None,
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(_)) => return None,
    }
    std::fs::read_to_string(pid_file(config))
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

/// Asks the running daemon `pid` to poll `ids` now (empty: every enabled
/// source): appends them to `poll_now_file`, then sends SIGUSR1.
pub fn send_poll_now(config: &Config, pid: u32, ids: &[String]) -> Result<(), String> {
    use std::io::Write as _;
    let path = poll_now_file(config);
    let lines: String = if ids.is_empty() {
        "*\n".into()
    } else {
        ids.iter().map(|id| format!("{id}\n")).collect()
    };
    // One write in append mode: requests from two admins at once interleave
    // by whole writes, never inside a line.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .map_err(|e| format!("{}: cannot write the poll request: {e}", path.display()))?;
    signal_pid(pid, "-USR1").map_err(|e| format!("{e} (the request stays in {})", path.display()))
}

fn signal_pid(pid: u32, sig: &str) -> Result<(), String> {
    let status = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("process {pid} is not running"))
    }
}

/// Sends SIGHUP to the running daemon named by the pid file.
pub fn send_reload(config: &Config) -> Result<u32, String> {
    let path = pid_file(config);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let hint = if config.storage.path.exists() {
            String::new()
        } else {
            format!("; {}", crate::pipeline::missing_database(config))
        };
        format!(
            "{}: {e} (is `newsriver run` running with this config?){hint}",
            path.display()
        )
    })?;
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{}: not a process id: {:?}", path.display(), text.trim()))?;
    signal_pid(pid, "-HUP").map_err(|e| format!("{e} (pid from {})", path.display()))?;
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_pause_doubles_up_to_its_cap() {
        let secs: Vec<u64> = (1..=9).map(|n| store_pause(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(store_pause(u32::MAX), STORE_PAUSE_MAX);
    }
}
