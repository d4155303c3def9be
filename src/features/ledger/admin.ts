import type { Context } from "hono";
import type { HistoryEvent } from "../../admin-api";
import type { AppEnv } from "../../env";
import { InternalError, InvalidRequest, RelayError } from "../../errors";
import { sha256Hex } from "../../lib/constant-time";
import { type Change, toHistoryEvent } from "./change";
import type { Ledger } from "./kv-import";
import { recordChange } from "./record";
import { findEvent } from "./store";

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,200}$/;

/** What an admin's grant or revocation did: recorded now, or recorded by an earlier request with the same key. */
export type AdminOutcome = { event: HistoryEvent; replayed: boolean };

/** An admin request: the change, and the validated body it came from (what a reused key is compared on). */
export type AdminChange = { userId: string; change: Change; body: unknown };

/** 422 for an Idempotency-Key sent again with another body (IETF draft-ietf-httpapi-idempotency-key-header §2.7). */
export class IdempotencyKeyReused extends RelayError {
  constructor() {
    super(422, "idempotency_key_reused", "Idempotency-Key: already used for a different request");
  }
}

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

/** The source of an admin grant: each grant is an entitlement of its own. */
export function adminSourceRef(eventId: string): string {
  return `admin:${eventId}`;
}

/** SHA-256 of the validated request body, the fingerprint a reused Idempotency-Key is checked against. */
function fingerprint(body: unknown): Promise<string> {
  return sha256Hex(JSON.stringify(body));
}

/**
 * The change recorded earlier under this event id, when the same request is sent again; undefined if none.
 * The same key with any other body (another user, SKU, expiry or reason) is a 422 and changes nothing.
 */
export async function replayOf(
  ledger: Ledger,
  eventId: string,
  request: AdminChange,
): Promise<AdminOutcome | undefined> {
  const prior = await findEvent(ledger.db, "admin", eventId);
  if (prior === null) return undefined;
  if (prior.request_hash !== (await fingerprint(request.body))) throw new IdempotencyKeyReused();
  return { event: toHistoryEvent(prior), replayed: true };
}

/** Records an admin change once per event id; two requests racing with one key both answer the one event. */
export async function recordAdminChange(
  ledger: Ledger,
  request: AdminChange,
  eventId: string,
  requestId: string,
  now: Date,
): Promise<AdminOutcome> {
  const record = {
    userId: request.userId,
    source: "admin" as const,
    sourceEventId: eventId,
    actor: "admin",
    requestId,
    requestHash: await fingerprint(request.body),
    change: request.change,
  };
  const outcome = await recordChange(ledger, record, now);
  if (outcome.status === "applied") return { event: outcome.event, replayed: false };
  const raced = await replayOf(ledger, eventId, request);
  // Without an Idempotency-Key the event id is the request id: a duplicate would mean a broken id generator.
  if (!raced) throw new InternalError();
  return raced;
}
