-- Back to the three sentiments, with the rows that say 'unscored' relabelled 'neutral' (what the
-- code before 0016 wrote). ClickHouse drops an enum value without looking at the data, and rows
-- still holding it would make events unreadable, so they are rewritten first; 18.16 cannot
-- UPDATE an Enum column, hence the detour through Int8 (same storage; -128 is 'unscored').
-- Every statement can run again: an interrupted rollback is simply run again.
ALTER TABLE events MODIFY COLUMN label Int8;

ALTER TABLE events UPDATE label = 0 WHERE label = -128;

-- The UPDATE above runs in the background: if this check fails, rows still say 'unscored';
-- run the rollback again in a few seconds.
SELECT throwIf(count() > 0) FROM events WHERE label = -128;

ALTER TABLE events
    MODIFY COLUMN label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
    COMMENT COLUMN label 'predicted class';
