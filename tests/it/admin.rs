//! Read-only admin commands against the real binary.

use crate::common::*;

#[test]
fn sources_list_show_and_test_report_health_and_charset() {
    let server = TestServer::start();
    let feed = rss2(
        "人民网",
        &[Item {
            guid: Some("1"),
            link: Some("https://people.example/1"),
            title: Some("朱镕基会见张喆_人民网"),
            description: Some("<p>新华社北京10月9日电 这是一条测试新闻，正文写得足够长，以便计算内容哈希。</p><p>责任编辑：王五</p>"),
            pub_date: None,
        }],
    )
    .replace("utf-8", "gb2312");
    server.fixed("/gbk", Response::ok("application/rss+xml", gbk(&feed)));
    server.fixed("/missing", Response::new(404));
    let env = Env::new(&[
        src("people", &server.url("/gbk")),
        src("gone", &server.url("/missing")),
    ]);
    env.poll(&[]);

    let list = env.run(&["sources", "list", "--wide"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    let people = list
        .stdout
        .lines()
        .find(|l| l.starts_with("people"))
        .unwrap();
    assert!(
        people.contains(" ok ") && people.contains(&server.url("/gbk")),
        "{people}"
    );
    let gone = list.stdout.lines().find(|l| l.starts_with("gone")).unwrap();
    assert!(gone.contains("failed"), "{gone}");

    let json = env.run(&["sources", "list", "--format", "json"]);
    let rows: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], "people");
    assert_eq!(rows[0]["copies"], 1);
    assert_eq!(rows[1]["consecutive_failures"], 1);

    let show = env.run(&["sources", "show", "gone"]);
    assert!(show.stdout.contains("HTTP 404"), "{show:?}");
    assert!(show.stdout.contains("recent polls"), "{show:?}");
    let show = env.run(&["sources", "show", "people"]);
    assert!(
        show.stdout.contains("GBK (from xml-declaration)"),
        "{show:?}"
    );
    let nope = env.run(&["sources", "show", "nope"]);
    assert_eq!(nope.code, Some(2));
    assert!(nope.stderr.contains("nope"), "{nope:?}");

    // `sources test` by id and by URL: charset, titles, hashes, boilerplate.
    for target in ["people".to_string(), server.url("/gbk")] {
        let test = env.run(&["sources", "test", &target]);
        assert_eq!(test.code, Some(0), "{test:?}");
        assert!(test.stdout.contains("charset GBK"), "{test:?}");
        assert!(test.stdout.contains("朱镕基会见张喆"), "{test:?}");
        assert!(test.stdout.contains("removed: title suffix"), "{test:?}");
    }
    let test = env.run(&["sources", "test", "gone"]);
    assert_eq!(test.code, Some(1));
    assert!(test.stderr.contains("404"), "{test:?}");
    assert_eq!(
        env.count("SELECT count(*) FROM copies"),
        1,
        "test stores nothing"
    );
}

#[test]
fn topics_list_and_preview_show_matches_and_terms() {
    let server = TestServer::start();
    let feed = rss2(
        "中国新闻网",
        &[
            Item {
                guid: Some("1"),
                title: Some("京津冀教育协同发展会议召开"),
                description: Some(
                    "<p>三地将积极推进各级各类教育融合发展，在更大范围加强教育协同。</p>",
                ),
                ..Default::default()
            },
            Item {
                guid: Some("2"),
                title: Some("海南外贸增长"),
                description: Some(
                    "<p>今年前三季度海南外贸进出口增长百分之二十。</p><p>相关推荐</p><p>京津冀教育</p>",
                ),
                ..Default::default()
            },
        ],
    );
    server.fixed("/f", Response::ok("application/rss+xml", feed));
    let env = Env::with(
        FETCH,
        &[src("cn", &server.url("/f"))],
        "[[topic]]\nslug = \"edu\"\ntitle = \"京津冀教育协同\"\nquery = '京津冀 AND 教育'\n",
    );
    env.poll(&[]);
    let list = env.run(&["topics", "list"]);
    let edu = list.stdout.lines().find(|l| l.starts_with("edu ")).unwrap();
    assert!(
        edu.contains("京津冀教育协同") && edu.contains("  1  京津冀 AND 教育"),
        "{list:?}"
    );
    let preview = env.run(&["topics", "preview", "edu"]);
    assert!(
        preview
            .stdout
            .contains("京津冀教育协同发展会议召开  [京津冀, 教育]"),
        "{preview:?}"
    );
    assert!(
        !preview.stdout.contains("海南"),
        "a keyword only in a footer does not count: {preview:?}"
    );
    let draft = env.run(&["topics", "preview", "--query", "外贸 OR title:会议"]);
    assert!(draft.stdout.contains("2 shown"), "{draft:?}");
    let bad = env.run(&["topics", "preview", "--query", "(外贸"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("character"), "{bad:?}");
}

// ---- round two (issue 15): terminals, database location, CLI polish ------------

/// No character a terminal would act on: C0 controls but newline and tab,
/// DEL, C1 controls, bidi overrides.
fn assert_printable(text: &str, what: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| newsriver::printable::is_unsafe(*c) && !matches!(c, '\n' | '\t'))
        .collect();
    assert!(bad.is_empty(), "{what}: raw {bad:?} in {text:?}");
}

#[test]
fn control_characters_from_feeds_never_reach_the_terminal_or_the_config() {
    let server = TestServer::start();
    let evil = rss2(
        "\u{1b}[31m红色\u{7}标题\u{202e}",
        &[Item {
            guid: Some("1"),
            link: Some("https://evil.example/1"),
            title: Some("\u{1b}]0;pwned\u{7}条目\u{9b}2J"),
            description: Some(
                "<p>这是一条用于测试终端转义的新闻，正文足够长，可以计算内容哈希。</p>",
            ),
            pub_date: None,
        }],
    );
    server.fixed("/evil", Response::ok(RSS_TYPE, evil));
    // Its parse error quotes the escape sequence.
    server.fixed(
        "/broken",
        Response::ok(RSS_TYPE, "<rss version=\"2.0\"><chan\u{1b}[31mnel></rss>"),
    );
    // A name with escapes written into config.toml by hand.
    let mut hand = src("hand", &server.url("/evil?hand"));
    hand.extra = "name = \"\\u001b[2Jhand\\u0007\"\ntags = [\"t\\u001b\"]\n".into();
    let env = Env::new(&[hand]);

    let r = env.run(&["sources", "add", &server.url("/evil")]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_printable(&r.stdout, "sources add");
    let config = std::fs::read_to_string(&env.config).unwrap();
    assert!(
        config.contains("name = \"[31m红色标题\""),
        "the feed's title is cleaned before it becomes a name: {config}"
    );
    let r = env.run(&[
        "sources",
        "add",
        "--no-fetch",
        "--id",
        "broken",
        &server.url("/broken"),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");

    let r = env.run(&["sources", "test", &server.url("/evil")]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_printable(&r.stdout, "sources test");
    assert!(
        r.stdout.contains("\\u{1b}]0;pwned\\u{7}条目\\u{9b}2J"),
        "{r:?}"
    );
    let r = env.run(&["sources", "test", "broken"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_printable(&r.stderr, "sources test (parse error)");
    assert!(r.stderr.contains("chan\\u{1b}[31mnel"), "{r:?}");

    let r = env.run(&["poll"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_printable(&r.stderr, "poll summary");
    assert!(r.stderr.contains("\\u{1b}[31m"), "{r:?}");

    for args in [
        &["sources", "list"][..],
        &["sources", "show", "broken"],
        &["sources", "show", "hand"],
        &["topics", "list"],
    ] {
        let r = env.run(args);
        assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
        assert_printable(&r.stdout, &format!("{args:?}"));
    }
    let show = env.run(&["sources", "show", "broken"]);
    assert!(show.stdout.contains("chan\\u{1b}[31mnel"), "{show:?}");

    // The OPML export is well-formed XML with no control characters.
    let r = env.run(&["sources", "export"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_printable(&r.stdout, "sources export");
    let mut reader = quick_xml::Reader::from_str(&r.stdout);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("ill-formed OPML: {e}\n{}", r.stdout),
        }
    }
    assert!(r.stdout.contains("[2Jhand"), "{}", r.stdout);
}

#[test]
fn admin_commands_need_the_database_and_say_where_the_service_keeps_it() {
    let server = TestServer::start();
    server.fixed(
        "/f",
        Response::ok(
            RSS_TYPE,
            rss2(
                "测试",
                &[Item {
                    guid: Some("1"),
                    title: Some("标题"),
                    description: Some(
                        "<p>一条足够长的测试新闻正文，用来计算内容哈希，确保可以存储。</p>",
                    ),
                    ..Default::default()
                }],
            ),
        ),
    );
    let env = Env::with(
        FETCH,
        &[src("a", &server.url("/f"))],
        "[[topic]]\nslug = \"t\"\ntitle = \"T\"\nquery = '标题'\n",
    );
    if let Some(url) = &env.pg {
        // The database file's absence is SQLite's; on PostgreSQL the
        // counterpart is a database with no schema yet, which the read
        // commands name and leave as it is.
        let tables = || {
            psql(
                url,
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            )
        };
        for args in [
            &["topics", "list"][..],
            &["topics", "preview", "t"],
            &["export"],
            &["render", "t"],
            &["stories", "explain", "abcdefgh"],
            &["serve"],
        ] {
            let r = env.run(args);
            assert_eq!(r.code, Some(1), "{args:?}: {r:?}");
            assert!(
                r.stderr.contains("holds no newsriver data yet")
                    && r.stderr.contains("newsriver poll"),
                "{args:?} says to poll first: {r:?}"
            );
            assert_eq!(tables(), "0", "{args:?} created tables");
        }
        for args in [&["sources", "list"][..], &["sources", "show", "a"]] {
            let r = env.run(args);
            assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
            assert!(
                r.stderr.contains("holds no newsriver data yet"),
                "{args:?}: {r:?}"
            );
            assert_eq!(tables(), "0", "{args:?} created tables");
        }
        env.poll(&[]);
        for args in [
            &["sources", "list"][..],
            &["sources", "show", "a"],
            &["topics", "list"],
        ] {
            let r = env.run(args);
            assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
        }
        return;
    }
    let db = env.db_path();
    let backup = env.path("copy.db");
    // Listing what is configured needs no database: it works, and says
    // where it looked for one.
    for args in [&["sources", "list"][..], &["sources", "show", "a"]] {
        let r = env.run(args);
        assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
        assert!(
            r.stderr
                .contains(&format!("no database at {}", db.display())),
            "{args:?} names the path tried: {r:?}"
        );
        assert!(!db.exists(), "{args:?} created an empty database");
    }
    let commands: [&[&str]; 7] = [
        &["topics", "list"],
        &["topics", "preview", "t"],
        &["export"],
        &["render", "t"],
        &["stories", "explain", "abcdefgh"],
        &["serve"],
        &["backup", backup.to_str().unwrap()],
    ];
    for args in commands {
        let r = env.run(args);
        assert_eq!(r.code, Some(1), "{args:?}: {r:?}");
        assert!(
            r.stderr
                .contains(&format!("no database at {}", db.display())),
            "{args:?} names the path tried: {r:?}"
        );
        assert!(
            r.stderr.contains("STATE_DIRECTORY") && r.stderr.contains("/var/lib/newsriver"),
            "{args:?} says where the service keeps it: {r:?}"
        );
        assert!(!db.exists(), "{args:?} created an empty database");
    }
    let r = env.run(&["sources", "remove", "--purge", "a"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("no database at"), "{r:?}");
    assert!(
        std::fs::read_to_string(&env.config)
            .unwrap()
            .contains("id = \"a\""),
        "nothing half done: the source is still configured"
    );

    // Under STATE_DIRECTORY (as the service runs) the message names it.
    let state = tempfile::tempdir().unwrap();
    let mut cmd = binary();
    cmd.env("STATE_DIRECTORY", state.path())
        .arg("--config")
        .arg(&env.config)
        .args(["export"]);
    let r = run_command(cmd);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "no database at {}",
            state.path().join("news.db").display()
        )),
        "{r:?}"
    );
    assert!(!state.path().join("news.db").exists());

    // poll creates it; then the admin commands work.
    env.poll(&[]);
    assert!(db.exists());
    for args in [&["sources", "list"][..], &["sources", "show", "a"]]
        .into_iter()
        .chain(commands[..1].iter().copied())
    {
        let r = env.run(args);
        assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
    }
}

/// A time as the CLI prints it: `2026-12-04 18:10:00 +08:00`.
fn zoned_time() -> regex::Regex {
    regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d").unwrap()
}

/// Display columns before `needle` in `line`.
fn column_of(line: &str, needle: &str) -> usize {
    let at = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {line:?}"));
    newsriver::printable::width(&line[..at])
}

#[test]
fn cli_times_carry_a_zone_tables_align_by_width_and_derived_ids_are_readable() {
    let server = TestServer::start();
    let untitled = |guid: &'static str| {
        Response::ok(
            RSS_TYPE,
            rss2(
                "",
                &[Item {
                    guid: Some(guid),
                    title: Some("标题"),
                    description: Some(
                        "<p>一条足够长的测试新闻正文，用来计算内容哈希，确保可以存储。</p>",
                    ),
                    ..Default::default()
                }],
            ),
        )
    };
    server.fixed("/feeds/a.xml", untitled("1"));
    server.fixed("/feeds/b.xml", untitled("2"));
    let env = Env::with(
        FETCH,
        &[],
        "[[topic]]\nslug = \"guonei\"\ntitle = \"国内新闻要闻\"\nquery = '标题'\n\
         [[topic]]\nslug = \"w\"\ntitle = \"World\"\nquery = 'x'\n",
    );
    // Two untitled feeds on one host and port: ids from the whole URL.
    let port = server.url("").rsplit(':').next().unwrap().to_string();
    for (path, id) in [("/feeds/a.xml", "feeds-a"), ("/feeds/b.xml", "feeds-b")] {
        let r = env.run(&["sources", "add", &server.url(path)]);
        assert_eq!(r.code, Some(0), "{r:?}");
        let want = format!("added source 127-0-0-1-{port}-{id} (127.0.0.1:{port})");
        assert!(r.stdout.contains(&want), "{want}: {r:?}");
    }
    // A bad --id is about the argument, not a line of the file.
    let r = env.run(&[
        "sources",
        "add",
        "--no-fetch",
        "--id",
        "Bad ID",
        "https://c.example/rss",
    ]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("--id \"Bad ID\" is not a valid id"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("config.toml:"), "{r:?}");

    let a = format!("127-0-0-1-{port}-feeds-a");
    let r = env.run(&["sources", "tag", &a, "+国内要闻"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    env.poll(&[]);

    let list = env.run(&["sources", "list", "--wide"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{list:?}");
    let url_column = column_of(lines[0], "URL");
    for line in &lines[1..] {
        assert_eq!(column_of(line, "http://"), url_column, "{}", list.stdout);
        assert!(zoned_time().is_match(line), "times say their zone: {line}");
    }
    let show = env.run(&["sources", "show", &a]);
    let at = regex::Regex::new(&format!("{}: ok", zoned_time().as_str())).unwrap();
    assert!(at.is_match(&show.stdout), "{show:?}");
    let preview = env.run(&["topics", "preview", "guonei"]);
    let at = regex::Regex::new(&format!("{}  标题", zoned_time().as_str())).unwrap();
    assert!(at.is_match(&preview.stdout), "{preview:?}");

    let topics = env.run(&["topics", "list"]);
    let lines: Vec<&str> = topics.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{topics:?}");
    let query_column = column_of(lines[0], "QUERY");
    assert_eq!(
        column_of(lines[1], "标题"),
        query_column,
        "{}",
        topics.stdout
    );
    assert_eq!(
        column_of(lines[2], "  x") + 2,
        query_column,
        "{}",
        topics.stdout
    );
}
