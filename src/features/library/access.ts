import type { Entitlements } from "../../admin-api";
import { PaymentRequired } from "../../errors";
import { paymentLink, readLink, skuVariable, tierVariable } from "../billing/links";
import { sku as skuSchema, type Tier, tier as tierSchema } from "../ledger/schema";

/**
 * What an item asks of a reader, from its R2 custom metadata: a SKU (its buyers, and subscribers), or a
 * tier (subscribers only; any active tier reads everything, the tier only labels the item). An item without
 * valid metadata (uploaded through the dashboard) counts as subscribers-only: it fails closed.
 */
export type Requirement = { sku: string; tier: null } | { sku: null; tier: Tier | null };

/** The requirement in an item's custom metadata. */
export function requirementOf(metadata: Record<string, string> | undefined): Requirement {
  const sku = skuSchema.safeParse(metadata?.sku);
  if (sku.success) return { sku: sku.data, tier: null };
  const tier = tierSchema.safeParse(metadata?.tier);
  return { sku: null, tier: tier.success ? tier.data : null };
}

/** True while the user's subscription is active: such a user reads every item. */
export function isSubscriber(entitlements: Entitlements): boolean {
  return entitlements.subscription?.status === "active";
}

/** Whether a user may read an item: an active subscriber reads all, a buyer of SKU X reads items of SKU X. */
export function mayRead(entitlements: Entitlements, requirement: Requirement): boolean {
  if (isSubscriber(entitlements)) return true;
  return requirement.sku !== null && entitlements.purchases.some((purchase) => purchase.sku === requirement.sku);
}

/**
 * The answer for an item the user may not read, or that does not exist (`requirement` undefined). A missing
 * item gets the same 402 as a subscribers-only item, so an unentitled caller cannot tell them apart.
 */
export function paymentRequired(
  env: Env,
  requirement: Requirement | undefined,
  userId: string,
  message?: string,
): PaymentRequired {
  const billingLinks = tierSchema.options.flatMap((tier) => {
    const variable = tierVariable(tier);
    const link = readLink(env, variable);
    return link === undefined ? [] : [{ tier, payment_link: paymentLink(link, variable, userId) }];
  });
  const sku = requirement?.sku ?? null;
  const storeLink = sku === null ? undefined : readLink(env, skuVariable(sku));
  const why =
    message ??
    (sku === null
      ? "An active subscription is required to read this item"
      : `An active subscription or the purchase of ${sku} is required to read this item`);
  return new PaymentRequired(why, {
    billing_links: billingLinks,
    store_link:
      sku === null || storeLink === undefined
        ? null
        : { sku, payment_link: paymentLink(storeLink, skuVariable(sku), userId) },
  });
}
