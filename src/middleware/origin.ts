import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import * as z from "zod";
import type { AppEnv } from "../env";
import { Forbidden } from "../errors";
import { list, readConfig } from "../lib/config";

const originConfig = z.object({ ORIGIN_ALLOWLIST: list() });

/**
 * Origin allowlist and CORS. With ORIGIN_ALLOWLIST set, a request whose `Origin` is not listed gets 403
 * (preflight included); a request without `Origin` is server-to-server and passes, and so does one from the
 * relay's own origin (the operator console at /admin: a page the relay itself serves). Allowed origins are
 * echoed, never `*`, because the relay's routes take credentials.
 */
export function originPolicy() {
  const corsHeaders = cors({
    origin: (origin) => origin,
    allowMethods: ["GET", "POST", "PUT", "OPTIONS"],
    // What page scripts may read: the library's range and caching headers included.
    exposeHeaders: [
      "X-Request-Id",
      // OAuth discovery by browser MCP clients: a 401 from /mcp names its resource metadata here.
      "WWW-Authenticate",
      "RateLimit",
      "RateLimit-Policy",
      "Retry-After",
      // OpenAI's limit headers and the provider that served (src/rate-limit/headers.ts, src/features/proxy/).
      "x-ratelimit-limit-requests",
      "x-ratelimit-remaining-requests",
      "x-ratelimit-reset-requests",
      "x-ratelimit-limit-tokens",
      "x-ratelimit-remaining-tokens",
      "x-ratelimit-reset-tokens",
      "x-relay-provider",
      "ETag",
      "Last-Modified",
      "Accept-Ranges",
      "Content-Range",
      "Content-Length",
    ],
    maxAge: 600,
  });
  return createMiddleware<AppEnv>(async function originPolicy(c, next) {
    const origin = c.req.header("Origin");
    if (origin === undefined) {
      // Server to server: no browser reads CORS headers. A cache must still not give this answer to one.
      await next();
      c.res.headers.append("Vary", "Origin");
      return;
    }
    if (origin !== new URL(c.req.url).origin) {
      const { ORIGIN_ALLOWLIST } = readConfig(c.env, originConfig);
      if (ORIGIN_ALLOWLIST.length > 0 && !ORIGIN_ALLOWLIST.includes(origin)) {
        throw new Forbidden("This Origin is not in ORIGIN_ALLOWLIST", "origin_not_allowed");
      }
    }
    return corsHeaders(c, next);
  });
}
