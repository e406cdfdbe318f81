//! The lenient second reading of a document feed-rs rejected: `repair`
//! (bare `&`, HTML entities, a missing RSS `version`, JSON Feed 1.0
//! quirks), then `cut_at_break` for a document that breaks part-way.

pub(super) fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    head.contains("<!doctype html") || head.contains("<html")
}

/// A lenient second reading of a document feed-rs rejected, or `None` when
/// there is nothing to repair.
pub(super) fn repair(text: &str) -> Option<(String, Vec<String>)> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return repair_json(trimmed);
    }
    let mut repairs = Vec::new();
    let mut fixed = escape_stray_ampersands(text, &mut repairs);
    // feed-rs knows RSS 0.91, 0.92 and 2.0; 0.93, 0.94 and a missing
    // version are read as 2.0, as every reader does.
    if let Some(pos) = fixed.find("<rss") {
        let tag_end = fixed[pos..].find('>').map(|e| pos + e)?;
        let tag = &fixed[pos..tag_end];
        match tag.find("version") {
            None => {
                fixed.insert_str(pos + 4, " version=\"2.0\"");
                repairs.push("added the missing version=\"2.0\" to <rss>".to_string());
            }
            Some(v) => {
                let value_start = tag[v..].find(['"', '\'']).map(|q| pos + v + q + 1);
                let value_end =
                    value_start.and_then(|s| fixed[s..tag_end].find(['"', '\'']).map(|e| s + e));
                if let (Some(s), Some(e)) = (value_start, value_end) {
                    let version = fixed[s..e].trim().to_string();
                    if !matches!(version.as_str(), "0.91" | "0.92" | "2.0") {
                        fixed.replace_range(s..e, "2.0");
                        repairs.push(format!("RSS version {version:?} read as 2.0"));
                    }
                }
            }
        }
    }
    (!repairs.is_empty()).then_some((fixed, repairs))
}

/// XML knows five named entities; feeds use HTML's (`&nbsp;`, `&mdash;`) and
/// bare `&`. Outside CDATA, known HTML entities become numeric references
/// and any other `&` becomes `&amp;`.
fn escape_stray_ampersands(text: &str, repairs: &mut Vec<String>) -> String {
    const XML_ENTITIES: &[&str] = &["amp", "lt", "gt", "quot", "apos"];
    let mut out = String::with_capacity(text.len() + 64);
    let (mut bare, mut named) = (0usize, 0usize);
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with("<![CDATA[") {
            let end = rest.find("]]>").map(|e| e + 3).unwrap_or(rest.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        if rest.starts_with('<') {
            out.push('<');
            rest = &rest[1..];
            continue;
        }
        // An entity or character reference: & name ;
        let body_len = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .unwrap_or(rest.len() - 1);
        let name = &rest[1..1 + body_len];
        let terminated = rest[1 + body_len..].starts_with(';') && !name.is_empty();
        if terminated && name.starts_with("#X") {
            // `&#X41;`: XML wants a lower-case x.
            out.push_str("&#x");
            out.push_str(&name[2..]);
            out.push(';');
            named += 1;
            rest = &rest[body_len + 2..];
            continue;
        }
        if terminated && (name.starts_with('#') || XML_ENTITIES.contains(&name)) {
            out.push_str(&rest[..body_len + 2]);
            rest = &rest[body_len + 2..];
            continue;
        }
        if terminated {
            let entity = &rest[..body_len + 2];
            let decoded = html_escape::decode_html_entities(entity);
            if decoded != entity {
                for c in decoded.chars() {
                    out.push_str(&format!("&#{};", c as u32));
                }
                named += 1;
                rest = &rest[body_len + 2..];
                continue;
            }
        }
        out.push_str("&amp;");
        bare += 1;
        rest = &rest[1..];
    }
    out.push_str(rest);
    if named > 0 {
        repairs.push(format!("{named} HTML entities made numeric"));
    }
    if bare > 0 {
        repairs.push(format!("{bare} bare '&' escaped"));
    }
    out
}

/// JSON Feed 1.0 as written in the wild: `http://` version URLs or none,
/// `tags` as one comma-separated string.
fn repair_json(text: &str) -> Option<(String, Vec<String>)> {
    let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
    let obj = v.as_object_mut()?;
    let mut repairs = Vec::new();
    let version = obj.get("version").and_then(|v| v.as_str()).unwrap_or("");
    if !version.starts_with("https://jsonfeed.org/version/1") {
        repairs.push(format!("JSON Feed version {version:?} read as 1.1"));
        obj.insert("version".into(), "https://jsonfeed.org/version/1.1".into());
    }
    if let Some(items) = obj.get_mut("items").and_then(|i| i.as_array_mut()) {
        for item in items.iter_mut().filter_map(|i| i.as_object_mut()) {
            if let Some(tags) = item
                .get("tags")
                .and_then(|t| t.as_str())
                .map(str::to_string)
            {
                let list: Vec<serde_json::Value> =
                    tags.split(',').map(|t| t.trim().into()).collect();
                item.insert("tags".into(), list.into());
                repairs.push("item tags given as a string".into());
            }
        }
    }
    repairs.dedup();
    (!repairs.is_empty()).then(|| (v.to_string(), repairs))
}

/// A document that breaks part-way (it stops mid-tag, or an end tag does
/// not match): everything up to the end of the last complete `<item>` or
/// `<entry>`, with the elements still open there closed, and a note of where
/// and how it broke. `None` when the XML does not break or no entry was
/// complete before the break.
pub(super) fn cut_at_break(text: &str) -> Option<(String, String)> {
    use quick_xml::events::Event;
    if text.trim_start().starts_with('{') {
        return None;
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<String> = Vec::new();
    let mut last_complete: Option<(usize, Vec<String>)> = None;
    let (at, why) = loop {
        let before = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                open.push(e.name().into_inner().to_string());
            }
            Ok(Event::End(e)) => {
                open.pop();
                if matches!(e.local_name().into_inner(), "item" | "entry") {
                    last_complete = Some((reader.buffer_position() as usize, open.clone()));
                }
            }
            Ok(Event::Eof) => {
                let inside = open.last()?;
                break (text.len(), format!("it ends inside <{inside}>"));
            }
            Err(e) => {
                let at = (reader.error_position() as usize)
                    .max(before)
                    .min(text.len());
                break (at, e.to_string());
            }
            Ok(_) => {}
        }
    };
    let (cut, still_open) = last_complete?;
    let mut fixed = text.get(..cut)?.to_string();
    for name in still_open.iter().rev() {
        fixed.push_str(&format!("</{name}>"));
    }
    let upto = text.get(..at).unwrap_or(text);
    let line = upto.matches('\n').count() + 1;
    let column = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((
        fixed,
        format!("the document breaks at line {line}, column {column} ({why})"),
    ))
}
