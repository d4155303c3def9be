-- Relay keys and metered usage (docs/metering.md documents every column).

-- One row per relay key. The secret itself is never stored: only its SHA-256.
CREATE TABLE relay_keys (
  id                         TEXT PRIMARY KEY,
  name                       TEXT NOT NULL,
  secret_hash                TEXT NOT NULL UNIQUE,
  scopes                     TEXT NOT NULL,
  user_id                    TEXT,
  models                     TEXT,
  monthly_token_budget       INTEGER,
  monthly_cost_budget_micros INTEGER,
  rate_limit_per_minute      INTEGER,
  expires_at                 TEXT,
  created_at                 TEXT NOT NULL,
  revoked_at                 TEXT
);

-- What each subject used, per UTC day and model. Written by the subject's Meter Durable Object, which owns
-- the totals and writes them whole (not as increments), so a repeated write changes nothing.
CREATE TABLE usage_daily (
  day               TEXT    NOT NULL,
  subject           TEXT    NOT NULL,
  model             TEXT    NOT NULL,
  requests          INTEGER NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost_micros       INTEGER NOT NULL,
  PRIMARY KEY (day, subject, model)
);
CREATE INDEX usage_daily_by_subject ON usage_daily (subject, day);
