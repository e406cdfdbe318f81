//! Opening the database: pragmas (WAL, foreign keys, busy timeout), the
//! migrations, read-only connections, and the configured sources.

use super::*;

impl Writer {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Writer> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: shown.clone(),
                source,
            })?;
        }
        // Before the file is opened: a restore holding the lock refuses
        // this writer, which would otherwise write into the file being
        // replaced (and its work be lost with the unlinked file).
        let writers = super::backup::lock_writers_shared(path)?;
        let open_err = |source| StoreError::Open {
            path: shown.clone(),
            hint: writer_hint(path, &source),
            source,
        };
        let mut conn = rusqlite::Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Space freed by retention goes back to the file system with
        // `PRAGMA incremental_vacuum` (see `reclaim`). SQLite honours this
        // only before the first table exists, i.e. on a new database; an
        // older one is converted once by `reclaim` (a VACUUM).
        // 16 KiB pages (SQLite's default is 4 KiB), set before anything is
        // written so a new database gets them (an existing one keeps its
        // own). A copy's row (compressed HTML, titles, hashes) is 1–3 KB:
        // in 4 KiB pages a page held one or two rows and a fifth of each
        // leaf page stayed empty; in 16 KiB the waste is a few percent.
        // Cold poll of the 1,000-feed farms: database ÷ bytes fetched
        // 1.18 → 0.97 (real-length), 1.41 → 1.24 (synthetic), with the
        // same page cache in bytes (BENCHMARKS.md).
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(open_err)?;
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
        // Checkpoint every ~40 MB of WAL (10,000 4 KiB pages) instead of SQLite's
        // 1,000: a cold poll rewrites the same hot index pages in every
        // source's transaction, and each checkpoint copied them back into
        // the database file again. Fewer checkpoints: cold poll of the
        // 1,000-feed farm 12.2 → 9.3 s wall, 11.2 → 9.8 CPU s, same RSS
        // (BENCHMARKS.md). The WAL stays under `journal_size_limit`, and the
        // daemon's hourly TRUNCATE checkpoint still empties it.
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(open_err)?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            WAL_AUTOCHECKPOINT_BYTES / page_size.max(512),
        )
        .map_err(open_err)?;

        // A poll runs about 30 distinct statements (plus the
        // near-duplicate lookup, one per key count); all of them stay
        // prepared instead of being parsed again on every call (SQLite's
        // parser was 1.6% of the cold poll). rusqlite keeps 16 by default.
        conn.set_prepared_statement_cache_capacity(64);
        Migrations::new(migrations())
            .to_latest(&mut conn)
            .map_err(|source| StoreError::Migration {
                path: shown,
                source,
            })?;
        Ok(Writer {
            conn: conn.into(),
            near: Default::default(),
            place_alone: false,
            stats: Default::default(),
            _writers: writers,
        })
    }

    /// Inserts new sources and refreshes the name, URL, tags, trust and
    /// link hosts of known ones. A source whose trust, URL or link hosts
    /// changed has its stories' shown fields worked out again (`display`).
    pub fn sync_sources(&mut self, sources: &[SourceRow<'_>]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut before =
                tx.prepare("SELECT url, trust, link_hosts FROM sources WHERE id = ?1")?;
            let mut stmt = tx.prepare(
                "INSERT INTO sources (id, name, url, tags, trust, link_hosts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, tags = excluded.tags,
                   trust = excluded.trust, link_hosts = excluded.link_hosts,
                   etag = CASE WHEN sources.url = excluded.url THEN sources.etag END,
                   last_modified = CASE WHEN sources.url = excluded.url THEN sources.last_modified END,
                   moved_to = CASE WHEN sources.url = excluded.url THEN sources.moved_to END,
                   gone_at = CASE WHEN sources.url = excluded.url THEN sources.gone_at END,
                   retry_after_until = CASE WHEN sources.url = excluded.url THEN sources.retry_after_until END,
                   consecutive_failures = CASE WHEN sources.url = excluded.url THEN sources.consecutive_failures ELSE 0 END,
                   url = excluded.url",
            )?;
            let mut changed = Vec::new();
            for s in sources {
                let tags = serde_json::to_string(s.tags).unwrap_or_else(|_| "[]".into());
                let hosts = serde_json::to_string(s.link_hosts).unwrap_or_else(|_| "[]".into());
                let trust = if s.low_trust { "low" } else { "normal" };
                let old: Option<(String, String, String)> = before
                    .query_row([s.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                stmt.execute(params![s.id, s.name, s.url, tags, trust, hosts])?;
                if old.is_some_and(|o| {
                    (o.0.as_str(), o.1.as_str(), o.2.as_str()) != (s.url, trust, hosts.as_str())
                }) {
                    changed.push(s.id);
                }
            }
            if !changed.is_empty() {
                // Stories change outside placement: no poller places meanwhile.
                super::pg::lock_placements(&tx)?;
            }
            for id in changed {
                super::ingest::refresh_source_stories(&tx, id)?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

impl Reader {
    /// A read-only connection to an existing database, for readers that
    /// must never wait for the writer (WAL: readers see the last commit
    /// while a write transaction runs). Runs no migration and writes
    /// nothing: a database of an older schema is refused with what to do
    /// (the writer, `poll` or `run`, migrates it), as is a newer one.
    ///
    /// On a full disk SQLite cannot create or grow the `-shm` file that
    /// every WAL reader needs, and says "disk I/O error": the database is
    /// then read as it is in its main file (`immutable=1`, the WAL left
    /// out: at worst the last commits not yet checkpointed are missing), so
    /// that `serve` and the read commands go on working (`open_immutable`).
    pub fn open(path: &Path) -> Result<Reader> {
        let (conn, found, immutable) = match open_read_only(path) {
            Ok((conn, found)) => (conn, found, false),
            Err(e) => match disk_full(path, &e) {
                Some(why) => {
                    let (conn, found) = open_immutable(path, &why).map_err(|_| e)?;
                    (conn, found, true)
                }
                None => return Err(e),
            },
        };
        let what = match usize::try_from(found) {
            Ok(v) if v == SCHEMA_VERSION => return Ok(Reader { conn, immutable }),
            Ok(v) if v < SCHEMA_VERSION => {
                "run `newsriver poll` or start the daemon (`newsriver run`) to migrate it"
            }
            _ => "it was written by a newer newsriver; use that release",
        };
        Err(StoreError::Schema {
            path: path.display().to_string(),
            found,
            expected: SCHEMA_VERSION,
            what,
        })
    }
}

/// The hint for an error opening the database for writing: a full disk
/// named as such (SQLite says "disk I/O error" when it cannot create the
/// `-shm`), else `open_hint`.
fn writer_hint(path: &Path, e: &rusqlite::Error) -> String {
    match full_disk(path, e.sqlite_error_code()) {
        Some(why) => format!(
            " ({why}: SQLite cannot create or grow the -wal and -shm files beside the database; \
             free some space: `run` serves the feeds read-only meanwhile and starts polling \
             by itself once there is room; read commands and `serve` still read it)"
        ),
        None => open_hint(path, e),
    }
}

/// A read-only connection and the schema version it found (the first
/// read, where a WAL reader maps the `-shm`).
fn open_read_only(path: &Path) -> Result<(Connection, i64)> {
    let conn = open_existing(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    if let Some(c) = conn.lite() {
        c.pragma_update(None, "cache_size", -8 * 1024)
            .map_err(sql::Error::from)?;
    }
    let found: i64 = conn.query_row("PRAGMA user_version", params![], |r| r.get(0))?;
    Ok((conn, found))
}

/// Warned about once per process: a full disk is in the log once, not at
/// every read.
static WARNED_IMMUTABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `open_read_only` without the WAL and without locks (`immutable=1`):
/// nothing is created beside the database. For a full disk only, where
/// the normal open cannot create the `-shm`; `why` is logged once.
fn open_immutable(path: &Path, why: &str) -> Result<(Connection, i64)> {
    let absolute = std::path::absolute(path).map_err(io_err(path))?;
    let Ok(mut uri) = url::Url::from_file_path(&absolute) else {
        return Err(refused(path, "cannot be written as a file: URI"));
    };
    uri.set_query(Some("immutable=1"));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        rusqlite::Connection::open_with_flags(uri.as_str(), flags).map_err(sql::Error::from)?;
    conn.pragma_update(None, "cache_size", -8 * 1024)
        .map_err(sql::Error::from)?;
    let conn = Connection::from(conn);
    let found: i64 = conn.query_row("PRAGMA user_version", params![], |r| r.get(0))?;
    if !WARNED_IMMUTABLE.swap(true, std::sync::atomic::Ordering::Relaxed) {
        let wal = std::fs::metadata(with_suffix(path, "-wal")).map_or(0, |m| m.len());
        let missing = match wal {
            0 => "its WAL is empty: nothing is missing".to_string(),
            n => format!("the {n} bytes of recent changes in its WAL are not seen"),
        };
        tracing::warn!(
            path = %path.display(),
            "{why}: reading the database read-only without its WAL until there is room again ({missing})"
        );
    }
    Ok((conn, found))
}

/// Free space below this on the database's file system counts as full:
/// SQLite needs 32 KiB for a new `-shm` and grows the WAL by pages.
const FULL_BELOW_BYTES: u64 = 1 << 20;

/// When `e` opening or writing the database at `path` comes from a full
/// disk: "the disk holding <folder> is full (N KiB free)". SQLite says
/// "database or disk is full" only when a write fails; when it cannot
/// create or grow the `-shm` and `-wal` files it says "disk I/O error" (or
/// "unable to open database file"), so the file system is asked
/// (`statvfs`) for those errors too.
pub fn disk_full(path: &Path, e: &StoreError) -> Option<String> {
    let code = match e {
        StoreError::Sql(e) => e.sqlite_error_code(),
        StoreError::Open { source: e, .. } => e.sqlite_error_code(),
        StoreError::Migration {
            source: rusqlite_migration::Error::RusqliteError { err, .. },
            ..
        } => err.sqlite_error_code(),
        _ => None,
    };
    full_disk(path, code)
}

/// `disk_full` for one SQLite error code.
fn full_disk(path: &Path, code: Option<rusqlite::ErrorCode>) -> Option<String> {
    use rusqlite::ErrorCode::{CannotOpen, DiskFull, SystemIoFailure};
    if !matches!(code, Some(DiskFull | SystemIoFailure | CannotOpen)) {
        return None;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match rustix::fs::statvfs(dir) {
        Ok(st) => {
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            let no_inodes = st.f_files > 0 && st.f_favail == 0;
            (free < FULL_BELOW_BYTES || no_inodes || code == Some(DiskFull)).then(|| {
                format!(
                    "the disk holding {} is full ({} KiB free{})",
                    dir.display(),
                    free / 1024,
                    if no_inodes { ", no free inodes" } else { "" }
                )
            })
        }
        Err(_) if code == Some(DiskFull) => {
            Some(format!("the disk holding {} is full", dir.display()))
        }
        Err(_) => None,
    }
}

/// Read-only connections shared by tasks that read now and then (the
/// parallel stage's look-ups, rendering, the scheduler, `/healthz`): a
/// connection is taken for one read and put back (`Readers::get`), and
/// opened when none is free. `Reader` is not `Sync`; this hands each one to
/// one thread at a time without a lock around the connection itself.
pub struct Readers {
    at: Location,
    idle: std::sync::Mutex<Vec<Reader>>,
}

/// Where a store's data is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The SQLite file.
    Sqlite(PathBuf),
    /// The PostgreSQL URL.
    Postgres(String),
}

impl Reader {
    /// `Reader::open` or `Reader::open_postgres`, by `at`.
    pub fn open_at(at: &Location) -> Result<Reader> {
        match at {
            Location::Sqlite(path) => Reader::open(path),
            Location::Postgres(url) => Reader::open_postgres(url),
        }
    }
}

impl Writer {
    /// `Writer::open` or `Writer::open_postgres`, by `at`.
    pub fn open_at(at: &Location) -> Result<Writer> {
        match at {
            Location::Sqlite(path) => Writer::open(path),
            Location::Postgres(url) => Writer::open_postgres(url),
        }
    }
}

/// Connections kept open for reuse at most; more may be open at a moment.
const IDLE_READERS: usize = 8;

impl Readers {
    /// Opens one connection now, so that a database that cannot be read
    /// is reported at start rather than at the first read.
    pub fn open(path: &Path) -> Result<Readers> {
        Readers::open_at(Location::Sqlite(path.to_path_buf()))
    }

    /// `open` for either backend.
    pub fn open_at(at: Location) -> Result<Readers> {
        let first = Reader::open_at(&at)?;
        Ok(Readers {
            at,
            idle: std::sync::Mutex::new(vec![first]),
        })
    }

    /// A connection for one read; it goes back to the pool when dropped.
    pub fn get(&self) -> Result<Pooled<'_>> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let reader = match idle {
            Some(r) => r,
            None => Reader::open_at(&self.at)?,
        };
        Ok(Pooled {
            pool: self,
            reader: Some(reader),
        })
    }
}

/// A `Reader` taken from `Readers`.
pub struct Pooled<'a> {
    pool: &'a Readers,
    reader: Option<Reader>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Reader;
    fn deref(&self) -> &Reader {
        // Some until dropped.
        self.reader
            .as_ref()
            .expect("a pooled reader is present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        // One without its WAL is not kept: the next read tries the live
        // database again.
        if let Some(r) = self.reader.take().filter(|r| !r.immutable) {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE_READERS {
                idle.push(r);
            }
        }
    }
}
