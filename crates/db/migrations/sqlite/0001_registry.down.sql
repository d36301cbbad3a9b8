DROP TABLE units;
DROP TABLE deputy_photos;
DROP TABLE deputy_stations;
DROP TABLE deputies;
DROP TABLE stations;
DROP TABLE regions;
