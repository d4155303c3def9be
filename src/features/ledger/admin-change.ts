import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { InternalError, InvalidRequest } from "../../errors";
import { type Change, type EventRow, type HistoryEvent, toHistoryEvent } from "./events";
import type { Ledger } from "./kv-import";
import { recordChange } from "./record";

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,200}$/;

/** What an admin's grant or revocation did: recorded now, or recorded by an earlier request with the same key. */
export type AdminOutcome = { event: HistoryEvent; replayed: boolean };

/**
 * The event id of an admin change: `key:<Idempotency-Key>` when the client sends one, so that a retried
 * grant is applied once (as Stripe's API does), else the request id (every request is a new change).
 */
export function adminEventId(c: Context<AppEnv>): string {
  const key = c.req.header("Idempotency-Key");
  if (key === undefined) return c.get("requestId");
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new InvalidRequest("Idempotency-Key: must be 1-200 letters, digits, _ . : or -");
  }
  return `key:${key}`;
}

/** The change recorded earlier under this event id, when the same request is sent again; undefined if none. */
export async function replayOf(
  ledger: Ledger,
  eventId: string,
  userId: string,
  change: Change,
): Promise<AdminOutcome | undefined> {
  const prior = await ledger.db
    .prepare("SELECT * FROM ledger_events WHERE source = 'admin' AND source_event_id = ?")
    .bind(eventId)
    .first<EventRow>();
  if (prior === null) return undefined;
  const tier = "tier" in change ? (change.tier ?? null) : null;
  const sku = "sku" in change ? change.sku : null;
  const same =
    prior.user_id === userId &&
    prior.type === change.type &&
    prior.entitlement === change.entitlement &&
    (tier === null || prior.tier === tier) &&
    prior.sku === sku;
  if (!same) {
    throw new InvalidRequest("Idempotency-Key: already used for a different change", "idempotency_key_reused");
  }
  return { event: toHistoryEvent(prior), replayed: true };
}

/** Records an admin change once per event id; two requests racing with one key both answer the one event. */
export async function recordAdminChange(
  ledger: Ledger,
  userId: string,
  change: Change,
  eventId: string,
  requestId: string,
  now: Date,
): Promise<AdminOutcome> {
  const record = { userId, source: "admin" as const, sourceEventId: eventId, actor: "admin", requestId };
  const outcome = await recordChange(ledger, { ...record, change }, now);
  if (outcome.status === "applied") return { event: outcome.event, replayed: false };
  const raced = await replayOf(ledger, eventId, userId, change);
  // Without an Idempotency-Key the event id is the request id: a duplicate would mean a broken id generator.
  if (!raced) throw new InternalError();
  return raced;
}
