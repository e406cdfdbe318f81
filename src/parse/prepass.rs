//! The pre-pass: what feed-rs cannot read, rewritten into what it can
//! (`prepass`), with the Atom rewrites in `atom` and the RSS ones in `rss`.

use super::Scan;
use super::atom::{ATOM03_NS, ATOM10_NS, atom03_to_10, atom10_fixups};
use super::rss::{RSS11_NS, rss_fixups, rss11_to_10};

/// What `prepass` made of a document.
pub(super) struct Prepared {
    /// The rewritten document, when anything was rewritten.
    pub(super) text: Option<String>,
    /// It was Atom 0.3.
    pub(super) atom03: bool,
    /// `scan_xml` of the document, when the pass worked it out (RSS read
    /// as it came: `rss_fixups`).
    pub(super) scan: Option<Scan>,
}

const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";

const USERLAND_NS: &str = " xmlns=\"http://backend.userland.com/rss2\"";

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
///
/// `limit`: the nesting `scan_xml` checks, for the scan the RSS pass makes
/// on the way.
pub(super) fn prepass(text: &str, limit: usize) -> Prepared {
    if text.contains(ATOM03_NS) {
        let text = atom03_to_10(text);
        return Prepared {
            text: Some(atom10_fixups(&text).unwrap_or(text)),
            atom03: true,
            scan: None,
        };
    }
    if text.contains(ATOM10_NS) {
        return Prepared {
            text: atom10_fixups(text),
            atom03: false,
            scan: None,
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
        let (fixed, scan) = rss_fixups(text, limit);
        // The scan is of the document given only when nothing renamed it.
        let scan = scan.filter(|_| renamed.is_none() && rss11.is_none());
        return Prepared {
            text: fixed.or(renamed).or(rss11),
            atom03: false,
            scan,
        };
    }
    Prepared {
        text: renamed.or(rss11),
        atom03: false,
        scan: None,
    }
}
