-- Room: registry. The district's regions, liaison stations, deputies, handling units and
-- working committees. Every row carries the region it belongs to.
CREATE TABLE regions (
    id INTEGER PRIMARY KEY,
    parent_id BIGINT REFERENCES regions(id),
    level TEXT NOT NULL,
    name TEXT NOT NULL,
    division_code TEXT,
    path TEXT NOT NULL,
    district_id BIGINT,
    geojson TEXT,
    retired BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX regions_path ON regions (path);
CREATE INDEX regions_parent ON regions (parent_id);
CREATE UNIQUE INDEX regions_sibling_name ON regions (parent_id, name);

CREATE TABLE stations (
    id INTEGER PRIMARY KEY,
    region_id BIGINT NOT NULL REFERENCES regions(id),
    code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    opening_hours TEXT NOT NULL DEFAULT '',
    reception_schedule TEXT NOT NULL DEFAULT '',
    partners TEXT NOT NULL DEFAULT '',
    retired BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX stations_region ON stations (region_id);

CREATE TABLE deputies (
    id INTEGER PRIMARY KEY,
    region_id BIGINT NOT NULL REFERENCES regions(id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    gender TEXT NOT NULL DEFAULT '',
    levels TEXT NOT NULL,
    term TEXT NOT NULL DEFAULT '',
    sector TEXT NOT NULL DEFAULT '',
    duties TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    retired BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deputies_region ON deputies (region_id);
CREATE INDEX deputies_name ON deputies (name);

CREATE TABLE deputy_stations (
    deputy_id BIGINT NOT NULL REFERENCES deputies(id),
    station_id BIGINT NOT NULL REFERENCES stations(id),
    PRIMARY KEY (deputy_id, station_id)
);
CREATE INDEX deputy_stations_station ON deputy_stations (station_id);

CREATE TABLE deputy_photos (
    deputy_id BIGINT PRIMARY KEY REFERENCES deputies(id),
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    region_id BIGINT NOT NULL REFERENCES regions(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    contact_name TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    retired BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX units_region ON units (region_id);
CREATE UNIQUE INDEX units_region_name ON units (region_id, name);
