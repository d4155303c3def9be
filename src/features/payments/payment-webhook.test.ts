import { describe, expect, it } from "vitest";
import { PAYMENT_WEBHOOK_SECRET } from "../../../test/secrets";
import { auditOf, paymentHeaders, postPayment, rowsOf } from "../../../test/support/ledger";
import { captureLogs, errorBody, relay, uniqueId } from "../../../test/support/relay";

function send(headers: Record<string, string>, body: string, vars?: Record<string, string>) {
  return relay("/webhooks/payment", { method: "POST", headers, body }, vars);
}

async function nothingWrittenFor(user: string) {
  expect(await rowsOf("ledger_events", user)).toEqual([]);
  expect(await auditOf(user)).toEqual([]);
}

describe("POST /webhooks/payment: Standard Webhooks signatures (https://www.standardwebhooks.com/)", () => {
  it("applies a purchase signed by the official standardwebhooks package", async () => {
    const user = uniqueId("u");
    const id = uniqueId("msg");
    const response = await postPayment(id, { type: "purchase.completed", user_id: user, sku: "EBOOK" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, event_id: id, outcome: "applied" });
    expect(await rowsOf("ledger_events", user)).toEqual([
      {
        type: "grant",
        entitlement: "purchase",
        tier: null,
        sku: "EBOOK",
        expires_at: null,
        reason: null,
        source: "payment",
        source_ref: "payment:sku:EBOOK",
        source_event_id: id,
      },
    ]);
    expect(await auditOf(user)).toEqual([{ actor: "payment", action: "grant", target: `user:${user}`, outcome: "ok" }]);
  });

  it("refuses a tampered body, a wrong secret, a stale timestamp and missing headers, writing nothing", async () => {
    const user = uniqueId("u");
    const body = JSON.stringify({ type: "purchase.completed", user_id: user, sku: "EBOOK" });
    const other = JSON.stringify({ type: "purchase.completed", user_id: user, sku: "COURSE" });
    const { "webhook-signature": _, ...unsigned } = paymentHeaders("m1", body);
    const cases: Array<[Record<string, string>, string, string]> = [
      [paymentHeaders("m1", other), body, "No matching signature found"],
      [
        paymentHeaders("m2", body, { secret: "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY" }),
        body,
        "No matching signature found",
      ],
      [paymentHeaders("m3", body, { at: new Date(Date.now() - 301_000) }), body, "Message timestamp too old"],
      [unsigned, body, "Missing required headers"],
    ];
    for (const [headers, sent, detail] of cases) {
      const response = await send(headers, sent);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(errorBody("invalid_signature", `Webhook signature rejected: ${detail}`));
    }
    await nothingWrittenFor(user);
  });

  it("applies a redelivered webhook-id once, 200 both times", async () => {
    const user = uniqueId("u");
    const id = uniqueId("msg");
    const event = {
      type: "subscription.activated",
      user_id: user,
      tier: "monthly",
      expires_at: "2031-01-01T00:00:00Z",
    };
    const first = await postPayment(id, event);
    const second = await postPayment(id, event);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await second.json()).toEqual({ success: true, event_id: id, outcome: "duplicate" });
    expect(await rowsOf("ledger_events", user)).toHaveLength(1);
  });

  it("refuses a signed body that is not one of the event types, naming the field", async () => {
    const user = uniqueId("u");
    const response = await postPayment(uniqueId("msg"), { type: "purchase.completed", user_id: user });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      errorBody("invalid_request", expect.stringMatching(/^sku:/) as unknown as string),
    );
    await nothingWrittenFor(user);
  });

  it("answers 503 when PAYMENT_WEBHOOK_SECRET is not a Standard Webhooks secret", async () => {
    const response = await send({}, "{}", { PAYMENT_WEBHOOK_SECRET: "whsec_" });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(errorBody("not_configured"));
  });
});

describe("POST /webhooks/payment: events", () => {
  it("activates, renews and cancels a subscription, and refunds a purchase", async () => {
    const user = uniqueId("u");
    const post = (event: Record<string, unknown>) => postPayment(uniqueId("msg"), { user_id: user, ...event });
    await post({ type: "subscription.activated", tier: "monthly", expires_at: "2031-01-01T00:00:00Z" });
    await post({ type: "subscription.renewed", tier: "monthly", expires_at: "2031-02-01T00:00:00Z" });
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ expires_at: "2031-02-01T00:00:00.000Z" });
    await post({ type: "subscription.canceled", expires_at: "2031-01-15T00:00:00Z" });
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ expires_at: "2031-01-15T00:00:00.000Z" });
    await post({ type: "purchase.completed", sku: "EBOOK" });
    await post({ type: "purchase.refunded", sku: "EBOOK" });
    expect((await rowsOf("purchases", user))[0]).toMatchObject({ revoke_reason: "payment:purchase.refunded" });
    expect((await rowsOf("ledger_events", user)).map((e) => e.type)).toEqual([
      "grant",
      "renew",
      "cancel",
      "grant",
      "revoke",
    ]);
  });

  it("keeps subscriptions and purchases with their own ids apart: a refund or cancel ends only its own", async () => {
    const user = uniqueId("u");
    const post = (event: Record<string, unknown>) => postPayment(uniqueId("msg"), { user_id: user, ...event });
    await post({
      type: "subscription.activated",
      tier: "yearly",
      subscription_id: "S-1",
      expires_at: "2031-01-01T00:00:00Z",
    });
    await post({
      type: "subscription.activated",
      tier: "monthly",
      subscription_id: "S-2",
      expires_at: "2030-02-01T00:00:00Z",
    });
    await post({ type: "subscription.canceled", subscription_id: "S-2", expires_at: "2030-01-15T00:00:00Z" });
    await post({ type: "purchase.completed", sku: "EBOOK", purchase_id: "own" });
    await post({ type: "purchase.completed", sku: "EBOOK", purchase_id: "gift" });
    await post({ type: "purchase.refunded", sku: "EBOOK", purchase_id: "gift" });
    expect(await rowsOf("subscriptions", user)).toEqual([
      {
        tier: "yearly",
        expires_at: "2031-01-01T00:00:00.000Z",
        source_ref: "payment:subscription:S-1",
        revoked_at: null,
        revoke_reason: null,
      },
      {
        tier: "monthly",
        expires_at: "2030-01-15T00:00:00.000Z",
        source_ref: "payment:subscription:S-2",
        revoked_at: null,
        revoke_reason: null,
      },
    ]);
    expect((await rowsOf("purchases", user)).map((row) => [row.source_ref, row.revoke_reason])).toEqual([
      ["payment:purchase:own", null],
      ["payment:purchase:gift", "payment:purchase.refunded"],
    ]);
  });

  it("logs neither the payload nor the secret", async () => {
    const user = uniqueId("u");
    const { result, logs } = await captureLogs(() =>
      postPayment(uniqueId("msg"), { type: "purchase.completed", user_id: user, sku: "PRIVATE-SKU" }),
    );
    expect(result.status).toBe(200);
    expect(logs).toContain('"webhook_event":"purchase.completed"');
    for (const leak of [user, "PRIVATE-SKU", PAYMENT_WEBHOOK_SECRET]) expect(logs).not.toContain(leak);
  });
});
