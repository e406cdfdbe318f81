-- Full text (issue 14): an item's page still to be fetched. NULL: nothing
-- pending (the page was fetched — article kept or not — or failed for
-- good, or the source does not fetch pages). N >= 0: the page is wanted and
-- N fetches of it failed for a reason that may pass (network error,
-- timeout, HTTP 5xx/429/408); 0 when it was put off by
-- `[fetch] max_pages_per_poll`. Such a copy is fetched again on later polls
-- until it has failed `fulltext::PAGE_ATTEMPTS` times.
ALTER TABLE copies ADD COLUMN page_tries INTEGER;
