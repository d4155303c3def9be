import OpenAI, { BadRequestError, NotFoundError, RateLimitError } from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type RelayIsolates, startRelayIsolates } from "./isolates";

// Today's OpenAI API, black-box: the built relay in raw workerd (test/e2e/isolates.ts), driven by the official
// openai SDK with a relay key as its apiKey. Three upstreams, each a scenario of the OpenAI stand-in: OpenAI
// itself, Groq (a second provider with its own key) and "flaky", a provider that answers 503 to everything,
// whose model falls back to Groq's (docs/api.md, "Providers, routing and fallbacks").
const ADMIN_TOKEN = "openai-api-admin-token";
const standIn = inject("e2eRelay").openaiStandIn;
const run = Date.now().toString(36);
const scenario = (name: string, behaviour: string) => ({
  id: `${name}-${run}`,
  url: `${standIn}/s/${name}-${run}/${behaviour}/v1`,
});
// Every answer generates 50 tokens unless its cap says fewer; MAX_TOKENS is 20.
const openai = scenario("api-openai", "gen-50");
const groq = scenario("api-groq", "gen-50");
const flaky = scenario("api-flaky", "status-503");
const LLAMA = "llama-3.1-8b-instant";
let relays: RelayIsolates;

beforeAll(async () => {
  relays = await startRelayIsolates(1, {
    ADMIN_TOKEN,
    RELAY_SECRET: "openai-api-relay-secret",
    OPENAI_API_KEY: "sk-openai-api",
    OPENAI_BASE_URL: openai.url,
    MAX_TOKENS: "20",
    PUBLIC_RATE_LIMIT: "100000",
    RATE_LIMIT_REQUESTS: "100000",
    USAGE_FLUSH_SECONDS: "0.2",
    GROQ_API_KEY: "gsk-openai-api",
    FLAKY_API_KEY: "flaky-openai-api",
    PROVIDERS: JSON.stringify([
      { name: "groq", base_url: groq.url, api_key_secret: "GROQ_API_KEY", models: ["llama-*"] },
      {
        name: "flaky",
        base_url: flaky.url,
        api_key_secret: "FLAKY_API_KEY",
        models: ["gpt-4.1-mini"],
        price_table: "openai",
      },
    ]),
    MODEL_FALLBACKS: JSON.stringify({ "gpt-4.1-mini": [LLAMA] }),
  });
}, 120_000);

afterAll(async () => {
  await relays?.stop();
});

type Received = { headers: Record<string, string>; body: Record<string, unknown>; path: string };
const received = async (id: string): Promise<Received[]> => (await fetch(`${standIn}/__requests/${id}`)).json();

async function admin(path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${relays.urls[0]}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok, await response.clone().text()).toBe(true);
  return (await response.json()) as Record<string, unknown>;
}

/** An SDK client with a new relay key of its own. */
async function clientWithKey(key: Record<string, unknown>): Promise<{ id: string; sdk: OpenAI }> {
  const created = (await admin("/admin/keys", { name: `sdk ${Object.keys(key).join(" ")}`, ...key })) as {
    key: { id: string };
    secret: string;
  };
  return {
    id: created.key.id,
    sdk: new OpenAI({ baseURL: `${relays.urls[0]}/v1`, apiKey: created.secret, maxRetries: 0 }),
  };
}

/** A key's requests of today, by model, as `GET /admin/usage` has them. */
async function requestsByModel(id: string): Promise<Array<[string, number]>> {
  const today = new Date().toISOString().slice(0, 10);
  const { rows } = (await admin(`/admin/usage?from=${today}&to=${today}&group_by=subject,model`)) as {
    rows: Array<{ subject: string; model: string; requests: number }>;
  };
  return rows.filter((row) => row.subject === `key:${id}`).map((row) => [row.model, row.requests]);
}

const MODELS = ["gpt-4o-mini", "text-embedding-3-small", LLAMA, "gpt-4.1-mini"];

describe("the official openai SDK with a relay key, against the built relay", () => {
  it("runs responses, embeddings, models and chat, each capped, metered and budgeted", async () => {
    const { id, sdk } = await clientWithKey({ models: MODELS, monthly_token_budget: 100_000 });

    // responses.create, whole: capped at MAX_TOKENS, store false unless asked.
    const { data: whole, response: headers } = await sdk.responses
      .create({ model: "gpt-4o-mini", input: "Hello", max_output_tokens: 500 })
      .withResponse();
    expect(whole.status).toBe("incomplete");
    expect(whole.output_text.split(" ")).toHaveLength(20);
    expect(whole.usage?.output_tokens).toBe(20);
    expect(headers.headers.get("x-relay-provider")).toBe("openai");
    expect(headers.headers.get("x-ratelimit-limit-tokens")).toBe("100000");

    // responses.create, streamed: the typed events, the usage in the last one.
    const stream = await sdk.responses.create({ model: "gpt-4o-mini", input: "Count", stream: true });
    const types: string[] = [];
    let deltas = "";
    let usage: { output_tokens: number } | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") deltas += event.delta;
      if (event.type === "response.incomplete") usage = event.response.usage;
    }
    expect(types.slice(0, 3)).toEqual(["response.created", "response.in_progress", "response.output_item.added"]);
    expect(types.at(-1)).toBe("response.incomplete");
    expect(deltas.split(" ")).toHaveLength(20);
    expect(usage?.output_tokens).toBe(20);

    // embeddings.create: the SDK asks for base64 and decodes it.
    const embedded = await sdk.embeddings.create({ model: "text-embedding-3-small", input: ["one", "two"] });
    expect(embedded.data.map((item) => item.embedding.length)).toEqual([8, 8]);
    expect(embedded.usage.prompt_tokens).toBe(2);

    // models.list and models.retrieve: the key's models across providers; anything else is NotFoundError.
    const listed = await sdk.models.list();
    expect(listed.data.map((model) => [model.id, model.owned_by])).toEqual([
      ["gpt-4o-mini", "openai"],
      ["text-embedding-3-small", "openai"],
      [LLAMA, "groq"],
      ["gpt-4.1-mini", "flaky"],
    ]);
    expect(await sdk.models.retrieve(LLAMA)).toEqual({ id: LLAMA, object: "model", created: 0, owned_by: "groq" });
    const missing = await sdk.models.retrieve("gpt-4o").catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).code).toBe("model_not_found");

    // A chat with store and metadata, as the SDK's own examples send it.
    const chat = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
      store: true,
      metadata: { app: "e2e" },
    });
    expect(chat.usage?.completion_tokens).toBe(20);

    const sent = await received(openai.id);
    const byPath = (suffix: string) => sent.filter((request) => request.path.endsWith(suffix)).map((r) => r.body);
    expect(byPath("/responses").map((body) => [body.max_output_tokens, body.store])).toEqual([
      [20, false],
      [20, false],
    ]);
    expect(byPath("/embeddings")).toEqual([
      { model: "text-embedding-3-small", input: ["one", "two"], encoding_format: "base64" },
    ]);
    expect(byPath("/chat/completions")[0]).toMatchObject({ store: true, metadata: { app: "e2e" }, max_tokens: 20 });
    for (const request of sent) expect(request.headers.authorization).toBe("Bearer sk-openai-api");

    // Metered: every call under the key, by model, in /admin/usage.
    await expect
      .poll(() => requestsByModel(id), { timeout: 15_000, interval: 300 })
      .toEqual([
        ["gpt-4o-mini", 3],
        ["text-embedding-3-small", 1],
      ]);
  });

  it("refuses what a budget cannot cover with RateLimitError budget_exceeded, and what the relay decides with BadRequestError", async () => {
    const { sdk } = await clientWithKey({ monthly_token_budget: 60 });
    const answer = await sdk.responses.create({ model: "gpt-4o-mini", input: "Hello" });
    expect(answer.usage?.output_tokens).toBeLessThanOrEqual(20);
    let refusal: unknown;
    for (let i = 0; i < 10 && refusal === undefined; i++) {
      refusal = await sdk.responses.create({ model: "gpt-4o-mini", input: "Hello" }).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    expect(refusal).toBeInstanceOf(RateLimitError);
    expect(refusal).toMatchObject({ status: 429, code: "budget_exceeded", type: "insufficient_quota" });

    const background = await sdk.responses
      .create({ model: "gpt-4o-mini", input: "Hello", background: true })
      .catch((error: unknown) => error);
    expect(background).toBeInstanceOf(BadRequestError);
    expect(background).toMatchObject({
      code: "background_not_supported",
      param: "background",
      type: "invalid_request_error",
    });
  });

  it("routes a model to its own provider with its own key, and serves a 503 of the first provider with the fallback", async () => {
    const { id, sdk } = await clientWithKey({ models: MODELS });
    const routed = await sdk.chat.completions
      .create({ model: LLAMA, messages: [{ role: "user", content: "Hi" }] })
      .withResponse();
    expect(routed.response.headers.get("x-relay-provider")).toBe("groq");
    expect(routed.data.model).toBe(LLAMA);

    const served = await sdk.chat.completions
      .create({ model: "gpt-4.1-mini", messages: [{ role: "user", content: "Hi" }] })
      .withResponse();
    expect(served.response.headers.get("x-relay-provider")).toBe("groq");
    expect(served.data.model).toBe(LLAMA);
    expect(served.data.usage?.completion_tokens).toBe(20);

    const toFlaky = await received(flaky.id);
    expect(toFlaky.map((request) => [request.headers.authorization, request.body.model])).toEqual([
      ["Bearer flaky-openai-api", "gpt-4.1-mini"],
    ]);
    const toGroq = await received(groq.id);
    expect(toGroq.map((request) => [request.headers.authorization, request.body.model])).toEqual([
      ["Bearer gsk-openai-api", LLAMA],
      ["Bearer gsk-openai-api", LLAMA],
    ]);
    // The usage is the model's that served.
    await expect.poll(() => requestsByModel(id), { timeout: 15_000, interval: 300 }).toEqual([[LLAMA, 2]]);
  });
});
