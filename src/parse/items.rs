//! A feed-rs `Entry` → our `ParsedItem` (`item`): the link, the content
//! (base64 decoded), the URLs in it made absolute (`urls`).

use feed_rs::model::{Entry, Link};
use url::Url;

use super::extras::{categories, enclosures, is_enclosure};
use super::urls::{absolute, absolutize_html, resolve};
use crate::model::ParsedItem;

/// The stand-in `<link>` `prepass` gives RSS 1.0 items that have none
/// (feed-rs drops link-less RSS 1.0 items, yet title-only and
/// description-only items are real); removed again in `item`.
pub(super) const NO_LINK: &str = "urn:newsriver:no-link";

/// One entry as we keep it, or `None` when it has neither a title, nor
/// text, nor a link (nothing to show; counted in `ParsedFeed::skipped`).
///
/// URLs come out absolute: the link against the feed (feed-rs has already
/// applied `xml:base` to Atom links), and every `href`, `src`, `srcset`,
/// `poster`, `cite` in the HTML against the content's `xml:base` (feed-rs
/// reports it as `Entry::base` and applies it to nothing), else the entry's
/// link, else the feed's URL. A relative URL that cannot be resolved is
/// dropped: feed readers get our feeds from another host.
pub(super) fn item(e: Entry, feed_base: Option<&Url>) -> Option<ParsedItem> {
    let links: Vec<Link> = e
        .links
        .into_iter()
        .filter(|l| l.href.trim() != NO_LINK)
        .collect();
    let enclosures = enclosures(&links, &e.media, feed_base);
    let categories = categories(&e.categories);
    let guid = non_empty(e.id);
    // Atom entries often have no <link> but an http(s) URL as their id.
    // Each parsed once: the link as kept, and as the base of its content.
    let (link, link_url) = main_link(&links)
        .and_then(|l| absolute(&l, feed_base))
        .or_else(|| {
            guid.as_deref()
                .and_then(|g| Url::parse(g).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(|u| (String::from(u.clone()), u))
        })
        .unzip();
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
        enclosures,
        categories,
    })
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The item's own page: an alternate link, else the first one that is no
/// enclosure (a podcast's audio file is not its page).
pub(super) fn main_link(links: &[Link]) -> Option<String> {
    links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate") && !is_enclosure(l))
        .or_else(|| links.iter().find(|l| !is_enclosure(l)))
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// Base64 text (whitespace allowed) that decodes to UTF-8.
pub(super) fn from_base64(text: &str) -> Option<String> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()?;
    String::from_utf8(bytes).ok()
}
