import { type EventRow, type HistoryEvent, toHistoryEvent } from "./events";
import { importFromKv } from "./kv-import";

/** `active`, `expired` (past `expires_at`) or `revoked` (DESIGN.md, "Entitlements (ledger)"). */
export type SubscriptionStatus = "active" | "expired" | "revoked";

/** A user's entitlements as `GET /entitlements/check` shows them (and the library gates on). */
export type Entitlements = {
  has_access: boolean;
  subscription: { tier: string; status: SubscriptionStatus; expires_at: string } | null;
  /** Unrevoked purchases only: a refunded purchase grants nothing. */
  purchases: Array<{ sku: string; purchased_at: string }>;
};

type SubscriptionRow = { tier: string; expires_at: string; revoked_at: string | null };

/** A subscription's status at `now`; computed on every read, never written by a timer. */
export function subscriptionStatus(row: SubscriptionRow, now: Date): SubscriptionStatus {
  if (row.revoked_at !== null) return "revoked";
  return Date.parse(row.expires_at) > now.getTime() ? "active" : "expired";
}

/**
 * Reads a user's entitlements at `now`, importing the original KV record first if this user was never read.
 * The library feature calls this to decide what a user may read.
 */
export async function readEntitlements(
  db: D1Database,
  kv: KVNamespace,
  userId: string,
  now: Date,
): Promise<Entitlements> {
  await importFromKv({ db, kv }, userId, now);
  const [subs, purchases] = await db.batch([
    db.prepare("SELECT tier, expires_at, revoked_at FROM subscriptions WHERE user_id = ?").bind(userId),
    db
      .prepare(
        "SELECT sku, purchased_at FROM purchases WHERE user_id = ? AND revoked_at IS NULL ORDER BY purchased_at, sku",
      )
      .bind(userId),
  ]);
  const row = subs?.results[0] as SubscriptionRow | undefined;
  const subscription = row
    ? { tier: row.tier, status: subscriptionStatus(row, now), expires_at: row.expires_at }
    : null;
  const owned = (purchases?.results ?? []) as Entitlements["purchases"];
  return {
    has_access: subscription?.status === "active" || owned.length > 0,
    subscription,
    purchases: owned.map(({ sku, purchased_at }) => ({ sku, purchased_at })),
  };
}

/** Every ledger event of a user, oldest first (importing the KV record first, like every read). */
export async function readHistory(db: D1Database, kv: KVNamespace, userId: string, now: Date): Promise<HistoryEvent[]> {
  await importFromKv({ db, kv }, userId, now);
  const { results } = await db
    .prepare("SELECT * FROM ledger_events WHERE user_id = ? ORDER BY id")
    .bind(userId)
    .all<EventRow>();
  return results.map(toHistoryEvent);
}
