-- What the daemon needs to poll politely and to resume after a restart.
ALTER TABLE sources ADD COLUMN retry_after_until INTEGER;  -- unix secs: the server asked us to wait (429/503)
ALTER TABLE sources ADD COLUMN moved_to TEXT;              -- URL after permanent (301/308) redirects, used next time
ALTER TABLE sources ADD COLUMN gone_at INTEGER;            -- unix secs of a 410 Gone: polling stopped
ALTER TABLE sources ADD COLUMN next_poll_at INTEGER;       -- unix secs: when the daemon plans to poll next
