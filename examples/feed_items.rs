//! Decode + parse every file under the given folders and print one JSON
//! line per file: format, items in the document, items read, skipped, the
//! lenient reading's note, the error. A debugging aid beside
//! `bench/feed_compare.py` (which compares what `poll` stores with
//! feedparser): `cargo run --release --example feed_items -- ../shared/corpus/atom`.

use std::path::{Path, PathBuf};

use newsriver::{decode, parse};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        walk(Path::new(&arg), &mut files);
    }
    files.sort();
    for f in &files {
        let Ok(data) = std::fs::read(f) else { continue };
        let d = decode::decode(&data, None, None, None);
        let base = url::Url::from_file_path(f.canonicalize().unwrap_or(f.clone()))
            .map(String::from)
            .ok();
        let line = match parse::parse(&d.text, base.as_deref()) {
            Ok(feed) => serde_json::json!({
                "file": f.display().to_string(),
                "format": feed.format.to_string(),
                "document_items": feed.items_in_document,
                "items": feed.items.len(),
                "skipped": feed.skipped,
                "note": feed.repairs.join("; "),
            }),
            Err(e) => serde_json::json!({
                "file": f.display().to_string(),
                "error": e.to_string(),
            }),
        };
        println!("{line}");
    }
}
