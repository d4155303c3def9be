import { auditStatement } from "../../audit/log";
import { isoTime, sku, tier } from "./schema";

/** The ledger's storage: D1, plus the original KV namespace read once per user. */
export type Ledger = { db: D1Database; kv: KVNamespace };

type KvSubscription = { tier: string; expires_at: string; revoked: string | null };
type KvPurchase = { sku: string; purchased_at: string };

/** What a KV record holds that the ledger can take over, and how many entries it could not. */
export type KvParse = { subscription?: KvSubscription; purchases: KvPurchase[]; skipped: number };

const STILL_VALID = new Set(["active", "expired", undefined]);

/** KV's limit on a key, in UTF-8 bytes. */
const MAX_KV_KEY_BYTES = 512;

/**
 * Reads the original layout `{subscriptions: [{tier, status, granted_at, expires_at}], purchases: [{sku,
 * purchased_at}]}`. Keeps the subscription that runs longest and every well-formed purchase; anything
 * malformed is counted, not imported, because one bad entry must not lock a user out of the ledger.
 */
export function parseKvRecord(value: unknown): KvParse {
  const record = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  const listOf = (key: string) => (Array.isArray(record[key]) ? (record[key] as unknown[]) : []);
  let skipped = 0;
  let subscription: KvSubscription | undefined;
  for (const item of listOf("subscriptions")) {
    const entry = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const t = tier.safeParse(entry.tier);
    const expires = isoTime.safeParse(entry.expires_at);
    if (!t.success || !expires.success) {
      skipped += 1;
      continue;
    }
    const status = typeof entry.status === "string" ? entry.status : undefined;
    const candidate = {
      tier: t.data,
      expires_at: expires.data,
      revoked: STILL_VALID.has(status) ? null : `kv_status:${String(status).slice(0, 40)}`,
    };
    if (subscription) skipped += 1;
    if (!subscription || candidate.expires_at > subscription.expires_at) subscription = candidate;
  }
  const purchases = new Map<string, KvPurchase>();
  for (const item of listOf("purchases")) {
    const entry = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const s = sku.safeParse(entry.sku);
    const at = isoTime.safeParse(entry.purchased_at);
    if (!s.success || !at.success || purchases.has(s.data)) {
      skipped += 1;
      continue;
    }
    purchases.set(s.data, { sku: s.data, purchased_at: at.data });
  }
  return { subscription, purchases: [...purchases.values()], skipped };
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/**
 * Imports `user:{user_id}` from ENTITLEMENTS_KV into the ledger the first time the user is met, exactly once:
 * the `kv_imports` row is the batch's first statement, so a concurrent second import fails on its primary
 * key and rolls back entirely. Users without a KV record get a row too, so KV is read once per user.
 */
export async function importFromKv({ db, kv }: Ledger, userId: string, now: Date): Promise<void> {
  const done = await db.prepare("SELECT 1 FROM kv_imports WHERE user_id = ?").bind(userId).first();
  if (done) return;
  const key = `user:${userId}`;
  // KV keys are at most 512 bytes, so a longer one (a long JWT `sub`) has no record; KV would throw on it.
  const raw = new TextEncoder().encode(key).length > MAX_KV_KEY_BYTES ? null : await kv.get(key, "text");
  const parsed = parseKvRecord(parseJson(raw));
  const at = now.toISOString();
  const sub = parsed.subscription;
  const statements = [
    db
      .prepare(
        "INSERT INTO kv_imports (user_id, imported_at, found, subscriptions, purchases, skipped) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .bind(userId, at, raw === null ? 0 : 1, sub ? 1 : 0, parsed.purchases.length, parsed.skipped),
  ];
  const eventSql = `INSERT INTO ledger_events
    (user_id, type, entitlement, tier, sku, expires_at, reason, source, source_event_id, created_at)
    VALUES (?, 'import', ?, ?, ?, ?, ?, 'kv', ?, ?)`;
  const lastEvent = "(SELECT id FROM ledger_events WHERE source = 'kv' AND source_event_id = ?)";
  if (sub) {
    const eventId = `${userId}:subscription`;
    statements.push(
      db.prepare(eventSql).bind(userId, "subscription", sub.tier, null, sub.expires_at, sub.revoked, eventId, at),
      db
        .prepare(
          `INSERT INTO subscriptions (user_id, tier, expires_at, revoked_at, revoke_reason, updated_at, last_event_id)
          VALUES (?, ?, ?, ?, ?, ?, ${lastEvent}) ON CONFLICT (user_id) DO NOTHING`,
        )
        .bind(userId, sub.tier, sub.expires_at, sub.revoked ? at : null, sub.revoked, at, eventId),
    );
  }
  for (const purchase of parsed.purchases) {
    const eventId = `${userId}:purchase:${purchase.sku}`;
    statements.push(
      db.prepare(eventSql).bind(userId, "purchase", null, purchase.sku, null, null, eventId, at),
      db
        .prepare(
          `INSERT INTO purchases (user_id, sku, purchased_at, revoked_at, revoke_reason, updated_at, last_event_id)
          VALUES (?, ?, ?, NULL, NULL, ?, ${lastEvent}) ON CONFLICT (user_id, sku) DO NOTHING`,
        )
        .bind(userId, purchase.sku, purchase.purchased_at, at, eventId),
    );
  }
  if (raw !== null) {
    statements.push(
      auditStatement(db, { at: now, actor: "kv_import", action: "import", target: `user:${userId}`, outcome: "ok" }),
    );
  }
  try {
    await db.batch(statements);
  } catch (error) {
    // Another request imported this user first; its batch committed, so there is nothing left to do.
    if (error instanceof Error && error.message.includes("UNIQUE constraint failed: kv_imports")) return;
    throw error;
  }
}
