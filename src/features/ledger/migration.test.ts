import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readEntitlements } from "./read";

// migrations/0003_entitlements_per_source.sql on a database filled the way the ledger filled it before:
// one `subscriptions` row per user, one `purchases` row per user and SKU.
const testEnv = env as unknown as { MIGRATION_TEST_DB: D1Database; TEST_MIGRATIONS: D1Migration[] };
const db = testEnv.MIGRATION_TEST_DB;
const migrations = testEnv.TEST_MIGRATIONS;
const NOW = new Date("2026-12-01T00:00:00.000Z");

async function run(sql: string, ...params: Array<string | number | null>) {
  await db
    .prepare(sql)
    .bind(...params)
    .run();
}

async function event(
  user: string,
  type: string,
  entitlement: string,
  source: string,
  eventId: string,
  fields: {
    tier?: string;
    sku?: string;
    expires?: string;
    reason?: string;
    at: string;
  },
) {
  await run(
    `INSERT INTO ledger_events (user_id, type, entitlement, tier, sku, expires_at, reason, source, source_event_id, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    user,
    type,
    entitlement,
    fields.tier ?? null,
    fields.sku ?? null,
    fields.expires ?? null,
    fields.reason ?? null,
    source,
    eventId,
    fields.at,
  );
  const row = await db
    .prepare("SELECT id FROM ledger_events WHERE source = ? AND source_event_id = ?")
    .bind(source, eventId)
    .first<{ id: number }>();
  return row?.id ?? 0;
}

async function ref(kind: string, id: string, user: string, tier: string | null, sku: string | null) {
  await run(
    "INSERT INTO stripe_refs (kind, stripe_id, user_id, tier, sku, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    kind,
    id,
    user,
    tier,
    sku,
    "2026-01-01T00:00:00.000Z",
  );
}

async function subscription(user: string, tier: string, expires: string, lastEvent: number, revoked?: string) {
  await run(
    `INSERT INTO subscriptions (user_id, tier, expires_at, revoked_at, revoke_reason, updated_at, last_event_id)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
    user,
    tier,
    expires,
    revoked ? "2026-06-01T00:00:00.000Z" : null,
    revoked ?? null,
    "2026-06-01T00:00:00.000Z",
    lastEvent,
  );
}

async function purchase(user: string, sku: string, at: string, lastEvent: number, revoked?: string) {
  await run(
    `INSERT INTO purchases (user_id, sku, purchased_at, revoked_at, revoke_reason, updated_at, last_event_id)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
    user,
    sku,
    at,
    revoked ? "2026-06-01T00:00:00.000Z" : null,
    revoked ?? null,
    "2026-06-01T00:00:00.000Z",
    lastEvent,
  );
}

describe("migration 0003: entitlements per source", () => {
  it("carries every row of a populated database over, naming its source where it is known", async () => {
    await applyD1Migrations(
      db,
      migrations.filter((m) => m.name < "0003"),
    );
    const at = "2026-01-01T00:00:00.000Z";
    // admin: a grant and a renewal of one row
    await event("admin-user", "grant", "subscription", "admin", "r1", {
      tier: "monthly",
      expires: "2026-02-01T00:00:00.000Z",
      at,
    });
    const a2 = await event("admin-user", "grant", "subscription", "admin", "key:k2", {
      tier: "monthly",
      expires: "2027-03-01T00:00:00.000Z",
      at,
    });
    await subscription("admin-user", "monthly", "2027-03-01T00:00:00.000Z", a2);
    // stripe: one subscription, renewed by an invoice whose payment intent was recorded
    const s1 = await event("stripe-user", "grant", "subscription", "stripe", "evt_1", {
      tier: "yearly",
      expires: "2027-01-01T00:00:00.000Z",
      at,
    });
    await ref("customer", "cus_1", "stripe-user", "yearly", null);
    await ref("subscription", "sub_1", "stripe-user", "yearly", null);
    await ref("payment_intent", "pi_inv", "stripe-user", "yearly", null);
    await subscription("stripe-user", "yearly", "2027-01-01T00:00:00.000Z", s1);
    // stripe: two subscriptions written into one row, which cannot be attributed
    const m1 = await event("mixed-user", "grant", "subscription", "stripe", "evt_2", {
      tier: "monthly",
      expires: "2028-01-01T00:00:00.000Z",
      at,
    });
    await ref("subscription", "sub_2", "mixed-user", "yearly", null);
    await ref("subscription", "sub_3", "mixed-user", "monthly", null);
    await subscription("mixed-user", "monthly", "2028-01-01T00:00:00.000Z", m1);
    // purchases from each source, one revoked
    const p1 = await event("buyer", "grant", "purchase", "stripe", "evt_3", { sku: "EBOOK", at });
    await ref("payment_intent", "pi_book", "buyer", null, "EBOOK");
    await purchase("buyer", "EBOOK", "2025-05-05T00:00:00.000Z", p1);
    const p2 = await event("buyer", "grant", "purchase", "admin", "r2", { sku: "COURSE", at });
    await purchase("buyer", "COURSE", at, p2);
    const p3 = await event("buyer", "import", "purchase", "kv", "buyer:purchase:OLD", { sku: "OLD", at });
    await purchase("buyer", "OLD", "2024-01-01T00:00:00.000Z", p3);
    await event("buyer", "grant", "purchase", "payment", "msg_1", { sku: "GONE", at });
    const p4 = await event("buyer", "revoke", "purchase", "payment", "msg_2", {
      sku: "GONE",
      reason: "payment:purchase.refunded",
      at,
    });
    await purchase("buyer", "GONE", at, p4, "payment:purchase.refunded");
    const before = {
      subscriptions: await db.prepare("SELECT * FROM subscriptions ORDER BY user_id").all(),
      purchases: await db.prepare("SELECT * FROM purchases ORDER BY user_id, sku").all(),
    };

    await applyD1Migrations(db, migrations);

    const { results: rows } = await db
      .prepare(
        `SELECT user_id, kind, tier, sku, source, source_ref, granted_at, expires_at, revoked_at, revoke_reason,
          updated_at, last_event_id FROM entitlements ORDER BY user_id, kind, sku`,
      )
      .all();
    expect(rows).toEqual([
      {
        user_id: "admin-user",
        kind: "subscription",
        tier: "monthly",
        sku: null,
        source: "admin",
        source_ref: "admin:key:k2",
        granted_at: at,
        expires_at: "2027-03-01T00:00:00.000Z",
        revoked_at: null,
        revoke_reason: null,
        updated_at: "2026-06-01T00:00:00.000Z",
        last_event_id: a2,
      },
      {
        user_id: "buyer",
        kind: "purchase",
        tier: null,
        sku: "COURSE",
        source: "admin",
        source_ref: "admin:r2",
        granted_at: at,
        expires_at: null,
        revoked_at: null,
        revoke_reason: null,
        updated_at: "2026-06-01T00:00:00.000Z",
        last_event_id: p2,
      },
      {
        user_id: "buyer",
        kind: "purchase",
        tier: null,
        sku: "EBOOK",
        source: "stripe",
        source_ref: "stripe:pi_book",
        granted_at: "2025-05-05T00:00:00.000Z",
        expires_at: null,
        revoked_at: null,
        revoke_reason: null,
        updated_at: "2026-06-01T00:00:00.000Z",
        last_event_id: p1,
      },
      {
        user_id: "buyer",
        kind: "purchase",
        tier: null,
        sku: "GONE",
        source: "payment",
        source_ref: "payment:sku:GONE",
        granted_at: at,
        expires_at: null,
        revoked_at: "2026-06-01T00:00:00.000Z",
        revoke_reason: "payment:purchase.refunded",
        updated_at: "2026-06-01T00:00:00.000Z",
        last_event_id: p4,
      },
      {
        user_id: "buyer",
        kind: "purchase",
        tier: null,
        sku: "OLD",
        source: "kv",
        source_ref: "kv:purchase:OLD",
        granted_at: "2024-01-01T00:00:00.000Z",
        expires_at: null,
        revoked_at: null,
        revoke_reason: null,
        updated_at: "2026-06-01T00:00:00.000Z",
        last_event_id: p3,
      },
      {
        user_id: "mixed-user",
        kind: "subscription",
        tier: "monthly",
        sku: null,
        source: "legacy",
        source_ref: "legacy:subscription",
        granted_at: at,
        expires_at: "2028-01-01T00:00:00.000Z",
        revoked_at: null,
        revoke_reason: null,
        updated_at: "2026-06-01T00:00:00.000Z",
        last_event_id: m1,
      },
      {
        user_id: "stripe-user",
        kind: "subscription",
        tier: "yearly",
        sku: null,
        source: "stripe",
        source_ref: "stripe:sub_1",
        granted_at: at,
        expires_at: "2027-01-01T00:00:00.000Z",
        revoked_at: null,
        revoke_reason: null,
        updated_at: "2026-06-01T00:00:00.000Z",
        last_event_id: s1,
      },
    ]);
    // Nothing lost: one entitlement per old row.
    expect(rows).toHaveLength(before.subscriptions.results.length + before.purchases.results.length);

    const { results: refs } = await db
      .prepare("SELECT kind, stripe_id, source_ref FROM stripe_refs ORDER BY stripe_id")
      .all();
    expect(refs).toEqual([
      { kind: "customer", stripe_id: "cus_1", source_ref: null },
      { kind: "payment_intent", stripe_id: "pi_book", source_ref: "stripe:pi_book" },
      { kind: "payment_intent", stripe_id: "pi_inv", source_ref: "stripe:sub_1" },
      { kind: "subscription", stripe_id: "sub_1", source_ref: "stripe:sub_1" },
      { kind: "subscription", stripe_id: "sub_2", source_ref: "legacy:subscription" },
      { kind: "subscription", stripe_id: "sub_3", source_ref: "legacy:subscription" },
    ]);

    const { results: events } = await db
      .prepare("SELECT source_event_id, source_ref FROM ledger_events ORDER BY id")
      .all();
    expect(events.map((e) => e.source_ref)).toEqual([
      "admin:key:k2",
      "admin:key:k2",
      "stripe:sub_1",
      "legacy:subscription",
      "stripe:pi_book",
      "admin:r2",
      "kv:purchase:OLD",
      "payment:sku:GONE",
      "payment:sku:GONE",
    ]);
    await expect(db.prepare("UPDATE ledger_events SET sku = 'X'").run()).rejects.toThrow(/append-only/);
    await expect(db.prepare("SELECT 1 FROM subscriptions").run()).rejects.toThrow(/no such table/);

    // What users hold reads as it did: the KV namespace has no records for them.
    const ledger = { db, kv: env.ENTITLEMENTS_KV };
    expect(await readEntitlements(ledger, { id: "buyer" }, NOW)).toMatchObject({
      has_access: true,
      purchases: [
        { sku: "OLD", purchased_at: "2024-01-01T00:00:00.000Z" },
        { sku: "EBOOK", purchased_at: "2025-05-05T00:00:00.000Z" },
        { sku: "COURSE", purchased_at: at },
      ],
    });
    expect((await readEntitlements(ledger, { id: "mixed-user" }, NOW)).subscription).toEqual({
      tier: "monthly",
      status: "active",
      expires_at: "2028-01-01T00:00:00.000Z",
    });
  });
});
