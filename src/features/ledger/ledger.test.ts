import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uniqueId } from "../../../test/helpers";
import { rowsOf } from "../../../test/ledger-helpers";
import type { Change } from "./events";
import type { Ledger } from "./kv-import";
import { readEntitlements, readHistory } from "./read";
import { recordChange } from "./record";

const ledger: Ledger = { db: env.DB, kv: env.ENTITLEMENTS_KV };
const T0 = new Date("2026-01-15T10:00:00.000Z");
const at = (iso: string) => new Date(iso);

function record(userId: string, change: Change, eventId = uniqueId("evt")) {
  return { userId, source: "admin" as const, sourceEventId: eventId, actor: "admin", change };
}

describe("subscription expiry (clock injected)", () => {
  it("runs one period from now, then reads expired and has_access false after expires_at", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { type: "grant", entitlement: "subscription", tier: "monthly" }), T0);

    const before = await readEntitlements(env.DB, env.ENTITLEMENTS_KV, user, at("2026-02-15T09:59:59.999Z"));
    expect(before).toEqual({
      has_access: true,
      subscription: { tier: "monthly", status: "active", expires_at: "2026-02-15T10:00:00.000Z" },
      purchases: [],
    });
    const after = await readEntitlements(env.DB, env.ENTITLEMENTS_KV, user, at("2026-02-15T10:00:00.000Z"));
    expect(after).toEqual({
      has_access: false,
      subscription: { tier: "monthly", status: "expired", expires_at: "2026-02-15T10:00:00.000Z" },
      purchases: [],
    });
    // Nothing was written by the passing of time: the row still says what was granted.
    expect(await rowsOf("subscriptions", user)).toEqual([
      { tier: "monthly", expires_at: "2026-02-15T10:00:00.000Z", revoked_at: null, revoke_reason: null },
    ]);
  });

  it("renews from the current expiry while it lies ahead, and from now once it has passed", async () => {
    const user = uniqueId("u");
    const renew: Change = { type: "renew", entitlement: "subscription", tier: "quarterly" };
    await recordChange(ledger, record(user, { type: "grant", entitlement: "subscription", tier: "monthly" }), T0);
    // Ten days later, still active until 2026-02-15: three months are added to that, not to now.
    await recordChange(ledger, record(user, renew), at("2026-01-25T00:00:00.000Z"));
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({
      tier: "quarterly",
      expires_at: "2026-05-15T10:00:00.000Z",
    });
    // Long after it expired: the period starts now.
    await recordChange(ledger, record(user, renew), at("2026-09-01T12:00:00.000Z"));
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ expires_at: "2026-12-01T12:00:00.000Z" });
  });

  it("takes an explicit expires_at as given, even in the past (recording history)", async () => {
    const user = uniqueId("u");
    const expiresAt = at("2025-03-01T00:00:00.000Z");
    await recordChange(
      ledger,
      record(user, { type: "grant", entitlement: "subscription", tier: "yearly", expiresAt }),
      T0,
    );
    const found = await readEntitlements(env.DB, env.ENTITLEMENTS_KV, user, T0);
    expect(found.subscription).toEqual({ tier: "yearly", status: "expired", expires_at: "2025-03-01T00:00:00.000Z" });
  });

  it("never shortens a subscription with a late renewal that carries an older period end", async () => {
    const user = uniqueId("u");
    await recordChange(
      ledger,
      record(user, {
        type: "renew",
        entitlement: "subscription",
        tier: "monthly",
        expiresAt: at("2026-03-01T00:00:00Z"),
      }),
      T0,
    );
    await recordChange(
      ledger,
      record(user, {
        type: "renew",
        entitlement: "subscription",
        tier: "monthly",
        expiresAt: at("2026-02-01T00:00:00Z"),
      }),
      T0,
    );
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ expires_at: "2026-03-01T00:00:00.000Z" });
  });

  it("ends a subscription at the cancel time, never later than it already ran", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { type: "grant", entitlement: "subscription", tier: "yearly" }), T0);
    await recordChange(
      ledger,
      record(user, { type: "cancel", entitlement: "subscription", endsAt: at("2026-02-01T00:00:00Z") }),
      T0,
    );
    const found = await readEntitlements(env.DB, env.ENTITLEMENTS_KV, user, at("2026-02-01T00:00:01Z"));
    expect(found.subscription).toEqual({ tier: "yearly", status: "expired", expires_at: "2026-02-01T00:00:00.000Z" });
  });
});

describe("revocation", () => {
  it("revokes with a reason: status revoked, has_access false, and a new purchase of the SKU restores it", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { type: "grant", entitlement: "subscription", tier: "monthly" }), T0);
    await recordChange(ledger, record(user, { type: "grant", entitlement: "purchase", sku: "EBOOK" }), T0);
    const later = at("2026-01-16T00:00:00.000Z");
    await recordChange(
      ledger,
      record(user, { type: "revoke", entitlement: "subscription", tier: "monthly", reason: "chargeback" }),
      later,
    );
    await recordChange(
      ledger,
      record(user, { type: "revoke", entitlement: "purchase", sku: "EBOOK", reason: "refund" }),
      later,
    );
    expect(await readEntitlements(env.DB, env.ENTITLEMENTS_KV, user, later)).toEqual({
      has_access: false,
      subscription: { tier: "monthly", status: "revoked", expires_at: "2026-02-15T10:00:00.000Z" },
      purchases: [],
    });
    expect(await rowsOf("purchases", user)).toEqual([
      { sku: "EBOOK", purchased_at: T0.toISOString(), revoked_at: later.toISOString(), revoke_reason: "refund" },
    ]);

    const rebuy = at("2026-03-01T00:00:00.000Z");
    await recordChange(ledger, record(user, { type: "grant", entitlement: "purchase", sku: "EBOOK" }), rebuy);
    expect((await readEntitlements(env.DB, env.ENTITLEMENTS_KV, user, rebuy)).purchases).toEqual([
      { sku: "EBOOK", purchased_at: rebuy.toISOString() },
    ]);
  });

  it("keeps one purchase when a SKU is bought twice, with the first purchase time", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { type: "grant", entitlement: "purchase", sku: "EBOOK" }), T0);
    await recordChange(
      ledger,
      record(user, { type: "grant", entitlement: "purchase", sku: "EBOOK" }),
      at("2026-05-01T00:00:00Z"),
    );
    expect(await rowsOf("purchases", user)).toEqual([
      { sku: "EBOOK", purchased_at: T0.toISOString(), revoked_at: null, revoke_reason: null },
    ]);
    expect(await rowsOf("ledger_events", user)).toHaveLength(2);
  });
});

describe("ledger events", () => {
  it("applies an event id once: the second recording is a duplicate and changes nothing", async () => {
    const user = uniqueId("u");
    const change: Change = { type: "renew", entitlement: "subscription", tier: "monthly" };
    const first = await recordChange(ledger, record(user, change, `${user}-evt`), T0);
    const second = await recordChange(ledger, record(user, change, `${user}-evt`), T0);
    expect(first.status).toBe("applied");
    expect(second).toEqual({ status: "duplicate" });
    expect(await rowsOf("ledger_events", user)).toHaveLength(1);
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ expires_at: "2026-02-15T10:00:00.000Z" });
  });

  it("lists history oldest first with absent fields left out", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { type: "grant", entitlement: "purchase", sku: "A" }, `${user}-1`), T0);
    await recordChange(
      ledger,
      record(user, { type: "revoke", entitlement: "purchase", sku: "A", reason: "refund" }, `${user}-2`),
      at("2026-01-16T00:00:00Z"),
    );
    const history = await readHistory(env.DB, env.ENTITLEMENTS_KV, user, T0);
    expect(history).toEqual([
      {
        id: expect.any(Number),
        type: "grant",
        entitlement: "purchase",
        source: "admin",
        source_event_id: `${user}-1`,
        sku: "A",
        created_at: T0.toISOString(),
      },
      {
        id: expect.any(Number),
        type: "revoke",
        entitlement: "purchase",
        source: "admin",
        source_event_id: `${user}-2`,
        sku: "A",
        reason: "refund",
        created_at: "2026-01-16T00:00:00.000Z",
      },
    ]);
    expect(history[0]?.id).toBeLessThan(history[1]?.id ?? 0);
  });

  it("is append-only: D1 refuses to update or delete an event", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { type: "grant", entitlement: "purchase", sku: "A" }), T0);
    await expect(
      env.DB.prepare("UPDATE ledger_events SET sku = 'B' WHERE user_id = ?").bind(user).run(),
    ).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM ledger_events WHERE user_id = ?").bind(user).run()).rejects.toThrow(
      /append-only/,
    );
    expect(await rowsOf("ledger_events", user)).toHaveLength(1);
  });
});
