//! The rendered-feed cache: each topic's three formats and its reader page
//! rendered (on one render thread) only when the topic's version moved,
//! precompressed, and written to `[server].output_dir`; the index page and
//! OPML. A topic's older pages (`?before=`) are rendered on the same
//! thread when asked for, and kept while the topic does not change.

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
    /// The `Cache-Control` it is served with.
    pub cache_control: &'static str,
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
            cache_control: "public, max-age=300",
        }
    }

    /// A reader page: HTML, kept a minute by browsers (then revalidated
    /// with its ETag).
    pub(super) fn page(body: Vec<u8>, modified: DateTime<Utc>) -> Rendered {
        Rendered {
            cache_control: "public, max-age=60",
            ..Rendered::new(HTML, body, modified)
        }
    }
}

pub(super) const HTML: &str = "text/html; charset=utf-8";

/// An older page: its topic's slug and where it starts.
type OlderKey = (String, TopicCursor);

/// Older pages of topics kept at most (any topic): each a few tens of KB.
const OLDER_PAGES_KEPT: usize = 256;

#[derive(Default)]
pub(super) struct Cached {
    /// `topics.changed_at` the feeds were rendered at.
    version: i64,
    feeds: HashMap<Format, Arc<Rendered>>,
    /// The reader page's newest page.
    page: Option<Arc<Rendered>>,
    /// The language its feeds and page are in (older pages keep it).
    lang: Option<Lang>,
    /// Its stories (the index's and its page's count).
    count: u64,
}

/// Rendered topic feeds and pages, the index page and the OPML, shared by
/// handlers.
pub struct FeedCache {
    pub(super) config: Config,
    normalizer: Normalizer,
    topics: RwLock<HashMap<String, Cached>>,
    /// The index at `/` and at `/topics/` (relative links differ).
    index: RwLock<[Arc<Rendered>; 2]>,
    pub(super) opml: Arc<Rendered>,
    /// Older pages asked for: (slug, cursor) → (topic version, page).
    older: Mutex<HashMap<OlderKey, (i64, Arc<Rendered>)>>,
    /// Older pages rendered or waiting for the render thread at once: a
    /// crawler following every `?before=` does not delay the feeds.
    older_jobs: tokio::sync::Semaphore,
    /// The connections the cache was last refreshed from, for older pages.
    readers: RwLock<Option<Arc<Readers>>>,
}

impl FeedCache {
    pub fn new(config: &Config) -> FeedCache {
        let now = Utc::now();
        let index = |at| Arc::new(Rendered::page(index_page(config, &HashMap::new(), at), now));
        FeedCache {
            index: RwLock::new([index(IndexAt::Root), index(IndexAt::Topics)]),
            opml: Arc::new(Rendered::new(
                "text/x-opml; charset=utf-8",
                opml(config).into_bytes(),
                now,
            )),
            config: config.clone(),
            normalizer: Normalizer::new(&config.normalize),
            topics: RwLock::new(HashMap::new()),
            older: Mutex::new(HashMap::new()),
            older_jobs: tokio::sync::Semaphore::new(2),
            readers: RwLock::new(None),
        }
    }

    /// Re-renders the topics whose feeds changed since the last refresh and
    /// writes them to `output_dir`. Returns the slugs re-rendered.
    pub fn refresh(&self, store: &Reader) -> crate::store::Result<Vec<String>> {
        let versions: HashMap<String, i64> = store.topic_versions()?.into_iter().collect();
        let mut done = Vec::new();
        // Read once, when a topic changed.
        let mut counts: Option<HashMap<String, i64>> = None;
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
            // The entries once, for the three formats.
            let mut entries = None;
            for format in Format::ALL {
                let started = std::time::Instant::now();
                // One topic's failure must not stop the others: a panic in a
                // writer on one story's data is that topic's error, and its
                // readers keep the feeds rendered before (or a 503).
                let render = || {
                    let entries = entries.get_or_insert_with(|| feed.entries(&self.normalizer));
                    feed.render_entries(entries, format)
                };
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
            let counts = match &mut counts {
                Some(c) => c,
                None => counts.insert(store.topic_counts()?),
            };
            let count = counts.get(&topic.slug).copied().unwrap_or(0).max(0) as u64;
            let page = self.first_page(&feed, count, entries);
            let mut cache = self.write();
            let page = page.or_else(|| cache.get(&topic.slug).and_then(|c| c.page.clone()));
            cache.insert(
                topic.slug.clone(),
                Cached {
                    version,
                    feeds,
                    page,
                    lang: Some(feed.lang),
                    count,
                },
            );
            drop(cache);
            done.push(topic.slug.clone());
        }
        if !done.is_empty() {
            self.refresh_index();
        }
        if let Some(dir) = &self.config.server.output_dir
            && !done.is_empty()
        {
            let [root, topics] = self.index.read().unwrap_or_else(|e| e.into_inner()).clone();
            for (name, doc) in [
                ("index.html", &root),
                ("topics/index.html", &topics),
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

    /// A topic's reader page (its newest stories).
    pub fn page(&self, slug: &str) -> Option<Arc<Rendered>> {
        self.read().get(slug)?.page.clone()
    }

    /// The index page served at `at`.
    pub fn index(&self, at: IndexAt) -> Arc<Rendered> {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        match at {
            IndexAt::Root => index[0].clone(),
            IndexAt::Topics => index[1].clone(),
        }
    }

    /// The language of pages that belong to no topic (the index, a page
    /// not found): `[server] language`, else the one most topics are in.
    pub fn site_lang(&self) -> Lang {
        site_lang(&self.config, &self.read())
    }

    /// The newest page of `feed`'s topic, written to `output_dir` too;
    /// None (logged) when it cannot be rendered.
    fn first_page(
        &self,
        feed: &crate::pipeline::TopicFeed<'_>,
        count: u64,
        entries: Option<Vec<crate::publish::Entry<'_>>>,
    ) -> Option<Arc<Rendered>> {
        let slug = feed.meta().slug;
        let older = (count > feed.stories.len() as u64)
            .then(|| feed.stories.last().map(TopicCursor::after))
            .flatten();
        let body = self.river(feed, count, older, true, entries)?;
        let rendered = Rendered::page(body, feed.updated);
        if let Some(dir) = &self.config.server.output_dir {
            let name = format!("topics/{slug}/index.html");
            for (path, bytes) in [
                (dir.join(&name), &rendered.body),
                (dir.join(format!("{name}.gz")), &rendered.gzip),
            ] {
                if let Err(e) = crate::atomic_file::write(&path, bytes) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write page file");
                }
            }
        }
        Some(Arc::new(rendered))
    }

    /// A page of `feed`'s stories; None (logged) when it cannot be rendered.
    fn river(
        &self,
        feed: &crate::pipeline::TopicFeed<'_>,
        count: u64,
        older: Option<TopicCursor>,
        first: bool,
        entries: Option<Vec<crate::publish::Entry<'_>>>,
    ) -> Option<Vec<u8>> {
        let meta = feed.meta();
        let clock = self.clock();
        let render = || {
            // The feeds' entries when the caller has them (a refresh).
            let items = match entries {
                Some(entries) => crate::page::items_of(entries),
                None => crate::page::items(&meta, &feed.stories, &self.normalizer),
            };
            let river = crate::page::River {
                meta: &meta,
                items: &items,
                count,
                older,
                first,
            };
            crate::page::river(&river, clock)
        };
        let started = std::time::Instant::now();
        let why = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(render)) {
            Ok(Ok(body)) => {
                metrics::histogram!("newsriver_page_render_seconds")
                    .record(started.elapsed().as_secs_f64());
                return Some(body);
            }
            Ok(Err(e)) => e.to_string(),
            Err(panic) => panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default(),
        };
        tracing::error!(topic = %meta.slug, error = %why, "cannot render this topic's page; its previous page is kept");
        metrics::counter!("newsriver_page_render_failures_total").increment(1);
        None
    }

    fn clock(&self) -> crate::page::Clock {
        crate::page::Clock {
            tz: self.config.server.timezone,
            now: Utc::now(),
        }
    }

    /// Renders the index again from what the cache knows of each topic.
    fn refresh_index(&self) {
        let topics = self.read();
        let modified = topics
            .values()
            .map(|c| c.version)
            .max()
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or_else(Utc::now);
        let index = |at| {
            Arc::new(Rendered::page(
                index_page(&self.config, &topics, at),
                modified,
            ))
        };
        let fresh = [index(IndexAt::Root), index(IndexAt::Topics)];
        drop(topics);
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    /// The connections older pages are read on (`refresh_blocking`'s).
    pub(super) fn remember_readers(&self, readers: &Arc<Readers>) {
        *self.readers.write().unwrap_or_else(|e| e.into_inner()) = Some(readers.clone());
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Cached>> {
        self.topics.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Cached>> {
        self.topics.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The language of pages no topic owns: `[server] language`, else the one
/// most topics' pages are in (ties: the first of `Lang::ALL`).
fn site_lang(config: &Config, topics: &HashMap<String, Cached>) -> Lang {
    if let Some(lang) = config.server.language {
        return lang;
    }
    let mut counts = [0usize; 3];
    for t in &config.topics {
        let lang = t
            .language
            .or_else(|| topics.get(&t.slug).and_then(|c| c.lang));
        if let Some(i) = lang.and_then(|l| Lang::ALL.iter().position(|x| *x == l)) {
            counts[i] += 1;
        }
    }
    let best = (1..3).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
    Lang::ALL[best]
}

/// The index page: every topic with its count, last change and feeds.
pub(super) fn index_page(
    config: &Config,
    topics: &HashMap<String, Cached>,
    at: IndexAt,
) -> Vec<u8> {
    let lang = site_lang(config, topics);
    let lines: Vec<TopicLine<'_>> = config
        .topics
        .iter()
        .map(|t| {
            let cached = topics.get(&t.slug);
            TopicLine {
                slug: &t.slug,
                title: &t.title,
                lang: t
                    .language(&config.server)
                    .or_else(|| cached.and_then(|c| c.lang))
                    .unwrap_or(lang),
                stories: cached.map_or(0, |c| c.count),
                updated: cached
                    .filter(|c| c.count > 0)
                    .and_then(|c| DateTime::from_timestamp_millis(c.version)),
            }
        })
        .collect();
    let clock = crate::page::Clock {
        tz: config.server.timezone,
        now: Utc::now(),
    };
    crate::page::index(lang, &lines, at, clock).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot render the index page");
        Vec::new()
    })
}

/// A topic's older page: read and rendered on the render thread unless the
/// same page of the same version of the topic was already.
pub(super) async fn older_page(
    cache: Arc<FeedCache>,
    slug: &str,
    before: TopicCursor,
) -> Result<Arc<Rendered>, String> {
    let (version, lang, count) = match cache.read().get(slug) {
        Some(c) => (c.version, c.lang, c.count),
        None => return Err("this topic is not rendered yet".into()),
    };
    let key = (slug.to_string(), before);
    let kept = |cache: &FeedCache| {
        let older = cache.older.lock().unwrap_or_else(|e| e.into_inner());
        older
            .get(&key)
            .filter(|(v, _)| *v == version)
            .map(|(_, doc)| doc.clone())
    };
    if let Some(doc) = kept(&cache) {
        return Ok(doc);
    }
    let _permit = tokio::time::timeout(Duration::from_secs(10), cache.older_jobs.acquire())
        .await
        .map_err(|_| "too many older pages asked for at once".to_string())?
        .map_err(|e| e.to_string())?;
    // Another request may have rendered it meanwhile.
    if let Some(doc) = kept(&cache) {
        return Ok(doc);
    }
    let readers = cache
        .readers
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or("no database connection yet")?;
    let job_cache = cache.clone();
    let (slug, before) = (key.0.clone(), key.1.clone());
    let doc = on_render_thread(move || -> Result<Arc<Rendered>, String> {
        let cache = job_cache;
        let topic = cache
            .config
            .topics
            .iter()
            .find(|t| t.slug == slug)
            .ok_or("no such topic")?;
        let limit = cache.config.server.items_per_feed;
        let reader = readers.get().map_err(|e| e.to_string())?;
        let mut feed = crate::pipeline::TopicFeed::load_page(
            &reader,
            &cache.config,
            topic,
            limit + 1,
            Some(&before),
            Some(version),
        )
        .map_err(|e| e.to_string())?;
        drop(reader);
        // The language of the newest page, whatever these stories say.
        if let Some(lang) = lang {
            feed.lang = lang;
            feed.script = topic.script.unwrap_or(lang.script());
        }
        let older = (feed.stories.len() > limit).then(|| {
            feed.stories.truncate(limit);
            feed.stories.last().map(TopicCursor::after)
        });
        let body = cache
            .river(&feed, count, older.flatten(), false, None)
            .ok_or("cannot render this page")?;
        Ok(Arc::new(Rendered::page(body, feed.updated)))
    })
    .await??;
    let mut older = cache.older.lock().unwrap_or_else(|e| e.into_inner());
    if older.len() >= OLDER_PAGES_KEPT {
        // Simplest bound: start again (a page is one render away).
        older.clear();
    }
    older.insert(key, (version, doc.clone()));
    Ok(doc)
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
    at: crate::store::Location,
    reader: Option<Reader>,
    seen: Option<i64>,
}

impl Watch {
    fn new(at: crate::store::Location) -> Watch {
        Watch {
            at,
            reader: None,
            seen: None,
        }
    }

    /// Whether something was committed since the last look (also the first
    /// look, and the first after the database could not be read).
    fn changed(&mut self) -> bool {
        let reader = match self.reader.take() {
            Some(r) => r,
            None => match Reader::open_at(&self.at) {
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
    let at = crate::pipeline::location(&app.cache().config);
    let task = tokio::spawn(async move {
        let mut watch = Some(Watch::new(at.clone()));
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
                    let mut w = watch.take().unwrap_or_else(|| Watch::new(at.clone()));
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
    cache.remember_readers(readers);
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
