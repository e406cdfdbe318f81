//! `sources set`, `sources rename` and `sources add`'s setting flags
//! against the real binary. The config is written with comments and odd
//! layout; every edit must leave what it did not touch byte-identical, and
//! every refused edit the whole file.

use crate::common::*;
use crate::common::{config_text as read, env_with_config as env_with, refused_edit as refused};

/// Hand-written, with comments, alignment and single quotes. `{URL_A}` /
/// `{URL_B}` are filled in per test.
const CONFIG: &str = r#"# newsriver — hand-written
[storage]
path = "news.db"   # beside this file

[fetch]
allow_private_addresses = true   # the test server is on loopback
timeout_secs = 2

# ---- sources ----

[[source]]   # the first one
id   = "alpha"
name = 'Alpha 日报'
url  = "{URL_A}"
tags = [ "national",   "daily" ]   # two

[[source]]
# b is quiet
id = "beta"
url = "{URL_B}"
schedule = "0 0 * * * *"   # hourly

# ---- topics ----

[[topic]]
slug  = "all"
title = "全部"
query = '*'
"#;

fn config(a: &str, b: &str) -> String {
    CONFIG.replace("{URL_A}", a).replace("{URL_B}", b)
}

#[test]
fn set_changes_only_its_keys_and_unset_gives_the_file_back() {
    let before = config("https://a.example/rss", "https://b.example/rss");
    let env = env_with(&before);
    let r = env.run(&[
        "sources",
        "set",
        "beta",
        "name=Beta 晚报",
        "full_text=true",
        "full_text_selector=div.article, #content",
        "encoding=gbk",
        "tags=local, edu",
        "schedule=0 */10 * * * *",
        "timezone=+08:00",
        "trust=low",
        "link_hosts=rsshub.example,b.example",
        "allow_private_addresses=true",
        "enabled=false",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .contains("source beta: schedule = \"0 */10 * * * *\" (was \"0 0 * * * *\")"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("source beta: encoding = \"gbk\" (was not set)"),
        "{r:?}"
    );
    let after = read(&env);
    // The changed value keeps its comment; new keys go at the end of the
    // table, before the comments that head the next section.
    assert_eq!(
        after,
        before.replace(
            "schedule = \"0 0 * * * *\"   # hourly\n",
            "schedule = \"0 */10 * * * *\"   # hourly\n\
             name = \"Beta 晚报\"\n\
             full_text = true\n\
             full_text_selector = \"div.article, #content\"\n\
             encoding = \"gbk\"\n\
             tags = [\"local\", \"edu\"]\n\
             timezone = \"+08:00\"\n\
             trust = \"low\"\n\
             link_hosts = [\"rsshub.example\", \"b.example\"]\n\
             allow_private_addresses = true\n\
             enabled = false\n"
        )
    );
    let check = env.run(&["check"]);
    assert_eq!(check.code, Some(0), "{check:?}");
    assert!(check.stdout.contains("2 sources, 1 enabled"), "{check:?}");

    let r = env.run(&[
        "sources",
        "set",
        "beta",
        "schedule=0 0 * * * *",
        "--unset",
        "name",
        "--unset",
        "full_text",
        "--unset",
        "full_text_selector",
        "--unset",
        "encoding",
        "--unset",
        "tags",
        "--unset",
        "timezone",
        "--unset",
        "trust",
        "--unset",
        "link_hosts",
        "--unset",
        "allow_private_addresses",
        "--unset",
        "enabled",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .contains("source beta: encoding unset (was \"gbk\")"),
        "{r:?}"
    );
    assert_eq!(read(&env), before, "set, then unset: the file as it was");

    // A value of an existing key keeps its spacing and comment; the rest of
    // the file does not move.
    let r = env.run(&["sources", "set", "alpha", "tags=world", "name=Alpha"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .contains(r#"source alpha: tags = ["world"] (was [ "national",   "daily" ])"#),
        "{r:?}"
    );
    assert_eq!(
        read(&env),
        before
            .replace(
                r#"tags = [ "national",   "daily" ]   # two"#,
                r#"tags = ["world"]   # two"#
            )
            .replace("name = 'Alpha 日报'", "name = \"Alpha\"")
    );
}

#[test]
fn set_refuses_bad_keys_and_values_and_writes_nothing() {
    let env = env_with(&config("https://a.example/rss", "https://b.example/rss"));
    refused(
        &env,
        &["sources", "set", "nope", "name=x"],
        "no source with id \"nope\"",
    );
    refused(
        &env,
        &["sources", "set", "beta", "enabled=maybe"],
        "enabled=maybe: `enabled` is true or false",
    );
    refused(
        &env,
        &["sources", "set", "beta", "full_text=yes"],
        "`full_text` is true or false",
    );
    let r = refused(
        &env,
        &["sources", "set", "beta", "schedule=every minute"],
        "invalid cron expression \"every minute\"",
    );
    assert!(r.stderr.contains("source[1].schedule"), "{r:?}");
    assert!(r.stderr.contains("nothing was written"), "{r:?}");
    let r = refused(
        &env,
        &["sources", "set", "beta", "encoding=klingon"],
        "unknown charset \"klingon\"",
    );
    assert!(r.stderr.contains("source[1].encoding"), "{r:?}");
    refused(
        &env,
        &[
            "sources",
            "set",
            "beta",
            "full_text_selector=div[",
            "full_text=true",
        ],
        "is not a CSS selector",
    );
    refused(
        &env,
        &["sources", "set", "beta", "timezone=Asia/Shanghai"],
        "is not a UTC offset",
    );
    refused(
        &env,
        &["sources", "set", "beta", "trust=high"],
        "unknown trust \"high\"",
    );
    refused(
        &env,
        &["sources", "set", "beta", "url=ftp://b.example/"],
        "unsupported scheme",
    );
    refused(
        &env,
        &["sources", "set", "beta", "url=https://A.example/rss/"],
        "already configured as source \"alpha\"",
    );
    refused(
        &env,
        &["sources", "set", "beta", "shedule=0 * * * * *"],
        "unknown key `shedule` in a [[source]] table; did you mean `schedule`?",
    );
    refused(
        &env,
        &["sources", "set", "beta", "colour=red"],
        "known keys: id, name, url",
    );
    refused(
        &env,
        &["sources", "set", "beta", "--unset", "colour"],
        "unknown key `colour`",
    );
    refused(
        &env,
        &["sources", "set", "beta", "--unset", "url"],
        "`url` cannot be unset",
    );
    refused(
        &env,
        &["sources", "set", "beta", "id=gamma"],
        "newsriver sources rename",
    );
    refused(
        &env,
        &["sources", "set", "beta", "full_text"],
        "\"full_text\": expected KEY=VALUE",
    );
    refused(
        &env,
        &["sources", "set", "beta", "name=a", "name=b"],
        "`name` is given more than once",
    );
    refused(
        &env,
        &["sources", "set", "beta", "name=a", "--unset", "name"],
        "`name` is given more than once",
    );
    // One bad setting among good ones: none is written.
    refused(
        &env,
        &["sources", "set", "beta", "name=ok", "enabled=maybe"],
        "`enabled` is true or false",
    );
    refused(&env, &["sources", "set", "beta"], "KEY=VALUE");
}

#[test]
fn add_writes_the_setting_flags() {
    let before = config("https://a.example/rss", "https://b.example/rss");
    let env = env_with(&before);
    let r = env.run(&[
        "sources",
        "add",
        "--no-fetch",
        "--id",
        "gamma",
        "--name",
        "Gamma",
        "--full-text-selector",
        "article",
        "--encoding",
        "gb18030",
        "--disabled",
        "https://c.example/rss",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let inserted = "\n[[source]]\nid = \"gamma\"\nname = \"Gamma\"\nurl = \"https://c.example/rss\"\n\
                    enabled = false\nencoding = \"gb18030\"\nfull_text = true\n\
                    full_text_selector = \"article\"\n";
    let after = read(&env);
    let at = after.find(inserted).unwrap_or_else(|| panic!("{after}"));
    assert_eq!(
        format!("{}{}", &after[..at], &after[at + inserted.len()..]),
        before
    );
    let r = env.run(&[
        "sources",
        "add",
        "--no-fetch",
        "--id",
        "delta",
        "--full-text",
        "https://d.example/rss",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        read(&env).contains("url = \"https://d.example/rss\"\nfull_text = true\n"),
        "{}",
        read(&env)
    );
    let r = refused(
        &env,
        &[
            "sources",
            "add",
            "--no-fetch",
            "--encoding",
            "klingon",
            "https://e.example/rss",
        ],
        "unknown charset \"klingon\"",
    );
    assert!(r.stderr.contains("nothing was written"), "{r:?}");
    refused(
        &env,
        &[
            "sources",
            "add",
            "--no-fetch",
            "--full-text-selector",
            "p[",
            "https://e.example/rss",
        ],
        "is not a CSS selector",
    );
}

fn dated_feed(title: &str, items: &[(&str, &str, &str)]) -> String {
    let items: Vec<Item<'_>> = items
        .iter()
        .map(|(guid, text, date)| Item {
            guid: Some(guid),
            link: None,
            title: Some(text),
            description: Some(text),
            pub_date: Some(date),
        })
        .collect();
    rss2(title, &items)
}

/// A column's value as text (its kind and value), whatever its type.
struct Cell(String);

impl newsriver::store::sql::FromSql for Cell {
    fn from_value(v: newsriver::store::sql::Value<'_>) -> newsriver::store::sql::Result<Self> {
        Ok(Cell(format!("{v:?}")))
    }
}

/// Every row of every table that names a source id, as text, with the id
/// replaced by `ID`: what a rename must carry over unchanged.
fn rows_naming(env: &Env, id: &str) -> Vec<String> {
    let db = env.store();
    let (tables, columns, order) = match env.pg {
        None => (
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND (p.name = 'source_id' OR (m.name = 'sources' AND p.name = 'id'))
             ORDER BY m.name",
            "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
            "rowid",
        ),
        // Each of these tables' first column is its key.
        Some(_) => (
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns
             WHERE table_schema = 'public'
               AND (column_name = 'source_id' OR (table_name = 'sources' AND column_name = 'id'))
             ORDER BY 1",
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = ?1 ORDER BY ordinal_position",
            "1",
        ),
    };
    let tables: Vec<(String, String)> = db
        .prepare(tables)
        .unwrap()
        .query_map(NONE, |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<newsriver::store::sql::Result<_>>()
        .unwrap();
    assert!(tables.len() >= 3, "sources, copies, polls: {tables:?}");
    let mut out = Vec::new();
    for (table, column) in tables {
        let names: Vec<String> = db
            .prepare(columns)
            .unwrap()
            .query_map([table.as_str()], |r| r.get(0))
            .unwrap()
            .collect::<newsriver::store::sql::Result<_>>()
            .unwrap();
        let mut stmt = db
            .prepare(&format!(
                "SELECT {} FROM {table} WHERE {column} = ?1 ORDER BY {order}",
                names.join(", ")
            ))
            .unwrap();
        let rows = stmt
            .query_map([id], |r| {
                let mut cells = Vec::new();
                for i in 0..names.len() {
                    let Cell(v) = r.get(i)?;
                    cells.push(if v == format!("Text({id:?})") {
                        "ID".to_string()
                    } else {
                        v
                    });
                }
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .unwrap()
            .collect::<newsriver::store::sql::Result<Vec<_>>>()
            .unwrap();
        out.extend(rows);
    }
    out
}

fn stories_dump(env: &Env) -> Vec<(String, String)> {
    let db = env.store();
    let mut stmt = db
        .prepare("SELECT id, title FROM stories ORDER BY id")
        .unwrap();
    stmt.query_map(NONE, |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<newsriver::store::sql::Result<_>>()
        .unwrap()
}

#[test]
fn rename_carries_the_history_and_changes_nothing_else() {
    let server = TestServer::start();
    server.fixed(
        "/a",
        Response::ok(
            RSS_TYPE,
            dated_feed(
                "Alpha",
                &[
                    (
                        "a1",
                        "京津冀教育协同发展",
                        "Fri, 09 Oct 2026 10:00:00 +0000",
                    ),
                    ("a2", "北京今日晴转多云", "Fri, 09 Oct 2026 11:00:00 +0000"),
                ],
            ),
        )
        .header("ETag", "\"v1\""),
    );
    server.fixed(
        "/b",
        Response::ok(
            RSS_TYPE,
            dated_feed(
                "Beta",
                &[(
                    "b1",
                    "上海举办国际电影节",
                    "Fri, 09 Oct 2026 12:00:00 +0000",
                )],
            ),
        ),
    );
    let env = env_with_store_config(&config(&server.url("/a"), &server.url("/b")));
    // The config as written (on PostgreSQL, its `[storage]` names the database).
    let before = read(&env);
    env.poll(&[]);
    // A full-text failure on record: it moves too (its delete cascades).
    env.store_rw()
        .execute(
            "INSERT INTO page_failures (source_id, at, url, reason) VALUES ('alpha', 1, 'http://x.example/1', 'HTTP 404')",
            NONE,
        )
        .unwrap();
    let history = rows_naming(&env, "alpha");
    assert!(
        history.iter().any(|r| r.starts_with("page_failures:")),
        "{history:#?}"
    );
    assert!(
        history.iter().filter(|r| r.starts_with("copies:")).count() == 2
            && history.iter().any(|r| r.starts_with("polls:"))
            && history.iter().any(|r| r.starts_with("sources:")),
        "{history:#?}"
    );
    let beta = rows_naming(&env, "beta");
    let stories = stories_dump(&env);

    let r = env.run(&["sources", "rename", "alpha", "alpha-daily"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.contains("moved its history in") && r.stdout.contains("2 copies, 1 poll"),
        "{r:?}"
    );
    assert_eq!(
        read(&env),
        before.replace("id   = \"alpha\"", "id   = \"alpha-daily\""),
        "only the id changes in the config"
    );
    assert_eq!(rows_naming(&env, "alpha"), Vec::<String>::new());
    assert_eq!(rows_naming(&env, "alpha-daily"), history, "carried whole");
    assert_eq!(
        rows_naming(&env, "beta"),
        beta,
        "the other source untouched"
    );
    assert_eq!(stories_dump(&env), stories);

    let show = env.run(&["sources", "show", "alpha-daily"]);
    assert_eq!(show.code, Some(0), "{show:?}");
    assert!(show.stdout.contains("last poll"), "{show:?}");
    assert!(show.stdout.contains(": ok"), "{show:?}");
    assert!(show.stdout.contains("ETag \"v1\""), "{show:?}");
    let json = env.run(&["sources", "show", "alpha-daily", "--format", "json"]);
    assert_eq!(json.code, Some(0), "{json:?}");
    let shown: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(shown["copies"], 2, "{shown}");
    assert_eq!(
        shown["recent_polls"].as_array().map(Vec::len),
        Some(1),
        "{shown}"
    );

    // The next poll goes on where the old id left off: its validators are
    // sent, and the items are known, not new.
    let r = env.poll(&["--source", "alpha-daily"]);
    let sent = server.requests("/a");
    assert_eq!(
        sent.last().and_then(|q| q.header("if-none-match")),
        Some("\"v1\""),
        "{r:?}"
    );
    assert_eq!(env.count("SELECT count(*) FROM copies"), 3, "{r:?}");
    assert_eq!(stories_dump(&env), stories);
}

#[test]
fn rename_refuses_taken_invalid_and_unknown_ids() {
    let server = TestServer::start();
    server.fixed(
        "/a",
        Response::ok(
            RSS_TYPE,
            dated_feed(
                "A",
                &[("a1", "一条新闻", "Fri, 09 Oct 2026 10:00:00 +0000")],
            ),
        ),
    );
    server.fixed(
        "/b",
        Response::ok(
            RSS_TYPE,
            dated_feed(
                "B",
                &[("b1", "另一条新闻", "Fri, 09 Oct 2026 11:00:00 +0000")],
            ),
        ),
    );
    let env = env_with_store_config(&config(&server.url("/a"), &server.url("/b")));
    env.poll(&[]);
    let alpha = rows_naming(&env, "alpha");
    refused(
        &env,
        &["sources", "rename", "alpha", "beta"],
        "id \"beta\" is already used by source beta",
    );
    refused(
        &env,
        &["sources", "rename", "alpha", "Alpha_2"],
        "\"Alpha_2\" is not a valid id",
    );
    refused(
        &env,
        &["sources", "rename", "nope", "gamma"],
        "no source with id \"nope\"",
    );
    // beta leaves the config but its history stays in the database: taking
    // its id would mix two histories.
    let r = env.run(&["sources", "remove", "beta"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let r = refused(
        &env,
        &["sources", "rename", "alpha", "beta"],
        "already holds a source \"beta\"",
    );
    assert!(r.stderr.contains("sources remove beta --purge"), "{r:?}");
    assert_eq!(rows_naming(&env, "alpha"), alpha, "the database unchanged");
    let r = env.run(&["sources", "remove", "beta", "--purge"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let r = env.run(&["sources", "rename", "alpha", "beta"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(rows_naming(&env, "beta"), alpha);
}

#[test]
fn rename_before_the_first_poll_changes_only_the_config() {
    let before = config("https://a.example/rss", "https://b.example/rss");
    let env = env_with(&before);
    let r = env.run(&["sources", "rename", "beta", "beta-2", "--reload"]);
    // The edit is saved; no daemon runs to be told (exit 1 says so).
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.contains("no database yet"), "{r:?}");
    assert!(r.stderr.contains("the edit is saved"), "{r:?}");
    assert_eq!(
        read(&env),
        before.replace("id = \"beta\"", "id = \"beta-2\"")
    );
    assert!(!env.db_path().exists(), "no database is created");
}
