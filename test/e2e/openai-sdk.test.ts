import OpenAI, { APIError } from "openai";
import { describe, expect, inject, it } from "vitest";

// The shared relay (test/e2e/global-setup.ts): MAX_TOKENS 300, upstream the OpenAI stand-in's chat-4-50 scenario.
const relay = inject("e2eRelay");
const { RELAY_SECRET } = relay.secrets;

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
});
