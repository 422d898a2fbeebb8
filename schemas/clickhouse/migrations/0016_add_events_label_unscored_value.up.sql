-- Texts no model scored (scored = 0: a language no model covers) were stored with label
-- 'neutral', so GROUP BY label counted them as neutral. They now say 'unscored'. An enum value,
-- not Nullable: adding a value changes only metadata (no rewrite of events), and the readers keep
-- their types; a Nullable label would turn topic_hourly_mv's states into
-- AggregateFunction(uniqExactIf, String, Nullable(UInt8)), which current ClickHouse refuses to
-- write into topic_hourly (the insert into events fails). -128, far from the -1/0/1 of the
-- sentiments, so arithmetic on the enum's numbers cannot pass an unscored text off as a mild one.
-- One ALTER with two commands: the comment changes with the type (18.16 ignores a COMMENT given
-- in MODIFY COLUMN).
ALTER TABLE events
    MODIFY COLUMN label Enum8('unscored' = -128, 'negative' = -1, 'neutral' = 0, 'positive' = 1),
    COMMENT COLUMN label 'predicted class; unscored when no model covers the language (scored = 0)';
