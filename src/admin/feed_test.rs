//! `sources test URL|ID`: one feed read as the poll reads it, each stage
//! reported, nothing stored.

use std::fmt::Write as _;

use super::{AdminError, escape_line};
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::model::ParsedFeed;
use crate::normalize::Normalizer;
use crate::pipeline::{FeedRead, ReadAs, read_feed};

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
