//! Relative URLs made absolute: links, and the URL attributes of an
//! item's HTML (`absolutize_html`).

use url::Url;

/// `url` if absolute, else resolved against `base`, else `None`.
pub(super) fn resolve(url: &str, base: Option<&Url>) -> Option<Url> {
    match Url::parse(url.trim()) {
        Ok(u) => Some(u),
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(url.trim()).ok(),
        Err(_) => None,
    }
}

/// A link as we keep it: absolute (as written, when it was), or `None`;
/// with it, the URL it is.
pub(super) fn absolute(link: &str, base: Option<&Url>) -> Option<(String, Url)> {
    match Url::parse(link) {
        Ok(u) => Some((link.to_string(), u)),
        Err(_) => resolve(link, base).map(|u| (String::from(u.clone()), u)),
    }
}

/// Attributes that hold URLs in the HTML feeds carry.
const URL_ATTRIBUTES: [&str; 6] = ["href", "src", "srcset", "poster", "cite", "background"];

/// `html` with every relative URL in a URL attribute made absolute against
/// `base`, and those that cannot be (no base) removed. Only the tags that
/// change are rewritten; everything else stays byte for byte (so an item's
/// raw hash does not move when nothing was relative).
pub(super) fn absolutize_html(html: &str, base: Option<&Url>) -> String {
    // Bounded first (`html::bound_tags`: every tag closed within 8 KiB, no
    // `<` left in text, no comments): `tag_end` then never scans past one
    // tag. Without it, `<a"` repeated made every `<` scan to the end of the
    // document for a quote that never closes: quadratic.
    let bounded = crate::html::bound_tags(html);
    let html = bounded.as_ref();
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
        match starts_tag.then(|| tag_end(rest)).flatten() {
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

/// One start tag with its URL attributes resolved (see `absolutize_html`):
/// the tag itself when none changes (nearly every tag; a copy of each was
/// a tenth of the cost).
fn rewrite_tag<'t>(tag: &'t str, base: Option<&Url>) -> std::borrow::Cow<'t, str> {
    let b = tag.as_bytes();
    let mut i = 1;
    while i < b.len() && !(b[i].is_ascii_whitespace() || b[i] == b'>' || b[i] == b'/') {
        i += 1;
    }
    // The tag rewritten, from its first attribute that changes: until
    // then, what would be written is the tag as it is.
    let mut out: Option<String> = None;
    while i < b.len() {
        // Whitespace and stray slashes between attributes.
        let gap = i;
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'>' {
            if let Some(out) = out.as_mut() {
                out.push_str(&tag[gap..]);
            }
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
        let url_attribute = URL_ATTRIBUTES.iter().find(|a| a.eq_ignore_ascii_case(name));
        let new = match (value, url_attribute) {
            (Some(v), Some(lower)) => resolve_attribute(lower, v, base),
            _ => Resolved::Keep,
        };
        match new {
            Resolved::Keep => {
                if let Some(out) = out.as_mut() {
                    out.push_str(whole);
                }
            }
            Resolved::Drop => {
                out.get_or_insert_with(|| tag[..gap].to_string());
            }
            Resolved::New(v) => {
                let out = out.get_or_insert_with(|| tag[..gap].to_string());
                out.push_str(&tag[gap..name_start]);
                out.push_str(name);
                out.push_str("=\"");
                out.push_str(&html_escape::encode_double_quoted_attribute(&v));
                out.push('"');
            }
        }
    }
    out.map_or(std::borrow::Cow::Borrowed(tag), std::borrow::Cow::Owned)
}

/// Whether `value` is an `http`/`https` URL that `Url::parse` is certain
/// to accept: a plain host of lower-case ASCII labels (none punycode, the
/// last starting with a letter, so never read as an IPv4 address), no
/// user, no port; whatever follows the host only ever gets
/// percent-encoded. Nearly every URL attribute in a feed is one; the parse
/// this saves (it allocates the URL's serialization) was 2% of a cold
/// poll's parallel stage. `false` says nothing: the caller parses.
fn surely_absolute(value: &str) -> bool {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.find(['/', '?', '#']).map_or(rest, |end| &rest[..end]);
    let mut labels = host.split('.').peekable();
    while let Some(label) = labels.next() {
        let b = label.as_bytes();
        let plain = !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && !label.starts_with("xn--");
        let last = labels.peek().is_none();
        if !plain || (last && !b[0].is_ascii_lowercase()) {
            return false;
        }
    }
    true
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
    if surely_absolute(value) {
        return Resolved::Keep;
    }
    match Url::parse(value) {
        Ok(_) => Resolved::Keep,
        Err(_) => match resolve(value, base) {
            Some(u) => Resolved::New(u.to_string()),
            None => Resolved::Drop,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_taken_as_surely_absolute_is_one_the_parser_accepts() {
        for v in [
            "https://www.chinanews.com.cn/gn/2026/10-09/1.shtml",
            "http://img.example.cn/a b/图片.jpg?x=1#top",
            "https://a-b.c9.example/",
            "https://example.com",
        ] {
            assert!(surely_absolute(v), "{v}");
            assert!(Url::parse(v).is_ok(), "{v}");
        }
        for v in [
            "/relative.jpg",
            "//cdn.example/a.jpg",
            "https://1.2.3.4/a",
            "https://example.0x10/",
            "https://xn--fiqs8s.example/",
            "https://EXAMPLE.com/",
            "https://example.com:8080/",
            "https://user@example.com/",
            "https://example..com/",
            "https://example.com./",
            "https://exa mple.com/",
            "https://example.com\\path",
            "HTTPS://example.com/",
            "https:///a",
        ] {
            assert!(!surely_absolute(v), "{v}");
        }
        // Never a URL the parser refuses, among strings made of the pieces
        // a host is read from (`test_strings`).
        let pieces = [
            "http://", "https://", "a", "z", "0", "9", "-", ".", "xn--", "/", "?", "#", ":", "@",
            "\\", " ", "\t", "例", "A", "0x", "[", "]", "%",
        ];
        let mut sure = 0;
        for (host, x) in crate::test_strings::strings(&pieces, 0x2545_f491_4f6c_dd1d, 9, 200_000) {
            let v = format!("{}{host}", if x & 1 == 0 { "http://" } else { "https://" });
            if surely_absolute(&v) {
                sure += 1;
                assert!(Url::parse(&v).is_ok(), "{v:?}");
            }
        }
        assert!(sure > 1_000, "{sure}");
    }

    #[test]
    fn unclosed_quotes_in_tags_cost_linear_work() {
        // 200,000 `<a"` (600 KB): each would scan to the end for its quote.
        let hostile = "<a\"".repeat(200_000);
        let base = Url::parse("https://a.example/x/").unwrap();
        let out = absolutize_html(&hostile, Some(&base));
        assert!(out.len() < hostile.len() * 8, "{}", out.len());
        // Ordinary markup keeps its links, made absolute.
        let out = absolutize_html("<p><a href=\"1.html\">一</a></p>", Some(&base));
        assert_eq!(out, "<p><a href=\"https://a.example/x/1.html\">一</a></p>");
    }
}
