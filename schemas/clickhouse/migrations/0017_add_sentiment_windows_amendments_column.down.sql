ALTER TABLE sentiment_windows DROP COLUMN amendments;
