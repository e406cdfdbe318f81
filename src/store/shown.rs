//! A story's `display::Summary` as stored (`stories.shown`, migration
//! 0018): what lets a copy that joins the story update its title, link and
//! date from one row instead of reading every copy (`ingest::refresh_joined`).
//!
//! Written by every full refresh (`ingest::refresh_shown` and its kin,
//! which read all the copies) and by each join it allowed; NULL on a story
//! made since its last full refresh (a first copy), which the next join
//! then makes. A value this release cannot read is treated as NULL.
//!
//! Layout: a format byte (1); `born`, `floor`, `date` as i64 (little
//! endian); a flags byte; then the text's copy, the link's copy and the
//! headline's fallback copy, each present or not as the flags say. A copy
//! is its source and item key (each a u32 length and UTF-8),
//! or, for the link's and the fallback's, one byte naming a copy written
//! before it (the same copy is often all three). Hand-written, like
//! `body`'s frame: a few integers and strings, smaller than any crate
//! that would write them.

use crate::display::{LinkBest, Named, Summary, TextBest};

const FORMAT: u8 = 1;

const LATE: u8 = 1;
const NORMAL: u8 = 1 << 1;
const TEXT: u8 = 1 << 2;
const LINK: u8 = 1 << 3;
const TITLED: u8 = 1 << 4;

/// A copy written in full, or the same as the text's (1) or the link's (2).
const FULL: u8 = 0;

pub(super) fn encode(s: &Summary) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.push(FORMAT);
    for n in [s.born, s.floor, s.date] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    let mut flags = 0;
    for (on, bit) in [
        (s.late, LATE),
        (s.normal, NORMAL),
        (s.text.is_some(), TEXT),
        (s.link.is_some(), LINK),
        (s.titled.is_some(), TITLED),
    ] {
        if on {
            flags |= bit;
        }
    }
    out.push(flags);
    let mut written: Vec<&Named> = Vec::new();
    if let Some(t) = &s.text {
        named(&mut out, &mut written, &t.copy);
        out.extend_from_slice(&(t.text_len as u64).to_le_bytes());
        out.extend_from_slice(&t.published.to_le_bytes());
        out.push(u8::from(t.has_title));
    }
    if let Some(l) = &s.link {
        named(&mut out, &mut written, &l.copy);
        out.extend_from_slice(&l.date.to_le_bytes());
        out.push(u8::from(l.own_link) | u8::from(l.founder) << 1 | u8::from(l.has_title) << 2);
    }
    if let Some(t) = &s.titled {
        named(&mut out, &mut written, t);
    }
    out
}

fn named<'a>(out: &mut Vec<u8>, written: &mut Vec<&'a Named>, n: &'a Named) {
    if let Some(at) = written.iter().position(|w| *w == n) {
        out.push(at as u8 + 1);
        return;
    }
    out.push(FULL);
    for s in [&n.source, &n.key] {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    written.push(n);
}

/// The summary stored, or `None` for anything else (a later format, a
/// damaged value): the caller then reads the copies.
pub(super) fn decode(b: &[u8]) -> Option<Summary> {
    let mut r = Read(b);
    if r.byte()? != FORMAT {
        return None;
    }
    let (born, floor, date) = (r.i64()?, r.i64()?, r.i64()?);
    let flags = r.byte()?;
    let mut read: Vec<Named> = Vec::new();
    let text = if flags & TEXT != 0 {
        let copy = r.named(&mut read)?;
        Some(TextBest {
            copy,
            text_len: usize::try_from(r.i64()?).ok()?,
            published: r.i64()?,
            has_title: r.byte()? != 0,
        })
    } else {
        None
    };
    let link = if flags & LINK != 0 {
        let copy = r.named(&mut read)?;
        let date = r.i64()?;
        let bits = r.byte()?;
        Some(LinkBest {
            copy,
            own_link: bits & 1 != 0,
            date,
            founder: bits & 2 != 0,
            has_title: bits & 4 != 0,
        })
    } else {
        None
    };
    let titled = if flags & TITLED != 0 {
        Some(r.named(&mut read)?)
    } else {
        None
    };
    if !r.0.is_empty() {
        return None;
    }
    Some(Summary {
        born,
        floor,
        late: flags & LATE != 0,
        normal: flags & NORMAL != 0,
        text,
        link,
        titled,
        date,
    })
}

struct Read<'a>(&'a [u8]);

impl Read<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn string(&mut self) -> Option<String> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    fn named(&mut self, read: &mut Vec<Named>) -> Option<Named> {
        let n = match self.byte()? {
            FULL => Named {
                source: self.string()?,
                key: self.string()?,
            },
            at => read.get(usize::from(at) - 1)?.clone(),
        };
        read.push(n.clone());
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(source: &str, key: &str) -> Named {
        Named {
            source: source.into(),
            key: key.into(),
        }
    }

    #[test]
    fn a_summary_reads_back_as_written_and_a_damaged_one_not_at_all() {
        let a = named("chinanews", "https://www.chinanews.com.cn/gn/1.shtml");
        let full = Summary {
            born: 1_700_000_000,
            floor: -5,
            late: true,
            normal: true,
            text: Some(TextBest {
                copy: a.clone(),
                text_len: 1_234,
                published: 1_699_999_000,
                has_title: false,
            }),
            link: Some(LinkBest {
                copy: named("人民网", "guid-9"),
                own_link: true,
                date: 1_699_998_000,
                founder: false,
                has_title: true,
            }),
            titled: Some(a),
            date: 1_699_998_000,
        };
        let bare = Summary {
            text: None,
            link: None,
            titled: None,
            late: false,
            ..full.clone()
        };
        for s in [&full, &bare] {
            let stored = encode(s);
            assert_eq!(decode(&stored).as_ref(), Some(s));
            // Cut anywhere, or with a byte more, or another format: unread.
            for cut in 0..stored.len() {
                assert_eq!(decode(&stored[..cut]), None, "cut at {cut}");
            }
            let mut longer = stored.clone();
            longer.push(0);
            assert_eq!(decode(&longer), None);
            let mut other = stored.clone();
            other[0] = 2;
            assert_eq!(decode(&other), None);
        }
        // The fallback headline's copy is the text's: written once.
        let untitled = Summary {
            titled: None,
            ..full.clone()
        };
        assert_eq!(encode(&full).len(), encode(&untitled).len() + 1);
    }
}
