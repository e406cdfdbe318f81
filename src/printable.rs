//! Text from feeds on a terminal: control characters made visible.
//!
//! A feed's title, an error quoting its bytes or a header a server sent can
//! hold ESC sequences (colours, cursor moves, window titles, OSC 8 links),
//! BEL, other C0/C1 controls and bidi overrides that reorder what a reader
//! sees. Everything the CLI prints goes through [`escape`] (one line kept as
//! lines) or [`escape_line`] (one field); names taken from feeds go through
//! [`clean_name`] before they are written to `config.toml`.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters never shown raw: C0 controls, DEL, C1 controls, and the
/// invisible formatting characters that reorder or hide text (bidi
/// embeddings, overrides, isolates and marks; the BOM; line and paragraph
/// separators).
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{061c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}')
}

/// `s` with every unsafe character but newline and tab written as
/// `\u{1b}` (Rust's escape form, so the text stays readable and the bytes
/// can be told apart). For whole messages of several lines.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_except(s, &['\n', '\t'])
}

/// `s` with every unsafe character escaped, newlines and tabs included: for
/// one field in a table or one log value.
pub fn escape_line(s: &str) -> Cow<'_, str> {
    escape_except(s, &[])
}

fn escape_except<'a>(s: &'a str, keep: &[char]) -> Cow<'a, str> {
    if !s.chars().any(|c| is_unsafe(c) && !keep.contains(&c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) && !keep.contains(&c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A name taken from a feed (its title) for `config.toml`: unsafe
/// characters dropped, whitespace runs (newlines too) made one space, trimmed.
pub fn clean_name(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !is_unsafe(*c))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Columns `s` takes on a terminal (CJK characters take two).
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` padded with spaces to `columns` display columns (left-aligned).
pub fn pad(s: &str, columns: usize) -> String {
    let mut out = s.to_string();
    for _ in width(s)..columns {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_made_visible() {
        assert_eq!(
            escape("a\x1b[31mred\x07\n\tb\u{9b}c\u{202e}d"),
            "a\\u{1b}[31mred\\u{7}\n\tb\\u{9b}c\\u{202e}d"
        );
        assert_eq!(escape_line("a\nb\tc"), "a\\u{a}b\\u{9}c");
        assert!(matches!(escape("新闻 plain"), Cow::Borrowed(_)));
        for c in (0u32..0x20).chain(0x7f..0xa0) {
            let c = char::from_u32(c).unwrap_or('x');
            assert!(!escape_line(&format!("x{c}y")).contains(c), "{c:?}");
        }
    }

    #[test]
    fn names_from_feeds_lose_controls() {
        assert_eq!(
            clean_name(" \x1b[31m新闻\x07\u{202e}\n  网 "),
            "[31m新闻 网"
        );
    }

    #[test]
    fn padding_counts_display_columns() {
        assert_eq!(width("新闻"), 4);
        assert_eq!(pad("新闻", 6), "新闻  ");
        assert_eq!(pad("ab", 1), "ab");
    }
}
