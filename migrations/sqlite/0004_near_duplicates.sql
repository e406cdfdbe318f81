-- Near-duplicate detection: the LSH/lead index of each story's text, and
-- why each copy joined its story.
CREATE TABLE near_keys (
    key      INTEGER NOT NULL,
    story_id TEXT NOT NULL REFERENCES stories (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX near_keys_key ON near_keys (key);

-- 1 once a story's text is in near_keys (or was too short to index).
ALTER TABLE stories ADD COLUMN near_indexed INTEGER NOT NULL DEFAULT 0;

-- 'first' (started the story), 'exact' (same content hash), 'jaccard' or
-- 'containment' (near duplicate), with the score that decided.
ALTER TABLE copies ADD COLUMN merge_method TEXT;
ALTER TABLE copies ADD COLUMN merge_score REAL;
