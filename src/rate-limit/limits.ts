import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "zod";
import { chatCaller } from "../caller/identify";
import type { AppEnv } from "../env";
import { integer, readConfig } from "../lib/config";
import { floodGuard } from "./flood-guard";
import { rateLimit } from "./middleware";

/** Which exact, Durable-Object-backed limit counts a route's requests (all run before authentication). */
export type RateLimitScope =
  | "chat" // RATE_LIMIT_REQUESTS per minute per IP for RELAY_SECRET; the flood guard for keys and user tokens
  | "connector" // CONNECTOR_RATE_LIMIT per minute for the configured token or an OAuth grant, else per IP
  | "trigger" // TRIGGER_RATE_LIMIT per minute per IP for RELAY_SECRET; the flood guard for relay keys
  | "public" // PUBLIC_RATE_LIMIT per minute per IP, one bucket for links, check and library
  | "admin"; // PUBLIC_RATE_LIMIT per minute per IP, a bucket of its own for ADMIN_TOKEN routes

/** The per-minute limits (docs/api.md, "Configuration"). */
const limitConfig = z.object({
  RATE_LIMIT_REQUESTS: integer(10, 1),
  CONNECTOR_RATE_LIMIT: integer(60, 1),
  TRIGGER_RATE_LIMIT: integer(10, 1),
  PUBLIC_RATE_LIMIT: integer(60, 1),
  RATE_LIMIT_QUEUE_MS: integer(0, 0, 60_000),
});
const limits = (env: Env) => readConfig(env, limitConfig);

const chatPerIp = rateLimit({
  scope: "chat",
  limit: (c) => limits(c.env).RATE_LIMIT_REQUESTS,
  queueMs: (c) => limits(c.env).RATE_LIMIT_QUEUE_MS,
});

/**
 * Chat: RELAY_SECRET (and anything unrecognised) is limited exactly per client IP; a relay key or user token
 * meets only the flood guard here, because its own exact limit and budget are checked in one call to its
 * Meter once the request is read (src/metering/). The limits the Meter reported then go on the answer.
 */
const chatLimiter = createMiddleware<AppEnv>(async function chatLimiter(c, next) {
  const kind = chatCaller(c)?.kind;
  if (kind !== "relay-key" && kind !== "user-jwt") return chatPerIp(c, next);
  await floodGuard(c, next);
  for (const [name, value] of Object.entries(c.get("meteredLimits") ?? {})) c.res.headers.set(name, value);
});

const triggerPerIp = rateLimit({ scope: "trigger", limit: (c) => limits(c.env).TRIGGER_RATE_LIMIT });

/** The trigger: like chat, a relay key meets the flood guard here and its own limit at its Meter. */
const triggerLimiter = createMiddleware<AppEnv>(async function triggerLimiter(c, next) {
  return c.get("caller").kind === "relay-key" ? floodGuard(c, next) : triggerPerIp(c, next);
});

/** The limiter of each scope. */
export const LIMITERS: Record<RateLimitScope, MiddlewareHandler<AppEnv>> = {
  chat: chatLimiter,
  // Only the configured token and OAuth grants get buckets of their own: anything else counts against the
  // client's IP, so guessing with a new token on every request is limited like any other guess. A grant counts
  // on its own however often its token is refreshed.
  connector: rateLimit({
    scope: "connector",
    limit: (c) => limits(c.env).CONNECTOR_RATE_LIMIT,
    key: (c) => {
      const caller = c.get("caller");
      // The token itself names the bucket (hashed): a rotated token starts afresh.
      if (caller.kind === "chatgpt-token") return `token:${c.env.CHATGPT_BEARER_TOKEN}`;
      if (caller.kind === "oauth") return `grant:${caller.grant.grant}`;
      return `ip:${c.get("clientIp")}`;
    },
  }),
  trigger: triggerLimiter,
  // One bucket for every public route, so spreading requests over them buys nothing.
  public: rateLimit({ scope: "public", limit: (c) => limits(c.env).PUBLIC_RATE_LIMIT }),
  // ADMIN_TOKEN routes: a bucket of their own, of the same size, so that guessing the token is limited too.
  admin: rateLimit({ scope: "admin", limit: (c) => limits(c.env).PUBLIC_RATE_LIMIT }),
};
