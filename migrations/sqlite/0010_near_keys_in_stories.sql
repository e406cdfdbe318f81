-- The near-duplicate index moves into memory (src/store/near.rs): each
-- story keeps its index keys in its own row, a blob of sorted
-- little-endian 64-bit integers, from which the writer builds the index at
-- start-up. NULL: not indexed yet (the poller computes the keys from the
-- story's text); an empty blob: indexed, no keys (a text too short).
-- The `near_keys` table, whose random keys made every group commit write
-- most of its pages again, and the `near_indexed` flag go in this
-- migration's Rust hook (`store::move_near_keys_into_stories`), after
-- their content has moved.
ALTER TABLE stories ADD COLUMN near_keys BLOB;
