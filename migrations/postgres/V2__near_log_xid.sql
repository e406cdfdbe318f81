-- Placement per story neighbourhood (store::pg): pollers no longer commit
-- in the order their near_log rows were numbered, so a poller reads the log
-- by transaction id from the oldest transaction still running when it last
-- read (pg_snapshot_xmin), not by seq: a row numbered before one already
-- read, but committed after it, is still read.
ALTER TABLE near_log ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX near_log_xid ON near_log (xid);
