//! Issue 22, round three, the HTTP server: one client cannot hold every
//! connection slot, a connection does not live or serve forever, each
//! content-coding has its own ETag, and `serve` follows a restored
//! database. The real binary (`serve`), real TCP clients (tokio), some
//! bound to other loopback addresses (127.0.0.2, 127.0.0.3) to be other
//! clients.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::*;

const A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const C: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

/// `newsriver serve`, killed when dropped.
struct Serve {
    child: Child,
    port: u16,
}

impl Serve {
    /// Starts `serve` on `env` (whose config listens on `port`) and waits
    /// until it answers.
    async fn start(env: &Env, port: u16) -> Serve {
        let log = std::fs::File::create(env.path("serve.log")).unwrap();
        let child = binary()
            .arg("--config")
            .arg(&env.config)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut serve = Serve { child, port };
        let started = Instant::now();
        loop {
            if let Some(status) = serve.child.try_wait().unwrap() {
                panic!(
                    "serve exited ({status}): {}",
                    std::fs::read_to_string(env.path("serve.log")).unwrap_or_default()
                );
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await
                && get(&mut s, "/healthz", &[]).await.is_some()
            {
                return serve;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "serve does not answer"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn connect(&self, from: Ipv4Addr) -> TcpStream {
        connect_from(from, self.port).await
    }

    /// One GET on a new connection from `from`.
    async fn get(&self, from: Ipv4Addr, path: &str, headers: &[(&str, &str)]) -> Option<Reply> {
        let mut s = self.connect(from).await;
        get(&mut s, path, headers).await
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP connection to the server from the loopback address `from`.
async fn connect_from(from: Ipv4Addr, port: u16) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap()
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Sends `GET path` (keep-alive) on `s` and reads the answer; None when the
/// server closed the connection or did not answer within 5 s.
async fn get(s: &mut TcpStream, path: &str, headers: &[(&str, &str)]) -> Option<Reply> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    s.write_all(request.as_bytes()).await.ok()?;
    tokio::time::timeout(Duration::from_secs(5), read_reply(s))
        .await
        .ok()?
}

async fn read_reply(s: &mut TcpStream) -> Option<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// Has the server closed `s` (EOF or reset) within `wait`?
async fn closed(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// `n` connections from `from`, each after one answered request, so idle
/// keep-alives.
async fn idle_keepalives(serve: &Serve, from: Ipv4Addr, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut s = serve.connect(from).await;
        let reply = get(&mut s, "/healthz", &[]).await;
        assert!(reply.is_some(), "{from}'s connection {i} is answered");
        out.push(s);
    }
    out
}

/// An env with no source and an empty database, serving on `port` with
/// these extra `[server]` lines.
fn http_env(port: u16, server_keys: &str) -> Env {
    let env = Env::with(
        FETCH,
        &[],
        &format!("{}{server_keys}", server_section(port)),
    );
    env.create_db();
    env
}

#[tokio::test]
async fn one_client_s_idle_keepalives_do_not_lock_out_another() {
    let port = free_port();
    // The per-client cap is left at its default (32).
    let env = http_env(port, "max_connections = 64\nheader_timeout_secs = 30\n");
    let serve = Serve::start(&env, port).await;

    // One client opens as many keep-alives as the server has slots.
    let mut a = idle_keepalives(&serve, A, 64).await;
    // Another client is still served, on several connections.
    for i in 0..4 {
        let reply = serve.get(B, "/healthz", &[]).await;
        assert_eq!(
            reply.map(|r| r.status),
            Some(200),
            "the other client's request {i} is served"
        );
    }
    // The first client holds at most its cap: each connection beyond it
    // closed that client's oldest idle one.
    for (i, s) in a.iter_mut().enumerate().take(32) {
        assert!(
            closed(s, Duration::from_secs(2)).await,
            "the first client's oldest connection {i} is still open"
        );
    }
    for (i, s) in a.iter_mut().enumerate().skip(32) {
        assert!(
            !closed(s, Duration::from_millis(20)).await,
            "the first client's newer connection {i} was closed"
        );
    }
}

#[tokio::test]
async fn at_the_global_cap_the_oldest_idle_or_unfinished_connection_makes_room() {
    let port = free_port();
    let env = http_env(port, "max_connections = 16\nheader_timeout_secs = 30\n");
    let serve = Serve::start(&env, port).await;

    // Two clients, neither at its own cap, fill the server: idle
    // keep-alives and requests whose headers never end.
    let mut idle = idle_keepalives(&serve, A, 8).await;
    let mut partial = Vec::new();
    for _ in 0..8 {
        let mut s = serve.connect(C).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: a")
            .await
            .unwrap();
        partial.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A third client is answered, again and again, keeping its
    // connections open.
    let mut kept = Vec::new();
    for i in 0..12 {
        let mut s = serve.connect(B).await;
        let reply = get(&mut s, "/healthz", &[]).await;
        assert_eq!(
            reply.map(|r| r.status),
            Some(200),
            "a new client's /healthz {i} at the cap"
        );
        kept.push(s);
    }
    // Room was made from the connections waiting longest for a request:
    // the idle keep-alives first, then the oldest unfinished requests.
    for (i, s) in idle.iter_mut().enumerate() {
        assert!(
            closed(s, Duration::from_secs(2)).await,
            "idle keep-alive {i} is still open"
        );
    }
    for (i, s) in partial.iter_mut().enumerate() {
        assert_eq!(
            closed(s, Duration::from_millis(200)).await,
            i < 4,
            "unfinished request {i}"
        );
    }
    for (i, s) in kept.iter_mut().enumerate() {
        assert!(
            !closed(s, Duration::from_millis(20)).await,
            "the new client's connection {i} was closed"
        );
    }
}

#[tokio::test]
async fn a_connection_serves_a_bounded_number_of_requests_for_a_bounded_time() {
    let port = free_port();
    let env = http_env(
        port,
        "max_requests_per_connection = 5\nconnection_lifetime_secs = 2\n",
    );
    let serve = Serve::start(&env, port).await;

    // The fifth request's answer says `Connection: close`, then the server closes.
    let mut s = serve.connect(A).await;
    for i in 1..=5 {
        let reply = get(&mut s, "/healthz", &[]).await.unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.closes(), i == 5, "request {i}: {reply:?}");
    }
    assert!(closed(&mut s, Duration::from_secs(2)).await);

    // A busy connection is closed after its lifetime, answers done first.
    let mut s = serve.connect(A).await;
    let started = Instant::now();
    let mut answered = 0;
    loop {
        match get(&mut s, "/healthz", &[]).await {
            Some(reply) => {
                answered += 1;
                if reply.closes() {
                    break;
                }
            }
            None => break,
        }
        assert!(answered < 5, "still open after {answered} requests");
        // Fewer than five requests in the two seconds.
        tokio::time::sleep(Duration::from_millis(700)).await;
        if started.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    let lived = started.elapsed();
    assert!(
        lived >= Duration::from_millis(1500) && lived < Duration::from_secs(5),
        "the connection lived {lived:?} ({answered} answers)"
    );

    // The keys are bounded, errors name file, line and key.
    for (key, bad) in [
        ("max_requests_per_connection", "0"),
        ("connection_lifetime_secs", "0"),
        ("max_connections_per_client", "-1"),
        ("max_connections_per_client", "100000000"),
    ] {
        let text = format!("[storage]\npath = \"news.db\"\n\n[server]\n{key} = {bad}\n");
        std::fs::write(env.path("bad.toml"), text).unwrap();
        let r = run_binary(&env.path("bad.toml"), &["check"]);
        assert_ne!(r.code, Some(0), "{key} = {bad}: {r:?}");
        assert!(
            r.stderr.contains("bad.toml:5:") && r.stderr.contains(&format!("server.{key}")),
            "{key} = {bad}: {r:?}"
        );
    }
}

fn story_feed(tag: &str, n: usize) -> Response {
    let texts: Vec<(String, String, String)> = (0..n)
        .map(|i| {
            (
                format!("{tag}-{i}"),
                format!("标题{tag}第{i}条"),
                format!("<p>{}</p>", distinct_text(tag, i)),
            )
        })
        .collect();
    let items: Vec<Item<'_>> = texts
        .iter()
        .map(|(guid, title, body)| Item {
            guid: Some(guid),
            title: Some(title),
            description: Some(body),
            ..Default::default()
        })
        .collect();
    Response::ok(RSS_TYPE, rss2(tag, &items))
}

/// 120 characters that no other (tag, i) shares many shingles with.
fn distinct_text(tag: &str, i: usize) -> String {
    let alphabet: Vec<char> =
        "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥春夏秋冬东南西北山水火木金土日月星云风雨雪"
            .chars()
            .collect();
    let mut x: u64 = tag.bytes().fold(i as u64 + 1, |h, b| h * 131 + b as u64);
    (0..120)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            alphabet[(x >> 33) as usize % alphabet.len()]
        })
        .collect()
}

const TOPIC: &str = "[[topic]]\nslug = \"t\"\ntitle = \"T\"\nquery = '标题'\n";

#[tokio::test]
async fn each_content_coding_has_its_own_etag_and_304_matches_the_one_sent() {
    let feeds = TestServer::start();
    feeds.fixed("/a", story_feed("a", 3));
    let port = free_port();
    let env = Env::with(
        FETCH,
        &[src("a", &feeds.url("/a"))],
        &format!("{}{TOPIC}", server_section(port)),
    );
    env.poll(&[]);
    let serve = Serve::start(&env, port).await;

    let mut tags = Vec::new();
    for coding in ["identity", "gzip", "br"] {
        let reply = serve
            .get(A, "/topics/t.atom", &[("Accept-Encoding", coding)])
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        assert!(!reply.body.is_empty());
        let sent = reply.header("content-encoding").unwrap_or("identity");
        assert_eq!(sent, coding);
        assert_eq!(reply.header("vary"), Some("Accept-Encoding"));
        let etag = reply.header("etag").unwrap().to_string();
        assert!(
            etag.starts_with('"') && etag.ends_with('"'),
            "a strong tag: {etag}"
        );
        tags.push((coding, etag));
    }
    assert_ne!(tags[0].1, tags[1].1, "identity and gzip share an ETag");
    assert_ne!(tags[0].1, tags[2].1, "identity and br share an ETag");
    assert_ne!(tags[1].1, tags[2].1, "gzip and br share an ETag");

    for (coding, etag) in &tags {
        for (asked, other) in &tags {
            let reply = serve
                .get(
                    A,
                    "/topics/t.atom",
                    &[("Accept-Encoding", coding), ("If-None-Match", other)],
                )
                .await
                .unwrap();
            let expected = if asked == coding { 304 } else { 200 };
            assert_eq!(
                reply.status, expected,
                "{coding} asked with the {asked} tag {other}"
            );
            assert_eq!(reply.header("vary"), Some("Accept-Encoding"));
            if expected == 304 {
                assert_eq!(reply.header("etag"), Some(etag.as_str()));
            }
        }
        // Weak comparison, and a list.
        let weak = format!("\"nope\", W/{etag}");
        let reply = serve
            .get(
                A,
                "/topics/t.atom",
                &[("Accept-Encoding", coding), ("If-None-Match", &weak)],
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 304, "{coding} with {weak}");
    }
}

#[tokio::test]
async fn serve_follows_a_restored_database_and_is_unhealthy_without_one() {
    if sqlite_only("restore and a moved database file are SQLite's") {
        return;
    }
    let feeds = TestServer::start();
    feeds.fixed("/a", story_feed("a", 2));
    feeds.fixed("/b", story_feed("b", 2));
    let port = free_port();
    let env = Env::with(
        FETCH,
        &[src("a", &feeds.url("/a")), src("b", &feeds.url("/b"))],
        &format!("{}{TOPIC}", server_section(port)),
    );
    env.poll(&["--source", "a"]);
    let backup = env.path("a-only.db");
    let made = env.run(&["backup", backup.to_str().unwrap()]);
    assert_eq!(made.code, Some(0), "{made:?}");
    env.poll(&[]);
    let serve = Serve::start(&env, port).await;
    let feed = serve.get(A, "/topics/t.atom", &[]).await.unwrap();
    assert!(String::from_utf8_lossy(&feed.body).contains("标题b第0条"));

    let r = env.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let started = Instant::now();
    loop {
        let feed = serve.get(A, "/topics/t.atom", &[]).await.unwrap();
        let text = String::from_utf8_lossy(&feed.body).into_owned();
        if !text.contains("标题b第0条") {
            assert!(text.contains("标题a第0条"), "{text}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still serving the database from before the restore"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let health = serve.get(A, "/healthz", &[]).await.unwrap();
    assert_eq!(health.status, 200, "{health:?}");

    // The database moved away: not healthy; back: healthy again.
    let away = env.path("away.db");
    std::fs::rename(env.db_path(), &away).unwrap();
    let started = Instant::now();
    loop {
        let health = serve.get(A, "/healthz", &[]).await.unwrap();
        if health.status == 503 {
            let body = String::from_utf8_lossy(&health.body).into_owned();
            assert!(body.contains("database"), "{body}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "/healthz is still ok with no database file"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    std::fs::rename(&away, env.db_path()).unwrap();
    let started = Instant::now();
    while serve.get(A, "/healthz", &[]).await.unwrap().status != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "/healthz does not recover when the database is back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
