import type { Change } from "../ledger/change";
import type { WebhookPlan } from "./apply";
import type { PaymentEvent } from "./schema";

/** The entitlement a Standard Webhooks event is about (docs/ledger.md, "Sources"). */
export function paymentSourceRef(event: PaymentEvent): string {
  if (event.type.startsWith("subscription.")) {
    const id = "subscription_id" in event ? event.subscription_id : undefined;
    return id === undefined ? "payment:subscription" : `payment:subscription:${id}`;
  }
  const id = "purchase_id" in event ? event.purchase_id : undefined;
  return id === undefined ? `payment:sku:${"sku" in event ? event.sku : ""}` : `payment:purchase:${id}`;
}

/** The ledger change a Standard Webhooks payment event stands for (docs/api.md, "Payment webhooks"). */
export function planPaymentEvent(event: PaymentEvent, now: Date): WebhookPlan {
  const at = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso));
  const sourceRef = paymentSourceRef(event);
  let change: Change;
  switch (event.type) {
    case "subscription.activated":
    case "subscription.renewed":
      change = {
        type: event.type === "subscription.activated" ? "grant" : "renew",
        entitlement: "subscription",
        tier: event.tier,
        sourceRef,
        expiresAt: at(event.expires_at),
      };
      break;
    case "subscription.canceled":
      change = {
        type: "cancel",
        entitlement: "subscription",
        tier: event.tier,
        sourceRef,
        endsAt: at(event.expires_at) ?? now,
      };
      break;
    case "purchase.completed":
      change = { type: "grant", entitlement: "purchase", sku: event.sku, sourceRef };
      break;
    case "purchase.refunded":
      change = {
        type: "revoke",
        entitlement: "purchase",
        sku: event.sku,
        sourceRef,
        reason: "payment:purchase.refunded",
      };
      break;
  }
  return { userId: event.user_id, change };
}
