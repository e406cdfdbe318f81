//! HTML helpers with no boilerplate rules in them: what may be given to the
//! HTML parser (`for_parser`: tags bounded by `bound_tags`, then the
//! depth, tag and node guard `too_deep`), markup as lines of text
//! (`html_to_lines`, `strip_tags`), entity decoding (`decode_entities`) and
//! cutting HTML to a size (`cut_html`). Used by `normalize`, and through its
//! re-exports by `fulltext`, `publish` and `discover`.
//!
//! Imports only `text` from the crate.

use std::borrow::Cow;

use scraper::{Html, Node};

use crate::text::nfkc_collapsed;

/// Decodes every character reference in a plain-text field (titles often
/// carry them twice): named ones as HTML defines them, numeric ones to
/// their character, except those no text should hold — NUL, surrogates,
/// beyond U+10FFFF, C0 controls but tab/LF/CR, DEL, U+FFFE/U+FFFF — which
/// decode to nothing (left as `&#x1;`, the control-character passes after
/// this never saw them, and a reader decoding once more found U+0001).
/// `&#128;`–`&#159;` are windows-1252, as browsers read them.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let from = &rest[at..];
        let used = match from.as_bytes().get(1) {
            Some(b'#') => numeric_reference(from, &mut out),
            Some(c) if c.is_ascii_alphanumeric() => {
                // One named reference alone, so nothing it decodes to is
                // decoded again (`&amp;lt;` is `&lt;`, not `<`).
                let end = from[1..]
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .map_or(from.len(), |e| e + 1);
                let end = if from[end..].starts_with(';') {
                    end + 1
                } else {
                    end
                };
                out.push_str(&html_escape::decode_html_entities(&from[..end]));
                end
            }
            _ => {
                out.push('&');
                1
            }
        };
        rest = &from[used..];
    }
    out.push_str(rest);
    out
}

/// `&#…;` or `&#x…;` at the start of `s` (the `;` may be missing): pushes
/// what it decodes to onto `out`, returns the bytes it took. Not a
/// reference (`&#` and no digit): the `&` is text.
fn numeric_reference(s: &str, out: &mut String) -> usize {
    let b = s.as_bytes();
    let hex = matches!(b.get(2), Some(b'x' | b'X'));
    let start = if hex { 3 } else { 2 };
    let len = b[start..]
        .iter()
        .take_while(|c| {
            if hex {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        })
        .count();
    if len == 0 {
        out.push('&');
        return 1;
    }
    let digits = s[start..start + len].trim_start_matches('0');
    // Past eight digits it is beyond U+10FFFF whatever they are.
    let value = if digits.len() > 8 {
        None
    } else if digits.is_empty() {
        Some(0)
    } else {
        u32::from_str_radix(digits, if hex { 16 } else { 10 }).ok()
    };
    if let Some(c) = value.and_then(reference_char) {
        out.push(c);
    }
    let end = start + len;
    if b.get(end) == Some(&b';') {
        end + 1
    } else {
        end
    }
}

/// The character a numeric reference stands for, or `None` for those no
/// text should carry.
fn reference_char(value: u32) -> Option<char> {
    // windows-1252 in 0x80–0x9F (HTML's table); its five holes are nothing.
    const C1: [u32; 32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
        0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
        0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ];
    let value = match value {
        0x80..=0x9F => C1[(value - 0x80) as usize],
        v => v,
    };
    let c = char::from_u32(value)?;
    let forbidden = matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}' | '\u{fffe}' | '\u{ffff}');
    (!forbidden).then_some(c)
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

/// At most this many attributes per tag are given to the HTML parser:
/// html5ever checks each new attribute against all the tag's others, so one
/// tag with 400,000 distinct attributes (6.5 MB) cost minutes of CPU.
pub const MAX_TAG_ATTRIBUTES: usize = 64;

/// A tag (name and attributes, as written out again) is at most this long:
/// longer attributes are dropped from it.
pub const MAX_TAG_BYTES: usize = 8 * 1024;

/// Elements whose content the HTML tokenizer reads as text, not markup,
/// up to their end tag (RAWTEXT, RCDATA, script data).
const RAW_TEXT: &[&str] = &[
    "script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title",
];

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// One tag as the HTML tokenizer reads it (WHATWG tokenizer, tag states):
/// positions in the source.
struct Tag {
    name: std::ops::Range<usize>,
    /// (name, value): the first `MAX_TAG_ATTRIBUTES` that fit in
    /// `MAX_TAG_BYTES`; the others are counted and dropped.
    attrs: Vec<(std::ops::Range<usize>, Option<std::ops::Range<usize>>)>,
    self_closing: bool,
    /// Just past the `>`.
    end: usize,
}

/// Reads the tag whose name starts at `at` (just after `<` or `</`). `None`
/// when the input ends inside it (the tokenizer drops such a tag).
fn read_tag(b: &[u8], at: usize) -> Option<Tag> {
    let mut j = at;
    while j < b.len() && !is_space(b[j]) && !matches!(b[j], b'/' | b'>') {
        j += 1;
    }
    let mut tag = Tag {
        name: at..j,
        attrs: Vec::new(),
        self_closing: false,
        end: 0,
    };
    let mut room = MAX_TAG_BYTES.saturating_sub(j - at);
    loop {
        // Before attribute name (and self-closing start tag).
        while j < b.len() && (is_space(b[j]) || b[j] == b'/') {
            if b[j] == b'/' && b.get(j + 1) == Some(&b'>') {
                tag.self_closing = true;
            }
            j += 1;
        }
        match b.get(j) {
            None => return None,
            Some(b'>') => {
                tag.end = j + 1;
                return Some(tag);
            }
            Some(_) => {}
        }
        // Attribute name: its first character may be `=`.
        let name_start = j;
        j += 1;
        while j < b.len() && !is_space(b[j]) && !matches!(b[j], b'/' | b'>' | b'=') {
            j += 1;
        }
        let name = name_start..j;
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        let mut value = None;
        if b.get(j) == Some(&b'=') {
            j += 1;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            match b.get(j) {
                None => return None,
                Some(&q @ (b'"' | b'\'')) => {
                    let close = b[j + 1..].iter().position(|c| *c == q)? + j + 1;
                    value = Some(j + 1..close);
                    j = close + 1;
                }
                // `a=>`: an empty value, and the tag ends.
                Some(b'>') => value = Some(j..j),
                Some(_) => {
                    let start = j;
                    while j < b.len() && !is_space(b[j]) && b[j] != b'>' {
                        j += 1;
                    }
                    value = Some(start..j);
                }
            }
        }
        // Written out as ` name="value"` (see `push_tag`), quotes escaped.
        let cost = 4
            + name.len()
            + value.as_ref().map_or(0, |v| {
                let quotes = b[v.clone()]
                    .iter()
                    .filter(|c| matches!(c, b'"' | b'<' | b'>'));
                v.len() + 5 * quotes.count()
            });
        // A name starting with `=` (a parse error) would read back as the
        // value of the attribute before it: dropped.
        let odd = b[name.start] == b'=';
        if !odd && tag.attrs.len() < MAX_TAG_ATTRIBUTES && cost <= room {
            room -= cost;
            tag.attrs.push((name, value));
        }
    }
}

/// Writes `tag` out with its kept attributes, every value double-quoted
/// with `"`, `<` and `>` escaped: the parser reads it back the same, and
/// `too_deep` finds each tag's end at its first `>`.
fn push_tag(out: &mut String, html: &str, tag: &Tag, end_tag: bool) {
    out.push_str(if end_tag { "</" } else { "<" });
    let mut name_end = tag.name.end.min(tag.name.start + MAX_TAG_BYTES);
    while !html.is_char_boundary(name_end) {
        name_end -= 1;
    }
    out.push_str(&html[tag.name.start..name_end]);
    if !end_tag {
        for (name, value) in &tag.attrs {
            out.push(' ');
            out.push_str(&html[name.clone()]);
            if let Some(v) = value {
                out.push_str("=\"");
                for c in html[v.clone()].chars() {
                    match c {
                        '"' => out.push_str("&quot;"),
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
        }
        if tag.self_closing {
            out.push_str(" /");
        }
    }
    out.push('>');
}

/// Where the text of raw-text element `name` ends in `b` (from `from`): at
/// its end tag `</name` followed by a space, `/` or `>`, else at the end.
fn raw_text_end(b: &[u8], from: usize, name: &[u8]) -> usize {
    let mut j = from;
    while let Some(off) = b[j..].windows(2).position(|w| w == b"</") {
        let at = j + off;
        let after = at + 2 + name.len();
        if b.len() >= after
            && b[at + 2..after].eq_ignore_ascii_case(name)
            && b.get(after)
                .is_none_or(|c| is_space(*c) || matches!(c, b'/' | b'>'))
        {
            return at;
        }
        j = at + 2;
    }
    b.len()
}

/// Text for the parser: `<` as `&lt;`, so no markup hides in it.
fn push_text(out: &mut String, text: &str) {
    for (i, part) in text.split('<').enumerate() {
        if i > 0 {
            out.push_str("&lt;");
        }
        out.push_str(part);
    }
}

/// Where the comment or declaration starting at `at` (`<!` or `<?`) ends,
/// as the tokenizer reads it: a comment at `-->` or `--!>` (`<!-->` and
/// `<!--->` at once), anything else at its first `>`; at the end of the
/// input when it never closes.
fn comment_end(b: &[u8], at: usize) -> usize {
    let find = |from: usize, pat: &[u8]| {
        b.get(from..)
            .and_then(|rest| rest.windows(pat.len()).position(|w| w == pat))
            .map(|p| from + p + pat.len())
    };
    if b[at..].starts_with(b"<!--") {
        let body = at + 4;
        if b[body..].starts_with(b">") {
            return body + 1;
        }
        if b[body..].starts_with(b"->") {
            return body + 2;
        }
        let mut j = body;
        while let Some(dashes) = find(j, b"--") {
            // `dashes` is just past `--`.
            if b.get(dashes) == Some(&b'>') {
                return dashes + 1;
            }
            if b[dashes..].starts_with(b"!>") {
                return dashes + 2;
            }
            j = dashes - 1;
        }
        return b.len();
    }
    find(at + 1, b">").unwrap_or(b.len())
}

/// The markup rewritten so that the HTML parser's work on it is bounded by
/// its size: every tag keeps at most `MAX_TAG_ATTRIBUTES` attributes in at
/// most `MAX_TAG_BYTES` (the others are dropped before any parser sees
/// them), end tags lose their attributes, comments and processing
/// instructions go, text keeps no `<`, and the text of raw-text elements
/// (`script`, `style`, `textarea`…) is escaped. What comes out tokenizes
/// the same in any parser state (no comment, raw text or quoted `>` can
/// hide a tag from this pass and show it to the parser), so `too_deep` reads
/// it as the parser will. Text and tags within the limits are unchanged.
///
/// Hand-written: html5ever has no limit on attributes (its duplicate check
/// is quadratic), and this is the tokenizer's tag states only, linear, with
/// none of the tree building.
pub fn bound_tags(html: &str) -> Cow<'_, str> {
    if !html.contains('<') {
        return Cow::Borrowed(html);
    }
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    let mut i = 0;
    // `str::find` looks for the byte with memchr, many bytes a step (`i`
    // is always just past an ASCII byte of markup, a character boundary).
    while let Some(off) = html.get(i..).and_then(|rest| rest.find('<')) {
        let lt = i + off;
        out.push_str(&html[i..lt]);
        i = match b.get(lt + 1) {
            Some(b'!' | b'?') => {
                let end = comment_end(b, lt);
                let decl = &html[lt..end];
                // A doctype stays (it decides quirks mode); comments go.
                if decl.len() > 9
                    && decl.as_bytes()[..9].eq_ignore_ascii_case(b"<!doctype")
                    && decl.ends_with('>')
                    && !decl[1..].contains('<')
                {
                    out.push_str(decl);
                }
                end
            }
            Some(b'/') => match b.get(lt + 2) {
                Some(c) if c.is_ascii_alphabetic() => match read_tag(b, lt + 2) {
                    Some(tag) => {
                        push_tag(&mut out, html, &tag, true);
                        tag.end
                    }
                    None => b.len(),
                },
                // `</>` is nothing; `</` at the end is text.
                Some(b'>') => lt + 3,
                None => {
                    out.push_str("&lt;/");
                    b.len()
                }
                Some(_) => comment_end(b, lt),
            },
            Some(c) if c.is_ascii_alphabetic() => match read_tag(b, lt + 1) {
                Some(tag) => {
                    push_tag(&mut out, html, &tag, false);
                    let name = &b[tag.name.clone()];
                    if name.eq_ignore_ascii_case(b"plaintext") {
                        push_text(&mut out, &html[tag.end..]);
                        b.len()
                    } else if RAW_TEXT
                        .iter()
                        .any(|r| name.eq_ignore_ascii_case(r.as_bytes()))
                    {
                        let end = raw_text_end(b, tag.end, name);
                        push_text(&mut out, &html[tag.end..end]);
                        end
                    } else {
                        tag.end
                    }
                }
                None => b.len(),
            },
            _ => {
                out.push_str("&lt;");
                lt + 1
            }
        };
    }
    out.push_str(&html[i..]);
    if out == html {
        Cow::Borrowed(html)
    } else {
        Cow::Owned(out)
    }
}

fn is_one_of(name: &str, set: &[&str]) -> bool {
    set.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// The HTML parser may build at most this many elements from one text:
/// the start tags, and the copies it makes of formatting elements left open
/// (`<b>`, `<font>`…: rebuilt in every later paragraph, each with its
/// attributes, a copy counting one more per 64 bytes of them). `<p>` + 250
/// `<b id=N>` + `</p>` then 9,000 `<p>x</p>` (147 KB) made 2.25 million.
pub const MAX_HTML_NODES: usize = 50_000;

/// Formatting elements: the parser keeps them in its list of active
/// formatting elements and rebuilds those a block end closed.
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// Start tags that do not rebuild the formatting elements (the block
/// elements and tables); every other start tag and every text does.
const NO_REBUILD: &[&str] = &[
    "caption", "col", "colgroup", "tbody", "td", "tfoot", "th", "thead", "html", "head", "body",
    "meta", "link", "base", "title", "style", "script", "template", "frameset", "frame", "menu",
    "main", "search", "dialog", "hgroup", "summary", "details", "dir", "listing", "form",
];

/// More entries than this in the list of active formatting elements is
/// hostile (a page leaves a handful open): read as text.
const MAX_ACTIVE_FORMATTING: usize = 512;

/// An entry's HTML as readers get it is at most this long (`Normalizer::
/// clean_html`, `publish`): a topic feed holds at most its entries' worth.
pub const MAX_SHOWN_HTML_BYTES: usize = 256 * 1024;

/// The parser's list of active formatting elements, as far as its cost
/// goes: a superset of the parser's (no markers: a table cell does not
/// hide the entries before it), so what it counts is never less.
#[derive(Default)]
struct Formatting<'a> {
    /// (name, attributes as written, weight).
    entries: Vec<(&'a str, &'a str, usize)>,
    /// The sum of the entries' weights: what rebuilding them all costs.
    weight: usize,
}

impl<'a> Formatting<'a> {
    /// A formatting element opens. The parser keeps at most three entries
    /// with the same name and attributes (the "Noah's Ark" clause); `attrs`
    /// compared as written, so never fewer than the parser keeps.
    fn push(&mut self, name: &'a str, attrs: &'a str) {
        let same = |e: &&(&str, &str, usize)| e.0.eq_ignore_ascii_case(name) && e.1 == attrs;
        if self.entries.iter().filter(same).count() >= 3
            && let Some(first) = self.entries.iter().position(|e| same(&e))
        {
            self.weight -= self.entries.remove(first).2;
        }
        let weight = 1 + attrs.len() / 64;
        self.entries.push((name, attrs, weight));
        self.weight += weight;
    }

    /// `</name>`: the last entry of that name leaves the list. False when
    /// there is none (an ordinary end tag for the parser).
    fn close(&mut self, name: &str) -> bool {
        match self
            .entries
            .iter()
            .rposition(|e| e.0.eq_ignore_ascii_case(name))
        {
            Some(at) => {
                self.weight -= self.entries.remove(at).2;
                true
            }
            None => false,
        }
    }
}

/// Is the markup nested deeper than `limit`, longer than `MAX_HTML_TAGS`
/// tags, or would the parser build more than `MAX_HTML_NODES` elements
/// from it? A linear scan that counts the way an HTML parser does, so that
/// it is never below the parser's depth: a trailing `/` on a non-void tag
/// is ignored (`<div/>` opens a div), an end tag closes only an element
/// that is open and reachable (see `END_TAG_STOPS`), and a stray one
/// (`</p>` with no `<p>` open) closes nothing. It may count higher than the
/// parser (it knows fewer implied end tags), which only means the text is
/// shown without its markup. Formatting elements are counted as rebuilt
/// (all of them, with their attributes) at every text and every start tag
/// that makes the parser rebuild them, an upper bound of what it builds.
/// Exact on `bound_tags`'s output (a tag ends at its first `>`); on other
/// markup it may count more. Hand-written: no crate bounds html5ever's
/// work, and this must be cheaper than the parse it guards.
pub fn too_deep(html: &str, limit: usize) -> bool {
    parse_cost(html, limit).is_none_or(|nodes| nodes > MAX_HTML_NODES)
}

/// How many elements the parser may build from `html` (an upper bound, see
/// `too_deep`), or `None` past `limit` levels or `MAX_HTML_TAGS` tags.
pub fn parse_cost(html: &str, limit: usize) -> Option<usize> {
    let bytes = html.as_bytes();
    // Open elements, as slices of `html`.
    let mut open: Vec<&str> = Vec::new();
    let mut formatting = Formatting::default();
    let mut tags = 0usize;
    let mut nodes = 0usize;
    let mut i = 0;
    let name_at = |from: usize| -> &str {
        let end = bytes[from..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |e| from + e);
        &html[from..end]
    };
    // Where text may start: after the last tag's `>`. Any text (a space,
    // a `>`) before the next tag makes the parser rebuild.
    let mut text_from = 0;
    while let Some(off) = html.get(i..).and_then(|rest| rest.find('<')) {
        let lt = i + off;
        if lt > text_from {
            nodes += formatting.weight;
        }
        i = lt + 1;
        // This tag's end: its first `>` (values hold none after
        // `bound_tags`); in other markup, the next `<` if that comes first.
        let tag_end = bytes[i..]
            .iter()
            .position(|b| matches!(b, b'>' | b'<'))
            .map_or(bytes.len(), |e| i + e);
        let is_tag = bytes.get(i).is_some_and(u8::is_ascii_alphabetic)
            || (bytes.get(i) == Some(&b'/')
                && bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic));
        text_from = if !is_tag {
            // `<` as text: the text goes on.
            lt
        } else if bytes.get(tag_end) == Some(&b'>') {
            tag_end + 1
        } else {
            tag_end
        };
        match bytes.get(i) {
            Some(b'/') if bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) => {
                let name = name_at(i + 1);
                let current = open.last().is_some_and(|t| t.eq_ignore_ascii_case(name));
                if is_one_of(name, FORMATTING) && formatting.close(name) && !current {
                    // Misnested: the adoption agency, at most 8 rounds of
                    // a few copies.
                    nodes += 32;
                }
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
                nodes += 1;
                if tags > MAX_HTML_TAGS {
                    return None;
                }
                if !is_one_of(name, BLOCK_ELEMENTS) && !is_one_of(name, NO_REBUILD) {
                    nodes += formatting.weight;
                }
                if is_one_of(name, FORMATTING) {
                    if name.eq_ignore_ascii_case("a") && formatting.close(name) {
                        // `<a>` inside an open `<a>` closes it first.
                        nodes += 32;
                    }
                    formatting.push(name, &html[i + name.len()..tag_end]);
                    if formatting.entries.len() > MAX_ACTIVE_FORMATTING {
                        return None;
                    }
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
                    return None;
                }
            }
            _ => {}
        }
    }
    if bytes.len() > text_from {
        nodes += formatting.weight;
    }
    Some(nodes)
}

/// The markup the HTML parser may be given (`bound_tags`'s rewriting), or
/// `None` when even that is too deep, too long or would build too many
/// elements (`too_deep`): read it as text (`strip_tags`).
pub fn for_parser(html: &str) -> Option<Cow<'_, str>> {
    let bounded = bound_tags(html);
    (!too_deep(&bounded, MAX_HTML_DEPTH)).then_some(bounded)
}

/// `html` cut to at most `max` bytes, before a `<` (not inside a tag) where
/// there is one in the last quarter, else at a character boundary. The cut
/// may leave elements open or a character reference half; the caller
/// parses or sanitizes it again, which closes them.
pub fn cut_html(html: &str, max: usize) -> &str {
    if html.len() <= max {
        return html;
    }
    let mut end = max;
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let head = &html[..end];
    match head.rfind('<') {
        Some(at) if at >= max - max / 4 => &html[..at],
        _ => head,
    }
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
    let bounded = if html.contains('<') {
        for_parser(html)
    } else {
        None
    };
    let raw = if let Some(bounded) = bounded {
        simple_markup_text(&bounded).unwrap_or_else(|| tree_text(&bounded))
    } else if html.contains('<') {
        strip_tags(html)
    } else {
        decode_entities(html)
    };
    raw.lines()
        .map(nfkc_collapsed)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The text of markup as html5ever's tree holds it: text nodes in order, a
/// line break at each block element's start and end, nothing of the
/// skipped elements.
fn tree_text(bounded: &str) -> String {
    let doc = Html::parse_fragment(bounded);
    let mut out = String::with_capacity(bounded.len());
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
}

/// Elements the fast reading (`simple_markup_text`) knows: the block
/// elements (`BLOCK_ELEMENTS`, whose start and end are line breaks) but
/// these, then inline ones. Tables, `pre`, forms, scripts and anything
/// else go to the HTML parser.
const NOT_SIMPLE_BLOCKS: &[&str] = &["tr", "table", "pre"];
const SIMPLE_INLINE: &[&str] = &[
    "a", "span", "strong", "b", "em", "i", "u", "font", "sup", "sub", "small", "big", "s",
    "strike", "del", "ins", "cite", "abbr", "code", "q", "mark", "img", "wbr",
];
/// Of those, the void ones: no end tag, nothing inside.
const SIMPLE_VOID: &[&str] = &["br", "hr", "img", "wbr"];
/// Named character references read without the parser (the rest go to
/// it): those feeds use, with their values in the HTML standard's table.
const SIMPLE_ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{a0}'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("mdash", '—'),
    ("ndash", '–'),
    ("hellip", '…'),
    ("middot", '·'),
    ("bull", '•'),
    ("copy", '©'),
    ("reg", '®'),
    ("times", '×'),
    ("deg", '°'),
    ("yen", '¥'),
    ("laquo", '«'),
    ("raquo", '»'),
    ("ensp", '\u{2002}'),
    ("emsp", '\u{2003}'),
    ("thinsp", '\u{2009}'),
];

/// `tree_text` of markup simple enough to read without building a tree,
/// as one pass over it; `None` for anything else (then the parser reads
/// it). Simple: only the elements above, each closed in the order opened
/// (or left open at the end), none that html5ever's tree builder would
/// close or move by itself (a block inside an open `p`, an `li` in an
/// `li`, an `a` in an `a`), character references of the table above or
/// numeric ones to ordinary characters, no comments, no carriage return or
/// NUL. Then the tree holds the same text in the same order, with a line
/// break at the same places; a twin test holds the two readings together.
/// html5ever's tokenizer and tree builder were a sixth of the parallel
/// stage's instructions on the real-length farm, for markup of `<p>`,
/// `<br>`, `<img>`, `<a>` and `<strong>` nearly always (issue 24).
fn simple_markup_text(html: &str) -> Option<String> {
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut open: Vec<&'static str> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let Some(at) = b[i..]
            .iter()
            .position(|&c| matches!(c, b'<' | b'&' | b'\r' | b'\0'))
        else {
            out.push_str(&html[i..]);
            break;
        };
        out.push_str(&html[i..i + at]);
        i += at;
        match b[i] {
            b'&' => {
                let (c, len) = simple_reference(&b[i + 1..])?;
                out.push(c);
                i += 1 + len;
            }
            b'<' => match b.get(i + 1) {
                Some(b'/') => {
                    let (name, len) = tag_name(&b[i + 2..])?;
                    let end = i + 2 + len;
                    if b.get(end) != Some(&b'>') || open.last() != Some(&name) {
                        return None;
                    }
                    open.pop();
                    if BLOCK_ELEMENTS.contains(&name) {
                        out.push('\n');
                    }
                    i = end + 1;
                }
                Some(c) if c.is_ascii_alphabetic() => {
                    let (name, len) = tag_name(&b[i + 1..])?;
                    i = tag_end(b, i + 1 + len)?;
                    if !may_open(&open, name) {
                        return None;
                    }
                    if BLOCK_ELEMENTS.contains(&name) {
                        out.push('\n');
                    }
                    // A void element ends where it starts (one line break
                    // stands for its start and end).
                    if !SIMPLE_VOID.contains(&name) {
                        open.push(name);
                    }
                }
                // `<!--`, `<?`, `</ `: comments and bogus ones.
                Some(b'!' | b'?') => return None,
                // A `<` that opens no tag is text.
                _ => {
                    out.push('<');
                    i += 1;
                }
            },
            _ => return None,
        }
    }
    // Elements left open end with the fragment.
    for name in open.iter().rev() {
        if BLOCK_ELEMENTS.contains(name) {
            out.push('\n');
        }
    }
    Some(out)
}

/// A tag's name at the start of `b` (ASCII letters and digits, lowercased)
/// when it is one `simple_markup_text` knows, and its length.
fn tag_name(b: &[u8]) -> Option<(&'static str, usize)> {
    let len = b
        .iter()
        .position(|c| !c.is_ascii_alphanumeric())
        .unwrap_or(b.len());
    if len == 0 || len > 10 || !b[0].is_ascii_alphabetic() {
        return None;
    }
    let mut lower = [0u8; 10];
    for (l, c) in lower.iter_mut().zip(&b[..len]) {
        *l = c.to_ascii_lowercase();
    }
    let name = std::str::from_utf8(&lower[..len]).ok()?;
    BLOCK_ELEMENTS
        .iter()
        .filter(|n| !NOT_SIMPLE_BLOCKS.contains(n))
        .chain(SIMPLE_INLINE)
        .find(|n| **n == name)
        .map(|n| (*n, len))
}

/// After a start tag's name at `i`: its attributes as HTML's tokenizer
/// reads them, to just past its `>`; `None` where the tokenizer would
/// report an error (or the fragment ends inside the tag).
fn tag_end(b: &[u8], mut i: usize) -> Option<usize> {
    let space = |c: u8| matches!(c, b'\t' | b'\n' | b'\x0c' | b' ');
    loop {
        while space(*b.get(i)?) {
            i += 1;
        }
        match b[i] {
            b'>' => return Some(i + 1),
            b'/' => return (b.get(i + 1) == Some(&b'>')).then_some(i + 2),
            b'=' | b'"' | b'\'' | b'<' => return None,
            _ => {}
        }
        // The attribute's name.
        while !space(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            if matches!(b[i], b'"' | b'\'' | b'<') {
                return None;
            }
            i += 1;
            b.get(i)?;
        }
        while space(b[i]) {
            i += 1;
            b.get(i)?;
        }
        if b[i] != b'=' {
            continue;
        }
        i += 1;
        while space(*b.get(i)?) {
            i += 1;
        }
        match b[i] {
            q @ (b'"' | b'\'') => {
                i += 1 + b[i + 1..].iter().position(|&c| c == q)? + 1;
                // Another attribute, `/>` or `>` must follow.
                if !matches!(b.get(i)?, b'\t' | b'\n' | b'\x0c' | b' ' | b'/' | b'>') {
                    return None;
                }
            }
            b'>' => return Some(i + 1),
            _ => {
                while !space(b[i]) && b[i] != b'>' {
                    if matches!(b[i], b'"' | b'\'' | b'<' | b'=' | b'`') {
                        return None;
                    }
                    i += 1;
                    b.get(i)?;
                }
            }
        }
    }
}

/// May `name` open inside the elements `open` without html5ever's tree
/// builder closing one of them first?
fn may_open(open: &[&str], name: &str) -> bool {
    let heading = |n: &str| matches!(n, "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
    let nearest = |of: &[&str]| open.iter().rev().find(|n| of.contains(n)).copied();
    // Every block element it knows but `br` closes an open `p`.
    if BLOCK_ELEMENTS.contains(&name) && name != "br" && open.contains(&"p") {
        return false;
    }
    match name {
        "a" => !open.contains(&"a"),
        "li" => nearest(&["li", "ul", "ol"]) != Some("li"),
        "dd" | "dt" => !matches!(nearest(&["dd", "dt", "dl"]), Some("dd" | "dt")),
        n if heading(n) => !open.last().is_some_and(|l| heading(l)),
        _ => true,
    }
}

/// A character reference after its `&`, as the parser reads it, and its
/// length: one of `SIMPLE_ENTITIES` or a numeric one to an ordinary
/// character, with its `;`. An `&` that starts none (a space, a CJK
/// character after it) is itself. `None` for any other reference.
fn simple_reference(b: &[u8]) -> Option<(char, usize)> {
    match b.first() {
        Some(b'#') => {
            let (hex, from) = match b.get(1) {
                Some(b'x' | b'X') => (true, 2),
                _ => (false, 1),
            };
            let digits = b[from..]
                .iter()
                .position(|c| !c.is_ascii_hexdigit() || (!hex && !c.is_ascii_digit()))
                .unwrap_or(b.len() - from);
            if digits == 0 || digits > 7 || b.get(from + digits) != Some(&b';') {
                return None;
            }
            let text = std::str::from_utf8(&b[from..from + digits]).ok()?;
            let value = u32::from_str_radix(text, if hex { 16 } else { 10 }).ok()?;
            let ordinary = matches!(value, 0x09 | 0x0a | 0x20..=0x7e | 0xa0..=0xd7ff | 0xe000..=0xfdcf | 0xfdf0..=0xfffd)
                || (0x1_0000..=0x10_ffff).contains(&value) && value & 0xfffe != 0xfffe;
            ordinary
                .then(|| char::from_u32(value))
                .flatten()
                .map(|c| (c, from + digits + 1))
        }
        Some(c) if c.is_ascii_alphanumeric() => {
            let len = b
                .iter()
                .position(|c| !c.is_ascii_alphanumeric())
                .unwrap_or(b.len());
            if b.get(len) != Some(&b';') {
                return None;
            }
            let name = std::str::from_utf8(&b[..len]).ok()?;
            SIMPLE_ENTITIES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|&(_, c)| (c, len + 1))
        }
        _ => Some(('&', 0)),
    }
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

    #[test]
    fn every_character_reference_is_decoded_and_invalid_ones_to_nothing() {
        for (raw, text) in [
            ("a&#x1;b", "ab"),
            ("a&#1;b&#0;c&#x0000;d", "abcd"),
            ("<&#xD800;img", "<img"),
            ("a&#x110000;b&#99999999999999;c", "abc"),
            ("a&#x7f;b&#xFFFE;c&#x81;d", "abcd"),
            ("&#150;&#x93;引&#x94;", "–“引”"),
            ("&#65&#x42;&#x43", "ABC"),
            ("&#9;&#10;", "\t\n"),
            ("&amp;lt;", "&lt;"),
            ("&amp;#x1;", "&#x1;"),
            ("&lt;b&gt; &quot;&nbsp;&copy;", "<b> \"\u{a0}©"),
            ("AT&T, a & b, &# x, &#x;", "AT&T, a & b, &# x, &#x;"),
        ] {
            assert_eq!(decode_entities(raw), text, "{raw}");
        }
    }

    /// The most attributes the parser puts on one element of `html`.
    fn most_attributes(html: &str) -> usize {
        Html::parse_fragment(html)
            .tree
            .nodes()
            .filter_map(|n| n.value().as_element().map(|e| e.attrs().count()))
            .max()
            .unwrap_or(0)
    }

    fn attributes(n: usize) -> String {
        (0..n).map(|i| format!(" a{i}=\"v>{i}\"")).collect()
    }

    #[test]
    fn a_tag_with_400k_attributes_keeps_64_before_any_parser_sees_it() {
        let bomb = format!("<p>开头<span{}>中间</span>结尾</p>", attributes(400_000));
        assert!(bomb.len() > 6_000_000);
        let bounded = bound_tags(&bomb);
        assert!(bounded.len() < 2_000, "{}", bounded.len());
        assert_eq!(most_attributes(&bounded), MAX_TAG_ATTRIBUTES);
        assert_eq!(html_to_lines(&bomb), vec!["开头中间结尾"]);
        // Past MAX_TAG_BYTES, attributes go whatever their number; a name
        // alone that long is cut.
        let long = format!(
            "<img alt=\"{}\" src=\"x.jpg\"><i{}>",
            "长".repeat(5_000),
            "b".repeat(20_000)
        );
        let bounded = bound_tags(&long);
        assert_eq!(bounded.matches("长").count(), 0);
        assert!(
            bounded.starts_with("<img src=\"x.jpg\">"),
            "{}",
            &bounded[..40]
        );
        assert!(bounded.len() < MAX_TAG_BYTES + 100);
    }

    #[test]
    fn no_comment_raw_text_or_quote_hides_a_tag_from_the_attribute_cap() {
        // Each hides `<b a0 … a999>` from a pass that reads the markup in
        // another state than the parser may: after the pass, whatever state
        // the parser is in, no element has more than the cap.
        let many = attributes(1_000);
        for hostile in [
            format!("<style><!--</style><b{many}>x</b>"),
            format!("<svg><style><b{many}>x"),
            format!("<svg><title><b{many}>x"),
            format!("<math><mi><style><b{many}>x"),
            format!("<select><xmp><b{many}>x"),
            format!("<noscript><b{many}>x"),
            format!("<a title=\"</style><b{many}>\">x"),
            format!("<style><a title=\"</style><b{many}>\">x"),
            format!("<script><!--<script></script><b{many}>x"),
            format!("<!-- <a title=\" --><b{many}>x"),
            format!("<![CDATA[ > <b{many}> ]]>"),
            format!("<svg><![CDATA[ <b{many}> ]]></svg>"),
            format!("<textarea><b{many}></textarea>"),
            format!("<plaintext><b{many}>"),
            format!("</p{many}><b{many}>x"),
            format!("<b{many}"),
        ] {
            let bounded = bound_tags(&hostile);
            assert!(
                most_attributes(&bounded) <= MAX_TAG_ATTRIBUTES,
                "{}",
                &hostile[..40]
            );
            for parse in [Html::parse_document, Html::parse_fragment] {
                let doc = parse(&bounded);
                let worst = doc
                    .tree
                    .nodes()
                    .filter_map(|n| n.value().as_element().map(|e| e.attrs().count()))
                    .max()
                    .unwrap_or(0);
                assert!(worst <= MAX_TAG_ATTRIBUTES, "{}", &hostile[..40]);
            }
        }
    }

    #[test]
    fn ordinary_markup_passes_the_attribute_cap_unchanged() {
        for html in [
            "<p class=\"lead\">正文 <a href=\"https://a.cn/x?a=1&amp;b=2\" title=\"x\">链接</a></p>",
            "<div><img src=\"a.jpg\" alt=\"\" /><br />a &amp; b &lt; c</div>",
            "<!DOCTYPE html><html><body><p>x</p></body></html>",
            "纯文本，没有标签",
        ] {
            assert!(matches!(bound_tags(html), Cow::Borrowed(_)), "{html}");
        }
        // What changes reads the same to the parser.
        for (html, same) in [
            (
                "<p title='a \"b\"'>x<!-- c --></p>",
                "<p title=\"a &quot;b&quot;\">x</p>",
            ),
            (
                "<script>if (a<b) {}</script>",
                "<script>if (a&lt;b) {}</script>",
            ),
            ("a < b <3 </>c</p x=1>", "a &lt; b &lt;3 c</p>"),
            (
                "<a title=\"x > y\" href=x>",
                "<a title=\"x &gt; y\" href=\"x\">",
            ),
        ] {
            assert_eq!(bound_tags(html), same);
        }
    }

    /// `<p>` + 250 `<b id=N>` + `</p>`, then 9,000 `<p>x</p>`.
    fn rebuild_bomb() -> String {
        let open: String = (0..250).map(|i| format!("<b id={i}>")).collect();
        format!("<p>正文{open}</p>{}", "<p>x</p>".repeat(9_000))
    }

    #[test]
    fn formatting_elements_rebuilt_in_every_paragraph_are_read_as_text() {
        let bomb = rebuild_bomb();
        let start_tags = bomb.matches('<').count() - bomb.matches("</").count();
        assert!(start_tags < MAX_HTML_TAGS, "under the tag guard");
        assert!(too_deep(&bomb, MAX_HTML_DEPTH));
        assert!(for_parser(&bomb).is_none());
        let lines = html_to_lines(&bomb);
        assert_eq!(lines.len(), 9_001);
        // Any text rebuilds them: a space, a `>`.
        for text in [" ", ">", "&gt;", "<"] {
            let bomb = bomb.replace("<p>x</p>", &format!("<p>{text}</p>"));
            assert!(for_parser(&bomb).is_none(), "{text:?}");
        }
        // Ordinary sloppiness stays HTML: a few formatting elements left
        // open before thousands of paragraphs, links closed, tables.
        let sloppy = format!(
            "<p><font color=red><b>导语</p>{}<table>{}</table>",
            "<p>段落<a href=\"/x\">链接</a><i>斜体</i></p>\n".repeat(2_000),
            "<tr><td><b>粗</b><td>格<tr><td><font size=2>小</font>".repeat(150)
        );
        let cost = parse_cost(&sloppy, MAX_HTML_DEPTH);
        assert!(cost.is_some_and(|n| n < MAX_HTML_NODES), "{cost:?}");
        // The parser's work on what is given to it stays within the budget.
        let nodes = Html::parse_fragment(&for_parser(&sloppy).expect("parsed"))
            .tree
            .nodes()
            .filter(|n| n.value().is_element())
            .count();
        assert!(nodes <= MAX_HTML_NODES, "{nodes}");
    }

    #[test]
    fn random_markup_never_panics_and_bounding_it_again_changes_nothing() {
        // A small generator (no crate needed for this much): markup made
        // of the characters the tokenizer's states turn on, and multibyte
        // text where a byte index could fall inside a character.
        const PIECES: &[&str] = &[
            "<",
            ">",
            "/",
            "!",
            "-",
            "--",
            "\"",
            "'",
            "=",
            " ",
            "\n",
            "a",
            "b",
            "p",
            "中文",
            "&",
            "#x1;",
            "?",
            "[",
            "<!--",
            "-->",
            "<!doctype",
            "<script>",
            "</script",
            "<style>",
            "</style>",
            "<svg>",
            "<!DOCTYPE 中>",
            "<textarea>",
            "<plaintext>",
            "<b id=",
            "</",
        ];
        for (html, seed) in crate::test_strings::strings(PIECES, 0x2545_f491_4f6c_dd1d, 24, 20_000)
        {
            let once = bound_tags(&html).into_owned();
            assert_eq!(bound_tags(&once), once, "{html:?}");
            let _ = too_deep(&html, MAX_HTML_DEPTH);
            let _ = decode_entities(&html);
            let _ = cut_html(&html, (seed % 40) as usize);
            let _ = html_to_lines(&html);
        }
    }

    /// Lines of raw text as `html_to_lines` makes them.
    fn lines_of(raw: &str) -> Vec<String> {
        raw.lines()
            .map(nfkc_collapsed)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Twin test: wherever the fast reading takes markup, its lines are the
    /// tree's. Generated markup of the elements it knows (and some it
    /// does not), misnested, unclosed, with every kind of attribute
    /// quoting, character reference and stray `<` or `&`.
    #[test]
    fn simple_markup_is_read_as_the_tree_reads_it() {
        const PIECES: &[&str] = &[
            "<p>",
            "</p>",
            "<P class=\"x\">",
            "<div>",
            "</div>",
            "<br>",
            "<br/>",
            "<BR />",
            "</br>",
            "<li>",
            "</li>",
            "<ul>",
            "</ul>",
            "<ol>",
            "</ol>",
            "<h2>",
            "</h2>",
            "<h3>",
            "</h3>",
            "<dl>",
            "<dt>",
            "<dd>",
            "</dd>",
            "<blockquote>",
            "</blockquote>",
            "<a href=\"/x?a=1&amp;b=2\">",
            "<a href='y>z'>",
            "</a>",
            "<a href=u>",
            "<span>",
            "</span>",
            "<span/>",
            "<strong>",
            "</strong>",
            "<b>",
            "</b>",
            "<i>",
            "</i>",
            "<font color=red>",
            "</font>",
            "<img src=\"a.jpg\" alt=\"图>\">",
            "<img src=x/>",
            "<img src=\"a\"alt=b>",
            "<hr>",
            "<center>",
            "</center>",
            "<table>",
            "<tr>",
            "<td>",
            "</td>",
            "<pre>",
            "</pre>",
            "<script>",
            "</script>",
            "<!-- c -->",
            "<!x>",
            "<?x>",
            "</ x>",
            "<x>",
            "</x>",
            "<",
            " < ",
            "<3",
            ">",
            "&",
            "& ",
            "&amp;",
            "&amp",
            "&nbsp;",
            "&nbspx",
            "&ldquo;",
            "&rdquo;",
            "&lt;b&gt;",
            "&notin;",
            "&#20013;",
            "&#x4e2d;",
            "&#x4E2D",
            "&#0;",
            "&#128;",
            "&#x110000;",
            "&#xD800;",
            "&#65;",
            "&#;",
            "&#x;",
            "&copy;",
            "中文",
            "教育协同发展。",
            "a",
            "b c",
            " ",
            "\n",
            "\t",
            "\r\n",
            "\0",
            "“引号”",
            "<span style=\"color: red\">",
            "<p/>",
            "<b id=",
            "=\"",
            "'",
            "\"",
            "/",
        ];
        // Fewer kinds, so that more fragments hold nothing the fast
        // reading refuses, each beside the one stray thing it must read as
        // the parser does.
        const FEW: &[&str] = &[
            "<p>",
            "</p>",
            "<div>",
            "</div>",
            "<br>",
            "<li>",
            "</li>",
            "<ul>",
            "</ul>",
            "<b>",
            "</b>",
            "<a href=\"u\">",
            "</a>",
            "<h2>",
            "</h2>",
            "<span>",
            "</span>",
            "中文",
            "a b",
            "&amp;",
            "&",
            "<",
            "<3",
            "<?x>",
            "<!x>",
            "</ x>",
            "&#65;",
            "&#0;",
            "&nbspx",
            "\n",
        ];
        let (mut simple, mut all) = (0, 0);
        let generated =
            crate::test_strings::strings(PIECES, 0x51e7_0001_2545_f491, 30, 60_000).chain(
                crate::test_strings::strings(FEW, 0x2545_f491_51e7_0001, 12, 60_000),
            );
        for (html, _) in generated {
            let bounded = bound_tags(&html);
            all += 1;
            if let Some(text) = simple_markup_text(&bounded) {
                simple += 1;
                assert_eq!(lines_of(&text), lines_of(&tree_text(&bounded)), "{html:?}");
            }
        }
        // Markup of feeds' kind is read the fast way, the rest is not.
        for html in [
            "<p>京津冀<strong>教育</strong>协同</p><p><img src=\"a.jpg\" alt=\"\"/></p>",
            "第一段<br/>第二段<br>&nbsp;&ldquo;引&rdquo;",
            "<div class=\"c\"><a href=\"https://x.cn/?a=1&amp;b=2\">链接</a></div>",
            "<ul><li>一</li><li>二</li></ul><h2>标题</h2>",
        ] {
            let text = simple_markup_text(html).unwrap_or_else(|| panic!("{html}"));
            assert_eq!(lines_of(&text), lines_of(&tree_text(html)), "{html}");
        }
        for html in [
            "<p>一<div>二</div></p>",
            "<a>一<a>二</a></a>",
            "<b>一<p>二</b>三</p>",
            "<table><tr><td>一</td></tr></table>",
            "<!-- x -->一",
            "&notin;",
            "一\r\n二",
        ] {
            assert_eq!(simple_markup_text(html), None, "{html}");
        }
        assert!(simple * 10 > all, "{simple} of {all}");
    }

    /// The real feeds of ../shared/corpus (skipped without them): every
    /// body the fast reading takes reads as the tree reads it, and it takes
    /// most of them.
    #[test]
    fn corpus_bodies_are_read_fast_as_the_tree_reads_them() {
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = e.path();
                if path.is_dir() {
                    files(&path, out);
                } else if path
                    .extension()
                    .is_some_and(|x| x == "xml" || x == "rss" || x == "json")
                {
                    out.push(path);
                }
            }
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        let mut paths = Vec::new();
        files(&dir, &mut paths);
        let (mut bodies, mut simple) = (0, 0);
        for path in paths {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let text = crate::decode::decode(&bytes, None, None, None).text;
            let Ok(feed) = crate::parse::parse(&text, None) else {
                continue;
            };
            for item in &feed.items {
                for body in [&item.summary_html, &item.content_html]
                    .into_iter()
                    .flatten()
                {
                    let Some(bounded) = for_parser(body) else {
                        continue;
                    };
                    bodies += 1;
                    if let Some(text) = simple_markup_text(&bounded) {
                        simple += 1;
                        assert_eq!(
                            lines_of(&text),
                            lines_of(&tree_text(&bounded)),
                            "{}: {body:?}",
                            path.display()
                        );
                    }
                }
            }
        }
        eprintln!("corpus: {simple} of {bodies} bodies read fast");
        assert!(bodies == 0 || simple * 2 > bodies, "{simple} of {bodies}");
    }

    #[test]
    fn cut_html_cuts_between_elements_at_a_character_boundary() {
        let html = "<p>一二三</p>".repeat(100);
        let cut = cut_html(&html, 500);
        assert!(cut.len() <= 500 && cut.ends_with("</p>"), "{cut}");
        assert_eq!(cut_html("一二三四", 7), "一二");
        assert_eq!(cut_html("short", 100), "short");
    }
}
