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
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::normalize::Normalizer;
use crate::publish::Format;
use crate::store::{Reader, Readers};

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
/// every `check_every` (a cheap query of the topics' versions).
pub async fn serve(
    config: &Config,
    listener: tokio::net::TcpListener,
    readers: Readers,
    check_every: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cache = Arc::new(FeedCache::new(config));
    let readers = Arc::new(readers);
    let health = HealthState::new(last_success(&readers).await.ok().flatten());
    refresh_blocking(&cache, &readers).await;
    let state = AppState::new(cache.clone(), health.clone(), None);
    let refresher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(check_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            refresh_blocking(&cache, &readers).await;
            // A daemon elsewhere may be polling into this database.
            match last_success(&readers).await {
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
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(accepted(&h, "br") && !accepted(&h, "gzip"));
    }
}
