-- Records that failed validation, with where they came from and why. Keyed by their Kafka
-- position, so a record dead-lettered twice (after a restart) is one row after dedup.
CREATE TABLE IF NOT EXISTS deadletter
(
    source_topic LowCardinality(String) COMMENT 'Kafka topic the record arrived on',
    kafka_partition UInt32 COMMENT 'its partition',
    kafka_offset UInt64 COMMENT 'its offset',
    received_at DateTime('UTC') COMMENT 'when finpulse rejected it',
    reason_code LowCardinality(String) COMMENT 'machine-readable reason (not_json, missing_field, ...)',
    reason String COMMENT 'human-readable reason',
    raw String COMMENT 'the raw value, or a safe excerpt of it when large or not UTF-8',
    raw_size UInt32 COMMENT 'size of the raw value in bytes',
    version UInt64 COMMENT 'write time in ns'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(received_at)
ORDER BY (source_topic, kafka_partition, kafka_offset);
