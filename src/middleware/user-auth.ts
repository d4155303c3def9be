import type { Context } from "hono";
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import * as z from "zod";
import type { AppEnv } from "../env";
import { NotConfigured, Unauthorized } from "../errors";
import { type LedgerUser, ledgerUserId } from "../features/ledger/identity";
import { readConfig } from "../lib/config";
import { bearerToken } from "./auth";

const optional = () =>
  z.preprocess(
    (value) => (typeof value === "string" && value.trim() !== "" ? value : undefined),
    z.string().optional(),
  );

/** Variables of user identity (DESIGN.md, "Configuration", Billing & ledger). */
export const userJwtConfig = z.object({
  USER_JWT_SECRET: optional(),
  USER_JWKS_URL: optional().pipe(z.url({ protocol: /^https?$/ }).optional()),
  USER_JWT_ISSUER: optional(),
  USER_JWT_AUDIENCE: optional(),
});
type UserJwtConfig = z.output<typeof userJwtConfig>;

// Asymmetric only: an identity provider's JWKS must never be usable as an HMAC secret (algorithm confusion).
const JWKS_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
const keySets = new Map<string, JWTVerifyGetKey>();
const encoder = new TextEncoder();

function jwksFor(url: string): JWTVerifyGetKey {
  let keySet = keySets.get(url);
  if (!keySet) {
    // jose caches the fetched keys and refetches on an unknown `kid` (key rotation).
    keySet = createRemoteJWKSet(new URL(url));
    keySets.set(url, keySet);
  }
  return keySet;
}

async function userOf(sub: unknown): Promise<LedgerUser> {
  // A lone surrogate (`"\ud800"` is valid JSON) names no user storage can hold: KV and D1 would refuse or
  // rewrite it.
  if (typeof sub !== "string" || sub === "" || !sub.isWellFormed()) {
    throw new Unauthorized("Invalid or expired user token");
  }
  return { id: await ledgerUserId(sub), subject: sub };
}

/** True when the token has the three dot-separated parts of a compact JWS. */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/**
 * Verifies a user JWT and returns its user: the `sub`, and the ledger id it maps to (ledger/identity.ts). USER_JWKS_URL (with USER_JWT_ISSUER and USER_JWT_AUDIENCE
 * pinned) takes precedence over USER_JWT_SECRET (HS256; issuer and audience checked when set). `exp` and
 * `sub` are required, `alg: none` never passes (jose refuses unsecured tokens in `jwtVerify`). Neither
 * configured → 503; any verification failure → 401 without detail.
 */
export async function verifyUserJwt(config: UserJwtConfig, token: string, now: Date): Promise<LedgerUser> {
  const options = { currentDate: now, requiredClaims: ["exp", "sub"], clockTolerance: 30 };
  try {
    if (config.USER_JWKS_URL) {
      if (!config.USER_JWT_ISSUER) throw new NotConfigured("USER_JWT_ISSUER", "must be set with USER_JWKS_URL");
      if (!config.USER_JWT_AUDIENCE) throw new NotConfigured("USER_JWT_AUDIENCE", "must be set with USER_JWKS_URL");
      const { payload } = await jwtVerify(token, jwksFor(config.USER_JWKS_URL), {
        ...options,
        algorithms: JWKS_ALGORITHMS,
        issuer: config.USER_JWT_ISSUER,
        audience: config.USER_JWT_AUDIENCE,
      });
      return userOf(payload.sub);
    }
    if (!config.USER_JWT_SECRET) throw new NotConfigured("USER_JWT_SECRET");
    const { payload } = await jwtVerify(token, encoder.encode(config.USER_JWT_SECRET), {
      ...options,
      algorithms: ["HS256"],
      issuer: config.USER_JWT_ISSUER,
      audience: config.USER_JWT_AUDIENCE,
    });
    return userOf(payload.sub);
  } catch (error) {
    if (error instanceof NotConfigured) throw error;
    // A JWKS that does not answer is our problem, not the caller's credential; everything else is a bad token.
    if (error instanceof errors.JWKSTimeout) {
      throw new NotConfigured("USER_JWKS_URL", "could not be fetched");
    }
    throw new Unauthorized("Invalid or expired user token");
  }
}

/**
 * The verified user of a request's `Authorization: Bearer <JWT>`, or undefined when no bearer token is
 * sent. A token that does not verify is a 401, never silently ignored. The library feature reuses this.
 */
export async function userFrom(c: Context<AppEnv>, now = new Date()): Promise<LedgerUser | undefined> {
  const token = bearerToken(c.req.header("Authorization"));
  if (token === undefined) return undefined;
  if (!looksLikeJwt(token)) throw new Unauthorized("Invalid or expired user token");
  return verifyUserJwt(readConfig(c.env, userJwtConfig), token, now);
}

/** Like `userFrom`, but a missing token is a 401 too. */
export async function requireUser(c: Context<AppEnv>, now = new Date()): Promise<LedgerUser> {
  const user = await userFrom(c, now);
  if (user === undefined) throw new Unauthorized("A user token is required");
  return user;
}
