import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, STRIPE_WEBHOOK_SECRET } from "../../../test/secrets";
import { auditOf, postStripe, rowsOf, stripeEvent, stripeSignature } from "../../../test/support/ledger";
import { atClock, captureLogs, errorBody, relay, uniqueId, uniqueIp } from "../../../test/support/relay";

type Purchase = { tier?: string; sku?: string; payment_status?: string };

/** A `checkout.session.completed` event as Stripe sends it for a Payment Link with metadata. */
function checkout(
  user: string,
  what: Purchase,
  ids = { sub: uniqueId("sub"), cus: uniqueId("cus"), pi: uniqueId("pi") },
) {
  const metadata: Record<string, string> = {};
  if (what.tier) metadata.tier = what.tier;
  if (what.sku) metadata.sku = what.sku;
  const event = stripeEvent(uniqueId("evt"), "checkout.session.completed", {
    id: uniqueId("cs"),
    object: "checkout.session",
    mode: what.tier ? "subscription" : "payment",
    payment_status: what.payment_status ?? "paid",
    client_reference_id: user,
    customer: ids.cus,
    subscription: what.tier ? ids.sub : null,
    payment_intent: what.tier ? null : ids.pi,
    metadata,
    customer_details: { email: "buyer@example.com", name: "Jane Buyer" },
  });
  return { event, ids };
}

function invoicePaid(subscription: string, periodEnd: number, paymentIntent = uniqueId("pi")) {
  return stripeEvent(uniqueId("evt"), "invoice.paid", {
    id: uniqueId("in"),
    object: "invoice",
    subscription,
    payment_intent: paymentIntent,
    lines: { object: "list", data: [{ period: { start: periodEnd - 30 * 86400, end: periodEnd } }] },
  });
}

async function refsOf(userId: string) {
  const { results } = await env.DB.prepare(
    "SELECT kind, stripe_id, tier, sku, source_ref FROM stripe_refs WHERE user_id = ? ORDER BY kind",
  )
    .bind(userId)
    .all();
  return results;
}

async function nothingWrittenFor(user: string) {
  expect(await rowsOf("ledger_events", user)).toEqual([]);
  expect(await rowsOf("subscriptions", user)).toEqual([]);
  expect(await rowsOf("purchases", user)).toEqual([]);
  expect(await refsOf(user)).toEqual([]);
  expect(await auditOf(user)).toEqual([]);
}

describe("POST /webhooks/stripe: signatures (https://docs.stripe.com/webhooks#verify-events)", () => {
  it("applies a checkout signed by the official stripe package and records Stripe's ids", async () => {
    const user = uniqueId("u");
    const { event, ids } = checkout(user, { tier: "monthly" });
    const response = await postStripe(event);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, event_id: event.id, outcome: "applied" });
    expect(await rowsOf("ledger_events", user)).toEqual([
      {
        type: "grant",
        entitlement: "subscription",
        tier: "monthly",
        sku: null,
        expires_at: expect.any(String),
        reason: null,
        source: "stripe",
        source_ref: `stripe:${ids.sub}`,
        source_event_id: event.id,
      },
    ]);
    expect(await refsOf(user)).toEqual([
      { kind: "customer", stripe_id: ids.cus, tier: "monthly", sku: null, source_ref: `stripe:${ids.sub}` },
      { kind: "subscription", stripe_id: ids.sub, tier: "monthly", sku: null, source_ref: `stripe:${ids.sub}` },
    ]);
    expect(await auditOf(user)).toEqual([{ actor: "stripe", action: "grant", target: `user:${user}`, outcome: "ok" }]);
  });

  it("grants a store purchase and maps its payment intent", async () => {
    const user = uniqueId("u");
    const { event, ids } = checkout(user, { sku: "EBOOK" });
    expect((await postStripe(event)).status).toBe(200);
    expect(await rowsOf("purchases", user)).toEqual([
      {
        sku: "EBOOK",
        purchased_at: expect.any(String),
        source_ref: `stripe:${ids.pi}`,
        revoked_at: null,
        revoke_reason: null,
      },
    ]);
    expect(await refsOf(user)).toEqual([
      { kind: "customer", stripe_id: ids.cus, tier: null, sku: "EBOOK", source_ref: `stripe:${ids.pi}` },
      { kind: "payment_intent", stripe_id: ids.pi, tier: null, sku: "EBOOK", source_ref: `stripe:${ids.pi}` },
    ]);
  });

  it("refuses a tampered body with 400 and writes nothing", async () => {
    const user = uniqueId("u");
    const { event } = checkout(user, { tier: "yearly" });
    const signature = await stripeSignature(JSON.stringify(checkout(user, { tier: "monthly" }).event));
    const response = await postStripe(event, signature);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errorBody("invalid_signature", "Stripe-Signature does not match the body"));
    await nothingWrittenFor(user);
  });

  it("refuses a signature made with another secret", async () => {
    const user = uniqueId("u");
    const { event } = checkout(user, { tier: "yearly" });
    const signature = await stripeSignature(JSON.stringify(event), { secret: "whsec_someone_else" });
    const response = await postStripe(event, signature);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errorBody("invalid_signature", "Stripe-Signature does not match the body"));
    await nothingWrittenFor(user);
  });

  it("refuses a stale signature (now - 301 s, outside the 300 s tolerance)", async () => {
    const user = uniqueId("u");
    const { event } = checkout(user, { tier: "yearly" });
    const timestamp = Math.floor(Date.now() / 1000) - 301;
    const response = await postStripe(event, await stripeSignature(JSON.stringify(event), { timestamp }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      errorBody("invalid_signature", "Stripe-Signature timestamp is outside the 300 s tolerance"),
    );
    await nothingWrittenFor(user);
  });

  it("refuses a request without Stripe-Signature", async () => {
    const user = uniqueId("u");
    const response = await postStripe(checkout(user, { tier: "yearly" }).event, null);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errorBody("invalid_signature", "Stripe-Signature header is missing"));
    await nothingWrittenFor(user);
  });

  it("answers 503 naming STRIPE_WEBHOOK_SECRET when it is not set", async () => {
    const response = await relay("/webhooks/stripe", { method: "POST", body: "{}" }, { STRIPE_WEBHOOK_SECRET: "" });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(
      errorBody("not_configured", "The relay is not configured: STRIPE_WEBHOOK_SECRET is not set"),
    );
  });
});

describe("POST /webhooks/stripe: at-least-once delivery", () => {
  it("applies a redelivered event once and answers 200 both times", async () => {
    const user = uniqueId("u");
    const { event } = checkout(user, { sku: "EBOOK" });
    const first = await postStripe(event);
    const second = await postStripe(event);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await second.json()).toEqual({ success: true, event_id: event.id, outcome: "duplicate" });
    expect(await rowsOf("ledger_events", user)).toHaveLength(1);
    expect((await auditOf(user)).map((row) => row.outcome)).toEqual(["ok", "duplicate"]);
  });

  it("turns the same event delivered 20 times at once into one grant and one ledger event", async () => {
    const user = uniqueId("u");
    const { event, ids } = checkout(user, { tier: "monthly" });
    const body = JSON.stringify(event);
    const responses = await atClock("2027-01-31T09:00:00.000Z", async () => {
      const signature = await stripeSignature(body);
      return Promise.all(
        Array.from({ length: 20 }, () =>
          relay("/webhooks/stripe", { method: "POST", headers: { "Stripe-Signature": signature }, body }),
        ),
      );
    });
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const outcomes = await Promise.all(responses.map(async (r) => ((await r.json()) as { outcome: string }).outcome));
    expect(outcomes.filter((o) => o === "applied")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(19);
    expect(await rowsOf("ledger_events", user)).toHaveLength(1);
    // One grant: the subscription runs one month (to the end of February), not twenty.
    expect(await rowsOf("subscriptions", user)).toEqual([
      {
        tier: "monthly",
        expires_at: "2027-02-28T09:00:00.000Z",
        source_ref: `stripe:${ids.sub}`,
        revoked_at: null,
        revoke_reason: null,
      },
    ]);
    expect((await auditOf(user)).filter((row) => row.outcome === "ok")).toHaveLength(1);
  });

  it("answers 503 to invoice.paid before its checkout so Stripe retries, then applies it after", async () => {
    const user = uniqueId("u");
    const { event: paid, ids } = checkout(user, { tier: "monthly" });
    const periodEnd = Math.floor(Date.parse("2031-03-01T00:00:00Z") / 1000);
    const invoice = invoicePaid(ids.sub, periodEnd);

    const early = await postStripe(invoice);
    expect(early.status).toBe(503);
    expect(early.headers.get("Retry-After")).toBe("60");
    expect(await early.json()).toEqual(errorBody("retry_later", `Subscription ${ids.sub} is not in the ledger yet`));
    await nothingWrittenFor(user);

    expect((await postStripe(paid)).status).toBe(200);
    const retried = await postStripe(invoice);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ success: true, event_id: invoice.id, outcome: "applied" });
    expect(await rowsOf("subscriptions", user)).toEqual([
      {
        tier: "monthly",
        expires_at: "2031-03-01T00:00:00.000Z",
        source_ref: `stripe:${ids.sub}`,
        revoked_at: null,
        revoke_reason: null,
      },
    ]);
    expect((await rowsOf("ledger_events", user)).map((e) => e.type)).toEqual(["grant", "renew"]);
  });

  it("answers 503 to customer.subscription.deleted for an unknown subscription", async () => {
    const sub = uniqueId("sub");
    const response = await postStripe(
      stripeEvent(uniqueId("evt"), "customer.subscription.deleted", { id: sub, object: "subscription" }),
    );
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(errorBody("retry_later"));
  });
});

describe("POST /webhooks/stripe: events", () => {
  it("ends a subscription on customer.subscription.deleted", async () => {
    const user = uniqueId("u");
    const { event, ids } = checkout(user, { tier: "yearly" });
    await postStripe(event);
    const endedAt = Math.floor(Date.now() / 1000) - 10;
    const deleted = stripeEvent(uniqueId("evt"), "customer.subscription.deleted", {
      id: ids.sub,
      object: "subscription",
      ended_at: endedAt,
    });
    expect((await postStripe(deleted)).status).toBe(200);
    const check = await relay(`/entitlements/check?user_id=${user}`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(await check.json()).toMatchObject({
      has_access: false,
      subscription: { tier: "yearly", status: "expired", expires_at: new Date(endedAt * 1000).toISOString() },
    });
  });

  it("revokes a purchase on a full charge.refunded and ignores a partial one", async () => {
    const user = uniqueId("u");
    const { event, ids } = checkout(user, { sku: "COURSE" });
    await postStripe(event);
    const refund = (refunded: boolean) =>
      stripeEvent(uniqueId("evt"), "charge.refunded", {
        id: uniqueId("ch"),
        object: "charge",
        payment_intent: ids.pi,
        refunded,
        amount_refunded: refunded ? 1000 : 100,
      });
    const partial = await postStripe(refund(false));
    expect(await partial.json()).toMatchObject({ outcome: "ignored" });
    expect((await rowsOf("purchases", user))[0]).toMatchObject({ revoked_at: null });

    expect((await postStripe(refund(true))).status).toBe(200);
    expect((await rowsOf("purchases", user))[0]).toMatchObject({
      sku: "COURSE",
      revoked_at: expect.any(String),
      revoke_reason: "stripe:charge.refunded",
    });
  });

  it("revokes the subscription when its invoice payment is refunded", async () => {
    const user = uniqueId("u");
    const { event, ids } = checkout(user, { tier: "monthly" });
    await postStripe(event);
    const pi = uniqueId("pi");
    await postStripe(invoicePaid(ids.sub, Math.floor(Date.now() / 1000) + 30 * 86400, pi));
    const refund = stripeEvent(uniqueId("evt"), "charge.refunded", {
      object: "charge",
      payment_intent: pi,
      refunded: true,
    });
    expect((await postStripe(refund)).status).toBe(200);
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ revoke_reason: "stripe:charge.refunded" });
  });

  it("revokes the subscription when a renewal paid under the 2025 invoice shape (payments list) is refunded", async () => {
    const user = uniqueId("u");
    const { event, ids } = checkout(user, { tier: "monthly" });
    await postStripe(event);
    const pi = uniqueId("pi");
    const renewal = stripeEvent(uniqueId("evt"), "invoice.paid", {
      object: "invoice",
      parent: { subscription_details: { subscription: ids.sub } },
      payments: {
        object: "list",
        data: [{ object: "invoice_payment", payment: { type: "payment_intent", payment_intent: pi } }],
      },
      lines: { data: [{ period: { end: Math.floor(Date.parse("2031-01-01T00:00:00Z") / 1000) } }] },
    });
    expect(await (await postStripe(renewal)).json()).toMatchObject({ outcome: "applied" });
    const refund = stripeEvent(uniqueId("evt"), "charge.refunded", {
      object: "charge",
      payment_intent: pi,
      refunded: true,
    });
    expect(await (await postStripe(refund)).json()).toMatchObject({ outcome: "applied" });
    expect((await rowsOf("subscriptions", user))[0]).toMatchObject({ revoke_reason: "stripe:charge.refunded" });
  });

  it.each([
    [
      "an unpaid checkout",
      (user: string) => checkout(user, { sku: "EBOOK", payment_status: "unpaid" }).event,
      "not_paid",
    ],
    ["a checkout without tier or sku metadata", (user: string) => checkout(user, {}).event, "no_tier_or_sku_metadata"],
    [
      "an event type the ledger does not use",
      () => stripeEvent(uniqueId("evt"), "customer.created", {}),
      "unhandled_event_type",
    ],
  ])("acknowledges %s with 200 and grants nothing", async (_, make, reason) => {
    const user = uniqueId("u");
    const event = make(user);
    const response = await postStripe(event);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, event_id: event.id, outcome: "ignored" });
    expect(await rowsOf("ledger_events", user)).toEqual([]);
    const audit = await env.DB.prepare("SELECT outcome FROM audit_log WHERE request_id = ?")
      .bind(response.headers.get("X-Request-Id"))
      .first<{ outcome: string }>();
    expect(audit?.outcome).toBe(`ignored:${reason}`);
  });

  // Found by the fuzz test (test/integration/fuzz.test.ts): a time past year 9999 used to answer 500.
  it("ignores a renewal or an end whose time is no storable date, instead of failing with 500", async () => {
    const user = uniqueId("u");
    const { event, ids } = checkout(user, { tier: "monthly" });
    expect((await postStripe(event)).status).toBe(200);
    const before = await rowsOf("ledger_events", user);
    for (const late of [1e300, 253_402_300_800]) {
      const renewal = invoicePaid(ids.sub, late);
      const ended = stripeEvent(uniqueId("evt"), "customer.subscription.deleted", { id: ids.sub, ended_at: late });
      for (const [next, reason] of [
        [renewal, "unreadable_invoice"],
        [ended, "unreadable_subscription"],
      ] as const) {
        const response = await postStripe(next);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ success: true, event_id: next.id, outcome: "ignored" });
        const audit = await env.DB.prepare("SELECT outcome FROM audit_log WHERE request_id = ?")
          .bind(response.headers.get("X-Request-Id"))
          .first<{ outcome: string }>();
        expect(audit?.outcome).toBe(`ignored:${reason}`);
      }
    }
    expect(await rowsOf("ledger_events", user)).toEqual(before);
  });

  it("logs neither the payload nor the secret", async () => {
    const user = uniqueId("u");
    const { event, ids } = checkout(user, { sku: "SECRET-BOOK" });
    const { result, logs } = await captureLogs(() => postStripe(event));
    expect(result.status).toBe(200);
    expect(logs).toContain('"webhook_event":"checkout.session.completed"');
    for (const leak of [
      user,
      "SECRET-BOOK",
      ids.cus,
      ids.pi,
      "buyer@example.com",
      "Jane Buyer",
      STRIPE_WEBHOOK_SECRET,
    ]) {
      expect(logs).not.toContain(leak);
    }
  });
});

describe("POST /webhooks/stripe: one payment never undoes another (entitlements per source)", () => {
  const NOW = "2026-11-30T12:00:00.000Z";
  const seconds = Math.floor(Date.parse(NOW) / 1000);

  async function checkAsAdmin(user: string) {
    // A fresh IP: the limiter's bucket for a shared one was filled at the real time, ahead of this clock.
    const response = await relay(`/entitlements/check?user_id=${user}`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp() },
    });
    return (await response.json()) as Record<string, unknown>;
  }

  function refund(paymentIntent: string) {
    return stripeEvent(uniqueId("evt"), "charge.refunded", {
      object: "charge",
      payment_intent: paymentIntent,
      refunded: true,
    });
  }

  function deleted(subscription: string) {
    return stripeEvent(uniqueId("evt"), "customer.subscription.deleted", { id: subscription, ended_at: seconds });
  }

  it("lets a stranger who bought a plan for a user cancel that plan, not the user's own", async () => {
    const victim = uniqueId("u");
    const body = await atClock(NOW, async () => {
      const own = checkout(victim, { tier: "yearly" });
      const gift = checkout(victim, { tier: "monthly" });
      for (const event of [own.event, gift.event, deleted(gift.ids.sub)])
        expect((await postStripe(event)).status).toBe(200);
      return { answer: await checkAsAdmin(victim), own: own.ids.sub, gift: gift.ids.sub };
    });
    expect(body.answer).toMatchObject({
      has_access: true,
      subscription: { tier: "yearly", status: "active", expires_at: "2027-11-30T12:00:00.000Z" },
      subscriptions: [
        { tier: "yearly", status: "active", expires_at: "2027-11-30T12:00:00.000Z", source: `stripe:${body.own}` },
        { tier: "monthly", status: "expired", expires_at: NOW, source: `stripe:${body.gift}` },
      ],
    });
  });

  it("keeps only the monthly plan's own month when the yearly under it is refunded and deleted", async () => {
    const user = uniqueId("u");
    const answer = await atClock(NOW, async () => {
      const yearly = checkout(user, { tier: "yearly" });
      const pi = uniqueId("pi");
      const monthly = checkout(user, { tier: "monthly" });
      const events = [
        yearly.event,
        invoicePaid(yearly.ids.sub, seconds + 365 * 86400, pi),
        monthly.event,
        refund(pi),
        deleted(yearly.ids.sub),
      ];
      for (const event of events) expect((await postStripe(event)).status).toBe(200);
      return checkAsAdmin(user);
    });
    expect(answer).toMatchObject({
      has_access: true,
      subscription: { tier: "monthly", status: "active", expires_at: "2026-12-30T12:00:00.000Z" },
      subscriptions: [
        { tier: "monthly", status: "active", expires_at: "2026-12-30T12:00:00.000Z" },
        { tier: "yearly", status: "revoked" },
      ],
    });
  });

  it("keeps the user's own copy of a SKU when a gifted copy is refunded", async () => {
    const user = uniqueId("u");
    const own = checkout(user, { sku: "EBOOK" });
    const gift = checkout(user, { sku: "EBOOK" });
    for (const event of [own.event, gift.event, refund(gift.ids.pi)])
      expect((await postStripe(event)).status).toBe(200);
    const answer = await checkAsAdmin(user);
    expect(answer).toMatchObject({ has_access: true, purchases: [{ sku: "EBOOK" }] });
    expect((await rowsOf("purchases", user)).map((row) => [row.source_ref, row.revoke_reason])).toEqual([
      [`stripe:${own.ids.pi}`, null],
      [`stripe:${gift.ids.pi}`, "stripe:charge.refunded"],
    ]);
  });
});
