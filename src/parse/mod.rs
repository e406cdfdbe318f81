//! UTF-8 text → `ParsedFeed`, with feed-rs. feed-rs types stop here.
//!
//! This file holds the entry points (`parse`, `parse_in_zone`), the depth
//! guard and the strict reading with feed-rs; the rest, in reading order:
//! `prepass` (with `atom`, `rss` and `edits`) maps what feed-rs cannot read
//! onto what it can; `items` turns feed-rs entries into `ParsedItem`s, with
//! `urls` making their URLs absolute; `dates` reads feeds' dates; `lenient`
//! is the second reading of a document feed-rs rejected.

use chrono::FixedOffset;
use feed_rs::model::FeedType;
use url::Url;

use crate::model::{FeedFormat, ParsedFeed, ParsedItem};

mod atom;
mod dates;
mod edits;
mod extras;
mod items;
mod lenient;
mod prepass;
mod rss;
mod urls;

pub use dates::{DEFAULT_ZONE, timestamp};
use items::{item, main_link};
use lenient::{cut_at_break, looks_like_html, repair};
use prepass::prepass;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("looks like an HTML page, not a feed")]
    HtmlPage,
    #[error("XML nested deeper than {MAX_XML_DEPTH} elements")]
    TooDeep,
}

/// Real feeds nest a handful of elements (rss > channel > item > title);
/// deeper documents are refused before feed-rs sees them, so no recursion
/// anywhere below can run out of stack on 200,000 nested tags (a stack
/// overflow aborts the process; `catch_unwind` cannot catch it).
pub const MAX_XML_DEPTH: usize = 256;

/// Parses a decoded document. `base` (the feed's URL) resolves relative
/// links. Atom 0.3 and RSS 1.0 items without a link are first mapped onto
/// what feed-rs reads (`prepass`). A document that feed-rs rejects gets a
/// second, lenient reading: `repair` (bare `&`, HTML entities, a missing RSS
/// `version`, JSON Feed 1.0 quirks), then, for a document that breaks
/// part-way (truncated, mismatched tags), `cut_at_break`: every complete
/// entry before the break is kept. What was repaired is in
/// `ParsedFeed::repairs`.
pub fn parse(text: &str, base: Option<&str>) -> Result<ParsedFeed, ParseError> {
    parse_in_zone(text, base, DEFAULT_ZONE)
}

/// `parse`, reading zone-less dates in `zone`.
pub fn parse_in_zone(
    text: &str,
    base: Option<&str>,
    zone: FixedOffset,
) -> Result<ParsedFeed, ParseError> {
    let prepared = prepass(text, MAX_XML_DEPTH);
    let scan = match prepared.scan {
        Some(scan) if !text.trim_start().starts_with('{') => scan,
        _ => scan_xml(text, MAX_XML_DEPTH),
    };
    if scan.too_deep {
        return Err(ParseError::TooDeep);
    }
    let text: &str = prepared.text.as_deref().unwrap_or(text);
    let mut feed = match parse_strict(text, base, zone) {
        Ok(feed) => feed,
        Err(first) => {
            if looks_like_html(text) {
                return Err(ParseError::HtmlPage);
            }
            let repaired = repair(text);
            let (fixed, mut repairs) = match &repaired {
                Some((fixed, repairs)) => (fixed.as_str(), repairs.clone()),
                None => (text, Vec::new()),
            };
            let second = repaired.as_ref().map(|_| parse_strict(fixed, base, zone));
            let mut feed = match second {
                Some(Ok(feed)) => feed,
                _ => {
                    let Some((cut, note)) = cut_at_break(fixed) else {
                        return Err(first);
                    };
                    let Ok(mut feed) = parse_strict(&cut, base, zone) else {
                        return Err(first);
                    };
                    let note = format!(
                        "{note}; kept the {} complete entries before it",
                        feed.items.len() + feed.skipped
                    );
                    repairs.push(note.clone());
                    feed.broken = Some(note);
                    feed
                }
            };
            feed.repairs = repairs;
            feed
        }
    };
    if prepared.atom03 && feed.format == FeedFormat::Atom {
        feed.format = FeedFormat::Atom03;
    }
    if feed.format != FeedFormat::Json {
        feed.items_in_document = scan.items.max(feed.items.len() + feed.skipped);
    }
    Ok(feed)
}

fn parse_strict(
    text: &str,
    base: Option<&str>,
    zone: FixedOffset,
) -> Result<ParsedFeed, ParseError> {
    // feed-rs (through quick-xml) has panicked on hostile input; a panic
    // must fail this one document, not the whole poll.
    std::panic::catch_unwind(|| parse_with_feed_rs(text, base, zone)).unwrap_or_else(|_| {
        Err(ParseError::NotAFeed(
            "the XML parser crashed on this document".into(),
        ))
    })
}

/// Distinct dates the reader could not read, at most this many.
const MAX_UNREADABLE_DATES: usize = 10;

fn parse_with_feed_rs(
    text: &str,
    base: Option<&str>,
    zone: FixedOffset,
) -> Result<ParsedFeed, ParseError> {
    let unreadable = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = unreadable.clone();
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base)
        // feed-rs invents an id (a UUID when there is no link) for items
        // without one; we keep "no id" and derive a stable key ourselves.
        .id_generator(|_links, _title, _uri| String::new())
        .sanitize_content(false)
        .timestamp_parser(move |t| {
            let d = timestamp(t, zone);
            if d.is_none() && !t.trim().is_empty() {
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                let t = t.trim().chars().take(80).collect::<String>();
                if seen.len() < MAX_UNREADABLE_DATES && !seen.contains(&t) {
                    seen.push(t);
                }
            }
            d
        })
        .build();
    let feed = parser
        .parse(text.as_bytes())
        .map_err(|e| ParseError::NotAFeed(e.to_string()))?;
    let format = match feed.feed_type {
        FeedType::Atom => FeedFormat::Atom,
        FeedType::JSON => FeedFormat::Json,
        FeedType::RSS0 => FeedFormat::Rss0,
        FeedType::RSS1 => FeedFormat::Rss1,
        FeedType::RSS2 => FeedFormat::Rss2,
    };
    // What entries with nothing closer resolve against: the document's URL
    // (where we read it), else the feed's own page.
    let feed_base = base
        .and_then(|b| Url::parse(b).ok())
        .or_else(|| main_link(&feed.links).and_then(|l| Url::parse(&l).ok()));
    let entries = feed.entries.len();
    let items: Vec<ParsedItem> = feed
        .entries
        .into_iter()
        .filter_map(|e| item(e, feed_base.as_ref()))
        .collect();
    let unreadable_dates =
        std::mem::take(&mut *unreadable.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(ParsedFeed {
        format,
        title: feed
            .title
            .map(|t| t.content.trim().to_string())
            .filter(|t| !t.is_empty()),
        language: feed.language,
        skipped: entries - items.len(),
        items_in_document: entries,
        items,
        repairs: Vec::new(),
        broken: None,
        unreadable_dates,
    })
}

/// What one streaming pass over the document found.
#[derive(Default)]
struct Scan {
    /// Nesting deeper than the limit.
    too_deep: bool,
    /// `<item>` and `<entry>` elements (up to the first XML error).
    items: usize,
    /// Elements open where the pass ended.
    depth: usize,
    /// The pass ended at an XML error (not at the end of the text).
    error: bool,
}

/// Does the element nesting of `text` exceed `limit`, and how many items
/// does it hold? A streaming pass with quick-xml (no tree, no recursion;
/// CDATA and comments are skipped properly). Malformed XML ends the scan:
/// that is for the parser to report.
fn scan_xml(text: &str, limit: usize) -> Scan {
    if text.trim_start().starts_with('{') {
        // JSON: serde_json has its own recursion limit (128).
        return Scan::default();
    }
    scan_xml_at(text, 0, limit)
}

/// An `<item>` or `<entry>` (by local name).
fn is_item(name: &str) -> bool {
    matches!(name, "item" | "entry")
}

/// `scan_xml` of XML that sits `depth` elements deep in a document (the
/// content of an element `rss_fixups` read whole): its nesting and items
/// counted as in the document.
fn scan_xml_at(text: &str, depth: usize, limit: usize) -> Scan {
    use quick_xml::events::Event;
    let mut scan = Scan::default();
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut depth = depth;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth > limit {
                    scan.too_deep = true;
                    return scan;
                }
                if depth <= 4 && is_item(e.local_name().into_inner()) {
                    scan.items += 1;
                }
            }
            Ok(Event::Empty(e)) => {
                if depth < 4 && is_item(e.local_name().into_inner()) {
                    scan.items += 1;
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => {
                scan.depth = depth;
                return scan;
            }
            Err(_) => {
                scan.depth = depth;
                scan.error = true;
                return scan;
            }
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RSS pass's scan (`rss_fixups`) is `scan_xml`'s, or none: on
    /// elements read whole with markup inside, nesting past the limit
    /// inside and outside them, stray end tags, items where only the
    /// scan looks, a document cut short.
    #[test]
    fn the_rss_pass_scans_as_scan_xml_does() {
        let deep = |n: usize| format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n));
        let rss = |items: &str| {
            format!(
                r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>"#
            )
        };
        let docs = [
            rss("<item><title>a</title><description><![CDATA[<p>正文</p>]]></description></item><item/>"),
            rss("<item><title><b>粗</b>体</title><description>a<br/>b</description></item>"),
            rss(&format!("<item><description>{}</description></item>", deep(20))),
            rss(&format!("<item><description>{}</description></item>", deep(300))),
            rss(&format!("<item><title>t</title></item>{}", deep(300))),
            rss("<item><description>a</x></y>b</description></item><item><title>t</title></item>"),
            rss("<item><description>a</x></y>b</description><z><item/></z></item>"),
            rss("<item><description>x<b>y</description><item/></item>"),
            rss("<item><description><item>1</item><entry/></description></item>"),
            r#"<rdf:RDF xmlns="http://purl.org/rss/1.0/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><channel/><item><title>t</title><description><item>x</item></description></item></rdf:RDF>"#.to_string(),
            r#"<rss version="0.91"><channel><title>t</title></channel><item><title>a</title></item><item><title>b</title></item></rss>"#.to_string(),
            rss("<item><title>t</title><description>never closed</item>"),
            rss("<item><title>t</title></item><item><title>u</title>"),
        ];
        let mut compared = 0;
        for doc in &docs {
            let expected = scan_xml(doc, MAX_XML_DEPTH);
            if let (_, Some(scan)) = rss::rss_fixups(doc, MAX_XML_DEPTH) {
                assert_eq!(
                    (scan.too_deep, scan.items),
                    (expected.too_deep, expected.items),
                    "{doc}"
                );
                compared += 1;
            }
        }
        // Not compared: the two with stray end tags read whole (no scan
        // then) and the description never closed (the pass stops there).
        assert_eq!(compared, docs.len() - 3, "{compared} of {}", docs.len());
        // And through the parse: too deep inside an item's description.
        assert!(matches!(parse(&docs[3], None), Err(ParseError::TooDeep)));
    }

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
    fn bare_ampersands_html_entities_and_missing_version_are_repaired() {
        let rss = "<rss><channel><title>A & B&nbsp;C</title><item><guid>1</guid>\
                   <title>x &mdash; y</title><description><![CDATA[a &amp; b]]></description></item></channel></rss>";
        let f = parse(rss, None).unwrap();
        assert_eq!(f.title.as_deref(), Some("A & B\u{a0}C"));
        assert_eq!(f.items[0].title.as_deref(), Some("x — y"));
        assert_eq!(f.items[0].summary_html.as_deref(), Some("a &amp; b"));
        assert_eq!(f.repairs.len(), 3, "{:?}", f.repairs);
    }

    #[test]
    fn json_feed_1_0_with_http_version_parses() {
        let json = r#"{"version":"http://jsonfeed.org/version/1","title":"j","items":[{"id":"1","content_text":"hi","tags":"a,b"}]}"#;
        let f = parse(json, None).unwrap();
        assert_eq!(f.format, FeedFormat::Json);
        assert_eq!(f.items.len(), 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let n = 200_000;
        let doc = format!(
            "<rss version=\"2.0\"><channel>{}{}</channel></rss>",
            "<x>".repeat(n),
            "</x>".repeat(n)
        );
        assert!(matches!(parse(&doc, None), Err(ParseError::TooDeep)));
        // Deep HTML inside CDATA is text, not nesting.
        let cdata = format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid><description><![CDATA[{}]]></description></item></channel></rss>",
            "<div>".repeat(1000)
        );
        assert_eq!(parse(&cdata, None).unwrap().items.len(), 1);
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

    #[test]
    fn dates_in_the_forms_outlets_write() {
        let cst = DEFAULT_ZONE;
        let at = |s: &str| timestamp(s, cst).map(|d| d.to_rfc3339());
        let ten_utc = Some("2026-10-09T02:00:00+00:00".to_string());
        for s in [
            "2026-10-09T10:00:00+08:00",
            "2026-10-09 10:00:00+08:00",
            "2026-10-09 10:00:00 +0800",
            "Fri, 09 Oct 2026 10:00:00 +0800",
            "Fri, 9 Oct 2026 02:00:00 GMT",
            "fRI, 09 Oct 2026 02:00:00 GMT",
            "ven, 09 Oct 2026 10:00:00 +0800",
            "09 Oct 2026 02:00:00 UT",
            "2026-10-09 10:00:00",
            "2026-10-9 10:00:00",
            "2026-10-09T10:00:00",
            "2026-10-09 10:00",
            "2026/10/09 10:00:00",
            "2026年10月09日 10:00",
            "2026-10-09 02:00:00 GMT",
            "2026-10-09T02:00:00Z",
            "2026-10-09T10:00:00.250+08:00",
            "2026-10-09 10:00:00.250",
        ] {
            let got = at(s);
            let want = if s.contains(".250") {
                Some("2026-10-09T02:00:00.250+00:00".to_string())
            } else {
                ten_utc.clone()
            };
            assert_eq!(got, want, "{s}");
        }
        assert_eq!(at("2026-10-09"), Some("2026-10-09T00:00:00+00:00".into()));
        assert_eq!(at("Fri, 09 Oct 2026 02:00:00 UTC"), ten_utc);
        assert_eq!(at("Fri, 09 Oct 2026 11:00:00+0900"), ten_utc);
        for s in [
            "",
            "yesterday-ish, 99:99",
            "2026-13-45 10:00:00",
            "soon",
            "Fri, 32 Oct 2026",
        ] {
            assert_eq!(at(s), None, "{s}");
        }
        // Another zone for a source that says so.
        let tokyo = FixedOffset::east_opt(9 * 3600).expect("zone");
        assert_eq!(
            timestamp("2026-10-09 11:00:00", tokyo).map(|d| d.to_rfc3339()),
            ten_utc
        );
    }
}

#[cfg(test)]
mod wild_tests;
