//! Hostile input and faults (docs/security.md): the real binary against
//! local servers that misbehave on purpose — SSRF targets, redirects to
//! private addresses, servers that drip, never answer, send header bombs or
//! lie about lengths, XML bombs, broken items and dates, XSS in every field,
//! control characters, and path tricks against `newsriver serve`.
//!
//! The pattern: a good source is polled first; then the hostile sources are
//! polled beside it. Each hostile source must fail with a clear error (in
//! the poll summary and the `sources` table) or be stored harmlessly; the
//! process exits normally (no panic, abort or stack overflow); the good
//! source is stored and what the first poll stored is still there.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::*;

// ---- helpers -----------------------------------------------------------------------

/// A feed that always works: the control in every test.
fn good_feed() -> String {
    rss2(
        "好源",
        &[
            Item {
                guid: Some("good-1"),
                link: Some("https://good.example/1.html"),
                title: Some("测试 全国秋粮收获进度过半"),
                description: Some(
                    "<p>农业农村部调度显示，全国秋粮收获进度过半，各地抢抓晴好天气加快收获。</p>",
                ),
                pub_date: Some("Mon, 09 Oct 2023 08:00:00 +0800"),
            },
            Item {
                guid: Some("good-2"),
                link: Some("https://good.example/2.html"),
                title: Some("测试 京津冀教育协同发展工作会议召开"),
                description: Some("<p>三地教育部门签署新一轮合作协议，共享优质教育资源。</p>"),
                pub_date: Some("Mon, 09 Oct 2023 09:00:00 +0800"),
            },
        ],
    )
}

/// `[fetch]` with the private-address guard ON (the default).
const GUARDED: &str = "[fetch]\ntimeout_secs = 2\nmax_body_bytes = 65536\nconcurrency = 16\n";

/// `FETCH` with room for multi-megabyte XML bombs.
fn fetch_big() -> String {
    FETCH.replace("max_body_bytes = 65536", "max_body_bytes = 16777216")
}

fn copy_src(s: &Src) -> Src {
    Src {
        id: s.id.clone(),
        url: s.url.clone(),
        extra: s.extra.clone(),
    }
}

fn story_ids(env: &Env) -> Vec<String> {
    let db = env.store();
    let mut stmt = db.prepare("SELECT id FROM stories ORDER BY id").unwrap();
    stmt.query_map(NONE, |r| r.get(0))
        .unwrap()
        .collect::<newsriver::store::sql::Result<_>>()
        .unwrap()
}

/// Polls `good` alone, then `good` with `hostile` (config `extra` appended
/// both times). Asserts the survival half of every case: the second poll
/// exits 0, the good source is ok, and every story of the first poll is
/// still stored.
fn poll_beside_good(fetch: &str, good: Src, hostile: Vec<Src>, extra: &str) -> (Env, Run) {
    let env = Env::with(fetch, &[copy_src(&good)], extra);
    let first = env.poll(&[]);
    let before = story_ids(&env);
    assert!(
        !before.is_empty(),
        "the good source stores stories: {first:?}"
    );
    let good_id = good.id.clone();
    let mut all = vec![good];
    all.extend(hostile);
    env.write_config(fetch, &all, extra);
    // `Env::poll` asserts exit code 0: a panic, abort or stack overflow fails here.
    let run = env.poll(&[]);
    assert_eq!(
        env.source(&good_id).last_outcome.as_deref(),
        Some("ok"),
        "{run:?}"
    );
    let after = story_ids(&env);
    for id in &before {
        assert!(after.contains(id), "story {id} of the first poll is gone");
    }
    (env, run)
}

/// The source failed, its recorded error and its summary line say each of
/// `words`, and it stored nothing.
fn assert_failed(env: &Env, run: &Run, id: &str, words: &[&str]) {
    let row = env.source(id);
    assert_eq!(row.last_outcome.as_deref(), Some("failed"), "{id}: {row:?}");
    let error = row.last_error.unwrap_or_default();
    let failed = failed_lines(&run.stderr);
    let line = failed
        .iter()
        .find(|(f, _)| f == id)
        .unwrap_or_else(|| panic!("{id} not in the summary's failed list:\n{}", run.stderr));
    for w in words {
        assert!(error.contains(w), "{id}: error {error:?} lacks {w:?}");
        assert!(line.1.contains(w), "{id}: summary {:?} lacks {w:?}", line.1);
    }
    assert_eq!(
        env.count(&format!(
            "SELECT count(*) FROM copies WHERE source_id = '{id}'"
        )),
        0,
        "{id} stored nothing"
    );
}

/// A TCP server whose every connection is handed to `handler` on its own
/// thread: for faults the test HTTP server cannot produce (drips, silence,
/// header bombs, lying lengths).
type Handler = fn(TcpStream);

fn raw_server(handler: Handler) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || handler(stream));
        }
    });
    addr
}

/// Reads the request head so the client is not cut off mid-send.
fn read_head(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

// ---- SSRF: the private-address guard ------------------------------------------------

#[test]
fn private_and_loopback_addresses_are_refused_in_every_spelling() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let port = server
        .url("/")
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let targets = [
        (
            "v4-loopback",
            format!("http://127.0.0.1:{port}/t1"),
            "not a public address",
        ),
        (
            "v6-loopback",
            format!("http://[::1]:{port}/t2"),
            "not a public address",
        ),
        (
            "v4-mapped",
            format!("http://[::ffff:127.0.0.1]:{port}/t3"),
            "not a public address",
        ),
        (
            "metadata",
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "not a public address",
        ),
        (
            "unspecified",
            format!("http://0.0.0.0:{port}/t5"),
            "not a public address",
        ),
        (
            "decimal",
            format!("http://2130706433:{port}/t6"),
            "not a public address",
        ),
        (
            "hex-short",
            format!("http://0x7f.1:{port}/t7"),
            "not a public address",
        ),
        (
            "octal",
            format!("http://0177.0.0.1:{port}/t8"),
            "not a public address",
        ),
        (
            "rfc1918",
            "http://10.0.0.1/feed".to_string(),
            "not a public address",
        ),
        (
            "cgnat",
            "http://100.64.0.1/feed".to_string(),
            "not a public address",
        ),
        (
            "ula",
            "http://[fd00::1]/feed".to_string(),
            "not a public address",
        ),
        (
            "link-local-v6",
            "http://[fe80::1]/feed".to_string(),
            "not a public address",
        ),
        (
            "multicast",
            "http://224.0.0.1/feed".to_string(),
            "not a public address",
        ),
        // A name: refused after DNS, on the addresses it resolves to.
        (
            "localhost",
            format!("http://localhost:{port}/t9"),
            "non-public addresses",
        ),
    ];
    // The good source is on loopback too: its own host is allowed for it
    // alone, which is also what shows the per-source allowance is scoped.
    let mut good = src("good", &server.url("/good"));
    good.extra = "allow_private_addresses = true\n".into();
    let hostile = targets.iter().map(|(id, url, _)| src(id, url)).collect();
    let (env, run) = poll_beside_good(GUARDED, good, hostile, "");
    for (id, url, expected) in &targets {
        assert_failed(&env, &run, id, &[expected]);
        assert!(
            run.stderr.contains(&format!("{id} ")),
            "{id} ({url}) is named in the summary"
        );
    }
    for path in ["/t1", "/t2", "/t3", "/t5", "/t6", "/t7", "/t8", "/t9"] {
        assert!(
            server.requests(path).is_empty(),
            "{path} was requested despite the guard"
        );
    }
}

#[test]
fn redirects_from_an_allowed_host_to_other_private_addresses_are_refused() {
    // "Public host redirects to private" cannot be staged on one machine
    // (every local address is private). The same check runs on every hop,
    // so this stages it one step in: a source allowed to reach its own
    // private host (127.0.0.1) is redirected to *other* private addresses.
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let port = server
        .url("/")
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    // Another local service the source must not reach through its own
    // exemption.
    let other = TestServer::start();
    other.fixed("/inner-3", Response::ok(RSS_TYPE, good_feed()));
    let redirects = [
        (
            "to-localhost",
            format!("http://localhost:{port}/inner-1"),
            "non-public addresses",
        ),
        (
            "to-v6-loopback",
            format!("http://[::1]:{port}/inner-2"),
            "not a public address",
        ),
        (
            "to-metadata",
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "not a public address",
        ),
        (
            "to-rfc1918",
            "http://192.168.1.1/admin".to_string(),
            "not a public address",
        ),
        // The same private host at another port: any service on it.
        (
            "to-other-port",
            format!("http://127.0.0.1:{}/inner-3", other.port()),
            "only http://127.0.0.1:",
        ),
    ];
    let mut good = src("good", &server.url("/good"));
    good.extra = "allow_private_addresses = true\n".into();
    let mut hostile = Vec::new();
    for (id, target, _) in &redirects {
        let path = format!("/{id}");
        server.fixed(&path, Response::new(302).header("Location", target));
        let mut s = src(id, &server.url(&path));
        s.extra = "allow_private_addresses = true\n".into();
        hostile.push(s);
    }
    let (env, run) = poll_beside_good(GUARDED, good, hostile, "");
    for (id, _, expected) in &redirects {
        assert_failed(&env, &run, id, &["redirect", expected]);
        assert_eq!(
            server.requests(&format!("/{id}")).len(),
            1,
            "{id}: first hop made"
        );
    }
    assert!(server.requests("/inner-1").is_empty() && server.requests("/inner-2").is_empty());
    assert!(
        other.requests("/inner-3").is_empty(),
        "the other port was reached"
    );
}

#[test]
fn redirect_to_file_loops_and_missing_location_fail_cleanly() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    server.fixed(
        "/to-file",
        Response::new(302).header("Location", "file:///etc/passwd"),
    );
    server.fixed("/loop", Response::new(302).header("Location", "/loop"));
    server.fixed("/ping", Response::new(301).header("Location", "/pong"));
    server.fixed("/pong", Response::new(301).header("Location", "/ping"));
    server.fixed("/no-location", Response::new(302));
    let (env, run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![
            src("to-file", &server.url("/to-file")),
            src("loop", &server.url("/loop")),
            src("ping-pong", &server.url("/ping")),
            src("no-location", &server.url("/no-location")),
        ],
        "",
    );
    assert_failed(&env, &run, "to-file", &["unsupported scheme", "file"]);
    assert_failed(&env, &run, "loop", &["more than 5 redirects"]);
    assert_failed(&env, &run, "ping-pong", &["more than 5 redirects"]);
    assert_failed(&env, &run, "no-location", &["without a Location"]);
    assert_eq!(server.requests("/loop").len(), 6, "the loop ends");
}

#[test]
fn check_refuses_other_schemes_and_file_urls_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = "[fetch]\ntimeout_secs = 2\n\n\
                [[source]]\nid = \"ftp\"\nurl = \"ftp://example.org/feed.xml\"\n\n\
                [[source]]\nid = \"js\"\nurl = \"javascript:alert(1)\"\n\n\
                [[source]]\nid = \"data\"\nurl = \"data:text/xml,<rss/>\"\n\n\
                [[source]]\nid = \"passwd\"\nurl = \"file:///etc/passwd\"\n";
    std::fs::write(&path, text).unwrap();
    let run = run_binary(&path, &["check"]);
    assert_ne!(run.code, Some(0), "{run:?}");
    let shown = path.display().to_string();
    for (line, words) in [
        (6, &["source[0].url", "unsupported scheme", "ftp"][..]),
        (
            10,
            &["source[1].url", "unsupported scheme", "javascript"][..],
        ),
        (14, &["source[2].url", "unsupported scheme", "data"][..]),
        (18, &["source[3].url", "allow_file_urls"][..]),
    ] {
        let prefix = format!("{shown}:{line}:");
        let hit = run
            .stderr
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no problem on line {line}:\n{run:?}"));
        for w in words {
            assert!(hit.contains(w), "line {line}: {hit:?} lacks {w:?}");
        }
    }
    // With the opt-in, the file source is accepted.
    std::fs::write(
        &path,
        "[fetch]\nallow_file_urls = true\n[[source]]\nid = \"f\"\nurl = \"file:///tmp/feed.xml\"\n",
    )
    .unwrap();
    let run = run_binary(&path, &["check"]);
    assert_eq!(run.code, Some(0), "{run:?}");
}

// ---- caps: time, size, headers --------------------------------------------------------

fn drip_body(mut s: TcpStream) {
    read_head(&mut s);
    let _ = s.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n<rss",
    );
    // One byte at a time, forever (until the client hangs up).
    while s.write_all(b" ").is_ok() {
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn drip_headers(mut s: TcpStream) {
    read_head(&mut s);
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
    while s.write_all(b"X").is_ok() {
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn silent(mut s: TcpStream) {
    read_head(&mut s);
    // Accepts, reads, and never answers.
    std::thread::sleep(Duration::from_secs(20));
}

fn many_headers(mut s: TcpStream) {
    read_head(&mut s);
    let mut head = String::from("HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n");
    for i in 0..500 {
        head.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    head.push_str("Content-Length: 0\r\n\r\n");
    let _ = s.write_all(head.as_bytes());
}

fn huge_header(mut s: TcpStream) {
    read_head(&mut s);
    let mut head = String::from("HTTP/1.1 200 OK\r\nX-Huge: ");
    head.push_str(&"a".repeat(2 << 20));
    head.push_str("\r\nContent-Length: 0\r\n\r\n");
    let _ = s.write_all(head.as_bytes());
}

fn lying_large_length(mut s: TcpStream) {
    read_head(&mut s);
    // Claims 5 GB; streams far more than max_body_bytes.
    let _ = s.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000000000\r\n\r\n",
    );
    let chunk = [b' '; 8192];
    for _ in 0..1024 {
        if s.write_all(&chunk).is_err() {
            return;
        }
    }
}

fn short_body(mut s: TcpStream) {
    read_head(&mut s);
    // Claims a megabyte, sends a few bytes, hangs up.
    let _ = s.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 1000000\r\n\r\n<rss version=\"2.0\">",
    );
}

fn not_http(mut s: TcpStream) {
    read_head(&mut s);
    let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
}

#[test]
fn slow_silent_oversized_and_malformed_servers_fail_with_clear_errors() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let cases: [(&str, Handler, &[&str]); 8] = [
        ("drip-body", drip_body, &["timed out"]),
        ("drip-headers", drip_headers, &["timed out"]),
        ("silent", silent, &["timed out"]),
        ("many-headers", many_headers, &["error sending request"]),
        ("huge-header", huge_header, &["error sending request"]),
        ("lying-length", lying_large_length, &["max_body_bytes"]),
        ("short-body", short_body, &["body"]),
        ("not-http", not_http, &["error sending request"]),
    ];
    let hostile = cases
        .iter()
        .map(|(id, handler, _)| src(id, &format!("http://{}/feed", raw_server(*handler))))
        .collect();
    let (env, run) = poll_beside_good(FETCH, src("good", &server.url("/good")), hostile, "");
    for (id, _, words) in &cases {
        assert_failed(&env, &run, id, words);
    }
}

// ---- XML bombs ----------------------------------------------------------------------

fn billion_laughs() -> String {
    let mut dtd = String::from("<!ENTITY lol \"lol\">");
    for i in 1..=9 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [{dtd}]>\n<rss version=\"2.0\"><channel><title>laughs</title>\
         <item><guid>bl-1</guid><title>大笑 &lol9;</title><description>一个十亿次大笑的实体炸弹，不应被展开。</description></item></channel></rss>"
    )
}

fn xxe(port: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rss SYSTEM \"http://127.0.0.1:{port}/evil.dtd\" [\
         <!ENTITY xxe SYSTEM \"file:///etc/passwd\"><!ENTITY % remote SYSTEM \"http://127.0.0.1:{port}/param.dtd\">%remote;]>\n\
         <rss version=\"2.0\"><channel><title>xxe</title><item><guid>xxe-1</guid><title>外部实体 &xxe;</title>\
         <description>外部实体不应读取本地文件：&xxe;</description></item></channel></rss>"
    )
}

fn many_attributes() -> String {
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    format!(
        "<rss version=\"2.0\"><channel><title>attrs</title><item{attrs}><guid>attrs-1</guid>\
         <title>十万个属性</title><description>一个标签上有十万个属性。</description></item></channel></rss>"
    )
}

fn many_namespaces() -> String {
    let ns: String = (0..100_000)
        .map(|i| format!(" xmlns:n{i}=\"urn:x-{i}\""))
        .collect();
    format!(
        "<rss version=\"2.0\"{ns}><channel><title>ns</title><item><guid>ns-1</guid>\
         <title>十万个命名空间</title><description>根元素声明了十万个命名空间。</description></item></channel></rss>"
    )
}

fn deep_nesting() -> String {
    let n = 200_000;
    format!(
        "<rss version=\"2.0\"><channel><title>deep</title><item><guid>deep-1</guid><title>深</title>{}{}</item></channel></rss>",
        "<x>".repeat(n),
        "</x>".repeat(n)
    )
}

#[test]
fn xml_bombs_stay_bounded_and_never_read_local_files() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let port = server
        .url("/")
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    server.fixed(
        "/evil.dtd",
        Response::ok("application/xml-dtd", "<!ENTITY xxe \"PWNED\">"),
    );
    server.fixed(
        "/param.dtd",
        Response::ok("application/xml-dtd", "<!ENTITY xxe \"PWNED\">"),
    );
    for (path, body) in [
        ("/laughs", billion_laughs()),
        ("/xxe", xxe(&port)),
        ("/attrs", many_attributes()),
        ("/ns", many_namespaces()),
        ("/deep", deep_nesting()),
    ] {
        server.fixed(path, Response::ok(RSS_TYPE, body));
    }
    let (env, run) = poll_beside_good(
        &fetch_big(),
        src("good", &server.url("/good")),
        vec![
            src("laughs", &server.url("/laughs")),
            src("xxe", &server.url("/xxe")),
            src("attrs", &server.url("/attrs")),
            src("ns", &server.url("/ns")),
            src("deep", &server.url("/deep")),
        ],
        "",
    );
    // 200,000 nested elements: an error, not a stack overflow.
    assert_failed(&env, &run, "deep", &["nested deeper than"]);
    // No DTD, external entity or parameter entity is ever fetched.
    assert!(server.requests("/evil.dtd").is_empty());
    assert!(server.requests("/param.dtd").is_empty());
    // Nothing stored anywhere holds a local file or an expansion.
    let dump: String = {
        let db = env.store();
        let mut stmt = db
            .prepare("SELECT coalesce(title, ''), body FROM copies")
            .unwrap();
        let rows = stmt
            .query_map(NONE, |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .unwrap();
        let mut all = Vec::new();
        for row in rows {
            let (title, body) = row.unwrap();
            let p = newsriver::store::body::decode(&body).unwrap();
            all.push(format!(
                "{title}{}{}{}",
                p.summary_html.unwrap_or_default(),
                p.content_html.unwrap_or_default(),
                p.full_html.unwrap_or_default()
            ));
        }
        all.join("|")
    };
    assert!(
        !dump.contains("root:"),
        "a local file leaked into the store"
    );
    assert!(!dump.contains("PWNED"), "an external entity was resolved");
    assert!(!dump.contains("lollollol"), "an entity was expanded");
    assert!(
        dump.len() < 100_000,
        "stored text stays small: {} bytes",
        dump.len()
    );
    // The others finish (the poll above returned). Entities are never
    // expanded: an undeclared-to-us entity is kept as literal text.
    assert_eq!(env.copy_titles("laughs"), vec!["大笑 &lol9;"]);
    assert_eq!(env.copy_titles("xxe"), vec!["外部实体 &xxe;"]);
    assert_eq!(env.copy_titles("attrs"), vec!["十万个属性"]);
    // 100,000 namespace declarations: feed-rs gives up on the root; clear
    // error, bounded time.
    assert_failed(&env, &run, "ns", &["not a feed"]);
}

#[test]
fn binary_garbage_empty_and_truncated_documents_are_not_feeds() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let garbage: Vec<u8> = (0..65_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    server.fixed("/garbage", Response::ok(RSS_TYPE, garbage));
    server.fixed("/empty", Response::ok(RSS_TYPE, ""));
    let mut truncated = good_feed().into_bytes();
    truncated.truncate(truncated.len() / 2);
    server.fixed("/truncated", Response::ok(RSS_TYPE, truncated));
    server.fixed(
        "/json-deep",
        Response::ok(
            JSON_TYPE,
            format!("{}{}", "[".repeat(30_000), "]".repeat(30_000)),
        ),
    );
    let (env, run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![
            src("garbage", &server.url("/garbage")),
            src("empty", &server.url("/empty")),
            src("truncated", &server.url("/truncated")),
            src("json-deep", &server.url("/json-deep")),
        ],
        "",
    );
    for id in ["garbage", "empty", "truncated", "json-deep"] {
        assert_failed(&env, &run, id, &["not a feed"]);
    }
}

// ---- items and dates ----------------------------------------------------------------

#[test]
fn items_without_id_link_or_title_keep_one_stable_key() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let anon = rss2(
        "无名",
        &[Item {
            description: Some(
                "<p>这条新闻没有编号、链接和标题，只有正文，每次轮询都应是同一条。</p>",
            ),
            ..Default::default()
        }],
    );
    server.fixed("/anon", Response::ok(RSS_TYPE, anon));
    let (env, _run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![src("anon", &server.url("/anon"))],
        "",
    );
    assert_eq!(env.source("anon").last_outcome.as_deref(), Some("ok"));
    let copies = env.copies();
    let again = env.poll(&[]);
    assert_eq!(summary_items(&again.stderr).0, 0, "nothing new: {again:?}");
    assert_eq!(env.copies(), copies, "polled again, still one copy");
    assert_eq!(
        env.count("SELECT count(*) FROM copies WHERE source_id = 'anon'"),
        1
    );
}

#[test]
fn duplicate_guids_within_and_across_feeds() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let dup = |title: &'static str, body: &'static str| Item {
        guid: Some("same-guid"),
        link: Some("https://dup.example/1"),
        title: Some(title),
        description: Some(body),
        pub_date: Some("Mon, 09 Oct 2023 10:00:00 +0800"),
    };
    let a = rss2(
        "甲",
        &[
            dup(
                "重复编号 第一条",
                "<p>同一个编号的第一条新闻正文，内容与第二条不同。</p>",
            ),
            dup(
                "重复编号 第二条",
                "<p>同一个编号的第二条新闻正文，写法完全不一样。</p>",
            ),
        ],
    );
    let b = rss2(
        "乙",
        &[dup(
            "重复编号 第一条",
            "<p>同一个编号的第一条新闻正文，内容与第二条不同。</p>",
        )],
    );
    server.fixed("/a", Response::ok(RSS_TYPE, a));
    server.fixed("/b", Response::ok(RSS_TYPE, b));
    let (env, _run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![
            src("dup-a", &server.url("/a")),
            src("dup-b", &server.url("/b")),
        ],
        "",
    );
    // Within a feed, one GUID is one copy; across feeds, each source keeps
    // its own copy, and the identical text makes them one story.
    assert_eq!(
        env.count("SELECT count(*) FROM copies WHERE source_id = 'dup-a'"),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM copies WHERE source_id = 'dup-b'"),
        1
    );
    assert_eq!(
        env.count("SELECT count(DISTINCT story) FROM copies WHERE source_id IN ('dup-a', 'dup-b')"),
        1
    );
    // Polled again: nothing flips back and forth (the first item wins).
    let again = env.poll(&[]);
    let (new, _, updated) = summary_items(&again.stderr);
    assert_eq!((new, updated), (0, 0), "{again:?}");
    assert_eq!(env.copy_titles("dup-a"), vec!["重复编号 第一条"]);
}

#[test]
fn garbage_far_future_pre_1970_and_zoneless_dates_are_stored_in_order() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let item = |guid, title, date| Item {
        guid: Some(guid),
        title: Some(title),
        description: Some("<p>日期各不相同的一组新闻，用来检查排序。</p>"),
        pub_date: date,
        ..Default::default()
    };
    let feed = rss2(
        "日期",
        &[
            item("d-garbage", "日期 乱码", Some("yesterday-ish, 99:99")),
            item(
                "d-9999",
                "日期 九九九九年",
                Some("Fri, 31 Dec 9999 23:59:59 GMT"),
            ),
            item(
                "d-1960",
                "日期 一九六零年",
                Some("Fri, 01 Jan 1960 00:00:00 GMT"),
            ),
            item("d-zoneless", "日期 无时区", Some("2023-10-09T10:00:00")),
            item("d-none", "日期 缺失", None),
            item(
                "d-normal",
                "日期 正常",
                Some("Mon, 09 Oct 2023 08:00:00 +0800"),
            ),
        ],
    );
    server.fixed("/dates", Response::ok(RSS_TYPE, feed));
    let (env, _run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![src("dates", &server.url("/dates"))],
        "",
    );
    assert_eq!(env.source("dates").last_outcome.as_deref(), Some("ok"));
    assert_eq!(env.copy_titles("dates").len(), 6);
    let published = |guid: &str| -> i64 {
        env.store()
            .query_row(
                "SELECT published FROM copies WHERE guid = ?1",
                [guid],
                |r| r.get(0),
            )
            .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    // Year 9999 is not believed: at most "now".
    assert!(published("d-9999") <= now + 600);
    assert!(
        published("d-1960") < 0,
        "pre-1970 kept as a negative timestamp"
    );
    assert!(published("d-1960") < published("d-normal"));
    // A zone-less date is read in the source's zone, Beijing time unless
    // `timezone` says otherwise: 10:00 at UTC+8 is 02:00 UTC.
    assert_eq!(published("d-zoneless"), 1_696_816_800);
    // Garbage and missing dates mean "when seen": after every dated item,
    // never in the future.
    for guid in ["d-garbage", "d-none"] {
        assert!(published("d-normal") < published(guid), "{guid}");
        assert!(published(guid) <= now + 600, "{guid}");
    }
    // Export sorts them without error.
    let stories = env.export(&[]);
    assert_eq!(stories.len() as i64, env.stories());
}

#[test]
fn retry_after_seconds_dates_and_garbage() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let in_an_hour = std::time::SystemTime::now() + Duration::from_secs(3600);
    let date = httpdate::fmt_http_date(in_an_hour);
    server.fixed("/secs", Response::new(503).header("Retry-After", "120"));
    server.fixed("/date", Response::new(429).header("Retry-After", &date));
    server.fixed(
        "/garbage",
        Response::new(503).header("Retry-After", "soon, maybe"),
    );
    server.fixed(
        "/far",
        Response::new(503).header("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"),
    );
    let (env, run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![
            src("ra-secs", &server.url("/secs")),
            src("ra-date", &server.url("/date")),
            src("ra-garbage", &server.url("/garbage")),
            src("ra-far", &server.url("/far")),
        ],
        "",
    );
    assert_failed(&env, &run, "ra-secs", &["503", "Retry-After: 120"]);
    assert_failed(&env, &run, "ra-date", &["429", "Retry-After"]);
    assert_failed(&env, &run, "ra-garbage", &["503", "soon, maybe"]);
    assert_failed(&env, &run, "ra-far", &["503"]);
    let until = |id: &str| -> Option<i64> {
        env.store()
            .query_row(
                "SELECT retry_after_until FROM sources WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let secs = until("ra-secs").expect("seconds understood");
    assert!((now + 60..=now + 130).contains(&secs), "{secs} vs {now}");
    let at = until("ra-date").expect("HTTP date understood");
    let expected = chrono::DateTime::<chrono::Utc>::from(in_an_hour).timestamp();
    assert!((at - expected).abs() <= 1, "{at} vs {expected}");
    assert_eq!(until("ra-garbage"), None, "garbage is ignored");
    let far = until("ra-far").expect("far date understood");
    assert!(far <= now + 7 * 24 * 3600 + 60, "capped to a week: {far}");
}

// ---- republishing: XSS and control characters ------------------------------------------

const XSS_VECTORS: &[&str] = &[
    "<script>alert('s1')</script>",
    "<img src=x onerror=alert('s2')>",
    "<svg onload=alert('s3')><script>alert('s3b')</script></svg>",
    "<svg><a xlink:href=\"javascript:alert('s4')\"><text>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('s5')></style></mglyph></table></mtext></math>",
    "<a href=\"javascript:alert('s6')\">j1</a>",
    "<a href=\"JaVaScRiPt:alert('s7')\">j2</a>",
    "<a href=\"jav&#x09;ascript:alert('s8')\">j3</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert('s9')\">j4</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">d1</a>",
    "<a href=\"vbscript:msgbox('s10')\">v1</a>",
    "<iframe src=\"javascript:alert('s11')\"></iframe>",
    "<object data=\"data:text/html,<script>alert('s12')</script>\"></object>",
    "<embed src=\"javascript:alert('s13')\">",
    "<form action=\"javascript:alert('s14')\"><input type=submit><button formaction=javascript:alert('s14b')>b</button></form>",
    "<style>body{background:url(javascript:alert('s15'))}</style>",
    "<div style=\"background:url(javascript:alert('s16'))\">styled</div>",
    "<body onload=alert('s17')>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('s18')\">",
    "<base href=\"javascript:alert('s19')//\">",
    "<link rel=stylesheet href=\"javascript:alert('s20')\">",
    "<details open ontoggle=alert('s21')>d</details>",
    "<video><source onerror=\"alert('s22')\"></video>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert('s23')>\"></noscript>",
    "<IMG SRC=\"jav&#x0A;ascript:alert('s24');\">",
    "<img src=\"x\" onerror=\"&#0000106&#0000097&#0000118&#0000097alert('s25')\">",
    "<a href=\"https://ok.example/\" onmouseover=\"alert('s26')\">ok</a>",
    "<table background=\"javascript:alert('s27')\"><tr><td>t</td></tr></table>",
    "<!--<script>alert('s28')</script>-->",
    "<template><script>alert('s29')</script></template>",
    "<textarea><script>alert('s30')</script></textarea>",
];

fn xss_feeds() -> (String, String) {
    let body: String = XSS_VECTORS
        .iter()
        .map(|v| format!("<p>测试向量 {v}</p>"))
        .collect();
    let esc = |s: &str| html_escape::encode_text(s).into_owned();
    let rss = rss2(
        "跨站",
        &[
            Item {
                guid: Some("xss-1"),
                link: Some("javascript:alert('link1')"),
                title: Some(&esc(
                    "测试标题<script>alert('t1')</script><b>粗体</b><img src=x onerror=alert('t2')>",
                )),
                description: Some(&body),
                pub_date: Some("Mon, 09 Oct 2023 11:00:00 +0800"),
            },
            Item {
                guid: Some("xss-2"),
                link: Some(&esc("data:text/html,<script>alert('link2')</script>")),
                title: Some(&esc(
                    "测试 &lt;i&gt;实体&lt;/i&gt; <title><script>alert('t3')</script></title>",
                )),
                description: Some("<p>第二条带有跨站向量的新闻，链接是 data: 地址。</p>"),
                pub_date: Some("Mon, 09 Oct 2023 11:30:00 +0800"),
            },
        ],
    );
    let atom = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>作者</title><id>urn:xss</id><updated>2023-10-09T05:00:00Z</updated>
<entry><id>urn:xss:3</id><title type="html">{}</title>
<link href="javascript:alert('link3')"/>
<author><name>{}</name></author>
<updated>2023-10-09T05:00:00Z</updated>
<content type="html">{}</content></entry>
</feed>"#,
        esc("测试 作者条目 <svg onload=alert('t4')>"),
        esc("<script>alert('a1')</script>王记者<img src=x onerror=alert('a2')>"),
        esc(&format!(
            "<p>第三条：作者名里有脚本。{}</p>",
            XSS_VECTORS[1]
        )),
    );
    (rss, atom)
}

const TOPIC: &str = "\n[[topic]]\nslug = \"t\"\ntitle = \"测试\"\nquery = '测试'\n";

fn render(env: &Env, format: &str) -> String {
    let run = env.run(&["render", "t", "--format", format]);
    assert_eq!(run.code, Some(0), "{run:?}");
    run.stdout
}

/// Topic `t` rendered in `format`, and the entry titles a feed reader reads back.
fn rendered_titles(env: &Env, format: &str) -> (String, Vec<String>) {
    let doc = render(env, format);
    let feed = feed_rs::parser::parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{format}: {e}"));
    let titles = feed
        .entries
        .iter()
        .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
        .collect();
    (doc, titles)
}

#[test]
fn xss_vectors_in_titles_content_links_and_authors_are_neutralized() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let (rss, atom) = xss_feeds();
    server.fixed("/xss-rss", Response::ok(RSS_TYPE, rss));
    server.fixed("/xss-atom", Response::ok(ATOM_TYPE, atom));
    let (env, _run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![
            src("xss-rss", &server.url("/xss-rss")),
            src("xss-atom", &server.url("/xss-atom")),
        ],
        TOPIC,
    );
    assert_eq!(env.copy_titles("xss-rss").len(), 2);
    assert_eq!(env.copy_titles("xss-atom").len(), 1);
    for format in ["atom", "rss", "json"] {
        let doc = render(&env, format);
        // What a reader gets after undoing the feed's own escaping: the
        // HTML it will render.
        let feed = feed_rs::parser::parse(doc.as_bytes())
            .unwrap_or_else(|e| panic!("{format}: {e}\n{doc}"));
        assert_eq!(feed.entries.len(), 5, "{format}: 2 good + 3 hostile");
        let mut seen = String::new();
        for e in &feed.entries {
            let title = e
                .title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default();
            assert!(
                !title.contains('<') && !title.contains('>'),
                "{format}: title {title:?} has markup"
            );
            assert!(
                !title.contains("alert"),
                "{format}: script text left in title {title:?}"
            );
            seen.push_str(&title);
            for l in &e.links {
                assert!(
                    l.href.starts_with("http://") || l.href.starts_with("https://"),
                    "{format}: link {:?}",
                    l.href
                );
            }
            for a in &e.authors {
                let name = a.name.clone().unwrap_or_default();
                assert!(
                    !name.contains('<') && !name.contains("alert"),
                    "{format}: author {name:?}"
                );
                seen.push_str(&name);
            }
            if let Some(c) = e.content.as_ref().and_then(|c| c.body.clone()) {
                seen.push_str(&c);
            }
            if let Some(s) = &e.summary {
                seen.push_str(&s.content);
            }
        }
        let lower = seen.to_ascii_lowercase();
        for bad in [
            "<script",
            "javascript:",
            "vbscript:",
            "data:text",
            "onerror",
            "onload",
            "onmouseover",
            "ontoggle",
            "<iframe",
            "<object",
            "<embed",
            "<form",
            "<style",
            "style=",
            "<svg",
            "<math",
            "<meta",
            "<base",
            "<link",
            "formaction",
            "background=",
            "<textarea",
            "<template",
        ] {
            assert!(!lower.contains(bad), "{format}: {bad:?} survived:\n{seen}");
        }
        // And the raw bytes, whatever a reader does with them.
        let raw = doc.to_ascii_lowercase();
        for bad in ["<script", "javascript:", "onerror=", "<svg"] {
            assert!(!raw.contains(bad), "{format}: raw {bad:?}");
        }
        // The text survives: titles are the text content of their markup.
        assert!(seen.contains("测试标题粗体"), "{format}: {seen}");
        if format != "rss" {
            // RSS items carry no author here; Atom and JSON Feed do.
            assert!(seen.contains("王记者"), "{format}: {seen}");
        }
        assert!(seen.contains("styled"), "{format}: harmless text is kept");
    }
}

#[test]
fn control_characters_never_make_a_topic_feed_unparsable() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let json = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "控制\u{1}字符",
        "items": [{
            "id": "ctl-1",
            "url": "https://ctl.example/a\u{1}b",
            "title": "测试\u{1}控制\u{8}字符\u{1f}\u{fffe}标题",
            "content_html": "<p>正文\u{0}里有\u{1b}控制字符\u{7}\u{b}\u{c}和\u{ffff}非字符。</p>",
            "authors": [{"name": "记者\u{2}"}],
            "language": "zh\u{3}-CN",
            "date_published": "2023-10-09T06:00:00Z"
        }]
    })
    .to_string();
    server.fixed("/ctl", Response::ok(JSON_TYPE, json));
    // And raw control bytes inside XML CDATA (quick-xml does not check them).
    let rss = rss2(
        "控制",
        &[Item {
            guid: Some("ctl-2"),
            link: Some("https://ctl.example/2"),
            title: Some("测试\u{1}标题二"),
            description: Some("<p>第二\u{1}条\u{8}正文。</p>"),
            pub_date: Some("Mon, 09 Oct 2023 12:00:00 +0800"),
        }],
    );
    server.fixed("/ctl-rss", Response::ok(RSS_TYPE, rss));
    let (env, _run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![
            src("ctl", &server.url("/ctl")),
            src("ctl-rss", &server.url("/ctl-rss")),
        ],
        TOPIC,
    );
    assert_eq!(env.source("ctl").last_outcome.as_deref(), Some("ok"));
    for format in ["atom", "rss", "json"] {
        let doc = render(&env, format);
        let bad: Vec<char> = doc
            .chars()
            .filter(|c| {
                matches!(*c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
            })
            .collect();
        assert!(bad.is_empty(), "{format}: forbidden characters {bad:?}");
        if format == "json" {
            assert!(
                !doc.contains("\\u0001") && !doc.contains("\\u0000"),
                "{format}: escaped controls"
            );
        }
        let feed =
            feed_rs::parser::parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{format}: {e}"));
        let titles: Vec<String> = feed
            .entries
            .iter()
            .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
            .collect();
        assert!(
            titles.iter().any(|t| t == "测试控制字符标题"),
            "{format}: {titles:?}"
        );
        assert!(
            titles.iter().any(|t| t == "测试标题二"),
            "{format}: {titles:?}"
        );
        assert_eq!(
            feed.entries.len(),
            4,
            "{format}: one bad item does not cost the others"
        );
    }
}

// ---- `newsriver serve`: paths and requests -------------------------------------------------

struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `newsriver serve` on a free port; returns once it listens.
fn serve(env: &Env) -> Served {
    let mut cmd = binary();
    cmd.arg("--config")
        .arg(&env.config)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split(" on http://").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve prints its address");
    Served { child, addr }
}

/// Sends `request` as raw bytes (no client normalizes the path) and returns
/// the status (0 when the server closed without answering) and the body.
fn raw_request(addr: &str, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn get(addr: &str, path: &str) -> (u16, String) {
    raw_request(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

#[test]
fn serve_answers_traversal_and_oversized_requests_without_leaking_files() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let listen = "\n[server]\nlisten = \"127.0.0.1:0\"\noutput_dir = \"public\"\n";
    let (env, _run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![],
        &format!("{listen}{TOPIC}"),
    );
    std::fs::write(env.path("secret.txt"), "TOP-SECRET-CONTENT").unwrap();
    let served = serve(&env);
    let addr = served.addr.as_str();
    // The real feed is served.
    let (status, body) = get(addr, "/topics/t.atom");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("全国秋粮"));
    let attempts = [
        "/topics/../secret.txt",
        "/topics/..%2fsecret.txt",
        "/topics/%2e%2e/secret.txt",
        "/topics/%2e%2e%2fsecret.txt",
        "/topics/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/topics/..%5csecret.txt",
        "/topics/..%5c..%5cconfig.toml",
        "/topics/%5c..%5cnews.db",
        "/topics/t.atom%00.txt",
        "/topics/%00",
        "/topics/t.atom/../../secret.txt",
        "/../../../../etc/passwd",
        "/public/topics/t.atom",
        "/topics/t.atom.gz",
        "/config.toml",
        "/news.db",
        "/secret.txt",
        "/topics/..",
        "/topics/....//....//secret.txt",
        "//etc/passwd",
        "/topics/%252e%252e%252fsecret.txt",
    ];
    for path in attempts {
        let (status, body) = get(addr, path);
        assert_eq!(status, 404, "{path}: body {body:?}");
        for leak in ["TOP-SECRET", "root:", "[storage]", "SQLite format"] {
            assert!(!body.contains(leak), "{path}: leaked {leak}");
        }
    }
    // A very long path.
    let long = format!("/topics/{}.atom", "a".repeat(100_000));
    let (status, _) = get(addr, &long);
    assert_eq!(status, 414, "long path");
    // Oversized headers.
    let big = format!(
        "GET /topics/t.atom HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "b".repeat(1 << 20)
    );
    let (status, _) = raw_request(addr, big.as_bytes());
    // 431, or 0 when the reset of the unread rest wins the race with it.
    assert!(matches!(status, 431 | 0), "big header: {status}");
    // An oversized body: nothing here accepts one.
    let mut post = format!(
        "POST /topics/t.atom HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        8 << 20
    )
    .into_bytes();
    post.extend(std::iter::repeat_n(b'p', 8 << 20));
    let (status, _) = raw_request(addr, &post);
    // Nothing accepts a body: 405 before it is read (0 when the reset of
    // the unread rest wins the race with the answer).
    assert!(matches!(status, 405 | 0), "big POST: {status}");
    // Malformed request lines.
    for req in [
        &b"GET /topics/t.atom\0 HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET topics/t.atom HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage-tls-hello\r\n\r\n",
    ] {
        let (status, body) = raw_request(addr, req);
        assert_eq!(status, 400, "{req:?}");
        assert!(!body.contains("TOP-SECRET"));
    }
    // Still serving after all that.
    let (status, body) = get(addr, "/topics/t.atom");
    assert_eq!(status, 200, "{body}");
}

// ---- round two (issue 15): one bad item never takes down other topics ----------------

#[test]
fn year_zero_and_negative_dates_never_break_rendering_of_any_topic() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let item = |guid, title, date| Item {
        guid: Some(guid),
        link: Some("https://y0.example/a.html"),
        title: Some(title),
        description: Some("<p>年份为零的日期，检查渲染是否崩溃。</p>"),
        pub_date: Some(date),
    };
    let feed = rss2(
        "零年",
        &[
            item("y0-a", "测试 零年甲", "0000-01-01 00:00:00"),
            item("y0-b", "测试 零年乙", "Sat, 01 Jan 0000 00:00:00 +2359"),
            item("y0-c", "测试 零年丙", "0000年01月01日"),
            item("y0-d", "测试 零年丁", "-9999-01-01T00:00:00+00:00"),
        ],
    );
    server.fixed("/y0", Response::ok(RSS_TYPE, feed));
    // Topic `a` sorts before `t`: a broken `a` used to leave `t` unrendered.
    let topics = format!(
        "\n[server]\nlisten = \"127.0.0.1:0\"\n{TOPIC}\n[[topic]]\nslug = \"a\"\ntitle = \"零年\"\nquery = '零年'\n"
    );
    let (env, _run) = poll_beside_good(
        FETCH,
        src("good", &server.url("/good")),
        vec![src("y0", &server.url("/y0"))],
        &topics,
    );
    assert_eq!(env.source("y0").last_outcome.as_deref(), Some("ok"));
    assert_eq!(env.copy_titles("y0").len(), 4);
    // A database written by an older release may hold such dates whatever
    // the date reader does now: put them there directly.
    let db = env.store_rw();
    db.execute_batch(
        "UPDATE stories SET published = -62167219200 WHERE sid IN (SELECT story FROM copies WHERE source_id = 'y0' AND guid IN ('y0-a','y0-c'));
         UPDATE stories SET published = -377705116800 WHERE sid IN (SELECT story FROM copies WHERE source_id = 'y0' AND guid IN ('y0-b','y0-d'));
         UPDATE copies SET published = -377705116800 WHERE source_id = 'y0';",
    )
    .unwrap();
    drop(db);
    for slug in ["a", "t"] {
        for format in ["atom", "rss", "json"] {
            let run = env.run(&["render", slug, "--format", format]);
            assert_eq!(run.code, Some(0), "{slug}.{format}: {run:?}");
            let feed = feed_rs::parser::parse(run.stdout.as_bytes())
                .unwrap_or_else(|e| panic!("{slug}.{format}: {e}\n{}", run.stdout));
            assert!(!feed.entries.is_empty(), "{slug}.{format}");
        }
    }
    let served = serve(&env);
    for path in [
        "/topics/a.rss",
        "/topics/a.atom",
        "/topics/t.rss",
        "/topics/t.json",
    ] {
        let (status, body) = get(&served.addr, path);
        assert_eq!(status, 200, "{path}: {body}");
    }
}

#[test]
fn html_nesting_that_fools_a_text_count_is_shown_as_text_in_every_field() {
    let server = TestServer::start();
    server.fixed("/good", Response::ok(RSS_TYPE, good_feed()));
    let self_closed = format!("<p>测试 自闭合正文</p>{}", "<div/>".repeat(50_000));
    let stray = format!("<p>测试 错配正文</p>{}", "<div></p>".repeat(30_000));
    let title = format!("测试 深层标题{}", "<div>".repeat(30_000));
    let author = format!("记者{}", "<span>".repeat(30_000));
    let json = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "嵌套",
        "items": [
            {"id": "n-1", "url": "https://n.example/1", "title": "测试 自闭合",
             "content_html": self_closed, "date_published": "2023-10-09T06:00:00Z"},
            {"id": "n-2", "url": "https://n.example/2", "title": "测试 错配",
             "content_html": stray, "date_published": "2023-10-09T07:00:00Z"},
            {"id": "n-3", "url": "https://n.example/3", "title": title,
             "content_html": "<p>标题很深的一条。</p>", "authors": [{"name": author}],
             "date_published": "2023-10-09T08:00:00Z"}
        ]
    })
    .to_string();
    server.fixed("/nest", Response::ok(JSON_TYPE, json));
    let (env, _run) = poll_beside_good(
        &fetch_big(),
        src("good", &server.url("/good")),
        vec![src("nest", &server.url("/nest"))],
        TOPIC,
    );
    assert_eq!(env.source("nest").last_outcome.as_deref(), Some("ok"));
    for format in ["atom", "rss", "json"] {
        let (doc, titles) = rendered_titles(&env, format);
        assert!(
            titles.iter().any(|t| t == "测试 深层标题"),
            "{format}: {titles:?}"
        );
        assert!(
            doc.contains("自闭合正文") && doc.contains("错配正文"),
            "{format}"
        );
        // Shown as text: no nesting reaches the reader.
        assert!(
            !doc.contains("<div><div>") && !doc.contains("&lt;div&gt;&lt;div&gt;"),
            "{format}"
        );
    }
}
