-- Full text (issue 23): per poll, the article pages not fetched because the
-- feed already carried the whole text, or fetched and no longer than it
-- ("not needed": neither fetched-and-kept nor failed). Polls logged before
-- read as none.
ALTER TABLE polls ADD COLUMN pages_not_needed INTEGER NOT NULL DEFAULT 0;
-- The last article pages of a source that failed (HTTP error, refused, not
-- HTML, no article found), with the page's URL and why (`sources show`):
-- `store::PAGE_FAILURES_KEPT` per source, older ones deleted as new ones
-- come.
CREATE TABLE page_failures (
    id        INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE ON UPDATE CASCADE,
    at        INTEGER NOT NULL,             -- unix seconds (the poll's)
    url       TEXT NOT NULL,
    reason    TEXT NOT NULL
) STRICT;
CREATE INDEX page_failures_source ON page_failures (source_id, id DESC);
