-- Alert subscriptions, written by `finpulse subscriptions` and the HTTP API, read by the workers
-- (every few seconds: changes apply without a restart). A change is a new row with a higher
-- version; a deletion is a row with status 'deleted'. Read with FINAL.
CREATE TABLE IF NOT EXISTS subscriptions
(
    subscription_id String COMMENT 'sub_ and 16 hex digits',
    name String COMMENT 'a label for people',
    topics Array(String) COMMENT 'topics or patterns such as theme:*; empty = every topic',
    rules Array(String) COMMENT 'rules wanted; empty = every rule',
    min_severity LowCardinality(String) COMMENT 'warning or critical',
    kinds Array(String) COMMENT 'alert, escalation, resolution',
    channel LowCardinality(String) COMMENT 'webhook or kafka',
    target String COMMENT 'webhook URL or Kafka topic',
    secret String COMMENT 'HMAC key of the webhook signatures (needed in clear to sign)',
    status LowCardinality(String) COMMENT 'active, paused or deleted',
    created_at DateTime('UTC') COMMENT 'when it was added',
    updated_at DateTime('UTC') COMMENT 'when it last changed',
    version UInt64 COMMENT 'change time in ns: the newest row wins'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY subscription_id;
