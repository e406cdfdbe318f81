//! Read commands read: they open the database read-only (no migration, no
//! sync of sources or topics, no index), so the file is byte-identical
//! after them, and they work from the config alone before the first poll.
//! And `sources test` reads a feed as the poll does.

use crate::common::*;

const TOPIC: &str = "[[topic]]\nslug = \"edu\"\ntitle = \"教育\"\nquery = \"教育\"\n";

fn feed() -> String {
    rss2(
        "教育新闻",
        &[
            Item {
                guid: Some("e-1"),
                link: Some("https://edu.example/1"),
                title: Some("京津冀教育协同发展工作会议召开"),
                description: Some(
                    "<p>三地教育部门签署协议，推动优质教育资源共享与教师交流轮岗。</p>",
                ),
                pub_date: Some("Mon, 30 Nov 2026 10:00:00 +0800"),
            },
            Item {
                guid: Some("e-2"),
                link: Some("https://edu.example/2"),
                title: Some("地铁新线开通"),
                description: Some("<p>地铁新线今日开通初期运营，沿线居民出行时间将大幅缩短。</p>"),
                pub_date: Some("Mon, 30 Nov 2026 11:00:00 +0800"),
            },
        ],
    )
}

/// The database file and its `-wal`, as bytes (a missing file as None).
fn files(env: &Env) -> Vec<Option<Vec<u8>>> {
    ["news.db", "news.db-wal"]
        .iter()
        .map(|f| std::fs::read(env.path(f)).ok())
        .collect()
}

#[test]
fn every_read_command_leaves_the_database_byte_identical() {
    let dir_env = Env::new(&[]);
    std::fs::write(dir_env.path("a.xml"), feed()).unwrap();
    let a = src("a", &dir_env.file_url("a.xml"));
    dir_env.write_config(FETCH, &[a], TOPIC);
    dir_env.poll(&[]);
    let id = dir_env.export(&[])[0]["id"].as_str().unwrap().to_string();
    // A config the database is not in line with: more sources, and the
    // topic's query changed. The writer would record them; readers must not.
    let a = src("a", &dir_env.file_url("a.xml"));
    let b = src("b", &dir_env.file_url("b.xml"));
    // An article page for `sources test --page` (pages are http(s) only).
    let server = TestServer::start();
    server.fixed(
        "/1.html",
        Response::ok(
            "text/html; charset=utf-8",
            "<html><body><article><p>三地教育部门签署协议，推动优质教育资源共享与教师交流轮岗。</p>\
             <p>会议指出，要深化区域内高校师资队伍、学科建设、成果转化等方面的合作，推动优质教育资源共享。</p>\
             <p>下一步，三地教育部门将建立常态化沟通机制，定期会商重大事项，共同推进教育现代化。</p></article></body></html>",
        ),
    );
    server.fixed("/feed.xml", Response::ok(RSS_TYPE, feed()));
    let mut p = src("p", &server.url("/feed.xml"));
    p.extra =
        "full_text = true\nallow_private_addresses = true\nfull_text_selector = \"article\"\n"
            .into();
    let page = server.url("/1.html");
    dir_env.write_config(
        FETCH,
        &[a, b, p],
        &TOPIC.replace("query = \"教育\"", "query = \"地铁\""),
    );
    // On PostgreSQL, what every table holds (`backup` is pg_dump's job
    // there: the command refuses, and is left out).
    let pg = dir_env.pg.is_some();
    let before = files(&dir_env);
    let stored = dir_env.store_snapshot();
    assert!(pg || before[0].is_some());
    let prefix = &id[..12];
    let backup = dir_env.path("copy.db");
    for args in [
        &["sources", "list"][..],
        &["sources", "list", "--format", "json"],
        &["sources", "list", "--wide"],
        &["sources", "show", "a"],
        &["sources", "show", "b"],
        &["sources", "show", "a", "--format", "json"],
        &["sources", "test", "p", "--page", page.as_str()],
        &["export"],
        &["export", "--topic", "edu"],
        &["export", "--since", "2026-11-01"],
        &["export", "--since", "24h"],
        &["render", "edu"],
        &["render", "edu", "--format", "rss"],
        &["render", "edu", "--format", "json"],
        &["stories", "explain", prefix],
        &["topics", "list"],
        &["topics", "preview", "edu"],
        &["topics", "preview", "--query", "教育"],
        &["check"],
        &["backup", backup.to_str().unwrap()],
    ] {
        if pg && args[0] == "backup" {
            continue;
        }
        let r = dir_env.run(args);
        assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
        assert!(
            files(&dir_env) == before,
            "{args:?} changed the database file or its WAL"
        );
        assert!(
            dir_env.store_snapshot() == stored,
            "{args:?} changed what the store holds"
        );
    }
    // What the readers saw is what was stored: the topic as last synced.
    let feed = dir_env.run(&["render", "edu"]);
    assert!(feed.stdout.contains("京津冀教育协同"), "{feed:?}");
}

#[test]
fn sources_list_and_show_work_before_the_first_poll() {
    // On PostgreSQL: a database no poll has made the schema in yet.
    let env = Env::new(&[src("a", "http://127.0.0.1:9/a.xml")]);
    assert!(!env.db_path().exists());
    let list = env.run(&["sources", "list"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    assert!(list.stdout.contains("never"), "{list:?}");
    assert!(
        list.stderr.contains("showing the configured sources only"),
        "{list:?}"
    );
    let json = env.run(&["sources", "list", "--format", "json"]);
    assert_eq!(json.code, Some(0), "{json:?}");
    let row: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(row["id"], "a");
    assert_eq!(row["last_poll_at"], serde_json::Value::Null);
    let show = env.run(&["sources", "show", "a"]);
    assert_eq!(show.code, Some(0), "{show:?}");
    assert!(show.stdout.contains("none"), "no polls yet: {show:?}");
    // An unknown id is the config's error (2), not the database's.
    let unknown = env.run(&["sources", "show", "zz"]);
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(!env.db_path().exists(), "nothing was created");
    if let Some(url) = &env.pg {
        let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'";
        assert_eq!(psql(url, tables), "0", "no schema was made");
    }
}

/// The charset line `sources test` prints.
fn charset_line(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("charset "))
        .unwrap_or_else(|| panic!("no charset line in {stdout}"))
        .to_string()
}

#[test]
fn sources_test_decides_the_charset_as_the_poll_does_after_a_cross_host_redirect() {
    // An undeclared GBK feed behind a redirect from another host name
    // (localhost → 127.0.0.1): the hint comes from where the body came from.
    let server = TestServer::start();
    let body = gbk(&feed()
        .replace("encoding=\"utf-8\"", "")
        .replace("<?xml version=\"1.0\" ?>", ""));
    server.fixed("/feed.xml", Response::ok("application/xml", body));
    let target = server.url("/feed.xml");
    server.fixed("/moved", Response::new(302).header("Location", &target));
    let start = format!("http://localhost:{}/moved", server.port());
    let env = Env::new(&[src("a", &start)]);
    let tested = env.run(&["sources", "test", "a"]);
    assert_eq!(tested.code, Some(0), "{tested:?}");
    assert!(tested.stdout.contains("redirected to"), "{tested:?}");
    env.poll(&[]);
    let shown = env.run(&["sources", "show", "a"]);
    assert_eq!(shown.code, Some(0), "{shown:?}");
    let line = charset_line(&tested.stdout);
    let encoding = line.split_whitespace().nth(1).unwrap();
    assert!(
        shown.stdout.contains(encoding),
        "sources test said {line:?}, the poll stored:\n{}",
        shown.stdout
    );
    assert_eq!(
        env.export(&[]).len(),
        2,
        "the poll read both items through the redirect"
    );
}
