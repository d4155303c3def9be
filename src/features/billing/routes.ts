import { type Context, Hono } from "hono";
import type { AppEnv } from "../../env";
import { Forbidden, NotConfigured, NotFound } from "../../errors";
import { validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { userFrom } from "../ledger/user";
import { paymentLink, readLink, skuVariable, tierVariable } from "./links";
import { billingQuery, storeQuery } from "./schema";

/** Payment links for subscriptions and the store: public, rate limited per IP. */
export const billingRoutes = {
  billingLink: { method: "GET", path: "/billing/link", auth: "optional-user-jwt", rateLimit: "public", body: null },
  storeLink: { method: "GET", path: "/store/link", auth: "optional-user-jwt", rateLimit: "public", body: null },
} as const satisfies Record<string, RouteSpec>;

export const billing = new Hono<AppEnv>();

/**
 * The user to credit: a verified JWT's user wins, by its ledger id (which Stripe always keeps, whatever the
 * `sub` looks like); a `user_id` naming someone else is refused.
 */
async function buyer(c: Context<AppEnv>, queried: string | undefined): Promise<string | undefined> {
  const verified = await userFrom(c);
  if (verified !== undefined && queried !== undefined && queried !== verified.id && queried !== verified.subject) {
    throw new Forbidden("user_id does not match the user token", "user_mismatch");
  }
  return verified?.id ?? queried;
}

mount(billing, billingRoutes.billingLink, async (c) => {
  const query = validate(billingQuery, c.req.query());
  const variable = tierVariable(query.tier);
  const link = readLink(c.env, variable);
  if (link === undefined) throw new NotConfigured(variable);
  return c.json({
    success: true,
    tier: query.tier,
    payment_link: paymentLink(link, variable, await buyer(c, query.user_id)),
    message: "Redirect user to this payment link to complete subscription",
  });
});

mount(billing, billingRoutes.storeLink, async (c) => {
  const query = validate(storeQuery, c.req.query());
  const variable = skuVariable(query.sku);
  const link = readLink(c.env, variable);
  if (link === undefined) throw new NotFound(`No payment link for SKU ${query.sku}`, "unknown_sku");
  return c.json({
    success: true,
    sku: query.sku,
    payment_link: paymentLink(link, variable, await buyer(c, query.user_id)),
    message: "Redirect user to this payment link to complete purchase",
  });
});
