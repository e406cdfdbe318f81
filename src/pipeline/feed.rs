//! Reading one feed: fetch → decode → parse, composed once for the poll,
//! `sources test`, `sources add` / `import` and the full-text pages'
//! charset, so that they decide alike. The charset hint is taken from the
//! host the body came from after redirects (`decode_body`), the base for
//! relative links from the final URL (`parse_body`).

use crate::decode::{self, Decoded};
use crate::fetch::{Body, FetchError, Fetched, Fetcher, Validators};
use crate::model::ParsedFeed;
use crate::parse::{self, ParseError};

/// A fetched body decoded to text: the charset from the BOM, the HTTP
/// header, the document's declaration or detection, with `forced` (the
/// source's `encoding`) first and the final host's habits as a hint.
pub fn decode_body(body: &Body, forced: Option<&'static encoding_rs::Encoding>) -> Decoded {
    let host = url::Url::parse(&body.final_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    decode::decode(
        &body.bytes,
        body.content_type.as_deref(),
        forced,
        host.as_deref(),
    )
}

/// Decoded text parsed as a feed, links made absolute against the URL the
/// body came from, zone-less dates read in `zone`.
pub fn parse_body(
    body: &Body,
    decoded: &Decoded,
    zone: chrono::FixedOffset,
) -> Result<ParsedFeed, ParseError> {
    parse::parse_in_zone(&decoded.text, Some(&body.final_url), zone)
}

/// What one request for a feed came to. (One at a time per request,
/// never held in bulk: the variants' sizes do not matter.)
#[allow(clippy::large_enum_variant)]
pub enum FeedRead {
    /// 304: nothing to read.
    NotModified { status: u16 },
    /// A body, its text, and the feed it holds (or why it is none).
    Read {
        body: Body,
        decoded: Decoded,
        feed: Result<ParsedFeed, ParseError>,
    },
}

/// How to read a source's feed (from the source's config, or defaults for
/// a URL that is not configured).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadAs<'a> {
    pub validators: Option<&'a Validators>,
    /// The source may reach this private origin (its own), nothing else.
    pub private_origin: Option<&'a url::Url>,
    pub forced: Option<&'static encoding_rs::Encoding>,
    pub zone: Option<chrono::FixedOffset>,
}

/// Fetch → decode → parse of one feed URL, without storing anything.
pub async fn read_feed(
    fetcher: &Fetcher,
    url: &url::Url,
    how: ReadAs<'_>,
) -> Result<FeedRead, FetchError> {
    let none = Validators::default();
    let fetched = fetcher
        .fetch_for(url, how.validators.unwrap_or(&none), how.private_origin)
        .await?;
    Ok(match fetched {
        Fetched::NotModified { status, .. } => FeedRead::NotModified { status },
        Fetched::Body(body) => {
            let decoded = decode_body(&body, how.forced);
            let feed = parse_body(&body, &decoded, how.zone.unwrap_or(parse::DEFAULT_ZONE));
            FeedRead::Read {
                body,
                decoded,
                feed,
            }
        }
    })
}

/// One article page as a poll of a `full_text` source would read it
/// (`sources test --page`). (One at a time, never held in bulk.)
#[allow(clippy::large_enum_variant)]
pub enum PageRead {
    /// An answer without a body (a 304 to a request that sent no
    /// validators).
    NoBody { status: u16 },
    /// The body, and its article (or why it gave none, in the words a poll
    /// stores).
    Read {
        body: Body,
        page: Result<crate::fulltext::ReadPage, String>,
    },
}

/// What reading an article page needs of its source: the feed's URL (a
/// page may reach a private address only on its origin, see
/// `Fetcher::fetch_page`), whether the source allows private addresses, its
/// `full_text_selector` and its site (the selector applies on it only).
#[derive(Clone, Copy)]
pub struct PageSource<'a> {
    pub feed_url: &'a url::Url,
    pub allows_private: bool,
    pub selector: Option<&'a scraper::Selector>,
    pub normalizer: &'a crate::normalize::Normalizer,
}

/// Fetches `page_url` through the poll's fetcher (`Fetcher::fetch_page`)
/// and reads its article as a poll does (`fulltext::read_page`), storing
/// nothing.
pub async fn read_article_page(
    fetcher: &Fetcher,
    page_url: &url::Url,
    source: PageSource<'_>,
) -> Result<PageRead, FetchError> {
    let fetched = fetcher
        .fetch_page(page_url, source.feed_url, source.allows_private)
        .await?;
    Ok(match fetched {
        Fetched::NotModified { status, .. } => PageRead::NoBody { status },
        Fetched::Body(body) => {
            let page = crate::fulltext::read_page(
                &body,
                source.feed_url,
                source.selector,
                source.normalizer,
            );
            PageRead::Read { body, page }
        }
    })
}
