import type { Change } from "./events";
import type { Ledger } from "./kv-import";
import type { PaymentEvent } from "./schema";
import { applyWebhookPlan, type WebhookOutcome } from "./webhook-apply";

/** The ledger change a Standard Webhooks payment event stands for (DESIGN.md, "Payment webhooks"). */
export function paymentChange(event: PaymentEvent, now: Date): Change {
  const at = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso));
  switch (event.type) {
    case "subscription.activated":
      return { type: "grant", entitlement: "subscription", tier: event.tier, expiresAt: at(event.expires_at) };
    case "subscription.renewed":
      return { type: "renew", entitlement: "subscription", tier: event.tier, expiresAt: at(event.expires_at) };
    case "subscription.canceled":
      return { type: "cancel", entitlement: "subscription", tier: event.tier, endsAt: at(event.expires_at) ?? now };
    case "purchase.completed":
      return { type: "grant", entitlement: "purchase", sku: event.sku };
    case "purchase.refunded":
      return { type: "revoke", entitlement: "purchase", sku: event.sku, reason: "payment:purchase.refunded" };
  }
}

/** Applies one verified payment event, once per `webhook-id`. */
export async function applyPaymentEvent(
  ledger: Ledger,
  webhookId: string,
  event: PaymentEvent,
  now: Date,
  requestId?: string,
): Promise<WebhookOutcome> {
  const delivery = { source: "payment" as const, eventId: webhookId, eventType: event.type, requestId };
  return applyWebhookPlan(ledger, delivery, { userId: event.user_id, change: paymentChange(event, now) }, now);
}
