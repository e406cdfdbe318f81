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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use crate::config::{Config, Source};
use crate::http::{self, AppState, FeedCache, HealthState};
use crate::pipeline::{Poller, SourceOutcome, SourceReport};
use crate::schedule::{self, Backoff};
use crate::store::Store;

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
pub fn lock_database(config: &Config) -> Result<DbLock, String> {
    use std::io::{Read as _, Seek as _, Write as _};
    let path = lock_file(config);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("{}: cannot open the lock file: {e}", path.display()))?;
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
            Err(format!(
                "another newsriver daemon{} is running on {} (it holds {})",
                if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                },
                config.storage.path.display(),
                path.display()
            ))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(format!("{}: cannot lock: {e}", path.display()))
        }
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
    fn new(config: Config) -> Result<Running, String> {
        let poller = Arc::new(Poller::new(&config).map_err(|e| e.to_string())?);
        let backoff = Backoff {
            cap: Duration::from_secs(config.fetch.max_backoff_secs),
            ..Backoff::default()
        };
        Ok(Running {
            config,
            poller,
            backoff,
        })
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

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs until SIGTERM or SIGINT. `config_path` is re-read on SIGHUP.
pub async fn run(config_path: &Path, config: Config) -> Result<(), String> {
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

    let mut running = Running::new(config)?;
    let listener = tokio::net::TcpListener::bind(running.config.server.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", running.config.server.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    // Readers (feed rendering) use a connection of their own: the writer
    // never waits for them, nor they for it. /healthz reads `health`.
    let reader = Arc::new(Mutex::new(
        Store::open_reader(&running.config.storage.path).map_err(|e| e.to_string())?,
    ));
    let health = {
        let reader = reader.clone();
        let last = tokio::task::spawn_blocking(move || lock(&reader).last_success())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        HealthState::new(last)
    };
    let cache = Arc::new(FeedCache::new(&running.config));
    http::refresh_blocking(&cache, &reader).await;
    let app = AppState::new(cache, health.clone(), metrics);
    let (rerender, refresher) = http::spawn_refresher(app.clone(), reader.clone());
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

    let mut hup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut term = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let watchdog = watchdog_interval();
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));

    let mut watch = tokio::time::interval(CONFIG_WATCH);
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stamp = file_stamp(config_path);
    let mut reload_now = false;

    let mut in_flight: HashSet<String> = HashSet::new();
    let mut polls: JoinSet<(String, Result<SourceReport, String>)> = JoinSet::new();
    let mut totals = (0u64, 0u64, 0u64); // polls, failures, new stories
    // What `sources.next_poll_at` last said, so each pass writes only changes.
    let mut written: HashMap<String, Option<DateTime<Utc>>> = HashMap::new();
    // Storing failed this many times in a row; no poll starts before `paused_until`.
    let mut store_failures = 0u32;
    let mut paused_until: Option<DateTime<Utc>> = None;
    let mut maintenance_tick = tokio::time::interval(MAINTENANCE_EVERY);
    let mut maintenance: Option<tokio::task::JoinHandle<()>> = None;
    let stopping = Arc::new(AtomicBool::new(false));

    loop {
        // Plan: when is every enabled source due?
        let now = Utc::now();
        let states = {
            let store = running.poller.store();
            tokio::task::spawn_blocking(move || lock(&store).source_states())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
        };
        let mut plan: Vec<(&Source, Option<DateTime<Utc>>)> = Vec::new();
        let mut in_backoff = 0;
        for source in running.config.sources.iter().filter(|s| s.enabled) {
            let state = states
                .get(&source.id.0)
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
            let due = schedule::next_poll(sched, &source.id.0, &state, &backoff, now);
            plan.push((source, due));
        }
        metrics::gauge!("newsriver_sources_in_backoff").set(in_backoff as f64);
        let rows: Vec<(String, Option<DateTime<Utc>>)> = plan
            .iter()
            .filter(|(s, d)| written.get(&s.id.0) != Some(d))
            .map(|(s, d)| (s.id.0.clone(), *d))
            .collect();
        if !rows.is_empty() {
            written.extend(rows.iter().cloned());
            let store = running.poller.store();
            let _ = tokio::task::spawn_blocking(move || {
                let rows: Vec<(&str, Option<DateTime<Utc>>)> =
                    rows.iter().map(|(id, d)| (id.as_str(), *d)).collect();
                lock(&store).set_next_polls(&rows)
            })
            .await;
        }

        // Start what is due, within the concurrency bound.
        // While storing is paused, nothing starts; the loop wakes when the pause ends.
        let paused = paused_until.filter(|until| *until > now);
        if paused.is_none() {
            paused_until = None;
        }
        let mut next_wake: Option<DateTime<Utc>> = paused;
        for (source, due) in &plan {
            let Some(due) = *due else { continue };
            if paused.is_some() {
                continue;
            }
            if in_flight.contains(&source.id.0) {
                continue;
            }
            if due <= now && in_flight.len() < running.config.fetch.concurrency {
                in_flight.insert(source.id.0.clone());
                let poller = running.poller.clone();
                let source = (*source).clone();
                polls.spawn(async move {
                    let id = source.id.0.clone();
                    (
                        id,
                        poller.poll_source(source).await.map_err(|e| e.to_string()),
                    )
                });
            } else {
                let at = due.max(now);
                next_wake = Some(next_wake.map_or(at, |w| w.min(at)));
            }
        }
        let sleep_for = next_wake
            .map(|w| (w - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_millis(20));

        tokio::select! {
            () = tokio::time::sleep(sleep_for) => {}
            Some(done) = polls.join_next(), if !polls.is_empty() => {
                let mut changed = false;
                let mut finished = vec![done];
                while let Some(more) = polls.try_join_next() {
                    finished.push(more);
                }
                for done in finished {
                    match done {
                        Ok((id, result)) => {
                            in_flight.remove(&id);
                            totals.0 += 1;
                            match result {
                                Ok(report) => {
                                    store_failures = 0;
                                    if matches!(report.outcome, SourceOutcome::Failed { .. }) {
                                        health.stored_ok();
                                    } else {
                                        health.polled_ok(Utc::now());
                                    }
                                    if let SourceOutcome::Failed { error } = &report.outcome {
                                        totals.1 += 1;
                                        tracing::warn!(
                                            source_id = %id,
                                            error = %crate::printable::escape_line(error),
                                            "poll failed"
                                        );
                                    }
                                    totals.2 += report.counts.stories_new;
                                    changed |= report.counts.items_new + report.counts.items_updated > 0;
                                }
                                Err(e) => {
                                    totals.1 += 1;
                                    store_failures += 1;
                                    health.store_failed(e.clone());
                                    let pause = store_pause(store_failures);
                                    paused_until = chrono::TimeDelta::from_std(pause)
                                        .ok()
                                        .and_then(|d| Utc::now().checked_add_signed(d));
                                    tracing::error!(
                                        source_id = %id,
                                        error = %e,
                                        pause_secs = pause.as_secs(),
                                        "poll could not be stored; polling paused, feeds are served from the cache"
                                    );
                                }
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "poll task crashed"),
                    }
                }
                if changed {
                    // Rendered by the refresher, not here: the loop goes on.
                    rerender.notify_one();
                }
                let status = format!(
                    "{} polls, {} failed, {} new stories; {} in flight",
                    totals.0, totals.1, totals.2, in_flight.len()
                );
                notify(&[sd_notify::NotifyState::Status(&status)]);
            }
            _ = hup.recv() => reload_now = true,
            _ = watch.tick() => {
                // An edit by hand or by `sources add` is picked up without
                // a signal: the file's identity, size or mtime changed.
                let now = file_stamp(config_path);
                if now != stamp {
                    tracing::info!(path = %config_path.display(), "configuration file changed");
                    reload_now = true;
                }
            }
            _ = watchdog_tick.tick(), if watchdog.is_some() => {
                let store = running.poller.store();
                let alive = tokio::task::spawn_blocking(move || lock(&store).ping().is_ok()).await.unwrap_or(false);
                if alive {
                    notify(&[sd_notify::NotifyState::Watchdog]);
                } else {
                    tracing::error!("database does not answer; withholding the watchdog ping");
                }
            }
            _ = maintenance_tick.tick() => {
                if maintenance.as_ref().is_none_or(|m| m.is_finished()) {
                    maintenance = Some(tokio::spawn(maintain(
                        running.poller.store(),
                        rerender.clone(),
                        running.config.storage.retention_days,
                        stopping.clone(),
                    )));
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
        if std::mem::take(&mut reload_now) {
            stamp = file_stamp(config_path);
            notify(&[sd_notify::NotifyState::Reloading]);
            match reload(config_path, &running).await {
                Ok(new) => {
                    let cache = Arc::new(FeedCache::new(&new.config));
                    http::refresh_blocking(&cache, &reader).await;
                    app.set_cache(cache);
                    tracing::info!(
                        sources = new.config.sources.len(),
                        topics = new.config.topics.len(),
                        "configuration reloaded"
                    );
                    running = new;
                }
                Err(e) => {
                    tracing::error!("reload failed, the old configuration keeps running: {e}")
                }
            }
            notify(&[sd_notify::NotifyState::Ready]);
        }
    }
    stopping.store(true, Ordering::Relaxed);

    // Shutdown: no new polls; stop serving; let in-flight polls finish within
    // the grace period. An abandoned poll's transaction is never committed,
    // and SQLite rolls it back: nothing is half-written.
    notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!(in_flight = in_flight.len(), "shutting down");
    let _ = stop_http.send(());
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while polls.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            abandoned = polls.len(),
            "in-flight polls abandoned after the grace period"
        );
        polls.abort_all();
        while polls.join_next().await.is_some() {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    refresher.abort();
    remove_own_pid_file(&pid_path);
    drop(running);
    tracing::info!("stopped");
    Ok(())
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

/// Retention and space reclamation (`pipeline::maintain`) off the loop; the
/// feeds re-render when stories were removed. `stopping` ends it between
/// batches at shutdown.
async fn maintain(
    store: Arc<Mutex<Store>>,
    rerender: Arc<tokio::sync::Notify>,
    retention_days: Option<u64>,
    stopping: Arc<AtomicBool>,
) {
    let blocking_store = store.clone();
    let result = tokio::task::spawn_blocking(move || {
        crate::pipeline::maintain(&blocking_store, retention_days, &|| {
            !stopping.load(Ordering::Relaxed)
        })
    })
    .await;
    match result {
        Ok(Ok(done)) => {
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
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "retention or space reclamation failed; retried next hour")
        }
        Err(e) => tracing::error!(error = %e, "maintenance task crashed"),
    }
}

async fn reload(path: &Path, current: &Running) -> Result<Running, String> {
    let config = Config::load(path).map_err(|e| e.to_string())?;
    if config.server.listen != current.config.server.listen {
        tracing::warn!(
            old = %current.config.server.listen,
            new = %config.server.listen,
            "[server].listen changes take effect on restart"
        );
    }
    if config.storage.path != current.config.storage.path {
        return Err("[storage].path cannot change on reload; restart instead".into());
    }
    tokio::task::spawn_blocking(move || Running::new(config))
        .await
        .map_err(|e| e.to_string())?
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal, String> {
    tokio::signal::unix::signal(kind).map_err(|e| format!("cannot install a signal handler: {e}"))
}

/// Half of systemd's `WatchdogSec`, when it is set for this process.
fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
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
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if status.success() {
        Ok(pid)
    } else {
        Err(format!(
            "process {pid} from {} is not running",
            path.display()
        ))
    }
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
