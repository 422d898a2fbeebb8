DROP TABLE IF EXISTS topic_hourly;
