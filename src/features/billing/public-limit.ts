import type { Context } from "hono";
import * as z from "zod";
import type { AppEnv } from "../../env";
import { integer, readConfig } from "../../lib/config";
import { rateLimit } from "../../middleware/rate-limit";

const publicLimitConfig = z.object({ PUBLIC_RATE_LIMIT: integer(60, 1) });

/** PUBLIC_RATE_LIMIT as configured (requests per minute). */
export function publicRateLimitValue(c: Context<AppEnv>): number {
  return readConfig(c.env, publicLimitConfig).PUBLIC_RATE_LIMIT;
}

/**
 * PUBLIC_RATE_LIMIT requests per minute per client IP, one bucket shared by every public route (links,
 * entitlement check, library), so spreading requests over them buys nothing.
 */
export function publicRateLimit() {
  return rateLimit({ scope: "public", limit: publicRateLimitValue });
}
