ALTER TABLE events DROP COLUMN lang_detected;
