-- Room: opinions (issue 3). The staff queue lists open items with a deadline (earliest
-- first), then open items without one, then closed items (newest first), and reads each
-- segment in order from its own partial index, so a page of a million-item queue reads
-- about the rows it shows instead of sorting them all. The conditions are spelled exactly
-- as the queries spell them (service/queue.rs): SQLite uses a partial index only then.
CREATE INDEX opinions_queue_due ON opinions (deadline_at, created_at DESC, id DESC)
    WHERE status IN ('submitted','accepted','assigned','in_progress','escalated') AND deadline_at IS NOT NULL;
CREATE INDEX opinions_queue_open ON opinions (created_at DESC, id DESC)
    WHERE status IN ('submitted','accepted','assigned','in_progress','escalated') AND deadline_at IS NULL;
CREATE INDEX opinions_queue_closed ON opinions (created_at DESC, id DESC)
    WHERE status NOT IN ('submitted','accepted','assigned','in_progress','escalated');
