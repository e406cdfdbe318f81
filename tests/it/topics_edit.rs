//! `topics add|edit|remove` and `topics list`'s last update against the
//! real binary: `[[topic]]` tables written with the rest of the file
//! byte-identical, the query parsed and explained on the spot, every
//! refused edit leaving the file as it was.

use crate::common::*;
use crate::common::{config_text as read, env_with_config as env_with, refused_edit as refused};

const CONFIG: &str = r#"# topics by hand
[storage]
path = "news.db"

[fetch]
allow_private_addresses = true
timeout_secs = 2

[[source]]
id = "alpha"
url = "{URL}"
tags = ["national"]

# ---- topics ----

# education, everywhere
[[topic]]
slug  = "edu"      # short
title = "教育"
query = '教育 OR 学校'
tags  = [ "national" ]

[[topic]]
slug = "all"
title = "全部"
query = "*"
"#;

fn config(url: &str) -> String {
    CONFIG.replace("{URL}", url)
}

#[test]
fn add_appends_a_table_and_explains_the_query() {
    let before = config("https://a.example/rss");
    let env = env_with(&before);
    let r = env.run(&[
        "topics",
        "add",
        "bj-edu",
        "--title",
        "京津冀教育",
        "--query",
        "京津冀 AND (教育 OR title:\"高考 改革\") NOT 广告",
        "--tag",
        "national",
        "--language",
        "zh-Hans",
        "--script",
        "traditional",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let explained = "\
query 京津冀 AND (教育 OR title:\"高考 改革\") NOT 广告 reads as: \
京津冀 AND (教育 OR title:\"高考 改革\") AND NOT 广告
  a story matches when
    all of:
      its title or text contains \"京津冀\"
      any of:
        its title or text contains \"教育\"
        its title contains \"高考 改革\"
      not:
        its title or text contains \"广告\"
  and only stories of sources tagged national
";
    assert!(r.stdout.contains(explained), "{r:?}");
    assert!(
        r.stdout.starts_with("added topic bj-edu (京津冀教育)"),
        "{r:?}"
    );
    let after = read(&env);
    assert_eq!(
        after,
        format!(
            "{before}\n[[topic]]\nslug = \"bj-edu\"\ntitle = \"京津冀教育\"\n\
             query = '京津冀 AND (教育 OR title:\"高考 改革\") NOT 广告'\n\
             tags = [\"national\"]\nlanguage = \"zh-Hans\"\nscript = \"traditional\"\n"
        )
    );
    let check = env.run(&["check"]);
    assert_eq!(check.code, Some(0), "{check:?}");
    assert!(check.stdout.contains("3 topics"), "{check:?}");

    // Lower-case operator words are searched for as words: said so.
    let r = env.run(&[
        "topics",
        "add",
        "jjj",
        "--title",
        "J",
        "--query",
        "京津冀 and 教育",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .contains("note: \"and\" is matched as a word; for the operator write AND"),
        "{r:?}"
    );

    // A tag no source carries would let no story in: said at once, as
    // `check` says it (the edit is valid, so it is written).
    let r = env.run(&[
        "topics", "add", "typo", "--title", "T", "--query", "教育", "--tag", "nationl",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .contains("warning: topic \"typo\": no source carries the tag \"nationl\"")
            && r.stdout.contains("did you mean \"national\"?"),
        "{r:?}"
    );
    let r = env.run(&[
        "topics", "edit", "typo", "--untag", "nationl", "--tag", "national",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!r.stdout.contains("warning"), "{r:?}");
}

#[test]
fn add_refuses_duplicates_bad_queries_and_bad_values() {
    let env = env_with(&config("https://a.example/rss"));
    refused(
        &env,
        &["topics", "add", "edu", "--title", "E", "--query", "x"],
        "topic \"edu\" already exists",
    );
    let r = refused(
        &env,
        &[
            "topics",
            "add",
            "bj",
            "--title",
            "B",
            "--query",
            "京津冀 AND (教育 OR",
        ],
        "--query: at character 15: expected a term",
    );
    // The query, and a caret under the place (a CJK character is two
    // columns wide).
    assert!(
        r.stderr
            .contains("  京津冀 AND (教育 OR\n                     ^"),
        "{r:?}"
    );
    refused(
        &env,
        &["topics", "add", "bj", "--title", "B", "--query", "a ) b"],
        "at character 3: expected an operator or the end of the query, found ')'",
    );
    refused(
        &env,
        &["topics", "add", "Bad Slug", "--title", "B", "--query", "x"],
        "\"Bad Slug\" is not a valid topic slug",
    );
    refused(
        &env,
        &["topics", "add", "bj", "--title", " ", "--query", "x"],
        "--title must not be empty",
    );
    refused(
        &env,
        &[
            "topics",
            "add",
            "bj",
            "--title",
            "B",
            "--query",
            "x",
            "--language",
            "fr",
        ],
        "\"fr\" is not a language newsriver has words for",
    );
    refused(
        &env,
        &[
            "topics", "add", "bj", "--title", "B", "--query", "x", "--script", "latin",
        ],
        "\"latin\" is not a script",
    );
    refused(
        &env,
        &[
            "topics", "add", "bj", "--title", "B", "--query", "x", "--tag", "",
        ],
        "--tag must not be empty",
    );
}

#[test]
fn edit_changes_only_what_it_is_given() {
    let before = config("https://a.example/rss");
    let env = env_with(&before);
    let r = env.run(&[
        "topics",
        "edit",
        "edu",
        "--title",
        "教育新闻",
        "--query",
        "教育 OR 学校 OR 高校",
        "--tag",
        "local",
        "--untag",
        "national",
        "--language",
        "zh-Hans",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .contains("topic edu: title = \"教育新闻\" (was \"教育\")"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("topic edu: query = \"教育 OR 学校 OR 高校\" (was '教育 OR 学校')"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("topic edu: language = \"zh-Hans\" (was not set)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("topic edu: tags: local"), "{r:?}");
    assert!(
        r.stdout.contains(
            "  a story matches when\n    any of:\n      its title or text contains \"教育\""
        ),
        "{r:?}"
    );
    let edited = read(&env);
    assert_eq!(
        edited,
        before
            .replace("title = \"教育\"", "title = \"教育新闻\"")
            .replace("query = '教育 OR 学校'", "query = \"教育 OR 学校 OR 高校\"")
            .replace(
                "tags  = [ \"national\" ]\n",
                "tags  = [\"local\"]\nlanguage = \"zh-Hans\"\n"
            )
    );

    let r = env.run(&[
        "topics", "edit", "edu", "--unset", "tags", "--unset", "language",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.contains("topic edu: tags unset (was [\"local\"])"),
        "{r:?}"
    );
    assert_eq!(
        read(&env),
        edited.replace("tags  = [\"local\"]\nlanguage = \"zh-Hans\"\n", "")
    );
}

#[test]
fn edit_refuses_unknown_topics_keys_and_bad_queries() {
    let env = env_with(&config("https://a.example/rss"));
    refused(
        &env,
        &["topics", "edit", "nope", "--title", "x"],
        "no topic \"nope\" in",
    );
    let r = refused(
        &env,
        &["topics", "edit", "edu", "--query", "(教育"],
        "--query: at character 4: expected ')' or an operator",
    );
    assert!(r.stderr.contains("  (教育\n       ^"), "{r:?}");
    refused(
        &env,
        &["topics", "edit", "edu", "--unset", "query"],
        "`query` cannot be unset",
    );
    refused(
        &env,
        &["topics", "edit", "edu", "--unset", "titel"],
        "unknown key `titel` in a [[topic]] table; did you mean `title`?",
    );
    refused(
        &env,
        &["topics", "edit", "edu", "--unset", "slug"],
        "slug cannot be changed",
    );
    refused(
        &env,
        &["topics", "edit", "edu", "--script", "cursive"],
        "\"cursive\" is not a script",
    );
    refused(
        &env,
        &["topics", "edit", "edu", "--tag", "x", "--unset", "tags"],
        "`tags` is given more than once",
    );
    refused(&env, &["topics", "edit", "edu"], "nothing to change");
}

#[test]
fn remove_takes_the_table_and_its_own_comments() {
    let before = config("https://a.example/rss");
    let env = env_with(&before);
    refused(&env, &["topics", "remove", "nope"], "no topic \"nope\"");
    let r = env.run(&["topics", "remove", "edu"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("removed topic edu"), "{r:?}");
    let start = before.find("# education, everywhere").unwrap();
    let end = before.find("[[topic]]\nslug = \"all\"").unwrap();
    assert_eq!(
        read(&env),
        format!("{}{}", &before[..start], &before[end..]),
        "the section heading stays"
    );
}

#[test]
fn list_shows_when_each_topic_last_had_a_story() {
    let server = TestServer::start();
    let items = [
        Item {
            guid: Some("1"),
            title: Some("教育部发布通知"),
            description: Some("教育部发布新学期通知。"),
            pub_date: Some("Fri, 09 Oct 2026 10:00:00 +0000"),
            ..Item::default()
        },
        Item {
            guid: Some("2"),
            title: Some("学校开学"),
            description: Some("各地学校今天开学。"),
            pub_date: Some("Sat, 10 Oct 2026 08:30:00 +0000"),
            ..Item::default()
        },
        Item {
            guid: Some("3"),
            title: Some("天气预报"),
            description: Some("明天晴。"),
            pub_date: Some("Sun, 11 Oct 2026 07:00:00 +0000"),
            ..Item::default()
        },
    ];
    server.fixed("/feed", Response::ok(RSS_TYPE, rss2("A", &items)));
    let env = env_with(&config(&server.url("/feed")));
    let r = env.run(&["topics", "add", "none", "--title", "无", "--query", "足球"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    env.poll(&[]);
    let list = env.run(&["topics", "list"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    let line = |slug: &str| {
        list.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{slug} ")))
            .unwrap_or_else(|| panic!("no {slug}: {list:?}"))
            .to_string()
    };
    assert!(list.stdout.starts_with("SLUG "), "{list:?}");
    assert!(list.stdout.lines().next().unwrap().contains("LAST UPDATE"));
    assert!(line("edu").contains("2026-10-10"), "{list:?}");
    assert!(!line("edu").contains("2026-10-11"), "{list:?}");
    assert!(line("all").contains("2026-10-11"), "{list:?}");
    let none = line("none");
    assert!(
        none.contains("  -    ") && none.contains("  0  足球"),
        "no story yet: {list:?}"
    );
}
