import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../../../test/secrets";
import { grant, postPayment, rowsOf } from "../../../test/support/ledger";
import { relay, uniqueId } from "../../../test/support/relay";
import { parseKvRecord } from "./kv-import";
import { readEntitlements } from "./read";

const FAR = "2099-01-01T00:00:00Z";

/** A record in the original relay's KV layout (docs/ledger.md, "kv_imports"). */
const original = {
  subscriptions: [{ tier: "monthly", status: "active", granted_at: "2025-10-26T20:00:00Z", expires_at: FAR }],
  purchases: [{ sku: "EBOOK", purchased_at: "2025-10-15T10:00:00Z" }],
};

async function check(user: string) {
  const response = await relay(`/entitlements/check?user_id=${user}`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function importRow(user: string) {
  return env.DB.prepare("SELECT found, subscriptions, purchases, skipped FROM kv_imports WHERE user_id = ?")
    .bind(user)
    .first();
}

describe("import from ENTITLEMENTS_KV (user:{user_id})", () => {
  it("reads a user stored in the original layout, imports once, and later grants add to it", async () => {
    const user = uniqueId("kv");
    await env.ENTITLEMENTS_KV.put(`user:${user}`, JSON.stringify(original));

    const expected = {
      success: true,
      user_id: user,
      has_access: true,
      subscription: { tier: "monthly", status: "active", expires_at: "2099-01-01T00:00:00.000Z" },
      subscriptions: [
        { tier: "monthly", status: "active", expires_at: "2099-01-01T00:00:00.000Z", source: "kv:subscription" },
      ],
      purchases: [{ sku: "EBOOK", purchased_at: "2025-10-15T10:00:00.000Z" }],
      message: "User has active access",
    };
    expect(await check(user)).toEqual(expected);
    expect(await importRow(user)).toEqual({ found: 1, subscriptions: 1, purchases: 1, skipped: 0 });
    expect(await rowsOf("ledger_events", user)).toEqual([
      {
        type: "import",
        entitlement: "subscription",
        tier: "monthly",
        sku: null,
        expires_at: "2099-01-01T00:00:00.000Z",
        reason: null,
        source: "kv",
        source_ref: "kv:subscription",
        source_event_id: JSON.stringify([user, "subscription"]),
      },
      {
        type: "import",
        entitlement: "purchase",
        tier: null,
        sku: "EBOOK",
        expires_at: null,
        reason: null,
        source: "kv",
        source_ref: "kv:purchase:EBOOK",
        source_event_id: JSON.stringify([user, "purchase", "EBOOK"]),
      },
    ]);

    // KV is not read again: a later change there is not picked up, and nothing is imported twice.
    await env.ENTITLEMENTS_KV.put(
      `user:${user}`,
      JSON.stringify({ ...original, purchases: [...original.purchases, { sku: "LATE", purchased_at: FAR }] }),
    );
    expect(await check(user)).toEqual(expected);
    expect(await rowsOf("ledger_events", user)).toHaveLength(2);

    expect((await grant({ user_id: user, type: "purchase", sku: "COURSE" })).status).toBe(200);
    const after = (await check(user)) as { purchases: Array<{ sku: string }>; subscription: unknown };
    expect(after.purchases.map((p) => p.sku)).toEqual(["EBOOK", "COURSE"]);
    expect(after.subscription).toEqual(expected.subscription);
  });

  it("imports once when the first reads arrive all at once", async () => {
    const user = uniqueId("kv");
    await env.ENTITLEMENTS_KV.put(`user:${user}`, JSON.stringify(original));
    const bodies = await Promise.all(Array.from({ length: 10 }, () => check(user)));
    for (const body of bodies) expect(body).toMatchObject({ has_access: true, purchases: [{ sku: "EBOOK" }] });
    expect(await rowsOf("ledger_events", user)).toHaveLength(2);
    expect(await rowsOf("purchases", user)).toHaveLength(1);
  });

  it("imports before the first write, so a webhook for a KV-era customer adds to the old record", async () => {
    const user = uniqueId("kv");
    await env.ENTITLEMENTS_KV.put(`user:${user}`, JSON.stringify(original));
    const response = await postPayment(uniqueId("msg"), { type: "purchase.completed", user_id: user, sku: "COURSE" });
    expect(response.status).toBe(200);
    const body = (await check(user)) as { purchases: Array<{ sku: string }> };
    expect(body.purchases.map((p) => p.sku)).toEqual(["EBOOK", "COURSE"]);
    expect((await rowsOf("ledger_events", user)).map((e) => e.type)).toEqual(["import", "import", "grant"]);
  });

  it("marks a user without a KV record as imported, so KV is read once per user", async () => {
    const user = uniqueId("kv");
    await check(user);
    expect(await importRow(user)).toEqual({ found: 0, subscriptions: 0, purchases: 0, skipped: 0 });
    await env.ENTITLEMENTS_KV.put(`user:${user}`, JSON.stringify(original));
    expect(await check(user)).toMatchObject({ has_access: false, subscription: null, purchases: [] });
  });

  it("skips malformed entries instead of failing the user, and keeps a cancelled status as revoked", async () => {
    const user = uniqueId("kv");
    await env.ENTITLEMENTS_KV.put(
      `user:${user}`,
      JSON.stringify({
        subscriptions: [
          { tier: "lifetime", expires_at: FAR },
          { tier: "yearly", status: "cancelled", expires_at: FAR },
        ],
        purchases: [{ sku: "has space", purchased_at: FAR }, { sku: "EBOOK" }, "nonsense"],
      }),
    );
    expect(await check(user)).toMatchObject({
      has_access: false,
      subscription: { tier: "yearly", status: "revoked" },
      purchases: [],
    });
    expect(await importRow(user)).toEqual({ found: 1, subscriptions: 1, purchases: 0, skipped: 4 });
  });

  it("survives a KV value that is not JSON", async () => {
    const user = uniqueId("kv");
    await env.ENTITLEMENTS_KV.put(`user:${user}`, "{not json");
    expect(await check(user)).toMatchObject({ has_access: false });
    expect(await importRow(user)).toEqual({ found: 1, subscriptions: 0, purchases: 0, skipped: 0 });
  });
});

describe("import event ids", () => {
  // Before, user `X:purchase` importing a subscription and user `X` importing SKU `subscription` both wrote
  // event `X:purchase:subscription`; the second import failed on every request, for good.
  it("cannot collide between users, whatever their ids and SKUs", async () => {
    const base = uniqueId("kv");
    const ledger = { db: env.DB, kv: env.ENTITLEMENTS_KV };
    await env.ENTITLEMENTS_KV.put(`user:${base}:purchase`, JSON.stringify({ subscriptions: original.subscriptions }));
    await env.ENTITLEMENTS_KV.put(
      `user:${base}`,
      JSON.stringify({ purchases: [{ sku: "subscription", purchased_at: "2025-10-15T10:00:00Z" }] }),
    );
    const now = new Date("2026-12-01T00:00:00Z");
    const first = await readEntitlements(ledger, { id: `${base}:purchase` }, now);
    const second = await readEntitlements(ledger, { id: base }, now);
    expect(first.subscription).toMatchObject({ tier: "monthly", status: "active" });
    expect(second.purchases).toEqual([{ sku: "subscription", purchased_at: "2025-10-15T10:00:00.000Z" }]);
  });
});

describe("parseKvRecord", () => {
  it("keeps the subscription that runs longest and the first of duplicate SKUs", () => {
    expect(
      parseKvRecord({
        subscriptions: [
          { tier: "monthly", status: "active", expires_at: "2026-01-01T00:00:00Z" },
          { tier: "yearly", status: "active", expires_at: "2027-01-01T00:00:00Z" },
        ],
        purchases: [
          { sku: "A", purchased_at: "2025-01-01T00:00:00Z" },
          { sku: "A", purchased_at: "2025-02-01T00:00:00Z" },
        ],
      }),
    ).toEqual({
      subscription: { tier: "yearly", expires_at: "2027-01-01T00:00:00.000Z", revoked: null },
      purchases: [{ sku: "A", purchased_at: "2025-01-01T00:00:00.000Z" }],
      skipped: 2,
    });
  });
});
