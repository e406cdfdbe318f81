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
