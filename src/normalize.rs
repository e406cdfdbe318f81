//! Item → normalized text and content hash. Pure functions, no I/O.
//!
//! Steps: HTML → lines of text (entities decoded) → Unicode NFKC (full-width
//! digits, letters and punctuation become ASCII) → outlet boilerplate removed
//! (datelines, 原标题, 责任编辑, (完), "相关推荐"-style footers and trailing
//! lists of other titles) → case-folded. The content hash is BLAKE3 of the
//! body with every character that is not a letter or digit dropped, so quote
//! style, punctuation and whitespace differences do not split a story.
//!
//! Hand-written on purpose: no crate knows Chinese news boilerplate, and the
//! exact rules decide which copies merge, so they belong to us.

use regex::{Regex, RegexSet};

use scraper::{Html, Node};

use crate::config;
use crate::html::BLOCK_ELEMENTS;
use crate::model::{ContentHash, NormalizedItem, ParsedItem};
use crate::text::{collapse_ws, lowercase_lines};

// The text folding and HTML helpers live in `text` and `html` (leaf
// modules `query` can use without importing this one); their public items
// are still reachable here, where the rest of the crate has always found them.
pub use crate::html::{
    MAX_HTML_DEPTH, MAX_HTML_NODES, MAX_HTML_TAGS, MAX_SHOWN_HTML_BYTES, MAX_TAG_ATTRIBUTES,
    MAX_TAG_BYTES, bound_tags, cut_html, decode_entities, for_parser, html_to_lines, strip_tags,
    too_deep,
};
pub use crate::text::{fold, keeps, lowercase, nfkc, simplified};
// For `dedupe`'s one-pass key form (its code map allows `normalize`, not
// `text`).
pub(crate) use crate::text::is_traditional;

/// Below this many letters/digits a body is too thin to identify a story
/// ("详情请点击"): the title is hashed with it.
pub const MIN_BODY_CHARS: usize = 20;
/// A title-only item with a folded title shorter than this ("通知") is keyed
/// by title and link, so that two outlets' "通知" stay two stories.
pub const MIN_TITLE_ONLY_CHARS: usize = 12;

const FOOTER_HEADINGS: &[&str] = &[
    "相关推荐",
    "相关新闻",
    "相关阅读",
    "相关文章",
    "相关链接",
    "相关报道",
    "延伸阅读",
    "推荐阅读",
    "热门推荐",
    "热点推荐",
    "编辑推荐",
    "精彩推荐",
    "猜你喜欢",
    "最近发表",
    "随机阅读",
    "热门文章",
    "最新文章",
    "往期回顾",
    "往期推荐",
    "往期精选",
    "更多精彩",
    "更多新闻",
    "相關新聞",
    "延伸閱讀",
    "推薦閱讀",
    "related articles",
    "related stories",
    "related news",
    "related",
    "read more",
    "more stories",
    "see also",
    "recommended",
];

/// Headings safe to look for in the middle of a flattened one-line text.
const INLINE_FOOTER_HEADINGS: &[&str] = &[
    "相关推荐",
    "相关新闻",
    "相关阅读",
    "相关文章",
    "延伸阅读",
    "推荐阅读",
    "热门推荐",
    "猜你喜欢",
    "最近发表",
    "随机阅读",
    "返回搜狐",
    "往期推荐",
    "往期精选",
    "往期回顾",
    "往期推薦",
    "往期精選",
    "往期回顧",
    // The same in Traditional script (Taiwan and Hong Kong outlets).
    "相關推薦",
    "相關新聞",
    "相關閱讀",
    "相關文章",
    "延伸閱讀",
    "推薦閱讀",
    "熱門推薦",
    "猜你喜歡",
    "最近發表",
    "隨機閱讀",
];

/// The boilerplate rules: built-in ones plus the config's `[normalize]`.
pub struct Normalizer {
    datelines: Vec<Regex>,
    /// A bracketed dateline of Taiwan and Hong Kong outlets (see `new`).
    bracket_dateline: Regex,
    strip_lines: Vec<Regex>,
    /// `strip_lines` as one set: a credit line is any of them, found in
    /// one search rather than one per pattern (every short line asks).
    strip_set: RegexSet,
    /// `原标题:` (or `[原标题:`) opening a line: the span after it is
    /// found by `original_title_span`.
    original_title: Regex,
    /// A site suffix inside an `原标题` span (`_手机网易网`): where the
    /// original title ends.
    span_site_suffix: Regex,
    /// A byline opening a text, as a structure (see `new`).
    byline: Regex,
    /// Decorations an item's headline carries when run into the text:
    /// `(图)`, `(组图)`, `(视频)`.
    headline_decoration: Regex,
    /// A paper's name with its web address, opening a text whose byline
    /// was cut before it: `某某晚报(www.example.cn) 成都报道`.
    paper_address: Regex,
    /// A call to follow, like, share or scan (`关注我们，获取更多精彩资讯！`,
    /// `点个在看再走`, `↓↓↓`): promotion, not story.
    promo: Regex,
    trailing_credit: Regex,
    end_marker: Regex,
    inline_footer: Regex,
    title_prefix: Regex,
    extra_strip_lines: Vec<Regex>,
    extra_strip_title: Vec<Regex>,
    footer_headings: Vec<String>,
    /// Bytes of the longest footer heading, in the longest form it may
    /// take on a page (upper case, Traditional: 4 bytes a character).
    longest_footer_heading: usize,
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer::new(&config::Normalize::default())
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}

/// The words that end a site's name in a title's suffix (`_新华网`,
/// ` - 人民日报`, `|澎湃新闻客户端`); Latin ones in any case.
const SITE_WORDS: &[&str] = &[
    "网",
    "網",
    "新闻",
    "新聞",
    "日报",
    "日報",
    "晚报",
    "时报",
    "报",
    "報",
    "社",
    "频道",
    "客户端",
    "在线",
    "资讯",
    "net",
    "news",
    "daily",
    "times",
    "post",
    "online",
    "channel",
];

/// Where a title's site suffix starts, if it has one: the first position
/// from which the rest of the title is whitespace, a separator (`_`, `|`,
/// `｜`, `--`, or a dash between spaces), whitespace, then at most 20
/// characters, a site word (`SITE_WORDS`) and at most 10 characters, none
/// of them `_`, `|` or `｜`. This is what the pattern
/// `(?i)\s*(?:_|\||｜|\s[-–—]\s|--)\s*[^_|｜]{0,20}?(?:WORDS)[^_|｜]{0,10}$`
/// finds (the test `the_title_suffix_matcher_finds_what_the_pattern_finds`
/// compares them).
///
/// Hand-written: with its counted repetitions of a Unicode class around
/// 22 words, the pattern's reverse DFA had to build new states for nearly
/// every title; that was 2% of a cold poll's instructions (issue 24's
/// fourth round). This is a scan of the title's last few dozen characters.
fn title_suffix_start(t: &str) -> Option<usize> {
    let chars: Vec<(usize, char)> = t.char_indices().collect();
    let n = chars.len();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let space = |i: usize| at(i).is_some_and(char::is_whitespace);
    // From `from`: whitespace, then up to 20 characters, a site word, up to
    // 10 characters, the end, none of them a bar or an underscore. Leading
    // whitespace counts towards the 20 only if not taken by `\s*`, so it
    // never does.
    let tail = |from: usize| -> bool {
        let mut j = from;
        while space(j) {
            j += 1;
        }
        if chars[j..]
            .iter()
            .any(|&(_, c)| matches!(c, '_' | '|' | '｜'))
        {
            return false;
        }
        (j..=(j + 20).min(n)).any(|q| {
            SITE_WORDS.iter().any(|w| {
                let mut len = 0;
                for (k, wc) in w.chars().enumerate() {
                    match at(q + k) {
                        Some(c) if c == wc || folds_to(c, wc) => len += 1,
                        _ => return false,
                    }
                }
                n - (q + len) <= 10
            })
        })
    };
    (0..n).find_map(|p| {
        let mut i = p;
        while space(i) {
            i += 1;
        }
        let spaced = i > p;
        let hit = match at(i)? {
            '_' | '|' | '｜' => tail(i + 1),
            '-' if at(i + 1) == Some('-') && tail(i + 2) => true,
            '-' | '–' | '—' => spaced && space(i + 1) && tail(i + 2),
            _ => false,
        };
        hit.then_some(chars[p].0)
    })
}

/// Whether `c` is `lower` (an ASCII lower-case letter) in another case, as
/// a case-insensitive regex reads it (simple case folding: `S`, and `ſ`
/// for `s`; `K` and the Kelvin sign for `k`).
fn folds_to(c: char, lower: char) -> bool {
    lower.is_ascii_lowercase()
        && (c.to_ascii_lowercase() == lower
            || (lower == 's' && c == 'ſ')
            || (lower == 'k' && c == '\u{212A}'))
}

impl Normalizer {
    pub fn new(extra: &config::Normalize) -> Self {
        let mut n = Normalizer::without_set(extra);
        n.strip_set = RegexSet::new(n.strip_lines.iter().map(Regex::as_str))
            .expect("built-in patterns compile");
        n
    }

    fn without_set(extra: &config::Normalize) -> Self {
        let inline = INLINE_FOOTER_HEADINGS.join("|");
        let mut footer_headings: Vec<String> =
            FOOTER_HEADINGS.iter().map(|s| s.to_string()).collect();
        footer_headings.extend(
            extra
                .footer_headings
                .iter()
                .map(|h| simplified(&fold_heading(&nfkc(h))).into_owned()),
        );
        Normalizer {
            // Applied to the start of the body, after NFKC (so （ is ( and ： is :).
            // In either script: Taiwan and Hong Kong outlets (cna.com.tw)
            // print 本報台北9日電 and 記者; a Traditional copy must lose the
            // same dateline as the Simplified one, or their leads differ.
            datelines: vec![
                // 中新网北京10月9日电 (记者 杜燕) / 新华社北京10月9日电(记者张三) / 本报北京10月9日讯
                re(
                    r"^(?:[\p{Han}A-Za-z·]{1,14}\s*)?(?:\d{4}年)?\d{1,2}月\d{1,2}日\s*(?:电|電|讯|訊|消息)\s*(?:\((?:记者|記者|通讯员|通訊員|见习记者|見習記者|特约记者|特約記者|实习生|實習生|编辑|編輯|作者)[^)]{0,40}\)\s*)?(?:(?:记者|記者)\s*[\p{Han}\s、]{2,20}?(?:报道|報導|報道)\s*[:,]?)?\s*[:,]?\s*",
                ),
                // 本报讯 (记者 张三) / 正义网讯(记者张某 通讯员李某) /
                // 本报讯(王某 记者 李某): any outlet's 讯 (a paper, site,
                // station or agency name before it), then a bracket of
                // credits, the role anywhere in it, or of names only.
                re(
                    r"^(?:(?:本报|本報|本刊|本台|本臺|本网|本網)[\p{Han}]{0,8}|[\p{Han}A-Za-z]{1,10}(?:网|網|报|報|台|臺|刊|社|端))(?:讯|訊)\s*(?:\((?:[^()]{0,40}?(?:记者|記者|通讯员|通訊員|实习生|實習生|编辑|編輯|作者|摄影|攝影)[^()]{0,40}|[\p{Han}·]{2,4}(?:[\s、]+[\p{Han}·]{2,4}){0,3})\)\s*)?[:,]?\s*",
                ),
                // BEIJING, Oct. 9 (Xinhua) -- / LONDON (Reuters) -
                re(
                    r"^[A-Z][A-Za-z .,'-]{1,60}?\((?:Reuters|AP|AFP|Xinhua|Bloomberg|UPI|CNN|Kyodo|Yonhap)\)\s*(?:--|-|—|–)\s*",
                ),
                // a leftover reporter credit: (记者 张三), (王某 记者 李某)
                re(
                    r"^\([^()]{0,40}?(?:记者|記者|通讯员|通訊員|实习生|實習生|摄影|攝影)[^()]{0,40}\)\s*",
                ),
            ],
            // Taiwan and Hong Kong outlets put the dateline in brackets at
            // the head of the text: （中央社台北3日電）, （中央社記者王小明、
            // 李大華台北3日電）, 【明報專訊】, （星島日報報道）, 【大紀元2024年
            // 10月3日訊】. Matched as a class, by structure, not as a list:
            // an opening bracket (full-width （［ are ( [ after NFKC; 【 stays),
            // at most 40 characters of names, places, dates and 、 (no
            // sentence punctuation, no nested bracket), ending in a word of
            // reporting (電/讯/專訊/報道/報導/消息), then the closing bracket.
            // Anchored at the start of the opening line only: a bracketed
            // phrase inside the text is article, not dateline.
            bracket_dateline: re(
                r"^[(\[【]\s*[\p{Han}A-Za-z][\p{Han}A-Za-z0-9·、\s]{0,38}?(?:电|電|讯|訊|报道|報道|报导|報導|消息)\s*[)\]】]\s*[:,]?\s*",
            ),
            // Whole lines that are credits, not story.
            strip_lines: vec![
                re(
                    r"^[\[【(]?\s*(?:责任编辑|責任編輯|编辑|編輯|责编|責編|校对|校對|审校|審校|审核|審核|来源|來源|稿件来源|稿件來源|文章来源|文章來源|本文来源|本文來源|作者|摄影|攝影|图片来源|圖片來源|监制|監製|制作|製作|出品|主编|主編|值班编辑|值班編輯)\s*[:]",
                ),
                re(r"^[\[【(]\s*完\s*[\]】)]$"),
                re(r"(?i)^[-—]*\s*end\s*[-—]*$"),
                // A page's share and tool bars (full text of article pages):
                // 分享到:微信 微博 QQ空间 / 转发 收藏 打印 关闭窗口.
                re(r"^(?:分享到|分享至)\s*[:\s]"),
                re(
                    r"^(?:\s*(?:转发|收藏|打印|关闭窗口|关闭|纠错|举报|复制链接|字号|大|中|小|分享|微信|微博|QQ空间|QQ|朋友圈|扫码下载客户端|分享至朋友圈)\s*[|/·]?)+$",
                ),
                // A line that is only the page's date, time and source
                // (2026年10月09日 10:21 来源:中国新闻网 / 澎湃新闻记者 2026年10月14日).
                re(
                    r"^(?:[\p{Han}]{0,8}记者\s*[\p{Han}]{0,4}\s*)?\d{4}[-年/.]\d{1,2}[-月/.]\d{1,2}日?\s*(?:\d{1,2}:\d{2}(?::\d{2})?)?\s*(?:来源\s*[:]\s*\S{1,20})?\s*(?:作者\s*[:]\s*\S{1,10})?$",
                ),
            ],
            strip_set: RegexSet::empty(),
            original_title: re(r"^[\[【(]?\s*原(?:标题|標題)\s*[:]\s*"),
            span_site_suffix: re(
                r"(?:\s*[_|\-–—]+\s*[\p{Han}A-Za-z0-9]{0,12}?(?:网易|搜狐|新浪|腾讯|騰訊|凤凰|鳳凰|网|網|新闻|新聞|客户端|客戶端|频道|頻道|日报|日報|晚报|晚報|时报|時報|门户|門戶)+)+",
            ),
            // 实习记者 张某 某某时报(www.example.cn)记者 李某 深圳报道 /
            // 本报记者 王某、李某 / 首席记者 张某 北京报道: one or more
            // groups of [paper name [(its address)]] [rank] role, then
            // names (2–4 characters, each followed by a space or 、), and
            // an optional `<place>报道`. A name must be followed by a
            // separator (or by `<place>报道`), so that `记者从教育部获悉`
            // is not read as a byline: only a marked end ends one.
            byline: re(
                r"^(?:[、,]?\s*(?:[\p{Han}]{2,10}(?:\([A-Za-z0-9./-]{3,40}\))?[\s、]*)?(?:首席|实习|實習|见习|見習|特约|特約|驻[\p{Han}]{1,6}|駐[\p{Han}]{1,6}|本报|本報|本刊|本台|本网|本網)?(?:记者|記者|通讯员|通訊員|实习生|實習生|摄影记者|攝影記者|撰稿|撰文)\s*(?:(?:[\p{Han}·]{2,4}|[A-Za-z]{2,20})(?:\s+|、|:|$)|[\p{Han}·]{2,3}\d)+)+(?:[\p{Han}]{2,6}(?:报道|報道|報導|报导)\s*[:,]?\s*)?|^(?:首席|实习|實習|见习|見習|特约|特約|本报|本報)?(?:记者|記者)\s*[\p{Han}·]{2,4}(?:[\s、]+[\p{Han}·]{2,4})*\s*[\p{Han}]{2,6}?(?:报道|報道|報導|报导)\s*[:,]?\s*",
            ),
            paper_address: re(
                r"^(?:[\p{Han}]{2,12}\([A-Za-z0-9./-]{0,40}(?:www\.|\.cn|\.com|\.net)[A-Za-z0-9./-]{0,40}\)|[\p{Han}]{2,12}\s*\((?i:id|微信号|微信)\s*:\s*[A-Za-z0-9_-]{3,30}\)(?:\s|$)|[\p{Han}]{2,8}(?:报|報|晚报|日报|网|網)\s)\s*(?:[\p{Han}]{2,6}(?:报道|報道|報導|报导)\s*[:,]?\s*)?",
            ),
            headline_decoration: re(
                r"^\s*(?:\((?:图|圖|组图|組圖|多图|多圖|视频|視頻|附视频|图文|圖文)\)|【(?:图|圖|组图|組圖|视频|視頻)】)\s*",
            ),
            promo: re(
                r"(?:点击(?:上方|下方|蓝字|关注|阅读原文)|關注我們|关注我们|关注公众号|欢迎关注|歡迎關注|长按(?:二维码|识别|扫码)|扫码关注|扫描二维码|掃描二維碼|点个在看|点亮在看|點個在看|点个赞|分享给更多|转发给(?:更多|朋友)|欢迎在评论区留言|获取更多(?:精彩|资讯|新闻|资讯)|獲取更多|更多精彩(?:内容|资讯)|喜欢就|记得点赞|点赞\s*在看|在看\s*转发|↓{2,}|▼)",
            ),
            trailing_credit: re(
                r"\s*(?:[\[【(]\s*(?:责任编辑|責任編輯|编辑|編輯|责编|記者|记者|作者)\s*[:\s][^\]】)]{0,30}[\]】)]|责任编辑\s*[:]\s*\S{1,20}|\s[\p{Han}]{2,12}\s*\((?i:id|微信号|微信)\s*:\s*[A-Za-z0-9_-]{3,30}\))\s*$",
            ),
            end_marker: re(r"[\[【(]\s*完\s*[\]】)]"),
            // The headings alone: a search for literals (see
            // `inline_footer_in` for the characters around them).
            inline_footer: re(&format!(r"(?:{inline})")),
            title_prefix: re(r"^(?:【[^】]{1,20}】|\[[^\]]{1,12}\])\s*"),
            extra_strip_lines: extra.strip_lines.clone(),
            extra_strip_title: extra.strip_title.clone(),
            longest_footer_heading: footer_headings
                .iter()
                .map(|h| h.chars().count() * 4)
                .max()
                .unwrap_or(0),
            footer_headings,
        }
    }

    /// Normalizes one item and computes its content hash. `removed` stays
    /// empty: the poll never shows it (see `normalize_explained`).
    pub fn normalize(&self, item: &ParsedItem) -> NormalizedItem {
        self.normalize_with(item, Notes(None))
    }

    /// `normalize`, with the human-readable notes of what was removed (for
    /// `sources test` and the dev tools).
    pub fn normalize_explained(&self, item: &ParsedItem) -> NormalizedItem {
        self.normalize_with(item, Notes(Some(Vec::new())))
    }

    fn normalize_with(&self, item: &ParsedItem, mut removed: Notes) -> NormalizedItem {
        let raw_title = item
            .title
            .as_deref()
            .map(decode_entities)
            .unwrap_or_default();
        let title = self.clean_title(&raw_title, &mut removed);

        let body_html = item
            .content_html
            .as_deref()
            .or(item.summary_html.as_deref())
            .unwrap_or("");
        let lines = html_to_lines(body_html);
        let titles = Titles::new(&[&raw_title, &title]);
        let lines = self.strip_boilerplate(lines, &titles, &mut removed);
        let mut text = lowercase_lines(&lines);
        // Never an empty text where the feed had one: a rule that took it
        // all was wrong for this item (a one-line summary read as a credit
        // line, say), and an empty story is worse than one with a credit
        // in it. Worked out again only here, so the common case pays
        // nothing.
        let mut text_fallback = false;
        if !text.chars().any(keeps) {
            let raw = lowercase_lines(&html_to_lines(body_html));
            if raw.chars().any(keeps) {
                removed.push(|| "stripping left nothing: the text as published is kept".into());
                text = raw;
                text_fallback = true;
            }
        }

        // The hashed form of a text that has enough letters (nearly every
        // one): `b:` and its letters and digits, folded straight into the
        // key (no folded copy to format again).
        let mut key = String::with_capacity(text.len() + 2);
        key.push_str("b:");
        let body_chars = crate::text::fold_into(&text, &mut key);
        if body_chars < MIN_BODY_CHARS {
            let body_key = &key[2..];
            let title_key = fold(&lowercase(&nfkc(&title)));
            key = if body_key.is_empty() && title_key.chars().count() >= MIN_TITLE_ONLY_CHARS {
                format!("t:{title_key}")
            } else {
                // Too little to tell stories apart by text alone.
                format!(
                    "t:{title_key}\nb:{body_key}\nk:{}",
                    item.link.as_deref().unwrap_or(&item.key())
                )
            };
        }
        NormalizedItem {
            title,
            text,
            content_hash: ContentHash::of(key.as_bytes()),
            removed: removed.0.unwrap_or_default(),
            text_fallback,
        }
    }

    /// An item's raw title as shown (`clean_title` after decoding
    /// entities): for copies stored before their display title was kept
    /// (migration 0011).
    pub fn display_title(&self, raw: &str) -> String {
        self.clean_title(&decode_entities(raw), &mut Notes(None))
    }

    /// Display title: entities decoded, whitespace collapsed, outlet
    /// decorations (`【…】` prefixes, `_中国新闻网` suffixes) removed.
    fn clean_title(&self, raw: &str, removed: &mut Notes) -> String {
        let mut t = collapse_ws(raw);
        // The decorations' patterns are run only on titles holding what
        // they cannot match without (an opening bracket; a separator).
        if t.starts_with(['【', '['])
            && let Some(m) = self.title_prefix.find(&t)
        {
            let rest = t[m.end()..].trim().to_string();
            if !rest.is_empty() {
                removed.push(|| format!("title prefix {:?}", m.as_str().trim()));
                t = rest;
            }
        }
        for _ in 0..3 {
            if !t.contains(['_', '|', '｜', '-', '–', '—']) {
                break;
            }
            let Some(start) = title_suffix_start(&t) else {
                break;
            };
            let rest = t[..start].trim().to_string();
            if rest.chars().count() < 4 {
                break;
            }
            removed.push(|| format!("title suffix {:?}", t[start..].trim()));
            t = rest;
        }
        for r in &self.extra_strip_title {
            if let Some(m) = r.find(&t) {
                let rest = format!("{}{}", &t[..m.start()], &t[m.end()..])
                    .trim()
                    .to_string();
                if !rest.is_empty() {
                    removed.push(|| format!("title pattern {:?}", m.as_str()));
                    t = rest;
                }
            }
        }
        t
    }

    /// The HTML readers see, with the same boilerplate gone that the text
    /// loses: everything from a footer heading ("相关推荐") on, and credit
    /// lines (责任编辑, 原标题). The dateline stays: it is part of the report.
    /// The markup is what the parser may take (`for_parser`: tags bounded,
    /// no comments), and at most `MAX_SHOWN_HTML_BYTES`, cut between
    /// elements (whoever shows it sanitizes it, which closes what the cut
    /// left open).
    pub fn clean_html(&self, html: &str) -> String {
        let shown = |h: &str| cut_html(h, MAX_SHOWN_HTML_BYTES).to_string();
        if !html.contains('<') {
            let from = self.shown_after_original_title(html).unwrap_or(0);
            return shown(&html[from..]);
        }
        let Some(bounded) = for_parser(html) else {
            // Hostile nesting or node count: shown as escaped paragraphs
            // of its text.
            let paragraphs: String = html_to_lines(html)
                .iter()
                .map(|l| format!("<p>{}</p>", html_escape::encode_text(l)))
                .collect();
            return shown(&paragraphs);
        };
        let mut doc = Html::parse_fragment(&bounded);
        let block_text = |node: ego_tree::NodeRef<'_, Node>| -> Option<String> {
            let Node::Element(e) = node.value() else {
                return None;
            };
            if !BLOCK_ELEMENTS.contains(&e.name()) {
                return None;
            }
            let text: String = node
                .descendants()
                .filter_map(|d| match d.value() {
                    Node::Text(t) => Some(&**t),
                    _ => None,
                })
                .collect();
            Some(collapse_ws(&nfkc(&text)))
        };
        let mut detach = Vec::new();
        // An `原标题:…` span opening the first text, with the report after
        // it in the same text: the span goes, the report stays.
        let first_text = doc.tree.root().descendants().find_map(|n| match n.value() {
            Node::Text(t) if !t.trim().is_empty() => Some((n.id(), &**t)),
            _ => None,
        });
        // Only a text that opens with the mark is copied (every entry shown
        // asks).
        let first_text = first_text
            .filter(|(_, t)| opens_with_original_title(t))
            .map(|(id, t)| (id, t.to_string()));
        let mut edited = false;
        if let Some((id, text)) = first_text
            && let Some(from) = self.shown_after_original_title(&text)
            && let Some(mut node) = doc.tree.get_mut(id)
            && let Node::Text(t) = node.value()
        {
            t.text = text[from..].into();
            edited = true;
        }
        let mut seen_text = false;
        for node in doc.tree.root().descendants() {
            if let Node::Text(t) = node.value()
                && !t.trim().is_empty()
            {
                seen_text = true;
            }
            let Some(text) = block_text(node) else {
                continue;
            };
            if seen_text
                && self.is_footer_heading(&text)
                && !node.ancestors().any(|a| detach.contains(&a.id()))
            {
                // This block, everything after it, and everything after each ancestor.
                detach.push(node.id());
                let mut cur = Some(node);
                while let Some(n) = cur {
                    detach.extend(n.next_siblings().map(|s| s.id()));
                    cur = n.parent().filter(|p| p.parent().is_some());
                    if let Some(p) = cur
                        && matches!(p.value(), Node::Element(e) if e.name() == "html")
                    {
                        break;
                    }
                }
                break;
            }
            let is_credit = self.is_credit_line(&text);
            let has_block_child = node.descendants().skip(1).any(|d| block_text(d).is_some());
            if is_credit && !has_block_child {
                detach.push(node.id());
            }
        }
        if detach.is_empty() && !edited {
            return shown(&bounded);
        }
        for id in detach {
            if let Some(mut n) = doc.tree.get_mut(id) {
                n.detach();
            }
        }
        shown(&doc.root_element().inner_html())
    }

    /// Where what readers see of a text opening with an `原标题:…` span
    /// starts (bytes into `raw`, as published): after the span, when the
    /// report follows it in the same text and the span holds no sentence
    /// of it (the span is found on the NFKC form; positions carry over by
    /// counting letters and digits).
    fn shown_after_original_title(&self, raw: &str) -> Option<usize> {
        if !opens_with_original_title(raw) {
            return None;
        }
        let head: String = raw.trim_start().chars().take(200).collect();
        let n = nfkc(&head);
        let at = self.original_title_span(&n, None)?;
        if at >= n.len() || n[..at].contains('。') {
            return None;
        }
        let letters = n[..at].chars().filter(|&c| keeps(c)).count();
        let mut seen = 0;
        let mut end = None;
        for (i, c) in raw.char_indices() {
            if seen == letters {
                end = Some(i);
                break;
            }
            if keeps(c) {
                seen += 1;
            }
        }
        let end = end?;
        let rest = raw[end..].trim_start_matches(|c: char| {
            c.is_whitespace() || "：:，,；;|_-—！!？?。]】)）".contains(c)
        });
        (!rest.is_empty()).then_some(raw.len() - rest.len())
    }

    /// Where the `原标题:…` span opening `line` ends (bytes from the
    /// line's start), and the text after it starts; `line.len()` when the
    /// line is only the original title. The span is, first found:
    /// 1. the item's own headline (any of `titles`), with a site suffix
    ///    after it (`原标题:X_手机网易网正文…`);
    /// 2. up to a site suffix within the title's room (64 characters);
    /// 3. up to a dateline or byline starting within that room (the
    ///    report begins there);
    /// 4. up to the last space before the first sentence end, within the
    ///    room (a flattened summary: `原标题:旧标题 正文…`);
    /// 5. the first sentence, when it ends within the room (the title ran
    ///    into the text with nothing between: losing the opening sentence
    ///    costs less than keeping a title no other copy has);
    /// 6. the whole line, when it is no longer than the room.
    ///
    /// `None` when the line does not open with `原标题`, or when none of
    /// these finds its end (the span is then left in: never more than the
    /// room is guessed away).
    fn original_title_span(&self, line: &str, titles: Option<&Titles>) -> Option<usize> {
        // Every line asks: the mark opens the line, or it is not there.
        if !opens_with_original_title(line) {
            return None;
        }
        let folded = simplified(line);
        // Simplified is the same length in bytes for every character
        // fast2s changes (three bytes each), so offsets carry over; when
        // not, the line is left alone.
        if folded.len() != line.len() {
            return None;
        }
        let at = self.original_title.find(&folded)?.end();
        let rest = &line[at..];
        // The same in Simplified script (site names: `_手機網易網`), with
        // the same byte offsets.
        let rest_s = &folded[at..];
        // After the span: a closing bracket, separators.
        let close = |end: usize| -> usize {
            let tail = &rest[end..];
            let kept = tail.trim_start_matches(|c: char| {
                matches!(
                    c,
                    ']' | '】'
                        | ')'
                        | '>'
                        | ':'
                        | ','
                        | ';'
                        | '|'
                        | '/'
                        | '-'
                        | '—'
                        | '?'
                        | '!'
                        | '_'
                        | '。'
                ) || c.is_whitespace()
            });
            at + end + (tail.len() - kept.len())
        };
        let room = rest.char_indices().nth(64).map_or(rest.len(), |(i, _)| i);
        if let Some(end) = titles.and_then(|t| t.prefix_end(rest)) {
            if let Some(m) = self
                .span_site_suffix
                .find(&rest_s[end..room.max(end)])
                .filter(|m| m.start() <= 3 * 4)
            {
                return Some(close(end + m.end()));
            }
            // The original title may go on past the item's headline (the
            // headline is its first half): up to a space before any 。
            // within the room, when the text after it has some length.
            let after = &rest[end..];
            if !after.contains('。') && after.chars().filter(|&c| keeps(c)).count() <= 30 {
                // The rest of the line is the rest of the original title.
                return Some(line.len());
            }
            let tail = &rest[end..room.max(end)];
            let stop = tail.find('。').unwrap_or(tail.len());
            if let Some(space) = tail[..stop].find(char::is_whitespace)
                && rest[end + space..].chars().filter(|&c| keeps(c)).count() >= 10
            {
                return Some(close(end + space));
            }
            return Some(close(end));
        }
        if let Some(m) = self.span_site_suffix.find(&rest_s[..room]) {
            return Some(close(m.end()));
        }
        // `Gate::of` reads 40 characters from each position of the room:
        // with none of the characters its month, report and role flags
        // need in all of that, only a position opening with a bracket or
        // a Latin capital can start a report (every other one has a gate
        // with nothing open), and only those are asked.
        let any_open = rest.chars().take(64 + 40).any(|c| {
            matches!(
                c,
                '月' | '日'
                    | '电'
                    | '電'
                    | '息'
                    | '讯'
                    | '訊'
                    | '者'
                    | '员'
                    | '員'
                    | '习'
                    | '習'
                    | '影'
                    | '撰'
            )
        });
        if let Some((i, _)) = rest[..room]
            .char_indices()
            .skip(1)
            .filter(|&(_, c)| any_open || matches!(c, '(' | '[' | '【') || c.is_ascii_uppercase())
            .find(|&(i, _)| self.starts_report(&rest[i..]))
        {
            return Some(at + i);
        }
        let sentence = rest.find(['。', '!', '?']);
        let limit = sentence.unwrap_or(rest.len()).min(room);
        // A space inside a figure or before punctuation (`19 :08`) is not
        // where a title ends.
        let between_words = |i: usize| {
            !rest[..i].ends_with(|c: char| c.is_ascii_digit())
                && rest[i..].trim_start().starts_with(keeps)
        };
        if let Some(space) = rest[..limit]
            .match_indices(' ')
            .map(|(i, _)| i)
            .rfind(|&i| between_words(i))
            && rest[space..].chars().filter(|&c| keeps(c)).count() >= 10
        {
            return Some(close(space));
        }
        if let Some(end) = sentence.filter(|&e| e < room) {
            let end = end + rest[end..].chars().next().map_or(0, char::len_utf8);
            if rest[end..].chars().any(keeps) {
                return Some(close(end));
            }
        }
        (rest.chars().count() <= 64).then_some(line.len())
    }

    /// Does a report start at the beginning of `s`: a dateline or byline?
    fn starts_report(&self, s: &str) -> bool {
        self.report_prefix(s, &Gate::of(s)).is_some()
    }

    /// A dateline or byline opening `line`, and where it ends; only the
    /// regexes `gate` says can match are run.
    fn report_prefix(&self, line: &str, gate: &Gate) -> Option<(usize, &'static str)> {
        let datelines = [
            (gate.bracket, &self.bracket_dateline),
            (gate.dated, &self.datelines[0]),
            (gate.reported, &self.datelines[1]),
            (gate.latin, &self.datelines[2]),
            (gate.bracket, &self.datelines[3]),
        ];
        for (_, r) in datelines.into_iter().filter(|(open, _)| *open) {
            if let Some(m) = r.find(line)
                && m.end() > 0
            {
                return Some((m.end(), "dateline"));
            }
        }
        // No role word, no byline: the pattern is not run (every position
        // of an original title's room asks, `original_title_span`).
        if !gate.role {
            return None;
        }
        let m = self.byline.find(line).filter(|m| m.end() > 0)?;
        // A last name ended by the date that follows (`实习生罗俊9月9日`):
        // the digit is the report's.
        let end = m.end() - usize::from(m.as_str().ends_with(|c: char| c.is_ascii_digit()));
        Some((end, "byline"))
    }

    /// A credit opening a line that goes on with the report after a space
    /// (`来源:网络,如有侵权请联系删除 9月16日,…`): up to that space, within
    /// 40 characters, with no sentence end before it.
    fn leading_credit(&self, line: &str) -> Option<usize> {
        let head = &line[..line.char_indices().nth(40).map_or(line.len(), |(i, _)| i)];
        let space = head.find(char::is_whitespace)?;
        let credit = &head[..space];
        if credit.contains(['。', '!', '?']) {
            return None;
        }
        let folded = simplified(credit);
        self.strip_lines[0].is_match(&folded).then_some(space)
    }

    /// A footer heading inside a line (`…资讯!往期推荐●…`): at the start or
    /// after a character that is not a letter or digit, and followed by
    /// one or the line's end. Where it starts, and where it ends with the
    /// character after it. The headings are searched as literals; the
    /// characters around them are checked here (a regex with a Unicode
    /// class around the literals scanned every line: 3% of a cold poll).
    fn inline_footer_in(&self, line: &str) -> Option<(usize, usize)> {
        self.inline_footer.find_iter(line).find_map(|m| {
            let before = line[..m.start()].chars().next_back();
            let after = line[m.end()..].chars().next();
            let edge = |c: Option<char>| c.is_none_or(|c| !keeps(c));
            (edge(before) && edge(after))
                .then(|| (m.start(), m.end() + after.map_or(0, char::len_utf8)))
        })
    }

    /// A call to follow opening the line, up to the space after it
    /// (`长按识别二维码关注 【西安】…`): at most 24 characters.
    fn leading_promo(&self, line: &str) -> Option<usize> {
        let head = &line[..line.char_indices().nth(24).map_or(line.len(), |(i, _)| i)];
        let space = head.find(char::is_whitespace)?;
        let folded = simplified(&head[..space]);
        let m = self.promo.find(&folded)?;
        (m.start() <= 4 * 3).then_some(space)
    }

    /// A list of other stories opening the text, closed by a call to
    /// follow (`往期回顾■…■…喜欢就点个在看吧 原标题:…`): where it ends. The
    /// list holds titles, so no 。 before the call.
    fn promotion_list(&self, line: &str, more: bool) -> Option<usize> {
        // Only a heading at the start: the search reads no further.
        let start = &line[..line.char_indices().nth(8).map_or(line.len(), |(i, _)| i)];
        let (_, head_end) = self.inline_footer_in(start).filter(|m| m.0 == 0)?;
        let folded = simplified(line);
        if folded.len() != line.len() {
            return None;
        }
        let room = line.char_indices().nth(300).map_or(line.len(), |(i, _)| i);
        // Up to the call that closes it, or to a byline or dateline after
        // a space (the list, then the report).
        let report = || {
            line[head_end..room]
                .match_indices(char::is_whitespace)
                .map(|(i, w)| head_end + i + w.len())
                .find(|&i| self.starts_report(line[i..].trim_start()))
        };
        let end = match self.promo.find(&folded[head_end..room]) {
            Some(call) => {
                // The call's own last words (`…点个在看吧`, `…点个在看，你最
                // 好看`): to the end of the line when little is left.
                let end = head_end + call.end();
                if line[end..].chars().filter(|&c| keeps(c)).count() <= 10 {
                    line.len()
                } else {
                    end + line[end..]
                        .char_indices()
                        .take(8)
                        .find(|&(_, c)| c.is_whitespace() || !keeps(c))
                        .map_or(0, |(i, _)| i)
                }
            }
            // A list line of its own, the report on the next line.
            None if more && room == line.len() && !line.contains('。') => line.len(),
            None => report()?,
        };
        (!line[..end].contains('。')).then_some(end)
    }

    /// What opens `line` that is not the report itself, and where it ends:
    /// an `原标题` span, a dateline, a byline, the tail of a byline a
    /// summary was cut inside (`记者 李某)10月18日…`), or the item's own
    /// headline run into the text. `more` says whether other lines follow
    /// (a line that is only the headline may go then).
    fn opening_prefix(
        &self,
        line: &str,
        titles: &Titles,
        more: bool,
        headline_gone: bool,
    ) -> Option<(usize, &'static str)> {
        if let Some(end) = self.original_title_span(line, Some(titles)) {
            return Some((end, "original title"));
        }
        let gate = Gate::of(line);
        if let Some(found) = self.report_prefix(line, &gate) {
            return Some(found);
        }
        if gate.paper
            && let Some(m) = self.paper_address.find(line)
        {
            return Some((m.end(), "byline"));
        }
        if let Some(end) = self.leading_promo(line) {
            return Some((end, "promotion"));
        }
        if let Some(end) = self.leading_credit(line) {
            return Some((end, "credit"));
        }
        if let Some(end) = self.promotion_list(line, more) {
            return Some((end, "promotion"));
        }
        if let Some(end) = cut_credit_end(line) {
            return Some((end, "the end of a cut credit"));
        }
        if headline_gone {
            // Once: a report may open with its headline's words.
            return None;
        }
        let decorated = if gate.bracket {
            self.title_prefix.find(line).map_or(0, |m| m.end())
        } else {
            0
        };
        // A decoration, or a headline too short to look for anywhere else
        // (`喜报`), right before a dateline or byline: what opens the line
        // before the report.
        // A channel after it (`喜报_天气新华社…`) is the headline's too.
        let report_after = |e: usize| {
            let rest = &line[e..];
            let channel = rest
                .strip_prefix(['_', '|'])
                .map(|c| {
                    c.char_indices()
                        .take(6)
                        .map(|(i, ch)| rest.len() - c.len() + i + ch.len_utf8())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            std::iter::once(0)
                .chain(channel)
                .map(|skip| e + skip)
                .find(|&at| self.starts_report(line[at..].trim_start()))
        };
        if let Some(end) = std::iter::once(0)
            .chain(titles.short_prefix_end(&line[decorated..]))
            .map(|e| decorated + e)
            .filter(|&e| e > 0)
            .find_map(report_after)
        {
            return Some((end, "headline"));
        }
        // The headline with its decoration (the raw title) or without it.
        let end = titles
            .prefix_end(line)
            .into_iter()
            .chain(titles.prefix_end(&line[decorated..]).map(|e| decorated + e))
            .max()?;
        let end = end
            + self
                .headline_decoration
                .find(&line[end..])
                .map_or(0, |m| m.end());
        let after = line[end..].chars().filter(|&c| keeps(c)).count();
        (after >= 10 || (after == 0 && more)).then_some((end, "headline"))
    }

    /// Strips what opens the text's first line before the report
    /// (`opening_prefix`, repeated: `中新网11月5日电 (记者 王某) 原标题:…`).
    /// Whether a dateline was among it.
    fn strip_opening(
        &self,
        first: &mut String,
        titles: &Titles,
        more: bool,
        removed: &mut Notes,
    ) -> bool {
        let (mut dated, mut headline_gone) = (false, false);
        for _ in 0..8 {
            let Some((end, what)) = self.opening_prefix(first, titles, more, headline_gone) else {
                break;
            };
            removed.push(|| format!("{what} {:?}", first_chars(first[..end].trim(), 40)));
            dated |= what == "dateline";
            headline_gone |= what == "headline";
            // Punctuation the prefix leaves behind (`…可怜！话说…`).
            *first = first[end..]
                .trim_start_matches(|c: char| {
                    c.is_whitespace()
                        || matches!(c, '!' | '?' | '。' | ',' | ':' | ';' | '.' | '_' | '|')
                })
                .to_string();
            if first.is_empty() {
                break;
            }
        }
        dated
    }

    /// A promotion sentence ending the line (`…关注我们,获取更多精彩资讯!`):
    /// where it starts, when the line keeps 20 or more characters of its
    /// own before it and at most 40 follow the call.
    fn trailing_promo(&self, line: &str) -> Option<usize> {
        // The call is near the end: only the line's last 64 characters are
        // searched (as written: the pattern has the Traditional forms).
        let from = line.char_indices().rev().nth(63).map_or(0, |(i, _)| i);
        let m = self.promo.find_at(line, from).filter(|m| m.start() > 0)?;
        if line[m.end()..].chars().count() > 40 {
            return None;
        }
        // From the end of the sentence or the space before the call (a
        // cut summary's "..." ends no sentence, but the call starts after
        // it).
        let start = line[..m.start()]
            .rfind(|c: char| matches!(c, '。' | '!' | '?' | '.') || c.is_whitespace())
            .map_or(m.start(), |i| {
                i + line[i..].chars().next().map_or(0, char::len_utf8)
            });
        // Far from any boundary, the call was run into the text: cut at it.
        let start = if line[start..m.start()].chars().count() > 20 {
            m.start()
        } else {
            start
        };
        (line[..start].chars().filter(|&c| keeps(c)).count() >= 20).then_some(start)
    }

    /// 责任编辑, 来源, 原标题… lines, and the config's `strip_lines`.
    /// Matched in Simplified script (`simplified`: a Traditional page's
    /// 來源, 記者, 轉發 收藏 lines are the same credit and tool lines); the
    /// config's own patterns also as written.
    fn is_credit_line(&self, line: &str) -> bool {
        let n = line.chars().count();
        // A paragraph longer than any credit line is only the config's
        // business: not folded (folding every paragraph of every copy was
        // 12% of a cold poll of whole articles).
        if n > 300 && self.extra_strip_lines.is_empty() {
            return false;
        }
        // An original title only where the line opens with its mark
        // (`original_title_span` asks the same first); a line of 80–300
        // characters without one is not folded either.
        let titled = n <= 300 && opens_with_original_title(line);
        if n > 80 && !titled && self.extra_strip_lines.is_empty() {
            return false;
        }
        let folded = simplified(line);
        (n <= 80 && self.strip_set.is_match(&folded))
            || (n <= 60 && self.promo.is_match(&folded))
            || (titled
                && self.original_title.is_match(&folded)
                && self.original_title_span(line, None) == Some(line.len()))
            || self
                .extra_strip_lines
                .iter()
                .any(|r| r.is_match(line) || r.is_match(&folded))
    }

    /// A footer heading in either script: `相關推薦` is `相关推荐`. Every
    /// line of every copy asks, so a line longer than the longest heading
    /// is answered before it is lower-cased or folded.
    fn is_footer_heading(&self, line: &str) -> bool {
        let core = line.trim_matches(|c: char| !keeps(c));
        if core.is_empty() || core.len() > self.longest_footer_heading {
            return false;
        }
        let h = fold_heading(core);
        let h = simplified(&h);
        self.footer_headings.iter().any(|f| *f == *h)
    }

    /// Removes boilerplate from NFKC'd, trimmed, non-empty lines.
    fn strip_boilerplate(
        &self,
        mut lines: Vec<String>,
        titles: &Titles,
        removed: &mut Notes,
    ) -> Vec<String> {
        // 0. "原标题:旧标题 正文…": a page's original title with the first
        //    paragraph on its line (the spaces between them collapsed, or
        //    a flattened summary). The line is not a credit line to drop
        //    whole: the title goes, the paragraph stays (else this copy
        //    loses its opening and no longer starts like the others).
        for line in lines.iter_mut() {
            if let Some(at) = self.original_title_span(line, Some(titles))
                && at < line.len()
            {
                removed.push(|| format!("original title {:?}", first_chars(&line[..at], 40)));
                *line = line[at..].trim().to_string();
            }
        }
        // 1. Footers: a heading line ends the story; so does the wire's (完).
        // Where the story ends, and whether a footer heading ends it.
        let mut cut: Option<(usize, bool)> = None;
        // Letters and digits of the lines before: a heading with (nearly)
        // nothing before it heads a list at the top, not a footer.
        let mut kept_before = 0;
        // Whether a paragraph of the article (a long line with a sentence
        // end) comes after line `i`: counted from the end, once.
        let mut paragraph_after = vec![false; lines.len()];
        for i in (0..lines.len().saturating_sub(1)).rev() {
            paragraph_after[i] = paragraph_after[i + 1] || looks_like_paragraph(&lines[i + 1]);
        }
        for (i, line) in lines.iter_mut().enumerate() {
            let paragraph_follows = paragraph_after[i];
            if i > 0 && self.is_footer_heading(line) {
                cut = Some((i, true));
                break;
            }
            // (完) needs its 完: most lines are not searched.
            if let Some((start, end)) = line
                .contains('完')
                .then(|| self.end_marker.find(line))
                .flatten()
                .map(|m| (m.start(), m.end()))
            {
                let tail = line[end..].trim();
                let what = if tail.is_empty() {
                    String::new()
                } else {
                    format!(" and {:?}", first_chars(tail, 12))
                };
                removed.push(|| format!("end marker {:?}{what}", &line[start..end]));
                line.truncate(start);
                cut = Some((i + 1, false));
                break;
            }
            if let Some((start, heading)) = self
                .inline_footer_in(line)
                .map(|(start, end)| (start, line[start..end].trim().to_string()))
                && (start > 0 || i > 0)
                && kept_before + line[..start].chars().filter(|&c| keeps(c)).count() >= 20
            {
                if paragraph_follows
                    && (heading.contains('往') || self.promo.is_match(&line[start..]))
                {
                    // Paragraphs of the article come after it: a list of
                    // earlier posts put inside the text ("往期推荐■…", or
                    // any list closed by a call to follow), not its end.
                    // Only it goes. (A "相关新闻" list with
                    // summaries of other stories still ends the text.)
                    removed.push(|| format!("inline list from {heading:?}"));
                    line.truncate(start);
                    line.truncate(line.trim_end().len());
                    continue;
                }
                if start == 0 {
                    // The heading opens a later line: the footer is it
                    // and everything after.
                    removed.push(|| format!("inline footer from {heading:?}"));
                    cut = Some((i, false));
                    break;
                }
                removed.push(|| format!("inline footer from {heading:?}"));
                line.truncate(start);
                line.truncate(line.trim_end().len());
                cut = Some((i + 1, false));
                break;
            }
            if kept_before < 20 && !self.original_title.is_match(line) {
                kept_before += line.chars().filter(|&c| keeps(c)).take(20).count();
            }
        }
        if let Some((at, heading)) = cut {
            let dropped = lines.len().saturating_sub(at);
            if dropped > 0 && heading {
                removed.push(|| format!("footer from {:?} ({dropped} lines)", lines[at]));
            } else if dropped > 0 {
                removed.push(|| format!("{dropped} lines after the end marker"));
            }
            lines.truncate(at);
        }

        // 2. A dateline opening the story (also after a 原标题 on the same line),
        //    before credit lines, so that a credit it was hiding goes too. A
        //    dateline alone on its line takes the line with it.
        // The opening is the first line that is not itself a credit line
        // (a 原标题 line often comes first).
        let opening = lines
            .iter()
            .position(|l| !self.is_credit_line(l) || lines.len() == 1)
            .unwrap_or(0);
        // A line that is only what opens a report (a dateline, a byline,
        // the headline) goes, and the next line is the opening then.
        for _ in 0..3 {
            let more = lines.len() > opening + 1;
            let Some(first) = lines.get_mut(opening) else {
                break;
            };
            let dated = self.strip_opening(first, titles, more, removed);
            if first.trim().is_empty() && more {
                lines.remove(opening);
                continue;
            }
            if !dated && looks_like_headline(first) {
                // A headline line, then the dateline opening the report on
                // the next line (how Taiwan and Hong Kong pages print
                // it): that dateline goes, the headline stays.
                if let Some(next) = lines.get_mut(opening + 1) {
                    let dated = self.strip_opening(next, titles, false, removed);
                    if dated && next.trim().is_empty() {
                        lines.remove(opening + 1);
                    }
                }
            }
            break;
        }

        // 3. Credit lines anywhere, and configured patterns.
        lines.retain(|line| {
            let is_credit = self.is_credit_line(line);
            if is_credit {
                removed.push(|| format!("line {:?}", first_chars(line, 40)));
            }
            !is_credit
        });
        for line in lines.iter_mut() {
            // The pattern ends in a closing bracket or follows 责任编辑:
            // a line with neither is not searched (from its end, for
            // every line: most of the regex time of a poll).
            if !(line.trim_end().ends_with([']', '】', ')']) || line.contains("责任编辑")) {
                continue;
            }
            if let Some((start, credit)) = self
                .trailing_credit
                .find(line)
                .map(|m| (m.start(), m.as_str().trim().to_string()))
                && start > 0
            {
                removed.push(|| format!("credit {credit:?}"));
                line.truncate(start);
            }
        }

        // Promotion run into the end of the text (flattened summaries).
        if let Some(last) = lines.last_mut() {
            for _ in 0..3 {
                let Some(start) = self.trailing_promo(last) else {
                    break;
                };
                removed.push(|| format!("promotion {:?}", first_chars(&last[start..], 40)));
                last.truncate(start);
            }
        }

        // 4. A trailing run of short title-like lines with no heading: a list
        //    of other stories ("相关推荐" without its heading).
        let trailing = lines
            .iter()
            .rev()
            .take_while(|l| looks_like_listed_title(l))
            .count();
        if trailing >= 3 && trailing < lines.len() {
            removed.push(|| format!("trailing list of {trailing} titles"));
            lines.truncate(lines.len() - trailing);
        }
        lines.retain(|l| !l.trim().is_empty());
        lines
    }
}

/// Where `normalize` writes its notes of what it removed, or nowhere:
/// formatting them (`{:?}` escapes every character) was ~8% of normalize's
/// time, and only `sources test` and the dev tools show them.
struct Notes(Option<Vec<String>>);

impl Notes {
    fn push(&mut self, note: impl FnOnce() -> String) {
        if let Some(notes) = &mut self.0 {
            notes.push(note());
        }
    }
}

fn first_chars(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

/// An item's headline in the forms a text's opening is compared with:
/// letters and digits only (`fold`), lower case, Simplified script. The
/// raw title (with its decorations, `【快讯】…_雨雪`) and the cleaned one;
/// forms shorter than 6 characters are left out (a "通知" is not a
/// headline to look for).
struct Titles {
    forms: Vec<Vec<char>>,
    /// Forms of 2–5 characters: looked for only right before a dateline
    /// or byline.
    short: Vec<Vec<char>>,
}

impl Titles {
    fn new(titles: &[&str]) -> Titles {
        let (mut forms, mut short): (Vec<Vec<char>>, Vec<Vec<char>>) = titles
            .iter()
            .map(|t| simplified(&lowercase(&fold(&nfkc(t)))).chars().collect())
            .filter(|f: &Vec<char>| f.len() >= 2)
            .partition(|f| f.len() >= 6);
        forms.sort();
        forms.dedup();
        short.sort();
        short.dedup();
        Titles { forms, short }
    }

    /// Where a short headline form that `s` opens with ends in `s`.
    fn short_prefix_end(&self, s: &str) -> Option<usize> {
        self.short
            .iter()
            .filter_map(|f| folded_prefix_end(s, f))
            .max()
    }

    /// Where the longest headline form that `s` opens with ends in `s`.
    fn prefix_end(&self, s: &str) -> Option<usize> {
        self.forms
            .iter()
            .filter_map(|f| folded_prefix_end(s, f))
            .max()
    }
}

/// Where `s` has gone through all of `target` (folded characters), when
/// its letters and digits start with them; what `fold` drops is skipped.
fn folded_prefix_end(s: &str, target: &[char]) -> Option<usize> {
    let mut want = target.iter();
    let mut next = want.next();
    let mut buf = [0u8; 4];
    for (i, c) in s.char_indices() {
        let Some(&t) = next else {
            // Not inside a number or a Latin word: a headline cut at a
            // length ("…达到了1" of "…达到了1675717万吨") is not the
            // opening of the line, or the copies' figures would differ.
            let inside = |c: char| {
                c.is_ascii_alphanumeric() || matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ')
            };
            let last = target.last().copied().unwrap_or(' ');
            return (!(inside(last) && inside(c))).then_some(i);
        };
        if !keeps(c) {
            continue;
        }
        let lower = c.to_lowercase().next().unwrap_or(c);
        let same = lower == t
            || simplified(lower.encode_utf8(&mut buf))
                .chars()
                .next()
                .is_some_and(|s| s == t);
        if !same {
            return None;
        }
        next = want.next();
    }
    next.is_none().then_some(s.len())
}

/// Which of the opening rules' regexes can match at the start of a line,
/// told from its first 40 characters in one pass: a regex call costs more
/// than reading them, and most lines open with none of these.
struct Gate {
    /// Opens with a bracket: ( [ 【.
    bracket: bool,
    /// A month and a day (`10月9日`) and a word of reporting (电 讯 消息).
    dated: bool,
    /// A word of reporting: 讯 (`本报讯`, `X网讯`).
    reported: bool,
    /// Opens with a Latin capital (`BEIJING, Oct. 9 (Xinhua) --`).
    latin: bool,
    /// A role (记者 通讯员 实习 摄影 撰稿/撰文).
    role: bool,
    /// A bracket (a paper's address, an account) or a space.
    paper: bool,
}

impl Gate {
    fn of(line: &str) -> Gate {
        let first = line.chars().next().unwrap_or(' ');
        let (mut month, mut day, mut report, mut xun, mut role, mut paper) =
            (false, false, false, false, false, false);
        let mut prev = ' ';
        for c in line.chars().take(40) {
            match c {
                '月' => month = true,
                '日' => day = true,
                '电' | '電' | '息' => report = true,
                '讯' | '訊' => {
                    report = true;
                    xun = true;
                }
                '者' if matches!(prev, '记' | '記') => role = true,
                '员' | '員' if matches!(prev, '讯' | '訊') => role = true,
                '习' | '習' if matches!(prev, '实' | '實') => role = true,
                '影' if matches!(prev, '摄' | '攝') => role = true,
                '撰' => role = true,
                '(' | '[' | '【' => paper = true,
                c if c.is_whitespace() => paper = true,
                _ => {}
            }
            prev = c;
        }
        Gate {
            bracket: matches!(first, '(' | '[' | '【'),
            dated: month && day && report,
            reported: xun,
            latin: first.is_ascii_uppercase(),
            role,
            paper,
        }
    }
}

/// Does `s` open with the `原标题` mark (after spaces and an opening
/// bracket, in either width or script)? The cheap test before the span
/// is looked for.
fn opens_with_original_title(s: &str) -> bool {
    let head = s.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '[' | '【' | '(' | '（' | '［')
    });
    head.starts_with("原标题") || head.starts_with("原標題")
}

/// The end of the tail of a credit a summary was cut inside, opening the
/// text: `记者 李某)10月18日…`, `example.cn)记者…`: a closing bracket within
/// the first 40 characters with no opening one before it, after two or
/// more characters of names, roles or an address (no digit, no sentence
/// punctuation).
fn cut_credit_end(line: &str) -> Option<usize> {
    let mut letters = 0;
    for (i, c) in line.char_indices().take(40) {
        match c {
            ')' | ']' | '】' => return (letters >= 2).then_some(i + c.len_utf8()),
            c if c.is_whitespace() || matches!(c, '、' | '·' | '.' | '/' | '-') => {}
            c if keeps(c) && !c.is_numeric() => letters += 1,
            _ => return None,
        }
    }
    None
}

/// A heading line reduced to its words: bullets, brackets, colons gone.
fn fold_heading(line: &str) -> String {
    lowercase(line.trim_matches(|c: char| !keeps(c)))
}

/// A line that reads as a headline above the report: short (at most 60
/// characters) and without a sentence end inside or at its end.
fn looks_like_headline(line: &str) -> bool {
    let line = line.trim();
    let n = line.chars().count();
    n > 0 && n <= 60 && !line.contains(['。', '!', '?', ';'])
}

/// A paragraph of an article: a sentence of 25 characters or more, ended
/// by 。 (listed titles end in none, or in ！？).
fn looks_like_paragraph(line: &str) -> bool {
    line.len() >= 25 * 3 && line.contains('。') && line.chars().nth(25).is_some()
}

/// Short, no sentence end: how a list of other stories' titles looks.
fn looks_like_listed_title(line: &str) -> bool {
    let line = line.trim();
    let n = line.chars().count();
    if n == 0 || n > 40 {
        return false;
    }
    let last = line.chars().last().unwrap_or(' ');
    !matches!(
        last,
        '。' | '.' | '!' | '?' | '…' | '"' | '”' | '」' | ';' | ':' | ')'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, body: &str) -> ParsedItem {
        ParsedItem {
            title: Some(title.into()),
            content_html: Some(body.into()),
            link: Some("https://example.org/a".into()),
            ..Default::default()
        }
    }

    #[test]
    fn notes_are_built_only_when_asked_for() {
        let n = Normalizer::default();
        let i = item(
            "【独家】标题_中国新闻网",
            "<p>新华社北京3月5日电 正文正文正文正文正文正文正文正文正文正文正文正文</p><p>(完)</p><p>责任编辑：王五</p>",
        );
        let (plain, explained) = (n.normalize(&i), n.normalize_explained(&i));
        assert!(plain.removed.is_empty());
        assert!(!explained.removed.is_empty());
        assert_eq!(
            (&plain.title, &plain.text, &plain.content_hash),
            (&explained.title, &explained.text, &explained.content_hash)
        );
    }

    #[test]
    fn readers_see_the_report_after_an_original_title_not_the_title() {
        let n = Normalizer::default();
        assert_eq!(
            n.clean_html("原标题：长租公寓降温了 租金连跌三个月 长租公寓市场近期出现降温迹象。"),
            "长租公寓市场近期出现降温迹象。"
        );
        assert_eq!(
            n.clean_html(
                "<p>原标题：长租公寓降温了 租金连跌三个月 长租公寓市场近期出现<b>降温</b>迹象。</p>"
            ),
            "<p>长租公寓市场近期出现<b>降温</b>迹象。</p>"
        );
        // An original title alone on its line goes as a credit line does.
        assert_eq!(
            n.clean_html("<p>原标题：长租公寓降温了</p><p>长租公寓市场近期出现降温迹象。</p>"),
            "<p>长租公寓市场近期出现降温迹象。</p>"
        );
        // The report's own first sentence is never taken for the title.
        let run_in = "原标题：长租公寓降温了长租公寓市场近期出现降温迹象。报告认为，需求减弱。";
        assert_eq!(n.clean_html(run_in), run_in);
    }

    #[test]
    fn stripping_never_leaves_an_empty_text_where_the_feed_had_one() {
        let n = Normalizer::default();
        // Everything here reads as boilerplate to one rule or another.
        let i = item("t", "<p>责任编辑：王五</p><p>(完)</p>");
        let out = n.normalize_explained(&i);
        assert!(out.text_fallback, "{:?}", out.removed);
        assert!(out.text.contains("王五"), "{:?}", out.text);
        // A text that keeps something is not a fallback.
        let kept = n.normalize(&item("t", &format!("<p>{BODY}</p><p>责任编辑：王五</p>")));
        assert!(!kept.text_fallback);
        // No text in the feed: nothing to fall back to.
        let none = n.normalize(&item("t", ""));
        assert!(!none.text_fallback && none.text.is_empty());
    }

    const BODY: &str = "今天,记者从北京市教委了解到,2023年京津冀教育协同发展工作会议在京召开。三地将积极推进各级各类教育融合发展。";

    #[test]
    fn three_house_styles_hash_the_same() {
        let n = Normalizer::default();
        let a = item(
            "京津冀教育协同发展工作会议在京召开_中国新闻网",
            &format!(
                "<p>中新网北京10月9日电（记者 杜燕）{BODY}(完)</p><p>相关推荐</p><p>黑龙江饶河再现野生东北虎足迹</p>"
            ),
        );
        let b = item(
            "【教育】京津冀教育协同发展工作会议在京召开",
            &format!(
                "<p>原标题：三地教育协同会议召开</p><p>新华社北京10月9日电 {}</p><p>【责任编辑：王五】</p>",
                BODY.replace(',', "，")
            ),
        );
        let c = item(
            "京津冀教育协同发展工作会议在京召开 - 人民网",
            &format!(
                "{BODY}<br>责任编辑：张三<br>- 最近发表<br>- 台风已致16人死亡<br>- 乡村阅读空间<br>- 海南外贸增长"
            ),
        );
        let (na, nb, nc) = (n.normalize(&a), n.normalize(&b), n.normalize(&c));
        assert_eq!(
            na.content_hash, nb.content_hash,
            "{:?}\n{:?}",
            na.text, nb.text
        );
        assert_eq!(
            na.content_hash, nc.content_hash,
            "{:?}\n{:?}",
            na.text, nc.text
        );
        assert_eq!(na.title, "京津冀教育协同发展工作会议在京召开");
        assert_eq!(nb.title, "京津冀教育协同发展工作会议在京召开");
        assert_eq!(nc.title, "京津冀教育协同发展工作会议在京召开");
        assert!(!na.text.contains("东北虎"));
        assert!(!na.text.contains("杜燕"));
    }

    #[test]
    fn full_width_digits_and_quotes_fold() {
        let n = Normalizer::default();
        let a = n.normalize(&item(
            "t",
            "２０２３年“京津冀”教育协同发展工作会议在京召开，三地签署协议。",
        ));
        let b = n.normalize(&item(
            "t",
            "2023年「京津冀」教育协同发展工作会议在京召开,三地签署协议.",
        ));
        assert_eq!(a.content_hash, b.content_hash);
    }

    #[test]
    fn different_stories_with_the_same_title_differ() {
        let n = Normalizer::default();
        let a = n.normalize(&item(
            "通知",
            "<p>本周六上午九点全体员工在三楼会议室开会，请准时参加。</p>",
        ));
        let b = n.normalize(&item(
            "通知",
            "<p>因线路检修，明日下午二时至五时小区停水，请提前储水。</p>",
        ));
        assert_ne!(a.content_hash, b.content_hash);
    }

    #[test]
    fn short_title_only_items_are_keyed_by_link() {
        let n = Normalizer::default();
        let mut a = item("通知", "");
        let mut b = item("通知", "");
        a.link = Some("https://a.example/1".into());
        b.link = Some("https://b.example/1".into());
        assert_ne!(n.normalize(&a).content_hash, n.normalize(&b).content_hash);
    }

    #[test]
    fn dateline_alone_on_its_line_and_credits_behind_it_go() {
        let n = Normalizer::default();
        let plain = n.normalize(&item("t", &format!("<p>{BODY}（现场图片）</p>")));
        let alone = n.normalize(&item(
            "t",
            &format!("<p>新华社北京10月9日电（记者张三）</p><p>{BODY}（现场图片）</p>"),
        ));
        assert_eq!(plain.content_hash, alone.content_hash, "{:?}", alone.text);
        let credit = n.normalize(&item(
            "t",
            &format!("<p>新华社北京10月9日电 作者：泰勒</p><p>{BODY}（现场图片）</p>"),
        ));
        assert_eq!(plain.content_hash, credit.content_hash, "{:?}", credit.text);
        assert!(
            alone.text.contains("(现场图片)"),
            "article parentheticals stay: {:?}",
            alone.text
        );
    }

    #[test]
    fn traditional_datelines_and_credits_go_as_the_simplified_ones_do() {
        let n = Normalizer::default();
        for (simplified, traditional) in [
            ("本报天津9月3日讯 ", "本報天津9月3日訊 "),
            (
                "新华社北京10月9日电（记者张三）",
                "新華社北京10月9日電（記者張三）",
            ),
            ("本报讯（记者 袁剑锋）", "本報訊（記者 袁劍鋒）"),
        ] {
            let s = n.normalize(&item(
                "t",
                &format!("<p>{simplified}{BODY}</p><p>编辑：李四</p>"),
            ));
            let t = n.normalize(&item(
                "t",
                &format!("<p>{traditional}{BODY}</p><p>編輯：李四</p>"),
            ));
            assert_eq!(s.text, t.text, "{traditional}");
            assert!(
                !t.text.contains("編輯") && t.text.starts_with("今天,记者"),
                "{:?}",
                t.text
            );
        }
    }

    /// The body as the Simplified copy prints it, in Traditional script.
    const BODY_TRADITIONAL: &str = "今天,記者從北京市教委了解到,2023年京津冀教育協同發展工作會議在京召開。三地將積極推進各級各類教育融合發展。";

    #[test]
    fn taiwan_and_hong_kong_bracketed_datelines_go_as_a_class() {
        let n = Normalizer::default();
        let plain = n.normalize(&item("t", &format!("<p>{BODY_TRADITIONAL}</p>")));
        assert!(plain.text.starts_with("今天"), "{:?}", plain.text);
        for dateline in [
            "（中央社台北3日電）",
            "（中央社記者王小明台北3日電）",
            "(中央社記者王小明、李大華台北3日電)",
            "（中央社記者王小明、李大華 台北 3日 電）",
            "【明報專訊】",
            "（星島日報報道）",
            "【大紀元2024年10月3日訊】",
            "[大紀元2024年10月3日訊]",
            "［大紀元2024年10月3日訊］",
            "（中央社香港3日電）",
            "（中央社東京3日綜合外電報導）",
            "【新华社北京10月3日电】",
        ] {
            for body in [
                format!("<p>{dateline}{BODY_TRADITIONAL}</p>"),
                format!("<p>{dateline} {BODY_TRADITIONAL}</p>"),
                format!("<p>{dateline}</p><p>{BODY_TRADITIONAL}</p>"),
            ] {
                let got = n.normalize(&item("t", &body));
                assert_eq!(got.text, plain.text, "{body}");
                assert_eq!(got.content_hash, plain.content_hash, "{body}");
            }
            // After a headline line: the dateline goes, the headline stays.
            let got = n.normalize(&item(
                "t",
                &format!("<p>三地教育協同會議召開</p><p>{dateline}{BODY_TRADITIONAL}</p>"),
            ));
            assert_eq!(
                got.text,
                format!("三地教育協同會議召開\n{}", plain.text),
                "{dateline}"
            );
        }
    }

    #[test]
    fn bracketed_phrases_that_are_not_datelines_stay() {
        let n = Normalizer::default();
        for body in [
            // In the middle of the text: article, even when it reads like one.
            format!("{BODY_TRADITIONAL}（中央社台北3日電）其後的報導仍在繼續。"),
            format!("{BODY_TRADITIONAL}據【明報專訊】指出,會議順利閉幕。"),
            // At the start, but not a dateline: no reporting word at its end,
            // a sentence inside, or too long to be a credit.
            format!("（圖為會議現場）{BODY_TRADITIONAL}"),
            format!("【重要通知】{BODY_TRADITIONAL}"),
            format!("（市政府獲悉,今年將新增學位三萬個。）{BODY_TRADITIONAL}"),
            format!(
                "（本文作者為台灣大學政治學系教授,長期研究兩岸關係與區域安全,近年出版多部專著報導）{BODY_TRADITIONAL}"
            ),
            // A headline-like line whose next line opens with a bracket that
            // is not a dateline.
            format!("三地教育協同會議召開\n（圖為會議現場）{BODY_TRADITIONAL}"),
        ] {
            let got = n.normalize(&item(
                "t",
                &format!("<p>{}</p>", body.replace('\n', "</p><p>")),
            ));
            let want = lowercase(&nfkc(&body));
            assert_eq!(got.text, want, "{body}");
        }
        // A long first line is not a headline: a bracketed dateline on the
        // line after it is inside the article and stays.
        let long_first = format!("{BODY_TRADITIONAL}{BODY_TRADITIONAL}");
        let body = format!("<p>{long_first}</p><p>（中央社台北3日電）後續。</p>");
        let got = n.normalize(&item("t", &body));
        assert!(got.text.contains("(中央社台北3日電)"), "{:?}", got.text);
    }

    #[test]
    fn traditional_footer_headings_end_the_story() {
        let n = Normalizer::default();
        let list = "<p>某地舉辦活動吸引眾多市民參與</p><p>另一條新聞的標題在這裡</p>";
        for heading in ["相關推薦", "延伸閱讀", "熱門文章"] {
            let own_line = n.normalize(&item("t", &format!("<p>{BODY}</p><p>{heading}</p>{list}")));
            assert_eq!(own_line.text, BODY.to_lowercase(), "{heading}");
        }
        let inline = n.normalize(&item(
            "t",
            &format!("{BODY} 相關推薦 某地舉辦活動吸引眾多市民參與"),
        ));
        assert_eq!(inline.text, BODY.to_lowercase());
    }

    #[test]
    fn an_original_title_on_the_first_paragraphs_line_takes_only_the_title() {
        let n = Normalizer::default();
        let plain = n.normalize(&item("t", &format!("<p>{BODY}</p><p>第二段。</p>")));
        for line in [
            format!("原标题：三地教育协同会议召开\u{3000}\u{3000}中新网北京10月9日电 {BODY}"),
            format!("原标题：三地教育 协同会议召开　　{BODY}"),
        ] {
            let same_line = n.normalize(&item("t", &format!("<p>{line}</p><p>第二段。</p>")));
            assert_eq!(same_line.text, plain.text, "{line}");
        }
        // A 原标题 line that is only a title still goes whole.
        let own_line = n.normalize(&item(
            "t",
            &format!("<p>原标题：三地教育协同会议召开</p><p>{BODY}</p><p>第二段。</p>"),
        ));
        assert_eq!(own_line.text, plain.text);
    }

    #[test]
    fn a_headline_cut_inside_a_number_or_word_does_not_cut_the_text_there() {
        // Feeds cut headlines at a length, inside a figure or a Latin word;
        // the text opens with the whole headline. Cut there, one copy's
        // text would open with "675717" and another's not: the figures
        // that tell reports apart would disagree (two stories).
        let n = Normalizer::default();
        let grain = "今年全国粮食总产量达到了1675717万吨再创历史新高记者从国家统计局获悉";
        let phone = "Apple发布新款iPhone17手机首周销量再创历史新高记者从多家门店获悉";
        for (title, line) in [
            ("今年全国粮食总产量达到了1", grain),
            ("今年全国粮食总产量达到了16", grain),
            ("Apple发布新款iPho", phone),
            ("Apple发布新款iPhone1", phone),
        ] {
            let text = n
                .normalize(&item(title, &format!("<p>{line}</p><p>{BODY}</p>")))
                .text;
            let opening: String = line.chars().take(5).collect::<String>().to_lowercase();
            assert!(text.starts_with(&opening), "{title}: {text}");
        }
        // A headline that ends where its number ends still goes.
        let whole = n
            .normalize(&item(
                "今年全国粮食总产量达到了1675717万吨",
                &format!("<p>{grain}</p><p>{BODY}</p>"),
            ))
            .text;
        assert!(whole.starts_with("再创历史新高"), "{whole}");
    }

    #[test]
    fn traditional_share_bars_and_date_lines_go_too() {
        let n = Normalizer::default();
        let plain = n.normalize(&item("t", &format!("<p>{BODY}</p>")));
        for line in [
            "2025年09月01日 10:21 來源:中國新聞網",
            "澎湃新聞記者 2026年10月14日 20:16",
            "轉發 收藏 打印 關閉窗口",
            "掃碼下載客戶端 分享至朋友圈",
            "責任編輯：張明",
        ] {
            let with = n.normalize(&item("t", &format!("<p>{line}</p><p>{BODY}</p>")));
            assert_eq!(with.text, plain.text, "{line}");
        }
    }

    #[test]
    fn share_bars_and_date_lines_of_article_pages_go() {
        let n = Normalizer::default();
        for line in [
            "分享到:微信 微博 QQ空间",
            "转发 收藏 打印 关闭窗口",
            "扫码下载客户端 分享至朋友圈",
            "2026年10月09日 10:21 来源:中国新闻网",
            "澎湃新闻记者 2026年10月14日 20:16",
            "2026-10-09 10:21:33",
        ] {
            assert!(n.is_credit_line(line), "{line}");
        }
        for line in [
            "2026年10月9日,三地教育部门在京签署合作协议。",
            "记者从北京市教委了解到,会议在京召开。",
            "分享经济在各地快速发展。",
        ] {
            assert!(!n.is_credit_line(line), "{line}");
        }
    }

    #[test]
    fn interview_lines_are_story_not_credits() {
        let n = Normalizer::default();
        let o = n.normalize(&item(
            "t",
            "<p>记者：手术同意书里写了什么？</p><p>院方：写明了风险。</p><p>责任编辑：王五</p>",
        ));
        assert_eq!(o.text, "记者:手术同意书里写了什么?\n院方:写明了风险。");
    }

    #[test]
    fn clean_html_drops_footer_and_credits_but_keeps_the_report() {
        let n = Normalizer::default();
        let html = "<div><p>中新网北京10月9日电 正文第一段。</p><p>原标题：旧标题</p><p>第二段(完)</p><p>【责任编辑：王五】</p>\
                    <h3>相关推荐</h3><ul><li>东北虎</li></ul></div><p>热门</p>";
        let out = n.clean_html(html);
        assert_eq!(
            out,
            "<div><p>中新网北京10月9日电 正文第一段。</p><p>第二段(完)</p></div>"
        );
        assert_eq!(n.clean_html("<p>只有正文</p>"), "<p>只有正文</p>");
    }

    #[test]
    fn hostile_nesting_is_read_as_text_quickly() {
        let deep = format!(
            "{}正文{}",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        );
        assert!(too_deep(&deep, MAX_HTML_DEPTH));
        assert!(!too_deep("<p>a<br>b<img src=x/></p><div><p>c</p></div>", 3));
        // Counted the way the HTML parser builds the tree, not by the text:
        // `<div/>` opens a div; a stray `</p>` closes nothing; `</div>` does
        // not close a div outside an open table; no end tags at all.
        for hostile in [
            "<div/>".repeat(1_000),
            "<div></p>".repeat(1_000),
            "<div><table><tr><td></div>".repeat(100),
            "<span><b>".repeat(300),
            "<p>x".repeat(5) + &"<blockquote>".repeat(300),
        ] {
            assert!(too_deep(&hostile, MAX_HTML_DEPTH), "{}", &hostile[..40]);
        }
        // Ordinary HTML with implied end tags is not deep.
        let rows = "<tr><td>a<td>b".repeat(400);
        let paragraphs = "<p>段落".repeat(1_000);
        let items = "<li>条目".repeat(1_000);
        let sloppy = "<div><p>没有闭合的段落</div>".repeat(400);
        for ordinary in [
            format!("<table>{rows}</table>"),
            paragraphs,
            format!("<ul>{items}</ul>"),
            sloppy,
            "<p>a<br/>b<img src=x /></p>".repeat(1_000),
        ] {
            assert!(!too_deep(&ordinary, MAX_HTML_DEPTH), "{}", &ordinary[..40]);
        }
        // Past MAX_HTML_TAGS tags, flat or not, the parser is not used.
        assert!(too_deep(
            &"<b>x</b>".repeat(MAX_HTML_TAGS + 1),
            MAX_HTML_DEPTH
        ));
        let started = std::time::Instant::now();
        assert_eq!(html_to_lines(&deep), vec!["正文"]);
        assert_eq!(Normalizer::default().clean_html(&deep), "<p>正文</p>");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn keyword_only_in_boilerplate_does_not_count() {
        // Here rather than in `query`: `query` must not import this module
        // (config → query → normalize → config was an import cycle).
        use crate::query::{Query, normalize_term};
        let item = ParsedItem {
            title: Some("天气预报".into()),
            content_html: Some("<p>明天晴，气温回升，适宜出行。</p><p>相关推荐</p><p>京津冀教育协同发展会议召开</p>".into()),
            ..Default::default()
        };
        let n = Normalizer::default().normalize(&item);
        assert!(
            !Query::parse("京津冀")
                .unwrap()
                .matches(&normalize_term(&n.title), &n.text)
        );
    }

    #[test]
    fn seed_article_loses_its_footer() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/seed/000_b42a14d1aa78152e.txt");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} not present", path.display());
            return;
        };
        let mut lines = text.lines();
        let title = lines.next().unwrap_or_default();
        let body: String = lines.map(|l| format!("<p>{l}</p>")).collect();
        let n = Normalizer::default().normalize(&item(title, &body));
        assert!(
            n.text.starts_with("今天,记者从北京市教委了解到"),
            "{}",
            &n.text[..60]
        );
        assert!(n.text.ends_with("了解北京通学公交服务情况。"), "{}", n.text);
        assert!(!n.text.contains("东北虎"));
    }

    /// The pattern `title_suffix_start` replaces, as it was.
    fn title_suffix_pattern() -> Regex {
        re(
            r"(?i)\s*(?:_|\||｜|\s[-–—]\s|--)\s*[^_|｜]{0,20}?(?:网|網|新闻|新聞|日报|日報|晚报|时报|报|報|社|频道|客户端|在线|资讯|net|news|daily|times|post|online|channel)[^_|｜]{0,10}$",
        )
    }

    #[test]
    fn the_title_suffix_matcher_finds_what_the_pattern_finds() {
        let pattern = title_suffix_pattern();
        let check = |t: &str| {
            assert_eq!(
                title_suffix_start(t),
                pattern.find(t).map(|m| m.start()),
                "{t:?}"
            );
        };
        for t in [
            "标题_中国新闻网",
            "标题 - 人民日报",
            "标题 -- 新华社 客户端",
            "标题｜澎湃新闻",
            "标题 | China Daily",
            "标题 - CHINA DAILY",
            "标题 - ſina neWſ",
            "标题-人民日报",
            "标题 — 北京晚报 2026",
            "A - 很长很长很长很长很长很长很长很长很长很长的一段话 - 某某网",
            "标题_第一_第二网",
            "只有网",
            "",
            "  _网",
            "标题 \u{3000}-\u{3000}新京报",
        ] {
            check(t);
        }
        // Titles put together from the pieces the pattern reads, many
        // times over (`test_strings`).
        let pieces = [
            "_",
            "|",
            "｜",
            "-",
            "--",
            "–",
            "—",
            " ",
            "  ",
            "\u{3000}",
            "\t",
            "网",
            "網",
            "新闻",
            "日报",
            "报",
            "社",
            "客户端",
            "在线",
            "net",
            "NEWS",
            "Daily",
            "ſ",
            "s",
            "K",
            "\u{212A}",
            "times",
            "post",
            "online",
            "channel",
            "标题",
            "京津冀",
            "教育",
            "2026",
            "a",
            "。",
        ];
        for (t, _) in crate::test_strings::strings(&pieces, 0x9e37_79b9_7f4a_7c15, 14, 200_000) {
            check(&t);
        }
        // And every real article's title with each outlet's decoration.
        let Ok(jsonl) = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/news-zh/articles.jsonl"),
        ) else {
            eprintln!("skipped the real titles: ../shared/news-zh absent");
            return;
        };
        for line in jsonl.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let Some(title) = v["title"].as_str() else {
                continue;
            };
            check(title);
            for deco in [
                "_中国新闻网",
                " - 人民日报",
                "|澎湃新闻",
                " -- Sina News",
                "_新浪财经_新浪网",
            ] {
                check(&format!("{title}{deco}"));
            }
        }
    }
}
