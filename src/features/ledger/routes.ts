import { type Context, Hono } from "hono";
import type { EntitlementsCheck } from "../../admin-api";
import type { AppEnv } from "../../env";
import { Forbidden, NotFound, Unauthorized } from "../../errors";
import { readConfig } from "../../lib/config";
import { readJson, validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import {
  type AdminChange,
  type AdminOutcome,
  adminEventId,
  adminSourceRef,
  recordAdminChange,
  replayOf,
} from "./admin";
import type { LedgerUser } from "./identity";
import { importFromKv, type Ledger } from "./kv-import";
import { readEntitlements, readHistory } from "./read";
import { checkConfig, checkQuery, grantBody, paymentsQuery, revokeBody, userQuery } from "./schema";
import { countPayments, holdsUnrevoked } from "./store";
import { userFrom } from "./user";

/** The entitlement routes: a check for users, grant/revoke/history and the payments received for the admin. */
export const entitlementRoutes = {
  check: { method: "GET", path: "/entitlements/check", auth: "admin-or-user-jwt", rateLimit: "public", body: null },
  grant: { method: "POST", path: "/entitlements/grant", auth: "admin", rateLimit: "admin", body: "json" },
  revoke: { method: "POST", path: "/entitlements/revoke", auth: "admin", rateLimit: "admin", body: "json" },
  history: { method: "GET", path: "/entitlements/history", auth: "admin", rateLimit: "admin", body: null },
  payments: { method: "GET", path: "/admin/payments", auth: "admin", rateLimit: "admin", body: null },
} as const satisfies Record<string, RouteSpec>;

export const entitlements = new Hono<AppEnv>();

/** The ledger's bindings. */
export function ledgerOf(env: Env): Ledger {
  return { db: env.DB, kv: env.ENTITLEMENTS_KV };
}

/**
 * Whose entitlements a check reads, and who asks: ADMIN_TOKEN (any `user_id`), a user JWT (its own user:
 * `user_id` may be left out, or be its `sub` or ledger id; anything else is 403), or nobody without a
 * credential (401) unless ENTITLEMENTS_PUBLIC_CHECK=true. A credential that is sent is always checked.
 */
async function authorizeCheck(
  c: Context<AppEnv>,
  queried: string | undefined,
  now: Date,
): Promise<{ caller: string; user: LedgerUser }> {
  const config = readConfig(c.env, checkConfig);
  const named = () => ({ id: validate(userQuery, { user_id: queried }).user_id });
  const caller = c.get("caller");
  if (caller.kind === "none") {
    if (config.ENTITLEMENTS_PUBLIC_CHECK) return { caller: "public", user: named() };
    throw new Unauthorized("ADMIN_TOKEN or a user token is required");
  }
  if (caller.kind === "admin") return { caller: "admin", user: named() };
  const user = await userFrom(c, now);
  if (user === undefined) throw new Unauthorized("ADMIN_TOKEN or a user token is required");
  if (queried !== undefined && queried !== user.id && queried !== user.subject) {
    throw new Forbidden("This user token belongs to another user", "user_mismatch");
  }
  return { caller: "user", user };
}

/** The answer to a grant or revocation; a replay (same Idempotency-Key) says so in a header, as Stripe does. */
function adminAnswer(c: Context<AppEnv>, userId: string, outcome: AdminOutcome, message: string) {
  if (outcome.replayed) c.header("Idempotent-Replayed", "true");
  return c.json({ success: true, user_id: userId, event: outcome.event, message });
}

mount(entitlements, entitlementRoutes.check, async (c) => {
  const now = new Date();
  const { caller, user } = await authorizeCheck(c, validate(checkQuery, c.req.query()).user_id, now);
  c.get("log").set({ caller });
  const found = await readEntitlements(ledgerOf(c.env), user, now);
  const answer: EntitlementsCheck = {
    user_id: user.id,
    has_access: found.has_access,
    subscription: found.subscription,
    subscriptions: found.subscriptions,
    purchases: found.purchases,
    message: found.has_access ? "User has active access" : "User has no active access",
  };
  return c.json({ success: true, ...answer });
});

mount(entitlements, entitlementRoutes.grant, async (c) => {
  const body = await readJson(c.req.raw, grantBody);
  const eventId = adminEventId(c);
  const sourceRef = adminSourceRef(eventId);
  const request: AdminChange = {
    userId: body.user_id,
    body,
    change:
      body.type === "subscription"
        ? {
            type: "grant",
            entitlement: "subscription",
            tier: body.tier,
            sourceRef,
            expiresAt: body.expires_at === undefined ? undefined : new Date(body.expires_at),
            stackOn: "user",
            reason: body.reason,
          }
        : { type: "grant", entitlement: "purchase", sku: body.sku, sourceRef, reason: body.reason },
  };
  const ledger = ledgerOf(c.env);
  const outcome =
    (await replayOf(ledger, eventId, request)) ??
    (await recordAdminChange(ledger, request, eventId, c.get("requestId"), new Date()));
  return adminAnswer(c, body.user_id, outcome, "Entitlement granted");
});

mount(entitlements, entitlementRoutes.revoke, async (c) => {
  const body = await readJson(c.req.raw, revokeBody);
  const now = new Date();
  const ledger = ledgerOf(c.env);
  const eventId = adminEventId(c);
  const common = { reason: body.reason, sourceRef: body.source_ref };
  const request: AdminChange = {
    userId: body.user_id,
    body,
    change:
      body.type === "subscription"
        ? { type: "revoke", entitlement: "subscription", tier: body.tier, ...common }
        : { type: "revoke", entitlement: "purchase", sku: body.sku, ...common },
  };
  // A retry of a revocation that went through answers the same, not 404 for what is no longer held.
  const replayed = await replayOf(ledger, eventId, request);
  if (replayed) return adminAnswer(c, body.user_id, replayed, "Entitlement revoked");
  // Read only to answer 404 for nothing to revoke; the revocation itself is conditional inside the batch.
  await importFromKv(ledger, { id: body.user_id }, now);
  const holds = await holdsUnrevoked(ledger.db, body.user_id, request.change);
  if (!holds) {
    const what = body.type === "subscription" ? `${body.tier} subscription` : `purchase of ${body.sku}`;
    const from = body.source_ref === undefined ? "" : ` from ${body.source_ref}`;
    throw new NotFound(`User ${body.user_id} has no unrevoked ${what}${from}`, "entitlement_not_found");
  }
  const outcome = await recordAdminChange(ledger, request, eventId, c.get("requestId"), now);
  return adminAnswer(c, body.user_id, outcome, "Entitlement revoked");
});

mount(entitlements, entitlementRoutes.history, async (c) => {
  const { user_id } = validate(userQuery, c.req.query());
  const events = await readHistory(ledgerOf(c.env), { id: user_id }, new Date());
  return c.json({ success: true, user_id, events });
});

mount(entitlements, entitlementRoutes.payments, async (c) => {
  const { from, to } = validate(paymentsQuery, c.req.query());
  return c.json({ success: true, from, to, counts: await countPayments(c.env.DB, from, to) });
});
