//! The PostgreSQL store (`[storage] url = "postgres://…"`): connecting,
//! the migrations (`migrations/postgres`, applied by refinery), and what
//! only PostgreSQL does. Everything else — placement, the display rule,
//! topic membership, the views — is the same code as SQLite's, through
//! `sql`.
//!
//! Several pollers may share one database. Placement is serialized per
//! story neighbourhood, by advisory locks held to the end of the
//! transaction (two-phase locking):
//!
//! - at its start, a transaction that places copies locks every index key
//!   and every text hash of the copies it carries, in one sorted request
//!   (`begin_placement`): two copies that could find each other share a key
//!   or a hash, so the second waits for the first's commit;
//! - then it brings its in-memory index up to date from `near_log`, where
//!   every poller writes the entries it adds (`NearIndex::sync_shared`,
//!   `flush_shared`): under its keys' locks, nobody adds entries it would
//!   read, so its candidates are those a single writer would see;
//! - a story is locked before its copies are read or it is changed
//!   (`lock_stories`: candidates, the story an identical text is in, an
//!   edited copy's story), and keys are locked before entries go under them
//!   (`lock_keys`: a merged story's keys, a split's);
//! - those locks taken as it goes may deadlock with another transaction's:
//!   the server aborts one, which is stored again from the start
//!   (`Writer::record_polls`), and after `RETRIES` such aborts under
//!   `PLACEMENT_LOCK` alone (the whole database's placements, as SQLite's
//!   one writer).
//!
//! Every placing transaction holds `PLACEMENT_LOCK` shared; what changes
//! stories outside placement (retention, purge, rename, a source's trust,
//! the log's trim) holds it exclusively (`lock_placements`).

use super::*;

/// The advisory lock a transaction that places copies holds shared until
/// it ends, and exclusively one that changes stories otherwise or places
/// copies alone (an arbitrary 64-bit number: "newsplac" in ASCII).
const PLACEMENT_LOCK: i64 = 0x6e65_7773_706c_6163;

/// The first of the two-int advisory lock ids of a story (`lock_stories`;
/// "news" in ASCII), apart from the one-bigint ids of keys and hashes.
const STORY_LOCKS: i32 = 0x6e65_7773;

/// A transaction whose placements deadlocked with another's is stored
/// again this many times with per-neighbourhood locks, then alone.
pub(super) const RETRIES: u32 = 3;

/// The most placement locks one transaction takes at its start (see
/// `ingest::lock_chunks`): with two pollers' transactions and those
/// taken as they go, well within the server's 6,400 slots by default.
pub(super) const LOCK_BUDGET: usize = 1024;

/// The advisory lock held while the migrations run, so that two processes
/// starting together do not both apply them.
const MIGRATION_LOCK: i64 = 0x6e65_7773_6d69_6772;

/// The schema version this release writes on PostgreSQL (the number of
/// files in `migrations/postgres`).
pub(super) const PG_SCHEMA_VERSION: i64 = 3;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// What the store says when the server cannot be reached or refuses.
fn connect_err(url: &str, e: sql::Error) -> StoreError {
    StoreError::Postgres {
        url: crate::model::redact_password(url),
        message: e.to_string(),
    }
}

/// A connection to `url`, with the server's error named.
pub(super) fn connect(url: &str) -> Result<Connection> {
    Connection::connect_postgres(url).map_err(|e| connect_err(url, e))
}

/// Applies the migrations `url`'s database lacks.
fn migrate(url: &str) -> Result<()> {
    let conn = connect(url)?;
    let Some(pg) = conn.pg() else {
        return Ok(());
    };
    if schema_version(&conn)? == PG_SCHEMA_VERSION {
        // Nothing to apply: the runner (and its notices) not even started.
        return Ok(());
    }
    conn.query_row(
        "SELECT pg_advisory_lock(?1)",
        params![MIGRATION_LOCK],
        |_| Ok(()),
    )?;
    let runner = embedded::migrations::runner();
    let report = pg.with_client(|client| futures::executor::block_on(runner.run_async(client)));
    conn.query_row(
        "SELECT pg_advisory_unlock(?1)",
        params![MIGRATION_LOCK],
        |_| Ok(()),
    )?;
    report.map_err(|e| StoreError::Postgres {
        url: crate::model::redact_password(url),
        message: format!("migration failed: {e}"),
    })?;
    Ok(())
}

/// The schema version `conn`'s database has (0: none yet).
fn schema_version(conn: &Connection) -> Result<i64> {
    let exists: bool = conn.query_row(
        "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
        params![],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT CAST(coalesce(max(version), 0) AS BIGINT) FROM refinery_schema_history",
        params![],
        |r| r.get(0),
    )?)
}

/// Microseconds this process's transactions waited for `PLACEMENT_LOCK`.
static PLACEMENT_WAIT_US: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Transactions this process stored again after a deadlock between
/// placement locks (`Writer::record_polls`).
static PLACEMENT_RETRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Transactions stored again because their placements deadlocked with
/// another poller's (for the writer's last log line).
pub fn placement_retries() -> u64 {
    PLACEMENT_RETRIES.load(std::sync::atomic::Ordering::Relaxed)
}

pub(super) fn count_retry() {
    PLACEMENT_RETRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Milliseconds this process's transactions have waited for the placement
/// lock (other pollers' placements), for the writer's last log line.
pub fn placement_wait_ms() -> u64 {
    PLACEMENT_WAIT_US.load(std::sync::atomic::Ordering::Relaxed) / 1000
}

/// Counts the time since `asked` as waiting for placement locks.
fn waited(asked: std::time::Instant) {
    PLACEMENT_WAIT_US.fetch_add(
        u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// How a transaction that places copies is serialized with the other
/// pollers' (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Placing<'a> {
    /// Per neighbourhood: these keys and hash locks (`hash_lock`) first.
    Neighbourhood(&'a [i64]),
    /// Alone: `PLACEMENT_LOCK` exclusively.
    Alone,
    /// Alone if no other poller is placing at this moment (a poller on
    /// its own pays for no neighbourhood locks), else `sql::Error::Busy`.
    IfAlone,
}

/// At the start of a transaction that may place copies: on PostgreSQL,
/// its placement locks (`placing`), then the near-duplicate index built
/// or brought up to date (when `near` detection is on). Nothing on SQLite
/// (its write lock is the transaction's).
pub(super) fn begin_placement(
    tx: &Connection,
    index: &mut near::NearIndex,
    near: bool,
    placing: Placing<'_>,
) -> sql::Result<()> {
    index.locks.borrow_mut().clear();
    if tx.backend() != sql::Backend::Postgres {
        return Ok(());
    }
    match placing {
        Placing::Alone => lock_placements(tx)?,
        Placing::IfAlone => {
            let free: bool = tx.query_row(
                "SELECT pg_try_advisory_xact_lock(?1)",
                params![PLACEMENT_LOCK],
                |r| r.get(0),
            )?;
            if !free {
                return Err(sql::Error::Busy);
            }
        }
        Placing::Neighbourhood(upfront) => {
            let asked = std::time::Instant::now();
            tx.query_row(
                "SELECT pg_advisory_xact_lock_shared(?1)",
                params![PLACEMENT_LOCK],
                |_| Ok(()),
            )?;
            waited(asked);
            index.locks.borrow_mut().on = true;
            lock_keys(tx, index, upfront)?;
        }
    }
    if near {
        index.ensure(tx)?;
        index.sync_shared(tx)?;
    }
    index.locks.borrow_mut().settle();
    Ok(())
}

/// `PLACEMENT_LOCK` exclusively, until the transaction ends: no other
/// poller places a copy meanwhile. Nothing on SQLite.
pub(super) fn lock_placements(tx: &Connection) -> sql::Result<()> {
    if tx.backend() != sql::Backend::Postgres {
        return Ok(());
    }
    let asked = std::time::Instant::now();
    tx.query_row(
        "SELECT pg_advisory_xact_lock(?1)",
        params![PLACEMENT_LOCK],
        |_| Ok(()),
    )?;
    waited(asked);
    Ok(())
}

/// The lock id of a text hash (its placement by identical text), in the
/// keys' space: a collision with a key only makes two placements wait for
/// each other.
pub(super) fn hash_lock(hash: &str) -> i64 {
    // FNV-1a: stable across releases and machines (pollers of two
    // versions must agree), unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in hash.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// Numbers as one text parameter (`string_to_array` on the server): one
/// statement for a set of locks, whatever its size.
fn joined(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Locks index keys (or hash locks) the transaction does not hold yet,
/// in ascending order, until it ends. Nothing unless placing per
/// neighbourhood on PostgreSQL.
pub(super) fn lock_keys(tx: &Connection, index: &near::NearIndex, keys: &[i64]) -> sql::Result<()> {
    lock_missing(tx, index, keys, Held::Keys)
}

/// Locks stories the transaction does not hold yet (ascending), until it
/// ends: before their copies are read or they change. Nothing unless
/// placing per neighbourhood on PostgreSQL.
pub(super) fn lock_stories(
    tx: &Connection,
    index: &near::NearIndex,
    stories: &[i64],
) -> sql::Result<()> {
    lock_missing(tx, index, stories, Held::Stories)
}

/// Which of a transaction's placement locks (`near::Locks`).
#[derive(Clone, Copy)]
enum Held {
    Keys,
    Stories,
}

/// `lock_keys` or `lock_stories`: the ids not held yet, in one statement.
fn lock_missing(
    tx: &Connection,
    index: &near::NearIndex,
    ids: &[i64],
    kind: Held,
) -> sql::Result<()> {
    let mut locks = index.locks.borrow_mut();
    if !locks.on {
        return Ok(());
    }
    let held = match kind {
        Held::Keys => &mut locks.keys,
        Held::Stories => &mut locks.stories,
    };
    let mut wanted: Vec<i64> = ids.iter().copied().filter(|i| !held.contains(i)).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    wanted.sort_unstable();
    wanted.dedup();
    let asked = std::time::Instant::now();
    match kind {
        Held::Keys => tx
            .prepare_cached(
                "SELECT count(pg_advisory_xact_lock(k))
                 FROM unnest(CAST(string_to_array(CAST(?1 AS TEXT), ',') AS BIGINT[])) AS k",
            )?
            .query_row(params![joined(&wanted)], |_| Ok(()))?,
        // A story's lock is two-int (`STORY_LOCKS`, sid): apart from keys.
        // The second half is 32 bits: stories 2³¹ apart share a lock (they
        // only wait for each other).
        Held::Stories => tx
            .prepare_cached(
                "SELECT count(pg_advisory_xact_lock(CAST(?2 AS INTEGER),
                                                    CAST(s % 2147483648 AS INTEGER)))
                 FROM unnest(CAST(string_to_array(CAST(?1 AS TEXT), ',') AS BIGINT[])) AS s",
            )?
            .query_row(params![joined(&wanted), STORY_LOCKS], |_| Ok(()))?,
    }
    waited(asked);
    held.extend(wanted);
    Ok(())
}

/// Whether `e` is the server aborting a transaction that another one
/// stood in the way of (a deadlock between placement locks): storing it
/// again from the start succeeds.
pub(super) fn must_retry(e: &sql::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.pg_code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            // "out of shared memory": the lock table is full (many pollers
            // at once); alone, after the retries, takes no key locks.
            || *c == SqlState::OUT_OF_MEMORY
    })
}

impl Writer {
    /// Connects to the PostgreSQL database at `url` and migrates it.
    /// Other pollers may write to it at the same time (see the module's
    /// doc).
    pub fn open_postgres(url: &str) -> Result<Writer> {
        migrate(url)?;
        let conn = connect(url)?;
        let mut near = near::NearIndex::default();
        near.share();
        Ok(Writer {
            conn,
            near,
            place_alone: false,
            stats: Stats::default(),
            _writers: None,
        })
    }
}

/// When the writer has the server gather statistics (`ANALYZE`) itself:
/// a cold poll fills empty tables faster than autovacuum looks (a minute
/// apart), and a plan made for an empty table that then holds thousands
/// of rows can cost a scan per statement. Each time the copies this
/// writer stored since its last `ANALYZE` reach the copies it had stored
/// before it (and 1,000): so a load of N copies costs log₂(N / 1,000)
/// of them.
#[derive(Default)]
pub(super) struct Stats {
    since: u64,
    before: u64,
}

impl Stats {
    /// `copies` more stored.
    pub(super) fn grew(&mut self, conn: &Connection, copies: u64) {
        if conn.backend() != sql::Backend::Postgres {
            return;
        }
        self.since += copies;
        if self.since < self.before.max(1000) {
            return;
        }
        self.before += std::mem::take(&mut self.since);
        let started = std::time::Instant::now();
        match conn.execute(
            "ANALYZE copies, stories, story_texts, copy_texts, story_topics, near_log",
            params![],
        ) {
            Ok(_) => tracing::debug!(
                copies = self.before,
                ms = started.elapsed().as_millis() as u64,
                "statistics gathered"
            ),
            // Not the tables' owner: autovacuum does it, later.
            Err(e) => tracing::debug!(error = %e, "ANALYZE refused"),
        }
    }
}

impl Writer {
    /// Whether this writer places copies alone (`[storage] placement =
    /// "global"`: `PLACEMENT_LOCK` exclusively) rather than per
    /// neighbourhood. Only PostgreSQL's placements differ.
    pub fn place_alone(&mut self, yes: bool) {
        self.place_alone = yes;
    }
}

impl Reader {
    /// A connection to the PostgreSQL database at `url` for reading: no
    /// migration, nothing written; an older or newer schema is refused
    /// as on SQLite.
    pub fn open_postgres(url: &str) -> Result<Reader> {
        let conn = connect(url)?;
        let found = schema_version(&conn)?;
        let what = match found {
            v if v == PG_SCHEMA_VERSION => {
                return Ok(Reader {
                    conn,
                    immutable: false,
                });
            }
            v if v < PG_SCHEMA_VERSION => {
                "run `newsriver poll` or start the daemon (`newsriver run`) to migrate it"
            }
            _ => "it was written by a newer newsriver; use that release",
        };
        Err(StoreError::Schema {
            path: crate::model::redact_password(url),
            found,
            expected: PG_SCHEMA_VERSION as usize,
            what,
        })
    }
}

/// A poller's leases on feed hosts (PostgreSQL; see `host_leases` in
/// `migrations/postgres`): a host's sources are polled by the poller that
/// holds its lease, so one host's politeness (`per_host`, the interval
/// between requests), validators and backoff stay with one poller at a
/// time. Its own connection: renewing never waits behind the writer's
/// transactions.
pub struct Leases {
    conn: std::sync::Mutex<Connection>,
    me: String,
    period_ms: i64,
}

/// A lease held: the host and the generation it was taken at (fencing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub host: String,
    pub holder: String,
    pub generation: i64,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Leases {
    /// Registers this poller (`me`, unique among the live ones) in the
    /// database at `url`; leases last `period` unless renewed.
    pub fn open(url: &str, me: &str, period: Duration) -> Result<Leases> {
        migrate(url)?;
        let conn = connect(url)?;
        let leases = Leases {
            conn: std::sync::Mutex::new(conn),
            me: me.to_string(),
            period_ms: i64::try_from(period.as_millis()).unwrap_or(i64::MAX / 4),
        };
        leases.heartbeat()?;
        Ok(leases)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This poller's id.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// Renews this poller's row and every lease it holds; the number of
    /// pollers alive (renewed within one period), itself included, and the
    /// leases it holds now (one it failed to renew in time and another
    /// poller took is no longer among them).
    pub fn heartbeat(&self) -> Result<(usize, Vec<Lease>)> {
        let now = now_ms();
        let conn = self.conn();
        conn.execute(
            "INSERT INTO pollers (id, seen_at) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            params![self.me, now],
        )?;
        // A lease whose row a writer has share-locked (`still_held`, in
        // the transaction storing a poll) is skipped, renewed next time: no
        // other poller can take it meanwhile (claims skip locked rows), and
        // waiting for it here could deadlock with that writer.
        conn.execute(
            "UPDATE host_leases SET expires_at = ?2 WHERE host IN
               (SELECT host FROM host_leases WHERE holder = ?1 FOR UPDATE SKIP LOCKED)",
            params![self.me, now + self.period_ms],
        )?;
        let live: i64 = conn.query_row(
            "SELECT count(*) FROM pollers WHERE seen_at >= ?1",
            params![now - self.period_ms],
            |r| r.get(0),
        )?;
        let held = conn
            .prepare("SELECT host, generation FROM host_leases WHERE holder = ?1")?
            .query_map(params![self.me], |r| {
                Ok(Lease {
                    host: r.get(0)?,
                    holder: self.me.clone(),
                    generation: r.get(1)?,
                })
            })?
            .collect::<sql::Result<Vec<_>>>()?;
        Ok((usize::try_from(live).unwrap_or(1).max(1), held))
    }

    /// Claims the leases of `hosts` that are free, lapsed or already this
    /// poller's, at most `max` new ones (hosts it holds do not count), in
    /// one transaction; rows another poller is claiming at this moment are
    /// skipped (`FOR UPDATE SKIP LOCKED`). The leases this poller now
    /// holds among `hosts`.
    pub fn claim(&self, hosts: &[String], max: usize) -> Result<Vec<Lease>> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut held = Vec::new();
        let mut taken = 0;
        for host in hosts {
            tx.execute(
                "INSERT INTO host_leases (host) VALUES (?1) ON CONFLICT DO NOTHING",
                params![host],
            )?;
            let row: Option<(Option<String>, i64, i64)> = tx
                .query_row(
                    "SELECT holder, generation, expires_at FROM host_leases WHERE host = ?1
                     FOR UPDATE SKIP LOCKED",
                    params![host],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((holder, generation, expires_at)) = row else {
                continue;
            };
            let mine = holder.as_deref() == Some(self.me.as_str());
            let generation = if mine && expires_at >= now {
                generation
            } else if holder.is_none() || expires_at < now || mine {
                if taken >= max {
                    continue;
                }
                taken += 1;
                generation + 1
            } else {
                continue;
            };
            tx.execute(
                "UPDATE host_leases SET holder = ?2, generation = ?3, expires_at = ?4 WHERE host = ?1",
                params![host, self.me, generation, now + self.period_ms],
            )?;
            held.push(Lease {
                host: host.clone(),
                holder: self.me.clone(),
                generation,
            });
        }
        tx.commit()?;
        Ok(held)
    }

    /// Lets `hosts` go (this poller's leases only).
    pub fn release(&self, hosts: &[String]) -> Result<()> {
        let conn = self.conn();
        for host in hosts {
            conn.execute(
                "UPDATE host_leases SET holder = NULL, expires_at = 0 WHERE host = ?1 AND holder = ?2",
                params![host, self.me],
            )?;
        }
        Ok(())
    }

    /// Lets every lease go and leaves the pollers (at shutdown).
    pub fn leave(&self) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "UPDATE host_leases SET holder = NULL, expires_at = 0 WHERE holder = ?1",
            params![self.me],
        )?;
        conn.execute("DELETE FROM pollers WHERE id = ?1", params![self.me])?;
        Ok(())
    }
}

/// In the transaction storing a poll made under `lease`: whether the lease
/// is still this poller's at the generation the poll was made under. The
/// row stays share-locked until the transaction ends, so no other poller
/// takes the host between this check and the commit (fencing).
pub(super) fn still_held(tx: &Connection, lease: &Lease) -> sql::Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM host_leases WHERE host = ?1 AND holder = ?2 AND generation = ?3 FOR SHARE",
            params![lease.host, lease.holder, lease.generation],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// How long `near_log` keeps an entry: a poller that placed nothing for
/// longer builds its index again (`NearIndex::sync_shared`).
const NEAR_LOG_KEEP_SECS: i64 = 24 * 3600;

/// PostgreSQL's share of `Writer::reclaim`: `near_log` entries older than
/// `NEAR_LOG_KEEP_SECS` go (under the placement lock, so that no poller
/// reads the log half trimmed), and pollers not seen for as long. The
/// server's autovacuum returns the space. The entries trimmed.
pub(super) fn trim(conn: &mut Connection) -> Result<u64> {
    let now = Utc::now().timestamp();
    let tx = conn.transaction()?;
    lock_placements(&tx)?;
    let upto: Option<i64> = tx.query_row(
        "SELECT max(seq) FROM near_log WHERE at < ?1",
        params![now - NEAR_LOG_KEEP_SECS],
        |r| r.get(0),
    )?;
    let mut trimmed = 0;
    if let Some(upto) = upto {
        trimmed = tx.execute("DELETE FROM near_log WHERE seq <= ?1", params![upto])? as u64;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('near_log_trimmed_to', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![upto],
        )?;
    }
    tx.execute(
        "DELETE FROM pollers WHERE seen_at < ?1",
        params![(now - NEAR_LOG_KEEP_SECS) * 1000],
    )?;
    tx.commit()?;
    Ok(trimmed)
}

/// The tables `copy_sqlite` copies, parents before children.
const COPIED: [&str; 10] = [
    "sources",
    "topics",
    "settings",
    "stories",
    "story_texts",
    "copy_texts",
    "copies",
    "story_topics",
    "polls",
    "page_failures",
];

/// The identity columns whose sequences must start after the copied ids.
const IDENTITIES: [(&str, &str); 5] = [
    ("stories", "sid"),
    ("copies", "id"),
    ("polls", "id"),
    ("page_failures", "id"),
    ("copy_texts", "id"),
];

/// What `copy_sqlite` copied: rows per table, read and found again.
#[derive(Debug, Default)]
pub struct Copied {
    pub tables: Vec<(String, u64)>,
}

/// `newsriver migrate-store --to URL`: copies the SQLite database at `from`
/// (stories, copies, their texts, topics, polls, sources with their
/// validators and state) into the PostgreSQL database at `url`, which must
/// be empty of stories and sources (migrated here if new), in one
/// transaction; then checks that every table holds as many rows as the
/// SQLite one. Nothing is written to `from`.
pub fn copy_sqlite(from: &Path, url: &str) -> Result<Copied> {
    let lite = Reader::open(from)?;
    migrate(url)?;
    let mut pg = connect(url)?;
    let not_empty: i64 = pg.query_row(
        "SELECT (SELECT count(*) FROM stories) + (SELECT count(*) FROM sources)",
        params![],
        |r| r.get(0),
    )?;
    if not_empty > 0 {
        return Err(StoreError::Postgres {
            url: crate::model::redact_password(url),
            message: "already holds stories or sources: migrate-store copies into an empty \
                      database only (create a new one, or drop this one's tables)"
                .into(),
        });
    }
    let src = lite.conn.lite().ok_or_else(|| StoreError::Refused {
        path: from.display().to_string(),
        message: "not a SQLite database".into(),
    })?;
    // One read transaction: every table as of one moment, whatever a
    // daemon still polling commits meanwhile.
    src.execute_batch("BEGIN").map_err(sql::Error::from)?;
    let tx = pg.transaction()?;
    // A new database's own settings rows make way for the copied ones.
    tx.execute("DELETE FROM settings", params![])?;
    let mut copied = Copied::default();
    for table in COPIED {
        let columns: Vec<String> = {
            let mut stmt = src
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
                ))
                .map_err(sql::Error::from)?;
            stmt.query_map([], |r| r.get::<_, String>(0))
                .map_err(sql::Error::from)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql::Error::from)?
        };
        let list = columns.join(", ");
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE VALUES ({})",
            marks.join(", ")
        );
        let mut write = tx.prepare(&insert)?;
        let mut read = src
            .prepare(&format!("SELECT {list} FROM {table}"))
            .map_err(sql::Error::from)?;
        let mut rows = read.query([]).map_err(sql::Error::from)?;
        let mut n = 0u64;
        while let Some(r) = rows.next().map_err(sql::Error::from)? {
            let values: Vec<sql::Value<'_>> = (0..columns.len())
                .map(|i| sql::lite_value(r.get_ref(i)?))
                .collect::<sql::Result<_>>()?;
            write.execute(values)?;
            n += 1;
        }
        copied.tables.push((table.to_string(), n));
    }
    for (table, column) in IDENTITIES {
        tx.query_row(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                               coalesce(max({column}), 0) + 1, false) FROM {table}"
            ),
            params![],
            |_| Ok(()),
        )?;
    }
    for (table, n) in &copied.tables {
        let found: i64 =
            tx.query_row(&format!("SELECT count(*) FROM {table}"), params![], |r| {
                r.get(0)
            })?;
        if found != *n as i64 {
            return Err(StoreError::Postgres {
                url: crate::model::redact_password(url),
                message: format!("{table}: {n} rows copied but {found} found; nothing kept"),
            });
        }
    }
    tx.commit()?;
    src.execute_batch("COMMIT").map_err(sql::Error::from)?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::super::test_polls;
    use super::*;

    /// A fresh database on the server `NEWSRIVER_TEST_POSTGRES` names
    /// (`.ci/run` starts one), or None (with a note) without one.
    fn database(test: &str) -> Option<String> {
        let Ok(base) = std::env::var("NEWSRIVER_TEST_POSTGRES") else {
            eprintln!("SKIPPED {test}: NEWSRIVER_TEST_POSTGRES names no server");
            return None;
        };
        let name = format!("u_{test}_{}", std::process::id());
        let admin = Connection::connect_postgres(&base).unwrap();
        admin
            .execute(&format!("DROP DATABASE IF EXISTS {name}"), params![])
            .unwrap();
        admin
            .execute(&format!("CREATE DATABASE {name}"), params![])
            .unwrap();
        let (server, _) = base.rsplit_once('/').unwrap();
        Some(format!("{server}/{name}"))
    }

    /// A text of `sentences` sentences of characters drawn from `seed`:
    /// texts of two seeds share no shingle worth a key.
    fn sentences(seed: u64, n: usize) -> Vec<String> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                let mut s: String = (0..24)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        char::from_u32(0x4e00 + (x % 0x4000) as u32).unwrap_or('中')
                    })
                    .collect();
                s.push('。');
                s
            })
            .collect()
    }

    /// A poll of `source` carrying its copy of each story in `stories`:
    /// the story's sentences, plus one of the source's own (copies differ
    /// by a sentence, as outlets' do).
    fn poll(source: usize, stories: std::ops::Range<u64>) -> PollToStore {
        let id = format!("o{source}");
        let items = stories
            .map(|story| {
                let mut text = sentences(story, 6).concat();
                text.push_str(&sentences(1000 + source as u64, 1)[0]);
                test_polls::item(&id, &format!("s{story}"), &text)
            })
            .collect();
        test_polls::fetched_all(&id, items)
    }

    const SOURCES: usize = 6;
    const STORIES: u64 = 12;
    const ROUND: u64 = 4;

    fn with_sources(mut store: Writer) -> Writer {
        let ids: Vec<String> = (0..SOURCES).map(|s| format!("o{s}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        test_polls::with_sources(&mut store, &ids);
        store
    }

    /// The stories as sets of (source, item) copies, sorted.
    fn partition(conn: &Connection) -> Vec<Vec<String>> {
        let mut rows: Vec<(i64, String)> = conn
            .prepare("SELECT story, source_id || '/' || item_key FROM copies")
            .unwrap()
            .query_map(params![], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<sql::Result<_>>()
            .unwrap();
        rows.sort();
        let mut stories: Vec<Vec<String>> = rows
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| run.iter().map(|r| r.1.clone()).collect())
            .collect();
        stories.sort();
        stories
    }

    /// Stores `sources`' polls round by round (`ROUND` stories each), a
    /// round's polls in one `record_polls`.
    fn store_rounds(store: &mut Writer, sources: std::ops::Range<usize>) {
        let near = crate::dedupe::Params::default();
        for round in 0..STORIES / ROUND {
            let polls = sources
                .clone()
                .map(|s| poll(s, round * ROUND..(round + 1) * ROUND))
                .collect();
            for r in store.record_polls(polls, &|_| Vec::new(), &near).unwrap() {
                r.unwrap();
            }
        }
    }

    #[test]
    fn two_pollers_placing_copies_of_the_same_stories_at_once_make_one_story_each() {
        let Some(url) = database("placing_at_once") else {
            return;
        };
        // One writer on SQLite: the stories expected.
        let dir = tempfile::tempdir().unwrap();
        let mut alone = with_sources(Writer::open(&dir.path().join("t.db")).unwrap());
        store_rounds(&mut alone, 0..SOURCES);
        let expected = partition(&alone.conn);
        assert_eq!(expected.len(), STORIES as usize, "{expected:#?}");
        assert!(expected.iter().all(|s| s.len() == SOURCES));
        // Two writers on one database, each storing half the outlets'
        // copies of the same stories at the same moments, several times;
        // the last time with `placement = "global"`.
        for (attempt, alone) in [false, false, true].into_iter().enumerate() {
            with_sources(Writer::open_postgres(&url).unwrap());
            // A third poller placing all along (it holds the placement lock
            // shared): neither writer places alone (`Placing::IfAlone`).
            let mut third = Connection::connect_postgres(&url).unwrap();
            let placing = third.transaction().unwrap();
            if !alone {
                placing
                    .query_row(
                        "SELECT pg_advisory_xact_lock_shared(?1)",
                        params![PLACEMENT_LOCK],
                        |_| Ok(()),
                    )
                    .unwrap();
            }
            let half = SOURCES / 2;
            let [a, b] = [0..half, half..SOURCES].map(|sources| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut store = Writer::open_postgres(&url).unwrap();
                    store.place_alone(alone);
                    store_rounds(&mut store, sources);
                })
            });
            a.join().unwrap();
            b.join().unwrap();
            placing.commit().unwrap();
            let conn = Connection::connect_postgres(&url).unwrap();
            eprintln!(
                "attempt {attempt}: {} ms waited for placement locks, {} stored again",
                placement_wait_ms(),
                placement_retries()
            );
            assert_eq!(partition(&conn), expected, "attempt {attempt}");
            conn.execute(
                "TRUNCATE stories, copies, copy_texts, near_log CASCADE",
                params![],
            )
            .unwrap();
        }
    }

    #[test]
    fn a_placement_that_deadlocks_with_another_transaction_is_stored_again() {
        let Some(url) = database("deadlocked") else {
            return;
        };
        let near = crate::dedupe::Params::default();
        let mut store = with_sources(Writer::open_postgres(&url).unwrap());
        store
            .record_polls(vec![poll(0, 0..1)], &|_| Vec::new(), &near)
            .unwrap();
        let sid: i64 = store
            .conn
            .query_row("SELECT sid FROM stories", params![], |r| r.get(0))
            .unwrap();
        let second = poll(1, 0..1);
        let PollOutcome::Fetched { items, .. } = &second.outcome else {
            unreachable!()
        };
        let hash = hash_lock(&items[0].norm.content_hash.0);
        // Another poller's transaction, placing, holds the story's lock…
        let mut other = Connection::connect_postgres(&url).unwrap();
        let tx = other.transaction().unwrap();
        tx.query_row(
            "SELECT pg_advisory_xact_lock_shared(?1)",
            params![PLACEMENT_LOCK],
            |_| Ok(()),
        )
        .unwrap();
        tx.query_row(
            "SELECT pg_advisory_xact_lock(CAST(?1 AS INTEGER), CAST(?2 AS INTEGER))",
            params![STORY_LOCKS, sid],
            |_| Ok(()),
        )
        .unwrap();
        let before = placement_retries();
        let placing = std::thread::spawn(move || {
            let r = store
                .record_polls(vec![second], &|_| Vec::new(), &near)
                .unwrap();
            r.into_iter().collect::<Result<Vec<_>>>().unwrap();
            store
        });
        // … the copy's transaction, holding its text's lock, waits for the
        // story's; then the other asks for the text's lock: a deadlock,
        // which the server breaks by aborting the copy's transaction.
        std::thread::sleep(Duration::from_millis(500));
        tx.query_row(
            "SELECT pg_advisory_xact_lock(?1)",
            params![hash],
            |_| Ok(()),
        )
        .unwrap();
        tx.commit().unwrap();
        let store = placing.join().unwrap();
        assert!(placement_retries() > before, "stored again");
        let copies: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM copies WHERE story = ?1",
                params![sid],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            copies, 2,
            "the copy joined its story once the way was clear"
        );
    }

    #[test]
    fn a_log_entry_committed_after_a_later_numbered_one_still_reaches_the_index() {
        let Some(url) = database("log_order") else {
            return;
        };
        drop(Writer::open_postgres(&url).unwrap());
        let reader = Connection::connect_postgres(&url).unwrap();
        let mut index = near::NearIndex::default();
        index.share();
        index.sync_shared(&reader).unwrap();
        let under = |index: &near::NearIndex, key: i64| {
            let mut out = Vec::new();
            index.stories(key, &mut out);
            out
        };
        let log = "INSERT INTO near_log (sid, keys, at) VALUES (?1, ?2, 0)";
        // The first entry is numbered, then the second numbered and
        // committed, then the first committed.
        let mut early = Connection::connect_postgres(&url).unwrap();
        let slow = early.transaction().unwrap();
        slow.execute(log, params![7, near::encode_keys(&[42])])
            .unwrap();
        let mut late = Connection::connect_postgres(&url).unwrap();
        let fast = late.transaction().unwrap();
        fast.execute(log, params![8, near::encode_keys(&[42])])
            .unwrap();
        fast.commit().unwrap();
        index.sync_shared(&reader).unwrap();
        assert_eq!(under(&index, 42), vec![8]);
        slow.commit().unwrap();
        index.sync_shared(&reader).unwrap();
        assert_eq!(under(&index, 42), vec![8, 7], "read, and each once");
        index.sync_shared(&reader).unwrap();
        assert_eq!(under(&index, 42), vec![8, 7]);
    }
}
