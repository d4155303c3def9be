import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import * as z from "zod";
import { NotConfigured, Unauthorized } from "../errors";
import { optional } from "./config";

/** Variables of user identity (docs/api.md, "Configuration"). */
export const userJwtConfig = z.object({
  USER_JWT_SECRET: optional(),
  USER_JWKS_URL: optional().pipe(z.url({ protocol: /^https?$/ }).optional()),
  USER_JWT_ISSUER: optional(),
  USER_JWT_AUDIENCE: optional(),
});
export type UserJwtConfig = z.output<typeof userJwtConfig>;

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

function subjectOf(sub: unknown): string {
  // A lone surrogate (`"\ud800"` is valid JSON) names no user storage can hold: KV and D1 would refuse or
  // rewrite it.
  if (typeof sub !== "string" || sub === "" || !sub.isWellFormed()) {
    throw new Unauthorized("Invalid or expired user token");
  }
  return sub;
}

/** True when the token has the three dot-separated parts of a compact JWS. */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/**
 * Verifies a user JWT and returns its `sub`. USER_JWKS_URL (with USER_JWT_ISSUER and USER_JWT_AUDIENCE
 * pinned) takes precedence over USER_JWT_SECRET (HS256; issuer and audience checked when set). `exp` and
 * `sub` are required, `alg: none` never passes (jose refuses unsecured tokens in `jwtVerify`). Neither
 * configured → 503; any verification failure → 401 without detail.
 */
export async function verifyUserJwt(config: UserJwtConfig, token: string, now: Date): Promise<string> {
  if (!looksLikeJwt(token)) throw new Unauthorized("Invalid or expired user token");
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
      return subjectOf(payload.sub);
    }
    if (!config.USER_JWT_SECRET) throw new NotConfigured("USER_JWT_SECRET");
    const { payload } = await jwtVerify(token, encoder.encode(config.USER_JWT_SECRET), {
      ...options,
      algorithms: ["HS256"],
      issuer: config.USER_JWT_ISSUER,
      audience: config.USER_JWT_AUDIENCE,
    });
    return subjectOf(payload.sub);
  } catch (error) {
    if (error instanceof NotConfigured || error instanceof Unauthorized) throw error;
    // A JWKS that does not answer is our problem, not the caller's credential; everything else is a bad token.
    if (error instanceof errors.JWKSTimeout) {
      throw new NotConfigured("USER_JWKS_URL", "could not be fetched");
    }
    throw new Unauthorized("Invalid or expired user token");
  }
}
