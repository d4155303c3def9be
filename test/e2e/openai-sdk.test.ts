import OpenAI, { APIError } from "openai";
import { describe, expect, inject, it } from "vitest";

// The shared relay (test/e2e/global-setup.ts): MAX_TOKENS 300, upstream the OpenAI stand-in's chat-4-50 scenario.
const relay = inject("e2eRelay");
const { RELAY_SECRET, ADMIN_TOKEN } = relay.secrets;

async function admin(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${relay.url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.ok, await response.clone().text()).toBe(true);
  return (await response.json()) as Record<string, unknown>;
}

describe("the official openai SDK against the relay under wrangler dev", () => {
  const client = (apiKey = RELAY_SECRET) => new OpenAI({ baseURL: `${relay.url}/v1`, apiKey, maxRetries: 0 });

  it("returns a whole completion, with the token cap applied upstream", async () => {
    const completion = await client().chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 5000,
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message.content).toBe("max_tokens=300");
  });

  it("streams a chat completion chunk by chunk", async () => {
    const stream = await client().chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Count to four" }],
      stream: true,
    });
    const parts: string[] = [];
    for await (const chunk of stream) parts.push(chunk.choices[0]?.delta.content ?? "");
    expect(parts.join("")).toBe("chunk0 chunk1 chunk2 chunk3");
  });

  it("surfaces the relay's 401 as an APIError when the key is wrong", async () => {
    const error = await client("wrong-secret")
      .chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(401);
  });

  it("works with a relay key as its apiKey: models, a stream with usage, and a 401 once the key is revoked", async () => {
    const created = (await admin("/admin/keys", { name: "sdk e2e", models: ["gpt-4o-mini"] })) as {
      key: { id: string };
      secret: string;
    };
    expect(created.secret).toMatch(/^smr_/);
    const sdk = client(created.secret);

    const models = await sdk.models.list();
    expect(models.data.map((model) => model.id)).toEqual(["gpt-4o-mini"]);

    const stream = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Count to four" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: 4 });

    await admin(`/admin/keys/${created.key.id}/revoke`, {});
    const error = await sdk.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(401);
  });
});
