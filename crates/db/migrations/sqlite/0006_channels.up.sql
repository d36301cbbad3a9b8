-- External channels (外部渠道) such as 代表通 or 12345 that file opinions through the
-- Open311 GeoReport v2 API. Only the SHA-256 of the API key is kept: the key itself is
-- shown once, when the channel is created. category_ids is a comma list of the category
-- ids the channel may file under (with their subcategories); empty means all. region_id is
-- where items land when the client names no grid.
CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    api_key_hash TEXT NOT NULL UNIQUE,
    category_ids TEXT NOT NULL DEFAULT '',
    region_id BIGINT REFERENCES regions(id),
    revoked BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX opinions_channel_ref ON opinions (channel, channel_ref, created_at);
