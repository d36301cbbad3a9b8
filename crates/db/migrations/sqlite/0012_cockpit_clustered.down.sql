-- Back to rowid tables without the week grain (the day and month rows are kept).
CREATE TABLE cockpit_counters_old (
    grain BIGINT NOT NULL,
    day BIGINT NOT NULL,
    region_path TEXT NOT NULL,
    category_id BIGINT NOT NULL,
    station_id BIGINT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    accepted BIGINT NOT NULL DEFAULT 0,
    handled BIGINT NOT NULL DEFAULT 0,
    replied BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    on_time_replies BIGINT NOT NULL DEFAULT 0,
    late_replies BIGINT NOT NULL DEFAULT 0,
    satisfied BIGINT NOT NULL DEFAULT 0,
    basic BIGINT NOT NULL DEFAULT 0,
    unsatisfied BIGINT NOT NULL DEFAULT 0,
    handling_ms_sum BIGINT NOT NULL DEFAULT 0,
    working_mdays_sum BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, day, region_path, category_id, station_id)
);
INSERT INTO cockpit_counters_old SELECT * FROM cockpit_counters WHERE grain IN (1, 2) ORDER BY grain, day, region_path, category_id, station_id;
DROP TABLE cockpit_counters;
ALTER TABLE cockpit_counters_old RENAME TO cockpit_counters;

CREATE TABLE cockpit_grids_old (
    grain BIGINT NOT NULL,
    day BIGINT NOT NULL,
    region_path TEXT NOT NULL,
    grid_id BIGINT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, day, region_path, grid_id)
);
INSERT INTO cockpit_grids_old SELECT * FROM cockpit_grids WHERE grain IN (1, 2) ORDER BY grain, day, region_path, grid_id;
DROP TABLE cockpit_grids;
ALTER TABLE cockpit_grids_old RENAME TO cockpit_grids;
