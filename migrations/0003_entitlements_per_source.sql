-- Entitlements per payment source (docs/ledger.md). Until now `subscriptions` held one row per user and
-- `purchases` one row per user and SKU, so every source wrote into the same row and one payment could end
-- what another had paid for. From here on each source (a Stripe subscription or payment intent, a
-- Standard-Webhooks subscription or purchase, an admin grant, a KV import) is its own row; access is the union.

CREATE TABLE entitlements (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id       TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('subscription', 'purchase')),
  tier          TEXT CHECK (tier IN ('monthly', 'quarterly', 'yearly')),
  sku           TEXT,
  source        TEXT NOT NULL CHECK (source IN ('admin', 'stripe', 'payment', 'kv', 'legacy')),
  source_ref    TEXT NOT NULL,
  granted_at    TEXT NOT NULL,
  expires_at    TEXT,
  revoked_at    TEXT,
  revoke_reason TEXT,
  updated_at    TEXT NOT NULL,
  last_event_id INTEGER NOT NULL REFERENCES ledger_events (id),
  UNIQUE (user_id, source_ref),
  CHECK ((kind = 'subscription' AND tier IS NOT NULL AND expires_at IS NOT NULL AND sku IS NULL)
      OR (kind = 'purchase' AND sku IS NOT NULL AND tier IS NULL AND expires_at IS NULL))
);

-- Carry today's rows over. A row is named after the source that last wrote it when that source is known
-- without doubt; a Stripe row whose user holds several Stripe ids of that kind cannot be attributed, and
-- keeps the name `legacy:…` (it still grants exactly what it granted before).
INSERT INTO entitlements
  (user_id, kind, tier, sku, source, source_ref, granted_at, expires_at, revoked_at, revoke_reason, updated_at,
   last_event_id)
SELECT s.user_id, 'subscription', s.tier, NULL,
  CASE WHEN e.source <> 'stripe' THEN e.source WHEN r.refs = 1 THEN 'stripe' ELSE 'legacy' END,
  CASE
    WHEN e.source = 'stripe' AND r.refs = 1 THEN 'stripe:' || r.only_ref
    WHEN e.source = 'stripe' THEN 'legacy:subscription'
    WHEN e.source = 'payment' THEN 'payment:subscription'
    WHEN e.source = 'kv' THEN 'kv:subscription'
    ELSE 'admin:' || e.source_event_id
  END,
  (SELECT min(created_at) FROM ledger_events WHERE user_id = s.user_id AND entitlement = 'subscription'),
  s.expires_at, s.revoked_at, s.revoke_reason, s.updated_at, s.last_event_id
FROM subscriptions AS s
JOIN ledger_events AS e ON e.id = s.last_event_id
LEFT JOIN (
  SELECT user_id, count(*) AS refs, max(stripe_id) AS only_ref FROM stripe_refs
  WHERE kind = 'subscription' GROUP BY user_id
) AS r ON r.user_id = s.user_id;

INSERT INTO entitlements
  (user_id, kind, tier, sku, source, source_ref, granted_at, expires_at, revoked_at, revoke_reason, updated_at,
   last_event_id)
SELECT p.user_id, 'purchase', NULL, p.sku,
  CASE WHEN e.source <> 'stripe' THEN e.source WHEN r.refs = 1 THEN 'stripe' ELSE 'legacy' END,
  CASE
    WHEN e.source = 'stripe' AND r.refs = 1 THEN 'stripe:' || r.only_ref
    WHEN e.source = 'stripe' THEN 'legacy:purchase:' || p.sku
    WHEN e.source = 'payment' THEN 'payment:sku:' || p.sku
    WHEN e.source = 'kv' THEN 'kv:purchase:' || p.sku
    ELSE 'admin:' || e.source_event_id
  END,
  p.purchased_at, NULL, p.revoked_at, p.revoke_reason, p.updated_at, p.last_event_id
FROM purchases AS p
JOIN ledger_events AS e ON e.id = p.last_event_id
LEFT JOIN (
  SELECT user_id, sku, count(*) AS refs, max(stripe_id) AS only_ref FROM stripe_refs
  WHERE kind = 'payment_intent' AND sku IS NOT NULL GROUP BY user_id, sku
) AS r ON r.user_id = p.user_id AND r.sku = p.sku;

CREATE INDEX entitlements_by_user ON entitlements (user_id, kind);

-- Stripe ids now name the entitlement they paid for: a cancellation or refund ends that one only.
ALTER TABLE stripe_refs ADD COLUMN source_ref TEXT;
UPDATE stripe_refs SET source_ref = (
  SELECT source_ref FROM entitlements AS n
  WHERE n.user_id = stripe_refs.user_id
    AND ((stripe_refs.sku IS NOT NULL AND n.kind = 'purchase' AND n.sku = stripe_refs.sku)
      OR (stripe_refs.sku IS NULL AND n.kind = 'subscription'))
) WHERE kind IN ('subscription', 'payment_intent');

-- Events name the entitlement they changed, and admin events the hash of the request (Idempotency-Key).
-- Each old event changed the one row its user had for that subscription or SKU, so that row's name is its
-- source. The append-only triggers are lifted for this one backfill and put back unchanged.
ALTER TABLE ledger_events ADD COLUMN source_ref TEXT;
ALTER TABLE ledger_events ADD COLUMN request_hash TEXT;
DROP TRIGGER ledger_events_no_update;
UPDATE ledger_events SET source_ref = (
  SELECT n.source_ref FROM entitlements AS n
  WHERE n.user_id = ledger_events.user_id AND n.kind = ledger_events.entitlement
    AND (n.kind = 'subscription' OR n.sku = ledger_events.sku)
);
CREATE TRIGGER ledger_events_no_update BEFORE UPDATE ON ledger_events
BEGIN
  SELECT RAISE(ABORT, 'ledger_events is append-only');
END;

DROP TABLE subscriptions;
DROP TABLE purchases;
