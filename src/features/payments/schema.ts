import * as z from "zod";
import { isoTime, sku, tier, userId } from "../ledger/schema";

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

/** A `checkout.session` (Payment Links create one per payment). */
export const checkoutSession = z.object({
  id: z.string().min(1).max(255).optional(),
  payment_status: z.string(),
  client_reference_id: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  customer: stripeId,
  subscription: stripeId,
  payment_intent: stripeId,
});

/** A Unix time in seconds; past 9999-12-31 it is no date the ledger can store (and no date Stripe sends). */
const unixSeconds = z.number().min(0).max(253_402_300_799);

export const invoice = z.object({
  subscription: stripeId,
  // API versions from 2025-03-31 moved the subscription id here.
  parent: z.object({ subscription_details: z.object({ subscription: stripeId }).nullish() }).nullish(),
  payment_intent: stripeId,
  // API versions from 2025-03-31 list the invoice's payments here instead of `payment_intent`.
  payments: z
    .object({ data: z.array(z.object({ payment: z.object({ payment_intent: stripeId }).nullish() })) })
    .nullish(),
  lines: z.object({ data: z.array(z.object({ period: z.object({ end: unixSeconds }).nullish() })) }).nullish(),
});

export const subscription = z.object({ id: z.string(), ended_at: unixSeconds.nullish() });
export const charge = z.object({ payment_intent: stripeId, refunded: z.boolean() });

/** A provider's own id of a subscription or purchase: printable ASCII, so it can name a source. */
const providerId = z.string().regex(/^[\x21-\x7e]{1,200}$/, "must be 1-200 printable ASCII characters");

/**
 * The body of `POST /webhooks/payment` (Standard Webhooks), for any provider other than Stripe.
 * `subscription_id` and `purchase_id` keep several subscriptions or copies of one user apart; without them
 * all of a user's subscriptions from the provider are one source, and each SKU one purchase.
 */
export const paymentEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.enum(["subscription.activated", "subscription.renewed"]),
    user_id: userId,
    tier,
    expires_at: isoTime.optional(),
    subscription_id: providerId.optional(),
  }),
  z.object({
    type: z.literal("subscription.canceled"),
    user_id: userId,
    tier: tier.optional(),
    expires_at: isoTime.optional(),
    subscription_id: providerId.optional(),
  }),
  z.object({
    type: z.enum(["purchase.completed", "purchase.refunded"]),
    user_id: userId,
    sku,
    purchase_id: providerId.optional(),
  }),
]);
export type PaymentEvent = z.output<typeof paymentEvent>;
