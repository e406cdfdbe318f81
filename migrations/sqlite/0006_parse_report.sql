-- What parsing made of a source's last document (issue 13): how many items
-- the document held and how many were read, so `sources show`/`list` can
-- flag a feed that answered with items but yielded none ("0 of 12 items
-- read"); what the lenient reading repaired, including where a truncated
-- document broke and how many entries before it were kept; and, per poll,
-- the items skipped for having no title, text or link.
ALTER TABLE sources ADD COLUMN last_document_items INTEGER;
ALTER TABLE sources ADD COLUMN last_items_read INTEGER;
ALTER TABLE sources ADD COLUMN parse_note TEXT;
ALTER TABLE polls ADD COLUMN items_skipped INTEGER NOT NULL DEFAULT 0;
