import * as z from "zod";
import { json, list } from "../../lib/config";
import { PRICE_TABLES } from "../../metering/prices";
import type { UpstreamTarget } from "../../upstream/openai";
import type { ModelConfig } from "./config";

/** The name OpenAI, the default upstream (OPENAI_BASE_URL, OPENAI_API_KEY), goes by in `x-relay-provider`. */
export const DEFAULT_PROVIDER = "openai";

/**
 * A provider's key is a secret whose name ends in `_API_KEY` or `_API_TOKEN`: no PROVIDERS entry can name one of
 * the relay's own secrets (ADMIN_TOKEN, GITHUB_TOKEN, RELAY_SECRET, …) and so send it to a third party.
 */
const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,62}_API_(?:KEY|TOKEN)$/;

const modelName = z.string().min(1).max(256);

/** A model pattern: `*` stands for any run of characters (`llama-*`, `*`), anything else for itself. */
function globMatcher(glob: string): (model: string) => boolean {
  const pattern = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*");
  const regex = new RegExp(`^${pattern}$`, "s");
  return (model) => regex.test(model);
}

const provider = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "must be 1 to 32 lower-case letters, digits and dashes")
      .refine((name) => name !== DEFAULT_PROVIDER, `is the default provider's name (OPENAI_BASE_URL)`),
    base_url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .transform((value) => value.replace(/\/+$/, "")),
    api_key_secret: z.string().regex(SECRET_NAME, "must name a secret ending in _API_KEY or _API_TOKEN"),
    models: z.array(modelName).min(1).max(100),
    price_table: z
      .enum([...PRICE_TABLES.keys()] as [string, ...string[]])
      .nullable()
      .optional(),
    /** false for a provider that refuses `stream_options` (Mistral): the relay then sends none. */
    stream_options: z.boolean().default(true),
  })
  .transform((entry) => ({
    ...entry,
    // A provider named like a table of the data package is priced from it unless it names another (or null).
    price_table:
      entry.price_table === undefined ? (PRICE_TABLES.has(entry.name) ? entry.name : null) : entry.price_table,
    serves: entry.models.map(globMatcher),
  }));
export type Provider = z.output<typeof provider>;

const providers = z
  .array(provider)
  .max(20)
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      if (seen.has(entry.name)) ctx.addIssue({ code: "custom", path: [index, "name"], message: "is used twice" });
      seen.add(entry.name);
    });
  });

/** `{"gpt-4o": ["claude-sonnet-4-5", "gpt-4o-mini"]}`: the models that serve a request when its own cannot. */
const fallbacks = z.record(
  modelName,
  z
    .array(modelName)
    .min(1)
    .max(5)
    .refine((models) => new Set(models).size === models.length, "names a model twice"),
);

type RoutingInput = {
  PROVIDERS?: Provider[];
  MODEL_FALLBACKS?: Record<string, string[]>;
  ALLOWED_MODELS: string[];
};

/** A model never falls back to itself, and with ALLOWED_MODELS set every model named must be allowed. */
function checkFallbacks(config: RoutingInput, ctx: z.RefinementCtx): void {
  const allowed = config.ALLOWED_MODELS;
  for (const [model, others] of Object.entries(config.MODEL_FALLBACKS ?? {})) {
    const problem = (message: string) => ctx.addIssue({ code: "custom", path: ["MODEL_FALLBACKS", model], message });
    if (others.includes(model)) problem(`${model} falls back to itself`);
    for (const name of [model, ...others]) {
      if (allowed.length > 0 && !allowed.includes(name)) problem(`names ${name}, which is not in ALLOWED_MODELS`);
    }
  }
}

/**
 * PROVIDERS and MODEL_FALLBACKS (docs/api.md, "Providers, routing and fallbacks"). Checked when the Worker
 * loads (src/index.ts): an entry that is malformed stops the Worker with its reason; a request that still
 * meets one answers 503 naming the variable.
 */
export const routingConfig = z
  .object({ PROVIDERS: json(providers), MODEL_FALLBACKS: json(fallbacks), ALLOWED_MODELS: list() })
  .superRefine(checkFallbacks);
export type RoutingConfig = z.output<typeof routingConfig>;

/** Where a model goes: the first PROVIDERS entry with a pattern it matches, else OpenAI. */
export function providerOf(routing: RoutingConfig, model: string): Provider | undefined {
  return routing.PROVIDERS?.find((entry) => entry.serves.some((serves) => serves(model)));
}

/** The name of the provider that serves `model`. */
export function providerNameOf(routing: RoutingConfig, model: string): string {
  return providerOf(routing, model)?.name ?? DEFAULT_PROVIDER;
}

/** The price table a model is priced from (MODEL_PRICES over it): its provider's, OpenAI's by default. */
export function priceTableOf(routing: RoutingConfig, model: string): string | null {
  const entry = providerOf(routing, model);
  return entry ? entry.price_table : DEFAULT_PROVIDER;
}

/** The models that serve a request for `model` when it cannot be served (MODEL_FALLBACKS), in order. */
export function fallbacksOf(routing: RoutingConfig, model: string): string[] {
  const table = routing.MODEL_FALLBACKS;
  return table !== undefined && Object.hasOwn(table, model) ? (table[model] ?? []) : [];
}

/**
 * The upstream that serves `model`, with its key; undefined when the key's secret is not set (the caller says
 * 503 not_configured naming it, or tries the next model).
 */
export function upstreamOf(
  routing: RoutingConfig,
  model: string,
  config: ModelConfig,
  env: Env,
): { target: UpstreamTarget; keyName: string; apiKey: string | undefined; streamOptions: boolean } {
  const entry = providerOf(routing, model);
  const keyName = entry?.api_key_secret ?? "OPENAI_API_KEY";
  // The name matched SECRET_NAME (or is OPENAI_API_KEY): never a property of Object.prototype.
  const value: unknown = (env as unknown as Record<string, unknown>)[keyName];
  const apiKey = typeof value === "string" && value.trim() !== "" ? value : undefined;
  return {
    target: {
      name: entry?.name ?? DEFAULT_PROVIDER,
      baseUrl: entry?.base_url ?? config.OPENAI_BASE_URL,
      apiKey: apiKey ?? "",
      timeoutMs: config.OPENAI_TIMEOUT_MS,
    },
    keyName,
    apiKey,
    streamOptions: entry?.stream_options ?? true,
  };
}
