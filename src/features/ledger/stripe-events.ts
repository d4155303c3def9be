import * as z from "zod";
import { RetryLater } from "../../errors";
import type { Change } from "./events";
import type { Ledger } from "./kv-import";
import { sku, tier, userId } from "./schema";
import { applyWebhookPlan, type WebhookOutcome, type WebhookPlan } from "./webhook-apply";

/** The envelope of a Stripe event; only the fields the ledger reads are checked. */
export const stripeEvent = z.object({
  id: z.string().min(1).max(255),
  type: z.string(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEvent = z.output<typeof stripeEvent>;

// Stripe sends ids as strings unless expanded; accept both forms.
const stripeId = z
  .union([z.string(), z.object({ id: z.string() })])
  .nullish()
  .transform((value) => (typeof value === "string" ? value : value?.id) || undefined);

const checkoutSession = z.object({
  payment_status: z.string(),
  client_reference_id: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  customer: stripeId,
  subscription: stripeId,
  payment_intent: stripeId,
});

/** A Unix time in seconds; past 9999-12-31 it is no date the ledger can store (and no date Stripe sends). */
const unixSeconds = z.number().min(0).max(253_402_300_799);

const invoice = z.object({
  subscription: stripeId,
  // API versions from 2025-03-31 moved the subscription id here.
  parent: z.object({ subscription_details: z.object({ subscription: stripeId }).nullish() }).nullish(),
  payment_intent: stripeId,
  lines: z.object({ data: z.array(z.object({ period: z.object({ end: unixSeconds }).nullish() })) }).nullish(),
});

const subscription = z.object({ id: z.string(), ended_at: unixSeconds.nullish() });
const charge = z.object({ payment_intent: stripeId, refunded: z.boolean() });

type Ref = { kind: "customer" | "subscription" | "payment_intent"; id: string | undefined };
type Target = { user_id: string; tier: string | null; sku: string | null };

function refStatements(db: D1Database, refs: Ref[], target: Target, now: Date): D1PreparedStatement[] {
  return refs
    .filter((ref): ref is Ref & { id: string } => ref.id !== undefined)
    .map((ref) =>
      db
        .prepare(
          `INSERT INTO stripe_refs (kind, stripe_id, user_id, tier, sku, created_at) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (kind, stripe_id) DO NOTHING`,
        )
        .bind(ref.kind, ref.id, target.user_id, target.tier, target.sku, now.toISOString()),
    );
}

async function lookup(db: D1Database, kind: Ref["kind"], id: string): Promise<Target | null> {
  return db
    .prepare("SELECT user_id, tier, sku FROM stripe_refs WHERE kind = ? AND stripe_id = ?")
    .bind(kind, id)
    .first<Target>();
}

async function plan(db: D1Database, event: StripeEvent, now: Date): Promise<WebhookPlan> {
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
      const change: Change | undefined = t.success
        ? { type: "grant", entitlement: "subscription", tier: t.data }
        : k.success
          ? { type: "grant", entitlement: "purchase", sku: k.data }
          : undefined;
      if (!change) return { ignore: "no_tier_or_sku_metadata" };
      const target = { user_id: user.data, tier: t.success ? t.data : null, sku: t.success ? null : (k.data ?? null) };
      const refs: Ref[] = [
        { kind: "customer", id: s.customer },
        { kind: "subscription", id: s.subscription },
        { kind: "payment_intent", id: s.payment_intent },
      ];
      return { userId: user.data, change, extra: refStatements(db, refs, target, now) };
    }
    case "invoice.paid": {
      const parsed = invoice.safeParse(object);
      if (!parsed.success) return { ignore: "unreadable_invoice" };
      const subId = parsed.data.subscription ?? parsed.data.parent?.subscription_details?.subscription;
      if (!subId) return { ignore: "not_a_subscription_invoice" };
      const target = await lookup(db, "subscription", subId);
      const t = tier.safeParse(target?.tier);
      if (!target || !t.success) throw new RetryLater(`Subscription ${subId} is not in the ledger yet`);
      const ends = (parsed.data.lines?.data ?? []).map((line) => line.period?.end ?? 0);
      const end = Math.max(0, ...ends);
      const change: Change = {
        type: "renew",
        entitlement: "subscription",
        tier: t.data,
        expiresAt: end > 0 ? new Date(end * 1000) : undefined,
      };
      const refs: Ref[] = [{ kind: "payment_intent", id: parsed.data.payment_intent }];
      return { userId: target.user_id, change, extra: refStatements(db, refs, target, now) };
    }
    case "customer.subscription.deleted": {
      const parsed = subscription.safeParse(object);
      if (!parsed.success) return { ignore: "unreadable_subscription" };
      const target = await lookup(db, "subscription", parsed.data.id);
      const t = tier.safeParse(target?.tier);
      if (!target || !t.success) throw new RetryLater(`Subscription ${parsed.data.id} is not in the ledger yet`);
      const endsAt = parsed.data.ended_at ? new Date(parsed.data.ended_at * 1000) : now;
      return { userId: target.user_id, change: { type: "cancel", entitlement: "subscription", tier: t.data, endsAt } };
    }
    case "charge.refunded": {
      const parsed = charge.safeParse(object);
      if (!parsed.success) return { ignore: "unreadable_charge" };
      // Stripe sends charge.refunded for partial refunds too; only a full refund takes the entitlement away.
      if (!parsed.data.refunded) return { ignore: "partial_refund" };
      const target = parsed.data.payment_intent && (await lookup(db, "payment_intent", parsed.data.payment_intent));
      // A refund of a charge the relay never sold (another product on the account) is none of its business.
      if (!target) return { ignore: "unknown_payment_intent" };
      const reason = "stripe:charge.refunded";
      const t = tier.safeParse(target.tier);
      if (t.success)
        return {
          userId: target.user_id,
          change: { type: "revoke", entitlement: "subscription", tier: t.data, reason },
        };
      if (!target.sku) return { ignore: "unknown_payment_intent" };
      return { userId: target.user_id, change: { type: "revoke", entitlement: "purchase", sku: target.sku, reason } };
    }
    default:
      return { ignore: "unhandled_event_type" };
  }
}

/**
 * Applies one verified Stripe event to the ledger, once per event id. An event about a subscription the
 * ledger does not know throws RetryLater (503), because Stripe delivers out of order and retries on 5xx.
 */
export async function applyStripeEvent(
  ledger: Ledger,
  event: StripeEvent,
  now: Date,
  requestId?: string,
): Promise<WebhookOutcome> {
  const delivery = { source: "stripe" as const, eventId: event.id, eventType: event.type, requestId };
  return applyWebhookPlan(ledger, delivery, await plan(ledger.db, event, now), now);
}
