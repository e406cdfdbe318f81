//! The config-editing admin commands against the real binary: `sources add
//! |remove|enable|disable|tag|import|export`. The config they edit is
//! written with comments and odd formatting, and every test checks that the
//! parts an edit did not touch are byte-identical afterwards.

use crate::common::*;
use crate::common::{config_text as read, env_with_config as env_with};

/// A config as people write them: comments everywhere, aligned values,
/// single quotes, a trailing comment on a table header, topics after the
/// sources. `{URL_A}`/`{URL_B}` are filled in per test.
const ODD: &str = r#"# newsriver — hand-written config
#   with a comment block at the top

[storage]
path    =    "news.db"      # beside this file

[fetch]
allow_private_addresses = true   # the test server is on loopback
timeout_secs = 2

# ---- sources ----

[[source]]   # the first one
id   = "alpha"
name = 'Alpha 日报'
url  = "{URL_A}"
tags = [ "national",   "daily" ]

[[source]]
# b is quiet
id = "beta"
url = "{URL_B}"
schedule = "0 0 * * * *"   # hourly

# ---- topics ----

[[topic]]
slug  = "edu"
title = "教育"
query = '教育'
"#;

fn odd(a: &str, b: &str) -> String {
    ODD.replace("{URL_A}", a).replace("{URL_B}", b)
}

fn feed(title: &str, items: &[(&str, &str)]) -> String {
    let items: Vec<Item<'_>> = items
        .iter()
        .map(|(guid, text)| Item {
            guid: Some(guid),
            link: None,
            title: Some(text),
            description: Some(text),
            pub_date: None,
        })
        .collect();
    rss2(title, &items)
}

fn rss(body: String) -> Response {
    Response::ok("application/rss+xml; charset=utf-8", body)
}

fn html(body: &str) -> Response {
    Response::ok("text/html; charset=utf-8", body.to_string())
}

/// `after` is `before` with `inserted` added at one place and nothing else
/// changed; returns where.
fn only_insertion(before: &str, after: &str, inserted: &str) -> usize {
    let at = after
        .find(inserted)
        .unwrap_or_else(|| panic!("{inserted:?} not in:\n{after}"));
    assert_eq!(
        format!("{}{}", &after[..at], &after[at + inserted.len()..]),
        before,
        "only the new text may differ"
    );
    at
}

#[test]
fn add_fetches_names_and_appends_after_the_last_source_leaving_the_rest_byte_identical() {
    let server = TestServer::start();
    server.fixed("/c", rss(feed("Gamma 晚报", &[("1", "一条新闻")])));
    let before = odd("https://a.example/rss", "https://b.example/rss");
    let env = env_with(&before);

    let r = env.run(&["sources", "add", &server.url("/c"), "--tag", "local"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("added source gamma-wanbao"), "{r:?}");
    let after = read(&env);
    let inserted = format!(
        "\n[[source]]\nid = \"gamma-wanbao\"\nname = \"Gamma 晚报\"\nurl = \"{}\"\ntags = [\"local\"]\n",
        server.url("/c")
    );
    let at = only_insertion(&before, &after, &inserted);
    assert!(
        at < after.find("# ---- topics").unwrap(),
        "the new source goes before the topics:\n{after}"
    );
    let check = env.run(&["check"]);
    assert_eq!(check.code, Some(0), "{check:?}");
    assert!(check.stdout.contains("3 sources"), "{check:?}");
}

#[test]
fn add_refuses_a_url_already_present_and_names_the_source() {
    let server = TestServer::start();
    server.fixed("/feed", rss(feed("A", &[("1", "x")])));
    let before = odd(&server.url("/feed"), "https://b.example/rss");
    let env = env_with(&before);
    // Scheme and host case and a trailing slash do not make it new.
    let variant = server
        .url("/feed")
        .replace("http://127.0.0.1", "HTTP://127.0.0.1")
        + "/";
    for args in [
        vec!["sources", "add", variant.as_str()],
        vec!["sources", "add", "--no-fetch", variant.as_str()],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, Some(2), "{r:?}");
        assert!(
            r.stderr.contains("already configured as source \"alpha\""),
            "{r:?}"
        );
    }
    // An explicit id that is taken is refused too.
    let r = env.run(&[
        "sources",
        "add",
        "--no-fetch",
        "--id",
        "beta",
        "https://new.example/rss",
    ]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("\"beta\" is already used"), "{r:?}");
    assert_eq!(read(&env), before);
    assert!(
        server.requests("/feed").is_empty(),
        "refused before fetching"
    );
}

#[test]
fn add_discovers_the_feeds_of_an_html_page() {
    let server = TestServer::start();
    server.fixed(
        "/news/index.html",
        html(
            r#"<!DOCTYPE html><html><head><title>新闻</title>
            <link rel="stylesheet" href="/style.css">
            <link rel="alternate" type="application/rss+xml" title="国内" href="china.xml">
            <link rel="alternate" type="application/atom+xml" title="国际" href="/feeds/world.atom">
            <link rel="alternate" type="application/feed+json" href="feed.json">
            </head><body>…</body></html>"#,
        ),
    );
    server.fixed("/news/china.xml", rss(feed("国内新闻", &[("1", "x")])));
    server.fixed(
        "/feeds/world.atom",
        Response::ok(
            "application/atom+xml",
            r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>World 国际</title><id>urn:x</id>
<updated>2026-10-09T00:00:00Z</updated>
<entry><id>urn:1</id><title>t</title><updated>2026-10-09T00:00:00Z</updated></entry></feed>"#,
        ),
    );
    server.fixed(
        "/single.html",
        html(r#"<html><head><link rel="alternate" type="application/rss+xml" href="/news/china.xml"></head></html>"#),
    );
    server.fixed(
        "/none.html",
        html("<html><head></head><body>no feeds</body></html>"),
    );
    let before = odd("https://a.example/rss", "https://b.example/rss");
    let env = env_with(&before);

    // Several feeds: a numbered list and a hint, nothing written.
    let r = env.run(&["sources", "add", &server.url("/news/index.html")]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr
            .contains("links to 3 feeds; choose one with --pick N"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains(&format!(
            "1. {}  (rss, \"国内\")",
            server.url("/news/china.xml")
        )),
        "relative hrefs are resolved: {r:?}"
    );
    assert!(
        r.stderr
            .contains(&format!("2. {}", server.url("/feeds/world.atom")))
    );
    assert!(
        r.stderr
            .contains(&format!("3. {}", server.url("/news/feed.json")))
    );
    assert_eq!(read(&env), before);
    let r = env.run(&[
        "sources",
        "add",
        &server.url("/news/index.html"),
        "--pick",
        "9",
    ]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert_eq!(read(&env), before);

    // --pick 2 takes the Atom feed; its title names the source.
    let r = env.run(&[
        "sources",
        "add",
        &server.url("/news/index.html"),
        "--pick",
        "2",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let after = read(&env);
    assert!(
        after.contains(&format!(
            "id = \"world-guoji\"\nname = \"World 国际\"\nurl = \"{}\"",
            server.url("/feeds/world.atom")
        )),
        "{after}"
    );

    // One feed: taken without asking.
    let r = env.run(&[
        "sources",
        "add",
        &server.url("/single.html"),
        "--id",
        "china",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(read(&env).contains(&format!("url = \"{}\"", server.url("/news/china.xml"))));
    // … and once it is in, the page that leads to it is a duplicate.
    let r = env.run(&["sources", "add", &server.url("/single.html")]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("source \"china\""), "{r:?}");

    // No feed at all.
    let r = env.run(&["sources", "add", &server.url("/none.html")]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("links to no feed"), "{r:?}");
}

#[test]
fn add_of_a_broken_url_fails_clearly_unless_no_fetch() {
    let server = TestServer::start();
    server.fixed("/404", Response::new(404));
    server.fixed("/junk", Response::ok("application/xml", "<rss><chan"));
    let before = odd("https://a.example/rss", "https://b.example/rss");
    let env = env_with(&before);
    for (path, says) in [("/404", "HTTP 404"), ("/junk", "does not parse as a feed")] {
        let r = env.run(&["sources", "add", &server.url(path)]);
        assert_eq!(r.code, Some(2), "{r:?}");
        assert!(r.stderr.contains(says), "{r:?}");
        assert!(r.stderr.contains("--no-fetch"), "{r:?}");
        assert_eq!(read(&env), before);
    }
    let r = env.run(&["sources", "add", "--no-fetch", &server.url("/404")]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(read(&env).contains(&server.url("/404")));

    // An argument that makes the config invalid is refused with the
    // loader's own message, and nothing is written.
    let before = read(&env);
    let r = env.run(&[
        "sources",
        "add",
        "--no-fetch",
        "--schedule",
        "every tuesday",
        "https://c.example/rss",
    ]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("schedule"), "{r:?}");
    assert!(r.stderr.contains("nothing was written"), "{r:?}");
    assert_eq!(read(&env), before);
    let r = env.run(&["sources", "add", "--no-fetch", "ftp://c.example/rss"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert_eq!(read(&env), before);
}

#[test]
fn disable_enable_tag_and_remove_touch_only_their_source() {
    let before = odd("https://a.example/rss", "https://b.example/rss");
    let env = env_with(&before);

    let r = env.run(&["sources", "disable", "beta"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let disabled = read(&env);
    only_insertion(&before, &disabled, "enabled = false\n");
    env.create_db();
    let list = env.run(&["sources", "list", "--format", "json"]);
    assert!(list.stdout.contains(r#""id":"beta","#), "{list:?}");
    assert!(
        list.stdout
            .lines()
            .any(|l| l.contains(r#""id":"beta""#) && l.contains(r#""enabled":false"#)),
        "{list:?}"
    );
    let r = env.run(&["sources", "enable", "beta"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(read(&env), before, "enable undoes disable exactly");

    let r = env.run(&["sources", "tag", "alpha", "+edu", "-daily", "local"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("national, edu, local"), "{r:?}");
    let tagged = read(&env);
    assert_eq!(
        tagged,
        before.replace(
            r#"tags = [ "national",   "daily" ]"#,
            r#"tags = ["national", "edu", "local"]"#
        )
    );

    let r = env.run(&["sources", "remove", "alpha"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let removed = read(&env);
    let block_start = tagged.find("[[source]]   # the first one").unwrap();
    let block_end = tagged.find("[[source]]\n# b is quiet").unwrap();
    assert_eq!(
        removed,
        format!("{}{}", &tagged[..block_start], &tagged[block_end..])
    );

    for args in [
        vec!["sources", "remove", "nope"],
        vec!["sources", "disable", "nope"],
        vec!["sources", "tag", "nope", "+x"],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, Some(2), "{r:?}");
        assert!(r.stderr.contains("no source with id \"nope\""), "{r:?}");
    }
    assert_eq!(read(&env), removed);
}

#[test]
fn remove_keeps_stories_and_purge_deletes_what_no_other_source_carried() {
    let server = TestServer::start();
    let shared =
        "京津冀教育协同发展工作会议在北京召开，三地教育部门签署了新的合作协议，推动优质资源共享。";
    let only_a =
        "河北省教育厅公布了二〇二六年义务教育招生政策，明确划片入学和随迁子女入学的具体办法。";
    let only_b =
        "天津市举办职业教育活动周，展示了近年来产教融合和校企合作的成果，吸引大量市民参观。";
    server.fixed("/a", rss(feed("A", &[("a1", shared), ("a2", only_a)])));
    server.fixed("/b", rss(feed("B", &[("b1", shared), ("b2", only_b)])));
    let env = env_with_store_config(&odd(&server.url("/a"), &server.url("/b")));
    env.poll(&[]);
    assert_eq!((env.stories(), env.copies()), (3, 4));
    let edu_before = env.export(&["--topic", "edu"]).len();
    assert_eq!(edu_before, 3);

    // Without --purge the stories stay, in the topic too.
    let r = env.run(&["sources", "remove", "beta"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("its stories stay"), "{r:?}");
    assert_eq!((env.stories(), env.copies()), (3, 4));
    assert_eq!(env.export(&["--topic", "edu"]).len(), 3);

    // --purge on alpha: its own story goes, the shared one stays with
    // beta's copy and now links there.
    let r = env.run(&["sources", "remove", "alpha", "--purge"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .contains("purged 2 copies of alpha, and 1 story no other source carried"),
        "{r:?}"
    );
    assert_eq!((env.stories(), env.copies()), (2, 2));
    assert_eq!(
        env.count("SELECT count(*) FROM sources WHERE id = 'alpha'"),
        0
    );
    assert_eq!(env.dangling(), 0, "no dangling references");
    // beta already left the config; --purge still clears its copies.
    let r = env.run(&["sources", "remove", "beta", "--purge"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!((env.stories(), env.copies()), (0, 0));
    let r = env.run(&["sources", "remove", "beta", "--purge"]);
    assert_eq!(r.code, Some(2), "{r:?}");
}

#[test]
fn opml_export_then_import_gives_the_same_sources_and_a_second_import_adds_nothing() {
    let env = env_with(&odd("https://a.example/rss", "https://b.example/rss"));
    let r = env.run(&[
        "sources",
        "add",
        "--no-fetch",
        "--name",
        "无标签",
        "https://c.example/feed",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let exported = env.run(&["sources", "export"]);
    assert_eq!(exported.code, Some(0), "{exported:?}");
    assert!(exported.stdout.starts_with("<?xml"), "{exported:?}");
    assert!(exported.stdout.contains("version=\"2.0\""), "{exported:?}");
    let opml = env.path("sources.opml");
    std::fs::write(&opml, &exported.stdout).unwrap();

    let fresh = env_with(
        "[storage]\npath = \"news.db\"\n\n[fetch]\nallow_private_addresses = true\ntimeout_secs = 2\n",
    );
    let r = fresh.run(&["sources", "import", "--no-fetch", opml.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.starts_with("imported 3 sources"), "{r:?}");
    let listed = |e: &Env| -> Vec<(String, String, Vec<String>)> {
        if !e.db_path().exists() {
            e.create_db();
        }
        let r = e.run(&["sources", "list", "--format", "json"]);
        assert_eq!(r.code, Some(0), "{r:?}");
        let mut v: Vec<_> = r
            .stdout
            .lines()
            .map(|l| {
                let j: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    j["url"].as_str().unwrap().to_string(),
                    j["name"].as_str().unwrap().to_string(),
                    j["tags"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_string())
                        .collect(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let original = listed(&env);
    assert_eq!(listed(&fresh), original);
    assert_eq!(original.len(), 3);
    assert!(original.iter().any(|(_, _, t)| t == &["national", "daily"]));

    let text = read(&fresh);
    let r = fresh.run(&["sources", "import", "--no-fetch", opml.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.starts_with("imported 0 sources") && r.stdout.contains("3 duplicates skipped"),
        "{r:?}"
    );
    assert!(r.stdout.contains("already source alpha"), "{r:?}");
    assert_eq!(read(&fresh), text, "a second import changes nothing");
}

#[test]
fn import_checks_feeds_fills_missing_names_and_adds_tags() {
    let server = TestServer::start();
    server.fixed("/named", rss(feed("来自订阅源的名字", &[("1", "x")])));
    server.fixed("/down", Response::new(503));
    let env = env_with(
        "[storage]\npath = \"news.db\"\n\n[fetch]\nallow_private_addresses = true\ntimeout_secs = 2\n",
    );
    let opml = env.path("in.opml");
    std::fs::write(
        &opml,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>from another reader</title></head><body>
<outline text="Folder">
  <outline type="rss" text="" xmlUrl="{named}"/>
  <outline type="rss" text="Down" xmlUrl="{down}"/>
  <outline type="rss" text="Again" xmlUrl="{named}/"/>
</outline>
<outline type="rss" text="FTP" xmlUrl="ftp://x.example/feed"/>
</body></opml>"#,
            named = server.url("/named"),
            down = server.url("/down")
        ),
    )
    .unwrap();
    let r = env.run(&[
        "sources",
        "import",
        "--tag",
        "imported",
        opml.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.starts_with("imported 2 sources"), "{r:?}");
    assert!(r.stdout.contains("1 duplicate skipped"), "{r:?}");
    assert!(r.stdout.contains("listed twice"), "{r:?}");
    assert!(r.stdout.contains("1 outline rejected"), "{r:?}");
    assert!(r.stdout.contains("1 failed the test fetch"), "{r:?}");
    assert!(r.stdout.contains("(1 disabled)"), "{r:?}");
    assert!(r.stdout.contains("added disabled down ("), "{r:?}");
    assert!(r.stdout.contains("HTTP 503"), "{r:?}");
    let text = read(&env);
    assert!(text.contains("name = \"来自订阅源的名字\""), "{text}");
    // The id comes from the feed's Chinese title, in pinyin.
    assert!(
        text.contains("id = \"laizi-dingyue-yuan-de-mingzi\""),
        "{text}"
    );
    assert!(text.contains("tags = [\"Folder\", \"imported\"]"), "{text}");
    // The feed that failed is added disabled, the reason above it, so it
    // is not polled forever.
    let down = &text[text.find("# disabled when imported: ").expect("note")..];
    assert!(down.lines().next().unwrap().contains("HTTP 503"), "{text}");
    assert!(
        down.contains("id = \"down\"") && down.contains("enabled = false"),
        "{text}"
    );
    assert_eq!(env.run(&["check"]).code, Some(0));
    // Enabling it once fixed removes the note with the key.
    let r = env.run(&["sources", "enable", "down"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let text = read(&env);
    assert!(
        !text.contains("# disabled when imported") && !text.contains("enabled = false"),
        "{text}"
    );

    // --skip-failed leaves them out, and says so.
    let env = env_with(
        "[storage]\npath = \"news.db\"\n\n[fetch]\nallow_private_addresses = true\ntimeout_secs = 2\n",
    );
    let r = env.run(&["sources", "import", "--skip-failed", opml.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.starts_with("imported 1 source (0 disabled)"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("1 failed the test fetch (not added)"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(&format!(
            "not added {}: fetch failed: HTTP 503",
            server.url("/down")
        )),
        "{r:?}"
    );
    assert!(!read(&env).contains("/down"));
}

#[test]
fn import_of_a_broken_opml_file_changes_nothing() {
    let before = odd("https://a.example/rss", "https://b.example/rss");
    let env = env_with(&before);
    let cases: [(&str, &[u8]); 4] = [
        ("truncated.opml", b"<?xml version=\"1.0\"?><opml version=\"2.0\"><body><outline text=\"a\" xmlUrl=\"https://x.example/\"/>"),
        ("rss.opml", b"<rss version=\"2.0\"><channel><title>x</title></channel></rss>"),
        ("empty.opml", b"<opml version=\"2.0\"><head/><body></body></opml>"),
        ("binary.opml", b"\x00\x01\x02\xff\xfe"),
    ];
    for (name, bytes) in cases {
        let path = env.path(name);
        std::fs::write(&path, bytes).unwrap();
        let r = env.run(&["sources", "import", "--no-fetch", path.to_str().unwrap()]);
        assert_eq!(r.code, Some(2), "{name}: {r:?}");
        assert!(r.stderr.contains("not a valid OPML file"), "{name}: {r:?}");
        assert!(r.stderr.contains("nothing imported"), "{name}: {r:?}");
        assert_eq!(read(&env), before, "{name}");
    }
    let r = env.run(&["sources", "import", "/nonexistent/x.opml"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("/nonexistent/x.opml"), "{r:?}");
}

#[test]
fn concurrent_edits_all_land() {
    let env = env_with(&odd("https://a.example/rss", "https://b.example/rss"));
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut cmd = binary();
            cmd.arg("--config").arg(&env.config).args([
                "sources",
                "add",
                "--no-fetch",
                "--id",
                &format!("parallel-{i}"),
                &format!("https://p{i}.example/rss"),
            ]);
            std::thread::spawn(move || run_command(cmd))
        })
        .collect();
    for c in children {
        let r = c.join().unwrap();
        assert_eq!(r.code, Some(0), "{r:?}");
    }
    let text = read(&env);
    for i in 0..8 {
        assert!(text.contains(&format!("id = \"parallel-{i}\"")), "{text}");
    }
    let check = env.run(&["check"]);
    assert!(check.stdout.contains("10 sources"), "{check:?}");
    // The lock is on the folder: no lock file is left beside the config.
    let left: Vec<_> = std::fs::read_dir(env.config.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("lock") || n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn edits_refuse_a_config_that_is_already_broken_and_report_a_failed_reload() {
    let before = odd("https://a.example/rss", "https://b.example/rss");
    let env = env_with(&before.replace("timeout_secs = 2", "timeout_sec = 2"));
    let r = env.run(&["sources", "disable", "alpha"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("did you mean `timeout_secs`"), "{r:?}");

    // --reload with no daemon running: the edit is saved, the failure said.
    let env = env_with(&before);
    let r = env.run(&["sources", "disable", "--reload", "alpha"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("the edit is saved"), "{r:?}");
    assert!(read(&env).contains("enabled = false"));
}

#[test]
fn a_symlinked_config_stays_a_symlink_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = env_with(&odd("https://a.example/rss", "https://b.example/rss"));
    let real = env.path("real.toml");
    std::fs::rename(&env.config, &real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink(&real, &env.config).unwrap();
    let r = env.run(&["sources", "disable", "beta"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        std::fs::symlink_metadata(&env.config)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("enabled = false")
    );
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn add_reads_the_feed_in_the_encoding_given_and_refuses_an_unknown_one_before_fetching() {
    let server = TestServer::start();
    // Big5 bytes declared as GBK by both HTTP and the document: they read
    // as GBK without an error, into other characters; only --encoding
    // reads its title right.
    let body = feed("聯合晚報", &[("1", "兩岸教育交流座談會今日舉行")])
        .replace("encoding=\"UTF-8\"", "encoding=\"gbk\"");
    let (big5, _, unmappable) = encoding_rs::BIG5.encode(&body);
    assert!(!unmappable);
    server.fixed(
        "/big5",
        Response::ok("application/rss+xml; charset=gbk", big5.into_owned()),
    );
    let config = "[storage]\npath = \"news.db\"\n\n[fetch]\nallow_private_addresses = true\ntimeout_secs = 2\n";
    let env = env_with(config);
    let r = env.run(&[
        "sources",
        "add",
        "--encoding",
        "klingon",
        &server.url("/big5"),
    ]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("--encoding: unknown charset \"klingon\""),
        "{r:?}"
    );
    assert!(
        server.requests("/big5").is_empty(),
        "refused before fetching"
    );
    let r = env.run(&["sources", "add", "--encoding", "big5", &server.url("/big5")]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let text = read(&env);
    assert!(
        text.contains("name = \"聯合晚報\"") && text.contains("encoding = \"big5\""),
        "{text}"
    );
    // Without it, what the document declares.
    let other = env_with(config);
    let r = other.run(&["sources", "add", &server.url("/big5")]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!read(&other).contains("聯合晚報"), "{r:?}");
}
