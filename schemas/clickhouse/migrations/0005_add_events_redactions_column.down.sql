ALTER TABLE events DROP COLUMN redactions;
