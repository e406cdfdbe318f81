-- Topic membership, computed when a story is stored or changed, and again
-- for every story when a topic's query or tags change.

-- Source tags (JSON array), synced from the config: topics filter by them.
ALTER TABLE sources ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
-- The feed's declared language (xml:lang of the topic feeds).
ALTER TABLE sources ADD COLUMN language TEXT;

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

-- Length of each copy's normalized text: the fullest copy is what readers see.
ALTER TABLE copies ADD COLUMN text_len INTEGER NOT NULL DEFAULT 0;
