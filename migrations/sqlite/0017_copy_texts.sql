-- Each distinct normalized text once (issue 24): a wire story carried by
-- eight outlets normalizes to one text eight times, and migration 0014 kept
-- it in every copy's row. On the real-length farm that was 70 MB of the
-- 165 MB database, written through the WAL and checkpointed again: the
-- writer's largest page traffic. A copy stored from now on names its text
-- by `text_id` (the text found by its BLAKE3 digest, `digest`) and leaves
-- `copies.text` NULL; copies stored before keep their own `text`, and those
-- stored before 0014 have neither (their story's text stands in, as
-- before). A text no copy names any more is deleted by retention
-- (`Writer::prune_batch`) and by `sources remove --purge`.
CREATE TABLE copy_texts (
    id INTEGER PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE,
    text TEXT NOT NULL
);
-- No REFERENCES clause: `ingest::forget_texts` deletes a text only when no
-- copy names it.
ALTER TABLE copies ADD COLUMN text_id INTEGER;
-- Whether a text is still named, when copies go (small: an integer a copy).
CREATE INDEX copies_text_id ON copies (text_id);
