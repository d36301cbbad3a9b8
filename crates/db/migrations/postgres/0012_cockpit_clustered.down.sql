DELETE FROM cockpit_grids WHERE grain = 3;
DELETE FROM cockpit_counters WHERE grain = 3;
