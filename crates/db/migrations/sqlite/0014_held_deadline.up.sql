-- Room: opinions (民意). A deadline someone else holds for an item: a supervised class
-- (类案督办) gives every member its one deadline, and every later move of the item (take,
-- start, return, escalate, reassignment, a reopen after an unsatisfied rating) keeps it
-- instead of starting the unit's usual clock. NULL: the usual rules apply.
-- `deadline_at` stays the effective deadline (the queue's partial indexes, the digest and
-- the cockpit's overdue list read it); this column only says that it is held and at what.
ALTER TABLE opinions ADD COLUMN held_deadline_at BIGINT;
