-- Every attempt to deliver an alert to a subscriber: delivered, retry (with the time of the next
-- attempt) or dead_letter (the last attempt failed; the alert is on the alert dead-letter topic).
CREATE TABLE IF NOT EXISTS deliveries
(
    delivery_id String COMMENT 'hash of alert and subscription: the same for every attempt',
    alert_id String COMMENT 'the alert delivered (alerts.alert_id)',
    subscription_id String COMMENT 'the subscriber (subscriptions.subscription_id)',
    channel LowCardinality(String) COMMENT 'webhook or kafka',
    target String COMMENT 'webhook URL or Kafka topic',
    attempt UInt16 COMMENT '1 for the first try',
    outcome LowCardinality(String) COMMENT 'delivered, retry, dead_letter, or cancelled (paused or deleted meanwhile)',
    status_code UInt16 COMMENT 'HTTP status of the answer; 0 when none (or a Kafka target)',
    error String COMMENT 'why the attempt failed; empty when delivered',
    duration_ms Float64 COMMENT 'time the attempt took',
    attempted_at DateTime('UTC') COMMENT 'when the attempt started',
    next_attempt_at DateTime('UTC') COMMENT 'when the next attempt is due (outcome retry)',
    version UInt64 COMMENT 'write time in ns'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(attempted_at)
ORDER BY (subscription_id, delivery_id, attempt);
