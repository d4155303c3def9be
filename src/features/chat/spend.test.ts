import { describe, expect, it } from "vitest";
import { RELAY_SECRET } from "../../../test/secrets";
import { aroundNow, chatWith, createKey, eventually, meterOf, usageRowOf, usageRows } from "../../../test/support/keys";
import { openaiError, openaiScenario } from "../../../test/support/relay";
import { LEAST_ANSWER_TOKENS } from "../../metering/demand";
import { promptEstimate } from "../../metering/prices";

// Spend control through the Worker's front door (docs/metering.md, "Reservations, clamping and estimates"):
// a budget refuses only what it cannot cover, lowers the output cap of what it can cover in part, and is
// charged what requests really used.

const hello = { messages: [{ role: "user", content: "Hello!" }] };

const rowOf = usageRowOf;

describe("a budget refuses only what it cannot cover", () => {
  it("serves 100 requests in a row until real spend is within one request of a 1,000-token budget", async () => {
    // Each request really spends about 18 tokens (the stand-in counts the prompt as OpenAI's guide does and
    // generates 10 tokens); its worst case is its prompt's upper bound plus MAX_TOKENS.
    const upstream = openaiScenario("gen-10");
    const { id, secret } = await createKey({ monthly_token_budget: 1000 });
    const vars = { OPENAI_BASE_URL: upstream.baseUrl, MAX_TOKENS: "100" };
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await chatWith(secret, hello, vars)).status);
    const served = statuses.indexOf(429);
    expect(served).toBeGreaterThan(0);
    // Once refused, always refused: nothing is held back that comes free again later.
    expect(statuses.slice(served).every((status) => status === 429)).toBe(true);
    const meter = await meterOf(`key:${id}`);
    const spent = meter?.committed.tokens ?? 0;
    expect(meter?.reserved.tokens).toBe(0);
    // Refused only when what is left cannot pay for the prompt and the shortest answer.
    expect(1000 - spent).toBeLessThan(promptEstimate(hello) + LEAST_ANSWER_TOKENS);
    expect(spent).toBeGreaterThanOrEqual(880);
    expect(spent).toBeLessThanOrEqual(1000);
    const received = await upstream.received();
    expect(received).toHaveLength(served);
    // The last requests ran with their cap lowered to what the budget could still pay for.
    const caps = received.map((request) => request.body.max_tokens as number);
    expect(caps.slice(0, 10)).toEqual(Array(10).fill(100));
    expect(Math.min(...caps)).toBeLessThan(100);
    expect(Math.min(...caps)).toBeGreaterThanOrEqual(LEAST_ANSWER_TOKENS);
  }, 60_000);

  it("answers a first request whose cap the budget cannot pay with its cap lowered, not refused", async () => {
    // The shipped MAX_TOKENS (2,000) on a 1,000-token budget.
    const upstream = openaiScenario("gen-5");
    const { secret } = await createKey({ monthly_token_budget: 1000 });
    const response = await chatWith(secret, hello, { OPENAI_BASE_URL: upstream.baseUrl, MAX_TOKENS: "2000" });
    expect(response.status).toBe(200);
    const [received] = await upstream.received();
    expect(received?.body.max_tokens).toBe(1000 - promptEstimate(hello));
  });

  it("lowers the cap of each of n choices alike, so that all of them fit", async () => {
    const upstream = openaiScenario("gen-5");
    const { secret } = await createKey({ monthly_token_budget: 1000 });
    const request = { ...hello, n: 4 };
    const response = await chatWith(secret, request, { OPENAI_BASE_URL: upstream.baseUrl, MAX_TOKENS: "2000" });
    expect(response.status).toBe(200);
    const [received] = await upstream.received();
    expect(received?.body.max_tokens).toBe(Math.floor((1000 - promptEstimate(request)) / 4));
  });

  it("lowers the cap to what a cost budget can pay for at the model's price", async () => {
    const upstream = openaiScenario("gen-5");
    // $0.0001 = 100 µ$; gpt-4o-mini: 0.15 µ$ per input token, 0.6 µ$ per output token.
    const { secret } = await createKey({ monthly_cost_budget_usd: 0.0001 });
    const request = { ...hello, model: "gpt-4o-mini" };
    const response = await chatWith(secret, request, { OPENAI_BASE_URL: upstream.baseUrl, MAX_TOKENS: "2000" });
    expect(response.status).toBe(200);
    const [received] = await upstream.received();
    expect(received?.body.max_tokens).toBe(Math.floor((100 - promptEstimate(request) * 0.15) / 0.6));
  });
});

describe("one output cap upstream", () => {
  it("sends exactly one cap, holding what was reserved, when the client sends both", async () => {
    const upstream = openaiScenario("gen-100");
    const { id, secret } = await createKey({ monthly_token_budget: 1000 });
    const request = { ...hello, max_completion_tokens: 1, max_tokens: 100 };
    const vars = { OPENAI_BASE_URL: upstream.baseUrl, MAX_TOKENS: "100" };
    const responses = await Promise.all(Array.from({ length: 40 }, () => chatWith(secret, request, vars)));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const received = await upstream.received();
    for (const { body } of received) {
      expect(body.max_completion_tokens).toBe(1);
      expect(body).not.toHaveProperty("max_tokens");
    }
    await eventually(async () => {
      const meter = await meterOf(`key:${id}`);
      expect(meter?.reserved.tokens).toBe(0);
      expect(meter?.committed.tokens).toBeLessThanOrEqual(1000);
    });
  });

  it("sends max_tokens when that is the cap the client used, and MAX_TOKENS as it when it used none", async () => {
    const upstream = openaiScenario("gen-5");
    const vars = { OPENAI_BASE_URL: upstream.baseUrl, MAX_TOKENS: "300" };
    await chatWith(RELAY_SECRET, { ...hello, max_tokens: 1000 }, vars);
    await chatWith(RELAY_SECRET, hello, vars);
    await chatWith(RELAY_SECRET, { ...hello, max_completion_tokens: 7 }, vars);
    const bodies = (await upstream.received()).map(({ body }) => ({
      max_tokens: body.max_tokens,
      max_completion_tokens: body.max_completion_tokens,
    }));
    expect(bodies).toEqual([
      { max_tokens: 300, max_completion_tokens: undefined },
      { max_tokens: 300, max_completion_tokens: undefined },
      { max_tokens: undefined, max_completion_tokens: 7 },
    ]);
  });
});

describe("prices", () => {
  it("charges cached prompt tokens at the cached rate", async () => {
    // 4,000 characters: 1,006 prompt tokens as the stand-in counts, 1,000 of them cached; 5 generated.
    const upstream = openaiScenario("gen-5-1000");
    const { id, secret } = await createKey();
    const request = { model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(4000) }] };
    expect((await chatWith(secret, request, { OPENAI_BASE_URL: upstream.baseUrl })).status).toBe(200);
    // gpt-4o-mini: 0.15 input, 0.075 cached input, 0.6 output (µ$ per token): 6 × 0.15 + 1000 × 0.075 + 5 × 0.6.
    await eventually(async () => expect((await rowOf(`key:${id}`))?.cost_usd).toBe(0.000079));
  });

  it.each([
    ["a dated snapshot of a listed model", "gpt-4.1-mini-2099-01-01", 200],
    ["a misspelt model", "gpt-4o-mnii", 400],
    ["a listed model's name with something in front", "demo-gpt-4o", 400],
  ])("prices %s by exact name or snapshot only (%s)", async (_, model, status) => {
    const upstream = openaiScenario("gen-5");
    const { secret } = await createKey({ monthly_cost_budget_usd: 1 });
    const response = await chatWith(secret, { ...hello, model }, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(status);
    if (status === 400) expect(await response.json()).toEqual(openaiError("model_not_priced"));
  });

  it("takes MODEL_PRICES over the built-in prices, cached input at its own rate or the input's", async () => {
    const upstream = openaiScenario("gen-5-1000");
    const { id, secret } = await createKey();
    const vars = {
      OPENAI_BASE_URL: upstream.baseUrl,
      MODEL_PRICES: JSON.stringify({ "gpt-4o-mini": { input: 1, output: 2 } }),
    };
    const request = { model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(4000) }] };
    expect((await chatWith(secret, request, vars)).status).toBe(200);
    // No cached rate given: cached tokens cost what input costs. 1,006 × 1 + 5 × 2.
    await eventually(async () => expect((await rowOf(`key:${id}`))?.cost_usd).toBe(0.001016));
  });
});

/** Every property name of Object.prototype: none of them is a model, and none may reach a Meter as one. */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

describe("Meter state cannot be poisoned", () => {
  it("refuses every Object.prototype name as a model under a cost budget, and changes nothing", async () => {
    const upstream = openaiScenario("gen-5");
    const { id, secret } = await createKey({ monthly_cost_budget_usd: 1 });
    for (const model of PROTOTYPE_NAMES) {
      const response = await chatWith(secret, { ...hello, model }, { OPENAI_BASE_URL: upstream.baseUrl });
      expect(response.status, model).toBe(400);
      expect(await response.json()).toEqual(openaiError("model_not_priced"));
    }
    expect(await upstream.received()).toEqual([]);
    // The lease the first request took goes back when it ends, and nothing was spent.
    await eventually(async () => {
      const meter = await meterOf(`key:${id}`);
      expect(meter?.committed).toEqual({ tokens: 0, micros: 0 });
      expect(meter?.reserved).toEqual({ tokens: 0, micros: 0 });
    });
  });

  it("meters every Object.prototype name as an unpriced model, with finite numbers only", async () => {
    const upstream = openaiScenario("gen-5");
    const { id, secret } = await createKey({ monthly_token_budget: 1_000_000 });
    for (const model of PROTOTYPE_NAMES) {
      const response = await chatWith(secret, { ...hello, model }, { OPENAI_BASE_URL: upstream.baseUrl });
      expect(response.status, model).toBe(200);
    }
    await eventually(async () => {
      const rows = (await usageRows(`${aroundNow()}&group_by=subject,model`)).filter((r) => r.subject === `key:${id}`);
      expect(rows.map((row) => row.model).sort()).toEqual([...PROTOTYPE_NAMES].sort());
      for (const row of rows) expect(row).toMatchObject({ requests: 1, cost_usd: null, unpriced_requests: 1 });
    });
    const meter = await meterOf(`key:${id}`);
    const numbers = JSON.stringify(meter).match(/-?[\d.e+]+|null|NaN|Infinity/g) ?? [];
    expect(numbers.filter((n) => n === "NaN" || n === "Infinity")).toEqual([]);
    expect(meter?.committed.micros).toBe(0);
  });

  it.each([
    ["an infinite prompt count", '{"prompt_tokens":1e400,"completion_tokens":3}'],
    ["a negative completion count", '{"prompt_tokens":3,"completion_tokens":-3}'],
    ["a count given as text", '{"prompt_tokens":"3","completion_tokens":3}'],
    ["a fraction", '{"prompt_tokens":3.5,"completion_tokens":3}'],
    [
      "cached tokens that are not a number",
      '{"prompt_tokens":3,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":"NaN"}}',
    ],
  ])("never stores what an upstream reports as usage when it is %s", async (_, usage) => {
    const upstream = openaiScenario(`rawusage-${Buffer.from(usage).toString("hex")}`);
    const { id, secret } = await createKey({ monthly_token_budget: 1_000_000, monthly_cost_budget_usd: 1 });
    const response = await chatWith(secret, { ...hello, model: "gpt-4o-mini" }, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(200);
    await eventually(async () => {
      const meter = await meterOf(`key:${id}`);
      expect(meter?.reserved).toEqual({ tokens: 0, micros: 0 });
      expect(Number.isSafeInteger(meter?.committed.tokens)).toBe(true);
      expect(Number.isSafeInteger(meter?.committed.micros)).toBe(true);
      expect(meter?.committed.tokens).toBeGreaterThan(0);
    });
  });
});

describe("a stream the client abandons", () => {
  it("aborts the upstream at once and is charged what it produced, estimated, never its reservation", async () => {
    const upstream = openaiScenario("gen-400");
    const { id, secret } = await createKey({ monthly_token_budget: 1_000_000 });
    const request = { ...hello, stream: true, max_tokens: 400 };
    const response = await chatWith(secret, request, { OPENAI_BASE_URL: upstream.baseUrl });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    for (let part = await reader.read(); !part.done && !text.includes('tok5"'); part = await reader.read()) {
      text += new TextDecoder().decode(part.value);
    }
    expect(text).toContain('tok5"');
    await reader.cancel();
    await eventually(async () => {
      const [received] = await upstream.received();
      expect(received?.closed_early).toBe(true);
    });
    await eventually(async () => {
      const row = await rowOf(`key:${id}`);
      expect(row).toMatchObject({ requests: 1, estimated_requests: 1 });
      const completion = row?.completion_tokens as number;
      expect(completion).toBeGreaterThanOrEqual(5);
      expect(completion).toBeLessThan(400);
    });
    const meter = await meterOf(`key:${id}`);
    expect(meter?.reserved.tokens).toBe(0);
    expect(meter?.committed.tokens).toBeLessThan(promptEstimate(request) + 400);
  });
});

describe("usage is reported without waiting for the next request", () => {
  it("shows an idle key's usage in /admin/usage within a lease and USAGE_FLUSH_SECONDS", async () => {
    const upstream = openaiScenario("gen-3");
    const { id, secret } = await createKey({ monthly_token_budget: 1_000_000 });
    expect((await chatWith(secret, hello, { OPENAI_BASE_URL: upstream.baseUrl })).status).toBe(200);
    // A lease lasts a second; the tests' USAGE_FLUSH_SECONDS is 0.2 (vitest.config.mts). No further request.
    await eventually(async () => expect(await rowOf(`key:${id}`)).toMatchObject({ requests: 1 }), 5000);
  });
});
