//! Times and tables for people, through the real binary: every time the CLI
//! prints is in `[display] timezone` (else the system's zone) in one form,
//! `2026-11-30 10:00:00 +08:00`; JSON keeps RFC 3339 in UTC; `export
//! --since` takes a date, a duration or RFC 3339; `sources list` is narrow
//! unless `--wide`; `topics preview` applies the topic's tags.

use chrono::{TimeDelta, Utc};

use crate::common::*;

/// One story dated `pub_date` (RFC 2822) per (guid, title, date); each
/// text its own (no two are one story).
fn feed(items: &[(&str, &str, &str)]) -> String {
    let texts: Vec<String> = items
        .iter()
        .map(|(_, title, _)| format!("<p>{title}：{}</p>", title.repeat(6)))
        .collect();
    let items: Vec<Item<'_>> = items
        .iter()
        .zip(&texts)
        .map(|((guid, title, date), text)| Item {
            guid: Some(guid),
            link: None,
            title: Some(title),
            description: Some(text),
            pub_date: Some(date),
        })
        .collect();
    rss2("教育新闻", &items)
}

const SHANGHAI: &str = "[display]\ntimezone = \"Asia/Shanghai\"\n";

/// Runs the binary on `env`'s config with `TZ` set to `tz`.
fn run_tz(env: &Env, tz: &str, args: &[&str]) -> Run {
    let mut cmd = binary();
    cmd.env("TZ", tz)
        .arg("--config")
        .arg(&env.config)
        .args(args);
    run_command(cmd)
}

#[test]
fn every_time_is_printed_in_the_display_zone_in_one_form() {
    let env = Env::new(&[]);
    std::fs::write(
        env.path("a.xml"),
        feed(&[(
            "e-1",
            "京津冀教育协同发展工作会议召开",
            "Mon, 30 Nov 2026 02:00:00 +0000",
        )]),
    )
    .unwrap();
    let topic = "[[topic]]\nslug = \"edu\"\ntitle = \"教育\"\nquery = \"教育\"\n";
    let a = src("a", &env.file_url("a.xml"));
    env.write_config(FETCH, &[a], &format!("{SHANGHAI}{topic}"));
    env.poll(&[]);
    let id = env.export(&[])[0]["id"].as_str().unwrap().to_string();

    // The story's date: 02:00 UTC is 10:00 in Shanghai, in every command.
    let at = "2026-11-30 10:00:00 +08:00";
    let explain = env.run(&["stories", "explain", &id[..12]]);
    assert_eq!(explain.code, Some(0), "{explain:?}");
    assert!(
        explain.stdout.contains(&format!("published {at}")),
        "{explain:?}"
    );
    assert!(!explain.stdout.contains("T02:00:00Z"), "{explain:?}");
    let preview = env.run(&["topics", "preview", "edu"]);
    assert!(
        preview.stdout.contains(&format!("{at}  京津冀")),
        "{preview:?}"
    );
    let test = env.run(&["sources", "test", "a"]);
    assert_eq!(test.code, Some(0), "{test:?}");
    assert!(test.stdout.contains(at), "{test:?}");
    // Poll times too: the offset, never "UTC".
    for args in [&["sources", "list"][..], &["sources", "show", "a"]] {
        let r = env.run(args);
        assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
        assert!(r.stdout.contains(" +08:00"), "{args:?}: {r:?}");
        assert!(!r.stdout.contains(" UTC"), "{args:?}: {r:?}");
    }
    // JSON keeps RFC 3339 in UTC.
    assert_eq!(env.export(&[])[0]["published"], "2026-11-30T02:00:00Z");
    let json = env.run(&["sources", "list", "--format", "json"]);
    let row: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert!(
        row["last_poll_at"].as_str().unwrap().ends_with('Z'),
        "{json:?}"
    );

    // Without [display] timezone: the system's zone (TZ here).
    env.write_config(FETCH, &[src("a", &env.file_url("a.xml"))], topic);
    let explain = run_tz(&env, "America/New_York", &["stories", "explain", &id[..12]]);
    assert!(
        explain
            .stdout
            .contains("published 2026-11-29 21:00:00 -05:00"),
        "{explain:?}"
    );
    let explain = run_tz(&env, "UTC", &["stories", "explain", &id[..12]]);
    assert!(
        explain
            .stdout
            .contains("published 2026-11-30 02:00:00 +00:00"),
        "{explain:?}"
    );
}

#[test]
fn a_display_zone_that_does_not_exist_is_a_problem_on_its_line() {
    let env = Env::with(FETCH, &[], "[display]\ntimezone = \"Asia/Beijing\"\n");
    let r = env.run(&["check"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    let text = std::fs::read_to_string(&env.config).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("timezone"))
        .unwrap()
        + 1;
    assert!(
        r.stderr.contains(&format!(
            "{}:{line}:12: display.timezone: \"Asia/Beijing\" is not a time zone",
            env.config.display()
        )),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("Asia/Shanghai"),
        "names one that is: {r:?}"
    );
}

/// RFC 2822, as feeds write dates.
fn rfc2822(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc2822()
}

#[test]
fn export_since_takes_a_date_a_duration_or_rfc3339() {
    let env = Env::new(&[]);
    let now = Utc::now();
    let (recent, older) = (
        rfc2822(now - TimeDelta::hours(2)),
        rfc2822(now - TimeDelta::hours(30)),
    );
    std::fs::write(
        env.path("a.xml"),
        feed(&[
            ("r", "两小时前的新闻", &recent),
            ("o", "三十小时前的新闻", &older),
        ]),
    )
    .unwrap();
    env.write_config(FETCH, &[src("a", &env.file_url("a.xml"))], SHANGHAI);
    env.poll(&[]);
    let titles = |since: &str| -> Vec<String> {
        env.export(&["--since", since])
            .iter()
            .map(|s| s["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(titles("90m"), Vec::<String>::new());
    assert_eq!(titles("24h"), vec!["两小时前的新闻"]);
    assert_eq!(titles("2d").len(), 2);
    assert_eq!(titles("1w").len(), 2);
    let at = (now - TimeDelta::hours(3)).to_rfc3339();
    assert_eq!(titles(&at), vec!["两小时前的新闻"]);

    // A date is its midnight in the display zone.
    std::fs::write(
        env.path("a.xml"),
        feed(&[
            // 2026-11-30 00:30 in Shanghai: on the 30th there, the 29th in UTC.
            ("d1", "上海三十日凌晨", "Sun, 29 Nov 2026 16:30:00 +0000"),
            // 2026-11-29 23:30 in Shanghai: the day before there.
            ("d2", "上海二十九日深夜", "Sun, 29 Nov 2026 15:30:00 +0000"),
        ]),
    )
    .unwrap();
    env.poll(&[]);
    let day: Vec<String> = titles("2026-11-30")
        .into_iter()
        .filter(|t| t.starts_with("上海"))
        .collect();
    assert_eq!(day, vec!["上海三十日凌晨"]);

    // A value that is none of them says which forms are accepted.
    for bad in [
        "yesterday",
        "2026-13-01",
        "24x",
        "5 hours",
        "1000000000000d",
    ] {
        let r = env.run(&["export", "--since", bad]);
        assert_eq!(r.code, Some(2), "{bad}: {r:?}");
        for form in ["--since", "2026-12-04", "24h", "7d", "RFC 3339"] {
            assert!(r.stderr.contains(form), "{bad}: {form}: {r:?}");
        }
    }
}

#[test]
fn sources_list_is_narrow_unless_wide_and_json_is_plain_objects() {
    let server = TestServer::start();
    let body = feed(&[("1", "测试新闻标题", "Mon, 30 Nov 2026 02:00:00 +0000")]);
    server.fixed("/news/rss.xml", Response::ok(RSS_TYPE, body.clone()));
    server.fixed("/world/rss.xml", Response::ok(RSS_TYPE, body));
    let mut national = src("national-news", &server.url("/news/rss.xml"));
    national.extra = "tags = [\"national\", \"国内\"]\n".into();
    let world = src("world-news", &server.url("/world/rss.xml"));
    let env = Env::with(FETCH, &[national, world], SHANGHAI);
    env.poll(&[]);
    // As the daemon plans them (`poll` alone plans none): both stored with
    // a next poll, then one disabled.
    let next = (Utc::now() + TimeDelta::minutes(10)).timestamp();
    env.store_rw()
        .execute("UPDATE sources SET next_poll_at = ?1", [next])
        .unwrap();
    let r = env.run(&["sources", "disable", "world-news"]);
    assert_eq!(r.code, Some(0), "{r:?}");

    let list = env.run(&["sources", "list"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{list:?}");
    for name in [
        "ID",
        "TAGS",
        "ON",
        "LAST POLL",
        "OUTCOME",
        "STORIES",
        "NEXT POLL",
    ] {
        assert!(lines[0].contains(name), "{name}: {list:?}");
    }
    // About 100 columns: a 13-character id and 12 columns of tags come to
    // 101 (the id and the tags, capped at 16, are the only columns that grow).
    for line in &lines {
        assert!(
            newsriver::printable::width(line) <= 101,
            "{} columns: {line:?}",
            newsriver::printable::width(line)
        );
        assert!(
            !line.contains("http://"),
            "no URL in the narrow table: {line}"
        );
    }
    let enabled = lines
        .iter()
        .find(|l| l.starts_with("national-news"))
        .unwrap();
    assert!(enabled.contains("national,国内"), "{enabled}");
    assert_eq!(
        enabled.matches(" +08:00").count(),
        2,
        "last and next poll: {enabled}"
    );
    let disabled = lines.iter().find(|l| l.starts_with("world-news")).unwrap();
    assert!(disabled.contains(" no "), "{disabled}");
    assert_eq!(
        disabled.matches(" +08:00").count(),
        1,
        "a disabled source shows its last poll, no next one: {disabled}"
    );
    assert!(disabled.ends_with(" -"), "{disabled}");

    let wide = env.run(&["sources", "list", "--wide"]);
    assert_eq!(wide.code, Some(0), "{wide:?}");
    assert!(
        wide.stdout.lines().next().unwrap().contains("URL"),
        "{wide:?}"
    );
    assert!(
        wide.stdout.contains(&server.url("/news/rss.xml")),
        "{wide:?}"
    );

    // JSON: the charset decision is an object, not JSON in a string; a
    // disabled source has no next poll.
    let json = env.run(&["sources", "list", "--format", "json"]);
    let rows: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{json:?}");
    assert_eq!(rows[0]["charset"]["encoding"], "UTF-8", "{json:?}");
    assert!(rows[0]["charset"]["origin"].is_string(), "{json:?}");
    assert!(rows[0]["next_poll_at"].is_string(), "{json:?}");
    assert_eq!(rows[1]["enabled"], false);
    assert!(rows[1]["next_poll_at"].is_null(), "{json:?}");
    let show = env.run(&["sources", "show", "national-news", "--format", "json"]);
    let shown: serde_json::Value = serde_json::from_str(show.stdout.trim()).unwrap();
    assert_eq!(shown["charset"]["encoding"], "UTF-8", "{show:?}");
    assert_eq!(shown["tags"], serde_json::json!(["national", "国内"]));
    let show = env.run(&["sources", "show", "world-news"]);
    assert!(show.stdout.contains("- (disabled)"), "{show:?}");
}

#[test]
fn topics_preview_applies_the_topic_tags() {
    let env = Env::new(&[]);
    std::fs::write(
        env.path("a.xml"),
        feed(&[(
            "a-1",
            "京津冀教育协同发展",
            "Mon, 30 Nov 2026 02:00:00 +0000",
        )]),
    )
    .unwrap();
    std::fs::write(
        env.path("b.xml"),
        feed(&[("b-1", "国外教育改革动态", "Mon, 30 Nov 2026 03:00:00 +0000")]),
    )
    .unwrap();
    let mut a = src("a", &env.file_url("a.xml"));
    a.extra = "tags = [\"national\"]\n".into();
    let mut b = src("b", &env.file_url("b.xml"));
    b.extra = "tags = [\"world\"]\n".into();
    let topic =
        "[[topic]]\nslug = \"edu\"\ntitle = \"教育\"\nquery = \"教育\"\ntags = [\"national\"]\n";
    env.write_config(FETCH, &[a, b], topic);
    env.poll(&[]);

    let preview = env.run(&["topics", "preview", "edu"]);
    assert_eq!(preview.code, Some(0), "{preview:?}");
    assert!(preview.stdout.contains("京津冀教育协同发展"), "{preview:?}");
    assert!(!preview.stdout.contains("国外教育改革动态"), "{preview:?}");
    assert!(
        preview.stdout.contains(
            "1 shown (of the 2 newest stories scanned; only stories from sources tagged national)"
        ),
        "{preview:?}"
    );
    // What the topic holds in the database is what preview says.
    assert_eq!(
        env.count("SELECT count(*) FROM story_topics WHERE topic = 'edu'"),
        1
    );
    // A draft query is not a topic: no tags.
    let draft = env.run(&["topics", "preview", "--query", "教育"]);
    assert!(draft.stdout.contains("2 shown"), "{draft:?}");
    // A tag no source carries: the topic holds nothing, and preview says so.
    let mut a = src("a", &env.file_url("a.xml"));
    a.extra = "tags = [\"national\"]\n".into();
    let b = src("b", &env.file_url("b.xml"));
    env.write_config(
        FETCH,
        &[a, b],
        &topic.replace("\"national\"]", "\"nationl\"]"),
    );
    let preview = env.run(&["topics", "preview", "edu"]);
    assert!(preview.stdout.contains("0 shown"), "{preview:?}");
}
