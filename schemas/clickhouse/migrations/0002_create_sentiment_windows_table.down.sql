DROP TABLE IF EXISTS sentiment_windows;
