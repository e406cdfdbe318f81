//! The router and its handlers: feeds and reader pages from the cache with
//! ETag/304 and precompressed bodies, the index, OPML, `/healthz`,
//! `/metrics`.

use super::*;

/// What the handlers share: the current feed cache (swapped on reload),
/// the health the daemon reports for `/healthz`, and the metrics registry
/// for `/metrics`. No database: a handler never waits for SQLite.
pub struct AppState {
    cache: RwLock<Arc<FeedCache>>,
    health: RwLock<Arc<HealthState>>,
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
            health: RwLock::new(health),
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

    pub fn health(&self) -> Arc<HealthState> {
        self.health
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// After the database file was replaced: what the new one says.
    pub fn set_health(&self, health: Arc<HealthState>) {
        *self.health.write().unwrap_or_else(|e| e.into_inner()) = health;
    }
}

/// The router: `/` and `/topics/` (the index page), `/topics/{slug}/` (a
/// topic's page, `?before=` older ones), `/topics/{slug}.{atom,rss,json}`,
/// `/topics.opml`, `/healthz`, `/metrics` (when metrics are recorded).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(root_index))
        .route("/topics/{file}", get(topic_feed))
        .route("/topics/{slug}/", get(topic_page))
        .route("/topics/", get(index))
        .route("/topics", get(|| async { redirect("topics/") }))
        .route("/topics.opml", get(opml_doc))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { not_found("not found") })
        .with_state(state)
}

pub(super) async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let tracker = state.health();
    let database = tracker.database();
    let last = database.as_ref().ok().copied().flatten();
    let db_ok = database.is_ok();
    let enabled = state
        .cache()
        .config
        .sources
        .iter()
        .filter(|s| s.enabled)
        .count();
    let health = tracker.with_stalls(judge_health(database, enabled, state.started.elapsed()));
    let (status, reason) = match &health {
        Health::Ok => ("ok", None),
        Health::Starting => (
            "starting",
            Some("no source has polled successfully yet".to_string()),
        ),
        Health::Degraded(why) => ("degraded", Some(why.clone())),
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

pub(super) async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            without_removed_sources(&handle.render(), &state.cache().config),
        )
            .into_response(),
        None => not_found("metrics are recorded by `newsriver run`"),
    }
}

/// The exposition without the series of sources no longer configured: the
/// recorder cannot forget a series (metrics-rs/metrics#243), so a source
/// removed by a reload would otherwise be reported until a restart.
fn without_removed_sources(text: &str, config: &crate::config::Config) -> String {
    const LABEL: &str = "source=\"";
    let configured: std::collections::HashSet<&str> =
        config.sources.iter().map(|s| s.id.0.as_str()).collect();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let removed = !line.starts_with('#')
            && line.find(LABEL).is_some_and(|at| {
                let value = &line[at + LABEL.len()..];
                // Ids are `[a-z0-9-]`: the value needs no unescaping.
                let id = value.split('"').next().unwrap_or("");
                !configured.contains(id)
            });
        if !removed {
            out.push_str(line);
        }
    }
    out
}

pub(super) fn not_found(msg: &'static str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{msg}\n"),
    )
        .into_response()
}

pub(super) async fn topic_feed(
    State(state): State<Arc<AppState>>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let cache = state.cache();
    let Some((slug, ext)) = file.rsplit_once('.') else {
        // A topic's page without its slash: where its links lead from.
        if cache.config.topics.iter().any(|t| t.slug == file) {
            return redirect(&format!("{file}/"));
        }
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

pub(super) async fn root_index(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    respond(&state.cache().index(IndexAt::Root), &headers)
}

pub(super) async fn index(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    respond(&state.cache().index(IndexAt::Topics), &headers)
}

/// A topic's reader page: the newest stories from the cache, or the page
/// after `?before=<cursor>`, rendered on the render thread and kept while
/// the topic does not change. A `before` that is no cursor is a 400 page.
pub(super) async fn topic_page(
    State(state): State<Arc<AppState>>,
    UrlPath(slug): UrlPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let cache = state.cache();
    if !cache.config.topics.iter().any(|t| t.slug == slug) {
        return error_page(
            &cache,
            crate::page::Problem::NoSuchTopic,
            StatusCode::NOT_FOUND,
        );
    }
    let before = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "before")
            .map(|(_, v)| v.parse::<TopicCursor>())
    });
    let doc = match before {
        None => cache
            .page(&slug)
            .ok_or_else(|| "not rendered yet".to_string()),
        Some(Ok(before)) => older_page(cache.clone(), &slug, before).await,
        Some(Err(_)) => {
            return error_page(
                &cache,
                crate::page::Problem::BadPageLink,
                StatusCode::BAD_REQUEST,
            );
        }
    };
    match doc {
        Ok(doc) => respond(&doc, &headers),
        Err(why) => {
            tracing::warn!(topic = %slug, error = %why, "cannot serve this topic's page");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "30")],
                "this page is not rendered yet; see the server log\n",
            )
                .into_response()
        }
    }
}

/// An error page under `/topics/<slug>/`, in the site's language.
fn error_page(cache: &FeedCache, problem: crate::page::Problem, status: StatusCode) -> Response {
    let body = crate::page::error(cache.site_lang(), problem, 2).unwrap_or_default();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, HTML)
        .header(header::CONTENT_SECURITY_POLICY, PAGE_POLICY)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(body))
        .unwrap_or_else(|_| status.into_response())
}

/// A permanent redirect to `to`, relative to the request's path (so that
/// it holds behind a proxy that serves newsriver under a prefix).
fn redirect(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::MOVED_PERMANENTLY)
        .header(header::LOCATION, to)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::MOVED_PERMANENTLY.into_response())
}

/// What a reader page may load: nothing but its own inline style and its
/// empty icon; no script, no frame, no form, nowhere else.
pub(super) const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(super) async fn opml_doc(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    respond(&state.cache().opml, &headers)
}

/// Does `If-None-Match` (a list, weak or strong, or `*`) name this ETag?
/// Weak comparison (RFC 9110 §13.1.2): `W/` is ignored on both sides.
pub(super) fn etag_matches(header: &str, etag: &str) -> bool {
    let etag = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// Picks the best encoding the client accepts (q=0 excludes).
pub(super) fn accepted(headers: &HeaderMap, coding: &str) -> bool {
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

/// The answer for `doc`: the representation the client accepts (brotli,
/// gzip or identity), with that representation's own ETag (RFC 9110
/// §8.8.3: one per content-coding, else a cache could answer a client
/// with a coding it did not ask for); `If-None-Match` is compared with the
/// tag of the representation that would be sent.
pub(super) fn respond(doc: &Rendered, headers: &HeaderMap) -> Response {
    let (body, coding, etag) = if !doc.brotli.is_empty() && accepted(headers, "br") {
        (&doc.brotli, Some("br"), &doc.etag_brotli)
    } else if !doc.gzip.is_empty() && accepted(headers, "gzip") {
        (&doc.gzip, Some("gzip"), &doc.etag_gzip)
    } else {
        (&doc.body, None, &doc.etag)
    };
    let last_modified = httpdate::fmt_http_date(doc.last_modified);
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => etag_matches(inm, etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| doc.last_modified <= since),
    };
    let mut builder = Response::builder()
        .header(header::ETAG, etag)
        .header(header::LAST_MODIFIED, last_modified)
        .header(header::CACHE_CONTROL, doc.cache_control)
        .header(header::VARY, "Accept-Encoding");
    if doc.content_type == HTML {
        builder = builder
            .header(header::CONTENT_SECURITY_POLICY, PAGE_POLICY)
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    }
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
    if let Some(c) = coding {
        builder = builder.header(header::CONTENT_ENCODING, c);
    }
    builder
        .status(StatusCode::OK)
        .body(Body::from(body.clone()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_of_removed_sources_are_left_out() {
        let config = crate::config::Config::from_str_at(
            "[[source]]\nid = \"kept\"\nurl = \"https://a.example/feed\"\n",
            std::path::Path::new("config.toml"),
        )
        .expect("config");
        let text = "# TYPE newsriver_polls_total counter\n\
                    newsriver_polls_total{source=\"kept\",outcome=\"ok\"} 3\n\
                    newsriver_polls_total{source=\"gone\",outcome=\"ok\"} 2\n\
                    newsriver_sources_in_backoff 0\n";
        assert_eq!(
            without_removed_sources(text, &config),
            "# TYPE newsriver_polls_total counter\n\
             newsriver_polls_total{source=\"kept\",outcome=\"ok\"} 3\n\
             newsriver_sources_in_backoff 0\n"
        );
    }
}
