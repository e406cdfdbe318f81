//! `sources test URL|ID`: one feed read as the poll reads it, each stage
//! reported, nothing stored; with `--page`, one article page read as a
//! `full_text` poll reads it.

use std::fmt::Write as _;

use super::{AdminError, escape_line};
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::model::ParsedFeed;
use crate::normalize::Normalizer;
use crate::pipeline::{
    ExtractedBy, FeedRead, NoSelector, PageRead, PageSource, ReadAs, ReadPage, read_article_page,
    read_feed,
};

/// `sources test URL|ID`: fetch and parse without storing, and say what
/// happened at each stage. Reads as the poll does (`pipeline::read_feed`).
pub async fn sources_test(config: &Config, target: &str) -> Result<String, AdminError> {
    let (url, forced, private_origin, zone) = match config.source(target) {
        Some(s) => (
            s.url.clone(),
            s.encoding,
            s.allow_private_addresses.then(|| s.url.clone()),
            s.timezone,
        ),
        None => (
            url::Url::parse(target).map_err(|e| {
                AdminError::Unknown(format!("{target:?} is neither a source id nor a URL: {e}"))
            })?,
            None,
            None,
            None,
        ),
    };
    let fetcher = Fetcher::new(&config.fetch).map_err(AdminError::Client)?;
    let mut out = String::new();
    let _ = writeln!(out, "GET {url}");
    let how = ReadAs {
        validators: None,
        private_origin: private_origin.as_ref(),
        forced,
        zone,
    };
    let (body, decoded, feed) = match read_feed(&fetcher, &url, how).await {
        Ok(FeedRead::Read {
            body,
            decoded,
            feed,
        }) => (body, decoded, feed),
        Ok(FeedRead::NotModified { .. }) => {
            return Ok(out + "  304 Not Modified (unexpected without validators)\n");
        }
        Err(source) => return Err(AdminError::Fetch { shown: out, source }),
    };
    test_http_lines(&mut out, &url, &body);
    test_charset_line(&mut out, &decoded.charset);
    let feed = match feed {
        Ok(f) => f,
        Err(source) => return Err(AdminError::Parse { shown: out, source }),
    };
    test_feed_lines(&mut out, &feed);
    test_item_lines(
        &mut out,
        &feed,
        &Normalizer::new(&config.normalize),
        &config.display,
    );
    Ok(out)
}

/// `sources test`: the first ten items: title, content hash, date, and
/// what the boilerplate rules removed.
fn test_item_lines(
    out: &mut String,
    feed: &ParsedFeed,
    normalizer: &Normalizer,
    display: &crate::config::Display,
) {
    for (i, item) in feed.items.iter().take(10).enumerate() {
        let n = normalizer.normalize_explained(item);
        let _ = writeln!(
            out,
            "  {:>2}. {}  [{}]{}",
            i + 1,
            escape_line(&n.title),
            &n.content_hash.0[..12],
            item.published
                .map(|p| format!("  {}", display.time(p)))
                .unwrap_or_default()
        );
        if !n.removed.is_empty() {
            let _ = writeln!(out, "      removed: {}", escape_line(&n.removed.join("; ")));
        }
    }
}

/// `sources test`: status, size, redirects and caching headers.
fn test_http_lines(out: &mut String, url: &url::Url, body: &crate::fetch::Body) {
    let _ = writeln!(
        out,
        "  HTTP {} in {} ms, {} bytes",
        body.status,
        body.elapsed.as_millis(),
        body.bytes.len()
    );
    if body.final_url != url.as_str() {
        let _ = writeln!(
            out,
            "  redirected to {}{}",
            body.final_url,
            if body.moved_to.is_some() {
                " (permanently: would be remembered)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "  Content-Type   {}",
        body.content_type.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "  ETag           {}",
        body.validators
            .etag
            .as_deref()
            .unwrap_or("- (no conditional GET by ETag)")
    );
    let _ = writeln!(
        out,
        "  Last-Modified  {}",
        body.validators
            .last_modified
            .as_deref()
            .unwrap_or("- (no conditional GET by date)")
    );
}

/// `sources test`: the charset decision and why.
fn test_charset_line(out: &mut String, c: &crate::decode::CharsetDecision) {
    let _ = writeln!(
        out,
        "charset {} (from {:?}; HTTP said {}, the document said {}; {} undecodable bytes){}",
        c.encoding,
        c.origin,
        c.http_label.as_deref().unwrap_or("nothing"),
        c.declared_label.as_deref().unwrap_or("nothing"),
        c.errors,
        c.note
            .as_deref()
            .map(|n| format!("\n  note: {n}"))
            .unwrap_or_default()
    );
}

/// `sources test`: format, title, items read, skipped and repaired.
fn test_feed_lines(out: &mut String, feed: &ParsedFeed) {
    let _ = writeln!(
        out,
        "format {}: {:?}, {} items{}{}{}",
        feed.format,
        feed.title.as_deref().unwrap_or("(no title)"),
        feed.items.len(),
        if feed.items_in_document > 0
            && (feed.items.len() + feed.skipped < feed.items_in_document || feed.items.is_empty())
        {
            format!(
                " ({} of {} in the document read)",
                feed.items.len(),
                feed.items_in_document
            )
        } else {
            String::new()
        },
        match feed.skipped {
            0 => String::new(),
            n => format!("\n  skipped: {n} items with no title, text or link"),
        },
        if feed.repairs.is_empty() {
            String::new()
        } else {
            format!("\n  repaired: {}", escape_line(&feed.repairs.join("; ")))
        }
    );
    if !feed.unreadable_dates.is_empty() {
        let _ = writeln!(
            out,
            "  unreadable dates (those items are dated when first seen): {}",
            feed.unreadable_dates
                .iter()
                .map(|d| format!("{d:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// Lines of the page or the article `sources test --page` lists before it
/// says how many more there were.
const SHOWN_LINES: usize = 40;

/// `sources test ID|URL --page [URL]`: one article page fetched and read as
/// a poll of a `full_text` source reads it (`pipeline::read_article_page`:
/// the poll's fetcher, the source's `full_text_selector` on its own site,
/// the same cleaning), whether or not the source has `full_text` on:
/// which rule found the article, the text kept and its length, the page's
/// lines the extractor dropped, what the boilerplate rules removed. The
/// page is `page_url`, else the link of the feed's first item (the feed is
/// then read as `sources test` reads it). Nothing is stored.
pub async fn sources_test_page(
    config: &Config,
    target: &str,
    page_url: Option<&str>,
) -> Result<String, AdminError> {
    let source = config.source(target);
    let feed_url = match source {
        Some(s) => s.url.clone(),
        None => url::Url::parse(target).map_err(|e| {
            AdminError::Unknown(format!("{target:?} is neither a source id nor a URL: {e}"))
        })?,
    };
    let fetcher = Fetcher::new(&config.fetch).map_err(AdminError::Client)?;
    let normalizer = Normalizer::new(&config.normalize);
    let mut out = String::new();
    let (page_url, item) = match page_url {
        Some(p) => {
            let u = url::Url::parse(p.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| AdminError::Refused(format!("--page {p:?}: not an http(s) URL")))?;
            (u, None)
        }
        None => {
            let (u, item) = first_item_link(source, &feed_url, &fetcher, &mut out).await?;
            (u, Some(item))
        }
    };
    let _ = writeln!(out, "page {page_url}");
    let how = PageSource {
        feed_url: &feed_url,
        allows_private: source.is_some_and(|s| s.allow_private_addresses),
        selector: source.and_then(|s| s.full_text_selector.as_ref()),
        normalizer: &normalizer,
    };
    let (body, read) = match read_article_page(&fetcher, &page_url, how).await {
        Ok(PageRead::Read { body, page }) => (body, page),
        Ok(PageRead::NoBody { status }) => {
            return Err(AdminError::Page {
                shown: out,
                reason: format!("HTTP {status} without a body"),
            });
        }
        Err(source) => return Err(AdminError::Fetch { shown: out, source }),
    };
    test_http_lines(&mut out, &page_url, &body);
    let read = read.map_err(|reason| AdminError::Page {
        shown: out.clone(),
        reason,
    })?;
    test_charset_line(&mut out, &read.decoded.charset);
    let _ = writeln!(out, "{}", extracted_by(&read.extracted.by, source));
    page_lines(&mut out, &read, item.as_ref(), &normalizer);
    Ok(out)
}

/// `sources test --page` with no URL: the feed read as `sources test` reads
/// it, and its first item with an http(s) link.
async fn first_item_link(
    source: Option<&crate::config::Source>,
    feed_url: &url::Url,
    fetcher: &Fetcher,
    out: &mut String,
) -> Result<(url::Url, crate::model::ParsedItem), AdminError> {
    let how = ReadAs {
        validators: None,
        private_origin: source.filter(|s| s.allow_private_addresses).map(|s| &s.url),
        forced: source.and_then(|s| s.encoding),
        zone: source.and_then(|s| s.timezone),
    };
    let _ = writeln!(out, "GET {feed_url}");
    let feed = match read_feed(fetcher, feed_url, how).await {
        Ok(FeedRead::Read { feed: Ok(feed), .. }) => feed,
        Ok(FeedRead::Read { feed: Err(e), .. }) => {
            return Err(AdminError::Parse {
                shown: std::mem::take(out),
                source: e,
            });
        }
        Ok(FeedRead::NotModified { status }) => {
            return Err(AdminError::Page {
                shown: std::mem::take(out),
                reason: format!("the feed answered HTTP {status} without a body"),
            });
        }
        Err(source) => {
            return Err(AdminError::Fetch {
                shown: std::mem::take(out),
                source,
            });
        }
    };
    let found = feed.items.into_iter().find_map(|item| {
        let link = item
            .link
            .as_deref()
            .and_then(|l| url::Url::parse(l.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))?;
        Some((link, item))
    });
    let Some((link, item)) = found else {
        return Err(AdminError::Page {
            shown: std::mem::take(out),
            reason: "no item of the feed has an http(s) link; give a page: --page URL".into(),
        });
    };
    let _ = writeln!(
        out,
        "  first item with a link: {}",
        escape_line(item.title.as_deref().unwrap_or("(no title)"))
    );
    Ok((link, item))
}

/// `sources test --page`: which rule found the article, and why not the
/// source's selector.
fn extracted_by(by: &ExtractedBy, source: Option<&crate::config::Source>) -> String {
    let selector = source
        .and_then(|s| s.full_text_selector.as_ref())
        .map(|s| {
            use scraper::selector::ToCss as _;
            s.to_css_string()
        })
        .unwrap_or_default();
    let readability = "the readability extractor (dom_smoothie)";
    match by {
        ExtractedBy::Selector => {
            format!("article found by full_text_selector {selector:?}")
        }
        ExtractedBy::Readability(NoSelector::NoneSet) => {
            format!("article found by {readability}; no full_text_selector set")
        }
        ExtractedBy::Readability(NoSelector::OtherSite) => format!(
            "article found by {readability}; full_text_selector {selector:?} not used: the page is not on the source's site"
        ),
        ExtractedBy::Readability(NoSelector::MatchedNothing) => format!(
            "article found by {readability}; full_text_selector {selector:?} matched nothing with text"
        ),
    }
}

/// `sources test --page`: the text kept and its length, the lines dropped
/// by the extractor and by the boilerplate rules, and what a poll would do
/// with it beside the feed's own text (`item`, when known).
fn page_lines(
    out: &mut String,
    read: &ReadPage,
    item: Option<&crate::model::ParsedItem>,
    normalizer: &Normalizer,
) {
    use crate::normalize::html_to_lines;
    let page = html_to_lines(&read.decoded.text);
    let extracted = html_to_lines(&read.extracted.html);
    let kept = html_to_lines(&read.cleaned);
    let mut full = item.cloned().unwrap_or_default();
    full.content_html = Some(read.cleaned.clone());
    let norm = normalizer.normalize_explained(&full);
    let chars = norm.text.chars().count();
    let _ = writeln!(
        out,
        "kept {chars} characters of text ({} lines):",
        kept.len()
    );
    list_lines(out, "  | ", &kept);
    let in_article: std::collections::HashSet<&str> =
        extracted.iter().map(String::as_str).collect();
    let dropped: Vec<String> = page
        .iter()
        .filter(|l| !in_article.contains(l.as_str()))
        .cloned()
        .collect();
    let _ = writeln!(
        out,
        "dropped by the extractor: {} of the page's {} lines",
        dropped.len(),
        page.len()
    );
    list_lines(out, "  - ", &dropped);
    let in_kept: std::collections::HashSet<&str> = kept.iter().map(String::as_str).collect();
    let removed: Vec<String> = extracted
        .iter()
        .filter(|l| !in_kept.contains(l.as_str()))
        .cloned()
        .collect();
    if removed.is_empty() {
        let _ = writeln!(out, "removed by the boilerplate rules: nothing");
    } else {
        let _ = writeln!(out, "removed by the boilerplate rules:");
        list_lines(out, "  - ", &removed);
    }
    if !norm.removed.is_empty() {
        let _ = writeln!(
            out,
            "left out of the text topics and dedupe match on: {}",
            escape_line(&norm.removed.join("; "))
        );
    }
    if let Some(item) = item {
        let feed_text = normalizer.normalize(item).text;
        let feed_chars = feed_text.chars().count();
        let verdict = if crate::pipeline::feed_text_whole(item, &feed_text) {
            format!(
                "not needed: the feed's text ({feed_chars} characters) looks whole; a poll does not fetch this page"
            )
        } else if chars > feed_chars {
            format!(
                "a poll would keep the article ({chars} characters) in place of the feed's text ({feed_chars})"
            )
        } else {
            format!(
                "not needed: the article ({chars} characters) is no longer than the feed's text ({feed_chars}); a poll keeps the feed's"
            )
        };
        let _ = writeln!(out, "{verdict}");
    }
}

/// Up to `SHOWN_LINES` lines, each after `prefix` and escaped, then how
/// many more.
fn list_lines(out: &mut String, prefix: &str, lines: &[String]) {
    for l in lines.iter().take(SHOWN_LINES) {
        let _ = writeln!(out, "{prefix}{}", escape_line(l));
    }
    if lines.len() > SHOWN_LINES {
        let _ = writeln!(out, "{prefix}… and {} more", lines.len() - SHOWN_LINES);
    }
}
