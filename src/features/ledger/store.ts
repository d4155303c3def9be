import type { PaymentCount } from "../../admin-api";
import { auditStatement } from "../../audit/store";
import { spanTimes } from "../../lib/day-span";
import type { Change, EventRow, LedgerRecord } from "./change";
import { addMonthsSql } from "./months";
import { TIER_MONTHS, type Tier } from "./schema";

/**
 * Every SQL statement of the ledger (tables: docs/ledger.md, migrations/0002 and 0003). Each change is one
 * `db.batch`: the event row first (its UNIQUE key makes a redelivery fail the whole batch), then the
 * entitlement it changes, then extra statements (Stripe ids) and the audit row. Expiries are computed
 * inside SQLite from the rows of the same transaction, so concurrent renewals never read a stale value.
 */

/** A row of `entitlements`: one per user and source. */
export type EntitlementRow = {
  kind: "subscription" | "purchase";
  tier: Tier | null;
  sku: string | null;
  source_ref: string;
  granted_at: string;
  expires_at: string | null;
  revoked_at: string | null;
};

/** What a Stripe id was recorded for at checkout: the user, what they bought, and the entitlement it feeds. */
export type StripeRef = { user_id: string; tier: string | null; sku: string | null; source_ref: string | null };
export type StripeRefKind = "customer" | "subscription" | "payment_intent";

// Numbered parameters of the event insert; `?NNN` lets one value appear in several places.
const P = {
  user: "?1",
  type: "?2",
  entitlement: "?3",
  tier: "?4",
  sku: "?5",
  reason: "?6",
  source: "?7",
  ref: "?8",
  eventId: "?9",
  hash: "?10",
  now: "?11",
  at: "?12",
  months: "?13",
};

const SOURCE_EXPIRY = `(SELECT expires_at FROM entitlements WHERE user_id = ${P.user} AND source_ref = ${P.ref})`;
const LIVE_SOURCE_EXPIRY = `(SELECT expires_at FROM entitlements
  WHERE user_id = ${P.user} AND source_ref = ${P.ref} AND revoked_at IS NULL)`;
const USER_EXPIRY = `(SELECT max(expires_at) FROM entitlements
  WHERE user_id = ${P.user} AND kind = 'subscription' AND revoked_at IS NULL)`;

/** The `expires_at` an event gives its subscription, as SQL over the parameters above. */
function expirySql(change: Change): string {
  if (change.entitlement !== "subscription") return "NULL";
  switch (change.type) {
    case "grant":
    case "renew": {
      const current = change.stackOn === "user" ? USER_EXPIRY : LIVE_SOURCE_EXPIRY;
      if (change.expiresAt && change.type === "grant") return P.at;
      // A late renewal never shortens what a newer one granted.
      if (change.expiresAt) return `max(${P.at}, coalesce(${current}, ${P.at}))`;
      // One period from the later of now and the current expiry.
      return addMonthsSql(`max(${P.now}, coalesce(${current}, ${P.now}))`, P.months);
    }
    case "cancel":
      // Ending never extends: the earlier of the source's current expiry and the end.
      return `min(${P.at}, coalesce(${SOURCE_EXPIRY}, ${P.at}))`;
    case "revoke":
      return "NULL";
  }
}

const EVENT = "(SELECT * FROM ledger_events WHERE source = ?1 AND source_event_id = ?2) AS e";
const COLUMNS = `(user_id, kind, tier, sku, source, source_ref, granted_at, expires_at, revoked_at, revoke_reason,
  updated_at, last_event_id)`;

/** The entitlement statement of a change; it reads the values of the event inserted just before it. */
function stateSql(change: Change): string {
  if (change.type === "grant" && change.entitlement === "purchase") {
    return `INSERT INTO entitlements ${COLUMNS}
      SELECT e.user_id, 'purchase', NULL, e.sku, e.source, e.source_ref, e.created_at, NULL, NULL, NULL,
        e.created_at, e.id FROM ${EVENT} WHERE true
      ON CONFLICT (user_id, source_ref) DO UPDATE SET
        granted_at = CASE WHEN entitlements.revoked_at IS NULL THEN entitlements.granted_at ELSE excluded.granted_at END,
        revoked_at = NULL, revoke_reason = NULL, updated_at = excluded.updated_at, last_event_id = excluded.last_event_id`;
  }
  if (change.type === "grant" || change.type === "renew") {
    return `INSERT INTO entitlements ${COLUMNS}
      SELECT e.user_id, 'subscription', e.tier, NULL, e.source, e.source_ref, e.created_at, e.expires_at, NULL, NULL,
        e.created_at, e.id FROM ${EVENT} WHERE true
      ON CONFLICT (user_id, source_ref) DO UPDATE SET tier = excluded.tier, expires_at = excluded.expires_at,
        revoked_at = NULL, revoke_reason = NULL, updated_at = excluded.updated_at, last_event_id = excluded.last_event_id`;
  }
  if (change.type === "cancel") {
    return `UPDATE entitlements SET expires_at = e.expires_at, updated_at = e.created_at, last_event_id = e.id
      FROM ${EVENT} WHERE entitlements.user_id = e.user_id AND entitlements.source_ref = e.source_ref
        AND entitlements.kind = 'subscription'`;
  }
  return `UPDATE entitlements SET revoked_at = e.created_at, revoke_reason = e.reason, updated_at = e.created_at,
      last_event_id = e.id
    FROM ${EVENT} WHERE ${REVOCABLE("e.user_id", "e.entitlement", "e.source_ref", "e.tier", "e.sku")}`;
}

/** The unrevoked entitlements a revocation ends: of that kind, and of its source, tier and SKU where given. */
const REVOCABLE = (user: string, kind: string, ref: string, tier: string, sku: string) =>
  `entitlements.user_id = ${user} AND entitlements.kind = ${kind} AND entitlements.revoked_at IS NULL
    AND (${ref} IS NULL OR entitlements.source_ref = ${ref})
    AND (${tier} IS NULL OR entitlements.tier = ${tier}) AND (${sku} IS NULL OR entitlements.sku = ${sku})`;

/** True when a revocation would end something (else the admin gets 404 and nothing is written). */
export async function holdsUnrevoked(db: D1Database, userId: string, change: Change): Promise<boolean> {
  const row = await db
    .prepare(`SELECT 1 FROM entitlements WHERE ${REVOCABLE("?1", "?2", "?3", "?4", "?5")} LIMIT 1`)
    .bind(
      userId,
      change.entitlement,
      change.sourceRef ?? null,
      "tier" in change ? (change.tier ?? null) : null,
      "sku" in change ? (change.sku ?? null) : null,
    )
    .first();
  return row !== null;
}

/** The values of a change's event row, in the order of the numbered parameters. */
function eventParams(record: LedgerRecord, now: Date): Array<string | number | null> {
  const { change } = record;
  const explicit =
    "expiresAt" in change
      ? change.expiresAt
      : change.type === "cancel"
        ? change.endsAt
        : (undefined as Date | undefined);
  const tier = "tier" in change ? (change.tier ?? null) : null;
  return [
    record.userId,
    change.type,
    change.entitlement,
    tier,
    "sku" in change ? (change.sku ?? null) : null,
    ("reason" in change ? change.reason : undefined) ?? null,
    record.source,
    change.sourceRef ?? null,
    record.sourceEventId,
    record.requestHash ?? null,
    now.toISOString(),
    explicit?.toISOString() ?? null,
    tier === null ? null : TIER_MONTHS[tier],
  ];
}

/** True for the error D1 raises when a batch hits `UNIQUE (source, source_event_id)`. */
export function isDuplicateEvent(error: unknown): boolean {
  return error instanceof Error && error.message.includes("UNIQUE constraint failed: ledger_events.source");
}

/**
 * Writes one change in one atomic batch: event, entitlement, `extra`, audit row. Returns the event row, or
 * undefined when the source event id was recorded before (a redelivery: nothing is written).
 */
export async function writeChange(
  db: D1Database,
  record: LedgerRecord,
  now: Date,
  extra: D1PreparedStatement[] = [],
): Promise<EventRow | undefined> {
  const eventSql = `INSERT INTO ledger_events (user_id, type, entitlement, tier, sku, expires_at, reason, source,
      source_ref, source_event_id, request_hash, created_at)
    SELECT ?1, ?2, ?3, ?4, ?5, ${expirySql(record.change)}, ?6, ?7, ?8, ?9, ?10, ?11 RETURNING *`;
  // D1 wants exactly as many values as the statement's highest parameter number.
  const used = Math.max(...Array.from(eventSql.matchAll(/\?(\d+)/g), (match) => Number(match[1])));
  const event = db.prepare(eventSql).bind(...eventParams(record, now).slice(0, used));
  const state = db.prepare(stateSql(record.change)).bind(record.source, record.sourceEventId);
  const audit = auditStatement(db, {
    at: now,
    actor: record.actor,
    action: record.change.type,
    target: `user:${record.userId}`,
    outcome: "ok",
    requestId: record.requestId,
  });
  try {
    const [inserted] = await db.batch([event, state, ...extra, audit]);
    const row = inserted?.results[0] as EventRow | undefined;
    if (!row) throw new Error("ledger event insert returned no row");
    return row;
  } catch (error) {
    if (isDuplicateEvent(error)) return undefined;
    throw error;
  }
}

/** The event recorded under `(source, source_event_id)`, if any. */
export function findEvent(db: D1Database, source: string, sourceEventId: string): Promise<EventRow | null> {
  return db
    .prepare("SELECT * FROM ledger_events WHERE source = ? AND source_event_id = ?")
    .bind(source, sourceEventId)
    .first<EventRow>();
}

/** Every entitlement of a user, in the order they were first recorded. */
export async function entitlementRows(db: D1Database, userId: string): Promise<EntitlementRow[]> {
  const { results } = await db
    .prepare(
      `SELECT kind, tier, sku, source_ref, granted_at, expires_at, revoked_at FROM entitlements
      WHERE user_id = ? ORDER BY id`,
    )
    .bind(userId)
    .all<EntitlementRow>();
  return results;
}

/** Every ledger event of a user, oldest first. */
export async function eventRows(db: D1Database, userId: string): Promise<EventRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM ledger_events WHERE user_id = ? ORDER BY id")
    .bind(userId)
    .all<EventRow>();
  return results;
}

/** Records the Stripe ids of a checkout or invoice; the first user recorded for an id keeps it. */
export function stripeRefStatements(
  db: D1Database,
  refs: Array<{ kind: StripeRefKind; id: string | undefined }>,
  target: StripeRef,
  now: Date,
): D1PreparedStatement[] {
  return refs.flatMap((ref) =>
    ref.id === undefined
      ? []
      : [
          db
            .prepare(
              `INSERT INTO stripe_refs (kind, stripe_id, user_id, tier, sku, source_ref, created_at)
              VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, stripe_id) DO NOTHING`,
            )
            .bind(ref.kind, ref.id, target.user_id, target.tier, target.sku, target.source_ref, now.toISOString()),
        ],
  );
}

/** What a Stripe id was recorded for, or null when the ledger has never seen it. */
export function findStripeRef(db: D1Database, kind: StripeRefKind, id: string): Promise<StripeRef | null> {
  return db
    .prepare("SELECT user_id, tier, sku, source_ref FROM stripe_refs WHERE kind = ? AND stripe_id = ?")
    .bind(kind, id)
    .first<StripeRef>();
}

/** True once the user's KV record (or its absence) has been imported. */
export async function kvImported(db: D1Database, userId: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM kv_imports WHERE user_id = ?").bind(userId).first()) !== null;
}

/** What one KV import writes. */
export type KvImport = {
  userId: string;
  found: boolean;
  subscription?: { tier: string; expires_at: string; revoked: string | null };
  purchases: Array<{ sku: string; purchased_at: string }>;
  skipped: number;
};

/**
 * The import of a KV record as one batch whose first statement is the `kv_imports` row, so a concurrent
 * second import fails on its primary key and rolls back whole. Event ids are JSON arrays, so that no user
 * id or SKU can make two imports collide (`["X:purchase","subscription"]` ≠ `["X","purchase","subscription"]`).
 */
export function kvImportStatements(db: D1Database, load: KvImport, now: Date): D1PreparedStatement[] {
  const at = now.toISOString();
  const { userId, subscription: sub } = load;
  const statements = [
    db
      .prepare(
        "INSERT INTO kv_imports (user_id, imported_at, found, subscriptions, purchases, skipped) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .bind(userId, at, load.found ? 1 : 0, sub ? 1 : 0, load.purchases.length, load.skipped),
  ];
  const eventSql = `INSERT INTO ledger_events
    (user_id, type, entitlement, tier, sku, expires_at, reason, source, source_ref, source_event_id, created_at)
    VALUES (?, 'import', ?, ?, ?, ?, ?, 'kv', ?, ?, ?)`;
  const lastEvent = "(SELECT id FROM ledger_events WHERE source = 'kv' AND source_event_id = ?)";
  const entitlementSql = `INSERT INTO entitlements ${COLUMNS}
    VALUES (?, ?, ?, ?, 'kv', ?, ?, ?, ?, ?, ?, ${lastEvent}) ON CONFLICT (user_id, source_ref) DO NOTHING`;
  if (sub) {
    const eventId = JSON.stringify([userId, "subscription"]);
    const ref = "kv:subscription";
    statements.push(
      db.prepare(eventSql).bind(userId, "subscription", sub.tier, null, sub.expires_at, sub.revoked, ref, eventId, at),
      db
        .prepare(entitlementSql)
        .bind(
          userId,
          "subscription",
          sub.tier,
          null,
          ref,
          at,
          sub.expires_at,
          sub.revoked ? at : null,
          sub.revoked,
          at,
          eventId,
        ),
    );
  }
  for (const purchase of load.purchases) {
    const eventId = JSON.stringify([userId, "purchase", purchase.sku]);
    const ref = `kv:purchase:${purchase.sku}`;
    statements.push(
      db.prepare(eventSql).bind(userId, "purchase", null, purchase.sku, null, null, ref, eventId, at),
      db
        .prepare(entitlementSql)
        .bind(userId, "purchase", null, purchase.sku, ref, purchase.purchased_at, null, null, null, at, eventId),
    );
  }
  if (load.found) {
    statements.push(
      auditStatement(db, { at: now, actor: "kv_import", action: "import", target: `user:${userId}`, outcome: "ok" }),
    );
  }
  return statements;
}

/** True for the error of a second, concurrent import of the same user. */
export function isDuplicateImport(error: unknown): boolean {
  return error instanceof Error && error.message.includes("UNIQUE constraint failed: kv_imports");
}

/**
 * The events Stripe and the payment provider caused between two UTC days (both included), counted per day,
 * source, type and what they were about. Amounts are never stored, so this counts, it does not add up money.
 */
export async function countPayments(db: D1Database, from: string, to: string): Promise<PaymentCount[]> {
  const { start, end } = spanTimes(from, to);
  const { results } = await db
    .prepare(
      `SELECT substr(created_at, 1, 10) AS day, source, type, entitlement, tier, sku, COUNT(*) AS count
      FROM ledger_events WHERE source IN ('stripe', 'payment') AND created_at >= ? AND created_at < ?
      GROUP BY day, source, type, entitlement, tier, sku ORDER BY day, source, type, entitlement, tier, sku`,
    )
    .bind(start, end)
    .all<PaymentCount>();
  return results;
}
