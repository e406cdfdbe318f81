-- What an item carries beside its text, kept per copy (one story, many
-- copies): its enclosures (JSON `[{"url", "mime_type"?, "length"?}]`, at
-- most 16) and its categories (JSON `["…"]`, at most 32). NULL for none,
-- and for every copy stored before this migration: they read as none until
-- their outlet edits them.
-- And the items a poll found edited (`sources show`: how many corrections
-- a source made recently); polls logged before read as none.
ALTER TABLE copies ADD COLUMN enclosures TEXT;
ALTER TABLE copies ADD COLUMN categories TEXT;
ALTER TABLE polls ADD COLUMN items_updated INTEGER NOT NULL DEFAULT 0;
