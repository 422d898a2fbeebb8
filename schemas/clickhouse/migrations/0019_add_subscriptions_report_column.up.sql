-- A subscription may have its reports scheduled (stream/delivery/schedule.py): the schedule as a
-- JSON object, empty for none. JSON text, not columns: 18.16 has no JSON type, and the deliverer
-- is its only reader.
ALTER TABLE subscriptions ADD COLUMN report String DEFAULT '' COMMENT 'report schedule as JSON (every, at, since, format, topics, from_s); empty: no reports' AFTER legacy_headers;
