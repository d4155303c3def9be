import { describe, expect, it } from "vitest";
import { errorBody, jsonHeaders, ORIGIN, openaiError, relay, uniqueIp } from "../support/relay";

describe("GET /relay/health", () => {
  it("answers 200 with no secret configured and is never rate limited", async () => {
    const responses = await Promise.all(
      Array.from({ length: 30 }, () =>
        relay(
          "/relay/health",
          { headers: { "CF-Connecting-IP": "10.0.0.1" } },
          { RELAY_SECRET: undefined, RATE_LIMIT_REQUESTS: "1" },
        ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(await responses[0]?.json()).toEqual({ status: "ok" });
  });
});

describe("every response", () => {
  it("carries a request id, nosniff and no-store", async () => {
    const response = await relay("/relay/health");
    expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });
});

describe("unknown routes and methods", () => {
  it("answers 404 in the error shape", async () => {
    const response = await relay("/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(errorBody("not_found"));
  });

  it("answers 405 with Allow for a known path and a wrong method", async () => {
    const response = await relay("/v1/chat/completions");
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("POST");
    expect(await response.json()).toEqual(openaiError("method_not_allowed", "This route accepts POST", null));
  });

  it("answers an unknown path under /v1 in OpenAI's error shape, with a request id", async () => {
    const response = await relay("/v1/responses/resp_123");
    expect(response.status).toBe(404);
    expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual(openaiError("not_found", "No such route", null, "invalid_request_error"));
  });
});

describe("origin allowlist and CORS", () => {
  const vars = { ORIGIN_ALLOWLIST: `${ORIGIN}, https://other.test` };
  const chatBody = JSON.stringify({ messages: [{ role: "user", content: "hi" }] });

  it("refuses an Origin outside ORIGIN_ALLOWLIST with 403 before anything else", async () => {
    const response = await relay(
      "/v1/chat/completions",
      { method: "POST", headers: jsonHeaders(uniqueIp(), { Origin: "https://evil.test" }), body: chatBody },
      vars,
    );
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual(openaiError("origin_not_allowed", undefined, null, "permission_error"));
  });

  it("answers a preflight from an allowed origin with that origin, never *", async () => {
    const response = await relay(
      "/v1/chat/completions",
      {
        method: "OPTIONS",
        headers: {
          Origin: ORIGIN,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization,content-type",
        },
      },
      vars,
    );
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ORIGIN);
    expect(response.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    expect(response.headers.get("Access-Control-Allow-Headers")).toBe("authorization,content-type");
    expect(response.headers.get("Vary")).toContain("Origin");
  });

  it("lets a page read the rate-limit headers, both kinds, and the provider that served", async () => {
    const response = await relay(
      "/v1/chat/completions",
      { method: "POST", headers: jsonHeaders(uniqueIp(), { Origin: ORIGIN }), body: chatBody },
      vars,
    );
    expect(response.status).toBe(200);
    const exposed = (response.headers.get("Access-Control-Expose-Headers") ?? "").toLowerCase().split(/\s*,\s*/);
    for (const name of [
      "ratelimit",
      "x-ratelimit-remaining-requests",
      "x-ratelimit-remaining-tokens",
      "x-relay-provider",
    ]) {
      expect(exposed).toContain(name);
    }
    expect(response.headers.get("x-relay-provider")).toBe("openai");
  });

  it("refuses a preflight from another origin", async () => {
    const response = await relay(
      "/v1/chat/completions",
      { method: "OPTIONS", headers: { Origin: "https://evil.test", "Access-Control-Request-Method": "POST" } },
      vars,
    );
    expect(response.status).toBe(403);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("lets a request without Origin through (server to server)", async () => {
    const response = await relay(
      "/v1/chat/completions",
      { method: "POST", headers: jsonHeaders(uniqueIp()), body: chatBody },
      vars,
    );
    expect(response.status).toBe(200);
  });

  it("lets the relay's own origin through whatever ORIGIN_ALLOWLIST says (the console at /admin)", async () => {
    const own = "https://relay.test";
    const response = await relay(
      "/v1/chat/completions",
      { method: "POST", headers: jsonHeaders(uniqueIp(), { Origin: own }), body: chatBody },
      { ORIGIN_ALLOWLIST: "https://other.test" },
    );
    expect(response.status).toBe(200);
    // The same host on another scheme or port is another origin.
    const other = await relay(
      "/v1/chat/completions",
      { method: "POST", headers: jsonHeaders(uniqueIp(), { Origin: "https://relay.test:8443" }), body: chatBody },
      { ORIGIN_ALLOWLIST: "https://other.test" },
    );
    expect(other.status).toBe(403);
  });

  it("allows an allowed origin and echoes it on the answer", async () => {
    const response = await relay(
      "/v1/chat/completions",
      { method: "POST", headers: jsonHeaders(uniqueIp(), { Origin: ORIGIN }), body: chatBody },
      vars,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ORIGIN);
  });

  it("allows any origin when ORIGIN_ALLOWLIST is empty, echoing it", async () => {
    const response = await relay("/v1/chat/completions", {
      method: "POST",
      headers: jsonHeaders(uniqueIp(), { Origin: "https://anyone.test" }),
      body: chatBody,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("https://anyone.test");
  });
});
