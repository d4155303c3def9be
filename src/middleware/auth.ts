import { createMiddleware } from "hono/factory";
import * as z from "zod";
import type { AppEnv } from "../env";
import { Unauthorized } from "../errors";
import { readConfig, required } from "../lib/config";
import { safeEqual } from "../lib/constant-time";

type SecretName = "RELAY_SECRET" | "CHATGPT_BEARER_TOKEN" | "ADMIN_TOKEN";

type TokenAuthOptions = {
  /** The secret the caller must present. Unset → 503 not_configured naming it. */
  secret: SecretName;
  /** A header that may carry the secret instead of `Authorization: Bearer` (the relay's `X-Relay-Secret`). */
  header?: string;
};

/** Reads `Authorization: Bearer <token>` (RFC 6750 §2.1); the scheme is case-insensitive. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = authorization?.match(/^Bearer[ ]+([^ ]+)[ ]*$/i);
  return match?.[1];
}

/** Requires one shared secret, compared in constant time. */
export function requireToken({ secret, header }: TokenAuthOptions) {
  const schema = z.object({ [secret]: required() });
  return createMiddleware<AppEnv>(async function requireToken(c, next) {
    const expected = readConfig(c.env, schema)[secret] as string;
    const given = (header && c.req.header(header)) || bearerToken(c.req.header("Authorization"));
    if (given === undefined || !(await safeEqual(given, expected))) throw new Unauthorized();
    await next();
  });
}
