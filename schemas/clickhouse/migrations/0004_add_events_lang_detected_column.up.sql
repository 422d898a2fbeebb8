-- 1 when the language was detected with confidence; 0 when the provider gave it or it was
-- assumed. ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: one ALTER per migration, so an
-- interrupted migration never leaves half its statements applied.
ALTER TABLE events ADD COLUMN lang_detected UInt8 COMMENT '1 when detected with confidence, 0 when given by the provider or assumed' AFTER lang;
