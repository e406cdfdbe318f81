//! The pre-pass for RSS (see `prepass`): RSS 1.1 as RSS 1.0
//! (`rss11_to_10`), and the item fix-ups (`rss_fixups`): items after the
//! channel, markup written as elements, stand-ins for a missing title,
//! description, content or date, RSS 1.0 items without a link.

use std::ops::ControlFlow;

use super::Scan;
use super::edits::{Edit, apply_edits, has_elements};
use super::items::NO_LINK;

pub(super) const RSS11_NS: &str = "http://purl.org/net/rss1.1#";

/// RSS 1.1 (`<Channel xmlns="http://purl.org/net/rss1.1#">`, its items in
/// an `<items>` collection inside the channel) as RSS 1.0, which it
/// revised: the root becomes `rdf:RDF` holding a `channel` and the items.
pub(super) fn rss11_to_10(text: &str) -> String {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut edits: Vec<Edit> = Vec::new();
    let mut depth = 0usize;
    let mut channel_open = false;
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = e.name().into_inner();
                if depth == 1 && name == "Channel" {
                    let tag = text.get(before..after).unwrap_or("<Channel>");
                    let attrs = tag.get("<Channel".len()..).unwrap_or(">");
                    edits.push((before, after, format!("<rdf:RDF{attrs}<channel>")));
                    channel_open = true;
                } else if depth == 2 && name == "items" && channel_open {
                    edits.push((before, after, "</channel>".into()));
                    channel_open = false;
                }
            }
            Event::End(e) => {
                let name = e.name().into_inner();
                if depth == 2 && name == "items" {
                    edits.push((before, after, String::new()));
                } else if depth == 1 && name == "Channel" {
                    let close = if channel_open { "</channel>" } else { "" };
                    edits.push((before, after, format!("{close}</rdf:RDF>")));
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    apply_edits(text, &edits).replace(RSS11_NS, "http://purl.org/rss/1.0/")
}

/// Elements feedparser reads in an RSS item in place of a missing title
/// (0), description (1), `content:encoded` (2) or `pubDate` (3, RSS 0.9x
/// and 2.0 only: feed-rs reads RSS 1.0's `dc:date` itself).
const ITEM_STAND_INS: [(&str, usize); 8] = [
    ("dc:title", 0),
    ("media:title", 0),
    ("dc:date", 3),
    ("dc:description", 1),
    ("itunes:summary", 1),
    ("body", 2),
    ("xhtml:body", 2),
    ("fullitem", 2),
];

/// RSS fix-ups (see `prepass`); `None` when nothing needed fixing. With
/// them, what `parse::scan_xml(text, limit)` says of the document, worked
/// out in the same pass (the same reader and events; an element the
/// fix-ups read whole is scanned on its own when it holds elements), or
/// `None` when the pass stopped before the document's end or its first
/// error: one pass over the XML instead of two (each of them checks every
/// byte is UTF-8; the scan was 5% of a poll's parallel stage).
pub(super) fn rss_fixups(text: &str, limit: usize) -> (Option<String>, Option<Scan>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut fixups = RssFixups::new(text);
    let (mut scan, mut depth, mut whole) = (Scan::default(), 0usize, true);
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        let after = reader.buffer_position() as usize;
        let flow = match event {
            Event::Start(e) => {
                depth += 1;
                if depth > limit {
                    scan.too_deep = true;
                    return (None, Some(scan));
                }
                if depth <= 4 && super::is_item(e.local_name().into_inner()) {
                    scan.items += 1;
                }
                let open = fixups.path.len();
                let flow = fixups.start(&mut reader, &e, before, after);
                if flow.is_continue() && fixups.path.len() == open {
                    // Read whole, its end tag with it: what it holds. Read
                    // alone, a stray end tag in it is an error where the
                    // document's reader went on: then no scan (`scan_xml`
                    // reads the document again).
                    if let Some((start, end)) = fixups.read_whole.take() {
                        let inner = super::scan_xml_at(&text[start..end], depth, limit);
                        scan.items += inner.items;
                        if inner.too_deep {
                            scan.too_deep = true;
                            return (None, Some(scan));
                        }
                        whole &= !inner.error;
                        depth = inner.depth;
                    }
                    depth = depth.saturating_sub(1);
                }
                flow
            }
            Event::Empty(e) => {
                if depth < 4 && super::is_item(e.local_name().into_inner()) {
                    scan.items += 1;
                }
                ControlFlow::Continue(())
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                fixups.end(e.name().into_inner(), before, after);
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        };
        if flow.is_break() {
            whole = false;
            break;
        }
    }
    let mut edits = fixups.edits;
    edits.sort_by_key(|(start, _, _)| *start);
    (
        (!edits.is_empty()).then(|| apply_edits(text, &edits)),
        whole.then_some(scan),
    )
}

/// What `rss_fixups` knows at a point of its one pass over the document.
struct RssFixups<'a> {
    text: &'a str,
    edits: Vec<Edit>,
    /// The open elements.
    path: Vec<String>,
    /// In an item: whether it has a `<link>`.
    item: Option<bool>,
    /// Where `</channel>` is.
    channel_end: Option<(usize, usize)>,
    item_outside_channel: bool,
    /// Per item: the title, description and content it has, and where
    /// another element could stand in for each (see `ITEM_STAND_INS`).
    has: [bool; 4],
    stand_ins: [Option<Edit>; 4],
    /// RSS 1.0 (RDF).
    rdf: bool,
    /// The content of the element `item_child` last read whole, when it
    /// holds elements (`rss_fixups` scans it).
    read_whole: Option<(usize, usize)>,
    /// Just after `<rss …>`.
    rss_start: Option<usize>,
}

impl<'a> RssFixups<'a> {
    fn new(text: &'a str) -> Self {
        RssFixups {
            text,
            edits: Vec::new(),
            path: Vec::new(),
            item: None,
            channel_end: None,
            item_outside_channel: false,
            has: [false; 4],
            stand_ins: [None, None, None, None],
            rdf: text.contains("purl.org/rss/1.0"),
            rss_start: None,
            read_whole: None,
        }
    }

    /// A start tag (`before..after`). An item's child the fix-ups read
    /// whole (`item_child`) is consumed to its end tag; `Break` when that
    /// end tag is not found.
    fn start(
        &mut self,
        reader: &mut quick_xml::Reader<&'a [u8]>,
        e: &quick_xml::events::BytesStart<'_>,
        before: usize,
        after: usize,
    ) -> ControlFlow<()> {
        let name = e.name().into_inner().to_string();
        let parent = self.path.last().map(String::as_str).unwrap_or("");
        let (in_item, in_rss) = (parent == "item", parent == "rss");
        if name == "rss" && self.path.is_empty() {
            self.rss_start = Some(after);
        }
        if name == "item" && self.item.is_none() {
            self.item = Some(false);
            if in_rss && !self.item_outside_channel {
                self.move_items_into_channel();
            }
        } else if name == "link" && in_item {
            self.item = Some(true);
        }
        if name == "item" {
            self.has = [false; 4];
            self.stand_ins = [None, None, None, None];
        }
        let rdf = self.rdf;
        let stand_in = ITEM_STAND_INS
            .iter()
            .find(|(n, slot)| *n == name && !(rdf && *slot == 3))
            .map(|(_, slot)| *slot);
        if in_item
            && (matches!(
                name.as_str(),
                "title" | "description" | "pubDate" | "content:encoded"
            ) || stand_in.is_some())
        {
            return self.item_child(reader, e, &name, stand_in, before);
        }
        self.path.push(name);
        ControlFlow::Continue(())
    }

    /// RSS 0.91 as some wrote it: items after `</channel>` (or no channel
    /// at all); the channel now ends with `</rss>` (or where the lenient
    /// reading cuts a broken document).
    fn move_items_into_channel(&mut self) {
        match (self.channel_end, self.rss_start) {
            (Some((start, end)), _) => {
                self.item_outside_channel = true;
                self.edits.push((start, end, String::new()));
            }
            (None, Some(at)) => {
                self.item_outside_channel = true;
                self.edits.push((at, at, "<channel>".into()));
            }
            _ => {}
        }
    }

    /// An item's title, description, `pubDate` or `content:encoded`, or an
    /// element that may stand in for one (`stand_in`, its slot), read to
    /// its end tag. Markup written as elements becomes what it says,
    /// escaped; a stand-in is kept until the item ends (`end_item`).
    fn item_child(
        &mut self,
        reader: &mut quick_xml::Reader<&'a [u8]>,
        e: &quick_xml::events::BytesStart<'_>,
        name: &str,
        stand_in: Option<usize>,
        before: usize,
    ) -> ControlFlow<()> {
        let Ok(span) = reader.read_to_end(e.name()) else {
            return ControlFlow::Break(());
        };
        let (start, end) = (span.start as usize, span.end as usize);
        let inner = self.text.get(start..end).unwrap_or("");
        // Markup written as elements: what it says, escaped.
        let escaped = if has_elements(inner) {
            self.read_whole = Some((start, end));
            Some(quick_xml::escape::escape(inner).into_owned())
        } else {
            None
        };
        match (name, stand_in) {
            ("title", _) => self.has[0] = true,
            ("description", _) => self.has[1] = true,
            ("content:encoded", _) => self.has[2] = true,
            ("pubDate", _) => self.has[3] = true,
            (_, Some(slot)) => {
                let body = escaped.unwrap_or_else(|| inner.to_string());
                let end_tag = reader.buffer_position() as usize;
                if self.stand_ins[slot].is_none() {
                    self.stand_ins[slot] = Some((before, end_tag, stand_in_element(slot, &body)));
                }
                return ControlFlow::Continue(());
            }
            _ => {}
        }
        if let Some(escaped) = escaped
            && name != "content:encoded"
            && name != "pubDate"
        {
            self.edits.push((start, end, escaped));
        }
        ControlFlow::Continue(())
    }

    /// An end tag (`before..after`).
    fn end(&mut self, name: &str, before: usize, after: usize) {
        if name == "item" {
            self.end_item(before);
        }
        if name == "channel" && self.path.len() == 2 {
            self.channel_end = Some((before, after));
        }
        if name == "rss" && self.item_outside_channel {
            self.edits.push((before, before, "</channel>".into()));
        }
        self.path.pop();
    }

    /// At `</item>` (at `before`): the stand-ins for what the item lacks,
    /// and an RSS 1.0 item's stand-in link (`NO_LINK`) when it has none.
    fn end_item(&mut self, before: usize) {
        for (slot, edit) in self.stand_ins.iter_mut().enumerate() {
            if !self.has[slot]
                && let Some(edit) = edit.take()
            {
                self.edits.push(edit);
            }
        }
        if self.item == Some(false) && self.text.contains("purl.org/rss/1.0") {
            self.edits
                .push((before, before, format!("<link>{NO_LINK}</link>")));
        }
        self.item = None;
    }
}

/// The element a stand-in becomes, for its slot in `ITEM_STAND_INS`.
fn stand_in_element(slot: usize, body: &str) -> String {
    match slot {
        0 => format!("<title>{body}</title>"),
        1 => format!("<description>{body}</description>"),
        3 => format!("<pubDate>{body}</pubDate>"),
        _ => format!(
            "<content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">{body}</content:encoded>"
        ),
    }
}
