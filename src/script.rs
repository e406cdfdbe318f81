//! Simplified and Traditional script for display: which script a text is
//! in, and a headline or HTML text converted to a topic's script. Stored
//! copies stay as published; only what readers are shown is converted.
//! Pure.
//!
//! Conversion is OpenCC's dictionaries (phrases first, then characters:
//! `头发` → `頭髮`, not `頭發`) through ferrous-opencc (Apache-2.0). The
//! one-to-one character table that dedupe folds with (`text::simplified`,
//! fast2s) tells the script; it is not good enough to show: many
//! Simplified characters stand for several Traditional ones.

use std::borrow::Cow;
use std::sync::OnceLock;

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;

use crate::wording::Script;

/// Is `text` written in Traditional script? Yes when at least 8% of its
/// Han characters (and at least one) are Traditional forms: Traditional
/// news text runs at 15–35%, Simplified at 0–2% (characters such as `著`
/// or `乾` that both scripts use).
pub fn is_traditional(text: &str) -> bool {
    let (han, traditional) = crate::text::traditional_share(text);
    traditional > 0 && traditional * 100 >= han * 8
}

/// Is a copy whose headline and text are `sample` in `script`? A text
/// with no Han characters is in every script.
pub fn in_script(sample: &str, script: Script) -> bool {
    match script {
        Script::AsPublished => true,
        Script::Simplified => !is_traditional(sample),
        Script::Traditional => {
            let (han, _) = crate::text::traditional_share(sample);
            han == 0 || is_traditional(sample)
        }
    }
}

fn converter(to: Script) -> Option<&'static OpenCC> {
    static S2T: OnceLock<Option<OpenCC>> = OnceLock::new();
    static T2S: OnceLock<Option<OpenCC>> = OnceLock::new();
    let (cell, config) = match to {
        Script::Traditional => (&S2T, BuiltinConfig::S2t),
        Script::Simplified => (&T2S, BuiltinConfig::T2s),
        Script::AsPublished => return None,
    };
    cell.get_or_init(|| match OpenCC::from_config(config) {
        Ok(c) => Some(c),
        Err(e) => {
            // The dictionaries are compiled into the binary: this cannot
            // fail but through a broken build. Show text as published.
            tracing::error!("script conversion unavailable: {e}");
            None
        }
    })
    .as_ref()
}

/// Plain text (a headline) in `to`.
pub fn convert(text: &str, to: Script) -> Cow<'_, str> {
    let has_han = crate::text::traditional_share(text).0 > 0;
    match converter(to) {
        Some(c) if has_han => Cow::Owned(c.convert(text)),
        _ => Cow::Borrowed(text),
    }
}

/// Sanitized HTML in `to`: the text between tags is converted; tags and
/// attribute values (URLs) are left as they are.
pub fn convert_html(html: &str, to: Script) -> String {
    let Some(c) = converter(to) else {
        return html.to_string();
    };
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut rest = html;
    while !rest.is_empty() {
        let text_end = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..text_end];
        if crate::text::traditional_share(text).0 > 0 {
            out.push_str(&c.convert(text));
        } else {
            out.push_str(text);
        }
        rest = &rest[text_end..];
        if rest.is_empty() {
            break;
        }
        // A tag, to its `>` outside quotes.
        let mut quote = None;
        let mut end = rest.len();
        for (i, b) in rest.bytes().enumerate().skip(1) {
            match (quote, b) {
                (None, b'"' | b'\'') => quote = Some(b),
                (Some(q), _) if b == q => quote = None,
                (None, b'>') => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        out.push_str(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_script_of_news_text() {
        assert!(is_traditional(
            "（中央社台北3日電）行政院會今天通過「國土計畫法」修正草案，將送立法院審議。"
        ));
        assert!(!is_traditional(
            "中新网北京10月9日电（记者 杜燕）北京市教委今天发布通知，要求各区做好学生午休工作。"
        ));
        // A Simplified text with a character both scripts use.
        assert!(!is_traditional(
            "著名作家在北京发表演讲，谈到了许多关于文学创作的问题和经验，听众反响热烈。"
        ));
        assert!(!is_traditional("no Chinese at all"));
        assert!(in_script("English only", Script::Traditional));
        assert!(in_script("English only", Script::Simplified));
        assert!(in_script("國土計畫", Script::AsPublished));
    }

    #[test]
    fn converts_phrases_both_ways_and_leaves_markup_alone() {
        assert_eq!(convert("头发和发展", Script::Traditional), "頭髮和發展");
        assert_eq!(convert("頭髮和發展", Script::Simplified), "头发和发展");
        assert_eq!(convert("no han", Script::Simplified), "no han");
        let html = "<p title=\"說明\">國土<a href=\"https://例子.tw/國土?a='>'\">計畫</a></p>";
        let shown = convert_html(html, Script::Simplified);
        assert_eq!(
            shown,
            "<p title=\"說明\">国土<a href=\"https://例子.tw/國土?a='>'\">计划</a></p>"
        );
        assert_eq!(convert_html("a < b", Script::AsPublished), "a < b");
        // An unclosed tag at the end is kept as it is.
        assert_eq!(
            convert_html("國<a href=\"x", Script::Simplified),
            "国<a href=\"x"
        );
    }
}
