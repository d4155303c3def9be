import { describe, expect, it } from "vitest";
import { OPENAI_API_KEY, RELAY_SECRET } from "../../../test/secrets";
import { createKey, eventually, expectUsageRow, meterOf, postWith, usageRowOf } from "../../../test/support/keys";
import { openaiError, openaiScenario } from "../../../test/support/relay";
import { LEAST_ANSWER_TOKENS } from "../../metering/demand";

// POST /v1/responses through the Worker's front door (docs/api.md, "The Responses API"), against the OpenAI
// stand-in's /v1/responses (test/stand-ins/openai-responses.ts).

const hello = { model: "gpt-4o-mini", input: "Hello" };
const respond = (credential: string, body: unknown, vars?: Record<string, string>) =>
  postWith("/v1/responses", credential, body, vars);

/** Reads a stream to its end. */
async function textOf(response: Response): Promise<string> {
  return new TextDecoder().decode(await response.arrayBuffer());
}

/** What the stand-in sends for `body` when asked directly, byte for byte. */
async function upstreamBytes(behaviour: string, body: unknown): Promise<string> {
  const direct = openaiScenario(behaviour);
  const response = await fetch(`${direct.baseUrl}/responses`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return textOf(response);
}

describe("POST /v1/responses: a whole response", () => {
  it("sends the request with store false and the output cap, with only the relay's key, and returns the body unchanged", async () => {
    const upstream = openaiScenario("ok");
    const response = await respond(
      RELAY_SECRET,
      { input: "Hello", instructions: "Be brief." },
      {
        OPENAI_BASE_URL: upstream.baseUrl,
        MAX_TOKENS: "300",
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-relay-provider")).toBe("openai");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ object: "response", status: "completed", model: "gpt-4o-mini", store: false });
    expect(body.output).toEqual([
      expect.objectContaining({
        type: "message",
        content: [expect.objectContaining({ text: "max_output_tokens=300" })],
      }),
    ]);
    const [received] = await upstream.received();
    expect(received?.path).toMatch(/\/v1\/responses$/);
    expect(received?.headers.authorization).toBe(`Bearer ${OPENAI_API_KEY}`);
    // OpenAI keeps a response unless told not to: the relay tells it, and fills model and cap.
    expect(received?.body).toEqual({
      input: "Hello",
      instructions: "Be brief.",
      model: "gpt-4o-mini",
      store: false,
      max_output_tokens: 300,
    });
  });

  it.each([
    [5000, 300],
    [40, 40],
  ])("caps max_output_tokens %i at MAX_TOKENS: the upstream gets %i", async (asked, sent) => {
    const upstream = openaiScenario("ok");
    const response = await respond(
      RELAY_SECRET,
      { ...hello, max_output_tokens: asked },
      {
        OPENAI_BASE_URL: upstream.baseUrl,
        MAX_TOKENS: "300",
      },
    );
    expect(response.status).toBe(200);
    expect((await upstream.received())[0]?.body.max_output_tokens).toBe(sent);
  });

  it("keeps store true when asked, and then lets previous_response_id through", async () => {
    const upstream = openaiScenario("ok");
    const request = { ...hello, store: true, previous_response_id: "resp_earlier", metadata: { app: "phone" } };
    const response = await respond(RELAY_SECRET, request, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(200);
    expect((await upstream.received())[0]?.body).toMatchObject({ store: true, previous_response_id: "resp_earlier" });
  });
});

describe("POST /v1/responses: what costs more than tokens or keeps data is decided", () => {
  it.each([
    ["background", { background: true }, "background_not_supported", "background"],
    ["previous_response_id", { previous_response_id: "resp_1" }, "store_required", "previous_response_id"],
    ["conversation", { conversation: "conv_1", store: false }, "store_required", "conversation"],
    ["web_search", { tools: [{ type: "web_search" }] }, "tool_not_allowed", "tools.0.type"],
    [
      "a dated web search",
      { tools: [{ type: "function", name: "f" }, { type: "web_search_preview" }] },
      "tool_not_allowed",
      "tools.1.type",
    ],
    [
      "file_search",
      { tools: [{ type: "file_search", vector_store_ids: ["vs_1"] }] },
      "tool_not_allowed",
      "tools.0.type",
    ],
    [
      "code_interpreter",
      { tools: [{ type: "code_interpreter", container: { type: "auto" } }] },
      "tool_not_allowed",
      "tools.0.type",
    ],
    ["image_generation", { tools: [{ type: "image_generation" }] }, "tool_not_allowed", "tools.0.type"],
    ["a tool type the relay does not know", { tools: [{ type: "teleport" }] }, "tool_not_allowed", "tools.0.type"],
    ["service_tier priority", { service_tier: "priority" }, "service_tier_not_allowed", "service_tier"],
    ["a field the relay does not know", { made_up: true }, "invalid_request", "made_up"],
  ])("refuses %s with 400, param naming it, and sends nothing", async (_, extra, code, param) => {
    const upstream = openaiScenario("ok");
    const response = await respond(RELAY_SECRET, { ...hello, ...extra }, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(openaiError(code, undefined, param, "invalid_request_error"));
    expect(await upstream.received()).toEqual([]);
  });

  it("lets a hosted tool through once RESPONSES_TOOLS lists it, and the caller's own tools always", async () => {
    const upstream = openaiScenario("ok");
    const tools = [
      { type: "function", name: "lookup", parameters: { type: "object", properties: {} } },
      { type: "web_search_preview" },
      { type: "file_search", vector_store_ids: ["vs_1"] },
    ];
    const response = await respond(
      RELAY_SECRET,
      { ...hello, tools },
      {
        OPENAI_BASE_URL: upstream.baseUrl,
        RESPONSES_TOOLS: "web_search,file_search",
      },
    );
    expect(response.status).toBe(200);
    expect((await upstream.received())[0]?.body.tools).toEqual(tools);
  });
});

describe("POST /v1/responses: streamed typed events", () => {
  it("passes every event through unchanged, byte for byte", async () => {
    const upstream = openaiScenario("gen-4");
    const response = await respond(RELAY_SECRET, { ...hello, stream: true }, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/event-stream; charset=utf-8");
    const text = await textOf(response);
    const [received] = await upstream.received();
    expect(text).toBe(await upstreamBytes("gen-4", received?.body));
    expect(text).toContain("event: response.created\n");
    expect(text).toContain('"type":"response.output_text.delta"');
    expect(text).toContain("event: response.completed\n");
  });

  it("passes an upstream's CRLF line ends through unchanged, and reads its usage", async () => {
    const upstream = openaiScenario("gencrlf-6");
    const { id, secret } = await createKey({ monthly_token_budget: 100_000 });
    const response = await respond(secret, { ...hello, stream: true }, { OPENAI_BASE_URL: upstream.baseUrl });
    const text = await textOf(response);
    const [received] = await upstream.received();
    expect(text).toBe(await upstreamBytes("gencrlf-6", received?.body));
    expect(text).toContain("\r\n\r\n");
    // The stand-in counts the input "Hello" as 8 tokens; 6 tokens generated.
    await eventually(async () => expect((await meterOf(`key:${id}`))?.committed.tokens).toBe(14));
  });

  it("sends the first event on before the upstream has finished", async () => {
    // Three deltas 400 ms apart: the answer takes over a second upstream.
    const upstream = openaiScenario("drip-3-400");
    const response = await respond(RELAY_SECRET, { ...hello, stream: true }, { OPENAI_BASE_URL: upstream.baseUrl });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("event: response.created");
    const [received] = await upstream.received();
    expect(received?.chunks_sent).toBeLessThan(3);
    await reader.cancel();
  });
});

describe("POST /v1/responses: metered and budgeted like chat", () => {
  it("charges the usage of response.completed: input with its cached part at the cached rate, output with reasoning", async () => {
    // 100 tokens out of which 40 reasoning (counted in output_tokens), 4 of the 8 input tokens cached.
    const upstream = openaiScenario("gen-100-4-40");
    const { id, secret } = await createKey({ monthly_cost_budget_usd: 1 });
    for (const stream of [false, true]) {
      const response = await respond(secret, { ...hello, stream }, { OPENAI_BASE_URL: upstream.baseUrl });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    // gpt-4o-mini: $0.15 input, $0.075 cached, $0.60 output per million: 4 × 0.15 + 4 × 0.075 + 100 × 0.6 = 60.9 µ$,
    // rounded up per request.
    await expectUsageRow(`key:${id}`, {
      requests: 2,
      prompt_tokens: 16,
      completion_tokens: 200,
      cost_usd: 0.000122,
      estimated_requests: 0,
    });
  });

  it("lowers max_output_tokens to what the budget can still pay for, and refuses what it cannot cover", async () => {
    const upstream = openaiScenario("gen-500");
    const { secret } = await createKey({ monthly_token_budget: 100 });
    const vars = { OPENAI_BASE_URL: upstream.baseUrl, MAX_TOKENS: "500" };
    const served = await respond(secret, hello, vars);
    expect(served.status).toBe(200);
    const cap = (await upstream.received())[0]?.body.max_output_tokens as number;
    expect(cap).toBeLessThan(100);
    expect(cap).toBeGreaterThanOrEqual(LEAST_ANSWER_TOKENS);
    const refused = await respond(secret, hello, vars);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual(openaiError("budget_exceeded", undefined, null, "insufficient_quota"));
    expect(await upstream.received()).toHaveLength(1);
  });

  it("aborts the upstream when the client leaves a stream, and charges what it produced, estimated", async () => {
    const upstream = openaiScenario("gen-400");
    const { id, secret } = await createKey({ monthly_token_budget: 1_000_000 });
    const response = await respond(
      secret,
      { ...hello, stream: true, max_output_tokens: 400 },
      {
        OPENAI_BASE_URL: upstream.baseUrl,
      },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    for (let part = await reader.read(); !part.done && !text.includes('tok5"'); part = await reader.read()) {
      text += new TextDecoder().decode(part.value);
    }
    await reader.cancel();
    await eventually(async () => expect((await upstream.received())[0]?.closed_early).toBe(true));
    await eventually(async () => {
      const row = await usageRowOf(`key:${id}`);
      expect(row).toMatchObject({ requests: 1, estimated_requests: 1 });
      expect(row?.completion_tokens as number).toBeGreaterThanOrEqual(5);
      expect(row?.completion_tokens as number).toBeLessThan(400);
    });
  });

  it("answers a relay key with its limits: the IETF RateLimit headers and OpenAI's x-ratelimit-* with the token trio", async () => {
    const upstream = openaiScenario("ok");
    const { secret } = await createKey({ monthly_token_budget: 100_000, rate_limit_per_minute: 30 });
    const response = await respond(secret, hello, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(200);
    expect(response.headers.get("RateLimit-Policy")).toBe('"subject";q=30;w=60');
    expect(response.headers.get("RateLimit")).toMatch(/^"subject";r=\d+;t=\d+$/);
    expect(response.headers.get("x-ratelimit-limit-requests")).toBe("30");
    expect(Number(response.headers.get("x-ratelimit-remaining-requests"))).toBeLessThan(30);
    expect(response.headers.get("x-ratelimit-reset-requests")).toMatch(/^(?:\d+ms|(?:\d+m)?[\d.]+s)$/);
    expect(response.headers.get("x-ratelimit-limit-tokens")).toBe("100000");
    expect(Number(response.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(100_000);
    expect(response.headers.get("x-ratelimit-reset-tokens")).toMatch(/^\d+h\d+m[\d.]+s$/);
  });
});
