import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../env";
import { recentSha256Hex } from "../lib/constant-time";
import { Logger } from "../lib/log";

/**
 * First middleware of every request: request id, client IP, security headers, and the one structured log
 * line (method, route, status, ms, request id, hashed IP). It never logs bodies, headers or query strings.
 */
export function requestContext() {
  return createMiddleware<AppEnv>(async function requestContext(c, next) {
    const started = performance.now();
    const requestId = crypto.randomUUID();
    // Cloudflare sets CF-Connecting-IP on every request that reaches the Worker; it cannot be spoofed there.
    const clientIp = c.req.header("CF-Connecting-IP") ?? "unknown";
    const clientIpHash = await recentSha256Hex(clientIp);
    const log = new Logger({ request_id: requestId, method: c.req.method, ip_hash: clientIpHash.slice(0, 16) });
    c.set("requestId", requestId);
    c.set("clientIp", clientIp);
    c.set("clientIpHash", clientIpHash);
    c.set("log", log);

    await next();

    c.res.headers.set("X-Request-Id", requestId);
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
    log.flush({ route: routeOf(c), status: c.res.status, ms: Math.round(performance.now() - started) });
  });
}

/** The route pattern that answered (`/v1/chat/completions`), never the raw path with its ids. */
function routeOf(c: Context<AppEnv>): string {
  const handler = matchedRoutes(c).findLast((route) => route.method !== "ALL");
  return handler?.path ?? "(unmatched)";
}
