import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rowsOf } from "../../../test/support/ledger";
import { uniqueId } from "../../../test/support/relay";
import type { Change, Source } from "./change";
import type { Ledger } from "./kv-import";
import { readEntitlements, readHistory } from "./read";
import { recordChange } from "./record";

// Every test passes its clock in: the ledger takes `now` as an argument, so nothing here depends on the date
// the suite runs on.
const ledger: Ledger = { db: env.DB, kv: env.ENTITLEMENTS_KV };
const T0 = new Date("2026-01-15T10:00:00.000Z");
const at = (iso: string) => new Date(iso);
const read = (user: string, now: Date) => readEntitlements(ledger, { id: user }, now);

function record(userId: string, change: Change, source: Source = "admin", eventId = uniqueId("evt")) {
  return { userId, source, sourceEventId: eventId, actor: source, change };
}

const monthly = (sourceRef: string, extra: Partial<Change> = {}): Change =>
  ({ type: "grant", entitlement: "subscription", tier: "monthly", sourceRef, ...extra }) as Change;

describe("subscription expiry (clock injected)", () => {
  it("runs one period from now, then reads expired and has_access false after expires_at", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, monthly("admin:a")), T0);

    const expected = { tier: "monthly", expires_at: "2026-02-15T10:00:00.000Z" };
    expect(await read(user, at("2026-02-15T09:59:59.999Z"))).toEqual({
      has_access: true,
      subscription: { ...expected, status: "active" },
      subscriptions: [{ ...expected, status: "active", source: "admin:a" }],
      purchases: [],
    });
    expect(await read(user, at("2026-02-15T10:00:00.000Z"))).toEqual({
      has_access: false,
      subscription: { ...expected, status: "expired" },
      subscriptions: [{ ...expected, status: "expired", source: "admin:a" }],
      purchases: [],
    });
    // Nothing was written by the passing of time: the row still says what was granted.
    expect(await rowsOf("subscriptions", user)).toEqual([
      { ...expected, source_ref: "admin:a", revoked_at: null, revoke_reason: null },
    ]);
  });

  it.each([
    // now, tier, expires_at: clamped to the end of the month as Stripe bills
    ["2027-01-31T10:00:00.000Z", "monthly", "2027-02-28T10:00:00.000Z"],
    ["2028-01-31T10:00:00.000Z", "monthly", "2028-02-29T10:00:00.000Z"],
    ["2026-08-31T10:00:00.000Z", "quarterly", "2026-11-30T10:00:00.000Z"],
    ["2028-02-29T10:00:00.000Z", "yearly", "2029-02-28T10:00:00.000Z"],
    ["2026-11-30T10:00:00.000Z", "monthly", "2026-12-30T10:00:00.000Z"],
  ] as const)("granted at %s, a %s period ends %s", async (now, tier, expiresAt) => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { ...monthly("admin:a"), tier } as Change), at(now));
    expect((await read(user, at(now))).subscription).toEqual({ tier, status: "active", expires_at: expiresAt });
  });

  it("renews a source from its current expiry while it lies ahead, and from now once it has passed", async () => {
    const user = uniqueId("u");
    const renew: Change = { type: "renew", entitlement: "subscription", tier: "quarterly", sourceRef: "stripe:sub_1" };
    await recordChange(ledger, record(user, { ...monthly("stripe:sub_1") }, "stripe"), at("2026-01-31T10:00:00.000Z"));
    // Still active until 28 February: three months are added to that, not to now.
    await recordChange(ledger, record(user, renew, "stripe"), at("2026-02-10T00:00:00.000Z"));
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({
      tier: "quarterly",
      expires_at: "2026-05-28T10:00:00.000Z",
    });
    // Long after it expired: the period starts now.
    await recordChange(ledger, record(user, renew, "stripe"), at("2026-09-01T12:00:00.000Z"));
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ expires_at: "2026-12-01T12:00:00.000Z" });
  });

  it.each([
    // the clock of all twelve grants, and where twelve one-month periods, each after the last, end
    ["2026-01-15T10:00:00.000Z", "2027-01-15T10:00:00.000Z"],
    ["2026-11-30T10:00:00.000Z", "2027-11-28T10:00:00.000Z"],
    ["2027-01-31T10:00:00.000Z", "2028-01-28T10:00:00.000Z"],
    ["2028-02-29T10:00:00.000Z", "2029-02-28T10:00:00.000Z"],
    ["2026-12-31T23:00:00.000Z", "2027-12-28T23:00:00.000Z"],
  ])("stacks 12 admin grants fired at once at %s: none is lost (ends %s)", async (now, end) => {
    const user = uniqueId("u");
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        recordChange(ledger, record(user, { ...monthly(`admin:${i}`), stackOn: "user" } as Change), at(now)),
      ),
    );
    const found = await read(user, at(now));
    expect(found.subscriptions).toHaveLength(12);
    expect(found.subscription).toEqual({ tier: "monthly", status: "active", expires_at: end });
  });

  it("takes an explicit expires_at as given, even in the past (recording history)", async () => {
    const user = uniqueId("u");
    const expiresAt = at("2025-03-01T00:00:00.000Z");
    await recordChange(ledger, record(user, { ...monthly("admin:a"), tier: "yearly", expiresAt } as Change), T0);
    expect((await read(user, T0)).subscription).toEqual({
      tier: "yearly",
      status: "expired",
      expires_at: "2025-03-01T00:00:00.000Z",
    });
  });

  it("never shortens a source with a late renewal that carries an older period end", async () => {
    const user = uniqueId("u");
    const renewal = (iso: string): Change => ({
      type: "renew",
      entitlement: "subscription",
      tier: "monthly",
      sourceRef: "payment:subscription",
      expiresAt: at(iso),
    });
    await recordChange(ledger, record(user, renewal("2026-03-01T00:00:00Z"), "payment"), T0);
    await recordChange(ledger, record(user, renewal("2026-02-01T00:00:00Z"), "payment"), T0);
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ expires_at: "2026-03-01T00:00:00.000Z" });
  });

  it("ends a source at the cancel time, never later than it already ran", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { ...monthly("stripe:sub_1"), tier: "yearly" } as Change, "stripe"), T0);
    const cancel: Change = {
      type: "cancel",
      entitlement: "subscription",
      sourceRef: "stripe:sub_1",
      endsAt: at("2026-02-01T00:00:00Z"),
    };
    await recordChange(ledger, record(user, cancel, "stripe"), T0);
    expect((await read(user, at("2026-02-01T00:00:01Z"))).subscription).toEqual({
      tier: "yearly",
      status: "expired",
      expires_at: "2026-02-01T00:00:00.000Z",
    });
  });
});

describe("entitlements per source: access is the union", () => {
  it("cancels one Stripe subscription without touching another the user holds", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { ...monthly("stripe:sub_year"), tier: "yearly" } as Change, "stripe"), T0);
    await recordChange(ledger, record(user, monthly("stripe:sub_gift"), "stripe"), T0);
    const cancel: Change = { type: "cancel", entitlement: "subscription", sourceRef: "stripe:sub_gift", endsAt: T0 };
    await recordChange(ledger, record(user, cancel, "stripe"), T0);

    const found = await read(user, at("2026-06-01T00:00:00Z"));
    expect(found.has_access).toBe(true);
    expect(found.subscription).toEqual({ tier: "yearly", status: "active", expires_at: "2027-01-15T10:00:00.000Z" });
    expect(found.subscriptions).toEqual([
      { tier: "yearly", status: "active", expires_at: "2027-01-15T10:00:00.000Z", source: "stripe:sub_year" },
      { tier: "monthly", status: "expired", expires_at: T0.toISOString(), source: "stripe:sub_gift" },
    ]);
  });

  it("revokes a refunded source and keeps the other, which runs only its own period", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, { ...monthly("stripe:sub_year"), tier: "yearly" } as Change, "stripe"), T0);
    await recordChange(ledger, record(user, monthly("stripe:sub_month"), "stripe"), T0);
    const refund: Change = {
      type: "revoke",
      entitlement: "subscription",
      sourceRef: "stripe:sub_year",
      reason: "stripe:charge.refunded",
    };
    await recordChange(ledger, record(user, refund, "stripe"), T0);
    expect((await read(user, T0)).subscription).toEqual({
      tier: "monthly",
      status: "active",
      expires_at: "2026-02-15T10:00:00.000Z",
    });
    expect((await read(user, at("2026-02-15T10:00:00.000Z"))).has_access).toBe(false);
  });

  it("keeps a SKU owned while any copy is unrevoked, listed once with its earliest purchase", async () => {
    const user = uniqueId("u");
    const copy = (sourceRef: string): Change => ({ type: "grant", entitlement: "purchase", sku: "EBOOK", sourceRef });
    await recordChange(ledger, record(user, copy("stripe:pi_own"), "stripe"), T0);
    await recordChange(ledger, record(user, copy("stripe:pi_gift"), "stripe"), at("2026-03-01T00:00:00Z"));
    expect((await read(user, T0)).purchases).toEqual([{ sku: "EBOOK", purchased_at: T0.toISOString() }]);

    const refund: Change = { type: "revoke", entitlement: "purchase", sourceRef: "stripe:pi_gift", reason: "refund" };
    await recordChange(ledger, record(user, refund, "stripe"), at("2026-03-02T00:00:00Z"));
    expect(await read(user, at("2026-03-02T00:00:00Z"))).toMatchObject({
      has_access: true,
      purchases: [{ sku: "EBOOK", purchased_at: T0.toISOString() }],
    });

    const own: Change = { type: "revoke", entitlement: "purchase", sourceRef: "stripe:pi_own", reason: "refund" };
    await recordChange(ledger, record(user, own, "stripe"), at("2026-03-03T00:00:00Z"));
    expect(await read(user, at("2026-03-03T00:00:00Z"))).toMatchObject({ has_access: false, purchases: [] });
  });

  it("revokes every source of a tier or SKU when no source is named", async () => {
    const user = uniqueId("u");
    await recordChange(ledger, record(user, monthly("admin:a")), T0);
    await recordChange(ledger, record(user, monthly("stripe:sub_1"), "stripe"), T0);
    await recordChange(ledger, record(user, { ...monthly("admin:b"), tier: "yearly" } as Change), T0);
    const all: Change = { type: "revoke", entitlement: "subscription", tier: "monthly", reason: "chargeback" };
    await recordChange(ledger, record(user, all), T0);
    expect((await read(user, T0)).subscriptions.map((s) => [s.source, s.status])).toEqual([
      ["admin:b", "active"],
      ["admin:a", "revoked"],
      ["stripe:sub_1", "revoked"],
    ]);
  });

  it("restores a revoked purchase when the same source grants it again", async () => {
    const user = uniqueId("u");
    const grant: Change = { type: "grant", entitlement: "purchase", sku: "EBOOK", sourceRef: "payment:sku:EBOOK" };
    await recordChange(ledger, record(user, grant, "payment"), T0);
    const refund: Change = { type: "revoke", entitlement: "purchase", sourceRef: "payment:sku:EBOOK", reason: "r" };
    await recordChange(ledger, record(user, refund, "payment"), at("2026-01-16T00:00:00Z"));
    const rebuy = at("2026-03-01T00:00:00.000Z");
    await recordChange(ledger, record(user, grant, "payment"), rebuy);
    expect((await read(user, rebuy)).purchases).toEqual([{ sku: "EBOOK", purchased_at: rebuy.toISOString() }]);
    expect(await rowsOf("purchases", user)).toHaveLength(1);
  });
});

describe("ledger events", () => {
  it("applies an event id once: the second recording is a duplicate and changes nothing", async () => {
    const user = uniqueId("u");
    const change: Change = {
      type: "renew",
      entitlement: "subscription",
      tier: "monthly",
      sourceRef: "payment:subscription",
    };
    const first = await recordChange(ledger, record(user, change, "payment", `${user}-evt`), T0);
    const second = await recordChange(ledger, record(user, change, "payment", `${user}-evt`), T0);
    expect(first.status).toBe("applied");
    expect(second).toEqual({ status: "duplicate" });
    expect(await rowsOf("ledger_events", user)).toHaveLength(1);
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ expires_at: "2026-02-15T10:00:00.000Z" });
  });

  it("lists history oldest first, naming each event's source, with absent fields left out", async () => {
    const user = uniqueId("u");
    const grant: Change = { type: "grant", entitlement: "purchase", sku: "A", sourceRef: "admin:1" };
    await recordChange(ledger, record(user, grant, "admin", `${user}-1`), T0);
    const revoke: Change = { type: "revoke", entitlement: "purchase", sku: "A", reason: "refund" };
    await recordChange(ledger, record(user, revoke, "admin", `${user}-2`), at("2026-01-16T00:00:00Z"));
    const history = await readHistory(ledger, { id: user }, T0);
    expect(history).toEqual([
      {
        id: expect.any(Number),
        type: "grant",
        entitlement: "purchase",
        source: "admin",
        source_ref: "admin:1",
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
    await recordChange(
      ledger,
      record(user, { type: "grant", entitlement: "purchase", sku: "A", sourceRef: "admin:1" }),
      T0,
    );
    await expect(
      env.DB.prepare("UPDATE ledger_events SET sku = 'B' WHERE user_id = ?").bind(user).run(),
    ).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM ledger_events WHERE user_id = ?").bind(user).run()).rejects.toThrow(
      /append-only/,
    );
    expect(await rowsOf("ledger_events", user)).toHaveLength(1);
  });
});
