//! Maintenance: retention (pruning old stories and polls), space
//! reclamation, integrity checks, purging a source.

use super::*;

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

impl Writer {
    /// `sources remove --purge`: deletes a source's copies, every story left
    /// with no copy, and the source's row and poll history, in one
    /// transaction. Stories other outlets also carried stay, linked to their
    /// earliest remaining copy; topics that lose or change a story move
    /// their `changed_at` so the feeds are rebuilt. Returns (copies, stories)
    /// deleted.
    pub fn purge_source(&mut self, id: &SourceId) -> Result<(usize, usize)> {
        let tx = self.conn.transaction()?;
        // No poller places a copy meanwhile (PostgreSQL, `store::pg`).
        super::pg::lock_placements(&tx)?;
        let touched = "SELECT DISTINCT story FROM copies WHERE source_id = ?1";
        tx.execute(
            &format!(
                "UPDATE topics SET changed_at = ?2 WHERE slug IN
                   (SELECT topic FROM story_topics WHERE story IN ({touched}))"
            ),
            params![id, Utc::now().timestamp_millis()],
        )?;
        tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS purge_touched (story INTEGER PRIMARY KEY)",
            params![],
        )?;
        tx.execute("DELETE FROM temp.purge_touched", params![])?;
        tx.execute(
            &format!("INSERT INTO temp.purge_touched {touched}"),
            params![id],
        )?;
        let texts: Vec<i64> = tx
            .prepare(
                "SELECT DISTINCT text_id FROM copies WHERE source_id = ?1 AND text_id IS NOT NULL",
            )?
            .query_map(params![id], |r| r.get(0))?
            .collect::<sql::Result<_>>()?;
        let copies = tx.execute("DELETE FROM copies WHERE source_id = ?1", params![id])?;
        // Its texts go unless another outlet's copy has the same.
        super::ingest::forget_texts(&tx, &texts)?;
        let stories = tx.execute(
            "DELETE FROM stories WHERE sid IN (SELECT story FROM temp.purge_touched)
               AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.story = stories.sid)",
            params![],
        )?;
        // What the stories left show follows from their remaining copies.
        let left: Vec<i64> = tx
            .prepare("SELECT story FROM temp.purge_touched")?
            .query_map(params![], |r| r.get(0))?
            .collect::<sql::Result<_>>()?;
        let now = ts(Utc::now());
        for story in left {
            super::ingest::refresh_shown(&tx, story, now)?;
        }
        tx.execute("DELETE FROM temp.purge_touched", params![])?;
        tx.execute("DELETE FROM sources WHERE id = ?1", params![id])?;
        tx.commit()?;
        self.near.forget(stories);
        Ok((copies, stories))
    }
}

/// What `Writer::rename_source` carried over to the new id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Renamed {
    /// Whether the database knew the old id at all (a source never polled
    /// has no row yet).
    pub known: bool,
    pub copies: usize,
    pub polls: usize,
}

impl Writer {
    /// `sources rename OLD NEW`: the source's row (its polling state:
    /// validators, failures, next poll, what its feed said), its copies and
    /// its poll history move to `new`, in one transaction. Every column of
    /// the row is carried, whatever later migrations add. Refused when the
    /// database already holds a source `new` (one removed from the config
    /// without `--purge` keeps its row and copies): two histories would
    /// mix. What its stories show is worked out again (the display rule
    /// breaks ties by source id) and their topics' feeds rebuilt.
    pub fn rename_source(&mut self, old: &SourceId, new: &SourceId) -> Result<Renamed> {
        let tx = self.conn.transaction()?;
        super::pg::lock_placements(&tx)?;
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sources WHERE id = ?1)
                 OR EXISTS (SELECT 1 FROM copies WHERE source_id = ?1)
                 OR EXISTS (SELECT 1 FROM polls WHERE source_id = ?1)",
            params![new],
            |r| r.get(0),
        )?;
        if taken {
            return Err(StoreError::Refused {
                path: tx.path().unwrap_or("the database").to_string(),
                message: format!(
                    "the database already holds a source {:?} (removed from the config \
                     without --purge?): `newsriver sources remove {} --purge` deletes it first",
                    new.0, new.0
                ),
            });
        }
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sources WHERE id = ?1)",
            params![old],
            |r| r.get(0),
        )?;
        if !known {
            tx.commit()?;
            return Ok(Renamed::default());
        }
        // The row is copied whole (every column), under the new id, so the
        // copies and polls can point at it before the old row goes.
        tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS renamed_source AS SELECT * FROM sources WHERE 1 = 0",
            params![],
        )?;
        tx.execute("DELETE FROM temp.renamed_source", params![])?;
        tx.execute(
            "INSERT INTO temp.renamed_source SELECT * FROM sources WHERE id = ?1",
            params![old],
        )?;
        tx.execute("UPDATE temp.renamed_source SET id = ?1", params![new])?;
        tx.execute(
            "INSERT INTO sources SELECT * FROM temp.renamed_source",
            params![],
        )?;
        tx.execute("DELETE FROM temp.renamed_source", params![])?;
        let copies = tx.execute(
            "UPDATE copies SET source_id = ?2 WHERE source_id = ?1",
            params![old, new],
        )?;
        let polls = tx.execute(
            "UPDATE polls SET source_id = ?2 WHERE source_id = ?1",
            params![old, new],
        )?;
        // Before the old row goes: its delete would cascade to them.
        tx.execute(
            "UPDATE page_failures SET source_id = ?2 WHERE source_id = ?1",
            params![old, new],
        )?;
        tx.execute("DELETE FROM sources WHERE id = ?1", params![old])?;
        super::ingest::refresh_source_stories(&tx, &new.0)?;
        tx.commit()?;
        Ok(Renamed {
            known: true,
            copies,
            polls,
        })
    }
}

impl Writer {
    /// Deletes up to `limit` stories first seen before `cutoff` and that no
    /// outlet has listed since (retention keys on what this database saw,
    /// never on a date a source claims: a copy dated 1972 cannot get a
    /// story deleted) (their
    /// copies, topic memberships and near-duplicate keys go by ON DELETE
    /// CASCADE) and up to `limit` poll-history rows older than it, in one
    /// short transaction. The caller repeats while anything was deleted, so
    /// polls and feed rendering get the connection between batches.
    pub fn prune_batch(&mut self, cutoff: DateTime<Utc>, limit: usize) -> Result<Pruned> {
        let tx = self.conn.transaction()?;
        // A copy placed meanwhile could join a story this deletes.
        super::pg::lock_placements(&tx)?;
        let ids: Vec<i64> = {
            let mut stmt = tx.prepare_cached(
                "SELECT sid FROM stories WHERE first_seen < ?1
                   AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.story = stories.sid AND c.last_seen >= ?1)
                 ORDER BY first_seen LIMIT ?2",
            )?;
            stmt.query_map(params![ts(cutoff), limit as i64], |r| r.get(0))?
                .collect::<sql::Result<_>>()?
        };
        let now_ms = Utc::now().timestamp_millis();
        let mut texts: Vec<i64> = Vec::new();
        for id in &ids {
            texts.extend(
                tx.prepare_cached(
                    "SELECT text_id FROM copies WHERE story = ?1 AND text_id IS NOT NULL",
                )?
                .query_map([id], |r| r.get::<_, i64>(0))?
                .collect::<sql::Result<Vec<_>>>()?,
            );
            // The topics it leaves re-render (FeedCache follows changed_at).
            tx.execute(
                "UPDATE topics SET changed_at = ?2
                 WHERE slug IN (SELECT topic FROM story_topics WHERE story = ?1)",
                params![id, now_ms],
            )?;
            tx.execute("DELETE FROM stories WHERE sid = ?1", [id])?;
        }
        texts.sort_unstable();
        texts.dedup();
        super::ingest::forget_texts(&tx, &texts)?;
        let polls = tx.execute(
            "DELETE FROM polls WHERE id IN (SELECT id FROM polls WHERE started_at < ?1 LIMIT ?2)",
            params![ts(cutoff), limit as i64],
        )?;
        tx.commit()?;
        self.near.forget(ids.len());
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
    ///
    /// On PostgreSQL the server's autovacuum returns the space and there is
    /// no WAL file of ours to empty: only the pollers' log of index entries
    /// is trimmed (`pg::trim`).
    pub fn reclaim(&mut self) -> Result<Reclaimed> {
        let mut done = Reclaimed::default();
        if self.conn.backend() == sql::Backend::Postgres {
            let trimmed = super::pg::trim(&mut self.conn)?;
            if trimmed > 0 {
                tracing::debug!(entries = trimmed, "near-duplicate log trimmed");
            }
            return Ok(done);
        }
        let mode: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", params![], |r| r.get(0))?;
        let free = |c: &Connection| -> sql::Result<i64> {
            c.query_row("PRAGMA freelist_count", params![], |r| r.get(0))
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
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", params![], |r| r.get(0))?;
        done.wal_busy = busy != 0;
        Ok(done)
    }

    /// `PRAGMA integrity_check`: "ok", or the problems SQLite found
    /// (SQLite only).
    pub fn integrity_check(&self) -> Result<String> {
        integrity(&self.conn)
    }
}

pub(super) fn integrity(conn: &Connection) -> Result<String> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let lines = stmt
        .query_map(params![], |r| r.get::<_, String>(0))?
        .collect::<sql::Result<Vec<_>>>()?;
    Ok(lines.join("; "))
}

pub(super) fn summary(conn: &Connection, path: &Path) -> Result<DbSummary> {
    Ok(DbSummary {
        stories: conn.query_row("SELECT count(*) FROM stories", params![], |r| r.get(0))?,
        copies: conn.query_row("SELECT count(*) FROM copies", params![], |r| r.get(0))?,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    })
}
