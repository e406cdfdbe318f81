//! The HTTP edge: serves topic feeds from an in-memory cache, and keeps the
//! cache (and `[server].output_dir`) in step with the database.
//!
//! Architecture invariant: request handlers never touch SQLite. `FeedCache::
//! refresh` renders a topic's three formats (precompressed with gzip and
//! brotli) only when the topic's `changed_at` moved; handlers read the cache.

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

/// One rendered document with its validators and precompressed forms.
pub struct Rendered {
    pub content_type: &'static str,
    // `Bytes`: a response shares the cached buffer instead of copying it.
    pub body: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    pub etag: String,
    pub last_modified: SystemTime,
}

impl Rendered {
    fn new(content_type: &'static str, body: Vec<u8>, modified: DateTime<Utc>) -> Rendered {
        let etag = format!("\"{}\"", &blake3::hash(&body).to_hex()[..24]);
        let gzip = {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let _ = enc.write_all(&body);
            enc.finish().unwrap_or_default()
        };
        let brotli = {
            let mut out = Vec::new();
            // Quality 7, window no larger than the feed: on a 230 KB topic
            // feed 0.4% larger than quality 9 in a third of the time
            // (12 vs 42 ms), and without quality 9's 32 MB hash table,
            // which was the daemon's largest allocation (heaptrack, a
            // cold poll under `run`; BENCHMARKS.md).
            let params = brotli::enc::BrotliEncoderParams {
                quality: 7,
                lgwin: (usize::BITS - body.len().max(1).leading_zeros()).clamp(16, 22) as i32,
                ..Default::default()
            };
            let _ = brotli::BrotliCompress(&mut &body[..], &mut out, &params);
            out
        };
        // HTTP dates have whole seconds.
        let secs = modified.timestamp().max(0) as u64;
        Rendered {
            content_type,
            body: Bytes::from(body),
            gzip: Bytes::from(gzip),
            brotli: Bytes::from(brotli),
            etag,
            last_modified: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }
}

#[derive(Default)]
struct Cached {
    /// `topics.changed_at` the feeds were rendered at.
    version: i64,
    feeds: HashMap<Format, Arc<Rendered>>,
}

/// Rendered topic feeds, the index page and the OPML, shared by handlers.
pub struct FeedCache {
    config: Config,
    normalizer: Normalizer,
    topics: RwLock<HashMap<String, Cached>>,
    index: Arc<Rendered>,
    opml: Arc<Rendered>,
}

impl FeedCache {
    pub fn new(config: &Config) -> FeedCache {
        let now = Utc::now();
        FeedCache {
            index: Arc::new(Rendered::new(
                "text/html; charset=utf-8",
                index_html(config).into_bytes(),
                now,
            )),
            opml: Arc::new(Rendered::new(
                "text/x-opml; charset=utf-8",
                opml(config).into_bytes(),
                now,
            )),
            config: config.clone(),
            normalizer: Normalizer::new(&config.normalize),
            topics: RwLock::new(HashMap::new()),
        }
    }

    /// Re-renders the topics whose feeds changed since the last refresh and
    /// writes them to `output_dir`. Returns the slugs re-rendered.
    pub fn refresh(&self, store: &Reader) -> crate::store::Result<Vec<String>> {
        let versions: HashMap<String, i64> = store.topic_versions()?.into_iter().collect();
        let mut done = Vec::new();
        for topic in &self.config.topics {
            let version = versions.get(&topic.slug).copied().unwrap_or(0);
            let current = self.read().get(&topic.slug).map(|c| c.version);
            if current == Some(version) {
                continue;
            }
            let feed = crate::pipeline::TopicFeed::load(
                store,
                &self.config,
                topic,
                self.config.server.items_per_feed,
                Some(version),
            )?;
            let updated = feed.updated;
            let mut feeds = HashMap::new();
            for format in Format::ALL {
                let started = std::time::Instant::now();
                // One topic's failure must not stop the others: a panic in a
                // writer on one story's data is that topic's error, and its
                // readers keep the feeds rendered before (or a 503).
                let render = || feed.render(format, &self.normalizer);
                let body = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(render)) {
                    Ok(body) => body,
                    Err(panic) => {
                        let why = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        tracing::error!(topic = %topic.slug, %format, error = %why, "cannot render this topic's feed; its previous feed is kept");
                        metrics::counter!("newsriver_feed_render_failures_total").increment(1);
                        feeds.clear();
                        break;
                    }
                };
                metrics::histogram!("newsriver_feed_render_seconds")
                    .record(started.elapsed().as_secs_f64());
                let rendered = Rendered::new(format.content_type(), body, updated);
                if let Some(dir) = &self.config.server.output_dir {
                    // The feed, and its gzip form for nginx's gzip_static.
                    let name = format!("topics/{}.{}", topic.slug, format.extension());
                    for (path, bytes) in [
                        (dir.join(&name), &rendered.body),
                        (dir.join(format!("{name}.gz")), &rendered.gzip),
                    ] {
                        if let Err(e) = crate::atomic_file::write(&path, bytes) {
                            tracing::warn!(path = %path.display(), error = %e, "cannot write feed file");
                        }
                    }
                }
                feeds.insert(format, Arc::new(rendered));
            }
            if feeds.len() < Format::ALL.len() {
                // Not retried until the topic changes again (a panic is
                // deterministic); the feeds already served stay.
                let mut cache = self.write();
                let cached = cache.entry(topic.slug.clone()).or_default();
                cached.version = version;
                continue;
            }
            self.write()
                .insert(topic.slug.clone(), Cached { version, feeds });
            done.push(topic.slug.clone());
        }
        if let Some(dir) = &self.config.server.output_dir
            && !done.is_empty()
        {
            for (name, doc) in [
                ("topics/index.html", &self.index),
                ("topics.opml", &self.opml),
            ] {
                if let Err(e) = crate::atomic_file::write(&dir.join(name), &doc.body) {
                    tracing::warn!(path = %dir.join(name).display(), error = %e, "cannot write file");
                }
            }
        }
        Ok(done)
    }

    pub fn feed(&self, slug: &str, format: Format) -> Option<Arc<Rendered>> {
        self.read().get(slug)?.feeds.get(&format).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Cached>> {
        self.topics.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Cached>> {
        self.topics.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn esc(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

fn index_html(config: &Config) -> String {
    let base = &config.server.base_url;
    let mut links = String::new();
    let mut list = String::new();
    for t in &config.topics {
        let mut feeds = Vec::new();
        for (format, mime) in [
            (Format::Atom, "application/atom+xml"),
            (Format::Rss, "application/rss+xml"),
            (Format::Json, "application/feed+json"),
        ] {
            let href = base
                .join(&format!("topics/{}.{}", t.slug, format.extension()))
                .map(|u| u.to_string())
                .unwrap_or_default();
            links.push_str(&format!(
                "<link rel=\"alternate\" type=\"{mime}\" title=\"{} ({format})\" href=\"{}\">\n",
                esc(&t.title),
                esc(&href)
            ));
            feeds.push(format!("<a href=\"{}\">{format}</a>", esc(&href)));
        }
        list.push_str(&format!(
            "<li><strong>{}</strong> <code>{}</code> — {}</li>\n",
            esc(&t.title),
            esc(&t.query),
            feeds.join(" · ")
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n<title>newsriver topics</title>\n{links}</head>\n<body>\n<h1>Topics</h1>\n<ul>\n{list}</ul>\n<p><a href=\"{}\">All topics as OPML</a></p>\n</body>\n</html>\n",
        esc(&base
            .join("topics.opml")
            .map(|u| u.to_string())
            .unwrap_or_default())
    )
}

fn opml(config: &Config) -> String {
    let mut doc = opml::OPML {
        version: "2.0".into(),
        head: Some(opml::Head {
            title: Some("newsriver topics".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    for t in &config.topics {
        let url = config
            .server
            .base_url
            .join(&format!("topics/{}.atom", t.slug))
            .map(|u| u.to_string())
            .unwrap_or_default();
        doc.body.outlines.push(opml::Outline {
            text: t.title.clone(),
            title: Some(t.title.clone()),
            r#type: Some("rss".into()),
            xml_url: Some(url),
            ..Default::default()
        });
    }
    doc.to_string().unwrap_or_default()
}

/// What the handlers share: the current feed cache (swapped on reload),
/// the health the daemon reports for `/healthz`, and the metrics registry
/// for `/metrics`. No database: a handler never waits for SQLite.
pub struct AppState {
    cache: RwLock<Arc<FeedCache>>,
    health: Arc<HealthState>,
    metrics: Option<PrometheusHandle>,
    started: std::time::Instant,
}

impl AppState {
    pub fn new(
        cache: Arc<FeedCache>,
        health: Arc<HealthState>,
        metrics: Option<PrometheusHandle>,
    ) -> Arc<AppState> {
        Arc::new(AppState {
            cache: RwLock::new(cache),
            health,
            metrics,
            started: std::time::Instant::now(),
        })
    }

    pub fn cache(&self) -> Arc<FeedCache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// After a reload: new topics, new cache.
    pub fn set_cache(&self, cache: Arc<FeedCache>) {
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = cache;
    }
}

/// What `/healthz` reports, kept by whoever writes (the daemon after each
/// poll) instead of asked of the database: a cold poll holds the writer for
/// seconds, and a health check must not queue behind it.
#[derive(Debug, Default)]
pub struct HealthState {
    /// Unix seconds of the last successful poll of any source; 0: none yet.
    last_success: AtomicI64,
    /// The last poll could not be stored: why.
    store_error: Mutex<Option<String>>,
}

impl HealthState {
    /// Starts from what the database says (the last success survives restarts).
    pub fn new(last_success: Option<DateTime<Utc>>) -> Arc<HealthState> {
        let state = HealthState::default();
        if let Some(t) = last_success {
            state.polled_ok(t);
        }
        Arc::new(state)
    }

    /// A source polled successfully at `at` (and so was stored).
    pub fn polled_ok(&self, at: DateTime<Utc>) {
        self.last_success
            .fetch_max(at.timestamp().max(1), std::sync::atomic::Ordering::Relaxed);
        self.stored_ok();
    }

    /// A poll was stored (whatever its outcome).
    pub fn stored_ok(&self) {
        *self.store_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// A poll could not be stored.
    pub fn store_failed(&self, why: String) {
        *self.store_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    /// What `judge_health` takes: the store's error, else the last success.
    fn database(&self) -> Result<Option<DateTime<Utc>>, String> {
        if let Some(e) = self
            .store_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(e);
        }
        let t = self.last_success.load(std::sync::atomic::Ordering::Relaxed);
        Ok((t > 0).then(|| DateTime::from_timestamp(t, 0)).flatten())
    }
}

/// The router: `/topics/{slug}.{atom,rss,json}`, `/topics/`, `/topics.opml`,
/// `/healthz`, `/metrics` (when metrics are recorded).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/topics/{file}", get(topic_feed))
        .route("/topics/", get(index))
        .route("/topics", get(index))
        .route("/topics.opml", get(opml_doc))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { not_found("not found") })
        .with_state(state)
}

/// After start, how long `/healthz` says "starting" (503) while no source
/// has ever polled successfully; after that, "error".
pub const STARTUP_GRACE: Duration = Duration::from_secs(300);

/// The verdict of `/healthz`.
#[derive(Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Up for less than `STARTUP_GRACE` and no source has succeeded yet.
    Starting,
    Error(String),
}

/// Healthy when the database answers and some source has polled
/// successfully at least once (ever: the time is in the database), or when
/// no source is enabled (nothing to wait for).
pub fn judge_health(
    database: Result<Option<DateTime<Utc>>, String>,
    enabled_sources: usize,
    up_for: Duration,
) -> Health {
    match database {
        Err(e) => Health::Error(format!("the database does not answer: {e}")),
        Ok(Some(_)) => Health::Ok,
        Ok(None) if enabled_sources == 0 => Health::Ok,
        Ok(None) if up_for < STARTUP_GRACE => Health::Starting,
        Ok(None) => Health::Error(format!(
            "no source has ever polled successfully ({} s since start)",
            up_for.as_secs()
        )),
    }
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let database = state.health.database();
    let last = database.as_ref().ok().copied().flatten();
    let db_ok = database.is_ok();
    let enabled = state
        .cache()
        .config
        .sources
        .iter()
        .filter(|s| s.enabled)
        .count();
    let health = judge_health(database, enabled, state.started.elapsed());
    let (status, reason) = match &health {
        Health::Ok => ("ok", None),
        Health::Starting => (
            "starting",
            Some("no source has polled successfully yet".to_string()),
        ),
        Health::Error(why) => ("error", Some(why.clone())),
    };
    let mut body = serde_json::json!({
        "status": status,
        "database": db_ok,
        "last_successful_poll_age_secs": last.map(|t| (Utc::now() - t).num_seconds().max(0)),
        "version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(reason) = reason {
        body["reason"] = serde_json::Value::String(reason);
    }
    let code = if health == Health::Ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => not_found("metrics are recorded by `newsriver run`"),
    }
}

fn not_found(msg: &'static str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{msg}\n"),
    )
        .into_response()
}

async fn topic_feed(
    State(state): State<Arc<AppState>>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let cache = state.cache();
    let Some((slug, ext)) = file.rsplit_once('.') else {
        return not_found("no such feed: use /topics/<slug>.atom, .rss or .json");
    };
    let Some(format) = Format::from_extension(ext) else {
        return not_found("unknown feed format: use .atom, .rss or .json");
    };
    match cache.feed(slug, format) {
        Some(doc) => respond(&doc, &headers),
        None if cache.config.topics.iter().any(|t| t.slug == slug) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            "this feed is not rendered yet; see the server log\n",
        )
            .into_response(),
        None => not_found("no such topic"),
    }
}

async fn index(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    respond(&state.cache().index, &headers)
}

async fn opml_doc(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    respond(&state.cache().opml, &headers)
}

/// Does `If-None-Match` (a list, weak or strong, or `*`) name this ETag?
fn etag_matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// Picks the best encoding the client accepts (q=0 excludes).
fn accepted(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';');
            let name = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            name.eq_ignore_ascii_case(coding) && q > 0.0
        })
}

fn respond(doc: &Rendered, headers: &HeaderMap) -> Response {
    let last_modified = httpdate::fmt_http_date(doc.last_modified);
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => etag_matches(inm, &doc.etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| doc.last_modified <= since),
    };
    let mut builder = Response::builder()
        .header(header::ETAG, &doc.etag)
        .header(header::LAST_MODIFIED, last_modified)
        .header(header::CACHE_CONTROL, "public, max-age=300")
        .header(header::VARY, "Accept-Encoding");
    if not_modified {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::NOT_MODIFIED.into_response());
    }
    builder = builder.header(
        header::CONTENT_TYPE,
        HeaderValue::from_static(doc.content_type),
    );
    let (body, coding) = if !doc.brotli.is_empty() && accepted(headers, "br") {
        (doc.brotli.clone(), Some("br"))
    } else if !doc.gzip.is_empty() && accepted(headers, "gzip") {
        (doc.gzip.clone(), Some("gzip"))
    } else {
        (doc.body.clone(), None)
    };
    if let Some(c) = coding {
        builder = builder.header(header::CONTENT_ENCODING, c);
    }
    builder
        .status(StatusCode::OK)
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

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
                Err(e) => health.store_failed(e),
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
pub async fn last_success(readers: &Arc<Readers>) -> Result<Option<DateTime<Utc>>, String> {
    let readers = readers.clone();
    tokio::task::spawn_blocking(move || readers.get()?.last_success())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Least time between two renderings of the feeds by `spawn_refresher`
/// (and at least three times the last one took): new stories reach the
/// cached feeds within seconds, which no feed reader polling every few
/// minutes can tell from at once.
const REFRESH_PAUSE: Duration = Duration::from_secs(2);

/// Re-renders the feeds whenever `wake` is notified (notifications while a
/// render runs, or during the pause after it, are coalesced into one more),
/// on `reader`, a read-only connection of its own: the daemon's scheduling
/// loop and the writer never wait for rendering and compression.
pub fn spawn_refresher(
    app: Arc<AppState>,
    reader: Arc<Readers>,
) -> (Arc<tokio::sync::Notify>, tokio::task::JoinHandle<()>) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let woken = wake.clone();
    let task = tokio::spawn(async move {
        loop {
            woken.notified().await;
            let started = tokio::time::Instant::now();
            refresh_blocking(&app.cache(), &reader).await;
            // Wakes that come meanwhile are kept (one `Notify` permit) and
            // served after the pause: during a cold poll, where every batch
            // changes the topics, feeds were rendered back to back — three
            // formats, gzip and brotli each time — and the daemon spent as
            // much CPU rendering as polling (BENCHMARKS.md).
            let pause = REFRESH_PAUSE.max(started.elapsed() * 3);
            tokio::time::sleep_until(started + pause).await;
        }
    });
    (wake, task)
}

// ---- connections ---------------------------------------------------------------

/// What one client may hold: a slot among `max_connections`, for at most
/// `header_timeout` before its request's headers are in, and `idle_timeout`
/// without a byte moving either way (slowloris, slow readers, idle
/// keep-alive).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Limits {
    /// From `[server]`, the cap lowered to half the open-file limit so that
    /// polling, SQLite and the log always have descriptors left.
    pub fn new(server: &crate::config::Server) -> Limits {
        let budget = open_file_limit().map_or(usize::MAX, |n| (n / 2).max(1));
        Limits {
            max_connections: server.max_connections.min(budget).max(1),
            header_timeout: Duration::from_secs(server.header_timeout_secs),
            idle_timeout: Duration::from_secs(server.idle_timeout_secs),
        }
    }
}

/// The soft limit on open files (`/proc/self/limits`; None when unknown or
/// unlimited).
fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// When a connection last moved a byte (milliseconds since `base`).
struct Activity {
    base: std::time::Instant,
    last_ms: std::sync::atomic::AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            base: std::time::Instant::now(),
            last_ms: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.base.elapsed().as_millis() as u64;
        self.last_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = self.last_ms.load(std::sync::atomic::Ordering::Relaxed);
        self.base
            .elapsed()
            .saturating_sub(Duration::from_millis(last))
    }
}

/// A TCP stream that records when bytes move.
struct Tracked {
    inner: tokio::net::TcpStream,
    activity: Arc<Activity>,
}

impl tokio::io::AsyncRead for Tracked {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl tokio::io::AsyncWrite for Tracked {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` (HTTP/1.1) until `shutdown` resolves, then
/// lets open requests finish (callers bound that wait). Replaces
/// `axum::serve`, which has no header-read or idle timeout and no cap: a
/// thousand idle connections took every descriptor the process had.
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_warning: Option<std::time::Instant> = None;
    let mut warn = |what: &str, error: Option<&std::io::Error>| {
        // At most one line every 10 s: a flood must not flood the log.
        if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
            last_warning = Some(std::time::Instant::now());
            match error {
                Some(e) => {
                    tracing::warn!(error = %e, max_connections = limits.max_connections, "{what}")
                }
                None => tracing::warn!(max_connections = limits.max_connections, "{what}"),
            }
        }
    };
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors (EMFILE) and the like: pause
                    // instead of spinning on the error.
                    warn("cannot accept a connection", Some(&e));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // At the cap: closed at once, so its descriptor is free again.
            metrics::counter!("newsriver_http_connections_refused_total").increment(1);
            warn("connection limit reached; closing new connections", None);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_one(
            stream,
            router.clone(),
            limits,
            stop_rx.clone(),
            slot,
        ));
    }
    let _ = stop_tx.send(true);
    // Every slot back: every connection has finished.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

async fn serve_one(
    stream: tokio::net::TcpStream,
    router: Router,
    limits: Limits,
    mut stop: tokio::sync::watch::Receiver<bool>,
    _slot: tokio::sync::OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = hyper_util::rt::TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    let check = (limits.idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut tick = tokio::time::interval(check);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            changed = stop.changed(), if !stopping => {
                let _ = changed;
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                if activity.idle_for() >= limits.idle_timeout {
                    // Dropping the connection closes the socket.
                    break;
                }
            }
        }
    }
}

type RenderJob = Box<dyn FnOnce() + Send>;

/// Runs `job` on the one thread that renders feeds, started on first use.
/// One thread, not whichever blocking thread is free: a render allocates
/// tens of megabytes (every copy of 50 stories, three formats, gzip and
/// brotli) and glibc keeps what a thread freed in that thread's arena, so
/// renders spread over the blocking pool left ~20 MB behind in a new arena
/// each time (peak RSS of `run` during a cold poll 107 → 161 MB over three
/// renders; BENCHMARKS.md). On one thread each render reuses the last one's.
async fn on_render_thread<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    static RENDERER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<RenderJob>>> =
        std::sync::OnceLock::new();
    let sender = RENDERER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<RenderJob>();
        std::thread::Builder::new()
            .name("newsriver-render".into())
            .spawn(move || {
                for job in rx {
                    // A panic is the job's (its reply is dropped: the
                    // caller sees an error); the thread renders on.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .ok()
            .map(|_| tx)
    });
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: RenderJob = Box::new(move || {
        let _ = reply.send(job());
    });
    match sender {
        Some(tx) => {
            tx.send(job)
                .map_err(|_| "the render thread is gone".to_string())?;
            answer
                .await
                .map_err(|_| "feed rendering crashed".to_string())
        }
        // No thread could be started: the blocking pool will do.
        None => {
            tokio::task::spawn_blocking(job)
                .await
                .map_err(|e| e.to_string())?;
            answer
                .await
                .map_err(|_| "feed rendering crashed".to_string())
        }
    }
}

/// Runs `FeedCache::refresh` on the render thread and logs what it did.
pub async fn refresh_blocking(cache: &Arc<FeedCache>, readers: &Arc<Readers>) {
    let (cache, readers) = (cache.clone(), readers.clone());
    let started = std::time::Instant::now();
    let result = on_render_thread(move || cache.refresh(&*readers.get()?)).await;
    match result {
        Ok(Ok(done)) if !done.is_empty() => {
            tracing::info!(topics = ?done, ms = started.elapsed().as_millis() as u64, "feeds rendered")
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot render feeds"),
        Err(e) => tracing::error!(error = %e, "feed rendering crashed"),
        _ => {}
    }
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
