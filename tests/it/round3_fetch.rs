//! Issue 22, round three, fetching: large full-text sources cannot deadlock
//! the fetcher (item 8), per-host politeness is charged to the host each
//! request reaches, however the host is spelled (item 11), article pages
//! cannot reach private services through the global private-address switch
//! (item 13), and pages are asked for as HTML (item 17).

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

const PARAS: &[&str] = &[
    "记者从市交通委获悉，新建地铁线路今天开通试运营，全长二十八公里，沿线设有多个大型换乘枢纽。",
    "线路共设车站二十座，其中换乘站六座，连接城市东西两大居住区，预计日均客流将超过三十万人次。",
    "开通初期，列车最小行车间隔为六分钟，运营时间为早六点至晚十一点，节假日将视客流情况加开列车。",
    "市民可通过手机扫码乘车，也可使用交通卡和银行卡闪付进站，老年人凭有效证件可免费乘坐。",
    "市交通委表示，下一步将继续优化公交接驳线路，方便沿线居民换乘，缓解早晚高峰的交通压力。",
];

/// An article page about `topic`, padded with a script of `pad` bytes (the
/// HTML tokenizer reads script text in runs: cheaper than a comment).
fn article(topic: &str, pad: usize) -> String {
    let body: String = PARAS
        .iter()
        .map(|p| format!("<p>{topic}：{p}</p>\n"))
        .collect();
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{topic}</title></head><body>\
         <script>var pad = \"{}\";</script><div class=\"nav\"><a href=\"/\">首页</a></div><article><h1>{topic}</h1>{body}</article>\
         </body></html>",
        "x".repeat(pad)
    )
}

/// An RSS feed whose items link to `links`, padded with an XML comment of
/// `pad` bytes.
fn feed(links: &[String], pad: usize) -> String {
    let guids: Vec<String> = (0..links.len()).map(|i| format!("g{i}")).collect();
    let titles: Vec<String> = (0..links.len()).map(|i| format!("第{i}条新闻")).collect();
    let items: Vec<Item<'_>> = (0..links.len())
        .map(|i| Item {
            guid: Some(&guids[i]),
            link: Some(&links[i]),
            title: Some(&titles[i]),
            description: Some("摘要。"),
            pub_date: None,
        })
        .collect();
    let rss = rss2("某某新闻网", &items);
    rss.replacen(
        "<channel>",
        &format!("<channel><!--{}-->", "x".repeat(pad)),
        1,
    )
}

const MIB: usize = 1024 * 1024;

/// Source `s`'s two article pages, each 1.5 MiB, served; their links.
fn large_pages(server: &TestServer, s: usize) -> Vec<String> {
    (0..2)
        .map(|p| {
            server.fixed(
                &format!("/{s}/{p}.html"),
                Response::ok(
                    "text/html; charset=utf-8",
                    article(&format!("第{s}站第{p}篇"), MIB + MIB / 2),
                ),
            );
            server.url(&format!("/{s}/{p}.html"))
        })
        .collect()
}

/// The `full_text` source of `/{s}/feed.xml`.
fn big_source(server: &TestServer, s: usize) -> Src {
    let mut src = src(&format!("big{s}"), &server.url(&format!("/{s}/feed.xml")));
    src.extra = "full_text = true\n".into();
    src
}

/// Item 8: three `full_text` sources whose feed and pages are each over
/// 1 MiB, with room for three large bodies in flight. Each feed held a
/// large-body slot while its pages waited for one: `poll` never ended.
#[test]
fn large_full_text_sources_do_not_deadlock_the_fetcher() {
    let server = TestServer::start();
    let mut sources = Vec::new();
    for s in 0..3 {
        let links = large_pages(&server, s);
        server.fixed(
            &format!("/{s}/feed.xml"),
            Response::ok(RSS_TYPE, feed(&links, MIB + MIB / 2)),
        );
        sources.push(big_source(&server, s));
    }
    // Three large bodies in flight (12 MiB / 4 MiB), as the defaults give.
    let fetch = "[fetch]\nallow_private_addresses = true\ntimeout_secs = 10\n\
                 max_body_bytes = 4194304\nmax_bytes_in_flight = 12582912\n";
    let env = Env::with(fetch, &sources, "");
    let started = Instant::now();
    // `run_command` kills the child and fails the test after 60 s.
    let r = env.poll(&[]);
    assert_eq!(summary_counts(&r.stderr), (3, 0, 0), "{r:?}");
    assert!(
        r.stderr
            .contains("full text: 6 pages fetched, 0 failed, 0 skipped"),
        "{r:?}"
    );
    eprintln!(
        "three large full-text sources polled in {:?}",
        started.elapsed()
    );
}

/// Item 8 under `run`: the same three large sources, and a small one on
/// the same host. The large ones' pages held every request slot of the
/// host while waiting for a large-body slot the feeds held: the small
/// source was never polled again, the large ones never finished, and
/// `/healthz` said ok. Now all keep polling and `/healthz` is ok for real.
#[test]
fn under_run_large_full_text_sources_do_not_stop_their_host() {
    let server = TestServer::start();
    let mut sources = Vec::new();
    for s in 0..3 {
        let links = large_pages(&server, s);
        let body = feed(&links, MIB + MIB / 2);
        server.route(&format!("/{s}/feed.xml"), move |req| {
            if req.header("if-none-match").is_some() {
                Response::new(304)
            } else {
                Response::ok(RSS_TYPE, body.clone()).header("ETag", "\"v1\"")
            }
        });
        sources.push(big_source(&server, s));
    }
    server.fixed("/small.xml", Response::ok(RSS_TYPE, feed(&[], 0)));
    sources.push(src("small", &server.url("/small.xml")));
    let fetch = "[fetch]\nallow_private_addresses = true\ntimeout_secs = 10\n\
                 max_body_bytes = 4194304\nmax_bytes_in_flight = 12582912\n";
    let port = free_port();
    let env = Env::with(
        fetch,
        &sources,
        &format!("{EVERY_SECOND}{}", server_section(port)),
    );
    let mut daemon = spawn_daemon(&env.config, Some(&env.path("daemon.log")));
    let polls = |sql: &str| -> i64 {
        // (On PostgreSQL the tables are there once the daemon migrated.)
        if env.pg.is_none() && !env.db_path().exists() {
            return 0;
        }
        env.store()
            .query_row(sql, NONE, |r| r.get(0))
            .unwrap_or_default()
    };
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(
            Duration::from_secs(45),
            || {
                polls("SELECT count(*) FROM polls WHERE source_id = 'small'") >= 3
                    && polls(
                        "SELECT count(DISTINCT source_id) FROM polls WHERE source_id LIKE 'big%' AND outcome = 'ok'",
                    ) == 3
            },
            "the small source polls again and the large ones finish",
        )
    }));
    let health = healthz(port);
    let _ = daemon.kill();
    let _ = daemon.wait();
    let log = std::fs::read_to_string(env.path("daemon.log")).unwrap_or_default();
    assert!(waited.is_ok(), "{log}");
    assert_eq!(
        env.count("SELECT count(*) FROM copies WHERE page_tries > 0"),
        0,
        "{log}"
    );
    let (status, body) = health.unwrap_or_else(|| panic!("no /healthz answer\n{log}"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
}

/// Status and body of the daemon's `/healthz` on `port`.
fn healthz(port: u16) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// A one-route HTTP server on `ip` (its own thread) answering every
/// request with `reply`; the port.
fn raw_server(ip: &str, reply: String) -> u16 {
    let listener = std::net::TcpListener::bind((ip, 0)).expect("bind the raw server");
    let port = listener.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut head = [0u8; 4096];
            let _ = s.read(&mut head);
            let _ = s.write_all(reply.as_bytes());
        }
    });
    port
}

/// Item 11: with `per_host = 1` and `host_interval_ms = 1000`, requests to
/// one server reached as `127.0.0.1`, `localhost`, `LOCALHOST` and through
/// a redirect from another address arrive one a second, one at a time.
#[test]
fn politeness_is_charged_to_the_host_each_request_reaches() {
    let server = TestServer::start();
    let port = server.port();
    let arrivals: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    for path in ["/a", "/b", "/c", "/d"] {
        let arrivals = arrivals.clone();
        let body = rss2(
            "t",
            &[Item {
                guid: Some(path),
                title: Some(path),
                ..Default::default()
            }],
        );
        server.route(path, move |_| {
            arrivals
                .lock()
                .unwrap()
                .push((path.to_string(), Instant::now()));
            Response::ok(RSS_TYPE, body.clone()).delay(Duration::from_millis(300))
        });
    }
    // Another loopback address: its own host, whose redirect hop reaches
    // the server's.
    let hop = raw_server(
        "127.0.0.2",
        format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    let sources = [
        src("a", &format!("http://127.0.0.1:{port}/a")),
        src("b", &format!("http://localhost:{port}/b")),
        src("c", &format!("http://LOCALHOST:{port}/c")),
        src("d", &format!("http://127.0.0.2:{hop}/r")),
    ];
    let fetch = "[fetch]\nallow_private_addresses = true\ntimeout_secs = 10\n\
                 per_host = 1\nhost_interval_ms = 1000\nconcurrency = 8\n";
    let env = Env::with(fetch, &sources, "");
    let r = env.poll(&[]);
    assert_eq!(summary_counts(&r.stderr), (4, 0, 0), "{r:?}");
    let mut seen = arrivals.lock().unwrap().clone();
    seen.sort_by_key(|(_, t)| *t);
    assert_eq!(seen.len(), 4, "{seen:?}");
    for pair in seen.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            gap >= Duration::from_millis(900),
            "{} then {} only {gap:?} apart: one host, one request a second",
            pair[0].0,
            pair[1].0
        );
    }
}

/// Item 13: with `[fetch] allow_private_addresses = true` (for some
/// intranet feed), a full-text source's item links must not reach another
/// private service: its answer is neither stored nor published. The
/// source's own origin still is fetched.
#[test]
fn pages_reach_private_addresses_only_on_their_feeds_origin() {
    let internal = TestServer::start();
    for path in ["/admin", "/named"] {
        internal.fixed(
            path,
            Response::ok("text/html; charset=utf-8", article("内部机密INTERNAL", 0)),
        );
    }
    let site = TestServer::start();
    site.fixed(
        "/own.html",
        Response::ok("text/html; charset=utf-8", article("本站文章", 0)),
    );
    // A public-looking link that redirects inside.
    site.fixed(
        "/go.html",
        Response::new(302).header("Location", &internal.url("/admin")),
    );
    let links = vec![
        internal.url("/admin"),
        format!("http://localhost:{}/named", internal.port()),
        site.url("/go.html"),
        site.url("/own.html"),
    ];
    site.fixed("/feed.xml", Response::ok(RSS_TYPE, feed(&links, 0)));
    let fetch = "[fetch]\nallow_private_addresses = true\ntimeout_secs = 5\nfull_text = true\n";
    let env = Env::with(
        fetch,
        &[src("a", &site.url("/feed.xml"))],
        "[[topic]]\nslug = \"all\"\ntitle = \"全部\"\nquery = '新闻'\n",
    );
    let r = env.poll(&[]);
    assert_eq!(summary_counts(&r.stderr), (1, 0, 0), "{r:?}");
    assert!(
        r.stderr
            .contains("full text: 1 pages fetched, 3 failed, 0 skipped"),
        "{r:?}"
    );
    assert!(
        internal.requests("/admin").is_empty() && internal.requests("/named").is_empty(),
        "the internal server was reached"
    );
    // Refused for good (not a failure that may pass): no page waits for
    // another try.
    assert_eq!(
        env.count("SELECT count(*) FROM copies WHERE page_tries > 0"),
        0,
        "a refused page is tried again"
    );
    let exported = serde_json::to_string(&env.export(&[])).unwrap();
    assert!(exported.contains("本站文章"), "{exported}");
    assert!(!exported.contains("INTERNAL"), "{exported}");
    let render = env.run(&["render", "all", "--format", "json"]);
    assert!(
        !render.stdout.contains("INTERNAL") && !render.stderr.contains("INTERNAL"),
        "{render:?}"
    );
}

/// Item 17: feeds are asked for as feeds, article pages as HTML.
#[test]
fn article_pages_are_requested_as_html() {
    let server = TestServer::start();
    server.fixed(
        "/p.html",
        Response::ok("text/html; charset=utf-8", article("页面", 0)),
    );
    server.fixed(
        "/feed.xml",
        Response::ok(RSS_TYPE, feed(&[server.url("/p.html")], 0)),
    );
    let fetch = "[fetch]\nallow_private_addresses = true\ntimeout_secs = 5\nfull_text = true\n";
    let env = Env::with(fetch, &[src("a", &server.url("/feed.xml"))], "");
    env.poll(&[]);
    let page = server.requests("/p.html");
    let accept = page
        .first()
        .and_then(|r| r.header("accept"))
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        accept, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
        "the page's Accept"
    );
    let feed_accept = server.requests("/feed.xml")[0]
        .header("accept")
        .unwrap_or_default()
        .to_string();
    assert!(
        feed_accept.starts_with("application/rss+xml"),
        "{feed_accept}"
    );
}
