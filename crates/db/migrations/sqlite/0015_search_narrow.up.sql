-- Room: opinions (民意). PostgreSQL only (its search table becomes narrow); SQLite's FTS5
-- table stores no document at all, so there is nothing to change here.
SELECT 1;
