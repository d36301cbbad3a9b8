-- Back to the tokens text with its generated positional tsvector. A stripped tsvector keeps
-- every lexeme, and each lexeme parses back to itself ('simple' only splits and lowercases
-- what it once split and lowercased), so the rebuilt tokens index every item under the
-- same lexemes; only the positions differ, and no query reads them.
CREATE TABLE opinion_search_wide (
    opinion_id BIGINT PRIMARY KEY REFERENCES opinions(id),
    tokens TEXT NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED
);
INSERT INTO opinion_search_wide (opinion_id, tokens)
SELECT opinion_id, array_to_string(tsvector_to_array(tsv), ' ')
FROM opinion_search ORDER BY opinion_id;
DROP TABLE opinion_search;
ALTER TABLE opinion_search_wide RENAME TO opinion_search;
ALTER INDEX opinion_search_wide_pkey RENAME TO opinion_search_pkey;
ALTER TABLE opinion_search
    RENAME CONSTRAINT opinion_search_wide_opinion_id_fkey TO opinion_search_opinion_id_fkey;
CREATE INDEX opinion_search_tsv ON opinion_search USING GIN (tsv);
ANALYZE opinion_search;
