import type { Context, MiddlewareHandler } from "hono";
import * as z from "zod";
import type { AppEnv } from "../env";
import { integer, readConfig } from "../lib/config";
import { safeEqual } from "../lib/constant-time";
import type { AuthPolicy, RateLimitScope, RouteSpec } from "../routes";
import { bearerToken, requireToken } from "./auth";
import { limitBody } from "./json-body";
import { rateLimit } from "./rate-limit";

const limitConfig = z.object({
  RATE_LIMIT_REQUESTS: integer(10, 1),
  CONNECTOR_RATE_LIMIT: integer(60, 1),
  TRIGGER_RATE_LIMIT: integer(10, 1),
  PUBLIC_RATE_LIMIT: integer(60, 1),
});
const limits = (c: Context<AppEnv>) => readConfig(c.env, limitConfig);

/** The per-minute limits of DESIGN.md's configuration table, by scope. */
const LIMITERS: Record<RateLimitScope, MiddlewareHandler<AppEnv>> = {
  chat: rateLimit({ scope: "chat", limit: (c) => limits(c).RATE_LIMIT_REQUESTS }),
  // Only the configured token gets a bucket of its own: anything else counts against the client's IP, so
  // guessing with a new token on every request is limited like any other guess.
  connector: rateLimit({
    scope: "connector",
    limit: (c) => limits(c).CONNECTOR_RATE_LIMIT,
    key: async (c) => {
      const token = bearerToken(c.req.header("Authorization"));
      const expected = c.env.CHATGPT_BEARER_TOKEN;
      const valid = token !== undefined && Boolean(expected) && (await safeEqual(token, expected));
      return valid ? `token:${token}` : `ip:${c.get("clientIp")}`;
    },
  }),
  trigger: rateLimit({ scope: "trigger", limit: (c) => limits(c).TRIGGER_RATE_LIMIT }),
  // One bucket for every public route, so spreading requests over them buys nothing.
  public: rateLimit({ scope: "public", limit: (c) => limits(c).PUBLIC_RATE_LIMIT }),
  // ADMIN_TOKEN routes: a bucket of their own, of the same size, so that guessing the token is limited too.
  admin: rateLimit({ scope: "admin", limit: (c) => limits(c).PUBLIC_RATE_LIMIT }),
};

/** Policies a shared secret settles; the others are checked by the handler, which has what they need. */
const TOKEN_CHECKS: Partial<Record<AuthPolicy, MiddlewareHandler<AppEnv>>> = {
  "relay-secret": requireToken({ secret: "RELAY_SECRET", header: "X-Relay-Secret" }),
  "chatgpt-token": requireToken({ secret: "CHATGPT_BEARER_TOKEN" }),
  admin: requireToken({ secret: "ADMIN_TOKEN" }),
};

const jsonBodyLimit = limitBody();

/**
 * The middleware a route's declaration asks for, in the order DESIGN.md requires: rate limit, then the token
 * check (so that guessing is limited too), then the 1 MiB cap on a JSON body.
 */
export function guard(spec: RouteSpec): MiddlewareHandler<AppEnv>[] {
  const chain: MiddlewareHandler<AppEnv>[] = [];
  if (spec.rateLimit) chain.push(LIMITERS[spec.rateLimit]);
  const tokenCheck = TOKEN_CHECKS[spec.auth];
  if (tokenCheck) chain.push(tokenCheck);
  if (spec.body !== null && spec.body !== "stream") chain.push(jsonBodyLimit);
  return chain;
}
