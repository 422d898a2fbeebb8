ALTER TABLE sentiment_windows DROP COLUMN most_negative;
