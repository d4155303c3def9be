import { auditStatement } from "../../audit/log";
import { type Change, type EventRow, type HistoryEvent, type LedgerRecord, toHistoryEvent } from "./events";
import { importFromKv, type Ledger } from "./kv-import";
import { TIER_MONTHS } from "./schema";

/** What recording a change did: applied once, or nothing because its source event id was seen before. */
export type RecordOutcome = { status: "applied"; event: HistoryEvent } | { status: "duplicate" };

type Sql = { sql: string; params: Array<string | number | null> };

const CURRENT_EXPIRY = "(SELECT expires_at FROM subscriptions WHERE user_id = ? AND revoked_at IS NULL)";
const ISO_FORMAT = "'%Y-%m-%dT%H:%M:%fZ'";

/**
 * The `expires_at` a change gives the subscription, computed inside SQLite from the current row in the same
 * transaction, so concurrent renewals never read a stale expiry (nothing is read-modify-written in JS).
 */
function expiry(userId: string, change: Change, now: string): Sql {
  if (change.entitlement !== "subscription") return { sql: "NULL", params: [] };
  switch (change.type) {
    case "grant":
    case "renew": {
      if (change.expiresAt && change.type === "grant") return { sql: "?", params: [change.expiresAt.toISOString()] };
      if (change.expiresAt) {
        const at = change.expiresAt.toISOString();
        // A late renewal never shortens what a newer one granted.
        return { sql: `max(?, coalesce(${CURRENT_EXPIRY}, ?))`, params: [at, userId, at] };
      }
      // One period from the later of now and the current expiry.
      return {
        sql: `strftime(${ISO_FORMAT}, max(?, coalesce(${CURRENT_EXPIRY}, ?)), ?)`,
        params: [now, userId, now, `+${TIER_MONTHS[change.tier]} months`],
      };
    }
    case "cancel": {
      const at = change.endsAt.toISOString();
      const tier = change.tier ?? null;
      // Ending never extends: the earlier of the current expiry and the end.
      return {
        sql: "min(?, coalesce((SELECT expires_at FROM subscriptions WHERE user_id = ? AND (? IS NULL OR tier = ?)), ?))",
        params: [at, userId, tier, tier, at],
      };
    }
    case "revoke":
      return { sql: "NULL", params: [] };
  }
}

const EVENT = "(SELECT * FROM ledger_events WHERE source = ? AND source_event_id = ?) AS e";

/** The current-state statement of a change; it reads the values of the event inserted just before it. */
function stateSql(change: Change): string {
  if (change.type === "grant" && change.entitlement === "purchase") {
    return `INSERT INTO purchases (user_id, sku, purchased_at, revoked_at, revoke_reason, updated_at, last_event_id)
      SELECT e.user_id, e.sku, e.created_at, NULL, NULL, e.created_at, e.id FROM ${EVENT} WHERE true
      ON CONFLICT (user_id, sku) DO UPDATE SET
        purchased_at = CASE WHEN purchases.revoked_at IS NULL THEN purchases.purchased_at ELSE excluded.purchased_at END,
        revoked_at = NULL, revoke_reason = NULL, updated_at = excluded.updated_at, last_event_id = excluded.last_event_id`;
  }
  if (change.type === "grant" || change.type === "renew") {
    return `INSERT INTO subscriptions (user_id, tier, expires_at, revoked_at, revoke_reason, updated_at, last_event_id)
      SELECT e.user_id, e.tier, e.expires_at, NULL, NULL, e.created_at, e.id FROM ${EVENT} WHERE true
      ON CONFLICT (user_id) DO UPDATE SET tier = excluded.tier, expires_at = excluded.expires_at, revoked_at = NULL,
        revoke_reason = NULL, updated_at = excluded.updated_at, last_event_id = excluded.last_event_id`;
  }
  if (change.type === "cancel") {
    return `UPDATE subscriptions SET expires_at = e.expires_at, updated_at = e.created_at, last_event_id = e.id
      FROM ${EVENT} WHERE subscriptions.user_id = e.user_id AND (e.tier IS NULL OR subscriptions.tier = e.tier)`;
  }
  if (change.entitlement === "subscription") {
    return `UPDATE subscriptions SET revoked_at = e.created_at, revoke_reason = e.reason, updated_at = e.created_at,
        last_event_id = e.id
      FROM ${EVENT} WHERE subscriptions.user_id = e.user_id AND subscriptions.tier = e.tier
        AND subscriptions.revoked_at IS NULL`;
  }
  return `UPDATE purchases SET revoked_at = e.created_at, revoke_reason = e.reason, updated_at = e.created_at,
      last_event_id = e.id
    FROM ${EVENT} WHERE purchases.user_id = e.user_id AND purchases.sku = e.sku AND purchases.revoked_at IS NULL`;
}

/** True for the error D1 raises when a batch hits `UNIQUE (source, source_event_id)`. */
export function isDuplicateEvent(error: unknown): boolean {
  return error instanceof Error && error.message.includes("UNIQUE constraint failed: ledger_events.source");
}

/**
 * Records one change: event row, current state, `extra` statements (Stripe id mappings) and the audit row in
 * one atomic batch. The event row goes first, so a redelivered event fails the whole batch on its UNIQUE key
 * and nothing is applied twice. Imports the user's original KV record first, so the change adds to it.
 */
export async function recordChange(
  ledger: Ledger,
  record: LedgerRecord,
  now: Date,
  extra: D1PreparedStatement[] = [],
): Promise<RecordOutcome> {
  const { db } = ledger;
  const { userId, change } = record;
  await importFromKv(ledger, userId, now);
  const at = now.toISOString();
  const expires = expiry(userId, change, at);
  const event = db
    .prepare(
      `INSERT INTO ledger_events
        (user_id, type, entitlement, tier, sku, expires_at, reason, source, source_event_id, created_at)
      SELECT ?, ?, ?, ?, ?, ${expires.sql}, ?, ?, ?, ? RETURNING *`,
    )
    .bind(
      userId,
      change.type,
      change.entitlement,
      "tier" in change ? (change.tier ?? null) : null,
      "sku" in change ? change.sku : null,
      ...expires.params,
      "reason" in change ? change.reason : null,
      record.source,
      record.sourceEventId,
      at,
    );
  const state = db.prepare(stateSql(change)).bind(record.source, record.sourceEventId);
  const audit = auditStatement(db, {
    at: now,
    actor: record.actor,
    action: change.type,
    target: `user:${userId}`,
    outcome: "ok",
    requestId: record.requestId,
  });
  try {
    const [inserted] = await db.batch([event, state, ...extra, audit]);
    const row = inserted?.results[0] as EventRow | undefined;
    if (!row) throw new Error("ledger event insert returned no row");
    return { status: "applied", event: toHistoryEvent(row) };
  } catch (error) {
    if (!isDuplicateEvent(error)) throw error;
    return { status: "duplicate" };
  }
}
