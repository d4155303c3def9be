import { describe, expect, it } from "vitest";
import { adminHeaders, rowsOf } from "../../../test/support/ledger";
import { atClock, errorBody, relay, uniqueId, uniqueIp } from "../../../test/support/relay";

function adminPost(path: string, body: object, key?: string): Promise<Response> {
  const headers = { ...adminHeaders(uniqueIp()), ...(key === undefined ? {} : { "Idempotency-Key": key }) };
  return relay(path, { method: "POST", headers, body: JSON.stringify(body) });
}

// Stripe's API convention (docs, "Idempotent requests"): a retry with the same key answers what the first
// request did and applies nothing again; the replay is marked with `Idempotent-Replayed: true`.
describe("POST /entitlements/grant with Idempotency-Key", () => {
  it("applies a retried renewal once and answers the first event again", async () => {
    const user = uniqueId("idem");
    const key = uniqueId("key");
    const renewal = { user_id: user, type: "subscription", tier: "monthly" };
    const [first, again] = await atClock("2027-01-31T08:00:00.000Z", async () => [
      await adminPost("/entitlements/grant", renewal, key),
      await adminPost("/entitlements/grant", renewal, key),
    ]);

    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const [a, b] = [
      (await first.json()) as { event: { id: number } },
      (await again.json()) as { event: { id: number } },
    ];
    expect(b).toEqual(a);
    const events = await rowsOf("ledger_events", user);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "grant", source: "admin", source_event_id: `key:${key}` });
    // One period, not two: the retry did not extend the subscription.
    expect(await rowsOf("subscriptions", user)).toMatchObject([{ expires_at: "2027-02-28T08:00:00.000Z" }]);
  });

  it("records one grant when the same key arrives five times at once", async () => {
    const user = uniqueId("idem");
    const key = uniqueId("key");
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        adminPost("/entitlements/grant", { user_id: user, type: "purchase", sku: "EBOOK" }, key),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await rowsOf("ledger_events", user)).toHaveLength(1);
  });

  // IETF draft-ietf-httpapi-idempotency-key-header §2.7 and Stripe: a key reused with another body is 422.
  it.each([
    ["another SKU", { type: "purchase", sku: "EBOOK" }, { type: "purchase", sku: "COURSE" }],
    [
      "another expires_at",
      { type: "subscription", tier: "monthly", expires_at: "2031-01-01T00:00:00Z" },
      { type: "subscription", tier: "monthly", expires_at: "2032-01-01T00:00:00Z" },
    ],
    [
      "an expires_at added",
      { type: "subscription", tier: "monthly" },
      { type: "subscription", tier: "monthly", expires_at: "2032-01-01T00:00:00Z" },
    ],
  ])("refuses a key reused with %s with 422 and changes nothing", async (_, first, second) => {
    const user = uniqueId("idem");
    const key = uniqueId("key");
    expect((await adminPost("/entitlements/grant", { user_id: user, ...first }, key)).status).toBe(200);
    const before = [
      await rowsOf("ledger_events", user),
      await rowsOf("subscriptions", user),
      await rowsOf("purchases", user),
    ];
    const reused = await adminPost("/entitlements/grant", { user_id: user, ...second }, key);
    expect(reused.status).toBe(422);
    expect(await reused.json()).toEqual(
      errorBody("idempotency_key_reused", "Idempotency-Key: already used for a different request"),
    );
    expect([
      await rowsOf("ledger_events", user),
      await rowsOf("subscriptions", user),
      await rowsOf("purchases", user),
    ]).toEqual(before);
  });

  it("refuses a key reused for another user with 422", async () => {
    const key = uniqueId("key");
    expect(
      (await adminPost("/entitlements/grant", { user_id: uniqueId("a"), type: "purchase", sku: "EBOOK" }, key)).status,
    ).toBe(200);
    const other = uniqueId("b");
    const reused = await adminPost("/entitlements/grant", { user_id: other, type: "purchase", sku: "EBOOK" }, key);
    expect(reused.status).toBe(422);
    expect(await rowsOf("ledger_events", other)).toEqual([]);
  });

  it("refuses a key reused with another reason with 422", async () => {
    const key = uniqueId("key");
    const user = uniqueId("c");
    const body = { user_id: user, type: "purchase", sku: "EBOOK", reason: "goodwill" };
    expect((await adminPost("/entitlements/grant", body, key)).status).toBe(200);
    const reused = await adminPost("/entitlements/grant", { ...body, reason: "another" }, key);
    expect(reused.status).toBe(422);
    expect(await rowsOf("ledger_events", user)).toHaveLength(1);
  });

  it("refuses a malformed key", async () => {
    const user = uniqueId("idem");
    const response = await adminPost(
      "/entitlements/grant",
      { user_id: user, type: "purchase", sku: "EBOOK" },
      "no spaces",
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      errorBody("invalid_request", "Idempotency-Key: must be 1-200 letters, digits, _ . : or -"),
    );
    expect(await rowsOf("ledger_events", user)).toEqual([]);
  });

  it("without a key treats every request as a new change", async () => {
    const user = uniqueId("idem");
    const renewal = { user_id: user, type: "subscription", tier: "monthly" };
    await adminPost("/entitlements/grant", renewal);
    await adminPost("/entitlements/grant", renewal);
    expect(await rowsOf("ledger_events", user)).toHaveLength(2);
  });
});

describe("POST /entitlements/revoke with Idempotency-Key", () => {
  it("answers a retried revocation with the first event, not 404 for what is no longer held", async () => {
    const user = uniqueId("idem");
    const key = uniqueId("key");
    await adminPost("/entitlements/grant", { user_id: user, type: "purchase", sku: "EBOOK" });
    const revocation = { user_id: user, type: "purchase", sku: "EBOOK", reason: "refund" };
    const first = await adminPost("/entitlements/revoke", revocation, key);
    const again = await adminPost("/entitlements/revoke", revocation, key);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    expect((await rowsOf("ledger_events", user)).map((row) => (row as { type: string }).type)).toEqual([
      "grant",
      "revoke",
    ]);
  });

  it("refuses the key reused with another reason with 422", async () => {
    const user = uniqueId("idem");
    const key = uniqueId("key");
    await adminPost("/entitlements/grant", { user_id: user, type: "purchase", sku: "EBOOK" });
    const revocation = { user_id: user, type: "purchase", sku: "EBOOK", reason: "refund" };
    expect((await adminPost("/entitlements/revoke", revocation, key)).status).toBe(200);
    const reused = await adminPost("/entitlements/revoke", { ...revocation, reason: "chargeback" }, key);
    expect(reused.status).toBe(422);
    expect(await rowsOf("ledger_events", user)).toHaveLength(2);
  });
});
