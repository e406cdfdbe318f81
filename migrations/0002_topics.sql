-- Topic membership, computed when a story is stored or changed, and again
-- for every story when a topic's query or tags change.

-- Source tags (JSON array), synced from the config: topics filter by them.
ALTER TABLE sources ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

-- The topics as last evaluated: a changed fingerprint re-evaluates all stories.
CREATE TABLE topics (
    slug        TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,              -- hash of the query and tags
    changed_at  INTEGER NOT NULL            -- unix ms of the last change to its feed
) STRICT;

CREATE TABLE story_topics (
    topic    TEXT NOT NULL,
    story_id TEXT NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    PRIMARY KEY (topic, story_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX story_topics_story ON story_topics (story_id);
