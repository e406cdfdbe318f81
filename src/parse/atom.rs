//! The pre-pass for Atom (see `prepass`): Atom 0.3 as Atom 1.0
//! (`atom03_to_10`), and the Atom 1.0 text constructs feed-rs refuses
//! (`atom10_fixups`).

use super::edits::{Edit, apply_edits, has_elements};
use super::items::from_base64;

pub(super) const ATOM03_NS: &str = "http://purl.org/atom/ns#";

pub(super) const ATOM10_NS: &str = "http://www.w3.org/2005/Atom";

/// See `prepass`. Broken XML ends the rewriting; the rest is left as it is
/// for the lenient reading.
pub(super) fn atom03_to_10(text: &str) -> String {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut edits: Vec<Edit> = Vec::new();
    // Per open entry: `issued` seen, and where `created` is.
    let mut entry: Option<(bool, Vec<Edit>)> = None;
    let mut parents: Vec<String> = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let Ok((ns, event)) = reader.read_resolved_event() else {
            break;
        };
        let in_03 = matches!(ns, ResolveResult::Bound(n) if n.into_inner() == ATOM03_NS);
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) | Event::Empty(e) if in_03 => {
                let empty = text.get(..after).is_some_and(|t| t.ends_with("/>"));
                let qname = e.name().into_inner().to_string();
                let local = e.local_name().into_inner().to_string();
                let prefix = qname.strip_suffix(local.as_str()).unwrap_or("").to_string();
                let parent = parents.last().map(String::as_str).unwrap_or("");
                let renamed = rename_03(&local, parent);
                if local == "entry" && !empty {
                    entry = Some((false, Vec::new()));
                }
                if local == "issued"
                    && let Some((issued, _)) = entry.as_mut()
                {
                    *issued = true;
                }
                let text_construct = matches!(
                    local.as_str(),
                    "title" | "tagline" | "copyright" | "summary" | "content" | "info"
                );
                if text_construct && !empty {
                    let attrs: Vec<(String, String)> = e
                        .attributes()
                        .flatten()
                        .map(|a| (a.key.into_inner().to_string(), a.value.to_string()))
                        .collect();
                    let Ok(span) = reader.read_to_end(e.name()) else {
                        break;
                    };
                    let end = reader.buffer_position() as usize;
                    let inner = text
                        .get(span.start as usize..span.end as usize)
                        .unwrap_or("");
                    let name = format!("{prefix}{}", renamed.unwrap_or(&local));
                    edits.push((before, end, text_construct_10(&name, &attrs, inner)));
                    continue;
                }
                if let Some(new) = renamed {
                    let tag = text.get(before..after).unwrap_or("");
                    let rest = tag.get(1 + qname.len()..).unwrap_or(">");
                    let edit = (before, after, format!("<{prefix}{new}{rest}"));
                    if local == "created" {
                        if let Some((_, created)) = entry.as_mut() {
                            created.push(edit);
                        }
                    } else {
                        edits.push(edit);
                    }
                }
                if !empty {
                    parents.push(local);
                }
            }
            Event::End(e) if in_03 => {
                let qname = e.name().into_inner().to_string();
                let local = e.local_name().into_inner().to_string();
                let prefix = qname.strip_suffix(local.as_str()).unwrap_or("").to_string();
                parents.pop();
                let parent = parents.last().map(String::as_str).unwrap_or("");
                if let Some(new) = rename_03(&local, parent) {
                    let edit = (before, after, format!("</{prefix}{new}>"));
                    if local == "created" {
                        if let Some((_, created)) = entry.as_mut() {
                            created.push(edit);
                        }
                    } else {
                        edits.push(edit);
                    }
                }
                if local == "entry"
                    && let Some((issued, created)) = entry.take()
                    && !issued
                {
                    // No `issued`: `created` is the entry's first date.
                    edits.extend(created);
                }
            }
            Event::Start(e) => parents.push(e.local_name().into_inner().to_string()),
            Event::End(_) => {
                parents.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    edits.sort_by_key(|(start, _, _)| *start);
    apply_edits(text, &edits)
        .replace(&format!("\"{ATOM03_NS}\""), &format!("\"{ATOM10_NS}\""))
        .replace(&format!("'{ATOM03_NS}'"), &format!("'{ATOM10_NS}'"))
}

/// Atom 1.0 text constructs feed-rs refuses, which fail the whole document:
/// a MIME type where 1.0 wants `text`/`html`/`xhtml` (`text/plain`,
/// `text/html`, `application/xhtml+xml`, or a base64 type such as
/// `application/octet-stream`, read as Atom 0.3 modes are), a content `src`
/// with such a type, and markup written as elements inside a `text` or
/// `html` construct (feed-rs reads it as empty). `None` when none is there.
pub(super) fn atom10_fixups(text: &str) -> Option<String> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut edits: Vec<Edit> = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let Ok((ns, event)) = reader.read_resolved_event() else {
            break;
        };
        let in_10 = matches!(ns, ResolveResult::Bound(n) if n.into_inner() == ATOM10_NS);
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::Eof => break,
            _ => continue,
        };
        let local = e.local_name().into_inner().to_string();
        if !in_10
            || !matches!(
                local.as_str(),
                "title" | "subtitle" | "summary" | "rights" | "content" | "link"
            )
        {
            continue;
        }
        let qname = e.name().into_inner().to_string();
        let attrs: Vec<(String, String)> = e
            .attributes()
            .flatten()
            .map(|a| (a.key.into_inner().to_string(), a.value.to_string()))
            .collect();
        let attr = |name: &str| attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let kind = attr("type")
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let has_src = attr("src").is_some();
        let start_tag = |attrs: &[(String, String)]| {
            let mut tag = format!("<{qname}");
            for (k, v) in attrs {
                let q = if v.contains('"') { '\'' } else { '"' };
                tag.push_str(&format!(" {k}={q}{v}{q}"));
            }
            tag
        };
        let end = if empty {
            reader.buffer_position() as usize
        } else if local == "link" && attr("href").is_some() {
            continue;
        } else {
            let Ok(span) = reader.read_to_end(e.name()) else {
                break;
            };
            let inner = text
                .get(span.start as usize..span.end as usize)
                .unwrap_or("");
            // feedparser's reading of `<link>URL</link>`: the text is the href.
            if local == "link" {
                if !inner.trim().is_empty() && !inner.contains('<') {
                    let mut attrs = attrs.clone();
                    attrs.push(("href".into(), inner.trim().to_string()));
                    let end = reader.buffer_position() as usize;
                    edits.push((before, end, format!("{}/>", start_tag(&attrs))));
                }
                continue;
            }
            reader.buffer_position() as usize
        };
        let inner = if empty {
            ""
        } else {
            text.get(..end)
                .and_then(|t| t.rfind("</"))
                .and_then(|close| text.get(before..close))
                .and_then(|t| t.find('>').map(|o| &t[o + 1..]))
                .unwrap_or("")
        };
        let elements = has_elements(inner);
        let mode = match kind.as_str() {
            "xhtml" if !has_src => continue,
            _ if has_src => {
                if matches!(kind.as_str(), "text" | "html" | "xhtml") {
                    // A src with 1.0's text types: the type is dropped.
                    let kept: Vec<(String, String)> =
                        attrs.into_iter().filter(|(k, _)| k != "type").collect();
                    edits.push((before, end, format!("{}/>", start_tag(&kept))));
                }
                continue;
            }
            _ if empty => continue,
            _ if elements => "xml",
            "" | "text" | "html" => continue,
            "text/html" | "text/plain" => "escaped",
            k if k.contains("xml") => "xml",
            k if local == "content" && k.starts_with("text/") => continue,
            k if local == "content" && !k.starts_with("text/") && !elements => continue,
            _ => "base64",
        };
        let mut attrs: Vec<(String, String)> = attrs
            .into_iter()
            .filter(|(k, _)| k != "type" && k != "mode")
            .collect();
        attrs.push(("mode".into(), mode.into()));
        let html = !matches!(kind.as_str(), "text" | "text/plain") || elements;
        attrs.push((
            "type".into(),
            if html { "text/html" } else { "text/plain" }.into(),
        ));
        edits.push((before, end, text_construct_10(&qname, &attrs, inner)));
    }
    edits.sort_by_key(|(start, _, _)| *start);
    (!edits.is_empty()).then(|| apply_edits(text, &edits))
}

/// Atom 0.3 element names that Atom 1.0 spells otherwise.
fn rename_03(local: &str, parent: &str) -> Option<&'static str> {
    Some(match local {
        "issued" | "created" => "published",
        "modified" => "updated",
        "tagline" => "subtitle",
        "copyright" => "rights",
        "info" => "rights-info",
        "url" if matches!(parent, "author" | "contributor") => "uri",
        _ => return None,
    })
}

/// An Atom 0.3 text construct (`type` a MIME type, `mode` escaped, base64
/// or xml) as Atom 1.0 writes it: `type="html"` or `"text"`, the content
/// as escaped text.
fn text_construct_10(name: &str, attrs: &[(String, String)], inner: &str) -> String {
    let attr = |k: &str| {
        attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let mode = attr("mode").unwrap_or_default();
    let mime = attr("type").unwrap_or_default();
    let html = mime.contains("html") || mime.contains("xml") || mode == "xml";
    let body = match mode.as_str() {
        "base64" => match from_base64(inner) {
            Some(decoded) => quick_xml::escape::escape(decoded).into_owned(),
            None => inner.to_string(),
        },
        "escaped" => inner.to_string(),
        // `xml`, or no mode: the markup is the content. Escaped, it is the
        // same HTML in a 1.0 `type="html"` element (text stays text).
        _ if has_elements(inner) => quick_xml::escape::escape(inner).into_owned(),
        _ => inner.to_string(),
    };
    let mut out = format!("<{name}");
    // The values are as written (still escaped).
    for (k, v) in attrs.iter().filter(|(k, _)| k != "mode" && k != "type") {
        let q = if v.contains('"') { '\'' } else { '"' };
        out.push_str(&format!(" {k}={q}{v}{q}"));
    }
    out.push_str(if html || mode == "xml" || body.contains("&lt;") {
        " type=\"html\">"
    } else {
        " type=\"text\">"
    });
    out.push_str(&body);
    out.push_str(&format!("</{name}>"));
    out
}
