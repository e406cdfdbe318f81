//! A copy's HTML as stored (`copies.body`, migration 0008): the feed's
//! summary, the feed's content and the article from its page, in one
//! compressed block. One block for the three, because a summary is mostly
//! the first sentences of the content, and the compressor stores those
//! sentences once when they are in the same block.
//!
//! Layout of the uncompressed block: for each of the three parts, a tag
//! byte (0 absent, 1 present), then when present its length as a u32
//! (little endian) and its UTF-8 bytes. The first byte of the column is a
//! format: 1, a zstd frame; 2, the block's length as a u32 (little
//! endian) then one LZ4 block. `[storage] compression` says which new
//! copies get (`BodyCodec`: LZ4 unless it says "zstd"); both are read.
//!
//! Why LZ4 by default: a copy's body is compressed once per new copy,
//! and zstd at level 1 was 14% of a cold poll's instructions (callgrind,
//! 200-feed real-length farm): on bodies of ~2.7 KB its per-frame work
//! (Huffman and FSE tables built for every frame) outweighs the matching.
//! LZ4 compresses the same bodies 3.3× faster (`lz4 -b1` against
//! `zstd -b1` on the farm's 6,000 bodies: 535 against 163 MB/s) and
//! decompresses them 7× faster, for blocks 26% larger (1.32× against
//! 1.66×). BENCHMARKS.md, issue 24's fourth round, gives the poll's CPU
//! and the database's size with each.
//!
//! Compressing is pure CPU and happens in the parallel stage
//! (`NewCopy::seal`); only the reader of a topic feed decompresses.

use std::io;

pub use crate::model::BodyCodec;

thread_local! {
    /// A zstd context per thread for reading format 1: a feed's render
    /// decompresses every copy of every story in it.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

thread_local! {
    /// The uncompressed layout and the block it is compressed into, kept
    /// per thread between copies (two allocations of each body's size
    /// less per copy).
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Scratch buffers larger than this (a very long article) are let go
/// after use rather than kept by the thread.
const KEPT_SCRATCH: usize = 256 * 1024;

/// The format byte of a zstd frame.
const ZSTD: u8 = 1;
/// The format byte of a length and an LZ4 block.
const LZ4: u8 = 2;

/// zstd level 1 when `[storage] compression = "zstd"`: level 3 (the
/// library's default) cost 2.6% more of a cold poll's instructions for a
/// database 2% smaller; level −1 saved 3% and made the database 14% larger
/// (BENCHMARKS.md, issue 24).
const ZSTD_LEVEL: i32 = 1;

thread_local! {
    /// One zstd compression context per thread, kept: creating one
    /// allocates and clears its tables, which was 5% of a cold poll when
    /// done per copy.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

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

/// The stored form of the three parts, compressed with `codec`.
pub fn encode(
    codec: BodyCodec,
    summary: Option<&str>,
    content: Option<&str>,
    full: Option<&str>,
) -> io::Result<Vec<u8>> {
    let len: usize = [summary, content, full]
        .iter()
        .map(|p| 5 + p.map_or(0, str::len))
        .sum();
    if len > MAX_BODY {
        // The reader would refuse it; a body this large never gets here
        // (`[fetch].max_body_bytes`), so this is a guard, not a limit.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "copy body: larger than any body we store",
        ));
    }
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let (raw, block) = &mut *scratch;
        raw.clear();
        raw.reserve(len);
        lay_out(raw, [summary, content, full]);
        // Exactly as long as it is: a poll waiting in the write queue holds
        // every new copy's body.
        let out = match codec {
            BodyCodec::Lz4 => {
                block.resize(lz4_flex::block::get_maximum_output_size(raw.len()), 0);
                let n = lz4_flex::block::compress_into(raw, block)
                    .map_err(|e| io::Error::other(format!("copy body: {e}")))?;
                let mut out = Vec::with_capacity(5 + n);
                out.push(LZ4);
                out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
                out.extend_from_slice(&block[..n]);
                out
            }
            BodyCodec::Zstd => {
                // Fails only when zstd cannot allocate its context: the
                // poll is then not stored (rolled back alone) and polled
                // again next time.
                let frame = COMPRESSOR.with(|c| {
                    let mut c = c.borrow_mut();
                    if c.is_none() {
                        *c = Some(zstd::bulk::Compressor::new(ZSTD_LEVEL)?);
                    }
                    match c.as_mut() {
                        Some(c) => c.compress(raw),
                        None => zstd::bulk::compress(raw, ZSTD_LEVEL),
                    }
                })?;
                let mut out = Vec::with_capacity(1 + frame.len());
                out.push(ZSTD);
                out.extend_from_slice(&frame);
                out
            }
        };
        if raw.capacity() > KEPT_SCRATCH {
            *raw = Vec::new();
            *block = Vec::new();
        }
        Ok(out)
    })
}

/// The uncompressed layout of the three parts (see the module's doc),
/// after what `raw` holds.
fn lay_out(raw: &mut Vec<u8>, parts: [Option<&str>; 3]) {
    for part in parts {
        match part {
            None => raw.push(0),
            Some(s) => {
                raw.push(1);
                raw.extend_from_slice(&(s.len() as u32).to_le_bytes());
                raw.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// The three parts of a stored body.
pub fn decode(stored: &[u8]) -> io::Result<Parts> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("copy body: {why}"));
    let Some((&format, frame)) = stored.split_first() else {
        return Ok(Parts::default());
    };
    let raw = match format {
        LZ4 => {
            let (size, block) = frame
                .split_first_chunk::<4>()
                .ok_or_else(|| bad("truncated"))?;
            let size = u32::from_le_bytes(*size) as usize;
            if size > MAX_BODY {
                return Err(bad("larger than any body we store"));
            }
            let mut raw = vec![0u8; size];
            let n = lz4_flex::block::decompress_into(block, &mut raw)
                .map_err(|e| bad(&e.to_string()))?;
            if n != size {
                return Err(bad("truncated"));
            }
            raw
        }
        ZSTD => {
            let size = zstd::zstd_safe::get_frame_content_size(frame)
                .ok()
                .flatten()
                .ok_or_else(|| bad("no content size"))?;
            if size > MAX_BODY as u64 {
                return Err(bad("larger than any body we store"));
            }
            DECOMPRESSOR.with(|d| {
                let mut d = d.borrow_mut();
                if d.is_none() {
                    *d = Some(zstd::bulk::Decompressor::new()?);
                }
                match d.as_mut() {
                    Some(d) => d.decompress(frame, size as usize),
                    None => zstd::bulk::decompress(frame, size as usize),
                }
            })?
        }
        _ => return Err(bad(&format!("unknown format {format}"))),
    };
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
            let stored = encode(BodyCodec::Lz4, s, c, f).expect("encodes");
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
        let both = encode(BodyCodec::Lz4, Some(summary), Some(&content), None)
            .expect("encodes")
            .len();
        let alone = encode(BodyCodec::Lz4, None, Some(&content), None)
            .expect("encodes")
            .len();
        assert!(both < alone + 40, "{both} vs {alone}");
        assert!(alone * 2 < content.len(), "{alone} of {}", content.len());
    }

    /// Format 1 as it was written before issue 24's fourth round: the
    /// raw layout in one zstd frame.
    fn zstd_body(parts: [Option<&str>; 3]) -> Vec<u8> {
        let mut raw = Vec::new();
        lay_out(&mut raw, parts);
        let mut out = vec![ZSTD];
        out.extend(zstd::bulk::compress(&raw, 1).expect("compresses"));
        out
    }

    #[test]
    fn bodies_compressed_with_zstd_when_asked_are_read_back_and_smaller_here() {
        let content = (0..40)
            .map(|i| format!("<p>第{i}段：京津冀三地教育部门签署协议，推动优质教育资源共享与教师交流轮岗。</p>"))
            .collect::<String>();
        let lz4 =
            encode(BodyCodec::Lz4, Some("<p>摘要</p>"), Some(&content), None).expect("encodes");
        let zstd =
            encode(BodyCodec::Zstd, Some("<p>摘要</p>"), Some(&content), None).expect("encodes");
        assert_eq!((lz4[0], zstd[0]), (LZ4, ZSTD));
        assert_eq!(
            decode(&zstd).expect("decodes"),
            decode(&lz4).expect("decodes")
        );
        // The same frame as format 1 always was.
        assert_eq!(zstd, zstd_body([Some("<p>摘要</p>"), Some(&content), None]));
        assert!(zstd.len() < lz4.len(), "{} vs {}", zstd.len(), lz4.len());
    }

    #[test]
    fn bodies_stored_as_zstd_frames_are_still_read() {
        let content =
            "<p>会议指出，三地将在基础教育、职业教育和高等教育方面加强合作。</p>".repeat(30);
        let old = zstd_body([Some("<p>摘要</p>"), Some(&content), None]);
        let back = decode(&old).expect("decodes");
        assert_eq!(back.summary_html.as_deref(), Some("<p>摘要</p>"));
        assert_eq!(back.content_html.as_deref(), Some(content.as_str()));
        assert_eq!(back.full_html, None);
        // What is written now is the other format, read the same.
        let new =
            encode(BodyCodec::Lz4, Some("<p>摘要</p>"), Some(&content), None).expect("encodes");
        assert_eq!(new[0], LZ4);
        assert_eq!(decode(&new).expect("decodes"), back);
    }

    #[test]
    fn a_block_claiming_more_than_any_body_is_refused_before_allocating() {
        let mut huge = vec![LZ4];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&[0x10, b'a']);
        let err = decode(&huge).expect_err("refused");
        assert!(err.to_string().contains("larger than any body"), "{err}");
        // A length that does not match the block is an error, not garbage.
        let good = encode(BodyCodec::Lz4, None, Some("<p>正文</p>"), None).expect("encodes");
        let mut longer = good.clone();
        longer[1] += 1;
        assert!(decode(&longer).is_err());
    }

    #[test]
    fn damaged_bodies_are_errors_not_panics() {
        let good = encode(
            BodyCodec::Lz4,
            Some("<p>摘要</p>"),
            Some("<p>正文</p>"),
            None,
        )
        .expect("encodes");
        assert!(
            decode(&[])
                .expect("empty is no parts")
                .content_html
                .is_none()
        );
        assert!(decode(&[9, 1, 2, 3]).is_err());
        assert!(decode(&good[..good.len() / 2]).is_err());
        assert!(decode(&[LZ4, 1, 0]).is_err());
        let old = zstd_body([Some("<p>摘要</p>"), Some("<p>正文</p>"), None]);
        assert!(decode(&old[..old.len() / 2]).is_err());
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        let _ = decode(&flipped); // an error or different bytes, never a panic
    }
}
