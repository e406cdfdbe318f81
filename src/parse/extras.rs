//! What an item carries beside its text: enclosures (`enclosures`) and
//! categories (`categories`). Both come from strangers: URLs are made
//! absolute and kept only when http(s) and of reasonable length, MIME types
//! only when they look like one, text is plain and every list is bounded
//! (`model::MAX_ENCLOSURES`, `MAX_CATEGORIES`, `MAX_CATEGORY_CHARS`).

use std::collections::HashSet;

use feed_rs::model::{Category, Link, MediaObject};
use url::Url;

use super::urls::resolve;
use crate::model::{
    Enclosure, MAX_CATEGORIES, MAX_CATEGORY_CHARS, MAX_ENCLOSURE_URL_BYTES, MAX_ENCLOSURES,
};

/// A link that names a file rather than a page: Atom's `rel="enclosure"`;
/// a JSON Feed attachment (feed-rs gives those no `rel` but a MIME type,
/// which its `url` and `external_url` links never have).
pub(super) fn is_enclosure(l: &Link) -> bool {
    match l.rel.as_deref() {
        Some(rel) => rel.trim().eq_ignore_ascii_case("enclosure"),
        None => l.media_type.is_some(),
    }
}

/// The item's enclosures, in document order by kind: enclosure links (Atom,
/// JSON Feed), then Media RSS content (feed-rs reads RSS `<enclosure>` as
/// that), then Media RSS thumbnails. Relative URLs are resolved against
/// `base` (feed-rs has applied `xml:base` to those it resolves); each URL
/// once, at most `MAX_ENCLOSURES`.
pub(super) fn enclosures(
    links: &[Link],
    media: &[MediaObject],
    base: Option<&Url>,
) -> Vec<Enclosure> {
    let from_links = links
        .iter()
        .filter(|l| is_enclosure(l))
        .map(|l| (l.href.as_str(), l.media_type.clone(), l.length));
    let contents = media.iter().flat_map(|m| &m.content).filter_map(|c| {
        let url = c.url.as_ref()?;
        Some((
            url.as_str(),
            c.content_type.as_ref().map(|t| t.to_string()),
            c.size,
        ))
    });
    let thumbnails = media
        .iter()
        .flat_map(|m| &m.thumbnails)
        .map(|t| (t.image.uri.as_str(), None, None));
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (url, mime, length) in from_links.chain(contents).chain(thumbnails) {
        let Some(url) = web_url(url, base) else {
            continue;
        };
        if !seen.insert(url.clone()) {
            continue;
        }
        out.push(Enclosure {
            url,
            mime_type: mime.as_deref().and_then(mime_type),
            length,
        });
        if out.len() == MAX_ENCLOSURES {
            break;
        }
    }
    out
}

/// `url` made absolute against `base`: http(s) and not too long, else `None`.
fn web_url(url: &str, base: Option<&Url>) -> Option<String> {
    if url.len() > MAX_ENCLOSURE_URL_BYTES {
        return None;
    }
    let u = resolve(url, base)?;
    let s = String::from(u);
    (matches!(s.split(':').next(), Some("http" | "https")) && s.len() <= MAX_ENCLOSURE_URL_BYTES)
        .then_some(s)
}

/// A MIME type's `type/subtype` (parameters dropped), lower case, when it
/// is one: RFC 6838 restricted names, at most 127 characters each side.
fn mime_type(raw: &str) -> Option<String> {
    let essence = raw.split(';').next()?.trim().to_ascii_lowercase();
    let (ty, sub) = essence.split_once('/')?;
    let name = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    (name(ty) && name(sub)).then_some(essence)
}

/// The item's categories: each one's label when it has one, else its term;
/// as plain text (tags stripped, entities decoded, no control characters,
/// whitespace collapsed), at most `MAX_CATEGORY_CHARS` characters; each
/// once, at most `MAX_CATEGORIES`.
pub(super) fn categories(cats: &[Category]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for c in cats {
        let raw = c
            .label
            .as_deref()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or(&c.term);
        let Some(text) = category_text(raw) else {
            continue;
        };
        if seen.insert(text.clone()) {
            out.push(text);
            if out.len() == MAX_CATEGORIES {
                break;
            }
        }
    }
    out
}

fn category_text(raw: &str) -> Option<String> {
    // Far more than a category: cut before any work on it.
    let raw: String = raw.chars().take(MAX_CATEGORY_CHARS * 8).collect();
    let text = if raw.contains('<') || raw.contains('&') {
        crate::html::strip_tags(&raw)
    } else {
        raw
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined: String = words
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CATEGORY_CHARS)
        .collect();
    let trimmed = joined.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_are_kept_only_when_they_look_like_one() {
        assert_eq!(mime_type("Audio/MPEG").as_deref(), Some("audio/mpeg"));
        assert_eq!(
            mime_type("image/jpeg; charset=x").as_deref(),
            Some("image/jpeg")
        );
        assert_eq!(
            mime_type("application/vnd.apple.mpegurl").as_deref(),
            Some("application/vnd.apple.mpegurl")
        );
        for bad in [
            "",
            "jpeg",
            "/x",
            "a/",
            "a/b c",
            "\"><script>/x",
            "图片/jpeg",
        ] {
            assert_eq!(mime_type(bad), None, "{bad}");
        }
    }

    #[test]
    fn categories_are_plain_bounded_and_once_each() {
        let cat = |term: &str, label: Option<&str>| {
            let mut c = Category::new(term);
            c.label = label.map(str::to_string);
            c
        };
        let long = "长".repeat(500);
        let mut cats = vec![
            cat("  国内\n 时政 ", None),
            cat("domestic", Some("国内 时政")),
            cat("<b>财经</b>&amp;金融", None),
            cat("   ", None),
            cat("a\u{1}b", None),
            cat(&long, None),
        ];
        cats.extend((0..100).map(|i| cat(&format!("标签{i}"), None)));
        let got = categories(&cats);
        assert_eq!(got.len(), MAX_CATEGORIES);
        assert_eq!(got[0], "国内 时政");
        assert_eq!(got[1], "财经 &金融", "tags are breaks: {got:?}");
        assert_eq!(got[2], "ab");
        assert_eq!(got[3].chars().count(), MAX_CATEGORY_CHARS);
        assert_eq!(got[4], "标签0");
    }

    #[test]
    fn enclosure_urls_are_absolute_web_urls_once_each() {
        let base = Url::parse("https://a.example/feed/").unwrap();
        let link = |href: &str, rel: Option<&str>, mime: Option<&str>| Link {
            href: href.to_string(),
            target: None,
            rel: rel.map(str::to_string),
            media_type: mime.map(str::to_string),
            href_lang: None,
            title: None,
            length: Some(7),
        };
        let links = vec![
            link(
                "https://a.example/page.html",
                Some("alternate"),
                Some("text/html"),
            ),
            link("audio/1.mp3", Some("enclosure"), Some("audio/mpeg")),
            link("javascript:alert(1)", Some("enclosure"), None),
            link("data:image/png;base64,AAAA", Some("enclosure"), None),
            link(
                "https://a.example/feed/audio/1.mp3",
                Some("enclosure"),
                None,
            ),
            link("https://cdn.example/1.jpg", None, Some("image/jpeg")),
            link("https://a.example/other", None, None),
            link(
                &format!("https://a.example/{}", "x".repeat(3000)),
                Some("enclosure"),
                None,
            ),
        ];
        let got = enclosures(&links, &[], Some(&base));
        assert_eq!(
            got,
            vec![
                Enclosure {
                    url: "https://a.example/feed/audio/1.mp3".into(),
                    mime_type: Some("audio/mpeg".into()),
                    length: Some(7),
                },
                Enclosure {
                    url: "https://cdn.example/1.jpg".into(),
                    mime_type: Some("image/jpeg".into()),
                    length: Some(7),
                },
            ]
        );
        let many: Vec<Link> = (0..100)
            .map(|i| {
                link(
                    &format!("https://a.example/{i}.jpg"),
                    Some("enclosure"),
                    None,
                )
            })
            .collect();
        assert_eq!(enclosures(&many, &[], None).len(), MAX_ENCLOSURES);
    }
    fn file(url: &str, mime: Option<&str>, length: Option<u64>) -> Enclosure {
        Enclosure {
            url: url.into(),
            mime_type: mime.map(str::to_string),
            length,
        }
    }

    #[test]
    fn rss_enclosures_media_rss_and_categories_are_read() {
        let rss = r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
            <item><guid>1</guid><title>播客</title><link>https://a.example/1.html</link>
              <enclosure url="/audio/1.mp3" length="12345" type="audio/mpeg"/>
              <category>国内</category><category domain="x"> 时政 </category><category>国内</category>
            </item>
            <item><guid>2</guid><title>图片</title><link>https://a.example/2.html</link>
              <media:content url="https://img.example/2.jpg" type="image/jpeg" fileSize="999">
                <media:thumbnail url="thumbs/2.jpg"/>
              </media:content>
              <media:content url="javascript:alert(1)" type="image/png"/>
            </item>
        </channel></rss>"#;
        let f = crate::parse::parse(rss, Some("https://a.example/feed.xml")).unwrap();
        assert_eq!(
            f.items[0].enclosures,
            [file(
                "https://a.example/audio/1.mp3",
                Some("audio/mpeg"),
                Some(12345)
            )]
        );
        assert_eq!(f.items[0].categories, ["国内", "时政"]);
        assert_eq!(f.items[0].link.as_deref(), Some("https://a.example/1.html"));
        assert_eq!(
            f.items[1].enclosures,
            [
                file("https://img.example/2.jpg", Some("image/jpeg"), Some(999)),
                file("https://a.example/thumbs/2.jpg", None, None),
            ]
        );
    }

    #[test]
    fn atom_enclosure_links_and_json_feed_attachments_are_read_and_never_the_link() {
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:t</id><updated>2026-10-09T00:00:00Z</updated>
            <entry xml:base="https://b.example/news/"><id>urn:1</id><title>音频</title><updated>2026-10-09T00:00:00Z</updated>
              <link rel="enclosure" href="a/1.m4a" type="audio/mp4" length="77"/>
              <link rel="enclosure" href="data:audio/mp4;base64,AAAA" type="audio/mp4"/>
              <link href="1.html"/>
              <category term="edu" label="教育"/><category term="科技"/>
            </entry>
            <entry><id>urn:2</id><title>只有附件</title><updated>2026-10-09T00:00:00Z</updated>
              <link rel="enclosure" href="https://b.example/2.mp3" type="audio/mpeg"/>
            </entry>
        </feed>"#;
        let f = crate::parse::parse(atom, Some("https://b.example/feed.atom")).unwrap();
        assert_eq!(
            f.items[0].enclosures,
            [file(
                "https://b.example/news/a/1.m4a",
                Some("audio/mp4"),
                Some(77)
            )]
        );
        assert_eq!(f.items[0].categories, ["教育", "科技"]);
        assert_eq!(
            f.items[0].link.as_deref(),
            Some("https://b.example/news/1.html")
        );
        assert_eq!(
            f.items[1].link, None,
            "an enclosure is not the entry's page"
        );
        assert_eq!(f.items[1].enclosures.len(), 1);
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"j","items":[
            {"id":"1","url":"https://c.example/1","content_text":"正文","tags":["财经"," 股市 "],
             "attachments":[{"url":"https://c.example/1.mp3","mime_type":"audio/mpeg","size_in_bytes":5},
                            {"url":"file:///etc/passwd","mime_type":"text/plain"}]}]}"#;
        let f = crate::parse::parse(json, None).unwrap();
        assert_eq!(f.items[0].link.as_deref(), Some("https://c.example/1"));
        assert_eq!(
            f.items[0].enclosures,
            [file("https://c.example/1.mp3", Some("audio/mpeg"), Some(5))]
        );
        assert_eq!(f.items[0].categories, ["财经", "股市"]);
    }
}
