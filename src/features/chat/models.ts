import type { Context } from "hono";
import { chatCaller } from "../../caller/identify";
import type { AppEnv } from "../../env";
import { Unauthorized } from "../../errors";
import { readConfig } from "../../lib/config";
import { NO_DEMAND } from "../../metering/demand";
import { admitRelayKey } from "../keys/admit";
import { userOfToken } from "../ledger/user";
import { chatConfig, meteringConfig } from "./schema";

/**
 * `GET /v1/models` in OpenAI's shape: the models this caller may ask for. A relay key's own list, narrowed by
 * ALLOWED_MODELS; else ALLOWED_MODELS; with neither, any model may be asked for and the list shows the models
 * the relay has prices for. A key is checked by its Meter, as for chat (the listing takes a slot of its rate);
 * a user token is verified.
 */
export async function listModels(c: Context<AppEnv>): Promise<Response> {
  const config = readConfig(c.env, chatConfig);
  const metering = readConfig(c.env, meteringConfig);
  const caller = chatCaller(c);
  let own: string[] | null = null;
  if (caller?.kind === "relay-key") {
    const limits = { perMinute: metering.RATE_LIMIT_REQUESTS, budget: {}, queueMs: 0 };
    const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
    const { admission } = await admitRelayKey(c.env, waitUntil, caller.secret, NO_DEMAND, limits);
    if (!admission.key?.scopes.includes("chat")) throw new Unauthorized();
    own = admission.key.models;
  }
  if (caller?.kind === "user-jwt") await userOfToken(c.env, caller.token, new Date());
  const allowed = config.ALLOWED_MODELS.length > 0 ? config.ALLOWED_MODELS : null;
  const known = [...new Set([config.OPENAI_MODEL, ...metering.MODEL_PRICES.keys()])];
  const models = own ? own.filter((m) => allowed === null || allowed.includes(m)) : (allowed ?? known);
  return c.json({
    object: "list",
    data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "soul-mirror-relay" })),
  });
}
