//! `newsriver export`: JSON Lines, newest first, `--since`, every copy's source.

use crate::common::*;

fn item<'a>(guid: &'a str, title: &'a str, body: &'a str, date: &'a str) -> Item<'a> {
    Item {
        guid: Some(guid),
        link: None,
        title: Some(title),
        description: Some(body),
        pub_date: Some(date),
    }
}

const SHARED: &str = "国家统计局今天发布数据显示，九月份全国居民消费价格同比持平，环比上涨零点二个百分点，核心通胀保持稳定。";

/// Two outlets over HTTP; one story carried by both (copies on Oct 7 and
/// Oct 9: the story's date is Oct 7), the others by one each.
fn setup() -> (TestServer, Env) {
    let server = TestServer::start();
    server.fixed(
        "/x",
        Response::ok(
            RSS_TYPE,
            rss2(
                "甲",
                &[
                    item(
                        "x-1",
                        "十月九日的新闻",
                        "<p>十月九日上午，全国多地迎来降温降雨天气，中央气象台继续发布寒潮蓝色预警。</p>",
                        "Mon, 09 Oct 2023 09:00:00 +0000",
                    ),
                    item(
                        "x-2",
                        "十月八日的新闻",
                        "<p>十月八日是国庆中秋假期后的第一个工作日，各地铁路客流逐步回落到正常水平。</p>",
                        "Sun, 08 Oct 2023 00:00:00 +0000",
                    ),
                    item(
                        "x-3",
                        "居民消费价格同比持平",
                        &format!("<p>{SHARED}</p>"),
                        "Mon, 09 Oct 2023 12:00:00 +0000",
                    ),
                ],
            ),
        ),
    );
    server.fixed(
        "/y",
        Response::ok(
            RSS_TYPE,
            rss2(
                "乙",
                &[
                    item(
                        "y-1",
                        "十月六日的新闻",
                        "<p>十月六日，国庆假期第六天，全国重点景区接待游客人次较去年同期明显增长。</p>",
                        "Fri, 06 Oct 2023 08:00:00 +0800",
                    ),
                    item(
                        "y-2",
                        "九月居民消费价格同比持平",
                        &format!("<p>{SHARED}</p>"),
                        "Sat, 07 Oct 2023 10:00:00 +0000",
                    ),
                ],
            ),
        ),
    );
    let env = Env::with(
        FETCH,
        &[src("x", &server.url("/x")), src("y", &server.url("/y"))],
        "[[topic]]\nslug = \"prices\"\ntitle = \"物价\"\nquery = '居民消费价格'\n",
    );
    env.poll(&[]);
    (server, env)
}

fn titles(stories: &[serde_json::Value]) -> Vec<&str> {
    stories
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect()
}

#[test]
fn export_is_newest_first_with_every_copy_and_its_source() {
    let (_server, env) = setup();
    let all = env.export(&[]);
    assert_eq!(
        titles(&all),
        vec![
            "十月九日的新闻",
            "十月八日的新闻",
            // Merged: the earliest copy's date (Oct 7) and, whichever outlet
            // was stored first, one entry.
            all[2]["title"].as_str().unwrap(),
            "十月六日的新闻",
        ]
    );
    assert!(
        all[2]["title"]
            .as_str()
            .unwrap()
            .ends_with("居民消费价格同比持平")
    );
    let published: Vec<&str> = all
        .iter()
        .map(|s| s["published"].as_str().unwrap())
        .collect();
    assert_eq!(
        published,
        vec![
            "2023-10-09T09:00:00Z",
            "2023-10-08T00:00:00Z",
            "2023-10-07T10:00:00Z",
            "2023-10-06T00:00:00Z"
        ]
    );
    for s in &all {
        for key in ["id", "content_hash", "title", "published"] {
            assert!(s[key].is_string(), "{key} in {s}");
        }
        assert_eq!(s["content_hash"].as_str().unwrap().len(), 64, "{s}");
        assert!(s.get("link").is_some(), "{s}");
        assert!(s["topics"].is_array(), "{s}");
        let copies = s["copies"].as_array().unwrap();
        assert!(!copies.is_empty(), "{s}");
        for c in copies {
            let source = c["source"].as_str().unwrap_or_default();
            assert!(
                source == "x" || source == "y",
                "copy without its source: {c}"
            );
            for key in ["guid", "link", "title", "published"] {
                assert!(c.get(key).is_some(), "{key} in {c}");
            }
        }
    }
    let merged = &all[2];
    let copies: Vec<(&str, &str, &str)> = merged["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["source"].as_str().unwrap(),
                c["guid"].as_str().unwrap(),
                c["published"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        copies,
        vec![
            ("y", "y-2", "2023-10-07T10:00:00Z"),
            ("x", "x-3", "2023-10-09T12:00:00Z")
        ]
    );
    assert_eq!(merged["topics"], serde_json::json!(["prices"]));
    assert_eq!(all[0]["topics"], serde_json::json!([]));
}

#[test]
fn since_filters_by_published_date() {
    let (_server, env) = setup();
    let since = env.export(&["--since", "2023-10-08T00:00:00Z"]);
    assert_eq!(
        titles(&since),
        vec!["十月九日的新闻", "十月八日的新闻"],
        "inclusive, and a merged story counts from its earliest copy"
    );
    // The same instant in another offset.
    let same = env.export(&["--since", "2023-10-08T08:00:00+08:00"]);
    assert_eq!(titles(&same), titles(&since));
    let one_second_later = env.export(&["--since", "2023-10-08T00:00:01Z"]);
    assert_eq!(titles(&one_second_later), vec!["十月九日的新闻"]);
    assert_eq!(env.export(&["--since", "2030-01-01T00:00:00Z"]).len(), 0);
    assert_eq!(env.export(&["--since", "2000-01-01T00:00:00Z"]).len(), 4);
}

#[test]
fn topic_filter_and_unknown_topic() {
    let (_server, env) = setup();
    let prices = env.export(&["--topic", "prices"]);
    assert_eq!(prices.len(), 1);
    assert_eq!(prices[0]["copies"].as_array().unwrap().len(), 2);
    let run = env.run(&["export", "--topic", "nope"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("nope"), "{run:?}");
}

#[test]
fn bad_since_is_rejected() {
    let env = Env::new(&[]);
    let run = env.run(&["export", "--since", "yesterday"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("RFC 3339"), "{run:?}");
    assert!(run.stdout.is_empty());
}

#[test]
fn export_of_an_empty_database_prints_nothing() {
    let env = Env::new(&[]);
    // An empty database, not a missing one (that is an error: see
    // admin::admin_commands_need_the_database_and_say_where_the_service_keeps_it).
    env.poll(&[]);
    let run = env.run(&["export"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn export_output_is_one_json_object_per_line_in_utf8() {
    let (_server, env) = setup();
    let run = env.run(&["export"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.ends_with('\n'));
    for line in run.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v.is_object());
    }
    // CJK is written as characters, not \u escapes.
    assert!(run.stdout.contains("十月九日的新闻"), "{}", run.stdout);
}
