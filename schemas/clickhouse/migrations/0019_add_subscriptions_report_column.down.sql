ALTER TABLE subscriptions DROP COLUMN report;
