import type { Entitlements, HistoryEvent, SubscriptionStatus } from "../../admin-api";
import { toHistoryEvent } from "./change";
import type { LedgerUser } from "./identity";
import { importFromKv, type Ledger } from "./kv-import";
import { type EntitlementRow, entitlementRows, eventRows } from "./store";

/** A subscription's status at `now`; computed on every read, never written by a timer. */
export function subscriptionStatus(
  row: { expires_at: string; revoked_at: string | null },
  now: Date,
): SubscriptionStatus {
  if (row.revoked_at !== null) return "revoked";
  return Date.parse(row.expires_at) > now.getTime() ? "active" : "expired";
}

/** The union of a user's entitlement rows at `now`: access while any source is active. */
export function entitlementsOf(rows: EntitlementRow[], now: Date): Entitlements {
  const subscriptions = rows
    .filter((row) => row.kind === "subscription" && row.tier !== null && row.expires_at !== null)
    .map((row) => ({
      tier: row.tier as string,
      status: subscriptionStatus({ expires_at: row.expires_at as string, revoked_at: row.revoked_at }, now),
      expires_at: row.expires_at as string,
      source: row.source_ref,
    }))
    .sort(
      (a, b) =>
        Number(b.status === "active") - Number(a.status === "active") || b.expires_at.localeCompare(a.expires_at),
    );
  const first = subscriptions[0];
  const owned = new Map<string, string>();
  for (const row of rows) {
    if (row.kind !== "purchase" || row.sku === null || row.revoked_at !== null) continue;
    const earlier = owned.get(row.sku);
    if (earlier === undefined || row.granted_at < earlier) owned.set(row.sku, row.granted_at);
  }
  const purchases = [...owned]
    .map(([sku, purchased_at]) => ({ sku, purchased_at }))
    .sort((a, b) => a.purchased_at.localeCompare(b.purchased_at) || a.sku.localeCompare(b.sku));
  return {
    has_access: first?.status === "active" || purchases.length > 0,
    subscription: first ? { tier: first.tier, status: first.status, expires_at: first.expires_at } : null,
    subscriptions,
    purchases,
  };
}

/**
 * Reads a user's entitlements at `now`, importing the original KV record first if this user was never read.
 * The library feature calls this to decide what a user may read.
 */
export async function readEntitlements(ledger: Ledger, user: LedgerUser, now: Date): Promise<Entitlements> {
  await importFromKv(ledger, user, now);
  return entitlementsOf(await entitlementRows(ledger.db, user.id), now);
}

/** Every ledger event of a user, oldest first (importing the KV record first, like every read). */
export async function readHistory(ledger: Ledger, user: LedgerUser, now: Date): Promise<HistoryEvent[]> {
  await importFromKv(ledger, user, now);
  return (await eventRows(ledger.db, user.id)).map(toHistoryEvent);
}
