import type { HistoryEvent } from "../../admin-api";
import type { Tier } from "./schema";

/** Where a ledger event came from; `(source, source_event_id)` is unique. */
export type Source = "admin" | "stripe" | "payment" | "kv";

/**
 * One change to one entitlement. `sourceRef` names the entitlement: each Stripe subscription or payment
 * intent, each Standard-Webhooks subscription or purchase, each admin grant is its own (docs/ledger.md).
 * A revocation without `sourceRef` ends every unrevoked source of that tier or SKU.
 */
export type Change =
  | {
      type: "grant" | "renew";
      entitlement: "subscription";
      tier: Tier;
      sourceRef: string;
      expiresAt?: Date;
      /** Where a period without `expiresAt` starts: this source's expiry, or the user's latest (admin grants). */
      stackOn?: "source" | "user";
      /** An admin grant's reason, when given. */
      reason?: string;
    }
  | { type: "grant"; entitlement: "purchase"; sku: string; sourceRef: string; reason?: string }
  | { type: "cancel"; entitlement: "subscription"; tier?: Tier; sourceRef: string; endsAt: Date }
  | { type: "revoke"; entitlement: "subscription"; tier?: Tier; sourceRef?: string; reason: string }
  | { type: "revoke"; entitlement: "purchase"; sku?: string; sourceRef?: string; reason: string };

/** A change with its origin: the id the source gave it makes a redelivery a no-op. */
export type LedgerRecord = {
  userId: string;
  source: Source;
  sourceEventId: string;
  /** The audit actor: "admin", "stripe", "payment". */
  actor: string;
  requestId?: string;
  /** SHA-256 of an admin request, so that a reused Idempotency-Key with another body is told apart. */
  requestHash?: string;
  change: Change;
};

/** A row of `ledger_events` as D1 returns it. */
export type EventRow = {
  id: number;
  user_id: string;
  type: string;
  entitlement: string;
  tier: string | null;
  sku: string | null;
  expires_at: string | null;
  reason: string | null;
  source: string;
  source_ref: string | null;
  source_event_id: string;
  request_hash: string | null;
  created_at: string;
};

/** Maps a `ledger_events` row to its public shape. */
export function toHistoryEvent(row: EventRow): HistoryEvent {
  const event: HistoryEvent = {
    id: row.id,
    type: row.type,
    entitlement: row.entitlement,
    source: row.source,
    source_event_id: row.source_event_id,
    created_at: row.created_at,
  };
  if (row.source_ref !== null) event.source_ref = row.source_ref;
  if (row.tier !== null) event.tier = row.tier;
  if (row.sku !== null) event.sku = row.sku;
  if (row.expires_at !== null) event.expires_at = row.expires_at;
  if (row.reason !== null) event.reason = row.reason;
  return event;
}
