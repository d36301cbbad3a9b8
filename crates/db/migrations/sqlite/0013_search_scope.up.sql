-- Room: opinions (民意). Rebuilds of the search index after a change of its token format.
-- Version 2 adds the scope tokens (region path prefixes, station, deputy) that let a search
-- take the viewer's scope from the index. The tokens are computed by yidu's tokenizer, so
-- the rebuild runs in the application (service/search_build.rs), not here: one instance
-- claims the row, checkpoints `last_id` in the transaction of every page it rewrites and
-- keeps `heartbeat_at` fresh; another instance takes over a claim whose heartbeat is more
-- than a minute old and resumes after `last_id`. Until `done_at` is set, searches check
-- the scope in SQL as before, so results are complete during the rebuild.
CREATE TABLE search_index_builds (
    version BIGINT PRIMARY KEY,
    claimed_by TEXT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    last_id BIGINT NOT NULL,
    done_at BIGINT
);
-- A database without items has nothing to rebuild.
INSERT INTO search_index_builds (version, claimed_by, heartbeat_at, last_id, done_at)
SELECT 2, 'migration', 0, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM opinions);
