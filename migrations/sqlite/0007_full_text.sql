-- Full text for summary-only feeds (issue 14): the article extracted from an
-- item's page (cleaned HTML), kept beside the feed's own summary/content.
-- The copy's text, content hash and length are computed from it when it is
-- set; readers of the copy see it in place of the feed's content. Per poll,
-- the article pages fetched (article kept), failed (fetch or extraction
-- failed, or it gave no more text than the feed) and skipped (no usable link).
ALTER TABLE copies ADD COLUMN full_html TEXT;
ALTER TABLE polls ADD COLUMN pages_fetched INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN pages_failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN pages_skipped INTEGER NOT NULL DEFAULT 0;
