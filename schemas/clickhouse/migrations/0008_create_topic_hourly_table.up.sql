-- Hourly volume and sentiment per topic (rollup of events, filled by topic_hourly_mv). Counts are
-- distinct event ids (uniqExact), so an event written twice counts once; the mean score averages
-- rows and weighs an event written twice (only after a crash) twice.
CREATE TABLE IF NOT EXISTS topic_hourly
(
    topic String COMMENT 'ticker or theme',
    hour DateTime('UTC') COMMENT 'start of the hour (event time)',
    texts AggregateFunction(uniqExact, String) COMMENT 'scored texts: uniqExactMerge(texts)',
    negative AggregateFunction(uniqExactIf, String, UInt8) COMMENT 'negative texts: uniqExactIfMerge(negative)',
    neutral AggregateFunction(uniqExactIf, String, UInt8) COMMENT 'neutral texts: uniqExactIfMerge(neutral)',
    positive AggregateFunction(uniqExactIf, String, UInt8) COMMENT 'positive texts: uniqExactIfMerge(positive)',
    sources AggregateFunction(uniq, String) COMMENT 'distinct sources: uniqMerge(sources)',
    score AggregateFunction(avg, Float32) COMMENT 'mean score: avgMerge(score)'
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (topic, hour);
