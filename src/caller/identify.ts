import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "zod";
import type { AppEnv, Caller, OAuthGrant } from "../env";
import { flag, readConfig } from "../lib/config";
import { recentSha256Hex } from "../lib/constant-time";
import { bearerToken } from "../lib/request";
import { looksLikeJwt } from "../lib/user-jwt";

export type { Caller, OAuthGrant } from "../env";

/** The shared secrets a client may present, each its own kind of caller. */
export const SHARED_SECRETS = ["ADMIN_TOKEN", "RELAY_SECRET", "CHATGPT_BEARER_TOKEN"] as const;
export type SharedSecret = (typeof SHARED_SECRETS)[number];

/** Verifies an OAuth access token for the deployment that serves `url`: its grant, or null. */
export type OAuthVerifier = (url: URL, token: string, env: Env) => Promise<OAuthGrant | null>;

const encoder = new TextEncoder();
const secretDigests = new WeakMap<object, Promise<Array<[SharedSecret, Uint8Array]>>>();

/** The SHA-256 of a value (hex) as bytes: what timingSafeEqual compares. */
async function digestBytes(value: string): Promise<Uint8Array> {
  return encoder.encode(await recentSha256Hex(value));
}

/** The digest of each configured shared secret, once per isolate and env. */
function digestsOf(env: Env): Promise<Array<[SharedSecret, Uint8Array]>> {
  let digests = secretDigests.get(env);
  if (!digests) {
    const configured = SHARED_SECRETS.flatMap((name) => {
      const value = env[name];
      return typeof value === "string" && value !== "" ? [[name, value] as const] : [];
    });
    digests = Promise.all(
      configured.map(async ([name, value]): Promise<[SharedSecret, Uint8Array]> => [name, await digestBytes(value)]),
    );
    secretDigests.set(env, digests);
  }
  return digests;
}

const KIND_OF_SECRET = {
  ADMIN_TOKEN: "admin",
  RELAY_SECRET: "relay-secret",
  CHATGPT_BEARER_TOKEN: "chatgpt-token",
} as const satisfies Record<SharedSecret, Caller["kind"]>;

/** Tokens of the OAuth provider look like `user:grant:secret`. */
const OAUTH_TOKEN = /^[^:\s]+:[^:\s]+:[^:\s]+$/;

/** What identifying a route's caller needs to know of the route (its RouteSpec). */
export type CallerSource = {
  /** Routes that take RELAY_SECRET or a relay key read `X-Relay-Secret` first; all routes read the bearer. */
  relayHeader: boolean;
  /** The OAuth feature's check of access tokens, for a route that takes them (`/mcp`). */
  oauthTokens?: OAuthVerifier;
};

/**
 * Identifies the caller (see Caller) and puts it on the context as `caller`, before the route's rate limit
 * and token check. Every presented credential is compared with every configured shared secret, digest against
 * digest in constant time, so neither which secret matched nor how much of it did shows in the timing. An
 * OAuth token is verified only on a route that takes one.
 */
export function identifyCaller(source: CallerSource) {
  return createMiddleware<AppEnv>(async function identifyCaller(c, next) {
    c.set("caller", await callerOf(c, source));
    await next();
  });
}

async function callerOf(c: Context<AppEnv>, source: CallerSource): Promise<Caller> {
  const relayHeader = source.relayHeader ? c.req.header("X-Relay-Secret") : undefined;
  const bearer = bearerToken(c.req.header("Authorization"));
  const given = relayHeader || bearer;
  if (given === undefined || given === "") return { kind: "none" };
  if (given.startsWith("smr_")) return { kind: "relay-key", secret: given };
  const digest = await digestBytes(given);
  let matched: SharedSecret | undefined;
  for (const [name, expected] of await digestsOf(c.env)) {
    if (crypto.subtle.timingSafeEqual(digest, expected) && matched === undefined) matched = name;
  }
  // X-Relay-Secret carries RELAY_SECRET (or a key), never another secret.
  if (matched !== undefined && (given === bearer || matched === "RELAY_SECRET")) {
    return { kind: KIND_OF_SECRET[matched] };
  }
  if (given !== bearer) return { kind: "unknown" };
  if (looksLikeJwt(given)) return { kind: "user-jwt", token: given };
  if (source.oauthTokens && OAUTH_TOKEN.test(given)) {
    const grant = await source.oauthTokens(new URL(c.req.url), given, c.env);
    if (grant) return { kind: "oauth", grant };
  }
  return { kind: "unknown" };
}

/**
 * The shared secrets must differ from one another, checked when the Worker loads: a caller is one of them, and
 * ADMIN_TOKEN must never be what a ChatGPT action or a device holds.
 */
export const sharedSecretsLoadConfig = z.looseObject({}).superRefine((env, ctx) => {
  const seen = new Map<string, SharedSecret>();
  for (const name of SHARED_SECRETS) {
    const value = env[name];
    if (typeof value !== "string" || value === "") continue;
    const same = seen.get(value);
    if (same !== undefined) ctx.addIssue({ code: "custom", path: [name], message: `must differ from ${same}` });
    seen.set(value, name);
  }
});

const chatUsers = z.object({ CHAT_USER_JWT: flag() });

/**
 * The caller of a chat route, or null when it may not chat: RELAY_SECRET, a relay key, or a user JWT while
 * CHAT_USER_JWT=true. A key or user is admitted (and may still be refused) by its Meter.
 */
export function chatCaller(
  c: Context<AppEnv>,
): Extract<Caller, { kind: "relay-secret" | "relay-key" | "user-jwt" }> | null {
  const caller = c.get("caller");
  switch (caller.kind) {
    case "relay-secret":
    case "relay-key":
      return caller;
    case "user-jwt":
      return readConfig(c.env, chatUsers).CHAT_USER_JWT ? caller : null;
    default:
      return null;
  }
}
