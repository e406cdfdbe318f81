//! Read-only admin commands against the real binary.

mod common;

use common::*;

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

    let list = env.run(&["sources", "list"]);
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
    assert!(
        list.stdout.contains("edu  京津冀教育协同  1 stories"),
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
