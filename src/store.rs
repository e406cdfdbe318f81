//! The only module that touches SQLite. Opens the database (WAL, foreign
//! keys on), applies `migrations/*.sql` in order, and stores polls in
//! groups, one savepoint per poll of one source: a crash mid-poll leaves no
//! half-written story.
//! Also the data-safety operations: retention, space reclamation, backup and
//! restore (docs/data-safety.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};
use serde::Serialize;

use crate::dedupe::{Candidate, Placement};
use crate::model::{NormalizedItem, ParsedItem, Validators};

/// Every migration, in order. Append only; a new release adds a line.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../migrations/0001_init.sql")),
    M::up(include_str!("../migrations/0002_topics.sql")),
    M::up(include_str!("../migrations/0003_poll_state.sql")),
    M::up(include_str!("../migrations/0004_near_duplicates.sql")),
    M::up(include_str!("../migrations/0005_retention.sql")),
    M::up(include_str!("../migrations/0006_parse_report.sql")),
    M::up(include_str!("../migrations/0007_full_text.sql")),
];

/// How long a write waits for another connection's write lock before it
/// fails with "database is locked". Long enough for any one poll's
/// transaction (milliseconds) or a backup's snapshot; short enough that a
/// stuck process is reported rather than hanging the daemon.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// After a checkpoint has emptied it, the WAL file is cut back to this size,
/// so one burst of writes (or a long reader) does not leave it large for good.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Pages in the WAL before SQLite copies them back (see `Store::open`).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}{hint}", hint = sql_hint(source))]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {path}: cannot create its folder: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database {path}: migration failed: {source}")]
    Migration {
        path: String,
        #[source]
        source: rusqlite_migration::Error,
    },
    #[error("database: {0}{hint}", hint = sql_hint(.0))]
    Sql(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A backup or restore refused to go on (the message says why).
    #[error("{path}: {message}")]
    Refused { path: String, message: String },
}

/// What to do about the SQLite errors an operator can fix.
fn sql_hint(e: &rusqlite::Error) -> &'static str {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            " (another process held the write lock longer than the 5 s busy timeout)"
        }
        Some(rusqlite::ErrorCode::DiskFull) => " (the disk holding the database is full)",
        Some(rusqlite::ErrorCode::ReadOnly) => {
            " (the database file or its folder is read-only for this user)"
        }
        Some(rusqlite::ErrorCode::CannotOpen) => " (check the path and its permissions)",
        _ => "",
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    conn: Connection,
}

/// A source as the config describes it.
pub struct SourceRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub url: &'a str,
    pub tags: &'a [String],
}

/// What topic matching sees of a story.
pub struct StoryView<'a> {
    /// Display title (the matcher normalizes it).
    pub title: &'a str,
    /// Normalized text.
    pub text: &'a str,
    /// Tags of every source that carried a copy.
    pub tags: &'a [String],
}

/// Decides a story's topics (the slugs it belongs to). The store calls it
/// inside the poll's transaction, so membership is never stale after a crash.
pub type Classify<'a> = &'a (dyn Fn(&StoryView<'_>) -> Vec<String> + Sync);

/// A topic as configured: its slug and a fingerprint of its query and tags.
pub struct TopicRow<'a> {
    pub slug: &'a str,
    pub fingerprint: &'a str,
}

/// One poll for `Store::record_polls`.
pub struct PollToStore {
    pub source_id: String,
    pub started: DateTime<Utc>,
    pub duration_ms: u64,
    pub outcome: PollOutcome,
}

/// What one poll of one source came to.
pub enum PollOutcome {
    NotModified {
        status: u16,
        /// The URL to use from now on, after permanent redirects.
        moved_to: Option<String>,
    },
    Fetched {
        status: u16,
        moved_to: Option<String>,
        validators: Validators,
        bytes: u64,
        feed_title: Option<String>,
        feed_language: Option<String>,
        feed_format: String,
        charset_json: String,
        items: Vec<NewCopy>,
        /// What parsing made of the document (`sources show`).
        parse: Box<ParseReport>,
        /// Article pages of new items (`fulltext`).
        pages: PageCounts,
    },
    Failed {
        status: Option<u16>,
        error: String,
        /// Do not poll before then (the server's Retry-After).
        retry_after: Option<DateTime<Utc>>,
        /// 410 Gone: stop polling this source.
        gone: bool,
    },
}

/// What became of the article pages of a poll's new items (`fulltext`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PageCounts {
    /// Fetched, and the article kept.
    pub fetched: u64,
    /// Not fetched, or no article longer than the feed's text: the feed's kept.
    pub failed: u64,
    /// Not tried: no http(s) link.
    pub skipped: u64,
}

/// What parsing made of one document.
#[derive(Clone, Debug, Default)]
pub struct ParseReport {
    /// Items the document held.
    pub document_items: u64,
    /// Items read from it (before retention and duplicate keys).
    pub items_read: u64,
    /// Items skipped for having neither a title, nor text, nor a link.
    pub skipped: u64,
    /// What the lenient reading repaired, where a broken document broke.
    pub note: Option<String>,
}

/// One item of a poll, with everything the store needs of it that depends
/// on the item alone. `pipeline::process` builds it on the blocking pool, in
/// parallel, so that the writer (one connection behind a mutex, the part of
/// the poll that does not run in parallel) does only SQL.
pub struct NewCopy {
    pub item: ParsedItem,
    pub norm: NormalizedItem,
    /// `item.key()`.
    key: String,
    /// `item.raw_hash()`.
    raw_hash: String,
    /// The authors as stored (JSON).
    authors: String,
    /// Characters in the normalized text.
    text_len: i64,
    /// The article from the item's page (cleaned HTML), when `fulltext`
    /// found one longer than the feed's text; `norm` is then made from it.
    full_html: Option<String>,
    /// `dedupe::index_keys` of the text, when worked out in advance; `None`
    /// when the item looked known or a copy of a story already met (the
    /// writer then computes them itself if it turns out to need them).
    near_keys: Option<Vec<i64>>,
}

impl NewCopy {
    /// `key` is `item.key()` (the caller has it already).
    pub fn new(item: ParsedItem, norm: NormalizedItem, key: String) -> NewCopy {
        NewCopy {
            raw_hash: item.raw_hash(),
            authors: serde_json::to_string(&item.authors).unwrap_or_else(|_| "[]".into()),
            text_len: norm.text.chars().count() as i64,
            near_keys: None,
            full_html: None,
            key,
            item,
            norm,
        }
    }

    /// The article from the item's page, and what normalizing it gave: the
    /// copy's text, content hash and length are the article's from now on
    /// (the raw hash stays the feed item's: the page is not fetched again
    /// unless the item changes).
    /// `near_keys`: the article's `dedupe::index_keys`, when worked out
    /// (else the writer computes them if it needs them).
    pub fn set_full_text(
        &mut self,
        html: String,
        norm: NormalizedItem,
        near_keys: Option<Vec<i64>>,
    ) {
        self.text_len = norm.text.chars().count() as i64;
        self.norm = norm;
        self.full_html = Some(html);
        self.near_keys = near_keys;
    }

    /// The article set by `set_full_text`.
    pub fn full_html(&self) -> Option<&str> {
        self.full_html.as_deref()
    }

    /// `item.key()`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `item.raw_hash()`.
    pub fn raw_hash(&self) -> &str {
        &self.raw_hash
    }

    /// Works out the near-duplicate index keys now (see `near_keys`).
    pub fn compute_near_keys(&mut self, near: &crate::dedupe::Params) {
        self.near_keys = Some(keys_of(&self.norm.text, near));
    }
}

/// What the scheduler and the fetcher need of a source.
#[derive(Clone, Debug, Default)]
pub struct SourceState {
    pub validators: Validators,
    pub moved_to: Option<String>,
    pub poll: crate::model::PollState,
}

/// Counts from storing one poll.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PollCounts {
    pub items: u64,
    pub items_new: u64,
    pub items_known: u64,
    pub items_updated: u64,
    pub stories_new: u64,
    pub stories_merged: u64,
    /// Items skipped for having neither a title, nor text, nor a link.
    pub items_skipped: u64,
    /// Stories stored apart and merged into another because a new copy
    /// matched both (`merge_stories`).
    pub stories_bridged: u64,
    /// Article pages (`fulltext`): fetched and kept, failed, skipped.
    pub pages_fetched: u64,
    pub pages_failed: u64,
    pub pages_skipped: u64,
}

impl std::ops::AddAssign for PollCounts {
    fn add_assign(&mut self, o: Self) {
        self.items += o.items;
        self.items_new += o.items_new;
        self.items_known += o.items_known;
        self.items_updated += o.items_updated;
        self.stories_new += o.stories_new;
        self.stories_merged += o.stories_merged;
        self.items_skipped += o.items_skipped;
        self.stories_bridged += o.stories_bridged;
        self.pages_fetched += o.pages_fetched;
        self.pages_failed += o.pages_failed;
        self.pages_skipped += o.pages_skipped;
    }
}

/// A story as a topic feed shows it.
#[derive(Clone, Debug)]
pub struct FeedStory {
    pub id: String,
    pub title: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Every copy, the one that carried the story first first.
    pub copies: Vec<FeedCopy>,
}

#[derive(Clone, Debug)]
pub struct FeedCopy {
    pub source_id: String,
    pub source_name: String,
    pub language: Option<String>,
    pub link: Option<String>,
    pub title: Option<String>,
    pub summary_html: Option<String>,
    pub content_html: Option<String>,
    pub authors: Vec<String>,
    pub published: DateTime<Utc>,
    /// Length of the normalized text (boilerplate excluded).
    pub text_len: usize,
}

/// What the database knows of a source (`sources list`, `sources show`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceStatus {
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<String>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub consecutive_failures: i64,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub last_item_count: Option<i64>,
    pub feed_title: Option<String>,
    pub feed_format: Option<String>,
    /// JSON: what decode decided about the charset, and why.
    pub charset: Option<String>,
    pub moved_to: Option<String>,
    pub gone_at: Option<DateTime<Utc>>,
    pub retry_after: Option<DateTime<Utc>>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub copies: i64,
    pub stories: i64,
    /// Items the last document held, and how many of them were read.
    pub document_items: Option<i64>,
    pub items_read: Option<i64>,
    /// What the lenient reading repaired in the last document.
    pub parse_note: Option<String>,
    /// "0 of 12 items read": the last poll answered with items and none
    /// could be read (a silent loss otherwise).
    pub warning: Option<String>,
}

impl SourceStatus {
    fn with_warning(mut self) -> SourceStatus {
        self.warning = match (
            self.last_outcome.as_deref(),
            self.document_items,
            self.items_read,
        ) {
            (Some("ok"), Some(doc), Some(0)) if doc > 0 => Some(format!("0 of {doc} items read")),
            _ => None,
        };
        self
    }
}

/// One row of poll history.
#[derive(Clone, Debug, Serialize)]
pub struct PollRow {
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub outcome: String,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub items: i64,
    pub items_new: i64,
    pub stories_new: i64,
    pub stories_merged: i64,
    pub items_skipped: i64,
    pub pages_fetched: i64,
    pub pages_failed: i64,
    pub pages_skipped: i64,
}

/// A story's id, title, normalized text and date.
pub struct StoryText {
    pub id: String,
    pub title: String,
    pub text: String,
    pub published: DateTime<Utc>,
}

/// A story as `export` prints it.
#[derive(Debug, Serialize)]
pub struct ExportedStory {
    pub id: String,
    pub content_hash: String,
    pub title: String,
    pub link: Option<String>,
    pub published: String,
    pub topics: Vec<String>,
    /// The plain text topics match and near-duplicate detection compares
    /// (normalized: NFKC, lower case, boilerplate removed; the fullest copy's).
    pub text: String,
    pub copies: Vec<ExportedCopy>,
}

#[derive(Debug, Serialize)]
pub struct ExportedCopy {
    pub source: String,
    pub guid: Option<String>,
    pub link: Option<String>,
    pub title: Option<String>,
    pub published: String,
    /// How the copy joined its story: first, exact, jaccard or containment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The score that decided (1 for first and exact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn datetime(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn rfc3339(secs: i64) -> String {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: shown.clone(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Space freed by retention goes back to the file system with
        // `PRAGMA incremental_vacuum` (see `reclaim`). SQLite honours this
        // only before the first table exists, i.e. on a new database; an
        // older one is converted once by `reclaim` (a VACUUM).
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(open_err)?;
        // WAL: readers (the HTTP cache refresh, `export`, a backup) never
        // block the poller's writes, and a crash at any moment leaves either
        // the old or the new state of every transaction.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        // NORMAL in WAL mode: a commit is durable once the OS has it, so a
        // killed process loses nothing; a power cut may lose the last
        // transactions (the next poll fetches them again) but never
        // corrupts the file. FULL would fsync every poll for little gain.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .map_err(open_err)?;
        // Every write transaction takes the write lock at BEGIN (BEGIN
        // IMMEDIATE), so it waits out the busy timeout for another writer.
        // A deferred transaction that reads first and then writes would get
        // SQLITE_BUSY at once when another process wrote in between.
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        // A cold poll of 1,000 feeds writes a ~200 MB database through
        // random index pages (near_keys, copies): with SQLite's default 2 MB
        // page cache over a third of the poll's CPU time was in the kernel,
        // much of it reading back pages the cache had just evicted
        // (BENCHMARKS.md, "Profile"). 32 MiB keeps the hot index pages in
        // memory and the poll's peak RSS under its 150 MB target.
        conn.pragma_update(None, "cache_size", -32 * 1024)
            .map_err(open_err)?;
        // Checkpoint every 10,000 WAL pages (~40 MB) instead of SQLite's
        // 1,000: a cold poll rewrites the same hot index pages in every
        // source's transaction, and each checkpoint copied them back into
        // the database file again. Fewer checkpoints: cold poll of the
        // 1,000-feed farm 12.2 → 9.3 s wall, 11.2 → 9.8 CPU s, same RSS
        // (BENCHMARKS.md). The WAL stays under `journal_size_limit`, and the
        // daemon's hourly TRUNCATE checkpoint still empties it.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
            .map_err(open_err)?;

        // A poll runs about 30 distinct statements (plus the
        // near-duplicate lookup, one per key count); all of them stay
        // prepared instead of being parsed again on every call (SQLite's
        // parser was 1.6% of the cold poll). rusqlite keeps 16 by default.
        conn.set_prepared_statement_cache_capacity(64);
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut conn)
            .map_err(|source| StoreError::Migration {
                path: shown,
                source,
            })?;
        Ok(Store { conn })
    }

    /// Inserts new sources and refreshes the name and URL of known ones.
    pub fn sync_sources(&mut self, sources: &[SourceRow<'_>]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO sources (id, name, url, tags) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, tags = excluded.tags,
                   etag = CASE WHEN url = excluded.url THEN etag END,
                   last_modified = CASE WHEN url = excluded.url THEN last_modified END,
                   moved_to = CASE WHEN url = excluded.url THEN moved_to END,
                   gone_at = CASE WHEN url = excluded.url THEN gone_at END,
                   retry_after_until = CASE WHEN url = excluded.url THEN retry_after_until END,
                   consecutive_failures = CASE WHEN url = excluded.url THEN consecutive_failures ELSE 0 END,
                   url = excluded.url",
            )?;
            for s in sources {
                let tags = serde_json::to_string(s.tags).unwrap_or_else(|_| "[]".into());
                stmt.execute(params![s.id, s.name, s.url, tags])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// `sources remove --purge`: deletes a source's copies, every story left
    /// with no copy, and the source's row and poll history, in one
    /// transaction. Stories other outlets also carried stay, linked to their
    /// earliest remaining copy; topics that lose or change a story move
    /// their `changed_at` so the feeds are rebuilt. Returns (copies, stories)
    /// deleted.
    pub fn purge_source(&mut self, id: &str) -> Result<(usize, usize)> {
        let tx = self.conn.transaction()?;
        let touched = "SELECT DISTINCT story_id FROM copies WHERE source_id = ?1";
        tx.execute(
            &format!(
                "UPDATE topics SET changed_at = ?2 WHERE slug IN
                   (SELECT topic FROM story_topics WHERE story_id IN ({touched}))"
            ),
            params![id, Utc::now().timestamp_millis()],
        )?;
        tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS purge_touched (story_id TEXT PRIMARY KEY)",
            [],
        )?;
        tx.execute("DELETE FROM temp.purge_touched", [])?;
        tx.execute(
            &format!("INSERT INTO temp.purge_touched {touched}"),
            params![id],
        )?;
        let copies = tx.execute("DELETE FROM copies WHERE source_id = ?1", params![id])?;
        let stories = tx.execute(
            "DELETE FROM stories WHERE id IN (SELECT story_id FROM temp.purge_touched)
               AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.story_id = stories.id)",
            [],
        )?;
        tx.execute(
            "UPDATE stories SET link = (SELECT c.link FROM copies c WHERE c.story_id = stories.id
                                         ORDER BY c.first_seen, c.published, c.id LIMIT 1)
             WHERE id IN (SELECT story_id FROM temp.purge_touched)",
            [],
        )?;
        tx.execute("DELETE FROM temp.purge_touched", [])?;
        tx.execute("DELETE FROM sources WHERE id = ?1", params![id])?;
        tx.commit()?;
        Ok((copies, stories))
    }

    /// Whether the database knows a source (it may have left the config).
    pub fn has_source(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM sources WHERE id = ?1", params![id], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// Validators, remembered redirect and scheduling state of every source.
    pub fn source_states(&self) -> Result<std::collections::HashMap<String, SourceState>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {STATE_COLUMNS} FROM sources"))?;
        let rows = stmt.query_map([], state_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The state of one source (default when it was never seen).
    pub fn source_state(&self, source_id: &str) -> Result<SourceState> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM sources WHERE id = ?1"
        ))?;
        let row = stmt.query_row([source_id], state_row).optional()?;
        Ok(row.map(|(_, s)| s).unwrap_or_default())
    }

    /// Records when the daemon plans to poll each source next.
    pub fn set_next_polls(&mut self, plan: &[(&str, Option<DateTime<Utc>>)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("UPDATE sources SET next_poll_at = ?2 WHERE id = ?1")?;
            for (id, at) in plan {
                stmt.execute(params![id, at.map(ts)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Health and counts of every source in the database, by id.
    pub fn source_status(&self) -> Result<std::collections::HashMap<String, SourceStatus>> {
        let mut counts: std::collections::HashMap<String, (i64, i64)> =
            std::collections::HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT source_id, count(*), count(DISTINCT story_id) FROM copies GROUP BY source_id")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?))))?;
            for row in rows {
                let (id, c) = row?;
                counts.insert(id, c);
            }
        }
        let mut stmt = self.conn.prepare(
            "SELECT id, last_poll_at, last_outcome, last_status, last_error, consecutive_failures, next_poll_at,
                    last_item_count, feed_title, feed_format, charset, moved_to, gone_at, retry_after_until,
                    etag, last_modified, last_document_items, last_items_read, parse_note
             FROM sources",
        )?;
        let rows = stmt.query_map([], |r| {
            let id: String = r.get(0)?;
            let (copies, stories) = counts.get(&id).copied().unwrap_or((0, 0));
            Ok((
                id,
                SourceStatus {
                    last_poll_at: r.get::<_, Option<i64>>(1)?.map(datetime),
                    last_outcome: r.get(2)?,
                    last_status: r.get(3)?,
                    last_error: r.get(4)?,
                    consecutive_failures: r.get(5)?,
                    next_poll_at: r.get::<_, Option<i64>>(6)?.map(datetime),
                    last_item_count: r.get(7)?,
                    feed_title: r.get(8)?,
                    feed_format: r.get(9)?,
                    charset: r.get(10)?,
                    moved_to: r.get(11)?,
                    gone_at: r.get::<_, Option<i64>>(12)?.map(datetime),
                    retry_after: r.get::<_, Option<i64>>(13)?.map(datetime),
                    etag: r.get(14)?,
                    last_modified: r.get(15)?,
                    copies,
                    stories,
                    document_items: r.get(16)?,
                    items_read: r.get(17)?,
                    parse_note: r.get(18)?,
                    warning: None,
                }
                .with_warning(),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The `n` most recent polls of a source, newest first.
    pub fn recent_polls(&self, source_id: &str, n: usize) -> Result<Vec<PollRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT started_at, duration_ms, outcome, status, error, items, items_new, stories_new, stories_merged,
                    items_skipped, pages_fetched, pages_failed, pages_skipped
             FROM polls WHERE source_id = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![source_id, n as i64], |r| {
            Ok(PollRow {
                started_at: datetime(r.get(0)?),
                duration_ms: r.get(1)?,
                outcome: r.get(2)?,
                status: r.get(3)?,
                error: r.get(4)?,
                items: r.get(5)?,
                items_new: r.get(6)?,
                stories_new: r.get(7)?,
                stories_merged: r.get(8)?,
                items_skipped: r.get(9)?,
                pages_fetched: r.get(10)?,
                pages_failed: r.get(11)?,
                pages_skipped: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest `limit` stories: (id, title, normalized text, published).
    pub fn newest_stories(&self, limit: usize) -> Result<Vec<StoryText>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, title, text, published FROM stories ORDER BY published DESC, id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(StoryText {
                id: r.get(0)?,
                title: r.get(1)?,
                text: r.get(2)?,
                published: datetime(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stories per topic.
    pub fn topic_counts(&self) -> Result<std::collections::HashMap<String, i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT topic, count(*) FROM story_topics GROUP BY topic")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A read-only connection to an existing database, for readers that
    /// must never wait for the writer (WAL: readers see the last commit
    /// while a write transaction runs). Run no migrations: the writer did.
    pub fn open_reader(path: &Path) -> Result<Store> {
        let conn = open_existing(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.pragma_update(None, "cache_size", -8 * 1024)?;
        Ok(Store { conn })
    }

    /// Is the database answering? (the watchdog's check)
    pub fn ping(&self) -> Result<()> {
        self.conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    /// When any source last polled successfully.
    pub fn last_success(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<i64> =
            self.conn
                .query_row("SELECT max(last_success_at) FROM sources", [], |r| r.get(0))?;
        Ok(t.map(datetime))
    }

    /// The items stored from `source_id`: item key → raw hash. Read before a
    /// poll's items are prepared, to leave out the work known items do not
    /// need; the poll's transaction looks each item up again.
    pub fn known_items(
        &self,
        source_id: &str,
    ) -> Result<std::collections::HashMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT item_key, raw_hash FROM copies WHERE source_id = ?1")?;
        let rows = stmt.query_map([source_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stores one poll of `source_id` (see `record_polls`).
    pub fn record_poll(
        &mut self,
        source_id: &str,
        started: DateTime<Utc>,
        duration_ms: u64,
        outcome: PollOutcome,
        classify: Classify<'_>,
        near: &crate::dedupe::Params,
    ) -> Result<PollCounts> {
        let poll = PollToStore {
            source_id: source_id.to_string(),
            started,
            duration_ms,
            outcome,
        };
        self.record_polls(vec![poll], classify, near)?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Sql(rusqlite::Error::QueryReturnedNoRows)))
    }

    /// Stores several polls in one transaction (group commit: the writer
    /// takes what has queued up), each in a savepoint of its own: one poll
    /// of one source is all-or-nothing, and a poll that fails to store is
    /// rolled back alone and reported in its own result. The outer error is
    /// the transaction's (beginning or committing it): then none is stored.
    pub fn record_polls(
        &mut self,
        polls: Vec<PollToStore>,
        classify: Classify<'_>,
        near: &crate::dedupe::Params,
    ) -> Result<Vec<Result<PollCounts>>> {
        let now = ts(Utc::now());
        let mut tx = self.conn.transaction()?;
        let mut results = Vec::with_capacity(polls.len());
        for poll in polls {
            let sp = tx.savepoint()?;
            match record_one(&sp, poll, now, classify, near) {
                Ok(counts) => {
                    sp.commit()?;
                    results.push(Ok(counts));
                }
                // Dropping the savepoint rolls this poll back.
                Err(e) => results.push(Err(e.into())),
            }
        }
        tx.commit()?;
        Ok(results)
    }

    /// Brings topic membership in line with the configured topics: topics
    /// that are new or whose query or tags changed are evaluated against every
    /// stored story; removed topics are forgotten. Returns the re-evaluated slugs.
    pub fn sync_topics(
        &mut self,
        topics: &[TopicRow<'_>],
        classify: Classify<'_>,
    ) -> Result<Vec<String>> {
        let tx = self.conn.transaction()?;
        let known: Vec<(String, String)> = {
            let mut stmt = tx.prepare("SELECT slug, fingerprint FROM topics")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (slug, _) in &known {
            if !topics.iter().any(|t| t.slug == slug) {
                tx.execute("DELETE FROM story_topics WHERE topic = ?1", [slug])?;
                tx.execute("DELETE FROM topics WHERE slug = ?1", [slug])?;
            }
        }
        let stale: Vec<&TopicRow<'_>> = topics
            .iter()
            .filter(|t| {
                !known
                    .iter()
                    .any(|(slug, fp)| slug == t.slug && fp == t.fingerprint)
            })
            .collect();
        if !stale.is_empty() {
            let now = Utc::now().timestamp_millis();
            for t in &stale {
                tx.execute("DELETE FROM story_topics WHERE topic = ?1", [t.slug])?;
                tx.execute(
                    "INSERT INTO topics (slug, fingerprint, changed_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (slug) DO UPDATE SET fingerprint = excluded.fingerprint, changed_at = excluded.changed_at",
                    params![t.slug, t.fingerprint, now],
                )?;
            }
            let tags = source_tags(&tx)?;
            let mut stories = tx.prepare(
                "SELECT st.id, st.title, st.text, group_concat(DISTINCT c.source_id)
                 FROM stories st JOIN copies c ON c.story_id = st.id GROUP BY st.id",
            )?;
            let mut insert =
                tx.prepare("INSERT OR IGNORE INTO story_topics (topic, story_id) VALUES (?1, ?2)")?;
            let mut rows = stories.query([])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                let title: String = r.get(1)?;
                let text: String = r.get(2)?;
                let sources: String = r.get::<_, Option<String>>(3)?.unwrap_or_default();
                let story_tags = tags_of(&tags, sources.split(','));
                let view = StoryView {
                    title: &title,
                    text: &text,
                    tags: &story_tags,
                };
                for slug in classify(&view) {
                    if stale.iter().any(|t| t.slug == slug) {
                        insert.execute(params![slug, id])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(stale.iter().map(|t| t.slug.to_string()).collect())
    }

    /// The `limit` newest stories of a topic, with all their copies.
    pub fn topic_feed(&self, slug: &str, limit: usize) -> Result<Vec<FeedStory>> {
        let mut stories = self.conn.prepare_cached(
            "SELECT st.id, st.title, st.link, st.published, st.updated_at
             FROM story_topics t JOIN stories st ON st.id = t.story_id
             WHERE t.topic = ?1 ORDER BY st.published DESC, st.first_seen DESC, st.id LIMIT ?2",
        )?;
        let mut copies = self.conn.prepare_cached(
            "SELECT c.source_id, s.name, s.language, c.link, c.title, c.summary_html,
                    coalesce(c.full_html, c.content_html), c.authors, c.published, c.text_len
             FROM copies c JOIN sources s ON s.id = c.source_id
             WHERE c.story_id = ?1 ORDER BY c.published, c.first_seen, c.id",
        )?;
        let found = stories
            .query_map(params![slug, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(found.len());
        for (id, title, link, published, updated) in found {
            let list = copies
                .query_map([&id], |c| {
                    let authors: Option<String> = c.get(7)?;
                    Ok(FeedCopy {
                        source_id: c.get(0)?,
                        source_name: c.get(1)?,
                        language: c.get(2)?,
                        link: c.get(3)?,
                        title: c.get(4)?,
                        summary_html: c.get(5)?,
                        content_html: c.get(6)?,
                        authors: authors
                            .and_then(|a| serde_json::from_str(&a).ok())
                            .unwrap_or_default(),
                        published: datetime(c.get(8)?),
                        text_len: c.get::<_, i64>(9)? as usize,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(FeedStory {
                id,
                title,
                link,
                published: datetime(published),
                updated: datetime(updated),
                copies: list,
            });
        }
        Ok(out)
    }

    /// Indexes stories stored before near-duplicate detection existed (or
    /// before a threshold change made them long enough). Returns how many.
    pub fn backfill_near_keys(&mut self, keys: &dyn Fn(&str) -> Vec<i64>) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut done = 0;
        {
            let mut stmt = tx.prepare("SELECT id, text FROM stories WHERE near_indexed = 0")?;
            let rows: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (id, text) in rows {
                let k = keys(&text);
                index_story(&tx, &id, &k)?;
                done += usize::from(!k.is_empty());
            }
        }
        tx.commit()?;
        Ok(done)
    }

    /// Story ids starting with `prefix` (at most 10).
    pub fn story_ids(&self, prefix: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT id FROM stories WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 10",
        )?;
        let rows = stmt.query_map([prefix.to_ascii_lowercase()], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One story with its copies and why each joined (`stories explain`).
    pub fn story(&self, id: &str) -> Result<Option<(ExportedStory, String)>> {
        let mut found = None;
        // The callback cannot fail, so the inner io::Result is always Ok.
        let _ = self.export_where("id = ?3", Some(id), None, None, |s| {
            found = Some(s);
            Ok(())
        })?;
        let Some(story) = found else { return Ok(None) };
        let text: String =
            self.conn
                .query_row("SELECT text FROM stories WHERE id = ?1", [id], |r| r.get(0))?;
        Ok(Some((story, text)))
    }

    /// Stories sharing a near-duplicate index key with `keys`, except `not`:
    /// (id, title, text, published).
    pub fn near_candidates(&self, keys: &[i64], not: &str) -> Result<Vec<StoryText>> {
        let mut out = Vec::new();
        for Candidate {
            id,
            text,
            published,
            ..
        } in candidates(&self.conn, keys, Some(not))?
        {
            let title: String =
                self.conn
                    .query_row("SELECT title FROM stories WHERE id = ?1", [&id], |r| {
                        r.get(0)
                    })?;
            out.push(StoryText {
                id,
                title,
                text,
                published: datetime(published),
            });
        }
        Ok(out)
    }

    /// When each topic's feed last changed (unix ms), by slug.
    pub fn topic_versions(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT slug, changed_at FROM topics ORDER BY slug")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every story published at or after `since` (in `topic`, when given),
    /// newest first, to `out`.
    pub fn export(
        &self,
        topic: Option<&str>,
        since: Option<DateTime<Utc>>,
        out: impl FnMut(ExportedStory) -> std::io::Result<()>,
    ) -> Result<std::io::Result<()>> {
        self.export_where("1", None, topic, since, out)
    }

    fn export_where(
        &self,
        filter: &str,
        id: Option<&str>,
        topic: Option<&str>,
        since: Option<DateTime<Utc>>,
        mut out: impl FnMut(ExportedStory) -> std::io::Result<()>,
    ) -> Result<std::io::Result<()>> {
        let mut stories = self.conn.prepare(&format!(
            "SELECT id, content_hash, title, link, published, text FROM stories
             WHERE published >= ?1
               AND (?2 IS NULL OR id IN (SELECT story_id FROM story_topics WHERE topic = ?2))
               AND {filter}
             ORDER BY published DESC, first_seen DESC, id"
        ))?;
        let mut topics = self
            .conn
            .prepare_cached("SELECT topic FROM story_topics WHERE story_id = ?1 ORDER BY topic")?;
        let mut copies = self.conn.prepare_cached(
            "SELECT source_id, guid, link, title, published, merge_method, merge_score FROM copies
             WHERE story_id = ?1 ORDER BY published, first_seen, id",
        )?;
        let since = since.map(ts).unwrap_or(i64::MIN);
        let mut rows = if filter == "1" {
            stories.query(params![since, topic])?
        } else {
            stories.query(params![since, topic, id])?
        };
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let list = copies
                .query_map([&id], |c| {
                    Ok(ExportedCopy {
                        source: c.get(0)?,
                        guid: c.get(1)?,
                        link: c.get(2)?,
                        title: c.get(3)?,
                        published: rfc3339(c.get(4)?),
                        method: c.get(5)?,
                        score: c
                            .get::<_, Option<f64>>(6)?
                            .map(|s| (s * 1000.0).round() / 1000.0),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let story = ExportedStory {
                id: id.clone(),
                content_hash: r.get(1)?,
                title: r.get(2)?,
                link: r.get(3)?,
                published: rfc3339(r.get(4)?),
                topics: topics
                    .query_map([&id], |t| t.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?,
                text: r.get(5)?,
                copies: list,
            };
            if let Err(e) = out(story) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }
}

/// One poll's rows: the source's state, its items (each placed by
/// `dedupe::place`), topic membership of the stories touched, the poll log.
fn record_one(
    tx: &Connection,
    poll: PollToStore,
    now: i64,
    classify: Classify<'_>,
    near: &crate::dedupe::Params,
) -> rusqlite::Result<PollCounts> {
    let PollToStore {
        source_id,
        started,
        duration_ms,
        outcome,
    } = poll;
    let source_id = source_id.as_str();
    let mut counts = PollCounts::default();
    let (label, status, error, bytes) = match &outcome {
        PollOutcome::NotModified { status, .. } => ("not_modified", Some(*status), None, 0),
        PollOutcome::Fetched { status, bytes, .. } => ("ok", Some(*status), None, *bytes),
        PollOutcome::Failed {
            status,
            error,
            gone,
            ..
        } => (
            if *gone { "gone" } else { "failed" },
            *status,
            Some(error.clone()),
            0,
        ),
    };
    match outcome {
        PollOutcome::NotModified { status, moved_to } => {
            tx.prepare_cached("UPDATE sources SET last_poll_at = ?2, last_success_at = ?2, last_outcome = 'not_modified',
                   last_status = ?3, last_error = NULL, consecutive_failures = 0, retry_after_until = NULL,
                   moved_to = coalesce(?4, moved_to) WHERE id = ?1")?.execute(
                params![source_id, now, status, moved_to],
            )?;
        }
        PollOutcome::Failed {
            status,
            error,
            retry_after,
            gone,
        } => {
            tx.prepare_cached("UPDATE sources SET last_poll_at = ?2, last_outcome = ?5, last_status = ?3,
                   last_error = ?4, consecutive_failures = consecutive_failures + 1,
                   retry_after_until = ?6, gone_at = CASE WHEN ?7 THEN ?2 ELSE gone_at END WHERE id = ?1")?.execute(
                params![source_id, now, status, error, label, retry_after.map(ts), gone],
            )?;
        }
        PollOutcome::Fetched {
            status,
            moved_to,
            validators,
            bytes: _,
            feed_title,
            feed_language,
            feed_format,
            charset_json,
            items,
            parse,
            pages,
        } => {
            counts.items_skipped = parse.skipped;
            counts.pages_fetched = pages.fetched;
            counts.pages_failed = pages.failed;
            counts.pages_skipped = pages.skipped;
            let mut touched = Vec::new();
            for copy in &items {
                counts += store_item(tx, source_id, copy, now, near, &mut touched)?;
            }
            touched.sort();
            touched.dedup();
            for story_id in &touched {
                classify_story(tx, story_id, classify)?;
            }
            tx.prepare_cached(
                "UPDATE sources SET last_poll_at = ?2, last_success_at = ?2, last_outcome = 'ok',
                   last_status = ?3, last_error = NULL, consecutive_failures = 0,
                   etag = ?4, last_modified = ?5, last_item_count = ?6, feed_title = ?7,
                   feed_format = ?8, charset = ?9, language = ?10, retry_after_until = NULL,
                   moved_to = coalesce(?11, moved_to), last_document_items = ?12,
                   last_items_read = ?13, parse_note = ?14 WHERE id = ?1",
            )?
            .execute(params![
                source_id,
                now,
                status,
                validators.etag,
                validators.last_modified,
                items.len() as i64,
                feed_title,
                feed_format,
                charset_json,
                feed_language,
                moved_to,
                parse.document_items as i64,
                parse.items_read as i64,
                parse.note
            ])?;
        }
    }
    tx.prepare_cached("INSERT INTO polls (source_id, started_at, duration_ms, outcome, status, error, bytes, items,
           items_new, stories_new, stories_merged, items_skipped, pages_fetched, pages_failed, pages_skipped)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")?.execute(
        params![
            source_id,
            ts(started),
            duration_ms as i64,
            label,
            status,
            error,
            bytes as i64,
            counts.items as i64,
            counts.items_new as i64,
            counts.stories_new as i64,
            counts.stories_merged as i64,
            counts.items_skipped as i64,
            counts.pages_fetched as i64,
            counts.pages_failed as i64,
            counts.pages_skipped as i64
        ],
    )?;
    Ok(counts)
}

/// Source id → its tags.
fn source_tags(
    tx: &Connection,
) -> rusqlite::Result<std::collections::HashMap<String, Vec<String>>> {
    let mut stmt = tx.prepare("SELECT id, tags FROM sources")?;
    let rows = stmt.query_map([], |r| {
        let tags: String = r.get(1)?;
        Ok((r.get(0)?, serde_json::from_str(&tags).unwrap_or_default()))
    })?;
    rows.collect()
}

fn tags_of<'a>(
    tags: &std::collections::HashMap<String, Vec<String>>,
    sources: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    let mut out: Vec<String> = sources
        .filter_map(|s| tags.get(s))
        .flatten()
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Recomputes one story's topics and marks every topic it enters, leaves or
/// stays in as changed (its entry in those feeds may look different now).
fn classify_story(tx: &Connection, story_id: &str, classify: Classify<'_>) -> rusqlite::Result<()> {
    let old: Vec<String> = {
        let mut stmt = tx.prepare_cached("SELECT topic FROM story_topics WHERE story_id = ?1")?;
        stmt.query_map([story_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let story: Option<(String, String)> = tx
        .query_row(
            "SELECT title, text FROM stories WHERE id = ?1",
            [story_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let new = match &story {
        Some((title, text)) => {
            let mut story_tags: Vec<String> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT DISTINCT s.tags FROM copies c JOIN sources s ON s.id = c.source_id WHERE c.story_id = ?1",
                )?;
                let lists = stmt.query_map([story_id], |r| r.get::<_, String>(0))?;
                let mut all = Vec::new();
                for list in lists {
                    all.extend(serde_json::from_str::<Vec<String>>(&list?).unwrap_or_default());
                }
                all
            };
            story_tags.sort();
            story_tags.dedup();
            classify(&StoryView {
                title,
                text,
                tags: &story_tags,
            })
        }
        None => Vec::new(),
    };
    let now = Utc::now().timestamp_millis();
    for slug in old.iter().filter(|o| !new.contains(o)) {
        tx.prepare_cached("DELETE FROM story_topics WHERE topic = ?1 AND story_id = ?2")?
            .execute(params![slug, story_id])?;
    }
    for slug in &new {
        tx.prepare_cached("INSERT OR IGNORE INTO story_topics (topic, story_id) VALUES (?1, ?2)")?
            .execute(params![slug, story_id])?;
    }
    for slug in old.iter().chain(new.iter()) {
        tx.prepare_cached("UPDATE topics SET changed_at = ?2 WHERE slug = ?1")?
            .execute(params![slug, now])?;
    }
    Ok(())
}

const STATE_COLUMNS: &str = "id, etag, last_modified, moved_to, last_poll_at, consecutive_failures, retry_after_until, gone_at";

fn state_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, SourceState)> {
    Ok((
        r.get(0)?,
        SourceState {
            validators: Validators {
                etag: r.get(1)?,
                last_modified: r.get(2)?,
            },
            moved_to: r.get(3)?,
            poll: crate::model::PollState {
                last_poll_at: r.get::<_, Option<i64>>(4)?.map(datetime),
                consecutive_failures: r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32,
                retry_after: r.get::<_, Option<i64>>(6)?.map(datetime),
                gone: r.get::<_, Option<i64>>(7)?.is_some(),
            },
        },
    ))
}

/// The near-duplicate keys of a text (none when detection is off).
fn keys_of(text: &str, near: &crate::dedupe::Params) -> Vec<i64> {
    if near.enabled {
        crate::dedupe::index_keys(text, near)
    } else {
        Vec::new()
    }
}

/// Adds a story's index keys (`dedupe::index_keys`) and marks it indexed.
fn index_story(tx: &Connection, story_id: &str, keys: &[i64]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("INSERT INTO near_keys (key, story_id) VALUES (?1, ?2)")?;
    for k in keys {
        stmt.execute(params![k, story_id])?;
    }
    tx.prepare_cached("UPDATE stories SET near_indexed = 1 WHERE id = ?1")?
        .execute([story_id])?;
    Ok(())
}

/// Index rows read per key: the newest stories under each key. A key that
/// thousands of stories share (a feed whose items all open alike) would
/// otherwise make every lookup read them all, quadratic over a poll.
const ROWS_PER_KEY: usize = 32;

/// The lookup of `candidates` for `n` keys: the cap is in the query, per
/// key, before any grouping.
fn candidates_sql(n: usize) -> String {
    let per_key = format!(
        "SELECT story_id FROM (SELECT story_id FROM near_keys WHERE key = ? ORDER BY rowid DESC LIMIT {ROWS_PER_KEY})"
    );
    let union = vec![per_key.as_str(); n].join(" UNION ALL ");
    format!(
        "SELECT s.id, s.text, s.published, s.first_seen FROM
           (SELECT story_id, count(*) AS shared FROM ({union}) GROUP BY story_id
            ORDER BY shared DESC LIMIT 21) k
         JOIN stories s ON s.id = k.story_id ORDER BY k.shared DESC"
    )
}

/// Stories sharing an index key with `keys` (at most 20, most keys shared
/// first), from the newest `ROWS_PER_KEY` stories under each key.
fn candidates(
    conn: &Connection,
    keys: &[i64],
    not: Option<&str>,
) -> rusqlite::Result<Vec<Candidate>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(&candidates_sql(keys.len()))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(keys.iter()), |r| {
        Ok(Candidate {
            id: r.get(0)?,
            text: r.get(1)?,
            published: r.get(2)?,
            first_seen: r.get(3)?,
        })
    })?;
    let mut out: Vec<Candidate> = rows.collect::<rusqlite::Result<_>>()?;
    out.retain(|c| Some(c.id.as_str()) != not);
    out.truncate(20);
    Ok(out)
}

/// Merges story `absorbed` into `survivor`: a new copy was judged the same
/// as both, so they were one story that arrived in an order that kept them
/// apart (a summary stored before the full text that links it to another
/// copy). Hand-written like the rest of the dedupe: no crate knows our
/// stories. The survivor is the story readers saw first, so no feed shows a
/// new entry for it; the absorbed story's copies, index keys and topic
/// memberships move over, its text too when longer, the earliest link and
/// date win, and its entry leaves the topic feeds.
fn merge_stories(
    tx: &Connection,
    survivor: &str,
    absorbed: &str,
    score: f64,
    now: i64,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE topics SET changed_at = ?2 WHERE slug IN
           (SELECT topic FROM story_topics WHERE story_id = ?1)",
        params![absorbed, Utc::now().timestamp_millis()],
    )?;
    tx.execute(
        "UPDATE copies SET story_id = ?1, merge_method = 'bridge', merge_score = ?3
         WHERE story_id = ?2",
        params![survivor, absorbed, score],
    )?;
    tx.execute(
        "UPDATE near_keys SET story_id = ?1 WHERE story_id = ?2",
        params![survivor, absorbed],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO story_topics (topic, story_id)
         SELECT topic, ?1 FROM story_topics WHERE story_id = ?2",
        params![survivor, absorbed],
    )?;
    tx.execute(
        "UPDATE stories SET
           text = CASE WHEN length(a.text) > length(stories.text) THEN a.text ELSE stories.text END,
           content_hash = CASE WHEN length(a.text) > length(stories.text) THEN a.content_hash
                               ELSE stories.content_hash END,
           link = CASE WHEN a.published < stories.published THEN a.link ELSE stories.link END,
           published = min(stories.published, a.published),
           updated_at = ?3
         FROM (SELECT text, content_hash, link, published FROM stories WHERE id = ?2) AS a
         WHERE stories.id = ?1",
        params![survivor, absorbed, now],
    )?;
    tx.execute("DELETE FROM stories WHERE id = ?1", [absorbed])?;
    Ok(())
}

/// The story an identical normalized body already belongs to, if any.
fn find_story(tx: &Connection, hash: &str, not: Option<&str>) -> rusqlite::Result<Option<String>> {
    tx.prepare_cached(
        "SELECT story_id FROM copies WHERE content_hash = ?1 AND story_id IS NOT ?2
         UNION ALL SELECT id FROM stories WHERE (id = ?1 OR content_hash = ?1) AND id IS NOT ?2
         LIMIT 1",
    )?
    .query_row(params![hash, not], |r| r.get(0))
    .optional()
}

/// Stores one item: a new copy (of a new or an existing story), a known
/// copy seen again, or an edited copy.
fn store_item(
    tx: &Connection,
    source_id: &str,
    copy: &NewCopy,
    now: i64,
    near: &crate::dedupe::Params,
    touched: &mut Vec<String>,
) -> rusqlite::Result<PollCounts> {
    let mut c = PollCounts {
        items: 1,
        ..Default::default()
    };
    let (item, norm) = (&copy.item, &copy.norm);
    let key = copy.key.as_str();
    let raw_hash = copy.raw_hash.as_str();
    let hash = norm.content_hash.0.as_str();
    // A date in the future (a wrong time zone) is not believed.
    let published = item
        .published
        .map(ts)
        .filter(|p| *p <= now + 600)
        .unwrap_or(now);
    let authors = copy.authors.as_str();
    let text_len = copy.text_len;

    let existing: Option<(i64, String, String, String)> = tx
        .query_row(
            "SELECT id, story_id, raw_hash, content_hash FROM copies WHERE source_id = ?1 AND item_key = ?2",
            params![source_id, key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;

    match existing {
        Some((copy_id, _, old_raw, _)) if old_raw == raw_hash => {
            tx.prepare_cached("UPDATE copies SET last_seen = ?2 WHERE id = ?1")?
                .execute(params![copy_id, now])?;
            c.items_known = 1;
        }
        Some((copy_id, story_id, _, old_hash)) => {
            // The outlet edited the item: update the copy in place.
            tx.prepare_cached("UPDATE copies SET guid = ?2, link = ?3, title = ?4, summary_html = ?5, content_html = ?6,
                   authors = ?7, updated = ?8, last_seen = ?9, content_hash = ?10, raw_hash = ?11,
                   text_len = ?12, full_html = ?13 WHERE id = ?1")?.execute(
                params![
                    copy_id,
                    item.guid,
                    item.link,
                    item.title,
                    item.summary_html,
                    item.content_html,
                    authors,
                    item.updated.map(ts),
                    now,
                    hash,
                    raw_hash,
                    text_len,
                    copy.full_html
                ],
            )?;
            c.items_updated = 1;
            touched.push(story_id.clone());
            let others: i64 = tx
                .prepare_cached("SELECT count(*) FROM copies WHERE story_id = ?1 AND id != ?2")?
                .query_row(params![story_id, copy_id], |r| r.get(0))?;
            let elsewhere = if old_hash != hash {
                find_story(tx, hash, Some(&story_id))?
            } else {
                None
            };
            if let Some(target) = elsewhere {
                // The edit made it identical to another story: it joins that one.
                tx.prepare_cached("UPDATE copies SET story_id = ?2 WHERE id = ?1")?
                    .execute(params![copy_id, target])?;
                tx.prepare_cached("UPDATE stories SET updated_at = ?2 WHERE id = ?1")?
                    .execute(params![target, now])?;
                if others == 0 {
                    // The old story disappears from its topics' feeds.
                    tx.prepare_cached(
                        "UPDATE topics SET changed_at = ?2
                         WHERE slug IN (SELECT topic FROM story_topics WHERE story_id = ?1)",
                    )?
                    .execute(params![story_id, Utc::now().timestamp_millis()])?;
                    tx.prepare_cached("DELETE FROM stories WHERE id = ?1")?
                        .execute([&story_id])?;
                }
            } else if others == 0 {
                // Its story's only copy: the story follows the edit, keeping its id.
                tx.prepare_cached("UPDATE stories SET title = ?2, text = ?3, content_hash = ?4, updated_at = ?5 WHERE id = ?1")?.execute(
                    params![story_id, norm.title, norm.text, hash, now],
                )?;
            }
        }
        None => {
            let exact = find_story(tx, hash, None)?;
            // Near-duplicate keys are computed only for copies that do not
            // join a story by exact hash, and once: they serve both the
            // lookup and the index (MinHash of the whole text is a top item
            // of the cold poll's profile).
            let keys = match (&exact, &copy.near_keys) {
                (Some(_), _) => Vec::new(),
                (None, Some(keys)) => keys.clone(),
                (None, None) => keys_of(&norm.text, near),
            };
            let candidates = if exact.is_none() && near.enabled {
                candidates(tx, &keys, None)?
            } else {
                Vec::new()
            };
            // The rule is `dedupe::place`; this carries it out.
            let placement = crate::dedupe::place(
                &norm.text,
                item.published.map(|_| published),
                exact.as_deref(),
                &candidates,
                near,
            );
            let (story_id, method, score) = match placement {
                Placement::Exact { story } => (story, "exact", 1.0),
                Placement::Near {
                    story,
                    method,
                    score,
                    absorb,
                    fuller_text,
                } => {
                    for (absorbed, s) in &absorb {
                        merge_stories(tx, &story, absorbed, *s, now)?;
                        touched.retain(|t| t != absorbed);
                        c.stories_bridged += 1;
                    }
                    if fuller_text {
                        // A fuller text replaces a summary as the story's
                        // text (its id stays); both texts stay indexed.
                        tx.prepare_cached(
                            "UPDATE stories SET text = ?2, content_hash = ?3 WHERE id = ?1",
                        )?
                        .execute(params![story, norm.text, hash])?;
                    }
                    index_story(tx, &story, &keys)?;
                    (story, method, score)
                }
                Placement::New => {
                    tx.prepare_cached("INSERT INTO stories (id, content_hash, title, link, text, published, first_seen, updated_at)
                         VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?6)")?.execute(
                        params![hash, norm.title, item.link, norm.text, published, now],
                    )?;
                    index_story(tx, hash, &keys)?;
                    c.stories_new = 1;
                    (hash.to_string(), "first", 1.0)
                }
            };
            if method != "first" {
                // The story's link and date are those of the copy that
                // carried it first (earliest date; on a tie, first stored),
                // whatever order the polls happen to run in.
                tx.prepare_cached(
                    "UPDATE stories SET updated_at = ?2,
                       link = CASE WHEN ?3 < published THEN ?4 ELSE link END,
                       published = min(published, ?3)
                     WHERE id = ?1",
                )?
                .execute(params![story_id, now, published, item.link])?;
                c.stories_merged = 1;
            }
            tx.prepare_cached("INSERT INTO copies (story_id, source_id, item_key, guid, link, title, summary_html, content_html,
                   authors, published, updated, first_seen, last_seen, content_hash, raw_hash, text_len,
                   merge_method, merge_score, full_html)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16, ?17, ?18)")?.execute(
                params![
                    story_id,
                    source_id,
                    key,
                    item.guid,
                    item.link,
                    item.title,
                    item.summary_html,
                    item.content_html,
                    authors,
                    published,
                    item.updated.map(ts),
                    now,
                    hash,
                    raw_hash,
                    text_len,
                    method,
                    score,
                    copy.full_html
                ],
            )?;
            c.items_new = 1;
            touched.push(story_id);
        }
    }
    Ok(c)
}

// ---- data safety: retention, space, backup, restore ---------------------------

/// What one retention batch removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Stories deleted (with their copies, topic memberships and keys).
    pub stories: u64,
    /// Poll-history rows deleted.
    pub polls: u64,
}

/// What `reclaim` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Reclaimed {
    /// Free pages handed back to the file system.
    pub pages_freed: u64,
    /// The database had no incremental auto-vacuum yet and was converted
    /// (a one-time full VACUUM).
    pub converted: bool,
    /// A reader kept the checkpoint from emptying the WAL this time.
    pub wal_busy: bool,
}

/// Stories, copies and size of a database file (what a backup holds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DbSummary {
    pub stories: i64,
    pub copies: i64,
    pub bytes: u64,
}

impl Store {
    /// Deletes up to `limit` stories published before `cutoff` (their
    /// copies, topic memberships and near-duplicate keys go by ON DELETE
    /// CASCADE) and up to `limit` poll-history rows older than it, in one
    /// short transaction. The caller repeats while anything was deleted, so
    /// polls and feed rendering get the connection between batches.
    pub fn prune_batch(&mut self, cutoff: DateTime<Utc>, limit: usize) -> Result<Pruned> {
        let tx = self.conn.transaction()?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare_cached(
                "SELECT id FROM stories WHERE published < ?1 ORDER BY published LIMIT ?2",
            )?;
            stmt.query_map(params![ts(cutoff), limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let now_ms = Utc::now().timestamp_millis();
        for id in &ids {
            // The topics it leaves re-render (FeedCache follows changed_at).
            tx.execute(
                "UPDATE topics SET changed_at = ?2
                 WHERE slug IN (SELECT topic FROM story_topics WHERE story_id = ?1)",
                params![id, now_ms],
            )?;
            tx.execute("DELETE FROM stories WHERE id = ?1", [id])?;
        }
        let polls = tx.execute(
            "DELETE FROM polls WHERE id IN (SELECT id FROM polls WHERE started_at < ?1 LIMIT ?2)",
            params![ts(cutoff), limit as i64],
        )?;
        tx.commit()?;
        Ok(Pruned {
            stories: ids.len() as u64,
            polls: polls as u64,
        })
    }

    /// Hands free pages back to the file system and empties the WAL.
    ///
    /// New databases use `auto_vacuum = INCREMENTAL`: freed pages are
    /// returned here in steps of 1,000 (each its own short transaction).
    /// A database made before that setting existed is converted once with
    /// a full VACUUM. Then `wal_checkpoint(TRUNCATE)` copies the WAL into
    /// the database and cuts the WAL file to zero; a reader holding an old
    /// snapshot makes it report busy, and the next call finishes the job.
    pub fn reclaim(&mut self) -> Result<Reclaimed> {
        let mut done = Reclaimed::default();
        let mode: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
        let free = |c: &Connection| -> rusqlite::Result<i64> {
            c.query_row("PRAGMA freelist_count", [], |r| r.get(0))
        };
        if mode == 2 {
            loop {
                let before = free(&self.conn)?;
                if before == 0 {
                    break;
                }
                self.conn.execute_batch("PRAGMA incremental_vacuum(1000)")?;
                let after = free(&self.conn)?;
                done.pages_freed += (before - after).max(0) as u64;
                if after >= before {
                    break;
                }
            }
        } else if free(&self.conn)? > 0 {
            let before = free(&self.conn)?;
            self.conn
                .execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
            done.pages_freed = before.max(0) as u64;
            done.converted = true;
        }
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        done.wal_busy = busy != 0;
        Ok(done)
    }

    /// `PRAGMA integrity_check`: "ok", or the problems SQLite found.
    pub fn integrity_check(&self) -> Result<String> {
        integrity(&self.conn)
    }
}

fn integrity(conn: &Connection) -> Result<String> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(lines.join("; "))
}

fn summary(conn: &Connection, path: &Path) -> Result<DbSummary> {
    Ok(DbSummary {
        stories: conn.query_row("SELECT count(*) FROM stories", [], |r| r.get(0))?,
        copies: conn.query_row("SELECT count(*) FROM copies", [], |r| r.get(0))?,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    })
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn refused(path: &Path, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// `path` with `suffix` appended to its file name (`news.db` → `news.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// A temporary name beside `path`, on the same file system, so that the
/// final rename is atomic.
fn temp_beside(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "newsriver.db".into());
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Opens an existing database without creating one or running migrations.
fn open_existing(path: &Path, flags: OpenFlags) -> Result<Connection> {
    if !path.is_file() {
        return Err(refused(path, "no database file here"));
    }
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(
        |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        },
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// `VACUUM INTO tmp`, then the copy must pass `integrity_check`; flushed to
/// disk before the caller renames it into place. Backup and restore both
/// end this way.
fn checked_copy(src: &Connection, tmp: &Path) -> Result<DbSummary> {
    vacuum_into(src, tmp)?;
    let copy = open_existing(tmp, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let check = integrity(&copy)?;
    if check != "ok" {
        return Err(refused(
            tmp,
            format!("the copy fails integrity_check: {check}"),
        ));
    }
    let info = summary(&copy, tmp)?;
    drop(copy);
    sync_file_and_dir(tmp)?;
    Ok(info)
}

/// `VACUUM INTO` a new file `dest`: one read transaction, so the copy is a
/// consistent snapshot however busy the writers are; free pages are left
/// out. It refuses a file that already exists, which is what we want.
fn vacuum_into(conn: &Connection, dest: &Path) -> Result<()> {
    let Some(dest_str) = dest.to_str() else {
        return Err(refused(dest, "the path is not valid UTF-8"));
    };
    conn.execute("VACUUM INTO ?1", [dest_str])?;
    Ok(())
}

/// Flushes a file's data, then its directory entry.
fn sync_file_and_dir(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Directories cannot be fsynced everywhere; where they can, this makes
        // the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes a consistent copy of the database at `db` to `dest` while other
/// processes (the daemon) go on reading and writing it. The copy is made
/// under a temporary name beside `dest`, checked with `integrity_check`,
/// flushed, and renamed into place, so `dest` is never a partial file.
/// An existing `dest` is replaced only when `force` is set.
pub fn backup(db: &Path, dest: &Path, force: bool) -> Result<DbSummary> {
    if dest.exists() && !force {
        return Err(refused(
            dest,
            "already exists; choose another name or pass --force to replace it",
        ));
    }
    let src = open_existing(db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let tmp = temp_beside(dest, "backup");
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let info = checked_copy(&src, &tmp)?;
        std::fs::rename(&tmp, dest).map_err(io_err(dest))?;
        sync_file_and_dir(dest)?;
        Ok(info)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Replaces the database at `db` with the backup at `from`. The caller has
/// made sure no newsriver process has `db` open (the daemon's pid file).
///
/// The backup is checked first (`integrity_check`, a newsriver schema no
/// newer than this build's); then copied with `VACUUM INTO` to a temporary
/// file beside `db` (which also folds in a `-wal` left beside the backup);
/// the current database's WAL is checkpointed into it and removed, so no
/// stale `-wal`/`-shm` can be replayed onto the restored file; and the copy
/// is renamed over `db` in one atomic step.
pub fn restore(from: &Path, db: &Path) -> Result<DbSummary> {
    if let (Ok(a), Ok(b)) = (from.canonicalize(), db.canonicalize())
        && a == b
    {
        return Err(refused(from, "is the database itself; give a backup file"));
    }
    let src = open_existing(from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check =
        integrity(&src).map_err(|e| refused(from, format!("not a readable database: {e}")))?;
    if check != "ok" {
        return Err(refused(from, format!("fails integrity_check: {check}")));
    }
    let tables: i64 = src.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('stories', 'copies', 'sources')",
        [],
        |r| r.get(0),
    )?;
    if tables != 3 {
        return Err(refused(
            from,
            "not a newsriver database (no stories, copies and sources tables)",
        ));
    }
    let version: i64 = src.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > MIGRATIONS.len() as i64 {
        return Err(refused(
            from,
            format!(
                "made by a newer newsriver (schema {version}, this one knows {})",
                MIGRATIONS.len()
            ),
        ));
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let tmp = temp_beside(db, "restore");
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let info = checked_copy(&src, &tmp)?;
        drop(src);
        if db.exists() {
            // Fold the current WAL into the file and close it: with nobody
            // else attached the -wal and -shm are deleted. Another process
            // inside a transaction shows up as a busy checkpoint: refuse
            // rather than swap the file under it (one that merely holds the
            // file open is not seen; the caller checks for the daemon).
            let current = open_existing(db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            let busy: i64 =
                current.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                return Err(refused(
                    db,
                    "another process has the database open; stop every newsriver process first",
                ));
            }
            drop(current);
        }
        for suffix in ["-wal", "-shm"] {
            let stale = with_suffix(db, suffix);
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&stale)(e)),
            }
        }
        std::fs::rename(&tmp, db).map_err(io_err(db))?;
        sync_file_and_dir(db)?;
        Ok(info)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite virtual-machine steps of one candidate lookup with `n`
    /// stories under the same index key.
    fn lookup_steps(n: usize) -> i32 {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let tx = store.conn.unchecked_transaction().unwrap();
        for i in 0..n {
            let id = format!("{i:064x}");
            tx.execute(
                "INSERT INTO stories (id, content_hash, title, text, published, first_seen, updated_at)
                 VALUES (?1, ?1, 't', 'x', 0, 0, 0)",
                [&id],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO near_keys (key, story_id) VALUES (7, ?1)",
                [&id],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        let found = candidates(&store.conn, &[7, 8], None).unwrap();
        assert_eq!(found.len(), 20);
        // `candidates` ran the cached statement; its counters stay with it.
        let stmt = store.conn.prepare_cached(&candidates_sql(2)).unwrap();
        stmt.get_status(rusqlite::StatementStatus::VmStep)
    }

    /// A poll of `source` that fetched one item with `text`.
    fn fetched(source: &str, guid: &str, text: &str) -> PollToStore {
        let item = ParsedItem {
            guid: Some(guid.into()),
            link: Some(format!("https://{source}.example/{guid}")),
            title: Some(format!("标题 {guid}")),
            summary_html: None,
            content_html: Some(format!("<p>{text}</p>")),
            published: None,
            updated: None,
            authors: vec![],
        };
        let norm = crate::normalize::Normalizer::default().normalize(&item);
        let key = item.key();
        PollToStore {
            source_id: source.into(),
            started: Utc::now(),
            duration_ms: 1,
            outcome: PollOutcome::Fetched {
                status: 200,
                moved_to: None,
                validators: Validators::default(),
                bytes: 100,
                feed_title: None,
                feed_language: None,
                feed_format: "RSS 2.0".into(),
                charset_json: "{}".into(),
                items: vec![NewCopy::new(item, norm, key)],
                parse: Box::default(),
                pages: PageCounts::default(),
            },
        }
    }

    #[test]
    fn a_poll_that_cannot_be_stored_is_rolled_back_alone_in_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let tags: Vec<String> = vec![];
        store
            .sync_sources(&[
                SourceRow {
                    id: "a",
                    name: "A",
                    url: "https://a.example/",
                    tags: &tags,
                },
                SourceRow {
                    id: "b",
                    name: "B",
                    url: "https://b.example/",
                    tags: &tags,
                },
            ])
            .unwrap();
        // "ghost" is no configured source: its rows break a foreign key.
        let polls = vec![
            fetched("a", "1", "第一条新闻的正文，足够长，可以计算内容哈希。"),
            fetched("ghost", "2", "第二条新闻的正文，这一条存不进去。"),
            fetched("b", "3", "第三条新闻的正文，和第一条毫无关系。"),
        ];
        let results = store
            .record_polls(polls, &|_| Vec::new(), &crate::dedupe::Params::default())
            .unwrap();
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(results[1].is_err(), "{results:?}");
        let copies = |source: &str| -> i64 {
            store
                .conn
                .query_row(
                    "SELECT count(*) FROM copies WHERE source_id = ?1",
                    [source],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!((copies("a"), copies("ghost"), copies("b")), (1, 0, 1));
        let polls: i64 = store
            .conn
            .query_row("SELECT count(*) FROM polls", [], |r| r.get(0))
            .unwrap();
        assert_eq!(polls, 2, "the failed poll left no row");
    }

    #[test]
    fn a_key_shared_by_thousands_of_stories_costs_no_more_to_look_up() {
        let small = lookup_steps(100);
        let large = lookup_steps(3_000);
        assert!(small > 0);
        assert!(
            large <= small + small / 4,
            "lookup work grows with the stories under one key: {small} steps for 100, {large} for 3,000"
        );
    }
}
