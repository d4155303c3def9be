import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { RateLimited } from "../errors";

/** The flood guard's limit per client IP and minute; wrangler.jsonc's `ratelimits` entry says the same. */
export const FLOOD_GUARD_PER_MINUTE = 600;

/**
 * The pre-authentication guard of credentials that are checked later and more expensively (relay keys, user
 * tokens): Cloudflare's Rate Limiting binding, counted per client IP in the location that serves it. It is
 * approximate (each location counts on its own) but costs no round trip, unlike the exact limits, which run
 * once the subject is known.
 */
export const floodGuard = createMiddleware<AppEnv>(async function floodGuard(c, next) {
  const { success } = await c.env.FLOOD_GUARD.limit({ key: c.get("clientIpHash") });
  if (!success) {
    throw new RateLimited(60, { "RateLimit-Policy": `"flood";q=${FLOOD_GUARD_PER_MINUTE};w=60` });
  }
  await next();
});
