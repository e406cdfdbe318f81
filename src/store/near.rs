//! The near-duplicate index in memory: index key → the stories carrying it.
//!
//! Each story keeps its keys (`dedupe::index_keys` of every text it was
//! indexed under) beside its text, `story_texts.near_keys` (in `stories`
//! until migration 0018), a blob of sorted little-endian i64s (`encode_keys`); this index is built from those blobs
//! when the writer first needs it and kept up to date by the writer as it
//! stores. Hand-written: no crate holds "newest stories under a key" with
//! savepoint rollback.
//!
//! Why not a table (as `near_keys (key, story)` was until migration 0010):
//! index keys are random, so each group transaction dirtied nearly every
//! leaf page of that table, and SQLite wrote them all to the WAL again at
//! every commit, then back into the database at every checkpoint. At
//! 4,000 feeds (924k keys) that was the largest part of the writer's time,
//! and what made a poll's cost per item grow with the database
//! (BENCHMARKS.md, "The near-duplicate index in memory"). The blobs sit in
//! the story's `story_texts` row, written in `sid` order, and rewritten
//! only when a near copy brings keys.
//!
//! Entries are never removed: a story deleted (retention, purge, absorbed
//! by a merge) leaves entries that name a `sid` no longer in `stories`,
//! and `candidates` drops them when it reads the rows. A `sid` SQLite
//! hands out again (it can reuse the highest after a delete) only adds a
//! wrong candidate, which the judge (`dedupe::place`) compares by text like
//! any other. The index is rebuilt whenever another connection has written
//! to the database (`PRAGMA data_version`), so a `poll` run beside the
//! daemon's idle times is seen, and once retention or a purge on this
//! connection has deleted an eighth of the stories it was built with
//! (`forget`).

use std::collections::HashMap;

use super::sql::{self, Connection, params};

/// Index entries read per key: the newest stories under each key (the
/// highest `sid`). A key that thousands of stories share (a feed whose
/// items all open alike) would otherwise make every lookup read them all,
/// quadratic over a poll.
pub(super) const ROWS_PER_KEY: usize = 32;

/// Additions kept in the hash map before they are merged into the sorted
/// arrays (a merge is linear in the index: ~5 ms per million entries).
const DELTA_MERGE: usize = 1 << 16;

/// Bits of a key that pick its bucket in `NearIndex::starts`.
const BUCKET_BITS: u32 = 16;

/// Keys are hashes already (uniform): the delta map uses them as they are
/// instead of hashing them again with SipHash.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_i64(&mut self, k: i64) {
        self.0 = k as u64;
    }
}

type KeyMap<V> = HashMap<i64, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// A key's bucket: its top bits, with the sign bit flipped so that buckets
/// follow the keys' signed order.
fn bucket(key: i64) -> usize {
    (((key as u64) ^ (1 << 63)) >> (64 - BUCKET_BITS)) as usize
}

#[derive(Default)]
pub(super) struct NearIndex {
    /// (key, sid) sorted by key then sid, as two arrays (12 bytes an entry).
    keys: Vec<i64>,
    sids: Vec<u32>,
    /// Where each bucket's keys start in `keys` (one more entry than
    /// buckets): a lookup searches ~14 neighbouring keys, not all of them
    /// (a binary search over millions was a cache miss per step).
    starts: Vec<u32>,
    /// Entries added since the last merge, by key.
    delta: KeyMap<Vec<u32>>,
    delta_len: usize,
    /// Keys added in the open transaction, in order: a savepoint rolled
    /// back takes its entries back out (`rollback_to`).
    undo: Vec<i64>,
    /// Keys whose entries in `delta` grew past `4 × ROWS_PER_KEY`: trimmed
    /// to the newest at the next commit (lookups read no more).
    hot: Vec<i64>,
    /// `PRAGMA data_version` when the index was built.
    data_version: i64,
    /// Stories the index was built with, and those deleted since
    /// (`forget`): their entries stay until the next build.
    built_with: usize,
    forgotten: usize,
    loaded: bool,
    /// Several pollers on PostgreSQL (`store::pg`): the entries added in
    /// the open transaction, `(sid, key)` in order, written to `near_log`
    /// before it commits (`flush_shared`) so that the other pollers' indexes
    /// catch up (`sync_shared`). `None` on SQLite.
    journal: Option<Vec<(i64, i64)>>,
    /// The highest `near_log` seq read (for the trim check), and where
    /// this poller's own entries end once the open transaction commits.
    log_seq: i64,
    pending_seq: Option<i64>,
    /// `near_log` is read from this transaction id on (`sync_shared`):
    /// the oldest transaction still running at the last read.
    log_xmin: i64,
    /// The placement locks the open transaction holds (`store::pg`).
    pub(super) locks: std::cell::RefCell<Locks>,
}

/// The advisory locks a PostgreSQL transaction that places copies holds
/// on index keys and on stories (`store::pg::lock_keys`, `lock_stories`),
/// so that each is asked for once. Empty on SQLite and when one lock
/// serializes every placement.
#[derive(Default)]
pub(super) struct Locks {
    /// Whether locks are taken at all (several pollers, per neighbourhood).
    pub(super) on: bool,
    pub(super) keys: std::collections::HashSet<i64>,
    pub(super) stories: std::collections::HashSet<i64>,
    /// Those taken at the transaction's start (`settle`), before any
    /// savepoint: a savepoint rolled back gives back only those after.
    first_keys: Vec<i64>,
}

impl Locks {
    /// A new transaction: nothing is held.
    pub(super) fn clear(&mut self) {
        self.on = false;
        self.keys.clear();
        self.stories.clear();
        self.first_keys.clear();
    }

    /// The locks taken so far are the transaction's own (before any
    /// savepoint).
    pub(super) fn settle(&mut self) {
        self.first_keys = self.keys.iter().copied().collect();
        debug_assert!(self.stories.is_empty());
    }

    /// A savepoint was rolled back: the server gave back what it locked,
    /// which is asked for again when needed.
    pub(super) fn savepoint_rolled_back(&mut self) {
        self.keys.clear();
        self.keys.extend(self.first_keys.iter().copied());
        self.stories.clear();
    }
}

/// The keys of a story as stored in `story_texts.near_keys`.
pub(super) fn encode_keys(keys: &[i64]) -> Vec<u8> {
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.iter().flat_map(|k| k.to_le_bytes()).collect()
}

/// The keys in a `story_texts.near_keys` blob (a trailing partial key, which
/// this program never writes, is ignored).
pub(super) fn decode_keys(blob: &[u8]) -> Vec<i64> {
    blob.chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            i64::from_le_bytes(b)
        })
        .collect()
}

/// `sid` as the index keeps it. A database with more than four billion
/// stories is beyond this program; such a story is not indexed.
fn small(sid: i64) -> Option<u32> {
    u32::try_from(sid).ok()
}

/// Where `near_log` stands: its highest seq, and the oldest transaction
/// still running (`pg_snapshot_xmin`), as a number.
fn log_position(conn: &Connection) -> sql::Result<(i64, i64)> {
    conn.query_row(
        "SELECT CAST(coalesce((SELECT max(seq) FROM near_log), 0) AS BIGINT),
                CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)",
        params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

impl NearIndex {
    /// Builds the index from the stories' blobs unless it is up to date:
    /// built, and no other connection has written since.
    pub(super) fn ensure(&mut self, conn: &Connection) -> sql::Result<()> {
        // SQLite: whether another connection committed since. PostgreSQL:
        // other pollers do add stories; what they add reaches this index
        // through `near_log` (`sync_shared`), so it is built once.
        let version: i64 = match conn.backend() {
            sql::Backend::Sqlite => {
                conn.query_row("PRAGMA data_version", params![], |r| r.get(0))?
            }
            sql::Backend::Postgres => 0,
        };
        // Entries left by a transaction that never finished (a panic in the
        // writer): start again from what is stored.
        if self.loaded
            && version == self.data_version
            && self.undo.is_empty()
            && (self.forgotten == 0 || self.forgotten * 8 < self.built_with)
        {
            return Ok(());
        }
        let shared = self.journal.is_some();
        let locks = std::mem::take(&mut self.locks);
        *self = NearIndex {
            locks,
            ..NearIndex::default()
        };
        if shared {
            self.journal = Some(Vec::new());
            // Before the stories are read: an entry committed before the
            // oldest transaction still running is in what is read; one
            // after it is read again from the log (`sync_shared`), and
            // adding it twice changes nothing (`add_committed`).
            (self.log_seq, self.log_xmin) = log_position(conn)?;
        }
        let started = std::time::Instant::now();
        let mut pairs: Vec<(i64, u32)> = Vec::new();
        let mut stmt =
            conn.prepare("SELECT sid, near_keys FROM story_texts WHERE near_keys IS NOT NULL")?;
        let mut rows = stmt.query(params![])?;
        let mut stories = 0;
        while let Some(r) = rows.next()? {
            stories += 1;
            let Some(sid) = small(r.get(0)?) else {
                continue;
            };
            let blob = r.get_blob(1)?.unwrap_or_default();
            pairs.extend(decode_keys(blob).into_iter().map(|k| (k, sid)));
        }
        pairs.sort_unstable();
        pairs.dedup();
        (self.keys, self.sids) = pairs.into_iter().unzip();
        self.rebuild_starts();
        self.data_version = version;
        self.built_with = stories;
        self.loaded = true;
        tracing::debug!(
            entries = self.len(),
            ms = started.elapsed().as_millis() as u64,
            "near-duplicate index built from the stored keys"
        );
        Ok(())
    }

    /// Several pollers share the database (PostgreSQL): from now on the
    /// index writes what it adds to `near_log` and reads what the others
    /// added from it.
    pub(super) fn share(&mut self) {
        if self.journal.is_none() {
            self.journal = Some(Vec::new());
            self.loaded = false;
        }
    }

    /// Whether the index is shared (`share`).
    pub(super) fn shared(&self) -> bool {
        self.journal.is_some()
    }

    /// The entries other pollers committed since this index last looked
    /// (`near_log`), added. Run under the placement lock (`store::pg`), at
    /// the start of a transaction: then nothing is committed between this
    /// read and this transaction's placements.
    pub(super) fn sync_shared(&mut self, conn: &Connection) -> sql::Result<()> {
        if !self.shared() {
            return Ok(());
        }
        let trimmed: i64 = conn.query_row(
            "SELECT coalesce(max(value), 0) FROM settings WHERE key = 'near_log_trimmed_to'",
            params![],
            |r| r.get(0),
        )?;
        if !self.loaded || self.log_seq < trimmed {
            // Never built, or the log no longer goes back that far.
            self.loaded = false;
            return self.ensure(conn);
        }
        // Read by transaction id, not seq: several pollers commit in
        // another order than their rows were numbered. Every transaction
        // older than `xmin` has ended, so its rows are in this read; a
        // newer one's may be read again next time (harmless, see
        // `add_committed`).
        let (_, xmin) = log_position(conn)?;
        let mut stmt = conn.prepare_cached(
            "SELECT seq, sid, keys FROM near_log
             WHERE xid >= CAST(CAST(CAST(?1 AS BIGINT) AS TEXT) AS xid8) ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![self.log_xmin])?;
        let mut added = Vec::new();
        while let Some(r) = rows.next()? {
            let (seq, sid): (i64, i64) = (r.get(0)?, r.get(1)?);
            added.push((sid, decode_keys(r.get_blob(2)?.unwrap_or_default())));
            self.log_seq = self.log_seq.max(seq);
        }
        drop(rows);
        for (sid, keys) in added {
            self.add_committed(&keys, sid);
        }
        self.log_xmin = xmin;
        Ok(())
    }

    /// What this transaction added, written to `near_log` (see
    /// `sync_shared`), just before it commits.
    pub(super) fn flush_shared(&mut self, conn: &Connection) -> sql::Result<()> {
        let Some(journal) = &mut self.journal else {
            return Ok(());
        };
        let entries = std::mem::take(journal);
        let mut stmt = conn.prepare_cached(
            "INSERT INTO near_log (sid, keys, at) VALUES (?1, ?2, ?3) RETURNING seq",
        )?;
        let mut seq = None;
        let now = chrono::Utc::now().timestamp();
        for run in entries.chunk_by(|a, b| a.0 == b.0) {
            let keys: Vec<i64> = run.iter().map(|e| e.1).collect();
            let s: i64 =
                stmt.query_row(params![run[0].0, encode_keys(&keys), now], |r| r.get(0))?;
            seq = Some(s);
        }
        if seq.is_some() {
            self.pending_seq = seq;
        }
        // Kept for a rollback of what follows (none does: the commit is
        // next), so the journal and the undo list stay one to one.
        *journal = entries;
        Ok(())
    }

    /// `n` stories were deleted (retention, purge): once they are an
    /// eighth of the stories the index was built with, the next `ensure`
    /// builds it again, so a daemon that runs for months with retention
    /// does not keep the keys of every story it ever stored.
    pub(super) fn forget(&mut self, n: usize) {
        self.forgotten += n;
    }

    /// An index of only the entries under `keys`, read by one pass over
    /// the stored keys: for a single question (`stories explain`), without
    /// the memory of the whole index.
    pub(super) fn of_keys(conn: &Connection, keys: &[i64]) -> sql::Result<NearIndex> {
        let mut wanted = keys.to_vec();
        wanted.sort_unstable();
        let mut index = NearIndex::default();
        let mut stmt =
            conn.prepare("SELECT sid, near_keys FROM story_texts WHERE near_keys IS NOT NULL")?;
        let mut rows = stmt.query(params![])?;
        while let Some(r) = rows.next()? {
            let blob = r.get_blob(1)?.unwrap_or_default();
            let hits: Vec<i64> = decode_keys(blob)
                .into_iter()
                .filter(|k| wanted.binary_search(k).is_ok())
                .collect();
            if !hits.is_empty() {
                index.add(&hits, r.get(0)?);
            }
        }
        index.commit();
        Ok(index)
    }

    /// Adds `sid` under each of `keys` (in the open transaction).
    pub(super) fn add(&mut self, keys: &[i64], sid: i64) {
        let Some(small_sid) = small(sid) else { return };
        if let Some(journal) = &mut self.journal {
            journal.extend(keys.iter().map(|&k| (sid, k)));
        }
        self.add_entries(keys, small_sid, true);
    }

    /// `add`, for entries another poller (or this one) committed
    /// (`sync_shared`): no rollback takes them back out, and an entry the
    /// index holds already is not added again (the log is read from the
    /// oldest running transaction, so a row may be read twice; a story
    /// never gets one key twice, `index_story`).
    fn add_committed(&mut self, keys: &[i64], sid: i64) {
        let Some(sid) = small(sid) else { return };
        let fresh: Vec<i64> = keys
            .iter()
            .copied()
            .filter(|&k| !self.holds(k, sid))
            .collect();
        self.add_entries(&fresh, sid, false);
    }

    /// Whether the entry `(key, sid)` is in the index.
    fn holds(&self, key: i64, sid: u32) -> bool {
        let in_base = {
            let span = self.newest_in_base(key, usize::MAX);
            span.binary_search(&sid).is_ok()
        };
        in_base || self.delta.get(&key).is_some_and(|v| v.contains(&sid))
    }

    fn add_entries(&mut self, keys: &[i64], sid: u32, undoable: bool) {
        for &k in keys {
            let v = self.delta.entry(k).or_default();
            v.push(sid);
            if v.len() == 4 * ROWS_PER_KEY {
                self.hot.push(k);
            }
            if undoable {
                self.undo.push(k);
            }
            self.delta_len += 1;
        }
    }

    /// Where a savepoint starts, for `rollback_to`.
    pub(super) fn mark(&self) -> usize {
        self.undo.len()
    }

    /// Takes out what was added since `mark` (its savepoint rolled back).
    pub(super) fn rollback_to(&mut self, mark: usize) {
        if let Some(journal) = &mut self.journal {
            // One journal entry per undo entry, in the same order.
            journal.truncate(mark);
        }
        if mark == 0 {
            self.pending_seq = None;
        }
        while self.undo.len() > mark {
            let Some(k) = self.undo.pop() else { break };
            if let Some(v) = self.delta.get_mut(&k) {
                v.pop();
                if v.is_empty() {
                    self.delta.remove(&k);
                }
            }
            self.delta_len -= 1;
        }
    }

    /// The transaction committed: what it added stays.
    pub(super) fn commit(&mut self) {
        self.undo.clear();
        if let Some(journal) = &mut self.journal {
            journal.clear();
        }
        if let Some(seq) = self.pending_seq.take() {
            self.log_seq = self.log_seq.max(seq);
        }
        for k in std::mem::take(&mut self.hot) {
            if let Some(v) = self.delta.get_mut(&k) {
                v.sort_unstable_by(|a, b| b.cmp(a));
                v.dedup();
                let keep = v.len().min(2 * ROWS_PER_KEY);
                self.delta_len -= v.len() - keep;
                v.truncate(keep);
            }
        }
        if self.delta_len >= DELTA_MERGE {
            self.merge_delta();
        }
    }

    /// Moves the hash map's entries into the sorted arrays: a merge from
    /// the back, in place (the arrays grow once, nothing is copied twice).
    fn merge_delta(&mut self) {
        let mut add: Vec<(i64, u32)> = self
            .delta
            .drain()
            .flat_map(|(k, v)| v.into_iter().map(move |s| (k, s)))
            .collect();
        self.delta_len = 0;
        add.sort_unstable();
        let old = self.keys.len();
        self.keys.resize(old + add.len(), 0);
        self.sids.resize(old + add.len(), 0);
        let (mut i, mut j, mut w) = (old, add.len(), old + add.len());
        while j > 0 {
            if i > 0 && (self.keys[i - 1], self.sids[i - 1]) > add[j - 1] {
                i -= 1;
                w -= 1;
                self.keys[w] = self.keys[i];
                self.sids[w] = self.sids[i];
            } else {
                j -= 1;
                w -= 1;
                (self.keys[w], self.sids[w]) = add[j];
            }
        }
        // A pair in both parts (not written so, but cheap to rule out):
        // once.
        let mut kept = 0;
        for i in 0..self.keys.len() {
            if kept == 0
                || (self.keys[i], self.sids[i]) != (self.keys[kept - 1], self.sids[kept - 1])
            {
                self.keys[kept] = self.keys[i];
                self.sids[kept] = self.sids[i];
                kept += 1;
            }
        }
        self.keys.truncate(kept);
        self.sids.truncate(kept);
        self.rebuild_starts();
    }

    fn rebuild_starts(&mut self) {
        let buckets = 1usize << BUCKET_BITS;
        self.starts.clear();
        self.starts.reserve(buckets + 1);
        let mut i = 0;
        for b in 0..=buckets {
            while i < self.keys.len() && bucket(self.keys[i]) < b {
                i += 1;
            }
            self.starts.push(i as u32);
        }
    }

    /// The newest `ROWS_PER_KEY` stories under `key` (highest `sid`
    /// first; keys only grow with new stories, so the newest are the
    /// likeliest).
    pub(super) fn stories(&self, key: i64, out: &mut Vec<i64>) {
        let limit = ROWS_PER_KEY;
        let base = self.newest_in_base(key, limit);
        let delta = self.delta.get(&key).map_or(&[][..], Vec::as_slice);
        if delta.is_empty() {
            // Sorted ascending and without repeats already.
            out.extend(base.iter().rev().map(|&s| i64::from(s)));
            return;
        }
        let from = out.len();
        out.extend(base.iter().chain(delta).map(|&s| i64::from(s)));
        let found = &mut out[from..];
        found.sort_unstable_by(|a, b| b.cmp(a));
        let mut kept = 0;
        for i in 0..found.len() {
            if kept < limit && (kept == 0 || found[i] != found[kept - 1]) {
                found[kept] = found[i];
                kept += 1;
            }
        }
        out.truncate(from + kept);
    }

    /// The base's newest `limit` entries under `key` (sorted by sid
    /// within a key, so the last ones).
    fn newest_in_base(&self, key: i64, limit: usize) -> &[u32] {
        if self.keys.is_empty() {
            return &[];
        }
        let b = bucket(key);
        let (lo, hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let span = &self.keys[lo..hi];
        let from = lo + span.partition_point(|&k| k < key);
        let to = from + self.keys[from..hi].partition_point(|&k| k == key);
        &self.sids[to.saturating_sub(limit).max(from)..to]
    }

    /// Entries one lookup of `key` reads.
    #[cfg(test)]
    fn read_cost(&self, key: i64) -> usize {
        self.newest_in_base(key, ROWS_PER_KEY).len() + self.delta.get(&key).map_or(0, Vec::len)
    }

    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.keys.len() + self.delta_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn under(index: &NearIndex, key: i64) -> Vec<i64> {
        let mut out = Vec::new();
        index.stories(key, &mut out);
        out
    }

    #[test]
    fn keys_round_trip_sorted_without_repeats() {
        let blob = encode_keys(&[5, -3, 5, i64::MAX, 0]);
        assert_eq!(blob.len(), 32);
        assert_eq!(decode_keys(&blob), vec![-3, 0, 5, i64::MAX]);
        assert_eq!(decode_keys(&blob[..13]), vec![-3]);
    }

    #[test]
    fn a_rolled_back_savepoint_takes_its_entries_out_and_a_commit_keeps_them() {
        let mut index = NearIndex::default();
        index.add(&[1, 2], 10);
        let mark = index.mark();
        index.add(&[2, 3], 11);
        assert_eq!(under(&index, 2), vec![11, 10]);
        index.rollback_to(mark);
        assert_eq!(under(&index, 2), vec![10]);
        assert_eq!(under(&index, 3), Vec::<i64>::new());
        index.commit();
        assert_eq!(index.len(), 2);
        assert_eq!(under(&index, 1), vec![10]);
    }

    #[test]
    fn merged_entries_are_found_as_before_newest_first_and_capped() {
        let mut index = NearIndex::default();
        for sid in 1..=40 {
            index.add(&[7, sid * 100], sid);
        }
        index.commit();
        let before: Vec<i64> = under(&index, 7);
        index.merge_delta();
        assert!(index.delta.is_empty());
        assert!(index.keys.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(under(&index, 7), before);
        assert_eq!(before.len(), 32);
        assert_eq!(before[0], 40);
        assert_eq!(under(&index, 500), vec![5]);
        // More after the merge: both parts are read.
        index.add(&[7], 41);
        index.add(&[6], 3);
        index.commit();
        assert_eq!(under(&index, 7)[..2], [41, 40]);
        index.merge_delta();
        assert_eq!(under(&index, 6), vec![3]);
        assert_eq!(under(&index, 7)[..2], [41, 40]);
        assert_eq!(index.len(), 82);
    }

    #[test]
    fn keys_of_every_sign_and_size_are_found_after_a_merge_and_a_rebuild() {
        let mut index = NearIndex::default();
        let mut x: u64 = 0x1234_5678;
        let mut keys = vec![i64::MIN, -1, 0, 1, i64::MAX, i64::MIN + 1, i64::MAX - 1];
        for _ in 0..2_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            keys.push(x as i64);
        }
        for (sid, &k) in keys.iter().enumerate() {
            index.add(&[k], sid as i64 + 1);
        }
        index.commit();
        index.merge_delta();
        for (sid, &k) in keys.iter().enumerate() {
            assert_eq!(under(&index, k), vec![sid as i64 + 1], "key {k}");
        }
        assert_eq!(under(&index, 12_345), Vec::<i64>::new());
    }

    #[test]
    fn deleting_an_eighth_of_the_stories_makes_the_next_ensure_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::from(rusqlite::Connection::open(dir.path().join("t.db")).unwrap());
        conn.execute_batch("CREATE TABLE story_texts (sid INTEGER PRIMARY KEY, near_keys BLOB)")
            .unwrap();
        for sid in 1..=16 {
            conn.execute(
                "INSERT INTO story_texts VALUES (?1, ?2)",
                params![sid, encode_keys(&[sid, 100])],
            )
            .unwrap();
        }
        let mut index = NearIndex::default();
        index.ensure(&conn).unwrap();
        assert_eq!(index.len(), 32);
        conn.execute("DELETE FROM story_texts WHERE sid <= 2", params![])
            .unwrap();
        index.forget(1);
        index.ensure(&conn).unwrap();
        assert_eq!(index.len(), 32, "one of 16 gone: kept");
        index.forget(1);
        index.ensure(&conn).unwrap();
        assert_eq!(index.len(), 28, "two of 16 gone: built again");
        assert_eq!(under(&index, 100).len(), 14);
    }

    #[test]
    fn a_key_shared_by_thousands_of_stories_costs_no_more_to_look_up() {
        let mut index = NearIndex::default();
        for sid in 1..=3_000 {
            index.add(&[7], sid);
            if sid % 500 == 0 {
                index.commit();
            }
            if sid == 1_500 {
                index.merge_delta();
            }
        }
        index.commit();
        assert!(
            index.read_cost(7) <= 3 * ROWS_PER_KEY,
            "{}",
            index.read_cost(7)
        );
        let newest = under(&index, 7);
        assert_eq!(newest.len(), ROWS_PER_KEY);
        assert_eq!(newest[0], 3_000);
        assert_eq!(newest[ROWS_PER_KEY - 1], 3_000 - ROWS_PER_KEY as i64 + 1);
        index.merge_delta();
        assert!(index.read_cost(7) <= ROWS_PER_KEY);
        assert_eq!(under(&index, 7), newest);
    }
}
