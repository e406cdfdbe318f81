//! Byte-range edits of a document, shared by the pre-pass rewrites: each
//! rewrite finds what to change in one pass and leaves every other byte
//! alone.

/// Does this element content hold elements (not only text, CDATA sections
/// and comments)?
pub(super) fn has_elements(inner: &str) -> bool {
    let mut rest = inner;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let skip = if rest.starts_with("<![CDATA[") {
            rest.find("]]>").map(|e| e + 3)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|e| e + 3)
        } else {
            return true;
        };
        rest = &rest[skip.unwrap_or(rest.len())..];
    }
    false
}

/// Bytes `start..end` of a document, and what replaces them.
pub(super) type Edit = (usize, usize, String);

/// Replaces byte ranges of `text` (sorted, not overlapping).
pub(super) fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    for (start, end, with) in edits {
        if *start < at || text.get(at..*start).is_none() || text.get(*start..*end).is_none() {
            continue;
        }
        out.push_str(&text[at..*start]);
        out.push_str(with);
        at = *end;
    }
    out.push_str(&text[at..]);
    out
}
