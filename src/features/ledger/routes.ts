import { type Context, Hono } from "hono";
import type { AppEnv } from "../../env";
import { Forbidden, NotFound, Unauthorized } from "../../errors";
import { readConfig } from "../../lib/config";
import { safeEqual } from "../../lib/constant-time";
import { bearerToken } from "../../middleware/auth";
import { readJson, validate } from "../../middleware/json-body";
import { looksLikeJwt, userJwtConfig, verifyUserJwt } from "../../middleware/user-auth";
import { mount, ROUTES } from "../../routes";
import { type AdminOutcome, adminEventId, recordAdminChange, replayOf } from "./admin-change";
import type { Change } from "./events";
import type { Ledger } from "./kv-import";
import { readEntitlements, readHistory } from "./read";
import { checkConfig, grantBody, revokeBody, userQuery } from "./schema";

/** The entitlement routes: a check for users, grant/revoke/history for the admin. */
export const entitlements = new Hono<AppEnv>();

/** The ledger's bindings. */
export function ledgerOf(env: Env): Ledger {
  return { db: env.DB, kv: env.ENTITLEMENTS_KV };
}

/**
 * Who may read `userId`'s entitlements: ADMIN_TOKEN (anyone), a user JWT whose `sub` is `userId` (else 403),
 * or nobody without a credential (401) unless ENTITLEMENTS_PUBLIC_CHECK=true. A credential that is sent is
 * always checked, even in public mode.
 */
async function authorizeCheck(c: Context<AppEnv>, userId: string, now: Date): Promise<string> {
  const config = readConfig(c.env, checkConfig);
  const token = bearerToken(c.req.header("Authorization"));
  if (token === undefined) {
    if (config.ENTITLEMENTS_PUBLIC_CHECK) return "public";
    throw new Unauthorized("ADMIN_TOKEN or a user token is required");
  }
  if (config.ADMIN_TOKEN !== undefined && (await safeEqual(token, config.ADMIN_TOKEN))) return "admin";
  if (!looksLikeJwt(token)) throw new Unauthorized();
  const subject = await verifyUserJwt(readConfig(c.env, userJwtConfig), token, now);
  if (subject !== userId) throw new Forbidden("This user token belongs to another user", "user_mismatch");
  return "user";
}

/** The answer to a grant or revocation; a replay (same Idempotency-Key) says so in a header, as Stripe does. */
function adminAnswer(c: Context<AppEnv>, userId: string, outcome: AdminOutcome, message: string) {
  if (outcome.replayed) c.header("Idempotent-Replayed", "true");
  return c.json({ success: true, user_id: userId, event: outcome.event, message });
}

mount(entitlements, ROUTES.check, async (c) => {
  const { user_id } = validate(userQuery, c.req.query());
  const now = new Date();
  c.get("log").set({ caller: await authorizeCheck(c, user_id, now) });
  const found = await readEntitlements(c.env.DB, c.env.ENTITLEMENTS_KV, user_id, now);
  return c.json({
    success: true,
    user_id,
    ...found,
    message: found.has_access ? "User has active access" : "User has no active access",
  });
});

mount(entitlements, ROUTES.grant, async (c) => {
  const body = await readJson(c, grantBody);
  const change: Change =
    body.type === "subscription"
      ? {
          type: "grant",
          entitlement: "subscription",
          tier: body.tier,
          expiresAt: body.expires_at === undefined ? undefined : new Date(body.expires_at),
        }
      : { type: "grant", entitlement: "purchase", sku: body.sku };
  const ledger = ledgerOf(c.env);
  const eventId = adminEventId(c);
  const outcome =
    (await replayOf(ledger, eventId, body.user_id, change)) ??
    (await recordAdminChange(ledger, body.user_id, change, eventId, c.get("requestId"), new Date()));
  return adminAnswer(c, body.user_id, outcome, "Entitlement granted");
});

mount(entitlements, ROUTES.revoke, async (c) => {
  const body = await readJson(c, revokeBody);
  const now = new Date();
  const ledger = ledgerOf(c.env);
  const change: Change =
    body.type === "subscription"
      ? { type: "revoke", entitlement: "subscription", tier: body.tier, reason: body.reason }
      : { type: "revoke", entitlement: "purchase", sku: body.sku, reason: body.reason };
  const eventId = adminEventId(c);
  // A retry of a revocation that went through answers the same, not 404 for what is no longer held.
  const replayed = await replayOf(ledger, eventId, body.user_id, change);
  if (replayed) return adminAnswer(c, body.user_id, replayed, "Entitlement revoked");
  // Read only to answer 404 for nothing to revoke; the revocation itself is conditional inside the batch.
  const held = await readEntitlements(ledger.db, ledger.kv, body.user_id, now);
  const holds =
    body.type === "subscription"
      ? held.subscription !== null && held.subscription.status !== "revoked" && held.subscription.tier === body.tier
      : held.purchases.some((purchase) => purchase.sku === body.sku);
  if (!holds) {
    const what = body.type === "subscription" ? `${body.tier} subscription` : `purchase of ${body.sku}`;
    throw new NotFound(`User ${body.user_id} has no unrevoked ${what}`, "entitlement_not_found");
  }
  const outcome = await recordAdminChange(ledger, body.user_id, change, eventId, c.get("requestId"), now);
  return adminAnswer(c, body.user_id, outcome, "Entitlement revoked");
});

mount(entitlements, ROUTES.history, async (c) => {
  const { user_id } = validate(userQuery, c.req.query());
  const events = await readHistory(c.env.DB, c.env.ENTITLEMENTS_KV, user_id, new Date());
  return c.json({ success: true, user_id, events });
});
