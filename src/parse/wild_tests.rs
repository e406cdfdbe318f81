//! Documents as they are found in the wild, read end to end through
//! `parse`: the pre-pass, the URLs, the lenient reading.

use super::urls::absolutize_html;
use super::*;

const FEED: &str = "https://blog.example/feed.xml";

fn read(doc: &str) -> ParsedFeed {
    parse(doc, Some(FEED)).expect("parses")
}

/// An Atom 0.3 feed as blogs wrote them in 2004–2008: every content
/// mode, `issued`/`modified`/`created`, `tagline`, an alternate link.
const ATOM03: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#" xml:lang="zh-TW">
  <title>舊部落格</title>
  <tagline>Atom 0.3 &amp; 老文章</tagline>
  <link rel="alternate" type="text/html" href="https://blog.example/"/>
  <modified>2005-03-01T10:00:00Z</modified>
  <author><name>作者</name><url>https://blog.example/me</url></author>
  <entry>
<title>轉義</title>
<link rel="alternate" type="text/html" href="https://blog.example/2005/03/escaped.html"/>
<id>tag:blog.example,2005:1</id>
<issued>2005-03-01T18:00:00+08:00</issued>
<modified>2005-03-02T10:00:00Z</modified>
<content type="text/html" mode="escaped">&lt;p&gt;轉義的 &lt;b&gt;HTML&lt;/b&gt;&lt;/p&gt;</content>
  </entry>
  <entry>
<title>Base64</title>
<link rel="alternate" type="text/html" href="https://blog.example/2005/02/b64.html"/>
<id>tag:blog.example,2005:2</id>
<created>2005-02-01T10:00:00Z</created>
<modified>2005-02-03T10:00:00Z</modified>
<content type="text/html" mode="base64">PHA+5L2g5aW9IDxpbWcgc3JjPSJwaWMucG5nIj48L3A+</content>
  </entry>
  <entry>
<title mode="escaped" type="text/html">XML &amp;amp; mode</title>
<link rel="alternate" type="text/html" href="https://blog.example/2005/01/xml.html"/>
<id>tag:blog.example,2005:3</id>
<modified>2005-01-05T10:00:00Z</modified>
<content type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml"><p>內嵌 <a href="/about">XHTML</a></p></div></content>
<summary>純文字摘要</summary>
  </entry>
</feed>"#;

#[test]
fn atom_0_3_reads_like_atom_1_0() {
    let f = read(ATOM03);
    assert_eq!(f.format, FeedFormat::Atom03);
    assert_eq!(f.title.as_deref(), Some("舊部落格"));
    assert_eq!(f.items.len(), 3);
    assert_eq!(f.items_in_document, 3);
    let [a, b, c] = &f.items[..] else {
        panic!("three items")
    };
    // issued is the date, modified the update.
    assert_eq!(
        a.published.map(|d| d.to_rfc3339()),
        Some("2005-03-01T10:00:00+00:00".into())
    );
    assert_eq!(
        a.updated.map(|d| d.to_rfc3339()),
        Some("2005-03-02T10:00:00+00:00".into())
    );
    assert_eq!(
        a.link.as_deref(),
        Some("https://blog.example/2005/03/escaped.html")
    );
    assert_eq!(a.content_html.as_deref(), Some("<p>轉義的 <b>HTML</b></p>"));
    // No issued: created is the date. Base64 decoded, its img resolved
    // against the entry's link.
    assert_eq!(
        b.published.map(|d| d.to_rfc3339()),
        Some("2005-02-01T10:00:00+00:00".into())
    );
    assert_eq!(
        b.content_html.as_deref(),
        Some("<p>你好 <img src=\"https://blog.example/2005/02/pic.png\"></p>")
    );
    // Only modified: it is the date. Inline XHTML kept as HTML.
    assert_eq!(
        c.published.map(|d| d.to_rfc3339()),
        Some("2005-01-05T10:00:00+00:00".into())
    );
    assert_eq!(c.title.as_deref(), Some("XML &amp; mode"));
    let html = c.content_html.as_deref().unwrap_or("");
    assert!(
        html.contains("<p>內嵌 <a href=\"https://blog.example/about\">XHTML</a></p>"),
        "{html}"
    );
    assert_eq!(c.summary_html.as_deref(), Some("純文字摘要"));
}

#[test]
fn rss_1_0_items_with_only_a_title_or_only_a_description_are_kept() {
    let doc = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
  <channel rdf:about="https://links.example/"><title>Links</title><link>https://links.example/</link><description>d</description></channel>
  <item rdf:about="https://links.example/1"><title>Only a title</title></item>
  <item rdf:about="https://links.example/2"><description>Only a description</description></item>
  <item rdf:about="https://links.example/3"><title>Full</title><link>https://links.example/3</link></item>
  <item rdf:about="https://links.example/4"></item>
</rdf:RDF>"#;
    let f = read(doc);
    assert_eq!(f.format, FeedFormat::Rss1);
    assert_eq!(f.items.len(), 3, "{:?}", f.items);
    assert_eq!(f.items[0].title.as_deref(), Some("Only a title"));
    assert_eq!(f.items[0].link, None);
    assert_eq!(
        f.items[1].summary_html.as_deref(),
        Some("Only a description")
    );
    assert_eq!(f.items[2].link.as_deref(), Some("https://links.example/3"));
    // The empty one is counted, not kept.
    assert_eq!(f.skipped, 1);
    assert_eq!(f.items_in_document, 4);
}

/// The entry the issue quotes: content under an xml:base, no <link>,
/// a URL as its id.
#[test]
fn xml_base_and_a_url_id_give_absolute_urls_and_a_link() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>numist</title>
<id>https://numi.st/</id><updated>2022-08-01T00:00:00Z</updated>
<entry><id>https://numi.st/post/2022/travel-uke/</id><title>Travel uke</title>
<updated>2022-08-01T00:00:00Z</updated>
<content type="html" xml:base="https://numi.st/post/2022/travel-uke/">&lt;img src="IMG_1232.jpeg"&gt;&lt;img srcset="a.jpg 1x, /b.jpg 2x"&gt;&lt;video poster="p.png" src="https://cdn.example/v.mp4"&gt;&lt;/video&gt;</content>
</entry></feed>"#;
    let f = read(doc);
    let e = &f.items[0];
    assert_eq!(
        e.link.as_deref(),
        Some("https://numi.st/post/2022/travel-uke/")
    );
    assert_eq!(
        e.content_html.as_deref(),
        Some(
            "<img src=\"https://numi.st/post/2022/travel-uke/IMG_1232.jpeg\">\
             <img srcset=\"https://numi.st/post/2022/travel-uke/a.jpg 1x, https://numi.st/b.jpg 2x\">\
             <video poster=\"https://numi.st/post/2022/travel-uke/p.png\" src=\"https://cdn.example/v.mp4\"></video>"
        )
    );
}

#[test]
fn relative_urls_resolve_against_the_link_then_the_feed_or_go() {
    let rss = r#"<rss version="2.0"><channel><title>t</title>
<item><guid isPermaLink="false">1</guid><title>rel</title><link>/news/1.html</link>
<description>&lt;a href="2.html"&gt;next&lt;/a&gt; &lt;img src='//img.example/x.png'&gt;</description></item>
<item><guid isPermaLink="false">2</guid><title>no link</title>
<description>&lt;img src="pics/y.png" alt=x&gt;</description></item>
</channel></rss>"#;
    let f = read(rss);
    assert_eq!(
        f.items[0].link.as_deref(),
        Some("https://blog.example/news/1.html")
    );
    assert_eq!(
        f.items[0].summary_html.as_deref(),
        Some(
            "<a href=\"https://blog.example/news/2.html\">next</a> <img src=\"https://img.example/x.png\">"
        )
    );
    assert_eq!(
        f.items[1].summary_html.as_deref(),
        // Attribute values come back quoted (`html::bound_tags`).
        Some("<img src=\"https://blog.example/pics/y.png\" alt=\"x\">")
    );
    // No base at all: relative URLs are dropped, absolute ones stay.
    let f = parse(rss, None).expect("parses");
    assert_eq!(f.items[0].link, None);
    assert_eq!(
        f.items[0].summary_html.as_deref(),
        Some("<a>next</a> <img>")
    );
    assert_eq!(
        absolutize_html("<p>a<b>b</b></p>", None),
        "<p>a<b>b</b></p>"
    );
}

#[test]
fn atom_1_0_base64_content_is_decoded() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>b</title>
<entry><id>urn:x:1</id><title>b64</title><updated>2022-08-01T00:00:00Z</updated>
<content type="application/octet-stream">5paH5a2X</content></entry></feed>"#;
    assert_eq!(read(doc).items[0].content_html.as_deref(), Some("文字"));
}

#[test]
fn a_truncated_document_keeps_the_entries_before_the_break() {
    let doc = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>cut</title>\n\
<item><guid>1</guid><title>one</title></item>\n\
<item><guid>2</guid><title>two</title></item>\n\
<item><guid>3</guid><title>thr";
    let f = read(doc);
    assert_eq!(f.items.len(), 2);
    assert_eq!(f.items_in_document, 3);
    let broken = f.broken.as_deref().unwrap_or("");
    assert!(broken.contains("line 5"), "{broken}");
    assert!(broken.contains("kept the 2 complete entries"), "{broken}");
    assert!(f.repairs.iter().any(|r| r == broken));
    // Atom, broken by a mismatched tag rather than the end.
    let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>a</title>\
<entry><id>urn:1</id><title>one</title></entry>\
<entry><id>urn:2</id><title>two</b></entry></feed>";
    let f = read(atom);
    assert_eq!(f.items.len(), 1);
    assert!(f.broken.is_some());
    // Nothing complete before the break: still not a feed.
    assert!(
        parse(
            "<rss version=\"2.0\"><channel><title>x</title><item><title>a",
            None
        )
        .is_err()
    );
}

#[test]
fn rss_0_90_items_after_the_channel_and_markup_as_elements_are_read() {
    let rss090 = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>Lounge</title><link>https://lounge.example/</link><description>d</description></channel>
<item><title>網站更新公告</title><link>https://lounge.example/268</link></item>
<item><title>Africa Remix</title><link>https://lounge.example/267</link></item>
</rdf:RDF>"#;
    let f = read(rss090);
    assert_eq!(f.format, FeedFormat::Rss1);
    assert_eq!(f.items.len(), 2);
    assert_eq!(
        f.items[0].link.as_deref(),
        Some("https://lounge.example/268")
    );
    let outside = r#"<rss version="0.91"><channel><title>Greek.Ru</title><link>https://greek.example/</link><description>d</description></channel>
<item><title>Сегодня</title><link>https://greek.example/994</link><description>Власти</description></item>
<item><title>Вчера</title><link>https://greek.example/993</link></item>
</rss>"#;
    let f = read(outside);
    assert_eq!(f.items.len(), 2, "{:?}", f.items);
    assert_eq!(f.items[1].title.as_deref(), Some("Вчера"));
    let naked = r#"<rss version="2.0"><channel><title>t</title><item><guid>1</guid>
<title><b>Bold</b> title</title><description><p>Para <a href="/x">link</a></p></description></item></channel></rss>"#;
    let f = read(naked);
    assert_eq!(f.items[0].title.as_deref(), Some("<b>Bold</b> title"));
    assert_eq!(
        f.items[0].summary_html.as_deref(),
        Some("<p>Para <a href=\"https://blog.example/x\">link</a></p>")
    );
}

#[test]
fn atom_1_0_text_constructs_feed_rs_refuses_are_read() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><id>urn:1</id><title type="application/octet-stream">PGI+QmFzZTY0PC9iPg==</title>
<summary type="text/plain">Plain &amp; simple</summary><link>https://x.example/1</link></entry>
<entry><id>urn:2</id><title type="html">Link: <![CDATA[Pillow <i>fight</i>]]></title>
<summary type="html"><p>Not <b>escaped</b></p></summary>
<content src="https://x.example/2" type="html"/></entry>
</feed>"#;
    let f = read(doc);
    assert_eq!(f.items.len(), 2, "{:?}", f.items);
    assert_eq!(f.items[0].title.as_deref(), Some("<b>Base64</b>"));
    assert_eq!(f.items[0].summary_html.as_deref(), Some("Plain & simple"));
    assert_eq!(f.items[0].link.as_deref(), Some("https://x.example/1"));
    assert_eq!(
        f.items[1].title.as_deref(),
        Some("Link: Pillow <i>fight</i>")
    );
    assert_eq!(
        f.items[1].summary_html.as_deref(),
        Some("<p>Not <b>escaped</b></p>")
    );
}

#[test]
fn rss_items_read_the_elements_feedparser_reads_in_their_place() {
    let doc = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xhtml="http://www.w3.org/1999/xhtml"><channel><title>t</title>
<item><guid>1</guid><dc:title>From dc:title</dc:title><fullitem>&lt;p&gt;Full&lt;/p&gt;</fullitem></item>
<item><guid>2</guid><title>Own title</title><dc:title>Not this</dc:title><xhtml:body><p>Body</p></xhtml:body></item>
<item><guid>3</guid><title>&#X41;BC</title><dc:date>2002-09-28T20:01:19Z</dc:date></item>
</channel></rss>"#;
    let f = read(doc);
    assert_eq!(f.items[0].title.as_deref(), Some("From dc:title"));
    assert_eq!(f.items[0].content_html.as_deref(), Some("<p>Full</p>"));
    assert_eq!(f.items[1].title.as_deref(), Some("Own title"));
    assert_eq!(f.items[1].content_html.as_deref(), Some("<p>Body</p>"));
    // An upper-case hex reference, which XML refuses, is repaired.
    assert_eq!(f.items[2].title.as_deref(), Some("ABC"));
    // dc:date stands in for pubDate.
    assert_eq!(
        f.items[2].published.map(|d| d.to_rfc3339()),
        Some("2002-09-28T20:01:19+00:00".into())
    );
    // Items straight under <rss>, no channel at all.
    let bare = "<rss><item><title>bare</title></item></rss>";
    assert_eq!(read(bare).items[0].title.as_deref(), Some("bare"));
}

#[test]
fn rss_1_1_is_read_as_rss_1_0() {
    let doc = r#"<Channel xmlns="http://purl.org/net/rss1.1#" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" rdf:about="https://r11.example/">
<title>RSS 1.1</title><link>https://r11.example/</link><description>d</description>
<items rdf:parseType="Collection">
<item rdf:about="https://r11.example/1"><title>One</title><link>https://r11.example/1</link></item>
<item rdf:about="https://r11.example/2"><title>Two</title><link>https://r11.example/2</link></item>
</items></Channel>"#;
    let f = read(doc);
    assert_eq!(f.format, FeedFormat::Rss1);
    assert_eq!(f.title.as_deref(), Some("RSS 1.1"));
    let titles: Vec<_> = f.items.iter().filter_map(|i| i.title.as_deref()).collect();
    assert_eq!(titles, ["One", "Two"]);
}

#[test]
fn unreadable_dates_are_reported() {
    let rss = r#"<rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><title>a</title><pubDate>the day after tomorrow</pubDate></item>
<item><guid>2</guid><title>b</title><pubDate>0000-01-01 00:00:00</pubDate></item>
<item><guid>3</guid><title>c</title><pubDate>21 Dec 2012 12:00:00 EST</pubDate></item>
</channel></rss>"#;
    let f = read(rss);
    assert_eq!(
        f.unreadable_dates,
        ["the day after tomorrow", "0000-01-01 00:00:00"]
    );
    assert_eq!(f.items[0].published, None);
    assert_eq!(f.items[1].published, None);
    assert!(f.items[2].published.is_some());
}
