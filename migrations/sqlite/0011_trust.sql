-- The trust model (src/display.rs, docs/security.md "Round three"): what a
-- story shows is a function of its copies, so each copy keeps its own
-- display title, and each source its trust and the hosts whose links are
-- its own (from the config, written on every sync). Retention keys on when
-- a story was first seen (and its copies last seen), not on a date a
-- source claims: an index for it.
ALTER TABLE sources ADD COLUMN trust TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE sources ADD COLUMN link_hosts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE copies ADD COLUMN display_title TEXT;
CREATE INDEX stories_first_seen ON stories (first_seen);
