-- Room: opinions (text assist, issue 4). Category and handling-unit models trained from
-- the deployment's own handled items, the daily training claim, and citizens' 同问
-- ("me too") on an open item.
--
-- text_models: every training run adds a row; instances load the newest row per kind.
CREATE TABLE text_models (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    trained_at BIGINT NOT NULL,
    items BIGINT NOT NULL,
    labels BIGINT NOT NULL,
    bytes BLOB NOT NULL
);
CREATE INDEX text_models_kind ON text_models (kind, id);

-- One row per Beijing day: the instance that inserts it runs the scheduled training, so
-- several instances train once a day between them.
CREATE TABLE text_train_runs (
    day TEXT PRIMARY KEY,
    claimed_at BIGINT NOT NULL
);

-- 同问: one per client (blind index, as for submissions) and item.
CREATE TABLE opinion_metoo (
    id INTEGER PRIMARY KEY,
    opinion_id BIGINT NOT NULL REFERENCES opinions(id),
    at BIGINT NOT NULL,
    client_index TEXT NOT NULL
);
CREATE UNIQUE INDEX opinion_metoo_item_client ON opinion_metoo (opinion_id, client_index);
CREATE INDEX opinion_metoo_client ON opinion_metoo (client_index, at);

-- The near-duplicate index follows status changes by this time.
CREATE INDEX opinions_updated ON opinions (updated_at);
