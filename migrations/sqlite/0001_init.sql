-- newsriver schema, version 1. Migrations are append-only: a later release
-- adds 0002_….sql; never edit a file that has shipped.

-- One row per configured source (rows stay when a source leaves the config,
-- so its stories keep their copies).
CREATE TABLE sources (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    url                  TEXT NOT NULL,
    etag                 TEXT,
    last_modified        TEXT,
    last_poll_at         INTEGER,           -- unix seconds
    last_success_at      INTEGER,
    last_outcome         TEXT,              -- ok | not_modified | failed
    last_status          INTEGER,           -- HTTP status of the last answer
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_item_count      INTEGER,
    feed_title           TEXT,
    feed_format          TEXT,
    charset              TEXT               -- JSON: what decode decided and why
) STRICT;

-- A story is one piece of news, however many outlets carried it.
CREATE TABLE stories (
    id           TEXT PRIMARY KEY,          -- content hash of the first copy; never changes
    content_hash TEXT NOT NULL,             -- hash of the current text
    title        TEXT NOT NULL,
    link         TEXT,                      -- the first seen copy's link
    text         TEXT NOT NULL,             -- normalized body (NFKC, folded, no boilerplate)
    published    INTEGER NOT NULL,          -- the first seen copy's date
    first_seen   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX stories_published ON stories (published DESC, id);
CREATE INDEX stories_content_hash ON stories (content_hash);

-- One outlet's item, as it published it.
CREATE TABLE copies (
    id           INTEGER PRIMARY KEY,
    story_id     TEXT NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    source_id    TEXT NOT NULL REFERENCES sources (id),
    item_key     TEXT NOT NULL,             -- guid, else link, else hash of the item's text
    guid         TEXT,
    link         TEXT,
    title        TEXT,
    summary_html TEXT,
    content_html TEXT,
    authors      TEXT,                      -- JSON array
    published    INTEGER NOT NULL,          -- the item's date, or when first seen
    updated      INTEGER,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    raw_hash     TEXT NOT NULL,             -- detects an outlet's later edit
    UNIQUE (source_id, item_key)
) STRICT;
CREATE INDEX copies_story ON copies (story_id);
CREATE INDEX copies_content_hash ON copies (content_hash);

-- Every poll of every source: the history behind `sources show`.
CREATE TABLE polls (
    id             INTEGER PRIMARY KEY,
    source_id      TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    started_at     INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    outcome        TEXT NOT NULL,
    status         INTEGER,
    error          TEXT,
    bytes          INTEGER NOT NULL DEFAULT 0,
    items          INTEGER NOT NULL DEFAULT 0,
    items_new      INTEGER NOT NULL DEFAULT 0,
    stories_new    INTEGER NOT NULL DEFAULT 0,
    stories_merged INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX polls_source ON polls (source_id, started_at DESC);
