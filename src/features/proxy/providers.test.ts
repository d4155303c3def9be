import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OPENAI_API_KEY, RELAY_SECRET } from "../../../test/secrets";
import { chatWith, createKey, eventually, expectUsageRow, meterOf } from "../../../test/support/keys";
import { openaiError, openaiScenario, relay, uniqueIp } from "../../../test/support/relay";
import { assertConfig } from "../../lib/config";
import { routingConfig } from "./providers";

// PROVIDERS and MODEL_FALLBACKS through the Worker's front door (docs/api.md, "Providers, routing and
// fallbacks"): each provider is a scenario of the OpenAI stand-in, at a base URL of its own.

const GROQ_KEY = "gsk-test-groq-key";
const LLAMA = "llama-3.1-8b-instant";
const hello = { messages: [{ role: "user", content: "Hello" }] };

/** The vars of a relay with OpenAI at `openai` and Groq (llama models, its own key) at `groq`. */
function twoProviders(openai: { baseUrl: string }, groq: { baseUrl: string }, extra: Record<string, string> = {}) {
  return {
    OPENAI_BASE_URL: openai.baseUrl,
    PROVIDERS: JSON.stringify([
      {
        name: "groq",
        base_url: groq.baseUrl,
        api_key_secret: "GROQ_API_KEY",
        models: ["llama-*", "mixtral-8x7b-32768"],
      },
    ]),
    GROQ_API_KEY: GROQ_KEY,
    ...extra,
  };
}

describe("PROVIDERS: a model goes to the provider that claims it", () => {
  it("sends a claimed model to its provider's base URL with its own key, and the rest to OpenAI", async () => {
    const [openai, groq] = [openaiScenario("gen-3"), openaiScenario("gen-3")];
    const vars = twoProviders(openai, groq);
    const routed = await chatWith(RELAY_SECRET, { ...hello, model: LLAMA }, vars);
    expect(routed.status).toBe(200);
    expect(routed.headers.get("x-relay-provider")).toBe("groq");
    expect(await routed.json()).toMatchObject({ model: LLAMA });
    const own = await chatWith(RELAY_SECRET, { ...hello, model: "gpt-4o-mini" }, vars);
    expect(own.headers.get("x-relay-provider")).toBe("openai");
    const [toGroq] = await groq.received();
    expect(toGroq?.headers.authorization).toBe(`Bearer ${GROQ_KEY}`);
    expect(toGroq?.body.model).toBe(LLAMA);
    expect(await groq.received()).toHaveLength(1);
    const [toOpenAI] = await openai.received();
    expect(toOpenAI?.headers.authorization).toBe(`Bearer ${OPENAI_API_KEY}`);
    expect(toOpenAI?.body.model).toBe("gpt-4o-mini");
  });

  it("prices a routed model from its provider's table, and refuses one without a price under a cost budget", async () => {
    const [openai, groq, local] = [openaiScenario("gen-100"), openaiScenario("gen-100"), openaiScenario("gen-1")];
    const { id, secret } = await createKey({ monthly_cost_budget_usd: 1 });
    const vars = {
      ...twoProviders(openai, groq),
      PROVIDERS: JSON.stringify([
        { name: "groq", base_url: groq.baseUrl, api_key_secret: "GROQ_API_KEY", models: ["llama-*"] },
        { name: "local", base_url: local.baseUrl, api_key_secret: "LOCAL_API_KEY", models: ["qwen*"] },
      ]),
      LOCAL_API_KEY: "local-key",
    };
    expect((await chatWith(secret, { ...hello, model: LLAMA }, vars)).status).toBe(200);
    // Groq's llama-3.1-8b-instant: $0.05 in, $0.08 out per million; 8 + 100 tokens: 8.4 µ$, rounded up.
    await expectUsageRow(`key:${id}`, { cost_usd: 0.000009 });
    const unpriced = await chatWith(secret, { ...hello, model: "qwen3-32b" }, vars);
    expect(unpriced.status).toBe(400);
    expect(await unpriced.json()).toEqual(openaiError("model_not_priced", undefined, "model"));
    expect(await local.received()).toEqual([]);
  });

  it("sends no stream_options to a provider that refuses them (stream_options: false), and estimates its stream", async () => {
    const [openai, mistral] = [openaiScenario("gen-3"), openaiScenario("gen-3")];
    const { id, secret } = await createKey({ monthly_token_budget: 100_000 });
    const vars = {
      OPENAI_BASE_URL: openai.baseUrl,
      PROVIDERS: JSON.stringify([
        {
          name: "mistral",
          base_url: mistral.baseUrl,
          api_key_secret: "MISTRAL_API_KEY",
          models: ["mistral-*"],
          stream_options: false,
        },
      ]),
      MISTRAL_API_KEY: "mistral-key",
    };
    const request = { ...hello, model: "mistral-small-latest", stream: true, stream_options: { include_usage: true } };
    const response = await chatWith(secret, request, vars);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("data: [DONE]");
    const [received] = await mistral.received();
    expect(received?.body).not.toHaveProperty("stream_options");
    expect(received?.body).toMatchObject({ model: "mistral-small-latest", stream: true });
    await expectUsageRow(`key:${id}`, { estimated_requests: 1 });
  });

  it("answers 503 naming the provider's secret when it is not set, and sends nothing", async () => {
    const [openai, groq] = [openaiScenario("ok"), openaiScenario("ok")];
    const response = await chatWith(
      RELAY_SECRET,
      { ...hello, model: LLAMA },
      {
        ...twoProviders(openai, groq),
        GROQ_API_KEY: undefined,
      },
    );
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(
      openaiError("not_configured", "The relay is not configured: GROQ_API_KEY is not set", null, "server_error"),
    );
    expect(await groq.received()).toEqual([]);
  });

  it("answers 503 naming PROVIDERS when a request meets a malformed table", async () => {
    const upstream = openaiScenario("ok");
    const response = await chatWith(RELAY_SECRET, hello, {
      OPENAI_BASE_URL: upstream.baseUrl,
      PROVIDERS: '[{"name":"x"}]',
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(
      openaiError("not_configured", "The relay is not configured: PROVIDERS is invalid"),
    );
    expect(await upstream.received()).toEqual([]);
  });
});

describe("MODEL_FALLBACKS: the next model serves what the first could not", () => {
  const fallbacks = { MODEL_FALLBACKS: JSON.stringify({ "gpt-4o-mini": [LLAMA] }) };

  it.each([
    ["answers 503", "status-503"],
    ["answers 429", "status-429"],
    ["answers 500", "status-500"],
    ["resets the connection", "reset"],
  ])("serves with the fallback when the first provider %s: its provider, key and usage", async (_, behaviour) => {
    const [openai, groq] = [openaiScenario(behaviour), openaiScenario("gen-3")];
    const { id, secret } = await createKey({ monthly_token_budget: 100_000 });
    const response = await chatWith(
      secret,
      { ...hello, model: "gpt-4o-mini" },
      { ...twoProviders(openai, groq), ...fallbacks },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-relay-provider")).toBe("groq");
    expect(await response.json()).toMatchObject({ model: LLAMA, object: "chat.completion" });
    expect(await openai.received()).toHaveLength(1);
    const [toGroq] = await groq.received();
    expect(toGroq?.headers.authorization).toBe(`Bearer ${GROQ_KEY}`);
    expect(toGroq?.body.model).toBe(LLAMA);
    // The usage is the model's that served, not the one asked for.
    await eventually(async () => {
      const usage = (await meterOf(`key:${id}`))?.usage ?? {};
      const models = Object.keys(usage).map((key) => key.split("|")[1]);
      expect(models).toEqual([LLAMA]);
    });
  });

  it("streams the fallback's answer when the first provider refused a stream with 503", async () => {
    const [openai, groq] = [openaiScenario("status-503"), openaiScenario("gen-3")];
    const response = await chatWith(
      RELAY_SECRET,
      { ...hello, stream: true },
      { ...twoProviders(openai, groq), ...fallbacks },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-relay-provider")).toBe("groq");
    const text = await response.text();
    expect(text).toContain(`"model":"${LLAMA}"`);
    expect(text).toContain("data: [DONE]");
  });

  it("never tries another model for a 4xx other than 429: the caller's mistake is answered as it is", async () => {
    const [openai, groq] = [openaiScenario("status-400"), openaiScenario("gen-3")];
    const response = await chatWith(RELAY_SECRET, hello, { ...twoProviders(openai, groq), ...fallbacks });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-relay-provider")).toBe("openai");
    expect(await response.json()).toMatchObject({ error: { code: "status_400" } });
    expect(await groq.received()).toEqual([]);
  });

  it("never tries another model once bytes have gone to the client", async () => {
    const [openai, groq] = [openaiScenario("cut-2"), openaiScenario("gen-3")];
    const response = await chatWith(
      RELAY_SECRET,
      { ...hello, stream: true },
      { ...twoProviders(openai, groq), ...fallbacks },
    );
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    expect(await groq.received()).toEqual([]);
  });

  it("answers the last failure when every model failed", async () => {
    const [openai, groq] = [openaiScenario("status-503"), openaiScenario("status-502")];
    const response = await chatWith(RELAY_SECRET, hello, { ...twoProviders(openai, groq), ...fallbacks });
    expect(response.status).toBe(502);
    expect(response.headers.get("x-relay-provider")).toBe("groq");
    expect(await response.json()).toMatchObject({ error: { code: "status_502" } });
  });

  it("leaves out a fallback the relay key may not use", async () => {
    const [openai, groq] = [openaiScenario("status-503"), openaiScenario("gen-3")];
    const { secret } = await createKey({ models: ["gpt-4o-mini"] });
    const response = await chatWith(secret, hello, { ...twoProviders(openai, groq), ...fallbacks });
    expect(response.status).toBe(503);
    expect(await groq.received()).toEqual([]);
  });

  it("reserves what the dearest model of the chain may cost: the output cap fits the fallback's price", async () => {
    const [openai, groq] = [openaiScenario("ok"), openaiScenario("ok")];
    // $0.005: the cheap model could answer MAX_TOKENS; the dear one, 100 µ$ a token, about 49 tokens.
    const { secret } = await createKey({ monthly_cost_budget_usd: 0.005 });
    const prices = { cheap: { input: 1, output: 1 }, "llama-dear": { input: 1, output: 100 } };
    const vars = { ...twoProviders(openai, groq), MODEL_PRICES: JSON.stringify(prices) };
    const alone = await chatWith(secret, { ...hello, model: "cheap" }, vars);
    expect(alone.status).toBe(200);
    expect((await openai.received())[0]?.body.max_tokens).toBe(2000);
    const chained = await chatWith(
      secret,
      { ...hello, model: "cheap" },
      {
        ...vars,
        MODEL_FALLBACKS: JSON.stringify({ cheap: ["llama-dear"] }),
      },
    );
    expect(chained.status).toBe(200);
    const cap = (await openai.received())[1]?.body.max_tokens as number;
    expect(cap).toBeGreaterThanOrEqual(16);
    expect(cap).toBeLessThan(50);
  });
});

describe("GET /v1/models and /v1/models/{id} across providers", () => {
  const get = (path: string, credential: string, vars: Record<string, string>) =>
    relay(path, { headers: { Authorization: `Bearer ${credential}`, "CF-Connecting-IP": uniqueIp() } }, vars);

  it("lists the models a credential may use, each owned by the provider that serves it", async () => {
    const vars = twoProviders(openaiScenario("ok"), openaiScenario("ok"));
    const all = (await (await get("/v1/models", RELAY_SECRET, vars)).json()) as { data: unknown[] };
    expect(all.data).toContainEqual({ id: "gpt-4o-mini", object: "model", created: 0, owned_by: "openai" });
    expect(all.data).toContainEqual({ id: LLAMA, object: "model", created: 0, owned_by: "groq" });
    expect(all.data).toContainEqual({ id: "mixtral-8x7b-32768", object: "model", created: 0, owned_by: "groq" });
    expect(all.data).not.toContainEqual(expect.objectContaining({ id: "gemma2-9b-it" }));
    const { secret } = await createKey({ models: ["gpt-4o-mini", LLAMA] });
    const own = await get("/v1/models", secret, vars);
    expect(own.headers.get("x-ratelimit-limit-requests")).toBe("1000");
    expect(await own.json()).toEqual({
      object: "list",
      data: [
        { id: "gpt-4o-mini", object: "model", created: 0, owned_by: "openai" },
        { id: LLAMA, object: "model", created: 0, owned_by: "groq" },
      ],
    });
  });

  it("retrieves one model the credential may use (ids with a slash too), else 404 model_not_found", async () => {
    const vars = twoProviders(openaiScenario("ok"), openaiScenario("ok"));
    const { secret } = await createKey({ models: [LLAMA, "meta-llama/llama-4-scout-17b-16e-instruct"] });
    const found = await get(`/v1/models/${LLAMA}`, secret, vars);
    expect(found.status).toBe(200);
    expect(await found.json()).toEqual({ id: LLAMA, object: "model", created: 0, owned_by: "groq" });
    const slashed = await get("/v1/models/meta-llama%2Fllama-4-scout-17b-16e-instruct", secret, {
      ...vars,
      PROVIDERS: JSON.stringify([
        {
          name: "groq",
          base_url: "https://api.groq.com/openai/v1",
          api_key_secret: "GROQ_API_KEY",
          models: ["*llama*"],
        },
      ]),
    });
    expect(await slashed.json()).toMatchObject({ id: "meta-llama/llama-4-scout-17b-16e-instruct", owned_by: "groq" });
    const missing = await get("/v1/models/gpt-4o", secret, vars);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual(
      openaiError(
        "model_not_found",
        "The model gpt-4o is not one this credential may use",
        "model",
        "invalid_request_error",
      ),
    );
  });
});

describe("PROVIDERS and MODEL_FALLBACKS when the Worker loads", () => {
  const load = (vars: Record<string, string>) => () => assertConfig({ ...env, ...vars } as Env, routingConfig);
  const provider = (entry: Record<string, unknown>) =>
    JSON.stringify([
      {
        name: "groq",
        base_url: "https://api.groq.com/openai/v1",
        api_key_secret: "GROQ_API_KEY",
        models: ["llama-*"],
        ...entry,
      },
    ]);

  it("loads without either, and with well-formed tables", () => {
    expect(load({})).not.toThrow();
    expect(
      load({ PROVIDERS: provider({}), MODEL_FALLBACKS: JSON.stringify({ "gpt-4o": [LLAMA, "gpt-4o-mini"] }) }),
    ).not.toThrow();
  });

  it.each([
    [
      { PROVIDERS: provider({ api_key_secret: "ADMIN_TOKEN" }) },
      "PROVIDERS is invalid (0.api_key_secret): must name a secret ending in _API_KEY or _API_TOKEN",
    ],
    [
      { PROVIDERS: provider({ name: "openai" }) },
      "PROVIDERS is invalid (0.name): is the default provider's name (OPENAI_BASE_URL)",
    ],
    [{ PROVIDERS: provider({ base_url: "ftp://example.com" }) }, "PROVIDERS is invalid (0.base_url): Invalid URL"],
    [
      { PROVIDERS: provider({ models: [] }) },
      "PROVIDERS is invalid (0.models): Too small: expected array to have >=1 items",
    ],
    [
      { PROVIDERS: provider({ price_table: "nowhere" }) },
      'PROVIDERS is invalid (0.price_table): Invalid option: expected one of "openai"|"anthropic"|"google"|"groq"|"mistral"|"deepseek"|"x-ai"',
    ],
    [{ PROVIDERS: provider({ region: "eu" }) }, 'PROVIDERS is invalid (0): Unrecognized key: "region"'],
    [{ PROVIDERS: "[" }, "PROVIDERS is invalid: is not valid JSON"],
    [
      { MODEL_FALLBACKS: JSON.stringify({ "gpt-4o": ["gpt-4o"] }) },
      "MODEL_FALLBACKS is invalid (gpt-4o): gpt-4o falls back to itself",
    ],
    [
      { MODEL_FALLBACKS: JSON.stringify({ "gpt-4o": ["o3"] }), ALLOWED_MODELS: "gpt-4o" },
      "MODEL_FALLBACKS is invalid (gpt-4o): names o3, which is not in ALLOWED_MODELS",
    ],
  ])("stops the Worker with a message that says what is wrong (%j)", (vars, message) => {
    expect(load(vars)).toThrow(new Error(`The relay is not configured: ${message}`));
  });

  it("stops the Worker when two entries share a name", () => {
    const entry = { name: "groq", base_url: "https://a.test/v1", api_key_secret: "GROQ_API_KEY", models: ["a"] };
    expect(load({ PROVIDERS: JSON.stringify([entry, entry]) })).toThrow(
      new Error("The relay is not configured: PROVIDERS is invalid (1.name): is used twice"),
    );
  });
});
