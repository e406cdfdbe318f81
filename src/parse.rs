//! UTF-8 text → `ParsedFeed`, with feed-rs. feed-rs types stop here.

use feed_rs::model::{Entry, FeedType, Link};

use crate::model::{FeedFormat, ParsedFeed, ParsedItem};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("looks like an HTML page, not a feed")]
    HtmlPage,
}

/// Parses a decoded document. `base` resolves relative links.
pub fn parse(text: &str, base: Option<&str>) -> Result<ParsedFeed, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base)
        // feed-rs invents an id (a UUID when there is no link) for items
        // without one; we keep "no id" and derive a stable key ourselves.
        .id_generator(|_links, _title, _uri| String::new())
        .sanitize_content(false)
        .build();
    let feed = parser.parse(text.as_bytes()).map_err(|e| {
        if looks_like_html(text) {
            ParseError::HtmlPage
        } else {
            ParseError::NotAFeed(e.to_string())
        }
    })?;
    let format = match feed.feed_type {
        FeedType::Atom => FeedFormat::Atom,
        FeedType::JSON => FeedFormat::Json,
        FeedType::RSS0 => FeedFormat::Rss0,
        FeedType::RSS1 => FeedFormat::Rss1,
        FeedType::RSS2 => FeedFormat::Rss2,
    };
    Ok(ParsedFeed {
        format,
        title: feed.title.map(|t| t.content.trim().to_string()).filter(|t| !t.is_empty()),
        language: feed.language,
        items: feed.entries.into_iter().map(item).collect(),
    })
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text.chars().take(1024).collect::<String>().to_ascii_lowercase();
    head.contains("<!doctype html") || head.contains("<html")
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The item's own page: an alternate link, else the first one.
fn main_link(links: &[Link]) -> Option<String> {
    links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| links.first())
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn item(e: Entry) -> ParsedItem {
    let link = main_link(&e.links);
    let content_html = e.content.and_then(|c| c.body).and_then(non_empty);
    let summary_html = e.summary.map(|s| s.content).and_then(non_empty);
    let mut authors: Vec<String> = e.authors.into_iter().filter_map(|p| p.name).filter_map(non_empty).collect();
    authors.dedup();
    ParsedItem {
        guid: non_empty(e.id),
        link,
        title: e.title.map(|t| t.content).and_then(non_empty),
        summary_html,
        content_html,
        published: e.published.or(e.updated),
        updated: e.updated,
        authors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_without_guid_or_link_have_no_invented_id() {
        let rss = r#"<rss version="2.0"><channel><title>t</title>
            <item><title>无链接</title><description>正文</description></item>
        </channel></rss>"#;
        let f = parse(rss, None).unwrap();
        assert_eq!(f.items[0].guid, None);
        assert_eq!(f.items[0].link, None);
        // The derived key is the same on every parse.
        assert_eq!(f.items[0].key(), parse(rss, None).unwrap().items[0].key());
    }

    #[test]
    fn html_page_is_named() {
        let e = parse("<!DOCTYPE html><html><body>hi</body></html>", None).unwrap_err();
        assert!(matches!(e, ParseError::HtmlPage));
    }

    #[test]
    fn entity_encoded_cjk_decodes() {
        let rss = r#"<rss version="2.0"><channel><title>&#20013;&#22269;</title>
            <item><guid>1</guid><title>&#20013;&#22269;&#26032;&#38395; &#8226;</title></item></channel></rss>"#;
        let f = parse(rss, None).unwrap();
        assert_eq!(f.title.as_deref(), Some("中国"));
        assert_eq!(f.items[0].title.as_deref(), Some("中国新闻 •"));
    }
}
