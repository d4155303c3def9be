import type { KeyRecord, KeyScope, MonthUsage } from "../../admin-api";
import type { KeyConfig } from "../../metering/durable-object";

type KeyRow = Omit<KeyRecord, "scopes" | "models" | "monthly_cost_budget_usd"> & {
  scopes: string;
  models: string | null;
  monthly_cost_budget_micros: number | null;
  secret_hash: string;
};

function recordOf(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as KeyScope[],
    user_id: row.user_id,
    models: row.models === null ? null : (JSON.parse(row.models) as string[]),
    monthly_token_budget: row.monthly_token_budget,
    monthly_cost_budget_usd: row.monthly_cost_budget_micros === null ? null : row.monthly_cost_budget_micros / 1e6,
    rate_limit_per_minute: row.rate_limit_per_minute,
    expires_at: row.expires_at,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
  };
}

/** What the key's Meter needs to check and limit it. */
export function configOf(row: KeyRow): KeyConfig {
  return {
    secretHash: row.secret_hash,
    scopes: JSON.parse(row.scopes) as string[],
    models: row.models === null ? null : (JSON.parse(row.models) as string[]),
    userId: row.user_id,
    budget: {
      ...(row.monthly_token_budget === null ? {} : { tokens: row.monthly_token_budget }),
      ...(row.monthly_cost_budget_micros === null ? {} : { micros: row.monthly_cost_budget_micros }),
    },
    perMinute: row.rate_limit_per_minute,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/** Inserts a key; returns its record and the configuration for its Meter. */
export async function insertKey(
  db: D1Database,
  key: Omit<KeyRecord, "revoked_at">,
  secretHash: string,
): Promise<{ record: KeyRecord; config: KeyConfig }> {
  const row = await db
    .prepare(
      `INSERT INTO relay_keys (id, name, secret_hash, scopes, user_id, models, monthly_token_budget,
        monthly_cost_budget_micros, rate_limit_per_minute, expires_at, created_at, revoked_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) RETURNING *`,
    )
    .bind(
      key.id,
      key.name,
      secretHash,
      JSON.stringify(key.scopes),
      key.user_id,
      key.models === null ? null : JSON.stringify(key.models),
      key.monthly_token_budget,
      key.monthly_cost_budget_usd === null ? null : Math.round(key.monthly_cost_budget_usd * 1e6),
      key.rate_limit_per_minute,
      key.expires_at,
      key.created_at,
    )
    .first<KeyRow>();
  if (!row) throw new Error("relay key insert returned no row");
  return { record: recordOf(row), config: configOf(row) };
}

/** Every key, newest first. */
export async function listKeys(db: D1Database): Promise<KeyRecord[]> {
  const { results } = await db.prepare("SELECT * FROM relay_keys ORDER BY created_at DESC, id").all<KeyRow>();
  return results.map(recordOf);
}

/** One key with its Meter configuration, or null. */
export async function findKey(db: D1Database, id: string): Promise<{ record: KeyRecord; config: KeyConfig } | null> {
  const row = await db.prepare("SELECT * FROM relay_keys WHERE id = ?").bind(id).first<KeyRow>();
  return row ? { record: recordOf(row), config: configOf(row) } : null;
}

/** Marks a key revoked (the first revocation's time stays); returns its record, or null when unknown. */
export async function revokeKey(db: D1Database, id: string, at: string): Promise<KeyRecord | null> {
  const row = await db
    .prepare("UPDATE relay_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING *")
    .bind(at, id)
    .first<KeyRow>();
  return row ? recordOf(row) : null;
}

/**
 * What every key used in `month` (YYYY-MM), by key id, from `usage_daily`: the totals its Meter wrote, a
 * second or so behind the Meter itself. Keys without usage that month are absent.
 */
export async function monthUsageOfKeys(db: D1Database, month: string): Promise<Map<string, MonthUsage>> {
  const { results } = await db
    .prepare(
      `SELECT subject, SUM(requests) AS requests, SUM(prompt_tokens + completion_tokens) AS tokens,
        SUM(cost_micros) AS cost_micros, SUM(unpriced_requests) AS unpriced_requests
      FROM usage_daily WHERE day BETWEEN ? AND ? AND subject LIKE 'key:%' GROUP BY subject`,
    )
    .bind(`${month}-01`, `${month}-31`)
    .all<{ subject: string; requests: number; tokens: number; cost_micros: number; unpriced_requests: number }>();
  return new Map(
    results.map((row) => [
      row.subject.slice("key:".length),
      {
        month,
        requests: row.requests,
        tokens: row.tokens,
        cost_usd: row.cost_micros / 1e6,
        unpriced_requests: row.unpriced_requests,
      },
    ]),
  );
}
