-- A closed window is written again, final, when texts within the allowed lateness arrive after it
-- closed; ReplacingMergeTree(version) keeps the newest row, and this column says which amendment it is.
ALTER TABLE sentiment_windows ADD COLUMN amendments UInt32 COMMENT 'times this final window was written again for texts that came after it closed; 0 for its first final row' AFTER final;
