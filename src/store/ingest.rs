//! Storing polls: the writer's group transaction with a savepoint per
//! poll, each item placed by `dedupe::place`, the near-duplicate index,
//! topic membership, and the daemon's schedule.

use super::*;
use crate::dedupe::Method;

impl Writer {
    /// Records when the daemon plans to poll each source next.
    pub fn set_next_polls(&mut self, plan: &[(&SourceId, Option<DateTime<Utc>>)]) -> Result<()> {
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

    /// Stores one poll of `source_id` (see `record_polls`).
    pub fn record_poll(
        &mut self,
        source_id: &SourceId,
        started: DateTime<Utc>,
        duration_ms: u64,
        outcome: PollOutcome,
        classify: Classify<'_>,
        near: &crate::dedupe::Params,
    ) -> Result<PollCounts> {
        let poll = PollToStore {
            source_id: source_id.clone(),
            started,
            duration_ms,
            outcome,
            lease: None,
        };
        self.record_polls(vec![poll], classify, near)?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Sql(sql::Error::NoRows)))
    }

    /// Stores several polls in one transaction (group commit: the writer
    /// takes what has queued up), each in a savepoint of its own: one poll
    /// of one source is all-or-nothing, and a poll that fails to store is
    /// rolled back alone and reported in its own result. The outer error is
    /// the transaction's (beginning or committing it): then none is stored.
    /// On PostgreSQL with other pollers placing, the group may take several
    /// transactions (`lock_chunks`); one failing after others committed
    /// fails its own polls (`StoreError::Group`).
    pub fn record_polls(
        &mut self,
        polls: Vec<PollToStore>,
        classify: Classify<'_>,
        near: &crate::dedupe::Params,
    ) -> Result<Vec<Result<PollCounts>>> {
        let now = ts(Utc::now());
        let alone = self.place_alone;
        let Writer {
            conn, near: index, ..
        } = self;
        // Shared (PostgreSQL): built and brought up to date under the
        // placement locks, in the transaction (`pg::begin_placement`).
        if near.enabled && !index.shared() {
            index.ensure(conn)?;
        }
        // Several pollers (PostgreSQL): the group in one transaction if no
        // other poller is placing at the moment; else in transactions whose
        // placement locks fit the server's lock table (`lock_chunks`).
        let chunks = if index.shared() && !alone {
            match store_group(conn, index, &polls, (now, Placing::IfAlone), classify, near) {
                Err(sql::Error::Busy) => lock_chunks(&polls, near),
                stored => {
                    let stored = stored?;
                    self.stats.grew(conn, new_copies(&stored));
                    return Ok(stored);
                }
            }
        } else {
            vec![(polls.len(), None)]
        };
        let mut results = Vec::with_capacity(polls.len());
        let mut start = 0;
        for (len, upfront) in chunks {
            let group = &polls[start..start + len];
            start += len;
            let placing = match &upfront {
                Some(locks) => Placing::Neighbourhood(locks),
                None => Placing::Alone,
            };
            match store_retrying(conn, index, group, (now, placing), classify, near) {
                Ok(stored) => {
                    self.stats.grew(conn, new_copies(&stored));
                    results.extend(stored);
                }
                // Nothing stored: the group's error.
                Err(e) if results.is_empty() => return Err(e.into()),
                // Earlier transactions committed: this one's polls fail.
                Err(e) => {
                    let e = e.to_string();
                    results.extend(group.iter().map(|_| Err(StoreError::Group(e.clone()))));
                }
            }
        }
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
            stmt.query_map(params![], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<sql::Result<_>>()?
        };
        let stale: Vec<&TopicRow<'_>> = topics
            .iter()
            .filter(|t| {
                !known
                    .iter()
                    .any(|(slug, fp)| slug == t.slug && fp == t.fingerprint)
            })
            .collect();
        let gone = known
            .iter()
            .any(|(slug, _)| !topics.iter().any(|t| t.slug == slug));
        if !stale.is_empty() || gone {
            // Memberships change outside placement: none placed meanwhile
            // (PostgreSQL; only this changes `topics`, so what was read
            // above stays).
            super::pg::lock_placements(&tx)?;
        }
        for (slug, _) in &known {
            if !topics.iter().any(|t| t.slug == slug) {
                tx.execute("DELETE FROM story_topics WHERE topic = ?1", [slug])?;
                tx.execute("DELETE FROM topics WHERE slug = ?1", [slug])?;
            }
        }
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
                "SELECT st.sid, st.title, t.text, group_concat(DISTINCT c.source_id)
                 FROM stories st JOIN story_texts t ON t.sid = st.sid
                   JOIN copies c ON c.story = st.sid GROUP BY st.sid, t.sid",
            )?;
            let mut insert = tx.prepare(
                "INSERT INTO story_topics (topic, story) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            let mut rows = stories.query(params![])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
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

    /// Indexes stories stored before near-duplicate detection existed (or
    /// before a threshold change made them long enough). Returns how many.
    pub fn backfill_near_keys(&mut self, keys: &dyn Fn(&str) -> Vec<i64>) -> Result<usize> {
        let Writer {
            conn, near: index, ..
        } = self;
        if !index.shared() {
            index.ensure(conn)?;
        }
        let tx = conn.transaction()?;
        super::pg::begin_placement(&tx, index, true, Placing::Alone)?;
        let mut done = 0;
        {
            let mut stmt =
                tx.prepare("SELECT sid, text FROM story_texts WHERE near_keys IS NULL")?;
            let rows: Vec<(i64, String)> = stmt
                .query_map(params![], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<sql::Result<_>>()?;
            for (id, text) in rows {
                let k = keys(&text);
                if let Err(e) = index_story(&tx, index, id, &k) {
                    index.rollback_to(0);
                    return Err(e.into());
                }
                done += usize::from(!k.is_empty());
            }
        }
        if let Err(e) = index.flush_shared(&tx).and_then(|()| tx.commit()) {
            index.rollback_to(0);
            return Err(e.into());
        }
        index.commit();
        Ok(done)
    }
}

/// The new copies the polls stored.
fn new_copies(stored: &[Result<PollCounts>]) -> u64 {
    stored
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|c| c.items_new)
        .sum()
}

/// `store_group`, stored again after a deadlock between placement locks
/// (PostgreSQL, `pg::must_retry`), and alone after `pg::RETRIES` of them.
fn store_retrying(
    conn: &mut Connection,
    index: &mut NearIndex,
    polls: &[PollToStore],
    (now, placing): (i64, Placing<'_>),
    classify: Classify<'_>,
    near: &crate::dedupe::Params,
) -> sql::Result<Vec<Result<PollCounts>>> {
    let mut placing = placing;
    let mut attempt = 0;
    loop {
        match store_group(conn, index, polls, (now, placing), classify, near) {
            Err(e) if placing != Placing::Alone && super::pg::must_retry(&e) => {
                attempt += 1;
                super::pg::count_retry();
                tracing::debug!(attempt, error = %e, "placement stood in another poller's way: stored again");
                if attempt >= super::pg::RETRIES {
                    placing = Placing::Alone;
                }
            }
            stored => return stored,
        }
    }
}

/// `Writer::record_polls`' transactions, placing as `placing` says. An
/// error the server raised to break a deadlock (`pg::must_retry`) ends
/// them all, whichever poll met it, so that the group is stored again.
fn store_group(
    conn: &mut Connection,
    index: &mut NearIndex,
    polls: &[PollToStore],
    (now, placing): (i64, Placing<'_>),
    classify: Classify<'_>,
    near: &crate::dedupe::Params,
) -> sql::Result<Vec<Result<PollCounts>>> {
    // First the whole group in one transaction without savepoints:
    // a savepoint per poll made SQLite copy every page a poll touched
    // that the group had touched before into its sub-journal (16 KiB
    // each; 4% of a cold poll's samples), for a rollback that almost
    // never happens. When a poll fails, the group is rolled back and
    // stored again below, each poll in a savepoint of its own, so a
    // poll that cannot be stored still takes nothing with it.
    // A single poll goes straight to the savepoint path: a second try
    // of it alone would fail the same way.
    if polls.len() > 1 {
        let stored = (|| -> sql::Result<Vec<PollCounts>> {
            let tx = conn.transaction()?;
            super::pg::begin_placement(&tx, index, near.enabled, placing)?;
            begin_topic_changes(&tx)?;
            let counts = polls
                .iter()
                .map(|poll| record_one(&tx, index, poll, now, classify, near))
                .collect::<sql::Result<Vec<_>>>()?;
            end_topic_changes(&tx)?;
            index.flush_shared(&tx)?;
            tx.commit()?;
            Ok(counts)
        })();
        match stored {
            Ok(counts) => {
                index.commit();
                return Ok(counts.into_iter().map(Ok).collect());
            }
            Err(e) => {
                index.rollback_to(0);
                if super::pg::must_retry(&e) || matches!(e, sql::Error::Busy) {
                    return Err(e);
                }
            }
        }
    }
    // The index follows the transaction: what a poll rolled back, or a
    // group that did not commit, leaves it too.
    let result = (|| {
        let mut tx = conn.transaction()?;
        super::pg::begin_placement(&tx, index, near.enabled, placing)?;
        begin_topic_changes(&tx)?;
        let mut results = Vec::with_capacity(polls.len());
        for poll in polls {
            let sp = tx.savepoint()?;
            let mark = index.mark();
            match record_one(&sp, index, poll, now, classify, near) {
                Ok(counts) => {
                    sp.commit()?;
                    results.push(Ok(counts));
                }
                Err(e) if super::pg::must_retry(&e) => return Err(e),
                // Dropping the savepoint rolls this poll back.
                Err(e) => {
                    index.rollback_to(mark);
                    index.locks.borrow_mut().savepoint_rolled_back();
                    results.push(Err(e.into()));
                }
            }
        }
        end_topic_changes(&tx)?;
        index.flush_shared(&tx)?;
        tx.commit()?;
        Ok(results)
    })();
    match result {
        Ok(_) => index.commit(),
        Err(_) => index.rollback_to(0),
    }
    result
}

/// The locks a poll takes before it places anything, when several
/// pollers share the store (`pg::begin_placement`): every index key and
/// the text hash of every copy it carries.
fn placement_locks(poll: &PollToStore, near: &crate::dedupe::Params) -> Vec<i64> {
    let mut ids = Vec::new();
    if let PollOutcome::Fetched { items, .. } = &poll.outcome {
        for copy in items {
            ids.push(super::pg::hash_lock(&copy.norm.content_hash.0));
            ids.extend(copy_keys(copy, near));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A group of polls cut into transactions (how many polls each, and its
/// placement locks) whose locks stay within `pg::LOCK_BUDGET`: every
/// advisory lock takes a slot of the server's shared lock table
/// (`max_locks_per_transaction` × connections, 6,400 by default), and a
/// cold group of 32 polls carries ~18,000 keys. A poll over the budget
/// alone is stored under the placement lock alone (`None`).
fn lock_chunks(
    polls: &[PollToStore],
    near: &crate::dedupe::Params,
) -> Vec<(usize, Option<Vec<i64>>)> {
    let mut chunks = Vec::new();
    let mut current: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut len = 0;
    for poll in polls {
        let locks = placement_locks(poll, near);
        if locks.len() > super::pg::LOCK_BUDGET {
            if len > 0 {
                chunks.push((len, Some(current.drain().collect())));
                len = 0;
            }
            chunks.push((1, None));
            continue;
        }
        let fresh = locks.iter().filter(|k| !current.contains(k)).count();
        if len > 0 && current.len() + fresh > super::pg::LOCK_BUDGET {
            chunks.push((len, Some(current.drain().collect())));
            len = 0;
        }
        current.extend(locks);
        len += 1;
    }
    if len > 0 {
        chunks.push((len, Some(current.into_iter().collect())));
    }
    chunks
}

/// Topics whose feeds a transaction changes are collected as it goes
/// (`topics_changed`) and marked once before it commits
/// (`end_topic_changes`): on PostgreSQL a topic's row is then locked
/// only for that moment, not from a poller's first placement to its
/// commit (every other poller's transaction touching the topic would
/// wait that long).
fn begin_topic_changes(tx: &Connection) -> sql::Result<()> {
    tx.prepare_cached("CREATE TEMP TABLE IF NOT EXISTS changed_topics (slug TEXT PRIMARY KEY)")?
        .execute(params![])?;
    Ok(())
}

/// The topics `story` is in change (`begin_topic_changes`).
fn topics_changed(tx: &Connection, story: i64) -> sql::Result<()> {
    tx.prepare_cached(
        "INSERT INTO temp.changed_topics (slug)
         SELECT topic FROM story_topics WHERE story = ?1 ON CONFLICT DO NOTHING",
    )?
    .execute([story])?;
    Ok(())
}

/// Marks the topics collected (`begin_topic_changes`) as changed now.
fn end_topic_changes(tx: &Connection) -> sql::Result<()> {
    tx.prepare_cached(
        "UPDATE topics SET changed_at = ?1 WHERE slug IN (SELECT slug FROM temp.changed_topics)",
    )?
    .execute(params![Utc::now().timestamp_millis()])?;
    tx.prepare_cached("DELETE FROM temp.changed_topics")?
        .execute(params![])?;
    Ok(())
}

/// One poll's rows: the source's state, its items (each placed by
/// `dedupe::place`), topic membership of the stories touched, the poll log.
pub(super) fn record_one(
    tx: &Connection,
    index: &mut NearIndex,
    poll: &PollToStore,
    now: i64,
    classify: Classify<'_>,
    near: &crate::dedupe::Params,
) -> sql::Result<PollCounts> {
    let PollToStore {
        source_id,
        started,
        duration_ms,
        outcome,
        lease,
    } = poll;
    if let Some(lease) = lease
        && !super::pg::still_held(tx, lease)?
    {
        return Err(sql::Error::Fenced(format!(
            "the lease on {} passed to another poller: this poll is not stored",
            lease.host
        )));
    }
    let (started, duration_ms) = (*started, *duration_ms);
    let source_id = source_id.as_str();
    let mut counts = PollCounts::default();
    let label = outcome.label();
    let (status, error, bytes) = match outcome {
        PollOutcome::NotModified { status, .. } => (Some(*status), None, 0),
        PollOutcome::Fetched { status, bytes, .. } => (Some(*status), None, *bytes),
        PollOutcome::Failed { status, error, .. } => (*status, Some(error.clone()), 0),
    };
    match outcome {
        PollOutcome::NotModified { status, moved_to } => {
            tx.prepare_cached("UPDATE sources SET last_poll_at = ?2, last_success_at = ?2, last_outcome = ?5,
                   last_status = ?3, last_error = NULL, consecutive_failures = 0, retry_after_until = NULL,
                   moved_to = coalesce(?4, moved_to) WHERE id = ?1")?.execute(
                params![source_id, now, status, moved_to, label],
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
            counts.pages_not_needed = pages.not_needed;
            store_page_failures(tx, source_id, now, &pages.failures)?;
            let mut touched = Vec::new();
            for copy in items {
                counts += store_item(tx, index, source_id, copy, now, near, &mut touched)?;
            }
            retopic(tx, touched, classify)?;
            tx.prepare_cached(
                "UPDATE sources SET last_poll_at = ?2, last_success_at = ?2, last_outcome = ?15,
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
                parse.note,
                label
            ])?;
        }
    }
    log_poll(
        tx,
        source_id,
        started,
        duration_ms,
        (label, status, error, bytes),
        &counts,
    )?;
    Ok(counts)
}

/// The article pages a poll found failing (`sources show`): stored with
/// the poll's time, and only the last `PAGE_FAILURES_KEPT` of the source
/// kept.
fn store_page_failures(
    tx: &Connection,
    source_id: &str,
    now: i64,
    failures: &[super::PageFailure],
) -> sql::Result<()> {
    if failures.is_empty() {
        return Ok(());
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO page_failures (source_id, at, url, reason) VALUES (?1, ?2, ?3, ?4)",
    )?;
    // More than are kept: only the last ones would stay.
    let skip = failures.len().saturating_sub(super::PAGE_FAILURES_KEPT);
    for f in &failures[skip..] {
        insert.execute(params![source_id, now, f.url, f.reason])?;
    }
    tx.prepare_cached(
        "DELETE FROM page_failures WHERE source_id = ?1 AND id NOT IN
           (SELECT id FROM page_failures WHERE source_id = ?1 ORDER BY id DESC LIMIT ?2)",
    )?
    .execute(params![source_id, super::PAGE_FAILURES_KEPT as i64])?;
    Ok(())
}

/// Topic membership of the stories a poll stored copies of. A story whose
/// text and tags stayed as they were keeps its topics; its feeds still
/// change (one more outlet carried it).
fn retopic(tx: &Connection, mut touched: Vec<Touched>, classify: Classify<'_>) -> sql::Result<()> {
    touched.sort();
    let mut i = 0;
    while i < touched.len() {
        let story = touched[i].story;
        let mut reclassify = false;
        while i < touched.len() && touched[i].story == story {
            reclassify |= touched[i].reclassify;
            i += 1;
        }
        if reclassify {
            classify_story(tx, story, classify)?;
        } else {
            topics_changed(tx, story)?;
        }
    }
    Ok(())
}

/// The poll's row in the poll log: outcome label, status, error and bytes,
/// and its counts.
fn log_poll(
    tx: &Connection,
    source_id: &str,
    started: DateTime<Utc>,
    duration_ms: u64,
    (label, status, error, bytes): (&str, Option<u16>, Option<String>, u64),
    counts: &PollCounts,
) -> sql::Result<()> {
    tx.prepare_cached("INSERT INTO polls (source_id, started_at, duration_ms, outcome, status, error, bytes, items,
           items_new, stories_new, stories_merged, items_skipped, pages_fetched, pages_failed, pages_skipped,
           items_updated, text_fallbacks, pages_not_needed)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)")?.execute(
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
            counts.pages_skipped as i64,
            counts.items_updated as i64,
            counts.text_fallbacks as i64,
            counts.pages_not_needed as i64
        ],
    )?;
    Ok(())
}

/// A story a poll stored a copy of, and whether its topics must be worked
/// out again (else only its topics' feeds changed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Touched {
    story: i64,
    reclassify: bool,
}

impl Touched {
    fn reclassify(story: i64) -> Touched {
        Touched {
            story,
            reclassify: true,
        }
    }
}

/// Whether `story` already has a copy from a source with the same tags as
/// `source_id` (before the new copy is stored).
fn same_tags_carried(tx: &Connection, story: i64, source_id: &str) -> sql::Result<bool> {
    // The story's copies first, each source's tags by its key: a join left
    // to the planner went through every source once per copy on
    // PostgreSQL when its statistics lagged a cold poll (all sources with
    // the same tags: seconds a poll).
    tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM copies c
                        WHERE c.story = ?1
                          AND (SELECT tags FROM sources WHERE id = c.source_id)
                            = (SELECT tags FROM sources WHERE id = ?2))",
    )?
    .query_row(params![story, source_id], |r| r.get(0))
}

/// Source id → its tags.
pub(super) fn source_tags(
    tx: &Connection,
) -> sql::Result<std::collections::HashMap<String, Vec<String>>> {
    let mut stmt = tx.prepare("SELECT id, tags FROM sources")?;
    let rows = stmt.query_map(params![], |r| {
        let tags: String = r.get(1)?;
        Ok((r.get(0)?, serde_json::from_str(&tags).unwrap_or_default()))
    })?;
    rows.collect()
}

pub(super) fn tags_of<'a>(
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
pub(super) fn classify_story(
    tx: &Connection,
    story: i64,
    classify: Classify<'_>,
) -> sql::Result<()> {
    let old: Vec<String> = {
        let mut stmt = tx.prepare_cached("SELECT topic FROM story_topics WHERE story = ?1")?;
        stmt.query_map([story], |r| r.get(0))?
            .collect::<sql::Result<_>>()?
    };
    let found = column_and_text(tx, story, "title")?;
    let new = match &found {
        Some((title, text)) => {
            let mut story_tags: Vec<String> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT DISTINCT s.tags FROM copies c JOIN sources s ON s.id = c.source_id WHERE c.story = ?1",
                )?;
                let lists = stmt.query_map([story], |r| r.get::<_, String>(0))?;
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
    for slug in old.iter().filter(|o| !new.contains(o)) {
        tx.prepare_cached("DELETE FROM story_topics WHERE topic = ?1 AND story = ?2")?
            .execute(params![slug, story])?;
    }
    for slug in &new {
        tx.prepare_cached(
            "INSERT INTO story_topics (topic, story) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![slug, story])?;
    }
    for slug in old.iter().chain(new.iter()) {
        tx.prepare_cached(
            "INSERT INTO temp.changed_topics (slug) VALUES (?1) ON CONFLICT DO NOTHING",
        )?
        .execute(params![slug])?;
    }
    Ok(())
}

pub(super) const STATE_COLUMNS: &str = "id, etag, last_modified, moved_to, last_poll_at, consecutive_failures, retry_after_until, gone_at";

pub(super) fn state_row(r: &sql::Row<'_>) -> sql::Result<(SourceId, SourceState)> {
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
pub(super) fn keys_of(text: &str, near: &crate::dedupe::Params) -> Vec<i64> {
    if near.enabled {
        crate::dedupe::index_keys(text, near)
    } else {
        Vec::new()
    }
}

/// The most index keys one story keeps: those of 16 texts that share none.
pub(super) const MAX_STORY_KEYS: usize = 256;

/// Adds index keys (`dedupe::index_keys`) to a story: to the keys in its
/// row (which also marks it indexed) and to the index in memory.
pub(super) fn index_story(
    tx: &Connection,
    index: &mut NearIndex,
    story: i64,
    keys: &[i64],
) -> sql::Result<()> {
    let old: Option<Vec<u8>> = tx
        .prepare_cached("SELECT near_keys FROM story_texts WHERE sid = ?1")?
        .query_row([story], |r| r.get(0))
        .optional()?
        .flatten();
    let mut had = old.as_deref().map(near::decode_keys).unwrap_or_default();
    // Sorted, so that `binary_search` finds the keys it has (a blob written
    // before this was sorted may not be).
    had.sort_unstable();
    let mut fresh: Vec<i64> = keys
        .iter()
        .copied()
        .filter(|k| had.binary_search(k).is_err())
        .collect();
    fresh.sort_unstable();
    fresh.dedup();
    // A story is found by its first texts' keys; past the cap, variants add
    // none (8,000 variants a poll made the blob, read and written again per
    // copy, cost the writer seconds more each poll).
    fresh.truncate(MAX_STORY_KEYS.saturating_sub(had.len()));
    if old.is_none() || !fresh.is_empty() {
        // Entries go only under keys this transaction holds (`store::pg`).
        super::pg::lock_keys(tx, index, &fresh)?;
        let mut all = [had.as_slice(), fresh.as_slice()].concat();
        all.sort_unstable();
        tx.prepare_cached("UPDATE story_texts SET near_keys = ?2 WHERE sid = ?1")?
            .execute(params![story, near::encode_keys(&all)])?;
        index.add(&fresh, story);
    }
    Ok(())
}

/// The stories sharing an index key with `keys`, most keys shared first,
/// then the newest (from the newest `near::ROWS_PER_KEY` stories under each
/// key), except `not`: 21 at most, some of which may be gone; each with the
/// number of keys it shares.
fn ranked_stories(index: &NearIndex, keys: &[i64], not: Option<i64>) -> Vec<(i64, usize)> {
    let mut found = Vec::with_capacity(keys.len() * 2);
    for &k in keys {
        index.stories(k, &mut found);
    }
    found.sort_unstable();
    // (keys shared, sid), most shared then newest first.
    let mut ranked: Vec<(usize, i64)> = found
        .chunk_by(|a, b| a == b)
        .map(|run| (run.len(), run[0]))
        .collect();
    ranked.sort_unstable_by(|a, b| b.cmp(a));
    ranked.truncate(21);
    ranked
        .into_iter()
        .map(|(shared, sid)| (sid, shared))
        .filter(|&(sid, _)| Some(sid) != not)
        .collect()
}

/// The first 20 of `ranked_stories` still in `stories`, each read by
/// `sql` (its `?1` the sid) into `read` (given the sid and the keys it
/// shares).
fn ranked_rows<T>(
    conn: &Connection,
    index: &NearIndex,
    (keys, not): (&[i64], Option<i64>),
    sql: &str,
    read: impl Fn((i64, usize), &sql::Row<'_>) -> sql::Result<T>,
) -> sql::Result<Vec<T>> {
    let ranked = ranked_stories(index, keys, not);
    let sids: Vec<i64> = ranked.iter().map(|&(sid, _)| sid).collect();
    // Locked before their rows and copies are read (`store::pg`).
    super::pg::lock_stories(conn, index, &sids)?;
    let mut stmt = conn.prepare_cached(sql)?;
    let mut out = Vec::new();
    for (sid, shared) in ranked {
        if let Some(row) = stmt
            .query_row([sid], |r| read((sid, shared), r))
            .optional()?
        {
            out.push(row);
        }
    }
    out.truncate(20);
    Ok(out)
}

/// Stories sharing an index key with `keys` (at most 20, most keys shared
/// first, then the newest), from the newest `near::ROWS_PER_KEY` stories under
/// each key; read from `stories` (an index entry whose story is gone is
/// dropped here).
pub(super) fn candidates(
    conn: &Connection,
    index: &NearIndex,
    keys: &[i64],
    not: Option<i64>,
) -> sql::Result<Vec<Candidate>> {
    ranked_rows(
        conn,
        index,
        (keys, not),
        "SELECT t.text, s.published, s.first_seen FROM stories s JOIN story_texts t ON t.sid = s.sid
         WHERE s.sid = ?1",
        |(id, _), r| {
            Ok(Candidate {
                id,
                text: r.get(0)?,
                published: r.get(1)?,
                first_seen: r.get(2)?,
            })
        },
    )
}

/// `candidates` as (sid, first seen) only: the clustering judges the
/// stories' copies, not the text each story keeps (it was read, copied
/// and dropped for every candidate).
fn candidate_stories(
    conn: &Connection,
    index: &NearIndex,
    keys: &[i64],
) -> sql::Result<Vec<NearStory>> {
    ranked_rows(
        conn,
        index,
        (keys, None),
        "SELECT first_seen FROM stories WHERE sid = ?1",
        |(id, keys_shared), r| {
            Ok(NearStory {
                id,
                keys_shared,
                first_seen: r.get(0)?,
            })
        },
    )
}

/// A story's text column `column` (of `stories`) and its text
/// (`story_texts`), if the story is there.
fn column_and_text(
    tx: &Connection,
    story: i64,
    column: &str,
) -> sql::Result<Option<(String, String)>> {
    tx.prepare_cached(&format!(
        "SELECT s.{column}, t.text FROM stories s JOIN story_texts t ON t.sid = s.sid
         WHERE s.sid = ?1"
    ))?
    .query_row([story], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

/// Merges story `absorbed` into `survivor`: a new copy was judged the same
/// as both, so they were one story that arrived in an order that kept them
/// apart (a summary stored before the full text that links it to another
/// copy). Hand-written like the rest of the dedupe: no crate knows our
/// stories. The survivor is the story readers saw first, so no feed shows a
/// new entry for it; the absorbed story's copies, index keys and topic
/// memberships move over, its text too when longer, the earliest link and
/// date win, and its entry leaves the topic feeds.
pub(super) fn merge_stories(
    tx: &Connection,
    index: &mut NearIndex,
    survivor: i64,
    absorbed: i64,
    score: f64,
    now: i64,
) -> sql::Result<()> {
    topics_changed(tx, absorbed)?;
    tx.execute(
        "UPDATE copies SET story = ?1, merge_method = ?4, merge_score = ?3
         WHERE story = ?2",
        params![survivor, absorbed, score, Method::Bridge.as_str()],
    )?;
    // The survivor is found by the absorbed story's keys from now on.
    let absorbed_keys: Option<Vec<u8>> = tx
        .prepare_cached("SELECT near_keys FROM story_texts WHERE sid = ?1")?
        .query_row([absorbed], |r| r.get(0))
        .optional()?
        .flatten();
    if let Some(blob) = absorbed_keys {
        index_story(tx, index, survivor, &near::decode_keys(&blob))?;
    }
    tx.execute(
        "INSERT INTO story_topics (topic, story)
         SELECT topic, ?1 FROM story_topics WHERE story = ?2 ON CONFLICT DO NOTHING",
        params![survivor, absorbed],
    )?;
    // The absorbed story's text when longer.
    if let Some((hash, text)) = column_and_text(tx, absorbed, "content_hash")? {
        let longer = tx
            .prepare_cached(
                "UPDATE story_texts SET text = ?2 WHERE sid = ?1 AND length(?2) > length(text)",
            )?
            .execute(params![survivor, text])?;
        if longer > 0 {
            tx.prepare_cached("UPDATE stories SET content_hash = ?2 WHERE sid = ?1")?
                .execute(params![survivor, hash])?;
        }
    }
    tx.prepare_cached("UPDATE stories SET updated_at = ?2 WHERE sid = ?1")?
        .execute(params![survivor, now])?;
    // Its topic rows go by ON DELETE CASCADE; its entries in the index in
    // memory name a story no longer there, and `candidates` drops them.
    tx.execute("DELETE FROM stories WHERE sid = ?1", [absorbed])?;
    refresh_shown(tx, survivor, now)
}

/// `find_story`, the story found locked (`store::pg::lock_stories`):
/// found again once locked, as another poller may have merged it away
/// meanwhile.
fn find_story_locked(
    tx: &Connection,
    index: &NearIndex,
    hash: &str,
    not: Option<i64>,
) -> sql::Result<Option<i64>> {
    let mut found = find_story(tx, hash, not)?;
    while let Some(story) = found {
        if index.locks.borrow().stories.contains(&story) || !index.locks.borrow().on {
            break;
        }
        super::pg::lock_stories(tx, index, &[story])?;
        found = find_story(tx, hash, not)?;
    }
    Ok(found)
}

/// The story an identical normalized body already belongs to, if any.
pub(super) fn find_story(
    tx: &Connection,
    hash: &str,
    not: Option<i64>,
) -> sql::Result<Option<i64>> {
    tx.prepare_cached(
        "SELECT story FROM copies WHERE content_hash = ?1 AND story IS DISTINCT FROM ?2
         UNION ALL SELECT sid FROM stories WHERE (id = ?1 OR content_hash = ?1) AND sid IS DISTINCT FROM ?2
         LIMIT 1",
    )?
    .query_row(params![hash, not], |r| r.get(0))
    .optional()
}

/// `copies.page_tries` after a poll, from what it did about the page
/// (`PageAttempt::code` as parameter `?{param}`): unchanged when not tried,
/// NULL (nothing pending) when done, one more failure, or pending when put
/// off.
fn page_tries(param: usize) -> String {
    format!(
        "CASE CAST(?{param} AS BIGINT) WHEN 1 THEN NULL WHEN 2 THEN coalesce(page_tries, 0) + 1
         WHEN 3 THEN coalesce(page_tries, 0) ELSE page_tries END"
    )
}

/// Stores one item: a new copy (of a new or an existing story), a known
/// copy seen again, or an edited copy.
pub(super) fn store_item(
    tx: &Connection,
    index: &mut NearIndex,
    source_id: &str,
    copy: &NewCopy,
    now: i64,
    near: &crate::dedupe::Params,
    touched: &mut Vec<Touched>,
) -> sql::Result<PollCounts> {
    let mut c = PollCounts {
        items: 1,
        ..Default::default()
    };
    let existing: Option<(i64, i64, String, String)> = tx
        .prepare_cached(
            "SELECT id, story, raw_hash, content_hash FROM copies WHERE source_id = ?1 AND item_key = ?2",
        )?
        .query_row(
            params![source_id, copy.key.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    match existing {
        // Known and unchanged; unless its page, fetched again after a
        // failure (`page_tries`), gave the article: that is an edit.
        Some((copy_id, _, old_raw, _)) if old_raw == copy.raw_hash && copy.full_html.is_none() => {
            tx.prepare_cached(&format!(
                "UPDATE copies SET last_seen = ?2, page_tries = {} WHERE id = ?1",
                page_tries(3)
            ))?
            .execute(params![copy_id, now, copy.page.code()])?;
            c.items_known = 1;
        }
        Some((copy_id, story, _, old_hash)) => {
            let story = locked_story_of(tx, index, copy_id, story)?;
            edited_item(
                tx,
                index,
                copy,
                (source_id, copy_id, story, &old_hash),
                (now, near),
                touched,
            )?;
            c.items_updated = 1;
        }
        None => {
            let item = Arriving {
                source_id,
                copy,
                now,
                published: published_at(copy, now),
            };
            new_item(tx, index, &item, near, touched, &mut c)?;
        }
    }
    // Stored (new or edited) with its text as published: stripping
    // boilerplate left nothing of it.
    if c.items_known == 0 && copy.norm.text_fallback {
        c.text_fallbacks = 1;
    }
    Ok(c)
}

/// The story copy `copy_id` is in (`story` when last read), locked
/// (`store::pg::lock_stories`): read again once locked, as another
/// poller's placement may have moved the copy meanwhile.
fn locked_story_of(
    tx: &Connection,
    index: &NearIndex,
    copy_id: i64,
    mut story: i64,
) -> sql::Result<i64> {
    while index.locks.borrow().on && !index.locks.borrow().stories.contains(&story) {
        super::pg::lock_stories(tx, index, &[story])?;
        story = tx
            .prepare_cached("SELECT story FROM copies WHERE id = ?1")?
            .query_row([copy_id], |r| r.get(0))?;
    }
    Ok(story)
}

/// When a copy counts as published: its date, unless in the future (a
/// wrong time zone is not believed); else now.
fn published_at(copy: &NewCopy, now: i64) -> i64 {
    copy.item
        .published
        .map(ts)
        .filter(|p| *p <= now + 600)
        .unwrap_or(now)
}

/// The outlet edited a known item: the copy is updated in place and
/// judged again. A story it is the only copy of follows the edit (keeping
/// its id), or goes when the edit made it identical to another story. A
/// copy of a story other outlets also carry stays only while it still
/// judges the same as the story's text; else it leaves and is placed like a
/// new copy (another story, or one of its own): an outlet cannot join a
/// story with a faithful copy and then edit its words into it.
fn edited_item(
    tx: &Connection,
    index: &mut NearIndex,
    copy: &NewCopy,
    (source_id, copy_id, story, old_hash): (&str, i64, i64, &str),
    (now, near): (i64, &crate::dedupe::Params),
    touched: &mut Vec<Touched>,
) -> sql::Result<()> {
    let (item, norm) = (&copy.item, &copy.norm);
    let hash = norm.content_hash.0.as_str();
    // Its story, and its old text's hash: the text may go
    // (`forget_texts`) while another poller stores a copy naming it.
    super::pg::lock_stories(tx, index, &[story])?;
    super::pg::lock_keys(tx, index, &[super::pg::hash_lock(old_hash)])?;
    let old_text: Option<i64> = tx
        .prepare_cached("SELECT text_id FROM copies WHERE id = ?1")?
        .query_row([copy_id], |r| r.get(0))?;
    tx.prepare_cached(&format!(
        "UPDATE copies SET guid = ?2, link = ?3, title = ?4, body = ?5,
           authors = ?6, updated = ?7, last_seen = ?8, content_hash = ?9, raw_hash = ?10,
           text_len = ?11, display_title = ?13, enclosures = ?14, categories = ?15,
           text = NULL, text_id = ?16, page_tries = {} WHERE id = ?1",
        page_tries(12)
    ))?
    .execute(params![
        copy_id,
        item.guid,
        item.link,
        item.title,
        copy.stored_body()?,
        copy.authors.as_str(),
        item.updated.map(ts),
        now,
        hash,
        copy.raw_hash.as_str(),
        copy.text_len,
        copy.page.code(),
        norm.title,
        copy.enclosures,
        copy.categories,
        text_id(tx, copy)?
    ])?;
    forget_texts(tx, old_text.as_slice())?;
    touched.push(Touched::reclassify(story));
    let others: i64 = tx
        .prepare_cached("SELECT count(*) FROM copies WHERE story = ?1 AND id != ?2")?
        .query_row(params![story, copy_id], |r| r.get(0))?;
    if old_hash == hash {
        // The same text (a new headline, link or markup): it stays.
        return refresh_after_edit(tx, story, now, (source_id, &copy.key));
    }
    if others == 0 {
        if let Some((target, method, score)) = placement(tx, index, copy, story, near)? {
            // The edit (or the article page fetched since) made it the same
            // as another story: it joins that one, as a new copy would.
            move_copy(tx, copy_id, target, (method, score), now, touched)?;
            drop_story(tx, story)?;
        } else {
            // Its story's only copy: the story follows the edit, keeping its
            // id, and is found by its new text from now on.
            tx.prepare_cached("UPDATE stories SET title = ?2, updated_at = ?3 WHERE sid = ?1")?
                .execute(params![story, norm.title, now])?;
            set_story_text(tx, story, &norm.text, hash)?;
            index_story(tx, index, story, &copy_keys(copy, near))?;
            refresh_shown(tx, story, now)?;
        }
        return Ok(());
    }
    let (text, published): (String, i64) = tx
        .prepare_cached(
            "SELECT t.text, s.published FROM stories s JOIN story_texts t ON t.sid = s.sid
             WHERE s.sid = ?1",
        )?
        .query_row([story], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let apart = item.published.map_or(0, |p| ts(p) - published);
    let stays = match crate::dedupe::judge(&norm.text, &text, apart, near).0 {
        crate::dedupe::Verdict::Same { method, score } => Some((method, score)),
        crate::dedupe::Verdict::Different { .. } => None,
    };
    let stays = match stays {
        Some(s) => Some(s),
        // Identical to another copy of the story, or to its text.
        None => tx
            .prepare_cached(
                "SELECT 1 FROM copies WHERE story = ?1 AND id != ?2 AND content_hash = ?3
                 UNION ALL SELECT 1 FROM stories WHERE sid = ?1 AND (id = ?3 OR content_hash = ?3)",
            )?
            .query_row(params![story, copy_id, hash], |_| Ok(()))
            .optional()?
            .map(|()| (Method::Exact, 1.0)),
    };
    if let Some((method, score)) = stays {
        tx.prepare_cached("UPDATE copies SET merge_method = ?2, merge_score = ?3 WHERE id = ?1")?
            .execute(params![copy_id, method.as_str(), score])?;
        let fuller = norm.text.chars().count() > text.chars().count() && !low_trust(tx, source_id)?;
        if fuller {
            // A correction that adds to the story: its text is the story's
            // (topics are decided again, `touched` above).
            set_story_text(tx, story, &norm.text, hash)?;
        }
        index_story(tx, index, story, &copy_keys(copy, near))?;
        return refresh_after_edit(tx, story, now, (source_id, &copy.key));
    }
    // It no longer tells the story: it leaves, and is placed again.
    let (target, method, score) = place_again(tx, index, copy, (copy_id, story), (now, near))?;
    move_copy(tx, copy_id, target, (method, score), now, touched)?;
    // The story it left shows what its other copies say.
    topics_changed(tx, story)?;
    refresh_shown(tx, story, now)
}

/// Where an edited copy that left story `story` goes: the story its new
/// text is identical or near to (`dedupe::place`, `story` left out), or a
/// new one of its own.
fn place_again(
    tx: &Connection,
    index: &mut NearIndex,
    copy: &NewCopy,
    (copy_id, story): (i64, i64),
    (now, near): (i64, &crate::dedupe::Params),
) -> sql::Result<(i64, Method, f64)> {
    if let Some(found) = placement(tx, index, copy, story, near)? {
        return Ok(found);
    }
    let (item, norm) = (&copy.item, &copy.norm);
    let hash = norm.content_hash.0.as_str();
    let keys = copy_keys(copy, near);
    let published: i64 = tx
        .prepare_cached("SELECT published FROM copies WHERE id = ?1")?
        .query_row([copy_id], |r| r.get(0))?;
    // A story whose id is this text's hash may be there already (the
    // copy's first story, say): the copy goes back to it.
    let taken: Option<i64> = tx
        .prepare_cached("SELECT sid FROM stories WHERE id = ?1")?
        .query_row([hash], |r| r.get(0))
        .optional()?;
    // Locked, then looked up again: it may have been merged away meanwhile
    // (once locked, it stays).
    let taken = match taken {
        Some(sid) => {
            super::pg::lock_stories(tx, index, &[sid])?;
            tx.prepare_cached("SELECT sid FROM stories WHERE id = ?1")?
                .query_row([hash], |r| r.get(0))
                .optional()?
        }
        None => None,
    };
    let sid = match taken {
        Some(sid) => sid,
        None => insert_story(
            tx,
            &NewStory {
                id: hash,
                content_hash: hash,
                title: &norm.title,
                link: item.link.as_deref(),
                text: &norm.text,
                published,
                first_seen: now,
                updated_at: now,
                keys: &keys,
                shown: None,
            },
        )?,
    };
    index.add(&keys, sid);
    Ok((sid, Method::First, 1.0))
}

/// The story other than `story` that an edited copy's new text is the same
/// as (`dedupe::place`: identical, else near), or None.
fn placement(
    tx: &Connection,
    index: &mut NearIndex,
    copy: &NewCopy,
    story: i64,
    near: &crate::dedupe::Params,
) -> sql::Result<Option<(i64, Method, f64)>> {
    let (item, norm) = (&copy.item, &copy.norm);
    let keys = copy_keys(copy, near);
    let exact = find_story_locked(tx, index, norm.content_hash.0.as_str(), Some(story))?;
    let candidates = if exact.is_none() && near.enabled {
        candidates(tx, index, &keys, Some(story))?
    } else {
        Vec::new()
    };
    let placement =
        crate::dedupe::place(&norm.text, item.published.map(ts), exact, &candidates, near);
    Ok(match placement {
        Placement::Exact { story } => Some((story, Method::Exact, 1.0)),
        Placement::Near {
            story,
            method,
            score,
            ..
        } => {
            index_story(tx, index, story, &keys)?;
            Some((story, method, score))
        }
        Placement::New => None,
    })
}

/// A copy's near-duplicate index keys (made in the parallel stage when it
/// could be).
fn copy_keys(copy: &NewCopy, near: &crate::dedupe::Params) -> Vec<i64> {
    copy.near_keys
        .clone()
        .unwrap_or_else(|| keys_of(&copy.norm.text, near))
}

/// Moves a copy to story `target` (placed there by `method`).
fn move_copy(
    tx: &Connection,
    copy_id: i64,
    target: i64,
    (method, score): (Method, f64),
    now: i64,
    touched: &mut Vec<Touched>,
) -> sql::Result<()> {
    tx.prepare_cached(
        "UPDATE copies SET story = ?2, merge_method = ?3, merge_score = ?4 WHERE id = ?1",
    )?
    .execute(params![copy_id, target, method.as_str(), score])?;
    touched.push(Touched::reclassify(target));
    refresh_shown_touched(tx, target, now)
}

/// Deletes a story left with no copy; its topics' feeds change.
fn drop_story(tx: &Connection, story: i64) -> sql::Result<()> {
    topics_changed(tx, story)?;
    tx.prepare_cached("DELETE FROM stories WHERE sid = ?1")?
        .execute([story])?;
    Ok(())
}

/// Is a source `trust = "low"`?
fn low_trust(tx: &Connection, source_id: &str) -> sql::Result<bool> {
    Ok(tx
        .prepare_cached("SELECT trust = 'low' FROM sources WHERE id = ?1")?
        .query_row([source_id], |r| r.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

/// A story's copies as the display rule sees them (`display::CopyFacts`,
/// owned), read with their sources' trust and hosts.
pub(super) struct CopyRow {
    pub(super) source: String,
    pub(super) key: String,
    pub(super) low_trust: bool,
    pub(super) link: Option<String>,
    /// `link` is an absolute http(s) URL.
    pub(super) has_link: bool,
    pub(super) own_link: bool,
    pub(super) title: Option<String>,
    pub(super) text_len: usize,
    pub(super) published: i64,
    pub(super) first_seen: i64,
}

impl CopyRow {
    /// From a row of `source_id, item_key, trust, link, url, link_hosts,
    /// display title, text_len, published, first_seen` at `at`.
    pub(super) fn read(r: &sql::Row<'_>, at: usize) -> sql::Result<CopyRow> {
        let link: Option<String> = r.get(at + 3)?;
        let url = r.get_str(at + 4)?;
        let hosts_json = r.get_str(at + 5)?;
        let (has_link, own_link) = link
            .as_deref()
            .map_or((false, false), |l| link_facts(l, url, hosts_json));
        Ok(CopyRow {
            has_link,
            source: r.get(at)?,
            key: r.get(at + 1)?,
            low_trust: r.get::<_, String>(at + 2)? == "low",
            link,
            own_link,
            title: r.get(at + 6)?,
            text_len: r.get::<_, i64>(at + 7)?.max(0) as usize,
            published: r.get(at + 8)?,
            first_seen: r.get(at + 9)?,
        })
    }

    pub(super) fn facts(&self, in_topic: bool) -> crate::display::CopyFacts<'_> {
        crate::display::CopyFacts {
            source: &self.source,
            key: &self.key,
            low_trust: self.low_trust,
            has_link: self.has_link,
            own_link: self.own_link,
            has_title: self.title.as_deref().is_some_and(|t| !t.trim().is_empty()),
            text_len: self.text_len,
            published: self.published,
            first_seen: self.first_seen,
            in_script: true,
            in_topic,
        }
    }
}

thread_local! {
    /// `link_facts` of the links met, with a fingerprint of the feed URL
    /// and hosts they were worked out for: the display rule reads every
    /// copy of a story again each time one joins it, and parsing each link
    /// (and its registrable domain) again was a fifth of that (callgrind,
    /// issue 24).
    static LINK_FACTS: std::cell::RefCell<std::collections::HashMap<String, (u64, bool, bool)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Whether `link` is a web link, and whether it is the source's own (its
/// feed URL `url`, its `link_hosts` as stored, JSON).
fn link_facts(link: &str, url: &str, hosts_json: &str) -> (bool, bool) {
    // Which source facts an answer was worked out for: a 64-bit hash of
    // them (a wrong hit needs two sources' URL and hosts to collide).
    let fingerprint = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (url, hosts_json).hash(&mut h);
        h.finish()
    };
    let known = LINK_FACTS.with(|m| {
        m.borrow()
            .get(link)
            .filter(|(f, _, _)| *f == fingerprint)
            .map(|&(_, web, own)| (web, own))
    });
    if let Some(facts) = known {
        return facts;
    }
    let hosts: Vec<String> = if hosts_json == "[]" {
        Vec::new()
    } else {
        serde_json::from_str(hosts_json).unwrap_or_default()
    };
    let web = url::Url::parse(link.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let own = web
        .as_ref()
        .is_some_and(|u| crate::display::owns_url(u, url, &hosts));
    LINK_FACTS.with(|m| {
        let mut m = m.borrow_mut();
        // Bounded (~2 MB; a larger memo added its size to the cold poll's
        // peak RSS): the copies of a story arrive close together in a
        // poll, and a miss only costs the parse.
        if m.len() >= 16_384 {
            m.clear();
        }
        m.insert(link.to_string(), (fingerprint, web.is_some(), own));
    });
    (web.is_some(), own)
}

/// The columns `CopyRow::read` reads, for copies `c` joined to sources `s`.
pub(super) const COPY_ROW_COLUMNS: &str =
    "c.source_id, c.item_key, s.trust, c.link, s.url, s.link_hosts,
    coalesce(c.display_title, c.title), c.text_len, c.published, c.first_seen";

/// Works a story's own title, link and date out again from its copies
/// (`display::choose`, outside any topic): after a copy joined, left, was
/// edited or purged, or its source's trust or hosts changed. The story's
/// `updated_at` moves when its title or link changed.
pub(super) fn refresh_shown(tx: &Connection, story: i64, now: i64) -> sql::Result<()> {
    refresh_shown_from(tx, story, now).map(|_| ())
}

/// After an edit of the copy (source, item key): `refresh_shown`, and the story's
/// `updated_at` moves when that copy is the one whose text is shown (a
/// correction reaches readers as an update).
fn refresh_after_edit(
    tx: &Connection,
    story: i64,
    now: i64,
    (source_id, key): (&str, &str),
) -> sql::Result<()> {
    let shown = refresh_shown_from(tx, story, now)?;
    if shown
        .as_ref()
        .is_some_and(|(s, k)| s == source_id && k == key)
    {
        tx.prepare_cached("UPDATE stories SET updated_at = ?2 WHERE sid = ?1")?
            .execute(params![story, now])?;
    }
    Ok(())
}

/// `refresh_shown`; returns the (source, item key) of the copy whose text
/// is shown.
fn refresh_shown_from(
    tx: &Connection,
    story: i64,
    now: i64,
) -> sql::Result<Option<(String, String)>> {
    refresh_shown_with(tx, story, now, false)
}

/// `refresh_shown`, and the story's `updated_at` moves to `now` whatever
/// the rule chose (a copy joined it, or it absorbed another): one
/// statement instead of two, after every copy that joins a story.
pub(super) fn refresh_shown_touched(tx: &Connection, story: i64, now: i64) -> sql::Result<()> {
    refresh_shown_with(tx, story, now, true).map(|_| ())
}

/// `refresh_shown_touched` after the copy arriving as `a` joined `story`
/// and nothing else changed its copies: from the story's stored summary
/// (`stories.shown`) and the new copy alone, without reading the others;
/// the full refresh when the summary is missing or cannot tell
/// (`display::Summary::join`), or when the headline passes to another
/// copy already there (its title is not at hand).
fn refresh_joined(tx: &Connection, story: i64, a: &Arriving<'_>) -> sql::Result<()> {
    let stored: Option<Vec<u8>> = tx
        .prepare_cached("SELECT shown FROM stories WHERE sid = ?1")?
        .query_row([story], |r| r.get(0))
        .optional()?
        .flatten();
    let Some(before) = stored.as_deref().and_then(super::shown::decode) else {
        return refresh_shown_touched(tx, story, a.now);
    };
    let facts = arriving_facts(tx, a)?;
    let Some(after) = before.join(&facts) else {
        return refresh_shown_touched(tx, story, a.now);
    };
    let (was, is) = (before.shown(), after.shown());
    let new = |n: Option<&crate::display::Named>| n.is_some_and(|n| n.is(&facts));
    // Each choice is the one before, the new copy, or none (a first copy
    // of normal trust silences the others).
    if is.title.is_some() && is.title != was.title && !new(is.title) {
        return refresh_shown_touched(tx, story, a.now);
    }
    let title = new(is.title).then_some(a.copy.norm.title.as_str());
    let link = new(is.link)
        .then_some(a.copy.item.link.as_deref())
        .flatten();
    tx.prepare_cached(
        "UPDATE stories SET updated_at = ?5, title = coalesce(?2, title),
           link = CASE WHEN ?6 THEN ?3 ELSE link END, published = ?4, shown = ?7
         WHERE sid = ?1",
    )?
    .execute(params![
        story,
        title,
        link,
        is.date,
        a.now,
        is.link != was.link,
        super::shown::encode(&after)
    ])?;
    #[cfg(debug_assertions)]
    check_joined(tx, story, &after)?;
    Ok(())
}

/// The arriving copy as the display rule sees it (`CopyRow::facts` of
/// the row it will have).
fn arriving_facts<'a>(
    tx: &Connection,
    a: &'a Arriving<'_>,
) -> sql::Result<crate::display::CopyFacts<'a>> {
    let (trust, url, hosts): (String, String, String) = tx
        .prepare_cached("SELECT trust, url, link_hosts FROM sources WHERE id = ?1")?
        .query_row([a.source_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let (has_link, own_link) = a
        .copy
        .item
        .link
        .as_deref()
        .map_or((false, false), |l| link_facts(l, &url, &hosts));
    Ok(crate::display::CopyFacts {
        source: a.source_id,
        key: a.copy.key.as_str(),
        low_trust: trust == "low",
        has_link,
        own_link,
        has_title: !a.copy.norm.title.trim().is_empty(),
        text_len: a.copy.text_len.max(0) as usize,
        published: a.published,
        first_seen: a.now,
        in_script: true,
        in_topic: true,
    })
}

/// Every copy of `story` as the display rule sees it.
fn story_copy_rows(tx: &Connection, story: i64) -> sql::Result<Vec<CopyRow>> {
    tx.prepare_cached(&format!(
        "SELECT {COPY_ROW_COLUMNS} FROM copies c JOIN sources s ON s.id = c.source_id
         WHERE c.story = ?1"
    ))?
    .query_map([story], |r| CopyRow::read(r, 0))?
    .collect()
}

/// Debug builds (every test): what `refresh_joined` worked out from the
/// summary is what reading every copy gives.
#[cfg(debug_assertions)]
fn check_joined(tx: &Connection, story: i64, joined: &crate::display::Summary) -> sql::Result<()> {
    let rows = story_copy_rows(tx, story)?;
    let facts: Vec<_> = rows.iter().map(|r| r.facts(true)).collect();
    let all = crate::display::Summary::of(&facts);
    assert_eq!(all.as_ref(), Some(joined), "story {story}");
    let shown = crate::display::choose(&facts);
    let (title, link, published): (String, Option<String>, i64) = tx.query_row(
        "SELECT title, link, published FROM stories WHERE sid = ?1",
        [story],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    if let Some(i) = shown.title {
        assert_eq!(
            rows[i].title.as_deref(),
            Some(title.as_str()),
            "story {story}"
        );
    }
    assert_eq!(
        shown.link.and_then(|i| rows[i].link.clone()),
        link,
        "story {story}"
    );
    assert_eq!(shown.date, published, "story {story}");
    Ok(())
}

fn refresh_shown_with(
    tx: &Connection,
    story: i64,
    now: i64,
    touch: bool,
) -> sql::Result<Option<(String, String)>> {
    let rows = story_copy_rows(tx, story)?;
    if rows.is_empty() {
        if touch {
            tx.prepare_cached("UPDATE stories SET updated_at = ?2 WHERE sid = ?1")?
                .execute(params![story, now])?;
        }
        return Ok(None);
    }
    let facts: Vec<_> = rows.iter().map(|r| r.facts(true)).collect();
    let shown = crate::display::choose(&facts);
    let title = shown.title.and_then(|i| rows[i].title.as_deref());
    let link = shown.link.and_then(|i| rows[i].link.as_deref());
    let summary = crate::display::Summary::of(&facts).map(|s| super::shown::encode(&s));
    tx.prepare_cached(
        "UPDATE stories SET
           updated_at = CASE WHEN ?6 OR title IS DISTINCT FROM coalesce(?2, title) OR link IS DISTINCT FROM ?3
                             THEN ?5 ELSE updated_at END,
           title = coalesce(?2, title), link = ?3, published = ?4, shown = ?7
         WHERE sid = ?1
           AND (?6 OR title IS DISTINCT FROM coalesce(?2, title) OR link IS DISTINCT FROM ?3 OR published IS DISTINCT FROM ?4
                OR shown IS DISTINCT FROM ?7)",
    )?
    .execute(params![story, title, link, shown.date, now, touch, summary])?;
    Ok(shown
        .text
        .map(|i| (rows[i].source.clone(), rows[i].key.clone())))
}

/// `refresh_shown` for every story `source_id` carries (its trust, URL or
/// link hosts changed); their topics' feeds change.
pub(super) fn refresh_source_stories(tx: &Connection, source_id: &str) -> sql::Result<()> {
    let stories: Vec<i64> = tx
        .prepare("SELECT DISTINCT story FROM copies WHERE source_id = ?1")?
        .query_map([source_id], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    let now = ts(Utc::now());
    for &story in &stories {
        refresh_shown(tx, story, now)?;
    }
    tx.execute(
        "UPDATE topics SET changed_at = ?2 WHERE slug IN
           (SELECT topic FROM story_topics WHERE story IN (SELECT story FROM copies WHERE source_id = ?1))",
        params![source_id, Utc::now().timestamp_millis()],
    )?;
    Ok(())
}

/// A copy the source has not carried before, on its way in.
struct Arriving<'a> {
    source_id: &'a str,
    copy: &'a NewCopy,
    now: i64,
    /// `published_at`.
    published: i64,
}

/// A new copy: placed (`dedupe::place`: exact, near, or a new story),
/// the placement carried out, the copy's row written.
fn new_item(
    tx: &Connection,
    index: &mut NearIndex,
    a: &Arriving<'_>,
    near: &crate::dedupe::Params,
    touched: &mut Vec<Touched>,
    c: &mut PollCounts,
) -> sql::Result<()> {
    let (item, norm) = (&a.copy.item, &a.copy.norm);
    let hash = norm.content_hash.0.as_str();
    let exact = find_story_locked(tx, index, hash, None)?;
    // Near-duplicate keys are computed only for copies that do not
    // join a story by exact hash, and once: they serve both the
    // lookup and the index (MinHash of the whole text is a top item
    // of the cold poll's profile).
    let keys = match (&exact, &a.copy.near_keys) {
        (Some(_), _) => Vec::new(),
        (None, Some(keys)) => keys.clone(),
        (None, None) => keys_of(&norm.text, near),
    };
    if exact.is_none() && near.enabled && !keys.is_empty() {
        return clustered_item(tx, index, a, &keys, near, touched, c);
    }
    // Identical to a stored text, or nothing to compare: `dedupe::place`
    // (exact, or a new story); this carries it out.
    let candidates = Vec::new();
    let placement = crate::dedupe::place(
        &norm.text,
        item.published.map(|_| a.published),
        exact,
        &candidates,
        near,
    );
    let (story_id, method, score, reclassify) =
        carry_out(tx, index, a, placement, &keys, touched, c)?;
    insert_copy(tx, a, story_id, method, score)?;
    if method != Method::First {
        // The story's title, link and date follow from its copies
        // (`display`), whatever order the polls happen to run in.
        refresh_joined(tx, story_id, a)?;
        c.stories_merged = 1;
    }
    c.items_new = 1;
    touched.push(Touched {
        story: story_id,
        reclassify,
    });
    Ok(())
}

/// A stored copy as the clustering sees it (`dedupe::cluster`).
struct Stored {
    id: i64,
    story: i64,
    hash: String,
    /// Its normalized text; its story's for a copy stored before
    /// migration 0014.
    text: String,
    published: i64,
    first_seen: i64,
}

/// A candidate story of the clustering (`candidate_stories`).
struct NearStory {
    id: i64,
    /// Index keys it shares with the new copy.
    keys_shared: usize,
    first_seen: i64,
}

/// Candidate stories sharing fewer index keys than this with a new copy
/// are sieved (`dedupe::Sieve`) before their texts are prepared: most share
/// only an opening and are not the same story. Those sharing more nearly
/// always are (every match at 4,000 synthetic feeds shared five or more),
/// and sieving them is work done twice (the varied farm's writer +7%).
const SIEVED_BELOW_KEYS: usize = 3;

/// Distinct texts of one candidate story a new copy is judged against.
const JUDGED_PER_STORY: usize = 16;

/// Distinct texts a neighbourhood may hold to be clustered again.
const MAX_CLUSTERED: usize = 48;

/// The copies of `story`, in id order.
fn stored_copies(tx: &Connection, story: i64) -> sql::Result<Vec<Stored>> {
    // Most copies of a story name one text (`copy_texts`): it is read and
    // checked as UTF-8 once (checking every copy's was 4% of a cold poll).
    let mut read: Vec<(i64, String)> = Vec::new();
    tx.prepare_cached(
        "SELECT c.id, c.content_hash,
           coalesce(c.text, t.text, (SELECT text FROM story_texts WHERE sid = c.story)),
           c.published, c.first_seen, c.text_id
         FROM copies c LEFT JOIN copy_texts t ON t.id = c.text_id
         WHERE c.story = ?1 ORDER BY c.id",
    )?
    .query_map([story], |r| {
        let text_id: Option<i64> = r.get(5)?;
        let text = match text_id.and_then(|id| read.iter().find(|(i, _)| *i == id)) {
            Some((_, text)) => text.clone(),
            None => {
                let text: String = r.get(2)?;
                if let Some(id) = text_id {
                    read.push((id, text.clone()));
                }
                text
            }
        };
        Ok(Stored {
            id: r.get(0)?,
            story,
            hash: r.get(1)?,
            text,
            published: r.get(3)?,
            first_seen: r.get(4)?,
        })
    })?
    .collect()
}

/// Texts judged against each other while a new copy is clustered: each
/// prepared once, when first judged (folding and shingling is the cost;
/// most arrivals are a new story's first copy, where nothing is judged and
/// nothing is prepared), and a stored text judged against the new copy
/// only if the new copy's sieve finds it may be the same story
/// (`dedupe::Sieve`, exact; made when first needed): most candidates share
/// no more than an opening with it.
struct Judging<'a> {
    /// The new copy: its content hash and text.
    new: (&'a str, &'a str),
    prepared: std::collections::HashMap<&'a str, crate::dedupe::Prepared>,
    sieve: Option<crate::dedupe::Sieve>,
}

impl<'a> Judging<'a> {
    /// `dedupe::same_story` of text `a` (content hash, text) and stored
    /// copy `s`, `apart` seconds apart; `sieved`: try the sieve first when
    /// `a` is the new copy.
    fn same(
        &mut self,
        (ha, text): (&'a str, &'a str),
        s: &'a Stored,
        apart: i64,
        sieved: bool,
        near: &crate::dedupe::Params,
    ) -> Option<(Method, f64)> {
        use crate::dedupe::{Prepared, Sieve};
        let (new_hash, new_text) = self.new;
        if ha == new_hash && sieved {
            let sieve = self.sieve.get_or_insert_with(|| {
                Sieve::new(
                    self.prepared
                        .entry(new_hash)
                        .or_insert_with(|| Prepared::new(new_text)),
                )
            });
            if !sieve.may_be_same(&s.text, near) {
                return None;
            }
        }
        for (key, text) in [(ha, text), (s.hash.as_str(), &*s.text)] {
            self.prepared
                .entry(key)
                .or_insert_with(|| Prepared::new(text));
        }
        crate::dedupe::same_story(
            (&self.prepared[ha], ha),
            (&self.prepared[s.hash.as_str()], &s.hash),
            apart,
            near,
        )
    }
}

/// A new copy with near-duplicate keys and no identical text stored:
/// placed so that the partition of copies into stories is a function of
/// the set of copies, not of the order they arrived in (issue 19).
///
/// 1. The index's candidate stories; the copy is judged against every
///    distinct text of each (`dedupe::same_story`; the 16 longest of a story
///    with more), not the one text a story keeps: which copy's text a story
///    kept depended on arrival order.
/// 2. None is the same: a new story. Else the neighbourhood (the new copy
///    and every copy of each story it matched) is clustered again
///    (`dedupe::cluster`, a function of the set): a chain A~B~C, or a copy
///    the same as two stories, comes out the same whichever came first,
///    and the trust rule of a bridge (the two stories' own texts related)
///    is checked between every pair of texts a cluster holds.
/// 3. The clusters are mapped to stories (`assign`), copies that changed
///    cluster move, stories left empty are merged away.
///
/// What still depends on arrival: story ids (and which story of a merge
/// survives, `assign`), each copy's recorded method and score, and stories
/// past the bounds (`JUDGED_PER_STORY`, `MAX_CLUSTERED`, the index's
/// `near::ROWS_PER_KEY` and 20 candidates).
fn clustered_item(
    tx: &Connection,
    index: &mut NearIndex,
    a: &Arriving<'_>,
    keys: &[i64],
    near: &crate::dedupe::Params,
    touched: &mut Vec<Touched>,
    c: &mut PollCounts,
) -> sql::Result<()> {
    use crate::dedupe::Item;
    let (item, norm) = (&a.copy.item, &a.copy.norm);
    let hash = norm.content_hash.0.as_str();
    let published = item.published.map(|_| a.published);
    let mut pool: Vec<(NearStory, Vec<Stored>)> = Vec::new();
    for story in candidate_stories(tx, index, keys)? {
        let copies = stored_copies(tx, story.id)?;
        pool.push((story, copies));
    }
    // The texts of each story judged: its distinct texts, the longest
    // `JUDGED_PER_STORY` (then by hash) when it has more (a story carried
    // in hundreds of versions would make every arrival judge them all).
    let judged: Vec<Vec<&Stored>> = pool
        .iter()
        .map(|(_, copies)| {
            let mut distinct: Vec<&Stored> = Vec::new();
            for s in copies {
                if !distinct.iter().any(|d| d.hash == s.hash) {
                    distinct.push(s);
                }
            }
            distinct.sort_by(|a, b| (b.text.len(), &a.hash).cmp(&(a.text.len(), &b.hash)));
            distinct.truncate(JUDGED_PER_STORY);
            distinct
        })
        .collect();
    // Every text judged is prepared once (`Judging`).
    let mut judging = Judging {
        new: (hash, &norm.text),
        prepared: std::collections::HashMap::new(),
        sieve: None,
    };
    // The neighbourhood: the candidate stories one of whose copies is the
    // same as the new copy, then, again and again, those one of whose
    // copies is the same as a copy already in it. Judged copy against copy:
    // an edge between two stored copies that share no index key is found
    // through a third copy whichever arrives last.
    let mut frontier: Vec<(&str, &str, Option<i64>)> = vec![(hash, &norm.text, published)];
    let mut inside = vec![false; pool.len()];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for (k, copies) in judged.iter().enumerate() {
            if inside[k] {
                continue;
            }
            let sieved = pool[k].0.keys_shared < SIEVED_BELOW_KEYS;
            let hit = copies.iter().any(|s| {
                frontier.iter().any(|&(h, text, p)| {
                    h != s.hash
                        && judging
                            .same((h, text), s, p.map_or(0, |p| p - s.published), sieved, near)
                            .is_some()
                })
            });
            if hit {
                inside[k] = true;
                next.extend(
                    copies
                        .iter()
                        .map(|s| (s.hash.as_str(), &*s.text, Some(s.published))),
                );
            }
        }
        frontier = next;
    }
    let matched: Vec<&(NearStory, Vec<Stored>)> = pool
        .iter()
        .zip(&inside)
        .filter(|(_, i)| **i)
        .map(|(m, _)| m)
        .collect();
    if matched.is_empty() {
        let (story, method, score, reclassify) =
            carry_out(tx, index, a, Placement::New, keys, touched, c)?;
        insert_copy(tx, a, story, method, score)?;
        c.items_new = 1;
        touched.push(Touched { story, reclassify });
        return Ok(());
    }
    // A neighbourhood of more distinct texts than `MAX_CLUSTERED` (a story
    // carried in very many versions) is not clustered again: the copy
    // joins the matched story one of whose judged texts it resembles most
    // (as before issue 19; arrival order can matter there). Clustering is
    // quadratic in the texts, and every arrival would pay it again.
    let distinct_texts = {
        let mut all: Vec<&str> = pool
            .iter()
            .zip(&inside)
            .filter(|(_, i)| **i)
            .flat_map(|((_, copies), _)| copies.iter().map(|s| s.hash.as_str()))
            .collect();
        all.sort_unstable();
        all.dedup();
        all.len()
    };
    if distinct_texts > MAX_CLUSTERED {
        let mut best: Option<(f64, i64, Method)> = None;
        for (copies, (story, _)) in judged
            .iter()
            .zip(&pool)
            .zip(&inside)
            .filter(|(_, i)| **i)
            .map(|(x, _)| x)
        {
            for s in copies {
                let apart = published.map_or(0, |p| p - s.published);
                let sieved = story.keys_shared < SIEVED_BELOW_KEYS;
                if let Some((method, score)) =
                    judging.same((hash, &norm.text), s, apart, sieved, near)
                    && best.is_none_or(|(b, id, _)| (score, -story.id) > (b, -id))
                {
                    best = Some((score, story.id, method));
                }
            }
        }
        if let Some((score, story, method)) = best {
            let reclassify = !same_tags_carried(tx, story, a.source_id)?;
            insert_copy(tx, a, story, method, score)?;
            index_story(tx, index, story, keys)?;
            refresh_joined(tx, story, a)?;
            touched.push(Touched { story, reclassify });
            c.stories_merged = 1;
            c.items_new = 1;
            return Ok(());
        }
    }
    // The neighbourhood: the new copy first, then the stored copies.
    let stored: Vec<&Stored> = matched.iter().flat_map(|(_, cs)| cs.iter()).collect();
    let mut items = vec![Item {
        hash,
        text: &norm.text,
        published,
        prepared: judging.prepared.get(hash),
    }];
    items.extend(stored.iter().map(|s| Item {
        hash: &s.hash,
        text: &s.text,
        published: Some(s.published),
        prepared: judging.prepared.get(s.hash.as_str()),
    }));
    let clustering = crate::dedupe::cluster(&items, near);
    let stories: Vec<(i64, i64)> = matched.iter().map(|(s, _)| (s.id, s.first_seen)).collect();
    let owner = assign(&clustering.of, &stored, &stories);
    // Clusters no stored story claims become new stories: the new copy's
    // (its content hash is its id, as for any first copy), or copies split
    // off a story (rare: a copy that now resembles another story more).
    let mut target: Vec<Option<i64>> = owner;
    let mine = clustering.of[0];
    for (k, t) in target.iter_mut().enumerate() {
        if t.is_some() || !clustering.of.contains(&k) {
            continue;
        }
        if k == mine {
            let (story, _, _, _) = carry_out(tx, index, a, Placement::New, keys, touched, c)?;
            *t = Some(story);
        } else {
            let first = stored
                .iter()
                .zip(&clustering.of[1..])
                .filter(|(_, of)| **of == k)
                .map(|(s, _)| *s)
                .min_by_key(|s| (s.first_seen, s.id));
            if let Some(first) = first {
                *t = Some(split_story(tx, index, first, a.now, near)?);
                c.stories_new += 1;
            }
        }
    }
    // Copies whose cluster's story is another: they move (as a bridge).
    let mut changed: Vec<i64> = Vec::new();
    for (i, s) in stored.iter().enumerate() {
        let Some(to) = target[clustering.of[i + 1]] else {
            continue;
        };
        if to != s.story {
            let score = clustering.link[i + 1].map_or(1.0, |(_, sc)| sc);
            tx.prepare_cached(
                "UPDATE copies SET story = ?2, merge_method = ?3, merge_score = ?4 WHERE id = ?1",
            )?
            .execute(params![s.id, to, Method::Bridge.as_str(), score])?;
            index_story(tx, index, to, &keys_of(&s.text, near))?;
            changed.extend([s.story, to]);
        }
    }
    let Some(story) = target[mine] else {
        return Err(sql::Error::NoRows);
    };
    let (method, score) = clustering.link[0].unwrap_or((Method::First, 1.0));
    insert_copy(tx, a, story, method, score)?;
    index_story(tx, index, story, keys)?;
    changed.push(story);
    changed.sort_unstable();
    changed.dedup();
    // Stories left without a copy are merged away into the story most of
    // their copies went to (their topics and index keys follow).
    for &(sid, _) in &stories {
        let left: i64 = tx
            .prepare_cached("SELECT count(*) FROM copies WHERE story = ?1")?
            .query_row([sid], |r| r.get(0))?;
        if left > 0 {
            continue;
        }
        let went = stored
            .iter()
            .enumerate()
            .filter(|(_, s)| s.story == sid)
            .filter_map(|(i, _)| target[clustering.of[i + 1]])
            .fold(
                std::collections::BTreeMap::<i64, usize>::new(),
                |mut m, t| {
                    *m.entry(t).or_default() += 1;
                    m
                },
            )
            .into_iter()
            .max_by_key(|&(t, n)| (n, std::cmp::Reverse(t)))
            .map(|(t, _)| t);
        if let Some(survivor) = went {
            merge_stories(tx, index, survivor, sid, 1.0, a.now)?;
            touched.retain(|t| t.story != sid);
            c.stories_bridged += 1;
        }
        changed.retain(|&s| s != sid);
    }
    for &s in &changed {
        refresh_text(tx, s)?;
        refresh_shown_touched(tx, s, a.now)?;
        touched.push(Touched::reclassify(s));
    }
    if method != Method::First {
        c.stories_merged = 1;
    }
    c.items_new = 1;
    Ok(())
}

/// Which stored story each cluster keeps (`None`: a new story). Stories
/// are served oldest first (first seen, then key): each claims the
/// unclaimed cluster holding most of its copies (ties: the lower cluster).
/// So a story that survives keeps its id, and of two stories a bridge
/// merges, the one readers saw first survives (no feed shows a story it
/// showed before as new). The survivor's id is the one choice here that
/// depends on arrival (which story was stored first); the partition does
/// not.
fn assign(of: &[usize], stored: &[&Stored], stories: &[(i64, i64)]) -> Vec<Option<i64>> {
    let clusters = of.iter().max().map_or(0, |m| m + 1);
    let mut owner: Vec<Option<i64>> = vec![None; clusters];
    let mut order: Vec<(i64, i64)> = stories.to_vec();
    order.sort_by_key(|&(sid, first_seen)| (first_seen, sid));
    for (sid, _) in order {
        let mut count = vec![0usize; clusters];
        for (i, s) in stored.iter().enumerate() {
            if s.story == sid {
                count[of[i + 1]] += 1;
            }
        }
        let best = (0..clusters)
            .filter(|&k| count[k] > 0 && owner[k].is_none())
            .max_by_key(|&k| (count[k], std::cmp::Reverse(k)));
        if let Some(k) = best {
            owner[k] = Some(sid);
        }
    }
    owner
}

/// A new story for copies split off a story: its id the content hash of
/// its first copy, as any story's, unless a story holds that id already
/// (the story it was split from, when it was that story's first copy):
/// then a hash of that id, so that ids stay unique.
fn split_story(
    tx: &Connection,
    index: &mut NearIndex,
    first: &Stored,
    now: i64,
    near: &crate::dedupe::Params,
) -> sql::Result<i64> {
    let mut id = first.hash.clone();
    let taken = |id: &str| -> sql::Result<bool> {
        tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM stories WHERE id = ?1)")?
            .query_row([id], |r| r.get(0))
    };
    while taken(&id)? {
        id = crate::model::ContentHash::of(format!("split:{id}").as_bytes()).0;
    }
    let keys = keys_of(&first.text, near);
    let (hash, title, link, published, first_seen): (String, String, Option<String>, i64, i64) = tx
        .prepare_cached(
            "SELECT content_hash, coalesce(display_title, title, ''), link, published, first_seen
             FROM copies WHERE id = ?1",
        )?
        .query_row([first.id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
    let story = insert_story(
        tx,
        &NewStory {
            id: &id,
            content_hash: &hash,
            title: &title,
            link: link.as_deref(),
            text: &first.text,
            published,
            first_seen,
            updated_at: now,
            keys: &keys,
            shown: None,
        },
    )?;
    super::pg::lock_keys(tx, index, &keys)?;
    index.add(&keys, story);
    Ok(story)
}

/// A story's text is its longest copy's (then the smallest content hash),
/// from sources not `trust = "low"` when it has any: a function of its
/// copies, whichever arrived first. Copies stored before migration 0014
/// (no text of their own, neither `text` nor `text_id`) leave the story's
/// text as it is.
fn refresh_text(tx: &Connection, story: i64) -> sql::Result<()> {
    let best: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT coalesce(c.text, t.text), c.content_hash
             FROM copies c JOIN sources s ON s.id = c.source_id
               LEFT JOIN copy_texts t ON t.id = c.text_id
             WHERE c.story = ?1 AND (c.text IS NOT NULL OR c.text_id IS NOT NULL)
               AND NOT EXISTS
                 (SELECT 1 FROM copies WHERE story = ?1 AND text IS NULL AND text_id IS NULL)
             ORDER BY s.trust = 'low', length(coalesce(c.text, t.text)) DESC, c.content_hash
             LIMIT 1",
        )?
        .query_row([story], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match best {
        Some((text, hash)) => set_story_text(tx, story, &text, &hash),
        None => Ok(()),
    }
}

/// A story's text and its content hash (`story_texts`, `stories`), each
/// row written only when it changes.
fn set_story_text(tx: &Connection, story: i64, text: &str, hash: &str) -> sql::Result<()> {
    tx.prepare_cached(
        "UPDATE story_texts SET text = ?2 WHERE sid = ?1 AND text IS DISTINCT FROM ?2",
    )?
    .execute(params![story, text])?;
    tx.prepare_cached(
        "UPDATE stories SET content_hash = ?2 WHERE sid = ?1 AND content_hash IS DISTINCT FROM ?2",
    )?
    .execute(params![story, hash])?;
    Ok(())
}

/// A story about to be stored.
struct NewStory<'a> {
    /// Its public id: its first copy's content hash (`split_story` says
    /// when not).
    id: &'a str,
    content_hash: &'a str,
    title: &'a str,
    link: Option<&'a str>,
    text: &'a str,
    published: i64,
    first_seen: i64,
    updated_at: i64,
    /// Its near-duplicate index keys.
    keys: &'a [i64],
    /// `display::Summary`, stored (`shown`).
    shown: Option<Vec<u8>>,
}

/// A new story's rows, in `stories` and `story_texts`; its sid.
fn insert_story(tx: &Connection, s: &NewStory<'_>) -> sql::Result<i64> {
    let sid: i64 = tx.prepare_cached(
        "INSERT INTO stories (id, content_hash, title, link, published, first_seen, updated_at, shown)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING sid",
    )?
    .query_row(params![
        s.id,
        s.content_hash,
        s.title,
        s.link,
        s.published,
        s.first_seen,
        s.updated_at,
        s.shown
    ], |r| r.get(0))?;
    tx.prepare_cached("INSERT INTO story_texts (sid, text, near_keys) VALUES (?1, ?2, ?3)")?
        .execute(params![sid, s.text, near::encode_keys(s.keys)])?;
    Ok(sid)
}

/// Carries out a placement: the story the copy joins (absorbing others
/// for a bridge, taking a fuller text), or a new one. Returns the story,
/// the method and score, and whether the story's topics must be worked out
/// again: its text changed, it absorbed another, or this copy's source
/// brings tags none of its outlets had (topics filter by tags). Else
/// classifying it again (the writer's largest pure work, a cold poll's
/// second most frequent statement) would change nothing.
fn carry_out(
    tx: &Connection,
    index: &mut NearIndex,
    a: &Arriving<'_>,
    placement: Placement,
    keys: &[i64],
    touched: &mut Vec<Touched>,
    c: &mut PollCounts,
) -> sql::Result<(i64, Method, f64, bool)> {
    let (item, norm) = (&a.copy.item, &a.copy.norm);
    let hash = norm.content_hash.0.as_str();
    let placement = match placement {
        // A low-trust source's text never becomes the story's.
        Placement::Near {
            story,
            method,
            score,
            absorb,
            fuller_text: true,
        } if low_trust(tx, a.source_id)? => Placement::Near {
            story,
            method,
            score,
            absorb,
            fuller_text: false,
        },
        p => p,
    };
    Ok(match placement {
        Placement::Exact { story } => {
            let reclassify = !same_tags_carried(tx, story, a.source_id)?;
            (story, Method::Exact, 1.0, reclassify)
        }
        Placement::Near {
            story,
            method,
            score,
            absorb,
            fuller_text,
        } => {
            let reclassify =
                fuller_text || !absorb.is_empty() || !same_tags_carried(tx, story, a.source_id)?;
            for &(absorbed, s) in &absorb {
                merge_stories(tx, index, story, absorbed, s, a.now)?;
                touched.retain(|t| t.story != absorbed);
                c.stories_bridged += 1;
            }
            if fuller_text {
                // A fuller text replaces a summary as the story's
                // text (its id stays); both texts stay indexed.
                set_story_text(tx, story, &norm.text, hash)?;
            }
            index_story(tx, index, story, keys)?;
            (story, method, score, reclassify)
        }
        Placement::New => {
            // Its keys go in with the row (`index_story` would
            // read it back first).
            // Its summary goes in with the row too: the first copy to
            // join reads it, and a row that grew by it later would split
            // its page. The link is the one the rule shows (a web link).
            let facts = arriving_facts(tx, a)?;
            let link = item.link.as_deref().filter(|_| facts.has_link);
            let shown = crate::display::Summary::of(&[facts]).map(|s| super::shown::encode(&s));
            let story = insert_story(
                tx,
                &NewStory {
                    id: hash,
                    content_hash: hash,
                    title: &norm.title,
                    link,
                    text: &norm.text,
                    published: a.published,
                    first_seen: a.now,
                    updated_at: a.now,
                    keys,
                    shown,
                },
            )?;
            index.add(keys, story);
            c.stories_new = 1;
            (story, Method::First, 1.0, true)
        }
    })
}

/// The new copy's row.
fn insert_copy(
    tx: &Connection,
    a: &Arriving<'_>,
    story_id: i64,
    method: Method,
    score: f64,
) -> sql::Result<()> {
    let (copy, item) = (a.copy, &a.copy.item);
    tx.prepare_cached(
        "INSERT INTO copies (story, source_id, item_key, guid, link, title, body,
           authors, published, updated, first_seen, last_seen, content_hash, raw_hash, text_len,
           merge_method, merge_score, page_tries, display_title, enclosures, categories, text_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14, ?15, ?16,
                 CASE CAST(?17 AS BIGINT) WHEN 2 THEN 1 WHEN 3 THEN 0 END, ?18, ?19, ?20, ?21)",
    )?
    .execute(params![
        story_id,
        a.source_id,
        copy.key.as_str(),
        item.guid,
        item.link,
        item.title,
        copy.stored_body()?,
        copy.authors.as_str(),
        a.published,
        item.updated.map(ts),
        a.now,
        copy.norm.content_hash.0.as_str(),
        copy.raw_hash.as_str(),
        copy.text_len,
        method.as_str(),
        score,
        copy.page.code(),
        copy.norm.title,
        copy.enclosures,
        copy.categories,
        text_id(tx, copy)?
    ])?;
    Ok(())
}

/// Deletes the texts of `ids` that no copy names any more (a copy edited
/// to another text, its story deleted by retention, its source purged).
pub(super) fn forget_texts(tx: &Connection, ids: &[i64]) -> sql::Result<()> {
    let mut stmt = tx.prepare_cached(
        "DELETE FROM copy_texts WHERE id = ?1
           AND NOT EXISTS (SELECT 1 FROM copies WHERE text_id = ?1)",
    )?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// The `copy_texts` row of the copy's normalized text, added when no copy
/// stored it before (migration 0017: each distinct text once).
fn text_id(tx: &Connection, copy: &NewCopy) -> sql::Result<i64> {
    let digest = copy.digest();
    if let Some(id) = tx
        .prepare_cached("SELECT id FROM copy_texts WHERE digest = ?1")?
        .query_row([&digest[..]], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO copy_texts (digest, text) VALUES (?1, ?2) RETURNING id")?
        .query_row(params![&digest[..], copy.norm.text], |r| r.get(0))
}
