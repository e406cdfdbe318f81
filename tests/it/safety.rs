//! Data safety, against the real binary and a real SQLite file: backup and
//! restore, retention and space reclamation, kill -9 during polls, a full
//! disk, a read-only database, another process holding the write lock, a
//! long reader, and the daemon pausing when it cannot store. Each fault
//! asserts the clear error and that the process and the stored data survive
//! (`PRAGMA integrity_check`, counts). See docs/data-safety.md.
//! Retention and the kill -9 tests run on PostgreSQL too (whole
//! transactions, no story lost or twice); the others are about the SQLite
//! file itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::common::*;
use chrono::{TimeDelta, Utc};
use rusqlite::Connection;

// ---- helpers -------------------------------------------------------------------

/// A small deterministic generator (xorshift64*): the test's "random"
/// moments and texts are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `n` characters of Chinese text drawn from a pool of ~2,000 common
/// characters: two such texts share almost no shingles, so the
/// near-duplicate index never merges distinct stories.
fn random_text(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_u32(0x4E00 + rng.below(2000) as u32).unwrap_or('中'))
        .collect()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Every story id with its copies' (source, item key), sorted: what "no
/// story lost or duplicated" compares.
fn contents(env: &Env) -> BTreeMap<String, Vec<(String, String)>> {
    let db = env.store();
    let mut stmt = db
        .prepare(
            "SELECT s.id, c.source_id, c.item_key FROM copies c JOIN stories s ON s.sid = c.story",
        )
        .unwrap();
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let rows = stmt
        .query_map(NONE, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (story, source, key) = row.unwrap();
        out.entry(story).or_default().push((source, key));
    }
    // Byte order, as SQLite's ORDER BY gave it (PostgreSQL's depends on
    // the database's collation).
    for copies in out.values_mut() {
        copies.sort();
    }
    out
}

/// An RSS item dated `at`.
fn dated_item(guid: &str, title: &str, text: &str, at: chrono::DateTime<Utc>) -> String {
    format!(
        "<item><guid isPermaLink=\"false\">{guid}</guid><link>https://outlet.example/{guid}</link>\
         <title>{title}</title><description><![CDATA[<p>{text}</p>]]></description>\
         <pubDate>{}</pubDate></item>\n",
        at.to_rfc2822()
    )
}

fn rss_of(items: &[String]) -> Response {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>测试</title><link>https://outlet.example/</link><description>t</description>\n",
    );
    for i in items {
        s.push_str(i);
    }
    s.push_str("</channel></rss>\n");
    Response::ok("application/rss+xml; charset=utf-8", s)
}

/// One feed of `n` fresh stories with random texts; returns the feed.
fn feed_of(rng: &mut Rng, prefix: &str, n: usize, text_len: usize) -> Response {
    let now = Utc::now();
    let items: Vec<String> = (0..n)
        .map(|i| {
            dated_item(
                &format!("{prefix}-{i}"),
                &format!("{prefix} 第{i}条"),
                &random_text(rng, text_len),
                now - TimeDelta::minutes(i as i64),
            )
        })
        .collect();
    rss_of(&items)
}

/// Holds the write lock (`BEGIN IMMEDIATE`) on `db` from another connection
/// for `hold`, on a thread; returns once the lock is taken.
fn hold_write_lock(db: &Path, hold: Duration) -> std::thread::JoinHandle<()> {
    let db = db.to_path_buf();
    let (taken_tx, taken_rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        taken_tx.send(()).unwrap();
        std::thread::sleep(hold);
        conn.execute_batch("COMMIT").unwrap();
    });
    taken_rx.recv().unwrap();
    t
}

// ---- pragmas -------------------------------------------------------------------

#[test]
fn a_new_database_is_wal_with_incremental_auto_vacuum() {
    if sqlite_only("the SQLite file's journal mode and auto-vacuum") {
        return;
    }
    let server = TestServer::start();
    server.fixed("/a", feed_of(&mut Rng(1), "a", 3, 80));
    let env = Env::new(&[src("a", &server.url("/a"))]);
    env.poll(&[]);
    let db = env.db();
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(count(&db, "PRAGMA auto_vacuum"), 2, "2 = incremental");
    assert_eq!(integrity(&env.db_path()), "ok");
}

// ---- backup and restore -----------------------------------------------------------

#[test]
fn backup_while_another_connection_writes_is_a_consistent_copy() {
    if sqlite_only("backup copies the SQLite file (PostgreSQL's is pg_dump)") {
        return;
    }
    let server = TestServer::start();
    let mut rng = Rng(7);
    server.fixed("/a", feed_of(&mut rng, "a", 40, 300));
    server.fixed("/b", feed_of(&mut rng, "b", 40, 300));
    let env = Env::new(&[src("a", &server.url("/a")), src("b", &server.url("/b"))]);
    env.poll(&[]);
    assert_eq!(env.stories(), 80);

    // A writer commits pairs of rows, one pair per transaction, as fast as
    // it can while the backup runs: a consistent snapshot has whole pairs.
    let stop = Arc::new(AtomicUsize::new(0));
    let committed = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, committed, db) = (stop.clone(), committed.clone(), env.db_path());
        std::thread::spawn(move || {
            let mut conn = Connection::open(&db).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            let mut k = 0i64;
            while stop.load(Ordering::SeqCst) == 0 {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .unwrap();
                for half in ["pair-a", "pair-b"] {
                    tx.execute(
                        "INSERT INTO polls (source_id, started_at, duration_ms, outcome, items) VALUES ('a', 0, 0, ?1, ?2)",
                        rusqlite::params![half, k],
                    )
                    .unwrap();
                }
                tx.commit().unwrap();
                committed.fetch_add(1, Ordering::SeqCst);
                k += 1;
            }
        })
    };
    while committed.load(Ordering::SeqCst) < 5 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let backup = env.path("backup.db");
    let run = env.run(&["backup", backup.to_str().unwrap()]);
    let during = committed.load(Ordering::SeqCst);
    stop.store(1, Ordering::SeqCst);
    writer.join().unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("80 stories"), "{run:?}");
    assert!(during >= 5, "the writer was running");

    assert_eq!(integrity(&backup), "ok");
    let b = open_ro(&backup);
    assert_eq!(count(&b, "SELECT count(*) FROM stories"), 80);
    let a_rows = count(&b, "SELECT count(*) FROM polls WHERE outcome = 'pair-a'");
    let b_rows = count(&b, "SELECT count(*) FROM polls WHERE outcome = 'pair-b'");
    assert_eq!(a_rows, b_rows, "no transaction is half in the backup");
    assert!(
        a_rows >= 5,
        "the snapshot is from during the writes: {a_rows}"
    );
    let torn = count(
        &b,
        "SELECT count(*) FROM (SELECT items FROM polls WHERE outcome LIKE 'pair-%' GROUP BY items HAVING count(*) != 2)",
    );
    assert_eq!(torn, 0);
    let temps: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".backup-"))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");

    // An existing file is not overwritten without --force.
    std::fs::write(env.path("taken.db"), b"precious").unwrap();
    let taken = env.path("taken.db");
    let refused = env.run(&["backup", taken.to_str().unwrap()]);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains("--force"), "{refused:?}");
    assert_eq!(std::fs::read(&taken).unwrap(), b"precious");
    let forced = env.run(&["backup", "--force", taken.to_str().unwrap()]);
    assert_eq!(forced.code, Some(0), "{forced:?}");
    assert_eq!(integrity(&taken), "ok");
}

#[test]
fn restore_checks_the_backup_refuses_while_the_daemon_runs_and_replaces_atomically() {
    if sqlite_only("restore replaces the SQLite file (PostgreSQL's is pg_restore)") {
        return;
    }
    let server = TestServer::start();
    let mut rng = Rng(11);
    server.fixed("/a", feed_of(&mut rng, "a", 10, 200));
    server.fixed("/b", feed_of(&mut rng, "b", 15, 200));
    let env = Env::new(&[src("a", &server.url("/a")), src("b", &server.url("/b"))]);
    env.poll(&["--source", "a"]);
    let backup = env.path("a-only.db");
    let made = env.run(&["backup", backup.to_str().unwrap()]);
    assert_eq!(made.code, Some(0), "{made:?}");
    env.poll(&[]);
    assert_eq!(env.stories(), 25);

    // A damaged backup, and a SQLite file that is not ours: refused, the
    // database untouched.
    let garbage = env.path("garbage.db");
    let mut bytes = std::fs::read(&backup).unwrap();
    bytes.truncate(bytes.len() / 2);
    for b in bytes.iter_mut().skip(100).step_by(7) {
        *b ^= 0x5A;
    }
    std::fs::write(&garbage, &bytes).unwrap();
    let r = env.run(&["restore", garbage.to_str().unwrap()]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("restore failed"), "{r:?}");
    let other = env.path("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let r = env.run(&["restore", other.to_str().unwrap()]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("not a newsriver database"), "{r:?}");
    assert_eq!(env.stories(), 25);

    // A daemon holds the database's lock (`news.db.lock`, with its pid):
    // refused, naming it. Here this test holds the lock.
    let lock_path = env.path("news.db.lock");
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(&lock_path, format!("{}\n", std::process::id())).unwrap();
    let r = env.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains("is running")
            && r.stderr.contains(&format!("pid {}", std::process::id())),
        "{r:?}"
    );
    assert_eq!(env.stories(), 25);
    drop(lock);

    let r = env.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("10 stories"), "{r:?}");
    assert_eq!(env.stories(), 10, "back to the backup's content");
    // The database it replaced is kept, named, and whole.
    let kept: Vec<std::path::PathBuf> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("news.db.before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(r.stdout.contains(&kept[0].display().to_string()), "{r:?}");
    assert_eq!(integrity(&kept[0]), "ok");
    let replaced: i64 = Connection::open(&kept[0])
        .unwrap()
        .query_row("SELECT count(*) FROM stories", [], |r| r.get(0))
        .unwrap();
    assert_eq!(replaced, 25, "the replaced database keeps its stories");
    assert_eq!(integrity(&env.db_path()), "ok");
    let leftovers: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".restore-") || n.ends_with("-wal") || n.ends_with("-shm"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The restored database works: the next poll brings b back.
    env.poll(&[]);
    assert_eq!(env.stories(), 25);
}

// ---- retention -----------------------------------------------------------------

#[test]
fn retention_removes_old_stories_with_their_copies_in_batches_and_frees_the_space() {
    let server = TestServer::start();
    let mut rng = Rng(23);
    let now = Utc::now();
    // 600 old stories (more than one batch of 500), each cross-posted by
    // two outlets; 5 recent ones, also cross-posted.
    let mut a = Vec::new();
    let mut b = Vec::new();
    for i in 0..600 {
        let text = format!("旧闻{i}{}", random_text(&mut rng, 600));
        let at = now - TimeDelta::days(30 + (i % 5) as i64);
        a.push(dated_item(
            &format!("old-{i}"),
            &format!("旧闻 {i}"),
            &text,
            at,
        ));
        b.push(dated_item(
            &format!("old-b-{i}"),
            &format!("旧闻 {i}"),
            &text,
            at,
        ));
    }
    for i in 0..5 {
        let text = format!("新闻{i}{}", random_text(&mut rng, 200));
        let at = now - TimeDelta::days(i);
        a.push(dated_item(
            &format!("new-{i}"),
            &format!("新闻 {i}"),
            &text,
            at,
        ));
        b.push(dated_item(
            &format!("new-b-{i}"),
            &format!("新闻 {i}"),
            &text,
            at,
        ));
    }
    server.fixed("/a", rss_of(&a));
    server.fixed("/b", rss_of(&b));
    let fetch = FETCH.replace("max_body_bytes = 65536", "max_body_bytes = 10000000");
    let sources = [src("a", &server.url("/a")), src("b", &server.url("/b"))];
    let topic = "[[topic]]\nslug = \"all\"\ntitle = \"全部\"\nquery = '闻'\n";
    let env = Env::with(&fetch, &sources, topic);
    env.poll(&[]);
    assert_eq!(env.stories(), 605);
    assert_eq!(env.copies(), 1210);
    assert_eq!(env.count("SELECT count(*) FROM story_topics"), 605);
    let size_before = match env.pg {
        None => std::fs::metadata(env.db_path()).unwrap().len(),
        Some(_) => 0,
    };
    // Retention keys on when this database saw a story, not on the date a
    // source claims: the old stories were stored a month ago (and are not
    // listed since: the poll below leaves out items past retention).
    let db = env.store_rw();
    let month = 30 * 86_400;
    db.execute(
        "UPDATE stories SET first_seen = first_seen - ?1, shown = NULL WHERE title LIKE '旧闻%'",
        [month],
    )
    .unwrap();
    db.execute(
        "UPDATE copies SET first_seen = first_seen - ?1, last_seen = last_seen - ?1
         WHERE item_key LIKE 'guid:old-%'",
        [month],
    )
    .unwrap();
    drop(db);

    // Retention set: the next poll deletes the old stories and their
    // copies, topic memberships and near-duplicate keys, and does not store
    // the old items the feeds still list.
    let text = std::fs::read_to_string(&env.config).unwrap();
    let retained = match env.pg {
        None => text.replace(
            "path = \"news.db\"",
            "path = \"news.db\"\nretention_days = 7",
        ),
        Some(_) => text.replace("[storage]\n", "[storage]\nretention_days = 7\n"),
    };
    assert_ne!(retained, text);
    std::fs::write(&env.config, retained).unwrap();
    let check = env.run(&["check"]);
    assert_eq!(check.code, Some(0), "{check:?}");
    let run = env.poll(&[]);
    assert!(
        run.stderr.contains("retention: removed 600 stories"),
        "{run:?}"
    );
    assert_eq!(env.stories(), 5);
    assert_eq!(env.copies(), 10);
    assert_eq!(env.count("SELECT count(*) FROM story_topics"), 5);
    // The near-duplicate keys live in each story's row (migration 0010):
    // none can outlive its story; every story left still has its own.
    assert_eq!(
        env.count(
            "SELECT count(*) FROM stories s LEFT JOIN story_texts t ON t.sid = s.sid
             WHERE t.near_keys IS NULL"
        ),
        0
    );
    assert_eq!(
        env.count("SELECT count(*) FROM stories WHERE title LIKE '旧闻%'"),
        0
    );
    assert_eq!(env.dangling(), 0);
    if env.pg.is_none() {
        assert_eq!(integrity(&env.db_path()), "ok");
        // The space went back to the file system (incremental vacuum).
        assert_eq!(env.count("PRAGMA freelist_count"), 0);
        let size_after = std::fs::metadata(env.db_path()).unwrap().len();
        assert!(
            size_after * 3 < size_before,
            "database {size_before} → {size_after} bytes"
        );
    }
    // The topic feed shows only the recent stories.
    let feed = env.run(&["render", "all", "--format", "json"]);
    assert_eq!(feed.code, Some(0), "{feed:?}");
    let json: serde_json::Value = serde_json::from_str(&feed.stdout).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 5, "{json}");
    // Polling again does not bring the old items back.
    env.poll(&[]);
    assert_eq!(env.stories(), 5);
}

// ---- crash test ------------------------------------------------------------------

const FEEDS: usize = 50;
const ITEMS: usize = 20;
const STORIES: usize = 400;

/// The fixture farm: 50 feeds × 20 items over 400 stories with random
/// texts, feed f carrying stories (7f + 13j) mod 400, so most stories are
/// cross-posted by two or three outlets as exact copies. The counter says
/// how many feeds the server has answered: kills are timed by a poll's
/// progress, not by the clock.
fn farm(server: &TestServer, rng: &mut Rng) -> (Vec<Src>, Arc<AtomicUsize>) {
    let now = Utc::now();
    let texts: Vec<String> = (0..STORIES).map(|_| random_text(rng, 150)).collect();
    let served = Arc::new(AtomicUsize::new(0));
    let mut sources = Vec::new();
    for f in 0..FEEDS {
        let items: Vec<String> = (0..ITEMS)
            .map(|j| {
                let s = (7 * f + 13 * j) % STORIES;
                dated_item(
                    &format!("f{f}-s{s}"),
                    &format!("第{s}号新闻"),
                    &texts[s],
                    now - TimeDelta::minutes(s as i64),
                )
            })
            .collect();
        let path = format!("/f{f}");
        let feed = rss_of(&items);
        let served = served.clone();
        server.route(&path, move |_| {
            served.fetch_add(1, Ordering::SeqCst);
            feed.clone()
        });
        sources.push(src(&format!("f{f}"), &server.url(&path)));
    }
    (sources, served)
}

/// The farm polled once, cleanly, into a fresh database.
fn reference(sources: &[Src]) -> BTreeMap<String, Vec<(String, String)>> {
    let clean = Env::new(sources);
    clean.poll(&[]);
    let expected = contents(&clean);
    assert!(expected.len() > 250, "{} stories", expected.len());
    let copies: usize = expected.values().map(Vec::len).sum();
    assert_eq!(copies, FEEDS * ITEMS);
    expected
}

/// After a kill: a sound file, whole transactions only. (PostgreSQL
/// checks its pages and the declared foreign keys itself.)
fn assert_sound_after_kill(env: &Env, round: usize) {
    if let Some(url) = &env.pg {
        // Migrated in one transaction: all there or not at all.
        let applied = psql_try(url, "SELECT count(*) FROM refinery_schema_history");
        if applied.as_deref().unwrap_or("0") == "0" {
            assert_eq!(
                psql(
                    url,
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'
                     AND tablename <> 'refinery_schema_history'"
                ),
                "0",
                "a half-migrated schema after kill {round}"
            );
            return;
        }
        assert_eq!(env.dangling(), 0, "after kill {round}");
        assert_eq!(
            env.count("SELECT count(*) FROM stories WHERE sid NOT IN (SELECT story FROM copies)"),
            0,
            "no story without a copy after kill {round}"
        );
        return;
    }
    let path = &env.db_path();
    assert_eq!(integrity(path), "ok", "after kill {round}");
    let db = open_ro(path);
    // Killed before or during the migrations: they are one transaction,
    // so the schema is all there or not at all.
    if count(&db, "PRAGMA user_version") == 0 {
        assert_eq!(
            count(&db, "SELECT count(*) FROM sqlite_schema"),
            0,
            "a half-migrated schema after kill {round}"
        );
        return;
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM pragma_foreign_key_check"),
        0,
        "after kill {round}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM stories WHERE sid NOT IN (SELECT story FROM copies)"
        ),
        0,
        "no story without a copy after kill {round}"
    );
}

#[test]
fn kill_9_at_random_moments_during_polls_loses_and_duplicates_nothing() {
    let server = TestServer::start();
    let mut rng = Rng(0x5EED);
    let (sources, served) = farm(&server, &mut rng);
    let expected = reference(&sources);

    // The same polls, killed with SIGKILL at seeded moments: every fifth
    // one during start-up (opening, migrating), the others once the poll
    // has fetched a seeded number of the 50 feeds, while earlier feeds are
    // being stored and later ones fetched.
    let crashed = Env::new(&sources);
    let mut killed_mid_poll = 0;
    for round in 0..20 {
        let before = served.load(Ordering::SeqCst);
        let after_feeds = if round % 5 == 0 {
            0
        } else {
            1 + rng.below(FEEDS as u64 - 5) as usize
        };
        let mut child: Child = binary()
            .arg("--config")
            .arg(&crashed.config)
            .arg("poll")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while served.load(Ordering::SeqCst) < before + after_feeds
            && child.try_wait().unwrap().is_none()
            && started.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.below(20)));
        if child.try_wait().unwrap().is_none() {
            killed_mid_poll += 1;
        }
        let _ = child.kill(); // SIGKILL on Unix
        child.wait().unwrap();
        if crashed.pg.is_some() || crashed.db_path().exists() {
            assert_sound_after_kill(&crashed, round);
        }
    }
    eprintln!("{killed_mid_poll} of 20 kills landed during a poll");
    assert!(
        killed_mid_poll >= 15,
        "only {killed_mid_poll} of 20 kills landed during a poll"
    );
    // The next poll completes the work: the same stories and copies as
    // the clean run, none lost, none twice.
    crashed.poll(&[]);
    if crashed.pg.is_none() {
        assert_eq!(integrity(&crashed.db_path()), "ok");
    }
    assert_eq!(contents(&crashed), expected);
}

// ---- lock contention -----------------------------------------------------------------

#[test]
fn a_write_lock_held_briefly_is_waited_for_one_held_too_long_is_a_clear_error() {
    if sqlite_only("SQLite's write lock and busy timeout") {
        return;
    }
    let server = TestServer::start();
    let mut rng = Rng(31);
    server.fixed("/a", feed_of(&mut rng, "a", 5, 100));
    server.fixed("/b", feed_of(&mut rng, "b", 5, 100));
    let env = Env::new(&[src("a", &server.url("/a")), src("b", &server.url("/b"))]);
    env.poll(&["--source", "a"]);
    assert_eq!(env.stories(), 5);

    // Held 1.5 s, under the 5 s busy timeout: the poll waits, then succeeds.
    let holder = hold_write_lock(&env.db_path(), Duration::from_millis(1500));
    let run = env.poll(&["--source", "b"]);
    holder.join().unwrap();
    assert!(!run.stderr.contains("error"), "{run:?}");
    assert_eq!(env.stories(), 10);

    // Held past the busy timeout: a clear error, nothing written, nothing damaged.
    server.fixed("/b", feed_of(&mut rng, "b2", 5, 100));
    let holder = hold_write_lock(&env.db_path(), Duration::from_secs(8));
    let run = env.run(&["poll", "--source", "b"]);
    holder.join().unwrap();
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("database is locked") && run.stderr.contains("busy timeout"),
        "{run:?}"
    );
    assert_eq!(integrity(&env.db_path()), "ok");
    assert_eq!(env.stories(), 10);
    // Once the lock is free, the same poll completes.
    env.poll(&["--source", "b"]);
    assert_eq!(env.stories(), 15);
}

#[test]
fn a_long_reader_does_not_stop_wal_checkpoints_for_good() {
    if sqlite_only("SQLite's WAL checkpoints") {
        return;
    }
    let server = TestServer::start();
    let round = Arc::new(AtomicUsize::new(0));
    {
        let round = round.clone();
        server.route("/a", move |_| {
            let r = round.load(Ordering::SeqCst);
            feed_of(&mut Rng(100 + r as u64), &format!("r{r}"), 30, 300)
        });
    }
    let env = Env::new(&[src("a", &server.url("/a"))]);
    env.poll(&[]);
    let wal = env.path("news.db-wal");

    // A reader holds one snapshot while three polls write.
    let reader = Connection::open(env.db_path()).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    assert_eq!(count(&reader, "SELECT count(*) FROM stories"), 30);
    for r in 1..=3 {
        round.store(r, Ordering::SeqCst);
        env.poll(&[]);
    }
    assert_eq!(
        count(&reader, "SELECT count(*) FROM stories"),
        30,
        "the reader still sees its snapshot"
    );
    let grown = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(grown > 0, "the WAL cannot be checkpointed past the reader");

    // The reader ends (its connection stays open, so closing the last
    // connection is not what empties the WAL): the next poll's checkpoint
    // (TRUNCATE) copies the WAL into the database and cuts it to zero.
    reader.execute_batch("COMMIT").unwrap();
    round.store(4, Ordering::SeqCst);
    env.poll(&[]);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    assert_eq!(count(&reader, "SELECT count(*) FROM stories"), 150);
    assert_eq!(integrity(&env.db_path()), "ok");
}

// ---- read-only database and full disk --------------------------------------------------

/// Runs `newsriver --config CONFIG ARGS` as user nobody when the test runs
/// as root (root ignores file modes), else as the current user.
fn run_unprivileged(config: &Path, args: &[&str]) -> Run {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !root {
        return run_binary(config, args);
    }
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_newsriver"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG");
    run_command(cmd)
}

fn setpriv_available() -> bool {
    std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_read_only_database_gives_a_clear_error_and_stays_intact() {
    if sqlite_only("the SQLite file's modes") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    if !setpriv_available() {
        eprintln!("skipped: setpriv (util-linux) is needed to drop root for this test");
        return;
    }
    let server = TestServer::start();
    let mut rng = Rng(41);
    server.fixed("/a", feed_of(&mut rng, "a", 5, 100));
    let env = Env::new(&[src("a", &server.url("/a"))]);
    env.poll(&[]);
    server.fixed("/a", feed_of(&mut rng, "a2", 5, 100));
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    // Readable by everyone, writable by no one (but root).
    mode(env.dir.path(), 0o555).unwrap();
    mode(&env.db_path(), 0o444).unwrap();
    mode(&env.config, 0o444).unwrap();
    let run = run_unprivileged(&env.config, &["poll"]);
    // Again with the -wal and -shm files an earlier process (root here)
    // may leave beside the database when it exits with a reader still
    // open: SQLite may then say "unable to open database file" (it could
    // not write the -shm) rather than "readonly", and the file at fault
    // must be named either way.
    let side = |suffix: &str| PathBuf::from(format!("{}{suffix}", env.db_path().display()));
    mode(env.dir.path(), 0o755).unwrap();
    for suffix in ["-wal", "-shm"] {
        if !side(suffix).exists() {
            std::fs::write(side(suffix), b"").unwrap();
        }
        mode(&side(suffix), 0o644).unwrap();
    }
    mode(env.dir.path(), 0o555).unwrap();
    let left_behind = run_unprivileged(&env.config, &["poll"]);
    mode(env.dir.path(), 0o755).unwrap();
    mode(&env.db_path(), 0o644).unwrap();
    for run in [&run, &left_behind] {
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(
            run.stderr.contains("read-only") || run.stderr.contains("readonly"),
            "{run:?}"
        );
        assert!(!run.stderr.contains("panicked"), "{run:?}");
    }
    assert!(
        left_behind
            .stderr
            .contains("news.db is read-only for this user"),
        "{left_behind:?}"
    );
    assert_eq!(integrity(&env.db_path()), "ok");
    assert_eq!(env.stories(), 5);
    // Writable again: the next poll completes.
    env.poll(&[]);
    assert_eq!(env.stories(), 10);
}

#[test]
fn a_full_disk_gives_a_clear_error_and_the_next_poll_completes() {
    if sqlite_only("the SQLite file on a full disk") {
        return;
    }
    // A small tmpfs in a private mount namespace (needs root or
    // CAP_SYS_ADMIN): the real ENOSPC / SQLITE_FULL path, nothing simulated.
    let probe = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: cannot mount a tmpfs in a private mount namespace (needs root)");
        return;
    }
    let server = TestServer::start();
    let mut rng = Rng(53);
    server.fixed("/small", feed_of(&mut rng, "s", 5, 100));
    server.fixed("/big", feed_of(&mut rng, "b", 400, 1500));
    let env = Env::new(&[]);
    let full = env.path("full");
    let out = env.path("out");
    std::fs::create_dir(&full).unwrap();
    std::fs::create_dir(&out).unwrap();
    let config = |db: &str| {
        format!(
            "[storage]\npath = {}\n\n{}\n[[source]]\nid = \"small\"\nurl = {}\n\n[[source]]\nid = \"big\"\nurl = {}\n",
            toml_str(db),
            FETCH.replace("max_body_bytes = 65536", "max_body_bytes = 10000000"),
            toml_str(&server.url("/small")),
            toml_str(&server.url("/big")),
        )
    };
    std::fs::write(&env.config, config("full/news.db")).unwrap();
    // Inside the namespace: mount 2 MiB (a new database has 16 KiB pages:
    // its empty schema alone is 320 KiB, its WAL as much again while it is
    // written), poll the small feed (fits), the
    // big one (does not), then copy what is left out for inspection.
    let bin = env!("CARGO_BIN_EXE_newsriver");
    let script = format!(
        "set -u; mount -t tmpfs -o size=2m tmpfs '{full}' || exit 90; \
         '{bin}' --config '{cfg}' poll --source small 2>'{out}/small.err'; echo $? >'{out}/small.code'; \
         '{bin}' --config '{cfg}' poll --source big 2>'{out}/big.err'; echo $? >'{out}/big.code'; \
         cp '{full}'/news.db* '{out}/'",
        full = full.display(),
        out = out.display(),
        cfg = env.config.display(),
    );
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "sh", "-c", &script]).env_remove("RUST_LOG");
    let ran = run_command(cmd);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(read("small.code").trim(), "0", "{}", read("small.err"));
    let err = read("big.err");
    assert_eq!(read("big.code").trim(), "1", "{err}");
    assert!(err.contains("disk is full"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // What the full disk was left with is sound and holds the small poll,
    // and none of the big one (its transaction rolled back whole).
    let left = out.join("news.db");
    assert_eq!(integrity(&left), "ok");
    let db = open_ro(&left);
    assert_eq!(count(&db, "SELECT count(*) FROM stories"), 5);
    assert_eq!(
        count(&db, "SELECT count(*) FROM copies WHERE source_id = 'big'"),
        0
    );
    drop(db);
    // With room again, the next poll completes the work.
    std::fs::write(&env.config, config("out/news.db")).unwrap();
    let run = env.poll(&[]);
    assert!(!run.stderr.contains("error"), "{run:?}");
    assert_eq!(count(&open_ro(&left), "SELECT count(*) FROM stories"), 405);
}

// ---- the daemon when it cannot store ------------------------------------------------

/// GET on the daemon: (status, body), or None when it does not answer.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    http_get(&format!("http://127.0.0.1:{port}{path}"))
}

#[test]
fn the_daemon_pauses_polling_when_it_cannot_store_and_serves_from_the_cache() {
    if sqlite_only("SQLite's write lock held past the busy timeout") {
        return;
    }
    let server = TestServer::start();
    let mut rng = Rng(61);
    server.fixed("/a", feed_of(&mut rng, "旧", 3, 100));
    let port = free_port();
    let extra = format!(
        "{EVERY_SECOND}{}\
         [[topic]]\nslug = \"all\"\ntitle = \"全部\"\nquery = '第'\n",
        server_section(port)
    );
    let env = Env::with(FETCH, &[src("a", &server.url("/a"))], &extra);
    let mut daemon = spawn_daemon(&env.config, Some(&env.path("daemon.log")));
    let feed = || get(port, "/topics/all.json");
    wait_for(
        Duration::from_secs(20),
        || feed().is_some_and(|(s, body)| s == 200 && body.contains("旧 第2条")),
        "the first stories are served",
    );

    // Another process takes the write lock for longer than the busy
    // timeout while the feed gains a story.
    server.fixed("/a", feed_of(&mut rng, "新", 1, 100));
    // 14 s: the loop's own bookkeeping write may wait out one busy timeout
    // (5 s) before the poll's write waits out another and fails.
    let holder = hold_write_lock(&env.db_path(), Duration::from_secs(14));
    let log = || std::fs::read_to_string(env.path("daemon.log")).unwrap();
    wait_for(
        Duration::from_secs(14),
        || log().contains("polling paused"),
        "the daemon reports that it cannot store",
    );
    // Serving goes on from the cache meanwhile.
    let (status, body) = feed().expect("the daemon still answers");
    assert_eq!(status, 200);
    assert!(body.contains("旧 第2条"), "{body}");
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon is alive");
    holder.join().unwrap();

    // Lock released: polling resumes and the new story is stored and served.
    wait_for(
        Duration::from_secs(30),
        || feed().is_some_and(|(_, body)| body.contains("新 第0条")),
        "the new story is served after the pause",
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let status = daemon.wait().unwrap();
    assert!(status.success(), "{status}\n{}", log());
    assert_eq!(integrity(&env.db_path()), "ok");
    assert_eq!(env.stories(), 4);
}

#[test]
fn kill_9_the_daemon_mid_poll_then_restart_completes_the_work() {
    let server = TestServer::start();
    let mut rng = Rng(0xDAE);
    let (sources, served) = farm(&server, &mut rng);
    let expected = reference(&sources);

    let port = free_port();
    let extra = format!("{EVERY_SECOND}{}", server_section(port));
    let env = Env::with(FETCH, &sources, &extra);
    let start = || spawn_daemon(&env.config, None);
    // Five daemons, each killed with SIGKILL once the server has answered a
    // seeded number of feeds (its first pass is then half fetched, half
    // stored); the stale pid file is left behind as a real crash leaves it.
    for round in 0..5 {
        let before = served.load(Ordering::SeqCst);
        let after_feeds = 1 + rng.below(FEEDS as u64 - 5) as usize;
        let mut daemon = start();
        wait_for(
            Duration::from_secs(30),
            || served.load(Ordering::SeqCst) >= before + after_feeds,
            "the daemon polls",
        );
        std::thread::sleep(Duration::from_millis(rng.below(20)));
        let _ = daemon.kill();
        daemon.wait().unwrap();
        assert_sound_after_kill(&env, round);
    }
    // Restarted, the daemon finishes the work: the same stories and copies
    // as the clean run, none lost, none twice.
    let mut daemon = start();
    wait_for(
        Duration::from_secs(30),
        || contents(&env) == expected,
        "the restarted daemon stores every story once",
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().unwrap().success());
    if env.pg.is_none() {
        assert_eq!(integrity(&env.db_path()), "ok");
    }
    assert_eq!(contents(&env), expected);
}
