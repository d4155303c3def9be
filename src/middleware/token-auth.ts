import { createMiddleware } from "hono/factory";
import * as z from "zod";
import type { AppEnv } from "../env";
import { Unauthorized } from "../errors";
import { readConfig, required } from "../lib/config";
import { safeEqual } from "../lib/constant-time";
import { bearerToken } from "../lib/request";

type SecretName = "RELAY_SECRET" | "CHATGPT_BEARER_TOKEN" | "ADMIN_TOKEN";

type TokenAuthOptions = {
  /** The secret the caller must present. Unset → 503 not_configured naming it. */
  secret: SecretName;
  /** A header that may carry the secret instead of `Authorization: Bearer` (the relay's `X-Relay-Secret`). */
  header?: string;
};

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
