-- Room: cockpit (一舱). Aggregates, not items: counters per period x township x category x
-- station, kept in the same transaction as every move of an opinion (and rebuilt from the
-- opinions table by `yidu_cockpit::counters::rebuild`). grain 1 = one Beijing day
-- (day = yyyymmdd), grain 2 = one month (day = yyyymm00), so that a year's query reads
-- twelve month rows per key plus the days at the edges. Items count in the period they
-- were received (a cohort): rates compare like with like.
CREATE TABLE cockpit_counters (
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

-- Items received per grid, for the grid map and the "grids with most items" list.
CREATE TABLE cockpit_grids (
    grain BIGINT NOT NULL,
    day BIGINT NOT NULL,
    region_path TEXT NOT NULL,
    grid_id BIGINT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, day, region_path, grid_id)
);
