//! Enclosures, categories and authors pass from the outlets' feeds to the
//! topic feeds (issue 19, item 6), and edited copies are counted (item 4):
//! fixture feeds served by a local server, polled by the real binary, the
//! rendered topic feeds read back with feed-rs.

use crate::common::*;

/// The story two outlets carry word for word.
const SHARED: &str = "<p>京津冀三地教育部门今天在北京签署协议，推动优质教育资源共享与教师交流轮岗，\
首批试点学校名单同时公布，涉及三地共六十所中小学。</p>";

/// Outlet a (RSS 2.0): the shared story with an `<enclosure>` picture, two
/// categories and an author (`dc:creator`); `extra` goes into the item.
fn outlet_a() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>甲日报</title>
<link>https://a.example.cn/</link><description>a</description>
<item><guid>a-1</guid><link>https://a.example.cn/edu/1.html</link><title>京津冀教育资源共享</title>
<description><![CDATA[{SHARED}]]></description><pubDate>Fri, 09 Oct 2026 10:00:00 +0800</pubDate>
<dc:creator>王五</dc:creator>
<category>教育</category><category>京津冀</category>
<enclosure url="https://img.example.cn/edu/shared.jpg" length="48213" type="image/jpeg"/>
</item></channel></rss>"#
    )
}

/// Outlet b (Atom): the same story, the same picture under another
/// spelling of its URL, an audio file of its own, categories and authors
/// overlapping a's. `correction` is added to the text (an edit), with
/// `more` links inside the entry.
fn outlet_b(correction: &str, more: &str) -> String {
    let text = html_escape::encode_text(&format!("{SHARED}{correction}")).into_owned();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>乙新闻网</title><id>urn:b</id><updated>2026-10-09T03:00:00Z</updated>
<entry><id>urn:b:1</id><title>三地教育资源共享</title><updated>2026-10-09T03:00:00Z</updated>
<link rel="alternate" href="https://b.example.com/news/1.shtml"/>
<link rel="enclosure" href="https://IMG.example.cn:443/edu/shared.jpg" type="image/jpeg"/>
<link rel="enclosure" href="/audio/1.m4a" type="audio/mp4" length="777"/>
<link rel="enclosure" href="javascript:alert(1)" type="image/png"/>
{more}
<author><name>李四</name></author><author><name>王五</name></author>
<category term="edu" label="教育"/><category term="高校"/>
<content type="html">{text}</content></entry></feed>"#
    )
}

/// Outlet c (RSS 2.0 with Media RSS): another story, its picture a
/// `media:content`.
fn outlet_c() -> String {
    r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>丙周刊</title>
<link>https://c.example.org/</link><description>c</description>
<item><guid>c-1</guid><link>https://c.example.org/a/9</link><title>京津冀高校联合招生</title>
<description><![CDATA[<p>京津冀三地高校明年起联合招生，首批二十所学校参加，招生计划将于下月公布。</p>]]></description>
<pubDate>Thu, 08 Oct 2026 09:00:00 +0800</pubDate>
<media:content url="https://c.example.org/img/9.jpg" type="image/jpeg" fileSize="2048"/>
<category>招生</category>
</item></channel></rss>"#
        .to_string()
}

const TOPIC: &str = "\n[[topic]]\nslug = \"jjj\"\ntitle = \"京津冀\"\nquery = '京津冀'\n";

fn setup(server: &TestServer) -> Env {
    server.fixed("/a", Response::ok(RSS_TYPE, outlet_a()));
    server.fixed("/b", Response::ok(ATOM_TYPE, outlet_b("", "")));
    server.fixed("/c", Response::ok(RSS_TYPE, outlet_c()));
    Env::with(
        FETCH,
        &[
            src("a", &server.url("/a")),
            src("b", &server.url("/b")),
            src("c", &server.url("/c")),
        ],
        TOPIC,
    )
}

/// One entry of a rendered topic feed as feed-rs reads it back.
#[derive(Debug, Default)]
struct Read {
    title: String,
    /// (URL, MIME type, length)
    files: Vec<(String, Option<String>, Option<u64>)>,
    categories: Vec<String>,
    authors: Vec<String>,
}

/// Topic `jjj` rendered in `format` by the binary, read back by feed-rs.
fn rendered(env: &Env, format: &str) -> (String, Vec<Read>) {
    let run = env.run(&["render", "jjj", "--format", format]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let feed = feed_rs::parser::parse(run.stdout.as_bytes())
        .unwrap_or_else(|e| panic!("{format}: {e}\n{}", run.stdout));
    let entries = feed
        .entries
        .into_iter()
        .map(|e| {
            let mut files: Vec<_> = e
                .links
                .iter()
                // Atom's enclosure links; JSON Feed attachments (feed-rs
                // gives them a type and no rel, the item's `url` neither).
                .filter(|l| match l.rel.as_deref() {
                    Some(rel) => rel == "enclosure",
                    None => l.media_type.is_some(),
                })
                .map(|l| (l.href.clone(), l.media_type.clone(), l.length))
                .collect();
            // RSS `<enclosure>`: feed-rs reads it as media content.
            for c in e.media.iter().flat_map(|m| &m.content) {
                files.push((
                    c.url.as_ref().map(|u| u.to_string()).unwrap_or_default(),
                    c.content_type.as_ref().map(|t| t.to_string()),
                    c.size,
                ));
            }
            Read {
                title: e.title.map(|t| t.content).unwrap_or_default(),
                files,
                categories: e.categories.into_iter().map(|c| c.term).collect(),
                authors: e.authors.into_iter().filter_map(|p| p.name).collect(),
            }
        })
        .collect();
    (run.stdout, entries)
}

fn entry<'a>(entries: &'a [Read], title_part: &str) -> &'a Read {
    entries
        .iter()
        .find(|e| e.title.contains(title_part))
        .unwrap_or_else(|| panic!("no entry with {title_part}: {entries:?}"))
}

fn urls(e: &Read) -> Vec<&str> {
    e.files.iter().map(|f| f.0.as_str()).collect()
}

const PICTURE: &str = "https://img.example.cn/edu/shared.jpg";
const AUDIO_B: &str = "/audio/1.m4a";
const MEDIA_C: &str = "https://c.example.org/img/9.jpg";

#[test]
fn enclosures_categories_and_authors_reach_all_three_formats_once_each() {
    let server = TestServer::start();
    let env = setup(&server);
    env.poll(&[]);
    assert_eq!(env.stories(), 2, "a and b carry one story, c another");
    let audio_b = server.url(AUDIO_B);
    for format in ["atom", "rss", "json"] {
        let (doc, entries) = rendered(&env, format);
        assert!(!doc.contains("javascript:"), "{format}: {doc}");
        assert_eq!(entries.len(), 2, "{format}: {doc}");
        let shared = entry(&entries, "教育资源共享");
        let other = entry(&entries, "联合招生");
        // Categories and authors of both outlets, each once.
        let mut cats = shared.categories.clone();
        cats.sort();
        assert_eq!(cats, ["京津冀", "教育", "高校"], "{format}");
        assert_eq!(other.categories, ["招生"], "{format}");
        if format != "rss" {
            let mut authors = shared.authors.clone();
            authors.sort();
            assert_eq!(authors, ["李四", "王五"], "{format}");
        }
        // The media:content of c.
        assert_eq!(
            other.files,
            [(MEDIA_C.into(), Some("image/jpeg".into()), Some(2048))],
            "{format}"
        );
        if format == "rss" {
            // RSS 2.0: one enclosure, the first with a type and a length.
            assert_eq!(
                shared.files,
                [(PICTURE.into(), Some("image/jpeg".into()), Some(48213))],
                "{format}: {doc}"
            );
            continue;
        }
        // The picture a and b both carry is listed once; b's audio (an
        // Atom enclosure, relative) made absolute against b's feed.
        let mut got = urls(shared);
        got.sort();
        let mut want = vec![PICTURE, audio_b.as_str()];
        want.sort();
        assert_eq!(got, want, "{format}: {doc}");
        let picture = shared.files.iter().find(|f| f.0 == PICTURE).unwrap();
        assert_eq!(
            (picture.1.as_deref(), picture.2),
            (Some("image/jpeg"), Some(48213)),
            "{format}"
        );
        let audio = shared.files.iter().find(|f| f.0 == audio_b).unwrap();
        assert_eq!(
            (audio.1.as_deref(), audio.2),
            (Some("audio/mp4"), Some(777)),
            "{format}"
        );
    }
}

#[test]
fn an_edited_copy_of_a_shared_story_is_counted_and_brings_its_new_files() {
    let server = TestServer::start();
    let env = setup(&server);
    env.poll(&[]);
    // b corrects its copy (one sentence more) and adds a file.
    server.fixed(
        "/b",
        Response::ok(
            ATOM_TYPE,
            outlet_b(
                "<p>（更正：试点学校为六十二所。）</p>",
                r#"<link rel="enclosure" href="https://b.example.com/pdf/list.pdf" type="application/pdf"/>"#,
            ),
        ),
    );
    let run = env.poll(&[]);
    let (new, known, updated) = summary_items(&run.stderr);
    assert_eq!((new, known, updated), (0, 2, 1), "{}", run.stderr);
    assert_eq!(env.stories(), 2, "the correction stays with its story");
    let (_, entries) = rendered(&env, "json");
    let shared = entry(&entries, "资源共享");
    assert!(
        urls(shared).contains(&"https://b.example.com/pdf/list.pdf"),
        "{shared:?}"
    );
    // `sources show` tells how many items the source edited lately.
    let show = env.run(&["sources", "show", "b"]);
    assert_eq!(show.code, Some(0), "{show:?}");
    assert!(
        show.stdout.contains("items edited") && show.stdout.contains("1 in the last 7 days"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains(", 1 updated"), "{}", show.stdout);
    let show_a = env.run(&["sources", "show", "a"]);
    assert!(
        show_a.stdout.contains("0 in the last 7 days (2 polls)"),
        "{}",
        show_a.stdout
    );
}

#[test]
fn a_database_at_schema_11_upgrades_and_renders() {
    // SQLite only: the schema-11 database is SQLite's migration history
    // (PostgreSQL's schema starts at the current one).
    if sqlite_only("a SQLite database at schema 11 migrates") {
        return;
    }
    let server = TestServer::start();
    let env = setup(&server);
    env.poll(&[]);
    // The database as the release before wrote it: 0012 adds a table,
    // 0013, 0014 and 0015 only columns, 0016 a column and a table, 0017 a
    // table, a column and an index, 0018 a column and a table (from two
    // columns of `stories`).
    {
        let db = rusqlite::Connection::open(env.db_path()).unwrap();
        db.execute_batch(
            "ALTER TABLE copies DROP COLUMN enclosures;
             ALTER TABLE copies DROP COLUMN categories;
             ALTER TABLE polls DROP COLUMN items_updated;
             ALTER TABLE copies DROP COLUMN text;
             ALTER TABLE polls DROP COLUMN text_fallbacks;
             ALTER TABLE polls DROP COLUMN pages_not_needed;
             DROP TABLE page_failures;
             DROP TABLE settings;
             DROP INDEX copies_text_id;
             ALTER TABLE copies DROP COLUMN text_id;
             DROP TABLE copy_texts;
             ALTER TABLE stories DROP COLUMN shown;
             ALTER TABLE stories ADD COLUMN text TEXT NOT NULL DEFAULT '';
             ALTER TABLE stories ADD COLUMN near_keys BLOB;
             UPDATE stories SET
               text = (SELECT text FROM story_texts t WHERE t.sid = stories.sid),
               near_keys = (SELECT near_keys FROM story_texts t WHERE t.sid = stories.sid);
             DROP TABLE story_texts;
             PRAGMA user_version = 11;",
        )
        .unwrap();
    }
    let refused = env.run(&["render", "jjj", "--format", "atom"]);
    assert_ne!(refused.code, Some(0), "a reader does not migrate");
    // The next poll migrates; the unchanged items stay as they were: no
    // files or categories until their outlets edit them.
    env.poll(&[]);
    let version: i64 = env.count("PRAGMA user_version");
    assert_eq!(version, 19);
    for format in ["atom", "rss", "json"] {
        let (_, entries) = rendered(&env, format);
        assert_eq!(entries.len(), 2, "{format}");
        assert!(
            entries
                .iter()
                .all(|e| e.files.is_empty() && e.categories.is_empty()),
            "{format}: {entries:?}"
        );
    }
    let show = env.run(&["sources", "show", "a"]);
    assert_eq!(show.code, Some(0), "{show:?}");
    assert!(
        show.stdout.contains("0 in the last 7 days (2 polls)"),
        "{}",
        show.stdout
    );
    // An edit fills them in.
    server.fixed(
        "/c",
        Response::ok(RSS_TYPE, outlet_c().replace("下月公布", "下月中旬公布")),
    );
    env.poll(&[]);
    let (_, entries) = rendered(&env, "atom");
    let other = entry(&entries, "联合招生");
    assert_eq!(urls(other), [MEDIA_C]);
    assert_eq!(other.categories, ["招生"]);
}
