//! `newsriver demo` (issue 19, item 10): the real binary serves its bundled
//! sample on loopback, polls it into a temporary folder, serves the merged
//! topic feeds, and removes the folder on Ctrl-C.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `feed`'s `<entry>` elements.
fn entries(feed: &str) -> Vec<&str> {
    feed.split("<entry>").skip(1).collect()
}

#[test]
fn demo_serves_merged_feeds_of_its_sample_and_removes_its_folder_on_ctrl_c() {
    let mut child = binary()
        .args(["demo", "--listen", "127.0.0.1:0"])
        // No config here: the demo writes its own.
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start newsriver demo");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let demo = Demo(child);
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let log = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(stderr), &mut s);
        s
    });

    // The folder, then (after the first poll) the page's and the feeds'
    // addresses, and last how to stop.
    let started = Instant::now();
    let (mut folder, mut page, mut seen) = (None::<PathBuf>, None::<String>, Vec::<String>::new());
    while !seen.last().is_some_and(|l| l.starts_with("Ctrl-C")) {
        let left = Duration::from_secs(60).saturating_sub(started.elapsed());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no page address within 60 s; stdout so far: {seen:#?}"));
        if let Some(f) = line.strip_prefix("folder: ") {
            folder = Some(PathBuf::from(f));
        }
        if let Some(p) = line.strip_prefix("page: ") {
            page = Some(p.to_string());
        }
        seen.push(line);
    }
    let folder = folder.expect("the folder is printed");
    let page = page.unwrap_or_else(|| panic!("the page is printed: {seen:#?}"));
    assert!(
        page.starts_with("http://127.0.0.1:") && page.ends_with('/'),
        "{page}"
    );
    assert!(!page.ends_with(":0/"), "the bound port, not 0: {page}");
    assert!(
        folder.join("newsriver.db").is_file(),
        "{}",
        folder.display()
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with("feed: ") && l.contains("/topics/")),
        "feed addresses printed: {seen:#?}"
    );

    let get = |path: &str| {
        http_get(&format!("{page}{path}"))
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| body)
            .unwrap_or_else(|| panic!("GET {page}{path}"))
    };
    let all = get("topics/all.atom");
    let all_entries = entries(&all);
    assert!(all_entries.len() >= 8, "the sample's stories: {all}");
    // Stories carried by more than one outlet are one entry each, with the
    // other outlets' copies as related links.
    let merged: Vec<&&str> = all_entries
        .iter()
        .filter(|e| e.contains("rel=\"related\""))
        .collect();
    assert!(merged.len() >= 3, "several merged stories: {all}");
    let outlets = ["华讯社", "京华日报", "南方快报", "環島通訊社"];
    assert!(
        merged
            .iter()
            .any(|e| outlets.iter().filter(|o| e.contains(*o)).count() >= 2),
        "an entry names two outlets: {all}"
    );
    // Traditional-script copies are there, and one joined a Simplified
    // story. The topic is in Simplified (`language = "zh-Hans"`): the
    // Traditional-only story is shown converted, and says so.
    assert!(
        all.contains("台湾高铁新时刻表上路") && all.contains("本条由繁体转换为简体显示"),
        "a Traditional-only story, converted: {all}"
    );
    assert!(
        merged
            .iter()
            .any(|e| e.contains("title=\"環島通訊社\"") && e.contains("台风")),
        "a Traditional copy of a Simplified story: {all}"
    );
    // The Simplified topic holds its stories only.
    let jjj = get("topics/jingjinji.atom");
    let jjj_entries = entries(&jjj);
    assert!(
        !jjj_entries.is_empty() && jjj_entries.len() < all_entries.len(),
        "{jjj}"
    );
    assert!(
        jjj_entries
            .iter()
            .all(|e| e.contains("京津冀") || e.contains("雄安")),
        "{jjj}"
    );
    assert!(
        jjj_entries.iter().any(|e| e.contains("rel=\"related\"")),
        "{jjj}"
    );

    // Ctrl-C: exit 0, the folder gone.
    let mut demo = demo;
    let pid = demo.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = demo.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "the demo did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = log.join().unwrap_or_default();
    assert!(status.success(), "exit status {status}; log:\n{log}");
    assert!(!folder.exists(), "{} is removed", folder.display());
}
