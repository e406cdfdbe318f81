//! Pure text folding shared by `normalize`, `query` and `dedupe`: Unicode
//! NFKC with a fast path, lower-casing, whitespace collapsing, Traditional →
//! Simplified script, and the letters-and-digits form that is hashed.
//!
//! A leaf module: it imports nothing from the rest of the crate, so that
//! `config` (through `query`) and `normalize` can both use it without a cycle.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// Unicode NFKC of `s`, byte for byte `s.nfkc().collect()`, but without
/// the full decompose/recompose pass for the text feeds actually carry.
///
/// Why it is exact: NFKC(x) = compose(NFKD(x)), and NFKD works character by
/// character (then reorders combining marks, which depends only on the
/// decomposed characters). Replacing a character by its own full
/// compatibility decomposition therefore leaves NFKD, and so NFKC,
/// unchanged. `narrow` gives that decomposition for the compatibility
/// characters Chinese news is full of (full-width ASCII, the ideographic
/// space, the ellipsis); if the result then passes the quick check as
/// already NFKC (`IsNormalized::Yes`), it is the NFKC of `s`. Anything else
/// (a "maybe" or "no": combining marks, other compatibility characters)
/// takes the full path.
pub fn nfkc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // The quick check itself costs two table lookups a character; text made
    // only of `stable` characters needs none.
    let mut check = false;
    for c in s.chars() {
        match narrow(c) {
            Narrow::Same => {
                check |= !stable(c);
                out.push(c)
            }
            Narrow::To(n) => out.push(n),
            Narrow::Ellipsis => out.push_str("..."),
        }
    }
    if !check
        || unicode_normalization::is_nfkc_quick(out.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        out
    } else {
        s.nfkc().collect()
    }
}

/// Characters that are NFKC-stable starters (quick check "yes", combining
/// class 0): a text of only these, and of what `narrow` maps to (ASCII, ¥),
/// is its own NFKC. ASCII, the CJK Unified Ideographs and the CJK
/// punctuation news text is made of; a test checks each one.
fn stable(c: char) -> bool {
    matches!(c,
        '\0'..='\u{7F}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{3001}'..='\u{3003}'
        | '\u{3008}'..='\u{3011}'
        | '\u{3014}'..='\u{301F}'
        | '\u{A5}'
        | '\u{B7}'
        | '\u{2014}'
        | '\u{2018}'
        | '\u{2019}'
        | '\u{201C}'
        | '\u{201D}'
        // Signs and bullets of news text: ° × ÷ •, arrows (↓→), shapes
        // (●■▲▼△▽◆) and symbols (☆★).
        | '\u{B0}'
        | '\u{D7}'
        | '\u{F7}'
        | '\u{2022}'
        | '\u{2190}'..='\u{21FF}'
        | '\u{25A0}'..='\u{25FF}'
        | '\u{2600}'..='\u{26FF}'
    )
}

enum Narrow {
    Same,
    To(char),
    Ellipsis,
}

/// The full compatibility decomposition (NFKD) of the few compatibility
/// characters `nfkc` maps itself; `Same` for every other character.
fn narrow(c: char) -> Narrow {
    match c {
        // Full-width ASCII: ！ … ～ are ! … ~, 0xFEE0 below.
        '\u{FF01}'..='\u{FF5E}' => Narrow::To(char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)),
        // The ideographic space, the no-break space (`&nbsp;` in the HTML
        // of most outlets) and the typographic spaces: NFKD makes each a
        // plain space. Without them here a line holding one took the full
        // normalization (`nfkc_collapsed`'s slow path).
        '\u{3000}' | '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => {
            Narrow::To(' ')
        }
        '\u{FFE5}' => Narrow::To('\u{A5}'),
        '\u{2026}' => Narrow::Ellipsis,
        _ => Narrow::Same,
    }
}

/// `str::to_lowercase`, without its per-character table search for the
/// characters Chinese text is made of: U+3000..=U+9FFF (CJK punctuation,
/// kana, ideographs) has no cased letter, so those are copied as they are.
/// Lower-casing was the largest single item of normalizing a Chinese item
/// (BENCHMARKS.md, "Profile"). Text with a capital sigma, whose lower case
/// depends on its neighbours, is left to `str::to_lowercase`.
pub fn lowercase(s: &str) -> String {
    if s.contains('Σ') {
        return s.to_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    lowercase_into(s, &mut out);
    out
}

/// `lowercase`'s character loop, appending to `out` (for text without a
/// capital sigma). Read as bytes: ASCII and the three-byte characters of
/// U+3000..=U+9FFF (lead bytes E3..=E9: CJK punctuation, kana,
/// ideographs, none of them cased) are copied in runs without decoding; a
/// capital ASCII letter or any other character ends a run.
fn lowercase_into(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let (mut from, mut i) = (0, 0);
    while i < b.len() {
        let x = b[i];
        if x < 0x80 {
            if x.is_ascii_uppercase() {
                out.push_str(&s[from..i]);
                out.push(x.to_ascii_lowercase() as char);
                from = i + 1;
            }
            i += 1;
        } else if (0xE3..=0xE9).contains(&x) {
            i += 3;
        } else {
            // `i` is a character's start: every step above is a whole
            // character.
            let Some(c) = s[i..].chars().next() else {
                break;
            };
            out.push_str(&s[from..i]);
            out.extend(c.to_lowercase());
            i += c.len_utf8();
            from = i;
        }
    }
    out.push_str(&s[from..]);
}

/// `collapse_ws(&nfkc(s))` in one pass and one allocation: every line of
/// every copy's HTML goes through both (`html::html_to_lines`), and the two
/// passes with a `String` each were 5% of a cold poll.
///
/// Why it is exact: the pass narrows (`narrow`) and collapses at once,
/// treating as whitespace only what is whitespace after narrowing and
/// ASCII (the ideographic, no-break and typographic spaces narrow to one).
/// Any other whitespace character (U+0085, the line and paragraph
/// separators…) is not NFKC-stable: the line then takes the two-step path. Collapsing removes or merges only
/// ASCII whitespace, starters with the quick check's "yes", so the quick
/// check answers the same on the collapsed text as on the narrowed one;
/// when it is needed (a character that is not `stable`) and does not say
/// "yes", the two-step path decides too.
pub(crate) fn nfkc_collapsed(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut check = false;
    // A space is owed before the next word (a run of whitespace was seen
    // after some text).
    let mut space = false;
    fn push(out: &mut String, space: &mut bool, c: char) {
        if c.is_whitespace() {
            *space = !out.is_empty();
        } else {
            if *space {
                out.push(' ');
                *space = false;
            }
            out.push(c);
        }
    }
    // Where a run of characters copied as they are starts (`stable`, not
    // whitespace: nearly all of a Chinese line): copied as one slice.
    let mut run: Option<usize> = None;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Copied as it is: ASCII other than whitespace, and the `stable`
        // three-byte characters Chinese lines are mostly made of, told from
        // the bytes: lead bytes E5..=E9 (U+5000..=U+9FFF) and E4 B8..=BF
        // (U+4E00..=U+4FFF), ideographs; E3 80 (U+3000..=U+303F) but the
        // ideographic space (、。「」…); E2 80 (U+2000..=U+203F) the dash,
        // quotes and bullet (— ‘ ’ “ ” •). Any other character is decoded
        // and asked.
        let (c, len) = match (b[i], b.get(i + 1), b.get(i + 2)) {
            (x, _, _) if x < 0x80 && !x.is_ascii_whitespace() && x != 0x0B => (None, 1),
            (0xE5..=0xE9, _, _) | (0xE4, Some(0xB8..=0xBF), _) => (None, 3),
            (0xE3, Some(0x80), Some(0x81..=0x83 | 0x88..=0x91 | 0x94..=0x9F))
            | (0xE2, Some(0x80), Some(0x94 | 0x98 | 0x99 | 0x9C | 0x9D | 0xA2)) => (None, 3),
            _ => match s[i..].chars().next() {
                Some(c) if stable(c) && !c.is_whitespace() => (None, c.len_utf8()),
                Some(c) => (Some(c), c.len_utf8()),
                None => break,
            },
        };
        let Some(c) = c else {
            if run.is_none() {
                if space {
                    out.push(' ');
                    space = false;
                }
                run = Some(i);
            }
            i += len;
            continue;
        };
        if let Some(r) = run.take() {
            out.push_str(&s[r..i]);
        }
        i += len;
        match narrow(c) {
            Narrow::Same => {
                if !stable(c) {
                    if c.is_whitespace() {
                        return collapse_ws(&nfkc(s));
                    }
                    check = true;
                }
                push(&mut out, &mut space, c)
            }
            Narrow::To(n) => push(&mut out, &mut space, n),
            Narrow::Ellipsis => {
                for d in ['.', '.', '.'] {
                    push(&mut out, &mut space, d)
                }
            }
        }
    }
    if let Some(r) = run {
        out.push_str(&s[r..]);
    }
    if !check
        || unicode_normalization::is_nfkc_quick(out.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        out
    } else {
        collapse_ws(&nfkc(s))
    }
}

/// `lowercase` of `lines` joined by line breaks, written into one buffer
/// (no joined copy first). Lines with a capital sigma (whose lower case
/// depends on its neighbours) take the joined path.
pub(crate) fn lowercase_lines(lines: &[String]) -> String {
    if lines.iter().any(|l| l.contains('Σ')) {
        return lowercase(&lines.join("\n"));
    }
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        lowercase_into(line, &mut out);
    }
    out
}

/// Collapses all whitespace runs to one space and trims.
pub(crate) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Traditional Chinese characters as Simplified (`教育協同` → `教育协同`), for
/// matching and near-duplicate keys only, never for what readers see or the
/// content hash: an outlet in Taiwan or Hong Kong carries the same wire
/// story, and a topic query in either script should find both. fast2s
/// (MIT): a character table with a few context rules. Text with no
/// character the table changes (nearly every Simplified text) is returned
/// as it is after one pass over a bitset, so the poll's hot path pays for
/// the conversion only on Traditional text (the `script folding` bench).
pub fn simplified(s: &str) -> Cow<'_, str> {
    let table = traditional_chars();
    let traditional = |c: char| {
        let i = c as usize;
        i < 0x1_0000 && table[i / 64] & (1 << (i % 64)) != 0
    };
    // One bit per character for both: a form fast2s changes, or a variant.
    if s.is_ascii() || !s.chars().any(traditional) {
        return Cow::Borrowed(s);
    }
    let converted = fast2s::convert(s);
    if !converted.chars().any(|c| variant(c).is_some()) {
        return Cow::Owned(converted);
    }
    Cow::Owned(converted.chars().map(|c| variant(c).unwrap_or(c)).collect())
}

/// Variant forms fast2s leaves as they are, and their common form: what
/// OpenCC's Traditional (`s2t`, the form mainland sites' Traditional
/// editions print) writes for 群, 峰, 参… (measured: the shared articles
/// converted by OpenCC and folded back by fast2s). Only forms whose common
/// form is not ambiguous; for keys, never for display.
fn variant(c: char) -> Option<char> {
    Some(match c {
        '羣' => '群',
        '峯' => '峰',
        '爲' => '为',
        '裏' => '里',
        '綫' => '线',
        '衆' => '众',
        '啓' => '启',
        '僞' => '伪',
        '謡' => '谣',
        '蔘' => '参',
        '嚐' => '尝',
        '柺' => '拐',
        '痾' => '疴',
        '鼕' => '冬',
        '彆' => '别',
        '睏' => '困',
        '慼' => '戚',
        '餬' => '糊',
        '扞' => '捍',
        '捱' => '挨',
        '谘' => '咨',
        '櫱' => '蘖',
        '渖' => '沈',
        '牀' => '床',
        '甯' => '宁',
        '敍' => '叙',
        '歎' => '叹',
        '纔' => '才',
        '麪' => '面',
        '鷄' => '鸡',
        '醃' => '腌',
        _ => return None,
    })
}

/// How many of `s`'s characters are Han ideographs, and how many of those
/// are Traditional forms (characters `simplified` changes). `script` tells
/// a text's script from it.
pub fn traditional_share(s: &str) -> (usize, usize) {
    let table = traditional_chars();
    let (mut han, mut traditional) = (0, 0);
    for c in s.chars() {
        let i = c as usize;
        if is_han(c) {
            han += 1;
            if i < 0x1_0000 && table[i / 64] & (1 << (i % 64)) != 0 {
                traditional += 1;
            }
        }
    }
    (han, traditional)
}

/// A CJK unified ideograph (the BMP blocks and Extension A; enough to
/// count a text's Chinese).
fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}')
}

/// A bit for each character of the Basic Multilingual Plane that fast2s
/// changes on its own (fast2s converts only characters of three UTF-8
/// bytes, all in the BMP), or that is a `variant`. Built once, by asking
/// fast2s.
fn traditional_chars() -> &'static [u64] {
    static TABLE: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut bits = vec![0u64; 0x1_0000 / 64];
        let mut buf = [0u8; 4];
        for c in ('\u{800}'..='\u{ffff}').filter(|c| c.len_utf8() == 3) {
            let one: &str = c.encode_utf8(&mut buf);
            if fast2s::convert(one) != one || variant(c).is_some() {
                let i = c as usize;
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    })
}

/// Keeps letters and digits only: the form that is hashed.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// `fold`, appended to `out`; how many characters it kept. Runs of kept
/// characters are copied as slices, not pushed one by one.
pub(crate) fn fold_into(text: &str, out: &mut String) -> usize {
    let b = text.as_bytes();
    let (mut kept, mut i) = (0, 0);
    let mut run: Option<usize> = None;
    while i < b.len() {
        // Told from the bytes where that is quick: ASCII, and the lead
        // bytes E5..=E9 (U+5000..=U+9FFF, all CJK Unified Ideographs,
        // all kept); any other character is decoded and asked.
        let (keep, len) = match b[i] {
            x if x < 0x80 => (x.is_ascii_alphanumeric(), 1),
            0xE5..=0xE9 => (true, 3),
            _ => match text[i..].chars().next() {
                Some(c) => (keeps(c), c.len_utf8()),
                None => break,
            },
        };
        if keep {
            kept += 1;
            run.get_or_insert(i);
        } else if let Some(r) = run.take() {
            out.push_str(&text[r..i]);
        }
        i += len;
    }
    if let Some(r) = run {
        out.push_str(&text[r..]);
    }
    kept
}

/// A character `fold` keeps: a letter or a digit. CJK Unified Ideographs
/// (all letters) are answered without the Unicode table search that
/// `is_alphanumeric` does for every non-ASCII character: folding ran
/// several times per copy and was a top item of the poll's profile.
#[inline]
pub fn keeps(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || ('\u{4e00}'..='\u{9fff}').contains(&c)
        || (!c.is_ascii() && !punctuation(c) && c.is_alphanumeric())
}

/// Punctuation and spaces of Chinese text outside ASCII, which holds no
/// letter or digit: the General Punctuation block (quotes, dashes, the
/// ellipsis) and the CJK punctuation around U+3000 (、。〈〉《》「」【】〔〕,
/// not 々〆〇 or the Hangzhou numerals). Answered without the Unicode
/// table search (`is_alphanumeric`'s, 3.7% of a poll for 。，“” alone);
/// a test checks every character of them.
#[inline]
fn punctuation(c: char) -> bool {
    matches!(c, '\u{2000}'..='\u{206F}' | '\u{3000}'..='\u{3004}' | '\u{3008}'..='\u{3020}')
}

/// Is `c` a character `simplified` may change (a Traditional form or a
/// `variant`)? The same table `simplified` asks, for the folding that
/// `dedupe` does as it goes.
#[inline]
pub(crate) fn is_traditional(c: char) -> bool {
    let i = c as usize;
    i < 0x1_0000 && traditional_chars()[i / 64] & (1 << (i % 64)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_fast_path_is_byte_identical_to_the_full_one() {
        let full = |s: &str| s.nfkc().collect::<String>();
        // Every character `narrow` maps, alone and between neighbours that
        // could compose with what it becomes (a combining acute after "e").
        for c in ('\u{FF01}'..='\u{FF5E}').chain(['\u{3000}', '\u{FFE5}', '\u{2026}']) {
            for s in [
                c.to_string(),
                format!("中{c}文"),
                format!("{c}\u{301}"),
                format!("e{c}\u{301}e"),
            ] {
                assert_eq!(nfkc(&s), full(&s), "{s:?}");
            }
        }
        // Every `stable` character is a starter the quick check passes.
        for u in 0..0xD800u32 {
            if let Some(c) = char::from_u32(u).filter(|c| stable(*c)) {
                assert_eq!(
                    unicode_normalization::is_nfkc_quick(std::iter::once(c)),
                    unicode_normalization::IsNormalized::Yes,
                    "U+{u:04X}"
                );
                assert_eq!(
                    unicode_normalization::char::canonical_combining_class(c),
                    0,
                    "U+{u:04X}"
                );
            }
        }
        let texts = [
            "",
            "plain ascii, nothing to do.",
            "新华社北京３月５日电（记者　王小明）２０２４年ＧＤＰ增长５．２％，“稳中有进”……",
            "【独家】《人民日报》：「全面推进」　乡村振兴——记者／张三　￥１００",
            "Ｃａｆｅ\u{301} café cafe\u{301} ﬁ ① ㈱ ㎏ ½ Ⅻ ｶﾀｶﾅ 가\u{1161}",
            "全角空格　在中间，半角 空格 在这里。",
            "\u{FF10}\u{FF19}\u{FF21}\u{FF3A}\u{FF41}\u{FF5A}\u{FF08}\u{FF09}",
        ];
        for t in texts {
            assert_eq!(nfkc(t), full(t), "{t:?}");
        }
        // Every BMP character below the surrogates, alone and after a
        // full-width letter (so both paths are taken around it).
        for u in 0..0xD800u32 {
            if let Some(c) = char::from_u32(u) {
                let s = format!("Ａ{c}　");
                assert_eq!(nfkc(&s), full(&s), "U+{u:04X}");
            }
        }
    }

    #[test]
    fn nfkc_collapsed_is_collapse_ws_of_nfkc() {
        let old = |s: &str| collapse_ws(&nfkc(s));
        // Every BMP character below the surrogates in the places collapsing
        // and composing care about: alone, between words, around spaces of
        // both widths, before a combining mark, after one.
        for u in 0..0xD800u32 {
            let Some(c) = char::from_u32(u) else {
                continue;
            };
            for s in [
                c.to_string(),
                format!("中{c}文"),
                format!(" \t{c}　a"),
                format!("e {c}\u{301} "),
                format!("\u{301}{c}{c}  Ａ"),
                format!("　{c}　"),
            ] {
                assert_eq!(nfkc_collapsed(&s), old(&s), "U+{u:04X} {s:?}");
            }
        }
        for s in [
            "",
            "   ",
            "　　新华社北京３月５日电（记者　王小明）  ２０２４年\t\r……  ",
            "a\u{a0}\u{301}b  c\u{2003}d\u{85}e\u{2028}f",
            "Ｃａｆｅ\u{301} café cafe\u{301} ﬁ ① ㈱ ㎏ ½ Ⅻ ｶﾀｶﾅ 가\u{1161}",
            "● 要闻 ■ 图 × 2 … ￥5",
        ] {
            assert_eq!(nfkc_collapsed(s), old(s), "{s:?}");
        }
    }

    #[test]
    fn lowercase_lines_is_lowercase_of_the_joined_lines() {
        let sets: [&[&str]; 5] = [
            &[],
            &[""],
            &["Hello ＷＯＲＬＤ 新华社", "", "ÀÉÎ İstanbul ǅ ẞ"],
            &["ΟΔΟΣ", "Σ"],
            &["abc", "中文ABC漢字", "Ωmega ꭰ Ꭰ"],
        ];
        for lines in sets {
            let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            assert_eq!(lowercase_lines(&lines), lowercase(&lines.join("\n")));
        }
        for c in ('\0'..='\u{2fff}').chain('\u{3000}'..='\u{a000}') {
            let lines = vec![format!("A{c}"), format!("{c}b中{c}")];
            assert_eq!(
                lowercase_lines(&lines),
                lines.join("\n").to_lowercase(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn fold_copies_runs_as_the_filter_keeps_characters() {
        for s in [
            "",
            "。",
            "新华社北京3月5日电(记者 王小明)2024年GDP增长5.2%,“稳中有进”...",
            "abc",
            "，，a，，b",
            "末尾中文",
        ] {
            let want: String = s.chars().filter(|&c| keeps(c)).collect();
            let mut out = String::from("x");
            assert_eq!(fold_into(s, &mut out), want.chars().count());
            assert_eq!(out, format!("x{want}"));
            assert_eq!(fold(s), want);
        }
    }

    #[test]
    fn lowercase_is_str_to_lowercase() {
        for c in ('\0'..='\u{2fff}').chain('\u{3000}'..='\u{a000}') {
            let s = format!("A{c}b{c}");
            assert_eq!(lowercase(&s), s.to_lowercase(), "{c:?}");
        }
        for s in ["ΣΑΣ ΟΔΟΣ", "新华社北京ＡＢＣ电 Hello ＷＯＲＬＤ", ""] {
            assert_eq!(lowercase(s), s.to_lowercase());
        }
    }

    #[test]
    fn fold_fast_path_keeps_what_is_alphanumeric_keeps() {
        for c in ('\0'..='\u{2fff}').chain('\u{3000}'..='\u{a000}') {
            assert_eq!(keeps(c), c.is_alphanumeric(), "{c:?}");
            assert_eq!(
                fold(&c.to_string()).is_empty(),
                !c.is_alphanumeric(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn simplified_converts_traditional_and_leaves_simplified_alone() {
        let t = "京津冀教育協同發展工作會議在京召開";
        assert_eq!(simplified(t), "京津冀教育协同发展工作会议在京召开");
        assert_eq!(simplified(t), fast2s::convert(t), "the same as fast2s");
        let s = "京津冀教育协同发展工作会议在京召开, 2023 ok";
        assert!(matches!(simplified(s), Cow::Borrowed(_)), "no copy made");
        assert!(matches!(simplified("ascii only"), Cow::Borrowed(_)));
    }
}
