import { describe, expect, it } from "vitest";
import { OPENAI_API_KEY, RELAY_SECRET } from "../../../test/secrets";
import { createKey, expectUsageRow, meterOf, postWith } from "../../../test/support/keys";
import { openaiError, openaiScenario, uniqueIp } from "../../../test/support/relay";

// POST /v1/embeddings through the Worker's front door (docs/api.md, "Embeddings"), against the OpenAI
// stand-in's /v1/embeddings (test/stand-ins/openai-embeddings.ts).

const embed = (credential: string, body: unknown, vars?: Record<string, string>) =>
  postWith("/v1/embeddings", credential, body, vars);
const texts = { model: "text-embedding-3-small", input: ["The quick brown fox", "jumps over the lazy dog"] };

describe("POST /v1/embeddings", () => {
  it("sends the request with only the relay's key and returns the upstream's answer unchanged", async () => {
    const upstream = openaiScenario("ok");
    const request = { ...texts, dimensions: 4, encoding_format: "base64", user: "u-1" };
    const response = await embed(RELAY_SECRET, request, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-relay-provider")).toBe("openai");
    const text = await response.text();
    const [received] = await upstream.received();
    expect(received?.path).toMatch(/\/v1\/embeddings$/);
    expect(received?.headers.authorization).toBe(`Bearer ${OPENAI_API_KEY}`);
    expect(received?.body).toEqual(request);
    const direct = await fetch(`${openaiScenario("ok").baseUrl}/embeddings`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    expect(text).toBe(await direct.text());
    expect(JSON.parse(text)).toMatchObject({
      object: "list",
      data: [{ object: "embedding", index: 0, embedding: expect.any(String) }, { index: 1 }],
      usage: { prompt_tokens: 11, total_tokens: 11 },
    });
  });

  it("meters the input tokens the answer reports, priced, from the end of an answer it passes on", async () => {
    const upstream = openaiScenario("ok");
    const { id, secret } = await createKey({ monthly_cost_budget_usd: 1 });
    const response = await embed(secret, texts, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    // text-embedding-3-small: $0.02 per million input tokens; 11 tokens, rounded up to a micro-dollar.
    await expectUsageRow(`key:${id}`, {
      requests: 1,
      prompt_tokens: 11,
      completion_tokens: 0,
      cost_usd: 0.000001,
      estimated_requests: 0,
    });
  });

  it("charges the input's bound, marked estimated, when the answer does not end with its usage", async () => {
    const upstream = openaiScenario("usagefirst");
    const { id, secret } = await createKey({ monthly_token_budget: 10_000 });
    const response = await embed(
      secret,
      { model: "text-embedding-3-small", input: "Hello there" },
      {
        OPENAI_BASE_URL: upstream.baseUrl,
      },
    );
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    // "Hello there" is 11 bytes: at most 11 tokens.
    await expectUsageRow(`key:${id}`, { prompt_tokens: 11, estimated_requests: 1 });
  });

  it("is budgeted: refused when the budget cannot cover the input, and nothing is sent", async () => {
    const upstream = openaiScenario("ok");
    const { id, secret } = await createKey({ monthly_token_budget: 20 });
    const response = await embed(
      secret,
      { model: "text-embedding-3-small", input: "x".repeat(100) },
      {
        OPENAI_BASE_URL: upstream.baseUrl,
      },
    );
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual(openaiError("budget_exceeded", undefined, null, "insufficient_quota"));
    expect(await upstream.received()).toEqual([]);
    expect((await meterOf(`key:${id}`))?.committed.tokens ?? 0).toBe(0);
  });

  it("is limited like chat: RATE_LIMIT_REQUESTS per minute per IP for RELAY_SECRET", async () => {
    const upstream = openaiScenario("ok");
    const vars = { OPENAI_BASE_URL: upstream.baseUrl, RATE_LIMIT_REQUESTS: "1" };
    const headers = { "CF-Connecting-IP": uniqueIp() };
    const first = await postWith("/v1/embeddings", RELAY_SECRET, texts, vars, headers);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit-requests")).toBe("1");
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const second = await postWith("/v1/embeddings", RELAY_SECRET, texts, vars, headers);
    expect(second.status).toBe(429);
    expect(second.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(await second.json()).toEqual(openaiError("rate_limited", undefined, null, "rate_limit_error"));
    expect(await upstream.received()).toHaveLength(1);
  });

  it.each([
    ["a field the relay does not know", { ...texts, made_up: 1 }, "made_up"],
    ["no input", { model: "text-embedding-3-small" }, "input"],
    ["no model", { input: "Hello" }, "model"],
    ["a bad encoding", { ...texts, encoding_format: "int8" }, "encoding_format"],
  ])("refuses %s with 400, param naming it, and sends nothing", async (_, body, param) => {
    const upstream = openaiScenario("ok");
    const response = await embed(RELAY_SECRET, body, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(openaiError("invalid_request", undefined, param, "invalid_request_error"));
    expect(await upstream.received()).toEqual([]);
  });

  it("refuses a model outside ALLOWED_MODELS", async () => {
    const upstream = openaiScenario("ok");
    const response = await embed(RELAY_SECRET, texts, {
      OPENAI_BASE_URL: upstream.baseUrl,
      ALLOWED_MODELS: "gpt-4o-mini",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(openaiError("model_not_allowed", undefined, "model"));
    expect(await upstream.received()).toEqual([]);
  });
});
