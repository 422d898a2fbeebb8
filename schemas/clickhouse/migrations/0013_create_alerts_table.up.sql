-- Alerts raised by the rules on closed windows: one row per (topic, rule, kind, window). The id
-- is a hash of those, so an alert sent again after a restart replaces its row.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id String COMMENT 'hash of topic, rule, kind and window: stable across replays',
    topic String COMMENT 'ticker or theme',
    rule LowCardinality(String) COMMENT 'negative_surge, volume_spike or sentiment_reversal',
    kind LowCardinality(String) COMMENT 'alert, escalation (the condition got worse) or resolution (it ended)',
    severity LowCardinality(String) COMMENT 'warning or critical (for a resolution: the severity that ended)',
    window_start DateTime('UTC') COMMENT 'start of the window judged',
    window_seconds UInt32 COMMENT 'length of the window judged',
    value Float64 COMMENT 'what the rule measured: negative share, texts, or mean score',
    baseline Float64 COMMENT 'the topic''s own baseline of that measure before this window',
    threshold Float64 COMMENT 'the value at which the rule would give a warning',
    z Float64 COMMENT 'distance from the baseline in baseline deviations',
    created_at DateTime('UTC') COMMENT 'when the worker raised it',
    evidence String COMMENT 'JSON: window stats, baseline, threshold, z, ids of the most negative texts',
    version UInt64 COMMENT 'write time in ns'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (topic, window_start, alert_id);
