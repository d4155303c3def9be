-- Entitlement ledger (docs/ledger.md documents every column).
-- Every change is one atomic D1 batch: the event row first (its UNIQUE key makes a redelivered webhook fail
-- the whole batch), then the current-state row, Stripe id mappings and the audit row.

-- Append-only history: one row per grant, renewal, end, revocation or import.
CREATE TABLE ledger_events (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id         TEXT NOT NULL,
  type            TEXT NOT NULL CHECK (type IN ('grant', 'renew', 'cancel', 'revoke', 'import')),
  entitlement     TEXT NOT NULL CHECK (entitlement IN ('subscription', 'purchase')),
  tier            TEXT CHECK (tier IN ('monthly', 'quarterly', 'yearly')),
  sku             TEXT,
  expires_at      TEXT,
  reason          TEXT,
  source          TEXT NOT NULL CHECK (source IN ('admin', 'stripe', 'payment', 'kv')),
  source_event_id TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  UNIQUE (source, source_event_id)
);
CREATE INDEX ledger_events_by_user ON ledger_events (user_id, id);

-- The ledger never rewrites its past.
CREATE TRIGGER ledger_events_no_update BEFORE UPDATE ON ledger_events
BEGIN
  SELECT RAISE(ABORT, 'ledger_events is append-only');
END;
CREATE TRIGGER ledger_events_no_delete BEFORE DELETE ON ledger_events
BEGIN
  SELECT RAISE(ABORT, 'ledger_events is append-only');
END;

-- Current subscription of each user (at most one); status is computed from expires_at and revoked_at.
CREATE TABLE subscriptions (
  user_id       TEXT PRIMARY KEY,
  tier          TEXT NOT NULL CHECK (tier IN ('monthly', 'quarterly', 'yearly')),
  expires_at    TEXT NOT NULL,
  revoked_at    TEXT,
  revoke_reason TEXT,
  updated_at    TEXT NOT NULL,
  last_event_id INTEGER NOT NULL REFERENCES ledger_events (id)
);

-- Current purchases: one row per user and SKU, however often it was bought.
CREATE TABLE purchases (
  user_id       TEXT NOT NULL,
  sku           TEXT NOT NULL,
  purchased_at  TEXT NOT NULL,
  revoked_at    TEXT,
  revoke_reason TEXT,
  updated_at    TEXT NOT NULL,
  last_event_id INTEGER NOT NULL REFERENCES ledger_events (id),
  PRIMARY KEY (user_id, sku)
);

-- Stripe ids recorded at checkout: renewals, cancellations and refunds do not name the user.
CREATE TABLE stripe_refs (
  kind       TEXT NOT NULL CHECK (kind IN ('customer', 'subscription', 'payment_intent')),
  stripe_id  TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  tier       TEXT,
  sku        TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (kind, stripe_id)
);

-- Users whose original KV record (`user:{user_id}` in ENTITLEMENTS_KV) has been read into the ledger.
CREATE TABLE kv_imports (
  user_id       TEXT PRIMARY KEY,
  imported_at   TEXT NOT NULL,
  found         INTEGER NOT NULL,
  subscriptions INTEGER NOT NULL,
  purchases     INTEGER NOT NULL,
  skipped       INTEGER NOT NULL
);
