-- Hourly volume per source and language, scored or not (rollup of events, filled by
-- source_hourly_mv): how much each feed sends, in which languages, how much of it is repeats.
CREATE TABLE IF NOT EXISTS source_hourly
(
    source LowCardinality(String) COMMENT 'feed or network',
    lang LowCardinality(String) COMMENT 'ISO 639-1 language',
    hour DateTime('UTC') COMMENT 'start of the hour (event time)',
    texts AggregateFunction(uniqExact, String) COMMENT 'texts kept: uniqExactMerge(texts)',
    scored AggregateFunction(uniqExactIf, String, UInt8) COMMENT 'texts scored: uniqExactIfMerge(scored)',
    repeats AggregateFunction(uniqExactIf, String, UInt8) COMMENT 'near-repeats of earlier stories: uniqExactIfMerge(repeats)'
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (source, lang, hour);
