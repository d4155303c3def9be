import { kvKeyOf, type LedgerUser } from "./identity";
import { isoTime, sku, tier } from "./schema";
import { isDuplicateImport, kvImported, kvImportStatements } from "./store";

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
 * Imports the user's original KV record into the ledger the first time the user is met, exactly once
 * (store.ts, `kvImportStatements`). Users without a KV record get a `kv_imports` row too, so KV is read once
 * per user. A derived id (identity.ts) whose subject this request does not know is left for later.
 */
export async function importFromKv({ db, kv }: Ledger, user: LedgerUser, now: Date): Promise<void> {
  const key = kvKeyOf(user);
  if (key === undefined || (await kvImported(db, user.id))) return;
  // KV keys are at most 512 bytes, so a longer one (a long JWT `sub`) has no record; KV would throw on it.
  const raw = new TextEncoder().encode(key).length > MAX_KV_KEY_BYTES ? null : await kv.get(key, "text");
  const parsed = parseKvRecord(parseJson(raw));
  try {
    await db.batch(kvImportStatements(db, { userId: user.id, found: raw !== null, ...parsed }, now));
  } catch (error) {
    // Another request imported this user first; its batch committed, so there is nothing left to do.
    if (!isDuplicateImport(error)) throw error;
  }
}
