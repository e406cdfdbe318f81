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

/// The issue's case: a type error (`tags = "national"`) no longer hides
/// the other problems; each is one `file:line:col: key: message` line.
const EIGHT_PROBLEMS: &str = r#"[fetch]
timeout_secs = "20"
concurency = 4

[display]
timezone = "Asia/Shangai"

[schedule]
default = "*/15 * * * *"

[[source]]
id = "people"
url = "https://people.example/rss.xml"
tags = "national"
enabled = "yes"

[[source]]
id = "Bad Id"
url = "htp:/nope"
schedule = "61 * * * *"

[[source]]
url = "https://x.example/feed"

[[topic]]
slug = "edu"
title = 5
query = '京津冀 AND (教育'
"#;

#[test]
fn every_problem_is_reported_at_once_type_errors_included() {
    let (_dir, path, run) = check(EIGHT_PROBLEMS);
    assert_eq!(run.code, Some(2), "{run:?}");
    let found = problems(&path, &run.stderr);
    let want: &[(usize, &str, &str)] = &[
        (2, "fetch.timeout_secs", "expected a whole number"),
        (3, "fetch.concurency", "did you mean `concurrency`"),
        (6, "display.timezone", "not a time zone"),
        (14, "source[0].tags", "expected a list"),
        (15, "source[0].enabled", "expected true or false"),
        (18, "source[1].id", "not a valid id"),
        (19, "source[1].url", "unsupported scheme"),
        (
            20,
            "source[1].schedule",
            "invalid cron expression \"61 * * * *\"",
        ),
        (22, "source[2].id", "missing"),
        (27, "topic[0].title", "expected a string"),
        (28, "topic[0].query", "character"),
    ];
    for (line, key, words) in want {
        assert!(
            found
                .iter()
                .any(|(l, m)| l == line && m.starts_with(key) && m.contains(words)),
            "line {line}: {key}: {words}; got {found:?}\n{run:?}"
        );
    }
    assert_eq!(found.len(), want.len(), "{found:?}");
    assert!(run.stderr.contains("11 problems"), "{run:?}");
    // The column too: `tags = "national"` is at column 8.
    assert!(
        run.stderr
            .contains(&format!("{}:14:8: source[0].tags", path.display())),
        "{run:?}"
    );
}

#[test]
fn five_field_cron_lines_are_accepted_with_seconds_zero() {
    let text = GOOD
        .replace("0 */10 * * * *", "*/10 * * * *")
        .replace("0 */5 * * * *", "30 6 * * 1-5");
    let (_dir, _path, run) = check(&text);
    assert_eq!(run.code, Some(0), "{run:?}");
    // Six and seven fields still are.
    let text = GOOD.replace("0 */5 * * * *", "0 30 6 * * Mon-Fri 2026-2099");
    let (_dir, _path, run) = check(&text);
    assert_eq!(run.code, Some(0), "{run:?}");
    // `sources add --schedule` takes one too (the edit is validated as
    // `check` validates).
    let env = Env::new(&[]);
    let r = env.run(&[
        "sources",
        "add",
        "--no-fetch",
        "--id",
        "five",
        "--schedule",
        "*/5 * * * *",
        "https://five.example/rss.xml",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        std::fs::read_to_string(&env.config)
            .unwrap()
            .contains("schedule = \"*/5 * * * *\"")
    );
    assert_eq!(env.run(&["check"]).code, Some(0));
    assert_problem(
        &GOOD.replace("0 */5 * * * *", "*/5 * * *"),
        17,
        &["source[0].schedule", "five fields", "*/5 * * *"],
    );
}

/// A config whose topics would be silently empty.
const EMPTY_TOPICS: &str = r#"[storage]
path = "news.db"

[fetch]
allow_file_urls = true

[[source]]
id = "people"
url = "file:///nonexistent/people.xml"
tags = ["national", "国内"]

[[topic]]
slug = "jjj"
title = "京津冀"
query = '京津冀 and 教育 Or "and" NOT 北京'
tags = ["nationl"]
"#;

/// The `file:line:col: warning: …` lines of stderr: (line, column, rest).
fn warnings(path: &std::path::Path, stderr: &str) -> Vec<(usize, usize, String)> {
    let prefix = format!("{}:", path.display());
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let mut parts = rest.splitn(3, ':');
            let line = parts.next()?.parse().ok()?;
            let column = parts.next()?.parse().ok()?;
            let rest = parts.next()?.trim().strip_prefix("warning: ")?;
            Some((line, column, rest.to_string()))
        })
        .collect()
}

#[test]
fn check_warns_of_lowercase_operators_and_tags_no_source_carries() {
    let (_dir, path, run) = check(EMPTY_TOPICS);
    assert_eq!(run.code, Some(0), "warnings alone exit 0: {run:?}");
    assert!(
        run.stdout
            .contains("ok (1 source, 1 enabled, 1 topic), 3 warnings"),
        "{run:?}"
    );
    let found = warnings(&path, &run.stderr);
    assert_eq!(found.len(), 3, "{found:?}\n{run:?}");
    // At the word itself (columns count bytes: 京津冀 is 9).
    assert_eq!((found[0].0, found[0].1), (15, 20), "{found:?}");
    assert_eq!((found[1].0, found[1].1), (15, 31), "{found:?}");
    assert!(
        found[0].2.starts_with(
            "topic[0].query: topic \"jjj\": \"and\" is searched for as a word; did you mean AND?"
        ),
        "{found:?}"
    );
    assert!(
        found[1].2.contains("\"Or\"") && found[1].2.contains("did you mean OR?"),
        "{found:?}"
    );
    // `"and"` quoted is a phrase on purpose, `NOT` a capital operator.
    assert_eq!((found[2].0, found[2].1), (16, 9), "{found:?}");
    assert!(
        found[2]
            .2
            .contains("topic[0].tags: topic \"jjj\": no source carries the tag \"nationl\"")
            && found[2].2.contains("did you mean \"national\"?"),
        "{found:?}"
    );
    // --strict: the same lines, exit 2.
    let strict = run_binary(&path, &["check", "--strict"]);
    assert_eq!(strict.code, Some(2), "{strict:?}");
    assert_eq!(warnings(&path, &strict.stderr), found);
    assert!(
        strict.stderr.contains("3 warnings and --strict"),
        "{strict:?}"
    );

    // An OPML folder as the only tag: no near name, the tags there are.
    let text = EMPTY_TOPICS
        .replace("[\"national\", \"国内\"]", "[\"国内\"]")
        .replace("\"nationl\"", "\"national\"")
        .replace(" and ", " AND ")
        .replace(" Or ", " OR ");
    let (_dir, path, run) = check(&text);
    let found = warnings(&path, &run.stderr);
    assert_eq!(found.len(), 1, "{run:?}");
    assert!(
        found[0]
            .2
            .contains("no source carries the tag \"national\"")
            && found[0].2.contains("the sources' tags: 国内"),
        "{found:?}"
    );
}

#[test]
fn check_warns_of_a_topic_that_holds_none_of_the_stored_stories() {
    let env = Env::new(&[]);
    let feed = rss2(
        "教育",
        &[Item {
            guid: Some("1"),
            title: Some("京津冀教育协同发展工作会议召开"),
            description: Some("<p>三地教育部门签署协议，推动优质教育资源共享。</p>"),
            ..Default::default()
        }],
    );
    std::fs::write(env.path("a.xml"), feed).unwrap();
    let mut a = src("a", &env.file_url("a.xml"));
    a.extra = "tags = [\"national\"]\n".into();
    let topics = "[[topic]]\nslug = \"edu\"\ntitle = \"教育\"\nquery = '教育'\n\n\
                  [[topic]]\nslug = \"sport\"\ntitle = \"体育\"\nquery = '足球 OR 篮球'\n";
    env.write_config(FETCH, &[a], topics);
    // No database yet (on PostgreSQL, one with no schema yet): nothing to
    // try the topics on, no warning.
    let r = env.run(&["check"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
    env.poll(&[]);
    let db = env.store_snapshot();
    let r = env.run(&["check", "--strict"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    let found = warnings(&env.config, &r.stderr);
    assert_eq!(found.len(), 1, "{r:?}");
    let text = std::fs::read_to_string(&env.config).unwrap();
    let line = text.lines().position(|l| l == "slug = \"sport\"").unwrap() + 1;
    assert_eq!((found[0].0, found[0].1), (line, 8), "{r:?}");
    assert!(
        found[0]
            .2
            .contains("topic \"sport\" holds none of the newest stored stories (1 tried"),
        "{found:?}"
    );
    assert!(found[0].2.contains("topics preview sport"), "{found:?}");
    assert!(
        r.stdout.contains(
            "ok (1 source, 1 enabled, 2 topics tried on 1 story, the newest stored), 1 warning"
        ),
        "{r:?}"
    );
    assert!(env.store_snapshot() == db, "check wrote nothing");
}
