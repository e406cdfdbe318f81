//! One pass over sources: each source fetched, its body decoded, parsed
//! and normalized on the blocking pool (`process`), its full-text pages
//! fetched, and the poll handed to the writer (`Poller::hand_over`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;

use crate::config::{Config, Source};
use crate::fetch::{self, Fetched, Fetcher};
use crate::model::SourceId;
use crate::normalize::Normalizer;
use crate::parse;
use crate::store::{self, NewCopy, PollCounts, PollOutcome, PollToStore, Readers};
use crate::topics::Topics;

use super::writer::{Commit, WriteQueue, WriterState};
use super::{PipelineError, PollReport, SourceOutcome, SourceReport};

/// Everything a poll needs, shared by the concurrent source tasks.
pub struct Poller {
    /// Hands finished polls (and every other write) to the one writer
    /// thread, which owns the write connection (`WriteQueue`).
    writer: WriteQueue,
    /// Read-only connections for the parallel stage's look-ups (a source's
    /// state and known items), so it never waits for the writer.
    readers: Arc<Readers>,
    fetcher: Fetcher,
    normalizer: Arc<Normalizer>,
    near: Arc<crate::dedupe::Params>,
    /// `[storage] compression`.
    codec: crate::model::BodyCodec,
    concurrency: usize,
    /// Several pollers on PostgreSQL: this one's host leases (`lease`).
    shared: Option<Arc<super::lease::Shared>>,
    /// `[fetch].timeout_secs`, for `longest_poll`.
    timeout: Duration,
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
    /// `[storage] compression`: how new copies' bodies are compressed.
    codec: crate::model::BodyCodec,
    near: &'a crate::dedupe::Params,
    /// This source's stored items: item key → raw hash.
    known: std::collections::HashMap<String, String>,
    seen: &'a SeenStories,
}

/// A poll handed to the writer and not yet committed
/// (`Poller::hand_over`): what its report needs once it is.
pub struct HandedOver {
    commit: Commit,
    id: SourceId,
    url: String,
    outcome: SourceOutcome,
    bytes: u64,
    duration: Duration,
    /// A large body's share of the memory budget, kept until its items
    /// are stored (see `fetch::Body::budget`).
    budget: Option<crate::fetch::BodyBudget>,
    /// The host polled (the poll's log line).
    host: String,
    /// The source fetches article pages (`full_text`), and the first page
    /// that failed in this poll.
    full_text: bool,
    first_page_failure: Option<store::PageFailure>,
}

impl HandedOver {
    /// The poll's report, once the writer has committed it.
    pub async fn committed(self) -> Result<SourceReport, PipelineError> {
        let HandedOver {
            commit,
            id,
            url,
            outcome,
            bytes,
            duration,
            budget,
            host,
            full_text,
            first_page_failure,
        } = self;
        let (counts, _batch) = WriteQueue::committed(commit).await?;
        drop(budget);
        record_metrics(&id, &outcome, &counts, bytes, duration);
        let logged = PollLine {
            id: &id,
            host: &host,
            duration,
            outcome: &outcome,
            full_text,
            first_page_failure: first_page_failure.as_ref(),
        };
        logged.log(&counts);
        Ok(SourceReport {
            id,
            url,
            outcome,
            counts,
            bytes,
            duration_ms: duration.as_millis() as u64,
        })
    }
}

/// What the poll's log line says of a committed poll.
struct PollLine<'a> {
    id: &'a SourceId,
    host: &'a str,
    duration: Duration,
    outcome: &'a SourceOutcome,
    full_text: bool,
    first_page_failure: Option<&'a store::PageFailure>,
}

impl PollLine<'_> {
    /// The poll's one line at INFO (for journalctl): what it stored, and
    /// the article pages of a `full_text` source. A failed poll is logged
    /// by whoever polled (the daemon's "poll failed", the `poll` summary),
    /// its error naming the host (`failed`).
    fn log(&self, c: &PollCounts) {
        let (id, host, ms) = (&self.id, &self.host, self.duration.as_millis() as u64);
        match &self.outcome {
            SourceOutcome::Failed { .. } => {}
            SourceOutcome::NotModified => {
                tracing::info!(source_id = %id, host = %host, ms, "polled: not modified");
            }
            SourceOutcome::Ok { items } if self.full_text => {
                // Per page at DEBUG only (`fulltext::enrich`); here the
                // counts and the first page that failed.
                let (fetched, not_needed, failed, skipped) = (
                    c.pages_fetched,
                    c.pages_not_needed,
                    c.pages_failed,
                    c.pages_skipped,
                );
                // Debug form: quoted, control characters escaped (a page's
                // URL and reason come from outside).
                let first_failure = self.first_page_failure.map_or_else(
                    || "-".to_string(),
                    |f| format!("{:?}", format!("{}: {}", f.url, f.reason)),
                );
                tracing::info!(
                    source_id = %id,
                    host = %host,
                    ms,
                    items,
                    new = c.items_new,
                    updated = c.items_updated,
                    stories_new = c.stories_new,
                    full_text_fetched = fetched,
                    full_text_not_needed = not_needed,
                    full_text_failed = failed,
                    full_text_skipped = skipped,
                    first_failure = %first_failure,
                    "polled"
                );
            }
            SourceOutcome::Ok { items } => {
                tracing::info!(
                    source_id = %id,
                    host = %host,
                    ms,
                    items,
                    new = c.items_new,
                    updated = c.items_updated,
                    stories_new = c.stories_new,
                    "polled"
                );
            }
        }
    }
}

impl Poller {
    /// Opens the database (migrated, sources and topics in line with the
    /// config), starts the writer thread with it, builds the client.
    pub fn new(config: &Config) -> Result<Poller, PipelineError> {
        let (store, topics) = super::open_writer(config)?;
        let near = Arc::new(config.dedupe.clone());
        let writer = WriteQueue::start(WriterState {
            store,
            topics: Arc::new(topics),
            near: near.clone(),
            work: Default::default(),
        })?;
        let readers = Arc::new(super::open_readers(config)?);
        let shared = super::lease::Shared::open(config)?;
        Poller::with(config, writer, readers, near, shared)
    }

    fn with(
        config: &Config,
        writer: WriteQueue,
        readers: Arc<Readers>,
        near: Arc<crate::dedupe::Params>,
        shared: Option<Arc<super::lease::Shared>>,
    ) -> Result<Poller, PipelineError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Poller {
            writer,
            readers,
            fetcher: Fetcher::new(&config.fetch)?,
            normalizer: Arc::new(Normalizer::new(&config.normalize)),
            codec: config.storage.compression,
            near,
            concurrency: config.fetch.concurrency,
            shared,
            timeout: Duration::from_secs(config.fetch.timeout_secs),
            retention_days: config.storage.retention_days,
            seen: Arc::default(),
            cpu: Arc::new(tokio::sync::Semaphore::new(cores)),
        })
    }

    /// A poller for a reloaded `config` that keeps this one's writer and
    /// readers (one writer per process): the writer records the new
    /// sources and topics and classifies with the new topics from then on;
    /// fetcher and normalizer are new. Polls in flight finish with the old
    /// poller. `[storage].path` must not have changed.
    pub async fn reconfigure(&self, config: &Config) -> Result<Poller, PipelineError> {
        let near = Arc::new(config.dedupe.clone());
        let topics = Arc::new(Topics::new(config));
        let (sync_config, sync_near) = (config.clone(), near.clone());
        self.writer
            .run(move |w| {
                w.topics = topics;
                w.near = sync_near;
                super::sync_writer(&mut w.store, &sync_config, &w.topics)
            })
            .await??;
        Poller::with(
            config,
            self.writer.clone(),
            self.readers.clone(),
            near,
            self.shared.clone(),
        )
    }

    /// The longest a poll of `source` can take when nothing is stuck: each
    /// fetch waits for its slots at most `timeout_secs` and then takes at
    /// most `timeout_secs` (`fetch::Fetcher`); the feed, then its pages
    /// `fulltext::PAGES_IN_FLIGHT` at a time; plus five minutes for the
    /// CPU work and the writer. A poll running longer is stalled work
    /// (`/healthz`, issue 22, item 8).
    pub fn longest_poll(&self, source: &Source) -> Duration {
        let fetch = self.timeout.saturating_mul(2);
        let rounds = if source.full_text {
            source
                .max_pages_per_poll
                .div_ceil(crate::fulltext::PAGES_IN_FLIGHT)
        } else {
            0
        };
        fetch
            .saturating_mul(u32::try_from(rounds + 1).unwrap_or(u32::MAX))
            .saturating_add(Duration::from_secs(300))
    }

    /// The writer thread, for writes other than polls (next poll times,
    /// retention).
    pub fn writer(&self) -> &WriteQueue {
        &self.writer
    }

    /// The read-only connections this poller reads through.
    pub fn readers(&self) -> Arc<Readers> {
        self.readers.clone()
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

    /// This poller's host leases, when several pollers share the database
    /// (PostgreSQL).
    pub fn shared(&self) -> Option<&Arc<super::lease::Shared>> {
        self.shared.as_ref()
    }

    /// `poll`, when other pollers may share the database (PostgreSQL):
    /// every source in `sources` is polled once from now, by this poller or
    /// another. This one claims hosts in batches (its share of the hosts
    /// left, `lease::fair_share`), polls their sources not polled since it
    /// started, lets the hosts go, and goes on until none is left; hosts
    /// another poller holds are waited for, and taken over once its lease
    /// lapses (it died); when the pollers holding the hosts left stay
    /// alive and poll none of them for two lease periods (a daemon keeps
    /// its hosts and polls them on its schedule), they are left to them.
    /// The report is this poller's polls. On SQLite, `poll`.
    pub async fn poll_shared(
        &self,
        sources: Vec<Source>,
        on_done: impl Fn(&SourceReport),
    ) -> Result<PollReport, PipelineError> {
        let Some(shared) = self.shared.clone() else {
            return self.poll(sources, on_done).await;
        };
        let started = Instant::now();
        // Every poll stored from now on has a higher row id in `polls`
        // (a transaction already under way when this is read may store one
        // with a lower id: that source is polled again, once).
        let since = {
            let readers = self.readers.clone();
            tokio::task::spawn_blocking(move || readers.get()?.last_poll_id()).await??
        };
        let mut report = PollReport::default();
        let mut mine: std::collections::HashSet<SourceId> = Default::default();
        // Sources polled by anyone since the start, and when that last grew.
        let mut progress = (0usize, Instant::now());
        let renew = shared.keep_alive();
        let result = async {
            loop {
                let polled = {
                    let readers = self.readers.clone();
                    tokio::task::spawn_blocking(move || readers.get()?.polled_since(since))
                        .await??
                };
                let left: Vec<&Source> = sources
                    .iter()
                    .filter(|s| !mine.contains(&s.id) && !polled.contains(&s.id))
                    .collect();
                if polled.len() != progress.0 {
                    progress = (polled.len(), Instant::now());
                }
                if left.is_empty() {
                    break;
                }
                let live = shared.heartbeat().await?;
                let of = shared.hosts_of(&left).await;
                let mut hosts = of.clone();
                hosts.sort_unstable();
                hosts.dedup();
                let share = super::lease::fair_share(hosts.len(), live);
                let held = shared.claim(hosts, share).await?;
                let waiting = left.len();
                let batch: Vec<Source> = left
                    .into_iter()
                    .zip(&of)
                    .filter(|(_, h)| held.contains(*h))
                    .map(|(s, _)| s.clone())
                    .collect();
                if batch.is_empty() {
                    // Every host left is another poller's: wait for it to
                    // poll them, or for its leases to lapse (it died). A
                    // poller that stays alive and polls none of them for
                    // two lease periods is a daemon keeping its hosts: it
                    // polls them on its schedule, and this poll ends.
                    if progress.1.elapsed() > shared.period() * 2 {
                        tracing::warn!(
                            sources = waiting,
                            "left to the pollers that hold their hosts (they poll them on their schedule)"
                        );
                        break;
                    }
                    tokio::time::sleep((shared.period() / 10).min(Duration::from_secs(1))).await;
                    continue;
                }
                mine.extend(batch.iter().map(|s| s.id.clone()));
                let done = self.poll(batch, &on_done).await?;
                report.counts += done.counts;
                report.bytes += done.bytes;
                report.sources.extend(done.sources);
                shared.release(held.into_iter().collect()).await?;
            }
            Ok::<_, PipelineError>(())
        }
        .await;
        renew.abort();
        if let Err(e) = shared.leave().await {
            tracing::warn!(error = %e, "cannot let this poller's host leases go");
        }
        result?;
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
        let id = source.id.clone();
        let state = {
            let readers = self.readers.clone();
            let id = id.clone();
            tokio::task::spawn_blocking(move || readers.get()?.source_state(&id)).await??
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
                let bytes = body.bytes.len() as u64;
                let moved_to = moved(body.moved_to.clone());
                (
                    self.prepare(&source, body, moved_to, &mut budget).await?,
                    bytes,
                )
            }
            Err(e) => (failed(&id, &url, e), 0),
        };
        let report_outcome = SourceOutcome::of(&outcome);
        let first_page_failure = match &outcome {
            PollOutcome::Fetched { pages, .. } => pages.failures.first().cloned(),
            _ => None,
        };
        let host = url.host_str().unwrap_or_default().to_string();
        let duration = started.elapsed();
        let commit = self
            .writer
            .submit(PollToStore {
                source_id: id.clone(),
                started: started_at,
                duration_ms: duration.as_millis() as u64,
                outcome,
                lease: self.shared.as_ref().and_then(|s| s.lease_of(&source.id)),
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
            host,
            full_text: source.full_text,
            first_page_failure,
        })
    }

    /// A fetched body's CPU work on the blocking pool (decode → parse →
    /// normalize → keys, `process`), retention's cut, then the full text of
    /// new items (`fulltext`), for which the body's large-body slot
    /// (`budget`) is let go first.
    async fn prepare(
        &self,
        source: &Source,
        body: fetch::Body,
        moved_to: Option<String>,
        budget: &mut Option<fetch::BodyBudget>,
    ) -> Result<PollOutcome, PipelineError> {
        let normalizer = self.normalizer.clone();
        let (readers, near, seen, sid) = (
            self.readers.clone(),
            self.near.clone(),
            self.seen.clone(),
            source.id.clone(),
        );
        let (forced, codec) = (source.encoding, self.codec);
        let zone = source.timezone.unwrap_or(parse::DEFAULT_ZONE);
        // Closed never: the semaphore lives as long as the poller.
        let cpu = self.cpu.clone().acquire_owned().await.ok();
        let (mut outcome, known) = tokio::task::spawn_blocking(move || {
            let _cpu = cpu;
            // Unreadable: every item is prepared as if new; the
            // poll's transaction then reports the database's error.
            let known = readers
                .get()
                .and_then(|r| r.known_items(&sid))
                .unwrap_or_default();
            let prepare = Prepare {
                normalizer: &normalizer,
                codec,
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
            if let Some(cutoff) = super::retention_cutoff(self.retention_days, Utc::now()) {
                items.retain(|c| c.item.published.is_none_or(|p| p >= cutoff));
            }
        }
        // New and changed items of a `full_text` source: their
        // article pages, fetched once (see `fulltext`). Not while holding
        // the feed's large-body slot (issue 22, item 8): a page fetch
        // waits for its host and may need a slot itself, and three large
        // feeds holding the three slots while their pages waited for one
        // stopped every large fetch and every host their pages were on
        // for good. The body itself is parsed and gone by now; its items
        // are not counted while the pages are fetched.
        if source.full_text
            && let PollOutcome::Fetched { .. } = &outcome
        {
            *budget = None;
        }
        crate::fulltext::enrich(
            &self.fetcher,
            source,
            &self.normalizer,
            &self.near,
            &known,
            &mut outcome,
        )
        .await;
        // Prepared: what waits for the writer holds the HTML compressed
        // only (the full text, the last thing that re-encodes it, is in).
        if let PollOutcome::Fetched { items, .. } = &mut outcome {
            items.iter_mut().for_each(NewCopy::shed_html);
        }
        Ok(outcome)
    }
}

/// A fetch that failed, as the poll's outcome (410 Gone stops polling).
/// Its error names the host when the fetch's own message does not (a
/// resolver's "Name or service not known" does not say which name): the
/// daemon's "poll failed" line and `sources list` show it.
fn failed(id: &str, url: &url::Url, e: fetch::FetchError) -> PollOutcome {
    let gone = e.status() == Some(410);
    let message = match url.host_str() {
        Some(host) if !e.to_string().contains(host) => format!("{host}: {e}"),
        _ => e.to_string(),
    };
    // Other failures are logged once, by whoever polled (the
    // daemon's "poll failed", the `poll` summary).
    if gone {
        tracing::warn!(source_id = %id, url = %url, "410 Gone: polling of this source stops");
    }
    PollOutcome::Failed {
        status: e.status(),
        error: if gone {
            format!("{message}: the feed is gone; polling stopped (change its URL to resume)")
        } else {
            message
        },
        retry_after: e
            .retry_after()
            .and_then(|v| crate::schedule::parse_retry_after(v, Utc::now())),
        gone,
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
    let label = outcome.as_str();
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
    metrics::counter!("newsriver_text_fallbacks_total").increment(counts.text_fallbacks);
    metrics::counter!("newsriver_stories_total", "kind" => "new").increment(counts.stories_new);
    metrics::counter!("newsriver_stories_total", "kind" => "merged")
        .increment(counts.stories_merged);
    metrics::counter!("newsriver_fetched_bytes_total").increment(bytes);
    metrics::histogram!("newsriver_fetch_duration_seconds").record(duration.as_secs_f64());
}
/// Decode → parse → normalize → the rest of each copy's pure work
/// (`NewCopy`): the CPU part of a poll, run in parallel before the writer.
fn process(
    body: fetch::Body,
    forced: Option<&'static encoding_rs::Encoding>,
    zone: chrono::FixedOffset,
    prepare: &Prepare<'_>,
) -> PollOutcome {
    let decoded = super::feed::decode_body(&body, forced);
    let charset_json = serde_json::to_string(&decoded.charset).unwrap_or_default();
    match super::feed::parse_body(&body, &decoded, zone) {
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
                copy.seal(prepare.codec);
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

#[cfg(test)]
mod tests {
    use super::*;

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
