-- One row per text that passed validation, with its topics and (when scored) its sentiment.
-- Re-delivery after a crash writes the same event_id again: ReplacingMergeTree keeps the row with
-- the highest `version`, so SELECT ... FINAL (or argMax by version) never double counts.
CREATE TABLE IF NOT EXISTS events
(
    event_id String COMMENT 'source + ":" + id: unique across sources',
    source LowCardinality(String) COMMENT 'feed or outlet that published the text',
    source_topic LowCardinality(String) COMMENT 'Kafka topic it arrived on (news.raw, social.raw)',
    published_at DateTime('UTC') COMMENT 'publication time given by the source (event time)',
    ingested_at DateTime('UTC') COMMENT 'when finpulse validated it',
    lang LowCardinality(String) COMMENT 'ISO 639-1 language, detected or given',
    title String COMMENT 'headline, empty when none',
    text String COMMENT 'normalised text, personal data redacted for social sources',
    url String COMMENT 'link to the original, empty when none',
    author String COMMENT 'author or account, empty when none',
    reach Float64 COMMENT 'audience of the post or outlet, 0 when unknown',
    tickers Array(String) COMMENT 'symbols tagged by the provider',
    topics Array(String) COMMENT 'topics found: tickers (AAPL) and themes (theme:earnings)',
    content_hash UInt64 COMMENT 'hash of the normalised text, for near-repeat detection',
    duplicate_of String COMMENT 'event_id of the earlier copy of this story, empty if first',
    scored UInt8 COMMENT '1 when a sentiment model scored it; 0 for uncovered languages',
    label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1) COMMENT 'predicted class',
    p_negative Float32 COMMENT 'model probability of negative',
    p_neutral Float32 COMMENT 'model probability of neutral',
    p_positive Float32 COMMENT 'model probability of positive',
    score Float32 COMMENT 'p_positive - p_negative, in [-1, 1]',
    model_version String COMMENT 'model name and version that scored it',
    kafka_partition UInt32 COMMENT 'partition of the source record',
    kafka_offset UInt64 COMMENT 'offset of the source record',
    version UInt64 COMMENT 'write time in ns: the latest write of an event_id wins'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(published_at)
ORDER BY (source, event_id);
