DROP TABLE cockpit_grids;
DROP TABLE cockpit_counters;
