-- Near-duplicate detection: the LSH/lead index of each story's text, and
-- why each copy joined its story.
CREATE TABLE near_keys (
    key      INTEGER NOT NULL,
    story_id TEXT NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    PRIMARY KEY (key, story_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX near_keys_story ON near_keys (story_id);

-- 'first' (started the story), 'exact' (same content hash), 'jaccard' or
-- 'containment' (near duplicate), with the score that decided.
ALTER TABLE copies ADD COLUMN merge_method TEXT;
ALTER TABLE copies ADD COLUMN merge_score REAL;
