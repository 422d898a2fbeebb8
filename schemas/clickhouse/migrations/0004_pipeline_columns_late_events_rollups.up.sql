-- What the streaming pipeline adds: language and redaction facts on events, open/closed state of
-- windows, a table of late records, and rollups for the common questions.
ALTER TABLE events ADD COLUMN lang_detected UInt8 COMMENT '1 when detected with confidence, 0 when given by the provider or assumed' AFTER lang;
ALTER TABLE events ADD COLUMN redactions UInt16 COMMENT 'e-mail addresses and phone numbers replaced in title and text' AFTER model_version;
ALTER TABLE sentiment_windows ADD COLUMN final UInt8 COMMENT '1 once the window has closed; 0 for the running state of an open window' AFTER negative_share;

-- Scored texts that arrived after their one-minute window had closed (event time + lateness):
-- not in any window's counts, counted here. One row per (topic, text).
CREATE TABLE IF NOT EXISTS late_events
(
    topic String COMMENT 'topic the text would have counted for',
    event_id String COMMENT 'events.event_id',
    published_at DateTime('UTC') COMMENT 'event time of the text',
    window_start DateTime('UTC') COMMENT 'start of the one-minute window it belonged to',
    arrived_at DateTime('UTC') COMMENT 'when the window stage saw it',
    watermark DateTime('UTC') COMMENT 'the window clock at that moment',
    version UInt64 COMMENT 'write time in ns'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (topic, window_start, event_id);

-- Hourly volume and sentiment per topic, kept up to date on every insert into events. Counts are
-- distinct event ids (uniqExact), so a row written twice is counted once; the mean score is an
-- average over rows and weighs a re-written row twice (rare: only after a crash).
CREATE TABLE IF NOT EXISTS topic_hourly
(
    topic String,
    hour DateTime('UTC'),
    texts AggregateFunction(uniqExact, String),
    negative AggregateFunction(uniqExactIf, String, UInt8),
    neutral AggregateFunction(uniqExactIf, String, UInt8),
    positive AggregateFunction(uniqExactIf, String, UInt8),
    sources AggregateFunction(uniq, String),
    score AggregateFunction(avg, Float32)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (topic, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS topic_hourly_mv TO topic_hourly AS
SELECT
    topic,
    toStartOfHour(published_at) AS hour,
    uniqExactState(event_id) AS texts,
    uniqExactIfState(event_id, toUInt8(label = 'negative')) AS negative,
    uniqExactIfState(event_id, toUInt8(label = 'neutral')) AS neutral,
    uniqExactIfState(event_id, toUInt8(label = 'positive')) AS positive,
    uniqState(source) AS sources,
    avgState(score) AS score
FROM events
ARRAY JOIN topics AS topic
WHERE scored = 1
GROUP BY topic, hour;

-- Hourly volume per source and language, scored or not (non-English texts are kept unscored).
CREATE TABLE IF NOT EXISTS source_hourly
(
    source LowCardinality(String),
    lang LowCardinality(String),
    hour DateTime('UTC'),
    texts AggregateFunction(uniqExact, String),
    scored AggregateFunction(uniqExactIf, String, UInt8),
    repeats AggregateFunction(uniqExactIf, String, UInt8)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (source, lang, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS source_hourly_mv TO source_hourly AS
SELECT
    source,
    lang,
    toStartOfHour(published_at) AS hour,
    uniqExactState(event_id) AS texts,
    uniqExactIfState(event_id, scored) AS scored,
    uniqExactIfState(event_id, toUInt8(duplicate_of != '')) AS repeats
FROM events
GROUP BY source, lang, hour;
