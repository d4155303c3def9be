import OpenAI, { NotFoundError } from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type DemoUpstream, demoReply, startDemoUpstream, usesDemoUpstream } from "../../scripts/demo-upstream.mjs";

describe("usesDemoUpstream: when `npm start` runs the demo", () => {
  it("runs it for an empty, blank or placeholder OPENAI_API_KEY", () => {
    expect(usesDemoUpstream({})).toBe(true);
    expect(usesDemoUpstream({ OPENAI_API_KEY: "" })).toBe(true);
    expect(usesDemoUpstream({ OPENAI_API_KEY: "  " })).toBe(true);
    expect(usesDemoUpstream({ OPENAI_API_KEY: "change-me" })).toBe(true);
  });

  it("never runs it when a key is set, whatever it looks like", () => {
    for (const key of ["sk-proj-abc123", "sk-live", "x", "demo", "0123456789abcdef0123456789abcdef0123456789abcdef"]) {
      expect(usesDemoUpstream({ OPENAI_API_KEY: key })).toBe(false);
    }
  });

  it("never overrides an OPENAI_BASE_URL of one's own, even without a key", () => {
    expect(usesDemoUpstream({ OPENAI_API_KEY: "", OPENAI_BASE_URL: "http://127.0.0.1:11434/v1" })).toBe(false);
  });
});

describe("the demo upstream, through the official openai SDK", () => {
  let demo: DemoUpstream;
  let client: OpenAI;
  const secretPrompt = "my private diary entry 7f3a";

  beforeAll(async () => {
    demo = await startDemoUpstream();
    client = new OpenAI({ baseURL: demo.url, apiKey: "anything", maxRetries: 0 });
  });

  afterAll(async () => {
    await demo?.close();
  });

  it("listens on 127.0.0.1 and serves /v1", () => {
    expect(demo.url).toBe(`http://127.0.0.1:${demo.port}/v1`);
  });

  it("answers a whole completion as model demo, with usage", async () => {
    const completion = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "Be kind." },
        { role: "user", content: secretPrompt },
      ],
    });
    expect(completion).toMatchObject({
      object: "chat.completion",
      model: "demo",
      choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: demoReply(2) } }],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
  });

  it("says where the answer comes from and how to use a real key", () => {
    expect(demoReply(1)).toMatch(/offline demo upstream/);
    expect(demoReply(1)).toMatch(/OPENAI_API_KEY=sk-/);
    expect(demoReply(1)).toMatch(/your 1 message /);
    expect(demoReply(3)).toMatch(/your 3 messages /);
  });

  it("streams chunks, then the usage chunk when asked, then [DONE]", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: secretPrompt }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk" && chunk.model === "demo")).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe(demoReply(1));
    const [finish, usage] = chunks.slice(-2);
    expect(finish?.choices[0]?.finish_reason).toBe("stop");
    expect(usage?.choices).toEqual([]);
    expect(usage?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it("streams without a usage chunk when not asked", async () => {
    const response = await fetch(`${demo.url}/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }], stream: true }),
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await response.text()).split("\n\n").filter(Boolean);
    expect(events.at(-1)).toBe("data: [DONE]");
    const last = JSON.parse(events.at(-2)?.slice("data: ".length) ?? "{}");
    expect(last.choices[0].finish_reason).toBe("stop");
    expect(last).not.toHaveProperty("usage");
  });

  it("lists the one model", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models).toEqual([
      { id: "demo", object: "model", created: expect.any(Number), owned_by: "soul-mirror-relay" },
    ]);
  });

  it("answers an unknown path with a 404 in OpenAI's error shape", async () => {
    const response = await fetch(`${demo.url}/embeddings`, { method: "POST", body: "{}" });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        message: "Unknown request URL: POST /v1/embeddings.",
        type: "invalid_request_error",
        param: null,
        code: "unknown_url",
      },
    });
    await expect(client.embeddings.create({ model: "x", input: "y" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("answers a body without messages with a 400 in OpenAI's error shape", async () => {
    const response = await fetch(`${demo.url}/chat/completions`, { method: "POST", body: "not json" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
  });

  it("never writes a prompt to stdout or into its answer", async () => {
    const writes = vi.spyOn(process.stdout, "write");
    const logs = vi.spyOn(console, "log");
    try {
      const completion = await client.chat.completions.create({
        messages: [{ role: "user", content: secretPrompt }],
        model: "m",
      });
      expect(completion.choices[0]?.message.content).not.toContain(secretPrompt);
      const written = [...writes.mock.calls, ...logs.mock.calls].flat().map(String).join("");
      expect(written).not.toContain(secretPrompt);
    } finally {
      writes.mockRestore();
      logs.mockRestore();
    }
  });
});
