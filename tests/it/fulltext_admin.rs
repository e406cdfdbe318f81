//! Full text an admin can preview and trust (issue 23): a `full_text`
//! source whose feed already carries the whole text is not fetched and is
//! counted "not needed", not "failed"; real failures are kept with URL and
//! reason and listed by `sources show`; `sources test ID --page` shows what
//! the extractor keeps and drops and which rule found the article, storing
//! nothing; a poll logs one INFO line per source, and a failed poll's error
//! names its host.

use std::time::Duration;

use crate::common::*;
use crate::fulltext::{P1, P2, P3, page, summary};

/// A whole report of `n` distinct paragraphs (about 40 characters each),
/// numbered from `from`, as `<p>` elements.
fn whole_text(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "<p>第{i}段：本市今年推进第{i}项民生工程，累计完成投资{i}亿元，惠及沿线居民{i}万户，群众满意度明显提升。</p>"
            )
        })
        .collect()
}

/// The `full_text` source `zh` on `server`'s `/feed.xml`, with `extra`
/// config lines, and `[log] level = "info"` so the poll's line shows.
fn full_text_env(server: &TestServer, extra: &str) -> Env {
    let mut s = src("zh", &server.url("/feed.xml"));
    s.extra = format!("full_text = true\nallow_private_addresses = true\n{extra}");
    Env::with(FETCH, &[s], "[log]\nlevel = \"info\"\n")
}

fn feed(items: &[(&str, String, String)]) -> String {
    let its: Vec<Item<'_>> = items
        .iter()
        .map(|(g, l, d)| Item {
            guid: Some(g),
            link: Some(l),
            title: Some(g),
            description: Some(d),
            pub_date: None,
        })
        .collect();
    rss2("某某新闻网", &its)
}

/// newsriver's own log lines at INFO (not a dependency's, such as the
/// migration's).
fn info_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(" INFO newsriver"))
        .collect()
}

/// The database file and its WAL, as bytes.
fn db_files(env: &Env) -> Vec<Option<Vec<u8>>> {
    ["news.db", "news.db-wal"]
        .iter()
        .map(|f| std::fs::read(env.path(f)).ok())
        .collect()
}

#[test]
fn whole_feed_texts_are_not_fetched_and_count_as_not_needed() {
    let server = TestServer::start();
    let article = page(1, "charset=\"utf-8\"", "某地推进民生工程", P1);
    for p in ["/w/1.html", "/w/2.html"] {
        server.fixed(p, Response::ok("text/html; charset=utf-8", article.clone()));
    }
    // A summary whose page says no more (the selector picks the same
    // sentence): fetched, and not needed either.
    let same = "全市秋季运动会在体育中心开幕，来自各区的三千多名运动员参加比赛。";
    server.fixed(
        "/s/1.html",
        Response::ok(
            "text/html; charset=utf-8",
            format!("<html><body><div class=\"nav\">首页</div><div class=\"pick\"><p>{same}</p></div></body></html>"),
        ),
    );
    let items = [
        ("w1", server.url("/w/1.html"), whole_text(1, 16)),
        ("w2", server.url("/w/2.html"), whole_text(100, 16)),
        ("s1", server.url("/s/1.html"), format!("<p>{same}</p>")),
    ];
    server.fixed("/feed.xml", Response::ok(RSS_TYPE, feed(&items)));
    let env = full_text_env(&server, "full_text_selector = \"div.pick\"\n");
    let r = env.poll(&[]);
    assert!(
        server.requests("/w/1.html").is_empty() && server.requests("/w/2.html").is_empty(),
        "the pages of whole feed texts were fetched"
    );
    assert_eq!(server.requests("/s/1.html").len(), 1);
    assert!(
        r.stderr
            .contains("full text: 0 pages fetched, 0 failed, 0 skipped, 3 not needed"),
        "{}",
        r.stderr
    );
    // One INFO line for the poll, none per page.
    let info = info_lines(&r.stderr);
    assert_eq!(info.len(), 1, "one INFO line per source: {info:#?}");
    for want in [
        "polled",
        "source_id=zh",
        "host=127.0.0.1",
        "new=3",
        "updated=0",
        "full_text_fetched=0",
        "full_text_not_needed=3",
        "full_text_failed=0",
    ] {
        assert!(info[0].contains("first_failure=-"), "{}", info[0]);
        assert!(info[0].contains(want), "{want:?} not in {:?}", info[0]);
    }

    let show = env.run(&["sources", "show", "zh"]);
    assert_eq!(show.code, Some(0), "{show:?}");
    assert!(
        show.stdout.contains(
            "0 fetched, 3 not needed (the feed had the whole text), 0 failed, 0 skipped in the last 7 days"
        ),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout
            .contains("full-text failures (last 20):\n    none"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout
            .contains("full text 0 fetched / 3 not needed / 0 failed / 0 skipped"),
        "{}",
        show.stdout
    );
    let json = env.run(&["sources", "show", "zh", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    let ft = &v["full_text"];
    assert_eq!(ft["enabled"], true, "{ft}");
    assert_eq!(ft["selector"], "div.pick", "{ft}");
    assert_eq!(ft["pages_in_window"]["not_needed"], 3, "{ft}");
    assert_eq!(ft["pages_in_window"]["failed"], 0, "{ft}");
    assert_eq!(ft["failures"], serde_json::json!([]), "{ft}");
    assert_eq!(v["recent_polls"][0]["pages_not_needed"], 3, "{v}");

    // Known items: nothing fetched again.
    env.poll(&[]);
    assert_eq!(server.requests("/s/1.html").len(), 1);
}

#[test]
fn failed_pages_are_listed_with_url_and_reason_and_logged_once_per_poll() {
    let server = TestServer::start();
    server.fixed("/gone.html", Response::new(404));
    server.fixed(
        "/empty.html",
        Response::ok(
            "text/html; charset=utf-8",
            "<html><head><title>空页</title></head><body><div></div></body></html>",
        ),
    );
    server.fixed(
        "/data.json",
        Response::ok("application/json", "{\"text\": \"不是网页\"}"),
    );
    server.fixed(
        "/a/1.html",
        Response::ok(
            "text/html; charset=utf-8",
            page(1, "charset=\"utf-8\"", "京津冀教育协同发展工作会议召开", P1),
        ),
    );
    let items = [
        ("1", server.url("/a/1.html"), summary(P1)),
        ("2", server.url("/gone.html"), summary(P2)),
        ("3", server.url("/empty.html"), summary(P3)),
        (
            "4",
            server.url("/data.json"),
            "数据接口的摘要文字，链接不是网页。".to_string(),
        ),
    ];
    server.fixed("/feed.xml", Response::ok(RSS_TYPE, feed(&items)));
    let env = full_text_env(&server, "");
    let r = env.poll(&[]);
    assert!(
        r.stderr
            .contains("full text: 1 pages fetched, 3 failed, 0 skipped, 0 not needed"),
        "{}",
        r.stderr
    );
    let info = info_lines(&r.stderr);
    assert_eq!(info.len(), 1, "one INFO line per source: {info:#?}");
    assert!(
        info[0].contains("full_text_fetched=1")
            && info[0].contains("full_text_failed=3")
            && info[0].contains("first_failure="),
        "{}",
        info[0]
    );

    let show = env.run(&["sources", "show", "zh"]);
    assert_eq!(show.code, Some(0), "{show:?}");
    let failures: Vec<&str> = show
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("  full-text failures"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect();
    assert_eq!(failures.len(), 3, "{}", show.stdout);
    for (path, reason) in [
        ("/gone.html", "HTTP 404"),
        ("/empty.html", "no article found"),
        ("/data.json", "not an HTML page (application/json)"),
    ] {
        let url = server.url(path);
        assert!(
            failures
                .iter()
                .any(|l| l.contains(&url) && l.contains(reason) && starts_with_a_time(l)),
            "{url}: {reason:?} not listed in {failures:#?}"
        );
    }
    let json = env.run(&["sources", "show", "zh", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    let listed = v["full_text"]["failures"].as_array().expect("an array");
    assert_eq!(listed.len(), 3, "{v}");
    let gone = listed
        .iter()
        .find(|f| f["url"] == server.url("/gone.html"))
        .expect("the 404 listed");
    assert!(
        gone["reason"].as_str().unwrap().contains("HTTP 404"),
        "{gone}"
    );
    assert!(gone["at"].as_str().is_some(), "a time: {gone}");
    assert_eq!(v["full_text"]["pages_in_window"]["failed"], 3, "{v}");

    // `sources test --page` on the failing pages: a clear error, exit 1,
    // and the database untouched.
    let before = db_files(&env);
    for (path, said) in [
        ("/gone.html", "fetch failed: HTTP 404"),
        ("/empty.html", "full text failed: no article found"),
        (
            "/data.json",
            "full text failed: not an HTML page (application/json)",
        ),
    ] {
        let url = server.url(path);
        let t = env.run(&["sources", "test", "zh", "--page", &url]);
        assert_eq!(t.code, Some(1), "{path}: {t:?}");
        assert!(t.stderr.contains(said), "{path}: {t:?}");
        assert!(
            t.stderr.contains(&format!("page {url}")),
            "names the page: {t:?}"
        );
        assert!(db_files(&env) == before, "{path}: the database changed");
    }
}

#[test]
fn sources_test_page_shows_what_the_extractor_keeps_and_drops() {
    let server = TestServer::start();
    server.fixed(
        "/a/1.html",
        Response::ok(
            "text/html; charset=utf-8",
            page(1, "charset=\"utf-8\"", "京津冀教育协同发展工作会议召开", P1),
        ),
    );
    let items = [("1", server.url("/a/1.html"), summary(P1))];
    server.fixed("/feed.xml", Response::ok(RSS_TYPE, feed(&items)));
    let plain = {
        // No full text: previewing turning it on.
        let mut s = src("plain", &server.url("/feed.xml"));
        s.extra = "allow_private_addresses = true\n".into();
        s
    };
    let picked = {
        let mut s = src("picked", &server.url("/feed.xml"));
        s.extra = "full_text = true\nallow_private_addresses = true\nfull_text_selector = \"div.left_zw\"\n".into();
        s
    };
    let absent = {
        let mut s = src("absent", &server.url("/feed.xml"));
        s.extra = "full_text = true\nallow_private_addresses = true\nfull_text_selector = \"div.nothing-here\"\n".into();
        s
    };
    let env = Env::new(&[plain, picked, absent]);

    // The feed's first item's page, the readability extractor.
    let t = env.run(&["sources", "test", "plain", "--page"]);
    assert_eq!(t.code, Some(0), "{t:?}");
    let out = &t.stdout;
    for want in [
        &format!("GET {}", server.url("/feed.xml")),
        "first item with a link: 1",
        &format!("page {}", server.url("/a/1.html")),
        "HTTP 200",
        "charset UTF-8",
        "article found by the readability extractor (dom_smoothie); no full_text_selector set",
        "dropped by the extractor:",
        "  - 网站首页",
        "a poll would keep the article",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    let kept: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("  | ")).collect();
    for p in &P1[1..] {
        let p = newsriver::normalize::nfkc(p);
        assert!(
            kept.iter().any(|l| l.contains(&p)),
            "{p:?} not kept: {kept:#?}"
        );
    }
    for chrome in ["网站首页", "热门新闻", "网友评论", "京ICP备"] {
        assert!(
            !kept.iter().any(|l| l.contains(chrome)),
            "{chrome:?} kept: {kept:#?}"
        );
    }
    let chars: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("kept ")?.split(' ').next()?.parse().ok())
        .expect("a kept line");
    assert!(chars > 150, "{out}");

    // With a selector that matches: it found the article, and the credit
    // line inside it is removed by the boilerplate rules.
    let url = server.url("/a/1.html");
    let t = env.run(&["sources", "test", "picked", "--page", &url]);
    assert_eq!(t.code, Some(0), "{t:?}");
    assert!(
        t.stdout
            .contains("article found by full_text_selector \"div.left_zw\""),
        "{}",
        t.stdout
    );
    assert!(
        !t.stdout.lines().any(|l| l.starts_with("GET ")),
        "a given page needs no feed: {}",
        t.stdout
    );
    let removed: Vec<&str> = t
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("removed by the boilerplate rules"))
        .collect();
    assert!(
        removed.iter().any(|l| l.contains("责任编辑")),
        "{}",
        t.stdout
    );
    // A selector that matches nothing: the extractor decides, and says so.
    let t = env.run(&["sources", "test", "absent", "--page", &url]);
    assert_eq!(t.code, Some(0), "{t:?}");
    assert!(
        t.stdout.contains(
            "article found by the readability extractor (dom_smoothie); full_text_selector \"div.nothing-here\" matched nothing with text"
        ),
        "{}",
        t.stdout
    );
    // Not a URL: refused (2), naming the argument.
    let t = env.run(&["sources", "test", "plain", "--page", "a/1.html"]);
    assert_eq!(t.code, Some(2), "{t:?}");
    assert!(
        t.stderr.contains("--page \"a/1.html\": not an http(s) URL"),
        "{t:?}"
    );
    // Read commands create no database.
    assert!(!env.db_path().exists());
}

#[test]
fn a_failed_polls_log_line_names_its_host_and_a_good_one_logs_its_counts() {
    let server = TestServer::start();
    let items = [("1", server.url("/a/1.html"), summary(P1))];
    server.fixed("/feed.xml", Response::ok(RSS_TYPE, feed(&items)));
    let port = free_port();
    // A host name whose connection fails without a word of it (refused:
    // nothing listens there), as a resolver's "Name or service not known".
    let lost = "localhost";
    let env = Env::with(
        FETCH,
        &[
            src("good", &server.url("/feed.xml")),
            src("lost", &format!("http://{lost}:{}/feed.xml", free_port())),
        ],
        &format!("{EVERY_SECOND}{}", server_section(port)),
    );
    let log = env.path("daemon.log");
    let mut daemon = spawn_daemon(&env.config, Some(&log));
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let polled = |text: &str| {
        text.contains("poll failed")
            && text
                .lines()
                .any(|l| l.contains("polled") && l.contains("source_id=good"))
    };
    let waited = std::panic::catch_unwind(|| {
        wait_for(
            Duration::from_secs(30),
            || polled(&read()),
            "both sources polled",
        )
    });
    let _ = daemon.kill();
    let _ = daemon.wait();
    let text = read();
    assert!(waited.is_ok(), "{text}");
    let failed = text
        .lines()
        .find(|l| l.contains("poll failed"))
        .expect("a failed poll's line");
    assert!(
        failed.contains("source_id=lost") && failed.contains(&format!("error={lost}: ")),
        "the line names the host: {failed}"
    );
    let good = text
        .lines()
        .find(|l| l.contains("polled") && l.contains("source_id=good"))
        .expect("the good poll's line");
    assert!(
        good.contains("new=1") && good.contains("updated=0") && good.contains("host=127.0.0.1"),
        "{good}"
    );
    assert!(
        !good.contains("full_text"),
        "no full-text counts for a source without full text: {good}"
    );
    // The stored error names it too (`sources list`, `sources show`).
    assert!(
        env.source("lost")
            .last_error
            .unwrap_or_default()
            .starts_with(&format!("{lost}: ")),
    );
}

/// `    2026-12-05 08:51:56 +08:00  …`: a listed failure opens with its time
/// (in the display zone, with its offset).
fn starts_with_a_time(line: &str) -> bool {
    let t = line.trim_start();
    let b = t.as_bytes();
    t.len() > 26
        && b[4] == b'-'
        && b[13] == b':'
        && (b[20] == b'+' || b[20] == b'-')
        && t[..4].bytes().all(|c| c.is_ascii_digit())
}
