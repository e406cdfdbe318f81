//! UTF-8 text → `ParsedFeed`, with feed-rs. feed-rs types stop here.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use feed_rs::model::{Entry, FeedType, Link};
use url::Url;

use crate::model::{FeedFormat, ParsedFeed, ParsedItem};

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

/// Beijing time: where a date with no zone is read, unless the source says
/// otherwise (`[[source]].timezone`). The outlets newsriver is built for
/// write `2026-10-09 10:00:00` and mean UTC+8.
pub const DEFAULT_ZONE: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(z) => z,
    None => unreachable!(),
};

/// `parse`, reading zone-less dates in `zone`.
pub fn parse_in_zone(
    text: &str,
    base: Option<&str>,
    zone: FixedOffset,
) -> Result<ParsedFeed, ParseError> {
    let scan = scan_xml(text, MAX_XML_DEPTH);
    if scan.too_deep {
        return Err(ParseError::TooDeep);
    }
    let prepared = prepass(text);
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
}

/// Does the element nesting of `text` exceed `limit`, and how many items
/// does it hold? A streaming pass with quick-xml (no tree, no recursion;
/// CDATA and comments are skipped properly). Malformed XML ends the scan:
/// that is for the parser to report.
fn scan_xml(text: &str, limit: usize) -> Scan {
    use quick_xml::events::Event;
    let mut scan = Scan::default();
    if text.trim_start().starts_with('{') {
        // JSON: serde_json has its own recursion limit (128).
        return scan;
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut depth = 0usize;
    let is_item = |name: &str| matches!(name, "item" | "entry");
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
            Ok(Event::Eof) | Err(_) => return scan,
            Ok(_) => {}
        }
    }
}

/// A document that breaks part-way (it stops mid-tag, or an end tag does
/// not match): everything up to the end of the last complete `<item>` or
/// `<entry>`, with the elements still open there closed, and a note of where
/// and how it broke. `None` when the XML does not break or no entry was
/// complete before the break.
fn cut_at_break(text: &str) -> Option<(String, String)> {
    use quick_xml::events::Event;
    if text.trim_start().starts_with('{') {
        return None;
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<String> = Vec::new();
    let mut last_complete: Option<(usize, Vec<String>)> = None;
    let (at, why) = loop {
        let before = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                open.push(e.name().into_inner().to_string());
            }
            Ok(Event::End(e)) => {
                open.pop();
                if matches!(e.local_name().into_inner(), "item" | "entry") {
                    last_complete = Some((reader.buffer_position() as usize, open.clone()));
                }
            }
            Ok(Event::Eof) => {
                let inside = open.last()?;
                break (text.len(), format!("it ends inside <{inside}>"));
            }
            Err(e) => {
                let at = (reader.error_position() as usize)
                    .max(before)
                    .min(text.len());
                break (at, e.to_string());
            }
            Ok(_) => {}
        }
    };
    let (cut, still_open) = last_complete?;
    let mut fixed = text.get(..cut)?.to_string();
    for name in still_open.iter().rev() {
        fixed.push_str(&format!("</{name}>"));
    }
    let upto = text.get(..at).unwrap_or(text);
    let line = upto.matches('\n').count() + 1;
    let column = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((
        fixed,
        format!("the document breaks at line {line}, column {column} ({why})"),
    ))
}

/// A lenient second reading of a document feed-rs rejected, or `None` when
/// there is nothing to repair.
fn repair(text: &str) -> Option<(String, Vec<String>)> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return repair_json(trimmed);
    }
    let mut repairs = Vec::new();
    let mut fixed = escape_stray_ampersands(text, &mut repairs);
    // feed-rs knows RSS 0.91, 0.92 and 2.0; 0.93, 0.94 and a missing
    // version are read as 2.0, as every reader does.
    if let Some(pos) = fixed.find("<rss") {
        let tag_end = fixed[pos..].find('>').map(|e| pos + e)?;
        let tag = &fixed[pos..tag_end];
        match tag.find("version") {
            None => {
                fixed.insert_str(pos + 4, " version=\"2.0\"");
                repairs.push("added the missing version=\"2.0\" to <rss>".to_string());
            }
            Some(v) => {
                let value_start = tag[v..].find(['"', '\'']).map(|q| pos + v + q + 1);
                let value_end =
                    value_start.and_then(|s| fixed[s..tag_end].find(['"', '\'']).map(|e| s + e));
                if let (Some(s), Some(e)) = (value_start, value_end) {
                    let version = fixed[s..e].trim().to_string();
                    if !matches!(version.as_str(), "0.91" | "0.92" | "2.0") {
                        fixed.replace_range(s..e, "2.0");
                        repairs.push(format!("RSS version {version:?} read as 2.0"));
                    }
                }
            }
        }
    }
    (!repairs.is_empty()).then_some((fixed, repairs))
}

/// XML knows five named entities; feeds use HTML's (`&nbsp;`, `&mdash;`) and
/// bare `&`. Outside CDATA, known HTML entities become numeric references
/// and any other `&` becomes `&amp;`.
fn escape_stray_ampersands(text: &str, repairs: &mut Vec<String>) -> String {
    const XML_ENTITIES: &[&str] = &["amp", "lt", "gt", "quot", "apos"];
    let mut out = String::with_capacity(text.len() + 64);
    let (mut bare, mut named) = (0usize, 0usize);
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with("<![CDATA[") {
            let end = rest.find("]]>").map(|e| e + 3).unwrap_or(rest.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        if rest.starts_with('<') {
            out.push('<');
            rest = &rest[1..];
            continue;
        }
        // An entity or character reference: & name ;
        let body_len = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .unwrap_or(rest.len() - 1);
        let name = &rest[1..1 + body_len];
        let terminated = rest[1 + body_len..].starts_with(';') && !name.is_empty();
        if terminated && name.starts_with("#X") {
            // `&#X41;`: XML wants a lower-case x.
            out.push_str("&#x");
            out.push_str(&name[2..]);
            out.push(';');
            named += 1;
            rest = &rest[body_len + 2..];
            continue;
        }
        if terminated && (name.starts_with('#') || XML_ENTITIES.contains(&name)) {
            out.push_str(&rest[..body_len + 2]);
            rest = &rest[body_len + 2..];
            continue;
        }
        if terminated {
            let entity = &rest[..body_len + 2];
            let decoded = html_escape::decode_html_entities(entity);
            if decoded != entity {
                for c in decoded.chars() {
                    out.push_str(&format!("&#{};", c as u32));
                }
                named += 1;
                rest = &rest[body_len + 2..];
                continue;
            }
        }
        out.push_str("&amp;");
        bare += 1;
        rest = &rest[1..];
    }
    out.push_str(rest);
    if named > 0 {
        repairs.push(format!("{named} HTML entities made numeric"));
    }
    if bare > 0 {
        repairs.push(format!("{bare} bare '&' escaped"));
    }
    out
}

/// JSON Feed 1.0 as written in the wild: `http://` version URLs or none,
/// `tags` as one comma-separated string.
fn repair_json(text: &str) -> Option<(String, Vec<String>)> {
    let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
    let obj = v.as_object_mut()?;
    let mut repairs = Vec::new();
    let version = obj.get("version").and_then(|v| v.as_str()).unwrap_or("");
    if !version.starts_with("https://jsonfeed.org/version/1") {
        repairs.push(format!("JSON Feed version {version:?} read as 1.1"));
        obj.insert("version".into(), "https://jsonfeed.org/version/1.1".into());
    }
    if let Some(items) = obj.get_mut("items").and_then(|i| i.as_array_mut()) {
        for item in items.iter_mut().filter_map(|i| i.as_object_mut()) {
            if let Some(tags) = item
                .get("tags")
                .and_then(|t| t.as_str())
                .map(str::to_string)
            {
                let list: Vec<serde_json::Value> =
                    tags.split(',').map(|t| t.trim().into()).collect();
                item.insert("tags".into(), list.into());
                repairs.push("item tags given as a string".into());
            }
        }
    }
    repairs.dedup();
    (!repairs.is_empty()).then(|| (v.to_string(), repairs))
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
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

/// The stand-in `<link>` `prepass` gives RSS 1.0 items that have none
/// (feed-rs drops link-less RSS 1.0 items, yet title-only and
/// description-only items are real); removed again in `item`.
const NO_LINK: &str = "urn:newsriver:no-link";

/// One entry as we keep it, or `None` when it has neither a title, nor
/// text, nor a link (nothing to show; counted in `ParsedFeed::skipped`).
///
/// URLs come out absolute: the link against the feed (feed-rs has already
/// applied `xml:base` to Atom links), and every `href`, `src`, `srcset`,
/// `poster`, `cite` in the HTML against the content's `xml:base` (feed-rs
/// reports it as `Entry::base` and applies it to nothing), else the entry's
/// link, else the feed's URL. A relative URL that cannot be resolved is
/// dropped: feed readers get our feeds from another host.
fn item(e: Entry, feed_base: Option<&Url>) -> Option<ParsedItem> {
    let links: Vec<Link> = e
        .links
        .into_iter()
        .filter(|l| l.href.trim() != NO_LINK)
        .collect();
    let guid = non_empty(e.id);
    // Atom entries often have no <link> but an http(s) URL as their id.
    let link = main_link(&links)
        .and_then(|l| absolute(&l, feed_base))
        .or_else(|| {
            guid.as_deref()
                .and_then(|g| Url::parse(g).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(String::from)
        });
    let link_url = link.as_deref().and_then(|l| Url::parse(l).ok());
    let outer = link_url.as_ref().or(feed_base);
    let content_base = match e.base.as_deref() {
        Some(b) => resolve(b, feed_base).or_else(|| outer.cloned()),
        None => outer.cloned(),
    };
    let content_html = e
        .content
        .and_then(|c| {
            let mime = c.content_type.to_string();
            let body = c.body?;
            // Atom 1.0: a type that is neither text nor XML means base64.
            if !(mime.starts_with("text/") || mime.contains("xml") || mime.contains("html")) {
                return Some(from_base64(&body).unwrap_or(body));
            }
            Some(body)
        })
        .and_then(non_empty)
        .map(|h| absolutize_html(&h, content_base.as_ref()));
    let summary_html = e
        .summary
        .map(|s| s.content)
        .and_then(non_empty)
        .map(|h| absolutize_html(&h, outer));
    let title = e.title.map(|t| t.content).and_then(non_empty);
    if title.is_none() && content_html.is_none() && summary_html.is_none() && link.is_none() {
        return None;
    }
    let mut authors: Vec<String> = e
        .authors
        .into_iter()
        .filter_map(|p| p.name)
        .filter_map(non_empty)
        .collect();
    authors.dedup();
    Some(ParsedItem {
        guid,
        link,
        title,
        summary_html,
        content_html,
        published: e.published.or(e.updated),
        updated: e.updated,
        authors,
    })
}

/// Base64 text (whitespace allowed) that decodes to UTF-8.
fn from_base64(text: &str) -> Option<String> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// `url` if absolute, else resolved against `base`, else `None`.
fn resolve(url: &str, base: Option<&Url>) -> Option<Url> {
    match Url::parse(url.trim()) {
        Ok(u) => Some(u),
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(url.trim()).ok(),
        Err(_) => None,
    }
}

/// A link as we keep it: absolute (as written, when it was), or `None`.
fn absolute(link: &str, base: Option<&Url>) -> Option<String> {
    match Url::parse(link) {
        Ok(_) => Some(link.to_string()),
        Err(_) => resolve(link, base).map(String::from),
    }
}

/// Attributes that hold URLs in the HTML feeds carry.
const URL_ATTRIBUTES: [&str; 6] = ["href", "src", "srcset", "poster", "cite", "background"];

/// `html` with every relative URL in a URL attribute made absolute against
/// `base`, and those that cannot be (no base) removed. Only the tags that
/// change are rewritten; everything else stays byte for byte (so an item's
/// raw hash does not move when nothing was relative).
fn absolutize_html(html: &str, base: Option<&Url>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with("<!--") {
            let end = rest.find("-->").map_or(rest.len(), |e| e + 3);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        let starts_tag = rest.as_bytes().get(1).is_some_and(u8::is_ascii_alphabetic);
        match tag_end(rest).filter(|_| starts_tag) {
            Some(end) => {
                out.push_str(&rewrite_tag(&rest[..end], base));
                rest = &rest[end..];
            }
            None => {
                out.push('<');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The length of the tag at the start of `s` (through its `>`), quotes
/// respected.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// One start tag with its URL attributes resolved (see `absolutize_html`).
fn rewrite_tag(tag: &str, base: Option<&Url>) -> String {
    let b = tag.as_bytes();
    let mut i = 1;
    while i < b.len() && !(b[i].is_ascii_whitespace() || b[i] == b'>' || b[i] == b'/') {
        i += 1;
    }
    let mut out = String::with_capacity(tag.len());
    out.push_str(&tag[..i]);
    let mut changed = false;
    while i < b.len() {
        // Whitespace and stray slashes between attributes.
        let gap = i;
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'>' {
            out.push_str(&tag[gap..]);
            break;
        }
        let name_start = i;
        while i < b.len() && !(b[i].is_ascii_whitespace() || matches!(b[i], b'=' | b'>' | b'/')) {
            i += 1;
        }
        let name = &tag[name_start..i];
        let mut j = i;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value: Option<&str> = None;
        if j < b.len() && b[j] == b'=' {
            j += 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                let q = b[j];
                let v_start = j + 1;
                let v_end = tag[v_start..]
                    .bytes()
                    .position(|c| c == q)
                    .map_or(b.len(), |p| v_start + p);
                value = Some(&tag[v_start..v_end]);
                i = (v_end + 1).min(b.len());
            } else {
                let v_start = j;
                while j < b.len() && !(b[j].is_ascii_whitespace() || b[j] == b'>') {
                    j += 1;
                }
                value = Some(&tag[v_start..j]);
                i = j;
            }
        }
        let whole = &tag[gap..i];
        let lower = name.to_ascii_lowercase();
        let new = match value {
            Some(v) if URL_ATTRIBUTES.contains(&lower.as_str()) => {
                resolve_attribute(&lower, v, base)
            }
            _ => Resolved::Keep,
        };
        match new {
            Resolved::Keep => out.push_str(whole),
            Resolved::Drop => changed = true,
            Resolved::New(v) => {
                changed = true;
                out.push_str(&tag[gap..name_start]);
                out.push_str(name);
                out.push_str("=\"");
                out.push_str(&html_escape::encode_double_quoted_attribute(&v));
                out.push('"');
            }
        }
    }
    if changed { out } else { tag.to_string() }
}

enum Resolved {
    Keep,
    New(String),
    Drop,
}

fn resolve_attribute(name: &str, raw: &str, base: Option<&Url>) -> Resolved {
    let value = html_escape::decode_html_entities(raw);
    let value = value.trim();
    if value.is_empty() {
        return Resolved::Keep;
    }
    if name == "srcset" {
        // `a.jpg 1x, b.jpg 2x`: each candidate's URL resolved, those that
        // cannot be left out.
        let mut any_relative = false;
        let mut candidates = Vec::new();
        for candidate in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let (url, descriptor) = candidate
                .split_once(char::is_whitespace)
                .unwrap_or((candidate, ""));
            any_relative |= Url::parse(url).is_err();
            if let Some(u) = resolve(url, base) {
                let descriptor = descriptor.trim();
                candidates.push(if descriptor.is_empty() {
                    u.to_string()
                } else {
                    format!("{u} {descriptor}")
                });
            }
        }
        return match (any_relative, candidates.is_empty()) {
            (false, _) => Resolved::Keep,
            (true, true) => Resolved::Drop,
            (true, false) => Resolved::New(candidates.join(", ")),
        };
    }
    match Url::parse(value) {
        Ok(_) => Resolved::Keep,
        Err(_) => match resolve(value, base) {
            Some(u) => Resolved::New(u.to_string()),
            None => Resolved::Drop,
        },
    }
}

// ---- pre-pass ------------------------------------------------------------------

/// What `prepass` made of a document.
struct Prepared {
    /// The rewritten document, when anything was rewritten.
    text: Option<String>,
    /// It was Atom 0.3.
    atom03: bool,
}

const ATOM03_NS: &str = "http://purl.org/atom/ns#";
const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";
const USERLAND_NS: &str = " xmlns=\"http://backend.userland.com/rss2\"";
const ATOM10_NS: &str = "http://www.w3.org/2005/Atom";

/// Maps what feed-rs cannot read onto what it can, by rewriting the few
/// tags concerned and leaving every other byte alone:
///
/// - **Atom 0.3** becomes Atom 1.0. Why a pre-pass rather than our own
///   reader or a patched feed-rs: 0.3 is 1.0's draft — the same elements
///   bar a handful of renames (`issued`/`created` → `published`, `modified`
///   → `updated`, `tagline` → `subtitle`, `copyright` → `rights`, an
///   author's `url` → `uri`) and the `mode` of text constructs — so mapping
///   those keeps one reader (feed-rs) for both, with everything it does for
///   Atom (xml:base on links, persons, categories, media) and our lenient
///   second reading, for a few dozen lines; a reader of our own would
///   duplicate all of it, and a feed-rs patch would wait on a release.
///   `mode="escaped"` is 1.0's `type="html"` (or `text`); `mode="base64"` is
///   decoded; `mode="xml"` (the default) keeps its markup, escaped, as HTML.
/// - **RSS 1.0 items without a `<link>`** get a stand-in (`NO_LINK`):
///   feed-rs drops them, `item` removes the stand-in again.
/// - **RSS 1.1** is read as RSS 1.0 (`rss11_to_10`).
/// - **RSS 0.90** (`my.netscape.com/rdf/simple/0.9/`) is read as RSS 1.0,
///   and RSS 2.0 in UserLand's namespace (as the default) as RSS 2.0.
/// - **RSS 0.91 items after `</channel>`** (children of `<rss>`) are moved
///   into the channel, where feed-rs looks for them.
/// - **Markup written as elements in an item's `title` or `description`**
///   (`<title><b>x</b></title>`, which feed-rs reads as empty) is escaped:
///   the same HTML, as text.
/// - **An RSS item's `dc:title`, `dc:description`, `itunes:summary`,
///   `body`, `xhtml:body`, `fullitem`** stand in for a missing title,
///   description or `content:encoded` (`ITEM_STAND_INS`), as in feedparser.
/// - **Atom 1.0 text constructs feed-rs refuses** (`atom10_fixups`).
fn prepass(text: &str) -> Prepared {
    if text.contains(ATOM03_NS) {
        let text = atom03_to_10(text);
        return Prepared {
            text: Some(atom10_fixups(&text).unwrap_or(text)),
            atom03: true,
        };
    }
    if text.contains(ATOM10_NS) {
        return Prepared {
            text: atom10_fixups(text),
            atom03: false,
        };
    }
    let rss11 = text.contains(RSS11_NS).then(|| rss11_to_10(text));
    let text = rss11.as_deref().unwrap_or(text);
    // RSS 0.90 is RSS 1.0's namespace under another name; RSS 2.0 under
    // UserLand's namespace as the default is RSS 2.0.
    let renamed = (text.contains(RSS090_NS) || text.contains(USERLAND_NS)).then(|| {
        text.replace(RSS090_NS, "http://purl.org/rss/1.0/")
            .replace(USERLAND_NS, "")
    });
    let text = renamed.as_deref().unwrap_or(text);
    if text.contains("<rss") || text.contains("purl.org/rss/1.0") {
        return Prepared {
            text: rss_fixups(text).or(renamed).or(rss11),
            atom03: false,
        };
    }
    Prepared {
        text: renamed.or(rss11),
        atom03: false,
    }
}

/// Does this element content hold elements (not only text, CDATA sections
/// and comments)?
fn has_elements(inner: &str) -> bool {
    let mut rest = inner;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let skip = if rest.starts_with("<![CDATA[") {
            rest.find("]]>").map(|e| e + 3)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|e| e + 3)
        } else {
            return true;
        };
        rest = &rest[skip.unwrap_or(rest.len())..];
    }
    false
}

/// Bytes `start..end` of a document, and what replaces them.
type Edit = (usize, usize, String);

/// Replaces byte ranges of `text` (sorted, not overlapping).
fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    for (start, end, with) in edits {
        if *start < at || text.get(at..*start).is_none() || text.get(*start..*end).is_none() {
            continue;
        }
        out.push_str(&text[at..*start]);
        out.push_str(with);
        at = *end;
    }
    out.push_str(&text[at..]);
    out
}

/// See `prepass`. Broken XML ends the rewriting; the rest is left as it is
/// for the lenient reading.
fn atom03_to_10(text: &str) -> String {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut edits: Vec<Edit> = Vec::new();
    // Per open entry: `issued` seen, and where `created` is.
    let mut entry: Option<(bool, Vec<Edit>)> = None;
    let mut parents: Vec<String> = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let Ok((ns, event)) = reader.read_resolved_event() else {
            break;
        };
        let in_03 = matches!(ns, ResolveResult::Bound(n) if n.into_inner() == ATOM03_NS);
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) | Event::Empty(e) if in_03 => {
                let empty = text.get(..after).is_some_and(|t| t.ends_with("/>"));
                let qname = e.name().into_inner().to_string();
                let local = e.local_name().into_inner().to_string();
                let prefix = qname.strip_suffix(local.as_str()).unwrap_or("").to_string();
                let parent = parents.last().map(String::as_str).unwrap_or("");
                let renamed = rename_03(&local, parent);
                if local == "entry" && !empty {
                    entry = Some((false, Vec::new()));
                }
                if local == "issued"
                    && let Some((issued, _)) = entry.as_mut()
                {
                    *issued = true;
                }
                let text_construct = matches!(
                    local.as_str(),
                    "title" | "tagline" | "copyright" | "summary" | "content" | "info"
                );
                if text_construct && !empty {
                    let attrs: Vec<(String, String)> = e
                        .attributes()
                        .flatten()
                        .map(|a| (a.key.into_inner().to_string(), a.value.to_string()))
                        .collect();
                    let Ok(span) = reader.read_to_end(e.name()) else {
                        break;
                    };
                    let end = reader.buffer_position() as usize;
                    let inner = text
                        .get(span.start as usize..span.end as usize)
                        .unwrap_or("");
                    let name = format!("{prefix}{}", renamed.unwrap_or(&local));
                    edits.push((before, end, text_construct_10(&name, &attrs, inner)));
                    continue;
                }
                if let Some(new) = renamed {
                    let tag = text.get(before..after).unwrap_or("");
                    let rest = tag.get(1 + qname.len()..).unwrap_or(">");
                    let edit = (before, after, format!("<{prefix}{new}{rest}"));
                    if local == "created" {
                        if let Some((_, created)) = entry.as_mut() {
                            created.push(edit);
                        }
                    } else {
                        edits.push(edit);
                    }
                }
                if !empty {
                    parents.push(local);
                }
            }
            Event::End(e) if in_03 => {
                let qname = e.name().into_inner().to_string();
                let local = e.local_name().into_inner().to_string();
                let prefix = qname.strip_suffix(local.as_str()).unwrap_or("").to_string();
                parents.pop();
                let parent = parents.last().map(String::as_str).unwrap_or("");
                if let Some(new) = rename_03(&local, parent) {
                    let edit = (before, after, format!("</{prefix}{new}>"));
                    if local == "created" {
                        if let Some((_, created)) = entry.as_mut() {
                            created.push(edit);
                        }
                    } else {
                        edits.push(edit);
                    }
                }
                if local == "entry"
                    && let Some((issued, created)) = entry.take()
                    && !issued
                {
                    // No `issued`: `created` is the entry's first date.
                    edits.extend(created);
                }
            }
            Event::Start(e) => parents.push(e.local_name().into_inner().to_string()),
            Event::End(_) => {
                parents.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    edits.sort_by_key(|(start, _, _)| *start);
    apply_edits(text, &edits)
        .replace(&format!("\"{ATOM03_NS}\""), &format!("\"{ATOM10_NS}\""))
        .replace(&format!("'{ATOM03_NS}'"), &format!("'{ATOM10_NS}'"))
}

/// Atom 1.0 text constructs feed-rs refuses, which fail the whole document:
/// a MIME type where 1.0 wants `text`/`html`/`xhtml` (`text/plain`,
/// `text/html`, `application/xhtml+xml`, or a base64 type such as
/// `application/octet-stream`, read as Atom 0.3 modes are), a content `src`
/// with such a type, and markup written as elements inside a `text` or
/// `html` construct (feed-rs reads it as empty). `None` when none is there.
fn atom10_fixups(text: &str) -> Option<String> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut edits: Vec<Edit> = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let Ok((ns, event)) = reader.read_resolved_event() else {
            break;
        };
        let in_10 = matches!(ns, ResolveResult::Bound(n) if n.into_inner() == ATOM10_NS);
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::Eof => break,
            _ => continue,
        };
        let local = e.local_name().into_inner().to_string();
        if !in_10
            || !matches!(
                local.as_str(),
                "title" | "subtitle" | "summary" | "rights" | "content" | "link"
            )
        {
            continue;
        }
        let qname = e.name().into_inner().to_string();
        let attrs: Vec<(String, String)> = e
            .attributes()
            .flatten()
            .map(|a| (a.key.into_inner().to_string(), a.value.to_string()))
            .collect();
        let attr = |name: &str| attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let kind = attr("type")
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let has_src = attr("src").is_some();
        let start_tag = |attrs: &[(String, String)]| {
            let mut tag = format!("<{qname}");
            for (k, v) in attrs {
                let q = if v.contains('"') { '\'' } else { '"' };
                tag.push_str(&format!(" {k}={q}{v}{q}"));
            }
            tag
        };
        let end = if empty {
            reader.buffer_position() as usize
        } else if local == "link" && attr("href").is_some() {
            continue;
        } else {
            let Ok(span) = reader.read_to_end(e.name()) else {
                break;
            };
            let inner = text
                .get(span.start as usize..span.end as usize)
                .unwrap_or("");
            // feedparser's reading of `<link>URL</link>`: the text is the href.
            if local == "link" {
                if !inner.trim().is_empty() && !inner.contains('<') {
                    let mut attrs = attrs.clone();
                    attrs.push(("href".into(), inner.trim().to_string()));
                    let end = reader.buffer_position() as usize;
                    edits.push((before, end, format!("{}/>", start_tag(&attrs))));
                }
                continue;
            }
            reader.buffer_position() as usize
        };
        let inner = if empty {
            ""
        } else {
            text.get(..end)
                .and_then(|t| t.rfind("</"))
                .and_then(|close| text.get(before..close))
                .and_then(|t| t.find('>').map(|o| &t[o + 1..]))
                .unwrap_or("")
        };
        let elements = has_elements(inner);
        let mode = match kind.as_str() {
            "xhtml" if !has_src => continue,
            _ if has_src => {
                if matches!(kind.as_str(), "text" | "html" | "xhtml") {
                    // A src with 1.0's text types: the type is dropped.
                    let kept: Vec<(String, String)> =
                        attrs.into_iter().filter(|(k, _)| k != "type").collect();
                    edits.push((before, end, format!("{}/>", start_tag(&kept))));
                }
                continue;
            }
            _ if empty => continue,
            _ if elements => "xml",
            "" | "text" | "html" => continue,
            "text/html" | "text/plain" => "escaped",
            k if k.contains("xml") => "xml",
            k if local == "content" && k.starts_with("text/") => continue,
            k if local == "content" && !k.starts_with("text/") && !elements => continue,
            _ => "base64",
        };
        let mut attrs: Vec<(String, String)> = attrs
            .into_iter()
            .filter(|(k, _)| k != "type" && k != "mode")
            .collect();
        attrs.push(("mode".into(), mode.into()));
        let html = !matches!(kind.as_str(), "text" | "text/plain") || elements;
        attrs.push((
            "type".into(),
            if html { "text/html" } else { "text/plain" }.into(),
        ));
        edits.push((before, end, text_construct_10(&qname, &attrs, inner)));
    }
    edits.sort_by_key(|(start, _, _)| *start);
    (!edits.is_empty()).then(|| apply_edits(text, &edits))
}

/// Atom 0.3 element names that Atom 1.0 spells otherwise.
fn rename_03(local: &str, parent: &str) -> Option<&'static str> {
    Some(match local {
        "issued" | "created" => "published",
        "modified" => "updated",
        "tagline" => "subtitle",
        "copyright" => "rights",
        "info" => "rights-info",
        "url" if matches!(parent, "author" | "contributor") => "uri",
        _ => return None,
    })
}

/// An Atom 0.3 text construct (`type` a MIME type, `mode` escaped, base64
/// or xml) as Atom 1.0 writes it: `type="html"` or `"text"`, the content
/// as escaped text.
fn text_construct_10(name: &str, attrs: &[(String, String)], inner: &str) -> String {
    let attr = |k: &str| {
        attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let mode = attr("mode").unwrap_or_default();
    let mime = attr("type").unwrap_or_default();
    let html = mime.contains("html") || mime.contains("xml") || mode == "xml";
    let body = match mode.as_str() {
        "base64" => match from_base64(inner) {
            Some(decoded) => quick_xml::escape::escape(decoded).into_owned(),
            None => inner.to_string(),
        },
        "escaped" => inner.to_string(),
        // `xml`, or no mode: the markup is the content. Escaped, it is the
        // same HTML in a 1.0 `type="html"` element (text stays text).
        _ if has_elements(inner) => quick_xml::escape::escape(inner).into_owned(),
        _ => inner.to_string(),
    };
    let mut out = format!("<{name}");
    // The values are as written (still escaped).
    for (k, v) in attrs.iter().filter(|(k, _)| k != "mode" && k != "type") {
        let q = if v.contains('"') { '\'' } else { '"' };
        out.push_str(&format!(" {k}={q}{v}{q}"));
    }
    out.push_str(if html || mode == "xml" || body.contains("&lt;") {
        " type=\"html\">"
    } else {
        " type=\"text\">"
    });
    out.push_str(&body);
    out.push_str(&format!("</{name}>"));
    out
}

const RSS11_NS: &str = "http://purl.org/net/rss1.1#";

/// RSS 1.1 (`<Channel xmlns="http://purl.org/net/rss1.1#">`, its items in
/// an `<items>` collection inside the channel) as RSS 1.0, which it
/// revised: the root becomes `rdf:RDF` holding a `channel` and the items.
fn rss11_to_10(text: &str) -> String {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut edits: Vec<Edit> = Vec::new();
    let mut depth = 0usize;
    let mut channel_open = false;
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = e.name().into_inner();
                if depth == 1 && name == "Channel" {
                    let tag = text.get(before..after).unwrap_or("<Channel>");
                    let attrs = tag.get("<Channel".len()..).unwrap_or(">");
                    edits.push((before, after, format!("<rdf:RDF{attrs}<channel>")));
                    channel_open = true;
                } else if depth == 2 && name == "items" && channel_open {
                    edits.push((before, after, "</channel>".into()));
                    channel_open = false;
                }
            }
            Event::End(e) => {
                let name = e.name().into_inner();
                if depth == 2 && name == "items" {
                    edits.push((before, after, String::new()));
                } else if depth == 1 && name == "Channel" {
                    let close = if channel_open { "</channel>" } else { "" };
                    edits.push((before, after, format!("{close}</rdf:RDF>")));
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    apply_edits(text, &edits).replace(RSS11_NS, "http://purl.org/rss/1.0/")
}

/// Elements feedparser reads in an RSS item in place of a missing title
/// (0), description (1), `content:encoded` (2) or `pubDate` (3, RSS 0.9x
/// and 2.0 only: feed-rs reads RSS 1.0's `dc:date` itself).
const ITEM_STAND_INS: [(&str, usize); 8] = [
    ("dc:title", 0),
    ("media:title", 0),
    ("dc:date", 3),
    ("dc:description", 1),
    ("itunes:summary", 1),
    ("body", 2),
    ("xhtml:body", 2),
    ("fullitem", 2),
];

/// RSS fix-ups (see `prepass`); `None` when nothing needed fixing.
fn rss_fixups(text: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut edits: Vec<Edit> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut item: Option<bool> = None;
    let mut channel_end: Option<(usize, usize)> = None;
    let mut item_outside_channel = false;
    // Per item: the title, description and content it has, and where
    // another element could stand in for each (see `ITEM_STAND_INS`).
    let mut has = [false; 4];
    let mut stand_ins: [Option<Edit>; 4] = [None, None, None, None];
    let rdf = text.contains("purl.org/rss/1.0");
    let mut rss_start: Option<usize> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => {
                let name = e.name().into_inner().to_string();
                let parent = path.last().map(String::as_str).unwrap_or("");
                if name == "rss" && path.is_empty() {
                    rss_start = Some(after);
                }
                if name == "item" && item.is_none() {
                    item = Some(false);
                    if parent == "rss" && !item_outside_channel {
                        // RSS 0.91 as some wrote it: items after
                        // </channel> (or no channel at all); the channel now
                        // ends with </rss> (or where the lenient reading
                        // cuts a broken document).
                        match (channel_end, rss_start) {
                            (Some((start, end)), _) => {
                                item_outside_channel = true;
                                edits.push((start, end, String::new()));
                            }
                            (None, Some(at)) => {
                                item_outside_channel = true;
                                edits.push((at, at, "<channel>".into()));
                            }
                            _ => {}
                        }
                    }
                } else if name == "link" && parent == "item" {
                    item = Some(true);
                }
                if name == "item" {
                    has = [false; 4];
                    stand_ins = [None, None, None, None];
                }
                let stand_in = ITEM_STAND_INS
                    .iter()
                    .find(|(n, slot)| *n == name && !(rdf && *slot == 3));
                if parent == "item"
                    && (matches!(
                        name.as_str(),
                        "title" | "description" | "pubDate" | "content:encoded"
                    ) || stand_in.is_some())
                {
                    let Ok(span) = reader.read_to_end(e.name()) else {
                        break;
                    };
                    let (start, end) = (span.start as usize, span.end as usize);
                    let inner = text.get(start..end).unwrap_or("");
                    // Markup written as elements: what it says, escaped.
                    let escaped = if has_elements(inner) {
                        Some(quick_xml::escape::escape(inner).into_owned())
                    } else {
                        None
                    };
                    match (name.as_str(), stand_in) {
                        ("title", _) => has[0] = true,
                        ("description", _) => has[1] = true,
                        ("content:encoded", _) => has[2] = true,
                        ("pubDate", _) => has[3] = true,
                        (_, Some((_, slot))) => {
                            let body = escaped.clone().unwrap_or_else(|| inner.to_string());
                            let edit = match slot {
                                0 => format!("<title>{body}</title>"),
                                1 => format!("<description>{body}</description>"),
                                3 => format!("<pubDate>{body}</pubDate>"),
                                _ => format!(
                                    "<content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">{body}</content:encoded>"
                                ),
                            };
                            let end_tag = reader.buffer_position() as usize;
                            if stand_ins[*slot].is_none() {
                                stand_ins[*slot] = Some((before, end_tag, edit));
                            }
                            continue;
                        }
                        _ => {}
                    }
                    if let Some(escaped) = escaped
                        && name != "content:encoded"
                        && name != "pubDate"
                    {
                        edits.push((start, end, escaped));
                    }
                    continue;
                }
                path.push(name);
            }
            Event::End(e) => {
                let name = e.name().into_inner();
                if name == "item" {
                    for (slot, edit) in stand_ins.iter_mut().enumerate() {
                        if !has[slot]
                            && let Some(edit) = edit.take()
                        {
                            edits.push(edit);
                        }
                    }
                    if item == Some(false) && text.contains("purl.org/rss/1.0") {
                        edits.push((before, before, format!("<link>{NO_LINK}</link>")));
                    }
                    item = None;
                }
                if name == "channel" && path.len() == 2 {
                    channel_end = Some((before, after));
                }
                if name == "rss" && item_outside_channel {
                    edits.push((before, before, "</channel>".into()));
                }
                path.pop();
            }
            _ => {}
        }
    }
    edits.sort_by_key(|(start, _, _)| *start);
    (!edits.is_empty()).then(|| apply_edits(text, &edits))
}

// ---- dates ---------------------------------------------------------------------

/// Reads a feed's date. feed-rs's own lenient reader is private to it and
/// reads no zone-less form — yet `2026-10-09 10:00:00` is the commonest date
/// in Chinese outlets' RSS — so ours replaces it: RFC 3339 and RFC 2822 as
/// chrono reads them; then RFC 822 as feeds write it (`rfc822_loose`: no or
/// a wrong weekday, a weekday in another language, full month names,
/// one-digit days, two-digit years, `UT`/`UTC`/`GMT`/`Z`, North American
/// and a few other zone names, the offset glued to the time); then ISO 8601
/// departures (a space for the `T`, `+0800` or `+08` offsets, `/` or 年月日
/// separators); then zone-less forms, read in `zone`.
///
/// A date outside years 1–9999 (year 0, negative years: `0000-01-01`,
/// `-9999-01-01T00:00:00+00:00`) is impossible: refused here, so nothing
/// downstream (`to_rfc2822` panics on them) ever sees one. Anything not read
/// is no date (the copy gets "when seen"; `sources test` lists it).
pub fn timestamp(text: &str, zone: FixedOffset) -> Option<DateTime<Utc>> {
    read_timestamp(text, zone)
        .filter(possible)
        .map(without_leap_second)
}

/// A leap second (`23:59:60`, which chrono reads as second 59 with a
/// fraction of 1 s or more) as the last instant of second 59: the store
/// keeps whole seconds, and written back as `:60` it would read as another
/// instant than the one stored (found by the round-trip property below).
fn without_leap_second(d: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike as _;
    let nanos = d.nanosecond();
    if nanos < 1_000_000_000 {
        return d;
    }
    d.with_nanosecond(nanos - 1_000_000_000).unwrap_or(d)
}

/// Years 1–9999: what RFC 2822 and RFC 3339 can write (chrono's
/// `to_rfc2822` panics outside 0–9999), and not year 0, which no calendar
/// has.
fn possible(d: &DateTime<Utc>) -> bool {
    use chrono::Datelike as _;
    (1..=9999).contains(&d.year())
}

fn read_timestamp(text: &str, zone: FixedOffset) -> Option<DateTime<Utc>> {
    let s = text.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let utc = |d: DateTime<FixedOffset>| d.with_timezone(&Utc);
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(utc(d));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(utc(d));
    }
    if let Some(d) = rfc822_loose(s, zone) {
        return Some(d);
    }
    // Zone names that mean UTC, spelled out after a zone-less date.
    let (s, utc_named) = match s
        .strip_suffix(" GMT")
        .or_else(|| s.strip_suffix(" UTC"))
        .or_else(|| s.strip_suffix('Z'))
    {
        Some(rest) => (rest.trim_end(), true),
        None => (s, false),
    };
    let s = s.replace(['/', '年', '月'], "-").replace(['T', '日'], " ");
    let s = s.trim();
    // `%#z` reads `+08:00`, `+0800` and `+08`.
    const WITH_OFFSET: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f %#z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M %#z",
        "%Y-%m-%d %H:%M%#z",
    ];
    if !utc_named {
        for f in WITH_OFFSET {
            if let Ok(d) = DateTime::parse_from_str(s, f) {
                return Some(utc(d));
            }
        }
    }
    let at = if utc_named { UTC } else { zone };
    const LOCAL: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"];
    for f in LOCAL {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return at.from_local_datetime(&n).single().map(utc);
        }
    }
    // A date alone is midnight UTC, as feed-rs has it: it then shows as the
    // same date in any zone from UTC to UTC+8 and later.
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

const UTC: FixedOffset = match FixedOffset::east_opt(0) {
    Some(z) => z,
    None => unreachable!(),
};

/// RFC 822 dates as feeds write them, which chrono's strict RFC 2822 reader
/// refuses: `[weekday[,]] day month year [time [zone]]` (or month before
/// day), where the weekday may be missing, wrong or in any language (it is
/// ignored: the date says the day), the month is an English name of three
/// letters or more (`Jul`, `July`, `Sept`), the year has four or two digits
/// (00–49 → 20xx, 50–99 → 19xx, as RFC 2822 reads them), the time has
/// minutes and optional seconds, and the zone is an offset (`+0800`,
/// `-05:00`, `+08`, glued to the time or not), `UT`/`UTC`/`GMT`/`Z`
/// (optionally followed by an offset: `GMT+8`), or a named zone
/// (`zone_name`). No zone: the source's `zone`, as for every zone-less date.
fn rfc822_loose(s: &str, zone: FixedOffset) -> Option<DateTime<Utc>> {
    let cleaned = s.replace(',', " ");
    let mut toks: Vec<&str> = cleaned.split_whitespace().collect();
    if toks.first().is_some_and(|t| {
        month(t).is_none() && t.trim_end_matches('.').chars().all(char::is_alphabetic)
    }) {
        toks.remove(0);
    }
    if toks.len() < 3 {
        return None;
    }
    let (day, mon) = match month(toks[0]) {
        Some(m) => (toks[1], m),
        None => (toks[0], month(toks[1])?),
    };
    if day.len() > 2 {
        return None;
    }
    let day: u32 = day.parse().ok()?;
    let year = match toks[2] {
        y if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => y.parse().ok()?,
        y if y.len() == 2 && y.bytes().all(|b| b.is_ascii_digit()) => {
            let y: i32 = y.parse().ok()?;
            if y < 50 { 2000 + y } else { 1900 + y }
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(year, mon, day)?;
    let mut rest = &toks[3..];
    let mut offset = None;
    let time = match rest.first() {
        Some(t) if t.contains(':') => {
            rest = &rest[1..];
            // An offset glued to the time: `01:30:00+0900`, `01:30:00Z`.
            let (clock, glued) = match t.find(['+', '-', 'Z', 'z']) {
                Some(i) => (&t[..i], Some(&t[i..])),
                None => (*t, None),
            };
            if let Some(g) = glued {
                offset = Some(zone_token(g)?);
            }
            let mut parts = clock.split(':');
            let h: u32 = parts.next()?.parse().ok()?;
            let m: u32 = parts.next()?.parse().ok()?;
            let sec: u32 = match parts.next() {
                Some(x) => x.split('.').next()?.parse().ok()?,
                None => 0,
            };
            if parts.next().is_some() {
                return None;
            }
            // A 12-hour clock: `8:19 pm`.
            let h = match rest.first().map(|t| t.to_ascii_lowercase()) {
                Some(half) if half == "am" || half == "pm" => {
                    rest = &rest[1..];
                    match (h, half.as_str()) {
                        (1..=11, "pm") => h + 12,
                        (12, "am") => 0,
                        (1..=12, _) => h,
                        _ => return None,
                    }
                }
                _ => h,
            };
            date.and_hms_opt(h, m, sec)?
        }
        _ => date.and_hms_opt(0, 0, 0)?,
    };
    // The zone: one token, or a name then an offset (`GMT +0800`), or an
    // offset then a comment (`+0800 (CST)`).
    match rest {
        [] => {}
        [z, more @ ..] if offset.is_none() => {
            let mut z = zone_token(z)?;
            if let Some(next) = more.first() {
                if let Some(o) = next
                    .starts_with(['+', '-'])
                    .then(|| zone_token(next))
                    .flatten()
                {
                    z = FixedOffset::east_opt(z.local_minus_utc() + o.local_minus_utc())?;
                } else if !(next.starts_with('(') && more.len() <= 2) {
                    return None;
                }
            }
            offset = Some(z);
        }
        [c, ..] if c.starts_with('(') => {}
        _ => return None,
    }
    let at = offset.unwrap_or(zone);
    at.from_local_datetime(&time)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// `Jan`, `jan.`, `January`, `Sept` → 1–12.
fn month(t: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let t = t.trim_end_matches('.').to_ascii_lowercase();
    if t.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&t))
        .map(|i| i as u32 + 1)
}

/// An offset (`+0800`, `-05:00`, `+08`) or a zone name (`zone_name`), with
/// `UT`/`UTC`/`GMT` optionally followed by an offset (`GMT+8`, `UTC+08:00`).
fn zone_token(t: &str) -> Option<FixedOffset> {
    if let Some(rest) = t.strip_prefix(['+', '-']) {
        let sign = if t.starts_with('-') { -1 } else { 1 };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = match digits.len() {
            1 | 2 => (digits.parse::<i32>().ok()?, 0),
            4 => (
                digits[..2].parse::<i32>().ok()?,
                digits[2..].parse::<i32>().ok()?,
            ),
            _ => return None,
        };
        if h > 23 || m > 59 || (rest.contains(':') && digits.len() != 4) {
            return None;
        }
        return FixedOffset::east_opt(sign * (h * 3600 + m * 60));
    }
    let upper = t.to_ascii_uppercase();
    for utc in ["UTC", "GMT", "UT"] {
        if let Some(rest) = upper.strip_prefix(utc)
            && !rest.is_empty()
            && rest.starts_with(['+', '-'])
        {
            return zone_token(rest);
        }
    }
    zone_name(&upper).and_then(|h| FixedOffset::east_opt(h * 3600))
}

/// Zone names feeds write, in hours east of UTC: UTC itself, RFC 822's
/// North American zones (so `CST` is US Central, -6, as in RFC 2822 and
/// every feed reader, not China Standard Time), and a few unambiguous
/// others.
fn zone_name(upper: &str) -> Option<i32> {
    Some(match upper {
        "UT" | "UTC" | "GMT" | "Z" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "AKST" => -9,
        "AKDT" => -8,
        "HST" => -10,
        "BST" | "CET" => 1,
        "CEST" | "EET" => 2,
        "EEST" | "MSK" => 3,
        "HKT" | "SGT" | "AWST" => 8,
        "JST" | "KST" => 9,
        "AEST" => 10,
        "AEDT" => 11,
        "NZST" => 12,
        "NZDT" => 13,
        _ => return None,
    })
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
mod date_tests {
    use super::*;

    fn est(s: &str) -> Option<String> {
        timestamp(s, DEFAULT_ZONE).map(|d| d.to_rfc3339())
    }

    /// 2011-07-27 01:30 EST is 06:30 UTC.
    const JULY: &str = "2011-07-27T06:30:00+00:00";

    #[test]
    fn no_weekday() {
        assert_eq!(
            est("21 Dec 2012 12:00:00 EST"),
            Some("2012-12-21T17:00:00+00:00".into())
        );
    }

    #[test]
    fn full_month_name() {
        assert_eq!(est("Wed, 27 July 2011 01:30:00 EST"), Some(JULY.into()));
        assert_eq!(
            est("Wednesday, 27 JULY 2011 01:30:00 EST"),
            Some(JULY.into())
        );
        assert_eq!(
            est("Thu, 1 Sept 2011 01:30:00 GMT"),
            Some("2011-09-01T01:30:00+00:00".into())
        );
    }

    #[test]
    fn one_digit_day() {
        assert_eq!(
            est("Tue, 2 Aug 2011 01:30:00 EST"),
            Some("2011-08-02T06:30:00+00:00".into())
        );
    }

    #[test]
    fn two_digit_years() {
        assert_eq!(est("Wed, 27 Jul 11 01:30:00 EST"), Some(JULY.into()));
        assert_eq!(
            est("Fri, 03 Dec 99 10:00:00 GMT"),
            Some("1999-12-03T10:00:00+00:00".into())
        );
    }

    #[test]
    fn a_leap_second_is_second_59() {
        let want = Utc.with_ymd_and_hms(2016, 12, 31, 23, 59, 59).single();
        for s in [
            "2016-12-31T23:59:60Z",
            "Sat, 31 Dec 2016 23:59:60 +0000",
            "2016/12/31 23:59:60 Z",
        ] {
            let d = timestamp(s, DEFAULT_ZONE);
            assert_eq!(d, want, "{s}");
            let d = d.expect("read");
            assert_eq!(timestamp(&d.to_rfc2822(), DEFAULT_ZONE), want, "{s}");
        }
    }

    #[test]
    fn ut_utc_gmt_and_z() {
        for s in [
            "Wed, 27 Jul 2011 06:30:00 UT",
            "Wed, 27 Jul 2011 06:30:00 UTC",
            "Wed, 27 Jul 2011 06:30:00 GMT",
            "Wed, 27 Jul 2011 06:30:00 Z",
            "27 Jul 2011 06:30:00Z",
            "Wed, 27 Jul 2011 14:30:00 GMT+8",
            "Wed, 27 Jul 2011 14:30:00 GMT+0800",
            "Wed, 27 Jul 2011 14:30:00 +0800 (CST)",
        ] {
            assert_eq!(est(s), Some(JULY.into()), "{s}");
        }
    }

    #[test]
    fn north_american_zone_names() {
        // 06:30 UTC in each zone.
        for (s, local) in [
            ("EST", "01:30"),
            ("EDT", "02:30"),
            ("CST", "00:30"),
            ("CDT", "01:30"),
            ("MST", "23:30"),
            ("MDT", "00:30"),
            ("PST", "22:30"),
            ("PDT", "23:30"),
        ] {
            let day = if local.starts_with('2') { 26 } else { 27 };
            let text = format!("{day} Jul 2011 {local}:00 {s}");
            assert_eq!(est(&text), Some(JULY.into()), "{text}");
        }
        assert_eq!(est("27 Jul 2011 06:30:00 XYZ"), None, "unknown zone");
    }

    #[test]
    fn iso_8601_offset_without_colon() {
        for s in [
            "2011-07-27T14:30:00+0800",
            "2011-07-27T14:30:00.000+0800",
            "2011-07-27T14:30:00+08",
            "2011-07-27T01:30:00-0500",
            "2011-07-27T14:30+0800",
        ] {
            assert_eq!(est(s), Some(JULY.into()), "{s}");
        }
    }

    #[test]
    fn twelve_hour_clock() {
        assert_eq!(
            est("Sun, 20 Apr 2014 8:19 pm CEST"),
            Some("2014-04-20T18:19:00+00:00".into())
        );
        assert_eq!(
            est("Sat, Dec 16 2023 12:02:33 AM GMT"),
            Some("2023-12-16T00:02:33+00:00".into())
        );
        assert_eq!(est("20 Apr 2014 13:19 pm GMT"), None);
    }

    #[test]
    fn a_wrong_weekday_is_ignored() {
        // 27 July 2011 was a Wednesday.
        assert_eq!(est("Mon, 27 Jul 2011 01:30:00 EST"), Some(JULY.into()));
        assert_eq!(est("Sun, 27 July 2011 01:30:00 -0500"), Some(JULY.into()));
    }

    #[test]
    fn zoneless_rfc822_stays_in_the_sources_zone() {
        // 14:30 Beijing time.
        assert_eq!(est("Wed, 27 Jul 2011 14:30:00"), Some(JULY.into()));
        let est_zone = FixedOffset::west_opt(5 * 3600).expect("zone");
        assert_eq!(
            timestamp("27 July 2011 01:30", est_zone).map(|d| d.to_rfc3339()),
            Some(JULY.into())
        );
    }

    #[test]
    fn impossible_dates_are_refused() {
        for s in [
            "0000-01-01 00:00:00",
            "Sat, 01 Jan 0000 00:00:00 +2359",
            "0000年01月01日",
            "-9999-01-01T00:00:00+00:00",
            "10000-01-01T00:00:00+00:00",
            "0001-01-01T00:00:00+08:00",
        ] {
            assert_eq!(est(s), None, "{s}");
        }
        // The edges that can be written are kept.
        assert_eq!(
            est("0001-01-01T00:00:00Z"),
            Some("0001-01-01T00:00:00+00:00".into())
        );
        assert_eq!(
            est("9999-12-31T23:59:59Z"),
            Some("9999-12-31T23:59:59+00:00".into())
        );
    }

    #[test]
    fn garbage_is_no_date() {
        for s in [
            "27 Jul",
            "Jul 2011",
            "27 Foo 2011 01:30:00 GMT",
            "27 Jul 2011 25:30:00 GMT",
            "27 Jul 2011 01:30:00 GMT extra words",
            "32 Jul 2011",
            "27 Jul 211 01:30:00",
        ] {
            assert_eq!(est(s), None, "{s}");
        }
    }

    mod props {
        use super::*;
        use chrono::{Datelike as _, Timelike as _};
        use proptest::prelude::*;

        fn instant() -> impl Strategy<Value = DateTime<Utc>> {
            // 1950-01-01 .. 9999-12-30, whole seconds.
            (-631_152_000i64..253_402_128_000)
                .prop_map(|s| DateTime::from_timestamp(s, 0).expect("in range"))
        }

        const NAMES: [(&str, i32); 10] = [
            ("UT", 0),
            ("GMT", 0),
            ("Z", 0),
            ("EST", -5),
            ("EDT", -4),
            ("CST", -6),
            ("CDT", -5),
            ("MST", -7),
            ("PDT", -7),
            ("UTC", 0),
        ];
        const FULL: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];

        /// Strings shaped like the dates feeds write, valid or not (days
        /// to 39, years 0–99999, offsets to ±39:99, unknown words).
        fn date_like() -> impl Strategy<Value = String> {
            prop_oneof![
                "(Mon, |mon |周一, |Foo, |)[0-3]?[0-9] (Jan|july|Sept|Foo|Feb) ([0-9]{2}|-?[0-9]{4,5}) [0-2]?[0-9]:[0-5][0-9](:[0-6][0-9])?( [aApP][mM])? ?(EST|UT|Z|GMT\\+8|PDT|XYZ|[+-][0-3][0-9]:?[0-9]{2}|)",
                "-?[0-9]{4,5}[-/年][01]?[0-9][-/月][0-3]?[0-9]日?([T ][0-2][0-9]:[0-5][0-9](:[0-6][0-9](\\.[0-9]{1,9})?)?)? ?(Z|GMT|UTC|[+-][0-3][0-9](:?[0-9]{2})?|)",
                "[A-Za-z0-9 ,:+\\-年月日/TZ.]{0,40}",
            ]
        }

        proptest! {
            /// Whatever the reader accepts can be written back in RFC 2822
            /// and RFC 3339 (no panic) and reads back as the same instant
            /// (to the second in RFC 2822, which has no fractions; the
            /// store keeps seconds).
            #[test]
            fn every_accepted_date_round_trips(s in date_like()) {
                if let Some(d) = timestamp(&s, DEFAULT_ZONE) {
                    let whole = d.with_nanosecond(0);
                    prop_assert_eq!(timestamp(&d.to_rfc2822(), DEFAULT_ZONE), whole);
                    prop_assert_eq!(timestamp(&d.to_rfc3339(), DEFAULT_ZONE), Some(d));
                }
            }

            /// Every form the reader knows, written from one instant, reads
            /// back as that instant.
            #[test]
            fn each_form_reads_back_as_the_instant(d in instant(), zone in 0usize..10, weekday in 0u32..7) {
                let (name, hours) = NAMES[zone];
                let local = d.with_timezone(&FixedOffset::east_opt(hours * 3600).expect("zone"));
                let wrong_day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][weekday as usize];
                let full = FULL[local.month0() as usize];
                let hms = format!("{:02}:{:02}:{:02}", local.hour(), local.minute(), local.second());
                let forms = [
                    d.to_rfc2822(),
                    d.to_rfc3339(),
                    format!("{} {} {} {hms} {name}", local.day(), full, local.year()),
                    format!("{wrong_day}, {} {} {} {hms} {name}", local.day(), &full[..3], local.year()),
                    format!("{}T{hms}{:+03}00", local.format("%Y-%m-%d"), hours),
                ];
                for f in forms {
                    prop_assert_eq!(timestamp(&f, DEFAULT_ZONE), Some(d), "{}", f);
                }
                if (1950..2050).contains(&local.year()) {
                    let two = format!("{} {} {:02} {hms} {name}", local.day(), &full[..3], local.year() % 100);
                    prop_assert_eq!(timestamp(&two, DEFAULT_ZONE), Some(d), "{}", two);
                }
            }
        }
    }
}

#[cfg(test)]
mod wild_tests {
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
            Some("<img src=\"https://blog.example/pics/y.png\" alt=x>")
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
}
