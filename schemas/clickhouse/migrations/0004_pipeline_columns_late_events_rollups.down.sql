DROP TABLE IF EXISTS source_hourly_mv;
DROP TABLE IF EXISTS source_hourly;
DROP TABLE IF EXISTS topic_hourly_mv;
DROP TABLE IF EXISTS topic_hourly;
DROP TABLE IF EXISTS late_events;
ALTER TABLE sentiment_windows DROP COLUMN final;
ALTER TABLE events DROP COLUMN redactions;
ALTER TABLE events DROP COLUMN lang_detected;
