-- Open windows are written as they fill (final = 0) and once more when they close (final = 1).
ALTER TABLE sentiment_windows ADD COLUMN final UInt8 COMMENT '1 once the window has closed; 0 for the running state of an open window' AFTER negative_share;
