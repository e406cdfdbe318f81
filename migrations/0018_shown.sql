-- What the display rule decided for each story, and what it needs to
-- decide again when one more copy joins without reading the others
-- (`display::Summary`, stored by `store/shown.rs`): re-reading every copy
-- of a story at every join was a quarter of the writer's time on the
-- real-length farm (issue 24). NULL until the story's next full refresh
-- or join, which writes it.
ALTER TABLE stories ADD COLUMN shown BLOB;
