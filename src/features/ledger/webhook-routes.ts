import { Hono } from "hono";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import * as z from "zod";
import type { AppEnv } from "../../env";
import { InvalidRequest, NotConfigured } from "../../errors";
import { readConfig, required } from "../../lib/config";
import { readText, validate } from "../../middleware/json-body";
import { mount, ROUTES } from "../../routes";
import { applyPaymentEvent } from "./payment-events";
import { ledgerOf } from "./routes";
import { paymentEvent } from "./schema";
import { applyStripeEvent, stripeEvent } from "./stripe-events";
import { verifyStripeSignature } from "./stripe-signature";

/** Signed payment webhooks; not rate limited (the signature is the gate, and senders retry in bursts). */
export const webhooks = new Hono<AppEnv>();

const stripeConfig = z.object({ STRIPE_WEBHOOK_SECRET: required() });
const paymentConfig = z.object({ PAYMENT_WEBHOOK_SECRET: required() });

const STRIPE_REFUSALS = {
  missing_header: "Stripe-Signature header is missing",
  malformed_header: "Stripe-Signature header is malformed",
  stale_timestamp: "Stripe-Signature timestamp is outside the 300 s tolerance",
  no_matching_signature: "Stripe-Signature does not match the body",
} as const;

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new InvalidRequest("Request body is not valid JSON", "invalid_json");
  }
}

mount(webhooks, ROUTES.stripeWebhook, async (c) => {
  const { STRIPE_WEBHOOK_SECRET } = readConfig(c.env, stripeConfig);
  const body = await readText(c);
  const now = new Date();
  const verdict = await verifyStripeSignature(body, c.req.header("Stripe-Signature"), STRIPE_WEBHOOK_SECRET, now);
  if (!verdict.ok) throw new InvalidRequest(STRIPE_REFUSALS[verdict.reason], "invalid_signature");
  const event = validate(stripeEvent, parseJson(body));
  const outcome = await applyStripeEvent(ledgerOf(c.env), event, now, c.get("requestId"));
  // Event type and outcome only: the payload (who bought what) never reaches a log line.
  c.get("log").set({ webhook_event: event.type, webhook_outcome: outcome.status });
  return c.json({ success: true, event_id: event.id, outcome: outcome.status });
});

mount(webhooks, ROUTES.paymentWebhook, async (c) => {
  const { PAYMENT_WEBHOOK_SECRET } = readConfig(c.env, paymentConfig);
  let verifier: Webhook;
  try {
    verifier = new Webhook(PAYMENT_WEBHOOK_SECRET);
  } catch {
    throw new NotConfigured("PAYMENT_WEBHOOK_SECRET", "is not a base64 secret (whsec_…)");
  }
  const body = await readText(c);
  const webhookId = c.req.header("webhook-id") ?? "";
  try {
    // https://www.standardwebhooks.com/: HMAC-SHA256 over `${id}.${timestamp}.${body}`, 5-minute window.
    verifier.verify(
      body,
      {
        "webhook-id": webhookId,
        "webhook-timestamp": c.req.header("webhook-timestamp") ?? "",
        "webhook-signature": c.req.header("webhook-signature") ?? "",
      },
      { jsonParse: false },
    );
  } catch (error) {
    const detail = error instanceof WebhookVerificationError ? error.message : "Invalid signature headers";
    throw new InvalidRequest(`Webhook signature rejected: ${detail}`, "invalid_signature");
  }
  if (webhookId.length > 255) throw new InvalidRequest("webhook-id: must be at most 255 characters");
  const event = validate(paymentEvent, parseJson(body));
  const outcome = await applyPaymentEvent(ledgerOf(c.env), webhookId, event, new Date(), c.get("requestId"));
  c.get("log").set({ webhook_event: event.type, webhook_outcome: outcome.status });
  return c.json({ success: true, event_id: webhookId, outcome: outcome.status });
});
