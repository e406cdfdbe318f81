//! Refreshes sources: fetch → decode → parse → normalize → store, each
//! poll of one source stored all or nothing. The only place that composes
//! the stages, and the only one that opens database connections:
//! `open_writer` (migrations, sync with the config; the writer thread's,
//! `writer`) and `open_reader` (read-only, for read commands).
//!
//! - `feed`: fetch → decode → parse of one feed (`read_feed`), shared by
//!   the poll and the admin commands.
//! - `poll`: `Poller`, sources polled as one stream with `buffer_unordered`
//!   (`[fetch].concurrency` being fetched and prepared; `per_host` is
//!   enforced inside `fetch`); CPU work on the blocking pool, reading
//!   through read-only connections (`store::Readers`); a poll handed to
//!   the writer frees its place (`Poller::hand_over`).
//! - `writer`: the one writer thread (`WriteQueue`), which owns
//!   `store::Writer` and commits the polls that queued up together.
//! - `render`: one topic feed rendered from a reader (`render_topic`).
//! - `explain`: a story's copies and near misses (`stories explain`).

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

use crate::config::Config;
use crate::fetch;
use crate::store::{self, PollCounts, PollOutcome, SourceRow};
use crate::topics::Topics;

mod explain;
mod feed;
pub mod lease;
mod poll;
mod render;
mod trial;
mod writer;

pub use crate::fulltext::{ExtractedBy, NoSelector, ReadPage, feed_text_whole};
pub use explain::{Explained, Explanation, NearMiss, explain};
pub use feed::{
    FeedRead, PageRead, PageSource, ReadAs, decode_body, parse_body, read_article_page, read_feed,
};
pub use poll::{HandedOver, Poller};
pub use render::{TopicFeed, render_topic};
pub use trial::{Preview, PreviewError, PreviewOf, Previewed, TopicHits, preview, topic_hits};
pub use writer::{WriteQueue, WriterState};

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

impl SourceOutcome {
    /// The outcome of a poll as stored.
    fn of(outcome: &PollOutcome) -> SourceOutcome {
        match outcome {
            PollOutcome::NotModified { .. } => SourceOutcome::NotModified,
            PollOutcome::Fetched { items, .. } => SourceOutcome::Ok {
                items: items.len() as u64,
            },
            PollOutcome::Failed { error, .. } => SourceOutcome::Failed {
                error: error.clone(),
            },
        }
    }

    /// The label in `/metrics`, the database and JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceOutcome::Ok { .. } => "ok",
            SourceOutcome::NotModified => "not_modified",
            SourceOutcome::Failed { .. } => "failed",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SourceReport {
    pub id: crate::model::SourceId,
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

/// Opens the database for writing (creating and migrating it) and brings
/// it in line with the config (`sync_writer`). One per process: the
/// writer thread's (`Poller::new`), or a one-off command's
/// (`sources remove --purge`).
pub fn open_writer(config: &Config) -> Result<(store::Writer, Topics), PipelineError> {
    let mut store = store::Writer::open_at(&location(config))?;
    let topics = Topics::new(config);
    sync_writer(&mut store, config, &topics)?;
    Ok((store, topics))
}

/// Sources (names, URLs, tags) recorded, the near-duplicate keys of
/// stories that lack them computed, topic membership re-evaluated where a
/// topic's query or tags changed.
pub fn sync_writer(
    store: &mut store::Writer,
    config: &Config,
    topics: &Topics,
) -> Result<(), PipelineError> {
    store.place_alone(config.storage.placement_global);
    let rows: Vec<SourceRow<'_>> = config
        .sources
        .iter()
        .map(|s| SourceRow {
            id: &s.id,
            name: &s.name,
            url: s.url.as_str(),
            tags: &s.tags,
            low_trust: s.low_trust,
            link_hosts: &s.link_hosts,
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
    let changed = store.sync_topics(&topics.rows(), &|story| topics.classify(story))?;
    if !changed.is_empty() {
        tracing::info!(topics = ?changed, "topic membership re-evaluated");
    }
    Ok(())
}

/// A read-only connection for commands that read what the daemon stored:
/// no migration, no sync, no index, nothing written. A database that does
/// not exist is an error naming the path tried and where the service keeps
/// its database, instead of a new empty one (an admin command run by hand
/// against `/etc/newsriver/config.toml` would otherwise report on an empty
/// database created beside the config); one of an older schema says to run
/// `poll` or the daemon first (`store::Reader::open`).
pub fn open_reader(config: &Config) -> Result<store::Reader, PipelineError> {
    if config.storage.postgres.is_none() && !config.storage.path.exists() {
        return Err(PipelineError::NoDatabase(missing_database(config)));
    }
    store::Reader::open_at(&location(config)).map_err(|e| no_data_yet(config, e))
}

/// A PostgreSQL database no poll has made the schema in yet is what a
/// missing SQLite file is (`PipelineError::NoDatabase`).
fn no_data_yet(config: &Config, e: store::StoreError) -> PipelineError {
    match e {
        store::StoreError::Schema { found: 0, .. } if config.storage.postgres.is_some() => {
            PipelineError::NoDatabase(format!(
                "the PostgreSQL database {} holds no newsriver data yet (run `newsriver poll` \
                 or start the daemon)",
                config.storage.shown()
            ))
        }
        e => e.into(),
    }
}

/// Where the config keeps the data: `[storage].url`'s PostgreSQL
/// database, else the SQLite file.
pub fn location(config: &Config) -> store::Location {
    match &config.storage.postgres {
        Some(url) => store::Location::Postgres(url.clone()),
        None => store::Location::Sqlite(config.storage.path.clone()),
    }
}

/// Read-only connections for a server or the daemon's renderer
/// (`open_reader`'s rules, several connections).
pub fn open_readers(config: &Config) -> Result<store::Readers, PipelineError> {
    if config.storage.postgres.is_none() && !config.storage.path.exists() {
        return Err(PipelineError::NoDatabase(missing_database(config)));
    }
    store::Readers::open_at(location(config)).map_err(|e| no_data_yet(config, e))
}

/// `open_writer` for the admin commands that write to a database the
/// daemon made (`sources remove --purge`): never creates one.
pub fn open_existing_writer(config: &Config) -> Result<(store::Writer, Topics), PipelineError> {
    if config.storage.postgres.is_none() && !config.storage.path.exists() {
        return Err(PipelineError::NoDatabase(missing_database(config)));
    }
    open_writer(config)
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
/// `[storage].retention_days` in batches of `PRUNE_BATCH` (each a job of
/// its own on the writer thread, so polls and renders interleave), hands
/// the freed pages back to the file system and empties the WAL.
/// Run by the daemon at start and hourly, and by `poll` after polling.
/// `keep_going` is asked between batches (false at daemon shutdown).
pub async fn maintain(
    writer: &WriteQueue,
    retention_days: Option<u64>,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<Maintenance, PipelineError> {
    let mut done = Maintenance::default();
    if let Some(cutoff) = retention_cutoff(retention_days, Utc::now()) {
        while keep_going() {
            let batch = writer
                .run(move |w| w.store.prune_batch(cutoff, PRUNE_BATCH))
                .await??;
            done.pruned.stories += batch.stories;
            done.pruned.polls += batch.polls;
            if batch.stories < PRUNE_BATCH as u64 && batch.polls < PRUNE_BATCH as u64 {
                break;
            }
        }
    }
    if keep_going() {
        done.reclaimed = writer.run(|w| w.store.reclaim()).await??;
    }
    Ok(done)
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
}
