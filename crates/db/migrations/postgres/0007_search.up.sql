-- Room: opinions (民意). Full-text search over citizens' opinions: tokens computed by
-- yidu's own tokenizer (see the SQLite migration), indexed with the 'simple'
-- configuration so that PostgreSQL only splits them, never stems them.
-- This table differs from SQLite's FTS5 table by design (the schema parity test skips it).
CREATE TABLE opinion_search (
    opinion_id BIGINT PRIMARY KEY REFERENCES opinions(id),
    tokens TEXT NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED
);
CREATE INDEX opinion_search_tsv ON opinion_search USING GIN (tsv);
