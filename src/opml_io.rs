//! OPML in and out, for `sources import` and `sources export`: the format
//! every feed reader exchanges subscription lists in. The opml crate does the
//! XML; this module maps outlines to sources and back.
//!
//! Tags travel both ways readers use: as folders (an outline without
//! `xmlUrl` whose children are feeds — Miniflux, FreshRSS, Inoreader) and as
//! the OPML 2.0 `category` attribute (comma-separated). Export writes each
//! source into the folder of its first tag and lists all its tags in
//! `category`, so an import of an export gives the same tags back.

use url::Url;

use crate::config::Source;

/// Why an OPML file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    /// Not OPML, or no outline in its body.
    #[error("not a valid OPML file: {0}")]
    Read(#[source] opml::Error),
    #[error("cannot write OPML: {0}")]
    Write(#[source] opml::Error),
}

/// A feed outline read from an OPML file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `title`, else `text`; may be empty.
    pub name: String,
    pub url: String,
    pub tags: Vec<String>,
}

/// What an OPML file holds: its feeds, and the outlines that look like feeds
/// but cannot be one (a bad `xmlUrl`), with the reason.
#[derive(Debug, Default)]
pub struct Outlines {
    pub entries: Vec<Entry>,
    pub rejected: Vec<(String, String)>,
}

/// Reads an OPML file. A file that is not OPML (or has no outlines) is an
/// error as a whole, so that `import` adds nothing from it.
pub fn read(bytes: &[u8]) -> Result<Outlines, OpmlError> {
    // Exports from other tools come in UTF-8 with a BOM, UTF-16, or the
    // occasional legacy charset: decode them like feeds.
    let text = crate::decode::decode(bytes, None, None, None).text;
    let doc = opml::OPML::from_str(&text).map_err(OpmlError::Read)?;
    let mut out = Outlines::default();
    walk(&doc.body.outlines, &mut Vec::new(), &mut out);
    Ok(out)
}

fn walk(outlines: &[opml::Outline], folders: &mut Vec<String>, out: &mut Outlines) {
    for o in outlines {
        let label = o
            .title
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(&o.text)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        match o.xml_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => match Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    let mut tags: Vec<String> = Vec::new();
                    let from_category = o
                        .category
                        .iter()
                        .flat_map(|c| c.split(','))
                        .map(|c| c.trim().trim_matches('/').to_string());
                    for tag in folders.iter().cloned().chain(from_category) {
                        if !tag.is_empty() && !tags.contains(&tag) {
                            tags.push(tag);
                        }
                    }
                    out.entries.push(Entry {
                        name: label,
                        url: u.to_string(),
                        tags,
                    });
                }
                Ok(u) => out.rejected.push((
                    url.to_string(),
                    format!("scheme {:?} is not http or https", u.scheme()),
                )),
                Err(e) => out.rejected.push((url.to_string(), e.to_string())),
            },
            _ => {
                // A folder: its children get its name as a tag.
                let pushed = !label.is_empty();
                if pushed {
                    folders.push(label);
                }
                walk(&o.outlines, folders, out);
                if pushed {
                    folders.pop();
                }
            }
        }
    }
}

/// OPML 2.0 for `sources`, grouped into folders by first tag.
pub fn write(sources: &[Source], now: chrono::DateTime<chrono::Utc>) -> Result<String, OpmlError> {
    let mut doc = opml::OPML {
        version: "2.0".into(),
        head: Some(opml::Head {
            title: Some("newsriver sources".into()),
            date_created: Some(now.to_rfc2822()),
            ..opml::Head::default()
        }),
        ..opml::OPML::default()
    };
    // Control characters (a name copied from a hostile feed by hand, or
    // written as "\u001b" in config.toml) have no place in XML 1.0.
    let clean = crate::printable::clean_name;
    let feed = |s: &Source| opml::Outline {
        text: clean(&s.name),
        title: Some(clean(&s.name)),
        r#type: Some("rss".into()),
        xml_url: Some(s.url.to_string()),
        category: (!s.tags.is_empty()).then(|| clean(&s.tags.join(","))),
        ..opml::Outline::default()
    };
    // In config order; a folder stands where its first source was.
    let outlines = &mut doc.body.outlines;
    for s in sources {
        let first = s.tags.first().map(|t| clean(t));
        let folder = first.as_ref().and_then(|tag| {
            outlines
                .iter_mut()
                .find(|o| o.xml_url.is_none() && &o.text == tag)
        });
        match (first.as_ref(), folder) {
            (None, _) => outlines.push(feed(s)),
            (Some(_), Some(f)) => f.outlines.push(feed(s)),
            (Some(tag), None) => outlines.push(opml::Outline {
                text: tag.clone(),
                title: Some(tag.clone()),
                outlines: vec![feed(s)],
                ..opml::Outline::default()
            }),
        }
    }
    if doc.body.outlines.is_empty() {
        // OPML requires at least one outline in <body>.
        doc.body.outlines.push(opml::Outline {
            text: "(no sources)".into(),
            ..opml::Outline::default()
        });
    }
    doc.to_string()
        .map(|xml| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
                indent(&xml)
            )
        })
        .map_err(OpmlError::Write)
}

/// One element a line, indented by depth: the opml crate writes everything
/// on one line, and admins read and diff this file. Only the writer's own
/// output comes here, so a line break goes wherever one tag ends and the
/// next begins outside a quoted attribute value.
fn indent(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len() + xml.len() / 8);
    let mut depth: usize = 0;
    let mut quote: Option<char> = None;
    let mut chars = xml.chars().peekable();
    let mut prev = '\0';
    let mut tag_start = 0usize;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '<') => {
                let closing = chars.peek() == Some(&'/');
                if closing {
                    depth = depth.saturating_sub(1);
                }
                // Between two tags only: a break after text would change
                // the text (`<title>…</title>`).
                if prev == '>' {
                    out.push('\n');
                    out.push_str(&"  ".repeat(depth));
                }
                tag_start = out.len();
            }
            (None, '>') => {
                let opening = !out[tag_start..].starts_with("</") && prev != '/';
                if opening {
                    depth += 1;
                }
            }
            _ => {}
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_categories_become_tags() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>x</title></head><body>
  <outline text="新闻">
    <outline text="中新网" type="rss" xmlUrl="https://www.chinanews.com.cn/rss/china.xml" category="/national,教育"/>
    <outline text="Sub"><outline text="Deep" xmlUrl="http://deep.example/feed"/></outline>
  </outline>
  <outline text="Top" title="Top Title" xmlUrl="https://top.example/rss"/>
  <outline text="Bad" xmlUrl="ftp://x.example/feed"/>
  <outline text="Worse" xmlUrl="not a url"/>
</body></opml>"#;
        let o = read(xml.as_bytes()).expect("valid");
        assert_eq!(o.entries.len(), 3);
        assert_eq!(o.entries[0].tags, ["新闻", "national", "教育"]);
        assert_eq!(o.entries[1].tags, ["新闻", "Sub"]);
        assert_eq!(o.entries[2].name, "Top Title");
        assert!(o.entries[2].tags.is_empty());
        assert_eq!(o.rejected.len(), 2);
    }

    #[test]
    fn export_is_one_outline_a_line_and_reads_back() {
        let config = crate::config::Config::from_str_at(
            "[[source]]\nid = \"a\"\nname = 'Q\"uo>te<'\nurl = \"https://a.example/rss\"\ntags = [\"x\", \"y\"]\n\n[[source]]\nid = \"b\"\nurl = \"https://b.example/rss\"\n",
            std::path::Path::new("config.toml"),
        )
        .expect("config");
        let xml = write(&config.sources, chrono::Utc::now()).expect("write");
        let lines: Vec<&str> = xml.lines().collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("      <outline text=\"Q&quot;uo&gt;te&lt;\"")),
            "{xml}"
        );
        assert!(lines.contains(&"  </body>"), "{xml}");
        let back = read(xml.as_bytes()).expect("read back");
        assert_eq!(back.entries.len(), 2);
        assert_eq!(back.entries[0].name, "Q\"uo>te<");
        assert_eq!(back.entries[0].tags, ["x", "y"]);
    }

    #[test]
    fn not_opml_is_an_error() {
        assert!(read(b"<rss version=\"2.0\"><channel/></rss>").is_err());
        assert!(read(b"<opml version=\"2.0\"><head/><body></body></opml>").is_err());
        assert!(read(b"\xff\xfe garbage").is_err());
    }
}
