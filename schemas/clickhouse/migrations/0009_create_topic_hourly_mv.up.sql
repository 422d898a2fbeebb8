-- Fills topic_hourly from every insert into events.
CREATE MATERIALIZED VIEW IF NOT EXISTS topic_hourly_mv TO topic_hourly AS
SELECT
    topic,
    toStartOfHour(published_at) AS hour,
    uniqExactState(event_id) AS texts,
    uniqExactIfState(event_id, toUInt8(label = 'negative')) AS negative,
    uniqExactIfState(event_id, toUInt8(label = 'neutral')) AS neutral,
    uniqExactIfState(event_id, toUInt8(label = 'positive')) AS positive,
    uniqState(toString(source)) AS sources,
    avgState(score) AS score
FROM events
ARRAY JOIN topics AS topic
WHERE scored = 1
GROUP BY topic, hour;
