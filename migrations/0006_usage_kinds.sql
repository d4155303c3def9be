-- Usage rows say how many of their requests had no price (their cost is unknown, never $0) and how many were
-- charged an estimate (a stream that ended before the upstream reported its usage). docs/metering.md.
ALTER TABLE usage_daily ADD COLUMN unpriced_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN estimated_requests INTEGER NOT NULL DEFAULT 0;
