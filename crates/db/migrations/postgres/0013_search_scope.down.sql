-- The tokens stay: the previous version's queries never ask for scope tokens and never
-- needed the mixed-script tokens version 2 leaves out.
DROP TABLE search_index_builds;
