-- How many e-mail addresses and phone numbers were redacted from the text (social sources).
ALTER TABLE events ADD COLUMN redactions UInt16 COMMENT 'e-mail addresses and phone numbers replaced in title and text' AFTER model_version;
