-- Retention deletes old stories; their near-duplicate keys go by ON DELETE
-- CASCADE, which without this index scans the whole of near_keys per story.
CREATE INDEX near_keys_story ON near_keys (story_id);
