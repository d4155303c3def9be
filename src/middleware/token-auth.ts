import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "zod";
import type { SharedSecret } from "../caller/identify";
import type { AppEnv } from "../env";
import { Unauthorized } from "../errors";
import { readConfig, required } from "../lib/config";

/**
 * Requires a caller that `allowed` accepts (the caller was identified once, src/caller/identify.ts), else
 * 401 — or 503 not_configured naming the route's shared secret when it is not set, since then nobody could
 * have presented it.
 */
export function requireCaller(secret: SharedSecret, allowed: (c: Context<AppEnv>) => boolean) {
  const schema = z.object({ [secret]: required() });
  return createMiddleware<AppEnv>(async function requireCaller(c, next) {
    if (!allowed(c)) {
      readConfig(c.env, schema);
      throw new Unauthorized();
    }
    await next();
  });
}
