//! Shared by the integration tests: a hand-written HTTP/1.1 server on
//! 127.0.0.1 whose answers each test controls byte for byte, a temp folder
//! with a `config.toml`, a runner for the real `newsriver` binary, and
//! read-only access to the SQLite file it writes.

pub use newsriver::store::body::Parts;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---- the test HTTP server ----------------------------------------------------

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn accepts_gzip(&self) -> bool {
        self.header("accept-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("gzip"))
    }
}

/// What the server answers.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before sending anything (for the timeout test).
    pub delay: Duration,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// 200 with a body and a Content-Type.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response::new(200)
            .header("Content-Type", content_type)
            .body(body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    pub fn delay(mut self, d: Duration) -> Response {
        self.delay = d;
        self
    }

    /// The body gzip-compressed, with `Content-Encoding: gzip`.
    pub fn gzipped(mut self) -> Response {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&self.body).unwrap();
        self.body = enc.finish().unwrap();
        self.header("Content-Encoding", "gzip")
    }
}

type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// An HTTP/1.1 server on 127.0.0.1:0 running on its own thread and runtime.
/// Routes are exact paths; anything else is a 404. One request per
/// connection (`Connection: close`).
pub struct TestServer {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Handler>>>,
    log: Arc<Mutex<Vec<Request>>>,
    /// Requests being answered now, and the most at once.
    busy: Arc<Busy>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_at("127.0.0.1")
    }

    /// `start` on another loopback address (127.0.0.2, …): another feed
    /// host as far as politeness and host leases go.
    pub fn start_at(ip: &'static str) -> TestServer {
        let routes: Arc<Mutex<HashMap<String, Handler>>> = Arc::default();
        let log: Arc<Mutex<Vec<Request>>> = Arc::default();
        let busy: Arc<Busy> = Arc::default();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = {
            let routes = routes.clone();
            let log = log.clone();
            let busy = busy.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
                    addr_tx.send(listener.local_addr().unwrap()).unwrap();
                    loop {
                        tokio::select! {
                            _ = &mut stop_rx => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let routes = routes.clone();
                                let log = log.clone();
                                let busy = busy.clone();
                                tokio::spawn(async move {
                                    let _ = serve_one(stream, routes, log, busy).await;
                                });
                            }
                        }
                    }
                });
                // Dropping the runtime cancels connections still sleeping.
            })
        };
        let addr = addr_rx.recv().unwrap();
        TestServer {
            addr,
            routes,
            log,
            busy,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Answers `path` with `handler`.
    pub fn route(
        &self,
        path: &str,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), Arc::new(handler));
    }

    /// Answers `path` with the same response every time.
    pub fn fixed(&self, path: &str, response: Response) {
        self.route(path, move |_| response.clone());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The most requests this server was answering at one moment.
    pub fn max_in_flight(&self) -> usize {
        self.busy.max.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Requests received for `path`, in order.
    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Requests being answered, and the most at once (`max_in_flight`).
#[derive(Default)]
struct Busy {
    now: std::sync::atomic::AtomicUsize,
    max: std::sync::atomic::AtomicUsize,
}

/// One request counted in `Busy` while it is answered.
struct Answering(Arc<Busy>);

impl Answering {
    fn new(busy: Arc<Busy>) -> Answering {
        use std::sync::atomic::Ordering::SeqCst;
        let now = busy.now.fetch_add(1, SeqCst) + 1;
        busy.max.fetch_max(now, SeqCst);
        Answering(busy)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn serve_one(
    mut stream: tokio::net::TcpStream,
    routes: Arc<Mutex<HashMap<String, Handler>>>,
    log: Arc<Mutex<Vec<Request>>>,
    busy: Arc<Busy>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let req = Request {
        method,
        path,
        headers,
    };
    log.lock().unwrap().push(req.clone());
    let _answering = Answering::new(busy);
    let handler = routes.lock().unwrap().get(&req.path).cloned();
    let resp = match handler {
        Some(h) => h(&req),
        None => Response::new(404)
            .header("Content-Type", "text/plain")
            .body("no such path"),
    };
    if !resp.delay.is_zero() {
        tokio::time::sleep(resp.delay).await;
    }
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    let bodiless = resp.status == 304 || resp.status == 204;
    if !bodiless {
        out.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    stream.write_all(out.as_bytes()).await?;
    if !bodiless && req.method != "HEAD" {
        stream.write_all(&resp.body).await?;
    }
    stream.flush().await?;
    let _ = stream.shutdown().await;
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

// ---- encodings ---------------------------------------------------------------

pub fn gbk(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(s);
    assert!(!unmappable, "not encodable as GBK: {s}");
    bytes.into_owned()
}

pub fn gb18030(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(s);
    assert!(!unmappable, "not encodable as GB18030: {s}");
    bytes.into_owned()
}

pub fn with_utf8_bom(s: &str) -> Vec<u8> {
    let mut v = vec![0xEF, 0xBB, 0xBF];
    v.extend_from_slice(s.as_bytes());
    v
}

pub const RSS_TYPE: &str = "application/rss+xml";
pub const ATOM_TYPE: &str = "application/atom+xml";
pub const JSON_TYPE: &str = "application/feed+json";

// ---- fixture builders ----------------------------------------------------------

/// One RSS 2.0 `<item>`; `None` fields are left out.
#[derive(Clone, Debug, Default)]
pub struct Item<'a> {
    pub guid: Option<&'a str>,
    pub link: Option<&'a str>,
    pub title: Option<&'a str>,
    /// Put inside CDATA as given.
    pub description: Option<&'a str>,
    pub pub_date: Option<&'a str>,
}

pub fn rss2(channel_title: &str, items: &[Item<'_>]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>{channel_title}</title><link>https://example.org/</link>\
         <description>test</description><language>zh-CN</language>\n"
    );
    for it in items {
        s.push_str("<item>");
        if let Some(g) = it.guid {
            s.push_str(&format!("<guid isPermaLink=\"false\">{g}</guid>"));
        }
        if let Some(l) = it.link {
            s.push_str(&format!("<link>{l}</link>"));
        }
        if let Some(t) = it.title {
            s.push_str(&format!("<title>{t}</title>"));
        }
        if let Some(d) = it.description {
            s.push_str(&format!("<description><![CDATA[{d}]]></description>"));
        }
        if let Some(p) = it.pub_date {
            s.push_str(&format!("<pubDate>{p}</pubDate>"));
        }
        s.push_str("</item>\n");
    }
    s.push_str("</channel></rss>\n");
    s
}

// ---- the temp folder, its config, and the binary -------------------------------

/// A TOML basic string.
pub fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A source line in the config.
pub struct Src {
    pub id: String,
    pub url: String,
    pub extra: String,
}

pub fn src(id: &str, url: &str) -> Src {
    Src {
        id: id.to_string(),
        url: url.to_string(),
        extra: String::new(),
    }
}

/// The default `[fetch]` section: loopback and `file://` allowed, short timeout.
pub const FETCH: &str = "[fetch]\nallow_private_addresses = true\nallow_file_urls = true\ntimeout_secs = 2\nmax_body_bytes = 65536\nconcurrency = 16\n";

/// A temp folder with `config.toml` (storage `news.db` beside it, or a
/// PostgreSQL database: `pg_env`, or every `Env` when the tests run with
/// `NEWSRIVER_TEST_STORE=postgres`, see `.ci/run`).
pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The PostgreSQL database's URL, when the store is one.
    pub pg: Option<String>,
}

/// Whether every `Env` stores in PostgreSQL (`NEWSRIVER_TEST_STORE=postgres`:
/// the end-to-end tests that read the store through the CLI and `Env`'s
/// helpers, run on the second backend).
pub fn all_on_postgres() -> bool {
    std::env::var("NEWSRIVER_TEST_STORE").is_ok_and(|v| v == "postgres")
}

impl Env {
    pub fn new(sources: &[Src]) -> Env {
        Env::with(FETCH, sources, "")
    }

    /// `fetch` is the whole `[fetch]` section; `extra` is appended (topics…).
    pub fn with(fetch: &str, sources: &[Src], extra: &str) -> Env {
        let pg = all_on_postgres().then(|| {
            pg_database("env").expect("NEWSRIVER_TEST_STORE=postgres needs a PostgreSQL server")
        });
        Env::with_store(pg, fetch, sources, extra)
    }

    /// `with`, storing in the PostgreSQL database `pg` when given.
    pub fn with_store(pg: Option<String>, fetch: &str, sources: &[Src], extra: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let env = Env { dir, config, pg };
        env.write_config(fetch, sources, extra);
        env
    }

    /// The `[storage]` section's keys (without the header): `news.db`
    /// beside the config, or the PostgreSQL database.
    pub fn storage_keys(&self) -> String {
        match &self.pg {
            Some(url) => format!("url = {}\nlease_secs = 2", toml_str(url)),
            None => "path = \"news.db\"".to_string(),
        }
    }

    pub fn write_config(&self, fetch: &str, sources: &[Src], extra: &str) {
        let storage = self.storage_keys();
        let mut text = format!("[storage]\n{storage}\n\n{fetch}\n");
        for s in sources {
            text.push_str(&format!(
                "[[source]]\nid = {}\nurl = {}\n{}\n",
                toml_str(&s.id),
                toml_str(&s.url),
                s.extra
            ));
        }
        text.push_str(extra);
        std::fs::write(&self.config, text).unwrap();
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `file://` URL of a file in the temp folder.
    pub fn file_url(&self, name: &str) -> String {
        url::Url::from_file_path(self.path(name))
            .unwrap()
            .to_string()
    }

    pub fn db_path(&self) -> PathBuf {
        self.path("news.db")
    }

    /// Runs `newsriver --config <config> ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        run_binary(&self.config, args)
    }

    /// `poll` (with extra args), which must exit 0.
    pub fn poll(&self, args: &[&str]) -> Run {
        let mut all = vec!["poll"];
        all.extend_from_slice(args);
        let r = self.run(&all);
        assert_eq!(r.code, Some(0), "poll failed: {r:?}");
        r
    }

    /// `export` (with extra args) parsed as JSON Lines; must exit 0.
    pub fn export(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["export"];
        all.extend_from_slice(args);
        let r = self.run(&all);
        assert_eq!(r.code, Some(0), "export failed: {r:?}");
        r.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Creates the (empty) database as `poll` would, without polling: the
    /// admin commands that read it refuse a database that does not exist.
    pub fn create_db(&self) {
        let config = newsriver::config::Config::load(&self.config).unwrap();
        newsriver::pipeline::open_writer(&config).unwrap();
    }

    /// The HTML parts of the one copy that `sql` selects the `body` of
    /// (copies keep summary, content and article in one compressed frame).
    pub fn copy_html(&self, sql: &str, args: &[&str]) -> Parts {
        let args: Vec<&str> = args.to_vec();
        let body: Vec<u8> = self.store().query_row(sql, args, |r| r.get(0)).unwrap();
        newsriver::store::body::decode(&body).unwrap()
    }

    /// A read-only connection to the SQLite file the binary wrote (the
    /// tests that read it so run on SQLite only).
    pub fn db(&self) -> Connection {
        assert!(
            self.pg.is_none(),
            "this test reads the SQLite file itself: it runs on SQLite only"
        );
        open_ro(&self.db_path())
    }

    /// A connection to the store the binary wrote, whichever it is, through
    /// the store's own SQL layer (the same SQL on both backends).
    pub fn store(&self) -> newsriver::store::sql::Connection {
        match &self.pg {
            Some(url) => newsriver::store::sql::Connection::connect_postgres(url).unwrap(),
            None => open_ro(&self.db_path()).into(),
        }
    }

    /// `store`, writable: a test that puts what an older release may have
    /// written straight into the store.
    pub fn store_rw(&self) -> newsriver::store::sql::Connection {
        match &self.pg {
            Some(url) => newsriver::store::sql::Connection::connect_postgres(url).unwrap(),
            None => Connection::open(self.db_path()).unwrap().into(),
        }
    }

    /// What the store holds, to compare before and after a command that
    /// must write nothing: the SQLite file's bytes, or on PostgreSQL each
    /// table's name, row count and a digest of its rows (in text order).
    pub fn store_snapshot(&self) -> Vec<u8> {
        let Some(url) = &self.pg else {
            return std::fs::read(self.db_path()).unwrap();
        };
        let tables = psql(
            url,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
        );
        let digests: Vec<String> = tables
            .lines()
            .map(|t| {
                format!(
                    "SELECT '{t}', count(*), md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), '')) FROM \"{t}\" t"
                )
            })
            .collect();
        assert!(!digests.is_empty(), "no tables in {url}");
        psql(url, &digests.join(" UNION ALL ")).into_bytes()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.store()
            .query_row(sql, [0i64; 0], |r| r.get(0))
            .unwrap()
    }

    /// References to rows that are gone: SQLite's foreign-key check
    /// (PostgreSQL enforces the declared keys itself), and copies naming a
    /// text no longer stored (no declared key on either backend).
    pub fn dangling(&self) -> i64 {
        let keys = match self.pg {
            Some(_) => 0,
            None => self.count("SELECT count(*) FROM pragma_foreign_key_check"),
        };
        keys + self.count(
            "SELECT count(*) FROM copies WHERE text_id IS NOT NULL
             AND text_id NOT IN (SELECT id FROM copy_texts)",
        )
    }

    pub fn stories(&self) -> i64 {
        self.count("SELECT count(*) FROM stories")
    }

    pub fn copies(&self) -> i64 {
        self.count("SELECT count(*) FROM copies")
    }

    /// `sources` row of one source.
    pub fn source(&self, id: &str) -> SourceRow {
        use newsriver::store::sql::OptionalExtension as _;
        self.store()
            .query_row(
                "SELECT last_outcome, last_error, last_status, feed_format, charset, etag, last_modified, last_item_count
                 FROM sources WHERE id = ?1",
                [id],
                |r| {
                    Ok(SourceRow {
                        last_outcome: r.get(0)?,
                        last_error: r.get(1)?,
                        last_status: r.get(2)?,
                        feed_format: r.get(3)?,
                        charset: r.get(4)?,
                        etag: r.get(5)?,
                        last_modified: r.get(6)?,
                        last_item_count: r.get(7)?,
                    })
                },
            )
            .optional()
            .unwrap()
            .unwrap_or_else(|| panic!("no source row {id:?}"))
    }

    /// Outcomes of every poll of one source, oldest first.
    pub fn poll_outcomes(&self, id: &str) -> Vec<String> {
        let db = self.store();
        let mut stmt = db
            .prepare("SELECT outcome FROM polls WHERE source_id = ?1 ORDER BY id")
            .unwrap();
        stmt.query_map([id], |r| r.get(0))
            .unwrap()
            .collect::<newsriver::store::sql::Result<_>>()
            .unwrap()
    }

    /// Titles of one source's copies, sorted.
    pub fn copy_titles(&self, source: &str) -> Vec<String> {
        let db = self.store();
        let mut stmt = db
            .prepare("SELECT coalesce(title, '') FROM copies WHERE source_id = ?1")
            .unwrap();
        let mut titles: Vec<String> = stmt
            .query_map([source], |r| r.get(0))
            .unwrap()
            .collect::<newsriver::store::sql::Result<_>>()
            .unwrap();
        // Byte order, as SQLite's ORDER BY gives it (PostgreSQL's depends
        // on the database's collation).
        titles.sort();
        titles
    }
}

#[derive(Debug)]
pub struct SourceRow {
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub last_status: Option<i64>,
    pub feed_format: Option<String>,
    pub charset: Option<String>,
    pub etag: Option<String>,
    /// Read by no test today (the 304 test checks the request header); kept
    /// so a failing test's `{:?}` of the row shows it.
    #[allow(dead_code)]
    pub last_modified: Option<String>,
    pub last_item_count: Option<i64>,
}

/// `PRAGMA integrity_check` of the SQLite file at `path` ("ok" when sound).
pub fn integrity(path: &Path) -> String {
    open_ro(path)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

pub fn open_ro(path: &Path) -> Connection {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c
}

/// What a run of the binary left.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsriver"));
    // Logs go to stderr too; keep them at the default level.
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs the binary with `--config PATH ARGS`, killing it after 60 s.
pub fn run_binary(config: &Path, args: &[&str]) -> Run {
    let mut cmd = binary();
    cmd.arg("--config").arg(config).args(args);
    run_command(cmd)
}

pub fn run_command(mut cmd: Command) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start newsriver");
    // Drain the pipes on threads so a chatty child cannot block.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut s).ok();
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("newsriver did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
    }
}

/// The lines of a poll summary's `failed:` block: `(id, rest of line)`.
pub fn failed_lines(stderr: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in stderr.lines() {
        if line.trim_end() == "failed:" {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with("  ") {
                break;
            }
            let t = line.trim_start();
            let (id, rest) = t.split_once(' ').unwrap_or((t, ""));
            out.push((id.to_string(), rest.trim().to_string()));
        }
    }
    out
}

/// The summary's first line: (ok, not modified, failed).
pub fn summary_counts(stderr: &str) -> (u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("polled "))
        .unwrap_or_else(|| panic!("no summary in stderr:\n{stderr}"));
    let after = line.split_once(": ").unwrap().1;
    let nums: Vec<u64> = after
        .split(", ")
        .map(|p| p.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    (nums[0], nums[1], nums[2])
}

/// The summary's second line: (new, known, updated) items.
pub fn summary_items(stderr: &str) -> (u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("items: "))
        .unwrap_or_else(|| panic!("no items line in stderr:\n{stderr}"));
    let part = line
        .trim_start_matches("items: ")
        .split(';')
        .next()
        .unwrap();
    let nums: Vec<u64> = part
        .split(", ")
        .map(|p| p.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    (nums[0], nums[1], nums[2])
}

// ---- the daemon --------------------------------------------------------------

/// A `[schedule]` that makes every source due every second.
pub const EVERY_SECOND: &str = "[schedule]\ndefault = \"* * * * * *\"\n";

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `[server]` section listening on `port`.
pub fn server_section(port: u16) -> String {
    format!("[server]\nlisten = \"127.0.0.1:{port}\"\nbase_url = \"http://127.0.0.1:{port}/\"\n")
}

/// Starts `newsriver --config CONFIG run`, its log (stderr) into `log` when given.
pub fn spawn_daemon(config: &Path, log: Option<&Path>) -> std::process::Child {
    let stderr = match log {
        Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
        None => Stdio::null(),
    };
    binary()
        .arg("--config")
        .arg(config)
        .arg("run")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Polls `cond` every 100 ms; fails the test after `limit`.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool, what: &str) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < limit, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A blocking GET with a 3 s deadline: (status, body), or None when nothing
/// answers. For the daemon's and `serve`'s endpoints.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .get(url)
            .timeout(std::time::Duration::from_secs(3))
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        Some((status, resp.text().await.ok()?))
    })
}

/// An item as a feed gives it: a title and a body (HTML or plain text).
pub fn parsed_item(title: &str, body: &str) -> newsriver::model::ParsedItem {
    newsriver::model::ParsedItem {
        title: Some(title.into()),
        content_html: Some(body.into()),
        link: Some("https://example.org/a".into()),
        ..Default::default()
    }
}

/// Two normalized texts by the rule the store applies: the store judges
/// only stories whose index keys a copy shares, then `dedupe::judge`.
/// Whether both hold, and why (for a failure message).
pub fn store_would_merge(a: &str, b: &str, seconds_apart: i64) -> (bool, String) {
    use newsriver::dedupe::{self, Params, Verdict};
    let params = Params::default();
    let (ka, kb) = (
        dedupe::index_keys(a, &params),
        dedupe::index_keys(b, &params),
    );
    let found = ka.iter().any(|k| kb.contains(k));
    let (verdict, score) = dedupe::judge(a, b, seconds_apart, &params);
    (
        found && matches!(verdict, Verdict::Same { .. }),
        format!("index key shared {found}, {verdict:?}, {score:?}"),
    )
}

/// An `Env` whose config is exactly `text` (the edit commands' tests).
pub fn env_with_config(text: &str) -> Env {
    let env = Env::new(&[]);
    std::fs::write(&env.config, text).unwrap();
    env
}

/// `env_with_config` for a test that reads the store: on PostgreSQL the
/// `path = "news.db"` line of `text`'s `[storage]` (whatever its spacing
/// and comment) becomes the database's keys; on SQLite `text` is kept as is.
pub fn env_with_store_config(text: &str) -> Env {
    let env = env_with_config(text);
    if env.pg.is_some() {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with("path") && l.contains("\"news.db\""))
            .expect("a config with path = \"news.db\"");
        lines[at] = env.storage_keys();
        std::fs::write(&env.config, lines.join("\n") + "\n").unwrap();
    }
    env
}

/// The config file as it is now.
pub fn config_text(env: &Env) -> String {
    std::fs::read_to_string(&env.config).unwrap()
}

/// Runs an edit command that must be refused with exit 2 and a message
/// containing `says`, leaving the config byte-identical.
pub fn refused_edit(env: &Env, args: &[&str], says: &str) -> Run {
    let before = config_text(env);
    let r = env.run(args);
    assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
    assert!(
        r.stderr.contains(says),
        "{args:?} should say {says:?}: {r:?}"
    );
    assert_eq!(config_text(env), before, "{args:?} changed the config");
    r
}

// ---- PostgreSQL ----------------------------------------------------------------

/// Whether the tests run with every store on PostgreSQL
/// (`NEWSRIVER_TEST_STORE=postgres`): then a test about the SQLite file
/// itself says so on stderr (`SQLite only: why`) and returns early.
pub fn sqlite_only(why: &str) -> bool {
    let pg = all_on_postgres();
    if pg {
        eprintln!("SQLite only: {why}");
    }
    pg
}

/// No parameters, for a statement on `Env::store`.
pub const NONE: [i64; 0] = [];

/// A new, empty PostgreSQL database for one test, as a URL; `None` (and a
/// line on stderr saying the test is skipped) when no server can be had.
/// The server: `NEWSRIVER_TEST_POSTGRES` (CI starts one, `.ci/run`; then a
/// server that does not answer fails the test), else a throwaway cluster
/// this test binary starts with `.ci/pg-cluster.sh` (PostgreSQL's server
/// binaries installed) in a folder under /tmp, left running for the next
/// run.
pub fn pg_database(test: &str) -> Option<String> {
    static BASE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        if let Ok(url) = std::env::var("NEWSRIVER_TEST_POSTGRES") {
            return Some(url);
        }
        let dir = format!("/tmp/newsriver-test-pg-{}", uid());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/pg-cluster.sh");
        let out = Command::new(script).arg("start").arg(&dir).output().ok()?;
        if !out.status.success() {
            eprintln!(
                "no PostgreSQL server ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    let Some(base) = base else {
        eprintln!("SKIPPED {test}: no PostgreSQL server to test against");
        return None;
    };
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "t_{}_{}_{}",
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let name: String = name.chars().take(60).collect();
    psql(base, &format!("CREATE DATABASE {name}"));
    let (server, _) = base
        .rsplit_once('/')
        .expect("a database URL ends with /NAME");
    Some(format!("{server}/{name}"))
}

/// This process's user id (for a folder per user under /tmp).
pub fn uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}

/// `psql`, `None` when it fails (a table not made yet).
pub fn psql_try(url: &str, sql: &str) -> Option<String> {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// Runs `sql` with psql against `url`; its output (unaligned, tuples only).
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// An `Env` whose `[storage]` is the PostgreSQL database at `url`.
pub fn pg_env(url: &str, fetch: &str, sources: &[Src], extra: &str) -> Env {
    Env::with_store(Some(url.to_string()), fetch, sources, extra)
}
