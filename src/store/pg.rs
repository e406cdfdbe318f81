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
    tx.query_row(
        "SELECT pg_advisory_xact_lock(?1)",
        params![PLACEMENT_LOCK],
        |_| Ok(()),
    )?;
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
    /// pollers alive (renewed within one period), itself included.
    pub fn heartbeat(&self) -> Result<usize> {
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
        Ok(usize::try_from(live).unwrap_or(1).max(1))
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
