import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createKey, jsonHeaders, type RelayIsolates, startRelayIsolates } from "./isolates";

// Spend control black-box: the built relay in raw workerd, driven over HTTP and by the official openai SDK.
// Three copies of it, each an isolate with leases of its own, share one Meter per key, as isolates on
// Cloudflare's machines do (test/e2e/isolates.ts).
const standIn = inject("e2eRelay").openaiStandIn;
const scenario = `isolates-${Date.now().toString(36)}`;
let relays: RelayIsolates;

beforeAll(async () => {
  relays = await startRelayIsolates(3, {
    // Every request generates all the tokens its cap allows: each spends its worst case but the prompt's bound.
    OPENAI_BASE_URL: `${standIn}/s/${scenario}/gen-100/v1`,
    MAX_TOKENS: "100",
    PUBLIC_RATE_LIMIT: "100000",
    RATE_LIMIT_REQUESTS: "100000",
  });
});

afterAll(async () => {
  await relays?.stop();
});

/** A new relay key with a token budget of its own; its secret. */
async function keyWithBudget(name: string, budget: number): Promise<string> {
  return (await createKey(relays.urls[0] as string, { name, monthly_token_budget: budget })).secret;
}

describe("a budget shared by isolates", () => {
  it("is never passed by clients racing on three isolates", async () => {
    const budget = 2000;
    const secret = await keyWithBudget("racing clients", budget);
    const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello!" }] });
    // Four waves of 30 requests at once, spread over the three isolates.
    const answers: Array<{ isolate: number; status: number; tokens: number }> = [];
    for (let wave = 0; wave < 4; wave++) {
      const sent = Array.from({ length: 30 }, async (_, i) => {
        const isolate = i % 3;
        const response = await fetch(`${relays.urls[isolate]}/v1/chat/completions`, {
          method: "POST",
          headers: jsonHeaders(secret),
          body,
        });
        const json = (await response.json()) as { usage?: { total_tokens: number }; error?: { code: string } };
        if (response.status !== 200) expect(json.error?.code).toBe("budget_exceeded");
        return { isolate, status: response.status, tokens: json.usage?.total_tokens ?? 0 };
      });
      answers.push(...(await Promise.all(sent)));
    }
    const served = answers.filter((answer) => answer.status === 200);
    // What the upstream really generated and counted for the answers served stays within the budget...
    const spent = served.reduce((sum, answer) => sum + answer.tokens, 0);
    expect(spent).toBeLessThanOrEqual(budget);
    // ...and the budget was used: every isolate served, and what is left cannot pay for one more request.
    expect(new Set(served.map((answer) => answer.isolate)).size).toBe(3);
    expect(answers.filter((answer) => answer.status === 429).length).toBeGreaterThan(0);
    expect(spent).toBeGreaterThan(budget / 2);
    const received = (await (await fetch(`${standIn}/__requests/${scenario}`)).json()) as unknown[];
    expect(received).toHaveLength(served.length);
  }, 60_000);
});

describe("a budget, black-box with the openai SDK", () => {
  const hello = [{ role: "user" as const, content: "Hello!" }];

  it("serves requests in a row until at least 88 % of the budget is really spent, then refuses for good", async () => {
    const client = new OpenAI({
      baseURL: `${relays.urls[1]}/v1`,
      apiKey: await keyWithBudget("loop", 1000),
      maxRetries: 0,
    });
    let spent = 0;
    const outcomes: string[] = [];
    for (let i = 0; i < 100; i++) {
      try {
        const answer = await client.chat.completions.create({ model: "gpt-4o-mini", messages: hello, max_tokens: 10 });
        spent += answer.usage?.total_tokens ?? 0;
        outcomes.push("served");
      } catch (error) {
        expect(error).toBeInstanceOf(APIError);
        expect((error as APIError).status).toBe(429);
        outcomes.push("refused");
      }
    }
    const first = outcomes.indexOf("refused");
    expect(first).toBeGreaterThan(0);
    expect(outcomes.slice(first).every((outcome) => outcome === "refused")).toBe(true);
    expect(spent).toBeGreaterThanOrEqual(880);
    expect(spent).toBeLessThanOrEqual(1000);
  }, 60_000);

  it("charges 40 requests at once sending both caps by the smaller one, within the budget", async () => {
    const client = new OpenAI({
      baseURL: `${relays.urls[2]}/v1`,
      apiKey: await keyWithBudget("caps", 1000),
      maxRetries: 0,
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, () =>
        client.chat.completions.create({
          model: "gpt-4o-mini",
          messages: hello,
          max_completion_tokens: 1,
          max_tokens: 100,
        }),
      ),
    );
    const answers = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect((outcome.reason as APIError).status).toBe(429);
    }
    expect(answers.length).toBeGreaterThan(0);
    for (const answer of answers) expect(answer.usage?.completion_tokens).toBe(1);
    const spent = answers.reduce((sum, answer) => sum + (answer.usage?.total_tokens ?? 0), 0);
    expect(spent).toBeLessThanOrEqual(1000);
  }, 60_000);
});
