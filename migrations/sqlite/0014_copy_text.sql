-- Each copy's normalized text (issue 19, "merges must not depend on poll
-- order"): an arriving copy is judged against every copy of a candidate
-- story, and the neighbourhood it touches is clustered again from its
-- copies' texts (`dedupe::cluster`), not from the one text a story kept.
-- NULL for copies stored before: their story's text stands in for them.
ALTER TABLE copies ADD COLUMN text TEXT;
