-- Room: opinions (民意). The search table becomes narrow, so that the rows GIN's matches
-- point at stay in shared buffers (measurements: crates/rooms/opinions/README.md,
-- "2026-12-07, night: a narrow index table on PostgreSQL").
--
-- Every match the GIN index returns costs a visit to this table's heap to learn its
-- opinion_id. With the tokens text and a positional tsvector inline (about 1.2 KB a row:
-- 1,170 MB of heap at 1,000,000 items against 128 MB of default shared_buffers), those
-- visits came from the OS cache: 1,001 of them took 30-36 ms, against 1.7 ms cached. So:
-- - `tokens` goes: nothing reads it on PostgreSQL (the application computes the tsvector
--   in its INSERT, service/search.rs), and the tsvector is `strip`ped: queries are plain
--   `&` of lexemes and prefixes, never phrases or weights, so positions are never used
--   and GIN needs no recheck (the bitmap heap scan never reads the tsvector itself);
-- - the tsvector lives out of line (TOAST, uncompressed: STORAGE EXTERNAL), leaving about
--   90 bytes a row in the heap. PostgreSQL moves values out of line only from rows longer
--   than about 2 KB (TOAST_TUPLE_THRESHOLD; `toast_tuple_target` lowers the size it
--   shrinks rows to, not the size that starts it), so a generated constant of 2,100
--   spaces makes every row start it; that constant is then compressed in place (STORAGE
--   MAIN: 35 bytes) while the tsvector goes out of line.
-- The rows are copied in id order: the queue's search relies on the heap being in id
-- order to estimate a word's frequency (service/search_pg.rs).
CREATE TABLE opinion_search_narrow (
    opinion_id BIGINT PRIMARY KEY REFERENCES opinions(id),
    tsv tsvector NOT NULL,
    toast_trigger TEXT GENERATED ALWAYS AS (repeat(' ', 2100)) STORED
) WITH (toast_tuple_target = 128);
ALTER TABLE opinion_search_narrow ALTER COLUMN tsv SET STORAGE EXTERNAL;
ALTER TABLE opinion_search_narrow ALTER COLUMN toast_trigger SET STORAGE MAIN;
INSERT INTO opinion_search_narrow (opinion_id, tsv)
SELECT opinion_id, strip(tsv) FROM opinion_search ORDER BY opinion_id;
DROP TABLE opinion_search;
ALTER TABLE opinion_search_narrow RENAME TO opinion_search;
ALTER INDEX opinion_search_narrow_pkey RENAME TO opinion_search_pkey;
ALTER TABLE opinion_search
    RENAME CONSTRAINT opinion_search_narrow_opinion_id_fkey TO opinion_search_opinion_id_fkey;
CREATE INDEX opinion_search_tsv ON opinion_search USING GIN (tsv);
-- The queue reads the table's statistics (very common lexemes): have them at once.
ANALYZE opinion_search;
