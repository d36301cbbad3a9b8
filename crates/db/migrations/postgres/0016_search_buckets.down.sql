-- The rows without their bucketed region tokens, again as a copy in id order.
CREATE TABLE opinion_search_plain (
    opinion_id BIGINT PRIMARY KEY REFERENCES opinions(id),
    tsv tsvector NOT NULL,
    toast_trigger TEXT GENERATED ALWAYS AS (repeat(' ', 2100)) STORED
) WITH (toast_tuple_target = 128);
ALTER TABLE opinion_search_plain ALTER COLUMN tsv SET STORAGE EXTERNAL;
ALTER TABLE opinion_search_plain ALTER COLUMN toast_trigger SET STORAGE MAIN;
INSERT INTO opinion_search_plain (opinion_id, tsv)
SELECT s.opinion_id, ts_delete(s.tsv, ARRAY(
    SELECT l FROM unnest(tsvector_to_array(s.tsv)) AS l WHERE l ~ '^(r[0-9]+)+b[0-9]+域$'))
FROM opinion_search s ORDER BY s.opinion_id;
DROP TABLE opinion_search;
ALTER TABLE opinion_search_plain RENAME TO opinion_search;
ALTER INDEX opinion_search_plain_pkey RENAME TO opinion_search_pkey;
ALTER TABLE opinion_search
    RENAME CONSTRAINT opinion_search_plain_opinion_id_fkey TO opinion_search_opinion_id_fkey;
CREATE INDEX opinion_search_tsv ON opinion_search USING GIN (tsv);
ANALYZE opinion_search;
