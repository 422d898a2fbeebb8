-- finpulse SQL cookbook: ad-hoc questions over the pipeline's tables.
-- Run one with: clickhouse-client --port 19000 -d finpulse --multiquery < schemas/clickhouse/cookbook.sql
-- or paste a query. Every query here runs in the tests on ClickHouse 18.16 and on a current release.
-- Tables written again after a crash or a retry (events, sentiment_windows, deadletter,
-- late_events) are ReplacingMergeTree: read them with FINAL to count each record once.

-- name: latest_quarter_hour_per_topic
-- The latest closed 15-minute window of each topic, busiest first.
SELECT topic, window_start, n, n_negative, n_neutral, n_positive,
    round(score_mean, 3) AS score_mean, round(negative_share, 3) AS negative_share
FROM
(
    SELECT topic, window_start, n, n_negative, n_neutral, n_positive, score_mean, negative_share
    FROM sentiment_windows FINAL
    WHERE window_seconds = 900 AND final = 1 AND window_start >= now() - INTERVAL 1 DAY
    ORDER BY topic, window_start DESC
    LIMIT 1 BY topic
)
ORDER BY n DESC
LIMIT 20;

-- name: minute_timeline_of_a_ticker
-- One ticker's sentiment minute by minute over the last 6 hours (open minutes included).
SELECT window_start, n, round(score_mean, 3) AS score_mean,
    round(reach_weighted_score, 3) AS reach_weighted, final
FROM sentiment_windows FINAL
WHERE topic = 'TSLA' AND window_seconds = 60 AND window_start >= now() - INTERVAL 6 HOUR
ORDER BY window_start;

-- name: most_negative_texts_of_a_topic
-- The most negative texts about a topic in the last hour, with where they came from.
SELECT published_at, source, round(score, 3) AS score, substring(text, 1, 120) AS text, url
FROM events FINAL
WHERE has(topics, 'TSLA') AND scored = 1 AND published_at >= now() - INTERVAL 1 HOUR
ORDER BY score
LIMIT 10;

-- name: hourly_volume_and_sentiment_per_topic
-- Hourly volume and sentiment per topic over the last day, from the rollup (fast on long ranges).
SELECT topic, hour, uniqExactMerge(texts) AS texts, uniqExactIfMerge(negative) AS negative,
    uniqExactIfMerge(positive) AS positive, uniqMerge(sources) AS sources,
    round(avgMerge(score), 3) AS mean_score
FROM topic_hourly
WHERE hour >= now() - INTERVAL 1 DAY
GROUP BY topic, hour
ORDER BY topic, hour;

-- name: topics_turning_negative
-- Topics whose negative share in the last hour is well above their own last 24 hours.
SELECT topic, recent_texts, round(recent_negative_share, 3) AS recent_negative_share,
    round(day_negative_share, 3) AS day_negative_share
FROM
(
    SELECT topic,
        sumIf(n, window_start >= now() - INTERVAL 1 HOUR) AS recent_texts,
        sumIf(n_negative, window_start >= now() - INTERVAL 1 HOUR) / greatest(recent_texts, 1) AS recent_negative_share,
        sum(n_negative) / greatest(sum(n), 1) AS day_negative_share
    FROM sentiment_windows FINAL
    WHERE window_seconds = 60 AND window_start >= now() - INTERVAL 1 DAY
    GROUP BY topic
)
WHERE recent_texts >= 5 AND recent_negative_share > day_negative_share + 0.2
ORDER BY recent_negative_share - day_negative_share DESC;

-- name: feeds_and_languages_per_hour
-- How much each feed sends, in which languages, how much is scored and how much repeats others.
SELECT source, lang, hour, uniqExactMerge(texts) AS texts, uniqExactIfMerge(scored) AS scored,
    uniqExactIfMerge(repeats) AS near_repeats
FROM source_hourly
WHERE hour >= now() - INTERVAL 1 DAY
GROUP BY source, lang, hour
ORDER BY hour, source, lang;

-- name: unscored_texts_by_language
-- Texts kept but not scored because the model does not cover their language.
SELECT lang, count() AS texts, any(substring(text, 1, 80)) AS example
FROM events FINAL
WHERE scored = 0 AND published_at >= now() - INTERVAL 1 DAY
GROUP BY lang
ORDER BY texts DESC;

-- name: deadletter_reasons
-- Why records were rejected, per input topic, with one example each.
SELECT source_topic, reason_code, count() AS records, any(reason) AS example_reason
FROM deadletter FINAL
WHERE received_at >= now() - INTERVAL 1 DAY
GROUP BY source_topic, reason_code
ORDER BY records DESC;

-- name: late_texts_per_window
-- Texts that came after their window had closed, per topic and minute.
SELECT topic, window_start, count() AS late_texts, max(arrived_at - published_at) AS max_delay_s
FROM late_events FINAL
WHERE window_start >= now() - INTERVAL 1 DAY
GROUP BY topic, window_start
ORDER BY late_texts DESC
LIMIT 20;

-- name: amended_windows
-- Closed windows written again because texts came after they closed (within the allowed lateness),
-- most amended first: where event time was late, and how much the final numbers moved.
SELECT topic, window_seconds, window_start, amendments, n, round(score_mean, 3) AS score_mean
FROM sentiment_windows FINAL
WHERE final = 1 AND amendments > 0 AND window_start >= now() - INTERVAL 1 DAY
ORDER BY amendments DESC, window_start DESC
LIMIT 20;

-- name: stories_carried_by_most_feeds
-- Stories told by several feeds: the first event and how many near-repeats followed it.
SELECT duplicate_of AS first_event, count() AS repeats, groupUniqArray(source) AS other_sources
FROM events FINAL
WHERE duplicate_of != '' AND published_at >= now() - INTERVAL 1 DAY
GROUP BY duplicate_of
ORDER BY repeats DESC
LIMIT 10;

-- name: ingest_delay_per_source
-- From publication to ingestion, per source: median and 99th percentile in seconds.
SELECT source, count() AS texts,
    quantile(0.5)(ingested_at - published_at) AS p50_s,
    quantile(0.99)(ingested_at - published_at) AS p99_s
FROM events FINAL
WHERE published_at >= now() - INTERVAL 1 DAY
GROUP BY source
ORDER BY texts DESC;

-- name: recent_alerts
-- Alerts of the last day, newest first, with what the rule saw (the evidence is JSON).
SELECT created_at, topic, rule, kind, severity, window_start, round(value, 3) AS value,
    round(baseline, 3) AS baseline, round(z, 1) AS z,
    visitParamExtractRaw(evidence, 'most_negative') AS most_negative_texts
FROM alerts FINAL
WHERE created_at >= now() - INTERVAL 1 DAY
ORDER BY created_at DESC
LIMIT 50;

-- name: delivery_health_per_subscription
-- Per subscription over the last day: alerts delivered, retried attempts, dead-lettered, and how
-- long a successful attempt took; with the latest error. A dead receiver shows at once.
SELECT d.subscription_id, any(s.target) AS target, any(s.status) AS status,
    countIf(outcome = 'delivered') AS delivered, countIf(outcome = 'retry') AS retries,
    countIf(outcome = 'dead_letter') AS dead_lettered,
    round(quantileIf(0.5)(duration_ms, outcome = 'delivered'), 1) AS p50_ms,
    argMax(error, attempted_at) AS last_error
FROM deliveries AS d FINAL
LEFT JOIN (SELECT subscription_id, target, status FROM subscriptions FINAL) AS s
    USING subscription_id
WHERE attempted_at >= now() - INTERVAL 1 DAY
GROUP BY d.subscription_id
ORDER BY dead_lettered DESC, retries DESC;
