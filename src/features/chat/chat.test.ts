import { describe, expect, it } from "vitest";
import { OPENAI_API_KEY, RELAY_SECRET } from "../../../test/secrets";
import {
  captureLogs,
  jsonHeaders,
  openaiError,
  openaiScenario,
  relay,
  uniqueId,
  uniqueIp,
} from "../../../test/support/relay";

const hello = { messages: [{ role: "user", content: "Hello" }] };

function post(body: unknown, headers: Record<string, string> = jsonHeaders(uniqueIp())): RequestInit {
  return { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) };
}

describe.each(["/relay/openai/chat", "/v1/chat/completions"])("POST %s", (path) => {
  it("sends the request upstream with defaults filled and returns the upstream body unchanged", async () => {
    const upstream = openaiScenario("ok");
    const response = await relay(path, post(hello), { OPENAI_BASE_URL: upstream.baseUrl });

    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/json");
    const body = (await response.json()) as { object: string; choices: Array<{ message: { content: string } }> };
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]?.message.content).toBe("max_tokens=2000");

    const [received] = await upstream.received();
    expect(received?.path).toMatch(/\/v1\/chat\/completions$/);
    expect(received?.body).toEqual({ ...hello, model: "gpt-4o-mini", temperature: 0.7, max_tokens: 2000 });
    expect(received?.headers.authorization).toBe(`Bearer ${OPENAI_API_KEY}`);
  });

  it("never forwards the caller's credentials or cookies", async () => {
    const upstream = openaiScenario("ok");
    const headers = jsonHeaders(uniqueIp(), { "X-Relay-Secret": RELAY_SECRET, Cookie: "session=abc" });
    await relay(path, post(hello, headers), { OPENAI_BASE_URL: upstream.baseUrl });

    const [received] = await upstream.received();
    const forwarded = JSON.stringify(received?.headers);
    expect(forwarded).not.toContain(RELAY_SECRET);
    expect(forwarded).not.toContain("session=abc");
    expect(received?.headers["cf-connecting-ip"]).toBeUndefined();
  });

  it("accepts X-Relay-Secret instead of a bearer token", async () => {
    const headers = {
      "Content-Type": "application/json",
      "X-Relay-Secret": RELAY_SECRET,
      "CF-Connecting-IP": uniqueIp(),
    };
    const response = await relay(path, post(hello, headers));
    expect(response.status).toBe(200);
  });
});

describe("POST /v1/chat/completions: server-enforced limits", () => {
  it("lowers max_tokens above MAX_TOKENS to MAX_TOKENS", async () => {
    const upstream = openaiScenario("ok");
    await relay("/v1/chat/completions", post({ ...hello, max_tokens: 5000 }), {
      OPENAI_BASE_URL: upstream.baseUrl,
      MAX_TOKENS: "100",
    });
    const [received] = await upstream.received();
    expect(received?.body.max_tokens).toBe(100);
  });

  it("lowers max_completion_tokens and does not add max_tokens next to it", async () => {
    const upstream = openaiScenario("ok");
    await relay("/v1/chat/completions", post({ ...hello, max_completion_tokens: 5000 }), {
      OPENAI_BASE_URL: upstream.baseUrl,
      MAX_TOKENS: "100",
    });
    const [received] = await upstream.received();
    expect(received?.body.max_completion_tokens).toBe(100);
    expect(received?.body).not.toHaveProperty("max_tokens");
  });

  it("keeps a smaller request and the client's model and temperature", async () => {
    const upstream = openaiScenario("ok");
    const request = {
      ...hello,
      model: "gpt-4.1",
      temperature: 0,
      max_tokens: 42,
      tools: [{ type: "function", function: { name: "f" } }],
    };
    await relay("/v1/chat/completions", post(request), { OPENAI_BASE_URL: upstream.baseUrl, MAX_TOKENS: "100" });
    const [received] = await upstream.received();
    expect(received?.body).toEqual(request);
  });

  it("refuses a model outside ALLOWED_MODELS with 400 and sends nothing", async () => {
    const upstream = openaiScenario("ok");
    const response = await relay("/v1/chat/completions", post({ ...hello, model: "gpt-4.5-preview" }), {
      OPENAI_BASE_URL: upstream.baseUrl,
      ALLOWED_MODELS: "gpt-4o-mini, gpt-4o",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      openaiError("model_not_allowed", 'model: "gpt-4.5-preview" is not in ALLOWED_MODELS'),
    );
    expect(await upstream.received()).toEqual([]);
  });

  it("allows a listed model", async () => {
    const upstream = openaiScenario("ok");
    const response = await relay("/v1/chat/completions", post({ ...hello, model: "gpt-4o" }), {
      OPENAI_BASE_URL: upstream.baseUrl,
      ALLOWED_MODELS: "gpt-4o-mini,gpt-4o",
    });
    expect(response.status).toBe(200);
  });
});

describe("POST /v1/chat/completions: only known fields, each checked", () => {
  it.each([
    ["made_up", { made_up: 1 }],
    ["prompt_cache_options.mode", { prompt_cache_options: { mode: "explicit" }, made: 1 }],
  ])("refuses a field it does not know (%s) by name, with param naming it, and sends nothing", async (_, extra) => {
    const upstream = openaiScenario("ok");
    const response = await relay("/v1/chat/completions", post({ ...hello, ...extra }), {
      OPENAI_BASE_URL: upstream.baseUrl,
    });
    const field = Object.keys(extra).at(-1) ?? "";
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      openaiError("invalid_request", `${field}: is not a field this route accepts`, field, "invalid_request_error"),
    );
    expect(await upstream.received()).toEqual([]);
  });

  it.each([
    [
      "service_tier",
      { service_tier: "priority" },
      "service_tier_not_allowed",
      {},
      { SERVICE_TIERS: "default,priority" },
    ],
    ["service_tier", { service_tier: "scale" }, "service_tier_not_allowed", {}, { SERVICE_TIERS: "scale" }],
    ["modalities", { modalities: ["text", "audio"] }, "audio_not_allowed", {}, { AUDIO_OUTPUT: "true" }],
    ["audio", { audio: { voice: "alloy", format: "wav" } }, "audio_not_allowed", {}, { AUDIO_OUTPUT: "true" }],
    ["web_search_options", { web_search_options: {} }, "tool_not_allowed", {}, { RESPONSES_TOOLS: "web_search" }],
  ])(
    "decides %s by configuration: refused with param naming it by default, sent once allowed",
    async (field, extra, code, refusing, allowing) => {
      const refused = openaiScenario("ok");
      const refusal = await relay("/v1/chat/completions", post({ ...hello, ...extra }), {
        OPENAI_BASE_URL: refused.baseUrl,
        ...refusing,
      });
      expect(refusal.status).toBe(400);
      expect(await refusal.json()).toEqual(openaiError(code, undefined, field, "invalid_request_error"));
      expect(await refused.received()).toEqual([]);

      const allowed = openaiScenario("ok");
      const answer = await relay("/v1/chat/completions", post({ ...hello, ...extra }), {
        OPENAI_BASE_URL: allowed.baseUrl,
        ...allowing,
      });
      expect(answer.status).toBe(200);
      const [received] = await allowed.received();
      expect(received?.body).toMatchObject(extra);
    },
  );

  it("passes store, metadata and the other fields of today's reference through as sent", async () => {
    const upstream = openaiScenario("ok");
    const request = {
      ...hello,
      model: "gpt-4o-mini",
      max_tokens: 40,
      temperature: 0.2,
      store: true,
      metadata: { app: "phone", build: "42" },
      service_tier: "flex",
      modalities: ["text"],
      moderation: { model: "omni-moderation-latest" },
      prompt_cache_retention: "24h",
      prompt_cache_options: { mode: "explicit" },
      reasoning_effort: "xhigh",
    };
    const response = await relay("/v1/chat/completions", post(request), { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(200);
    const [received] = await upstream.received();
    expect(received?.body).toEqual(request);
  });

  it("refuses metadata beyond OpenAI's 16 keys with param naming it", async () => {
    const upstream = openaiScenario("ok");
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]));
    const response = await relay("/v1/chat/completions", post({ ...hello, metadata }), {
      OPENAI_BASE_URL: upstream.baseUrl,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      openaiError("invalid_request", "metadata: must have at most 16 keys", "metadata", "invalid_request_error"),
    );
    expect(await upstream.received()).toEqual([]);
  });

  it.each([
    ["temperature", { temperature: 2.5 }],
    ["top_p", { top_p: 1.5 }],
    ["n", { n: 0 }],
    ["stop", { stop: ["a", "b", "c", "d", "e"] }],
    ["presence_penalty", { presence_penalty: -3 }],
    ["tools", { tools: "all of them" }],
    ["messages.0.role", { messages: [{ role: "wizard", content: "x" }] }],
    ["stream_options.include_everything", { stream: true, stream_options: { include_everything: true } }],
    ["reasoning_effort", { reasoning_effort: "maximum" }],
  ])("refuses a bad %s with 400 naming it", async (field, extra) => {
    const upstream = openaiScenario("ok");
    const response = await relay("/v1/chat/completions", post({ ...hello, ...extra }), {
      OPENAI_BASE_URL: upstream.baseUrl,
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message.startsWith(`${field}: `)).toBe(true);
    expect(await upstream.received()).toEqual([]);
  });

  it("forwards every known field as sent", async () => {
    const upstream = openaiScenario("ok");
    const request = {
      model: "gpt-4o",
      messages: [
        { role: "developer", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Hi" }] },
      ],
      max_completion_tokens: 50,
      temperature: 0.1,
      top_p: 0.9,
      stop: ["\n\n"],
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      logit_bias: { "50256": -100 },
      logprobs: true,
      top_logprobs: 2,
      seed: 7,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      tool_choice: "auto",
      parallel_tool_calls: false,
      response_format: { type: "json_object" },
      reasoning_effort: "low",
      verbosity: "low",
      user: "u-1",
      safety_identifier: "h-1",
      prompt_cache_key: "k-1",
    };
    const response = await relay("/v1/chat/completions", post(request), { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(200);
    const [received] = await upstream.received();
    expect(received?.body).toEqual(request);
  });
});

describe("POST /v1/chat/completions: n choices share MAX_TOKENS", () => {
  it.each([
    // n, requested max_tokens, MAX_TOKENS, what the upstream receives
    [4, 100, 100, 25],
    [4, undefined, 100, 25],
    [3, 10, 100, 10],
    [128, 1000, 2000, 15],
  ])("n=%i with max_tokens %s under MAX_TOKENS %i sends max_tokens %i", async (n, maxTokens, cap, sent) => {
    const upstream = openaiScenario("ok");
    await relay("/v1/chat/completions", post({ ...hello, n, max_tokens: maxTokens }), {
      OPENAI_BASE_URL: upstream.baseUrl,
      MAX_TOKENS: String(cap),
    });
    const [received] = await upstream.received();
    expect(received?.body).toMatchObject({ n, max_tokens: sent });
  });

  it("refuses more choices than MAX_TOKENS with 400 and sends nothing", async () => {
    const upstream = openaiScenario("ok");
    const response = await relay("/v1/chat/completions", post({ ...hello, n: 128, max_tokens: 100 }), {
      OPENAI_BASE_URL: upstream.baseUrl,
      MAX_TOKENS: "100",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(openaiError("too_many_choices", "n: at most 100 choices fit in MAX_TOKENS"));
    expect(await upstream.received()).toEqual([]);
  });
});

describe("POST /v1/chat/completions: bad input changes nothing", () => {
  const cases: Array<[string, RequestInit, number, string, string?]> = [
    ["invalid JSON", post("{not json"), 400, "invalid_json", "Request body is not valid JSON"],
    [
      "no messages",
      post({ model: "gpt-4o-mini" }),
      400,
      "invalid_request",
      "messages: Invalid input: expected array, received undefined",
    ],
    ["empty messages", post({ messages: [] }), 400, "invalid_request"],
    ["a message without role", post({ messages: [{ content: "x" }] }), 400, "invalid_request"],
    ["max_tokens not a number", post({ ...hello, max_tokens: "lots" }), 400, "invalid_request"],
    ["a JSON array", post([1, 2]), 400, "invalid_request"],
    [
      "a form body",
      {
        method: "POST",
        headers: { ...jsonHeaders(uniqueIp()), "Content-Type": "application/x-www-form-urlencoded" },
        body: "a=1",
      },
      415,
      "unsupported_media_type",
    ],
    [
      "a body over 1 MiB",
      post({ messages: [{ role: "user", content: "x".repeat(1024 * 1024) }] }),
      413,
      "payload_too_large",
    ],
  ];

  it.each(cases)("answers %s with the error shape and sends nothing", async (_name, init, status, code, message) => {
    const upstream = openaiScenario("ok");
    const response = await relay("/v1/chat/completions", init, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual(openaiError(code, message));
    expect(await upstream.received()).toEqual([]);
  });
});

describe("POST /v1/chat/completions: authentication and configuration", () => {
  it.each([
    ["no credentials", { "Content-Type": "application/json" }],
    ["a wrong bearer token", { "Content-Type": "application/json", Authorization: "Bearer wrong" }],
    ["a wrong X-Relay-Secret", { "Content-Type": "application/json", "X-Relay-Secret": "wrong" }],
    [
      "a secret with one extra character",
      { "Content-Type": "application/json", Authorization: `Bearer ${RELAY_SECRET}x` },
    ],
  ])("answers 401 for %s and sends nothing", async (_name, headers) => {
    const upstream = openaiScenario("ok");
    const response = await relay("/v1/chat/completions", post(hello, { ...headers, "CF-Connecting-IP": uniqueIp() }), {
      OPENAI_BASE_URL: upstream.baseUrl,
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="relay"');
    expect(await response.json()).toEqual(openaiError("unauthorized", "Missing or invalid credentials"));
    expect(await upstream.received()).toEqual([]);
  });

  it.each(["OPENAI_API_KEY", "RELAY_SECRET"])("answers 503 naming %s when it is not set", async (name) => {
    const response = await relay("/v1/chat/completions", post(hello), { [name]: undefined });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(
      openaiError("not_configured", `The relay is not configured: ${name} is not set`),
    );
  });

  it("answers 503 naming a malformed variable without echoing its value", async () => {
    const response = await relay("/v1/chat/completions", post(hello), { MAX_TOKENS: "lots-of-tokens" });
    expect(response.status).toBe(503);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual(
      openaiError("not_configured", "The relay is not configured: MAX_TOKENS is invalid"),
    );
    expect(body).not.toContain("lots-of-tokens");
  });
});

describe("POST /v1/chat/completions: rate limit (RATE_LIMIT_REQUESTS per minute per IP)", () => {
  it("lets exactly N of N+4 concurrent requests through", async () => {
    const ip = uniqueIp();
    const responses = await Promise.all(
      Array.from({ length: 9 }, () =>
        relay("/v1/chat/completions", post(hello, jsonHeaders(ip)), { RATE_LIMIT_REQUESTS: "5" }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429]);

    const limited = responses.find((r) => r.status === 429);
    expect(Number(limited?.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(limited?.headers.get("RateLimit-Policy")).toBe('"chat";q=5;w=60');
    expect(limited?.headers.get("RateLimit")).toMatch(/^"chat";r=0;t=\d+$/);
    expect(await limited?.json()).toEqual(openaiError("rate_limited"));

    const passed = responses.find((r) => r.status === 200);
    expect(passed?.headers.get("RateLimit")).toMatch(/^"chat";r=[0-4];t=\d+$/);
    // OpenAI's headers beside them, saying the same.
    expect(passed?.headers.get("x-ratelimit-limit-requests")).toBe("5");
    expect(passed?.headers.get("x-ratelimit-remaining-requests")).toMatch(/^[0-4]$/);
    expect(passed?.headers.get("x-ratelimit-reset-requests")).toMatch(/^(?:\d+ms|[\d.]+s)$/);
    expect(limited?.headers.get("x-ratelimit-remaining-requests")).toBe("0");
  });

  it("counts per IP: another client is not affected", async () => {
    const busy = uniqueIp();
    for (let i = 0; i < 2; i++)
      await relay("/v1/chat/completions", post(hello, jsonHeaders(busy)), { RATE_LIMIT_REQUESTS: "2" });
    expect(
      (await relay("/v1/chat/completions", post(hello, jsonHeaders(busy)), { RATE_LIMIT_REQUESTS: "2" })).status,
    ).toBe(429);
    expect(
      (await relay("/v1/chat/completions", post(hello, jsonHeaders(uniqueIp())), { RATE_LIMIT_REQUESTS: "2" })).status,
    ).toBe(200);
  });

  it("runs before authentication, so guessing the secret is limited too", async () => {
    const ip = uniqueIp();
    const guesses = Array.from({ length: 4 }, (_, i) => jsonHeaders(ip, { Authorization: `Bearer guess-${i}` }));
    const statuses = [];
    for (const headers of guesses)
      statuses.push((await relay("/v1/chat/completions", post(hello, headers), { RATE_LIMIT_REQUESTS: "3" })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe("POST /v1/chat/completions: streaming", () => {
  it("passes chunks through as they arrive, not at the end", async () => {
    const upstream = openaiScenario("drip-6-100");
    const started = Date.now();
    const response = await relay("/v1/chat/completions", post({ ...hello, stream: true }), {
      OPENAI_BASE_URL: upstream.baseUrl,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/event-stream");

    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // The first chunk comes alone, while the upstream still has five to send 100 ms apart.
    expect(first).toContain('"content":"chunk0"');
    expect(first).not.toContain("chunk5");

    let text = first;
    for (let part = await reader.read(); !part.done; part = await reader.read())
      text += new TextDecoder().decode(part.value);
    const totalMs = Date.now() - started;

    expect(totalMs).toBeGreaterThanOrEqual(500);
    expect(text).toContain("chunk5");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("passes events on as they arrive when the upstream ends its lines with CRLF (legal SSE)", async () => {
    const upstream = openaiScenario("gencrlf-300");
    const response = await relay("/v1/chat/completions", post({ ...hello, stream: true, max_tokens: 300 }), {
      OPENAI_BASE_URL: upstream.baseUrl,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // The first events come alone, while the upstream is still generating: not the whole stream at its end.
    expect(first).toMatch(/^data: \{.*"role":"assistant"/);
    expect(first).not.toContain("[DONE]");
    let text = first;
    for (let part = await reader.read(); !part.done; part = await reader.read())
      text += new TextDecoder().decode(part.value);
    expect(text).not.toContain("\r");
    const events = text.trimEnd().split("\n\n");
    expect(events.at(-1)).toBe("data: [DONE]");
    const content = events
      .slice(0, -1)
      .map((event) => JSON.parse(event.slice("data: ".length)) as { choices: Array<{ delta: { content?: string } }> })
      .map((chunk) => chunk.choices[0]?.delta.content ?? "")
      .join("");
    expect(content).toBe(Array.from({ length: 300 }, (_, i) => `tok${i + 1}`).join(" "));
  });

  it("cancels the upstream request when the client disconnects", async () => {
    const upstream = openaiScenario("drip-30-100");
    const response = await relay("/v1/chat/completions", post({ ...hello, stream: true }), {
      OPENAI_BASE_URL: upstream.baseUrl,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();

    await expect.poll(async () => (await upstream.received())[0]?.closed_early, { timeout: 5000 }).toBe(true);
    const [received] = await upstream.received();
    expect(received?.chunks_sent).toBeLessThan(15);
  });
});

describe("POST /v1/chat/completions: upstream failures", () => {
  it("answers 502 when the upstream resets the connection", async () => {
    const upstream = openaiScenario("reset");
    const response = await relay("/v1/chat/completions", post(hello), { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual(
      openaiError("upstream_unreachable", "The OpenAI upstream could not be reached"),
    );
  });

  it("answers 502 when nothing listens", async () => {
    const response = await relay("/v1/chat/completions", post(hello), { OPENAI_BASE_URL: "http://127.0.0.1:1/v1" });
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual(openaiError("upstream_unreachable"));
  });

  it("answers 504 when no answer arrives within OPENAI_TIMEOUT_MS", async () => {
    const upstream = openaiScenario("hang");
    const started = Date.now();
    const response = await relay("/v1/chat/completions", post(hello), {
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_TIMEOUT_MS: "300",
    });
    expect(response.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await response.json()).toEqual(
      openaiError("upstream_timeout", "The OpenAI upstream did not answer within 300 ms"),
    );
  });

  it.each([400, 429, 500, 503])("passes an upstream %i through with the upstream's error body", async (status) => {
    const upstream = openaiScenario(`status-${status}`);
    const response = await relay("/v1/chat/completions", post(hello), { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({
      error: { message: `stand-in error ${status}`, type: "stand_in", code: `status_${status}` },
    });
  });

  it("never returns OPENAI_API_KEY, even when the upstream echoes it", async () => {
    const upstream = openaiScenario("echo-key-401");
    const response = await relay("/v1/chat/completions", post(hello), { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(401);
    const body = await response.text();
    expect(body).not.toContain(OPENAI_API_KEY);
    expect(body).toContain("[redacted]");
  });
});

describe("POST /v1/chat/completions: logs", () => {
  it("logs one line with route and status, never the prompt, the completion or a secret", async () => {
    const marker = uniqueId("prompt-marker");
    const upstream = openaiScenario("ok");
    const { result, logs } = await captureLogs(async () => {
      const response = await relay("/v1/chat/completions", post({ messages: [{ role: "user", content: marker }] }), {
        OPENAI_BASE_URL: upstream.baseUrl,
      });
      await response.text();
      await relay("/v1/chat/completions", post(`{"messages": "${marker}`), { OPENAI_BASE_URL: upstream.baseUrl });
      return response;
    });
    expect(result.status).toBe(200);
    expect(logs).toContain('"route":"/v1/chat/completions"');
    expect(logs).toContain('"status":200');
    expect(logs).toContain('"status":400');
    for (const secret of [marker, "max_tokens=", OPENAI_API_KEY, RELAY_SECRET]) expect(logs).not.toContain(secret);
  });

  it("does not log the prompt of a streamed request either", async () => {
    const marker = uniqueId("stream-marker");
    const upstream = openaiScenario("drip-3-10");
    const { logs } = await captureLogs(async () => {
      const response = await relay(
        "/v1/chat/completions",
        post({ messages: [{ role: "user", content: marker }], stream: true }),
        { OPENAI_BASE_URL: upstream.baseUrl },
      );
      await response.text();
    });
    expect(logs).toContain('"stream":true');
    expect(logs).not.toContain(marker);
    expect(logs).not.toContain("chunk0");
  });
});

/** Reads a streamed answer to its end and says whether it ended in an error rather than closing. */
async function readToEnd(response: Response): Promise<{ text: string; errored: boolean }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = "";
  try {
    for (let part = await reader.read(); !part.done; part = await reader.read())
      text += new TextDecoder().decode(part.value);
    return { text, errored: false };
  } catch {
    return { text, errored: true };
  }
}

describe("POST /v1/chat/completions: an upstream that breaks off mid-stream", () => {
  it("ends the client's stream with an error instead of hanging, and logs it", async () => {
    const upstream = openaiScenario("cut-3");
    const { result, logs } = await captureLogs(async () => {
      const response = await relay("/v1/chat/completions", post({ ...hello, stream: true }), {
        OPENAI_BASE_URL: upstream.baseUrl,
      });
      return readToEnd(response);
    });
    expect(result.errored).toBe(true);
    expect(result.text).toContain("chunk2");
    expect(result.text).not.toContain("[DONE]");
    expect(logs).toContain('"msg":"chat answer ended: upstream_broke"');
  });
});

describe("POST /v1/chat/completions: an upstream that goes silent mid-stream", () => {
  it("ends the client's stream with an error after OPENAI_TIMEOUT_MS of silence, and logs it", async () => {
    const upstream = openaiScenario("stall-2");
    const started = Date.now();
    const { result, logs } = await captureLogs(async () => {
      const response = await relay("/v1/chat/completions", post({ ...hello, stream: true }), {
        OPENAI_BASE_URL: upstream.baseUrl,
        OPENAI_TIMEOUT_MS: "400",
      });
      return readToEnd(response);
    });
    expect(result.errored).toBe(true);
    expect(result.text).toContain("chunk1");
    expect(Date.now() - started).toBeLessThan(2500);
    expect(logs).toContain('"msg":"chat answer ended: upstream_stalled"');
    // The relay closes the upstream connection too; the stand-in sees it shortly after.
    await expect.poll(async () => (await upstream.received())[0]?.closed_early, { timeout: 2000 }).toBe(true);
  });
});

describe("POST /v1/chat/completions: an answer that stalls or never ends, streamed or not", () => {
  it.each([
    ["a 200 JSON body", "stall-body-200"],
    ["an error body", "stall-body-500"],
  ])(
    "turns %s that stalls after its first bytes into a 504 within OPENAI_TIMEOUT_MS, and logs it",
    async (_, behaviour) => {
      const upstream = openaiScenario(behaviour);
      const started = Date.now();
      const { result, logs } = await captureLogs(async () => {
        const response = await relay("/v1/chat/completions", post(hello), {
          OPENAI_BASE_URL: upstream.baseUrl,
          OPENAI_TIMEOUT_MS: "300",
        });
        return { status: response.status, body: await response.json() };
      });
      expect(result).toEqual({
        status: 504,
        body: openaiError("upstream_timeout", "The OpenAI upstream sent nothing more of its answer for 300 ms"),
      });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(logs).toContain('"msg":"chat answer ended: upstream_stalled"');
      await expect.poll(async () => (await upstream.received())[0]?.closed_early, { timeout: 2000 }).toBe(true);
    },
  );

  it("answers 502 for a JSON body over 8 MiB, and logs it", async () => {
    const upstream = openaiScenario("huge-json");
    const { result, logs } = await captureLogs(async () => {
      const response = await relay("/v1/chat/completions", post(hello), { OPENAI_BASE_URL: upstream.baseUrl });
      return { status: response.status, body: await response.json() };
    });
    expect(result).toEqual({
      status: 502,
      body: openaiError("upstream_unreachable", "The OpenAI upstream answered with more than 8388608 bytes"),
    });
    expect(logs).toContain('"msg":"chat answer ended: upstream_too_large"');
  });

  it("ends a stream over 8 MiB with an error, and logs it", async () => {
    const upstream = openaiScenario("huge-stream");
    const { result, logs } = await captureLogs(async () => {
      const response = await relay("/v1/chat/completions", post({ ...hello, stream: true }), {
        OPENAI_BASE_URL: upstream.baseUrl,
      });
      return readToEnd(response);
    });
    expect(result.errored).toBe(true);
    expect(result.text.length).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(logs).toContain('"msg":"chat answer ended: upstream_too_large"');
  });
});
