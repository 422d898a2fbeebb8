DROP TABLE IF EXISTS source_hourly;
