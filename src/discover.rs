//! Feed autodiscovery: the feeds an HTML page links to with
//! `<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">`,
//! the way browsers and feed readers find them. Used by `sources add` when
//! an admin pastes a page URL instead of a feed URL.

use scraper::{Html, Selector};
use url::Url;

/// One feed a page advertises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovered {
    pub url: Url,
    /// "rss", "atom" or "json".
    pub kind: &'static str,
    /// The link's `title`, often the feed's name ("RSS 2.0", "国内新闻").
    pub title: Option<String>,
}

/// True when `bytes` (with its Content-Type) look like an HTML page rather
/// than a feed. Servers label feeds `text/html` often enough that the bytes
/// decide when the header says HTML but the document starts like XML/JSON.
pub fn looks_like_html(content_type: Option<&str>, text: &str) -> bool {
    let start: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    if start.starts_with("<?xml") || start.starts_with('{') {
        return false;
    }
    if start.starts_with("<!doctype html") || start.starts_with("<html") {
        return true;
    }
    let declared_html = content_type
        .map(|c| c.to_ascii_lowercase().contains("html"))
        .unwrap_or(false);
    declared_html && !start.starts_with("<rss") && !start.starts_with("<feed")
}

/// The feeds `html` links to, resolved against `<base href>` or `page`, in
/// document order, without repeats.
pub fn feeds_in(html: &str, page: &Url) -> Vec<Discovered> {
    use crate::normalize::for_parser;
    // A page too deep or long for the HTML parser (see `normalize::too_deep`;
    // tags and attributes bounded first, `html::bound_tags`) is read up to
    // its `<body>`: feed links belong in the head.
    let bounded = match for_parser(html) {
        Some(b) => b,
        None => {
            let head = html
                .as_bytes()
                .windows(5)
                .position(|w| w.eq_ignore_ascii_case(b"<body"))
                .map_or("", |at| &html[..at]);
            match for_parser(head) {
                Some(b) => b,
                None => return Vec::new(),
            }
        }
    };
    let doc = Html::parse_document(&bounded);
    let base = Selector::parse("base[href]")
        .ok()
        .and_then(|s| doc.select(&s).next())
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page.join(href.trim()).ok())
        .unwrap_or_else(|| page.clone());
    let Ok(links) = Selector::parse("link[href]") else {
        return Vec::new();
    };
    let mut found: Vec<Discovered> = Vec::new();
    for link in doc.select(&links) {
        let el = link.value();
        let rel_alternate = el.attr("rel").is_some_and(|r| {
            r.split_ascii_whitespace()
                .any(|t| t.eq_ignore_ascii_case("alternate"))
        });
        if !rel_alternate {
            continue;
        }
        let Some(kind) = el.attr("type").and_then(feed_kind) else {
            continue;
        };
        let Some(href) = el.attr("href").map(str::trim).filter(|h| !h.is_empty()) else {
            continue;
        };
        let Ok(url) = base.join(href) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || found.iter().any(|d| d.url == url) {
            continue;
        }
        found.push(Discovered {
            url,
            kind,
            title: el
                .attr("title")
                .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|t| !t.is_empty()),
        });
    }
    found
}

fn feed_kind(content_type: &str) -> Option<&'static str> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/rss+xml" => Some("rss"),
        "application/atom+xml" => Some("atom"),
        "application/feed+json" | "application/json" => Some("json"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_alternates_resolves_relative_hrefs_and_skips_the_rest() {
        let page = Url::parse("https://news.example.cn/china/index.html").expect("url");
        let html = r#"<!DOCTYPE html><html><head>
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/rss+xml" title="国内 新闻" href="rss/china.xml">
            <link rel="Alternate home" type="application/atom+xml; charset=utf-8" href="/atom.xml">
            <link rel="alternate" type="application/feed+json" href="//cdn.example.cn/feed.json">
            <link rel="alternate" type="text/html" hreflang="en" href="/en/">
            <link rel="alternate" type="application/rss+xml" href="rss/china.xml">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            </head><body></body></html>"#;
        let found = feeds_in(html, &page);
        let urls: Vec<_> = found.iter().map(|d| d.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://news.example.cn/china/rss/china.xml",
                "https://news.example.cn/atom.xml",
                "https://cdn.example.cn/feed.json"
            ]
        );
        assert_eq!(found[0].title.as_deref(), Some("国内 新闻"));
        assert_eq!(found[1].kind, "atom");
    }

    #[test]
    fn base_href_wins() {
        let page = Url::parse("https://a.example/x/y").expect("url");
        let html = r#"<html><head><base href="https://b.example/feeds/">
            <link rel=alternate type=application/rss+xml href=all.rss></head></html>"#;
        assert_eq!(
            feeds_in(html, &page)[0].url.as_str(),
            "https://b.example/feeds/all.rss"
        );
    }

    #[test]
    fn html_or_feed() {
        assert!(looks_like_html(Some("text/html"), "<!doctype html><html>"));
        assert!(!looks_like_html(
            Some("text/html"),
            "<?xml version=\"1.0\"?><rss>"
        ));
        assert!(!looks_like_html(
            Some("application/rss+xml"),
            "<rss version=\"2.0\">"
        ));
        assert!(looks_like_html(None, "\u{feff}  <HTML lang=zh>"));
    }
}
