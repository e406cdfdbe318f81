//! `newsriver check` and config errors, through the real binary.

use crate::common::*;

/// Writes `text` as `config.toml` in a temp folder and runs `check`.
fn check(text: &str) -> (tempfile::TempDir, std::path::PathBuf, Run) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let run = run_binary(&path, &["check"]);
    (dir, path, run)
}

/// The `file:line:col: …` lines of stderr that point into `path`:
/// (line, rest after the column).
fn problems(path: &std::path::Path, stderr: &str) -> Vec<(usize, String)> {
    let prefix = format!("{}:", path.display());
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let mut parts = rest.splitn(3, ':');
            let line = parts.next()?.parse().ok()?;
            let _col: usize = parts.next()?.parse().ok()?;
            Some((line, parts.next()?.trim().to_string()))
        })
        .collect()
}

/// Asserts exit 2 and a problem on `line` whose text contains every one of `words`.
fn assert_problem(text: &str, line: usize, words: &[&str]) {
    let (_dir, path, run) = check(text);
    assert_eq!(run.code, Some(2), "{run:?}");
    let found = problems(&path, &run.stderr);
    assert!(
        found
            .iter()
            .any(|(l, msg)| *l == line && words.iter().all(|w| msg.contains(w))),
        "no problem on line {line} containing {words:?}; got {found:?}\n{run:?}"
    );
}

const GOOD: &str = r#"# a good config
[storage]
path = "news.db"

[fetch]
timeout_secs = 2
allow_file_urls = true

[schedule]
default = "0 */10 * * * *"

[[source]]
id = "chinanews"
name = "中国新闻网"
url = "https://www.example.com/rss/scroll-news.xml"
tags = ["national"]
schedule = "0 */5 * * * *"
encoding = "gb2312"

[[source]]
id = "local-file"
url = "file:///var/lib/newsriver/feed.xml"
enabled = false

[[topic]]
slug = "edu"
title = "教育"
query = '教育 AND (协同 OR 合作)'
tags = ["national"]
"#;

#[test]
fn good_config_passes() {
    let (dir, path, run) = check(GOOD);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains(&path.display().to_string()), "{run:?}");
    assert!(run.stdout.contains("ok"), "{run:?}");
    assert!(run.stdout.contains("2 sources"), "{run:?}");
    assert!(run.stdout.contains("1 enabled"), "{run:?}");
    assert!(run.stderr.trim().is_empty(), "{run:?}");
    assert!(
        !dir.path().join("news.db").exists(),
        "check does not create the database"
    );
}

#[test]
fn unknown_key_is_reported_with_its_line() {
    let text = GOOD.replace("timeout_secs = 2\n", "timeout_secs = 2\ntimeout_sec = 3\n");
    assert_problem(&text, 7, &["timeout_sec"]);
    let text = GOOD.replace("enabled = false\n", "enabled = false\nenable = true\n");
    assert_problem(&text, 24, &["enable"]);
}

#[test]
fn duplicate_source_id_is_reported_with_its_line() {
    let text = GOOD.replace("id = \"local-file\"", "id = \"chinanews\"");
    // The second use, and the message points at the first.
    assert_problem(&text, 21, &["source[1].id", "chinanews", "line 13"]);
}

#[test]
fn bad_urls_are_reported_with_their_lines() {
    let text = GOOD.replace(
        "https://www.example.com/rss/scroll-news.xml",
        "htp//example.com/rss.xml",
    );
    assert_problem(&text, 15, &["source[0].url", "htp//example.com/rss.xml"]);
    let text = GOOD.replace(
        "file:///var/lib/newsriver/feed.xml",
        "ftp://example.com/feed.xml",
    );
    assert_problem(&text, 22, &["source[1].url", "ftp"]);
}

#[test]
fn bad_cron_expressions_are_reported_with_their_lines() {
    let text = GOOD.replace("0 */5 * * * *", "every five minutes");
    assert_problem(&text, 17, &["source[0].schedule", "every five minutes"]);
    let text = GOOD.replace("0 */10 * * * *", "*/10 * * *");
    assert_problem(&text, 10, &["schedule.default"]);
}

#[test]
fn toml_syntax_error_names_the_line() {
    let text = GOOD.replace(
        "tags = [\"national\"]\nschedule",
        "tags = [\"national\"\nschedule",
    );
    let (_dir, path, run) = check(&text);
    assert_eq!(run.code, Some(2), "{run:?}");
    let found = problems(&path, &run.stderr);
    assert!(
        found.iter().any(|(l, _)| (16..=17).contains(l)),
        "{found:?}\n{run:?}"
    );
}

/// Several kinds of problem in one file: each is reported with its line.
const MANY_PROBLEMS: &str = r#"[storage]
path = "news.db"

[[source]]
id = "a"
url = "https://example.org/a.xml"

[[source]]
id = "a"
url = "htp//nope"
schedule = "every minute"
"#;

#[test]
fn duplicate_id_bad_url_and_bad_cron_in_one_file_are_all_reported() {
    let (_dir, path, run) = check(MANY_PROBLEMS);
    assert_eq!(run.code, Some(2), "{run:?}");
    let lines: Vec<usize> = problems(&path, &run.stderr)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(lines, vec![9, 10, 11], "{run:?}");
    assert!(run.stderr.contains("3 problems"), "{run:?}");
}

#[test]
fn unknown_key_duplicate_id_bad_url_and_bad_cron_in_one_file_are_all_reported() {
    // The issue's case: one config with all four kinds of mistake.
    let text = MANY_PROBLEMS.replace(
        "url = \"https://example.org/a.xml\"\n",
        "url = \"https://example.org/a.xml\"\ncolour = \"red\"\n",
    );
    let (_dir, path, run) = check(&text);
    assert_eq!(run.code, Some(2), "{run:?}");
    let lines: Vec<usize> = problems(&path, &run.stderr)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(
        lines,
        vec![7, 10, 11, 12],
        "unknown key (7), duplicate id (10), bad URL (11), bad cron (12)\n{run:?}"
    );
}

#[test]
fn each_problem_is_one_line_of_output() {
    // `file:line:col: key: message` one a line, so editors and grep can jump
    // to it: a message must not span lines.
    let (_dir, path, run) = check(MANY_PROBLEMS);
    assert_eq!(run.code, Some(2), "{run:?}");
    let prefix = format!("{}:", path.display());
    for line in run.stderr.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.starts_with(&prefix) || line.ends_with(&format!("problems in {}", path.display())),
            "stray line {line:?} in\n{}",
            run.stderr
        );
    }
}

#[test]
fn missing_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("does-not-exist.toml");
    for cmd in ["check", "poll", "export"] {
        let run = run_binary(&path, &[cmd]);
        assert_eq!(run.code, Some(2), "{cmd}: {run:?}");
        assert!(
            run.stderr.contains(&path.display().to_string()),
            "{cmd}: the message names the file: {run:?}"
        );
        assert!(
            run.stderr.contains("cannot read") || run.stderr.contains("No such file"),
            "{cmd}: {run:?}"
        );
    }
    assert!(!dir.path().join("news.db").exists());
}

#[test]
fn invalid_config_stops_poll_and_export_too() {
    let text = GOOD.replace("id = \"local-file\"", "id = \"chinanews\"");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    for cmd in ["poll", "export"] {
        let run = run_binary(&path, &[cmd]);
        assert_eq!(run.code, Some(2), "{cmd}: {run:?}");
        assert!(
            problems(&path, &run.stderr).iter().any(|(l, _)| *l == 21),
            "{cmd}: {run:?}"
        );
    }
    assert!(!dir.path().join("news.db").exists());
}

#[test]
fn check_reports_an_output_dir_that_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    // A file where a folder should be: no one, root included, can write there.
    std::fs::write(dir.path().join("blocker"), "not a folder").unwrap();
    let text = "[storage]\npath = \"news.db\"\n\n[server]\noutput_dir = \"blocker/public\"\n";
    std::fs::write(&path, text).unwrap();
    let run = run_binary(&path, &["check"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let found = problems(&path, &run.stderr);
    assert!(
        found.iter().any(|(line, msg)| *line == 5
            && msg.contains("server.output_dir")
            && msg.contains("not writable")),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains(&format!("{}:5:14: server.output_dir", path.display())),
        "file:line:col: {run:?}"
    );
    // A folder that does not exist yet but can be created is fine, and
    // `check` creates nothing.
    std::fs::write(&path, text.replace("blocker/public", "public/feeds")).unwrap();
    let run = run_binary(&path, &["check"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(!dir.path().join("public").exists());
}
