//! The only module that touches the database: SQLite (the embedded
//! default) or PostgreSQL (`[storage] url`), the same code for both through
//! `sql`. Opens it (SQLite: WAL, foreign keys on), applies the migrations
//! (`migrations/sqlite/*.sql` in order; PostgreSQL's `migrations/postgres`
//! in `pg`), and stores polls in groups, each poll of one source
//! all-or-nothing (a group in one transaction; a savepoint per poll when
//! one of them fails): a crash mid-poll leaves no half-written story.
//! Also the data-safety operations: retention, space reclamation, backup and
//! restore (docs/data-safety.md).
//!
//! By concern: this file has the types, errors and migrations; `sql` (the
//! one SQL layer), `open` (pragmas, migrations, read-only connections, the
//! configured sources), `pg` (PostgreSQL: connecting, migrations, the
//! placement locks, host leases, `migrate-store`), `ingest` (storing polls:
//! the group transaction, placement, the near-duplicate index, topic
//! membership), `read` (the views the CLI, feeds, export and the parallel
//! stage read), `maintain` (retention, space, integrity, purge), `backup`
//! (backup and restore).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{OpenFlags, TransactionBehavior};
use rusqlite_migration::{M, Migrations};
use serde::Serialize;
use sql::{Connection, OptionalExtension, params};

use crate::dedupe::{Candidate, Placement};
/// An item's file, as `FeedCopy::enclosures` holds it.
pub use crate::model::Enclosure;
use crate::model::{BodyCodec, NormalizedItem, ParsedItem, SourceId, StoryId, Validators};

mod backup;
pub mod body;
mod ingest;
mod maintain;
mod near;
mod open;
mod pg;
mod read;
mod shown;
pub mod sql;

pub use crate::model::redact_password;
pub use backup::{WritersLock, backup, lock_for_restore, restore, writers_lock_file};
pub use maintain::{DbSummary, Pruned, Reclaimed, Renamed};
pub use open::{Location, Pooled, Readers, disk_full};
pub use pg::{Copied, Lease, Leases, copy_sqlite, placement_retries, placement_wait_ms};
pub use read::TopicCursor;
// Each part's helpers, for the others (they are `pub(super)`).
use near::NearIndex;
use pg::Placing;
use {backup::*, ingest::*, maintain::*};

/// Every migration, in order. Append only; a new release adds a line.
fn migrations() -> Vec<M<'static>> {
    vec![
        M::up(include_str!("../../migrations/sqlite/0001_init.sql")),
        M::up(include_str!("../../migrations/sqlite/0002_topics.sql")),
        M::up(include_str!("../../migrations/sqlite/0003_poll_state.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0004_near_duplicates.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/0005_retention.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0006_parse_report.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/0007_full_text.sql")),
        M::up_with_hook(
            include_str!("../../migrations/sqlite/0008_compact.sql"),
            move_bodies_into_frames,
        ),
        M::up(include_str!(
            "../../migrations/sqlite/0009_page_retries.sql"
        )),
        M::up_with_hook(
            include_str!("../../migrations/sqlite/0010_near_keys_in_stories.sql"),
            move_near_keys_into_stories,
        ),
        M::up(include_str!("../../migrations/sqlite/0011_trust.sql")),
        M::up(include_str!("../../migrations/sqlite/0012_entry_ids.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0013_enclosures_categories.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/0014_copy_text.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0015_text_fallbacks.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/0016_page_failures.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/0017_copy_texts.sql")),
        M::up(include_str!("../../migrations/sqlite/0018_story_rows.sql")),
        M::up(include_str!("../../migrations/sqlite/0019_lz4_bodies.sql")),
    ]
}

/// The schema version this release writes (the number of migrations).
const SCHEMA_VERSION: usize = 19;

/// Migration 0008's second half, which SQL cannot do: each copy's three
/// HTML columns become one compressed `body` (`body::encode`), then the
/// old columns go. In the migration's transaction, like its SQL.
fn move_bodies_into_frames(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    {
        let mut read = tx.prepare(
            "SELECT id, summary_html, content_html, full_html FROM copies
             WHERE summary_html IS NOT NULL OR content_html IS NOT NULL OR full_html IS NOT NULL",
        )?;
        let mut write = tx.prepare("UPDATE copies SET body = ?2 WHERE id = ?1")?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let (s, c, f): (Option<String>, Option<String>, Option<String>) =
                (r.get(1)?, r.get(2)?, r.get(3)?);
            let stored = body::encode(
                BodyCodec::default(),
                s.as_deref(),
                c.as_deref(),
                f.as_deref(),
            )
            .map_err(|e| rusqlite_migration::HookError::Hook(e.to_string()))?;
            write.execute(rusqlite::params![id, stored])?;
        }
    }
    tx.execute_batch(
        "ALTER TABLE copies DROP COLUMN summary_html;
         ALTER TABLE copies DROP COLUMN content_html;
         ALTER TABLE copies DROP COLUMN full_html;",
    )?;
    Ok(())
}

/// Migration 0010's second half: each story's rows of `near_keys` become
/// its `near_keys` blob (`near::encode_keys`); a story indexed with no keys
/// gets an empty blob, one never indexed keeps NULL. Then the table and the
/// `near_indexed` flag go.
fn move_near_keys_into_stories(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    {
        let mut read = tx.prepare("SELECT story, key FROM near_keys ORDER BY story")?;
        let mut write = tx.prepare("UPDATE stories SET near_keys = ?2 WHERE sid = ?1")?;
        let mut rows = read.query([])?;
        let mut current: Option<(i64, Vec<i64>)> = None;
        while let Some(r) = rows.next()? {
            let (story, key): (i64, i64) = (r.get(0)?, r.get(1)?);
            match &mut current {
                Some((s, keys)) if *s == story => keys.push(key),
                _ => {
                    if let Some((s, keys)) = current.take() {
                        write.execute(rusqlite::params![s, near::encode_keys(&keys)])?;
                    }
                    current = Some((story, vec![key]));
                }
            }
        }
        if let Some((s, keys)) = current {
            write.execute(rusqlite::params![s, near::encode_keys(&keys)])?;
        }
    }
    tx.execute_batch(
        "UPDATE stories SET near_keys = x'' WHERE near_keys IS NULL AND near_indexed = 1;
         DROP TABLE near_keys;
         ALTER TABLE stories DROP COLUMN near_indexed;",
    )?;
    Ok(())
}

/// Fetches of an item's page that may fail for a passing reason (network,
/// timeout, 5xx) before it is given up (`copies.page_tries`, `fulltext`).
pub const PAGE_ATTEMPTS: i64 = 3;

/// What a poll did about a copy's article page (`fulltext`), kept in
/// `copies.page_tries` so that a page that could not be fetched this time
/// is tried again on later polls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PageAttempt {
    /// Not tried (not a `full_text` source, no usable link, known already).
    #[default]
    None,
    /// Fetched (article kept or not), or failed for good (404, refused):
    /// nothing pending.
    Done,
    /// Failed for a reason that may pass: tried again on a later poll,
    /// `PAGE_ATTEMPTS` times in all.
    Failed,
    /// Put off by `[fetch] max_pages_per_poll`: fetched on a later poll.
    Deferred,
}

impl PageAttempt {
    /// The code the SQL of `ingest::store_item` reads.
    pub(crate) fn code(self) -> i64 {
        match self {
            PageAttempt::None => 0,
            PageAttempt::Done => 1,
            PageAttempt::Failed => 2,
            PageAttempt::Deferred => 3,
        }
    }
}

/// How long a write waits for another connection's write lock before it
/// fails with "database is locked". Long enough for any one poll's
/// transaction (milliseconds) or a backup's snapshot; short enough that a
/// stuck process is reported rather than hanging the daemon.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// After a checkpoint has emptied it, the WAL file is cut back to this size,
/// so one burst of writes (or a long reader) does not leave it large for good.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Page size of a new database, in bytes (see `Writer::open`).
const PAGE_SIZE: i64 = 16 * 1024;

/// Bytes in the WAL before SQLite copies them back (see `Writer::open`):
/// 10,000 pages of the 4 KiB databases this was measured with.
const WAL_AUTOCHECKPOINT_BYTES: i64 = 10_000 * 4096;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}{hint}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
        /// What to do about it (`open_hint`), worked out when it happened.
        hint: String,
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
    #[error("database: {0}{hint}", hint = sql_hint(.0.sqlite_error_code()))]
    Sql(#[from] sql::Error),
    /// The transaction a poll was in failed (several transactions stored a
    /// group of polls; `Writer::record_polls`): its error, as text.
    #[error("database: {0}")]
    Group(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A read-only open found a schema other than this binary's: older
    /// (only the writer migrates) or newer (a later release wrote it).
    #[error(
        "database {path}: schema version {found}, this newsriver reads version {expected}: {what}"
    )]
    Schema {
        path: String,
        found: i64,
        expected: usize,
        what: &'static str,
    },
    /// The PostgreSQL server could not be reached, refused, or failed to
    /// migrate (`url` without its password).
    #[error("database {url}: {message}")]
    Postgres { url: String, message: String },
    /// A backup or restore refused to go on (the message says why).
    #[error("{path}: {message}")]
    Refused { path: String, message: String },
}

/// What to do about the SQLite errors an operator can fix.
fn sql_hint(code: Option<rusqlite::ErrorCode>) -> &'static str {
    match code {
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

/// The hint for an error opening the database at `path`. SQLite says only
/// "unable to open database file" or "attempt to write a readonly
/// database" whichever of the three files (the database, its `-wal` and
/// `-shm`) or their folder it could not write; which one depends on what an
/// earlier process left behind (a `-shm` left by a root process is not
/// writable by the service user). So look: the first of them this user
/// cannot write is named.
pub(super) fn open_hint(path: &Path, e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::{CannotOpen, ReadOnly};
    if matches!(e.sqlite_error_code(), Some(CannotOpen | ReadOnly))
        && let Some(what) = unwritable(path)
    {
        return format!(
            " ({what} is read-only for this user; SQLite writes the database and the -wal and -shm files beside it)"
        );
    }
    sql_hint(e.sqlite_error_code()).to_string()
}

/// The first of the database, its `-wal`, its `-shm` and their folder that
/// exists and that this user may not write, by trying (permission bits do
/// not tell for root, ACLs or read-only mounts). Nothing is changed: files
/// are opened for writing without truncating, and the folder is tried with
/// a temporary file that is removed at once.
fn unwritable(path: &Path) -> Option<String> {
    let denied = |r: std::io::Result<()>| {
        matches!(r, Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied
            || e.raw_os_error() == Some(30 /* EROFS */))
    };
    let mut side = path.as_os_str().to_owned();
    let files = ["", "-wal", "-shm"].map(|suffix| {
        side.push(suffix);
        let p = std::path::PathBuf::from(&side);
        side = path.as_os_str().to_owned();
        p
    });
    for f in &files {
        if f.exists() && denied(std::fs::OpenOptions::new().write(true).open(f).map(|_| ())) {
            return Some(f.display().to_string());
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    denied(
        tempfile::Builder::new()
            .prefix(".newsriver-probe")
            .tempfile_in(dir)
            .map(|_| ()),
    )
    .then(|| format!("its folder {}", dir.display()))
}

pub type Result<T> = std::result::Result<T, StoreError>;

// The ids go in and out of SQL as their text.
macro_rules! sql_text_id {
    ($id:ident) => {
        impl sql::ToSql for $id {
            fn value(&self) -> sql::Value<'_> {
                sql::Value::Text(&self.0)
            }
        }

        impl sql::FromSql for $id {
            fn from_value(v: sql::Value<'_>) -> sql::Result<Self> {
                String::from_value(v).map($id)
            }
        }
    };
}
sql_text_id!(SourceId);
sql_text_id!(StoryId);

/// The one connection that writes: migrations run when it opens, polls,
/// topic membership, retention and purges go through it. The daemon's and
/// `poll`'s writer thread owns it by value (`pipeline::WriteQueue`).
pub struct Writer {
    conn: Connection,
    /// The near-duplicate index (`near`), built when first needed.
    near: near::NearIndex,
    /// Several pollers on PostgreSQL: every placement under the one
    /// placement lock rather than per neighbourhood (`store::pg`).
    place_alone: bool,
    /// When to gather the server's statistics (PostgreSQL, `pg::Stats`).
    stats: pg::Stats,
    /// The writers' lock, held shared while this connection lives, so that
    /// `restore` sees this process (`backup::WritersLock`).
    _writers: Option<backup::WritersLock>,
}

/// A read-only connection: the views in `read` (the CLI's read commands,
/// feed rendering, the parallel stage's look-ups). Opening one runs no
/// migration and writes nothing; in WAL mode it never waits for the
/// writer, nor the writer for it.
pub struct Reader {
    conn: Connection,
    /// Opened without the WAL (`immutable=1`) because the disk is full
    /// (`Reader::open`): never kept for reuse, so reads go back to the
    /// live database as soon as it opens normally again.
    immutable: bool,
}

/// A source as the config describes it.
pub struct SourceRow<'a> {
    pub id: &'a SourceId,
    pub name: &'a str,
    pub url: &'a str,
    pub tags: &'a [String],
    /// `trust = "low"`.
    pub low_trust: bool,
    pub link_hosts: &'a [String],
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

/// One poll for `Writer::record_polls`.
pub struct PollToStore {
    pub source_id: SourceId,
    pub started: DateTime<Utc>,
    pub duration_ms: u64,
    pub outcome: PollOutcome,
    /// The host lease the poll was made under (several pollers on
    /// PostgreSQL): stored only if it is still held (`pg::still_held`).
    pub lease: Option<Lease>,
}

impl PollToStore {
    /// The items the feed gave (0 unless it was fetched).
    pub fn items(&self) -> usize {
        match &self.outcome {
            PollOutcome::Fetched { items, .. } => items.len(),
            _ => 0,
        }
    }
}

/// What one poll of one source came to. (One per poll in flight, and
/// `Fetched` the common variant: boxing it would save nothing.)
#[allow(clippy::large_enum_variant)]
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

impl PollOutcome {
    /// The outcome as the database, `sources list` and JSON name it
    /// (`sources.last_outcome`, `polls.outcome`).
    pub fn label(&self) -> &'static str {
        match self {
            PollOutcome::NotModified { .. } => "not_modified",
            PollOutcome::Fetched { .. } => "ok",
            PollOutcome::Failed { gone: true, .. } => "gone",
            PollOutcome::Failed { .. } => "failed",
        }
    }
}

/// What became of the article pages of a poll's new items (`fulltext`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// Fetched, and the article kept.
    pub fetched: u64,
    /// Not needed: the feed's text looked whole, so the page was not
    /// fetched, or the page's article was no longer than it.
    pub not_needed: u64,
    /// The fetch or the extraction failed: the feed's text is kept.
    pub failed: u64,
    /// Not tried: no http(s) link, or put off by `max_pages_per_poll`.
    pub skipped: u64,
    /// The pages that failed, with why (stored, the last
    /// `PAGE_FAILURES_KEPT` per source).
    pub failures: Vec<PageFailure>,
}

/// One article page that failed (`fulltext`), as a poll found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PageFailure {
    pub url: String,
    pub reason: String,
}

/// A stored page failure (`sources show`): when, which page, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredPageFailure {
    pub at: DateTime<Utc>,
    pub url: String,
    pub reason: String,
}

/// Failed article pages kept per source (`page_failures`): the oldest go
/// as new ones come.
pub const PAGE_FAILURES_KEPT: usize = 20;

/// A source's article pages over a window of polls (`sources show`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FullTextCounts {
    pub fetched: i64,
    pub not_needed: i64,
    pub failed: i64,
    pub skipped: i64,
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
/// parallel, so that the writer (one thread owning the write connection, the part of
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
    /// The enclosures and categories as stored (JSON, `None` for none:
    /// `stored_list`).
    enclosures: Option<String>,
    categories: Option<String>,
    /// Characters in the normalized text.
    text_len: i64,
    /// The article from the item's page (cleaned HTML), when `fulltext`
    /// found one longer than the feed's text; `norm` is then made from it.
    full_html: Option<String>,
    /// `dedupe::index_keys` of the text, when worked out in advance; `None`
    /// when the item looked known or a copy of a story already met (the
    /// writer then computes them itself if it turns out to need them).
    near_keys: Option<Vec<i64>>,
    /// The HTML as stored (`body::encode`), when worked out in advance
    /// (`seal`); else the writer encodes it if the copy is new or edited.
    body: Option<Vec<u8>>,
    /// `text_digest` of the normalized text, when worked out in advance
    /// (`seal`).
    digest: Option<[u8; 16]>,
    /// How `body` is compressed (`[storage] compression`, given to `seal`).
    codec: BodyCodec,
    /// What this poll did about the item's page.
    page: PageAttempt,
}

impl NewCopy {
    /// `key` is `item.key()` (the caller has it already).
    pub fn new(item: ParsedItem, norm: NormalizedItem, key: String) -> NewCopy {
        NewCopy {
            raw_hash: item.raw_hash(),
            authors: serde_json::to_string(&item.authors).unwrap_or_else(|_| "[]".into()),
            enclosures: stored_list(&item.enclosures, crate::model::MAX_ENCLOSURES),
            categories: stored_list(&item.categories, crate::model::MAX_CATEGORIES),
            text_len: norm.text.chars().count() as i64,
            near_keys: None,
            full_html: None,
            body: None,
            digest: None,
            codec: BodyCodec::default(),
            page: PageAttempt::None,
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
        self.digest = None;
        if self.body.is_some() {
            self.body = None;
            self.seal(self.codec);
        }
    }

    /// Compresses the copy's HTML now with `codec`, in the parallel stage,
    /// so the writer only writes it. (A failure leaves it to the writer,
    /// which then reports it as the poll's error.)
    pub fn seal(&mut self, codec: BodyCodec) {
        self.codec = codec;
        if self.body.is_none() {
            self.body = self.encode_body().ok();
        }
        if self.digest.is_none() {
            self.digest = Some(text_digest(&self.norm.text));
        }
    }

    /// Lets go of the feed's HTML once it is compressed (`seal`): the
    /// writer stores `body` and reads nothing else of it. A poll waiting in
    /// the write queue held each item's HTML twice, raw and compressed
    /// (letting go: cold poll of the 1,000-feed synthetic farm, peak RSS
    /// −4 to −11 MB). Call it when nothing will set the full text again.
    pub fn shed_html(&mut self) {
        if self.body.is_some() {
            self.item.summary_html = None;
            self.item.content_html = None;
        }
    }

    /// The digest `copy_texts` finds the normalized text by (see `seal`).
    fn digest(&self) -> [u8; 16] {
        self.digest.unwrap_or_else(|| text_digest(&self.norm.text))
    }

    fn encode_body(&self) -> std::io::Result<Vec<u8>> {
        body::encode(
            self.codec,
            self.item.summary_html.as_deref(),
            self.item.content_html.as_deref(),
            self.full_html.as_deref(),
        )
    }

    /// The stored form of the copy's HTML (see `seal`).
    fn stored_body(&self) -> sql::Result<std::borrow::Cow<'_, [u8]>> {
        match &self.body {
            Some(b) => Ok(std::borrow::Cow::Borrowed(b)),
            None => self
                .encode_body()
                .map(std::borrow::Cow::Owned)
                .map_err(|e| sql::Error::Conversion(e.to_string())),
        }
    }

    /// Records what this poll did about the item's page.
    pub fn set_page(&mut self, page: PageAttempt) {
        self.page = page;
    }

    /// What this poll did about the item's page.
    pub fn page(&self) -> PageAttempt {
        self.page
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

/// How `copy_texts` names a normalized text: the first 16 bytes of its
/// BLAKE3 hash (a collision between two texts of one database is as likely
/// as guessing a 128-bit key).
fn text_digest(text: &str) -> [u8; 16] {
    let mut out = [0; 16];
    out.copy_from_slice(&blake3::hash(text.as_bytes()).as_bytes()[..16]);
    out
}

/// A list as a copy's column stores it: JSON of its first `max` entries,
/// NULL when empty.
fn stored_list<T: Serialize>(list: &[T], max: usize) -> Option<String> {
    if list.is_empty() {
        return None;
    }
    serde_json::to_string(&list[..list.len().min(max)]).ok()
}

/// A list a copy's column stored (`stored_list`); NULL, or JSON that does
/// not read, is none.
fn read_list<T: serde::de::DeserializeOwned>(stored: Option<String>, max: usize) -> Vec<T> {
    let mut list: Vec<T> = stored
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    list.truncate(max);
    list
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
    /// Article pages not needed: the feed carried the whole text.
    pub pages_not_needed: u64,
    /// Copies stored (new or edited) whose text is the text as published
    /// because stripping boilerplate left nothing of it
    /// (`NormalizedItem::text_fallback`).
    pub text_fallbacks: u64,
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
        self.pages_not_needed += o.pages_not_needed;
        self.text_fallbacks += o.text_fallbacks;
    }
}

/// A story as a topic feed shows it.
#[derive(Clone, Debug)]
pub struct FeedStory {
    pub id: StoryId,
    pub title: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub first_seen: DateTime<Utc>,
    /// Every copy, the one that carried the story first first.
    pub copies: Vec<FeedCopy>,
}

#[derive(Clone, Debug)]
pub struct FeedCopy {
    pub source_id: SourceId,
    pub source_name: String,
    pub language: Option<String>,
    pub link: Option<String>,
    pub title: Option<String>,
    pub summary_html: Option<String>,
    pub content_html: Option<String>,
    pub authors: Vec<String>,
    /// The item's files, at most `model::MAX_ENCLOSURES` (none for a copy
    /// stored before migration 0013).
    pub enclosures: Vec<Enclosure>,
    /// The item's categories, at most `model::MAX_CATEGORIES`.
    pub categories: Vec<String>,
    pub published: DateTime<Utc>,
    /// Length of the normalized text (boilerplate excluded).
    pub text_len: usize,
    /// The item's key within its source (the display rule's last tie-break).
    pub item_key: String,
    /// Its source is `trust = "low"`.
    pub low_trust: bool,
    /// Its link is on its source's own hosts (`display::owns_link`).
    pub own_link: bool,
    /// The headline as shown (outlet decorations removed); the raw title
    /// for copies stored before migration 0011.
    pub display_title: Option<String>,
    pub first_seen: DateTime<Utc>,
    /// Its source may speak in the topic being rendered (a topic limited
    /// by tags: the source has one); set by the renderer, true by default.
    pub in_topic: bool,
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
    /// Items the outlet edited since the poll before (0 for polls logged
    /// before migration 0013).
    pub items_updated: i64,
    pub stories_new: i64,
    pub stories_merged: i64,
    pub items_skipped: i64,
    pub pages_fetched: i64,
    pub pages_failed: i64,
    pub pages_skipped: i64,
    /// Pages not needed, the feed's text being whole (0 for polls logged
    /// before migration 0016).
    pub pages_not_needed: i64,
    /// Items stored with their text as published, stripping having left
    /// nothing (0 for polls logged before migration 0015).
    pub text_fallbacks: i64,
}

/// A source's stored items over a window of polls, and how many kept their
/// text as published (`Reader::text_fallbacks_since`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TextFallbacks {
    /// Stripping boilerplate left nothing: the text as published was kept.
    pub kept_as_published: i64,
    /// Items stored (new or edited copies).
    pub stored: i64,
}

/// A story's id, title, normalized text and date.
pub struct StoryText {
    pub id: StoryId,
    pub title: String,
    pub text: String,
    pub published: DateTime<Utc>,
}

/// A story as `export` prints it.
#[derive(Debug, Serialize)]
pub struct ExportedStory {
    pub id: StoryId,
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
    pub source: SourceId,
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

/// What the store's tests on both backends build polls and sources with.
#[cfg(test)]
mod test_polls {
    use super::*;

    /// An item of `source` with `guid` and `text` as its HTML content.
    pub(crate) fn item(source: &str, guid: &str, text: &str) -> NewCopy {
        let item = ParsedItem {
            guid: Some(guid.into()),
            link: Some(format!("https://{source}.example/{guid}")),
            title: Some(format!("标题 {guid}")),
            summary_html: None,
            content_html: Some(format!("<p>{text}</p>")),
            published: None,
            updated: None,
            authors: vec![],
            enclosures: vec![],
            categories: vec![],
        };
        let norm = crate::normalize::Normalizer::default().normalize(&item);
        let key = item.key();
        NewCopy::new(item, norm, key)
    }

    /// A poll of `source` that fetched `items`.
    pub(crate) fn fetched_all(source: &str, items: Vec<NewCopy>) -> PollToStore {
        PollToStore {
            source_id: SourceId::from(source),
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
                items,
                parse: Box::default(),
                pages: PageCounts::default(),
            },
            lease: None,
        }
    }

    /// The sources `ids` (no tags, normal trust) in `store`.
    pub(crate) fn with_sources(store: &mut Writer, ids: &[&str]) {
        let ids: Vec<SourceId> = ids.iter().map(|id| SourceId::from(*id)).collect();
        let rows: Vec<SourceRow<'_>> = ids
            .iter()
            .map(|id| SourceRow {
                id,
                name: id,
                url: "https://example.org/",
                tags: &[],
                low_trust: false,
                link_hosts: &[],
            })
            .collect();
        store.sync_sources(&rows).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Method;

    #[test]
    fn the_schema_version_is_the_number_of_migrations() {
        assert_eq!(SCHEMA_VERSION, migrations().len());
    }

    #[test]
    fn migration_8_moves_all_three_html_columns_into_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            Migrations::new(migrations()[..7].to_vec())
                .to_latest(&mut conn)
                .unwrap();
            conn.execute_batch(
                "INSERT INTO sources (id, name, url) VALUES ('s', 's', 'https://s.example/');
                 INSERT INTO stories (id, content_hash, title, text, published, first_seen, updated_at)
                   VALUES ('h', 'h', '标题', '正文', 0, 0, 0);
                 INSERT INTO copies (story_id, source_id, item_key, summary_html, content_html, full_html,
                                     published, first_seen, last_seen, content_hash, raw_hash)
                   VALUES ('h', 's', 'k1', '<p>摘要</p>', '<p>正文</p>', '<p>全文</p>', 0, 0, 0, 'h', 'r'),
                          ('h', 's', 'k2', NULL, NULL, NULL, 0, 0, 0, 'h', 'r2');",
            )
            .unwrap();
        }
        let store = Writer::open(&path).unwrap();
        let bodies: Vec<Option<Vec<u8>>> = store
            .conn
            .prepare("SELECT body FROM copies ORDER BY item_key")
            .unwrap()
            .query_map(params![], |r| r.get(0))
            .unwrap()
            .collect::<sql::Result<_>>()
            .unwrap();
        let first = body::decode(bodies[0].as_deref().unwrap()).unwrap();
        assert_eq!(
            first,
            body::Parts {
                summary_html: Some("<p>摘要</p>".into()),
                content_html: Some("<p>正文</p>".into()),
                full_html: Some("<p>全文</p>".into()),
            }
        );
        assert_eq!(bodies[1], None, "a copy with no HTML has no body");
        let story: i64 = store
            .conn
            .query_row(
                "SELECT story FROM copies WHERE item_key = 'k1'",
                params![],
                |r| r.get(0),
            )
            .unwrap();
        let id: String = store
            .conn
            .query_row("SELECT id FROM stories WHERE sid = ?1", [story], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(id, "h", "the copy points at its story's integer key");
    }

    /// The one copy of `fetched`.
    fn fetched_copy(source: &str, guid: &str, text: &str) -> NewCopy {
        match fetched(source, guid, text).outcome {
            PollOutcome::Fetched { mut items, .. } => items.remove(0),
            _ => unreachable!("`fetched` makes a fetched poll"),
        }
    }

    /// A poll of `source` that fetched one item with `text`.
    fn fetched(source: &str, guid: &str, text: &str) -> PollToStore {
        test_polls::fetched_all(source, vec![test_polls::item(source, guid, text)])
    }

    #[test]
    fn a_sealed_copy_lets_go_of_its_html_and_stores_the_same_body() {
        let text = "三地教育协同发展工作会议在京召开，会议由北京市教委主持。";
        let html = format!("<p>{text}</p>");
        let mut sealed = fetched_copy("a", "g1", text);
        let before = sealed.encode_body().unwrap();
        sealed.seal(BodyCodec::default());
        sealed.shed_html();
        assert_eq!(
            sealed.item.content_html, None,
            "the HTML goes once compressed"
        );
        assert_eq!(sealed.stored_body().unwrap().as_ref(), before.as_slice());
        let parts = body::decode(&sealed.stored_body().unwrap()).unwrap();
        assert_eq!(parts.content_html.as_deref(), Some(html.as_str()));
        // Not sealed (known items, or compression failed): the writer may
        // still have to encode it, so the HTML stays.
        let mut unsealed = fetched_copy("a", "g2", "另一篇报道的正文内容");
        unsealed.shed_html();
        assert!(unsealed.item.content_html.is_some());
    }

    #[test]
    fn each_distinct_text_is_stored_once_and_goes_when_no_copy_names_it() {
        let (_dir, _, mut store) = writer_with(&["a", "b", "c"]);
        let wire = "京津冀三地教育部门签署协议，推动优质教育资源共享与教师交流轮岗，首批试点学校名单同时公布。";
        let other = "长江中下游地区今起迎来新一轮强降雨过程，气象部门提醒公众注意防范城市内涝和山洪地质灾害。";
        let near = crate::dedupe::Params::default();
        let mut poll = |source: &str, guid: &str, text: &str| {
            let r = store
                .record_polls(vec![fetched(source, guid, text)], &|_| Vec::new(), &near)
                .unwrap();
            assert!(r[0].is_ok(), "{r:?}");
        };
        poll("a", "1", wire);
        poll("b", "1", wire);
        poll("c", "1", other);
        let count = |store: &Writer, sql: &str| -> i64 {
            store.conn.query_row(sql, params![], |r| r.get(0)).unwrap()
        };
        assert_eq!(count(&store, "SELECT count(*) FROM copy_texts"), 2);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM copies WHERE text IS NULL AND text_id IS NOT NULL"
            ),
            3,
            "new copies name their text"
        );
        let shared: i64 = count(
            &store,
            "SELECT count(DISTINCT text_id) FROM copies WHERE source_id IN ('a', 'b')",
        );
        assert_eq!(shared, 1, "the two copies of the wire story share one row");
        let stored: String = store
            .conn
            .query_row(
                "SELECT t.text FROM copies c JOIN copy_texts t ON t.id = c.text_id
                 WHERE c.source_id = 'c'",
                params![],
                |r| r.get(0),
            )
            .unwrap();
        let expected = fetched_copy("c", "1", other).norm.text;
        assert_eq!(stored, expected, "the text is the copy's normalized text");
        // Purging one of the two outlets of the wire story keeps its text;
        // purging the only outlet of the other drops it.
        store.purge_source(&SourceId::from("a")).unwrap();
        assert_eq!(count(&store, "SELECT count(*) FROM copy_texts"), 2);
        store.purge_source(&SourceId::from("c")).unwrap();
        assert_eq!(count(&store, "SELECT count(*) FROM copy_texts"), 1);
        // Retention: the last story goes, and its text with it.
        store
            .prune_batch(Utc::now() + chrono::Duration::days(1), 100)
            .unwrap();
        assert_eq!(count(&store, "SELECT count(*) FROM stories"), 0);
        assert_eq!(count(&store, "SELECT count(*) FROM copy_texts"), 0);
    }

    #[test]
    fn an_edited_copy_names_its_new_text_and_the_old_one_goes() {
        let (_dir, _, mut store) = writer_with(&["a"]);
        let near = crate::dedupe::Params::default();
        for text in [
            "京津冀三地教育部门签署协议，推动优质教育资源共享与教师交流轮岗，首批试点学校名单同时公布。",
            "京津冀三地教育部门签署协议，推动优质教育资源共享与教师交流轮岗，首批试点学校名单将于下月公布。",
        ] {
            let r = store
                .record_polls(vec![fetched("a", "1", text)], &|_| Vec::new(), &near)
                .unwrap();
            assert!(r[0].is_ok(), "{r:?}");
        }
        let (texts, named): (i64, String) = store
            .conn
            .query_row(
                "SELECT (SELECT count(*) FROM copy_texts), t.text
                 FROM copies c JOIN copy_texts t ON t.id = c.text_id",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(texts, 1, "the text before the edit is gone");
        assert!(named.contains("下月"), "{named}");
    }

    #[test]
    fn a_copy_that_changes_neither_text_nor_tags_leaves_topics_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Writer::open(&dir.path().join("t.db")).unwrap();
        let (none, local, edu): (Vec<String>, Vec<String>, Vec<String>) =
            (vec![], vec!["local".into()], vec!["edu".into()]);
        let ids: Vec<SourceId> = ["a", "b", "c", "d"].map(SourceId::from).into();
        let rows: Vec<SourceRow<'_>> = ids
            .iter()
            .zip([&none, &none, &local, &edu])
            .map(|(id, tags)| SourceRow {
                id,
                name: id,
                url: "https://example.org/",
                tags,
                low_trust: false,
                link_hosts: &[],
            })
            .collect();
        store.sync_sources(&rows).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO topics (slug, fingerprint, changed_at) VALUES ('edu', 'f', 0)",
                params![],
            )
            .unwrap();
        // The topic wants the tag "edu"; every call is counted.
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let classify = |v: &StoryView<'_>| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if v.tags.iter().any(|t| t == "edu") {
                vec!["edu".to_string()]
            } else {
                Vec::new()
            }
        };
        let text = "京津冀三地教育部门签署协议，推动优质教育资源共享与教师交流轮岗，首批试点学校名单同时公布。";
        let near = crate::dedupe::Params::default();
        let mut poll = |source: &str, guid: &str| {
            let r = store
                .record_polls(vec![fetched(source, guid, text)], &classify, &near)
                .unwrap();
            assert!(r[0].is_ok(), "{r:?}");
        };
        let count = || calls.load(std::sync::atomic::Ordering::SeqCst);
        poll("a", "1");
        assert_eq!(count(), 1, "a new story is classified");
        poll("b", "2");
        assert_eq!(count(), 1, "same text, same (no) tags: not again");
        poll("c", "3");
        assert_eq!(count(), 2, "a new tag: classified again");
        poll("d", "4");
        assert_eq!(count(), 3, "the tag the topic wants");
        let members = |store: &Writer| -> (i64, i64) {
            store
                .conn
                .query_row(
                    "SELECT (SELECT count(*) FROM story_topics WHERE topic = 'edu'),
                            (SELECT changed_at FROM topics WHERE slug = 'edu')",
                    params![],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        let (n, changed) = members(&store);
        assert_eq!(n, 1, "the story entered the topic with the tagged copy");
        std::thread::sleep(std::time::Duration::from_millis(5));
        let r = store
            .record_polls(vec![fetched("a", "5", text)], &classify, &near)
            .unwrap();
        assert!(r[0].is_ok());
        assert_eq!(count(), 3, "not classified again");
        let (n2, changed2) = members(&store);
        assert_eq!(n2, 1, "still in its topic");
        assert!(
            changed2 > changed,
            "but the topic's feed changed: one more outlet"
        );
    }

    #[test]
    fn a_poll_that_cannot_be_stored_is_rolled_back_alone_in_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Writer::open(&dir.path().join("t.db")).unwrap();
        let tags: Vec<String> = vec![];
        store
            .sync_sources(&[
                SourceRow {
                    id: &SourceId::from("a"),
                    name: "A",
                    url: "https://a.example/",
                    tags: &tags,
                    low_trust: false,
                    link_hosts: &[],
                },
                SourceRow {
                    id: &SourceId::from("b"),
                    name: "B",
                    url: "https://b.example/",
                    tags: &tags,
                    low_trust: false,
                    link_hosts: &[],
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
            .query_row("SELECT count(*) FROM polls", params![], |r| r.get(0))
            .unwrap();
        assert_eq!(polls, 2, "the failed poll left no row");
    }

    #[test]
    fn candidates_rank_by_keys_shared_then_newest_and_skip_stories_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Writer::open(&dir.path().join("t.db")).unwrap();
        let mut index = NearIndex::default();
        for (i, keys) in [&[7, 8][..], &[7], &[7, 8], &[8], &[9]].iter().enumerate() {
            store
                .conn
                .execute(
                    "INSERT INTO stories (id, content_hash, title, published, first_seen, updated_at)
                     VALUES (?1, ?1, 't', 0, 0, 0)",
                    params![format!("{i:064x}")],
                )
                .unwrap();
            let sid: i64 = store
                .conn
                .query_row("SELECT max(sid) FROM stories", params![], |r| r.get(0))
                .unwrap();
            store
                .conn
                .execute(
                    "INSERT INTO story_texts (sid, text, near_keys) VALUES (?1, ?2, ?3)",
                    params![sid, format!("text {i}"), near::encode_keys(keys)],
                )
                .unwrap();
            index.add(keys, sid);
        }
        index.commit();
        let ids = |found: Vec<Candidate>| found.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(
            ids(candidates(&store.conn, &index, &[7, 8], None).unwrap()),
            [3, 1, 4, 2]
        );
        assert_eq!(
            ids(candidates(&store.conn, &index, &[7, 8], Some(3)).unwrap()),
            [1, 4, 2]
        );
        // A story deleted (retention, a merge) stays in the index until it
        // is rebuilt; the lookup drops it.
        store
            .conn
            .execute("DELETE FROM stories WHERE sid = 1", params![])
            .unwrap();
        let found = candidates(&store.conn, &index, &[7, 8], None).unwrap();
        assert_eq!(found[0].text, "text 2");
        assert_eq!(ids(found), [3, 4, 2]);
        // Built from the stored keys, the index finds the same.
        let mut built = NearIndex::default();
        built.ensure(&store.conn).unwrap();
        assert_eq!(built.len(), 5);
        assert_eq!(
            ids(candidates(&store.conn, &built, &[7, 8], None).unwrap()),
            [3, 4, 2]
        );
        // So does one built for these keys only, without the others.
        let asked = NearIndex::of_keys(&store.conn, &[7, 8]).unwrap();
        assert_eq!(asked.len(), 4);
        assert_eq!(
            ids(candidates(&store.conn, &asked, &[7, 8], None).unwrap()),
            [3, 4, 2]
        );
    }

    /// A writer with sources `ids` (no tags), in a temp dir, and its path.
    fn writer_with(ids: &[&str]) -> (tempfile::TempDir, PathBuf, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut store = Writer::open(&path).unwrap();
        test_polls::with_sources(&mut store, ids);
        (dir, path, store)
    }

    fn record(store: &mut Writer, poll: PollToStore) -> PollCounts {
        let near = crate::dedupe::Params::default();
        let mut r = store
            .record_polls(vec![poll], &|_| Vec::new(), &near)
            .unwrap();
        r.remove(0).unwrap()
    }

    const WIRE: &str = "京津冀三地教育部门今天在北京签署协议，推动优质教育资源共享与教师交流轮岗，首批试点学校名单同时公布，涉及三地共六十所中小学。";

    #[test]
    fn placement_new_exact_and_near_each_recorded_with_its_method() {
        let (_dir, path, mut store) = writer_with(&["a", "b", "c", "d"]);
        let c = record(&mut store, fetched("a", "1", WIRE));
        assert_eq!((c.items_new, c.stories_new, c.stories_merged), (1, 1, 0));
        let c = record(&mut store, fetched("b", "2", WIRE));
        assert_eq!((c.items_new, c.stories_new, c.stories_merged), (1, 0, 1));
        // One sentence more: a near duplicate (nearly all shingles shared).
        let longer = format!("{WIRE}三地还将联合开展教研活动。");
        let c = record(&mut store, fetched("c", "3", &longer));
        assert_eq!((c.stories_new, c.stories_merged), (0, 1));
        // Another story altogether.
        let c = record(
            &mut store,
            fetched(
                "d",
                "4",
                "地铁新线今日开通初期运营，沿线居民出行时间将大幅缩短，换乘站点同步启用，首班车六点发出。",
            ),
        );
        assert_eq!(c.stories_new, 1);
        let reader = Reader::open(&path).unwrap();
        let ids = reader.story_ids("").unwrap();
        assert_eq!(ids.len(), 2);
        let methods: Vec<(SourceId, Option<String>)> = ids
            .iter()
            .filter_map(|id| reader.story(id).unwrap())
            .flat_map(|(story, _)| story.copies)
            .map(|c| (c.source, c.method))
            .collect();
        let method = |source: &str| {
            methods
                .iter()
                .find(|(s, _)| s.as_str() == source)
                .and_then(|(_, m)| m.clone())
        };
        assert_eq!(method("a").as_deref(), Some(Method::First.as_str()));
        assert_eq!(method("b").as_deref(), Some(Method::Exact.as_str()));
        assert_eq!(method("c").as_deref(), Some(Method::Jaccard.as_str()));
        assert_eq!(method("d").as_deref(), Some(Method::First.as_str()));
    }

    #[test]
    fn an_edited_sole_copy_takes_its_story_along_and_keeps_the_id() {
        let (_dir, path, mut store) = writer_with(&["a"]);
        record(&mut store, fetched("a", "1", WIRE));
        let id = Reader::open(&path).unwrap().story_ids("").unwrap()[0].clone();
        let edited = format!("{WIRE}（更正：试点学校为六十二所。）");
        let c = record(&mut store, fetched("a", "1", &edited));
        assert_eq!((c.items_known, c.items_updated, c.items_new), (0, 1, 0));
        let reader = Reader::open(&path).unwrap();
        let (story, text) = reader.story(&id).unwrap().expect("same id");
        assert!(text.contains("六十二"), "{text}");
        assert_eq!(story.copies.len(), 1);
        // Polled again unchanged: known, nothing written but last_seen.
        let c = record(&mut store, fetched("a", "1", &edited));
        assert_eq!((c.items_known, c.items_updated), (1, 0));
    }

    #[test]
    fn files_and_categories_are_stored_on_insert_and_edit_and_edits_are_logged() {
        let (_dir, path, mut store) = writer_with(&["a"]);
        store
            .conn
            .execute(
                "INSERT INTO topics (slug, fingerprint, changed_at) VALUES ('all', 'f', 0)",
                params![],
            )
            .unwrap();
        let near = crate::dedupe::Params::default();
        let all = |_: &StoryView<'_>| vec!["all".to_string()];
        let mut poll = |text: &str, files: &[&str], cats: &[&str]| {
            let mut p = fetched("a", "1", text);
            if let PollOutcome::Fetched { items, .. } = &mut p.outcome {
                let mut item = items[0].item.clone();
                item.enclosures = files
                    .iter()
                    .map(|u| Enclosure {
                        url: u.to_string(),
                        mime_type: Some("image/jpeg".into()),
                        length: None,
                    })
                    .collect();
                item.categories = cats.iter().map(|c| c.to_string()).collect();
                let norm = items[0].norm.clone();
                let key = item.key();
                items[0] = NewCopy::new(item, norm, key);
            }
            let mut r = store.record_polls(vec![p], &all, &near).unwrap();
            r.remove(0).unwrap()
        };
        let read = || {
            let reader = Reader::open(&path).unwrap();
            let copy = reader.topic_feed("all", 10).unwrap()[0].copies[0].clone();
            (
                copy.enclosures
                    .into_iter()
                    .map(|e| e.url)
                    .collect::<Vec<_>>(),
                copy.categories,
            )
        };
        poll(WIRE, &["https://a.example/1.jpg"], &["教育"]);
        assert_eq!(
            read(),
            (
                vec!["https://a.example/1.jpg".to_string()],
                vec!["教育".to_string()]
            )
        );
        let edited = format!("{WIRE}（更正：试点学校为六十二所。）");
        let c = poll(&edited, &["https://a.example/2.jpg"], &[]);
        assert_eq!(c.items_updated, 1);
        assert_eq!(
            read(),
            (vec!["https://a.example/2.jpg".to_string()], vec![])
        );
        let reader = Reader::open(&path).unwrap();
        let polls = reader.recent_polls(&"a".into(), 10).unwrap();
        assert_eq!(
            polls.iter().map(|p| p.items_updated).collect::<Vec<_>>(),
            [1, 0]
        );
        let since = Utc::now() - chrono::TimeDelta::days(1);
        assert_eq!(
            reader.items_updated_since(&"a".into(), since).unwrap(),
            (1, 2)
        );
        let later = Utc::now() + chrono::TimeDelta::days(1);
        assert_eq!(
            reader.items_updated_since(&"a".into(), later).unwrap(),
            (0, 0)
        );
    }

    #[test]
    fn failed_pages_are_kept_per_source_the_last_ones_only_and_not_needed_counted_apart() {
        let (_dir, path, mut store) = writer_with(&["a", "b"]);
        let failing = |source: &str, guid: &str, from: usize, n: usize| {
            let mut poll = fetched(source, guid, WIRE);
            if let PollOutcome::Fetched { pages, .. } = &mut poll.outcome {
                pages.failed = n as u64;
                pages.not_needed = 2;
                pages.failures = (from..from + n)
                    .map(|i| PageFailure {
                        url: format!("https://{source}.example/{i}.html"),
                        reason: format!("HTTP 404 Not Found ({i})"),
                    })
                    .collect();
            }
            poll
        };
        let c = record(&mut store, failing("a", "1", 0, 15));
        assert_eq!((c.pages_failed, c.pages_not_needed), (15, 2));
        record(&mut store, failing("a", "2", 15, 10));
        record(&mut store, failing("b", "3", 0, 1));
        let reader = Reader::open(&path).unwrap();
        let a = reader.page_failures(&"a".into(), 100).unwrap();
        assert_eq!(a.len(), PAGE_FAILURES_KEPT);
        assert_eq!(a[0].url, "https://a.example/24.html", "newest first");
        assert_eq!(
            a.last().map(|f| f.url.as_str()),
            Some("https://a.example/5.html")
        );
        assert_eq!(a[0].reason, "HTTP 404 Not Found (24)");
        // Another source's failures are its own.
        assert_eq!(reader.page_failures(&"b".into(), 100).unwrap().len(), 1);
        let since = Utc::now() - chrono::TimeDelta::days(1);
        assert_eq!(
            reader.full_text_since(&"a".into(), since).unwrap(),
            FullTextCounts {
                fetched: 0,
                not_needed: 4,
                failed: 25,
                skipped: 0
            }
        );
        let polls = reader.recent_polls(&"a".into(), 10).unwrap();
        assert_eq!(polls[0].pages_not_needed, 2);
    }

    #[test]
    fn copies_stored_with_their_text_as_published_are_counted_per_poll() {
        let (_dir, path, mut store) = writer_with(&["a"]);
        // All of it reads as boilerplate: the text as published is kept.
        let credits = "责任编辑：王五</p><p>(完)";
        let mut poll = fetched("a", "1", credits);
        if let PollOutcome::Fetched { items, .. } = &mut poll.outcome {
            assert!(items[0].norm.text_fallback, "{:?}", items[0].norm);
            let other = fetched("a", "2", WIRE);
            if let PollOutcome::Fetched { items: more, .. } = other.outcome {
                items.extend(more);
            }
        }
        let c = record(&mut store, poll);
        assert_eq!((c.items_new, c.text_fallbacks), (2, 1));
        // Seen again unchanged: not stored, not counted.
        let c = record(&mut store, fetched("a", "1", credits));
        assert_eq!((c.items_known, c.text_fallbacks), (1, 0));
        // Edited, and still nothing but credits: counted again.
        let c = record(&mut store, fetched("a", "1", "责任编辑：赵六</p><p>(完)"));
        assert_eq!((c.items_updated, c.text_fallbacks), (1, 1));
        let reader = Reader::open(&path).unwrap();
        let texts: Vec<String> = reader
            .story_ids("")
            .unwrap()
            .iter()
            .map(|id| reader.story(id).unwrap().unwrap().1)
            .collect();
        assert!(texts.iter().any(|t| t.contains("赵六")), "{texts:?}");
        let polls = reader.recent_polls(&"a".into(), 10).unwrap();
        assert_eq!(
            polls.iter().map(|p| p.text_fallbacks).collect::<Vec<_>>(),
            [1, 0, 1]
        );
        let since = Utc::now() - chrono::TimeDelta::days(1);
        assert_eq!(
            reader.text_fallbacks_since(&"a".into(), since).unwrap(),
            TextFallbacks {
                kept_as_published: 2,
                stored: 3
            }
        );
        let later = Utc::now() + chrono::TimeDelta::days(1);
        assert_eq!(
            reader.text_fallbacks_since(&"a".into(), later).unwrap(),
            TextFallbacks::default()
        );
    }

    #[test]
    fn a_reader_sees_what_was_committed_and_refuses_an_older_schema() {
        let (_dir, path, mut store) = writer_with(&["a"]);
        let reader = Reader::open(&path).unwrap();
        assert_eq!(reader.source_status().unwrap()["a"].last_outcome, None);
        record(&mut store, fetched("a", "1", WIRE));
        let status = reader.source_status().unwrap().remove("a").unwrap();
        assert_eq!(status.last_outcome.as_deref(), Some("ok"));
        assert_eq!((status.copies, status.stories), (1, 1));
        assert_eq!(reader.recent_polls(&"a".into(), 10).unwrap().len(), 1);
        assert!(
            reader.has_source(&"a".into()).unwrap() && !reader.has_source(&"zz".into()).unwrap()
        );
        drop((store, reader));
        // A database one migration behind: readers do not migrate it.
        let old = path.with_file_name("old.db");
        {
            let mut conn = rusqlite::Connection::open(&old).unwrap();
            Migrations::new(migrations()[..SCHEMA_VERSION - 1].to_vec())
                .to_latest(&mut conn)
                .unwrap();
        }
        let before = std::fs::read(&old).unwrap();
        let e = Reader::open(&old).err().expect("refused");
        assert!(e.to_string().contains("newsriver poll"), "{e}");
        assert_eq!(std::fs::read(&old).unwrap(), before, "nothing written");
    }
}
