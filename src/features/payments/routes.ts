import { type Context, Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../../env";
import { InvalidRequest, NotConfigured } from "../../errors";
import { readConfig, required } from "../../lib/config";
import { standardWebhookKey } from "../../lib/hmac";
import { validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { ledgerOf } from "../ledger/routes";
import { applyPlan } from "./apply";
import { planPaymentEvent } from "./payment-plan";
import { paymentEvent, stripeEvent } from "./schema";
import { verifyStandardSignature, verifyStripeSignature } from "./signatures";
import { planStripeEvent } from "./stripe-plan";

/** Signed payment webhooks; not rate limited (the signature is the gate, and senders retry in bursts). */
export const webhookRoutes = {
  stripeWebhook: { method: "POST", path: "/webhooks/stripe", auth: "stripe-signature", rateLimit: null, body: "json" },
  paymentWebhook: {
    method: "POST",
    path: "/webhooks/payment",
    auth: "standard-webhook",
    rateLimit: null,
    body: "json",
  },
} as const satisfies Record<string, RouteSpec>;

export const webhooks = new Hono<AppEnv>();

const stripeConfig = z.object({ STRIPE_WEBHOOK_SECRET: required() });
const paymentConfig = z.object({ PAYMENT_WEBHOOK_SECRET: required() });

const utf8 = new TextDecoder();

/** The raw body, as the sender signed it. */
async function rawBody(c: Context<AppEnv>): Promise<Uint8Array> {
  return new Uint8Array(await c.req.arrayBuffer());
}

/** The verified body as JSON; the text is decoded only after the bytes passed the signature check. */
function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(body));
  } catch {
    throw new InvalidRequest("Request body is not valid JSON", "invalid_json");
  }
}

mount(webhooks, webhookRoutes.stripeWebhook, async (c) => {
  const { STRIPE_WEBHOOK_SECRET } = readConfig(c.env, stripeConfig);
  const body = await rawBody(c);
  const now = new Date();
  const verdict = await verifyStripeSignature(body, c.req.header("Stripe-Signature"), STRIPE_WEBHOOK_SECRET, now);
  if (!verdict.ok) throw new InvalidRequest(verdict.reason, "invalid_signature");
  const event = validate(stripeEvent, parseJson(body));
  const ledger = ledgerOf(c.env);
  const plan = await planStripeEvent(ledger.db, event, now);
  const delivery = {
    source: "stripe" as const,
    eventId: event.id,
    eventType: event.type,
    requestId: c.get("requestId"),
  };
  const outcome = await applyPlan(ledger, delivery, plan, now);
  // Event type and outcome only: the payload (who bought what) never reaches a log line.
  c.get("log").set({ webhook_event: event.type, webhook_outcome: outcome.status });
  return c.json({ success: true, event_id: event.id, outcome: outcome.status });
});

mount(webhooks, webhookRoutes.paymentWebhook, async (c) => {
  const { PAYMENT_WEBHOOK_SECRET } = readConfig(c.env, paymentConfig);
  const key = standardWebhookKey(PAYMENT_WEBHOOK_SECRET);
  if (key === undefined) throw new NotConfigured("PAYMENT_WEBHOOK_SECRET", "is not a base64 secret (whsec_…)");
  const body = await rawBody(c);
  const now = new Date();
  const headers = {
    id: c.req.header("webhook-id"),
    timestamp: c.req.header("webhook-timestamp"),
    signature: c.req.header("webhook-signature"),
  };
  const verdict = await verifyStandardSignature(body, headers, key, now);
  if (!verdict.ok) throw new InvalidRequest(`Webhook signature rejected: ${verdict.reason}`, "invalid_signature");
  const webhookId = headers.id ?? "";
  if (webhookId.length > 255) throw new InvalidRequest("webhook-id: must be at most 255 characters");
  const event = validate(paymentEvent, parseJson(body));
  const delivery = {
    source: "payment" as const,
    eventId: webhookId,
    eventType: event.type,
    requestId: c.get("requestId"),
  };
  const outcome = await applyPlan(ledgerOf(c.env), delivery, planPaymentEvent(event, now), now);
  c.get("log").set({ webhook_event: event.type, webhook_outcome: outcome.status });
  return c.json({ success: true, event_id: webhookId, outcome: outcome.status });
});
