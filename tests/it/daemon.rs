//! The daemon and polite polling, against local servers: the real binary,
//! a real SQLite file, signals sent to the real process.

use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

fn feed(title: &str) -> String {
    rss2(
        "测试",
        &[Item {
            guid: Some("1"),
            link: Some("https://outlet.example/1"),
            title: Some(title),
            description: Some(
                "<p>这是一条用于测试守护进程的新闻，正文足够长，可以计算内容哈希。</p>",
            ),
            pub_date: None,
        }],
    )
}

fn ok_feed(title: &str) -> Response {
    Response::ok("application/rss+xml; charset=utf-8", feed(title))
}

// ---- one-shot polls: redirects, 410, 429 ------------------------------------

#[test]
fn permanent_redirects_are_remembered_temporary_ones_are_not() {
    let server = TestServer::start();
    server.fixed("/old", Response::new(301).header("Location", "/new"));
    server.fixed("/new", ok_feed("永久"));
    server.fixed(
        "/tmp-old",
        Response::new(302).header("Location", "/tmp-new"),
    );
    server.fixed("/tmp-new", ok_feed("临时"));
    let env = Env::new(&[
        src("moved", &server.url("/old")),
        src("temp", &server.url("/tmp-old")),
    ]);
    env.poll(&[]);
    env.poll(&[]);
    assert_eq!(
        server.requests("/old").len(),
        1,
        "a 301 is followed directly next time"
    );
    assert_eq!(server.requests("/new").len(), 2);
    assert_eq!(
        server.requests("/tmp-old").len(),
        2,
        "a 302 is not remembered"
    );
    let moved: Option<String> = env
        .store()
        .query_row(
            "SELECT moved_to FROM sources WHERE id = 'moved'",
            NONE,
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(moved.as_deref(), Some(server.url("/new").as_str()));
    let temp: Option<String> = env
        .store()
        .query_row(
            "SELECT moved_to FROM sources WHERE id = 'temp'",
            NONE,
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(temp, None);
}

#[test]
fn gone_and_retry_after_are_recorded() {
    let server = TestServer::start();
    server.fixed("/gone", Response::new(410));
    server.fixed("/busy", Response::new(429).header("Retry-After", "3600"));
    let env = Env::new(&[
        src("gone", &server.url("/gone")),
        src("busy", &server.url("/busy")),
    ]);
    let run = env.poll(&[]);
    assert!(run.stderr.contains("gone"), "{run:?}");
    let (outcome, gone_at): (String, Option<i64>) = env
        .store()
        .query_row(
            "SELECT last_outcome, gone_at FROM sources WHERE id = 'gone'",
            NONE,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(outcome, "gone");
    assert!(gone_at.is_some());
    let (error, until): (String, i64) = env
        .store()
        .query_row(
            "SELECT last_error, retry_after_until FROM sources WHERE id = 'busy'",
            NONE,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        error.contains("429") && error.contains("Retry-After"),
        "{error}"
    );
    let wait = until - chrono::Utc::now().timestamp();
    assert!((3500..=3600).contains(&wait), "retry after {wait} s");
}

#[test]
fn requests_to_one_host_are_spaced_by_host_interval_ms() {
    let server = TestServer::start();
    let times = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let mut sources = Vec::new();
    for i in 0..4 {
        let path = format!("/f{i}");
        let times = times.clone();
        server.route(&path, move |_| {
            times.lock().unwrap().push(Instant::now());
            ok_feed("间隔")
        });
        sources.push(src(&format!("f{i}"), &server.url(&path)));
    }
    let fetch = format!("{FETCH}host_interval_ms = 300\n");
    let env = Env::with(&fetch, &sources, "");
    env.poll(&[]);
    let mut times = times.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), 4);
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!(gap >= Duration::from_millis(280), "requests {gap:?} apart");
    }
}

// ---- the daemon ---------------------------------------------------------------

struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    fn start(env: &Env) -> Daemon {
        let port = free_port();
        let text = std::fs::read_to_string(&env.config).unwrap();
        std::fs::write(&env.config, format!("{text}\n{}", server_section(port))).unwrap();
        let child = spawn_daemon(&env.config, Some(&env.path("daemon.log")));
        let d = Daemon { child, port };
        // Any answer will do: /healthz is 503 until a source has succeeded.
        wait_for(
            Duration::from_secs(20),
            || d.get_any("/healthz").is_some(),
            "the daemon listens",
        );
        d
    }

    fn get(&self, path: &str) -> Option<String> {
        let resp = reqwest::blocking_get(&format!("http://127.0.0.1:{}{path}", self.port))?;
        Some(resp)
    }

    /// Status and body, whatever the status.
    fn get_any(&self, path: &str) -> Option<(u16, String)> {
        reqwest::blocking_get_any(&format!("http://127.0.0.1:{}{path}", self.port))
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// SIGTERM and wait; returns how long the exit took.
    fn stop(mut self) -> Duration {
        let started = Instant::now();
        self.signal("-TERM");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "daemon exit status {status}");
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the daemon did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny blocking GET for the daemon's own endpoints.
mod reqwest {
    /// The body of a 200 (None otherwise).
    pub fn blocking_get(url: &str) -> Option<String> {
        blocking_get_any(url).and_then(|(status, body)| (status == 200).then_some(body))
    }

    /// Status and body of any answer (None when there is none).
    pub fn blocking_get_any(url: &str) -> Option<(u16, String)> {
        crate::common::http_get(url)
    }
}

#[test]
fn daemon_polls_on_schedule_backs_off_reloads_and_serves_health_and_metrics() {
    let server = TestServer::start();
    server.fixed("/a", ok_feed("甲"));
    server.fixed("/busy", Response::new(429).header("Retry-After", "3600"));
    // Fails three times, then recovers.
    let flaky_hits = Arc::new(AtomicUsize::new(0));
    let flaky_times = Arc::new(Mutex::new(Vec::<Instant>::new()));
    {
        let hits = flaky_hits.clone();
        let times = flaky_times.clone();
        server.route("/flaky", move |_| {
            times.lock().unwrap().push(Instant::now());
            if hits.fetch_add(1, Ordering::SeqCst) < 3 {
                Response::new(500)
            } else {
                ok_feed("恢复")
            }
        });
    }
    server.fixed("/b", ok_feed("乙"));
    let sources = [
        src("a", &server.url("/a")),
        src("busy", &server.url("/busy")),
        src("flaky", &server.url("/flaky")),
    ];
    let env = Env::with(FETCH, &sources, EVERY_SECOND);
    let daemon = Daemon::start(&env);

    // Polled every second.
    wait_for(
        Duration::from_secs(10),
        || server.requests("/a").len() >= 3,
        "a is polled three times",
    );
    // 429 with Retry-After: not polled again before then.
    assert_eq!(server.requests("/busy").len(), 1, "Retry-After is honoured");

    // Backoff: the flaky source waits 1, 2, 4 periods between its failures,
    // then recovers on the first success.
    wait_for(
        Duration::from_secs(20),
        || env.source("flaky").last_outcome.as_deref() == Some("ok"),
        "the flaky source recovers",
    );
    let times = flaky_times.lock().unwrap().clone();
    assert!(times.len() >= 4);
    let gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    assert!(
        gaps[1] > gaps[0] + 0.5 && gaps[2] > gaps[1] + 0.5,
        "exponential backoff: {gaps:?}"
    );
    let failures: i64 = env.count("SELECT consecutive_failures FROM sources WHERE id = 'flaky'");
    assert_eq!(failures, 0);

    // /healthz and /metrics.
    let health = daemon.get("/healthz").unwrap();
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["database"], true);
    assert!(health["last_successful_poll_age_secs"].as_i64().unwrap() < 5);
    let metrics = daemon.get("/metrics").unwrap();
    assert!(
        metrics.contains("newsriver_polls_total{outcome=\"not_modified\"}")
            || metrics.contains("newsriver_polls_total{outcome=\"ok\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("newsriver_fetch_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("newsriver_sources_in_backoff"),
        "{metrics}"
    );

    // SIGHUP with a new source: polled without a restart.
    let mut with_b = sources
        .iter()
        .map(|s| src(&s.id, &s.url))
        .collect::<Vec<_>>();
    with_b.push(src("b", &server.url("/b")));
    let port_section = std::fs::read_to_string(&env.config).unwrap();
    let server_section = &port_section[port_section.find("\n[server]").unwrap()..];
    env.write_config(FETCH, &with_b, &format!("{EVERY_SECOND}{server_section}"));
    let reload = env.run(&["reload"]);
    assert_eq!(reload.code, Some(0), "{reload:?}");
    assert!(reload.stdout.contains("SIGHUP"), "{reload:?}");
    wait_for(
        Duration::from_secs(10),
        || !server.requests("/b").is_empty(),
        "the new source is polled",
    );

    // SIGHUP with a broken config: logged, the old one keeps running.
    std::fs::write(&env.config, "[[source]]\nid = \"x\"\nurl = \"not a url\"\n").unwrap();
    daemon.signal("-HUP");
    let before = server.requests("/b").len();
    wait_for(
        Duration::from_secs(10),
        || server.requests("/b").len() >= before + 2,
        "polling goes on",
    );
    let log = std::fs::read_to_string(env.path("daemon.log")).unwrap();
    assert!(
        log.contains("reload failed") && log.contains("config.toml:3"),
        "{log}"
    );

    let took = daemon.stop();
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
    if env.pg.is_none() {
        assert_eq!(integrity(&env.db_path()), "ok");
    }
}

#[test]
fn sigterm_during_a_slow_poll_exits_within_the_bound_and_leaves_a_sound_database() {
    let server = TestServer::start();
    server.fixed("/a", ok_feed("甲"));
    server.fixed("/slow", ok_feed("慢").delay(Duration::from_secs(60)));
    let fetch = FETCH.replace("timeout_secs = 2", "timeout_secs = 120");
    let env = Env::with(
        &fetch,
        &[
            src("a", &server.url("/a")),
            src("slow", &server.url("/slow")),
        ],
        EVERY_SECOND,
    );
    let daemon = Daemon::start(&env);
    wait_for(
        Duration::from_secs(10),
        || !server.requests("/slow").is_empty(),
        "the slow poll is in flight",
    );
    wait_for(
        Duration::from_secs(10),
        || env.stories() >= 1,
        "the fast source is stored",
    );
    let took = daemon.stop();
    assert!(
        took < newsriver::daemon::SHUTDOWN_GRACE + Duration::from_secs(5),
        "stopped in {took:?}"
    );
    if env.pg.is_none() {
        assert_eq!(integrity(&env.db_path()), "ok");
    }
    assert_eq!(
        env.stories(),
        1,
        "the fast source's story is intact; the slow one left nothing"
    );
}

#[test]
fn the_daemon_picks_up_config_edits_by_watching_the_file_and_by_reload() {
    let server = TestServer::start();
    server.fixed("/one", ok_feed("第一个来源的新闻标题"));
    server.fixed(
        "/two",
        Response::ok(
            "application/rss+xml; charset=utf-8",
            rss2(
                "二",
                &[Item {
                    guid: Some("2"),
                    link: Some("https://outlet.example/2"),
                    title: Some("第二个来源的新闻标题"),
                    description: Some(
                        "<p>另一条完全不同的新闻，讲的是天津的港口建设和物流发展，正文足够长。</p>",
                    ),
                    pub_date: None,
                }],
            ),
        ),
    );
    let env = Env::with(
        &format!("{FETCH}\n{EVERY_SECOND}"),
        &[src("one", &server.url("/one"))],
        "",
    );
    let daemon = Daemon::start(&env);
    wait_for(
        Duration::from_secs(20),
        || env.copies() == 1,
        "the first source is polled",
    );

    // No signal: the daemon notices the rewritten file.
    let r = env.run(&[
        "sources",
        "add",
        "--no-fetch",
        "--id",
        "two",
        &server.url("/two"),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    wait_for(
        Duration::from_secs(20),
        || env.copies() == 2,
        "the added source is polled without a reload signal",
    );

    // --reload sends SIGHUP through the pid file; a disabled source stops
    // being polled.
    let r = env.run(&["sources", "disable", "--reload", "two"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("sent SIGHUP"), "{r:?}");
    std::thread::sleep(Duration::from_millis(1500));
    let polled = server.requests("/two").len();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        server.requests("/two").len(),
        polled,
        "a disabled source is not polled"
    );
    assert!(server.requests("/one").len() > 2, "the others go on");
    daemon.stop();
    let log = std::fs::read_to_string(env.path("daemon.log")).unwrap();
    assert!(log.contains("configuration file changed"), "{log}");
    assert!(log.contains("configuration reloaded"), "{log}");
}

// ---- round two: ops edges (issue 15) -------------------------------------------

/// Starts `run` with its open-file limit lowered to `nofile` (a shell's
/// `ulimit -n`), so a bounded number of idle connections can exhaust it.
fn spawn_daemon_with_nofile(config: &std::path::Path, log: &std::path::Path, nofile: u32) -> Child {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {nofile} && exec \"$0\" --config \"$1\" run"
        ))
        .arg(env!("CARGO_BIN_EXE_newsriver"))
        .arg(config)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(
            std::fs::File::create(log).unwrap(),
        ))
        .spawn()
        .unwrap()
}

/// Has the server closed this connection (EOF or reset), within `wait`?
fn closed_by_server(stream: &mut std::net::TcpStream, wait: Duration) -> bool {
    use std::io::Read;
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 or 400 answer before the close
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn idle_and_slow_connections_cannot_starve_serving_or_polling() {
    let server = TestServer::start();
    server.fixed("/a", ok_feed("甲"));
    let port = free_port();
    let extra = format!(
        "{EVERY_SECOND}{}header_timeout_secs = 2\nidle_timeout_secs = 3\n",
        server_section(port)
    );
    let env = Env::with(FETCH, &[src("a", &server.url("/a"))], &extra);
    let log = env.path("daemon.log");
    // 128 descriptors: without a cap, 150 idle connections take them all.
    let child = spawn_daemon_with_nofile(&env.config, &log, 128);
    let daemon = Daemon { child, port };
    wait_for(
        Duration::from_secs(20),
        || daemon.get_any("/healthz").is_some(),
        "the daemon listens",
    );
    wait_for(
        Duration::from_secs(10),
        || !server.requests("/a").is_empty(),
        "the source is polled",
    );

    let addr = format!("127.0.0.1:{port}");
    let mut idle: Vec<std::net::TcpStream> = (0..150)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    // A slowloris: a header byte every 300 ms, never a whole request.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    let slow_started = Instant::now();
    let dripper = {
        let mut s = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            for b in
                b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter()
            {
                if s.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };

    // A fresh request is answered while the idle connections are open
    // (one that arrives at the cap is closed at once; a retry gets in).
    let polled_before = server.requests("/a").len();
    let started = Instant::now();
    wait_for(
        Duration::from_secs(8),
        || daemon.get_any("/healthz").is_some(),
        "a fresh request is served despite 150 idle connections",
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    // Polling keeps its descriptors.
    wait_for(
        Duration::from_secs(10),
        || server.requests("/a").len() >= polled_before + 2,
        "polling goes on",
    );
    // Every idle connection is closed by the server: beyond the cap at
    // once, the others after the header timeout.
    for (i, s) in idle.iter_mut().enumerate() {
        assert!(
            closed_by_server(s, Duration::from_secs(8)),
            "idle connection {i} is still open"
        );
    }
    assert!(
        closed_by_server(&mut slow, Duration::from_secs(8)),
        "the slowloris connection is still open"
    );
    assert!(
        slow_started.elapsed() < Duration::from_secs(12),
        "the slowloris was cut by the header timeout, not by running out of bytes: {:?}",
        slow_started.elapsed()
    );
    let _ = dripper.join();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !log_text.contains("Too many open files"),
        "polling ran out of descriptors: {log_text}"
    );
    daemon.stop();
}

#[test]
fn a_second_daemon_on_the_same_database_refuses_to_start_and_restore_waits_for_the_first() {
    if sqlite_only(
        "one daemon per SQLite file (pid file, restore); PostgreSQL is shared by several (postgres.rs)",
    ) {
        return;
    }
    let server = TestServer::start();
    server.fixed("/a", ok_feed("甲"));
    let env = Env::with(FETCH, &[src("a", &server.url("/a"))], EVERY_SECOND);
    let daemon = Daemon::start(&env);
    let first = daemon.child.id();
    let pid_file = env.path("news.db.pid");
    wait_for(
        Duration::from_secs(10),
        || pid_file.exists(),
        "the pid file is written",
    );

    // The second `run`: another port, the same database.
    let text = std::fs::read_to_string(&env.config).unwrap();
    let second_port = free_port();
    let start = text.find("\n[server]").unwrap();
    let second_config = env.path("second.toml");
    std::fs::write(
        &second_config,
        format!("{}\n{}", &text[..start], server_section(second_port)),
    )
    .unwrap();
    let mut second = spawn_daemon(&second_config, Some(&env.path("second.log")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = second.kill();
            let _ = second.wait();
            panic!("a second daemon on the same database kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1));
    let second_log = std::fs::read_to_string(env.path("second.log")).unwrap();
    assert!(
        second_log.contains(&format!("pid {first}")) && second_log.contains("news.db"),
        "the error names the running daemon: {second_log}"
    );
    // The first daemon's pid file is still there, still naming it.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(pid.trim(), first.to_string());

    // restore is refused while the daemon runs, whatever the pid file says.
    let backup = env.path("backup.db");
    let r = env.run(&["backup", backup.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{r:?}");
    std::fs::remove_file(&pid_file).unwrap();
    let r = env.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains(&format!("pid {first}")) && r.stderr.contains("stop it"),
        "{r:?}"
    );
    daemon.stop();
    // Stopped: restore may go ahead.
    let r = env.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[test]
fn healthz_is_not_ok_until_a_source_has_succeeded_and_failures_are_logged_once() {
    let server = TestServer::start();
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let healthy = healthy.clone();
        server.route("/a", move |_| {
            if healthy.load(Ordering::SeqCst) {
                ok_feed("甲")
            } else {
                Response::new(500)
            }
        });
    }
    // A feed whose parse error quotes an escape sequence.
    server.fixed(
        "/evil",
        Response::ok(
            "application/rss+xml",
            "<rss version=\"2.0\"><chan\u{1b}[31mnel></rss>",
        ),
    );
    let env = Env::with(
        FETCH,
        &[
            src("a", &server.url("/a")),
            src("evil", &server.url("/evil")),
        ],
        EVERY_SECOND,
    );
    let daemon = Daemon::start(&env);
    wait_for(
        Duration::from_secs(10),
        || server.requests("/a").len() >= 2 && !server.requests("/evil").is_empty(),
        "both sources are polled",
    );
    let (status, body) = daemon.get_any("/healthz").unwrap();
    assert_eq!(status, 503, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "starting", "{body}");
    assert_eq!(health["database"], true, "{body}");
    assert!(
        health["reason"].as_str().unwrap().contains("no source"),
        "{body}"
    );

    healthy.store(true, Ordering::SeqCst);
    wait_for(
        Duration::from_secs(20),
        || daemon.get_any("/healthz").is_some_and(|(s, _)| s == 200),
        "healthz turns ok after the first success",
    );
    let (_, body) = daemon.get_any("/healthz").unwrap();
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok", "{body}");
    assert!(health.get("reason").is_none(), "{body}");

    // /metrics: HELP for every family, per-source failures and last success.
    let metrics = daemon.get("/metrics").unwrap();
    let families: std::collections::BTreeSet<&str> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(families.len() >= 6, "{metrics}");
    for family in &families {
        assert!(
            metrics.contains(&format!("# HELP {family} ")),
            "no HELP for {family}: {metrics}"
        );
    }
    assert!(
        metrics.contains("newsriver_source_failures_total{source=\"evil\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("newsriver_source_consecutive_failures{source=\"evil\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("newsriver_source_last_success_timestamp_seconds{source=\"a\"}"),
        "{metrics}"
    );
    promtool_check(&metrics);

    daemon.stop();
    // Each failed poll is one log line, with the escape sequence made visible.
    let failed_polls = env.count(
        "SELECT count(*) FROM polls WHERE outcome = 'failed' AND source_id IN ('a', 'evil')",
    );
    let log = std::fs::read_to_string(env.path("daemon.log")).unwrap();
    let logged = log.lines().filter(|l| l.contains("poll failed")).count() as i64;
    assert!(failed_polls >= 2);
    assert_eq!(logged, failed_polls, "{log}");
    assert!(!log.contains('\u{1b}'), "a raw ESC reached the log: {log}");
    assert!(log.contains("\\u{1b}[31m"), "{log}");
}

/// `promtool check metrics` on `text` when promtool is installed (a note
/// otherwise; CI need not have it).
fn promtool_check(text: &str) {
    use std::io::Write;
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("note: promtool is not on PATH; `promtool check metrics` skipped");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn healthz_and_cached_feeds_answer_while_the_writer_waits_for_the_database() {
    let server = TestServer::start();
    let n = Arc::new(AtomicUsize::new(0));
    {
        let n = n.clone();
        // A new item every poll, so every poll writes.
        server.route("/a", move |_| {
            ok_feed(&format!("测试 第{}条", n.fetch_add(1, Ordering::SeqCst)))
        });
    }
    let topic = "\n[[topic]]\nslug = \"t\"\ntitle = \"测试\"\nquery = '测试'\n";
    let env = Env::with(
        FETCH,
        &[src("a", &server.url("/a"))],
        &format!("{EVERY_SECOND}{topic}"),
    );
    let daemon = Daemon::start(&env);
    wait_for(
        Duration::from_secs(20),
        || daemon.get_any("/healthz").is_some_and(|(s, _)| s == 200),
        "the first poll succeeds",
    );
    assert!(daemon.get("/topics/t.atom").is_some());
    // Someone else holds SQLite's write lock: the daemon's next poll waits
    // in its transaction (up to the busy timeout, 5 s) holding the writer.
    // On PostgreSQL, the tables a poll writes locked against writes.
    let db = env.store_rw();
    db.execute_batch(match env.pg {
        Some(_) => "BEGIN; LOCK TABLE polls, copies, stories IN EXCLUSIVE MODE",
        None => "BEGIN IMMEDIATE",
    })
    .unwrap();
    let before = server.requests("/a").len();
    wait_for(
        Duration::from_secs(10),
        || server.requests("/a").len() > before,
        "a poll starts while the database is locked",
    );
    std::thread::sleep(Duration::from_millis(500));
    // /healthz reports from what the daemon knows, the feed from memory:
    // neither waits for the writer.
    for _ in 0..4 {
        let started = Instant::now();
        let health = daemon.get_any("/healthz");
        let feed = daemon.get("/topics/t.atom");
        let took = started.elapsed();
        assert!(health.is_some() && feed.is_some());
        assert!(
            took < Duration::from_millis(1_500),
            "/healthz and a cached feed took {took:?} while the writer waited"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    db.execute_batch("ROLLBACK").unwrap();
    // The writer goes on once the lock is gone; health comes back.
    wait_for(
        Duration::from_secs(20),
        || daemon.get_any("/healthz").is_some_and(|(s, _)| s == 200),
        "healthy again",
    );
    daemon.stop();
}

// ---- issue 23: poll now ------------------------------------------------------

#[test]
fn poll_now_asks_the_running_daemon_and_polls_here_without_one() {
    let server = TestServer::start();
    server.fixed("/a", ok_feed("今天要立刻抓取的新闻标题"));
    server.fixed("/b", ok_feed("另一家媒体自己的新闻标题"));
    // Polled once at start, then not before next year.
    let env = Env::with(
        &format!("{FETCH}[schedule]\ndefault = \"0 0 0 1 1 *\"\n"),
        &[
            src("a", &server.url("/a")),
            src("b", &server.url("/b")),
            Src {
                extra: "enabled = false\n".into(),
                ..src("off", &server.url("/off"))
            },
        ],
        "",
    );
    // No daemon: `poll --now` polls here, and says so.
    let r = env.run(&["poll", "--now", "--source", "a"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stderr.contains("no daemon runs"), "{r:?}");
    assert_eq!(server.requests("/a").len(), 1);
    assert_eq!(server.requests("/b").len(), 0);

    let daemon = Daemon::start(&env);
    wait_for(
        Duration::from_secs(20),
        || server.requests("/b").len() == 1,
        "the daemon's first pass",
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.requests("/a").len(), 1, "not due again this year");

    // One source, then all of them.
    let r = env.run(&["poll", "--now", "--source", "a"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("asked newsriver (pid"), "{r:?}");
    assert!(r.stdout.contains("to poll 1 source now"), "{r:?}");
    wait_for(
        Duration::from_secs(10),
        || server.requests("/a").len() == 2,
        "the daemon polls the source now",
    );
    assert_eq!(server.requests("/b").len(), 1, "only the one asked for");
    let r = env.run(&["poll", "--now"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("to poll 2 sources now"), "{r:?}");
    wait_for(
        Duration::from_secs(10),
        || server.requests("/a").len() == 3 && server.requests("/b").len() == 2,
        "the daemon polls every enabled source now",
    );

    // Mistakes are refused before anything is asked.
    let r = env.run(&["poll", "--now", "--source", "nope"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("no source with id \"nope\""), "{r:?}");
    let r = env.run(&["poll", "--now", "--source", "off"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("source off is disabled"), "{r:?}");
    assert!(
        !env.path("news.db.poll-now").exists(),
        "the daemon took its requests"
    );
    daemon.stop();
    let log = std::fs::read_to_string(env.path("daemon.log")).unwrap();
    assert!(log.contains("poll requested"), "{log}");
    // Its lock file and pid file left behind name no running daemon.
    let r = env.run(&["poll", "--now", "--source", "b"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stderr.contains("no daemon runs"), "{r:?}");
    assert_eq!(server.requests("/b").len(), 3);
}

#[test]
fn a_port_already_taken_stops_the_daemon_before_it_creates_a_database() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let env = Env::with(FETCH, &[src("a", "http://127.0.0.1:9/feed")], "");
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, format!("{text}\n{}", server_section(port))).unwrap();
    let r = env.run(&["run"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{r:?}"
    );
    assert!(!env.db_path().exists(), "no database was created");
    if let Some(url) = &env.pg {
        assert_eq!(
            psql(
                url,
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ),
            "0",
            "no tables were created"
        );
    }
}

#[test]
fn a_source_removed_by_a_reload_leaves_the_metrics() {
    let server = TestServer::start();
    server.fixed("/a", ok_feed("留下的来源的新闻标题"));
    server.fixed("/b", ok_feed("将被删除的来源的新闻标题"));
    let env = Env::with(
        FETCH,
        &[
            src("a", &server.url("/a")),
            src("gone-soon", &server.url("/b")),
        ],
        "",
    );
    let daemon = Daemon::start(&env);
    wait_for(
        Duration::from_secs(20),
        || {
            daemon
                .get("/metrics")
                .is_some_and(|m| m.contains("source=\"gone-soon\"") && m.contains("source=\"a\""))
        },
        "both sources in /metrics",
    );
    let r = env.run(&["sources", "remove", "--reload", "gone-soon"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    wait_for(
        Duration::from_secs(20),
        || {
            daemon
                .get("/metrics")
                .is_some_and(|m| !m.contains("source=\"gone-soon\""))
        },
        "the removed source's series leave /metrics",
    );
    let metrics = daemon.get("/metrics").unwrap();
    assert!(metrics.contains("source=\"a\""), "{metrics}");
    promtool_check(&metrics);
    daemon.stop();
}
