-- Room: opinions (民意). Citizens' opinions from the two codes and other channels, their
-- timeline, photos, the category tree, idempotency records, staff inboxes, the outbox of
-- events for other systems, and deputies' duty records.
CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    parent_id BIGINT REFERENCES categories(id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL,
    sort BIGINT NOT NULL DEFAULT 0,
    retired BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX categories_parent ON categories (parent_id);

CREATE TABLE opinions (
    id INTEGER PRIMARY KEY,
    tracking_no TEXT NOT NULL UNIQUE,
    query_hash TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_ref TEXT NOT NULL DEFAULT '',
    deputy_id BIGINT REFERENCES deputies(id),
    station_id BIGINT REFERENCES stations(id),
    region_id BIGINT NOT NULL REFERENCES regions(id),
    region_path TEXT NOT NULL,
    district_id BIGINT,
    grid_id BIGINT REFERENCES regions(id),
    category_id BIGINT REFERENCES categories(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    citizen_name_enc TEXT NOT NULL DEFAULT '',
    citizen_phone_enc TEXT NOT NULL DEFAULT '',
    phone_index TEXT NOT NULL DEFAULT '',
    client_index TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    level TEXT NOT NULL DEFAULT '',
    unit_id BIGINT REFERENCES units(id),
    handler_user_id BIGINT,
    deadline_at BIGINT,
    accepted_at BIGINT,
    replied_at BIGINT,
    closed_at BIGINT,
    reply_text TEXT NOT NULL DEFAULT '',
    satisfaction TEXT NOT NULL DEFAULT '',
    rating_comment TEXT NOT NULL DEFAULT '',
    reopen_count BIGINT NOT NULL DEFAULT 0,
    merged_into BIGINT REFERENCES opinions(id),
    converted_kind TEXT NOT NULL DEFAULT '',
    converted_ref TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX opinions_region_status ON opinions (region_path, status);
CREATE INDEX opinions_status_deadline ON opinions (status, deadline_at);
CREATE INDEX opinions_deputy ON opinions (deputy_id, status);
CREATE INDEX opinions_station ON opinions (station_id, status);
CREATE INDEX opinions_unit ON opinions (unit_id, status);
CREATE INDEX opinions_created ON opinions (created_at);
CREATE INDEX opinions_phone_index ON opinions (phone_index, created_at);
CREATE INDEX opinions_client_index ON opinions (client_index, created_at);

CREATE TABLE opinion_events (
    id INTEGER PRIMARY KEY,
    opinion_id BIGINT NOT NULL REFERENCES opinions(id),
    at BIGINT NOT NULL,
    actor_id BIGINT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    unit_id BIGINT,
    public BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX opinion_events_opinion ON opinion_events (opinion_id, at);

CREATE TABLE opinion_files (
    id INTEGER PRIMARY KEY,
    opinion_id BIGINT NOT NULL REFERENCES opinions(id),
    event_id BIGINT REFERENCES opinion_events(id),
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX opinion_files_opinion ON opinion_files (opinion_id);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    user_id BIGINT,
    deputy_id BIGINT,
    station_id BIGINT,
    unit_id BIGINT,
    region_id BIGINT,
    opinion_id BIGINT REFERENCES opinions(id),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX inbox_deputy ON inbox (deputy_id, read_at);
CREATE INDEX inbox_unit ON inbox (unit_id, read_at);
CREATE INDEX inbox_station ON inbox (station_id, read_at);
CREATE INDEX inbox_region ON inbox (region_id, read_at);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (delivered_at, next_attempt_at);

CREATE TABLE duty_records (
    id INTEGER PRIMARY KEY,
    deputy_id BIGINT NOT NULL REFERENCES deputies(id),
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    summary TEXT NOT NULL DEFAULT ''
);
CREATE INDEX duty_records_deputy ON duty_records (deputy_id, at);
