-- Room: cockpit (一舱). A week grain: grain 3, day = the Monday (yyyymmdd) of a
-- Monday-to-Sunday Beijing week. The 12-week trend reads 12 rows per key instead of 84 day
-- rows, and the edges of a period read whole weeks where they can. Week rows are the sums
-- of their day rows; from now on `counters::record` and `counters::rebuild` keep them.
-- (On SQLite this migration also makes both tables WITHOUT ROWID, i.e. stored in key
-- order; a PostgreSQL table is a heap whose primary key index serves the same range scans.)
INSERT INTO cockpit_counters (grain, day, region_path, category_id, station_id, received, accepted, handled, replied, closed,
                              on_time_replies, late_replies, satisfied, basic, unsatisfied, handling_ms_sum, working_mdays_sum)
    SELECT 3, CAST(to_char(date_trunc('week', to_date(CAST(day AS TEXT), 'YYYYMMDD')), 'YYYYMMDD') AS BIGINT),
           region_path, category_id, station_id, SUM(received), SUM(accepted), SUM(handled), SUM(replied), SUM(closed),
           SUM(on_time_replies), SUM(late_replies), SUM(satisfied), SUM(basic), SUM(unsatisfied), SUM(handling_ms_sum),
           SUM(working_mdays_sum)
    FROM cockpit_counters WHERE grain = 1
    GROUP BY 2, region_path, category_id, station_id;

INSERT INTO cockpit_grids (grain, day, region_path, grid_id, received)
    SELECT 3, CAST(to_char(date_trunc('week', to_date(CAST(day AS TEXT), 'YYYYMMDD')), 'YYYYMMDD') AS BIGINT),
           region_path, grid_id, SUM(received)
    FROM cockpit_grids WHERE grain = 1
    GROUP BY 2, region_path, grid_id;
