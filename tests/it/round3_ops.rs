//! Issue 22, round three, the operations edges, through the real binary:
//! every number in the config bounded (`check` names key, line and range;
//! `poll` and `serve` run at the largest allowed values), a schedule that
//! never fires warned about; writers and `restore` excluding each other
//! (the writers' lock); a full disk named as such, with the read commands
//! and `serve` still reading the database.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;

/// Writes `text` as `config.toml` in a temp folder and runs `check`.
fn check(text: &str) -> (tempfile::TempDir, Run) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let run = run_binary(&path, &["check"]);
    (dir, run)
}

/// GET on 127.0.0.1:`port`: (status, body), or None when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    http_get(&format!("http://127.0.0.1:{port}{path}"))
}

fn term(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

/// `n` characters of Chinese text from `seed` (xorshift64*): two texts
/// share almost no shingles, so near-duplicate detection merges none.
fn text_of(seed: u64, n: usize) -> String {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
            char::from_u32(0x4E00 + (r % 2000) as u32).unwrap_or('中')
        })
        .collect()
}

/// A feed of `n` distinct stories, `<prefix> 新闻第<i>条`.
fn feed(prefix: &str, n: usize) -> Response {
    let items: Vec<(String, String, String)> = (0..n)
        .map(|i| {
            let guid = format!("{prefix}-{i}");
            let seed = u64::from_le_bytes(
                blake3::hash(guid.as_bytes()).as_bytes()[..8]
                    .try_into()
                    .unwrap(),
            );
            (guid, format!("{prefix} 新闻第{i}条"), text_of(seed, 120))
        })
        .collect();
    let items: Vec<Item<'_>> = items
        .iter()
        .map(|(guid, title, text)| Item {
            guid: Some(guid),
            title: Some(title),
            description: Some(text),
            ..Default::default()
        })
        .collect();
    Response::ok(RSS_TYPE, rss2("测试", &items))
}

// ---- item 16: every number bounded ---------------------------------------------

/// (section, key, smallest, largest allowed): every integer key of the file.
const BOUNDS: &[(&str, &str, i64, i64)] = &[
    ("storage", "retention_days", 1, 36_600),
    ("storage", "lease_secs", 2, 3600),
    ("fetch", "concurrency", 1, 4096),
    ("fetch", "per_host", 1, 1024),
    ("fetch", "timeout_secs", 1, 86_400),
    ("fetch", "max_body_bytes", 1, 4 << 30),
    ("fetch", "max_bytes_in_flight", 1, 64 << 30),
    ("fetch", "host_interval_ms", 0, 86_400_000),
    ("fetch", "max_backoff_secs", 1, 30 * 86_400),
    ("fetch", "max_pages_per_poll", 1, 10_000),
    ("server", "items_per_feed", 1, 10_000),
    ("server", "max_connections", 1, 65_536),
    ("server", "header_timeout_secs", 1, 86_400),
    ("server", "idle_timeout_secs", 1, 86_400),
    ("dedupe", "min_chars", 1, 100_000),
    ("dedupe", "max_days_apart", 1, 3660),
];

#[test]
fn check_refuses_every_number_past_its_bound_naming_file_line_key_and_range() {
    for &(section, key, min, max) in BOUNDS {
        let text = |v: i64| format!("# bounds\n[{section}]\n{key} = {v}\n");
        let (_dir, run) = check(&text(max));
        assert_eq!(
            run.code,
            Some(0),
            "{section}.{key} = {max} is allowed: {run:?}"
        );
        for bad in [max + 1, i64::MAX, min - 1, i64::MIN] {
            let (dir, run) = check(&text(bad));
            assert_eq!(run.code, Some(2), "{section}.{key} = {bad}: {run:?}");
            let at = format!("{}:3:", dir.path().join("config.toml").display());
            let line = run
                .stderr
                .lines()
                .find(|l| l.starts_with(&at))
                .unwrap_or_else(|| panic!("no problem on line 3 for {key} = {bad}: {run:?}"));
            let range = format!("allowed: {min} to {max}");
            assert!(
                line.contains(&format!("{section}.{key}"))
                    && line.contains(&range)
                    && line.contains(&bad.to_string()),
                "{line}"
            );
            assert!(!run.stderr.contains("panicked"), "{run:?}");
        }
    }
}

/// A config with every number at its largest allowed value, its
/// `[storage]` in `storage` (the key that says where).
fn largest(server: &TestServer, port: u16, storage: &str) -> String {
    let mut sections: Vec<(&str, String)> = Vec::new();
    for &(section, key, _, max) in BOUNDS {
        match sections.iter_mut().find(|(s, _)| *s == section) {
            Some((_, body)) => body.push_str(&format!("{key} = {max}\n")),
            None => sections.push((section, format!("{key} = {max}\n"))),
        }
    }
    let mut text = String::new();
    for (section, body) in sections {
        text.push_str(&format!("[{section}]\n{body}"));
        match section {
            "storage" => text.push_str(&format!("{storage}\n")),
            "fetch" => text.push_str("allow_private_addresses = true\n"),
            "server" => text.push_str(&format!(
                "listen = \"127.0.0.1:{port}\"\nbase_url = \"http://127.0.0.1:{port}/\"\n"
            )),
            _ => {}
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "[[source]]\nid = \"a\"\nurl = {}\n\n[[topic]]\nslug = \"all\"\ntitle = \"全部\"\nquery = '新闻'\n",
        toml_str(&server.url("/a"))
    ));
    text
}

#[test]
fn poll_and_serve_run_without_panicking_at_the_largest_allowed_values() {
    let server = TestServer::start();
    server.fixed("/a", feed("a", 3));
    let port = free_port();
    let env = Env::new(&[]);
    let storage = match &env.pg {
        Some(url) => format!("url = {}", toml_str(url)),
        None => "path = \"news.db\"".to_string(),
    };
    std::fs::write(&env.config, largest(&server, port, &storage)).unwrap();
    let checked = env.run(&["check"]);
    assert_eq!(checked.code, Some(0), "{checked:?}");
    let polled = env.run(&["poll"]);
    assert_eq!(polled.code, Some(0), "{polled:?}");
    assert!(!polled.stderr.contains("panicked"), "{polled:?}");
    assert_eq!(env.stories(), 3);

    let mut serve = binary()
        .arg("--config")
        .arg(&env.config)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(env.path("serve.log")).unwrap())
        .spawn()
        .unwrap();
    wait_for(
        Duration::from_secs(20),
        || {
            get(port, "/topics/all.json")
                .is_some_and(|(s, b)| s == 200 && b.contains("a 新闻第2条"))
        },
        "serve answers with the feed",
    );
    assert!(get(port, "/healthz").is_some(), "healthz answers");
    term(serve.id());
    let status = serve.wait().unwrap();
    let log = std::fs::read_to_string(env.path("serve.log")).unwrap();
    assert!(status.success(), "{status}\n{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_schedule_that_never_fires_is_a_warning_in_check_and_in_the_daemon_log() {
    let text = "[schedule]\ndefault = \"0 0 0 31 2 *\"\n\n[[source]]\nid = \"a\"\nurl = \"https://example.com/a.xml\"\n\n[[source]]\nid = \"b\"\nurl = \"https://example.com/b.xml\"\nschedule = \"0 0 12 30 2 *\"\n";
    let (dir, run) = check(text);
    assert_eq!(run.code, Some(0), "a warning is no error: {run:?}");
    let path = dir.path().join("config.toml").display().to_string();
    for (line, key) in [(2, "schedule.default"), (11, "source[1].schedule")] {
        let want = format!("{path}:{line}:");
        assert!(
            run.stderr.lines().any(|l| l.starts_with(&want)
                && l.contains(&format!(": warning: {key}: "))
                && l.contains("never fires")),
            "no warning for {key} on line {line}: {run:?}"
        );
    }
    // A schedule that fires is not warned about.
    let (_dir, fine) = check("[schedule]\ndefault = \"0 0 0 29 2 *\"\n");
    assert_eq!(fine.code, Some(0), "{fine:?}");
    assert!(!fine.stderr.contains("warning"), "{fine:?}");

    // The daemon logs it too.
    let port = free_port();
    let env = Env::with(
        FETCH,
        &[src("a", "http://127.0.0.1:9/a.xml")],
        &format!(
            "[schedule]\ndefault = \"0 0 0 31 2 *\"\n{}",
            server_section(port)
        ),
    );
    let log = env.path("daemon.log");
    let mut daemon = spawn_daemon(&env.config, Some(&log));
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for(
        Duration::from_secs(20),
        || read().contains("never fires"),
        "the daemon logs the schedule that never fires",
    );
    assert!(read().contains("schedule.default"), "{}", read());
    // Stopped once it serves (its signal handlers are in place by then).
    wait_for(
        Duration::from_secs(20),
        || get(port, "/healthz").is_some(),
        "the daemon serves",
    );
    term(daemon.id());
    assert!(daemon.wait().unwrap().success(), "{}", read());
}

// ---- item 15: writers and restore ------------------------------------------------

#[test]
fn restore_refuses_while_a_slow_poll_writes_and_no_item_is_lost() {
    if sqlite_only(
        "backup and restore copy the SQLite file (PostgreSQL's are pg_dump and pg_restore)",
    ) {
        return;
    }
    let server = TestServer::start();
    server.fixed("/a", feed("old", 2));
    let env = Env::new(&[src("a", &server.url("/a"))]);
    env.poll(&[]);
    let backup = env.path("backup.db");
    let made = env.run(&["backup", backup.to_str().unwrap()]);
    assert_eq!(made.code, Some(0), "{made:?}");

    // The next poll waits 1.5 s for its feed (the timeout is 2 s), with the
    // database open.
    server.fixed("/a", feed("new", 3).delay(Duration::from_millis(1500)));
    let before = server.requests("/a").len();
    let mut cmd = binary();
    cmd.arg("--config").arg(&env.config).arg("poll");
    let poll = std::thread::spawn(move || run_command(cmd));
    wait_for(
        Duration::from_secs(20),
        || server.requests("/a").len() > before,
        "the slow poll is fetching",
    );
    let restore = env.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(restore.code, Some(1), "{restore:?}");
    assert!(
        restore.stderr.contains("is writing to this database") && restore.stderr.contains("poll"),
        "names the writer: {restore:?}"
    );
    assert!(restore.stderr.contains("pid "), "{restore:?}");
    let polled = poll.join().unwrap();
    assert_eq!(polled.code, Some(0), "{polled:?}");
    // The poll's items are in the database that stays.
    assert_eq!(env.stories(), 5);

    // With no writer left, the restore goes ahead.
    let restore = env.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(restore.code, Some(0), "{restore:?}");
    assert_eq!(env.stories(), 2);
}

#[test]
fn a_poll_started_during_a_restore_fails_clearly_and_writes_nothing() {
    if sqlite_only("restore's lock is a flock on the SQLite file's `.writers`") {
        return;
    }
    let server = TestServer::start();
    server.fixed("/a", feed("a", 2));
    let env = Env::new(&[src("a", &server.url("/a"))]);
    env.poll(&[]);
    server.fixed("/a", feed("b", 3));
    // The lock `restore` holds while it replaces the file (an exclusive
    // flock on `<database>.writers`), taken by this (test) process.
    let restoring = std::fs::File::create(env.path("news.db.writers")).unwrap();
    restoring.try_lock().unwrap();
    let polled = env.run(&["poll"]);
    assert_eq!(polled.code, Some(1), "{polled:?}");
    assert!(
        polled
            .stderr
            .contains("a restore is replacing this database"),
        "{polled:?}"
    );
    assert!(
        polled
            .stderr
            .contains(&format!("pid {}", std::process::id())),
        "names the restoring process: {polled:?}"
    );
    assert!(!polled.stderr.contains("panicked"), "{polled:?}");
    assert_eq!(env.stories(), 2);
    // `sources remove --purge` is a writer too.
    let purge = env.run(&["sources", "remove", "a", "--purge"]);
    assert_eq!(purge.code, Some(1), "{purge:?}");
    assert!(
        purge
            .stderr
            .contains("a restore is replacing this database"),
        "{purge:?}"
    );
    drop(restoring);
    // The refused purge left the config edited (the edit comes first, as
    // documented); run again, it completes.
    let purge = env.run(&["sources", "remove", "a", "--purge"]);
    assert_eq!(purge.code, Some(0), "{purge:?}");
    assert_eq!(env.stories(), 0);
}

// ---- item 14: a full disk -----------------------------------------------------------

/// Whether this process may mount a tmpfs in a private mount namespace.
fn can_mount_tmpfs() -> bool {
    std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Reads `out/<name>`.
fn read_out(out: &Path, name: &str) -> String {
    std::fs::read_to_string(out.join(name)).unwrap_or_default()
}

#[test]
fn on_a_full_disk_the_writer_names_the_cause_and_reads_serve_and_run_go_on() {
    if sqlite_only("the full disk is the SQLite file's (a tmpfs under it)") {
        return;
    }
    if !can_mount_tmpfs() {
        eprintln!("skipped: cannot mount a tmpfs in a private mount namespace (needs root)");
        return;
    }
    let server = TestServer::start();
    server.fixed("/a", feed("a", 3));
    let (port, run_port) = (free_port(), free_port());
    let extra = format!(
        "{}[[topic]]\nslug = \"all\"\ntitle = \"全部\"\nquery = '新闻'\n",
        server_section(port)
    );
    let env = Env::with(FETCH, &[src("a", &server.url("/a"))], &extra);
    env.poll(&[]);
    server.fixed("/a", feed("b", 2));
    let full = env.path("full");
    let out = env.path("out");
    std::fs::create_dir(&full).unwrap();
    std::fs::create_dir(&out).unwrap();
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace("path = \"news.db\"", "path = \"full/news.db\"");
    std::fs::write(&env.config, &text).unwrap();
    // `run` on the same database, its own port, every source due every second.
    let run_config = env.path("run.toml");
    let run_text = text.replace(&format!(":{port}"), &format!(":{run_port}"));
    std::fs::write(&run_config, format!("{run_text}{EVERY_SECOND}")).unwrap();
    // Inside a private mount namespace: a 2 MiB tmpfs holding a copy of the
    // database (no -wal, no -shm: as a clean stop leaves it), filled up to
    // the last byte; then each command, its exit code and stderr kept in
    // `out`; `serve` and `run` last, in the background, until the test
    // stops them.
    let bin = env!("CARGO_BIN_EXE_newsriver");
    let script = format!(
        "set -u; mount -t tmpfs -o size=2m tmpfs '{full}' || exit 90; \
         cp '{db}' '{full}/news.db'; dd if=/dev/zero of='{full}/filler' bs=4k 2>/dev/null; \
         for c in poll export 'render all' 'sources list' 'topics list'; do \
           n=$(echo $c | tr ' ' _); \
           '{bin}' --config '{cfg}' $c >'{out}/'$n.out 2>'{out}/'$n.err; echo $? >'{out}/'$n.code; \
         done; \
         '{bin}' --config '{cfg}' serve 2>'{out}/serve.err' & echo $! >'{out}/serve.pid'; \
         '{bin}' --config '{run_cfg}' run 2>'{out}/run.err' & echo $! >'{out}/run.pid'; wait",
        full = full.display(),
        db = env.db_path().display(),
        out = out.display(),
        cfg = env.config.display(),
        run_cfg = run_config.display(),
    );
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "sh", "-c", &script]).env_remove("RUST_LOG");
    let ran = std::thread::spawn(move || run_command(cmd));
    let served = |port: u16, what: &str| {
        get(port, "/topics/all.json").is_some_and(|(s, b)| s == 200 && b.contains(what))
    };
    wait_for(
        Duration::from_secs(40),
        || served(port, "a 新闻第2条") && served(run_port, "a 新闻第2条"),
        "serve and run answer from the full disk",
    );
    // `run` says it is not well, and why.
    let (status, body) = get(run_port, "/healthz").unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("is full"), "{body}");

    for reader in ["export", "render_all", "sources_list", "topics_list"] {
        let err = read_out(&out, &format!("{reader}.err"));
        assert_eq!(
            read_out(&out, &format!("{reader}.code")).trim(),
            "0",
            "{reader}: {err}"
        );
    }
    assert!(read_out(&out, "export.out").contains("a 新闻第1条"));
    assert!(read_out(&out, "render_all.out").contains("a 新闻第0条"));
    let err = read_out(&out, "poll.err");
    assert_eq!(read_out(&out, "poll.code").trim(), "1", "{err}");
    assert!(
        err.contains("is full") && err.contains("-shm"),
        "names the cause: {err}"
    );
    for name in ["poll.err", "serve.err", "run.err"] {
        let err = read_out(&out, name);
        assert!(err.contains("is full"), "{name} says why: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }

    // Room again (the filler removed, through the daemon's view of its
    // mount namespace): `run` opens the writer, polls and serves the news.
    let run_pid: u32 = read_out(&out, "run.pid").trim().parse().unwrap();
    let filler = format!("/proc/{run_pid}/root{}/filler", full.display());
    std::fs::remove_file(&filler).unwrap();
    wait_for(
        Duration::from_secs(40),
        || served(run_port, "b 新闻第1条"),
        "run polls once there is room",
    );
    assert!(get(run_port, "/healthz").is_some_and(|(s, _)| s == 200));
    let serve_pid: u32 = read_out(&out, "serve.pid").trim().parse().unwrap();
    term(serve_pid);
    term(run_pid);
    let ran = ran.join().unwrap();
    assert_ne!(ran.code, Some(90), "{ran:?}");
    let log = read_out(&out, "run.err");
    assert!(!log.contains("panicked"), "{log}");
}

/// Issue 23: under systemd the config's folder is read-only; a relative
/// `output_dir` resolves against `$STATE_DIRECTORY`, like the database.
#[test]
fn a_relative_output_dir_lives_in_the_state_directory_under_systemd() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[storage]\npath = \"news.db\"\n\n[server]\noutput_dir = \"public\"\n",
    )
    .unwrap();
    // Where the service would write: a file blocks the folder, so `check`
    // reports the path under the state directory, not the config's.
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("public"), "a file, not a folder").unwrap();
    let mut cmd = binary();
    cmd.env("STATE_DIRECTORY", state.path())
        .arg("--config")
        .arg(&config)
        .arg("check");
    let r = run_command(cmd);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("server.output_dir"), "{r:?}");
    assert!(
        r.stderr
            .contains(&state.path().join("public").display().to_string()),
        "{r:?}"
    );
    // Without it, beside the config: fine.
    let r = run_binary(&config, &["check"]);
    assert_eq!(r.code, Some(0), "{r:?}");
}

/// Issue 23: `RUST_LOG=debug` shows newsriver's own lines, not thousands
/// of the HTML parser's tree fix-ups.
#[test]
fn debug_logs_are_not_buried_under_the_html_parsers_lines() {
    let server = TestServer::start();
    let body = "<p>未闭合的段落<div><table><td>表格里的文字<b><i>交错</b></i>".repeat(20);
    server.fixed(
        "/feed",
        Response::ok(
            "application/rss+xml; charset=utf-8",
            rss2(
                "来源",
                &[Item {
                    guid: Some("1"),
                    link: Some("https://outlet.example/1"),
                    title: Some("一条正文是破损网页代码的新闻"),
                    description: Some(&body),
                    pub_date: None,
                }],
            ),
        ),
    );
    let env = Env::new(&[src("a", &server.url("/feed"))]);
    let poll_logging = |filter: &str| {
        let mut cmd = binary();
        cmd.env("RUST_LOG", filter)
            .arg("--config")
            .arg(&env.config)
            .arg("poll");
        let r = run_command(cmd);
        assert_eq!(r.code, Some(0), "{r:?}");
        r
    };
    let r = poll_logging("debug");
    assert!(
        r.stderr.contains("DEBUG"),
        "our own debug lines show: {r:?}"
    );
    // Issue 24: the writer thread's own CPU time, which bench/run.sh
    // reads, is there at the end of every poll (it was lost when the
    // process exited before the thread logged).
    for _ in 0..3 {
        let r = poll_logging("warn,newsriver::pipeline::writer=debug");
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains("writer finished"))
            .unwrap_or_else(|| panic!("no writer line: {}", r.stderr));
        assert!(
            line.contains("cpu_ms=") && line.contains("polls=1 items=1 groups=1"),
            "{line}"
        );
    }
    let parser_lines = r
        .stderr
        .lines()
        .filter(|l| l.contains("html5ever") || l.contains("markup5ever"))
        .count();
    assert_eq!(parser_lines, 0, "{}", r.stderr);
    // Named, they show.
    let r = poll_logging("info,html5ever=debug");
    assert!(
        r.stderr.lines().any(|l| l.contains("html5ever")),
        "this document makes the parser log: {}",
        r.stderr
    );
}
