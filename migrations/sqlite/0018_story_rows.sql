-- Issue 24: a story's row is rewritten each time a copy joins it (its
-- `updated_at` moves), so it is kept small and holds what that needs.
--
-- 1. `shown`: what the display rule decided, and what it needs to decide
--    again when one more copy joins without reading the others
--    (`display::Summary`, stored by `store/shown.rs`). Re-reading every copy
--    at every join was a quarter of the writer's time on the real-length
--    farm. NULL until the story's next refresh or join, which writes it.
-- 2. The story's text and near-duplicate keys (~2 KB each) move to a table
--    of their own, written when they change. In `stories` they made every
--    join rewrite a ~4 KB row: on the real-length farm 56% of the 16 KiB
--    pages a cold poll wrote to the WAL were `stories` pages, each written
--    a dozen times.
ALTER TABLE stories ADD COLUMN shown BLOB;
CREATE TABLE story_texts (
    sid       INTEGER PRIMARY KEY REFERENCES stories (sid) ON DELETE CASCADE,
    text      TEXT NOT NULL,
    near_keys BLOB                 -- `near::encode_keys`; NULL: not indexed yet
) STRICT;
INSERT INTO story_texts (sid, text, near_keys) SELECT sid, text, near_keys FROM stories;
ALTER TABLE stories DROP COLUMN text;
ALTER TABLE stories DROP COLUMN near_keys;
