-- Room: opinions (民意). Every region token also in a bucketed form, limited to the items of
-- one bucket of 32,768 consecutive ids ("r1r2域" of item 1,966,080 -> "r1r2b60域"), so that
-- a search that needs only the newest matches can ask the GIN index for the newest buckets
-- instead of the whole posting list of a township (measurements: crates/rooms/opinions/
-- README.md, "2026-12-08"). New items get them from the application (service/search.rs,
-- `pg_tokens`: the same rule as below); this migration adds them to the rows before it.
--
-- Rewritten as a copy in id order, like 0015 (the queue's search relies on the heap being
-- in id order, and an UPDATE of every row would leave the old versions behind: a migration
-- cannot VACUUM), with the same out-of-line storage of the tsvector.
CREATE TABLE opinion_search_buckets (
    opinion_id BIGINT PRIMARY KEY REFERENCES opinions(id),
    tsv tsvector NOT NULL,
    toast_trigger TEXT GENERATED ALWAYS AS (repeat(' ', 2100)) STORED
) WITH (toast_tuple_target = 128);
ALTER TABLE opinion_search_buckets ALTER COLUMN tsv SET STORAGE EXTERNAL;
ALTER TABLE opinion_search_buckets ALTER COLUMN toast_trigger SET STORAGE MAIN;
INSERT INTO opinion_search_buckets (opinion_id, tsv)
SELECT s.opinion_id, s.tsv || array_to_tsvector(ARRAY(
    SELECT regexp_replace(l, '域$', 'b' || (s.opinion_id >> 15) || '域')
    FROM unnest(tsvector_to_array(s.tsv)) AS l
    WHERE l ~ '^(r[0-9]+)+域$'))
FROM opinion_search s ORDER BY s.opinion_id;
DROP TABLE opinion_search;
ALTER TABLE opinion_search_buckets RENAME TO opinion_search;
ALTER INDEX opinion_search_buckets_pkey RENAME TO opinion_search_pkey;
ALTER TABLE opinion_search
    RENAME CONSTRAINT opinion_search_buckets_opinion_id_fkey TO opinion_search_opinion_id_fkey;
CREATE INDEX opinion_search_tsv ON opinion_search USING GIN (tsv);
ANALYZE opinion_search;
