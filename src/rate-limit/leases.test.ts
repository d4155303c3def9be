import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RELAY_SECRET } from "../../test/secrets";
import { jsonHeaders, openaiScenario, relay, uniqueId, uniqueIp } from "../../test/support/relay";

const hello = { messages: [{ role: "user", content: "Hello" }] };

/** The RateLimiter namespace, with the Durable Object calls the Worker makes through it counted. */
function countedLimiters() {
  const calls: string[] = [];
  const namespace = {
    getByName(name: string) {
      calls.push(name);
      return env.RATE_LIMITER.getByName(name);
    },
  };
  return { calls, namespace };
}

describe("the exact per-IP limit through leases (RELAY_SECRET's chat, and every per-IP scope)", () => {
  it("admits exactly the limit from one IP (and what it refills), however its slots are leased", async () => {
    // 120 a minute: a lease holds 2 slots, for a second.
    const ip = uniqueIp();
    const vars = { OPENAI_BASE_URL: openaiScenario("ok").baseUrl, RATE_LIMIT_REQUESTS: "120" };
    const statuses: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 130; i++) {
      const init = { method: "POST", headers: jsonHeaders(ip), body: JSON.stringify(hello) };
      statuses.push((await relay("/v1/chat/completions", init, vars)).status);
    }
    // The whole burst, then only what the bucket refilled meanwhile (2 a second): never more.
    const refilled = Math.ceil(((Date.now() - started) / 60_000) * 120);
    expect(statuses.slice(0, 120)).toEqual(Array(120).fill(200));
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(120 + refilled);
    expect(statuses.at(-1)).toBe(429);
  }, 60_000);

  it("calls the bucket's RateLimiter once per lease, never while the lease holds", async () => {
    const { calls, namespace } = countedLimiters();
    // 6,000 a minute: a lease holds a second's worth, 100 slots.
    const vars = {
      OPENAI_BASE_URL: openaiScenario("ok").baseUrl,
      RATE_LIMIT_REQUESTS: "6000",
      RATE_LIMITER: namespace as unknown as string,
    };
    const ip = uniqueIp();
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const response = await relay(
        "/v1/chat/completions",
        {
          method: "POST",
          headers: jsonHeaders(ip, { Authorization: `Bearer ${RELAY_SECRET}` }),
          body: JSON.stringify(hello),
        },
        vars,
      );
      expect(response.status).toBe(200);
      expect(response.headers.get("RateLimit")).toMatch(/^"chat";r=\d+;t=\d+$/);
    }
    // One lease a second at most (a busy machine may take longer than one second for the 20).
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.length).toBeLessThanOrEqual(1 + Math.floor((Date.now() - started) / 1000));
  });

  it("gives a lease's unused slots back with the next call, so the bucket is not drained by leases", async () => {
    const stub = env.RATE_LIMITER.getByName(uniqueId("bucket"));
    const first = await stub.lease(60, 60_000, 0, 10, 0);
    expect(first).toMatchObject({ allowed: true, slots: 10, remaining: 50 });
    // All 60 of the minute are out (10 leased, 50 more): nothing left...
    expect((await stub.lease(60, 60_000, 0, 50, 0)).slots).toBe(50);
    expect((await stub.lease(60, 60_000, 0, 1, 0)).allowed).toBe(false);
    // ...until the first lease gives back the 9 it did not use.
    const after = await stub.lease(60, 60_000, 0, 5, 9);
    expect(after).toMatchObject({ allowed: true, slots: 5 });
  });
});
