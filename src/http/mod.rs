//! The HTTP edge: serves topic feeds from an in-memory cache, and keeps the
//! cache (and `[server].output_dir`) in step with the database.
//!
//! Architecture invariant: request handlers never touch SQLite. `FeedCache::
//! refresh` renders a topic's three formats (precompressed with gzip and
//! brotli) only when the topic's `changed_at` moved; handlers read the cache.

// The parts (`cache`, `conn`, `health`, `routes`) share these imports and
// each other's items through `use super::*`.
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::normalize::Normalizer;
use crate::page::{IndexAt, TopicLine};
use crate::publish::Format;
use crate::store::{Reader, Readers, TopicCursor};
use crate::wording::Lang;

mod cache;
mod conn;
mod health;
mod routes;

pub use cache::{FeedCache, Rendered, refresh_blocking, spawn_refresher};
pub use conn::{Limits, serve_connections};
pub use health::{Health, HealthState, STARTUP_GRACE, judge_health};
pub use routes::{AppState, router};
// Each part's `pub(super)` items, for the others.
#[allow(unused_imports)]
use {cache::*, conn::*, health::*, routes::*};

/// Serves until `shutdown` resolves, refreshing the cache from the database
/// every `check_every` (a cheap query of the topics' versions), and
/// reopening `readers` when the database file is replaced (`restore`).
pub async fn serve(
    config: &Config,
    listener: tokio::net::TcpListener,
    readers: Readers,
    check_every: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Taken after `readers` were opened: a file replaced in between (a
    // restore racing the start, microseconds) would go unseen; one replaced
    // later is seen at the next check.
    let file = file_identity(&config.storage.path).ok();
    let cache = Arc::new(FeedCache::new(config));
    let readers = Arc::new(readers);
    let health = HealthState::new(last_success(&readers).await.ok().flatten());
    refresh_blocking(&cache, &readers).await;
    let state = AppState::new(cache, health, None);
    let mut followed = Followed {
        config: config.clone(),
        file,
        readers,
    };
    let app = state.clone();
    let refresher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(check_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(why) = followed.follow(&app).await {
                // Not healthy until the file is back or reopened.
                tracing::warn!(error = %why, "cannot read the database");
                app.health().store_failed(why);
                continue;
            }
            refresh_blocking(&app.cache(), &followed.readers).await;
            // A daemon elsewhere may be polling into this database.
            let health = app.health();
            match last_success(&followed.readers).await {
                Ok(Some(t)) => health.polled_ok(t),
                Ok(None) => health.stored_ok(),
                Err(e) => health.store_failed(e.to_string()),
            }
        }
    });
    let result = serve_connections(
        listener,
        router(state),
        Limits::new(&config.server),
        shutdown,
    )
    .await;
    refresher.abort();
    result
}

/// Which file a path names: device and inode. A file replaced by a rename
/// (`restore`, `cp` to a temporary and `mv`) has another inode; SQLite's
/// `PRAGMA data_version` only sees changes made to the file it has open.
#[cfg(unix)]
fn file_identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// Elsewhere only that the file is there (no inode to compare).
#[cfg(not(unix))]
fn file_identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    std::fs::metadata(path).map(|_| (0, 0))
}

/// `serve`'s read-only connections and the file they were opened on.
struct Followed {
    config: Config,
    file: Option<(u64, u64)>,
    readers: Arc<Readers>,
}

impl Followed {
    /// When the database path names another file than the one `readers`
    /// read (a restore renamed a new file over it), opens new connections
    /// on it, renders every feed from it and only then serves them, with
    /// the health it says. Connections on the old file would go on reading
    /// it, deleted, for ever, `/healthz` saying ok. An error (the file gone
    /// or unreadable) says why; the caller reports it as unhealthy.
    async fn follow(&mut self, app: &AppState) -> Result<(), String> {
        if self.config.storage.postgres.is_some() {
            // No file to be replaced: a PostgreSQL database is restored in
            // place (pg_restore), and every connection sees it.
            return Ok(());
        }
        let path = self.config.storage.path.clone();
        let now = file_identity(&path)
            .map_err(|e| format!("cannot read the database file {}: {e}", path.display()))?;
        if self.file == Some(now) {
            return Ok(());
        }
        let why = format!("the database file {} was replaced", path.display());
        tracing::warn!("{why}; reopening it");
        app.health().store_failed(format!("{why}; reopening it"));
        let config = self.config.clone();
        let readers = tokio::task::spawn_blocking(move || crate::pipeline::open_readers(&config))
            .await
            .map_err(|e| format!("{why}; cannot reopen it: {e}"))?
            .map_err(|e| format!("{why}; cannot reopen it: {e}"))?;
        let readers = Arc::new(readers);
        let last = last_success(&readers)
            .await
            .map_err(|e| format!("{why}; cannot read it: {e}"))?;
        let cache = Arc::new(FeedCache::new(&self.config));
        refresh_blocking(&cache, &readers).await;
        app.set_cache(cache);
        app.set_health(HealthState::new(last));
        self.file = Some(now);
        self.readers = readers;
        tracing::info!(path = %path.display(), "serving the replaced database");
        Ok(())
    }
}

/// When a source last polled successfully, read on the blocking pool.
pub async fn last_success(
    readers: &Arc<Readers>,
) -> Result<Option<DateTime<Utc>>, crate::pipeline::PipelineError> {
    let readers = readers.clone();
    Ok(tokio::task::spawn_blocking(move || readers.get()?.last_success()).await??)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_needs_one_success_after_a_grace_for_starting() {
        let t = Utc::now();
        let minute = Duration::from_secs(60);
        assert_eq!(judge_health(Ok(Some(t)), 3, minute), Health::Ok);
        assert_eq!(judge_health(Ok(None), 3, minute), Health::Starting);
        assert!(matches!(
            judge_health(Ok(None), 3, STARTUP_GRACE + minute),
            Health::Error(e) if e.contains("no source has ever polled successfully")
        ));
        assert_eq!(
            judge_health(Ok(None), 0, STARTUP_GRACE + minute),
            Health::Ok
        );
        assert!(matches!(
            judge_health(Err("locked".into()), 3, minute),
            Health::Error(e) if e.contains("database")
        ));
    }

    #[test]
    fn etags_and_encodings() {
        assert!(etag_matches("\"a\", W/\"b\"", "\"b\""));
        assert!(etag_matches("*", "\"x\""));
        assert!(!etag_matches("\"a\"", "\"b\""));
        assert!(etag_matches("W/\"b-gz\"", "\"b-gz\""));
        assert!(!etag_matches("\"b\"", "\"b-gz\""));
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(accepted(&h, "br") && !accepted(&h, "gzip"));
    }
}
