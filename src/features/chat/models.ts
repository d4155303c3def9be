import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { Unauthorized } from "../../errors";
import { readConfig } from "../../lib/config";
import { safeEqual } from "../../lib/constant-time";
import { chatCredential } from "../../lib/credential";
import { hashSecret, keyIdOf } from "../keys/secret";
import { findKey } from "../keys/store";
import { userOfToken } from "../ledger/user";
import { chatConfig, meteringConfig } from "./schema";

/**
 * `GET /v1/models` in OpenAI's shape: the models this caller may ask for. A relay key's own list, narrowed by
 * ALLOWED_MODELS; else ALLOWED_MODELS; with neither, any model may be asked for and the list shows the models
 * the relay has prices for.
 */
export async function listModels(c: Context<AppEnv>): Promise<Response> {
  const config = readConfig(c.env, chatConfig);
  const metering = readConfig(c.env, meteringConfig);
  const credential = chatCredential(c.req.raw.headers, metering.CHAT_USER_JWT);
  let own: string[] | null = null;
  if (credential.kind === "key") {
    const id = keyIdOf(credential.secret);
    const key = id === undefined ? null : await findKey(c.env.DB, id);
    const valid =
      key !== null &&
      (await safeEqual(await hashSecret(credential.secret), key.config.secretHash)) &&
      key.config.revokedAt === null &&
      (key.config.expiresAt === null || Date.parse(key.config.expiresAt) > Date.now());
    if (!valid || !key.config.scopes.includes("chat")) throw new Unauthorized();
    own = key.config.models;
  }
  if (credential.kind === "user") await userOfToken(c.env, credential.token, new Date());
  const allowed = config.ALLOWED_MODELS.length > 0 ? config.ALLOWED_MODELS : null;
  const known = [...new Set([config.OPENAI_MODEL, ...metering.MODEL_PRICES.keys()])];
  const models = own ? own.filter((m) => allowed === null || allowed.includes(m)) : (allowed ?? known);
  return c.json({
    object: "list",
    data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "soul-mirror-relay" })),
  });
}
