//! The real-world corpus in `../shared/corpus/` (beside the project; skipped
//! when absent): every feed file of `encoding/` and `rss2/` polled as a
//! `file://` source by the real binary in one pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::*;

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// Feed files under `dir`, sorted; sidecars with expected output are not inputs.
fn feed_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            feed_files(&path, out);
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let ext = path.extension().map(|x| x.to_string_lossy().to_lowercase());
        if matches!(ext.as_deref(), Some("xml" | "json" | "rss")) && !name.contains(".expected.") {
            out.push(path);
        }
    }
}

struct Outcome {
    file: String,
    outcome: String,
    error: Option<String>,
    items: i64,
    charset: Option<String>,
}

#[test]
fn corpus_encoding_and_rss2_poll_cleanly() {
    let Some(corpus) = corpus_dir() else {
        println!("skipped: ../shared/corpus is absent");
        return;
    };
    let mut files = Vec::new();
    for sub in ["encoding", "rss2"] {
        feed_files(&corpus.join(sub), &mut files);
    }
    files.sort();
    if files.is_empty() {
        println!("skipped: no feed files in ../shared/corpus/{{encoding,rss2}}");
        return;
    }
    let sources: Vec<Src> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            src(
                &format!("f{i:04}"),
                url::Url::from_file_path(f).unwrap().as_str(),
            )
        })
        .collect();
    let env = Env::with(
        "[fetch]\nconcurrency = 32\nallow_file_urls = true\n",
        &sources,
        "",
    );
    let run = env.run(&["poll"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let (ok, not_modified, failed) = summary_counts(&run.stderr);
    assert_eq!(ok + not_modified + failed, files.len() as u64);

    let db = env.store();
    let mut stmt = db
        // Items stored, plus those skipped for having no title, text or
        // link (feedparser's unit cases: an item with only <itunes:block>):
        // the document had items and we read them.
        .prepare(
            "SELECT id, last_outcome, last_error,
                    coalesce(last_item_count, 0)
                    + coalesce((SELECT items_skipped FROM polls p WHERE p.source_id = sources.id
                                ORDER BY p.id DESC LIMIT 1), 0),
                    charset
             FROM sources ORDER BY id",
        )
        .unwrap();
    let outcomes: Vec<Outcome> = stmt
        .query_map(NONE, |r| {
            let id: String = r.get(0)?;
            let i: usize = id[1..].parse().unwrap();
            Ok(Outcome {
                file: files[i]
                    .strip_prefix(&corpus)
                    .unwrap()
                    .display()
                    .to_string(),
                outcome: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                error: r.get(2)?,
                items: r.get(3)?,
                charset: r.get(4)?,
            })
        })
        .unwrap()
        .collect::<newsriver::store::sql::Result<_>>()
        .unwrap();
    assert_eq!(outcomes.len(), files.len());

    let n = outcomes.len();
    let parsed = outcomes.iter().filter(|o| o.outcome == "ok").count();
    let with_items = outcomes.iter().filter(|o| o.items > 0).count();
    println!(
        "{n} files: {parsed} parsed, {with_items} with items, {} failed",
        n - parsed
    );
    let mut by_error: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.outcome != "ok") {
        let e = o.error.clone().unwrap_or_default();
        let kind = e.split(':').take(2).collect::<Vec<_>>().join(":");
        by_error.entry(kind).or_default().push(&o.file);
    }
    for (kind, list) in &by_error {
        println!("  {} × {kind}", list.len());
        for f in list.iter() {
            println!("      {f}");
        }
    }

    // Files that are real feeds from real sites, in their true encodings
    // (chardet's folder name is the ground truth): the decision we made.
    for o in outcomes
        .iter()
        .filter(|o| o.file.starts_with("encoding/chardet/"))
    {
        let truth = o.file.split('/').nth(2).unwrap_or("");
        let chosen = o
            .charset
            .as_deref()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
            .and_then(|v| v["encoding"].as_str().map(str::to_string))
            .unwrap_or_default();
        if o.outcome != "ok" || o.items == 0 {
            println!(
                "  chardet {truth}: {} {} items={} ({chosen}) {:?}",
                o.file, o.outcome, o.items, o.error
            );
        }
    }

    // Nearly every file parses; most yield items (many unit cases have none).
    assert!(parsed * 100 >= n * 90, "only {parsed} of {n} files parsed");
    assert!(
        with_items * 100 >= n * 55,
        "only {with_items} of {n} files yielded items"
    );

    // Real CJK feeds from real sites: each one that parses was decoded in
    // its true charset (the folder name), and no title holds U+FFFD.
    let mut wrong = Vec::new();
    let mut cjk = 0;
    for o in outcomes.iter().filter(|o| o.outcome == "ok") {
        let Some(truth) = o.file.strip_prefix("encoding/chardet/") else {
            continue;
        };
        let expected = match truth.split('/').next().unwrap_or("") {
            "GB2312" => "GBK",
            "Big5" => "Big5",
            "EUC-JP" => "EUC-JP",
            "EUC-KR" => "EUC-KR",
            "SHIFT_JIS" | "CP932" => "Shift_JIS",
            _ => continue,
        };
        cjk += 1;
        let chosen = o
            .charset
            .as_deref()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
            .and_then(|v| v["encoding"].as_str().map(str::to_string))
            .unwrap_or_default();
        if chosen != expected {
            wrong.push(format!("{}: {chosen} instead of {expected}", o.file));
        }
    }
    assert!(cjk >= 50, "only {cjk} CJK real-site feeds parsed");
    assert!(wrong.is_empty(), "wrong charsets: {wrong:#?}");
    let replacement: i64 = env
        .store()
        .query_row(
            "SELECT count(*) FROM copies WHERE coalesce(title, '') LIKE ?1",
            ["%\u{FFFD}%"],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(replacement, 0, "titles with U+FFFD");
}
