//! What readers read that no outlet wrote: the words of feeds and pages in
//! the reader's language — one small catalog per language, so no English
//! reaches a Chinese feed — and the language and script a topic is shown
//! in. Pure.
//!
//! A catalog is a struct of `&'static str`, not a gettext or Fluent file:
//! three languages of a dozen short strings each, checked by the compiler
//! (a missing string is a build error, not an English fallback at run time).

use std::fmt;

/// A language a topic is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Chinese in Simplified script (`zh-Hans`).
    ZhHans,
    /// Chinese in Traditional script (`zh-Hant`).
    ZhHant,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::ZhHans, Lang::ZhHant, Lang::En];

    /// Its BCP 47 tag, as written in `xml:lang`, `<language>` and `lang`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhHans => "zh-Hans",
            Lang::ZhHant => "zh-Hant",
            Lang::En => "en",
        }
    }

    /// A language tag as a config or a feed writes it (`zh-CN`, `zh_TW`,
    /// `zh-Hant-HK`, `en-US`, `ZH`), or None for a language with no catalog.
    /// `zh` alone and mainland/Singapore regions are Simplified; Taiwan,
    /// Hong Kong and Macau are Traditional.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
        let mut parts = tag.split('-');
        match parts.next()? {
            "en" => Some(Lang::En),
            "zh" => {
                let rest: Vec<&str> = parts.collect();
                if rest.contains(&"hant") {
                    Some(Lang::ZhHant)
                } else if rest.contains(&"hans") {
                    Some(Lang::ZhHans)
                } else if rest.iter().any(|r| matches!(*r, "tw" | "hk" | "mo")) {
                    Some(Lang::ZhHant)
                } else {
                    Some(Lang::ZhHans)
                }
            }
            _ => None,
        }
    }

    /// The script a topic in this language is shown in unless it says.
    pub fn script(self) -> Script {
        match self {
            Lang::ZhHans => Script::Simplified,
            Lang::ZhHant => Script::Traditional,
            Lang::En => Script::AsPublished,
        }
    }

    /// The words of this language.
    pub fn words(self) -> &'static Words {
        match self {
            Lang::ZhHans => &ZH_HANS,
            Lang::ZhHant => &ZH_HANT,
            Lang::En => &EN,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The script headlines and texts are shown in. Stored copies stay as
/// published; only what a reader is shown is converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Script {
    Simplified,
    Traditional,
    /// Each copy as its outlet wrote it.
    AsPublished,
}

impl Script {
    pub const NAMES: [&'static str; 3] = ["simplified", "traditional", "as-published"];

    pub fn name(self) -> &'static str {
        match self {
            Script::Simplified => "simplified",
            Script::Traditional => "traditional",
            Script::AsPublished => "as-published",
        }
    }

    pub fn from_name(name: &str) -> Option<Script> {
        match name.trim() {
            "simplified" => Some(Script::Simplified),
            "traditional" => Some(Script::Traditional),
            "as-published" => Some(Script::AsPublished),
            _ => None,
        }
    }
}

/// Every string a reader sees that no outlet wrote.
#[derive(Debug)]
pub struct Words {
    /// Before the outlet whose link the entry has (the first to carry it).
    pub first: &'static str,
    /// Before the outlet whose words the headline and text are, when
    /// another than the first.
    pub text_from: &'static str,
    /// Before the other outlets that carried the story.
    pub also: &'static str,
    /// Between the parts of an attribution line.
    pub part_sep: &'static str,
    /// Between outlets in a list.
    pub list_sep: &'static str,
    /// Under a text converted from Traditional script for display.
    pub converted_from_traditional: &'static str,
    /// Under a text converted from Simplified script for display.
    pub converted_from_simplified: &'static str,
    /// The RSS channel's description, after the topic's title.
    pub feed_description: &'static str,
    /// The list of topics (page title and `/topics/`).
    pub topics: &'static str,
    /// Before a story count (`{n}` is replaced).
    pub story_count: &'static str,
    /// Before a topic's last update.
    pub updated: &'static str,
    /// Before the feed links.
    pub subscribe: &'static str,
    /// The link to older stories.
    pub older: &'static str,
    /// The link back to the newest stories.
    pub newest: &'static str,
    /// A topic with no story yet.
    pub no_stories: &'static str,
    /// The link from a topic's page back to the list.
    pub all_topics: &'static str,
    /// Shown for a story whose outlets gave a headline but no text.
    pub no_text: &'static str,
}

impl Words {
    /// `story_count` with `n`.
    pub fn stories(&self, n: usize) -> String {
        self.story_count.replace("{n}", &n.to_string())
    }
}

const ZH_HANS: Words = Words {
    first: "首发：",
    text_from: "正文来自：",
    also: "另见：",
    part_sep: " · ",
    list_sep: "、",
    converted_from_traditional: "本条由繁体转换为简体显示。",
    converted_from_simplified: "本条由简体转换为繁体显示。",
    feed_description: "（多家媒体的同一新闻只列一次）",
    topics: "话题",
    story_count: "{n} 条新闻",
    updated: "更新于 ",
    subscribe: "订阅：",
    older: "更早的新闻",
    newest: "最新新闻",
    no_stories: "暂无新闻。",
    all_topics: "全部话题",
    no_text: "此新闻只有标题，请点击链接阅读原文。",
};

const ZH_HANT: Words = Words {
    first: "首發：",
    text_from: "正文來自：",
    also: "另見：",
    part_sep: " · ",
    list_sep: "、",
    converted_from_traditional: "本則由繁體轉換為簡體顯示。",
    converted_from_simplified: "本則由簡體轉換為繁體顯示。",
    feed_description: "（多家媒體的同一新聞只列一次）",
    topics: "話題",
    story_count: "{n} 則新聞",
    updated: "更新於 ",
    subscribe: "訂閱：",
    older: "更早的新聞",
    newest: "最新新聞",
    no_stories: "暫無新聞。",
    all_topics: "全部話題",
    no_text: "此新聞只有標題，請點擊連結閱讀原文。",
};

const EN: Words = Words {
    first: "First reported by ",
    text_from: "Text from ",
    also: "Also reported by ",
    part_sep: " · ",
    list_sep: ", ",
    converted_from_traditional: "Converted from Traditional to Simplified script for display.",
    converted_from_simplified: "Converted from Simplified to Traditional script for display.",
    feed_description: " (each story once, however many outlets carried it)",
    topics: "Topics",
    story_count: "{n} stories",
    updated: "Updated ",
    subscribe: "Subscribe: ",
    older: "Older stories",
    newest: "Newest stories",
    no_stories: "No stories yet.",
    all_topics: "All topics",
    no_text: "Only a headline was published: follow the link to read the story.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_as_feeds_write_them() {
        for (tag, lang) in [
            ("zh-CN", Some(Lang::ZhHans)),
            ("zh_cn", Some(Lang::ZhHans)),
            ("ZH", Some(Lang::ZhHans)),
            ("zh-Hans", Some(Lang::ZhHans)),
            ("zh-SG", Some(Lang::ZhHans)),
            ("zh-TW", Some(Lang::ZhHant)),
            ("zh-hk", Some(Lang::ZhHant)),
            ("zh-Hant", Some(Lang::ZhHant)),
            ("zh-Hant-CN", Some(Lang::ZhHant)),
            ("zh-Hans-HK", Some(Lang::ZhHans)),
            ("en-US", Some(Lang::En)),
            ("en", Some(Lang::En)),
            ("ja", None),
            ("", None),
        ] {
            assert_eq!(Lang::from_tag(tag), lang, "{tag}");
        }
        for lang in Lang::ALL {
            assert_eq!(Lang::from_tag(lang.tag()), Some(lang));
        }
        for name in Script::NAMES {
            assert_eq!(Script::from_name(name).map(Script::name), Some(name));
        }
    }

    #[test]
    fn chinese_catalogs_have_no_latin_words() {
        for lang in [Lang::ZhHans, Lang::ZhHant] {
            let w = lang.words();
            for s in [
                w.first,
                w.text_from,
                w.also,
                w.list_sep,
                w.converted_from_traditional,
                w.converted_from_simplified,
                w.feed_description,
                w.topics,
                w.story_count,
                w.updated,
                w.subscribe,
                w.older,
                w.newest,
                w.no_stories,
                w.all_topics,
                w.no_text,
            ] {
                assert!(
                    !s.replace("{n}", "")
                        .chars()
                        .any(|c| c.is_ascii_alphabetic()),
                    "{lang}: {s:?}"
                );
            }
        }
        assert_eq!(Lang::ZhHans.words().stories(3), "3 条新闻");
    }
}
