//! Stories of a topic → Atom 1.0 (atom_syndication), RSS 2.0 (rss) or JSON
//! Feed 1.1 (serde) bytes. Pure: the caller supplies the stories.
//!
//! Each entry: what the display rule (`display::choose`) picks of the
//! story's copies — headline and sanitized HTML text (ammonia; relative
//! URLs made absolute against that copy's link) from one copy, preferring
//! copies in the topic's script, the link of the copy that carried it
//! first — converted to the topic's script (`script`), then one line naming
//! the outlets in the topic's language (`wording`) when more than one
//! carried it. Entry ids are `urn:uuid:` IRIs derived from the topic and
//! the story id, so they never change, whatever copies join later.
//!
//! Everything here came from strangers and goes to other people's browsers
//! (see docs/security.md): HTML passes ammonia with an explicit allowlist;
//! titles and names are plain text (tags stripped, the writers escape the
//! rest); links are http(s) only; characters XML 1.0 forbids are removed, so
//! one bad item cannot make a whole topic feed unparsable.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

use crate::display::{self, CopyFacts};
use crate::normalize::Normalizer;
use crate::script;
use crate::store::{FeedCopy, FeedStory};
use crate::wording::{Lang, Script, Words};

/// A feed format readers can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Atom,
    Rss,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Atom, Format::Rss, Format::Json];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == ext)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::from_extension(s)
            .ok_or_else(|| format!("unknown format {s:?}: use atom, rss or json"))
    }
}

/// What a feed says about itself.
pub struct FeedMeta<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    /// `[server].base_url`, ending in `/`.
    pub base_url: &'a Url,
    /// When the topic last changed (the feed's `updated`).
    pub updated: DateTime<Utc>,
    /// The language of its words (`topic_language` when the config does
    /// not say).
    pub lang: Lang,
    /// The script headlines and texts are shown in.
    pub script: Script,
    /// Stories first seen before this (unix seconds) keep the id they had
    /// in every topic (`entry_id`).
    pub topic_ids_from: i64,
}

impl FeedMeta<'_> {
    /// The feed's own absolute URL in `format`.
    pub fn self_url(&self, format: Format) -> String {
        join(
            self.base_url,
            &format!("topics/{}.{}", self.slug, format.extension()),
        )
    }

    /// The topics index page, the feed's `alternate` link.
    pub fn home_url(&self) -> String {
        join(self.base_url, "topics/")
    }
}

fn join(base: &Url, path: &str) -> String {
    base.join(path)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{base}{path}"))
}

/// A story's entry id in one topic's feed: a UUID (RFC 9562 version 8,
/// "custom"), so every feed reader accepts it, from a BLAKE3 digest of the
/// topic's slug and the story id. Per topic, because readers that key
/// entries by id (newsboat, Tiny Tiny RSS) show an entry once across all
/// feeds: with one id, a story in two subscribed topics vanished from one.
/// From the slug, not the server's address, so moving the server shows
/// no story again. A story first seen before per-topic ids (migration
/// 0012) keeps its old id, the story id alone (`story_uuid`), so upgrading
/// shows no story again either.
pub fn entry_id(slug: &str, story: &FeedStory, topic_ids_from: i64) -> String {
    if story.first_seen.timestamp() < topic_ids_from {
        return story_uuid(&story.id);
    }
    topic_entry_id(slug, &story.id)
}

/// The entry id of story `story_id` in topic `slug` (a story first seen
/// since per-topic ids, `entry_id`).
pub fn topic_entry_id(slug: &str, story_id: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"newsriver topic entry\0");
    h.update(slug.as_bytes());
    h.update(b"\0");
    h.update(story_id.as_bytes());
    story_uuid(h.finalize().to_hex().as_str())
}

/// A hex digest (a story id) as a UUID IRI.
pub fn story_uuid(digest: &str) -> String {
    let hex: String = digest
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(32)
        .collect();
    let hex = format!("{hex:0<32}");
    let (a, b, c, d, e) = (
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32],
    );
    let variant = match u8::from_str_radix(&hex[16..17], 16).unwrap_or(0) & 0x3 {
        0 => '8',
        1 => '9',
        2 => 'a',
        _ => 'b',
    };
    format!("urn:uuid:{a}-{b}-8{c}-{variant}{d}-{e}")
}

/// An entry ready for any format, and for the reader page.
pub struct Entry<'a> {
    /// The story it shows.
    pub story: &'a FeedStory,
    pub id: String,
    /// Plain text (see `plain_text`), in the topic's script.
    pub title: String,
    /// http(s) only.
    pub link: Option<String>,
    /// The shown text, sanitized, in the topic's script; never empty (a
    /// story with no text says so, `Words::no_text`).
    pub text_html: String,
    /// Who carried the story; empty when one outlet did.
    pub attribution: Attribution,
    /// The shown headline or text was converted to the topic's script
    /// from this one.
    pub converted_from: Option<Script>,
    /// The topic's words (`html`).
    words: &'static Words,
    /// The other outlets' copies: (outlet name, link).
    related: Vec<(&'a str, String)>,
    /// Plain text, each once: the shown copy's first (`entry_authors`).
    pub authors: Vec<String>,
    /// The copies' files, each URL once, http(s) only, the shown copy's
    /// first (`entry_enclosures`).
    enclosures: Vec<Attachment>,
    /// Plain text, each once, the shown copy's first (`entry_categories`).
    categories: Vec<String>,
    /// The language the text copy's feed declares.
    lang: Option<String>,
    /// The story's dates, within what every format can write (`shown_date`).
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl Entry<'_> {
    /// What feeds carry as the entry's content: `text_html`, the
    /// attribution line and the conversion note, in the topic's words.
    pub fn html(&self) -> String {
        let mut html = self.text_html.clone();
        if !self.attribution.is_empty() {
            html.push_str(&format!("<p>{}</p>", self.attribution.html(self.words)));
        }
        if let Some(from) = self.converted_from {
            let note = match from {
                Script::Traditional => self.words.converted_from_traditional,
                _ => self.words.converted_from_simplified,
            };
            html.push_str(&format!("<p><small>{}</small></p>", escape(note)));
        }
        html
    }
}

/// An outlet as an entry names it: its name as published, and its copy's
/// link (http(s) only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outlet {
    /// Plain text.
    pub name: String,
    pub link: Option<String>,
}

impl Outlet {
    fn of(c: &FeedCopy) -> Outlet {
        Outlet {
            name: plain_text(&c.source_name),
            link: c.link.as_deref().and_then(safe_link),
        }
    }

    /// The name, linked to the copy when it has a link; escaped.
    fn html(&self) -> String {
        let name = escape(&self.name);
        match &self.link {
            Some(href) => format!(
                "<a href=\"{}\" rel=\"nofollow\">{name}</a>",
                html_escape::encode_double_quoted_attribute(href)
            ),
            None => name,
        }
    }
}

/// The outlets that carried a story, each named once: the one whose link
/// the entry has, the one whose headline and text it shows when another,
/// then the others. Empty when a single outlet carried the story.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribution {
    pub first: Option<Outlet>,
    pub text_from: Option<Outlet>,
    pub also: Vec<Outlet>,
}

impl Attribution {
    pub fn is_empty(&self) -> bool {
        self.first.is_none() && self.text_from.is_none() && self.also.is_empty()
    }

    /// One line of HTML in `words`' language, e.g. `首发：中国新闻网 ·
    /// 正文来自：中央社 · 另见：人民网、新浪新闻`; empty for no outlet.
    pub fn html(&self, words: &Words) -> String {
        let mut parts = Vec::new();
        if let Some(o) = &self.first {
            parts.push(format!("{}{}", escape(words.first), o.html()));
        }
        if let Some(o) = &self.text_from {
            parts.push(format!("{}{}", escape(words.text_from), o.html()));
        }
        if !self.also.is_empty() {
            let list: Vec<String> = self.also.iter().map(Outlet::html).collect();
            parts.push(format!(
                "{}{}",
                escape(words.also),
                list.join(&escape(words.list_sep))
            ));
        }
        parts.join(&escape(words.part_sep))
    }
}

/// `date` within years 1–9999: RFC 2822 and RFC 3339 have no other years
/// (chrono's `to_rfc2822` panics on a negative one). The date reader refuses
/// such dates, but a database written by an older release may hold them.
fn shown_date(date: DateTime<Utc>) -> DateTime<Utc> {
    const MIN: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let secs = date.timestamp().clamp(MIN, MAX);
    if secs == date.timestamp() {
        date
    } else {
        DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
    }
}

/// A copy's HTML text: the article or the feed's content, else its summary.
fn copy_html(c: &FeedCopy) -> Option<&str> {
    c.content_html.as_deref().or(c.summary_html.as_deref())
}

/// What the display rule (`display::choose`) knows of a copy.
fn facts(c: &FeedCopy) -> CopyFacts<'_> {
    CopyFacts {
        source: c.source_id.as_str(),
        key: &c.item_key,
        low_trust: c.low_trust,
        has_link: c.link.as_deref().and_then(safe_link).is_some(),
        own_link: c.own_link,
        has_title: shown_title(c).is_some(),
        text_len: if copy_html(c).is_some() {
            c.text_len
        } else {
            0
        },
        published: c.published.timestamp(),
        first_seen: c.first_seen.timestamp(),
        in_script: true,
        in_topic: c.in_topic,
    }
}

/// A copy's headline as shown: its display title, else its title.
fn shown_title(c: &FeedCopy) -> Option<&str> {
    [c.display_title.as_deref(), c.title.as_deref()]
        .into_iter()
        .flatten()
        .find(|t| !t.trim().is_empty())
}

/// Elements kept in published HTML: text structure, links, images, tables.
/// Not SVG or MathML (RUSTSEC-2026-0193/0213: namespace confusion), no
/// forms, frames, objects, scripts or styles.
const ALLOWED_TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
];

/// Elements removed together with their content (not only their tags):
/// script and style text, and raw-text elements whose content would come
/// back as markup-looking text.
const DROPPED_WITH_CONTENT: &[&str] = &[
    "script",
    "style",
    "template",
    "noscript",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "textarea",
    "select",
    "title",
    "xmp",
    "noembed",
    "noframes",
    "plaintext",
    "form",
];

/// Attributes per element; no `style`, no event handlers, no `class`/`id`.
const ALLOWED_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "title", "hreflang"]),
    ("img", &["src", "alt", "title", "width", "height"]),
    ("abbr", &["title"]),
    ("blockquote", &["cite"]),
    ("q", &["cite"]),
    ("del", &["cite", "datetime"]),
    ("ins", &["cite", "datetime"]),
    ("time", &["datetime"]),
    ("ol", &["start", "type"]),
    ("td", &["colspan", "rowspan"]),
    ("th", &["colspan", "rowspan", "scope"]),
];

/// URL schemes allowed in `href`/`src`/`cite` (no `javascript:`, `data:`,
/// `vbscript:`).
const ALLOWED_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// `html` sanitized by the allowlist below, relative URLs made absolute
/// against `base` (or dropped without one). One builder per thread, its
/// base set per call: building the allowlist's sets for every entry was
/// 15% of rendering a feed.
fn sanitize(html: &str, base: Option<&str>) -> String {
    thread_local! {
        static BUILDER: std::cell::RefCell<ammonia::Builder<'static>> =
            std::cell::RefCell::new(sanitizer());
    }
    BUILDER.with(|b| {
        let mut b = b.borrow_mut();
        match base.and_then(|b| Url::parse(b).ok()) {
            Some(base) => b.url_relative(ammonia::UrlRelative::RewriteWithBase(base)),
            None => b.url_relative(ammonia::UrlRelative::Deny),
        };
        b.clean(html).to_string()
    })
}

fn sanitizer() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.tags(ALLOWED_TAGS.iter().copied().collect())
        .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
        .tag_attributes(
            ALLOWED_ATTRIBUTES
                .iter()
                .map(|(tag, attrs)| (*tag, attrs.iter().copied().collect::<HashSet<_>>()))
                .collect(),
        )
        .generic_attributes(["lang", "dir"].into_iter().collect())
        .url_schemes(ALLOWED_SCHEMES.iter().copied().collect())
        .strip_comments(true)
        .link_rel(Some("noopener noreferrer nofollow"));
    b
}

fn escape(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

/// Is `c` a character XML 1.0 allows (§2.2 Char)? Rust strings hold no
/// surrogates, so only C0 controls and U+FFFE/U+FFFF are out.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` without the characters XML 1.0 forbids (`&#1;` in a source title
/// decodes to U+0001, which no XML parser accepts back).
pub fn xml_text(s: &str) -> Cow<'_, str> {
    if s.chars().all(xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|c| xml_char(*c)).collect())
    }
}

/// Could a browser read a tag at this point: `<` then a letter, `/`, `!` or `?`.
fn has_tag(s: &str) -> bool {
    s.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
}

/// Characters no title or name should carry: those XML 1.0 forbids (C0
/// controls but tab/LF/CR, U+FFFE/U+FFFF), DEL and the C1 controls.
fn title_char(c: char) -> bool {
    xml_char(c) && !('\u{7f}'..='\u{9f}').contains(&c)
}

fn title_chars(s: &str) -> Cow<'_, str> {
    if s.chars().all(title_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|c| title_char(*c)).collect())
    }
}

/// The text content of markup, for `plain_text`: script and style dropped
/// with their content, entities decoded once (the parser's decoding). Past
/// the HTML guard (`normalize::for_parser`), tags are dropped without the
/// parser.
fn text_content(s: &str) -> String {
    use crate::normalize::{for_parser, strip_tags};
    match for_parser(s) {
        Some(bounded) => {
            let mut b = ammonia::Builder::empty();
            b.clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect());
            let stripped = b.clean(&bounded).to_string();
            // ammonia writes text as HTML: undo that, and only that.
            html_escape::decode_html_entities(&stripped).into_owned()
        }
        None => strip_tags(s),
    }
}

/// Text for places readers show as text but many render as HTML (titles,
/// author names): the text content of any markup in it — script and style
/// dropped with their content, every character reference decoded (those
/// standing for control characters, NUL, surrogates or nothing at all to
/// nothing, see `normalize::decode_entities`) — whitespace collapsed, and
/// no control characters. The feed writers escape what is left, so a
/// reader decoding it once more (as many do for titles) finds neither
/// markup nor a reference that makes some.
pub fn plain_text(s: &str) -> String {
    use crate::normalize::decode_entities;
    // Invalid characters go before tags: `<` U+0001 `img` is no tag, but
    // becomes one once U+0001 is dropped. Decoding can reveal markup
    // (`&lt;b&gt;`) and invalid characters (`&#x1;`; `&amp;#x1;` in a
    // title decoded once already), and stripping markup can reveal
    // references: a few rounds, until nothing changes.
    let mut text = title_chars(s).into_owned();
    for _ in 0..6 {
        let next = if has_tag(&text) {
            text_content(&text)
        } else {
            decode_entities(&text)
        };
        let next = title_chars(&next).into_owned();
        if next == text {
            break;
        }
        text = next;
    }
    // Whatever still looks like a tag loses its `<`; a reference still
    // left (six levels of escaping) its `&`.
    if has_tag(&text) {
        text = text.replace('<', "");
    }
    if decode_entities(&text) != text {
        text = text.replace('&', "");
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `html` (sanitized) cut to `MAX_SHOWN_HTML_BYTES` between elements and
/// sanitized again, which closes what the cut left open: an entry's HTML
/// never makes a topic feed larger than its entries' worth. `publish`
/// calls it last on an entry's HTML (after `sanitized_html`), before the
/// "first reported by" note.
pub(crate) fn bounded_html(html: &str) -> String {
    use crate::normalize::{MAX_SHOWN_HTML_BYTES, cut_html};
    if html.len() <= MAX_SHOWN_HTML_BYTES {
        return html.to_string();
    }
    // Room for the end tags the second pass adds (at most 256 levels).
    let mut budget = MAX_SHOWN_HTML_BYTES - 4 * 1024;
    loop {
        let again = sanitize(cut_html(html, budget), None);
        if again.len() <= MAX_SHOWN_HTML_BYTES || budget < 1024 {
            return again;
        }
        budget /= 2;
    }
}

/// One copy's HTML as an entry shows it: boilerplate removed, bounded for
/// the parser (`Normalizer::clean_html`), sanitized (`sanitizer`, relative
/// URLs made absolute against `base`), characters XML forbids removed, and
/// at most `MAX_SHOWN_HTML_BYTES` (`bounded_html`).
///
/// Never nothing where the copy had something to show: when the rules took
/// all of it (a text that is only a credit line), they were wrong for this
/// copy, whose normalized text was kept as published too
/// (`NormalizedItem::text_fallback`); it is shown as published, bounded
/// and sanitized all the same.
pub(crate) fn sanitized_html(raw: &str, base: Option<&str>, normalizer: &Normalizer) -> String {
    use crate::normalize::{MAX_SHOWN_HTML_BYTES, cut_html, for_parser};
    let shows = |h: &str| has_visible_text(h) || h.contains("<img");
    let mut clean = sanitize(&normalizer.clean_html(raw), base);
    if !shows(&clean)
        && let Some(bounded) = for_parser(raw)
    {
        let as_published = sanitize(cut_html(&bounded, MAX_SHOWN_HTML_BYTES), base);
        if shows(&as_published) {
            clean = as_published;
        }
    }
    bounded_html(&xml_text(&clean))
}

/// A link for a feed: absolute http(s) only (a `javascript:` or `data:` URL
/// from a source never reaches a reader).
fn safe_link(link: &str) -> Option<String> {
    let url = Url::parse(link.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// Is a copy in `script`? Told from the start of its headline and text.
fn copy_in_script(c: &FeedCopy, script: Script) -> bool {
    script == Script::AsPublished || script::in_script(&script_sample(c), script)
}

/// The start of a copy's headline and text, enough to tell its script.
fn script_sample(c: &FeedCopy) -> String {
    let mut sample = shown_title(c).unwrap_or_default().to_string();
    if let Some(html) = copy_html(c) {
        let mut end = html.len().min(1536);
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        sample.push_str(&html[..end]);
    }
    sample
}

/// One story as an entry, or None when it has nothing to show (neither a
/// text nor a link to one). What it shows is the display rule's choice
/// (`display::choose`: a function of the copies, not of their arrival),
/// in the topic's script; the line under the text names outlets by
/// source, never by link, each once, and only when there are several.
pub fn entry<'a>(
    story: &'a FeedStory,
    meta: &FeedMeta<'_>,
    normalizer: &Normalizer,
) -> Option<Entry<'a>> {
    let in_script: Vec<bool> = story
        .copies
        .iter()
        .map(|c| copy_in_script(c, meta.script))
        .collect();
    let all: Vec<CopyFacts<'_>> = story
        .copies
        .iter()
        .zip(&in_script)
        .map(|(c, &in_script)| CopyFacts {
            in_script,
            ..facts(c)
        })
        .collect();
    let shown = display::choose(&all);
    let copy = |i: Option<usize>| i.map(|i| &story.copies[i]);
    let (link_copy, text_copy) = (copy(shown.link), copy(shown.text));
    let link = link_copy
        .and_then(|c| c.link.as_deref())
        .and_then(safe_link);
    let mut converted_from = None;
    let mut to_script = |i: Option<usize>, s: String, html: bool| -> String {
        if s.is_empty() || i.is_none_or(|i| in_script[i]) {
            return s;
        }
        let out = if html {
            script::convert_html(&s, meta.script)
        } else {
            script::convert(&s, meta.script).into_owned()
        };
        if out != s {
            converted_from = Some(match meta.script {
                Script::Traditional => Script::Simplified,
                _ => Script::Traditional,
            });
        }
        out
    };
    let text_html = match text_copy.and_then(|c| Some((c, copy_html(c)?))) {
        Some((c, raw)) => {
            let base = c.link.as_deref().and_then(safe_link);
            sanitized_html(raw, base.as_deref(), normalizer)
        }
        None => String::new(),
    };
    let text_html = to_script(shown.text, text_html, true);
    // A copy stored before migration 0011 has no display title: its raw
    // title is cleaned here the way the poll cleans it now.
    let title = match copy(shown.title) {
        Some(c) if c.display_title.is_none() => c
            .title
            .as_deref()
            .map(|t| normalizer.display_title(t))
            .unwrap_or_else(|| story.title.clone()),
        Some(c) => shown_title(c).unwrap_or(&story.title).to_string(),
        None => story.title.clone(),
    };
    let title = to_script(shown.title, plain_text(&title), false);
    let words = meta.lang.words();
    let has_text = has_visible_text(&text_html) || text_html.contains("<img");
    let text_html = match (has_text, &link) {
        (true, _) => text_html,
        (false, Some(_)) => format!("<p>{}</p>", escape(words.no_text)),
        // Neither a text nor a link to one: nothing a reader can read.
        (false, None) => return None,
    };
    let attribution = attribution(story, link_copy.filter(|_| link.is_some()), text_copy);
    let related = story
        .copies
        .iter()
        .filter(|c| link_copy.is_none_or(|l| l.source_id != c.source_id))
        .filter_map(|c| {
            Some((
                c.source_name.as_str(),
                c.link.as_deref().and_then(safe_link)?,
            ))
        })
        .fold(Vec::<(&str, String)>::new(), |mut acc, (name, href)| {
            if !acc.iter().any(|(n, _)| *n == name) {
                acc.push((name, href));
            }
            acc
        });
    Some(Entry {
        story,
        id: entry_id(meta.slug, story, meta.topic_ids_from),
        title,
        link,
        text_html,
        attribution,
        converted_from,
        words,
        related,
        authors: entry_authors(story, &shown),
        enclosures: entry_enclosures(story, &shown),
        categories: entry_categories(story, &shown),
        lang: match converted_from {
            Some(_) => Some(meta.lang.tag().to_string()),
            None => text_copy
                .or(story.copies.first())
                .and_then(|c| c.language.as_deref())
                .map(plain_text)
                .filter(|l| !l.is_empty()),
        },
        published: shown_date(story.published),
        updated: shown_date(story.updated.max(story.published)),
    })
}

/// Does sanitized HTML show any text: a character other than white space
/// outside its tags? A scan, not a parse: the HTML is the sanitizer's
/// output (tags closed, `<` in text escaped), and parsing it again was a
/// tenth of an entry's time.
fn has_visible_text(html: &str) -> bool {
    let mut in_tag = false;
    html.chars().any(|c| match c {
        '<' => {
            in_tag = true;
            false
        }
        '>' if in_tag => {
            in_tag = false;
            false
        }
        c => !in_tag && !c.is_whitespace(),
    })
}

/// Who carried `story`: the linked copy's outlet, the text copy's when
/// another, every other outlet once. Nothing when one outlet carried it,
/// unless its link is not on its own site (`FeedCopy::own_link`): then the
/// text is named as its words, so a source linking to another outlet's
/// page cannot pass its text off as that outlet's.
fn attribution(
    story: &FeedStory,
    link_copy: Option<&FeedCopy>,
    text_copy: Option<&FeedCopy>,
) -> Attribution {
    let mut sources: Vec<&str> = story.copies.iter().map(|c| c.source_id.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    if sources.len() < 2 {
        return match link_copy.or(text_copy) {
            Some(c) if !c.own_link => Attribution {
                text_from: Some(Outlet::of(text_copy.unwrap_or(c))),
                ..Attribution::default()
            },
            _ => Attribution::default(),
        };
    }
    let text_from = text_copy.filter(|t| link_copy.is_none_or(|l| l.source_id != t.source_id));
    let mut named: Vec<&str> = [link_copy, text_from]
        .into_iter()
        .flatten()
        .map(|c| c.source_id.as_str())
        .collect();
    let mut also = Vec::new();
    for c in &story.copies {
        if !named.contains(&c.source_id.as_str()) {
            named.push(c.source_id.as_str());
            also.push(Outlet::of(c));
        }
    }
    Attribution {
        first: link_copy.map(Outlet::of),
        text_from: text_from.map(Outlet::of),
        also,
    }
}

/// A file an entry carries, as every format writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Attachment {
    /// Absolute http(s), normalized (`safe_link`).
    url: String,
    /// `type/subtype` (`mime_type`), when a copy gave one.
    mime_type: Option<String>,
    length: Option<u64>,
}

/// Files, categories and authors an entry lists, at most (a story of many
/// copies does not make a huge entry).
const MAX_ENTRY_ENCLOSURES: usize = 16;
const MAX_ENTRY_CATEGORIES: usize = 32;
const MAX_ENTRY_AUTHORS: usize = 32;
/// A longer category or author name is cut.
const MAX_LABEL_CHARS: usize = 100;

/// The copies whose files, categories and authors an entry lists, the
/// shown one (its text's, else its link's) first, then the others in
/// their order. A `trust = "low"` source's copies add none to a story that
/// a source of normal trust carries too (the trust model: they never
/// supply what a story shows when it has another copy).
fn listing_copies<'a>(story: &'a FeedStory, shown: &display::Shown) -> Vec<&'a FeedCopy> {
    let first = shown.text.or(shown.link);
    let trusted = story.copies.iter().any(|c| !c.low_trust);
    first
        .into_iter()
        .chain((0..story.copies.len()).filter(|i| Some(*i) != first))
        .filter_map(|i| story.copies.get(i))
        .filter(|c| !(trusted && c.low_trust))
        .collect()
}

/// Plain text (`plain_text`), at most `MAX_LABEL_CHARS`, each once, at most
/// `max`.
fn plain_labels<'a>(labels: impl Iterator<Item = &'a String>, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for label in labels {
        let text: String = plain_text(label).chars().take(MAX_LABEL_CHARS).collect();
        let text = text.trim();
        if !text.is_empty() && !out.iter().any(|o| o == text) {
            out.push(text.to_string());
            if out.len() == max {
                break;
            }
        }
    }
    out
}

/// An entry's authors: the shown copy's, then the other copies' (see
/// `listing_copies`), each name once.
fn entry_authors(story: &FeedStory, shown: &display::Shown) -> Vec<String> {
    let copies = listing_copies(story, shown);
    plain_labels(copies.iter().flat_map(|c| &c.authors), MAX_ENTRY_AUTHORS)
}

/// An entry's categories: the shown copy's, then the others', each once.
fn entry_categories(story: &FeedStory, shown: &display::Shown) -> Vec<String> {
    let copies = listing_copies(story, shown);
    plain_labels(
        copies.iter().flat_map(|c| &c.categories),
        MAX_ENTRY_CATEGORIES,
    )
}

/// An entry's files: every copy's (see `listing_copies`), the shown copy's
/// first; http(s) only, each URL once after normalizing it (`safe_link`:
/// host case, default port, escapes), a type or length one copy left out
/// taken from another copy of the same file.
fn entry_enclosures(story: &FeedStory, shown: &display::Shown) -> Vec<Attachment> {
    let mut out: Vec<Attachment> = Vec::new();
    for e in listing_copies(story, shown)
        .into_iter()
        .flat_map(|c| &c.enclosures)
    {
        let Some(url) = safe_link(&e.url) else {
            continue;
        };
        let mime_type = e.mime_type.as_deref().and_then(mime_type);
        if let Some(known) = out.iter_mut().find(|a| a.url == url) {
            known.mime_type = known.mime_type.take().or(mime_type);
            known.length = known.length.or(e.length);
        } else if out.len() < MAX_ENTRY_ENCLOSURES {
            out.push(Attachment {
                url,
                mime_type,
                length: e.length,
            });
        }
    }
    out
}

/// A stored MIME type as a feed may carry it: `type/subtype`, lower case,
/// of the characters RFC 6838 allows in names (nothing a writer must
/// escape); else `None`.
fn mime_type(raw: &str) -> Option<String> {
    let t = raw.trim().to_ascii_lowercase();
    let (ty, sub) = t.split_once('/')?;
    let name = |s: &str| {
        (1..=127).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    (name(ty) && name(sub)).then_some(t)
}

/// The type a format that requires one writes for a file of none.
const UNKNOWN_MIME_TYPE: &str = "application/octet-stream";

/// The one enclosure RSS 2.0 allows an item: the first with a type and a
/// length, else the first with a type, else the first.
fn rss_enclosure(enclosures: &[Attachment]) -> Option<&Attachment> {
    enclosures
        .iter()
        .find(|a| a.mime_type.is_some() && a.length.is_some())
        .or_else(|| enclosures.iter().find(|a| a.mime_type.is_some()))
        .or_else(|| enclosures.first())
}

/// A topic's entries, newest first, as `render` writes them; stories with
/// nothing to show are left out.
pub fn entries<'a>(
    meta: &FeedMeta<'_>,
    stories: &'a [FeedStory],
    normalizer: &Normalizer,
) -> Vec<Entry<'a>> {
    stories
        .iter()
        .filter_map(|s| entry(s, meta, normalizer))
        .collect()
}

/// The language a topic's stories are in, for a topic whose config names
/// none: the most common among its stories of the language their first
/// copy's feed declares, else of their headline's script (Han characters:
/// Chinese, Traditional forms: `zh-Hant`); English when nothing says.
pub fn topic_language(stories: &[FeedStory]) -> Lang {
    let mut counts = [0usize; 3];
    for s in stories {
        let declared = s
            .copies
            .first()
            .and_then(|c| c.language.as_deref())
            .and_then(Lang::from_tag);
        let lang = declared.unwrap_or_else(|| {
            let (han, _) = crate::text::traditional_share(&s.title);
            if han == 0 {
                Lang::En
            } else if script::is_traditional(&s.title) {
                Lang::ZhHant
            } else {
                Lang::ZhHans
            }
        });
        if let Some(i) = Lang::ALL.iter().position(|l| *l == lang) {
            counts[i] += 1;
        }
    }
    // Ties go to the first in `Lang::ALL`: Chinese before English.
    let best = (1..3).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
    if counts[best] == 0 {
        Lang::En
    } else {
        Lang::ALL[best]
    }
}

/// Plain text of sanitized HTML, at most `chars` characters (an ellipsis
/// when cut): the reader page's excerpt.
pub fn excerpt(html: &str, chars: usize) -> String {
    let text = plain_text(html);
    if text.chars().count() <= chars {
        return text;
    }
    let mut cut: String = text.chars().take(chars).collect();
    cut.push('…');
    cut
}

/// Renders one topic feed. `normalizer` removes from the shown HTML the
/// boilerplate it removes from the text ("相关推荐" footers, credit lines).
pub fn render(
    meta: &FeedMeta<'_>,
    stories: &[FeedStory],
    format: Format,
    normalizer: &Normalizer,
) -> Vec<u8> {
    render_entries(meta, &entries(meta, stories, normalizer), format)
}

/// Renders one topic feed from its entries (`entries`), so that the three
/// formats of one topic share them.
pub fn render_entries(meta: &FeedMeta<'_>, entries: &[Entry<'_>], format: Format) -> Vec<u8> {
    // The topic's title comes from the config; it is cleaned like the rest.
    let title = xml_text(meta.title);
    let meta = &FeedMeta {
        title: &title,
        updated: shown_date(meta.updated),
        ..*meta
    };
    let doc = match format {
        Format::Atom => atom(meta, entries),
        Format::Rss => rss(meta, entries),
        Format::Json => return json(meta, entries),
    };
    // Every field was cleaned above; this pass keeps the guarantee for any
    // field added later. No markup contains these characters, so removing
    // them from the whole document equals removing them from each text.
    match xml_text(&doc) {
        Cow::Borrowed(_) => doc.into_bytes(),
        Cow::Owned(clean) => clean.into_bytes(),
    }
}

fn atom(meta: &FeedMeta<'_>, entries: &[Entry<'_>]) -> String {
    use atom_syndication::{Content, Entry as AEntry, Feed, Link, Person, Text};
    let link = |href: String, rel: &str, mime: Option<&str>, title: Option<&str>| Link {
        href,
        rel: rel.to_string(),
        mime_type: mime.map(str::to_string),
        title: title.map(str::to_string),
        ..Default::default()
    };
    let mut feed = Feed {
        title: Text::plain(meta.title),
        id: meta.self_url(Format::Atom),
        updated: meta.updated.fixed_offset(),
        links: vec![
            link(
                meta.self_url(Format::Atom),
                "self",
                Some("application/atom+xml"),
                None,
            ),
            link(meta.home_url(), "alternate", Some("text/html"), None),
        ],
        // RFC 4287 §4.1.1: a feed needs an author unless every entry has one.
        authors: vec![Person {
            name: meta.title.to_string(),
            uri: Some(meta.home_url()),
            ..Default::default()
        }],
        generator: Some(atom_syndication::Generator {
            value: "newsriver".into(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        ..Default::default()
    };
    feed.set_lang(Some(meta.lang.tag().to_string()));
    feed.entries = entries
        .iter()
        .map(|e| {
            let mut links = Vec::new();
            if let Some(href) = &e.link {
                links.push(link(href.clone(), "alternate", Some("text/html"), None));
            }
            for (name, href) in &e.related {
                links.push(link(href.clone(), "related", Some("text/html"), Some(name)));
            }
            for a in &e.enclosures {
                links.push(Link {
                    length: a.length.map(|l| l.to_string()),
                    ..link(a.url.clone(), "enclosure", a.mime_type.as_deref(), None)
                });
            }
            AEntry {
                title: Text::plain(e.title.clone()),
                id: e.id.clone(),
                updated: e.updated.fixed_offset(),
                published: Some(e.published.fixed_offset()),
                links,
                authors: e
                    .authors
                    .iter()
                    .map(|a| Person {
                        name: a.clone(),
                        ..Default::default()
                    })
                    .collect(),
                categories: e
                    .categories
                    .iter()
                    .map(|c| atom_syndication::Category {
                        term: c.clone(),
                        ..Default::default()
                    })
                    .collect(),
                content: Some(Content {
                    value: Some(e.html()),
                    content_type: Some("html".into()),
                    lang: e.lang.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    feed.to_string()
}

fn rss(meta: &FeedMeta<'_>, entries: &[Entry<'_>]) -> String {
    use rss::extension::atom::{AtomExtension, Link};
    let items: Vec<rss::Item> = entries
        .iter()
        .map(|e| {
            let mut item = rss::Item::default();
            item.set_title(e.title.clone());
            item.set_link(e.link.clone());
            item.set_guid(rss::Guid {
                value: e.id.clone(),
                permalink: false,
            });
            item.set_pub_date(e.published.to_rfc2822());
            item.set_description(e.html());
            // RSS has no "modified" date: `<atom:updated>` carries a
            // correction's time, `<pubDate>` stays (readers re-sort on it).
            let updated = rss::extension::Extension {
                name: "atom:updated".into(),
                value: Some(e.updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                ..Default::default()
            };
            item.extensions
                .entry("atom".into())
                .or_default()
                .insert("updated".into(), vec![updated]);
            item.set_enclosure(rss_enclosure(&e.enclosures).map(|a| {
                rss::Enclosure {
                    url: a.url.clone(),
                    length: a.length.unwrap_or(0).to_string(),
                    mime_type: a
                        .mime_type
                        .clone()
                        .unwrap_or_else(|| UNKNOWN_MIME_TYPE.into()),
                }
            }));
            item.set_categories(
                e.categories
                    .iter()
                    .map(|c| rss::Category {
                        name: c.clone(),
                        domain: None,
                    })
                    .collect::<Vec<_>>(),
            );
            item
        })
        .collect();
    let mut channel = rss::Channel::default();
    channel.set_title(meta.title);
    channel.set_link(meta.home_url());
    channel.set_description(format!(
        "{}{}",
        meta.title,
        meta.lang.words().feed_description
    ));
    channel.set_language(Some(meta.lang.tag().to_string()));
    channel.set_last_build_date(meta.updated.to_rfc2822());
    channel.set_generator(format!("newsriver {}", env!("CARGO_PKG_VERSION")));
    channel.set_atom_ext(AtomExtension {
        links: vec![Link {
            href: meta.self_url(Format::Rss),
            rel: "self".into(),
            mime_type: Some("application/rss+xml".into()),
            ..Default::default()
        }],
    });
    channel.set_items(items);
    channel.to_string()
}

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    items: Vec<JsonItem>,
}

#[derive(Serialize)]
struct JsonAuthor {
    name: String,
}

#[derive(Serialize)]
struct JsonAttachment {
    url: String,
    mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
}

#[derive(Serialize)]
struct JsonItem {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    title: String,
    content_html: String,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<JsonAuthor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<JsonAttachment>,
}

fn json(meta: &FeedMeta<'_>, entries: &[Entry<'_>]) -> Vec<u8> {
    let secs = chrono::SecondsFormat::Secs;
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: meta.title,
        home_page_url: meta.home_url(),
        feed_url: meta.self_url(Format::Json),
        language: Some(meta.lang.tag()),
        items: entries
            .iter()
            .map(|e| JsonItem {
                id: e.id.clone(),
                url: e.link.clone(),
                title: e.title.clone(),
                content_html: e.html(),
                date_published: e.published.to_rfc3339_opts(secs, true),
                date_modified: e.updated.to_rfc3339_opts(secs, true),
                authors: e
                    .authors
                    .iter()
                    .map(|a| JsonAuthor { name: a.clone() })
                    .collect(),
                language: e.lang.clone(),
                tags: e.categories.clone(),
                attachments: e
                    .enclosures
                    .iter()
                    .map(|a| JsonAttachment {
                        url: a.url.clone(),
                        mime_type: a
                            .mime_type
                            .clone()
                            .unwrap_or_else(|| UNKNOWN_MIME_TYPE.into()),
                        size_in_bytes: a.length,
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_vec_pretty(&feed).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(source: &str, link: &str, html: &str) -> FeedCopy {
        FeedCopy {
            source_id: source.into(),
            source_name: format!("{source} 网"),
            language: Some("zh-CN".into()),
            link: Some(link.into()),
            title: Some("京津冀 & 教育".into()),
            summary_html: None,
            content_html: Some(html.into()),
            authors: vec![],
            enclosures: vec![],
            categories: vec![],
            published: DateTime::UNIX_EPOCH,
            text_len: html.chars().count(),
            item_key: link.into(),
            low_trust: false,
            own_link: true,
            display_title: None,
            first_seen: DateTime::UNIX_EPOCH,
            in_topic: true,
        }
    }

    fn story() -> FeedStory {
        FeedStory {
            id: "009faec111ee25ee7b8207e60ffbe511eefceb23a82b369f7ba5590bd344eacf".into(),
            title: "京津冀 & 教育".into(),
            link: Some("https://a.example/news/1.html".into()),
            published: DateTime::UNIX_EPOCH,
            updated: DateTime::UNIX_EPOCH,
            first_seen: DateTime::UNIX_EPOCH,
            copies: vec![
                copy("a", "https://a.example/news/1.html", "<p>短摘要</p>"),
                copy(
                    "b",
                    "https://b.example/x/2.html",
                    "<p onclick=\"evil()\">全文很长很长很长<img src=\"../img/p.jpg\"><script>alert(1)</script><a href=\"javascript:alert(1)\">x</a></p><iframe src=\"https://e.example\"></iframe>",
                ),
            ],
        }
    }

    fn meta(base: &Url) -> FeedMeta<'_> {
        FeedMeta {
            slug: "edu",
            title: "京津冀教育协同",
            base_url: base,
            updated: DateTime::UNIX_EPOCH,
            lang: Lang::ZhHans,
            script: Script::Simplified,
            topic_ids_from: 0,
        }
    }

    static BASE: std::sync::LazyLock<Url> =
        std::sync::LazyLock::new(|| Url::parse("http://localhost:8080/").unwrap());

    /// The topic the entries are rendered for: `edu`, Simplified Chinese.
    fn how() -> FeedMeta<'static> {
        meta(&BASE)
    }

    fn entry<'a>(s: &'a FeedStory, n: &Normalizer) -> Entry<'a> {
        super::entry(s, &how(), n).expect("an entry")
    }

    #[test]
    fn a_copy_stored_without_a_display_title_is_shown_cleaned() {
        let mut s = story();
        s.copies.truncate(1);
        s.copies[0].title = Some("三地高校联合招生_中国新闻网".into());
        let e = entry(&s, &Normalizer::default());
        assert_eq!(e.title, "三地高校联合招生");
        s.copies[0].display_title = Some("已清理的标题".into());
        assert_eq!(entry(&s, &Normalizer::default()).title, "已清理的标题");
    }

    #[test]
    fn entry_ids_are_stable_uuids_per_topic() {
        let s = story();
        let id = entry_id("edu", &s, 0);
        assert_eq!(id, entry_id("edu", &s.clone(), 0), "stable");
        assert_ne!(id, entry_id("jobs", &s, 0), "one per topic");
        assert_eq!(id.len(), "urn:uuid:".len() + 36);
        assert_eq!(id.as_bytes()["urn:uuid:".len() + 14], b'8', "version 8");
        // A story first seen before per-topic ids keeps its one old id.
        let old = entry_id("edu", &s, 1);
        assert_eq!(old, "urn:uuid:009faec1-11ee-85ee-bb82-07e60ffbe511");
        assert_eq!(old, entry_id("jobs", &s, 1));
    }

    #[test]
    fn fullest_copy_is_sanitized_and_absolutized() {
        let s = story();
        let e = entry(&s, &Normalizer::default());
        assert!(e.html().contains("全文很长"));
        assert!(
            !e.html().contains("script")
                && !e.html().contains("onclick")
                && !e.html().contains("iframe")
        );
        assert!(!e.html().contains("javascript:"));
        assert!(
            e.html().contains("https://b.example/img/p.jpg"),
            "{}",
            e.html()
        );
        // b is named once: as whose text it is, not again among the others.
        assert_eq!(e.html().matches("b 网").count(), 1, "{}", e.html());
        assert!(!e.html().contains("另见"), "{}", e.html());
    }

    #[test]
    fn text_from_another_copy_than_the_linked_one_says_whose_it_is() {
        // The linked copy is a; the fullest text is b's (it may add to the
        // story): the entry names b as the text's publisher.
        let s = story();
        let e = entry(&s, &Normalizer::default());
        assert_eq!(e.link.as_deref(), Some("https://a.example/news/1.html"));
        assert!(
            e.html().contains(
                "<p>首发：<a href=\"https://a.example/news/1.html\" rel=\"nofollow\">a 网</a> · 正文来自：<a href=\"https://b.example/x/2.html\" rel=\"nofollow\">b 网</a></p>"
            ),
            "{}",
            e.html()
        );
        // One outlet: no attribution line at all.
        let mut one = story();
        one.copies.truncate(1);
        one.copies[0].content_html = Some("<p>只有一份全文。</p>".into());
        let e = entry(&one, &Normalizer::default());
        assert!(e.attribution.is_empty());
        assert_eq!(e.html(), "<p>只有一份全文。</p>");
    }

    #[test]
    fn a_simplified_topic_shows_simplified_whatever_copy_came_first() {
        // The Traditional copy is the fullest and the first: a Simplified
        // topic still shows the Simplified copy's headline and text.
        let mut s = story();
        s.copies[1].title = Some("國土計畫法修正草案通過".into());
        s.copies[1].display_title = Some("國土計畫法修正草案通過".into());
        s.copies[1].content_html = Some(format!(
            "<p>{}</p>",
            "行政院會今天通過國土計畫法修正草案，將送立法院審議。".repeat(3)
        ));
        s.copies[1].text_len = 200;
        s.copies[0].display_title = Some("国土计划法修正草案通过".into());
        s.copies[0].content_html = Some("<p>行政院会今天通过国土计划法修正草案。</p>".into());
        let e = entry(&s, &Normalizer::default());
        assert_eq!(e.title, "国土计划法修正草案通过");
        assert!(e.text_html.contains("行政院会今天通过"), "{}", e.text_html);
        assert_eq!(e.converted_from, None);
        // A Traditional topic shows the Traditional copy as published.
        let trad = FeedMeta {
            script: Script::Traditional,
            lang: Lang::ZhHant,
            ..how()
        };
        let e = super::entry(&s, &trad, &Normalizer::default()).unwrap();
        assert_eq!(e.title, "國土計畫法修正草案通過");
        assert!(e.html().contains("首發："), "{}", e.html());
        // With only the Traditional copy, a Simplified topic converts it
        // for display and says so; the copy itself is unchanged.
        s.copies.remove(0);
        let e = entry(&s, &Normalizer::default());
        assert_eq!(e.title, "国土计划法修正草案通过");
        assert!(
            e.text_html.contains("行政院会今天通过国土计划法修正草案"),
            "{}",
            e.text_html
        );
        assert_eq!(e.converted_from, Some(Script::Traditional));
        assert!(
            e.html().contains("本条由繁体转换为简体显示"),
            "{}",
            e.html()
        );
        assert!(
            s.copies[0]
                .content_html
                .as_deref()
                .unwrap()
                .contains("國土計畫法")
        );
        let as_published = FeedMeta {
            script: Script::AsPublished,
            ..how()
        };
        let e = super::entry(&s, &as_published, &Normalizer::default()).unwrap();
        assert_eq!(e.title, "國土計畫法修正草案通過");
        assert_eq!(e.converted_from, None);
    }

    #[test]
    fn an_entry_is_never_empty() {
        let mut s = story();
        s.copies.truncate(1);
        s.copies[0].content_html = Some("<p> </p><script>x</script>".into());
        let e = entry(&s, &Normalizer::default());
        assert_eq!(e.text_html, "<p>此新闻只有标题，请点击链接阅读原文。</p>");
        s.copies[0].link = Some("javascript:alert(1)".into());
        assert!(super::entry(&s, &how(), &Normalizer::default()).is_none());
        let en = FeedMeta {
            lang: Lang::En,
            ..how()
        };
        s.copies[0].link = Some("https://a.example/1".into());
        let e = super::entry(&s, &en, &Normalizer::default()).unwrap();
        assert!(e.text_html.contains("Only a headline"), "{}", e.text_html);
    }

    #[test]
    fn every_outlet_is_named_once_in_the_topics_language() {
        let mut s = story();
        s.copies
            .push(copy("c", "https://c.example/3.html", "<p>短</p>"));
        s.copies
            .push(copy("c", "https://c.example/4.html", "<p>短</p>"));
        s.copies
            .push(copy("d", "https://d.example/5.html", "<p>短</p>"));
        let e = entry(&s, &Normalizer::default());
        let html = e.html();
        let line = html.rsplit("<p>").next().unwrap();
        assert_eq!(line.matches("c 网").count(), 1, "{line}");
        assert!(line.contains("另见：<a href=\"https://c.example/3.html\" rel=\"nofollow\">c 网</a>、<a href=\"https://d.example/5.html\" rel=\"nofollow\">d 网</a>"), "{line}");
        assert!(
            !line
                .chars()
                .any(|c| c.is_ascii_alphabetic() && !line.contains("href")),
            "{line}"
        );
        let en = FeedMeta {
            lang: Lang::En,
            ..how()
        };
        let e = super::entry(&s, &en, &Normalizer::default()).unwrap();
        assert!(e.html().contains("First reported by "), "{}", e.html());
    }

    #[test]
    fn a_topics_language_comes_from_its_stories_when_the_config_is_silent() {
        let mut s = story();
        assert_eq!(topic_language(std::slice::from_ref(&s)), Lang::ZhHans);
        s.copies[0].language = Some("zh-TW".into());
        assert_eq!(topic_language(std::slice::from_ref(&s)), Lang::ZhHant);
        s.copies[0].language = None;
        s.title = "國土計畫法修正草案通過".into();
        assert_eq!(topic_language(std::slice::from_ref(&s)), Lang::ZhHant);
        s.title = "Budget passed".into();
        assert_eq!(topic_language(std::slice::from_ref(&s)), Lang::En);
        assert_eq!(topic_language(&[]), Lang::En);
    }

    #[test]
    fn titles_are_plain_text_and_links_http_only() {
        assert_eq!(
            plain_text("<b>x</b><script>alert(1)</script> y"),
            "x y",
            "script content goes, text stays"
        );
        assert_eq!(plain_text("a < b & c"), "a < b & c", "not markup: kept");
        assert_eq!(plain_text("<i>斜</i>体"), "斜体");
        // Titles arrive entity-decoded (normalize); a reference left is a
        // second level of escaping, decoded too (readers decode titles
        // again): markup it reveals is stripped, text stays.
        assert_eq!(plain_text("&lt;i&gt;斜&lt;/i&gt;"), "斜");
        assert_eq!(plain_text("Tom &amp;amp; Jerry"), "Tom & Jerry");
        assert_eq!(
            plain_text("&lt;&#x1;img src=x onerror=alert(1)&gt;标题"),
            "标题"
        );
        assert_eq!(plain_text("&amp;lt;&amp;#x1;img src=x&amp;gt;标题"), "标题");
        assert_eq!(plain_text("&#x1;&#0;&#xD800;控制"), "控制");
        // Markup revealed by decoding is stripped too.
        assert_eq!(
            plain_text("<b>&lt;script&gt;alert(1)&lt;/script&gt;粗</b>"),
            "粗"
        );
        assert_eq!(plain_text("t<title><script>alert(1)</script></title>"), "t");
        assert_eq!(plain_text("控\u{1}制\u{fffe}"), "控制");
    }

    #[test]
    fn control_characters_cannot_hide_a_tag_from_plain_text() {
        let controls = ('\u{0}'..='\u{1f}').chain('\u{7f}'..='\u{9f}');
        for c in controls.chain(['\u{fffe}', '\u{ffff}']) {
            for raw in [
                format!("test <{c}img src=x onerror=alert(1)>"),
                format!("test <{c}script>alert(1)</script>"),
                format!("test <i{c}mg src=x onerror=alert(1)>"),
            ] {
                let out = plain_text(&raw);
                assert!(!has_tag(&out), "{c:?}: {out:?}");
                assert!(out.chars().all(title_char), "{c:?}: {out:?}");
                assert!(out.starts_with("test"), "{c:?}: {out:?}");
            }
        }
    }

    #[test]
    fn hostile_nesting_in_titles_is_stripped_without_the_html_parser() {
        for title in [
            format!("标题{}", "<div>".repeat(30_000)),
            format!("标题{}", "<div/>".repeat(50_000)),
            format!("标题{}", "<div></p>".repeat(30_000)),
        ] {
            assert_eq!(plain_text(&title), "标题");
        }
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link(" JaVaScRiPt:alert(1)"), None);
        assert_eq!(safe_link("data:text/html,x"), None);
        assert_eq!(safe_link("/relative"), None);
        assert_eq!(
            safe_link("https://a.example/x y").as_deref(),
            Some("https://a.example/x%20y")
        );
        assert_eq!(xml_text("a\u{0}b\u{b}c\td"), "abc\td");
    }

    #[test]
    fn an_entrys_html_is_cut_between_elements_and_sanitized_again() {
        use crate::normalize::MAX_SHOWN_HTML_BYTES;
        let para = format!("<div><p>{}<b>粗</b></p>", "正文内容。".repeat(30));
        let raw = para.repeat(2_000);
        assert!(raw.len() > 2 * MAX_SHOWN_HTML_BYTES);
        let shown = sanitized_html(&raw, None, &Normalizer::default());
        assert!(shown.len() <= MAX_SHOWN_HTML_BYTES, "{}", shown.len());
        assert!(shown.len() > MAX_SHOWN_HTML_BYTES / 2, "{}", shown.len());
        // Every element the cut left open is closed again.
        assert_eq!(
            shown.matches("<div>").count(),
            shown.matches("</div>").count()
        );
        assert_eq!(shown.matches("<p>").count(), shown.matches("</p>").count());
        // Short HTML is left as it is.
        assert_eq!(bounded_html("<p>短</p>"), "<p>短</p>");
        // Sanitized HTML whose tags were long (attributes ammonia keeps).
        let links = "<a href=\"https://a.example/very/long/path/\">链</a>".repeat(20_000);
        let bounded = bounded_html(&links);
        assert!(bounded.len() <= MAX_SHOWN_HTML_BYTES, "{}", bounded.len());
        assert!(
            bounded.ends_with("</a>"),
            "{}",
            &bounded[bounded.len() - 40..]
        );
    }

    #[test]
    fn an_entry_whose_html_is_all_boilerplate_shows_it_as_published() {
        let n = Normalizer::default();
        // Only credits: the rules would leave nothing; shown as published.
        let shown = sanitized_html("<p>责任编辑：王五</p><p>(完)</p>", None, &n);
        assert!(shown.contains("王五"), "{shown}");
        // Credits after a report still go.
        let shown = sanitized_html("<p>今天召开会议。</p><p>责任编辑：王五</p>", None, &n);
        assert!(!shown.contains("王五") && shown.contains("会议"), "{shown}");
        // Nothing to show in the first place: still nothing.
        let shown = sanitized_html("<p> </p><script>x</script>", None, &n);
        assert!(!has_visible_text(&shown), "{shown}");
    }

    fn file(url: &str, mime: Option<&str>, length: Option<u64>) -> crate::store::Enclosure {
        crate::store::Enclosure {
            url: url.into(),
            mime_type: mime.map(str::to_string),
            length,
        }
    }

    /// `story()` with files, categories and authors on both copies: b's
    /// text is shown, so b's come first.
    fn story_with_files() -> FeedStory {
        let mut s = story();
        s.copies[0].enclosures = vec![
            file("https://cdn.example/p.jpg", Some("image/jpeg"), Some(1234)),
            file("javascript:alert(1)", Some("image/png"), Some(1)),
            file("https://a.example/podcast.mp3", Some("audio/mpeg"), None),
        ];
        s.copies[0].categories = vec!["教育".into(), "<b>京津冀</b>".into()];
        s.copies[0].authors = vec!["王五".into(), "赵六".into()];
        s.copies[1].enclosures = vec![
            // The same picture, its URL spelled otherwise.
            file("HTTPS://CDN.example:443/p.jpg", None, None),
            file("data:image/png;base64,AAAA", Some("image/png"), None),
            file(
                "https://b.example/clip.mp4",
                Some("video/mp4\"><x"),
                Some(99),
            ),
        ];
        s.copies[1].categories = vec!["高校".into(), "教育".into(), "  ".into()];
        s.copies[1].authors = vec!["赵六".into(), "<script>x</script>李四".into()];
        s
    }

    #[test]
    fn an_entry_lists_every_copys_files_once_shown_copy_first() {
        let s = story_with_files();
        let e = entry(&s, &Normalizer::default());
        assert_eq!(
            e.enclosures,
            vec![
                Attachment {
                    url: "https://cdn.example/p.jpg".into(),
                    mime_type: Some("image/jpeg".into()),
                    length: Some(1234),
                },
                Attachment {
                    url: "https://b.example/clip.mp4".into(),
                    mime_type: None,
                    length: Some(99),
                },
                Attachment {
                    url: "https://a.example/podcast.mp3".into(),
                    mime_type: Some("audio/mpeg".into()),
                    length: None,
                },
            ]
        );
        assert_eq!(e.categories, ["高校", "教育", "京津冀"]);
        assert_eq!(e.authors, ["赵六", "李四", "王五"]);
        // A low-trust source adds nothing to a story others carry.
        let mut s = story_with_files();
        s.copies[0].low_trust = true;
        let e = entry(&s, &Normalizer::default());
        assert_eq!(e.authors, ["赵六", "李四"]);
        assert_eq!(e.categories, ["高校", "教育"]);
        assert_eq!(e.enclosures.len(), 2, "{:?}", e.enclosures);
        // Bounded, however many copies carry files.
        let mut s = story();
        let template = s.copies[0].clone();
        s.copies = (0..40)
            .map(|i| FeedCopy {
                source_id: format!("s{i}").as_str().into(),
                enclosures: (0..16)
                    .map(|j| file(&format!("https://x.example/{i}/{j}.jpg"), None, None))
                    .collect(),
                categories: (0..32).map(|j| format!("c{i}-{j}")).collect(),
                ..template.clone()
            })
            .collect();
        let e = entry(&s, &Normalizer::default());
        assert_eq!(e.enclosures.len(), MAX_ENTRY_ENCLOSURES);
        assert_eq!(e.categories.len(), MAX_ENTRY_CATEGORIES);
    }

    /// (URL, MIME type, length) of a file a feed reader read back.
    type ReadFile = (String, Option<String>, Option<u64>);

    /// `story_with_files()` rendered in `format` and read back by feed-rs:
    /// the files, category terms and author names of its one entry.
    fn read_back(format: Format) -> (Vec<ReadFile>, Vec<String>, Vec<String>) {
        let base = Url::parse("http://localhost:8080/").unwrap();
        let bytes = render(
            &meta(&base),
            &[story_with_files()],
            format,
            &Normalizer::default(),
        );
        let feed = feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|e| panic!("{format}: {e}"));
        let entry = &feed.entries[0];
        let mut files: Vec<ReadFile> = entry
            .links
            .iter()
            .filter(|l| {
                l.rel.as_deref() == Some("enclosure")
                    || l.media_type
                        .as_deref()
                        .is_some_and(|t| !t.starts_with("text/html"))
                        && l.rel.is_none()
            })
            .map(|l| (l.href.clone(), l.media_type.clone(), l.length))
            .collect();
        for m in &entry.media {
            for c in &m.content {
                files.push((
                    c.url.as_ref().map(|u| u.to_string()).unwrap_or_default(),
                    c.content_type.as_ref().map(|t| t.to_string()),
                    c.size,
                ));
            }
        }
        let categories = entry.categories.iter().map(|c| c.term.clone()).collect();
        let authors = entry
            .authors
            .iter()
            .filter_map(|p| p.name.clone())
            .collect();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            !text.contains("javascript:") && !text.contains("data:image"),
            "{format}"
        );
        (files, categories, authors)
    }

    #[test]
    fn atom_writes_every_file_as_an_enclosure_link_and_categories() {
        let (files, categories, authors) = read_back(Format::Atom);
        assert_eq!(
            files,
            vec![
                (
                    "https://cdn.example/p.jpg".into(),
                    Some("image/jpeg".into()),
                    Some(1234)
                ),
                ("https://b.example/clip.mp4".into(), None, Some(99)),
                (
                    "https://a.example/podcast.mp3".into(),
                    Some("audio/mpeg".into()),
                    None
                ),
            ]
        );
        assert_eq!(categories, ["高校", "教育", "京津冀"]);
        assert_eq!(authors, ["赵六", "李四", "王五"]);
    }

    #[test]
    fn rss_writes_one_enclosure_with_a_type_and_length_and_categories() {
        let (files, categories, _) = read_back(Format::Rss);
        assert_eq!(
            files,
            vec![(
                "https://cdn.example/p.jpg".into(),
                Some("image/jpeg".into()),
                Some(1234)
            )]
        );
        assert_eq!(categories, ["高校", "教育", "京津冀"]);
        // With no file that has both, the first with a type, length 0.
        let mut s = story_with_files();
        s.copies[0].enclosures.remove(0);
        s.copies[1].enclosures.remove(0);
        let e = entry(&s, &Normalizer::default());
        assert_eq!(
            rss_enclosure(&e.enclosures).map(|a| a.url.as_str()),
            Some("https://a.example/podcast.mp3")
        );
        let base = Url::parse("http://localhost:8080/").unwrap();
        let text = String::from_utf8(render(
            &meta(&base),
            &[s],
            Format::Rss,
            &Normalizer::default(),
        ))
        .unwrap();
        assert!(
            text.contains(
                "<enclosure url=\"https://a.example/podcast.mp3\" length=\"0\" type=\"audio/mpeg\"/>"
            ),
            "{text}"
        );
        assert_eq!(text.matches("<enclosure").count(), 1);
    }

    #[test]
    fn json_feed_writes_attachments_with_a_type_and_tags() {
        let (files, categories, authors) = read_back(Format::Json);
        assert_eq!(
            files,
            vec![
                (
                    "https://cdn.example/p.jpg".into(),
                    Some("image/jpeg".into()),
                    Some(1234)
                ),
                (
                    "https://b.example/clip.mp4".into(),
                    Some("application/octet-stream".into()),
                    Some(99)
                ),
                (
                    "https://a.example/podcast.mp3".into(),
                    Some("audio/mpeg".into()),
                    None
                ),
            ]
        );
        assert_eq!(categories, ["高校", "教育", "京津冀"]);
        assert_eq!(authors, ["赵六", "李四", "王五"]);
    }

    #[test]
    fn an_entry_without_files_or_categories_writes_none() {
        let base = Url::parse("http://localhost:8080/").unwrap();
        for f in Format::ALL {
            let bytes = render(&meta(&base), &[story()], f, &Normalizer::default());
            let text = String::from_utf8(bytes).unwrap();
            for absent in ["enclosure", "category", "attachments", "\"tags\""] {
                assert!(!text.contains(absent), "{f}: {absent}");
            }
        }
    }

    #[test]
    fn every_format_parses_back_with_the_same_ids() {
        let base = Url::parse("http://localhost:8080/").unwrap();
        let stories = vec![story()];
        for f in Format::ALL {
            let bytes = render(&meta(&base), &stories, f, &Normalizer::default());
            let feed = feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(feed.entries.len(), 1, "{f}");
            assert_eq!(feed.entries[0].id, entry_id("edu", &stories[0], 0), "{f}");
            let lang = feed.language.as_deref().map(str::to_ascii_lowercase);
            assert_eq!(lang.as_deref(), Some("zh-hans"), "{f}");
            assert_eq!(
                feed.entries[0].title.as_ref().unwrap().content,
                "京津冀 & 教育",
                "{f}"
            );
            let text = String::from_utf8(bytes).unwrap();
            assert!(
                text.contains("http://localhost:8080/topics/edu."),
                "{f}: self link"
            );
        }
    }
}
