//! `newsriver poll` end to end: the real binary, a local HTTP server whose
//! answers each test controls, `file://` sources, and the SQLite file.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;

// ---- formats -------------------------------------------------------------------

const ATOM_FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>人民网 · 教育</title><id>urn:test:atom</id><updated>2023-10-09T04:00:00Z</updated>
  <entry>
    <id>urn:test:atom:1</id>
    <title>高校毕业生就业工作推进会召开</title>
    <link rel="alternate" href="https://atom.example/1.html"/>
    <published>2023-10-09T03:00:00Z</published>
    <updated>2023-10-09T04:00:00Z</updated>
    <author><name>李四</name></author>
    <content type="html"><![CDATA[<p>教育部近日召开高校毕业生就业工作推进会，部署做好下一阶段就业促进工作，各地高校要拓展市场化社会化就业渠道。</p>]]></content>
  </entry>
</feed>
"#;

const RSS1_FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example/">
    <title>RDF 新闻</title><link>https://rdf.example/</link><description>RSS 1.0 测试</description>
    <items><rdf:Seq><rdf:li rdf:resource="https://rdf.example/1.html"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://rdf.example/1.html">
    <title>长江流域禁渔成效显现</title>
    <link>https://rdf.example/1.html</link>
    <description>农业农村部表示，长江十年禁渔实施以来，流域水生生物资源逐步恢复，江豚出现频率明显增加。</description>
    <dc:date>2023-10-08T06:00:00Z</dc:date>
  </item>
</rdf:RDF>
"#;

const JSON_FEED: &str = r#"{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "澎湃新闻",
  "home_page_url": "https://json.example/",
  "items": [
    {
      "id": "json-1",
      "url": "https://json.example/1",
      "title": "上海地铁新线开通初期运营",
      "content_html": "<p>上海地铁两条新线今日开通初期运营，沿线居民出行时间将大幅缩短，换乘站点同步启用。</p>",
      "date_published": "2023-10-07T01:30:00Z",
      "authors": [{"name": "王五"}]
    }
  ]
}"#;

fn rss2_feed() -> String {
    rss2(
        "中国新闻网",
        &[Item {
            guid: Some("rss-1"),
            link: Some("https://rss.example/1.html"),
            title: Some("全国秋粮收获进度过半"),
            description: Some(
                "<p>农业农村部农情调度显示，全国秋粮已收获过半，各地抢抓晴好天气加快机收进度，确保颗粒归仓。</p>",
            ),
            pub_date: Some("Mon, 09 Oct 2023 10:00:00 +0800"),
        }],
    )
}

#[test]
fn rss2_atom_rss1_and_json_feed_are_all_stored() {
    let server = TestServer::start();
    server.fixed("/rss2", Response::ok(RSS_TYPE, rss2_feed()));
    server.fixed("/atom", Response::ok(ATOM_TYPE, ATOM_FEED));
    server.fixed("/rss1", Response::ok("application/rdf+xml", RSS1_FEED));
    server.fixed("/json", Response::ok(JSON_TYPE, JSON_FEED));
    let env = Env::new(&[
        src("rss2", &server.url("/rss2")),
        src("atom", &server.url("/atom")),
        src("rss1", &server.url("/rss1")),
        src("json", &server.url("/json")),
    ]);
    let run = env.poll(&[]);
    assert_eq!(summary_counts(&run.stderr), (4, 0, 0), "{run:?}");

    for (id, format, title) in [
        ("rss2", "RSS 2.0", "全国秋粮收获进度过半"),
        ("atom", "Atom", "高校毕业生就业工作推进会召开"),
        ("rss1", "RSS 1.0", "长江流域禁渔成效显现"),
        ("json", "JSON Feed", "上海地铁新线开通初期运营"),
    ] {
        let row = env.source(id);
        assert_eq!(row.last_outcome.as_deref(), Some("ok"), "{id}: {row:?}");
        assert_eq!(row.feed_format.as_deref(), Some(format), "{id}");
        assert_eq!(row.last_item_count, Some(1), "{id}");
        assert_eq!(env.copy_titles(id), vec![title.to_string()], "{id}");
    }
    assert_eq!(env.stories(), 4);

    let export = env.export(&[]);
    let by_source = |id: &str| {
        export
            .iter()
            .find(|s| s["copies"][0]["source"] == id)
            .unwrap_or_else(|| panic!("no story from {id}: {export:?}"))
            .clone()
    };
    let s = by_source("rss2");
    assert_eq!(s["copies"][0]["guid"], "rss-1");
    assert_eq!(s["link"], "https://rss.example/1.html");
    assert_eq!(s["published"], "2023-10-09T02:00:00Z");
    let s = by_source("atom");
    assert_eq!(s["copies"][0]["guid"], "urn:test:atom:1");
    assert_eq!(s["link"], "https://atom.example/1.html");
    assert_eq!(s["published"], "2023-10-09T03:00:00Z");
    let s = by_source("rss1");
    assert_eq!(s["link"], "https://rdf.example/1.html");
    assert_eq!(s["published"], "2023-10-08T06:00:00Z");
    let s = by_source("json");
    assert_eq!(s["copies"][0]["guid"], "json-1");
    assert_eq!(s["link"], "https://json.example/1");
    assert_eq!(s["published"], "2023-10-07T01:30:00Z");
}

// ---- charsets and entities ---------------------------------------------------------

/// An RSS 2.0 document with one item, declared with `encoding` (or no
/// encoding attribute when `None`).
fn rss_declared(encoding: Option<&str>, title: &str, body: &str) -> String {
    let decl = match encoding {
        Some(e) => format!("<?xml version=\"1.0\" encoding=\"{e}\"?>"),
        None => "<?xml version=\"1.0\"?>".to_string(),
    };
    format!(
        "{decl}\n<rss version=\"2.0\"><channel><title>编码测试</title><link>https://enc.example/</link>\
         <description>d</description>\
         <item><guid>enc-1</guid><link>https://enc.example/1.html</link><title>{title}</title>\
         <description>{body}</description><pubDate>Mon, 09 Oct 2023 10:00:00 +0800</pubDate></item>\
         </channel></rss>\n"
    )
}

/// The one story's title and its one copy's title, from `export`.
fn exported_titles(env: &Env) -> (String, String) {
    let export = env.export(&[]);
    assert_eq!(export.len(), 1, "{export:?}");
    (
        export[0]["title"].as_str().unwrap().to_string(),
        export[0]["copies"][0]["title"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn stored_text(env: &Env) -> String {
    env.store()
        .query_row("SELECT text FROM story_texts", NONE, |r| r.get(0))
        .unwrap()
}

#[test]
fn gb2312_declared_feed_keeps_gbk_only_characters() {
    // 镕, 喆 and 堃 are in GBK but not in GB2312: a strict GB2312 decoder
    // loses them.
    let title = "朱镕基张喆王堃出席座谈会";
    let body = "座谈会上，朱镕基、张喆和王堃分别发言，回顾了改革开放以来的历程。";
    for c in ['镕', '喆', '堃'] {
        let bytes = gbk(&c.to_string());
        assert!(
            !(0xA1..=0xF7).contains(&bytes[0]) || !(0xA1..=0xFE).contains(&bytes[1]),
            "{c} must be outside the GB2312 range, got {bytes:x?}"
        );
    }
    let server = TestServer::start();
    server.fixed(
        "/gb2312",
        Response::ok("text/xml", gbk(&rss_declared(Some("gb2312"), title, body))),
    );
    let env = Env::new(&[src("gb", &server.url("/gb2312"))]);
    env.poll(&[]);
    let row = env.source("gb");
    assert_eq!(row.last_outcome.as_deref(), Some("ok"), "{row:?}");
    assert!(
        row.charset.as_deref().unwrap_or("").contains("GBK"),
        "{row:?}"
    );
    assert_eq!(exported_titles(&env), (title.into(), title.into()));
    assert!(
        stored_text(&env).contains("朱镕基、张喆和王堃"),
        "{}",
        stored_text(&env)
    );
}

#[test]
fn charset_from_the_http_header_alone_decodes_gbk() {
    let title = "京津冀协同发展十周年成果展开幕";
    let server = TestServer::start();
    server.fixed(
        "/gbk",
        Response::ok(
            "application/rss+xml; charset=GBK",
            gbk(&rss_declared(
                None,
                title,
                "展览全面展示了三地在交通、生态、产业等领域的协同成果，吸引大批市民参观。",
            )),
        ),
    );
    let env = Env::new(&[src("gbk", &server.url("/gbk"))]);
    env.poll(&[]);
    assert_eq!(exported_titles(&env).1, title);
}

#[test]
fn gb18030_feed_keeps_four_byte_characters() {
    // 𠮷 (U+20BB7, outside the BMP) needs a GB18030 four-byte sequence;
    // 䶮 (U+4DAE) is one of the characters GBK lacks.
    let title = "刘䶮与𠮷野家的故事";
    let bytes = gb18030(&rss_declared(
        Some("GB18030"),
        title,
        "南汉开国皇帝刘䶮的名字常被写错，𠮷字同样难倒了许多输入法。",
    ));
    assert!(
        bytes
            .windows(2)
            .any(|w| w[0] >= 0x81 && w[1].is_ascii_digit()),
        "the fixture must contain four-byte GB18030 sequences"
    );
    let server = TestServer::start();
    server.fixed("/gb18030", Response::ok("application/xml", bytes));
    let env = Env::new(&[src("gb18030", &server.url("/gb18030"))]);
    env.poll(&[]);
    let row = env.source("gb18030");
    assert_eq!(row.last_outcome.as_deref(), Some("ok"), "{row:?}");
    assert_eq!(exported_titles(&env), (title.into(), title.into()));
    assert!(stored_text(&env).contains("刘䶮"), "{}", stored_text(&env));
}

#[test]
fn utf8_bom_is_skipped_in_xml_and_json() {
    let server = TestServer::start();
    server.fixed(
        "/bom.xml",
        Response::ok(
            RSS_TYPE,
            with_utf8_bom(&rss_declared(
                Some("utf-8"),
                "带字节顺序标记的订阅源",
                "这个订阅源以UTF-8字节顺序标记开头，解析器必须跳过它而不能报错。",
            )),
        ),
    );
    server.fixed(
        "/bom.json",
        Response::ok(
            JSON_TYPE,
            with_utf8_bom(
                r#"{"version":"https://jsonfeed.org/version/1.1","title":"j","items":[{"id":"j1","url":"https://bom.example/j1","title":"带标记的JSON订阅源","content_text":"JSON订阅源同样可能以字节顺序标记开头，也必须正常解析。"}]}"#,
            ),
        ),
    );
    let env = Env::new(&[
        src("bom-xml", &server.url("/bom.xml")),
        src("bom-json", &server.url("/bom.json")),
    ]);
    env.poll(&[]);
    for id in ["bom-xml", "bom-json"] {
        let row = env.source(id);
        assert_eq!(row.last_outcome.as_deref(), Some("ok"), "{id}: {row:?}");
    }
    assert_eq!(env.copy_titles("bom-xml"), vec!["带字节顺序标记的订阅源"]);
    assert_eq!(env.copy_titles("bom-json"), vec!["带标记的JSON订阅源"]);
}

#[test]
fn entity_encoded_cjk_is_decoded() {
    // 中国新闻 as decimal references, 教育 as hex ones; the body double-escaped
    // as outlets do.
    let feed = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
        <title>&#20013;&#22269;</title><link>https://ent.example/</link><description>d</description>\
        <item><guid>ent-1</guid><link>https://ent.example/1.html</link>\
        <title>&#20013;&#22269;&#26032;&#38395;&#x6559;&#x80B2;&#x7248;</title>\
        <description>&lt;p&gt;&#20013;&#22269;&#25945;&#32946;&#37096;&#21457;&#24067;&#26032;&#35268;&#23450;&#65292;\
        &#35268;&#33539;&#26657;&#22806;&#22521;&#35757;&#26426;&#26500;&#30340;&#25910;&#36153;&#34892;&#20026;&#12290;&lt;/p&gt;</description>\
        </item></channel></rss>";
    let server = TestServer::start();
    server.fixed("/ent", Response::ok(RSS_TYPE, feed));
    let env = Env::new(&[src("ent", &server.url("/ent"))]);
    env.poll(&[]);
    assert_eq!(
        exported_titles(&env),
        ("中国新闻教育版".into(), "中国新闻教育版".into())
    );
    let text = stored_text(&env);
    assert!(
        text.contains("中国教育部发布新规定") && !text.contains("&#"),
        "{text}"
    );
}

// ---- conditional GET ---------------------------------------------------------------

#[test]
fn etag_304_on_second_poll_is_not_modified_and_adds_nothing() {
    let server = TestServer::start();
    let body = rss2_feed();
    server.route("/etag", move |req| {
        if req.header("if-none-match") == Some("\"v1\"") {
            Response::new(304).header("ETag", "\"v1\"")
        } else {
            Response::ok(RSS_TYPE, body.clone()).header("ETag", "\"v1\"")
        }
    });
    let env = Env::new(&[src("etag", &server.url("/etag"))]);
    env.poll(&[]);
    assert_eq!(env.source("etag").etag.as_deref(), Some("\"v1\""));
    let (stories, copies) = (env.stories(), env.copies());
    assert_eq!((stories, copies), (1, 1));

    let run = env.poll(&[]);
    let requests = server.requests("/etag");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("if-none-match"), None);
    assert_eq!(requests[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(summary_counts(&run.stderr), (0, 1, 0), "{run:?}");
    assert_eq!(summary_items(&run.stderr), (0, 0, 0), "{run:?}");
    assert_eq!(env.poll_outcomes("etag"), vec!["ok", "not_modified"]);
    let row = env.source("etag");
    assert_eq!(row.last_outcome.as_deref(), Some("not_modified"));
    assert_eq!(row.etag.as_deref(), Some("\"v1\""), "the ETag is kept");
    assert_eq!((env.stories(), env.copies()), (stories, copies));
}

#[test]
fn last_modified_304_on_second_poll_is_not_modified() {
    const LM: &str = "Mon, 09 Oct 2023 02:00:00 GMT";
    let server = TestServer::start();
    let body = rss2_feed();
    server.route("/lm", move |req| {
        if req.header("if-modified-since") == Some(LM) {
            Response::new(304)
        } else {
            Response::ok(RSS_TYPE, body.clone()).header("Last-Modified", LM)
        }
    });
    let env = Env::new(&[src("lm", &server.url("/lm"))]);
    env.poll(&[]);
    env.poll(&[]);
    assert_eq!(
        server.requests("/lm")[1].header("if-modified-since"),
        Some(LM)
    );
    assert_eq!(env.poll_outcomes("lm"), vec!["ok", "not_modified"]);
    assert_eq!((env.stories(), env.copies()), (1, 1));
}

// ---- failures ------------------------------------------------------------------------

#[test]
fn failing_sources_do_not_stop_the_poll() {
    let server = TestServer::start();
    server.fixed("/good-rss", Response::ok(RSS_TYPE, rss2_feed()));
    server.fixed("/good-atom", Response::ok(ATOM_TYPE, ATOM_FEED));
    // /missing has no route: the server answers 404.
    server.fixed(
        "/broken",
        Response::new(500)
            .header("Content-Type", "text/plain")
            .body("boom"),
    );
    server.fixed(
        "/slow",
        Response::ok(RSS_TYPE, rss2_feed()).delay(Duration::from_secs(6)),
    );
    let mut huge = rss2_feed().into_bytes();
    huge.truncate(huge.len() - "</channel></rss>\n".len());
    huge.extend(std::iter::repeat_n(b' ', 200_000));
    huge.extend_from_slice(b"</channel></rss>\n");
    server.fixed("/huge", Response::ok(RSS_TYPE, huge));
    server.fixed(
        "/page",
        Response::ok(
            "text/html; charset=utf-8",
            "<!DOCTYPE html>\n<html><head><title>首页</title></head><body><h1>欢迎访问</h1><p>这不是订阅源。</p></body></html>",
        ),
    );
    let env = Env::new(&[
        src("good-rss", &server.url("/good-rss")),
        src("good-atom", &server.url("/good-atom")),
        src("missing", &server.url("/missing")),
        src("broken", &server.url("/broken")),
        src("slow", &server.url("/slow")),
        src("huge", &server.url("/huge")),
        src("page", &server.url("/page")),
    ]);
    let started = Instant::now();
    let run = env.poll(&[]);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "the timeout (2 s) must bound the poll, took {elapsed:?}"
    );
    assert_eq!(summary_counts(&run.stderr), (2, 0, 5), "{run:?}");

    for id in ["good-rss", "good-atom"] {
        assert_eq!(env.source(id).last_outcome.as_deref(), Some("ok"), "{id}");
        assert_eq!(env.copy_titles(id).len(), 1, "{id}");
    }
    assert_eq!(env.stories(), 2);

    let failed = failed_lines(&run.stderr);
    for (id, expected) in [
        ("missing", "404"),
        ("broken", "500"),
        ("slow", "timed out"),
        ("huge", "max_body_bytes"),
        ("page", "HTML"),
    ] {
        let row = env.source(id);
        assert_eq!(row.last_outcome.as_deref(), Some("failed"), "{id}: {row:?}");
        let error = row.last_error.clone().unwrap_or_default();
        assert!(
            error.contains(expected),
            "{id}: {error:?} lacks {expected:?}"
        );
        assert_eq!(env.poll_outcomes(id), vec!["failed"], "{id}");
        let line = failed
            .iter()
            .find(|(f, _)| f == id)
            .unwrap_or_else(|| panic!("{id} not listed as failed in:\n{}", run.stderr));
        assert!(
            line.1.contains(expected),
            "{id}: summary line {:?} lacks {expected:?}",
            line.1
        );
    }
    assert_eq!(failed.len(), 5, "{failed:?}");
    assert_eq!(env.source("missing").last_status, Some(404));
    assert_eq!(env.source("broken").last_status, Some(500));
    assert_eq!(
        env.count("SELECT count(*) FROM copies WHERE source_id NOT IN ('good-rss', 'good-atom')"),
        0
    );
}

// ---- compression ---------------------------------------------------------------------

#[test]
fn gzip_body_is_decompressed() {
    let server = TestServer::start();
    let body = rss2_feed();
    server.route("/gz", move |req| {
        let r = Response::ok(RSS_TYPE, body.clone());
        if req.accepts_gzip() { r.gzipped() } else { r }
    });
    let env = Env::new(&[src("gz", &server.url("/gz"))]);
    env.poll(&[]);
    assert!(
        server.requests("/gz")[0].accepts_gzip(),
        "the client asks for gzip"
    );
    assert_eq!(env.source("gz").last_outcome.as_deref(), Some("ok"));
    assert_eq!(env.copy_titles("gz"), vec!["全国秋粮收获进度过半"]);
}

#[test]
fn gzip_bomb_is_cut_at_max_body_bytes() {
    // ~1 KB on the wire, 4 MB decompressed; the limit is 64 KiB.
    let mut doc = rss2_feed().into_bytes();
    doc.truncate(doc.len() - "</channel></rss>\n".len());
    doc.extend(std::iter::repeat_n(b' ', 4 << 20));
    doc.extend_from_slice(b"</channel></rss>\n");
    let compressed = Response::ok(RSS_TYPE, doc).gzipped();
    assert!(compressed.body.len() < 65536);
    let server = TestServer::start();
    server.fixed("/bomb", compressed);
    let env = Env::new(&[src("bomb", &server.url("/bomb"))]);
    env.poll(&[]);
    let row = env.source("bomb");
    assert_eq!(row.last_outcome.as_deref(), Some("failed"), "{row:?}");
    assert!(
        row.last_error
            .unwrap_or_default()
            .contains("max_body_bytes"),
        "the limit applies after decompression"
    );
}

// ---- one story, many outlets -----------------------------------------------------------

const BODY: &str = "记者从北京市教委获悉，2023年京津冀教育协同发展工作会议9日在北京召开，三地教育部门签署新一轮合作协议，将在基础教育、职业教育和高等教育领域共享优质资源。";

fn full_width_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap(),
            c => c,
        })
        .collect()
}

/// 中国新闻网's style: dateline, (完), then a 相关推荐 block.
fn outlet_a() -> String {
    let story = format!(
        "<p>中新网北京10月9日电（记者 杜燕）{BODY}（完）</p><p>相关推荐</p>\
         <p>黑龙江饶河再现野生东北虎足迹</p><p>海南前三季度外贸进出口增长</p><p>多地迎来入秋以来首次降温</p>"
    );
    rss2(
        "中国新闻网",
        &[
            Item {
                guid: Some("a-1"),
                link: Some("https://a.example/news/1.html"),
                title: Some("京津冀教育协同发展工作会议在京召开_中国新闻网"),
                description: Some(&story),
                pub_date: Some("Mon, 09 Oct 2023 08:00:00 +0800"),
            },
            Item {
                guid: Some("a-2"),
                link: Some("https://a.example/news/2.html"),
                title: Some("通知"),
                description: Some(
                    "<p>关于2023年国庆节放假安排的通知：10月1日至7日放假调休，共7天，10月7日、8日上班。</p>",
                ),
                pub_date: Some("Mon, 09 Oct 2023 07:00:00 +0800"),
            },
            Item {
                guid: Some("a-3"),
                link: Some("https://a.example/news/3.html"),
                title: Some("通知"),
                description: None,
                pub_date: Some("Mon, 09 Oct 2023 06:00:00 +0800"),
            },
        ],
    )
}

/// 新华社's style in Atom: 原标题 line, dateline, 【责任编辑】, 【教育】 title prefix.
fn outlet_b() -> String {
    let body = BODY.replace('，', ",");
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>新华网</title><id>urn:b</id><updated>2023-10-09T05:00:00Z</updated>
<entry><id>urn:b:1</id><title>【教育】京津冀教育协同发展工作会议在京召开</title>
<link href="https://b.example/edu/1.html"/><published>2023-10-09T02:00:00Z</published><updated>2023-10-09T02:00:00Z</updated>
<content type="html"><![CDATA[<p>原标题：京津冀三地教育协同再出发</p><p>新华社北京10月9日电 {body}</p><p>【责任编辑：王五】</p>]]></content></entry>
<entry><id>urn:b:2</id><title>通知</title><link href="https://b.example/notice/2.html"/>
<published>2023-10-09T01:00:00Z</published><updated>2023-10-09T01:00:00Z</updated>
<content type="html"><![CDATA[<p>本站将于10月10日凌晨2时至6时进行系统维护，届时网站暂停访问，给您带来不便敬请谅解。</p>]]></content></entry>
</feed>
"#
    )
}

/// 澎湃's style in JSON Feed: plain text, full-width digits, 责任编辑 line,
/// then a 最近发表 list.
fn outlet_c() -> String {
    let text = format!(
        "{}\n责任编辑：张三\n最近发表\n- 黑龙江饶河再现野生东北虎足迹\n- 海南前三季度外贸进出口增长\n- 多地迎来入秋以来首次降温",
        full_width_digits(BODY)
    );
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "澎湃新闻",
        "items": [
            {
                "id": "c-1",
                "url": "https://c.example/c1",
                "title": "京津冀教育协同发展工作会议在京召开 | 澎湃新闻",
                "content_text": text,
                "date_published": "2023-10-09T03:00:00Z"
            },
            {
                "id": "c-2",
                "url": "https://c.example/c2",
                "title": "通知",
                "date_published": "2023-10-09T04:00:00Z"
            }
        ]
    })
    .to_string()
}

fn three_outlets(server: &TestServer) -> Env {
    server.fixed("/a", Response::ok(RSS_TYPE, outlet_a()));
    server.fixed("/b", Response::ok(ATOM_TYPE, outlet_b()));
    server.fixed("/c", Response::ok(JSON_TYPE, outlet_c()));
    Env::new(&[
        src("outlet-a", &server.url("/a")),
        src("outlet-b", &server.url("/b")),
        src("outlet-c", &server.url("/c")),
    ])
}

#[test]
fn same_story_in_three_house_styles_is_one_story_with_three_copies() {
    let server = TestServer::start();
    let env = three_outlets(&server);
    let run = env.poll(&[]);
    assert_eq!(summary_counts(&run.stderr), (3, 0, 0), "{run:?}");

    let export = env.export(&[]);
    let merged: Vec<_> = export
        .iter()
        .filter(|s| s["copies"].as_array().unwrap().len() > 1)
        .collect();
    assert_eq!(merged.len(), 1, "exactly one merged story: {export:#?}");
    let story = merged[0];
    assert_eq!(story["title"], "京津冀教育协同发展工作会议在京召开");
    let sources: Vec<&str> = story["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, vec!["outlet-a", "outlet-b", "outlet-c"]);
    assert_eq!(
        story["link"], "https://a.example/news/1.html",
        "the earliest copy's link"
    );
    assert_eq!(story["published"], "2023-10-09T00:00:00Z");
    let guids: Vec<&str> = story["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["guid"].as_str().unwrap())
        .collect();
    assert_eq!(guids, vec!["a-1", "urn:b:1", "c-1"]);

    // The normalized text has none of the boilerplate.
    let text: String = env
        .store()
        .query_row(
            "SELECT t.text FROM stories s JOIN story_texts t ON t.sid = s.sid WHERE s.id = ?1",
            [story["id"].as_str().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    for junk in [
        "中新网",
        "杜燕",
        "完",
        "相关推荐",
        "东北虎",
        "原标题",
        "王五",
        "张三",
        "最近发表",
    ] {
        assert!(!text.contains(junk), "{junk:?} left in {text:?}");
    }
    assert!(text.contains("京津冀教育协同发展工作会议"), "{text}");

    // Four different 通知: two with different bodies, two with no body and
    // different links. None merges with another.
    let notices: Vec<_> = export.iter().filter(|s| s["title"] == "通知").collect();
    assert_eq!(notices.len(), 4, "{export:#?}");
    for n in &notices {
        assert_eq!(n["copies"].as_array().unwrap().len(), 1, "{n}");
    }
    assert_eq!(env.stories(), 5);
    assert_eq!(env.copies(), 7);
}

#[test]
fn polling_in_any_order_merges_the_same_way() {
    // One source at a time, C first: the same single story with three copies.
    let server = TestServer::start();
    let env = three_outlets(&server);
    for id in ["outlet-c", "outlet-b", "outlet-a"] {
        env.poll(&["--source", id]);
    }
    assert_eq!(env.stories(), 5);
    assert_eq!(env.copies(), 7);
    let export = env.export(&[]);
    let story = export
        .iter()
        .find(|s| s["copies"].as_array().unwrap().len() == 3)
        .unwrap_or_else(|| panic!("no story with three copies: {export:#?}"));
    assert_eq!(story["link"], "https://a.example/news/1.html");
    assert_eq!(story["published"], "2023-10-09T00:00:00Z");
}

// ---- polling again -------------------------------------------------------------------

fn unchanged_feed(notice: &str) -> String {
    rss2(
        "无校验器",
        &[
            Item {
                guid: Some("g-1"),
                link: Some("https://n.example/1.html"),
                title: Some("秋季学期中小学课后服务全面推开"),
                description: Some(notice),
                pub_date: Some("Mon, 09 Oct 2023 09:00:00 +0800"),
            },
            Item {
                guid: None,
                link: Some("https://n.example/2.html"),
                title: Some("只有链接的条目"),
                description: Some("这个条目没有guid，只有链接，第二次抓取时必须认出它来。"),
                pub_date: Some("Mon, 09 Oct 2023 08:00:00 +0800"),
            },
            Item {
                guid: None,
                link: None,
                title: Some("既无guid也无链接的条目"),
                description: Some(
                    "这个条目既没有guid也没有链接，解析库会为它编造随机编号，第二次抓取时不能当成新条目。",
                ),
                pub_date: None,
            },
        ],
    )
}

#[test]
fn unchanged_feed_polled_twice_adds_nothing() {
    let server = TestServer::start();
    let body = unchanged_feed(
        "<p>教育部要求各地全面推开课后服务，确保有需要的学生都能参加，并不得以此为由收取额外费用。</p>",
    );
    // No ETag, no Last-Modified: the second poll reparses the whole body.
    server.fixed("/plain", Response::ok(RSS_TYPE, body));
    let env = Env::new(&[src("plain", &server.url("/plain"))]);
    let first = env.poll(&[]);
    assert_eq!(summary_items(&first.stderr), (3, 0, 0), "{first:?}");
    assert_eq!((env.stories(), env.copies()), (3, 3));
    let stories_before: Vec<(String, i64)> = {
        let db = env.store();
        let mut stmt = db
            .prepare("SELECT id, first_seen FROM stories ORDER BY id")
            .unwrap();
        stmt.query_map(NONE, |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<newsriver::store::sql::Result<_>>()
            .unwrap()
    };

    let second = env.poll(&[]);
    assert_eq!(server.requests("/plain").len(), 2);
    assert_eq!(summary_counts(&second.stderr), (1, 0, 0), "{second:?}");
    assert_eq!(summary_items(&second.stderr), (0, 3, 0), "{second:?}");
    assert_eq!((env.stories(), env.copies()), (3, 3));
    assert_eq!(env.poll_outcomes("plain"), vec!["ok", "ok"]);
    assert_eq!(
        env.count("SELECT items_new FROM polls ORDER BY id DESC LIMIT 1"),
        0
    );
    let stories_after: Vec<(String, i64)> = {
        let db = env.store();
        let mut stmt = db
            .prepare("SELECT id, first_seen FROM stories ORDER BY id")
            .unwrap();
        stmt.query_map(NONE, |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<newsriver::store::sql::Result<_>>()
            .unwrap()
    };
    assert_eq!(stories_before, stories_after);
    // The guid-less, link-less item has no guid stored (no invented UUID).
    assert_eq!(
        env.count("SELECT count(*) FROM copies WHERE guid IS NULL AND link IS NULL"),
        1
    );
}

#[test]
fn edited_item_updates_its_copy() {
    let server = TestServer::start();
    let version = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(1));
    {
        let version = version.clone();
        server.route("/edit", move |_| {
            let notice = if version.load(std::sync::atomic::Ordering::SeqCst) == 1 {
                "<p>教育部要求各地全面推开课后服务，确保有需要的学生都能参加。</p>"
            } else {
                "<p>教育部要求各地全面推开课后服务，确保有需要的学生都能参加，并不得以此为由收取额外费用。</p>"
            };
            Response::ok(RSS_TYPE, unchanged_feed(notice))
        });
    }
    let env = Env::new(&[src("edit", &server.url("/edit"))]);
    env.poll(&[]);
    let (story_id, copy_id): (String, i64) = env
        .store()
        .query_row(
            "SELECT s.id, c.id FROM copies c JOIN stories s ON s.sid = c.story WHERE c.guid = 'g-1'",
            NONE,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();

    version.store(2, std::sync::atomic::Ordering::SeqCst);
    let run = env.poll(&[]);
    assert_eq!(summary_items(&run.stderr), (0, 2, 1), "{run:?}");
    assert_eq!((env.stories(), env.copies()), (3, 3));
    let (story_after, copy_after, text): (String, i64, String) = env
        .store()
        .query_row(
            "SELECT s.id, c.id, t.text FROM copies c JOIN stories s ON s.sid = c.story
               JOIN story_texts t ON t.sid = s.sid
             WHERE c.guid = 'g-1'",
            NONE,
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let html = env
        .copy_html("SELECT body FROM copies WHERE guid = 'g-1'", &[])
        .summary_html
        .unwrap_or_default();
    assert_eq!(copy_after, copy_id, "the same copy, updated in place");
    assert_eq!(story_after, story_id, "the story keeps its id");
    assert!(html.contains("收取额外费用"), "{html}");
    assert!(text.contains("收取额外费用"), "the story follows: {text}");
}

// ---- file:// sources -------------------------------------------------------------------

#[test]
fn file_sources_are_read_and_a_missing_file_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let feed = tmp.path().join("local.xml");
    std::fs::write(&feed, rss2_feed()).unwrap();
    let gbk_feed = tmp.path().join("local-gbk.xml");
    std::fs::write(
        &gbk_feed,
        gbk(&rss_declared(
            Some("gb2312"),
            "本地文件里的朱镕基",
            "本地文件同样按声明的编码解码，GBK独有的字也不能丢失。",
        )),
    )
    .unwrap();
    let url = |p: &std::path::Path| url::Url::from_file_path(p).unwrap().to_string();
    let env = Env::new(&[
        src("local", &url(&feed)),
        src("local-gbk", &url(&gbk_feed)),
        src("gone", &url(&tmp.path().join("nope.xml"))),
    ]);
    let run = env.poll(&[]);
    assert_eq!(summary_counts(&run.stderr), (2, 0, 1), "{run:?}");
    assert_eq!(env.copy_titles("local"), vec!["全国秋粮收获进度过半"]);
    assert_eq!(env.copy_titles("local-gbk"), vec!["本地文件里的朱镕基"]);
    let gone = env.source("gone");
    assert_eq!(gone.last_outcome.as_deref(), Some("failed"));
    assert!(
        gone.last_error.unwrap_or_default().contains("nope.xml"),
        "the error names the file"
    );
    assert!(failed_lines(&run.stderr).iter().any(|(id, _)| id == "gone"));

    // Unchanged files are not re-read.
    let run = env.poll(&["--source", "local", "--source", "local-gbk"]);
    assert_eq!(summary_counts(&run.stderr), (0, 2, 0), "{run:?}");
    assert_eq!(env.poll_outcomes("local"), vec!["ok", "not_modified"]);
    assert_eq!(
        env.poll_outcomes("gone"),
        vec!["failed"],
        "not polled again"
    );
    assert_eq!(env.copies(), 2);
}

// ---- --source -------------------------------------------------------------------------

#[test]
fn poll_source_polls_only_the_named_sources() {
    let server = TestServer::start();
    server.fixed("/one", Response::ok(RSS_TYPE, rss2_feed()));
    server.fixed("/two", Response::ok(ATOM_TYPE, ATOM_FEED));
    let env = Env::new(&[
        src("one", &server.url("/one")),
        src("two", &server.url("/two")),
    ]);
    let run = env.poll(&["--source", "two"]);
    assert_eq!(summary_counts(&run.stderr), (1, 0, 0), "{run:?}");
    assert!(server.requests("/one").is_empty());
    assert_eq!(env.source("two").last_outcome.as_deref(), Some("ok"));
    assert_eq!(env.source("one").last_outcome, None);
}

#[test]
fn unknown_source_id_is_an_error_naming_it() {
    let server = TestServer::start();
    server.fixed("/one", Response::ok(RSS_TYPE, rss2_feed()));
    let env = Env::new(&[src("one", &server.url("/one"))]);
    let run = env.run(&["poll", "--source", "nope"]);
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("nope"), "{run:?}");
    assert!(server.requests("/one").is_empty(), "nothing is polled");
}

// ---- the database ----------------------------------------------------------------------

#[test]
fn database_is_wal_with_consistent_foreign_keys_and_all_migrations() {
    let server = TestServer::start();
    let env = three_outlets(&server);
    env.poll(&[]);
    if let Some(url) = &env.pg {
        // WAL, integrity and the foreign-key check are SQLite's; on
        // PostgreSQL: the foreign keys declared, every migration applied.
        let fks = psql(
            url,
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'copies'::regclass AND contype = 'f'",
        );
        assert!(
            fks.parse::<i64>().unwrap() >= 2,
            "copies references stories and sources: {fks}"
        );
        let migrations = migration_files("postgres");
        assert_eq!(
            psql(url, "SELECT count(*) FROM refinery_schema_history"),
            migrations.to_string(),
            "every migration applied"
        );
        return;
    }
    let db = env.db();
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let violations: i64 = db
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(violations, 0);
    // Every table that should reference another does (foreign keys declared).
    let fks: i64 = db
        .query_row(
            "SELECT count(*) FROM pragma_foreign_key_list('copies')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(fks >= 2, "copies references stories and sources");
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version,
        migration_files("sqlite") as i64,
        "every migration applied"
    );
}

/// The SQL files in `migrations/<backend>`.
fn migration_files(backend: &str) -> usize {
    std::fs::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend),
    )
    .unwrap()
    .filter(|e| {
        e.as_ref()
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "sql")
    })
    .count()
}

#[test]
fn killed_mid_poll_keeps_what_was_committed() {
    let server = TestServer::start();
    server.fixed("/fast", Response::ok(RSS_TYPE, rss2_feed()));
    server.fixed(
        "/stuck",
        Response::ok(ATOM_TYPE, ATOM_FEED).delay(Duration::from_secs(30)),
    );
    let fetch = "[fetch]\nallow_private_addresses = true\ntimeout_secs = 60\n";
    let env = Env::with(
        fetch,
        &[
            src("fast", &server.url("/fast")),
            src("stuck", &server.url("/stuck")),
        ],
        "",
    );
    let mut cmd = binary();
    cmd.arg("--config")
        .arg(&env.config)
        .arg("poll")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    // Wait until the fast source's poll is committed and the stuck one is in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < deadline,
            "the fast source was never stored"
        );
        assert!(child.try_wait().unwrap().is_none(), "poll ended early");
        // (On PostgreSQL the database is there from the start, its
        // tables once the poll has migrated it.)
        let committed = (env.pg.is_some() || env.db_path().exists())
            && env
                .store()
                .query_row(
                    "SELECT count(*) FROM polls WHERE source_id = 'fast'",
                    NONE,
                    |r| r.get::<_, i64>(0),
                )
                .is_ok_and(|n| n > 0);
        if committed && !server.requests("/stuck").is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint
    child.wait().unwrap();

    if env.pg.is_none() {
        let db = env.db();
        let integrity: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }
    assert_eq!(env.copy_titles("fast"), vec!["全国秋粮收获进度过半"]);
    assert_eq!(env.poll_outcomes("stuck"), Vec::<String>::new());

    // The next run opens the same file and finishes the job without duplicates.
    server.fixed("/stuck", Response::ok(ATOM_TYPE, ATOM_FEED));
    let run = env.poll(&[]);
    assert_eq!(summary_counts(&run.stderr), (2, 0, 0), "{run:?}");
    assert_eq!((env.stories(), env.copies()), (2, 2));
}

#[test]
fn zone_less_dates_are_read_in_beijing_time_or_the_sources_timezone() {
    let server = TestServer::start();
    let feed = |guid: &str, title: &str| {
        rss2(
            "日期",
            &[Item {
                guid: Some(guid),
                link: None,
                title: Some(title),
                description: Some("<p>一条没有时区的日期，照北京时间或来源设定的时区来读。</p>"),
                pub_date: Some("2026-10-09 10:00:00"),
            }],
        )
    };
    server.fixed(
        "/cn",
        Response::ok("application/rss+xml", feed("cn", "北京时间")),
    );
    server.fixed(
        "/jp",
        Response::ok("application/rss+xml", feed("jp", "东京时间")),
    );
    let mut jp = src("jp", &server.url("/jp"));
    jp.extra = "timezone = \"+09:00\"\n".into();
    let env = Env::new(&[src("cn", &server.url("/cn")), jp]);
    env.poll(&[]);
    let published = |source: &str| -> String {
        env.export(&[])
            .iter()
            .flat_map(|s| s["copies"].as_array().cloned().unwrap_or_default())
            .find(|c| c["source"] == source)
            .map(|c| c["published"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert_eq!(published("cn"), "2026-10-09T02:00:00Z");
    assert_eq!(published("jp"), "2026-10-09T01:00:00Z");
}

// ---- feeds in the wild (issue 13) ------------------------------------------------------

/// An Atom 0.3 blog in Big5, as Taiwanese blogs still serve them: escaped
/// and base64 content, `issued` and `created` dates, alternate links.
fn atom03_big5() -> Vec<u8> {
    let doc = r#"<?xml version="1.0" encoding="big5"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#">
  <title>老部落格</title>
  <tagline>舊格式</tagline>
  <link rel="alternate" type="text/html" href="https://old.example/"/>
  <modified>2006-05-02T10:00:00Z</modified>
  <entry>
    <title>颱風過境</title>
    <link rel="alternate" type="text/html" href="https://old.example/2006/05/typhoon.html"/>
    <id>tag:old.example,2006:typhoon</id>
    <issued>2006-05-01T20:00:00+08:00</issued>
    <modified>2006-05-02T10:00:00Z</modified>
    <content type="text/html" mode="escaped">&lt;p&gt;颱風昨晚過境，&lt;img src="/img/rain.jpg"&gt; 各地降雨。&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>夜市小吃</title>
    <link rel="alternate" type="text/html" href="https://old.example/2006/04/night.html"/>
    <id>tag:old.example,2006:night</id>
    <created>2006-04-03T12:00:00Z</created>
    <content type="text/plain" mode="base64">5aSc5biC5bCP5ZCD5b6I5aW95ZCD44CC</content>
  </entry>
</feed>"#;
    let (bytes, _, bad) = encoding_rs::BIG5.encode(doc);
    assert!(!bad, "the fixture is Big5-encodable");
    bytes.into_owned()
}

/// A blog whose XML stops in the middle of its third item.
const TRUNCATED: &str = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>斷掉的</title>\n\
<item><guid>t1</guid><title>第一篇完整文章</title><link>https://cut.example/1</link></item>\n\
<item><guid>t2</guid><title>第二篇完整文章</title><link>https://cut.example/2</link></item>\n\
<item><guid>t3</guid><title>第三篇只有一半";

/// RSS 1.0 as link logs write it: a title-only item, a description-only
/// item, and one with nothing at all.
const RSS1_SPARSE: &str = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
  <channel rdf:about="https://micro.example/"><title>微型</title><link>https://micro.example/</link><description>d</description></channel>
  <item rdf:about="https://micro.example/a"><title>只有標題的一則</title></item>
  <item rdf:about="https://micro.example/b"><description>只有描述的一則，沒有標題也沒有連結。</description></item>
  <item rdf:about="https://micro.example/c"></item>
</rdf:RDF>"#;

/// The entry issue 13 quotes: content under an xml:base, no <link>, a URL
/// as its id.
const NUMIST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>numist</title><id>https://numi.st/</id>
<updated>2022-08-01T00:00:00Z</updated>
<entry><id>https://numi.st/post/2022/travel-uke/</id><title>Travel ukulele</title>
<updated>2022-08-01T00:00:00Z</updated>
<content type="html" xml:base="https://numi.st/post/2022/travel-uke/">&lt;p&gt;A ukulele that fits in a backpack.&lt;img src="IMG_1232.jpeg"&gt; &lt;a href="../"&gt;more posts&lt;/a&gt;&lt;/p&gt;</content>
</entry></feed>"#;

#[test]
fn atom_0_3_truncated_sparse_rss1_and_xml_base_feeds_are_stored() {
    let server = TestServer::start();
    server.fixed("/atom03", Response::ok(ATOM_TYPE, atom03_big5()));
    server.fixed("/cut", Response::ok(RSS_TYPE, TRUNCATED));
    server.fixed("/rss1", Response::ok("application/rdf+xml", RSS1_SPARSE));
    server.fixed("/numist", Response::ok(ATOM_TYPE, NUMIST));
    let env = Env::with(
        FETCH,
        &[
            src("old", &server.url("/atom03")),
            src("cut", &server.url("/cut")),
            src("micro", &server.url("/rss1")),
            src("numist", &server.url("/numist")),
        ],
        "[[topic]]\nslug = \"uke\"\ntitle = \"Ukulele\"\nquery = 'ukulele'\n",
    );
    let run = env.poll(&[]);
    assert_eq!(summary_counts(&run.stderr), (4, 0, 0), "{run:?}");
    assert!(
        run.stderr.contains("1 skipped (no title, text or link)"),
        "{run:?}"
    );

    // Atom 0.3: both entries, dates from issued and created.
    assert_eq!(env.source("old").feed_format.as_deref(), Some("Atom 0.3"));
    assert_eq!(env.copy_titles("old"), ["夜市小吃", "颱風過境"]);
    let export = env.export(&[]);
    let story = |title: &str| {
        export
            .iter()
            .find(|s| s["title"] == title)
            .unwrap_or_else(|| panic!("no story {title}: {export:?}"))
            .clone()
    };
    assert_eq!(story("颱風過境")["published"], "2006-05-01T12:00:00Z");
    assert_eq!(story("夜市小吃")["published"], "2006-04-03T12:00:00Z");
    let body = env
        .copy_html("SELECT body FROM copies WHERE title = '夜市小吃'", &[])
        .content_html
        .unwrap_or_default();
    assert_eq!(body, "夜市小吃很好吃。", "base64 content decoded");
    let html = env
        .copy_html("SELECT body FROM copies WHERE title = '颱風過境'", &[])
        .content_html
        .unwrap_or_default();
    assert!(
        html.contains("<img src=\"https://old.example/img/rain.jpg\">"),
        "{html}"
    );

    // Truncated: the two complete items, and the break on record.
    assert_eq!(env.copy_titles("cut"), ["第一篇完整文章", "第二篇完整文章"]);
    let show = env.run(&["sources", "show", "cut"]);
    assert!(show.stdout.contains("2 of 3 items read"), "{show:?}");
    assert!(
        show.stdout.contains("lenient reading")
            && show.stdout.contains("the document breaks at line 5")
            && show.stdout.contains("kept the 2 complete entries"),
        "{show:?}"
    );

    // RSS 1.0: the title-only and the description-only items; the empty
    // one skipped and counted.
    assert_eq!(
        env.count("SELECT count(*) FROM copies WHERE source_id = 'micro'"),
        2
    );
    let skipped = env.count("SELECT items_skipped FROM polls WHERE source_id = 'micro'");
    assert_eq!(skipped, 1);
    let show = env.run(&["sources", "show", "micro"]);
    assert!(show.stdout.contains("1 skipped"), "{show:?}");

    // xml:base and a URL id: an absolute image, a link, in every format.
    assert_eq!(
        story("Travel ukulele")["link"],
        "https://numi.st/post/2022/travel-uke/"
    );
    for format in ["atom", "rss", "json"] {
        let feed = env.run(&["render", "uke", "--format", format]);
        assert_eq!(feed.code, Some(0), "{feed:?}");
        // One spelling of quotes and slashes for XML text and JSON strings.
        let out = feed
            .stdout
            .replace("\\/", "/")
            .replace("&quot;", "\"")
            .replace("\\\"", "\"");
        assert!(
            out.contains("https://numi.st/post/2022/travel-uke/IMG_1232.jpeg"),
            "{format}: {out}"
        );
        assert!(
            out.contains("https://numi.st/post/2022/\""),
            "{format}: {out}"
        );
        assert!(
            !out.contains("\"IMG_1232.jpeg") && !out.contains("\"../"),
            "{format}: a relative URL went out: {out}"
        );
    }
}

#[test]
fn a_feed_with_items_but_none_read_is_flagged() {
    // An Atom feed in a namespace nobody knows: feed-rs reads it as Atom
    // and finds no entries (how Atom 0.3 used to be lost, silently).
    let doc = r#"<feed xmlns="http://example.com/not-atom"><title>x</title>
<entry><title>a</title><link href="https://x.example/a"/></entry>
<entry><title>b</title><link href="https://x.example/b"/></entry>
<entry><title>c</title><link href="https://x.example/c"/></entry></feed>"#;
    let server = TestServer::start();
    server.fixed("/odd", Response::ok(ATOM_TYPE, doc));
    server.fixed("/fine", Response::ok(RSS_TYPE, rss2_feed()));
    let env = Env::new(&[
        src("odd", &server.url("/odd")),
        src("fine", &server.url("/fine")),
    ]);
    env.poll(&[]);
    assert_eq!(env.source("odd").last_outcome.as_deref(), Some("ok"));
    let list = env.run(&["sources", "list"]);
    let line = |id: &str| {
        list.stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{list:?}"))
            .to_string()
    };
    assert!(line("odd").ends_with("[0 of 3 items read]"), "{list:?}");
    assert!(!line("fine").contains("items read"), "{list:?}");
    let json = env.run(&["sources", "list", "--format", "json"]);
    assert!(
        json.stdout.contains("\"warning\":\"0 of 3 items read\""),
        "{json:?}"
    );
    let show = env.run(&["sources", "show", "odd"]);
    assert!(show.stdout.contains("0 of 3 items read"), "{show:?}");
    let show = env.run(&["sources", "show", "fine"]);
    assert!(show.stdout.contains("1 of 1 items read"), "{show:?}");
    assert!(!show.stdout.contains("nothing stored"), "{show:?}");
}

#[test]
fn sloppy_dates_are_read_and_impossible_ones_are_when_seen() {
    let item = |guid: &'static str, date: &'static str| Item {
        guid: Some(guid),
        link: None,
        title: Some(guid),
        description: Some(guid),
        pub_date: Some(date),
    };
    let feed = rss2(
        "日期",
        &[
            item("no-weekday", "21 Dec 2012 12:00:00 EST"),
            item("full-month", "Wed, 27 July 2011 01:30:00 EST"),
            item("one-digit-day", "Tue, 2 Aug 2011 01:30:00 EST"),
            item("wrong-weekday", "Mon, 27 Jul 11 01:30:00 PDT"),
            item("iso-no-colon", "2011-07-27T14:30:00+0800"),
            item("year-zero", "0000-01-01 00:00:00"),
            item("year-zero-2822", "Sat, 01 Jan 0000 00:00:00 +2359"),
            item("year-zero-cjk", "0000年01月01日"),
            item("negative", "-9999-01-01T00:00:00+00:00"),
        ],
    );
    let server = TestServer::start();
    server.fixed("/dates", Response::ok(RSS_TYPE, feed));
    let env = Env::with(
        FETCH,
        &[src("dates", &server.url("/dates"))],
        "[[topic]]\nslug = \"all\"\ntitle = \"All\"\nquery = 'e OR r OR o'\n",
    );
    let started = chrono::Utc::now() - chrono::TimeDelta::seconds(5);
    env.poll(&[]);
    let export = env.export(&[]);
    let published = |guid: &str| {
        let s = export
            .iter()
            .find(|s| s["copies"][0]["guid"] == guid)
            .unwrap_or_else(|| panic!("no {guid}: {export:?}"));
        s["published"].as_str().unwrap_or("").to_string()
    };
    assert_eq!(published("no-weekday"), "2012-12-21T17:00:00Z");
    assert_eq!(published("full-month"), "2011-07-27T06:30:00Z");
    assert_eq!(published("one-digit-day"), "2011-08-02T06:30:00Z");
    assert_eq!(published("wrong-weekday"), "2011-07-27T08:30:00Z");
    assert_eq!(published("iso-no-colon"), "2011-07-27T06:30:00Z");
    for guid in ["year-zero", "year-zero-2822", "year-zero-cjk", "negative"] {
        let p = chrono::DateTime::parse_from_rfc3339(&published(guid)).unwrap();
        assert!(p >= started, "{guid}: {p} is not when seen");
    }
    // Every format renders (to_rfc2822 used to panic on year 0).
    for format in ["atom", "rss", "json"] {
        let run = env.run(&["render", "all", "--format", format]);
        assert_eq!(run.code, Some(0), "{run:?}");
    }
    // `sources test` names the dates it could not read.
    let test = env.run(&["sources", "test", "dates"]);
    assert!(
        test.stdout.contains("unreadable dates")
            && test.stdout.contains("\"0000-01-01 00:00:00\"")
            && test.stdout.contains("\"-9999-01-01T00:00:00+00:00\""),
        "{test:?}"
    );
}

/// A database as the release before migrations 0006 and 0007 left it
/// (schema version 5, written here from the shipped SQL files), with one
/// story: the current binary opens it, migrates it, and polls on.
#[test]
fn a_database_of_the_previous_release_migrates_and_polls_on() {
    if sqlite_only(
        "a SQLite database at schema 5 migrates (PostgreSQL's schema starts at the current one)",
    ) {
        return;
    }
    let server = TestServer::start();
    let feed = rss2(
        "旧源",
        &[
            Item {
                guid: Some("a-1"),
                link: Some("https://old.example/a-1.html"),
                title: Some("旧库里的新闻"),
                description: Some(
                    "<p>这条新闻在升级之前就已经存进数据库，升级之后仍然是同一个故事。</p>",
                ),
                pub_date: Some("Mon, 09 Oct 2023 08:00:00 +0800"),
            },
            Item {
                guid: Some("a-2"),
                link: Some("https://old.example/a-2.html"),
                title: Some("升级之后的新闻"),
                description: Some(
                    "<p>这条新闻是在升级之后才第一次出现的，应当作为新故事存入。</p>",
                ),
                pub_date: Some("Mon, 09 Oct 2023 09:00:00 +0800"),
            },
        ],
    );
    server.fixed("/old", Response::ok(RSS_TYPE, feed));
    let env = Env::new(&[src("old", &server.url("/old"))]);
    let story = "ab".repeat(32);
    {
        let mut db = rusqlite::Connection::open(env.db_path()).unwrap();
        let tx = db.transaction().unwrap();
        for sql in [
            include_str!("../../migrations/sqlite/0001_init.sql"),
            include_str!("../../migrations/sqlite/0002_topics.sql"),
            include_str!("../../migrations/sqlite/0003_poll_state.sql"),
            include_str!("../../migrations/sqlite/0004_near_duplicates.sql"),
            include_str!("../../migrations/sqlite/0005_retention.sql"),
        ] {
            tx.execute_batch(sql).unwrap();
        }
        tx.execute(
            "INSERT INTO sources (id, name, url, last_poll_at, last_success_at, last_outcome)
             VALUES ('old', '旧源', ?1, 1696809600, 1696809600, 'ok')",
            [server.url("/old")],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO stories (id, content_hash, title, link, text, published, first_seen, updated_at)
             VALUES (?1, ?1, '旧库里的新闻', 'https://old.example/a-1.html',
                     '这条新闻在升级之前就已经存进数据库,升级之后仍然是同一个故事。', 1696809600, 1696809600, 1696809600)",
            [&story],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO copies (story_id, source_id, item_key, guid, link, title, content_html, authors,
                                 published, first_seen, last_seen, content_hash, raw_hash, text_len,
                                 merge_method, merge_score)
             VALUES (?1, 'old', 'guid:a-1', 'a-1', 'https://old.example/a-1.html', '旧库里的新闻',
                     '<p>这条新闻在升级之前就已经存进数据库，升级之后仍然是同一个故事。</p>', '[]',
                     1696809600, 1696809600, 1696809600, ?1, 'raw-hash-of-the-old-release', 31, 'first', 1.0)",
            [&story],
        )
        .unwrap();
        tx.execute_batch("PRAGMA user_version = 5").unwrap();
        tx.commit().unwrap();
    }
    let run = env.poll(&[]);
    assert!(
        env.source("old").last_outcome.as_deref() == Some("ok"),
        "{run:?}"
    );
    let db = env.db();
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version > 5, "migrated past the old release's schema");
    // The old story keeps its id (the public id in feeds) and its copy; the
    // new item is a new story.
    let copies_of_old: i64 = db
        .query_row(
            "SELECT count(*) FROM copies c JOIN stories s ON s.sid = c.story
             WHERE s.id = ?1 AND c.guid = 'a-1'",
            [&story],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(copies_of_old, 1);
    assert_eq!(env.copies(), 2);
    assert_eq!(env.stories(), 2);
    let export = env.export(&[]);
    assert!(
        export.iter().any(|s| s["id"] == story.as_str()),
        "{export:?}"
    );
    // A second poll of the unchanged feed finds everything known.
    let again = env.poll(&[]);
    assert_eq!(env.copies(), 2, "{again:?}");
}

/// A database written by the release before the compact schema (schema 7:
/// text story ids in copies, near-duplicate keys and topic rows; HTML in
/// three columns), made by that release's binary from the feeds beside it
/// in `tests/fixtures/release-schema7/` (`newsriver poll` on file:// URLs
/// to `a.xml`, `b.xml`, `c.xml`, tags `edu` on `a`, topic `jjj-edu` =
/// `教育 AND 协同`), with its `export` saved as `export.json`. Opened by
/// this release it migrates in place: every story keeps its public id,
/// copies, topics and text; the copies' HTML is what the feeds carried;
/// the near-duplicate index still finds the old stories; polling goes on.
#[test]
fn a_database_made_by_the_schema_7_release_migrates_in_place_and_polls_on() {
    if sqlite_only("the schema-7 release's database is a SQLite file") {
        return;
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release-schema7");
    let dir = tempfile::tempdir().unwrap();
    for f in ["a.xml", "b.xml", "c.xml"] {
        std::fs::copy(fixtures.join(f), dir.path().join(f)).unwrap();
    }
    let url = |f: &str| {
        url::Url::from_file_path(dir.path().join(f))
            .unwrap()
            .to_string()
    };
    let mut a = src("a", &url("a.xml"));
    a.extra = "tags = [\"edu\"]\n".into();
    let env = Env::with(
        FETCH,
        &[a, src("b", &url("b.xml")), src("c", &url("c.xml"))],
        "[[topic]]\nslug = \"jjj-edu\"\ntitle = \"京津冀教育协同\"\nquery = \"教育 AND 协同\"\n",
    );
    std::fs::copy(fixtures.join("release7.db"), env.db_path()).unwrap();

    // A read command does not migrate: it says what will, and leaves the
    // file as it was.
    let refused = env.run(&["export"]);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains("schema version 7") && refused.stderr.contains("newsriver poll"),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read(env.db_path()).unwrap(),
        std::fs::read(fixtures.join("release7.db")).unwrap(),
        "a read command leaves the old database untouched"
    );
    // `poll` migrates it (the feeds are the ones the old release read:
    // nothing new).
    let run = env.poll(&[]);
    assert_eq!(summary_items(&run.stderr).0, 0, "{run:?}");

    // Read back through this release: the export is the old release's.
    let before: Vec<serde_json::Value> = std::fs::read_to_string(fixtures.join("export.json"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(before.len(), 3);
    assert_eq!(
        env.export(&[]),
        before,
        "the same stories, copies, topics and text"
    );
    let db = env.db();
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(
        version >= 8,
        "migrated to the compact schema and on: {version}"
    );
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let dangling: i64 = db
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
    let old_columns: i64 = db
        .query_row(
            "SELECT count(*) FROM pragma_table_info('copies')
             WHERE name IN ('story_id', 'summary_html', 'content_html', 'full_html')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_columns, 0, "the old columns are gone");
    // Every (key, story) pair kept (the old table held a pair twice when a
    // fuller text repeated a key of the summary it replaced).
    let old_pairs: i64 = open_ro(&fixtures.join("release7.db"))
        .query_row(
            "SELECT count(*) FROM (SELECT DISTINCT key, story_id FROM near_keys)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // Since migration 0010 each story holds its keys (8 bytes each; in
    // `story_texts` since 0018).
    assert_eq!(
        env.count("SELECT sum(length(near_keys)) / 8 FROM story_texts"),
        old_pairs
    );
    assert_eq!(
        env.count("SELECT count(*) FROM sqlite_schema WHERE name = 'near_keys'"),
        0
    );
    drop(db);
    let html = env.copy_html("SELECT body FROM copies WHERE guid = 'a-1'", &[]);
    assert!(
        html.summary_html
            .unwrap_or_default()
            .contains("天津市委教育工委")
    );
    let html = env.copy_html(
        "SELECT body FROM copies WHERE guid = 'https://b.example/n/b-1'",
        &[],
    );
    assert!(
        html.summary_html
            .unwrap_or_default()
            .contains("三地将积极推进")
    );

    // The topic feed renders from the migrated rows, with the full text.
    let feed = env.run(&["render", "jjj-edu", "--format", "atom"]);
    assert_eq!(feed.code, Some(0), "{feed:?}");
    let story = before
        .iter()
        .find(|s| s["topics"] == serde_json::json!(["jjj-edu"]))
        .unwrap();
    let id = story["id"].as_str().unwrap();
    assert!(
        // First seen before per-topic ids: the story keeps its old id.
        feed.stdout.contains(&newsriver::publish::story_uuid(id)),
        "{}",
        feed.stdout
    );
    assert!(feed.stdout.contains("天津市委教育工委"), "{}", feed.stdout);

    // Polling on: a new outlet's copy of the old story joins it through
    // the migrated near-duplicate index; a new story is new.
    let c = std::fs::read_to_string(dir.path().join("c.xml")).unwrap().replace(
        "</channel>",
        "<item><guid>c-3</guid><link>https://c.example/c-3</link><title>京津冀教育协同发展会议在京召开</title>\
         <pubDate>Mon, 30 Nov 2026 13:00:00 +0800</pubDate><description><![CDATA[<p>今天，记者从北京市教委了解到，\
         2026年京津冀教育协同发展工作会议在京召开。三地将积极推进各级各类教育融合发展，在更大范围、更深领域加强教育协同。</p>]]>\
         </description></item><item><guid>c-4</guid><link>https://c.example/c-4</link><title>地铁新线开通</title>\
         <pubDate>Mon, 30 Nov 2026 14:00:00 +0800</pubDate><description><![CDATA[<p>地铁新线今日开通初期运营，\
         沿线居民出行时间将大幅缩短，换乘站点同步启用。</p>]]></description></item></channel>",
    );
    std::fs::write(dir.path().join("c.xml"), c).unwrap();
    let run = env.poll(&[]);
    assert_eq!(summary_items(&run.stderr).0, 2, "{run:?}");
    let after = env.export(&[]);
    assert_eq!(after.len(), 4, "one new story");
    let old = after.iter().find(|s| s["id"] == story["id"]).unwrap();
    let sources: Vec<&str> = old["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources.len(), 3, "{old}");
    assert!(sources.contains(&"c"), "{old}");
    assert_eq!(old["topics"], story["topics"]);
}

/// A source handed to the writer frees its fetch place at once: with
/// `concurrency = 1` and the database's write lock held by another
/// process, `poll` still fetches and prepares the other sources (queued
/// for the writer) instead of waiting for the first one's commit; when the
/// lock goes, every source is stored.
#[test]
fn sources_handed_to_the_writer_free_their_fetch_place_while_it_waits() {
    let server = TestServer::start();
    let feed = |name: &str| {
        rss2(
            name,
            &[Item {
                guid: Some(name),
                title: Some(name),
                description: Some("京津冀教育协同发展工作会议在京召开，三地将推进教育融合发展。"),
                ..Default::default()
            }],
        )
    };
    // The first answer comes late, so the test can take the write lock
    // after `poll` has recorded its sources and before it stores anything.
    server.fixed(
        "/f0",
        Response::ok(RSS_TYPE, feed("f0")).delay(Duration::from_millis(800)),
    );
    for i in 1..4 {
        server.fixed(
            &format!("/f{i}"),
            Response::ok(RSS_TYPE, feed(&format!("f{i}"))),
        );
    }
    let sources: Vec<Src> = (0..4)
        .map(|i| src(&format!("f{i}"), &server.url(&format!("/f{i}"))))
        .collect();
    let env = Env::with(
        &FETCH.replace("concurrency = 16", "concurrency = 1"),
        &sources,
        "",
    );
    env.create_db();
    let child = binary()
        .arg("--config")
        .arg(&env.config)
        .arg("poll")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let wait_for = |what: &dyn Fn() -> bool| {
        let until = Instant::now() + Duration::from_secs(20);
        while !what() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        what()
    };
    assert!(
        wait_for(&|| server.requests("/f0").len() == 1),
        "f0 never fetched"
    );
    // SQLite's write lock; on PostgreSQL, the tables a poll writes
    // locked against writes (reads go on).
    let lock = env.store_rw();
    lock.execute_batch(match env.pg {
        Some(_) => "BEGIN; LOCK TABLE polls, copies, stories IN EXCLUSIVE MODE",
        None => "BEGIN IMMEDIATE",
    })
    .unwrap();
    let others = || (1..4).all(|i| server.requests(&format!("/f{i}")).len() == 1);
    // Within the writer's 5 s busy timeout.
    let until = Instant::now() + Duration::from_secs(3);
    while !others() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let fetched_while_locked = others();
    let stored_while_locked = env.copies();
    lock.execute_batch("ROLLBACK").unwrap();
    assert_eq!(stored_while_locked, 0, "the lock held the writer back");
    let out = child.wait_with_output().unwrap();
    assert!(
        fetched_while_locked,
        "the other sources waited for the first one's commit"
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(env.copies(), 4);
    for i in 0..4 {
        assert_eq!(env.poll_outcomes(&format!("f{i}")), ["ok"]);
    }
}

#[test]
fn bodies_are_compressed_as_storage_compression_says_and_both_are_read() {
    if sqlite_only("reads the stored bodies' format byte from the SQLite file") {
        return;
    }
    let item = |n: &'static str, body: &'static str| Item {
        guid: Some(n),
        link: Some(if n == "a" {
            "https://rss.example/a.html"
        } else {
            "https://rss.example/b.html"
        }),
        title: Some(if n == "a" {
            "全国秋粮收获进度过半"
        } else {
            "上海地铁新线开通初期运营"
        }),
        description: Some(body),
        pub_date: Some("Mon, 09 Oct 2023 10:00:00 +0800"),
    };
    let a = || {
        item(
            "a",
            "<p>农业农村部农情调度显示，全国秋粮已收获过半，各地抢抓晴好天气加快机收进度，确保颗粒归仓。</p>",
        )
    };
    let b = || {
        item(
            "b",
            "<p>上海地铁两条新线今日开通初期运营，沿线居民出行时间将大幅缩短，换乘站点同步启用。</p>",
        )
    };
    let server = TestServer::start();
    server.fixed("/feed", Response::ok(RSS_TYPE, rss2("中国新闻网", &[a()])));
    let env = Env::new(&[src("feed", &server.url("/feed"))]);
    let run = env.poll(&[]);
    assert_eq!(summary_counts(&run.stderr), (1, 0, 0), "{run:?}");
    // Then the same database under `compression = "zstd"`, and a new item.
    let text = config_text(&env).replacen("[storage]\n", "[storage]\ncompression = \"zstd\"\n", 1);
    std::fs::write(&env.config, text).unwrap();
    assert_eq!(env.run(&["check"]).code, Some(0));
    server.fixed(
        "/feed",
        Response::ok(RSS_TYPE, rss2("中国新闻网", &[a(), b()])),
    );
    let run = env.poll(&[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let formats: Vec<(String, u8)> = {
        let db = env.db();
        let mut stmt = db
            .prepare("SELECT item_key, body FROM copies ORDER BY item_key")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?[0]))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    // LZ4 (2) under the default, zstd (1) once the config says so.
    assert_eq!(
        formats,
        [("guid:a".to_string(), 2), ("guid:b".to_string(), 1)]
    );
    // Both are read: each copy's HTML comes back in the export.
    let export = serde_json::to_string(&env.export(&[])).unwrap();
    assert!(export.contains("全国秋粮已收获过半"), "{export}");
    assert!(export.contains("上海地铁两条新线今日开通"), "{export}");
    // A misspelled codec is a config error naming the line.
    let text = config_text(&env).replace("\"zstd\"", "\"brotli\"");
    std::fs::write(&env.config, text).unwrap();
    let r = env.run(&["check"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("storage.compression"), "{r:?}");
    assert!(r.stderr.contains("use \"lz4\" or \"zstd\""), "{r:?}");
    assert!(r.stderr.contains(":2:"), "the line is named: {r:?}");
}
