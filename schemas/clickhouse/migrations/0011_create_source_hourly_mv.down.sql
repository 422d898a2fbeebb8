DROP TABLE IF EXISTS source_hourly_mv;
