//! The PostgreSQL store (`[storage] url = "postgres://…"`): connecting,
//! the migrations (`migrations/postgres`, applied by refinery), and what
//! only PostgreSQL does. Everything else — placement, the display rule,
//! topic membership, the views — is the same code as SQLite's, through
//! `sql`.
//!
//! Several pollers may share one database. Each transaction that places
//! copies holds `PLACEMENT_LOCK` (`begin_placement`); each poller keeps its
//! near-duplicate index in memory as on SQLite, and brings it up to date
//! under that lock from `near_log`, where every poller writes the entries
//! it adds (`NearIndex::sync_shared`, `flush_shared`): the candidates a
//! placement sees are exactly those a single writer would see.

use super::*;

/// The advisory lock a transaction that places copies holds until it
/// ends (an arbitrary 64-bit number: "newsplac" in ASCII). Placement is
/// serialized across pollers, as SQLite's one writer serializes it: two
/// pollers placing copies of one story at the same moment make one story.
/// The parallel stage (parse, normalize, keys, compression) and fetching
/// are what several pollers add (docs/scaling.md).
const PLACEMENT_LOCK: i64 = 0x6e65_7773_706c_6163;

/// The advisory lock held while the migrations run, so that two processes
/// starting together do not both apply them.
const MIGRATION_LOCK: i64 = 0x6e65_7773_6d69_6772;

/// The schema version this release writes on PostgreSQL (the number of
/// files in `migrations/postgres`).
pub(super) const PG_SCHEMA_VERSION: i64 = 1;

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

/// Milliseconds this process's transactions have waited for the placement
/// lock (other pollers' placements), for the writer's last log line.
pub fn placement_wait_ms() -> u64 {
    PLACEMENT_WAIT_US.load(std::sync::atomic::Ordering::Relaxed) / 1000
}

/// At the start of a transaction that may place copies: on PostgreSQL,
/// the placement lock, then the near-duplicate index built or brought up
/// to date (when `near` detection is on). Nothing on SQLite (its write
/// lock is the transaction's).
pub(super) fn begin_placement(
    tx: &Connection,
    index: &mut near::NearIndex,
    near: bool,
) -> sql::Result<()> {
    if tx.backend() != sql::Backend::Postgres {
        return Ok(());
    }
    let asked = std::time::Instant::now();
    tx.query_row(
        "SELECT pg_advisory_xact_lock(?1)",
        params![PLACEMENT_LOCK],
        |_| Ok(()),
    )?;
    PLACEMENT_WAIT_US.fetch_add(
        u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX),
        std::sync::atomic::Ordering::Relaxed,
    );
    if near {
        index.ensure(tx)?;
        index.sync_shared(tx)?;
    }
    Ok(())
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
            _writers: None,
        })
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
    tx.query_row(
        "SELECT pg_advisory_xact_lock(?1)",
        params![PLACEMENT_LOCK],
        |_| Ok(()),
    )?;
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
