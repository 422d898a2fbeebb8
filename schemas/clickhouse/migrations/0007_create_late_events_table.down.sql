DROP TABLE IF EXISTS late_events;
