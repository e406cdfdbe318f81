//! Decode + parse + normalize every file under the given folders (or the
//! given files) and report what failed:
//! `cargo run --release --example corpus_check -- ../shared/corpus/rss2`.
//! With `--json`, one JSON line per file instead: format, items in the
//! document, items read, skipped, the lenient reading's note, the error (a
//! debugging aid beside `bench/feed_compare.py`).
//! A tool for checking the pipeline against real-world feeds; not a test.

use std::path::{Path, PathBuf};
use std::time::Instant;

use newsriver::{decode, normalize::Normalizer, parse};

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
        } else if !p.to_string_lossy().contains(".expected.") {
            out.push(p);
        }
    }
}

fn main() {
    let verbose = std::env::var_os("VERBOSE").is_some();
    let mut files = Vec::new();
    let mut json = false;
    for arg in std::env::args().skip(1) {
        if arg == "--json" {
            json = true;
        } else {
            walk(Path::new(&arg), &mut files);
        }
    }
    files.sort();
    if json {
        return json_lines(&files);
    }
    let normalizer = Normalizer::default();
    let (mut ok, mut failed, mut items, mut bytes, mut lossy) = (0, 0, 0, 0, 0);
    let started = Instant::now();
    for f in &files {
        let Ok(data) = std::fs::read(f) else { continue };
        bytes += data.len();
        let d = decode::decode(&data, None, None, None);
        if d.charset.errors > 0 {
            lossy += 1;
        }
        match parse::parse(&d.text, None) {
            Ok(feed) => {
                ok += 1;
                items += feed.items.len();
                for it in &feed.items {
                    let n = normalizer.normalize_explained(it);
                    if verbose {
                        println!("  {} | {}", n.title, n.removed.join("; "));
                    }
                }
                if verbose || d.charset.note.is_some() {
                    println!(
                        "ok   {} [{} via {:?}{}] {} items",
                        f.display(),
                        d.charset.encoding,
                        d.charset.origin,
                        d.charset
                            .note
                            .as_deref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default(),
                        feed.items.len()
                    );
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {} [{}]: {e}", f.display(), d.charset.encoding);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} files: {ok} parsed, {failed} failed, {lossy} decoded lossily; {items} items; {:.1} MB in {:.2} s ({:.1} MB/s, {:.0} items/s)",
        files.len(),
        bytes as f64 / 1e6,
        secs,
        bytes as f64 / 1e6 / secs,
        items as f64 / secs
    );
}

/// `--json`: what parsing made of each file, one JSON line each.
fn json_lines(files: &[PathBuf]) {
    for f in files {
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
