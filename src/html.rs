//! HTML helpers with no boilerplate rules in them: the guard against
//! hostile nesting (`too_deep`), markup as lines of text (`html_to_lines`,
//! `strip_tags`) and entity decoding. Used by `normalize`, and through its
//! re-exports by `fulltext`, `publish` and `discover`.
//!
//! Imports only `text` from the crate.

use scraper::{Html, Node};

use crate::text::{collapse_ws, nfkc};

/// Decodes HTML entities in a plain-text field (titles often carry them twice).
pub fn decode_entities(s: &str) -> String {
    if s.contains('&') {
        html_escape::decode_html_entities(s).into_owned()
    } else {
        s.to_string()
    }
}

pub(crate) const BLOCK_ELEMENTS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "pre",
    "hr",
    "figure",
    "figcaption",
    "dd",
    "dt",
    "dl",
    "aside",
    "nav",
    "center",
];
const SKIPPED_ELEMENTS: &[&str] = &[
    "script", "style", "noscript", "template", "head", "title", "iframe", "object",
];

/// Deeper HTML than this is not given to the HTML parser: html5ever's tree
/// building is quadratic in nesting depth (100,000 nested `<div>`s take
/// ~20 s), a denial of service from one hostile feed. Such markup is read as
/// text with its tags dropped.
pub const MAX_HTML_DEPTH: usize = 256;

/// More start tags than this are not given to the HTML parser either: the
/// work stays bounded whatever the nesting (a long article has a few
/// thousand).
pub const MAX_HTML_TAGS: usize = 10_000;

/// Elements that never have content (the parser never pushes them).
const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen", "frame",
];

/// Start tags that close an open element of the same family when it is
/// the current one (`<p>a<p>b`, `<li>`s, cells and rows left open):
/// counting those as nested would call ordinary HTML deep.
const CLOSES_CURRENT: &[(&str, &[&str])] = &[
    ("p", &["p"]),
    ("li", &["li"]),
    ("dt", &["dt", "dd"]),
    ("dd", &["dt", "dd"]),
    ("td", &["td", "th"]),
    ("th", &["td", "th"]),
    ("tr", &["td", "th", "tr"]),
    ("option", &["option"]),
];

/// Elements an end tag of another name does not close its way through
/// (HTML's "special" elements and scope boundaries): `<div><table><td></div>`
/// leaves the div open, so this counter must too. Elements with implied end
/// tags (p, li, dt, dd, option) are not here: `<div><p>text</div>` closes both.
const END_TAG_STOPS: &[&str] = &[
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "td",
    "th",
    "caption",
    "template",
    "object",
    "applet",
    "marquee",
    "html",
    "body",
    "div",
    "ul",
    "ol",
    "dl",
    "section",
    "article",
    "aside",
    "nav",
    "header",
    "footer",
    "main",
    "blockquote",
    "figure",
    "form",
    "button",
    "select",
    "svg",
    "math",
    "center",
    "details",
    "fieldset",
    "address",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
];

fn is_one_of(name: &str, set: &[&str]) -> bool {
    set.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Is the markup nested deeper than `limit`, or longer than `MAX_HTML_TAGS`
/// tags? A linear scan that counts the way an HTML parser does, so that it
/// is never below the parser's depth: a trailing `/` on a non-void tag is
/// ignored (`<div/>` opens a div), an end tag closes only an element that
/// is open and reachable (see `END_TAG_STOPS`), and a stray one (`</p>`
/// with no `<p>` open) closes nothing. It may count higher than the parser
/// (it knows fewer implied end tags), which only means the text is shown
/// without its markup. Hand-written: no crate bounds html5ever's work, and
/// this must be cheaper than the parse it guards.
pub fn too_deep(html: &str, limit: usize) -> bool {
    let bytes = html.as_bytes();
    // Open elements, as slices of `html`.
    let mut open: Vec<&str> = Vec::new();
    let mut tags = 0usize;
    let mut i = 0;
    let name_at = |from: usize| -> &str {
        let end = bytes[from..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |e| from + e);
        &html[from..end]
    };
    while let Some(off) = bytes[i..].iter().position(|b| *b == b'<') {
        i += off + 1;
        match bytes.get(i) {
            Some(b'/') if bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) => {
                let name = name_at(i + 1);
                for at in (0..open.len()).rev() {
                    if open[at].eq_ignore_ascii_case(name) {
                        open.truncate(at);
                        break;
                    }
                    if is_one_of(open[at], END_TAG_STOPS) {
                        break;
                    }
                }
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let name = name_at(i);
                tags += 1;
                if tags > MAX_HTML_TAGS {
                    return true;
                }
                if is_one_of(name, VOID_ELEMENTS) {
                    continue;
                }
                if let Some((_, closes)) = CLOSES_CURRENT
                    .iter()
                    .find(|(tag, _)| tag.eq_ignore_ascii_case(name))
                {
                    // `tr` closes an open cell, then the row it is in.
                    for _ in 0..2 {
                        if open.last().is_some_and(|top| is_one_of(top, closes)) {
                            open.pop();
                        }
                    }
                }
                open.push(name);
                if open.len() > limit {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Markup as text without an HTML parser: tags become line breaks.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                out.push('\n');
            }
            (true, '>') => in_tag = false,
            (false, c) => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out)
}

/// HTML (or plain text) → NFKC'd, whitespace-collapsed, non-empty lines, one
/// per block element.
pub fn html_to_lines(html: &str) -> Vec<String> {
    let raw = if html.contains('<') && too_deep(html, MAX_HTML_DEPTH) {
        strip_tags(html)
    } else if html.contains('<') {
        let doc = Html::parse_fragment(html);
        let mut out = String::with_capacity(html.len());
        let mut skip_depth = 0usize;
        for edge in doc.tree.root().traverse() {
            match edge {
                ego_tree::iter::Edge::Open(node) => match node.value() {
                    Node::Element(e) => {
                        let name = e.name();
                        if SKIPPED_ELEMENTS.contains(&name) {
                            skip_depth += 1;
                        } else if BLOCK_ELEMENTS.contains(&name) {
                            out.push('\n');
                        }
                    }
                    Node::Text(t) if skip_depth == 0 => out.push_str(t),
                    _ => {}
                },
                ego_tree::iter::Edge::Close(node) => {
                    if let Node::Element(e) = node.value() {
                        let name = e.name();
                        if SKIPPED_ELEMENTS.contains(&name) {
                            skip_depth = skip_depth.saturating_sub(1);
                        } else if BLOCK_ELEMENTS.contains(&name) {
                            out.push('\n');
                        }
                    }
                }
            }
        }
        out
    } else {
        decode_entities(html)
    };
    raw.lines()
        .map(|l| collapse_ws(&nfkc(l)))
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_scripts_and_blocks() {
        let lines = html_to_lines(
            "<p>A&amp;B&nbsp;&#8226; 中</p><script>var x=1;</script><div>第二段</div>",
        );
        assert_eq!(lines, vec!["A&B • 中", "第二段"]);
    }
}
