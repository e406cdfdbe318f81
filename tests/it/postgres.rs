//! The PostgreSQL store (`[storage] url = "postgres://…"`), against a real
//! server (`common::pg_database`: CI starts one; without a server these
//! tests say SKIPPED and pass): the same stories as SQLite, two pollers
//! sharing one database (host leases, placement serialized), a poller
//! killed mid-poll, fencing, the read commands, and the errors a user can
//! cause.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;

/// The wire stories of the fixture: story `k` is carried by three of the
/// twelve outlets, each copy dressed its own way (dateline, `(完)`, a
/// sentence more or less, full-width digits), as outlets do.
fn outlet_feed(outlet: usize, link_host: &str) -> String {
    let mut items = Vec::new();
    for k in 0..24usize {
        let carriers = [k % 12, (k + 5) % 12, (k + 7) % 12];
        let Some(pos) = carriers.iter().position(|&c| c == outlet) else {
            continue;
        };
        let mut text = String::new();
        if pos == 1 {
            text.push_str(&format!("中新网北京12月5日电（记者 王{k}）"));
        }
        let sentences = if pos == 2 { 5 } else { 6 };
        for j in 0..sentences {
            let n = 100 + 7 * j + k;
            let n = if pos == 1 {
                n.to_string()
                    .chars()
                    .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c))
                    .collect()
            } else {
                n.to_string()
            };
            text.push_str(&format!(
                "第{k}号报道的第{j}段：京津冀{k}地区的学校与企业合作推进职业教育，{n}名学生参加实习，当地教育部门表示将继续扩大合作范围。"
            ));
        }
        if pos == 0 {
            text.push_str("(完)");
        }
        items.push((
            format!("o{outlet}-s{k}"),
            format!("http://{link_host}/o{outlet}/s{k}.html"),
            format!("京津冀教育协同第{k}号新闻"),
            format!("<p>{text}</p>"),
            format!("Sat, 05 Dec 2026 0{}:{:02}:00 +0000", k % 8, k * 2),
        ));
    }
    let items: Vec<Item<'_>> = items
        .iter()
        .map(|(guid, link, title, body, date)| Item {
            guid: Some(guid),
            link: Some(link),
            title: Some(title),
            description: Some(body),
            pub_date: Some(date),
        })
        .collect();
    rss2(&format!("Outlet {outlet}"), &items)
}

/// Twelve outlets, six on each of two feed hosts (127.0.0.1 and 127.0.0.2),
/// each answering after `delay`.
fn outlets(delay: Duration) -> (TestServer, TestServer, Vec<Src>) {
    let (a, b) = (TestServer::start(), TestServer::start_at("127.0.0.2"));
    let mut sources = Vec::new();
    for o in 0..12 {
        let server = if o < 6 { &a } else { &b };
        let path = format!("/o{o}.xml");
        let feed = outlet_feed(o, "news.example");
        server.fixed(
            &path,
            Response::ok("application/rss+xml", feed).delay(delay),
        );
        sources.push(src(&format!("o{o}"), &server.url(&path)));
    }
    (a, b, sources)
}

const TOPIC: &str = "[[topic]]\nslug = \"edu\"\ntitle = \"教育\"\nquery = '教育'\n";

/// What a store made of the stories, independent of arrival order: each
/// story as its copies (source/guid), headline, link, date and text. (Its
/// id is its first copy's hash: who came first is a matter of timing.)
fn stories_made(env: &Env) -> BTreeSet<String> {
    env.export(&[])
        .into_iter()
        .map(|s| {
            let mut copies: Vec<String> = s["copies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| format!("{}/{}", c["source"], c["guid"]))
                .collect();
            copies.sort();
            format!(
                "{} | {} | {} | {} | {} | {}",
                copies.join(","),
                s["title"],
                s["link"],
                s["published"],
                s["topics"],
                s["text"]
            )
        })
        .collect()
}

/// Every one of the twelve outlets was polled and each of their 72 items
/// is one copy: none lost, none stored twice.
fn every_outlet_stored_once(url: &str) {
    assert_eq!(
        psql(url, "SELECT count(DISTINCT source_id) FROM polls"),
        "12"
    );
    assert_eq!(psql(url, "SELECT count(*) FROM copies"), "72");
}

/// `poll` started in the background.
fn spawn_poll(env: &Env) -> std::process::Child {
    binary()
        .arg("--config")
        .arg(&env.config)
        .arg("poll")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finished(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "poll failed: {stderr}");
    stderr
}

#[test]
fn two_pollers_on_postgres_make_the_stories_one_poller_makes_on_sqlite() {
    let Some(url) = pg_database("two_pollers") else {
        return;
    };
    let (_a, _b, sources) = outlets(Duration::from_millis(150));
    let lite = Env::with(FETCH, &sources, TOPIC);
    lite.poll(&[]);
    let expected = stories_made(&lite);
    assert_eq!(expected.len(), 24, "{expected:#?}");

    let shared = pg_env(&url, FETCH, &sources, TOPIC);
    let (one, two) = (spawn_poll(&shared), spawn_poll(&shared));
    let logs = [finished(one), finished(two)];
    assert_eq!(stories_made(&shared), expected, "{logs:#?}");
    // Every source polled, none stored twice, every lease let go.
    every_outlet_stored_once(&url);
    assert_eq!(
        psql(
            &url,
            "SELECT count(*) FROM host_leases WHERE holder IS NOT NULL"
        ),
        "0"
    );
    // A second round by one poller finds nothing new.
    let again = shared.poll(&[]);
    assert!(again.stderr.contains("0 new"), "{}", again.stderr);
    assert_eq!(stories_made(&shared), expected);
}

#[test]
fn a_poller_killed_mid_poll_leaves_its_hosts_to_the_other() {
    let Some(url) = pg_database("killed_poller") else {
        return;
    };
    // Slow answers: the first poller is still polling when it is killed.
    let (_a, _b, sources) = outlets(Duration::from_millis(1500));
    let lite = Env::with(FETCH, &sources, TOPIC);
    lite.poll(&[]);
    let expected = stories_made(&lite);

    let shared = pg_env(&url, FETCH, &sources, TOPIC);
    let mut first = spawn_poll(&shared);
    wait_for(
        Duration::from_secs(20),
        || {
            psql_try(
                &url,
                "SELECT count(*) FROM host_leases WHERE holder IS NOT NULL",
            )
            .is_some_and(|n| n == "2")
        },
        "the first poller holds both hosts",
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // The survivor waits out the dead poller's leases (lease_secs = 2)
    // and polls what it left.
    let second = spawn_poll(&shared);
    let log = finished(second);
    assert_eq!(stories_made(&shared), expected, "{log}");
    every_outlet_stored_once(&url);
}

#[test]
fn the_read_commands_work_on_postgres_and_a_correction_reaches_the_feed() {
    let Some(url) = pg_database("read_commands") else {
        return;
    };
    let server = TestServer::start();
    let body = |t: &str| {
        rss2(
            "Outlet",
            &[Item {
                guid: Some("g1"),
                link: Some("http://news.example/1.html"),
                title: Some("教育部发布新规"),
                description: Some(t),
                pub_date: Some("Sat, 05 Dec 2026 08:00:00 +0000"),
            }],
        )
    };
    let feed = std::sync::Arc::new(std::sync::Mutex::new(body(
        "<p>教育部今天发布新规，学校每天安排一小时体育活动，3000所学校参加试点。</p>",
    )));
    {
        let feed = feed.clone();
        server.route("/f.xml", move |_| {
            Response::ok("application/rss+xml", feed.lock().unwrap().clone())
        });
    }
    let env = pg_env(&url, FETCH, &[src("edu", &server.url("/f.xml"))], TOPIC);
    env.poll(&[]);
    let list = env.run(&["sources", "list"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    assert!(list.stdout.contains("edu"), "{list:?}");
    let preview = env.run(&["topics", "preview", "edu"]);
    assert_eq!(preview.code, Some(0), "{preview:?}");
    assert!(preview.stdout.contains("教育部发布新规"), "{preview:?}");
    let rendered = env.run(&["render", "edu"]);
    assert_eq!(rendered.code, Some(0), "{rendered:?}");
    assert!(rendered.stdout.contains("3000所学校"), "{rendered:?}");

    // The outlet corrects its figure: the story's text follows.
    *feed.lock().unwrap() =
        body("<p>教育部今天发布新规，学校每天安排一小时体育活动，5000所学校参加试点。</p>");
    let second = env.poll(&[]);
    let stories = env.export(&[]);
    assert_eq!(stories.len(), 1, "{second:?} {stories:#?}");
    assert!(
        stories[0]["text"].as_str().unwrap().contains("5000"),
        "{second:?} {stories:#?}"
    );
    let rendered = env.run(&["render", "edu"]);
    assert!(rendered.stdout.contains("5000所学校"), "{rendered:?}");

    // Read commands write nothing: the row counts and the polls are as they were.
    let before = psql(&url, "SELECT count(*), max(id) FROM polls");
    for args in [
        &["sources", "list"][..],
        &["export"],
        &["topics", "list"],
        &["render", "edu"],
    ] {
        let r = env.run(args);
        assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
    }
    assert_eq!(psql(&url, "SELECT count(*), max(id) FROM polls"), before);
}

#[test]
fn an_unreachable_server_is_named_without_its_password_and_nothing_else_breaks() {
    let env = Env::new(&[]);
    std::fs::write(
        &env.config,
        "[storage]\nurl = \"postgresql://bob:s3cret@%2Fnonexistent%2Fsocket/news\"\n",
    )
    .unwrap();
    let r = env.run(&["poll"]);
    assert_ne!(r.code, Some(0), "{r:?}");
    assert!(r.stderr.contains("bob:***@"), "{r:?}");
    assert!(!r.stderr.contains("s3cret"), "{r:?}");
    // `check` reads the config without connecting: it is valid.
    let check = env.run(&["check"]);
    assert_eq!(check.code, Some(0), "{check:?}");
}

#[test]
fn a_storage_url_of_another_database_or_beside_a_path_is_a_config_error() {
    for (text, key, says, line) in [
        (
            "[storage]\nurl = \"mysql://localhost/news\"\n",
            "storage.url",
            "unknown database",
            ":2:",
        ),
        (
            "[storage]\npath = \"news.db\"\nurl = \"postgres://localhost/news\"\n",
            "storage.url",
            "not both",
            ":3:",
        ),
        (
            "[storage]\nurl = \"postgres://localhost/news\"\nplacement = \"per-story\"\n",
            "storage.placement",
            "use \"neighbourhood\" or \"global\"",
            ":3:",
        ),
    ] {
        let env = env_with_config(text);
        let r = env.run(&["check"]);
        assert_eq!(r.code, Some(2), "{r:?}");
        assert!(r.stderr.contains(key), "{r:?}");
        assert!(r.stderr.contains(says), "{r:?}");
        assert!(r.stderr.contains(line), "the line is named: {r:?}");
    }
    // `sqlite:PATH` is the SQLite file at PATH.
    let env = env_with_config("[storage]\nurl = \"sqlite:other.db\"\n");
    let r = env.run(&["poll"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(env.path("other.db").exists());
}

#[test]
fn a_poll_made_under_a_lease_another_poller_took_over_is_not_stored() {
    use newsriver::model::SourceId;
    use newsriver::store::{Leases, PollOutcome, PollToStore, SourceRow, Writer};
    let Some(url) = pg_database("fencing") else {
        return;
    };
    let mut writer = Writer::open_postgres(&url).unwrap();
    let id = SourceId::from("s");
    writer
        .sync_sources(&[SourceRow {
            id: &id,
            name: "s",
            url: "http://127.0.0.9/f.xml",
            tags: &[],
            low_trust: false,
            link_hosts: &[],
        }])
        .unwrap();
    let period = Duration::from_secs(2);
    let (a, b) = (
        Leases::open(&url, "a", period).unwrap(),
        Leases::open(&url, "b", period).unwrap(),
    );
    let host = vec!["127.0.0.9".to_string()];
    let lease_a = a.claim(&host, 1).unwrap().pop().expect("a free host");
    assert!(b.claim(&host, 1).unwrap().is_empty(), "a holds it");
    // a stops renewing (stuck, partitioned): its lease lapses, b takes over.
    std::thread::sleep(period + Duration::from_millis(200));
    let lease_b = b.claim(&host, 1).unwrap().pop().expect("a lapsed lease");
    assert_eq!(lease_b.generation, lease_a.generation + 1);
    let poll = |lease| PollToStore {
        source_id: id.clone(),
        started: chrono::Utc::now(),
        duration_ms: 1,
        outcome: PollOutcome::NotModified {
            status: 304,
            moved_to: None,
        },
        lease: Some(lease),
    };
    let near = newsriver::dedupe::Params::default();
    let late = writer
        .record_polls(vec![poll(lease_a)], &|_| Vec::new(), &near)
        .unwrap();
    let e = late[0].as_ref().expect_err("a's late write is refused");
    assert!(e.to_string().contains("another poller"), "{e}");
    assert_eq!(psql(&url, "SELECT count(*) FROM polls"), "0");
    let current = writer
        .record_polls(vec![poll(lease_b)], &|_| Vec::new(), &near)
        .unwrap();
    assert!(current[0].is_ok(), "{:?}", current[0].as_ref().err());
    assert_eq!(psql(&url, "SELECT count(*) FROM polls"), "1");
}

#[test]
fn per_host_holds_across_two_pollers() {
    let Some(url) = pg_database("per_host") else {
        return;
    };
    // Twelve feeds on each of two hosts, slow enough to overlap.
    let (a, b) = (TestServer::start(), TestServer::start_at("127.0.0.2"));
    let mut sources = Vec::new();
    for o in 0..24 {
        let server = if o % 2 == 0 { &a } else { &b };
        let path = format!("/o{o}.xml");
        server.fixed(
            &path,
            Response::ok("application/rss+xml", outlet_feed(o % 12, "news.example"))
                .delay(Duration::from_millis(300)),
        );
        sources.push(src(&format!("o{o}"), &server.url(&path)));
    }
    let fetch = format!("{FETCH}per_host = 2\n");
    let shared = pg_env(&url, &fetch, &sources, TOPIC);
    let (one, two) = (spawn_poll(&shared), spawn_poll(&shared));
    let logs = [finished(one), finished(two)];
    assert!(
        a.max_in_flight() >= 1 && b.max_in_flight() >= 1,
        "{logs:#?}"
    );
    assert!(
        a.max_in_flight() <= 2 && b.max_in_flight() <= 2,
        "per_host = 2 across both pollers: {} and {} at once",
        a.max_in_flight(),
        b.max_in_flight()
    );
    assert_eq!(
        psql(&url, "SELECT count(DISTINCT source_id) FROM polls"),
        "24"
    );
}

#[test]
fn two_daemons_on_one_database_serve_the_same_feed_bytes() {
    let Some(url) = pg_database("two_daemons") else {
        return;
    };
    let (_a, _b, sources) = outlets(Duration::from_millis(50));
    let ports = [free_port(), free_port()];
    let envs: Vec<Env> = ports
        .iter()
        .map(|p| {
            // One public address for both, as behind a load balancer.
            let server = format!(
                "[server]\nlisten = \"127.0.0.1:{p}\"\nbase_url = \"https://feeds.example/\"\n"
            );
            pg_env(&url, FETCH, &sources, &format!("{TOPIC}\n{server}"))
        })
        .collect();
    let mut daemons: Vec<std::process::Child> = envs
        .iter()
        .map(|e| spawn_daemon(&e.config, Some(&e.path("daemon.log"))))
        .collect();
    let feed = |p: u16| http_get(&format!("http://127.0.0.1:{p}/topics/edu.atom"));
    let mut last = (String::new(), String::new());
    let settled = std::time::Instant::now();
    let same = loop {
        let (x, y) = (feed(ports[0]), feed(ports[1]));
        if let (Some((200, x)), Some((200, y))) = (&x, &y) {
            if x == y && x.matches("<entry>").count() == 24 {
                break true;
            }
            last = (x.clone(), y.clone());
        }
        if settled.elapsed() > Duration::from_secs(40) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    for d in &mut daemons {
        let _ = d.kill();
        let _ = d.wait();
    }
    let logs: Vec<String> = envs
        .iter()
        .map(|e| std::fs::read_to_string(e.path("daemon.log")).unwrap_or_default())
        .collect();
    assert!(
        same,
        "the two feeds differ or are not whole: {} and {} entries\n{logs:#?}",
        last.0.matches("<entry>").count(),
        last.1.matches("<entry>").count()
    );
    // Each source polled (by one daemon or the other), none twice at once.
    every_outlet_stored_once(&url);
}

#[test]
fn migrate_store_copies_a_sqlite_database_that_then_polls_on_postgres() {
    let Some(url) = pg_database("migrate_store") else {
        return;
    };
    let (_a, _b, sources) = outlets(Duration::ZERO);
    let lite = Env::with(FETCH, &sources, TOPIC);
    lite.poll(&[]);
    let expected = stories_made(&lite);
    let rendered = lite.run(&["render", "edu"]);
    let before = std::fs::read(lite.db_path()).unwrap();
    let r = lite.run(&["migrate-store", "--to", &url]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("copies"), "{r:?}");
    assert_eq!(
        std::fs::read(lite.db_path()).unwrap(),
        before,
        "SQLite untouched"
    );
    // A second copy into the same database is refused, and changes nothing.
    let again = lite.run(&["migrate-store", "--to", &url]);
    assert_eq!(again.code, Some(1), "{again:?}");
    assert!(again.stderr.contains("empty database only"), "{again:?}");

    let moved = pg_env(&url, FETCH, &sources, TOPIC);
    assert_eq!(stories_made(&moved), expected);
    let same = moved.run(&["render", "edu"]);
    assert_eq!(same.stdout, rendered.stdout, "the same feed, byte for byte");
    // Polling goes on there: ids continue after the copied ones.
    moved.poll(&[]);
    assert_eq!(stories_made(&moved), expected);
    assert_eq!(psql(&url, "SELECT count(*) FROM polls"), "24");

    // backup and restore name pg_dump on PostgreSQL.
    let b = moved.run(&["backup", "/tmp/never-written.db"]);
    assert_eq!(b.code, Some(2), "{b:?}");
    assert!(b.stderr.contains("pg_dump"), "{b:?}");
    let r = moved.run(&["restore", "/tmp/never-written.db"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("pg_restore"), "{r:?}");
}

#[test]
fn the_near_duplicate_log_is_trimmed_after_a_day() {
    let Some(url) = pg_database("near_log") else {
        return;
    };
    let (_a, _b, sources) = outlets(Duration::ZERO);
    let env = pg_env(&url, FETCH, &sources, TOPIC);
    env.poll(&[]);
    let entries: i64 = psql(&url, "SELECT count(*) FROM near_log").parse().unwrap();
    assert!(entries > 0);
    psql(&url, "UPDATE near_log SET at = at - 2 * 86400");
    // The next poll's upkeep trims it; placement goes on from the stories.
    env.poll(&[]);
    assert_eq!(psql(&url, "SELECT count(*) FROM near_log"), "0");
    assert_ne!(
        psql(
            &url,
            "SELECT value FROM settings WHERE key = 'near_log_trimmed_to'"
        ),
        ""
    );
    assert_eq!(stories_made(&env).len(), 24);
}

/// One scenario on both backends: `make` gives an `Env` on the feeds; the
/// stories each ends with must be the same.
fn on_both(test: &str, scenario: impl Fn(&Env) -> BTreeSet<String>) {
    let (_a, _b, sources) = outlets(Duration::ZERO);
    let lite = Env::with(FETCH, &sources, TOPIC);
    let expected = scenario(&lite);
    let Some(url) = pg_database(test) else {
        return;
    };
    let shared = pg_env(&url, FETCH, &sources, TOPIC);
    assert_eq!(scenario(&shared), expected, "SQLite and PostgreSQL differ");
}

#[test]
fn the_same_stories_on_both_backends_whatever_the_order_sources_are_polled_in() {
    // Forward on SQLite, backward on PostgreSQL: one source per poll.
    let order = std::sync::atomic::AtomicBool::new(true);
    on_both("poll_order", |env| {
        let forward = order.swap(false, std::sync::atomic::Ordering::SeqCst);
        let mut ids: Vec<String> = (0..12).map(|o| format!("o{o}")).collect();
        if !forward {
            ids.reverse();
        }
        for id in &ids {
            env.poll(&["--source", id]);
        }
        stories_made(env)
    });
}

#[test]
fn purge_and_rename_do_the_same_on_both_backends() {
    on_both("purge_rename", |env| {
        env.poll(&[]);
        let purge = env.run(&["sources", "remove", "o3", "--purge"]);
        assert_eq!(purge.code, Some(0), "{purge:?}");
        let rename = env.run(&["sources", "rename", "o4", "o44"]);
        assert_eq!(rename.code, Some(0), "{rename:?}");
        let after = stories_made(env);
        assert!(after.iter().all(|s| !s.contains("\"o3\"/")), "{after:#?}");
        assert!(after.iter().any(|s| s.contains("\"o44\"/")), "{after:#?}");
        // The renamed source polls on as itself: nothing new.
        let again = env.poll(&[]);
        assert!(again.stderr.contains("0 new"), "{}", again.stderr);
        after
    });
}

/// A cluster of the test's own (restarted by the test), or `None` with a
/// note when no server can be started here.
struct OwnCluster {
    dir: String,
    url: String,
}

impl OwnCluster {
    fn start(test: &str) -> Option<OwnCluster> {
        let dir = format!("/tmp/nr-pg-{}-{}", test, std::process::id());
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/pg-cluster.sh");
        let out = std::process::Command::new(&script)
            .args(["start", &dir])
            .output()
            .unwrap();
        if !out.status.success() {
            assert!(
                std::env::var_os("NEWSRIVER_TEST_POSTGRES").is_none(),
                "CI has PostgreSQL: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            eprintln!("SKIPPED {test}: no PostgreSQL server to start");
            return None;
        }
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Some(OwnCluster { dir, url })
    }

    fn script(&self, cmd: &str) {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/pg-cluster.sh");
        let out = std::process::Command::new(script)
            .args([cmd, &self.dir])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.script("stop");
    }
}

#[test]
fn the_daemon_polls_on_after_the_server_restarts() {
    let Some(cluster) = OwnCluster::start("restart") else {
        return;
    };
    let server = TestServer::start();
    let items = std::sync::Arc::new(std::sync::Mutex::new(1usize));
    {
        let items = items.clone();
        server.route("/f.xml", move |_| {
            let n = *items.lock().unwrap();
            let list: Vec<(String, String)> = (0..n)
                .map(|i| {
                    (
                        format!("g{i}"),
                        format!("<p>第{i}条：教育部门宣布{i}项新措施，覆盖全市学校与学生，明年起实施。</p>"),
                    )
                })
                .collect();
            let entries: Vec<Item<'_>> = list
                .iter()
                .map(|(g, body)| Item {
                    guid: Some(g),
                    link: None,
                    title: Some("教育新措施"),
                    description: Some(body),
                    pub_date: Some("Sat, 05 Dec 2026 08:00:00 +0000"),
                })
                .collect();
            Response::ok("application/rss+xml", rss2("Outlet", &entries))
        });
    }
    let port = free_port();
    let env = pg_env(
        &cluster.url,
        FETCH,
        &[src("edu", &server.url("/f.xml"))],
        &format!("{TOPIC}\n{}", server_section(port)),
    );
    let log = env.path("daemon.log");
    let mut daemon = spawn_daemon(&env.config, Some(&log));
    let stories = || {
        psql_try(&cluster.url, "SELECT count(*) FROM stories")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    };
    wait_for(
        Duration::from_secs(20),
        || stories() == 1,
        "the first poll is stored",
    );

    cluster.script("restart");
    *items.lock().unwrap() = 2;
    // Asked to poll again (`poll --now` signals the daemon).
    let now = env.run(&["poll", "--now"]);
    assert_eq!(now.code, Some(0), "{now:?}");
    let stored = (|| {
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if stories() == 2 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    })();
    let health = http_get(&format!("http://127.0.0.1:{port}/healthz"));
    let _ = daemon.kill();
    let _ = daemon.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(stored, "the poll after the restart was not stored:\n{text}");
    assert!(matches!(health, Some((200, _))), "{health:?}\n{text}");
    assert!(text.contains("reconnected to PostgreSQL"), "{text}");
}

/// Runs `cmd ARGS` (openssl), which must succeed.
fn run_ok(cmd: &str, args: &[&str]) {
    let out = std::process::Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA in `dir` (`NAME.pem`, `NAME.key`) and, when `server` is given, a
/// certificate it signed for localhost and 127.0.0.1 (`server.crt`,
/// `server.key`).
fn make_ca(dir: &std::path::Path, name: &str, server: bool) {
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    run_ok(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &p(&format!("{name}.key")),
            "-out",
            &p(&format!("{name}.pem")),
        ],
    );
    if !server {
        return;
    }
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n",
    )
    .unwrap();
    run_ok(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
        ],
    );
    run_ok(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p(&format!("{name}.pem")),
            "-CAkey",
            &p(&format!("{name}.key")),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("san.ext"),
            "-out",
            &p("server.crt"),
        ],
    );
}

#[test]
fn sslmode_require_is_tls_with_the_servers_certificate_checked() {
    use newsriver::store::sql::Connection;
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("NEWSRIVER_TEST_POSTGRES").is_none(),
            "CI has PostgreSQL, and openssl with it (ssl-cert)"
        );
        eprintln!("SKIPPED sslmode_require: no openssl to make certificates with");
        return;
    }
    let Some(cluster) = OwnCluster::start("tls") else {
        return;
    };
    // The server on a TCP port of loopback, with a certificate our own CA
    // signed.
    let data = std::path::Path::new(&cluster.dir).join("data");
    make_ca(&data, "ca", true);
    let certs = tempfile::tempdir().unwrap();
    make_ca(certs.path(), "other", false);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut conf = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .unwrap();
    use std::io::Write;
    writeln!(
        conf,
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         listen_addresses = '127.0.0.1'\nport = {port}"
    )
    .unwrap();
    drop(conf);
    if uid() == 0 {
        // The server runs as `postgres` and reads its key only if it owns it.
        run_ok("chown", &["-R", "postgres", &data.to_string_lossy()]);
    }
    run_ok(
        "chmod",
        &["600", &data.join("server.key").to_string_lossy()],
    );
    cluster.script("restart");
    let ca = data.join("ca.pem").to_string_lossy().into_owned();
    let other = certs
        .path()
        .join("other.pem")
        .to_string_lossy()
        .into_owned();
    let user = cluster
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(user, _)| user.to_string())
        .unwrap();
    let tcp = format!("postgresql://{user}@localhost:{port}/newsriver");
    let tls_in_use = |url: &str| -> String {
        let conn = Connection::connect_postgres(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let ssl: bool = conn
            .query_row(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                NONE,
                |r| r.get(0),
            )
            .unwrap();
        format!("{ssl}")
    };
    // Verified against the CA given, for `require` and libpq's stricter
    // spellings; the file's path percent-encoded as a URL has it.
    let encoded: String = url::form_urlencoded::byte_serialize(ca.as_bytes()).collect();
    for mode in ["require", "verify-ca", "verify-full"] {
        assert_eq!(
            tls_in_use(&format!("{tcp}?sslmode={mode}&sslrootcert={encoded}")),
            "true",
            "{mode}"
        );
    }
    // The key=value form too.
    assert_eq!(
        tls_in_use(&format!(
            "host=localhost port={port} user={user} dbname=newsriver sslmode=require sslrootcert={ca}"
        )),
        "true"
    );
    // Without `require`, no TLS (a Unix socket, a trusted network).
    assert_eq!(tls_in_use(&format!("{tcp}?sslmode=disable")), "false");
    assert_eq!(tls_in_use(&tcp), "false");
    // A certificate no trusted CA signed: refused, and said so. Nor are the
    // system's roots taken when a CA file is given.
    for url in [
        format!("{tcp}?sslmode=require&sslrootcert={other}"),
        format!("{tcp}?sslmode=require"),
    ] {
        let e = Connection::connect_postgres(&url).err().expect("refused");
        assert!(e.to_string().contains("certificate"), "{url}: {e}");
    }
    let missing = format!("{tcp}?sslmode=require&sslrootcert=/nonexistent/ca.pem");
    let e = Connection::connect_postgres(&missing)
        .err()
        .expect("refused");
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    // The binary polls over it.
    let server = TestServer::start();
    server.fixed("/f.xml", Response::ok(RSS_TYPE, rss2("源", &[])));
    let env = pg_env(
        &format!("{tcp}?sslmode=require&sslrootcert={encoded}"),
        FETCH,
        &[src("a", &server.url("/f.xml"))],
        "",
    );
    env.poll(&[]);
    assert_eq!(
        psql(&tcp, "SELECT count(*) FROM polls"),
        "1",
        "stored through TLS"
    );
}
