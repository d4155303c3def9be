import { RetryLater } from "../../errors";
import type { Change } from "../ledger/change";
import { sku, tier, userId } from "../ledger/schema";
import { findStripeRef, type StripeRef, type StripeRefKind, stripeRefStatements } from "../ledger/store";
import type { WebhookPlan } from "./apply";
import { charge, checkoutSession, invoice, type StripeEvent, subscription } from "./schema";

/** The entitlement a recorded Stripe id pays for (refs from before per-source state fall back to the id). */
function sourceOf(ref: StripeRef, stripeId: string): string {
  return ref.source_ref ?? `stripe:${stripeId}`;
}

/** The recorded subscription, or RetryLater: Stripe delivers out of order and retries on 5xx. */
async function knownSubscription(
  db: D1Database,
  id: string,
): Promise<StripeRef & { tier: "monthly" | "quarterly" | "yearly" }> {
  const ref = await findStripeRef(db, "subscription", id);
  const t = tier.safeParse(ref?.tier);
  if (!ref || !t.success) throw new RetryLater(`Subscription ${id} is not in the ledger yet`);
  return { ...ref, tier: t.data };
}

/**
 * What a verified Stripe event asks of the ledger. Each Stripe subscription and each payment intent is an
 * entitlement of its own (`stripe:sub_…`, `stripe:pi_…`): a renewal, cancellation or refund changes that
 * one and nothing else the user holds. Renewals, cancellations and refunds do not name the user, so the
 * checkout records Stripe's ids (`stripe_refs`).
 */
export async function planStripeEvent(db: D1Database, event: StripeEvent, now: Date): Promise<WebhookPlan> {
  const object = event.data.object;
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded": {
      const session = checkoutSession.safeParse(object);
      if (!session.success) return { ignore: "unreadable_session" };
      const s = session.data;
      if (s.payment_status !== "paid") return { ignore: "not_paid" };
      const user = userId.safeParse(s.client_reference_id);
      if (!user.success) return { ignore: "no_client_reference_id" };
      const t = tier.safeParse(s.metadata?.tier);
      const k = sku.safeParse(s.metadata?.sku);
      const sourceRef = `stripe:${s.subscription ?? s.payment_intent ?? s.id ?? event.id}`;
      const change: Change | undefined = t.success
        ? { type: "grant", entitlement: "subscription", tier: t.data, sourceRef }
        : k.success
          ? { type: "grant", entitlement: "purchase", sku: k.data, sourceRef }
          : undefined;
      if (!change) return { ignore: "no_tier_or_sku_metadata" };
      const target = {
        user_id: user.data,
        tier: t.success ? t.data : null,
        sku: t.success ? null : (k.data ?? null),
        source_ref: sourceRef,
      };
      const refs: Array<{ kind: StripeRefKind; id: string | undefined }> = [
        { kind: "customer", id: s.customer },
        { kind: "subscription", id: s.subscription },
        { kind: "payment_intent", id: s.payment_intent },
      ];
      return { userId: user.data, change, extra: stripeRefStatements(db, refs, target, now) };
    }
    case "invoice.paid": {
      const parsed = invoice.safeParse(object);
      if (!parsed.success) return { ignore: "unreadable_invoice" };
      const subId = parsed.data.subscription ?? parsed.data.parent?.subscription_details?.subscription;
      if (!subId) return { ignore: "not_a_subscription_invoice" };
      const target = await knownSubscription(db, subId);
      const end = Math.max(0, ...(parsed.data.lines?.data ?? []).map((line) => line.period?.end ?? 0));
      const sourceRef = sourceOf(target, subId);
      const change: Change = {
        type: "renew",
        entitlement: "subscription",
        tier: target.tier,
        sourceRef,
        expiresAt: end > 0 ? new Date(end * 1000) : undefined,
      };
      // The invoice's payment intent pays for this subscription: refunding it revokes this one.
      const paidWith = parsed.data.payments?.data.map((entry) => entry.payment?.payment_intent);
      const refs = [parsed.data.payment_intent, ...(paidWith ?? [])].map((id) => ({
        kind: "payment_intent" as const,
        id,
      }));
      return {
        userId: target.user_id,
        change,
        extra: stripeRefStatements(db, refs, { ...target, source_ref: sourceRef }, now),
      };
    }
    case "customer.subscription.deleted": {
      const parsed = subscription.safeParse(object);
      if (!parsed.success) return { ignore: "unreadable_subscription" };
      const target = await knownSubscription(db, parsed.data.id);
      const endsAt = parsed.data.ended_at ? new Date(parsed.data.ended_at * 1000) : now;
      const sourceRef = sourceOf(target, parsed.data.id);
      return {
        userId: target.user_id,
        change: { type: "cancel", entitlement: "subscription", tier: target.tier, sourceRef, endsAt },
      };
    }
    case "charge.refunded": {
      const parsed = charge.safeParse(object);
      if (!parsed.success) return { ignore: "unreadable_charge" };
      // Stripe sends charge.refunded for partial refunds too; only a full refund takes the entitlement away.
      if (!parsed.data.refunded) return { ignore: "partial_refund" };
      const pi = parsed.data.payment_intent;
      const target = pi === undefined ? null : await findStripeRef(db, "payment_intent", pi);
      // A refund of a charge the relay never sold (another product on the account) is none of its business.
      if (!target || pi === undefined) return { ignore: "unknown_payment_intent" };
      const reason = "stripe:charge.refunded";
      const sourceRef = sourceOf(target, pi);
      const t = tier.safeParse(target.tier);
      const change: Change = t.success
        ? { type: "revoke", entitlement: "subscription", tier: t.data, sourceRef, reason }
        : { type: "revoke", entitlement: "purchase", sku: target.sku ?? undefined, sourceRef, reason };
      return { userId: target.user_id, change };
    }
    default:
      return { ignore: "unhandled_event_type" };
  }
}
