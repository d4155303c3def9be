import { type Context, Hono } from "hono";
import type { ListedKey } from "../../admin-api";
import { writeAudit } from "../../audit/store";
import type { AppEnv } from "../../env";
import { InvalidRequest, NotFound } from "../../errors";
import { readJson, validate } from "../../lib/request";
import { forgetLease } from "../../metering/client";
import { mount, type RouteSpec } from "../../middleware/guard";
import { createKeyBody, keyPath } from "./schema";
import { hashSecret, newKey } from "./secret";
import { insertKey, listKeys, monthUsageOfKeys, revokeKey } from "./store";

/** Relay keys: one secret per client, with its own scopes, models, limit and budgets (docs/metering.md). */
export const keyRoutes = {
  createKey: { method: "POST", path: "/admin/keys", auth: "admin", rateLimit: "admin", body: "json" },
  listKeys: { method: "GET", path: "/admin/keys", auth: "admin", rateLimit: "admin", body: null },
  revokeKey: { method: "POST", path: "/admin/keys/:id/revoke", auth: "admin", rateLimit: "admin", body: null },
} as const satisfies Record<string, RouteSpec>;

export const keys = new Hono<AppEnv>();

/** The audit record of an admin's change to a key. */
function auditKey(c: Context<AppEnv>, action: "key_create" | "key_revoke", id: string, at: Date) {
  return writeAudit(c.env.DB, {
    at,
    actor: "admin",
    action,
    target: `key:${id}`,
    outcome: "ok",
    requestId: c.get("requestId"),
  });
}

/** The Meter of a key: where its secret, limits and budget are checked on every lease. */
export function keyMeter(env: Env, id: string) {
  return env.METER.getByName(`key:${id}`);
}

mount(keys, keyRoutes.createKey, async (c) => {
  const body = await readJson(c.req.raw, createKeyBody);
  const now = new Date();
  if (body.expires_at !== undefined && Date.parse(body.expires_at) <= now.getTime()) {
    throw new InvalidRequest("expires_at: must lie in the future");
  }
  const { id, secret } = newKey();
  const { record, config } = await insertKey(
    c.env.DB,
    {
      id,
      name: body.name,
      scopes: body.scopes,
      user_id: body.user_id ?? null,
      models: body.models ?? null,
      monthly_token_budget: body.monthly_token_budget ?? null,
      monthly_cost_budget_usd: body.monthly_cost_budget_usd ?? null,
      rate_limit_per_minute: body.rate_limit_per_minute ?? null,
      expires_at: body.expires_at ?? null,
      created_at: now.toISOString(),
    },
    await hashSecret(secret),
  );
  await keyMeter(c.env, id).configure(`key:${id}`, config);
  await auditKey(c, "key_create", id, now);
  return c.json({ success: true, key: record, secret }, 201);
});

mount(keys, keyRoutes.listKeys, async (c) => {
  const month = new Date().toISOString().slice(0, 7);
  const [all, used] = await Promise.all([listKeys(c.env.DB), monthUsageOfKeys(c.env.DB, month)]);
  const none = { month, requests: 0, tokens: 0, cost_usd: 0, unpriced_requests: 0 };
  const listed = all.map((key): ListedKey => ({ ...key, month_usage: used.get(key.id) ?? none }));
  return c.json({ success: true, keys: listed });
});

mount(keys, keyRoutes.revokeKey, async (c) => {
  const { id } = validate(keyPath, { id: c.req.param("id") });
  const now = new Date();
  const record = await revokeKey(c.env.DB, id, now.toISOString());
  if (!record) throw new NotFound(`No relay key ${id}`, "key_not_found");
  await keyMeter(c.env, id).revoke(record.revoked_at ?? now.toISOString());
  forgetLease(`key:${id}`);
  await auditKey(c, "key_revoke", id, now);
  return c.json({ success: true, key: record });
});
