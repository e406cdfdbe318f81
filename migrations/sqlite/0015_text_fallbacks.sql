-- The items a poll stored (new or edited copies) whose text stripping
-- boilerplate would have left empty, kept as published instead
-- (`NormalizedItem::text_fallback`; `sources show`, `/metrics`): an
-- over-eager boilerplate rule shows up as a count, not as empty stories.
-- Polls logged before read as none.
ALTER TABLE polls ADD COLUMN text_fallbacks INTEGER NOT NULL DEFAULT 0;
