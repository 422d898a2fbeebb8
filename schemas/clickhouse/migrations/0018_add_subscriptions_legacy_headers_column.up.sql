-- Standard Webhooks signatures replace the X-Finpulse-* headers; subscriptions made before keep
-- receiving the old headers too (default 1 for the existing rows), for one release.
ALTER TABLE subscriptions ADD COLUMN legacy_headers UInt8 DEFAULT 1 COMMENT '1: also send the X-Finpulse-* signature headers (deprecated)' AFTER updated_at;
