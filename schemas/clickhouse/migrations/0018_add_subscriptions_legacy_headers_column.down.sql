ALTER TABLE subscriptions DROP COLUMN legacy_headers;
