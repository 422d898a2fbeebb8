-- Evidence for alerts and analysts: the texts that pulled a window down.
ALTER TABLE sentiment_windows ADD COLUMN most_negative Array(String) COMMENT 'event ids of the most negative texts (up to 5), most negative first' AFTER final;
