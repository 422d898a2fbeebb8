-- Per-topic sentiment aggregates per event-time window. A window emitted again (a late record,
-- a replay) replaces the earlier row for the same (topic, window_seconds, window_start).
CREATE TABLE IF NOT EXISTS sentiment_windows
(
    topic String COMMENT 'ticker symbol (AAPL) or theme (theme:earnings)',
    window_start DateTime('UTC') COMMENT 'inclusive start of the window',
    window_seconds UInt32 COMMENT 'window length: 60 tumbling, 900 or 3600 hopping',
    n UInt32 COMMENT 'scored texts in the window',
    n_negative UInt32 COMMENT 'texts labelled negative',
    n_neutral UInt32 COMMENT 'texts labelled neutral',
    n_positive UInt32 COMMENT 'texts labelled positive',
    score_sum Float64 COMMENT 'sum of scores (p_positive - p_negative)',
    score_mean Float64 COMMENT 'score_sum / n',
    reach_sum Float64 COMMENT 'sum of reach over the texts',
    reach_weighted_score Float64 COMMENT 'sum(score * reach) / reach_sum; score_mean when reach_sum = 0',
    negative_share Float64 COMMENT 'n_negative / n',
    emitted_at DateTime('UTC') COMMENT 'when the worker emitted this state of the window',
    version UInt64 COMMENT 'emit time in ns: the latest state of a window wins'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (topic, window_seconds, window_start);
