import type { MiddlewareHandler } from "hono";
import * as z from "zod";
import type { AppEnv } from "../env";
import { integer, readConfig } from "../lib/config";
import { safeEqual } from "../lib/constant-time";
import { bearerToken } from "../lib/request";
import { rateLimit } from "./middleware";

/** Which exact, Durable-Object-backed limit counts a route's requests (all run before authentication). */
export type RateLimitScope =
  | "chat" // RATE_LIMIT_REQUESTS per minute per IP
  | "connector" // CONNECTOR_RATE_LIMIT per minute for the configured token or an OAuth grant, else per IP
  | "trigger" // TRIGGER_RATE_LIMIT per minute per IP
  | "public" // PUBLIC_RATE_LIMIT per minute per IP, one bucket for links, check and library
  | "admin"; // PUBLIC_RATE_LIMIT per minute per IP, a bucket of its own for ADMIN_TOKEN routes

/** The per-minute limits (docs/api.md, "Configuration"). */
const limitConfig = z.object({
  RATE_LIMIT_REQUESTS: integer(10, 1),
  CONNECTOR_RATE_LIMIT: integer(60, 1),
  TRIGGER_RATE_LIMIT: integer(10, 1),
  PUBLIC_RATE_LIMIT: integer(60, 1),
});
const limits = (env: Env) => readConfig(env, limitConfig);

/** The limiter of each scope. */
export const LIMITERS: Record<RateLimitScope, MiddlewareHandler<AppEnv>> = {
  chat: rateLimit({ scope: "chat", limit: (c) => limits(c.env).RATE_LIMIT_REQUESTS }),
  // Only the configured token gets a bucket of its own: anything else counts against the client's IP, so
  // guessing with a new token on every request is limited like any other guess.
  connector: rateLimit({
    scope: "connector",
    limit: (c) => limits(c.env).CONNECTOR_RATE_LIMIT,
    key: async (c) => {
      // An OAuth grant that /mcp has already verified counts on its own, however often its token is refreshed.
      const verified = c.get("rateLimitKey");
      if (verified !== undefined) return verified;
      const token = bearerToken(c.req.header("Authorization"));
      const expected = c.env.CHATGPT_BEARER_TOKEN;
      const valid = token !== undefined && Boolean(expected) && (await safeEqual(token, expected));
      return valid ? `token:${token}` : `ip:${c.get("clientIp")}`;
    },
  }),
  trigger: rateLimit({ scope: "trigger", limit: (c) => limits(c.env).TRIGGER_RATE_LIMIT }),
  // One bucket for every public route, so spreading requests over them buys nothing.
  public: rateLimit({ scope: "public", limit: (c) => limits(c.env).PUBLIC_RATE_LIMIT }),
  // ADMIN_TOKEN routes: a bucket of their own, of the same size, so that guessing the token is limited too.
  admin: rateLimit({ scope: "admin", limit: (c) => limits(c.env).PUBLIC_RATE_LIMIT }),
};
