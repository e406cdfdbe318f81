//! Refreshes sources: fetch → decode → parse → normalize → store, each
//! poll of one source stored all or nothing. The only place that composes
//! the stages.
//!
//! Concurrency: sources are polled as one stream with `buffer_unordered`
//! (`[fetch].concurrency` being fetched and prepared; `per_host` is
//! enforced inside `fetch`); a poll handed to the writer frees its place
//! and waits for its commit outside that bound (`Poller::hand_over`).
//! CPU work (decode, parse, normalize, near-duplicate keys) runs on the
//! blocking pool, reading through read-only connections (`Readers`); the
//! writes go through a bounded channel to one writer thread (`Writer`),
//! which commits the polls that queued up together.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use serde::Serialize;

use crate::config::{Config, Source};
use crate::decode;
use crate::fetch::{self, Fetched, Fetcher};
use crate::normalize::Normalizer;
use crate::parse;
use crate::store::{self, NewCopy, PollCounts, PollOutcome, PollToStore, SourceRow, Store};
use crate::topics::Topics;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("HTTP client: {0}")]
    Client(#[from] fetch::FetchError),
    #[error("internal: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("{0}")]
    NoDatabase(String),
    /// Storing a poll failed (the writer's message), or the writer is gone.
    #[error("{0}")]
    Writer(String),
}

/// How one source's poll ended.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SourceOutcome {
    Ok { items: u64 },
    NotModified,
    Failed { error: String },
}

#[derive(Clone, Debug, Serialize)]
pub struct SourceReport {
    pub id: String,
    pub url: String,
    #[serde(flatten)]
    pub outcome: SourceOutcome,
    pub counts: PollCounts,
    pub bytes: u64,
    pub duration_ms: u64,
}

/// A whole pass over the sources.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PollReport {
    pub sources: Vec<SourceReport>,
    pub counts: PollCounts,
    pub bytes: u64,
    pub elapsed_ms: u64,
}

impl PollReport {
    pub fn ok(&self) -> usize {
        self.count(|o| matches!(o, SourceOutcome::Ok { .. }))
    }
    pub fn not_modified(&self) -> usize {
        self.count(|o| matches!(o, SourceOutcome::NotModified))
    }
    pub fn failed(&self) -> impl Iterator<Item = (&SourceReport, &str)> {
        self.sources.iter().filter_map(|s| match &s.outcome {
            SourceOutcome::Failed { error } => Some((s, error.as_str())),
            _ => None,
        })
    }
    fn count(&self, f: impl Fn(&SourceOutcome) -> bool) -> usize {
        self.sources.iter().filter(|s| f(&s.outcome)).count()
    }
}

/// Everything a poll needs, shared by the concurrent source tasks.
pub struct Poller {
    /// The write connection: the writer thread's, and maintenance's.
    store: Arc<Mutex<Store>>,
    /// Hands finished polls to the writer thread (see `Writer`).
    writer: Writer,
    /// Read-only connections for the parallel stage's look-ups (a source's
    /// state and known items), so it never waits for the writer.
    readers: Arc<Readers>,
    fetcher: Fetcher,
    normalizer: Arc<Normalizer>,
    near: Arc<crate::dedupe::Params>,
    concurrency: usize,
    retention_days: Option<u64>,
    seen: Arc<SeenStories>,
    /// The parallel stage's CPU work (decode → parse → normalize → seal)
    /// runs on at most one blocking thread per core. Without the bound a
    /// cold poll ran `concurrency` (32) of them on 2 cores: no faster, and
    /// every extra thread kept its own regex caches, zstd context and
    /// malloc arena (a cold poll under `run` peaked 25 MB higher in regex
    /// caches alone; heaptrack, BENCHMARKS.md).
    cpu: Arc<tokio::sync::Semaphore>,
}

/// Content hashes (their first 64 bits) of the copies this process has
/// prepared: a copy whose hash is here will most likely join that story by
/// exact hash, so its near-duplicate keys, which only a copy that does not
/// are looked up and indexed with, are not computed in advance (two
/// thirds of the farm's copies are exact copies). A guess only: when wrong,
/// the writer computes the keys itself. Bounded: emptied when full.
#[derive(Default)]
struct SeenStories(Mutex<std::collections::HashSet<u64>>);

/// ~4 MB at most.
const SEEN_MAX: usize = 200_000;

impl SeenStories {
    /// Marks each hash seen; true for those that were not.
    fn first_sightings<'a>(&self, hashes: impl Iterator<Item = &'a str>) -> Vec<bool> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= SEEN_MAX {
            seen.clear();
        }
        hashes
            .map(|h| {
                h.get(..16)
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .is_none_or(|h| seen.insert(h))
            })
            .collect()
    }
}

/// What `process` needs to prepare a poll's copies for the writer.
struct Prepare<'a> {
    normalizer: &'a Normalizer,
    near: &'a crate::dedupe::Params,
    /// This source's stored items: item key → raw hash.
    known: std::collections::HashMap<String, String>,
    seen: &'a SeenStories,
}

/// Polls queued for the writer at most (each holds its prepared copies):
/// a poll task waits to hand over when the writer is this far behind, so
/// memory stays flat however fast feeds arrive (a poll of 40 items holds
/// ~0.3 MB). `poll` hands a source over and frees its fetch place at once
/// (`Poller::hand_over`), so up to `concurrency` polls being prepared, this
/// many queued and a group being stored are held at a time: 32 here, with
/// `concurrency` 32, gave a cold poll of the 1,000-feed synthetic farm
/// 4.82 s mean wall and 1.57–1.65 CPU ÷ wall (4 runs) against 5.16 s and
/// 1.55–1.57 when the place was held until the commit; peak RSS 128 MB
/// instead of 111. 16 saved 8 MB and lost the gain (BENCHMARKS.md).
const WRITE_QUEUE: usize = 32;

/// Polls stored in one transaction at most: all that queued up. Every
/// transaction writes each index page it dirtied once more into the WAL,
/// and a poll's new copies touch index pages all over (content hashes are
/// random), so bigger groups write fewer pages per copy. Measured before
/// the near-duplicate index moved to memory, with the near-duplicate keys
/// a table of random keys: a cold poll of 4,000 feeds: 16 polls 45 s wall
/// and 57 CPU s, 32 polls 34–35 s and 43–45 CPU s, 64 polls 30 s and 39
/// CPU s (BENCHMARKS.md). Since, with 32 and polls handed over at once:
/// 27.7 s and 39 CPU s.
const WRITE_BATCH: usize = WRITE_QUEUE;

/// One poll on its way to the writer, and where its result goes.
struct WriteJob {
    poll: PollToStore,
    /// The counts, or why it could not be stored; and how many polls were
    /// committed together with it.
    done: tokio::sync::oneshot::Sender<(Result<PollCounts, String>, usize)>,
}

/// The one writer: a thread that owns the write transactions. Poll tasks
/// (fetch, decode, parse, normalize, keys: the parallel stage) send what
/// they prepared through a bounded channel; the writer stores whatever has
/// queued up, up to `WRITE_BATCH` polls, in one transaction with a
/// savepoint per poll (`Store::record_polls`), and answers each poll after
/// the commit. Fewer, larger commits write each hot index page to the WAL
/// once per batch instead of once per source.
struct Writer {
    queue: tokio::sync::mpsc::Sender<WriteJob>,
}

impl Writer {
    fn start(
        store: Arc<Mutex<Store>>,
        topics: Arc<Topics>,
        near: Arc<crate::dedupe::Params>,
    ) -> Result<Writer, PipelineError> {
        let (queue, mut jobs) = tokio::sync::mpsc::channel::<WriteJob>(WRITE_QUEUE);
        std::thread::Builder::new()
            .name("newsriver-writer".into())
            .spawn(move || {
                // Ends when every sender (the poller) is gone.
                while let Some(first) = jobs.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < WRITE_BATCH {
                        match jobs.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let (polls, replies): (Vec<PollToStore>, Vec<_>) =
                        batch.into_iter().map(|j| (j.poll, j.done)).unzip();
                    let n = polls.len();
                    let stored = lock(&store).record_polls(
                        polls,
                        &|story| topics.classify(story),
                        &near,
                    );
                    match stored {
                        Ok(results) => {
                            metrics::histogram!("newsriver_store_batch_polls").record(n as f64);
                            for (reply, result) in replies.into_iter().zip(results) {
                                let _ = reply.send((result.map_err(|e| e.to_string()), n));
                            }
                        }
                        Err(e) => {
                            let e = e.to_string();
                            tracing::error!(polls = n, error = %e, "a batch of polls could not be stored");
                            for reply in replies {
                                let _ = reply.send((Err(e.clone()), n));
                            }
                        }
                    }
                }
            })
            .map_err(|e| PipelineError::Writer(e.to_string()))?;
        Ok(Writer { queue })
    }

    /// Stores `poll` (with others queued at the same time); the counts once
    /// committed, and how many polls that commit held.
    #[cfg(test)]
    async fn store(&self, poll: PollToStore) -> Result<(PollCounts, usize), PipelineError> {
        Writer::committed(self.submit(poll).await?).await
    }

    /// Queues `poll` for the writer (waiting while the queue is full); the
    /// answer comes once it is committed (`committed`).
    async fn submit(&self, poll: PollToStore) -> Result<Commit, PipelineError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.queue
            .send(WriteJob { poll, done })
            .await
            .map_err(|_| writer_gone())?;
        Ok(result)
    }

    /// The counts of a submitted poll once committed, and how many polls
    /// that commit held.
    async fn committed(commit: Commit) -> Result<(PollCounts, usize), PipelineError> {
        let (counts, batch) = commit.await.map_err(|_| writer_gone())?;
        Ok((counts.map_err(PipelineError::Writer)?, batch))
    }
}

/// The writer's answer to one submitted poll.
type Commit = tokio::sync::oneshot::Receiver<(Result<PollCounts, String>, usize)>;

fn writer_gone() -> PipelineError {
    PipelineError::Writer("the writer thread has stopped".into())
}

/// A poll handed to the writer and not yet committed
/// (`Poller::hand_over`): what its report needs once it is.
pub struct HandedOver {
    commit: Commit,
    id: String,
    url: String,
    outcome: SourceOutcome,
    bytes: u64,
    duration: Duration,
    /// A large body's share of the memory budget, kept until its items
    /// are stored (see `fetch::Body::budget`).
    budget: Option<crate::fetch::BodyBudget>,
}

impl HandedOver {
    /// The poll's report, once the writer has committed it.
    pub async fn committed(self) -> Result<SourceReport, PipelineError> {
        let (counts, _batch) = Writer::committed(self.commit).await?;
        drop(self.budget);
        record_metrics(&self.id, &self.outcome, &counts, self.bytes, self.duration);
        Ok(SourceReport {
            id: self.id,
            url: self.url,
            outcome: self.outcome,
            counts,
            bytes: self.bytes,
            duration_ms: self.duration.as_millis() as u64,
        })
    }
}

/// A few read-only connections, taken in turn.
struct Readers {
    conns: Vec<Mutex<Store>>,
    next: std::sync::atomic::AtomicUsize,
}

impl Readers {
    fn open(path: &std::path::Path, n: usize) -> Result<Readers, PipelineError> {
        let conns = (0..n.max(1))
            .map(|_| Store::open_reader(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Readers {
            conns,
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn get(&self) -> std::sync::MutexGuard<'_, Store> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.conns.len();
        lock(&self.conns[i])
    }
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    // A panic while holding the lock cannot leave a half-written poll
    // (polls are stored in transactions), so a poisoned lock is still usable.
    store.lock().unwrap_or_else(|e| e.into_inner())
}

impl Poller {
    /// Opens the database, records the configured sources and topics, builds the client.
    pub fn new(config: &Config) -> Result<Poller, PipelineError> {
        let (store, topics) = open_store(config)?;
        let store = Arc::new(Mutex::new(store));
        let topics = Arc::new(topics);
        let near = Arc::new(config.dedupe.clone());
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Poller {
            writer: Writer::start(store.clone(), topics.clone(), near.clone())?,
            readers: Arc::new(Readers::open(&config.storage.path, cores)?),
            store,
            fetcher: Fetcher::new(&config.fetch)?,
            normalizer: Arc::new(Normalizer::new(&config.normalize)),
            near,
            concurrency: config.fetch.concurrency,
            retention_days: config.storage.retention_days,
            seen: Arc::default(),
            cpu: Arc::new(tokio::sync::Semaphore::new(cores)),
        })
    }

    /// The database connection the poller writes through.
    pub fn store(&self) -> Arc<Mutex<Store>> {
        self.store.clone()
    }

    /// Polls `sources` once each; `on_done` is called as each one finishes.
    pub async fn poll(
        &self,
        sources: Vec<Source>,
        on_done: impl Fn(&SourceReport),
    ) -> Result<PollReport, PipelineError> {
        let started = Instant::now();
        let mut report = PollReport::default();
        // `concurrency` sources are fetched and prepared at once; a source
        // handed to the writer frees its place at once, so fetching and
        // preparing go on while the writer commits (when the place was
        // kept until the commit, the writer's group was all the work
        // there was, and the two stages took turns).
        let mut handing = futures::stream::iter(sources)
            .map(|s| self.hand_over(s))
            .buffer_unordered(self.concurrency);
        let mut committing = futures::stream::FuturesUnordered::new();
        loop {
            let r = tokio::select! {
                Some(h) = handing.next() => {
                    committing.push(h?.committed());
                    continue;
                }
                Some(r) = committing.next() => r?,
                else => break,
            };
            on_done(&r);
            report.counts += r.counts;
            report.bytes += r.bytes;
            report.sources.push(r);
        }
        report.sources.sort_by(|a, b| a.id.cmp(&b.id));
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Fetches, decodes, parses, normalizes and stores one source.
    pub async fn poll_source(&self, source: Source) -> Result<SourceReport, PipelineError> {
        self.hand_over(source).await?.committed().await
    }

    /// Fetches, decodes, parses and normalizes one source and queues it for
    /// the writer; `HandedOver::committed` waits for the commit.
    pub async fn hand_over(&self, source: Source) -> Result<HandedOver, PipelineError> {
        let started_at = Utc::now();
        let started = Instant::now();
        let id = source.id.0.clone();
        let state = {
            let readers = self.readers.clone();
            let id = id.clone();
            tokio::task::spawn_blocking(move || readers.get().source_state(&id)).await??
        };
        // A permanent redirect seen earlier is followed directly.
        let url = state
            .moved_to
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .unwrap_or_else(|| source.url.clone());
        // A source allowed to reach a private address may reach only its
        // own configured origin (see `Fetcher::fetch_for`).
        let private_origin = source.allow_private_addresses.then_some(&source.url);
        let fetched = self
            .fetcher
            .fetch_for(&url, &state.validators, private_origin)
            .await;
        let moved = |to: Option<String>| {
            let to = to.filter(|t| Some(t) != state.moved_to.as_ref())?;
            tracing::info!(source_id = %id, from = %url, to = %to, "permanent redirect: using the new URL from now on");
            Some(to)
        };
        // A large body's share of the memory budget, kept until its items
        // are stored (see `fetch::Body::budget`).
        let mut budget = None;
        let (outcome, bytes) = match fetched {
            Ok(Fetched::NotModified {
                status, moved_to, ..
            }) => (
                PollOutcome::NotModified {
                    status,
                    moved_to: moved(moved_to),
                },
                0,
            ),
            Ok(Fetched::Body(mut body)) => {
                budget = body.budget.take();
                let normalizer = self.normalizer.clone();
                let (readers, near, seen, sid) = (
                    self.readers.clone(),
                    self.near.clone(),
                    self.seen.clone(),
                    id.clone(),
                );
                let forced = source.encoding;
                let zone = source.timezone.unwrap_or(parse::DEFAULT_ZONE);
                let bytes = body.bytes.len() as u64;
                let moved_to = moved(body.moved_to.clone());
                // Closed never: the semaphore lives as long as the poller.
                let cpu = self.cpu.clone().acquire_owned().await.ok();
                let (mut outcome, known) = tokio::task::spawn_blocking(move || {
                    let _cpu = cpu;
                    // Unreadable: every item is prepared as if new; the
                    // poll's transaction then reports the database's error.
                    let known = readers.get().known_items(&sid).unwrap_or_default();
                    let prepare = Prepare {
                        normalizer: &normalizer,
                        near: &near,
                        known,
                        seen: &seen,
                    };
                    let outcome = process(body, forced, zone, &prepare);
                    (outcome, prepare.known)
                })
                .await?;
                if let PollOutcome::Fetched {
                    moved_to: m, items, ..
                } = &mut outcome
                {
                    *m = moved_to;
                    // Items older than the retention period are not stored:
                    // retention would delete them again, and every poll of a
                    // feed that still lists them would add them back.
                    if let Some(cutoff) = retention_cutoff(self.retention_days, Utc::now()) {
                        items.retain(|c| c.item.published.is_none_or(|p| p >= cutoff));
                    }
                }
                // New and changed items of a `full_text` source: their
                // article pages, fetched once (see `fulltext`).
                crate::fulltext::enrich(
                    &self.fetcher,
                    &source,
                    &self.normalizer,
                    &self.near,
                    &known,
                    &mut outcome,
                )
                .await;
                (outcome, bytes)
            }
            Err(e) => {
                let gone = e.status() == Some(410);
                // Other failures are logged once, by whoever polled (the
                // daemon's "poll failed", the `poll` summary).
                if gone {
                    tracing::warn!(source_id = %id, url = %url, "410 Gone: polling of this source stops");
                }
                (
                    PollOutcome::Failed {
                        status: e.status(),
                        error: if gone {
                            format!(
                                "{e}: the feed is gone; polling stopped (change its URL to resume)"
                            )
                        } else {
                            e.to_string()
                        },
                        retry_after: e
                            .retry_after()
                            .and_then(|v| crate::schedule::parse_retry_after(v, Utc::now())),
                        gone,
                    },
                    0,
                )
            }
        };
        let report_outcome = match &outcome {
            PollOutcome::NotModified { .. } => SourceOutcome::NotModified,
            PollOutcome::Fetched { items, .. } => SourceOutcome::Ok {
                items: items.len() as u64,
            },
            PollOutcome::Failed { error, .. } => SourceOutcome::Failed {
                error: error.clone(),
            },
        };
        let duration = started.elapsed();
        let commit = self
            .writer
            .submit(PollToStore {
                source_id: id.clone(),
                started: started_at,
                duration_ms: duration.as_millis() as u64,
                outcome,
            })
            .await?;
        Ok(HandedOver {
            commit,
            id,
            url: source.url.to_string(),
            outcome: report_outcome,
            bytes,
            duration,
            budget,
        })
    }
}

/// Counters and histograms for `/metrics` (no-ops unless `newsriver run`
/// installed a recorder).
fn record_metrics(
    source: &str,
    outcome: &SourceOutcome,
    counts: &PollCounts,
    bytes: u64,
    duration: Duration,
) {
    let label = match outcome {
        SourceOutcome::Ok { .. } => "ok",
        SourceOutcome::NotModified => "not_modified",
        SourceOutcome::Failed { .. } => "failed",
    };
    if let SourceOutcome::Failed { .. } = outcome {
        metrics::counter!("newsriver_source_failures_total", "source" => source.to_string())
            .increment(1);
    } else {
        metrics::gauge!(
            "newsriver_source_last_success_timestamp_seconds",
            "source" => source.to_string()
        )
        .set(Utc::now().timestamp() as f64);
    }
    metrics::counter!("newsriver_polls_total", "outcome" => label).increment(1);
    metrics::counter!("newsriver_items_total", "kind" => "new").increment(counts.items_new);
    metrics::counter!("newsriver_items_total", "kind" => "known").increment(counts.items_known);
    metrics::counter!("newsriver_items_total", "kind" => "updated").increment(counts.items_updated);
    metrics::counter!("newsriver_stories_total", "kind" => "new").increment(counts.stories_new);
    metrics::counter!("newsriver_stories_total", "kind" => "merged")
        .increment(counts.stories_merged);
    metrics::counter!("newsriver_fetched_bytes_total").increment(bytes);
    metrics::histogram!("newsriver_fetch_duration_seconds").record(duration.as_secs_f64());
}

/// Opens the database and brings it in line with the config: sources (names,
/// URLs, tags) recorded, topic membership re-evaluated where a topic changed.
pub fn open_store(config: &Config) -> Result<(Store, Topics), PipelineError> {
    let mut store = Store::open(&config.storage.path)?;
    let rows: Vec<SourceRow<'_>> = config
        .sources
        .iter()
        .map(|s| SourceRow {
            id: &s.id.0,
            name: &s.name,
            url: s.url.as_str(),
            tags: &s.tags,
        })
        .collect();
    store.sync_sources(&rows)?;
    if config.dedupe.enabled {
        let indexed =
            store.backfill_near_keys(&|text| crate::dedupe::index_keys(text, &config.dedupe))?;
        if indexed > 0 {
            tracing::info!(stories = indexed, "near-duplicate index filled");
        }
    }
    let topics = Topics::new(config);
    let changed = store.sync_topics(&topics.rows(), &|story| topics.classify(story))?;
    if !changed.is_empty() {
        tracing::info!(topics = ?changed, "topic membership re-evaluated");
    }
    Ok((store, topics))
}

/// `open_store` for commands that read what the daemon stored: a database
/// that does not exist is an error naming the path tried and where the
/// service keeps its database, instead of a new empty one (an admin
/// command run by hand against `/etc/newsriver/config.toml` would otherwise
/// report on an empty database created beside the config).
pub fn open_existing_store(config: &Config) -> Result<(Store, Topics), PipelineError> {
    if !config.storage.path.exists() {
        return Err(PipelineError::NoDatabase(missing_database(config)));
    }
    open_store(config)
}

/// Why there is no database at `[storage].path`, and where to look.
pub fn missing_database(config: &Config) -> String {
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let config_path = absolute(&config.path);
    let db = absolute(&config.storage.path);
    let path = db.display();
    let how = match std::env::var_os("STATE_DIRECTORY") {
        Some(dir) => format!(
            "a relative [storage].path resolves against $STATE_DIRECTORY ({})",
            std::path::Path::new(&dir).display()
        ),
        None => format!(
            "a relative [storage].path resolves against the config's folder ({}) \
             unless $STATE_DIRECTORY is set; the systemd unit keeps the database in \
             /var/lib/newsriver: run admin commands as \
             `sudo STATE_DIRECTORY=/var/lib/newsriver newsriver --config {} ...`",
            config_path
                .parent()
                .unwrap_or(std::path::Path::new("/"))
                .display(),
            config_path.display()
        ),
    };
    format!(
        "no database at {path} (nothing is created: `newsriver poll` or `run` creates it); {how}"
    )
}

/// Stories published before this are past `[storage].retention_days`.
pub fn retention_cutoff(
    retention_days: Option<u64>,
    now: chrono::DateTime<Utc>,
) -> Option<chrono::DateTime<Utc>> {
    let days = i64::try_from(retention_days?).ok()?;
    now.checked_sub_signed(chrono::TimeDelta::try_days(days)?)
}

/// Stories per retention transaction: small enough that a poll or a feed
/// render waiting for the connection waits milliseconds, not seconds.
pub const PRUNE_BATCH: usize = 500;

/// What `maintain` did.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Maintenance {
    pub pruned: store::Pruned,
    pub reclaimed: store::Reclaimed,
}

/// Retention, then space reclamation: deletes stories older than
/// `[storage].retention_days` in batches of `PRUNE_BATCH` (the lock is
/// taken per batch, so the daemon's polls and renders interleave), hands
/// the freed pages back to the file system and empties the WAL.
/// Run by the daemon at start and hourly, and by `poll` after polling.
/// `keep_going` is asked between batches (false at daemon shutdown).
pub fn maintain(
    store: &Mutex<Store>,
    retention_days: Option<u64>,
    keep_going: &dyn Fn() -> bool,
) -> Result<Maintenance, store::StoreError> {
    let mut done = Maintenance::default();
    if let Some(cutoff) = retention_cutoff(retention_days, Utc::now()) {
        while keep_going() {
            let batch = lock(store).prune_batch(cutoff, PRUNE_BATCH)?;
            done.pruned.stories += batch.stories;
            done.pruned.polls += batch.polls;
            if batch.stories < PRUNE_BATCH as u64 && batch.polls < PRUNE_BATCH as u64 {
                break;
            }
        }
    }
    if keep_going() {
        done.reclaimed = lock(store).reclaim()?;
    }
    Ok(done)
}

/// Decode → parse → normalize → the rest of each copy's pure work
/// (`NewCopy`): the CPU part of a poll, run in parallel outside the store lock.
fn process(
    body: fetch::Body,
    forced: Option<&'static encoding_rs::Encoding>,
    zone: chrono::FixedOffset,
    prepare: &Prepare<'_>,
) -> PollOutcome {
    let host = url::Url::parse(&body.final_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    let decoded = decode::decode(
        &body.bytes,
        body.content_type.as_deref(),
        forced,
        host.as_deref(),
    );
    let charset_json = serde_json::to_string(&decoded.charset).unwrap_or_default();
    match parse::parse_in_zone(&decoded.text, Some(&body.final_url), zone) {
        Ok(feed) => {
            let parse = Box::new(store::ParseReport {
                document_items: feed.items_in_document as u64,
                items_read: feed.items.len() as u64,
                skipped: feed.skipped as u64,
                note: (!feed.repairs.is_empty()).then(|| feed.repairs.join("; ")),
            });
            // One key (guid, else link, else text hash) twice in one feed: the
            // first wins. Storing both would make the second "edit" the first
            // on every poll, flipping the copy back and forth forever.
            let mut keys = std::collections::HashSet::new();
            let mut items: Vec<NewCopy> = feed
                .items
                .into_iter()
                .filter_map(|item| {
                    let key = item.key();
                    keys.insert(key.clone()).then_some((item, key))
                })
                .map(|(item, key)| {
                    let norm = prepare.normalizer.normalize(&item);
                    NewCopy::new(item, norm, key)
                })
                .collect();
            // For the copies not known already (unchanged items need
            // nothing): their stored HTML, compressed here rather than in
            // the writer, and near-duplicate keys for the first with their
            // content hash (later ones join by hash).
            let mut new: Vec<&mut NewCopy> = items
                .iter_mut()
                .filter(|c| prepare.known.get(c.key()).map(String::as_str) != Some(c.raw_hash()))
                .collect();
            for copy in new.iter_mut() {
                copy.seal();
            }
            if prepare.near.enabled {
                let first = prepare
                    .seen
                    .first_sightings(new.iter().map(|c| c.norm.content_hash.0.as_str()));
                for (copy, first) in new.into_iter().zip(first) {
                    if first {
                        copy.compute_near_keys(prepare.near);
                    }
                }
            }
            PollOutcome::Fetched {
                status: body.status,
                moved_to: None,
                validators: body.validators,
                bytes: body.bytes.len() as u64,
                feed_title: feed.title,
                feed_language: feed.language,
                feed_format: feed.format.to_string(),
                charset_json,
                items,
                parse,
                pages: store::PageCounts::default(),
            }
        }
        Err(e) => PollOutcome::Failed {
            status: Some(body.status),
            error: format!("{e} (decoded as {})", decoded.charset.encoding),
            retry_after: None,
            gone: false,
        },
    }
}

/// `Duration` as "1.4 s" / "350 ms".
pub fn human_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_cutoff_is_days_before_now_and_absent_when_unset() {
        let now = Utc::now();
        assert_eq!(retention_cutoff(None, now), None);
        assert_eq!(
            retention_cutoff(Some(7), now),
            Some(now - chrono::TimeDelta::days(7))
        );
        // Absurd values do not overflow: no cutoff rather than a panic.
        assert_eq!(retention_cutoff(Some(u64::MAX), now), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn polls_queued_while_the_writer_is_busy_are_committed_together() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let tags: Vec<String> = vec![];
        let ids: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
        let rows: Vec<SourceRow<'_>> = ids
            .iter()
            .map(|id| SourceRow {
                id,
                name: id,
                url: "https://x.example/",
                tags: &tags,
            })
            .collect();
        store.sync_sources(&rows).unwrap();
        let store = Arc::new(Mutex::new(store));
        let writer = Arc::new(
            Writer::start(
                store.clone(),
                Arc::new(Topics::default()),
                Arc::new(crate::dedupe::Params::default()),
            )
            .unwrap(),
        );
        // Keep the writer busy (as a long transaction would) while six
        // polls arrive.
        let (held, release) = (std::sync::Barrier::new(2), std::sync::mpsc::channel::<()>());
        let held = Arc::new(held);
        let blocker = {
            let (store, held) = (store.clone(), held.clone());
            let wait = release.1;
            std::thread::spawn(move || {
                let _guard = lock(&store);
                held.wait();
                let _ = wait.recv();
            })
        };
        held.wait();
        let polls: Vec<_> = ids
            .iter()
            .map(|id| {
                let writer = writer.clone();
                let poll = PollToStore {
                    source_id: id.clone(),
                    started: Utc::now(),
                    duration_ms: 1,
                    outcome: PollOutcome::NotModified {
                        status: 304,
                        moved_to: None,
                    },
                };
                tokio::spawn(async move { writer.store(poll).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        release.0.send(()).unwrap();
        blocker.join().unwrap();
        let mut largest = 0;
        for p in polls {
            let (_, batch) = p.await.unwrap().unwrap();
            largest = largest.max(batch);
        }
        // The first poll may have been taken alone before the lock was
        // free; the other five waited in the queue and went in one commit.
        assert!(largest >= 5, "largest batch {largest}");
        let stored: i64 = lock(&store)
            .source_status()
            .unwrap()
            .values()
            .filter(|s| s.last_outcome.as_deref() == Some("not_modified"))
            .count() as i64;
        assert_eq!(stored, 6);
    }

    #[test]
    fn a_content_hash_is_a_first_sighting_once() {
        let seen = SeenStories::default();
        let a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let b = "f123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            seen.first_sightings([a, a, b].into_iter()),
            [true, false, true]
        );
        assert_eq!(seen.first_sightings([b].into_iter()), [false]);
        // Not a hash: no guess, the keys are computed.
        assert_eq!(seen.first_sightings(["短"].into_iter()), [true]);
    }
}
