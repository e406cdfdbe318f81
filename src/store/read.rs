//! Read views: what the CLI, the feeds, export and the parallel stage
//! read (a source's state, its known items, topic feeds, stories).

use super::*;

impl Reader {
    /// Whether the database knows a source (it may have left the config).
    pub fn has_source(&self, id: &SourceId) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM sources WHERE id = ?1", params![id], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// The newest row of `polls` (0: none): `polled_since`'s mark.
    pub fn last_poll_id(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT CAST(coalesce(max(id), 0) AS BIGINT) FROM polls",
            params![],
            |r| r.get(0),
        )?)
    }

    /// The sources with a poll stored after `last_poll_id` said `mark`.
    pub fn polled_since(&self, mark: i64) -> Result<std::collections::HashSet<SourceId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT source_id FROM polls WHERE id > ?1")?;
        let ids = stmt
            .query_map(params![mark], |r| r.get(0))?
            .collect::<sql::Result<_>>()?;
        Ok(ids)
    }

    /// Validators, remembered redirect and scheduling state of every source.
    pub fn source_states(&self) -> Result<std::collections::HashMap<SourceId, SourceState>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {STATE_COLUMNS} FROM sources"))?;
        let rows = stmt.query_map(params![], state_row)?;
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// The state of one source (default when it was never seen).
    pub fn source_state(&self, source_id: &SourceId) -> Result<SourceState> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM sources WHERE id = ?1"
        ))?;
        let row = stmt.query_row([source_id], state_row).optional()?;
        Ok(row.map(|(_, s)| s).unwrap_or_default())
    }

    /// Health and counts of every source in the database, by id.
    pub fn source_status(&self) -> Result<std::collections::HashMap<SourceId, SourceStatus>> {
        let mut counts: std::collections::HashMap<String, (i64, i64)> =
            std::collections::HashMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT source_id, count(*), count(DISTINCT story) FROM copies GROUP BY source_id",
            )?;
            let rows = stmt.query_map(params![], |r| {
                Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
            })?;
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
        let rows = stmt.query_map(params![], |r| {
            let id: SourceId = r.get(0)?;
            let (copies, stories) = counts.get(id.as_str()).copied().unwrap_or((0, 0));
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
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// The `n` most recent polls of a source, newest first.
    pub fn recent_polls(&self, source_id: &SourceId, n: usize) -> Result<Vec<PollRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT started_at, duration_ms, outcome, status, error, items, items_new, stories_new, stories_merged,
                    items_skipped, pages_fetched, pages_failed, pages_skipped, items_updated,
                    text_fallbacks, pages_not_needed
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
                items_updated: r.get(13)?,
                text_fallbacks: r.get(14)?,
                pages_not_needed: r.get(15)?,
            })
        })?;
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// Items of a source its polls since `since` found edited (the
    /// outlet's corrections and edits), and how many polls that was.
    pub fn items_updated_since(
        &self,
        source_id: &SourceId,
        since: DateTime<Utc>,
    ) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT coalesce(sum(items_updated), 0), count(*) FROM polls
             WHERE source_id = ?1 AND started_at >= ?2",
            params![source_id, ts(since)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Items of a source its polls since `since` stored (new or edited
    /// copies), and how many of them kept their text as published because
    /// stripping boilerplate left nothing (`NormalizedItem::text_fallback`).
    pub fn text_fallbacks_since(
        &self,
        source_id: &SourceId,
        since: DateTime<Utc>,
    ) -> Result<TextFallbacks> {
        Ok(self.conn.query_row(
            "SELECT coalesce(sum(text_fallbacks), 0), coalesce(sum(items_new + items_updated), 0)
             FROM polls WHERE source_id = ?1 AND started_at >= ?2",
            params![source_id, ts(since)],
            |r| {
                Ok(TextFallbacks {
                    kept_as_published: r.get(0)?,
                    stored: r.get(1)?,
                })
            },
        )?)
    }

    /// A source's article pages (`fulltext`) its polls since `since` fetched
    /// and kept, found not needed, failed and skipped.
    pub fn full_text_since(
        &self,
        source_id: &SourceId,
        since: DateTime<Utc>,
    ) -> Result<FullTextCounts> {
        Ok(self.conn.query_row(
            "SELECT coalesce(sum(pages_fetched), 0), coalesce(sum(pages_not_needed), 0),
                    coalesce(sum(pages_failed), 0), coalesce(sum(pages_skipped), 0)
             FROM polls WHERE source_id = ?1 AND started_at >= ?2",
            params![source_id, ts(since)],
            |r| {
                Ok(FullTextCounts {
                    fetched: r.get(0)?,
                    not_needed: r.get(1)?,
                    failed: r.get(2)?,
                    skipped: r.get(3)?,
                })
            },
        )?)
    }

    /// A source's last `n` failed article pages (`fulltext`), newest first.
    pub fn page_failures(&self, source_id: &SourceId, n: usize) -> Result<Vec<StoredPageFailure>> {
        let mut stmt = self.conn.prepare(
            "SELECT at, url, reason FROM page_failures WHERE source_id = ?1
             ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![source_id, n as i64], |r| {
            Ok(StoredPageFailure {
                at: datetime(r.get(0)?),
                url: r.get(1)?,
                reason: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// The newest `limit` stories: (id, title, normalized text, published).
    pub fn newest_stories(&self, limit: usize) -> Result<Vec<StoryText>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.id, s.title, t.text, s.published FROM stories s JOIN story_texts t ON t.sid = s.sid
             ORDER BY s.published DESC, s.id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(StoryText {
                id: r.get(0)?,
                title: r.get(1)?,
                text: r.get(2)?,
                published: datetime(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// The newest `limit` stories as `newest_stories` reads them, each
    /// with the sources that carried a copy of it (for a topic's tags:
    /// `pipeline::preview`, `check`'s empty topics).
    pub fn newest_stories_with_sources(
        &self,
        limit: usize,
    ) -> Result<Vec<(StoryText, Vec<SourceId>)>> {
        let mut stmt = self.conn.prepare(
            "SELECT st.id, st.title, t.text, st.published,
                    (SELECT group_concat(DISTINCT c.source_id) FROM copies c WHERE c.story = st.sid)
             FROM stories st JOIN story_texts t ON t.sid = st.sid
             ORDER BY st.published DESC, st.id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let sources: Option<String> = r.get(4)?;
            Ok((
                StoryText {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    text: r.get(2)?,
                    published: datetime(r.get(3)?),
                },
                sources
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| SourceId(s.to_string()))
                    .collect(),
            ))
        })?;
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// Stories per topic.
    pub fn topic_counts(&self) -> Result<std::collections::HashMap<String, i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT topic, count(*) FROM story_topics GROUP BY topic")?;
        let rows = stmt.query_map(params![], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// Is the database answering? (the watchdog's check)
    pub fn ping(&self) -> Result<()> {
        self.conn.query_row("SELECT 1", params![], |_| Ok(()))?;
        Ok(())
    }

    /// SQLite's `PRAGMA data_version`: moves when another connection (this
    /// process's writer, or another process: `poll`, `sources remove
    /// --purge`) commits; compare only values read on one connection.
    /// PostgreSQL has no such counter: the last poll's row and the last
    /// change to a topic's feed (both only grow) stand in for it, so a
    /// poll stored by any poller, or a purge, moves it.
    pub fn data_version(&self) -> Result<i64> {
        let sql = match self.conn.backend() {
            sql::Backend::Sqlite => "PRAGMA data_version",
            sql::Backend::Postgres => {
                "SELECT CAST(coalesce((SELECT max(id) FROM polls), 0)
                          + coalesce((SELECT max(changed_at) FROM topics), 0) AS BIGINT)"
            }
        };
        Ok(self.conn.query_row(sql, params![], |r| r.get(0))?)
    }

    /// When any source last polled successfully.
    pub fn last_success(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<i64> =
            self.conn
                .query_row("SELECT max(last_success_at) FROM sources", params![], |r| {
                    r.get(0)
                })?;
        Ok(t.map(datetime))
    }

    /// The items stored from `source_id`: item key → raw hash. Read before a
    /// poll's items are prepared, to leave out the work known items do not
    /// need; the poll's transaction looks each item up again. A copy whose
    /// article page is still wanted (`copies.page_tries`: put off, or failed
    /// fewer than `PAGE_ATTEMPTS` times; a copy with its article has none)
    /// is left out, so that `fulltext` fetches its page again.
    pub fn known_items(
        &self,
        source_id: &SourceId,
    ) -> Result<std::collections::HashMap<String, String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_key, raw_hash FROM copies WHERE source_id = ?1
                   AND (page_tries IS NULL OR page_tries >= ?2)",
        )?;
        let rows = stmt.query_map(params![source_id, super::PAGE_ATTEMPTS], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// The `limit` newest stories of a topic, with all their copies.
    pub fn topic_feed(&self, slug: &str, limit: usize) -> Result<Vec<FeedStory>> {
        self.topic_page(slug, limit, None)
    }

    /// The `limit` stories of a topic that come after `before` in the
    /// feed's order (newest first), or its newest without one: the reader
    /// page's pages. A cursor, not an offset: a page reads the same
    /// stories however many arrived since the page before was read.
    pub fn topic_page(
        &self,
        slug: &str,
        limit: usize,
        before: Option<&TopicCursor>,
    ) -> Result<Vec<FeedStory>> {
        let mut stories = self.conn.prepare_cached(if before.is_none() {
            "SELECT st.sid, st.id, st.title, st.link, st.published, st.updated_at, st.first_seen
             FROM story_topics t JOIN stories st ON st.sid = t.story
             WHERE t.topic = ?1 ORDER BY st.published DESC, st.first_seen DESC, st.id LIMIT ?2"
        } else {
            "SELECT st.sid, st.id, st.title, st.link, st.published, st.updated_at, st.first_seen
             FROM story_topics t JOIN stories st ON st.sid = t.story
             WHERE t.topic = ?1 AND (st.published < ?3 OR (st.published = ?3
                   AND (st.first_seen < ?4 OR (st.first_seen = ?4 AND st.id > ?5))))
             ORDER BY st.published DESC, st.first_seen DESC, st.id LIMIT ?2"
        })?;
        let mut copies = self.conn.prepare_cached(&format!(
            "SELECT {}, s.name, s.language, c.title, c.body, c.authors, c.enclosures, c.categories
             FROM copies c JOIN sources s ON s.id = c.source_id
             WHERE c.story = ?1 ORDER BY c.published, c.first_seen, c.source_id, c.item_key",
            super::ingest::COPY_ROW_COLUMNS
        ))?;
        let row = |r: &sql::Row<'_>| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, StoryId>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
            ))
        };
        let found = match before {
            None => stories.query_map(params![slug, limit as i64], row)?,
            Some(c) => stories.query_map(
                params![slug, limit as i64, c.published, c.first_seen, c.id],
                row,
            )?,
        }
        .collect::<sql::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(found.len());
        for (sid, id, title, link, published, updated, first_seen) in found {
            let list = copies
                .query_map([sid], |c| {
                    let row = super::ingest::CopyRow::read(c, 0)?;
                    let authors: Option<String> = c.get(14)?;
                    let stored: Option<Vec<u8>> = c.get(13)?;
                    // A body that does not decode (a damaged page) shows
                    // the copy without its text rather than failing the feed.
                    let parts = stored
                        .map(|b| body::decode(&b).unwrap_or_default())
                        .unwrap_or_default();
                    Ok(FeedCopy {
                        source_id: SourceId::from(row.source.as_str()),
                        source_name: c.get(10)?,
                        language: c.get(11)?,
                        link: row.link,
                        title: c.get(12)?,
                        summary_html: parts.summary_html,
                        content_html: parts.full_html.or(parts.content_html),
                        authors: authors
                            .and_then(|a| serde_json::from_str(&a).ok())
                            .unwrap_or_default(),
                        enclosures: read_list(c.get(15)?, crate::model::MAX_ENCLOSURES),
                        categories: read_list(c.get(16)?, crate::model::MAX_CATEGORIES),
                        published: datetime(row.published),
                        text_len: row.text_len,
                        item_key: row.key,
                        low_trust: row.low_trust,
                        own_link: row.own_link,
                        display_title: row.title,
                        first_seen: datetime(row.first_seen),
                        in_topic: true,
                    })
                })?
                .collect::<sql::Result<Vec<_>>>()?;
            out.push(FeedStory {
                id,
                title,
                link,
                published: datetime(published),
                updated: datetime(updated),
                first_seen: datetime(first_seen),
                copies: list,
            });
        }
        Ok(out)
    }

    /// Story ids starting with `prefix` (at most 10).
    pub fn story_ids(&self, prefix: &str) -> Result<Vec<StoryId>> {
        let mut stmt = self.conn.prepare(
            "SELECT id FROM stories WHERE substr(id, 1, length(CAST(?1 AS TEXT))) = CAST(?1 AS TEXT) ORDER BY id LIMIT 10",
        )?;
        let rows = stmt.query_map([prefix.to_ascii_lowercase()], |r| r.get(0))?;
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// One story with its copies and why each joined (`stories explain`).
    pub fn story(&self, id: &StoryId) -> Result<Option<(ExportedStory, String)>> {
        let mut found = None;
        // The callback cannot fail, so the inner io::Result is always Ok.
        let _ = self.export_where("id = ?3", Some(id), None, None, |s| {
            found = Some(s);
            Ok(())
        })?;
        let Some(story) = found else { return Ok(None) };
        let text: String = self.conn.query_row(
            "SELECT t.text FROM stories s JOIN story_texts t ON t.sid = s.sid WHERE s.id = ?1",
            [id],
            |r| r.get(0),
        )?;
        Ok(Some((story, text)))
    }

    /// Stories sharing a near-duplicate index key with `keys`, except `not`:
    /// (id, title, text, published).
    pub fn near_candidates(&self, keys: &[i64], not: &StoryId) -> Result<Vec<StoryText>> {
        let not: Option<i64> = self
            .conn
            .query_row("SELECT sid FROM stories WHERE id = ?1", [not], |r| r.get(0))
            .optional()?;
        // An index of these keys only, built for this one question.
        let index = NearIndex::of_keys(&self.conn, keys)?;
        let mut out = Vec::new();
        for Candidate {
            id: sid,
            text,
            published,
            ..
        } in candidates(&self.conn, &index, keys, not)?
        {
            let (id, title): (StoryId, String) = self.conn.query_row(
                "SELECT id, title FROM stories WHERE sid = ?1",
                [sid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            out.push(StoryText {
                id,
                title,
                text,
                published: datetime(published),
            });
        }
        Ok(out)
    }

    /// Stories first seen at or after this (unix seconds) have an entry id
    /// per topic; older ones keep the one id they had in every feed
    /// (migration 0012, `publish::entry_id`).
    pub fn topic_entry_ids_from(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'topic_entry_ids_from'",
                params![],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// When each topic's feed last changed (unix ms), by slug.
    pub fn topic_versions(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT slug, changed_at FROM topics ORDER BY slug")?;
        let rows = stmt.query_map(params![], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<sql::Result<_>>()?)
    }

    /// Every story published at or after `since` (in `topic`, when given),
    /// newest first, to `out`.
    pub fn export(
        &self,
        topic: Option<&str>,
        since: Option<DateTime<Utc>>,
        out: impl FnMut(ExportedStory) -> std::io::Result<()>,
    ) -> Result<std::io::Result<()>> {
        self.export_where("1 = 1", None, topic, since, out)
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
            "SELECT sid, id, content_hash, title, link, published,
                    (SELECT text FROM story_texts t WHERE t.sid = stories.sid) FROM stories
             WHERE published >= ?1
               AND (CAST(?2 AS TEXT) IS NULL OR sid IN (SELECT story FROM story_topics WHERE topic = ?2))
               AND {filter}
             ORDER BY published DESC, first_seen DESC, id"
        ))?;
        let mut topics = self
            .conn
            .prepare_cached("SELECT topic FROM story_topics WHERE story = ?1 ORDER BY topic")?;
        let mut copies = self.conn.prepare_cached(
            "SELECT source_id, guid, link, title, published, merge_method, merge_score FROM copies
             WHERE story = ?1 ORDER BY published, first_seen, id",
        )?;
        let since = since.map(ts).unwrap_or(i64::MIN);
        let mut rows = match id {
            None => stories.query(params![since, topic])?,
            Some(id) => stories.query(params![since, topic, id])?,
        };
        while let Some(r) = rows.next()? {
            let sid: i64 = r.get(0)?;
            let list = copies
                .query_map([sid], |c| {
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
                .collect::<sql::Result<Vec<_>>>()?;
            let story = ExportedStory {
                id: r.get(1)?,
                content_hash: r.get(2)?,
                title: r.get(3)?,
                link: r.get(4)?,
                published: rfc3339(r.get(5)?),
                topics: topics
                    .query_map([sid], |t| t.get(0))?
                    .collect::<sql::Result<Vec<String>>>()?,
                text: r.get(6)?,
                copies: list,
            };
            if let Err(e) = out(story) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }
}

/// Where a page of a topic's stories ends: the last story's place in the
/// feed's order (published, first seen, id), written in a link as
/// `<published>_<first_seen>_<id>` (`?before=`). Parsing is strict: a
/// damaged cursor is an error, never a query.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopicCursor {
    published: i64,
    first_seen: i64,
    id: String,
}

impl TopicCursor {
    /// The place of `story`: the next page starts after it.
    pub fn after(story: &FeedStory) -> TopicCursor {
        TopicCursor {
            published: ts(story.published),
            first_seen: ts(story.first_seen),
            id: story.id.as_str().to_string(),
        }
    }
}

impl std::fmt::Display for TopicCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}_{}", self.published, self.first_seen, self.id)
    }
}

impl std::str::FromStr for TopicCursor {
    type Err = &'static str;

    fn from_str(s: &str) -> std::result::Result<TopicCursor, &'static str> {
        const BAD: &str = "not a page cursor";
        let mut parts = s.splitn(3, '_');
        let mut number = || -> std::result::Result<i64, &'static str> {
            let n = parts.next().ok_or(BAD)?;
            // `i64::from_str` takes a leading `+`; a cursor never has one.
            if n.starts_with('+') {
                return Err(BAD);
            }
            n.parse().map_err(|_| BAD)
        };
        let (published, first_seen) = (number()?, number()?);
        let id = parts.next().ok_or(BAD)?;
        // Story ids are lowercase hex digests.
        if id.is_empty()
            || id.len() > 128
            || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(BAD);
        }
        Ok(TopicCursor {
            published,
            first_seen,
            id: id.to_string(),
        })
    }
}
