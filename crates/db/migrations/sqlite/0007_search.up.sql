-- Room: opinions (民意). Full-text search over citizens' opinions. The rows carry tokens
-- computed by yidu's own tokenizer (jieba search-mode words, character bigrams and
-- letter/digit runs, space-separated, only letters and digits inside a token), so the
-- index only splits on whitespace: the 'ascii' tokenizer keeps every non-ASCII character
-- inside its token. Contentless (the text lives in opinions), rowid = opinions.id;
-- contentless_delete lets a reindex replace a row; detail=none because queries only ask
-- "which items hold all these tokens", never phrases or positions.
-- This table differs from PostgreSQL's opinion_search by design (the schema parity test
-- skips it and FTS5's shadow tables).
CREATE VIRTUAL TABLE opinion_search USING fts5(
    tokens,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = 'ascii'
);
