//! The rendered-feed cache: each topic's three formats rendered (on one
//! render thread) only when the topic's version moved, precompressed, and
//! written to `[server].output_dir`; the index page and OPML.

use super::*;

/// Least time between two renderings of the feeds by `spawn_refresher`
/// (and at least three times the last one took): new stories reach the
/// cached feeds within seconds, which no feed reader polling every few
/// minutes can tell from at once.
pub(super) const REFRESH_PAUSE: Duration = Duration::from_secs(2);

/// One rendered document with its validators and precompressed forms.
pub struct Rendered {
    pub content_type: &'static str,
    // `Bytes`: a response shares the cached buffer instead of copying it.
    pub body: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    /// One ETag per representation: `"<hash>"` for `body`, `"<hash>-gz"`
    /// for `gzip`, `"<hash>-br"` for `brotli`.
    pub etag: String,
    pub etag_gzip: String,
    pub etag_brotli: String,
    pub last_modified: SystemTime,
}

impl Rendered {
    fn new(content_type: &'static str, body: Vec<u8>, modified: DateTime<Utc>) -> Rendered {
        let hash = blake3::hash(&body).to_hex();
        let hash = &hash[..24];
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
            etag: format!("\"{hash}\""),
            etag_gzip: format!("\"{hash}-gz\""),
            etag_brotli: format!("\"{hash}-br\""),
            last_modified: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }
}

#[derive(Default)]
pub(super) struct Cached {
    /// `topics.changed_at` the feeds were rendered at.
    version: i64,
    feeds: HashMap<Format, Arc<Rendered>>,
}

/// Rendered topic feeds, the index page and the OPML, shared by handlers.
pub struct FeedCache {
    pub(super) config: Config,
    normalizer: Normalizer,
    topics: RwLock<HashMap<String, Cached>>,
    pub(super) index: Arc<Rendered>,
    pub(super) opml: Arc<Rendered>,
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

pub(super) fn esc(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

pub(super) fn index_html(config: &Config) -> String {
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

pub(super) fn opml(config: &Config) -> String {
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

/// How often the refresher asks whether another process committed to the
/// database (`Watch`): a `newsriver poll` beside the daemon reaches its
/// feeds within this, plus one render.
pub(super) const WATCH_EVERY: Duration = REFRESH_PAUSE;

/// A read-only connection of the refresher's own, asked only for `PRAGMA
/// data_version` (one pragma per `WATCH_EVERY` when nothing changed). The
/// value moves on any other connection's commit: the daemon's own writer,
/// and other processes' (`poll`, `sources remove --purge`), which the
/// daemon hears of no other way. Values are compared on this one
/// connection only, so it is kept apart from the `Readers` pool.
struct Watch {
    path: std::path::PathBuf,
    reader: Option<Reader>,
    seen: Option<i64>,
}

impl Watch {
    fn new(path: std::path::PathBuf) -> Watch {
        Watch {
            path,
            reader: None,
            seen: None,
        }
    }

    /// Whether something was committed since the last look (also the first
    /// look, and the first after the database could not be read).
    fn changed(&mut self) -> bool {
        let reader = match self.reader.take() {
            Some(r) => r,
            None => match Reader::open(&self.path) {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot open the database to watch it");
                    self.seen = None;
                    return false;
                }
            },
        };
        match reader.data_version() {
            Ok(version) => {
                let changed = self.seen != Some(version);
                self.seen = Some(version);
                self.reader = Some(reader);
                changed
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot ask the database for its data version");
                self.seen = None;
                false
            }
        }
    }
}

/// Re-renders the feeds whenever `wake` is notified (notifications while a
/// render runs, or during the pause after it, are coalesced into one more),
/// and when another connection committed to the database (`Watch`, looked
/// at every `WATCH_EVERY`), on `reader`, a read-only connection of its own:
/// the daemon's scheduling loop and the writer never wait for rendering and
/// compression.
pub fn spawn_refresher(
    app: Arc<AppState>,
    reader: Arc<Readers>,
) -> (Arc<tokio::sync::Notify>, tokio::task::JoinHandle<()>) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let woken = wake.clone();
    let path = app.cache().config.storage.path.clone();
    let task = tokio::spawn(async move {
        let mut watch = Some(Watch::new(path.clone()));
        // The feeds were rendered before this starts: the first look waits.
        let mut look =
            tokio::time::interval_at(tokio::time::Instant::now() + WATCH_EVERY, WATCH_EVERY);
        look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = woken.notified() => {}
                _ = look.tick() => {
                    // On the render thread, which owns the watching
                    // connection between looks (it comes back with the answer).
                    let mut w = watch.take().unwrap_or_else(|| Watch::new(path.clone()));
                    match on_render_thread(move || {
                        let changed = w.changed();
                        (w, changed)
                    })
                    .await
                    {
                        Ok((w, true)) => watch = Some(w),
                        Ok((w, false)) => {
                            watch = Some(w);
                            continue;
                        }
                        Err(_) => continue,
                    }
                }
            }
            let started = tokio::time::Instant::now();
            if refresh_blocking(&app.cache(), &reader).await == 0 {
                // Nothing rendered (a commit that moved no topic, this
                // daemon's own already rendered): no pause owed.
                continue;
            }
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

pub(super) type RenderJob = Box<dyn FnOnce() + Send>;

/// Runs `job` on the one thread that renders feeds, started on first use.
/// One thread, not whichever blocking thread is free: a render allocates
/// tens of megabytes (every copy of 50 stories, three formats, gzip and
/// brotli) and glibc keeps what a thread freed in that thread's arena, so
/// renders spread over the blocking pool left ~20 MB behind in a new arena
/// each time (peak RSS of `run` during a cold poll 107 → 161 MB over three
/// renders; BENCHMARKS.md). On one thread each render reuses the last one's.
pub(super) async fn on_render_thread<T: Send + 'static>(
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

/// Runs `FeedCache::refresh` on the render thread and logs what it did;
/// how many topics were rendered.
pub async fn refresh_blocking(cache: &Arc<FeedCache>, readers: &Arc<Readers>) -> usize {
    let (cache, readers) = (cache.clone(), readers.clone());
    let started = std::time::Instant::now();
    let result = on_render_thread(move || cache.refresh(&*readers.get()?)).await;
    match result {
        Ok(Ok(done)) if !done.is_empty() => {
            tracing::info!(topics = ?done, ms = started.elapsed().as_millis() as u64, "feeds rendered");
            done.len()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot render feeds");
            0
        }
        Err(e) => {
            tracing::error!(error = %e, "feed rendering crashed");
            0
        }
        _ => 0,
    }
}
