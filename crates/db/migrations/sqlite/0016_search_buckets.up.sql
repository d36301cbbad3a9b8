-- Room: opinions (民意). PostgreSQL only (bucketed region tokens in its GIN index);
-- SQLite's FTS5 index walks its doclists with a limit and needs no buckets.
SELECT 1;
