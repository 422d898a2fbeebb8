-- Scored texts that arrived after their one-minute window had closed (event time + lateness):
-- in no window's counts, counted here instead. One row per (topic, text).
CREATE TABLE IF NOT EXISTS late_events
(
    topic String COMMENT 'topic the text would have counted for',
    event_id String COMMENT 'events.event_id of the text',
    published_at DateTime('UTC') COMMENT 'event time of the text',
    window_start DateTime('UTC') COMMENT 'start of the one-minute window it belonged to',
    arrived_at DateTime('UTC') COMMENT 'when the window stage saw it',
    watermark DateTime('UTC') COMMENT 'the clock windows had been closed up to at that moment',
    version UInt64 COMMENT 'write time in ns'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (topic, window_start, event_id);
