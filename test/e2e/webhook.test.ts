import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { buildWebhookRequest, nextSteps, runWebhook } from "../../scripts/webhook.mjs";
import { parseWebhookCommand, paymentEvent, stripeEvent, stripeIds } from "../../scripts/webhook-events.mjs";

const relay = inject("e2eRelay");
const NOW = new Date("2026-11-25T21:00:00.000Z");
const T = NOW.getTime() / 1000;
const IDS = {
  event: "evt_A",
  session: "cs_test_A",
  customer: "cus_A",
  subscription: "sub_A",
  payment_intent: "pi_A",
  invoice: "in_A",
  line: "il_A",
  charge: "ch_A",
};
const envelope = (type: string, object: unknown) => ({
  id: "evt_A",
  object: "event",
  api_version: Stripe.API_VERSION,
  created: T,
  data: { object },
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  type,
});
const parse = (line: string) => parseWebhookCommand(line.split(" "));

describe("npm run webhook: the command line", () => {
  it("reads the provider, the event type, the options and --url", () => {
    expect(parse("stripe checkout.session.completed --user user123 --tier monthly")).toEqual({
      provider: "stripe",
      type: "checkout.session.completed",
      options: { user: "user123", tier: "monthly" },
      url: "http://localhost:8787",
    });
    expect(
      parse("payment purchase.completed --user u --sku EBOOK --purchase-id p-1 --url http://127.0.0.1:9000/"),
    ).toEqual({
      provider: "payment",
      type: "purchase.completed",
      options: { user: "u", sku: "EBOOK", "purchase-id": "p-1" },
      url: "http://127.0.0.1:9000",
    });
    expect(parse("stripe invoice.paid --subscription sub_1 --period-end 2027-01-01T00:00:00Z").options).toEqual({
      subscription: "sub_1",
      "period-end": "2027-01-01T00:00:00Z",
    });
  });

  it.each([
    ["stripe", /^usage: npm run webhook/],
    ["stripe checkout.session.expired --user u --sku A", /^usage: npm run webhook/],
    ["paypal purchase.completed --user u --sku A", /^usage: npm run webhook/],
    ["stripe checkout.session.completed --tier monthly", /--user is required/],
    ["stripe checkout.session.completed --user u", /give exactly one of --tier and --sku/],
    ["stripe checkout.session.completed --user u --tier monthly --sku A", /give exactly one of --tier and --sku/],
    ["stripe checkout.session.completed --user u --tier weekly", /--tier must be one of monthly, quarterly, yearly/],
    ["stripe invoice.paid --subscription sub_1 --period-end soon", /--period-end must be an ISO 8601 time/],
    ["stripe charge.refunded --payment-intent pi_1 --user u", /--user does not apply/],
    ["payment subscription.activated --user u", /--tier is required/],
    ["payment purchase.refunded --user u --sku A --expires-at 2027-01-01T00:00:00Z", /--expires-at does not apply/],
    ["payment purchase.completed --user u --sku A --colour red", /Unknown option '--colour'/],
  ])("refuses `%s`", (line, message) => {
    expect(() => parse(line)).toThrow(message);
  });
});

describe("npm run webhook: Stripe events", () => {
  const event = (line: string, ids: Record<string, string> = IDS) => stripeEvent(parse(line), ids, NOW);

  it("makes fresh Stripe-style ids for what the event names", () => {
    const ids = stripeIds("checkout.session.completed", { user: "u", tier: "monthly" });
    expect(Object.keys(ids)).toEqual(["event", "session", "customer", "subscription"]);
    expect(ids.event).toMatch(/^evt_[A-Za-z0-9]{24}$/);
    expect(ids.session).toMatch(/^cs_test_[A-Za-z0-9]{24}$/);
    expect(ids.subscription).toMatch(/^sub_/);
    expect(stripeIds("checkout.session.completed", { user: "u", sku: "A" }).payment_intent).toMatch(/^pi_/);
  });

  it("checkout.session.completed for a tier: a paid subscription checkout", () => {
    expect(event("stripe checkout.session.completed --user user123 --tier monthly")).toEqual(
      envelope("checkout.session.completed", {
        id: "cs_test_A",
        object: "checkout.session",
        amount_subtotal: 1000,
        amount_total: 1000,
        client_reference_id: "user123",
        created: T,
        currency: "usd",
        customer: "cus_A",
        customer_details: { email: null, name: null },
        expires_at: T + 86_400,
        livemode: false,
        metadata: { tier: "monthly" },
        mode: "subscription",
        payment_intent: null,
        payment_link: null,
        payment_status: "paid",
        status: "complete",
        subscription: "sub_A",
      }),
    );
  });

  it("checkout.session.completed for a SKU: a paid one-time payment", () => {
    const object = event("stripe checkout.session.completed --user user123 --sku EBOOK").data.object;
    expect(object).toMatchObject({
      metadata: { sku: "EBOOK" },
      mode: "payment",
      payment_intent: "pi_A",
      subscription: null,
      payment_status: "paid",
      client_reference_id: "user123",
    });
  });

  it("invoice.paid: the subscription under parent, the period end on the line (default a month on)", () => {
    expect(event("stripe invoice.paid --subscription sub_9 --period-end 2027-01-31T00:00:00Z")).toEqual(
      envelope("invoice.paid", {
        id: "in_A",
        object: "invoice",
        amount_paid: 1000,
        billing_reason: "subscription_cycle",
        created: T,
        currency: "usd",
        customer: "cus_A",
        lines: {
          object: "list",
          data: [
            {
              id: "il_A",
              object: "line_item",
              amount: 1000,
              period: { start: T, end: Date.parse("2027-01-31T00:00:00Z") / 1000 },
            },
          ],
          has_more: false,
        },
        livemode: false,
        parent: { type: "subscription_details", subscription_details: { metadata: {}, subscription: "sub_9" } },
        status: "paid",
      }),
    );
    const lines = event("stripe invoice.paid --subscription sub_9").data.object as {
      lines: { data: [{ period: { end: number } }] };
    };
    expect(lines.lines.data[0].period.end).toBe(Date.parse("2026-12-25T21:00:00.000Z") / 1000);
  });

  it("customer.subscription.deleted and charge.refunded", () => {
    expect(event("stripe customer.subscription.deleted --subscription sub_9").data.object).toEqual({
      id: "sub_9",
      object: "subscription",
      canceled_at: T,
      customer: "cus_A",
      ended_at: T,
      livemode: false,
      status: "canceled",
    });
    expect(event("stripe charge.refunded --payment-intent pi_9").data.object).toEqual({
      id: "ch_A",
      object: "charge",
      amount: 1000,
      amount_refunded: 1000,
      currency: "usd",
      livemode: false,
      paid: true,
      payment_intent: "pi_9",
      refunded: true,
      status: "succeeded",
    });
  });

  it("is signed so that Stripe's own library accepts it", () => {
    const secret = "whsec_local_test";
    const request = buildWebhookRequest(parse("stripe checkout.session.completed --user u --sku A"), {
      STRIPE_WEBHOOK_SECRET: secret,
    });
    expect(request.url).toBe("http://localhost:8787/webhooks/stripe");
    const verified = Stripe.webhooks.constructEvent(request.body, request.headers["Stripe-Signature"] ?? "", secret);
    expect(verified.id).toBe(request.ids.event);
    expect(() =>
      Stripe.webhooks.constructEvent(request.body, request.headers["Stripe-Signature"] ?? "", "whsec_other"),
    ).toThrow();
  });

  it("suggests the follow-ups its ids make possible", () => {
    const tier = parse("stripe checkout.session.completed --user u --tier yearly");
    expect(nextSteps(tier, { subscription: "sub_X" })).toEqual([
      "npm run webhook -- stripe invoice.paid --subscription sub_X",
      "npm run webhook -- stripe customer.subscription.deleted --subscription sub_X",
    ]);
    const sku = parse("stripe checkout.session.completed --user u --sku A");
    expect(nextSteps(sku, { payment_intent: "pi_X" })).toEqual([
      "npm run webhook -- stripe charge.refunded --payment-intent pi_X",
    ]);
  });
});

describe("npm run webhook: Standard Webhooks events", () => {
  const body = (line: string) => paymentEvent(parse(line));

  it("builds {type, user_id, tier?, sku?, expires_at?, subscription_id?, purchase_id?}", () => {
    expect(body("payment purchase.completed --user user123 --sku EBOOK")).toEqual({
      type: "purchase.completed",
      user_id: "user123",
      sku: "EBOOK",
    });
    expect(body("payment purchase.refunded --user u --sku EBOOK --purchase-id p-1")).toEqual({
      type: "purchase.refunded",
      user_id: "u",
      sku: "EBOOK",
      purchase_id: "p-1",
    });
    expect(
      body(
        "payment subscription.activated --user u --tier monthly --subscription-id s-1 --expires-at 2027-01-01T01:00:00+01:00",
      ),
    ).toEqual({
      type: "subscription.activated",
      user_id: "u",
      tier: "monthly",
      subscription_id: "s-1",
      expires_at: "2027-01-01T00:00:00.000Z",
    });
    expect(body("payment subscription.renewed --user u --tier yearly")).toEqual({
      type: "subscription.renewed",
      user_id: "u",
      tier: "yearly",
    });
    expect(body("payment subscription.canceled --user u")).toEqual({ type: "subscription.canceled", user_id: "u" });
  });

  it("is signed so that the standardwebhooks library accepts it", () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const request = buildWebhookRequest(parse("payment purchase.completed --user u --sku A"), {
      PAYMENT_WEBHOOK_SECRET: secret,
    });
    expect(request.url).toBe("http://localhost:8787/webhooks/payment");
    expect(request.ids["webhook-id"]).toMatch(/^msg_[A-Za-z0-9]{24}$/);
    expect(request.headers["webhook-id"]).toBe(request.ids["webhook-id"]);
    expect(new Webhook(secret).verify(request.body, request.headers)).toEqual({
      type: "purchase.completed",
      user_id: "u",
      sku: "A",
    });
  });

  it("names the missing secret", () => {
    expect(() => buildWebhookRequest(parse("payment purchase.completed --user u --sku A"), {})).toThrow(
      "PAYMENT_WEBHOOK_SECRET is not set in .dev.vars",
    );
  });
});

describe("npm run webhook against the relay under wrangler dev", () => {
  afterEach(() => vi.restoreAllMocks());

  /** Runs the command with the shared relay's secrets file; its exit code and what it printed. */
  async function run(line: string) {
    const printed: string[] = [];
    vi.spyOn(console, "log").mockImplementation((text: string) => printed.push(text));
    vi.spyOn(console, "error").mockImplementation((text: string) => printed.push(text));
    const code = await runWebhook([...line.split(" "), "--url", relay.url], relay.envFile);
    vi.restoreAllMocks();
    const ids = Object.fromEntries(
      (printed.find((text) => text.startsWith("ids: ")) ?? "ids: ")
        .slice(5)
        .split(", ")
        .map((pair) => pair.split(" ")),
    );
    return { code, printed, ids, answer: JSON.parse(printed.find((text) => text.startsWith("{")) ?? "null") };
  }

  async function entitlements(userId: string) {
    const response = await fetch(`${relay.url}/entitlements/check?user_id=${userId}`, {
      headers: { Authorization: `Bearer ${relay.secrets.ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    return response.json() as Promise<{ has_access: boolean; subscriptions: unknown[]; purchases: unknown[] }>;
  }

  it("a signed Stripe checkout grants the tier; its invoice.paid renews it", async () => {
    const user = `webhook-stripe-${Date.now()}`;
    const checkout = await run(`stripe checkout.session.completed --user ${user} --tier monthly`);
    expect(checkout.printed).toContain("HTTP 200");
    expect(checkout.answer).toEqual({ success: true, event_id: checkout.ids.event, outcome: "applied" });
    expect(checkout.code).toBe(0);
    expect(await entitlements(user)).toMatchObject({
      has_access: true,
      subscriptions: [{ tier: "monthly", status: "active", source: `stripe:${checkout.ids.subscription}` }],
    });

    const renewal = await run(
      `stripe invoice.paid --subscription ${checkout.ids.subscription} --period-end 2030-01-01T00:00:00Z`,
    );
    expect(renewal.answer).toMatchObject({ outcome: "applied" });
    expect(await entitlements(user)).toMatchObject({
      subscriptions: [{ tier: "monthly", expires_at: "2030-01-01T00:00:00.000Z" }],
    });
  });

  it("a signed Standard Webhooks purchase grants the SKU", async () => {
    const user = `webhook-payment-${Date.now()}`;
    const purchase = await run(`payment purchase.completed --user ${user} --sku EBOOK`);
    expect(purchase.answer).toEqual({ success: true, event_id: purchase.ids["webhook-id"], outcome: "applied" });
    expect(purchase.code).toBe(0);
    expect(await entitlements(user)).toMatchObject({ has_access: true, purchases: [{ sku: "EBOOK" }] });
  });

  it("exits 1 when the relay answers non-2xx", async () => {
    const unknown = await run("stripe invoice.paid --subscription sub_neverSold");
    expect(unknown.printed).toContain("HTTP 503");
    expect(unknown.answer).toMatchObject({ success: false, error: { code: "retry_later" } });
    expect(unknown.code).toBe(1);
  });
});
