//! A copy's HTML as stored (`copies.body`, migration 0008): the feed's
//! summary, the feed's content and the article from its page, in one zstd
//! frame. One frame for the three, because a summary is mostly the first
//! sentences of the content, and zstd stores those sentences once when
//! they are in the same frame. On the real-length farm the copies' HTML
//! went from 82 MB in three columns to 47 MB, and the database from 1.80×
//! to 1.18× the bytes fetched (BENCHMARKS.md, "After the compact schema").
//!
//! Layout of the uncompressed frame: for each of the three parts, a tag
//! byte (0 absent, 1 present), then when present its length as a u32
//! (little endian) and its UTF-8 bytes. The first byte of the column is a
//! format version (1), so another layout can be added without guessing.
//!
//! Compressing is pure CPU and happens in the parallel stage
//! (`NewCopy::seal`); only the reader of a topic feed decompresses.

use std::io;

/// zstd level 1: a copy's body is compressed once per new copy in the
/// parallel stage, and on the real-length farm level 3 (the library's
/// default) cost 2.6% more of a cold poll's instructions (callgrind, 200
/// feeds) for a database 2% smaller (98 against 100 MB at 1,000 feeds);
/// level −1 saved 3% more and made the database 14% larger (BENCHMARKS.md,
/// issue 24).
const LEVEL: i32 = 1;

thread_local! {
    /// One compression context per thread, kept: creating one allocates and
    /// clears its tables, which was 5% of a cold poll when done per copy.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

thread_local! {
    /// Likewise for reading: a feed's render decompresses every copy of
    /// every story in it.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// The format byte at the start of every stored body.
const FORMAT: u8 = 1;

/// Largest body decompressed: far above `[fetch].max_body_bytes`' default,
/// so a damaged frame claiming gigabytes cannot make a reader allocate them.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// A copy's three HTML parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    pub summary_html: Option<String>,
    pub content_html: Option<String>,
    pub full_html: Option<String>,
}

/// The stored form of the three parts.
pub fn encode(
    summary: Option<&str>,
    content: Option<&str>,
    full: Option<&str>,
) -> io::Result<Vec<u8>> {
    let len = [summary, content, full]
        .iter()
        .map(|p| 5 + p.map_or(0, str::len))
        .sum();
    let mut raw = Vec::with_capacity(len);
    for part in [summary, content, full] {
        match part {
            None => raw.push(0),
            Some(s) => {
                raw.push(1);
                raw.extend_from_slice(&(s.len() as u32).to_le_bytes());
                raw.extend_from_slice(s.as_bytes());
            }
        }
    }
    // Fails only when zstd cannot allocate its context: the poll is then
    // not stored (rolled back alone) and polled again next time.
    let frame = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some(zstd::bulk::Compressor::new(LEVEL)?);
        }
        match c.as_mut() {
            Some(c) => c.compress(&raw),
            None => zstd::bulk::compress(&raw, LEVEL),
        }
    })?;
    let mut out = Vec::with_capacity(1 + frame.len());
    out.push(FORMAT);
    out.extend_from_slice(&frame);
    Ok(out)
}

/// The three parts of a stored body.
pub fn decode(stored: &[u8]) -> io::Result<Parts> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("copy body: {why}"));
    let Some((&format, frame)) = stored.split_first() else {
        return Ok(Parts::default());
    };
    if format != FORMAT {
        return Err(bad(&format!("unknown format {format}")));
    }
    let size = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .ok_or_else(|| bad("no content size"))?;
    if size > MAX_BODY as u64 {
        return Err(bad("larger than any body we store"));
    }
    let raw = DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new()?);
        }
        match d.as_mut() {
            Some(d) => d.decompress(frame, size as usize),
            None => zstd::bulk::decompress(frame, size as usize),
        }
    })?;
    let mut rest = raw.as_slice();
    let mut part = || -> io::Result<Option<String>> {
        let (&tag, after) = rest.split_first().ok_or_else(|| bad("truncated"))?;
        rest = after;
        if tag == 0 {
            return Ok(None);
        }
        if rest.len() < 4 {
            return Err(bad("truncated"));
        }
        let (n, after) = rest.split_at(4);
        let n = u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize;
        if after.len() < n {
            return Err(bad("truncated"));
        }
        let (s, after) = after.split_at(n);
        rest = after;
        String::from_utf8(s.to_vec())
            .map(Some)
            .map_err(|_| bad("not UTF-8"))
    };
    Ok(Parts {
        summary_html: part()?,
        content_html: part()?,
        full_html: part()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_back_as_they_went_in() {
        let summary = "<p>中新网北京10月9日电 京津冀教育协同发展会议在京召开。</p>";
        let content = format!(
            "{summary}<p>{}</p>",
            "会议指出，三地将在基础教育、职业教育和高等教育方面加强合作。".repeat(20)
        );
        for (s, c, f) in [
            (Some(summary), Some(content.as_str()), None),
            (None, Some(content.as_str()), Some("<p>全文</p>")),
            (Some(""), None, None),
            (None, None, None),
        ] {
            let stored = encode(s, c, f).expect("encodes");
            let back = decode(&stored).expect("decodes");
            assert_eq!(back.summary_html.as_deref(), s);
            assert_eq!(back.content_html.as_deref(), c);
            assert_eq!(back.full_html.as_deref(), f);
        }
    }

    #[test]
    fn a_summary_that_starts_the_content_costs_little_more_than_the_content() {
        let content = (0..40)
            .map(|i| format!("<p>第{i}段：京津冀三地教育部门签署协议，推动优质教育资源共享与教师交流轮岗。</p>"))
            .collect::<String>();
        let summary = &content[..content.char_indices().nth(150).map_or(0, |(i, _)| i)];
        let both = encode(Some(summary), Some(&content), None)
            .expect("encodes")
            .len();
        let alone = encode(None, Some(&content), None).expect("encodes").len();
        assert!(both < alone + 40, "{both} vs {alone}");
        assert!(alone * 2 < content.len(), "{alone} of {}", content.len());
    }

    #[test]
    fn damaged_bodies_are_errors_not_panics() {
        let good = encode(Some("<p>摘要</p>"), Some("<p>正文</p>"), None).expect("encodes");
        assert!(
            decode(&[])
                .expect("empty is no parts")
                .content_html
                .is_none()
        );
        assert!(decode(&[9, 1, 2, 3]).is_err());
        assert!(decode(&good[..good.len() / 2]).is_err());
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        let _ = decode(&flipped); // an error or different bytes, never a panic
    }
}
