//! Bytes → UTF-8. Finds the charset from (in order) the source's configured
//! override, the BOM, the HTTP `Content-Type` charset and the XML declaration,
//! using the WHATWG labels of encoding_rs (`gb2312` and `gbk` decode as GBK,
//! which is a superset; Big5 as Big5-HKSCS). When the labels disagree, or the
//! declared one does not decode cleanly, the first candidate that decodes
//! without a single replacement wins, and the decision is recorded.

use std::borrow::Cow;

use encoding_rs::Encoding;
use serde::Serialize;

/// Where the chosen charset came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CharsetOrigin {
    Config,
    Bom,
    Http,
    XmlDeclaration,
    /// JSON is UTF-8 unless a BOM says otherwise.
    Json,
    /// No label at all: the XML default.
    Default,
    /// The labels were wrong: this one was found by trying.
    Sniffed,
}

/// What was decided about a document's charset, and why.
#[derive(Clone, Debug, Serialize)]
pub struct CharsetDecision {
    pub encoding: &'static str,
    pub origin: CharsetOrigin,
    /// Label from the HTTP header, as written.
    pub http_label: Option<String>,
    /// Label from the XML declaration, as written.
    pub declared_label: Option<String>,
    /// Replacement characters left after decoding (0 = lossless).
    pub errors: usize,
    /// One line for people: what disagreed and what was done.
    pub note: Option<String>,
}

/// A decoded document, ready for the parser: UTF-8, no BOM, and an XML
/// declaration that no longer names another charset.
pub struct Decoded {
    pub text: String,
    pub charset: CharsetDecision,
}

/// Decodes `bytes`. `content_type` is the HTTP header when there was one;
/// `forced` the source's `encoding` setting; `host` the source's host name,
/// whose top-level domain steers detection when all labels fail (`.cn` → GBK,
/// `.tw` → Big5).
///
/// In order: the configured charset, else UTF-32 or UTF-16 told by its byte
/// pattern, else the BOM, else the labels and detection (`decode_by_trying`).
pub fn decode(
    bytes: &[u8],
    content_type: Option<&str>,
    forced: Option<&'static Encoding>,
    host: Option<&str>,
) -> Decoded {
    let labels = Labels::read(bytes, content_type);
    if let Some(enc) = forced {
        return decode_as_configured(bytes, enc, &labels);
    }
    if let Some(decoded) = decode_wide_unicode(bytes, &labels) {
        return decoded;
    }
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        let (text, errors) = decode_with(enc, bytes);
        return finish(text, labels.decision(enc, CharsetOrigin::Bom, errors, None));
    }
    decode_by_trying(bytes, &labels, host)
}

/// What the document and its HTTP header say its charset is.
struct Labels {
    /// The HTTP `charset`, as written.
    http: Option<String>,
    /// The XML declaration's `encoding`, as written (none for JSON).
    declared: Option<String>,
    is_json: bool,
}

impl Labels {
    fn read(bytes: &[u8], content_type: Option<&str>) -> Self {
        let http = content_type.and_then(charset_param);
        let body_start = skip_bom(bytes);
        let is_json = first_non_space(&bytes[body_start..]) == Some(b'{');
        let declared = if is_json {
            None
        } else {
            xml_declared_encoding(&bytes[body_start..])
        };
        Labels {
            http,
            declared,
            is_json,
        }
    }

    fn decision(
        &self,
        enc: &'static Encoding,
        origin: CharsetOrigin,
        errors: usize,
        note: Option<String>,
    ) -> CharsetDecision {
        CharsetDecision {
            encoding: enc.name(),
            origin,
            http_label: self.http.clone(),
            declared_label: self.declared.clone(),
            errors,
            note,
        }
    }
}

/// The source's `encoding` setting, whatever the document says.
fn decode_as_configured(bytes: &[u8], enc: &'static Encoding, labels: &Labels) -> Decoded {
    let (text, errors) = decode_with(enc, bytes);
    let note = (errors > 0).then(|| {
        format!(
            "{errors} bytes did not decode as the configured {}",
            enc.name()
        )
    });
    finish(
        text,
        labels.decision(enc, CharsetOrigin::Config, errors, note),
    )
}

/// UTF-32, or UTF-16 without a BOM (`wide_unicode`).
fn decode_wide_unicode(bytes: &[u8], labels: &Labels) -> Option<Decoded> {
    let (text, name, note) = wide_unicode(bytes)?;
    let errors = text.matches('\u{fffd}').count();
    let mut d = labels.decision(
        encoding_rs::UTF_8,
        CharsetOrigin::Sniffed,
        errors,
        Some(note),
    );
    d.encoding = name;
    Some(finish(Cow::Owned(text), d))
}

/// Charsets to try, in order.
type Candidates = Vec<(&'static Encoding, CharsetOrigin)>;

/// Adds a candidate unless it is already there.
fn push_candidate(candidates: &mut Candidates, enc: &'static Encoding, origin: CharsetOrigin) {
    // A UTF-16 label on a document without a BOM whose declaration was
    // readable as ASCII is a lie: output_encoding() maps it to UTF-8.
    let enc = enc.output_encoding();
    if !candidates.iter().any(|(e, _)| *e == enc) {
        candidates.push((enc, origin));
    }
}

/// The labels' charsets in order of authority (HTTP, then the XML
/// declaration), then UTF-8; how many of them came from labels; and the
/// labels encoding_rs does not know.
fn labelled_candidates(labels: &Labels) -> (Candidates, usize, Vec<String>) {
    let mut candidates = Candidates::new();
    let mut unknown = Vec::new();
    for (label, origin) in [
        (&labels.http, CharsetOrigin::Http),
        (&labels.declared, CharsetOrigin::XmlDeclaration),
    ] {
        if let Some(label) = label {
            match Encoding::for_label(label.trim().as_bytes()) {
                Some(enc) => push_candidate(&mut candidates, enc, origin),
                None => unknown.push(label.clone()),
            }
        }
    }
    let labelled = candidates.len();
    let default_origin = if labels.is_json {
        CharsetOrigin::Json
    } else {
        CharsetOrigin::Default
    };
    push_candidate(
        &mut candidates,
        encoding_rs::UTF_8,
        if labelled == 0 {
            default_origin
        } else {
            CharsetOrigin::Sniffed
        },
    );
    (candidates, labelled, unknown)
}

/// No configured charset and no BOM: candidates in order of authority,
/// then common charsets of our outlets (`detected`); the first that
/// decodes without a single replacement wins, else the one that loses least.
fn decode_by_trying(bytes: &[u8], labels: &Labels, host: Option<&str>) -> Decoded {
    let (mut candidates, labelled, unknown) = labelled_candidates(labels);
    let mut best: Option<(Cow<'_, str>, &'static Encoding, CharsetOrigin, usize)> = None;
    let mut i = 0;
    while i < candidates.len() {
        let (enc, origin) = candidates[i];
        let (text, errors) = decode_with(enc, bytes);
        let origin = if i >= labelled && labelled > 0 {
            CharsetOrigin::Sniffed
        } else {
            origin
        };
        if errors == 0 {
            let note = explain(&candidates[..i], enc, labelled, &unknown, i);
            return finish(text, labels.decision(enc, origin, 0, note));
        }
        if best.as_ref().is_none_or(|b| errors < b.3) {
            best = Some((text, enc, origin, errors));
        }
        i += 1;
        if i == candidates.len() && i <= labelled + 1 {
            for enc in detected(bytes, host) {
                push_candidate(&mut candidates, enc, CharsetOrigin::Sniffed);
            }
        }
    }
    // Nothing decodes cleanly: keep the one that loses least.
    let (text, enc, origin, errors) = best.expect("there is always at least one candidate");
    let note = Some(format!(
        "no charset decodes cleanly; {} left {errors} undecodable bytes as U+FFFD",
        enc.name()
    ));
    finish(text, labels.decision(enc, origin, errors, note))
}

/// When the labels (and UTF-8) failed: what a detector guesses (chardetng,
/// as Firefox does, steered by the host's top-level domain), then the
/// charsets our outlets use most.
fn detected(bytes: &[u8], host: Option<&str>) -> [&'static Encoding; 3] {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let tld = host
        .and_then(|h| h.rsplit('.').next())
        .map(str::to_ascii_lowercase)
        .filter(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    let guess = detector.guess(
        tld.as_deref().map(str::as_bytes),
        chardetng::Utf8Detection::Allow,
    );
    [guess, encoding_rs::GB18030, encoding_rs::BIG5]
}

fn explain(
    rejected: &[(&'static Encoding, CharsetOrigin)],
    chosen: &'static Encoding,
    labelled: usize,
    unknown: &[String],
    index: usize,
) -> Option<String> {
    let mut parts = Vec::new();
    for label in unknown {
        parts.push(format!("unknown charset label {label:?} ignored"));
    }
    if !rejected.is_empty() {
        let names: Vec<_> = rejected.iter().map(|(e, _)| e.name()).collect();
        parts.push(format!(
            "declared {} does not decode cleanly; {} does",
            names.join(" / "),
            chosen.name()
        ));
    } else if labelled == 2 && index == 0 {
        parts.push(
            "HTTP and XML declaration disagree; the HTTP charset decodes cleanly".to_string(),
        );
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn finish(text: Cow<'_, str>, charset: CharsetDecision) -> Decoded {
    // No BOM is left here: encoding_rs strips it, and `wide_unicode` skips it.
    let mut text = text.into_owned();
    rewrite_declaration(&mut text);
    Decoded { text, charset }
}

/// Decodes and counts replacement characters that decoding introduced.
fn decode_with<'a>(enc: &'static Encoding, bytes: &'a [u8]) -> (Cow<'a, str>, usize) {
    let (text, _, had_errors) = enc.decode(bytes);
    if !had_errors {
        return (text, 0);
    }
    let before = count_replacements_in_source(bytes);
    let after = text.matches('\u{fffd}').count();
    (text, after.saturating_sub(before).max(1))
}

/// U+FFFD already present in UTF-8 input is content, not a decoding error.
fn count_replacements_in_source(bytes: &[u8]) -> usize {
    bytes
        .windows(3)
        .filter(|w| *w == [0xEF, 0xBF, 0xBD])
        .count()
}

/// UTF-32 (which encoding_rs does not do) and UTF-16 without a BOM, told
/// apart by where the zero bytes around the first `<` or `{` fall (XML 1.0
/// appendix F).
fn wide_unicode(bytes: &[u8]) -> Option<(String, &'static str, String)> {
    let head: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let utf32 = |be: bool, skip: usize, how: &str| {
        let mut text = String::with_capacity(bytes.len() / 4);
        for chunk in bytes[skip..].chunks(4) {
            let arr: [u8; 4] = chunk.try_into().unwrap_or([0, 0, 0xFF, 0xFD]);
            let n = if be {
                u32::from_be_bytes(arr)
            } else {
                u32::from_le_bytes(arr)
            };
            text.push(char::from_u32(n).unwrap_or('\u{fffd}'));
        }
        let name = if be { "UTF-32BE" } else { "UTF-32LE" };
        Some((text, name, format!("{name} {how}")))
    };
    let utf16 = |enc: &'static Encoding| {
        let (text, _) = enc.decode_without_bom_handling(bytes);
        Some((
            text.into_owned(),
            enc.name(),
            format!("{} without BOM, detected from byte pattern", enc.name()),
        ))
    };
    match head {
        [0, 0, 0xFE, 0xFF] => utf32(true, 4, "(BOM)"),
        [0xFF, 0xFE, 0, 0] => utf32(false, 4, "(BOM)"),
        [0, 0, 0, c] if c == b'<' || c == b'{' => utf32(true, 0, "detected from byte pattern"),
        [c, 0, 0, 0] if c == b'<' || c == b'{' => utf32(false, 0, "detected from byte pattern"),
        [0, c, 0, d] if (c == b'<' || c == b'{') && d != 0 => utf16(encoding_rs::UTF_16BE),
        [c, 0, d, 0] if (c == b'<' || c == b'{') && d != 0 => utf16(encoding_rs::UTF_16LE),
        _ => None,
    }
}

fn skip_bom(bytes: &[u8]) -> usize {
    Encoding::for_bom(bytes).map(|(_, n)| n).unwrap_or(0)
}

fn first_non_space(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// `charset=` parameter of a Content-Type value.
pub fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
            .filter(|v| !v.is_empty())
    })
}

/// The `encoding="…"` of an XML declaration at the start of the document.
fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(512)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let pos = decl.find("encoding")?;
    let rest = decl[pos + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some(value[..close].to_string())
}

/// The text is UTF-8 now; an XML declaration that still says `gb2312` would
/// make the XML parser decode it a second time.
fn rewrite_declaration(text: &mut String) {
    let trimmed = text.trim_start();
    if !trimmed.starts_with("<?xml") {
        return;
    }
    let offset = text.len() - trimmed.len();
    let Some(end) = trimmed.find("?>") else {
        return;
    };
    let decl = &trimmed[..end];
    let Some(pos) = decl.find("encoding") else {
        return;
    };
    let after = &decl[pos + "encoding".len()..];
    let Some(eq) = after.find('=') else { return };
    let value_part = &after[eq + 1..];
    let lead = value_part.len() - value_part.trim_start().len();
    let value_part = value_part.trim_start();
    let Some(quote) = value_part
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')
    else {
        return;
    };
    let Some(close) = value_part[1..].find(quote) else {
        return;
    };
    let value_start = offset + pos + "encoding".len() + eq + 1 + lead + 1;
    text.replace_range(value_start..value_start + close, "utf-8");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    #[test]
    fn gb2312_declared_feed_with_gbk_only_characters_is_lossless() {
        // 镕 and 喆 are not in GB2312, only in GBK.
        let doc =
            "<?xml version=\"1.0\" encoding=\"gb2312\"?><rss><title>朱镕基 张喆</title></rss>";
        let d = decode(&gbk(doc), None, None, None);
        assert!(d.text.contains("朱镕基 张喆"));
        assert!(d.text.contains("encoding=\"utf-8\""));
        assert_eq!(d.charset.encoding, "GBK");
        assert_eq!(d.charset.origin, CharsetOrigin::XmlDeclaration);
        assert_eq!(d.charset.errors, 0);
    }

    #[test]
    fn bom_wins_and_is_removed() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice("<?xml version='1.0' encoding='gbk'?><rss>中文</rss>".as_bytes());
        let d = decode(&bytes, Some("text/xml; charset=big5"), None, None);
        assert_eq!(d.charset.origin, CharsetOrigin::Bom);
        assert!(d.text.starts_with("<?xml version='1.0' encoding='utf-8'?>"));
        assert!(d.text.contains("中文"));
    }

    #[test]
    fn lying_http_header_is_overruled_by_clean_decoding() {
        let doc = "<?xml version=\"1.0\" encoding=\"gbk\"?><rss>新闻</rss>";
        let d = decode(
            &gbk(doc),
            Some("application/rss+xml; charset=utf-8"),
            None,
            None,
        );
        assert_eq!(d.charset.encoding, "GBK");
        assert!(d.text.contains("新闻"));
        assert!(
            d.charset.note.as_deref().unwrap_or("").contains("UTF-8"),
            "{:?}",
            d.charset.note
        );
    }

    #[test]
    fn undeclared_gb18030_is_sniffed() {
        let doc = "<rss>京津冀教育协同发展工作会议在京召开</rss>";
        let d = decode(
            &encoding_rs::GB18030.encode(doc).0,
            None,
            None,
            Some("www.example.cn"),
        );
        assert_eq!(d.text, doc);
        assert_eq!(d.charset.encoding, "GBK"); // the same decoder as gb18030 in encoding_rs
    }

    #[test]
    fn big5_declared_decodes() {
        let bytes = encoding_rs::BIG5
            .encode("<?xml version=\"1.0\" encoding=\"big5\"?><rss>中央社新聞</rss>")
            .0;
        let d = decode(&bytes, None, None, None);
        assert!(d.text.contains("中央社新聞"));
        assert_eq!(d.charset.encoding, "Big5");
    }

    #[test]
    fn config_override_wins() {
        let d = decode(
            &gbk("<rss>中文</rss>"),
            Some("text/xml; charset=utf-8"),
            Some(encoding_rs::GBK),
            None,
        );
        assert_eq!(d.charset.origin, CharsetOrigin::Config);
        assert!(d.text.contains("中文"));
    }

    #[test]
    fn utf16_and_utf32_without_bom_are_detected() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>中文</rss>";
        let be: Vec<u8> = doc.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        let d = decode(&be, None, None, None);
        assert_eq!(d.charset.encoding, "UTF-16BE");
        assert!(
            d.text.contains("encoding=\"utf-8\"") && d.text.contains("中文"),
            "{}",
            d.text
        );
        let le32: Vec<u8> = [0xFF, 0xFE, 0, 0]
            .into_iter()
            .chain(doc.chars().flat_map(|c| (c as u32).to_le_bytes()))
            .collect();
        let d = decode(&le32, None, None, None);
        assert_eq!(d.charset.encoding, "UTF-32LE");
        assert!(d.text.contains("中文"));
    }

    #[test]
    fn charset_param_parses_quotes_and_case() {
        assert_eq!(
            charset_param("text/xml; Charset=\"GB2312\"").as_deref(),
            Some("GB2312")
        );
        assert_eq!(charset_param("text/xml"), None);
    }
}
