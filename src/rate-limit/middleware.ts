import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { RateLimited } from "../errors";
import { recentSha256Hex } from "../lib/constant-time";
import { requestLimitHeaders } from "./headers";
import { takeSlot } from "./leases";

type RateLimitOptions = {
  /** Names the bucket family and the IETF policy (`chat`, `connector`, …). */
  scope: string;
  /** Requests allowed per period, read from config per request. */
  limit: (c: Context<AppEnv>) => number;
  /** What is counted, for example a token (hashed before use). Default: the client IP. */
  key?: (c: Context<AppEnv>) => string | Promise<string>;
  periodMs?: number;
  /** How long a request over the limit may wait for its slot instead of being refused (0: never). */
  queueMs?: (c: Context<AppEnv>) => number;
};

/**
 * Exact rate limiting through the RateLimiter Durable Object (one per scope and key), asked through the
 * isolate's leases (leases.ts: no call while a lease of the bucket holds). Runs before
 * authentication, so guessing a secret is limited too. Adds the IETF draft `RateLimit-Policy` and
 * `RateLimit` headers and OpenAI's `x-ratelimit-*-requests` (headers.ts) to every answer, and `Retry-After` to a 429.
 */
export function rateLimit({ scope, limit, key, periodMs = 60_000, queueMs }: RateLimitOptions) {
  const windowSeconds = Math.ceil(periodMs / 1000);
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    const quota = limit(c);
    const bucket = `${scope}:${key ? await recentSha256Hex(await key(c)) : c.get("clientIpHash")}`;
    const limiter = () => c.env.RATE_LIMITER.getByName(bucket);
    const decision = await takeSlot(limiter, bucket, quota, periodMs, queueMs?.(c) ?? 0);
    const headers = requestLimitHeaders(scope, quota, decision.remaining, decision.resetMs, windowSeconds);
    if (!decision.allowed) {
      throw new RateLimited(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)), headers, decision.firstRefusal);
    }
    if (decision.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.waitMs));
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  });
}
