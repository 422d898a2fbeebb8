-- Fills source_hourly from every insert into events.
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
