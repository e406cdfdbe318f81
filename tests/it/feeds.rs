//! Topic feeds end to end: poll fixture outlets into a real SQLite file,
//! serve the topic feeds over real HTTP on 127.0.0.1, read them back with
//! feed-rs.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use newsriver::config::Config;
use newsriver::http;
use newsriver::pipeline::{self, Poller};

const BODY: &str = "今天,记者从北京市教委了解到,2023年京津冀教育协同发展工作会议在京召开。三地将积极推进各级各类教育融合发展,在更大范围、更深领域加强教育协同。";

fn outlet_a() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>中国新闻网</title><language>zh-CN</language>
<item><guid>a-1</guid><link>https://a.example/news/1.html</link>
<title>京津冀教育协同发展工作会议在京召开_中国新闻网</title>
<description><![CDATA[<p>中新网北京10月9日电（记者 杜燕）{BODY}(完)</p><p>相关推荐</p><p>黑龙江饶河再现野生东北虎足迹</p>]]></description>
<pubDate>Mon, 09 Oct 2023 08:00:00 +0800</pubDate></item>
<item><guid>a-2</guid><link>https://a.example/news/2.html</link><title>海南外贸进出口增长</title>
<description>今年前三季度海南外贸进出口增长20.2%,其中出口增长明显,京津冀地区的采购商也很多。</description>
<pubDate>Mon, 09 Oct 2023 09:00:00 +0800</pubDate></item>
</channel></rss>"#
    )
}

fn outlet_b() -> String {
    let body = BODY.replace(',', "，");
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>人民网</title><id>urn:b</id><updated>2023-10-09T05:00:00Z</updated>
<entry><id>urn:b:1</id><title>【教育】京津冀教育协同发展工作会议在京召开</title><link href="https://b.example/x/1.html"/>
<updated>2023-10-09T05:00:00Z</updated>
<content type="html">&lt;p&gt;新华社北京10月9日电 {body}&lt;img src="../img/p.jpg"&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;&lt;p&gt;【责任编辑：王五】&lt;/p&gt;</content></entry>
</feed>"#
    )
}

fn outlet_c() -> String {
    format!(
        r#"{{"version":"https://jsonfeed.org/version/1.1","title":"澎湃新闻","items":[
  {{"id":"c-1","url":"https://c.example/c1","title":"京津冀教育协同发展工作会议在京召开",
    "content_html":"<p>{BODY}</p><p>责任编辑：张三</p>","date_published":"2023-10-09T06:00:00Z"}}]}}"#
    )
}

fn write_config(dir: &Path, query: &str) -> Config {
    let src = |name: &str| format!("file://{}", dir.join(name).display());
    let text = format!(
        r#"
[storage]
path = "news.db"

[fetch]
allow_file_urls = true

[server]
listen = "127.0.0.1:0"
base_url = "http://feeds.example.org/news/"
output_dir = "public"

[[source]]
id = "outlet-a"
name = "中国新闻网"
url = "{}"
tags = ["national"]

[[source]]
id = "outlet-b"
name = "人民网"
url = "{}"
tags = ["national"]

[[source]]
id = "outlet-c"
name = "澎湃新闻"
url = "{}"
tags = ["national"]

[[topic]]
slug = "edu"
title = "京津冀教育协同"
query = '{query}'
tags = ["national"]
"#,
        src("a.xml"),
        src("b.xml"),
        src("c.json")
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

async fn poll(config: &Config) {
    let poller = Poller::new(config).unwrap();
    let report = poller.poll(config.sources.clone(), |_| {}).await.unwrap();
    assert_eq!(report.failed().count(), 0, "{report:?}");
}

struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: &Config) -> Server {
    // The writer's open brings the database in line with the config (as
    // `run` does); the server reads through read-only connections.
    drop(pipeline::open_writer(config).unwrap());
    let store = newsriver::store::Readers::open(&config.storage.path).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = config.clone();
    let task = tokio::spawn(async move {
        http::serve(
            &config,
            listener,
            store,
            Duration::from_millis(100),
            async {
                let _ = rx.await;
            },
        )
        .await
    });
    Server {
        base,
        stop: Some(tx),
        task,
    }
}

impl Server {
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

fn client() -> reqwest::Client {
    // No automatic decompression: the tests look at the raw encodings.
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap()
}

async fn get_feed(base: &str, path: &str) -> feed_rs::model::Feed {
    let resp = client().get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    let bytes = resp.bytes().await.unwrap();
    feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn topic_feeds_over_http_have_each_story_once_with_stable_ids() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.xml"), outlet_a()).unwrap();
    std::fs::write(dir.path().join("b.xml"), outlet_b()).unwrap();
    std::fs::write(
        dir.path().join("c.json"),
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"c","items":[]}"#,
    )
    .unwrap();
    let config = write_config(dir.path(), "京津冀 AND 教育 AND (协同 OR 合作)");
    poll(&config).await;
    let server = start(&config).await;

    // Atom: one entry (two outlets' copies), the earliest copy's link, the
    // other copy as rel=related, sanitized content with absolute URLs.
    let atom = get_feed(&server.base, "/topics/edu.atom").await;
    assert_eq!(
        atom.entries.len(),
        1,
        "the unrelated story must not be in the topic"
    );
    let entry = &atom.entries[0];
    let id = entry.id.clone();
    assert!(id.starts_with("urn:uuid:"), "{id}");
    assert_eq!(
        entry.title.as_ref().unwrap().content,
        "京津冀教育协同发展工作会议在京召开"
    );
    let alternate: Vec<_> = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref() != Some("related"))
        .collect();
    assert_eq!(alternate[0].href, "https://a.example/news/1.html");
    let related: Vec<_> = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("related"))
        .collect();
    assert_eq!(related.len(), 1);
    assert_eq!(related[0].href, "https://b.example/x/1.html");
    let content = entry.content.as_ref().and_then(|c| c.body.clone()).unwrap();
    assert!(!content.contains("<script"), "{content}");
    assert!(content.contains("教育协同发展工作会议"), "{content}");
    assert!(
        !content.contains("东北虎"),
        "the related-titles footer is not shown: {content}"
    );
    assert!(
        content.contains("人民网") && content.contains("中国新闻网"),
        "{content}"
    );
    assert_eq!(
        entry.published.unwrap().to_rfc3339(),
        "2023-10-09T00:00:00+00:00",
        "the first copy's date"
    );
    assert!(atom.links.iter().any(|l| l.rel.as_deref() == Some("self")
        && l.href == "http://feeds.example.org/news/topics/edu.atom"));

    // RSS and JSON Feed carry the same entry id.
    for path in ["/topics/edu.rss", "/topics/edu.json"] {
        let feed = get_feed(&server.base, path).await;
        assert_eq!(feed.entries.len(), 1, "{path}");
        assert_eq!(feed.entries[0].id, id, "{path}");
    }

    // Conditional GET and compression.
    let resp = client()
        .get(format!("{}/topics/edu.atom", server.base))
        .send()
        .await
        .unwrap();
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let last_modified = resp.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        resp.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let resp = client()
        .get(format!("{}/topics/edu.atom", server.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let resp = client()
        .get(format!("{}/topics/edu.atom", server.base))
        .header("If-Modified-Since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let resp = client()
        .get(format!("{}/topics/edu.atom", server.base))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let mut xml = String::new();
    flate2::read::GzDecoder::new(&resp.bytes().await.unwrap()[..])
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains(&id));
    let resp = client()
        .get(format!("{}/topics/edu.atom", server.base))
        .header("Accept-Encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "br");

    // Index, OPML, 404s.
    let index = client()
        .get(format!("{}/topics/", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        index.contains(r#"<link rel="alternate" type="application/atom+xml""#),
        "{index}"
    );
    let opml = client()
        .get(format!("{}/topics.opml", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        opml.contains("http://feeds.example.org/news/topics/edu.atom"),
        "{opml}"
    );
    for path in [
        "/topics/nope.atom",
        "/topics/edu.html",
        "/news.db",
        "/config.toml",
        "/index.html",
    ] {
        let resp = client()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }

    // A third outlet carries the story later: same entry, one more related link.
    std::fs::write(dir.path().join("c.json"), outlet_c()).unwrap();
    poll(&config).await;
    let mut updated = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let feed = get_feed(&server.base, "/topics/edu.atom").await;
        let related = feed.entries[0]
            .links
            .iter()
            .filter(|l| l.rel.as_deref() == Some("related"))
            .count();
        if related == 2 {
            updated = Some(feed);
            break;
        }
    }
    let feed = updated.expect("the cache picks up the new copy");
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(
        feed.entries[0].id, id,
        "a story that gains a copy keeps its entry id"
    );
    let resp = client()
        .get(format!("{}/topics/edu.atom", server.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the old ETag no longer matches");

    server.stop().await;
    let written = std::fs::read_to_string(dir.path().join("public/topics/edu.atom")).unwrap();
    assert!(written.contains(&id), "output_dir holds the same feed");
}

#[tokio::test]
async fn changing_a_query_re_evaluates_stored_stories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.xml"), outlet_a()).unwrap();
    std::fs::write(dir.path().join("b.xml"), outlet_b()).unwrap();
    std::fs::write(dir.path().join("c.json"), outlet_c()).unwrap();
    let config = write_config(dir.path(), "title:外贸");
    poll(&config).await;
    drop(pipeline::open_writer(&config).unwrap());
    let store = pipeline::open_reader(&config).unwrap();
    let titles = |store: &newsriver::store::Reader| -> Vec<String> {
        store
            .topic_feed("edu", 50)
            .unwrap()
            .into_iter()
            .map(|s| s.title)
            .collect()
    };
    assert_eq!(titles(&store), vec!["海南外贸进出口增长"]);
    drop(store);

    // "京津冀" appears in the trade story's body and, for the education story,
    // in its title; NOT excludes the former.
    let config = write_config(dir.path(), "京津冀 NOT 外贸");
    // The writer re-evaluates the changed topic when it opens.
    drop(pipeline::open_writer(&config).unwrap());
    let store = pipeline::open_reader(&config).unwrap();
    assert_eq!(titles(&store), vec!["京津冀教育协同发展工作会议在京召开"]);
}
