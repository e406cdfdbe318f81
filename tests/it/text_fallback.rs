//! A stripped text is never empty while the feed had text (issue 20): an
//! item whose text is all boilerplate (a credit line, `原标题：…`) keeps
//! its text as published, and is counted: per poll (`sources show`, text
//! and JSON), in `/metrics` of a running daemon. Fixture feeds served by a
//! local server, polled by the real binary.

use std::time::Duration;

use crate::common::*;

/// A report, nothing in it boilerplate.
const REPORT: &str = "<p>京津冀三地教育部门今天在北京签署协议，推动优质教育资源共享与教师交流轮岗，\
首批试点学校名单同时公布，涉及三地共六十所中小学。</p>";
/// Nothing but a credit line and the end mark: each reads as boilerplate.
const CREDITS: &str = "<p>责任编辑：王五</p><p>(完)</p>";
/// Nothing but the original headline, as plain text.
const ORIGINAL_TITLE: &str = "原标题：京津冀交通一体化提速";

const DATE: &str = "Fri, 09 Oct 2026 10:00:00 +0800";

/// One report and two items whose text is all boilerplate.
fn feed() -> String {
    let item = |guid, title, description| Item {
        guid: Some(guid),
        link: Some(guid),
        title: Some(title),
        description: Some(description),
        pub_date: Some(DATE),
    };
    rss2(
        "甲日报",
        &[
            item("https://a.example.cn/1.html", "京津冀教育资源共享", REPORT),
            item(
                "https://a.example.cn/2.html",
                "京津冀协同发展会议召开",
                CREDITS,
            ),
            item(
                "https://a.example.cn/3.html",
                "京津冀交通一体化",
                ORIGINAL_TITLE,
            ),
        ],
    )
}

const TOPIC: &str = "\n[[topic]]\nslug = \"jjj\"\ntitle = \"京津冀\"\nquery = '京津冀'\n";

fn setup(server: &TestServer, extra: &str) -> Env {
    server.fixed("/a", Response::ok(RSS_TYPE, feed()));
    Env::with(
        FETCH,
        &[src("a", &server.url("/a"))],
        &format!("{extra}{TOPIC}"),
    )
}

#[test]
fn an_item_whose_text_is_all_boilerplate_keeps_it_and_is_counted() {
    let server = TestServer::start();
    let env = setup(&server, "");
    env.poll(&[]);
    // Stored with a text: the text as published.
    let stories = env.export(&[]);
    assert_eq!(stories.len(), 3, "{stories:?}");
    for s in &stories {
        let text = s["text"].as_str().unwrap();
        assert!(
            text.chars().any(char::is_alphanumeric),
            "an empty text: {s}"
        );
    }
    let text_of = |title: &str| {
        stories
            .iter()
            .find(|s| s["title"].as_str().unwrap().contains(title))
            .unwrap_or_else(|| panic!("no story {title}: {stories:?}"))["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(text_of("协同发展").contains("王五"));
    assert!(text_of("交通一体化").contains("原标题"));
    // The report lost nothing, and kept nothing it should not.
    assert!(!text_of("资源共享").contains("责任编辑"));

    // Counted: two of the three items, in the poll's row.
    let counted: Vec<i64> = env
        .store()
        .prepare("SELECT text_fallbacks FROM polls WHERE source_id = 'a'")
        .unwrap()
        .query_map(NONE, |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(counted, [2]);

    // `sources show` names the count, in the window and per poll.
    let show = env.run(&["sources", "show", "a"]);
    assert_eq!(show.code, Some(0), "{show:?}");
    assert!(
        show.stdout.contains(
            "text kept as published    2 of 3 items stored in the last 7 days \
             (the boilerplate rules left nothing of their text)"
        ),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains(", 2 kept as published"),
        "{}",
        show.stdout
    );
    let json = env.run(&["sources", "show", "a", "--format", "json"]);
    assert_eq!(json.code, Some(0), "{json:?}");
    let shown: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(shown["id"], "a", "{shown}");
    assert_eq!(shown["text_fallbacks"], 2, "{shown}");
    assert_eq!(shown["items_stored"], 3, "{shown}");
    assert_eq!(shown["window_days"], 7, "{shown}");
    assert_eq!(shown["recent_polls"][0]["text_fallbacks"], 2, "{shown}");

    // Polled again unchanged: nothing stored, nothing counted.
    env.poll(&[]);
    let shown = env.run(&["sources", "show", "a", "--format", "json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["text_fallbacks"], 2, "{shown}");
    assert_eq!(shown["recent_polls"][0]["text_fallbacks"], 0, "{shown}");

    // The topic feed shows each of them with its text, not as a headline
    // with nothing under it.
    let run = env.run(&["render", "jjj", "--format", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let rendered: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let items = rendered["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{rendered}");
    let html_of = |title: &str| {
        items
            .iter()
            .find(|i| i["title"].as_str().unwrap().contains(title))
            .unwrap_or_else(|| panic!("no entry {title}: {rendered}"))["content_html"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let credits = html_of("协同发展");
    assert!(credits.contains("王五"), "{credits}");
    assert!(!credits.contains("只有标题"), "{credits}");
    let original = html_of("交通一体化");
    assert!(original.contains("原标题"), "{original}");
    let report = html_of("资源共享");
    assert!(report.contains("六十所中小学"), "{report}");
}

#[test]
fn the_daemon_counts_texts_kept_as_published_in_metrics() {
    let server = TestServer::start();
    let port = free_port();
    let env = setup(&server, &format!("{EVERY_SECOND}{}", server_section(port)));
    let mut daemon = spawn_daemon(&env.config, Some(&env.path("daemon.log")));
    // Polled every second: the first poll stores the three items, the
    // next ones find them known (not counted again).
    let mut last = None;
    for _ in 0..200 {
        if server.requests("/a").len() >= 3 {
            last = http_get(&format!("http://127.0.0.1:{port}/metrics"));
            if last.as_ref().is_some_and(|(status, _)| *status == 200) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    let (_, last) = last.expect("the daemon polled three times and answered /metrics");
    let count = last
        .lines()
        .find_map(|l| l.strip_prefix("newsriver_text_fallbacks_total "))
        .unwrap_or_else(|| panic!("no counter: {last}"));
    assert_eq!(count.trim(), "2", "{last}");
    assert!(
        last.contains("# HELP newsriver_text_fallbacks_total "),
        "{last}"
    );
}
