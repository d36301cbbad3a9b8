DROP INDEX opinions_updated;
DROP TABLE opinion_metoo;
DROP TABLE text_train_runs;
DROP TABLE text_models;
