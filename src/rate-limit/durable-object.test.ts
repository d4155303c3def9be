import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uniqueId } from "../../test/support/relay";

describe("RateLimiter Durable Object", () => {
  it("marks the first refusal of each window, so that only it is audited", async () => {
    const stub = env.RATE_LIMITER.getByName(uniqueId("bucket"));
    const firsts = async () => [(await stub.consume(1, 400)).firstRefusal, (await stub.consume(1, 400)).firstRefusal];
    expect((await stub.consume(1, 400)).allowed).toBe(true);
    expect(await firsts()).toEqual([true, false]);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await stub.consume(1, 400)).allowed).toBe(true);
    expect(await firsts()).toEqual([true, false]);
  });

  it("keeps counting after eviction once the count has been saved", async () => {
    const stub = env.RATE_LIMITER.getByName(uniqueId("bucket"));
    for (let i = 0; i < 3; i++) expect((await stub.consume(3, 60_000)).allowed).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await evictDurableObject(stub);

    const after = await stub.consume(3, 60_000);
    expect(after.allowed).toBe(false);
    expect(after.retryAfterMs).toBeGreaterThan(15_000);
  });

  it("keeps a bucket that is still refilling when its alarm runs", async () => {
    const stub = env.RATE_LIMITER.getByName(uniqueId("bucket"));
    await stub.consume(1, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.kv.get("tat"))).toBeTypeOf("number");
  });

  it("deletes its storage once the bucket is full again", async () => {
    const stub = env.RATE_LIMITER.getByName(uniqueId("bucket"));
    await stub.consume(1000, 1000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.kv.get("tat"))).toBeUndefined();
  });
});
