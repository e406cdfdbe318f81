-- A compact store (issue 12). Inside the database a story is known by an
-- integer key (`stories.sid`); its content-hash id stays the public id of
-- feeds, export and the CLI. Copies, near-duplicate keys and topic
-- membership refer to `sid`: 8 bytes or fewer instead of 64 characters,
-- in every row and every index. The near-duplicate index is one WITHOUT
-- ROWID table on (key, story). A copy's HTML (summary, content, the article
-- from its page) is one zstd frame, `copies.body` (src/store/body.rs),
-- filled from the old columns by this migration's hook, which then drops
-- them.
--
-- Built as new tables beside the old, filled, then swapped: children are
-- dropped before their parent so no ON DELETE CASCADE fires, and renaming
-- `stories_new` to `stories` updates the new children's references.

CREATE TABLE stories_new (
    sid          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,      -- content hash of the first copy; never changes
    content_hash TEXT NOT NULL,             -- hash of the current text
    title        TEXT NOT NULL,
    link         TEXT,
    text         TEXT NOT NULL,             -- normalized body (what topics and dedupe read)
    published    INTEGER NOT NULL,
    first_seen   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    near_indexed INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO stories_new (id, content_hash, title, link, text, published, first_seen, updated_at, near_indexed)
SELECT id, content_hash, title, link, text, published, first_seen, updated_at, near_indexed
FROM stories ORDER BY first_seen, rowid;

CREATE TABLE copies_new (
    id           INTEGER PRIMARY KEY,
    story        INTEGER NOT NULL REFERENCES stories_new (sid) ON DELETE CASCADE,
    source_id    TEXT NOT NULL REFERENCES sources (id),
    item_key     TEXT NOT NULL,
    guid         TEXT,
    link         TEXT,
    title        TEXT,
    body         BLOB,                      -- summary, content and article HTML (store/body.rs)
    authors      TEXT,
    published    INTEGER NOT NULL,
    updated      INTEGER,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    raw_hash     TEXT NOT NULL,
    text_len     INTEGER NOT NULL DEFAULT 0,
    merge_method TEXT,
    merge_score  REAL,
    -- The old HTML columns, until the hook has moved them into `body`.
    summary_html TEXT,
    content_html TEXT,
    full_html    TEXT,
    UNIQUE (source_id, item_key)
) STRICT;
INSERT INTO copies_new (id, story, source_id, item_key, guid, link, title, authors, published, updated,
                        first_seen, last_seen, content_hash, raw_hash, text_len, merge_method, merge_score,
                        summary_html, content_html, full_html)
SELECT c.id, s.sid, c.source_id, c.item_key, c.guid, c.link, c.title, c.authors, c.published, c.updated,
       c.first_seen, c.last_seen, c.content_hash, c.raw_hash, c.text_len, c.merge_method, c.merge_score,
       c.summary_html, c.content_html, c.full_html
FROM copies c JOIN stories_new s ON s.id = c.story_id;

CREATE TABLE near_keys_new (
    key   INTEGER NOT NULL,
    story INTEGER NOT NULL REFERENCES stories_new (sid) ON DELETE CASCADE,
    PRIMARY KEY (key, story)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO near_keys_new (key, story)
SELECT k.key, s.sid FROM near_keys k JOIN stories_new s ON s.id = k.story_id;

CREATE TABLE story_topics_new (
    topic TEXT NOT NULL,
    story INTEGER NOT NULL REFERENCES stories_new (sid) ON DELETE CASCADE,
    PRIMARY KEY (topic, story)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO story_topics_new (topic, story)
SELECT t.topic, s.sid FROM story_topics t JOIN stories_new s ON s.id = t.story_id;

DROP TABLE near_keys;
DROP TABLE story_topics;
DROP TABLE copies;
DROP TABLE stories;
ALTER TABLE stories_new RENAME TO stories;
ALTER TABLE copies_new RENAME TO copies;
ALTER TABLE near_keys_new RENAME TO near_keys;
ALTER TABLE story_topics_new RENAME TO story_topics;

CREATE INDEX stories_published ON stories (published DESC, sid);
CREATE INDEX stories_content_hash ON stories (content_hash);
CREATE INDEX copies_story ON copies (story);
CREATE INDEX copies_content_hash ON copies (content_hash);
-- Retention and merges delete or move a story's keys by story.
CREATE INDEX near_keys_story ON near_keys (story);
CREATE INDEX story_topics_story ON story_topics (story);
