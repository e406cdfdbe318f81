-- Entry ids per topic feed (publish::entry_id): a reader that keys entries
-- by id (newsboat, Tiny Tiny RSS) shows a story in only one of two
-- overlapping topics when both feeds give it the same id. Stories first
-- seen before this migration keep the one id they had in every feed, so
-- that no reader is shown them again as new; later stories get an id per
-- topic. `settings` holds such one-off facts of a database.
CREATE TABLE settings (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO settings (key, value)
  SELECT 'topic_entry_ids_from', coalesce(max(first_seen), 0) + 1 FROM stories;
