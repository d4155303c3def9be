import type { Context } from "hono";
import { chatCaller } from "../../caller/identify";
import type { AppEnv } from "../../env";
import { NotFound, Unauthorized } from "../../errors";
import { readConfig } from "../../lib/config";
import { NO_DEMAND } from "../../metering/demand";
import { PRICE_TABLES } from "../../metering/prices";
import { admitRelayKey } from "../keys/admit";
import { userOfToken } from "../ledger/user";
import { limitHeadersOf } from "../proxy/caller";
import { meteringConfig, modelConfig } from "../proxy/config";
import { DEFAULT_PROVIDER, providerNameOf, providerOf, type RoutingConfig, routingConfig } from "../proxy/providers";

/** A model in OpenAI's shape; `owned_by` names the provider that serves it (`openai` for the default). */
type Model = { id: string; object: "model"; created: number; owned_by: string };

/**
 * The models the relay knows without being told: OPENAI_MODEL, the models MODEL_PRICES prices, OpenAI's price
 * table, and for each PROVIDERS entry the names its patterns spell out and the models of its price table they
 * match. Each is listed once, under the provider that serves it.
 */
function knownModels(routing: RoutingConfig, defaultModel: string, own: Iterable<string>): string[] {
  const names = new Set([defaultModel, ...own]);
  for (const name of PRICE_TABLES.get(DEFAULT_PROVIDER)?.keys() ?? []) {
    if (providerOf(routing, name) === undefined) names.add(name);
  }
  for (const entry of routing.PROVIDERS ?? []) {
    for (const pattern of entry.models) if (!pattern.includes("*")) names.add(pattern);
    const table = entry.price_table === null ? undefined : PRICE_TABLES.get(entry.price_table);
    for (const name of table?.keys() ?? []) if (providerOf(routing, name) === entry) names.add(name);
  }
  return [...names];
}

/**
 * The models this caller may ask for, across providers: a relay key's own list, narrowed by ALLOWED_MODELS;
 * else ALLOWED_MODELS; with neither, any model may be asked for and the list shows the models the relay knows
 * (knownModels). A key is checked by its Meter, as for chat (the listing takes a slot of its rate, and its
 * answer carries the key's limits); a user token is verified.
 */
async function modelsOf(c: Context<AppEnv>): Promise<Model[]> {
  const config = readConfig(c.env, modelConfig);
  const metering = readConfig(c.env, meteringConfig);
  const routing = readConfig(c.env, routingConfig);
  const caller = chatCaller(c);
  let own: string[] | null = null;
  if (caller?.kind === "relay-key") {
    const limits = { perMinute: metering.RATE_LIMIT_REQUESTS, budget: {}, queueMs: 0 };
    const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
    const { admission } = await admitRelayKey(c.env, waitUntil, caller.secret, NO_DEMAND, limits);
    if (!admission.key?.scopes.includes("chat")) throw new Unauthorized();
    c.set("meteredLimits", limitHeadersOf(admission));
    own = admission.key.models;
  }
  if (caller?.kind === "user-jwt") await userOfToken(c.env, caller.token, new Date());
  const allowed = config.ALLOWED_MODELS.length > 0 ? config.ALLOWED_MODELS : null;
  const ids = own
    ? own.filter((m) => allowed === null || allowed.includes(m))
    : (allowed ?? knownModels(routing, config.OPENAI_MODEL, metering.MODEL_PRICES.own.keys()));
  return ids.map((id) => ({ id, object: "model", created: 0, owned_by: providerNameOf(routing, id) }));
}

/** `GET /v1/models` in OpenAI's shape (so `openai.models.list()` works). */
export async function listModels(c: Context<AppEnv>): Promise<Response> {
  return c.json({ object: "list", data: await modelsOf(c) });
}

/** `GET /v1/models/{id}`: one model of the list, or 404 `model_not_found` (`openai.models.retrieve()`). */
export async function retrieveModel(c: Context<AppEnv>, id: string): Promise<Response> {
  const model = (await modelsOf(c)).find((candidate) => candidate.id === id);
  if (!model) {
    throw new NotFound(`The model ${id} is not one this credential may use`, "model_not_found", "model");
  }
  return c.json(model);
}
